//! SEARCH and UID SEARCH (RFC 3501 §6.4.4, §6.4.8).

use std::cell::OnceCell;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::message::{Loaded, FACTS_BATCH};
use super::reply::Reply;
use super::view::View;
use super::{Selected, Session};
use crate::codec::respond::{self, Esearch};
use crate::codec::{Date, ReturnOption, SearchKey, SequenceSet};
use crate::mailstore::{Extent, Flags, MailFolder, MessageFacts, MessageRef, Needle};

/// One message being tested. Size, Date and the usual header fields come
/// from the store's facts (the folder index); its file is read on first
/// need of anything else: the header alone while only header keys ask,
/// the whole file once another does.
struct Candidate<'a> {
    seq: u32,
    msg: MessageRef<'a>,
    folder: &'a dyn MailFolder,
    view: &'a View,
    /// LARGER and SMALLER compare the size as stored (SMAP's) instead of
    /// RFC822.SIZE.
    stored_sizes: bool,
    facts: OnceCell<Option<Arc<MessageFacts>>>,
    head: OnceCell<Option<Loaded>>,
    whole: OnceCell<Option<Loaded>>,
    /// Expunged elsewhere, not announced yet: only its number, UID, last
    /// flags and (if the store kept it) INTERNALDATE are known; keys that
    /// need its content fail.
    gone: Option<Option<SystemTime>>,
}

impl Candidate<'_> {
    fn load(&self, extent: Extent) -> Option<Loaded> {
        if self.gone.is_some() {
            return None;
        }
        Loaded::read(self.folder, self.msg.uid, extent).ok()
    }

    fn facts(&self) -> Option<&MessageFacts> {
        self.facts
            .get_or_init(|| {
                if self.gone.is_some() {
                    return None;
                }
                self.folder.facts(&[self.msg.uid]).pop()?.ok()
            })
            .as_deref()
    }

    fn content(&self) -> Option<&Loaded> {
        self.whole.get_or_init(|| self.load(Extent::Whole)).as_ref()
    }

    /// The header (of the whole file if that was read already).
    fn head(&self) -> Option<&Loaded> {
        match self.whole.get() {
            Some(whole) => whole.as_ref(),
            None => self.head.get_or_init(|| self.load(Extent::Header)).as_ref(),
        }
    }

    fn flag(&self, f: Flags) -> bool {
        self.msg.flags.contains(f)
    }

    fn internal_day(&self) -> Option<i64> {
        let date = match self.gone {
            Some(known) => known?,
            None => self.folder.internal_date(self.msg.uid)?,
        };
        let secs = date
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Some(secs.div_euclid(86_400))
    }

    /// The day of the Date: header, in the zone it was written in.
    fn sent_day(&self) -> Option<i64> {
        self.facts()?.sent_day
    }

    fn size(&self) -> Option<u64> {
        let facts = self.facts()?;
        Some(if self.stored_sizes {
            facts.stored_size
        } else {
            facts.rfc822_size
        })
    }

    fn matches(&self, key: &SearchKey) -> bool {
        use SearchKey as K;
        let text = |needle: &[u8]| String::from_utf8_lossy(needle).into_owned();
        match key {
            // Combinations and sets are resolved once per SEARCH (`Test`).
            K::And(_) | K::Or(..) | K::Not(_) | K::SequenceSet(_) | K::Uid(_) => {
                Test::new(key, self.view).matches(self)
            }
            K::All => true,
            K::Answered => self.flag(Flags::ANSWERED),
            K::Deleted => self.flag(Flags::DELETED),
            K::Draft => self.flag(Flags::DRAFT),
            K::Flagged => self.flag(Flags::FLAGGED),
            K::Seen => self.flag(Flags::SEEN),
            K::Unanswered => !self.flag(Flags::ANSWERED),
            K::Undeleted => !self.flag(Flags::DELETED),
            K::Undraft => !self.flag(Flags::DRAFT),
            K::Unflagged => !self.flag(Flags::FLAGGED),
            K::Unseen => !self.flag(Flags::SEEN),
            K::Recent => self.msg.recent,
            K::New => self.msg.recent && !self.flag(Flags::SEEN),
            K::Old => !self.msg.recent,
            K::Keyword(k) => self.msg.keywords.iter().any(|x| x.eq_ignore_ascii_case(k)),
            K::Unkeyword(k) => !self.msg.keywords.iter().any(|x| x.eq_ignore_ascii_case(k)),
            K::Before(d) => self.internal_day().is_some_and(|i| i < day(d)),
            K::On(d) => self.internal_day().is_some_and(|i| i == day(d)),
            K::Since(d) => self.internal_day().is_some_and(|i| i >= day(d)),
            K::SentBefore(d) => self.sent_day().is_some_and(|s| s < day(d)),
            K::SentOn(d) => self.sent_day().is_some_and(|s| s == day(d)),
            K::SentSince(d) => self.sent_day().is_some_and(|s| s >= day(d)),
            K::Larger(n) => self.size().is_some_and(|s| s > u64::from(*n)),
            K::Smaller(n) => self.size().is_some_and(|s| s < u64::from(*n)),
            K::From(_) | K::To(_) | K::Cc(_) | K::Bcc(_) | K::Subject(_) | K::Header(..) => {
                TextKey::new(key).is_some_and(|k| self.text_key(&k))
            }
            K::Body(s) => self
                .content()
                .is_some_and(|c| c.text_contains(&text(s), false)),
            K::Text(s) => self
                .content()
                .is_some_and(|c| c.text_contains(&text(s), true)),
        }
    }

    /// A header key: from the folder's column where it has one, else
    /// fields the facts keep are matched there, others in the header.
    fn text_key(&self, k: &TextKey) -> bool {
        if let (Some((uids, hits)), None) = (&k.column, self.gone) {
            let known = uids.binary_search(&self.msg.uid).ok().and_then(|i| hits[i]);
            if let Some(found) = known {
                return found;
            }
        }
        let kept = self.facts().map(|f| match k.address {
            true => f.address_has(&k.field, &k.needle),
            false => f.header_has(&k.field, &k.needle),
        });
        match kept {
            Some(Some(found)) => found,
            Some(None) => self.head().is_some_and(|c| match k.address {
                true => c.address_contains(&k.field, &k.text),
                false => c.header_contains(&k.field, &k.text),
            }),
            None => false,
        }
    }
}

