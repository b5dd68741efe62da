//! SASL server mechanisms as sans-IO state machines: PLAIN (RFC 4616),
//! LOGIN (draft-murchison-sasl-login), CRAM-MD5 (RFC 2195), CRAM-SHA1 and
//! CRAM-SHA256 (Courier's extensions of RFC 2195), SCRAM-SHA-1 and
//! SCRAM-SHA-256 (RFC 5802, RFC 7677) and EXTERNAL (RFC 4422 appendix A).
//!
//! A [`SaslServer`] never touches a socket or a backend. The protocol layer
//! drives it:
//!
//! ```text
//! IMAP:  C: A1 AUTHENTICATE PLAIN [initial-response]
//!        let mut s = SaslServer::new(Mechanism::from_name("PLAIN")?, &cfg);
//!        step = s.start(initial)            // decode_initial_response() first
//!   loop match step {
//!     Challenge(c) => S: "+ " encode_challenge(&c);  C: line
//!                     match decode_response(line) { Cancel => BAD, Data(d) => step = s.step(&d) }
//!     Done(creds)  => authenticator.verify(service, &creds)   (spawn_blocking)
//!     Failed(e)    => NO / BAD
//!   }
//! ```
//!
//! **Base64 is the caller's job**, through the helpers here:
//! [`decode_initial_response`] (IMAP SASL-IR / POP3 `AUTH` argument, where
//! `=` means an empty response), [`decode_response`] (a continuation line;
//! `*` cancels) and [`encode_challenge`]. The state machine sees and
//! produces raw bytes, which keeps it usable for SMAP and for tests.
//!
//! Mechanisms produce [`Credentials`]; checking them is
//! [`crate::Authenticator::verify`]. SCRAM-SHA-* runs where the keys are
//! (the authentication process, [`crate::scram::Exchange`]), never here:
//! after checking the client-first message's syntax the server returns
//! [`Step::Relay`] for every client message, the caller passes it on and
//! hands the answer to [`SaslServer::relay_answer`], which yields the
//! next step. The exchange ends in [`Step::Done`] with
//! [`Credentials::Scram`] naming it, right or wrong, so that the verdict
//! takes the caller's normal login path. EXTERNAL takes the identity the
//! TLS layer verified ([`SaslConfig::tls_identity`]) and accepts an
//! empty authorisation identity or that same one.

mod cram;
mod external;
mod login;
mod plain;

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use thiserror::Error;

use crate::backend::CramResponse;
use crate::cram::CramHash;
use crate::scram::{self, ScramError, ScramHash};

/// Longest decoded client response accepted, in bytes.
pub const MAX_RESPONSE_LEN: usize = 8192;

/// A SASL mechanism this server implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mechanism {
    /// PLAIN: `authzid NUL authcid NUL password`.
    Plain,
    /// LOGIN: `Username:` / `Password:` prompts.
    Login,
    /// CRAM-MD5, CRAM-SHA1 or CRAM-SHA256.
    Cram(CramHash),
    /// SCRAM-SHA-1 or SCRAM-SHA-256.
    Scram(ScramHash),
    /// EXTERNAL: the TLS client certificate names the account.
    External,
}

impl Mechanism {
    /// Every implemented mechanism, strongest first (Courier's order for
    /// the ones Courier has).
    pub const ALL: [Mechanism; 8] = [
        Mechanism::External,
        Mechanism::Scram(ScramHash::Sha256),
        Mechanism::Scram(ScramHash::Sha1),
        Mechanism::Cram(CramHash::Sha256),
        Mechanism::Cram(CramHash::Sha1),
        Mechanism::Cram(CramHash::Md5),
        Mechanism::Plain,
        Mechanism::Login,
    ];

    /// Parses a mechanism name (case-insensitive, RFC 4422 §3.1).
    pub fn from_name(name: &str) -> Option<Mechanism> {
        Mechanism::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// The registered name (`PLAIN`, `CRAM-MD5`, …).
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::Cram(h) => h.mechanism(),
            Mechanism::Scram(h) => h.mechanism(),
            Mechanism::External => "EXTERNAL",
        }
    }

    /// True if the password travels in the clear (PLAIN, LOGIN): offer it
    /// only over TLS unless configured otherwise.
    pub fn sends_password(self) -> bool {
        matches!(self, Mechanism::Plain | Mechanism::Login)
    }
}

