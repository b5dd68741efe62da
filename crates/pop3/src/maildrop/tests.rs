//! The maildrop over real maildirs in temporary directories.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::*;

fn maildir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir(d.path().join(sub)).unwrap();
    }
    d
}

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn put(dir: &Path, sub: &str, name: &str, data: &[u8]) {
    fs::write(dir.join(sub).join(name), data).unwrap();
}

fn uidls(d: &MaildirDrop) -> Vec<String> {
    d.messages().iter().map(|m| m.uidl.clone()).collect()
}

#[test]
fn crlf_sizes_count_each_lf_twice_and_a_missing_final_crlf() {
    assert_eq!(crlf_size(&b"a\nb\n"[..]).unwrap(), (6, false));
    assert_eq!(crlf_size(&b"a\nb"[..]).unwrap(), (6, false));
    assert_eq!(crlf_size(&b""[..]).unwrap(), (0, false));
    assert!(crlf_size(&b"S: \xc3\xa9\n\nbody \xff\n"[..]).unwrap().1);
    assert!(!crlf_size(&b"S: x\n\nbody \xff\n"[..]).unwrap().1);
}

#[test]
fn first_login_moves_new_sorts_and_writes_the_list() {
    let d = maildir();
    put(d.path(), "new", "200.b.host", b"B\n");
    put(d.path(), "new", "100.a.host:1,weird", b"A\n");
    put(d.path(), "cur", "150.c.host:2,S", b"C\nx");
    put(d.path(), "cur", ".hidden", b"");
    let drop = MaildirDrop::open(d.path(), "host", at(1000), None).unwrap();
    assert_eq!(uidls(&drop), ["UID1-1000", "UID2-1000", "UID3-1000"]);
    let sizes: Vec<u64> = drop.messages().iter().map(|m| m.size).collect();
    assert_eq!(sizes, [3, 6, 3]);
    assert!(d.path().join("cur/100.a.host:2,").exists());
    assert!(d.path().join("cur/200.b.host:2,").exists());
    let list = fs::read_to_string(d.path().join(SIZELIST_FILE)).unwrap();
    assert_eq!(
        list,
        "/3 4 1000\n100.a.host:2, 3 1:1000:0\n150.c.host:2,S 6 2:1000:0\n200.b.host:2, 3 3:1000:0\n"
    );
    // Nothing changed: the list is not rewritten, UIDLs stay.
    let before = fs::metadata(d.path().join(SIZELIST_FILE))
        .unwrap()
        .modified()
        .unwrap();
    let again = MaildirDrop::open(d.path(), "host", at(2000), None).unwrap();
    assert_eq!(uidls(&again), uidls(&drop));
    let after = fs::metadata(d.path().join(SIZELIST_FILE))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);
}

#[test]
fn later_logins_keep_uids_across_flag_changes_and_number_new_mail() {
    let d = maildir();
    put(d.path(), "cur", "10.a:2,", b"A\n");
    put(d.path(), "cur", "20.b:2,", b"B\n");
    MaildirDrop::open(d.path(), "host", at(500), None).unwrap();
    fs::rename(d.path().join("cur/10.a:2,"), d.path().join("cur/10.a:2,FS")).unwrap();
    fs::remove_file(d.path().join("cur/20.b:2,")).unwrap();
    put(d.path(), "new", "5.early", b"E\n");
    put(d.path(), "new", "30.c", b"C\n");
    let drop = MaildirDrop::open(d.path(), "host", at(900), None).unwrap();
    // Order by time; known keep theirs; new ones continue from nextuid.
    assert_eq!(uidls(&drop), ["UID3-500", "UID1-500", "UID4-500"]);
}

