//! `[auth]` backends: their configuration (`[[auth.backend]]`), building
//! the [`Authenticator`] from it, and the privileged helper processes
//! that run PAM and shadow lookups for a server that gave up root.
//!
//! # The helper process
//!
//! When `courser serve` starts as root, every `pam` backend and every
//! `passwd` backend that reads a shadow file is served by a helper: the
//! server runs `courser auth-helper` (its own executable) before dropping
//! root, one helper per such backend. The helper stays root, binds a Unix
//! socket in a fresh directory that only the serving user can enter, and
//! answers Courier's authdaemond protocol (see
//! `courser_auth::helper`); the server reaches it with the authdaemond
//! client, so the backend keeps its place in the order. The helper's
//! standard input is a pipe from the server: when the server exits, the
//! helper sees end of file and exits too. Not started as root, backends
//! run in-process (PAM can then only check the invoking user, and shadow
//! is unreadable: both report a temporary failure).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use courser_auth::authdaemond::AuthdaemondBackend;
use courser_auth::authpipe::AuthpipeBackend;
use courser_auth::ldap::{LdapBackend, LdapConfig};
use courser_auth::passwd::{PasswdBackend, DEFAULT_PASSWD, DEFAULT_SHADOW};
use courser_auth::sql::{SqlBackend, SqlConfig};
use courser_auth::userdb::UserdbBackend;
use courser_auth::{Authenticator, Backend, DefaultDomain, Options};
use serde::{Deserialize, Serialize};

use crate::config::AuthConfig;

/// One `[[auth.backend]]` table; `type` selects the variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum BackendConfig {
    /// Courier's userdb text file or directory.
    Userdb(UserdbSettings),
    /// `/etc/passwd` + `/etc/shadow` (authpwd / authshadow).
    Passwd(PasswdSettings),
    /// PAM (authpam).
    Pam(PamSettings),
    /// PostgreSQL, MariaDB/MySQL or SQLite (authpgsql, authmysql,
    /// authsqlite), keys named after Courier's rc files.
    Sql(SqlConfig),
    /// LDAP (authldap), keys named after authldaprc.
    Ldap(LdapConfig),
    /// An authpipe program.
    Authpipe(AuthpipeSettings),
    /// A running Courier authdaemond.
    Authdaemond(AuthdaemondSettings),
}

/// `type = "userdb"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserdbSettings {
    /// The userdb source file or directory.
    pub path: PathBuf,
}

/// `type = "passwd"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswdSettings {
    /// The passwd file.
    #[serde(default = "default_passwd")]
    pub passwd: PathBuf,
    /// The shadow file; `""` for none (passwords in passwd itself).
    #[serde(default = "default_shadow")]
    pub shadow: PathBuf,
}

/// `type = "pam"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PamSettings {
    /// PAM service name; default: the protocol's (`imap`, `pop3`), as
    /// Courier does.
    pub service: Option<String>,
    /// The passwd file that gives uid, gid and home.
    #[serde(default = "default_passwd")]
    pub passwd: PathBuf,
}

/// `type = "authpipe"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthpipeSettings {
    /// The program (Courier's `authProg`).
    pub program: PathBuf,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Seconds to wait for an answer.
    #[serde(default = "default_backend_timeout")]
    pub timeout_secs: u64,
    /// The program answers CRAM requests: advertise CRAM-*.
    #[serde(default)]
    pub cram: bool,
}

/// `type = "authdaemond"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthdaemondSettings {
    /// The daemon's socket.
    #[serde(default = "default_authdaemond_socket")]
    pub socket: PathBuf,
    /// Seconds to wait for an answer (Courier's `TIMEOUT_READ`).
    #[serde(default = "default_backend_timeout")]
    pub timeout_secs: u64,
    /// The daemon's modules can answer CRAM: advertise CRAM-*.
    #[serde(default)]
    pub cram: bool,
}

