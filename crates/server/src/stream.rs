//! Socket I/O shared by the protocol drivers ([`crate::imap`],
//! [`crate::pop3`]): sending a response buffer with a write timeout, and
//! waiting for client bytes with an idle timeout and shutdown.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::shared::Shared;

/// Per-connection facts for the LOGIN/LOGOUT lines and the hand-over to
/// a per-user worker.
pub(crate) struct Conn {
    pub peer: std::net::SocketAddr,
    /// The address the client connected to, when known (proxy mode
    /// passes it on).
    pub local: Option<std::net::SocketAddr>,
    pub started: std::time::Instant,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub tls: bool,
    /// TLS was started in-band (STARTTLS, STLS), not from the first
    /// byte.
    pub stls: bool,
    /// `bytes_in` and `bytes_out` when the session logged in: Courier's
    /// LOGOUT line counts what came after.
    pub at_login: (u64, u64),
    /// The session ended because the client stayed silent too long.
    pub timed_out: bool,
    /// Held while logged in: the per-account connection count.
    pub user_slot: Option<crate::limits::UserSlot>,
    /// The connection's place in the server's counts (none for a session
    /// handed over or on standard I/O, counted elsewhere).
    pub slot: Option<crate::limits::Slot>,
}

impl Conn {
    /// A connection from `peer` starting now.
    pub fn new(peer: std::net::SocketAddr, tls: bool) -> Conn {
        Conn::resumed(peer, tls, std::time::Instant::now(), 0, 0)
    }

    /// A connection that began at `started` and has moved `bytes_in` and
    /// `bytes_out` bytes so far (a per-user worker's view).
    pub fn resumed(
        peer: std::net::SocketAddr,
        tls: bool,
        started: std::time::Instant,
        bytes_in: u64,
        bytes_out: u64,
    ) -> Conn {
        Conn {
            peer,
            local: None,
            started,
            bytes_in,
            bytes_out,
            tls,
            stls: false,
            at_login: (bytes_in, bytes_out),
            timed_out: false,
            user_slot: None,
            slot: None,
        }
    }

    /// What is left of `limit` counted from the connection's start: the
    /// login timeout is a deadline, not a pause between reads (one byte a
    /// minute must not hold a connection forever).
    pub fn login_time_left(&self, limit: Duration) -> Duration {
        limit.saturating_sub(self.started.elapsed())
    }

    /// Resolves once the connection has given way to a newer one
    /// ([`crate::limits::Slot::evicted`]); never without a slot.
    pub fn evicted(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let evicted = self.slot.as_ref().map(|s| s.evicted());
        async move {
            match evicted {
                Some(evicted) => evicted.await,
                None => std::future::pending().await,
            }
        }
    }

    /// The connection logged in and no longer gives way; false when it
    /// already gave way (the session must end).
    pub fn logged_in(&self) -> bool {
        self.slot.as_ref().is_none_or(|s| s.logged_in())
    }

    /// The program Courier would log this connection's lines as: the
    /// listener's, told by whether TLS began with the connection.
    pub fn program(&self, service: crate::service::Service) -> crate::courier_log::Program {
        crate::courier_log::Program::of(service, self.tls && !self.stls)
    }

    /// The client, for Courier's lines.
    pub fn client(&self) -> crate::courier_log::Client {
        crate::courier_log::Client {
            ip: self.peer.ip(),
            port: self.peer.port(),
        }
    }

    /// A connection accepted now, counted by `slot`.
    pub fn accepted(
        peer: std::net::SocketAddr,
        implicit_tls: bool,
        slot: crate::limits::Slot,
    ) -> Conn {
        Conn {
            slot: Some(slot),
            ..Conn::new(peer, implicit_tls)
        }
    }

    /// Standard input and output (`courser imapd`, `courser pop3d`).
    pub fn local() -> Conn {
        Conn::new(std::net::SocketAddr::from(([127, 0, 0, 1], 0)), false)
    }
}

/// How long a client may leave our output unread.
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(300);

/// Sends `out` and clears it, counting into `sent`; false when the client
/// is gone or leaves the output unread for [`WRITE_TIMEOUT`] (a stuck
/// reader must not hold the session forever).
pub(crate) async fn send<S: AsyncWrite + Unpin>(
    stream: &mut S,
    out: &mut Vec<u8>,
    sent: &mut u64,
) -> bool {
    if out.is_empty() {
        return true;
    }
    *sent += out.len() as u64;
    let write = async { stream.write_all(out).await.is_ok() && stream.flush().await.is_ok() };
    let ok = tokio::time::timeout(WRITE_TIMEOUT, write)
        .await
        .unwrap_or(false);
    out.clear();
    ok
}

