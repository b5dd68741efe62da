//! One POP3 connection: drives a `courser_pop3` [`Session`] over a socket,
//! plain (STLS offered) or implicit TLS, and does what the session cannot:
//! authentication and opening the maildrop, TLS, timeouts, and the
//! login/logout log lines (as for IMAP, with Courier's `top`/`retr`
//! counters).
//!
//! A connection that drops or times out never reaches the UPDATE state
//! (RFC 1939 §6): nothing is deleted.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use courser_auth::sasl::Credentials;
use courser_pop3::codec::Code;
use courser_pop3::maildrop::MaildirDrop;
use courser_pop3::session::{Action, Session, SessionConfig};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use courser_protocol::Untrusted;

use crate::driver::{Driver, Step};
use crate::login::{admit, LoginResult};
use crate::peruser::handoff::Handoff;
use crate::refused::Refused;
use crate::service::Service;
use crate::shared::Shared;
use crate::stream::{send, Conn, Goodbyes};

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 8 * 1024;

/// How POP3 ends a waiting session; an autologout does not enter the
/// UPDATE state, so nothing is deleted (RFC 1939 §3).
const GOODBYES: Goodbyes = Goodbyes {
    shutting_down: b"-ERR [SYS/TEMP] Server shutting down\r\n",
    timed_out: b"-ERR Autologout; idle for too long\r\n",
    evicted: b"-ERR [SYS/TEMP] Too many connections; the oldest not logged in give way\r\n",
};

/// The POP3 connection driver.
struct Pop3;

impl From<Action> for Step {
    fn from(action: Action) -> Step {
        match action {
            Action::Continue => Step::Continue,
            Action::Close => Step::Close,
            Action::StartTls => Step::StartTls,
            Action::Login { credentials } => Step::Login {
                tag: None,
                credentials,
            },
            Action::Relay(relay) => Step::Relay(relay),
        }
    }
}

impl Driver for Pop3 {
    type Session = Session;
    const SERVICE: Service = Service::Pop3;
    const STARTTLS: &'static str = "STLS";
    const GOODBYES: Goodbyes = GOODBYES;
    const READ_CHUNK: usize = READ_CHUNK;

    fn login_timeout(shared: &Shared) -> Duration {
        shared.config.pop3.login_timeout()
    }

    fn autologout(shared: &Shared) -> Duration {
        shared.config.pop3.autologout()
    }

    fn receive(session: &mut Session, input: &mut Vec<u8>, out: &mut Vec<u8>) -> Step {
        session.receive(input, out).into()
    }

    fn record_finished(session: &mut Session) {
        for done in session.finished_commands() {
            crate::metrics::command(Service::Pop3, done.command, done.busy);
        }
    }

    fn is_over(session: &Session) -> bool {
        session.is_closed()
    }

    async fn login(
        session: &mut Session,
        credentials: Credentials,
        conn: &Conn,
        shared: &Arc<Shared>,
        out: &mut Vec<u8>,
    ) -> LoginResult {
        let admitted = match admit("pop3", credentials, conn.peer, conn.tls, shared).await {
            Ok(admitted) => admitted,
            Err(Refused::Failed { temporary }) => {
                session.login_failed(temporary, out);
                return LoginResult::Refused;
            }
            Err(Refused::ServiceDisabled) => {
                session.login_refused(Code::SysPerm, "POP3 access disabled for this account", out);
                return LoginResult::Refused;
            }
            Err(Refused::WrongUid) => {
                session.login_refused(
                    Code::SysPerm,
                    "This account cannot be served here, contact the administrator",
                    out,
                );
                return LoginResult::Refused;
            }
            Err(Refused::Limited(reason)) => {
                // RFC 2449 §8.1.1 IN-USE would claim a lock; this is a limit.
                session.login_refused(Code::SysTemp, reason, out);
                return LoginResult::Refused;
            }
        };
        match admitted.worker {
            Some(worker) => LoginResult::Worker(worker, admitted.slot),
            None => {
                let login = &admitted.account.login;
                if open_maildrop(session, login, admitted.maildir, conn, shared, out).await {
                    LoginResult::Here(admitted.slot)
                } else {
                    LoginResult::Refused
                }
            }
        }
    }
}

