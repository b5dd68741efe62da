//! Listings of big maildrops, shared by the POP3 logins of one process.
//!
//! A login moves `new/` to `cur/`, lists `cur/`, sorts it and reconciles
//! it with `courierpop3dsizelist`: about 0.2 s for 100,000 messages, paid
//! again at every login (a POP3 client polls every few minutes). When an
//! earlier login of the same process found `cur/` and the list as they
//! are now, its listing is used again:
//!
//! * `cur/`'s mtime is the one the listing saw, and the listing was taken
//!   late enough after it that a later change would have moved it (the
//!   rule an IMAP folder refresh trusts, [`courser_maildir::stamp::settled`]),
//!   which on a network file system cannot be told by our clock: there
//!   no listing is kept ([`courser_maildir::stamp::remote`]);
//! * the list is the same file: device, inode, length and mtime (Courier
//!   and Courser replace it by renaming a new file over it).
//!
//! What the login then sees is exactly what listing again would give: the
//! same names and the same UIDs and sizes from the same list. The budget
//! and expiry are [`courser_maildir::dircache`]'s.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use courser_maildir::dircache::{DirCache, Weighed};

use super::MessageInfo;

/// The identity of a file: device, inode, length, mtime (seconds and
/// nanoseconds); `None` when it does not exist.
pub(crate) type FileId = Option<(u64, u64, u64, i64, i64)>;

/// The identity of the file at `path`.
pub(crate) fn file_id(path: &Path) -> FileId {
    fs::metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino(), m.len(), m.mtime(), m.mtime_nsec()))
}

/// One maildrop as a login listed it.
#[derive(Debug, Clone)]
pub struct Listing {
    /// `cur/`'s mtime before it was listed.
    pub(crate) cur: SystemTime,
    /// The size list after the login read (or wrote) it.
    pub(crate) list: FileId,
    /// File names in `cur/`, in POP3 order.
    pub(crate) names: Arc<Vec<Vec<u8>>>,
    /// What the session lists, in the same order.
    pub(crate) infos: Arc<Vec<MessageInfo>>,
}

impl Listing {
    /// Whether this listing describes a maildrop whose `cur/` has mtime
    /// `cur` and whose size list is `list` now.
    pub(crate) fn describes(&self, cur: SystemTime, list: &FileId) -> bool {
        self.cur == cur && self.list == *list
    }
}

impl Weighed for Listing {
    fn messages(&self) -> usize {
        self.names.len()
    }
}

/// A process-wide set of maildrop listings, shared by cloning: give the
/// same value to every login of the process.
pub type ListingCache = DirCache<Listing>;
