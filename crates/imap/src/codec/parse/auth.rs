//! LOGIN (RFC 3501 §6.2.3) and AUTHENTICATE with SASL-IR (RFC 3501 §6.2.2,
//! RFC 4959 §3).

use base64::Engine as _;

use super::{Error, Parser};
use crate::codec::types::Command;

/// `LOGIN SP userid SP password`.
pub(super) fn login(p: &mut Parser<'_>) -> Result<Command, Error> {
    p.sp()?;
    let username = p.astring()?;
    p.sp()?;
    let password = p.astring()?;
    Ok(Command::Login { username, password })
}

/// `AUTHENTICATE SP auth-type [SP (base64 / "=")]`.
pub(super) fn authenticate(p: &mut Parser<'_>) -> Result<Command, Error> {
    p.sp()?;
    let mechanism = p.atom()?.to_ascii_uppercase();
    let initial_response = if p.eat(b' ') {
        if p.eat(b'=') {
            Some(Vec::new())
        } else {
            let start = p.pos;
            while p
                .peek()
                .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
            {
                p.pos += 1;
            }
            let data = &p.buf[start..p.pos];
            if data.is_empty() {
                return Err(p.err("expected base64 initial response"));
            }
            Some(decode_base64(data).ok_or(Error::InvalidBase64)?)
        }
    } else {
        None
    };
    Ok(Command::Authenticate {
        mechanism,
        initial_response,
    })
}

/// RFC 3501 §9 `base64` (padded, RFC 4648 §4). An empty line is an empty
/// response.
pub(crate) fn decode_base64(data: &[u8]) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(data).ok()
}
