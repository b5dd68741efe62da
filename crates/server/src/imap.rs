//! One IMAP connection: drives a [`Session`] over a socket, plain or TLS,
//! and does what the session cannot: authentication, STARTTLS, IDLE waits,
//! timeouts, and the login/logout log lines.

use std::sync::Arc;
use std::time::{Duration, Instant};

use courser_auth::sasl::Credentials;
use courser_imap::session::{Action, Session, SessionConfig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpStream;

use courser_protocol::Untrusted;

use crate::driver::{Driver, Step};
use crate::login::LoginResult;
use crate::peruser::handoff::Handoff;
use crate::service::Service;
use crate::shared::Shared;
use crate::stream::{send, Conn, Goodbyes};

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;
/// How often an idling client hears `* OK Still here` (keeps NAT state).
const IDLE_KEEPALIVE: Duration = Duration::from_secs(120);

/// How IMAP ends a waiting session (RFC 3501 §7.1.5).
const GOODBYES: Goodbyes = Goodbyes {
    shutting_down: b"* BYE Server shutting down\r\n",
    timed_out: b"* BYE Autologout; idle for too long\r\n",
    evicted: b"* BYE [UNAVAILABLE] Too many connections; the oldest not logged in give way\r\n",
};

/// The IMAP connection driver.
struct Imap;

impl From<Action> for Step {
    fn from(action: Action) -> Step {
        match action {
            Action::Continue => Step::Continue,
            Action::Close => Step::Close,
            Action::StartTls => Step::StartTls,
            Action::Login { tag, credentials } => Step::Login {
                tag: Some(tag),
                credentials,
            },
            Action::Relay(relay) => Step::Relay(relay),
            Action::Idle => Step::Idle,
        }
    }
}

impl Driver for Imap {
    type Session = Session;
    const SERVICE: Service = Service::Imap;
    const STARTTLS: &'static str = "STARTTLS";
    const GOODBYES: Goodbyes = GOODBYES;
    const READ_CHUNK: usize = READ_CHUNK;

    fn login_timeout(shared: &Shared) -> Duration {
        shared.config.imap.login_timeout()
    }

    fn autologout(shared: &Shared) -> Duration {
        shared.config.imap.autologout()
    }

    fn receive(session: &mut Session, input: &mut Vec<u8>, out: &mut Vec<u8>) -> Step {
        session.receive(input, out).into()
    }

    fn record_finished(session: &mut Session) {
        for done in session.finished_commands() {
            crate::metrics::command(Service::Imap, done.command, done.busy);
        }
    }

    fn is_over(session: &Session) -> bool {
        session.is_logged_out()
    }

    async fn login(
        session: &mut Session,
        credentials: Credentials,
        conn: &Conn,
        shared: &Arc<Shared>,
        out: &mut Vec<u8>,
    ) -> LoginResult {
        crate::login::imap_login(session, credentials, conn.peer, conn.tls, shared, out).await
    }

    /// Waits in IDLE until the client sends something (DONE), reporting
    /// changes as they happen.
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
        // A change between the `+ idling` answer and the subscription would
        // otherwise wait for the next one.
        if !idle_changed(session, out).await {
            return false;
        }
        if !send(stream, out, &mut conn.bytes_out).await {
            return false;
        }
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
                    if !idle_changed(session, out).await {
                        return false;
                    }
                }
                _ = poll_timer.tick(), if subscription.is_none() => {
                    if !idle_changed(session, out).await {
                        return false;
                    }
                }
                _ = keepalive.tick() => {
                    out.extend_from_slice(b"* OK Still here\r\n");
                }
                _ = tokio::time::sleep_until(deadline) => {
                    out.extend_from_slice(b"* BYE Autologout; idle for too long\r\n");
                    send(stream, out, &mut conn.bytes_out).await;
                    return false;
                }
                _ = shared.shutting_down() => {
                    out.extend_from_slice(b"* BYE Server shutting down\r\n");
                    send(stream, out, &mut conn.bytes_out).await;
                    return false;
                }
            }
            if !send(stream, out, &mut conn.bytes_out).await || session.is_logged_out() {
                return false;
            }
        }
    }
}

