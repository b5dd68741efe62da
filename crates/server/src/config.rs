//! The TOML configuration file (`courser serve --config FILE`).
//!
//! Every key has a documented default so `check-config` can print the
//! effective configuration. Relative paths resolve against the folder that
//! holds the config file.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use courser_maildir::shared_index::{Munging, SharedIndex};
use serde::{Deserialize, Serialize};

use crate::Error;

/// The whole configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Sockets to serve on.
    #[serde(default, rename = "listener")]
    pub listeners: Vec<ListenerConfig>,
    /// Certificate and key for implicit TLS and STARTTLS.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Where accounts come from.
    #[serde(default)]
    pub auth: AuthConfig,
    /// Connection limits.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Process model and identity.
    #[serde(default)]
    pub server: ServerConfig,
    /// IMAP behaviour.
    #[serde(default)]
    pub imap: ImapConfig,
    /// POP3 behaviour.
    #[serde(default)]
    pub pop3: Pop3Config,
    /// Mail store behaviour.
    #[serde(default)]
    pub maildir: MaildirConfig,
    /// Who may connect at all.
    #[serde(default)]
    pub access: AccessConfig,
    /// Prometheus metrics (absent: none are served).
    #[serde(default)]
    pub metrics: Option<MetricsConfig>,
    /// The login and logout lines' format.
    #[serde(default)]
    pub log: LogConfig,
    /// Proxy mode, and the proxies a backend trusts.
    #[serde(default)]
    pub proxy: crate::proxy_config::ProxyConfig,
}

/// `[log]`: which format the login, logout and connection lines take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `courser` (only the usual log on standard error) or `courier`
    /// (also Courier's own lines, to syslog, for the tools that parse
    /// them).
    #[serde(default)]
    pub format: LogFormat,
    /// The syslog socket the Courier-format lines are sent to (a Unix
    /// datagram socket, as the C library's `syslog()` uses).
    #[serde(default = "default_syslog_socket")]
    pub syslog_socket: PathBuf,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::default(),
            syslog_socket: default_syslog_socket(),
        }
    }
}

fn default_syslog_socket() -> PathBuf {
    PathBuf::from("/dev/log")
}

/// The format of the login, logout and connection lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Courser's own lines (tracing, on standard error).
    #[default]
    Courser,
    /// Courier's lines as well, to syslog with Courier's program names.
    Courier,
}

/// `[metrics]`: Prometheus text format over HTTP, names in
/// `crate::metrics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Where to serve `/metrics`, e.g. `127.0.0.1:9143`. Loopback only:
    /// the endpoint has no authentication (reach it from elsewhere through
    /// a proxy or tunnel). It is bound after root is dropped, so use a
    /// port above 1023.
    pub address: SocketAddr,
}

/// `[access]`: which client addresses may connect.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessConfig {
    /// `"allow NET"` / `"deny NET"`, first match wins; unmatched addresses
    /// are allowed. Example: `["allow 192.0.2.10", "deny 192.0.2.0/24"]`.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Courier's access file (`IMAPACCESSFILE`, the text file or
    /// directory `makeimapaccess` compiles), applied to IMAP listeners
    /// after `rules`: most specific entry wins, `MAXCPERIP` honoured.
    /// Empty: none. Re-read at reload.
    #[serde(default)]
    pub imapaccess: PathBuf,
}

/// The protocol a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// IMAP on a plain socket, STARTTLS offered when TLS is configured.
    Imap,
    /// IMAP inside TLS from the first byte.
    Imaps,
    /// POP3 with STLS.
    Pop3,
    /// POP3 inside TLS from the first byte.
    Pop3s,
}

impl Protocol {
    /// Whether the connection starts with a TLS handshake.
    pub fn implicit_tls(self) -> bool {
        matches!(self, Protocol::Imaps | Protocol::Pop3s)
    }

    /// The session protocol spoken.
    pub fn service(self) -> crate::service::Service {
        match self {
            Protocol::Imap | Protocol::Imaps => crate::service::Service::Imap,
            Protocol::Pop3 | Protocol::Pop3s => crate::service::Service::Pop3,
        }
    }

    /// The name used in the config file, logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Imap => "imap",
            Protocol::Imaps => "imaps",
            Protocol::Pop3 => "pop3",
            Protocol::Pop3s => "pop3s",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `[[listener]]` table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerConfig {
    /// Protocol spoken on this socket.
    pub protocol: Protocol,
    /// Address and port; `[::]:143` listens on both IPv6 and IPv4.
    pub address: SocketAddr,
    /// Every connection starts with a HAProxy PROXY protocol header (v1
    /// or v2) naming the real client; connections without one are refused.
    #[serde(default)]
    pub proxy_protocol: bool,
    /// The proxies' networks: with `proxy_protocol`, connections from
    /// anywhere else are refused (closed and logged) before a byte is
    /// read, so nobody else can claim an address. Required (not empty) on
    /// a `proxy_protocol` listener: the server does not start without it.
    #[serde(default)]
    pub proxy_protocol_from: Vec<String>,
}

impl ListenerConfig {
    /// A listener for `protocol` on `address`, without PROXY protocol.
    pub fn new(protocol: Protocol, address: SocketAddr) -> ListenerConfig {
        ListenerConfig {
            protocol,
            address,
            proxy_protocol: false,
            proxy_protocol_from: Vec::new(),
        }
    }

