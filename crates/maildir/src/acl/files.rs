//! ACLs on disk: `courierimapacl` in a folder, `courierimaphieracl/` in
//! the main maildir for names that are not folders (yet), inheritance,
//! writes through `tmp/`, and the clean-ups of reset, delete and rename.
//!
//! Folders are named by their directory as Courier names them: `.` (or
//! the empty string) for INBOX, `.a.b` for `INBOX.a.b`.

use std::ffi::OsString;
use std::fs::{self, DirBuilder, File};
use std::io::{self, Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::list::AclList;
use crate::error::{Error, IoContext, Result};
use crate::filename::default_hostname;
use crate::lock::FolderLock;
use crate::tmpfile::TmpFile;

/// A folder's ACL file.
pub const ACL_FILE: &str = "courierimapacl";
/// Directory of the main maildir holding the ACLs of names that are not
/// folders.
pub const HIER_DIR: &str = "courierimaphieracl";
/// Entries of [`HIER_DIR`] younger than this survive [`reset`] (a folder
/// may be being created).
pub const STALE_AFTER: Duration = Duration::from_secs(3600);

fn inbox_if_empty(dir: &str) -> &str {
    if dir.is_empty() {
        "."
    } else {
        dir
    }
}

/// What reads accept: a name starting with `.` without `/`.
fn check_read_path(dir: &str) -> Result<()> {
    if dir.contains('/') || !dir.starts_with('.') {
        return Err(Error::invalid(
            dir,
            "ACL folder path must start with '.' and have no '/'",
        ));
    }
    Ok(())
}

/// What writes accept: also no empty component.
fn check_write_path(dir: &str) -> Result<()> {
    check_read_path(dir)?;
    if dir != "." && (dir.contains("..") || dir.ends_with('.')) {
        return Err(Error::invalid(dir, "empty folder name component"));
    }
    Ok(())
}

/// `maildir/rest` by string concatenation, as Courier builds its paths.
fn under(maildir: &Path, rest: &str) -> PathBuf {
    let mut p = OsString::from(maildir.as_os_str());
    p.push("/");
    p.push(rest);
    PathBuf::from(p)
}

fn maildir_or_dot(maildir: &Path) -> &Path {
    if maildir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        maildir
    }
}

/// Reads the ACL of folder `dir` of `maildir`, with Courier's rules:
/// the folder's `courierimapacl`; for INBOX without one, the default
/// ([`AclList::inbox_default`]); for another folder, its entry in
/// `courierimaphieracl/` (moved into the folder if the folder exists now);
/// else the parent's ACL, recursively, whose copy is then written for
/// this folder (or its hierarchy node). The list is normalised.
pub fn read(maildir: &Path, dir: &str) -> Result<AclList> {
    read_settling(maildir, dir, true)
}

/// The ACL [`read`] gives folder `dir`, with the files left as they
/// are: an inherited list is not stored, a `courierimaphieracl/` entry
/// not moved. For an answer that must not change the maildir.
pub fn peek(maildir: &Path, dir: &str) -> Result<AclList> {
    read_settling(maildir, dir, false)
}

/// [`read`], storing what it settles (inherited copies, hierarchy
/// entries of folders that exist now) only with `settle`. A process that
/// may read the maildir but not write it (another account's, in the
/// per-user model) gets the inherited list all the same: the copy only
/// keeps what inheritance gives now, and the next reader that may write
/// stores it.
fn read_settling(maildir: &Path, dir: &str, settle: bool) -> Result<AclList> {
    let maildir = maildir_or_dot(maildir);
    let dir = inbox_if_empty(dir);
    if let Some(list) = read_own(maildir, dir, settle)? {
        return Ok(list);
    }
    // read_own accepted the path, so it starts with '.'
    let parent = &dir[..dir.rfind('.').unwrap_or(0)];
    let list = read_settling(maildir, parent, settle)?;
    if settle {
        match write(maildir, dir, &list, None) {
            Err(e) if e.io_kind() == Some(io::ErrorKind::PermissionDenied) => {}
            done => done?,
        }
    }
    Ok(list)
}

