//! SORT and UID SORT (RFC 5256 §3, with SORT=DISPLAY from RFC 5957), and
//! THREAD and UID THREAD with ORDEREDSUBJECT and REFERENCES.
//!
//! Both search first, as SEARCH does, then take what ordering needs of
//! each hit from the store's facts (the folder index: no message file is
//! read when it is current) into [`Facts`].
//! Strings compare under i;ascii-casemap, RFC 5256's default collation;
//! equal keys keep sequence-number order.

pub mod remembered;
mod thread;

use std::cell::Cell;
use std::cmp::Ordering;
use std::time::UNIX_EPOCH;

use courser_mime::order::BaseSubject;

use super::reply::Reply;
use super::search::{search_folder, write_esearch};
use super::{Selected, Session};
use crate::codec::respond;
use crate::codec::{ReturnOption, SearchKey, SortCriterion, SortKey, ThreadAlgorithm};
use crate::mailstore::OrderFacts;
use remembered::{Memory, OrderCache, Worked};
use thread::Threadable;

/// What SORT knows of one message.
#[derive(Debug, Default)]
struct Facts {
    seq: u32,
    uid: u32,
    /// The first sort criterion's text key's first sixteen bytes (see
    /// [`Facts::set_prefix`]); 0 when that criterion is not a text.
    prefix: u128,
    /// INTERNALDATE, Unix seconds.
    arrival: i64,
    /// The Date: header in UTC, or `arrival` without a usable one
    /// (RFC 5256 §2.2).
    sent: i64,
    /// RFC822.SIZE.
    size: u64,
    subject: BaseSubject,
    /// The first From/To/Cc address's mailbox, upper-cased (§3).
    from: String,
    to: String,
    cc: String,
    /// The first From/To address's display name, else its address
    /// (RFC 5957 §3), under i;unicode-casemap.
    display_from: String,
    display_to: String,
}

/// Which keys a SORT compares; the others are not worked out
/// (decoding every ENVELOPE of a big folder for SORT (DATE) would cost
/// more than the sort).
#[derive(Debug, Default, Clone, Copy)]
struct Needs {
    arrival: bool,
    date: bool,
    size: bool,
    subject: bool,
    from: bool,
    to: bool,
    cc: bool,
    display_from: bool,
    display_to: bool,
}

impl Needs {
    fn sort(criteria: &[SortCriterion]) -> Needs {
        let mut n = Needs::default();
        for c in criteria {
            match c.key {
                SortKey::Arrival => n.arrival = true,
                SortKey::Cc => n.cc = true,
                SortKey::Date => n.date = true,
                SortKey::From => n.from = true,
                SortKey::Size => n.size = true,
                SortKey::Subject => n.subject = true,
                SortKey::To => n.to = true,
                SortKey::DisplayFrom => n.display_from = true,
                SortKey::DisplayTo => n.display_to = true,
            }
        }
        n
    }

    fn keys(self) -> bool {
        self.subject || self.from || self.to || self.cc || self.display_from || self.display_to
    }
}

impl Facts {
    fn of(
        sel: &Selected,
        seq: u32,
        uid: u32,
        stored: Option<&OrderFacts<'_>>,
        needs: Needs,
    ) -> Facts {
        let sent = stored.and_then(|s| s.sent_time);
        // INTERNALDATE (a stat of the file) only where it is a key or
        // stands in for a missing Date (RFC 5256 §2.2).
        let arrival = if needs.arrival || (needs.date && sent.is_none()) {
            arrival(sel, uid)
        } else {
            0
        };
        let mut facts = Facts {
            seq,
            uid,
            arrival,
            sent: sent.unwrap_or(arrival),
            ..Facts::default()
        };
        let Some(stored) = stored else {
            return facts;
        };
        facts.size = stored.rfc822_size;
        if !needs.keys() {
            return facts;
        }
        let keys = &stored.keys;
        if needs.subject {
            facts.subject = BaseSubject {
                key: keys.subject.to_owned(),
                is_reply: keys.subject_is_reply,
            };
        }
        let owned = |need: bool, key: &str| if need { key.to_owned() } else { String::new() };
        facts.from = owned(needs.from, keys.from);
        facts.to = owned(needs.to, keys.to);
        facts.cc = owned(needs.cc, keys.cc);
        facts.display_from = owned(needs.display_from, keys.display_from);
        facts.display_to = owned(needs.display_to, keys.display_to);
        facts
    }

