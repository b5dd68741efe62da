//! What an APPEND leaves behind: the message's UID and its file.

use std::path::PathBuf;

/// Result of [`Store::append`](crate::Store::append) and
/// [`Incoming::finish`](crate::Incoming::finish).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// UIDVALIDITY of the target folder.
    pub uidvalidity: u32,
    /// UID given to the new message.
    pub uid: u32,
    /// Where the message went, for [`Folder::took_in`](crate::Folder::took_in)
    /// (`None` from stores that keep no files).
    pub placed: Option<Placed>,
    /// Its UID was not listed as unclaimed \Recent ([`crate::recent`]):
    /// the session that placed it has the folder open and claims it when
    /// it takes the message in. A message no session takes in then loses
    /// \Recent, as deleting the list does.
    pub recent_claimed: bool,
}

/// A message file put into a folder's `cur/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// The folder's directory.
    pub dir: PathBuf,
    /// The file's name in `cur/`.
    pub file: String,
}
