//! FETCH's content items (spec §5.10): `CONTENTS=` or `CONTENTS.PEEK=`
//! with `HEADERS`, `RAWHEADERS`, `MIME`, `BODY`, `ALL` or `BODY.DECODED`,
//! an optional `[mime id]` and an optional `(header list)`; and the two
//! multi-line reply forms they are sent in (§3.6): dot-stuffed text and
//! binary chunks.
//!
//! MIME ids are Courier's: the whole message is `""` (or `1`), the parts
//! of a multipart `1.1`, `1.2`…, and the message inside a
//! `message/rfc822` part gets `.0` (`1.2.0`, whose parts are `1.2.0.1`…).
//!
//! Two differences from Courier, both where Courier is off: a part ends
//! where RFC 2046 ends it (Courier's `message/rfc822` parts take the line
//! ending that belongs to the next boundary, spec §10), and every line of
//! a dot-stuffed reply that starts with `.` is stuffed (Courier stuffs
//! only header names).

use courser_imap::session::Transferred;
use courser_mime::{parse, Part};

/// Bytes per chunk of a binary reply (Courier's buffer).
const CHUNK: usize = 8192;

/// What a content item asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    /// The header fields, unfolded.
    Headers,
    /// The header fields as written.
    RawHeaders,
    /// The header fields of every MIME entity, with their ids and sizes.
    Mime,
    /// The body, as stored.
    Body,
    /// Header and body, as stored.
    All,
    /// The body with its transfer encoding undone.
    BodyDecoded,
}

/// One `CONTENTS[.PEEK]=ENTITY[id](headers)` item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// What to send.
    pub entity: Entity,
    /// The MIME id; empty for the whole message.
    pub mime_id: String,
    /// The header names wanted, upper case, comma-separated (`:ENVELOPE`
    /// and `:MIME` stand for groups); empty for all.
    pub headers: String,
    /// `.PEEK`: the message is not marked seen.
    pub peek: bool,
}

impl Request {
    /// Parses an item word (`CONTENTS.PEEK=BODY[1.2]`); `None` for one
    /// that is not a content item, `Some(None)` for one whose entity is
    /// unknown (Courier sends nothing for those).
    pub fn parse(word: &str) -> Option<Option<Request>> {
        let (name, value) = word.split_once('=')?;
        let peek = match name.to_ascii_uppercase().as_str() {
            "CONTENTS" => false,
            "CONTENTS.PEEK" => true,
            _ => return None,
        };
        // Courier cuts the header list at the last `(`, then the id at the
        // last `[`, each closed by the last `)` or `]` after it.
        let (value, headers) = match value.rsplit_once('(') {
            Some((v, h)) => (v, h.rsplit_once(')').map_or(h, |(h, _)| h)),
            None => (value, ""),
        };
        let (entity, mime_id) = match value.rsplit_once('[') {
            Some((e, id)) => (e, id.rsplit_once(']').map_or(id, |(id, _)| id)),
            None => (value, ""),
        };
        let entity = match entity.to_ascii_uppercase().as_str() {
            "HEADERS" => Entity::Headers,
            "RAWHEADERS" => Entity::RawHeaders,
            "MIME" => Entity::Mime,
            "BODY" => Entity::Body,
            "ALL" => Entity::All,
            "BODY.DECODED" => Entity::BodyDecoded,
            _ => return Some(None),
        };
        Some(Some(Request {
            entity,
            mime_id: mime_id.to_owned(),
            headers: headers.to_ascii_uppercase(),
            peek,
        }))
    }
}

/// The MIME id names no entity of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadMimeId;

