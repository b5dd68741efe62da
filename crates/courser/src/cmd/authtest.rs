//! `courser authtest`: Courier's `authtest` — look an account up (one
//! argument) or check a password (two) and print the account the way
//! Courier's tool does:
//!
//! ```text
//! Authentication succeeded.
//!
//!      Authenticated: john  (uid 1000, gid 1000)
//!     Home Directory: /home/john
//!            Maildir: (none)
//!              Quota: (none)
//! Encrypted Password: $y$j9T$...
//! Cleartext Password: secret
//!            Options: (none)
//! ```
//!
//! On failure it prints `Authentication FAILED: …` and exits with 1.
//! With `--config FILE` it asks the server's `[auth]` backends in their
//! order (in this process: PAM and shadow need root); otherwise it reads
//! the userdb directly (no daemon needed).

use std::process::ExitCode;

use courser_auth::tools;

use super::accounts::Target;

/// Arguments of `courser authtest`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The account.
    #[command(flatten)]
    pub target: Target,
    /// The password to check; without it the account is only looked up.
    pub password: Option<String>,
}

/// Runs the command.
pub fn run(args: Args) -> ExitCode {
    let Target {
        source,
        service,
        user,
    } = &args.target;
    let auth = match source.authenticator() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("courser authtest: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match &args.password {
        None => auth
            .lookup(service, user)
            .map(|a| tools::authtest_report(&a, None, None)),
        Some(pw) => auth.authenticate(service, user, pw).map(|a| {
            let stored = auth
                .lookup_entry(service, user)
                .ok()
                .flatten()
                .and_then(|e| e.password);
            tools::authtest_report(&a, stored.as_deref(), Some(pw))
        }),
    };
    match result {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}", tools::authtest_failure(&e));
            ExitCode::FAILURE
        }
    }
}
