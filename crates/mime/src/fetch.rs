//! ENVELOPE and BODYSTRUCTURE (RFC 3501 §7.4.2) from a parsed message.

use crate::address::parse_address_list;
use crate::header::{self, clean_value, Field};
use crate::lines::{count_lf, crlf_len};
use crate::params::{merge_2231, parse_content_header, strip_comments};
use crate::parse::{ParsedMessage, Part, PartKind};
use crate::structure::{Address, BodyKind, BodyStructure, Envelope, Params};

/// The ENVELOPE of the whole message.
pub fn envelope(msg: &[u8], parsed: &ParsedMessage) -> Envelope {
    envelope_of(msg, &parsed.root)
}

/// The ENVELOPE of one entity's header (the root message, or the
/// encapsulated message of a `message/rfc822` part).
///
/// Strings are unfolded and trimmed (empty → `None`), from the first
/// occurrence of the field. Address fields that occur several times are
/// concatenated, as Courier does. `sender` and `reply_to` default to
/// `from` when absent or empty (RFC 3501).
pub fn envelope_of(msg: &[u8], part: &Part) -> Envelope {
    let fields = part.fields(msg);
    let string = |name: &[u8]| header::first(msg, &fields, name).and_then(clean_value);
    let addrs = |name: &[u8]| -> Vec<Address> {
        fields
            .iter()
            .filter(|f| f.is(msg, name))
            .flat_map(|f| parse_address_list(f.raw_value(msg)))
            .collect()
    };
    let from = addrs(b"from");
    let mut sender = addrs(b"sender");
    if sender.is_empty() {
        sender.clone_from(&from);
    }
    let mut reply_to = addrs(b"reply-to");
    if reply_to.is_empty() {
        reply_to.clone_from(&from);
    }
    Envelope {
        date: string(b"date"),
        subject: string(b"subject"),
        from,
        sender,
        reply_to,
        to: addrs(b"to"),
        cc: addrs(b"cc"),
        bcc: addrs(b"bcc"),
        in_reply_to: string(b"in-reply-to"),
        message_id: string(b"message-id"),
    }
}

/// The BODYSTRUCTURE of the whole message (with extension data).
pub fn body_structure(msg: &[u8], parsed: &ParsedMessage) -> BodyStructure {
    body_structure_of(msg, &parsed.root)
}

fn upper(v: &[u8]) -> Vec<u8> {
    v.to_ascii_uppercase()
}

