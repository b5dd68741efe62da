//! STORE (RFC 3501 §6.4.6), COPY (§6.4.7) and MOVE (RFC 6851 §3).

use super::{Error, Parser};
use crate::codec::types::{Command, Flag, StoreMode};

/// `[UID] STORE SP sequence-set SP store-att-flags` where
/// `store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list /
/// (flag *(SP flag)))`.
pub(super) fn store(p: &mut Parser<'_>, uid: bool) -> Result<Command, Error> {
    p.sp()?;
    let set = p.sequence_set()?;
    p.sp()?;
    let mode = if p.eat(b'+') {
        StoreMode::Add
    } else if p.eat(b'-') {
        StoreMode::Remove
    } else {
        StoreMode::Replace
    };
    if !p.eat_ci("FLAGS") {
        return Err(p.err("expected FLAGS"));
    }
    let silent = p.eat_ci(".SILENT");
    p.sp()?;
    let flags = if p.peek() == Some(b'(') {
        p.flag_list()?
    } else {
        let mut flags: Vec<Flag> = vec![p.flag()?];
        while p.eat(b' ') {
            flags.push(p.flag()?);
            if flags.len() > p.limits().max_sequence_ranges {
                return Err(Error::syntax("too many flags"));
            }
        }
        flags
    };
    Ok(Command::Store {
        uid,
        set,
        mode,
        silent,
        flags,
    })
}

/// `[UID] COPY|MOVE SP sequence-set SP mailbox`.
pub(super) fn copy_move(p: &mut Parser<'_>, uid: bool, is_move: bool) -> Result<Command, Error> {
    p.sp()?;
    let set = p.sequence_set()?;
    p.sp()?;
    let mailbox = p.mailbox()?;
    Ok(if is_move {
        Command::Move { uid, set, mailbox }
    } else {
        Command::Copy { uid, set, mailbox }
    })
}
