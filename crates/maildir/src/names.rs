//! Maildir++ folder names: IMAP name (`INBOX.a.b`) ↔ directory (`.a.b`).
//!
//! The components are kept as they are, as Courier's IMAP server keeps
//! them: `INBOX.x:y` is the directory `.x:y`, and a directory `.a\056b`
//! (written by SMAP, which escapes `. / ~ : \` as `\ooo`) is the IMAP
//! folder `INBOX.a\056b`. Decoding those escapes would give the IMAP name
//! `INBOX.a.b`, which names another folder.

use crate::error::{Error, Result};

/// The IMAP name of the main maildir.
pub const INBOX: &str = "INBOX";
/// Hierarchy separator.
pub const SEP: char = '.';

/// True if `name` is INBOX (case-insensitive).
pub fn is_inbox(name: &str) -> bool {
    name.eq_ignore_ascii_case(INBOX)
}

/// Splits a folder name below INBOX into its components, validated.
/// `INBOX` itself yields an empty list.
pub fn components(name: &str) -> Result<Vec<&str>> {
    if name.is_empty() {
        return Err(Error::invalid(name, "empty name"));
    }
    if name.contains('\0') {
        return Err(Error::invalid(name, "NUL character"));
    }
    if name.len() > 4000 {
        return Err(Error::invalid(name, "name too long"));
    }
    if is_inbox(name) {
        return Ok(Vec::new());
    }
    let rest = match name.get(..6) {
        Some(p) if p.eq_ignore_ascii_case("INBOX.") => &name[6..],
        _ => return Err(Error::invalid(name, "not below INBOX.")),
    };
    let mut v = Vec::new();
    for c in rest.split(SEP) {
        if c.is_empty() {
            return Err(Error::invalid(name, "empty hierarchy component"));
        }
        if c.contains('/') {
            return Err(Error::invalid(name, "'/' not allowed"));
        }
        if c.chars().any(|ch| ch.is_control()) {
            return Err(Error::invalid(name, "control character"));
        }
        if c.len() > 255 {
            return Err(Error::invalid(name, "component too long"));
        }
        v.push(c);
    }
    Ok(v)
}

/// Directory name (relative to the main maildir) of a folder: `""` for
/// INBOX, `.a.b` for `INBOX.a.b`.
pub fn dir_name(name: &str) -> Result<String> {
    Ok(canonical(name)?[INBOX.len()..].to_owned())
}

/// The IMAP name of a folder directory entry (`.a.b` → `INBOX.a.b`), or
/// `None` if the entry is not a folder name (`.`, `..`, `..x`, empty
/// components, control characters).
pub fn name_from_dir(dir: &str) -> Option<String> {
    let rest = dir.strip_prefix('.')?;
    if rest.is_empty() || rest.starts_with('.') {
        return None;
    }
    let mut s = String::from(INBOX);
    for c in rest.split('.') {
        if c.is_empty() || c.chars().any(char::is_control) {
            return None;
        }
        s.push(SEP);
        s.push_str(c);
    }
    Some(s)
}

/// Canonical spelling of a folder name (INBOX prefix upper-cased).
pub fn canonical(name: &str) -> Result<String> {
    let comps = components(name)?;
    let mut s = String::from(INBOX);
    for c in comps {
        s.push(SEP);
        s.push_str(c);
    }
    Ok(s)
}

/// True for the names of shared folders (`#shared.…` virtual ones,
/// `shared.…` of sharable maildirs): another account's or a common
/// maildir, not the user's own.
pub fn is_shared(name: &str) -> bool {
    crate::shared_index::covers(name) || crate::sharable::covers(name)
}

/// The one spelling of a name a session may use: an own folder's
/// canonical one ([`canonical`]), or a shared folder's (`#shared.…`,
/// `shared.…`: names are case-sensitive there) as given. Subscriptions
/// keep names so.
pub fn spelling(name: &str) -> Result<String> {
    if is_shared(name) {
        if name.chars().any(char::is_control) || name.len() > 4000 {
            return Err(Error::invalid(name, "not a folder name"));
        }
        return Ok(name.to_owned());
    }
    canonical(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping() {
        assert_eq!(dir_name("inbox").unwrap(), "");
        assert_eq!(dir_name("INBOX.a.b").unwrap(), ".a.b");
        assert_eq!(dir_name("Inbox.Sent").unwrap(), ".Sent");
        // Courier's IMAP names: nothing escaped, nothing decoded.
        assert_eq!(dir_name("INBOX.x:y~z\\w").unwrap(), ".x:y~z\\w");
        assert_eq!(name_from_dir(".x\\072y.z").unwrap(), "INBOX.x\\072y.z");
        assert_eq!(name_from_dir(".a\\056b").unwrap(), "INBOX.a\\056b");
        assert!(name_from_dir(".a\nb").is_none());
        assert_eq!(name_from_dir(".Entwürfe").unwrap(), "INBOX.Entwürfe");
        assert!(name_from_dir("..x").is_none());
        assert!(name_from_dir(".").is_none());
        assert!(name_from_dir(".a..b").is_none());
    }

    #[test]
    fn shared_names_are_spelled_as_given() {
        assert_eq!(spelling("inbox.a").unwrap(), "INBOX.a");
        assert_eq!(spelling("#shared.a.B").unwrap(), "#shared.a.B");
        assert!(spelling("#shared.a\nb").is_err());
        assert!(spelling("#sharedx").is_err());
    }

    #[test]
    fn refused() {
        for bad in [
            "",
            "INBOX.",
            "INBOX..a",
            "INBOX.a/b",
            "INBOX.a\0",
            "Foo",
            "INBOX.a\nb",
            "INBOX./..",
            "INBOX..",
        ] {
            assert!(dir_name(bad).is_err(), "{bad:?}");
        }
    }
}
