//! Corrupt, truncated and hostile input: clear errors or a rebuild, never a
//! panic, never a lost message.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use courser_maildir::{
    keywords::KeywordList, quota, tools, uiddb::UidDb, Error, Flags, Store, StoreOptions,
};
use proptest::prelude::*;

fn setup(n: usize) -> (tempfile::TempDir, Store) {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("Maildir");
    tools::make_maildir(&root, 0o700).unwrap();
    for i in 0..n {
        fs::write(
            root.join("new").join(format!("{}.M{i}P1.h", 1_000_000 + i)),
            format!("m{i}\n"),
        )
        .unwrap();
    }
    let s = Store::open(&root, StoreOptions::default()).unwrap();
    (t, s)
}

fn count(s: &Store) -> usize {
    s.open_folder("INBOX", true).unwrap().messages().len()
}

#[test]
fn corrupt_uiddb_rebuilds() {
    let (_t, s) = setup(5);
    let f = s.open_folder("INBOX", true).unwrap();
    let v = f.uidvalidity();
    let db = s.root().join("courierimapuiddb");
    let good = fs::read(&db).unwrap();
    for bad in [
        &b""[..],
        b"garbage",
        b"1 notanumber 7\n",
        b"2 123 4\n1 x\n",
        b"\0\0\0\xff\xfe",
        &good[..good.len() / 2],
        b"1 5 1\n1 1000000.M0P1.h\n1 1000001.M1P1.h\n99999999999 x\n",
    ] {
        fs::write(&db, bad).unwrap();
        let f = s.open_folder("INBOX", true).unwrap();
        assert_eq!(f.messages().len(), 5, "lost messages with db {bad:?}");
        let mut uids: Vec<u32> = f.messages().iter().map(|m| m.uid).collect();
        uids.dedup();
        assert_eq!(uids.len(), 5, "duplicate uids with {bad:?}");
        let _ = v;
    }
    // truncated in the middle keeps the header: known UIDs stay
    fs::write(&db, &good).unwrap();
    let before: Vec<u32> = s
        .open_folder("INBOX", true)
        .unwrap()
        .messages()
        .iter()
        .map(|m| m.uid)
        .collect();
    let text = String::from_utf8(good.clone()).unwrap();
    let cut = text.len() - 5;
    fs::write(&db, &text[..cut]).unwrap();
    let f = s.open_folder("INBOX", true).unwrap();
    assert_eq!(f.uidvalidity(), v);
    assert_eq!(
        &f.messages().iter().map(|m| m.uid).collect::<Vec<_>>()[..4],
        &before[..4]
    );
    assert!(
        f.messages()[4].uid > before[4],
        "a lost entry gets a new UID, never an old one"
    );
}

#[test]
fn corrupt_maildirsize_recalculates() {
    let (_t, s) = setup(3);
    count(&s);
    let ms = s.root().join("maildirsize");
    for bad in [
        &b"100S\nxx yy\n"[..],
        b"100S\n-500 -9\n",
        b"\xff\xfe\n1 2 3\n",
        b"100S",
    ] {
        fs::write(&ms, bad).unwrap();
        let q = s.quota().unwrap().unwrap();
        assert!(q.bytes >= 0 && q.count >= 0);
    }
    // huge file forces recalculation
    let mut big = b"1000S\n".to_vec();
    for _ in 0..400 {
        big.extend_from_slice(b"           1            1\n");
    }
    fs::write(&ms, &big).unwrap();
    let q = s.quota().unwrap().unwrap();
    assert_eq!((q.bytes, q.count), (9, 3));
    s.append("INBOX", b"x\n", Flags::EMPTY, &[], None).unwrap();
    fs::write(&ms, b"5S\n").unwrap();
    assert!(matches!(
        s.append("INBOX", b"123456\n", Flags::EMPTY, &[], None),
        Err(Error::OverQuota)
    ));
    assert_eq!(count(&s), 4);
}

#[test]
fn corrupt_keywords() {
    let (_t, s) = setup(2);
    let f = s.open_folder("INBOX", true).unwrap();
    let base = f.messages()[0].base_name().to_string();
    let kw = s.root().join("courierimapkeywords");
    fs::create_dir_all(&kw).unwrap();
    for bad in [
        format!("a\nb\n\n{base}:0 1 99 x\nnocolon\nunknown:0\n"),
        "\n\n\n".to_string(),
        format!("\u{1}\n\n{base}:"),
        "only-keywords-no-end".to_string(),
    ] {
        fs::write(kw.join(":list"), bad.as_bytes()).unwrap();
        fs::write(kw.join(".x.garbage"), b"zz").unwrap();
        fs::write(kw.join(".tmp.1.junk"), b"zz").unwrap();
        let f = s.open_folder("INBOX", true).unwrap();
        assert_eq!(f.messages().len(), 2);
    }
    fs::write(kw.join(":list"), format!("a\nb\n\n{base}:0 1 99 x\n")).unwrap();
    let f = s.open_folder("INBOX", true).unwrap();
    assert_eq!(
        f.messages()[0].keywords,
        vec!["a".to_string(), "b".to_string()]
    );
    // an update file for the message wins over :list
    fs::write(kw.join(&base), "c\n").unwrap();
    let f = s.open_folder("INBOX", true).unwrap();
    assert_eq!(f.messages()[0].keywords, vec!["c".to_string()]);
    assert!(!kw.join(&base).exists(), "fresh update absorbed and aged");
    assert!(matches!(
        s.append("INBOX", b"x\n", Flags::EMPTY, &["bad\nkw".into()], None),
        Err(Error::InvalidKeyword(_))
    ));
}