/// Writes `request`'s reply for message number `n` (1-based), whose
/// bytes are `msg`; the message bytes sent, counted as Courier counts
/// them for its LOGOUT line (header lines as sent, bodies' bytes).
pub fn write(
    out: &mut Vec<u8>,
    n: usize,
    msg: &[u8],
    request: &Request,
) -> Result<Transferred, BadMimeId> {
    let parsed = parse(msg);
    let mut sent = Transferred::default();
    if request.entity == Entity::Mime {
        sent.headers = write_mime(out, n, msg, &parsed.root, None, &request.headers);
        return Ok(sent);
    }
    let part = find(&parsed.root, &request.mime_id).ok_or(BadMimeId)?;
    let end = part.body_end.min(msg.len());
    match request.entity {
        Entity::Headers | Entity::RawHeaders => {
            let raw = request.entity == Entity::RawHeaders;
            let word = if raw { "RAWHEADERS" } else { "HEADERS" };
            // The size is an estimate the client may use or not; Courier
            // gives 0 for the message's own header, and so does Courser.
            let size = if std::ptr::eq(part, &parsed.root) {
                0
            } else {
                part.body_start.saturating_sub(part.header_start)
            };
            out.extend_from_slice(format!("{{.{size}}} FETCH {n} {word}\n").as_bytes());
            sent.headers = write_headers(out, msg, part, &request.headers, raw);
        }
        Entity::Body => sent.body = write_binary(out, n, &msg[part.body_start.min(end)..end], None),
        Entity::All => {
            sent.body = write_binary(out, n, &msg[part.header_start.min(end)..end], None)
        }
        Entity::BodyDecoded => {
            let body = &msg[part.body_start.min(end)..end];
            let decoded = courser_mime::decode::decode_transfer(&part.encoding, body);
            let estimate = if part.encoding.eq_ignore_ascii_case(b"base64") {
                body.len() / 4 * 3
            } else {
                body.len()
            };
            sent.body = write_binary(out, n, &decoded, Some(estimate));
        }
        Entity::Mime => unreachable!("answered above"),
    }
    Ok(sent)
}

/// The entity a MIME id names (Courier's reading of ids: the first
/// number must be 1 and names the message itself).
fn find<'a>(root: &'a Part, id: &str) -> Option<&'a Part> {
    if id.is_empty() {
        return Some(root);
    }
    let mut numbers = id.split('.');
    if numbers.next()? != "1" {
        return None;
    }
    let mut part = root;
    // Inside a message/rfc822 part, the next number is 0: the message.
    let mut in_message = false;
    for number in numbers {
        let k: usize = number
            .parse()
            .ok()
            .filter(|_| number.bytes().all(|b| b.is_ascii_digit()))?;
        part = if in_message {
            (k == 0).then(|| part.children().first())??
        } else {
            part.children().get(k.checked_sub(1)?)?
        };
        in_message = part.is("message", "rfc822") && !part.children().is_empty();
    }
    Some(part)
}

/// MIME: for `part` and every entity below it, in pre-order, `{.N}
/// FETCH n LINES=l SIZE=s "MIME.ID=…" ["MIME.PARENT=…"]` and its header
/// fields. `id` is `part`'s id (`None` for the message itself).
fn write_mime(
    out: &mut Vec<u8>,
    n: usize,
    msg: &[u8],
    part: &Part,
    id: Option<(&str, &str)>,
    headers: &str,
) -> u64 {
    let end = part.body_end.min(msg.len());
    let body = &msg[part.body_start.min(end)..end];
    let lines = body.iter().filter(|&&b| b == b'\n').count();
    let size = part.body_start.saturating_sub(part.header_start);
    out.extend_from_slice(
        format!("{{.{size}}} FETCH {n} LINES={lines} SIZE={} ", body.len()).as_bytes(),
    );
    match id {
        None => out.extend_from_slice(b"\"MIME.ID=\""),
        Some((id, parent)) => {
            crate::words::quote_into(out, format!("MIME.ID={id}").as_bytes());
            out.push(b' ');
            crate::words::quote_into(out, format!("MIME.PARENT={parent}").as_bytes());
        }
    }
    out.push(b'\n');
    let mut sent = write_headers(out, msg, part, headers, false);
    // The message itself numbers as 1 for its children; the message in a
    // message/rfc822 part is its part's 0th.
    let own = id.map_or("1", |(id, _)| id);
    let parent = id.map_or("", |(id, _)| id);
    let base = if part.is("message", "rfc822") { 0 } else { 1 };
    for (i, child) in part.children().iter().enumerate() {
        let child_id = format!("{own}.{}", i + base);
        sent += write_mime(out, n, msg, child, Some((&child_id, parent)), headers);
    }
    sent
}

