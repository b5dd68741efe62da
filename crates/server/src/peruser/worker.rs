//! The worker process (`courser session-worker`): becomes the account,
//! takes the [`super::handoff`] record from the front end and serves the
//! session it describes.

use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UnixStream;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use super::handoff::{Handoff, RECORD_TIMEOUT};
use crate::config::Config;
use crate::imap::Imap;
use crate::pop3::Pop3;
use crate::serve::handed_over;
use crate::service::Service;
use crate::shared::Shared;

/// What `courser session-worker` is told on its command line by the
/// spawner.
#[derive(Debug, Clone)]
pub struct WorkerArgs {
    /// Switch to this uid (only when started as root).
    pub uid: Option<u32>,
    /// Switch to this gid (with `uid`).
    pub gid: Option<u32>,
    /// The account's login.
    pub user: String,
    /// The account's home directory (the working directory).
    pub home: PathBuf,
    /// The account's maildir.
    pub maildir: PathBuf,
    /// The account's authlib options (ACL groups, `disableshared`).
    pub options: String,
}

/// `courser session-worker`: becomes the account, reads the hand-over
/// record from the session socket on standard input, and serves the
/// session.
pub fn worker_main(args: WorkerArgs) -> Result<(), String> {
    match (args.uid, args.gid) {
        (Some(uid), Some(gid)) => {
            crate::privilege::become_account(&args.user, uid, gid).map_err(|e| e.to_string())?
        }
        (None, None) => {}
        _ => return Err("--uid and --gid go together".into()),
    }
    if rustix::process::geteuid().is_root() {
        return Err("a session never runs as root".into());
    }
    if std::env::set_current_dir(&args.home).is_err() {
        let _ = std::env::set_current_dir("/");
    }
    let socket = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| format!("standard input: {e}"))?;
    let socket = std::os::unix::net::UnixStream::from(socket);
    forward_metrics_if_asked();
    socket
        .set_nonblocking(true)
        .map_err(|e| format!("session socket: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        // Store work runs in block_in_place, which needs the
        // multi-threaded runtime; one session needs one worker thread.
        .worker_threads(1)
        .enable_all()
        .thread_name("courser-session")
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    runtime.block_on(async move {
        let mut stream =
            UnixStream::from_std(socket).map_err(|e| format!("session socket: {e}"))?;
        let record = tokio::time::timeout(RECORD_TIMEOUT, Handoff::read_from(&mut stream))
            .await
            .map_err(|_| "no hand-over record in time".to_owned())?
            .map_err(|e| e.to_string())?;
        if record.login != args.user {
            return Err(format!(
                "hand-over for {} reached the worker of {}",
                record.login, args.user
            ));
        }
        let connected = Instant::now()
            .checked_sub(Duration::from_millis(record.connected_ms))
            .unwrap_or_else(Instant::now);
        let shared = Arc::new(shared_for(&record));
        match record.service {
            Service::Imap => {
                let (maildir, options) = (args.maildir, args.options);
                handed_over::<Imap>(stream, record, maildir, options, connected, shared).await
            }
            Service::Pop3 => {
                let (maildir, options) = (args.maildir, args.options);
                handed_over::<Pop3>(stream, record, maildir, options, connected, shared).await
            }
        }
        Ok(())
    })
}

/// A socket as standard output is the front end's metrics socket.
fn forward_metrics_if_asked() {
    let stdout = std::io::stdout();
    let is_socket = rustix::fs::fstat(&stdout).is_ok_and(|st| {
        rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Socket
    });
    if is_socket {
        if let Ok(fd) = stdout.as_fd().try_clone_to_owned() {
            crate::metrics::forward_to(std::os::unix::net::UnixDatagram::from(fd));
        }
    }
}

/// What the worker needs to serve the session in `record`: its protocol
/// settings and a shutdown signal fired by SIGTERM. Call inside the tokio
/// runtime.
fn shared_for(record: &Handoff) -> Shared {
    let config = Config {
        imap: record.imap.clone(),
        pop3: record.pop3.clone(),
        maildir: record.maildir_settings.clone(),
        log: record.log.clone(),
        ..Config::default()
    };
    let (stop, shutdown) = watch::channel(false);
    tokio::spawn(async move {
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            term.recv().await;
            let _ = stop.send(true);
        }
    });
    Shared::standalone(config, record.hostname.clone(), shutdown)
}
