//! The spawner: the only part of a per-user server that keeps the right to
//! switch uids.
//!
//! `courser serve` starts it (`courser session-spawner`) while still root,
//! before reading any client byte, with one end of a `SOCK_SEQPACKET`
//! socket pair as its standard input, and sends it, as the first message,
//! its end of a socket pair to the authentication process
//! ([`crate::authd`]). It never sees client data: each request is one
//! small message carrying a one-time ticket, with the session's socket
//! attached (`SCM_RIGHTS`). The spawner redeems the ticket with the
//! authentication process for the account's uid, gid, login, home and
//! maildir — the front end never names them — checks them against the
//! valid uid and gid ranges ([`ValidIds`]), starts a worker process on
//! the socket and answers with the worker's pid.
//!
//! Requests (one message each, fields separated by `\n`):
//! `spawn\nTICKET` with one descriptor → `ok PID` or `error REASON`;
//! `stop` → every worker gets SIGTERM, answer `ok`. When the front end
//! goes away (end of file) the workers get SIGTERM and the spawner exits.

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::{Child, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags};
use rustix::net::{
    recvmsg, sendmsg, socketpair, AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage,
    RecvFlags, SendAncillaryBuffer, SendAncillaryMessage, SendFlags, SocketFlags, SocketType,
};
use rustix::process::{kill_process, Pid, Signal};

use crate::authd::wire::WorkerAccount;
use crate::Error;

/// Largest request or answer.
const MAX_MESSAGE: usize = 4096;
/// How long the spawner waits for workers after the front end is gone.
const ORPHAN_GRACE: Duration = Duration::from_secs(10);

/// The uids and gids a worker may take on (`[server] first_valid_uid`,
/// `last_valid_uid`, `first_valid_gid`, `last_valid_gid`, Dovecot's
/// names); a last id of 0 means no upper limit. Uid and gid 0 are never
/// served whatever the ranges say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidIds {
    /// Lowest uid served.
    pub first_uid: u32,
    /// Highest uid served (0: no limit).
    pub last_uid: u32,
    /// Lowest gid served.
    pub first_gid: u32,
    /// Highest gid served (0: no limit).
    pub last_gid: u32,
}

impl ValidIds {
    /// The ranges from `[server]`.
    pub fn from_config(server: &crate::config::ServerConfig) -> ValidIds {
        ValidIds {
            first_uid: server.first_valid_uid,
            last_uid: server.last_valid_uid,
            first_gid: server.first_valid_gid,
            last_gid: server.last_valid_gid,
        }
    }

    fn arguments(&self) -> [String; 8] {
        [
            "--first-valid-uid".into(),
            self.first_uid.to_string(),
            "--last-valid-uid".into(),
            self.last_uid.to_string(),
            "--first-valid-gid".into(),
            self.first_gid.to_string(),
            "--last-valid-gid".into(),
            self.last_gid.to_string(),
        ]
    }

    /// The spawner's policy for an account the authentication process
    /// vouched for.
    fn check(&self, a: &WorkerAccount) -> Result<(), String> {
        let outside = |id: u32, first: u32, last: u32| id < first || (last != 0 && id > last);
        if a.uid == 0 {
            return Err("uid 0 is never served".into());
        }
        if a.gid == 0 {
            return Err("gid 0 is never served".into());
        }
        if outside(a.uid, self.first_uid, self.last_uid) {
            return Err(format!(
                "uid {} is outside first_valid_uid..last_valid_uid ({}..{})",
                a.uid, self.first_uid, self.last_uid
            ));
        }
        if outside(a.gid, self.first_gid, self.last_gid) {
            return Err(format!(
                "gid {} is outside first_valid_gid..last_valid_gid ({}..{})",
                a.gid, self.first_gid, self.last_gid
            ));
        }
        if a.login.is_empty() || a.login.contains(['\0', '\n']) {
            return Err("bad login".into());
        }
        for path in [&a.home, &a.maildir] {
            use std::os::unix::ffi::OsStrExt;
            if !path.is_absolute() || path.as_os_str().as_bytes().contains(&0) {
                return Err("home and maildir must be absolute paths".into());
            }
        }
        Ok(())
    }
}

