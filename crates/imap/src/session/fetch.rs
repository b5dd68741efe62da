//! FETCH and UID FETCH (RFC 3501 §6.4.5, §6.4.8, §7.4.2).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use courser_protocol::OUTPUT_HIGH_WATER;

use courser_maildir::acl::rights;

use super::message::{Loaded, Summary, FACTS_BATCH};
use super::reply::Reply;
use super::{Pending, Selected, Session, Transferred};
use crate::codec::respond::{Code, FetchWriter};
use crate::codec::{DateTime, FetchAttr, Flag, SectionText, SequenceSet};
use crate::mailstore::{Extent, FlagOp, Flags, MailFolder, MessageFacts, MessageRef};

/// A message's flags as IMAP flags, `\Recent` included.
pub(super) fn message_flags(m: MessageRef<'_>) -> Vec<Flag> {
    let mut flags = Vec::with_capacity(5 + m.keywords.len());
    for (bit, flag) in [
        (Flags::ANSWERED, Flag::Answered),
        (Flags::FLAGGED, Flag::Flagged),
        (Flags::DELETED, Flag::Deleted),
        (Flags::SEEN, Flag::Seen),
        (Flags::DRAFT, Flag::Draft),
    ] {
        if m.flags.contains(bit) {
            flags.push(flag);
        }
    }
    if m.recent {
        flags.push(Flag::Recent);
    }
    flags.extend(m.keywords.iter().cloned().map(Flag::Keyword));
    flags
}

/// `* seq FETCH (FLAGS (...) [UID n])`, the unsolicited form.
pub(super) fn write_flags(out: &mut Vec<u8>, seq: u32, m: MessageRef<'_>, with_uid: bool) {
    let mut w = FetchWriter::new(out, seq);
    w.flags(&message_flags(m));
    if with_uid {
        w.uid(m.uid);
    }
    w.finish();
}

/// INTERNALDATE (a maildir's is the file's mtime). Shown in UTC: the
/// server's zone would need the tz database, and clients convert anyway.
fn internal_date(folder: &dyn MailFolder, uid: u32) -> DateTime {
    let secs = folder
        .internal_date(uid)
        .unwrap_or(UNIX_EPOCH)
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    DateTime::from_unix(secs, 0)
        .or_else(|| DateTime::from_unix(0, 0))
        .expect("the epoch is a valid date")
}

/// A FETCH in progress.
pub(crate) struct FetchJob {
    tag: String,
    uid: bool,
    attrs: Vec<FetchAttr>,
    /// `(seq, uid)` of every message named, ascending.
    targets: Vec<(u32, u32)>,
    /// Index of the next target to write.
    next: usize,
    /// Some target had been expunged.
    missing: bool,
    /// What the items need of each message.
    need: Need,
    /// Facts read ahead for the next targets, by UID.
    facts: VecDeque<(u32, Option<Arc<MessageFacts>>)>,
}

/// What a FETCH needs of each message, from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Need {
    /// Flags, UID, INTERNALDATE: the folder listing has them.
    Listing,
    /// RFC822.SIZE, ENVELOPE, BODY, BODYSTRUCTURE: the store's facts
    /// (the folder index), no file read.
    Facts,
    /// Also header sections: the header of the file.
    Header,
    /// Anything else: the whole file (which answers the facts too).
    Whole,
}

impl Need {
    /// How much of the file to read, if any.
    fn extent(self) -> Option<Extent> {
        match self {
            Need::Listing | Need::Facts => None,
            Need::Header => Some(Extent::Header),
            Need::Whole => Some(Extent::Whole),
        }
    }
}

/// What answering `attr` needs.
fn need_of(attr: &FetchAttr) -> Need {
    match attr {
        FetchAttr::Flags | FetchAttr::InternalDate | FetchAttr::Uid => Need::Listing,
        FetchAttr::Rfc822Size
        | FetchAttr::Envelope
        | FetchAttr::Body
        | FetchAttr::BodyStructure => Need::Facts,
        FetchAttr::Rfc822Header => Need::Header,
        FetchAttr::BodySection { section, .. }
            if section.part.is_empty()
                && matches!(
                    section.text,
                    Some(
                        SectionText::Header
                            | SectionText::HeaderFields(_)
                            | SectionText::HeaderFieldsNot(_)
                    )
                ) =>
        {
            Need::Header
        }
        _ => Need::Whole,
    }
}

/// Whether fetching `attr` sets \Seen (RFC 3501 §6.4.5: BODY[] without
/// .PEEK, RFC822, RFC822.TEXT).
fn sets_seen(attr: &FetchAttr) -> bool {
    matches!(
        attr,
        FetchAttr::BodySection { peek: false, .. } | FetchAttr::Rfc822 | FetchAttr::Rfc822Text
    )
}

