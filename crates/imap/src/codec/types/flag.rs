//! Message flags (RFC 3501 §2.3.2, §9 `flag`, `flag-keyword`, `flag-extension`).

use std::fmt;

/// A message flag: a system flag, a keyword, or an unknown `\`-extension.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    /// `\Seen`
    Seen,
    /// `\Answered`
    Answered,
    /// `\Flagged`
    Flagged,
    /// `\Deleted`
    Deleted,
    /// `\Draft`
    Draft,
    /// `\Recent` — only meaningful in responses; clients may not STORE it.
    Recent,
    /// A keyword (an atom without `\`), case preserved.
    Keyword(String),
    /// Another `\atom` (RFC 3501 §9 `flag-extension`), without the `\`.
    Extension(String),
}

impl Flag {
    /// Parse one flag word (case-insensitive for system flags). Returns
    /// `None` for `\*` and for text that is not a valid flag.
    pub fn from_atom(s: &str) -> Option<Flag> {
        if let Some(rest) = s.strip_prefix('\\') {
            if rest.is_empty() || !rest.bytes().all(crate::codec::parse::is_atom_char) {
                return None;
            }
            Some(match rest.to_ascii_lowercase().as_str() {
                "seen" => Flag::Seen,
                "answered" => Flag::Answered,
                "flagged" => Flag::Flagged,
                "deleted" => Flag::Deleted,
                "draft" => Flag::Draft,
                "recent" => Flag::Recent,
                _ => Flag::Extension(rest.to_string()),
            })
        } else if !s.is_empty() && s.bytes().all(crate::codec::parse::is_atom_char) {
            Some(Flag::Keyword(s.to_string()))
        } else {
            None
        }
    }

    /// Whether this is one of the RFC 3501 system flags.
    pub fn is_system(&self) -> bool {
        !matches!(self, Flag::Keyword(_) | Flag::Extension(_))
    }
}

/// Wire form: `\Seen`, `$Forwarded`, ...
impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flag::Seen => f.write_str("\\Seen"),
            Flag::Answered => f.write_str("\\Answered"),
            Flag::Flagged => f.write_str("\\Flagged"),
            Flag::Deleted => f.write_str("\\Deleted"),
            Flag::Draft => f.write_str("\\Draft"),
            Flag::Recent => f.write_str("\\Recent"),
            Flag::Keyword(k) => f.write_str(k),
            Flag::Extension(e) => write!(f, "\\{e}"),
        }
    }
}

/// STORE operation (RFC 3501 §6.4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreMode {
    /// `FLAGS`: replace.
    Replace,
    /// `+FLAGS`: add.
    Add,
    /// `-FLAGS`: remove.
    Remove,
}