    /// `proxy_protocol_from`, parsed.
    pub fn proxies(&self) -> Result<Vec<ipnet::IpNet>, String> {
        self.proxy_protocol_from
            .iter()
            .map(|n| {
                crate::access::parse_net(n)
                    .map_err(|e| format!("listener {}: proxy_protocol_from: {e}", self.address))
            })
            .collect()
    }
}

/// `[tls]`: PEM files.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Certificate chain, leaf first: the default certificate.
    pub certificate: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key: PathBuf,
    /// Oldest TLS version accepted: "1.2" or "1.3".
    #[serde(default)]
    pub min_version: TlsVersion,
    /// Certificates chosen by the name the client asks for (SNI); clients
    /// that ask for another name, or none, get the default one.
    #[serde(default)]
    pub sni: Vec<SniCertificate>,
    /// PEM bundle of the CAs that sign client certificates. When set,
    /// every TLS client is asked for a certificate (optional: clients
    /// without one connect and log in as before); one that does not verify
    /// fails the handshake, one that does offers SASL EXTERNAL.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// Which field of a verified client certificate names the account.
    #[serde(default)]
    pub client_identity: ClientIdentity,
}

/// The client certificate field that names the account for SASL
/// EXTERNAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientIdentity {
    /// The e-mail address (subjectAltName rfc822Name, else the subject's
    /// emailAddress), else the subject CN.
    #[default]
    EmailOrCn,
    /// Only the e-mail address (Courier's `TLS_EXTERNAL=emailaddress`).
    Email,
    /// Only the subject CN.
    Cn,
}

/// A TLS protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TlsVersion {
    /// TLS 1.2 and 1.3.
    #[default]
    #[serde(rename = "1.2")]
    Tls12,
    /// TLS 1.3 only.
    #[serde(rename = "1.3")]
    Tls13,
}

/// One `[[tls.sni]]` table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SniCertificate {
    /// The host name clients ask for, e.g. `mail.example.org`.
    pub name: String,
    /// Certificate chain, leaf first.
    pub certificate: PathBuf,
    /// Private key.
    pub private_key: PathBuf,
}

/// `[auth]`: account sources.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Courier userdb source file or directory (tried before the
    /// `[[auth.backend]]` list; shorthand for a `type = "userdb"` entry).
    pub userdb: Option<PathBuf>,
    /// Delay before answering a failed login, in seconds (Courier waits
    /// 5). It grows with repeated failures from one address or for one
    /// account, up to `failure_delay_max_secs`.
    #[serde(default = "default_failure_delay")]
    pub failure_delay_secs: u64,
    /// Longest failure delay, in seconds.
    #[serde(default = "default_failure_delay_max")]
    pub failure_delay_max_secs: u64,
    /// Failed logins from one address or for one login after which the
    /// authentication process itself refuses to check passwords for it
    /// until a window has passed (the failure delay, counted from the
    /// first failure past these); 0: never.
    #[serde(default = "default_refuse_after_failures")]
    pub refuse_after_failures: u32,
    /// Failed logins per second the authentication process accepts from
    /// the front end as a whole; beyond it every check is refused until
    /// the rate falls; 0: no limit.
    #[serde(default = "default_max_failures_per_sec")]
    pub max_failures_per_sec: u32,
    /// Longest password checked, in bytes. Longer ones fail like a wrong
    /// password without being hashed (SHA-crypt's cost grows with the
    /// square of the length), and the log says why.
    #[serde(default = "default_max_password_length")]
    pub max_password_length: usize,
    /// Logins in flight to the authentication process at once (it does
    /// the hashing, PAM, SQL, LDAP); 0: as many as it has checker threads
    /// (4 per CPU, 8 to 64). Read at start only.
    #[serde(default)]
    pub login_threads: usize,
    /// Logins that may wait for a free thread; beyond that a login fails
    /// as temporarily unavailable. Read at start only.
    #[serde(default = "default_login_queue")]
    pub login_queue: usize,
    /// Courier's `DEFDOMAIN`: `@domain` appended to logins without one.
    pub default_domain: Option<String>,
    /// Courier's `DEFAULTOPTIONS`: options every account gets unless it
    /// sets them itself (`disablepop3=1,...`).
    pub default_options: Option<String>,
    /// After a wrong password, try the next backend as authdaemond does
    /// (default: the first backend that knows the login decides).
    #[serde(default)]
    pub courier_fallthrough: bool,
    /// Account sources in the order they are tried (`[[auth.backend]]`).
    #[serde(default, rename = "backend")]
    pub backends: Vec<crate::backend_config::BackendConfig>,
    /// Logins that may log in as any account: SASL PLAIN with the
    /// account as authorization identity and a master user's own
    /// password (what a proxy in front of this server uses with
    /// `[proxy] login = "master"`). Empty: an authorization identity
    /// other than the login is refused.
    #[serde(default)]
    pub master_users: Vec<String>,
}

fn default_failure_delay() -> u64 {
    3
}
fn default_failure_delay_max() -> u64 {
    30
}
fn default_refuse_after_failures() -> u32 {
    5
}
fn default_max_failures_per_sec() -> u32 {
    100
}
fn default_max_password_length() -> usize {
    courser_auth::DEFAULT_MAX_PASSWORD_LEN
}
fn default_login_queue() -> usize {
    256
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            userdb: None,
            failure_delay_secs: default_failure_delay(),
            failure_delay_max_secs: default_failure_delay_max(),
            refuse_after_failures: default_refuse_after_failures(),
            max_failures_per_sec: default_max_failures_per_sec(),
            max_password_length: default_max_password_length(),
            login_threads: 0,
            login_queue: default_login_queue(),
            default_domain: None,
            default_options: None,
            courier_fallthrough: false,
            backends: Vec::new(),
            master_users: Vec::new(),
        }
    }
}

