//! Starting the server: bind every listener, drop root, then accept
//! connections on a tokio runtime until SIGTERM or SIGINT.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use courser_auth::userdb::UserdbBackend;
use courser_auth::Authenticator;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use crate::config::{Config, Protocol};
use crate::limits::ConnectionLimits;
use crate::watch::Watcher;
use crate::{privilege, tls, Error};

/// What every connection shares. A SIGHUP builds a new one from the
/// reloaded config; sessions keep the one they started with, new
/// connections get the new one.
pub struct Shared {
    /// The configuration.
    pub config: Config,
    /// TLS settings, when configured.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Account lookup and password checks.
    pub auth: Arc<Authenticator>,
    /// The process's inotify watcher, if inotify works here.
    pub watcher: Option<Arc<Watcher>>,
    /// Host name for greetings and file names.
    pub hostname: String,
    /// In shared mode after dropping root: the only account uid served.
    pub enforce_uid: Option<u32>,
    /// Connection counters (kept across reloads).
    pub limits: Arc<ConnectionLimits>,
    /// Becomes `true` when the server shuts down.
    pub shutdown: watch::Receiver<bool>,
}

impl Shared {
    /// Settings from `config`; the rest is carried over from `previous`
    /// parts that live as long as the process.
    fn build(config: Config, process: &ProcessParts) -> Result<Shared, Error> {
        let tls = config.tls.as_ref().map(tls::server_config).transpose()?;
        process.limits.set_maxima(
            config.limits.max_connections,
            config.limits.max_connections_per_ip,
        );
        Ok(Shared {
            tls,
            auth: Arc::new(authenticator(&config)),
            watcher: process.watcher.clone(),
            hostname: hostname(&config),
            enforce_uid: process.enforce_uid,
            limits: Arc::clone(&process.limits),
            shutdown: process.shutdown.clone(),
            config,
        })
    }

    /// Resolves once the server starts shutting down.
    pub async fn shutting_down(&self) {
        let mut rx = self.shutdown.clone();
        // An error means the sender is gone: the process is ending anyway.
        let _ = rx.wait_for(|down| *down).await;
    }
}

/// What stays the same for the life of the process.
struct ProcessParts {
    watcher: Option<Arc<Watcher>>,
    enforce_uid: Option<u32>,
    limits: Arc<ConnectionLimits>,
    shutdown: watch::Receiver<bool>,
}

fn bind(address: SocketAddr) -> Result<StdListener, Error> {
    let listener = StdListener::bind(address).map_err(|e| Error::Bind { address, source: e })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::Bind { address, source: e })?;
    Ok(listener)
}

fn authenticator(config: &Config) -> Authenticator {
    let mut auth = Authenticator::new();
    if let Some(userdb) = &config.auth.userdb {
        auth = auth.with_backend(UserdbBackend::new(userdb.clone()));
    }
    auth
}

fn hostname(config: &Config) -> String {
    config.server.hostname.clone().unwrap_or_else(|| {
        rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned()
    })
}

/// How long a graceful shutdown waits for sessions to say goodbye.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Runs the server in the foreground until SIGTERM or SIGINT. SIGHUP
/// reloads `config_path` (certificates, limits, authentication and the
/// other settings; listeners stay as bound at start).
pub fn run(config: Config, config_path: Option<PathBuf>) -> Result<(), Error> {
    // Check certificates before binding anything.
    config.tls.as_ref().map(tls::server_config).transpose()?;
    let mut bound = Vec::new();
    for l in &config.listeners {
        bound.push((bind(l.address)?, l.protocol));
    }
    // Ports are bound: give up root before any client byte is read.
    let enforce_uid = privilege::drop_root(&config)?;
    privilege::raise_open_files_limit();
    let (stop, shutdown) = watch::channel(false);
    let process = ProcessParts {
        watcher: Watcher::start(),
        enforce_uid,
        limits: ConnectionLimits::new(
            config.limits.max_connections,
            config.limits.max_connections_per_ip,
        ),
        shutdown,
    };
    let current = Arc::new(RwLock::new(Arc::new(Shared::build(config, &process)?)));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("courser")
        .build()
        .map_err(Error::Runtime)?;
    runtime.block_on(async move {
        for (listener, protocol) in bound {
            let listener = TcpListener::from_std(listener).map_err(Error::Runtime)?;
            let addr = listener.local_addr().map_err(Error::Runtime)?;
            tracing::info!("listening on {addr} ({protocol})");
            tokio::spawn(accept_loop(listener, protocol, Arc::clone(&current)));
        }
        handle_signals(&current, &process, config_path.as_deref()).await;
        tracing::info!("shutting down: telling sessions goodbye");
        let _ = stop.send(true);
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        while process.limits.total() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tracing::info!("stopped");
        Ok(())
    })
}