/// The ACL stored for `dir` itself, `None` if there is none; with
/// `settle` its hierarchy entry becomes its file if it is a folder now.
fn read_own(maildir: &Path, dir: &str, settle: bool) -> Result<Option<AclList>> {
    check_read_path(dir)?;
    let file = under(maildir, &format!("{dir}/{ACL_FILE}"));
    let opened = match File::open(&file) {
        Ok(f) => Some((f, file)),
        Err(_) if dir == "." => return Ok(Some(AclList::inbox_default())),
        Err(_) => {
            let hier = under(maildir, &format!("{HIER_DIR}/{}", &dir[1..]));
            if settle {
                // the folder exists now: its hierarchy entry becomes its file
                let _ = fs::rename(&hier, &file);
            }
            match File::open(&file) {
                Ok(f) => Some((f, file)),
                Err(_) => match File::open(&hier) {
                    Ok(f) => Some((f, hier)),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                    Err(e) => return Err(Error::io(hier, e)),
                },
            }
        }
    };
    let Some((mut f, path)) = opened else {
        return Ok(None);
    };
    let mut text = Vec::new();
    f.read_to_end(&mut text).at(&path)?;
    Ok(Some(AclList::parse(&text)))
}

/// Writes `list` as the ACL of folder `dir`, after the minimum-rights
/// check ([`AclList::check_minimum`], with `owner_identity`). The file is
/// written in the folder's `tmp/` and renamed over `courierimapacl`; if the
/// folder is not a maildir the ACL goes to `courierimaphieracl/` instead
/// (through the main maildir's `tmp/`). No lock is taken: see [`update`].
pub fn write(
    maildir: &Path,
    dir: &str,
    list: &AclList,
    owner_identity: Option<&[u8]>,
) -> Result<()> {
    let maildir = maildir_or_dot(maildir);
    let dir = inbox_if_empty(dir);
    check_write_path(dir)?;
    list.check_minimum(owner_identity)?;
    let host = default_hostname();
    let folder = under(maildir, dir);
    let data = list.to_bytes();
    if let Ok((tmp, f)) = TmpFile::create(&folder, &host, Some("acl"), 0o644) {
        return finish(tmp, f, &data, &folder.join(ACL_FILE), None);
    }
    let (tmp, f) = TmpFile::create(maildir, &host, Some("acl"), 0o644)?;
    let hier_dir = maildir.join(HIER_DIR);
    let dest = under(maildir, &format!("{HIER_DIR}/{}", &dir[1..]));
    finish(tmp, f, &data, &dest, Some(&hier_dir))
}

/// Fills the tmp file and renames it to `dest`, creating `mkdir` (mode
/// 0755) first if the rename finds it missing.
fn finish(tmp: TmpFile, mut f: File, data: &[u8], dest: &Path, mkdir: Option<&Path>) -> Result<()> {
    f.write_all(data).at(&tmp.path)?;
    f.sync_data().at(&tmp.path)?;
    drop(f);
    if let Err(e) = fs::rename(&tmp.path, dest) {
        let Some(dir) = mkdir else {
            return Err(Error::io(dest, e));
        };
        let _ = DirBuilder::new().mode(0o755).create(dir);
        fs::rename(&tmp.path, dest).at(dest)?;
    }
    tmp.keep();
    Ok(())
}

/// Changes the ACL of folder `dir` under the account's lock (the main
/// maildir's `tmp/courier.lock`, or only the in-process lock without
/// `dot_lock`): reads it, lets `edit` change it, writes it (see [`write()`]
/// for the check) and returns the new list.
pub fn update(
    maildir: &Path,
    dir: &str,
    owner_identity: Option<&[u8]>,
    dot_lock: bool,
    edit: impl FnOnce(&mut AclList) -> Result<()>,
) -> Result<AclList> {
    let maildir = maildir_or_dot(maildir);
    let _lock = FolderLock::acquire(maildir, &default_hostname(), dot_lock)?;
    let mut list = read(maildir, dir)?;
    edit(&mut list)?;
    write(maildir, dir, &list, owner_identity)?;
    Ok(list)
}

/// Removes stale entries of `courierimaphieracl/` (created if missing):
/// those with no folder strictly below their name, older than
/// [`STALE_AFTER`].
pub fn reset(maildir: &Path) -> Result<()> {
    let hier = maildir.join(HIER_DIR);
    let listing = match fs::read_dir(&hier) {
        Ok(rd) => Some(rd),
        Err(_) => {
            let _ = DirBuilder::new().mode(0o755).create(&hier);
            fs::read_dir(&hier).ok()
        }
    };
    let mut names: Vec<OsString> = listing
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| !n.as_bytes().starts_with(b"."))
        .collect();
    for folder in folders(maildir) {
        // ".a.b.c" keeps the entries "a" and "a.b"
        let below = &folder[1..];
        names.retain(|n| {
            let n = n.as_bytes();
            !(below.len() > n.len() && below.starts_with(n) && below[n.len()] == b'.')
        });
    }
    let cutoff = SystemTime::now() - STALE_AFTER;
    for n in names {
        let p = hier.join(&n);
        if fs::metadata(&p)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < cutoff)
        {
            let _ = fs::remove_file(&p);
        }
    }
    Ok(())
}

