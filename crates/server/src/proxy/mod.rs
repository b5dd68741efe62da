//! Proxy mode: the front end authenticates the client as usual, then
//! finds the account's backend — its `mailhost` option from whichever
//! account source, else its place on the consistent-hash [`ring::Ring`]
//! over the `[proxy] backends` pool, skipping nodes [`health::Health`]
//! says are down — logs in there ([`dialogue::Dialogue`] over
//! [`backend`]'s connection: PROXY v2, TLS, IMAP ID with the client's
//! address, SASL PLAIN as the client or as a master user), answers the
//! client's login with the backend's answer, and copies bytes both ways
//! ([`relay`]) until either side ends.
//!
//! A `mailhost` account whose hosts are all down gets a temporary
//! failure: its mail lives there and nowhere else, and another node would
//! show an empty or stale mailbox. Courier's proxy does the same: it
//! tries each of the account's mail hosts in turn and fails the login
//! when none answers (spec/imapd-config.md §6).

pub mod backend;
pub mod dialogue;
mod ending;
pub mod health;
pub(crate) mod probe;
pub mod relay;
pub mod ring;

use std::net::IpAddr;
use std::sync::Arc;

use crate::proxy_config::{LoginMethod, ProxyConfig};
use dialogue::LoginAs;

/// What proxy mode needs, built from `[proxy]` at start and on SIGHUP.
pub struct Proxy {
    /// The settings.
    pub config: ProxyConfig,
    /// The pool's ring.
    pub ring: ring::Ring,
    /// Which pool nodes are up (kept across reloads).
    pub health: Arc<health::Health>,
    /// TLS to backends, when configured.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// The master user's password (`login = "master"`).
    master_password: Option<Vec<u8>>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("backends", &self.ring.nodes())
            .finish_non_exhaustive()
    }
}

/// Where a login goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The account's `mailhost` hosts, tried in order.
    Mailhost(Vec<String>),
    /// Pool nodes in the order to try them (the first up node first).
    Pool(Vec<String>),
}

/// What proxy mode does with a login, Courier's way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Served here: the account's first `mailhost` names this server, or
    /// it has none and there is no pool.
    Here,
    /// Relayed: to the `mailhost` hosts when given, else to the pool;
    /// `then_here`: the list stops before a name of this server, which
    /// serves the login when every host before it failed.
    Relay {
        /// The hosts to try, in order.
        mailhost: Option<Vec<String>>,
        /// Served here when none of them answers.
        then_here: bool,
    },
}

