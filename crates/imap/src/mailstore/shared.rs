//! Virtual shared folders (Courier's `#shared.` namespace, spec
//! `maildir.md` §8.2) for [`MaildirStore`](super::MaildirStore): other
//! accounts' folders, found through the shared index, opened as those
//! accounts' files with the rights their ACLs give this user.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use courser_maildir::acl::{self, rights};
use courser_maildir::shared_index::{SharedAccount, SharedIndex, SharedName, PREFIX};
use courser_maildir::{names, Store, StoreOptions};

use super::{AclUser, FolderEntry, StoreError, StoreResult};

/// What a folder name of the session is.
pub(super) enum Place {
    /// One of the account's own folders.
    Own,
    /// A folder of another account.
    Other(Box<Elsewhere>),
    /// A filesystem shared folder (`shared.<nick>.<folder>`), served
    /// through its local copy in the account's maildir; or `shared` and
    /// `shared.<nick>` (`level`), which hold none.
    Sharable {
        /// `shared` or `shared.<nick>`.
        level: bool,
    },
    /// `#shared` or a group of the index: a level anyone may see, which
    /// holds no messages.
    Level,
    /// A `#shared` name the index does not give (or the account's own
    /// maildir, which is not shown there).
    Unknown,
}

/// A folder of another account, opened for this user.
pub(super) struct Elsewhere {
    /// The account's maildir.
    pub store: Store,
    /// The folder's name in it (`INBOX`, `INBOX.a`).
    pub folder: String,
    /// The user as the account's ACLs see them.
    pub user: AclUser,
    /// The account's name in the namespace (its INBOX).
    pub account: String,
}

impl Elsewhere {
    /// The session's name for folder `folder` of this account.
    pub fn shown(&self, folder: &str) -> String {
        format!("{}{}", self.account, &folder[names::INBOX.len()..])
    }

    /// The directory name of the folder (`""` for INBOX), as the ACL
    /// files name it.
    pub fn acl_dir(&self) -> StoreResult<String> {
        names::dir_name(&self.folder)
    }
}

/// A user's view of the virtual shared folders.
#[derive(Debug)]
pub(super) struct SharedView {
    index: SharedIndex,
    /// The user (its login and authlib options).
    user: AclUser,
    store_options: StoreOptions,
    /// The user's own maildir (device, inode): not shown as shared.
    own: Option<(u64, u64)>,
}

fn identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

impl SharedView {
    /// `user`, whose own maildir is `own`, opening other accounts'
    /// maildirs with `store_options`.
    pub fn new(
        index: SharedIndex,
        user: &AclUser,
        own: &Path,
        store_options: StoreOptions,
    ) -> SharedView {
        SharedView {
            index,
            user: user.clone(),
            store_options,
            own: identity(own),
        }
    }

    /// Opens an account's maildir, unless it is the user's own or cannot
    /// be opened (another server's, or one this process may not read).
    fn open(&self, account: &SharedAccount) -> Option<Store> {
        let id = identity(&account.maildir)?;
        if Some(id) == self.own {
            return None;
        }
        Store::open(&account.maildir, self.store_options.clone()).ok()
    }

    fn user_of(&self, account: &SharedAccount) -> AclUser {
        AclUser::with_owner_identity(self.user.login(), &account.owner, self.user.options())
    }

    /// What `name` (in the `#shared` namespace) is.
    pub fn place(&self, name: &str) -> Place {
        match self.index.find(name) {
            SharedName::Level => Place::Level,
            SharedName::Unknown => Place::Unknown,
            SharedName::Folder { account, folder } => match self.open(&account) {
                Some(store) => Place::Other(Box::new(Elsewhere {
                    store,
                    folder,
                    user: self.user_of(&account),
                    account: account.name,
                })),
                None => Place::Unknown,
            },
        }
    }

    /// The shared folders below `under` (`#shared` or deeper) the user
    /// may see (`l`), `levels` levels below `#shared` at most (`None`:
    /// all), with the levels above them: groups always, accounts whose
    /// INBOX is hidden as `\Noselect` (as Courier lists them).
    pub fn folders(&self, under: &str, levels: Option<usize>) -> Vec<FolderEntry> {
        let mut groups = BTreeSet::new();
        let mut accounts = Vec::new();
        self.index.walk(
            under,
            levels,
            &mut |g| {
                groups.insert(g.to_owned());
            },
            &mut |a| accounts.push(a),
        );
        let mut visible = BTreeSet::new();
        for account in &accounts {
            let Some(store) = self.open(account) else {
                continue;
            };
            let user = self.user_of(account);
            let Ok(folders) = store.list_folders() else {
                continue;
            };
            for f in folders.iter().filter(|f| f.selectable) {
                let seen = names::dir_name(&f.name)
                    .and_then(|dir| acl::read(store.root(), &dir))
                    .is_ok_and(|list| user.rights(&list).has(rights::LOOKUP));
                if seen {
                    let rest = &f.name[names::INBOX.len()..];
                    visible.insert(format!("{}{rest}", account.name));
                }
            }
        }
        entries(&visible, &groups)
    }
}

/// The LIST entries of `visible` folders and `groups`: every level above
/// a visible folder is listed too, `\Noselect` unless it is visible
/// itself; groups always have children.
fn entries(visible: &BTreeSet<String>, groups: &BTreeSet<String>) -> Vec<FolderEntry> {
    let mut out: BTreeMap<String, FolderEntry> = BTreeMap::new();
    let mut parents = BTreeSet::new();
    for name in visible {
        let mut end = name.len();
        while let Some(dot) = name[..end].rfind('.') {
            end = dot;
            if &name[..end] == PREFIX {
                break;
            }
            parents.insert(name[..end].to_owned());
        }
    }
    for name in visible {
        out.insert(
            name.clone(),
            FolderEntry {
                name: name.clone(),
                selectable: true,
                has_children: parents.contains(name),
            },
        );
    }
    for name in parents.iter().chain(groups) {
        out.entry(name.clone()).or_insert_with(|| FolderEntry {
            name: name.clone(),
            selectable: false,
            has_children: true,
        });
    }
    out.into_values().collect()
}

/// The error for a shared name that holds no folder.
pub(super) fn no_folder(name: &str) -> StoreError {
    StoreError::NonExistent(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_above_visible_folders_are_listed() {
        let visible: BTreeSet<String> = ["#shared.a.u1.x", "#shared.u0", "#shared.u0.y"]
            .map(String::from)
            .into();
        let groups: BTreeSet<String> = ["#shared.a", "#shared.b"].map(String::from).into();
        let got: Vec<(String, bool, bool)> = entries(&visible, &groups)
            .into_iter()
            .map(|e| (e.name, e.selectable, e.has_children))
            .collect();
        let want = [
            ("#shared.a", false, true),
            ("#shared.a.u1", false, true),
            ("#shared.a.u1.x", true, false),
            ("#shared.b", false, true),
            ("#shared.u0", true, true),
            ("#shared.u0.y", true, false),
        ];
        let want: Vec<(String, bool, bool)> =
            want.iter().map(|&(n, s, c)| (n.to_owned(), s, c)).collect();
        assert_eq!(got, want);
    }
}
