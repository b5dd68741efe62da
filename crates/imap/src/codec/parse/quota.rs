//! QUOTA (RFC 2087 §4; RFC 9208 §4).

use super::{Error, Parser};
use crate::codec::types::Command;

/// GETQUOTA, GETQUOTAROOT and SETQUOTA.
pub(super) fn quota(p: &mut Parser<'_>, name: &str) -> Result<Command, Error> {
    p.sp()?;
    match name {
        "GETQUOTAROOT" => Ok(Command::GetQuotaRoot {
            mailbox: p.mailbox()?,
        }),
        "GETQUOTA" => Ok(Command::GetQuota {
            root: p.astring_utf8()?,
        }),
        _ => {
            // SETQUOTA SP quota-root SP "(" [setquota-resource *(SP
            // setquota-resource)] ")"
            let root = p.astring_utf8()?;
            p.sp()?;
            p.expect(b'(')?;
            let mut limits = Vec::new();
            if !p.eat(b')') {
                loop {
                    let res = p.atom()?.to_ascii_uppercase();
                    p.sp()?;
                    limits.push((res, p.number64()?));
                    if limits.len() > 16 {
                        return Err(Error::syntax("too many quota resources"));
                    }
                    if p.eat(b')') {
                        break;
                    }
                    p.sp()?;
                }
            }
            Ok(Command::SetQuota { root, limits })
        }
    }
}
