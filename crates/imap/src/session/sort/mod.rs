//! SORT and UID SORT (RFC 5256 §3, with SORT=DISPLAY from RFC 5957), and
//! THREAD and UID THREAD with ORDEREDSUBJECT and REFERENCES.
//!
//! Both search first, as SEARCH does, then take what ordering needs of
//! each hit from the store's facts (the folder index: no message file is
//! read when it is current) into [`Facts`].
//! Strings compare under i;ascii-casemap, RFC 5256's default collation;
//! equal keys keep sequence-number order.

mod subject;
mod thread;

use std::cmp::Ordering;
use std::time::UNIX_EPOCH;

use courser_mime::Address;

use super::message::FACTS_BATCH;
use super::reply::Reply;
use super::search::{search_folder, write_esearch};
use super::{Selected, Session};
use crate::codec::respond;
use crate::codec::{ReturnOption, SearchKey, SortCriterion, SortKey, ThreadAlgorithm};
use crate::mailstore::MessageFacts;
use subject::BaseSubject;
use thread::Threadable;

/// What SORT and THREAD know of one message.
#[derive(Debug, Default)]
struct Facts {
    seq: u32,
    uid: u32,
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
    message_id: Option<String>,
    references: Vec<String>,
}

/// Which keys a SORT or THREAD compares; the others are not worked out
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
    ids: bool,
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

    fn thread() -> Needs {
        Needs {
            date: true,
            subject: true,
            ids: true,
            ..Needs::default()
        }
    }

    fn envelope(self) -> bool {
        self.subject
            || self.from
            || self.to
            || self.cc
            || self.display_from
            || self.display_to
            || self.ids
    }
}

impl Facts {
    /// What ordering needs of the messages numbered `seqs`, in order.
    /// The store's facts are taken a batch at a time and dropped once
    /// the keys are out of them.
    fn read_all(sel: &Selected, seqs: &[u32], needs: Needs) -> Vec<Facts> {
        let mut all = Vec::with_capacity(seqs.len());
        for batch in seqs.chunks(FACTS_BATCH) {
            let uids: Vec<u32> = batch
                .iter()
                .map(|&s| sel.view.uid(s).unwrap_or(0))
                .collect();
            let present: Vec<u32> = uids
                .iter()
                .copied()
                .filter(|&u| !sel.view.is_expunged(u))
                .collect();
            let mut stored = present.iter().zip(sel.folder.facts(&present)).peekable();
            all.extend(batch.iter().zip(uids).map(|(&seq, uid)| {
                let facts = stored
                    .next_if(|&(&u, _)| u == uid)
                    .and_then(|(_, f)| f.ok());
                Facts::of(sel, seq, uid, facts.as_deref(), needs)
            }));
        }
        all
    }

