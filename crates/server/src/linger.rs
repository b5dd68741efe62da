//! A logged-in session keeps its blocking thread for a moment after an
//! answer, and reads the client's next command there.
//!
//! A logged-in command runs on a blocking thread (off the executor).
//! Going back to the executor after every answer costs two thread
//! switches per command (the executor wakes for the socket, then hands
//! the session to a blocking thread again), and on a busy machine each
//! switch waits its turn for a core. Most clients send their next command
//! as soon as an answer arrives, so the thread that answered waits a few
//! milliseconds for it on the socket itself, as a process-per-connection
//! server's process would, and gives the session back only when the
//! client is quiet. The number of sessions waiting like this is bounded:
//! each holds a thread of the blocking pool.

use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::net::{TcpStream, UnixStream};

/// How long a thread that answered waits for the client's next command.
pub(crate) const LINGER: Duration = Duration::from_millis(5);

/// Sessions waiting on their threads at once, at most.
const MAX_LINGERING: usize = 64;

/// Commands a session answers on one visit to a blocking thread before it
/// goes back to the executor, which also watches for shutdown.
pub(crate) const MAX_ROUNDS: usize = 64;

static LINGERING: AtomicUsize = AtomicUsize::new(0);

/// A connection a blocking thread can read from directly.
pub trait ReadDirect {
    /// Waits up to `wait` for bytes from the client and reads them into
    /// `buf`, bypassing the executor. `None` when nothing came in time,
    /// the connection ended or failed (the executor's next read finds
    /// out), or this kind of connection cannot be read this way.
    fn read_within(&mut self, buf: &mut [u8], wait: Duration) -> Option<usize> {
        let _ = (buf, wait);
        None
    }
}

/// A place among the sessions allowed to linger; `None` when all are
/// taken.
pub(crate) struct Lingering(());

impl Lingering {
    pub(crate) fn take() -> Option<Lingering> {
        LINGERING
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_LINGERING).then_some(n + 1)
            })
            .ok()
            .map(|_| Lingering(()))
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        LINGERING.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Waits until `fd` is readable or `deadline` passes; true when readable
/// (or hung up: the read then says how).
fn readable_by(fd: BorrowedFd<'_>, deadline: Instant) -> bool {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let timeout = Timespec {
            tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        match poll(&mut fds, Some(&timeout)) {
            Ok(0) => return false,
            Ok(_) => return true,
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return false,
        }
    }
}

/// Reads what the socket holds now, without waiting.
fn recv_now(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    use rustix::net::{recv, RecvFlags};
    match recv(fd, buf, RecvFlags::DONTWAIT) {
        Ok((n, _)) => Ok(n),
        Err(e) => Err(e.into()),
    }
}

/// A plain socket: poll, then read.
fn read_socket(fd: BorrowedFd<'_>, buf: &mut [u8], wait: Duration) -> Option<usize> {
    if !readable_by(fd, Instant::now() + wait) {
        return None;
    }
    match recv_now(fd, buf) {
        Ok(n) if n > 0 => Some(n),
        _ => None,
    }
}

impl ReadDirect for TcpStream {
    fn read_within(&mut self, buf: &mut [u8], wait: Duration) -> Option<usize> {
        read_socket(self.as_fd(), buf, wait)
    }
}

impl ReadDirect for UnixStream {
    fn read_within(&mut self, buf: &mut [u8], wait: Duration) -> Option<usize> {
        read_socket(self.as_fd(), buf, wait)
    }
}

/// The socket as [`rustls`] reads records from it.
struct Socket<'a>(BorrowedFd<'a>);

impl Read for Socket<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        recv_now(self.0, buf)
    }
}

impl ReadDirect for tokio_rustls::server::TlsStream<TcpStream> {
    fn read_within(&mut self, buf: &mut [u8], wait: Duration) -> Option<usize> {
        let deadline = Instant::now() + wait;
        let (socket, tls) = self.get_mut();
        loop {
            match tls.reader().read(buf) {
                Ok(n) if n > 0 => return Some(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The client closed the session, or it broke.
                _ => return None,
            }
            // Records read but not yet whole stay in `tls` for the
            // executor's next read.
            if !readable_by(socket.as_fd(), deadline) {
                return None;
            }
            match tls.read_tls(&mut Socket(socket.as_fd())) {
                Ok(n) if n > 0 => {}
                _ => return None,
            }
            if tls.process_new_packets().is_err() {
                return None;
            }
        }
    }
}

impl ReadDirect for tokio::io::Join<tokio::io::Stdin, tokio::io::Stdout> {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use tokio::io::AsyncReadExt;

