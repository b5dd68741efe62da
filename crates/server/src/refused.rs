//! Why a client that tried to log in was not let in: what the login
//! checks decide, the protocols word and the metrics count.

/// Why a login was not let in ([`crate::login::admit`]); each protocol
/// words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Wrong credentials (after the failure delay), or `temporary`: a
    /// backend could not answer.
    Failed {
        /// A backend was unavailable; the password may be right.
        temporary: bool,
    },
    /// The account may not use this service here (`disable<service>`,
    /// `disableinsecure<service>` without TLS).
    ServiceDisabled,
    /// Shared mode: the account's uid is not the one this server runs as;
    /// per-user mode: the account has uid 0.
    WrongUid,
    /// A per-account connection limit.
    Limited(&'static str),
    /// The account's home has the sticky bit set: Courier's maintenance
    /// lock ([`crate::arrival::home_locked`]).
    Locked,
    /// Proxy mode: the account's backend could not be reached or would
    /// not log it in.
    Unreachable,
}