/// A spawn request: its ticket.
fn parse_request(text: &str) -> Result<&str, String> {
    match text.split_once('\n') {
        Some(("spawn", ticket))
            if !ticket.is_empty() && ticket.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Ok(ticket)
        }
        _ => Err("malformed request (a spawn request carries a ticket and nothing else)".into()),
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
    /// `authd` is the spawner's end of its socket pair to the
    /// authentication process; `valid` the ids workers may take on.
    pub fn start(
        metrics: Option<std::os::unix::net::UnixDatagram>,
        authd: UnixStream,
        valid: ValidIds,
    ) -> Result<Spawner, Error> {
        let fail = |e: std::io::Error| Error::Privilege(format!("cannot start the spawner: {e}"));
        let (ours, theirs) = socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )
        .map_err(|e| fail(e.into()))?;
        let mut command = crate::helper_process::command("session-spawner");
        command
            .args(valid.arguments())
            .stdin(Stdio::from(theirs))
            .stdout(metrics.map_or_else(Stdio::null, |m| Stdio::from(OwnedFd::from(m))));
        let process = command.spawn().map_err(fail)?;
        // The first message, sent before any client byte is read: the
        // spawner accepts its authentication channel only from it.
        send(&ours, b"authd", Some(authd.as_fd())).map_err(fail)?;
        drop(authd);
        tracing::info!(pid = process.id(), "per-user session spawner started");
        Ok(Spawner {
            control: Mutex::new(ours),
            process: Mutex::new(process),
        })
    }

    /// Starts a worker process for the account behind `ticket`, serving
    /// `session` (its end of the session's socket pair), and returns its
    /// pid. Blocking: call it from a blocking task.
    pub fn spawn(&self, ticket: &str, session: UnixStream) -> Result<u32, String> {
        let control = self.control.lock().unwrap_or_else(|e| e.into_inner());
        let fd = session.as_fd();
        send(&control, format!("spawn\n{ticket}").as_bytes(), Some(fd))
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
pub fn spawner_main(valid: ValidIds) -> Result<(), String> {
    let control = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| e.to_string())?;
    let authd = match receive(&control).map_err(|e| e.to_string())? {
        (text, Some(fd)) if text == "authd" => UnixStream::from(fd),
        _ => return Err("the first message is not the authentication channel".into()),
    };
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
            (request, Some(session)) => {
                match start_worker(request, session, root, &authd, &valid) {
                    Ok(child) => {
                        let answer = format!("ok {}", child.id());
                        workers.push(child);
                        answer
                    }
                    Err(e) => {
                        tracing::warn!("spawner: refused: {e}");
                        format!("error {e}")
                    }
                }
            }
            (_, None) => "error malformed request".to_owned(),
        };
        if let Err(e) = send(&control, answer.as_bytes(), None) {
            tracing::warn!("spawner: cannot answer: {e}");
        }
    }
}

fn start_worker(
    request: &str,
    session: OwnedFd,
    root: bool,
    authd: &UnixStream,
    valid: &ValidIds,
) -> Result<Child, String> {
    let ticket = parse_request(request)?;
    let account = crate::authd::client::redeem(authd, ticket)?;
    let mut command = crate::helper_process::command("session-worker");
    if root {
        // Ids are applied (and so checked) only as root; an ordinary
        // user's workers all run as that user.
        valid.check(&account)?;
        // The worker switches to these ids itself before it reads
        // anything (std's Command cannot set supplementary groups).
        command
            .arg("--uid")
            .arg(account.uid.to_string())
            .arg("--gid")
            .arg(account.gid.to_string());
    }
    command
        .arg("--user")
        .arg(&account.login)
        .arg("--home")
        .arg(&account.home)
        .arg("--maildir")
        .arg(&account.maildir)
        .arg("--options")
        .arg(&account.options)
        .stdin(Stdio::from(session))
        // The spawner's standard output: the metrics socket, if any.
        .stdout(Stdio::inherit());
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
    fn requests_carry_only_a_ticket() {
        assert_eq!(parse_request("spawn\nab12"), Ok("ab12"));
        for bad in [
            "spawn\n1000\n100\nann\n/home/ann",
            "spawn\n",
            "spawn\nab12\n",
            "spawn ab12",
            "stop",
            "",
        ] {
            assert!(parse_request(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ids_outside_the_ranges_and_root_are_refused() {
        let valid = ValidIds {
            first_uid: 500,
            last_uid: 60000,
            first_gid: 1,
            last_gid: 0,
        };
        let ann = WorkerAccount {
            uid: 1000,
            gid: 100,
            login: "ann".into(),
            home: "/home/ann".into(),
            maildir: "/home/ann/Maildir".into(),
            options: String::new(),
        };
        assert_eq!(valid.check(&ann), Ok(()));
        let with = |f: &dyn Fn(&mut WorkerAccount)| {
            let mut a = ann.clone();
            f(&mut a);
            valid.check(&a)
        };
        assert!(with(&|a| a.uid = 0).is_err());
        assert!(with(&|a| a.gid = 0).is_err());
        assert!(with(&|a| a.uid = 499).is_err());
        assert!(with(&|a| a.uid = 60001).is_err());
        assert!(with(&|a| a.gid = u32::MAX).is_ok(), "no last gid");
        assert!(with(&|a| a.login = "a\nb".into()).is_err());
        assert!(with(&|a| a.maildir = "Maildir".into()).is_err());
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
