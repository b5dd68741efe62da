//! ACL (RFC 4314 §3; RFC 2086's presentation, as Courier answers):
//! GETACL, SETACL, DELETEACL, LISTRIGHTS, MYRIGHTS, and the rights checks
//! the other commands make (RFC 4314 §4), with Courier's answers.
//!
//! Courier shows the ACL the RFC 2086 way: `user=` identifiers without
//! their prefix, other `=` identifiers (`group=`) not at all, and `x t e`
//! as `d` when all three are held (else not shown). SETACL takes login
//! names (stored as `user=NAME`) and the special identifiers; `d` sets
//! `x t e`.

use courser_maildir::acl::{rights, Identifier};
use courser_maildir::acl::{AclList, Rights};

use courser_maildir::names;
use courser_protocol::Untrusted;

use super::reply::Reply;
use super::{Selected, Session, State};
use crate::codec::respond::{self, Code};
use crate::mailstore::{settable, MailStore, StoreError};

/// Identifiers SETACL passes through as given (with or without `-`).
const SPECIAL_IDENTIFIERS: &[&str] =
    &["anyone", "anonymous", "authuser", "owner", "administrators"];

/// What LISTRIGHTS offers besides the required rights: one right per
/// group, `d` for `x t e` (Courier's list).
const OPTIONAL: &[&str] = &["c", "d", "i", "p", "r", "s", "w"];

/// Rights as RFC 2086 shows them: `x t e` become `d` when all three are
/// held; otherwise they are dropped (`keep_partial`: kept, as Courier's
/// MYRIGHTS response code at SELECT does).
pub(super) fn rfc2086(r: &Rights, keep_partial: bool) -> String {
    let delete = [
        rights::DELETE_FOLDER,
        rights::DELETE_MESSAGES,
        rights::EXPUNGE,
    ];
    let all = delete.iter().all(|&b| r.has(b));
    if !all && keep_partial {
        return r.to_string();
    }
    let mut v: Vec<u8> = r
        .as_bytes()
        .iter()
        .copied()
        .filter(|b| !delete.contains(b))
        .collect();
    if all {
        v.push(rights::LEGACY_DELETE);
        v.sort_unstable();
    }
    String::from_utf8_lossy(&v).into_owned()
}

/// The stored identifier for a SETACL/DELETEACL one: a login name
/// becomes `user=NAME`; `None` for one with `=` (not settable over IMAP).
fn stored_identifier(given: &str) -> Option<String> {
    let (neg, bare) = match given.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", given),
    };
    if SPECIAL_IDENTIFIERS.contains(&bare) {
        return Some(given.to_owned());
    }
    (!bare.contains('=')).then(|| format!("{neg}user={bare}"))
}

/// An entry as GETACL shows it: `None` for identifiers other than
/// `user=` with a `=` in them.
fn shown_identifier(stored: &[u8]) -> Option<String> {
    let (neg, bare) = match stored.strip_prefix(b"-") {
        Some(rest) => ("-", rest),
        None => ("", stored),
    };
    let name = match Identifier::classify(bare).1 {
        Identifier::User(login) => login,
        _ if bare.contains(&b'=') => return None,
        _ => bare,
    };
    Some(format!("{neg}{}", String::from_utf8_lossy(name)))
}

/// How SETACL changes an entry: `+` adds rights, `-` removes letters
/// (not checked, as Courier; the entry goes when none are left),
/// otherwise the rights replace it (none given removes it).
pub(super) enum Change {
    Add(Rights),
    Remove(Vec<u8>),
    Replace(Rights),
}

impl Change {
    /// SETACL's rights argument (`""` for DELETEACL), `d` standing for
    /// `x t e`.
    pub(super) fn parse(given: &str) -> Result<Change, StoreError> {
        Ok(match given.as_bytes().split_first() {
            Some((b'+', letters)) => Change::Add(Rights::parse_imap(letters)?),
            Some((b'-', letters)) => {
                let mut v: Vec<u8> = letters.to_vec();
                if v.contains(&rights::LEGACY_DELETE) {
                    v.extend([
                        rights::DELETE_FOLDER,
                        rights::DELETE_MESSAGES,
                        rights::EXPUNGE,
                    ]);
                }
                Change::Remove(v)
            }
            _ => Change::Replace(Rights::parse_imap(given)?),
        })
    }
}

