//! The folder index against the maildir: whatever happens to the index
//! file (deleted, truncated, flipped bytes, another version, another
//! UIDVALIDITY, a writer killed mid-write) and whatever outside writers do
//! to the folder, every `Folder::facts` equals the facts computed from the
//! message file alone.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use courser_maildir::index::{INDEX_FILE, KEPT_FIELDS};
use courser_maildir::{tools, Carry, Flags, Folder, IndexPlace, MessageFacts, Store, StoreOptions};

/// A small deterministic generator (xorshift64*), so failures repeat.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn store(root: &Path, place: IndexPlace) -> Store {
    Store::open(
        root,
        StoreOptions {
            hostname: "idxtest".into(),
            index: place,
            ..StoreOptions::default()
        },
    )
    .unwrap()
}

fn maildir(t: &Path) -> PathBuf {
    let root = t.join("Maildir");
    tools::make_maildir(&root, 0o700).unwrap();
    root
}

/// Writes corpus message `i` (made unique) into `sub` as an outside MDA
/// would, with an mtime of its own.
fn put(root: &Path, sub: &str, i: usize) {
    let corpus = courser_mime::corpus::messages();
    let mut bytes = format!("X-Serial: {i}\n").into_bytes();
    bytes.extend_from_slice(&corpus[i % corpus.len()].bytes);
    let name = format!(
        "{}.M{i}P7.outside{}",
        1_600_000_000 + i,
        if sub == "cur" { ":2," } else { "" }
    );
    let tmp = root.join("tmp").join(format!("put{i}"));
    fs::write(&tmp, &bytes).unwrap();
    let t = SystemTime::UNIX_EPOCH
        + Duration::new(
            1_600_000_000 + i as u64 * 7,
            (i as u32 * 7919) % 1_000_000_000,
        );
    File::options()
        .write(true)
        .open(&tmp)
        .unwrap()
        .set_modified(t)
        .unwrap();
    fs::rename(&tmp, root.join(sub).join(name)).unwrap();
}

/// A maildir with `n` messages delivered by an outside MDA, its store,
/// and the index built by a first session.
fn indexed_maildir(n: usize) -> (tempfile::TempDir, PathBuf, Store) {
    let t = tempfile::tempdir().unwrap();
    let root = maildir(t.path());
    for i in 0..n {
        put(&root, if i % 3 == 0 { "cur" } else { "new" }, i);
    }
    let s = store(&root, IndexPlace::InFolder);
    open_check(&s, "first build");
    (t, root, s)
}

/// The facts of `uid` computed from its file, not the index.
fn from_file(f: &Folder, uid: u32) -> MessageFacts {
    let mut file = f.open_message(uid).unwrap();
    let mtime = file.metadata().unwrap().modified().unwrap();
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).unwrap();
    MessageFacts::compute(&bytes, mtime)
}

/// Every message's facts, one by one and in bulk, equal its file's.
fn check(f: &Folder, what: &str) {
    let uids: Vec<u32> = f.messages().iter().map(|m| m.uid).collect();
    for (uid, got) in f.facts_for(&uids) {
        assert_eq!(*got.unwrap(), from_file(f, uid), "{what}: uid {uid} (bulk)");
    }
    for &uid in uids.iter().rev() {
        assert_eq!(
            *f.facts(uid).unwrap(),
            from_file(f, uid),
            "{what}: uid {uid}"
        );
    }
}

/// Opens INBOX, checks it, writes what it learned.
fn open_check(s: &Store, what: &str) {
    let mut f = s.open_folder("INBOX", true).unwrap();
    check(&f, what);
    f.flush_index();
}

fn expunge(f: &mut Folder, uids: &[u32]) {
    f.store(uids, courser_maildir::FlagOp::Add, Flags::DELETED, &[])
        .unwrap();
    f.expunge(None).unwrap();
}