/// An entity's header fields that `wanted` names, one per line (unfolded
/// unless `raw`), dot-stuffed, then the `.` line; their bytes.
fn write_headers(out: &mut Vec<u8>, msg: &[u8], part: &Part, wanted: &str, raw: bool) -> u64 {
    let mut text = Vec::new();
    for (name, value) in part.header_fields(msg) {
        if name.is_empty() || !wanted_header(wanted, name) {
            continue;
        }
        text.extend_from_slice(name);
        text.extend_from_slice(b": ");
        let value = value.trim_ascii_start();
        if raw {
            text.extend_from_slice(value);
        } else {
            unfold_into(&mut text, value);
        }
        text.push(b'\n');
    }
    for line in text.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b".") {
            out.push(b'.');
        }
        out.extend_from_slice(line);
    }
    out.extend_from_slice(b".\n");
    text.len() as u64
}

/// A folded value on one line: each line break and the white space after
/// it become one space.
fn unfold_into(out: &mut Vec<u8>, value: &[u8]) {
    let mut rest = value;
    while let Some(at) = rest.iter().position(|&b| b == b'\n') {
        let line = &rest[..at];
        out.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
        rest = rest[at + 1..].trim_ascii_start();
        out.push(b' ');
    }
    out.extend_from_slice(rest);
}

/// The envelope's header fields (`:ENVELOPE`).
const ENVELOPE: [&str; 11] = [
    "DATE",
    "SUBJECT",
    "FROM",
    "SENDER",
    "REPLY-TO",
    "TO",
    "CC",
    "BCC",
    "IN-REPLY-TO",
    "MESSAGE-ID",
    "REFERENCES",
];

/// Whether the header list `wanted` (upper case; empty: all) names the
/// field `name`.
fn wanted_header(wanted: &str, name: &[u8]) -> bool {
    if wanted.is_empty() {
        return true;
    }
    let upper = String::from_utf8_lossy(name).to_ascii_uppercase();
    wanted.split(',').any(|item| match item {
        ":ENVELOPE" => ENVELOPE.contains(&upper.as_str()),
        ":MIME" => {
            ENVELOPE.contains(&upper.as_str())
                || upper == "MIME-VERSION"
                || upper.starts_with("CONTENT-")
        }
        _ => !item.is_empty() && item == upper,
    })
}

