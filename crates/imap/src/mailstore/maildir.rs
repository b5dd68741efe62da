//! [`MailStore`] over a Courier-compatible maildir (`courser-maildir`).

use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use courser_maildir::sharable;
use courser_maildir::shared_index::{self, SharedIndex};
use courser_maildir::{acl, names, Carry, Folder, Incoming, Message, Store};

use super::shared::{no_folder, Place, SharedView};
use super::{
    AclList, AclUser, AppendTarget, Appended, Changes, CopyResult, ExpiryRule, Extent, FlagOp,
    Flags, FolderEntry, FolderStatus, Gate, GoneMessage, MailFolder, MailStore, MessageFacts,
    MessageRef, Needle, OrderFacts, QuotaUsage, StoreError, StoreResult,
};

/// An account's maildir as a [`MailStore`], with the other accounts'
/// folders the shared index gives (`#shared.`), if configured.
#[derive(Debug, Clone)]
pub struct MaildirStore {
    store: Store,
    user: AclUser,
    shared: Option<Arc<SharedView>>,
}

impl MaildirStore {
    /// Serves `store` to `user` (its own maildir's owner).
    pub fn new(store: Store, user: AclUser) -> MaildirStore {
        MaildirStore {
            store,
            user,
            shared: None,
        }
    }

    /// Adds the virtual shared folders of `index` for the store's user,
    /// unless the account has ACLs off (`disableshared`): then it
    /// neither sees others' folders.
    pub fn with_shared(mut self, index: SharedIndex) -> MaildirStore {
        if !self.user.acls_disabled() {
            let own = self.store.root().to_path_buf();
            let opts = self.store.options().clone();
            let view = SharedView::new(index, &self.user, &own, opts);
            self.shared = Some(Arc::new(view));
        }
        self
    }

    /// What folder `name` is: the account's own, a filesystem shared
    /// one, or in `#shared`.
    fn place(&self, name: &str) -> Place {
        if sharable::covers(name) {
            let level = name.split('.').count() < 3;
            return Place::Sharable { level };
        }
        match &self.shared {
            Some(view) if shared_index::covers(name) => view.place(name),
            _ => Place::Own,
        }
    }

    /// The system-wide list of sharable maildirs, if configured.
    fn sharables(&self) -> Option<&Path> {
        self.store.options().sharables.as_deref()
    }

    /// The ACL of a filesystem shared folder (Courier's, from the file
    /// permissions): anyone may see and read it and keep their own flags;
    /// where this process may change the sharable folder, also add to it
    /// and remove from it.
    fn sharable_acl(&self, name: &str) -> AclList {
        let writable = sharable::writable(self.store.root(), name);
        let rights: &[u8] = if writable {
            b"anyone eilrstwx\n"
        } else {
            b"anyone lrsw\n"
        };
        AclList::parse(rights)
    }

    /// The account and the name in it of folder `name` (a COPY or MOVE
    /// destination).
    fn destination(&self, name: &str) -> StoreResult<(Store, String)> {
        match self.place(name) {
            Place::Own | Place::Sharable { level: false } => {
                Ok((self.store.clone(), name.to_owned()))
            }
            Place::Other(e) => Ok((e.store, e.folder)),
            Place::Level | Place::Unknown | Place::Sharable { level: true } => Err(no_folder(name)),
        }
    }

    /// The directory name (`.a.b`, `` for INBOX) of folder `name`.
    fn acl_dir(name: &str) -> StoreResult<String> {
        names::dir_name(&names::canonical(name)?)
    }

    /// The ACL of folder `name`, read from the files with `read`
    /// ([`acl::read`] or [`acl::peek`]).
    fn read_acl(
        &self,
        name: &str,
        read: fn(&Path, &str) -> courser_maildir::Result<AclList>,
    ) -> StoreResult<AclList> {
        match self.place(name) {
            Place::Own => Ok(read(self.store.root(), &Self::acl_dir(name)?)?),
            Place::Other(e) => Ok(read(e.store.root(), &e.acl_dir()?)?),
            Place::Sharable { level: false } => Ok(self.sharable_acl(name)),
            Place::Level | Place::Unknown | Place::Sharable { level: true } => Ok(level_acl()),
        }
    }

