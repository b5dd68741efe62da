//! PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd`.

use super::{Credentials, SaslError};

/// Parses a PLAIN message. Exactly two NULs; a non-empty UTF-8 authcid;
/// an authzid, when present, must equal the authcid (Courier ignores the
/// authzid; we refuse a different one rather than silently log in as
/// someone the client did not ask for).
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
    let authzid = match authzid {
        "" => None,
        z if z == login => Some(z.to_owned()),
        _ => return Err(SaslError::AuthzidNotPermitted),
    };
    Ok(Credentials::Password {
        authzid,
        login: login.to_owned(),
        password: password.to_vec(),
    })
}