/// A checksummed header as the index writes it, with any version and
/// UIDVALIDITY.
fn header(version: u32, uidvalidity: u32) -> Vec<u8> {
    let mut h = b"COURSERX".to_vec();
    h.extend_from_slice(&version.to_le_bytes());
    h.extend_from_slice(&uidvalidity.to_le_bytes());
    h.extend_from_slice(&0u64.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    let c = crc32fast::hash(&h);
    h.extend_from_slice(&c.to_le_bytes());
    h
}

#[test]
fn every_damage_to_the_index_still_answers_from_the_files() {
    let (_t, root, s) = indexed_maildir(150);
    let index = root.join(INDEX_FILE);
    let built = fs::read(&index).unwrap();
    assert!(built.len() > 150 * 100, "the index holds the facts");
    open_check(&s, "built");

    let mut rng = Rng(0x5eed);
    for round in 0..40 {
        let whole = fs::read(&index).unwrap_or_else(|_| built.clone());
        match round % 5 {
            0 => {
                let _ = fs::remove_file(&index);
            }
            1 => {
                let at = rng.below(whole.len() as u64);
                fs::write(&index, &whole[..at as usize]).unwrap();
            }
            2 => {
                let mut b = whole.clone();
                for _ in 0..1 + rng.below(8) {
                    let at = rng.below(b.len() as u64) as usize;
                    b[at] ^= 1 << rng.below(8);
                }
                fs::write(&index, &b).unwrap();
            }
            3 => {
                let mut b = header(99, 0);
                b.extend_from_slice(&whole[32.min(whole.len())..]);
                fs::write(&index, &b).unwrap();
            }
            _ => {
                let v = s.open_folder("INBOX", false).unwrap().uidvalidity();
                let mut b = header(1, v.wrapping_add(1));
                b.extend_from_slice(&whole[32.min(whole.len())..]);
                fs::write(&index, &b).unwrap();
            }
        }
        open_check(&s, &format!("round {round}"));
    }
    // a new UIDVALIDITY (uiddb lost): the old records name other UIDs
    fs::remove_file(root.join("courierimapuiddb")).unwrap();
    open_check(&s, "uiddb lost");
}

#[test]
fn a_record_answers_only_for_its_own_file() {
    let (_t, root, s) = indexed_maildir(6);
    // Same UIDVALIDITY, but UIDs 1 and 2 now name each other's files
    // (as a uiddb edited by another program could).
    let v = s.open_folder("INBOX", false).unwrap().uidvalidity();
    let db = root.join("courierimapuiddb");
    let text = fs::read_to_string(&db).unwrap();
    let swapped: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| match l.split_once(' ').filter(|_| i > 0) {
            Some(("1", name)) => format!("2 {name}"),
            Some(("2", name)) => format!("1 {name}"),
            _ => l.to_string(),
        })
        .collect();
    fs::write(&db, swapped.join("\n") + "\n").unwrap();
    let f = s.open_folder("INBOX", true).unwrap();
    assert_eq!(f.uidvalidity(), v);
    let before = fs::read(root.join(INDEX_FILE)).unwrap();
    check(&f, "swapped");
    assert_ne!(*f.facts(1).unwrap(), *f.facts(2).unwrap());
    drop(f);
    assert!(fs::read(root.join(INDEX_FILE)).unwrap().len() > before.len());
}

#[test]
fn the_index_answers_without_reading_the_files() {
    let t = tempfile::tempdir().unwrap();
    let root = maildir(t.path());
    put(&root, "cur", 1);
    let s = store(&root, IndexPlace::InFolder);
    let before = {
        let f = s.open_folder("INBOX", true).unwrap();
        (*f.facts(1).unwrap()).clone()
    };
    // Maildir files never change; rewriting one under the same name shows
    // where the answer comes from.
    let f = s.open_folder("INBOX", true).unwrap();
    let path = f.dir().join("cur").join(f.by_uid(1).unwrap().file_name());
    let mtime = fs::metadata(&path).unwrap().modified().unwrap();
    fs::write(&path, b"Subject: changed\n\nx\n").unwrap();
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(*f.facts(1).unwrap(), before);
    // without an index, the file
    let plain = store(&root, IndexPlace::Off)
        .open_folder("INBOX", true)
        .unwrap();
    assert_eq!(
        plain
            .facts(1)
            .unwrap()
            .header_contains("subject", "changed"),
        Some(true)
    );
}

