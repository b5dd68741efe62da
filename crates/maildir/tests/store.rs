//! Store API behaviour on a fresh maildir.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use courser_maildir::{tools, Carry, Error, FlagOp, Flags, Store, StoreOptions};

fn opts() -> StoreOptions {
    StoreOptions {
        hostname: "testhost".into(),
        ..StoreOptions::default()
    }
}

fn new_store(dir: &Path) -> Store {
    let root = dir.join("Maildir");
    tools::make_maildir(&root, 0o700).unwrap();
    Store::open(&root, opts()).unwrap()
}

/// Waits until the folder's timestamps are old enough to be trusted and
/// looks again, so that the next refresh may skip the rescan.
fn settle(f: &mut courser_maildir::Folder) {
    std::thread::sleep(Duration::from_millis(100));
    f.refresh().unwrap();
}

fn deliver(root: &Path, name: &str, body: &str) {
    fs::write(root.join("new").join(name), body).unwrap();
}

#[test]
fn open_assigns_uids_and_moves_new() {
    let t = tempfile::tempdir().unwrap();
    let s = new_store(t.path());
    deliver(s.root(), "1000.M1P1.h", "a\n");
    deliver(s.root(), "1001.M1P1.h", "bb\n");
    let f = s.open_folder("INBOX", true).unwrap();
    let uids: Vec<u32> = f.messages().iter().map(|m| m.uid).collect();
    assert_eq!(uids, vec![1, 2]);
    assert!(f.messages().iter().all(|m| f.is_recent(m.uid)));
    assert_eq!(f.stored_size(&f.messages()[1]), 3);
    assert!(s.root().join("cur/1000.M1P1.h:2,").exists());
    let db = fs::read_to_string(s.root().join("courierimapuiddb")).unwrap();
    let lines: Vec<&str> = db.lines().collect();
    assert_eq!(lines[0], format!("1 {} 3", f.uidvalidity()));
    assert_eq!(&lines[1..], &["1 1000.M1P1.h", "2 1001.M1P1.h"]);
    // second open: same UIDs, nothing recent
    let g = s.open_folder("inbox", true).unwrap();
    assert_eq!(g.uidvalidity(), f.uidvalidity());
    assert!(g.messages().iter().all(|m| !g.is_recent(m.uid)));
}

#[test]
fn own_expunge_takes_recent_along() {
    let t = tempfile::tempdir().unwrap();
    let s = new_store(t.path());
    deliver(s.root(), "1000.M1P1.h", "a\n");
    deliver(s.root(), "1001.M1P1.h", "bb\n");
    let mut f = s.open_folder("INBOX", true).unwrap();
    assert_eq!(f.recent_count(), 2);
    f.store(&[1], FlagOp::Add, Flags::DELETED, &[]).unwrap();
    assert_eq!(f.expunge(Some(&[1])).unwrap(), vec![1]);
    assert_eq!(f.recent_count(), 1);
    assert!(f.is_recent(2) && !f.is_recent(1));
}

#[test]
fn examine_is_read_only() {
    let t = tempfile::tempdir().unwrap();
    let s = new_store(t.path());
    deliver(s.root(), "1000.M1P1.h", "a\n");
    let mut f = s.open_folder("INBOX", false).unwrap();
    // EXAMINE sees new mail as SELECT would (moved to cur/ as Courier's
    // imapd does), and \Recent that it does not claim. The folder had no
    // UID list: the UIDVALIDITY and UIDs it shows are saved, so a later
    // SELECT (or another server) shows the same.
    let uids: Vec<u32> = f.messages().iter().map(|m| m.uid).collect();
    assert_eq!(uids, vec![1]);
    assert!(f.is_recent(f.messages()[0].uid));
    assert!(s.root().join("cur/1000.M1P1.h:2,").exists());
    assert!(s.root().join("courierimapuiddb").exists());
    let rw = s.open_folder("INBOX", true).unwrap();
    assert_eq!(rw.uidvalidity(), f.uidvalidity());
    assert_eq!(recent(&rw), vec![1]);
    drop(rw);
    assert!(matches!(
        f.store(&[1], FlagOp::Add, Flags::SEEN, &[]),
        Err(Error::ReadOnly)
    ));
    let st = s.status("INBOX").unwrap();
    assert_eq!(
        (st.messages, st.recent, st.unseen, st.uidnext),
        (1, 0, 1, 2)
    );
}

fn recent(f: &courser_maildir::Folder) -> Vec<u32> {
    f.messages()
        .iter()
        .filter(|m| f.is_recent(m.uid))
        .map(|m| m.uid)
        .collect()
}

