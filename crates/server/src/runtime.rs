//! Starting the server: bind every listener, drop root, then accept
//! connections on a tokio runtime until SIGTERM or SIGINT.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use crate::access::{self, AccessRules};
use crate::config::{Config, ListenerConfig, ProcessModel, Protocol};
use crate::courier_log::{self, Event, Program};
use crate::imap::Imap;
use crate::limits::ConnectionLimits;
use crate::limits::Refusal;
use crate::login_pool::LoginPool;
use crate::metrics::{self, ConnectionRefusal};
use crate::peruser::spawner::{Spawner, ValidIds};
use crate::pop3::Pop3;
use crate::shared::Shared;
use crate::stream::Conn;
use crate::watch::Watcher;
use crate::{privilege, proxy_protocol, serve, tls, Error};
use courser_imap::session::OrderCache;
use courser_maildir::dircache::{DirCache, Weighed};
use courser_maildir::SnapshotCache;
use courser_pop3::maildrop::listings::ListingCache;

/// What stays the same for the life of the process.
struct ProcessParts {
    /// The authentication process (ends when this is dropped).
    _authd: crate::authd::AuthProcess,
    /// Its client.
    auth: Arc<crate::authd::AuthClient>,
    watcher: Option<Arc<Watcher>>,
    enforce_uid: Option<u32>,
    limits: Arc<ConnectionLimits>,
    shutdown: watch::Receiver<bool>,
    spawner: Option<Arc<Spawner>>,
    /// Live as long as the process; reloads change their limits.
    scans: SnapshotCache,
    listings: ListingCache,
    orders: OrderCache,
    logins: Arc<LoginPool>,
    /// Which proxy backends are up (proxy mode).
    health: Arc<crate::proxy::health::Health>,
}

impl ProcessParts {
    /// What connections share under `config` (its `access` rules read
    /// already): its settings, and these parts, which live as long as the
    /// process.
    fn shared(
        &self,
        config: Config,
        tls: Option<Arc<rustls::ServerConfig>>,
        access: AccessRules,
    ) -> Result<Shared, Error> {
        let invalid = |message: String| Error::Config {
            path: "[access]/[limits]".into(),
            message,
        };
        let trusted = config.trusted_networks().map_err(invalid)?;
        let trusted_proxies = config.proxy.trusted().map_err(invalid)?;
        let proxy = crate::proxy::Proxy::new(&config.proxy, Arc::clone(&self.health))?;
        self.limits.set_maxima(&config.limits);
        Ok(Shared {
            access,
            trusted,
            tls,
            auth: Arc::clone(&self.auth),
            watcher: self.watcher.clone(),
            hostname: hostname(&config),
            limits: Arc::clone(&self.limits),
            shutdown: self.shutdown.clone(),
            spawner: self.spawner.clone(),
            scans: shared_cache(&self.scans, &config),
            listings: shared_cache(&self.listings, &config),
            orders: shared_cache(&self.orders, &config),
            logins: Arc::clone(&self.logins),
            // A proxy serves accounts of any uid: their mail is elsewhere.
            enforce_uid: if proxy.is_some() {
                None
            } else {
                self.enforce_uid
            },
            proxy: proxy.map(Arc::new),
            trusted_proxies,
            config,
        })
    }
}

/// A cache shared by the process's sessions, with `config`'s budget (none
/// in the per-user model, where a process serves one session).
fn shared_cache<T: Weighed + Clone>(cache: &DirCache<T>, config: &Config) -> Option<DirCache<T>> {
    let budget = match config.server.process_model {
        ProcessModel::Shared => config.maildir.scan_cache_messages,
        ProcessModel::PerUser => 0,
    };
    cache.set_limits(courser_maildir::snapshots::MIN_MESSAGES, budget);
    (budget > 0).then(|| cache.clone())
}

