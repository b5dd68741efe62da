//! The SASL server exchanges of `courser_auth::sasl`, with key lookups
//! answered from fixed test data.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use courser_auth::sasl::{
    decode_initial_response, decode_response, ClientResponse, Credentials, Mechanism, Relay,
    RelayAnswer, SaslConfig, SaslError, SaslServer, Step,
};
use courser_auth::scram::{self, ExchangeStep, ScramHash};

use crate::scram::{attribute, client_proof, keys, PASSWORD};

/// The account with SCRAM keys (password [`PASSWORD`]).
const USER: &str = "ann";
/// An account whose keys are for the other SCRAM hash.
const OTHER_HASH_USER: &str = "sha1only";
/// The identity a verified TLS client certificate names.
const CERTIFICATE: &str = "cert-user";
/// The authentication process's number for the one SCRAM exchange.
const EXCHANGE: u64 = 7;
/// The nonce the authentication process adds.
const SERVER_NONCE: &str = "fuzz-server-nonce";
/// Most client steps run per exchange.
const MAX_STEPS: usize = 8;

/// The SASL server ([`SaslServer`]) for every mechanism, fed arbitrary
/// client responses. The first octet picks the mechanism (from
/// [`Mechanism::ALL`]), whether the first line is an initial response,
/// whether the connection has a client certificate (for EXTERNAL),
/// whether lines are base64 as on the wire ([`decode_response`],
/// [`decode_initial_response`]) or raw, and for SCRAM whether our own
/// client answers the server-first message (with the password, or the
/// line, and the line as extra attributes). The rest is `\n`-separated
/// client responses.
///
/// Checks: no panic; challenges are what the mechanism sends; nothing
/// runs after the exchange ends; finished credentials are those the
/// client sent (PLAIN re-encodes to the same, EXTERNAL only with the
/// certificate's identity, CRAM carries the challenge sent); a SCRAM
/// proof is accepted only from our client with the right password for
/// the account with keys, and then the server signature is right; and
/// our client with the right password always gets in.
pub fn server(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mechanism = Mechanism::ALL[usize::from(flags) % Mechanism::ALL.len()];
    let initial = flags & 0x08 != 0;
    let config = SaslConfig {
        hostname: "fuzz.example".into(),
        tls_identity: (flags & 0x10 != 0).then(|| CERTIFICATE.to_owned()),
    };
    let base64 = flags & 0x20 != 0;
    let scram_client = flags & 0x40 != 0;
    let mut lines = rest.split(|&c| c == b'\n').map(|line| {
        if base64 {
            decode_response(line)
        } else {
            Ok(ClientResponse::Data(line.to_vec()))
        }
    });

    let mut server = SaslServer::new(mechanism, &config);
    let mut exchange = Exchange::new(mechanism, config.tls_identity.as_deref());
    let mut step = if initial {
        let Some(line) = rest.split(|&c| c == b'\n').next() else {
            return;
        };
        let _ = lines.next();
        let decoded = if base64 {
            decode_initial_response(line)
        } else {
            Ok(line.to_vec())
        };
        match decoded {
            Ok(r) => exchange.start(&mut server, Some(&r)),
            Err(_) => return,
        }
    } else {
        exchange.start(&mut server, None)
    };
    for _ in 0..MAX_STEPS {
        step = match step {
            Step::Challenge(challenge) => {
                exchange.challenge(&challenge);
                let response = match (scram_client, exchange.server_first.take()) {
                    (true, Some(server_first)) => {
                        let line = lines.next().and_then(Result::ok).map(data_of);
                        exchange.client_final(&server_first, line.as_deref())
                    }
                    _ => match lines.next() {
                        Some(Ok(ClientResponse::Data(d))) => d,
                        Some(Ok(ClientResponse::Cancel)) | Some(Err(_)) | None => return,
                    },
                };
                exchange.responses.push(response.clone());
                server.step(&response)
            }
            Step::Relay(relay) => {
                assert_eq!(Mechanism::Scram(relay.hash), mechanism);
                let answer = exchange.relay(relay);
                server.relay_answer(answer)
            }
            Step::Done(credentials) => {
                exchange.done(&credentials);
                break;
            }
            Step::Failed(e) => {
                assert!(!matches!(e, SaslError::Internal(_)), "{e}");
                exchange.failed();
                break;
            }
            _ => break,
        };
    }
    // The exchange is over (or given up on): nothing goes on after it.
    if exchange.over {
        assert_eq!(server.step(b""), Step::Failed(SaslError::Finished));
        assert_eq!(server.start(None), Step::Failed(SaslError::Finished));
    }
}

fn data_of(response: ClientResponse) -> Vec<u8> {
    match response {
        ClientResponse::Data(d) => d,
        ClientResponse::Cancel => b"*".to_vec(),
    }
}

fn other(hash: ScramHash) -> ScramHash {
    match hash {
        ScramHash::Sha1 => ScramHash::Sha256,
        ScramHash::Sha256 => ScramHash::Sha1,
    }
}

