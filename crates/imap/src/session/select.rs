//! SELECT, EXAMINE, CLOSE, UNSELECT (RFC 3501 §6.3.1-2, §6.4.2; RFC 3691)
//! and the untagged updates that keep the client's view in step with the
//! folder (RFC 3501 §7.3-7.4).

use courser_maildir::acl::rights;
use courser_protocol::Untrusted;

use super::acl::Missing;
use super::fetch::write_flags;
use super::reply::Reply;
use super::view::View;
use super::{Selected, Session, State};
use crate::codec::respond::{self, Code};
use crate::codec::Flag;
use crate::mailstore::{Flags, MailFolder};

/// How closely a refresh looks at the folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Look {
    /// Everything others changed: NOOP, CHECK, IDLE, EXPUNGE and the
    /// commands that answer without message numbers.
    Full,
    /// New messages, but others' flag changes and expunges may wait for
    /// the next full look ([`MailFolder::refresh_fast`]): FETCH, STORE,
    /// SEARCH, COPY, MOVE and APPEND, which the busiest sessions send.
    ///
    /// [`MailFolder::refresh_fast`]: crate::mailstore::MailFolder::refresh_fast
    Fast,
}

impl Session {
    pub(super) fn select(&mut self, tag: &str, name: &str, read_write: bool, out: &mut Vec<u8>) {
        // Leaving the old folder first: a failed SELECT leaves none selected
        // (RFC 3501 §6.3.1).
        if let State::Selected(_) = self.state {
            self.state = State::Authenticated;
        }
        let hidden = Missing::Folder;
        if !self.exists(tag, name, hidden, out) {
            return;
        }
        let Some(rights) = self.rights_on(tag, name, out) else {
            return;
        };
        if !Self::permitted(tag, "SELECT/EXAMINE", name, &rights, "r", Some(hidden), out) {
            return;
        }
        let Some(store) = self.store_ref() else {
            return;
        };
        // Courier's rule: without a right to change anything, read-only.
        let writable = "iestw".bytes().any(|b| rights.has(b));
        let folder = match store.open_folder(name, read_write && writable) {
            Ok(f) => f,
            Err(e) => return self.store_error(tag, &e, out),
        };
        let view = View::new(folder.uids());
        let mut selected = Selected {
            folder,
            view,
            rights,
            acl_version: None,
        };
        self.announce_folder(&mut selected, out);
        let rw = selected.folder.read_write();
        self.state = State::Selected(Box::new(selected));
        let (code, verb) = if rw {
            (Code::ReadWrite, "SELECT")
        } else {
            (
                Code::ReadOnly,
                if read_write { "SELECT" } else { "EXAMINE" },
            )
        };
        Reply::ok_code(out, tag, code, &format!("{verb} completed"));
    }

    /// The untagged data SELECT returns (RFC 3501 §6.3.1).
    fn announce_folder(&self, sel: &mut Selected, out: &mut Vec<u8>) {
        self.announce_flags(sel, out);
        let folder = &sel.folder;
        respond::exists(out, sel.view.len());
        sel.view.exists_announced = sel.view.len();
        let recent = recent_count(folder.as_ref());
        sel.view.recent_announced = recent;
        respond::recent(out, recent);
        if let Some(pos) = folder.first_unseen() {
            let seq = u32::try_from(pos + 1).unwrap_or(u32::MAX);
            Reply::untagged_ok_code(out, Code::Unseen(seq), "First unseen");
        }
        Reply::untagged_ok_code(out, Code::UidValidity(folder.uidvalidity()), "UIDs valid");
        Reply::untagged_ok_code(out, Code::UidNext(folder.uidnext()), "Predicted next UID");
        super::acl::announce_rights(out, &sel.rights);
    }

    /// FLAGS and PERMANENTFLAGS with every keyword in use in the folder
    /// (RFC 3501 §7.2.6, §7.1): at SELECT, and again whenever a keyword
    /// the client was not told of is about to appear in a FETCH.
    pub(super) fn announce_flags(&self, sel: &mut Selected, out: &mut Vec<u8>) {
        // Keywords once announced stay: a client may hold them in its cache.
        let mut keywords = sel.folder.keywords();
        keywords.extend(sel.view.announced_keywords().cloned());
        keywords.sort();
        keywords.dedup();
        let mut flags = vec![
            Flag::Answered,
            Flag::Flagged,
            Flag::Deleted,
            Flag::Seen,
            Flag::Draft,
        ];
        flags.extend(keywords.iter().cloned().map(Flag::Keyword));
        respond::flags(out, &flags);
        let keywords_on = self.store_ref().is_some_and(|s| s.keywords_enabled());
        let permanent = if sel.folder.read_write() {
            // Only what the rights allow changing (RFC 4314 §4).
            let settable = crate::mailstore::settable(&sel.rights);
            flags.retain(|f| {
                let bit = match f {
                    Flag::Seen => Flags::SEEN,
                    Flag::Deleted => Flags::DELETED,
                    Flag::Answered => Flags::ANSWERED,
                    Flag::Flagged => Flags::FLAGGED,
                    Flag::Draft => Flags::DRAFT,
                    _ => return settable.keywords,
                };
                settable.flags.contains(bit)
            });
            Code::PermanentFlags {
                flags,
                keywords: keywords_on && settable.keywords,
            }
        } else {
            Code::PermanentFlags {
                flags: Vec::new(),
                keywords: false,
            }
        };
        Reply::untagged_ok_code(out, permanent, "Flags permitted");
        sel.view.keywords_announced(keywords);
    }

