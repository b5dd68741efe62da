//! SORT orders and THREAD forests worked out before, remembered per folder
//! and shared by the sessions of one process.
//!
//! A webmail client asks for the same SORT or THREAD of a big folder on
//! every page it shows; between two of them the folder rarely changes.
//! What a message sorts by never changes (a message file is never
//! rewritten; renaming it changes only its flags), and SORT breaks ties by
//! sequence number, which follows UID order. So the order worked out over
//! a set of messages, restricted to any subset of it, is that subset's
//! order: a SORT whose hits are all among those an earlier SORT with the
//! same criteria covered answers from it, however many messages were
//! expunged or left out by the search since. New messages are not covered,
//! so the first SORT after a delivery works the order out again. A THREAD
//! forest depends on the whole set, so it is used only for the same set.
//!
//! Only orders where every message had its stored facts are remembered
//! (never one worked out while a file could not be read), and only for
//! big folders; the budget and expiry are [`courser_maildir::dircache`]'s.

use std::path::Path;
use std::sync::Arc;

use courser_maildir::dircache::{DirCache, Weighed};

use crate::codec::respond::ThreadForest;

/// Orders remembered per folder at most; the least recently used goes.
const PER_FOLDER: usize = 8;

/// What was worked out.
#[derive(Debug)]
pub enum Worked {
    /// A SORT: the UIDs in order.
    Sort(Vec<u32>),
    /// A THREAD: the forest, its messages named by UID.
    Thread(ThreadForest),
}

/// One remembered order.
#[derive(Debug)]
struct Entry {
    /// The command and its criteria, e.g. `SORT REVERSE DATE`.
    key: String,
    uidvalidity: u32,
    /// The UIDs it was worked out over, ascending.
    covered: Vec<u32>,
    worked: Worked,
}

/// A folder's remembered orders, most recently used first.
#[derive(Debug, Clone, Default)]
pub struct Orders {
    entries: Vec<Arc<Entry>>,
}

impl Weighed for Orders {
    fn messages(&self) -> usize {
        self.entries.iter().map(|e| e.covered.len()).sum()
    }
}

/// The process-wide set of remembered orders, by folder directory. Give
/// the same value to every session of the process
/// ([`crate::session::Session::remember_orders_in`]).
pub type OrderCache = DirCache<Orders>;

/// A command's place in the cache: the selected folder's directory and
/// UIDVALIDITY, and the UIDs (ascending) it orders.
pub(super) struct Memory<'a> {
    pub cache: &'a OrderCache,
    pub dir: &'a Path,
    pub uidvalidity: u32,
    pub uids: Vec<u32>,
}

impl Memory<'_> {
    /// The SORT order remembered for `key` restricted to the UIDs: the
    /// UIDs in order.
    pub fn sort(&self, key: &str) -> Option<Vec<u32>> {
        let entry = self.find(key)?;
        let Worked::Sort(order) = &entry.worked else {
            return None;
        };
        if self.uids.len() == entry.covered.len() {
            // Within `covered` and as long: the same set.
            return Some(order.clone());
        }
        let mut wanted = vec![false; entry.covered.len()];
        for uid in &self.uids {
            wanted[entry.covered.binary_search(uid).ok()?] = true;
        }
        Some(
            order
                .iter()
                .copied()
                .filter(|uid| entry.covered.binary_search(uid).is_ok_and(|i| wanted[i]))
                .collect(),
        )
    }

    /// The THREAD forest remembered for `key`, if it was worked out over
    /// exactly the UIDs.
    pub fn thread(&self, key: &str) -> Option<ThreadForest> {
        let entry = self.find(key)?;
        match &entry.worked {
            Worked::Thread(forest) if entry.covered == self.uids => Some(forest.clone()),
            _ => None,
        }
    }

    /// The entry remembered for `key` that covers all the UIDs.
    fn find(&self, key: &str) -> Option<Arc<Entry>> {
        let orders = self.cache.get(self.dir)?;
        let entry = orders
            .entries
            .iter()
            .find(|e| e.key == key && e.uidvalidity == self.uidvalidity)?;
        within(&self.uids, &entry.covered).then(|| Arc::clone(entry))
    }

    /// Remembers what was worked out for `key` over the UIDs, if the
    /// folder is big enough to be worth it.
    pub fn remember(self, key: &str, worked: Worked) {
        if !self.cache.wants(self.uids.len()) {
            return;
        }
        let mut orders = self.cache.get(self.dir).unwrap_or_default();
        orders
            .entries
            .retain(|e| e.key != key && e.uidvalidity == self.uidvalidity);
        orders.entries.truncate(PER_FOLDER - 1);
        orders.entries.insert(
            0,
            Arc::new(Entry {
                key: key.to_owned(),
                uidvalidity: self.uidvalidity,
                covered: self.uids,
                worked,
            }),
        );
        self.cache.put(self.dir, orders);
    }
}

