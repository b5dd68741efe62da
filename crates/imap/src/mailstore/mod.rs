//! The store boundary: everything the IMAP session asks of an account's
//! mail, as two traits — [`MailStore`] (the account: folders,
//! subscriptions, STATUS, APPEND) and [`MailFolder`] (a selected folder:
//! its messages, their flags and content, changes made elsewhere).
//!
//! [`MaildirStore`] serves them from a Courier-compatible maildir
//! (`courser-maildir`); [`MemoryStore`] (feature `memory-store`, and in
//! this crate's tests) keeps an account in memory for the session's unit
//! tests and the fuzzer.
//!
//! The calls are synchronous and may block on files and locks: the server
//! makes them where blocking is allowed, never on the async executor.
//!
//! The vocabulary — [`Flags`], [`FlagOp`], [`FolderEntry`],
//! [`FolderStatus`], [`CopyResult`], [`StoreError`] — is the maildir
//! crate's, re-exported: it is plain data, and one error type keeps the
//! RFC 5530 response codes in one place (`session::mailbox`).
//!
//! ACLs (RFC 4314) are Courier's ([`courser_maildir::acl`]): a store knows
//! its session's user as an [`AclUser`] and answers with folders'
//! [`AclList`]s; the session decides what the rights allow.

mod maildir;
#[cfg(any(test, feature = "memory-store"))]
mod memory;
mod shared;

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

pub use courser_maildir::acl::{AclList, Login, Rights};
pub use courser_maildir::index::Needle;
pub use courser_maildir::{
    Appended, Carry, CopyResult, Error as StoreError, ExpiryRule, FlagOp, Flags, FolderEntry,
    FolderStatus, Gate, MessageFacts, OrderFacts, QuotaLimits, QuotaUsage,
};
pub use maildir::MaildirStore;
#[cfg(any(test, feature = "memory-store"))]
pub use memory::MemoryStore;

/// What a store call returns.
pub type StoreResult<T> = Result<T, StoreError>;

/// The session's user as the ACLs see them: the identifiers held
/// (`owner` on the account's own folders, `user=`, the authlib `group=`
/// options) and whether the account has ACLs at all (`disableshared`).
#[derive(Debug, Clone)]
pub struct AclUser {
    login: Login,
    name: String,
    options: String,
    owner: String,
    disabled: bool,
}

impl AclUser {
    /// `user` logged in to the account of `owner` (both login names)
    /// with the authlib `options` (`group=staff,disableshared=1,...`).
    pub fn new(user: &str, owner: &str, options: &str) -> AclUser {
        AclUser::with_owner_identity(user, &format!("user={owner}"), options)
    }

    /// `user` on folders whose owner identity is `owner` (`user=<login>`,
    /// or Courier's for a virtual shared account's folders).
    pub fn with_owner_identity(user: &str, owner: &str, options: &str) -> AclUser {
        AclUser {
            login: Login::new(user, owner, options),
            name: user.to_owned(),
            options: options.to_owned(),
            disabled: courser_auth::Options::new(options).disable_shared(),
            owner: owner.to_owned(),
        }
    }

    /// The login name.
    pub fn login(&self) -> &str {
        &self.name
    }

    /// The account's authlib options.
    pub fn options(&self) -> &str {
        &self.options
    }

    /// The owner identity of the folders (`user=<login>` on the account's
    /// own): whom the minimum-rights rule protects besides `owner`.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Whether ACLs are off for the account (`disableshared=1`): every
    /// folder has [`AclList::disabled`] and no ACL can be changed.
    pub fn acls_disabled(&self) -> bool {
        self.disabled
    }

    /// The rights (ACL2=UNION) this user has under `acl`.
    pub fn rights(&self, acl: &AclList) -> Rights {
        self.login.rights(acl, self.disabled)
    }
}

/// How much of a message file a command needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Extent {
    /// The header up to and including the blank line that ends it:
    /// enough for ENVELOPE, header sections and header SEARCH keys, which
    /// are what clients ask of every message when they list a folder.
    Header,
    /// The whole message.
    Whole,
}

/// One message of an open folder, as the session sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageRef<'a> {
    /// The UID.
    pub uid: u32,
    /// System flags.
    pub flags: Flags,
    /// Keywords, sorted, without duplicates.
    pub keywords: &'a [String],
    /// `\Recent` for this session.
    pub recent: bool,
}

/// The last record of a message that left the folder (expunged by
/// someone else), kept by a session until it may announce the EXPUNGE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoneMessage {
    /// The UID.
    pub uid: u32,
    /// System flags as last seen.
    pub flags: Flags,
    /// Keywords as last seen.
    pub keywords: Vec<String>,
    /// `\Recent` for this session.
    pub recent: bool,
    /// INTERNALDATE, if the store had it without the (now gone) file.
    pub internal_date: Option<SystemTime>,
}

