//! The folder index: a disposable file per folder keeping the
//! [`MessageFacts`] of its messages, so FETCH ENVELOPE / BODYSTRUCTURE /
//! RFC822.SIZE and header SEARCH need not open every message file.
//!
//! * Where: `courserindex` in the folder directory (Courier and Dovecot
//!   ignore files they do not know there), or under a local directory
//!   ([`IndexPlace::Under`], for maildirs on NFS).
//! * Never trusted over the maildir: a record answers only for the UID and
//!   base name it names; a missing, torn, foreign or garbage file is
//!   replaced, never an error (see [`file`] for the format).
//! * Kept current by the folder's own changes (APPEND, COPY, MOVE,
//!   EXPUNGE) in work proportional to the change; messages others add
//!   are recorded when first asked about.
//! * In memory only the locations of records (12–16 bytes a message),
//!   never the facts.

mod codec;
mod facts;
mod file;

use std::fs::DirBuilder;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

pub(crate) use facts::{search_lists, TextsView};
pub use facts::{MessageFacts, Needle, OrderFacts, OrderKeys, ADDRESS_FIELDS, KEPT_FIELDS};
pub(crate) use file::ReadAhead;
use file::{Batch, IndexFile, Record};

use crate::message::Message;

/// Name of the index file in a folder directory.
pub const INDEX_FILE: &str = "courserindex";

/// Records buffered before they are written (a FETCH over an unindexed
/// folder writes in batches).
const BATCH_RECORDS: usize = 256;
const BATCH_BYTES: usize = 1 << 20;
/// Dead records tolerated before a compaction however few are live.
const MIN_DEAD: usize = 64;
/// Records appended after the table tolerated before a compaction (more
/// when the table is bigger: compacting stays proportional to growth).
const MIN_APPENDED: usize = 4096;

/// Where folder indexes are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum IndexPlace {
    /// `courserindex` in each folder directory (the default).
    #[default]
    InFolder,
    /// Under this local directory, which must exist: one directory per
    /// maildir (its path, %-escaped, created 0700), one file per folder.
    Under(PathBuf),
    /// No index: facts are computed from the message file each time.
    Off,
}

/// `%XX`-escapes everything but `[A-Za-z0-9._-]`: one path component
/// that no other path escapes to.
pub(crate) fn escape(p: &Path) -> String {
    let mut s = String::new();
    for &b in p.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// The inverse of [`escape`]; `None` for a name it did not make.
pub(crate) fn unescape(s: &str) -> Option<PathBuf> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    Some(PathBuf::from(std::ffi::OsString::from_vec(out)))
}

/// The index file of folder directory `dir` of the maildir at `root`, if
/// it may have one. Under a directory, names longer than a path component
/// allows get none.
pub(crate) fn index_path(place: &IndexPlace, root: &Path, dir: &Path) -> Option<PathBuf> {
    match place {
        IndexPlace::Off => None,
        IndexPlace::InFolder => Some(dir.join(INDEX_FILE)),
        IndexPlace::Under(base) => {
            let root = root.canonicalize().ok()?;
            let dir = dir.canonicalize().ok()?;
            let account = escape(&root);
            let folder = match dir.strip_prefix(&root) {
                Ok(rel) if rel.as_os_str().is_empty() => "INBOX".to_string(),
                Ok(rel) => escape(rel),
                Err(_) => escape(&dir),
            };
            let file = format!("{folder}.{INDEX_FILE}");
            (account.len() <= 255 && file.len() <= 255).then(|| base.join(account).join(file))
        }
    }
}

/// Opens the index at `path` (creating its per-maildir directory under an
/// index directory first).
fn open_file(path: &Path, uidvalidity: u32, read_table: bool) -> io::Result<IndexFile> {
    match IndexFile::open(path, uidvalidity, read_table) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let parent = path.parent().unwrap_or(Path::new("."));
            match DirBuilder::new().mode(0o700).create(parent) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
            IndexFile::open(path, uidvalidity, read_table)
        }
        r => r,
    }
}

/// Adds records for messages just placed in a folder (APPEND, the
/// destination of COPY/MOVE): `(uid, base name, facts)`. The index is
/// a cache, so failing to write it is no failure of the operation.
pub(crate) fn record_placed(
    path: Option<&Path>,
    uidvalidity: u32,
    placed: &[(u32, &str, &MessageFacts)],
) {
    let Some(path) = path else {
        return;
    };
    if placed.is_empty() {
        return;
    }
    let mut batch = Batch::default();
    for (uid, base, facts) in placed {
        let mut w = codec::Writer::default();
        facts.encode(&mut w);
        batch.push(*uid, base, &w.buf);
    }
    if let Ok(mut f) = open_file(path, uidvalidity, false) {
        let _ = f.append(&batch);
    }
}

