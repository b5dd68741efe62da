//! What the index keeps about one message: everything FETCH of the
//! usual listing items, header SEARCH, SORT and THREAD ask, computed once
//! from the message file with `courser-mime`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use courser_mime::{BodyStructure, Envelope};

use super::codec::{Reader, Writer};

/// Header fields whose decoded texts are kept, for SEARCH HEADER and the
/// SEARCH/SORT/THREAD keys built on them.
pub const KEPT_FIELDS: [&str; 9] = [
    "Subject",
    "From",
    "To",
    "Cc",
    "Bcc",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
];

/// The address fields SEARCH FROM / TO / CC / BCC match address by
/// address; the first four of [`KEPT_FIELDS`].
pub const ADDRESS_FIELDS: [&str; 4] = ["From", "To", "Cc", "Bcc"];

/// The facts about one message file.
///
/// The sizes and dates are plain fields; the ENVELOPE, BODYSTRUCTURE,
/// References and header texts stay in their encoded form (one buffer)
/// and are decoded by the method that asks for them, so reading the facts
/// of a whole folder to answer FETCH ENVELOPE or SEARCH SUBJECT does not
/// build every other structure too: header matching runs on the encoded
/// texts without allocating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageFacts {
    /// Size of the file in bytes (what `,S=` and quota count).
    pub stored_size: u64,
    /// RFC822.SIZE: the size with CRLF line ends.
    pub rfc822_size: u64,
    /// INTERNALDATE: the file's mtime.
    pub internal_date: SystemTime,
    /// The calendar day the first `Date:` was written on (days since the
    /// epoch; SENTBEFORE/SENTON/SENTSINCE).
    pub sent_day: Option<i64>,
    /// The first `Date:` as Unix seconds (SORT DATE).
    pub sent_time: Option<i64>,
    /// The encoded sections, in [`Section`] order.
    sections: Box<[u8]>,
    /// Where each section starts in `sections`, and where the last ends.
    bounds: [usize; SECTIONS + 1],
}

/// The encoded parts of [`MessageFacts`].
#[derive(Debug, Clone, Copy)]
enum Section {
    Envelope,
    Body,
    References,
    /// Per [`KEPT_FIELDS`] entry each occurrence's decoded text, then per
    /// [`ADDRESS_FIELDS`] entry each address as `name <mb@host>`; all
    /// folded for caseless matching (`courser_mime::search_fold`).
    Texts,
    /// The SORT and THREAD keys ([`OrderKeys`]).
    Order,
}
const SECTIONS: usize = 5;

/// What SORT and THREAD compare of a message (RFC 5256, RFC 5957), kept
/// worked out: ordering a big folder then neither decodes an ENVELOPE
/// nor extracts a base subject per message. Borrowed from the facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderKeys<'a> {
    /// The base subject under i;ascii-casemap
    /// (`courser_mime::order::BaseSubject`).
    pub subject: &'a str,
    /// A reply or forward marker came off the subject.
    pub subject_is_reply: bool,
    /// The first From address's mailbox, upper-cased (RFC 5256 §3).
    pub from: &'a str,
    /// The same of To.
    pub to: &'a str,
    /// The same of Cc.
    pub cc: &'a str,
    /// The first From address's display key (RFC 5957 §3).
    pub display_from: &'a str,
    /// The same of To.
    pub display_to: &'a str,
    /// The message's own ID.
    pub message_id: Option<&'a str>,
    /// Its parent chain, oldest first.
    pub references: Vec<&'a str>,
}

impl<'a> OrderKeys<'a> {
    fn encode(envelope: &Envelope, references: &[Vec<u8>], w: &mut Writer) {
        use courser_mime::order;
        let subject = order::base_subject(envelope);
        w.bytes(subject.key.as_bytes());
        w.u64(u64::from(subject.is_reply));
        for list in [&envelope.from, &envelope.to, &envelope.cc] {
            w.bytes(order::first_mailbox(list).as_bytes());
        }
        for list in [&envelope.from, &envelope.to] {
            w.bytes(order::display_key(list).as_bytes());
        }
        w.strings(&Vec::from_iter(order::own_message_id(envelope)));
        w.strings(&order::thread_references(envelope, references));
    }