impl Proxy {
    /// Where a login with the account's `mailhost` values goes (each may
    /// be a comma-separated list; together they are tried in order).
    /// As Courier's proxy: a host that is this server (`this_host` or one
    /// of `[proxy] local_names`) ends the list and the login is served
    /// here; an account without `mailhost` is served here when there is
    /// no pool.
    pub fn plan(&self, mailhosts: &[&str], this_host: &str) -> Plan {
        let hosts: Vec<String> = mailhosts
            .iter()
            .flat_map(|h| h.split(','))
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(str::to_owned)
            .collect();
        let is_here = |h: &String| {
            h.eq_ignore_ascii_case(this_host)
                || self
                    .config
                    .local_names
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(h))
        };
        match hosts.iter().position(is_here) {
            Some(0) => Plan::Here,
            Some(k) => Plan::Relay {
                mailhost: Some(hosts[..k].to_vec()),
                then_here: true,
            },
            None if hosts.is_empty() && self.config.backends.is_empty() => Plan::Here,
            None => Plan::Relay {
                mailhost: (!hosts.is_empty()).then_some(hosts),
                then_here: false,
            },
        }
    }

    /// Proxy mode under `config` (`None` when it is off), with the health
    /// of the nodes kept in `health`.
    pub fn new(
        config: &ProxyConfig,
        health: Arc<health::Health>,
    ) -> Result<Option<Proxy>, crate::Error> {
        if !config.enabled {
            return Ok(None);
        }
        let tls = match (&config.ca_file, config.tls) {
            (Some(ca), tls) if tls != crate::proxy_config::BackendTls::None => {
                Some(backend::client_tls(ca, config.verify_hostname)?)
            }
            _ => None,
        };
        let master_password = match (&config.login, &config.master_password_file) {
            (LoginMethod::Master, Some(path)) => {
                let text = std::fs::read(path).map_err(|e| crate::Error::Io {
                    path: path.clone(),
                    source: e,
                })?;
                let end = text
                    .iter()
                    .position(|&b| b == b'\n' || b == b'\r')
                    .unwrap_or(text.len());
                Some(text[..end].to_vec())
            }
            _ => None,
        };
        Ok(Some(Proxy {
            ring: ring::Ring::new(&config.backends, config.virtual_nodes),
            config: config.clone(),
            health,
            tls,
            master_password,
        }))
    }

    /// Where `login` (as its account source spells it) with the
    /// `mailhost` hosts ([`Proxy::plan`]'s) goes.
    pub fn route(&self, login: &str, mailhost: Option<&[String]>) -> Route {
        match mailhost {
            Some(hosts) => Route::Mailhost(hosts.to_vec()),
            None => {
                let order = self.ring.candidates(login);
                // Up nodes first, in ring order; down ones only as a last
                // resort (all down: try anyway rather than refuse).
                let (up, down): (Vec<&str>, Vec<&str>) =
                    order.into_iter().partition(|n| self.health.is_up(n));
                Route::Pool(up.into_iter().chain(down).map(str::to_owned).collect())
            }
        }
    }

    /// The credentials for `account`'s backend login: the master user's,
    /// or the client's `password`. `None` with the client's credentials
    /// when the client proved itself without a password.
    pub fn login_as(&self, account: &str, password: Option<&[u8]>) -> Option<LoginAs> {
        let user = account.to_owned();
        Some(match (self.config.login, &self.master_password) {
            (LoginMethod::Master, Some(secret)) => LoginAs::Master {
                user,
                master: self.config.master_user.clone(),
                password: secret.clone(),
            },
            _ => LoginAs::Client {
                user,
                password: password?.to_vec(),
            },
        })
    }

    /// Only password mechanisms can be relayed with the client's own
    /// credentials.
    pub fn needs_password(&self) -> bool {
        self.config.login == LoginMethod::Client
    }
}

/// What a client whose backend cannot serve it is told.
pub const UNREACHABLE: &str = "The mail server for this account is unavailable, try again later";

/// The SASL mechanisms clients are offered: the account sources', and
/// with the client's credentials relayed only those that carry a
/// password.
pub fn mechanisms(shared: &crate::shared::Shared) -> Vec<courser_auth::Mechanism> {
    let all = shared.auth.mechanisms();
    match &shared.proxy {
        Some(proxy) if proxy.needs_password() => {
            all.into_iter().filter(|m| m.sends_password()).collect()
        }
        _ => all,
    }
}

/// The client a proxy in front names (`ip`, `port`; unknown port 0),
/// with its session id; `None` when `ip` is no address.
pub(crate) fn forwarded_client(
    ip: &str,
    port: Option<&str>,
    session: Option<&str>,
) -> Option<(std::net::SocketAddr, Option<String>)> {
    let ip: IpAddr = ip.parse().ok()?;
    let port = port.and_then(|p| p.parse().ok()).unwrap_or(0);
    let addr = std::net::SocketAddr::new(ip.to_canonical(), port);
    Some((addr, session.map(str::to_owned)))
}

/// A configured backend name carries a port (`host:port`,
/// `[v6]:port`), which `[proxy]` takes from `imap_port`/`pop3_port`.
pub fn host_has_port(name: &str) -> bool {
    if let Some(rest) = name.strip_prefix('[') {
        return !rest.ends_with(']');
    }
    name.parse::<IpAddr>().is_err() && name.contains(':')
}

