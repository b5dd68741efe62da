//! A client of Courier's authdaemond socket (spec §3), so that a site can
//! keep its running authdaemond and every module configured in it.
//!
//! One connection per request, as Courier's client library does: connect,
//! write the request, read the reply, close. Timeouts follow Courier's
//! (connect and write 10 s, read 30 s; the read timeout is configurable).
//!
//! Mapping to [`Verdict`]:
//! * a record → `Accepted`;
//! * `FAIL` → `Unknown`: authdaemond says `FAIL` both for an unknown user
//!   and for a wrong password, so later backends are consulted (which is
//!   what authdaemond itself does between its modules);
//! * no socket, refused connection, timeout, a closed connection without
//!   a reply, or garbage → [`AuthError::Unavailable`].
//!
//! `PASSWD` ([`crate::Backend::change_password`]) forwards a password
//! change; the daemon checks the old password and its modules store the
//! new one.
//!
//! `ENUMERATE` ([`crate::Backend::enumerate`]) streams the daemon's list
//! (every module's accounts, `DEFAULTOPTIONS` merged) line by line; a
//! list without its final `.` is incomplete, an error.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::backend::{Entry, Verdict};
use crate::enumerate::{self, Sink};
use crate::error::AuthError;
use crate::passwd::DEFAULT_PASSWD;
use crate::wire::{self, Reply, Request};

/// Debian's authdaemond socket.
pub const DEFAULT_SOCKET: &str = "/var/run/courier/authdaemon/socket";

/// What both wire clients (authdaemond, authpipe) are configured with.
#[derive(Debug, Clone)]
pub(crate) struct WireOptions {
    /// Backend name for logs and errors.
    pub name: String,
    /// How long to wait for a reply.
    pub timeout: Duration,
    /// Advertise CRAM-* (the protocol cannot tell).
    pub cram: bool,
    /// The passwd file that resolves `USERNAME=` replies.
    pub passwd: PathBuf,
}

impl WireOptions {
    pub(crate) fn new(name: &str) -> Self {
        WireOptions {
            name: name.into(),
            timeout: Duration::from_secs(30),
            cram: false,
            passwd: PathBuf::from(DEFAULT_PASSWD),
        }
    }
}

/// The builder methods both wire clients offer.
macro_rules! wire_builders {
    () => {
        /// How long to wait for a reply (default 30 s, Courier's
        /// `TIMEOUT_READ`).
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.opts.timeout = timeout;
            self
        }

        /// Declare that the other side can answer CRAM (it has clear
        /// passwords or HMAC keys), so CRAM-* is advertised. Default off:
        /// nothing in the protocol tells.
        pub fn cram(mut self, yes: bool) -> Self {
            self.opts.cram = yes;
            self
        }

        /// The passwd file that resolves `USERNAME=` replies.
        pub fn passwd_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
            self.opts.passwd = path.into();
            self
        }
    };
}
pub(crate) use wire_builders;

/// A way to send one request and read its answer; [`Backend`] is
/// implemented once over it ([`wire_backend`]).
pub(crate) trait WireClient {
    fn options(&self) -> &WireOptions;

    /// Sends `request` (wire bytes) and reads the answer with `read`.
    /// With `long` the answer may be long (an account list): the timeout
    /// then bounds each read rather than the whole answer.
    fn exchange<T>(
        &self,
        request: &[u8],
        long: bool,
        read: impl FnOnce(&mut dyn BufRead) -> Result<T, wire::WireError>,
    ) -> Result<T, AuthError>;

    /// One `PRE` or `AUTH` request and its reply.
    fn call(&self, request: &Request) -> Result<Reply, AuthError> {
        let encoded = request
            .encode()
            // A login the protocol cannot carry cannot be anyone's.
            .map_err(|_| AuthError::Failed)?;
        let reply = self.exchange(&encoded, false, |mut r| wire::read_reply(&mut r))?;
        tracing::debug!(backend = %self.options().name, ?request, ?reply, "wire call");
        Ok(reply)
    }
}

/// `ENUMERATE`: the accounts the other side lists, streamed to `each`.
pub(crate) fn wire_enumerate(c: &impl WireClient, each: &mut Sink<'_>) -> Result<(), AuthError> {
    c.exchange(enumerate::REQUEST, true, |mut r| {
        enumerate::read_answer(&mut r, each)
    })
    .map(|_| ())
}

fn to_entry(o: &WireOptions, reply: Reply, login: &str) -> Result<Option<Entry>, AuthError> {
    match reply {
        Reply::Fail => Ok(None),
        Reply::Record(fields) => wire::record_to_entry(&fields, login, &o.passwd)
            .map(Some)
            .map_err(|e| AuthError::unavailable(&o.name, e.to_string())),
    }
}

/// `PRE`.
pub(crate) fn wire_lookup(
    c: &impl WireClient,
    service: &str,
    login: &str,
) -> Result<Option<Entry>, AuthError> {
    if login.contains([' ', '\n']) {
        return Ok(None);
    }
    let request = Request::Pre {
        service: service.into(),
        login: login.into(),
    };
    to_entry(c.options(), c.call(&request)?, login)
}

