//! `courser passwd`: change an account's password in the backend that
//! holds it (Courier's `authpasswd`, and `authtest USER OLD NEW`).
//!
//! The old password is read first, then the new one (on a terminal:
//! prompts without echo, the new one twice; otherwise one line each from
//! standard input, for scripts and webmail helpers). The backends are
//! asked in the server's order ([`courser_auth::Authenticator::change_password`]):
//! the one that accepts the old password stores the new one — userdb
//! (the source file under Courier's lock, compiled again if the userdb
//! is compiled), SQL (an `UPDATE` of the account's row), authpipe and
//! authdaemond (their `PASSWD` request). LDAP, passwd/shadow and PAM, and
//! SQL with a custom query, refuse with a message saying so. A wrong
//! old password waits the configured failure delay before the answer, as
//! a failed login does, and changes nothing. Each attempt is logged.

use std::process::ExitCode;

use courser_auth::{tools, AuthError};

use super::accounts::Target;

/// Arguments of `courser passwd`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The account.
    #[command(flatten)]
    pub target: Target,
}

fn read_passwords() -> Result<(String, String), String> {
    let missing = |what| format!("no {what} on standard input");
    let read_err = |e: std::io::Error| format!("cannot read the password: {e}");
    let old = tools::read_line(Some("Old password: "), true)
        .map_err(read_err)?
        .ok_or_else(|| missing("old password"))?;
    let new = if tools::stdin_is_tty() {
        eprintln!("New password:");
        tools::read_new_password()
    } else {
        tools::read_line(None, true)
    }
    .map_err(read_err)?
    .ok_or_else(|| missing("new password"))?;
    Ok((old, new))
}

/// Runs the command.
pub fn run(args: Args) -> ExitCode {
    let Target {
        source,
        service,
        user,
    } = &args.target;
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("courser passwd: {e}");
        ExitCode::FAILURE
    };
    let (auth, delay) = match source.authenticator().and_then(|a| {
        let delay = source.failure_delay()?;
        Ok((a, delay))
    }) {
        Ok(found) => found,
        Err(e) => return fail(&e),
    };
    let (old, new) = match read_passwords() {
        Ok(pair) => pair,
        Err(e) => return fail(&e),
    };
    match auth.change_password(service, user, old.as_bytes(), new.as_bytes()) {
        // The user is logged escaped (Debug): the name may come from a web form.
        Ok(account) => {
            tracing::info!(?user, login = %account.login, %service, "password changed");
            println!("Password changed for {}.", account.login);
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::warn!(?user, %service, error = %e, "password change refused");
            if matches!(e, AuthError::Failed | AuthError::PasswordTooLong { .. }) {
                std::thread::sleep(delay);
            }
            fail(&describe(&e))
        }
    }
}

/// The message for a refused change: a wrong password or an unknown
/// login are one answer, as for a login.
fn describe(e: &AuthError) -> String {
    match e {
        AuthError::Failed | AuthError::PasswordTooLong { .. } => {
            "password NOT changed: wrong login or password".into()
        }
        e => format!("password NOT changed: {e}"),
    }
}