fn bind(address: SocketAddr) -> Result<StdListener, Error> {
    let listener = StdListener::bind(address).map_err(|e| Error::Bind { address, source: e })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::Bind { address, source: e })?;
    Ok(listener)
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

/// Keeps the record of held folder locks under the index directory
/// `base` (local disk), after removing the locks an earlier process of
/// this host left when it died: other nodes over the same maildirs would
/// wait for them (see `courser_maildir::lock_journal`).
fn record_folder_locks(base: &Path) {
    match courser_maildir::lock_journal::start(&base.join("held-locks")) {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            removed = n,
            "removed folder locks an earlier process of this host left"
        ),
        Err(e) => tracing::warn!("no record of held folder locks in {}: {e}", base.display()),
    }
}

/// Runs the server in the foreground until SIGTERM or SIGINT. SIGHUP
/// reloads `config_path` (certificates, limits, authentication and the
/// other settings; listeners stay as bound at start).
pub fn run(config: Config, config_path: Option<PathBuf>) -> Result<(), Error> {
    // Certificates are read before binding anything and before dropping
    // root, so keys readable only by root work at start. (A reload reads
    // them as `run_as`; the configuration file itself the authentication
    // process reads, so it may be readable by root only.)
    let tls = config.tls.as_ref().map(tls::server_config).transpose()?;
    let mut bound = Vec::new();
    for l in &config.listeners {
        bound.push((bind(l.address)?, l.clone()));
    }
    // The authentication process keeps root (if we have it) for the
    // account sources; per-user, the spawner redeems tickets with it over
    // a socket pair of its own.
    let (spawner_authd, authd_spawner) = match config.server.process_model {
        ProcessModel::PerUser => {
            let (a, b) = std::os::unix::net::UnixStream::pair().map_err(Error::Runtime)?;
            (Some(a), Some(b))
        }
        ProcessModel::Shared => (None, None),
    };
    let (authd, auth) =
        crate::authd::AuthProcess::start(&config, config_path.as_deref(), authd_spawner)?;
    // Per-user: the spawner keeps root for switching to accounts. Its
    // workers send their command metrics back over a datagram socket.
    let (spawner, forwarded_metrics) = match (config.server.process_model, spawner_authd) {
        (ProcessModel::PerUser, Some(spawner_authd)) => {
            let (ours, theirs) = match config.metrics {
                Some(_) => {
                    let (ours, theirs) =
                        std::os::unix::net::UnixDatagram::pair().map_err(Error::Runtime)?;
                    (Some(ours), Some(theirs))
                }
                None => (None, None),
            };
            let valid = ValidIds::from_config(&config.server);
            (
                Some(Arc::new(Spawner::start(theirs, spawner_authd, valid)?)),
                ours,
            )
        }
        _ => (None, None),
    };
    // Courier's access file may be readable by root only (Debian's is).
    let access = config.access_rules().map_err(access_error)?.0;
    // Ports are bound: give up root before any client byte is read.
    let enforce_uid = privilege::drop_root(&config)?;
    privilege::raise_open_files_limit();
    if let courser_maildir::IndexPlace::Under(base) = config.maildir.index_place() {
        record_folder_locks(&base);
    }
    let (stop, shutdown) = watch::channel(false);
    let process = ProcessParts {
        _authd: authd,
        auth: Arc::new(auth),
        watcher: Watcher::start(),
        enforce_uid,
        limits: ConnectionLimits::new(&config.limits),
        shutdown,
        spawner,
        scans: SnapshotCache::new(0, 0),
        listings: ListingCache::new(0, 0),
        orders: OrderCache::new(0, 0),
        logins: LoginPool::new(config.auth.login_threads, config.auth.login_queue),
        health: Arc::default(),
    };
    let metrics_config = config.metrics.clone();
    let current = Arc::new(RwLock::new(Arc::new(process.shared(config, tls, access)?)));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("courser")
        .build()
        .map_err(Error::Runtime)?;
    runtime.block_on(async move {
        // The exporter binds its own socket (and needs the runtime).
        if let Some(m) = &metrics_config {
            metrics::serve(m)?;
        }
        if let Some(socket) = forwarded_metrics {
            metrics::replay_forwarded(socket).map_err(Error::Runtime)?;
        }
        for (listener, config) in bound {
            let listener = TcpListener::from_std(listener).map_err(Error::Runtime)?;
            let addr = listener.local_addr().map_err(Error::Runtime)?;
            let proxy = if config.proxy_protocol {
                ", PROXY protocol"
            } else {
                ""
            };
            tracing::info!("listening on {addr} ({}{proxy})", config.protocol);
            tokio::spawn(accept_loop(listener, config, Arc::clone(&current)));
        }
        tokio::spawn(crate::proxy::probe::run(Arc::clone(&current)));
        // Signals are caught before anyone is told we are ready: a SIGHUP
        // right after READY=1 must reload, not kill (the default action).
        let signals = Signals::watch();
        // systemd Type=notify: ready once every listener accepts. Outside
        // systemd NOTIFY_SOCKET is unset and this does nothing.
        if let Err(e) = sd_notify::notify(&[sd_notify::NotifyState::Ready]) {
            tracing::debug!("sd_notify: {e}");
        }
        handle_signals(signals, &current, &process, config_path.as_deref()).await;
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
        tracing::info!("shutting down: telling sessions goodbye");
        let _ = stop.send(true);
        if let Some(spawner) = process.spawner.clone() {
            // Workers say goodbye to their clients themselves.
            let _ = tokio::task::spawn_blocking(move || spawner.stop_workers()).await;
        }
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        while process.limits.total() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tracing::info!("stopped");
        Ok(())
    })
}

