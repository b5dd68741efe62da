//! What the IMAP and POP3 connection drivers share: TLS (implicit, and
//! in-band with STARTTLS/STLS) with the client certificate's identity,
//! how a run over one stream ends, and the hand-over of a logged-in
//! session to its per-user worker.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use courser_auth::sasl::{Credentials, Relay, RelayAnswer};

use crate::login::LoginResult;
use crate::peruser::HandOff;
use crate::service::Service;
use crate::shared::Shared;
use crate::stream::{receive_or_goodbye, send, Conn, Goodbyes};

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

/// What the driver asks of either protocol's session: the methods both
/// sessions have, under one name.
pub(crate) trait ProtocolSession: Send + Sized + 'static {
    /// A session that serves nobody: what stands in the connection's place
    /// while its own session works on a blocking thread.
    fn vacant() -> Self;
    /// TLS started in-band: the session starts over (RFC 3501 §6.2.1,
    /// RFC 2595 §4).
    fn tls_started(&mut self);
    /// The account the client certificate names, if any (SASL EXTERNAL).
    fn set_tls_client_identity(&mut self, identity: Option<String>);
    /// The greeting.
    fn greeting(&self, out: &mut Vec<u8>);
    /// Logged in (the store is open, work blocks).
    fn is_authenticated(&self) -> bool;
    /// More output to produce without new input.
    fn has_pending_output(&self) -> bool;
    /// Answers a relayed SCRAM message with what the authentication
    /// process said; a challenge continues the exchange, its end asks
    /// for the verdict.
    fn relay_answer(&mut self, answer: RelayAnswer, out: &mut Vec<u8>) -> Step;
    /// A login failed (`temporary`: a backend could not answer).
    fn login_failed(&mut self, temporary: bool, out: &mut Vec<u8>);
    /// Gives back buffer memory the session holds beyond what an idle
    /// connection needs.
    fn shrink_buffers(&mut self) {}
}

macro_rules! protocol_session {
    ($session:ty, $vacant:expr $(, $extra:ident)*) => {
        impl ProtocolSession for $session {
            fn vacant() -> Self {
                $vacant
            }
            fn tls_started(&mut self) {
                <$session>::tls_started(self)
            }
            fn set_tls_client_identity(&mut self, identity: Option<String>) {
                <$session>::set_tls_client_identity(self, identity)
            }
            fn greeting(&self, out: &mut Vec<u8>) {
                <$session>::greeting(self, out)
            }
            fn is_authenticated(&self) -> bool {
                <$session>::is_authenticated(self)
            }
            fn has_pending_output(&self) -> bool {
                <$session>::has_pending_output(self)
            }
            fn relay_answer(&mut self, answer: RelayAnswer, out: &mut Vec<u8>) -> Step {
                <$session>::relay_answer(self, answer, out).into()
            }
            fn login_failed(&mut self, temporary: bool, out: &mut Vec<u8>) {
                <$session>::login_failed(self, temporary, out)
            }
            $(
                fn $extra(&mut self) {
                    <$session>::$extra(self)
                }
            )*
        }
    };
}
protocol_session!(
    courser_imap::session::Session,
    courser_imap::session::Session::new(courser_imap::session::SessionConfig {
        tls_active: false,
        starttls_available: false,
        login_requires_tls: false,
        hostname: String::new(),
        limits: Default::default(),
    }),
    shrink_buffers
);
protocol_session!(
    courser_pop3::session::Session,
    courser_pop3::session::Session::new(courser_pop3::session::SessionConfig {
        tls_active: false,
        stls_available: false,
        login_requires_tls: false,
        hostname: String::new(),
        limits: Default::default(),
    })
);

/// Runs `work` on the session on a blocking thread: a logged-in session's
/// commands read and write message files and wait for folder locks (up to
/// Courier's lock timeout), which must not stall the async executor's
/// threads and the other connections they serve. `None` when `work`
/// panicked: the session is gone and the connection must end.
pub(crate) async fn off_executor<P: ProtocolSession, R: Send + 'static>(
    session: &mut P,
    work: impl FnOnce(&mut P) -> R + Send + 'static,
) -> Option<R> {
    let mut owned = std::mem::replace(session, P::vacant());
    let (owned, result) = tokio::task::spawn_blocking(move || {
        let result = work(&mut owned);
        (owned, result)
    })
    .await
    .map_err(|e| tracing::error!("a session's command failed: {e}"))
    .ok()?;
    *session = owned;
    Some(result)
}

/// What a session asks of its driver after taking input: each protocol's
/// `Action`, in the driver's terms.
pub(crate) enum Step {
    /// Read more input.
    Continue,
    /// The session is over.
    Close,
    /// Start TLS on the connection.
    StartTls,
    /// Verify credentials; `tag` is IMAP's login command tag.
    Login {
        /// IMAP: the LOGIN or AUTHENTICATE tag.
        tag: Option<String>,
        /// What the client proved.
        credentials: Credentials,
    },
    /// SCRAM: relay a client message to the authentication process.
    Relay(Relay),
    /// IMAP IDLE: report changes until the client speaks.
    Idle,
}

