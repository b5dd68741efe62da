//! One userdb record: `field=value|field=value|…` (spec §7.1).

use std::path::PathBuf;

use crate::account::{Account, Options};
use crate::backend::Entry;
use crate::cram::{CramHash, HmacContext};
use crate::password::{self, HashError, Scheme};
use crate::scram::{ScramHash, ScramKeys};

/// Which challenge-response secrets some record holds: what a userdb can
/// serve beyond plain passwords (decides which mechanisms to offer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecretKinds {
    /// An HMAC context (`hmac-<hash>pw`): CRAM-*.
    pub cram: bool,
    /// A `scram-sha-1pw` secret.
    pub scram_sha1: bool,
    /// A `scram-sha-256pw` secret.
    pub scram_sha256: bool,
}

impl SecretKinds {
    /// Whether SCRAM with `hash` can be served.
    pub fn scram(&self, hash: ScramHash) -> bool {
        match hash {
            ScramHash::Sha1 => self.scram_sha1,
            ScramHash::Sha256 => self.scram_sha256,
        }
    }

    /// Adds what `other` holds.
    pub fn merge(&mut self, other: SecretKinds) {
        self.cram |= other.cram;
        self.scram_sha1 |= other.scram_sha1;
        self.scram_sha256 |= other.scram_sha256;
    }
}

/// The userdb field name part for a SCRAM hash: `scram-sha-256`.
fn scram_field(hash: ScramHash) -> String {
    hash.mechanism().to_ascii_lowercase()
}

/// The fields of one userdb line, in file order. A field written without
/// `=` has no value (`None`); Courier reads it as an empty string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    fields: Vec<(String, Option<String>)>,
}

/// Why a record cannot make an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RecordProblem {
    /// `home`, `uid` or `gid` is missing.
    Missing(&'static str),
    /// `uid` or `gid` is not a number in `0..=4294967295`.
    BadNumber(&'static str),
}

impl std::fmt::Display for RecordProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordProblem::Missing(n) => write!(f, "required field '{n}' is missing or empty"),
            RecordProblem::BadNumber(n) => write!(f, "field '{n}' is not a valid number"),
        }
    }
}

impl Record {
    /// Parses the part of a line after the TAB.
    pub fn parse(text: &str) -> Record {
        let fields = text
            .split('|')
            .filter(|f| !f.is_empty())
            .map(|f| match f.split_once('=') {
                Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                None => (f.to_owned(), None),
            })
            .collect();
        Record { fields }
    }

    /// Builds a record from fields (for the editor).
    pub fn from_fields(fields: Vec<(String, Option<String>)>) -> Record {
        Record { fields }
    }

