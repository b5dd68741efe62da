//! `courser deliver`: Courier's `deliverquota` — deliver standard input
//! into a maildir (or folder) honouring its quota.
//!
//! Exit codes as Courier's build of deliverquota: 0 delivered; 75
//! (EX_TEMPFAIL) when over quota with the message on a pipe, and on
//! errors; 77 (EX_NOPERM) when over quota with the message in a regular
//! file (its size is known up front); 73 bad usage.

use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::PathBuf;
use std::process::ExitCode;

use courser_maildir::{tools, Error};

const EX_TEMPFAIL: u8 = 75;
const EX_NOPERM: u8 = 77;
const EX_USAGE: u8 = 73;

/// Arguments of `courser deliver`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Create the maildir if it does not exist.
    #[arg(short = 'c')]
    pub create: bool,
    /// Deliver a quota warning when the maildir is at least N percent full.
    #[arg(short = 'w', value_name = "N")]
    pub warn: Option<u32>,
    /// Warning message file (default /etc/courier/quotawarnmsg).
    #[arg(short = 'W', value_name = "FILE")]
    pub warn_file: Option<PathBuf>,
    /// The maildir (or a folder directory inside one).
    pub maildir: PathBuf,
    /// Quota to install, e.g. `10000000S,1000C`.
    pub quota: Option<String>,
}

fn stdin_is_regular_file() -> bool {
    // /proc/self/fd/0 resolves to the file stdin is attached to
    match std::fs::metadata("/proc/self/fd/0") {
        Ok(m) => {
            let ft = m.file_type();
            ft.is_file() && !ft.is_fifo() && m.len() > 0
        }
        Err(_) => false,
    }
}

/// Runs the command.
pub fn run(args: Args) -> ExitCode {
    if let Some(w) = args.warn {
        if w > 100 {
            eprintln!("Usage: courser deliver [-c] [-w percent] maildir [quota]");
            return ExitCode::from(EX_USAGE);
        }
    }
    let opts = tools::DeliverOptions {
        create: args.create,
        quota: args.quota.clone(),
        warn_percent: args.warn,
        warn_message: args.warn_file.clone(),
        hostname: None,
    };
    let regular = stdin_is_regular_file();
    match tools::deliver(&args.maildir, io::stdin().lock(), &opts) {
        Ok(_) => ExitCode::SUCCESS,
        Err(Error::OverQuota) => {
            println!("Mail quota exceeded.");
            ExitCode::from(if regular { EX_NOPERM } else { EX_TEMPFAIL })
        }
        Err(e) => {
            eprintln!("{}: {e}", args.maildir.display());
            ExitCode::from(EX_TEMPFAIL)
        }
    }
}
