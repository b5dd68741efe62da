//! Reading the userdb source: one text file, or a directory of them
//! (spec §7.1, Courier's `makeuserdb` rules), into memory.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::record::{Record, SecretKinds};

/// A parsed userdb.
#[derive(Debug, Default, Clone)]
pub struct Userdb {
    records: HashMap<String, Record>,
    /// Reverse `uid=` map entries (`1000=<TAB>name`).
    reverse: HashMap<String, String>,
    /// Names in file order.
    order: Vec<String>,
    kinds: SecretKinds,
}

impl Userdb {
    /// The record for `name`.
    pub fn get(&self, name: &str) -> Option<&Record> {
        self.records.get(name)
    }

    /// Account names in file order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.order.iter().map(String::as_str)
    }

    /// Number of account records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True if there are no account records.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The name a `uid=` reverse entry maps `uid` to.
    pub fn name_for_uid(&self, uid: u32) -> Option<&str> {
        self.reverse.get(&format!("{uid}=")).map(String::as_str)
    }

    /// The reverse `uid=` entries as `(key, name)`, e.g. `("1000=", "john")`.
    pub(crate) fn reverse_entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.reverse.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Which challenge-response secrets some record holds.
    pub fn secret_kinds(&self) -> SecretKinds {
        self.kinds
    }

    /// Adds the lines of one source file. `origin` names it in errors.
    ///
    /// Like `makeuserdb` + `makedat`: empty lines and `#` comments are
    /// skipped, as are lines without a TAB (makedat would store them as
    /// records without fields, which no lookup can use); the name is
    /// everything before the first TAB; a name ending in `=` is a reverse
    /// uid entry; a name seen twice is an error (makedat refuses
    /// duplicates, so Courier would keep the old database).
    pub fn add_text(&mut self, text: &str, origin: &str) -> Result<(), String> {
        for (n, line) in text.split('\n').enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, rest)) = line.split_once('\t') else {
                continue;
            };
            if name.is_empty() {
                continue;
            }
            let duplicate = if name.ends_with('=') {
                self.reverse
                    .insert(name.to_owned(), rest.to_owned())
                    .is_some()
            } else if self.records.contains_key(name) {
                true
            } else {
                let record = Record::parse(rest);
                self.kinds.merge(record.secret_kinds());
                self.records.insert(name.to_owned(), record);
                self.order.push(name.to_owned());
                false
            };
            if duplicate {
                return Err(format!("{origin}:{}: duplicate entry for {name:?}", n + 1));
            }
        }
        Ok(())
    }
}

/// What the change check compares: every file and directory read, with
/// size, modification time and inode. Taken before reading, so a change
/// during the read shows up at the next check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stamp {
    /// The path does not exist.
    Missing,
    /// `(path, size, mtime seconds, mtime nanoseconds, inode)` of each
    /// file and directory.
    Files(Vec<(PathBuf, u64, i64, i64, u64)>),
}

impl Stamp {
    /// The latest modification time `(seconds, nanoseconds)` of the files
    /// and directories stamped; `None` when the path is missing.
    pub(crate) fn newest_mtime(&self) -> Option<(i64, i64)> {
        match self {
            Stamp::Missing => None,
            Stamp::Files(files) => files.iter().map(|f| (f.2, f.3)).max(),
        }
    }
}

fn stamp_of(path: &Path, meta: &fs::Metadata) -> (PathBuf, u64, i64, i64, u64) {
    (
        path.to_owned(),
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ino(),
    )
}

/// Backup files a package manager leaves behind: an error in a userdb
/// directory (Courier's makeuserdb documentation).
fn is_package_backup(name: &str) -> bool {
    name.ends_with(".rpmsave") || name.ends_with(".rpmnew") || name.contains(".dpkg-")
}

/// The files of a userdb directory, in a stable (sorted) order,
/// recursively, applying Courier's rules: names starting with `.` (lock
/// and temporary files) and names containing `~` are skipped; package
/// manager backups are errors; `X.dist` is skipped when `X` exists and is
/// newer, else an error. Symbolic links are followed (Courier's docs
/// suggest linking a file to /dev/null to blank it).
fn directory_files(
    dir: &Path,
    files: &mut Vec<PathBuf>,
    stamps: &mut Vec<(PathBuf, u64, i64, i64, u64)>,
) -> Result<(), String> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    names.sort();
    for os_name in names {
        let name = os_name.to_string_lossy();
        if name.starts_with('.') || name.contains('~') {
            continue;
        }
        let path = dir.join(&os_name);
        if is_package_backup(&name) {
            return Err(format!(
                "{}: package manager backup file in the userdb directory; merge it and delete it",
                path.display()
            ));
        }
        let meta = fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some(base) = name.strip_suffix(".dist") {
            let newer = fs::metadata(dir.join(base))
                .and_then(|m| Ok(m.modified()? > meta.modified()?))
                .unwrap_or(false);
            if newer {
                continue;
            }
            return Err(format!(
                "{}: the .dist file is newer than {base} (or {base} is missing); update {base}",
                path.display()
            ));
        }
        stamps.push(stamp_of(&path, &meta));
        if meta.is_dir() {
            directory_files(&path, files, stamps)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

/// The current stamp of `path` (a file or a directory).
pub(crate) fn stamp(path: &Path) -> Result<Stamp, String> {
    match fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Stamp::Missing),
        Err(e) => Err(format!("{}: {e}", path.display())),
        Ok(meta) => {
            let mut stamps = vec![stamp_of(path, &meta)];
            if meta.is_dir() {
                let mut files = Vec::new();
                directory_files(path, &mut files, &mut stamps)?;
            }
            Ok(Stamp::Files(stamps))
        }
    }
}