fn default_passwd() -> PathBuf {
    PathBuf::from(DEFAULT_PASSWD)
}
fn default_shadow() -> PathBuf {
    PathBuf::from(DEFAULT_SHADOW)
}
fn default_backend_timeout() -> u64 {
    30
}
fn default_authdaemond_socket() -> PathBuf {
    PathBuf::from(courser_auth::authdaemond::DEFAULT_SOCKET)
}

impl BackendConfig {
    /// The `type` name.
    pub fn kind(&self) -> &'static str {
        match self {
            BackendConfig::Userdb(_) => "userdb",
            BackendConfig::Passwd(_) => "passwd",
            BackendConfig::Pam(_) => "pam",
            BackendConfig::Sql(_) => "sql",
            BackendConfig::Ldap(_) => "ldap",
            BackendConfig::Authpipe(_) => "authpipe",
            BackendConfig::Authdaemond(_) => "authdaemond",
        }
    }

    /// Resolves relative paths against the config file's folder.
    pub fn resolve_paths(&mut self, base: &Path) {
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() && !p.as_os_str().is_empty() {
                *p = base.join(&*p);
            }
        };
        match self {
            BackendConfig::Userdb(s) => resolve(&mut s.path),
            BackendConfig::Passwd(s) => {
                resolve(&mut s.passwd);
                resolve(&mut s.shadow);
            }
            BackendConfig::Pam(s) => resolve(&mut s.passwd),
            BackendConfig::Sql(s) => {
                if let Some(rest) = s.url.strip_prefix("sqlite://") {
                    if !rest.starts_with('/') && !rest.starts_with(':') {
                        s.url = format!("sqlite://{}", base.join(rest).display());
                    }
                }
            }
            BackendConfig::Ldap(s) => {
                if let Some(ca) = &mut s.ca_certificate {
                    resolve(ca);
                }
            }
            BackendConfig::Authpipe(s) => resolve(&mut s.program),
            BackendConfig::Authdaemond(s) => resolve(&mut s.socket),
        }
    }

    /// Checks what can be checked without connecting.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            BackendConfig::Sql(s) if s.url.is_empty() => Err("sql backend needs url".into()),
            BackendConfig::Ldap(s) if s.uri.is_empty() => Err("ldap backend needs uri".into()),
            BackendConfig::Ldap(s) if s.basedn.is_empty() => {
                Err("ldap backend needs basedn".into())
            }
            _ => Ok(()),
        }
    }

    /// Whether this backend needs root (and so a helper when the server
    /// drops privileges).
    fn needs_root(&self) -> bool {
        match self {
            BackendConfig::Pam(_) => true,
            BackendConfig::Passwd(s) => !s.shadow.as_os_str().is_empty(),
            _ => false,
        }
    }

    /// Builds the backend in this process.
    pub fn build(&self) -> Result<Arc<dyn Backend>, String> {
        Ok(match self {
            BackendConfig::Userdb(s) => Arc::new(UserdbBackend::new(&s.path)),
            BackendConfig::Passwd(s) => Arc::new(PasswdBackend::new(
                &s.passwd,
                Some(s.shadow.clone()).filter(|p| !p.as_os_str().is_empty()),
            )),
            BackendConfig::Pam(s) => Arc::new(
                courser_auth::pam::PamBackend::new(s.service.clone()).passwd_file(&s.passwd),
            ),
            BackendConfig::Sql(s) => Arc::new(SqlBackend::new(s.clone())?),
            BackendConfig::Ldap(s) => Arc::new(LdapBackend::new(s.clone())?),
            BackendConfig::Authpipe(s) => Arc::new(
                AuthpipeBackend::new(&s.program, s.args.clone())
                    .timeout(Duration::from_secs(s.timeout_secs.max(1)))
                    .cram(s.cram),
            ),
            BackendConfig::Authdaemond(s) => Arc::new(
                AuthdaemondBackend::new(&s.socket)
                    .timeout(Duration::from_secs(s.timeout_secs.max(1)))
                    .cram(s.cram),
            ),
        })
    }
}