/// Serves signals until one says stop: SIGHUP reloads, SIGTERM and SIGINT
/// return.
async fn handle_signals(
    current: &RwLock<Arc<Shared>>,
    process: &ProcessParts,
    config_path: Option<&Path>,
) {
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot watch signals; stop the server with SIGKILL");
        return std::future::pending().await;
    };
    loop {
        tokio::select! {
            _ = term.recv() => return,
            _ = tokio::signal::ctrl_c() => return,
            _ = hup.recv() => match config_path {
                Some(path) => reload(current, process, path),
                None => tracing::info!("SIGHUP: no config file to reload"),
            },
        }
    }
}

fn reload(current: &RwLock<Arc<Shared>>, process: &ProcessParts, path: &Path) {
    let old_listeners = match current.read() {
        Ok(s) => s.config.listeners.clone(),
        Err(_) => return,
    };
    let built = Config::load(path).and_then(|config| Shared::build(config, process));
    match built {
        Ok(shared) => {
            let moved = old_listeners.len() != shared.config.listeners.len()
                || old_listeners
                    .iter()
                    .zip(&shared.config.listeners)
                    .any(|(a, b)| a.address != b.address || a.protocol != b.protocol);
            if moved {
                tracing::warn!("SIGHUP: listener changes take effect only after a restart");
            }
            if let Ok(mut slot) = current.write() {
                *slot = Arc::new(shared);
            }
            tracing::info!("SIGHUP: configuration reloaded from {}", path.display());
        }
        Err(e) => tracing::error!("SIGHUP: keeping the old configuration: {e}"),
    }
}

async fn accept_loop(listener: TcpListener, protocol: Protocol, current: Arc<RwLock<Arc<Shared>>>) {
    loop {
        let Ok(shared) = current.read().map(|s| Arc::clone(&s)) else {
            return;
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shared.shutting_down() => return,
        };
        let (stream, peer) = match accepted {
            Ok(c) => c,
            Err(e) => {
                // Out of descriptors and similar: back off instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let slot = match shared.limits.acquire(peer.ip()) {
            Ok(slot) => slot,
            Err(refusal) => {
                tracing::warn!(ip = %peer.ip(), "connection refused: {}", refusal.reason());
                tokio::spawn(refuse(stream, protocol, refusal.reason()));
                continue;
            }
        };
        tokio::spawn(async move {
            let _slot = slot;
            match protocol {
                Protocol::Imap => crate::imap::serve(stream, peer, shared, false).await,
                Protocol::Imaps => crate::imap::serve(stream, peer, shared, true).await,
                Protocol::Pop3 | Protocol::Pop3s => {}
            }
        });
    }
}

/// Tells a refused client why, in its protocol, then closes.
async fn refuse(mut stream: tokio::net::TcpStream, protocol: Protocol, reason: &str) {
    use tokio::io::AsyncWriteExt;
    // Over implicit TLS nothing readable can be sent before a handshake;
    // closing is the answer there.
    let line = match protocol {
        Protocol::Imap => format!("* BYE [UNAVAILABLE] {reason}\r\n"),
        Protocol::Pop3 => format!("-ERR [SYS/TEMP] {reason}\r\n"),
        Protocol::Imaps | Protocol::Pop3s => return,
    };
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.write_all(line.as_bytes()),
    )
    .await;
}
