//! Folder benchmarks on a 100,000-message folder: open cold (no uiddb),
//! open warm, and refresh detecting one new message.
//!
//! `cargo bench -p courser-maildir --bench folder`
//! (`COURSER_BENCH_MESSAGES=N` changes the folder size).

use std::fs;
use std::path::Path;
use std::time::Duration;

use courser_maildir::{tools, Store, StoreOptions};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

fn messages() -> usize {
    std::env::var("COURSER_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn fill(root: &Path, n: usize) {
    tools::make_maildir(root, 0o700).unwrap();
    let cur = root.join("cur");
    for i in 0..n {
        let name = format!(
            "{}.M{}P4242V0000000000000801I{:016X}_{}.bench,S=120:2,{}",
            1_600_000_000 + i / 10,
            i % 1_000_000,
            i,
            i,
            if i % 2 == 0 { "S" } else { "" }
        );
        fs::write(cur.join(name), b"").unwrap();
    }
}

fn bench(c: &mut Criterion) {
    let n = messages();
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("Maildir");
    fill(&root, n);
    let store = Store::open(&root, StoreOptions::default()).unwrap();
    let mut g = c.benchmark_group(format!("folder_{n}"));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));

    g.bench_function("open_cold_no_uiddb", |b| {
        b.iter_batched(
            || {
                let _ = fs::remove_file(root.join("courierimapuiddb"));
            },
            |()| store.open_folder("INBOX", true).unwrap(),
            BatchSize::PerIteration,
        )
    });
    store.open_folder("INBOX", true).unwrap();
    g.bench_function("open_warm", |b| {
        b.iter(|| store.open_folder("INBOX", true).unwrap())
    });
    g.bench_function("open_warm_readonly", |b| {
        b.iter(|| store.open_folder("INBOX", false).unwrap())
    });

    let mut folder = store.open_folder("INBOX", true).unwrap();
    // let the directory mtimes age past the granularity window
    std::thread::sleep(Duration::from_millis(2100));
    folder.refresh().unwrap();
    g.bench_function("refresh_nothing_changed", |b| {
        b.iter(|| assert!(folder.refresh().unwrap().is_empty()))
    });
    let mut k = 0u64;
    g.bench_function("refresh_one_new_message", |b| {
        b.iter_batched(
            || {
                k += 1;
                fs::write(
                    root.join("new").join(format!("1900000000.M{k}P1.mda")),
                    b"x\n",
                )
                .unwrap();
            },
            |()| {
                let ch = folder.refresh().unwrap();
                assert_eq!(ch.added.len(), 1);
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
