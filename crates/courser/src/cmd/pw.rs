//! `courser pw`: Courier's `userdbpw` — read one password from standard
//! input (prompting twice without echo on a terminal) and print its hash,
//! ready for `courser userdb NAME set systempw` or an SQL/LDAP field.
//!
//! The default scheme is yescrypt (`$y$`), what Debian's `passwd` writes
//! today; Courier verifies it through libxcrypt, so the same userdb keeps
//! working with Courier. `--scheme md5` is `userdbpw -md5` (`$1$`), and
//! `--scheme hmac-md5|hmac-sha1|hmac-sha256` prints the CRAM HMAC context
//! for the `hmac-md5pw` (etc.) fields, like `userdbpw -hmac-md5`.
//! `--scheme scram-sha-256|scram-sha-1` prints a SCRAM secret (RFC 5803)
//! for the `scram-sha-256pw` / `scram-sha-1pw` fields.

use std::process::ExitCode;

use courser_auth::{password, tools, Scheme};

/// Arguments of `courser pw`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Hash scheme: yescrypt (default), bcrypt, sha512-crypt,
    /// sha256-crypt, md5 (`$1$`), ssha, sha512, sha256, hmac-md5,
    /// hmac-sha1, hmac-sha256 (CRAM contexts), or scram-sha-256,
    /// scram-sha-1 (SCRAM secrets).
    #[arg(long, short = 's', value_name = "SCHEME", default_value_t = Scheme::DEFAULT)]
    pub scheme: Scheme,
}

/// Runs the command.
pub fn run(args: Args) -> ExitCode {
    let pw = match tools::read_new_password() {
        Ok(Some(pw)) => pw,
        Ok(None) => {
            eprintln!("pw: no password on standard input");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("pw: cannot read the password: {e}");
            return ExitCode::FAILURE;
        }
    };
    match password::hash(args.scheme, pw.as_bytes()) {
        Ok(h) => {
            println!("{h}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pw: {e}");
            ExitCode::FAILURE
        }
    }
}
