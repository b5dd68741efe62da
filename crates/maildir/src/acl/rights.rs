//! Access rights: the set of right letters of one ACL entry, kept the way
//! Courier keeps it (sorted by byte value, no duplicates).

use std::fmt;

use crate::error::{Error, Result};

/// `a`: administer (change the ACL).
pub const ADMINISTER: u8 = b'a';
/// `c`: create subfolders.
pub const CREATE: u8 = b'c';
/// `e`: expunge.
pub const EXPUNGE: u8 = b'e';
/// `i`: insert (APPEND, COPY into).
pub const INSERT: u8 = b'i';
/// `l`: lookup (the folder is visible).
pub const LOOKUP: u8 = b'l';
/// `p`: post (kept as given; Courier grants nothing for it).
pub const POST: u8 = b'p';
/// `r`: read (SELECT, EXAMINE, STATUS).
pub const READ: u8 = b'r';
/// `s`: change `\Seen`.
pub const SEEN: u8 = b's';
/// `t`: change `\Deleted`.
pub const DELETE_MESSAGES: u8 = b't';
/// `w`: change other flags and keywords.
pub const WRITE: u8 = b'w';
/// `x`: delete the folder.
pub const DELETE_FOLDER: u8 = b'x';
/// `d`: RFC 2086's delete; stored as given, IMAP SETACL expands it to `xte`.
pub const LEGACY_DELETE: u8 = b'd';

/// Every right Courier grants (`aceilrstwx`).
pub const ALL: &str = "aceilrstwx";

/// A set of rights. Any byte above the space is a right (Courier stores
/// letters it does not know as given); the set is sorted by byte value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rights(Vec<u8>);

/// True for a byte that may not appear in a right or an identifier.
pub(crate) fn is_forbidden(b: u8) -> bool {
    b <= b' '
}

impl Rights {
    /// No rights.
    pub fn empty() -> Rights {
        Rights(Vec::new())
    }

    /// All rights ([`ALL`]).
    pub fn all() -> Rights {
        Rights(ALL.as_bytes().to_vec())
    }

    /// Parses rights letters in any order, with duplicates. A control
    /// character or a space makes the whole string invalid, as in Courier.
    pub fn parse(s: impl AsRef<[u8]>) -> Result<Rights> {
        let s = s.as_ref();
        if s.iter().any(|&b| is_forbidden(b)) {
            return Err(Error::InvalidAcl(
                "rights contain a space or control character",
            ));
        }
        let mut v = s.to_vec();
        v.sort_unstable();
        v.dedup();
        Ok(Rights(v))
    }

    /// Parses rights given to IMAP SETACL: like [`Rights::parse`], with
    /// RFC 2086's `d` standing for `xte`.
    pub fn parse_imap(s: impl AsRef<[u8]>) -> Result<Rights> {
        let s = s.as_ref();
        if !s.contains(&LEGACY_DELETE) {
            return Rights::parse(s);
        }
        let mut v: Vec<u8> = s.iter().copied().filter(|&b| b != LEGACY_DELETE).collect();
        v.extend_from_slice(&[DELETE_FOLDER, DELETE_MESSAGES, EXPUNGE]);
        Rights::parse(v)
    }

    /// The letters, sorted.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// True if no right is held.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True if `right` is held.
    pub fn has(&self, right: u8) -> bool {
        self.0.binary_search(&right).is_ok()
    }

    /// True if every right of `other` is held.
    pub fn has_all(&self, other: &Rights) -> bool {
        other.0.iter().all(|&b| self.has(b))
    }

    /// Adds the rights of `other`.
    pub fn add(&mut self, other: &Rights) {
        self.0.extend_from_slice(&other.0);
        self.0.sort_unstable();
        self.0.dedup();
    }

    /// Removes every byte of `letters` (not validated: removing a byte
    /// that cannot be held is harmless).
    pub fn remove(&mut self, letters: &[u8]) {
        self.0.retain(|b| !letters.contains(b));
    }

    /// Whether these rights allow seeing the folder's rights (MYRIGHTS,
    /// LIST of rights): any of `l r i c x e a`.
    pub fn can_list_rights(&self) -> bool {
        [
            LOOKUP,
            READ,
            INSERT,
            CREATE,
            DELETE_FOLDER,
            EXPUNGE,
            ADMINISTER,
        ]
        .iter()
        .any(|&b| self.has(b))
    }
}

/// What `identifier` must keep, as Courier lists it when a change would
/// take it below that (IMAP's RIGHTS-INFO, SMAP's ACLMINIMUM): the
/// required rights, then each optional one.
pub fn courier_minimum(identifier: &str) -> &'static str {
    match identifier {
        "administrators" | "group=administrators" => "aceilrstwx",
        "-administrators" | "-group=administrators" => "\"\"",
        i if i.starts_with('-') => "\"\" c e i p r s t w x",
        _ => "al c e i p r s t w x",
    }
}

impl fmt::Display for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_sorts_and_drops_duplicates() {
        assert_eq!(Rights::parse("wrlrZz!").unwrap().as_bytes(), b"!Zlrwz");
        assert!(Rights::parse("").unwrap().is_empty());
    }

    #[test]
    fn bytes_above_ascii_sort_after_it() {
        assert_eq!(Rights::parse("\u{e9}a").unwrap().as_bytes(), b"a\xa9\xc3");
    }

    #[test]
    fn space_or_control_character_is_refused() {
        for bad in ["r w", "rw\t", "r\r", " "] {
            assert!(
                matches!(Rights::parse(bad), Err(Error::InvalidAcl(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn add_and_remove() {
        let mut r = Rights::parse("lr").unwrap();
        r.add(&Rights::parse("wl").unwrap());
        assert_eq!(r.to_string(), "lrw");
        r.remove(b"l q");
        assert_eq!(r.to_string(), "rw");
        assert!(r.has(READ) && !r.has(LOOKUP));
    }

    #[test]
    fn imap_d_stands_for_xte() {
        assert_eq!(Rights::parse_imap("ld").unwrap().to_string(), "eltx");
        assert_eq!(Rights::parse("ld").unwrap().to_string(), "dl");
    }

    #[test]
    fn listing_rights_needs_one_of_lricxea() {
        assert!(!Rights::parse("stw").unwrap().can_list_rights());
        assert!(Rights::parse("e").unwrap().can_list_rights());
    }
}
