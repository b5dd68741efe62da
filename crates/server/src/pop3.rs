//! One POP3 connection: drives a `courser_pop3` [`Session`] over a socket,
//! plain (STLS offered) or implicit TLS, and does what the session cannot:
//! authentication and opening the maildrop, TLS, timeouts, and the
//! login/logout log lines (as for IMAP, with Courier's `top`/`retr`
//! counters).
//!
//! A connection that drops or times out never reaches the UPDATE state
//! (RFC 1939 §6): nothing is deleted.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use courser_pop3::codec::Code;
use courser_pop3::maildrop::MaildirDrop;
use courser_pop3::session::{Action, Session, SessionConfig};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::limits::UserSlot;
use crate::login::{authenticate, Refused};
use crate::runtime::Shared;
use crate::stream::Goodbyes;

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 8 * 1024;

/// Per-connection facts for logs.
struct Conn {
    peer: SocketAddr,
    started: Instant,
    bytes_in: u64,
    bytes_out: u64,
    tls: bool,
    stls: bool,
    /// Held while logged in: the per-account connection count.
    user_slot: Option<UserSlot>,
}

/// How POP3 ends a waiting session; an autologout does not enter the
/// UPDATE state, so nothing is deleted (RFC 1939 §3).
const GOODBYES: Goodbyes = Goodbyes {
    shutting_down: b"-ERR [SYS/TEMP] Server shutting down\r\n",
    timed_out: b"-ERR Autologout; idle for too long\r\n",
};

/// How a run over one stream ended.
enum Outcome<S> {
    Closed,
    StartTls(S),
}

/// Serves one accepted POP3 connection to its end.
pub async fn serve(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>, implicit_tls: bool) {
    let _ = stream.set_nodelay(true);
    let tls_config = shared.tls.clone();
    let config = SessionConfig {
        tls_active: implicit_tls,
        stls_available: tls_config.is_some() && !implicit_tls,
        login_requires_tls: shared.config.pop3.require_tls_for_login
            && !implicit_tls
            && !peer.ip().is_loopback(),
        hostname: shared.hostname.clone(),
        limits: Default::default(),
        cram: shared.auth.supports_cram(),
    };
    let mut session = Session::new(config);
    let mut conn = Conn {
        peer,
        started: Instant::now(),
        bytes_in: 0,
        bytes_out: 0,
        tls: implicit_tls,
        stls: false,
        user_slot: None,
    };
    let handshake = shared.config.pop3.login_timeout();
    if implicit_tls {
        let Some(tls) = tls_config else { return };
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        match tokio::time::timeout(handshake, acceptor.accept(stream)).await {
            Ok(Ok(s)) => {
                run(s, &mut session, &mut conn, &shared).await;
            }
            Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
        }
    } else if let Outcome::StartTls(stream) = run(stream, &mut session, &mut conn, &shared).await {
        let Some(tls) = tls_config else { return };
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        match tokio::time::timeout(handshake, acceptor.accept(stream)).await {
            Ok(Ok(s)) => {
                session.tls_started();
                conn.tls = true;
                conn.stls = true;
                run(s, &mut session, &mut conn, &shared).await;
            }
            Ok(Err(e)) => tracing::debug!(%peer, "STLS handshake failed: {e}"),
            Err(_) => tracing::debug!(%peer, "STLS handshake timed out"),
        }
    }
    if let Some(user) = session.user() {
        let stats = session.stats();
        tracing::info!(
            user,
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
    drop(conn.user_slot.take());
}

async fn send<S: AsyncWrite + Unpin>(stream: &mut S, out: &mut Vec<u8>, conn: &mut Conn) -> bool {
    crate::stream::send(stream, out, &mut conn.bytes_out).await
}

/// Runs the session until the connection ends or asks for STLS.
async fn run<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    session: &mut Session,
    conn: &mut Conn,
    shared: &Arc<Shared>,
) -> Outcome<S> {
    let mut input = Vec::new();
    let mut out = Vec::new();
    let mut chunk = vec![0u8; READ_CHUNK];
    // A session restarted after STLS does not greet again (RFC 2595 §4).
    if !conn.stls {
        session.greeting(&mut out);
    }
    loop {
        let action = if session.is_authenticated() {
            // Maildrop work is blocking file I/O.
            tokio::task::block_in_place(|| session.receive(&mut input, &mut out))
        } else {
            session.receive(&mut input, &mut out)
        };
        if !send(&mut stream, &mut out, conn).await {
            return Outcome::Closed;
        }
        match action {
            Action::Continue => {}
            Action::Close => return Outcome::Closed,
            Action::StartTls => {
                // Bytes pipelined after STLS were sent in the clear.
                input.clear();
                return Outcome::StartTls(stream);
            }
            Action::Login { credentials } => {
                conn.user_slot = login(session, credentials, conn, shared, &mut out).await;
                if !send(&mut stream, &mut out, conn).await {
                    return Outcome::Closed;
                }
                continue;
            }
        }
        if session.is_closed() {
            return Outcome::Closed;
        }
        if session.has_pending_output() {
            continue;
        }
        let timeout = if session.is_authenticated() {
            shared.config.pop3.autologout()
        } else {
            shared.config.pop3.login_timeout()
        };
        let conn = &mut *conn;
        if !crate::stream::receive_or_goodbye(
            &mut stream,
            &mut chunk,
            &mut input,
            &mut conn.bytes_in,
            &mut conn.bytes_out,
            timeout,
            shared,
            &GOODBYES,
        )
        .await
        {
            return Outcome::Closed;
        }
    }
}

/// Verifies the credentials, opens the account's maildrop and completes
/// the session's login. Returns the per-account slot on success.
async fn login(
    session: &mut Session,
    credentials: courser_auth::sasl::Credentials,
    conn: &Conn,
    shared: &Arc<Shared>,
    out: &mut Vec<u8>,
) -> Option<UserSlot> {
    let peer = conn.peer;
    let (account, slot) = match authenticate("pop3", credentials, peer, conn.tls, shared).await {
        Ok(ok) => ok,
        Err(Refused::Failed { temporary }) => {
            session.login_failed(temporary, out);
            return None;
        }
        Err(Refused::ServiceDisabled) => {
            session.login_refused(Code::SysPerm, "POP3 access disabled for this account", out);
            return None;
        }
        Err(Refused::WrongUid) => {
            session.login_refused(
                Code::SysPerm,
                "This account cannot be served here, contact the administrator",
                out,
            );
            return None;
        }
        Err(Refused::Limited(reason)) => {
            // RFC 2449 §8.1.1 IN-USE would claim a lock; this is a limit.
            session.login_refused(Code::SysTemp, reason, out);
            return None;
        }
    };
    let maildir = account.maildir_path_or(&shared.config.maildir.default_path);
    let host = shared.hostname.clone();
    let opened =
        tokio::task::spawn_blocking(move || MaildirDrop::open(&maildir, &host, SystemTime::now()))
            .await;
    match opened {
        Ok(Ok(drop)) => {
            tracing::info!(
                user = %account.login,
                ip = %peer.ip(),
                port = peer.port(),
                protocol = "POP3",
                tls = conn.tls,
                stls = conn.stls,
                "LOGIN"
            );
            session.login_succeeded(&account.login, Box::new(drop), out);
            Some(slot)
        }
        Ok(Err(e)) => {
            tracing::error!(user = %account.login, "cannot open the maildrop: {e}");
            session.login_failed(true, out);
            None
        }
        Err(e) => {
            tracing::error!(user = %account.login, "maildrop open task failed: {e}");
            session.login_failed(true, out);
            None
        }
    }
}
