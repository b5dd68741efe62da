//! [`MailStore`] kept in memory: the session's unit tests and the fuzzer
//! run on it. Clones share one account, so two sessions see each other's
//! changes, as two connections to one maildir do; the `\Recent` rule is
//! the maildir's (the first read-write session to see a message claims
//! it). Names are checked by the maildir's rules; there is no quota.
//! ACLs follow the maildir's rules too (inheritance from the parent,
//! administrators, the minimum rights), kept per name.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use courser_maildir::{keywords, names};

use super::maildir::header_end;
use super::{
    AclList, AclUser, AppendTarget, Appended, Carry, Changes, CopyResult, ExpiryRule, Extent,
    FlagOp, Flags, FolderEntry, FolderStatus, Gate, GoneMessage, MailFolder, MailStore,
    MessageFacts, MessageRef, QuotaUsage, StoreError, StoreResult,
};

/// An account in memory with an empty INBOX.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    account: Arc<Mutex<Account>>,
    user: AclUser,
}

#[derive(Debug)]
struct Account {
    folders: BTreeMap<String, Stored>,
    /// ACLs stored so far, by folder name (others inherit).
    acls: BTreeMap<String, AclList>,
    subscriptions: Vec<String>,
    next_uidvalidity: u32,
}

/// One folder's messages, ascending by UID.
#[derive(Debug)]
struct Stored {
    uidvalidity: u32,
    uidnext: u32,
    messages: Vec<StoredMessage>,
}

#[derive(Debug, Clone)]
struct StoredMessage {
    uid: u32,
    flags: Flags,
    keywords: Vec<String>,
    date: SystemTime,
    bytes: Arc<Vec<u8>>,
    /// A read-write session has seen it (it was `\Recent` there).
    claimed: bool,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl MemoryStore {
    /// An account with an empty INBOX, owned by and served to `u`.
    pub fn new() -> MemoryStore {
        let mut account = Account {
            folders: BTreeMap::new(),
            acls: BTreeMap::new(),
            subscriptions: Vec::new(),
            next_uidvalidity: 1,
        };
        account.make("INBOX");
        MemoryStore {
            account: Arc::new(Mutex::new(account)),
            user: AclUser::new("u", "u", ""),
        }
    }

    /// The same account served to another user (or with other options):
    /// what that user's ACL rights allow.
    pub fn served_to(&self, user: AclUser) -> MemoryStore {
        MemoryStore {
            account: Arc::clone(&self.account),
            user,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Account> {
        lock(&self.account)
    }

    /// Delivers a message, as an MDA would: unclaimed, so the next
    /// read-write session sees it `\Recent`.
    pub fn deliver(&self, folder: &str, bytes: &[u8], flags: Flags) -> StoreResult<u32> {
        let mut account = self.lock();
        let stored = account.folder_mut(folder)?;
        Ok(stored.add(StoredMessage {
            uid: 0,
            flags,
            keywords: Vec::new(),
            date: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000),
            bytes: Arc::new(bytes.to_vec()),
            claimed: false,
        }))
    }
}

fn lock(account: &Mutex<Account>) -> MutexGuard<'_, Account> {
    // Every update completes under the lock before it is released.
    account.lock().unwrap_or_else(|p| p.into_inner())
}

fn key(name: &str) -> StoreResult<String> {
    names::canonical(name)
}

impl Account {
    fn make(&mut self, name: &str) {
        let uidvalidity = self.next_uidvalidity;
        self.next_uidvalidity += 1;
        self.folders.insert(
            name.to_owned(),
            Stored {
                uidvalidity,
                uidnext: 1,
                messages: Vec::new(),
            },
        );
    }

    fn folder(&self, name: &str) -> StoreResult<&Stored> {
        self.folders
            .get(&key(name)?)
            .ok_or_else(|| StoreError::NonExistent(name.to_owned()))
    }

