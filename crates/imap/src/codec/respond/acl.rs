//! ACL responses (RFC 4314 §3.6–3.8).

use super::{astring, mailbox_name};

/// `* ACL mailbox identifier rights ...` (RFC 4314 §3.6).
pub fn acl(out: &mut Vec<u8>, mailbox: &str, entries: &[(&str, &str)], utf8: bool) {
    out.extend_from_slice(b"* ACL ");
    mailbox_name(out, mailbox, utf8);
    for (id, rights) in entries {
        out.push(b' ');
        astring(out, id.as_bytes());
        out.push(b' ');
        astring(out, rights.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// `* LISTRIGHTS mailbox identifier required optional...` (RFC 4314 §3.7).
pub fn listrights(
    out: &mut Vec<u8>,
    mailbox: &str,
    identifier: &str,
    required: &str,
    optional: &[&str],
    utf8: bool,
) {
    out.extend_from_slice(b"* LISTRIGHTS ");
    mailbox_name(out, mailbox, utf8);
    out.push(b' ');
    astring(out, identifier.as_bytes());
    out.push(b' ');
    astring(out, required.as_bytes());
    for o in optional {
        out.push(b' ');
        astring(out, o.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// `* MYRIGHTS mailbox rights` (RFC 4314 §3.8).
pub fn myrights(out: &mut Vec<u8>, mailbox: &str, rights: &str, utf8: bool) {
    out.extend_from_slice(b"* MYRIGHTS ");
    mailbox_name(out, mailbox, utf8);
    out.push(b' ');
    astring(out, rights.as_bytes());
    out.extend_from_slice(b"\r\n");
}