#[test]
fn outside_writers_between_opens() {
    let (_t, root, s) = indexed_maildir(60);
    let mut rng = Rng(42);
    let mut next = 60;
    for round in 0..12 {
        let cur: Vec<PathBuf> = fs::read_dir(root.join("cur"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        for _ in 0..3 {
            put(&root, "new", next);
            put(&root, "cur", next + 1);
            next += 2;
        }
        for _ in 0..3 {
            let p = &cur[rng.below(cur.len() as u64) as usize];
            let _ = fs::remove_file(p);
        }
        for _ in 0..3 {
            let p = &cur[rng.below(cur.len() as u64) as usize];
            let name = p.to_string_lossy();
            let base = name.split(":2,").next().unwrap();
            let flags = ["S", "FS", "", "RS"][rng.below(4) as usize];
            let _ = fs::rename(p, format!("{base}:2,{flags}"));
        }
        open_check(&s, &format!("round {round}"));
    }
}

#[test]
fn appends_copies_moves_and_expunges_keep_the_index_right() {
    let t = tempfile::tempdir().unwrap();
    let root = maildir(t.path());
    let s = store(&root, IndexPlace::InFolder);
    s.create_folder("INBOX.Other").unwrap();
    let corpus = courser_mime::corpus::messages();
    for m in corpus.iter().take(40) {
        s.append("INBOX", &m.bytes, Flags::EMPTY, &[], None)
            .unwrap();
    }
    // APPEND recorded them: the index has them before anyone asked
    let size = fs::metadata(root.join(INDEX_FILE)).unwrap().len();
    assert!(size > 40 * 100, "{size}");
    let mut f = s.open_folder("INBOX", true).unwrap();
    check(&f, "appended");
    let uids: Vec<u32> = f.messages().iter().map(|m| m.uid).take(20).collect();
    f.copy_to(&uids[..10], &s, "INBOX.Other", Carry::ALL, None)
        .unwrap();
    f.move_to(&uids[10..], &s, "INBOX.Other", Carry::ALL, None)
        .unwrap();
    expunge(&mut f, &uids[..5]);
    check(&f, "after expunge");
    f.flush_index();
    drop(f);
    let other = s.open_folder("INBOX.Other", true).unwrap();
    assert!(fs::metadata(other.dir().join(INDEX_FILE)).unwrap().len() > 20 * 100);
    check(&other, "copied and moved");
    open_check(&s, "reopened");
}

#[test]
fn an_index_directory_keeps_the_folder_clean() {
    let t = tempfile::tempdir().unwrap();
    let root = maildir(t.path());
    let base = t.path().join("indexes");
    fs::create_dir(&base).unwrap();
    for i in 0..10 {
        put(&root, "new", i);
    }
    let s = store(&root, IndexPlace::Under(base.clone()));
    s.create_folder("INBOX.Sub").unwrap();
    s.append("INBOX.Sub", b"Subject: s\n\nx\n", Flags::EMPTY, &[], None)
        .unwrap();
    open_check(&s, "under");
    assert!(!root.join(INDEX_FILE).exists());
    let accounts: Vec<_> = fs::read_dir(&base)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(accounts.len(), 1);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        fs::metadata(&accounts[0]).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let mut files: Vec<String> = fs::read_dir(&accounts[0])
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, vec![".Sub.courserindex", "INBOX.courserindex"]);
    check(&s.open_folder("INBOX.Sub", true).unwrap(), "sub");
}

const KILL_DIR: &str = "COURSER_INDEX_KILL_DIR";

/// The child of the kill test: reads and records facts, adds and removes
/// messages and deletes the index, over and over, until killed.
#[test]
fn index_writer_entry() {
    let Ok(dir) = std::env::var(KILL_DIR) else {
        return;
    };
    let root = PathBuf::from(dir);
    let s = store(&root, IndexPlace::InFolder);
    let mut n = 10_000;
    loop {
        let mut f = s.open_folder("INBOX", true).unwrap();
        let uids: Vec<u32> = f.messages().iter().map(|m| m.uid).collect();
        for (_, r) in f.facts_for(&uids) {
            r.unwrap();
        }
        // outside removals and deliveries: dead records pile up, and
        // compactions follow
        for m in f.messages().iter().take(25) {
            let _ = fs::remove_file(f.dir().join("cur").join(m.file_name()));
        }
        f.flush_index();
        drop(f);
        for _ in 0..25 {
            put(&root, "new", n);
            n += 1;
        }
        if n % 13 == 0 {
            let _ = fs::remove_file(root.join(INDEX_FILE));
        }
    }
}

#[test]
fn killed_writers_leave_a_usable_or_detected_index() {
    let t = tempfile::tempdir().unwrap();
    let root = maildir(t.path());
    for i in 0..200 {
        put(&root, "new", i);
    }
    let exe = std::env::current_exe().unwrap();
    let mut rng = Rng(7);
    let s = store(&root, IndexPlace::InFolder);
    let mut indexed = 0;
    for round in 0..20 {
        let mut child = Command::new(&exe)
            .args(["--exact", "index_writer_entry", "--test-threads=1"])
            .env(KILL_DIR, &root)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(20 + rng.below(400)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if fs::metadata(root.join(INDEX_FILE)).is_ok_and(|m| m.len() > 32) {
            indexed += 1;
        }
        // whatever the child left in tmp/ belongs to no message
        let f = s.open_folder("INBOX", true).unwrap();
        check(&f, &format!("after kill {round}"));
    }
    assert!(indexed > 10, "the child wrote an index before most kills");
}

#[test]
fn expunging_most_messages_compacts_the_index() {
    let t = tempfile::tempdir().unwrap();
    let root = maildir(t.path());
    let s = store(&root, IndexPlace::InFolder);
    for m in courser_mime::corpus::messages() {
        s.append("INBOX", &m.bytes, Flags::EMPTY, &[], None)
            .unwrap();
    }
    let full = fs::metadata(root.join(INDEX_FILE)).unwrap().len();
    let mut f = s.open_folder("INBOX", true).unwrap();
    let uids: Vec<u32> = f.messages().iter().map(|m| m.uid).collect();
    expunge(&mut f, &uids[10..]);
    check(&f, "expunged");
    // the next records written trigger the compaction
    s.append("INBOX", b"Subject: new\n\nx\n", Flags::EMPTY, &[], None)
        .unwrap();
    f.refresh().unwrap();
    check(&f, "one more");
    f.flush_index();
    let small = fs::metadata(root.join(INDEX_FILE)).unwrap().len();
    assert!(small < full / 4, "{small} vs {full}");
    drop(f);
    open_check(&s, "compacted");
}

/// A header block built from pieces that stress header matching.
fn arb_header() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let field = prop::sample::select(vec![
        "Subject",
        "subject",
        "SUBJECT",
        "From",
        "To",
        "cc",
        "Bcc",
        "Date",
        "Message-ID",
        "In-Reply-To",
        "References",
        "X-Other",
    ]);
    let value = prop::sample::select(vec![
        " =?utf-8?q?Caf=C3=A9?= au lait",
        " =?iso-8859-1?b?SvxyZ2Vu?= <juergen@example.de>",
        " A long value\n folded\n\tover lines",
        " <user (comment)@ (another) example.org>",
        " \"Quoted, Name\" <q@example.com>, plain@example.net",
        " Group: a@b.c, D <d@e.f>;",
        " =?utf-8?B?SMOpbGxvIHfDtnJsZA==?= and =?bogus?x?zz?=",
        " ÄÖÜ raw 8-bit",
        "",
        " Mon, 2 Jan 2006 15:04:05 -0700",
        " <id@host> <other@host>",
        " İstanbul ΣΊΣΥΦΟΣ",
    ]);
    prop::collection::vec((field, value), 0..8).prop_map(|fields| {
        let mut s = String::new();
        for (f, v) in fields {
            s.push_str(&format!("{f}:{v}\n"));
        }
        s.push_str("\nbody\n");
        s
    })
}

fn needles(facts_src: &[u8]) -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        "a",
        "CAFÉ",
        "café au",
        "user@example.org",
        "quoted, name",
        "juergen",
        "jürgen",
        "d <d@e.f>",
        "folded",
        "ΣΊΣ",
        "σίσ",
        "i̇stanbul",
        "host>",
        "2006",
        "STRASSE",
        "straße",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // and pieces of the decoded texts themselves
    let p = courser_mime::parse(facts_src);
    for f in KEPT_FIELDS {
        for t in courser_mime::header_texts(facts_src, &p, f) {
            let chars: Vec<char> = t.chars().collect();
            if chars.len() > 3 {
                v.push(chars[1..chars.len() - 1].iter().collect());
                v.push(chars[..3].iter().collect::<String>().to_uppercase());
            }
        }
    }
    v
}

