//! The POP3 session target: [`Session`] on an in-memory maildrop, driven
//! as the server drives it.
//!
//! The input runs twice. Line by line, each line's answer is checked
//! against a model of the maildrop (message numbers, sizes, UIDLs, bodies,
//! deletions); then all at once in chunks of a size the first octet picks,
//! taking the output after every call as the server does, which checks
//! the bound on queued output. Both runs must answer the same (SASL
//! challenges aside: CRAM and SCRAM put random nonces in them).

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use courser_auth::sasl::{Credentials, Mechanism, Relay, RelayAnswer};
use courser_auth::scram::{self, ExchangeStep, ScramKeys};
use courser_pop3::codec::parse::{self, Command};
use courser_pop3::codec::{Code, Limits};
use courser_pop3::maildrop::memory::MemoryStore;
use courser_pop3::session::{Action, Session, SessionConfig};
use courser_protocol::OUTPUT_HIGH_WATER;

/// Small limits, so fuzz inputs reach them.
const LIMITS: Limits = Limits {
    max_command: 128,
    max_sasl: 512,
};
/// The one password that logs in (any user but the special ones below).
const PASSWORD: &[u8] = b"pass";
/// The user with SCRAM keys (password [`PASSWORD`]) and a CRAM secret.
const KEYED_USER: &str = "ann";
/// This login fails as a backend outage would (`[SYS/TEMP]`).
const TEMP_USER: &str = "temp";
/// This login is refused (`[SYS/PERM]`, as for `disablepop3`).
const REFUSED_USER: &str = "refused";
/// Most output one `receive` may queue: the high-water mark, one more
/// message piece of the same size, and one read's worth of overshoot
/// (a 64 KiB read that doubles in size when every octet is a LF).
const MAX_QUEUED: usize = 2 * OUTPUT_HIGH_WATER + 2 * 64 * 1024;
/// Output after which a run stops (keeps executions fast).
const MAX_TRANSCRIPT: usize = 4 << 20;

/// The maildrop's messages, as files hold them (LF line ends): small ones
/// with dots to stuff, an empty one, one without a final LF, and one
/// bigger than a transfer piece.
fn messages() -> &'static [Arc<[u8]>] {
    static MESSAGES: OnceLock<Vec<Arc<[u8]>>> = OnceLock::new();
    MESSAGES.get_or_init(|| {
        let mut big = b"Subject: big\n\n".to_vec();
        let mut n = 0u32;
        while big.len() <= OUTPUT_HIGH_WATER + 1000 {
            n += 1;
            let line = match n % 5 {
                0 => ".\n".to_string(),
                1 => format!("..line {n}\n"),
                _ => format!("line {n} of the big message\n"),
            };
            big.extend_from_slice(line.as_bytes());
        }
        let small: [&[u8]; 4] = [
            b"Subject: one\n\nbody\n.dot\n.\n",
            b"Subject: two\n\nline1\nline2\nline3",
            b"",
            b"\n.starts with a blank line\n\n..\n",
        ];
        small
            .iter()
            .map(|m| Arc::from(*m))
            .chain([Arc::from(big)])
            .collect()
    })
}

