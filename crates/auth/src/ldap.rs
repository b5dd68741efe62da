//! LDAP accounts (Courier's authldap, spec §9.2) through ldap3.
//!
//! A lookup binds as `binddn` (or anonymously), searches `basedn` for
//! `(&<filter>(<mail>=<login>))` and maps the entry's attributes as
//! authldaprc does (`LDAP_UID`, `LDAP_HOMEDIR`, `LDAP_AUXOPTIONS`, …).
//! Passwords are checked either from `cryptpw`/`clearpw` attributes
//! (search-then-compare), or — with `authbind` (Courier's
//! `LDAP_AUTHBIND=1`) — by binding as the found entry's DN with the
//! client's password; an empty password is refused before any bind (an
//! empty simple bind is an anonymous bind, which would succeed).
//!
//! The account list ([`Backend::enumerate`]) searches with
//! `enumerate_filter` (Courier's `LDAP_ENUMERATE_FILTER`), else `filter`,
//! else `(<mail>=*)`, in pages of `PAGE` entries, streamed; each value
//! of the mail attribute is one account, as in Courier. An entry without
//! a home or without a usable uid/gid is left out. A search the
//! directory ends with an error (a size or time limit) is an error, not a
//! shorter list.
//!
//! URIs are tried in turn (`ldaps://` for TLS from the start; `starttls`
//! for StartTLS on `ldap://`, Courier's `LDAP_TLS=1`); `ca_certificate`
//! adds a PEM CA. One connection per request on the backend's own tokio
//! runtime (Courier keeps one open per worker; a pool can come later). A
//! directory that cannot be reached, or answers with an error other than
//! "invalid credentials", is [`AuthError::Unavailable`].

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use ldap3::{ldap_escape, LdapConnAsync, LdapConnSettings, Mod, Scope, SearchEntry};

use crate::account::{Account, Options};
use crate::backend::{Backend, Entry, Verdict};
use crate::enumerate::{receive, Streamed, IN_FLIGHT};
use crate::error::AuthError;
use crate::password;

/// Settings of one LDAP backend (Courier's authldaprc names in the docs).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LdapConfig {
    /// `LDAP_URI`: tried in order.
    pub uri: Vec<String>,
    /// `LDAP_BASEDN`.
    pub basedn: String,
    /// `LDAP_BINDDN` (none: anonymous search).
    pub binddn: Option<String>,
    /// `LDAP_BINDPW`.
    pub bindpw: Option<String>,
    /// `LDAP_TIMEOUT` (default 5 s).
    pub timeout_secs: u64,
    /// `LDAP_AUTHBIND`: check passwords by binding as the user.
    pub authbind: bool,
    /// `LDAP_MAIL` (default `mail`).
    pub mail: String,
    /// `LDAP_FILTER`: ANDed to the search.
    pub filter: Option<String>,
    /// `LDAP_ENUMERATE_FILTER`: the filter that lists every account
    /// (`courser authenumerate`, shared folder indexes); default
    /// `filter`, else `(<mail>=*)`, as Courier does.
    pub enumerate_filter: Option<String>,
    /// `LDAP_DOMAIN`: appended as `@domain` to logins without `@`.
    pub domain: Option<String>,
    /// `LDAP_GLOB_UID`: the uid of entries without a usable `uid`
    /// attribute (Courier: the entry's attribute wins).
    pub glob_uid: Option<u32>,
    /// `LDAP_GLOB_GID`: the same for the gid.
    pub glob_gid: Option<u32>,
    /// `LDAP_UID` attribute (default `uidNumber`; `""` for none).
    #[serde(with = "crate::none_as_empty")]
    pub uid: Option<String>,
    /// `LDAP_GID` attribute (default `gidNumber`; `""` for none).
    #[serde(with = "crate::none_as_empty")]
    pub gid: Option<String>,
    /// `LDAP_HOMEDIR` attribute (default `homeDirectory`).
    pub homedir: String,
    /// `LDAP_MAILROOT`: put before every home directory, as Courier does
    /// (`<mailroot>/<home>`, an absolute home included).
    pub mailroot: Option<PathBuf>,
    /// `LDAP_MAILDIR` attribute.
    pub maildir: Option<String>,
    /// `LDAP_MAILDIRQUOTA` attribute.
    pub maildirquota: Option<String>,
    /// `LDAP_FULLNAME` attribute.
    pub fullname: Option<String>,
    /// `LDAP_CLEARPW` attribute.
    pub clearpw: Option<String>,
    /// `LDAP_CRYPTPW` attribute (default `userPassword`; `""` for none).
    #[serde(with = "crate::none_as_empty")]
    pub cryptpw: Option<String>,
    /// `LDAP_AUXOPTIONS`: `attr=option,attr2` (a bare name is its own
    /// option name).
    pub auxoptions: Option<String>,
    /// `LDAP_TLS`: StartTLS on `ldap://`.
    pub starttls: bool,
    /// PEM CA certificate(s) to trust for the directory.
    pub ca_certificate: Option<PathBuf>,
}

