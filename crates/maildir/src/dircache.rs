//! Per-folder values shared by the sessions of one process, within a
//! budget of messages: what [`crate::SnapshotCache`] keeps for IMAP, and
//! POP3 keeps its maildrop listings in.
//!
//! Only big folders are kept (a minimum message count): a small folder is
//! read again in a few milliseconds, and keeping it would cost memory for
//! nothing. The total is bounded by a message count, the least recently
//! used folders giving way, and entries nobody used for [`UNUSED_TTL`] are
//! dropped. Nothing here is ever written to disk; callers check that a
//! value still describes its folder before they use it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use foldhash::{HashMap, HashMapExt};

/// Entries unused for this long are dropped.
pub const UNUSED_TTL: Duration = Duration::from_secs(600);

/// What an entry weighs against the budget: its number of messages.
pub trait Weighed {
    /// Messages the entry holds.
    fn messages(&self) -> usize;
}

/// A process-wide set of per-folder values, shared by cloning (see the
/// module docs).
#[derive(Debug)]
pub struct DirCache<T> {
    inner: Arc<Mutex<Entries<T>>>,
}

impl<T> Clone for DirCache<T> {
    fn clone(&self) -> Self {
        DirCache {
            inner: Arc::clone(&self.inner),
        }
    }
}

#[derive(Debug)]
struct Entries<T> {
    min_messages: usize,
    max_messages: usize,
    total: usize,
    by_dir: HashMap<PathBuf, (T, Instant)>,
}

impl<T: Weighed + Clone> DirCache<T> {
    /// A cache of folders with at least `min_messages` messages, keeping
    /// at most `max_messages` in all.
    pub fn new(min_messages: usize, max_messages: usize) -> Self {
        DirCache {
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
            .filter(|(_, (s, _))| !(min_messages..=max_messages).contains(&s.messages()))
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

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries<T>> {
        // A panic while holding the lock leaves consistent data (every
        // update is a single insert or remove), so a poisoned lock is used.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value kept for `dir`, if any (the caller checks it is current).
    pub fn get(&self, dir: &Path) -> Option<T> {
        let mut entries = self.lock();
        let now = Instant::now();
        entries.expire(now);
        let (value, used) = entries.by_dir.get_mut(dir)?;
        *used = now;
        Some(value.clone())
    }

    /// Whether a folder of `messages` would be kept.
    pub fn wants(&self, messages: usize) -> bool {
        let entries = self.lock();
        (entries.min_messages..=entries.max_messages).contains(&messages)
    }

    /// Keeps `value` for `dir`, replacing an older one; small folders and
    /// folders larger than the whole budget are not kept (an older value
    /// of theirs is dropped).
    pub fn put(&self, dir: &Path, value: T) {
        let mut entries = self.lock();
        entries.remove(dir);
        let size = value.messages();
        if size < entries.min_messages || size > entries.max_messages {
            return;
        }
        let now = Instant::now();
        entries.expire(now);
        let room = entries.max_messages - size;
        entries.evict_down_to(room);
        entries.total += size;
        entries.by_dir.insert(dir.to_path_buf(), (value, now));
    }
}

impl<T: Weighed> Entries<T> {
    fn remove(&mut self, dir: &Path) {
        if let Some((s, _)) = self.by_dir.remove(dir) {
            self.total -= s.messages();
        }
    }

    /// Drops the folders unused for [`UNUSED_TTL`] (checked whenever the
    /// cache is used; until then the budget bounds what they hold).
    fn expire(&mut self, now: Instant) {
        self.by_dir
            .retain(|_, (_, used)| now.duration_since(*used) < UNUSED_TTL);
        self.total = self.by_dir.values().map(|(s, _)| s.messages()).sum();
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
