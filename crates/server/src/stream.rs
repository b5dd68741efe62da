//! Socket I/O shared by the protocol drivers ([`crate::imap`],
//! [`crate::pop3`]): sending a response buffer with a write timeout, and
//! waiting for client bytes with an idle timeout and shutdown.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::runtime::Shared;

/// Per-connection facts for the LOGIN/LOGOUT lines and the hand-over to
/// a per-user worker.
pub(crate) struct Conn {
    pub peer: std::net::SocketAddr,
    pub started: std::time::Instant,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub tls: bool,
    /// POP3: TLS was started with STLS (Courier logs it).
    pub stls: bool,
    /// Held while logged in: the per-account connection count.
    pub user_slot: Option<crate::limits::UserSlot>,
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
            started,
            bytes_in,
            bytes_out,
            tls,
            stls: false,
            user_slot: None,
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
}

/// Reads what the client sends next into `input` (through `chunk`),
/// counting into `received`, unless `timeout` passes first or the server
/// shuts down.
pub(crate) async fn receive<S: AsyncRead + Unpin>(
    stream: &mut S,
    chunk: &mut [u8],
    input: &mut Vec<u8>,
    received: &mut u64,
    timeout: Duration,
    shared: &Shared,
) -> Received {
    let read = tokio::select! {
        r = tokio::time::timeout(timeout, stream.read(chunk)) => r,
        _ = shared.shutting_down() => return Received::ShuttingDown,
    };
    match read {
        Ok(Ok(0)) | Ok(Err(_)) => Received::Closed,
        Ok(Ok(n)) => {
            *received += n as u64;
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
}

/// [`receive`], and when the wait ends the session (timeout, shutdown)
/// the protocol's goodbye is sent. True when bytes arrived and the session
/// goes on.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn receive_or_goodbye<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    chunk: &mut [u8],
    input: &mut Vec<u8>,
    received: &mut u64,
    sent: &mut u64,
    timeout: Duration,
    shared: &Shared,
    goodbyes: &Goodbyes,
) -> bool {
    let bye = match receive(stream, chunk, input, received, timeout, shared).await {
        Received::Data => return true,
        Received::Closed => return false,
        Received::ShuttingDown => goodbyes.shutting_down,
        Received::TimedOut => goodbyes.timed_out,
    };
    send(stream, &mut bye.to_vec(), sent).await;
    false
}
