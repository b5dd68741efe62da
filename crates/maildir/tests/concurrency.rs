//! Several processes (this test binary re-run as workers) plus an external
//! writer delivering into new/ work on one folder at once; afterwards no
//! message is lost or duplicated and no UID was ever given to two messages.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use courser_maildir::{tools, Carry, FlagOp, Flags, Folder, Store, StoreOptions};

const ROLE: &str = "COURSER_CONC_ROLE";
const DIR: &str = "COURSER_CONC_DIR";
const PER_WORKER: usize = 30;

fn store(root: &Path) -> Store {
    Store::open(root, StoreOptions::default()).unwrap()
}

fn id_of(f: &Folder, uid: u32) -> Option<String> {
    let mut s = String::new();
    f.open_message(uid).ok()?.read_to_string(&mut s).ok()?;
    s.lines()
        .next()
        .map(|l| l.trim_start_matches("Message-Id: ").to_string())
}

/// Records uid → id for every message seen; panics if a UID ever names two
/// different messages.
struct UidWatch(HashMap<u32, String>);

impl UidWatch {
    fn check(&mut self, f: &Folder) {
        let uids: Vec<u32> = f.messages().iter().map(|m| m.uid).collect();
        for uid in uids {
            if self.0.contains_key(&uid) {
                continue;
            }
            if let Some(id) = id_of(f, uid) {
                if let Some(old) = self.0.insert(uid, id.clone()) {
                    assert_eq!(old, id, "UID {uid} used for two messages");
                }
            }
        }
    }
}

