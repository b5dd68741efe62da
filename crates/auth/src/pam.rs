//! PAM (Courier's authpam): the password is checked by the system's PAM
//! stack for a configurable service name (`/etc/pam.d/<service>`), the
//! identity (uid, gid, home) comes from the passwd file, as authpam does.
//!
//! PAM is reached through [`courser_pam`], which opens `libpam.so.0` at
//! run time and keeps every `unsafe` block; this module has none. PAM
//! modules such as pam_unix need root to read `/etc/shadow` and may
//! block (pam_unix waits about two seconds after a wrong password), so a
//! server that drops privileges runs this backend in its authentication
//! process, which keeps root. PAM modules are not thread-safe: every
//! transaction in a process runs one at a time (`one_at_a_time`). The
//! PAM service name is the configured one, or the protocol's (`imap`,
//! `pop3`) — never a name a client or the front end chose.
//!
//! Mapping: success of `pam_authenticate` + `pam_acct_mgmt` → accepted;
//! `PAM_AUTH_ERR`, `PAM_USER_UNKNOWN`, `PAM_MAXTRIES`, expired or
//! locked accounts, `PAM_PERM_DENIED` → rejected
//! ([`courser_pam::Failure::is_rejection`]); anything else (no such
//! service file, a module that cannot reach its directory,
//! `PAM_AUTHINFO_UNAVAIL`, `PAM_TRY_AGAIN`, libpam missing…) → temporary
//! failure. A login that is not in the passwd file is unknown to this
//! backend.

use std::path::PathBuf;

use courser_pam::PamError;

use crate::backend::{Backend, Entry, Verdict};
use crate::error::AuthError;
use crate::passwd::{self, PasswdBackend, DEFAULT_PASSWD};

/// The PAM backend.
#[derive(Debug, Clone)]
pub struct PamBackend {
    service: Option<String>,
    passwd: PathBuf,
}

impl PamBackend {
    /// A backend using PAM service `service`, or the protocol's own
    /// service name (`imap`, `pop3`) when `None`, as Courier does.
    pub fn new(service: Option<String>) -> Self {
        PamBackend {
            service,
            passwd: PathBuf::from(DEFAULT_PASSWD),
        }
    }

    /// Checks that libpam can be opened, for a clear error at start-up
    /// rather than at the first login; the error names the library and
    /// says why.
    pub fn check(&self) -> Result<(), String> {
        courser_pam::library()
    }

    /// The PAM service for a login to `service`: the configured one, else
    /// the protocol's.
    fn pam_service<'a>(&'a self, service: &'a str) -> Result<&'a str, AuthError> {
        let pam_service = self.service.as_deref().unwrap_or(service);
        if pam_service.is_empty() || pam_service.contains(['\0', '/']) {
            return Err(AuthError::unavailable("pam", "bad PAM service name"));
        }
        Ok(pam_service)
    }

    /// The passwd file that gives the account's identity.
    pub fn passwd_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.passwd = path.into();
        self
    }
}

impl Backend for PamBackend {
    fn name(&self) -> &str {
        "pam"
    }

    fn lookup(&self, _service: &str, login: &str) -> Result<Option<Entry>, AuthError> {
        Ok(passwd::getpwnam(&self.passwd, login)
            .map_err(|e| AuthError::unavailable("pam", e))?
            .map(|p| Entry::new(PasswdBackend::account(&p))))
    }

    fn authenticate(
        &self,
        service: &str,
        login: &str,
        password: &[u8],
    ) -> Result<Verdict, AuthError> {
        let Some(entry) = self.lookup(service, login)? else {
            return Ok(Verdict::Unknown);
        };
        if password.contains(&0) || login.contains('\0') {
            return Ok(Verdict::Rejected);
        }
        let pam_service = self.pam_service(service)?;
        match one_at_a_time(|| courser_pam::authenticate(pam_service, login, password)) {
            Ok(()) => Ok(Verdict::Accepted(entry.account)),
            Err(PamError::Pam(f)) if f.is_rejection() => Ok(Verdict::Rejected),
            Err(e) => Err(AuthError::unavailable(
                "pam",
                format!("PAM service {pam_service}: {e}"),
            )),
        }
    }

    /// Changes the password through the service's `password` modules
    /// (`pam_chauthtok`) in one transaction that first checks `old`
    /// again. Courier changes system passwords by running `passwd(1)`
    /// under an expect script; PAM's own interface does the same without
    /// one, and applies the site's quality rules (pam_pwquality).
    fn change_password(
        &self,
        service: &str,
        login: &str,
        old: &[u8],
        new: &[u8],
    ) -> Result<(), AuthError> {
        let pam_service = self.pam_service(service)?;
        match one_at_a_time(|| courser_pam::change_password(pam_service, login, old, new)) {
            Ok(()) => Ok(()),
            Err(PamError::Pam(f)) if f.is_rejection() => Err(AuthError::Failed),
            Err(PamError::Pam(f)) if f.is_password_refusal() => Err(AuthError::ChangeRefused {
                backend: "pam".into(),
                reason: f.text,
            }),
            Err(PamError::Nul(_)) => Err(AuthError::NewPasswordRefused(
                "it holds a NUL or a line break",
            )),
            Err(e) => Err(AuthError::unavailable(
                "pam",
                format!("PAM service {pam_service}: {e}"),
            )),
        }
    }

    /// PAM cannot list accounts; Courier's authpam lists the passwd
    /// entries instead (`authpwdenumerate`), and so does this.
    fn enumerate(&self, each: &mut crate::enumerate::Sink<'_>) -> Result<(), AuthError> {
        passwd::enumerate_file(&self.passwd, "pam", each)
    }
}

/// Runs `f` while no other PAM transaction runs in this process: PAM
/// modules keep global state and are not thread-safe, and the
/// authentication process checks other backends' passwords on several
/// threads.
fn one_at_a_time<T>(f: impl FnOnce() -> T) -> T {
    static PAM: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _only_us = PAM.lock().unwrap_or_else(|e| e.into_inner());
    f()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn transactions_run_one_at_a_time() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    one_at_a_time(|| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                });
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), 1);
    }
}