/// A message as RETR must send it before dot-stuffing: CRLF line ends,
/// and a CRLF added when the file does not end with a LF.
fn crlf(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 16 + 2);
    for &c in message {
        if c == b'\n' {
            out.push(b'\r');
        }
        out.push(c);
    }
    if message.last().is_some_and(|&c| c != b'\n') {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The server's side: a session, its maildrop and the answers to its
/// actions.
struct Driver {
    store: MemoryStore,
    session: Session,
    /// A verified client certificate (naming [`KEYED_USER`]) comes with TLS.
    client_certificate: bool,
    /// A SCRAM exchange as the authentication process runs it, and its
    /// verdict once over.
    scram: Option<scram::Exchange>,
    scram_verified: bool,
    closed: bool,
}

impl Driver {
    fn new(flags: u8) -> Driver {
        let store = MemoryStore::new(7);
        for m in messages() {
            store.add(Arc::clone(m));
        }
        let mut session = Session::new(SessionConfig {
            tls_active: false,
            stls_available: true,
            login_requires_tls: flags & 1 != 0,
            hostname: "fuzz.example".into(),
            limits: LIMITS,
        });
        session.offer_mechanisms(Mechanism::ALL.to_vec());
        Driver {
            store,
            session,
            client_certificate: flags & 2 != 0,
            scram: None,
            scram_verified: false,
            closed: false,
        }
    }

    /// Runs every command `input` completes and what they lead to,
    /// appending the output to `transcript`, as the server does between
    /// two reads.
    fn feed(&mut self, input: &mut Vec<u8>, transcript: &mut Vec<u8>) {
        while !self.closed {
            let mut out = Vec::new();
            let mut action = self.session.receive(input, &mut out);
            // After a relayed message the session reads on, as after a login.
            let relayed = matches!(action, Action::Relay(_));
            while let Action::Relay(relay) = action {
                action = match self.relay(relay) {
                    Some(answer) => self.session.relay_answer(answer, &mut out),
                    None => {
                        self.session.login_failed(true, &mut out);
                        Action::Continue
                    }
                };
            }
            assert!(
                out.len() <= MAX_QUEUED,
                "one call queued {} octets",
                out.len()
            );
            let again = match action {
                Action::Continue => relayed || self.session.has_pending_output(),
                Action::Login { credentials } => {
                    self.login(&credentials, &mut out);
                    true
                }
                Action::Relay(_) => unreachable!("answered above"),
                Action::StartTls => {
                    // The client waited for the answer before sending more,
                    // so nothing is discarded.
                    self.session.tls_started();
                    let identity = self.client_certificate.then(|| KEYED_USER.to_owned());
                    self.session.set_tls_client_identity(identity);
                    true
                }
                Action::Close => {
                    self.closed = true;
                    false
                }
            };
            assert_eq!(self.closed, self.session.is_closed());
            transcript.extend_from_slice(&out);
            if !again {
                break;
            }
        }
    }

    fn login(&mut self, credentials: &Credentials, out: &mut Vec<u8>) {
        let proven = match credentials {
            Credentials::Password { password, .. } => password == PASSWORD,
            Credentials::Cram(c) => c.login == KEYED_USER,
            Credentials::Scram { .. } => std::mem::take(&mut self.scram_verified),
            Credentials::External { .. } => true,
        };
        match credentials.login() {
            TEMP_USER => self.session.login_failed(true, out),
            REFUSED_USER => self
                .session
                .login_refused(Code::SysPerm, "POP3 is disabled", out),
            login if proven => {
                let drop = Box::new(self.store.open());
                self.session.login_succeeded(login, drop, out);
            }
            _ => self.session.login_failed(false, out),
        }
    }

    /// Plays the authentication process for a relayed SCRAM message;
    /// `None` when it is unavailable (for [`TEMP_USER`]).
    fn relay(&mut self, relay: Relay) -> Option<RelayAnswer> {
        const EXCHANGE: u64 = 1;
        let step = match (relay.exchange, &mut self.scram) {
            (None, _) => {
                let first = scram::parse_client_first(&relay.data)
                    .expect("only a client-first message that parses is relayed");
                // One iteration: the target is about the exchange, not PBKDF2.
                let keys = match first.login.as_str() {
                    TEMP_USER => return None,
                    KEYED_USER => Some(ScramKeys::from_password(relay.hash, PASSWORD, b"salt", 1)),
                    _ => None,
                };
                let (exchange, server_first) =
                    scram::Exchange::start(relay.hash, keys, first, "fuzz-nonce");
                self.scram = Some(exchange);
                ExchangeStep::Challenge(server_first)
            }
            (Some(EXCHANGE), Some(exchange)) => exchange.step(&relay.data),
            (number, _) => panic!("relayed out of turn (exchange {number:?})"),
        };
        Some(match step {
            ExchangeStep::Challenge(data) => RelayAnswer::Challenge {
                exchange: EXCHANGE,
                data,
            },
            ExchangeStep::Done { verified } => {
                self.scram = None;
                self.scram_verified = verified;
                RelayAnswer::Done { exchange: EXCHANGE }
            }
        })
    }
}

/// The POP3 session state machine ([`Session`]) on an in-memory maildrop
/// ([`MemoryStore`]), fed arbitrary client bytes. The first octet picks
/// the chunk size and whether plaintext logins need STLS first and
/// whether TLS brings a client certificate (for EXTERNAL).
///
/// Logins: password `pass` logs in, user `temp` fails temporarily, user
/// `refused` is refused; `ann` has SCRAM keys and logs in with CRAM;
/// STLS always succeeds.
///
/// Checks: no panic or hang; every answer is well-formed POP3 (CRLF
/// lines, status lines `+OK`/`-ERR`/`+ `, multi-line answers dot-stuffed
/// and ended by `.`); listings, sizes, UIDLs and bodies match the
/// maildrop; a deleted message is never listed, sent or deleted again,
/// and QUIT removes exactly the deleted ones; RETR, not TOP, marks a
/// message seen; one call never queues more than `MAX_QUEUED`; and the
/// answers do not depend on read boundaries.
pub fn session(data: &[u8]) {
    let Some((&flags, script)) = data.split_first() else {
        return;
    };
    let by_line = run_by_line(flags, script);
    let chunk = usize::from(flags >> 2) * 7 + 1;
    let mut driver = Driver::new(flags);
    let mut transcript = Vec::new();
    let mut input = Vec::new();
    for piece in script.chunks(chunk) {
        if driver.closed || transcript.len() > MAX_TRANSCRIPT {
            break;
        }
        // Each read appends to what the last one left.
        input.extend_from_slice(piece);
        driver.feed(&mut input, &mut transcript);
        assert!(
            driver.closed || !input.contains(&b'\n'),
            "a complete line left unread"
        );
    }
    compare(&by_line, &transcript);
}

/// Asserts that two transcripts agree, SASL challenges aside, up to the
/// shorter one (runs stop after [`MAX_TRANSCRIPT`] at different points).
fn compare(a: &[u8], b: &[u8]) {
    let n = a.len().min(b.len());
    let mask = |t: &[u8]| -> Vec<Vec<u8>> {
        t[..n]
            .split(|&c| c == b'\n')
            .map(|l| {
                if l.starts_with(b"+ ") {
                    b"+ (challenge)".to_vec()
                } else {
                    l.to_vec()
                }
            })
            .collect()
    };
    // Masking changes lengths; cut both at the same line count.
    let (a, b) = (mask(a), mask(b));
    let lines = a.len().min(b.len()).saturating_sub(1);
    assert!(
        a[..lines] == b[..lines],
        "answers depend on read boundaries"
    );
}

/// What the model knows about the logged-in session.
#[derive(Default)]
struct Model {
    deleted: BTreeSet<u32>,
    /// Messages RETR sent (TOP does not mark them seen).
    retrieved: BTreeSet<u32>,
}

/// Feeds `script` one line at a time and checks each line's answer.
/// Returns the transcript.
fn run_by_line(flags: u8, script: &[u8]) -> Vec<u8> {
    let mut driver = Driver::new(flags);
    let mut transcript = Vec::new();
    let mut model = Model::default();
    let mut sasl = false;
    for line in script.split_inclusive(|&c| c == b'\n') {
        if driver.closed || transcript.len() > MAX_TRANSCRIPT {
            break;
        }
        let authenticated = driver.session.is_authenticated();
        let start = transcript.len();
        let mut input = line.to_vec();
        driver.feed(&mut input, &mut transcript);
        let answer = &transcript[start..];
        if !line.ends_with(b"\n") {
            // The last line, incomplete: at most "Line too long".
            assert!(answer.is_empty() || answer.starts_with(b"-ERR"));
            break;
        }
        let command = line_command(line, sasl);
        let responses = split_responses(answer, |first| {
            multi_line(command.as_ref(), authenticated) && first
        });
        assert!(
            responses.len() <= 2,
            "{} answers to one line",
            responses.len()
        );
        sasl = responses
            .last()
            .is_some_and(|r| r.status.starts_with(b"+ "));
        if let (Some(command), Some(first)) = (&command, responses.first()) {
            if authenticated {
                model.check(command, first, &driver.store);
            }
        }
        if driver.closed && authenticated && command == Some(Command::Quit) {
            let left: Vec<String> = (1..=messages().len() as u32)
                .filter(|n| !model.deleted.contains(n))
                .map(uidl)
                .collect();
            assert_eq!(driver.store.uidls(), left, "QUIT removed the wrong ones");
        }
    }
    transcript
}

/// The command a complete line holds, as the session's decoder sees it
/// (`None` for a SASL response or a line it refuses).
fn line_command(line: &[u8], sasl: bool) -> Option<Command> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if sasl || line.len() > LIMITS.max_command {
        return None;
    }
    parse::command(line).ok()
}