/// RFC 3501 §2.3.2: a message is \Recent to exactly one session, the first
/// read-write one to see it, whether an MDA delivered it or Courser placed
/// it (APPEND, COPY); read-only views and STATUS show it without claiming.
#[test]
fn recent_goes_to_the_first_selecting_session_only() {
    let t = tempfile::tempdir().unwrap();
    let s = new_store(t.path());
    s.create_folder("INBOX.Box").unwrap();
    deliver(&s.root().join(".Box"), "1000.M1P1.h", "a\n");
    let a = s
        .append("INBOX.Box", b"b\n", Flags::SEEN, &[], None)
        .unwrap();
    assert_eq!(s.status("INBOX.Box").unwrap().recent, 2);
    let ro = s.open_folder("INBOX.Box", false).unwrap();
    assert_eq!(ro.messages().len(), 2);
    assert_eq!(recent(&ro).len(), 2, "EXAMINE shows both");
    assert_eq!(s.status("INBOX.Box").unwrap().recent, 2, "and claims none");
    let mut first = s.open_folder("INBOX.Box", true).unwrap();
    assert_eq!(recent(&first).len(), 2);
    assert!(recent(&first).contains(&a.uid));
    let second = s.open_folder("INBOX.Box", true).unwrap();
    assert!(recent(&second).is_empty());
    assert_eq!(s.status("INBOX.Box").unwrap().recent, 0);

    // Placed into the folder a session has selected: the session's own
    // COPY within the folder is its claim at once (it takes the copy in,
    // as the IMAP session does); another's APPEND is listed, and the
    // session's next refresh claims it.
    let c = first
        .copy_to(&[a.uid], &s, "INBOX.Box", Carry::ALL, None)
        .unwrap();
    assert!(c.placed.iter().all(|p| p.recent_claimed));
    for placed in &c.placed {
        first.took_in(placed);
    }
    let b = s
        .append("INBOX.Box", b"c\n", Flags::default(), &[], None)
        .unwrap();
    assert!(!b.recent_claimed);
    assert_eq!(s.status("INBOX.Box").unwrap().recent, 1);
    first.refresh().unwrap();
    assert_eq!((c.pairs[0].1, b.uid), (3, 4));
    assert_eq!(recent(&first), vec![1, 2, 3, 4]);
    let mut second = second;
    second.refresh().unwrap();
    assert!(recent(&second).is_empty(), "claimed by the first session");

    // The session's own APPEND into it: its claim at once, listed for
    // nobody.
    let mut m = s
        .begin_append("INBOX.Box", 2, Flags::default(), &[], None)
        .unwrap();
    m.claim_recent();
    m.write(b"e\n").unwrap();
    let e = m.finish(None).unwrap();
    assert!(e.recent_claimed);
    assert!(!s.root().join(".Box/courserimaprecent").exists());
    assert_eq!(s.status("INBOX.Box").unwrap().recent, 0);
    first.took_in(&e);
    first.refresh().unwrap();
    assert_eq!(recent(&first), vec![1, 2, 3, 4, e.uid]);
    second.refresh().unwrap();
    assert!(recent(&second).is_empty());

    // STATUS of a folder without a uiddb makes one (its UIDVALIDITY
    // stays) but numbers nothing and leaves the messages recent for the
    // session to come, which numbers new/ and cur/ together in name
    // order, as Courier does.
    s.create_folder("INBOX.Fresh").unwrap();
    let fresh = s.root().join(".Fresh");
    deliver(&fresh, "1001.M1P1.h", "d\n");
    fs::rename(
        fresh.join("new/1001.M1P1.h"),
        fresh.join("cur/1001.M1P1.h:2,"),
    )
    .unwrap();
    let first = s.status("INBOX.Fresh").unwrap();
    assert_eq!(first.recent, 1);
    deliver(&fresh, "1000.M1P1.h", "e\n");
    let second = s.status("INBOX.Fresh").unwrap();
    assert_eq!((second.recent, second.uidvalidity), (2, first.uidvalidity));
    let opened = s.open_folder("INBOX.Fresh", true).unwrap();
    assert_eq!(recent(&opened), vec![1, 2]);
    let names: Vec<&str> = opened.messages().iter().map(|m| m.base_name()).collect();
    assert_eq!(names, ["1000.M1P1.h", "1001.M1P1.h"]);
    assert_eq!(opened.uidvalidity(), first.uidvalidity);
    assert_eq!(s.status("INBOX.Fresh").unwrap().recent, 0);
}

