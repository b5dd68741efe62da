//! The command AST: what a parsed client command means, independent of how it
//! was spelled on the wire (RFC 3501 §6, §9, and the extensions named on each
//! variant).

pub mod datetime;
pub mod fetch;
pub mod flag;
pub mod mailbox;
pub mod search;
pub mod sequence;

/// ENVELOPE and BODYSTRUCTURE data come from the MIME crate; the writers in
/// [`respond::fetch`](mod@crate::codec::respond::fetch) serialize them.
pub use courser_mime::{Address, BodyKind, BodyStructure, Envelope};
pub use datetime::{Date, DateTime};
pub use fetch::{FetchAttr, Partial, Section, SectionText};
pub use flag::{Flag, StoreMode};
pub use mailbox::Mailbox;
pub use search::{ReturnOption, SearchKey};
pub use sequence::{SeqNum, SeqRange, SequenceSet};

/// A command tag (RFC 3501 §9 `tag`): one or more ASTRING-CHARs except `+`.
pub type Tag = String;

/// A STATUS data item (RFC 3501 §6.3.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusItem {
    /// `MESSAGES`
    Messages,
    /// `RECENT`
    Recent,
    /// `UIDNEXT`
    UidNext,
    /// `UIDVALIDITY`
    UidValidity,
    /// `UNSEEN`
    Unseen,
    /// `SIZE` (RFC 8438 STATUS=SIZE).
    Size,
}

impl StatusItem {
    /// The item's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusItem::Messages => "MESSAGES",
            StatusItem::Recent => "RECENT",
            StatusItem::UidNext => "UIDNEXT",
            StatusItem::UidValidity => "UIDVALIDITY",
            StatusItem::Unseen => "UNSEEN",
            StatusItem::Size => "SIZE",
        }
    }
}

/// One SORT criterion (RFC 5256 §3): a key, possibly reversed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortCriterion {
    /// `REVERSE` was given before the key.
    pub reverse: bool,
    /// The key.
    pub key: SortKey,
}

/// A SORT key (RFC 5256 §3; DISPLAYFROM/DISPLAYTO from RFC 5957).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// `ARRIVAL`
    Arrival,
    /// `CC`
    Cc,
    /// `DATE`
    Date,
    /// `FROM`
    From,
    /// `SIZE`
    Size,
    /// `SUBJECT`
    Subject,
    /// `TO`
    To,
    /// `DISPLAYFROM` (RFC 5957)
    DisplayFrom,
    /// `DISPLAYTO` (RFC 5957)
    DisplayTo,
}

/// A THREAD algorithm (RFC 5256 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadAlgorithm {
    /// `ORDEREDSUBJECT`
    OrderedSubject,
    /// `REFERENCES`
    References,
    /// Any other atom, upper-cased; the session answers it with `BAD`/`NO`.
    Other(String),
}

/// How an APPEND message literal was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiteralKind {
    /// An ordinary `{n}` / `{n+}` literal (RFC 3501 §4.3).
    Plain,
    /// A `~{n}` literal8 inside `UTF8 (...)` (RFC 6855 §4) — only valid
    /// after `ENABLE UTF8=ACCEPT`; the session checks that.
    Utf8,
    /// A bare `~{n}` literal8 (RFC 3516 §4.2, BINARY's APPEND form): the
    /// message may contain NUL. Courier accepts it without advertising
    /// BINARY; so does this parser.
    Binary,
}

/// An APPEND whose message literal has been announced (RFC 3501 §6.3.11):
/// what the command says before the message. The framer hands the message
/// out in pieces after it ([`Event::AppendData`](crate::codec::Event)), so
/// it never holds the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendStart {
    /// The client's tag.
    pub tag: Tag,
    /// Target mailbox.
    pub mailbox: Mailbox,
    /// Flags to set (possibly empty).
    pub flags: Vec<Flag>,
    /// Internal date to set.
    pub date: Option<DateTime>,
    /// Whether the message comes as a plain literal, literal8 or
    /// `UTF8 (~{n})`.
    pub kind: LiteralKind,
    /// The announced size in octets (`u64::MAX` for a size too large to
    /// read).
    pub size: u64,
    /// A synchronizing literal: the client waits for the continuation
    /// request (RFC 3501 §7.5) before sending the message; a LITERAL+ one
    /// (RFC 7888) is on its way already.
    pub sync: bool,
}