/// `MessageFacts::header_contains` / `address_contains` equal
/// courser-mime's answers on the file, for every field and needle.
fn same_answers(bytes: &[u8]) {
    let facts = MessageFacts::compute(bytes, SystemTime::UNIX_EPOCH);
    let p = courser_mime::parse(bytes);
    assert_eq!(facts.envelope(), courser_mime::envelope(bytes, &p));
    assert_eq!(
        facts.body_structure(),
        courser_mime::body_structure(bytes, &p)
    );
    assert_eq!(
        facts.references(),
        courser_mime::header_values(bytes, &p, "References")
    );
    for field in KEPT_FIELDS.iter().copied().chain(["x-other", "sender"]) {
        for name in [
            field.to_string(),
            field.to_lowercase(),
            field.to_uppercase(),
        ] {
            for needle in needles(bytes) {
                let want = courser_mime::header_contains(bytes, &p, &name, &needle);
                match facts.header_contains(&name, &needle) {
                    Some(got) => assert_eq!(got, want, "{name} {needle:?}"),
                    None => assert!(!KEPT_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(&name))),
                }
                let want = courser_mime::address_header_contains(bytes, &p, &name, &needle);
                if let Some(got) = facts.address_contains(&name, &needle) {
                    assert_eq!(got, want, "address {name} {needle:?}");
                }
            }
        }
    }
}