    fn decode(section: &'a [u8]) -> Option<OrderKeys<'a>> {
        let mut r = Reader::new(section);
        let mut text = || std::str::from_utf8(r.bytes()?).ok();
        let subject = text()?;
        let subject_is_reply = r.u64()? != 0;
        let mut text = || std::str::from_utf8(r.bytes()?).ok();
        let (from, to, cc) = (text()?, text()?, text()?);
        let (display_from, display_to) = (text()?, text()?);
        let strings = |r: &mut Reader<'a>| r.list(|r| std::str::from_utf8(r.bytes()?).ok());
        let message_id = strings(&mut r)?.into_iter().next();
        let references = strings(&mut r)?;
        Some(OrderKeys {
            subject,
            subject_is_reply,
            from,
            to,
            cc,
            display_from,
            display_to,
            message_id,
            references,
        })
    }
}

fn field_index(list: &[&str], field: &str) -> Option<usize> {
    list.iter().position(|f| f.eq_ignore_ascii_case(field))
}

/// `courser_mime::contains_ci` over texts stored folded
/// (`courser_mime::search_fold`): folding the needle alone gives the same
/// answer.
/// A SEARCH string made ready once for a whole folder: folded as the
/// kept header texts are (`courser_mime::search_fold`), with a searcher
/// built for it.
#[derive(Debug, Clone)]
pub struct Needle {
    finder: memchr::memmem::Finder<'static>,
}

impl Needle {
    /// Prepares `text`.
    pub fn new(text: &str) -> Needle {
        let folded = courser_mime::search_fold(text);
        Needle {
            finder: memchr::memmem::Finder::new(folded.as_bytes()).into_owned(),
        }
    }

    pub(crate) fn found_in(&self, text: &str) -> bool {
        self.finder.find(text.as_bytes()).is_some()
    }

    /// Whether it is the empty string (found in any field present).
    pub(crate) fn is_empty(&self) -> bool {
        self.finder.needle().is_empty()
    }
}

/// The lists of the texts section SEARCH of `field` looks in: the field's
/// own, and for an address field its addresses too; `None` for a field
/// the facts do not keep.
pub(crate) fn search_lists(field: &str, address: bool) -> Option<(usize, Option<usize>)> {
    let own = field_index(&KEPT_FIELDS, field)?;
    let addresses = match address {
        true => Some(KEPT_FIELDS.len() + field_index(&ADDRESS_FIELDS, field)?),
        false => None,
    };
    Some((own, addresses))
}

fn any_contains<'a>(mut texts: impl Iterator<Item = &'a str>, needle: &Needle) -> bool {
    if needle.is_empty() {
        return texts.next().is_some();
    }
    texts.any(|t| needle.found_in(t))
}

/// Walks the string lists of the texts section: `skip` lists, then the
/// strings of the next one. Malformed input ends the walk.
fn nth_list(section: &[u8], skip: usize) -> impl Iterator<Item = &str> {
    let mut r = Reader::new(section);
    let mut ok = true;
    for _ in 0..skip {
        let n = r.u64().unwrap_or(0);
        for _ in 0..n {
            ok &= r.bytes().is_some();
        }
    }
    let mut left = if ok { r.u64().unwrap_or(0) } else { 0 };
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        left -= 1;
        match r.bytes().map(std::str::from_utf8) {
            Some(Ok(s)) => Some(s),
            _ => {
                left = 0;
                None
            }
        }
    })
}

