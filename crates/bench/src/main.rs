//! `courser-bench`: a load generator for IMAP and POP3 servers, and the
//! maildir generator its workloads run on.
//!
//! ```text
//! courser-bench [--host H] [--port P] [--tls] [--user 'user%d'] [--users N]
//!               [--password PW] [--json FILE] [--quick] <workload> ...
//!   mixed      imaptest-like mix of commands by N clients
//!   idle       N clients in IDLE: server memory per connection, push latency
//!   bigfolder  timings on one big folder (SELECT, FETCH, SEARCH, SORT, ...)
//!   logins     login storm (use --tls for logins over TLS)
//!   generate   write a deterministic maildir of N messages
//! ```
//!
//! Exit status: 0 when the workload ran and its checks passed, 1 when a
//! check failed (wrong counts, failures in `--quick` mode), 2 on bad
//! arguments.

#![forbid(unsafe_code)]

mod conn;
mod gen;
mod imap;
mod mem;
mod pop3;
mod stats;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use serde_json::json;

use workload::{bigfolder, idle, logins, mixed, Common, Outcome};

#[derive(Parser)]
#[command(
    name = "courser-bench",
    version,
    about = "IMAP/POP3 load generator and benchmark workloads"
)]
struct Cli {
    /// Server host.
    #[arg(long, global = true, default_value = "127.0.0.1")]
    host: String,
    /// IMAP port (IMAPS with --tls).
    #[arg(long, global = true, default_value_t = 143)]
    port: u16,
    /// Speak TLS from the first byte (IMAPS).
    #[arg(long, global = true)]
    tls: bool,
    /// User name; `%d` is replaced by 1..=--users; or a comma-separated
    /// list of names, used in turn.
    #[arg(long, global = true, default_value = "user%d")]
    user: String,
    /// How many users `%d` ranges over.
    #[arg(long, global = true, default_value_t = 1)]
    users: usize,
    /// Password of every user.
    #[arg(long, global = true, default_value = "password")]
    password: String,
    /// Per-command timeout in seconds.
    #[arg(long, global = true, default_value_t = 300)]
    timeout: u64,
    /// Write the results as JSON to this file.
    #[arg(long, global = true)]
    json: Option<PathBuf>,
    /// Free-form label copied into the JSON (e.g. the server's name).
    #[arg(long, global = true)]
    label: Option<String>,
    /// Short run for tests: few clients, a few seconds, strict checks.
    #[arg(long, global = true)]
    quick: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Mixed session profile (imaptest-like).
    Mixed {
        /// Concurrent clients [default: 20, quick 2].
        #[arg(long)]
        clients: Option<usize>,
        /// Seconds to run [default: 30, quick 2].
        #[arg(long)]
        secs: Option<f64>,
        /// Operation weights.
        #[arg(long, default_value = mixed::DEFAULT_MIX)]
        mix: String,
        /// Operations per session before LOGOUT.
        #[arg(long, default_value_t = 50)]
        ops_per_session: usize,
        /// Mailbox to select.
        #[arg(long, default_value = "INBOX")]
        mailbox: String,
        /// Operations per second over all clients, evenly paced, instead
        /// of each client sending its next operation as soon as the last
        /// is answered: latencies of servers under the same load.
        #[arg(long)]
        rate: Option<f64>,
    },
    /// Idle connections: memory per connection and push latency.
    Idle {
        /// Connections [default: 200, quick 5].
        #[arg(long)]
        clients: Option<usize>,
        /// A pid of the server; its process tree is measured (repeatable).
        #[arg(long = "pid")]
        pids: Vec<u32>,
        /// The first user's INBOX maildir, to deliver one message into.
        #[arg(long)]
        maildir: Option<PathBuf>,
        /// Seconds to wait for every client's EXISTS.
        #[arg(long, default_value_t = 120.0)]
        push_timeout: f64,
        /// Seconds to wait before reading memory.
        #[arg(long, default_value_t = 2.0)]
        settle: f64,
        /// Connections set up at once.
        #[arg(long, default_value_t = 16)]
        ramp: usize,
    },
    /// Big-folder timings (the first user's mailbox).
    Bigfolder {
        /// Mailbox to open.
        #[arg(long, default_value = "INBOX")]
        mailbox: String,
        /// Messages generated into it: enables count checks.
        #[arg(long)]
        expect: Option<usize>,
        /// POP3 port for LOGIN + UIDL (omit: n/a).
        #[arg(long)]
        pop3_port: Option<u16>,
        /// POP3 over TLS from the first byte.
        #[arg(long)]
        pop3_tls: bool,
    },
    /// Login storm: connect, LOGIN, LOGOUT in a loop.
    Logins {
        /// Concurrent workers [default: 8, quick 2].
        #[arg(long)]
        clients: Option<usize>,
        /// Seconds to run [default: 10, quick 2].
        #[arg(long)]
        secs: Option<f64>,
    },
    /// Write a deterministic maildir of N messages.
    Generate {
        /// Maildir to create (cur/, new/, tmp/ inside).
        #[arg(long)]
        dir: PathBuf,
        /// Number of messages.
        #[arg(long, default_value_t = 100_000)]
        count: usize,
    },
}

