//! The MIME structure scanner: one pass per nesting level over the raw
//! message, recording byte offsets so sections can be cut out later.

use crate::header::{self, Field};
use crate::lines::{lines, strip_one_newline};
use crate::params::{merge_2231, parse_content_header};

/// Deepest nesting (multipart or message/rfc822) that is parsed; deeper
/// entities are treated as opaque `application/octet-stream`.
pub const MAX_DEPTH: usize = 50;
/// Most MIME entities parsed in one message; later parts stay opaque.
pub const MAX_PARTS: usize = 10_000;

/// A parsed message: the root entity and the length of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedMessage {
    /// The top-level entity (the whole message).
    pub root: Part,
    /// Length of the message file in bytes.
    pub len: usize,
}

/// One MIME entity: byte offsets into the message file plus its parsed
/// content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Offset of the first header byte.
    pub header_start: usize,
    /// Offset where the header block ends (start of the blank separator
    /// line, or `body_start` when there is none).
    pub header_end: usize,
    /// Offset of the first body byte (after the blank line).
    pub body_start: usize,
    /// Offset just past the body. Inside a multipart the line ending
    /// before the next boundary belongs to the boundary, not to the body.
    pub body_end: usize,
    /// Media type, lowercase (`text`), after defaults were applied.
    pub media_type: Vec<u8>,
    /// Media subtype, lowercase (`plain`).
    pub media_subtype: Vec<u8>,
    /// Content-Type parameters: names lowercase, RFC 2231 continuations
    /// joined, values as written (unquoted).
    pub params: Vec<(Vec<u8>, Vec<u8>)>,
    /// Content-Transfer-Encoding, lowercase; empty when absent.
    pub encoding: Vec<u8>,
    /// Whether the Content-Type header was absent or invalid and the
    /// default (`text/plain; charset=us-ascii`, or `message/rfc822` in a
    /// digest) was used.
    pub defaulted: bool,
    /// Kind-specific children.
    pub kind: PartKind,
}

/// The children of a [`Part`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartKind {
    /// A leaf: text, image, application, or an entity too deep to parse.
    Leaf,
    /// `message/rfc822`: the encapsulated message spans this part's body.
    Message(Box<Part>),
    /// `multipart/*`: the parts (never empty; a multipart without any
    /// boundary line gets one synthetic empty `text/plain` part).
    Multipart(Vec<Part>),
}

impl Part {
    /// Whether the media type is `type/subtype` (ASCII case-insensitive).
    pub fn is(&self, media_type: &str, subtype: &str) -> bool {
        self.media_type.eq_ignore_ascii_case(media_type.as_bytes())
            && self.media_subtype.eq_ignore_ascii_case(subtype.as_bytes())
    }

    /// The parameter `name` (lowercase) as stored.
    pub fn param(&self, name: &[u8]) -> Option<&[u8]> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// This entity's header fields in order, as `(name, value)`: the
    /// value as written after the colon, folded, without the line ending
    /// that ends it.
    pub fn header_fields<'a>(&self, msg: &'a [u8]) -> Vec<(&'a [u8], &'a [u8])> {
        self.fields(msg)
            .into_iter()
            .map(|f| (f.name(msg), f.raw_value(msg)))
            .collect()
    }

    /// The entity's children: a multipart's parts, or the message a
    /// `message/rfc822` part holds.
    pub fn children(&self) -> &[Part] {
        match &self.kind {
            PartKind::Leaf => &[],
            PartKind::Message(inner) => std::slice::from_ref(inner),
            PartKind::Multipart(parts) => parts,
        }
    }

    /// Header fields of this entity.
    pub(crate) fn fields(&self, msg: &[u8]) -> Vec<Field> {
        header::fields(msg, self.header_start, self.header_end.min(msg.len()))
    }
}

/// Parses a message (LF or CRLF line endings, any bytes) into its MIME
/// tree. Never fails: broken structure degrades to simpler structure.
pub fn parse(msg: &[u8]) -> ParsedMessage {
    let mut budget = MAX_PARTS;
    let root = parse_entity(msg, 0, msg.len(), msg.len(), false, 0, &mut budget);
    ParsedMessage {
        root,
        len: msg.len(),
    }
}