impl MessageFacts {
    /// Computes the facts of a message from its whole file and its mtime.
    pub fn compute(bytes: &[u8], modified: SystemTime) -> MessageFacts {
        let parsed = courser_mime::parse(bytes);
        let first_date = courser_mime::header_values(bytes, &parsed, "Date");
        let first_date = first_date.first();
        let mut sections = Writer::default();
        let mut bounds = [0; SECTIONS + 1];
        let mut section = |s: Section, fill: &mut dyn FnMut(&mut Writer)| {
            bounds[s as usize] = sections.buf.len();
            fill(&mut sections);
            bounds[s as usize + 1] = sections.buf.len();
        };
        let envelope = courser_mime::envelope(bytes, &parsed);
        let references = courser_mime::header_values(bytes, &parsed, "References");
        section(Section::Envelope, &mut |w| w.envelope(&envelope));
        section(Section::Body, &mut |w| {
            w.body(&courser_mime::body_structure(bytes, &parsed))
        });
        section(Section::References, &mut |w| {
            w.list(&references, |w, r| w.bytes(r));
        });
        section(Section::Texts, &mut |w| {
            let texts = courser_mime::header_texts_of(bytes, &parsed, &KEPT_FIELDS);
            let addresses = courser_mime::address_texts_of(bytes, &parsed, &ADDRESS_FIELDS);
            for list in texts.into_iter().chain(addresses) {
                let folded: Vec<String> =
                    list.iter().map(|t| courser_mime::search_fold(t)).collect();
                w.strings(&folded);
            }
        });
        section(Section::Order, &mut |w| {
            OrderKeys::encode(&envelope, &references, w)
        });
        MessageFacts {
            stored_size: bytes.len() as u64,
            rfc822_size: courser_mime::crlf_len(bytes),
            internal_date: modified,
            sent_day: first_date.and_then(|d| courser_mime::parse_date_day(d)),
            sent_time: first_date.and_then(|d| courser_mime::parse_date(d)),
            sections: sections.buf.into_boxed_slice(),
            bounds,
        }
    }

    fn section(&self, s: Section) -> &[u8] {
        &self.sections[self.bounds[s as usize]..self.bounds[s as usize + 1]]
    }

    /// The ENVELOPE, as `courser_mime::envelope` computes it. (An index
    /// record is checksummed; one that passes the checksum yet does not
    /// decode was forged, and gets an empty envelope.)
    pub fn envelope(&self) -> Envelope {
        Reader::new(self.section(Section::Envelope))
            .envelope()
            .unwrap_or_default()
    }

    /// The BODYSTRUCTURE, as `courser_mime::body_structure` computes it.
    pub fn body_structure(&self) -> BodyStructure {
        Reader::new(self.section(Section::Body))
            .body()
            .unwrap_or_default()
    }

    /// Every `References:` value, unfolded and trimmed, raw (THREAD).
    pub fn references(&self) -> Vec<Vec<u8>> {
        Reader::new(self.section(Section::References))
            .list(|r| r.bytes().map(<[u8]>::to_vec))
            .unwrap_or_default()
    }

