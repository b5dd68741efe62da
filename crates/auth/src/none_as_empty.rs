//! Serde for `Option<String>` settings whose default is `Some` (SQL's
//! `crypt_pwfield`, LDAP's `uid`, `gid`, `cryptpw`): TOML has no null, so
//! without this a config could not say "no such column/attribute", and a
//! printed config (`check-config`, a converted Courier rc file) that had
//! none would read back as the default. `""` means none both ways.

use serde::{Deserialize, Deserializer, Serializer};

/// Writes none as `""`.
pub fn serialize<S: Serializer>(value: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(value.as_deref().unwrap_or(""))
}

/// Reads `""` as none.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|v| !v.is_empty()))
}
