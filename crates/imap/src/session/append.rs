//! APPEND (RFC 3501 §6.3.11) with APPENDUID (RFC 4315 §3) and the UTF8
//! literal form (RFC 6855 §4).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use courser_maildir::Error as StoreError;

use super::reply::Reply;
use super::store::split_flags;
use super::{Session, State};
use crate::codec::respond::Code;
use crate::codec::{DateTime, Flag, LiteralKind, SequenceSet};

/// An IMAP date-time as a file time (mtime), or `None` before 1970.
fn system_time(date: &DateTime) -> Option<SystemTime> {
    let secs = u64::try_from(date.unix_timestamp()).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

impl Session {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn append(
        &mut self,
        tag: &str,
        name: &str,
        flags: &[Flag],
        date: Option<DateTime>,
        message: &[u8],
        kind: LiteralKind,
        out: &mut Vec<u8>,
    ) {
        if kind == LiteralKind::Utf8 && !self.utf8_enabled {
            return Reply::bad(out, tag, "UTF8 literal without ENABLE UTF8=ACCEPT");
        }
        if message.is_empty() {
            return Reply::no(out, tag, Some(Code::Cannot), "Empty message");
        }
        let parsed = match split_flags(flags) {
            Ok(p) => p,
            Err(e) => return Reply::bad(out, tag, &e),
        };
        let internal_date = match date.as_ref().map(system_time) {
            Some(None) => return Reply::bad(out, tag, "Date before 1970 not supported"),
            Some(t) => t,
            None => None,
        };
        let Some(store) = self.store_ref() else {
            return;
        };
        let keywords = if store.options().keywords {
            parsed.keywords
        } else {
            Vec::new()
        };
        match store.append(name, message, parsed.flags, &keywords, internal_date) {
            Ok(done) => {
                if let State::Selected(_) = self.state {
                    self.in_selected(tag, out, |s, sel, out| s.sync(sel, true, out));
                }
                Reply::ok_code(
                    out,
                    tag,
                    Code::AppendUid {
                        uidvalidity: done.uidvalidity,
                        uids: SequenceSet::single(done.uid),
                    },
                    "APPEND completed",
                );
            }
            Err(StoreError::NonExistent(_)) => {
                Reply::no(out, tag, Some(Code::TryCreate), "Mailbox does not exist")
            }
            Err(e) => self.store_error(tag, &e, out),
        }
    }
}
