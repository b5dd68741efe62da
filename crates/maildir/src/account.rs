//! What an account's store and its open folders share: the main maildir
//! and the options.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::names;
use crate::quota::TRASH_DIR;
use crate::sharable;
use crate::snapshots::SnapshotCache;

/// Options of a [`Store`](crate::Store).
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Custom keywords enabled (`IMAP_KEYWORDS`); default true.
    pub keywords: bool,
    /// IMAP name of the trash folder below INBOX (`IMAP_TRASHFOLDERNAME`);
    /// default `Trash`. (Quota always exempts `.Trash`, like Courier.)
    pub trash_name: String,
    /// Host name used in unique file names; default `HOSTNAME` or uname.
    pub hostname: String,
    /// Use Courier's `tmp/courier.lock` dot-lock (`IMAP_USELOCKS`); default
    /// true.
    pub use_locks: bool,
    /// Scans of big folders shared with the process's other stores
    /// ([`SnapshotCache`]); default none.
    pub snapshots: Option<SnapshotCache>,
    /// Where folder indexes are kept ([`crate::index`]); default in each
    /// folder.
    pub index: crate::index::IndexPlace,
    /// The system-wide list of sharable maildirs (Courier's
    /// `maildirshared`), besides each account's `shared-maildirs`
    /// ([`crate::sharable`]); default none.
    pub sharables: Option<PathBuf>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            keywords: true,
            trash_name: "Trash".into(),
            hostname: crate::filename::default_hostname(),
            use_locks: true,
            snapshots: None,
            index: crate::index::IndexPlace::InFolder,
            sharables: None,
        }
    }
}

/// One account's main maildir and the options it is served with: what
/// [`Store`](crate::Store), [`Folder`](crate::Folder) and
/// [`Incoming`](crate::Incoming) share.
#[derive(Debug)]
pub(crate) struct Account {
    pub root: PathBuf,
    pub opts: StoreOptions,
}

impl Account {
    pub fn host(&self) -> &str {
        &self.opts.hostname
    }

    pub fn folder_dir(&self, name: &str) -> Result<PathBuf> {
        if sharable::covers(name) {
            return sharable::local_dir(&self.root, name);
        }
        let d = names::dir_name(name)?;
        Ok(if d.is_empty() {
            self.root.clone()
        } else {
            self.root.join(d)
        })
    }

    /// The folder directory, which must exist as a maildir.
    pub fn existing_dir(&self, name: &str) -> Result<PathBuf> {
        let d = self.folder_dir(name)?;
        // A shared folder is there once subscribed to (its local copy).
        if sharable::covers(name) && sharable::source_of(&d).is_none() {
            return Err(Error::NonExistent(name.to_string()));
        }
        match fs::symlink_metadata(&d) {
            Ok(m) if m.is_dir() && d.join("cur").is_dir() => Ok(d),
            Ok(_) => Err(Error::NonExistent(name.to_string())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(Error::NonExistent(name.to_string()))
            }
            Err(e) => Err(Error::io(&d, e)),
        }
    }

    /// True if messages in this folder directory count toward the quota
    /// (not the trash, and not shared folders' local copies: their
    /// messages are the sharable maildir's).
    pub fn counted(&self, dir: &Path) -> bool {
        let trash = dir.parent() == Some(self.root.as_path())
            && dir.file_name().map(|n| n == TRASH_DIR).unwrap_or(false);
        !trash && !dir.starts_with(self.root.join(sharable::LOCAL_DIR))
    }
}