    /// Renames folder `from` of `store` to `to`, with the ACLs of names
    /// below it that are not folders.
    fn rename_in(store: &Store, from: &str, to: &str) -> StoreResult<()> {
        store.rename_folder(from, to)?;
        if names::is_inbox(from) {
            return Ok(());
        }
        let scope = acl::RenameScope {
            folder: true,
            subfolders: true,
        };
        acl::rename_hier(
            store.root(),
            &Self::acl_dir(from)?,
            &Self::acl_dir(to)?,
            scope,
        )
    }
}

/// The LIST entries of filesystem shared folders `names`, with the
/// levels above them (`shared`, `shared.<nick>`) as `\Noselect`.
fn hierarchy(names: &[String]) -> Vec<FolderEntry> {
    let mut levels = std::collections::BTreeSet::new();
    for n in names {
        let mut end = n.len();
        while let Some(dot) = n[..end].rfind('.') {
            end = dot;
            levels.insert(&n[..end]);
        }
    }
    let mut out: Vec<FolderEntry> = names
        .iter()
        .map(|n| FolderEntry {
            name: n.clone(),
            selectable: true,
            has_children: levels.contains(n.as_str()),
        })
        .collect();
    out.extend(
        levels
            .iter()
            .filter(|l| !names.iter().any(|n| n == **l))
            .map(|l| FolderEntry {
                name: (*l).to_owned(),
                selectable: false,
                has_children: true,
            }),
    );
    out
}

/// What an intermediate `#shared` level's ACL is: anyone may see it
/// (Courier's).
fn level_acl() -> AclList {
    AclList::parse(b"anyone l\n")
}

impl MailStore for MaildirStore {
    fn keywords_enabled(&self) -> bool {
        self.store.options().keywords
    }

    fn folder_exists(&self, name: &str) -> StoreResult<bool> {
        match self.place(name) {
            Place::Own | Place::Sharable { level: false } => self.store.folder_exists(name),
            Place::Other(e) => e.store.folder_exists(&e.folder),
            Place::Level | Place::Unknown | Place::Sharable { level: true } => Ok(false),
        }
    }

    fn quota(&self) -> StoreResult<Option<QuotaUsage>> {
        self.store.quota()
    }

    fn list_folders(&self) -> StoreResult<Vec<FolderEntry>> {
        let mut folders = self.store.list_folders()?;
        // The filesystem shared folders are listed with the account's own,
        // as in Courier.
        let shared = sharable::folders(self.store.root(), self.sharables());
        folders.extend(hierarchy(&shared));
        Ok(folders)
    }

    fn shared_folders(&self, under: &str, levels: Option<usize>) -> Vec<FolderEntry> {
        match &self.shared {
            Some(view) => view.folders(under, levels),
            None => Vec::new(),
        }
    }

    fn subscriptions(&self) -> StoreResult<Vec<String>> {
        let mut names = self.store.subscriptions()?;
        names.extend(sharable::subscribed(self.store.root()));
        Ok(names)
    }

    // Subscribing to a filesystem shared folder makes its local copy;
    // unsubscribing removes it (Courier's way: no subscription entry).
    fn subscribe(&self, name: &str) -> StoreResult<()> {
        match self.place(name) {
            Place::Sharable { .. } => {
                sharable::subscribe(self.store.root(), self.sharables(), name)
            }
            _ => self.store.subscribe(name),
        }
    }

    fn unsubscribe(&self, name: &str) -> StoreResult<()> {
        match self.place(name) {
            Place::Sharable { level: false } => sharable::unsubscribe(self.store.root(), name),
            _ => self.store.unsubscribe(name),
        }
    }

    fn in_account(&self, name: &str) -> bool {
        matches!(self.place(name), Place::Own | Place::Other(_))
    }

    fn create_folder(&self, name: &str) -> StoreResult<()> {
        match self.place(name) {
            Place::Own => self.store.create_folder(name),
            Place::Other(e) => e.store.create_folder(&e.folder),
            Place::Level | Place::Unknown | Place::Sharable { .. } => Err(
                StoreError::NotPermitted("folders are created inside an account"),
            ),
        }
    }

    fn delete_folder(&self, name: &str) -> StoreResult<()> {
        match self.place(name) {
            Place::Own => self.store.delete_folder(name),
            Place::Other(e) => e.store.delete_folder(&e.folder),
            // Deleting a filesystem shared folder unsubscribes (Courier).
            Place::Sharable { level: false } => sharable::unsubscribe(self.store.root(), name),
            Place::Level | Place::Unknown | Place::Sharable { level: true } => Err(no_folder(name)),
        }
    }

