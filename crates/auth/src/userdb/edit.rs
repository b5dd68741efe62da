//! Editing a userdb source file like Courier's `userdb` script: an
//! exclusive `flock` on `.lock.<file>` (the same lock file Courier's tool
//! uses, so the two can be mixed), the new contents written to
//! `.tmp.<file>` (mode 0600, then the old file's mode), synced, and
//! renamed over the original. Readers never see a half-written file.
//!
//! Only the first line for a name is changed; every other line, comments
//! included, is kept as it is.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::record::Record;

/// Why an edit failed.
#[derive(Debug, Error)]
pub enum EditError {
    /// A name, field or value contains `|`, a line break, a TAB (in a
    /// name) or is empty where it may not be.
    #[error("invalid field or value: {0:?}")]
    Invalid(String),
    /// The path is a directory: address a file inside it.
    #[error("{0}: not a file")]
    NotAFile(PathBuf),
    /// Reading, locking, writing or renaming failed.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> EditError + '_ {
    move |source| EditError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Checks a userdb account name.
pub fn check_name(name: &str) -> Result<(), EditError> {
    if name.is_empty() || name.contains(['|', '\t', '\n', '\r', '\0']) {
        return Err(EditError::Invalid(name.to_owned()));
    }
    Ok(())
}

/// Checks a field name or value (no `|`, no line breaks or NUL; names
/// also non-empty and without `=`).
fn check_field(name: &str, value: Option<&str>) -> Result<(), EditError> {
    let bad = |s: &str| s.contains(['|', '\n', '\r', '\0']);
    if name.is_empty() || name.contains('=') || bad(name) || value.is_some_and(bad) {
        return Err(EditError::Invalid(match value {
            Some(v) => format!("{name}={v}"),
            None => name.to_owned(),
        }));
    }
    Ok(())
}

/// One userdb source file, for editing.
#[derive(Debug, Clone)]
pub struct UserdbFile {
    path: PathBuf,
}

/// A held `.lock.<file>` lock; released on drop.
#[derive(Debug)]
pub struct EditLock {
    _file: File,
}

impl UserdbFile {
    /// The file at `path` (it need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        UserdbFile { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sibling(&self, prefix: &str) -> PathBuf {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "userdb".into());
        self.path.with_file_name(format!("{prefix}{name}"))
    }

