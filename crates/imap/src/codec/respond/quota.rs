//! QUOTA responses (RFC 2087 §5; RFC 9208 §5).

use super::{astring, mailbox_name};

/// `* QUOTA root (resource usage limit ...)` (RFC 2087 §5.1). Resource
/// names are atoms such as `STORAGE` (in KiB) and `MESSAGE`.
pub fn quota(out: &mut Vec<u8>, root: &str, resources: &[(&str, u64, u64)]) {
    out.extend_from_slice(b"* QUOTA ");
    astring(out, root.as_bytes());
    out.extend_from_slice(b" (");
    for (i, (name, usage, limit)) in resources.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        super::atom(out, name);
        out.extend_from_slice(format!(" {usage} {limit}").as_bytes());
    }
    out.extend_from_slice(b")\r\n");
}

/// `* QUOTAROOT mailbox root...` (RFC 2087 §5.2).
pub fn quotaroot(out: &mut Vec<u8>, mailbox: &str, roots: &[&str], utf8: bool) {
    out.extend_from_slice(b"* QUOTAROOT ");
    mailbox_name(out, mailbox, utf8);
    for r in roots {
        out.push(b' ');
        astring(out, r.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}
