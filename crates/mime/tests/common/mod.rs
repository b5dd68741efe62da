//! Shared checks for the corpus tests.
#![allow(dead_code)]

use courser_mime::*;

/// The tree shape: `type/subtype(children)`; message/rfc822 shows its
/// encapsulated message in parentheses.
pub fn shape(p: &Part) -> String {
    let t = format!(
        "{}/{}",
        String::from_utf8_lossy(&p.media_type),
        String::from_utf8_lossy(&p.media_subtype)
    );
    match &p.kind {
        PartKind::Leaf => t,
        PartKind::Message(inner) => format!("{t}({})", shape(inner)),
        PartKind::Multipart(ch) => {
            let v: Vec<String> = ch.iter().map(shape).collect();
            format!("{t}({})", v.join(","))
        }
    }
}

fn sec(part: &[u32], text: Option<SectionText>) -> Section {
    Section {
        part: part.to_vec(),
        text,
    }
}

fn crlf_lines(b: &[u8]) -> u64 {
    b.windows(2).filter(|w| w == b"\r\n").count() as u64
}

fn walk_message(msg: &[u8], p: &ParsedMessage, bs: &BodyStructure, path: &[u32], n: &mut usize) {
    if let BodyKind::Multipart { parts } = &bs.kind {
        for (i, c) in parts.iter().enumerate() {
            walk_part(msg, p, c, &[path, &[i as u32 + 1]].concat(), n);
        }
    } else {
        walk_part(msg, p, bs, &[path, &[1]].concat(), n);
    }
}

fn walk_part(msg: &[u8], p: &ParsedMessage, bs: &BodyStructure, path: &[u32], n: &mut usize) {
    *n += 1;
    assert!(path.len() < 200);
    if let BodyKind::Multipart { parts } = &bs.kind {
        assert!(!parts.is_empty());
        for (i, c) in parts.iter().enumerate() {
            walk_part(msg, p, c, &[path, &[i as u32 + 1]].concat(), n);
        }
        return;
    }
    let body = try_section_bytes(msg, p, &sec(path, None)).expect("part exists");
    assert_eq!(body.len() as u64, bs.size, "size of part {path:?}");
    let mime = try_section_bytes(msg, p, &sec(path, Some(SectionText::Mime))).unwrap();
    assert!(mime.len() as u64 <= crlf_len(msg));
    match &bs.kind {
        BodyKind::Text { lines } => assert_eq!(*lines, crlf_lines(&body), "lines of {path:?}"),
        BodyKind::Message {
            body: inner, lines, ..
        } => {
            assert_eq!(*lines, crlf_lines(&body));
            let h = try_section_bytes(msg, p, &sec(path, Some(SectionText::Header))).unwrap();
            let t = try_section_bytes(msg, p, &sec(path, Some(SectionText::Text))).unwrap();
            assert_eq!([h, t].concat(), body, "HEADER+TEXT of {path:?}");
            walk_message(msg, p, inner, path, n);
        }
        _ => {}
    }
}

/// Runs every consistency check on one message; returns the number of
/// body parts visited.
pub fn check_message(msg: &[u8]) -> usize {
    let p = parse(msg);
    let env = envelope(msg, &p);
    let bs = body_structure(msg, &p);
    let all = section_bytes(msg, &p, &Section::default());
    assert_eq!(all.len() as u64, crlf_len(msg));
    assert_eq!(all, to_crlf(msg));
    let h = section_bytes(msg, &p, &sec(&[], Some(SectionText::Header)));
    let t = section_bytes(msg, &p, &sec(&[], Some(SectionText::Text)));
    assert_eq!([h.clone(), t].concat(), all);
    let hf = section_bytes(
        msg,
        &p,
        &sec(
            &[],
            Some(SectionText::HeaderFields(vec![
                b"subject".to_vec(),
                b"from".to_vec(),
            ])),
        ),
    );
    let hfn = section_bytes(
        msg,
        &p,
        &sec(
            &[],
            Some(SectionText::HeaderFieldsNot(vec![
                b"subject".to_vec(),
                b"from".to_vec(),
            ])),
        ),
    );
    assert!(hf.ends_with(b"\r\n") && hfn.ends_with(b"\r\n"));
    assert!(hf.len() + hfn.len() <= h.len() + 8);
    if env.sender.is_empty() || env.reply_to.is_empty() {
        assert!(env.from.is_empty());
    }
    let mut n = 0;
    walk_message(msg, &p, &bs, &[], &mut n);
    let _ = header_values(msg, &p, "subject");
    let _ = header_contains(msg, &p, "subject", "x");
    let _ = text_contains(msg, &p, "kumquat", true);
    if let Some(d) = env.date.as_deref() {
        let _ = parse_date(d);
    }
    n
}
