//! Adding UIDs to a `courierimapuiddb` in place.
//!
//! Courier rewrites the whole list (a new file renamed over the old one)
//! whenever it numbers a message. For a message Courser places itself
//! (APPEND, COPY, MOVE) that costs a read, a parse and a rewrite of the
//! whole list, and on ext4 each rewrite's data is flushed by the next
//! `fsync` of anyone's message. Here the header's next-UID is overwritten
//! with one of the same length and the new lines are added at the end;
//! when that is not possible (the number gains a digit, the header is not
//! in the form Courser writes, the last line is cut short, the list is
//! out of order) the caller rewrites the list as before.
//!
//! Readers see the same format: Courier takes the next UID from the header
//! and the entries from the lines, written in ascending UID order. The
//! header is written first, so a crash between the two writes leaves a
//! next-UID above every listed UID: the placed file is numbered again at
//! the next scan and no UID is ever given twice.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::replaced;
use crate::uiddb::UIDDB_FILE;

/// Longest header read (`1 <u32> <u32>\n` is at most 24 bytes).
const HEAD: usize = 64;
/// How much of the end of the list is read to find its last entry.
const TAIL: u64 = 512;

/// An open UID list that can take new entries in place.
#[derive(Debug)]
pub(crate) struct InPlace {
    file: File,
    len: u64,
    /// UIDVALIDITY from the header.
    pub uidvalidity: u32,
    /// Next UID from the header, above every listed UID.
    pub nextuid: u32,
}

fn header(uidvalidity: u32, nextuid: u32) -> String {
    format!("1 {uidvalidity} {nextuid}\n")
}

impl InPlace {
    /// Opens the folder's list, if it exists and is in a form that can
    /// be added to in place. Call with the folder lock held.
    pub(crate) fn open(dir: &Path) -> io::Result<Option<InPlace>> {
        replaced::retried(|| InPlace::open_once(dir))
    }

    fn open_once(dir: &Path) -> io::Result<Option<InPlace>> {
        let file = match OpenOptions::new()
            .read(true)
            .write(true)
            .open(dir.join(UIDDB_FILE))
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let len = file.metadata()?.len();
        let mut head = [0u8; HEAD];
        let n = read_at_most(&file, &mut head, 0)?;
        let Some((uidvalidity, nextuid)) = parse_header(&head[..n]) else {
            return Ok(None);
        };
        let start = len.saturating_sub(TAIL);
        let mut tail = vec![0u8; (len - start) as usize];
        let n = read_at_most(&file, &mut tail, start)?;
        tail.truncate(n);
        if tail.last() != Some(&b'\n') || (n as u64) < len - start {
            return Ok(None);
        }
        // The last entry's UID, if there is an entry: below nextuid.
        let body = &tail[..tail.len() - 1];
        let last_entry = match body.iter().rposition(|&b| b == b'\n') {
            Some(i) => Some(&body[i + 1..]),
            None if start == 0 => None, // the header alone
            None => return Ok(None),    // a line longer than the tail
        };
        if let Some(line) = last_entry {
            let uid = line
                .split(|&b| b == b' ')
                .next()
                .and_then(|u| std::str::from_utf8(u).ok())
                .and_then(|u| u.parse::<u32>().ok());
            if uid.is_none_or(|u| u >= nextuid) {
                return Ok(None);
            }
        }
        Ok(Some(InPlace {
            file,
            len,
            uidvalidity,
            nextuid,
        }))
    }

    /// Records `entries` (UIDs from [`InPlace::nextuid`] upward, in
    /// order) and the new next UID. `Ok(false)`: nothing was written, the
    /// list must be rewritten.
    pub(crate) fn add(self, entries: &[(u32, String)], nextuid: u32) -> io::Result<bool> {
        let old = header(self.uidvalidity, self.nextuid);
        let new = header(self.uidvalidity, nextuid);
        if new.len() != old.len() {
            return Ok(false);
        }
        let mut lines = String::with_capacity(entries.len() * 64);
        for (uid, name) in entries {
            lines.push_str(&format!("{uid} {name}\n"));
        }
        self.file.write_all_at(new.as_bytes(), 0)?;
        self.file.write_all_at(lines.as_bytes(), self.len)?;
        Ok(true)
    }
}