/// Whether every one of `uids` (ascending) is in `covered` (ascending).
fn within(uids: &[u32], covered: &[u32]) -> bool {
    let mut rest = covered;
    uids.iter().all(|uid| match rest.binary_search(uid) {
        Ok(i) => {
            rest = &rest[i + 1..];
            true
        }
        Err(_) => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> OrderCache {
        OrderCache::new(1, 1_000)
    }

    fn at<'a>(cache: &'a OrderCache, dir: &'a Path, uidvalidity: u32, uids: &[u32]) -> Memory<'a> {
        Memory {
            cache,
            dir,
            uidvalidity,
            uids: uids.to_vec(),
        }
    }

    fn remember(c: &OrderCache, dir: &Path, v: u32, key: &str, covered: Vec<u32>, w: Worked) {
        at(c, dir, v, &covered).remember(key, w);
    }

    /// A lookup that found an entry, and what it answers.
    struct Found<'a>(Memory<'a>, String);

    impl Found<'_> {
        fn sort_of(&self, uids: &[u32]) -> Option<Vec<u32>> {
            assert_eq!(self.0.uids, uids);
            self.0.sort(&self.1)
        }

        fn thread_of(&self, uids: &[u32]) -> Option<ThreadForest> {
            assert_eq!(self.0.uids, uids);
            self.0.thread(&self.1)
        }
    }

    fn find<'a>(
        c: &'a OrderCache,
        dir: &'a Path,
        v: u32,
        key: &str,
        uids: &[u32],
    ) -> Option<Found<'a>> {
        let m = at(c, dir, v, uids);
        m.find(key)?;
        Some(Found(m, key.to_owned()))
    }

    #[test]
    fn a_sort_answers_for_any_subset_of_what_it_covered() {
        let c = cache();
        let dir = Path::new("/f");
        remember(
            &c,
            dir,
            7,
            "SORT DATE",
            vec![1, 2, 3, 5],
            Worked::Sort(vec![5, 1, 3, 2]),
        );
        let found = find(&c, dir, 7, "SORT DATE", &[1, 2, 3, 5]).unwrap();
        assert_eq!(found.sort_of(&[1, 2, 3, 5]).unwrap(), [5, 1, 3, 2]);
        let found = find(&c, dir, 7, "SORT DATE", &[2, 5]).unwrap();
        assert_eq!(found.sort_of(&[2, 5]).unwrap(), [5, 2]);
        assert!(find(&c, dir, 7, "SORT DATE", &[2, 6]).is_none(), "6 is new");
        assert!(
            find(&c, dir, 8, "SORT DATE", &[2]).is_none(),
            "another UIDVALIDITY"
        );
        assert!(find(&c, dir, 7, "SORT SUBJECT", &[2]).is_none());
        assert!(find(&c, Path::new("/g"), 7, "SORT DATE", &[2]).is_none());
    }

    #[test]
    fn a_thread_answers_only_for_the_same_set() {
        let c = cache();
        let dir = Path::new("/f");
        let forest = ThreadForest::default();
        remember(
            &c,
            dir,
            7,
            "THREAD REFERENCES",
            vec![1, 2],
            Worked::Thread(forest),
        );
        let found = find(&c, dir, 7, "THREAD REFERENCES", &[1, 2]).unwrap();
        assert!(found.thread_of(&[1, 2]).is_some());
        let found = find(&c, dir, 7, "THREAD REFERENCES", &[2]).unwrap();
        assert!(found.thread_of(&[2]).is_none());
    }

    #[test]
    fn each_key_keeps_its_latest_and_a_folder_keeps_a_few() {
        let c = cache();
        let dir = Path::new("/f");
        remember(&c, dir, 7, "SORT DATE", vec![1], Worked::Sort(vec![1]));
        remember(
            &c,
            dir,
            7,
            "SORT DATE",
            vec![1, 2],
            Worked::Sort(vec![2, 1]),
        );
        let found = find(&c, dir, 7, "SORT DATE", &[1, 2]).unwrap();
        assert_eq!(found.sort_of(&[1, 2]).unwrap(), [2, 1]);
        for i in 0..PER_FOLDER {
            remember(
                &c,
                dir,
                7,
                &format!("SORT {i}"),
                vec![1],
                Worked::Sort(vec![1]),
            );
        }
        assert!(find(&c, dir, 7, "SORT DATE", &[1]).is_none(), "pushed out");
        assert!(find(&c, dir, 7, "SORT 7", &[1]).is_some());
    }

    #[test]
    fn small_folders_are_not_remembered() {
        let c = OrderCache::new(3, 1_000);
        remember(
            &c,
            Path::new("/f"),
            7,
            "SORT DATE",
            vec![1, 2],
            Worked::Sort(vec![1, 2]),
        );
        assert!(c.get(Path::new("/f")).is_none());
    }
}
