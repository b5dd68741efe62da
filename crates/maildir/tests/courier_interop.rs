//! Interoperability with real Courier-IMAP (`/usr/bin/imapd` from Debian's
//! `courier-imap`): each side must see exactly what the other wrote.
//!
//! Skipped (with a message) when imapd is missing, unless
//! `COURSER_FULL_TESTS=1`, in which case a missing imapd fails the test.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use courser_maildir::{tools, FlagOp, Flags, Store, StoreOptions};

const IMAPD: &str = "/usr/bin/imapd";

fn courier_available() -> bool {
    if Path::new(IMAPD).exists() {
        return true;
    }
    if std::env::var("COURSER_FULL_TESTS").as_deref() == Ok("1") {
        panic!("{IMAPD} is missing (apt-get install courier-imap) and COURSER_FULL_TESTS=1");
    }
    eprintln!("SKIPPED: {IMAPD} not installed (apt-get install courier-imap); set COURSER_FULL_TESTS=1 to make this a failure");
    false
}

/// A fresh maildir in a home directory, if Courier is there to test with.
fn courier_home() -> Option<(tempfile::TempDir, std::path::PathBuf)> {
    if !courier_available() {
        return None;
    }
    let t = tempfile::tempdir().unwrap();
    let md = t.path().join("Maildir");
    tools::make_maildir(&md, 0o700).unwrap();
    Some((t, md))
}

