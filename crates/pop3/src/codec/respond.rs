//! Response writers: append status lines, multi-line bodies and SASL
//! challenges to an output buffer (RFC 1939 §3; RFC 2449 §8 response
//! codes; RFC 5034 §4 challenges).

/// Extended response codes (RFC 2449 §8, RFC 3206).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// `[IN-USE]`: the maildrop is locked (RFC 2449 §8.1.1).
    InUse,
    /// `[LOGIN-DELAY]`: logged in too recently (RFC 2449 §8.1.2).
    LoginDelay,
    /// `[SYS/TEMP]`: a temporary system problem (RFC 3206 §4).
    SysTemp,
    /// `[SYS/PERM]`: a permanent system problem, e.g. POP3 disabled for
    /// the account (RFC 3206 §4).
    SysPerm,
    /// `[AUTH]`: the credentials are wrong (RFC 3206 §5).
    Auth,
}

impl Code {
    /// The code as written between brackets.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::InUse => "IN-USE",
            Code::LoginDelay => "LOGIN-DELAY",
            Code::SysTemp => "SYS/TEMP",
            Code::SysPerm => "SYS/PERM",
            Code::Auth => "AUTH",
        }
    }
}

/// Appends `text` with CR, LF and NUL replaced by spaces (a response line
/// must stay one line whatever it quotes).
fn push_text(out: &mut Vec<u8>, text: &str) {
    out.extend(text.bytes().map(|b| {
        if matches!(b, b'\r' | b'\n' | 0) {
            b' '
        } else {
            b
        }
    }));
}

fn status(out: &mut Vec<u8>, word: &str, code: Option<Code>, text: &str) {
    out.extend_from_slice(word.as_bytes());
    if let Some(c) = code {
        out.extend_from_slice(b" [");
        out.extend_from_slice(c.as_str().as_bytes());
        out.push(b']');
    }
    if !text.is_empty() {
        out.push(b' ');
        push_text(out, text);
    }
    out.extend_from_slice(b"\r\n");
}

/// `+OK text`.
pub fn ok(out: &mut Vec<u8>, text: &str) {
    status(out, "+OK", None, text);
}

/// `-ERR [code] text`.
pub fn err(out: &mut Vec<u8>, code: Option<Code>, text: &str) {
    status(out, "-ERR", code, text);
}

/// One line of a multi-line response, dot-stuffed (RFC 1939 §3).
pub fn line(out: &mut Vec<u8>, text: &str) {
    if text.starts_with('.') {
        out.push(b'.');
    }
    push_text(out, text);
    out.extend_from_slice(b"\r\n");
}

/// The terminating `.` of a multi-line response.
pub fn end(out: &mut Vec<u8>) {
    out.extend_from_slice(b".\r\n");
}

/// A SASL challenge, already base64 (RFC 5034 §4: `+ ` then the data).
pub fn challenge(out: &mut Vec<u8>, base64: &str) {
    out.extend_from_slice(b"+ ");
    push_text(out, base64);
    out.extend_from_slice(b"\r\n");
}

/// Copies message bytes to `out` as a multi-line body: a CR is added before
/// every LF and a `.` before every line that starts with one (RFC 1939 §3).
/// `at_line_start` carries the state between calls.
pub fn body(out: &mut Vec<u8>, data: &[u8], at_line_start: &mut bool) {
    out.reserve(data.len() + data.len() / 32);
    for &c in data {
        if *at_line_start && c == b'.' {
            out.push(b'.');
        }
        if c == b'\n' {
            out.push(b'\r');
        }
        out.push(c);
        *at_line_start = c == b'\n';
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_and_codes() {
        let mut out = Vec::new();
        ok(&mut out, "2 320");
        err(&mut out, Some(Code::SysTemp), "try\r\nlater");
        err(&mut out, None, "");
        assert_eq!(out, b"+OK 2 320\r\n-ERR [SYS/TEMP] try  later\r\n-ERR\r\n");
    }

    #[test]
    fn body_adds_cr_and_stuffs_dots() {
        let mut out = Vec::new();
        let mut start = true;
        body(&mut out, b".a\n..b\nc.", &mut start);
        body(&mut out, b"\n.", &mut start);
        assert_eq!(out, b"..a\r\n...b\r\nc.\r\n..");
        let mut out = Vec::new();
        line(&mut out, ".x");
        assert_eq!(out, b"..x\r\n");
    }
}
