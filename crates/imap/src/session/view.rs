//! The client's view of the selected folder: sequence numbers ↔ UIDs, and
//! the changes not yet told to the client.
//!
//! RFC 3501 §7.4.1 forbids EXPUNGE responses while the client may be using
//! sequence numbers (during FETCH, STORE and SEARCH, and with no command in
//! progress), so a message expunged by another process stays in the view,
//! under its old sequence number, until a command lets us announce it.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::codec::SequenceSet;
use crate::mailstore::GoneMessage;

/// Sequence-number map and pending announcements.
#[derive(Debug, Default)]
pub struct View {
    /// UIDs in sequence order (ascending); index + 1 is the sequence number.
    uids: Vec<u32>,
    /// UIDs gone from the store whose EXPUNGE the client has not seen.
    pending_expunge: BTreeSet<u32>,
    /// The last records of those messages, where the store still had them.
    gone: HashMap<u32, GoneMessage>,
    /// UIDs whose flags changed elsewhere, to report as FETCH FLAGS.
    pending_flags: BTreeSet<u32>,
    /// The \Recent count last announced.
    pub recent_announced: u32,
    /// The EXISTS count the client has (after the EXPUNGEs it was sent).
    pub exists_announced: u32,
    /// Keywords the client was given in a FLAGS response: a keyword may
    /// appear in a FETCH only after that (RFC 3501 §7.2.6).
    keywords_announced: HashSet<String>,
}

impl View {
    /// A view of `uids` (ascending).
    pub fn new(uids: Vec<u32>) -> View {
        View {
            uids,
            ..View::default()
        }
    }

    /// Number of messages the client believes exist.
    pub fn len(&self) -> u32 {
        u32::try_from(self.uids.len()).unwrap_or(u32::MAX)
    }

    /// The UID at sequence number `seq` (1-based).
    pub fn uid(&self, seq: u32) -> Option<u32> {
        self.uids
            .get(usize::try_from(seq).ok()?.checked_sub(1)?)
            .copied()
    }

    /// The sequence number of `uid`.
    pub fn seq(&self, uid: u32) -> Option<u32> {
        self.uids
            .binary_search(&uid)
            .ok()
            .and_then(|i| u32::try_from(i + 1).ok())
    }

    /// The highest UID in the view.
    pub fn max_uid(&self) -> u32 {
        self.uids.last().copied().unwrap_or(0)
    }

