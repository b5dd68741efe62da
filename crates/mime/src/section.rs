//! BODY[section] extraction (RFC 3501 §6.4.5), CRLF-normalized.

use crate::header;
use crate::lines::push_crlf;
use crate::parse::{ParsedMessage, Part, PartKind};

/// A section specification: a part path (`1.2.3`, empty for the whole
/// message) and an optional text specifier.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Section {
    /// Part numbers, 1-based; empty means the top-level message.
    pub part: Vec<u32>,
    /// The section text specifier, if any.
    pub text: Option<SectionText>,
}

/// The text part of a section specifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SectionText {
    /// `HEADER`: the header including the blank line.
    Header,
    /// `HEADER.FIELDS (names)`: only those fields, then a blank line.
    HeaderFields(Vec<Vec<u8>>),
    /// `HEADER.FIELDS.NOT (names)`: all other fields, then a blank line.
    HeaderFieldsNot(Vec<Vec<u8>>),
    /// `TEXT`: the body of the message.
    Text,
    /// `MIME`: the MIME header of a body part (requires a part number).
    Mime,
}

/// Finds the entity a part path designates.
///
/// Rules (RFC 3501): in a multipart, `n` selects the n-th part; a
/// non-multipart message has only part 1 (its body); after a
/// `message/rfc822` part the numbers continue inside the encapsulated
/// message.
pub fn resolve<'a>(parsed: &'a ParsedMessage, path: &[u32]) -> Option<&'a Part> {
    let mut cur = &parsed.root;
    for (i, &n) in path.iter().enumerate() {
        let container = match (&cur.kind, i) {
            (PartKind::Message(inner), i) if i > 0 => inner,
            _ => cur,
        };
        cur = match &container.kind {
            PartKind::Multipart(children) => children.get((n as usize).checked_sub(1)?)?,
            _ if n == 1 => container,
            _ => return None,
        };
    }
    Some(cur)
}

/// The bytes of a section, CRLF-normalized, or `None` when the section
/// does not exist (bad part number, MIME without part, HEADER/TEXT of a
/// part that is not `message/rfc822`).
pub fn try_section_bytes(msg: &[u8], parsed: &ParsedMessage, section: &Section) -> Option<Vec<u8>> {
    let part = resolve(parsed, &section.part)?;
    let top = section.part.is_empty();
    // The message whose HEADER/TEXT is wanted.
    let message = || -> Option<&Part> {
        if top {
            return Some(part);
        }
        match &part.kind {
            PartKind::Message(inner) => Some(inner),
            // `1.HEADER` of a single-part message resolves to the root.
            _ if std::ptr::eq(part, &parsed.root) => Some(part),
            _ => None,
        }
    };
    let mut out = Vec::new();
    match &section.text {
        None if top => push_crlf(&mut out, msg),
        None => push_crlf(&mut out, slice(msg, part.body_start, part.body_end)),
        Some(SectionText::Mime) => {
            if top {
                return None;
            }
            push_crlf(&mut out, slice(msg, part.header_start, part.body_start));
        }
        Some(SectionText::Header) => {
            let m = message()?;
            push_crlf(&mut out, slice(msg, m.header_start, m.body_start));
        }
        Some(SectionText::Text) => {
            let m = message()?;
            push_crlf(&mut out, slice(msg, m.body_start, m.body_end));
        }
        Some(SectionText::HeaderFields(names)) => {
            header_fields(msg, message()?, names, true, &mut out);
        }
        Some(SectionText::HeaderFieldsNot(names)) => {
            header_fields(msg, message()?, names, false, &mut out);
        }
    }
    Some(out)
}

/// The bytes of a section, CRLF-normalized; empty when the section does
/// not exist (see [`try_section_bytes`]).
pub fn section_bytes(msg: &[u8], parsed: &ParsedMessage, section: &Section) -> Vec<u8> {
    try_section_bytes(msg, parsed, section).unwrap_or_default()
}

/// Applies an IMAP partial `<origin.len>` to fetched data.
pub fn partial(data: &[u8], origin: u64, len: Option<u64>) -> &[u8] {
    let start = usize::try_from(origin)
        .unwrap_or(usize::MAX)
        .min(data.len());
    let end = match len {
        Some(l) => start.saturating_add(usize::try_from(l).unwrap_or(usize::MAX)),
        None => data.len(),
    }
    .min(data.len());
    &data[start..end]
}

fn slice(msg: &[u8], start: usize, end: usize) -> &[u8] {
    let end = end.min(msg.len());
    &msg[start.min(end)..end]
}

