//! MIME targets: the structure scanner with ENVELOPE/BODYSTRUCTURE,
//! `BODY[section]` extraction, and the header-level parsers.

use courser_mime::{
    body_structure, crlf_len, decode, decode_header_text, envelope, header_contains, header_values,
    param_value, parse, parse_address_list, parse_date, partial, resolve, section_bytes,
    text_contains, to_crlf, try_section_bytes, ParsedMessage, Part, PartKind, Section, SectionText,
};

/// Most part paths visited per message (keeps a fuzz iteration cheap).
const MAX_PATHS: usize = 64;

/// Checks the offsets of `part` and its children: ordered, inside the
/// message and inside the enclosing body. Returns the number of parts.
fn check_part(part: &Part, lo: usize, hi: usize, len: usize, depth: usize) -> usize {
    assert!(
        depth <= courser_mime::parse::MAX_DEPTH + 2,
        "MIME tree too deep"
    );
    assert!(
        lo <= part.header_start,
        "part starts before its parent's body"
    );
    assert!(part.header_start <= part.header_end);
    assert!(part.body_end <= len, "part ends after the message");
    assert!(part.header_end <= part.body_start);
    assert!(part.body_start <= part.body_end);
    // A multipart without boundary lines gets one synthetic empty part at
    // its raw end, after the line end that would belong to the boundary.
    let synthetic = part.defaulted && part.header_start == part.body_end;
    let hi = if synthetic { hi + 2 } else { hi };
    assert!(part.body_end <= hi, "part ends after its parent's body");
    assert!(!part.media_type.is_empty() && !part.media_subtype.is_empty());
    match &part.kind {
        PartKind::Leaf => 1,
        PartKind::Message(inner) => {
            1 + check_part(inner, part.body_start, part.body_end, len, depth + 1)
        }
        PartKind::Multipart(children) => {
            assert!(!children.is_empty(), "a multipart without parts");
            let mut n = 1;
            let mut prev_end = part.body_start;
            for child in children {
                assert!(child.header_start >= prev_end, "overlapping parts");
                n += check_part(child, part.body_start, part.body_end, len, depth + 1);
                prev_end = child.body_end;
            }
            n
        }
    }
}

