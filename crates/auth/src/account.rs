//! The account record: who logged in, where their mail is, and the
//! account options (Courier's `struct authinfo`, spec §2 and §8).

use std::fmt;
use std::path::{Path, PathBuf};

/// Courier's default maildir, relative to the home directory, used when
/// an account has no `maildir` of its own (Courier's `MAILDIRPATH`
/// default).
pub const DEFAULT_MAILDIR: &str = "Maildir";

/// One authenticated (or looked-up) account.
///
/// This is what every backend produces and what the server needs after a
/// login: the canonical login name, the ids to run as, the home and
/// maildir, the Maildir++ quota and the options string.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    /// The canonical login (Courier's `ADDRESS`): the name the account
    /// is known by in logs, `AUTHENTICATED`, and ACL `user=` identifiers.
    pub login: String,
    /// Numeric user id the session should run as.
    pub uid: u32,
    /// Numeric group id the session should run as.
    pub gid: u32,
    /// Home directory (absolute in every sane configuration).
    pub home: PathBuf,
    /// The account's maildir as stored, if any: absolute, or relative to
    /// [`Account::home`]. Use [`Account::maildir_path`] to resolve it.
    pub maildir: Option<PathBuf>,
    /// Maildir++ quota specification (`NNNS,NNNC`), if any.
    pub quota: Option<String>,
    /// Full name (gecos), if any.
    pub full_name: Option<String>,
    /// Account options (`disableimap=1,group=staff,...`).
    pub options: Options,
}

impl Account {
    /// The maildir this account uses, by Courier's rule: the account's
    /// `maildir` if set and non-empty (relative paths resolve against the
    /// home directory), otherwise `home/Maildir`.
    pub fn maildir_path(&self) -> PathBuf {
        self.maildir_path_or(Path::new(DEFAULT_MAILDIR))
    }

    /// Like [`Account::maildir_path`], with a configured default in place
    /// of `Maildir` (Courier's `MAILDIRPATH` setting). A relative default
    /// resolves against the home directory too.
    pub fn maildir_path_or(&self, default: &Path) -> PathBuf {
        match &self.maildir {
            Some(m) if !m.as_os_str().is_empty() => self.home.join(m),
            _ => self.home.join(default),
        }
    }

    /// Whether `service` (`imap`, `pop3`, `webmail`, …) may be used by
    /// this account over a connection that is (`secure = true`) or is not
    /// protected by TLS: checks `disable<service>` and
    /// `disableinsecure<service>`, as Courier's servers do after a
    /// successful authentication.
    pub fn service_allowed(&self, service: &str, secure: bool) -> bool {
        let service = service.to_ascii_lowercase();
        if self.options.flag(&format!("disable{service}")) {
            return false;
        }
        secure || !self.options.flag(&format!("disableinsecure{service}"))
    }
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("login", &self.login)
            .field("uid", &self.uid)
            .field("gid", &self.gid)
            .field("home", &self.home)
            .field("maildir", &self.maildir)
            .field("quota", &self.quota)
            .field("full_name", &self.full_name)
            .field("options", &self.options.as_str())
            .finish()
    }
}

/// An account's options string, `name=value,name=value,...`, with typed
/// accessors for the keywords Courier defines (spec §8).
///
/// Lookup follows Courier's `auth_getoption`: the first entry whose name
/// matches wins; a bare `name` (no `=`) is present with an empty value.
/// Options with unknown names are kept and reachable through
/// [`Options::get`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Options {
    raw: String,
}

impl Options {
    /// Wraps an options string as stored by a backend.
    pub fn new(raw: impl Into<String>) -> Self {
        Options { raw: raw.into() }
    }

