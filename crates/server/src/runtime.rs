//! Starting the server: bind every listener, drop root, then accept
//! connections on a tokio runtime until SIGTERM or SIGINT.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::Arc;

use courser_auth::userdb::UserdbBackend;
use courser_auth::Authenticator;
use tokio::net::TcpListener;

use crate::config::{Config, Protocol};
use crate::limits::ConnectionLimits;
use crate::watch::Watcher;
use crate::{privilege, tls, Error};

/// What every connection shares.
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
    /// Connection counters.
    pub limits: Arc<ConnectionLimits>,
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

/// Runs the server in the foreground until it is told to stop.
pub fn run(config: Config) -> Result<(), Error> {
    let tls = config.tls.as_ref().map(tls::server_config).transpose()?;
    let mut bound = Vec::new();
    for l in &config.listeners {
        bound.push((bind(l.address)?, l.protocol));
    }
    // Ports are bound: give up root before any client byte is read.
    let enforce_uid = privilege::drop_root(&config)?;
    privilege::raise_open_files_limit();
    let shared = Arc::new(Shared {
        tls,
        auth: Arc::new(authenticator(&config)),
        watcher: Watcher::start(),
        hostname: hostname(&config),
        enforce_uid,
        limits: ConnectionLimits::new(
            config.limits.max_connections,
            config.limits.max_connections_per_ip,
        ),
        config,
    });
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
            tokio::spawn(accept_loop(listener, protocol, Arc::clone(&shared)));
        }
        wait_for_shutdown().await;
        tracing::info!("shutting down");
        Ok(())
    })
}

async fn wait_for_shutdown() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot watch SIGTERM: {e}");
            return std::future::pending().await;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

async fn accept_loop(listener: TcpListener, protocol: Protocol, shared: Arc<Shared>) {
    loop {
        let (stream, peer) = match listener.accept().await {
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
        let shared = Arc::clone(&shared);
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