impl LdapConfig {
    /// The timeout as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }

    /// Courier's defaults for a directory at `uri` under `basedn`.
    pub fn new(uri: impl Into<String>, basedn: impl Into<String>) -> Self {
        LdapConfig {
            uri: vec![uri.into()],
            basedn: basedn.into(),
            binddn: None,
            bindpw: None,
            timeout_secs: 5,
            authbind: false,
            mail: "mail".into(),
            filter: None,
            enumerate_filter: None,
            domain: None,
            glob_uid: None,
            glob_gid: None,
            uid: Some("uidNumber".into()),
            gid: Some("gidNumber".into()),
            homedir: "homeDirectory".into(),
            mailroot: None,
            maildir: None,
            maildirquota: None,
            fullname: None,
            clearpw: None,
            cryptpw: Some("userPassword".into()),
            auxoptions: None,
            starttls: false,
            ca_certificate: None,
        }
    }

    fn aux_pairs(&self) -> Vec<(String, String)> {
        self.auxoptions
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| match s.split_once('=') {
                Some((a, o)) => (a.trim().to_owned(), o.trim().to_owned()),
                None => (s.to_owned(), s.to_owned()),
            })
            .collect()
    }

    fn attributes(&self) -> Vec<String> {
        let mut attrs = vec![self.mail.clone(), self.homedir.clone()];
        for a in [
            &self.uid,
            &self.gid,
            &self.maildir,
            &self.maildirquota,
            &self.fullname,
            &self.clearpw,
            &self.cryptpw,
        ]
        .into_iter()
        .flatten()
        {
            attrs.push(a.clone());
        }
        attrs.extend(self.aux_pairs().into_iter().map(|(a, _)| a));
        attrs
    }

    /// What an account list reads: no passwords.
    fn enumerate_attributes(&self) -> Vec<String> {
        let mut attrs = vec![self.mail.clone(), self.homedir.clone()];
        attrs.extend(
            [&self.uid, &self.gid, &self.maildir]
                .into_iter()
                .flatten()
                .cloned(),
        );
        attrs.extend(self.aux_pairs().into_iter().map(|(a, _)| a));
        attrs
    }

    /// The account list's filter (see [`LdapConfig::enumerate_filter`]).
    fn enumerate_filter(&self) -> String {
        let set = |f: &Option<String>| f.clone().filter(|f| !f.trim().is_empty());
        set(&self.enumerate_filter)
            .or_else(|| set(&self.filter))
            .unwrap_or_else(|| format!("({}=*)", self.mail))
    }
}

/// Entries per page of an account list (RFC 2696 paged results), so that
/// a directory's per-search size limit does not cut a long list short.
const PAGE: i32 = 500;

impl Default for LdapConfig {
    fn default() -> Self {
        let mut c = LdapConfig::new("", "");
        c.uri.clear();
        c
    }
}

/// What a search found.
#[derive(Debug)]
enum Found {
    None,
    One(Box<SearchEntry>),
}

/// The LDAP backend.
pub struct LdapBackend {
    config: LdapConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for LdapBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapBackend")
            .field("uri", &self.config.uri)
            .field("basedn", &self.config.basedn)
            .finish_non_exhaustive()
    }
}

impl Drop for LdapBackend {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

fn tls_config(ca: &std::path::Path) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("{}: {e}", ca.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("{}: {e}", ca.display()))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Outcome of binding as the user.
enum BindResult {
    Ok,
    Invalid,
}

impl LdapBackend {
    /// Creates the backend (no connection yet).
    pub fn new(config: LdapConfig) -> Result<Self, String> {
        if config.uri.is_empty() {
            return Err("no LDAP URI".into());
        }
        let tls = config
            .ca_certificate
            .as_deref()
            .map(tls_config)
            .transpose()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("courser-ldap")
            .enable_all()
            .build()
            .map_err(|e| format!("runtime: {e}"))?;
        Ok(LdapBackend {
            config,
            tls,
            runtime: Some(runtime),
        })
    }

