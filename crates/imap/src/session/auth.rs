//! STARTTLS, LOGIN and AUTHENTICATE (RFC 3501 §6.2; SASL-IR RFC 4959).

use courser_auth::sasl::{Credentials, Mechanism, SaslConfig, SaslServer, Step};
use courser_maildir::Store;

use super::reply::Reply;
use super::{Action, Pending, Session, State};
use crate::codec::respond::{self, Code};
use crate::codec::Tag;

/// An AUTHENTICATE exchange waiting for the client's next response.
pub(crate) struct SaslState {
    tag: Tag,
    server: SaslServer,
}

/// Mechanisms always offered; CRAM-* only with backend support
/// ([`Session::offer_cram`]).
const MECHANISMS: &[Mechanism] = &[Mechanism::Plain, Mechanism::Login];

impl Session {
    pub(super) fn starttls(&mut self, tag: Tag, out: &mut Vec<u8>) -> Action {
        if self.config.tls_active {
            Reply::bad(out, &tag, "TLS is already active");
            return Action::Continue;
        }
        if !self.config.starttls_available {
            Reply::no(
                out,
                &tag,
                Some(Code::Cannot),
                "STARTTLS is not available here",
            );
            return Action::Continue;
        }
        Reply::ok(out, &tag, "Begin TLS negotiation now");
        Action::StartTls
    }

    /// The server finished the TLS handshake after STARTTLS. The protocol
    /// state starts over (RFC 3501 §6.2.1: discard cached capabilities).
    pub fn tls_started(&mut self) {
        self.config.tls_active = true;
        self.config.starttls_available = false;
        self.decoder.expect_command();
    }

    /// Refuses a login command sent in the clear where TLS is required
    /// (RFC 3501 §6.2.3 LOGINDISABLED); true when it did.
    fn refuse_plaintext(&self, tag: &str, verb: &str, out: &mut Vec<u8>) -> bool {
        if self.login_disabled() {
            let text = format!("Use STARTTLS before {verb}");
            Reply::no(out, tag, Some(Code::PrivacyRequired), &text);
        }
        self.login_disabled()
    }

    pub(super) fn login(
        &mut self,
        tag: Tag,
        username: Vec<u8>,
        password: Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Action {
        if self.refuse_plaintext(&tag, "LOGIN", out) {
            return Action::Continue;
        }
        let Ok(login) = String::from_utf8(username) else {
            Reply::no(
                out,
                &tag,
                Some(Code::AuthenticationFailed),
                "Authentication failed",
            );
            return Action::Continue;
        };
        self.pending = Some(Pending::Login(tag.clone()));
        Action::Login {
            tag,
            credentials: Credentials::Password {
                authzid: None,
                login,
                password,
            },
        }
    }

    pub(super) fn authenticate(
        &mut self,
        tag: Tag,
        mechanism: &str,
        initial_response: Option<Vec<u8>>,
        out: &mut Vec<u8>,
    ) -> Action {
        if self.refuse_plaintext(&tag, "AUTHENTICATE", out) {
            return Action::Continue;
        }
        let offered =
            |m: &Mechanism| MECHANISMS.contains(m) || (self.cram && m.needs_cram_backend());
        let Some(mech) = Mechanism::from_name(mechanism).filter(offered) else {
            Reply::no(
                out,
                &tag,
                Some(Code::Cannot),
                "Unsupported authentication mechanism",
            );
            return Action::Continue;
        };
        let config = SaslConfig {
            hostname: self.config.hostname.clone(),
        };
        let mut server = SaslServer::new(mech, &config);
        let step = server.start(initial_response.as_deref());
        self.sasl_step(SaslState { tag, server }, step, out)
    }

    /// The client answered a challenge (`None`: it cancelled with `*`).
    pub(super) fn auth_data(&mut self, data: Option<Vec<u8>>, out: &mut Vec<u8>) -> Action {
        let Some(Pending::Auth(mut state)) = self.pending.take() else {
            Reply::untagged_bad(out, "Unexpected authentication data");
            return Action::Continue;
        };
        self.decoder.expect_command();
        match data {
            None => {
                Reply::bad(out, &state.tag, "AUTHENTICATE cancelled");
                Action::Continue
            }
            Some(data) => {
                let step = state.server.step(&data);
                self.sasl_step(state, step, out)
            }
        }
    }

    /// The client's answer to a challenge was not valid base64 (RFC 3501
    /// §6.2.2: the exchange fails with BAD).
    pub(super) fn auth_broken(&mut self, text: &str, out: &mut Vec<u8>) {
        self.decoder.expect_command();
        if let Some(Pending::Auth(state)) = self.pending.take() {
            Reply::bad(out, &state.tag, text);
        }
    }

    fn sasl_step(&mut self, state: SaslState, step: Step, out: &mut Vec<u8>) -> Action {
        match step {
            Step::Challenge(challenge) => {
                respond::continuation_base64(out, &challenge);
                self.decoder.expect_authenticate_data();
                self.pending = Some(Pending::Auth(state));
                Action::Continue
            }
            Step::Done(credentials) => {
                self.pending = Some(Pending::Login(state.tag.clone()));
                Action::Login {
                    tag: state.tag,
                    credentials,
                }
            }
            Step::Failed(e) => {
                Reply::bad(out, &state.tag, &format!("AUTHENTICATE failed: {e}"));
                Action::Continue
            }
            _ => {
                Reply::no(out, &state.tag, Some(Code::Cannot), "AUTHENTICATE failed");
                Action::Continue
            }
        }
    }

    /// The server accepted the credentials: `user` now owns `store`.
    pub fn login_succeeded(&mut self, user: &str, store: Store, out: &mut Vec<u8>) {
        let tag = self.take_login_tag();
        self.user = Some(user.to_owned());
        self.store = Some(store);
        self.state = State::Authenticated;
        let caps = self.capabilities().iter().map(|c| c.to_string()).collect();
        Reply::ok_code(out, &tag, Code::Capability(caps), "LOGIN completed");
    }

    /// The server refused the credentials. `temporary` when a backend was
    /// unreachable, so the client does not think the password is wrong.
    pub fn login_failed(&mut self, temporary: bool, out: &mut Vec<u8>) {
        let tag = self.take_login_tag();
        if temporary {
            Reply::no(
                out,
                &tag,
                Some(Code::Unavailable),
                "Temporary authentication failure, try again later",
            );
        } else {
            Reply::no(
                out,
                &tag,
                Some(Code::AuthenticationFailed),
                "Authentication failed",
            );
        }
    }

    /// The account exists but may not use IMAP (e.g. `disableimap=1`).
    pub fn login_refused(&mut self, reason: &str, out: &mut Vec<u8>) {
        let tag = self.take_login_tag();
        Reply::no(out, &tag, Some(Code::ContactAdmin), reason);
    }

    /// The account is at one of its connection limits.
    pub fn login_limited(&mut self, reason: &str, out: &mut Vec<u8>) {
        let tag = self.take_login_tag();
        Reply::no(out, &tag, Some(Code::Limit), reason);
    }

    fn take_login_tag(&mut self) -> Tag {
        match self.pending.take() {
            Some(Pending::Login(tag)) => tag,
            _ => "*".into(),
        }
    }
}
