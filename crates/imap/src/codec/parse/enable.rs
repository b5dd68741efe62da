//! ENABLE (RFC 5161 §3.1).

use super::{Error, Parser};
use crate::codec::types::Command;

/// `ENABLE 1*(SP capability)`; names upper-cased.
pub(super) fn enable(p: &mut Parser<'_>) -> Result<Command, Error> {
    let mut capabilities = Vec::new();
    while p.eat(b' ') {
        capabilities.push(p.atom()?.to_ascii_uppercase());
        if capabilities.len() > 64 {
            return Err(Error::syntax("too many capabilities"));
        }
    }
    if capabilities.is_empty() {
        return Err(p.err("expected capability"));
    }
    Ok(Command::Enable { capabilities })
}
