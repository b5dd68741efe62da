//! Change notification for IDLE: one inotify instance per process.
//!
//! The kernel allows few inotify instances per user (128 by default) but
//! many watches, so every session shares this one instance, and a folder
//! watched by several sessions has one kernel watch. A reader thread turns
//! kernel events into wake-ups of the sessions watching that directory.
//! When inotify is unavailable (NFS, limits) the caller polls instead.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask, Watches};
use tokio::sync::Notify;

/// The process-wide watcher.
pub struct Watcher {
    watches: Mutex<Watches>,
    table: Arc<Mutex<Table>>,
}

#[derive(Default)]
struct Table {
    by_wd: HashMap<WatchDescriptor, Entry>,
}

struct Entry {
    path: PathBuf,
    subscribers: Vec<Weak<Notify>>,
}

/// A session's registration: dropping it ends the subscription.
pub struct Subscription {
    notify: Arc<Notify>,
    wds: Vec<WatchDescriptor>,
    watcher: Arc<Watcher>,
}

impl Subscription {
    /// Resolves when one of the watched directories changed since the last
    /// call (a change that happened in between is not lost).
    pub async fn changed(&self) {
        self.notify.notified().await
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.watcher
            .unsubscribe(&self.wds, &Arc::downgrade(&self.notify));
    }
}

/// Every change of a directory's entries, and of the directory itself
/// (a selected folder removed or renamed).
const MASK: WatchMask = WatchMask::CREATE
    .union(WatchMask::DELETE)
    .union(WatchMask::DELETE_SELF)
    .union(WatchMask::MOVE_SELF)
    .union(WatchMask::MOVED_FROM)
    .union(WatchMask::MOVED_TO)
    .union(WatchMask::CLOSE_WRITE)
    .union(WatchMask::ATTRIB);

impl Watcher {
    /// Starts the watcher thread, or returns `None` when inotify is not
    /// available (then sessions poll).
    pub fn start() -> Option<Arc<Watcher>> {
        let inotify = match Inotify::init() {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!("inotify unavailable, IDLE falls back to polling: {e}");
                return None;
            }
        };
        let watcher = Arc::new(Watcher {
            watches: Mutex::new(inotify.watches()),
            table: Arc::new(Mutex::new(Table::default())),
        });
        let table = Arc::clone(&watcher.table);
        let spawned = std::thread::Builder::new()
            .name("courser-inotify".into())
            .spawn(move || read_loop(inotify, table));
        if let Err(e) = spawned {
            tracing::warn!("cannot start the inotify thread, IDLE polls: {e}");
            return None;
        }
        Some(watcher)
    }

    /// Watches `paths` for one session. Paths that cannot be watched are
    /// skipped with a log line; the session's polling covers them.
    pub fn subscribe(self: &Arc<Self>, paths: &[PathBuf]) -> Subscription {
        let notify = Arc::new(Notify::new());
        let mut wds = Vec::new();
        let Ok(mut watches) = self.watches.lock() else {
            return Subscription {
                notify,
                wds,
                watcher: Arc::clone(self),
            };
        };
        for path in paths {
            match watches.add(path, MASK) {
                Ok(wd) => {
                    if let Ok(mut table) = self.table.lock() {
                        let entry = table.by_wd.entry(wd.clone()).or_insert_with(|| Entry {
                            path: path.clone(),
                            subscribers: Vec::new(),
                        });
                        entry.subscribers.push(Arc::downgrade(&notify));
                    }
                    wds.push(wd);
                }
                Err(e) => tracing::debug!("cannot watch {}: {e}", path.display()),
            }
        }
        Subscription {
            notify,
            wds,
            watcher: Arc::clone(self),
        }
    }

    fn unsubscribe(&self, wds: &[WatchDescriptor], gone: &Weak<Notify>) {
        let Ok(mut table) = self.table.lock() else {
            return;
        };
        for wd in wds {
            let now_unused = match table.by_wd.get_mut(wd) {
                Some(entry) => {
                    entry
                        .subscribers
                        .retain(|w| w.strong_count() > 0 && !w.ptr_eq(gone));
                    entry.subscribers.is_empty()
                }
                None => false,
            };
            if now_unused {
                table.by_wd.remove(wd);
                if let Ok(mut watches) = self.watches.lock() {
                    // The kernel may already have dropped it (directory removed).
                    let _ = watches.remove(wd.clone());
                }
            }
        }
    }

    /// How many directories are watched (for tests and metrics).
    pub fn watched(&self) -> Vec<PathBuf> {
        self.table
            .lock()
            .map(|t| t.by_wd.values().map(|e| e.path.clone()).collect())
            .unwrap_or_default()
    }
}

impl Entry {
    fn notify(&self) {
        for sub in &self.subscribers {
            if let Some(n) = sub.upgrade() {
                n.notify_one();
            }
        }
    }
}

fn read_loop(mut inotify: Inotify, table: Arc<Mutex<Table>>) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let events = match inotify.read_events_blocking(&mut buffer) {
            Ok(events) => events,
            Err(e) => {
                tracing::error!("inotify read failed, IDLE notification stops: {e}");
                return;
            }
        };
        let Ok(table) = table.lock() else { return };
        for event in events {
            if event.mask.contains(EventMask::Q_OVERFLOW) {
                // The kernel dropped events: any subscriber may have missed one.
                table.by_wd.values().for_each(Entry::notify);
            } else if let Some(entry) = table.by_wd.get(&event.wd) {
                entry.notify();
            }
        }
    }
}

/// Whether `path` is on a filesystem where inotify sees other hosts'
/// changes; NFS and other network filesystems do not report them.
pub fn inotify_reliable(path: &Path) -> bool {
    !courser_maildir::stamp::remote(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_file_created_in_a_watched_dir_wakes_the_subscriber() {
        let dir = std::env::temp_dir().join(format!("courser-watch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let watcher = Watcher::start().expect("inotify");
        let sub = watcher.subscribe(std::slice::from_ref(&dir));
        assert_eq!(watcher.watched(), vec![dir.clone()]);
        std::fs::write(dir.join("x"), b"1").unwrap();
        tokio::time::timeout(Duration::from_secs(5), sub.changed())
            .await
            .expect("woken");
        drop(sub);
        assert!(watcher.watched().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