    fn folder_mut(&mut self, name: &str) -> StoreResult<&mut Stored> {
        self.folders
            .get_mut(&key(name)?)
            .ok_or_else(|| StoreError::NonExistent(name.to_owned()))
    }

    /// The ACL of `name`; a name without one gets a copy of its parent's.
    fn acl(&mut self, name: &str) -> AclList {
        if let Some(l) = self.acls.get(name) {
            return l.clone();
        }
        let list = match name.rfind('.') {
            Some(dot) => self.acl(&name[..dot]),
            None => return AclList::inbox_default(),
        };
        self.acls.insert(name.to_owned(), list.clone());
        list
    }
}

impl Stored {
    fn add(&mut self, mut message: StoredMessage) -> u32 {
        message.uid = self.uidnext;
        self.uidnext += 1;
        self.messages.push(message);
        self.uidnext - 1
    }

    fn by_uid(&self, uid: u32) -> Option<&StoredMessage> {
        let i = self.messages.binary_search_by_key(&uid, |m| m.uid).ok()?;
        self.messages.get(i)
    }
}

impl MailStore for MemoryStore {
    fn keywords_enabled(&self) -> bool {
        true
    }

    fn folder_exists(&self, name: &str) -> StoreResult<bool> {
        Ok(self.lock().folders.contains_key(&key(name)?))
    }

    fn quota(&self) -> StoreResult<Option<QuotaUsage>> {
        Ok(None)
    }

    fn list_folders(&self) -> StoreResult<Vec<FolderEntry>> {
        let account = self.lock();
        let has_children = |name: &str| {
            let prefix = format!("{name}.");
            account.folders.keys().any(|n| n.starts_with(&prefix))
        };
        let mut out = vec![FolderEntry {
            name: "INBOX".into(),
            selectable: true,
            has_children: has_children("INBOX"),
        }];
        out.extend(
            account
                .folders
                .keys()
                .filter(|n| *n != "INBOX")
                .map(|n| FolderEntry {
                    name: n.clone(),
                    selectable: true,
                    has_children: has_children(n),
                }),
        );
        Ok(out)
    }

    fn subscriptions(&self) -> StoreResult<Vec<String>> {
        Ok(self.lock().subscriptions.clone())
    }

    fn subscribe(&self, name: &str) -> StoreResult<()> {
        let name = key(name)?;
        let mut account = self.lock();
        if !account.subscriptions.contains(&name) {
            account.subscriptions.push(name);
        }
        Ok(())
    }

    fn unsubscribe(&self, name: &str) -> StoreResult<()> {
        let canonical = key(name).unwrap_or_else(|_| name.to_owned());
        self.lock()
            .subscriptions
            .retain(|s| *s != canonical && s != name);
        Ok(())
    }

    fn create_folder(&self, name: &str) -> StoreResult<()> {
        let name = key(name)?;
        let mut account = self.lock();
        if account.folders.contains_key(&name) {
            return Err(StoreError::AlreadyExists(name));
        }
        // Parents too, as real folders (RFC 3501 §6.3.3).
        let mut end = 0;
        while let Some(dot) = name[end..].find('.') {
            end += dot;
            if !account.folders.contains_key(&name[..end]) {
                account.make(&name[..end]);
            }
            end += 1;
        }
        account.make(&name);
        Ok(())
    }

    fn delete_folder(&self, name: &str) -> StoreResult<()> {
        let name = key(name)?;
        if names::is_inbox(&name) {
            return Err(StoreError::NotPermitted("INBOX cannot be deleted"));
        }
        let mut account = self.lock();
        account.acls.remove(&name);
        account
            .folders
            .remove(&name)
            .map(|_| ())
            .ok_or(StoreError::NonExistent(name))
    }

