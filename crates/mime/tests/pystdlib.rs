//! The Python standard library's email test messages, read in place.

mod common;

use std::path::PathBuf;

fn data_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("COURSER_PY_EMAIL_DATA") {
        return Some(PathBuf::from(d));
    }
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import test, os; print(os.path.dirname(test.__file__))",
        ])
        .output()
        .ok();
    if let Some(o) = out.filter(|o| o.status.success()) {
        let d = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()).join("test_email/data");
        if d.is_dir() {
            return Some(d);
        }
    }
    for base in ["/root/.pyenv/versions", "/usr/lib"] {
        let Ok(rd) = std::fs::read_dir(base) else {
            continue;
        };
        let mut cands: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        cands.sort();
        for c in cands.iter().rev() {
            for sub in ["lib", "."] {
                let Ok(rd2) = std::fs::read_dir(c.join(sub)) else {
                    continue;
                };
                for e in rd2.flatten() {
                    let d = e.path().join("test/test_email/data");
                    if e.file_name().to_string_lossy().starts_with("python3") && d.is_dir() {
                        return Some(d);
                    }
                }
            }
        }
    }
    None
}

fn messages() -> Vec<(String, Vec<u8>)> {
    let Some(dir) = data_dir() else {
        eprintln!("python email test data not found; skipping");
        return Vec::new();
    };
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with("msg_") && n.ends_with(".txt")
        })
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn python_messages_are_consistent() {
    for (name, bytes) in messages() {
        let r = std::panic::catch_unwind(|| common::check_message(&bytes));
        assert!(r.is_ok(), "{name}");
    }
}

#[test]
fn python_shapes() {
    for (name, bytes) in messages() {
        let p = courser_mime::parse(&bytes);
        println!("{name} {}", common::shape(&p.root));
    }
}

/// Known tree shapes, checked against Python's email package (which
/// agrees except where noted in DIFFERENCES below).
const SHAPES: &[(&str, &str)] = &[
    ("msg_01.txt", "text/plain"),
    ("msg_02.txt", "multipart/mixed(text/plain,text/plain,multipart/digest(message/rfc822(text/plain),message/rfc822(text/plain),message/rfc822(text/plain),message/rfc822(text/plain),message/rfc822(text/plain)),text/plain)"),
    ("msg_05.txt", "multipart/report(text/plain,text/plain,message/rfc822(text/plain))"),
    ("msg_06.txt", "message/rfc822(text/plain)"),
    ("msg_12.txt", "multipart/mixed(text/plain,text/html,multipart/mixed(text/plain,text/plain),text/plain,text/plain)"),
    ("msg_13.txt", "multipart/mixed(text/plain,multipart/mixed(text/plain,image/gif))"),
    ("msg_22.txt", "multipart/mixed(text/plain,image/jpeg,image/jpeg,text/plain)"),
    ("msg_28.txt", "multipart/digest(message/rfc822(text/plain),message/rfc822(text/plain))"),
    ("msg_33.txt", "multipart/signed(text/plain,text/plain)"),
    ("msg_34.txt", "multipart/digest(text/plain,message/rfc822(text/plain))"),
    ("msg_38.txt", "multipart/mixed(multipart/mixed(multipart/alternative(text/plain),text/plain),text/plain,text/plain)"),
    ("msg_45.txt", "multipart/signed(text/plain,application/pgp-signature)"),
    ("msg_46.txt", "message/rfc822(text/plain)"),
    // DIFFERENCES from Python, on purpose:
    // - message/delivery-status is a leaf (Python parses its header blocks).
    ("msg_16.txt", "multipart/report(text/plain,message/delivery-status,message/rfc822(text/plain))"),
    // - a multipart without any boundary line gets one synthetic empty
    //   text/plain part (RFC 3501 needs at least one part; Dovecot does
    //   the same); Python shows no parts.
    ("msg_17.txt", "multipart/mixed(text/plain)"),
    ("msg_42.txt", "multipart/mixed(text/plain,message/rfc822(multipart/mixed(text/plain)))"),
    // - a multipart without a boundary parameter is invalid and read as
    //   text/plain (RFC 2045 §5.2); Python keeps the multipart type.
    ("msg_25.txt", "text/plain"),
    ("msg_41.txt", "text/plain"),
    // - consecutive boundary lines delimit empty parts (as Courier);
    //   Python drops them.
    ("msg_37.txt", "multipart/mixed(text/x-one,text/plain,text/x-two,text/plain,text/plain,text/plain,text/x-two)"),
];

#[test]
fn python_known_shapes() {
    let all = messages();
    if all.is_empty() {
        return;
    }
    for (name, want) in SHAPES {
        let (_, bytes) = all.iter().find(|(n, _)| n == name).expect(name);
        let p = courser_mime::parse(bytes);
        assert_eq!(common::shape(&p.root), *want, "{name}");
    }
}

#[test]
fn python_known_envelopes() {
    use courser_mime::{envelope, parse, Address};
    let all = messages();
    let Some((_, m)) = all.iter().find(|(n, _)| n == "msg_02.txt") else {
        return;
    };
    let e = envelope(m, &parse(m));
    assert_eq!(
        e.subject.as_deref(),
        Some(&b"Ppp digest, Vol 1 #2 - 5 msgs"[..])
    );
    assert_eq!(
        e.date.as_deref(),
        Some(&b"Fri, 20 Apr 2001 20:18:00 -0400 (EDT)"[..])
    );
    let a = |m: &str, h: &str| Address {
        name: None,
        adl: None,
        mailbox: Some(m.as_bytes().to_vec()),
        host: Some(h.as_bytes().to_vec()),
    };
    assert_eq!(e.from, vec![a("ppp-request", "zzz.org")]);
    assert_eq!(e.sender, vec![a("ppp-admin", "zzz.org")]);
    assert_eq!(e.reply_to, e.from);
    assert_eq!(e.to, vec![a("ppp", "zzz.org")]);
    assert_eq!(
        courser_mime::parse_date(e.date.as_deref().unwrap()),
        Some(987_812_280)
    );
}
