//! Courier's authlib rc files (`authmysqlrc`, `authpgsqlrc`,
//! `authsqliterc`, `authldaprc`; spec authlib.md §9), read the way
//! Courier's authlib reads them and turned into Courser's backend
//! settings ([`sql_config`], [`ldap_config`]), so that a site moving
//! from Courier can point a backend at the file it already has.
//!
//! # Syntax
//!
//! As authlib parses it:
//!
//! * one setting per line, `NAME<whitespace>value`; leading and trailing
//!   whitespace (C's `isspace`) is dropped; a name alone has the empty
//!   value;
//! * blank lines, and lines whose first non-blank character is `#`, are
//!   comments; a `#` later in a line is part of the value;
//! * a value ending in `\` goes on: the backslash becomes a space and the
//!   next line, trimmed, is appended (it may end in `\` again). A blank
//!   line ends the value; a continuation line is never a comment;
//! * when a name repeats, the first occurrence counts.
//!
//! Courier also refuses a file without a line starting `##NAME: MARKER:`
//! (its "forgot to run sysconftool" check, which exists so that its
//! installer's upgrade tool can merge new settings into the file).
//! Courser accepts such a file: the marker says nothing about the
//! settings, and a file written by hand for Courser need not carry it.
//!
//! # Conversion
//!
//! The conversions mirror what Courier's modules do with the values:
//! its defaults for absent keys (which differ from the defaults of
//! Courser's TOML keys in places), its refusals as errors naming the key,
//! and keys Courser has no use for as warnings for the log. An empty value
//! counts as absent, except where Courier only asks that a key be present.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[cfg(feature = "ldap")]
mod ldap;
#[cfg(feature = "sql")]
mod sql;

#[cfg(feature = "ldap")]
pub use ldap::{ldap_config, IdFiles};
#[cfg(feature = "sql")]
pub use sql::sql_config;

