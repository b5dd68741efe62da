//! A constant database in D. J. Bernstein's CDB format, the on-disk form
//! of the compiled userdb: one lookup reads a few small pieces of the file,
//! whatever its size.
//!
//! Why our own (about 150 lines) rather than a crate: the maintained Rust
//! CDB readers map the file into memory, and a mapped file that another
//! program truncates or rewrites in place (`cp new.cdb userdb.cdb`, an
//! rsync `--inplace`) kills the whole server with SIGBUS. This reader uses
//! positioned reads (`pread`) instead, so such a file gives an I/O error
//! for that lookup and the next change check reopens it. The format is the
//! standard one, so `cdb -d` (tinycdb) can dump a compiled userdb.
//!
//! Layout: a 2048-byte header of 256 `(table position, slot count)` pairs;
//! the records (`key length, value length, key, value`); then the 256 hash
//! tables of `(hash, record position)` slots, open addressing. All numbers
//! are little-endian `u32`.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::ops::ControlFlow;
use std::os::unix::fs::FileExt;

const HEADER: u64 = 2048;
/// Bytes read at a record's position in one go.
const RECORD_READ: u64 = 1024;

/// CDB's hash (djb2 with XOR).
fn hash(key: &[u8]) -> u32 {
    key.iter()
        .fold(5381u32, |h, &b| (h << 5).wrapping_add(h) ^ u32::from(b))
}

fn bad(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("corrupt CDB file: {what}"),
    )
}

fn pair(buf: &[u8]) -> (u32, u32) {
    let n = |i: usize| u32::from_le_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
    (n(0), n(4))
}

/// An open CDB file.
#[derive(Debug)]
pub(crate) struct Reader {
    file: File,
    len: u64,
    header: Vec<(u32, u32)>,
}

impl Reader {
    /// Reads the header of an open file.
    pub(crate) fn new(file: File) -> io::Result<Reader> {
        let len = file.metadata()?.len();
        let mut raw = vec![0u8; HEADER as usize];
        file.read_exact_at(&mut raw, 0)?;
        let header = raw.chunks_exact(8).map(pair).collect();
        Ok(Reader { file, len, header })
    }

    fn read(&self, pos: u64, len: u64) -> io::Result<Vec<u8>> {
        if pos.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(bad("a length points past the end"));
        }
        let mut buf = vec![0u8; len as usize];
        self.file.read_exact_at(&mut buf, pos)?;
        Ok(buf)
    }

    /// The value stored under `key` (the first one, if several).
    pub(crate) fn get(&self, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        let h = hash(key);
        let (table, slots) = self.header[(h & 0xff) as usize];
        if slots == 0 {
            return Ok(None);
        }
        let mut slot = (h >> 8) % slots;
        for _ in 0..slots {
            let (slot_hash, record) = pair(&self.read(u64::from(table) + u64::from(slot) * 8, 8)?);
            if record == 0 {
                return Ok(None);
            }
            if slot_hash == h {
                // One read usually holds the whole record (a userdb line).
                let at = u64::from(record);
                let chunk = self.read(at, RECORD_READ.min(self.len.saturating_sub(at)))?;
                if chunk.len() < 8 {
                    return Err(bad("a record is cut short"));
                }
                let (klen, vlen) = pair(&chunk);
                let (klen, vlen) = (klen as usize, vlen as usize);
                let whole = 8 + klen + vlen;
                let record = if whole <= chunk.len() {
                    chunk
                } else {
                    self.read(at, whole as u64)?
                };
                if klen == key.len() && &record[8..8 + klen] == key {
                    return Ok(Some(record[8 + klen..whole].to_vec()));
                }
            }
            slot = (slot + 1) % slots;
        }
        Ok(None)
    }

    /// Hands every `(key, value)` to `each` in the order written, one
    /// record in memory at a time; `each` may stop the walk.
    pub(crate) fn each_entry(
        &self,
        mut each: impl FnMut(Vec<u8>, Vec<u8>) -> ControlFlow<()>,
    ) -> io::Result<()> {
        let end = self.header.iter().map(|&(pos, _)| u64::from(pos)).min();
        let end = end.filter(|&e| e >= HEADER).ok_or_else(|| bad("header"))?;
        let mut pos = HEADER;
        while pos < end {
            let (klen, vlen) = pair(&self.read(pos, 8)?);
            let key = self.read(pos + 8, u64::from(klen))?;
            let value = self.read(pos + 8 + u64::from(klen), u64::from(vlen))?;
            if each(key, value).is_break() {
                break;
            }
            pos += 8 + u64::from(klen) + u64::from(vlen);
        }
        Ok(())
    }
}