#[test]
fn append_store_refresh_expunge() {
    let t = tempfile::tempdir().unwrap();
    let s = new_store(t.path());
    s.create_folder("INBOX.Work").unwrap();
    let date = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    let a = s
        .append(
            "INBOX.Work",
            b"Subject: x\n\nbody\n",
            Flags::SEEN,
            &["$Label1".into()],
            Some(date),
        )
        .unwrap();
    assert_eq!(a.uid, 1);
    let b = s
        .append("INBOX.Work", b"two\n", Flags::EMPTY, &[], None)
        .unwrap();
    assert_eq!(b.uid, 2);
    let mut f = s.open_folder("INBOX.Work", true).unwrap();
    assert_eq!(f.uidvalidity(), a.uidvalidity);
    let m = f.by_uid(1).unwrap();
    assert_eq!(m.flags, Flags::SEEN);
    assert_eq!(m.keywords, vec!["$Label1".to_string()]);
    assert_eq!(f.internal_date(m), date);
    assert!(
        m.file_name().contains(",S=17,W=20:2,S"),
        "{}",
        m.file_name()
    );
    assert_eq!(f.rfc822_size(1).unwrap(), 20);

    let ch = f
        .store(
            &[1, 2],
            FlagOp::Add,
            Flags::FLAGGED | Flags::DELETED,
            &["Work".into()],
        )
        .unwrap();
    assert_eq!(ch, vec![1, 2]);
    let ch = f.store(&[1], FlagOp::Add, Flags::FLAGGED, &[]).unwrap();
    assert!(ch.is_empty());
    // another session sees it
    let mut g = s.open_folder("INBOX.Work", true).unwrap();
    assert_eq!(g.by_uid(2).unwrap().keywords, vec!["Work".to_string()]);
    assert_eq!(
        g.by_uid(1).unwrap().keywords,
        vec!["$Label1".to_string(), "Work".to_string()]
    );
    assert_eq!(g.by_uid(2).unwrap().flags, Flags::FLAGGED | Flags::DELETED);
    let gone = f.expunge(Some(&[2])).unwrap();
    assert_eq!(gone, vec![2]);
    let ch = g.refresh().unwrap();
    assert_eq!(ch.expunged, vec![2]);
    deliver(&s.folder_dir("INBOX.Work").unwrap(), "2000.M1P1.h", "x\n");
    let ch = g.refresh().unwrap();
    assert_eq!(ch.added, vec![3]);
    assert!(g.is_recent(3));
    let ch = f.refresh().unwrap();
    assert_eq!(ch.added, vec![3]);
    assert!(f.by_uid(3).is_some() && !f.is_recent(3));
    // open_message after someone renamed the file
    let cur = s.folder_dir("INBOX.Work").unwrap().join("cur");
    let name = f.by_uid(3).unwrap().file_name().to_string();
    fs::rename(cur.join(&name), cur.join(format!("{name}S"))).unwrap();
    let mut buf = String::new();
    use std::io::Read;
    f.open_message(3).unwrap().read_to_string(&mut buf).unwrap();
    assert_eq!(buf, "x\n");
    // store finds the renamed file by base name and keeps the other letter
    f.store(&[3], FlagOp::Add, Flags::ANSWERED, &[]).unwrap();
    let names: Vec<String> = fs::read_dir(&cur)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().any(|n| n == "2000.M1P1.h:2,RS"), "{names:?}");
}

#[test]
fn refresh_is_cheap_when_idle() {
    let t = tempfile::tempdir().unwrap();
    let s = new_store(t.path());
    deliver(s.root(), "1000.M1P1.h", "a\n");
    let mut f = s.open_folder("INBOX", true).unwrap();
    assert!(f.refresh().unwrap().is_empty());
    // flag change by another program
    let cur = s.root().join("cur");
    fs::rename(cur.join("1000.M1P1.h:2,"), cur.join("1000.M1P1.h:2,S")).unwrap();
    let ch = f.refresh().unwrap();
    assert_eq!(ch.flags_changed, vec![1]);
    assert_eq!(f.by_uid(1).unwrap().flags, Flags::SEEN);
}

