//! Courier-compatible Maildir++ store for Courser.
//!
//! The on-disk formats follow Courier-IMAP exactly (see `spec/maildir.md`),
//! so Courier and Courser can take turns on the same maildirs:
//!
//! * [`Store`]: one account's main maildir (INBOX) and its `.folder`
//!   siblings — list, create, delete, rename, subscriptions, STATUS,
//!   APPEND (in pieces, through `tmp/`: [`Incoming`]), quota.
//! * [`Folder`]: an opened folder — a UID-sorted [`Message`] snapshot with
//!   cheap change detection ([`Folder::refresh`]), STORE, EXPUNGE, COPY,
//!   MOVE and message access.
//! * UIDs live in `courierimapuiddb` ([`uiddb`]), keywords in
//!   `courierimapkeywords/` ([`keywords`]), quota in `maildirsize`
//!   ([`quota`]); folder scans and UID assignment are serialised with
//!   Courier's `tmp/courier.lock` dot-lock ([`lock`]). Which session gets
//!   a message as \Recent is decided under that lock too ([`recent`]).
//! * [`index`]: the disposable per-folder index of [`MessageFacts`]
//!   (ENVELOPE, BODYSTRUCTURE, sizes, header texts for SEARCH), read
//!   through [`Folder::facts`] and [`Folder::facts_for`].
//! * [`SnapshotCache`]: scans of big folders shared by the sessions of one
//!   process, so that another connection's SELECT of an unchanged folder
//!   does not read it again.
//! * [`acl`]: Courier's ACLs (`courierimapacl`, `courierimaphieracl/`).
//! * [`shared_index`]: the index of virtual shared folders (`#shared.…`):
//!   reading it, and building and installing it ([`shared_index::install`],
//!   Courier's `sharedindexsplit` and `sharedindexinstall`).
//! * [`sharable`]: filesystem shared folders (`shared.…`) and their local
//!   copies.
//! * [`tools`]: the logic of `maildirmake` and `deliverquota`.
//!
//! The API is synchronous and blocking; async callers use
//! `spawn_blocking`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod account;
pub mod acl;
mod append;
mod appended;
pub mod dircache;
pub mod dirlist;
mod error;
mod expiry;
pub mod filename;
pub mod flags;
mod folder;
mod gate;
pub mod index;
pub mod keywords;
pub mod lock;
pub mod lock_journal;
mod message;
pub mod message_file;
pub mod names;
pub mod quota;
pub mod recent;
mod replaced;
mod scan;
pub mod sharable;
pub mod shared_index;
pub mod snapshots;
pub mod stamp;
mod store;
mod text_column;
pub mod tmpfile;
pub mod tools;
mod transfer;
mod uid_append;
pub mod uiddb;

pub use append::Incoming;
pub use appended::{Appended, Placed};
pub use error::{Error, Result};
pub use expiry::{parse_rules as parse_expiry_rules, ExpiryRule};
pub use flags::{FlagOp, Flags};
pub use folder::{Changes, Folder, Gone};
pub use gate::Gate;
pub use index::{IndexPlace, MessageFacts, OrderFacts, OrderKeys};
pub use message::Message;
pub use quota::{QuotaLimits, QuotaUsage};
pub use snapshots::SnapshotCache;
pub use store::{FolderEntry, FolderStatus, Store, StoreOptions, FOLDER_MARKER, SUBSCRIBED_FILE};
pub use transfer::{Carry, CopyResult};
