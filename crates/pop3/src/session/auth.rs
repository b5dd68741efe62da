//! The AUTHORIZATION state: USER/PASS (RFC 1939 §7), AUTH (RFC 5034),
//! STLS (RFC 2595 §4) and QUIT, and the server's answers to a login.

use courser_auth::sasl::{
    self, decode_initial_response, decode_response, encode_challenge, ClientResponse, Credentials,
    Mechanism, RelayAnswer, SaslConfig, SaslServer, Step,
};

use super::{Action, Pending, Session, State};
use crate::codec::respond;
use crate::codec::{Code, Command};
use crate::maildrop::Mailbox;

const NEED_TLS: &str = "Plaintext login is disabled here; use STLS first";

impl Session {
    /// The SASL mechanisms the backends can serve
    /// (`Authenticator::mechanisms`), offered in CAPA and accepted by AUTH.
    /// Default: PLAIN and LOGIN.
    pub fn offer_mechanisms(&mut self, mechanisms: Vec<Mechanism>) {
        self.mechanisms = mechanisms;
    }

    /// The account named by the connection's verified TLS client
    /// certificate, after the handshake (implicit TLS or STLS): SASL
    /// EXTERNAL is offered while there is one.
    pub fn set_tls_client_identity(&mut self, identity: Option<String>) {
        self.tls_identity = identity;
    }

    /// Mechanisms offered to this client: the backends' and, with a
    /// verified client certificate, EXTERNAL.
    fn mechanisms(&self) -> Vec<Mechanism> {
        sasl::offered(&self.mechanisms, self.tls_identity.as_deref())
    }

