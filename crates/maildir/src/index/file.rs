//! The index file: a header, then checksummed, length-prefixed records.
//!
//! ```text
//! header (32 bytes): "COURSERX" | version u32 | uidvalidity u32
//!                    | table offset u64 | reserved u32 | crc32 of the 28 before
//! record:            payload length u32 | crc32 of payload u32 | payload
//! payload:           1 | uid u32 | base name (len-prefixed) | facts   (a message)
//!                    2 | (uid u32, offset u64)*                      (the table)
//! ```
//! (integers little-endian.) Records are only ever appended, with
//! `O_APPEND` and one `write` per batch, so processes can add to the same
//! file. A compaction writes the live records in UID order to a new file,
//! follows them with a table of `(uid, offset)` that the header points to,
//! and renames it over the old one: opening a compacted file reads the
//! header and the table, not the records, and reading the facts of
//! ascending UIDs is a sequential read. Records appended after the table
//! are found by walking them.
//!
//! A torn or flipped record fails its checksum (or its length runs past
//! the end); the walk stops there and the file is marked broken, to be
//! rewritten from what was valid. Nothing in it is trusted over the
//! maildir: a record only answers for the UID *and* base name it names.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const MAGIC: &[u8; 8] = b"COURSERX";
/// Format version; a file of another version is replaced, not read.
/// 2: records carry the SORT and THREAD keys.
pub(crate) const VERSION: u32 = 2;
const HEADER_LEN: u64 = 32;
const FRAME_LEN: u64 = 8;
/// Largest record accepted (a garbage length must not make us allocate).
const MAX_RECORD: u64 = 64 << 20;
const KIND_FACTS: u8 = 1;
const KIND_TABLE: u8 = 2;
/// Bytes of one table entry.
const ENTRY_LEN: usize = 12;

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn checksum(b: &[u8]) -> u32 {
    crc32fast::hash(b)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn header(uidvalidity: u32, table: u64) -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&uidvalidity.to_le_bytes());
    h[16..24].copy_from_slice(&table.to_le_bytes());
    let c = checksum(&h[..28]);
    h[28..].copy_from_slice(&c.to_le_bytes());
    h
}

/// Appends one framed record with `payload` to `out`.
fn frame(out: &mut Vec<u8>, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&checksum(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// A batch of message records to append, framed, with where each starts
/// within the batch.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    bytes: Vec<u8>,
    entries: Vec<(u32, u64)>,
}

impl Batch {
    /// Adds the record of message `uid` with base name `base`; `facts` is
    /// the encoded [`MessageFacts`](super::MessageFacts).
    pub fn push(&mut self, uid: u32, base: &str, facts: &[u8]) {
        let mut payload = Vec::with_capacity(1 + 4 + 2 + base.len() + facts.len());
        payload.push(KIND_FACTS);
        payload.extend_from_slice(&uid.to_le_bytes());
        let mut w = super::codec::Writer { buf: payload };
        w.bytes(base.as_bytes());
        w.buf.extend_from_slice(facts);
        self.entries.push((uid, self.bytes.len() as u64));
        frame(&mut self.bytes, &w.buf);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The latest record of `uid` in the batch, if any.
    pub fn find(&self, uid: u32) -> Option<Record<'_>> {
        let (_, at) = self.entries.iter().rev().find(|e| e.0 == uid)?;
        let at = usize::try_from(*at).ok()?;
        let len = u32_at(&self.bytes, at) as usize;
        let start = at + FRAME_LEN as usize;
        parse_message(&self.bytes[start..start + len])
    }

    /// The UIDs recorded, in the order pushed.
    pub fn uids(&self) -> impl Iterator<Item = u32> + '_ {
        self.entries.iter().map(|e| e.0)
    }
}

/// One message record, as read back.
#[derive(Debug)]
pub(crate) struct Record<'a> {
    pub uid: u32,
    pub base: &'a [u8],
    /// The encoded facts.
    pub facts: &'a [u8],
}

