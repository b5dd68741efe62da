//! Giving up root after binding (DESIGN.md, process model "shared"), and
//! the open-files limit.

use nix::unistd::{self, Gid, Uid, User};

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
    let per_user = config.server.process_model == ProcessModel::PerUser;
    let Some(name) = serving_user(config) else {
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
    switch_ids(name, user.uid.as_raw(), user.gid.as_raw(), true)?;
    if per_user {
        tracing::info!(
            "front end runs as {name} (uid {}, gid {}); sessions run as their accounts",
            user.uid,
            user.gid
        );
        return Ok(None);
    }
    tracing::info!("serving as {name} (uid {}, gid {})", user.uid, user.gid);
    Ok(Some(user.uid.as_raw()))
}

/// The front end's user in per-user mode when `run_as` is not set.
const PER_USER_FRONT_END: &str = "nobody";

/// The user the serving process runs as once root is dropped: `run_as`,
/// or in per-user mode, where the front end only parses logins and
/// relays, `nobody` by default (Dovecot's dovenull idea).
pub fn serving_user(config: &Config) -> Option<&str> {
    match (&config.server.run_as, config.server.process_model) {
        (Some(name), _) => Some(name),
        (None, ProcessModel::PerUser) => Some(PER_USER_FRONT_END),
        (None, ProcessModel::Shared) => None,
    }
}

/// Switches a per-user worker process (started as root) to an account:
/// supplementary groups (the system user's when `login` is a system user
/// with this uid, else just `gid`), then gid, then uid.
pub fn become_account(login: &str, uid: u32, gid: u32) -> Result<(), Error> {
    if uid == 0 || gid == 0 {
        return Err(Error::Privilege(format!(
            "{login}: uid/gid 0 is never served"
        )));
    }
    let system_user = User::from_name(login)
        .ok()
        .flatten()
        .is_some_and(|u| u.uid.as_raw() == uid);
    switch_ids(login, uid, gid, system_user)
}

/// Sets groups, gid and uid, then makes sure root cannot come back.
/// `system_groups`: take `name`'s supplementary groups from the group
/// database; otherwise the primary group is the only one.
fn switch_ids(name: &str, uid: u32, gid: u32, system_groups: bool) -> Result<(), Error> {
    let fail = |e: nix::Error| Error::Privilege(format!("cannot switch to {name}: {e}"));
    let gid = Gid::from_raw(gid);
    let groups = if system_groups {
        let cname = std::ffi::CString::new(name)
            .map_err(|_| Error::Privilege(format!("{name:?} contains NUL")))?;
        unistd::getgrouplist(&cname, gid).map_err(fail)?
    } else {
        vec![gid]
    };
    unistd::setgroups(&groups)
        .and_then(|()| unistd::setgid(gid))
        .and_then(|()| unistd::setuid(Uid::from_raw(uid)))
        .map_err(fail)?;
    // Paranoia: make sure root cannot be regained.
    if unistd::setuid(Uid::from_raw(0)).is_ok() || unistd::setgid(Gid::from_raw(0)).is_ok() {
        return Err(Error::Privilege(
            "root could be regained after dropping it".into(),
        ));
    }
    Ok(())
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
