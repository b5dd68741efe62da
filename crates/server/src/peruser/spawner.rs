//! The spawner: the only part of a per-user server that keeps the right to
//! switch uids.
//!
//! `courser serve` starts it (`courser session-spawner`) while still root,
//! before reading any client byte, with one end of a `SOCK_SEQPACKET`
//! socket pair as its standard input. It never sees client data: each
//! request is one small message naming the account's ids with the
//! session's socket attached (`SCM_RIGHTS`); the spawner starts a worker
//! process on that socket and answers with the worker's pid.
//!
//! Requests (one message each, fields separated by `\n`):
//! `spawn\nUID\nGID\nLOGIN\nHOME` with one descriptor → `ok PID` or
//! `error REASON`; `stop` → every worker gets SIGTERM, answer `ok`. When
//! the front end goes away (end of file) the workers get SIGTERM and the
//! spawner exits.

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags};
use rustix::net::{
    recvmsg, sendmsg, socketpair, AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage,
    RecvFlags, SendAncillaryBuffer, SendAncillaryMessage, SendFlags, SocketFlags, SocketType,
};
use rustix::process::{kill_process, Pid, Signal};

use crate::Error;

/// Largest request or answer.
const MAX_MESSAGE: usize = 4096;
/// How long the spawner waits for workers after the front end is gone.
const ORPHAN_GRACE: Duration = Duration::from_secs(10);
/// Environment variables passed on to workers (logging settings).
const KEPT_ENV: &[&str] = &["COURSER_LOG", "RUST_BACKTRACE"];

/// The ids a worker process takes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerIds {
    /// The account's uid.
    pub uid: u32,
    /// The account's primary gid.
    pub gid: u32,
    /// The login, for supplementary groups (when it is also a system user
    /// with this uid) and for the process's command line.
    pub login: String,
    /// The home directory the worker starts in.
    pub home: String,
}

impl WorkerIds {
    fn encode(&self) -> String {
        format!(
            "spawn\n{}\n{}\n{}\n{}",
            self.uid, self.gid, self.login, self.home
        )
    }

    fn decode(text: &str) -> Result<WorkerIds, String> {
        let mut fields = text.split('\n');
        let (Some("spawn"), Some(uid), Some(gid), Some(login), Some(home), None) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return Err("malformed request".into());
        };
        let ids = WorkerIds {
            uid: uid.parse().map_err(|_| "bad uid")?,
            gid: gid.parse().map_err(|_| "bad gid")?,
            login: login.to_owned(),
            home: home.to_owned(),
        };
        ids.check()?;
        Ok(ids)
    }

    /// The spawner's policy, whatever the front end asks: no session ever
    /// runs as root or with root's group.
    fn check(&self) -> Result<(), String> {
        if self.uid == 0 {
            return Err("uid 0 is never served".into());
        }
        if self.gid == 0 {
            return Err("gid 0 is never served".into());
        }
        if self.login.is_empty() || self.login.contains('\0') {
            return Err("bad login".into());
        }
        if !self.home.starts_with('/') || self.home.contains('\0') {
            return Err("home must be an absolute path".into());
        }
        Ok(())
    }
}

/// The front end's handle on the spawner process.
#[derive(Debug)]
pub struct Spawner {
    control: Mutex<OwnedFd>,
    process: Mutex<Child>,
}

