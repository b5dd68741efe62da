//! Giving up root after binding (DESIGN.md, process model "shared"), and
//! the open-files limit.

use nix::unistd::{self, Uid, User};

use crate::config::{Config, ProcessModel};
use crate::Error;

/// When running as root, switches to `[server] run_as` and returns the
/// uid every account must have. Not root: nothing changes and every
/// session runs as the invoking user (said once in the log).
pub fn drop_root(config: &Config) -> Result<Option<u32>, Error> {
    if !Uid::effective().is_root() {
        tracing::info!(
            "not started as root: every session runs as uid {}, accounts' uid/gid are not applied",
            Uid::effective()
        );
        return Ok(None);
    }
    if config.server.process_model == ProcessModel::PerUser {
        return Err(Error::Privilege(
            "process_model = \"per-user\" is not available in this build; use \"shared\" with run_as".into(),
        ));
    }
    let Some(name) = &config.server.run_as else {
        return Err(Error::Privilege(
            "started as root in shared mode without [server] run_as: refusing to serve sessions as root".into(),
        ));
    };
    let user = User::from_name(name)
        .map_err(|e| Error::Privilege(format!("cannot look up run_as user {name}: {e}")))?
        .ok_or_else(|| Error::Privilege(format!("run_as user {name} does not exist")))?;
    if user.uid.is_root() {
        return Err(Error::Privilege("run_as must not be root".into()));
    }
    let cname = std::ffi::CString::new(name.as_str())
        .map_err(|_| Error::Privilege("run_as contains NUL".into()))?;
    unistd::initgroups(&cname, user.gid)
        .and_then(|()| unistd::setgid(user.gid))
        .and_then(|()| unistd::setuid(user.uid))
        .map_err(|e| Error::Privilege(format!("cannot switch to {name}: {e}")))?;
    // Paranoia: make sure root cannot be regained.
    if unistd::setuid(Uid::from_raw(0)).is_ok() {
        return Err(Error::Privilege(
            "root could be regained after dropping it".into(),
        ));
    }
    tracing::info!("serving as {name} (uid {}, gid {})", user.uid, user.gid);
    Ok(Some(user.uid.as_raw()))
}

/// Raises the soft open-files limit to the hard limit: every connection
/// holds a socket and, while working, a few files.
pub fn raise_open_files_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
                Ok(()) => tracing::debug!("open files limit raised from {soft} to {hard}"),
                Err(e) => tracing::warn!("cannot raise the open files limit: {e}"),
            }
        }
    }
}
