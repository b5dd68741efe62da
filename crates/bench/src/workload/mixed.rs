//! Workload 1: a mixed session profile in the manner of imaptest.
//!
//! N clients run concurrently for a fixed time. Each runs sessions:
//! connect, LOGIN, SELECT, then a fixed number of operations drawn at
//! random from a weighted mix, then LOGOUT, and again. Operations:
//!
//! | name       | command(s)                                             |
//! |------------|--------------------------------------------------------|
//! | `envelope` | `FETCH a:b (UID FLAGS ENVELOPE)` on 10 consecutive msgs |
//! | `body`     | `FETCH n (UID RFC822.SIZE BODY.PEEK[])` on one message   |
//! | `store`    | `STORE n +FLAGS (\Seen)` or `-FLAGS (\Flagged)`, etc.    |
//! | `append`   | `APPEND INBOX (\Seen) {..}` of a ~1 KB message            |
//! | `expunge`  | `STORE n +FLAGS.SILENT (\Deleted)` then `EXPUNGE`         |
//! | `search`   | `SEARCH SUBJECT "<term>"`                                |
//! | `noop`     | `NOOP`                                                   |
//!
//! Latency is recorded per operation (the expunge pair as one), plus
//! CONNECT (TCP/TLS and greeting), LOGIN, SELECT and LOGOUT.
//!
//! A session the server ends under the client (`* BYE`, as a proxy says
//! when the backend went away, or a bare close or reset) is counted as
//! such, not as a failed operation, and the client starts a new one; the
//! result tells how many sessions completed, ended by BYE, were cut
//! without one, or broke otherwise, and how many of the ended ones were
//! followed by a successful LOGIN.
//!
//! By default each client sends its next operation as soon as the last is
//! answered (closed loop): a faster server gets more operations, and its
//! latencies are those of a busier machine. With a rate, each client
//! paces its operations so that all of them together send `rate` per
//! second, and servers are compared under the same load; a client that
//! falls behind sends at once until it is back on schedule.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Common, Outcome};
use crate::gen::{self, Rng};
use crate::imap::{self, Client};
use crate::stats::Samples;

/// One kind of operation in the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// FETCH ENVELOPE of a range.
    Envelope,
    /// FETCH BODY.PEEK[] of one message.
    Body,
    /// STORE flags.
    Store,
    /// APPEND one message.
    Append,
    /// Mark one message deleted and EXPUNGE.
    Expunge,
    /// SEARCH SUBJECT.
    Search,
    /// NOOP.
    Noop,
}

impl Op {
    fn parse(name: &str) -> Option<Op> {
        Some(match name {
            "envelope" => Op::Envelope,
            "body" => Op::Body,
            "store" => Op::Store,
            "append" => Op::Append,
            "expunge" => Op::Expunge,
            "search" => Op::Search,
            "noop" => Op::Noop,
            _ => return None,
        })
    }

    /// The label latencies are recorded under.
    pub fn label(self) -> &'static str {
        match self {
            Op::Envelope => "FETCH ENVELOPE",
            Op::Body => "FETCH BODY",
            Op::Store => "STORE",
            Op::Append => "APPEND",
            Op::Expunge => "EXPUNGE",
            Op::Search => "SEARCH",
            Op::Noop => "NOOP",
        }
    }
}

/// The default mix (weights, in any unit).
pub const DEFAULT_MIX: &str = "envelope=30,body=20,store=20,append=10,expunge=10,noop=10";

/// Parses `name=weight,...`.
pub fn parse_mix(s: &str) -> Result<Vec<(Op, u32)>, String> {
    let mut out = Vec::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let (name, w) = part
            .split_once('=')
            .ok_or_else(|| format!("mix entry {part:?}: expected name=weight"))?;
        let op = Op::parse(name.trim()).ok_or_else(|| format!("unknown operation {name:?}"))?;
        let w: u32 = w
            .trim()
            .parse()
            .map_err(|_| format!("mix entry {part:?}: bad weight"))?;
        out.push((op, w));
    }
    if out.iter().map(|(_, w)| w).sum::<u32>() == 0 {
        return Err("the mix has no weight".into());
    }
    Ok(out)
}

/// Arguments of the mixed workload.
pub struct Args {
    /// Concurrent clients.
    pub clients: usize,
    /// Run time.
    pub duration: Duration,
    /// Weighted operations.
    pub mix: Vec<(Op, u32)>,
    /// Operations per session before LOGOUT and a new session.
    pub ops_per_session: usize,
    /// Mailbox to select.
    pub mailbox: String,
    /// Operations per second over all clients (none: closed loop).
    pub rate: Option<f64>,
}

/// A client's schedule at a fixed rate.
struct Pace {
    next: Instant,
    every: Duration,
}

