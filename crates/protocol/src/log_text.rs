//! Client-supplied text in log lines.
//!
//! Anything a client sent (login names, SASL identities, IMAP ID values,
//! mailbox names) goes into a log line only through [`Untrusted`]: it is
//! quoted, and every character that could end the line or hide in it
//! (CR, LF, other control characters, Unicode line separators, quotes and
//! backslashes) is escaped. A login name holding `\r\n… LOGIN FAILED …
//! ip=192.0.2.9` therefore stays inside one quoted field of one line, and
//! log scanners such as fail2ban cannot be fed a forged address.

use std::fmt;

/// Longest text logged, in characters; the rest is cut and counted.
pub const MAX_LOGGED_CHARS: usize = 200;

/// Client text for a log line: `"…"` with Rust's string escapes
/// (`\r`, `\n`, `\"`, `\\`, `\u{…}` for anything unprintable), cut after
/// [`MAX_LOGGED_CHARS`] characters. Use as a `Display` field:
/// `tracing::info!(user = %Untrusted(login), …)`.
#[derive(Debug, Clone, Copy)]
pub struct Untrusted<'a>(pub &'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        let mut chars = self.0.chars();
        for c in chars.by_ref().take(MAX_LOGGED_CHARS) {
            write!(f, "{}", c.escape_debug())?;
        }
        let rest = chars.as_str().len();
        if rest > 0 {
            write!(f, "…\" ({rest} more bytes)")
        } else {
            f.write_str("\"")
        }
    }
}

/// [`Untrusted`] for bytes that may not be UTF-8 (invalid sequences are
/// logged as U+FFFD).
pub fn untrusted_bytes(bytes: &[u8]) -> String {
    Untrusted(&String::from_utf8_lossy(bytes)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_quotes_and_length_are_escaped() {
        let forged = "x\r\n2026-01-01 INFO LOGIN FAILED user=\"y\" ip=192.0.2.9";
        let logged = Untrusted(forged).to_string();
        assert!(!logged.contains(['\r', '\n']), "{logged}");
        assert_eq!(
            logged,
            r#""x\r\n2026-01-01 INFO LOGIN FAILED user=\"y\" ip=192.0.2.9""#
        );
        assert_eq!(
            Untrusted("a\u{2028}b\u{85}\\").to_string(),
            r#""a\u{2028}b\u{85}\\""#
        );
        assert_eq!(Untrusted("Zoë").to_string(), "\"Zoë\"");
        let long = "a".repeat(MAX_LOGGED_CHARS + 10);
        let logged = Untrusted(&long).to_string();
        assert!(logged.ends_with("…\" (10 more bytes)"), "{logged}");
        assert_eq!(untrusted_bytes(b"a\xffb\n"), "\"a\u{fffd}b\\n\"");
    }
}
