//! Courier's ACLs (RFC 4314 rights, ACL2=UNION), byte-compatible with
//! Courier-IMAP on the same maildirs (spec `maildir.md` §6).
//!
//! * [`Rights`]: a set of right letters ([`rights`] names them);
//!   [`Identifier`]: what an entry's identifier names.
//! * [`AclList`]: one folder's list — the `courierimapacl` format, the
//!   normalisation of the administrators entry, [`AclList::compute`] and
//!   the minimum-rights check of writes ([`Error::AclMinimumRights`]).
//! * [`Login`]: the identifiers a session's user holds on a folder, and
//!   its rights there.
//! * [`read`], [`write()`], [`update`], [`reset`], [`delete`],
//!   [`rename_hier`]: the files, with Courier's inheritance and
//!   `courierimaphieracl/`.
//!
//! Where Courier's versions differ, this follows the one Debian ships
//! (courier-imap 5.0.13: bad lines are skipped, negative administrators
//! entries dropped), plus newer Courier's move of a `courierimaphieracl/`
//! entry into the folder once it exists.
//!
//! [`Error::AclMinimumRights`]: crate::Error::AclMinimumRights

mod files;
mod identifier;
mod list;
mod login;
pub mod rights;

pub use files::{
    delete, peek, read, rename_hier, reset, update, write, RenameScope, ACL_FILE, HIER_DIR,
    STALE_AFTER,
};
pub use identifier::{is_valid as is_valid_identifier, list_rights, Identifier, ListRights};
pub use list::{AclEntry, AclList};
pub use login::Login;
pub use rights::{courier_minimum, Rights};
