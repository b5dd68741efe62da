//! IMAP's connection driver (`Imap`): what the shared driver
//! (`driver`) needs to know of an IMAP [`Session`] — how it
//! starts, words a refused login, opens the account's maildir, waits in
//! IDLE and ends, with Courier's LOGIN and LOGOUT lines.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use courser_imap::codec::respond::Code;
use courser_imap::mailstore::{AclUser, MaildirStore};
use courser_imap::session::{Session, SessionConfig};
use courser_maildir::{Store, StoreOptions};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

use courser_protocol::Untrusted;

use crate::driver::Driver;
use crate::login::open_mail;
use crate::peruser::handoff::Handoff;
use crate::proxy::dialogue::LoggedIn;
use crate::refused::Refused;
use crate::service::Service;
use crate::session::off_executor;
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
    cannot_open: b"* BYE Cannot open the mailbox\r\n",
};

/// The IMAP connection driver.
pub(crate) struct Imap;

/// What a session takes from the configuration, new or resumed.
fn configure(session: &mut Session, shared: &Shared) {
    session.offer_sort_thread(shared.config.imap.sort_thread);
    session.offer_acl(shared.config.imap.acl);
    session.move_expunged_to(shared.config.maildir.magic_trash(&shared.config.imap));
    // (validated when the configuration was loaded)
    session.send_from_outbox(shared.config.maildir.outbox().ok().flatten());
    session.remember_orders_in(shared.orders.clone());
    session.offer_smap(
        shared
            .config
            .imap
            .smap
            .then(|| smap_starter(&shared.config, &shared.hostname)),
    );
}

/// What turns a session into an SMAP one, under `config`.
pub fn smap_starter(
    config: &crate::config::Config,
    hostname: &str,
) -> courser_imap::session::dialect::Starter {
    // (validated when the configuration was loaded with SMAP on; without
    // a mailer ADD can only save)
    let sendmail = config.maildir.sendmail().ok().map(|s| Arc::new(s) as _);
    let max = usize::try_from(config.imap.max_message_size).unwrap_or(usize::MAX);
    Arc::new(courser_smap::session::Smap::new(sendmail, max, hostname))
}

impl Driver for Imap {
    type Session = Session;
    const SERVICE: Service = Service::Imap;
    const STARTTLS: &'static str = "STARTTLS";
    const GOODBYES: Goodbyes = GOODBYES;
    const READ_CHUNK: usize = READ_CHUNK;

    fn new_session(conn: &Conn, shared: &Shared) -> Session {
        let loopback = conn.peer.ip().is_loopback();
        let mut session = Session::new(SessionConfig {
            tls_active: conn.tls,
            starttls_available: shared.tls.is_some() && !conn.tls,
            login_requires_tls: shared.config.imap.require_tls_for_login && !loopback,
            hostname: shared.hostname.clone(),
            limits: shared.config.imap.limits(),
        });
        session.offer_mechanisms(crate::proxy::mechanisms(shared));
        configure(&mut session, shared);
        session
    }

    fn resumed_session(record: &Handoff, shared: &Shared) -> Session {
        let config = SessionConfig {
            tls_active: record.tls,
            starttls_available: false,
            login_requires_tls: false,
            hostname: shared.hostname.clone(),
            limits: shared.config.imap.limits(),
        };
        let mut session = Session::resume_login(config, record.tag.clone().unwrap_or_default());
        configure(&mut session, shared);
        session
    }

    fn login_timeout(shared: &Shared) -> Duration {
        shared.config.imap.login_timeout()
    }

    fn autologout(shared: &Shared) -> Duration {
        shared.config.imap.autologout()
    }

    fn refuse(session: &mut Session, refused: Refused, out: &mut Vec<u8>) {
        match refused {
            Refused::Failed { temporary } => session.login_failed(temporary, out),
            Refused::ServiceDisabled => session.login_refused(
                Code::ContactAdmin,
                "IMAP access is disabled for this account",
                out,
            ),
            Refused::WrongUid => session.login_refused(
                Code::ContactAdmin,
                "This account cannot be served here, contact the administrator",
                out,
            ),
            Refused::Limited(reason) => session.login_refused(Code::Limit, reason, out),
            // Courier answers `* BYE` and hangs up; a tagged NO with
            // RFC 5530's UNAVAILABLE tells the client to try again later
            // and keeps the connection for that.
            Refused::Locked => {
                session.login_refused(Code::Unavailable, crate::arrival::LOCKED, out)
            }
            Refused::Unreachable => {
                session.login_refused(Code::Unavailable, crate::proxy::UNREACHABLE, out)
            }
        }
    }

