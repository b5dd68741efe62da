//! `courser maildirmake`: Courier's `maildirmake` — create a maildir, a
//! folder in it (`-f`), a sharable maildir (`-S`) or shared folder
//! (`-s MODE -f NAME`), install a quota (`-q`), or list a sharable
//! maildir in a maildir's `shared-maildirs` (`--add`, `--del`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use courser_maildir::{sharable, tools, Error};

/// Arguments of `courser maildirmake`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Create folder NAME (below INBOX, e.g. `Sent` or `Lists.rust`) in the
    /// existing MAILDIR instead of a new maildir.
    #[arg(short = 'f', value_name = "NAME")]
    pub folder: Option<String>,
    /// Install the quota QUOTA (e.g. `10000000S,1000C`) in MAILDIR,
    /// creating the maildir first if needed.
    #[arg(short = 'q', value_name = "QUOTA")]
    pub quota: Option<String>,
    /// Create a sharable maildir (directories mode 0755).
    #[arg(short = 'S')]
    pub sharable: bool,
    /// With -f: make a shared folder; MODE is `read`, `write`, optionally
    /// with `,group`.
    #[arg(short = 's', value_name = "MODE", requires = "folder")]
    pub shared: Option<String>,
    /// Add the sharable maildir PATH (absolute) to MAILDIR's
    /// `shared-maildirs` as NICK: its folders appear as
    /// `shared.NICK.<folder>`.
    #[arg(long = "add", value_name = "NICK=PATH", conflicts_with_all = ["folder", "quota", "sharable", "del"])]
    pub add: Option<String>,
    /// Remove NICK from MAILDIR's `shared-maildirs`.
    #[arg(long = "del", value_name = "NICK", conflicts_with_all = ["folder", "quota", "sharable"])]
    pub del: Option<String>,
    /// The maildir.
    pub maildir: PathBuf,
}

fn fail(what: &str, e: &Error) -> ExitCode {
    eprintln!("maildirmake: {what}: {e}");
    ExitCode::FAILURE
}

/// Runs the command.
pub fn run(args: Args) -> ExitCode {
    let dir = &args.maildir;
    if let Some(spec) = &args.add {
        let Some((nick, path)) = spec.split_once('=') else {
            eprintln!("maildirmake: --add takes NICK=/path/to/sharable/maildir");
            return ExitCode::FAILURE;
        };
        return match sharable::add(dir, nick, Path::new(path)) {
            Ok(()) => ExitCode::SUCCESS,
            // Courier's status for a nick listed already.
            Err(Error::AlreadyExists(_)) => {
                eprintln!("{nick}: already defined as a sharable maildir.");
                ExitCode::from(2)
            }
            Err(e) => fail(spec, &e),
        };
    }
    if let Some(nick) = &args.del {
        return match sharable::remove(dir, nick) {
            Ok(()) => ExitCode::SUCCESS,
            Err(Error::NonExistent(_)) => {
                eprintln!("{nick}: not found.");
                ExitCode::FAILURE
            }
            Err(e) => fail(nick, &e),
        };
    }
    if let Some(folder) = &args.folder {
        let mode = match &args.shared {
            Some(words) => match tools::shared_mode(words) {
                Some(m) => Some(m),
                None => {
                    eprintln!("maildirmake: invalid -s mode {words:?} (read, write, group)");
                    return ExitCode::FAILURE;
                }
            },
            None => None,
        };
        if let Err(e) = tools::make_folder(dir, folder, mode) {
            return fail(&format!("{}: {folder}", dir.display()), &e);
        }
    } else if args.quota.is_none() || !dir.join("cur").is_dir() {
        let mode = if args.sharable { 0o755 } else { 0o700 };
        if let Err(e) = tools::make_maildir(dir, mode) {
            return fail(&dir.display().to_string(), &e);
        }
    }
    if let Some(q) = &args.quota {
        if let Err(e) = tools::set_quota(dir, q) {
            return fail(&dir.display().to_string(), &e);
        }
    }
    ExitCode::SUCCESS
}
