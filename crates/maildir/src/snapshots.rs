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
//! idle session's memory twice. The budget and expiry are
//! [`crate::dircache`]'s.
//!
//! [`Folder`]: crate::Folder
//! [`Folder::refresh`]: crate::Folder::refresh

use std::sync::Arc;

use crate::dircache::{DirCache, Weighed};
use crate::message::Message;
use crate::stamp::Stamp;

/// Folders smaller than this are not kept, by default.
pub const MIN_MESSAGES: usize = 10_000;

/// One folder's scan as a read-write open left it.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub(crate) stamp: Stamp,
    pub(crate) taken: std::time::SystemTime,
    pub(crate) uidvalidity: u32,
    pub(crate) uidnext: u32,
    /// \Recent is not part of it: a session that copies the scan moved
    /// nothing from new/, so nothing is \Recent to it.
    pub(crate) messages: Arc<Vec<Message>>,
    /// Worked out once for these messages ([`crate::Folder::uids`] etc.).
    pub(crate) summary: Arc<std::sync::OnceLock<crate::folder::Summary>>,
}

impl Weighed for Snapshot {
    fn messages(&self) -> usize {
        self.messages.len()
    }
}

/// A process-wide set of folder scans, shared by cloning (see the module
/// docs). Give the same value to every [`crate::Store`] of the process
/// through [`crate::StoreOptions::snapshots`].
pub type SnapshotCache = DirCache<Snapshot>;
