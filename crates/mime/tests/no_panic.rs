//! Fuzz-like property tests: no input panics, and section sizes stay
//! consistent on arbitrary and mutated messages.

mod common;

use courser_mime::*;
use proptest::prelude::*;

fn mutate(base: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut v = base.to_vec();
    for &(pos, op, byte) in edits {
        if v.is_empty() {
            v.push(byte);
            continue;
        }
        let i = pos % v.len();
        match op % 4 {
            0 => v[i] = byte,
            1 => {
                v.remove(i);
            }
            2 => v.insert(i, byte),
            _ => {
                let end = (i + usize::from(byte)).min(v.len());
                let chunk = v[i..end].to_vec();
                v.splice(i..i, chunk);
            }
        }
    }
    v
}

fn alphabet() -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop_oneof![
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"--b".to_vec()),
        Just(b"--b--".to_vec()),
        Just(b"Content-Type: multipart/mixed; boundary=b\n".to_vec()),
        Just(b"Content-Type: message/rfc822\n".to_vec()),
        Just(b"Content-Transfer-Encoding: base64\n".to_vec()),
        Just(b"From: a <b@c>, g: x@y;\n".to_vec()),
        Just(b"=?utf-8?q?x=C3?=".to_vec()),
        Just(b" \t".to_vec()),
        Just(b":".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..8),
    ];
    proptest::collection::vec(pieces, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(m in proptest::collection::vec(any::<u8>(), 0..2000)) {
        common::check_message(&m);
        let _ = decode_header_text(&m);
        let _ = parse_date(&m);
        let _ = parse_address_list(&m);
    }

    #[test]
    fn structured_garbage_is_consistent(m in alphabet()) {
        common::check_message(&m);
    }

    #[test]
    fn mutated_corpus_is_consistent(
        idx in 0usize..200,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..12),
    ) {
        let msgs = corpus::messages();
        let base = &msgs[idx % msgs.len()].bytes;
        let m = mutate(base, &edits);
        common::check_message(&m);
        let p = parse(&m);
        for path in [vec![1u32], vec![1, 1], vec![2, 1, 3], vec![u32::MAX]] {
            for text in [None, Some(SectionText::Header), Some(SectionText::Text), Some(SectionText::Mime),
                         Some(SectionText::HeaderFields(vec![b"to".to_vec()]))] {
                let _ = section_bytes(&m, &p, &Section { part: path.clone(), text });
            }
        }
    }
}
