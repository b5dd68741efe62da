//! The authentication process (DESIGN.md "Process model"; Courier's
//! authdaemond and Dovecot's auth process are the models).
//!
//! `courser serve` starts `courser auth-server` (its own executable)
//! first, while still root, in both process models. That process alone
//! builds the backends: it reads userdb files, shadow, SQL and LDAP
//! settings and runs PAM, with the privilege it was started with (root
//! when the server starts as root: Courier's userdb is root-owned, mode
//! 0600). The front end, which parses client bytes and runs as `run_as`,
//! never holds an account source; it asks over a socket pair made before
//! either process started — no path in the file system that a less
//! privileged user could swap.
//!
//! * [`wire`] — the protocol: versioned, length-prefixed binary frames,
//!   sans I/O.
//! * [`service`] — the process: a pool of threads checking credentials
//!   with the ordinary [`courser_auth::Authenticator`] (so unknown-login
//!   timing padding works as before), and the ticket table.
//! * [`client`] — the front end's blocking, multiplexed client.
//! * [`tickets`] — per-user model: a successful login returns a one-time
//!   ticket; the spawner, over its own socket pair to this process,
//!   redeems it for the account's uid, gid, login, home and maildir. The
//!   front end never names the ids a worker runs as.
//!
//! * [`exchanges`] — the SCRAM exchanges this process runs.
//! * [`limiter`] — its own limits on password guessing.
//!
//! SASL: PLAIN and LOGIN send the password, CRAM-* the challenge and the
//! digest; the check happens here. SCRAM-* runs here as well
//! ([`courser_auth::scram::Exchange`]): the front end relays each client
//! message and gets back the server's messages (salt, iterations, nonce,
//! server signature — what RFC 5802 sends any client) and, at the end,
//! asks the verdict once. StoredKey and ServerKey, which would let the
//! front end test guesses offline, never leave this process. EXTERNAL
//! sends the name from the verified client certificate, accepted only
//! when `[tls] client_ca` is set (the certificate itself is checked in
//! the front end, where TLS ends). Password hashes, clear passwords and
//! CRAM secrets never leave this process. The front end sends each check
//! with the client's address and sleeps the failure delay; this process
//! refuses checks by the same rule itself ([`limiter`]), so a front end
//! that does not sleep guesses no faster. The unknown-login padding stays
//! with the backends, here, and is slept by the front end.
//!
//! The process exits when the front end's socket closes. When the server
//! runs as an ordinary user (tests, development) the same process runs as
//! that user: one code path.

pub mod client;
pub mod exchanges;
pub mod limiter;
pub mod service;
pub mod tickets;
pub mod wire;

use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Stdio};

pub use client::{AuthClient, Verified};

use crate::config::Config;
use crate::Error;

/// The running authentication process; dropping it ends the process.
#[derive(Debug)]
pub struct AuthProcess {
    child: Child,
    /// The front end's end of the channel, to close it at the end (the
    /// process may run as root, out of reach of our signals).
    channel: UnixStream,
}

impl AuthProcess {
    /// Starts `courser auth-server` with `config` and returns its client.
    /// `spawner`: the authentication process's end of the spawner's
    /// socket pair (per-user model). `config_path` is what reloads
    /// re-read.
    pub fn start(
        config: &Config,
        config_path: Option<&Path>,
        spawner: Option<UnixStream>,
    ) -> Result<(AuthProcess, AuthClient), Error> {
        let fail = |message: String| Error::Config {
            path: "[auth]".into(),
            message,
        };
        let (ours, theirs) = UnixStream::pair().map_err(Error::Runtime)?;
        let mut command = crate::helper_process::command("auth-server");
        if let Some(path) = config_path {
            command.arg("--config").arg(path);
        }
        command
            .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
            .stdout(
                spawner.map_or_else(Stdio::null, |s| Stdio::from(std::os::fd::OwnedFd::from(s))),
            );
        let child = command
            .spawn()
            .map_err(|e| fail(format!("cannot start the auth server: {e}")))?;
        // The command holds our copy of the child's ends: while it lives,
        // a child that exits at start (a backend it cannot build) would
        // never show as end of file, and the start would wait for ever.
        drop(command);
        let process = AuthProcess {
            child,
            channel: ours.try_clone().map_err(Error::Runtime)?,
        };
        tracing::info!(pid = process.child.id(), "authentication process started");
        let client = AuthClient::connect(ours, config.to_toml()).map_err(fail)?;
        Ok((process, client))
    }
}

impl Drop for AuthProcess {
    fn drop(&mut self) {
        // End of file on its standard input ends the process.
        let _ = self.channel.shutdown(std::net::Shutdown::Both);
        let _ = self.child.wait();
    }
}
