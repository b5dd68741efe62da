//! `[auth]` backends: their configuration (`[[auth.backend]]`) and
//! building the [`Authenticator`] from it — in the authentication
//! process ([`crate::authd`]), which alone holds account sources.
//!
//! Started as root, that process keeps root, so PAM and shadow work and
//! root-only files (Courier's userdb, mode 0600) are readable; not started
//! as root, it runs as the invoking user (PAM can then only check that
//! user, and shadow is unreadable: both report a temporary failure).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

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

/// Builds the authenticator.
pub fn authenticator(config: &AuthConfig) -> Result<Authenticator, String> {
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
        let backend = b
            .build()
            .map_err(|e| format!("[[auth.backend]] #{} ({}): {e}", i + 1, b.kind()))?;
        auth.push_backend(backend);
    }
    Ok(auth)
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
