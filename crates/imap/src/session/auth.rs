//! STARTTLS, LOGIN and AUTHENTICATE (RFC 3501 §6.2; SASL-IR RFC 4959).

use courser_auth::sasl::{self, Credentials, Mechanism, RelayAnswer, SaslConfig, SaslServer, Step};

use super::reply::Reply;
use super::{Action, Pending, Session, SessionConfig, State};
use crate::codec::parse::SMAP_TAG;
use crate::codec::respond::{self, Code};
use crate::codec::Tag;
use crate::mailstore::MailStore;

/// An AUTHENTICATE exchange waiting for the client's next response.
pub(crate) struct SaslState {
    tag: Tag,
    server: SaslServer,
}

impl Session {
    /// The mechanisms this connection offers: the backends' and, with a
    /// verified client certificate, EXTERNAL.
    pub(super) fn offered_mechanisms(&self) -> Vec<Mechanism> {
        sasl::offered(&self.mechanisms, self.tls_identity.as_deref())
    }

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
        let offered = self.offered_mechanisms();
        let Some(mech) = Mechanism::from_name(mechanism).filter(|m| offered.contains(m)) else {
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
            tls_identity: self.tls_identity.clone(),
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
                let at = out.len();
                respond::continuation_base64(out, &challenge);
                if state.tag == SMAP_TAG {
                    // SMAP's challenge line starts `>` where IMAP's has `+`.
                    out[at] = b'>';
                }
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
            Step::Relay(relay) => {
                self.pending = Some(Pending::Relay(state));
                Action::Relay(relay)
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

    /// The server's answer to [`Action::Relay`]: what the process
    /// running the SCRAM exchange answered. Returns the next action (a
    /// challenge for the client, or the login to check).
    pub fn relay_answer(&mut self, answer: RelayAnswer, out: &mut Vec<u8>) -> Action {
        let Some(Pending::Relay(mut state)) = self.pending.take() else {
            return Action::Continue;
        };
        let step = state.server.relay_answer(answer);
        self.sasl_step(state, step, out)
    }

    /// A session whose LOGIN or AUTHENTICATE command `tag` another
    /// process verified (the per-user model's hand-over): it answers with
    /// [`Session::login_succeeded`] or [`Session::login_failed`] and goes on
    /// from there.
    pub fn resume_login(config: SessionConfig, tag: Tag) -> Session {
        let mut session = Session::new(config);
        session.pending = Some(Pending::Login(tag));
        session
    }

    /// The protocol the login under way continues in when it is not
    /// IMAP: `SMAP1` for a `\SMAP1 LOGIN` where SMAP is offered.
    pub fn login_dialect(&self) -> Option<&'static str> {
        let tag = match &self.pending {
            Some(Pending::Login(tag)) => tag,
            Some(Pending::Relay(state)) => &state.tag,
            _ => return None,
        };
        self.smap
            .as_ref()
            .filter(|_| tag == SMAP_TAG)
            .map(|s| s.capability())
    }

    /// The server accepted the credentials: `user` now owns `store`.
    pub fn login_succeeded(&mut self, user: &str, store: Box<dyn MailStore>, out: &mut Vec<u8>) {
        let tag = self.take_login_tag();
        self.user = Some(user.to_owned());
        self.state = State::Authenticated;
        if let Some(smap) = self.smap.as_ref().filter(|_| tag == SMAP_TAG) {
            let dialect = smap.start(user, store);
            dialect.greeting(out);
            self.dialect = Some(dialect);
            return;
        }
        self.store = Some(store);
        let caps = self.capabilities().iter().map(|c| c.to_string()).collect();
        Reply::ok_code(out, &tag, Code::Capability(caps), "LOGIN completed");
    }

    /// The login was relayed to a backend that accepted it (proxy mode):
    /// the client hears the backend's answer under its own tag, with the
    /// backend's capabilities (RFC 3501 §7.1: the list may change at
    /// login, so a stale pre-login one must not stand); an SMAP login
    /// hears the backend's `+OK` line as SMAP writes it (bare LF). The
    /// session serves no further commands.
    pub fn login_relayed(&mut self, capabilities: Vec<String>, text: &str, out: &mut Vec<u8>) {
        let tag = self.take_login_tag();
        self.state = State::Logout;
        if tag == SMAP_TAG {
            out.extend_from_slice(b"+OK ");
            out.extend_from_slice(text.as_bytes());
            out.push(b'\n');
            return;
        }
        Reply::ok_code(out, &tag, Code::Capability(capabilities), text);
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

    /// The credentials were right but the account may not log in now:
    /// `code` says why (`CONTACTADMIN` for `disableimap=1`, `LIMIT` for a
    /// connection limit, `UNAVAILABLE` for a locked account).
    pub fn login_refused(&mut self, code: Code, reason: &str, out: &mut Vec<u8>) {
        let tag = self.take_login_tag();
        Reply::no(out, &tag, Some(code), reason);
    }

    fn take_login_tag(&mut self) -> Tag {
        match self.pending.take() {
            Some(Pending::Login(tag)) => tag,
            Some(Pending::Relay(state)) => state.tag,
            _ => "*".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use courser_auth::sasl::{Credentials, Mechanism, Relay, RelayAnswer};
    use courser_auth::scram::ScramHash;

    use super::super::{Action, Session, SessionConfig};

    fn session(tls: bool) -> Session {
        Session::new(SessionConfig {
            tls_active: tls,
            starttls_available: false,
            login_requires_tls: false,
            hostname: "test".into(),
            limits: Default::default(),
        })
    }

    fn send(s: &mut Session, input: &str) -> (Action, String) {
        let mut buf = input.as_bytes().to_vec();
        let mut out = Vec::new();
        let action = s.receive(&mut buf, &mut out);
        (action, String::from_utf8(out).expect("utf8"))
    }

    fn b64(data: &[u8]) -> String {
        courser_auth::sasl::encode_challenge(data)
    }

    #[test]
    fn scram_is_relayed_to_the_process_that_runs_it() {
        let mut s = session(false);
        let (_, caps) = send(&mut s, "c CAPABILITY\r\n");
        assert!(!caps.contains("SCRAM"), "{caps}");
        let (_, out) = send(&mut s, "a AUTHENTICATE SCRAM-SHA-256\r\n");
        assert!(out.contains("a NO [CANNOT]"), "not offered: {out}");

        s.offer_mechanisms(vec![Mechanism::Scram(ScramHash::Sha256), Mechanism::Plain]);
        let (_, caps) = send(&mut s, "c CAPABILITY\r\n");
        assert!(caps.contains("AUTH=SCRAM-SHA-256 AUTH=PLAIN"), "{caps}");
        assert!(
            !caps.contains("AUTH=LOGIN") && !caps.contains("EXTERNAL"),
            "{caps}"
        );

        let first = b64(b"n,,n=ann,r=abc");
        let (action, out) = send(&mut s, &format!("a AUTHENTICATE SCRAM-SHA-256 {first}\r\n"));
        assert_eq!(
            action,
            Action::Relay(Relay {
                login: "ann".into(),
                hash: ScramHash::Sha256,
                exchange: None,
                data: b"n,,n=ann,r=abc".to_vec(),
            })
        );
        assert_eq!(out, "");
        // Nothing else runs while the answer is awaited.
        let (_, out) = send(&mut s, "b NOOP\r\n");
        assert_eq!(out, "");
        let mut out = Vec::new();
        let answer = RelayAnswer::Challenge {
            exchange: 9,
            data: b"r=abcdef,s=c2FsdA==,i=4096".to_vec(),
        };
        assert_eq!(s.relay_answer(answer, &mut out), Action::Continue);
        let out = String::from_utf8(out).expect("utf8");
        assert_eq!(out, format!("+ {}\r\n", b64(b"r=abcdef,s=c2FsdA==,i=4096")));
        let (action, _) = send(&mut s, &format!("{}\r\n", b64(b"c=biws,r=abcdef,p=AAAA")));
        assert_eq!(
            action,
            Action::Relay(Relay {
                login: "ann".into(),
                hash: ScramHash::Sha256,
                exchange: Some(9),
                data: b"c=biws,r=abcdef,p=AAAA".to_vec(),
            })
        );
        let action = s.relay_answer(RelayAnswer::Done { exchange: 9 }, &mut Vec::new());
        assert_eq!(
            action,
            Action::Login {
                tag: "a".into(),
                credentials: Credentials::Scram {
                    login: "ann".into(),
                    exchange: 9
                }
            }
        );
    }

    #[test]
    fn relay_failure_answers_the_authenticate_command() {
        let mut s = session(false);
        s.offer_mechanisms(vec![Mechanism::Scram(ScramHash::Sha1)]);
        let (action, _) = send(&mut s, "t1 AUTHENTICATE SCRAM-SHA-1\r\n");
        assert_eq!(action, Action::Continue);
        let (action, _) = send(&mut s, &format!("{}\r\n", b64(b"n,,n=ann,r=abc")));
        assert!(matches!(action, Action::Relay(_)));
        let mut out = Vec::new();
        s.login_failed(true, &mut out);
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "t1 NO [UNAVAILABLE] Temporary authentication failure, try again later\r\n"
        );
        let (_, out) = send(&mut s, "t2 NOOP\r\n");
        assert!(out.starts_with("t2 OK"), "{out}");
    }

    #[test]
    fn external_needs_a_client_certificate() {
        let mut s = session(true);
        let (_, caps) = send(&mut s, "c CAPABILITY\r\n");
        assert!(!caps.contains("EXTERNAL"), "{caps}");
        let (_, out) = send(&mut s, "a AUTHENTICATE EXTERNAL =\r\n");
        assert!(out.contains("a NO [CANNOT]"), "{out}");

        s.set_tls_client_identity(Some("ann@example.org".into()));
        let (_, caps) = send(&mut s, "c CAPABILITY\r\n");
        assert!(
            caps.contains("AUTH=EXTERNAL AUTH=PLAIN AUTH=LOGIN"),
            "{caps}"
        );
        let (action, _) = send(&mut s, "a AUTHENTICATE EXTERNAL =\r\n");
        let login = Action::Login {
            tag: "a".into(),
            credentials: Credentials::External {
                login: "ann@example.org".into(),
            },
        };
        assert_eq!(action, login);
        s.login_failed(false, &mut Vec::new());
        // Without SASL-IR: an empty challenge, then the authzid.
        let (_, out) = send(&mut s, "a AUTHENTICATE EXTERNAL\r\n");
        assert_eq!(out, "+ \r\n");
        let (action, _) = send(&mut s, &format!("{}\r\n", b64(b"ann@example.org")));
        assert_eq!(action, login);
        s.login_failed(false, &mut Vec::new());
        let (_, out) = send(
            &mut s,
            &format!("b AUTHENTICATE EXTERNAL {}\r\n", b64(b"root")),
        );
        assert!(out.starts_with("b BAD"), "{out}");
    }
}
