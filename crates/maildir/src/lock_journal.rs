//! A record on local disk of the folder dot-locks this process holds: one
//! empty file per held lock, named after the folder's path. A node that
//! died holding locks leaves its files behind; started again, it removes
//! those locks at once ([`start`]). Other hosts would otherwise wait for
//! them until they are [`crate::lock::STALE_AFTER`] old, and the accounts
//! of a dead node are the ones a proxy has just sent to other nodes.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::index::{escape, unescape};
use crate::lock::break_left_here;

static JOURNAL: OnceLock<PathBuf> = OnceLock::new();

/// Removes the folder locks that the files in `dir` name and whose process
/// of this host is gone, then records this process's locks there (once
/// per process; later calls only sweep). Call it before any folder is
/// locked. `dir` is made if missing. Returns how many locks were removed.
pub fn start(dir: &Path) -> std::io::Result<usize> {
    fs::create_dir_all(dir)?;
    let mut removed = 0;
    for entry in fs::read_dir(dir)?.flatten() {
        let Some(folder) = entry.file_name().to_str().and_then(unescape) else {
            continue;
        };
        removed += usize::from(break_left_here(&folder));
        let _ = fs::remove_file(entry.path());
    }
    let _ = JOURNAL.set(dir.to_path_buf());
    Ok(removed)
}

fn entry(folder: &Path) -> Option<PathBuf> {
    let name = escape(folder);
    (name.len() <= 255).then(|| JOURNAL.get().map(|d| d.join(name)))?
}

/// Notes that this process holds the dot-lock of `folder` (best effort: a
/// lock without its file is only broken the slow way).
pub(crate) fn held(folder: &Path) {
    if let Some(path) = entry(folder) {
        let _ = fs::File::create(path);
    }
}

/// Notes that this process released the dot-lock of `folder`.
pub(crate) fn released(folder: &Path) {
    if let Some(path) = entry(folder) {
        let _ = fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::{FolderLock, LOCK_FILE};

    #[test]
    fn a_restart_removes_the_locks_its_dead_process_held() {
        let d = tempfile::tempdir().unwrap();
        let folder = d.path().join("Maildir");
        fs::create_dir_all(folder.join("tmp")).unwrap();
        let journal = d.path().join("held-locks");
        fs::create_dir(&journal).unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let host = rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned();
        fs::write(folder.join(LOCK_FILE), format!("{dead}:{host}")).unwrap();
        fs::File::create(journal.join(escape(&folder))).unwrap();
        fs::File::create(journal.join("%zz")).unwrap();
        assert_eq!(start(&journal).unwrap(), 1);
        assert!(!folder.join(LOCK_FILE).exists());
        assert!(!journal.join(escape(&folder)).exists());
        // From now on this process's locks are recorded while held.
        let lock = FolderLock::acquire(&folder, &host, true).unwrap();
        assert!(journal.join(escape(&folder)).exists());
        drop(lock);
        assert!(!journal.join(escape(&folder)).exists());
    }
}