/// The mechanisms to offer on one connection: those the backends can
/// serve ([`crate::Authenticator::mechanisms`]), plus EXTERNAL first when
/// a verified TLS client certificate names an account.
pub fn offered(backends: &[Mechanism], tls_identity: Option<&str>) -> Vec<Mechanism> {
    let external = tls_identity.map(|_| Mechanism::External);
    external
        .into_iter()
        .chain(
            backends
                .iter()
                .copied()
                .filter(|m| *m != Mechanism::External),
        )
        .collect()
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Settings the mechanisms need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslConfig {
    /// Host name placed in CRAM challenges (`<random@hostname>`).
    pub hostname: String,
    /// The account name from the connection's verified TLS client
    /// certificate, for EXTERNAL (which fails without one).
    pub tls_identity: Option<String>,
}

impl Default for SaslConfig {
    fn default() -> Self {
        let hostname = rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned();
        SaslConfig {
            hostname: if hostname.is_empty() {
                "cram".into()
            } else {
                hostname
            },
            tls_identity: None,
        }
    }
}

/// What a finished exchange yields: to be checked by
/// [`crate::Authenticator::verify`].
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A login name and password (PLAIN, LOGIN).
    Password {
        /// PLAIN's authorisation identity when it was given and equal to
        /// the login (others are refused by the mechanism).
        authzid: Option<String>,
        /// The authentication identity.
        login: String,
        /// The password, as sent (normally UTF-8, not guaranteed).
        password: Vec<u8>,
    },
    /// A CRAM response.
    Cram(CramResponse),
    /// A finished SCRAM exchange, which only the process that ran it
    /// can judge (by its `exchange` number): right, wrong and unknown
    /// logins all end here.
    Scram {
        /// The user name from the client-first message.
        login: String,
        /// The exchange, as the process running it numbered it.
        exchange: u64,
    },
    /// EXTERNAL: the TLS layer verified a client certificate naming this
    /// account (no password is checked: only build this from a verified
    /// certificate).
    External {
        /// The account name from the certificate.
        login: String,
    },
}

impl Credentials {
    /// The login name the client claims.
    pub fn login(&self) -> &str {
        match self {
            Credentials::Password { login, .. }
            | Credentials::Scram { login, .. }
            | Credentials::External { login } => login,
            Credentials::Cram(c) => &c.login,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Password { authzid, login, .. } => f
                .debug_struct("Password")
                .field("authzid", authzid)
                .field("login", login)
                .finish_non_exhaustive(),
            Credentials::Cram(c) => fmt::Debug::fmt(c, f),
            Credentials::Scram { login, exchange } => f
                .debug_struct("Scram")
                .field("login", login)
                .field("exchange", exchange)
                .finish(),
            Credentials::External { login } => {
                f.debug_struct("External").field("login", login).finish()
            }
        }
    }
}

/// Why an exchange failed. All of these are the client's fault (IMAP `NO`
/// or `BAD`), except [`SaslError::Internal`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SaslError {
    /// The client's data does not parse (bad base64, wrong field count,
    /// bad digest, not UTF-8, too long…).
    #[error("malformed SASL response: {0}")]
    Malformed(&'static str),
    /// CRAM takes no initial response.
    #[error("initial response not allowed for this mechanism")]
    InitialResponseNotAllowed,
    /// PLAIN, SCRAM or EXTERNAL with an authorisation identity other than
    /// the login; proxy authorisation is not supported.
    #[error("authorization identity differs from authentication identity")]
    AuthzidNotPermitted,
    /// EXTERNAL on a connection without a verified client certificate.
    #[error("no TLS client certificate identifies this connection")]
    NoExternalIdentity,
    /// SCRAM channel binding or extensions were asked for.
    #[error("{0}")]
    Unsupported(String),
    /// `start` or `step` called out of order.
    #[error("SASL exchange already finished")]
    Finished,
    /// No randomness for a challenge.
    #[error("internal error: {0}")]
    Internal(String),
}

/// What the server does next.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Send this challenge (raw; base64 it with [`encode_challenge`]) and
    /// feed the client's answer to [`SaslServer::step`].
    Challenge(Vec<u8>),
    /// The exchange is complete; verify these credentials.
    Done(Credentials),
    /// SCRAM: pass this client message to the process that runs the
    /// exchange and its answer to [`SaslServer::relay_answer`].
    Relay(Relay),
    /// The exchange failed.
    Failed(SaslError),
}

/// A SCRAM client message for the process that runs the exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relay {
    /// The user name from the client-first message, for the caller's
    /// log (the exchange's process reads its own from the message).
    pub login: String,
    /// The mechanism's hash.
    pub hash: ScramHash,
    /// `None` for the client-first message (a new exchange), then the
    /// number the process gave the exchange.
    pub exchange: Option<u64>,
    /// The client's message, decoded.
    pub data: Vec<u8>,
}