/// What the client side sent and saw, to check the server's answers by.
struct Exchange<'a> {
    mechanism: Mechanism,
    tls_identity: Option<&'a str>,
    /// The client's messages: the initial response, then one per
    /// challenge.
    responses: Vec<Vec<u8>>,
    challenges: Vec<Vec<u8>>,
    /// SCRAM: the login of the relayed client-first message.
    login: Option<String>,
    /// SCRAM: the exchange as the authentication process runs it.
    auth_process: Option<scram::Exchange>,
    /// SCRAM: the authentication process's verdict.
    verified: Option<bool>,
    /// SCRAM: the server-first message, while our client is to answer it.
    server_first: Option<String>,
    /// SCRAM: our client sent the right proof, expecting this
    /// server-final message.
    proven: Option<Vec<u8>>,
    over: bool,
}

impl<'a> Exchange<'a> {
    fn new(mechanism: Mechanism, tls_identity: Option<&'a str>) -> Self {
        Exchange {
            mechanism,
            tls_identity,
            responses: Vec::new(),
            challenges: Vec::new(),
            login: None,
            auth_process: None,
            verified: None,
            server_first: None,
            proven: None,
            over: false,
        }
    }

    fn start(&mut self, server: &mut SaslServer, initial: Option<&[u8]>) -> Step {
        self.responses.extend(initial.map(<[u8]>::to_vec));
        server.start(initial)
    }

    /// Plays the authentication process for a relayed SCRAM message.
    fn relay(&mut self, relay: Relay) -> RelayAnswer {
        let step = match (relay.exchange, &mut self.auth_process) {
            (None, None) => {
                let first = scram::parse_client_first(&relay.data)
                    .expect("only a client-first message that parses is relayed");
                assert_eq!(first.login, relay.login);
                let keys = match relay.login.as_str() {
                    USER => Some(keys(relay.hash)),
                    OTHER_HASH_USER => Some(keys(other(relay.hash))),
                    _ => None,
                };
                self.login = Some(relay.login);
                let (process, server_first) =
                    scram::Exchange::start(relay.hash, keys, first, SERVER_NONCE);
                self.auth_process = Some(process);
                ExchangeStep::Challenge(server_first)
            }
            (Some(EXCHANGE), Some(process)) => process.step(&relay.data),
            (number, _) => panic!("relayed out of turn (exchange {number:?})"),
        };
        match step {
            ExchangeStep::Challenge(data) => RelayAnswer::Challenge {
                exchange: EXCHANGE,
                data,
            },
            ExchangeStep::Done { verified } => {
                self.verified = Some(verified);
                RelayAnswer::Done { exchange: EXCHANGE }
            }
        }
    }

    /// Checks a challenge against the mechanism.
    fn challenge(&mut self, challenge: &[u8]) {
        let n = self.challenges.len();
        match self.mechanism {
            Mechanism::Plain | Mechanism::External => {
                assert!(n == 0 && challenge.is_empty(), "{:?}", self.mechanism);
            }
            Mechanism::Login => {
                // The user name is asked for until a (non-empty) one came.
                let prompt: &[u8] = if self.responses.iter().all(Vec::is_empty) {
                    b"Username:"
                } else {
                    b"Password:"
                };
                assert_eq!(challenge, prompt);
            }
            Mechanism::Cram(_) => {
                assert_eq!(n, 0);
                let text = std::str::from_utf8(challenge).expect("ASCII challenge");
                assert!(text.starts_with('<') && text.ends_with("@fuzz.example>"));
            }
            Mechanism::Scram(_) => self.scram_challenge(challenge),
            _ => {}
        }
        self.challenges.push(challenge.to_vec());
    }

    fn scram_challenge(&mut self, challenge: &[u8]) {
        if challenge.is_empty() && self.login.is_none() {
            return; // asks for the client-first message
        }
        let text = std::str::from_utf8(challenge).expect("ASCII SCRAM message");
        if let Some(expected) = &self.proven {
            assert_eq!(challenge, expected.as_slice(), "server-final message");
            return;
        }
        assert!(
            !text.starts_with("v="),
            "server-final without the right proof: {text}"
        );
        // server-first: r=<client nonce><server nonce>,s=<salt>,i=<count>
        let nonce = attribute(text, "r").expect("r=");
        // RFC 5802 has one r= in the client-first message; the server
        // takes the last of several (reported, not ours to change).
        if let Some(client_nonce) = attribute(&self.client_first_bare(), "r") {
            assert!(nonce.len() > client_nonce.len() && nonce.starts_with(client_nonce));
        }
        B64.decode(attribute(text, "s").expect("s="))
            .expect("base64 salt");
        let iterations: u32 = attribute(text, "i").expect("i=").parse().expect("count");
        assert!(iterations >= 1);
        self.server_first = Some(text.to_owned());
    }

    /// The client-first message without its gs2 header, as sent.
    fn client_first_bare(&self) -> String {
        let first = self.responses.last().expect("a client-first message");
        let first = std::str::from_utf8(first).expect("parsed as UTF-8");
        first
            .splitn(3, ',')
            .nth(2)
            .expect("a gs2 header")
            .to_owned()
    }