    fn login_with_domain(&self, login: &str) -> String {
        match &self.config.domain {
            Some(d) if !login.contains('@') && !d.is_empty() => format!("{login}@{d}"),
            _ => login.to_owned(),
        }
    }

    fn settings(&self) -> LdapConnSettings {
        let mut s = LdapConnSettings::new()
            .set_conn_timeout(self.config.timeout())
            .set_starttls(self.config.starttls);
        if let Some(tls) = &self.tls {
            s = s.set_config(Arc::clone(tls));
        }
        s
    }

    /// Runs `f` on the backend's runtime, waiting at most the timeout
    /// (plus a second).
    fn run<T: Send + 'static>(
        &self,
        fut: impl std::future::Future<Output = Result<T, String>> + Send + 'static,
    ) -> Result<T, AuthError> {
        let unavailable = |e: String| AuthError::unavailable("ldap", e);
        let rt = self
            .runtime
            .as_ref()
            .ok_or_else(|| unavailable("shut down".into()))?;
        let (tx, rx) = mpsc::channel();
        rt.spawn(async move {
            let _ = tx.send(fut.await);
        });
        // Each URI may take a connect timeout, then search and bind.
        let wait = self.config.timeout() * (2 * self.config.uri.len() as u32 + 2);
        match rx.recv_timeout(wait) {
            Ok(r) => r.map_err(unavailable),
            Err(_) => Err(unavailable("no answer in time".into())),
        }
    }

    /// Connects to the first URI that answers and binds as `binddn`.
    async fn connect(
        uris: Vec<String>,
        settings: LdapConnSettings,
        timeout: Duration,
        bind: Option<(String, String)>,
    ) -> Result<ldap3::Ldap, String> {
        let mut last = String::from("no LDAP URI");
        for uri in &uris {
            match LdapConnAsync::with_settings(settings.clone(), uri).await {
                Ok((conn, mut ldap)) => {
                    ldap3::drive!(conn);
                    if let Some((dn, pw)) = &bind {
                        ldap.with_timeout(timeout)
                            .simple_bind(dn, pw)
                            .await
                            .and_then(|r| r.success())
                            .map_err(|e| format!("{uri}: bind as {dn}: {e}"))?;
                    }
                    return Ok(ldap);
                }
                Err(e) => last = format!("{uri}: {e}"),
            }
        }
        Err(last)
    }

    fn search(&self, login: &str) -> Result<Found, AuthError> {
        let c = &self.config;
        let clause = format!("({}={})", c.mail, ldap_escape(login));
        let filter = match c.filter.as_deref().filter(|f| !f.trim().is_empty()) {
            Some(f) => format!("(&{f}{clause})"),
            None => clause,
        };
        let bind = c
            .binddn
            .clone()
            .map(|dn| (dn, c.bindpw.clone().unwrap_or_default()));
        let (uris, settings, timeout) = (c.uri.clone(), self.settings(), c.timeout());
        let (base, attrs) = (c.basedn.clone(), c.attributes());
        self.run(async move {
            let mut ldap = Self::connect(uris, settings, timeout, bind).await?;
            let (entries, _) = ldap
                .with_timeout(timeout)
                .search(&base, Scope::Subtree, &filter, attrs)
                .await
                .and_then(|r| r.success())
                .map_err(|e| format!("search {filter}: {e}"))?;
            let _ = ldap.unbind().await;
            Ok(match entries.len() {
                0 => Found::None,
                1 => entries
                    .into_iter()
                    .next()
                    .map_or(Found::None, |e| Found::One(Box::new(SearchEntry::construct(e)))),
                n => {
                    tracing::warn!(filter = %courser_protocol::Untrusted(&filter), matches = n, "LDAP: login matches several entries; refused");
                    Found::None
                }
            })
        })
    }

