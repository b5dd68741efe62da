//! Building the [`Authenticator`] from `[auth]` and its backends
//! ([`BackendConfig`]) — in the authentication process
//! ([`crate::authd`]), which alone holds account sources.
//!
//! Started as root, that process keeps root, so PAM and shadow work and
//! root-only files (Courier's userdb, mode 0600) are readable; not started
//! as root, it runs as the invoking user (PAM can then only check that
//! user, and shadow is unreadable: both report a temporary failure).

use std::sync::Arc;
use std::time::Duration;

use courser_auth::authdaemond::AuthdaemondBackend;
use courser_auth::authpipe::AuthpipeBackend;
use courser_auth::ldap::LdapBackend;
use courser_auth::passwd::PasswdBackend;
use courser_auth::sql::SqlBackend;
use courser_auth::userdb::UserdbBackend;
use courser_auth::{Authenticator, Backend, DefaultDomain, Options};

use crate::backend_config::{BackendConfig, UserdbSettings};
use crate::config::AuthConfig;

/// Builds the backend `config` describes, in this process.
pub fn backend(config: &BackendConfig) -> Result<Arc<dyn Backend>, String> {
    Ok(match config {
        BackendConfig::Userdb(s) => Arc::new(UserdbBackend::new(&s.path)),
        BackendConfig::Passwd(s) => Arc::new(PasswdBackend::new(
            &s.passwd,
            Some(s.shadow.clone()).filter(|p| !p.as_os_str().is_empty()),
        )),
        BackendConfig::Pam(s) => {
            let pam = courser_auth::pam::PamBackend::new(s.service.clone()).passwd_file(&s.passwd);
            pam.check()?;
            Arc::new(pam)
        }
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
        .master_users(config.master_users.clone())
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
        let backend =
            backend(b).map_err(|e| format!("[[auth.backend]] #{} ({}): {e}", i + 1, b.kind()))?;
        auth.push_backend(backend);
    }
    Ok(auth)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

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
