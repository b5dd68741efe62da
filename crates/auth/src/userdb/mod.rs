//! Courier's userdb: the text source (one file or a directory of files,
//! spec §7.1) read directly, reloaded when it changes, plus the editing
//! operations behind `courser userdb`.
//!
//! Courier's servers read the compiled `userdb.dat`/`userdbshadow.dat`
//! that `makeuserdb` builds from this source. Courser reads the source
//! itself, so there is no compile step to forget; the result is the same
//! as makeuserdb + authuserdb would give (same field lookup, same
//! per-service passwords, same duplicate and directory rules). A compiled
//! fast form for very large user lists is a later addition (issue 4).
//!
//! * [`UserdbBackend`] — the [`Backend`](crate::Backend) over a source.
//! * [`Userdb`], [`Record`] — the parsed form.
//! * [`edit`] — `set`/`unset`/`del`/`show` with Courier's lock and temp
//!   files; [`cli`] — the `userdb` command line.

pub mod cli;
pub mod edit;
mod record;
mod source;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use record::Record;
pub use source::Userdb;

use crate::account::Account;
use crate::backend::{Backend, Entry};
use crate::error::AuthError;
use source::Stamp;

/// Courier's default userdb location on Debian.
pub const DEFAULT_PATH: &str = "/etc/courier/userdb";

#[derive(Debug, Default)]
struct Cache {
    /// Stamp of the source when `db` was read (or when reading failed).
    stamp: Option<Stamp>,
    /// Last successfully read database.
    db: Option<Arc<Userdb>>,
    /// Error from the last attempt at `stamp`, if it failed.
    error: Option<String>,
}

/// The userdb backend. Cheap to call repeatedly: each call compares the
/// source's size, mtime and inode (every file, for a directory) with the
/// last read, and re-reads only on a change.
///
/// If a changed source cannot be read or parsed (say, a duplicate name was
/// just added), the last good version keeps serving and the error is
/// logged — as Courier keeps serving the old `.dat` when makeuserdb fails.
/// With no good version at all, lookups fail with
/// [`AuthError::Unavailable`].
#[derive(Debug)]
pub struct UserdbBackend {
    path: PathBuf,
    require_private: bool,
    cache: Mutex<Cache>,
}

impl UserdbBackend {
    /// A backend over the file or directory at `path`, which must not be
    /// readable by group or others (as makeuserdb demands).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        UserdbBackend {
            path: path.into(),
            require_private: true,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// Accept a source with group/world permissions (tests, demo setups).
    pub fn allow_public_permissions(mut self) -> Self {
        self.require_private = false;
        self
    }

    /// The source path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current database, re-read if the source changed.
    pub fn snapshot(&self) -> Result<Arc<Userdb>, AuthError> {
        let unavailable = |reason: String| AuthError::unavailable("userdb", reason);
        let stamp = source::stamp(&self.path).map_err(unavailable)?;
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.stamp.as_ref() != Some(&stamp) {
            match source::load(&self.path, self.require_private) {
                Ok(db) => {
                    tracing::debug!(path = %self.path.display(), accounts = db.len(), "userdb loaded");
                    cache.db = Some(Arc::new(db));
                    cache.error = None;
                }
                Err(e) => {
                    tracing::error!(path = %self.path.display(), error = %e, "userdb not reloaded");
                    cache.error = Some(e);
                }
            }
            cache.stamp = Some(stamp);
        }
        match (&cache.db, &cache.error) {
            (Some(db), _) => Ok(db.clone()),
            (None, Some(e)) => Err(unavailable(e.clone())),
            (None, None) => Err(unavailable("not loaded".into())),
        }
    }

    /// Every valid account, in file order (for `authenumerate`-style
    /// listings and shared-folder indexes).
    pub fn accounts(&self) -> Result<Vec<Account>, AuthError> {
        let db = self.snapshot()?;
        Ok(db
            .names()
            .filter_map(|n| db.get(n).and_then(|r| r.account(n).ok()))
            .collect())
    }
}

impl Backend for UserdbBackend {
    fn name(&self) -> &str {
        "userdb"
    }

    fn lookup(&self, service: &str, login: &str) -> Result<Option<Entry>, AuthError> {
        let db = self.snapshot()?;
        let Some(record) = db.get(login) else {
            return Ok(None);
        };
        match record.entry(login, service) {
            Ok(entry) => Ok(Some(entry)),
            Err(problem) => {
                // Courier's userdb_creates fails and the module declines.
                tracing::warn!(path = %self.path.display(), login, %problem, "unusable userdb entry");
                Ok(None)
            }
        }
    }

    fn supports_cram(&self) -> bool {
        self.snapshot().is_ok_and(|db| db.has_cram())
    }
}

#[cfg(test)]
mod tests;
