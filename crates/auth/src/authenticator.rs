//! The [`Authenticator`]: backends in a configured order, the login
//! normalisation Courier applies (`DEFDOMAIN`), `DEFAULTOPTIONS`, and the
//! one entry point the protocol layers call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::account::{Account, Options};
use crate::backend::{Backend, CramResponse, Entry, Verdict};
use crate::error::AuthError;
use crate::sasl::{Credentials, Mechanism};
use crate::scram::{ScramHash, ScramKeys};

/// Longest login name accepted, in bytes.
pub const MAX_LOGIN_LEN: usize = 512;

/// Longest password checked unless configured otherwise, in bytes
/// ([`Authenticator::max_password_length`]).
pub const DEFAULT_MAX_PASSWORD_LEN: usize = 1024;

/// Courier's `DEFDOMAIN`/`DOMAINSEP`: a suffix appended to login names
/// that carry no domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultDomain {
    /// Appended verbatim, so it includes the separator: `@example.com`.
    pub suffix: String,
    /// Characters that mark a login as already having a domain. `None`
    /// means the suffix's first character (Courier's rule without
    /// `DOMAINSEP`).
    pub separators: Option<String>,
}

impl DefaultDomain {
    /// Applies the rule to one login.
    pub fn apply(&self, login: &str) -> String {
        let has_domain = match &self.separators {
            Some(seps) => login.contains(|c| seps.contains(c)),
            None => self
                .suffix
                .chars()
                .next()
                .is_some_and(|c| login.contains(c)),
        };
        if has_domain || self.suffix.is_empty() {
            login.to_owned()
        } else {
            format!("{login}{}", self.suffix)
        }
    }
}

/// Tries backends in order and turns their verdicts into an account or an
/// [`AuthError`].
///
/// Order semantics:
/// * A backend that does not know the login passes to the next one.
/// * A backend that is unavailable stops the search with
///   [`AuthError::Unavailable`] (Courier's authdaemond does the same:
///   "TEMPFAIL - no more modules will be tried"), so a database outage
///   never turns into "wrong password" or into a login through a later,
///   different backend.
/// * A backend that knows the login but rejects the credentials ends the
///   search with [`AuthError::Failed`] — the first backend that knows the
///   user wins. Courier's authdaemond instead tries the next module after
///   a wrong password; [`Authenticator::courier_fallthrough`] turns that
///   behaviour on for sites that rely on it (a user with different
///   passwords in userdb and in /etc/shadow can log in with either).
#[derive(Debug, Default, Clone)]
pub struct Authenticator {
    backends: Vec<Arc<dyn Backend>>,
    courier_fallthrough: bool,
    default_options: Options,
    default_domain: Option<DefaultDomain>,
    /// `None`: [`DEFAULT_MAX_PASSWORD_LEN`].
    max_password_len: Option<usize>,
    password_checks: Arc<CheckTime>,
    scram_lookups: Arc<CheckTime>,
    /// Logins that may log in as another account.
    master_users: Vec<String>,
}

/// A check's outcome and how much longer the caller should wait before
/// answering, so that an unknown login takes as long as a known one.
/// The wait is the caller's: an async server sleeps without holding a
/// thread ([`Checked::waited`] sleeps the calling thread).
#[derive(Debug)]
#[must_use]
pub struct Checked<T> {
    /// The outcome.
    pub result: Result<T, AuthError>,
    /// How long to wait before answering.
    pub pad: Duration,
}

impl<T> Checked<T> {
    fn now(result: Result<T, AuthError>) -> Self {
        Checked {
            result,
            pad: Duration::ZERO,
        }
    }

    /// Sleeps the padding on this thread and returns the outcome.
    pub fn waited(self) -> Result<T, AuthError> {
        if !self.pad.is_zero() {
            std::thread::sleep(self.pad);
        }
        self.result
    }
}

/// How long the backends usually take to check a password of a login
/// they know (a moving average), so that an unknown login can take as
/// long: otherwise a fast "no" names the accounts that do not exist
/// (bcrypt and yescrypt take tens to hundreds of milliseconds). Timing
/// the whole backend call covers hashes, PAM and LDAP binds alike.
#[derive(Debug, Default)]
struct CheckTime(std::sync::Mutex<Option<Duration>>);

