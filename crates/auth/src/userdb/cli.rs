//! The `userdb` command line, parsed exactly as Courier's `userdb` script
//! parses it, so existing scripts keep working with `courser userdb`:
//!
//! ```text
//! userdb [path/.../ | -f file] name set field=value field ...
//! userdb [path/.../ | -f file] name unset field ...
//! userdb [path/.../ | -f file] name del
//! userdb -show [path/... | -f file] [name]
//! userdb [-f file] compile          (Courier's makeuserdb)
//! ```
//!
//! `list` is accepted for `-show` and `add` for `set`.
//!
//! `path/name` addresses the file `<userdb>/path` of a userdb directory.
//! In `set`, a field given without `=value` takes its value from one line
//! of standard input (for passwords: `courser pw | courser userdb john set
//! systempw`). `--show` and `--file` are accepted as spellings of `-show`
//! and `-f`.

use std::path::{Path, PathBuf};

/// One field argument of `set`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetField {
    /// `field=value`.
    Value(String, String),
    /// `field`: read the value from standard input.
    FromStdin(String),
}

/// A parsed `userdb` invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `-show [name]`.
    Show {
        /// The file to read.
        file: PathBuf,
        /// The account to show; `None` lists names.
        name: Option<String>,
    },
    /// `name set …`.
    Set {
        /// The file to edit.
        file: PathBuf,
        /// The account.
        name: String,
        /// Fields to set.
        fields: Vec<SetField>,
    },
    /// `name unset field…`.
    Unset {
        /// The file to edit.
        file: PathBuf,
        /// The account.
        name: String,
        /// Fields to remove.
        fields: Vec<String>,
    },
    /// `name del`.
    Del {
        /// The file to edit.
        file: PathBuf,
        /// The account.
        name: String,
    },
    /// `compile`: write the compiled form ([`super::compiled::compile`]).
    Compile {
        /// The source file or directory.
        file: PathBuf,
    },
}

/// The usage text (Courier's, with our command name).
pub const USAGE: &str = "\
Usage: courser userdb [path/.../ | -f file ]name set field=value field=value...
       courser userdb [path/.../ | -f file ]name unset field field...
       courser userdb [path/.../ | -f file ]name del
       courser userdb -show|list [path/... | -f file ] [name]
       courser userdb [-f file ] compile";