/// Whether a `+OK` answer to `command` goes on with lines and a `.`.
fn multi_line(command: Option<&Command>, authenticated: bool) -> bool {
    match command {
        Some(Command::Capa) => true,
        Some(Command::Auth {
            mechanism: None, ..
        }) => !authenticated,
        Some(Command::List(None) | Command::Uidl(None) | Command::Retr(_) | Command::Top(..)) => {
            authenticated
        }
        _ => false,
    }
}

/// One answer: its status line (without CRLF) and, for a multi-line
/// answer, the body lines with the dot-stuffing undone.
struct Response {
    status: Vec<u8>,
    body: Option<Vec<Vec<u8>>>,
}

/// Splits one line's output into answers, checking the syntax:
/// `multi(first)` says whether a `+OK` answer (the first one, or a later
/// one) is multi-line.
fn split_responses(out: &[u8], multi: impl Fn(bool) -> bool) -> Vec<Response> {
    assert!(
        out.is_empty() || out.ends_with(b"\r\n"),
        "output does not end with CRLF"
    );
    let mut lines = out
        .strip_suffix(b"\r\n")
        .map(|o| o.split(|&c| c == b'\n'))
        .into_iter()
        .flatten()
        .map(|l| {
            let l = l.strip_suffix(b"\r").unwrap_or(l);
            assert!(!l.contains(&b'\r'), "bare CR in {l:?}");
            l
        })
        .peekable();
    let mut responses = Vec::new();
    // `split` gives one empty piece for the CRLF after the last line; the
    // `strip_suffix` above removed that CRLF, so each piece is a line.
    while let Some(status) = lines.next() {
        let ok = status == b"+OK" || status.starts_with(b"+OK ");
        let err = status == b"-ERR" || status.starts_with(b"-ERR ");
        let challenge = status.starts_with(b"+ ");
        assert!(ok || err || challenge, "not a status line: {status:?}");
        let body = (ok && multi(responses.is_empty())).then(|| {
            let mut body = Vec::new();
            loop {
                let line = lines.next().expect("multi-line answer without its end");
                if line == b"." {
                    break body;
                }
                if let Some(stuffed) = line.strip_prefix(b".") {
                    assert!(stuffed.starts_with(b"."), "unstuffed dot: {line:?}");
                    body.push(stuffed.to_vec());
                } else {
                    body.push(line.to_vec());
                }
            }
        });
        responses.push(Response {
            status: status.to_vec(),
            body,
        });
    }
    responses
}