/// Writes as much of `out` as the connection takes now, without waiting
/// (from a blocking thread, where a session just answered: the answer
/// leaves at once instead of after the executor's next turn). What was
/// written leaves `out` and counts in `sent`. Returns whether the stream
/// still needs a flush ([`finish_send`] does what is left).
pub(crate) fn send_now<S: AsyncWrite + Unpin>(
    stream: &mut S,
    out: &mut Vec<u8>,
    sent: &mut u64,
) -> bool {
    use std::pin::Pin;
    use std::task::{Context, Poll};
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let mut written = 0;
    while written < out.len() {
        match Pin::new(&mut *stream).poll_write(&mut cx, &out[written..]) {
            Poll::Ready(Ok(n)) if n > 0 => written += n,
            // Full, closed or failed: the executor's write finds out.
            _ => break,
        }
    }
    out.drain(..written);
    *sent += written as u64;
    if written == 0 {
        return false;
    }
    !matches!(
        Pin::new(&mut *stream).poll_flush(&mut cx),
        Poll::Ready(Ok(()))
    )
}

/// Sends what [`send_now`] left: the rest of `out`, or only the flush.
pub(crate) async fn finish_send<S: AsyncWrite + Unpin>(
    stream: &mut S,
    out: &mut Vec<u8>,
    sent: &mut u64,
    unflushed: bool,
) -> bool {
    if !out.is_empty() {
        return send(stream, out, sent).await;
    }
    if !unflushed {
        return true;
    }
    tokio::time::timeout(WRITE_TIMEOUT, stream.flush())
        .await
        .is_ok_and(|flushed| flushed.is_ok())
}

/// What [`receive`] saw.
pub(crate) enum Received {
    /// Bytes were appended to the input.
    Data,
    /// The client closed the connection or it failed.
    Closed,
    /// Nothing arrived within the timeout.
    TimedOut,
    /// The server is shutting down.
    ShuttingDown,
    /// The connection gave way to a newer one before logging in.
    Evicted,
}

/// Reads what the client sends next into `input` (through `chunk`),
/// counting into `conn`, unless `timeout` passes first (a zero timeout
/// reads nothing: the deadline is past), the server shuts down or the
/// connection gives way.
pub(crate) async fn receive<S: AsyncRead + Unpin>(
    stream: &mut S,
    chunk: &mut [u8],
    input: &mut Vec<u8>,
    conn: &mut Conn,
    timeout: Duration,
    shared: &Shared,
) -> Received {
    if timeout.is_zero() {
        return Received::TimedOut;
    }
    let read = tokio::select! {
        r = tokio::time::timeout(timeout, stream.read(chunk)) => r,
        _ = shared.shutting_down() => return Received::ShuttingDown,
        _ = conn.evicted() => return Received::Evicted,
    };
    match read {
        Ok(Ok(0)) | Ok(Err(_)) => Received::Closed,
        Ok(Ok(n)) => {
            conn.bytes_in += n as u64;
            input.extend_from_slice(&chunk[..n]);
            Received::Data
        }
        Err(_) => Received::TimedOut,
    }
}

/// What a protocol says when it ends a waiting session.
pub(crate) struct Goodbyes {
    /// Sent when the server shuts down.
    pub shutting_down: &'static [u8],
    /// Sent when the client stayed silent past the timeout.
    pub timed_out: &'static [u8],
    /// Sent when a connection that had not logged in gives way to a
    /// newer one.
    pub evicted: &'static [u8],
    /// Sent after the answer to the login command when a handed-over
    /// session's mail cannot be opened (the worker serves no one else).
    pub cannot_open: &'static [u8],
}

/// [`receive`], and when the wait ends the session (timeout, shutdown,
/// eviction) the protocol's goodbye is sent. True when bytes arrived and
/// the session goes on.
pub(crate) async fn receive_or_goodbye<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    chunk: &mut [u8],
    input: &mut Vec<u8>,
    conn: &mut Conn,
    timeout: Duration,
    shared: &Shared,
    goodbyes: &Goodbyes,
) -> bool {
    let bye = match receive(stream, chunk, input, conn, timeout, shared).await {
        Received::Data => return true,
        Received::Closed => return false,
        Received::ShuttingDown => goodbyes.shutting_down,
        Received::TimedOut => {
            conn.timed_out = true;
            goodbyes.timed_out
        }
        Received::Evicted => {
            tracing::info!(ip = %conn.peer.ip(), "not logged in yet: gave way to a newer connection");
            goodbyes.evicted
        }
    };
    send(stream, &mut bye.to_vec(), &mut conn.bytes_out).await;
    false
}
