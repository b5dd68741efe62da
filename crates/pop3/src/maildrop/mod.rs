//! The POP3 maildrop: INBOX of a Maildir++ as Courier's pop3d sees it.
//!
//! [`Mailbox`] is what the session needs; [`MaildirDrop`] implements it
//! over a maildir the way Courier's `pop3d` (`imap/pop3dserver.C`) does
//! ([`memory::MemoryDrop`] implements it in memory, for tests and fuzzing):
//!
//! 1. at login, move `new/` to `cur/` (Courier's `maildir_getnew` rule:
//!    `name` and `name:<not 2,>` become `name:2,`), list `cur/`, sort in
//!    Courier's order ([`sizelist::compare_names`]), reconcile with
//!    `courierpop3dsizelist` and save it if anything changed
//!    ([`sizelist`]); sizes of new messages are computed from the file;
//! 2. the message list is a snapshot: messages delivered during the
//!    session are seen at the next login;
//! 3. RETR (not TOP) adds the `S` flag at once;
//! 4. deletions happen only at QUIT ([`Mailbox::delete`]): files are
//!    unlinked and `maildirsize` gets one `-bytes -count` line for the
//!    counted ones (those without the `T` flag, sized by `,S=` or stat).
//!
//! **Concurrent access, as Courier's pop3d:** there is no POP3 lock.
//! A second POP3 login while one is active gets its own snapshot and is
//! served (never `[IN-USE]`); a message one session deleted at QUIT is
//! `-ERR` for the other's RETR/TOP, and the other's DELE of it is a no-op
//! at its QUIT. An IMAP session meanwhile sees POP3 deletions only after
//! the POP3 QUIT (as expunges) and the `\Seen` flag RETR sets at once; a
//! POP3 session does not see IMAP's changes. Where Courier loses track of a
//! message another program renamed (flags changed by IMAP), Courser finds
//! it again by its base name, so RETR still works and DELE still deletes.
//! The sizelist update itself runs under the maildir's `tmp/courier.lock`
//! (which Courier's pop3d does not take) so two Courser logins cannot give
//! one new message two UIDs.

pub mod listings;
pub mod memory;
pub mod sizelist;

use std::fs;
use std::io::{self, BufReader, Read, Seek};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use courser_maildir::filename::size_tag;
use courser_maildir::flags::{base_name, flags_of, merge_info};
use courser_maildir::lock::FolderLock;
use courser_maildir::Flags;

use listings::{file_id, Listing, ListingCache};
use sizelist::{Entry, Known, SIZELIST_FILE};

/// A message as the session lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInfo {
    /// Size with CRLF line ends, as RETR sends it (RFC 1939 §5 LIST).
    pub size: u64,
    /// The unique-id listing (RFC 1939 §7 UIDL).
    pub uidl: String,
}