    /// Sends FLAGS again if a message in `uids` carries a keyword the
    /// client was not given yet; call before FETCH responses show them.
    pub(super) fn announce_new_keywords(
        &self,
        sel: &mut Selected,
        uids: impl IntoIterator<Item = u32>,
        out: &mut Vec<u8>,
    ) {
        let unknown = uids.into_iter().any(|u| {
            sel.folder
                .message(u)
                .is_some_and(|m| m.keywords.iter().any(|k| !sel.view.knows_keyword(k)))
        });
        if unknown {
            self.announce_flags(sel, out);
        }
    }

    /// CLOSE (expunging when read-write) or UNSELECT.
    pub(super) fn close(&mut self, tag: &str, expunge: bool, out: &mut Vec<u8>) {
        match std::mem::replace(&mut self.state, State::Authenticated) {
            State::Selected(mut sel) => {
                // Without `e` CLOSE just closes, as in Courier.
                if expunge && sel.folder.read_write() && sel.rights.has(rights::EXPUNGE) {
                    // CLOSE sends no EXPUNGE responses (RFC 3501 §6.4.2).
                    // Every \Deleted message goes, including those others
                    // marked since the session last looked closely.
                    let expunged = sel.folder.refresh().and_then(|_| sel.folder.expunge(None));
                    if let Err(e) = expunged {
                        return self.store_error(tag, &e, out);
                    }
                }
                let verb = if expunge { "CLOSE" } else { "UNSELECT" };
                Reply::ok(out, tag, &format!("{verb} completed"));
            }
            other => {
                self.state = other;
                Reply::bad(out, tag, "No mailbox selected");
            }
        }
    }

    /// Rescans the folder and tells the client what changed. EXPUNGE
    /// responses only when `allow_expunge` (RFC 3501 §7.4.1).
    pub(super) fn sync(&mut self, sel: &mut Selected, allow_expunge: bool, out: &mut Vec<u8>) {
        self.sync_with(sel, allow_expunge, Look::Full, out);
    }

    /// [`Session::sync`], looking as closely as `look` says.
    pub(super) fn sync_with(
        &mut self,
        sel: &mut Selected,
        allow_expunge: bool,
        look: Look,
        out: &mut Vec<u8>,
    ) {
        if !sel.rights.has(rights::READ) {
            // The user may no longer read it: nothing about it is told.
            return;
        }
        self.refresh_view(sel, look, out);
        if !matches!(self.state, State::Logout) {
            self.announce_changes(sel, allow_expunge, out);
        }
    }

    /// Rescans the folder for a command that answers with sequence
    /// numbers (FETCH, STORE, SEARCH, COPY): new messages are announced
    /// with EXISTS at once (allowed at any time, RFC 3501 §7.3.1), so no
    /// answer names a number beyond the client's last EXISTS.
    pub(super) fn refresh_for_numbers(&mut self, sel: &mut Selected, out: &mut Vec<u8>) {
        self.refresh_view(sel, Look::Fast, out);
        if sel.view.len() > sel.view.exists_announced {
            sel.view.exists_announced = sel.view.len();
            respond::exists(out, sel.view.len());
        }
    }

    /// Rescans the folder and records the changes in the view without
    /// telling the client yet, so a command works on the current state.
    pub(super) fn refresh_view(&mut self, sel: &mut Selected, look: Look, out: &mut Vec<u8>) {
        let refreshed = match look {
            Look::Full => sel.folder.refresh(),
            Look::Fast => sel.folder.refresh_fast(),
        };
        match refreshed {
            Ok(changes) => {
                if changes.uidvalidity_changed {
                    // The UID map was lost: the client's cache is invalid and
                    // RFC 3501 §2.3.1.1 gives no way to say so mid-session.
                    Reply::untagged_bye(out, "Folder UIDVALIDITY changed, please reconnect");
                    self.state = State::Logout;
                    return;
                }
                sel.view.note_expunged(&changes.expunged);
                sel.view.keep_gone(changes.gone);
                sel.view.add(&changes.added);
                sel.view.note_flags(&changes.flags_changed);
                let touched = changes.added.iter().chain(&changes.flags_changed);
                self.announce_new_keywords(sel, touched.copied(), out);
            }
            Err(e) => {
                tracing::warn!(
                    folder = %Untrusted(sel.folder.name()),
                    error = %Untrusted(&e.to_string()),
                    "folder refresh failed"
                );
            }
        }
    }

    /// Sends what the view holds pending.
    pub(super) fn announce_changes(
        &self,
        sel: &mut Selected,
        allow_expunge: bool,
        out: &mut Vec<u8>,
    ) {
        // EXPUNGEs before EXISTS (RFC 6851 §4.3 shows a MOVE into the
        // selected folder as EXPUNGE then EXISTS): the EXPUNGEs name only
        // messages the client was told of, so they never need the EXISTS.
        if allow_expunge {
            for seq in sel.view.take_expunges(sel.view.exists_announced) {
                respond::expunge(out, seq);
                sel.view.exists_announced = sel.view.exists_announced.saturating_sub(1);
            }
        }
        if sel.view.len() != sel.view.exists_announced {
            sel.view.exists_announced = sel.view.len();
            respond::exists(out, sel.view.len());
        }
        let recent = recent_count(sel.folder.as_ref());
        if recent != sel.view.recent_announced {
            sel.view.recent_announced = recent;
            respond::recent(out, recent);
        }
        for (seq, uid) in sel.view.take_flag_changes() {
            if let Some(m) = sel.folder.message(uid) {
                write_flags(out, seq, m, false);
            }
        }
    }
}

fn recent_count(folder: &dyn MailFolder) -> u32 {
    u32::try_from(folder.recent_count()).unwrap_or(u32::MAX)
}