    /// Messages named by a sequence set, as `(seq, uid)`, ascending.
    pub fn by_seq(&self, set: &SequenceSet) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for (lo, hi) in set.resolve(self.len()) {
            for seq in lo..=hi {
                if let Some(uid) = self.uid(seq) {
                    out.push((seq, uid));
                }
            }
        }
        out
    }

    /// Messages named by a UID set, as `(seq, uid)`, ascending. `*` is the
    /// highest UID in use, so `n:*` always names at least that message when
    /// the folder is not empty (RFC 3501 §6.4.8).
    pub fn by_uid(&self, set: &SequenceSet) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for (lo, hi) in set.resolve(self.max_uid()) {
            let start = self.uids.partition_point(|&u| u < lo);
            for (i, &uid) in self.uids[start..].iter().enumerate() {
                if uid > hi {
                    break;
                }
                if let Ok(seq) = u32::try_from(start + i + 1) {
                    out.push((seq, uid));
                }
            }
        }
        out
    }

    /// Messages named by a set, by UID or by sequence number.
    pub fn select(&self, set: &SequenceSet, uid: bool) -> Vec<(u32, u32)> {
        if uid {
            self.by_uid(set)
        } else {
            self.by_seq(set)
        }
    }

    /// Records messages that vanished from the store.
    pub fn note_expunged(&mut self, uids: &[u32]) {
        for &uid in uids {
            if self.uids.binary_search(&uid).is_ok() {
                self.pending_expunge.insert(uid);
                self.pending_flags.remove(&uid);
            }
        }
    }

    /// Keeps the last records of messages expunged elsewhere (see
    /// [`View::gone`]).
    pub fn keep_gone(&mut self, records: Vec<GoneMessage>) {
        for m in records {
            if self.pending_expunge.contains(&m.uid) {
                self.gone.insert(m.uid, m);
            }
        }
    }

    /// The last record of a message expunged elsewhere and not yet
    /// announced: SEARCH still answers for it by sequence number, UID and
    /// flags (its content is gone), as RFC 2180 §4.1 lets a server do.
    pub fn gone(&self, uid: u32) -> Option<&GoneMessage> {
        self.gone.get(&uid)
    }

    /// Whether `uid` was expunged by someone else and not yet announced.
    pub fn is_expunged(&self, uid: u32) -> bool {
        self.pending_expunge.contains(&uid)
    }

    /// Records flag changes made elsewhere.
    pub fn note_flags(&mut self, uids: &[u32]) {
        for &uid in uids {
            if self.uids.binary_search(&uid).is_ok() && !self.pending_expunge.contains(&uid) {
                self.pending_flags.insert(uid);
            }
        }
    }

    /// Forgets a pending flag report (the client is getting FLAGS anyway).
    pub fn flags_reported(&mut self, uid: u32) {
        self.pending_flags.remove(&uid);
    }

    /// Appends new messages (UIDs above every UID in the view).
    pub fn add(&mut self, uids: &[u32]) {
        for &uid in uids {
            if uid > self.max_uid() {
                self.uids.push(uid);
            }
        }
    }

    /// Removes every pending expunge from the view and returns the
    /// sequence numbers to announce, in the order to send them (each number
    /// accounts for the EXPUNGEs sent before it, RFC 3501 §7.4.1). Only
    /// the first `known` messages were announced to the client (its last
    /// EXISTS); a message past them that is already gone is dropped
    /// without a word, as the client never learnt of it.
    pub fn take_expunges(&mut self, known: u32) -> Vec<u32> {
        if self.pending_expunge.is_empty() {
            return Vec::new();
        }
        let gone = std::mem::take(&mut self.pending_expunge);
        let known = usize::try_from(known).unwrap_or(usize::MAX);
        let mut announce = Vec::with_capacity(gone.len());
        let mut removed = 0u32;
        for (i, uid) in self.uids.iter().enumerate() {
            if gone.contains(uid) && i < known {
                let seq = u32::try_from(i + 1).unwrap_or(u32::MAX);
                announce.push(seq - removed);
                removed += 1;
            }
        }
        self.uids.retain(|u| !gone.contains(u));
        self.gone.clear();
        announce
    }

    /// Records the keywords of the FLAGS response just sent.
    pub fn keywords_announced(&mut self, keywords: impl IntoIterator<Item = String>) {
        self.keywords_announced = keywords.into_iter().collect();
    }

    /// The keywords of the last FLAGS response.
    pub fn announced_keywords(&self) -> impl Iterator<Item = &String> {
        self.keywords_announced.iter()
    }

    /// Whether a FETCH may show `keyword` without a new FLAGS response.
    pub fn knows_keyword(&self, keyword: &str) -> bool {
        self.keywords_announced.contains(keyword)
    }

    /// Takes the pending flag reports as `(seq, uid)`.
    pub fn take_flag_changes(&mut self) -> Vec<(u32, u32)> {
        std::mem::take(&mut self.pending_flags)
            .into_iter()
            .filter_map(|uid| self.seq(uid).map(|seq| (seq, uid)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{SeqNum, SeqRange};

    fn set(ranges: &[(SeqNum, SeqNum)]) -> SequenceSet {
        SequenceSet(
            ranges
                .iter()
                .map(|&(start, end)| SeqRange { start, end })
                .collect(),
        )
    }

    #[test]
    fn uid_star_range_names_the_last_message() {
        let v = View::new(vec![3, 7, 9]);
        let s = set(&[(SeqNum::Value(20), SeqNum::Star)]);
        assert_eq!(v.by_uid(&s), vec![(3, 9)]);
        let s = set(&[(SeqNum::Value(4), SeqNum::Value(9))]);
        assert_eq!(v.by_uid(&s), vec![(2, 7), (3, 9)]);
        assert_eq!(
            v.by_seq(&set(&[(SeqNum::Value(2), SeqNum::Star)])),
            vec![(2, 7), (3, 9)]
        );
        assert!(View::default().by_uid(&s).is_empty());
    }

    #[test]
    fn expunges_are_numbered_as_sent() {
        let mut v = View::new(vec![1, 2, 3, 4, 5]);
        v.note_expunged(&[2, 4, 5, 99]);
        assert!(v.is_expunged(4));
        assert_eq!(v.len(), 5, "kept until announced");
        assert_eq!(v.take_expunges(5), vec![2, 3, 3]);
        assert_eq!(v.len(), 2);
        assert_eq!(v.seq(3), Some(2));
    }

    #[test]
    fn flag_reports_skip_expunged_messages() {
        let mut v = View::new(vec![10, 20]);
        v.note_expunged(&[10]);
        v.note_flags(&[10, 20]);
        v.take_expunges(2);
        assert_eq!(v.take_flag_changes(), vec![(1, 20)]);
    }

    #[test]
    fn messages_gone_before_their_exists_are_not_announced() {
        let mut v = View::new(vec![1, 2]);
        v.add(&[3, 4]);
        v.note_expunged(&[1, 3]);
        // The client knows of 1 and 2 only.
        assert_eq!(v.take_expunges(2), vec![1]);
        assert_eq!(v.len(), 2);
        assert_eq!(v.uid(2), Some(4));
    }
}