/// Serves one accepted POP3 connection (`conn.tls`: implicit TLS) to its
/// end.
pub(crate) async fn serve(stream: TcpStream, mut conn: Conn, shared: Arc<Shared>) {
    let (peer, implicit_tls) = (conn.peer, conn.tls);
    let config = SessionConfig {
        tls_active: implicit_tls,
        stls_available: shared.tls.is_some() && !implicit_tls,
        login_requires_tls: shared.config.pop3.require_tls_for_login
            && !implicit_tls
            && !peer.ip().is_loopback(),
        hostname: shared.hostname.clone(),
        limits: Default::default(),
    };
    let mut session = Session::new(config);
    session.offer_mechanisms(shared.auth.mechanisms());
    crate::driver::serve::<Pop3>(stream, &mut session, &mut conn, &shared, implicit_tls).await;
    log_logout(&session, &conn);
}

/// Serves a session handed over by the front end (per-user model, in the
/// worker process): opens the maildrop as the account, answers the login
/// command, and carries on over `stream`. `maildir` comes from the
/// spawner (the authentication process), not from the record.
pub async fn serve_handed_over(
    mut stream: tokio::net::UnixStream,
    record: Handoff,
    maildir: std::path::PathBuf,
    connected: Instant,
    shared: Arc<Shared>,
) {
    let config = SessionConfig {
        tls_active: record.tls,
        stls_available: false,
        login_requires_tls: false,
        hostname: shared.hostname.clone(),
        limits: Default::default(),
    };
    let mut session = Session::new(config);
    let mut conn = Conn::resumed(
        record.peer,
        record.tls,
        connected,
        record.bytes_in,
        record.bytes_out,
    );
    conn.stls = record.stls;
    let mut out = Vec::new();
    let opened = open_maildrop(
        &mut session,
        &record.login,
        maildir,
        &conn,
        &shared,
        &mut out,
    )
    .await;
    if !send(&mut stream, &mut out, &mut conn.bytes_out).await || !opened {
        // This process cannot authenticate anyone: the client reconnects.
        return;
    }
    crate::driver::run::<Pop3, _>(stream, &mut session, &mut conn, &shared, false).await;
    log_logout(&session, &conn);
}

/// Serves a session that is already logged in over any stream (for
/// `courser pop3d` on standard input and output).
pub async fn serve_preauthenticated<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    mut session: Session,
    shared: Arc<Shared>,
) {
    let mut conn = Conn::local();
    crate::driver::run::<Pop3, _>(stream, &mut session, &mut conn, &shared, true).await;
}

/// The LOGOUT line (Courier's, with its POP3 counters), for a session
/// that logged in.
fn log_logout(session: &Session, conn: &Conn) {
    if let Some(user) = session.user() {
        let stats = session.stats();
        tracing::info!(
            user = %Untrusted(user),
            ip = %conn.peer.ip(),
            port = conn.peer.port(),
            protocol = "POP3",
            tls = conn.tls,
            stls = conn.stls,
            top = stats.top,
            retr = stats.retr,
            deleted = stats.deleted,
            rcvd = conn.bytes_in,
            sent = conn.bytes_out,
            time = conn.started.elapsed().as_secs(),
            "LOGOUT"
        );
    }
}

/// Opens `login`'s maildrop and completes the session's login, logging
/// it; false (after answering) when the maildrop cannot be opened.
async fn open_maildrop(
    session: &mut Session,
    login: &str,
    maildir: std::path::PathBuf,
    conn: &Conn,
    shared: &Shared,
    out: &mut Vec<u8>,
) -> bool {
    let peer = conn.peer;
    let host = shared.hostname.clone();
    let opened =
        tokio::task::spawn_blocking(move || MaildirDrop::open(&maildir, &host, SystemTime::now()))
            .await;
    match opened {
        Ok(Ok(drop)) => {
            tracing::info!(
                user = %Untrusted(login),
                ip = %peer.ip(),
                port = peer.port(),
                protocol = "POP3",
                tls = conn.tls,
                stls = conn.stls,
                "LOGIN"
            );
            session.login_succeeded(login, Box::new(drop), out);
            true
        }
        Ok(Err(e)) => {
            tracing::error!(user = %Untrusted(login), "cannot open the maildrop: {e}");
            session.login_failed(true, out);
            false
        }
        Err(e) => {
            tracing::error!(user = %Untrusted(login), "maildrop open task failed: {e}");
            session.login_failed(true, out);
            false
        }
    }
}