impl CheckTime {
    /// Longest padding, whatever a slow backend once took.
    const MAX: Duration = Duration::from_secs(2);

    fn observe(&self, took: Duration) {
        let mut typical = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let took = took.min(Self::MAX);
        *typical = Some(match *typical {
            None => took,
            Some(t) => (t * 7 + took) / 8,
        });
    }

    /// How much longer a check that began `took` ago must wait to take
    /// the usual time.
    fn pad(&self, took: Duration) -> Duration {
        let typical = *self.0.lock().unwrap_or_else(|e| e.into_inner());
        typical
            .and_then(|t| t.checked_sub(took))
            .unwrap_or_default()
    }
}

impl Authenticator {
    /// An authenticator with no backends (it knows nobody).
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a backend (tried after those already added).
    pub fn with_backend(mut self, backend: impl Backend + 'static) -> Self {
        self.backends.push(Arc::new(backend));
        self
    }

    /// Appends a shared backend.
    pub fn push_backend(&mut self, backend: Arc<dyn Backend>) {
        self.backends.push(backend);
    }

    /// The configured backends, in order.
    pub fn backends(&self) -> &[Arc<dyn Backend>] {
        &self.backends
    }

    /// After a wrong password, go on to the next backend as Courier's
    /// authdaemond does (default: stop; see the type documentation).
    pub fn courier_fallthrough(mut self, yes: bool) -> Self {
        self.courier_fallthrough = yes;
        self
    }

    /// Options merged into every account that lacks them (Courier's
    /// `DEFAULTOPTIONS`).
    pub fn default_options(mut self, options: Options) -> Self {
        self.default_options = options;
        self
    }

    /// Passwords longer than `bytes` fail at once, before any backend
    /// sees them (a hash's cost grows with the password's length: SHA-crypt
    /// quadratically, so a megabyte pins a thread for minutes). Default
    /// [`DEFAULT_MAX_PASSWORD_LEN`].
    pub fn max_password_length(mut self, bytes: usize) -> Self {
        self.max_password_len = Some(bytes);
        self
    }

    /// Logins that may log in as any account: a PLAIN authorization
    /// identity other than the login is accepted from these only, with
    /// their own password ([`Authenticator::verify`]).
    pub fn master_users(mut self, logins: Vec<String>) -> Self {
        self.master_users = logins;
        self
    }

    /// Courier's `DEFDOMAIN`: appended to logins without a domain.
    pub fn default_domain(mut self, domain: Option<DefaultDomain>) -> Self {
        self.default_domain = domain;
        self
    }

    /// True if some backend can answer CRAM-* (advertise the mechanisms
    /// only then).
    pub fn supports_cram(&self) -> bool {
        self.backends.iter().any(|b| b.supports_cram())
    }

    /// True if some backend can give SCRAM keys for `hash`.
    pub fn supports_scram(&self, hash: ScramHash) -> bool {
        self.backends.iter().any(|b| b.supports_scram(hash))
    }

    /// The mechanisms the backends can serve, strongest first: SCRAM-*
    /// and CRAM-* where some backend has the secrets they need, PLAIN and
    /// LOGIN always. EXTERNAL is not among them: it depends on the
    /// connection's client certificate, not on the backends.
    pub fn mechanisms(&self) -> Vec<Mechanism> {
        let cram = self.supports_cram();
        Mechanism::ALL
            .into_iter()
            .filter(|m| match m {
                Mechanism::Plain | Mechanism::Login => true,
                Mechanism::Cram(_) => cram,
                Mechanism::Scram(h) => self.supports_scram(*h),
                Mechanism::External => false,
            })
            .collect()
    }

    /// Validates a login name from a client and applies the default
    /// domain. Empty names, names with control characters and names over
    /// [`MAX_LOGIN_LEN`] bytes fail as [`AuthError::Failed`].
    pub fn normalize_login(&self, login: &str) -> Result<String, AuthError> {
        if login.is_empty() || login.len() > MAX_LOGIN_LEN || login.chars().any(char::is_control) {
            return Err(AuthError::Failed);
        }
        Ok(match &self.default_domain {
            Some(d) => d.apply(login),
            None => login.to_owned(),
        })
    }

