//! [`MailStore`] over a Courier-compatible maildir (`courser-maildir`).

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use courser_maildir::{acl, names, Carry, Folder, Incoming, Message, Store};

use super::{
    AclList, AclUser, AppendTarget, Appended, Changes, CopyResult, ExpiryRule, Extent, FlagOp,
    Flags, FolderEntry, FolderStatus, Gate, GoneMessage, MailFolder, MailStore, MessageFacts,
    MessageRef, OrderFacts, QuotaUsage, StoreError, StoreResult,
};

/// An account's maildir as a [`MailStore`].
#[derive(Debug, Clone)]
pub struct MaildirStore {
    store: Store,
    user: AclUser,
}

impl MaildirStore {
    /// Serves `store` to `user` (its own maildir's owner).
    pub fn new(store: Store, user: AclUser) -> MaildirStore {
        MaildirStore { store, user }
    }

    /// The directory name (`.a.b`, `` for INBOX) of folder `name`.
    fn acl_dir(name: &str) -> StoreResult<String> {
        names::dir_name(&names::canonical(name)?)
    }
}

impl MailStore for MaildirStore {
    fn keywords_enabled(&self) -> bool {
        self.store.options().keywords
    }

    fn folder_exists(&self, name: &str) -> StoreResult<bool> {
        self.store.folder_exists(name)
    }

    fn quota(&self) -> StoreResult<Option<QuotaUsage>> {
        self.store.quota()
    }

    fn list_folders(&self) -> StoreResult<Vec<FolderEntry>> {
        self.store.list_folders()
    }

    fn subscriptions(&self) -> StoreResult<Vec<String>> {
        self.store.subscriptions()
    }

    fn subscribe(&self, name: &str) -> StoreResult<()> {
        self.store.subscribe(name)
    }

    fn unsubscribe(&self, name: &str) -> StoreResult<()> {
        self.store.unsubscribe(name)
    }

    fn create_folder(&self, name: &str) -> StoreResult<()> {
        self.store.create_folder(name)
    }

    fn delete_folder(&self, name: &str) -> StoreResult<()> {
        self.store.delete_folder(name)
    }

    fn rename_folder(&self, from: &str, to: &str) -> StoreResult<()> {
        self.store.rename_folder(from, to)?;
        if names::is_inbox(from) {
            return Ok(());
        }
        // The ACLs of names below it that are not folders go along.
        let scope = acl::RenameScope {
            folder: true,
            subfolders: true,
        };
        acl::rename_hier(
            self.store.root(),
            &Self::acl_dir(from)?,
            &Self::acl_dir(to)?,
            scope,
        )
    }

    fn status(&self, name: &str) -> StoreResult<FolderStatus> {
        self.store.status(name)
    }

    fn open_folder(&self, name: &str, read_write: bool) -> StoreResult<Box<dyn MailFolder>> {
        let folder = self.store.open_folder(name, read_write)?;
        Ok(Box::new(MaildirFolder {
            folder,
            store: self.store.clone(),
        }))
    }

    fn expire_old(&self, rules: &[ExpiryRule]) -> StoreResult<usize> {
        self.store.expire_old(rules, SystemTime::now())
    }

    fn acl_user(&self) -> &AclUser {
        &self.user
    }

    fn stored_acl(&self, name: &str) -> StoreResult<AclList> {
        acl::read(self.store.root(), &Self::acl_dir(name)?)
    }

    fn edit_stored_acl(
        &self,
        name: &str,
        edit: &mut dyn FnMut(&mut AclList) -> StoreResult<()>,
    ) -> StoreResult<AclList> {
        let owner = self.user.owner().as_bytes();
        let locks = self.store.options().use_locks;
        let dir = Self::acl_dir(name)?;
        acl::update(self.store.root(), &dir, Some(owner), locks, |l| edit(l))
    }

    fn begin_append(
        &self,
        name: &str,
        size: u64,
        flags: Flags,
        keywords: &[String],
        internal_date: Option<SystemTime>,
    ) -> StoreResult<Box<dyn AppendTarget>> {
        let incoming = self
            .store
            .begin_append(name, size, flags, keywords, internal_date)?;
        Ok(Box::new(incoming))
    }
}

impl AppendTarget for Incoming {
    fn write(&mut self, data: &[u8]) -> StoreResult<()> {
        Incoming::write(self, data)
    }

    fn finish(self: Box<Self>, gate: Option<Gate<'_>>) -> StoreResult<Appended> {
        Incoming::finish(*self, gate)
    }
}

/// An open maildir folder, with the account it belongs to (the
/// destination of COPY and MOVE).
struct MaildirFolder {
    folder: Folder,
    store: Store,
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
        self.folder.name()
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

    fn cache_dir(&self) -> Option<&std::path::Path> {
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
        self.folder.copy_to(uids, &self.store, dest, carry, gate)
    }

    fn move_to(
        &mut self,
        uids: &[u32],
        dest: &str,
        carry: Carry,
        gate: Option<Gate<'_>>,
    ) -> StoreResult<CopyResult> {
        self.folder.move_to(uids, &self.store, dest, carry, gate)
    }

    fn internal_date(&self, uid: u32) -> Option<SystemTime> {
        self.folder
            .by_uid(uid)
            .map(|m| self.folder.internal_date(m))
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
