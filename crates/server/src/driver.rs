//! The connection driver both protocols share: [`Driver`] is what a
//! protocol ([`crate::imap`], [`crate::pop3`]) tells it, [`run`] feeds a
//! session from one stream until it ends, asks for TLS or moves to a
//! per-user worker, and logs the session in on the way ([`log_in`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

use courser_auth::sasl::Credentials;
use courser_protocol::Untrusted;

use crate::limits::UserSlot;
use crate::linger::{Lingering, ReadDirect, LINGER, MAX_ROUNDS};
use crate::login::{admit, scram_step};
use crate::peruser::handoff::Handoff;
use crate::peruser::{HandOff, Worker};
use crate::proxy::backend::{Backend, Client};
use crate::proxy::dialogue::LoggedIn;
use crate::proxy::relay::{self, Relayed};
use crate::proxy::Plan;
use crate::refused::Refused;
use crate::service::Service;
use crate::session::{off_executor, ProtocolSession, Step};
use crate::shared::Shared;
use crate::stream::{finish_send, receive_or_goodbye, send, send_now, Conn, Goodbyes};

/// How a run over one stream ended.
pub(crate) enum Outcome<S> {
    /// The session is over.
    Closed,
    /// The client asked for TLS; the session goes on over TLS.
    StartTls(S),
    /// Logged in; the session continues in a worker process (per-user
    /// model).
    HandOff(HandOff<S>),
    /// Logged in on a backend (proxy mode): the session is relayed.
    Relayed(Relayed<S>),
}

/// How a login command ended.
#[derive(Debug)]
pub(crate) enum LoginResult {
    /// Failed or refused; the session has answered.
    Refused,
    /// Logged in here (shared model). The slot counts the session
    /// against the per-account limits for as long as it is held.
    Here(UserSlot),
    /// Logged in; the session moves to this worker process (per-user
    /// model), which answers the command.
    Worker(Worker, UserSlot),
    /// Logged in on the account's backend (proxy mode); the client has
    /// its answer.
    Relayed(Box<Backend>, UserSlot, String),
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

