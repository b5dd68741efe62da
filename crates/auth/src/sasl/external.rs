//! EXTERNAL (RFC 4422 appendix A): the client's only data is an optional
//! authorisation identity; who it is comes from the TLS layer.

use super::{Credentials, SaslError};

/// Accepts an empty authorisation identity or one equal to the
/// certificate's; anything else would be acting as another account.
pub(super) fn check(identity: Option<String>, authzid: &[u8]) -> Result<Credentials, SaslError> {
    let login = identity.ok_or(SaslError::NoExternalIdentity)?;
    if !authzid.is_empty() && authzid != login.as_bytes() {
        return Err(SaslError::AuthzidNotPermitted);
    }
    Ok(Credentials::External { login })
}