    #[test]
    fn places_are_bounded_and_given_back() {
        let held: Vec<_> = std::iter::from_fn(Lingering::take).take(1000).collect();
        assert!(held.len() <= MAX_LINGERING);
        drop(held);
        assert!(Lingering::take().is_some());
    }

    /// A TLS server stream and a client speaking raw rustls over a
    /// blocking socket, so that the test controls which bytes are sent.
    async fn tls_pair() -> (
        tokio_rustls::server::TlsStream<TcpStream>,
        rustls::ClientConnection,
        std::net::TcpStream,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        crate::tls::write_self_signed(&cert, &key, &["localhost"]).unwrap();
        let server = crate::tls::server_config(&crate::config::TlsConfig {
            certificate: cert.clone(),
            private_key: key,
            min_version: crate::config::TlsVersion::Tls12,
            sni: Vec::new(),
            client_ca: None,
            client_identity: Default::default(),
        })
        .unwrap();
        let client = crate::proxy::backend::client_tls(&cert, true).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let dialer = std::thread::spawn(move || {
            let name = "localhost".try_into().unwrap();
            let mut tls = rustls::ClientConnection::new(client, name).unwrap();
            let mut socket = std::net::TcpStream::connect(addr).unwrap();
            while tls.is_handshaking() {
                tls.complete_io(&mut socket).unwrap();
            }
            (tls, socket)
        });
        let (socket, _) = listener.accept().await.unwrap();
        let stream = tokio_rustls::TlsAcceptor::from(server)
            .accept(socket)
            .await
            .unwrap();
        let (tls, socket) = tokio::task::spawn_blocking(move || dialer.join().unwrap())
            .await
            .unwrap();
        (stream, tls, socket)
    }

    /// `read_within` on a blocking thread, as a lingering session calls
    /// it: the stream back, and what was read.
    async fn read_on_thread<S: ReadDirect + Send + 'static>(
        mut stream: S,
        wait: Duration,
    ) -> (S, Option<Vec<u8>>) {
        tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; 64];
            let n = stream.read_within(&mut buf, wait);
            (stream, n.map(|n| buf[..n].to_vec()))
        })
        .await
        .unwrap()
    }

    /// Encrypts `plain` as the client would send it.
    fn sealed(tls: &mut rustls::ClientConnection, plain: &[u8]) -> Vec<u8> {
        tls.writer().write_all(plain).unwrap();
        let mut wire = Vec::new();
        while tls.wants_write() {
            tls.write_tls(&mut wire).unwrap();
        }
        wire
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tls_read_directly_and_by_the_executor_stay_in_step() {
        let (stream, mut client, mut socket) = tls_pair().await;
        // A whole record is read on a blocking thread.
        socket
            .write_all(&sealed(&mut client, b"a1 NOOP\r\n"))
            .unwrap();
        let (stream, read) = read_on_thread(stream, Duration::from_secs(5)).await;
        assert_eq!(read.as_deref(), Some(&b"a1 NOOP\r\n"[..]));
        // Half a record: nothing yet on the blocking thread, and the rest
        // then arrives through the executor's reader intact.
        let wire = sealed(&mut client, b"a2 CHECK\r\n");
        let (head, tail) = wire.split_at(wire.len() / 2);
        socket.write_all(head).unwrap();
        let (mut stream, read) = read_on_thread(stream, Duration::from_millis(200)).await;
        assert_eq!(read, None);
        socket.write_all(tail).unwrap();
        let mut buf = vec![0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], b"a2 CHECK\r\n");
        // The client's close is left for the executor to see.
        client.send_close_notify();
        socket.write_all(&sealed(&mut client, b"")).unwrap();
        let (mut stream, read) = read_on_thread(stream, Duration::from_secs(5)).await;
        assert_eq!(read, None);
        assert_eq!(stream.read(&mut buf).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_quiet_socket_is_given_back_after_the_wait() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(
            server.read_within(&mut buf, Duration::from_millis(20)),
            None
        );
        client.write_all(b"x1 NOOP\r\n").unwrap();
        assert_eq!(
            server.read_within(&mut buf, Duration::from_secs(5)),
            Some(9)
        );
        assert_eq!(&buf[..9], b"x1 NOOP\r\n");
    }
}