    fn finish(&self, mut account: Account) -> Account {
        if !self.default_options.is_empty() {
            account.options = account.options.with_defaults(&self.default_options);
        }
        account
    }

    /// Runs `check` over the backends with the order semantics above.
    fn run(
        &self,
        mut check: impl FnMut(&dyn Backend) -> Result<Verdict, AuthError>,
    ) -> Result<Account, AuthError> {
        for backend in &self.backends {
            match check(backend.as_ref())? {
                Verdict::Accepted(account) => return Ok(self.finish(account)),
                Verdict::Unknown => {}
                Verdict::Rejected if !self.courier_fallthrough => return Err(AuthError::Failed),
                Verdict::Rejected => {}
            }
        }
        Err(AuthError::Failed)
    }

    /// Checks a password for `login` and `service` (`imap`, `pop3`, …).
    ///
    /// Returns the account, [`AuthError::Failed`] for a wrong password or
    /// an unknown login, or [`AuthError::Unavailable`]. It does not check
    /// `disableimap` and friends: that is the caller's business after a
    /// successful login ([`Account::service_allowed`]), as in Courier.
    /// A password over [`Authenticator::max_password_length`] fails with
    /// [`AuthError::PasswordTooLong`] before any backend sees it.
    /// Blocking; CPU-heavy for bcrypt and yescrypt; an unknown login
    /// sleeps as long as checking a known one takes.
    pub fn authenticate(
        &self,
        service: &str,
        login: &str,
        password: impl AsRef<[u8]>,
    ) -> Result<Account, AuthError> {
        self.authenticate_unpadded(service, login, password.as_ref())
            .waited()
    }

    /// [`Authenticator::authenticate`], leaving the wait of an unknown
    /// login to the caller.
    pub fn authenticate_unpadded(
        &self,
        service: &str,
        login: &str,
        password: &[u8],
    ) -> Checked<Account> {
        self.password_run(login, password, |b, login| {
            b.authenticate(service, login, password)
        })
    }

    /// Changes the password of `login` for `service` from `old` to `new`
    /// (Courier's `auth_passwd`): the backends are asked in order, as for
    /// a login with `old`; the one that accepts it stores `new`
    /// ([`Backend::change_password`]). A wrong `old` or an unknown login
    /// is [`AuthError::Failed`] with nothing changed, padded like a failed
    /// login; a backend that cannot store passwords answers
    /// [`AuthError::Unsupported`]. A `new` password that is empty, holds
    /// a NUL or line break, or is longer than the maximum is
    /// [`AuthError::NewPasswordRefused`] before any backend is asked.
    pub fn change_password(
        &self,
        service: &str,
        login: &str,
        old: &[u8],
        new: &[u8],
    ) -> Result<Account, AuthError> {
        if new.is_empty() {
            return Err(AuthError::NewPasswordRefused("it is empty"));
        }
        if new.iter().any(|&b| matches!(b, 0 | b'\n' | b'\r')) {
            return Err(AuthError::NewPasswordRefused(
                "it holds a NUL or a line break",
            ));
        }
        if new.len() > self.max_password_len.unwrap_or(DEFAULT_MAX_PASSWORD_LEN) {
            return Err(AuthError::NewPasswordRefused(
                "it is longer than the maximum",
            ));
        }
        self.password_run(login, old, |b, login| {
            let verdict = b.authenticate(service, login, old)?;
            if let Verdict::Accepted(_) = &verdict {
                b.change_password(service, login, old, new)?;
            }
            Ok(verdict)
        })
        .waited()
    }

    /// Runs `check` (with the normalised login) over the backends for a
    /// password check, refusing over-long passwords unchecked and padding
    /// an unknown login's failure to the usual time of a known one.
    fn password_run(
        &self,
        login: &str,
        password: &[u8],
        mut check: impl FnMut(&dyn Backend, &str) -> Result<Verdict, AuthError>,
    ) -> Checked<Account> {
        let login = match self.normalize_login(login) {
            Ok(login) => login,
            Err(e) => return Checked::now(Err(e)),
        };
        let max = self.max_password_len.unwrap_or(DEFAULT_MAX_PASSWORD_LEN);
        if password.len() > max {
            return Checked::now(Err(AuthError::PasswordTooLong {
                length: password.len(),
                max,
            }));
        }
        let started = Instant::now();
        let known = |v: &Verdict| !matches!(v, Verdict::Unknown);
        let mut answered = false;
        let result = self.run(|b| {
            let verdict = check(b, &login)?;
            answered |= known(&verdict);
            Ok(verdict)
        });
        let pad = match (&result, answered) {
            (Err(AuthError::Failed), false) => self.password_checks.pad(started.elapsed()),
            (Ok(_) | Err(AuthError::Failed), true) => {
                self.password_checks.observe(started.elapsed());
                Duration::ZERO
            }
            _ => Duration::ZERO,
        };
        Checked { result, pad }
    }

