//! After a client proved who it is (or while a SCRAM exchange proves it):
//! check the account may use the service here, start its per-user
//! worker, log the login the way Courier does (one line per login and
//! failed login), and open its maildir.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use courser_auth::sasl::{Credentials, Relay, RelayAnswer};
use courser_auth::Account;
use courser_protocol::Untrusted;

use crate::authd::Verified;
use crate::courier_log::{self, Program};
use crate::failures::{failure_delay, FailureCounts};
use crate::limits::UserSlot;
use crate::login_pool::Busy;
use crate::peruser::Worker;
use crate::refused::Refused;
use crate::session::ProtocolSession;
use crate::shared::Shared;

/// Opens an account's mail in `maildir` with `open` on a blocking thread
/// (it reads the maildir), after running the maildir's `loginexec`
/// ([`crate::arrival::run_loginexec`]). When it cannot be opened, logs
/// why (`what` names the mail: "maildir", "maildrop"), answers the login
/// as a temporary failure and returns `None`.
pub(crate) async fn open_mail<
    P: ProtocolSession,
    T: Send + 'static,
    E: std::fmt::Display + Send + 'static,
>(
    session: &mut P,
    login: &str,
    what: &str,
    maildir: PathBuf,
    open: impl FnOnce(&std::path::Path) -> Result<T, E> + Send + 'static,
    out: &mut Vec<u8>,
) -> Option<T> {
    let user = login.to_owned();
    let arrive = move || {
        crate::arrival::run_loginexec(&maildir, &user);
        open(&maildir)
    };
    let why = match tokio::task::spawn_blocking(arrive).await {
        Ok(Ok(mail)) => return Some(mail),
        Ok(Err(e)) => format!("cannot open the {what}: {e}"),
        Err(e) => format!("{what} open task failed: {e}"),
    };
    tracing::error!(user = %Untrusted(login), "{why}");
    session.login_failed(true, out);
    None
}

/// A login [`admit`] let in.
#[derive(Debug)]
pub struct Admitted {
    /// The account.
    pub account: Account,
    /// Its maildir.
    pub maildir: PathBuf,
    /// Its place in the per-account limits, held while logged in.
    pub slot: UserSlot,
    /// Per-user model: the worker process the session moves to.
    pub worker: Option<Worker>,
}

/// The protocol-independent part of a login: verifies `credentials` for
/// `service` (`imap`, `pop3`), slowing failures down; checks the account
/// may use the service over this connection and can be served here;
/// counts the session against the per-account limits (the returned slot,
/// held while logged in); and in the per-user model starts the worker
/// process the session continues in (a worker that cannot start is a
/// temporary failure). Logs the outcome (a failed login also as
/// `program` in Courier's format, when that is on) and counts a refusal;
/// a login let in is counted by the caller once it is served (here, in a
/// worker, or on its backend in proxy mode).
pub async fn admit(
    service: &'static str,
    program: Program,
    credentials: Credentials,
    peer: SocketAddr,
    tls: bool,
    shared: &Arc<Shared>,
) -> Result<Admitted, Refused> {
    let outcome = admit_uncounted(service, program, credentials, peer, tls, shared).await;
    if let Err(refused) = outcome {
        crate::metrics::login(service, Some(refused));
    }
    outcome
}

async fn admit_uncounted(
    service: &'static str,
    program: Program,
    credentials: Credentials,
    peer: SocketAddr,
    tls: bool,
    shared: &Arc<Shared>,
) -> Result<Admitted, Refused> {
    let (verified, slot) = check_login(service, program, credentials, peer, tls, shared).await?;
    let account = verified.account;
    let maildir = account.maildir_path_or(&shared.config.maildir.default_path);
    let worker = match (&shared.spawner, verified.ticket) {
        (None, _) => None,
        (Some(_), None) => {
            tracing::error!(user = %account.login, service, "LOGIN FAILED (temporary): the authentication process issued no ticket");
            return Err(Refused::Failed { temporary: true });
        }
        (Some(spawner), Some(ticket)) => {
            match crate::peruser::start_worker(spawner, ticket, &account.login).await {
                Ok(worker) => {
                    tracing::debug!(user = %Untrusted(&account.login), pid = worker.pid, service, "session process started");
                    Some(worker)
                }
                Err(e) => {
                    tracing::error!(user = %Untrusted(&account.login), service, "LOGIN FAILED (temporary): cannot start the session process: {e}");
                    return Err(Refused::Failed { temporary: true });
                }
            }
        }
    };
    Ok(Admitted {
        account,
        maildir,
        slot,
        worker,
    })
}

/// Relays a session's SCRAM message (`Action::Relay`) to the exchange
/// the authentication process runs, and returns its answer: a challenge
/// for the client, or the end of the exchange (whose verdict [`admit`]
/// asks for, right or wrong). A refusal — the process's own limits, a
/// backend that cannot answer, an exchange it does not know — is logged
/// and counted as a failed login, and the driver answers with the
/// session's `login_failed`.
pub async fn scram_step(
    service: &'static str,
    program: Program,
    relay: Relay,
    peer: SocketAddr,
    shared: &Arc<Shared>,
) -> Result<RelayAnswer, Refused> {
    let login = relay.login.clone();
    let auth = Arc::clone(&shared.auth);
    let ip = peer.ip();
    let stepped = shared
        .logins
        .run(move || auth.scram_step(service, ip, relay))
        .await;
    let result = match stepped {
        Ok(checked) => {
            // An unknown login takes as long as a known one, asleep.
            tokio::time::sleep(checked.pad).await;
            checked.result
        }
        Err(Busy) => Err(busy()),
    };
    result.map_err(|e| {
        let temporary = e.is_temporary();
        if temporary {
            log_temporary(&login, peer, service, &e);
        } else {
            tracing::info!(user = %Untrusted(&login), ip = %peer.ip(), port = peer.port(), service, reason = %e, "LOGIN FAILED");
            log_courier_failure(shared, program, &login, peer);
        }
        let refused = Refused::Failed { temporary };
        crate::metrics::login(service, Some(refused));
        refused
    })
}

