//! `authldaprc` → [`LdapConfig`].
//!
//! Courier's defaults for absent keys, which differ from the TOML keys'
//! in places: `LDAP_HOMEDIR` is `homeDir`; `LDAP_UID`, `LDAP_GID`,
//! `LDAP_CRYPTPW` and `LDAP_CLEARPW` have none; `LDAP_MAIL` is `mail`,
//! `LDAP_TIMEOUT` 5. `LDAP_URI` may list several URIs, separated by
//! commas or whitespace (libldap's list syntax); they are tried in turn.
//! `LDAP_BINDDN` and `LDAP_BINDPW` are used only with `LDAP_INITBIND`
//! non-zero (and are then required), as in Courier: without it Courier
//! searches anonymously, so a bind DN written beside `LDAP_INITBIND 0` is
//! a warning and unused. `LDAP_GLOB_UID` and `LDAP_GLOB_GID` may be
//! numbers or names, looked up in [`IdFiles`] (Courier: `getpwnam`,
//! `getgrnam`). Switches (`LDAP_AUTHBIND`, `LDAP_INITBIND`, `LDAP_TLS`)
//! are numbers, non-zero being on.
//!
//! Refused: no `LDAP_URI` or `LDAP_BASEDN`, an `LDAP_PROTOCOL_VERSION`
//! other than 3 (Courser speaks LDAPv3 only; 0 is the library's default,
//! 3), an `LDAP_DEREF` Courier would refuse, an unknown user or group
//! name.
//!
//! Warned and ignored: `LDAP_DEREF` other than `never` (Courser never
//! dereferences aliases), `LDAP_EMAILMAP*` (no two-step lookup),
//! `LDAP_DEFAULTDELIVERY`
//! (Courier's mail server only), an `LDAP_TIMEOUT` of 0 (Courser always
//! has a limit). Also warned: settings that make every login fail (no
//! uid or gid source, no password source).

use std::path::{Path, PathBuf};

use super::{is_space, Imported, RcError, RcFile};
use crate::ldap::LdapConfig;
use crate::passwd::{getgrnam, getpwnam, DEFAULT_GROUP, DEFAULT_PASSWD};

/// The files that resolve user and group names in `LDAP_GLOB_UID` and
/// `LDAP_GLOB_GID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdFiles {
    /// passwd(5) file.
    pub passwd: PathBuf,
    /// group(5) file.
    pub group: PathBuf,
}

impl Default for IdFiles {
    fn default() -> Self {
        IdFiles {
            passwd: DEFAULT_PASSWD.into(),
            group: DEFAULT_GROUP.into(),
        }
    }
}

/// Every key Courier's authldap reads.
const KNOWN: &[&str] = &[
    "LDAP_URI",
    "LDAP_PROTOCOL_VERSION",
    "LDAP_BASEDN",
    "LDAP_BINDDN",
    "LDAP_BINDPW",
    "LDAP_TIMEOUT",
    "LDAP_AUTHBIND",
    "LDAP_INITBIND",
    "LDAP_MAIL",
    "LDAP_FILTER",
    "LDAP_DOMAIN",
    "LDAP_GLOB_UID",
    "LDAP_GLOB_GID",
    "LDAP_UID",
    "LDAP_GID",
    "LDAP_HOMEDIR",
    "LDAP_MAILROOT",
    "LDAP_MAILDIR",
    "LDAP_DEFAULTDELIVERY",
    "LDAP_MAILDIRQUOTA",
    "LDAP_FULLNAME",
    "LDAP_CLEARPW",
    "LDAP_CRYPTPW",
    "LDAP_AUXOPTIONS",
    "LDAP_ENUMERATE_FILTER",
    "LDAP_DEREF",
    "LDAP_TLS",
    "LDAP_EMAILMAP",
    "LDAP_EMAILMAP_BASEDN",
    "LDAP_EMAILMAP_ATTRIBUTE",
    "LDAP_EMAILMAP_MAIL",
];

