//! STORE and UID STORE (RFC 3501 §6.4.6, §6.4.8).

use super::fetch::write_flags;
use super::reply::Reply;
use super::{Selected, Session};
use crate::codec::respond::Code;
use crate::codec::{Flag, SequenceSet, StoreMode};
use crate::mailstore::{FlagOp, Flags, StoreResult};

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
            if let Err(e) = store_permitted(sel, &uids, op, &parsed) {
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

/// Changes only the flags the rights allow (RFC 4314 §4: the others are
/// left as they are, and STORE does not fail for them, as in Courier).
fn store_permitted(sel: &mut Selected, uids: &[u32], op: FlagOp, set: &FlagSet) -> StoreResult<()> {
    let may = crate::mailstore::settable(&sel.rights);
    let flags = Flags::from_bits(set.flags.bits() & may.flags.bits());
    let keywords: &[String] = if may.keywords { &set.keywords } else { &[] };
    if op != FlagOp::Replace || (may.flags == Flags::ALL && may.keywords) {
        return sel.folder.store_flags(uids, op, flags, keywords).map(drop);
    }
    if !may.keywords {
        // Keywords stay: replace the permitted flags by adding and removing.
        let unset = may.flags.difference(flags);
        sel.folder.store_flags(uids, FlagOp::Add, flags, &[])?;
        return sel
            .folder
            .store_flags(uids, FlagOp::Remove, unset, &[])
            .map(drop);
    }
    // Each message keeps the flags it may not change: one replace per
    // combination of those.
    let fixed = Flags::ALL.difference(may.flags);
    let mut groups: Vec<(Flags, Vec<u32>)> = Vec::new();
    for &uid in uids {
        let Some(m) = sel.folder.message(uid) else {
            continue;
        };
        let kept = Flags::from_bits(m.flags.bits() & fixed.bits());
        match groups.iter_mut().find(|(k, _)| *k == kept) {
            Some((_, g)) => g.push(uid),
            None => groups.push((kept, vec![uid])),
        }
    }
    for (kept, group) in groups {
        sel.folder
            .store_flags(&group, FlagOp::Replace, flags.union(kept), keywords)?;
    }
    Ok(())
}
