//! Status responses (RFC 3501 §7.1) and other one-line answers.
//!
//! Response texts come from us, but some quote client data (a mailbox
//! name, a reason from the store); CR, LF and NUL are replaced so a
//! response can never be split into two.

/// Writers for one-line responses.
pub(crate) struct Reply;

fn push_text(out: &mut Vec<u8>, text: &str) {
    out.extend(text.bytes().map(|b| {
        if matches!(b, b'\r' | b'\n' | 0) {
            b' '
        } else {
            b
        }
    }));
}

fn status(out: &mut Vec<u8>, tag: &str, word: &str, code: Option<&str>, text: &str) {
    push_text(out, tag);
    out.push(b' ');
    out.extend_from_slice(word.as_bytes());
    out.push(b' ');
    if let Some(code) = code {
        out.push(b'[');
        push_text(out, code);
        out.extend_from_slice(b"] ");
    }
    push_text(out, if text.is_empty() { "done" } else { text });
    out.extend_from_slice(b"\r\n");
}

impl Reply {
    /// `tag OK text`
    pub fn ok(out: &mut Vec<u8>, tag: &str, text: &str) {
        status(out, tag, "OK", None, text);
    }
    /// `tag OK [code] text`
    pub fn ok_code(out: &mut Vec<u8>, tag: &str, code: &str, text: &str) {
        status(out, tag, "OK", Some(code), text);
    }
    /// `tag NO [code] text`
    pub fn no(out: &mut Vec<u8>, tag: &str, code: Option<&str>, text: &str) {
        status(out, tag, "NO", code, text);
    }
    /// `tag BAD text`
    pub fn bad(out: &mut Vec<u8>, tag: &str, text: &str) {
        status(out, tag, "BAD", None, text);
    }
    /// `* BAD text` (a command without a readable tag).
    pub fn untagged_bad(out: &mut Vec<u8>, text: &str) {
        status(out, "*", "BAD", None, text);
    }
    /// `* OK [code] text`
    pub fn untagged_ok_code(out: &mut Vec<u8>, code: &str, text: &str) {
        status(out, "*", "OK", Some(code), text);
    }
    /// `* PREAUTH [code] text`
    pub fn untagged_preauth(out: &mut Vec<u8>, code: &str, text: &str) {
        status(out, "*", "PREAUTH", Some(code), text);
    }
    /// `* BYE text`
    pub fn untagged_bye(out: &mut Vec<u8>, text: &str) {
        status(out, "*", "BYE", None, text);
    }
    /// `* <data>` — data the caller has already formatted.
    pub fn untagged(out: &mut Vec<u8>, data: &str) {
        out.extend_from_slice(b"* ");
        push_text(out, data);
        out.extend_from_slice(b"\r\n");
    }
    /// `+ text` (RFC 3501 §7.5)
    pub fn continuation(out: &mut Vec<u8>, text: &str) {
        out.extend_from_slice(b"+ ");
        push_text(out, text);
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_text_cannot_break_the_line() {
        let mut out = Vec::new();
        Reply::no(&mut out, "a1", Some("TRYCREATE"), "no\r\n* OK evil");
        assert_eq!(out, b"a1 NO [TRYCREATE] no  * OK evil\r\n");
    }
}