/// The session's own STORE and EXPUNGE are in its snapshot already, so a
/// refresh right after them finds nothing; but another program's change
/// made in the same moment (same directory mtime tick) is still seen.
#[test]
fn outside_changes_next_to_own_changes_are_seen() {
    let t = tempfile::tempdir().unwrap();
    let s = new_store(t.path());
    for i in 0..4 {
        deliver(s.root(), &format!("100{i}.M1P1.h"), "a\n");
    }
    let mut f = s.open_folder("INBOX", true).unwrap();
    let cur = s.root().join("cur");

    f.store(&[1], FlagOp::Add, Flags::SEEN, &[]).unwrap();
    assert!(f.refresh().unwrap().is_empty());
    f.store(&[2], FlagOp::Add, Flags::FLAGGED, &[]).unwrap();
    fs::rename(cur.join("1002.M1P1.h:2,"), cur.join("1002.M1P1.h:2,D")).unwrap();
    let ch = f.refresh().unwrap();
    assert_eq!(ch.flags_changed, vec![3]);
    assert_eq!(f.by_uid(3).unwrap().flags, Flags::DRAFT);
    assert_eq!(f.by_uid(2).unwrap().flags, Flags::FLAGGED);

    f.store(&[1], FlagOp::Add, Flags::DELETED, &[]).unwrap();
    assert_eq!(f.expunge(None).unwrap(), vec![1]);
    fs::remove_file(cur.join("1003.M1P1.h:2,")).unwrap();
    let ch = f.refresh().unwrap();
    assert_eq!(ch.expunged, vec![4]);

    f.store(&[2], FlagOp::Remove, Flags::FLAGGED, &[]).unwrap();
    deliver(s.root(), "1009.M1P1.h", "new\n");
    let ch = f.refresh().unwrap();
    assert_eq!(ch.added, vec![5]);
    assert!(f.refresh().unwrap().is_empty());
    let files: Vec<&str> = f.messages().iter().map(|m| m.file_name()).collect();
    assert_eq!(
        files,
        ["1001.M1P1.h:2,", "1002.M1P1.h:2,D", "1009.M1P1.h:2,"]
    );
}

/// A message the session APPENDs into its own folder is taken in at the
/// next refresh without a rescan, \Recent to that session only; a change
/// by anyone else in the same moment still makes the refresh look again.
#[test]
fn own_appends_are_taken_in_and_others_still_seen() {
    let t = tempfile::tempdir().unwrap();
    let s = new_store(t.path());
    deliver(s.root(), "1000.M1P1.h", "a\n");
    let mut f = s.open_folder("INBOX", true).unwrap();
    let mut other = s.open_folder("INBOX", true).unwrap();
    settle(&mut f);

    let a = s.append("INBOX", b"x\r\n", Flags::SEEN, &[], None).unwrap();
    f.took_in(&a);
    let ch = f.refresh().unwrap();
    assert_eq!(ch.added, vec![a.uid]);
    assert!(ch.expunged.is_empty() && ch.flags_changed.is_empty());
    let m = f.by_uid(a.uid).unwrap();
    assert!(f.is_recent(a.uid));
    assert_eq!(m.flags, Flags::SEEN);
    assert!(f.refresh().unwrap().is_empty());
    // Claimed once: the other session sees it, not as \Recent.
    assert_eq!(other.refresh().unwrap().added, vec![a.uid]);
    assert!(other.by_uid(a.uid).is_some() && !other.is_recent(a.uid));

    // An APPEND elsewhere is not taken in here.
    s.create_folder("INBOX.Sent").unwrap();
    let sent = s
        .append("INBOX.Sent", b"y\r\n", Flags::EMPTY, &[], None)
        .unwrap();
    f.took_in(&sent);
    assert!(f.refresh().unwrap().is_empty());

    // Mail delivered next to the session's own APPEND: both are seen.
    let b = s
        .append("INBOX", b"z\r\n", Flags::EMPTY, &[], None)
        .unwrap();
    f.took_in(&b);
    deliver(s.root(), "1001.M1P1.h", "new\n");
    let ch = f.refresh().unwrap();
    assert_eq!(ch.added, vec![b.uid, b.uid + 1]);
    assert!(f.by_uid(b.uid).is_some() && f.is_recent(b.uid));
    assert!(f.by_uid(b.uid + 1).is_some() && f.is_recent(b.uid + 1));

    // A message another program removed while the session appended.
    let c = s
        .append("INBOX", b"w\r\n", Flags::EMPTY, &[], None)
        .unwrap();
    f.took_in(&c);
    fs::remove_file(s.root().join("cur").join("1000.M1P1.h:2,")).unwrap();
    let ch = f.refresh().unwrap();
    assert_eq!(ch.added, vec![c.uid]);
    assert_eq!(ch.expunged, vec![1]);
    let uids: Vec<u32> = f.messages().iter().map(|m| m.uid).collect();
    let seen: Vec<u32> = s
        .open_folder("INBOX", false)
        .unwrap()
        .messages()
        .iter()
        .map(|m| m.uid)
        .collect();
    assert_eq!(uids, seen);
}

/// The refresh after an own APPEND reads no UID list: with the list's
/// entries gone (header kept) a rescan would number both files afresh.
#[test]
fn own_append_is_taken_in_without_reading_the_uid_list() {
    let t = tempfile::tempdir().unwrap();
    let s = new_store(t.path());
    deliver(s.root(), "1000.M1P1.h", "a\n");
    let mut f = s.open_folder("INBOX", true).unwrap();
    settle(&mut f);
    let a = s
        .append("INBOX", b"x\r\n", Flags::EMPTY, &[], None)
        .unwrap();
    let db = s.root().join("courierimapuiddb");
    let text = fs::read_to_string(&db).unwrap();
    fs::write(&db, format!("{}\n", text.lines().next().unwrap())).unwrap();
    f.took_in(&a);
    assert_eq!(f.refresh().unwrap().added, vec![a.uid]);
    let uids: Vec<u32> = f.messages().iter().map(|m| m.uid).collect();
    assert_eq!(uids, vec![1, a.uid]);
}

