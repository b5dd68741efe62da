//! Mailbox names (RFC 3501 §5.1, §9 `mailbox`).

use std::fmt;

/// A mailbox name decoded to UTF-8 (from modified UTF-7, RFC 3501 §5.1.3,
/// unless UTF8=ACCEPT is enabled, RFC 6855 §3). Any case-variant of `INBOX`
/// is normalized to `INBOX` (RFC 3501 §5.1: "INBOX" is case-insensitive);
/// everything else is kept exactly. No policy checks (`..`, `/`) happen
/// here: that is the store's job.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mailbox(String);

impl Mailbox {
    /// Wrap a decoded name, normalizing INBOX.
    pub fn new(name: impl Into<String>) -> Mailbox {
        let name = name.into();
        if name.eq_ignore_ascii_case("INBOX") {
            Mailbox("INBOX".to_string())
        } else {
            Mailbox(name)
        }
    }

    /// The decoded name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is INBOX.
    pub fn is_inbox(&self) -> bool {
        self.0 == "INBOX"
    }

    /// The decoded name, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Mailbox {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
