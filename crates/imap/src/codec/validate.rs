//! Response validation with an independent parser (the `imap-codec` crate,
//! strict: built without its "quirk" leniencies). Available with the
//! `validate` feature and in this crate's tests. End-to-end tests use it to
//! make malformed server output fail a test:
//!
//! ```toml
//! [dev-dependencies]
//! courser-imap = { workspace = true, features = ["validate"] }
//! ```
//!
//! then `courser_imap::codec::validate::validate_stream(&bytes_received)`.

use imap_codec::decode::{Decoder as _, GreetingDecodeError, ResponseDecodeError};
use imap_codec::{GreetingCodec, ResponseCodec};

/// Check that `bytes` starts with one complete, well-formed server response
/// (RFC 3501 §9 `response-data`, `response-tagged`, `response-fatal` or
/// `continue-req`); returns the number of octets it took.
pub fn validate_response(bytes: &[u8]) -> Result<usize, String> {
    on_big_stack(|| response_len(bytes))
}

/// imap-codec's recursive-descent parser can need a deep stack for nested
/// BODYSTRUCTUREs in debug builds; run it on a thread with room to spare.
fn on_big_stack<T: Send>(f: impl FnOnce() -> Result<T, String> + Send) -> Result<T, String> {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn_scoped(s, f)
            .map_err(|e| format!("cannot start validator thread: {e}"))?
            .join()
            .map_err(|_| "validator panicked".to_string())?
    })
}

fn response_len(bytes: &[u8]) -> Result<usize, String> {
    if bytes.starts_with(b"* ESEARCH") {
        return esearch_len(bytes);
    }
    for (name, counts) in ACL_RESPONSES {
        if bytes.starts_with(name) {
            return acl_len(bytes, name.len(), *counts);
        }
    }
    match ResponseCodec::default().decode(bytes) {
        Ok((rest, _)) => Ok(bytes.len() - rest.len()),
        Err(ResponseDecodeError::Incomplete) => Err(format!(
            "incomplete response: {:?}",
            String::from_utf8_lossy(head(bytes))
        )),
        Err(e) => Err(format!(
            "malformed response ({e:?}): {:?}",
            String::from_utf8_lossy(head(bytes))
        )),
    }
}

/// `* ESEARCH` (RFC 4731 §3.1 `esearch-response`), which imap-codec does
/// not know: checked here against the grammar, strictly.
fn esearch_len(bytes: &[u8]) -> Result<usize, String> {
    let bad = |why: &str| {
        Err(format!(
            "malformed ESEARCH ({why}): {:?}",
            String::from_utf8_lossy(head(bytes))
        ))
    };
    let Some(end) = bytes.windows(2).position(|w| w == b"\r\n") else {
        return Err(format!(
            "incomplete response: {:?}",
            String::from_utf8_lossy(head(bytes))
        ));
    };
    let line =
        std::str::from_utf8(&bytes[..end]).map_err(|_| "ESEARCH is not ASCII".to_string())?;
    let mut rest = &line["* ESEARCH".len()..];
    if let Some(after) = rest.strip_prefix(" (TAG \"") {
        let Some(close) = after.find("\")") else {
            return bad("search correlator");
        };
        let tag = &after[..close];
        if tag.is_empty()
            || tag
                .bytes()
                .any(|b| !b.is_ascii_graphic() || b == b'"' || b == b'\\')
        {
            return bad("tag");
        }
        rest = &after[close + 2..];
    }
    if let Some(after) = rest.strip_prefix(" UID") {
        if after.is_empty() || after.starts_with(' ') {
            rest = after;
        }
    }
    let mut words = rest.split(' ');
    if words.next() != Some("") {
        return bad("separator");
    }
    let nz = |w: Option<&str>| {
        w.is_some_and(|w| {
            !w.is_empty()
                && !w.starts_with('0')
                && w.bytes().all(|b| b.is_ascii_digit())
                && w.parse::<u32>().is_ok()
        })
    };
    let number = |w: Option<&str>| {
        w.is_some_and(|w| w.parse::<u32>().is_ok() && w.bytes().all(|b| b.is_ascii_digit()))
    };
    let set = |w: Option<&str>| {
        w.is_some_and(|w| {
            w.split(',').all(|range| {
                let mut ends = range.split(':');
                let ok = ends.next().is_some_and(|a| nz(Some(a)));
                ok && ends.next().is_none_or(|b| nz(Some(b))) && ends.next().is_none()
            })
        })
    };
    if rest.is_empty() {
        return Ok(end + 2);
    }
    while let Some(word) = words.next() {
        let value = words.next();
        let ok = match word {
            "MIN" | "MAX" => nz(value),
            "COUNT" => number(value),
            "ALL" => set(value),
            _ => false,
        };
        if !ok {
            return bad(word);
        }
    }
    Ok(end + 2)
}

/// The ACL responses (RFC 4314 §4), which imap-codec does not know, and
/// whether a number of astrings after the name is right for each.
#[allow(clippy::type_complexity)]
const ACL_RESPONSES: &[(&[u8], fn(usize) -> bool)] = &[
    // mailbox *(SP identifier SP rights)
    (b"* ACL ", |n| n % 2 == 1),
    // mailbox SP identifier SP rights *(SP rights)
    (b"* LISTRIGHTS ", |n| n >= 3),
    // mailbox SP rights
    (b"* MYRIGHTS ", |n| n == 2),
];

