//! Response writers (RFC 3501 §7, §9 `response`): functions that append
//! complete response lines to a `Vec<u8>`.
//!
//! Strings are written in the most conservative form the grammar allows:
//! [`string`] picks quoted for short 7-bit text and a literal for anything
//! with 8-bit octets, CR, LF or NUL, or heavy quoting; [`nstring`] writes
//! `NIL` for `None`. Free-form response text is sanitized so that no
//! argument can inject a line break.
//!
//! One file per command family, named as in [`parse`](super::parse).

pub mod acl;
pub mod fetch;
pub mod mailbox;
pub mod misc;
pub mod quota;
pub mod sort;

pub use acl::{acl, listrights, myrights};
pub use fetch::{fetch, FetchItem, FetchWriter};
pub use mailbox::{
    acl_failed, exists, expunge, flags, list, list_extended, lsub, namespace, recent, rights_info,
    status, ListAttr, ListExtra, NamespaceDesc,
};
pub use misc::{capability, enabled, esearch, id, search, Esearch};
pub use quota::{quota, quotaroot};
pub use sort::{sort, thread, ThreadForest, ThreadNode};

use super::types::{Flag, SequenceSet};
use super::utf7;

/// Status condition of a status response (RFC 3501 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `OK`
    Ok,
    /// `NO`
    No,
    /// `BAD`
    Bad,
    /// `PREAUTH` (untagged greeting only)
    PreAuth,
    /// `BYE` (untagged only)
    Bye,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::No => "NO",
            Status::Bad => "BAD",
            Status::PreAuth => "PREAUTH",
            Status::Bye => "BYE",
        }
    }
}

/// A response code (RFC 3501 §7.1 `resp-text-code`; RFC 4315 §3 UIDPLUS;
/// RFC 5530 extended codes; RFC 3691, RFC 5182, RFC 6851).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    /// `ALERT`
    Alert,
    /// `BADCHARSET (charsets)`; empty list → bare `BADCHARSET`.
    BadCharset(Vec<String>),
    /// `CAPABILITY caps...`
    Capability(Vec<String>),
    /// `PARSE`
    Parse,
    /// `PERMANENTFLAGS (flags [\*])`
    PermanentFlags {
        /// Flags that can be changed permanently.
        flags: Vec<Flag>,
        /// Whether new keywords can be created (`\*`).
        keywords: bool,
    },
    /// `READ-ONLY`
    ReadOnly,
    /// `READ-WRITE`
    ReadWrite,
    /// `TRYCREATE`
    TryCreate,
    /// `UIDNEXT n`
    UidNext(u32),
    /// `UIDVALIDITY n`
    UidValidity(u32),
    /// `UNSEEN n`
    Unseen(u32),
    /// `APPENDUID uidvalidity uid-set` (RFC 4315 §3)
    AppendUid {
        /// UIDVALIDITY of the destination.
        uidvalidity: u32,
        /// UIDs assigned.
        uids: SequenceSet,
    },
    /// `COPYUID uidvalidity source-set dest-set` (RFC 4315 §3)
    CopyUid {
        /// UIDVALIDITY of the destination.
        uidvalidity: u32,
        /// Source UIDs.
        source: SequenceSet,
        /// Destination UIDs, in corresponding order.
        dest: SequenceSet,
    },
    /// `UIDNOTSTICKY` (RFC 4315 §3)
    UidNotSticky,
    /// `CLOSED` (RFC 7162 §3.2.11, used with UNSELECT/SELECT)
    Closed,
    /// `UNAVAILABLE` (RFC 5530)
    Unavailable,
    /// `AUTHENTICATIONFAILED` (RFC 5530)
    AuthenticationFailed,
    /// `AUTHORIZATIONFAILED` (RFC 5530)
    AuthorizationFailed,
    /// `EXPIRED` (RFC 5530)
    Expired,
    /// `PRIVACYREQUIRED` (RFC 5530)
    PrivacyRequired,
    /// `CONTACTADMIN` (RFC 5530)
    ContactAdmin,
    /// `NOPERM` (RFC 5530)
    NoPerm,
    /// `INUSE` (RFC 5530)
    InUse,
    /// `EXPUNGEISSUED` (RFC 5530)
    ExpungeIssued,
    /// `CORRUPTION` (RFC 5530)
    Corruption,
    /// `SERVERBUG` (RFC 5530)
    ServerBug,
    /// `CLIENTBUG` (RFC 5530)
    ClientBug,
    /// `CANNOT` (RFC 5530)
    Cannot,
    /// `LIMIT` (RFC 5530)
    Limit,
    /// `OVERQUOTA` (RFC 5530)
    OverQuota,
    /// `ALREADYEXISTS` (RFC 5530)
    AlreadyExists,
    /// `NONEXISTENT` (RFC 5530)
    Nonexistent,
    /// `TOOBIG` (RFC 4469; for APPEND over the limit, RFC 7889)
    TooBig,
    /// Any other `atom [SP text]`. The atom must be valid; invalid
    /// characters are replaced by `X`, `]` in the text by `)`.
    Other {
        /// Code name.
        name: String,
        /// Optional argument text.
        text: Option<String>,
    },
}