/// `AUTH` with a password or a CRAM response. `FAIL` is `Unknown` (see
/// the module documentation).
pub(crate) fn wire_auth(c: &impl WireClient, request: Request) -> Result<Verdict, AuthError> {
    if request.encode().is_err() {
        // A password with a newline cannot be sent, and cannot match.
        return Ok(Verdict::Rejected);
    }
    let login = match &request {
        Request::Login { login, .. } => login.clone(),
        Request::Cram { cram, .. } => cram.login.clone(),
        Request::Pre { login, .. } | Request::Passwd { login, .. } => login.clone(),
    };
    Ok(match to_entry(c.options(), c.call(&request)?, &login)? {
        None => Verdict::Unknown,
        Some(e) => Verdict::Accepted(e.account),
    })
}

/// `PASSWD`: the other side checks `old` and stores `new`. `FAIL` after
/// the old password was accepted means no module there could change it.
pub(crate) fn wire_passwd(
    c: &impl WireClient,
    service: &str,
    login: &str,
    old: &[u8],
    new: &[u8],
) -> Result<(), AuthError> {
    let request = Request::Passwd {
        service: service.into(),
        login: login.into(),
        old: old.to_vec(),
        new: new.to_vec(),
    };
    let encoded = request
        .encode()
        .map_err(|_| AuthError::NewPasswordRefused("it holds a TAB, which PASSWD cannot carry"))?;
    let changed = c.exchange(&encoded, false, |mut r| wire::read_passwd_reply(&mut r))?;
    tracing::debug!(backend = %c.options().name, ?request, changed, "wire call");
    if changed {
        Ok(())
    } else {
        Err(AuthError::Unsupported {
            backend: c.options().name.clone(),
            operation: "change this password (PASSWD answered FAIL)",
        })
    }
}

/// Implements [`Backend`] for a [`WireClient`].
macro_rules! wire_backend {
    ($t:ty) => {
        impl $crate::backend::Backend for $t {
            fn name(&self) -> &str {
                &self.opts.name
            }

            fn lookup(
                &self,
                service: &str,
                login: &str,
            ) -> Result<Option<$crate::backend::Entry>, $crate::error::AuthError> {
                $crate::authdaemond::wire_lookup(self, service, login)
            }

            fn authenticate(
                &self,
                service: &str,
                login: &str,
                password: &[u8],
            ) -> Result<$crate::backend::Verdict, $crate::error::AuthError> {
                let request = $crate::wire::Request::Login {
                    service: service.into(),
                    login: login.into(),
                    password: password.to_vec(),
                };
                $crate::authdaemond::wire_auth(self, request)
            }

            fn authenticate_cram(
                &self,
                service: &str,
                cram: &$crate::backend::CramResponse,
            ) -> Result<$crate::backend::Verdict, $crate::error::AuthError> {
                let request = $crate::wire::Request::Cram {
                    service: service.into(),
                    cram: cram.clone(),
                };
                $crate::authdaemond::wire_auth(self, request)
            }

            fn change_password(
                &self,
                service: &str,
                login: &str,
                old: &[u8],
                new: &[u8],
            ) -> Result<(), $crate::error::AuthError> {
                $crate::authdaemond::wire_passwd(self, service, login, old, new)
            }

            fn supports_cram(&self) -> bool {
                self.opts.cram
            }

            fn enumerate(
                &self,
                each: &mut $crate::enumerate::Sink<'_>,
            ) -> Result<(), $crate::error::AuthError> {
                $crate::authdaemond::wire_enumerate(self, each)
            }
        }
    };
}
pub(crate) use wire_backend;

/// The authdaemond client backend.
#[derive(Debug, Clone)]
pub struct AuthdaemondBackend {
    opts: WireOptions,
    socket: PathBuf,
}

impl AuthdaemondBackend {
    /// A client of the daemon listening on `socket`.
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        AuthdaemondBackend {
            opts: WireOptions::new("authdaemond"),
            socket: socket.into(),
        }
    }

    /// The name used in logs and errors (the helper client calls itself
    /// after the backend it fronts).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.opts.name = name.into();
        self
    }

    wire_builders!();

    /// The socket path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}

impl WireClient for AuthdaemondBackend {
    fn options(&self) -> &WireOptions {
        &self.opts
    }

    /// One connection per request. The read timeout is per read, so it
    /// bounds a long answer's pauses, not its length.
    fn exchange<T>(
        &self,
        request: &[u8],
        _long: bool,
        read: impl FnOnce(&mut dyn BufRead) -> Result<T, wire::WireError>,
    ) -> Result<T, AuthError> {
        let unavailable = |what: &str, e: &dyn std::fmt::Display| {
            AuthError::unavailable(
                &self.opts.name,
                format!("{}: {what}: {e}", self.socket.display()),
            )
        };
        let mut stream =
            UnixStream::connect(&self.socket).map_err(|e| unavailable("connect", &e))?;
        stream
            .set_write_timeout(Some(Duration::from_secs(10)))
            .and_then(|()| stream.set_read_timeout(Some(self.opts.timeout)))
            .map_err(|e| unavailable("socket", &e))?;
        stream
            .write_all(request)
            .map_err(|e| unavailable("write", &e))?;
        read(&mut BufReader::new(&mut stream)).map_err(|e| unavailable("reply", &e))
    }
}

wire_backend!(AuthdaemondBackend);
