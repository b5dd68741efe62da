//! SEARCH helpers: header values, decoded text matching.

use crate::collation::search_fold;
use crate::decode::{charset_to_utf8, decode_header_text, decode_transfer};
use crate::header;
use crate::parse::{ParsedMessage, Part, PartKind};

/// All values of header field `name` (case-insensitive) of the top-level
/// message, in order, unfolded and trimmed (raw, not RFC 2047-decoded).
pub fn header_values(msg: &[u8], parsed: &ParsedMessage, name: &str) -> Vec<Vec<u8>> {
    parsed
        .root
        .fields(msg)
        .iter()
        .filter(|f| f.is(msg, name.as_bytes()))
        .map(|f| header::trim(&header::unfold(f.raw_value(msg))).to_vec())
        .collect()
}

/// Caseless substring test on Unicode text, as SEARCH matches
/// ([`crate::search_fold`]).
pub fn contains_ci(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    search_fold(haystack).contains(&search_fold(needle))
}

/// The RFC 2047-decoded text of every occurrence of header `field_name`
/// of the top-level message, in order: what [`header_contains`] matches
/// against (an index can keep these instead of the message).
pub fn header_texts(msg: &[u8], parsed: &ParsedMessage, field_name: &str) -> Vec<String> {
    header_texts_of(msg, parsed, &[field_name])
        .pop()
        .unwrap_or_default()
}

/// [`header_texts`] of several fields, in one pass over the header.
pub fn header_texts_of(msg: &[u8], parsed: &ParsedMessage, names: &[&str]) -> Vec<Vec<String>> {
    per_field(msg, parsed, names, |raw, out| {
        out.push(decode_header_text(raw))
    })
}

/// For each of `names`, what `each` adds for every occurrence of that
/// field of the top-level header (given its raw value), in one pass.
fn per_field(
    msg: &[u8],
    parsed: &ParsedMessage,
    names: &[&str],
    mut each: impl FnMut(&[u8], &mut Vec<String>),
) -> Vec<Vec<String>> {
    let mut out = vec![Vec::new(); names.len()];
    for f in parsed.root.fields(msg) {
        for (i, name) in names.iter().enumerate() {
            if f.is(msg, name.as_bytes()) {
                each(f.raw_value(msg), &mut out[i]);
            }
        }
    }
    out
}

/// Whether some occurrence of header `field_name` of the top-level
/// message contains `needle` (case-insensitive, after RFC 2047
/// decoding). An empty needle matches any message having the field
/// (RFC 3501 SEARCH HEADER).
pub fn header_contains(msg: &[u8], parsed: &ParsedMessage, field_name: &str, needle: &str) -> bool {
    header_texts(msg, parsed, field_name)
        .iter()
        .any(|t| contains_ci(t, needle))
}

/// Each address of every occurrence of header `field_name`, as
/// `name <mailbox@host>` (just `mailbox@host` without a name) with
/// comments and folding gone and the name RFC 2047-decoded: what
/// [`address_header_contains`] matches besides [`header_texts`].
pub fn address_texts(msg: &[u8], parsed: &ParsedMessage, field_name: &str) -> Vec<String> {
    address_texts_of(msg, parsed, &[field_name])
        .pop()
        .unwrap_or_default()
}

/// [`address_texts`] of several fields, in one pass over the header.
pub fn address_texts_of(msg: &[u8], parsed: &ParsedMessage, names: &[&str]) -> Vec<Vec<String>> {
    per_field(msg, parsed, names, |raw, out| {
        out.extend(
            crate::address::parse_address_list(raw)
                .iter()
                .map(address_text),
        )
    })
}

fn address_text(a: &crate::structure::Address) -> String {
    let mut text = String::new();
    if let Some(name) = &a.name {
        text.push_str(&decode_header_text(name));
        text.push_str(" <");
    }
    if let Some(mailbox) = &a.mailbox {
        text.push_str(&String::from_utf8_lossy(mailbox));
    }
    if let Some(host) = &a.host {
        text.push('@');
        text.push_str(&String::from_utf8_lossy(host));
    }
    if a.name.is_some() {
        text.push('>');
    }
    text
}

/// SEARCH FROM, TO, CC and BCC: like [`header_contains`], and also
/// matched against each address of [`address_texts`], so
/// `<user (c)@ (c) example.org>` is found by `user@example.org` (as
/// Dovecot matches addresses).
pub fn address_header_contains(
    msg: &[u8],
    parsed: &ParsedMessage,
    field_name: &str,
    needle: &str,
) -> bool {
    header_contains(msg, parsed, field_name, needle)
        || address_texts(msg, parsed, field_name)
            .iter()
            .any(|t| contains_ci(t, needle))
}