#[test]
fn version_2_lists_and_legacy_entries_are_honoured() {
    let d = maildir();
    put(d.path(), "cur", "10.a:2,S", b"A\n");
    put(d.path(), "cur", "11.b:2,", b"B\n");
    put(d.path(), "cur", "12.c", b"C\n");
    fs::write(
        d.path().join(SIZELIST_FILE),
        "/2 50 77\n10.a:2, 99 0:0\n11.b:2, 98 42:0\n",
    )
    .unwrap();
    let drop = MaildirDrop::open(d.path(), "host", at(1), None).unwrap();
    assert_eq!(uidls(&drop), ["10.a", "UID42", "UID50-77"]);
    // Stored sizes are trusted, as Courier does, until RETR measures.
    assert_eq!(drop.messages()[0].size, 99);
    let list = fs::read_to_string(d.path().join(SIZELIST_FILE)).unwrap();
    assert_eq!(
        list,
        "/3 51 77\n10.a:2,S 99 0:0:0\n11.b:2, 98 42:0:0\n12.c 3 50:77:0\n"
    );
}

#[test]
fn retr_measures_marks_seen_and_follows_renames() {
    let d = maildir();
    put(d.path(), "cur", "10.a:2,", b"Hello\n");
    fs::write(d.path().join(SIZELIST_FILE), "/3 2 7\n10.a:2, 99 1:7:0\n").unwrap();
    let mut drop = MaildirDrop::open(d.path(), "host", at(1), None).unwrap();
    // Another client changes the flags meanwhile.
    fs::rename(d.path().join("cur/10.a:2,"), d.path().join("cur/10.a:2,F")).unwrap();
    let mut r = drop.open(0).unwrap();
    let mut text = String::new();
    r.read_to_string(&mut text).unwrap();
    assert_eq!(text, "Hello\n");
    assert_eq!(drop.messages()[0].size, 7);
    drop.retrieved(0);
    assert!(d.path().join("cur/10.a:2,FS").exists());
}

#[test]
fn delete_unlinks_and_updates_the_quota_for_counted_messages() {
    let d = maildir();
    put(d.path(), "cur", "10.a,S=5:2,", b"1234\n");
    put(d.path(), "cur", "11.b:2,T", b"12\n");
    put(d.path(), "cur", "12.c:2,", b"123\n");
    fs::write(
        d.path().join("maildirsize"),
        "1000S\n           12            3\n",
    )
    .unwrap();
    let mut drop = MaildirDrop::open(d.path(), "host", at(1), None).unwrap();
    // Someone else deleted the third meanwhile: not an error.
    fs::remove_file(d.path().join("cur/12.c:2,")).unwrap();
    assert_eq!(drop.delete(&[0, 1, 2]).unwrap(), 0);
    assert_eq!(fs::read_dir(d.path().join("cur")).unwrap().count(), 0);
    let size = fs::read_to_string(d.path().join("maildirsize")).unwrap();
    assert!(size.ends_with("          -5           -1\n"), "{size:?}");
}

#[test]
fn gone_messages_are_reported() {
    let d = maildir();
    put(d.path(), "cur", "10.a:2,", b"x\n");
    let mut drop = MaildirDrop::open(d.path(), "host", at(1), None).unwrap();
    fs::remove_file(d.path().join("cur/10.a:2,")).unwrap();
    assert!(matches!(drop.open(0), Err(MaildropError::Gone)));
}

#[test]
fn enomem_fallback_shows_known_or_only_the_first() {
    let d = maildir();
    put(d.path(), "cur", "10.a", b"x\n");
    let e = |name: &str, uid| sizelist::Entry {
        name: name.as_bytes().to_vec(),
        size: 3,
        uid,
        uidv: 9,
        utf8: false,
    };
    let cur = d.path().join("cur");
    let kept = enomem_fallback(&cur, vec![e("10.a", 1), e("11.b", 2)], &[false, true]);
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].info.uidl, "UID1-9");
    let only = enomem_fallback(&cur, vec![e("10.a", 1), e("11.b", 2)], &[true, true]);
    assert_eq!(only.len(), 1);
    assert!(
        only[0].info.uidl.starts_with("ENOMEM-"),
        "{}",
        only[0].info.uidl
    );
    assert_eq!(only[0].info.uidl.len(), "ENOMEM-".len() + 3 * 16 + 2);
}

