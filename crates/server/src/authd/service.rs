//! `courser auth-server`: the authentication process itself.
//!
//! Standard input is its channel to the front end; standard output, when
//! it is a socket, its channel to the spawner (per-user model). It reads
//! the configuration from the first frame, builds the backends, and then
//! answers requests: checks on a small pool of threads (password hashes
//! are slow on purpose, LDAP and SQL wait on the network), ticket
//! redemptions on their own thread. It exits when the front end's
//! channel closes.

use std::io::{Read, Write};
use std::net::IpAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

use courser_auth::sasl::Credentials;
use courser_auth::scram::{self, Exchange, ExchangeStep, ScramHash};
use courser_auth::{Account, AuthError, Authenticator, Checked};

use super::exchanges::{Exchanges, Open};
use super::limiter::{self, Limiter, Outcome};
use super::tickets::Tickets;
use super::wire::{self, Request, Response, WorkerAccount};
use crate::config::{Config, ProcessModel};
use crate::service::Service;

/// Threads checking credentials at once: a few per core, since LDAP,
/// SQL and PAM mostly wait, but bounded. The front end's login pool
/// defaults to as many calls in flight.
pub(crate) fn checkers() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    (cores * 4).clamp(8, 64)
}
/// Requests waiting for a checker before the reader stops reading.
const QUEUE: usize = 1024;
/// How long a check waits for the same login's or address's checks in
/// progress (a client opening many connections at once) before it is
/// refused. Checks settle in a hash's time; this only bounds a stuck one.
const BUSY_WAIT: Duration = Duration::from_secs(10);

/// What the configuration says to serve.
struct Served {
    auth: Authenticator,
    /// Per-user model: successful logins get a ticket.
    per_user: bool,
    /// `[maildir] default_path`, for the ticket's maildir.
    default_maildir: PathBuf,
    /// `[tls] client_ca` is set: EXTERNAL logins can exist.
    external: bool,
}

impl Served {
    fn new(config: &Config) -> Result<Served, String> {
        // No helpers: this process has whatever privilege the backends
        // need.
        let auth = crate::auth::authenticator(&config.auth)?;
        Ok(Served {
            auth,
            per_user: config.server.process_model == ProcessModel::PerUser,
            default_maildir: config.maildir.default_path.clone(),
            external: config.tls.as_ref().is_some_and(|t| t.client_ca.is_some()),
        })
    }
}

struct State {
    served: RwLock<Arc<Served>>,
    tickets: Mutex<Tickets>,
    /// SCRAM exchanges in progress.
    exchanges: Mutex<Exchanges>,
    /// Failure counts and the front end's failure budget.
    limiter: Mutex<Limiter>,
    /// Signalled when a check settles, for checks told to wait.
    settled: Condvar,
    config_path: Option<PathBuf>,
}

impl State {
    fn new(served: Served, limits: limiter::Settings, config_path: Option<PathBuf>) -> State {
        State {
            served: RwLock::new(Arc::new(served)),
            tickets: Mutex::new(Tickets::default()),
            exchanges: Mutex::new(Exchanges::default()),
            limiter: Mutex::new(Limiter::new(limits, Instant::now())),
            settled: Condvar::new(),
            config_path,
        }
    }

    fn limiter(&self) -> std::sync::MutexGuard<'_, Limiter> {
        self.limiter.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lets a password check for `login` from `peer` through, or refuses
    /// it; told [`limiter::Refusal::Busy`], waits (at most [`BUSY_WAIT`])
    /// for checks in progress to settle and asks again.
    fn admit(&self, peer: IpAddr, login: &str) -> Result<(), limiter::Refusal> {
        let deadline = Instant::now() + BUSY_WAIT;
        let mut limiter = self.limiter();
        loop {
            let now = Instant::now();
            match limiter.admit(peer, login, now) {
                Err(limiter::Refusal::Busy(_)) if now < deadline => {
                    limiter = match self.settled.wait_timeout(limiter, deadline - now) {
                        Ok((guard, _)) => guard,
                        Err(poisoned) => poisoned.into_inner().0,
                    };
                }
                answer => return answer,
            }
        }
    }