/// Parses the arguments after `userdb`. `default_userdb` is the userdb
/// file or directory used without `-f`. `Err` carries the usage text.
pub fn parse(default_userdb: &Path, args: &[String]) -> Result<Command, String> {
    let usage = || USAGE.to_owned();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    if let ["compile", rest @ ..] = words.as_slice() {
        return match rest {
            [] => Ok(Command::Compile {
                file: default_userdb.to_owned(),
            }),
            ["-f" | "--file", file] => Ok(Command::Compile {
                file: PathBuf::from(file),
            }),
            _ => Err(usage()),
        };
    }
    let mut args = args.iter().map(String::as_str);
    let mut next = args.next();
    // `list` and `add` are DESIGN.md's names for `-show` and `set`.
    let show = matches!(next, Some("-show" | "--show" | "list"));
    if show {
        next = args.next();
    }
    let (file, name) = match next {
        Some("-f") | Some("--file") => {
            let file = args.next().ok_or_else(usage)?;
            (PathBuf::from(file), args.next().map(str::to_owned))
        }
        Some(arg) => match arg.rsplit_once('/') {
            Some((dir, name)) => (default_userdb.join(dir), Some(name.to_owned())),
            None => (default_userdb.to_owned(), Some(arg.to_owned())),
        },
        None => (default_userdb.to_owned(), None),
    };
    if show {
        if args.next().is_some() {
            return Err(usage());
        }
        return Ok(Command::Show {
            file,
            name: name.filter(|n| !n.is_empty()),
        });
    }
    let name = name.filter(|n| !n.is_empty()).ok_or_else(usage)?;
    let Some(verb) = args.next() else {
        return match (next, name.as_str()) {
            (Some("-f" | "--file"), "compile") => Ok(Command::Compile { file }),
            _ => Err(usage()),
        };
    };
    let rest: Vec<&str> = args.collect();
    match verb {
        "set" | "add" if !rest.is_empty() => Ok(Command::Set {
            file,
            name,
            fields: rest
                .iter()
                .map(|a| match a.split_once('=') {
                    Some((k, v)) => SetField::Value(k.to_owned(), v.to_owned()),
                    None => SetField::FromStdin((*a).to_owned()),
                })
                .collect(),
        }),
        "unset" if !rest.is_empty() => Ok(Command::Unset {
            file,
            name,
            fields: rest.iter().map(|s| (*s).to_owned()).collect(),
        }),
        "del" if rest.is_empty() => Ok(Command::Del { file, name }),
        _ => Err(usage()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        parse(Path::new("/etc/courier/userdb"), &args)
    }

    #[test]
    fn courier_forms() {
        assert_eq!(
            p(&["john", "set", "home=/h", "systempw"]),
            Ok(Command::Set {
                file: "/etc/courier/userdb".into(),
                name: "john".into(),
                fields: vec![
                    SetField::Value("home".into(), "/h".into()),
                    SetField::FromStdin("systempw".into())
                ],
            })
        );
        assert_eq!(
            p(&["-f", "/tmp/u", "john", "del"]),
            Ok(Command::Del {
                file: "/tmp/u".into(),
                name: "john".into()
            })
        );
        assert_eq!(
            p(&["users/john", "unset", "quota"]),
            Ok(Command::Unset {
                file: "/etc/courier/userdb/users".into(),
                name: "john".into(),
                fields: vec!["quota".into()]
            })
        );
        assert_eq!(
            p(&["compile"]),
            Ok(Command::Compile {
                file: "/etc/courier/userdb".into()
            })
        );
        for args in [
            &["compile", "-f", "/tmp/u"][..],
            &["-f", "/tmp/u", "compile"],
        ] {
            assert_eq!(
                p(args),
                Ok(Command::Compile {
                    file: "/tmp/u".into()
                })
            );
        }
        assert_eq!(
            p(&["-show"]),
            Ok(Command::Show {
                file: "/etc/courier/userdb".into(),
                name: None
            })
        );
        assert_eq!(
            p(&["-show", "-f", "/tmp/u", "john"]),
            Ok(Command::Show {
                file: "/tmp/u".into(),
                name: Some("john".into())
            })
        );
        assert_eq!(
            p(&["--show", "users/"]),
            Ok(Command::Show {
                file: "/etc/courier/userdb/users".into(),
                name: None
            })
        );
        // Values may contain '='.
        assert_eq!(
            p(&["j", "set", "options=disableimap=1,group=x"]),
            Ok(Command::Set {
                file: "/etc/courier/userdb".into(),
                name: "j".into(),
                fields: vec![SetField::Value(
                    "options".into(),
                    "disableimap=1,group=x".into()
                )],
            })
        );
    }

    #[test]
    fn design_spellings_list_and_add() {
        assert_eq!(p(&["list"]), p(&["-show"]));
        assert_eq!(p(&["list", "-f", "/tmp/u"]), p(&["-show", "-f", "/tmp/u"]));
        assert_eq!(p(&["john", "add", "uid=1"]), p(&["john", "set", "uid=1"]));
    }

    #[test]
    fn usage_errors() {
        for bad in [
            &[][..],
            &["john"],
            &["john", "set"],
            &["john", "unset"],
            &["john", "del", "x"],
            &["john", "frob"],
            &["-f"],
            &["-f", "/tmp/u"],
            &["users/", "del"],
            &["-show", "a", "b"],
            &["compile", "x"],
            &["users/compile"],
        ] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
    }
}