#[test]
fn own_copy_into_the_folder_is_taken_in_with_its_keywords() {
    let t = tempfile::tempdir().unwrap();
    let s = new_store(t.path());
    deliver(s.root(), "1000.M1P1.h", "a\n");
    let mut f = s.open_folder("INBOX", true).unwrap();
    f.store(&[1], FlagOp::Add, Flags::FLAGGED, &["Work".to_string()])
        .unwrap();
    settle(&mut f);
    let copied = f.copy_to(&[1], &s, "INBOX", Carry::ALL, None).unwrap();
    assert_eq!(copied.pairs.len(), 1);
    let new = copied.pairs[0].1;
    // A rescan would number the copy again from a list without it.
    let db = s.root().join("courierimapuiddb");
    let text = fs::read_to_string(&db).unwrap();
    fs::write(&db, format!("{}\n", text.lines().next().unwrap())).unwrap();
    for a in &copied.placed {
        f.took_in(a);
    }
    let ch = f.refresh().unwrap();
    assert_eq!(ch.added, vec![new]);
    assert!(ch.flags_changed.is_empty(), "{ch:?}");
    let uids: Vec<u32> = f.messages().iter().map(|m| m.uid).collect();
    assert_eq!(uids, vec![1, new]);
    let m = f.by_uid(new).unwrap();
    assert_eq!(m.keywords, vec!["Work".to_string()]);
    assert!(m.flags.contains(Flags::FLAGGED));
    assert!(f.is_recent(new));
}

#[test]
fn folders_list_rename_delete_subscribe() {
    let t = tempfile::tempdir().unwrap();
    let s = new_store(t.path());
    s.create_folder("INBOX.a.b").unwrap();
    s.create_folder("INBOX.c").unwrap();
    assert!(matches!(
        s.create_folder("INBOX.c"),
        Err(Error::AlreadyExists(_))
    ));
    assert!(s.root().join(".a.b/maildirfolder").exists());
    let l = s.list_folders().unwrap();
    let names: Vec<(&str, bool, bool)> = l
        .iter()
        .map(|e| (e.name.as_str(), e.selectable, e.has_children))
        .collect();
    assert_eq!(
        names,
        vec![
            ("INBOX", true, true),
            ("INBOX.a", true, true),
            ("INBOX.a.b", true, false),
            ("INBOX.c", true, false)
        ]
    );
    assert!(
        s.root().join(".a/maildirfolder").exists(),
        "parents are real folders"
    );
    assert!(matches!(
        s.create_folder("INBOX.a"),
        Err(Error::AlreadyExists(_))
    ));
    s.rename_folder("INBOX.a", "INBOX.x").unwrap();
    assert!(s.root().join(".x.b/cur").is_dir());
    assert!(!s.root().join(".a").exists());
    assert!(matches!(
        s.rename_folder("INBOX.x", "INBOX.c"),
        Err(Error::AlreadyExists(_))
    ));
    assert!(matches!(
        s.rename_folder("INBOX.x", "INBOX.x.y"),
        Err(Error::InvalidName { .. })
    ));
    s.delete_folder("INBOX.x").unwrap();
    assert!(s.root().join(".x.b/cur").is_dir());
    assert!(matches!(
        s.delete_folder("INBOX"),
        Err(Error::NotPermitted(_))
    ));
    assert!(matches!(
        s.delete_folder("INBOX.nope"),
        Err(Error::NonExistent(_))
    ));
    s.subscribe("INBOX.c").unwrap();
    s.subscribe("inbox.c").unwrap();
    s.subscribe("INBOX.Ünïcode").unwrap();
    assert_eq!(s.subscriptions().unwrap(), vec!["INBOX.c", "INBOX.Ünïcode"]);
    s.unsubscribe("INBOX.c").unwrap();
    assert_eq!(
        fs::read_to_string(s.root().join("courierimapsubscribed")).unwrap(),
        "INBOX.Ünïcode\n"
    );
    // rename INBOX
    deliver(s.root(), "1000.M1P1.h", "a\n");
    s.rename_folder("INBOX", "INBOX.Old").unwrap();
    assert_eq!(s.status("INBOX").unwrap().messages, 0);
    assert_eq!(s.status("INBOX.Old").unwrap().messages, 1);
}

