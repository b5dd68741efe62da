//! System accounts from `/etc/passwd` and `/etc/shadow` (Courier's
//! authpwd and authshadow modules), read from files whose paths are
//! configurable, parsed here rather than through libc's `getpwnam`, so
//! that tests can use their own files and nothing depends on NSS.
//!
//! Formats (passwd(5), shadow(5)):
//!
//! ```text
//! /etc/passwd  name:password:uid:gid:gecos:home:shell
//! /etc/shadow  name:password:lastchange:min:max:warn:inactive:expire:
//! ```
//!
//! The password is shadow's when a shadow file is configured and has the
//! user, else passwd's own field (`x` there means "in shadow"). Locked
//! (`!…`, `*…`) and empty passwords never verify. As with Courier, the
//! account has no maildir, quota or options; the full name is the first
//! comma-separated part of the gecos field.
//!
//! Reading `/etc/shadow` needs root: a server started as root runs this
//! backend in its authentication process, which keeps root.

use std::fs;
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};

use crate::account::{Account, Options};
use crate::backend::{Backend, Entry};
use crate::enumerate::Sink;
use crate::error::AuthError;

/// Debian's locations.
pub const DEFAULT_PASSWD: &str = "/etc/passwd";
/// Debian's shadow file.
pub const DEFAULT_SHADOW: &str = "/etc/shadow";
/// Debian's group file.
pub const DEFAULT_GROUP: &str = "/etc/group";

/// One line of a passwd file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdLine {
    /// Login name.
    pub name: String,
    /// Password field (`x` when the real one is in shadow).
    pub password: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Gecos (full name, comma-separated extras).
    pub gecos: String,
    /// Home directory.
    pub home: String,
}

/// Parses one passwd line; `None` for comments, NIS `+`/`-` entries and
/// malformed lines.
pub fn parse_passwd_line(line: &str) -> Option<PasswdLine> {
    if line.starts_with(['#', '+', '-']) {
        return None;
    }
    let f: Vec<&str> = line.split(':').collect();
    if f.len() < 7 || f[0].is_empty() {
        return None;
    }
    Some(PasswdLine {
        name: f[0].to_owned(),
        password: f[1].to_owned(),
        uid: f[2].parse().ok()?,
        gid: f[3].parse().ok()?,
        gecos: f[4].to_owned(),
        home: f[5].to_owned(),
    })
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Finds `name` in a passwd file. `Err` if the file cannot be read.
pub fn getpwnam(passwd: &Path, name: &str) -> Result<Option<PasswdLine>, String> {
    Ok(read(passwd)?
        .lines()
        .filter_map(parse_passwd_line)
        .find(|p| p.name == name))
}

/// The gid of group `name` in a group file (group(5):
/// `name:password:gid:members`). `Err` if the file cannot be read.
pub fn getgrnam(group: &Path, name: &str) -> Result<Option<u32>, String> {
    Ok(read(group)?.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next() == Some(name))
            .then(|| f.nth(1).and_then(|gid| gid.parse().ok()))
            .flatten()
    }))
}

/// Finds `name`'s password in a shadow file.
pub fn shadow_password(shadow: &Path, name: &str) -> Result<Option<String>, String> {
    Ok(read(shadow)?.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next() == Some(name)).then(|| f.next().unwrap_or("").to_owned())
    }))
}

/// Lowest uid Courier's `authpwdenumerate` lists: system accounts below
/// it never have mail.
pub const FIRST_LISTED_UID: u32 = 100;

/// Lists the accounts of a passwd file as Courier's authpwd, authshadow
/// and authpam modules do (`getpwent`, skipping uids below
/// [`FIRST_LISTED_UID`]), reading the file a line at a time. Courier
/// walks every NSS source; this reads the configured file only.
/// `backend` names the backend in errors.
pub fn enumerate_file(passwd: &Path, backend: &str, each: &mut Sink<'_>) -> Result<(), AuthError> {
    let unavailable = |e: &dyn std::fmt::Display| {
        AuthError::unavailable(backend, format!("{}: {e}", passwd.display()))
    };
    let mut reader = io::BufReader::new(fs::File::open(passwd).map_err(|e| unavailable(&e))?);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader
            .read_until(b'\n', &mut line)
            .map_err(|e| unavailable(&e))?
            == 0
        {
            return Ok(());
        }
        let Ok(text) = std::str::from_utf8(&line) else {
            continue;
        };
        let Some(p) = parse_passwd_line(text.trim_end_matches(['\n', '\r'])) else {
            continue;
        };
        if p.uid >= FIRST_LISTED_UID && each(PasswdBackend::account(&p)).is_break() {
            return Ok(());
        }
    }
}

/// Whether a stored system password can ever verify.
fn usable(password: &str) -> bool {
    !password.is_empty() && !password.starts_with(['!', '*']) && password != "x"
}

/// The passwd (+ shadow) backend. See the module documentation.
#[derive(Debug, Clone)]
pub struct PasswdBackend {
    passwd: PathBuf,
    shadow: Option<PathBuf>,
}