    fn entry(&self, login: &str, e: &SearchEntry) -> Result<Option<Entry>, AuthError> {
        let c = &self.config;
        let first = |attr: &Option<String>| {
            attr.as_ref()
                .and_then(|a| e.attrs.get(a))
                .and_then(|v| v.first())
                .filter(|v| !v.is_empty())
                .cloned()
        };
        // As Courier: the entry's attribute, else the global id.
        let number = |glob: Option<u32>, attr: &Option<String>, what: &str| {
            first(attr)
                .and_then(|v| v.trim().parse().ok())
                .or(glob)
                .ok_or_else(|| {
                    AuthError::unavailable("ldap", format!("{}: no usable {what}", e.dn))
                })
        };
        let Some(home) = first(&Some(c.homedir.clone())) else {
            tracing::warn!(dn = %e.dn, "LDAP entry without a home directory");
            return Ok(None);
        };
        // Courier joins the two with a slash whatever the home is; an
        // absolute home then lands below the mail root too.
        let home = match &c.mailroot {
            Some(root) => PathBuf::from(format!("{}/{home}", root.display())),
            None => PathBuf::from(home),
        };
        let options: Vec<String> = c
            .aux_pairs()
            .into_iter()
            .filter_map(|(attr, opt)| first(&Some(attr)).map(|v| format!("{opt}={v}")))
            .collect();
        let account = Account {
            login: login.to_owned(),
            uid: number(c.glob_uid, &c.uid, "uid")?,
            gid: number(c.glob_gid, &c.gid, "gid")?,
            home,
            maildir: first(&c.maildir).map(PathBuf::from),
            quota: first(&c.maildirquota),
            full_name: first(&c.fullname),
            options: Options::new(options.join(",")),
        };
        let mut entry = Entry::new(account);
        if !c.authbind {
            entry.password = first(&c.cryptpw);
            entry.clear_password = first(&c.clearpw);
        }
        Ok(Some(entry))
    }

    fn bind_as(&self, dn: String, password: String) -> Result<BindResult, AuthError> {
        let c = &self.config;
        let (uris, settings, timeout) = (c.uri.clone(), self.settings(), c.timeout());
        self.run(async move {
            let mut ldap = Self::connect(uris, settings, timeout, None).await?;
            let result = ldap
                .with_timeout(timeout)
                .simple_bind(&dn, &password)
                .await
                .map_err(|e| format!("bind: {e}"))?;
            let _ = ldap.unbind().await;
            match result.rc {
                0 => Ok(BindResult::Ok),
                // invalidCredentials, inappropriateAuthentication,
                // insufficientAccessRights, unwillingToPerform
                49 | 48 | 50 | 53 => Ok(BindResult::Invalid),
                rc => Err(format!("bind as {dn}: result code {rc}: {}", result.text)),
            }
        })
    }

    /// The values a password change writes: the clear attribute gets the
    /// password, the crypt attribute a hash in the scheme of the value
    /// there (`{CRYPT}` before crypt(3) forms, as RFC 2307 directories
    /// store them), else `{CRYPT}` yescrypt. Courier's authldap writes
    /// the same two attributes.
    fn new_password_values(
        &self,
        found: &SearchEntry,
        new: &[u8],
    ) -> Result<Vec<(String, String)>, AuthError> {
        let c = &self.config;
        let mut values = Vec::new();
        if let Some(attr) = &c.clearpw {
            let clear = std::str::from_utf8(new)
                .map_err(|_| AuthError::NewPasswordRefused("it is not UTF-8"))?;
            values.push((attr.clone(), clear.to_owned()));
        }
        if let Some(attr) = &c.cryptpw {
            let stored = found.attrs.get(attr).and_then(|v| v.first());
            let hashed = password::rehash("ldap", stored.map(String::as_str), new)?;
            let value = if hashed.starts_with('{') {
                hashed
            } else {
                format!("{{CRYPT}}{hashed}")
            };
            values.push((attr.clone(), value));
        }
        Ok(values)
    }

