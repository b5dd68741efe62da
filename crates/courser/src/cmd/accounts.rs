//! Where the account tools (`authtest`, `authenumerate`, `shared-index`)
//! find accounts: the `[auth]` backends of a server configuration, in
//! their order, or a userdb read directly (no daemon needed).

use std::path::PathBuf;

use courser_auth::userdb::{UserdbBackend, DEFAULT_PATH};
use courser_auth::Authenticator;

/// The account source options every account tool takes.
#[derive(clap::Args, Debug)]
pub struct Source {
    /// The userdb file or directory (Courier's text format).
    #[arg(long, value_name = "FILE", default_value = DEFAULT_PATH)]
    pub userdb: PathBuf,
    /// Use the backends of this server configuration instead of --userdb
    /// (in this process: PAM and shadow need root).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// One account a tool acts on, where it is, and for which service.
#[derive(clap::Args, Debug)]
pub struct Target {
    /// Where the accounts are.
    #[command(flatten)]
    pub source: Source,
    /// Service name: selects `<service>pw` over `systempw`, as a login to
    /// that service would (Courier's default is `login`; the servers use
    /// `imap` and `pop3`).
    #[arg(short = 's', long, default_value = "login")]
    pub service: String,
    /// The login name.
    pub user: String,
}

impl Source {
    /// The authenticator over the chosen backends.
    pub fn authenticator(&self) -> Result<Authenticator, String> {
        match &self.config {
            None => Ok(Authenticator::new().with_backend(UserdbBackend::new(&self.userdb))),
            Some(path) => courser_server::config::Config::load(path)
                .map_err(|e| e.to_string())
                .and_then(|c| courser_server::auth::authenticator(&c.auth)),
        }
    }

    /// How long a failed login waits before its answer: the
    /// configuration's `[auth] failure_delay_secs`, or its default.
    pub fn failure_delay(&self) -> Result<std::time::Duration, String> {
        let seconds = match &self.config {
            None => courser_server::config::AuthConfig::default().failure_delay_secs,
            Some(path) => {
                courser_server::config::Config::load(path)
                    .map_err(|e| e.to_string())?
                    .auth
                    .failure_delay_secs
            }
        };
        Ok(std::time::Duration::from_secs(seconds))
    }

    /// `[maildir] shared_index` of the configuration, if set: the shared
    /// folder index file (Courier's `IMAP_SHAREDINDEXFILE`), relative to
    /// the configuration file's folder.
    pub fn shared_index(&self) -> Result<Option<PathBuf>, String> {
        let Some(path) = &self.config else {
            return Ok(None);
        };
        let config = courser_server::config::Config::load(path).map_err(|e| e.to_string())?;
        let index = config.maildir.shared_index;
        Ok((!index.as_os_str().is_empty()).then_some(index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_index_from_the_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("courser.toml");
        std::fs::write(dir.path().join("userdb"), "").unwrap();
        let write = |maildir: &str| {
            let text = format!(
                "[[listener]]\nprotocol = \"imap\"\naddress = \"127.0.0.1:1143\"\n\
                 [auth]\nuserdb = \"userdb\"\n[maildir]\n{maildir}\n"
            );
            std::fs::write(&config, text).unwrap();
        };
        let source = |config: Option<PathBuf>| Source {
            userdb: PathBuf::from(DEFAULT_PATH),
            config,
        };
        assert_eq!(source(None).shared_index(), Ok(None));
        write("shared_index = \"shared/index\"");
        assert_eq!(
            source(Some(config.clone())).shared_index(),
            Ok(Some(dir.path().join("shared/index")))
        );
        write("shared_index = \"/etc/courier/shared/index\"");
        assert_eq!(
            source(Some(config.clone())).shared_index(),
            Ok(Some(PathBuf::from("/etc/courier/shared/index")))
        );
        write("shared_index = \"\"");
        assert_eq!(source(Some(config.clone())).shared_index(), Ok(None));
        std::fs::write(&config, "[maildir\n").unwrap();
        assert!(source(Some(config)).shared_index().is_err());
    }
}
