//! One IMAP connection: drives a [`Session`] over a socket, plain or TLS,
//! and does what the session cannot: authentication, STARTTLS, IDLE waits,
//! timeouts, and the login/logout log lines.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use courser_imap::session::{Action, Session, SessionConfig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpStream;

use crate::runtime::Shared;
use crate::stream::Goodbyes;

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;
/// How often an idling client hears `* OK Still here` (keeps NAT state).
const IDLE_KEEPALIVE: Duration = Duration::from_secs(120);

/// How IMAP ends a waiting session (RFC 3501 §7.1.5).
const GOODBYES: Goodbyes = Goodbyes {
    shutting_down: b"* BYE Server shutting down\r\n",
    timed_out: b"* BYE Autologout; idle for too long\r\n",
};

/// Per-connection facts for logs.
struct Conn {
    peer: SocketAddr,
    started: Instant,
    bytes_in: u64,
    bytes_out: u64,
    tls: bool,
    /// Held while logged in: the per-account connection count.
    user_slot: Option<crate::limits::UserSlot>,
}

/// How a run over one stream ended.
enum Outcome<S> {
    Closed,
    StartTls(S),
}

/// Serves one accepted IMAP connection to its end.
pub async fn serve(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>, implicit_tls: bool) {
    let _ = stream.set_nodelay(true);
    let tls_config = shared.tls.clone();
    let loopback = peer.ip().is_loopback();
    let config = SessionConfig {
        tls_active: implicit_tls,
        starttls_available: tls_config.is_some() && !implicit_tls,
        login_requires_tls: shared.config.imap.require_tls_for_login && !loopback,
        hostname: shared.hostname.clone(),
        limits: Default::default(),
    };
    let mut session = Session::new(config);
    session.offer_cram(shared.auth.supports_cram());
    let mut conn = Conn {
        peer,
        started: Instant::now(),
        bytes_in: 0,
        bytes_out: 0,
        tls: implicit_tls,
        user_slot: None,
    };
    if implicit_tls {
        let Some(tls) = tls_config else { return };
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        match tokio::time::timeout(shared.config.imap.login_timeout(), acceptor.accept(stream))
            .await
        {
            Ok(Ok(tls_stream)) => {
                run(tls_stream, &mut session, &mut conn, &shared, true).await;
            }
            Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
        }
    } else {
        match run(stream, &mut session, &mut conn, &shared, true).await {
            Outcome::Closed => {}
            Outcome::StartTls(stream) => {
                let Some(tls) = tls_config else { return };
                let acceptor = tokio_rustls::TlsAcceptor::from(tls);
                match tokio::time::timeout(
                    shared.config.imap.login_timeout(),
                    acceptor.accept(stream),
                )
                .await
                {
                    Ok(Ok(tls_stream)) => {
                        session.tls_started();
                        conn.tls = true;
                        run(tls_stream, &mut session, &mut conn, &shared, false).await;
                    }
                    Ok(Err(e)) => tracing::debug!(%peer, "STARTTLS handshake failed: {e}"),
                    Err(_) => tracing::debug!(%peer, "STARTTLS handshake timed out"),
                }
            }
        }
    }
    if let Some(user) = session.user() {
        tracing::info!(
            user,
            ip = %conn.peer.ip(),
            port = conn.peer.port(),
            protocol = "IMAP",
            tls = conn.tls,
            rcvd = conn.bytes_in,
            sent = conn.bytes_out,
            time = conn.started.elapsed().as_secs(),
            "LOGOUT"
        );
    }
}

/// Serves a session that is already authenticated over any stream (for
/// `courser imapd` on standard input and output).
pub async fn serve_preauthenticated<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    mut session: Session,
    shared: Arc<Shared>,
) {
    let mut conn = Conn {
        peer: SocketAddr::from(([127, 0, 0, 1], 0)),
        started: Instant::now(),
        bytes_in: 0,
        bytes_out: 0,
        tls: false,
        user_slot: None,
    };
    run(stream, &mut session, &mut conn, &shared, true).await;
}

/// Sends `out`; false when the client is gone or leaves our output
/// unread for [`crate::stream::WRITE_TIMEOUT`] (a stuck reader must not hold the session
/// forever).
async fn write_out<S: AsyncWrite + Unpin>(
    stream: &mut S,
    out: &mut Vec<u8>,
    conn: &mut Conn,
) -> bool {
    crate::stream::send(stream, out, &mut conn.bytes_out).await
}

