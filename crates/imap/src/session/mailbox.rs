//! CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE (RFC 3501 §6.3.3-7), and
//! how store errors become responses (DESIGN.md: errors say who was wrong).

use courser_protocol::Untrusted;

use super::acl::Missing;
use super::reply::Reply;
use super::{Session, State};
use crate::codec::respond::{self, Code};
use crate::mailstore::{Rights, StoreError};

impl Session {
    pub(super) fn create(&mut self, tag: &str, name: &str, out: &mut Vec<u8>) {
        // RFC 3501 §6.3.3: a trailing delimiter declares intent to create
        // inferiors; the name without it is what gets created.
        let name = name.strip_suffix('.').unwrap_or(name);
        if name.eq_ignore_ascii_case("INBOX") {
            return Reply::no(out, tag, Some(Code::AlreadyExists), "INBOX always exists");
        }
        let Some(store) = self.store_ref() else {
            return;
        };
        if !store.in_account(name) {
            // Nobody may create there (Courier names the folder itself).
            let none = Rights::default();
            Self::permitted(tag, "CREATE", name, &none, "c", None, out);
            return;
        }
        if let Some((parent, _)) = name.rsplit_once('.') {
            if !self.require(tag, "CREATE", parent, "c", None, out) {
                return;
            }
        }
        let Some(store) = self.store_ref() else {
            return;
        };
        match store.create_folder(name) {
            Ok(()) => {
                // Courier reads the new folder's ACL at once, which stores
                // the copy it inherits; an error shows at the next use.
                let _ = store.acl(name);
                self.finish_ok(tag, "CREATE completed", out)
            }
            Err(e) => self.store_error(tag, &e, out),
        }
    }

    /// Whether folder `name` exists; answers as `missing` says if not.
    /// Checked before its ACL is read: reading the ACL of a name that is
    /// not there stores an inherited copy for it.
    pub(super) fn exists(
        &self,
        tag: &str,
        name: &str,
        missing: Missing,
        out: &mut Vec<u8>,
    ) -> bool {
        let Some(store) = self.store_ref() else {
            return false;
        };
        match store.folder_exists(name) {
            Ok(true) => true,
            Ok(false) => {
                missing.answer(tag, out);
                false
            }
            Err(e) => {
                self.store_error(tag, &e, out);
                false
            }
        }
    }

    pub(super) fn delete(&mut self, tag: &str, name: &str, out: &mut Vec<u8>) {
        if name.eq_ignore_ascii_case("INBOX") {
            return Reply::no(out, tag, Some(Code::Cannot), "INBOX cannot be deleted");
        }
        let hidden = Missing::Folder;
        if !self.exists(tag, name, hidden, out)
            || !self.require(tag, "DELETE", name, "x", Some(hidden), out)
        {
            return;
        }
        if self.is_selected(name) {
            // Deleting the open folder: leave it first, like Courier.
            self.state = State::Authenticated;
        }
        let Some(store) = self.store_ref() else {
            return;
        };
        match store.delete_folder(name) {
            Ok(()) => self.finish_ok(tag, "DELETE completed", out),
            Err(e) => self.store_error(tag, &e, out),
        }
    }

    pub(super) fn rename(&mut self, tag: &str, from: &str, to: &str, out: &mut Vec<u8>) {
        if to.eq_ignore_ascii_case("INBOX") {
            return Reply::no(out, tag, Some(Code::AlreadyExists), "INBOX already exists");
        }
        let hidden = Missing::Folder;
        if !self.exists(tag, from, hidden, out)
            || !self.require(tag, "RENAME", from, "x", Some(hidden), out)
        {
            return;
        }
        if let Some((parent, _)) = to.rsplit_once('.') {
            if !self.require(tag, "RENAME", parent, "c", None, out) {
                return;
            }
        }
        if self.is_selected(from) {
            self.state = State::Authenticated;
        }
        let Some(store) = self.store_ref() else {
            return;
        };
        match store.rename_folder(from, to) {
            Ok(()) => self.finish_ok(tag, "RENAME completed", out),
            Err(e) => self.store_error(tag, &e, out),
        }
    }

    pub(super) fn subscribe(&mut self, tag: &str, name: &str, on: bool, out: &mut Vec<u8>) {
        let Some(store) = self.store_ref() else {
            return;
        };
        let result = if on {
            store.subscribe(name)
        } else {
            store.unsubscribe(name)
        };
        match result {
            Ok(()) => {
                let verb = if on { "SUBSCRIBE" } else { "UNSUBSCRIBE" };
                self.finish_ok(tag, &format!("{verb} completed"), out)
            }
            Err(e) => self.store_error(tag, &e, out),
        }
    }

    pub(super) fn is_selected(&self, name: &str) -> bool {
        match &self.state {
            State::Selected(sel) => {
                let open = sel.folder.name();
                open == name
                    || (open.eq_ignore_ascii_case("INBOX") && name.eq_ignore_ascii_case("INBOX"))
            }
            _ => false,
        }
    }

    /// Answers a failed store operation with NO and the RFC 5530 code that
    /// says what went wrong; our own failures are logged.
    pub(super) fn store_error(&self, tag: &str, e: &StoreError, out: &mut Vec<u8>) {
        let (code, text): (Code, String) = match e {
            StoreError::NonExistent(_) => return Missing::Folder.answer(tag, out),
            StoreError::AlreadyExists(_) => (Code::AlreadyExists, "Mailbox already exists".into()),
            StoreError::InvalidName { reason, .. } => {
                (Code::Cannot, format!("Invalid mailbox name: {reason}"))
            }
            StoreError::InvalidKeyword(k) => (Code::Cannot, format!("Invalid keyword {k}")),
            StoreError::NotPermitted(what) => (Code::Cannot, format!("Not permitted: {what}")),
            StoreError::OverQuota => (Code::OverQuota, "Mail quota exceeded".into()),
            StoreError::ReadOnly => (Code::ReadOnly, "Mailbox is read-only".into()),
            StoreError::Locked(_) => (Code::InUse, "Mailbox is busy, try again".into()),
            StoreError::NotFound(_) => (Code::ExpungeIssued, "Message no longer exists".into()),
            // Courier's words; the sender logged why.
            StoreError::NotSent(_) => (Code::Alert, "Unable to send E-mail message.".into()),
            // A folder the process may not read: another account's, in the
            // per-user model, or a broken permission (RFC 5530 NOPERM).
            e if e.io_kind() == Some(std::io::ErrorKind::PermissionDenied) => {
                tracing::warn!(
                    user = %Untrusted(self.user().unwrap_or("-")),
                    error = %Untrusted(&e.to_string()),
                    "store: permission denied"
                );
                (Code::NoPerm, "Permission denied".into())
            }
            other => {
                tracing::error!(
                    user = %Untrusted(self.user().unwrap_or("-")),
                    error = %Untrusted(&other.to_string()),
                    "store failure"
                );
                (Code::ServerBug, "Internal error, see the server log".into())
            }
        };
        if matches!(e, StoreError::OverQuota) {
            // Courier says this with ALERT, which clients must show the
            // user; OVERQUOTA (RFC 5530) on the tagged answer is for
            // software.
            respond::untagged(
                out,
                respond::Status::No,
                Some(&Code::Alert),
                "Your mailbox is over its quota: delete some mail",
            );
        }
        Reply::no(out, tag, Some(code), &text);
    }
}