/// The host to connect to for a configured name (brackets off).
pub fn bare_host(name: &str) -> &str {
    name.strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(backends: &[&str]) -> Proxy {
        let config = ProxyConfig {
            enabled: true,
            backends: backends.iter().map(|s| s.to_string()).collect(),
            ..ProxyConfig::default()
        };
        Proxy::new(&config, Arc::default()).unwrap().unwrap()
    }

    #[test]
    fn a_mailhost_that_is_this_server_is_served_here_as_courier_does() {
        let mut p = proxy(&[]);
        p.config.local_names = vec!["imap1.example.org".into()];
        let relay = |hosts: &str, then_here| Plan::Relay {
            mailhost: Some(hosts.split(',').map(str::to_owned).collect()),
            then_here,
        };
        assert_eq!(p.plan(&["IMAP1.example.org"], "node1"), Plan::Here);
        assert_eq!(p.plan(&["node1"], "node1"), Plan::Here);
        // Hosts before this server's name are tried first.
        assert_eq!(p.plan(&["mx2, node1, mx3"], "node1"), relay("mx2", true));
        assert_eq!(
            p.plan(&["mx2", "imap1.example.org"], "node1"),
            relay("mx2", true)
        );
        assert_eq!(p.plan(&["mx2,mx3", ""], "node1"), relay("mx2,mx3", false));
        // No mailhost: served here without a pool, else the pool's.
        assert_eq!(p.plan(&[], "node1"), Plan::Here);
        assert_eq!(p.plan(&[""], "node1"), Plan::Here);
        let pooled = proxy(&["a", "b"]);
        let to_pool = Plan::Relay {
            mailhost: None,
            then_here: false,
        };
        assert_eq!(pooled.plan(&[], "node1"), to_pool);
    }

    #[test]
    fn mailhost_wins_and_down_nodes_go_last() {
        let p = proxy(&["a", "b", "c"]);
        let hosts = ["mx9".to_owned(), "mx8".to_owned()];
        assert_eq!(
            p.route("alice", Some(&hosts)),
            Route::Mailhost(hosts.to_vec())
        );
        let Route::Pool(all) = p.route("alice", None) else {
            panic!()
        };
        assert_eq!(all.len(), 3);
        p.health.unreachable(&all[0]);
        let Route::Pool(after) = p.route("alice", None) else {
            panic!()
        };
        assert_eq!(after, [all[1].clone(), all[2].clone(), all[0].clone()]);
    }

    #[test]
    fn client_credentials_need_a_password() {
        let p = proxy(&["a"]);
        assert!(matches!(
            p.login_as("ann", Some(b"pw")),
            Some(LoginAs::Client { user, password }) if user == "ann" && password == b"pw"
        ));
        assert!(p.login_as("ann", None).is_none());
        assert!(p.needs_password());
    }

    #[test]
    fn forwarded_clients() {
        assert_eq!(
            forwarded_client("::ffff:192.0.2.1", Some("4000"), Some("s1")),
            Some(("192.0.2.1:4000".parse().unwrap(), Some("s1".into())))
        );
        assert_eq!(
            forwarded_client("2001:db8::1", Some("x"), None),
            Some(("[2001:db8::1]:0".parse().unwrap(), None))
        );
        assert_eq!(forwarded_client("mail.example", None, None), None);
    }

    #[test]
    fn backend_names() {
        for (name, port) in [
            ("10.0.0.1", false),
            ("imap.example.org", false),
            ("2001:db8::1", false),
            ("[2001:db8::1]", false),
            ("10.0.0.1:143", true),
            ("imap:143", true),
            ("[2001:db8::1]:143", true),
        ] {
            assert_eq!(host_has_port(name), port, "{name}");
        }
        assert_eq!(bare_host("[2001:db8::1]"), "2001:db8::1");
        assert_eq!(bare_host("10.0.0.1"), "10.0.0.1");
    }
}