    /// Checks a CRAM-MD5/SHA1/SHA256 response.
    pub fn authenticate_cram(
        &self,
        service: &str,
        cram: &CramResponse,
    ) -> Result<Account, AuthError> {
        let cram = CramResponse {
            login: self.normalize_login(&cram.login)?,
            ..cram.clone()
        };
        self.run(|b| b.authenticate_cram(service, &cram))
    }

    /// Checks the credentials a SASL exchange produced. A PLAIN
    /// authorization identity other than the login logs in as that
    /// account when the login is a master user whose password is right
    /// (the account's own password is not asked); from anyone else it is
    /// [`AuthError::NotMasterUser`]. EXTERNAL was
    /// checked by the TLS layer, and for it this is the account lookup
    /// (so a login removed meanwhile still fails). A SCRAM exchange is
    /// judged by the process that ran it ([`crate::scram::Exchange`]),
    /// which then looks the account up: here it fails.
    pub fn verify(&self, service: &str, credentials: &Credentials) -> Result<Account, AuthError> {
        self.verify_unpadded(service, credentials).waited()
    }

    /// [`Authenticator::verify`], leaving the wait of an unknown login to
    /// the caller.
    pub fn verify_unpadded(&self, service: &str, credentials: &Credentials) -> Checked<Account> {
        match credentials {
            Credentials::Password {
                authzid: Some(account),
                login,
                password,
            } if account != login => {
                if !self.master_users.iter().any(|m| m == login) {
                    return Checked::now(Err(AuthError::NotMasterUser {
                        login: login.clone(),
                        account: account.clone(),
                    }));
                }
                let master = self.authenticate_unpadded(service, login, password.as_ref());
                Checked {
                    result: master.result.and_then(|_| self.lookup(service, account)),
                    pad: master.pad,
                }
            }
            Credentials::Password {
                login, password, ..
            } => self.authenticate_unpadded(service, login, password.as_ref()),
            Credentials::Cram(cram) => Checked::now(self.authenticate_cram(service, cram)),
            Credentials::External { login } => Checked::now(self.lookup(service, login)),
            Credentials::Scram { .. } => Checked::now(Err(AuthError::Failed)),
        }
    }

    /// `login`'s SCRAM keys for `hash`, from the first backend that
    /// knows the login: its stored secret, or keys derived from its clear
    /// password. `Ok(None)` when no backend knows the login or the account
    /// has neither (the exchange then goes on with decoy keys and fails).
    /// Blocking; derivation costs 4096 HMAC rounds.
    pub fn scram_keys(
        &self,
        service: &str,
        login: &str,
        hash: ScramHash,
    ) -> Result<Option<ScramKeys>, AuthError> {
        self.scram_keys_unpadded(service, login, hash).waited()
    }

    /// [`Authenticator::scram_keys`], leaving the wait of an unknown
    /// login to the caller.
    pub fn scram_keys_unpadded(
        &self,
        service: &str,
        login: &str,
        hash: ScramHash,
    ) -> Checked<Option<ScramKeys>> {
        let started = Instant::now();
        let entry = match self.lookup_entry(service, login) {
            Err(AuthError::Failed) => None,
            Err(e) => return Checked::now(Err(e)),
            Ok(entry) => entry,
        };
        let Some(entry) = entry else {
            // As long as a known login's lookup (and key derivation) takes.
            return Checked {
                result: Ok(None),
                pad: self.scram_lookups.pad(started.elapsed()),
            };
        };
        let keys = entry.scram_key(hash);
        self.scram_lookups.observe(started.elapsed());
        Checked::now(Ok(keys))
    }

