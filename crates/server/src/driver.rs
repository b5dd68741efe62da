//! What the IMAP and POP3 connection drivers share: TLS (implicit, and
//! in-band with STARTTLS/STLS) with the client certificate's identity,
//! how a run over one stream ends, and the hand-over of a logged-in
//! session to its per-user worker.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::peruser::handoff::Service;
use crate::peruser::HandOff;
use crate::runtime::Shared;
use crate::stream::Conn;

/// How a run over one stream ended.
pub(crate) enum Outcome<S> {
    /// The session is over.
    Closed,
    /// The client asked for TLS; the session goes on over TLS.
    StartTls(S),
    /// Logged in; the session continues in a worker process (per-user
    /// model).
    HandOff(HandOff<S>),
}

/// What a session needs to hear about TLS.
pub(crate) trait TlsAware {
    /// TLS started in-band: the session starts over (RFC 3501 §6.2.1,
    /// RFC 2595 §4).
    fn tls_started(&mut self);
    /// The account the client certificate names, if any (SASL EXTERNAL).
    fn set_tls_client_identity(&mut self, identity: Option<String>);
}

macro_rules! tls_aware {
    ($session:ty) => {
        impl TlsAware for $session {
            fn tls_started(&mut self) {
                <$session>::tls_started(self)
            }
            fn set_tls_client_identity(&mut self, identity: Option<String>) {
                <$session>::set_tls_client_identity(self, identity)
            }
        }
    };
}
tls_aware!(courser_imap::session::Session);
tls_aware!(courser_pop3::session::Session);

/// One protocol's connection driver ([`crate::imap`], [`crate::pop3`]).
pub(crate) trait Driver {
    /// The protocol's session.
    type Session: TlsAware;
    /// The protocol, for the hand-over record.
    const SERVICE: Service;
    /// The protocol's in-band TLS command, for the log.
    const STARTTLS: &'static str;

    /// How long a TLS handshake may take.
    fn handshake_timeout(shared: &Shared) -> Duration;
    /// Runs the session over `stream` until it ends or changes streams;
    /// `greet` is false after STARTTLS and after a hand-over.
    async fn run<S: AsyncRead + AsyncWrite + Unpin>(
        stream: S,
        session: &mut Self::Session,
        conn: &mut Conn,
        shared: &Arc<Shared>,
        greet: bool,
    ) -> Outcome<S>;
}

/// Serves an accepted connection: TLS first for implicit TLS or when the
/// session asks for it, the protocol, and the relay to a per-user worker
/// after a login there.
pub(crate) async fn serve<D: Driver>(
    stream: TcpStream,
    session: &mut D::Session,
    conn: &mut Conn,
    shared: &Arc<Shared>,
    implicit_tls: bool,
) {
    let _ = stream.set_nodelay(true);
    let handshake = D::handshake_timeout(shared);
    let peer = conn.peer;
    if implicit_tls {
        let Some(tls) = shared.tls.clone() else {
            return;
        };
        match crate::tls::accept(stream, tls, &shared.config, handshake).await {
            Ok(accepted) => {
                session.set_tls_client_identity(accepted.identity);
                let outcome = D::run(accepted.stream, session, conn, shared, true).await;
                finish::<D, _>(outcome, conn, shared).await;
            }
            Err(why) => tracing::debug!(%peer, "TLS handshake {why}"),
        }
        return;
    }
    match D::run(stream, session, conn, shared, true).await {
        Outcome::StartTls(stream) => {
            let Some(tls) = shared.tls.clone() else {
                return;
            };
            match crate::tls::accept(stream, tls, &shared.config, handshake).await {
                Ok(accepted) => {
                    session.tls_started();
                    session.set_tls_client_identity(accepted.identity);
                    conn.tls = true;
                    conn.stls = true;
                    let outcome = D::run(accepted.stream, session, conn, shared, false).await;
                    finish::<D, _>(outcome, conn, shared).await;
                }
                Err(why) => tracing::debug!(%peer, "{} handshake {why}", D::STARTTLS),
            }
        }
        outcome => finish::<D, _>(outcome, conn, shared).await,
    }
}

/// After a run: a session that moved to a worker process is relayed to it
/// until it ends (the worker logs its LOGOUT).
async fn finish<D: Driver, S: AsyncRead + AsyncWrite + Unpin>(
    outcome: Outcome<S>,
    conn: &mut Conn,
    shared: &Shared,
) {
    if let Outcome::HandOff(handoff) = outcome {
        crate::peruser::hand_over(handoff, D::SERVICE, conn, shared).await;
    }
}