impl GoneMessage {
    /// The record as a [`MessageRef`].
    pub fn as_ref(&self) -> MessageRef<'_> {
        MessageRef {
            uid: self.uid,
            flags: self.flags,
            keywords: &self.keywords,
            recent: self.recent,
        }
    }
}

/// What [`MailFolder::refresh`] found changed since the last look.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// UIDs that left the folder, ascending.
    pub expunged: Vec<u32>,
    /// Their last records.
    pub gone: Vec<GoneMessage>,
    /// New UIDs, ascending, above every UID seen before.
    pub added: Vec<u32>,
    /// UIDs whose flags or keywords changed, ascending.
    pub flags_changed: Vec<u32>,
    /// The folder's UIDVALIDITY changed: the client's view is void.
    pub uidvalidity_changed: bool,
}

/// The flags and keywords rights allow setting: `s` \Seen, `t` \Deleted,
/// `w` the others and keywords (RFC 4314 §4).
pub fn settable(r: &Rights) -> Carry {
    let mut flags = Flags::EMPTY;
    if r.has(courser_maildir::acl::rights::SEEN) {
        flags.insert(Flags::SEEN);
    }
    if r.has(courser_maildir::acl::rights::DELETE_MESSAGES) {
        flags.insert(Flags::DELETED);
    }
    if r.has(courser_maildir::acl::rights::WRITE) {
        flags.insert(Flags::ANSWERED | Flags::FLAGGED | Flags::DRAFT);
    }
    Carry {
        flags,
        keywords: r.has(courser_maildir::acl::rights::WRITE),
    }
}

/// An account's mail.
pub trait MailStore: Send {
    /// Whether keywords can be stored (`IMAP_KEYWORDS`).
    fn keywords_enabled(&self) -> bool;
    /// Whether a folder exists (and can be selected).
    fn folder_exists(&self, name: &str) -> StoreResult<bool>;
    /// The account's quota and what is used of it, if it has one.
    fn quota(&self) -> StoreResult<Option<QuotaUsage>>;
    /// Every folder, INBOX first, with the hierarchy-only parents.
    fn list_folders(&self) -> StoreResult<Vec<FolderEntry>>;
    /// Other accounts' folders shared with the user (the `#shared.`
    /// namespace) below the level `under`, at most `levels` levels below
    /// `#shared` (`None`: all): those the user may see, with the levels
    /// above them.
    fn shared_folders(&self, _under: &str, _levels: Option<usize>) -> Vec<FolderEntry> {
        Vec::new()
    }
    /// Subscribed names, in the order kept.
    fn subscriptions(&self) -> StoreResult<Vec<String>>;
    /// Adds a name to the subscriptions (the folder need not exist).
    fn subscribe(&self, name: &str) -> StoreResult<()>;
    /// Removes a name from the subscriptions.
    fn unsubscribe(&self, name: &str) -> StoreResult<()>;
    /// Whether `name` is inside an account, where folders can be (false
    /// for `#shared` and its groups, and for `#shared` names the index
    /// does not give).
    fn in_account(&self, _name: &str) -> bool {
        true
    }
    /// Creates a folder and its missing parents.
    fn create_folder(&self, name: &str) -> StoreResult<()>;
    /// Deletes a folder and its messages; INBOX cannot be deleted.
    fn delete_folder(&self, name: &str) -> StoreResult<()>;
    /// Renames a folder and its children (INBOX: moves its messages).
    fn rename_folder(&self, from: &str, to: &str) -> StoreResult<()>;
    /// STATUS counters, without claiming `\Recent`.
    fn status(&self, name: &str) -> StoreResult<FolderStatus>;
    /// Opens a folder: SELECT (`read_write`) or EXAMINE.
    fn open_folder(&self, name: &str, read_write: bool) -> StoreResult<Box<dyn MailFolder>>;
    /// Removes what has been kept longer than the rules allow (Courier's
    /// `IMAP_EMPTYTRASH`); returns how many messages went.
    fn expire_old(&self, rules: &[ExpiryRule]) -> StoreResult<usize>;
    /// The session's user, as the ACLs of the account's own folders see
    /// them.
    fn acl_user(&self) -> &AclUser;
    /// The session's user as the ACL of folder `name` sees them (another
    /// account's folders have another owner).
    fn acl_user_on(&self, _name: &str) -> Cow<'_, AclUser> {
        Cow::Borrowed(self.acl_user())
    }
    /// The ACL stored for `name`, a folder or a name with folders below
    /// it, with Courier's inheritance (reading may store the inherited
    /// copy, as Courier does). Callers use [`MailStore::acl`].
    fn stored_acl(&self, name: &str) -> StoreResult<AclList>;
    /// Changes the stored ACL of `name` under the account's lock: `edit`
    /// works on the current list, which is stored only if it leaves the
    /// owner and administrators their minimum rights
    /// ([`StoreError::AclMinimumRights`], [`StoreError::InvalidAcl`]).
    /// Callers use [`MailStore::edit_acl`].
    fn edit_stored_acl(
        &self,
        name: &str,
        edit: &mut dyn FnMut(&mut AclList) -> StoreResult<()>,
    ) -> StoreResult<AclList>;
    /// The ACL of `name` ([`MailStore::stored_acl`]), or
    /// [`AclList::disabled`] when the account has ACLs off.
    fn acl(&self, name: &str) -> StoreResult<AclList> {
        if self.acl_user().acls_disabled() {
            return Ok(AclList::disabled());
        }
        self.stored_acl(name)
    }
    /// Changes the ACL of `name` ([`MailStore::edit_stored_acl`]);
    /// refused when the account has ACLs off.
    fn edit_acl(
        &self,
        name: &str,
        edit: &mut dyn FnMut(&mut AclList) -> StoreResult<()>,
    ) -> StoreResult<AclList> {
        if self.acl_user().acls_disabled() {
            return Err(StoreError::NotPermitted(
                "ACLs are disabled for this account",
            ));
        }
        self.edit_stored_acl(name, edit)
    }
    /// The session user's rights on `name` (see [`MailStore::acl`]).
    fn my_rights(&self, name: &str) -> StoreResult<Rights> {
        let acl = self.acl(name)?;
        Ok(self.acl_user_on(name).rights(&acl))
    }
    /// [`MailStore::stored_acl`] leaving the files as they are (an
    /// inherited ACL is not stored). Callers use
    /// [`MailStore::peek_rights`].
    fn peek_stored_acl(&self, name: &str) -> StoreResult<AclList> {
        self.stored_acl(name)
    }
    /// [`MailStore::my_rights`] leaving the files as they are: for an
    /// answer Courier gives before it reads the ACL.
    fn peek_rights(&self, name: &str) -> StoreResult<Rights> {
        let acl = if self.acl_user().acls_disabled() {
            AclList::disabled()
        } else {
            self.peek_stored_acl(name)?
        };
        Ok(self.acl_user_on(name).rights(&acl))
    }
    /// Starts an APPEND of `size` octets: fails before anything is
    /// written when the folder does not exist, a keyword is invalid or the
    /// quota is full.
    fn begin_append(
        &self,
        name: &str,
        size: u64,
        flags: Flags,
        keywords: &[String],
        internal_date: Option<SystemTime>,
    ) -> StoreResult<Box<dyn AppendTarget>>;
}

