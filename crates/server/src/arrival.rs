//! What Courier's imapd and pop3d do as an account arrives, right after
//! its login: a home directory with the sticky bit set locks the account
//! (an administrator's "under maintenance" switch), and an executable
//! `loginexec` file in the maildir runs once.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use courser_protocol::Untrusted;

/// The answer to a login whose account is locked, in Courier's words.
pub const LOCKED: &str = "Your account is temporarily unavailable (+t bit set on home directory).";

/// The name of the one-shot login hook in a maildir.
const LOGINEXEC: &str = "loginexec";

/// How long a `loginexec` may run. Courier waits for it without limit;
/// a hook that hangs would then hang every login of the account, so it
/// is killed after this and the login goes on (as it does after any
/// hook that fails).
const LOGINEXEC_TIMEOUT: Duration = Duration::from_secs(60);

/// Whether `home` carries Courier's maintenance lock (mode `+t`).
///
/// Courier also treats a home it cannot examine as locked; here such a
/// home is not a lock: Courier's login had already entered the home (so
/// it exists), while Courser also serves virtual accounts whose home is
/// only a name and whose mail lives elsewhere.
pub fn home_locked(home: &Path) -> bool {
    if home.as_os_str().is_empty() {
        return false;
    }
    std::fs::metadata(home).is_ok_and(|m| m.permissions().mode() & 0o1000 != 0)
}

/// Runs `maildir`'s `loginexec` if it is there and executable by its
/// owner, with the maildir as working directory and `AUTHENTICATED` and
/// `MAILDIR` set as Courier sets them; deletes it when it exits with
/// status 0, so it runs until it once succeeds. Runs as the process's
/// user: the account's in the per-user model. Its input and output go
/// nowhere (under Courier they were the client's connection).
pub fn run_loginexec(maildir: &Path, login: &str) {
    let hook = maildir.join(LOGINEXEC);
    let executable =
        std::fs::metadata(&hook).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o100 != 0);
    if !executable {
        return;
    }
    let child = Command::new(&hook)
        .arg0(LOGINEXEC)
        .current_dir(maildir)
        .env("AUTHENTICATED", login)
        .env("MAILDIR", maildir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            tracing::warn!(user = %Untrusted(login), hook = %hook.display(), "loginexec cannot start: {e}");
            return;
        }
    };
    let deadline = Instant::now() + LOGINEXEC_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    match status {
        Some(status) if status.success() => {
            if let Err(e) = std::fs::remove_file(&hook) {
                tracing::warn!(user = %Untrusted(login), hook = %hook.display(), "loginexec ran but cannot be removed: {e}");
            } else {
                tracing::info!(user = %Untrusted(login), hook = %hook.display(), "loginexec ran and was removed");
            }
        }
        Some(status) => {
            tracing::warn!(user = %Untrusted(login), hook = %hook.display(), %status, "loginexec failed; it runs again at the next login");
        }
        None => {
            tracing::warn!(user = %Untrusted(login), hook = %hook.display(), timeout_secs = LOGINEXEC_TIMEOUT.as_secs(), "loginexec killed after running too long; it runs again at the next login");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_hook(dir: &Path, body: &str, mode: u32) {
        let hook = dir.join(LOGINEXEC);
        std::fs::write(&hook, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_sticky_home_is_locked_and_a_missing_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!home_locked(dir.path()));
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1755)).unwrap();
        assert!(home_locked(dir.path()));
        assert!(!home_locked(&dir.path().join("missing")));
        assert!(!home_locked(Path::new("")));
    }

    #[test]
    fn a_hook_that_succeeds_runs_once_in_the_maildir() {
        let dir = tempfile::tempdir().unwrap();
        write_hook(
            dir.path(),
            "echo \"$AUTHENTICATED $MAILDIR $(pwd)\" >> ran",
            0o700,
        );
        run_loginexec(dir.path(), "ann");
        run_loginexec(dir.path(), "ann");
        let ran = std::fs::read_to_string(dir.path().join("ran")).unwrap();
        let here = dir.path().canonicalize().unwrap();
        let d = dir.path().display();
        assert_eq!(ran, format!("ann {d} {}\n", here.display()));
        assert!(!dir.path().join(LOGINEXEC).exists());
    }

    #[test]
    fn a_hook_that_fails_stays_and_runs_again() {
        let dir = tempfile::tempdir().unwrap();
        write_hook(dir.path(), "echo x >> ran; exit 3", 0o700);
        run_loginexec(dir.path(), "ann");
        run_loginexec(dir.path(), "ann");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("ran")).unwrap(),
            "x\nx\n"
        );
        assert!(dir.path().join(LOGINEXEC).exists());
    }

    #[test]
    fn a_hook_its_owner_cannot_execute_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        write_hook(dir.path(), "echo x >> ran", 0o644);
        run_loginexec(dir.path(), "ann");
        assert!(!dir.path().join("ran").exists());
        assert!(dir.path().join(LOGINEXEC).exists());
    }
}