/// One protocol's connection driver ([`crate::imap`], [`crate::pop3`]).
pub(crate) trait Driver: 'static {
    /// The protocol's session.
    type Session: ProtocolSession;
    /// The protocol, for the hand-over record and the metrics.
    const SERVICE: Service;
    /// The protocol's in-band TLS command, for the log.
    const STARTTLS: &'static str;
    /// How the protocol ends a waiting session.
    const GOODBYES: Goodbyes;
    /// Bytes read from the socket at a time.
    const READ_CHUNK: usize;

    /// How long a client may take to log in (and to finish a TLS
    /// handshake).
    fn login_timeout(shared: &Shared) -> Duration;
    /// How long a logged-in client may stay silent.
    fn autologout(shared: &Shared) -> Duration;
    /// Feeds input to the session, answers into `out`.
    fn receive(session: &mut Self::Session, input: &mut Vec<u8>, out: &mut Vec<u8>) -> Step;
    /// Records the commands the session finished (metrics).
    fn record_finished(session: &mut Self::Session);
    /// The session has ended.
    fn is_over(session: &Self::Session) -> bool;
    /// Verifies credentials and completes the login here, or starts the
    /// worker the session moves to.
    async fn login(
        session: &mut Self::Session,
        credentials: Credentials,
        conn: &Conn,
        shared: &Arc<Shared>,
        out: &mut Vec<u8>,
    ) -> LoginResult;
    /// Waits in IDLE until the client speaks; false when the connection
    /// is over. Only protocols that return [`Step::Idle`] need it.
    async fn idle<S: AsyncRead + AsyncWrite + Unpin>(
        stream: &mut S,
        session: &mut Self::Session,
        conn: &mut Conn,
        shared: &Arc<Shared>,
        input: &mut Vec<u8>,
        out: &mut Vec<u8>,
        chunk: &mut [u8],
    ) -> bool {
        let _ = (stream, session, conn, shared, input, out, chunk);
        true
    }
}

/// Runs a session over `stream` until it ends, asks for TLS, or moves to
/// a per-user worker; `greet` is false after STARTTLS/STLS (RFC 2595 §4)
/// and after a hand-over.
pub(crate) async fn run<D: Driver, S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    session: &mut D::Session,
    conn: &mut Conn,
    shared: &Arc<Shared>,
    greet: bool,
) -> Outcome<S> {
    let mut input = Vec::new();
    let mut out = Vec::new();
    let mut chunk = vec![0u8; D::READ_CHUNK];
    if greet {
        session.greeting(&mut out);
    }
    // What the session asked for outside `receive` (a relayed SCRAM
    // message's answer), done before reading on.
    let mut pending = None;
    loop {
        let step = if let Some(step) = pending.take() {
            step
        } else if session.is_authenticated() {
            let (mut taken_in, mut taken_out) =
                (std::mem::take(&mut input), std::mem::take(&mut out));
            let done = off_executor(session, move |s| {
                let step = D::receive(s, &mut taken_in, &mut taken_out);
                (step, taken_in, taken_out)
            })
            .await;
            let Some((step, taken_in, taken_out)) = done else {
                return Outcome::Closed;
            };
            (input, out) = (taken_in, taken_out);
            step
        } else {
            D::receive(session, &mut input, &mut out)
        };
        // Also picks up a login finished since the last call.
        D::record_finished(session);
        if !send(&mut stream, &mut out, &mut conn.bytes_out).await {
            return Outcome::Closed;
        }
        match step {
            Step::Continue => {}
            Step::Close => return Outcome::Closed,
            Step::StartTls => {
                // Bytes pipelined after STARTTLS/STLS were sent in the
                // clear and must not be taken as protected commands.
                input.clear();
                return Outcome::StartTls(stream);
            }
            Step::Login { tag, credentials } => {
                let evicted = conn.evicted();
                let result = tokio::select! {
                    result = D::login(session, credentials, conn, shared, &mut out) => Some(result),
                    () = evicted => None,
                };
                // A connection that gave way to a newer one ends here, even
                // when its login succeeded meanwhile.
                let result = match result {
                    Some(LoginResult::Refused) => LoginResult::Refused,
                    Some(done) if conn.logged_in() => done,
                    _ => {
                        out.clear();
                        out.extend_from_slice(D::GOODBYES.evicted);
                        send(&mut stream, &mut out, &mut conn.bytes_out).await;
                        return Outcome::Closed;
                    }
                };
                match result {
                    LoginResult::Refused => {}
                    LoginResult::Here(slot) => conn.user_slot = Some(slot),
                    LoginResult::Worker(worker, slot) => {
                        conn.user_slot = Some(slot);
                        return Outcome::HandOff(HandOff {
                            stream,
                            worker,
                            tag,
                            pipelined: std::mem::take(&mut input),
                        });
                    }
                }
                if !send(&mut stream, &mut out, &mut conn.bytes_out).await {
                    return Outcome::Closed;
                }
                continue;
            }
            Step::Relay(relay) => {
                let service = D::SERVICE.as_str();
                let next = match crate::login::scram_step(service, relay, conn.peer, shared).await {
                    Ok(answer) => session.relay_answer(answer, &mut out),
                    Err(refused) => {
                        // Anything but a plain refusal may be the server's fault.
                        let temporary =
                            refused != crate::refused::Refused::Failed { temporary: false };
                        session.login_failed(temporary, &mut out);
                        Step::Continue
                    }
                };
                if !send(&mut stream, &mut out, &mut conn.bytes_out).await {
                    return Outcome::Closed;
                }
                pending = Some(next);
                continue;
            }
            Step::Idle => {
                shrink_idle(session, &mut input, &mut out);
                let (input, out, chunk) = (&mut input, &mut out, &mut chunk);
                if D::idle(&mut stream, session, conn, shared, input, out, chunk).await {
                    continue;
                }
                return Outcome::Closed;
            }
        }
        if D::is_over(session) {
            return Outcome::Closed;
        }
        if session.has_pending_output() {
            // More output without new input: a long answer in pieces, or
            // commands received already that wait until the output is sent
            // (courser_protocol::backpressure). Read nothing meanwhile.
            continue;
        }
        shrink_idle(session, &mut input, &mut out);
        let timeout = if session.is_authenticated() {
            D::autologout(shared)
        } else {
            conn.login_time_left(D::login_timeout(shared))
        };
        if !receive_or_goodbye(
            &mut stream,
            &mut chunk,
            &mut input,
            conn,
            timeout,
            shared,
            &D::GOODBYES,
        )
        .await
        {
            return Outcome::Closed;
        }
    }
}