fn header_fields(msg: &[u8], m: &Part, names: &[Vec<u8>], wanted: bool, out: &mut Vec<u8>) {
    for f in header::fields(msg, m.header_start, m.header_end.min(msg.len())) {
        let matches = names.iter().any(|n| f.is(msg, n));
        if matches == wanted {
            let text = slice(msg, f.start, f.end);
            push_crlf(out, text);
            if !text.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    fn sec(part: &[u32], text: Option<SectionText>) -> Section {
        Section {
            part: part.to_vec(),
            text,
        }
    }

    fn s(msg: &[u8], part: &[u32], text: Option<SectionText>) -> Option<String> {
        let p = parse(msg);
        try_section_bytes(msg, &p, &sec(part, text)).map(|v| String::from_utf8(v).unwrap())
    }

    const M: &[u8] =
        b"From: a@b\nSubject: s\n folded\nContent-Type: multipart/mixed; boundary=B\n\n\
--B\nContent-Type: text/plain\n\none\n\
--B\nContent-Type: message/rfc822\n\nSubject: inner\nX-A: 1\n\n\
--C\nnot a boundary here\n\
--B\nContent-Type: multipart/alternative; boundary=C2\n\n--C2\n\nalt1\n--C2\n\nalt2\n--C2--\n\
--B--\n";

    #[test]
    fn whole_and_header_text() {
        let p = parse(M);
        let all = section_bytes(M, &p, &Section::default());
        assert_eq!(all.len() as u64, crate::crlf_len(M));
        let h = s(M, &[], Some(SectionText::Header)).unwrap();
        let t = s(M, &[], Some(SectionText::Text)).unwrap();
        assert!(h.ends_with("\r\n\r\n"));
        assert_eq!(format!("{h}{t}").into_bytes(), all);
    }

    #[test]
    fn parts() {
        use SectionText::*;
        assert_eq!(s(M, &[1], None).unwrap(), "one");
        assert_eq!(
            s(M, &[1], Some(Mime)).unwrap(),
            "Content-Type: text/plain\r\n\r\n"
        );
        assert_eq!(
            s(M, &[2], Some(Header)).unwrap(),
            "Subject: inner\r\nX-A: 1\r\n\r\n"
        );
        assert_eq!(
            s(M, &[2], Some(Text)).unwrap(),
            "--C\r\nnot a boundary here"
        );
        assert_eq!(
            s(M, &[2], None).unwrap(),
            "Subject: inner\r\nX-A: 1\r\n\r\n--C\r\nnot a boundary here"
        );
        assert_eq!(s(M, &[2, 1], None).unwrap(), "--C\r\nnot a boundary here");
        assert_eq!(s(M, &[3, 2], None).unwrap(), "alt2");
        assert_eq!(s(M, &[3, 2], Some(Mime)).unwrap(), "\r\n");
        assert_eq!(s(M, &[4], None), None);
        assert_eq!(s(M, &[0], None), None);
        assert_eq!(s(M, &[1], Some(Header)), None);
        assert_eq!(s(M, &[], Some(Mime)), None);
        // Lenient: n=1 inside a non-multipart leaf designates the leaf itself.
        assert_eq!(s(M, &[3, 1, 1], None).unwrap(), "alt1");
    }

    #[test]
    fn header_fields() {
        use SectionText::*;
        let f = |v: &[&str]| v.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
        assert_eq!(
            s(M, &[], Some(HeaderFields(f(&["subject", "X-None"])))).unwrap(),
            "Subject: s\r\n folded\r\n\r\n"
        );
        assert_eq!(
            s(
                M,
                &[],
                Some(HeaderFieldsNot(f(&["SUBJECT", "content-type"])))
            )
            .unwrap(),
            "From: a@b\r\n\r\n"
        );
        assert_eq!(s(M, &[], Some(HeaderFields(f(&["nope"])))).unwrap(), "\r\n");
        assert_eq!(
            s(M, &[2], Some(HeaderFields(f(&["x-a"])))).unwrap(),
            "X-A: 1\r\n\r\n"
        );
        // Field at EOF without newline still ends with CRLF.
        assert_eq!(
            s(b"A: 1", &[], Some(HeaderFields(f(&["a"])))).unwrap(),
            "A: 1\r\n\r\n"
        );
    }

    #[test]
    fn single_part_numbering() {
        use SectionText::*;
        let m = b"Subject: x\n\nbody\n";
        assert_eq!(s(m, &[1], None).unwrap(), "body\r\n");
        assert_eq!(s(m, &[1], Some(Mime)).unwrap(), "Subject: x\r\n\r\n");
        assert_eq!(s(m, &[2], None), None);
        assert_eq!(s(m, &[1], Some(Header)).unwrap(), "Subject: x\r\n\r\n");
    }

    #[test]
    fn partial_slices() {
        assert_eq!(partial(b"hello", 1, Some(3)), b"ell");
        assert_eq!(partial(b"hello", 4, Some(30)), b"o");
        assert_eq!(partial(b"hello", 9, None), b"");
        assert_eq!(partial(b"hello", u64::MAX, Some(u64::MAX)), b"");
    }
}