/// Why the maildrop failed.
#[derive(Debug, thiserror::Error)]
pub enum MaildropError {
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The message is gone (deleted by another session).
    #[error("the message file is gone")]
    Gone,
    /// The maildir store refused.
    #[error(transparent)]
    Store(#[from] courser_maildir::Error),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> MaildropError + '_ {
    move |source| MaildropError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What the session needs from a maildrop. Calls block (file I/O).
pub trait Mailbox: Send {
    /// The messages, in POP3 order (message number = index + 1).
    fn messages(&self) -> &[MessageInfo];
    /// Opens message `index` for reading from its first byte. Afterwards
    /// `messages()[index].size` is exact for the file as it is now.
    fn open(&mut self, index: usize) -> Result<Box<dyn Read + Send>, MaildropError>;
    /// RETR finished sending message `index`: mark it seen.
    fn retrieved(&mut self, index: usize);
    /// Deletes messages (QUIT in the UPDATE state). Returns how many could
    /// not be removed (those already gone count as removed).
    fn delete(&mut self, indexes: &[usize]) -> Result<usize, MaildropError>;
}

/// Courier's CRLF size of a message file and whether its header has 8-bit
/// bytes: bytes + one per LF, + 2 when the last byte is not a LF (the CRLF
/// RETR adds). Exactly the octets RETR sends before dot-stuffing.
pub fn crlf_size(reader: impl Read) -> io::Result<(u64, bool)> {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut size = 0u64;
    let mut last = None;
    let mut in_header = true;
    let mut utf8 = false;
    loop {
        let buf = match io::BufRead::fill_buf(&mut reader) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            break;
        }
        for &c in buf {
            if in_header {
                if c == b'\n' && last == Some(b'\n') {
                    in_header = false;
                } else if c >= 0x80 {
                    utf8 = true;
                }
            }
            size += if c == b'\n' { 2 } else { 1 };
            last = Some(c);
        }
        let n = buf.len();
        io::BufRead::consume(&mut reader, n);
    }
    if last.is_some_and(|c| c != b'\n') {
        size += 2;
    }
    Ok((size, utf8))
}

/// One message of the snapshot.
#[derive(Debug, Clone)]
struct Msg {
    /// File name in cur/ (raw bytes).
    name: Vec<u8>,
    info: MessageInfo,
}

/// INBOX of a maildir, opened for a POP3 session. See the module docs.
#[derive(Debug)]
pub struct MaildirDrop {
    dir: PathBuf,
    /// File names in cur/, by message index (shared with other logins
    /// until this session changes one).
    names: Arc<Vec<Vec<u8>>>,
    infos: Arc<Vec<MessageInfo>>,
}

impl MaildirDrop {
    /// Opens the maildir at `dir` as Courier's pop3d does at login. `host`
    /// names tmp files and the lock; `now` (seconds since the epoch) is the
    /// uidvalidity of a new `courierpop3dsizelist`. With a `cache`, an
    /// earlier login's listing is used if it still describes the maildrop
    /// ([`listings`]), and this one is kept for later logins.
    pub fn open(
        dir: &Path,
        host: &str,
        now: SystemTime,
        cache: Option<&ListingCache>,
    ) -> Result<MaildirDrop, MaildropError> {
        let cur = dir.join("cur");
        fs::metadata(&cur).map_err(io_err(&cur))?;
        courser_maildir::tmpfile::purge_tmp(dir);
        let lock = FolderLock::acquire(dir, host, true)?;
        move_new(dir)?;
        let taken = SystemTime::now();
        let cur_mtime = fs::metadata(&cur).and_then(|m| m.modified()).ok();
        let list_path = dir.join(SIZELIST_FILE);
        let kept = cache
            .and_then(|c| c.get(dir))
            .filter(|l| cur_mtime.is_some_and(|m| l.describes(m, &file_id(&list_path))));
        let listing = match kept {
            Some(l) => l,
            None => {
                let (msgs, saved) = read_listing(dir, host, now)?;
                let (names, infos): (Vec<_>, Vec<_>) =
                    msgs.into_iter().map(|m| (m.name, m.info)).unzip();
                let listing = Listing {
                    cur: cur_mtime.unwrap_or(SystemTime::UNIX_EPOCH),
                    list: file_id(&list_path),
                    names: Arc::new(names),
                    infos: Arc::new(infos),
                };
                if let (Some(cache), Some(m)) = (cache, cur_mtime) {
                    // On a network file system the mtime is another
                    // host's clock's: whether it settled cannot be told
                    // by ours, so nothing is kept.
                    if saved
                        && courser_maildir::stamp::settled(m, taken)
                        && !courser_maildir::stamp::remote(dir)
                    {
                        cache.put(dir, listing.clone());
                    }
                }
                listing
            }
        };
        drop(lock);
        Ok(MaildirDrop {
            dir: dir.to_owned(),
            names: listing.names,
            infos: listing.infos,
        })
    }

    fn path(&self, name: &[u8]) -> PathBuf {
        self.dir.join("cur").join(std::ffi::OsStr::from_bytes(name))
    }