impl Session {
    pub(super) fn fetch(
        &mut self,
        tag: &str,
        uid: bool,
        set: &SequenceSet,
        attrs: &[FetchAttr],
        out: &mut Vec<u8>,
    ) {
        self.in_selected(tag, out, |s, sel, out| {
            s.refresh_for_numbers(sel, out);
            if s.is_logged_out() {
                return;
            }
            if !uid && set.exceeds(sel.view.len()) {
                return Reply::bad(out, tag, "Message sequence number out of range");
            }
            let mut attrs = attrs.to_vec();
            if uid && !attrs.contains(&FetchAttr::Uid) {
                // RFC 3501 §6.4.8: UID FETCH always returns UID.
                attrs.insert(0, FetchAttr::Uid);
            }
            let need = attrs.iter().map(need_of).max().unwrap_or(Need::Listing);
            let job = FetchJob {
                tag: tag.to_owned(),
                uid,
                attrs,
                targets: sel.view.select(set, uid),
                next: 0,
                missing: false,
                need,
                facts: VecDeque::new(),
            };
            s.run_fetch(sel, job, out);
        });
    }

    /// Continues a FETCH that stopped because its output filled the buffer.
    pub(super) fn resume_fetch(&mut self, job: FetchJob, out: &mut Vec<u8>) {
        let tag = job.tag.clone();
        self.in_selected(&tag, out, |s, sel, out| s.run_fetch(sel, job, out));
    }

    /// Writes FETCH responses until done or until `out` holds
    /// [`OUTPUT_HIGH_WATER`] bytes; then parks the job so the server can
    /// send what is there first. A slow reader thus holds one buffer's
    /// worth of memory, not a whole folder's.
    fn run_fetch(&mut self, sel: &mut Selected, mut job: FetchJob, out: &mut Vec<u8>) {
        while let Some(&(seq, u)) = job.targets.get(job.next) {
            if out.len() >= OUTPUT_HIGH_WATER {
                self.pending = Some(Pending::Fetch(job));
                return;
            }
            let facts = job.facts_of(sel, u);
            job.next += 1;
            let sent = &mut self.sent;
            if sel.view.is_expunged(u) || !fetch_one(sel, seq, u, &job.attrs, facts, sent, out) {
                job.missing = true;
            }
        }
        // No EXPUNGE during FETCH; UID FETCH may have them (§7.4.1).
        self.announce_changes(sel, job.uid, out);
        // UID FETCH ignores UIDs that are gone (§6.4.8) and has just said
        // EXPUNGE for them; only FETCH by number answers NO (RFC 2180
        // §4.1.2: the others are answered, the tagged NO says some are
        // gone). The content of a message another session expunged is gone
        // from the maildir, so §4.1.1 (keep serving it) is not open to us.
        // Dovecot words it the same way, and clients (imaptest among them)
        // recognise the text.
        if job.missing && !job.uid {
            Reply::no(
                out,
                &job.tag,
                Some(Code::ExpungeIssued),
                "Some of the requested messages no longer exist",
            );
        } else {
            Reply::ok(out, &job.tag, "FETCH completed");
        }
    }
}

impl FetchJob {
    /// The facts of target `uid` (the next one) when the items need
    /// them and not the whole file: asked of the store for a batch of
    /// targets at a time, so an index is read sequentially.
    fn facts_of(&mut self, sel: &Selected, uid: u32) -> Option<Arc<MessageFacts>> {
        if !matches!(self.need, Need::Facts | Need::Header) {
            return None;
        }
        if self.facts.is_empty() {
            let uids: Vec<u32> = self.targets[self.next..]
                .iter()
                .map(|&(_, u)| u)
                .filter(|&u| !sel.view.is_expunged(u))
                .take(FACTS_BATCH)
                .collect();
            let found = sel.folder.facts(&uids);
            self.facts = uids
                .into_iter()
                .zip(found.into_iter().map(Result::ok))
                .collect();
        }
        match self.facts.front() {
            Some(&(u, _)) if u == uid => self.facts.pop_front().and_then(|(_, f)| f),
            _ => None,
        }
    }
}

/// Message data sent, counted as Courier counts a section it copies
/// from the file: the bytes as stored, so without the CR of each CRLF
/// line end.
fn stored_len(data: &[u8]) -> u64 {
    let crlfs = data.windows(2).filter(|w| w == b"\r\n").count();
    (data.len() - crlfs) as u64
}

/// Header fields sent, counted as Courier counts the header sections it
/// filters field by field: their text without any line ends.
fn field_text_len(data: &[u8]) -> u64 {
    data.iter().filter(|&&b| b != b'\r' && b != b'\n').count() as u64
}

