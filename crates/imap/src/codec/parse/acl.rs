//! ACL (RFC 4314 §3), and Courier's own ACL command.

use super::{Error, Parser};
use crate::codec::types::{AclTarget, Command, CourierAclChange};

/// Folders one Courier ACL command may name by pattern.
const MAX_PATTERNS: usize = 64;
/// Entries one `ACL SET` may give.
const MAX_SET_ENTRIES: usize = 256;

/// Courier's `ACL STORE|SET|DELETE (mailbox | "(" pattern *(SP pattern)
/// ")") ...`.
pub(super) fn courier_acl(p: &mut Parser<'_>) -> Result<Command, Error> {
    p.sp()?;
    let verb = p.atom()?.to_ascii_uppercase();
    p.sp()?;
    let target = if p.eat(b'(') {
        let mut patterns = Vec::new();
        while !p.eat(b')') {
            if !patterns.is_empty() {
                p.sp()?;
            }
            if patterns.len() >= MAX_PATTERNS {
                return Err(Error::syntax("too many patterns"));
            }
            patterns.push(p.list_mailbox()?);
        }
        AclTarget::Patterns(patterns)
    } else {
        AclTarget::Mailbox(p.mailbox()?)
    };
    let change = match verb.as_str() {
        "STORE" => {
            p.sp()?;
            let identifier = p.astring_utf8()?;
            p.sp()?;
            CourierAclChange::Store {
                identifier,
                rights: p.astring_utf8()?,
            }
        }
        "DELETE" => {
            p.sp()?;
            CourierAclChange::Delete {
                identifier: p.astring_utf8()?,
            }
        }
        "SET" => {
            let mut entries = Vec::new();
            while p.eat(b' ') {
                if entries.len() >= MAX_SET_ENTRIES {
                    return Err(Error::syntax("too many ACL entries"));
                }
                let identifier = p.astring_utf8()?;
                p.sp()?;
                entries.push((identifier, p.astring_utf8()?));
            }
            CourierAclChange::Set(entries)
        }
        _ => return Err(Error::syntax("ACL STORE, SET or DELETE expected")),
    };
    Ok(Command::CourierAcl { target, change })
}

/// GETACL, SETACL, DELETEACL, LISTRIGHTS and MYRIGHTS.
pub(super) fn acl(p: &mut Parser<'_>, name: &str) -> Result<Command, Error> {
    p.sp()?;
    let mailbox = p.mailbox()?;
    Ok(match name {
        "GETACL" => Command::GetAcl { mailbox },
        "MYRIGHTS" => Command::MyRights { mailbox },
        "SETACL" => {
            p.sp()?;
            let identifier = p.astring_utf8()?;
            p.sp()?;
            let rights = p.astring_utf8()?;
            Command::SetAcl {
                mailbox,
                identifier,
                rights,
            }
        }
        "DELETEACL" => {
            p.sp()?;
            Command::DeleteAcl {
                mailbox,
                identifier: p.astring_utf8()?,
            }
        }
        _ => {
            p.sp()?;
            Command::ListRights {
                mailbox,
                identifier: p.astring_utf8()?,
            }
        }
    })
}
