//! `courser shared-index`: builds the virtual shared folder index from
//! the configured account sources and installs it — what Courier's
//! `authenumerate -s -o | sharedindexsplit DIR [N]` followed by
//! `sharedindexinstall` do, in one step that cannot install a partial
//! list.
//!
//! ```text
//! courser shared-index [--config FILE | --userdb FILE] [--index FILE]
//!                      [--split N] [--allow-empty]
//! ```
//!
//! * The index file is `--index`, else `[maildir] shared_index` of the
//!   configuration (Courier's `IMAP_SHAREDINDEXFILE`, Debian's
//!   `/etc/courier/shared/index`). Its directory must exist.
//! * Accounts with `disableshared` set are left out (`authenumerate
//!   -s`); each `sharedgroup=G` universe gets its own file `index<G>`.
//! * `--split N` spreads accounts over files by the first N characters of
//!   their names, under group entries, as `sharedindexsplit DIR N` does
//!   (within each universe; see [`courser_maildir::shared_index::install`]).
//! * The new files are written beside the old ones and renamed into
//!   place, the top files last; old index files the new index no longer
//!   has are removed. If any backend fails, nothing is installed and the
//!   old index stays as it was (exit 1). An index without any account is
//!   installed only with `--allow-empty` (`sharedindexinstall` refuses an
//!   empty directory too).
//!
//! Running servers pick the new files up when they next read the index.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;

use courser_maildir::shared_index::install::{self, Builder, IndexAccount};

use super::accounts::Source;

/// Arguments of `courser shared-index`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where the accounts are.
    #[command(flatten)]
    pub source: Source,
    /// The index's top file (default: `[maildir] shared_index` of
    /// --config).
    #[arg(long, value_name = "FILE")]
    pub index: Option<PathBuf>,
    /// Split by the first N characters of the account names into group
    /// files (0: one file per sharedgroup universe).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub split: usize,
    /// Install even an index without accounts.
    #[arg(long)]
    pub allow_empty: bool,
}

/// Runs the command.
pub fn run(args: Args) -> ExitCode {
    match build_and_install(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("courser shared-index: {e}");
            ExitCode::FAILURE
        }
    }
}

fn build_and_install(args: &Args) -> Result<(), String> {
    let index = match &args.index {
        Some(i) => i.clone(),
        None => args.source.shared_index()?.ok_or(
            "no index file: give --index FILE or set [maildir] shared_index in the --config file",
        )?,
    };
    let auth = args.source.authenticator()?;
    let mut builder = Builder::new(&index, args.split).map_err(|e| e.to_string())?;
    let mut failed = None;
    let mut left_out = 0usize;
    let listed = auth.enumerate(&mut |account| {
        if account.options.disable_shared() {
            return ControlFlow::Continue(());
        }
        let home = account.home.to_str();
        let maildir = account.maildir.as_deref().map(|m| m.to_str());
        let (Some(home), None | Some(Some(_))) = (home, maildir) else {
            eprintln!(
                "courser shared-index: {:?} left out: a path that is not UTF-8",
                account.login
            );
            left_out += 1;
            return ControlFlow::Continue(());
        };
        let entry = IndexAccount {
            name: &account.login,
            uid: account.uid,
            gid: account.gid,
            home,
            maildir: maildir.flatten(),
            shared_group: account.options.shared_group(),
        };
        if let Some(why) = install::unwritable_reason(&entry) {
            eprintln!("courser shared-index: {:?} left out: {why}", account.login);
            left_out += 1;
            return ControlFlow::Continue(());
        }
        match builder.add(&entry) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                failed = Some(e.to_string());
                ControlFlow::Break(())
            }
        }
    });
    let keep = "; the old index is left as it was";
    listed.map_err(|e| format!("cannot list the accounts: {e}{keep}"))?;
    if let Some(e) = failed {
        return Err(format!("{e}{keep}"));
    }
    let built = builder.finish().map_err(|e| format!("{e}{keep}"))?;
    if built.accounts() == 0 && !args.allow_empty {
        return Err(format!(
            "no account to list (--allow-empty installs an empty index){keep}"
        ));
    }
    let done = built.install().map_err(|e| e.to_string())?;
    println!(
        "{}: {} accounts in {} files{}{}",
        index.display(),
        done.accounts,
        done.files.len(),
        if done.removed.is_empty() {
            String::new()
        } else {
            format!("; removed {}", done.removed.join(" "))
        },
        if left_out == 0 {
            String::new()
        } else {
            format!("; left out: {left_out} (see above)")
        }
    );
    Ok(())
}