    /// The current name of message `index` in cur/, found again by its base
    /// name if another program renamed it.
    fn locate(&mut self, index: usize) -> Result<Option<Vec<u8>>, MaildropError> {
        let Some(name) = self.names.get(index) else {
            return Ok(None);
        };
        if fs::symlink_metadata(self.path(name)).is_ok() {
            return Ok(Some(name.clone()));
        }
        let base = base_of(name).to_vec();
        let cur = self.dir.join("cur");
        let found = list(&cur)?.into_iter().find(|n| base_of(n) == base);
        if let (Some(n), Some(name)) = (&found, Arc::make_mut(&mut self.names).get_mut(index)) {
            name.clone_from(n);
        }
        Ok(found)
    }
}

/// Lists `cur/` (after `new/` was moved in) and reconciles it with the
/// size list, saving the list if it changed; the messages, and whether
/// the list was saved (if not, only what the old list knew is shown).
/// Called under the maildir's lock.
fn read_listing(
    dir: &Path,
    host: &str,
    now: SystemTime,
) -> Result<(Vec<Msg>, bool), MaildropError> {
    let cur = dir.join("cur");
    let now = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let names = sizelist::sort_names(list(&cur)?, Vec::as_slice);
    let list_path = dir.join(SIZELIST_FILE);
    let data = match fs::read(&list_path) {
        Ok(d) => Some(d),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err(&list_path)(e)),
    };
    let (known, nextuid, uidv, save) =
        sizelist::reconcile(&names, sizelist::parse(data.as_deref()), now);
    let mut entries = Vec::with_capacity(names.len());
    let mut is_new = Vec::with_capacity(names.len());
    for (name, k) in names.into_iter().zip(known) {
        is_new.push(matches!(k, Known::New { .. }));
        entries.push(match k {
            Known::Listed(e) => Entry { name, ..e },
            Known::New { uid, uidv } => {
                let path = cur.join(std::ffi::OsStr::from_bytes(&name));
                // A file that vanished meanwhile sizes as 0, as in Courier.
                let (size, utf8) = courser_maildir::message_file::open(&path)
                    .and_then(crlf_size)
                    .unwrap_or((0, false));
                Entry {
                    name,
                    size,
                    uid,
                    uidv,
                    utf8,
                }
            }
        });
    }
    let saved = !save
        || courser_maildir::tmpfile::write_atomic(
            dir,
            host,
            "pop3",
            &list_path,
            &sizelist::serialize(nextuid, uidv, &entries),
        )
        .is_ok();
    if saved {
        return Ok((entries.into_iter().map(Msg::from).collect(), true));
    }
    tracing::error!(
        dir = %dir.display(),
        "cannot save {SIZELIST_FILE}: new messages are hidden this session"
    );
    Ok((enomem_fallback(&cur, entries, &is_new), false))
}

impl From<Entry> for Msg {
    fn from(e: Entry) -> Msg {
        Msg {
            info: MessageInfo {
                size: e.size,
                uidl: e.uidl(),
            },
            name: e.name,
        }
    }
}

/// Courier's recovery when the list cannot be saved (disk full): hide the
/// messages the old list did not know; if that hides them all, show only
/// the first message, under a UIDL made from its mtime, device and inode
/// (`ENOMEM-<mtime>-<dev>-<ino>`, 16 upper-case hex digits each).
fn enomem_fallback(cur: &Path, entries: Vec<Entry>, is_new: &[bool]) -> Vec<Msg> {
    let first = entries.first().cloned();
    let known: Vec<Msg> = entries
        .into_iter()
        .zip(is_new)
        .filter(|(_, new)| !**new)
        .map(|(e, _)| Msg::from(e))
        .collect();
    if !known.is_empty() {
        return known;
    }
    let Some(first) = first else {
        return Vec::new();
    };
    let path = cur.join(std::ffi::OsStr::from_bytes(&first.name));
    match fs::metadata(&path) {
        Ok(md) => vec![Msg {
            info: MessageInfo {
                size: first.size,
                uidl: format!(
                    "ENOMEM-{:016X}-{:016X}-{:016X}",
                    md.mtime(),
                    md.dev(),
                    md.ino()
                ),
            },
            name: first.name,
        }],
        Err(_) => Vec::new(),
    }
}

fn base_of(name: &[u8]) -> &[u8] {
    match name.iter().position(|&b| b == b':') {
        Some(i) => &name[..i],
        None => name,
    }
}