/// A client command (RFC 3501 §6 plus the extensions named per variant).
///
/// Strings that are protocol text (mechanism names, capability names) are
/// upper-cased; strings that are data (user names, search strings) are kept
/// as the bytes the client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `CAPABILITY` (RFC 3501 §6.1.1)
    Capability,
    /// `NOOP` (§6.1.2)
    Noop,
    /// `LOGOUT` (§6.1.3)
    Logout,
    /// `STARTTLS` (§6.2.1)
    StartTls,
    /// `AUTHENTICATE mechanism [initial-response]` (§6.2.2; SASL-IR RFC 4959).
    Authenticate {
        /// Mechanism name, upper-cased.
        mechanism: String,
        /// RFC 4959 initial response, base64-decoded; `Some(vec![])` for `=`.
        initial_response: Option<Vec<u8>>,
    },
    /// `LOGIN user password` (§6.2.3)
    Login {
        /// The user name astring, as sent.
        username: Vec<u8>,
        /// The password astring, as sent.
        password: Vec<u8>,
    },
    /// `SELECT mailbox` (§6.3.1)
    Select {
        /// Mailbox to open.
        mailbox: Mailbox,
    },
    /// `EXAMINE mailbox` (§6.3.2)
    Examine {
        /// Mailbox to open read-only.
        mailbox: Mailbox,
    },
    /// `CREATE mailbox` (§6.3.3)
    Create {
        /// Mailbox to create.
        mailbox: Mailbox,
    },
    /// `DELETE mailbox` (§6.3.4)
    Delete {
        /// Mailbox to delete.
        mailbox: Mailbox,
    },
    /// `RENAME from to` (§6.3.5)
    Rename {
        /// Existing name.
        from: Mailbox,
        /// New name.
        to: Mailbox,
    },
    /// `SUBSCRIBE mailbox` (§6.3.6)
    Subscribe {
        /// Mailbox to subscribe.
        mailbox: Mailbox,
    },
    /// `UNSUBSCRIBE mailbox` (§6.3.7)
    Unsubscribe {
        /// Mailbox to unsubscribe.
        mailbox: Mailbox,
    },
    /// `LIST [(data)] reference pattern` (§6.3.8; the data are Courier's
    /// `(ACL MYRIGHTS POSTADDRESS)` extension)
    List {
        /// Reference name, decoded like a mailbox name (not
        /// INBOX-normalized); `None` if not valid modified UTF-7.
        reference: Option<String>,
        /// Pattern with `%` and `*` wildcards, decoded like a mailbox name;
        /// `None` if not valid modified UTF-7 (it matches nothing).
        pattern: Option<String>,
        /// What else each listed folder is shown with.
        data: ListData,
    },
    /// `LSUB reference pattern` (§6.3.9)
    Lsub {
        /// Reference name.
        reference: Option<String>,
        /// Pattern.
        pattern: Option<String>,
    },
    /// `STATUS mailbox (items)` (§6.3.10)
    Status {
        /// Mailbox.
        mailbox: Mailbox,
        /// Requested items, in order given (may repeat).
        items: Vec<StatusItem>,
    },
    /// `APPEND mailbox [(flags)] [date-time] literal` (§6.3.11; literal8
    /// form from RFC 6855 §4).
    Append {
        /// Target mailbox.
        mailbox: Mailbox,
        /// Flags to set (possibly empty).
        flags: Vec<Flag>,
        /// Internal date to set.
        date: Option<DateTime>,
        /// The message.
        message: Vec<u8>,
        /// Whether it came as a plain literal or `UTF8 (~{n})`.
        kind: LiteralKind,
    },
    /// `CHECK` (§6.4.1)
    Check,
    /// `CLOSE` (§6.4.2)
    Close,
    /// `UNSELECT` (RFC 3691)
    Unselect,
    /// `EXPUNGE` (§6.4.3) or `UID EXPUNGE set` (RFC 4315 §2.1).
    Expunge {
        /// `Some` for UID EXPUNGE: only these UIDs.
        uids: Option<SequenceSet>,
    },
    /// `[UID] SEARCH [CHARSET c] keys` (§6.4.4, §6.4.8)
    Search {
        /// UID SEARCH.
        uid: bool,
        /// Charset, upper-cased, if given.
        charset: Option<String>,
        /// All keys ANDed; a single key is not wrapped.
        criteria: SearchKey,
        /// `RETURN (…)` (RFC 4731 ESEARCH): answer with `* ESEARCH`.
        ret: Option<Vec<ReturnOption>>,
    },
    /// `[UID] FETCH set items` (§6.4.5, §6.4.8). Macros are expanded.
    Fetch {
        /// UID FETCH.
        uid: bool,
        /// Messages.
        set: SequenceSet,
        /// Items in order given; ALL/FAST/FULL expanded (§6.4.5).
        items: Vec<FetchAttr>,
    },
    /// `[UID] STORE set [+|-]FLAGS[.SILENT] flags` (§6.4.6, §6.4.8)
    Store {
        /// UID STORE.
        uid: bool,
        /// Messages.
        set: SequenceSet,
        /// Replace, add or remove.
        mode: StoreMode,
        /// `.SILENT` given.
        silent: bool,
        /// Flags (possibly empty).
        flags: Vec<Flag>,
    },
    /// `[UID] COPY set mailbox` (§6.4.7, §6.4.8)
    Copy {
        /// UID COPY.
        uid: bool,
        /// Messages.
        set: SequenceSet,
        /// Destination.
        mailbox: Mailbox,
    },
    /// `[UID] MOVE set mailbox` (RFC 6851)
    Move {
        /// UID MOVE.
        uid: bool,
        /// Messages.
        set: SequenceSet,
        /// Destination.
        mailbox: Mailbox,
    },
    /// `IDLE` (RFC 2177). The session then calls
    /// [`Decoder::expect_idle_done`](crate::codec::Decoder::expect_idle_done).
    Idle,
    /// `NAMESPACE` (RFC 2342)
    Namespace,
    /// `ENABLE cap...` (RFC 5161); names upper-cased.
    Enable {
        /// Capabilities to enable.
        capabilities: Vec<String>,
    },
    /// `ID (params) / ID NIL` (RFC 2971). `None` for NIL.
    Id {
        /// Field/value pairs.
        parameters: Option<Vec<(String, Option<String>)>>,
    },
    /// `GETQUOTA root` (RFC 2087 §4.2)
    GetQuota {
        /// Quota root name.
        root: String,
    },
    /// `GETQUOTAROOT mailbox` (RFC 2087 §4.3)
    GetQuotaRoot {
        /// Mailbox.
        mailbox: Mailbox,
    },
    /// `SETQUOTA root (resource limit ...)` (RFC 2087 §4.1); resources upper-cased.
    SetQuota {
        /// Quota root name.
        root: String,
        /// Resource/limit pairs.
        limits: Vec<(String, u64)>,
    },
    /// `GETACL mailbox` (RFC 4314 §3.3)
    GetAcl {
        /// Mailbox.
        mailbox: Mailbox,
    },
    /// `SETACL mailbox identifier rights` (RFC 4314 §3.1)
    SetAcl {
        /// Mailbox.
        mailbox: Mailbox,
        /// Identifier (user or group).
        identifier: String,
        /// Rights, possibly prefixed by `+` or `-`.
        rights: String,
    },
    /// Courier's `ACL STORE|SET|DELETE target ...`: its own ACL command,
    /// on one folder or on every folder some LIST patterns match.
    CourierAcl {
        /// The folder, or the patterns.
        target: AclTarget,
        /// The change.
        change: CourierAclChange,
    },
    /// `DELETEACL mailbox identifier` (RFC 4314 §3.2)
    DeleteAcl {
        /// Mailbox.
        mailbox: Mailbox,
        /// Identifier.
        identifier: String,
    },
    /// `LISTRIGHTS mailbox identifier` (RFC 4314 §3.4)
    ListRights {
        /// Mailbox.
        mailbox: Mailbox,
        /// Identifier.
        identifier: String,
    },
    /// `MYRIGHTS mailbox` (RFC 4314 §3.5)
    MyRights {
        /// Mailbox.
        mailbox: Mailbox,
    },
    /// `[UID] SORT (criteria) charset keys` (RFC 5256 §3)
    Sort {
        /// UID SORT.
        uid: bool,
        /// Sort criteria in priority order.
        criteria: Vec<SortCriterion>,
        /// Charset, upper-cased.
        charset: String,
        /// Search keys ANDed.
        search: SearchKey,
        /// `RETURN (…)` (RFC 5267 ESORT): answer with `* ESEARCH`.
        ret: Option<Vec<ReturnOption>>,
    },
    /// `[UID] THREAD algorithm charset keys` (RFC 5256 §3)
    Thread {
        /// UID THREAD.
        uid: bool,
        /// Algorithm.
        algorithm: ThreadAlgorithm,
        /// Charset, upper-cased.
        charset: String,
        /// Search keys ANDed.
        search: SearchKey,
    },
}