    fn forwarded_client(session: &Session) -> Option<(SocketAddr, Option<String>)> {
        crate::proxy::forwarded_client(
            session.client_id_field("x-originating-ip")?,
            session.client_id_field("x-originating-port"),
            session.client_id_field("x-session-id"),
        )
    }

    fn smap_login(session: &Session) -> bool {
        session.login_dialect().is_some()
    }

    fn relayed(session: &mut Session, logged_in: &LoggedIn, out: &mut Vec<u8>) {
        session.login_relayed(logged_in.capabilities.clone(), &logged_in.text, out);
    }

    async fn open(
        session: &mut Session,
        login: &str,
        options: &str,
        maildir: PathBuf,
        conn: &Conn,
        shared: &Shared,
        out: &mut Vec<u8>,
    ) -> bool {
        let user = AclUser::new(login, login, options);
        let shared_index = shared.config.maildir.shared_index(options);
        let options = StoreOptions {
            keywords: shared.config.maildir.keywords,
            trash_name: shared.config.maildir.trash.clone(),
            hostname: shared.hostname.clone(),
            snapshots: shared.scans.clone(),
            sharables: shared.config.maildir.system_shared_maildirs(),
            ..StoreOptions::default()
        };
        let open = move |dir: &Path| Store::open(dir, options);
        let Some(store) = open_mail(session, login, "maildir", maildir, open, out).await else {
            return false;
        };
        let protocol = session.login_dialect().unwrap_or("IMAP");
        tracing::info!(
            user = %Untrusted(login),
            ip = %conn.peer.ip(),
            port = conn.peer.port(),
            protocol,
            tls = conn.tls,
            "LOGIN"
        );
        crate::courier_log::logged_in(&shared.config.log, conn, Service::Imap, protocol, login);
        let mut store = MaildirStore::new(store, user);
        if let Some(index) = shared_index {
            store = store.with_shared(index);
        }
        session.login_succeeded(login, Box::new(store), out);
        // Courier empties old mail at login and at logout.
        let rules = shared.config.maildir.expiry_rules();
        off_executor(session, move |s| s.expire_old_mail(&rules)).await;
        true
    }

    /// Courier's emptying of old mail, and its LOGOUT line.
    async fn logged_out(session: &mut Session, conn: &Conn, shared: &Shared) {
        if session.user().is_some() {
            let rules = shared.config.maildir.expiry_rules();
            off_executor(session, move |s| s.expire_old_mail(&rules)).await;
        }
        log_logout(session, conn, shared);
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
                    out.extend_from_slice(session.idle_keepalive().unwrap_or_default());
                }
                _ = tokio::time::sleep_until(deadline) => {
                    conn.timed_out = true;
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
    let report = off_executor(session, |s| {
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

/// The LOGOUT line, and Courier's when that format is on, for a session
/// that logged in; Courier's line for one that did not.
fn log_logout(session: &Session, conn: &Conn, shared: &Shared) {
    if let Some(user) = session.user() {
        let sent = session.transferred();
        let counters = crate::courier_log::Counters::Imap {
            headers: sent.headers,
            body: sent.body,
        };
        let logged_out = session.is_logged_out();
        crate::courier_log::ended(&shared.config.log, conn, user, counters, logged_out);
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
    } else {
        let logged_out = session.is_logged_out();
        crate::courier_log::ended_before_login(&shared.config.log, conn, Service::Imap, logged_out);
    }
}

/// Serves a session that is already authenticated over any stream (for
/// `courser imapd` on standard input and output), configured from
/// `shared`'s configuration as `courser serve`'s sessions are.
pub async fn serve_preauthenticated<
    S: AsyncRead + AsyncWrite + crate::linger::ReadDirect + Unpin + Send + 'static,
>(
    stream: S,
    mut session: Session,
    shared: Arc<Shared>,
) {
    configure(&mut session, &shared);
    let mut conn = Conn::local();
    let rules = shared.config.maildir.expiry_rules();
    let at_login = rules.clone();
    off_executor(&mut session, move |s| s.expire_old_mail(&at_login)).await;
    crate::driver::run::<Imap, _>(stream, &mut session, &mut conn, &shared, true).await;
    off_executor(&mut session, move |s| s.expire_old_mail(&rules)).await;
}