/// Writes a CDB file: [`Writer::add`] the records, then
/// [`Writer::finish`] the tables and header.
pub(crate) struct Writer {
    out: BufWriter<File>,
    pos: u32,
    /// `(hash, record position)` of every record.
    slots: Vec<(u32, u32)>,
}

impl Writer {
    /// Starts writing into an empty file.
    pub(crate) fn new(file: File) -> io::Result<Writer> {
        let mut out = BufWriter::new(file);
        out.write_all(&[0u8; HEADER as usize])?;
        Ok(Writer {
            out,
            pos: HEADER as u32,
            slots: Vec::new(),
        })
    }

    fn advance(&mut self, by: usize) -> io::Result<u32> {
        u32::try_from(by)
            .ok()
            .and_then(|by| self.pos.checked_add(by))
            .ok_or_else(|| io::Error::other("CDB files are limited to 4 GiB"))
    }

    fn put(&mut self, a: u32, b: u32) -> io::Result<()> {
        self.out.write_all(&a.to_le_bytes())?;
        self.out.write_all(&b.to_le_bytes())
    }

    /// Appends one record.
    pub(crate) fn add(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        let next = self.advance(8 + key.len() + value.len())?;
        let too_long = || io::Error::other("CDB key or value too long");
        self.put(
            u32::try_from(key.len()).map_err(|_| too_long())?,
            u32::try_from(value.len()).map_err(|_| too_long())?,
        )?;
        self.out.write_all(key)?;
        self.out.write_all(value)?;
        self.slots.push((hash(key), self.pos));
        self.pos = next;
        Ok(())
    }

    /// Writes the hash tables and the header; returns the file, flushed
    /// but not synced.
    pub(crate) fn finish(mut self) -> io::Result<File> {
        let mut header = Vec::with_capacity(256);
        for bucket in 0..256u32 {
            let mine: Vec<(u32, u32)> = self
                .slots
                .iter()
                .copied()
                .filter(|(h, _)| h & 0xff == bucket)
                .collect();
            let len = mine.len() * 2;
            let mut table = vec![(0u32, 0u32); len];
            for (h, pos) in mine {
                let mut slot = (h >> 8) as usize % len;
                while table[slot].1 != 0 {
                    slot = (slot + 1) % len;
                }
                table[slot] = (h, pos);
            }
            header.push((self.pos, len as u32));
            self.pos = self.advance(len * 8)?;
            for (h, pos) in table {
                self.put(h, pos)?;
            }
        }
        self.out.seek(SeekFrom::Start(0))?;
        for (pos, len) in header {
            self.put(pos, len)?;
        }
        self.out.flush()?;
        self.out.into_inner().map_err(|e| e.into_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("t.cdb");
        let mut w = Writer::new(File::create(&path).expect("create")).expect("writer");
        for i in 0..2000 {
            w.add(
                format!("key{i}").as_bytes(),
                format!("value {i}").as_bytes(),
            )
            .expect("add");
        }
        w.add(b"", b"empty key").expect("add");
        w.finish().expect("finish");
        let r = Reader::new(File::open(&path).expect("open")).expect("reader");
        assert_eq!(r.get(b"key0").expect("io"), Some(b"value 0".to_vec()));
        assert_eq!(r.get(b"key1999").expect("io"), Some(b"value 1999".to_vec()));
        assert_eq!(r.get(b"").expect("io"), Some(b"empty key".to_vec()));
        assert_eq!(r.get(b"key2000").expect("io"), None);
        let mut all = Vec::new();
        r.each_entry(|k, v| {
            all.push((k, v));
            ControlFlow::Continue(())
        })
        .expect("entries");
        assert_eq!(all.len(), 2001);
        assert_eq!(all[5], (b"key5".to_vec(), b"value 5".to_vec()));
        // The hash of the reference implementation.
        assert_eq!(hash(b""), 5381);
        assert_eq!(hash(b"a"), (5381u32 << 5).wrapping_add(5381) ^ 97);

        // Truncated under the reader: errors, no panic.
        let f = File::options().write(true).open(&path).expect("open");
        f.set_len(3000).expect("truncate");
        assert!(r.get(b"key1999").is_err());
        assert!(r.each_entry(|_, _| ControlFlow::Continue(())).is_err());
        let short = Reader::new(File::open(&path).expect("open")).expect("header is there");
        assert!(short.get(b"key1999").is_err());
        f.set_len(100).expect("truncate");
        assert!(Reader::new(File::open(&path).expect("open")).is_err());
    }
}
