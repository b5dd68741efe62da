//! Accounts and authentication, compatible with Courier's authlib: the
//! same userdb, the same stored passwords, the same account options.
//!
//! # Data flow
//!
//! ```text
//!  client bytes ──► sasl::SaslServer ──► sasl::Credentials ─┐
//!  SCRAM: Step::Relay ⇄ scram::Exchange (auth process)      │
//!  (IMAP LOGIN / POP3 USER+PASS: login + password) ─────────┤
//!                                                           ▼
//!                           Authenticator::verify / authenticate / authenticate_cram
//!                             │  normalises the login (DEFDOMAIN)
//!                             │  tries each Backend in order
//!                             ▼
//!              Backend::authenticate ── default: lookup() → Entry → password::verify
//!                   (userdb, passwd/shadow, SQL, LDAP look up and compare;
//!                    PAM, LDAP bind, authpipe, authdaemond verify themselves)
//!                             ▼
//!                   Account { login, uid, gid, home, maildir, quota, options }
//!                   or AuthError::{Failed, Unavailable}
//! ```
//!
//! # Main types
//!
//! * [`Account`] and [`Options`] — the account record (Courier's
//!   `authinfo`) with typed access to `disableimap`, `group=`, `mailhost`…
//! * [`Backend`], [`Entry`], [`Verdict`] — one account source and what it
//!   returns; [`Authenticator`] — the ordered list of backends.
//! * [`AuthError`] — `Failed` (wrong credentials or no such user: the
//!   client's problem) versus `Unavailable` (temporary: `[UNAVAILABLE]`).
//! * [`enumerate`] — listing every account ([`Backend::enumerate`],
//!   [`Authenticator::enumerate`]; Courier's `authenumerate`) and its
//!   line format, for shared folder indexes.
//! * [`password`] — every stored scheme Courier accepts, and hashing for
//!   `courser pw`; [`cram`] — CRAM HMACs and userdb's stored HMAC
//!   contexts.
//! * [`sasl`] — PLAIN, LOGIN, CRAM-*, SCRAM-* and EXTERNAL as sans-IO
//!   state machines; [`scram`] — the SCRAM-SHA-1/256 exchange, the RFC
//!   5803 key format, where keys come from
//!   ([`Authenticator::scram_keys`]) and the server side
//!   ([`scram::Exchange`]).
//! * [`userdb`] — Courier's userdb source read directly (file or
//!   directory, reloaded on change) or compiled into a constant database
//!   for large lists, and edited like Courier's `userdb` tool; [`tools`] —
//!   helpers for the command-line tools.
//!
//! * Backends: [`userdb`], [`passwd`] (passwd + shadow files), [`pam`],
//!   [`sql`] (PostgreSQL, MariaDB/MySQL, SQLite), [`ldap`], [`authpipe`]
//!   (an external program) and [`authdaemond`] (a client of Courier's
//!   daemon); [`wire`] is the authdaemond/authpipe protocol.
//!   [`courier_rc`] reads Courier's
//!   authmysqlrc/authpgsqlrc/authsqliterc/authldaprc into SQL and LDAP
//!   settings.
//!
//! All calls are blocking and some are CPU-heavy on purpose (bcrypt,
//! yescrypt): an async server calls them through `spawn_blocking`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod account;
pub mod authdaemond;
mod authenticator;
pub mod authpipe;
pub mod backend;
#[cfg(any(feature = "sql", feature = "ldap"))]
pub mod courier_rc;
pub mod cram;
pub mod enumerate;
mod error;
mod hex;
#[cfg(feature = "ldap")]
pub mod ldap;
#[cfg(any(feature = "sql", feature = "ldap"))]
mod none_as_empty;
#[cfg(feature = "pam")]
pub mod pam;
pub mod passwd;
pub mod password;
pub mod sasl;
pub mod scram;
#[cfg(feature = "sql")]
pub mod sql;
pub mod tools;
pub mod userdb;
pub mod wire;

pub use account::{Account, Options};
pub use authenticator::{
    Authenticator, Checked, DefaultDomain, DEFAULT_MAX_PASSWORD_LEN, MAX_LOGIN_LEN,
};
pub use backend::{Backend, CramResponse, Entry, Verdict};
pub use cram::{CramHash, HmacContext};
pub use error::{AuthError, Result};
pub use password::Scheme;
pub use sasl::{Credentials, Mechanism, SaslConfig, SaslServer, Step};
pub use userdb::UserdbBackend;
