//! EXPUNGE (RFC 3501 §6.4.3) and UID EXPUNGE (RFC 4315 §2.1), and
//! Courier's magic trash, where they move the messages into the trash.

use std::collections::HashSet;

use courser_maildir::names;

use super::reply::Reply;
use super::select::Look;
use super::{Selected, Session, State};
use crate::codec::respond::Code;
use crate::codec::SequenceSet;
use crate::mailstore::{Carry, FlagOp, Flags, MailStore, StoreResult};

impl Session {
    pub(super) fn expunge(&mut self, tag: &str, uids: Option<&SequenceSet>, out: &mut Vec<u8>) {
        self.in_selected(tag, out, |s, sel, out| {
            let verb = if uids.is_some() {
                "UID EXPUNGE"
            } else {
                "EXPUNGE"
            };
            if !Self::permitted(tag, verb, "current mailbox", &sel.rights, "e", None, out) {
                return;
            }
            if !sel.folder.read_write() {
                return Reply::no(out, tag, Some(Code::ReadOnly), "Mailbox is read-only");
            }
            // Every \Deleted message goes, including those others marked
            // since the session last looked closely.
            s.refresh_view(sel, Look::Full, out);
            if matches!(s.state, State::Logout) {
                return;
            }
            let only: Option<Vec<u32>> = uids.map(|set| {
                sel.view
                    .by_uid(set)
                    .into_iter()
                    .map(|(_, uid)| uid)
                    .collect()
            });
            // Not from the trash itself, nor from another account's
            // folder (Courier's rule).
            let open = sel.folder.name();
            let trash = s
                .magic_trash
                .as_deref()
                .filter(|t| *t != open && !names::is_shared(open));
            let result = match (trash, s.store.as_deref()) {
                (Some(trash), Some(store)) => to_trash(sel, store, trash, only.as_deref()),
                _ => sel.folder.expunge(only.as_deref()),
            };
            match result {
                Ok(gone) => {
                    sel.view.note_expunged(&gone);
                    s.sync_with(sel, true, Look::Fast, out);
                    Reply::ok(out, tag, "EXPUNGE completed");
                }
                Err(e) => s.store_error(tag, &e, out),
            }
        });
    }
}

/// Moves the `\\Deleted` messages (of `only`, if given) into `trash`,
/// made if missing, with `\\Deleted` and `\\Draft` taken off as Courier
/// does; returns the UIDs that left the folder.
fn to_trash(
    sel: &mut Selected,
    store: &dyn MailStore,
    trash: &str,
    only: Option<&[u32]>,
) -> StoreResult<Vec<u32>> {
    let only: Option<HashSet<u32>> = only.map(|o| o.iter().copied().collect());
    let deleted: Vec<u32> = (0..sel.folder.len())
        .filter_map(|i| sel.folder.message_at(i))
        .filter(|m| m.flags.contains(Flags::DELETED))
        .map(|m| m.uid)
        .filter(|u| only.as_ref().is_none_or(|o| o.contains(u)))
        .collect();
    if deleted.is_empty() {
        return Ok(Vec::new());
    }
    if !store.folder_exists(trash)? {
        store.create_folder(trash)?;
    }
    sel.folder
        .store_flags(&deleted, FlagOp::Remove, Flags::DELETED | Flags::DRAFT, &[])?;
    let moved = sel.folder.move_to(&deleted, trash, Carry::ALL, None)?;
    Ok(moved.pairs.into_iter().map(|(from, _)| from).collect())
}