/// The part paths of a message (`[]`, `[1]`, `[1, 2]`, …), at most
/// [`MAX_PATHS`], in RFC 3501 numbering.
fn paths(parsed: &ParsedMessage) -> Vec<Vec<u32>> {
    /// Mirrors [`resolve`]: below the root a `message/rfc822` part numbers
    /// the parts of the message it holds; a non-multipart entity reached
    /// that way (or the root) has the single part 1, itself.
    fn walk(part: &Part, is_root: bool, path: &mut Vec<u32>, out: &mut Vec<Vec<u32>>) {
        if out.len() >= MAX_PATHS {
            return;
        }
        out.push(path.clone());
        let container = match &part.kind {
            PartKind::Message(inner) if !is_root => inner,
            _ => part,
        };
        let next: Vec<&Part> = match &container.kind {
            PartKind::Multipart(children) => children.iter().collect(),
            _ if is_root || !std::ptr::eq(container, part) => vec![container],
            _ => Vec::new(),
        };
        for (i, child) in next.into_iter().enumerate() {
            path.push(i as u32 + 1);
            walk(child, false, path, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(&parsed.root, true, &mut Vec::new(), &mut out);
    out
}

/// The MIME scanner ([`parse()`]) with everything FETCH and SEARCH build on
/// it.
///
/// Checks: no panic; offsets are ordered, nested and within the message;
/// the part count respects `MAX_PARTS`; `BODY[]` is [`to_crlf`] of the
/// message and as long as [`crlf_len`] says (RFC822.SIZE); ENVELOPE,
/// BODYSTRUCTURE, header lookups and SEARCH text matching complete.
pub fn message(data: &[u8]) {
    let parsed = parse(data);
    assert_eq!(parsed.len, data.len());
    assert_eq!(parsed.root.header_start, 0);
    let parts = check_part(&parsed.root, 0, data.len(), data.len(), 0);
    assert!(
        parts <= courser_mime::parse::MAX_PARTS + 1,
        "too many parts"
    );
    let whole = section_bytes(data, &parsed, &Section::default());
    assert_eq!(whole, to_crlf(data));
    assert_eq!(whole.len() as u64, crlf_len(data));
    let env = envelope(data, &parsed);
    if !env.from.is_empty() {
        // RFC 3501: sender and reply-to default to from.
        assert!(!env.sender.is_empty() && !env.reply_to.is_empty());
    }
    let _ = body_structure(data, &parsed);
    for name in ["subject", "from", "content-type", ""] {
        for value in header_values(data, &parsed, name) {
            assert!(value.len() <= data.len());
        }
        let _ = header_contains(data, &parsed, name, "é");
    }
    let _ = text_contains(data, &parsed, "hello", true);
    let _ = text_contains(data, &parsed, "", false);
}

/// `BODY[section]` extraction for every part of the message.
///
/// Checks: no panic; [`resolve`] finds every path the tree has; each
/// section (whole part, `HEADER`, `TEXT`, `MIME`, `HEADER.FIELDS`,
/// `HEADER.FIELDS.NOT`) is CRLF-normalized (no bare LF) and no longer
/// than `BODY[]`; [`partial`] returns a sub-slice of the requested range.
pub fn section(data: &[u8]) {
    let parsed = parse(data);
    let total = crlf_len(data) as usize;
    let texts = [
        None,
        Some(SectionText::Header),
        Some(SectionText::Text),
        Some(SectionText::Mime),
        Some(SectionText::HeaderFields(vec![
            b"Subject".to_vec(),
            b"content-type".to_vec(),
        ])),
        Some(SectionText::HeaderFieldsNot(vec![b"received".to_vec()])),
    ];
    for path in paths(&parsed) {
        assert!(resolve(&parsed, &path).is_some(), "path {path:?} not found");
        for text in &texts {
            let section = Section {
                part: path.clone(),
                text: text.clone(),
            };
            let Some(bytes) = try_section_bytes(data, &parsed, &section) else {
                continue;
            };
            // HEADER.FIELDS adds a line end to a last field without one
            // and a blank line: at most four octets over the message.
            assert!(bytes.len() <= total + 4, "section longer than the message");
            for (i, &b) in bytes.iter().enumerate() {
                if b == b'\n' {
                    assert!(i > 0 && bytes[i - 1] == b'\r', "bare LF in a section");
                }
            }
            let origin = (data.len() / 3) as u64;
            let got = partial(&bytes, origin, Some(7));
            assert!(got.len() <= 7);
            assert_eq!(partial(&bytes, 0, None), &bytes[..]);
            assert!(partial(&bytes, u64::MAX, Some(u64::MAX)).is_empty());
        }
    }
    // Paths the tree does not have must resolve to nothing, not panic.
    for path in [&[0][..], &[u32::MAX], &[1, 0], &[2, 2, 2, 2]] {
        let _ = try_section_bytes(
            data,
            &parsed,
            &Section {
                part: path.to_vec(),
                text: Some(SectionText::Mime),
            },
        );
    }
}

/// Header-level parsers: RFC 2047 decoding, address lists, dates,
/// Content-Type parameters (RFC 2045/2231) and the transfer decoders.
///
/// Checks: no panic; an address field is no longer than the input plus
/// the two octets that close an unterminated quoted string (`"x\` gives
/// `"x\\"`); base64 and quoted-printable never produce more octets than
/// their input allows; every parameter of a Content-Type built from the
/// input decodes.
pub fn header(data: &[u8]) {
    let _ = decode_header_text(data);
    for a in parse_address_list(data) {
        for f in [&a.name, &a.adl, &a.mailbox, &a.host].into_iter().flatten() {
            assert!(
                f.len() <= data.len() + 2,
                "an address field longer than the input allows"
            );
        }
    }
    let _ = parse_date(data);
    assert!(decode::decode_base64(data).len() <= data.len() / 4 * 3 + 3);
    assert!(decode::decode_qp(data, true).len() <= data.len());
    assert!(decode::decode_qp(data, false).len() <= data.len());
    for enc in [&b"base64"[..], b"quoted-printable", b"8bit", b"x-unknown"] {
        let _ = decode::decode_transfer(enc, data);
    }
    for cs in [&b"utf-8"[..], b"iso-8859-1", b"iso-2022-jp", b"x-bogus"] {
        let _ = decode::charset_to_utf8(cs, data);
    }
    let mut msg = b"Content-Type: text/plain; ".to_vec();
    msg.extend_from_slice(data);
    msg.extend_from_slice(b"\n\nbody\n");
    let parsed = parse(&msg);
    let names: Vec<String> = parsed
        .root
        .params
        .iter()
        .map(|(n, _)| String::from_utf8_lossy(n).trim_end_matches('*').to_owned())
        .collect();
    for name in names {
        let _ = param_value(&parsed.root.params, &name);
    }
}
