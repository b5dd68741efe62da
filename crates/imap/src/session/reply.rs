//! Short names for the status responses the session sends most (RFC 3501
//! §7.1), over [`crate::codec::respond`], which sanitizes the text so a
//! response can never be split into two lines.

use crate::codec::respond::{self, Code, Status};

/// Writers for status responses.
pub(crate) struct Reply;

impl Reply {
    /// `tag OK text`
    pub fn ok(out: &mut Vec<u8>, tag: &str, text: &str) {
        respond::tagged(out, tag, Status::Ok, None, text);
    }
    /// `tag OK [code] text`
    pub fn ok_code(out: &mut Vec<u8>, tag: &str, code: Code, text: &str) {
        respond::tagged(out, tag, Status::Ok, Some(&code), text);
    }
    /// `tag NO [code] text`
    pub fn no(out: &mut Vec<u8>, tag: &str, code: Option<Code>, text: &str) {
        respond::tagged(out, tag, Status::No, code.as_ref(), text);
    }
    /// `tag BAD text`
    pub fn bad(out: &mut Vec<u8>, tag: &str, text: &str) {
        respond::tagged(out, tag, Status::Bad, None, text);
    }
    /// `* BAD text` (a command without a readable tag).
    pub fn untagged_bad(out: &mut Vec<u8>, text: &str) {
        respond::untagged(out, Status::Bad, None, text);
    }
    /// `* OK [code] text`
    pub fn untagged_ok_code(out: &mut Vec<u8>, code: Code, text: &str) {
        respond::untagged(out, Status::Ok, Some(&code), text);
    }
    /// `* BYE text`
    pub fn untagged_bye(out: &mut Vec<u8>, text: &str) {
        respond::bye(out, None, text);
    }
    /// `+ text` (RFC 3501 §7.5)
    pub fn continuation(out: &mut Vec<u8>, text: &str) {
        respond::continuation(out, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_text_cannot_break_the_line() {
        let mut out = Vec::new();
        Reply::no(&mut out, "a1", Some(Code::TryCreate), "no\r\n* OK evil");
        assert_eq!(out, b"a1 NO [TRYCREATE] no  * OK evil\r\n");
    }
}
