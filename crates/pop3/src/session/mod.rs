//! The POP3 session state machine (RFC 1939 §3: AUTHORIZATION,
//! TRANSACTION, UPDATE): bytes in, bytes out.
//!
//! A [`Session`] owns the [`Decoder`] and the state. The server feeds it
//! what it read with [`Session::receive`]; the session appends responses
//! to an output buffer and returns an [`Action`] when the server must do
//! something only it can: check credentials and open the maildrop, start
//! TLS, or close. Maildrop calls are synchronous: the server runs
//! `receive` where blocking is allowed once the client is logged in.
//!
//! RETR and TOP send messages in bounded pieces: when a piece fills the
//! output, [`Session::has_pending_output`] is true and the server sends
//! the output and calls `receive` again before reading more.
//!
//! For metrics the session times its commands: after each call the server
//! drains [`Session::finished_commands`], one [`Finished`] per command with
//! the time the session spent on it.

mod auth;
mod transaction;
mod transfer;

use std::time::Instant;

pub use courser_protocol::Finished;
use courser_protocol::{Backpressure, CommandClock};

use courser_auth::sasl::{Credentials, Mechanism, Relay, SaslServer};

use crate::codec::respond;
use crate::codec::{Code, Command, Decoder, Event, Limits};
use crate::maildrop::Mailbox;
use transfer::Transfer;

/// What the server has to do after [`Session::receive`] returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send the output and read more.
    Continue,
    /// Check these credentials (with the failure delay), then call
    /// [`Session::login_succeeded`], [`Session::login_failed`] or
    /// [`Session::login_refused`], and `receive` again.
    Login {
        /// What the client proved itself with.
        credentials: Credentials,
    },
    /// SCRAM: pass the client's message to the process that runs the
    /// exchange, then call [`Session::relay_answer`] with its answer — or
    /// [`Session::login_failed`] when it refused or could not answer.
    Relay(Relay),
    /// Send the output, discard any bytes the client sent after STLS (they
    /// were not protected, RFC 2595 §4), start TLS, then call
    /// [`Session::tls_started`].
    StartTls,
    /// Send the output and close the connection.
    Close,
}

/// Facts about the connection the session cannot know by itself.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The connection is already inside TLS.
    pub tls_active: bool,
    /// STLS can be offered (TLS is configured and not yet active).
    pub stls_available: bool,
    /// Refuse USER, PASS and AUTH until TLS (RFC 2595 §2.1 advice on
    /// plaintext passwords).
    pub login_requires_tls: bool,
    /// Host name for the greeting and SASL.
    pub hostname: String,
    /// Line limits.
    pub limits: Limits,
}

/// Counters for the logout log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages sent by RETR.
    pub retr: u64,
    /// Messages sent (in part) by TOP.
    pub top: u64,
    /// Messages deleted at QUIT.
    pub deleted: u64,
    /// Message bytes RETR sent, as stored (before CRs and dot-stuffing
    /// are added): Courier's `retr=`.
    pub retr_bytes: u64,
    /// Message bytes TOP sent, counted the same way: Courier's `top=`.
    pub top_bytes: u64,
}

/// RFC 1939 §3 states.
enum State {
    Authorization {
        /// The name given with USER, waiting for PASS.
        user: Option<String>,
    },
    Transaction(Box<Transaction>),
    /// After QUIT (UPDATE done) or a fatal error.
    Closed,
}

/// The maildrop and the deletion marks.
struct Transaction {
    mailbox: Box<dyn Mailbox>,
    deleted: Vec<bool>,
}

enum Pending {
    /// An AUTH exchange waits for the client's response.
    Sasl(SaslServer),
    /// An AUTH exchange waits for the answer to a relayed message.
    Relay(SaslServer),
    /// The server checks credentials.
    Login,
    /// A message is being sent.
    Transfer(Transfer),
}

/// One POP3 connection's protocol state.
pub struct Session {
    config: SessionConfig,
    decoder: Decoder,
    state: State,
    pending: Option<Pending>,
    user: Option<String>,
    stats: Stats,
    /// SASL mechanisms the configured backends can serve.
    mechanisms: Vec<Mechanism>,
    /// The account the connection's verified TLS client certificate names
    /// (EXTERNAL is offered only with one).
    tls_identity: Option<String>,
    /// The command being worked on, with the time spent so far.
    clock: CommandClock,
    /// Stops new commands while the output is full (PIPELINING, RFC 2449
    /// §6.6).
    backpressure: Backpressure,
    /// XCLIENT is accepted (the connection comes from a trusted proxy).
    xclient: bool,
    /// What XCLIENT said of the proxy's client (names in upper case).
    forwarded: Vec<(String, String)>,
}

impl Session {
    /// A session in the AUTHORIZATION state.
    pub fn new(config: SessionConfig) -> Session {
        Session {
            decoder: Decoder::new(config.limits),
            config,
            state: State::Authorization { user: None },
            pending: None,
            user: None,
            stats: Stats::default(),
            mechanisms: vec![Mechanism::Plain, Mechanism::Login],
            tls_identity: None,
            clock: CommandClock::default(),
            backpressure: Backpressure::default(),
            xclient: false,
            forwarded: Vec::new(),
        }
    }

    /// The connection comes from a trusted proxy: the greeting says
    /// `[XCLIENT]` and XCLIENT may name the client it relays, before
    /// login (Dovecot's POP3 proxy protocol). Off by default: from
    /// anyone else XCLIENT is an unknown command.
    pub fn offer_xclient(&mut self, yes: bool) {
        self.xclient = yes;
    }