/// `[limits]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Total concurrent connections (Courier `MAXDAEMONS`).
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Concurrent connections from one address (Courier `MAXPERIP`). The
    /// default is higher than Courier's 4: a desktop client opens about five
    /// connections and a household shares one address.
    #[serde(default = "default_max_per_ip")]
    pub max_connections_per_ip: usize,
    /// Concurrent sessions of one account, all addresses together.
    #[serde(default = "default_max_per_user")]
    pub max_connections_per_user: usize,
    /// Concurrent sessions of one account from one address.
    #[serde(default = "default_max_per_ip")]
    pub max_connections_per_user_ip: usize,
    /// New connections one address may open per minute (0: no limit).
    #[serde(default = "default_rate")]
    pub new_connections_per_ip_per_minute: usize,
    /// Networks exempt from the per-address limits and rate (webmail
    /// front ends, the office NAT), e.g. `["10.0.0.0/8", "2001:db8::/32"]`.
    /// Default: loopback, where a local webmail connects from.
    #[serde(default = "default_trusted")]
    pub trusted_networks: Vec<String>,
    /// IPv6 clients count as one address per network of this prefix
    /// length for every per-address limit and the failed-login delay
    /// (one subscriber gets a whole /64). IPv4-mapped IPv6 addresses
    /// always count as their IPv4 address.
    #[serde(default = "default_ipv6_prefix")]
    pub ipv6_prefix: u8,
}

fn default_max_connections() -> usize {
    1000
}
fn default_max_per_ip() -> usize {
    20
}
fn default_max_per_user() -> usize {
    50
}
fn default_rate() -> usize {
    300
}
fn default_ipv6_prefix() -> u8 {
    64
}
fn default_trusted() -> Vec<String> {
    vec!["127.0.0.0/8".into(), "::1/128".into()]
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_connections: default_max_connections(),
            max_connections_per_ip: default_max_per_ip(),
            max_connections_per_user: default_max_per_user(),
            max_connections_per_user_ip: default_max_per_ip(),
            new_connections_per_ip_per_minute: default_rate(),
            trusted_networks: default_trusted(),
            ipv6_prefix: default_ipv6_prefix(),
        }
    }
}

/// How sessions are mapped onto processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProcessModel {
    /// One process serving every account under one uid.
    #[default]
    Shared,
    /// One process per logged-in session, running as the account's uid.
    PerUser,
}

/// `[server]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Process model.
    #[serde(default)]
    pub process_model: ProcessModel,
    /// User to serve as when started as root in shared mode.
    pub run_as: Option<String>,
    /// Host name used in greetings and generated file names.
    pub hostname: Option<String>,
    /// Per-user model as root: lowest uid a session runs as (Dovecot's
    /// name and default: system accounts below it are never served).
    #[serde(default = "default_first_valid_uid")]
    pub first_valid_uid: u32,
    /// Highest uid a session runs as; 0: no limit.
    #[serde(default)]
    pub last_valid_uid: u32,
    /// Lowest primary gid a session runs with.
    #[serde(default = "default_first_valid_gid")]
    pub first_valid_gid: u32,
    /// Highest primary gid; 0: no limit.
    #[serde(default)]
    pub last_valid_gid: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            process_model: ProcessModel::default(),
            run_as: None,
            hostname: None,
            first_valid_uid: default_first_valid_uid(),
            last_valid_uid: 0,
            first_valid_gid: default_first_valid_gid(),
            last_valid_gid: 0,
        }
    }
}

fn default_first_valid_uid() -> u32 {
    500
}
fn default_first_valid_gid() -> u32 {
    1
}

/// `[imap]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapConfig {
    /// Seconds a connection may stay idle before logging in.
    #[serde(default = "default_login_timeout")]
    pub login_timeout_secs: u64,
    /// Seconds an authenticated connection may stay idle (RFC 3501 §5.4:
    /// at least 30 minutes).
    #[serde(default = "default_autologout")]
    pub autologout_secs: u64,
    /// Seconds between checks for changes during IDLE when inotify cannot
    /// watch the folder (NFS), and the keepalive interval.
    #[serde(default = "default_idle_poll")]
    pub idle_poll_secs: u64,
    /// Refuse LOGIN and AUTHENTICATE on plaintext connections from
    /// non-loopback addresses until STARTTLS (advertises LOGINDISABLED).
    #[serde(default = "default_true")]
    pub require_tls_for_login: bool,
    /// Largest message APPEND accepts, in octets (advertised as
    /// `APPENDLIMIT`, RFC 7889; bigger ones get `NO [TOOBIG]`). Courier
    /// has no such setting; its default memory limit (`IMAP_ULIMITD`,
    /// 65536 KB) made 64 MiB its ceiling.
    #[serde(default = "default_max_message_size")]
    pub max_message_size: u64,
    /// Offer SORT and THREAD (Courier's `IMAP_DISABLETHREADSORT` turns
    /// them off, for small machines).
    #[serde(default = "default_true")]
    pub sort_thread: bool,
    /// Advertise `ACL ACL2=UNION` (Courier's `IMAP_ACL`). The ACL
    /// commands work and folder rights are enforced either way.
    #[serde(default = "default_true")]
    pub acl: bool,
    /// EXPUNGE moves the messages into the trash folder (`[maildir]
    /// trash`) instead of deleting them, except in the trash itself:
    /// Courier's `IMAP_MOVE_EXPUNGE_TO_TRASH`, advertised as `XMAGICTRASH`.
    #[serde(default)]
    pub move_expunge_to_trash: bool,
    /// SMAP1 on the IMAP listeners (Courier's `SMAP_CAPABILITY=SMAP1`):
    /// advertised in the capabilities, and a `\SMAP1 LOGIN` continues in
    /// Courier's Simple Mail Access Protocol.
    #[serde(default)]
    pub smap: bool,
}