/// `UID<n>-7`, the UIDL of message `n` in the store.
fn uidl(n: u32) -> String {
    format!("UID{n}-7")
}

fn text(line: &[u8]) -> &str {
    std::str::from_utf8(line).expect("POP3 answers here are ASCII")
}

impl Model {
    /// The message `n` names, unless it is deleted or out of range.
    fn live(&self, n: u32) -> Option<&'static [u8]> {
        let message = messages().get((n as usize).checked_sub(1)?)?;
        (!self.deleted.contains(&n)).then_some(&message[..])
    }

    fn totals(&self) -> (usize, usize) {
        (1..=messages().len() as u32)
            .filter_map(|n| self.live(n))
            .fold((0, 0), |(n, o), m| (n + 1, o + crlf(m).len()))
    }

    /// Checks the answer to `command` in the TRANSACTION state and
    /// follows DELE and RSET.
    fn check(&mut self, command: &Command, answer: &Response, store: &MemoryStore) {
        let ok = answer.status.starts_with(b"+OK");
        let status = text(&answer.status);
        match *command {
            Command::Stat if ok => {
                let (n, octets) = self.totals();
                assert_eq!(status, format!("+OK {n} {octets}"));
            }
            Command::List(None) if ok => {
                let (n, octets) = self.totals();
                assert_eq!(status, format!("+OK {n} messages ({octets} octets)"));
                let expected: Vec<String> = (1..=messages().len() as u32)
                    .filter_map(|i| self.live(i).map(|m| format!("{i} {}", crlf(m).len())))
                    .collect();
                assert_eq!(body_text(answer), expected, "LIST");
            }
            Command::Uidl(None) if ok => {
                let expected: Vec<String> = (1..=messages().len() as u32)
                    .filter(|&i| self.live(i).is_some())
                    .map(|i| format!("{i} {}", uidl(i)))
                    .collect();
                assert_eq!(body_text(answer), expected, "UIDL");
            }
            Command::List(Some(n)) | Command::Uidl(Some(n)) | Command::Dele(n) => {
                let Some(m) = self.live(n) else {
                    assert!(!ok, "{command:?} of a deleted or missing message");
                    return;
                };
                match command {
                    Command::List(_) => assert_eq!(status, format!("+OK {n} {}", crlf(m).len())),
                    Command::Uidl(_) => assert_eq!(status, format!("+OK {n} {}", uidl(n))),
                    _ => {
                        assert!(ok, "DELE {n} refused");
                        self.deleted.insert(n);
                    }
                }
            }
            Command::Retr(n) | Command::Top(n, _) => {
                let Some(m) = self.live(n) else {
                    assert!(!ok, "{command:?} of a deleted or missing message");
                    return;
                };
                // The store never loses a message during the session.
                assert!(ok, "{command:?} refused");
                let sent = answer.body.as_deref().expect("a multi-line answer");
                let sent: Vec<u8> = sent
                    .iter()
                    .flat_map(|l| [&l[..], b"\r\n"].concat())
                    .collect();
                let full = crlf(m);
                if let Command::Retr(_) = command {
                    assert_eq!(status, format!("+OK {} octets follow", full.len()));
                    assert!(sent == full, "RETR {n} sent another body");
                    assert!(store.seen().contains(&uidl(n)), "RETR did not mark seen");
                    self.retrieved.insert(n);
                } else {
                    assert_eq!(
                        store.seen().contains(&uidl(n)),
                        self.retrieved.contains(&n),
                        "only RETR marks seen"
                    );
                    // TOP: whole lines from the start.
                    assert!(full.starts_with(&sent), "TOP {n} is not a prefix");
                }
            }
            Command::Rset if ok => self.deleted.clear(),
            _ => {}
        }
    }
}

