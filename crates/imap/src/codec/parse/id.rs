//! ID (RFC 2971 §3.1).

use super::{Error, Parser};
use crate::codec::types::Command;

/// `ID SP ("(" string SP nstring *(SP string SP nstring) ")" / nil)`.
/// RFC 2971 §3.3 caps the list at 30 pairs, field names at 30 octets and
/// values at 1024 octets. Rather than refuse a client that overdoes it (ID is
/// informational), pairs beyond those limits are dropped.
pub(super) fn id(p: &mut Parser<'_>) -> Result<Command, Error> {
    p.sp()?;
    if p.eat_ci("NIL") {
        return Ok(Command::Id { parameters: None });
    }
    p.expect(b'(')?;
    let mut params = Vec::new();
    if !p.eat(b')') {
        loop {
            let key = p.string()?;
            p.sp()?;
            let value = p.nstring()?;
            let fits = key.len() <= 30 && value.as_ref().is_none_or(|v| v.len() <= 1024);
            if fits && params.len() < 30 {
                params.push((
                    String::from_utf8_lossy(&key).into_owned(),
                    value.map(|v| String::from_utf8_lossy(&v).into_owned()),
                ));
            }
            if p.eat(b')') {
                break;
            }
            p.sp()?;
        }
    }
    Ok(Command::Id {
        parameters: Some(params),
    })
}
