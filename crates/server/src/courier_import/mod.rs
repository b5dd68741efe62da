//! `courser import-courier`: a commented `courser.toml` from Courier's
//! configuration (`imapd`, `imapd-ssl`, `pop3d`, `pop3d-ssl`,
//! `authdaemonrc`, and through `authmodulelist` the auth modules' rc files
//! and the userdb).
//!
//! The files are read as Courier's start scripts read them ([`shell`]).
//! Debian's start scripts give each daemon the environment of `imapd` then
//! `imapd-ssl` (`pop3d` then `pop3d-ssl`), so a setting in the `-ssl` file
//! wins. Settings Courser has once for every protocol (the certificate,
//! the maildir path, the default domain) come from IMAP's files when an
//! IMAP service is started, else from POP3's; POP3's own value, where it
//! differs, is listed as not mapped, with the reason.
//!
//! Every assignment appears in the output: a mapped one in the comment
//! above the key it sets, every other one in the closing list with the
//! reason it is not mapped. The output is meant to load unchanged: what
//! would not (a certificate that does not load, an auth module's rc file
//! Courser cannot convert) is written as comments instead, and said in the
//! warnings.
//!
//! `Importer` holds the parsed files and the output by section; `tls`,
//! `auth` and this module fill the sections, `reasons` says why a setting
//! is left out, and `Importer::finish` writes the text.

mod auth;
mod reasons;
pub mod shell;
mod tls;

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use courser_auth::courier_rc::leading_number;

use crate::config::{Protocol, ServerConfig};
use crate::Error;
use reasons::unmapped_reason;
use shell::ShellFile;

/// The generated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The `courser.toml` text.
    pub toml: String,
    /// What an operator should look at (also in the text, as comments).
    pub warnings: Vec<String>,
}

/// Reads Courier's configuration in `dir` (usually `/etc/courier`).
/// Fails when a file exists but cannot be read, or when the result would
/// have no listener or no account source.
pub fn import(dir: &Path) -> Result<Imported, Error> {
    let dir = std::path::absolute(dir).map_err(|e| config_error(dir, e.to_string()))?;
    if !dir.is_dir() {
        return Err(config_error(&dir, "not a directory".into()));
    }
    let mut importer = Importer::read(&dir)?;
    importer.run()?;
    Ok(importer.finish())
}

fn config_error(path: &Path, message: String) -> Error {
    Error::Config {
        path: path.to_owned(),
        message,
    }
}

/// The files, in the order the start scripts source them.
const IMAP: [&str; 2] = ["imapd", "imapd-ssl"];
const POP3: [&str; 2] = ["pop3d", "pop3d-ssl"];
const AUTH: [&str; 1] = ["authdaemonrc"];

/// One service Courier starts: its file, switch, and socket settings.
struct Service {
    protocol: Protocol,
    file: &'static str,
    env: [&'static str; 2],
    start: &'static str,
    address: &'static str,
    port: &'static str,
    default_port: u16,
}

static SERVICES: [Service; 4] = [
    Service {
        protocol: Protocol::Imap,
        file: "imapd",
        env: IMAP,
        start: "IMAPDSTART",
        address: "ADDRESS",
        port: "PORT",
        default_port: 143,
    },
    Service {
        protocol: Protocol::Imaps,
        file: "imapd-ssl",
        env: IMAP,
        start: "IMAPDSSLSTART",
        address: "SSLADDRESS",
        port: "SSLPORT",
        default_port: 993,
    },
    Service {
        protocol: Protocol::Pop3,
        file: "pop3d",
        env: POP3,
        start: "POP3DSTART",
        address: "ADDRESS",
        port: "PORT",
        default_port: 110,
    },
    Service {
        protocol: Protocol::Pop3s,
        file: "pop3d-ssl",
        env: POP3,
        start: "POP3DSSLSTART",
        address: "SSLADDRESS",
        port: "SSLPORT",
        default_port: 995,
    },
];

/// A setting's effective value and where it was set.
#[derive(Debug, Clone)]
struct Setting {
    file: &'static str,
    line: usize,
    name: String,
    value: String,
    /// Where the other protocol's files set the same value.
    same_in: Option<(&'static str, usize)>,
}

impl Setting {
    /// `imapd:12 MAXDAEMONS="40"`, for comments.
    fn cite(&self) -> String {
        let same = self.same_in.map_or(String::new(), |(f, l)| {
            format!(" (and {f}:{l} {}=, the same)", self.name)
        });
        format!(
            "{}:{} {}={:?}{same}",
            self.file, self.line, self.name, self.value
        )
    }