impl Spawner {
    /// Starts `courser session-spawner` (this executable). Called as root
    /// before root is dropped; when not root, workers run as the invoking
    /// user. Workers get `metrics` as their standard output, to forward
    /// their command metrics (see [`crate::metrics::forward_to`]).
    pub fn start(metrics: Option<std::os::unix::net::UnixDatagram>) -> Result<Spawner, Error> {
        let fail = |e: std::io::Error| Error::Privilege(format!("cannot start the spawner: {e}"));
        let (ours, theirs) = socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )
        .map_err(|e| fail(e.into()))?;
        let mut command = Command::new(own_executable());
        command
            .arg("session-spawner")
            .stdin(Stdio::from(theirs))
            .stdout(metrics.map_or_else(Stdio::null, |m| Stdio::from(OwnedFd::from(m))))
            .stderr(Stdio::inherit())
            .current_dir("/");
        keep_only_log_env(&mut command);
        let process = command.spawn().map_err(fail)?;
        tracing::info!(pid = process.id(), "per-user session spawner started");
        Ok(Spawner {
            control: Mutex::new(ours),
            process: Mutex::new(process),
        })
    }

    /// Starts a worker process with `ids` serving `session` (its end of
    /// the session's socket pair) and returns its pid. Blocking: call it
    /// from a blocking task.
    pub fn spawn(&self, ids: &WorkerIds, session: UnixStream) -> Result<u32, String> {
        ids.check()?;
        let control = self.control.lock().unwrap_or_else(|e| e.into_inner());
        let fd = session.as_fd();
        send(&control, ids.encode().as_bytes(), Some(fd))
            .map_err(|e| format!("spawner unreachable: {e}"))?;
        drop(session);
        let answer = receive(&control)
            .map_err(|e| format!("spawner unreachable: {e}"))?
            .0;
        match answer.strip_prefix("ok ") {
            Some(pid) => pid.parse().map_err(|_| format!("spawner said {answer}")),
            None => Err(answer.strip_prefix("error ").unwrap_or(&answer).to_owned()),
        }
    }

    /// Asks every worker to finish (SIGTERM: they say goodbye to their
    /// clients).
    pub fn stop_workers(&self) {
        let control = self.control.lock().unwrap_or_else(|e| e.into_inner());
        if send(&control, b"stop", None).is_ok() {
            let _ = receive(&control);
        }
    }
}

impl Drop for Spawner {
    fn drop(&mut self) {
        // Closing the control socket tells the spawner to finish; reap it
        // so it does not linger as a zombie.
        if let Ok(child) = self.process.get_mut() {
            if let Ok(control) = self.control.get_mut() {
                let _ = rustix::net::shutdown(&*control, rustix::net::Shutdown::Both);
            }
            let _ = child.wait();
        }
    }
}

/// The executable to start again for helpers: the running binary itself,
/// even if the file was replaced by an upgrade since (front end, spawner
/// and workers must agree on the hand-over format).
fn own_executable() -> &'static Path {
    Path::new("/proc/self/exe")
}

fn keep_only_log_env(command: &mut Command) {
    command.env_clear();
    command.env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    for name in KEPT_ENV {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
}

fn send(
    socket: &OwnedFd,
    data: &[u8],
    fd: Option<std::os::fd::BorrowedFd<'_>>,
) -> std::io::Result<()> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    let fds;
    if let Some(fd) = fd {
        fds = [fd];
        control.push(SendAncillaryMessage::ScmRights(&fds));
    }
    sendmsg(
        socket,
        &[IoSlice::new(data)],
        &mut control,
        SendFlags::NOSIGNAL,
    )?;
    Ok(())
}

/// One message and the descriptor sent with it. An empty text with no
/// descriptor is end of file.
fn receive(socket: &OwnedFd) -> std::io::Result<(String, Option<OwnedFd>)> {
    let mut data = vec![0u8; MAX_MESSAGE];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let got = recvmsg(
        socket,
        &mut [IoSliceMut::new(&mut data)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )?;
    let mut fd = None;
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = message {
            // More than one descriptor is a broken request: the extras
            // are closed when dropped.
            for received in fds {
                fd.get_or_insert(received);
            }
        }
    }
    data.truncate(got.bytes.min(MAX_MESSAGE));
    Ok((String::from_utf8_lossy(&data).into_owned(), fd))
}

