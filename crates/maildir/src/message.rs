//! One message of a folder snapshot.

use std::fs;
use std::sync::OnceLock;
use std::time::SystemTime;

use crate::filename::crlf_size_tag;
use crate::flags::{base_name, Flags};

/// One message of a folder snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The message UID.
    pub uid: u32,
    /// System flags (from the file name's info).
    pub flags: Flags,
    /// Custom keywords, sorted and without duplicates (plain strings; most
    /// messages have none, and an empty `Vec` does not allocate).
    pub keywords: Vec<String>,
    pub(crate) file: String,
    /// The file's size and mtime, read on first need: opening a folder
    /// stats nothing (on 100,000 messages those stats were most of a
    /// SELECT, and all of it with a cold inode cache). Courier's imapd does
    /// not stat at SELECT either.
    pub(crate) stat: OnceLock<FileStat>,
}

/// What a stat of a message file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileStat {
    pub size: u64,
    pub modified: SystemTime,
}

impl FileStat {
    /// A file that vanished before it was read: zero, at the epoch.
    pub const GONE: FileStat = FileStat {
        size: 0,
        modified: SystemTime::UNIX_EPOCH,
    };

    pub fn of(md: &fs::Metadata) -> FileStat {
        FileStat {
            size: md.len(),
            modified: md.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        }
    }
}

impl Message {
    /// The current file name in cur/ (`base:2,FLAGS`).
    pub fn file_name(&self) -> &str {
        &self.file
    }

    /// The base name (before `:`), the message's stable identity.
    pub fn base_name(&self) -> &str {
        base_name(&self.file)
    }

    /// RFC822.SIZE from the file name's `,W=` tag, if it has one (Courser
    /// and Dovecot write it; without it, see [`crate::Folder::rfc822_size`]).
    pub fn rfc822_size_tag(&self) -> Option<u64> {
        crlf_size_tag(&self.file)
    }

    /// INTERNALDATE if it was read already, without touching the file (a
    /// message whose file is gone can still say what it was).
    pub fn known_internal_date(&self) -> Option<SystemTime> {
        self.stat
            .get()
            .filter(|s| **s != FileStat::GONE)
            .map(|s| s.modified)
    }
}