/// A message being received by APPEND. Dropped unfinished, it leaves
/// nothing behind.
pub trait AppendTarget: Send {
    /// Adds the next octets.
    fn write(&mut self, data: &[u8]) -> StoreResult<()>;
    /// The session appending has the destination open read-write and
    /// takes the message in ([`MailFolder::took_in`]) once it is stored:
    /// the message is \Recent to that session, and to no other.
    fn claim_recent(&mut self) {}
    /// Stores the complete message and gives it a UID, unless `gate`
    /// refuses it (then nothing is stored and its error returned).
    fn finish(self: Box<Self>, gate: Option<Gate<'_>>) -> StoreResult<Appended>;
}

/// An open folder: a UID-ordered list of messages that changes only when
/// [`MailFolder::refresh`] (or the session's own change) says so.
pub trait MailFolder: Send {
    /// The folder's canonical name.
    fn name(&self) -> &str;
    /// Opened read-write (SELECT) rather than read-only (EXAMINE).
    fn read_write(&self) -> bool;
    /// UIDVALIDITY.
    fn uidvalidity(&self) -> u32;
    /// The next UID, as of the last look.
    fn uidnext(&self) -> u32;
    /// Number of messages.
    fn len(&self) -> usize;
    /// Whether the folder is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The message at `index` in UID order (sequence number − 1).
    fn message_at(&self, index: usize) -> Option<MessageRef<'_>>;
    /// The message with this UID.
    fn message(&self, uid: u32) -> Option<MessageRef<'_>>;
    /// Every UID, ascending.
    fn uids(&self) -> Vec<u32> {
        (0..self.len())
            .filter_map(|i| self.message_at(i).map(|m| m.uid))
            .collect()
    }
    /// How many messages are `\Recent` to this session (asked after every
    /// command: a store that knows should not count).
    fn recent_count(&self) -> usize {
        (0..self.len())
            .filter(|&i| self.message_at(i).is_some_and(|m| m.recent))
            .count()
    }
    /// The index (sequence number − 1) of the first message without
    /// `\Seen`.
    fn first_unseen(&self) -> Option<usize> {
        (0..self.len()).position(|i| {
            self.message_at(i)
                .is_some_and(|m| !m.flags.contains(Flags::SEEN))
        })
    }
    /// Every keyword in use, sorted.
    fn keywords(&self) -> Vec<String>;
    /// A value that changes whenever the folder's ACL may have changed,
    /// so that the session need not read an unchanged ACL before every
    /// command: `Ok(None)` when that cannot be told now, an error
    /// ([`StoreError::NonExistent`]) once the folder is gone.
    fn acl_version(&self) -> StoreResult<Option<u128>> {
        Ok(None)
    }
    /// The folder's directory, naming it in process-wide caches (`None`:
    /// not to be cached).
    fn cache_dir(&self) -> Option<&std::path::Path> {
        None
    }
    /// Looks again, taking in changes made by others.
    fn refresh(&mut self) -> StoreResult<Changes>;
    /// Looks again more cheaply, for commands other than NOOP, CHECK,
    /// IDLE and EXPUNGE: new messages are taken in, but flag changes and
    /// expunges by others may wait for the next [`MailFolder::refresh`]
    /// (Dovecot's "fast" sync).
    fn refresh_fast(&mut self) -> StoreResult<Changes> {
        self.refresh()
    }
    /// Hears of a message the session just APPENDed, maybe into this
    /// folder, so the next [`MailFolder::refresh`] can be cheaper.
    fn took_in(&mut self, _appended: &Appended) {}
    /// STORE: changes flags and keywords; returns the UIDs that changed.
    fn store_flags(
        &mut self,
        uids: &[u32],
        op: FlagOp,
        flags: Flags,
        keywords: &[String],
    ) -> StoreResult<Vec<u32>>;
    /// Removes the `\Deleted` messages (only those in `uids` if given);
    /// returns the UIDs removed, ascending.
    fn expunge(&mut self, uids: Option<&[u32]>) -> StoreResult<Vec<u32>>;
    /// Copies messages into folder `dest` of the same account, with the
    /// flags and keywords `carry` keeps; `gate` sees each message before
    /// any is placed, and its error places none.
    fn copy_to(
        &mut self,
        uids: &[u32],
        dest: &str,
        carry: Carry,
        gate: Option<Gate<'_>>,
    ) -> StoreResult<CopyResult>;
    /// Moves messages into folder `dest`, with the flags and keywords
    /// `carry` keeps; they leave this folder. `gate` as for
    /// [`MailFolder::copy_to`].
    fn move_to(
        &mut self,
        uids: &[u32],
        dest: &str,
        carry: Carry,
        gate: Option<Gate<'_>>,
    ) -> StoreResult<CopyResult>;
    /// INTERNALDATE; `None` when the message is gone.
    fn internal_date(&self, uid: u32) -> Option<SystemTime>;
    /// A message's stable name in the store: its maildir file name
    /// without the `:2,` info (what SMAP calls its UID).
    fn base_name(&self, uid: u32) -> Option<String>;
    /// The message's bytes (`extent` of them), as stored.
    fn read_message(&self, uid: u32, extent: Extent) -> StoreResult<Vec<u8>>;
    /// What answering needs of each of `uids` without reading its file
    /// (ENVELOPE, BODYSTRUCTURE, RFC822.SIZE, the Date and the header
    /// texts SEARCH, SORT and THREAD compare), in the order given: from
    /// the folder index where the store keeps one, so ask for many at
    /// once, in ascending order.
    fn facts(&self, uids: &[u32]) -> Vec<StoreResult<Arc<MessageFacts>>>;
    /// SEARCH of header `field` (`address`: an address field) over the
    /// whole folder, if the store can answer it at once: per message in
    /// UID order, whether its text holds `needle` (`None`: ask the
    /// message's facts). `None` (the default): ask every message.
    fn search_header(
        &self,
        _field: &str,
        _address: bool,
        _needle: &Needle,
    ) -> Option<Vec<Option<bool>>> {
        None
    }
    /// What SORT and THREAD need of each of `uids`, handed to `each` in
    /// the order given (`None`: the store has no facts of it). A store
    /// with an index reads them in place, without building whole facts.
    fn order_facts(&self, uids: &[u32], each: &mut dyn FnMut(u32, Option<OrderFacts<'_>>)) {
        for (&uid, facts) in uids.iter().zip(self.facts(uids)) {
            each(uid, facts.ok().as_deref().map(MessageFacts::order_facts));
        }
    }
    /// Directories whose changes IDLE should watch (empty: poll).
    fn watch_paths(&self) -> Vec<PathBuf>;
}
