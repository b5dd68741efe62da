//! `[proxy]`: proxy mode (the front end relays each login to the
//! account's backend, [`crate::proxy`]), and what a backend believes of
//! the proxies in front of it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How the proxy reaches its backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendTls {
    /// Plain TCP (a trusted network, or loopback).
    #[default]
    None,
    /// STARTTLS (IMAP) or STLS (POP3) right after the greeting.
    Starttls,
    /// TLS from the first byte (the backends' imaps/pop3s ports).
    Implicit,
}

/// How the proxy logs in on a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoginMethod {
    /// With the client's own login and password (SASL PLAIN): for
    /// backends that check passwords themselves. Only password
    /// mechanisms are offered to clients then (a CRAM or SCRAM proof
    /// cannot be replayed).
    #[default]
    Client,
    /// As a master user (SASL PLAIN with the account as authorization
    /// identity, `master_user` and its password as authentication
    /// identity): the backend lists `master_user` in `[auth]
    /// master_users`. Works for every mechanism the client used.
    Master,
}

/// `[proxy]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    /// Proxy mode: logins are relayed to backends instead of served here.
    #[serde(default)]
    pub enabled: bool,
    /// The pool accounts without a `mailhost` option are spread over by
    /// consistent hashing of their login: host names or addresses
    /// (`"10.0.0.11"`, `"imap2.example.org"`, `"[2001:db8::2]"`), without
    /// ports.
    #[serde(default)]
    pub backends: Vec<String>,
    /// The backends' IMAP port (their imaps port with `tls = "implicit"`).
    #[serde(default = "default_imap_port")]
    pub imap_port: u16,
    /// The backends' POP3 port (their pop3s port with `tls = "implicit"`).
    #[serde(default = "default_pop3_port")]
    pub pop3_port: u16,
    /// TLS to backends: `none`, `starttls` or `implicit`.
    #[serde(default)]
    pub tls: BackendTls,
    /// CA certificates (PEM) the backends' certificates must chain to;
    /// required with TLS.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The backend's certificate must name the host it was reached as.
    #[serde(default = "default_true")]
    pub verify_hostname: bool,
    /// `client` or `master`.
    #[serde(default)]
    pub login: LoginMethod,
    /// The master user's login on the backends (`login = "master"`).
    #[serde(default)]
    pub master_user: String,
    /// A file holding the master user's password (one line; read at
    /// start and on SIGHUP, as `run_as`).
    #[serde(default)]
    pub master_password_file: Option<PathBuf>,
    /// Start every backend connection with a PROXY v2 header naming the
    /// client (the backend's listener has `proxy_protocol = true` and
    /// lists this proxy in `proxy_protocol_from`).
    #[serde(default)]
    pub send_proxy_protocol: bool,
    /// Send IMAP ID with the client's address, port and the session id
    /// (`x-originating-ip`, …) before logging in, as Dovecot's proxy does.
    #[serde(default = "default_true")]
    pub send_id: bool,
    /// Seconds between health probes (connect and greeting) of each pool
    /// backend.
    #[serde(default = "default_probe_interval")]
    pub probe_interval_secs: u64,
    /// Seconds a backend may take to accept a connection and greet.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// Failed probes in a row that take a backend out of the ring (a
    /// failed connection for a login takes it out at once).
    #[serde(default = "default_down_after")]
    pub down_after: u32,
    /// Good probes in a row that bring a backend back into the ring.
    #[serde(default = "default_up_after")]
    pub up_after: u32,
    /// Points per backend on the hash ring.
    #[serde(default = "default_virtual_nodes")]
    pub virtual_nodes: u32,
    /// Names under which accounts' `mailhost` option means this server
    /// (Courier's `PROXY_HOSTNAME`), besides its host name (`[server]
    /// hostname`, else the system's): such logins are served here, so
    /// every server of a site can run the same proxy configuration.
    #[serde(default)]
    pub local_names: Vec<String>,
    /// Backend side: the networks of proxies in front of this server
    /// whose IMAP ID fields (`x-originating-ip`, `x-originating-port`,
    /// `x-session-id`) are believed for logs, limits and failure delays.
    /// From anywhere else they are only logged.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

fn default_true() -> bool {
    true
}
fn default_imap_port() -> u16 {
    143
}
fn default_pop3_port() -> u16 {
    110
}
fn default_probe_interval() -> u64 {
    2
}
fn default_connect_timeout() -> u64 {
    5
}
fn default_down_after() -> u32 {
    2
}
fn default_up_after() -> u32 {
    3
}
fn default_virtual_nodes() -> u32 {
    160
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            enabled: false,
            backends: Vec::new(),
            imap_port: default_imap_port(),
            pop3_port: default_pop3_port(),
            tls: BackendTls::None,
            ca_file: None,
            verify_hostname: true,
            login: LoginMethod::Client,
            master_user: String::new(),
            master_password_file: None,
            send_proxy_protocol: false,
            send_id: true,
            probe_interval_secs: default_probe_interval(),
            connect_timeout_secs: default_connect_timeout(),
            down_after: default_down_after(),
            up_after: default_up_after(),
            virtual_nodes: default_virtual_nodes(),
            local_names: Vec::new(),
            trusted_proxies: Vec::new(),
        }
    }
}

impl ProxyConfig {
    /// Paths made absolute against the config file's folder.
    pub(crate) fn resolve_paths(&mut self, base: &Path) {
        for p in [&mut self.ca_file, &mut self.master_password_file]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
    }

    /// Checks the settings that cannot work.
    pub(crate) fn validate(&self) -> Result<(), String> {
        self.trusted()?;
        if !self.enabled {
            return Ok(());
        }
        let e = |m: &str| Err(format!("[proxy] {m}"));
        for b in &self.backends {
            if b.is_empty() || b.contains(['/', ' ']) || crate::proxy::host_has_port(b) {
                return e(&format!(
                    "backend {b:?} is not a host name or address (ports are imap_port and pop3_port)"
                ));
            }
        }
        if self.tls != BackendTls::None && self.ca_file.is_none() {
            return e("tls to backends needs ca_file (their certificates are verified)");
        }
        if self.login == LoginMethod::Master
            && (self.master_user.is_empty() || self.master_password_file.is_none())
        {
            return e("login = \"master\" needs master_user and master_password_file");
        }
        if self.probe_interval_secs == 0 || self.connect_timeout_secs == 0 {
            return e("probe_interval_secs and connect_timeout_secs must be at least 1");
        }
        if self.down_after == 0 || self.up_after == 0 {
            return e("down_after and up_after must be at least 1");
        }
        if !(1..=10_000).contains(&self.virtual_nodes) {
            return e("virtual_nodes must be between 1 and 10000");
        }
        Ok(())
    }

    /// `trusted_proxies`, parsed.
    pub fn trusted(&self) -> Result<Vec<ipnet::IpNet>, String> {
        self.trusted_proxies
            .iter()
            .map(|n| {
                crate::access::parse_net(n).map_err(|e| format!("[proxy] trusted_proxies: {e}"))
            })
            .collect()
    }

    /// How long a backend may take to accept a connection and greet.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs)
    }
}