impl PasswdBackend {
    /// A backend over `passwd` and, if given, `shadow`.
    pub fn new(passwd: impl Into<PathBuf>, shadow: Option<PathBuf>) -> Self {
        PasswdBackend {
            passwd: passwd.into(),
            shadow,
        }
    }

    /// The passwd file.
    pub fn passwd_path(&self) -> &Path {
        &self.passwd
    }

    /// The account for a passwd line.
    pub fn account(p: &PasswdLine) -> Account {
        let full_name = p.gecos.split(',').next().unwrap_or("").to_owned();
        Account {
            login: p.name.clone(),
            uid: p.uid,
            gid: p.gid,
            home: PathBuf::from(&p.home),
            maildir: None,
            quota: None,
            full_name: Some(full_name).filter(|n| !n.is_empty()),
            options: Options::default(),
        }
    }
}

impl Backend for PasswdBackend {
    fn name(&self) -> &str {
        if self.shadow.is_some() {
            "shadow"
        } else {
            "passwd"
        }
    }

    fn lookup(&self, _service: &str, login: &str) -> Result<Option<Entry>, AuthError> {
        let unavailable = |e: String| AuthError::unavailable(self.name(), e);
        let Some(p) = getpwnam(&self.passwd, login).map_err(unavailable)? else {
            return Ok(None);
        };
        let mut password = p.password.clone();
        if let Some(shadow) = &self.shadow {
            if let Some(s) = shadow_password(shadow, login).map_err(unavailable)? {
                password = s;
            }
        }
        let mut entry = Entry::new(Self::account(&p));
        // An unusable password is kept out: `check_password` then fails.
        entry.password = Some(password).filter(|p| usable(p));
        Ok(Some(entry))
    }

    fn enumerate(&self, each: &mut Sink<'_>) -> Result<(), AuthError> {
        enumerate_file(&self.passwd, self.name(), each)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Verdict;

    #[test]
    fn passwd_and_shadow() {
        let dir = tempfile::tempdir().unwrap();
        let passwd = dir.path().join("passwd");
        let shadow = dir.path().join("shadow");
        // {MD5RAW} of "one".
        fs::write(
            &passwd,
            "# comment\nroot:x:0:0:root:/root:/bin/bash\n+nis\nbad:x:notanumber:1::/:/bin/sh\n\
             ann:x:1000:100:Ann Smith,,,:/home/ann:/bin/sh\n\
             bob:{MD5RAW}f97c5d29941bfb1b2fdab0874906ab82:1001:100::/home/bob:/bin/sh\n\
             cat:x:1002:100::/home/cat:/bin/sh\n",
        )
        .unwrap();
        fs::write(
            &shadow,
            "ann:{MD5RAW}f97c5d29941bfb1b2fdab0874906ab82:19000:0:99999:7:::\n\
             cat:!{MD5RAW}f97c5d29941bfb1b2fdab0874906ab82:19000::::::\n",
        )
        .unwrap();
        let b = PasswdBackend::new(&passwd, Some(shadow.clone()));
        let ann = b.lookup("imap", "ann").unwrap().unwrap();
        assert_eq!(ann.account.uid, 1000);
        assert_eq!(ann.account.full_name.as_deref(), Some("Ann Smith"));
        assert!(matches!(
            b.authenticate("imap", "ann", b"one"),
            Ok(Verdict::Accepted(_))
        ));
        assert_eq!(b.authenticate("imap", "ann", b"two"), Ok(Verdict::Rejected));
        // Not in shadow: passwd's own field.
        assert!(matches!(
            b.authenticate("imap", "bob", b"one"),
            Ok(Verdict::Accepted(_))
        ));
        // Locked.
        assert_eq!(b.authenticate("imap", "cat", b"one"), Ok(Verdict::Rejected));
        assert_eq!(b.authenticate("imap", "zed", b"one"), Ok(Verdict::Unknown));
        assert_eq!(b.lookup("imap", "bad").unwrap(), None);
        // passwd only: "x" never verifies.
        let p = PasswdBackend::new(&passwd, None);
        assert_eq!(p.authenticate("imap", "ann", b"one"), Ok(Verdict::Rejected));
        // Unreadable files are temporary failures.
        let gone = PasswdBackend::new(dir.path().join("nope"), None);
        assert!(gone.lookup("imap", "ann").unwrap_err().is_temporary());
        let gone = PasswdBackend::new(&passwd, Some(dir.path().join("nope")));
        assert!(gone.lookup("imap", "ann").unwrap_err().is_temporary());
        // Enumeration: uids below 100 (root) and malformed lines left out.
        let listed: Vec<_> = crate::enumerate::collect(&b)
            .unwrap()
            .into_iter()
            .map(|a| (a.login, a.uid, a.home))
            .collect();
        assert_eq!(
            listed,
            [
                ("ann".to_owned(), 1000, PathBuf::from("/home/ann")),
                ("bob".to_owned(), 1001, PathBuf::from("/home/bob")),
                ("cat".to_owned(), 1002, PathBuf::from("/home/cat")),
            ]
        );
        let gone = PasswdBackend::new(dir.path().join("nope"), None);
        assert!(crate::enumerate::collect(&gone).unwrap_err().is_temporary());
    }
}