fn upper_params(p: &[(Vec<u8>, Vec<u8>)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    p.iter().map(|(n, v)| (upper(n), v.clone())).collect()
}

fn disposition(msg: &[u8], fields: &[Field]) -> Option<(Vec<u8>, Params)> {
    let raw = header::first(msg, fields, b"content-disposition")?;
    let (main, params) = parse_content_header(raw);
    if main.is_empty() && params.is_empty() {
        return None;
    }
    Some((upper(&main), upper_params(&merge_2231(&params))))
}

fn language(msg: &[u8], fields: &[Field]) -> Vec<Vec<u8>> {
    let Some(raw) = header::first(msg, fields, b"content-language") else {
        return Vec::new();
    };
    strip_comments(raw)
        .split(|&b| b == b',')
        .map(header::trim)
        .filter(|t| !t.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn location(msg: &[u8], fields: &[Field]) -> Option<Vec<u8>> {
    let raw = header::first(msg, fields, b"content-location")?;
    let v = strip_comments(raw);
    let v: Vec<u8> = header::trim(&v)
        .iter()
        .copied()
        .filter(|&b| b != b'"' && !b.is_ascii_whitespace())
        .collect();
    (!v.is_empty()).then_some(v)
}

/// The BODYSTRUCTURE of one entity.
///
/// Type, subtype, parameter names, encoding and disposition type are
/// uppercased; parameter values keep their case. RFC 2231 continuations
/// are joined (`NAME*` keeps the `charset'lang'%XX` form). A missing or
/// invalid Content-Type gives `TEXT/PLAIN ("CHARSET" "us-ascii")`; a missing
/// encoding gives `7BIT`. `size` is the body in CRLF octets; `lines` the
/// number of CRLF-terminated lines in the body.
pub fn body_structure_of(msg: &[u8], part: &Part) -> BodyStructure {
    let fields = part.fields(msg);
    let mut bs = BodyStructure {
        content_type: upper(&part.media_type),
        subtype: upper(&part.media_subtype),
        params: upper_params(&part.params),
        disposition: disposition(msg, &fields),
        language: language(msg, &fields),
        location: location(msg, &fields),
        ..BodyStructure::default()
    };
    if part.defaulted {
        for p in &mut bs.params {
            if p.0 == b"CHARSET" && p.1 == b"us-ascii" {
                p.1 = b"US-ASCII".to_vec();
            }
        }
    }
    if let PartKind::Multipart(children) = &part.kind {
        bs.kind = BodyKind::Multipart {
            parts: children.iter().map(|c| body_structure_of(msg, c)).collect(),
        };
        return bs;
    }
    let body = msg.get(part.body_start..part.body_end).unwrap_or_default();
    let string = |name: &[u8]| header::first(msg, &fields, name).and_then(clean_value);
    bs.id = string(b"content-id");
    bs.description = string(b"content-description");
    bs.md5 = string(b"content-md5");
    bs.encoding = if part.encoding.is_empty() {
        b"7BIT".to_vec()
    } else {
        upper(&part.encoding)
    };
    bs.size = crlf_len(body);
    let lines = count_lf(body);
    bs.kind = match &part.kind {
        PartKind::Message(inner) => BodyKind::Message {
            envelope: Box::new(envelope_of(msg, inner)),
            body: Box::new(body_structure_of(msg, inner)),
            lines,
        },
        _ if part.media_type == b"text" => BodyKind::Text { lines },
        _ => BodyKind::Basic,
    };
    bs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    fn addr(name: Option<&str>, m: &str, h: &str) -> Address {
        Address {
            name: name.map(|s| s.as_bytes().to_vec()),
            adl: None,
            mailbox: Some(m.as_bytes().to_vec()),
            host: Some(h.as_bytes().to_vec()),
        }
    }

    #[test]
    fn rfc3501_style_envelope() {
        let m = b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n\
From: Terry Gray <gray@cac.washington.edu>\r\n\
Subject: IMAP4rev1 WG mtg summary and minutes\r\n\
To: imap@cac.washington.edu\r\n\
cc: minutes@CNRI.Reston.VA.US,\r\n John Klensin <KLENSIN@MIT.EDU>\r\n\
Message-Id: <B27397-0100000@cac.washington.edu>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n\
Hello\r\nworld\r\n";
        let p = parse(m);
        let e = envelope(m, &p);
        assert_eq!(
            e.date.as_deref(),
            Some(&b"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)"[..])
        );
        assert_eq!(
            e.subject.as_deref(),
            Some(&b"IMAP4rev1 WG mtg summary and minutes"[..])
        );
        let gray = addr(Some("Terry Gray"), "gray", "cac.washington.edu");
        assert_eq!(e.from, vec![gray.clone()]);
        assert_eq!(e.sender, vec![gray.clone()]);
        assert_eq!(e.reply_to, vec![gray]);
        assert_eq!(e.to, vec![addr(None, "imap", "cac.washington.edu")]);
        assert_eq!(
            e.cc,
            vec![
                addr(None, "minutes", "CNRI.Reston.VA.US"),
                addr(Some("John Klensin"), "KLENSIN", "MIT.EDU")
            ]
        );
        assert!(e.bcc.is_empty());
        assert_eq!(e.in_reply_to, None);
        assert_eq!(
            e.message_id.as_deref(),
            Some(&b"<B27397-0100000@cac.washington.edu>"[..])
        );
        let b = body_structure(m, &p);
        assert_eq!(b.content_type, b"TEXT");
        assert_eq!(b.subtype, b"PLAIN");
        assert_eq!(b.params, vec![(b"CHARSET".to_vec(), b"US-ASCII".to_vec())]);
        assert_eq!(b.encoding, b"7BIT");
        assert_eq!(b.size, 14);
        assert_eq!(b.kind, BodyKind::Text { lines: 2 });
    }

    #[test]
    fn multipart_and_message_structure() {
        let m = b"From: a@b\nContent-Type: multipart/mixed; boundary=\"==x\"\n\
Content-Language: en, de (German)\n\n\
--==x\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\
Content-ID: <id1@x>\n\ncaf=C3=A9\nline2\n\
--==x\nContent-Type: message/rfc822\nContent-Disposition: attachment; filename*0=\"a\"; filename*1=\"b.eml\"\n\n\
Subject: inner\nFrom: c@d\n\ninner body\n\
--==x\nContent-Type: image/png; name=x.png\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n\
--==x--\n";
        let p = parse(m);
        let b = body_structure(m, &p);
        assert_eq!(b.content_type, b"MULTIPART");
        assert_eq!(b.subtype, b"MIXED");
        assert_eq!(b.params, vec![(b"BOUNDARY".to_vec(), b"==x".to_vec())]);
        assert_eq!(b.language, vec![b"en".to_vec(), b"de".to_vec()]);
        let BodyKind::Multipart { parts } = &b.kind else {
            panic!()
        };
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0].encoding, b"QUOTED-PRINTABLE");
        assert_eq!(parts[0].id.as_deref(), Some(&b"<id1@x>"[..]));
        assert_eq!(parts[0].size, 16);
        assert_eq!(parts[0].kind, BodyKind::Text { lines: 1 });
        assert_eq!(
            parts[1].disposition,
            Some((
                b"ATTACHMENT".to_vec(),
                vec![(b"FILENAME".to_vec(), b"ab.eml".to_vec())]
            ))
        );
        let BodyKind::Message {
            envelope,
            body,
            lines,
        } = &parts[1].kind
        else {
            panic!()
        };
        assert_eq!(envelope.subject.as_deref(), Some(&b"inner"[..]));
        assert_eq!(envelope.from, vec![addr(None, "c", "d")]);
        assert_eq!(body.kind, BodyKind::Text { lines: 0 });
        assert_eq!(body.size, 10);
        assert_eq!(*lines, 3);
        assert_eq!(parts[1].size, 39);
        assert_eq!(parts[2].kind, BodyKind::Basic);
        assert_eq!(parts[2].size, 12);
    }

    #[test]
    fn sender_reply_to_defaults() {
        let m =
            b"From: a@b\nSender:\nReply-To: c@d\nTo: x@y\nTo: z@w\nSubject: one\nSubject: two\n\n";
        let e = envelope(m, &parse(m));
        assert_eq!(e.sender, vec![addr(None, "a", "b")]);
        assert_eq!(e.reply_to, vec![addr(None, "c", "d")]);
        assert_eq!(e.to.len(), 2);
        assert_eq!(e.subject.as_deref(), Some(&b"one"[..]));
        let e = envelope(b"", &parse(b""));
        assert_eq!(e, Envelope::default());
    }
}
