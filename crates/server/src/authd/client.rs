//! The front end's side of the channel to the authentication process:
//! blocking calls (the login path runs them with `spawn_blocking`, as it
//! ran the backends before), many in flight at once over one socket,
//! paired with their answers by id on a reader thread.

use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use courser_auth::sasl::{Credentials, Mechanism, Relay, RelayAnswer};
use courser_auth::{Account, AuthError, Checked};

use super::service::FrameReader;
use super::wire::{self, Request, Response, WorkerAccount};
use crate::service::Service;

/// Longest wait for an answer (backends have their own, shorter,
/// timeouts; this catches a stuck process).
const CALL_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest wait for the mechanisms (answered without queueing); after it
/// the last known list is offered.
const MECHANISMS_TIMEOUT: Duration = Duration::from_secs(1);

/// Calls waiting for their answers; `None` once the channel is gone.
type Pending = Arc<Mutex<Option<HashMap<u32, SyncSender<Response>>>>>;

/// A connection to the authentication process.
#[derive(Debug)]
pub struct AuthClient {
    writer: Option<Mutex<UnixStream>>,
    pending: Pending,
    next_id: AtomicU32,
    mechanisms: RwLock<Vec<Mechanism>>,
}

/// A successful check.
#[derive(Debug)]
pub struct Verified {
    /// The account (no secrets).
    pub account: Account,
    /// Per-user model: the ticket the spawner redeems for the account.
    pub ticket: Option<String>,
}

impl AuthClient {
    /// Configures the process at the other end of `channel` with
    /// `config` (TOML) and starts reading its answers.
    pub fn connect(channel: UnixStream, config: String) -> Result<AuthClient, String> {
        let mut reader = FrameReader::new(channel.try_clone().map_err(|e| e.to_string())?);
        let mut writer = channel;
        writer
            .write_all(&wire::encode_request(0, &Request::Configure(config)))
            .map_err(|e| format!("auth server: {e}"))?;
        let mechanisms = match reader.next() {
            Ok(Some(frame)) => match wire::decode_response(&frame) {
                Ok((0, Response::Ready(m))) => m,
                other => return Err(format!("auth server: unexpected answer {other:?}")),
            },
            Ok(None) => return Err("auth server: exited at start (see its error above)".into()),
            Err(e) => return Err(format!("auth server: {e}")),
        };
        let pending: Pending = Arc::new(Mutex::new(Some(HashMap::new())));
        let answers = Arc::clone(&pending);
        std::thread::Builder::new()
            .name("authd-client".into())
            .spawn(move || read_answers(reader, &answers))
            .map_err(|e| e.to_string())?;
        Ok(AuthClient {
            writer: Some(Mutex::new(writer)),
            pending,
            next_id: AtomicU32::new(1),
            mechanisms: RwLock::new(mechanisms),
        })
    }

    /// A client with no process behind it, for processes that serve a
    /// session already logged in: every call is a temporary failure.
    pub fn disconnected() -> AuthClient {
        AuthClient {
            writer: None,
            pending: Arc::new(Mutex::new(None)),
            next_id: AtomicU32::new(1),
            mechanisms: RwLock::new(Vec::new()),
        }
    }

