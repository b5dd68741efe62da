//! The crate's single error type.

use std::io;
use std::path::{Path, PathBuf};

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the store. The variants are chosen so the
/// protocol layers can map them to responses (`NO [NONEXISTENT]`,
/// `NO [ALREADYEXISTS]`, `NO [OVERQUOTA]`, ...).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The named folder does not exist (IMAP `[NONEXISTENT]`).
    #[error("folder does not exist: {0}")]
    NonExistent(String),
    /// A message (by UID) does not exist in the folder (any more).
    #[error("message not found: uid {0}")]
    NotFound(u32),
    /// The target folder already exists (IMAP `[ALREADYEXISTS]`).
    #[error("folder already exists: {0}")]
    AlreadyExists(String),
    /// The folder name is not acceptable (bad characters, `..`, empty
    /// components, outside the `INBOX.` namespace, ...).
    #[error("invalid folder name {name:?}: {reason}")]
    InvalidName {
        /// The offending name (lossy for display).
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A keyword is not storable (empty, or contains a line break or other
    /// control character).
    #[error("invalid keyword {0:?}")]
    InvalidKeyword(String),
    /// The operation is not allowed on this folder (e.g. deleting INBOX).
    #[error("operation not permitted: {0}")]
    NotPermitted(&'static str),
    /// The addition would exceed the maildir quota (IMAP `[OVERQUOTA]`,
    /// deliverquota exit 75/77).
    #[error("mail quota exceeded")]
    OverQuota,
    /// The folder was opened read-only (EXAMINE) and a write was attempted.
    #[error("folder is open read-only")]
    ReadOnly,
    /// A file had unusable contents and could not be repaired automatically.
    #[error("corrupt file {path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The path is not a maildir (missing `cur/`, `new/` or `tmp/`).
    #[error("not a maildir: {0}")]
    NotAMaildir(PathBuf),
    /// An ACL identifier or rights string cannot be stored (empty
    /// identifier, space or control character), or the change would take
    /// a right away from administrators.
    #[error("invalid ACL: {0}")]
    InvalidAcl(&'static str),
    /// The ACL change would take `l` or `a` away from this identifier
    /// (the folder's owner): IMAP answers NO with its minimum rights.
    #[error("Trying to set invalid access rights for {0}")]
    AclMinimumRights(String),
    /// A message put into the Outbox could not be sent (the sendmail
    /// command failed, could not be run or took too long): why, for the
    /// log. Nothing of the command is stored.
    #[error("message not sent: {0}")]
    NotSent(String),
    /// A shared folder index cannot be built or installed as asked (an
    /// account it cannot hold, clashing file names, no directory).
    #[error("shared index: {0}")]
    SharedIndex(String),
    /// The folder lock could not be obtained.
    #[error("could not lock folder {0}")]
    Locked(PathBuf),
    /// An I/O error, with the path it happened on.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl AsRef<Path>, source: io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// The `io::ErrorKind` if this is an I/O error.
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            Error::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }

    pub(crate) fn invalid(name: &str, reason: &'static str) -> Self {
        Error::InvalidName {
            name: name
                .chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect(),
            reason,
        }
    }
}

/// Extension to attach a path to `io::Result`s.
pub(crate) trait IoContext<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}