impl Command {
    /// Every name [`Command::name`] returns: a small fixed set, so the
    /// server can use it as a metrics label.
    pub const NAMES: &'static [&'static str] = &[
        "CAPABILITY",
        "NOOP",
        "LOGOUT",
        "STARTTLS",
        "AUTHENTICATE",
        "LOGIN",
        "SELECT",
        "EXAMINE",
        "CREATE",
        "DELETE",
        "RENAME",
        "SUBSCRIBE",
        "UNSUBSCRIBE",
        "LIST",
        "LSUB",
        "STATUS",
        "APPEND",
        "CHECK",
        "CLOSE",
        "UNSELECT",
        "EXPUNGE",
        "UID EXPUNGE",
        "SEARCH",
        "UID SEARCH",
        "FETCH",
        "UID FETCH",
        "STORE",
        "UID STORE",
        "COPY",
        "UID COPY",
        "MOVE",
        "UID MOVE",
        "IDLE",
        "NAMESPACE",
        "ENABLE",
        "ID",
        "GETQUOTA",
        "GETQUOTAROOT",
        "SETQUOTA",
        "GETACL",
        "SETACL",
        "DELETEACL",
        "LISTRIGHTS",
        "MYRIGHTS",
        "SORT",
        "UID SORT",
        "THREAD",
        "UID THREAD",
    ];

    /// The command's name as a client would write it (upper case, `UID `
    /// prefix where applicable), for logs and response texts.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Capability => "CAPABILITY",
            Command::Noop => "NOOP",
            Command::Logout => "LOGOUT",
            Command::StartTls => "STARTTLS",
            Command::Authenticate { .. } => "AUTHENTICATE",
            Command::Login { .. } => "LOGIN",
            Command::Select { .. } => "SELECT",
            Command::Examine { .. } => "EXAMINE",
            Command::Create { .. } => "CREATE",
            Command::Delete { .. } => "DELETE",
            Command::Rename { .. } => "RENAME",
            Command::Subscribe { .. } => "SUBSCRIBE",
            Command::Unsubscribe { .. } => "UNSUBSCRIBE",
            Command::List { .. } => "LIST",
            Command::Lsub { .. } => "LSUB",
            Command::Status { .. } => "STATUS",
            Command::Append { .. } => "APPEND",
            Command::Check => "CHECK",
            Command::Close => "CLOSE",
            Command::Unselect => "UNSELECT",
            Command::Expunge { uids: None } => "EXPUNGE",
            Command::Expunge { uids: Some(_) } => "UID EXPUNGE",
            Command::Search { uid: false, .. } => "SEARCH",
            Command::Search { uid: true, .. } => "UID SEARCH",
            Command::Fetch { uid: false, .. } => "FETCH",
            Command::Fetch { uid: true, .. } => "UID FETCH",
            Command::Store { uid: false, .. } => "STORE",
            Command::Store { uid: true, .. } => "UID STORE",
            Command::Copy { uid: false, .. } => "COPY",
            Command::Copy { uid: true, .. } => "UID COPY",
            Command::Move { uid: false, .. } => "MOVE",
            Command::Move { uid: true, .. } => "UID MOVE",
            Command::Idle => "IDLE",
            Command::Namespace => "NAMESPACE",
            Command::Enable { .. } => "ENABLE",
            Command::Id { .. } => "ID",
            Command::GetQuota { .. } => "GETQUOTA",
            Command::GetQuotaRoot { .. } => "GETQUOTAROOT",
            Command::SetQuota { .. } => "SETQUOTA",
            Command::GetAcl { .. } => "GETACL",
            Command::SetAcl { .. } => "SETACL",
            Command::CourierAcl { change, .. } => change.verb(),
            Command::DeleteAcl { .. } => "DELETEACL",
            Command::ListRights { .. } => "LISTRIGHTS",
            Command::MyRights { .. } => "MYRIGHTS",
            Command::Sort { uid: false, .. } => "SORT",
            Command::Sort { uid: true, .. } => "UID SORT",
            Command::Thread { uid: false, .. } => "THREAD",
            Command::Thread { uid: true, .. } => "UID THREAD",
        }
    }
}

