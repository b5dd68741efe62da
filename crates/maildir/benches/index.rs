//! Folder index figures on a big folder: building the index (facts of
//! every message computed from its file and written), reading every
//! message's facts back from it (FETCH 1:* ENVELOPE), a header SEARCH
//! over the folder, and the index's size on disk; beside them the same
//! reads with no index (facts computed from the files).
//!
//! `cargo bench -p courser-maildir --bench index`
//! Uses the maildir in `COURSER_BENCH_MAILDIR` if set (e.g. made by
//! `courser-bench generate DIR 100000`), else generates
//! `COURSER_BENCH_MESSAGES` (default 100,000) messages from the
//! courser-mime corpus. Plain timings rather than criterion: one build of
//! 100,000 messages takes seconds.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use courser_maildir::index::INDEX_FILE;
use courser_maildir::{tools, Folder, IndexPlace, Store, StoreOptions};

fn generate(root: &Path, n: usize) {
    tools::make_maildir(root, 0o700).unwrap();
    let corpus = courser_mime::corpus::messages();
    for i in 0..n {
        let mut bytes = format!("Message-ID: <bench{i}@example.org>\nX-Serial: {i}\n").into_bytes();
        bytes.extend_from_slice(&corpus[i % corpus.len()].bytes);
        let name = format!(
            "{}.M{i}P4242.bench,S={}:2,S",
            1_600_000_000 + i,
            bytes.len()
        );
        fs::write(root.join("cur").join(name), bytes).unwrap();
    }
}

fn store(root: &Path, index: IndexPlace) -> Store {
    Store::open(
        root,
        StoreOptions {
            index,
            ..StoreOptions::default()
        },
    )
    .unwrap()
}

/// CPU time of this thread so far (the machine may be busy: wall time
/// alone would measure the neighbours too).
fn cpu_secs() -> f64 {
    fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0.0, |ns| ns as f64 / 1e9)
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let (t, c) = (Instant::now(), cpu_secs());
    let r = f();
    println!(
        "{what:<44} {:>8.3} s wall {:>8.3} s cpu",
        t.elapsed().as_secs_f64(),
        cpu_secs() - c
    );
    r
}

/// FETCH 1:* ENVELOPE's share: every message's envelope.
fn read_all(f: &Folder) -> usize {
    let uids: Vec<u32> = f.messages().iter().map(|m| m.uid).collect();
    let mut n = 0;
    for (_, facts) in f.facts_for(&uids) {
        n += facts.unwrap().envelope().subject.map_or(0, |s| s.len());
    }
    n
}

/// SEARCH SUBJECT's share.
fn search(f: &Folder, needle: &str) -> usize {
    let uids: Vec<u32> = f.messages().iter().map(|m| m.uid).collect();
    f.facts_for(&uids)
        .filter(|(_, facts)| {
            facts.as_ref().unwrap().header_contains("Subject", needle) == Some(true)
        })
        .count()
}

fn open(s: &Store) -> Folder {
    s.open_folder("INBOX", true).unwrap()
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` probes
    }
    let t = tempfile::tempdir().unwrap();
    let root: PathBuf = match std::env::var_os("COURSER_BENCH_MAILDIR") {
        Some(p) => PathBuf::from(p),
        None => {
            let n = std::env::var("COURSER_BENCH_MESSAGES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(100_000);
            let root = t.path().join("Maildir");
            timed(&format!("generate {n} messages"), || generate(&root, n));
            root
        }
    };
    let reuse = std::env::var_os("COURSER_BENCH_REUSE_INDEX").is_some();
    if !reuse {
        let _ = fs::remove_file(root.join(INDEX_FILE));
    }
    let indexed = store(&root, IndexPlace::InFolder);
    let plain = store(&root, IndexPlace::Off);
    let count = timed("open (uiddb, page cache warm-up)", || {
        read_all(&open(&plain));
        open(&indexed).messages().len()
    });
    println!("messages: {count}");
    timed("open folder (no index read)", || {
        open(&plain).messages().len()
    });
    let f = open(&plain);
    timed("no index: envelopes of all from files", || read_all(&f));
    if !reuse {
        timed("build: facts of all computed + recorded", || {
            let mut f = open(&indexed);
            let uids: Vec<u32> = f.messages().iter().map(|m| m.uid).collect();
            for (_, r) in f.facts_for(&uids) {
                r.unwrap();
            }
            f.flush_index();
        });
    }
    let size = fs::metadata(root.join(INDEX_FILE)).unwrap().len();
    println!(
        "index size: {size} bytes ({} bytes a message)",
        size / count.max(1) as u64
    );
    let f = open(&indexed);
    for round in 1..=3 {
        timed(&format!("indexed: envelopes of all, run {round}"), || {
            read_all(&f)
        });
    }
    let hits = timed("indexed: SEARCH SUBJECT over all", || {
        search(&f, "quarterly")
    });
    println!("  ({hits} hits)");
    let f = open(&plain);
    let hits = timed("no index: SEARCH SUBJECT over all", || {
        search(&f, "quarterly")
    });
    println!("  ({hits} hits)");
    timed("indexed: open + facts of one message", || {
        let f = open(&indexed);
        let uid = f.messages()[count / 2].uid;
        f.facts(uid).unwrap().rfc822_size
    });
}
