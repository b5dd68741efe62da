//! POP3's connection driver (`Pop3`): what the shared driver
//! (`driver`) needs to know of a `courser_pop3` [`Session`] — how
//! it starts (STLS offered, or implicit TLS), words a refused login,
//! opens the maildrop and ends, with Courier's LOGIN and LOGOUT lines
//! (the latter with its `top`/`retr` counters).
//!
//! A connection that drops or times out never reaches the UPDATE state
//! (RFC 1939 §6): nothing is deleted.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use courser_pop3::codec::Code;
use courser_pop3::maildrop::MaildirDrop;
use courser_pop3::session::{Session, SessionConfig};
use tokio::io::{AsyncRead, AsyncWrite};

use courser_protocol::Untrusted;

use crate::driver::Driver;
use crate::login::open_mail;
use crate::peruser::handoff::Handoff;
use crate::proxy::dialogue::LoggedIn;
use crate::refused::Refused;
use crate::service::Service;
use crate::shared::Shared;
use crate::stream::{Conn, Goodbyes};

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 8 * 1024;

/// How POP3 ends a waiting session; an autologout does not enter the
/// UPDATE state, so nothing is deleted (RFC 1939 §3).
const GOODBYES: Goodbyes = Goodbyes {
    shutting_down: b"-ERR [SYS/TEMP] Server shutting down\r\n",
    timed_out: b"-ERR Autologout; idle for too long\r\n",
    evicted: b"-ERR [SYS/TEMP] Too many connections; the oldest not logged in give way\r\n",
    // The -ERR of the login command says it all.
    cannot_open: b"",
};

/// The POP3 connection driver.
pub(crate) struct Pop3;

impl Driver for Pop3 {
    type Session = Session;
    const SERVICE: Service = Service::Pop3;
    const STARTTLS: &'static str = "STLS";
    const GOODBYES: Goodbyes = GOODBYES;
    const READ_CHUNK: usize = READ_CHUNK;

    fn new_session(conn: &Conn, shared: &Shared) -> Session {
        let mut session = Session::new(SessionConfig {
            tls_active: conn.tls,
            stls_available: shared.tls.is_some() && !conn.tls,
            login_requires_tls: shared.config.pop3.require_tls_for_login
                && !conn.tls
                && !conn.peer.ip().is_loopback(),
            hostname: shared.hostname.clone(),
            limits: Default::default(),
        });
        session.offer_mechanisms(crate::proxy::mechanisms(shared));
        session.offer_xclient(crate::access::in_any(
            &shared.trusted_proxies,
            conn.peer.ip(),
        ));
        session
    }

    fn resumed_session(record: &Handoff, shared: &Shared) -> Session {
        Session::new(SessionConfig {
            tls_active: record.tls,
            stls_available: false,
            login_requires_tls: false,
            hostname: shared.hostname.clone(),
            limits: Default::default(),
        })
    }

    fn login_timeout(shared: &Shared) -> Duration {
        shared.config.pop3.login_timeout()
    }

    fn autologout(shared: &Shared) -> Duration {
        shared.config.pop3.autologout()
    }

    fn refuse(session: &mut Session, refused: Refused, out: &mut Vec<u8>) {
        match refused {
            Refused::Failed { temporary } => session.login_failed(temporary, out),
            Refused::ServiceDisabled => {
                session.login_refused(Code::SysPerm, "POP3 access disabled for this account", out)
            }
            Refused::WrongUid => session.login_refused(
                Code::SysPerm,
                "This account cannot be served here, contact the administrator",
                out,
            ),
            // RFC 2449 §8.1.1 IN-USE would claim a lock; this is a limit.
            Refused::Limited(reason) => session.login_refused(Code::SysTemp, reason, out),
            Refused::Locked => session.login_refused(Code::SysTemp, crate::arrival::LOCKED, out),
            Refused::Unreachable => {
                session.login_refused(Code::SysTemp, crate::proxy::UNREACHABLE, out)
            }
        }
    }

    fn forwarded_client(session: &Session) -> Option<(SocketAddr, Option<String>)> {
        crate::proxy::forwarded_client(
            session.forwarded_field("ADDR")?,
            session.forwarded_field("PORT"),
            session.forwarded_field("SESSION"),
        )
    }

    fn relayed(session: &mut Session, logged_in: &LoggedIn, out: &mut Vec<u8>) {
        session.login_relayed(&logged_in.text, out);
    }

    /// Opens the maildrop.
    async fn open(
        session: &mut Session,
        login: &str,
        _options: &str,
        maildir: PathBuf,
        conn: &Conn,
        shared: &Shared,
        out: &mut Vec<u8>,
    ) -> bool {
        let host = shared.hostname.clone();
        let listings = shared.listings.clone();
        let open =
            move |dir: &Path| MaildirDrop::open(dir, &host, SystemTime::now(), listings.as_ref());
        let Some(drop) = open_mail(session, login, "maildrop", maildir, open, out).await else {
            return false;
        };
        tracing::info!(
            user = %Untrusted(login),
            ip = %conn.peer.ip(),
            port = conn.peer.port(),
            protocol = "POP3",
            tls = conn.tls,
            stls = conn.stls,
            "LOGIN"
        );
        crate::courier_log::logged_in(&shared.config.log, conn, Service::Pop3, "POP3", login);
        session.login_succeeded(login, Box::new(drop), out);
        true
    }

    /// The LOGOUT line, with Courier's POP3 counters.
    async fn logged_out(session: &mut Session, conn: &Conn, shared: &Shared) {
        log_logout(session, conn, shared);
    }
}

/// Serves a session that is already logged in over any stream (for
/// `courser pop3d` on standard input and output).
pub async fn serve_preauthenticated<
    S: AsyncRead + AsyncWrite + crate::linger::ReadDirect + Unpin + Send + 'static,
>(
    stream: S,
    mut session: Session,
    shared: Arc<Shared>,
) {
    let mut conn = Conn::local();
    crate::driver::run::<Pop3, _>(stream, &mut session, &mut conn, &shared, true).await;
}

/// The LOGOUT line with its POP3 counters, and Courier's when that
/// format is on, for a session that logged in; Courier's line for one
/// that did not.
fn log_logout(session: &Session, conn: &Conn, shared: &Shared) {
    if let Some(user) = session.user() {
        let stats = session.stats();
        let counters = crate::courier_log::Counters::Pop3 {
            top: stats.top_bytes,
            retr: stats.retr_bytes,
        };
        let quit = session.is_closed();
        crate::courier_log::ended(&shared.config.log, conn, user, counters, quit);
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
    } else {
        let quit = session.is_closed();
        crate::courier_log::ended_before_login(&shared.config.log, conn, Service::Pop3, quit);
    }
}
