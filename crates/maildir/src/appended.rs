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
}

/// A message file put into a folder's `cur/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// The folder's directory.
    pub dir: PathBuf,
    /// The file's name in `cur/`.
    pub file: String,
}
