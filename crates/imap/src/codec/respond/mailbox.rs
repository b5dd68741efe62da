//! Mailbox responses: LIST, LSUB (RFC 3501 §7.2.2–3; attributes RFC 3348,
//! RFC 5258 §3, RFC 6154), STATUS (§7.2.4), FLAGS (§7.2.6), EXISTS (§7.3.1),
//! RECENT (§7.3.2), EXPUNGE (§7.4.1), NAMESPACE (RFC 2342 §5).

use super::{flag_list, mailbox_name, string};
use crate::codec::types::{Flag, StatusItem};

/// A LIST/LSUB mailbox attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListAttr {
    /// `\Noinferiors`
    NoInferiors,
    /// `\Noselect`
    NoSelect,
    /// `\Marked`
    Marked,
    /// `\Unmarked`
    Unmarked,
    /// `\HasChildren` (RFC 3348 CHILDREN)
    HasChildren,
    /// `\HasNoChildren` (RFC 3348 CHILDREN)
    HasNoChildren,
    /// `\NonExistent` (RFC 5258)
    NonExistent,
    /// `\Subscribed` (RFC 5258)
    Subscribed,
    /// Another attribute, written as `\` + atom (e.g. `Sent`, RFC 6154).
    Other(String),
}

fn list_attr(out: &mut Vec<u8>, a: &ListAttr) {
    let s = match a {
        ListAttr::NoInferiors => "\\Noinferiors",
        ListAttr::NoSelect => "\\Noselect",
        ListAttr::Marked => "\\Marked",
        ListAttr::Unmarked => "\\Unmarked",
        ListAttr::HasChildren => "\\HasChildren",
        ListAttr::HasNoChildren => "\\HasNoChildren",
        ListAttr::NonExistent => "\\NonExistent",
        ListAttr::Subscribed => "\\Subscribed",
        ListAttr::Other(o) => {
            out.push(b'\\');
            super::atom(out, o);
            return;
        }
    };
    out.extend_from_slice(s.as_bytes());
}

fn delimiter(out: &mut Vec<u8>, d: Option<char>) {
    match d {
        // QUOTED-CHAR: escape the two quoted-specials.
        Some(c @ ('"' | '\\')) => {
            out.extend_from_slice(b"\"\\");
            out.push(c as u8);
            out.push(b'"');
        }
        Some(c) if c.is_ascii() && !c.is_ascii_control() => {
            out.push(b'"');
            out.push(c as u8);
            out.push(b'"');
        }
        _ => out.extend_from_slice(b"NIL"),
    }
}

/// What Courier's `LIST (ACL MYRIGHTS POSTADDRESS)` adds to a LIST line:
/// `(("ACL" (("id" "rights")...))("MYRIGHTS" "rights")(POSTADDRESS NIL))`,
/// each part only when given.
#[derive(Debug, Default)]
pub struct ListExtra<'a> {
    /// The folder's ACL: identifiers as stored, rights as shown.
    pub acl: Option<&'a [(String, String)]>,
    /// The user's rights, as shown.
    pub myrights: Option<&'a str>,
    /// Whether to add `(POSTADDRESS NIL)`.
    pub postaddress: bool,
}

impl ListExtra<'_> {
    fn write(&self, out: &mut Vec<u8>) {
        if self.acl.is_none() && self.myrights.is_none() && !self.postaddress {
            return;
        }
        out.extend_from_slice(b" (");
        if let Some(entries) = self.acl {
            out.extend_from_slice(b"(\"ACL\" (");
            for (id, rights) in entries {
                out.push(b'(');
                string(out, id.as_bytes());
                out.push(b' ');
                string(out, rights.as_bytes());
                out.push(b')');
            }
            out.extend_from_slice(b"))");
        }
        if let Some(r) = self.myrights {
            out.extend_from_slice(b"(\"MYRIGHTS\" ");
            string(out, r.as_bytes());
            out.push(b')');
        }
        if self.postaddress {
            out.extend_from_slice(b"(POSTADDRESS NIL)");
        }
        out.push(b')');
    }
}

/// `* LIST (attrs) "delim" name` with Courier's extension data.
pub fn list_extended(
    out: &mut Vec<u8>,
    attrs: &[ListAttr],
    delim: Option<char>,
    name: &str,
    utf8: bool,
    extra: &ListExtra<'_>,
) {
    list_like(out, "LIST", attrs, delim, name, utf8, Some(extra));
}