/// Runs the session until the connection ends or asks for STARTTLS.
async fn run<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    session: &mut Session,
    conn: &mut Conn,
    shared: &Arc<Shared>,
    greet: bool,
) -> Outcome<S> {
    let mut input = Vec::new();
    let mut out = Vec::new();
    let mut chunk = vec![0u8; READ_CHUNK];
    if greet {
        session.greeting(&mut out);
    }
    loop {
        let action = if session.is_authenticated() {
            // Store work is blocking file I/O.
            tokio::task::block_in_place(|| session.receive(&mut input, &mut out))
        } else {
            session.receive(&mut input, &mut out)
        };
        if !write_out(&mut stream, &mut out, conn).await {
            return Outcome::Closed;
        }
        match action {
            Action::Continue => {}
            Action::Close => return Outcome::Closed,
            Action::StartTls => {
                // Bytes pipelined after STARTTLS were sent in the clear and
                // must not be taken as protected commands.
                input.clear();
                return Outcome::StartTls(stream);
            }
            Action::Login {
                tag: _,
                credentials,
            } => {
                conn.user_slot = crate::login::imap_login(
                    session,
                    credentials,
                    conn.peer,
                    conn.tls,
                    shared,
                    &mut out,
                )
                .await;
                if !write_out(&mut stream, &mut out, conn).await {
                    return Outcome::Closed;
                }
                continue;
            }
            Action::Idle => {
                match idle(
                    &mut stream,
                    session,
                    conn,
                    shared,
                    &mut input,
                    &mut out,
                    &mut chunk,
                )
                .await
                {
                    true => continue,
                    false => return Outcome::Closed,
                }
            }
        }
        if session.is_logged_out() {
            return Outcome::Closed;
        }
        if session.has_pending_output() {
            continue;
        }
        let timeout = if session.is_authenticated() {
            shared.config.imap.autologout()
        } else {
            shared.config.imap.login_timeout()
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

/// Waits in IDLE until the client sends something (DONE), reporting
/// changes as they happen. Returns false when the connection is over.
async fn idle<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    session: &mut Session,
    conn: &mut Conn,
    shared: &Arc<Shared>,
    input: &mut Vec<u8>,
    out: &mut Vec<u8>,
    chunk: &mut [u8],
) -> bool {
    let paths = session.watch_paths();
    let reliable = paths
        .first()
        .is_some_and(|p| crate::watch::inotify_reliable(p));
    let subscription = match (&shared.watcher, reliable) {
        (Some(w), true) if !paths.is_empty() => Some(w.subscribe(&paths)),
        _ => None,
    };
    let poll = Duration::from_secs(shared.config.imap.idle_poll_secs.max(1));
    let deadline = tokio::time::Instant::now() + shared.config.imap.autologout();
    let mut keepalive = tokio::time::interval(IDLE_KEEPALIVE);
    keepalive.tick().await;
    let mut poll_timer = tokio::time::interval(poll);
    poll_timer.tick().await;
    loop {
        tokio::select! {
            read = stream.read(chunk) => {
                match read {
                    Ok(0) | Err(_) => return false,
                    Ok(n) => {
                        conn.bytes_in += n as u64;
                        input.extend_from_slice(&chunk[..n]);
                        return true;
                    }
                }
            }
            _ = async { match &subscription { Some(s) => s.changed().await, None => std::future::pending().await } } => {
                // Let a burst of deliveries settle into one report.
                tokio::time::sleep(Duration::from_millis(50)).await;
                tokio::task::block_in_place(|| session.idle_changed(out));
            }
            _ = poll_timer.tick(), if subscription.is_none() => {
                tokio::task::block_in_place(|| session.idle_changed(out));
            }
            _ = keepalive.tick() => {
                out.extend_from_slice(b"* OK Still here\r\n");
            }
            _ = tokio::time::sleep_until(deadline) => {
                out.extend_from_slice(b"* BYE Autologout; idle for too long\r\n");
                write_out(stream, out, conn).await;
                return false;
            }
            _ = shared.shutting_down() => {
                out.extend_from_slice(b"* BYE Server shutting down\r\n");
                write_out(stream, out, conn).await;
                return false;
            }
        }
        if !write_out(stream, out, conn).await || session.is_logged_out() {
            return false;
        }
    }
}