/// Converts an authldaprc. See the module documentation.
pub fn ldap_config(rc: &RcFile, ids: &IdFiles) -> Result<Imported<LdapConfig>, RcError> {
    let mut warnings = Vec::new();
    let w = &mut warnings;
    let uri_list = rc.get("LDAP_URI").ok_or_else(|| {
        let old = if rc.get("LDAP_SERVER").is_some() {
            "; LDAP_SERVER and LDAP_PORT of older Courier releases are not read"
        } else {
            ""
        };
        RcError::key("LDAP_URI", format!("missing (Courier requires it){old}"))
    })?;
    let uri: Vec<String> = uri_list
        .split(|c: char| c == ',' || is_space(c))
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect();
    if uri.is_empty() {
        return Err(RcError::key("LDAP_URI", "names no URI"));
    }
    let basedn = rc.required("LDAP_BASEDN")?;
    if basedn.is_empty() {
        return Err(RcError::key("LDAP_BASEDN", "empty"));
    }
    let mut c = LdapConfig::new("", basedn);
    c.uri = uri;

    match rc.number("LDAP_PROTOCOL_VERSION", 0, w) {
        0 | 3 => {}
        v => {
            return Err(RcError::key(
                "LDAP_PROTOCOL_VERSION",
                format!("{v}: Courser speaks LDAP version 3 only"),
            ))
        }
    }
    if rc.flag("LDAP_INITBIND", w) {
        c.binddn = Some(rc.required("LDAP_BINDDN")?.to_owned());
        c.bindpw = Some(rc.required("LDAP_BINDPW")?.to_owned());
    } else {
        rc.ignored(
            &["LDAP_BINDDN", "LDAP_BINDPW"],
            "used only with LDAP_INITBIND 1; searching anonymously, as Courier does",
            w,
        );
    }
    let timeout = rc.number("LDAP_TIMEOUT", 5, w);
    match u64::try_from(timeout).ok().filter(|&t| t > 0) {
        Some(t) => c.timeout_secs = t,
        None => w.push(format!(
            "LDAP_TIMEOUT: {timeout} (no limit) ignored: Courser waits {} s",
            c.timeout_secs
        )),
    }
    c.authbind = rc.flag("LDAP_AUTHBIND", w);
    c.starttls = rc.flag("LDAP_TLS", w);
    c.mail = rc.string("LDAP_MAIL").unwrap_or_else(|| "mail".into());
    c.filter = rc.string("LDAP_FILTER");
    c.enumerate_filter = rc.string("LDAP_ENUMERATE_FILTER");
    c.domain = rc.string("LDAP_DOMAIN");
    c.glob_uid = glob_id(rc, "LDAP_GLOB_UID", &ids.passwd, |file, name| {
        getpwnam(file, name).map(|p| p.map(|p| p.uid))
    })?;
    c.glob_gid = glob_id(rc, "LDAP_GLOB_GID", &ids.group, getgrnam)?;
    c.uid = rc.string("LDAP_UID");
    c.gid = rc.string("LDAP_GID");
    c.homedir = rc
        .string("LDAP_HOMEDIR")
        .unwrap_or_else(|| "homeDir".into());
    c.mailroot = rc.string("LDAP_MAILROOT").map(PathBuf::from);
    c.maildir = rc.string("LDAP_MAILDIR");
    c.maildirquota = rc.string("LDAP_MAILDIRQUOTA");
    c.fullname = rc.string("LDAP_FULLNAME");
    c.clearpw = rc.string("LDAP_CLEARPW");
    c.cryptpw = rc.string("LDAP_CRYPTPW");
    c.auxoptions = rc.string("LDAP_AUXOPTIONS");

    match rc
        .value("LDAP_DEREF")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("never") => {}
        Some(v @ ("searching" | "finding" | "always")) => w.push(format!(
            "LDAP_DEREF: {v} ignored: Courser never dereferences aliases"
        )),
        Some(v) => {
            return Err(RcError::key(
                "LDAP_DEREF",
                format!("{v:?}: not never, searching, finding or always"),
            ))
        }
    }
    rc.ignored(
        &[
            "LDAP_EMAILMAP",
            "LDAP_EMAILMAP_BASEDN",
            "LDAP_EMAILMAP_ATTRIBUTE",
            "LDAP_EMAILMAP_MAIL",
        ],
        "Courser has no e-mail map lookup; logins are searched by LDAP_MAIL",
        w,
    );
    rc.ignored(
        &["LDAP_DEFAULTDELIVERY"],
        "used only by Courier's mail server for deliveries",
        w,
    );
    for (glob, glob_key, attr, attr_key, what) in [
        (c.glob_uid, "LDAP_GLOB_UID", &c.uid, "LDAP_UID", "uid"),
        (c.glob_gid, "LDAP_GLOB_GID", &c.gid, "LDAP_GID", "gid"),
    ] {
        if glob.is_none() && attr.is_none() {
            w.push(format!(
                "{attr_key}: neither it nor {glob_key} is set: accounts have no {what} and \
                 every login fails"
            ));
        }
    }
    if !c.authbind && c.cryptpw.is_none() && c.clearpw.is_none() {
        w.push(
            "LDAP_CRYPTPW: neither it, LDAP_CLEARPW nor LDAP_AUTHBIND is set: no password can \
             be checked"
                .into(),
        );
    }
    rc.unknown(&|k: &str| KNOWN.contains(&k), w);
    Ok(Imported {
        config: c,
        warnings,
    })
}