fn worker(role: &str, root: &Path) {
    let s = store(root);
    match role {
        r if r.starts_with("append") => {
            let mut log = String::new();
            for n in 0..PER_WORKER {
                let disposable = n % 3 == 0;
                let id = format!("{r}-{n}{}", if disposable { "-X" } else { "" });
                let body = format!("Message-Id: {id}\n\nbody {n}\n");
                let a = s
                    .append("INBOX", body.as_bytes(), Flags::EMPTY, &[], None)
                    .unwrap();
                log.push_str(&format!("{} {id}\n", a.uid));
            }
            fs::write(root.join(format!("log-{r}")), log).unwrap();
        }
        "flagger" => {
            let mut f = s.open_folder("INBOX", true).unwrap();
            let mut w = UidWatch(HashMap::new());
            for i in 0..40 {
                f.refresh().unwrap();
                w.check(&f);
                let uids: Vec<u32> = f.messages().iter().map(|m| m.uid).collect();
                let (op, fl) = if i % 2 == 0 {
                    (FlagOp::Add, Flags::SEEN)
                } else {
                    (FlagOp::Remove, Flags::SEEN | Flags::FLAGGED)
                };
                f.store(&uids, op, fl, &[format!("kw{}", i % 3)]).unwrap();
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        "mover" => {
            let mut f = s.open_folder("INBOX", true).unwrap();
            let mut w = UidWatch(HashMap::new());
            for _ in 0..40 {
                f.refresh().unwrap();
                w.check(&f);
                // move messages whose id ends in 7, copy those ending in 5
                let mut mv = Vec::new();
                let mut cp = Vec::new();
                for m in f.messages() {
                    if let Some(id) = id_of(&f, m.uid) {
                        if id.ends_with('7') {
                            mv.push(m.uid);
                        } else if id.ends_with('5') {
                            cp.push(m.uid);
                        }
                    }
                }
                f.copy_to(&cp, &s, "INBOX.Copies", Carry::ALL, None)
                    .unwrap();
                f.move_to(&mv, &s, "INBOX.Moved", Carry::ALL, None).unwrap();
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        "expunger" => {
            let mut f = s.open_folder("INBOX", true).unwrap();
            let mut w = UidWatch(HashMap::new());
            for _ in 0..40 {
                f.refresh().unwrap();
                w.check(&f);
                let x: Vec<u32> = f
                    .messages()
                    .iter()
                    .filter(|m| id_of(&f, m.uid).map(|i| i.ends_with("-X")).unwrap_or(false))
                    .map(|m| m.uid)
                    .collect();
                f.store(&x, FlagOp::Add, Flags::DELETED, &[]).unwrap();
                f.expunge(Some(&x)).unwrap();
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        other => panic!("unknown role {other}"),
    }
}

/// Entry point for child processes; does nothing when run as a test.
#[test]
fn worker_entry() {
    if let (Ok(role), Ok(dir)) = (std::env::var(ROLE), std::env::var(DIR)) {
        worker(&role, Path::new(&dir));
    }
}

fn uiddb(dir: &Path) -> Vec<(u32, String)> {
    let text = fs::read_to_string(dir.join("courierimapuiddb")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let (u, n) = l.split_once(' ').unwrap();
            (u.parse().unwrap(), n.to_string())
        })
        .collect()
}

#[test]
fn concurrent_processes_never_lose_or_reuse() {
    let t = tempfile::tempdir().unwrap();
    let root: PathBuf = t.path().join("Maildir");
    tools::make_maildir(&root, 0o700).unwrap();
    let s = store(&root);
    s.create_folder("INBOX.Moved").unwrap();
    s.create_folder("INBOX.Copies").unwrap();
    s.open_folder("INBOX", true).unwrap();

    let exe = std::env::current_exe().unwrap();
    let roles = ["append1", "append2", "flagger", "mover", "expunger"];
    let children: Vec<_> = roles
        .iter()
        .map(|r| {
            Command::new(&exe)
                .args(["--exact", "worker_entry", "--nocapture", "--test-threads=1"])
                .env(ROLE, r)
                .env(DIR, &root)
                .spawn()
                .unwrap()
        })
        .collect();
    // the external MDA: plain files via tmp/ into new/
    for n in 0..PER_WORKER {
        let id = format!("mda-{n}");
        let name = format!("{}.M{n}P99999.mda", 1_700_000_000 + n);
        let tmp = root.join("tmp").join(&name);
        fs::write(&tmp, format!("Message-Id: {id}\n\nx\n")).unwrap();
        fs::rename(&tmp, root.join("new").join(&name)).unwrap();
        std::thread::sleep(Duration::from_millis(3));
    }
    for (mut c, r) in children.into_iter().zip(roles) {
        assert!(c.wait().unwrap().success(), "worker {r} failed");
    }

    // every non-disposable message exactly once in INBOX ∪ Moved
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut final_uid: HashMap<String, u32> = HashMap::new();
    for folder in ["INBOX", "INBOX.Moved"] {
        let f = s.open_folder(folder, true).unwrap();
        let mut uids = HashSet::new();
        for m in f.messages() {
            assert!(uids.insert(m.uid));
            let id = id_of(&f, m.uid).unwrap();
            *seen.entry(id.clone()).or_default() += 1;
            if folder == "INBOX" {
                final_uid.insert(id, m.uid);
            }
        }
        // uiddb: no UID or name twice, and it covers the folder
        let db = uiddb(f.dir());
        let du: HashSet<u32> = db.iter().map(|e| e.0).collect();
        let dn: HashSet<&String> = db.iter().map(|e| &e.1).collect();
        assert_eq!(du.len(), db.len(), "duplicate UID in {folder} uiddb");
        assert_eq!(dn.len(), db.len(), "duplicate name in {folder} uiddb");
        for m in f.messages() {
            assert!(du.contains(&m.uid));
        }
    }
    let mut expected = Vec::new();
    for r in ["append1", "append2"] {
        for n in 0..PER_WORKER {
            if n % 3 != 0 {
                expected.push(format!("{r}-{n}"));
            }
        }
    }
    for n in 0..PER_WORKER {
        expected.push(format!("mda-{n}"));
    }
    for id in &expected {
        assert_eq!(
            seen.get(id).copied().unwrap_or(0),
            1,
            "message {id} lost or duplicated: {seen:?}"
        );
    }
    for (id, n) in &seen {
        assert_eq!(*n, 1, "{id} duplicated");
    }
    // UIDPLUS answers are the UIDs the messages still have
    for r in ["append1", "append2"] {
        for line in fs::read_to_string(root.join(format!("log-{r}")))
            .unwrap()
            .lines()
        {
            let (uid, id) = line.split_once(' ').unwrap();
            if let Some(u) = final_uid.get(id) {
                assert_eq!(u.to_string(), uid, "{id} changed UID");
            }
        }
    }
    assert_eq!(fs::read_dir(root.join("new")).unwrap().count(), 0);
}