#[test]
fn header_answers_equal_courser_mime_on_the_corpus() {
    for m in courser_mime::corpus::messages() {
        same_answers(&m.bytes);
    }
    // Caseless beyond lowercasing: ß matches SS (i;unicode-casemap).
    let street =
        "Subject: =?utf-8?q?Gro=C3=9Fe_Stra=C3=9Fe?=\r\nFrom: \"STRASSE\" <s@x.de>\r\n\r\n";
    same_answers(street.as_bytes());
    let facts = MessageFacts::compute(street.as_bytes(), SystemTime::UNIX_EPOCH);
    assert_eq!(
        facts.header_contains("subject", "GROSSE STRASSE"),
        Some(true)
    );
    assert_eq!(facts.address_contains("from", "straße"), Some(true));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
    #[test]
    fn header_answers_equal_courser_mime_on_generated_headers(h in arb_header()) {
        same_answers(h.as_bytes());
    }
}

/// SEARCH of header fields over a big folder answers from a column kept
/// with the snapshot: the same as each message's facts (as computed from
/// its file), for kept and address fields, several needles, the empty
/// one; messages the index does not know yet are left to their facts;
/// a new snapshot has its own column.
#[test]
fn header_columns_answer_as_the_messages_do() {
    use courser_maildir::index::Needle;
    let (_t, root, s) = indexed_maildir(1100);
    let mut f = s.open_folder("INBOX", true).unwrap();
    let fields = [
        ("Subject", false),
        ("From", true),
        ("To", true),
        ("Message-ID", false),
    ];
    let needles = ["", "a", "the", "é", "@", "zz-nowhere-zz", "RE:"];
    let agree = |f: &Folder| {
        let files: Vec<MessageFacts> = f.messages().iter().map(|m| from_file(f, m.uid)).collect();
        for (field, address) in fields {
            for text in needles {
                let needle = Needle::new(text);
                let Some(column) = f.search_header(field, address, &needle) else {
                    assert_eq!(field, "Message-ID", "kept fields have columns");
                    continue;
                };
                for ((m, facts), got) in f.messages().iter().zip(&files).zip(column) {
                    let want = match address {
                        true => facts.address_has(field, &needle),
                        false => facts.header_has(field, &needle),
                    };
                    if let Some(got) = got {
                        assert_eq!(Some(got), want, "{field} {text:?} uid {}", m.uid);
                    }
                }
            }
        }
    };
    agree(&f);
    // Messages the index has no record of: the column leaves them open.
    for i in 1100..1110 {
        put(&root, "new", i);
    }
    f.refresh().unwrap();
    let needle = Needle::new("");
    let column = f.search_header("Subject", false, &needle).unwrap();
    assert_eq!(column.len(), f.messages().len());
    assert!(
        column[1100..].iter().all(Option::is_none),
        "not indexed yet"
    );
    agree(&f);
}