    /// Our client's client-final message: with the right password, and
    /// `line` as extension attributes when it is empty or starts with `,`;
    /// else with `line` as the password.
    fn client_final(&mut self, server_first: &str, line: Option<&[u8]>) -> Vec<u8> {
        let Mechanism::Scram(hash) = self.mechanism else {
            unreachable!("SCRAM only")
        };
        let sent = self.responses.last().expect("client-first").clone();
        let gs2: Vec<&[u8]> = sent.splitn(3, |&c| c == b',').take(2).collect();
        let gs2 = [gs2[0], b",", gs2[1], b","].concat();
        let nonce = attribute(server_first, "r").expect("r=");
        let salt = B64
            .decode(attribute(server_first, "s").expect("s="))
            .expect("salt");
        let iterations: u32 = attribute(server_first, "i")
            .expect("i=")
            .parse()
            .expect("i");
        let (password, extensions) = match line {
            Some(l) if l.is_empty() || l.starts_with(b",") => {
                (PASSWORD, String::from_utf8_lossy(l).into_owned())
            }
            Some(l) => (l, String::new()),
            None => (PASSWORD, String::new()),
        };
        // Extensions the server must ignore: none that repeats c=, r= or
        // p=, whose meaning the RFC does not define.
        let extensions: String = extensions
            .split(',')
            .filter(|a| a.len() > 2 && a.as_bytes()[1] == b'=' && !"crp".contains(&a[..1]))
            .map(|a| format!(",{a}"))
            .collect();
        let without_proof = format!("c={},r={nonce}{extensions}", B64.encode(&gs2));
        let auth = format!(
            "{},{server_first},{without_proof}",
            self.client_first_bare()
        );
        // Decoy keys have many iterations; their proof fails whatever it is.
        let (proof, signature) = if iterations <= 16 {
            client_proof(hash, password, &salt, iterations, &auth)
        } else {
            (vec![0; 32], Vec::new())
        };
        let right = password == PASSWORD && self.login.as_deref() == Some(USER);
        if right {
            self.proven = Some(format!("v={}", B64.encode(signature)).into_bytes());
        }
        format!("{without_proof},p={}", B64.encode(proof)).into_bytes()
    }

    /// Checks finished credentials against what the client sent.
    fn done(&mut self, credentials: &Credentials) {
        self.over = true;
        let first = self
            .responses
            .first()
            .map(Vec::as_slice)
            .unwrap_or_default();
        match (self.mechanism, credentials) {
            (
                Mechanism::Plain,
                Credentials::Password {
                    authzid,
                    login,
                    password,
                },
            ) => {
                let again = [
                    authzid.as_deref().unwrap_or("").as_bytes(),
                    b"\0",
                    login.as_bytes(),
                    b"\0",
                    password,
                ]
                .concat();
                assert_eq!(again, first, "PLAIN re-encodes to what was sent");
            }
            (
                Mechanism::Login,
                Credentials::Password {
                    login, password, ..
                },
            ) => {
                let [.., user, last] = self.responses.as_slice() else {
                    panic!("LOGIN done without a user name and a password");
                };
                assert_eq!((login.as_bytes(), password), (user.as_slice(), last));
            }
            (Mechanism::Cram(hash), Credentials::Cram(c)) => {
                assert_eq!(c.hash, hash);
                assert_eq!(Some(&c.challenge), self.challenges.first());
                let sent = self.responses.last().map(Vec::as_slice);
                assert_eq!(
                    Some(format!("{} {}", c.login, c.digest_hex).as_bytes()),
                    sent
                );
                assert_eq!(c.digest_hex.len(), 2 * hash.output_len());
            }
            (Mechanism::Scram(_), Credentials::Scram { login, exchange }) => {
                assert_eq!(Some(login), self.login.as_ref());
                assert_eq!(*exchange, EXCHANGE);
                // Verified only after our client's right proof, the
                // server-final message, and the client's empty answer.
                let expected = self.proven.is_some()
                    && self.challenges.last() == self.proven.as_ref()
                    && self.responses.last().is_some_and(Vec::is_empty);
                assert_eq!(
                    self.verified == Some(true),
                    expected,
                    "SCRAM verdict (right proof: {})",
                    self.proven.is_some()
                );
            }
            (Mechanism::External, Credentials::External { login }) => {
                assert_eq!(Some(login.as_str()), self.tls_identity);
                let authzid = self.responses.last().map(Vec::as_slice).unwrap_or_default();
                assert!(authzid.is_empty() || authzid == login.as_bytes());
            }
            (m, c) => panic!("{m} finished with {c:?}"),
        }
    }

    fn failed(&mut self) {
        self.over = true;
        // Our client's right proof gets the server-final message, never a
        // failure; after it, only the empty response is right.
        assert!(
            self.proven.is_none() || self.challenges.last() == self.proven.as_ref(),
            "the right SCRAM proof failed"
        );
    }
}