#[test]
fn copy_and_move() {
    let t = tempfile::tempdir().unwrap();
    let s = new_store(t.path());
    s.create_folder("INBOX.Dst").unwrap();
    s.append("INBOX", b"one\n", Flags::SEEN, &["k1".into()], None)
        .unwrap();
    s.append("INBOX", b"two\n", Flags::EMPTY, &[], None)
        .unwrap();
    let mut f = s.open_folder("INBOX", true).unwrap();
    let c = f
        .copy_to(&[1, 2], &s, "INBOX.Dst", Carry::ALL, None)
        .unwrap();
    assert_eq!(c.pairs, vec![(1, 1), (2, 2)]);
    let m = f.move_to(&[2], &s, "INBOX.Dst", Carry::ALL, None).unwrap();
    assert_eq!(m.pairs, vec![(2, 3)]);
    assert_eq!(f.messages().len(), 1);
    let d = s.open_folder("INBOX.Dst", true).unwrap();
    assert_eq!(d.messages().len(), 3);
    assert_eq!(d.by_uid(1).unwrap().keywords, vec!["k1".to_string()]);
    assert_eq!(d.by_uid(1).unwrap().flags, Flags::SEEN);
    assert!(matches!(
        f.copy_to(&[1], &s, "INBOX.None", Carry::ALL, None),
        Err(Error::NonExistent(_))
    ));
}

#[test]
fn a_gate_sees_each_copy_and_a_refusal_places_none() {
    let t = tempfile::tempdir().unwrap();
    let s = new_store(t.path());
    s.create_folder("INBOX.Dst").unwrap();
    for body in [b"one\n", b"two\n"] {
        s.append("INBOX", body, Flags::EMPTY, &["k1".into()], None)
            .unwrap();
    }
    let mut f = s.open_folder("INBOX", true).unwrap();
    let mut seen = Vec::new();
    let mut refuse_two = |r: &mut dyn std::io::Read| {
        let mut b = Vec::new();
        r.read_to_end(&mut b).unwrap();
        seen.push(b.clone());
        match b.as_slice() {
            b"two\n" => Err(Error::NotSent("refused".into())),
            _ => Ok(()),
        }
    };
    let r = f.move_to(&[1, 2], &s, "INBOX.Dst", Carry::ALL, Some(&mut refuse_two));
    assert!(matches!(r, Err(Error::NotSent(_))), "{r:?}");
    assert_eq!(seen, [b"one\n".to_vec(), b"two\n".to_vec()]);
    assert_eq!(f.messages().len(), 2, "nothing moved");
    assert_eq!(s.status("INBOX.Dst").unwrap().messages, 0);
    let kw = s.root().join(".Dst/courierimapkeywords");
    assert!(
        fs::read_dir(&kw).map_or(true, |d| d.count() == 0),
        "no keywords"
    );
    let mut pass = |_: &mut dyn std::io::Read| Ok(());
    let c = f
        .copy_to(&[2], &s, "INBOX.Dst", Carry::ALL, Some(&mut pass))
        .unwrap();
    assert_eq!(c.pairs, vec![(2, 1)]);
}

#[test]
fn copy_and_move_drop_what_the_destination_does_not_allow() {
    let t = tempfile::tempdir().unwrap();
    let s = new_store(t.path());
    s.create_folder("INBOX.Dst").unwrap();
    let all = Flags::SEEN | Flags::DELETED | Flags::FLAGGED;
    for body in [b"one\n", b"two\n"] {
        s.append("INBOX", body, all, &["k1".into()], None).unwrap();
    }
    let mut f = s.open_folder("INBOX", true).unwrap();
    let seen_only = Carry {
        flags: Flags::SEEN,
        keywords: false,
    };
    f.copy_to(&[1], &s, "INBOX.Dst", seen_only, None).unwrap();
    f.move_to(&[2], &s, "INBOX.Dst", seen_only, None).unwrap();
    let d = s.open_folder("INBOX.Dst", true).unwrap();
    for uid in [1, 2] {
        let m = d.by_uid(uid).unwrap();
        assert_eq!((m.flags, m.keywords.len()), (Flags::SEEN, 0), "uid {uid}");
    }
    // the source keeps its own
    assert_eq!(f.by_uid(1).unwrap().flags, all);
}