/// The signals the server acts on, caught from the moment this exists.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn watch() -> Option<Signals> {
        Some(Signals {
            term: signal(SignalKind::terminate()).ok()?,
            int: signal(SignalKind::interrupt()).ok()?,
            hup: signal(SignalKind::hangup()).ok()?,
        })
    }
}

/// Serves signals until one says stop: SIGHUP reloads, SIGTERM and SIGINT
/// return.
async fn handle_signals(
    signals: Option<Signals>,
    current: &RwLock<Arc<Shared>>,
    process: &ProcessParts,
    config_path: Option<&Path>,
) {
    let Some(Signals {
        mut term,
        mut int,
        mut hup,
    }) = signals
    else {
        tracing::error!("cannot watch signals; stop the server with SIGKILL");
        return std::future::pending().await;
    };
    loop {
        tokio::select! {
            _ = term.recv() => return,
            _ = int.recv() => return,
            _ = hup.recv() => match config_path {
                Some(path) => {
                    let _ = sd_notify::notify(&[sd_notify::NotifyState::Reloading]);
                    reload(current, process, path);
                    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
                }
                None => tracing::info!("SIGHUP: no config file to reload"),
            },
        }
    }
}

fn reload(current: &RwLock<Arc<Shared>>, process: &ProcessParts, path: &Path) {
    let (old_listeners, old_metrics, old_access) = match current.read() {
        Ok(s) => (
            s.config.listeners.clone(),
            s.config.metrics.clone(),
            s.access.clone(),
        ),
        Err(_) => return,
    };
    // The authentication process reads the file (it may be root, and
    // the file readable by root only); it applies it only below, once
    // this process could.
    let auth = Arc::clone(&process.auth);
    let read =
        tokio::task::block_in_place(|| auth.read_config()).map_err(|message| Error::Config {
            path: path.to_owned(),
            message,
        });
    let built = read.and_then(|config| {
        let tls = config.tls.as_ref().map(tls::server_config).transpose()?;
        let access = reloaded_access(&config, &old_access)?;
        process.shared(config, tls, access)
    });
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
            if old_metrics != shared.config.metrics {
                tracing::warn!("SIGHUP: [metrics] changes take effect only after a restart");
            }
            if let Ok(mut slot) = current.write() {
                *slot = Arc::new(shared);
            }
            // It reads the file again itself (it holds the account
            // sources' settings, which this process does not get).
            if let Err(e) = tokio::task::block_in_place(move || auth.reload()) {
                tracing::error!(
                    "SIGHUP: the authentication process keeps its old configuration: {e}"
                );
            }
            tracing::info!("SIGHUP: configuration reloaded from {}", path.display());
        }
        Err(e) => tracing::error!("SIGHUP: keeping the old configuration: {e}"),
    }
}

