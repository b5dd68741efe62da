//! Courier's own ACL command, which it had before RFC 4314 and its
//! clients (Cone, SqWebMail) still use: `ACL STORE`, `ACL SET` and `ACL
//! DELETE` on one folder or on every folder some LIST patterns match.
//!
//! Identifiers are given as stored (`user=bob`, `group=staff`, `anyone`,
//! `-owner`), rights as in SETACL (`+`/`-`, `d` for `x t e`). Per
//! folder, a refusal is an untagged `* ACLFAILED "folder" reason` (or,
//! for a change the minimum-rights rule forbids, `* RIGHTS-INFO "folder"
//! "identifier" rights...` with what the identifier must keep); then
//! every folder changed is listed with its new ACL, as `LIST (ACL)` shows
//! it, and the command completes OK.

use courser_maildir::acl::{courier_minimum, rights, AclList, Rights};

use super::acl::{edit, Change};
use super::list::{listing, Listed};
use super::Session;
use crate::codec::respond;
use crate::codec::types::{AclTarget, CourierAclChange, ListData};
use crate::mailstore::{MailStore, StoreError, StoreResult};

/// Applies `change` to the ACL `acl`.
fn apply(acl: &mut AclList, change: &CourierAclChange) -> Result<(), StoreError> {
    match change {
        CourierAclChange::Store { identifier, rights } => {
            edit(acl, identifier, &Change::parse(rights)?)
        }
        CourierAclChange::Delete { identifier } => {
            acl.remove(identifier);
            Ok(())
        }
        CourierAclChange::Set(entries) => {
            let mut new = AclList::new();
            for (identifier, given) in entries {
                let r = Rights::parse_imap(given)?;
                if r.is_empty() {
                    new.remove(identifier);
                } else {
                    new.set(identifier, r)?;
                }
            }
            *acl = new;
            Ok(())
        }
    }
}

/// Whether a change refused for taking `failed` (an identity) below its
/// minimum rights is shown as RIGHTS-INFO (Courier: when the change named
/// that identity itself, or set a whole list) or as an invalid argument
/// (a negative entry for it).
fn names_failed(change: &CourierAclChange, failed: &str) -> bool {
    match change {
        CourierAclChange::Store { identifier, .. } | CourierAclChange::Delete { identifier } => {
            identifier == failed
        }
        CourierAclChange::Set(_) => true,
    }
}

/// Courier's text for an ACL it could not store (`strerror(EINVAL)`).
const INVALID: &str = "Invalid argument";

impl Session {
    /// The folders the command names: one by name (listed if it exists),
    /// or those the patterns match, each once.
    fn acl_targets(store: &dyn MailStore, target: &AclTarget) -> StoreResult<Vec<Listed>> {
        let patterns: Vec<String> = match target {
            AclTarget::Mailbox(m) => {
                // A name names one folder, listed under exactly that name.
                let name = m.as_str();
                let found = listing(store, name)?.into_iter();
                return Ok(found.filter(|l| l.entry.name == name).collect());
            }
            AclTarget::Patterns(p) => p.iter().flatten().cloned().collect(),
        };
        let mut out: Vec<Listed> = Vec::new();
        for p in patterns {
            for l in listing(store, &p)? {
                if !out.iter().any(|o| o.entry.name == l.entry.name) {
                    out.push(l);
                }
            }
        }
        Ok(out)
    }

    /// `ACL STORE|SET|DELETE`.
    pub(super) fn courier_acl(
        &mut self,
        tag: &str,
        target: AclTarget,
        change: &CourierAclChange,
        out: &mut Vec<u8>,
    ) {
        let Some(store) = self.store_ref() else {
            return;
        };
        let targets = match Self::acl_targets(store, &target) {
            Ok(t) => t,
            Err(e) => return self.store_error(tag, &e, out),
        };
        let utf8 = self.utf8_enabled;
        let verb = change.verb();
        let mut changed = Vec::new();
        for l in targets {
            let name = l.entry.name.as_str();
            if !store.in_account(name) {
                let why = "ACLs may not be modified for special mailbox";
                respond::acl_failed(out, name, why, utf8);
                continue;
            }
            let mine = store.my_rights(name).unwrap_or_default();
            if !mine.has(rights::ADMINISTER) {
                let shown = crate::codec::utf7::encode(name);
                let why = format!("NO Access denied for {verb} on {shown} (ACL \"a\" required)");
                respond::acl_failed(out, name, &why, utf8);
                continue;
            }
            let result = store.edit_acl(name, &mut |acl: &mut AclList| apply(acl, change));
            if let Err(e) = &result {
                match e {
                    StoreError::AclMinimumRights(id) if names_failed(change, id) => {
                        respond::rights_info(out, name, id, courier_minimum(id), utf8)
                    }
                    StoreError::AclMinimumRights(_) | StoreError::InvalidAcl(_) => {
                        respond::acl_failed(out, name, INVALID, utf8)
                    }
                    e => respond::acl_failed(out, name, &e.to_string(), utf8),
                }
            }
            // Courier lists a folder STORE failed on too, as it stands.
            if result.is_ok() || matches!(change, CourierAclChange::Store { .. }) {
                changed.push(l);
            }
        }
        let data = ListData {
            acl: true,
            ..ListData::default()
        };
        for l in changed {
            // The rights may have changed with the ACL.
            let listed = Listed {
                rights: store.my_rights(&l.entry.name).ok(),
                entry: l.entry,
            };
            self.list_one(store, &listed, data, out);
        }
        self.finish_ok(tag, &format!("{verb} completed."), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_set_and_delete() {
        let mut acl = AclList::parse(b"owner aceilrstwx\nanyone l\n");
        let store = |id: &str, r: &str| CourierAclChange::Store {
            identifier: id.into(),
            rights: r.into(),
        };
        apply(&mut acl, &store("user=bob", "lr")).unwrap();
        apply(&mut acl, &store("user=bob", "+d")).unwrap();
        assert_eq!(acl.get("user=bob").unwrap().to_string(), "elrtx");
        apply(&mut acl, &store("user=bob", "-x")).unwrap();
        apply(&mut acl, &store("anyone", "")).unwrap();
        assert_eq!(
            acl.to_bytes(),
            b"owner aceilrstwx\nadministrators aceilrstwx\nuser=bob elrt\n"
        );
        let delete = CourierAclChange::Delete {
            identifier: "user=bob".into(),
        };
        apply(&mut acl, &delete).unwrap();
        assert_eq!(
            acl.to_bytes(),
            b"owner aceilrstwx\nadministrators aceilrstwx\n"
        );
        let set = CourierAclChange::Set(vec![
            ("owner".into(), "acdilrsw".into()),
            ("-user=eve".into(), "r".into()),
        ]);
        apply(&mut acl, &set).unwrap();
        assert_eq!(acl.to_bytes(), b"owner aceilrstwx\n-user=eve r\n");
        assert!(apply(&mut acl, &store("bad id", "r")).is_err());
    }

    #[test]
    fn what_identifiers_must_keep() {
        assert_eq!(courier_minimum("owner"), "al c e i p r s t w x");
        assert_eq!(courier_minimum("-anyone"), "\"\" c e i p r s t w x");
        assert_eq!(courier_minimum("group=administrators"), "aceilrstwx");
    }
}
