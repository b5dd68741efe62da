//! Account enumeration (Courier's `auth_enumerate`, `authenumerate` and
//! the `ENUMERATE` request of the authdaemond and authpipe protocols,
//! spec §3–4 and §10): the line format, both ways.
//!
//! ```text
//! name<TAB>uid<TAB>gid<TAB>home<TAB>maildir[<TAB>options]
//! ```
//!
//! The maildir column is always there, empty when the account has none;
//! the options column is what `ENUMERATE` answers carry and what
//! `authenumerate -o` prints. Without options the line is also an
//! account line of Courier's shared folder index (maildir spec §8.2).
//!
//! Backends list their accounts through [`crate::Backend::enumerate`];
//! [`crate::Authenticator::enumerate`] runs them in order. What a line
//! cannot carry ([`unlisted_reason`]) is left out by whoever writes lines.

use std::io::BufRead;
use std::ops::ControlFlow;
use std::path::PathBuf;

use crate::account::{Account, Options};
use crate::wire::{self, WireError};

/// Where enumerated accounts go, one at a time, as they are read (a
/// directory of 100,000 accounts is never held in memory). Returning
/// [`ControlFlow::Break`] stops the enumeration early.
pub type Sink<'a> = dyn FnMut(Account) -> ControlFlow<()> + 'a;

/// The request line.
pub const REQUEST: &[u8] = b"ENUMERATE\n";

/// Most lines one `ENUMERATE` answer may have: a bound on what a
/// misbehaving daemon or program can make a reader do.
pub const MAX_LINES: usize = 10_000_000;

/// Why `account` cannot be written as an enumeration line or a shared
/// index line, or `None` if it can.
///
/// * uid or gid 0: Courier's enumeration client and its index reader
///   both drop such lines (`libmail_atouid_t` gives 0 for "not a
///   number" too), so root accounts are never listed;
/// * a TAB, a line break or NUL in a field would shift the columns or
///   end the line;
/// * `#` starts a comment for every reader of these lines (Courier's
///   client, `sharedindexsplit`, the index reader), which would cut the
///   line short.
pub fn unlisted_reason(account: &Account) -> Option<&'static str> {
    if account.uid == 0 || account.gid == 0 {
        return Some("uid or gid 0 (Courier never lists root accounts)");
    }
    let home = account.home.to_string_lossy();
    let maildir = account
        .maildir
        .as_deref()
        .map(|m| m.to_string_lossy())
        .unwrap_or_default();
    let fields = [
        account.login.as_str(),
        &home,
        &maildir,
        account.options.as_str(),
    ];
    if account.login.is_empty() || home.is_empty() {
        return Some("empty name or home directory");
    }
    if fields
        .iter()
        .any(|f| f.contains(['\t', '\n', '\r', '\0', '#']))
    {
        return Some("a TAB, line break, NUL or '#' in a field");
    }
    None
}

/// The enumeration line of `account` (with its newline), options included
/// or not. The caller checks [`unlisted_reason`] first.
pub fn line(account: &Account, with_options: bool) -> String {
    let maildir = account
        .maildir
        .as_deref()
        .map(|m| m.to_string_lossy())
        .unwrap_or_default();
    let mut out = format!(
        "{}\t{}\t{}\t{}\t{maildir}",
        account.login,
        account.uid,
        account.gid,
        account.home.to_string_lossy()
    );
    if with_options {
        out.push('\t');
        out.push_str(account.options.as_str());
    }
    out.push('\n');
    out
}

/// How Courier's client reads the uid and gid columns
/// (`libmail_atouid_t`): the leading digits; none, or too many for 32
/// bits, is 0.
fn leading_number(s: &str) -> u32 {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s[..end].parse().unwrap_or(0)
}

