//! System flags and their maildir info letters (`:2,DFRST`).

use std::fmt;

/// The IMAP system flags that maildir stores as info letters.
///
/// `\Recent` is not a stored flag: see [`crate::Folder::is_recent`].
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags(u8);

impl Flags {
    /// No flags.
    pub const EMPTY: Flags = Flags(0);
    /// `\Seen` (letter `S`).
    pub const SEEN: Flags = Flags(1);
    /// `\Answered` (letter `R`).
    pub const ANSWERED: Flags = Flags(2);
    /// `\Flagged` (letter `F`).
    pub const FLAGGED: Flags = Flags(4);
    /// `\Deleted` (letter `T`).
    pub const DELETED: Flags = Flags(8);
    /// `\Draft` (letter `D`).
    pub const DRAFT: Flags = Flags(16);
    /// All five flags.
    pub const ALL: Flags = Flags(31);

    /// Letter table in ASCII order, as written in file names.
    const LETTERS: [(u8, Flags); 5] = [
        (b'D', Flags::DRAFT),
        (b'F', Flags::FLAGGED),
        (b'R', Flags::ANSWERED),
        (b'S', Flags::SEEN),
        (b'T', Flags::DELETED),
    ];

    /// The raw bit set.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Builds flags from raw bits (unknown bits dropped).
    pub fn from_bits(bits: u8) -> Flags {
        Flags(bits & Flags::ALL.0)
    }

    /// True if every flag in `other` is set.
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Sets the flags in `other`.
    pub fn insert(&mut self, other: Flags) {
        self.0 |= other.0;
    }

    /// Clears the flags in `other`.
    pub fn remove(&mut self, other: Flags) {
        self.0 &= !other.0;
    }

    /// The union of both sets.
    pub fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    /// The flags of `self` not in `other`.
    pub fn difference(self, other: Flags) -> Flags {
        Flags(self.0 & !other.0)
    }

    /// True if no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The flag a maildir info letter stands for, if it is one of `DFRST`.
    pub fn from_letter(c: u8) -> Option<Flags> {
        Flags::LETTERS
            .iter()
            .find(|(l, _)| *l == c)
            .map(|(_, f)| *f)
    }

    /// Parses the letters after `:2,`; letters that are not system flags are
    /// ignored here (they are kept in the file name, see [`merge_info`]).
    pub fn from_letters(s: &str) -> Flags {
        let mut f = Flags::EMPTY;
        for b in s.bytes() {
            if let Some(x) = Flags::from_letter(b) {
                f.insert(x);
            }
        }
        f
    }

    /// The letters for these flags, in ASCII order.
    pub fn to_letters(self) -> String {
        Flags::LETTERS
            .iter()
            .filter(|(_, f)| self.contains(*f))
            .map(|(l, _)| char::from(*l))
            .collect()
    }

    /// The IMAP names of the set flags (`\Seen` ...), in letter order.
    pub fn imap_names(self) -> Vec<&'static str> {
        let mut v = Vec::new();
        for (f, n) in [
            (Flags::DRAFT, "\\Draft"),
            (Flags::FLAGGED, "\\Flagged"),
            (Flags::ANSWERED, "\\Answered"),
            (Flags::SEEN, "\\Seen"),
            (Flags::DELETED, "\\Deleted"),
        ] {
            if self.contains(f) {
                v.push(n);
            }
        }
        v
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flags({})", self.to_letters())
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        self.union(rhs)
    }
}

/// How [`crate::Folder::store`] combines the given flags with the current ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagOp {
    /// `+FLAGS`: add.
    Add,
    /// `-FLAGS`: remove.
    Remove,
    /// `FLAGS`: replace.
    Replace,
}

/// Splits a file name in `cur/` into base name and info (text after the
/// last `:`, e.g. `2,FS`). Names without `:` have no info.
pub fn split_info(file_name: &str) -> (&str, Option<&str>) {
    match file_name.rfind(':') {
        Some(i) => (&file_name[..i], Some(&file_name[i + 1..])),
        None => (file_name, None),
    }
}

/// The base name of a maildir file (everything before the first `:`), as
/// `courierimapuiddb` and `courierimapkeywords` key messages.
pub fn base_name(file_name: &str) -> &str {
    // A plain byte loop: names are short, and `str::find` spends more
    // setting up its search than this takes (it showed in profiles of
    // SORT, which asks for every message's base name).
    match file_name.bytes().position(|b| b == b':') {
        Some(i) => &file_name[..i],
        None => file_name,
    }
}

/// The system flags encoded in a file name (`base:2,FS`). Info that is not
/// version 2 carries no flags.
pub fn flags_of(file_name: &str) -> Flags {
    match split_info(file_name).1 {
        Some(info) => match info.strip_prefix("2,") {
            Some(letters) => Flags::from_letters(letters),
            None => Flags::EMPTY,
        },
        None => Flags::EMPTY,
    }
}

/// Builds the new file name for `file_name` with the system flags replaced
/// by `flags`, preserving any other info letters; all letters come out in
/// ASCII order.
pub fn merge_info(file_name: &str, flags: Flags) -> String {
    let base = base_name(file_name);
    let old = match split_info(file_name).1 {
        Some(info) => info.strip_prefix("2,").unwrap_or(""),
        None => "",
    };
    let mut letters: Vec<u8> = old
        .bytes()
        .filter(|b| Flags::from_letter(*b).is_none() && b.is_ascii_graphic() && *b != b':')
        .collect();
    letters.extend(flags.to_letters().bytes());
    letters.sort_unstable();
    letters.dedup();
    let mut s = String::with_capacity(base.len() + 3 + letters.len());
    s.push_str(base);
    s.push_str(":2,");
    s.extend(letters.iter().map(|b| char::from(*b)));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_roundtrip() {
        let f = Flags::SEEN | Flags::DRAFT | Flags::DELETED;
        assert_eq!(f.to_letters(), "DST");
        assert_eq!(Flags::from_letters("TSD"), f);
    }

    #[test]
    fn merge_keeps_unknown_letters() {
        assert_eq!(merge_info("123.x:2,aS", Flags::FLAGGED), "123.x:2,Fa");
        assert_eq!(merge_info("123.x", Flags::SEEN), "123.x:2,S");
        assert_eq!(merge_info("123.x:2,PS", Flags::EMPTY), "123.x:2,P");
        assert_eq!(flags_of("1.x:2,FPS"), Flags::FLAGGED | Flags::SEEN);
        assert_eq!(flags_of("1.x:1,S"), Flags::EMPTY);
    }
}