    /// The SORT and THREAD keys. (A record that passes its checksum yet
    /// does not decode was forged, and gets empty keys.)
    pub fn order_keys(&self) -> OrderKeys<'_> {
        OrderKeys::decode(self.section(Section::Order)).unwrap_or_default()
    }

    /// `courser_mime::header_contains` on the message file, answered from
    /// the kept texts; `None` for a field not in [`KEPT_FIELDS`] (read the
    /// file then).
    pub fn header_contains(&self, field: &str, needle: &str) -> Option<bool> {
        self.header_has(field, &Needle::new(needle))
    }

    /// [`MessageFacts::header_contains`] with the string made ready once.
    pub fn header_has(&self, field: &str, needle: &Needle) -> Option<bool> {
        let i = field_index(&KEPT_FIELDS, field)?;
        Some(any_contains(
            nth_list(self.section(Section::Texts), i),
            needle,
        ))
    }

    /// `courser_mime::address_header_contains` on the message file (SEARCH
    /// FROM / TO / CC / BCC); `None` for other fields.
    pub fn address_contains(&self, field: &str, needle: &str) -> Option<bool> {
        self.address_has(field, &Needle::new(needle))
    }

    /// [`MessageFacts::address_contains`] with the string made ready once.
    pub fn address_has(&self, field: &str, needle: &Needle) -> Option<bool> {
        let a = field_index(&ADDRESS_FIELDS, field)?;
        let texts = self.section(Section::Texts);
        Some(
            self.header_has(field, needle)?
                || any_contains(nth_list(texts, KEPT_FIELDS.len() + a), needle),
        )
    }

    /// Appends the encoded facts to `w`.
    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u64(self.stored_size);
        w.u64(self.rfc822_size);
        let (secs, nanos) = match self.internal_date.duration_since(UNIX_EPOCH) {
            Ok(d) => (
                i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                d.subsec_nanos(),
            ),
            // before 1970: whole seconds back, then nanoseconds forward
            Err(e) => {
                let d = e.duration();
                let back = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                match d.subsec_nanos() {
                    0 => (-back, 0),
                    n => (-back - 1, 1_000_000_000 - n),
                }
            }
        };
        w.i64(secs);
        w.u64(u64::from(nanos));
        w.opt_i64(self.sent_day);
        w.opt_i64(self.sent_time);
        for i in 0..SECTIONS {
            w.bytes(&self.sections[self.bounds[i]..self.bounds[i + 1]]);
        }
    }

    /// Decodes what [`encode`](Self::encode) wrote; `None` if malformed.
    /// Only the scalars and the section lengths are read here.
    pub(crate) fn decode(r: &mut Reader<'_>) -> Option<MessageFacts> {
        let head = Head::decode(r)?;
        let mut sections = Vec::with_capacity(r.remaining());
        let mut bounds = [0; SECTIONS + 1];
        for i in 0..SECTIONS {
            sections.extend_from_slice(r.bytes()?);
            bounds[i + 1] = sections.len();
        }
        Some(MessageFacts {
            stored_size: head.stored_size,
            rfc822_size: head.rfc822_size,
            internal_date: head.internal_date,
            sent_day: head.sent_day,
            sent_time: head.sent_time,
            sections: sections.into_boxed_slice(),
            bounds,
        })
    }

    /// What SORT and THREAD need of these facts.
    pub fn order_facts(&self) -> OrderFacts<'_> {
        OrderFacts {
            stored_size: self.stored_size,
            rfc822_size: self.rfc822_size,
            internal_date: self.internal_date,
            sent_time: self.sent_time,
            keys: self.order_keys(),
        }
    }
}

/// The scalars that begin encoded facts.
struct Head {
    stored_size: u64,
    rfc822_size: u64,
    internal_date: SystemTime,
    sent_day: Option<i64>,
    sent_time: Option<i64>,
}

impl Head {
    fn decode(r: &mut Reader<'_>) -> Option<Head> {
        let stored_size = r.u64()?;
        let rfc822_size = r.u64()?;
        let secs = r.i64()?;
        let nanos = u32::try_from(r.u64()?)
            .ok()
            .filter(|n| *n < 1_000_000_000)?;
        let internal_date = if secs >= 0 {
            UNIX_EPOCH.checked_add(Duration::new(secs.unsigned_abs(), nanos))?
        } else {
            UNIX_EPOCH
                .checked_sub(Duration::from_secs(secs.unsigned_abs()))?
                .checked_add(Duration::from_nanos(u64::from(nanos)))?
        };
        Some(Head {
            stored_size,
            rfc822_size,
            internal_date,
            sent_day: r.opt_i64()?,
            sent_time: r.opt_i64()?,
        })
    }
}

/// What SORT and THREAD need of a message's facts, borrowed from them
/// or straight from an index record (nothing copied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFacts<'a> {
    /// Size of the file in bytes.
    pub stored_size: u64,
    /// RFC822.SIZE.
    pub rfc822_size: u64,
    /// INTERNALDATE.
    pub internal_date: SystemTime,
    /// The first `Date:` as Unix seconds.
    pub sent_time: Option<i64>,
    /// The keys.
    pub keys: OrderKeys<'a>,
}

impl<'a> OrderFacts<'a> {
    /// Reads them from encoded facts ([`MessageFacts::encode`]) without
    /// decoding the other sections; `None` if malformed.
    pub(crate) fn decode(encoded: &'a [u8]) -> Option<OrderFacts<'a>> {
        let (head, section) = in_place(encoded, Section::Order)?;
        Some(OrderFacts {
            stored_size: head.stored_size,
            rfc822_size: head.rfc822_size,
            internal_date: head.internal_date,
            sent_time: head.sent_time,
            keys: OrderKeys::decode(section)?,
        })
    }
}

/// The header texts SEARCH looks in, read in place from encoded facts
/// (building a folder's [`crate::text_column`] decodes nothing else).
pub(crate) struct TextsView<'a> {
    /// Size of the file in bytes.
    pub stored_size: u64,
    /// INTERNALDATE.
    pub internal_date: SystemTime,
    section: &'a [u8],
}

