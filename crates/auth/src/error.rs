//! The error type of authentication.

use thiserror::Error;

/// Why an authentication or a lookup did not produce an account.
///
/// The split matters to the protocol layer: [`AuthError::Failed`] is the
/// client's problem (IMAP `NO [AUTHENTICATIONFAILED]`, POP3 `-ERR [AUTH]`),
/// [`AuthError::Unavailable`] is ours and temporary (IMAP
/// `NO [UNAVAILABLE]`, POP3 `-ERR [SYS/TEMP]`). A backend that is down
/// must never be reported as a wrong password.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Wrong credentials, or no such user. The two are deliberately not
    /// distinguished, so that a client cannot probe for account names.
    #[error("authentication failed")]
    Failed,
    /// The password is longer than the configured maximum; it was not
    /// checked (hashing it could take minutes). Clients see an ordinary
    /// failed login; the log says why.
    #[error("password of {length} bytes refused unchecked (longer than {max})")]
    PasswordTooLong {
        /// Its length in bytes.
        length: usize,
        /// The configured maximum.
        max: usize,
    },
    /// A backend could not answer (file unreadable or malformed, database
    /// or directory down, helper process gone). Retrying later may work.
    #[error("authentication backend {backend} temporarily unavailable: {reason}")]
    Unavailable {
        /// Name of the backend that failed (`userdb`, `ldap`, …).
        backend: String,
        /// What went wrong, for the log. Never contains a password.
        reason: String,
    },
    /// The backend cannot do what was asked at all (a backend without
    /// account enumeration asked to list its accounts). Not temporary:
    /// asking again will not help.
    #[error("authentication backend {backend} cannot {operation}")]
    Unsupported {
        /// Name of the backend (`userdb`, `ldap`, …).
        backend: String,
        /// What it cannot do (`enumerate accounts`).
        operation: &'static str,
    },
    /// A PLAIN authorization identity other than the login, from a login
    /// that is not a master user: refused without checking anything.
    #[error("{login} may not log in as {account}: not a master user")]
    NotMasterUser {
        /// The authentication identity.
        login: String,
        /// The account it asked for.
        account: String,
    },
    /// A password change was refused before any backend saw it: the new
    /// password cannot be stored (empty, a NUL or line break, too long).
    #[error("new password refused: {0}")]
    NewPasswordRefused(&'static str),
    /// The backend's store refused the change it was asked for (PAM's
    /// password modules found the new password too weak, a directory's
    /// access rules or password policy said no). Nothing was changed.
    #[error("authentication backend {backend} refused the change: {reason}")]
    ChangeRefused {
        /// Name of the backend (`pam`, `ldap`).
        backend: String,
        /// The store's own reason. Never contains a password.
        reason: String,
    },
}

impl AuthError {
    /// Builds [`AuthError::Unavailable`].
    pub fn unavailable(backend: impl Into<String>, reason: impl Into<String>) -> Self {
        AuthError::Unavailable {
            backend: backend.into(),
            reason: reason.into(),
        }
    }

    /// True for errors that are temporary and should be reported as such
    /// (`[UNAVAILABLE]`, `[SYS/TEMP]`).
    pub fn is_temporary(&self) -> bool {
        matches!(self, AuthError::Unavailable { .. })
    }
}

/// Result alias for this crate.
pub type Result<T, E = AuthError> = std::result::Result<T, E>;
