//! STATUS (RFC 3501 §6.3.10).

use super::acl::Missing;
use super::reply::Reply;
use super::Session;
use crate::codec::respond;
use crate::codec::StatusItem;

impl Session {
    pub(super) fn status(
        &mut self,
        tag: &str,
        name: &str,
        items: &[StatusItem],
        out: &mut Vec<u8>,
    ) {
        if items.contains(&StatusItem::Size) {
            // STATUS=SIZE (RFC 8438) is not advertised.
            return Reply::bad(out, tag, "Unknown STATUS item SIZE");
        }
        let hidden = Missing::Folder;
        if !self.exists(tag, name, hidden, out)
            || !self.require(tag, "STATUS", name, "r", Some(hidden), out)
        {
            return;
        }
        let Some(store) = self.store_ref() else {
            return;
        };
        let st = match store.status(name) {
            Ok(s) => s,
            Err(e) => return self.store_error(tag, &e, out),
        };
        let mut seen = Vec::new();
        let mut fields: Vec<(StatusItem, u64)> = Vec::new();
        for item in items {
            if seen.contains(item) {
                continue;
            }
            seen.push(*item);
            let value = match item {
                StatusItem::Messages => st.messages,
                StatusItem::Recent => st.recent,
                StatusItem::UidNext => st.uidnext,
                StatusItem::UidValidity => st.uidvalidity,
                StatusItem::Unseen => st.unseen,
                StatusItem::Size => continue,
            };
            fields.push((*item, u64::from(value)));
        }
        respond::status(out, name, &fields, self.utf8_enabled);
        self.finish_ok(tag, "STATUS completed", out);
    }
}