/// Why an rc file could not be read or converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RcError {
    /// The file could not be read (or is not UTF-8 text).
    #[error("{path}: {message}", path = path.display())]
    Read {
        /// The rc file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A setting is missing or unusable.
    #[error("{key}: {message}")]
    Key {
        /// The rc file's name for the setting (`MYSQL_PORT`).
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// The file as a whole does not fit (no SQL flavour, or several).
    #[error("{0}")]
    File(String),
}

impl RcError {
    fn key(key: &str, message: impl Into<String>) -> Self {
        RcError::Key {
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

/// A converted rc file: the settings, and what the log should say about
/// keys that Courser ignores or reads differently from Courier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported<T> {
    /// The backend settings.
    pub config: T,
    /// One line per remark, each starting with the key concerned.
    pub warnings: Vec<String>,
}

/// The settings of one rc file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RcFile {
    entries: HashMap<String, String>,
    /// The file's folder: relative paths in the file are relative to it.
    dir: Option<PathBuf>,
}

/// C's `isspace` in the C locale (Rust's ASCII whitespace lacks `\v`).
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

impl RcFile {
    /// Parses rc text (see the module documentation).
    pub fn parse(text: &str) -> RcFile {
        let mut entries = HashMap::new();
        let mut lines = text.split('\n');
        while let Some(line) = lines.next() {
            let rest = line.trim_start_matches(is_space);
            if rest.is_empty() || rest.starts_with('#') {
                continue;
            }
            let (name, mut part) = rest.split_at(rest.find(is_space).unwrap_or(rest.len()));
            let mut value = String::new();
            loop {
                let piece = part.trim_matches(is_space);
                if piece.is_empty() {
                    break;
                }
                match piece.strip_suffix('\\') {
                    Some(head) => {
                        value.push_str(head);
                        value.push(' ');
                        part = lines.next().unwrap_or("");
                    }
                    None => {
                        value.push_str(piece);
                        break;
                    }
                }
            }
            // Courier keeps the first: it inserts into a map.
            entries.entry(name.to_owned()).or_insert(value);
        }
        RcFile { entries, dir: None }
    }

    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<RcFile, RcError> {
        let read_error = |message: String| RcError::Read {
            path: path.to_owned(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| read_error(e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|_| read_error("not UTF-8 text".into()))?;
        let mut rc = RcFile::parse(&text);
        rc.dir = path.parent().map(Path::to_owned);
        Ok(rc)
    }

    /// The value of `name` as written (possibly empty), if the file sets it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries.get(name).map(String::as_str)
    }

    /// The value of `name` unless absent or empty.
    fn value(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// `value` as an owned string.
    fn string(&self, name: &str) -> Option<String> {
        self.value(name).map(str::to_owned)
    }

    /// A setting Courier refuses to do without (present, maybe empty).
    fn required(&self, name: &str) -> Result<&str, RcError> {
        self.get(name)
            .ok_or_else(|| RcError::key(name, "missing (Courier requires it)"))
    }

    /// A number as Courier reads it (C++ stream extraction: leading digits,
    /// anything after them ignored, no digits read as 0); absent and empty
    /// are `default`. A value without digits is noted in `warnings`.
    fn number(&self, name: &str, default: i64, warnings: &mut Vec<String>) -> i64 {
        let Some(v) = self.value(name) else {
            return default;
        };
        leading_number(v).unwrap_or_else(|| {
            warnings.push(format!(
                "{name}: {v:?} is not a number; read as 0, as Courier does"
            ));
            0
        })
    }

    /// `number` as an on/off switch (Courier: non-zero is on).
    #[cfg(feature = "ldap")]
    fn flag(&self, name: &str, warnings: &mut Vec<String>) -> bool {
        self.number(name, 0, warnings) != 0
    }

    /// A relative path made relative to the file's folder.
    #[cfg(feature = "sql")]
    fn path(&self, value: &str) -> PathBuf {
        match &self.dir {
            Some(dir) if Path::new(value).is_relative() => dir.join(value),
            _ => PathBuf::from(value),
        }
    }

    /// Warnings for keys set (non-empty) that no conversion reads.
    fn unknown(&self, known: &dyn Fn(&str) -> bool, warnings: &mut Vec<String>) {
        let mut names: Vec<&str> = self
            .entries
            .iter()
            .filter(|(k, v)| !v.is_empty() && !known(k))
            .map(|(k, _)| k.as_str())
            .collect();
        names.sort_unstable();
        warnings.extend(
            names
                .into_iter()
                .map(|k| format!("{k}: unknown setting, ignored")),
        );
    }

    /// `warnings` gets a line for each of `names` that is set, saying why
    /// it is ignored.
    fn ignored(&self, names: &[&str], why: &str, warnings: &mut Vec<String>) {
        for name in names {
            if self.value(name).is_some() {
                warnings.push(format!("{name}: ignored: {why}"));
            }
        }
    }
}

/// The integer at the start of `v` (sign and digits), as C++'s `>>` reads
/// it (and C's `atoi`, which Courier's servers use for their switches);
/// `None` when there are no digits or it does not fit.
pub fn leading_number(v: &str) -> Option<i64> {
    let v = v.trim_start_matches(is_space);
    let (negative, digits) = match v.as_bytes().first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, v),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    let n: i64 = digits[..end].parse().ok()?;
    Some(if negative { -n } else { n })
}

/// Percent-encodes all but RFC 3986's unreserved characters, for URL
/// user names, passwords, paths and query values.
#[cfg(feature = "sql")]
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_comments_and_whitespace() {
        let rc = RcFile::parse(
            "# comment\n   # indented comment\n\n \t \nA\tone\n  B   two words  \r\n\
             C value # not a comment\nD\nE\x0bvt\n#F hidden\nG\t\t#starts with hash\n",
        );
        assert_eq!(rc.get("A"), Some("one"));
        assert_eq!(rc.get("B"), Some("two words"));
        assert_eq!(rc.get("C"), Some("value # not a comment"));
        assert_eq!(rc.get("D"), Some(""));
        assert_eq!(rc.value("D"), None);
        assert_eq!(rc.get("E"), Some("vt"));
        assert_eq!(rc.get("#F"), None);
        assert_eq!(rc.get("F"), None);
        assert_eq!(rc.get("G"), Some("#starts with hash"));
        assert_eq!(rc.entries.len(), 6);
    }

    #[test]
    fn continuation_lines() {
        let rc = RcFile::parse(
            "Q SELECT a, \\\n\t  b \\\n  # not a comment here \\\n   FROM t  \nNEXT 1\n\
             X ends \\\n\nY after blank\nZ last \\",
        );
        // The backslash becomes a space after the text before it.
        assert_eq!(
            rc.get("Q"),
            Some("SELECT a,  b  # not a comment here  FROM t")
        );
        assert_eq!(rc.get("NEXT"), Some("1"));
        // A blank line ends the value; so does the end of the file.
        assert_eq!(rc.get("X"), Some("ends  "));
        assert_eq!(rc.get("Y"), Some("after blank"));
        assert_eq!(rc.get("Z"), Some("last  "));
        // Continued names are not names.
        let rc = RcFile::parse("A x\\\nB y\n");
        assert_eq!(rc.get("A"), Some("x B y"));
        assert_eq!(rc.get("B"), None);
    }

    #[test]
    fn first_occurrence_wins_and_marker_is_optional() {
        let rc = RcFile::parse("A first\nA second\nB \\\n one\nB two\n");
        assert_eq!(rc.get("A"), Some("first"));
        assert_eq!(rc.get("B"), Some(" one"));
        // With Courier's marker the same settings result.
        let with = RcFile::parse("##NAME: LOCATION:0\nA first\n##NAME: MARKER:0\n");
        let without = RcFile::parse("A first\n");
        assert_eq!(with, without);
    }

    #[test]
    #[cfg(feature = "sql")]
    fn load_records_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("authsqliterc");
        std::fs::write(&file, "SQLITE_DATABASE users.db\n").unwrap();
        let rc = RcFile::load(&file).unwrap();
        assert_eq!(rc.path("users.db"), dir.path().join("users.db"));
        assert_eq!(rc.path("/abs.db"), Path::new("/abs.db"));
        let missing = RcFile::load(&dir.path().join("nope")).unwrap_err();
        assert!(missing.to_string().contains("nope"), "{missing}");
        std::fs::write(&file, b"A \xff\n").unwrap();
        let latin1 = RcFile::load(&file).unwrap_err();
        assert!(latin1.to_string().contains("UTF-8"), "{latin1}");
    }

    #[test]
    fn numbers_as_courier_reads_them() {
        assert_eq!(leading_number("42"), Some(42));
        assert_eq!(leading_number("+7x"), Some(7));
        assert_eq!(leading_number("-3"), Some(-3));
        assert_eq!(leading_number("yes"), None);
        assert_eq!(leading_number(""), None);
        assert_eq!(leading_number("99999999999999999999"), None);
        let rc = RcFile::parse("N 12s\nWORD yes\nEMPTY\n");
        let mut w = Vec::new();
        assert_eq!(rc.number("N", 5, &mut w), 12);
        assert_eq!(rc.number("EMPTY", 5, &mut w), 5);
        assert_eq!(rc.number("ABSENT", 5, &mut w), 5);
        assert!(w.is_empty());
        assert_eq!(rc.number("WORD", 5, &mut w), 0);
        assert_eq!(w.len(), 1);
        assert!(w[0].starts_with("WORD:"), "{w:?}");
    }

    #[test]
    #[cfg(feature = "ldap")]
    fn switches() {
        let rc = RcFile::parse("ON 1\nOFF 0\nEMPTY\n");
        let mut w = Vec::new();
        assert!(rc.flag("ON", &mut w));
        assert!(!rc.flag("OFF", &mut w));
        assert!(!rc.flag("EMPTY", &mut w));
        assert!(!rc.flag("ABSENT", &mut w));
        assert!(w.is_empty());
    }

    #[test]
    #[cfg(feature = "sql")]
    fn percent_encoding() {
        assert_eq!(percent_encode("a-Z_0.~"), "a-Z_0.~");
        assert_eq!(
            percent_encode("p@ss:w/rd%?#+ é"),
            "p%40ss%3Aw%2Frd%25%3F%23%2B%20%C3%A9"
        );
    }
}