    fn rename_folder(&self, from: &str, to: &str) -> StoreResult<()> {
        const ELSEWHERE: &str = "Cannot move a folder to a different account.";
        match (self.place(from), self.place(to)) {
            (Place::Own, Place::Own) => Self::rename_in(&self.store, from, to),
            (Place::Other(a), Place::Other(b)) if a.store.root() == b.store.root() => {
                Self::rename_in(&a.store, &a.folder, &b.folder)
            }
            (Place::Level | Place::Unknown, _) => Err(no_folder(from)),
            (Place::Sharable { .. }, _) | (_, Place::Sharable { .. }) => {
                Err(StoreError::NotPermitted("shared folders are not renamed"))
            }
            _ => Err(StoreError::NotPermitted(ELSEWHERE)),
        }
    }

    fn status(&self, name: &str) -> StoreResult<FolderStatus> {
        match self.place(name) {
            Place::Own | Place::Sharable { level: false } => self.store.status(name),
            Place::Other(e) => e.store.status(&e.folder),
            Place::Level | Place::Unknown | Place::Sharable { level: true } => Err(no_folder(name)),
        }
    }

    fn open_folder(&self, name: &str, read_write: bool) -> StoreResult<Box<dyn MailFolder>> {
        let (folder, shown) = match self.place(name) {
            Place::Own | Place::Sharable { level: false } => {
                (self.store.open_folder(name, read_write)?, None)
            }
            Place::Other(e) => {
                // Read-only where this process may only read the files.
                let read_write = read_write && e.store.may_write(&e.folder);
                let folder = e.store.open_folder(&e.folder, read_write)?;
                let shown = e.shown(folder.name());
                (folder, Some(shown))
            }
            Place::Level | Place::Unknown | Place::Sharable { level: true } => {
                return Err(no_folder(name))
            }
        };
        Ok(Box::new(MaildirFolder {
            folder,
            home: self.clone(),
            shown,
        }))
    }

    fn expire_old(&self, rules: &[ExpiryRule]) -> StoreResult<usize> {
        self.store.expire_old(rules, SystemTime::now())
    }

    fn acl_user(&self) -> &AclUser {
        &self.user
    }

    fn acl_user_on(&self, name: &str) -> Cow<'_, AclUser> {
        match self.place(name) {
            Place::Other(e) => Cow::Owned(e.user),
            // Nobody owns a filesystem shared folder (Courier's
            // `anonymous`) or a level of `#shared`: their ACL is the same
            // for all.
            Place::Sharable { .. } | Place::Level | Place::Unknown => {
                let options = self.user.options();
                Cow::Owned(AclUser::with_owner_identity(
                    self.user.login(),
                    "anonymous",
                    options,
                ))
            }
            _ => Cow::Borrowed(&self.user),
        }
    }

    fn stored_acl(&self, name: &str) -> StoreResult<AclList> {
        self.read_acl(name, acl::read)
    }

    fn peek_stored_acl(&self, name: &str) -> StoreResult<AclList> {
        self.read_acl(name, acl::peek)
    }

    fn edit_stored_acl(
        &self,
        name: &str,
        edit: &mut dyn FnMut(&mut AclList) -> StoreResult<()>,
    ) -> StoreResult<AclList> {
        let (root, dir, owner, locks) = match self.place(name) {
            Place::Own => (
                self.store.root().to_path_buf(),
                Self::acl_dir(name)?,
                self.user.owner().to_owned(),
                self.store.options().use_locks,
            ),
            Place::Other(e) => (
                e.store.root().to_path_buf(),
                e.acl_dir()?,
                e.user.owner().to_owned(),
                e.store.options().use_locks,
            ),
            Place::Level | Place::Unknown | Place::Sharable { .. } => {
                return Err(StoreError::NotPermitted(
                    "this folder's ACL cannot be changed",
                ))
            }
        };
        acl::update(&root, &dir, Some(owner.as_bytes()), locks, |l| edit(l))
    }

    fn begin_append(
        &self,
        name: &str,
        size: u64,
        flags: Flags,
        keywords: &[String],
        internal_date: Option<SystemTime>,
    ) -> StoreResult<Box<dyn AppendTarget>> {
        let incoming = match self.place(name) {
            Place::Own | Place::Sharable { level: false } => {
                self.store
                    .begin_append(name, size, flags, keywords, internal_date)?
            }
            Place::Other(e) => {
                e.store
                    .begin_append(&e.folder, size, flags, keywords, internal_date)?
            }
            Place::Level | Place::Unknown | Place::Sharable { level: true } => {
                return Err(no_folder(name))
            }
        };
        Ok(Box::new(incoming))
    }
}