fn parse_message(payload: &[u8]) -> Option<Record<'_>> {
    if payload.first() != Some(&KIND_FACTS) || payload.len() < 5 {
        return None;
    }
    let uid = u32_at(payload, 1);
    let mut r = super::codec::Reader::new(&payload[5..]);
    let base = r.bytes()?;
    let used = payload.len() - 5 - r.remaining();
    Some(Record {
        uid,
        base,
        facts: &payload[5 + used..],
    })
}

/// Bytes read for a record not next to the previous one: most records
/// fit.
const SMALL_READ: usize = 4 << 10;

/// Reads of records through a buffer: one `pread` serves every record it
/// covers, so records read in file order cost a sequential read.
#[derive(Debug)]
pub(crate) struct ReadAhead {
    start: u64,
    buf: Vec<u8>,
    chunk: usize,
}

impl ReadAhead {
    /// For single lookups: one small read usually covers a record.
    pub fn single() -> ReadAhead {
        ReadAhead::with_chunk(SMALL_READ)
    }

    /// For reading many records in file order.
    pub fn bulk() -> ReadAhead {
        ReadAhead::with_chunk(256 << 10)
    }

    fn with_chunk(chunk: usize) -> ReadAhead {
        ReadAhead {
            start: 0,
            buf: Vec::new(),
            chunk,
        }
    }

    /// `len` bytes at `off`, or `None` past the end of the file.
    fn read(&mut self, file: &File, off: u64, len: usize) -> io::Result<Option<&[u8]>> {
        let have = off >= self.start
            && off
                .checked_add(len as u64)
                .is_some_and(|end| end <= self.start + self.buf.len() as u64);
        if !have {
            // Read ahead only when the reads go on where the last one
            // ended (records in file order): records read out of order
            // (appended in the order clients asked) get small reads.
            let ahead = if off >= self.start && off <= self.start + self.buf.len() as u64 {
                self.chunk
            } else {
                SMALL_READ
            };
            self.buf.resize(len.max(ahead), 0);
            let mut got = 0;
            while got < self.buf.len() {
                match file.read_at(&mut self.buf[got..], off + got as u64) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.buf.clear();
                        return Err(e);
                    }
                }
            }
            self.buf.truncate(got);
            self.start = off;
            if got < len {
                return Ok(None);
            }
        }
        let at = (off - self.start) as usize;
        Ok(Some(&self.buf[at..at + len]))
    }

    /// The payload of the record at `off` if its frame is whole and its
    /// checksum right.
    fn payload(&mut self, file: &File, off: u64) -> io::Result<Option<&[u8]>> {
        let Some(f) = self.read(file, off, FRAME_LEN as usize)? else {
            return Ok(None);
        };
        let (len, crc) = (u64::from(u32_at(f, 0)), u32_at(f, 4));
        if len > MAX_RECORD {
            return Ok(None);
        }
        let p = self.read(file, off + FRAME_LEN, len as usize)?;
        Ok(p.filter(|p| checksum(p) == crc))
    }
}

/// `(dev, ino)` of a file: tells whether the path still names the file
/// we have open (a compaction elsewhere renames a new one over it).
fn identity(md: &fs::Metadata) -> (u64, u64) {
    (md.dev(), md.ino())
}

/// An open index file and where its records are.
#[derive(Debug)]
pub(crate) struct IndexFile {
    path: PathBuf,
    file: File,
    id: (u64, u64),
    uidvalidity: u32,
    /// Locations from the table, sorted by UID.
    table: Vec<(u32, u64)>,
    /// Locations of records after the table (walked, or appended by us).
    added: BTreeMap<u32, u64>,
    /// How far the walk got: records before this offset are known.
    walked: u64,
    /// A record failed its checksum before the end of the file.
    pub broken: bool,
}