/// What Courier's `LIST (ACL MYRIGHTS POSTADDRESS)` asks to be shown with
/// each folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListData {
    /// The folder's ACL (to those with `a`).
    pub acl: bool,
    /// The user's rights on it.
    pub myrights: bool,
    /// Its posting address (always NIL).
    pub postaddress: bool,
}

impl ListData {
    /// Whether anything beyond RFC 3501's LIST is asked for.
    pub fn any(&self) -> bool {
        self.acl || self.myrights || self.postaddress
    }
}

/// The folders Courier's ACL command changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AclTarget {
    /// One folder, by name.
    Mailbox(Mailbox),
    /// Every folder these LIST patterns match (`None`: not valid modified
    /// UTF-7, matches nothing).
    Patterns(Vec<Option<String>>),
}

/// The change Courier's ACL command makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CourierAclChange {
    /// `STORE identifier rights`: `+rights` adds, `-rights` removes,
    /// plain rights replace, empty removes the entry.
    Store {
        /// The identifier as stored (`user=bob`, `anyone`, `-owner`).
        identifier: String,
        /// The rights, possibly with `+` or `-`.
        rights: String,
    },
    /// `SET identifier rights ...`: the whole list.
    Set(Vec<(String, String)>),
    /// `DELETE identifier`.
    Delete {
        /// The identifier as stored.
        identifier: String,
    },
}

impl CourierAclChange {
    /// The command's name, as its tagged answer says it.
    pub fn verb(&self) -> &'static str {
        match self {
            CourierAclChange::Store { .. } => "ACL STORE",
            CourierAclChange::Set(_) => "ACL SET",
            CourierAclChange::Delete { .. } => "ACL DELETE",
        }
    }
}