/// Courier's `* ACLFAILED name text`: its ACL command could not change
/// this folder's ACL.
pub fn acl_failed(out: &mut Vec<u8>, name: &str, text: &str, utf8: bool) {
    out.extend_from_slice(b"* ACLFAILED ");
    mailbox_name(out, name, utf8);
    out.push(b' ');
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Courier's `* RIGHTS-INFO name identifier rights...`: the change would
/// have taken `identifier` below the rights it must keep.
pub fn rights_info(out: &mut Vec<u8>, name: &str, identifier: &str, minimum: &str, utf8: bool) {
    out.extend_from_slice(b"* RIGHTS-INFO ");
    mailbox_name(out, name, utf8);
    out.push(b' ');
    string(out, identifier.as_bytes());
    out.push(b' ');
    out.extend_from_slice(minimum.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn list_like(
    out: &mut Vec<u8>,
    kind: &str,
    attrs: &[ListAttr],
    delim: Option<char>,
    name: &str,
    utf8: bool,
    extra: Option<&ListExtra<'_>>,
) {
    out.extend_from_slice(b"* ");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b" (");
    for (i, a) in attrs.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        list_attr(out, a);
    }
    out.extend_from_slice(b") ");
    delimiter(out, delim);
    out.push(b' ');
    mailbox_name(out, name, utf8);
    if let Some(extra) = extra {
        extra.write(out);
    }
    out.extend_from_slice(b"\r\n");
}

/// `* LIST (attrs) "delim" name` — `name` is UTF-8 and is encoded to
/// modified UTF-7 unless `utf8` (UTF8=ACCEPT enabled). A delimiter that is
/// not printable ASCII is written as `NIL`.
pub fn list(out: &mut Vec<u8>, attrs: &[ListAttr], delim: Option<char>, name: &str, utf8: bool) {
    list_like(out, "LIST", attrs, delim, name, utf8, None);
}

/// `* LSUB (attrs) "delim" name`, as [`list`].
pub fn lsub(out: &mut Vec<u8>, attrs: &[ListAttr], delim: Option<char>, name: &str, utf8: bool) {
    list_like(out, "LSUB", attrs, delim, name, utf8, None);
}

/// `* STATUS name (item value ...)`.
pub fn status(out: &mut Vec<u8>, name: &str, items: &[(StatusItem, u64)], utf8: bool) {
    out.extend_from_slice(b"* STATUS ");
    mailbox_name(out, name, utf8);
    out.extend_from_slice(b" (");
    for (i, (item, value)) in items.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(format!("{} {value}", item.as_str()).as_bytes());
    }
    out.extend_from_slice(b")\r\n");
}

/// `* FLAGS (flags)` (§7.2.6).
pub fn flags(out: &mut Vec<u8>, flags: &[Flag]) {
    out.extend_from_slice(b"* FLAGS ");
    flag_list(out, flags);
    out.extend_from_slice(b"\r\n");
}

/// `* n EXISTS` (§7.3.1).
pub fn exists(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(format!("* {n} EXISTS\r\n").as_bytes());
}

/// `* n RECENT` (§7.3.2).
pub fn recent(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(format!("* {n} RECENT\r\n").as_bytes());
}

/// `* n EXPUNGE` (§7.4.1). `n` must be non-zero.
pub fn expunge(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(format!("* {} EXPUNGE\r\n", n.max(1)).as_bytes());
}

/// One namespace description (RFC 2342 §5): prefix and hierarchy delimiter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceDesc {
    /// Prefix, UTF-8 (encoded like a mailbox name), e.g. `INBOX.`.
    pub prefix: String,
    /// Delimiter, e.g. `.`.
    pub delimiter: Option<char>,
}

fn namespace_list(out: &mut Vec<u8>, list: &[NamespaceDesc], utf8: bool) {
    if list.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for ns in list {
        out.push(b'(');
        if utf8 {
            mailbox_name(out, &ns.prefix, true);
        } else {
            string(out, crate::codec::utf7::encode(&ns.prefix).as_bytes());
        }
        out.push(b' ');
        delimiter(out, ns.delimiter);
        out.push(b')');
    }
    out.push(b')');
}

/// `* NAMESPACE personal other shared` (RFC 2342 §5); an empty list is `NIL`.
pub fn namespace(
    out: &mut Vec<u8>,
    personal: &[NamespaceDesc],
    other: &[NamespaceDesc],
    shared: &[NamespaceDesc],
    utf8: bool,
) {
    out.extend_from_slice(b"* NAMESPACE ");
    namespace_list(out, personal, utf8);
    out.push(b' ');
    namespace_list(out, other, utf8);
    out.push(b' ');
    namespace_list(out, shared, utf8);
    out.extend_from_slice(b"\r\n");
}