/// Sets `cur/`'s mtime a minute back, as if the last change were old.
fn settle(dir: &Path) {
    let cur = fs::File::open(dir.join("cur")).unwrap();
    cur.set_modified(SystemTime::now() - Duration::from_secs(60))
        .unwrap();
}

#[test]
fn a_kept_listing_serves_later_logins_until_the_maildrop_changes() {
    let d = maildir();
    for i in 0..3 {
        put(d.path(), "cur", &format!("10{i}.m.host:2,"), b"x\n");
    }
    settle(d.path());
    let cache = ListingCache::new(1, 100);
    let first = MaildirDrop::open(d.path(), "host", at(1000), Some(&cache)).unwrap();
    let kept = cache.get(d.path()).expect("a settled listing is kept");
    let second = MaildirDrop::open(d.path(), "host", at(2000), Some(&cache)).unwrap();
    assert!(
        Arc::ptr_eq(&second.infos, &kept.infos),
        "the kept listing is used"
    );
    assert_eq!(uidls(&second), uidls(&first));

    // A delivery: new/ is moved to cur/, which moves cur/'s mtime.
    put(d.path(), "new", "200.n.host", b"new\n");
    let third = MaildirDrop::open(d.path(), "host", at(3000), Some(&cache)).unwrap();
    assert_eq!(
        uidls(&third),
        ["UID1-1000", "UID2-1000", "UID3-1000", "UID4-1000"]
    );

    // Another program renames a file (IMAP sets a flag): cur/'s mtime
    // moves, so the maildrop is listed again.
    settle(d.path());
    let fourth = MaildirDrop::open(d.path(), "host", at(4000), Some(&cache)).unwrap();
    assert!(cache.get(d.path()).is_some());
    fs::rename(
        d.path().join("cur/100.m.host:2,"),
        d.path().join("cur/100.m.host:2,T"),
    )
    .unwrap();
    let mut fifth = MaildirDrop::open(d.path(), "host", at(5000), Some(&cache)).unwrap();
    assert!(!Arc::ptr_eq(&fifth.names, &fourth.names), "listed again");
    assert_eq!(fifth.names[0], b"100.m.host:2,T");

    // The size list replaced by another writer (Courier's pop3d) is read
    // again even where cur/ did not change.
    settle(d.path());
    let sixth = MaildirDrop::open(d.path(), "host", at(6000), Some(&cache)).unwrap();
    let list = d.path().join(SIZELIST_FILE);
    let text = fs::read_to_string(&list)
        .unwrap()
        .replace("1:1000", "9:1000");
    fs::write(d.path().join("tmp/x"), text).unwrap();
    fs::rename(d.path().join("tmp/x"), &list).unwrap();
    let seventh = MaildirDrop::open(d.path(), "host", at(7000), Some(&cache)).unwrap();
    assert_eq!(uidls(&sixth)[0], "UID1-1000");
    assert_eq!(uidls(&seventh)[0], "UID9-1000");

    // A session's own RETR renames its copy only.
    fifth.retrieved(1);
    assert_eq!(cache.get(d.path()).unwrap().names[1], b"101.m.host:2,");
}

#[test]
fn a_fresh_change_is_not_trusted() {
    let d = maildir();
    put(d.path(), "cur", "100.m.host:2,", b"x\n");
    let cache = ListingCache::new(1, 100);
    MaildirDrop::open(d.path(), "host", at(1000), Some(&cache)).unwrap();
    assert!(
        cache.get(d.path()).is_none(),
        "cur/ changed within the window: a later change could keep its mtime"
    );
}

#[test]
fn small_maildrops_are_not_kept() {
    let d = maildir();
    put(d.path(), "cur", "100.m.host:2,", b"x\n");
    settle(d.path());
    let cache = ListingCache::new(2, 100);
    MaildirDrop::open(d.path(), "host", at(1000), Some(&cache)).unwrap();
    assert!(cache.get(d.path()).is_none());
}