    /// The text compared for `key`, if it is a text key.
    fn text(&self, key: SortKey) -> Option<&str> {
        match key {
            SortKey::Arrival | SortKey::Date | SortKey::Size => None,
            SortKey::Cc => Some(&self.cc),
            SortKey::From => Some(&self.from),
            SortKey::Subject => Some(&self.subject.key),
            SortKey::To => Some(&self.to),
            SortKey::DisplayFrom => Some(&self.display_from),
            SortKey::DisplayTo => Some(&self.display_to),
        }
    }

    /// Takes the first sixteen bytes of the text `key` as a number that
    /// orders as they do (zero-padded, big-endian), so that most
    /// comparisons of a big sort are one integer comparison: texts whose
    /// prefixes differ order as the prefixes do, and equal prefixes fall
    /// through to the whole texts.
    fn set_prefix(&mut self, key: SortKey) {
        let mut bytes = [0u8; 16];
        if let Some(text) = self.text(key) {
            let n = text.len().min(bytes.len());
            bytes[..n].copy_from_slice(&text.as_bytes()[..n]);
        }
        self.prefix = u128::from_be_bytes(bytes);
    }

    /// Orders by `criteria`, then by sequence number.
    fn compare(&self, other: &Facts, criteria: &[SortCriterion]) -> Ordering {
        if let Some(first) = criteria.first() {
            let order = self.prefix.cmp(&other.prefix);
            if order != Ordering::Equal {
                return if first.reverse {
                    order.reverse()
                } else {
                    order
                };
            }
        }
        for c in criteria {
            let order = match (c.key, self.text(c.key), other.text(c.key)) {
                (_, Some(a), Some(b)) => a.cmp(b),
                (SortKey::Arrival, ..) => self.arrival.cmp(&other.arrival),
                (SortKey::Date, ..) => self.sent.cmp(&other.sent),
                (SortKey::Size, ..) => self.size.cmp(&other.size),
                _ => Ordering::Equal,
            };
            let order = if c.reverse { order.reverse() } else { order };
            if order != Ordering::Equal {
                return order;
            }
        }
        self.seq.cmp(&other.seq)
    }
}

/// The hits' UIDs, ascending, if an order worked out for them may be
/// remembered or answered from memory: every hit still in the folder (one
/// expunged elsewhere is ordered by what the session kept of it).
fn rememberable(sel: &Selected, hits: &[u32]) -> Option<Vec<u32>> {
    let uids: Vec<u32> = hits
        .iter()
        .map(|&s| sel.view.uid(s).filter(|&u| !sel.view.is_expunged(u)))
        .collect::<Option<_>>()?;
    uids.is_sorted().then_some(uids)
}

/// Where a command finds and remembers its orders for the selected
/// folder, if anywhere.
fn memory_of<'a>(
    cache: Option<&'a OrderCache>,
    sel: &'a Selected,
    hits: &[u32],
) -> Option<Memory<'a>> {
    Some(Memory {
        cache: cache?,
        dir: sel.folder.cache_dir()?,
        uidvalidity: sel.folder.uidvalidity(),
        uids: rememberable(sel, hits)?,
    })
}