/// The source files of the userdb at `path`: itself, or a directory's
/// files by [`directory_files`]' rules.
pub(crate) fn files(path: &Path) -> Result<Vec<PathBuf>, String> {
    let meta = fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files = Vec::new();
    directory_files(path, &mut files, &mut Vec::new())?;
    Ok(files)
}

/// Reads and parses the userdb at `path`. A missing path is an empty
/// userdb (Courier: no `userdb.dat`, nobody found). With
/// `require_private`, a source with group or world permissions is refused,
/// as `makeuserdb` refuses it.
pub(crate) fn load(path: &Path, require_private: bool) -> Result<Userdb, String> {
    let meta = match fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Userdb::default()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
        Ok(m) => m,
    };
    if require_private && meta.mode() & 0o077 != 0 {
        return Err(format!(
            "{}: may not have group or world permissions (chmod {} it), as Courier's makeuserdb requires",
            path.display(),
            if meta.is_dir() { "700" } else { "600" }
        ));
    }
    let mut db = Userdb::default();
    if meta.is_dir() {
        let mut files = Vec::new();
        directory_files(path, &mut files, &mut Vec::new())?;
        for f in files {
            let bytes = fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
            db.add_text(&String::from_utf8_lossy(&bytes), &f.display().to_string())?;
        }
    } else {
        let bytes = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        db.add_text(
            &String::from_utf8_lossy(&bytes),
            &path.display().to_string(),
        )?;
    }
    Ok(db)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn write(path: &Path, text: &str, mode: u32) {
        fs::write(path, text).expect("write");
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    }

    #[test]
    fn text_rules() {
        let mut db = Userdb::default();
        db.add_text(
            "# comment\n\njohn\tuid=1|gid=2|home=/h\nno tab line\n\tuid=3\n1000=\tjohn\nmary\tuid=5|gid=5|home=/m",
            "t",
        )
        .expect("parse");
        assert_eq!(db.len(), 2);
        assert_eq!(db.names().collect::<Vec<_>>(), ["john", "mary"]);
        assert_eq!(db.name_for_uid(1000), Some("john"));
        assert!(db.get("no tab line").is_none());
        let err = db.add_text("john\tuid=9", "u").unwrap_err();
        assert!(err.contains("duplicate") && err.contains("u:1"), "{err}");
    }

    #[test]
    fn missing_is_empty_and_permissions_are_checked() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("userdb");
        assert!(load(&p, true).expect("missing ok").is_empty());
        assert_eq!(stamp(&p), Ok(Stamp::Missing));
        write(&p, "a\tuid=1|gid=1|home=/a\n", 0o644);
        assert!(load(&p, true).unwrap_err().contains("group or world"));
        assert_eq!(load(&p, false).expect("lenient").len(), 1);
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).expect("chmod");
        assert_eq!(load(&p, true).expect("private").len(), 1);
    }

    #[test]
    fn directory_rules() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path().join("userdb");
        fs::create_dir(&root).expect("mkdir");
        fs::set_permissions(&root, fs::Permissions::from_mode(0o700)).expect("chmod");
        fs::create_dir(root.join("sub")).expect("mkdir");
        write(&root.join("a"), "a\tuid=1|gid=1|home=/a\n", 0o600);
        write(&root.join("sub/b"), "b\tuid=2|gid=2|home=/b\n", 0o600);
        write(&root.join("a~"), "x\tuid=3|gid=3|home=/x\n", 0o600);
        write(&root.join(".lock.a"), "", 0o600);
        write(&root.join(".tmp.a"), "y\tuid=3|gid=3|home=/y\n", 0o600);
        let db = load(&root, true).expect("load");
        let mut names: Vec<_> = db.names().collect();
        names.sort();
        assert_eq!(names, ["a", "b"]);

        // A .dist file older than its base is skipped...
        write(&root.join("c.dist"), "c\tuid=4|gid=4|home=/c\n", 0o600);
        let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        fs::File::options()
            .write(true)
            .open(root.join("c.dist"))
            .and_then(|f| f.set_modified(past))
            .expect("touch");
        write(&root.join("c"), "", 0o600);
        assert!(load(&root, true).expect("load").get("c").is_none());
        // ...and an error when newer than the base (or the base is missing).
        fs::remove_file(root.join("c")).expect("rm");
        assert!(load(&root, true).unwrap_err().contains(".dist"));
        fs::remove_file(root.join("c.dist")).expect("rm");

        write(&root.join("users.rpmnew"), "", 0o600);
        assert!(load(&root, true).unwrap_err().contains("backup"));
        fs::remove_file(root.join("users.rpmnew")).expect("rm");
        write(&root.join("users.dpkg-old"), "", 0o600);
        assert!(load(&root, true).unwrap_err().contains("backup"));
        fs::remove_file(root.join("users.dpkg-old")).expect("rm");

        // Duplicates across files are an error.
        write(&root.join("z"), "a\tuid=1|gid=1|home=/a\n", 0o600);
        assert!(load(&root, true).unwrap_err().contains("duplicate"));
    }

    #[test]
    fn stamp_changes() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path().join("userdb");
        fs::create_dir(&root).expect("mkdir");
        let s0 = stamp(&root).expect("stamp");
        write(&root.join("a"), "a\tuid=1|gid=1|home=/a\n", 0o600);
        let s1 = stamp(&root).expect("stamp");
        assert_ne!(s0, s1);
        assert_eq!(s1, stamp(&root).expect("stamp"));
        write(&root.join("a"), "a\tuid=1|gid=1|home=/abc\n", 0o600);
        assert_ne!(s1, stamp(&root).expect("stamp"));
    }
}