    /// The options string as stored.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// True if there are no options.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Every `(name, value)` pair in order; a bare name has the value `""`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.raw
            .split(',')
            .filter(|item| !item.is_empty())
            .map(|item| item.split_once('=').unwrap_or((item, "")))
    }

    /// The value of the first option called `name`, `Some("")` for a bare
    /// `name`, `None` if absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Every value of a repeatable option (`group`).
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.iter().filter(move |(n, _)| *n == name).map(|(_, v)| v)
    }

    /// A yes/no option interpreted as Courier's `auth_getoptionenvint`
    /// does: absent is false; otherwise the leading integer (`atoi`) is
    /// used, and a value whose integer is 0 counts as true when it starts
    /// with `t`, `T`, `y` or `Y` — or is empty, so a bare `disableimap`
    /// disables IMAP, as it does in Courier.
    pub fn flag(&self, name: &str) -> bool {
        match self.get(name) {
            None => false,
            Some(v) => atoi(v) != 0 || v.is_empty() || v.starts_with(['t', 'T', 'y', 'Y']),
        }
    }

    /// `disableimap`: IMAP (and SMAP) refused after authentication.
    pub fn disable_imap(&self) -> bool {
        self.flag("disableimap")
    }

    /// `disablepop3`: POP3 refused.
    pub fn disable_pop3(&self) -> bool {
        self.flag("disablepop3")
    }

    /// `disableinsecureimap`: IMAP refused unless the connection uses TLS.
    pub fn disable_insecure_imap(&self) -> bool {
        self.flag("disableinsecureimap")
    }

    /// `disableinsecurepop3`: POP3 refused unless the connection uses TLS.
    pub fn disable_insecure_pop3(&self) -> bool {
        self.flag("disableinsecurepop3")
    }

    /// `disablewebmail`: webmail refused.
    pub fn disable_webmail(&self) -> bool {
        self.flag("disablewebmail")
    }

    /// `disableshared`: no shared folders and no ACLs for this account.
    pub fn disable_shared(&self) -> bool {
        self.flag("disableshared")
    }

    /// The ACL groups this account belongs to (`group=name`, repeatable;
    /// `administrators` is special to the ACL code).
    pub fn groups(&self) -> Vec<&str> {
        self.get_all("group").filter(|g| !g.is_empty()).collect()
    }

    /// `sharedgroup=name`: the shared-folder index suffix.
    pub fn shared_group(&self) -> Option<&str> {
        self.get("sharedgroup").filter(|v| !v.is_empty())
    }

    /// `mailhost=host`: the back-end server this account is proxied to.
    pub fn mailhost(&self) -> Option<&str> {
        self.get("mailhost").filter(|v| !v.is_empty())
    }

    /// Merges defaults the way authdaemond merges `DEFAULTOPTIONS`: each
    /// default whose name is not already present is appended.
    pub fn with_defaults(&self, defaults: &Options) -> Options {
        let mut raw = self.raw.clone();
        for item in defaults.raw.split(',').filter(|i| !i.is_empty()) {
            let name = item.split_once('=').map_or(item, |(n, _)| n);
            if self.get(name).is_none() {
                if !raw.is_empty() {
                    raw.push(',');
                }
                raw.push_str(item);
            }
        }
        Options { raw }
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.raw, f)
    }
}

impl fmt::Display for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// C's `atoi`: optional leading whitespace and sign, then digits; stops
/// at the first other character; saturates instead of overflowing.
fn atoi(s: &str) -> i64 {
    let s = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg {
        -n
    } else {
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(maildir: Option<&str>, options: &str) -> Account {
        Account {
            login: "john".into(),
            uid: 1000,
            gid: 1000,
            home: "/home/john".into(),
            maildir: maildir.map(PathBuf::from),
            quota: None,
            full_name: None,
            options: Options::new(options),
        }
    }

    #[test]
    fn maildir_rule() {
        assert_eq!(
            account(None, "").maildir_path(),
            Path::new("/home/john/Maildir")
        );
        assert_eq!(
            account(Some(""), "").maildir_path(),
            Path::new("/home/john/Maildir")
        );
        assert_eq!(
            account(Some("mail/box"), "").maildir_path(),
            Path::new("/home/john/mail/box")
        );
        assert_eq!(
            account(Some("./Maildir"), "").maildir_path(),
            Path::new("/home/john/./Maildir")
        );
        assert_eq!(
            account(Some("/var/mail/john"), "").maildir_path(),
            Path::new("/var/mail/john")
        );
        assert_eq!(
            account(None, "").maildir_path_or(Path::new(".maildir")),
            Path::new("/home/john/.maildir")
        );
    }

    #[test]
    fn options_courier_semantics() {
        let o = Options::new(
            "disableimap=1,group=staff,group=administrators,sharedgroup=x,mailhost=mx1,disablepop3=0,disableshared",
        );
        assert!(o.disable_imap());
        assert!(!o.disable_pop3());
        assert!(o.disable_shared(), "bare keyword counts as set");
        assert!(!o.disable_insecure_imap());
        assert_eq!(o.groups(), vec!["staff", "administrators"]);
        assert_eq!(o.shared_group(), Some("x"));
        assert_eq!(o.mailhost(), Some("mx1"));
        assert_eq!(o.get("disableshared"), Some(""));
        assert_eq!(o.get("nosuch"), None);
        // First occurrence wins; prefix names do not match.
        let o = Options::new("disableimapx=1,disableimap=yes,disableimap=0");
        assert!(o.disable_imap());
        assert!(Options::new("disablepop3=true").disable_pop3());
        assert!(Options::new("disablepop3= 2").disable_pop3());
        assert!(!Options::new("disablepop3=no").disable_pop3());
        assert!(!Options::new("disablepop3=false").disable_pop3());
        assert!(!Options::new("").disable_pop3());
    }

    #[test]
    fn service_allowed() {
        let a = account(None, "disableinsecureimap=1,disablepop3=1");
        assert!(a.service_allowed("imap", true));
        assert!(!a.service_allowed("imap", false));
        assert!(!a.service_allowed("pop3", true));
        assert!(a.service_allowed("webmail", false));
    }

    #[test]
    fn default_options_merge() {
        let o = Options::new("disableimap=0,group=a");
        let d = Options::new("disableimap=1,disablepop3=1,group=b");
        assert_eq!(
            o.with_defaults(&d).as_str(),
            "disableimap=0,group=a,disablepop3=1"
        );
        assert_eq!(Options::new("").with_defaults(&d).as_str(), d.as_str());
    }
}