    fn rename_folder(&self, from: &str, to: &str) -> StoreResult<()> {
        let (from, to) = (key(from)?, key(to)?);
        let mut account = self.lock();
        if account.folders.contains_key(&to) {
            return Err(StoreError::AlreadyExists(to));
        }
        if names::is_inbox(&from) {
            // INBOX's messages move to a new folder; INBOX stays, empty.
            account.make(&to);
            let messages = std::mem::take(&mut account.folder_mut("INBOX")?.messages);
            let dest = account.folder_mut(&to)?;
            for m in messages {
                dest.add(m);
            }
            return Ok(());
        }
        if to.starts_with(&format!("{from}.")) {
            return Err(StoreError::InvalidName {
                name: to,
                reason: "cannot rename a folder below itself",
            });
        }
        if !account.folders.contains_key(&from) {
            return Err(StoreError::NonExistent(from));
        }
        let prefix = format!("{from}.");
        let moving: Vec<String> = account
            .folders
            .keys()
            .filter(|n| **n == from || n.starts_with(&prefix))
            .cloned()
            .collect();
        for old in moving {
            let new = format!("{to}{}", &old[from.len()..]);
            if let Some(acl) = account.acls.remove(&old) {
                account.acls.insert(new.clone(), acl);
            }
            if let Some(stored) = account.folders.remove(&old) {
                account.folders.insert(new, stored);
            }
        }
        Ok(())
    }

    fn status(&self, name: &str) -> StoreResult<FolderStatus> {
        let account = self.lock();
        let stored = account.folder(name)?;
        let count = |f: &dyn Fn(&StoredMessage) -> bool| {
            u32::try_from(stored.messages.iter().filter(|m| f(m)).count()).unwrap_or(u32::MAX)
        };
        Ok(FolderStatus {
            messages: count(&|_| true),
            recent: count(&|m| !m.claimed),
            uidnext: stored.uidnext,
            uidvalidity: stored.uidvalidity,
            unseen: count(&|m| !m.flags.contains(Flags::SEEN)),
        })
    }

    fn open_folder(&self, name: &str, read_write: bool) -> StoreResult<Box<dyn MailFolder>> {
        let name = key(name)?;
        let mut folder = MemoryFolder {
            account: Arc::clone(&self.account),
            name,
            read_write,
            uidvalidity: 0,
            uidnext: 1,
            messages: Vec::new(),
        };
        folder.refresh()?;
        Ok(Box::new(folder))
    }

    fn acl_user(&self) -> &AclUser {
        &self.user
    }

    fn stored_acl(&self, name: &str) -> StoreResult<AclList> {
        let name = key(name)?;
        Ok(self.lock().acl(&name))
    }

    fn edit_stored_acl(
        &self,
        name: &str,
        edit: &mut dyn FnMut(&mut AclList) -> StoreResult<()>,
    ) -> StoreResult<AclList> {
        let name = key(name)?;
        let mut account = self.lock();
        let mut list = account.acl(&name);
        edit(&mut list)?;
        list.check_minimum(Some(self.user.owner().as_bytes()))?;
        account.acls.insert(name, list.clone());
        Ok(list)
    }

    /// Ages by INTERNALDATE (memory has no ctime).
    fn expire_old(&self, rules: &[ExpiryRule]) -> StoreResult<usize> {
        let now = SystemTime::now();
        let mut account = self.lock();
        let mut removed = 0;
        for rule in rules {
            let Ok(stored) = account.folder_mut(&format!("INBOX.{}", rule.folder)) else {
                continue;
            };
            let kept = std::time::Duration::from_secs(u64::from(rule.days) * 86_400);
            let before = stored.messages.len();
            stored
                .messages
                .retain(|m| now.duration_since(m.date).map_or(true, |age| age <= kept));
            removed += before - stored.messages.len();
        }
        Ok(removed)
    }