fn default_max_message_size() -> u64 {
    courser_imap::codec::Limits::default().max_message
}

fn default_login_timeout() -> u64 {
    60
}
fn default_autologout() -> u64 {
    30 * 60
}
fn default_idle_poll() -> u64 {
    60
}
fn default_true() -> bool {
    true
}

impl Default for ImapConfig {
    fn default() -> Self {
        ImapConfig {
            login_timeout_secs: default_login_timeout(),
            autologout_secs: default_autologout(),
            idle_poll_secs: default_idle_poll(),
            require_tls_for_login: true,
            max_message_size: default_max_message_size(),
            sort_thread: true,
            acl: true,
            move_expunge_to_trash: false,
            smap: false,
        }
    }
}

impl ImapConfig {
    /// Timeout before login.
    pub fn login_timeout(&self) -> Duration {
        Duration::from_secs(self.login_timeout_secs)
    }
    /// Timeout once authenticated.
    pub fn autologout(&self) -> Duration {
        Duration::from_secs(self.autologout_secs)
    }
    /// The codec limits, with the configured message size.
    pub fn limits(&self) -> courser_imap::codec::Limits {
        courser_imap::codec::Limits {
            max_message: self.max_message_size,
            ..Default::default()
        }
    }
}

/// `[pop3]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pop3Config {
    /// Seconds a connection may stay idle before logging in.
    #[serde(default = "default_login_timeout")]
    pub login_timeout_secs: u64,
    /// Seconds a logged-in connection may stay idle (RFC 1939 §3: at least
    /// 10 minutes). An idle session is closed without deleting anything.
    #[serde(default = "default_pop3_autologout")]
    pub autologout_secs: u64,
    /// Refuse USER, PASS and AUTH on plaintext connections from
    /// non-loopback addresses until STLS (CAPA then omits USER and SASL).
    #[serde(default = "default_true")]
    pub require_tls_for_login: bool,
}

fn default_pop3_autologout() -> u64 {
    10 * 60
}

impl Default for Pop3Config {
    fn default() -> Self {
        Pop3Config {
            login_timeout_secs: default_login_timeout(),
            autologout_secs: default_pop3_autologout(),
            require_tls_for_login: true,
        }
    }
}

impl Pop3Config {
    /// Timeout before login.
    pub fn login_timeout(&self) -> Duration {
        Duration::from_secs(self.login_timeout_secs)
    }
    /// Timeout once logged in.
    pub fn autologout(&self) -> Duration {
        Duration::from_secs(self.autologout_secs)
    }
}

/// `[maildir]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaildirConfig {
    /// Maildir path relative to the home directory when the account does
    /// not name one (Courier `MAILDIRPATH`).
    #[serde(default = "default_maildir_path")]
    pub default_path: PathBuf,
    /// Custom keywords in `courierimapkeywords/` (Courier `IMAP_KEYWORDS`).
    #[serde(default = "default_true")]
    pub keywords: bool,
    /// Trash folder name (Courier `IMAP_TRASHFOLDERNAME`).
    #[serde(default = "default_trash")]
    pub trash: String,
    /// Folders emptied of old mail at IMAP login and logout, Courier's
    /// `IMAP_EMPTYTRASH`: `folder:days,…`, a bare number for the trash
    /// folder, or empty to keep everything.
    #[serde(default = "default_empty_trash")]
    pub empty_trash: String,
    /// Messages of big folders (10,000 and more) whose scans sessions of
    /// one process share, so another connection's SELECT of an unchanged
    /// folder does not read it again; 0 turns sharing off. About 150
    /// bytes each. POP3 logins keep their maildrop listings, and SORT
    /// and THREAD their orders, each within a budget of the same size.
    #[serde(default = "default_scan_cache_messages")]
    pub scan_cache_messages: usize,
    /// Where folder indexes (`courserindex`) are kept: empty (the
    /// default) in each folder directory; else under this existing local
    /// directory, one 0700 directory per maildir (for maildirs on NFS,
    /// like Dovecot's `INDEX=`).
    #[serde(default)]
    pub index_dir: PathBuf,
    /// Keep folder indexes at all; without them every answer is computed
    /// from the message files (small sites, or to check an index's
    /// answers against).
    #[serde(default = "default_true")]
    pub index: bool,
    /// Courier's virtual shared folder index (`IMAP_SHAREDINDEXFILE`):
    /// the accounts whose folders others may open as `#shared.…`, with
    /// the rights their ACLs give; an account with `sharedgroup=X` reads
    /// `<file>X` instead. Empty (the default): no virtual shared folders.
    #[serde(default)]
    pub shared_index: PathBuf,
    /// Show `.` and `/` in the index's names as `\:` and `\;` (and `\`
    /// as `\\`) instead of spaces (Courier's `IMAP_SHAREDMUNGENAMES`).
    #[serde(default)]
    pub shared_munge_names: bool,
    /// Courier's `maildirshared`: sharable maildirs (`nick path` lines)
    /// offered to every account as `shared.<nick>.<folder>`, besides
    /// those each account lists in its `shared-maildirs`. Empty (the
    /// default): none.
    #[serde(default)]
    pub system_shared_maildirs: PathBuf,
    /// Courier's `OUTBOX`: a message APPENDed, COPYed or MOVEd into this
    /// folder (its name below INBOX, e.g. `Outbox`; Courier's `.Outbox`
    /// is read the same) is also mailed with `sendmail`, and the command
    /// fails when it cannot be (advertised as `XCOURIEROUTBOX`). Empty:
    /// off.
    #[serde(default)]
    pub outbox: String,
    /// The command that mails Outbox messages, given `-f <login>` after
    /// its words (Courier's `SENDMAIL` runs as `$SENDMAIL -oi -t -f
    /// <login>`). Plain words: no shell runs it.
    #[serde(default = "default_sendmail")]
    pub sendmail: String,
    /// The header, added to the mailed copy only, naming the login that
    /// sent it (Courier's `HEADERFROM`); empty: none.
    #[serde(default = "default_outbox_sender_header")]
    pub outbox_sender_header: String,
    /// Let one COPY or MOVE put more than one message into the Outbox
    /// (Courier's `OUTBOX_MULTIPLE_SEND`); else such a command is refused.
    #[serde(default)]
    pub outbox_multiple_send: bool,
    /// Seconds the sendmail command may take; then it is killed and the
    /// message is not sent (Courier waits for ever).
    #[serde(default = "default_sendmail_timeout")]
    pub sendmail_timeout_secs: u64,
}