impl IndexFile {
    /// Opens the index at `path` for `uidvalidity`, creating it (or
    /// replacing a file of another version, another UIDVALIDITY or
    /// garbage) when needed.
    /// Without `read_table` the file is only good for appending.
    pub fn open(path: &Path, uidvalidity: u32, read_table: bool) -> io::Result<IndexFile> {
        match IndexFile::open_existing(path, uidvalidity, read_table)? {
            Some(f) => Ok(f),
            None => {
                let (tmp, mut f) = create_tmp(path)?;
                let done = f
                    .write_all(&header(uidvalidity, 0))
                    .and_then(|()| fs::rename(&tmp, path));
                if let Err(e) = done {
                    let _ = fs::remove_file(&tmp);
                    return Err(e);
                }
                IndexFile::open_existing(path, uidvalidity, read_table)?
                    .ok_or_else(|| io::Error::other("index replaced while created"))
            }
        }
    }

    /// Opens `path` if it is an index of this version for `uidvalidity`
    /// and reads its table; `None` if missing or unusable.
    fn open_existing(
        path: &Path,
        uidvalidity: u32,
        read_table: bool,
    ) -> io::Result<Option<IndexFile>> {
        let file = match OpenOptions::new()
            .read(true)
            .append(true)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            // a symlink, or a file we may not use (left by another account
            // in a shared folder): start over in its place
            Err(e)
                if e.kind() == io::ErrorKind::PermissionDenied
                    || e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(e),
        };
        let md = file.metadata()?;
        if !md.is_file() {
            return Ok(None);
        }
        let mut h = [0u8; HEADER_LEN as usize];
        if file.read_exact_at(&mut h, 0).is_err()
            || &h[..8] != MAGIC
            || u32_at(&h, 8) != VERSION
            || u32_at(&h, 12) != uidvalidity
            || u32_at(&h, 28) != checksum(&h[..28])
        {
            return Ok(None);
        }
        let mut me = IndexFile {
            path: path.to_path_buf(),
            file,
            id: identity(&md),
            uidvalidity,
            table: Vec::new(),
            added: BTreeMap::new(),
            walked: HEADER_LEN,
            broken: false,
        };
        let table_at = u64_at(&h, 16);
        if read_table && table_at != 0 && !me.read_table(table_at)? {
            return Ok(None);
        }
        Ok(Some(me))
    }

    /// Reads the table record at `at`; false if it is not a valid table.
    fn read_table(&mut self, at: u64) -> io::Result<bool> {
        if at < HEADER_LEN {
            return Ok(false);
        }
        let mut ra = ReadAhead::with_chunk(0);
        let Some(p) = ra.payload(&self.file, at)? else {
            return Ok(false);
        };
        if p.first() != Some(&KIND_TABLE) || (p.len() - 1) % ENTRY_LEN != 0 {
            return Ok(false);
        }
        let mut table = Vec::with_capacity((p.len() - 1) / ENTRY_LEN);
        for e in p[1..].chunks_exact(ENTRY_LEN) {
            let (uid, off) = (u32_at(e, 0), u64_at(e, 4));
            if off < HEADER_LEN || off >= at || table.last().is_some_and(|(u, _)| *u >= uid) {
                return Ok(false);
            }
            table.push((uid, off));
        }
        self.walked = at + FRAME_LEN + p.len() as u64;
        self.table = table;
        Ok(true)
    }

    /// Walks the records appended since the last walk (by anyone).
    /// A record that runs past the end of the file is not broken (yet):
    /// another process may be writing it; the walk stops before it and
    /// looks again next time. A whole record with a bad checksum is.
    pub fn walk(&mut self) -> io::Result<()> {
        if self.broken {
            return Ok(()); // rewritten at the next flush
        }
        let end = self.file.metadata()?.len();
        let mut ra = ReadAhead::bulk();
        let mut at = self.walked;
        while at < end {
            let Some(frame) = ra.read(&self.file, at, FRAME_LEN as usize)? else {
                break;
            };
            let len = u64::from(u32_at(frame, 0));
            if len <= MAX_RECORD && at + FRAME_LEN + len > end {
                break;
            }
            let Some(p) = ra.payload(&self.file, at)? else {
                self.broken = true;
                break;
            };
            let next = at + FRAME_LEN + p.len() as u64;
            match parse_message(p) {
                Some(r) => {
                    self.added.insert(r.uid, at);
                }
                None => {
                    self.broken = true;
                    break;
                }
            }
            at = next;
        }
        self.walked = at;
        Ok(())
    }

    /// Whether the path now names another file (replaced by a compaction
    /// or a fresh start elsewhere) or none.
    pub fn replaced(&self) -> bool {
        fs::symlink_metadata(&self.path).map_or(true, |md| identity(&md) != self.id)
    }

    /// Whether records were appended beyond what was walked.
    pub fn grew(&self) -> bool {
        !self.broken && self.file.metadata().is_ok_and(|md| md.len() > self.walked)
    }

    pub fn uidvalidity(&self) -> u32 {
        self.uidvalidity
    }

    /// Where the record of `uid` is, if there is one.
    pub fn locate(&self, uid: u32) -> Option<u64> {
        self.added.get(&uid).copied().or_else(|| {
            self.table
                .binary_search_by_key(&uid, |e| e.0)
                .ok()
                .map(|i| self.table[i].1)
        })
    }

    /// UIDs that have a record, ascending (table and added merged).
    pub fn uids(&self) -> impl Iterator<Item = u32> + '_ {
        let mut t = self.table.iter().map(|e| e.0).peekable();
        let mut a = self.added.keys().copied().peekable();
        std::iter::from_fn(move || match (t.peek(), a.peek()) {
            (Some(x), Some(y)) if x < y => t.next(),
            (Some(x), Some(y)) if x == y => {
                t.next();
                a.next()
            }
            (Some(_), None) => t.next(),
            (_, Some(_)) => a.next(),
            (None, None) => None,
        })
    }

    /// Records located: a UID recorded twice counts once.
    pub fn record_count(&self) -> usize {
        self.uids().count()
    }

    /// Records appended after the table.
    pub fn appended_count(&self) -> usize {
        self.added.len()
    }

    pub fn table_count(&self) -> usize {
        self.table.len()
    }

    /// The record at `off`, if it is a whole message record.
    pub fn read<'r>(&self, ra: &'r mut ReadAhead, off: u64) -> io::Result<Option<Record<'r>>> {
        Ok(ra.payload(&self.file, off)?.and_then(parse_message))
    }

    /// Appends a batch in one `write`. Its records are located only when
    /// it landed in one piece.
    pub fn append(&mut self, batch: &Batch) -> io::Result<()> {
        let n = (&self.file).write(&batch.bytes)?;
        if n < batch.bytes.len() {
            (&self.file).write_all(&batch.bytes[n..])?;
            return Ok(());
        }
        // O_APPEND leaves the file position just past what we wrote.
        let end = io::Seek::stream_position(&mut &self.file)?;
        let start = end - batch.bytes.len() as u64;
        for (uid, rel) in &batch.entries {
            self.added.insert(*uid, start + rel);
        }
        if self.walked == start {
            self.walked = end;
        }
        Ok(())
    }

    /// Rewrites the file with the records of `live` (ascending `(uid, base
    /// name)`) that it has, in UID order, and a table; replaces this file
    /// with it.
    pub fn compact<'a>(&mut self, live: impl Iterator<Item = (u32, &'a str)>) -> io::Result<()> {
        let (tmp, out) = create_tmp(&self.path)?;
        let result = self.write_compacted(live, out).and_then(|table| {
            fs::rename(&tmp, &self.path)?;
            Ok(table)
        });
        let table = match result {
            Ok(t) => t,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        let fresh = IndexFile::open_existing(&self.path, self.uidvalidity, true)?
            .ok_or_else(|| io::Error::other("compacted index unreadable"))?;
        debug_assert_eq!(fresh.table.len(), table);
        *self = fresh;
        Ok(())
    }

    fn write_compacted<'a>(
        &self,
        live: impl Iterator<Item = (u32, &'a str)>,
        out: File,
    ) -> io::Result<usize> {
        let mut w = io::BufWriter::with_capacity(256 << 10, &out);
        w.write_all(&header(self.uidvalidity, 0))?;
        let mut at = HEADER_LEN;
        let mut table = vec![KIND_TABLE];
        let mut count = 0;
        let mut ra = ReadAhead::bulk();
        for (uid, base) in live {
            let Some(off) = self.locate(uid) else {
                continue;
            };
            let Some(p) = ra.payload(&self.file, off)? else {
                continue;
            };
            if !parse_message(p).is_some_and(|r| r.uid == uid && r.base == base.as_bytes()) {
                continue;
            }
            w.write_all(&(p.len() as u32).to_le_bytes())?;
            w.write_all(&checksum(p).to_le_bytes())?;
            w.write_all(p)?;
            table.extend_from_slice(&uid.to_le_bytes());
            table.extend_from_slice(&at.to_le_bytes());
            at += FRAME_LEN + p.len() as u64;
            count += 1;
        }
        let mut t = Vec::with_capacity(table.len() + FRAME_LEN as usize);
        frame(&mut t, &table);
        w.write_all(&t)?;
        w.flush()?;
        drop(w);
        out.write_all_at(&header(self.uidvalidity, at), 0)?;
        Ok(count)
    }
}