    /// Replaces `values` in the entry `dn`, connected as `bind`. The
    /// directory's refusals (its access rules, a password policy) are
    /// [`AuthError::ChangeRefused`]; LDAP applies a modify whole or not
    /// at all.
    fn modify(
        &self,
        dn: String,
        bind: (String, String),
        values: Vec<(String, String)>,
    ) -> Result<(), AuthError> {
        let c = &self.config;
        let (uris, settings, timeout) = (c.uri.clone(), self.settings(), c.timeout());
        let refused = self.run(async move {
            let mut ldap = Self::connect(uris, settings, timeout, Some(bind)).await?;
            let mods = values
                .into_iter()
                .map(|(attr, value)| Mod::Replace(attr, HashSet::from([value])))
                .collect();
            let result = ldap
                .with_timeout(timeout)
                .modify(&dn, mods)
                .await
                .map_err(|e| format!("modify {dn}: {e}"));
            let _ = ldap.unbind().await;
            let result = result?;
            match result.rc {
                0 => Ok(None),
                // constraintViolation, insufficientAccessRights,
                // unwillingToPerform
                19 | 50 | 53 => Ok(Some(format!("{result}"))),
                _ => Err(format!("modify {dn}: {result}")),
            }
        })?;
        match refused {
            None => Ok(()),
            Some(reason) => Err(AuthError::ChangeRefused {
                backend: "ldap".into(),
                reason,
            }),
        }
    }
}

impl Backend for LdapBackend {
    fn name(&self) -> &str {
        "ldap"
    }

    fn lookup(&self, _service: &str, login: &str) -> Result<Option<Entry>, AuthError> {
        let login = self.login_with_domain(login);
        match self.search(&login)? {
            Found::None => Ok(None),
            Found::One(e) => self.entry(&login, &e),
        }
    }

    fn authenticate(
        &self,
        service: &str,
        login: &str,
        password: &[u8],
    ) -> Result<Verdict, AuthError> {
        if !self.config.authbind {
            return Ok(match self.lookup(service, login)? {
                None => Verdict::Unknown,
                Some(e) if e.check_password(password) => Verdict::Accepted(e.account),
                Some(_) => Verdict::Rejected,
            });
        }
        let login = self.login_with_domain(login);
        let Found::One(found) = self.search(&login)? else {
            return Ok(Verdict::Unknown);
        };
        let Some(entry) = self.entry(&login, &found)? else {
            return Ok(Verdict::Unknown);
        };
        let Ok(password) = String::from_utf8(password.to_vec()) else {
            return Ok(Verdict::Rejected);
        };
        if password.is_empty() {
            return Ok(Verdict::Rejected);
        }
        Ok(match self.bind_as(found.dn.clone(), password)? {
            BindResult::Ok => Verdict::Accepted(entry.account),
            BindResult::Invalid => Verdict::Rejected,
        })
    }

    fn supports_cram(&self) -> bool {
        !self.config.authbind && self.config.clearpw.is_some()
    }

    /// Writes the new password into the clear and crypt attributes
    /// (`new_password_values`). With `authbind` the change
    /// is made bound as the account itself (with `old`), so the
    /// directory's own access rules decide, as Courier's authldap does;
    /// else as `binddn`.
    fn change_password(
        &self,
        _service: &str,
        login: &str,
        old: &[u8],
        new: &[u8],
    ) -> Result<(), AuthError> {
        let c = &self.config;
        let login = self.login_with_domain(login);
        let Found::One(found) = self.search(&login)? else {
            return Err(AuthError::Failed);
        };
        let values = self.new_password_values(&found, new)?;
        if values.is_empty() {
            return Err(AuthError::Unsupported {
                backend: "ldap".into(),
                operation: "change passwords without a cryptpw or clearpw attribute",
            });
        }
        let bind = if c.authbind {
            let old = String::from_utf8(old.to_vec()).map_err(|_| AuthError::Failed)?;
            (found.dn.clone(), old)
        } else {
            let dn = c.binddn.clone().ok_or(AuthError::Unsupported {
                backend: "ldap".into(),
                operation: "change passwords without a binddn or authbind",
            })?;
            (dn, c.bindpw.clone().unwrap_or_default())
        };
        self.modify(found.dn.clone(), bind, values)
    }

