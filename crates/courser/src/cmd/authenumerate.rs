//! `courser authenumerate [-s] [-o]`: Courier's `authenumerate` — every
//! account of every backend, one line each, as it is read:
//!
//! ```text
//! name<TAB>uid<TAB>gid<TAB>home<TAB>maildir[<TAB>options]
//! ```
//!
//! `-s` leaves out accounts with `disableshared` set, `-o` adds the
//! options column (with the configured `default_options` merged in, as
//! authdaemond merges `DEFAULTOPTIONS`). Without `-o` the output is a
//! shared folder index (`courser shared-index` builds and installs one).
//!
//! Exit status 0 when the list is complete; 1 when a backend failed or
//! cannot list its accounts (the lines printed before are a partial
//! list), as Courier's tool exits 1 on an incomplete list. Accounts a
//! line cannot carry (uid 0, a TAB or `#` in a field) are left out with a
//! warning on standard error.

use std::io::{self, Write};
use std::ops::ControlFlow;
use std::process::ExitCode;

use courser_auth::enumerate;

use super::accounts::Source;

/// Arguments of `courser authenumerate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where the accounts are.
    #[command(flatten)]
    pub source: Source,
    /// Only accounts that take part in shared folders: leave out those
    /// with the `disableshared` option set.
    #[arg(short = 's')]
    pub shared_only: bool,
    /// Add each account's options as a sixth column.
    #[arg(short = 'o')]
    pub options: bool,
}

/// Runs the command.
pub fn run(args: Args) -> ExitCode {
    let auth = match args.source.authenticator() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("courser authenumerate: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut write_error = None;
    let listed = auth.enumerate(&mut |account| {
        if args.shared_only && account.options.disable_shared() {
            return ControlFlow::Continue(());
        }
        if let Some(why) = enumerate::unlisted_reason(&account) {
            eprintln!("courser authenumerate: {:?} left out: {why}", account.login);
            return ControlFlow::Continue(());
        }
        match out.write_all(enumerate::line(&account, args.options).as_bytes()) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                write_error = Some(e);
                ControlFlow::Break(())
            }
        }
    });
    let flushed = out.flush();
    if let Some(e) = write_error.or(flushed.err()) {
        // A reader that went away (`| head`) is no news.
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("courser authenumerate: standard output: {e}");
        }
        return ExitCode::FAILURE;
    }
    match listed {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("courser authenumerate: incomplete list: {e}");
            ExitCode::FAILURE
        }
    }
}
