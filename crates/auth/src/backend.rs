//! The backend trait: one source of accounts (userdb, passwd/shadow, PAM,
//! SQL, LDAP, authpipe, authdaemond).
//!
//! Backends come in two kinds, and the trait serves both:
//!
//! * **Lookup backends** (userdb, passwd/shadow, SQL, LDAP without
//!   `LDAP_AUTHBIND`) can return the stored password. They implement only
//!   [`Backend::lookup`]; the provided [`Backend::authenticate`] and
//!   [`Backend::authenticate_cram`] check passwords and CRAM responses from
//!   the returned [`Entry`].
//! * **Verifying backends** (PAM, LDAP bind-as-user, authpipe, an
//!   authdaemond client) cannot reveal a password; they override
//!   `authenticate` (and `authenticate_cram` where their protocol carries
//!   CRAM, as authdaemond's and authpipe's do) and answer `lookup` without
//!   secrets.
//!
//! Calls are synchronous: the server runs them in its authentication
//! process, on a pool of threads (see DESIGN.md, "Process model"). A
//! backend must be `Send + Sync`; one that holds a connection pool guards
//! it internally. A temporary failure (file unreadable, database down) is
//! [`AuthError::Unavailable`], never a wrong password.

use std::fmt;

use crate::account::Account;
use crate::cram::{CramHash, HmacContext};
use crate::enumerate::Sink;
use crate::error::AuthError;
use crate::password;
use crate::scram::{ScramHash, ScramKeys};

/// What a lookup backend knows about one account for one service.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    /// The account record.
    pub account: Account,
    /// The hashed password to check for this service, in any format
    /// [`password::verify`] accepts. For userdb this is `<service>pw` if
    /// present, else `systempw` (Courier's `PASSWD`).
    pub password: Option<String>,
    /// A clear-text password (SQL/LDAP clear field, authdaemond
    /// `PASSWD2`). Enables CRAM and proxying.
    pub clear_password: Option<String>,
    /// Precomputed CRAM keys (userdb `<service>-hmac-<hash>pw`, else
    /// `hmac-<hash>pw`), at most one per hash.
    pub cram_keys: Vec<HmacContext>,
    /// Stored SCRAM secrets (userdb `<service>-scram-<hash>pw`, else
    /// `scram-<hash>pw`), at most one per hash.
    pub scram_keys: Vec<ScramKeys>,
}

impl Entry {
    /// An entry with no secrets (for a pure lookup).
    pub fn new(account: Account) -> Self {
        Entry {
            account,
            password: None,
            clear_password: None,
            cram_keys: Vec::new(),
            scram_keys: Vec::new(),
        }
    }

    /// Checks a password: the hashed value if there is one, else the
    /// clear-text value. `false` when the entry has neither.
    pub fn check_password(&self, password: &[u8]) -> bool {
        match (&self.password, &self.clear_password) {
            (Some(h), _) if !h.is_empty() => password::verify(password, h),
            (_, Some(c)) => password::verify_clear(password, c),
            _ => false,
        }
    }

    /// The key for a CRAM mechanism: the stored HMAC context, or one
    /// derived from the clear-text password.
    pub fn cram_key(&self, hash: CramHash) -> Option<HmacContext> {
        self.cram_keys
            .iter()
            .find(|k| k.hash() == hash)
            .cloned()
            .or_else(|| {
                self.clear_password
                    .as_deref()
                    .filter(|c| !c.is_empty())
                    .map(|c| HmacContext::from_password(hash, c.as_bytes()))
            })
    }

    /// The keys for a SCRAM mechanism: the stored secret, or keys derived
    /// from the clear-text password ([`ScramKeys::derived`]).
    pub fn scram_key(&self, hash: ScramHash) -> Option<ScramKeys> {
        self.scram_keys
            .iter()
            .find(|k| k.hash == hash)
            .cloned()
            .or_else(|| {
                self.clear_password
                    .as_deref()
                    .filter(|c| !c.is_empty())
                    .map(|c| ScramKeys::derived(hash, &self.account.login, c.as_bytes()))
            })
    }