/// The access rules of a reloaded `config`. Courier's access file may be
/// one only root reads (Debian's is), which this process, no longer root,
/// cannot read again: then the file read before stays, with the new
/// rule list.
fn reloaded_access(config: &Config, old: &AccessRules) -> Result<AccessRules, Error> {
    let file = &config.access.imapaccess;
    let unreadable = !file.as_os_str().is_empty()
        && std::fs::read_dir(file)
            .map(drop)
            .or_else(|_| std::fs::File::open(file).map(drop))
            .is_err_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied);
    if !unreadable {
        return Ok(config.access_rules().map_err(access_error)?.0);
    }
    tracing::warn!(
        file = %file.display(),
        "SIGHUP: this process may not read the access file; the entries read at start stay"
    );
    let rules = AccessRules::parse(&config.access.rules).map_err(access_error)?;
    Ok(match old.imapaccess() {
        Some(entries) => rules.with_imapaccess(entries.clone()),
        None => rules,
    })
}

/// A configuration error in `[access]`.
fn access_error(message: String) -> Error {
    Error::Config {
        path: "[access]".into(),
        message,
    }
}

async fn accept_loop(
    listener: TcpListener,
    config: ListenerConfig,
    current: Arc<RwLock<Arc<Shared>>>,
) {
    // Validated with the config; listeners keep their start settings.
    let proxies: Arc<[ipnet::IpNet]> = config.proxies().unwrap_or_default().into();
    loop {
        let Ok(waiting) = current.read().map(|s| Arc::clone(&s)) else {
            return;
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = waiting.shutting_down() => return,
        };
        // The settings in force now: a reload while we waited counts.
        let Ok(shared) = current.read().map(|s| Arc::clone(&s)) else {
            return;
        };
        match accepted {
            Ok((stream, peer)) => {
                let listener = (config.clone(), Arc::clone(&proxies));
                tokio::spawn(connection(stream, peer, listener, shared));
            }
            Err(e) => {
                // Out of descriptors and similar: back off instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// How long a proxy may take to send its PROXY header.
const PROXY_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads the PROXY protocol header byte-exactly (nothing behind it is
/// consumed) and returns the client address it names.
async fn read_proxy_header(
    stream: &mut TcpStream,
    socket_peer: SocketAddr,
) -> Result<SocketAddr, String> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    loop {
        match proxy_protocol::parse(&buf) {
            proxy_protocol::Parsed::Done(proxy_protocol::Header::Proxied(addr), _) => {
                return Ok(addr)
            }
            proxy_protocol::Parsed::Done(proxy_protocol::Header::Local, _) => {
                return Ok(socket_peer)
            }
            proxy_protocol::Parsed::Invalid(why) => return Err(why.into()),
            proxy_protocol::Parsed::NeedMore(total) => {
                let start = buf.len();
                buf.resize(total, 0);
                stream
                    .read_exact(&mut buf[start..])
                    .await
                    .map_err(|e| format!("reading the PROXY header: {e}"))?;
            }
        }
    }
}

/// One accepted connection: PROXY header (only from `proxies`), access
/// rules, limits, then the protocol.
async fn connection(
    mut stream: TcpStream,
    socket_peer: SocketAddr,
    (listener, proxies): (ListenerConfig, Arc<[ipnet::IpNet]>),
    shared: Arc<Shared>,
) {
    let protocol = listener.protocol;
    let _open = metrics::connection_opened(protocol);
    let peer = if listener.proxy_protocol {
        if !access::in_any(&proxies, socket_peer.ip()) {
            tracing::warn!(proxy = %socket_peer, "connection refused: not in proxy_protocol_from, may not send a PROXY header");
            metrics::connection_refused(protocol, ConnectionRefusal::ProxyHeader);
            return;
        }
        match tokio::time::timeout(
            PROXY_HEADER_TIMEOUT,
            read_proxy_header(&mut stream, socket_peer),
        )
        .await
        {
            Ok(Ok(peer)) => peer,
            Ok(Err(why)) => {
                tracing::warn!(proxy = %socket_peer, "connection refused: {why}");
                metrics::connection_refused(protocol, ConnectionRefusal::ProxyHeader);
                return;
            }
            Err(_) => {
                tracing::warn!(proxy = %socket_peer, "connection refused: no PROXY header in time");
                metrics::connection_refused(protocol, ConnectionRefusal::ProxyHeader);
                return;
            }
        }
    } else {
        socket_peer
    };
    // A dual-stack listener's IPv4 client is an IPv4 client everywhere
    // (access rules, trusted networks, limits, logs).
    let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
    let verdict = shared.access.check(
        peer.ip(),
        protocol.service() == crate::service::Service::Imap,
    );
    if !verdict.allow {
        tracing::warn!(ip = %peer.ip(), "connection refused: access rules deny this address");
        metrics::connection_refused(protocol, ConnectionRefusal::Access);
        refuse(stream, protocol, "Access denied").await;
        return;
    }
    let trusted = access::in_any(&shared.trusted, peer.ip());
    let program = Program::of(protocol.service(), protocol.implicit_tls());
    let slot = match shared
        .limits
        .acquire(peer.ip(), trusted, verdict.max_per_ip)
    {
        Ok(slot) => slot,
        Err(refusal) => {
            tracing::warn!(ip = %peer.ip(), "connection refused: {}", refusal.reason());
            log_courier_refusal(&shared, program, refusal, peer);
            metrics::connection_refused(protocol, ConnectionRefusal::Limit(refusal));
            refuse(stream, protocol, refusal.reason()).await;
            return;
        }
    };
    let mut conn = Conn::accepted(peer, protocol.implicit_tls(), slot);
    conn.local = stream.local_addr().ok();
    courier_log::emit(
        &shared.config.log,
        program,
        &Event::Connection(conn.client()),
    );
    match protocol {
        Protocol::Imap | Protocol::Imaps => serve::accepted::<Imap>(stream, conn, shared).await,
        Protocol::Pop3 | Protocol::Pop3s => serve::accepted::<Pop3>(stream, conn, shared).await,
    }
}

/// Courier's ALERT line for a connection its limits refused: each time
/// for an address's limit, at most once a minute for the server's (as
/// Courier's couriertcpd). Courier has no line for the other limits.
fn log_courier_refusal(shared: &Shared, program: Program, refusal: Refusal, peer: SocketAddr) {
    static LAST_FULL: std::sync::Mutex<Option<std::time::Instant>> = std::sync::Mutex::new(None);
    let event = match refusal {
        Refusal::TooManyFromAddress => Event::AddressLimit(peer.ip()),
        Refusal::ServerFull => {
            let mut last = LAST_FULL
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|t| t.elapsed() < Duration::from_secs(60)) {
                return;
            }
            *last = Some(std::time::Instant::now());
            Event::ServerFull(shared.config.limits.max_connections)
        }
        _ => return,
    };
    courier_log::emit(&shared.config.log, program, &event);
}

/// Tells a refused client why, in its protocol, then closes.
async fn refuse(mut stream: TcpStream, protocol: Protocol, reason: &str) {
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