/// What the process running a SCRAM exchange answered to a [`Relay`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayAnswer {
    /// Send `data` to the client.
    Challenge {
        /// The exchange's number.
        exchange: u64,
        /// The server's message.
        data: Vec<u8>,
    },
    /// The exchange is over; the verdict comes with the login
    /// ([`Credentials::Scram`]).
    Done {
        /// The exchange's number.
        exchange: u64,
    },
}

#[derive(Debug)]
enum State {
    New,
    Plain,
    LoginUser,
    LoginPassword(String),
    Cram(Vec<u8>),
    External,
    /// SCRAM: waiting for the client-first message.
    ScramFirst(ScramHash),
    /// SCRAM: a client message is with the exchange's process, waiting
    /// for [`SaslServer::relay_answer`].
    ScramRelayed(ScramHash, String),
    /// SCRAM: waiting for the client's next message in `exchange`.
    ScramClient {
        hash: ScramHash,
        login: String,
        exchange: u64,
    },
    Finished,
}

/// One server-side SASL exchange. See the module documentation.
#[derive(Debug)]
pub struct SaslServer {
    mechanism: Mechanism,
    hostname: String,
    tls_identity: Option<String>,
    state: State,
}

impl SaslServer {
    /// A new exchange for `mechanism`.
    pub fn new(mechanism: Mechanism, config: &SaslConfig) -> Self {
        SaslServer {
            mechanism,
            hostname: config.hostname.clone(),
            tls_identity: config.tls_identity.clone(),
            state: State::New,
        }
    }

    /// The mechanism of this exchange.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// Starts the exchange. `initial_response` is the decoded SASL-IR
    /// argument if the client sent one (`Some(b"")` for `=`).
    pub fn start(&mut self, initial_response: Option<&[u8]>) -> Step {
        if !matches!(self.state, State::New) {
            return self.fail(SaslError::Finished);
        }
        if initial_response.is_some_and(|r| r.len() > MAX_RESPONSE_LEN) {
            return self.fail(SaslError::Malformed("response too long"));
        }
        match self.mechanism {
            Mechanism::Plain => match initial_response {
                Some(r) => self.finish(plain::parse(r)),
                None => {
                    self.state = State::Plain;
                    Step::Challenge(Vec::new())
                }
            },
            Mechanism::Login => match initial_response.filter(|r| !r.is_empty()) {
                Some(user) => match login::user(user) {
                    Ok(u) => {
                        self.state = State::LoginPassword(u);
                        Step::Challenge(login::PASSWORD_PROMPT.to_vec())
                    }
                    Err(e) => self.fail(e),
                },
                None => {
                    self.state = State::LoginUser;
                    Step::Challenge(login::USERNAME_PROMPT.to_vec())
                }
            },
            Mechanism::Cram(_) => {
                if initial_response.is_some_and(|r| !r.is_empty()) {
                    return self.fail(SaslError::InitialResponseNotAllowed);
                }
                match cram::challenge(&self.hostname) {
                    Ok(c) => self.start_cram_with(c),
                    Err(e) => self.fail(e),
                }
            }
            Mechanism::Scram(hash) => match initial_response {
                Some(r) => self.scram_first(hash, r),
                None => {
                    self.state = State::ScramFirst(hash);
                    Step::Challenge(Vec::new())
                }
            },
            Mechanism::External => match initial_response {
                Some(r) => self.external(r),
                None => {
                    self.state = State::External;
                    Step::Challenge(Vec::new())
                }
            },
        }
    }

    /// Starts a CRAM exchange with a given challenge instead of a random
    /// one (tests, or a front end that must reuse a challenge it already
    /// sent). Fails for other mechanisms.
    pub fn start_cram_with(&mut self, challenge: Vec<u8>) -> Step {
        if !matches!(self.mechanism, Mechanism::Cram(_)) || !matches!(self.state, State::New) {
            return self.fail(SaslError::Finished);
        }
        self.state = State::Cram(challenge.clone());
        Step::Challenge(challenge)
    }