/// An open folder's index: the file (opened on first use), records not
/// written yet, and the counts that decide a compaction.
#[derive(Debug)]
pub(crate) struct FolderIndex {
    path: Option<PathBuf>,
    file: Option<IndexFile>,
    pending: Batch,
    /// The UIDVALIDITY `pending` belongs to.
    pending_v: u32,
    /// Records of messages in the folder, and of messages gone (or
    /// superseded).
    live: usize,
    dead: usize,
    /// The file could not be opened or written: compute from files only.
    failed: bool,
}

impl FolderIndex {
    pub fn new(path: Option<PathBuf>) -> FolderIndex {
        FolderIndex {
            path,
            file: None,
            pending: Batch::default(),
            pending_v: 0,
            live: 0,
            dead: 0,
            failed: false,
        }
    }

    /// The index file, opened for `uidvalidity` and walked, if usable.
    fn file(&mut self, uidvalidity: u32, messages: &[Message]) -> Option<&mut IndexFile> {
        if self.failed {
            return None;
        }
        if self
            .file
            .as_ref()
            .is_some_and(|f| f.uidvalidity() != uidvalidity)
        {
            self.reset();
        }
        if self.file.is_none() {
            let path = self.path.as_deref()?;
            let opened = open_file(path, uidvalidity, true).and_then(|mut f| {
                f.walk()?;
                Ok(f)
            });
            match opened {
                Ok(mut f) => {
                    self.live = count_live(&f, messages);
                    self.dead = f.record_count() - self.live;
                    // a crowded or broken file is put in order before
                    // this session reads it, as the next write would
                    if wants_compaction(&f, self.live, self.dead)
                        && f.compact(messages.iter().map(|m| (m.uid, m.base_name())))
                            .is_ok()
                    {
                        self.live = count_live(&f, messages);
                        self.dead = 0;
                    }
                    self.file = Some(f);
                }
                Err(_) => {
                    self.failed = true;
                    return None;
                }
            }
        }
        self.file.as_mut()
    }

    /// The recorded facts of `m`, if the index has a matching record.
    pub fn lookup(
        &mut self,
        uidvalidity: u32,
        messages: &[Message],
        m: &Message,
        ra: &mut ReadAhead,
    ) -> Option<MessageFacts> {
        let mut r = codec::Reader::new(self.record_of(uidvalidity, messages, m, ra)?);
        MessageFacts::decode(&mut r).filter(|_| r.is_empty())
    }

    /// What SORT and THREAD need of `m`'s record, read in place.
    pub fn lookup_order<'r>(
        &'r mut self,
        uidvalidity: u32,
        messages: &[Message],
        m: &Message,
        ra: &'r mut ReadAhead,
    ) -> Option<OrderFacts<'r>> {
        OrderFacts::decode(self.record_of(uidvalidity, messages, m, ra)?)
    }

    /// The header texts SEARCH looks in of `m`'s record, read in place.
    pub fn lookup_texts<'r>(
        &'r mut self,
        uidvalidity: u32,
        messages: &[Message],
        m: &Message,
        ra: &'r mut ReadAhead,
    ) -> Option<TextsView<'r>> {
        TextsView::decode(self.record_of(uidvalidity, messages, m, ra)?)
    }

    /// The encoded facts of `m`'s record, if the index has one that
    /// matches it.
    fn record_of<'r>(
        &'r mut self,
        uidvalidity: u32,
        messages: &[Message],
        m: &Message,
        ra: &'r mut ReadAhead,
    ) -> Option<&'r [u8]> {
        if self.pending_v == uidvalidity && self.pending.find(m.uid).is_some() {
            return self.pending.find(m.uid).and_then(|r| facts_of(r, m));
        }
        let mut off = self.file(uidvalidity, messages)?.locate(m.uid);
        if off.is_none() {
            // others may have recorded it since we looked, or compacted
            let f = self.file.as_mut()?;
            if f.replaced() {
                self.file = None;
            } else if !f.grew() {
                return None;
            } else if f.walk().is_err() {
                self.failed = true;
                self.file = None;
                return None;
            }
            off = self.file(uidvalidity, messages)?.locate(m.uid);
        }
        let off = off?;
        let f = self.file.as_ref()?;
        facts_of(f.read(ra, off).ok()??, m)
    }

    /// Records facts computed from a message file (written in batches).
    pub fn record(
        &mut self,
        uidvalidity: u32,
        messages: &[Message],
        m: &Message,
        facts: &MessageFacts,
    ) {
        if self.failed || self.path.is_none() {
            return;
        }
        if self.pending_v != uidvalidity {
            self.pending = Batch::default();
            self.pending_v = uidvalidity;
        }
        let mut w = codec::Writer::default();
        facts.encode(&mut w);
        self.pending.push(m.uid, m.base_name(), &w.buf);
        if self.pending.len() >= BATCH_RECORDS || self.pending.size() >= BATCH_BYTES {
            self.flush(uidvalidity, messages);
        }
    }

    /// Writes buffered records, compacting first when dead records
    /// outweigh live ones, records appended after the table outgrow it,
    /// or the file is broken.
    pub fn flush(&mut self, uidvalidity: u32, messages: &[Message]) {
        if self.pending_v != uidvalidity {
            self.pending = Batch::default();
        }
        let pending = std::mem::take(&mut self.pending);
        if pending.is_empty() && self.file.is_none() {
            return; // nothing to write, nothing known to compact
        }
        if self.file.as_ref().is_some_and(IndexFile::replaced) {
            self.file = None;
        }
        let (live, dead) = (self.live, self.dead);
        let Some(f) = self.file(uidvalidity, messages) else {
            return;
        };
        let compacted = if wants_compaction(f, live, dead) {
            f.compact(messages.iter().map(|m| (m.uid, m.base_name())))
                .map(|()| true)
        } else {
            Ok(false)
        };
        let superseded = pending.uids().filter(|u| f.locate(*u).is_some()).count();
        let result = compacted.and_then(|c| {
            if !pending.is_empty() {
                f.append(&pending)?;
            }
            Ok(c)
        });
        match result {
            Ok(true) => {
                self.live = count_live(self.file.as_ref().expect("open"), messages);
                self.dead = 0;
            }
            Ok(false) => {
                self.live += pending.len() - superseded;
                self.dead += superseded;
            }
            Err(_) => {
                self.failed = true;
                self.file = None;
            }
        }
    }

    /// Messages that left the folder: their records are dead.
    pub fn forget(&mut self, uids: &[u32]) {
        if let Some(f) = &self.file {
            let n = uids.iter().filter(|u| f.locate(**u).is_some()).count();
            self.live = self.live.saturating_sub(n);
            self.dead += n;
        }
    }

    /// The folder's UIDVALIDITY changed: nothing recorded applies.
    pub fn reset(&mut self) {
        self.file = None;
        self.pending = Batch::default();
        self.live = 0;
        self.dead = 0;
    }
}