/// The `* OK [MYRIGHTS "..."] ACL` Courier sends when it reads the
/// rights on the selected folder (at SELECT, and when they changed).
pub(super) fn announce_rights(out: &mut Vec<u8>, r: &Rights) {
    let code = Code::Other {
        name: "MYRIGHTS".into(),
        text: Some(format!("\"{}\"", rfc2086(r, true))),
    };
    Reply::untagged_ok_code(out, code, "ACL");
}

/// What a command answers about a folder that is not there, and (see
/// [`Session::permitted`]) about one the user is refused and may not see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Missing {
    /// SELECT, EXAMINE, STATUS, DELETE, RENAME's source, GETQUOTAROOT.
    Folder,
    /// The ACL commands, in Courier's words.
    AclTarget,
    /// APPEND: the client may CREATE it and try again (RFC 3501 §6.3.11).
    Append,
    /// The destination of COPY and MOVE, likewise.
    Destination,
}

impl Missing {
    /// Answers the command tagged `tag`: `NO [NONEXISTENT]` or `NO
    /// [TRYCREATE]`.
    pub(super) fn answer(self, tag: &str, out: &mut Vec<u8>) {
        let (code, text) = match self {
            Missing::Folder => (Code::Nonexistent, "No such mailbox"),
            Missing::AclTarget => (
                Code::Nonexistent,
                "Mailbox does not exist, or must be subscribed to.",
            ),
            Missing::Append => (Code::TryCreate, "Mailbox does not exist"),
            Missing::Destination => (Code::TryCreate, "Destination mailbox does not exist"),
        };
        Reply::no(out, tag, Some(code), text);
    }
}

impl Session {
    /// The user's rights on `name`; `None` after answering when they
    /// cannot be read.
    pub(super) fn rights_on(&mut self, tag: &str, name: &str, out: &mut Vec<u8>) -> Option<Rights> {
        let store = self.store_ref()?;
        match store.my_rights(name) {
            Ok(r) => {
                self.rights_seen(name, &r, out);
                Some(r)
            }
            Err(e) => {
                self.store_error(tag, &e, out);
                None
            }
        }
    }

    /// Rights read for `name`: if it is the selected folder and they are
    /// not those the session holds, they become its rights and the client
    /// is told (as Courier does whenever it reads that folder's ACL).
    pub(super) fn rights_seen(&mut self, name: &str, r: &Rights, out: &mut Vec<u8>) {
        let State::Selected(sel) = &self.state else {
            return;
        };
        let same = names::spelling(name).is_ok_and(|n| n == sel.folder.name());
        if same && sel.rights != *r {
            self.in_selected("", out, |s, sel, out| s.rights_changed(sel, r, out));
        }
    }

    /// The selected folder's rights are now `r`: says so, and gives the
    /// flags the client may now change (RFC 4314 §5.1.1: a server that
    /// checks rights at every command SHOULD).
    fn rights_changed(&self, sel: &mut Selected, r: &Rights, out: &mut Vec<u8>) {
        let before = settable(&sel.rights);
        sel.rights = r.clone();
        announce_rights(out, r);
        if sel.folder.read_write() && settable(r) != before {
            self.announce_flags(sel, out);
        }
    }