/// Parses one line of an `ENUMERATE` answer as Courier's client does:
/// everything from `#` on is a comment; a line needs name, uid, gid and
/// home; a uid or gid that is 0 or not a number drops the line; maildir
/// and options are optional, and a sixth TAB ends the options. `None` for
/// comments, blank lines and dropped lines.
pub fn parse_line(line: &str) -> Option<Account> {
    let line = line.split('#').next().unwrap_or("");
    let mut fields = line.split('\t');
    let (name, uid, gid, home) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    let (uid, gid) = (leading_number(uid), leading_number(gid));
    if uid == 0 || gid == 0 {
        return None;
    }
    let maildir = fields.next().filter(|m| !m.is_empty());
    let options = fields.next().unwrap_or("");
    Some(Account {
        login: name.to_owned(),
        uid,
        gid,
        home: PathBuf::from(home),
        maildir: maildir.map(PathBuf::from),
        quota: None,
        full_name: None,
        options: Options::new(options),
    })
}

/// Reads an `ENUMERATE` answer up to its `.` line, handing each account
/// to `each`. End of input before the `.` is an error: the list is
/// incomplete (Courier's rule). Lines are bounded by [`wire::MAX_LINE`],
/// their number by [`MAX_LINES`]; a line that is not UTF-8 is skipped.
/// Returns `Ok(false)` when `each` stopped early; the rest of the answer
/// is still read (and dropped), so that a kept-open channel such as an
/// authpipe program's stays in step.
pub fn read_answer(r: &mut impl BufRead, each: &mut Sink<'_>) -> Result<bool, WireError> {
    let mut wanted = true;
    for _ in 0..MAX_LINES {
        let Some(line) = wire::read_line(r)? else {
            return Err(WireError::Io(
                "the list ended without its final '.' (incomplete)".into(),
            ));
        };
        if line == b"." {
            return Ok(wanted);
        }
        if !wanted {
            continue;
        }
        let Ok(line) = std::str::from_utf8(&line) else {
            tracing::warn!("enumeration line that is not UTF-8 skipped");
            continue;
        };
        if let Some(account) = parse_line(line) {
            wanted = each(account).is_continue();
        }
    }
    Err(WireError::Protocol(format!(
        "more than {MAX_LINES} enumeration lines"
    )))
}

/// Items of a list that may wait between a backend's async task (SQL,
/// LDAP) and the blocking caller.
#[cfg(any(feature = "sql", feature = "ldap"))]
pub(crate) const IN_FLIGHT: usize = 256;

/// What a backend's async task sends the blocking caller of
/// [`crate::Backend::enumerate`].
#[cfg(any(feature = "sql", feature = "ldap"))]
pub(crate) enum Streamed<T> {
    /// One row or entry.
    Item(T),
    /// The list is complete.
    End,
    /// The list broke off; why.
    Failed(String),
}

/// The caller's side of a streamed list: hands items to `each` until
/// [`Streamed::End`]. A failure, or a task that ends without saying so,
/// is [`crate::AuthError::Unavailable`] of `backend`. Returning early
/// (`each` stopped) drops the receiver, which stops the task.
#[cfg(any(feature = "sql", feature = "ldap"))]
pub(crate) fn receive<T>(
    mut rx: tokio::sync::mpsc::Receiver<Streamed<T>>,
    backend: &str,
    mut each: impl FnMut(T) -> ControlFlow<()>,
) -> Result<(), crate::AuthError> {
    loop {
        match rx.blocking_recv() {
            Some(Streamed::Item(item)) => {
                if each(item).is_break() {
                    return Ok(());
                }
            }
            Some(Streamed::End) => return Ok(()),
            Some(Streamed::Failed(e)) => return Err(crate::AuthError::unavailable(backend, e)),
            None => {
                return Err(crate::AuthError::unavailable(
                    backend,
                    "the list stopped before its end",
                ))
            }
        }
    }
}