/// The backends in order: the legacy `[auth] userdb` first, then every
/// `[[auth.backend]]`.
pub fn backend_list(config: &AuthConfig) -> Vec<BackendConfig> {
    let mut list = Vec::new();
    if let Some(path) = &config.userdb {
        list.push(BackendConfig::Userdb(UserdbSettings { path: path.clone() }));
    }
    list.extend(config.backends.iter().cloned());
    list
}

/// Builds the authenticator. Backends that have a running helper (same
/// settings) are reached through it.
pub fn authenticator(config: &AuthConfig, helpers: &Helpers) -> Result<Authenticator, String> {
    let mut auth = Authenticator::new()
        .courier_fallthrough(config.courier_fallthrough)
        .max_password_length(config.max_password_length);
    if let Some(o) = &config.default_options {
        auth = auth.default_options(Options::new(o.clone()));
    }
    if let Some(d) = config.default_domain.as_deref().filter(|d| !d.is_empty()) {
        auth = auth.default_domain(Some(DefaultDomain {
            suffix: format!("@{d}"),
            separators: None,
        }));
    }
    for (i, b) in backend_list(config).iter().enumerate() {
        let backend = match helpers.socket_for(b) {
            Some(socket) => Arc::new(AuthdaemondBackend::new(socket).named(b.kind()).passwd_file(
                match b {
                    BackendConfig::Pam(s) => s.passwd.clone(),
                    BackendConfig::Passwd(s) => s.passwd.clone(),
                    _ => default_passwd(),
                },
            )),
            None => {
                if b.needs_root() && rustix::process::geteuid().is_root() {
                    tracing::warn!(
                        backend = b.kind(),
                        "no helper runs for this backend (added by a reload?): it runs in the server and fails once root is gone"
                    );
                }
                b.build()
                    .map_err(|e| format!("[[auth.backend]] #{} ({}): {e}", i + 1, b.kind()))?
            }
        };
        auth.push_backend(backend);
    }
    Ok(auth)
}

/// The uid and gid `[server] run_as` names, if any (the helpers' sockets
/// are handed to that user).
pub fn run_as_ids(config: &crate::config::Config) -> Option<(u32, u32)> {
    let name = crate::privilege::serving_user(config)?;
    let user = nix::unistd::User::from_name(name).ok().flatten()?;
    Some((user.uid.as_raw(), user.gid.as_raw()))
}

/// The running helper processes.
#[derive(Debug, Default)]
pub struct Helpers {
    running: Vec<(BackendConfig, PathBuf, Child)>,
    dir: Option<PathBuf>,
}

impl Helpers {
    fn socket_for(&self, b: &BackendConfig) -> Option<PathBuf> {
        self.running
            .iter()
            .find(|(c, _, _)| c == b)
            .map(|(_, s, _)| s.clone())
    }