    /// Looks an account up without a password (Courier's `PRE` request:
    /// `authtest USER`, preauthenticated sessions, EXTERNAL).
    pub fn lookup(&self, service: &str, login: &str) -> Result<Account, AuthError> {
        self.lookup_entry(service, login)?
            .map(|e| self.finish(e.account))
            .ok_or(AuthError::Failed)
    }

    /// Lists the accounts of every backend, in backend order (Courier's
    /// `ENUMERATE` through authdaemond), each with the default options
    /// merged in as authdaemond merges them. A login that an earlier
    /// backend already listed is left out: logins reach the first backend
    /// that knows them, and so does the list. Stops at the first backend
    /// that fails or cannot enumerate ([`AuthError::Unsupported`]) —
    /// Courier skips such modules, but a list that silently lacks a
    /// backend's accounts would build a shared index that lacks them too.
    /// Returns how many accounts went to `each`.
    pub fn enumerate(&self, each: &mut crate::enumerate::Sink<'_>) -> Result<usize, AuthError> {
        let mut seen = std::collections::HashSet::new();
        let mut listed = 0;
        for backend in &self.backends {
            let mut stopped = false;
            backend.enumerate(&mut |account| {
                if !seen.insert(account.login.clone()) {
                    return std::ops::ControlFlow::Continue(());
                }
                listed += 1;
                let flow = each(self.finish(account));
                stopped = flow.is_break();
                flow
            })?;
            if stopped {
                break;
            }
        }
        Ok(listed)
    }

