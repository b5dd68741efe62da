//! The session protocols the server speaks, by the names that logs,
//! metrics, authentication requests and hand-over records use.

use serde::{Deserialize, Serialize};

/// A session protocol: what a login is for, what a hand-over carries,
/// and the label of login and command metrics (STARTTLS and implicit TLS
/// count together).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// IMAP4rev1.
    Imap,
    /// POP3.
    Pop3,
}

impl Service {
    /// The protocol's name in logs, metrics and authentication requests.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Imap => "imap",
            Service::Pop3 => "pop3",
        }
    }

    /// The service [`Service::as_str`] names.
    pub fn from_name(name: &str) -> Option<Service> {
        [Service::Imap, Service::Pop3]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}
