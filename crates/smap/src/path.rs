//! Folder paths (spec §3.3): a folder is named by words, top level
//! first, ending at the first empty word — `INBOX`, `INBOX Sent`,
//! `public <group…> <account> <folder…>`.
//!
//! Courier writes each word below `INBOX` into the folder's directory
//! name in its "x-smap-modutf8" form: UTF-8, with control characters and
//! `. / ~ : \` as `\ooo`. The maildir store keeps IMAP names as the
//! directory names are (Courier's IMAP does the same), so `INBOX a.b`
//! is the IMAP folder `INBOX.a\056b`. A folder made over IMAP holds
//! those characters unescaped (`.x:y`); a path whose escaped name does not
//! exist is looked up among the folders by its words, as Courier does.

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
    /// A word that is not UTF-8, or a public path's word holding a
    /// character its IMAP name cannot (`.`, `/`, control characters).
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
        if top == PUBLIC {
            // Shared folders are named by the shared index, in IMAP's
            // terms; their words are taken as they are.
            if word.contains(['.', '/']) || word.chars().any(char::is_control) {
                return Err(PathError::Word);
            }
            if i > 0 {
                name.push('.');
            }
            name.push_str(word);
        } else {
            name.push('.');
            encode_word(word, &mut name);
        }
    }
    Ok(Place::Named(name))
}

/// The path words of an own folder's IMAP name (`INBOX.a\056b` →
/// `INBOX a.b`).
pub fn words_of(name: &str) -> Vec<String> {
    name.split('.').map(decode_word).collect()
}

/// Appends `word` in the x-smap-modutf8 form.
fn encode_word(word: &str, out: &mut String) {
    for c in word.chars() {
        if matches!(c, '.' | '/' | '~' | ':' | '\\') || c < ' ' {
            out.push_str(&format!("\\{:03o}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
}

/// A directory name's component with its `\ooo` escapes decoded; a
/// backslash not followed by three octal digits stays as it is.
fn decode_word(component: &str) -> String {
    let mut out = String::with_capacity(component.len());
    let mut rest = component;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let octal = rest
            .get(at + 1..at + 4)
            .filter(|d| d.bytes().all(|b| (b'0'..=b'7').contains(&b)))
            .and_then(|d| u8::from_str_radix(d, 8).ok());
        match octal {
            Some(byte) if byte.is_ascii() => {
                out.push(char::from(byte));
                rest = &rest[at + 4..];
            }
            _ => {
                out.push('\\');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
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
        assert_eq!(
            path("INBOX a:b~c a.b/c\\d"),
            Ok(Place::Named(
                "INBOX.a\\072b\\176c.a\\056b\\057c\\134d".into()
            ))
        );
        assert_eq!(
            path("public g ann"),
            Ok(Place::Named("#shared.g.ann".into()))
        );
        assert_eq!(path("public"), Ok(Place::Public));
        assert_eq!(path(""), Err(PathError::Empty));
        assert_eq!(path("inbox"), Err(PathError::Top));
        assert_eq!(path("public a.b"), Err(PathError::Word));
        assert_eq!(words_of("INBOX.a\\056b.c:d"), ["INBOX", "a.b", "c:d"]);
        assert_eq!(words_of("INBOX.x\\9y\\05"), ["INBOX", "x\\9y\\05"]);
        assert_eq!(words_of("INBOX.\\377"), ["INBOX", "\\377"]);
    }
}