impl Pace {
    /// Waits for the next operation's turn.
    async fn turn(&mut self) {
        tokio::time::sleep_until(self.next.into()).await;
        self.next += self.every;
    }
}

type Stats = BTreeMap<&'static str, Samples>;

/// Runs the workload.
pub async fn run(common: &Common, args: Args) -> Outcome {
    let common = Arc::new(common.clone());
    let mix = Arc::new(args.mix);
    let start = Instant::now();
    let deadline = start + args.duration;
    let mut tasks = Vec::new();
    for id in 0..args.clients {
        let common = common.clone();
        let mix = mix.clone();
        let mailbox = args.mailbox.clone();
        let per = args.ops_per_session;
        let clients = args.clients;
        // Clients start spread over one interval, not all at once.
        let pace = args.rate.map(|rate| {
            let every = Duration::from_secs_f64(args.clients as f64 / rate);
            Pace {
                next: start + every.mul_f64(id as f64 / args.clients as f64),
                every,
            }
        });
        tasks.push(tokio::spawn(async move {
            client(id, &common, &mix, per, &mailbox, deadline, pace, clients).await
        }));
    }
    let mut stats = Stats::new();
    let mut endings = Endings::default();
    let mut first_failure = None;
    for t in tasks {
        match t.await {
            Ok((s, e, why)) => {
                for (k, v) in s {
                    stats.entry(k).or_default().merge(&v);
                }
                endings.add(&e);
                first_failure = first_failure.or(why);
            }
            Err(e) => {
                endings.errors += 1;
                first_failure.get_or_insert(format!("client task: {e}"));
            }
        }
    }
    let failures = endings.broken();
    let secs = start.elapsed().as_secs_f64();
    let ops: u64 = stats
        .iter()
        .filter(|(k, _)| !matches!(**k, "CONNECT" | "LOGIN" | "SELECT" | "LOGOUT"))
        .map(|(_, v)| v.count())
        .sum();
    let errors: u64 = stats.values().map(|v| v.errors()).sum();
    let paced = args
        .rate
        .map_or_else(String::new, |r| format!(" paced at {r:.0}/s,"));
    println!(
        "mixed: {} clients,{paced} {secs:.1} s, {ops} operations ({:.1}/s), {errors} failed, {failures} sessions broken",
        args.clients,
        ops as f64 / secs
    );
    if endings.bye + endings.closed > 0 {
        println!(
            "sessions: {} completed, {} ended by BYE, {} cut without BYE, {} broken otherwise, {} of the ended followed by a login",
            endings.completed, endings.bye, endings.closed, endings.errors, endings.reconnected
        );
    }
    println!(
        "{:<16} {:>8} {:>6} {:>9} {:>8} {:>8} {:>8} {:>8}",
        "command", "count", "err", "per s", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    let mut per_cmd = serde_json::Map::new();
    for (k, v) in &stats {
        let s = v.summary(secs);
        println!(
            "{k:<16} {:>8} {:>6} {:>9.1} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            s.count, s.errors, s.per_sec, s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms
        );
        per_cmd.insert(k.to_string(), json!(s));
    }
    let mut problems = Vec::new();
    if ops == 0 {
        problems.push("no operation completed".to_string());
    }
    if common.quick && (errors > 0 || failures > 0) {
        problems.push(format!(
            "{errors} operations failed, {failures} sessions broke (first: {})",
            first_failure.clone().unwrap_or_default()
        ));
    }
    Outcome {
        ok: problems.is_empty(),
        problems,
        result: json!({
            "clients": args.clients,
            "rate": args.rate,
            "seconds": secs,
            "operations": ops,
            "ops_per_sec": ops as f64 / secs,
            "errors": errors,
            "broken_sessions": failures,
            "sessions": {
                "completed": endings.completed,
                "ended_by_bye": endings.bye,
                "ended_by_close": endings.closed,
                "errors": endings.errors,
                "reconnected": endings.reconnected,
            },
            "first_failure": first_failure,
            "commands": per_cmd,
        }),
    }
}

/// How many sessions ended which way, over all clients.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Endings {
    /// Ran their operations and logged out.
    pub completed: u64,
    /// Ended by the server's `* BYE` (a proxy whose backend went away).
    pub bye: u64,
    /// Cut without a `* BYE`: closed or reset under the client.
    pub closed: u64,
    /// Broken by anything else: a refused LOGIN or SELECT, a timeout,
    /// an answer the client could not follow.
    pub errors: u64,
    /// Sessions ended by BYE or cut after which their client's LOGIN
    /// succeeded again.
    pub reconnected: u64,
}

impl Endings {
    fn add(&mut self, other: &Endings) {
        self.completed += other.completed;
        self.bye += other.bye;
        self.closed += other.closed;
        self.errors += other.errors;
        self.reconnected += other.reconnected;
    }