/// Directory entries not starting with `.`, as raw names.
fn list(dir: &Path) -> Result<Vec<Vec<u8>>, MaildropError> {
    let mut v = Vec::new();
    courser_maildir::dirlist::each_name(dir, |name| v.push(name.to_vec())).map_err(io_err(dir))?;
    Ok(v)
}

/// Courier's `maildir_getnew`: `new/X` → `cur/X:2,`; a name with info other
/// than `2,…` loses it; `X:2,…` keeps its flags.
fn move_new(dir: &Path) -> Result<(), MaildropError> {
    let new = dir.join("new");
    let cur = dir.join("cur");
    let names = match list(&new) {
        Ok(n) => n,
        Err(MaildropError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            return Ok(())
        }
        Err(e) => return Err(e),
    };
    for name in names {
        let target = match name.iter().position(|&b| b == b':') {
            Some(i) if name[i..].starts_with(b":2,") => name.clone(),
            Some(i) => [&name[..i], b":2,"].concat(),
            None => [&name[..], b":2,"].concat(),
        };
        let from = new.join(std::ffi::OsStr::from_bytes(&name));
        match fs::rename(&from, cur.join(std::ffi::OsStr::from_bytes(&target))) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&from)(e)),
        }
    }
    Ok(())
}

impl Mailbox for MaildirDrop {
    fn messages(&self) -> &[MessageInfo] {
        &self.infos
    }

    fn open(&mut self, index: usize) -> Result<Box<dyn Read + Send>, MaildropError> {
        let Some(name) = self.locate(index)? else {
            return Err(MaildropError::Gone);
        };
        let path = self.path(&name);
        let mut f = match courser_maildir::message_file::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(MaildropError::Gone),
            Err(e) => return Err(io_err(&path)(e)),
        };
        let (size, _) = crlf_size(&mut f).map_err(io_err(&path))?;
        f.rewind().map_err(io_err(&path))?;
        if self.infos.get(index).is_some_and(|i| i.size != size) {
            if let Some(info) = Arc::make_mut(&mut self.infos).get_mut(index) {
                tracing::debug!(file = %path.display(), listed = info.size, size, "listed size corrected");
                info.size = size;
            }
        }
        Ok(Box::new(f))
    }

    fn retrieved(&mut self, index: usize) {
        let Ok(Some(name)) = self.locate(index) else {
            return;
        };
        let Ok(text) = std::str::from_utf8(&name) else {
            return;
        };
        // Like Courier: only names without info or with version-2 info.
        if text.contains(':') && !text[text.find(':').unwrap_or(0)..].starts_with(":2,") {
            return;
        }
        let flags = flags_of(text);
        if flags.contains(Flags::SEEN) {
            return;
        }
        let renamed = merge_info(text, flags.union(Flags::SEEN));
        let from = self.path(&name);
        if fs::rename(&from, self.dir.join("cur").join(&renamed)).is_ok() {
            if let Some(name) = Arc::make_mut(&mut self.names).get_mut(index) {
                *name = renamed.into_bytes();
            }
        }
    }

    fn delete(&mut self, indexes: &[usize]) -> Result<usize, MaildropError> {
        let mut bytes = 0i64;
        let mut count = 0i64;
        let mut failed = 0;
        for &i in indexes {
            let name = match self.locate(i) {
                Ok(Some(n)) => n,
                Ok(None) => continue, // gone already: someone else deleted it
                Err(e) => {
                    tracing::warn!("POP3 delete: {e}");
                    failed += 1;
                    continue;
                }
            };
            let path = self.path(&name);
            let text = String::from_utf8_lossy(&name);
            let counted = !flags_of(&text).contains(Flags::DELETED);
            let size = if counted {
                size_tag(base_name(&text))
                    .or_else(|| fs::metadata(&path).ok().map(|m| m.len()))
                    .unwrap_or(0)
            } else {
                0
            };
            match fs::remove_file(&path) {
                Ok(()) => {
                    if counted && size > 0 {
                        bytes -= i64::try_from(size).unwrap_or(i64::MAX);
                        count -= 1;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(file = %path.display(), "POP3 delete: {e}");
                    failed += 1;
                }
            }
        }
        courser_maildir::quota::record(&self.dir, bytes, count)?;
        Ok(failed)
    }
}

#[cfg(test)]
mod tests;
