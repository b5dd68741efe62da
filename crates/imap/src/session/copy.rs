//! COPY, MOVE and their UID forms (RFC 3501 §6.4.7; MOVE RFC 6851; COPYUID
//! RFC 4315 §3).

use super::acl::Missing;
use super::reply::Reply;
use super::select::Look;
use super::{Selected, Session};
use crate::codec::respond::Code;
use crate::codec::SequenceSet;
use crate::mailstore::settable;
use crate::mailstore::{Carry, CopyResult, StoreError};

/// The `COPYUID` response code for a copy result, if anything was copied.
fn copyuid(result: &CopyResult) -> Option<Code> {
    let src: Vec<u32> = result.pairs.iter().map(|p| p.0).collect();
    let dst: Vec<u32> = result.pairs.iter().map(|p| p.1).collect();
    Some(Code::CopyUid {
        uidvalidity: result.uidvalidity,
        source: SequenceSet::from_numbers(&src)?,
        dest: SequenceSet::from_numbers(&dst)?,
    })
}

impl Session {
    /// The checks of COPY (`i` on `dest`, which must exist) and MOVE
    /// (also `t` and `e` on the source `moving_from`, RFC 6851 §3.3);
    /// what the copies may carry, or `None` after answering. The
    /// destination comes first: a refusal on the source would tell a
    /// destination the user may not see from one that is not there.
    fn copy_rights(
        &mut self,
        tag: &str,
        verb: &str,
        dest: &str,
        moving_from: Option<&Selected>,
        out: &mut Vec<u8>,
    ) -> Option<Carry> {
        let hidden = Missing::Destination;
        if !self.exists(tag, dest, hidden, out) {
            return None;
        }
        let rights = self.rights_on(tag, dest, out)?;
        if !Self::permitted(tag, verb, dest, &rights, "i", Some(hidden), out) {
            return None;
        }
        if let Some(sel) = moving_from {
            let source = "current mailbox";
            for needed in ["t", "e"] {
                if !Self::permitted(tag, verb, source, &sel.rights, needed, None, out) {
                    return None;
                }
            }
        }
        Some(settable(&rights))
    }

    pub(super) fn copy(
        &mut self,
        tag: &str,
        uid: bool,
        set: &SequenceSet,
        dest: &str,
        move_: bool,
        out: &mut Vec<u8>,
    ) {
        let verb = match (uid, move_) {
            (false, false) => "COPY",
            (true, false) => "UID COPY",
            (false, true) => "MOVE",
            (true, true) => "UID MOVE",
        };
        self.in_selected(tag, out, |s, sel, out| {
            s.refresh_for_numbers(sel, out);
            if s.is_logged_out() {
                return;
            }
            // The destination and the rights first, as Courier checks.
            let Some(carry) = s.copy_rights(tag, verb, dest, move_.then_some(&*sel), out) else {
                return;
            };
            if !uid && set.exceeds(sel.view.len()) {
                return Reply::bad(out, tag, "Message sequence number out of range");
            }
            if move_ && !sel.folder.read_write() {
                return Reply::no(out, tag, Some(Code::ReadOnly), "Mailbox is read-only");
            }
            let uids: Vec<u32> = sel
                .view
                .select(set, uid)
                .into_iter()
                .map(|(_, u)| u)
                .filter(|&u| !sel.view.is_expunged(u))
                .collect();
            // Courier's rule: the Outbox takes one message at a time
            // unless OUTBOX_MULTIPLE_SEND.
            if uids.len() > 1
                && s.outbox
                    .as_ref()
                    .is_some_and(|o| o.is(dest) && !o.multiple())
            {
                return Reply::no(
                    out,
                    tag,
                    Some(Code::Alert),
                    "Only one message may be sent at a time.",
                );
            }
            let result = s.through_outbox(dest, |gate| {
                if move_ {
                    sel.folder.move_to(&uids, dest, carry, gate)
                } else {
                    sel.folder.copy_to(&uids, dest, carry, gate)
                }
            });
            match result {
                Ok(result) => {
                    for placed in &result.placed {
                        sel.folder.took_in(placed);
                    }
                    let code = copyuid(&result);
                    if move_ {
                        // RFC 6851 §4.3: COPYUID in an untagged OK before
                        // the EXPUNGEs.
                        if let Some(code) = code {
                            Reply::untagged_ok_code(out, code, "Moved UIDs");
                        }
                        let moved: Vec<u32> = result.pairs.iter().map(|p| p.0).collect();
                        sel.view.note_expunged(&moved);
                        s.sync_with(sel, true, Look::Fast, out);
                        if result.stayed.is_empty() {
                            Reply::ok(out, tag, &format!("{verb} completed"));
                        } else {
                            // RFC 6851 §3.3: each message moved or left
                            // alone, and a NO when not all could move.
                            Reply::no(
                                out,
                                tag,
                                Some(Code::NoPerm),
                                "Some messages stay: you may not remove them from this shared folder",
                            );
                        }
                    } else {
                        s.announce_changes(sel, uid, out);
                        match code {
                            Some(code) => {
                                Reply::ok_code(out, tag, code, &format!("{verb} completed"))
                            }
                            None => Reply::ok(out, tag, &format!("{verb} completed")),
                        }
                    }
                }
                Err(StoreError::NonExistent(_)) => Missing::Destination.answer(tag, out),
                Err(e) => s.store_error(tag, &e, out),
            }
        });
    }
}