    /// Reads the selected folder's rights again before a command, so
    /// that what its owner changed meanwhile (in another session)
    /// applies to it ([`Session::rights_seen`] tells the client), unless
    /// the folder's [`MailFolder::acl_version`] shows its ACL as it was. A
    /// folder that is gone keeps them (reading the ACL of a name that is
    /// not there would store an inherited copy); one whose ACL cannot be
    /// read has none left, as in Courier.
    pub(super) fn reread_rights(&mut self, out: &mut Vec<u8>) {
        let (State::Selected(sel), Some(store)) = (&mut self.state, &self.store) else {
            return;
        };
        let version = match sel.folder.acl_version() {
            Ok(Some(v)) if sel.acl_version == Some(v) => return,
            Err(StoreError::NonExistent(_)) => return,
            Ok(v) => v,
            Err(_) => None,
        };
        let name = sel.folder.name().to_owned();
        if !store.folder_exists(&name).unwrap_or(false) {
            return;
        }
        let r = store.my_rights(&name);
        sel.acl_version = version.filter(|_| r.is_ok());
        let r = r.unwrap_or_else(|e| {
            tracing::warn!(
                folder = %Untrusted(&name),
                error = %Untrusted(&e.to_string()),
                "cannot read the selected folder's ACL"
            );
            Rights::default()
        });
        self.rights_seen(&name, &r, out);
    }

    /// Whether the user may still read the selected folder, for a
    /// command (`verb`) that works on its messages; if not (`r` was taken
    /// away since SELECT), answers the refusal. RFC 4314 §5.1.1 lets a
    /// server refuse such commands until the folder is closed.
    pub(super) fn may_read_selected(&self, tag: &str, verb: &str, out: &mut Vec<u8>) -> bool {
        match &self.state {
            State::Selected(sel) => {
                Self::permitted(tag, verb, "current mailbox", &sel.rights, "r", None, out)
            }
            _ => true,
        }
    }

    /// Whether `held` has one of `required` (Courier's test). If not,
    /// answers the refusal: Courier's, with RFC 5530's NOPERM, to a user
    /// who may see the folder; to one who may not (no `l`), what the
    /// command says of a folder that is not there (`hidden`), so that no
    /// answer tells the two apart (RFC 4314 §6). `hidden` is `None` where
    /// the refusal is no news: the selected folder, and the parent CREATE
    /// and RENAME need `c` on (a name that is not there inherits its
    /// rights and is refused the same way).
    pub(super) fn permitted(
        tag: &str,
        command: &str,
        name: &str,
        held: &Rights,
        required: &str,
        hidden: Option<Missing>,
        out: &mut Vec<u8>,
    ) -> bool {
        if required.bytes().any(|b| held.has(b)) {
            return true;
        }
        match hidden {
            Some(missing) if !held.has(rights::LOOKUP) => missing.answer(tag, out),
            _ => {
                // The name as clients send it (a text is ASCII).
                let name = crate::codec::utf7::encode(name);
                let text =
                    format!("Access denied for {command} on {name} (ACL \"{required}\" required)");
                Reply::no(out, tag, Some(Code::NoPerm), &text);
            }
        }
        false
    }

    /// Reads the rights on `name` and checks one of `required` is held
    /// ([`Session::permitted`]).
    pub(super) fn require(
        &mut self,
        tag: &str,
        command: &str,
        name: &str,
        required: &str,
        hidden: Option<Missing>,
        out: &mut Vec<u8>,
    ) -> bool {
        self.rights_on(tag, name, out)
            .is_some_and(|r| Self::permitted(tag, command, name, &r, required, hidden, out))
    }

    /// The store, if folder `name` exists; else `None` after answering
    /// as Courier does for the ACL commands (they name existing folders
    /// only, as Courier's: reading an ACL would otherwise store an
    /// inherited copy for a name that is not there).
    fn existing(&self, tag: &str, name: &str, out: &mut Vec<u8>) -> Option<&dyn MailStore> {
        self.exists(tag, name, Missing::AclTarget, out)
            .then(|| self.store_ref())
            .flatten()
    }