/// Parses one entity spanning `start..raw_end`. `body_end_limit` is where
/// its body ends (raw_end minus the boundary-owned line ending for a part
/// of a multipart). `in_digest` selects the multipart/digest default.
fn parse_entity(
    msg: &[u8],
    start: usize,
    body_end: usize,
    raw_end: usize,
    in_digest: bool,
    depth: usize,
    budget: &mut usize,
) -> Part {
    let (header_end, body_start) = header::header_end(msg, start, body_end);
    let fields = header::fields(msg, start, header_end);
    let mut part = Part {
        header_start: start,
        header_end,
        body_start,
        body_end: body_end.max(body_start),
        media_type: Vec::new(),
        media_subtype: Vec::new(),
        params: Vec::new(),
        encoding: Vec::new(),
        defaulted: false,
        kind: PartKind::Leaf,
    };
    *budget = budget.saturating_sub(1);
    if let Some(cte) = header::first(msg, &fields, b"content-transfer-encoding") {
        let (v, _) = parse_content_header(cte);
        part.encoding = v.to_ascii_lowercase();
    }
    let ct = header::first(msg, &fields, b"content-type").map(parse_content_header);
    let valid = ct.as_ref().and_then(|(main, params)| {
        let slash = main.iter().position(|&b| b == b'/')?;
        let t = header::trim(&main[..slash]);
        let s = header::trim(&main[slash + 1..]);
        let tok = |x: &[u8]| {
            !x.is_empty()
                && x.iter()
                    .all(|&b| b > b' ' && b < 0x7f && !b"()<>@,;:\\\"/[]?=".contains(&b))
        };
        (tok(t) && tok(s)).then(|| (t.to_ascii_lowercase(), s.to_ascii_lowercase(), params))
    });
    match valid {
        Some((t, s, params))
            if !(t == b"multipart" && boundary_of(&merge_2231(params)).is_empty()) =>
        {
            part.media_type = t;
            part.media_subtype = s;
            part.params = merge_2231(params);
        }
        _ => {
            part.defaulted = true;
            if in_digest {
                part.media_type = b"message".to_vec();
                part.media_subtype = b"rfc822".to_vec();
            } else {
                part.media_type = b"text".to_vec();
                part.media_subtype = b"plain".to_vec();
                part.params = vec![(b"charset".to_vec(), b"us-ascii".to_vec())];
            }
        }
    }
    if depth >= MAX_DEPTH || *budget == 0 {
        if part.media_type == b"multipart" || part.media_type == b"message" {
            make_opaque(&mut part);
        }
        return part;
    }
    if part.media_type == b"multipart" {
        let boundary = boundary_of(&part.params);
        let digest = part.media_subtype == b"digest";
        let children = parse_multipart(
            msg,
            part.body_start,
            raw_end.max(part.body_start),
            &boundary,
            digest,
            depth + 1,
            budget,
        );
        part.kind = PartKind::Multipart(children);
    } else if part.is("message", "rfc822")
        && matches!(&part.encoding[..], b"" | b"7bit" | b"8bit" | b"binary")
    {
        let inner = parse_entity(
            msg,
            part.body_start,
            part.body_end,
            part.body_end,
            false,
            depth + 1,
            budget,
        );
        part.kind = PartKind::Message(Box::new(inner));
    }
    part
}

/// The multipart boundary: `boundary`, or an RFC 2231 `boundary*`.
fn boundary_of(params: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    if let Some((_, v)) = params.iter().find(|(n, _)| n == b"boundary") {
        return v.clone();
    }
    crate::params::param_value(params, "boundary")
        .map(String::into_bytes)
        .unwrap_or_default()
}

fn make_opaque(part: &mut Part) {
    part.media_type = b"application".to_vec();
    part.media_subtype = b"octet-stream".to_vec();
    part.params.clear();
}

/// Whether the line `text` is a boundary line for `boundary`; returns
/// `Some(true)` for the closing boundary.
fn boundary_line(text: &[u8], boundary: &[u8]) -> Option<bool> {
    let rest = text.strip_prefix(b"--")?;
    if rest.len() < boundary.len() || !rest[..boundary.len()].eq_ignore_ascii_case(boundary) {
        return None;
    }
    Some(rest[boundary.len()..].starts_with(b"--"))
}

