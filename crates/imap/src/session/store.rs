//! STORE and UID STORE (RFC 3501 §6.4.6, §6.4.8).

use super::fetch::write_flags;
use super::reply::Reply;
use super::Session;
use crate::codec::respond::Code;
use crate::codec::{Flag, SequenceSet, StoreMode};
use crate::mailstore::{FlagOp, Flags};

/// System flags and keywords of a STORE or APPEND flag list.
pub(super) struct FlagSet {
    pub flags: Flags,
    pub keywords: Vec<String>,
}

/// Splits a client flag list; `\Recent` is ignored (clients cannot set it,
/// RFC 3501 §2.3.2) and unknown `\Extension` flags are refused.
pub(super) fn split_flags(list: &[Flag]) -> Result<FlagSet, String> {
    let mut set = FlagSet {
        flags: Flags::default(),
        keywords: Vec::new(),
    };
    for f in list {
        match f {
            Flag::Seen => set.flags.insert(Flags::SEEN),
            Flag::Answered => set.flags.insert(Flags::ANSWERED),
            Flag::Flagged => set.flags.insert(Flags::FLAGGED),
            Flag::Deleted => set.flags.insert(Flags::DELETED),
            Flag::Draft => set.flags.insert(Flags::DRAFT),
            Flag::Recent => {}
            Flag::Keyword(k) => {
                if !set.keywords.contains(k) {
                    set.keywords.push(k.clone());
                }
            }
            Flag::Extension(e) => return Err(format!("Unknown system flag \\{e}")),
        }
    }
    Ok(set)
}

impl Session {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn store(
        &mut self,
        tag: &str,
        uid: bool,
        set: &SequenceSet,
        mode: StoreMode,
        silent: bool,
        flags: &[Flag],
        out: &mut Vec<u8>,
    ) {
        let parsed = match split_flags(flags) {
            Ok(p) => p,
            Err(e) => return Reply::bad(out, tag, &e),
        };
        let keywords_on = self.store_ref().is_some_and(|s| s.keywords_enabled());
        if !keywords_on && !parsed.keywords.is_empty() {
            return Reply::no(
                out,
                tag,
                Some(Code::Cannot),
                "Keywords are disabled on this server",
            );
        }
        self.in_selected(tag, out, |s, sel, out| {
            s.refresh_for_numbers(sel, out);
            if s.is_logged_out() {
                return;
            }
            if !sel.folder.read_write() {
                return Reply::no(out, tag, Some(Code::ReadOnly), "Mailbox is read-only");
            }
            if !uid && set.exceeds(sel.view.len()) {
                return Reply::bad(out, tag, "Message sequence number out of range");
            }
            let targets: Vec<(u32, u32)> = sel
                .view
                .select(set, uid)
                .into_iter()
                .filter(|&(_, u)| !sel.view.is_expunged(u))
                .collect();
            let uids: Vec<u32> = targets.iter().map(|&(_, u)| u).collect();
            let op = match mode {
                StoreMode::Replace => FlagOp::Replace,
                StoreMode::Add => FlagOp::Add,
                StoreMode::Remove => FlagOp::Remove,
            };
            if let Err(e) = sel
                .folder
                .store_flags(&uids, op, parsed.flags, &parsed.keywords)
            {
                return s.store_error(tag, &e, out);
            }
            if parsed.keywords.iter().any(|k| !sel.view.knows_keyword(k)) {
                // Even with .SILENT: another message's FETCH may show it.
                s.announce_new_keywords(sel, uids.iter().copied(), out);
            }
            if !silent {
                for (seq, u) in &targets {
                    if let Some(m) = sel.folder.message(*u) {
                        write_flags(out, *seq, m, uid);
                        sel.view.flags_reported(*u);
                    }
                }
            }
            s.announce_changes(sel, uid, out);
            Reply::ok(out, tag, "STORE completed");
        });
    }
}