impl MaildirConfig {
    /// Where the store keeps folder indexes (`StoreOptions::index`).
    pub fn index_place(&self) -> courser_maildir::IndexPlace {
        if !self.index {
            courser_maildir::IndexPlace::Off
        } else if self.index_dir.as_os_str().is_empty() {
            courser_maildir::IndexPlace::InFolder
        } else {
            courser_maildir::IndexPlace::Under(self.index_dir.clone())
        }
    }
}

fn default_scan_cache_messages() -> usize {
    500_000
}

fn default_maildir_path() -> PathBuf {
    PathBuf::from("Maildir")
}
fn default_trash() -> String {
    "Trash".into()
}
fn default_empty_trash() -> String {
    "Trash:7".into()
}
fn default_sendmail() -> String {
    "/usr/sbin/sendmail -oi -t".into()
}
fn default_outbox_sender_header() -> String {
    "X-IMAP-Sender".into()
}
fn default_sendmail_timeout() -> u64 {
    120
}

impl MaildirConfig {
    /// The trash folder's IMAP name when EXPUNGE moves into it
    /// (`[imap] move_expunge_to_trash`).
    pub fn magic_trash(&self, imap: &ImapConfig) -> Option<String> {
        imap.move_expunge_to_trash
            .then(|| format!("INBOX.{}", self.trash))
    }

    /// The system-wide list of sharable maildirs, if configured
    /// (`StoreOptions::sharables`).
    pub fn system_shared_maildirs(&self) -> Option<PathBuf> {
        Some(&self.system_shared_maildirs)
            .filter(|p| !p.as_os_str().is_empty())
            .cloned()
    }

    /// The virtual shared folders an account with authlib `options`
    /// sees, if an index is configured.
    pub fn shared_index(&self, options: &str) -> Option<SharedIndex> {
        if self.shared_index.as_os_str().is_empty() {
            return None;
        }
        let munging = if self.shared_munge_names {
            Munging::Escapes
        } else {
            Munging::Spaces
        };
        let options = courser_auth::Options::new(options);
        Some(SharedIndex::new(
            &self.shared_index,
            options.shared_group(),
            munging,
        ))
    }

    /// The `empty_trash` rules.
    pub fn expiry_rules(&self) -> Vec<courser_maildir::ExpiryRule> {
        courser_maildir::parse_expiry_rules(&self.empty_trash, &self.trash)
    }

    /// The Outbox and its mailer (`outbox`, `sendmail` and the keys
    /// after them), if one is configured.
    pub fn outbox(&self) -> Result<Option<courser_imap::outbox::Outbox>, String> {
        if self.outbox.is_empty() {
            return Ok(None);
        }
        let outbox = courser_imap::outbox::Outbox::new(
            &self.outbox,
            self.outbox_multiple_send,
            std::sync::Arc::new(self.sendmail()?),
        )
        .map_err(|e| format!("outbox: {e}"))?;
        Ok(Some(outbox))
    }

    /// The mailer (`sendmail` and the keys after it): the Outbox's, and
    /// SMAP's ADD.
    pub fn sendmail(&self) -> Result<crate::sendmail::SendmailCommand, String> {
        if self.sendmail_timeout_secs == 0 {
            return Err("sendmail_timeout_secs must be at least 1".into());
        }
        crate::sendmail::SendmailCommand::new(
            &self.sendmail,
            &self.outbox_sender_header,
            Duration::from_secs(self.sendmail_timeout_secs),
        )
    }
}

impl Default for MaildirConfig {
    fn default() -> Self {
        MaildirConfig {
            default_path: default_maildir_path(),
            keywords: true,
            trash: default_trash(),
            empty_trash: default_empty_trash(),
            scan_cache_messages: default_scan_cache_messages(),
            index_dir: PathBuf::new(),
            index: true,
            shared_index: PathBuf::new(),
            shared_munge_names: false,
            system_shared_maildirs: PathBuf::new(),
            outbox: String::new(),
            sendmail: default_sendmail(),
            outbox_sender_header: default_outbox_sender_header(),
            outbox_multiple_send: false,
            sendmail_timeout_secs: default_sendmail_timeout(),
        }
    }
}