#[test]
fn hostile_names() {
    let (_t, s) = setup(0);
    for bad in [
        "INBOX.",
        "INBOX..",
        "INBOX.a..b",
        "INBOX./etc",
        "INBOX.a/b",
        "INBOX.x\0y",
        "INBOX.\n",
        "../x",
        "Other",
        "",
        "INBOX.a.",
        "..",
    ] {
        let e = s.create_folder(bad).unwrap_err();
        assert!(matches!(e, Error::InvalidName { .. }), "{bad:?}: {e}");
        assert!(s.folder_dir(bad).is_err());
        assert!(s.open_folder(bad, true).is_err());
        assert!(s.status(bad).is_err());
        assert!(s.append(bad, b"x", Flags::EMPTY, &[], None).is_err());
    }
    assert!(matches!(
        s.open_folder("INBOX.missing", true),
        Err(Error::NonExistent(_))
    ));
    // odd-but-valid names are kept on disk as they are, as Courier's IMAP
    // server keeps them, and come back unchanged
    s.create_folder("INBOX.a:b~c\\d").unwrap();
    assert!(s.root().join(".a:b~c\\d").is_dir());
    assert!(s
        .list_folders()
        .unwrap()
        .iter()
        .any(|e| e.name == "INBOX.a:b~c\\d"));
    // junk directories in the maildir are ignored
    fs::create_dir(s.root().join("..hidden")).unwrap();
    fs::create_dir(s.root().join(".a..b")).unwrap();
    let names: Vec<String> = s
        .list_folders()
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.contains("hidden") && !n.contains("..")),
        "{names:?}"
    );
}

#[test]
fn unreadable_files() {
    if rustix::process::geteuid().is_root() {
        // root reads everything; check the unreadable-uiddb path via a directory instead
        let (_t, s) = setup(2);
        let db = s.root().join("courierimapuiddb");
        fs::create_dir(&db).unwrap();
        let e = s.open_folder("INBOX", true).unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e}");
        fs::remove_dir(&db).unwrap();
        assert_eq!(count(&s), 2);
        return;
    }
    let (_t, s) = setup(2);
    count(&s);
    let db = s.root().join("courierimapuiddb");
    fs::set_permissions(&db, fs::Permissions::from_mode(0o000)).unwrap();
    assert!(matches!(
        s.open_folder("INBOX", true),
        Err(Error::Io { .. })
    ));
    fs::set_permissions(&db, fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(count(&s), 2);
}

#[test]
fn not_a_maildir() {
    let t = tempfile::tempdir().unwrap();
    assert!(matches!(
        Store::open(t.path(), StoreOptions::default()),
        Err(Error::NotAMaildir(_))
    ));
    let _ = Path::new("/");
}

proptest! {
    #[test]
    fn uiddb_parser_never_panics(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Some(db) = UidDb::parse(&data) {
            let uids: std::collections::HashSet<u32> = db.entries.iter().map(|e| e.0).collect();
            prop_assert_eq!(uids.len(), db.entries.len());
            prop_assert!(db.entries.iter().all(|e| e.0 < db.nextuid));
            let again = UidDb::parse(&db.serialize()).unwrap();
            prop_assert_eq!(again.entries.len(), db.entries.len());
        }
    }

    #[test]
    fn uiddb_text_roundtrip(v in 1u32..u32::MAX, names in proptest::collection::vec("[0-9A-Za-z.,=_]{1,30}", 0..20)) {
        let entries: Vec<(u32, String)> = names.iter().enumerate().map(|(i, n)| (i as u32 + 1, n.clone())).collect();
        let mut uniq = std::collections::HashSet::new();
        let entries: Vec<(u32, String)> = entries.into_iter().filter(|e| uniq.insert(e.1.clone())).collect();
        let db = UidDb { uidvalidity: v, nextuid: 100, entries };
        prop_assert_eq!(UidDb::parse(&db.serialize()).unwrap(), db);
    }

    #[test]
    fn keyword_and_quota_parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let kl = KeywordList::parse(&data);
        let _ = kl.to_map();
        let _ = quota::parse_maildirsize(&data);
        let _ = quota::QuotaLimits::parse(&String::from_utf8_lossy(&data));
    }

    #[test]
    fn folder_names_never_escape(name in "\\PC{0,40}") {
        if let Ok(d) = courser_maildir::names::dir_name(&name) {
            prop_assert!(!d.contains('/'));
            prop_assert!(!d.contains('\0'));
            prop_assert!(d.is_empty() || (d.starts_with('.') && !d.starts_with("..")));
            prop_assert!(!d.ends_with('.'));
        }
        let _ = courser_maildir::names::name_from_dir(&name);
        let _ = courser_maildir::flags::merge_info(&name, Flags::SEEN);
        let _ = courser_maildir::filename::size_tag(&name);
    }
}