impl AppendTarget for Incoming {
    fn write(&mut self, data: &[u8]) -> StoreResult<()> {
        Incoming::write(self, data)
    }

    fn claim_recent(&mut self) {
        Incoming::claim_recent(self);
    }

    fn finish(self: Box<Self>, gate: Option<Gate<'_>>) -> StoreResult<Appended> {
        Incoming::finish(*self, gate)
    }
}

/// An open maildir folder, with the session's store (which finds the
/// destinations of COPY and MOVE).
struct MaildirFolder {
    folder: Folder,
    home: MaildirStore,
    /// The session's name of another account's folder (`#shared.…`).
    shown: Option<String>,
}

fn message_ref<'a>(folder: &Folder, m: &'a Message) -> MessageRef<'a> {
    MessageRef {
        uid: m.uid,
        flags: m.flags,
        keywords: &m.keywords,
        recent: folder.is_recent(m.uid),
    }
}

impl MailFolder for MaildirFolder {
    fn name(&self) -> &str {
        self.shown.as_deref().unwrap_or(self.folder.name())
    }

    fn read_write(&self) -> bool {
        self.folder.read_write()
    }

    fn uidvalidity(&self) -> u32 {
        self.folder.uidvalidity()
    }

    fn uidnext(&self) -> u32 {
        self.folder.uidnext()
    }

    fn len(&self) -> usize {
        self.folder.messages().len()
    }

    fn message_at(&self, index: usize) -> Option<MessageRef<'_>> {
        let folder = &self.folder;
        folder.messages().get(index).map(|m| message_ref(folder, m))
    }

    fn message(&self, uid: u32) -> Option<MessageRef<'_>> {
        let folder = &self.folder;
        folder.by_uid(uid).map(|m| message_ref(folder, m))
    }

    fn uids(&self) -> Vec<u32> {
        self.folder.uids()
    }

    fn recent_count(&self) -> usize {
        self.folder.recent_count()
    }

    fn first_unseen(&self) -> Option<usize> {
        self.folder.first_unseen()
    }

    fn keywords(&self) -> Vec<String> {
        self.folder.keywords()
    }

    fn took_in(&mut self, appended: &Appended) {
        self.folder.took_in(appended);
    }

    fn acl_version(&self) -> StoreResult<Option<u128>> {
        // The account's own folders keep their ACL in their directory;
        // another account's and the filesystem shared folders' rights
        // come from elsewhere too.
        if self.shown.is_some() || sharable::covers(self.folder.name()) {
            return Ok(None);
        }
        self.folder.dir_version()
    }

    fn cache_dir(&self) -> Option<&Path> {
        Some(self.folder.dir())
    }

    fn refresh(&mut self) -> StoreResult<Changes> {
        Ok(changes_of(self.folder.refresh()?))
    }

    fn refresh_fast(&mut self) -> StoreResult<Changes> {
        Ok(changes_of(self.folder.refresh_fast()?))
    }

    fn store_flags(
        &mut self,
        uids: &[u32],
        op: FlagOp,
        flags: Flags,
        keywords: &[String],
    ) -> StoreResult<Vec<u32>> {
        self.folder.store(uids, op, flags, keywords)
    }

    fn expunge(&mut self, uids: Option<&[u32]>) -> StoreResult<Vec<u32>> {
        self.folder.expunge(uids)
    }

    fn copy_to(
        &mut self,
        uids: &[u32],
        dest: &str,
        carry: Carry,
        gate: Option<Gate<'_>>,
    ) -> StoreResult<CopyResult> {
        let (store, dest) = self.home.destination(dest)?;
        self.folder.copy_to(uids, &store, &dest, carry, gate)
    }

    fn move_to(
        &mut self,
        uids: &[u32],
        dest: &str,
        carry: Carry,
        gate: Option<Gate<'_>>,
    ) -> StoreResult<CopyResult> {
        let (store, dest) = self.home.destination(dest)?;
        self.folder.move_to(uids, &store, &dest, carry, gate)
    }

    fn internal_date(&self, uid: u32) -> Option<SystemTime> {
        self.folder
            .by_uid(uid)
            .map(|m| self.folder.internal_date(m))
    }

    fn base_name(&self, uid: u32) -> Option<String> {
        self.folder.by_uid(uid).map(|m| m.base_name().to_owned())
    }

    fn read_message(&self, uid: u32, extent: Extent) -> StoreResult<Vec<u8>> {
        let file = self.folder.open_message(uid)?;
        read_file(file, extent).map_err(|e| StoreError::io(format!("message uid {uid}"), e))
    }

    fn facts(&self, uids: &[u32]) -> Vec<StoreResult<Arc<MessageFacts>>> {
        self.folder
            .facts_for(uids)
            .map(|(_, facts)| facts)
            .collect()
    }

    fn search_header(
        &self,
        field: &str,
        address: bool,
        needle: &Needle,
    ) -> Option<Vec<Option<bool>>> {
        self.folder.search_header(field, address, needle)
    }

    fn order_facts(&self, uids: &[u32], each: &mut dyn FnMut(u32, Option<OrderFacts<'_>>)) {
        self.folder
            .order_facts_for(uids, |uid, facts| each(uid, facts.ok()));
    }

    fn watch_paths(&self) -> Vec<PathBuf> {
        self.folder.watch_paths()
    }
}

