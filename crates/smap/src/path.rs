//! Folder paths (spec §3.3): a folder is named by words, top level
//! first, ending at the first empty word — `INBOX`, `INBOX Sent`,
//! `public <group…> <account> <folder…>`.
//!
//! Courier writes each word below `INBOX` into the folder's directory
//! name in its "x-smap-modutf8" form: UTF-8, with control characters and
//! `. / ~ : \` as `\ooo`. The maildir store does the same for the
//! characters an IMAP name may hold (`~ : \`), so a path maps onto the
//! IMAP name `INBOX.w1.w2`. A word with `.` or `/` in it has no IMAP name
//! (the dot is IMAP's separator) and is refused for now.

use crate::words::Words;

/// Where a folder path leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A folder, by its IMAP name: `INBOX …` is the account's own
    /// (`INBOX.a.b`), `public g a …` a virtual shared folder
    /// (`#shared.g.a…`, IMAP's name for the same place).
    Named(String),
    /// `public` alone: the top of the shared folders.
    Public,
}

/// Why a path names no folder. Each reads as Courier's `EINVAL` text,
/// which is what its errors quote for all of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// No words at all.
    #[error("Invalid argument")]
    Empty,
    /// The first word is neither `INBOX` nor `public`.
    #[error("Invalid argument")]
    Top,
    /// A word that is not UTF-8, or holds a character no folder name
    /// may (NUL), or one Courser cannot store yet (`.`, `/`).
    #[error("Invalid argument")]
    Word,
}

/// The name of the public hierarchy's top level.
pub const PUBLIC: &str = "public";

/// IMAP's name for the same hierarchy (with its separator).
pub const SHARED: &str = "#shared.";

/// Reads a path's words up to the first empty word.
pub fn read(words: &mut Words<'_>) -> Result<Vec<String>, PathError> {
    let mut path = Vec::new();
    loop {
        let word = words.next_word();
        if word.is_empty() {
            return Ok(path);
        }
        path.push(String::from_utf8(word).map_err(|_| PathError::Word)?);
    }
}

/// The folder `path` names.
pub fn place(path: &[String]) -> Result<Place, PathError> {
    let (top, rest) = path.split_first().ok_or(PathError::Empty)?;
    let mut name = match top.as_str() {
        "INBOX" => String::from("INBOX"),
        PUBLIC if rest.is_empty() => return Ok(Place::Public),
        PUBLIC => String::from(SHARED),
        _ => return Err(PathError::Top),
    };
    for (i, word) in rest.iter().enumerate() {
        if word.contains(['.', '/', '\0']) || word.chars().any(char::is_control) {
            return Err(PathError::Word);
        }
        if i > 0 || top != PUBLIC {
            name.push('.');
        }
        name.push_str(word);
    }
    Ok(Place::Named(name))
}

/// The path words of an own folder's IMAP name (`INBOX.a.b` → `INBOX a b`).
pub fn words_of(name: &str) -> Vec<&str> {
    name.split('.').collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(line: &str) -> Result<Place, PathError> {
        place(&read(&mut Words::new(line.as_bytes()))?)
    }

    #[test]
    fn paths_map_onto_imap_names() {
        assert_eq!(path("INBOX"), Ok(Place::Named("INBOX".into())));
        assert_eq!(
            path("INBOX \"Saved Mail\" 2002 \"\" INBOX x"),
            Ok(Place::Named("INBOX.Saved Mail.2002".into()))
        );
        assert_eq!(path("INBOX a:b~c"), Ok(Place::Named("INBOX.a:b~c".into())));
        assert_eq!(
            path("public g ann"),
            Ok(Place::Named("#shared.g.ann".into()))
        );
        assert_eq!(path("public"), Ok(Place::Public));
        assert_eq!(path(""), Err(PathError::Empty));
        assert_eq!(path("inbox"), Err(PathError::Top));
        assert_eq!(path("INBOX a.b"), Err(PathError::Word));
        assert_eq!(words_of("INBOX.a.b"), ["INBOX", "a", "b"]);
    }
}