    /// GETACL (RFC 4314 §3.3): needs `a`.
    pub(super) fn getacl(&mut self, tag: &str, name: &str, out: &mut Vec<u8>) {
        let hidden = Some(Missing::AclTarget);
        if self.existing(tag, name, out).is_none()
            || !self.require(tag, "GETACL", name, "a", hidden, out)
        {
            return;
        }
        let Some(store) = self.store_ref() else {
            return;
        };
        let acl = match store.acl(name) {
            Ok(l) => l,
            Err(e) => return self.store_error(tag, &e, out),
        };
        let entries: Vec<(String, String)> = acl
            .entries()
            .iter()
            .filter_map(|e| {
                Some((
                    shown_identifier(e.identifier())?,
                    rfc2086(e.rights(), false),
                ))
            })
            .collect();
        let pairs: Vec<(&str, &str)> = entries
            .iter()
            .map(|(i, r)| (i.as_str(), r.as_str()))
            .collect();
        respond::acl(out, name, &pairs, self.utf8_enabled);
        self.finish_ok(tag, "GETACL completed.", out);
    }

    /// MYRIGHTS (RFC 4314 §3.5): needs any right that shows the folder.
    pub(super) fn myrights(&mut self, tag: &str, name: &str, out: &mut Vec<u8>) {
        if self.existing(tag, name, out).is_none() {
            return;
        }
        let Some(r) = self.rights_on(tag, name, out) else {
            return;
        };
        if !Self::permitted(
            tag,
            "MYRIGHTS",
            name,
            &r,
            "lricxea",
            Some(Missing::AclTarget),
            out,
        ) {
            return;
        }
        respond::myrights(out, name, &rfc2086(&r, false), self.utf8_enabled);
        self.finish_ok(tag, "MYRIGHTS completed.", out);
    }

    /// LISTRIGHTS (RFC 4314 §3.4): needs any right that shows the folder.
    /// The owner must keep `a l`; the owner's and everybody's negative
    /// entries cannot take `a l` (Courier's answer).
    pub(super) fn listrights(
        &mut self,
        tag: &str,
        name: &str,
        identifier: &str,
        out: &mut Vec<u8>,
    ) {
        let Some(store) = self.existing(tag, name, out) else {
            return;
        };
        let owner = store.acl_user_on(name).owner().to_owned();
        let Some(r) = self.rights_on(tag, name, out) else {
            return;
        };
        if !Self::permitted(
            tag,
            "LISTRIGHTS",
            name,
            &r,
            "lricxea",
            Some(Missing::AclTarget),
            out,
        ) {
            return;
        }
        let owner_login = owner.strip_prefix("user=").unwrap_or(&owner);
        let negative_of = |id: &str| {
            let (neg, id) = Identifier::classify(id.as_bytes());
            neg && (id == Identifier::Anyone || id == Identifier::Other(owner_login.as_bytes()))
        };
        let mut optional: Vec<&str> = OPTIONAL.to_vec();
        let required = if negative_of(identifier) {
            ""
        } else if identifier == owner_login {
            "al"
        } else {
            optional.extend(["a", "l"]);
            optional.sort_unstable();
            ""
        };
        respond::listrights(
            out,
            name,
            identifier,
            required,
            &optional,
            self.utf8_enabled,
        );
        self.finish_ok(tag, "LISTRIGHTS completed.", out);
    }