    fn begin_append(
        &self,
        name: &str,
        _size: u64,
        flags: Flags,
        keywords: &[String],
        internal_date: Option<SystemTime>,
    ) -> StoreResult<Box<dyn AppendTarget>> {
        for k in keywords {
            keywords::validate_keyword(k)?;
        }
        let name = key(name)?;
        self.lock().folder(&name)?;
        Ok(Box::new(MemoryAppend {
            account: Arc::clone(&self.account),
            folder: name,
            message: StoredMessage {
                uid: 0,
                flags,
                keywords: keywords::normalize(keywords.to_vec()),
                date: internal_date.unwrap_or_else(SystemTime::now),
                bytes: Arc::default(),
                claimed: false,
            },
        }))
    }
}

/// An APPEND into a [`MemoryStore`].
struct MemoryAppend {
    account: Arc<Mutex<Account>>,
    folder: String,
    message: StoredMessage,
}

impl AppendTarget for MemoryAppend {
    fn write(&mut self, data: &[u8]) -> StoreResult<()> {
        Arc::make_mut(&mut self.message.bytes).extend_from_slice(data);
        Ok(())
    }

    fn finish(self: Box<Self>, gate: Option<Gate<'_>>) -> StoreResult<Appended> {
        if let Some(gate) = gate {
            gate(&mut self.message.bytes.as_slice())?;
        }
        let mut account = lock(&self.account);
        let stored = account.folder_mut(&self.folder)?;
        let uidvalidity = stored.uidvalidity;
        let uid = stored.add(self.message);
        Ok(Appended {
            uidvalidity,
            uid,
            placed: None,
            recent_claimed: false,
        })
    }
}

/// What a session last saw of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    uid: u32,
    flags: Flags,
    keywords: Vec<String>,
    recent: bool,
}

impl Seen {
    fn as_ref(&self) -> MessageRef<'_> {
        MessageRef {
            uid: self.uid,
            flags: self.flags,
            keywords: &self.keywords,
            recent: self.recent,
        }
    }
}

impl Changes {
    /// Records a message that left the folder.
    fn note_gone(&mut self, gone: Seen) {
        self.expunged.push(gone.uid);
        self.gone.push(GoneMessage {
            uid: gone.uid,
            flags: gone.flags,
            keywords: gone.keywords,
            recent: gone.recent,
            internal_date: None,
        });
    }
}

/// A folder of a [`MemoryStore`] as one session sees it.
struct MemoryFolder {
    account: Arc<Mutex<Account>>,
    name: String,
    read_write: bool,
    uidvalidity: u32,
    uidnext: u32,
    messages: Vec<Seen>,
}

impl MemoryFolder {
    fn require_rw(&self) -> StoreResult<()> {
        if self.read_write {
            Ok(())
        } else {
            Err(StoreError::ReadOnly)
        }
    }

    fn wanted(uids: &[u32]) -> impl Fn(&u32) -> bool + '_ {
        move |uid| uids.binary_search(uid).is_ok()
    }

    /// Copies `uids` into `dest`; with `remove`, takes them out of this
    /// folder.
    fn transfer(
        &mut self,
        uids: &[u32],
        dest: &str,
        carry: Carry,
        remove: bool,
        gate: Option<Gate<'_>>,
    ) -> StoreResult<CopyResult> {
        let mut uids = uids.to_vec();
        uids.sort_unstable();
        let mut account = lock(&self.account);
        let dest = key(dest)?;
        account.folder(&dest)?;
        let source = account.folder_mut(&self.name)?;
        let wanted = Self::wanted(&uids);
        let taken: Vec<StoredMessage> = source
            .messages
            .iter()
            .filter(|m| wanted(&m.uid))
            .cloned()
            .collect();
        if let Some(gate) = gate {
            for m in &taken {
                gate(&mut m.bytes.as_slice())?;
            }
        }
        if remove {
            source.messages.retain(|m| !wanted(&m.uid));
        }
        let target = account.folder_mut(&dest)?;
        let mut pairs = Vec::with_capacity(taken.len());
        for mut m in taken {
            let from = m.uid;
            m.claimed = false;
            m.flags = Flags::from_bits(m.flags.bits() & carry.flags.bits());
            if !carry.keywords {
                m.keywords.clear();
            }
            pairs.push((from, target.add(m)));
        }
        let uidvalidity = target.uidvalidity;
        if remove {
            self.messages.retain(|m| !wanted(&m.uid));
        }
        Ok(CopyResult {
            uidvalidity,
            pairs,
            ..CopyResult::default()
        })
    }
}