/// Bytes read at a time when only the header is wanted.
const HEADER_CHUNK: usize = 8 * 1024;

/// Reads `extent` of a message file. Messages are bounded by the APPEND
/// literal limit and the MDA's size limit.
fn read_file(mut file: File, extent: Extent) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    match extent {
        Extent::Whole => {
            file.read_to_end(&mut bytes)?;
        }
        Extent::Header => {
            let mut chunk = [0u8; HEADER_CHUNK];
            loop {
                let n = file.read(&mut chunk)?;
                if n == 0 {
                    break;
                }
                // Look again from just before the new bytes: the blank
                // line may straddle two reads.
                let from = bytes.len().saturating_sub(2);
                bytes.extend_from_slice(&chunk[..n]);
                if let Some(end) = header_end(&bytes, from) {
                    bytes.truncate(end);
                    break;
                }
            }
        }
    }
    Ok(bytes)
}

/// Where the header ends (just past its blank line), looking from `from`:
/// the first empty line, LF or CRLF. A file that starts with an empty
/// line has an empty header.
pub(super) fn header_end(bytes: &[u8], from: usize) -> Option<usize> {
    if from == 0 {
        if bytes.starts_with(b"\n") {
            return Some(1);
        }
        if bytes.starts_with(b"\r\n") {
            return Some(2);
        }
    }
    let mut i = from;
    while let Some(at) = bytes.get(i..)?.iter().position(|&b| b == b'\n') {
        let nl = i + at;
        match bytes.get(nl + 1..) {
            Some([b'\n', ..]) => return Some(nl + 2),
            Some([b'\r', b'\n', ..]) => return Some(nl + 3),
            _ => i = nl + 1,
        }
    }
    None
}

/// The session's view of what a refresh found.
fn changes_of(changes: courser_maildir::Changes) -> Changes {
    Changes {
        expunged: changes.expunged,
        gone: changes
            .gone
            .into_iter()
            .map(|g| GoneMessage {
                uid: g.message.uid,
                flags: g.message.flags,
                recent: g.recent,
                internal_date: g.message.known_internal_date(),
                keywords: g.message.keywords,
            })
            .collect(),
        added: changes.added,
        flags_changed: changes.flags_changed,
        uidvalidity_changed: changes.uidvalidity_changed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_ends_at_the_first_empty_line() {
        assert_eq!(header_end(b"A: b\n\nbody\n\n", 0), Some(6));
        assert_eq!(header_end(b"A: b\r\n\r\nbody", 0), Some(8));
        assert_eq!(header_end(b"\nbody", 0), Some(1));
        assert_eq!(header_end(b"\r\nbody", 0), Some(2));
        assert_eq!(header_end(b"A: b\nC: d\n", 0), None);
        // Found from a later start (the previous read's last bytes).
        assert_eq!(header_end(b"A: b\n\nx", 3), Some(6));
    }

    #[test]
    fn a_header_read_stops_at_the_blank_line_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m");
        let mut text = String::from("Subject: hi\n");
        while text.len() < HEADER_CHUNK - 1 {
            text.push_str("X-Pad: 0123456789\n");
        }
        let header_len = text.len() + 1;
        text.push_str("\nbody line\n");
        std::fs::write(&path, &text).unwrap();
        let head = read_file(File::open(&path).unwrap(), Extent::Header).unwrap();
        assert_eq!(head, text.as_bytes()[..header_len]);
        let whole = read_file(File::open(&path).unwrap(), Extent::Whole).unwrap();
        assert_eq!(whole, text.as_bytes());
    }
}