/// The directory names (`.a.b`) of the folders of `maildir` as Courier
/// lists them: entries starting with `.` whose `cur/` can be searched.
fn folders(maildir: &Path) -> Vec<Vec<u8>> {
    let Ok(rd) = fs::read_dir(maildir) else {
        return Vec::new();
    };
    rd.flatten()
        .map(|e| e.file_name().into_vec())
        .filter(|n| n.len() > 1 && n.starts_with(b".") && n != b"..")
        .filter(|n| {
            let cur = maildir.join(OsString::from_vec(n.clone())).join("cur/.");
            rustix::fs::access(&cur, rustix::fs::Access::EXEC_OK).is_ok()
        })
        .collect()
}

/// Forgets the ACL of folder `dir` when the folder is deleted (or
/// recreated over a hierarchy node): its `courierimapacl` and its
/// `courierimaphieracl/` entry. INBOX's file is removed but INBOX keeps
/// its default.
pub fn delete(maildir: &Path, dir: &str) -> Result<()> {
    let maildir = maildir_or_dot(maildir);
    let dir = inbox_if_empty(dir);
    check_read_path(dir)?;
    let _ = fs::remove_file(under(maildir, &format!("{dir}/{ACL_FILE}")));
    if dir != "." {
        let _ = fs::remove_file(under(maildir, &format!("{HIER_DIR}/{}", &dir[1..])));
    }
    Ok(())
}

/// What a folder rename moves along in `courierimaphieracl/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RenameScope {
    /// The entry of the renamed name itself.
    pub folder: bool,
    /// The entries below it.
    pub subfolders: bool,
}

