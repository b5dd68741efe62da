//! EXPUNGE (RFC 3501 §6.4.3) and UID EXPUNGE (RFC 4315 §2.1).

use super::reply::Reply;
use super::Session;
use crate::codec::respond::Code;
use crate::codec::SequenceSet;

impl Session {
    pub(super) fn expunge(&mut self, tag: &str, uids: Option<&SequenceSet>, out: &mut Vec<u8>) {
        self.in_selected(tag, out, |s, sel, out| {
            if !sel.folder.read_write() {
                return Reply::no(out, tag, Some(Code::ReadOnly), "Mailbox is read-only");
            }
            let only: Option<Vec<u32>> = uids.map(|set| {
                sel.view
                    .by_uid(set)
                    .into_iter()
                    .map(|(_, uid)| uid)
                    .collect()
            });
            match sel.folder.expunge(only.as_deref()) {
                Ok(gone) => {
                    sel.view.note_expunged(&gone);
                    s.sync(sel, true, out);
                    Reply::ok(out, tag, "EXPUNGE completed");
                }
                Err(e) => s.store_error(tag, &e, out),
            }
        });
    }
}