/// A key that looks for a string in a header field (FROM, TO, CC, BCC,
/// SUBJECT, HEADER), with the string made ready once per SEARCH, not per
/// message.
struct TextKey {
    field: String,
    /// An address field (matched in its addresses as well).
    address: bool,
    text: String,
    needle: Needle,
    /// The folder's answer for every message at once, if it has one:
    /// the UIDs and, for each, found or not (`None`: ask the message).
    column: Option<(Vec<u32>, Vec<Option<bool>>)>,
}

impl TextKey {
    fn new(key: &SearchKey) -> Option<TextKey> {
        use SearchKey as K;
        let (field, address, text) = match key {
            K::From(s) => ("From", true, s),
            K::To(s) => ("To", true, s),
            K::Cc(s) => ("Cc", true, s),
            K::Bcc(s) => ("Bcc", true, s),
            K::Subject(s) => ("Subject", false, s),
            K::Header(name, s) => (name.as_str(), false, s),
            _ => return None,
        };
        let text = String::from_utf8_lossy(text).into_owned();
        Some(TextKey {
            field: field.to_owned(),
            address,
            needle: Needle::new(&text),
            text,
            column: None,
        })
    }

    /// Asks `folder` for its answer over every message.
    fn ask(&mut self, folder: &dyn MailFolder) {
        let hits = folder.search_header(&self.field, self.address, &self.needle);
        self.column = hits.map(|h| (folder.uids(), h));
    }
}

fn day(d: &Date) -> i64 {
    d.days_since_epoch()
}

