//! CRAM-MD5 (RFC 2195) and Courier's CRAM-SHA1 / CRAM-SHA256: the server
//! sends `<random@hostname>`, the client answers `user SP hexdigest`.

use crate::backend::CramResponse;
use crate::cram::CramHash;
use crate::hex;

use super::SaslError;

/// Builds a challenge like Courier's: `<` 32 upper-case hex digits of 128
/// random bits `@` host name `>` (Courier's `random128()`).
pub(super) fn challenge(hostname: &str) -> Result<Vec<u8>, SaslError> {
    let mut r = [0u8; 16];
    getrandom::fill(&mut r).map_err(|e| SaslError::Internal(e.to_string()))?;
    let host: String = hostname
        .chars()
        .filter(|c| c.is_ascii_graphic() && *c != '>' && *c != '<')
        .collect();
    let host = if host.is_empty() { "cram".into() } else { host };
    Ok(format!("<{}@{}>", hex::encode(&r).to_ascii_uppercase(), host).into_bytes())
}

/// Parses `user SP hexdigest`. The user is everything before the *last*
/// space (as Courier scans it), so user names with spaces work.
pub(super) fn parse(
    hash: CramHash,
    challenge: Vec<u8>,
    data: &[u8],
) -> Result<CramResponse, SaslError> {
    let text =
        std::str::from_utf8(data).map_err(|_| SaslError::Malformed("response is not UTF-8"))?;
    let (login, digest) = text
        .rsplit_once(' ')
        .ok_or(SaslError::Malformed("CRAM response needs user SP digest"))?;
    if login.is_empty() {
        return Err(SaslError::Malformed("empty user name"));
    }
    if digest.len() != 2 * hash.output_len() || hex::decode(digest.as_bytes()).is_none() {
        return Err(SaslError::Malformed("bad CRAM digest"));
    }
    Ok(CramResponse {
        hash,
        challenge,
        login: login.to_owned(),
        digest_hex: digest.to_owned(),
    })
}