/// Runs one preauthenticated Courier session with the given commands
/// (CRLF added) and returns its output.
fn courier(home: &Path, maildir: &Path, script: &[String]) -> String {
    let mut child = Command::new(IMAPD)
        .arg("Maildir")
        .current_dir(home)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("MAILDIR", maildir)
        .env("IMAP_KEYWORDS", "1")
        .env("IMAP_BROKENUIDV", "1")
        .env("IMAP_USELOCKS", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn imapd");
    {
        let mut stdin = child.stdin.take().unwrap();
        for l in script {
            stdin.write_all(l.as_bytes()).unwrap();
            stdin.write_all(b"\r\n").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        s.contains("LOGOUT completed") || s.contains("BYE"),
        "imapd output: {s}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    s
}

/// The untagged responses of the command tagged `tag`.
fn section(out: &str, tag: &str) -> Vec<String> {
    let lines: Vec<&str> = out.lines().collect();
    let end = lines
        .iter()
        .position(|l| l.starts_with(&format!("{tag} ")))
        .unwrap_or_else(|| panic!("no response tagged {tag}: {out}"));
    let mut start = end;
    while start > 0 && (lines[start - 1].starts_with("* ") || lines[start - 1].starts_with("+ ")) {
        start -= 1;
    }
    lines[start..=end].iter().map(|s| s.to_string()).collect()
}

/// `UID -> flags` from the FETCH responses of the command tagged `tag`.
fn fetched_flags(out: &str, tag: &str) -> BTreeMap<u32, Vec<String>> {
    let mut m = BTreeMap::new();
    for line in section(out, tag) {
        if !line.starts_with("* ") || !line.contains(" FETCH (") {
            continue;
        }
        let uid = line
            .split("UID ")
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse::<u32>().ok());
        let flags = line
            .split("FLAGS (")
            .nth(1)
            .and_then(|r| r.split(')').next());
        if let (Some(u), Some(f)) = (uid, flags) {
            let mut v: Vec<String> = f
                .split_whitespace()
                .filter(|x| *x != "\\Recent")
                .map(str::to_string)
                .collect();
            v.sort();
            m.insert(u, v);
        }
    }
    m
}

fn uidvalidity_of(out: &str, tag: &str) -> u32 {
    section(out, tag)
        .join("\n")
        .split("[UIDVALIDITY ")
        .nth(1)
        .and_then(|r| r.split(']').next())
        .and_then(|n| n.parse().ok())
        .expect("UIDVALIDITY in output")
}

fn courser_flags(f: &courser_maildir::Folder) -> BTreeMap<u32, Vec<String>> {
    f.messages()
        .iter()
        .map(|m| {
            let mut v: Vec<String> = m
                .flags
                .imap_names()
                .into_iter()
                .map(str::to_string)
                .collect();
            v.extend(m.keywords.iter().cloned());
            v.sort();
            (m.uid, v)
        })
        .collect()
}

fn literal(tag: &str, cmd: &str, body: &str) -> Vec<String> {
    // the literal's CRLF lines; the last line of the body is followed by
    // the command terminator CRLF added by `courier`.
    vec![
        format!("{tag} {cmd} {{{}}}", body.len()),
        body.trim_end_matches("\r\n").to_string(),
        String::new(),
    ]
}

#[test]
fn courier_then_courser_then_courier() {
    let Some((t, md)) = courier_home() else {
        return;
    };
    let home = t.path();
    for (i, body) in [
        "Subject: one\n\n1\n",
        "Subject: two\n\n2\n",
        "Subject: three\n\n3\n",
    ]
    .iter()
    .enumerate()
    {
        fs::write(md.join("new").join(format!("100000000{i}.M1P1.ext")), body).unwrap();
    }

    // --- Courier writes ---
    let mut script: Vec<String> = vec![
        "a1 SELECT INBOX".into(),
        "a2 UID STORE 1 +FLAGS (\\Flagged $Label1)".into(),
        "a3 UID STORE 2 +FLAGS (\\Deleted)".into(),
        "a4 EXPUNGE".into(),
    ];
    script.extend(literal(
        "a5",
        "APPEND INBOX (\\Seen Work)",
        "Subject: four\r\n\r\n4\r\n",
    ));
    script.extend([
        "a6 CREATE INBOX.Sub.Deep".to_string(),
        "a7 UID STORE 3 +FLAGS (\\Answered Work Other)".into(),
        "a8 NOOP".into(),
        "a9 UID FETCH 1:* (FLAGS)".into(),
        "a10 LOGOUT".into(),
    ]);
    let out = courier(home, &md, &script);
    assert!(out.contains("a5 OK"), "{out}");
    let c_flags = fetched_flags(&out, "a9");
    let c_uidv = uidvalidity_of(&out, "a1");
    assert_eq!(
        c_flags.keys().copied().collect::<Vec<_>>(),
        vec![1, 3, 4],
        "{out}"
    );

    // --- Courser reads ---
    let store = Store::open(&md, StoreOptions::default()).unwrap();
    let mut f = store.open_folder("INBOX", true).unwrap();
    assert_eq!(f.uidvalidity(), c_uidv);
    assert_eq!(courser_flags(&f), c_flags);
    let names: Vec<String> = store
        .list_folders()
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert!(names.contains(&"INBOX.Sub.Deep".to_string()), "{names:?}");
    assert!(
        !store
            .list_folders()
            .unwrap()
            .iter()
            .find(|e| e.name == "INBOX.Sub")
            .unwrap()
            .selectable
    );

    // --- Courser writes ---
    let a = store
        .append(
            "INBOX",
            b"Subject: five\n\n5\n",
            Flags::DRAFT,
            &["FromCourser".to_string()],
            None,
        )
        .unwrap();
    assert_eq!(a.uidvalidity, c_uidv);
    assert_eq!(a.uid, 5);
    f.refresh().unwrap();
    f.store(
        &[1],
        FlagOp::Remove,
        Flags::FLAGGED,
        &["$Label1".to_string()],
    )
    .unwrap();
    f.store(
        &[1, 3],
        FlagOp::Add,
        Flags::ANSWERED,
        &["Courser".to_string()],
    )
    .unwrap();
    f.store(&[4], FlagOp::Replace, Flags::SEEN, &[]).unwrap();
    store.create_folder("INBOX.FromCourser").unwrap();
    let b = store
        .append(
            "INBOX.FromCourser",
            b"Subject: six\n\n6\n",
            Flags::SEEN,
            &["Sixth".to_string()],
            None,
        )
        .unwrap();
    fs::write(md.join("new/1900000000.M1P1.ext"), "Subject: seven\n\n7\n").unwrap();
    let ch = f.refresh().unwrap();
    assert_eq!(ch.added, vec![6]);
    store.subscribe("INBOX.FromCourser").unwrap();
    let expected_inbox = courser_flags(&f);
    let expected_sub = courser_flags(&store.open_folder("INBOX.FromCourser", false).unwrap());

    // --- Courier reads ---
    let out = courier(
        home,
        &md,
        &[
            "b1 SELECT INBOX".into(),
            "b2 UID FETCH 1:* (FLAGS)".into(),
            "b3 LIST \"\" \"*\"".into(),
            "b4 LSUB \"\" \"*\"".into(),
            "b5 SELECT INBOX.FromCourser".into(),
            "b6 UID FETCH 1:* (FLAGS)".into(),
            "b7 LOGOUT".into(),
        ],
    );
    assert_eq!(uidvalidity_of(&out, "b1"), c_uidv);
    let got = fetched_flags(&out, "b2");
    assert_eq!(got, expected_inbox, "{out}");
    assert_eq!(expected_inbox[&1], vec!["Courser", "\\Answered"]);
    assert!(out.contains("\"INBOX.FromCourser\""), "{out}");
    assert!(out.contains("\"INBOX.Sub.Deep\""), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("* LSUB") && l.contains("INBOX.FromCourser")),
        "{out}"
    );
    assert_eq!(uidvalidity_of(&out, "b5"), b.uidvalidity);
    assert_eq!(fetched_flags(&out, "b6"), expected_sub, "{out}");
    assert_eq!(expected_sub[&b.uid], vec!["Sixth", "\\Seen"]);
}

/// Courser's names carry `,S=` (quota) and `,W=` (RFC822.SIZE), and the
/// folder holds a `courserindex`: Courier's imapd lists no extra folder
/// and serves the messages (it ignores `,W=` and counts one CR per LF
/// itself, which for LF files is the `,W=` value), and Courier's quota
/// recalculation (`deliverquota` without a `maildirsize`) counts what
/// `,S=` says.
#[test]
fn courier_reads_size_tags_and_ignores_the_index() {
    let Some((t, md)) = courier_home() else {
        return;
    };
    let home = t.path();
    let bodies = [
        "Subject: delivered\n\nline one\nline two\n",
        "Subject: appended\r\n\r\nCRLF already\r\n",
        "Subject: mixed\n\nbare\r\nand not\n",
    ];
    tools::deliver(&md, bodies[0].as_bytes(), &tools::DeliverOptions::default()).unwrap();
    let store = Store::open(&md, StoreOptions::default()).unwrap();
    for b in &bodies[1..] {
        store
            .append("INBOX", b.as_bytes(), Flags::EMPTY, &[], None)
            .unwrap();
    }
    let f = store.open_folder("INBOX", true).unwrap();
    let mut ours = Vec::new();
    for m in f.messages() {
        let w = m.rfc822_size_tag().expect("every Courser name has ,W=");
        assert_eq!(w, f.facts(m.uid).unwrap().rfc822_size);
        assert!(m.file_name().contains(",S="), "{}", m.file_name());
        let bytes = fs::read(f.dir().join("cur").join(m.file_name())).unwrap();
        let lf_only = !bytes.contains(&b'\r');
        let courier_size = bytes.len() + bytes.iter().filter(|b| **b == b'\n').count();
        assert_eq!(lf_only, courier_size as u64 == w);
        ours.push((m.uid, courier_size));
    }
    assert_eq!(ours.len(), 3);
    drop(f);
    assert!(md.join(courser_maildir::index::INDEX_FILE).exists());

    let out = courier(
        home,
        &md,
        &[
            "c1 LIST \"\" \"*\"".into(),
            "c2 SELECT INBOX".into(),
            "c3 UID FETCH 1:* (RFC822.SIZE)".into(),
            "c4 LOGOUT".into(),
        ],
    );
    let listed: Vec<&str> = out.lines().filter(|l| l.starts_with("* LIST")).collect();
    assert_eq!(listed.len(), 1, "{out}");
    for (uid, w) in &ours {
        assert!(
            out.contains(&format!("UID {uid} RFC822.SIZE {w})"))
                || out.contains(&format!("RFC822.SIZE {w} UID {uid})")),
            "uid {uid} size {w}: {out}"
        );
    }

    // Courier's quota recalculation sums the ,S= tags
    let total: u64 = bodies.iter().map(|b| b.len() as u64).sum();
    let extra = "Subject: by courier\n\nx\n";
    let mut child = Command::new("/usr/bin/deliverquota")
        .args([md.to_str().unwrap(), "100000S"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("deliverquota");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(extra.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    let sizes = fs::read_to_string(md.join("maildirsize")).unwrap();
    let counted: i64 = sizes
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap().parse::<i64>().unwrap())
        .sum();
    assert_eq!(counted as u64, total + extra.len() as u64, "{sizes}");
}
