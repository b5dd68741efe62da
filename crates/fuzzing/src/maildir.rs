//! Maildir targets: Courier's on-disk files (`courierimapuiddb`,
//! `courierimapkeywords/:list`, `maildirsize`, `courierimapacl`) and the
//! name mappings (folder directory names, message file names).

use courser_maildir::acl::{AclList, Rights};
use courser_maildir::filename::size_tag;
use courser_maildir::flags::{base_name, flags_of, merge_info, split_info};
use courser_maildir::keywords::{KeywordList, KeywordMap};
use courser_maildir::names::{canonical, dir_name, name_from_dir};
use courser_maildir::quota::parse_maildirsize;
use courser_maildir::uiddb::UidDb;
use courser_maildir::{Flags, QuotaLimits};

/// `courierimapuiddb` ([`UidDb::parse`]).
///
/// Checks: no panic; a parsed db has a non-zero UIDVALIDITY, unique
/// non-zero UIDs below `nextuid` and unique, non-empty base names; and
/// serialize→parse gives the same db (entries sorted by UID).
pub fn uiddb(data: &[u8]) {
    let Some(db) = UidDb::parse(data) else { return };
    assert_ne!(db.uidvalidity, 0);
    let mut uids = std::collections::HashSet::new();
    let mut names = std::collections::HashSet::new();
    for (uid, name) in &db.entries {
        assert!(*uid != 0 && *uid < db.nextuid || db.nextuid == u32::MAX);
        assert!(uids.insert(*uid), "duplicate UID {uid}");
        assert!(!name.is_empty(), "empty base name for UID {uid}");
        assert!(names.insert(name.as_str()), "duplicate base name");
        assert_eq!(base_name(name), name);
    }
    let again = UidDb::parse(&db.serialize()).expect("a serialized db parses");
    let mut sorted = db.clone();
    sorted.entries.sort_by_key(|e| e.0);
    assert_eq!(again, sorted, "uiddb serialize→parse changed the db");
}

/// `courierimapkeywords/:list` ([`KeywordList::parse`]).
///
/// Checks: no panic; indices point into the keyword table; and the
/// keyword sets survive serialize→parse (messages without keywords are
/// left out when writing).
pub fn keywords(data: &[u8]) {
    let list = KeywordList::parse(data);
    for (_, idx) in &list.entries {
        assert!(idx.iter().all(|i| *i < list.table.len()));
    }
    let map = list.to_map();
    let expected: KeywordMap = map
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    match KeywordList::serialize(&map) {
        None => assert!(expected.is_empty()),
        Some(bytes) => {
            let again = KeywordList::parse(&bytes);
            assert!(!again.had_garbage, "serialized :list has garbage");
            assert_eq!(
                again.to_map(),
                expected,
                "keywords serialize→parse changed sets"
            );
        }
    }
}

/// `maildirsize` ([`parse_maildirsize`]) and quota specifications
/// ([`QuotaLimits::parse`]).
///
/// Checks: no panic (sums saturate); the data line count is bounded by
/// the number of lines; negative totals force a recalculation; the usage
/// percentage is computable; and the spec line parses to the same limits
/// on its own.
pub fn quota(data: &[u8]) {
    let (usage, lines, force) = parse_maildirsize(data);
    assert!(lines <= data.iter().filter(|&&b| b == b'\n').count());
    if usage.bytes < 0 || usage.count < 0 {
        assert!(force, "negative totals must force a recalculation");
    }
    let _ = usage.percent();
    assert_eq!(QuotaLimits::parse(&usage.spec), usage.limits);
    let limits = QuotaLimits::parse(&String::from_utf8_lossy(data));
    assert_eq!(
        limits.is_unlimited(),
        limits.bytes.is_none() && limits.count.is_none()
    );
    assert_ne!(limits.bytes, Some(0));
    assert_ne!(limits.count, Some(0));
}

/// Folder and message file names.
///
/// Checks, on the input read as lossy UTF-8: a valid folder name maps to
/// a directory name that maps back to its canonical form; for message file names, [`merge_info`] keeps the
/// base name and sets exactly the requested flags, and [`size_tag`] and
/// [`split_info`] do not panic.
pub fn names(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(dir) = dir_name(&text) {
        let canon = canonical(&text).expect("a name with a directory is canonical");
        // INBOX is the main maildir itself: directory name "".
        let back = if dir.is_empty() {
            Some("INBOX".to_owned())
        } else {
            name_from_dir(&dir)
        };
        assert_eq!(back, Some(canon), "folder name does not round-trip");
    }
    let _ = size_tag(&text);
    let (base, info) = split_info(&text);
    assert!(base.len() + info.map_or(0, |i| i.len() + 1) == text.len());
    let flags = Flags::from_bits(data.first().copied().unwrap_or(0));
    let merged = merge_info(&text, flags);
    assert_eq!(base_name(&merged), base_name(&text));
    assert_eq!(flags_of(&merged), flags);
}

/// `courierimapacl` ([`AclList::parse`]) and the rights computation.
///
/// Checks: no panic; the list is normalised (administrators hold every
/// right, no negative administrators entry); written and read again it
/// is the same list when no line is longer than Courier's read buffer;
/// a login holding every identifier of the list gets rights within
/// those the list names (plus `a` for the owner); the minimum-rights
/// check does not panic.
pub fn acl(data: &[u8]) {
    let list = AclList::parse(data);
    let admin = list
        .get("group=administrators")
        .or_else(|| list.get("administrators"))
        .expect("an administrators entry");
    assert!(admin.has_all(&Rights::all()));
    assert!(list.get("-administrators").is_none());
    assert!(list.get("-group=administrators").is_none());
    let text = list.to_bytes();
    if text.split(|&b| b == b'\n').all(|l| l.len() < 8000) {
        assert_eq!(AclList::parse(&text), list, "write→read changed the list");
    }
    let mut named = Rights::parse("a").expect("a right");
    for e in list.entries() {
        named.add(e.rights());
    }
    let everything = list.compute(|_| true, true);
    assert!(
        named.has_all(&everything),
        "{everything} not within {named}"
    );
    let _ = list.check_minimum(Some(b"user=me"));
}