    fn enumerate(&self, each: &mut crate::enumerate::Sink<'_>) -> Result<(), AuthError> {
        use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| AuthError::unavailable("ldap", "shut down"))?;
        let c = &self.config;
        let bind = c
            .binddn
            .clone()
            .map(|dn| (dn, c.bindpw.clone().unwrap_or_default()));
        let (uris, settings, timeout) = (c.uri.clone(), self.settings(), c.timeout());
        let (base, attrs, filter) = (
            c.basedn.clone(),
            c.enumerate_attributes(),
            c.enumerate_filter(),
        );
        let (tx, rx) = tokio::sync::mpsc::channel(IN_FLIGHT);
        runtime.spawn(async move {
            let listed = async {
                let mut ldap = Self::connect(uris, settings, timeout, bind).await?;
                let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
                    Box::new(EntriesOnly::new()),
                    Box::new(PagedResults::new(PAGE)),
                ];
                let mut stream = ldap
                    .streaming_search_with(adapters, &base, Scope::Subtree, &filter, attrs)
                    .await
                    .map_err(|e| format!("search {filter}: {e}"))?;
                loop {
                    let next = tokio::time::timeout(timeout, stream.next())
                        .await
                        .map_err(|_| format!("search {filter}: no answer in time"))?
                        .map_err(|e| format!("search {filter}: {e}"))?;
                    let Some(entry) = next else { break };
                    let entry = Streamed::Item(SearchEntry::construct(entry));
                    if tx.send(entry).await.is_err() {
                        return Ok(false); // the caller stopped reading
                    }
                }
                stream
                    .finish()
                    .await
                    .success()
                    .map_err(|e| format!("search {filter}: {e}"))?;
                let _ = ldap.unbind().await;
                Ok::<_, String>(true)
            };
            let message = match listed.await {
                Ok(true) => Streamed::End,
                Ok(false) => return,
                Err(e) => Streamed::Failed(e),
            };
            let _ = tx.send(message).await;
        });
        let mail = c.mail.clone();
        receive(rx, "ldap", |e: SearchEntry| {
            for login in e.attrs.get(&mail).into_iter().flatten() {
                match self.entry(login, &e) {
                    Ok(Some(entry)) => each(entry.account)?,
                    Ok(None) => {}
                    Err(why) => tracing::debug!(dn = %e.dn, %why, "LDAP entry not listed"),
                }
            }
            std::ops::ControlFlow::Continue(())
        })
    }

    /// Keys are derived from the clear password, as for CRAM.
    fn supports_scram(&self, _hash: crate::scram::ScramHash) -> bool {
        self.supports_cram()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn entry_of(config: LdapConfig, attrs: &[(&str, &str)]) -> Account {
        let backend = LdapBackend::new(config).unwrap();
        let e = SearchEntry {
            dn: "uid=a,dc=x".into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
                .collect::<HashMap<_, _>>(),
            bin_attrs: HashMap::new(),
        };
        backend.entry("a", &e).unwrap().unwrap().account
    }

    #[test]
    fn enumeration_filter_and_attributes() {
        let mut c = LdapConfig::new("ldap://127.0.0.1:1", "dc=x");
        assert_eq!(c.enumerate_filter(), "(mail=*)");
        c.filter = Some("(objectClass=mailUser)".into());
        assert_eq!(c.enumerate_filter(), "(objectClass=mailUser)");
        c.enumerate_filter = Some("(&(objectClass=mailUser)(!(disableshared=1)))".into());
        assert_eq!(
            c.enumerate_filter(),
            "(&(objectClass=mailUser)(!(disableshared=1)))"
        );
        c.auxoptions = Some("shareGroup=sharedgroup".into());
        let attrs = c.enumerate_attributes();
        assert!(attrs.contains(&"shareGroup".to_owned()));
        assert!(!attrs.contains(&"userPassword".to_owned()), "{attrs:?}");
    }

    #[test]
    fn ids_and_home_as_courier_builds_them() {
        let mut c = LdapConfig::new("ldap://127.0.0.1:1", "dc=x");
        c.glob_uid = Some(5000);
        c.glob_gid = Some(5001);
        c.mailroot = Some(PathBuf::from("/var/mail"));
        // The entry's attributes win over the global ids.
        let a = entry_of(
            c.clone(),
            &[
                ("homeDirectory", "a"),
                ("uidNumber", "7"),
                ("gidNumber", "8"),
            ],
        );
        assert_eq!((a.uid, a.gid), (7, 8));
        assert_eq!(a.home, PathBuf::from("/var/mail/a"));
        // Without them the global ids; the mail root goes before an
        // absolute home too.
        let a = entry_of(c, &[("homeDirectory", "/home/a")]);
        assert_eq!((a.uid, a.gid), (5000, 5001));
        assert_eq!(a.home, PathBuf::from("/var/mail//home/a"));
    }
}