    /// Counts how a check [`State::admit`] let through ended, and wakes
    /// the checks waiting for it.
    fn settle(&self, peer: IpAddr, login: &str, outcome: Outcome) {
        self.limiter().settle(peer, login, outcome);
        self.settled.notify_all();
    }

    fn exchanges(&self) -> std::sync::MutexGuard<'_, Exchanges> {
        self.exchanges.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Reads length-prefixed frames from a blocking stream.
pub(super) struct FrameReader<R> {
    stream: R,
    buf: Vec<u8>,
}

impl<R: Read> FrameReader<R> {
    pub(super) fn new(stream: R) -> Self {
        FrameReader {
            stream,
            buf: Vec::new(),
        }
    }

    /// The next frame (without its length prefix), `Ok(None)` at end of
    /// file.
    pub(super) fn next(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        loop {
            match wire::split_frame(&self.buf) {
                Ok(Some((frame, used))) => {
                    let frame = frame.to_vec();
                    self.buf.drain(..used);
                    return Ok(Some(frame));
                }
                Ok(None) => {}
                Err(e) => return Err(std::io::Error::other(e)),
            }
            let mut chunk = [0u8; 16 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(None),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// `courser auth-server`. `config_path` is the file a reload re-reads.
pub fn authd_main(config_path: Option<PathBuf>) -> Result<(), String> {
    let front = inherited_socket(std::io::stdin().as_fd())?
        .ok_or("standard input is not the front end's socket")?;
    let spawner = inherited_socket(std::io::stdout().as_fd())?;
    let mut reader = FrameReader::new(front.try_clone().map_err(|e| e.to_string())?);
    let writer = Arc::new(Mutex::new(front));
    // The first frame configures; nothing else is answered before it.
    let (id, config) = match reader.next().map_err(|e| e.to_string())? {
        Some(frame) => match wire::decode_request(&frame) {
            Ok((id, Request::Configure(text))) => (id, text),
            _ => return Err("the first frame is not the configuration".into()),
        },
        None => return Ok(()),
    };
    let config: Config = toml::from_str(&config).map_err(|e| format!("configuration: {e}"))?;
    let served = Served::new(&config)?;
    let limits = limiter::Settings::new(&config)?;
    send(&writer, id, &Response::Ready(served.auth.mechanisms()));
    let state = Arc::new(State::new(served, limits, config_path));
    if let Some(spawner) = spawner {
        let state = Arc::clone(&state);
        std::thread::Builder::new()
            .name("authd-spawner".into())
            .spawn(move || serve_spawner(spawner, &state))
            .map_err(|e| e.to_string())?;
    }
    let (jobs, queue) = sync_channel::<(u32, Request)>(QUEUE);
    let queue = Arc::new(Mutex::new(queue));
    for n in 0..checkers() {
        let (state, queue, writer) = (Arc::clone(&state), Arc::clone(&queue), Arc::clone(&writer));
        std::thread::Builder::new()
            .name(format!("authd-{n}"))
            .spawn(move || check_loop(&state, &queue, &writer))
            .map_err(|e| e.to_string())?;
    }
    read_front_end(&mut reader, &state, &jobs, &writer);
    Ok(())
}

/// The socket on `fd`, if it is one.
fn inherited_socket(fd: std::os::fd::BorrowedFd<'_>) -> Result<Option<UnixStream>, String> {
    let is_socket = rustix::fs::fstat(fd).is_ok_and(|st| {
        rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Socket
    });
    if !is_socket {
        return Ok(None);
    }
    let owned: OwnedFd = fd.try_clone_to_owned().map_err(|e| e.to_string())?;
    Ok(Some(UnixStream::from(owned)))
}

/// Queues the front end's requests until its channel closes or breaks
/// the protocol (then this process ends, and with it every login: the
/// front end sees temporary failures).
fn read_front_end(
    reader: &mut FrameReader<UnixStream>,
    state: &State,
    jobs: &SyncSender<(u32, Request)>,
    writer: &Mutex<UnixStream>,
) {
    loop {
        let frame = match reader.next() {
            Ok(Some(frame)) => frame,
            Ok(None) => return,
            Err(e) => {
                tracing::error!("auth server: front end channel: {e}");
                return;
            }
        };
        match wire::decode_request(&frame) {
            Ok((id, Request::Mechanisms)) => {
                let served = Arc::clone(&state.served.read().unwrap_or_else(|e| e.into_inner()));
                send(writer, id, &Response::Ready(served.auth.mechanisms()));
            }
            Ok((id, Request::Configure(_) | Request::Redeem(_))) => {
                tracing::warn!(
                    "auth server: refused a configuration or ticket request from the front end"
                );
                send(writer, id, &failed(false, "not allowed here"));
            }
            Ok(job) => {
                if jobs.send(job).is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::error!("auth server: malformed request from the front end: {e}");
                return;
            }
        }
    }
}

fn check_loop(state: &State, queue: &Mutex<Receiver<(u32, Request)>>, writer: &Mutex<UnixStream>) {
    loop {
        let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok((id, request)) = job else { return };
        let response = answer(state, request);
        send(writer, id, &response);
    }
}

fn failed(temporary: bool, reason: impl Into<String>) -> Response {
    Response::Failed {
        temporary,
        reason: reason.into(),
        wait_ms: 0,
    }
}

fn from_error(e: &AuthError) -> Response {
    failed(e.is_temporary(), e.to_string())
}

/// A wait in whole milliseconds, for the wire.
fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// Answers one front end request.
fn answer(state: &State, request: Request) -> Response {
    let served = Arc::clone(&state.served.read().unwrap_or_else(|e| e.into_inner()));
    match request {
        Request::Reload => match reload(state) {
            Ok(mechanisms) => Response::Ready(mechanisms),
            Err(e) => failed(true, e),
        },
        Request::ReadConfig => match read_config(state) {
            Ok(text) => Response::Config(text),
            Err(e) => failed(true, e),
        },
        Request::Verify {
            service,
            peer,
            credentials,
            ticket,
        } => {
            let checked = match &credentials {
                Credentials::External { .. } if !served.external => {
                    return failed(false, "EXTERNAL without [tls] client_ca");
                }
                // No password: the certificate was checked where TLS ends.
                Credentials::External { .. } => {
                    served.auth.verify_unpadded(service.as_str(), &credentials)
                }
                // The proof was checked (and counted) in the exchange.
                Credentials::Scram { exchange, .. } => Checked {
                    result: scram_verdict(state, &served, *exchange),
                    pad: Duration::ZERO,
                },
                Credentials::Password { .. } | Credentials::Cram(_) => {
                    match guess(state, peer, credentials.login(), || {
                        served.auth.verify_unpadded(service.as_str(), &credentials)
                    }) {
                        Ok(checked) => checked,
                        Err(refusal) => return refused(&refusal),
                    }
                }
            };
            let account = match checked.result {
                Ok(account) => {
                    if let Credentials::Password {
                        authzid: Some(as_account),
                        login,
                        ..
                    } = &credentials
                    {
                        if as_account != login {
                            tracing::info!(
                                master = %courser_protocol::Untrusted(login),
                                user = %courser_protocol::Untrusted(&account.login),
                                service = service.as_str(),
                                "master user logs in as an account"
                            );
                        }
                    }
                    account
                }
                // The wait that hides an unknown login is the front end's
                // to sleep (asynchronously); a checker here is never
                // parked on it.
                Err(e) => {
                    // The front end sees a failed login; why is said here.
                    if let AuthError::NotMasterUser { login, account } = &e {
                        tracing::warn!(
                            login = %courser_protocol::Untrusted(login),
                            account = %courser_protocol::Untrusted(account),
                            service = service.as_str(),
                            "refused: a login that is not a master user named another account"
                        );
                    }
                    return Response::Failed {
                        temporary: e.is_temporary(),
                        reason: e.to_string(),
                        wait_ms: millis(checked.pad),
                    };
                }
            };
            let ticket = if ticket && served.per_user {
                match issue_ticket(state, &served, &account) {
                    Ok(t) => Some(t),
                    Err(e) => return failed(true, e),
                }
            } else {
                None
            };
            Response::Account { account, ticket }
        }
        Request::ScramStep {
            service,
            peer,
            hash,
            exchange: None,
            data,
        } => scram_start(state, &served, service, peer, hash, &data),
        Request::ScramStep {
            exchange: Some(number),
            data,
            ..
        } => scram_step(state, number, &data),
        Request::Mechanisms => Response::Ready(served.auth.mechanisms()),
        Request::Configure(_) | Request::Redeem(_) => failed(false, "not allowed here"),
    }
}

/// Runs `check`, a password check for `login` from `peer`, if the
/// limiter lets it, and counts its outcome; the refusal otherwise.
fn guess(
    state: &State,
    peer: IpAddr,
    login: &str,
    check: impl FnOnce() -> Checked<Account>,
) -> Result<Checked<Account>, limiter::Refusal> {
    state.admit(peer, login)?;
    let checked = check();
    let outcome = match &checked.result {
        Ok(_) => Outcome::Right,
        Err(e) if e.is_temporary() => Outcome::Unchecked,
        Err(_) => Outcome::Wrong,
    };
    state.settle(peer, login, outcome);
    Ok(checked)
}

/// The answer to a check the limiter refused: temporary (the password
/// may be right), and no lookup happened, so it tells nothing about the
/// account.
fn refused(refusal: &limiter::Refusal) -> Response {
    failed(
        true,
        format!("refused by the authentication process: {refusal}"),
    )
}

/// A ticket for the spawner to redeem for `account` (per-user model).
fn issue_ticket(state: &State, served: &Served, account: &Account) -> Result<String, String> {
    let worker = WorkerAccount {
        uid: account.uid,
        gid: account.gid,
        login: account.login.clone(),
        home: account.home.clone(),
        maildir: account.maildir_path_or(&served.default_maildir),
        options: account.options.as_str().to_owned(),
    };
    state
        .tickets
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .issue(worker, Instant::now())
        .map_err(|e| e.to_string())
}

/// A SCRAM client-first message: looks the keys up here and answers the
/// server-first message (decoy keys for a login without any, with the
/// wait that makes it as slow as a known one).
fn scram_start(
    state: &State,
    served: &Served,
    service: Service,
    peer: IpAddr,
    hash: ScramHash,
    data: &[u8],
) -> Response {
    if !served.auth.supports_scram(hash) {
        return failed(false, "SCRAM with this hash is not offered");
    }
    let first = match scram::parse_client_first(data) {
        Ok(first) => first,
        Err(e) => return failed(false, e.to_string()),
    };
    let keys = served
        .auth
        .scram_keys_unpadded(service.as_str(), &first.login, hash);
    let found = match keys.result {
        Ok(found) => found,
        Err(e) => return from_error(&e),
    };
    let nonce = match scram::server_nonce() {
        Ok(n) => n,
        Err(e) => return failed(true, e.to_string()),
    };
    let (exchange, server_first) = Exchange::start(hash, found, first, &nonce);
    let now = Instant::now();
    let number = state
        .exchanges()
        .insert(Open::new(exchange, service, peer, now), now);
    Response::Challenge {
        exchange: number,
        data: server_first,
        wait_ms: millis(keys.pad),
    }
}

/// The client's next message in exchange `number`. The proof is a
/// password guess: the limiter may refuse it, and a wrong one counts.
fn scram_step(state: &State, number: u64, data: &[u8]) -> Response {
    let now = Instant::now();
    let Some(mut open) = state.exchanges().take(number, now) else {
        return failed(false, "unknown or expired SCRAM exchange");
    };
    let guess = open.exchange.awaits_proof();
    let login = open.exchange.login().to_owned();
    if guess {
        if let Err(refusal) = state.admit(open.peer, &login) {
            return refused(&refusal);
        }
    }
    let answer = match open.exchange.step(data) {
        ExchangeStep::Challenge(data) => {
            if guess {
                state.settle(open.peer, &login, Outcome::Right);
            }
            Response::Challenge {
                exchange: number,
                data,
                wait_ms: 0,
            }
        }
        ExchangeStep::Done { verified } => {
            open.verdict = Some(verified);
            Response::ExchangeDone(number)
        }
    };
    state.exchanges().put(number, open);
    answer
}

/// The verdict of a finished SCRAM exchange (once): the account when the
/// client proved the password.
fn scram_verdict(state: &State, served: &Served, number: u64) -> Result<Account, AuthError> {
    let open = state.exchanges().take(number, Instant::now());
    match open {
        Some(open) if open.verdict == Some(true) => served
            .auth
            .lookup(open.service.as_str(), open.exchange.login()),
        _ => Err(AuthError::Failed),
    }
}

/// The configuration file's effective settings for the front end: what
/// it needs, without the account sources' settings (SQL and LDAP
/// credentials stay here).
fn read_config(state: &State) -> Result<String, String> {
    let path: &Path = state
        .config_path
        .as_deref()
        .ok_or("started without a configuration file")?;
    let mut config = Config::load(path).map_err(|e| e.to_string())?;
    config.auth.backends.clear();
    Ok(config.to_toml())
}

/// Re-reads the configuration file and swaps the backends.
fn reload(state: &State) -> Result<Vec<courser_auth::Mechanism>, String> {
    let path: &Path = state
        .config_path
        .as_deref()
        .ok_or("started without a configuration file")?;
    let config = Config::load(path).map_err(|e| e.to_string())?;
    let served = Served::new(&config)?;
    state.limiter().configure(limiter::Settings::new(&config)?);
    let mechanisms = served.auth.mechanisms();
    *state.served.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(served);
    Ok(mechanisms)
}

/// Redeems tickets for the spawner, one request at a time.
fn serve_spawner(spawner: UnixStream, state: &State) {
    let Ok(write_half) = spawner.try_clone() else {
        return;
    };
    let writer = Mutex::new(write_half);
    let mut reader = FrameReader::new(spawner);
    while let Ok(Some(frame)) = reader.next() {
        let (id, response) = match wire::decode_request(&frame) {
            Ok((id, Request::Redeem(ticket))) => {
                let redeemed = state
                    .tickets
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .redeem(&ticket, Instant::now());
                match redeemed {
                    Ok(account) => (id, Response::Ids(account)),
                    Err(e) => (id, failed(false, e.to_string())),
                }
            }
            Ok((id, _)) => (id, failed(false, "the spawner only redeems tickets")),
            Err(e) => {
                tracing::error!("auth server: malformed request from the spawner: {e}");
                return;
            }
        };
        send(&writer, id, &response);
    }
}

fn send(writer: &Mutex<UnixStream>, id: u32, response: &Response) {
    let frame = wire::encode_response(id, response);
    let mut w = writer.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(e) = w.write_all(&frame) {
        tracing::warn!("auth server: cannot answer: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use courser_auth::scram::ScramKeys;
    use std::os::unix::fs::PermissionsExt;

    /// The process's state over a userdb holding ann (password "one").
    fn state(dir: &Path) -> State {
        let userdb = dir.join("userdb");
        std::fs::write(
            &userdb,
            format!(
                "ann\tuid=1000|gid=1000|home=/home/ann|systempw={{MD5RAW}}f97c5d29941bfb1b2fdab0874906ab82|scram-sha-256pw={}\n",
                ScramKeys::from_password(ScramHash::Sha256, b"one", b"salt", 4096)
            ),
        )
        .unwrap();
        std::fs::set_permissions(&userdb, std::fs::Permissions::from_mode(0o600)).unwrap();
        let text = format!(
            "[[listener]]\nprotocol = \"imap\"\naddress = \"127.0.0.1:1143\"\n\
             [server]\nprocess_model = \"per-user\"\n[auth]\nuserdb = \"{}\"\n",
            userdb.display()
        );
        let config: Config = toml::from_str(&text).unwrap();
        let limits = limiter::Settings::new(&config).unwrap();
        State::new(Served::new(&config).unwrap(), limits, None)
    }

    fn verify(state: &State, credentials: Credentials) -> Response {
        answer(
            state,
            Request::Verify {
                service: Service::Imap,
                peer: "192.0.2.1".parse().unwrap(),
                credentials,
                ticket: true,
            },
        )
    }

    #[test]
    fn logins_get_tickets_and_claims_are_checked_here() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let password = |p: &[u8]| Credentials::Password {
            authzid: None,
            login: "ann".into(),
            password: p.to_vec(),
        };
        let Response::Account { account, ticket } = verify(&state, password(b"one")) else {
            panic!("ann logs in");
        };
        assert_eq!(account.uid, 1000);
        let ticket = ticket.expect("per-user: a ticket");
        let redeemed = state
            .tickets
            .lock()
            .unwrap()
            .redeem(&ticket, Instant::now())
            .unwrap();
        assert_eq!(redeemed.maildir, Path::new("/home/ann/Maildir"));
        assert!(matches!(
            verify(&state, password(b"two")),
            Response::Failed {
                temporary: false,
                ..
            }
        ));
        // What a front end could claim without the client's help: a
        // SCRAM exchange that never ran, an EXTERNAL login without client
        // certificates configured.
        let forged = Credentials::Scram {
            login: "ann".into(),
            exchange: 1,
        };
        let external = Credentials::External {
            login: "ann".into(),
        };
        for claim in [forged, external] {
            assert!(
                matches!(verify(&state, claim), Response::Failed { .. }),
                "a claim passed"
            );
        }
        assert!(matches!(
            answer(&state, Request::Redeem(ticket)),
            Response::Failed { .. }
        ));
        assert!(matches!(
            answer(&state, Request::Configure(String::new())),
            Response::Failed { .. }
        ));
    }

    #[test]
    fn a_burst_of_wrong_passwords_is_refused_here() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let wrong = |login: &str| Credentials::Password {
            authzid: None,
            login: login.into(),
            password: b"guess".to_vec(),
        };
        // Five free failures (the default), checked and counted…
        for login in ["ann", "bob", "ann", "cat", "ann"] {
            let answer = verify(&state, wrong(login));
            assert!(
                matches!(
                    answer,
                    Response::Failed {
                        temporary: false,
                        ..
                    }
                ),
                "{answer:?}"
            );
        }
        // …then not even checked: the right password is refused too, as
        // temporary, whatever the login.
        for login in ["ann", "zed"] {
            let Response::Failed {
                temporary: true,
                reason,
                ..
            } = verify(&state, wrong(login))
            else {
                panic!("refused");
            };
            assert!(
                reason.contains("too many failed logins from this address"),
                "{reason}"
            );
        }
        let right = Credentials::Password {
            authzid: None,
            login: "ann".into(),
            password: b"one".to_vec(),
        };
        assert!(matches!(
            verify(&state, right),
            Response::Failed {
                temporary: true,
                ..
            }
        ));
        // A SCRAM exchange starts (no guess yet), but its proof is a
        // guess as well: refused before it is checked.
        let step = |exchange, data: &[u8]| {
            answer(
                &state,
                Request::ScramStep {
                    service: Service::Imap,
                    peer: "192.0.2.1".parse().unwrap(),
                    hash: ScramHash::Sha256,
                    exchange,
                    data: data.to_vec(),
                },
            )
        };
        let Response::Challenge { exchange, data, .. } = step(None, b"n,,n=ann,r=abc") else {
            panic!("server-first");
        };
        let nonce = String::from_utf8(data).unwrap();
        let nonce = nonce.split(',').next().unwrap();
        let proof = format!("c=biws,{nonce},p=AAAA");
        assert!(matches!(
            step(Some(exchange), proof.as_bytes()),
            Response::Failed {
                temporary: true,
                ..
            }
        ));
    }
}
