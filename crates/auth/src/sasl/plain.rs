//! PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd`.

use super::{Credentials, SaslError};

/// Parses a PLAIN message. Exactly two NULs; a non-empty UTF-8 authcid;
/// an authzid, when present, is kept: one other than the authcid is
/// judged when the credentials are verified (only master users may log
/// in as another account; Courier ignores the authzid, and we refuse
/// rather than silently log in as someone the client did not ask for).
pub(super) fn parse(msg: &[u8]) -> Result<Credentials, SaslError> {
    let mut parts = msg.split(|&b| b == 0);
    let (Some(authzid), Some(authcid), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SaslError::Malformed(
            "PLAIN needs authzid NUL authcid NUL password",
        ));
    };
    let login = std::str::from_utf8(authcid)
        .map_err(|_| SaslError::Malformed("authentication identity is not UTF-8"))?;
    if login.is_empty() {
        return Err(SaslError::Malformed("empty authentication identity"));
    }
    let authzid = std::str::from_utf8(authzid)
        .map_err(|_| SaslError::Malformed("authorization identity is not UTF-8"))?;
    let authzid = (!authzid.is_empty()).then(|| authzid.to_owned());
    Ok(Credentials::Password {
        authzid,
        login: login.to_owned(),
        password: password.to_vec(),
    })
}
