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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageFacts {
    /// Size of the file in bytes (what `,S=` and quota count).
    pub stored_size: u64,
    /// RFC822.SIZE: the size with CRLF line ends.
    pub rfc822_size: u64,
    /// INTERNALDATE: the file's mtime.
    pub internal_date: SystemTime,
    /// The ENVELOPE, as `courser_mime::envelope` computes it.
    pub envelope: Envelope,
    /// The BODYSTRUCTURE, as `courser_mime::body_structure` computes it.
    pub body_structure: BodyStructure,
    /// The calendar day the first `Date:` was written on (days since the
    /// epoch; SENTBEFORE/SENTON/SENTSINCE).
    pub sent_day: Option<i64>,
    /// The first `Date:` as Unix seconds (SORT DATE).
    pub sent_time: Option<i64>,
    /// Every `References:` value, unfolded and trimmed, raw (THREAD).
    pub references: Vec<Vec<u8>>,
    /// Per [`KEPT_FIELDS`] entry: each occurrence's decoded text,
    /// lowercased (matching lowercases both sides anyway).
    texts: Vec<Vec<String>>,
    /// Per [`ADDRESS_FIELDS`] entry: each address as `name <mb@host>`,
    /// lowercased.
    addresses: Vec<Vec<String>>,
}

fn field_index(list: &[&str], field: &str) -> Option<usize> {
    list.iter().position(|f| f.eq_ignore_ascii_case(field))
}

fn lowered(texts: Vec<String>) -> Vec<String> {
    texts.into_iter().map(|t| t.to_lowercase()).collect()
}

fn any_contains(texts: &[String], needle: &str) -> bool {
    // courser_mime::contains_ci lowercases both sides; ours are stored
    // lowered, so lowering the needle gives the same answer.
    needle.is_empty() && !texts.is_empty() || {
        let needle = needle.to_lowercase();
        texts.iter().any(|t| t.contains(&needle))
    }
}

impl MessageFacts {
    /// Computes the facts of a message from its whole file and its mtime.
    pub fn compute(bytes: &[u8], modified: SystemTime) -> MessageFacts {
        let parsed = courser_mime::parse(bytes);
        let first_date = courser_mime::header_values(bytes, &parsed, "Date");
        let first_date = first_date.first();
        MessageFacts {
            stored_size: bytes.len() as u64,
            rfc822_size: courser_mime::crlf_len(bytes),
            internal_date: modified,
            envelope: courser_mime::envelope(bytes, &parsed),
            body_structure: courser_mime::body_structure(bytes, &parsed),
            sent_day: first_date.and_then(|d| courser_mime::parse_date_day(d)),
            sent_time: first_date.and_then(|d| courser_mime::parse_date(d)),
            references: courser_mime::header_values(bytes, &parsed, "References"),
            texts: KEPT_FIELDS
                .iter()
                .map(|f| lowered(courser_mime::header_texts(bytes, &parsed, f)))
                .collect(),
            addresses: ADDRESS_FIELDS
                .iter()
                .map(|f| lowered(courser_mime::address_texts(bytes, &parsed, f)))
                .collect(),
        }
    }

    /// `courser_mime::header_contains` on the message file, answered from
    /// the kept texts; `None` for a field not in [`KEPT_FIELDS`] (read the
    /// file then).
    pub fn header_contains(&self, field: &str, needle: &str) -> Option<bool> {
        let i = field_index(&KEPT_FIELDS, field)?;
        Some(any_contains(&self.texts[i], needle))
    }

    /// `courser_mime::address_header_contains` on the message file (SEARCH
    /// FROM / TO / CC / BCC); `None` for other fields.
    pub fn address_contains(&self, field: &str, needle: &str) -> Option<bool> {
        let a = field_index(&ADDRESS_FIELDS, field)?;
        Some(self.header_contains(field, needle)? || any_contains(&self.addresses[a], needle))
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
        w.envelope(&self.envelope);
        w.body(&self.body_structure);
        w.opt_i64(self.sent_day);
        w.opt_i64(self.sent_time);
        w.list(&self.references, |w, r| w.bytes(r));
        for t in &self.texts {
            w.strings(t);
        }
        for a in &self.addresses {
            w.strings(a);
        }
    }

    /// Decodes what [`encode`](Self::encode) wrote; `None` if malformed.
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
        Some(MessageFacts {
            stored_size,
            rfc822_size,
            internal_date,
            envelope: r.envelope()?,
            body_structure: r.body()?,
            sent_day: r.opt_i64()?,
            sent_time: r.opt_i64()?,
            references: r.list(|r| r.bytes().map(<[u8]>::to_vec))?,
            texts: (0..KEPT_FIELDS.len())
                .map(|_| r.strings())
                .collect::<Option<_>>()?,
            addresses: (0..ADDRESS_FIELDS.len())
                .map(|_| r.strings())
                .collect::<Option<_>>()?,
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
    }
}
