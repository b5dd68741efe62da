//! CAPABILITY (RFC 3501 §7.2.1), SEARCH (§7.2.5), ENABLED (RFC 5161 §3.2)
//! and ID (RFC 2971 §3.2) responses.

use super::{atom, nstring, string};

/// `* CAPABILITY IMAP4rev1 ...`. Each capability is an atom.
pub fn capability<S: AsRef<str>>(out: &mut Vec<u8>, caps: &[S]) {
    out.extend_from_slice(b"* CAPABILITY");
    for c in caps {
        out.push(b' ');
        atom(out, c.as_ref());
    }
    out.extend_from_slice(b"\r\n");
}

pub(super) fn numbers(out: &mut Vec<u8>, name: &str, ns: &[u32]) {
    out.extend_from_slice(b"* ");
    out.extend_from_slice(name.as_bytes());
    for n in ns {
        out.extend_from_slice(format!(" {n}").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// `* SEARCH n...` (no trailing space when empty).
pub fn search(out: &mut Vec<u8>, ns: &[u32]) {
    numbers(out, "SEARCH", ns);
}

/// `* ENABLED cap...` (RFC 5161 §3.2).
pub fn enabled<S: AsRef<str>>(out: &mut Vec<u8>, caps: &[S]) {
    out.extend_from_slice(b"* ENABLED");
    for c in caps {
        out.push(b' ');
        atom(out, c.as_ref());
    }
    out.extend_from_slice(b"\r\n");
}

/// `* ID ("field" "value" ...)` or `* ID NIL` for `None`/empty (RFC 2971).
pub fn id(out: &mut Vec<u8>, params: Option<&[(String, Option<String>)]>) {
    out.extend_from_slice(b"* ID ");
    match params {
        Some(p) if !p.is_empty() => {
            out.push(b'(');
            for (i, (k, v)) in p.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                string(out, k.as_bytes());
                out.push(b' ');
                nstring(out, v.as_deref().map(str::as_bytes));
            }
            out.push(b')');
        }
        _ => out.extend_from_slice(b"NIL"),
    }
    out.extend_from_slice(b"\r\n");
}

/// What an `* ESEARCH` response carries (RFC 4731 §3.1, RFC 5267 §3.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Esearch {
    /// The command's tag (the search correlator).
    pub tag: String,
    /// The numbers are UIDs.
    pub uid: bool,
    /// `MIN`.
    pub min: Option<u32>,
    /// `MAX`.
    pub max: Option<u32>,
    /// `ALL`, written as given (ESORT keeps the sort order).
    pub all: Option<crate::codec::SequenceSet>,
    /// `COUNT`.
    pub count: Option<u32>,
}

/// `* ESEARCH (TAG "a1") UID MIN 2 MAX 9 ALL 2:4,9 COUNT 4`.
pub fn esearch(out: &mut Vec<u8>, e: &Esearch) {
    out.extend_from_slice(b"* ESEARCH (TAG ");
    super::string(out, e.tag.as_bytes());
    out.push(b')');
    if e.uid {
        out.extend_from_slice(b" UID");
    }
    let mut field = |name: &str, value: String| {
        out.extend_from_slice(format!(" {name} {value}").as_bytes());
    };
    if let Some(n) = e.min {
        field("MIN", n.to_string());
    }
    if let Some(n) = e.max {
        field("MAX", n.to_string());
    }
    if let Some(set) = &e.all {
        field("ALL", set.to_string());
    }
    if let Some(n) = e.count {
        field("COUNT", n.to_string());
    }
    out.extend_from_slice(b"\r\n");
}