/// Whether the message text contains `needle` (case-insensitive).
///
/// Searches the decoded body of every `text/*` part (transfer encoding
/// and charset decoded), the headers of encapsulated messages, and with
/// `include_headers` (SEARCH TEXT) the top-level header too (RFC 2047
/// decoded). `include_headers = false` is SEARCH BODY.
pub fn text_contains(
    msg: &[u8],
    parsed: &ParsedMessage,
    needle: &str,
    include_headers: bool,
) -> bool {
    let needle = search_fold(needle);
    if include_headers && contains_ci(&header_text(msg, &parsed.root), &needle) {
        return true;
    }
    part_contains(msg, &parsed.root, &needle)
}

fn header_text(msg: &[u8], part: &Part) -> String {
    let mut s = String::new();
    for f in part.fields(msg) {
        s.push_str(&String::from_utf8_lossy(f.name(msg)));
        s.push_str(": ");
        s.push_str(&decode_header_text(f.raw_value(msg)));
        s.push('\n');
    }
    s
}

/// Decoded text of a leaf part as UTF-8 (transfer encoding and charset).
pub fn decoded_text(msg: &[u8], part: &Part) -> String {
    let body = msg
        .get(part.body_start..part.body_end.min(msg.len()))
        .unwrap_or_default();
    let bytes = decode_transfer(&part.encoding, body);
    charset_to_utf8(part.param(b"charset").unwrap_or_default(), &bytes)
}

fn part_contains(msg: &[u8], part: &Part, needle: &str) -> bool {
    match &part.kind {
        PartKind::Multipart(children) => children.iter().any(|c| part_contains(msg, c, needle)),
        PartKind::Message(inner) => {
            contains_ci(&header_text(msg, inner), needle) || part_contains(msg, inner, needle)
        }
        PartKind::Leaf if part.media_type == b"text" => {
            contains_ci(&decoded_text(msg, part), needle)
        }
        PartKind::Leaf => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    const M: &[u8] = b"Subject: =?utf-8?q?Caf=C3=A9?= menu\nX-Tag: one\nX-Tag:\n two\n\
Content-Type: multipart/mixed; boundary=b\n\n\
--b\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n\
cr=E8me br=FBl=\nee\n\
--b\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n\
PGI+R3LDvMOfZTwvYj4=\n\
--b\nContent-Type: application/octet-stream\n\nsecret\n\
--b\nContent-Type: message/rfc822\n\nSubject: nested thing\n\nnested body\n\
--b--\n";

    #[test]
    fn addresses_match_without_their_comments() {
        let msg = b"From: <user-from (comment)@ (comment) domain.org>\nTo: Real <a@b.c>\n\nbody\n";
        let p = crate::parse(msg);
        assert!(address_header_contains(
            msg,
            &p,
            "From",
            "user-from@domain.org"
        ));
        assert!(!header_contains(msg, &p, "From", "user-from@domain.org"));
        assert!(address_header_contains(msg, &p, "To", "real <a@b"));
        assert!(!address_header_contains(msg, &p, "To", "user-from"));
    }

    #[test]
    fn header_lookup() {
        let p = parse(M);
        assert_eq!(
            header_values(M, &p, "x-tag"),
            vec![b"one".to_vec(), b"two".to_vec()]
        );
        assert!(header_contains(M, &p, "subject", "CAFÉ"));
        assert!(header_contains(M, &p, "Subject", "é men"));
        assert!(header_contains(M, &p, "subject", ""));
        assert!(!header_contains(M, &p, "cc", ""));
        assert!(!header_contains(M, &p, "subject", "tea"));
    }

    #[test]
    fn body_text() {
        let p = parse(M);
        assert!(text_contains(M, &p, "CRÈME BRÛLEE", false));
        assert!(text_contains(M, &p, "grüße", false));
        assert!(text_contains(M, &p, "GRÜSSE", false));
        assert!(!text_contains(M, &p, "secret", false));
        assert!(text_contains(M, &p, "nested thing", false));
        assert!(text_contains(M, &p, "nested body", false));
        assert!(!text_contains(M, &p, "café", false));
        assert!(text_contains(M, &p, "café", true));
        assert!(text_contains(M, &p, "", false));
    }
}