/// Left-over temporary files (a writer killed before its rename) older
/// than this are removed from an index directory.
const STALE_TMP: std::time::Duration = std::time::Duration::from_secs(3600);

/// A new temporary file (mode 0600) to be renamed over `path`: in the
/// maildir folder's `tmp/` when the index lives in the folder (Courier and
/// Courser purge what is left there after 36 hours), else beside `path`
/// in the index directory, where left-overs are swept here.
fn create_tmp(path: &Path) -> io::Result<(PathBuf, File)> {
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp.{}.{n}", std::process::id()));
    let parent = path.parent().unwrap_or(Path::new("."));
    let maildir_tmp = parent.join("tmp");
    let tmp = if maildir_tmp.is_dir() {
        maildir_tmp.join(name)
    } else {
        sweep_stale_tmp(parent);
        parent.join(name)
    };
    let f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    Ok((tmp, f))
}

fn sweep_stale_tmp(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let stale = e.file_name().to_string_lossy().contains(".tmp.")
            && e.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > STALE_TMP));
        if stale {
            let _ = fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(uids: &[u32]) -> Batch {
        let mut b = Batch::default();
        for u in uids {
            b.push(*u, &format!("base{u}"), format!("facts{u}").as_bytes());
        }
        assert!(uids.iter().all(|u| b.find(*u).is_some_and(|r| r.uid == *u)));
        b
    }

    fn read(f: &IndexFile, uid: u32) -> Option<(u32, String, Vec<u8>)> {
        let off = f.locate(uid)?;
        let mut ra = ReadAhead::single();
        let r = f.read(&mut ra, off).unwrap()?;
        Some((
            r.uid,
            String::from_utf8(r.base.to_vec()).unwrap(),
            r.facts.to_vec(),
        ))
    }

    #[test]
    fn appended_records_are_found_by_this_and_another_handle() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("courserindex");
        let mut a = IndexFile::open(&p, 7, true).unwrap();
        a.append(&batch(&[3, 1, 2])).unwrap();
        assert_eq!(read(&a, 1).unwrap().1, "base1");
        let mut b = IndexFile::open(&p, 7, true).unwrap();
        assert_eq!(b.locate(2), None);
        b.walk().unwrap();
        assert_eq!(read(&b, 2).unwrap().2, b"facts2");
        assert!(!b.broken);
        // another UIDVALIDITY starts over
        let c = IndexFile::open(&p, 8, true).unwrap();
        assert_eq!(c.record_count(), 0);
        assert!(a.replaced());
        // so does a symlink, never followed
        fs::remove_file(&p).unwrap();
        let target = d.path().join("target");
        fs::write(&target, b"not an index").unwrap();
        std::os::unix::fs::symlink(&target, &p).unwrap();
        IndexFile::open(&p, 8, true).unwrap();
        assert!(fs::symlink_metadata(&p).unwrap().is_file());
        assert_eq!(fs::read(&target).unwrap(), b"not an index");
    }

    #[test]
    fn compaction_keeps_live_records_in_uid_order_with_a_table() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("courserindex");
        let mut a = IndexFile::open(&p, 1, true).unwrap();
        a.append(&batch(&[5, 1, 4, 2, 3])).unwrap();
        let live = [(1, "base1"), (2, "base2"), (3, "other"), (5, "base5")];
        a.compact(live.iter().map(|(u, b)| (*u, *b))).unwrap();
        assert_eq!(a.uids().collect::<Vec<_>>(), vec![1, 2, 5]);
        assert_eq!(a.table_count(), 3);
        assert!(a.locate(1).unwrap() < a.locate(2).unwrap());
        let mut b = IndexFile::open(&p, 1, true).unwrap();
        b.walk().unwrap();
        assert_eq!(b.appended_count(), 0);
        assert_eq!(read(&b, 5).unwrap().1, "base5");
        b.append(&batch(&[9])).unwrap();
        assert_eq!(b.uids().collect::<Vec<_>>(), vec![1, 2, 5, 9]);
    }

    #[test]
    fn temporary_files_go_to_the_maildir_tmp_or_are_swept() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("tmp")).unwrap();
        let (t, _) = create_tmp(&d.path().join("courserindex")).unwrap();
        assert_eq!(t.parent(), Some(d.path().join("tmp").as_path()));
        let under = d.path().join("under");
        fs::create_dir(&under).unwrap();
        let old = under.join("INBOX.courserindex.tmp.1.1");
        let f = File::create(&old).unwrap();
        f.set_modified(std::time::SystemTime::now() - 2 * STALE_TMP)
            .unwrap();
        let (t, _) = create_tmp(&under.join("INBOX.courserindex")).unwrap();
        assert_eq!(t.parent(), Some(under.as_path()));
        assert!(!old.exists());
    }

    #[test]
    fn reads_ahead_only_when_reading_on() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        fs::write(&p, vec![7u8; 1 << 20]).unwrap();
        let f = File::open(&p).unwrap();
        let mut ra = ReadAhead::bulk();
        ra.read(&f, 1000, 10).unwrap().unwrap();
        assert_eq!(ra.buf.len(), SMALL_READ, "a first read is small");
        ra.read(&f, 1000 + SMALL_READ as u64 - 5, 10)
            .unwrap()
            .unwrap();
        assert_eq!(ra.buf.len(), 256 << 10, "reading on reads ahead");
        ra.read(&f, 900_000, 10).unwrap().unwrap();
        assert_eq!(ra.buf.len(), SMALL_READ, "a jump does not");
        assert_eq!(ra.read(&f, (1 << 20) - 5, 10).unwrap(), None);
    }

    #[test]
    fn a_torn_record_stops_the_walk_and_marks_the_file_broken() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("courserindex");
        let mut a = IndexFile::open(&p, 1, true).unwrap();
        a.append(&batch(&[1, 2])).unwrap();
        let len = fs::metadata(&p).unwrap().len();
        let f = OpenOptions::new().write(true).open(&p).unwrap();
        f.set_len(len - 3).unwrap();
        // cut short at the end: perhaps still being written
        let mut b = IndexFile::open(&p, 1, true).unwrap();
        b.walk().unwrap();
        assert!(!b.broken && b.grew());
        assert_eq!(b.uids().collect::<Vec<_>>(), vec![1]);
        // followed by more: torn for good
        a.append(&batch(&[3])).unwrap();
        b.walk().unwrap();
        assert!(b.broken);
        assert_eq!(b.uids().collect::<Vec<_>>(), vec![1]);
    }
}
