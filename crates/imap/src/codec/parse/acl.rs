//! ACL (RFC 4314 §3).

use super::{Error, Parser};
use crate::codec::types::Command;

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
