//! The Courser server runtime: configuration, listeners, TLS, limits,
//! privilege dropping, change notification, and the connection drivers
//! that run the sans-IO protocol sessions over sockets.
//!
//! Data flow: [`runtime::run`] binds the [`config::Config`] listeners, drops
//! root ([`privilege`]), and accepts connections; each takes a
//! [`limits::ConnectionLimits`] slot and is served by the protocol's
//! driver ([`imap`], [`pop3`]), which the shared connection driver runs:
//! it feeds socket bytes to the sans-IO session, verifies credentials
//! ([`login`]), and in the per-user model hands the session to a worker
//! process ([`peruser`]); in proxy mode it logs the account in on its
//! backend and relays the session there ([`proxy`]; the PROXY protocol
//! header, read and written, is [`proxy_protocol`]). What every
//! connection shares is a
//! [`shared::Shared`]; IMAP IDLE waits for folder changes through
//! [`watch::Watcher`]. A logged-in session's commands run on blocking
//! threads, which answer the client's next command too while it follows
//! at once ([`linger`]).
#![forbid(unsafe_code)]

pub mod access;
pub mod arrival;
pub mod auth;
pub mod authd;
pub mod backend_config;
mod bounded;
pub mod config;
pub mod courier_import;
pub mod courier_log;
pub mod courier_rc;
mod driver;
pub mod failures;
mod helper_process;
pub mod imap;
pub mod limits;
pub mod linger;
pub mod login;
pub mod login_pool;
pub mod metrics;
pub mod peruser;
pub mod pop3;
pub mod privilege;
pub mod proxy;
pub mod proxy_config;
pub mod proxy_protocol;
pub mod refused;
pub mod runtime;
pub mod sendmail;
mod serve;
pub mod service;
mod session;
pub mod shared;
mod stream;
pub mod tls;
pub mod watch;

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the server could not start or a setup step failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config file is unreadable or invalid.
    #[error("{path}: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A certificate or key is unusable.
    #[error("TLS: {path}: {message}")]
    Tls {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A listener could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Switching users failed or was refused.
    #[error("privileges: {0}")]
    Privilege(String),
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The async runtime could not start.
    #[error("runtime: {0}")]
    Runtime(std::io::Error),
}