    /// Like [`Authenticator::lookup`], returning the first backend's whole
    /// entry (with stored secrets, for `authtest`) or `None`.
    pub fn lookup_entry(&self, service: &str, login: &str) -> Result<Option<Entry>, AuthError> {
        let login = self.normalize_login(login)?;
        for backend in &self.backends {
            if let Some(entry) = backend.lookup(service, &login)? {
                return Ok(Some(entry));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cram::{CramHash, HmacContext};
    use std::collections::HashMap;
    use std::path::PathBuf;

    #[derive(Debug, Default)]
    struct Mem {
        name: &'static str,
        users: HashMap<String, Entry>,
        down: bool,
    }

    impl Mem {
        fn user(mut self, login: &str, password: &str) -> Self {
            let mut e = Entry::new(Account {
                login: login.into(),
                uid: 1,
                gid: 2,
                home: PathBuf::from("/h").join(login),
                maildir: None,
                quota: None,
                full_name: None,
                options: Options::new("group=a"),
            });
            e.password = Some(password.into());
            e.cram_keys
                .push(HmacContext::from_password(CramHash::Md5, b"cram"));
            self.users.insert(login.into(), e);
            self
        }
    }

    impl Backend for Mem {
        fn name(&self) -> &str {
            self.name
        }
        fn lookup(&self, _service: &str, login: &str) -> Result<Option<Entry>, AuthError> {
            if self.down {
                return Err(AuthError::unavailable(self.name, "down"));
            }
            Ok(self.users.get(login).cloned())
        }
        fn supports_cram(&self) -> bool {
            true
        }
        fn supports_scram(&self, hash: ScramHash) -> bool {
            hash == ScramHash::Sha256
        }
        fn enumerate(&self, each: &mut crate::enumerate::Sink<'_>) -> Result<(), AuthError> {
            if self.down {
                return Err(AuthError::unavailable(self.name, "down"));
            }
            let mut logins: Vec<_> = self.users.keys().collect();
            logins.sort();
            for login in logins {
                if each(self.users[login].account.clone()).is_break() {
                    break;
                }
            }
            Ok(())
        }
    }

    // {MD5RAW} of "one" and "two".
    const ONE: &str = "{MD5RAW}f97c5d29941bfb1b2fdab0874906ab82";
    const TWO: &str = "{MD5RAW}b8a9f715dbb64fd5c56e7783c6820a61";

    /// Knows everybody it is asked about only after a slow check.
    #[derive(Debug)]
    struct Slow;

    impl Backend for Slow {
        fn name(&self) -> &str {
            "slow"
        }
        fn lookup(&self, _service: &str, login: &str) -> Result<Option<Entry>, AuthError> {
            Ok(
                (login == "known")
                    .then(|| Mem::default().user("known", ONE).users["known"].clone()),
            )
        }
        fn authenticate(&self, _: &str, login: &str, _: &[u8]) -> Result<Verdict, AuthError> {
            if login != "known" {
                return Ok(Verdict::Unknown);
            }
            std::thread::sleep(Duration::from_millis(60));
            Ok(Verdict::Rejected)
        }
    }

    #[test]
    fn enumeration_in_backend_order_first_backend_wins() {
        let first = Mem {
            name: "first",
            ..Mem::default()
        }
        .user("bob", ONE)
        .user("ann", ONE);
        let mut second = Mem {
            name: "second",
            ..Mem::default()
        }
        .user("ann", TWO)
        .user("cat", TWO);
        second.users.get_mut("ann").unwrap().account.uid = 99;
        let auth = Authenticator::new()
            .with_backend(first)
            .with_backend(second)
            .default_options(Options::new("disableshared=1,group=z"));
        let mut got = Vec::new();
        let n = auth
            .enumerate(&mut |a| {
                got.push((a.login, a.uid, a.options.as_str().to_owned()));
                std::ops::ControlFlow::Continue(())
            })
            .unwrap();
        assert_eq!(n, 3);
        let opts = "group=a,disableshared=1".to_owned();
        assert_eq!(
            got,
            [
                ("ann".into(), 1, opts.clone()),
                ("bob".into(), 1, opts.clone()),
                ("cat".into(), 1, opts)
            ]
        );
        // Stopping early stops every backend.
        let mut seen = 0;
        auth.enumerate(&mut |_| {
            seen += 1;
            std::ops::ControlFlow::Break(())
        })
        .unwrap();
        assert_eq!(seen, 1);
        // A backend that fails or cannot list fails the whole list.
        let down = Authenticator::new()
            .with_backend(Mem::default().user("ann", ONE))
            .with_backend(Mem {
                down: true,
                ..Mem::default()
            });
        let all = |a: &Authenticator| a.enumerate(&mut |_| std::ops::ControlFlow::Continue(()));
        assert!(all(&down).unwrap_err().is_temporary());
        let e = all(&Authenticator::new().with_backend(Slow)).unwrap_err();
        assert!(matches!(e, AuthError::Unsupported { .. }), "{e:?}");
        assert!(!e.is_temporary());
        assert_eq!(
            e.to_string(),
            "authentication backend slow cannot enumerate accounts"
        );
    }

    #[test]
    fn unknown_logins_take_as_long_as_checked_passwords() {
        let a = Authenticator::new().with_backend(Slow);
        let started = Instant::now();
        assert!(a.authenticate("imap", "known", "x").is_err());
        let typical = started.elapsed();
        let started = Instant::now();
        assert!(a.authenticate("imap", "nobody", "x").is_err());
        // Sleeping gives a lower bound, never an upper one.
        assert!(
            started.elapsed() >= typical * 7 / 8,
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn long_passwords_fail_before_any_backend() {
        /// Fails the test if asked anything.
        #[derive(Debug)]
        struct Untouchable;
        impl Backend for Untouchable {
            fn name(&self) -> &str {
                "untouchable"
            }
            fn lookup(&self, _: &str, _: &str) -> Result<Option<Entry>, AuthError> {
                panic!("a backend saw an over-long password");
            }
        }
        let a = Authenticator::new().with_backend(Untouchable);
        let long = vec![b'x'; DEFAULT_MAX_PASSWORD_LEN + 1];
        let err = a.authenticate("imap", "ann", &long).unwrap_err();
        assert!(matches!(
            err,
            AuthError::PasswordTooLong {
                length: 1025,
                max: 1024
            }
        ));
        assert!(!err.is_temporary(), "an ordinary failed login");
        let a = a.max_password_length(4);
        assert!(matches!(
            a.verify_unpadded(
                "imap",
                &Credentials::Password {
                    login: "ann".into(),
                    password: b"12345".to_vec(),
                    authzid: None,
                }
            )
            .result,
            Err(AuthError::PasswordTooLong { length: 5, max: 4 })
        ));
    }

    #[test]
    fn master_users_log_in_as_others_with_their_own_password() {
        let a = Authenticator::new()
            .with_backend(Mem::default().user("ann", ONE).user("proxy", TWO))
            .master_users(vec!["proxy".into()]);
        let as_ann = |login: &str, password: &[u8]| Credentials::Password {
            authzid: Some("ann".into()),
            login: login.into(),
            password: password.to_vec(),
        };
        assert_eq!(
            a.verify("imap", &as_ann("proxy", b"two")).map(|x| x.login),
            Ok("ann".into())
        );
        assert_eq!(
            a.verify("imap", &as_ann("proxy", b"one")),
            Err(AuthError::Failed)
        );
        // Not a master user: refused, even with the right password.
        assert!(matches!(
            a.verify("imap", &as_ann("bob", b"one")),
            Err(AuthError::NotMasterUser { .. })
        ));
        let mut to_nobody = as_ann("proxy", b"two");
        if let Credentials::Password { authzid, .. } = &mut to_nobody {
            *authzid = Some("nobody".into());
        }
        assert_eq!(a.verify("imap", &to_nobody), Err(AuthError::Failed));
        // Without master users nobody may.
        let plain = Authenticator::new().with_backend(Mem::default().user("proxy", TWO));
        assert!(plain.verify("imap", &as_ann("proxy", b"two")).is_err());
    }

    #[test]
    fn order_and_first_known_wins() {
        let a = Authenticator::new()
            .with_backend(Mem::default().user("ann", ONE))
            .with_backend(Mem::default().user("ann", TWO).user("bob", TWO));
        assert_eq!(
            a.authenticate("imap", "ann", "one").map(|x| x.login),
            Ok("ann".into())
        );
        assert_eq!(a.authenticate("imap", "ann", "two"), Err(AuthError::Failed));
        assert_eq!(a.authenticate("imap", "bob", "two").map(|x| x.uid), Ok(1));
        assert_eq!(
            a.authenticate("imap", "nobody", "two"),
            Err(AuthError::Failed)
        );
        let a = a.courier_fallthrough(true);
        assert!(a.authenticate("imap", "ann", "two").is_ok());
        assert_eq!(
            a.authenticate("imap", "ann", "three"),
            Err(AuthError::Failed)
        );
    }

    #[test]
    fn unavailable_stops_the_search() {
        let down = Mem {
            name: "sql",
            down: true,
            ..Mem::default()
        };
        let a = Authenticator::new()
            .with_backend(Mem::default().user("ann", ONE))
            .with_backend(down)
            .with_backend(Mem::default().user("bob", TWO));
        assert!(a.authenticate("imap", "ann", "one").is_ok());
        let err = a.authenticate("imap", "bob", "two").unwrap_err();
        assert!(err.is_temporary(), "{err}");
        assert!(a.lookup("imap", "bob").unwrap_err().is_temporary());
    }

    #[test]
    fn bad_logins_and_default_domain() {
        let a = Authenticator::new()
            .with_backend(Mem::default().user("ann@example.com", ONE))
            .default_domain(Some(DefaultDomain {
                suffix: "@example.com".into(),
                separators: None,
            }))
            .default_options(Options::new("disablepop3=1,group=b"));
        let acct = a.authenticate("imap", "ann", "one").expect("login");
        assert_eq!(acct.login, "ann@example.com");
        assert_eq!(acct.options.as_str(), "group=a,disablepop3=1");
        assert!(a.authenticate("imap", "ann@example.com", "one").is_ok());
        assert_eq!(a.authenticate("imap", "", "one"), Err(AuthError::Failed));
        assert_eq!(
            a.authenticate("imap", "an\nn", "one"),
            Err(AuthError::Failed)
        );
        let long = "a".repeat(MAX_LOGIN_LEN + 1);
        assert_eq!(a.authenticate("imap", &long, "one"), Err(AuthError::Failed));
        let d = DefaultDomain {
            suffix: "@x".into(),
            separators: Some("%@".into()),
        };
        assert_eq!(d.apply("u%y"), "u%y");
        assert_eq!(d.apply("u"), "u@x");
    }

    #[test]
    fn cram_through_authenticator() {
        let a = Authenticator::new().with_backend(Mem::default().user("ann", ONE));
        assert!(a.supports_cram());
        let ch = b"<1.2@h>".to_vec();
        let mac = HmacContext::from_password(CramHash::Md5, b"cram").mac(&ch);
        let good = CramResponse {
            hash: CramHash::Md5,
            challenge: ch.clone(),
            login: "ann".into(),
            digest_hex: crate::hex::encode(&mac),
        };
        assert!(a.authenticate_cram("imap", &good).is_ok());
        let wrong_hash = CramResponse {
            hash: CramHash::Sha1,
            ..good.clone()
        };
        assert_eq!(
            a.authenticate_cram("imap", &wrong_hash),
            Err(AuthError::Failed)
        );
        let unknown = CramResponse {
            login: "zed".into(),
            ..good
        };
        assert_eq!(
            a.authenticate_cram("imap", &unknown),
            Err(AuthError::Failed)
        );
    }

    #[test]
    fn scram_keys_mechanisms_and_verified_credentials() {
        let mut clear = Mem::default().user("ann", ONE);
        if let Some(e) = clear.users.get_mut("ann") {
            e.clear_password = Some("one".into());
        }
        let down = Mem {
            name: "sql",
            down: true,
            ..Mem::default()
        };
        let a = Authenticator::new()
            .with_backend(clear)
            .with_backend(Mem::default().user("bob", TWO))
            .with_backend(down);
        let ask = |login: &str| a.scram_keys("imap", login, ScramHash::Sha256);
        let keys = ask("ann").expect("ok").expect("keys");
        assert_eq!(keys, ScramKeys::derived(ScramHash::Sha256, "ann", b"one"));
        // Bob has only a hashed password: no keys, and no error.
        assert_eq!(ask("bob"), Ok(None));
        assert_eq!(ask(""), Ok(None));
        // Nobody else is known before the backend that is down.
        assert!(ask("zed").unwrap_err().is_temporary());
        assert_eq!(
            a.mechanisms(),
            [
                Mechanism::Scram(ScramHash::Sha256),
                Mechanism::Cram(crate::CramHash::Sha256),
                Mechanism::Cram(crate::CramHash::Sha1),
                Mechanism::Cram(crate::CramHash::Md5),
                Mechanism::Plain,
                Mechanism::Login
            ]
        );
        assert_eq!(
            Authenticator::new().mechanisms(),
            [Mechanism::Plain, Mechanism::Login]
        );
        // SCRAM verdicts belong to whoever ran the exchange.
        let scram = Credentials::Scram {
            login: "ann".into(),
            exchange: 1,
        };
        assert_eq!(a.verify("imap", &scram), Err(AuthError::Failed));
        let external = |login: &str| Credentials::External {
            login: login.into(),
        };
        assert!(a.verify("imap", &external("bob")).is_ok());
        assert!(a
            .verify("imap", &external("zed"))
            .unwrap_err()
            .is_temporary());
    }

    #[test]
    fn a_password_change_goes_to_the_backend_that_accepts_the_old_password() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("userdb");
        std::fs::write(&path, format!("bob\tuid=1|gid=1|home=/b|systempw={TWO}\n")).unwrap();
        let userdb = crate::userdb::UserdbBackend::new(&path).allow_public_permissions();
        let auth = Authenticator::new()
            .with_backend(Mem::default().user("ann", ONE))
            .with_backend(userdb);
        // Wrong old password, unknown login: failed, nothing written.
        let before = std::fs::read(&path).unwrap();
        assert_eq!(
            auth.change_password("imap", "bob", b"one", b"new"),
            Err(AuthError::Failed)
        );
        assert_eq!(
            auth.change_password("imap", "nobody", b"two", b"new"),
            Err(AuthError::Failed)
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
        // A new password that cannot be stored is refused before any check.
        for bad in [&b""[..], b"a\nb", b"a\0b"] {
            assert!(matches!(
                auth.change_password("imap", "bob", b"two", bad),
                Err(AuthError::NewPasswordRefused(_))
            ));
        }
        assert_eq!(std::fs::read(&path).unwrap(), before);
        // A backend that cannot store passwords says so.
        assert!(matches!(
            auth.change_password("imap", "ann", b"one", b"new"),
            Err(AuthError::Unsupported { .. })
        ));
        let bob = auth.change_password("imap", "bob", b"two", b"new").unwrap();
        assert_eq!(bob.login, "bob");
        assert_eq!(
            auth.authenticate("imap", "bob", "two"),
            Err(AuthError::Failed)
        );
        assert!(auth.authenticate("imap", "bob", "new").is_ok());
    }
}