    /// The SASL mechanisms the backends serve now (a userdb gains SCRAM
    /// or CRAM secrets while running); the last known list if the
    /// process does not answer at once.
    pub fn mechanisms(&self) -> Vec<Mechanism> {
        if let Ok(Response::Ready(m)) = self.call(&Request::Mechanisms, MECHANISMS_TIMEOUT) {
            *self.mechanisms.write().unwrap_or_else(|e| e.into_inner()) = m.clone();
            return m;
        }
        self.mechanisms
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn call(&self, request: &Request, timeout: Duration) -> Result<Response, AuthError> {
        let gone = || AuthError::unavailable("auth server", "not reachable");
        let writer = self.writer.as_ref().ok_or_else(gone)?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = sync_channel(1);
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
            .ok_or_else(gone)?
            .insert(id, tx);
        let frame = wire::encode_request(id, request);
        let sent = writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .write_all(&frame);
        let answer = match sent {
            Ok(()) => rx.recv_timeout(timeout).map_err(|_| gone()),
            Err(_) => Err(gone()),
        };
        if answer.is_err() {
            if let Some(map) = self
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_mut()
            {
                map.remove(&id);
            }
        }
        answer
    }

    /// Checks `credentials` for `service` from the client at `peer`;
    /// `ticket`: also get a ticket for the spawner (per-user model). The
    /// caller sleeps the answer's `pad` before telling the client (an
    /// unknown login takes as long as a known one).
    pub fn verify(
        &self,
        service: &str,
        peer: IpAddr,
        credentials: &Credentials,
        ticket: bool,
    ) -> Checked<Verified> {
        let request = service_of(service).map(|service| Request::Verify {
            service,
            peer,
            credentials: credentials.clone(),
            ticket,
        });
        match request.and_then(|r| self.call(&r, CALL_TIMEOUT)) {
            Ok(Response::Account { account, ticket }) => now(Ok(Verified { account, ticket })),
            Ok(other) => failure(other),
            Err(e) => now(Err(e)),
        }
    }

    /// Passes a SCRAM client message from the client at `peer` to the
    /// exchange the authentication process runs, and returns its answer,
    /// with the wait to sleep as for [`AuthClient::verify`].
    pub fn scram_step(&self, service: &str, peer: IpAddr, relay: Relay) -> Checked<RelayAnswer> {
        let request = service_of(service).map(|service| Request::ScramStep {
            service,
            peer,
            hash: relay.hash,
            exchange: relay.exchange,
            data: relay.data,
        });
        match request.and_then(|r| self.call(&r, CALL_TIMEOUT)) {
            Ok(Response::Challenge {
                exchange,
                data,
                wait_ms,
            }) => Checked {
                result: Ok(RelayAnswer::Challenge { exchange, data }),
                pad: Duration::from_millis(u64::from(wait_ms)),
            },
            Ok(Response::ExchangeDone(exchange)) => now(Ok(RelayAnswer::Done { exchange })),
            Ok(other) => failure(other),
            Err(e) => now(Err(e)),
        }
    }

    /// The configuration file, read by the authentication process (which
    /// may be root while this process is not), without the account
    /// sources' settings.
    pub fn read_config(&self) -> Result<crate::config::Config, String> {
        match self.call(&Request::ReadConfig, CALL_TIMEOUT) {
            Ok(Response::Config(text)) => {
                toml::from_str(&text).map_err(|e| format!("the auth server's copy: {e}"))
            }
            Ok(other) => Err(error_of(other).to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Asks the process to re-read its configuration file.
    pub fn reload(&self) -> Result<(), String> {
        match self.call(&Request::Reload, CALL_TIMEOUT) {
            Ok(Response::Ready(m)) => {
                *self.mechanisms.write().unwrap_or_else(|e| e.into_inner()) = m;
                Ok(())
            }
            Ok(other) => Err(error_of(other).to_string()),
            Err(e) => Err(e.to_string()),
        }
    }
}

fn service_of(name: &str) -> Result<Service, AuthError> {
    Service::from_name(name).ok_or_else(|| AuthError::unavailable("auth server", "unknown service"))
}

fn now<T>(result: Result<T, AuthError>) -> Checked<T> {
    Checked {
        result,
        pad: Duration::ZERO,
    }
}

/// A refusal, with the wait the authentication process asked for.
fn failure<T>(response: Response) -> Checked<T> {
    let pad = match &response {
        Response::Failed { wait_ms, .. } => Duration::from_millis(u64::from(*wait_ms)),
        _ => Duration::ZERO,
    };
    Checked {
        result: Err(error_of(response)),
        pad,
    }
}

fn error_of(response: Response) -> AuthError {
    match response {
        Response::Failed {
            temporary: false, ..
        } => AuthError::Failed,
        Response::Failed { reason, .. } => AuthError::unavailable("auth server", reason),
        _ => AuthError::unavailable("auth server", "unexpected answer"),
    }
}

/// Hands each answer to its caller; when the channel ends every waiting
/// and later call fails as unavailable.
fn read_answers(mut reader: FrameReader<UnixStream>, pending: &Pending) {
    while let Ok(Some(frame)) = reader.next() {
        let Ok((id, response)) = wire::decode_response(&frame) else {
            tracing::error!("auth server sent a malformed answer");
            break;
        };
        let waiting = pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
            .and_then(|map| map.remove(&id));
        if let Some(tx) = waiting {
            let _ = tx.send(response);
        }
    }
    tracing::warn!("the channel to the authentication process closed: logins fail from now on");
    // Dropping the senders wakes every waiting call.
    *pending.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// The spawner's one call: the account `ticket` stands for. Blocking; one
/// request at a time on `channel`.
pub fn redeem(channel: &UnixStream, ticket: &str) -> Result<WorkerAccount, String> {
    let mut writer = channel;
    writer
        .write_all(&wire::encode_request(
            0,
            &Request::Redeem(ticket.to_owned()),
        ))
        .map_err(|e| format!("auth server unreachable: {e}"))?;
    let frame = FrameReader::new(channel)
        .next()
        .map_err(|e| format!("auth server: {e}"))?
        .ok_or("auth server gone")?;
    match wire::decode_response(&frame).map_err(|e| e.to_string())? {
        (_, Response::Ids(account)) => Ok(account),
        (_, Response::Failed { reason, .. }) => Err(reason),
        _ => Err("unexpected answer from the auth server".into()),
    }
}