impl MailFolder for MemoryFolder {
    fn name(&self) -> &str {
        &self.name
    }

    fn read_write(&self) -> bool {
        self.read_write
    }

    fn uidvalidity(&self) -> u32 {
        self.uidvalidity
    }

    fn uidnext(&self) -> u32 {
        self.uidnext
    }

    fn len(&self) -> usize {
        self.messages.len()
    }

    fn message_at(&self, index: usize) -> Option<MessageRef<'_>> {
        self.messages.get(index).map(Seen::as_ref)
    }

    fn message(&self, uid: u32) -> Option<MessageRef<'_>> {
        let i = self.messages.binary_search_by_key(&uid, |m| m.uid).ok()?;
        self.messages.get(i).map(Seen::as_ref)
    }

    fn keywords(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .messages
            .iter()
            .flat_map(|m| m.keywords.iter().cloned())
            .collect();
        all.sort();
        all.dedup();
        all
    }

    fn refresh(&mut self) -> StoreResult<Changes> {
        let account = Arc::clone(&self.account);
        let mut account = lock(&account);
        let stored = account.folder_mut(&self.name)?;
        let mut changes = Changes::default();
        if self.uidvalidity != 0 && self.uidvalidity != stored.uidvalidity {
            changes.uidvalidity_changed = true;
            changes.expunged = self.messages.drain(..).map(|m| m.uid).collect();
        }
        let mut now = Vec::with_capacity(stored.messages.len());
        let mut old = std::mem::take(&mut self.messages).into_iter().peekable();
        for m in &mut stored.messages {
            while let Some(gone) = old.next_if(|o| o.uid < m.uid) {
                changes.note_gone(gone);
            }
            let before = old.next_if(|o| o.uid == m.uid);
            // Once recent in a session, recent for the rest of it.
            let claims = self.read_write && !m.claimed;
            let recent = before.as_ref().is_some_and(|b| b.recent)
                || claims
                || (!self.read_write && !m.claimed);
            m.claimed |= claims;
            let seen = Seen {
                uid: m.uid,
                flags: m.flags,
                keywords: m.keywords.clone(),
                recent,
            };
            match before {
                None => changes.added.push(m.uid),
                Some(b) if b.flags != seen.flags || b.keywords != seen.keywords => {
                    changes.flags_changed.push(m.uid)
                }
                Some(_) => {}
            }
            now.push(seen);
        }
        for gone in old {
            changes.note_gone(gone);
        }
        self.messages = now;
        self.uidvalidity = stored.uidvalidity;
        self.uidnext = stored.uidnext;
        Ok(changes)
    }

    fn store_flags(
        &mut self,
        uids: &[u32],
        op: FlagOp,
        flags: Flags,
        keywords: &[String],
    ) -> StoreResult<Vec<u32>> {
        self.require_rw()?;
        for k in keywords {
            keywords::validate_keyword(k)?;
        }
        let mut uids = uids.to_vec();
        uids.sort_unstable();
        let wanted = Self::wanted(&uids);
        let mut account = lock(&self.account);
        let stored = account.folder_mut(&self.name)?;
        let mut changed = Vec::new();
        for m in stored.messages.iter_mut().filter(|m| wanted(&m.uid)) {
            let (new_flags, new_keywords) = match op {
                FlagOp::Add => (
                    m.flags.union(flags),
                    keywords::normalize(m.keywords.iter().chain(keywords).cloned().collect()),
                ),
                FlagOp::Remove => (
                    m.flags.difference(flags),
                    m.keywords
                        .iter()
                        .filter(|k| !keywords.contains(k))
                        .cloned()
                        .collect(),
                ),
                FlagOp::Replace => (flags, keywords::normalize(keywords.to_vec())),
            };
            if new_flags != m.flags || new_keywords != m.keywords {
                m.flags = new_flags;
                m.keywords = new_keywords;
                changed.push(m.uid);
            }
            if let Ok(i) = self.messages.binary_search_by_key(&m.uid, |s| s.uid) {
                self.messages[i].flags = m.flags;
                self.messages[i].keywords = m.keywords.clone();
            }
        }
        Ok(changed)
    }

    fn expunge(&mut self, uids: Option<&[u32]>) -> StoreResult<Vec<u32>> {
        self.require_rw()?;
        let mut account = lock(&self.account);
        let stored = account.folder_mut(&self.name)?;
        let known: Vec<u32> = self.messages.iter().map(|m| m.uid).collect();
        let doomed = |m: &StoredMessage| {
            m.flags.contains(Flags::DELETED)
                && known.binary_search(&m.uid).is_ok()
                && uids.is_none_or(|u| u.contains(&m.uid))
        };
        let gone: Vec<u32> = stored
            .messages
            .iter()
            .filter(|m| doomed(m))
            .map(|m| m.uid)
            .collect();
        stored.messages.retain(|m| !doomed(m));
        self.messages
            .retain(|m| gone.binary_search(&m.uid).is_err());
        Ok(gone)
    }

    fn copy_to(
        &mut self,
        uids: &[u32],
        dest: &str,
        carry: Carry,
        gate: Option<Gate<'_>>,
    ) -> StoreResult<CopyResult> {
        self.transfer(uids, dest, carry, false, gate)
    }

    fn move_to(
        &mut self,
        uids: &[u32],
        dest: &str,
        carry: Carry,
        gate: Option<Gate<'_>>,
    ) -> StoreResult<CopyResult> {
        self.require_rw()?;
        self.transfer(uids, dest, carry, true, gate)
    }

    fn internal_date(&self, uid: u32) -> Option<SystemTime> {
        let account = lock(&self.account);
        Some(account.folder(&self.name).ok()?.by_uid(uid)?.date)
    }

    /// This store has no files: a name made of the folder's UIDVALIDITY
    /// and the UID, stable as long as they are.
    fn base_name(&self, uid: u32) -> Option<String> {
        let account = lock(&self.account);
        account.folder(&self.name).ok()?.by_uid(uid)?;
        Some(format!("{}.{uid}.memory", self.uidvalidity))
    }

    /// Computed from the message each time: this store keeps no index.
    fn facts(&self, uids: &[u32]) -> Vec<StoreResult<Arc<MessageFacts>>> {
        let account = lock(&self.account);
        let Ok(folder) = account.folder(&self.name) else {
            return uids.iter().map(|&u| Err(StoreError::NotFound(u))).collect();
        };
        uids.iter()
            .map(|&u| {
                let m = folder.by_uid(u).ok_or(StoreError::NotFound(u))?;
                Ok(Arc::new(MessageFacts::compute(&m.bytes, m.date)))
            })
            .collect()
    }

    fn read_message(&self, uid: u32, extent: Extent) -> StoreResult<Vec<u8>> {
        let account = lock(&self.account);
        let bytes = account
            .folder(&self.name)?
            .by_uid(uid)
            .map(|m| Arc::clone(&m.bytes))
            .ok_or(StoreError::NotFound(uid))?;
        let end = match extent {
            Extent::Whole => bytes.len(),
            Extent::Header => header_end(&bytes, 0).unwrap_or(bytes.len()),
        };
        Ok(bytes[..end].to_vec())
    }

    fn watch_paths(&self) -> Vec<PathBuf> {
        Vec::new()
    }
}
