//! Workload 3: one big folder, one connection, each step timed:
//!
//! | step              | command                                      |
//! |-------------------|----------------------------------------------|
//! | `LOGIN`           | connect + greeting + LOGIN                   |
//! | `SELECT`          | `SELECT <mailbox>`                           |
//! | `FETCH FLAGS`     | `UID FETCH 1:* (FLAGS)`                      |
//! | `FETCH ENVELOPE`  | `FETCH 1:* (ENVELOPE)`                       |
//! | `SEARCH SUBJECT`  | `SEARCH SUBJECT "<term>"` (header)           |
//! | `SEARCH BODY`     | `SEARCH BODY "<term>"` (body text)           |
//! | `SORT DATE`       | `SORT (DATE) UTF-8 ALL` (if SORT advertised) |
//! | `SORT SUBJECT`    | `SORT (SUBJECT) UTF-8 ALL`                   |
//! | `THREAD REFS`     | `THREAD REFERENCES UTF-8 ALL` (if advertised)|
//! | `POP3 LOGIN+UIDL` | POP3 connect, USER/PASS, UIDL (if a port is given) |
//!
//! When the folder is the generator's (`--expect N`), counts are checked:
//! EXISTS, FETCH responses, SEARCH hits, SORT lengths, UIDL lines.

use std::time::Instant;

use serde::Serialize;
use serde_json::json;

use super::{ms, Common, Outcome};
use crate::conn::Target;
use crate::gen;
use crate::imap::{self, Client};
use crate::pop3;

/// Arguments of the big-folder workload.
pub struct Args {
    /// Folder to open.
    pub mailbox: String,
    /// Messages the folder holds, as generated (enables count checks).
    pub expect: Option<usize>,
    /// POP3 server to time LOGIN + UIDL on (none: n/a).
    pub pop3: Option<Target>,
}

/// One timed step.
#[derive(Debug, Serialize)]
pub struct Step {
    /// Step name.
    pub name: &'static str,
    /// Milliseconds, `None` when not run (n/a) or failed.
    pub ms: Option<f64>,
    /// What came back (messages, hits, lines).
    pub count: Option<u64>,
    /// What should have come back, when known.
    pub expected: Option<u64>,
    /// Why it was not run or failed.
    pub note: Option<String>,
    /// Not applicable: the server lacks the capability or the protocol.
    pub na: bool,
}

impl Step {
    fn na(name: &'static str, note: &str) -> Step {
        Step {
            name,
            ms: None,
            count: None,
            expected: None,
            note: Some(note.to_string()),
            na: true,
        }
    }
}

/// Runs one IMAP command as a step; `count` picks the figure to check.
async fn step(
    c: &mut Client,
    name: &'static str,
    cmd: &str,
    expected: Option<u64>,
    count: fn(&imap::Response) -> u64,
) -> imap::Result<Step> {
    let t = Instant::now();
    let r = c.command(cmd).await?;
    let d = t.elapsed();
    Ok(if r.ok() {
        Step {
            name,
            ms: Some(ms(d)),
            count: Some(count(&r)),
            expected,
            note: None,
            na: false,
        }
    } else {
        Step {
            name,
            ms: None,
            count: None,
            expected,
            note: Some(format!("server said: {}", r.text)),
            na: false,
        }
    })
}