/// `courser session-spawner`: serves the front end's requests on standard
/// input until it closes.
pub fn spawner_main() -> Result<(), String> {
    let control = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| e.to_string())?;
    let root = rustix::process::geteuid().is_root();
    let mut workers: Vec<Child> = Vec::new();
    loop {
        workers.retain_mut(|w| matches!(w.try_wait(), Ok(None)));
        let mut fds = [PollFd::new(&control, PollFlags::IN)];
        let second = rustix::event::Timespec {
            tv_sec: 1,
            tv_nsec: 0,
        };
        match poll(&mut fds, Some(&second)) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(format!("poll: {e}")),
        }
        let (text, fd) = match receive(&control) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("control socket: {e}")),
        };
        let answer = match (text.as_str(), fd) {
            ("", None) => {
                finish(&mut workers);
                return Ok(());
            }
            ("stop", _) => {
                signal_all(&workers, Signal::TERM);
                "ok".to_owned()
            }
            (request, Some(session)) => match start_worker(request, session, root) {
                Ok(child) => {
                    let answer = format!("ok {}", child.id());
                    workers.push(child);
                    answer
                }
                Err(e) => {
                    tracing::warn!("spawner: refused: {e}");
                    format!("error {e}")
                }
            },
            (_, None) => "error malformed request".to_owned(),
        };
        if let Err(e) = send(&control, answer.as_bytes(), None) {
            tracing::warn!("spawner: cannot answer: {e}");
        }
    }
}

fn start_worker(request: &str, session: OwnedFd, root: bool) -> Result<Child, String> {
    let ids = WorkerIds::decode(request)?;
    let mut command = Command::new(own_executable());
    command.arg("session-worker");
    if root {
        // The worker switches to these ids itself before it reads
        // anything (std's Command cannot set supplementary groups).
        command
            .arg("--uid")
            .arg(ids.uid.to_string())
            .arg("--gid")
            .arg(ids.gid.to_string());
    }
    command
        .arg("--user")
        .arg(&ids.login)
        .arg("--home")
        .arg(&ids.home)
        .stdin(Stdio::from(session))
        // The spawner's standard output: the metrics socket, if any.
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .current_dir("/");
    keep_only_log_env(&mut command);
    command
        .spawn()
        .map_err(|e| format!("cannot start a worker: {e}"))
}

fn signal_all(workers: &[Child], signal: Signal) {
    for w in workers {
        if let Some(pid) = i32::try_from(w.id()).ok().and_then(Pid::from_raw) {
            let _ = kill_process(pid, signal);
        }
    }
}

/// The front end is gone: ask the workers to finish, wait a while, then
/// leave the rest (their sockets are closed, so they end soon anyway).
fn finish(workers: &mut Vec<Child>) {
    signal_all(workers, Signal::TERM);
    let deadline = Instant::now() + ORPHAN_GRACE;
    while !workers.is_empty() && Instant::now() < deadline {
        workers.retain_mut(|w| matches!(w.try_wait(), Ok(None)));
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_root_is_refused() {
        let ids = WorkerIds {
            uid: 1000,
            gid: 100,
            login: "ann@example.com".into(),
            home: "/home/ann".into(),
        };
        assert_eq!(WorkerIds::decode(&ids.encode()), Ok(ids.clone()));
        for bad in [
            "spawn\n0\n100\nann\n/home/ann",
            "spawn\n1000\n0\nann\n/home/ann",
            "spawn\n1000\n100\n\n/home/ann",
            "spawn\n1000\n100\nann\nrelative",
            "spawn\n1000\n100\nann\n/home/ann\nextra",
            "spawn\n-1\n100\nann\n/home/ann",
            "stop",
        ] {
            assert!(WorkerIds::decode(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn descriptors_travel_with_messages() {
        let (a, b) = socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )
        .unwrap();
        let (mut left, right) = UnixStream::pair().unwrap();
        send(&a, b"hello", Some(right.as_fd())).unwrap();
        drop(right);
        let (text, fd) = receive(&b).unwrap();
        assert_eq!(text, "hello");
        let mut received = UnixStream::from(fd.expect("a descriptor"));
        use std::io::{Read, Write};
        left.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        received.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
        drop(a);
        assert_eq!(receive(&b).unwrap().0, "");
    }
}