#[test]
fn quota_rules() {
    let t = tempfile::tempdir().unwrap();
    let s = new_store(t.path());
    tools::set_quota(s.root(), "10S,2C").unwrap();
    s.append("INBOX", b"12345\n", Flags::EMPTY, &[], None)
        .unwrap();
    assert!(matches!(
        s.append("INBOX", b"123456\n", Flags::EMPTY, &[], None),
        Err(Error::OverQuota)
    ));
    let q = s.quota().unwrap().unwrap();
    assert_eq!((q.bytes, q.count), (6, 1));
    // Trash is not counted
    s.create_folder("INBOX.Trash").unwrap();
    s.append("INBOX.Trash", b"123456789\n", Flags::EMPTY, &[], None)
        .unwrap();
    // \Deleted stops counting, undelete counts again
    let mut f = s.open_folder("INBOX", true).unwrap();
    f.store(&[1], FlagOp::Add, Flags::DELETED, &[]).unwrap();
    assert_eq!(s.quota().unwrap().unwrap().bytes, 0);
    s.append("INBOX", b"1234567\n", Flags::EMPTY, &[], None)
        .unwrap();
    assert!(matches!(
        f.store(&[1], FlagOp::Remove, Flags::DELETED, &[]),
        Err(Error::OverQuota)
    ));
    let content = fs::read_to_string(s.root().join("maildirsize")).unwrap();
    assert!(content.starts_with("10S,2C\n"));
    assert!(content.lines().nth(1).unwrap().len() == 25, "{content}");
    // recalculation agrees with the incremental lines
    let q2 = tools::set_quota(s.root(), "10S,2C").unwrap();
    assert_eq!((q2.bytes, q2.count), (8, 1));
}

#[test]
fn deliver_tool() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("M");
    let opts = tools::DeliverOptions {
        create: true,
        quota: Some("20S".into()),
        ..Default::default()
    };
    let d = tools::deliver(&root, &b"hello world\n"[..], &opts).unwrap();
    assert!(
        d.path.to_string_lossy().ends_with(",S=12,W=13"),
        "{:?}",
        d.path
    );
    assert!(matches!(
        tools::deliver(&root, &b"hello world\n"[..], &opts),
        Err(Error::OverQuota)
    ));
    assert_eq!(fs::read_dir(root.join("tmp")).unwrap().count(), 0);
}

#[test]
fn size_and_date_are_read_when_asked_even_after_a_rename_elsewhere() {
    let t = tempfile::tempdir().unwrap();
    let s = new_store(t.path());
    deliver(s.root(), "1000.M1P1.h", "hello\n");
    deliver(s.root(), "1001.M1P1.h,S=99", "sized by name\n");
    let f = s.open_folder("INBOX", true).unwrap();
    // Another client flags the message after our snapshot, and the file's
    // mtime is the INTERNALDATE it was appended with.
    let date = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    let cur = s.root().join("cur");
    fs::rename(cur.join("1000.M1P1.h:2,"), cur.join("1000.M1P1.h:2,S")).unwrap();
    fs::File::options()
        .write(true)
        .open(cur.join("1000.M1P1.h:2,S"))
        .unwrap()
        .set_modified(date)
        .unwrap();
    let m = f.by_uid(1).unwrap();
    assert_eq!(m.file_name(), "1000.M1P1.h:2,");
    assert_eq!(f.internal_date(m), date);
    assert_eq!(f.stored_size(m), 6);
    // Quota counts a Maildir++ S= size, as Courier does.
    assert_eq!(f.stored_size(f.by_uid(2).unwrap()), 99);
}

#[test]
fn a_fast_refresh_takes_in_deliveries_and_leaves_others_renames_to_the_next_full_one() {
    let t = tempfile::tempdir().unwrap();
    let s = new_store(t.path());
    deliver(s.root(), "1000.M1P1.h", "a\n");
    deliver(s.root(), "1001.M2P1.h", "b\n");
    let mut f = s.open_folder("INBOX", true).unwrap();
    let mut other = s.open_folder("INBOX", true).unwrap();
    settle(&mut f);
    other.store(&[1], FlagOp::Add, Flags::FLAGGED, &[]).unwrap();
    other.store(&[2], FlagOp::Add, Flags::DELETED, &[]).unwrap();
    assert_eq!(other.expunge(None).unwrap(), vec![2]);
    // Only cur/ changed: the fast refresh does not list it...
    let ch = f.refresh_fast().unwrap();
    assert!(
        ch.flags_changed.is_empty() && ch.expunged.is_empty(),
        "{ch:?}"
    );
    // The next full refresh lists cur/ although its timestamp has settled
    // since the fast one saw it move.
    std::thread::sleep(Duration::from_millis(60));
    let ch = f.refresh().unwrap();
    assert_eq!(ch.flags_changed, vec![1]);
    assert_eq!(ch.expunged, vec![2]);
    // A fast refresh takes in new mail...
    settle(&mut f);
    deliver(s.root(), "1002.M3P1.h", "c\n");
    let ch = f.refresh_fast().unwrap();
    assert_eq!(ch.added, vec![3]);
    // ... and what another writer placed straight into cur/ and numbered,
    // as Courier's APPEND does: the UID list shows it.
    settle(&mut f);
    let other_store = Store::open(s.root(), opts()).unwrap();
    let placed = other_store
        .append("INBOX", b"d\n", Flags::EMPTY, &[], None)
        .unwrap();
    let ch = f.refresh_fast().unwrap();
    assert_eq!(ch.added, vec![placed.uid]);
    // Also when the session's own APPEND came after the other writer's.
    settle(&mut f);
    let theirs = other_store
        .append("INBOX", b"e\n", Flags::EMPTY, &[], None)
        .unwrap();
    let ours = s.append("INBOX", b"f\n", Flags::EMPTY, &[], None).unwrap();
    f.took_in(&ours);
    let ch = f.refresh_fast().unwrap();
    assert_eq!(ch.added, vec![theirs.uid, ours.uid]);
    assert!(f.by_uid(1).unwrap().flags.contains(Flags::FLAGGED));
}