async fn imap_steps(common: &Common, args: &Args, steps: &mut Vec<Step>) -> imap::Result<()> {
    let n = args.expect.map(|n| n as u64);
    let (subj, body) = match args.expect {
        Some(n) => {
            let (s, b) = gen::expected_hits(n);
            (Some(s as u64), Some(b as u64))
        }
        None => (None, None),
    };
    let t = Instant::now();
    let mut c = Client::login(
        &common.target,
        &common.user(0),
        &common.password,
        common.timeout,
    )
    .await?;
    steps.push(Step {
        name: "LOGIN",
        ms: Some(ms(t.elapsed())),
        count: None,
        expected: None,
        note: None,
        na: false,
    });
    let select = format!("SELECT {}", imap::quote(&args.mailbox));
    let mut s = step(&mut c, "SELECT", &select, n, |_| 0).await?;
    s.count = s.ms.map(|_| u64::from(c.exists));
    steps.push(s);
    steps.push(
        step(&mut c, "FETCH FLAGS", "UID FETCH 1:* (FLAGS)", n, |r| {
            r.fetches as u64
        })
        .await?,
    );
    steps.push(
        step(&mut c, "FETCH ENVELOPE", "FETCH 1:* (ENVELOPE)", n, |r| {
            r.fetches as u64
        })
        .await?,
    );
    let q = imap::quote(gen::SUBJECT_TERM);
    steps.push(
        step(
            &mut c,
            "SEARCH SUBJECT",
            &format!("SEARCH SUBJECT {q}"),
            subj,
            |r| r.numbers.len() as u64,
        )
        .await?,
    );
    let q = imap::quote(gen::BODY_TERM);
    steps.push(
        step(
            &mut c,
            "SEARCH BODY",
            &format!("SEARCH BODY {q}"),
            body,
            |r| r.numbers.len() as u64,
        )
        .await?,
    );
    if c.has_cap("SORT") {
        steps.push(
            step(&mut c, "SORT DATE", "SORT (DATE) UTF-8 ALL", n, |r| {
                r.numbers.len() as u64
            })
            .await?,
        );
        steps.push(
            step(&mut c, "SORT SUBJECT", "SORT (SUBJECT) UTF-8 ALL", n, |r| {
                r.numbers.len() as u64
            })
            .await?,
        );
    } else {
        steps.push(Step::na("SORT DATE", "SORT not advertised"));
        steps.push(Step::na("SORT SUBJECT", "SORT not advertised"));
    }
    if c.has_cap("THREAD=REFERENCES") {
        steps.push(
            step(
                &mut c,
                "THREAD REFS",
                "THREAD REFERENCES UTF-8 ALL",
                None,
                |r| r.thread_lines as u64,
            )
            .await?,
        );
    } else {
        steps.push(Step::na("THREAD REFS", "THREAD=REFERENCES not advertised"));
    }
    let _ = c.command("LOGOUT").await;
    Ok(())
}

async fn pop3_step(common: &Common, target: &Target, expect: Option<usize>) -> Step {
    let t = Instant::now();
    let r = async {
        let mut c =
            pop3::Client::login(target, &common.user(0), &common.password, common.timeout).await?;
        let n = c.uidl().await?;
        let d = t.elapsed();
        c.quit().await?;
        Ok::<_, imap::Error>((n, d))
    }
    .await;
    match r {
        Ok((n, d)) => Step {
            name: "POP3 LOGIN+UIDL",
            ms: Some(ms(d)),
            count: Some(n as u64),
            expected: expect.map(|n| n as u64),
            note: None,
            na: false,
        },
        Err(e) => Step {
            note: Some(e.to_string()),
            na: false,
            ..Step::na("POP3 LOGIN+UIDL", "")
        },
    }
}

/// Runs the workload.
pub async fn run(common: &Common, args: Args) -> Outcome {
    let mut steps = Vec::new();
    let mut problems = Vec::new();
    let start = Instant::now();
    if let Err(e) = imap_steps(common, &args, &mut steps).await {
        problems.push(format!(
            "IMAP session failed after {} steps: {e}",
            steps.len()
        ));
    }
    match &args.pop3 {
        Some(t) => steps.push(pop3_step(common, t, args.expect).await),
        None => steps.push(Step::na("POP3 LOGIN+UIDL", "no POP3 port given")),
    }
    println!(
        "big folder {:?} ({:.1} s in all):",
        args.mailbox,
        start.elapsed().as_secs_f64()
    );
    for s in &steps {
        let time = s.ms.map_or("n/a".to_string(), |m| format!("{m:.1} ms"));
        let count = s.count.map_or(String::new(), |c| format!("{c}"));
        println!(
            "  {:<16} {:>12} {:>8} {}",
            s.name,
            time,
            count,
            s.note.clone().unwrap_or_default()
        );
        if let (Some(c), Some(e)) = (s.count, s.expected) {
            if c != e {
                problems.push(format!("{}: got {c}, expected {e}", s.name));
            }
        }
        if s.ms.is_none() && !s.na {
            problems.push(format!(
                "{}: {}",
                s.name,
                s.note.clone().unwrap_or_default()
            ));
        }
    }
    Outcome {
        ok: problems.is_empty(),
        problems,
        result: json!({ "mailbox": args.mailbox, "expect": args.expect, "steps": steps }),
    }
}
