//! What every connection of a server process shares: the settings in
//! force, and the process-wide parts (authentication client, limits,
//! watcher, spawner, login threads) its sessions use.

use std::sync::Arc;

use tokio::sync::watch;

use courser_imap::session::OrderCache;
use courser_maildir::SnapshotCache;
use courser_pop3::maildrop::listings::ListingCache;

use crate::access::AccessRules;
use crate::authd::AuthClient;
use crate::config::Config;
use crate::limits::ConnectionLimits;
use crate::login_pool::LoginPool;
use crate::peruser::spawner::Spawner;
use crate::watch::Watcher;

/// What every connection shares. A SIGHUP builds a new one from the
/// reloaded config; sessions keep the one they started with, new
/// connections get the new one.
pub struct Shared {
    /// The configuration.
    pub config: Config,
    /// TLS settings, when configured.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Password checks and account lookups: the authentication process.
    pub auth: Arc<AuthClient>,
    /// The process's inotify watcher, if inotify works here.
    pub watcher: Option<Arc<Watcher>>,
    /// Host name for greetings and file names.
    pub hostname: String,
    /// In shared mode after dropping root: the only account uid served.
    pub enforce_uid: Option<u32>,
    /// Connection counters (kept across reloads).
    pub limits: Arc<ConnectionLimits>,
    /// Who may connect.
    pub access: AccessRules,
    /// Networks exempt from per-address limits.
    pub trusted: Vec<ipnet::IpNet>,
    /// Becomes `true` when the server shuts down.
    pub shutdown: watch::Receiver<bool>,
    /// Per-user model: starts the worker processes sessions move to after
    /// login.
    pub spawner: Option<Arc<Spawner>>,
    /// Folder scans shared by the process's sessions (shared model).
    pub scans: Option<SnapshotCache>,
    /// POP3 maildrop listings shared by the process's logins (shared
    /// model).
    pub listings: Option<ListingCache>,
    /// SORT orders and THREAD forests of big folders shared by the
    /// process's sessions (shared model).
    pub orders: Option<OrderCache>,
    /// The threads that check credentials (kept across reloads).
    pub logins: Arc<LoginPool>,
    /// Proxy mode: logins are relayed to backends.
    pub proxy: Option<Arc<crate::proxy::Proxy>>,
    /// Proxies whose IMAP ID fields name the real client
    /// (`[proxy] trusted_proxies`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Shared {
    /// For a process serving one session that is already logged in (a
    /// per-user worker, `courser imapd`): its own inotify watcher, and
    /// nothing to authenticate with.
    pub fn standalone(config: Config, hostname: String, shutdown: watch::Receiver<bool>) -> Shared {
        // Nothing logs in here: the pool never starts a thread.
        let logins = LoginPool::new(1, 1);
        Shared {
            tls: None,
            auth: Arc::new(AuthClient::disconnected()),
            watcher: Watcher::start(),
            hostname,
            enforce_uid: None,
            limits: ConnectionLimits::new(&config.limits),
            access: AccessRules::default(),
            trusted: Vec::new(),
            shutdown,
            spawner: None,
            scans: None,
            listings: None,
            orders: None,
            logins,
            proxy: None,
            trusted_proxies: Vec::new(),
            config,
        }
    }

    /// Resolves once the server starts shutting down.
    pub async fn shutting_down(&self) {
        let mut rx = self.shutdown.clone();
        // An error means the sender is gone: the process is ending anyway.
        let _ = rx.wait_for(|down| *down).await;
    }
}