/// Sets `cur/`'s mtime.
fn set_cur_mtime(root: &Path, t: SystemTime) {
    let cur = fs::File::open(root.join("cur")).unwrap();
    cur.set_modified(t).unwrap();
}

fn cur_mtime(root: &Path) -> SystemTime {
    fs::metadata(root.join("cur")).unwrap().modified().unwrap()
}

#[test]
fn the_sessions_own_changes_do_not_hide_anyone_elses() {
    let t = tempfile::tempdir().unwrap();
    let s = new_store(t.path());
    for i in 1..=3 {
        deliver(s.root(), &format!("100{i}.M{i}P1.h"), "a\n");
    }
    let mut f = s.open_folder("INBOX", true).unwrap();
    let mut other = s.open_folder("INBOX", true).unwrap();
    settle(&mut f);

    // Someone else's change before the session's own: seen at once.
    other.store(&[1], FlagOp::Add, Flags::FLAGGED, &[]).unwrap();
    set_cur_mtime(s.root(), cur_mtime(s.root()) - Duration::from_secs(5));
    f.store(&[2], FlagOp::Add, Flags::SEEN, &[]).unwrap();
    let ch = f.refresh().unwrap();
    assert_eq!(ch.flags_changed, vec![1]);
    settle(&mut f);

    // Someone else's change in the same clock tick right after the
    // session's own (the mtime stays what the session saw): a refresh
    // soon after may not see it, one after the tick has passed does.
    f.store(&[2], FlagOp::Add, Flags::ANSWERED, &[]).unwrap();
    let own_tick = cur_mtime(s.root());
    other.store(&[3], FlagOp::Add, Flags::FLAGGED, &[]).unwrap();
    set_cur_mtime(s.root(), own_tick);
    let soon = f.refresh().unwrap();
    std::thread::sleep(Duration::from_millis(1_100));
    let later = f.refresh().unwrap();
    let seen: Vec<u32> = soon
        .flags_changed
        .iter()
        .chain(&later.flags_changed)
        .copied()
        .collect();
    assert_eq!(seen, vec![3]);
    assert!(f.by_uid(3).unwrap().flags.contains(Flags::FLAGGED));

    // A fast refresh in between does not make the session forget to look.
    f.store(&[2], FlagOp::Remove, Flags::ANSWERED, &[]).unwrap();
    let own_tick = cur_mtime(s.root());
    other
        .store(&[1], FlagOp::Remove, Flags::FLAGGED, &[])
        .unwrap();
    set_cur_mtime(s.root(), own_tick);
    std::thread::sleep(Duration::from_millis(1_100));
    let fast = f.refresh_fast().unwrap();
    assert!(fast.flags_changed.is_empty(), "{fast:?}");
    let full = f.refresh().unwrap();
    assert_eq!(full.flags_changed, vec![1]);
}

#[test]
fn uids_keywords_and_first_unseen_follow_every_change() {
    let t = tempfile::tempdir().unwrap();
    let s = new_store(t.path());
    for i in 1..=3 {
        deliver(s.root(), &format!("100{i}.M{i}P1.h"), "a\n");
    }
    let mut f = s.open_folder("INBOX", true).unwrap();
    assert_eq!((f.uids(), f.first_unseen()), (vec![1, 2, 3], Some(0)));
    assert!(f.keywords().is_empty());
    f.store(&[1], FlagOp::Add, Flags::SEEN, &["Work".to_string()])
        .unwrap();
    assert_eq!(
        (f.keywords(), f.first_unseen()),
        (vec!["Work".to_string()], Some(1))
    );
    f.store(&[2], FlagOp::Add, Flags::DELETED, &[]).unwrap();
    f.expunge(None).unwrap();
    assert_eq!((f.uids(), f.first_unseen()), (vec![1, 3], Some(1)));
    deliver(s.root(), "1004.M4P1.h", "b\n");
    f.refresh().unwrap();
    assert_eq!(f.uids(), vec![1, 3, 4]);
}