    /// The session for a connection accepted as `conn` (`conn.tls`:
    /// implicit TLS).
    fn new_session(conn: &Conn, shared: &Shared) -> Self::Session;
    /// The session for a hand-over `record` (per-user model, in the
    /// worker): its login command waits for [`Driver::open`] to answer.
    fn resumed_session(record: &Handoff, shared: &Shared) -> Self::Session;
    /// How long a client may take to log in (and to finish a TLS
    /// handshake).
    fn login_timeout(shared: &Shared) -> Duration;
    /// How long a logged-in client may stay silent.
    fn autologout(shared: &Shared) -> Duration;
    /// Answers a login [`admit`] refused, in the protocol's words.
    fn refuse(session: &mut Self::Session, refused: Refused, out: &mut Vec<u8>);
    /// The client's address as a proxy in front names it (IMAP ID's
    /// `x-originating-ip` and `-port`, POP3 XCLIENT's `ADDR` and `PORT`),
    /// with the proxy's session id.
    fn forwarded_client(session: &Self::Session) -> Option<(SocketAddr, Option<String>)> {
        let _ = session;
        None
    }
    /// The login under way continues in SMAP1 (IMAP's `\SMAP1 LOGIN`).
    fn smap_login(session: &Self::Session) -> bool {
        let _ = session;
        false
    }
    /// Answers a login the account's backend accepted (proxy mode) with
    /// the backend's answer.
    fn relayed(session: &mut Self::Session, logged_in: &LoggedIn, out: &mut Vec<u8>);
    /// Opens `login`'s mail in `maildir` and completes the session's
    /// login, logging it the way Courier does; false (after answering)
    /// when the mail cannot be opened. `options` are the account's
    /// authlib options (its ACL groups).
    async fn open(
        session: &mut Self::Session,
        login: &str,
        options: &str,
        maildir: PathBuf,
        conn: &Conn,
        shared: &Shared,
        out: &mut Vec<u8>,
    ) -> bool;
    /// What ends a session served here: the LOGOUT line (Courier's), for
    /// a session that logged in.
    async fn logged_out(session: &mut Self::Session, conn: &Conn, shared: &Shared);
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
pub(crate) async fn run<
    D: Driver,
    S: AsyncRead + AsyncWrite + ReadDirect + Unpin + Send + 'static,
>(
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
    // A blocking thread sent the answer but could not flush it all.
    let mut unflushed = false;
    loop {
        let step = if let Some(step) = pending.take() {
            step
        } else if session.is_authenticated() {
            let visit = Visit {
                input: std::mem::take(&mut input),
                out: std::mem::take(&mut out),
                chunk: std::mem::take(&mut chunk),
                stream,
            };
            let Some((step, visit, moved)) = answer_on_thread(session, visit).await else {
                return Outcome::Closed;
            };
            Visit {
                input,
                out,
                chunk,
                stream,
            } = visit;
            conn.bytes_in += moved.received;
            conn.bytes_out += moved.sent;
            unflushed = moved.unflushed;
            step
        } else {
            session.receive(&mut input, &mut out)
        };
        // Also picks up a login finished since the last call.
        for done in session.finished_commands() {
            crate::metrics::command(D::SERVICE, done.command, done.busy);
        }
        if !finish_send(&mut stream, &mut out, &mut conn.bytes_out, unflushed).await {
            return Outcome::Closed;
        }
        unflushed = false;
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
                believe_proxy::<D>(session, conn, shared);
                let evicted = conn.evicted();
                let result = tokio::select! {
                    result = log_in::<D>(session, credentials, conn, shared, &mut out) => Some(result),
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
                    LoginResult::Here(slot) => {
                        conn.user_slot = Some(slot);
                        conn.at_login = (conn.bytes_in, conn.bytes_out);
                    }
                    LoginResult::Worker(worker, slot) => {
                        conn.user_slot = Some(slot);
                        return Outcome::HandOff(HandOff {
                            stream,
                            worker,
                            tag,
                            pipelined: std::mem::take(&mut input),
                        });
                    }
                    LoginResult::Relayed(backend, slot, user) => {
                        conn.user_slot = Some(slot);
                        if !send(&mut stream, &mut out, &mut conn.bytes_out).await {
                            return Outcome::Closed;
                        }
                        return Outcome::Relayed(Relayed {
                            stream,
                            backend,
                            pipelined: std::mem::take(&mut input),
                            user,
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
                let program = conn.program(D::SERVICE);
                let next = match scram_step(service, program, relay, conn.peer, shared).await {
                    Ok(answer) => session.relay_answer(answer, &mut out),
                    Err(refused) => {
                        // Anything but a plain refusal may be the server's fault.
                        let temporary = refused != Refused::Failed { temporary: false };
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
        if session.is_over() {
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

/// What a logged-in session's visit to a blocking thread takes along.
struct Visit<S> {
    input: Vec<u8>,
    out: Vec<u8>,
    chunk: Vec<u8>,
    stream: S,
}

/// Bytes a visit moved, and whether the stream still needs a flush.
struct Moved {
    received: u64,
    sent: u64,
    unflushed: bool,
}

/// Answers a logged-in session's input on a blocking thread and sends
/// the answer from there; while the client sends its next command at
/// once, answers that too ([`crate::linger`]). `None` when the session
/// panicked.
async fn answer_on_thread<
    P: ProtocolSession,
    S: AsyncWrite + ReadDirect + Unpin + Send + 'static,
>(
    session: &mut P,
    mut visit: Visit<S>,
) -> Option<(Step, Visit<S>, Moved)> {
    off_executor(session, move |s| {
        let mut moved = Moved {
            received: 0,
            sent: 0,
            unflushed: false,
        };
        let mut place = None;
        let mut rounds = 0;
        let step = loop {
            let step = s.receive(&mut visit.input, &mut visit.out);
            moved.unflushed = send_now(&mut visit.stream, &mut visit.out, &mut moved.sent);
            rounds += 1;
            let answered = matches!(step, Step::Continue)
                && !s.is_over()
                && visit.out.is_empty()
                && !moved.unflushed;
            if !answered || rounds >= MAX_ROUNDS {
                break step;
            }
            if s.has_pending_output() {
                continue;
            }
            if place.is_none() {
                place = Lingering::take();
                if place.is_none() {
                    break step;
                }
            }
            match visit.stream.read_within(&mut visit.chunk, LINGER) {
                Some(n) => {
                    visit.input.extend_from_slice(&visit.chunk[..n]);
                    moved.received += n as u64;
                }
                None => break step,
            }
        };
        (step, visit, moved)
    })
    .await
}

/// Verifies credentials ([`admit`]) and completes the login here, or
/// starts the worker the session moves to.
async fn log_in<D: Driver>(
    session: &mut D::Session,
    credentials: Credentials,
    conn: &Conn,
    shared: &Arc<Shared>,
    out: &mut Vec<u8>,
) -> LoginResult {
    let service = D::SERVICE.as_str();
    let program = conn.program(D::SERVICE);
    // Proxy mode with the client's own credentials relays its password.
    let password = match &credentials {
        Credentials::Password { password, .. } => Some(password.clone()),
        _ => None,
    };
    let admitted = match admit(service, program, credentials, conn.peer, conn.tls, shared).await {
        Ok(admitted) => admitted,
        Err(refused) => {
            D::refuse(session, refused, out);
            return LoginResult::Refused;
        }
    };
    let result = serve_admitted::<D>(session, admitted, password, conn, shared, out).await;
    // Counted once served: a proxied login when its backend took it, one
    // served here when its mail opened (else both answered a temporary
    // failure).
    let failed = matches!(result, LoginResult::Refused);
    crate::metrics::login(
        service,
        failed.then_some(Refused::Failed { temporary: true }),
    );
    result
}

/// Serves a login [`admit`] let in: relayed to its backend in proxy mode,
/// in the worker started for it, or here.
async fn serve_admitted<D: Driver>(
    session: &mut D::Session,
    admitted: crate::login::Admitted,
    password: Option<Vec<u8>>,
    conn: &Conn,
    shared: &Arc<Shared>,
    out: &mut Vec<u8>,
) -> LoginResult {
    let admitted = match &shared.proxy {
        Some(proxy) => {
            let mailhosts: Vec<&str> = admitted.account.options.get_all("mailhost").collect();
            match proxy.plan(&mailhosts, &shared.hostname) {
                Plan::Here => admitted,
                Plan::Relay {
                    mailhost,
                    then_here,
                } => {
                    let relay = (mailhost.as_deref(), then_here, password);
                    match relay_login::<D>(session, proxy, admitted, relay, conn, shared, out).await
                    {
                        Ok(done) => return done,
                        Err(admitted) => admitted,
                    }
                }
            }
        }
        None => admitted,
    };
    match admitted.worker {
        Some(worker) => LoginResult::Worker(worker, admitted.slot),
        None => {
            let (login, options) = (&admitted.account.login, admitted.account.options.as_str());
            if D::open(session, login, options, admitted.maildir, conn, shared, out).await {
                LoginResult::Here(admitted.slot)
            } else {
                LoginResult::Refused
            }
        }
    }
}

/// A trusted proxy's ID (IMAP) or XCLIENT (POP3) names the real client:
/// logins, limits, failure delays and logs see it from here on.
fn believe_proxy<D: Driver>(session: &D::Session, conn: &mut Conn, shared: &Shared) {
    let Some((client, proxy_session)) = D::forwarded_client(session) else {
        return;
    };
    if conn.peer == client {
        // Believed at an earlier login attempt.
        return;
    }
    if !crate::access::in_any(&shared.trusted_proxies, conn.peer.ip()) {
        tracing::info!(proxy = %conn.peer, claimed = %client, "ID names a client, but the sender is not in [proxy] trusted_proxies: ignored");
        return;
    }
    tracing::info!(
        proxy = %conn.peer,
        ip = %client.ip(),
        port = client.port(),
        session = %Untrusted(proxy_session.as_deref().unwrap_or("-")),
        "client address from the proxy's ID"
    );
    conn.peer = client;
}

/// Proxy mode: logs the admitted account in on its backend (`relay`:
/// the `mailhost` list or the pool, whether this server takes the login
/// when none answers, the client's password) and answers the client with
/// the backend's answer. `Err` gives the login back to be served here.
async fn relay_login<D: Driver>(
    session: &mut D::Session,
    proxy: &crate::proxy::Proxy,
    admitted: crate::login::Admitted,
    relay: (Option<&[String]>, bool, Option<Vec<u8>>),
    conn: &Conn,
    shared: &Shared,
    out: &mut Vec<u8>,
) -> Result<LoginResult, crate::login::Admitted> {
    let (mailhost, then_here, password) = relay;
    let account = &admitted.account;
    let login = account.login.as_str();
    let client = Client {
        peer: conn.peer,
        local: conn.local.unwrap_or(conn.peer),
        session: relay::session_id(),
    };
    match relay::open(
        proxy,
        D::SERVICE,
        login,
        mailhost,
        password.as_deref(),
        (&client, D::smap_login(session)),
    )
    .await
    {
        Ok(backend) => {
            tracing::info!(
                user = %Untrusted(login),
                ip = %conn.peer.ip(),
                port = conn.peer.port(),
                protocol = D::SERVICE.as_str(),
                backend = %backend.node,
                mailhost = mailhost.is_some(),
                session = %client.session,
                "LOGIN (proxied)"
            );
            // Courier's proxy logs the LOGIN line of a session it relays
            // (the backend logs its own, and the LOGOUT).
            let protocol = match (D::SERVICE, D::smap_login(session)) {
                (_, true) => "SMAP1",
                (Service::Imap, false) => "IMAP",
                (Service::Pop3, false) => "POP3",
            };
            crate::courier_log::logged_in(&shared.config.log, conn, D::SERVICE, protocol, login);
            crate::metrics::proxied(D::SERVICE, &backend.node);
            D::relayed(session, &backend.logged_in, out);
            let login = login.to_owned();
            Ok(LoginResult::Relayed(
                Box::new(backend),
                admitted.slot,
                login,
            ))
        }
        Err(why) if then_here => {
            tracing::warn!(
                user = %Untrusted(login),
                session = %client.session,
                "no mailhost before this server answered, served here: {why}"
            );
            Err(admitted)
        }
        Err(why) => {
            tracing::warn!(
                user = %Untrusted(login),
                ip = %conn.peer.ip(),
                protocol = D::SERVICE.as_str(),
                session = %client.session,
                "LOGIN FAILED (temporary): no backend: {why}"
            );
            D::refuse(session, Refused::Unreachable, out);
            Ok(LoginResult::Refused)
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