    /// Sessions that did not complete.
    pub fn broken(&self) -> u64 {
        self.bye + self.closed + self.errors
    }
}

/// How one session ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// LOGOUT answered.
    Completed,
    /// The server said `* BYE` and closed; `logged_in`: after a LOGIN
    /// that succeeded.
    Bye { logged_in: bool },
    /// The connection ended without a BYE.
    Closed { logged_in: bool },
    /// Anything else.
    Error { logged_in: bool, why: String },
}

impl End {
    /// Sorts out a session's error: a BYE the server sent counts first,
    /// whatever failed after it.
    fn of(bye: bool, logged_in: bool, e: &imap::Error) -> End {
        if bye {
            End::Bye { logged_in }
        } else if e.connection_ended() {
            End::Closed { logged_in }
        } else {
            End::Error {
                logged_in,
                why: e.to_string(),
            }
        }
    }

    fn logged_in(&self) -> bool {
        match self {
            End::Completed => true,
            End::Bye { logged_in } | End::Closed { logged_in } => *logged_in,
            End::Error { logged_in, .. } => *logged_in,
        }
    }

    /// Whether the server ended the session under the client.
    fn cut(&self) -> bool {
        matches!(self, End::Bye { .. } | End::Closed { .. })
    }
}

/// One client: sessions until the deadline, and one more when a session
/// it ran was cut and no LOGIN has succeeded since (so that every cut
/// session is followed by a login attempt).
/// Returns its samples, how its sessions ended, and the first reason one
/// broke other than a cut.
#[allow(clippy::too_many_arguments)]
async fn client(
    id: usize,
    common: &Common,
    mix: &[(Op, u32)],
    per_session: usize,
    mailbox: &str,
    deadline: Instant,
    mut pace: Option<Pace>,
    clients: usize,
) -> (Stats, Endings, Option<String>) {
    let mut rng = Rng::new(0xC0FFEE ^ id as u64);
    let mut stats = Stats::new();
    let mut endings = Endings::default();
    let mut why = None;
    // The first session is shorter by a share that depends on the client,
    // so that the clients' sessions do not all end, and log in and SELECT
    // again, at the same moment (a paced run would keep them in step).
    let mut ops = (per_session * (id + 1)).div_ceil(clients).max(1);
    // Cut sessions not yet followed by a successful LOGIN.
    let mut unanswered = 0;
    let mut late = false;
    while Instant::now() < deadline || (unanswered > 0 && !late) {
        late = Instant::now() >= deadline;
        let this = std::mem::replace(&mut ops, per_session);
        let plan = Plan {
            mix,
            mailbox,
            deadline,
        };
        let end = session(
            (id, common),
            &plan,
            this,
            (&mut rng, &mut stats),
            pace.as_mut(),
        )
        .await;
        if end.logged_in() {
            endings.reconnected += unanswered;
            unanswered = 0;
        }
        if end.cut() {
            unanswered += 1;
        }
        match end {
            End::Completed => {
                endings.completed += 1;
                continue;
            }
            End::Bye { .. } => endings.bye += 1,
            End::Closed { .. } => endings.closed += 1,
            End::Error { why: w, .. } => {
                endings.errors += 1;
                why.get_or_insert(w);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (stats, endings, why)
}

/// Times one command; a NO/BAD counts as an error of that label.
async fn timed(
    stats: &mut Stats,
    label: &'static str,
    fut: impl std::future::Future<Output = imap::Result<imap::Response>>,
) -> imap::Result<imap::Response> {
    let t = Instant::now();
    match fut.await {
        Ok(r) => {
            if r.ok() {
                stats.entry(label).or_default().record(t.elapsed());
            } else {
                stats.entry(label).or_default().error();
            }
            Ok(r)
        }
        Err(e) => {
            // A session the server ended is counted as such, not as a
            // failed operation.
            if !e.connection_ended() {
                stats.entry(label).or_default().error();
            }
            Err(e)
        }
    }
}

/// What every session of a client does.
struct Plan<'a> {
    mix: &'a [(Op, u32)],
    mailbox: &'a str,
    deadline: Instant,
}

/// One session of `ops` operations: connect, LOGIN, SELECT, operations,
/// LOGOUT.
async fn session(
    (id, common): (usize, &Common),
    plan: &Plan<'_>,
    ops: usize,
    (rng, stats): (&mut Rng, &mut Stats),
    pace: Option<&mut Pace>,
) -> End {
    let t = Instant::now();
    let mut c = match Client::connect(&common.target, common.timeout).await {
        Ok(c) => c,
        Err(e) => {
            stats.entry("CONNECT").or_default().error();
            return End::of(false, false, &e);
        }
    };
    stats.entry("CONNECT").or_default().record(t.elapsed());
    let login = format!(
        "LOGIN {} {}",
        imap::quote(&common.user(id)),
        imap::quote(&common.password)
    );
    match timed(stats, "LOGIN", c.command(&login)).await {
        Ok(r) if r.ok() => {}
        Ok(r) => {
            return End::Error {
                logged_in: false,
                why: format!("LOGIN refused: {}", r.text),
            }
        }
        Err(e) => return End::of(c.bye.is_some(), false, &e),
    }
    match operations(&mut c, plan, ops, (rng, stats), pace).await {
        Ok(()) => End::Completed,
        Err(e) => End::of(c.bye.is_some(), true, &e),
    }
}

/// SELECT, `ops` operations and LOGOUT of a logged-in session.
async fn operations(
    c: &mut Client,
    &Plan {
        mix,
        mailbox,
        deadline,
    }: &Plan<'_>,
    ops: usize,
    (rng, stats): (&mut Rng, &mut Stats),
    mut pace: Option<&mut Pace>,
) -> imap::Result<()> {
    let select = format!("SELECT {}", imap::quote(mailbox));
    let r = timed(stats, "SELECT", c.command(&select)).await?;
    if !r.ok() {
        return Err(imap::Error::Refused(format!("SELECT refused: {}", r.text)));
    }
    let total: u32 = mix.iter().map(|(_, w)| w).sum();
    for _ in 0..ops {
        if let Some(p) = pace.as_deref_mut() {
            p.turn().await;
        }
        if Instant::now() >= deadline {
            break;
        }
        let mut pick = rng.below(u64::from(total)) as u32;
        let mut op = mix[0].0;
        for &(o, w) in mix {
            if pick < w {
                op = o;
                break;
            }
            pick -= w;
        }
        if c.exists == 0 && op != Op::Noop {
            op = Op::Append;
        }
        let n = 1 + rng.below(u64::from(c.exists)) as u32;
        match op {
            Op::Envelope => {
                let hi = (n + 9).min(c.exists);
                let cmd = format!("FETCH {n}:{hi} (UID FLAGS ENVELOPE)");
                timed(stats, op.label(), c.command(&cmd)).await?;
            }
            Op::Body => {
                let cmd = format!("FETCH {n} (UID RFC822.SIZE BODY.PEEK[])");
                timed(stats, op.label(), c.command(&cmd)).await?;
            }
            Op::Store => {
                let change = [
                    "+FLAGS (\\Seen)",
                    "-FLAGS (\\Seen)",
                    "+FLAGS (\\Flagged)",
                    "-FLAGS (\\Flagged)",
                    "+FLAGS (\\Answered)",
                ];
                let cmd = format!("STORE {n} {}", change[rng.below(5) as usize]);
                timed(stats, op.label(), c.command(&cmd)).await?;
            }
            Op::Append => {
                let msg = gen::message(1_000_000 + rng.below(1_000_000) as usize);
                let prefix = format!("APPEND {} (\\Seen)", imap::quote(mailbox));
                timed(stats, op.label(), c.command_literal(&prefix, &msg)).await?;
            }
            Op::Expunge => {
                let t = Instant::now();
                let mark = c
                    .command(&format!("STORE {n} +FLAGS.SILENT (\\Deleted)"))
                    .await;
                let done = match mark {
                    Ok(r) if r.ok() => c.command("EXPUNGE").await,
                    other => other,
                };
                match done {
                    Ok(r) if r.ok() => stats.entry(op.label()).or_default().record(t.elapsed()),
                    Ok(_) => stats.entry(op.label()).or_default().error(),
                    Err(e) => {
                        if !e.connection_ended() {
                            stats.entry(op.label()).or_default().error();
                        }
                        return Err(e);
                    }
                }
            }
            Op::Search => {
                let cmd = format!("SEARCH SUBJECT {}", imap::quote(gen::SUBJECT_TERM));
                timed(stats, op.label(), c.command(&cmd)).await?;
            }
            Op::Noop => {
                timed(stats, op.label(), c.command("NOOP")).await?;
            }
        }
    }
    timed(stats, "LOGOUT", c.command("LOGOUT")).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endings_are_told_apart() {
        let closed = imap::Error::Closed;
        let reset = imap::Error::Io(std::io::ErrorKind::ConnectionReset.into());
        let slow = imap::Error::Timeout(Duration::from_secs(1));
        assert_eq!(End::of(true, true, &closed), End::Bye { logged_in: true });
        assert_eq!(End::of(true, false, &slow), End::Bye { logged_in: false });
        assert_eq!(
            End::of(false, true, &reset),
            End::Closed { logged_in: true }
        );
        assert!(End::of(false, true, &closed).cut());
        let other = End::of(false, true, &slow);
        assert!(!other.cut() && other.logged_in());
        assert!(matches!(other, End::Error { .. }));
    }
}