    /// Starts one helper per root-needing backend, when running as root.
    /// `owner` is the uid and gid the server will run as (who may use the
    /// sockets). Waits until every helper answers on its socket.
    pub fn start(config: &AuthConfig, owner: Option<(u32, u32)>) -> Result<Helpers, String> {
        let mut helpers = Helpers::default();
        if !rustix::process::geteuid().is_root() {
            return Ok(helpers);
        }
        let wanted: Vec<BackendConfig> = backend_list(config)
            .into_iter()
            .filter(BackendConfig::needs_root)
            .collect();
        if wanted.is_empty() {
            return Ok(helpers);
        }
        let exe = std::env::current_exe().map_err(|e| format!("auth helper: {e}"))?;
        let dir = std::env::temp_dir().join(format!("courser-auth-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        let (uid, gid) = owner.unwrap_or((0, 0));
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        helpers.dir = Some(dir.clone());
        for (n, b) in wanted.into_iter().enumerate() {
            let socket = dir.join(format!("{}-{n}.sock", b.kind()));
            let backend = toml::to_string(&b).map_err(|e| e.to_string())?;
            let child = Command::new(&exe)
                .arg("auth-helper")
                .arg("--socket")
                .arg(&socket)
                .arg("--owner")
                .arg(format!("{uid}:{gid}"))
                .arg("--backend")
                .arg(backend)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|e| format!("cannot start the auth helper: {e}"))?;
            helpers.running.push((b, socket.clone(), child));
            wait_for_socket(&socket)?;
            tracing::info!(socket = %socket.display(), "auth helper started");
        }
        Ok(helpers)
    }
}

impl Drop for Helpers {
    fn drop(&mut self) {
        for (_, _, child) in &mut self.running {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn wait_for_socket(socket: &Path) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if std::os::unix::net::UnixStream::connect(socket).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!(
        "auth helper never listened on {}",
        socket.display()
    ))
}

/// `courser auth-helper`: serves one backend on `socket` until standard
/// input closes. Runs as root; see the module documentation.
pub fn helper_main(socket: &Path, owner: (u32, u32), backend: &str) -> Result<(), String> {
    let config: BackendConfig =
        toml::from_str(backend).map_err(|e| format!("backend settings: {e}"))?;
    let built = config.build()?;
    // The server refused over-long passwords before asking (its limit is
    // the configured one, which a reload may raise).
    let mut auth = Authenticator::new().max_password_length(usize::MAX);
    auth.push_backend(built);
    let _ = std::fs::remove_file(socket);
    let listener = std::os::unix::net::UnixListener::bind(socket)
        .map_err(|e| format!("{}: {e}", socket.display()))?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| std::os::unix::fs::chown(socket, Some(owner.0), Some(owner.1)))
        .map_err(|e| format!("{}: {e}", socket.display()))?;
    let socket_path = socket.to_owned();
    std::thread::spawn(move || {
        // The server holds our standard input; its end means the server's.
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        let _ = std::fs::remove_file(&socket_path);
        std::process::exit(0);
    });
    courser_auth::helper::serve(listener, Arc::new(auth));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_tables_parse_and_print() {
        let text = r#"
userdb = "u"
default_domain = "example.com"

[[backend]]
type = "passwd"
passwd = "p"
shadow = ""

[[backend]]
type = "pam"
service = "imap"

[[backend]]
type = "sql"
url = "postgres://courier@localhost/mail"
clear_pwfield = "clear"
select_clause = "SELECT 1"

[[backend]]
type = "ldap"
uri = ["ldap://127.0.0.1:389"]
basedn = "dc=example,dc=com"
authbind = true

[[backend]]
type = "authpipe"
program = "/usr/lib/authProg"

[[backend]]
type = "authdaemond"
"#;
        let mut config: AuthConfig = toml::from_str(text).unwrap();
        for b in &mut config.backends {
            b.resolve_paths(Path::new("/etc/courser"));
            b.validate().unwrap();
        }
        let list = backend_list(&config);
        let kinds: Vec<_> = list.iter().map(BackendConfig::kind).collect();
        assert_eq!(
            kinds,
            [
                "userdb",
                "passwd",
                "pam",
                "sql",
                "ldap",
                "authpipe",
                "authdaemond"
            ]
        );
        match &list[1] {
            BackendConfig::Passwd(p) => {
                assert_eq!(p.passwd, Path::new("/etc/courser/p"));
                assert!(!list[1].needs_root());
            }
            other => panic!("{other:?}"),
        }
        match &list[3] {
            BackendConfig::Sql(s) => {
                assert_eq!(s.user_table, "passwd");
                assert_eq!(s.crypt_pwfield.as_deref(), Some("crypt"));
            }
            other => panic!("{other:?}"),
        }
        let printed = toml::to_string(&config).unwrap();
        assert!(printed.contains("type = \"ldap\""), "{printed}");
        let again: AuthConfig = toml::from_str(&printed).unwrap();
        assert_eq!(again.backends, config.backends);
        let bad: Result<AuthConfig, _> =
            toml::from_str("[[backend]]\ntype = \"sql\"\nurll = \"x\"\n");
        assert!(bad.is_err());
        let bad: Result<AuthConfig, _> = toml::from_str("[[backend]]\ntype = \"nis\"\n");
        assert!(bad.is_err());
    }
}
