//! Helpers for the command-line tools (`courser pw`, `courser userdb`,
//! `courser authtest`): Courier's `authtest` output format and password
//! input without echo.

use std::fmt::Write as _;
use std::io::{self, BufRead, Write};

use crate::account::Account;
use crate::error::AuthError;

/// The report Courier's `authtest` prints after a successful lookup or
/// login (`callback_pre` in `authtest.c`), byte for byte. `encrypted` is
/// the stored hash (shown for a password check), `clear` the password
/// given; `(none)` stands for absent values.
pub fn authtest_report(account: &Account, encrypted: Option<&str>, clear: Option<&str>) -> String {
    let none = |v: Option<&str>| v.unwrap_or("(none)").to_owned();
    let maildir = account.maildir.as_ref().map(|m| m.display().to_string());
    let options = Some(account.options.as_str()).filter(|o| !o.is_empty());
    let mut s = String::new();
    let _ = writeln!(s, "Authentication succeeded.\n");
    let _ = writeln!(
        s,
        "     Authenticated: {}  (uid {}, gid {})",
        account.login, account.uid, account.gid
    );
    let _ = writeln!(s, "    Home Directory: {}", account.home.display());
    let _ = writeln!(s, "           Maildir: {}", none(maildir.as_deref()));
    let _ = writeln!(s, "             Quota: {}", none(account.quota.as_deref()));
    let _ = writeln!(s, "Encrypted Password: {}", none(encrypted));
    let _ = writeln!(s, "Cleartext Password: {}", none(clear));
    let _ = writeln!(s, "           Options: {}", none(options));
    s
}

/// The line Courier's `authtest` prints on failure (`perror("Authentication
/// FAILED")` with the errno authlib leaves: `EPERM` for a rejection,
/// `EAGAIN` for a temporary failure, to which we add the reason).
pub fn authtest_failure(err: &AuthError) -> String {
    match err {
        AuthError::Failed | AuthError::PasswordTooLong { .. } | AuthError::NotMasterUser { .. } => {
            "Authentication FAILED: Operation not permitted".into()
        }
        AuthError::Unavailable { backend, reason } => {
            format!("Authentication FAILED: Resource temporarily unavailable ({backend}: {reason})")
        }
        AuthError::Unsupported { .. }
        | AuthError::NewPasswordRefused(_)
        | AuthError::ChangeRefused { .. } => {
            format!("Authentication FAILED: {err}")
        }
    }
}

/// True if standard input is a terminal.
pub fn stdin_is_tty() -> bool {
    rustix::termios::isatty(io::stdin())
}

/// Reads one line from standard input without its line ending; `None` at
/// end of input. If standard input is a terminal, `prompt` is written to
/// standard error first and, with `hide`, echo is turned off while
/// reading.
pub fn read_line(prompt: Option<&str>, hide: bool) -> io::Result<Option<String>> {
    let stdin = io::stdin();
    let tty = stdin_is_tty();
    if tty {
        if let Some(p) = prompt {
            let mut err = io::stderr();
            err.write_all(p.as_bytes())?;
            err.flush()?;
        }
    }
    let saved = if tty && hide {
        let saved = rustix::termios::tcgetattr(&stdin)?;
        let mut quiet = saved.clone();
        quiet.local_modes.remove(rustix::termios::LocalModes::ECHO);
        rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &quiet)?;
        Some(saved)
    } else {
        None
    };
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if let Some(saved) = saved {
        rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &saved)?;
        eprintln!();
    }
    if read? == 0 {
        return Ok(None);
    }
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    }
    Ok(Some(line))
}

/// Reads a new password like `userdbpw`: on a terminal, prompts
/// `Password: ` and `Reenter password: ` without echo until both match;
/// otherwise reads one line.
pub fn read_new_password() -> io::Result<Option<String>> {
    if !stdin_is_tty() {
        return read_line(None, true);
    }
    loop {
        let Some(first) = read_line(Some("Password: "), true)? else {
            return Ok(None);
        };
        let Some(second) = read_line(Some("Reenter password: "), true)? else {
            return Ok(None);
        };
        if first == second {
            return Ok(Some(first));
        }
        eprintln!("Passwords don't match.\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::Options;

    #[test]
    fn authtest_format() {
        let a = Account {
            login: "john".into(),
            uid: 1000,
            gid: 100,
            home: "/home/john".into(),
            maildir: None,
            quota: Some("1000000S".into()),
            full_name: None,
            options: Options::new("disableimap=1"),
        };
        assert_eq!(
            authtest_report(&a, Some("$1$x$y"), Some("secret")),
            "Authentication succeeded.\n\n\
             \x20    Authenticated: john  (uid 1000, gid 100)\n\
             \x20   Home Directory: /home/john\n\
             \x20          Maildir: (none)\n\
             \x20            Quota: 1000000S\n\
             Encrypted Password: $1$x$y\n\
             Cleartext Password: secret\n\
             \x20          Options: disableimap=1\n"
        );
        let b = Account {
            options: Options::default(),
            ..a
        };
        assert!(authtest_report(&b, None, None).ends_with("Options: (none)\n"));
        assert_eq!(
            authtest_failure(&AuthError::Failed),
            "Authentication FAILED: Operation not permitted"
        );
    }
}
