//! Mailbox names (RFC 3501 §5.1, §9 `mailbox`).

use std::fmt;

/// A mailbox name decoded to UTF-8 (from modified UTF-7, RFC 3501 §5.1.3,
/// unless UTF8=ACCEPT is enabled, RFC 6855 §3). Any case-variant of `INBOX`
/// is normalized to `INBOX` (RFC 3501 §5.1: "INBOX" is case-insensitive);
/// everything else is kept exactly. No policy checks (`..`, `/`) happen
/// here: that is the store's job.
///
/// A name that is a well-formed astring but not valid modified UTF-7 is
/// still a mailbox name to the grammar: it is kept, marked undecodable,
/// so that commands answer `NO` (no such mailbox, or cannot create it)
/// rather than `BAD`, as Dovecot does and imaptest expects.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mailbox {
    name: String,
    decodable: bool,
}

impl Mailbox {
    /// Wrap a decoded name, normalizing INBOX.
    pub fn new(name: impl Into<String>) -> Mailbox {
        let name = name.into();
        let name = if name.eq_ignore_ascii_case("INBOX") {
            "INBOX".to_string()
        } else {
            name
        };
        Mailbox {
            name,
            decodable: true,
        }
    }

    /// A name that could not be decoded; `as_str` gives it lossily.
    pub fn undecodable(raw: &[u8]) -> Mailbox {
        Mailbox {
            name: String::from_utf8_lossy(raw).into_owned(),
            decodable: false,
        }
    }

    /// False for a name that was not valid modified UTF-7 (or UTF-8 under
    /// UTF8=ACCEPT): no mailbox has it and none can be made with it.
    pub fn is_decodable(&self) -> bool {
        self.decodable
    }

    /// The decoded name.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// Whether this is INBOX.
    pub fn is_inbox(&self) -> bool {
        self.name == "INBOX"
    }

    /// The decoded name, owned.
    pub fn into_string(self) -> String {
        self.name
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl AsRef<str> for Mailbox {
    fn as_ref(&self) -> &str {
        &self.name
    }
}