/// `(uidvalidity, nextuid)` of a header in exactly the form Courser and
/// Courier write, which is the only form overwritten in place.
fn parse_header(head: &[u8]) -> Option<(u32, u32)> {
    let end = head.iter().position(|&b| b == b'\n')?;
    let text = std::str::from_utf8(&head[..end]).ok()?;
    let mut parts = text.split(' ');
    let (version, v, next) = (parts.next()?, parts.next()?, parts.next()?);
    if version != "1" || parts.next().is_some() {
        return None;
    }
    let v: u32 = v.parse().ok()?;
    let next: u32 = next.parse().ok()?;
    (v != 0 && header(v, next).as_bytes() == &head[..=end]).then_some((v, next))
}

fn read_at_most(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], offset + n as u64)? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uiddb::UidDb;
    use std::fs;

    fn list(dir: &Path, text: &str) {
        fs::write(dir.join(UIDDB_FILE), text).unwrap();
    }

    fn read(dir: &Path) -> String {
        fs::read_to_string(dir.join(UIDDB_FILE)).unwrap()
    }

    #[test]
    fn adds_lines_and_bumps_the_header() {
        let t = tempfile::tempdir().unwrap();
        list(t.path(), "1 796368061 12\n3 a\n11 b\n");
        let db = InPlace::open(t.path()).unwrap().unwrap();
        assert_eq!((db.uidvalidity, db.nextuid), (796368061, 12));
        let added = [(12, "c".to_string()), (13, "d".to_string())];
        assert!(db.add(&added, 14).unwrap());
        let text = read(t.path());
        assert_eq!(text, "1 796368061 14\n3 a\n11 b\n12 c\n13 d\n");
        let parsed = UidDb::parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.nextuid, 14);
        assert_eq!(parsed.entries.len(), 4);
    }

    #[test]
    fn a_header_only_list_takes_entries() {
        let t = tempfile::tempdir().unwrap();
        list(t.path(), "1 5 1\n");
        let db = InPlace::open(t.path()).unwrap().unwrap();
        assert!(db.add(&[(1, "x".into())], 2).unwrap());
        assert_eq!(read(t.path()), "1 5 2\n1 x\n");
    }

    #[test]
    fn a_longer_number_is_left_to_a_rewrite() {
        let t = tempfile::tempdir().unwrap();
        list(t.path(), "1 5 9\n8 a\n");
        let db = InPlace::open(t.path()).unwrap().unwrap();
        assert!(!db.add(&[(9, "b".into())], 10).unwrap());
        assert_eq!(read(t.path()), "1 5 9\n8 a\n", "nothing written");
    }

    #[test]
    fn lists_not_safe_to_add_to_are_refused() {
        let t = tempfile::tempdir().unwrap();
        assert!(InPlace::open(t.path()).unwrap().is_none(), "missing");
        for text in [
            "1 5 9\n8 a",    // last line cut short
            "1 5 9\n9 a\n",  // a listed UID not below nextuid
            "1  5 9\n8 a\n", // header not as written
            "1 5 09\n8 a\n", // leading zero
            "2 5 9\n8 a\n",  // another version
            "1 0 9\n",       // no UIDVALIDITY
            "1 5 9 x\n",     // extra field
            "garbage\n",
            "",
        ] {
            list(t.path(), text);
            assert!(InPlace::open(t.path()).unwrap().is_none(), "{text:?}");
        }
    }

    #[test]
    fn a_long_list_is_checked_by_its_last_entry() {
        let t = tempfile::tempdir().unwrap();
        let mut text = "1 5 2001\n".to_string();
        for u in 1..=2000 {
            text.push_str(&format!("{u} 1796368061.M{u}P1.host,S=100\n"));
        }
        list(t.path(), &text);
        assert!(InPlace::open(t.path()).unwrap().is_some());
        list(t.path(), &text.replace("1 5 2001\n", "1 5 2000\n"));
        assert!(InPlace::open(t.path()).unwrap().is_none());
    }
}