    /// The CAPA `SASL` argument.
    pub(super) fn mechanism_names(&self) -> String {
        self.mechanisms()
            .iter()
            .map(|m| m.name())
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub(super) fn authorization(&mut self, command: Command, out: &mut Vec<u8>) -> Action {
        use Command as C;
        match command {
            C::Quit => {
                respond::ok(out, "Courser POP3 server signing off");
                self.state = State::Closed;
                return Action::Close;
            }
            C::Stls => return self.stls(out),
            C::User(name) => self.user_command(name, out),
            C::Pass(password) => return self.pass(password, out),
            C::Auth { mechanism, initial } => return self.auth(mechanism, initial, out),
            C::Apop => respond::err(out, None, "APOP is not supported"),
            C::Xclient(fields) if self.xclient => {
                self.forwarded = fields;
                respond::ok(out, "Updated");
            }
            C::Xclient(_) => respond::err(out, None, "Invalid command"),
            _ => respond::err(out, None, "Command not valid before login"),
        }
        Action::Continue
    }

    fn stls(&mut self, out: &mut Vec<u8>) -> Action {
        if self.config.tls_active {
            respond::err(out, None, "TLS is already active");
            return Action::Continue;
        }
        if !self.config.stls_available {
            respond::err(out, None, "TLS support not available");
            return Action::Continue;
        }
        respond::ok(out, "Begin TLS negotiation now");
        Action::StartTls
    }

    /// The server finished the TLS handshake after STLS: start over in the
    /// AUTHORIZATION state (RFC 2595 §4: forget what came before).
    pub fn tls_started(&mut self) {
        self.config.tls_active = true;
        self.config.stls_available = false;
        self.config.login_requires_tls = false;
        self.decoder.expect_command();
        self.pending = None;
        self.state = State::Authorization { user: None };
    }

    fn user_command(&mut self, name: Vec<u8>, out: &mut Vec<u8>) {
        if self.config.login_requires_tls {
            respond::err(out, None, NEED_TLS);
            return;
        }
        match String::from_utf8(name) {
            Ok(name) => {
                self.state = State::Authorization { user: Some(name) };
                respond::ok(out, "Password required");
            }
            Err(_) => respond::err(out, None, "Invalid user name"),
        }
    }

    fn pass(&mut self, password: Vec<u8>, out: &mut Vec<u8>) -> Action {
        if self.config.login_requires_tls {
            respond::err(out, None, NEED_TLS);
            return Action::Continue;
        }
        let State::Authorization { user } = &mut self.state else {
            return Action::Continue;
        };
        let Some(login) = user.take() else {
            respond::err(out, None, "USER first");
            return Action::Continue;
        };
        self.pending = Some(Pending::Login);
        Action::Login {
            credentials: Credentials::Password {
                authzid: None,
                login,
                password,
            },
        }
    }

    fn auth(
        &mut self,
        mechanism: Option<String>,
        initial: Option<Vec<u8>>,
        out: &mut Vec<u8>,
    ) -> Action {
        if self.config.login_requires_tls {
            respond::err(out, None, NEED_TLS);
            return Action::Continue;
        }
        let Some(mechanism) = mechanism else {
            // The pre-RFC 5034 listing some clients still ask for.
            respond::ok(out, "Supported mechanisms follow");
            for m in self.mechanisms() {
                respond::line(out, m.name());
            }
            respond::end(out);
            return Action::Continue;
        };
        let offered = self.mechanisms();
        let Some(mech) = Mechanism::from_name(&mechanism).filter(|m| offered.contains(m)) else {
            respond::err(out, None, "Unsupported authentication mechanism");
            return Action::Continue;
        };
        let initial = match initial.map(|i| decode_initial_response(&i)).transpose() {
            Ok(i) => i,
            Err(e) => {
                respond::err(out, None, &format!("Authentication failed: {e}"));
                return Action::Continue;
            }
        };
        let config = SaslConfig {
            hostname: self.config.hostname.clone(),
            tls_identity: self.tls_identity.clone(),
        };
        let mut server = SaslServer::new(mech, &config);
        let step = server.start(initial.as_deref());
        self.sasl_step(server, step, out)
    }

    /// The client's line during an AUTH exchange (`*` cancels).
    pub(super) fn sasl_response(&mut self, line: &[u8], out: &mut Vec<u8>) -> Action {
        self.decoder.expect_command();
        let Some(Pending::Sasl(mut server)) = self.pending.take() else {
            respond::err(out, None, "Unexpected authentication data");
            return Action::Continue;
        };
        match decode_response(line) {
            Ok(ClientResponse::Cancel) => {
                respond::err(out, None, "Authentication cancelled");
                Action::Continue
            }
            Ok(ClientResponse::Data(data)) => {
                let step = server.step(&data);
                self.sasl_step(server, step, out)
            }
            Err(e) => {
                respond::err(out, None, &format!("Authentication failed: {e}"));
                Action::Continue
            }
        }
    }

    fn sasl_step(&mut self, server: SaslServer, step: Step, out: &mut Vec<u8>) -> Action {
        match step {
            Step::Challenge(c) => {
                respond::challenge(out, &encode_challenge(&c));
                self.decoder.expect_sasl_response();
                self.pending = Some(Pending::Sasl(server));
                Action::Continue
            }
            Step::Done(credentials) => {
                self.pending = Some(Pending::Login);
                Action::Login { credentials }
            }
            Step::Relay(relay) => {
                self.pending = Some(Pending::Relay(server));
                Action::Relay(relay)
            }
            Step::Failed(e) => {
                respond::err(out, None, &format!("Authentication failed: {e}"));
                Action::Continue
            }
            _ => {
                respond::err(out, None, "Authentication failed");
                Action::Continue
            }
        }
    }

    /// The server's answer to [`Action::Relay`]: what the process
    /// running the SCRAM exchange answered. Returns the next action (a
    /// challenge for the client, or the login to check).
    pub fn relay_answer(&mut self, answer: RelayAnswer, out: &mut Vec<u8>) -> Action {
        let Some(Pending::Relay(mut server)) = self.pending.take() else {
            return Action::Continue;
        };
        let step = server.relay_answer(answer);
        self.sasl_step(server, step, out)
    }

    /// The credentials were right and the maildrop is open: enter the
    /// TRANSACTION state (RFC 1939 §4).
    pub fn login_succeeded(&mut self, user: &str, mailbox: Box<dyn Mailbox>, out: &mut Vec<u8>) {
        self.pending = None;
        let (n, octets) = mailbox
            .messages()
            .iter()
            .fold((0u64, 0u64), |(n, o), m| (n + 1, o.saturating_add(m.size)));
        self.enter_transaction(user, mailbox);
        respond::ok(out, &format!("Logged in, {n} messages ({octets} octets)"));
    }

    /// The login was relayed to a backend that accepted it (proxy mode):
    /// the client hears the backend's `+OK` text. The session serves no
    /// further commands.
    pub fn login_relayed(&mut self, text: &str, out: &mut Vec<u8>) {
        self.pending = None;
        respond::ok(out, text);
    }

    /// The login failed: `temporary` when a backend or the maildrop was
    /// unavailable (`[SYS/TEMP]`), else wrong credentials (`[AUTH]`, RFC
    /// 3206). The client may try again.
    pub fn login_failed(&mut self, temporary: bool, out: &mut Vec<u8>) {
        self.pending = None;
        self.state = State::Authorization { user: None };
        if temporary {
            respond::err(
                out,
                Some(Code::SysTemp),
                "Temporary problem, please try again later",
            );
        } else {
            respond::err(out, Some(Code::Auth), "Authentication failed");
        }
    }

    /// The account may not use POP3 here (`disablepop3`, an account this
    /// server cannot serve): `-ERR [code] reason`.
    pub fn login_refused(&mut self, code: Code, reason: &str, out: &mut Vec<u8>) {
        self.pending = None;
        self.state = State::Authorization { user: None };
        respond::err(out, Some(code), reason);
    }
}

#[cfg(test)]
mod tests {
    use courser_auth::sasl::{encode_challenge, Credentials, Mechanism, Relay, RelayAnswer};
    use courser_auth::scram::ScramHash;

