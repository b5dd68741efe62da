//! Scans shared between the stores of one process (`SnapshotCache`).

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use courser_maildir::{tools, FlagOp, Flags, SnapshotCache, Store, StoreOptions};

fn store(root: &Path, cache: &SnapshotCache) -> Store {
    let opts = StoreOptions {
        hostname: "testhost".into(),
        snapshots: Some(cache.clone()),
        ..StoreOptions::default()
    };
    Store::open(root, opts).unwrap()
}

/// Sets a file's or directory's mtime.
fn set_mtime(path: &Path, t: SystemTime) {
    fs::File::open(path).unwrap().set_modified(t).unwrap();
}

/// A maildir with `n` messages in cur/ and UIDs saved, every timestamp an
/// hour old (so a scan trusts them at once).
fn maildir(dir: &Path, n: usize) -> std::path::PathBuf {
    let root = dir.join("Maildir");
    fs::create_dir_all(dir).unwrap();
    tools::make_maildir(&root, 0o700).unwrap();
    for i in 0..n {
        fs::write(root.join(format!("cur/{}.M{i}P1.h:2,", 1_000 + i)), "x\n").unwrap();
    }
    let plain = Store::open(&root, StoreOptions::default()).unwrap();
    drop(plain.open_folder("INBOX", true).unwrap());
    age(&root);
    root
}

fn age(root: &Path) {
    let old = SystemTime::now() - Duration::from_secs(3600);
    for p in ["cur", "new", "courierimapuiddb", "courierimapkeywords"] {
        set_mtime(&root.join(p), old);
    }
}

#[test]
fn an_unchanged_folder_is_copied_and_a_changed_one_rescanned() {
    let t = tempfile::tempdir().unwrap();
    let root = maildir(t.path(), 30);
    let cache = SnapshotCache::new(10, 1_000);
    let a = store(&root, &cache).open_folder("INBOX", true).unwrap();
    assert_eq!(cache.messages(), 30);

    // A file slipped into cur/ without moving its mtime is invisible to a
    // copy: proof that the second open did not read the directory.
    let cur_mtime = fs::metadata(root.join("cur")).unwrap().modified().unwrap();
    fs::write(root.join("cur/5000.M1P1.h:2,"), "x\n").unwrap();
    set_mtime(&root.join("cur"), cur_mtime);
    let b = store(&root, &cache).open_folder("INBOX", true).unwrap();
    assert_eq!(b.messages(), a.messages());
    assert_eq!(b.uidvalidity(), a.uidvalidity());
    assert_eq!(b.uidnext(), a.uidnext());

    // Once the directory's mtime moves, the next open scans again.
    age(&root);
    set_mtime(
        &root.join("cur"),
        SystemTime::now() - Duration::from_secs(60),
    );
    let c = store(&root, &cache).open_folder("INBOX", true).unwrap();
    assert_eq!(c.messages().len(), 31);
    assert_eq!(cache.messages(), 31);
}

#[test]
fn recent_stays_with_the_session_that_moved_the_mail() {
    let t = tempfile::tempdir().unwrap();
    let root = maildir(t.path(), 12);
    fs::write(root.join("new/9000.M1P1.h"), "new\n").unwrap();
    set_mtime(
        &root.join("new"),
        SystemTime::now() - Duration::from_secs(600),
    );
    let cache = SnapshotCache::new(10, 1_000);
    let a = store(&root, &cache).open_folder("INBOX", true).unwrap();
    assert_eq!(a.recent_count(), 1);
    age(&root);
    let b = store(&root, &cache).open_folder("INBOX", true).unwrap();
    assert_eq!(b.messages().len(), 13);
    assert!(b.recent_count() == 0);
}

#[test]
fn small_folders_are_not_kept_and_the_budget_holds() {
    let t = tempfile::tempdir().unwrap();
    let small = maildir(&t.path().join("small"), 5);
    let big1 = maildir(&t.path().join("big1"), 20);
    let big2 = maildir(&t.path().join("big2"), 25);
    let cache = SnapshotCache::new(10, 40);
    drop(store(&small, &cache).open_folder("INBOX", true).unwrap());
    assert_eq!(cache.messages(), 0);
    drop(store(&big1, &cache).open_folder("INBOX", true).unwrap());
    assert_eq!(cache.messages(), 20);
    // 20 + 25 > 40: the older one goes.
    drop(store(&big2, &cache).open_folder("INBOX", true).unwrap());
    assert_eq!(cache.messages(), 25);
    // A reload that lowers the budget drops what no longer fits.
    cache.set_limits(10, 24);
    assert_eq!(cache.messages(), 0);
}

#[test]
fn a_read_only_open_shares_nothing_but_may_copy() {
    let t = tempfile::tempdir().unwrap();
    let root = maildir(t.path(), 15);
    let cache = SnapshotCache::new(10, 1_000);
    drop(store(&root, &cache).open_folder("INBOX", false).unwrap());
    assert_eq!(cache.messages(), 0);
    let a = store(&root, &cache).open_folder("INBOX", true).unwrap();
    let b = store(&root, &cache).open_folder("INBOX", false).unwrap();
    assert_eq!(a.messages(), b.messages());
}

#[test]
fn a_change_copies_the_shared_scan_first() {
    let t = tempfile::tempdir().unwrap();
    let root = maildir(t.path(), 20);
    let cache = SnapshotCache::new(10, 1_000);
    let a = store(&root, &cache).open_folder("INBOX", true).unwrap();
    let mut b = store(&root, &cache).open_folder("INBOX", true).unwrap();
    assert_eq!(
        b.store(&[1], FlagOp::Add, Flags::FLAGGED, &[]).unwrap(),
        vec![1]
    );
    assert!(b.by_uid(1).unwrap().flags.contains(Flags::FLAGGED));
    // The other session's snapshot is its own until it refreshes.
    assert!(!a.by_uid(1).unwrap().flags.contains(Flags::FLAGGED));
    let mut expunger = store(&root, &cache).open_folder("INBOX", true).unwrap();
    assert!(expunger.by_uid(1).unwrap().flags.contains(Flags::FLAGGED));
    expunger
        .store(&[2], FlagOp::Add, Flags::DELETED, &[])
        .unwrap();
    assert_eq!(expunger.expunge(None).unwrap(), vec![2]);
    assert_eq!(a.messages().len(), 20);
    assert_eq!(b.messages().len(), 20);
}