/// Where and how Courier counts the bytes of `section`: the header
/// sections it filters field by field are headers, the rest (even
/// BODY[HEADER], unlike RFC822.HEADER) is body.
fn counter_of<'a>(
    sent: &'a mut Transferred,
    section: &crate::codec::Section,
) -> (&'a mut u64, fn(&[u8]) -> u64) {
    match section.text {
        Some(
            SectionText::HeaderFields(_) | SectionText::HeaderFieldsNot(_) | SectionText::Mime,
        ) => (&mut sent.headers, field_text_len),
        _ => (&mut sent.body, stored_len),
    }
}

/// Writes one FETCH response, counting the message bytes into `sent`;
/// false when the message is gone. `facts` answer the items that need no
/// file when the file is not read whole.
fn fetch_one(
    sel: &mut Selected,
    seq: u32,
    uid: u32,
    attrs: &[FetchAttr],
    facts: Option<Arc<MessageFacts>>,
    sent: &mut Transferred,
    out: &mut Vec<u8>,
) -> bool {
    let mut report_flags = attrs.contains(&FetchAttr::Flags);
    // Without `s` the message stays unseen (RFC 4314 §4, as Courier).
    let may_see = sel.rights.has(rights::SEEN);
    if sel.folder.read_write() && may_see && attrs.iter().any(sets_seen) {
        let unseen = sel
            .folder
            .message(uid)
            .is_some_and(|m| !m.flags.contains(Flags::SEEN));
        if unseen
            && sel
                .folder
                .store_flags(&[uid], FlagOp::Add, Flags::SEEN, &[])
                .is_ok()
        {
            report_flags = true;
        }
    }
    let need = attrs.iter().map(need_of).max().unwrap_or(Need::Listing);
    let loaded = if let Some(extent) = need.extent() {
        match Loaded::read(sel.folder.as_ref(), uid, extent) {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::debug!("fetch of uid {uid}: {e}");
                return false;
            }
        }
    } else {
        None
    };
    // From the file when it is read whole, else from the facts (asked
    // for here when the batch did not have them).
    let summary = match (need, &loaded) {
        (Need::Whole, Some(l)) => Some(Summary::File(l)),
        (Need::Facts | Need::Header, _) => {
            let facts = facts.or_else(|| sel.folder.facts(&[uid]).pop()?.ok());
            match facts {
                Some(f) => Some(Summary::Facts(f)),
                None => return false,
            }
        }
        _ => None,
    };
    let Some(m) = sel.folder.message(uid) else {
        return false;
    };
    let mut w = FetchWriter::new(out, seq);
    for attr in attrs {
        match (attr, &loaded) {
            (FetchAttr::Uid, _) => {
                w.uid(uid);
            }
            (FetchAttr::Flags, _) => {}
            (FetchAttr::InternalDate, _) => {
                w.internal_date(&internal_date(sel.folder.as_ref(), uid));
            }
            (FetchAttr::Rfc822Size, _) => {
                if let Some(s) = &summary {
                    w.rfc822_size(s.size());
                }
            }
            (FetchAttr::Envelope, _) => {
                if let Some(s) = &summary {
                    w.envelope(&s.envelope());
                }
            }
            (FetchAttr::Body, _) => {
                if let Some(s) = &summary {
                    w.body(&s.body_structure());
                }
            }
            (FetchAttr::BodyStructure, _) => {
                if let Some(s) = &summary {
                    w.body_structure(&s.body_structure());
                }
            }
            (_, None) => {}
            (FetchAttr::Rfc822, Some(l)) => {
                let data = l.whole();
                sent.body += stored_len(&data);
                w.rfc822(Some(&data));
            }
            (FetchAttr::Rfc822Header, Some(l)) => {
                let data = l.header();
                sent.headers += stored_len(&data);
                w.rfc822_header(Some(&data));
            }
            (FetchAttr::Rfc822Text, Some(l)) => {
                let data = l.text();
                sent.body += stored_len(&data);
                w.rfc822_text(Some(&data));
            }
            (
                FetchAttr::BodySection {
                    section, partial, ..
                },
                Some(l),
            ) => {
                let data = l.section(section);
                let (counter, len) = counter_of(sent, section);
                match partial {
                    Some(p) => {
                        let start = usize::try_from(p.origin)
                            .unwrap_or(usize::MAX)
                            .min(data.len());
                        let end = start
                            .saturating_add(usize::try_from(p.count).unwrap_or(usize::MAX))
                            .min(data.len());
                        *counter += len(&data[start..end]);
                        w.body_section(section, Some(p.origin), Some(&data[start..end]));
                    }
                    None => {
                        *counter += len(&data);
                        w.body_section(section, None, Some(&data));
                    }
                }
            }
        }
    }
    if report_flags {
        w.flags(&message_flags(m));
        sel.view.flags_reported(uid);
    }
    w.finish();
    true
}
