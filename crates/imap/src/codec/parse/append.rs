//! APPEND (RFC 3501 §6.3.11), with the RFC 6855 §4 `UTF8 (literal8)` form.

use super::{Error, Parser};
use crate::codec::types::{Command, LiteralKind};

/// `APPEND SP mailbox [SP flag-list] [SP date-time] SP (literal / literal8 /
/// "UTF8" SP "(" literal8 ")")`.
pub(super) fn append(p: &mut Parser<'_>) -> Result<Command, Error> {
    p.sp()?;
    let mailbox = p.mailbox()?;
    p.sp()?;
    let mut flags = Vec::new();
    if p.peek() == Some(b'(') {
        flags = p.flag_list()?;
        p.sp()?;
    }
    let mut date = None;
    if p.peek() == Some(b'"') {
        date = Some(p.date_time()?);
        p.sp()?;
    }
    let (message, kind) = if p.eat_ci("UTF8") {
        p.sp()?;
        p.expect(b'(')?;
        let message = message(p, true)?;
        p.expect(b')')?;
        (message, LiteralKind::Utf8)
    } else {
        match p.peek() {
            Some(b'{') => (message(p, false)?, LiteralKind::Plain),
            Some(b'~') => (message(p, true)?, LiteralKind::Binary),
            _ => return Err(p.err("expected message literal")),
        }
    };
    Ok(Command::Append {
        mailbox,
        flags,
        date,
        message,
        kind,
    })
}

/// The message literal: copied, or (for the owned parse) only located.
fn message(p: &mut Parser<'_>, literal8: bool) -> Result<Vec<u8>, Error> {
    let (data, _) = p.literal_any(literal8)?;
    if p.defer_message {
        p.message_range = Some((p.pos - data.len(), p.pos));
        Ok(Vec::new())
    } else {
        Ok(data.to_vec())
    }
}
