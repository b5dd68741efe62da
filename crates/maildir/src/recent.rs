//! `\Recent` across processes: which session is the first to see a
//! message (RFC 3501 §2.3.2).
//!
//! The rule, held by every Courser process, Courier's imapd and any MDA:
//! a message is \Recent to exactly one session, the first read-write one
//! (SELECT) to see it, and each claim happens under the folder's dot-lock
//! ([`crate::lock`]):
//!
//! * Mail delivered to `new/` (an MDA, `deliverquota`, `courser deliver`)
//!   is claimed by the scan that renames it into `cur/`: only one rename
//!   succeeds. Courier's imapd claims it the same way.
//! * A file found in `cur/` without a UID (moved there by POP3, an
//!   EXAMINE, or another program) is claimed by the scan that numbers it,
//!   as in Courier.
//! * Mail Courser itself places in `cur/` with a UID (APPEND, COPY, MOVE,
//!   UIDPLUS needs the UID at once) has no such event, so its UIDs are
//!   listed in this folder's [`RECENT_FILE`] as they are placed; the next
//!   read-write scan takes the list, marks them recent and removes it.
//!   Where the placing session has the folder open read-write and takes
//!   the message in itself (its APPEND into it, a COPY within it), the
//!   UID is not listed: it is that session's claim at once
//!   ([`crate::Appended::recent_claimed`]).
//!   Courier ignores the file (it sees such mail as old, as it always
//!   did), and deleting it only loses \Recent.
//! * Read-only views (EXAMINE, STATUS) count what is not claimed yet — files
//!   in `new/`, files in `cur/` without a UID, listed UIDs — and claim
//!   nothing.
//!
//! Format: a first line `1 <uidvalidity>`, then one UID per line. A list
//! for another UIDVALIDITY is stale and ignored; a line cut short by a
//! crash (no newline) is ignored.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

use crate::error::{IoContext, Result};

/// The list of UIDs placed by Courser and not yet claimed.
pub const RECENT_FILE: &str = "courserimaprecent";

/// A list longer than this is not read (a hostile or broken file); its
/// messages simply lose \Recent.
const MAX_LIST_BYTES: u64 = 64 << 20;

/// Adds `uids` to the folder's list. Call with the folder lock held.
pub(crate) fn record(dir: &Path, uidvalidity: u32, uids: &[u32]) -> Result<()> {
    if uids.is_empty() {
        return Ok(());
    }
    let path = dir.join(RECENT_FILE);
    // Only the header is read: a list that grows with every APPEND to a
    // folder nobody selects (Sent) must not be re-read each time.
    let current = list_header_is(&path, uidvalidity);
    let mut text = String::new();
    if !current {
        text.push_str(&header(uidvalidity));
    }
    for u in uids {
        text.push_str(&format!("{u}\n"));
    }
    let mut f = if current {
        OpenOptions::new().append(true).open(&path)
    } else {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
    }
    .at(&path)?;
    f.write_all(text.as_bytes()).at(&path)
}

fn header(uidvalidity: u32) -> String {
    format!("1 {uidvalidity}\n")
}

/// Whether the list at `path` is one for `uidvalidity`.
fn list_header_is(path: &Path, uidvalidity: u32) -> bool {
    let want = header(uidvalidity);
    let mut got = vec![0u8; want.len()];
    fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut got))
        .is_ok_and(|()| got == want.as_bytes())
}

/// The listed UIDs (sorted, deduplicated), or `None` when there is no
/// list for this UIDVALIDITY.
pub(crate) fn read(dir: &Path, uidvalidity: u32) -> Option<Vec<u32>> {
    let path = dir.join(RECENT_FILE);
    let md = fs::metadata(&path).ok()?;
    if md.len() > MAX_LIST_BYTES {
        return None;
    }
    parse(&fs::read(&path).ok()?, uidvalidity)
}

/// Takes the list: returns its UIDs and removes it. Call with the folder
/// lock held.
pub(crate) fn take(dir: &Path, uidvalidity: u32) -> Result<Vec<u32>> {
    let path = dir.join(RECENT_FILE);
    // Every read-write rescan comes here; most find no list: one stat.
    if fs::symlink_metadata(&path).is_err() {
        return Ok(Vec::new());
    }
    let listed = read(dir, uidvalidity).unwrap_or_default();
    match fs::remove_file(&path) {
        Ok(()) => Ok(listed),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(listed),
        Err(e) => Err(crate::Error::io(&path, e)),
    }
}

fn parse(data: &[u8], uidvalidity: u32) -> Option<Vec<u32>> {
    let text = std::str::from_utf8(data).ok()?;
    // Only lines that end in a newline were written whole.
    let mut lines = text.split_inclusive('\n').filter(|l| l.ends_with('\n'));
    if lines.next()? != header(uidvalidity) {
        return None;
    }
    let mut uids: Vec<u32> = lines
        .filter_map(|l| l.trim_end().parse().ok())
        .filter(|&u| u > 0)
        .collect();
    uids.sort_unstable();
    uids.dedup();
    Some(uids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_kept_per_uidvalidity_and_taken_once() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(read(d.path(), 7), None);
        record(d.path(), 7, &[5, 3]).unwrap();
        record(d.path(), 7, &[9]).unwrap();
        assert_eq!(read(d.path(), 7), Some(vec![3, 5, 9]));
        assert_eq!(read(d.path(), 8), None, "another UIDVALIDITY");
        assert_eq!(take(d.path(), 7).unwrap(), vec![3, 5, 9]);
        assert_eq!(take(d.path(), 7).unwrap(), Vec::<u32>::new());
        // A stale list is replaced, not appended to.
        record(d.path(), 8, &[1]).unwrap();
        record(d.path(), 9, &[2]).unwrap();
        assert_eq!(read(d.path(), 9), Some(vec![2]));
    }

    #[test]
    fn damaged_lists_lose_only_what_is_damaged() {
        assert_eq!(parse(b"1 7\n4\nx\n0\n12", 7), Some(vec![4]));
        assert_eq!(parse(b"1 7", 7), None, "header cut short");
        assert_eq!(parse(b"\xff\n", 7), None);
        assert_eq!(parse(b"", 7), None);
    }
}
