//! Mailbox commands: SELECT, EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE,
//! UNSUBSCRIBE, LIST, LSUB, STATUS (RFC 3501 §6.3).

use super::{Error, Parser};
use crate::codec::types::{Command, ListData, StatusItem};

/// Commands whose only argument is a mailbox.
pub(super) fn single(p: &mut Parser<'_>, name: &str) -> Result<Command, Error> {
    p.sp()?;
    let mailbox = p.mailbox()?;
    Ok(match name {
        "SELECT" => Command::Select { mailbox },
        "EXAMINE" => Command::Examine { mailbox },
        "CREATE" => Command::Create { mailbox },
        "DELETE" => Command::Delete { mailbox },
        "SUBSCRIBE" => Command::Subscribe { mailbox },
        _ => Command::Unsubscribe { mailbox },
    })
}

/// `RENAME SP mailbox SP mailbox` (§6.3.5).
pub(super) fn rename(p: &mut Parser<'_>) -> Result<Command, Error> {
    p.sp()?;
    let from = p.mailbox()?;
    p.sp()?;
    let to = p.mailbox()?;
    Ok(Command::Rename { from, to })
}

/// `LIST/LSUB SP mailbox SP list-mailbox` (§6.3.8, §6.3.9). The reference
/// is a mailbox astring but is not INBOX-normalized. LIST may name, in
/// parentheses before the reference, what Courier's extension shows with
/// each folder (`LIST (ACL MYRIGHTS) "" *`, also written `LIST(ACL)`).
pub(super) fn list(p: &mut Parser<'_>, lsub: bool) -> Result<Command, Error> {
    let mut data = ListData::default();
    if !lsub && (p.peek() == Some(b'(') || p.peek_at(1) == Some(b'(') && p.peek() == Some(b' ')) {
        p.eat(b' ');
        p.expect(b'(')?;
        loop {
            match p.atom()?.to_ascii_uppercase().as_str() {
                "ACL" => data.acl = true,
                "MYRIGHTS" => data.myrights = true,
                "POSTADDRESS" => data.postaddress = true,
                _ => return Err(Error::syntax("unknown LIST option")),
            }
            if p.eat(b')') {
                break;
            }
            p.sp()?;
        }
    }
    p.sp()?;
    let reference = p.list_mailbox()?;
    p.sp()?;
    let pattern = p.list_mailbox()?;
    Ok(if lsub {
        Command::Lsub { reference, pattern }
    } else {
        Command::List {
            reference,
            pattern,
            data,
        }
    })
}

/// `STATUS SP mailbox SP "(" status-att *(SP status-att) ")"` (§6.3.10).
pub(super) fn status(p: &mut Parser<'_>) -> Result<Command, Error> {
    p.sp()?;
    let mailbox = p.mailbox()?;
    p.sp()?;
    p.expect(b'(')?;
    let mut items = Vec::new();
    // RFC 3501 §9 wants at least one item; an empty list is harmless and
    // some client libraries send it, so it is accepted.
    if p.eat(b')') {
        return Ok(Command::Status { mailbox, items });
    }
    loop {
        let item = match p.atom()?.to_ascii_uppercase().as_str() {
            "MESSAGES" => StatusItem::Messages,
            "RECENT" => StatusItem::Recent,
            "UIDNEXT" => StatusItem::UidNext,
            "UIDVALIDITY" => StatusItem::UidValidity,
            "UNSEEN" => StatusItem::Unseen,
            "SIZE" => StatusItem::Size,
            _ => return Err(Error::syntax("unknown STATUS item")),
        };
        if items.len() >= 16 {
            return Err(Error::syntax("too many STATUS items"));
        }
        items.push(item);
        if p.eat(b')') {
            break;
        }
        p.sp()?;
    }
    Ok(Command::Status { mailbox, items })
}