impl Code {
    fn write(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        let simple = match self {
            Code::Alert => "ALERT",
            Code::Parse => "PARSE",
            Code::ReadOnly => "READ-ONLY",
            Code::ReadWrite => "READ-WRITE",
            Code::TryCreate => "TRYCREATE",
            Code::UidNotSticky => "UIDNOTSTICKY",
            Code::Closed => "CLOSED",
            Code::Unavailable => "UNAVAILABLE",
            Code::AuthenticationFailed => "AUTHENTICATIONFAILED",
            Code::AuthorizationFailed => "AUTHORIZATIONFAILED",
            Code::Expired => "EXPIRED",
            Code::PrivacyRequired => "PRIVACYREQUIRED",
            Code::ContactAdmin => "CONTACTADMIN",
            Code::NoPerm => "NOPERM",
            Code::InUse => "INUSE",
            Code::ExpungeIssued => "EXPUNGEISSUED",
            Code::Corruption => "CORRUPTION",
            Code::ServerBug => "SERVERBUG",
            Code::ClientBug => "CLIENTBUG",
            Code::Cannot => "CANNOT",
            Code::Limit => "LIMIT",
            Code::OverQuota => "OVERQUOTA",
            Code::AlreadyExists => "ALREADYEXISTS",
            Code::Nonexistent => "NONEXISTENT",
            Code::TooBig => "TOOBIG",
            _ => "",
        };
        out.extend_from_slice(simple.as_bytes());
        match self {
            Code::BadCharset(list) => {
                out.extend_from_slice(b"BADCHARSET");
                if !list.is_empty() {
                    out.extend_from_slice(b" (");
                    for (i, c) in list.iter().enumerate() {
                        if i > 0 {
                            out.push(b' ');
                        }
                        astring(out, c.as_bytes());
                    }
                    out.push(b')');
                }
            }
            Code::Capability(caps) => {
                out.extend_from_slice(b"CAPABILITY");
                for c in caps {
                    out.push(b' ');
                    atom(out, c);
                }
            }
            Code::PermanentFlags { flags, keywords } => {
                out.extend_from_slice(b"PERMANENTFLAGS (");
                let mut first = true;
                for f in flags.iter().filter(|f| **f != Flag::Recent) {
                    if !first {
                        out.push(b' ');
                    }
                    first = false;
                    flag(out, f);
                }
                if *keywords {
                    if !first {
                        out.push(b' ');
                    }
                    out.extend_from_slice(b"\\*");
                }
                out.push(b')');
            }
            Code::UidNext(n) => number(out, "UIDNEXT ", *n),
            Code::UidValidity(n) => number(out, "UIDVALIDITY ", *n),
            Code::Unseen(n) => number(out, "UNSEEN ", *n),
            Code::AppendUid { uidvalidity, uids } => {
                out.extend_from_slice(format!("APPENDUID {uidvalidity} {uids}").as_bytes());
            }
            Code::CopyUid {
                uidvalidity,
                source,
                dest,
            } => {
                out.extend_from_slice(format!("COPYUID {uidvalidity} {source} {dest}").as_bytes());
            }
            Code::Other { name, text } => {
                atom(out, name);
                if let Some(t) = text {
                    out.push(b' ');
                    for b in sanitize_text(t).bytes() {
                        out.push(if b == b']' { b')' } else { b });
                    }
                }
            }
            _ => {}
        }
        out.push(b']');
    }
}

