//! CAPABILITY (RFC 3501 §6.1.1, §7.2.1): what this session offers now.

use std::borrow::Cow;

use courser_auth::sasl::Mechanism;
use courser_auth::scram::ScramHash;
use courser_auth::CramHash;

use super::{Session, State};

/// A capability list, in the order it is advertised.
pub type Capabilities = Vec<Cow<'static, str>>;

/// Extensions every authenticated session offers. Courier's defaults
/// (UIDPLUS CHILDREN NAMESPACE IDLE) plus what Courier lacks and clients
/// ask for (MOVE, UNSELECT, LITERAL+).
const AUTHENTICATED: &[&str] = &[
    "UIDPLUS",
    "CHILDREN",
    "NAMESPACE",
    "IDLE",
    "MOVE",
    "UNSELECT",
    "ENABLE",
    "UTF8=ACCEPT",
    "ESEARCH",
    "QUOTA",
    "QUOTA=RES-STORAGE",
    "QUOTA=RES-MESSAGE",
];

/// SORT and THREAD (RFC 5256, RFC 5957, RFC 5267 ESORT), as Courier
/// advertises them plus SORT=DISPLAY and ESORT.
const SORT_THREAD: &[&str] = &[
    "SORT",
    "SORT=DISPLAY",
    "ESORT",
    "THREAD=ORDEREDSUBJECT",
    "THREAD=REFERENCES",
];

/// The `AUTH=` capability of a mechanism (RFC 3501 §7.2.1).
fn auth_capability(m: Mechanism) -> Option<&'static str> {
    Some(match m {
        Mechanism::External => "AUTH=EXTERNAL",
        Mechanism::Scram(ScramHash::Sha256) => "AUTH=SCRAM-SHA-256",
        Mechanism::Scram(ScramHash::Sha1) => "AUTH=SCRAM-SHA-1",
        Mechanism::Cram(CramHash::Sha256) => "AUTH=CRAM-SHA256",
        Mechanism::Cram(CramHash::Sha1) => "AUTH=CRAM-SHA1",
        Mechanism::Cram(CramHash::Md5) => "AUTH=CRAM-MD5",
        Mechanism::Plain => "AUTH=PLAIN",
        Mechanism::Login => "AUTH=LOGIN",
        // A mechanism added to courser-auth is offered once named here.
        _ => return None,
    })
}

impl Session {
    /// The current capability list (it changes with TLS and login).
    pub fn capabilities(&self) -> Capabilities {
        let mut caps: Capabilities = ["IMAP4rev1", "LITERAL+", "SASL-IR", "ID"]
            .map(Cow::Borrowed)
            .into();
        match self.state {
            State::NotAuthenticated => {
                if self.config.starttls_available && !self.config.tls_active {
                    caps.push("STARTTLS".into());
                }
                if self.login_disabled() {
                    caps.push("LOGINDISABLED".into());
                } else {
                    caps.extend(
                        self.offered_mechanisms()
                            .into_iter()
                            .filter_map(auth_capability)
                            .map(Cow::Borrowed),
                    );
                }
            }
            _ => {
                caps.extend(AUTHENTICATED.iter().copied().map(Cow::Borrowed));
                // RFC 7889 §2: the largest message APPEND takes.
                let limit = self.config.limits.max_message;
                caps.push(format!("APPENDLIMIT={limit}").into());
                if self.sort_thread {
                    caps.extend(SORT_THREAD.iter().copied().map(Cow::Borrowed));
                }
                if self.acl {
                    // Courier's pair, without RFC 4314's RIGHTS=: the
                    // answers show rights the RFC 2086 way, as Courier's.
                    caps.extend(["ACL", "ACL2=UNION"].map(Cow::Borrowed));
                }
                // Courier's place for it: after ACL, before XMAGICTRASH.
                if let Some(outbox) = &self.outbox {
                    caps.push(outbox.capability().into());
                }
                if self.magic_trash.is_some() {
                    caps.push("XMAGICTRASH".into());
                }
            }
        }
        if let Some(smap) = &self.smap {
            caps.push(smap.capability().into());
        }
        caps
    }

    /// LOGIN and AUTHENTICATE are refused until TLS (RFC 3501 §6.2.3).
    pub(crate) fn login_disabled(&self) -> bool {
        self.config.login_requires_tls && !self.config.tls_active
    }
}