impl Config {
    /// Reads and validates a config file, resolving relative paths against
    /// its folder. Warnings about settings read from Courier rc files
    /// (`courier_rc`) are logged.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let (config, warnings) = Config::load_with_warnings(path)?;
        for w in &warnings {
            tracing::warn!("{w}");
        }
        Ok(config)
    }

    /// [`Config::load`], handing the warnings back instead of logging
    /// them.
    pub fn load_with_warnings(path: &Path) -> Result<(Config, Vec<String>), Error> {
        let error = |message: String| Error::Config {
            path: path.to_owned(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
        // Paths in the file are relative to its folder, made absolute: the
        // server and its authentication process work from `/`.
        let absolute = std::path::absolute(path).map_err(|e| error(e.to_string()))?;
        let base = absolute.parent().unwrap_or(Path::new("/"));
        let mut table: toml::Table = toml::from_str(&text).map_err(|e| error(e.to_string()))?;
        let (mut config, mut warnings): (Config, _) =
            match crate::courier_rc::expand(&mut table, base).map_err(error)? {
                // Straight from the text, whose errors name the line.
                None => (
                    toml::from_str(&text).map_err(|e| error(e.to_string()))?,
                    Vec::new(),
                ),
                Some(warnings) => (
                    toml::Value::Table(table)
                        .try_into()
                        .map_err(|e: toml::de::Error| error(e.to_string()))?,
                    warnings,
                ),
            };
        config.resolve_paths(base);
        config.validate().map_err(error)?;
        warnings.extend(config.doubtful());
        Ok((config, warnings))
    }

    /// Settings that are valid but almost surely not meant.
    /// The `[access]` rules with the access file read, and what in the
    /// file is ignored.
    pub fn access_rules(&self) -> Result<(crate::access::AccessRules, Vec<String>), String> {
        let rules = crate::access::AccessRules::parse(&self.access.rules)
            .map_err(|e| format!("[access] {e}"))?;
        if self.access.imapaccess.as_os_str().is_empty() {
            return Ok((rules, Vec::new()));
        }
        let loaded = crate::access::imapaccess::load(&self.access.imapaccess)
            .map_err(|e| format!("[access] imapaccess: {e}"))?;
        let warnings = loaded
            .warnings
            .into_iter()
            .map(|w| format!("[access] imapaccess: {w}"))
            .collect();
        Ok((rules.with_imapaccess(loaded.access), warnings))
    }

    fn doubtful(&self) -> Vec<String> {
        let ignored = self.access_rules().map(|(_, w)| w).unwrap_or_default();
        // DESIGN.md: an empty proxy_protocol_from refuses every PROXY
        // header. That keeps the listener closed rather than trusting
        // anyone; say so, since nothing will get through.
        self.listeners
            .iter()
            .filter(|l| l.proxy_protocol && l.proxy_protocol_from.is_empty())
            .map(|l| {
                format!(
                    "listener {} has proxy_protocol = true but an empty proxy_protocol_from: \
                     every connection to it is refused; name the proxies' networks, \
                     e.g. proxy_protocol_from = [\"10.0.0.5\"]",
                    l.address
                )
            })
            .chain(ignored)
            .collect()
    }

    fn resolve_paths(&mut self, base: &Path) {
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        if let Some(tls) = &mut self.tls {
            resolve(&mut tls.certificate);
            resolve(&mut tls.private_key);
            if let Some(ca) = &mut tls.client_ca {
                resolve(ca);
            }
            for sni in &mut tls.sni {
                resolve(&mut sni.certificate);
                resolve(&mut sni.private_key);
            }
        }
        for b in &mut self.auth.backends {
            b.resolve_paths(base);
        }
        if let Some(userdb) = &mut self.auth.userdb {
            resolve(userdb);
        }
        self.proxy.resolve_paths(base);
        // (Per-user workers run in the account's home.)
        resolve(&mut self.log.syslog_socket);
        for p in [
            &mut self.maildir.shared_index,
            &mut self.maildir.system_shared_maildirs,
            &mut self.access.imapaccess,
        ] {
            if !p.as_os_str().is_empty() {
                resolve(p);
            }
        }
    }

    fn validate(&self) -> Result<(), String> {
        if self.listeners.is_empty() {
            return Err("no [[listener]] configured".into());
        }
        for l in &self.listeners {
            l.proxies()?;
            if l.protocol.implicit_tls() && self.tls.is_none() {
                return Err(format!(
                    "listener {} ({}) needs a [tls] section",
                    l.address, l.protocol
                ));
            }
        }
        if self.auth.max_password_length == 0 || self.auth.login_queue == 0 {
            return Err("[auth] max_password_length and login_queue must be at least 1".into());
        }
        if self.auth.userdb.is_none() && self.auth.backends.is_empty() {
            return Err("[auth] names no account source (userdb or [[auth.backend]])".into());
        }
        for b in &self.auth.backends {
            b.validate().map_err(|e| format!("[[auth.backend]]: {e}"))?;
        }
        let l = &self.limits;
        if [
            l.max_connections,
            l.max_connections_per_ip,
            l.max_connections_per_user,
            l.max_connections_per_user_ip,
        ]
        .contains(&0)
        {
            return Err("[limits] connection maxima must be at least 1".into());
        }
        if !(1..=128).contains(&l.ipv6_prefix) {
            return Err("[limits] ipv6_prefix must be between 1 and 128".into());
        }
        self.trusted_networks()?;
        self.access_rules()?;
        if !self.maildir.index_dir.as_os_str().is_empty() && !self.maildir.index_dir.is_absolute() {
            return Err("[maildir] index_dir must be an absolute path (or empty)".into());
        }
        self.maildir
            .outbox()
            .map_err(|e| format!("[maildir] {e}"))?;
        if self.imap.smap {
            // SMAP's ADD mails with it.
            self.maildir
                .sendmail()
                .map_err(|e| format!("[maildir] sendmail: {e}"))?;
        }
        if self.imap.max_message_size == 0 {
            return Err("[imap] max_message_size must be at least 1".into());
        }
        if self.imap.autologout_secs < 30 * 60 {
            return Err("[imap] autologout_secs must be at least 1800 (RFC 3501 §5.4)".into());
        }
        if self.pop3.autologout_secs < 10 * 60 {
            return Err("[pop3] autologout_secs must be at least 600 (RFC 1939 §3)".into());
        }
        self.proxy.validate()?;
        if self.proxy.enabled && self.server.process_model == ProcessModel::PerUser {
            return Err("[proxy] proxy mode needs process_model = \"shared\" \
                        (sessions are relayed, no mail is opened here)"
                .into());
        }
        if let Some(m) = &self.metrics {
            if !m.address.ip().is_loopback() {
                return Err(format!(
                    "[metrics] address {} is not a loopback address: metrics have no \
                     authentication; serve them on 127.0.0.1 or [::1]",
                    m.address
                ));
            }
        }
        Ok(())
    }

    /// `[limits] trusted_networks`, parsed.
    pub fn trusted_networks(&self) -> Result<Vec<ipnet::IpNet>, String> {
        self.limits
            .trusted_networks
            .iter()
            .map(|n| {
                crate::access::parse_net(n).map_err(|e| format!("[limits] trusted_networks: {e}"))
            })
            .collect()
    }

    /// The effective configuration, defaults included, as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot print: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_config_gets_defaults_and_resolved_paths() {
        let dir = std::env::temp_dir().join(format!("courser-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("courser.toml");
        std::fs::write(
            &file,
            "[[listener]]\nprotocol = \"imap\"\naddress = \"127.0.0.1:1143\"\n[auth]\nuserdb = \"userdb\"\n",
        )
        .unwrap();
        let config = Config::load(&file).unwrap();
        assert_eq!(
            config.auth.userdb.as_deref(),
            Some(dir.join("userdb").as_path())
        );
        assert_eq!(config.limits.max_connections_per_ip, 20);
        assert_eq!(config.imap.autologout_secs, 1800);
        assert!(config.to_toml().contains("max_connections = 1000"));
        assert_eq!(config.maildir.index_dir, PathBuf::new());
        assert!(config.to_toml().contains("index_dir = \"\""));
        assert_eq!(
            config.maildir.index_place(),
            courser_maildir::IndexPlace::InFolder
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn courier_rc_files_fill_backends() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("courier")).unwrap();
        std::fs::write(
            dir.path().join("courier/authldaprc"),
            "##NAME: MARKER:0\nLDAP_URI ldap://a, ldap://b\nLDAP_BASEDN dc=example,dc=com\n\
             LDAP_GLOB_UID 5000\nLDAP_GLOB_GID 5000\nLDAP_AUTHBIND 1\nLDAP_TIMEOUT 7\n\
             LDAP_DEREF always\n",
        )
        .unwrap();
        let file = dir.path().join("courser.toml");
        let text = "[[listener]]\nprotocol = \"imap\"\naddress = \"127.0.0.1:1143\"\n\
                    [[auth.backend]]\ntype = \"ldap\"\ncourier_rc = \"courier/authldaprc\"\n\
                    ca_certificate = \"ca.pem\"\ntimeout_secs = 3\n";
        std::fs::write(&file, text).unwrap();
        let (config, warnings) = Config::load_with_warnings(&file).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("authldaprc: LDAP_DEREF"),
            "{warnings:?}"
        );
        let crate::backend_config::BackendConfig::Ldap(ldap) = &config.auth.backends[0] else {
            panic!("{:?}", config.auth.backends);
        };
        assert_eq!(ldap.uri, ["ldap://a", "ldap://b"]);
        assert_eq!(ldap.homedir, "homeDir");
        assert_eq!((ldap.uid.as_deref(), ldap.cryptpw.as_deref()), (None, None));
        assert_eq!(ldap.glob_uid, Some(5000));
        assert!(ldap.authbind);
        // The table's keys win; its paths resolve as usual.
        assert_eq!(ldap.timeout_secs, 3);
        assert_eq!(
            ldap.ca_certificate.as_deref(),
            Some(dir.path().join("ca.pem").as_path())
        );
        // What check-config prints reads back the same, "no attribute"
        // included.
        let printed = config.to_toml();
        assert!(printed.contains("uid = \"\""), "{printed}");
        let again: Config = toml::from_str(&printed).unwrap();
        assert_eq!(again.auth.backends, config.auth.backends);
        // Errors name the config file, the backend, the rc file and key.
        std::fs::write(dir.path().join("courier/authldaprc"), "LDAP_URI ldap://a\n").unwrap();
        let e = Config::load(&file).unwrap_err().to_string();
        assert!(
            e.contains("courser.toml")
                && e.contains("[[auth.backend]] #1")
                && e.contains("authldaprc: LDAP_BASEDN"),
            "{e}"
        );
        std::fs::write(&file, text.replace("timeout_secs", "timeout")).unwrap();
        std::fs::write(
            dir.path().join("courier/authldaprc"),
            "LDAP_URI ldap://a\nLDAP_BASEDN o=x\n",
        )
        .unwrap();
        let e = Config::load(&file).unwrap_err().to_string();
        assert!(e.contains("timeout"), "{e}");
    }

    #[test]
    fn unknown_keys_and_missing_tls_are_errors() {
        let bad: Result<Config, _> = toml::from_str("[limits]\nmax_conections = 3\n");
        assert!(bad.is_err());
        let config: Config = toml::from_str(
            "[[listener]]\nprotocol = \"imaps\"\naddress = \"127.0.0.1:1993\"\n[auth]\nuserdb = \"u\"\n",
        )
        .unwrap();
        assert!(config.validate().unwrap_err().contains("[tls]"));
    }

    #[test]
    fn the_log_format_is_courser_s_unless_courier_s_is_asked_for() {
        let config: Config = toml::from_str("").unwrap();
        assert_eq!(config.log.format, LogFormat::Courser);
        assert_eq!(config.log.syslog_socket, Path::new("/dev/log"));
        let config: Config =
            toml::from_str("[log]\nformat = \"courier\"\nsyslog_socket = \"/run/l\"\n").unwrap();
        assert_eq!(config.log.format, LogFormat::Courier);
        assert_eq!(config.log.syslog_socket, Path::new("/run/l"));
        for bad in [
            "[log]\nformat = \"Courier\"\n",
            "[log]\nsyslog = \"/dev/log\"\n",
        ] {
            assert!(toml::from_str::<Config>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn metrics_are_served_on_loopback_only() {
        let base = "[[listener]]\nprotocol = \"imap\"\naddress = \"127.0.0.1:1143\"\n\
                    [auth]\nuserdb = \"u\"\n[metrics]\n";
        for ok in ["127.0.0.1:9143", "[::1]:9143", "127.0.0.2:9143"] {
            let config: Config = toml::from_str(&format!("{base}address = \"{ok}\"\n")).unwrap();
            assert_eq!(config.validate(), Ok(()), "{ok}");
            assert!(config.to_toml().contains("[metrics]"));
        }
        for bad in [
            "0.0.0.0:9143",
            "[::]:9143",
            "192.0.2.1:9143",
            "[::ffff:127.0.0.1]:9143",
        ] {
            let config: Config = toml::from_str(&format!("{base}address = \"{bad}\"\n")).unwrap();
            assert!(config.validate().unwrap_err().contains("loopback"), "{bad}");
        }
    }

    #[test]
    fn the_outbox_is_off_by_default_and_checked_when_on() {
        let base = "[[listener]]\nprotocol = \"imap\"\naddress = \"127.0.0.1:1143\"\n\
                    [auth]\nuserdb = \"u\"\n";
        let config: Config = toml::from_str(base).unwrap();
        assert!(config.maildir.outbox().unwrap().is_none());
        let printed = config.to_toml();
        for key in [
            "outbox = \"\"",
            "sendmail = \"/usr/sbin/sendmail -oi -t\"",
            "outbox_sender_header = \"X-IMAP-Sender\"",
            "outbox_multiple_send = false",
            "sendmail_timeout_secs = 120",
        ] {
            assert!(printed.contains(key), "{key} in {printed}");
        }
        let on = |extra: &str| -> Config {
            toml::from_str(&format!("{base}[maildir]\noutbox = \".Outbox\"\n{extra}")).unwrap()
        };
        let outbox = on("").maildir.outbox().unwrap().unwrap();
        assert_eq!(outbox.folder(), "INBOX.Outbox");
        assert_eq!(on("").validate(), Ok(()));
        for (extra, error) in [
            ("sendmail = \"sendmail -f $USER\"", "without a shell"),
            ("sendmail = \"  \"", "empty"),
            ("outbox_sender_header = \"X Sender\"", "header field name"),
            ("sendmail_timeout_secs = 0", "at least 1"),
        ] {
            let e = on(extra).validate().unwrap_err();
            assert!(
                e.starts_with("[maildir] ") && e.contains(error),
                "{extra}: {e}"
            );
        }
        let bad: Config =
            toml::from_str(&format!("{base}[maildir]\noutbox = \"Out box\"\n")).unwrap();
        assert!(bad.validate().unwrap_err().contains("outbox"));
    }

    #[test]
    fn max_message_size_reaches_the_codec_limits() {
        let base = "[[listener]]\nprotocol = \"imap\"\naddress = \"127.0.0.1:1143\"\n\
                    [auth]\nuserdb = \"u\"\n";
        let config: Config = toml::from_str(base).unwrap();
        assert_eq!(config.imap.limits().max_message, 64 * 1024 * 1024);
        assert!(config.to_toml().contains("max_message_size = 67108864"));
        let config: Config =
            toml::from_str(&format!("{base}[imap]\nmax_message_size = 1000\n")).unwrap();
        assert_eq!(config.imap.limits().max_message, 1000);
        let config: Config =
            toml::from_str(&format!("{base}[imap]\nmax_message_size = 0\n")).unwrap();
        assert!(config.validate().unwrap_err().contains("max_message_size"));
    }
}
