//! `courierimapuiddb`: the per-folder UID map (spec §4).
//!
//! ```text
//! 1 <uidvalidity> <nextuid>
//! <uid> <basename>
//! ```

use foldhash::{HashSet, HashSetExt};
use std::time::{SystemTime, UNIX_EPOCH};

/// File name of the UID map inside a folder directory.
pub const UIDDB_FILE: &str = "courierimapuiddb";
/// Courier's "IMAP epoch": UIDVALIDITY = time − this.
pub const IMAP_EPOCH: u64 = 1_000_000_000;

/// The parsed contents of a `courierimapuiddb`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UidDb {
    /// UIDVALIDITY of the folder.
    pub uidvalidity: u32,
    /// Next UID to assign.
    pub nextuid: u32,
    /// `(uid, base name)` pairs, as read (sorted by UID when written).
    pub entries: Vec<(u32, String)>,
}

/// UIDVALIDITY for a moment: seconds since the Unix epoch minus
/// [`IMAP_EPOCH`], clamped into `1..=u32::MAX`.
pub fn uidvalidity_for(t: SystemTime) -> u32 {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let v = secs.saturating_sub(IMAP_EPOCH);
    u32::try_from(v).unwrap_or(u32::MAX).max(1)
}

fn leading_u64(s: &str) -> Option<u64> {
    let s = s.trim_start();
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if end == 0 {
        return None;
    }
    s[..end].parse().ok()
}

impl UidDb {
    /// Parses a db. Returns `None` when the header is unusable (missing,
    /// version ≠ 1, non-numeric): the caller then starts a fresh db with a
    /// new UIDVALIDITY, exactly as Courier does. Bad entry lines are
    /// skipped; an entry whose UID repeats an earlier one or whose base name
    /// is a duplicate is dropped (the file is then treated as new and gets a
    /// fresh UID, so no UID is ever used twice); `nextuid` is raised above
    /// every UID present.
    pub fn parse(data: &[u8]) -> Option<UidDb> {
        let text = String::from_utf8_lossy(data);
        let mut lines = text.split('\n');
        let header = lines.next()?;
        let mut h = header.split_ascii_whitespace();
        let version: i64 = h.next()?.parse().ok()?;
        if version != 1 {
            return None;
        }
        let uidv = u32::try_from(leading_u64(h.next()?)?).ok()?;
        let nextuid = leading_u64(h.next()?)?;
        if uidv == 0 {
            return None;
        }
        let lines_guess = data.len() / 48;
        let mut entries = Vec::with_capacity(lines_guess);
        let mut seen_uid = HashSet::with_capacity(lines_guess);
        let mut seen_name: HashSet<&str> = HashSet::with_capacity(lines_guess);
        let mut max_uid: u64 = 0;
        for line in lines {
            let Some((u, name)) = line.split_once(' ') else {
                continue;
            };
            let Some(uid) = leading_u64(u) else { continue };
            let Ok(uid) = u32::try_from(uid) else {
                continue;
            };
            if uid == 0 || name.is_empty() || name.contains('/') || name.contains('\0') {
                continue;
            }
            let name = crate::flags::base_name(name);
            max_uid = max_uid.max(u64::from(uid));
            // `7 :2,S` has an empty base name: it would be written back as
            // `7 ` and lost on the next read. Skip it (its UID still counts
            // for nextuid, so it is never given out again).
            if name.is_empty() {
                continue;
            }
            if !seen_uid.insert(uid) || !seen_name.insert(name) {
                continue;
            }
            entries.push((uid, name.to_string()));
        }
        let nextuid = nextuid.max(max_uid + 1).max(1);
        let nextuid = u32::try_from(nextuid).unwrap_or(u32::MAX);
        Some(UidDb {
            uidvalidity: uidv,
            nextuid,
            entries,
        })
    }

    /// Serializes in Courier's format, entries sorted by UID.
    pub fn serialize(&self) -> Vec<u8> {
        let mut entries: Vec<(u32, &str)> = self
            .entries
            .iter()
            .map(|(uid, name)| (*uid, name.as_str()))
            .collect();
        entries.sort_by_key(|e| e.0);
        serialize(self.uidvalidity, self.nextuid, &entries)
    }
}

/// The file's text for these `(uid, base name)` lines, in the order
/// given (UID order, as Courier writes it).
pub(crate) fn serialize(uidvalidity: u32, nextuid: u32, entries: &[(u32, &str)]) -> Vec<u8> {
    use std::io::Write;
    let names: usize = entries.iter().map(|e| e.1.len()).sum();
    let mut out = Vec::with_capacity(32 + names + entries.len() * 12);
    // Writing into a Vec cannot fail.
    let _ = writeln!(out, "1 {uidvalidity} {nextuid}");
    for (uid, name) in entries {
        let _ = writeln!(out, "{uid} {name}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let db = UidDb {
            uidvalidity: 700000000,
            nextuid: 4,
            entries: vec![(3, "c".into()), (1, "a".into())],
        };
        let s = db.serialize();
        assert_eq!(s, b"1 700000000 4\n1 a\n3 c\n");
        let p = UidDb::parse(&s).unwrap();
        assert_eq!(p.nextuid, 4);
        assert_eq!(p.entries.len(), 2);
    }

    #[test]
    fn corrupt() {
        assert!(UidDb::parse(b"").is_none());
        assert!(UidDb::parse(b"2 5 6\n").is_none());
        assert!(UidDb::parse(b"1 x 6\n").is_none());
        let p = UidDb::parse(b"1 5 2\n7 a\n7 b\nzz c\n3 a:2,S\n9 ").unwrap();
        assert_eq!(p.entries, vec![(7, "a".to_string())]);
        assert_eq!(p.nextuid, 8);
    }

    /// Found by the fuzz corpus (`maildir_uiddb/info_only_name`): an entry
    /// whose name is only info (`:2,S`) has an empty base name; it was kept
    /// and then written back as `10 `, which the next read dropped.
    #[test]
    fn empty_base_name_is_skipped() {
        let p = UidDb::parse(b"1 5 1\n10 :2,S\n11 b:2,\n").unwrap();
        assert_eq!(p.entries, vec![(11, "b".to_string())]);
        assert_eq!(p.nextuid, 12);
        assert_eq!(UidDb::parse(&p.serialize()).unwrap(), p);
    }
}
