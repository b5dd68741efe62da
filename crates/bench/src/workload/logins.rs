//! Workload 4: login storm. `clients` workers loop for a fixed time:
//! connect (TCP, TLS handshake when `--tls`, greeting), `LOGIN`, `LOGOUT`,
//! close. Reports complete cycles per second and the latency of each
//! part.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Common, Outcome};
use crate::imap::{self, Client};
use crate::stats::Samples;

/// Arguments of the login storm.
pub struct Args {
    /// Concurrent workers.
    pub clients: usize,
    /// Run time.
    pub duration: Duration,
}

type Stats = BTreeMap<&'static str, Samples>;

async fn cycle(common: &Common, user: &str, stats: &mut Stats) -> imap::Result<()> {
    let t0 = Instant::now();
    let mut c = Client::connect(&common.target, common.timeout).await?;
    let t1 = Instant::now();
    let login = format!(
        "LOGIN {} {}",
        imap::quote(user),
        imap::quote(&common.password)
    );
    c.command(&login).await?.check()?;
    let t2 = Instant::now();
    c.command("LOGOUT").await?.check()?;
    let t3 = Instant::now();
    stats.entry("CONNECT").or_default().record(t1 - t0);
    stats.entry("LOGIN").or_default().record(t2 - t1);
    stats.entry("LOGOUT").or_default().record(t3 - t2);
    stats.entry("CYCLE").or_default().record(t3 - t0);
    Ok(())
}

/// Runs the workload.
pub async fn run(common: &Common, args: Args) -> Outcome {
    let common = Arc::new(common.clone());
    let start = Instant::now();
    let deadline = start + args.duration;
    let mut tasks = Vec::new();
    let step = args.clients.max(1);
    for id in 0..args.clients {
        let common = common.clone();
        tasks.push(tokio::spawn(async move {
            let mut stats = Stats::new();
            let mut why = None;
            let mut k = id;
            while Instant::now() < deadline {
                let user = common.user(k);
                k += step;
                if let Err(e) = cycle(&common, &user, &mut stats).await {
                    stats.entry("CYCLE").or_default().error();
                    why.get_or_insert(e.to_string());
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            (stats, why)
        }));
    }
    let mut stats = Stats::new();
    let mut why = None;
    for t in tasks {
        if let Ok((s, w)) = t.await {
            for (k, v) in s {
                stats.entry(k).or_default().merge(&v);
            }
            why = why.or(w);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let cycles = stats.get("CYCLE").cloned().unwrap_or_default();
    let errors = cycles.errors();
    println!(
        "logins: {} workers, {} over {}, {secs:.1} s: {:.1} logins/s, {errors} failed",
        args.clients,
        cycles.count(),
        if common.target.is_tls() {
            "TLS"
        } else {
            "plain TCP"
        },
        cycles.count() as f64 / secs
    );
    let mut parts = serde_json::Map::new();
    for (k, v) in &stats {
        let s = v.summary(secs);
        println!(
            "  {k:<8} p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms",
            s.p50_ms, s.p90_ms, s.p99_ms
        );
        parts.insert(k.to_string(), json!(s));
    }
    let mut problems = Vec::new();
    if cycles.count() == 0 {
        problems.push(format!(
            "no login completed: {}",
            why.clone().unwrap_or_default()
        ));
    } else if common.quick && errors > 0 {
        problems.push(format!(
            "{errors} logins failed: {}",
            why.clone().unwrap_or_default()
        ));
    }
    Outcome {
        ok: problems.is_empty(),
        problems,
        result: json!({
            "clients": args.clients,
            "tls": common.target.is_tls(),
            "seconds": secs,
            "logins": cycles.count(),
            "errors": errors,
            "first_error": why,
            "logins_per_sec": cycles.count() as f64 / secs,
            "parts": parts,
        }),
    }
}