impl<'a> TextsView<'a> {
    /// Reads it from encoded facts; `None` if malformed.
    pub(crate) fn decode(encoded: &'a [u8]) -> Option<TextsView<'a>> {
        let (head, section) = in_place(encoded, Section::Texts)?;
        Some(TextsView {
            stored_size: head.stored_size,
            internal_date: head.internal_date,
            section,
        })
    }

    /// The strings of list `list` (see [`search_lists`]).
    pub(crate) fn texts(&self, list: usize) -> impl Iterator<Item = &'a str> {
        nth_list(self.section, list)
    }
}

/// The scalars of encoded facts and one section, the others skipped;
/// `None` if malformed.
fn in_place(encoded: &[u8], wanted: Section) -> Option<(Head, &[u8])> {
    let mut r = Reader::new(encoded);
    let head = Head::decode(&mut r)?;
    let mut found = None;
    for i in 0..SECTIONS {
        let section = r.bytes()?;
        if i == wanted as usize {
            found = Some(section);
        }
    }
    r.is_empty().then_some((head, found?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_round_trip_including_dates_before_1970() {
        let msg = b"Subject: =?utf-8?q?Caf=C3=A9?=\nFrom: A <a@b.c>\nDate: 1 Jan 2001 00:00 +0100\nReferences: <x@y>\n\nbody\n";
        for t in [
            UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789),
            UNIX_EPOCH - Duration::new(100, 250),
            UNIX_EPOCH - Duration::from_secs(5),
            UNIX_EPOCH,
        ] {
            let f = MessageFacts::compute(msg, t);
            let mut w = Writer::default();
            f.encode(&mut w);
            let mut r = Reader::new(&w.buf);
            assert_eq!(MessageFacts::decode(&mut r), Some(f));
            assert!(r.is_empty());
        }
    }

    #[test]
    fn kept_fields_answer_and_others_do_not() {
        let msg = b"Subject: Hello\nX-Other: yes\nTo: Real Name <rn@example.org>\n\n";
        let f = MessageFacts::compute(msg, UNIX_EPOCH);
        assert_eq!(f.header_contains("subject", "HELL"), Some(true));
        assert_eq!(f.header_contains("Cc", ""), Some(false));
        assert_eq!(f.header_contains("x-other", "yes"), None);
        assert_eq!(f.address_contains("TO", "real name <rn@"), Some(true));
        assert_eq!(f.address_contains("Subject", "x"), None);
        assert_eq!(f.rfc822_size, msg.len() as u64 + 4);
        assert_eq!(f.envelope().subject.as_deref(), Some(&b"Hello"[..]));
        assert_eq!(f.body_structure().subtype, b"PLAIN");
        assert!(f.references().is_empty());
    }

    #[test]
    fn order_keys_are_kept_worked_out() {
        let msg = b"Subject: Re: [list] =?utf-8?q?Caf=C3=A9?=\nFrom: Ann <ann@x.org>\nTo: bob@y.org\nMessage-ID: <m@x>\nIn-Reply-To: <p@x>\n\n";
        let f = MessageFacts::compute(msg, UNIX_EPOCH);
        let k = f.order_keys();
        assert_eq!((k.subject, k.subject_is_reply), ("CAFé", true));
        assert_eq!((k.from, k.to, k.cc), ("ANN", "BOB", ""));
        assert_eq!(k.display_from, courser_mime::unicode_casemap("Ann"));
        assert_eq!(k.display_to, "BOB@Y.ORG");
        assert_eq!(k.message_id, Some("<m@x>"));
        assert_eq!(k.references, ["<p@x>"]);
        let bare = MessageFacts::compute(b"\n", UNIX_EPOCH);
        assert_eq!(bare.order_keys(), OrderKeys::default());
    }
}