/// What ordering needs of the messages numbered `seqs`, in order: `make`
/// turns each one's stored facts (`None`: none to be had) into what the
/// command keeps, so that no more than that is held per message. Also
/// says whether every message had its stored facts.
fn read_all<T>(
    sel: &Selected,
    seqs: &[u32],
    make: impl Fn(u32, u32, Option<&OrderFacts<'_>>) -> T,
) -> (Vec<T>, bool) {
    let missing = Cell::new(0usize);
    let make = |seq, uid, stored: Option<&OrderFacts<'_>>| {
        if stored.is_none() {
            missing.set(missing.get() + 1);
        }
        make(seq, uid, stored)
    };
    let uids: Vec<u32> = seqs.iter().map(|&s| sel.view.uid(s).unwrap_or(0)).collect();
    let present: Vec<u32> = uids
        .iter()
        .copied()
        .filter(|&u| !sel.view.is_expunged(u))
        .collect();
    let mut all = Vec::with_capacity(seqs.len());
    // `present` is `uids` less the expunged ones, in the same order.
    let mut next = 0;
    let push = |all: &mut Vec<T>, next: &mut usize, stored: Option<&OrderFacts<'_>>| {
        all.push(make(seqs[*next], uids[*next], stored));
        *next += 1;
    };
    sel.folder.order_facts(&present, &mut |uid, stored| {
        while next < uids.len() && uids[next] != uid {
            push(&mut all, &mut next, None);
        }
        if next < uids.len() {
            push(&mut all, &mut next, stored.as_ref());
        }
    });
    while next < uids.len() {
        push(&mut all, &mut next, None);
    }
    (all, missing.get() == 0)
}

/// INTERNALDATE in Unix seconds (a stat of the file, or what is left of
/// a message expunged elsewhere and not yet announced).
fn arrival(sel: &Selected, uid: u32) -> i64 {
    let date = if sel.view.is_expunged(uid) {
        sel.view.gone(uid).and_then(|g| g.internal_date)
    } else {
        sel.folder.internal_date(uid)
    };
    date.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// What THREAD keeps of a message.
fn threadable(sel: &Selected, seq: u32, uid: u32, stored: Option<&OrderFacts<'_>>) -> Threadable {
    // A missing Date stands in as INTERNALDATE (RFC 5256 §2.2).
    let sent = stored
        .and_then(|s| s.sent_time)
        .unwrap_or_else(|| arrival(sel, uid));
    let Some(keys) = stored.map(|s| &s.keys) else {
        return Threadable {
            seq,
            sent,
            message_id: None,
            references: Vec::new(),
            subject: BaseSubject::default(),
        };
    };
    Threadable {
        seq,
        sent,
        message_id: keys.message_id.map(str::to_owned),
        references: keys.references.iter().map(|r| (*r).to_owned()).collect(),
        subject: BaseSubject {
            key: keys.subject.to_owned(),
            is_reply: keys.subject_is_reply,
        },
    }
}

/// How a SORT orders and answers.
pub(super) struct Order<'a> {
    /// The sort criteria, most significant first.
    pub criteria: &'a [SortCriterion],
    /// `RETURN (…)` (ESORT, RFC 5267): answer with `* ESEARCH`.
    pub ret: Option<&'a [ReturnOption]>,
}

impl Session {
    pub(super) fn sort(
        &mut self,
        tag: &str,
        uid: bool,
        order: Order<'_>,
        charset: &str,
        search: &SearchKey,
        out: &mut Vec<u8>,
    ) {
        let Some(search) = self.key_in_utf8(tag, Some(charset), search, out) else {
            return;
        };
        let criteria = order.criteria;
        self.in_selected(tag, out, |s, sel, out| {
            s.refresh_for_numbers(sel, out);
            if s.is_logged_out() {
                return;
            }
            let hits = search_folder(sel, &search, false);
            let key = format!("SORT {criteria:?}");
            let memory = memory_of(s.orders.as_ref(), sel, &hits);
            let known = memory.as_ref().and_then(|m| m.sort(&key));
            let sorted = known.unwrap_or_else(|| {
                let needs = Needs::sort(criteria);
                let (mut facts, complete) = read_all(sel, &hits, |seq, uid, stored| {
                    Facts::of(sel, seq, uid, stored, needs)
                });
                if let Some(first) = criteria.first() {
                    facts.iter_mut().for_each(|f| f.set_prefix(first.key));
                }
                // Sequence numbers break every tie: the order is total, so
                // an unstable sort gives the same answer, faster.
                facts.sort_unstable_by(|a, b| a.compare(b, criteria));
                let sorted: Vec<u32> = facts.iter().map(|f| f.uid).collect();
                if let Some(m) = memory.filter(|_| complete) {
                    m.remember(&key, Worked::Sort(sorted.clone()));
                }
                sorted
            });
            let ids: Vec<u32> = if uid {
                sorted
            } else {
                sorted
                    .iter()
                    .map(|&u| sel.view.seq(u).unwrap_or(0))
                    .collect()
            };
            match order.ret {
                Some(opts) => write_esearch(out, tag, uid, opts, &ids),
                None => respond::sort(out, &ids),
            }
            s.announce_changes(sel, uid, out);
            Reply::ok(out, tag, "SORT completed");
        });
    }