    fn atoi(&self) -> i64 {
        leading_number(&self.value).unwrap_or(0)
    }
}

/// The generated text, by section.
#[derive(Default)]
struct Out {
    listeners: Vec<String>,
    tls: Vec<String>,
    auth: Vec<String>,
    backends: Vec<String>,
    limits: Vec<String>,
    access: Vec<String>,
    server: Vec<String>,
    imap: Vec<String>,
    pop3: Vec<String>,
    maildir: Vec<String>,
    log: Vec<String>,
}

/// `# why` then `key = value`.
fn set(lines: &mut Vec<String>, key: &str, value: impl Into<toml::Value>, why: &str) {
    for l in why.lines() {
        lines.push(format!("# {l}"));
    }
    lines.push(format!("{key} = {}", value.into()));
}

/// Lines as comments (a block that would not load).
fn commented(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            if l.starts_with('#') {
                l.clone()
            } else {
                format!("#   {l}")
            }
        })
        .collect()
}

struct Importer {
    dir: PathBuf,
    /// Parsed files by name; absent files are missing.
    files: HashMap<&'static str, ShellFile>,
    /// `(file, name)` of settings the output already cites.
    used: HashSet<(&'static str, String)>,
    /// Reasons for settings left unmapped, where the general table would
    /// not say enough.
    reasons: HashMap<(&'static str, String), String>,
    /// The services started, in [`SERVICES`] order.
    started: Vec<&'static Service>,
    /// The lowest account uid in the userdb, if it has accounts.
    lowest_uid: Option<u32>,
    out: Out,
    warnings: Vec<String>,
}

impl Importer {
    fn read(dir: &Path) -> Result<Importer, Error> {
        let mut files = HashMap::new();
        for group in [&IMAP[..], &POP3[..], &AUTH[..]] {
            // Each group is one environment: later files see earlier ones,
            // and all see what Debian's start scripts set before them.
            let mut env: HashMap<String, String> = [
                ("prefix", "/usr"),
                ("exec_prefix", "/usr"),
                ("bindir", "/usr/bin"),
                ("sbindir", "/usr/sbin"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
            for &name in group {
                let path = dir.join(name);
                let bytes = match std::fs::read(&path) {
                    Ok(b) => b,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(config_error(&path, format!("cannot read: {e}"))),
                };
                let text = String::from_utf8_lossy(&bytes);
                files.insert(name, shell::parse(&text, &mut env));
            }
        }
        if !IMAP.iter().chain(&POP3).any(|f| files.contains_key(f)) {
            return Err(config_error(
                dir,
                "none of imapd, imapd-ssl, pop3d, pop3d-ssl is here: not a Courier \
                 configuration directory"
                    .into(),
            ));
        }
        Ok(Importer {
            dir: dir.to_owned(),
            files,
            used: HashSet::new(),
            reasons: HashMap::new(),
            started: Vec::new(),
            lowest_uid: None,
            out: Out::default(),
            warnings: Vec::new(),
        })
    }

    /// The last assignment of `name` in the files of `env`.
    fn get(&self, env: &[&'static str], name: &str) -> Option<Setting> {
        env.iter().rev().find_map(|&file| {
            let f = self.files.get(file)?;
            let a = f.assignments.iter().rev().find(|a| a.name == name)?;
            Some(Setting {
                file,
                line: a.line,
                name: name.to_owned(),
                value: a.value.clone(),
                same_in: None,
            })
        })
    }

    /// [`Importer::get`], marking `name` as cited in every file of `env`.
    /// An empty value is `None` and stays uncited: the closing list says
    /// it is empty.
    fn take(&mut self, env: &[&'static str], name: &str) -> Option<Setting> {
        let value = self.get(env, name).filter(|v| !v.value.is_empty())?;
        for &file in env {
            self.used.insert((file, name.to_owned()));
        }
        Some(value)
    }

    /// The environment settings shared by every protocol come from.
    fn primary(&self) -> [&'static str; 2] {
        if self.started.iter().any(|s| s.env == IMAP) || self.started.is_empty() {
            IMAP
        } else {
            POP3
        }
    }

    /// A setting Courser has once: the primary environment's value. The
    /// other environment's is cited too when it is the same, else listed
    /// as not mapped with the reason.
    fn take_global(&mut self, name: &str) -> Option<Setting> {
        let primary = self.primary();
        let other = if primary == IMAP { POP3 } else { IMAP };
        let mut value = self.take(&primary, name);
        let theirs = self.get(&other, name).filter(|v| !v.value.is_empty());
        if let Some(theirs) = theirs {
            let same = value.as_ref().map(|v| &v.value) == Some(&theirs.value);
            if same {
                self.take(&other, name);
                if let Some(v) = &mut value {
                    v.same_in = Some((theirs.file, theirs.line));
                }
            } else {
                let why = format!(
                    "Courser has one {name} for every protocol and uses {}'s ({})",
                    if primary == IMAP { "IMAP" } else { "POP3" },
                    value
                        .as_ref()
                        .map_or("unset".into(), |v| format!("{:?}", v.value)),
                );
                for file in other {
                    self.reasons.insert((file, name.to_owned()), why.clone());
                }
                self.warn(format!("{}: {why}", theirs.cite()));
            }
        }
        value
    }

    fn warn(&mut self, w: String) {
        self.warnings.push(w);
    }

    fn run(&mut self) -> Result<(), Error> {
        for s in &SERVICES {
            if !self.files.contains_key(s.file) {
                continue;
            }
            let start = self.get(&s.env, s.start);
            // Debian's init scripts start a service whose switch says yes;
            // the start script itself ignores it.
            let on = start
                .as_ref()
                .is_none_or(|v| v.value.eq_ignore_ascii_case("yes"));
            if on {
                self.started.push(s);
            } else if let Some(v) = self.take(&s.env, s.start) {
                self.out.listeners.push(format!(
                    "# {}: not started ({}), so no {} listener",
                    s.file,
                    v.cite(),
                    s.protocol
                ));
            }
        }
        let tls = self.tls();
        self.listeners(tls);
        if self.out.listeners.iter().all(|l| l.starts_with('#')) {
            return Err(config_error(
                &self.dir,
                "no Courier service is started here with a usable address and port, \
                 so there is nothing to listen on"
                    .into(),
            ));
        }
        self.auth()?;
        self.limits();
        self.imap();
        self.pop3();
        self.maildir();
        self.access_file();
        self.log();
        Ok(())
    }

    /// Courier's access file, read as it is by `[access] imapaccess`;
    /// what in it Courser ignores is said, and a file Courser cannot read
    /// is not converted (and said so).
    fn access_file(&mut self) {
        let Some(a) = self
            .take(&IMAP, "IMAPACCESSFILE")
            .filter(|a| !a.value.is_empty())
        else {
            return;
        };
        // Relative to the folder, as if the start script ran there.
        let path = self.dir.join(&a.value);
        if !path.exists() {
            self.reasons.insert(
                (a.file, a.name.clone()),
                "no such file or directory: every address may connect, as in Courier".into(),
            );
            return;
        }
        match crate::access::imapaccess::load(&path) {
            Ok(loaded) => {
                let mut why = a.cite();
                for w in loaded.warnings {
                    why.push_str(&format!("\n(ignored, as by Courier or Courser: {w})"));
                }
                set(
                    &mut self.out.access,
                    "imapaccess",
                    path.display().to_string(),
                    &why,
                );
            }
            Err(e) => {
                let w = format!(
                    "{}: NOT CONVERTED: {e}; fix the file, then set [access] imapaccess",
                    a.cite()
                );
                self.out.access.push(format!("# {w}"));
                self.warn(w);
            }
        }
    }

    fn listeners(&mut self, tls: Result<(), String>) {
        for s in self.started.clone() {
            let start = self.take(&s.env, s.start);
            let address = self.take(&s.env, s.address);
            let port = self.take(&s.env, s.port);
            let mut cites: Vec<String> = [&start, &address, &port]
                .into_iter()
                .flatten()
                .map(Setting::cite)
                .collect();
            if s.protocol.implicit_tls() {
                if let Err(why) = &tls {
                    self.out.listeners.push(format!(
                        "# {}: {} is not served: {why}",
                        cites.join(", "),
                        s.protocol
                    ));
                    continue;
                }
            } else {
                let (name, offered) = match s.protocol {
                    Protocol::Imap => ("IMAPDSTARTTLS", "STARTTLS"),
                    _ => ("POP3_STARTTLS", "STLS"),
                };
                let starttls = self.take(&s.env, name);
                let yes = starttls
                    .as_ref()
                    .is_some_and(|v| v.value.starts_with(['y', 'Y']));
                cites.push(match (&starttls, &tls) {
                    (_, Err(_)) => format!("no {offered}: there is no [tls]"),
                    (Some(v), Ok(())) if yes => format!("{}: {offered} offered", v.cite()),
                    (v, Ok(())) => format!(
                        "{}: Courser offers {offered} anyway, whenever [tls] is set",
                        v.as_ref()
                            .map_or(format!("{name} is not set"), Setting::cite)
                    ),
                });
            }
            let ip = match address.as_ref().map(|a| a.value.as_str()) {
                None | Some("0") | Some("") => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                Some(a) => match a.parse::<IpAddr>() {
                    Ok(ip) => ip,
                    Err(_) => {
                        let w = format!(
                            "{}: {a:?} is not an IP address: no {} listener",
                            address.as_ref().map_or(String::new(), Setting::cite),
                            s.protocol
                        );
                        self.out.listeners.push(format!("# {w}"));
                        self.warn(w);
                        continue;
                    }
                },
            };
            let ports = port
                .as_ref()
                .map_or(s.default_port.to_string(), |p| p.value.clone());
            for item in ports.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                match listen_address(ip, item) {
                    Some(at) => {
                        self.out.listeners.push(format!(
                            "# {}{}",
                            cites.join(", "),
                            if ip.is_unspecified() && !item.contains('.') {
                                " (all addresses: [::] is IPv6 and IPv4)"
                            } else {
                                ""
                            }
                        ));
                        self.out.listeners.push("[[listener]]".into());
                        self.out.listeners.push(format!(
                            "protocol = {}",
                            toml::Value::from(s.protocol.as_str())
                        ));
                        self.out
                            .listeners
                            .push(format!("address = {}", toml::Value::from(at.to_string())));
                        self.out.listeners.push(String::new());
                    }
                    None => {
                        let w = format!(
                            "{}: {item:?} is not a port (or ADDRESS.PORT): no {} listener for it",
                            s.file, s.protocol
                        );
                        self.out.listeners.push(format!("# {w}"));
                        self.warn(w);
                    }
                }
            }
        }
    }

    fn limits(&mut self) {
        let mut total = 0;
        let mut per_ip = 0;
        let mut parts = Vec::new();
        for s in self.started.clone() {
            let max = self.take(&s.env, "MAXDAEMONS");
            let ip = self.take(&s.env, "MAXPERIP");
            let max_n = max.as_ref().map_or(40, Setting::atoi).max(1);
            let ip_n = ip.as_ref().map_or(4, Setting::atoi).max(1);
            total += max_n;
            per_ip += ip_n;
            parts.push(format!(
                "{} {max_n}/{ip_n} ({}, {})",
                s.file,
                max.as_ref()
                    .map_or("MAXDAEMONS unset: 40".into(), Setting::cite),
                ip.as_ref()
                    .map_or("MAXPERIP unset: 4".into(), Setting::cite),
            ));
        }
        let why = format!(
            "Courier limits each daemon on its own; Courser counts all listeners together,\n\
             so these are the sums of MAXDAEMONS / MAXPERIP: {}",
            parts.join(", ")
        );
        set(&mut self.out.limits, "max_connections", total, &why);
        set(
            &mut self.out.limits,
            "max_connections_per_ip",
            per_ip,
            "the sum of MAXPERIP, above",
        );
        set(
            &mut self.out.limits,
            "max_connections_per_user_ip",
            per_ip,
            "Courier has no per-account limit: as many as one address may open",
        );
    }

    /// A Courier switch (`atoi(value) != 0`) to a boolean key.
    fn switch(&mut self, env: &[&'static str], name: &str) -> Option<(bool, String)> {
        self.take(env, name).map(|s| (s.atoi() != 0, s.cite()))
    }

    fn imap(&mut self) {
        set(
            &mut self.out.server,
            "process_model",
            "per-user",
            "Courier runs each session as its account's uid and gid; so does per-user.\n\
             If every account has one uid (virtual mailboxes), process_model = \"shared\"\n\
             with run_as = \"<that user>\" serves more connections with less memory.\n\
             Accounts with a uid below first_valid_uid (default 500) are refused.",
        );
        let lowest = ServerConfig::default().first_valid_uid;
        if let Some(uid) = self.lowest_uid.filter(|&u| u < lowest) {
            // uid 0 is never served, whatever this says.
            set(
                &mut self.out.server,
                "first_valid_uid",
                uid.max(1),
                &format!(
                    "the userdb has accounts with uid {uid}, below Courser's default lowest ({lowest}); Courier serves them"
                ),
            );
            if uid == 0 {
                self.warn(
                    "the userdb has an account with uid 0: Courser never serves a session as root"
                        .into(),
                );
            }
        }
        if let Some(h) = self.take_global("HOSTNAME").filter(|h| !h.value.is_empty()) {
            set(&mut self.out.server, "hostname", h.value.clone(), &h.cite());
        }
        self.tls_required(Protocol::Imap);
        let cap = self.take(&IMAP, "IMAP_CAPABILITY");
        let cap_tls = self.take(&IMAP, "IMAP_CAPABILITY_TLS");
        let disable = self.switch(&IMAP, "IMAP_DISABLETHREADSORT");
        let mut sort_thread = true;
        let mut why = Vec::new();
        if let Some(c) = &cap {
            let offers = |c: &Setting| {
                c.value.split_whitespace().any(|w| {
                    w.eq_ignore_ascii_case("SORT") || w.to_ascii_uppercase().starts_with("THREAD=")
                })
            };
            if !offers(c) && !cap_tls.as_ref().is_some_and(offers) {
                sort_thread = false;
                why.push(format!("{}: without SORT and THREAD", c.cite()));
            }
            why.push(format!(
                "{}{}: the rest is Courser's to decide: it advertises every\n\
                 extension it implements, and AUTH= mechanisms from its backends ({})",
                c.cite(),
                cap_tls
                    .as_ref()
                    .map_or(String::new(), |t| format!(", {}", t.cite())),
                capability_notes(&c.value)
            ));
        }
        if let Some((true, c)) = &disable {
            sort_thread = false;
            why.push(format!(
                "{c}: Courier advertised SORT and THREAD but refused them; Courser leaves them out"
            ));
        } else if let Some((false, c)) = &disable {
            why.push(c.clone());
        }
        if !why.is_empty() {
            set(
                &mut self.out.imap,
                "sort_thread",
                sort_thread,
                &why.join("\n"),
            );
        }
        if let Some((on, c)) = self.switch(&IMAP, "IMAP_ACL") {
            set(
                &mut self.out.imap,
                "acl",
                on,
                &format!("{c}: ACL and ACL2=UNION advertised"),
            );
        }
        if let Some((on, c)) = self.switch(&IMAP, "IMAP_MOVE_EXPUNGE_TO_TRASH") {
            set(&mut self.out.imap, "move_expunge_to_trash", on, &c);
        }
        if let Some(i) = self.take(&IMAP, "IMAP_IDLE_TIMEOUT") {
            let secs = i.atoi();
            if secs > 0 {
                set(
                    &mut self.out.imap,
                    "idle_poll_secs",
                    secs,
                    &format!(
                        "{}: how often IDLE looks for changes where inotify cannot",
                        i.cite()
                    ),
                );
            } else {
                self.reasons.insert(
                    (i.file, i.name.clone()),
                    "not a number of seconds: Courser's default (60) kept".into(),
                );
            }
        }
        if let Some(s) = self.take(&IMAP, "SMAP_CAPABILITY") {
            // Courier offers SMAP when the setting is not empty.
            let on = !s.value.is_empty();
            set(&mut self.out.imap, "smap", on, &s.cite());
        }
    }

    fn pop3(&mut self) {
        if !self.files.contains_key("pop3d") && !self.files.contains_key("pop3d-ssl") {
            return;
        }
        self.tls_required(Protocol::Pop3);
    }

    /// `require_tls_for_login` from `IMAP_TLS_REQUIRED` or
    /// `POP3_TLS_REQUIRED`, with what it means.
    fn tls_required(&mut self, protocol: Protocol) {
        let (env, name, commands, starttls) = match protocol {
            Protocol::Imap => (
                IMAP,
                "IMAP_TLS_REQUIRED",
                "LOGIN and AUTHENTICATE",
                "STARTTLS",
            ),
            _ => (POP3, "POP3_TLS_REQUIRED", "USER, PASS and AUTH", "STLS"),
        };
        let (on, cite) = self
            .switch(&env, name)
            .unwrap_or((false, format!("{name} is not set (Courier: 0)")));
        let why = if on {
            format!("{cite}: {commands} only after {starttls} (loopback excepted)")
        } else {
            self.warn(format!(
                "{cite}: {protocol} passwords stay accepted on unencrypted connections, as with \
                 Courier; set [{protocol}] require_tls_for_login = true once clients use TLS"
            ));
            format!(
                "{cite}: passwords are accepted on unencrypted connections, as Courier did;\n\
                 Courser's default (true) refuses {commands} before {starttls} except on loopback"
            )
        };
        let out = match protocol {
            Protocol::Imap => &mut self.out.imap,
            _ => &mut self.out.pop3,
        };
        set(out, "require_tls_for_login", on, &why);
    }

    fn maildir(&mut self) {
        let out = &mut Vec::new();
        if let Some(p) = self
            .take_global("MAILDIRPATH")
            .filter(|p| !p.value.is_empty())
        {
            set(out, "default_path", p.value.clone(), &p.cite());
        }
        if let Some(k) = self.take(&IMAP, "IMAP_KEYWORDS") {
            let n = k.atoi();
            let why = match n {
                0 => format!("{}: no custom keywords", k.cite()),
                1 => k.cite(),
                _ => format!(
                    "{}: Courser has one way to update keywords, safe with concurrent updates",
                    k.cite()
                ),
            };
            set(out, "keywords", n != 0, &why);
        }
        if let Some(t) = self
            .take(&IMAP, "IMAP_TRASHFOLDERNAME")
            .filter(|t| !t.value.is_empty())
        {
            set(out, "trash", t.value.clone(), &t.cite());
        }
        match self.take(&IMAP, "IMAP_EMPTYTRASH") {
            Some(e) => set(out, "empty_trash", e.value.clone(), &e.cite()),
            None => set(
                out,
                "empty_trash",
                "",
                "IMAP_EMPTYTRASH is not set: Courier purges nothing",
            ),
        }
        if let Some(i) = self
            .take(&IMAP, "IMAP_SHAREDINDEXFILE")
            .filter(|i| !i.value.is_empty())
        {
            set(
                out,
                "shared_index",
                i.value.clone(),
                &format!("{}: virtual shared folders", i.cite()),
            );
        }
        if let Some((on, c)) = self.switch(&IMAP, "IMAP_SHAREDMUNGENAMES") {
            set(out, "shared_munge_names", on, &c);
        }
        let outbox = self.take(&IMAP, "OUTBOX").filter(|o| !o.value.is_empty());
        let sendmail = self.take(&IMAP, "SENDMAIL").filter(|s| !s.value.is_empty());
        let header = self.take(&IMAP, "HEADERFROM");
        let multiple = self.switch(&IMAP, "OUTBOX_MULTIPLE_SEND");
        let mut lines = Vec::new();
        if let Some(o) = &outbox {
            set(
                &mut lines,
                "outbox",
                o.value.clone(),
                &format!("{}: mailed with sendmail", o.cite()),
            );
        }
        if let Some(s) = &sendmail {
            set(
                &mut lines,
                "sendmail",
                format!("{} -oi -t", s.value),
                &format!(
                    "{}: Courier runs it as `$SENDMAIL -oi -t -f <login>`",
                    s.cite()
                ),
            );
        }
        if let Some(h) = &header {
            set(
                &mut lines,
                "outbox_sender_header",
                h.value.clone(),
                &h.cite(),
            );
        }
        if let Some((on, c)) = multiple {
            set(&mut lines, "outbox_multiple_send", on, &c);
        }
        let check = crate::config::MaildirConfig {
            outbox: outbox.as_ref().map_or(String::new(), |o| o.value.clone()),
            sendmail: sendmail
                .as_ref()
                .map_or(crate::config::MaildirConfig::default().sendmail, |s| {
                    format!("{} -oi -t", s.value)
                }),
            outbox_sender_header: header.as_ref().map_or(
                crate::config::MaildirConfig::default().outbox_sender_header,
                |h| h.value.clone(),
            ),
            ..Default::default()
        };
        match check.outbox() {
            Ok(_) => out.extend(lines),
            Err(e) => {
                let w = format!("the Outbox settings do not work in Courser ({e}): left out");
                out.push(format!("# {w}"));
                out.extend(commented(&lines));
                self.warn(w);
            }
        }
        self.out.maildir = std::mem::take(out);
    }

    /// Courier's daemons send their login lines to syslog (facility
    /// mail) through courierlogger, named by `LOGGEROPTS`'s `-name=`;
    /// fail2ban's courier-auth jail and log scripts read them, so Courser
    /// writes the same lines. Its program names are Courier's defaults.
    fn log(&mut self) {
        let mut why = vec![
            "Courier logs logins to syslog (courierlogger); Courser writes the same lines there,"
                .to_owned(),
            "so fail2ban's courier-auth jail and log scripts keep working".to_owned(),
        ];
        for (file, name, program) in [
            ("imapd", "LOGGEROPTS", "imapd"),
            ("imapd-ssl", "SSLLOGGEROPTS", "imapd-ssl"),
            ("pop3d", "LOGGEROPTS", "pop3d"),
            ("pop3d-ssl", "SSLLOGGEROPTS", "pop3d-ssl"),
        ] {
            let Some(v) = self.take(&[file], name) else {
                continue;
            };
            if v.value
                .split_whitespace()
                .any(|o| o == format!("-name={program}"))
            {
                why.push(v.cite());
            } else {
                let w = format!(
                    "{}: Courser's lines are named {program}, as Courier names them by default",
                    v.cite()
                );
                why.push(w.clone());
                self.warn(w);
            }
        }
        set(&mut self.out.log, "format", "courier", &why.join("\n"));
    }

    /// The text: the sections, then every setting not cited, with why.
    fn finish(mut self) -> Imported {
        let mut text = format!(
            "# courser.toml written by `courser import-courier --from {}`.\n\
             # Each key says which Courier setting it comes from; the settings it does\n\
             # not map are listed at the end with the reason. Check it with\n\
             # `courser check-config --config FILE`.\n\n",
            self.dir.display()
        );
        let o = &self.out;
        text.push_str(o.listeners.join("\n").trim_end());
        text.push_str("\n\n");
        for (header, lines) in [
            ("[tls]", &o.tls),
            ("[auth]", &o.auth),
            ("", &o.backends),
            ("[limits]", &o.limits),
            ("[access]", &o.access),
            ("[server]", &o.server),
            ("[imap]", &o.imap),
            ("[pop3]", &o.pop3),
            ("[maildir]", &o.maildir),
            ("[log]", &o.log),
        ] {
            if lines.is_empty() {
                continue;
            }
            // A section of comments only gets no header of its own.
            if !header.is_empty() && lines.iter().any(|l| !l.starts_with('#')) {
                text.push_str(header);
                text.push('\n');
            }
            text.push_str(lines.join("\n").trim_end());
            text.push_str("\n\n");
        }
        text.push_str("# ---- Courier settings not mapped ----\n");
        let dir = self.dir.clone();
        for file in IMAP.iter().chain(&POP3).chain(&AUTH) {
            let Some(f) = self.files.get(file) else {
                text.push_str(&format!("# {file}: not found in {}\n", dir.display()));
                continue;
            };
            for (line, problem) in &f.problems {
                let w = format!("{file}:{line}: {problem}");
                text.push_str(&format!("# {w}\n"));
                self.warnings.push(w);
            }
            for a in &f.assignments {
                if self.used.contains(&(*file, a.name.clone())) {
                    // Cited unless a later assignment replaced it.
                    let env = [&IMAP[..], &POP3[..], &AUTH[..]]
                        .into_iter()
                        .find(|env| env.contains(file))
                        .unwrap_or(&AUTH[..]);
                    match self.get(env, &a.name) {
                        Some(last) if (last.file, last.line) != (*file, a.line) => {
                            text.push_str(&format!(
                                "# {file}:{} {}={:?}: replaced by {}:{}, which counts\n",
                                a.line, a.name, a.value, last.file, last.line
                            ));
                        }
                        _ => {}
                    }
                    continue;
                }
                let why = self
                    .reasons
                    .get(&(*file, a.name.clone()))
                    .cloned()
                    .unwrap_or_else(|| unmapped_reason(&a.name, &a.value));
                text.push_str(&format!(
                    "# {file}:{} {}={:?}: {why}\n",
                    a.line, a.name, a.value
                ));
            }
        }
        Imported {
            toml: text,
            warnings: self.warnings,
        }
    }
}

/// What `IMAP_CAPABILITY` asks for that Courser does not switch.
fn capability_notes(value: &str) -> String {
    let words: Vec<&str> = value
        .split_whitespace()
        .filter(|w| {
            let w = w.to_ascii_uppercase();
            w != "SORT" && !w.starts_with("THREAD=")
        })
        .collect();
    let mut notes = if words.is_empty() {
        "nothing else asked for".to_owned()
    } else {
        format!("asked for: {}", words.join(" "))
    };
    // What Courser always offers, which Courier could leave out.
    let anyway: Vec<&str> = ["UIDPLUS", "CHILDREN", "NAMESPACE", "QUOTA", "IDLE"]
        .into_iter()
        .filter(|c| !words.iter().any(|w| w.eq_ignore_ascii_case(c)))
        .collect();
    if !anyway.is_empty() {
        notes.push_str(&format!(
            "; offered anyway, Courser cannot turn them off: {}",
            anyway.join(" ")
        ));
    }
    notes
}

/// `PORT` list item (`143` or `ADDRESS.143`) on `ip`.
fn listen_address(ip: IpAddr, item: &str) -> Option<SocketAddr> {
    let (ip, port) = match item.rsplit_once('.') {
        Some((a, p)) => (a.parse().ok()?, p),
        None => (ip, item),
    };
    let port: u16 = port.parse().ok().filter(|&p| p != 0)?;
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests;
