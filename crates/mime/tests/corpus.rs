//! The generated corpus: structure and section consistency, and known
//! answers for selected messages.

mod common;

use courser_mime::corpus::messages;
use courser_mime::*;

#[test]
fn corpus_is_large_and_consistent() {
    let msgs = messages();
    assert!(msgs.len() >= 100);
    let mut parts = 0;
    for m in &msgs {
        let r = std::panic::catch_unwind(|| common::check_message(&m.bytes));
        match r {
            Ok(n) => parts += n,
            Err(e) => panic!("{}: {:?}", m.name, e.downcast_ref::<String>()),
        }
    }
    assert!(parts > 300, "{parts}");
}

#[test]
fn corpus_shapes() {
    for m in messages() {
        let p = parse(&m.bytes);
        println!("{} {}", m.name, common::shape(&p.root));
    }
}

fn find(prefix: &str) -> Vec<u8> {
    messages()
        .into_iter()
        .find(|m| m.name.starts_with(prefix))
        .unwrap()
        .bytes
}

#[test]
fn known_rfc2231_attachment() {
    // gen-004: LF, multipart/mixed with an RFC 2231 image attachment.
    let m = find("gen-004-");
    let p = parse(&m);
    let bs = body_structure(&m, &p);
    let BodyKind::Multipart { parts } = &bs.kind else {
        panic!()
    };
    assert_eq!(parts[0].content_type, b"TEXT");
    assert_eq!(
        parts[0].params,
        vec![(b"CHARSET".to_vec(), b"US-ASCII".to_vec())]
    );
    assert_eq!(parts[1].content_type, b"IMAGE");
    assert_eq!(parts[1].encoding, b"BASE64");
    assert_eq!(
        parts[1].params,
        vec![(b"NAME*".to_vec(), b"utf-8''%E2%82%AC.png".to_vec())]
    );
    let (dtype, dparams) = parts[1].disposition.clone().unwrap();
    assert_eq!(dtype, b"ATTACHMENT");
    assert_eq!(dparams[0].0, b"FILENAME*");
    assert_eq!(param_value(&dparams, "filename").unwrap(), "€.png");
    assert_eq!(parts[1].size, 60 + 2 + 36);
}

#[test]
fn known_digest_and_crlf() {
    // gen-007: CRLF file, multipart/digest with defaulted message/rfc822.
    let m = find("gen-007-");
    assert!(m.windows(2).any(|w| w == b"\r\n"));
    let p = parse(&m);
    let bs = body_structure(&m, &p);
    let BodyKind::Multipart { parts } = &bs.kind else {
        panic!()
    };
    assert_eq!(bs.subtype, b"DIGEST");
    assert_eq!(parts.len(), 3);
    let BodyKind::Message {
        envelope,
        body,
        lines,
    } = &parts[1].kind
    else {
        panic!()
    };
    assert_eq!(envelope.subject.as_deref(), Some(&b"digest two"[..]));
    assert_eq!(envelope.from.len(), 1);
    assert_eq!(*lines, 3);
    assert_eq!(body.size, 6);
    assert_eq!(parts[1].size, 21 + 23 + 2 + 6);
    assert_eq!(parts[2].kind, BodyKind::Text { lines: 0 });
    let s = section_bytes(
        &m,
        &p,
        &Section {
            part: vec![2, 1],
            text: None,
        },
    );
    assert_eq!(s, b"second");
}