/// A binary reply: `{X/Y} FETCH n CONTENTS`, the first chunk, then each
/// further chunk's size on a line and its bytes, then an empty line. `Y`
/// is `estimate` or the length. Nothing to send: `{.0} … CONTENTS` and
/// an empty dot-stuffed body. The bytes of `data`.
fn write_binary(out: &mut Vec<u8>, n: usize, data: &[u8], estimate: Option<usize>) -> u64 {
    if data.is_empty() {
        out.extend_from_slice(format!("{{.0}} FETCH {n} CONTENTS\n.\n").as_bytes());
        return 0;
    }
    let total = estimate.unwrap_or(data.len());
    for (i, chunk) in data.chunks(CHUNK).enumerate() {
        if i == 0 {
            out.extend_from_slice(
                format!("{{{}/{total}}} FETCH {n} CONTENTS\n", chunk.len()).as_bytes(),
            );
        } else {
            out.extend_from_slice(format!("{}\n", chunk.len()).as_bytes());
        }
        out.extend_from_slice(chunk);
    }
    out.push(b'\n');
    data.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"From: a@b\nSubject: a\n  folded\n.Odd: x\nMIME-Version: 1.0\n\
Content-Type: multipart/mixed; boundary=\"b\"\n\npre\n--b\nContent-Type: text/plain\n\nhi\n\
--b\nContent-Type: message/rfc822\n\nSubject: in\n\nbody\n--b\n\
Content-Transfer-Encoding: base64\n\naGVsbG8K\n--b--\n";

    fn reply(item: &str) -> String {
        let request = Request::parse(item).unwrap().unwrap();
        let mut out = Vec::new();
        match write(&mut out, 1, MSG, &request) {
            Ok(_) => String::from_utf8(out).unwrap(),
            Err(BadMimeId) => "bad".into(),
        }
    }

    #[test]
    fn items_are_read_as_courier_reads_them() {
        let r = Request::parse("contents.peek=body.decoded[1.2](From,:envelope)")
            .unwrap()
            .unwrap();
        assert_eq!(r.entity, Entity::BodyDecoded);
        assert_eq!(
            (r.mime_id.as_str(), r.headers.as_str(), r.peek),
            ("1.2", "FROM,:ENVELOPE", true)
        );
        assert_eq!(Request::parse("CONTENTS=NOPE"), Some(None));
        assert_eq!(Request::parse("UID"), None);
    }

    #[test]
    fn headers_are_unfolded_and_stuffed() {
        let request = Request::parse("CONTENTS=HEADERS(SUBJECT)")
            .unwrap()
            .unwrap();
        let sent = write(&mut Vec::new(), 1, MSG, &request).unwrap();
        // Courier counts each line as sent: "Subject: a folded\n".
        assert_eq!((sent.headers, sent.body), (18, 0));
        let headers = reply("CONTENTS.PEEK=HEADERS(SUBJECT,.ODD)");
        assert_eq!(
            headers,
            "{.0} FETCH 1 HEADERS\nSubject: a folded\n..Odd: x\n.\n"
        );
        let raw = reply("CONTENTS.PEEK=RAWHEADERS(:ENVELOPE)");
        assert_eq!(
            raw,
            "{.0} FETCH 1 RAWHEADERS\nFrom: a@b\nSubject: a\n  folded\n.\n"
        );
        let inner = reply("CONTENTS.PEEK=HEADERS[1.2.0]");
        assert_eq!(inner, "{.13} FETCH 1 HEADERS\nSubject: in\n.\n");
    }

    #[test]
    fn mime_ids_number_parts_and_the_message_in_a_message_part() {
        let mime = reply("CONTENTS.PEEK=MIME(CONTENT-TYPE)");
        let heads: Vec<&str> = mime.lines().filter(|l| l.starts_with('{')).collect();
        assert_eq!(heads.len(), 5, "{mime}");
        assert!(heads[0].ends_with("\"MIME.ID=\""));
        assert!(heads[1].ends_with("SIZE=2 \"MIME.ID=1.1\" \"MIME.PARENT=\""));
        assert!(heads[2].ends_with("\"MIME.ID=1.2\" \"MIME.PARENT=\""));
        assert!(heads[3].ends_with("LINES=0 SIZE=4 \"MIME.ID=1.2.0\" \"MIME.PARENT=1.2\""));
        assert!(heads[4].ends_with("\"MIME.ID=1.3\" \"MIME.PARENT=\""));
        assert_eq!(
            reply("CONTENTS=BODY[1.2.0]"),
            "{4/4} FETCH 1 CONTENTS\nbody\n"
        );
        assert_eq!(
            reply("CONTENTS=BODY.DECODED[1.3]"),
            "{6/6} FETCH 1 CONTENTS\nhello\n\n"
        );
        assert_eq!(reply("CONTENTS=BODY[1.1]"), "{2/2} FETCH 1 CONTENTS\nhi\n");
        for bad in ["1.9", "2", "1.2.1", "1.1.1", "x"] {
            assert_eq!(reply(&format!("CONTENTS=BODY[{bad}]")), "bad", "{bad}");
        }
    }

    #[test]
    fn big_bodies_go_in_chunks_and_empty_ones_as_an_empty_text() {
        let mut out = Vec::new();
        let data = vec![b'x'; CHUNK + 10];
        assert_eq!(write_binary(&mut out, 3, &data, None), CHUNK as u64 + 10);
        let head = format!("{{{CHUNK}/{}}} FETCH 3 CONTENTS\n", CHUNK + 10);
        assert!(out.starts_with(head.as_bytes()));
        assert!(out.ends_with(b"x10\nxxxxxxxxxx\n"));
        let mut out = Vec::new();
        write_binary(&mut out, 3, b"", None);
        assert_eq!(out, b"{.0} FETCH 3 CONTENTS\n.\n");
    }
}