    /// A field the trusted proxy's XCLIENT sent (`ADDR`, `PORT`,
    /// `SESSION`).
    pub fn forwarded_field(&self, name: &str) -> Option<&str> {
        self.forwarded
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A session already logged in as `user` (for a preauthenticated
    /// `courser pop3d` over a tunnel).
    pub fn preauthenticated(
        config: SessionConfig,
        user: &str,
        mailbox: Box<dyn Mailbox>,
    ) -> Session {
        let mut s = Session::new(config);
        s.enter_transaction(user, mailbox);
        s
    }

    /// The greeting (RFC 1939 §4).
    pub fn greeting(&self, out: &mut Vec<u8>) {
        if self.is_authenticated() {
            respond::ok(out, "Courser POP3 server ready, logged in");
        } else if self.xclient {
            respond::ok(
                out,
                &format!(
                    "[XCLIENT] Courser POP3 server ready on {}",
                    self.config.hostname
                ),
            );
        } else {
            respond::ok(
                out,
                &format!("Courser POP3 server ready on {}", self.config.hostname),
            );
        }
    }

    /// The logged-in user, if any.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// Whether the client has logged in (for choosing the idle timeout).
    pub fn is_authenticated(&self) -> bool {
        matches!(self.state, State::Transaction(_))
    }

    /// Whether the session is over (the server closes after the output).
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// A message is being sent, or received commands wait for the output
    /// to be sent ([`courser_protocol::backpressure`]): send the output,
    /// then call [`Session::receive`] again before reading more.
    pub fn has_pending_output(&self) -> bool {
        matches!(self.pending, Some(Pending::Transfer(_))) || self.backpressure.is_held()
    }

    /// Counters for the logout log line.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Commands finished since the last call, oldest first. Drain after
    /// every call into the session (at most 4,096 are kept).
    pub fn finished_commands(&mut self) -> std::vec::Drain<'_, Finished> {
        self.clock.drain(self.pending.is_none())
    }

    /// Decodes and runs every complete command in `input` (consuming what
    /// it used), appending responses to `out`. Stops early when the server
    /// must act or a message transfer filled the output.
    pub fn receive(&mut self, input: &mut Vec<u8>, out: &mut Vec<u8>) -> Action {
        if let Some(Pending::Transfer(_)) = self.pending {
            let started = Instant::now();
            let Some(Pending::Transfer(t)) = self.pending.take() else {
                return Action::Continue;
            };
            let action = self.continue_transfer(t, out);
            self.clock.add(started, self.pending.is_none());
            if let Some(action) = action {
                return action;
            }
            if let Some(Pending::Transfer(_)) = self.pending {
                return Action::Continue;
            }
        }
        loop {
            // Checked first, so that it always describes the output now.
            if self.backpressure.full(out)
                || matches!(self.pending, Some(Pending::Login | Pending::Relay(_)))
                || self.is_closed()
            {
                return Action::Continue;
            }
            let started = Instant::now();
            let event = self.decoder.decode(input);
            if self.pending.is_none() {
                match &event {
                    Event::Command(command) => self
                        .clock
                        .begin(Some(command.name()), self.pending.is_none()),
                    Event::Bad(_) => self.clock.begin(None, self.pending.is_none()),
                    Event::SaslResponse(_) | Event::NeedMore => {}
                }
            }
            let action = match event {
                Event::NeedMore => return Action::Continue,
                Event::Bad(text) => {
                    if matches!(self.pending, Some(Pending::Sasl(_))) {
                        self.pending = None;
                        self.decoder.expect_command();
                        respond::err(out, None, &format!("Authentication failed: {text}"));
                    } else {
                        respond::err(out, None, &text);
                    }
                    Action::Continue
                }
                Event::SaslResponse(line) => self.sasl_response(&line, out),
                Event::Command(command) => self.command(command, out),
            };
            self.clock.add(started, self.pending.is_none());
            if action != Action::Continue {
                return action;
            }
            if self.has_pending_output() {
                return Action::Continue;
            }
        }
    }

    fn command(&mut self, command: Command, out: &mut Vec<u8>) -> Action {
        use Command as C;
        match command {
            C::Capa => {
                self.capa(out);
                Action::Continue
            }
            command => match self.state {
                State::Authorization { .. } => self.authorization(command, out),
                State::Transaction(_) => self.transaction(command, out),
                State::Closed => Action::Close,
            },
        }
    }

    /// CAPA (RFC 2449 §5); what is offered depends on the state (§6).
    fn capa(&self, out: &mut Vec<u8>) {
        respond::ok(out, "Capability list follows");
        for cap in ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"] {
            respond::line(out, cap);
        }
        if let State::Authorization { .. } = self.state {
            if !self.config.login_requires_tls {
                respond::line(out, "USER");
                respond::line(out, &format!("SASL {}", self.mechanism_names()));
            }
            if self.config.stls_available && !self.config.tls_active {
                respond::line(out, "STLS");
            }
        }
        respond::line(out, "IMPLEMENTATION Courser");
        respond::end(out);
    }

    fn enter_transaction(&mut self, user: &str, mailbox: Box<dyn Mailbox>) {
        let n = mailbox.messages().len();
        self.user = Some(user.to_owned());
        self.state = State::Transaction(Box::new(Transaction {
            mailbox,
            deleted: vec![false; n],
        }));
    }

    /// Ends the session after an error the client cannot recover from.
    fn fail(&mut self, code: Code, text: &str, out: &mut Vec<u8>) -> Action {
        respond::err(out, Some(code), text);
        self.pending = None;
        self.state = State::Closed;
        Action::Close
    }
}

#[cfg(test)]
mod tests;