/// `LDAP_GLOB_UID`/`_GID`: a number, or a name looked up in `file`.
fn glob_id(
    rc: &RcFile,
    key: &str,
    file: &Path,
    lookup: impl Fn(&Path, &str) -> Result<Option<u32>, String>,
) -> Result<Option<u32>, RcError> {
    let Some(v) = rc.value(key) else {
        return Ok(None);
    };
    if v.bytes().all(|b| b.is_ascii_digit()) {
        return v
            .parse()
            .map(Some)
            .map_err(|_| RcError::key(key, format!("{v} is out of range")));
    }
    match lookup(file, v) {
        Ok(Some(id)) => Ok(Some(id)),
        Ok(None) => Err(RcError::key(key, format!("no {v:?} in {}", file.display()))),
        Err(e) => Err(RcError::key(key, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Courier's sample authldaprc, abridged, with a continued line.
    const SAMPLE: &str = "##VERSION: $Id: $\n\
        # comment\n\
        ##NAME: LOCATION:0\n\
        LDAP_URI\t\tldaps://ldap.example.com, \\\n\
        \t\t\tldaps://backup.example.com ldap://third\n\
        LDAP_PROTOCOL_VERSION\t3\n\
        LDAP_BASEDN\t\to=example, c=com\n\
        LDAP_BINDDN\t\tcn=administrator, o=example, c=com\n\
        LDAP_BINDPW\t\ttoto # with a hash\n\
        LDAP_TIMEOUT\t\t7\n\
        LDAP_INITBIND\t\t1\n\
        LDAP_MAIL\t\tmail\n\
        LDAP_HOMEDIR\t\thomeDirectory\n\
        LDAP_MAILDIR\t\tmailbox\n\
        LDAP_FULLNAME\t\tcn\n\
        LDAP_CLEARPW\t\tclearPassword\n\
        LDAP_CRYPTPW\t\tuserPassword\n\
        LDAP_UID\t\tuidNumber\n\
        LDAP_GID\t\tgidNumber\n\
        LDAP_DEREF\t\tnever\n\
        LDAP_TLS\t\t0\n\
        ##NAME: MARKER:0\n";

    fn convert_with(text: &str, ids: &IdFiles) -> Result<Imported<LdapConfig>, RcError> {
        ldap_config(&RcFile::parse(text), ids)
    }

    fn convert(text: &str) -> Imported<LdapConfig> {
        convert_with(text, &IdFiles::default()).unwrap()
    }

    fn keys(warnings: &[String]) -> Vec<&str> {
        warnings
            .iter()
            .map(|w| &w[..w.find(':').unwrap()])
            .collect()
    }

    #[test]
    fn sample_file() {
        let i = convert(SAMPLE);
        assert_eq!(i.warnings, Vec::<String>::new());
        let c = i.config;
        assert_eq!(
            c.uri,
            [
                "ldaps://ldap.example.com",
                "ldaps://backup.example.com",
                "ldap://third"
            ]
        );
        assert_eq!(c.basedn, "o=example, c=com");
        assert_eq!(
            c.binddn.as_deref(),
            Some("cn=administrator, o=example, c=com")
        );
        assert_eq!(c.bindpw.as_deref(), Some("toto # with a hash"));
        assert_eq!(c.timeout_secs, 7);
        assert!(!c.authbind && !c.starttls);
        assert_eq!(c.mail, "mail");
        assert_eq!(c.homedir, "homeDirectory");
        assert_eq!(c.maildir.as_deref(), Some("mailbox"));
        assert_eq!(c.fullname.as_deref(), Some("cn"));
        assert_eq!(c.clearpw.as_deref(), Some("clearPassword"));
        assert_eq!(c.cryptpw.as_deref(), Some("userPassword"));
        assert_eq!(c.uid.as_deref(), Some("uidNumber"));
        assert_eq!((c.glob_uid, c.glob_gid), (None, None));
    }

    #[test]
    fn courier_defaults_for_absent_keys() {
        let i =
            convert("LDAP_URI ldap://h\nLDAP_BASEDN dc=x\nLDAP_AUTHBIND 1\nLDAP_GLOB_UID 5000\n");
        let c = &i.config;
        assert_eq!(c.homedir, "homeDir");
        assert_eq!(c.mail, "mail");
        assert_eq!(c.timeout_secs, 5);
        assert_eq!((c.uid.as_deref(), c.gid.as_deref()), (None, None));
        assert_eq!((c.cryptpw.as_deref(), c.clearpw.as_deref()), (None, None));
        assert_eq!((c.binddn.as_deref(), c.bindpw.as_deref()), (None, None));
        assert!(c.authbind);
        assert_eq!(c.glob_uid, Some(5000));
        // No gid at all: every login would fail.
        assert_eq!(keys(&i.warnings), ["LDAP_GID"]);
        let i = convert("LDAP_URI ldap://h\nLDAP_BASEDN dc=x\nLDAP_UID u\nLDAP_GID g\n");
        assert_eq!(keys(&i.warnings), ["LDAP_CRYPTPW"]);
    }

    #[test]
    fn glob_ids_by_number_or_name() {
        let dir = tempfile::tempdir().unwrap();
        let ids = IdFiles {
            passwd: dir.path().join("passwd"),
            group: dir.path().join("group"),
        };
        std::fs::write(
            &ids.passwd,
            "root:x:0:0:root:/root:/bin/sh\nvmail:x:5000:5001::/var/mail:/usr/sbin/nologin\n",
        )
        .unwrap();
        std::fs::write(&ids.group, "root:x:0:\nmail:x:8:\nvmail:x:5001:\n").unwrap();
        let base = "LDAP_URI ldap://h\nLDAP_BASEDN dc=x\nLDAP_CRYPTPW userPassword\n";
        let c = convert_with(
            &format!("{base}LDAP_GLOB_UID vmail\nLDAP_GLOB_GID mail\n"),
            &ids,
        )
        .unwrap();
        assert_eq!(
            (c.config.glob_uid, c.config.glob_gid),
            (Some(5000), Some(8))
        );
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        // Unlike Courier, the gid is read from LDAP_GLOB_GID even when
        // LDAP_GLOB_UID is a number.
        let c = convert_with(
            &format!("{base}LDAP_GLOB_UID 5000\nLDAP_GLOB_GID vmail\nLDAP_UID uidNumber\n"),
            &ids,
        )
        .unwrap();
        assert_eq!(
            (c.config.glob_uid, c.config.glob_gid),
            (Some(5000), Some(5001))
        );
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        for (line, key, what) in [
            ("LDAP_GLOB_UID nobody", "LDAP_GLOB_UID", "no \"nobody\""),
            ("LDAP_GLOB_GID nogroup", "LDAP_GLOB_GID", "no \"nogroup\""),
            ("LDAP_GLOB_UID 99999999999", "LDAP_GLOB_UID", "out of range"),
        ] {
            let e = convert_with(&format!("{base}{line}\n"), &ids).unwrap_err();
            assert!(
                matches!(&e, RcError::Key { key: k, .. } if k == key),
                "{e:?}"
            );
            assert!(e.to_string().contains(what), "{e}");
        }
        let gone = IdFiles {
            passwd: dir.path().join("none"),
            group: ids.group.clone(),
        };
        let e = convert_with(&format!("{base}LDAP_GLOB_UID vmail\n"), &gone).unwrap_err();
        assert!(e.to_string().contains("none"), "{e}");
    }

    #[test]
    fn binds_switches_and_timeouts() {
        let base = "LDAP_URI ldap://h\nLDAP_BASEDN dc=x\nLDAP_UID u\nLDAP_GID g\n\
                    LDAP_CRYPTPW userPassword\n";
        // Without LDAP_INITBIND Courier searches anonymously.
        let i = convert(&format!("{base}LDAP_BINDDN cn=admin\nLDAP_BINDPW secret\n"));
        assert_eq!(i.config.binddn, None);
        assert_eq!(keys(&i.warnings), ["LDAP_BINDDN", "LDAP_BINDPW"]);
        let e = convert_with(
            &format!("{base}LDAP_INITBIND 1\nLDAP_BINDDN cn=admin\n"),
            &IdFiles::default(),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("LDAP_BINDPW: missing"), "{e}");
        // An empty password is Courier's too.
        let i = convert(&format!(
            "{base}LDAP_INITBIND 1\nLDAP_BINDDN cn=admin\nLDAP_BINDPW\n"
        ));
        assert_eq!(i.config.bindpw.as_deref(), Some(""));
        let i = convert(&format!(
            "{base}LDAP_TLS 1\nLDAP_AUTHBIND yes\nLDAP_TIMEOUT 0\nLDAP_FILTER (objectClass=x)\n\
             LDAP_DOMAIN example.com\nLDAP_MAILROOT /var/mail\nLDAP_MAILDIRQUOTA quota\n\
             LDAP_AUXOPTIONS disableimap=disableimap,sharedgroup\n"
        ));
        let c = &i.config;
        assert!(c.starttls);
        // "yes" is 0 to Courier.
        assert!(!c.authbind);
        assert_eq!(c.timeout_secs, 5);
        assert_eq!(keys(&i.warnings), ["LDAP_TIMEOUT", "LDAP_AUTHBIND"]);
        assert_eq!(c.filter.as_deref(), Some("(objectClass=x)"));
        assert_eq!(c.domain.as_deref(), Some("example.com"));
        assert_eq!(c.mailroot.as_deref(), Some(Path::new("/var/mail")));
        assert_eq!(c.maildirquota.as_deref(), Some("quota"));
        assert_eq!(
            c.auxoptions.as_deref(),
            Some("disableimap=disableimap,sharedgroup")
        );
    }

    #[test]
    fn refusals_and_unsupported_keys() {
        let ids = IdFiles::default();
        let base = "LDAP_URI ldap://h\nLDAP_BASEDN dc=x\nLDAP_UID u\nLDAP_GID g\n\
                    LDAP_CRYPTPW userPassword\n";
        for (text, start) in [
            ("LDAP_BASEDN dc=x\n", "LDAP_URI: missing"),
            ("LDAP_SERVER h\nLDAP_BASEDN dc=x\n", "LDAP_URI: missing"),
            ("LDAP_URI , \nLDAP_BASEDN dc=x\n", "LDAP_URI: names no URI"),
            ("LDAP_URI ldap://h\n", "LDAP_BASEDN: missing"),
            ("LDAP_URI ldap://h\nLDAP_BASEDN\n", "LDAP_BASEDN: empty"),
        ] {
            let e = convert_with(text, &ids).unwrap_err().to_string();
            assert!(e.starts_with(start), "{text:?}: {e}");
        }
        assert!(convert_with("LDAP_SERVER h\nLDAP_BASEDN dc=x\n", &ids)
            .unwrap_err()
            .to_string()
            .contains("older Courier"));
        for (line, start) in [
            ("LDAP_PROTOCOL_VERSION 2", "LDAP_PROTOCOL_VERSION: 2"),
            ("LDAP_DEREF sometimes", "LDAP_DEREF: \"sometimes\""),
        ] {
            let e = convert_with(&format!("{line}\n{base}"), &ids).unwrap_err();
            assert!(e.to_string().starts_with(start), "{e}");
        }
        for ok in [
            "LDAP_PROTOCOL_VERSION 0",
            "LDAP_PROTOCOL_VERSION 3",
            "LDAP_DEREF Never",
        ] {
            assert!(
                convert(&format!("{ok}\n{base}")).warnings.is_empty(),
                "{ok}"
            );
        }
        let i = convert(&format!(
            "{base}LDAP_DEREF Always\nLDAP_EMAILMAP (uid=@user@)\nLDAP_EMAILMAP_BASEDN o=x\n\
             LDAP_ENUMERATE_FILTER (uid=*)\nLDAP_DEFAULTDELIVERY dd\nLDAP_TYPO 1\nLDAP_EMPTY\n"
        ));
        assert_eq!(i.config.enumerate_filter.as_deref(), Some("(uid=*)"));
        assert_eq!(
            keys(&i.warnings),
            [
                "LDAP_DEREF",
                "LDAP_EMAILMAP",
                "LDAP_EMAILMAP_BASEDN",
                "LDAP_DEFAULTDELIVERY",
                "LDAP_TYPO"
            ]
        );
    }
}
