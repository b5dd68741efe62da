//! Serving one connection with a protocol's [`Driver`]: an accepted
//! connection from TLS to logout or hand-over, and a session handed over
//! to a per-user worker from its login to its end.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};

use crate::driver::{self, Driver};
use crate::peruser::handoff::Handoff;
use crate::session::ProtocolSession;
use crate::shared::Shared;
use crate::stream::{send, Conn};

/// Serves one accepted connection (`conn.tls`: implicit TLS) to its end.
pub(crate) async fn accepted<D: Driver>(stream: TcpStream, mut conn: Conn, shared: Arc<Shared>) {
    let mut session = D::new_session(&conn, &shared);
    let moved = tls_and_run::<D>(stream, &mut session, &mut conn, &shared).await;
    // A session that moved to a worker ends there.
    if !moved {
        D::logged_out(&mut session, &conn, &shared).await;
    }
}

/// TLS first for implicit TLS or when the session asks for it, the
/// protocol, and the relay to a per-user worker after a login there;
/// true when the session moved to a worker.
async fn tls_and_run<D: Driver>(
    stream: TcpStream,
    session: &mut D::Session,
    conn: &mut Conn,
    shared: &Arc<Shared>,
) -> bool {
    let _ = stream.set_nodelay(true);
    let implicit_tls = conn.tls;
    let peer = conn.peer;
    if implicit_tls {
        let Some(tls) = shared.tls.clone() else {
            return false;
        };
        let handshake = conn.login_time_left(D::login_timeout(shared));
        return match crate::tls::accept(stream, tls, &shared.config, handshake).await {
            Ok(accepted) => {
                session.set_tls_client_identity(accepted.identity);
                let outcome =
                    driver::run::<D, _>(accepted.stream, session, conn, shared, true).await;
                finish::<D, _>(outcome, conn, shared).await
            }
            Err(why) => {
                tracing::debug!(%peer, "TLS handshake {why}");
                false
            }
        };
    }
    match driver::run::<D, _>(stream, session, conn, shared, true).await {
        driver::Outcome::StartTls(stream) => {
            let Some(tls) = shared.tls.clone() else {
                return false;
            };
            let handshake = conn.login_time_left(D::login_timeout(shared));
            match crate::tls::accept(stream, tls, &shared.config, handshake).await {
                Ok(accepted) => {
                    session.tls_started();
                    session.set_tls_client_identity(accepted.identity);
                    conn.tls = true;
                    conn.stls = true;
                    let outcome =
                        driver::run::<D, _>(accepted.stream, session, conn, shared, false).await;
                    finish::<D, _>(outcome, conn, shared).await
                }
                Err(why) => {
                    tracing::debug!(%peer, "{} handshake {why}", D::STARTTLS);
                    false
                }
            }
        }
        outcome => finish::<D, _>(outcome, conn, shared).await,
    }
}

/// After a run: a session that moved to a worker process is relayed to it
/// until it ends (the worker logs its LOGOUT); true for such a session.
async fn finish<D: Driver, S: AsyncRead + AsyncWrite + Unpin>(
    outcome: driver::Outcome<S>,
    conn: &mut Conn,
    shared: &Shared,
) -> bool {
    match outcome {
        driver::Outcome::HandOff(handoff) => {
            crate::peruser::hand_over(handoff, D::SERVICE, conn, shared).await;
            true
        }
        driver::Outcome::Relayed(relayed) => {
            let timing = (D::autologout(shared), &D::GOODBYES);
            crate::proxy::relay::run(relayed, D::SERVICE, timing, conn, shared).await;
            true
        }
        _ => false,
    }
}

/// Serves a session handed over by the front end (per-user model, in the
/// worker process): opens the account's mail, answers the login command,
/// and carries on over `stream`. `maildir` and the account's `options`
/// come from the spawner (the authentication process), not from the
/// record.
pub(crate) async fn handed_over<D: Driver>(
    mut stream: UnixStream,
    record: Handoff,
    maildir: PathBuf,
    options: String,
    connected: Instant,
    shared: Arc<Shared>,
) {
    let mut session = D::resumed_session(&record, &shared);
    let mut conn = Conn::resumed(
        record.peer,
        record.tls,
        connected,
        record.bytes_in,
        record.bytes_out,
    );
    conn.stls = record.stls;
    let mut out = Vec::new();
    if !D::open(
        &mut session,
        &record.login,
        &options,
        maildir,
        &conn,
        &shared,
        &mut out,
    )
    .await
    {
        // This process can serve no one else: the client reconnects.
        out.extend_from_slice(D::GOODBYES.cannot_open);
        send(&mut stream, &mut out, &mut conn.bytes_out).await;
        return;
    }
    if send(&mut stream, &mut out, &mut conn.bytes_out).await {
        driver::run::<D, _>(stream, &mut session, &mut conn, &shared, false).await;
    }
    D::logged_out(&mut session, &conn, &shared).await;
}