    /// Feeds the client's (decoded) answer to the last challenge.
    pub fn step(&mut self, client_data: &[u8]) -> Step {
        if client_data.len() > MAX_RESPONSE_LEN {
            return self.fail(SaslError::Malformed("response too long"));
        }
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Plain => self.finish(plain::parse(client_data)),
            State::LoginUser => match login::user(client_data) {
                Ok(u) => {
                    self.state = State::LoginPassword(u);
                    Step::Challenge(login::PASSWORD_PROMPT.to_vec())
                }
                Err(e) => self.fail(e),
            },
            State::LoginPassword(user) => self.finish(Ok(Credentials::Password {
                authzid: None,
                login: user,
                password: client_data.to_vec(),
            })),
            State::Cram(challenge) => match self.mechanism {
                Mechanism::Cram(hash) => {
                    self.finish(cram::parse(hash, challenge, client_data).map(Credentials::Cram))
                }
                _ => self.fail(SaslError::Finished),
            },
            State::External => self.external(client_data),
            State::ScramFirst(hash) => self.scram_first(hash, client_data),
            State::ScramClient {
                hash,
                login,
                exchange,
            } => {
                self.state = State::ScramRelayed(hash, login.clone());
                Step::Relay(Relay {
                    login,
                    hash,
                    exchange: Some(exchange),
                    data: client_data.to_vec(),
                })
            }
            State::New | State::ScramRelayed(..) | State::Finished => {
                self.fail(SaslError::Finished)
            }
        }
    }

    /// Answers [`Step::Relay`] with what the exchange's process said:
    /// a challenge for the client, or the end of the exchange.
    pub fn relay_answer(&mut self, answer: RelayAnswer) -> Step {
        let State::ScramRelayed(hash, login) = std::mem::replace(&mut self.state, State::Finished)
        else {
            return self.fail(SaslError::Finished);
        };
        match answer {
            RelayAnswer::Challenge { exchange, data } => {
                self.state = State::ScramClient {
                    hash,
                    login,
                    exchange,
                };
                Step::Challenge(data)
            }
            RelayAnswer::Done { exchange } => {
                self.finish(Ok(Credentials::Scram { login, exchange }))
            }
        }
    }

    /// The client-first message: checked here for syntax (a malformed
    /// one is the client's error, answered at once), then relayed.
    fn scram_first(&mut self, hash: ScramHash, data: &[u8]) -> Step {
        match scram::parse_client_first(data) {
            Ok(first) => {
                self.state = State::ScramRelayed(hash, first.login.clone());
                Step::Relay(Relay {
                    login: first.login,
                    hash,
                    exchange: None,
                    data: data.to_vec(),
                })
            }
            Err(e) => self.fail(scram_error(e)),
        }
    }

    fn external(&mut self, authzid: &[u8]) -> Step {
        let identity = self.tls_identity.clone();
        self.finish(external::check(identity, authzid))
    }

    fn finish(&mut self, r: Result<Credentials, SaslError>) -> Step {
        self.state = State::Finished;
        match r {
            Ok(c) => Step::Done(c),
            Err(e) => Step::Failed(e),
        }
    }

    fn fail(&mut self, e: SaslError) -> Step {
        self.state = State::Finished;
        Step::Failed(e)
    }
}

/// SCRAM's errors in SASL terms.
fn scram_error(e: ScramError) -> SaslError {
    match e {
        ScramError::Malformed(what) => SaslError::Malformed(what),
        ScramError::Unsupported("authorization identity") => SaslError::AuthzidNotPermitted,
        ScramError::Unsupported(what) => SaslError::Unsupported(format!("{what} not supported")),
        ScramError::Failed => SaslError::Malformed("SCRAM exchange out of order"),
    }
}

/// A decoded client continuation line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientResponse {
    /// The decoded data.
    Data(Vec<u8>),
    /// The client sent `*`: abort the exchange (IMAP `BAD`, POP3 `-ERR`).
    Cancel,
}

/// Decodes one continuation line (without CRLF): `*` cancels, anything
/// else must be base64 (RFC 4648 with padding; surrounding blanks
/// ignored). An empty line is empty data.
pub fn decode_response(line: &[u8]) -> Result<ClientResponse, SaslError> {
    let line = line.trim_ascii();
    if line == b"*" {
        return Ok(ClientResponse::Cancel);
    }
    decode_b64(line).map(ClientResponse::Data)
}

/// Decodes an initial response (IMAP SASL-IR, POP3 `AUTH mech arg`):
/// `=` is the empty response (RFC 4959), anything else base64.
pub fn decode_initial_response(arg: &[u8]) -> Result<Vec<u8>, SaslError> {
    let arg = arg.trim_ascii();
    if arg == b"=" {
        return Ok(Vec::new());
    }
    decode_b64(arg)
}

fn decode_b64(data: &[u8]) -> Result<Vec<u8>, SaslError> {
    if data.len() > MAX_RESPONSE_LEN.div_ceil(3) * 4 {
        return Err(SaslError::Malformed("response too long"));
    }
    B64.decode(data)
        .map_err(|_| SaslError::Malformed("invalid base64"))
}

/// Base64 of a challenge, as sent after `+ ` (IMAP) or `+ ` (POP3). An
/// empty challenge encodes as the empty string.
pub fn encode_challenge(challenge: &[u8]) -> String {
    B64.encode(challenge)
}

#[cfg(test)]
mod tests;