    /// Takes the exclusive lock on `.lock.<file>` (waits for it).
    pub fn lock(&self) -> Result<EditLock, EditError> {
        let path = self.sibling(".lock.");
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io_err(&path))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| io_err(&path)(e.into()))?;
        Ok(EditLock { _file: file })
    }

    /// The file's lines; empty if it does not exist.
    fn read_lines(&self) -> Result<Vec<String>, EditError> {
        match fs::metadata(&self.path) {
            Ok(m) if !m.is_file() => return Err(EditError::NotAFile(self.path.clone())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(&self.path)(e)),
            Ok(_) => {}
        }
        let bytes = fs::read(&self.path).map_err(io_err(&self.path))?;
        let text = String::from_utf8_lossy(&bytes);
        let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
        if lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        Ok(lines)
    }

    /// Index of the first line for `name`.
    fn find(lines: &[String], name: &str) -> Option<usize> {
        lines.iter().position(|l| {
            !l.starts_with('#') && l.split_once('\t').map_or(l.as_str(), |(n, _)| n) == name
        })
    }

    /// Writes `lines` atomically (temp file + rename), keeping the old
    /// file's permission bits (0600 for a new file) and, where allowed, its
    /// owner (the server may read it as another user than this tool).
    fn write_lines(&self, lines: &[String]) -> Result<(), EditError> {
        let tmp = self.sibling(".tmp.");
        let old = fs::metadata(&self.path).ok();
        let mode = old
            .as_ref()
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0o600);
        let result = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            let mut text = lines.join("\n");
            if !text.is_empty() {
                text.push('\n');
            }
            f.write_all(text.as_bytes())?;
            if let Some(old) = &old {
                // Without the right to give the file away it stays ours.
                let _ = std::os::unix::fs::fchown(&f, Some(old.uid()), Some(old.gid()));
            }
            f.set_permissions(fs::Permissions::from_mode(mode))?;
            f.sync_all()?;
            fs::rename(&tmp, &self.path)?;
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                File::open(dir)?.sync_all()?;
            }
            Ok(())
        })();
        result.map_err(|e| {
            let _ = fs::remove_file(&tmp);
            io_err(&self.path)(e)
        })
    }

    /// The first record for `name` in this file, if any.
    pub fn record(&self, name: &str) -> Result<Option<Record>, EditError> {
        let lines = self.read_lines()?;
        Ok(Self::find(&lines, name)
            .map(|i| Record::parse(lines[i].split_once('\t').map_or("", |(_, r)| r))))
    }

    /// `userdb NAME set field=value...`: creates the entry or updates the
    /// given fields (existing fields keep their place; new ones are
    /// appended).
    pub fn set(&self, name: &str, fields: &[(String, String)]) -> Result<(), EditError> {
        check_name(name)?;
        for (f, v) in fields {
            check_field(f, Some(v))?;
        }
        let _lock = self.lock()?;
        let mut lines = self.read_lines()?;
        let (index, mut record) = match Self::find(&lines, name) {
            Some(i) => {
                let rest = lines[i].split_once('\t').map_or("", |(_, r)| r);
                (i, Record::parse(rest))
            }
            None => {
                lines.push(String::new());
                (lines.len() - 1, Record::default())
            }
        };
        let list = record.fields_mut();
        for (f, v) in fields {
            match list.iter_mut().find(|(n, _)| n == f) {
                Some(slot) => slot.1 = Some(v.clone()),
                None => list.push((f.clone(), Some(v.clone()))),
            }
        }
        lines[index] = format!("{name}\t{}", record.to_text());
        self.write_lines(&lines)
    }

    /// `userdb NAME unset field...`: removes fields. `Ok(false)` if the
    /// name is not in the file (nothing written).
    pub fn unset(&self, name: &str, fields: &[String]) -> Result<bool, EditError> {
        check_name(name)?;
        for f in fields {
            check_field(f, None)?;
        }
        let _lock = self.lock()?;
        let mut lines = self.read_lines()?;
        let Some(i) = Self::find(&lines, name) else {
            return Ok(false);
        };
        let rest = lines[i].split_once('\t').map_or("", |(_, r)| r);
        let mut record = Record::parse(rest);
        record.fields_mut().retain(|(n, _)| !fields.contains(n));
        lines[i] = format!("{name}\t{}", record.to_text());
        self.write_lines(&lines)?;
        Ok(true)
    }

    /// `userdb NAME del`: removes the entry. `Ok(false)` if absent.
    pub fn delete(&self, name: &str) -> Result<bool, EditError> {
        check_name(name)?;
        let _lock = self.lock()?;
        let mut lines = self.read_lines()?;
        let Some(i) = Self::find(&lines, name) else {
            return Ok(false);
        };
        lines.remove(i);
        self.write_lines(&lines)?;
        Ok(true)
    }

    /// `userdb -show [NAME]`: without a name, every name in the file, one
    /// per line; with a name, its fields one per line (`field=value`), or
    /// nothing if absent.
    pub fn show(&self, name: Option<&str>) -> Result<String, EditError> {
        let _lock = self.lock()?;
        let lines = self.read_lines()?;
        let mut out = String::new();
        for line in &lines {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let (n, rest) = line.split_once('\t').unwrap_or((line.as_str(), ""));
            match name {
                Some(want) if want == n => {
                    for field in rest.split('|') {
                        out.push_str(field);
                        out.push('\n');
                    }
                    break;
                }
                Some(_) => {}
                None => {
                    out.push_str(n);
                    out.push('\n');
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn set_unset_del_show() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("userdb");
        let f = UserdbFile::new(&path);
        f.set(
            "john",
            &kv(&[("home", "/home/john"), ("uid", "1000"), ("gid", "1000")]),
        )
        .expect("set");
        let mode = fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(dir.path().join(".lock.userdb").exists());
        assert!(!dir.path().join(".tmp.userdb").exists());
        f.set("mary", &kv(&[("home", "/m"), ("uid", "1"), ("gid", "1")]))
            .expect("set");
        f.set("john", &kv(&[("systempw", "$1$x$y"), ("uid", "1001")]))
            .expect("set");
        assert_eq!(
            fs::read_to_string(&path).expect("read"),
            "john\thome=/home/john|uid=1001|gid=1000|systempw=$1$x$y\nmary\thome=/m|uid=1|gid=1\n"
        );
        assert_eq!(f.show(None).expect("show"), "john\nmary\n");
        assert_eq!(
            f.show(Some("john")).expect("show"),
            "home=/home/john\nuid=1001\ngid=1000\nsystempw=$1$x$y\n"
        );
        assert_eq!(f.show(Some("nobody")).expect("show"), "");
        assert!(f.unset("john", &["systempw".into()]).expect("unset"));
        assert!(!f.unset("nobody", &["x".into()]).expect("unset"));
        assert!(f.delete("mary").expect("del"));
        assert!(!f.delete("mary").expect("del"));
        assert_eq!(
            fs::read_to_string(&path).expect("read"),
            "john\thome=/home/john|uid=1001|gid=1000\n"
        );
    }

    #[test]
    fn keeps_other_lines_and_mode() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("users");
        fs::write(
            &path,
            "# accounts\nann\tuid=1|gid=1|home=/a|flag\n\nbob\tuid=2\n",
        )
        .expect("w");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).expect("chmod");
        let f = UserdbFile::new(&path);
        f.set("ann", &kv(&[("quota", "1000S")])).expect("set");
        assert_eq!(
            fs::read_to_string(&path).expect("read"),
            "# accounts\nann\tuid=1|gid=1|home=/a|flag|quota=1000S\n\nbob\tuid=2\n"
        );
        let mode = fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn rejects_bad_input() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = UserdbFile::new(dir.path().join("userdb"));
        assert!(matches!(f.set("a|b", &[]), Err(EditError::Invalid(_))));
        assert!(matches!(f.set("", &[]), Err(EditError::Invalid(_))));
        assert!(matches!(f.set("a\tb", &[]), Err(EditError::Invalid(_))));
        assert!(matches!(
            f.set("a", &kv(&[("x", "1|2")])),
            Err(EditError::Invalid(_))
        ));
        assert!(matches!(
            f.set("a", &kv(&[("x", "1\n2")])),
            Err(EditError::Invalid(_))
        ));
        assert!(matches!(
            f.set("a", &kv(&[("", "1")])),
            Err(EditError::Invalid(_))
        ));
        assert!(!dir.path().join("userdb").exists());
        let sub = dir.path().join("d");
        fs::create_dir(&sub).expect("mkdir");
        let d = UserdbFile::new(&sub);
        assert!(matches!(d.show(None), Err(EditError::NotAFile(_))));
        assert!(matches!(
            d.set("a", &kv(&[("x", "1")])),
            Err(EditError::NotAFile(_))
        ));
    }
}