    /// Checks a CRAM response (hex digest) against `challenge`.
    pub fn check_cram(&self, hash: CramHash, challenge: &[u8], digest_hex: &str) -> bool {
        self.cram_key(hash)
            .is_some_and(|k| k.verify_hex(challenge, digest_hex))
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("account", &self.account)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field(
                "clear_password",
                &self.clear_password.as_ref().map(|_| "<hidden>"),
            )
            .field(
                "cram_keys",
                &self.cram_keys.iter().map(|k| k.hash()).collect::<Vec<_>>(),
            )
            .field(
                "scram_keys",
                &self.scram_keys.iter().map(|k| k.hash).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// A backend's answer to a credential check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The backend does not know this login: try the next backend.
    Unknown,
    /// The backend knows the login but the credentials are wrong (or the
    /// account has no usable secret for this mechanism).
    Rejected,
    /// Authenticated.
    Accepted(Account),
}

/// A CRAM response as the SASL layer decoded it.
#[derive(Clone, PartialEq, Eq)]
pub struct CramResponse {
    /// Which CRAM mechanism.
    pub hash: CramHash,
    /// The challenge the server sent (raw, not base64).
    pub challenge: Vec<u8>,
    /// The user name from the response.
    pub login: String,
    /// The hex digest from the response.
    pub digest_hex: String,
}

impl fmt::Debug for CramResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CramResponse")
            .field("hash", &self.hash)
            .field("challenge", &String::from_utf8_lossy(&self.challenge))
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

/// One source of accounts. See the module documentation.
pub trait Backend: Send + Sync + fmt::Debug {
    /// Short name for logs and errors (`userdb`, `ldap`, …).
    fn name(&self) -> &str;

    /// Looks up `login` for `service` (`imap`, `pop3`, `login`, …; the
    /// service selects per-service passwords). `Ok(None)` if this backend
    /// does not know the login.
    fn lookup(&self, service: &str, login: &str) -> Result<Option<Entry>, AuthError>;

    /// Checks a password. The default looks the login up and checks the
    /// entry's stored password.
    fn authenticate(
        &self,
        service: &str,
        login: &str,
        password: &[u8],
    ) -> Result<Verdict, AuthError> {
        Ok(match self.lookup(service, login)? {
            None => Verdict::Unknown,
            Some(e) if e.check_password(password) => Verdict::Accepted(e.account),
            Some(_) => Verdict::Rejected,
        })
    }

    /// Checks a CRAM response. The default looks the login up and uses the
    /// entry's HMAC context or clear password.
    fn authenticate_cram(&self, service: &str, cram: &CramResponse) -> Result<Verdict, AuthError> {
        Ok(match self.lookup(service, &cram.login)? {
            None => Verdict::Unknown,
            Some(e) if e.check_cram(cram.hash, &cram.challenge, &cram.digest_hex) => {
                Verdict::Accepted(e.account)
            }
            Some(_) => Verdict::Rejected,
        })
    }

    /// Whether this backend can ever answer CRAM (it stores HMAC contexts
    /// or clear passwords, or its protocol forwards CRAM). Used to decide
    /// which mechanisms to advertise. Defaults to `false`.
    fn supports_cram(&self) -> bool {
        false
    }

    /// Whether this backend can ever give SCRAM keys for `hash` (it stores
    /// SCRAM secrets or clear passwords). Used to decide which mechanisms
    /// to advertise. Defaults to `false`.
    fn supports_scram(&self, hash: ScramHash) -> bool {
        let _ = hash;
        false
    }

    /// Changes `login`'s password for `service` to `new` (Courier's
    /// `auth_passwd`, the `PASSWD` request). The caller has just checked
    /// `old` with this backend's [`Backend::authenticate`]; backends whose
    /// protocol carries the old password (authpipe, authdaemond) send it
    /// and the other side checks it again. Blocking.
    /// The default answers [`AuthError::Unsupported`]: a backend that
    /// cannot store a password says so.
    fn change_password(
        &self,
        service: &str,
        login: &str,
        old: &[u8],
        new: &[u8],
    ) -> Result<(), AuthError> {
        let _ = (service, login, old, new);
        Err(AuthError::Unsupported {
            backend: self.name().to_owned(),
            operation: "change passwords",
        })
    }

    /// Lists every account this backend knows (Courier's
    /// `auth_enumerate`), handing each to `each` as it is read, in the
    /// backend's own order. Only what an enumeration carries is filled
    /// in: login, uid, gid, home, maildir and options.
    ///
    /// `Ok(())` means the list is complete (or `each` stopped it); an
    /// error means it is not, and what was handed out is a partial list.
    /// Records the backend could not use for a login either (no home, a
    /// uid that is not a number) are left out, as Courier's modules do.
    /// The default answers [`AuthError::Unsupported`]: a backend that
    /// cannot list its accounts says so rather than list none.
    fn enumerate(&self, each: &mut Sink<'_>) -> Result<(), AuthError> {
        let _ = each;
        Err(AuthError::Unsupported {
            backend: self.name().to_owned(),
            operation: "enumerate accounts",
        })
    }
}