/// The facts in record `r` if it is the record of message `m`.
/// The encoded facts of a record, if it is `m`'s.
fn facts_of<'r>(r: Record<'r>, m: &Message) -> Option<&'r [u8]> {
    (r.uid == m.uid && r.base == m.base_name().as_bytes()).then_some(r.facts)
}

/// Whether `f` should be rewritten: dead records outweigh live ones,
/// records appended after the table outgrow it, or a record is broken.
fn wants_compaction(f: &IndexFile, live: usize, dead: usize) -> bool {
    f.broken
        || (dead > MIN_DEAD && dead > live)
        || f.appended_count() > f.table_count().max(MIN_APPENDED)
}

/// How many of `messages` (ascending UIDs) have a record.
fn count_live(f: &IndexFile, messages: &[Message]) -> usize {
    let mut recorded = f.uids().peekable();
    let mut n = 0;
    for m in messages {
        while recorded.next_if(|u| *u < m.uid).is_some() {}
        if recorded.next_if_eq(&m.uid).is_some() {
            n += 1;
        }
    }
    n
}

impl Drop for FolderIndex {
    /// Buffered records are written (a compaction waits for the next
    /// session).
    fn drop(&mut self) {
        if self.pending.is_empty() || self.failed {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        let file = match self.file.take() {
            Some(f) if f.uidvalidity() == self.pending_v && !f.replaced() => Ok(f),
            _ => match &self.path {
                Some(p) => open_file(p, self.pending_v, false),
                None => return,
            },
        };
        if let Ok(mut f) = file {
            let _ = f.append(&pending);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sessions move their folder between threads.
    const _: fn() = || {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<crate::Folder>();
    };

    #[test]
    fn escaped_names_are_one_component_each() {
        assert_eq!(
            escape(Path::new("/home/bob/Maildir")),
            "%2Fhome%2Fbob%2FMaildir"
        );
        assert_eq!(escape(Path::new("a%2Fb")), "a%252Fb");
        assert_eq!(escape(Path::new(".Sent")), ".Sent");
        let odd = Path::new("/a b%/c");
        assert_eq!(unescape(&escape(odd)).as_deref(), Some(odd));
        assert_eq!(unescape("%4"), None);
        assert_eq!(unescape("%zz"), None);
    }

    #[test]
    fn places() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("Maildir");
        std::fs::create_dir_all(root.join(".Sent")).unwrap();
        let dir = root.join(".Sent");
        assert_eq!(index_path(&IndexPlace::Off, &root, &dir), None);
        assert_eq!(
            index_path(&IndexPlace::InFolder, &root, &dir),
            Some(dir.join(INDEX_FILE))
        );
        let base = PathBuf::from("/var/cache/courser");
        let under = IndexPlace::Under(base.clone());
        let inbox = index_path(&under, &root, &root).unwrap();
        let sent = index_path(&under, &root, &dir).unwrap();
        assert_eq!(inbox.parent(), sent.parent());
        assert_eq!(inbox.parent().unwrap().parent(), Some(base.as_path()));
        assert!(inbox.ends_with(format!("INBOX.{INDEX_FILE}")));
        assert!(sent.ends_with(format!(".Sent.{INDEX_FILE}")));
    }
}
