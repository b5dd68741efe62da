//! The identifiers a login holds on a folder, and its rights there.

use super::list::AclList;
use super::rights::Rights;

/// A logged-in user as the ACL sees it on one folder: `user=<login>`,
/// `owner` if that is the folder's owner identity, and every `group=`
/// option of the account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login {
    identifiers: Vec<Vec<u8>>,
}

impl Login {
    /// `user` is the login name; `folder_owner` the owner identity of the
    /// folder (`user=<login>` for one's own maildir, `user=<account>` for a
    /// virtual shared account); `options` the authlib options
    /// (comma-separated; the `group=...` ones count, so
    /// `group=administrators` makes the login an administrator).
    pub fn new(user: &str, folder_owner: &str, options: &str) -> Login {
        let me = format!("user={user}");
        let mut identifiers = Vec::new();
        if me == folder_owner {
            identifiers.push(b"owner".to_vec());
        }
        identifiers.push(me.into_bytes());
        identifiers.extend(
            options
                .split(',')
                .filter(|o| o.starts_with("group="))
                .map(|o| o.as_bytes().to_vec()),
        );
        Login { identifiers }
    }

    /// True if the login holds `identifier` (`anyone` is not listed: the
    /// computation grants it to everybody).
    pub fn holds(&self, identifier: &[u8]) -> bool {
        self.identifiers.iter().any(|i| i == identifier)
    }

    /// True if the login is the folder's owner.
    pub fn is_owner(&self) -> bool {
        self.holds(b"owner")
    }

    /// The login's rights under `acl`. The owner always has `a`, except
    /// with `acl_disabled` (`disableshared=1`, where the list is
    /// [`AclList::disabled`]).
    pub fn rights(&self, acl: &AclList, acl_disabled: bool) -> Rights {
        acl.compute(|id| self.holds(id), !acl_disabled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(text: &str) -> AclList {
        AclList::parse(text.as_bytes())
    }

    #[test]
    fn identifiers_of_a_login() {
        let l = Login::new("bob", "user=bob", "disableimap=0,group=staff,,group=x");
        assert!(l.is_owner());
        for id in ["user=bob", "group=staff", "group=x"] {
            assert!(l.holds(id.as_bytes()), "{id}");
        }
        assert!(!l.holds(b"disableimap=0"));
        assert!(!Login::new("bob", "user=alice", "").is_owner());
    }

    #[test]
    fn union_minus_negative_entries() {
        let a = acl("owner al\nanyone lr\ngroup=staff w\n-user=bob r\nuser=bob i\n");
        let bob = Login::new("bob", "user=alice", "group=staff");
        assert_eq!(bob.rights(&a, false).to_string(), "ilw");
        let eve = Login::new("eve", "user=alice", "");
        assert_eq!(eve.rights(&a, false).to_string(), "lr");
    }

    #[test]
    fn owner_always_has_a_unless_acls_are_disabled() {
        let a = acl("owner lr\n");
        let me = Login::new("me", "user=me", "");
        assert_eq!(me.rights(&a, false).to_string(), "alr");
        assert_eq!(me.rights(&a, true).to_string(), "lr");
        let off = AclList::disabled();
        assert_eq!(me.rights(&off, true).to_string(), "ceilrstwx");
    }

    #[test]
    fn administrators_by_group_option() {
        let a = acl("owner aceilrstwx\n-anyone w\n");
        let admin = Login::new("root", "user=me", "group=administrators");
        assert_eq!(admin.rights(&a, false).to_string(), "aceilrstx");
    }
}