/// A search key with its sequence and UID sets resolved once, into
/// sorted, merged ranges tested by binary search: a client's SEARCH may
/// carry thousands of ranges (a UID set it kept), and testing each range
/// against each message costs their product.
enum Test<'k> {
    And(Vec<Test<'k>>),
    Or(Box<Test<'k>>, Box<Test<'k>>),
    Not(Box<Test<'k>>),
    Sequence(Vec<(u32, u32)>),
    Uid(Vec<(u32, u32)>),
    /// A header key, its string made ready.
    Text(Box<TextKey>),
    /// Any other key, asked of the message itself.
    Message(&'k SearchKey),
}

impl<'k> Test<'k> {
    fn new(key: &'k SearchKey, view: &View) -> Test<'k> {
        match key {
            SearchKey::And(keys) => Test::And(keys.iter().map(|k| Test::new(k, view)).collect()),
            SearchKey::Or(a, b) => {
                Test::Or(Box::new(Test::new(a, view)), Box::new(Test::new(b, view)))
            }
            SearchKey::Not(k) => Test::Not(Box::new(Test::new(k, view))),
            SearchKey::SequenceSet(set) => Test::Sequence(set.resolve(view.len())),
            SearchKey::Uid(set) => Test::Uid(set.resolve(view.max_uid())),
            other => match TextKey::new(other) {
                Some(k) => Test::Text(Box::new(k)),
                None => Test::Message(other),
            },
        }
    }

    /// Lets the folder answer header keys over every message at once.
    fn ask_folder(&mut self, folder: &dyn MailFolder) {
        match self {
            Test::And(tests) => tests.iter_mut().for_each(|t| t.ask_folder(folder)),
            Test::Or(a, b) => {
                a.ask_folder(folder);
                b.ask_folder(folder);
            }
            Test::Not(t) => t.ask_folder(folder),
            Test::Text(k) => k.ask(folder),
            Test::Sequence(_) | Test::Uid(_) | Test::Message(_) => {}
        }
    }

    /// Whether testing a message may need its facts.
    fn needs_facts(&self) -> bool {
        match self {
            Test::And(tests) => tests.iter().any(Test::needs_facts),
            Test::Or(a, b) => a.needs_facts() || b.needs_facts(),
            Test::Not(t) => t.needs_facts(),
            Test::Text(k) => k.column.is_none(),
            Test::Sequence(_) | Test::Uid(_) => false,
            Test::Message(key) => uses_facts(key),
        }
    }

    fn matches(&self, c: &Candidate<'_>) -> bool {
        match self {
            Test::And(tests) => tests.iter().all(|t| t.matches(c)),
            Test::Or(a, b) => a.matches(c) || b.matches(c),
            Test::Not(t) => !t.matches(c),
            Test::Sequence(ranges) => in_ranges(ranges, c.seq),
            Test::Uid(ranges) => in_ranges(ranges, c.msg.uid),
            Test::Text(k) => c.text_key(k),
            Test::Message(key) => c.matches(key),
        }
    }
}

/// Whether `n` is in sorted, disjoint, inclusive `ranges`.
fn in_ranges(ranges: &[(u32, u32)], n: u32) -> bool {
    let i = ranges.partition_point(|&(_, hi)| hi < n);
    ranges.get(i).is_some_and(|&(lo, _)| lo <= n)
}

impl Session {
    pub(super) fn search(
        &mut self,
        tag: &str,
        uid: bool,
        charset: Option<&str>,
        criteria: &SearchKey,
        ret: Option<&[ReturnOption]>,
        out: &mut Vec<u8>,
    ) {
        let Some(criteria) = self.key_in_utf8(tag, charset, criteria, out) else {
            return;
        };
        self.in_selected(tag, out, |s, sel, out| {
            s.refresh_for_numbers(sel, out);
            if s.is_logged_out() {
                return;
            }
            let hits = search_folder(sel, &criteria, uid);
            match ret {
                Some(opts) => write_esearch(out, tag, uid, opts, &hits),
                None => respond::search(out, &hits),
            }
            s.announce_changes(sel, uid, out);
            Reply::ok(out, tag, "SEARCH completed");
        });
    }
}

/// The `* ESEARCH` answer (RFC 4731 §3.1) for `hits`, in the order the
/// command produced them: ascending for SEARCH, sort order for SORT,
/// whose MIN and MAX are its first and last (RFC 5267 §3.2).
pub(super) fn write_esearch(
    out: &mut Vec<u8>,
    tag: &str,
    uid: bool,
    opts: &[ReturnOption],
    hits: &[u32],
) {
    let want = |o: ReturnOption| opts.contains(&o);
    let answer = Esearch {
        tag: tag.to_owned(),
        uid,
        min: hits.first().copied().filter(|_| want(ReturnOption::Min)),
        max: hits.last().copied().filter(|_| want(ReturnOption::Max)),
        all: if want(ReturnOption::All) {
            SequenceSet::from_numbers_ordered(hits)
        } else {
            None
        },
        count: want(ReturnOption::Count).then(|| u32::try_from(hits.len()).unwrap_or(u32::MAX)),
    };
    respond::esearch(out, &answer);
}

/// Sequence numbers (or UIDs) of the messages matching `key`, ascending.
/// A message expunged elsewhere whose EXPUNGE the client has not had yet
/// still counts for the keys that need no file (sequence set, UID, flags
/// as last seen): a client that searches `1:5` gets all five numbers it
/// holds (RFC 2180 §4.1).
pub(super) fn search_folder(sel: &Selected, key: &SearchKey, uid: bool) -> Vec<u32> {
    search_view(sel.folder.as_ref(), &sel.view, key, uid, false)
}

/// The 1-based positions among `uids` (messages of `folder` in a
/// client's order) of those matching `key`, ascending: IMAP's SEARCH
/// for another protocol's session (SMAP, whose sizes are the stored
/// ones, LF line ends and all).
pub fn search_messages(folder: &dyn MailFolder, uids: Vec<u32>, key: &SearchKey) -> Vec<u32> {
    search_view(folder, &View::new(uids), key, false, true)
}

/// [`search_folder`] on a folder and a client's view of it.
fn search_view(
    folder: &dyn MailFolder,
    view: &View,
    key: &SearchKey,
    uid: bool,
    stored_sizes: bool,
) -> Vec<u32> {
    let mut test = Test::new(key, view);
    test.ask_folder(folder);
    // (Facts are read ahead in batches for keys that need them; the
    // messages a column does not know are asked one by one.)
    let with_facts = test.needs_facts();
    let mut hits = Vec::new();
    let mut batch = Vec::new().into_iter().peekable();
    for seq in 1..=view.len() {
        let Some(u) = view.uid(seq) else { continue };
        if with_facts && batch.peek().is_none() {
            batch = facts_from(folder, view, seq).into_iter().peekable();
        }
        let facts = OnceCell::new();
        if let Some((_, f)) = batch.next_if(|&(b, _)| b == u) {
            let _ = facts.set(f);
        }
        let (msg, gone) = if view.is_expunged(u) {
            match view.gone(u) {
                Some(g) => (g.as_ref(), Some(g.internal_date)),
                None => continue,
            }
        } else {
            match folder.message(u) {
                Some(m) => (m, None),
                None => continue,
            }
        };
        let candidate = Candidate {
            seq,
            msg,
            folder,
            view,
            stored_sizes,
            facts,
            head: OnceCell::new(),
            whole: OnceCell::new(),
            gone,
        };
        if test.matches(&candidate) {
            hits.push(if uid { u } else { seq });
        }
    }
    hits
}

/// Whether `key` asks for what the store's facts hold.
fn uses_facts(key: &SearchKey) -> bool {
    use SearchKey as K;
    match key {
        K::And(keys) => keys.iter().any(uses_facts),
        K::Or(a, b) => uses_facts(a) || uses_facts(b),
        K::Not(k) => uses_facts(k),
        K::Larger(_)
        | K::Smaller(_)
        | K::SentBefore(_)
        | K::SentOn(_)
        | K::SentSince(_)
        | K::From(_)
        | K::To(_)
        | K::Cc(_)
        | K::Bcc(_)
        | K::Subject(_)
        | K::Header(..) => true,
        _ => false,
    }
}

/// The facts of the next [`FACTS_BATCH`] messages from sequence number
/// `seq` on (those expunged elsewhere left out), by UID.
fn facts_from(
    folder: &dyn MailFolder,
    view: &View,
    seq: u32,
) -> Vec<(u32, Option<Arc<MessageFacts>>)> {
    let last = seq.saturating_add(FACTS_BATCH as u32 - 1).min(view.len());
    let uids: Vec<u32> = (seq..=last)
        .filter_map(|s| view.uid(s))
        .filter(|&u| !view.is_expunged(u))
        .collect();
    let found = folder.facts(&uids);
    uids.into_iter()
        .zip(found.into_iter().map(Result::ok))
        .collect()
}