/// `* ACL`, `* LISTRIGHTS`, `* MYRIGHTS`: astrings separated by single
/// spaces, as many as `counts` allows, checked here strictly.
fn acl_len(bytes: &[u8], name_len: usize, counts: fn(usize) -> bool) -> Result<usize, String> {
    let bad = |why: &str| {
        Err(format!(
            "malformed ACL response ({why}): {:?}",
            String::from_utf8_lossy(head(bytes))
        ))
    };
    let mut at = name_len - 1;
    let mut n = 0;
    loop {
        match bytes.get(at..at + 2) {
            Some(b"\r\n") if n > 0 => break,
            Some([b' ', _]) => at += 1,
            Some(_) => return bad("separator"),
            None => return bad("incomplete"),
        }
        match astring_len(&bytes[at..]) {
            Some(len) => at += len,
            None => return bad("astring"),
        }
        n += 1;
    }
    if !counts(n) {
        return bad("number of fields");
    }
    Ok(at + 2)
}

/// The length of the RFC 3501 §9 `astring` (atom, quoted string or
/// literal) `bytes` starts with.
fn astring_len(bytes: &[u8]) -> Option<usize> {
    match bytes.first()? {
        b'"' => {
            let mut i = 1;
            loop {
                match bytes.get(i)? {
                    b'"' => return Some(i + 1),
                    b'\\' if matches!(bytes.get(i + 1)?, b'"' | b'\\') => i += 2,
                    b'\\' | b'\r' | b'\n' | 0 => return None,
                    _ => i += 1,
                }
            }
        }
        b'{' => {
            let close = bytes.iter().position(|&b| b == b'}')?;
            let digits = std::str::from_utf8(&bytes[1..close]).ok()?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let len: usize = digits.parse().ok()?;
            if bytes.get(close + 1..close + 3)? != b"\r\n" {
                return None;
            }
            let end = close + 3 + len;
            (end <= bytes.len()).then_some(end)
        }
        _ => {
            let len = bytes
                .iter()
                .take_while(|&&b| super::parse::is_astring_char(b))
                .count();
            (len > 0).then_some(len)
        }
    }
}

/// Check that `bytes` is a server greeting (RFC 3501 §9 `greeting`);
/// returns the octets it took.
pub fn validate_greeting(bytes: &[u8]) -> Result<usize, String> {
    on_big_stack(|| greeting_len(bytes))
}

fn greeting_len(bytes: &[u8]) -> Result<usize, String> {
    match GreetingCodec::default().decode(bytes) {
        Ok((rest, _)) => Ok(bytes.len() - rest.len()),
        Err(GreetingDecodeError::Incomplete) => Err(format!(
            "incomplete greeting: {:?}",
            String::from_utf8_lossy(head(bytes))
        )),
        Err(e) => Err(format!(
            "malformed greeting ({e:?}): {:?}",
            String::from_utf8_lossy(head(bytes))
        )),
    }
}

/// Check that `bytes` consists entirely of well-formed responses, each
/// complete; returns how many there were. An empty input is zero responses.
pub fn validate_responses(mut bytes: &[u8]) -> Result<usize, String> {
    let mut n = 0;
    while !bytes.is_empty() {
        let used = validate_response(bytes)?;
        if used == 0 {
            return Err("parser made no progress".into());
        }
        bytes = &bytes[used..];
        n += 1;
    }
    Ok(n)
}

/// Like [`validate_responses`], for a whole session transcript from the
/// server side: the first response must be a greeting.
pub fn validate_stream(bytes: &[u8]) -> Result<usize, String> {
    if bytes.is_empty() {
        return Ok(0);
    }
    let used = validate_greeting(bytes)?;
    Ok(1 + validate_responses(&bytes[used..])?)
}

fn head(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| i + 1)
        .min(300);
    &bytes[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_good_and_rejects_bad() {
        let good = b"* OK [CAPABILITY IMAP4rev1] ready\r\n* 1 EXISTS\r\na OK done\r\n";
        assert_eq!(validate_stream(good), Ok(3));
        assert_eq!(validate_responses(b"+ go\r\n* SEARCH 1\r\n"), Ok(2));
        assert!(validate_responses(b"* SEARCH \r\n").is_err());
        assert!(validate_responses(b"a OK\r\n").is_err());
        assert!(validate_responses(b"* 1 FETCH (UID 1\r\n").is_err());
        assert!(validate_responses(b"a OK caf\xc3\xa9\r\n").is_err());
    }

    #[test]
    fn acl_responses() {
        let good: &[&[u8]] = &[
            b"* ACL \"INBOX\" owner acdilrsw -bob \"\"\r\n",
            b"* ACL \"INBOX\"\r\n",
            b"* LISTRIGHTS \"INBOX\" bob \"\" a c d\r\n",
            b"* MYRIGHTS {5}\r\nINBOX lr\r\n",
        ];
        for g in good {
            assert_eq!(validate_response(g), Ok(g.len()), "{g:?}");
        }
        let bad: &[&[u8]] = &[
            b"* ACL \"INBOX\" owner\r\n",
            b"* ACL\r\n",
            b"* LISTRIGHTS \"INBOX\" bob\r\n",
            b"* MYRIGHTS \"INBOX\" lr x\r\n",
            b"* MYRIGHTS \"INBOX\"  lr\r\n",
            b"* MYRIGHTS \"INBOX\" (lr)\r\n",
            b"* MYRIGHTS \"IN\rBOX\" lr\r\n",
            b"* MYRIGHTS \"INBOX\" lr",
        ];
        for b in bad {
            assert!(validate_response(b).is_err(), "{b:?}");
        }
    }
}