    use super::super::{Action, Session, SessionConfig};
    use crate::codec::Limits;

    fn session() -> Session {
        Session::new(SessionConfig {
            tls_active: true,
            stls_available: false,
            login_requires_tls: false,
            hostname: "test.example".into(),
            limits: Limits::default(),
        })
    }

    fn send(s: &mut Session, input: &str) -> (Action, String) {
        let mut buf = input.as_bytes().to_vec();
        let mut out = Vec::new();
        let action = s.receive(&mut buf, &mut out);
        (action, String::from_utf8(out).expect("utf8"))
    }

    #[test]
    fn scram_is_relayed_and_a_relay_failure_is_temporary() {
        let mut s = session();
        let (_, out) = send(&mut s, "AUTH SCRAM-SHA-1\r\n");
        assert!(out.starts_with("-ERR"), "not offered: {out}");
        s.offer_mechanisms(vec![Mechanism::Scram(ScramHash::Sha1), Mechanism::Plain]);
        let (_, out) = send(&mut s, "CAPA\r\n");
        assert!(out.contains("SASL SCRAM-SHA-1 PLAIN\r\n"), "{out}");
        let first = encode_challenge(b"n,,n=ann,r=abc");
        let (action, out) = send(&mut s, &format!("AUTH SCRAM-SHA-1 {first}\r\n"));
        assert_eq!(
            action,
            Action::Relay(Relay {
                login: "ann".into(),
                hash: ScramHash::Sha1,
                exchange: None,
                data: b"n,,n=ann,r=abc".to_vec(),
            })
        );
        assert_eq!(out, "");
        let mut out = Vec::new();
        let answer = RelayAnswer::Challenge {
            exchange: 3,
            data: b"r=abcdef,s=c2FsdA==,i=4096".to_vec(),
        };
        assert_eq!(s.relay_answer(answer, &mut out), Action::Continue);
        assert!(out.starts_with(b"+ "), "server-first");
        let final_message = encode_challenge(b"c=biws,r=abcdef,p=AAAA");
        let (action, _) = send(&mut s, &format!("{final_message}\r\n"));
        assert!(
            matches!(
                action,
                Action::Relay(Relay {
                    exchange: Some(3),
                    ..
                })
            ),
            "{action:?}"
        );
        let action = s.relay_answer(RelayAnswer::Done { exchange: 3 }, &mut Vec::new());
        assert_eq!(
            action,
            Action::Login {
                credentials: Credentials::Scram {
                    login: "ann".into(),
                    exchange: 3
                }
            }
        );
        s.login_failed(false, &mut Vec::new());

        let (action, _) = send(&mut s, "AUTH SCRAM-SHA-1\r\n");
        assert_eq!(action, Action::Continue);
        let (action, _) = send(&mut s, &format!("{first}\r\n"));
        assert!(matches!(action, Action::Relay(_)));
        let mut out = Vec::new();
        s.login_failed(true, &mut out);
        assert!(out.starts_with(b"-ERR [SYS/TEMP]"));
    }

    #[test]
    fn external_only_with_a_client_certificate() {
        let mut s = session();
        let (_, out) = send(&mut s, "CAPA\r\n");
        assert!(out.contains("SASL PLAIN LOGIN\r\n"), "{out}");
        s.set_tls_client_identity(Some("ann".into()));
        let (_, out) = send(&mut s, "CAPA\r\n");
        assert!(out.contains("SASL EXTERNAL PLAIN LOGIN\r\n"), "{out}");
        let (action, _) = send(&mut s, "AUTH EXTERNAL =\r\n");
        assert_eq!(
            action,
            Action::Login {
                credentials: Credentials::External {
                    login: "ann".into()
                }
            }
        );
    }
}
