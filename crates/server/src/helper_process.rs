//! Courser's helper processes (the authentication process, the per-user
//! spawner and its workers) are the running binary started again with a
//! subcommand.

use std::process::{Command, Stdio};

/// Environment variables passed on to helpers (logging settings).
const KEPT_ENV: &[&str] = &["COURSER_LOG", "RUST_BACKTRACE"];

/// The command that starts helper `subcommand`: the running binary itself,
/// even if the file was replaced by an upgrade since (front end, spawner
/// and workers must agree on the hand-over format), with an environment
/// cleared but for the logging settings, in `/`, logging to our standard
/// error.
pub(crate) fn command(subcommand: &str) -> Command {
    let mut command = Command::new("/proc/self/exe");
    command
        .arg(subcommand)
        .stderr(Stdio::inherit())
        .current_dir("/")
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    for name in KEPT_ENV {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command
}
