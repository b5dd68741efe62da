//! Workload 2: idle connections.
//!
//! 1. Reads the server's memory (PSS summed over its process trees).
//! 2. Opens N connections, each LOGIN (all as the first user), SELECT
//!    INBOX and IDLE, waits `settle`, reads the memory again:
//!    per-connection memory = (after − before) / N.
//! 3. Delivers one message as an outside MDA would (write into `tmp/`,
//!    rename into `new/` of the INBOX maildir) and times until every
//!    client has received the new `EXISTS` (push latency, per client and
//!    for the last one).

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use tokio::sync::Semaphore;

use super::{ms, Common, Outcome};
use crate::gen;
use crate::imap::{self, Client};
use crate::mem;
use crate::stats::Samples;

/// Arguments of the idle workload.
pub struct Args {
    /// Connections to hold in IDLE.
    pub clients: usize,
    /// Pids whose process trees make up the server (may be empty: no
    /// memory figures then).
    pub pids: Vec<u32>,
    /// The INBOX maildir of the first user, for the delivery (none: no
    /// push measurement).
    pub maildir: Option<PathBuf>,
    /// How long to wait for the pushes.
    pub push_timeout: Duration,
    /// Wait after the last IDLE before reading memory.
    pub settle: Duration,
    /// Connections being set up at once.
    pub ramp: usize,
}

async fn open(common: &Common) -> imap::Result<(Client, String)> {
    let mut c = Client::login(
        &common.target,
        &common.user(0),
        &common.password,
        common.timeout,
    )
    .await?;
    c.command("SELECT INBOX").await?.check()?;
    let tag = c.idle_start().await?;
    Ok((c, tag))
}

/// Runs the workload.
pub async fn run(common: &Common, args: Args) -> Outcome {
    let mut problems = Vec::new();
    let (base_kib, base_procs) = mem::tree_pss_kib(&args.pids);
    let common = Arc::new(common.clone());
    let sem = Arc::new(Semaphore::new(args.ramp.max(1)));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let common = common.clone();
        let sem = sem.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await;
            open(&common).await
        }));
    }
    let mut clients = Vec::new();
    let mut failed = 0;
    let mut first_error = None;
    for t in tasks {
        match t.await {
            Ok(Ok(c)) => clients.push(c),
            Ok(Err(e)) => {
                failed += 1;
                first_error.get_or_insert(e.to_string());
            }
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    let setup = start.elapsed();
    tokio::time::sleep(args.settle).await;
    let (idle_kib, idle_procs) = mem::tree_pss_kib(&args.pids);
    let n = clients.len();
    let per_conn = if n > 0 && !args.pids.is_empty() {
        Some((idle_kib as f64 - base_kib as f64) / n as f64)
    } else {
        None
    };
    println!(
        "idle: {n} connections in IDLE ({failed} failed) in {:.1} s",
        setup.as_secs_f64()
    );
    if let Some(p) = per_conn {
        println!(
            "memory: {base_kib} KiB in {base_procs} processes before, {idle_kib} KiB in {idle_procs} after: {p:.1} KiB per connection"
        );
    }
    if failed > 0 {
        problems.push(format!(
            "{failed} connections failed: {}",
            first_error.clone().unwrap_or_default()
        ));
    }

    // Delivery and push latency.
    let mut push = Samples::default();
    let mut last = None;
    let mut survivors = Vec::new();
    if let Some(maildir) = &args.maildir {
        let mut waiters = Vec::new();
        for (mut c, tag) in clients {
            let before = c.exists;
            let wait = args.push_timeout;
            waiters.push(tokio::spawn(async move {
                let r = c
                    .idle_wait_exists(before, wait)
                    .await
                    .map(|_| Instant::now());
                (c, tag, r)
            }));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let t0 = Instant::now();
        if let Err(e) = deliver(maildir) {
            problems.push(format!("delivery into {}: {e}", maildir.display()));
        }
        for w in waiters {
            match w.await {
                Ok((c, tag, Ok(at))) => {
                    let d = at.saturating_duration_since(t0);
                    push.record(d);
                    last = Some(last.map_or(d, |l: Duration| l.max(d)));
                    survivors.push((c, tag));
                }
                Ok((c, tag, Err(_))) => {
                    push.error();
                    survivors.push((c, tag));
                }
                Err(_) => push.error(),
            }
        }
        let s = push.summary(1.0);
        println!(
            "push: {}/{n} clients got EXISTS; p50 {:.1} ms, p90 {:.1} ms, last {:.1} ms",
            s.count,
            s.p50_ms,
            s.p90_ms,
            last.map(ms).unwrap_or(0.0)
        );
        if push.count() as usize != n {
            problems.push(format!(
                "{} of {n} clients never saw the delivery",
                n - push.count() as usize
            ));
        }
    } else {
        survivors = clients;
    }

    // Leave politely, a few at a time.
    let mut closers = Vec::new();
    for (mut c, tag) in survivors {
        let sem = sem.clone();
        closers.push(tokio::spawn(async move {
            let _permit = sem.acquire().await;
            let _ = c.idle_done(&tag).await;
            let _ = c.command("LOGOUT").await;
        }));
    }
    for c in closers {
        let _ = c.await;
    }

    let summary = push.summary(1.0);
    Outcome {
        ok: problems.is_empty(),
        problems,
        result: json!({
            "clients": args.clients,
            "established": n,
            "failed": failed,
            "first_error": first_error,
            "setup_seconds": setup.as_secs_f64(),
            "pss_before_kib": base_kib,
            "processes_before": base_procs,
            "pss_idle_kib": idle_kib,
            "processes_idle": idle_procs,
            "kib_per_connection": per_conn,
            "push_received": summary.count,
            "push_p50_ms": summary.p50_ms,
            "push_p90_ms": summary.p90_ms,
            "push_last_ms": last.map(ms),
        }),
    }
}

/// Writes one message into `tmp/`, owned like the maildir, and renames
/// it into `new/`.
fn deliver(maildir: &std::path::Path) -> std::io::Result<()> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let data = gen::message(900_000_000);
    let name = format!(
        "{}.M{}P{}_idle.bench.courser.test,S={}",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id(),
        data.len()
    );
    let tmp = maildir.join("tmp").join(&name);
    std::fs::write(&tmp, &data)?;
    let meta = std::fs::metadata(maildir)?;
    // Best effort: as root, give the file to the maildir's owner.
    let _ = std::os::unix::fs::chown(&tmp, Some(meta.uid()), Some(meta.gid()));
    std::fs::rename(&tmp, maildir.join("new").join(&name))
}