/// Renames the `courierimaphieracl/` entries of folder `old` (`.a`) and,
/// per `scope`, those below it, to the same names under `new` (`.b`).
/// Folders' own `courierimapacl` files move with their directories.
pub fn rename_hier(maildir: &Path, old: &str, new: &str, scope: RenameScope) -> Result<()> {
    check_write_path(old)?;
    check_write_path(new)?;
    let (old, new) = (&old.as_bytes()[1..], &new.as_bytes()[1..]);
    let hier = maildir.join(HIER_DIR);
    let rd = match fs::read_dir(&hier) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(hier, e)),
    };
    for e in rd.flatten() {
        let name = e.file_name().into_vec();
        let Some(rest) = name.strip_prefix(old) else {
            continue;
        };
        let wanted = if rest.is_empty() {
            scope.folder
        } else {
            rest.starts_with(b".") && scope.subfolders
        };
        if wanted {
            let to = hier.join(OsString::from_vec([new, rest].concat()));
            fs::rename(e.path(), &to).at(&to)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::acl::Rights;

    fn maildir_with(folders: &[&str]) -> (tempfile::TempDir, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let m = t.path().join("Maildir");
        for f in std::iter::once("").chain(folders.iter().copied()) {
            for sub in ["cur", "new", "tmp"] {
                fs::create_dir_all(m.join(f).join(sub)).unwrap();
            }
        }
        (t, m)
    }

    fn text(p: &Path) -> String {
        fs::read_to_string(p).unwrap()
    }

    const DEFAULT: &str = "owner aceilrstwx\nadministrators aceilrstwx\n";

    #[test]
    fn inbox_default_is_not_written() {
        let (_t, m) = maildir_with(&[]);
        assert_eq!(read(&m, ".").unwrap(), AclList::inbox_default());
        assert_eq!(read(&m, "").unwrap(), AclList::inbox_default());
        assert!(!m.join(ACL_FILE).exists());
    }

    #[test]
    fn folder_inherits_and_keeps_a_copy() {
        let (_t, m) = maildir_with(&[".a", ".a.b"]);
        let mut l = AclList::inbox_default();
        l.set("anyone", Rights::parse("lr").unwrap()).unwrap();
        write(&m, ".", &l, None).unwrap();
        // peek: the same list, nothing stored
        assert_eq!(peek(&m, ".a.b").unwrap(), l);
        assert!(!m.join(".a").join(ACL_FILE).exists());
        assert_eq!(read(&m, ".a.b").unwrap(), l);
        for f in [".a", ".a.b"] {
            let p = m.join(f).join(ACL_FILE);
            assert_eq!(
                text(&p),
                "owner aceilrstwx\nadministrators aceilrstwx\nanyone lr\n"
            );
            assert_eq!(
                fs::metadata(&p).unwrap().permissions().mode() & 0o600,
                0o600
            );
        }
        assert!(fs::read_dir(m.join(".a/tmp")).unwrap().next().is_none());
    }

    #[test]
    fn names_that_are_not_folders_go_to_the_hierarchy_directory() {
        let (_t, m) = maildir_with(&[]);
        read(&m, ".x.y").unwrap();
        assert_eq!(text(&m.join(HIER_DIR).join("x")), DEFAULT);
        assert_eq!(text(&m.join(HIER_DIR).join("x.y")), DEFAULT);
        let mode = fs::metadata(m.join(HIER_DIR)).unwrap().permissions().mode();
        assert_eq!(mode & 0o700, 0o700);
    }

    #[test]
    fn hierarchy_entry_moves_into_the_new_folder() {
        let (_t, m) = maildir_with(&[]);
        let mut l = AclList::inbox_default();
        l.set("user=x", Rights::parse("l").unwrap()).unwrap();
        write(&m, ".x", &l, None).unwrap();
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(m.join(".x").join(sub)).unwrap();
        }
        assert_eq!(peek(&m, ".x").unwrap(), l);
        assert!(m.join(HIER_DIR).join("x").exists(), "peek moves nothing");
        assert_eq!(read(&m, ".x").unwrap(), l);
        assert!(!m.join(HIER_DIR).join("x").exists());
        assert!(m.join(".x").join(ACL_FILE).exists());
    }

    #[test]
    fn write_checks_path_and_minimum_rights() {
        let (_t, m) = maildir_with(&[".a"]);
        let l = AclList::inbox_default();
        for bad in [".a.", ".a..b", "a", "./a", ".."] {
            assert!(
                matches!(write(&m, bad, &l, None), Err(Error::InvalidName { .. })),
                "{bad}"
            );
        }
        assert!(matches!(read(&m, "a"), Err(Error::InvalidName { .. })));
        let mut no_lookup = l.clone();
        no_lookup.set("owner", Rights::parse("a").unwrap()).unwrap();
        assert!(matches!(
            write(&m, ".a", &no_lookup, None),
            Err(Error::AclMinimumRights(_))
        ));
        assert!(!m.join(".a").join(ACL_FILE).exists());
    }

    #[test]
    fn update_edits_under_the_lock() {
        let (_t, m) = maildir_with(&[".a"]);
        let l = update(&m, ".a", Some(b"user=me"), true, |l| {
            l.set("user=you", Rights::parse("lr").unwrap())
        })
        .unwrap();
        assert_eq!(read(&m, ".a").unwrap(), l);
        assert!(!m.join("tmp/courier.lock").exists());
        let refused = update(&m, ".a", Some(b"user=me"), true, |l| {
            l.set("-user=me", Rights::parse("l").unwrap())
        });
        assert!(matches!(refused, Err(Error::AclMinimumRights(w)) if w == "user=me"));
    }

    #[test]
    fn reset_removes_old_entries_without_folders_below() {
        let (_t, m) = maildir_with(&[".a.b", ".c"]);
        let hier = m.join(HIER_DIR);
        reset(&m).unwrap();
        assert!(hier.is_dir());
        for n in ["a", "a.b", "c", "d", "fresh"] {
            fs::write(hier.join(n), DEFAULT).unwrap();
        }
        let old = SystemTime::now() - STALE_AFTER - Duration::from_secs(60);
        for n in ["a", "a.b", "c", "d"] {
            File::options()
                .write(true)
                .open(hier.join(n))
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        reset(&m).unwrap();
        let mut left: Vec<_> = fs::read_dir(&hier)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["a", "fresh"]);
    }

    #[test]
    fn delete_forgets_file_and_hierarchy_entry() {
        let (_t, m) = maildir_with(&[".a"]);
        read(&m, ".a").unwrap();
        read(&m, ".a.b").unwrap();
        delete(&m, ".a").unwrap();
        delete(&m, ".a.b").unwrap();
        assert!(!m.join(".a").join(ACL_FILE).exists());
        assert!(!m.join(HIER_DIR).join("a.b").exists());
        delete(&m, ".").unwrap();
    }

    #[test]
    fn rename_moves_hierarchy_entries() {
        let (_t, m) = maildir_with(&[]);
        for n in [".a", ".a.b", ".ab", ".a.b.c"] {
            read(&m, n).unwrap();
        }
        let scope = RenameScope {
            folder: true,
            subfolders: true,
        };
        rename_hier(&m, ".a", ".z", scope).unwrap();
        let mut left: Vec<_> = fs::read_dir(m.join(HIER_DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["ab", "z", "z.b", "z.b.c"]);
        let only_below = RenameScope {
            folder: false,
            subfolders: true,
        };
        rename_hier(&m, ".z", ".y", only_below).unwrap();
        assert!(m.join(HIER_DIR).join("z").exists() && m.join(HIER_DIR).join("y.b").exists());
    }
}