    pub(super) fn thread(
        &mut self,
        tag: &str,
        uid: bool,
        algorithm: &ThreadAlgorithm,
        charset: &str,
        search: &SearchKey,
        out: &mut Vec<u8>,
    ) {
        if let ThreadAlgorithm::Other(name) = algorithm {
            return Reply::bad(out, tag, &format!("Unknown THREAD algorithm {name}"));
        }
        let Some(search) = self.key_in_utf8(tag, Some(charset), search, out) else {
            return;
        };
        self.in_selected(tag, out, |s, sel, out| {
            s.refresh_for_numbers(sel, out);
            if s.is_logged_out() {
                return;
            }
            let hits = search_folder(sel, &search, false);
            let key = format!("THREAD {algorithm:?}");
            let memory = memory_of(s.orders.as_ref(), sel, &hits);
            let known = memory.as_ref().and_then(|m| m.thread(&key));
            // The forest with its messages named by UID.
            let mut forest = known.unwrap_or_else(|| {
                let (msgs, complete) = read_all(sel, &hits, |seq, uid, stored| {
                    threadable(sel, seq, uid, stored)
                });
                let mut forest = match algorithm {
                    ThreadAlgorithm::References => thread::references(&msgs),
                    _ => thread::ordered_subject(&msgs),
                };
                for node in &mut forest.nodes {
                    node.message = node.message.and_then(|i| {
                        let seq = hits.get(usize::try_from(i).ok()?)?;
                        sel.view.uid(*seq)
                    });
                }
                if let Some(m) = memory.filter(|_| complete) {
                    m.remember(&key, Worked::Thread(forest.clone()));
                }
                forest
            });
            if !uid {
                for node in &mut forest.nodes {
                    node.message = node.message.and_then(|u| sel.view.seq(u));
                }
            }
            respond::thread(out, &forest);
            s.announce_changes(sel, uid, out);
            Reply::ok(out, tag, "THREAD completed");
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(seq: u32, key: &str) -> Facts {
        Facts {
            seq,
            subject: BaseSubject {
                key: key.to_owned(),
                is_reply: false,
            },
            ..Facts::default()
        }
    }

    /// The prefix shortcut orders texts exactly as comparing them whole.
    #[test]
    fn prefixes_order_as_the_whole_texts() {
        let keys = [
            "",
            "A",
            "AB",
            "AB\0",
            "AB\0C",
            "ABCDEFGH",
            "ABCDEFGHA",
            "ABCDEFGHX",
            "ABCDEFGI",
            "ZZ",
            "É",
            "ABCDEFGHA",
        ];
        for reverse in [false, true] {
            let criteria = [SortCriterion {
                key: SortKey::Subject,
                reverse,
            }];
            let mut facts: Vec<Facts> =
                (0u32..).zip(keys).map(|(seq, k)| subject(seq, k)).collect();
            let mut expected: Vec<(String, u32)> = facts
                .iter()
                .map(|f| (f.subject.key.clone(), f.seq))
                .collect();
            expected.sort_by(|a, b| {
                let o = a.0.cmp(&b.0);
                if reverse { o.reverse() } else { o }.then(a.1.cmp(&b.1))
            });
            facts
                .iter_mut()
                .for_each(|f| f.set_prefix(SortKey::Subject));
            facts.sort_unstable_by(|a, b| a.compare(b, &criteria));
            let got: Vec<(String, u32)> = facts
                .iter()
                .map(|f| (f.subject.key.clone(), f.seq))
                .collect();
            assert_eq!(got, expected, "reverse {reverse}");
        }
    }
}
