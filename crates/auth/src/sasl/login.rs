//! LOGIN (draft-murchison-sasl-login): the server prompts `Username:`
//! then `Password:` (Courier's prompts); an initial response carries the
//! user name.

use super::SaslError;

/// First prompt.
pub(super) const USERNAME_PROMPT: &[u8] = b"Username:";
/// Second prompt.
pub(super) const PASSWORD_PROMPT: &[u8] = b"Password:";

/// Validates the user name answer.
pub(super) fn user(data: &[u8]) -> Result<String, SaslError> {
    let user =
        std::str::from_utf8(data).map_err(|_| SaslError::Malformed("user name is not UTF-8"))?;
    if user.is_empty() || user.contains('\0') {
        return Err(SaslError::Malformed("empty user name"));
    }
    Ok(user.to_owned())
}
