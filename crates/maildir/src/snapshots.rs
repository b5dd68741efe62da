//! Scans of big folders shared by the sessions of one process.
//!
//! A SELECT reads the whole of `cur/` and the UID list: about 0.4 s of CPU
//! for 100,000 messages, paid again by every connection a client opens
//! (desktop clients open several; phones reconnect all day). When another
//! session of the same process scanned the folder and the directory and
//! UID list have not changed since (the same check [`Folder::refresh`]
//! trusts), [`Folder`] copies that scan instead.
//!
//! Only big folders are kept ([`MIN_MESSAGES`] by default): a small
//! folder scans in a few milliseconds, and keeping it would cost every
//! idle session's memory twice. The total is bounded by a message count, and
//! entries nobody used for [`UNUSED_TTL`] are dropped. Nothing here is
//! ever written to disk.
//!
//! [`Folder`]: crate::Folder
//! [`Folder::refresh`]: crate::Folder::refresh

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use foldhash::{HashMap, HashMapExt};

use crate::message::Message;
use crate::stamp::Stamp;

/// Folders smaller than this are not kept, by default.
pub const MIN_MESSAGES: usize = 10_000;
/// Entries unused for this long are dropped.
pub const UNUSED_TTL: Duration = Duration::from_secs(600);

/// One folder's scan as a read-write open left it.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub stamp: Stamp,
    pub taken: std::time::SystemTime,
    pub uidvalidity: u32,
    pub uidnext: u32,
    /// \Recent is not part of it: a session that copies the scan moved
    /// nothing from new/, so nothing is \Recent to it.
    pub messages: Arc<Vec<Message>>,
}

/// A process-wide set of folder scans, shared by cloning (see the module
/// docs). Give the same value to every [`crate::Store`] of the process
/// through [`crate::StoreOptions::snapshots`].
#[derive(Debug, Clone)]
pub struct SnapshotCache {
    inner: Arc<Mutex<Entries>>,
}

#[derive(Debug)]
struct Entries {
    min_messages: usize,
    max_messages: usize,
    total: usize,
    by_dir: HashMap<PathBuf, (Snapshot, Instant)>,
}

impl SnapshotCache {
    /// A cache of folders with at least `min_messages` messages, keeping
    /// at most `max_messages` in all.
    pub fn new(min_messages: usize, max_messages: usize) -> SnapshotCache {
        SnapshotCache {
            inner: Arc::new(Mutex::new(Entries {
                min_messages,
                max_messages,
                total: 0,
                by_dir: HashMap::new(),
            })),
        }
    }

    /// Changes the limits (a configuration reload); what no longer fits
    /// is dropped.
    pub fn set_limits(&self, min_messages: usize, max_messages: usize) {
        let mut entries = self.lock();
        entries.min_messages = min_messages;
        entries.max_messages = max_messages;
        let misfits: Vec<PathBuf> = entries
            .by_dir
            .iter()
            .filter(|(_, (s, _))| !(min_messages..=max_messages).contains(&s.messages.len()))
            .map(|(d, _)| d.clone())
            .collect();
        for dir in misfits {
            entries.remove(&dir);
        }
        entries.evict_down_to(max_messages);
    }

    /// Messages kept now, over all folders.
    pub fn messages(&self) -> usize {
        self.lock().total
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding the lock leaves consistent data (every
        // update is a single insert or remove), so a poisoned lock is used.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The scan of `dir`, if one is kept (the caller checks it is current).
    pub(crate) fn get(&self, dir: &Path) -> Option<Snapshot> {
        let mut entries = self.lock();
        let now = Instant::now();
        entries.expire(now);
        let (snapshot, used) = entries.by_dir.get_mut(dir)?;
        *used = now;
        Some(snapshot.clone())
    }

    /// Whether a folder of `messages` would be kept.
    pub(crate) fn wants(&self, messages: usize) -> bool {
        let entries = self.lock();
        (entries.min_messages..=entries.max_messages).contains(&messages)
    }

    /// Keeps the scan of `dir`, replacing an older one; small folders and
    /// folders larger than the whole budget are not kept (an older scan of
    /// theirs is dropped).
    pub(crate) fn put(&self, dir: &Path, snapshot: Snapshot) {
        let mut entries = self.lock();
        entries.remove(dir);
        let size = snapshot.messages.len();
        if size < entries.min_messages || size > entries.max_messages {
            return;
        }
        let now = Instant::now();
        entries.expire(now);
        let room = entries.max_messages - size;
        entries.evict_down_to(room);
        entries.total += size;
        entries.by_dir.insert(dir.to_path_buf(), (snapshot, now));
    }
}

impl Entries {
    fn remove(&mut self, dir: &Path) {
        if let Some((s, _)) = self.by_dir.remove(dir) {
            self.total -= s.messages.len();
        }
    }

    /// Drops the folders unused for [`UNUSED_TTL`] (checked whenever the
    /// cache is used; until then the budget bounds what they hold).
    fn expire(&mut self, now: Instant) {
        self.by_dir
            .retain(|_, (_, used)| now.duration_since(*used) < UNUSED_TTL);
        self.total = self.by_dir.values().map(|(s, _)| s.messages.len()).sum();
    }

    /// Drops the least recently used folders until at most `total`
    /// messages are kept.
    fn evict_down_to(&mut self, total: usize) {
        while self.total > total {
            let Some(oldest) = self
                .by_dir
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(d, _)| d.clone())
            else {
                break;
            };
            self.remove(&oldest);
        }
    }
}