/// The refusal of a password over `[auth] max_password_length`, which is
/// never hashed (sha-crypt's cost grows with the square of its length).
fn too_long(credentials: &Credentials, max: usize) -> Option<courser_auth::AuthError> {
    match credentials {
        Credentials::Password { password, .. } if password.len() > max => {
            Some(courser_auth::AuthError::PasswordTooLong {
                length: password.len(),
                max,
            })
        }
        _ => None,
    }
}

/// The error of a login the pool had no room for.
fn busy() -> courser_auth::AuthError {
    courser_auth::AuthError::unavailable("server", "too many logins in progress")
}

/// Courier's line for a login refused for its credentials (not for a
/// backend that could not answer: that is no sign of guessing, and
/// fail2ban would ban the users of a broken backend).
fn log_courier_failure(shared: &Shared, program: Program, login: &str, peer: SocketAddr) {
    let client = courier_log::Client {
        ip: peer.ip(),
        port: peer.port(),
    };
    let event = courier_log::Event::LoginFailed {
        user: login,
        client,
    };
    courier_log::emit(&shared.config.log, program, &event);
}

/// The log line of a login that failed because a backend could not
/// answer.
fn log_temporary(login: &str, peer: SocketAddr, service: &str, e: &courser_auth::AuthError) {
    tracing::warn!(user = %Untrusted(login), ip = %peer.ip(), service, "LOGIN FAILED (temporary): {e}");
}

/// The credential, account and limit checks of [`admit`]; per-user, the
/// verdict carries the spawner's ticket.
async fn check_login(
    service: &'static str,
    program: Program,
    credentials: Credentials,
    peer: SocketAddr,
    tls: bool,
    shared: &Arc<Shared>,
) -> Result<(Verified, UserSlot), Refused> {
    let login = credentials.login().to_owned();
    let auth = Arc::clone(&shared.auth);
    let started = std::time::Instant::now();
    let ticket = shared.spawner.is_some();
    let ip = peer.ip();
    let verified = if let Some(e) = too_long(&credentials, shared.config.auth.max_password_length) {
        // Refused here, so the authentication process is not even asked
        // (it refuses such passwords too).
        Err(e)
    } else {
        let checked = shared
            .logins
            .run(move || auth.verify(service, ip, &credentials, ticket))
            .await;
        crate::metrics::login_checked(service, started.elapsed());
        match checked {
            Ok(checked) => {
                // An unknown login takes as long as a known one, asleep.
                tokio::time::sleep(checked.pad).await;
                checked.result
            }
            Err(Busy) => Err(busy()),
        }
    };
    let verified = match verified {
        Ok(verified) => verified,
        Err(e) => {
            let temporary = e.is_temporary();
            if temporary {
                log_temporary(&login, peer, service, &e);
            } else {
                // Slow down password guessing, more with every failure
                // from this address or for this account.
                let key = Some(shared.limits.key(peer.ip()));
                let failures = failures().record(key, &login, std::time::Instant::now());
                let delay = failure_delay(&shared.config.auth, failures);
                tracing::info!(user = %Untrusted(&login), ip = %peer.ip(), port = peer.port(), service, failures, delay_ms = delay.as_millis() as u64, reason = %e, "LOGIN FAILED");
                log_courier_failure(shared, program, &login, peer);
                tokio::time::sleep(delay).await;
            }
            return Err(Refused::Failed { temporary });
        }
    };
    failures().forget_account(&login);
    let account = &verified.account;
    if !account.service_allowed(service, tls) {
        tracing::info!(user = %Untrusted(&account.login), ip = %peer.ip(), service, "LOGIN REFUSED: service disabled for this account");
        return Err(Refused::ServiceDisabled);
    }
    let home = account.home.clone();
    if tokio::task::spawn_blocking(move || crate::arrival::home_locked(&home))
        .await
        .unwrap_or(false)
    {
        tracing::info!(user = %Untrusted(&account.login), ip = %peer.ip(), port = peer.port(), service, "LOCKED");
        return Err(Refused::Locked);
    }
    if shared.spawner.is_some() && account.uid == 0 {
        tracing::warn!(user = %Untrusted(&account.login), "LOGIN REFUSED: the account has uid 0; sessions never run as root");
        return Err(Refused::WrongUid);
    }
    if let Some(uid) = shared.enforce_uid {
        if account.uid != uid {
            tracing::warn!(
                user = %Untrusted(&account.login),
                account_uid = account.uid,
                server_uid = uid,
                "LOGIN REFUSED: the account's uid differs from the uid this shared-mode server runs as"
            );
            return Err(Refused::WrongUid);
        }
    }
    let trusted = crate::access::in_any(&shared.trusted, peer.ip());
    match shared
        .limits
        .acquire_user(&account.login, peer.ip(), trusted)
    {
        Ok(slot) => Ok((verified, slot)),
        Err(refusal) => {
            tracing::warn!(user = %Untrusted(&account.login), ip = %peer.ip(), "LOGIN REFUSED: {}", refusal.reason());
            Err(Refused::Limited(refusal.reason()))
        }
    }
}

/// The front end's failure counts, process-wide (they outlive
/// configuration reloads).
fn failures() -> std::sync::MutexGuard<'static, FailureCounts> {
    static COUNTS: std::sync::OnceLock<std::sync::Mutex<FailureCounts>> =
        std::sync::OnceLock::new();
    COUNTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