    fn of(
        sel: &Selected,
        seq: u32,
        uid: u32,
        stored: Option<&MessageFacts>,
        needs: Needs,
    ) -> Facts {
        let sent = stored.and_then(|s| s.sent_time);
        // INTERNALDATE (a stat of the file) only where it is a key or
        // stands in for a missing Date (RFC 5256 §2.2).
        let arrival = if needs.arrival || (needs.date && sent.is_none()) {
            let date = if sel.view.is_expunged(uid) {
                // Expunged elsewhere, not yet announced: sorted on what
                // is left.
                sel.view.gone(uid).and_then(|g| g.internal_date)
            } else {
                sel.folder.internal_date(uid)
            };
            date.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
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
        if !needs.envelope() {
            return facts;
        }
        let envelope = stored.envelope();
        if needs.subject {
            let subject = envelope.subject.as_deref().unwrap_or_default();
            facts.subject = BaseSubject::of(&courser_mime::decode_header_text(subject));
        }
        if needs.from {
            facts.from = mailbox(&envelope.from);
        }
        if needs.to {
            facts.to = mailbox(&envelope.to);
        }
        if needs.cc {
            facts.cc = mailbox(&envelope.cc);
        }
        if needs.display_from {
            facts.display_from = display(&envelope.from);
        }
        if needs.display_to {
            facts.display_to = display(&envelope.to);
        }
        if needs.ids {
            facts.message_id = envelope
                .message_id
                .as_deref()
                .and_then(|v| message_ids(v).into_iter().next());
            // References, or else the first Message-ID of In-Reply-To
            // (§2.2).
            facts.references = stored
                .references()
                .first()
                .map(|v| message_ids(v))
                .unwrap_or_default();
            if facts.references.is_empty() {
                facts.references = envelope
                    .in_reply_to
                    .as_deref()
                    .and_then(|v| message_ids(v).into_iter().next())
                    .into_iter()
                    .collect();
            }
        }
        facts
    }

    /// Orders by `criteria`, then by sequence number.
    fn compare(&self, other: &Facts, criteria: &[SortCriterion]) -> Ordering {
        for c in criteria {
            let order = match c.key {
                SortKey::Arrival => self.arrival.cmp(&other.arrival),
                SortKey::Cc => self.cc.cmp(&other.cc),
                SortKey::Date => self.sent.cmp(&other.sent),
                SortKey::From => self.from.cmp(&other.from),
                SortKey::Size => self.size.cmp(&other.size),
                SortKey::Subject => self.subject.key.cmp(&other.subject.key),
                SortKey::To => self.to.cmp(&other.to),
                SortKey::DisplayFrom => self.display_from.cmp(&other.display_from),
                SortKey::DisplayTo => self.display_to.cmp(&other.display_to),
            };
            let order = if c.reverse { order.reverse() } else { order };
            if order != Ordering::Equal {
                return order;
            }
        }
        self.seq.cmp(&other.seq)
    }
}

/// RFC 5256 §3: the addr-mailbox of the first address, upper-cased. A
/// group's first entry is its start marker, whose addr-mailbox is the
/// group name (RFC 3501 §7.4.2), as Dovecot reads it too.
fn mailbox(list: &[Address]) -> String {
    list.first()
        .and_then(|a| a.mailbox.as_deref())
        .map(|m| String::from_utf8_lossy(m).to_ascii_uppercase())
        .unwrap_or_default()
}

/// RFC 5957 §3: the display name of the first address (decoded), or
/// `mailbox@host` without one (a group: its name), upper-cased.
fn display(list: &[Address]) -> String {
    let Some(a) = list.first() else {
        return String::new();
    };
    let name = a
        .name
        .as_deref()
        .map(courser_mime::decode_header_text)
        .unwrap_or_default();
    let name = name.trim();
    if !name.is_empty() {
        return courser_mime::unicode_casemap(name);
    }
    let part = |p: &Option<Vec<u8>>| {
        String::from_utf8_lossy(p.as_deref().unwrap_or_default()).into_owned()
    };
    let address = match &a.host {
        Some(_) => format!("{}@{}", part(&a.mailbox), part(&a.host)),
        None => part(&a.mailbox),
    };
    courser_mime::unicode_casemap(&address)
}

/// The message IDs in a header value, `<left@right>` each, in order;
/// anything else (comments, words, broken brackets) is skipped.
fn message_ids(value: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(value);
    let mut ids = Vec::new();
    let mut rest = text.as_ref();
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find(['>', '<']) else {
            break;
        };
        if rest[close..].starts_with('>') {
            let id: String = rest[..close]
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            if id
                .split_once('@')
                .is_some_and(|(l, r)| !l.is_empty() && !r.is_empty())
            {
                ids.push(format!("<{id}>"));
            }
        }
        rest = &rest[close..];
    }
    ids
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
            let mut facts = Facts::read_all(sel, &hits, Needs::sort(criteria));
            facts.sort_by(|a, b| a.compare(b, criteria));
            let ids: Vec<u32> = facts
                .iter()
                .map(|f| if uid { f.uid } else { f.seq })
                .collect();
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
            let facts = Facts::read_all(sel, &hits, Needs::thread());
            let ids: Vec<u32> = facts
                .iter()
                .map(|f| if uid { f.uid } else { f.seq })
                .collect();
            let msgs: Vec<Threadable> = facts
                .into_iter()
                .map(|f| Threadable {
                    seq: f.seq,
                    sent: f.sent,
                    message_id: f.message_id,
                    references: f.references,
                    subject: f.subject,
                })
                .collect();
            let mut forest = match algorithm {
                ThreadAlgorithm::References => thread::references(&msgs),
                _ => thread::ordered_subject(&msgs),
            };
            for node in &mut forest.nodes {
                node.message = node
                    .message
                    .and_then(|i| ids.get(usize::try_from(i).ok()?).copied());
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

    #[test]
    fn message_ids_are_taken_from_angle_brackets() {
        assert_eq!(message_ids(b"<a@b> (comment) <c@d>"), ["<a@b>", "<c@d>"]);
        assert_eq!(message_ids(b"<a@\r\n b>"), ["<a@b>"]);
        assert!(message_ids(b"<nohost> <@x> <x@> plain@word").is_empty());
        assert_eq!(message_ids(b"<<a@b>"), ["<a@b>"]);
        assert!(message_ids(b"<a@b").is_empty());
    }

    #[test]
    fn addresses_give_mailbox_and_display_keys() {
        let a = |name: Option<&str>, mailbox: &str, host: Option<&str>| Address {
            name: name.map(|n| n.as_bytes().to_vec()),
            adl: None,
            mailbox: Some(mailbox.as_bytes().to_vec()),
            host: host.map(|h| h.as_bytes().to_vec()),
        };
        let list = [
            a(Some("=?UTF-8?Q?Z=C3=BCrich?="), "zed", Some("x.org")),
            a(None, "ann", Some("x.org")),
        ];
        assert_eq!(mailbox(&list), "ZED");
        assert_eq!(display(&list), courser_mime::unicode_casemap("ZÜRICH"));
        assert_eq!(display(&[a(None, "ann", Some("x.org"))]), "ANN@X.ORG");
        let group = [a(None, "friends", None), a(None, "ann", Some("x.org"))];
        assert_eq!(mailbox(&group), "FRIENDS");
        assert_eq!(display(&group), "FRIENDS");
        assert_eq!(mailbox(&[]), "");
    }
}