fn parse_multipart(
    msg: &[u8],
    start: usize,
    raw_end: usize,
    boundary: &[u8],
    digest: bool,
    depth: usize,
    budget: &mut usize,
) -> Vec<Part> {
    let mut children = Vec::new();
    let mut open: Option<usize> = None;
    let mut closed = false;
    if !boundary.is_empty() {
        for l in lines(msg, start, raw_end) {
            let Some(last) = boundary_line(&msg[l.start..l.content_end], boundary) else {
                continue;
            };
            if let Some(ps) = open.take() {
                let end = strip_one_newline(msg, ps, l.start);
                children.push(parse_entity(msg, ps, end, l.start, digest, depth, budget));
            }
            if last {
                closed = true;
                break;
            }
            open = Some(l.end);
        }
    }
    if let Some(ps) = open {
        let _ = closed;
        let end = strip_one_newline(msg, ps, raw_end);
        children.push(parse_entity(msg, ps, end, raw_end, digest, depth, budget));
    }
    if children.is_empty() {
        // No boundary line at all: one synthetic empty text/plain part.
        children.push(Part {
            header_start: raw_end,
            header_end: raw_end,
            body_start: raw_end,
            body_end: raw_end,
            media_type: b"text".to_vec(),
            media_subtype: b"plain".to_vec(),
            params: vec![(b"charset".to_vec(), b"us-ascii".to_vec())],
            encoding: Vec::new(),
            defaulted: true,
            kind: PartKind::Leaf,
        });
    }
    children
}

#[cfg(test)]
mod tests {
    use super::*;

    const MP: &[u8] = b"Content-Type: multipart/mixed; boundary=XX\n\
\n\
preamble\n\
--XX\n\
\n\
part one\n\
--XX\n\
Content-Type: text/html\n\
\n\
<p>two</p>\n\
\n\
--XX--\n\
epilogue\n";

    #[test]
    fn simple_message() {
        let m = b"Subject: x\r\n\r\nhello\r\n";
        let p = parse(m);
        assert_eq!(p.root.header_end, 12);
        assert_eq!(p.root.body_start, 14);
        assert_eq!(p.root.body_end, m.len());
        assert!(p.root.is("text", "plain"));
        assert!(p.root.defaulted);
        assert_eq!(p.root.kind, PartKind::Leaf);
    }

    #[test]
    fn multipart_offsets() {
        let p = parse(MP);
        let PartKind::Multipart(ch) = &p.root.kind else {
            panic!("not multipart")
        };
        assert_eq!(ch.len(), 2);
        assert_eq!(&MP[ch[0].body_start..ch[0].body_end], b"part one");
        assert_eq!(
            &MP[ch[1].header_start..ch[1].header_end],
            b"Content-Type: text/html\n"
        );
        assert_eq!(&MP[ch[1].body_start..ch[1].body_end], b"<p>two</p>\n");
        assert!(ch[1].is("text", "html"));
    }

    #[test]
    fn missing_final_boundary_and_no_boundary() {
        let m = b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n";
        let p = parse(m);
        let PartKind::Multipart(ch) = &p.root.kind else {
            panic!()
        };
        assert_eq!(&m[ch[0].body_start..ch[0].body_end], b"x");
        let m = b"Content-Type: multipart/mixed; boundary=b\n\nno parts\n";
        let PartKind::Multipart(ch) = parse(m).root.kind else {
            panic!()
        };
        assert_eq!(ch.len(), 1);
        assert_eq!(ch[0].body_start, ch[0].body_end);
        // multipart without boundary parameter: plain text.
        let m = b"Content-Type: multipart/mixed\n\nbody\n";
        assert!(parse(m).root.is("text", "plain"));
    }

    #[test]
    fn nested_message_and_digest() {
        let m =
            b"Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: in\n\nbody\n--d--\n";
        let PartKind::Multipart(ch) = parse(m).root.kind else {
            panic!()
        };
        assert!(ch[0].is("message", "rfc822"));
        let PartKind::Message(inner) = &ch[0].kind else {
            panic!()
        };
        assert_eq!(&m[inner.header_start..inner.header_end], b"Subject: in\n");
        assert_eq!(&m[inner.body_start..inner.body_end], b"body");
    }

    #[test]
    fn depth_is_bounded() {
        let mut m = Vec::new();
        for i in 0..200 {
            m.extend_from_slice(
                format!("Content-Type: multipart/mixed; boundary=b{i}x\n\n--b{i}x\n").as_bytes(),
            );
        }
        m.extend_from_slice(b"\ndeep\n");
        let p = parse(&m);
        let mut depth = 0;
        let mut cur = &p.root;
        while let PartKind::Multipart(ch) = &cur.kind {
            cur = &ch[0];
            depth += 1;
        }
        assert_eq!(depth, MAX_DEPTH);
        assert!(cur.is("application", "octet-stream"));
    }
}