    /// The fields in order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_deref()))
    }

    /// Mutable access for the editor.
    pub(crate) fn fields_mut(&mut self) -> &mut Vec<(String, Option<String>)> {
        &mut self.fields
    }

    /// The record in file syntax (without name and TAB).
    pub fn to_text(&self) -> String {
        self.fields
            .iter()
            .map(|(n, v)| match v {
                Some(v) => format!("{n}={v}"),
                None => n.clone(),
            })
            .collect::<Vec<_>>()
            .join("|")
    }

    /// makeuserdb moves `…pw=value` fields to the shadow database; other
    /// lookups never see them, and password lookups see only them.
    fn is_secret(name: &str, value: Option<&str>) -> bool {
        name.ends_with("pw") && value.is_some()
    }

    /// A non-password field, as Courier's `userdb_gets` on `userdb.dat`
    /// returns it: the first field of that name; `Some("")` for a field
    /// without `=`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields()
            .filter(|(n, v)| !Self::is_secret(n, *v))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.unwrap_or(""))
    }

    /// A password field (`systempw`, `imappw`, `hmac-md5pw`, …) as read
    /// from `userdbshadow.dat`.
    pub fn secret(&self, name: &str) -> Option<&str> {
        self.fields()
            .filter(|(n, v)| Self::is_secret(n, *v))
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v)
    }

    /// Which challenge-response secrets the record holds (by field name;
    /// values are checked when used).
    pub fn secret_kinds(&self) -> SecretKinds {
        let has = |part: &str| {
            self.fields()
                .any(|(n, v)| Self::is_secret(n, v) && n.contains(part))
        };
        SecretKinds {
            cram: has("hmac-"),
            scram_sha1: has(&format!("{}pw", scram_field(ScramHash::Sha1))),
            scram_sha256: has(&format!("{}pw", scram_field(ScramHash::Sha256))),
        }
    }

    /// The fields to set so that every secret [`Record::entry`] takes for
    /// `service` comes from `new`: the password field it reads
    /// (`<service>pw`, else `systempw`), hashed in that field's scheme
    /// when [`Scheme::of_stored`] knows it (else [`Scheme::DEFAULT`]), and
    /// each CRAM or SCRAM secret it reads, derived again — none left
    /// that still opens the account with the old password.
    pub(crate) fn new_secrets(
        &self,
        service: &str,
        new: &[u8],
    ) -> Result<Vec<(String, String)>, HashError> {
        let read = |specific: String, generic: String| {
            if self.secret(&specific).is_some() {
                specific
            } else {
                generic
            }
        };
        let field = read(format!("{service}pw"), "systempw".into());
        let scheme = self
            .secret(&field)
            .and_then(Scheme::of_stored)
            .unwrap_or(Scheme::DEFAULT);
        let mut fields = vec![(field, password::hash(scheme, new)?)];
        let derived = CramHash::ALL
            .into_iter()
            .map(|h| (format!("hmac-{}pw", h.name()), Scheme::Hmac(h)))
            .chain(
                ScramHash::ALL
                    .into_iter()
                    .map(|h| (format!("{}pw", scram_field(h)), Scheme::Scram(h))),
            );
        for (generic, scheme) in derived {
            let field = read(format!("{service}-{generic}"), generic);
            if self.secret(&field).is_some() {
                fields.push((field, password::hash(scheme, new)?));
            }
        }
        Ok(fields)
    }

    /// The account this record describes for login `login`.
    pub(crate) fn account(&self, login: &str) -> Result<Account, RecordProblem> {
        let home = self
            .get("home")
            .filter(|h| !h.is_empty())
            .ok_or(RecordProblem::Missing("home"))?;
        let number = |name: &'static str| -> Result<u32, RecordProblem> {
            let v = self.get(name).ok_or(RecordProblem::Missing(name))?.trim();
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(RecordProblem::BadNumber(name));
            }
            v.parse().map_err(|_| RecordProblem::BadNumber(name))
        };
        let uid = number("uid")?;
        let gid = number("gid")?;
        let nonempty = |name: &str| self.get(name).filter(|v| !v.is_empty()).map(str::to_owned);
        Ok(Account {
            login: login.to_owned(),
            uid,
            gid,
            home: PathBuf::from(home),
            maildir: nonempty("mail").map(PathBuf::from),
            quota: nonempty("quota"),
            full_name: nonempty("gecos"),
            options: Options::new(self.get("options").unwrap_or("")),
        })
    }

    /// The entry for `service`: password `<service>pw`, else `systempw`;
    /// CRAM keys `<service>-hmac-<hash>pw`, else `hmac-<hash>pw` (Courier's
    /// `authuserdb.c`); SCRAM secrets `<service>-scram-<hash>pw`, else
    /// `scram-<hash>pw` (Courser's, same pattern). Malformed HMAC contexts
    /// and SCRAM secrets are skipped.
    pub(crate) fn entry(&self, login: &str, service: &str) -> Result<Entry, RecordProblem> {
        let mut entry = Entry::new(self.account(login)?);
        entry.password = self
            .secret(&format!("{service}pw"))
            .or_else(|| self.secret("systempw"))
            .map(str::to_owned);
        for hash in CramHash::ALL {
            let value = self
                .secret(&format!("{service}-hmac-{}pw", hash.name()))
                .or_else(|| self.secret(&format!("hmac-{}pw", hash.name())));
            if let Some(ctx) = value.and_then(|v| HmacContext::from_hex(hash, v)) {
                entry.cram_keys.push(ctx);
            }
        }
        for hash in ScramHash::ALL {
            let field = scram_field(hash);
            let value = self
                .secret(&format!("{service}-{field}pw"))
                .or_else(|| self.secret(&format!("{field}pw")));
            if let Some(keys) = value.and_then(ScramKeys::parse).filter(|k| k.hash == hash) {
                entry.scram_keys.push(keys);
            }
        }
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn parse_and_get() {
        let r = Record::parse(
            "uid=1000|gid=100|home=/home/j|mail=Maildir2|gecos=John Doe|options=disableimap=1,group=x|systempw=$1$x$y|imappw=abc|flag|a=b=c",
        );
        assert_eq!(r.get("uid"), Some("1000"));
        assert_eq!(r.get("flag"), Some(""));
        assert_eq!(r.get("a"), Some("b=c"));
        assert_eq!(r.get("options"), Some("disableimap=1,group=x"));
        assert_eq!(r.get("systempw"), None, "passwords are shadow fields");
        assert_eq!(r.secret("systempw"), Some("$1$x$y"));
        assert_eq!(r.secret("home"), None);
        let a = r.account("j@x").expect("valid");
        assert_eq!(a.uid, 1000);
        assert_eq!(a.gid, 100);
        assert_eq!(a.maildir_path(), Path::new("/home/j/Maildir2"));
        assert_eq!(a.full_name.as_deref(), Some("John Doe"));
        assert!(a.options.disable_imap());
        assert_eq!(r.to_text().split('|').count(), 10);
    }

    #[test]
    fn per_service_passwords() {
        let r = Record::parse("uid=1|gid=1|home=/h|systempw=SYS|imappw=IMAP|pop3pw=");
        let e = r.entry("u", "imap").expect("valid");
        assert_eq!(e.password.as_deref(), Some("IMAP"));
        let e = r.entry("u", "login").expect("valid");
        assert_eq!(e.password.as_deref(), Some("SYS"));
        // An empty per-service password still wins (Courier then fails
        // the check), it does not fall back to systempw.
        let e = r.entry("u", "pop3").expect("valid");
        assert_eq!(e.password.as_deref(), Some(""));
        assert!(!e.check_password(b""));
    }

    #[test]
    fn first_field_wins_and_bare_pw_is_not_secret() {
        let r = Record::parse("uid=1|uid=2|gid=1|home=/h|systempw|systempw=X");
        assert_eq!(r.account("u").expect("valid").uid, 1);
        assert_eq!(r.secret("systempw"), Some("X"));
    }

    #[test]
    fn invalid_records() {
        for (text, problem) in [
            ("uid=1|gid=1", RecordProblem::Missing("home")),
            ("uid=1|gid=1|home=", RecordProblem::Missing("home")),
            ("gid=1|home=/h", RecordProblem::Missing("uid")),
            ("uid=1|home=/h", RecordProblem::Missing("gid")),
            ("uid=x|gid=1|home=/h", RecordProblem::BadNumber("uid")),
            ("uid=-1|gid=1|home=/h", RecordProblem::BadNumber("uid")),
            (
                "uid=1|gid=99999999999|home=/h",
                RecordProblem::BadNumber("gid"),
            ),
            ("uid=|gid=1|home=/h", RecordProblem::BadNumber("uid")),
        ] {
            assert_eq!(Record::parse(text).account("u"), Err(problem), "{text}");
        }
    }

    #[test]
    fn cram_fields() {
        let md5 = "cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56";
        let r = Record::parse(&format!(
            "uid=1|gid=1|home=/h|hmac-md5pw={md5}|imap-hmac-sha1pw=bad|hmac-sha256pw=short"
        ));
        assert!(r.secret_kinds().cram);
        let e = r.entry("u", "imap").expect("valid");
        assert_eq!(e.cram_keys.len(), 1);
        assert_eq!(e.cram_keys[0].hash(), CramHash::Md5);
        assert_eq!(
            Record::parse("uid=1|gid=1|home=/h|systempw=x").secret_kinds(),
            SecretKinds::default()
        );
    }

    #[test]
    fn scram_fields() {
        let k256 = ScramKeys::from_password(ScramHash::Sha256, b"pw", b"salt", 4096);
        let k1 = ScramKeys::from_password(ScramHash::Sha1, b"pw", b"salt", 4096);
        let imap1 = ScramKeys::from_password(ScramHash::Sha1, b"imap", b"salt", 4096);
        let r = Record::parse(&format!(
            "uid=1|gid=1|home=/h|scram-sha-256pw={k256}|scram-sha-1pw={k1}|imap-scram-sha-1pw={imap1}"
        ));
        let kinds = r.secret_kinds();
        assert!(kinds.scram(ScramHash::Sha1) && kinds.scram(ScramHash::Sha256) && !kinds.cram);
        let e = r.entry("u", "pop3").expect("valid");
        assert_eq!(e.scram_keys, [k256.clone(), k1]);
        let e = r.entry("u", "imap").expect("valid");
        assert_eq!(e.scram_keys, [k256.clone(), imap1]);
        // A secret of the wrong hash in a field, or garbage, is skipped.
        let r = Record::parse(&format!(
            "uid=1|gid=1|home=/h|scram-sha-1pw={k256}|scram-sha-256pw=x"
        ));
        assert!(r.entry("u", "imap").expect("valid").scram_keys.is_empty());
    }
}
