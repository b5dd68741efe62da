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
}
const SECTIONS: usize = 4;

fn field_index(list: &[&str], field: &str) -> Option<usize> {
    list.iter().position(|f| f.eq_ignore_ascii_case(field))
}

/// `courser_mime::contains_ci` over texts stored folded
/// (`courser_mime::search_fold`): folding the needle alone gives the same
/// answer.
fn any_contains<'a>(mut texts: impl Iterator<Item = &'a str>, needle: &str) -> bool {
    if needle.is_empty() {
        return texts.next().is_some();
    }
    let needle = courser_mime::search_fold(needle);
    texts.any(|t| t.contains(&needle))
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
        section(Section::Envelope, &mut |w| {
            w.envelope(&courser_mime::envelope(bytes, &parsed))
        });
        section(Section::Body, &mut |w| {
            w.body(&courser_mime::body_structure(bytes, &parsed))
        });
        section(Section::References, &mut |w| {
            let refs = courser_mime::header_values(bytes, &parsed, "References");
            w.list(&refs, |w, r| w.bytes(r));
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

    /// `courser_mime::header_contains` on the message file, answered from
    /// the kept texts; `None` for a field not in [`KEPT_FIELDS`] (read the
    /// file then).
    pub fn header_contains(&self, field: &str, needle: &str) -> Option<bool> {
        let i = field_index(&KEPT_FIELDS, field)?;
        Some(any_contains(
            nth_list(self.section(Section::Texts), i),
            needle,
        ))
    }

    /// `courser_mime::address_header_contains` on the message file (SEARCH
    /// FROM / TO / CC / BCC); `None` for other fields.
    pub fn address_contains(&self, field: &str, needle: &str) -> Option<bool> {
        let a = field_index(&ADDRESS_FIELDS, field)?;
        let texts = self.section(Section::Texts);
        Some(
            self.header_contains(field, needle)?
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
        let sent_day = r.opt_i64()?;
        let sent_time = r.opt_i64()?;
        let mut sections = Vec::with_capacity(r.remaining());
        let mut bounds = [0; SECTIONS + 1];
        for i in 0..SECTIONS {
            sections.extend_from_slice(r.bytes()?);
            bounds[i + 1] = sections.len();
        }
        Some(MessageFacts {
            stored_size,
            rfc822_size,
            internal_date,
            sent_day,
            sent_time,
            sections: sections.into_boxed_slice(),
            bounds,
        })
    }
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
}
