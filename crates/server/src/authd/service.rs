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
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use courser_auth::sasl::Credentials;
use courser_auth::{AuthError, Authenticator};

use super::tickets::Tickets;
use super::wire::{self, Request, Response, WorkerAccount};
use crate::config::{Config, ProcessModel};

/// Threads checking credentials at once: a few per core, since LDAP,
/// SQL and PAM mostly wait, but bounded. The front end's login pool
/// defaults to as many calls in flight.
pub(crate) fn checkers() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    (cores * 4).clamp(8, 64)
}
/// Requests waiting for a checker before the reader stops reading.
const QUEUE: usize = 1024;

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
    config_path: Option<PathBuf>,
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
    send(&writer, id, &Response::Ready(served.auth.mechanisms()));
    let state = Arc::new(State {
        served: RwLock::new(Arc::new(served)),
        tickets: Mutex::new(Tickets::default()),
        config_path,
    });
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
        Request::Verify {
            service,
            credentials,
            ticket,
        } => {
            if matches!(credentials, Credentials::External { .. }) && !served.external {
                return failed(false, "EXTERNAL without [tls] client_ca");
            }
            // The wait that hides an unknown login is the front end's to
            // sleep (asynchronously); a checker here is never parked on it.
            let checked = served.auth.verify_unpadded(service.as_str(), &credentials);
            let account = match checked.result {
                Ok(account) => account,
                Err(e) => {
                    return Response::Failed {
                        temporary: e.is_temporary(),
                        reason: e.to_string(),
                        wait_ms: millis(checked.pad),
                    }
                }
            };
            let ticket = if ticket && served.per_user {
                let worker = WorkerAccount {
                    uid: account.uid,
                    gid: account.gid,
                    login: account.login.clone(),
                    home: account.home.clone(),
                    maildir: account.maildir_path_or(&served.default_maildir),
                };
                let issued = state
                    .tickets
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .issue(worker, Instant::now());
                match issued {
                    Ok(t) => Some(t),
                    Err(e) => return failed(true, e.to_string()),
                }
            } else {
                None
            };
            Response::Account { account, ticket }
        }
        Request::ScramKeys { service, request } => {
            let checked = served.auth.scram_keys_unpadded(service.as_str(), &request);
            match checked.result {
                Ok(keys) => Response::Keys {
                    keys,
                    wait_ms: millis(checked.pad),
                },
                Err(e) => from_error(&e),
            }
        }
        Request::Mechanisms => Response::Ready(served.auth.mechanisms()),
        Request::Configure(_) | Request::Redeem(_) => failed(false, "not allowed here"),
    }
}

/// Re-reads the configuration file and swaps the backends.
fn reload(state: &State) -> Result<Vec<courser_auth::Mechanism>, String> {
    let path: &Path = state
        .config_path
        .as_deref()
        .ok_or("started without a configuration file")?;
    let config = Config::load(path).map_err(|e| e.to_string())?;
    let served = Served::new(&config)?;
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
    use crate::peruser::handoff::Service;
    use courser_auth::scram::{ScramHash, ScramProof};
    use std::os::unix::fs::PermissionsExt;

    /// The process's state over a userdb holding ann (password "one").
    fn state(dir: &Path) -> State {
        let userdb = dir.join("userdb");
        std::fs::write(
            &userdb,
            "ann\tuid=1000|gid=1000|home=/home/ann|systempw={MD5RAW}f97c5d29941bfb1b2fdab0874906ab82\n",
        )
        .unwrap();
        std::fs::set_permissions(&userdb, std::fs::Permissions::from_mode(0o600)).unwrap();
        let text = format!(
            "[[listener]]\nprotocol = \"imap\"\naddress = \"127.0.0.1:1143\"\n\
             [server]\nprocess_model = \"per-user\"\n[auth]\nuserdb = \"{}\"\n",
            userdb.display()
        );
        let config: Config = toml::from_str(&text).unwrap();
        State {
            served: RwLock::new(Arc::new(Served::new(&config).unwrap())),
            tickets: Mutex::new(Tickets::default()),
            config_path: None,
        }
    }

    fn verify(state: &State, credentials: Credentials) -> Response {
        answer(
            state,
            Request::Verify {
                service: Service::Imap,
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
        // SCRAM proof it made up, an EXTERNAL login without client
        // certificates configured.
        let forged = Credentials::Scram {
            login: "ann".into(),
            proof: Some(ScramProof {
                hash: ScramHash::Sha256,
                auth_message: "n=ann,r=x".into(),
                client_proof: vec![0; 32],
            }),
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
}