fn body_text(answer: &Response) -> Vec<String> {
    let body = answer.body.as_deref().expect("a multi-line answer");
    body.iter().map(|l| text(l).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_session_passes_the_checks() {
        session(
            b"\x08CAPA\r\nUSER bob\r\nPASS pass\r\nSTAT\r\nLIST\r\nUIDL\r\nRETR 1\r\n\
              TOP 2 1\r\nDELE 1\r\nLIST\r\nRETR 1\r\nRETR 5\r\nQUIT\r\n",
        );
    }

    #[test]
    #[should_panic(expected = "unstuffed dot")]
    fn an_unstuffed_body_line_is_caught() {
        split_responses(b"+OK\r\n.x\r\n.\r\n", |_| true);
    }

    #[test]
    #[should_panic(expected = "not a status line")]
    fn a_stray_line_is_caught() {
        split_responses(b"+OK\r\nstray\r\n", |_| false);
    }

    #[test]
    #[should_panic(expected = "UIDL")]
    fn a_listed_deleted_message_is_caught() {
        let mut model = Model::default();
        model.deleted.insert(1);
        let listing = split_responses(b"+OK\r\n1 UID1-7\r\n.\r\n", |_| true);
        model.check(&Command::Uidl(None), &listing[0], &MemoryStore::new(7));
    }
}
