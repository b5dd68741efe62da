//! Courier-compatible folder lock: the dot-lock `tmp/courier.lock`
//! (spec §9), plus an in-process lock so two sessions of one process never
//! race each other (Courier treats a lock holding our own pid as stale).

use std::collections::HashSet;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use crate::error::{Error, Result};
use crate::tmpfile::TmpFile;

/// Name of the lock file inside a folder.
pub const LOCK_FILE: &str = "tmp/courier.lock";
/// A lock from another host older than this is considered stale.
pub const STALE_AFTER: Duration = Duration::from_secs(120);
/// How long we wait for a live lock before giving up.
const MAX_WAIT: Duration = Duration::from_secs(150);

struct InProcess {
    held: Mutex<HashSet<PathBuf>>,
    cv: Condvar,
}

fn in_process() -> &'static InProcess {
    static S: OnceLock<InProcess> = OnceLock::new();
    S.get_or_init(|| InProcess {
        held: Mutex::new(HashSet::new()),
        cv: Condvar::new(),
    })
}

/// A held folder lock; released on drop.
#[derive(Debug)]
pub struct FolderLock {
    dir: PathBuf,
    file: Option<PathBuf>,
    id: String,
}

fn lock_id() -> String {
    let host = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    format!("{}:{}", std::process::id(), host)
}

impl FolderLock {
    /// Locks the folder at `dir`. With `dot_lock` false only the in-process
    /// lock is taken (Courier's `IMAP_USELOCKS=0`).
    pub fn acquire(dir: &Path, host: &str, dot_lock: bool) -> Result<FolderLock> {
        let key = dir.to_path_buf();
        {
            let ip = in_process();
            let mut held = ip.held.lock().unwrap_or_else(|e| e.into_inner());
            let start = Instant::now();
            while held.contains(&key) {
                if start.elapsed() > MAX_WAIT {
                    return Err(Error::Locked(key));
                }
                held = ip
                    .cv
                    .wait_timeout(held, Duration::from_millis(500))
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            held.insert(key.clone());
        }
        let mut lock = FolderLock {
            dir: key,
            file: None,
            id: lock_id(),
        };
        if dot_lock {
            // Noted before it is taken, so that a process killed right
            // after taking it leaves the note too; a note of a lock that
            // another process holds is harmless (the sweep at start only
            // removes a lock whose holder is gone).
            crate::lock_journal::held(&lock.dir);
            let taken = lock.dot_lock(host);
            if !matches!(taken, Ok(Some(_))) {
                crate::lock_journal::released(&lock.dir);
            }
            lock.file = taken?;
        }
        Ok(lock)
    }

    fn dot_lock(&self, host: &str) -> Result<Option<PathBuf>> {
        let lockfile = self.dir.join(LOCK_FILE);
        let start = Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            // Create the tmp file holding our id; if that is impossible
            // (read-only tmp/, ...) go on without the lock like Courier does.
            let tmp = match TmpFile::create(&self.dir, host, Some("courierlock"), 0o644) {
                Ok((t, mut f)) => {
                    if f.write_all(self.id.as_bytes()).is_err() {
                        return Ok(None);
                    }
                    t
                }
                Err(_) => return Ok(None),
            };
            let linked = fs::hard_link(&tmp.path, &lockfile);
            let ok = linked.is_ok()
                && fs::metadata(&tmp.path)
                    .map(|m| m.nlink() == 2)
                    .unwrap_or(false);
            drop(tmp);
            if ok {
                return Ok(Some(lockfile));
            }
            match linked {
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Ok(()) => {}
                Err(_) => return Ok(None), // no hard links here: work unlocked
            }
            if self.break_if_stale(&lockfile) {
                continue;
            }
            if start.elapsed() > MAX_WAIT {
                return Err(Error::Locked(self.dir.clone()));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    /// Removes the lock file if its holder is gone; true if removed.
    fn break_if_stale(&self, lockfile: &Path) -> bool {
        let Ok(content) = fs::read(lockfile) else {
            return false; // vanished meanwhile: retry at once next round
        };
        let stale = match holder_here(&String::from_utf8_lossy(&content), &self.id) {
            Some(pid) if pid == std::process::id() as i32 => true,
            Some(pid) => gone(pid),
            None => self.older_than_timeout(lockfile),
        };
        stale && fs::remove_file(lockfile).is_ok()
    }

    fn older_than_timeout(&self, lockfile: &Path) -> bool {
        fs::metadata(lockfile)
            .and_then(|m| m.modified())
            .map(|t| {
                SystemTime::now()
                    .duration_since(t)
                    .map(|d| d > STALE_AFTER)
                    .unwrap_or(false)
            })
            .unwrap_or(false)
    }
}

/// The pid in lock content `content` (`pid:host`) when the host is the
/// one in `id` (this process's lock id).
fn holder_here(content: &str, id: &str) -> Option<i32> {
    let my_host = id.split_once(':').map(|x| x.1).unwrap_or("");
    match content.split_once(':') {
        Some((pid, host)) if host == my_host => pid.trim().parse().ok(),
        _ => None,
    }
}

/// Whether no process `pid` runs here.
fn gone(pid: i32) -> bool {
    match rustix::process::Pid::from_raw(pid) {
        Some(p) => matches!(
            rustix::process::test_kill_process(p),
            Err(rustix::io::Errno::SRCH)
        ),
        None => true,
    }
}

/// Removes the lock of the folder at `dir` when a process of this host
/// made it and is gone (see [`crate::lock_journal`]): without that, other
/// hosts wait for a lock a crashed process left until it is
/// [`STALE_AFTER`] old, or until this host opens the folder again. A lock
/// of this process is left alone (it may be held now). True if removed.
pub(crate) fn break_left_here(dir: &Path) -> bool {
    let lockfile = dir.join(LOCK_FILE);
    let Ok(content) = fs::read(&lockfile) else {
        return false;
    };
    match holder_here(&String::from_utf8_lossy(&content), &lock_id()) {
        Some(pid) if pid != std::process::id() as i32 && gone(pid) => {
            fs::remove_file(&lockfile).is_ok()
        }
        _ => false,
    }
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        if let Some(f) = &self.file {
            if let Ok(c) = fs::read(f) {
                if c == self.id.as_bytes() {
                    let _ = fs::remove_file(f);
                }
            }
            crate::lock_journal::released(&self.dir);
        }
        let ip = in_process();
        let mut held = ip.held.lock().unwrap_or_else(|e| e.into_inner());
        held.remove(&self.dir);
        ip.cv.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_locks_of_gone_processes_of_this_host_are_broken_at_start() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("tmp")).unwrap();
        let lockfile = d.path().join(LOCK_FILE);
        let host = lock_id().split_once(':').unwrap().1.to_string();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let me = std::process::id();
        for (content, broken) in [
            (format!("{me}:{host}"), false),
            (format!("1:{host}"), false),
            (format!("{dead}:other-{host}"), false),
            (format!("x:{host}"), false),
            (format!("{dead}:{host}"), true),
        ] {
            fs::write(&lockfile, &content).unwrap();
            assert_eq!(break_left_here(d.path()), broken, "{content}");
            assert_eq!(lockfile.exists(), !broken, "{content}");
        }
        assert!(!break_left_here(d.path()));
    }
}
