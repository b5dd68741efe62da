//! `[[auth.backend]]` tables: which account source, and its settings
//! (built in the authentication process by [`crate::auth`]).

use std::path::{Path, PathBuf};

use courser_auth::ldap::LdapConfig;
use courser_auth::passwd::{DEFAULT_PASSWD, DEFAULT_SHADOW};
use courser_auth::sql::SqlConfig;
use serde::{Deserialize, Serialize};

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
}