    /// SETACL (RFC 4314 §3.1, `+`/`-` as RFC 2086 and Courier) and
    /// DELETEACL (§3.2, `rights` `None`): need `a`.
    pub(super) fn setacl(
        &mut self,
        tag: &str,
        name: &str,
        identifier: &str,
        rights: Option<&str>,
        out: &mut Vec<u8>,
    ) {
        if self.existing(tag, name, out).is_none() {
            return;
        }
        let command = if rights.is_some() {
            "SETACL"
        } else {
            "DELETEACL"
        };
        let hidden = Some(Missing::AclTarget);
        let Some(id) = stored_identifier(identifier) else {
            // Courier says so before it reads the ACL (which may store
            // an inherited copy); not to a user who may not see the
            // folder, which that would tell exists.
            let Some(store) = self.store_ref() else {
                return;
            };
            let mine = match store.peek_rights(name) {
                Ok(r) => r,
                Err(e) => return self.store_error(tag, &e, out),
            };
            if mine.has(rights::LOOKUP)
                || Self::permitted(tag, command, name, &mine, "a", hidden, out)
            {
                Reply::no(out, tag, Some(Code::Cannot), "Invalid ACL identifier.");
            }
            return;
        };
        if !self.require(tag, command, name, "a", hidden, out) {
            return;
        }
        let Some(store) = self.store_ref() else {
            return;
        };
        let change = Change::parse(rights.unwrap_or(""));
        let replacing = matches!(change, Ok(Change::Replace(_)));
        let result = change.and_then(|change| {
            store.edit_acl(name, &mut |acl: &mut AclList| edit(acl, &id, &change))
        });
        match result {
            Ok(acl) => {
                let mine = store.acl_user_on(name).rights(&acl);
                self.rights_seen(name, &mine, out);
                self.finish_ok(tag, "ACLs updated.", out)
            }
            // Courier's words: "as requested" when a change would take
            // the owner's minimum rights, else "on this mailbox".
            Err(StoreError::AclMinimumRights(_)) if !replacing => Reply::no(
                out,
                tag,
                Some(Code::Cannot),
                "Cannot modify ACLs as requested.",
            ),
            Err(
                StoreError::AclMinimumRights(_)
                | StoreError::InvalidAcl(_)
                | StoreError::NotPermitted(_),
            ) => Reply::no(
                out,
                tag,
                Some(Code::Cannot),
                "Cannot modify ACLs on this mailbox.",
            ),
            Err(e) => self.store_error(tag, &e, out),
        }
    }
}

/// Applies one SETACL/DELETEACL change to `acl`.
pub(super) fn edit(acl: &mut AclList, id: &str, change: &Change) -> Result<(), StoreError> {
    let old = acl.get(id).cloned();
    let new = match change {
        Change::Add(r) => {
            let mut n = old.unwrap_or_default();
            n.add(r);
            n
        }
        Change::Remove(letters) => {
            let mut n = old.unwrap_or_default();
            n.remove(letters);
            n
        }
        Change::Replace(r) => r.clone(),
    };
    if new.is_empty() && !matches!(change, Change::Add(_)) {
        acl.remove(id);
        Ok(())
    } else {
        acl.set(id, new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailstore::{Carry, Flags};

    fn r(s: &str) -> Rights {
        Rights::parse(s).unwrap()
    }

    #[test]
    fn rights_the_rfc_2086_way() {
        assert_eq!(rfc2086(&r("aceilrstwx"), false), "acdilrsw");
        assert_eq!(rfc2086(&r("aceilrstwx"), true), "acdilrsw");
        assert_eq!(rfc2086(&r("lrtx"), false), "lr");
        assert_eq!(rfc2086(&r("lrtx"), true), "lrtx");
        assert_eq!(rfc2086(&r(""), false), "");
    }

    #[test]
    fn identifiers_in_and_out() {
        assert_eq!(stored_identifier("bob").as_deref(), Some("user=bob"));
        assert_eq!(stored_identifier("-bob").as_deref(), Some("-user=bob"));
        assert_eq!(stored_identifier("-anyone").as_deref(), Some("-anyone"));
        assert_eq!(stored_identifier("owner").as_deref(), Some("owner"));
        assert_eq!(stored_identifier("group=staff"), None);
        assert_eq!(stored_identifier("user=bob"), None);
        assert_eq!(shown_identifier(b"user=bob").as_deref(), Some("bob"));
        assert_eq!(shown_identifier(b"-user=bob").as_deref(), Some("-bob"));
        assert_eq!(
            shown_identifier(b"administrators").as_deref(),
            Some("administrators")
        );
        assert_eq!(shown_identifier(b"group=staff"), None);
        assert_eq!(shown_identifier(b"-group=staff"), None);
    }

    #[test]
    fn settable_flags_follow_s_t_w() {
        assert_eq!(settable(&r("s")).flags, Flags::SEEN);
        assert_eq!(settable(&r("t")).flags, Flags::DELETED);
        let w = settable(&r("w"));
        assert!(w.keywords);
        assert_eq!(w.flags, Flags::ANSWERED | Flags::FLAGGED | Flags::DRAFT);
        assert_eq!(
            settable(&r("lr")),
            Carry {
                flags: Flags::EMPTY,
                keywords: false
            }
        );
    }
}
