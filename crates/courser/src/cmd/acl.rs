//! `courser acl`: Courier's `maildiracl` — list, set, delete and compute
//! the ACL of a folder, or reset `courierimaphieracl/`, with the same
//! arguments, outputs, messages and exit statuses, so scripts written for
//! `maildiracl` work unchanged.

use std::ffi::OsString;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::ExitCode;

use courser_maildir::acl::{self, AclList, Rights};
use courser_maildir::Error;

/// Arguments of `courser acl`.
#[derive(clap::Args, Debug)]
#[command(disable_help_flag = true)]
pub struct Args {
    /// `-reset maildir`, or `-list|-set|-delete|-compute maildir
    /// INBOX[.folder]` followed by `identifier rights` (-set), `identifier`
    /// (-delete) or the identifiers held (-compute).
    #[arg(allow_hyphen_values = true, trailing_var_arg = true, num_args = 0..)]
    pub args: Vec<OsString>,
}

/// maildiracl prints its `argv[0]` here; scripts see maildiracl's text.
const PROGRAM: &str = "maildiracl";

fn usage() -> ExitCode {
    println!("Usage: maildiracl [ options ] maildir [INBOX[.folder] [identifier rights]]");
    ExitCode::FAILURE
}

/// `perror`'s text for an error: the system message, or "Invalid
/// argument" for what Courier refuses with EINVAL.
fn strerror(e: &Error) -> String {
    match e {
        Error::Io { source, .. } => {
            let s = source.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
        _ => "Invalid argument".into(),
    }
}

/// Like C's `perror`: no prefix for an empty `what`.
fn perror(what: &[u8], e: &Error) -> ExitCode {
    if what.is_empty() {
        eprintln!("{}", strerror(e));
    } else {
        eprintln!("{}: {}", String::from_utf8_lossy(what), strerror(e));
    }
    ExitCode::FAILURE
}

/// A failed write: the identifier that would lose its minimum rights, or
/// the error.
fn write_failed(maildir: &[u8], e: &Error) -> ExitCode {
    match e {
        Error::AclMinimumRights(who) => {
            eprintln!("Trying to set invalid access rights for {who}");
            ExitCode::FAILURE
        }
        e => perror(maildir, e),
    }
}

fn print_line(parts: &[&[u8]]) {
    let mut out = io::stdout().lock();
    let _ = parts.iter().try_for_each(|p| out.write_all(p));
    let _ = out.write_all(b"\n");
}

/// Runs the command.
pub fn run(args: Args) -> ExitCode {
    let a: Vec<&[u8]> = args.args.iter().map(|s| s.as_bytes()).collect();
    if a.len() < 2 {
        return usage();
    }
    let cmd = a[0];
    if ![
        b"-reset" as &[u8],
        b"-list",
        b"-set",
        b"-delete",
        b"-compute",
    ]
    .contains(&cmd)
    {
        return usage();
    }
    let maildir_arg = a[1];
    let maildir = Path::new(std::ffi::OsStr::from_bytes(maildir_arg));
    if cmd == b"-reset" {
        return match acl::reset(maildir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => perror(maildir_arg, &e),
        };
    }
    if a.len() < 3 {
        return usage();
    }
    let folder = a[2];
    let Some(dir) = folder_dir(folder) else {
        return perror(folder, &Error::InvalidAcl("not INBOX or below"));
    };
    let read = || acl::read(maildir, dir);
    match cmd {
        b"-list" => match read() {
            Ok(list) => {
                for e in list.entries() {
                    print_line(&[e.identifier(), b"\t", e.rights().as_bytes()]);
                }
                ExitCode::SUCCESS
            }
            Err(e) => perror(maildir_arg, &e),
        },
        b"-set" => {
            if a.len() < 5 {
                return usage();
            }
            let (id, rights) = (a[3], a[4]);
            let mut list = match read() {
                Ok(l) => l,
                Err(e) => return perror(maildir_arg, &e),
            };
            let edited = new_rights(&list, id, rights).and_then(|r| list.set(id, r));
            if let Err(e) = edited {
                return perror(PROGRAM.as_bytes(), &e);
            }
            save(maildir, maildir_arg, dir, &list)
        }
        b"-delete" => {
            if a.len() < 4 {
                return usage();
            }
            let mut list = match read() {
                Ok(l) => l,
                Err(e) => return perror(maildir_arg, &e),
            };
            list.remove(a[3]);
            save(maildir, maildir_arg, dir, &list)
        }
        _ => {
            if a.len() < 4 {
                return usage();
            }
            match read() {
                Ok(list) => {
                    let r = list.compute(|id| a[3..].contains(&id), true);
                    print_line(&[r.as_bytes()]);
                    ExitCode::SUCCESS
                }
                Err(e) => perror(maildir_arg, &e),
            }
        }
    }
}

/// `INBOX` → `.`, `INBOX.a.b` → `.a.b`; anything else is refused.
fn folder_dir(folder: &[u8]) -> Option<&str> {
    let rest = folder.strip_prefix(b"INBOX")?;
    if !rest.is_empty() && !rest.starts_with(b".") {
        return None;
    }
    let dir = std::str::from_utf8(rest).ok()?;
    Some(if dir.is_empty() { "." } else { dir })
}

/// `+rights` adds to the identifier's rights, `-rights` removes from them,
/// anything else replaces them.
fn new_rights(list: &AclList, id: &[u8], rights: &[u8]) -> Result<Rights, Error> {
    let current = || list.get(id).cloned().unwrap_or_default();
    match rights.split_first() {
        Some((b'+', add)) => {
            let mut r = current();
            r.add(&Rights::parse(add)?);
            Ok(r)
        }
        Some((b'-', del)) => {
            let mut r = current();
            r.remove(del);
            Ok(r)
        }
        _ => Rights::parse(rights),
    }
}

fn save(maildir: &Path, maildir_arg: &[u8], dir: &str, list: &AclList) -> ExitCode {
    match acl::write(maildir, dir, list, Some(b"owner")) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => write_failed(maildir_arg, &e),
    }
}