fn pick<T>(given: Option<T>, quick: bool, short: T, full: T) -> T {
    given.unwrap_or(if quick { short } else { full })
}

fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(Duration::ZERO)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Cmd::Generate { dir, count } = &cli.cmd {
        return match gen::generate(dir, *count) {
            Ok(bytes) => {
                println!(
                    "generated {count} messages ({bytes} bytes) in {}",
                    dir.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("courser-bench: generate {}: {e}", dir.display());
                ExitCode::from(1)
            }
        };
    }
    let target = match conn::Target::new(&cli.host, cli.port, cli.tls) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("courser-bench: TLS setup: {e}");
            return ExitCode::from(2);
        }
    };
    let common = Common {
        target: target.clone(),
        user_pattern: cli.user.clone(),
        password: cli.password.clone(),
        users: cli.users.max(1),
        timeout: Duration::from_secs(cli.timeout.max(1)),
        quick: cli.quick,
    };
    let q = cli.quick;
    let (name, outcome): (&str, Outcome) = match cli.cmd {
        Cmd::Mixed {
            clients,
            secs: s,
            mix,
            ops_per_session,
            mailbox,
            rate,
        } => {
            let mix = match mixed::parse_mix(&mix) {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("courser-bench: --mix: {e}");
                    return ExitCode::from(2);
                }
            };
            let args = mixed::Args {
                clients: pick(clients, q, 2, 20),
                duration: secs(pick(s, q, 2.0, 30.0)),
                mix,
                ops_per_session: ops_per_session.max(1),
                mailbox,
                rate: rate.filter(|r| *r > 0.0),
            };
            ("mixed", mixed::run(&common, args).await)
        }
        Cmd::Idle {
            clients,
            pids,
            maildir,
            push_timeout,
            settle,
            ramp,
        } => {
            let args = idle::Args {
                clients: pick(clients, q, 5, 200),
                pids,
                maildir,
                push_timeout: secs(push_timeout),
                settle: secs(settle),
                ramp,
            };
            ("idle", idle::run(&common, args).await)
        }
        Cmd::Bigfolder {
            mailbox,
            expect,
            pop3_port,
            pop3_tls,
        } => {
            let pop3 = match pop3_port.map(|p| target.with_port(p, pop3_tls)).transpose() {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("courser-bench: TLS setup: {e}");
                    return ExitCode::from(2);
                }
            };
            let args = bigfolder::Args {
                mailbox,
                expect,
                pop3,
            };
            ("bigfolder", bigfolder::run(&common, args).await)
        }
        Cmd::Logins { clients, secs: s } => {
            let args = logins::Args {
                clients: pick(clients, q, 2, 8),
                duration: secs(pick(s, q, 2.0, 10.0)),
            };
            ("logins", logins::run(&common, args).await)
        }
        Cmd::Generate { .. } => unreachable!("handled above"),
    };
    for p in &outcome.problems {
        eprintln!("courser-bench: check failed: {p}");
    }
    if let Some(path) = &cli.json {
        let doc = json!({
            "workload": name,
            "label": cli.label,
            "host": cli.host,
            "port": cli.port,
            "tls": cli.tls,
            "quick": cli.quick,
            "ok": outcome.ok,
            "problems": outcome.problems,
            "result": outcome.result,
        });
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        if let Err(e) = std::fs::write(path, text + "\n") {
            eprintln!("courser-bench: writing {}: {e}", path.display());
            return ExitCode::from(1);
        }
    }
    if outcome.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