/// Looks for changes of the idling session's folder (on a blocking
/// thread: it reads the folder) and adds their report to `out`; false when
/// the session is gone.
async fn idle_changed(session: &mut Session, out: &mut Vec<u8>) -> bool {
    let report = crate::driver::off_executor(session, |s| {
        let mut report = Vec::new();
        s.idle_changed(&mut report);
        report
    })
    .await;
    match report {
        Some(report) => {
            out.extend_from_slice(&report);
            true
        }
        None => false,
    }
}

/// Serves one accepted IMAP connection (`conn.tls`: implicit TLS) to its
/// end.
pub(crate) async fn serve(stream: TcpStream, mut conn: Conn, shared: Arc<Shared>) {
    let implicit_tls = conn.tls;
    let loopback = conn.peer.ip().is_loopback();
    let config = SessionConfig {
        tls_active: implicit_tls,
        starttls_available: shared.tls.is_some() && !implicit_tls,
        login_requires_tls: shared.config.imap.require_tls_for_login && !loopback,
        hostname: shared.hostname.clone(),
        limits: shared.config.imap.limits(),
    };
    let mut session = Session::new(config);
    session.offer_mechanisms(shared.auth.mechanisms());
    session.offer_sort_thread(shared.config.imap.sort_thread);
    crate::driver::serve::<Imap>(stream, &mut session, &mut conn, &shared, implicit_tls).await;
    logged_out(&mut session, &conn, &shared).await;
}

/// What ends a session that logged in here: Courier's emptying of old
/// mail, and its LOGOUT line.
async fn logged_out(session: &mut Session, conn: &Conn, shared: &Shared) {
    if session.user().is_some() {
        let rules = shared.config.maildir.expiry_rules();
        crate::driver::off_executor(session, move |s| s.expire_old_mail(&rules)).await;
    }
    log_logout(session, conn);
}

/// The LOGOUT line (Courier's), for a session that logged in.
fn log_logout(session: &Session, conn: &Conn) {
    if let Some(user) = session.user() {
        tracing::info!(
            user = %Untrusted(user),
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

/// Serves a session handed over by the front end (per-user model, in the
/// worker process): opens the maildir as the account, answers the login
/// command, and carries on over `stream`. `maildir` comes from the
/// spawner (the authentication process), not from the record.
pub async fn serve_handed_over(
    stream: tokio::net::UnixStream,
    record: Handoff,
    maildir: std::path::PathBuf,
    connected: Instant,
    shared: Arc<Shared>,
) {
    let config = SessionConfig {
        tls_active: record.tls,
        starttls_available: false,
        login_requires_tls: false,
        hostname: shared.hostname.clone(),
        limits: shared.config.imap.limits(),
    };
    let mut session = Session::resume_login(config, record.tag.unwrap_or_default());
    session.offer_sort_thread(shared.config.imap.sort_thread);
    let mut conn = Conn::resumed(
        record.peer,
        record.tls,
        connected,
        record.bytes_in,
        record.bytes_out,
    );
    let mut out = Vec::new();
    let (peer, tls) = (conn.peer, conn.tls);
    let mut stream = stream;
    if crate::login::imap_open(
        &mut session,
        &record.login,
        maildir,
        peer,
        tls,
        &shared,
        &mut out,
    )
    .await
    {
        send(&mut stream, &mut out, &mut conn.bytes_out).await;
        crate::driver::run::<Imap, _>(stream, &mut session, &mut conn, &shared, false).await;
        logged_out(&mut session, &conn, &shared).await;
    } else {
        // This process cannot authenticate anyone: the client reconnects.
        out.extend_from_slice(b"* BYE Cannot open the mailbox\r\n");
        send(&mut stream, &mut out, &mut conn.bytes_out).await;
    }
}

/// Serves a session that is already authenticated over any stream (for
/// `courser imapd` on standard input and output).
pub async fn serve_preauthenticated<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    mut session: Session,
    shared: Arc<Shared>,
) {
    let mut conn = Conn::local();
    let rules = shared.config.maildir.expiry_rules();
    let at_login = rules.clone();
    crate::driver::off_executor(&mut session, move |s| s.expire_old_mail(&at_login)).await;
    crate::driver::run::<Imap, _>(stream, &mut session, &mut conn, &shared, true).await;
    crate::driver::off_executor(&mut session, move |s| s.expire_old_mail(&rules)).await;
}