/// Every account `backend` lists, collected (for tests).
#[cfg(test)]
pub(crate) fn collect(backend: &dyn crate::Backend) -> Result<Vec<Account>, crate::AuthError> {
    let mut all = Vec::new();
    backend.enumerate(&mut |a| {
        all.push(a);
        ControlFlow::Continue(())
    })?;
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn account(login: &str, maildir: Option<&str>, options: &str) -> Account {
        Account {
            login: login.into(),
            uid: 1000,
            gid: 100,
            home: "/home/a".into(),
            maildir: maildir.map(PathBuf::from),
            quota: None,
            full_name: None,
            options: Options::new(options),
        }
    }

    #[test]
    fn lines_as_authenumerate_prints_them() {
        let a = account("ann@x", None, "sharedgroup=g");
        assert_eq!(line(&a, false), "ann@x\t1000\t100\t/home/a\t\n");
        assert_eq!(
            line(&a, true),
            "ann@x\t1000\t100\t/home/a\t\tsharedgroup=g\n"
        );
        let b = account("bob", Some("./Maildir"), "");
        assert_eq!(line(&b, true), "bob\t1000\t100\t/home/a\t./Maildir\t\n");
        assert_eq!(unlisted_reason(&a), None);
        for bad in ["a\tb", "a#b", "a\nb", ""] {
            assert!(
                unlisted_reason(&account(bad, None, "")).is_some(),
                "{bad:?}"
            );
        }
        assert!(unlisted_reason(&account("a", Some("x#y"), "")).is_some());
        assert!(unlisted_reason(&account("a", None, "x=\t")).is_some());
        let mut root = account("root", None, "");
        root.uid = 0;
        assert!(unlisted_reason(&root).is_some());
        root.uid = 5;
        root.gid = 0;
        assert!(unlisted_reason(&root).is_some());
    }

    #[test]
    fn parsing_follows_courier_client() {
        let a = account("ann@x", Some("/m"), "disableshared=1");
        assert_eq!(
            parse_line(&line(&a, true)[..line(&a, true).len() - 1]),
            Some(a)
        );
        // Module headers, blank lines, short lines, uid 0 or junk.
        for skipped in [
            "# authuserdb",
            "",
            "ann\t1\t2",
            "root\t0\t0\t/root\t",
            "x\tabc\t1\t/h",
            "x\t1\t0\t/h",
        ] {
            assert_eq!(parse_line(skipped), None, "{skipped:?}");
        }
        // Four columns are enough; a comment cuts the line; a seventh
        // column is ignored; "12abc" reads as 12 as in C.
        let p = parse_line("bob\t12abc\t7\t/home/bob#comment\tx").unwrap();
        assert_eq!(
            (p.uid, p.gid, p.home.as_path()),
            (12, 7, "/home/bob".as_ref())
        );
        assert_eq!(p.maildir, None);
        let p = parse_line("bob\t1\t1\t/h\t\topt=1\textra").unwrap();
        assert_eq!((p.maildir, p.options.as_str()), (None, "opt=1"));
    }

    #[test]
    fn answers_need_their_final_dot() {
        let text =
            "# authuserdb\n\nann\t1\t2\t/a\t\t\nroot\t0\t0\t/root\t\t\nbob\t3\t4\t/b\t/m\tx=1\n.\n";
        let mut got = Vec::new();
        let done = read_answer(&mut Cursor::new(text), &mut |a| {
            got.push(a.login);
            ControlFlow::Continue(())
        })
        .unwrap();
        assert!(done);
        assert_eq!(got, ["ann", "bob"]);
        // Incomplete: no final dot.
        let cut = &text[..text.len() - 2];
        assert!(read_answer(&mut Cursor::new(cut), &mut |_| ControlFlow::Continue(())).is_err());
        // A line longer than the protocol allows.
        let long = format!("{}\n.\n", "a".repeat(wire::MAX_LINE + 1));
        assert!(read_answer(&mut Cursor::new(long), &mut |_| ControlFlow::Continue(())).is_err());
        // The sink stops early.
        let mut n = 0;
        let done = read_answer(&mut Cursor::new(text), &mut |_| {
            n += 1;
            ControlFlow::Break(())
        })
        .unwrap();
        assert!(!done);
        assert_eq!(n, 1);
    }
}
