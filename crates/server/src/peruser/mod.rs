//! The per-user process model (DESIGN.md "Process model").
//!
//! Three kinds of process:
//! - the front end (`courser serve`, running as `run_as`, `nobody` by
//!   default): accepts connections, does TLS, parses everything up to and
//!   including the login, and enforces limits — the code that reads
//!   untrusted bytes before login holds no privilege;
//! - the [`spawner`] (root, tiny): after a successful login it starts a
//!   worker with the account's ids on a socket the front end passes it;
//! - the [`worker`] (`courser session-worker`): switches to the account's
//!   groups, gid and uid before it reads anything, takes the [`handoff`]
//!   record, opens the maildir as the account and serves the session.
//!
//! The front end then relays plaintext between the client (TLS stays in
//! the front end, as in Dovecot's login/imap split) and the worker.
//! Courier instead forks per connection and parses the login as root; the
//! split here keeps root out of reach of client bytes and keeps TLS keys
//! out of processes that users own.

pub mod handoff;
pub mod spawner;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::UnixStream;

use crate::service::Service;
use crate::shared::Shared;
use crate::stream::{Conn, WRITE_TIMEOUT};
use handoff::Handoff;

/// How long the relay waits for the worker's last words after the client
/// closed its side.
const DRAIN_GRACE: Duration = Duration::from_secs(30);
/// Bytes relayed at a time.
const RELAY_CHUNK: usize = 16 * 1024;

/// A worker process started for a login, and the front end's end of its
/// socket.
#[derive(Debug)]
pub struct Worker {
    /// The socket to the worker.
    pub socket: UnixStream,
    /// The worker's pid (for logs).
    pub pid: u32,
    /// The account's login.
    pub login: String,
}

/// Starts a worker process for the account behind `ticket` (from the
/// authentication process) through the spawner, which takes the
/// account's ids from the authentication process, not from here.
pub async fn start_worker(
    spawner: &Arc<spawner::Spawner>,
    ticket: String,
    login: &str,
) -> Result<Worker, String> {
    let (ours, theirs) =
        std::os::unix::net::UnixStream::pair().map_err(|e| format!("socket pair: {e}"))?;
    let spawner = Arc::clone(spawner);
    let pid = tokio::task::spawn_blocking(move || spawner.spawn(&ticket, theirs))
        .await
        .map_err(|e| format!("spawn task: {e}"))??;
    ours.set_nonblocking(true)
        .map_err(|e| format!("socket: {e}"))?;
    let socket = UnixStream::from_std(ours).map_err(|e| format!("socket: {e}"))?;
    Ok(Worker {
        socket,
        pid,
        login: login.to_owned(),
    })
}

/// A logged-in session on its way to a worker: the client's stream, the
/// worker, the login command's tag (IMAP) and what the client sent after
/// that command.
pub struct HandOff<S> {
    /// The client connection (TLS stays here).
    pub stream: S,
    /// The worker process.
    pub worker: Worker,
    /// IMAP: the LOGIN or AUTHENTICATE tag the worker answers.
    pub tag: Option<String>,
    /// Bytes after the login command, already read from the client.
    pub pipelined: Vec<u8>,
}

/// Hands the session to its worker — the record, then the bytes the
/// client already sent after its login command — and relays until either
/// side ends, counting into `conn`.
pub(crate) async fn hand_over<S: AsyncRead + AsyncWrite + Unpin>(
    handoff: HandOff<S>,
    service: Service,
    conn: &mut Conn,
    shared: &Shared,
) {
    let HandOff {
        stream: client,
        mut worker,
        tag,
        pipelined,
    } = handoff;
    let record = Handoff {
        service,
        login: worker.login.clone(),
        tag,
        peer: conn.peer,
        tls: conn.tls,
        stls: conn.stls,
        // The worker counts the pipelined bytes as it reads them.
        bytes_in: conn.bytes_in.saturating_sub(pipelined.len() as u64),
        bytes_out: conn.bytes_out,
        connected_ms: conn.started.elapsed().as_millis() as u64,
        hostname: shared.hostname.clone(),
        imap: shared.config.imap.clone(),
        pop3: shared.config.pop3.clone(),
        maildir_settings: shared.config.maildir.clone(),
        log: shared.config.log.clone(),
    };
    let sent = async {
        record.write_to(&mut worker.socket).await?;
        worker.socket.write_all(&pipelined).await
    };
    if let Err(e) = tokio::time::timeout(WRITE_TIMEOUT, sent)
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
    {
        tracing::error!(user = %courser_protocol::Untrusted(&worker.login), pid = worker.pid, "hand-over to the worker failed: {e}");
        return;
    }
    relay(
        client,
        worker.socket,
        &mut conn.bytes_in,
        &mut conn.bytes_out,
    )
    .await;
}

/// Copies bytes both ways. The worker's end of the stream ends the
/// session (it logs out, times out, or shuts down); the client closing
/// first closes the worker's input and gives it [`DRAIN_GRACE`] to finish.
/// A client that leaves output unread for [`WRITE_TIMEOUT`] is dropped.
async fn relay<S: AsyncRead + AsyncWrite + Unpin>(
    client: S,
    worker: UnixStream,
    bytes_in: &mut u64,
    bytes_out: &mut u64,
) {
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let (mut worker_read, mut worker_write) = worker.into_split();
    let up = async {
        copy(&mut client_read, &mut worker_write, bytes_in).await;
        let _ = worker_write.shutdown().await;
    };
    let down = async {
        copy(&mut worker_read, &mut client_write, bytes_out).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), client_write.shutdown()).await;
    };
    tokio::pin!(up, down);
    tokio::select! {
        () = &mut down => {}
        () = &mut up => {
            let _ = tokio::time::timeout(DRAIN_GRACE, down).await;
        }
    }
}

/// Copies until end of file, an error, or a write stuck for
/// [`WRITE_TIMEOUT`].
async fn copy<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    from: &mut R,
    to: &mut W,
    count: &mut u64,
) {
    let mut buf = vec![0u8; RELAY_CHUNK];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let write = async {
            to.write_all(&buf[..n]).await?;
            to.flush().await
        };
        match tokio::time::timeout(WRITE_TIMEOUT, write).await {
            Ok(Ok(())) => *count += n as u64,
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn relay_ends_with_the_worker_and_counts_bytes() {
        let (client, mut client_far) = tokio::io::duplex(1 << 16);
        let (front, mut worker_far) = UnixStream::pair().unwrap();
        let relayed = tokio::spawn(async move {
            let (mut i, mut o) = (0, 0);
            relay(client, front, &mut i, &mut o).await;
            (i, o)
        });
        client_far.write_all(b"a NOOP\r\n").await.unwrap();
        let mut buf = [0u8; 8];
        worker_far.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"a NOOP\r\n");
        worker_far.write_all(b"* BYE\r\n").await.unwrap();
        drop(worker_far);
        let mut rest = Vec::new();
        client_far.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"* BYE\r\n");
        assert_eq!(relayed.await.unwrap(), (8, 7));
    }
}