/// Buffer capacity a connection keeps while it waits for its client.
const IDLE_CAPACITY: usize = 4 * 1024;

/// Before waiting for the client: gives back what a big answer, a burst
/// of pipelined commands or a long command left allocated, so a waiting
/// connection costs little.
fn shrink_idle<P: ProtocolSession>(session: &mut P, input: &mut Vec<u8>, out: &mut Vec<u8>) {
    for buf in [input, out] {
        if buf.capacity() > IDLE_CAPACITY {
            buf.shrink_to(IDLE_CAPACITY.max(buf.len()));
        }
    }
    session.shrink_buffers();
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
    let peer = conn.peer;
    if implicit_tls {
        let Some(tls) = shared.tls.clone() else {
            return;
        };
        let handshake = conn.login_time_left(D::login_timeout(shared));
        match crate::tls::accept(stream, tls, &shared.config, handshake).await {
            Ok(accepted) => {
                session.set_tls_client_identity(accepted.identity);
                let outcome = run::<D, _>(accepted.stream, session, conn, shared, true).await;
                finish::<D, _>(outcome, conn, shared).await;
            }
            Err(why) => tracing::debug!(%peer, "TLS handshake {why}"),
        }
        return;
    }
    match run::<D, _>(stream, session, conn, shared, true).await {
        Outcome::StartTls(stream) => {
            let Some(tls) = shared.tls.clone() else {
                return;
            };
            let handshake = conn.login_time_left(D::login_timeout(shared));
            match crate::tls::accept(stream, tls, &shared.config, handshake).await {
                Ok(accepted) => {
                    session.tls_started();
                    session.set_tls_client_identity(accepted.identity);
                    conn.tls = true;
                    conn.stls = true;
                    let outcome = run::<D, _>(accepted.stream, session, conn, shared, false).await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use courser_imap::session::{Session, SessionConfig};

    #[test]
    fn a_waiting_connection_keeps_small_buffers() {
        let mut session = Session::new(SessionConfig {
            tls_active: false,
            starttls_available: false,
            login_requires_tls: false,
            hostname: "test".into(),
            limits: Default::default(),
        });
        let mut input = Vec::with_capacity(1 << 20);
        input.extend_from_slice(b"a NO");
        let mut out = Vec::with_capacity(600_000);
        shrink_idle(&mut session, &mut input, &mut out);
        assert!(input.capacity() <= IDLE_CAPACITY && input == b"a NO");
        assert!(out.capacity() <= IDLE_CAPACITY);
        // Small buffers are left alone (no reallocation per command).
        let mut small = Vec::with_capacity(1024);
        let ptr = small.as_ptr();
        shrink_idle(&mut session, &mut input, &mut small);
        assert_eq!(small.as_ptr(), ptr);
    }
}