fn number(out: &mut Vec<u8>, prefix: &str, n: u32) {
    out.extend_from_slice(prefix.as_bytes());
    out.extend_from_slice(n.to_string().as_bytes());
}

/// Response text (RFC 3501 §9 `text` = 1*TEXT-CHAR, 7-bit): CR, LF and NUL
/// become spaces, non-ASCII characters `?`; an empty text becomes "Done." so the line stays grammatical; a
/// leading `[` becomes `(` so it cannot pose as a response code.
fn sanitize_text(text: &str) -> String {
    let mut s: String = text
        .chars()
        .map(|c| match c {
            '\r' | '\n' | '\0' => ' ',
            c if !c.is_ascii() => '?',
            c => c,
        })
        .collect();
    if s.is_empty() {
        s.push_str("Done.");
    }
    if s.starts_with('[') {
        s.replace_range(0..1, "(");
    }
    // A line ending in `{n}` reads as a literal announcement to most
    // client parsers (Python's imaplib among them), and texts can echo
    // client input such as an unknown command `~{3}`: never end with `}`.
    if s.ends_with('}') {
        s.push('.');
    }
    s
}

fn resp_text(out: &mut Vec<u8>, code: Option<&Code>, text: &str) {
    if let Some(c) = code {
        c.write(out);
        out.push(b' ');
    }
    out.extend_from_slice(sanitize_text(text).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// `tag OK|NO|BAD [code] text` (RFC 3501 §7.1). `status` should be Ok, No
/// or Bad. An SMAP client's pre-login command (tag
/// [`SMAP_TAG`](crate::codec::parse::SMAP_TAG)) is answered as Courier
/// answers it: `+OK text` or `-ERR text`, without the code.
pub fn tagged(out: &mut Vec<u8>, tag: &str, status: Status, code: Option<&Code>, text: &str) {
    if tag == crate::codec::parse::SMAP_TAG {
        let word: &[u8] = if status == Status::Ok {
            b"+OK "
        } else {
            b"-ERR "
        };
        out.extend_from_slice(word);
        return resp_text(out, None, text);
    }
    out.extend_from_slice(tag.as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    resp_text(out, code, text);
}

/// `* OK|NO|BAD|PREAUTH|BYE [code] text` (RFC 3501 §7.1).
pub fn untagged(out: &mut Vec<u8>, status: Status, code: Option<&Code>, text: &str) {
    out.extend_from_slice(b"* ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    resp_text(out, code, text);
}

/// `* BYE [code] text` (RFC 3501 §7.1.5).
pub fn bye(out: &mut Vec<u8>, code: Option<&Code>, text: &str) {
    untagged(out, Status::Bye, code, text);
}

/// A `BAD` for a framer/parser [`Event::Bad`](super::Event::Bad): tagged
/// when the tag is known, untagged otherwise.
pub fn bad(out: &mut Vec<u8>, tag: Option<&str>, text: &str) {
    match tag {
        Some(t) => tagged(out, t, Status::Bad, None, text),
        None => untagged(out, Status::Bad, None, text),
    }
}

/// `+ text` continuation request (RFC 3501 §7.5).
pub fn continuation(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(b"+ ");
    out.extend_from_slice(sanitize_text(text).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// `+ base64` SASL challenge (RFC 3501 §7.5 `base64`); an empty challenge
/// is written as `+ ` followed by CRLF, which RFC 3501 §6.2.2 clients accept.
pub fn continuation_base64(out: &mut Vec<u8>, data: &[u8]) {
    use base64::Engine as _;
    out.extend_from_slice(b"+ ");
    out.extend_from_slice(
        base64::engine::general_purpose::STANDARD
            .encode(data)
            .as_bytes(),
    );
    out.extend_from_slice(b"\r\n");
}

// ---- Lexical writers -------------------------------------------------------

/// Write an atom; characters not allowed in an atom become `X`.
pub(crate) fn atom(out: &mut Vec<u8>, s: &str) {
    if s.is_empty() {
        out.push(b'X');
    }
    for b in s.bytes() {
        out.push(if super::parse::is_atom_char(b) {
            b
        } else {
            b'X'
        });
    }
}

/// Write a flag.
pub(crate) fn flag(out: &mut Vec<u8>, f: &Flag) {
    match f {
        Flag::Keyword(k) => atom(out, k),
        Flag::Extension(e) => {
            out.push(b'\\');
            atom(out, e);
        }
        other => out.extend_from_slice(other.to_string().as_bytes()),
    }
}

/// Write `(flag flag ...)`.
pub(crate) fn flag_list(out: &mut Vec<u8>, flags: &[Flag]) {
    out.push(b'(');
    for (i, f) in flags.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        flag(out, f);
    }
    out.push(b')');
}

/// Whether `data` can be a quoted string: 7-bit (or UTF-8 when `utf8`), no
/// CR, LF or NUL, not too long, few escapes.
fn quotable(data: &[u8], utf8: bool) -> bool {
    if data.len() > 4096 {
        return false;
    }
    let mut escapes = 0;
    for &b in data {
        match b {
            0 | b'\r' | b'\n' => return false,
            b'"' | b'\\' => escapes += 1,
            0x80.. if !utf8 => return false,
            _ => {}
        }
    }
    escapes <= 8 && (!utf8 || std::str::from_utf8(data).is_ok())
}

/// A quoted string (caller checked [`quotable`]).
fn quoted(out: &mut Vec<u8>, data: &[u8]) {
    out.push(b'"');
    for &b in data {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// A literal `{n}` CRLF data (RFC 3501 §4.3).
pub fn literal(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(format!("{{{}}}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
}

/// RFC 3501 §9 `string`: quoted when safe, otherwise a literal.
pub fn string(out: &mut Vec<u8>, data: &[u8]) {
    if quotable(data, false) {
        quoted(out, data);
    } else {
        literal(out, data);
    }
}

/// RFC 3501 §9 `nstring`: `NIL` for `None`.
pub fn nstring(out: &mut Vec<u8>, data: Option<&[u8]>) {
    match data {
        Some(d) => string(out, d),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// RFC 3501 §9 `astring`: an atom when possible (and not `NIL`, which a
/// reader of an nstring context could misread), else a string.
pub fn astring(out: &mut Vec<u8>, data: &[u8]) {
    if !data.is_empty()
        && data.iter().all(|&b| super::parse::is_astring_char(b))
        && !data.eq_ignore_ascii_case(b"NIL")
    {
        out.extend_from_slice(data);
    } else {
        string(out, data);
    }
}

/// A mailbox name (RFC 3501 §9 `mailbox`): modified UTF-7 (§5.1.3), or
/// UTF-8 when UTF8=ACCEPT is on (RFC 6855 §3); always quoted unless a
/// literal is needed.
pub fn mailbox_name(out: &mut Vec<u8>, name: &str, utf8: bool) {
    if utf8 {
        if quotable(name.as_bytes(), true) {
            quoted(out, name.as_bytes());
        } else {
            literal(out, name.as_bytes());
        }
    } else {
        string(out, utf7::encode(name).as_bytes());
    }
}

#[cfg(test)]
mod tests;
