//! `courier_rc = "FILE"` in an `[[auth.backend]]` table of `type = "sql"`
//! or `type = "ldap"`: the backend's settings come from a Courier rc file
//! (authmysqlrc, authpgsqlrc, authsqliterc, authldaprc; converted by
//! `courser_auth::courier_rc`), and every other key the table sets
//! overrides the file's value for that key.
//!
//! This works on the parsed TOML, before it is deserialized: the file's
//! settings are serialized into a table, the operator's keys are laid
//! over it, and the result is deserialized like any other backend table.
//! So unknown keys are refused as usual, `check-config` prints the merged
//! values, and a SIGHUP, which loads the config file again, reads the rc
//! file again too.

use std::path::Path;

use courser_auth::courier_rc::{ldap_config, sql_config, IdFiles, RcFile};

/// The key naming the rc file.
pub const KEY: &str = "courier_rc";

/// Replaces each backend table's `courier_rc` (resolved against `base`,
/// the config file's folder) by the settings of the file it names.
/// `None` when no table has the key; otherwise the conversion's
/// warnings, each starting with its file's name.
pub fn expand(root: &mut toml::Table, base: &Path) -> Result<Option<Vec<String>>, String> {
    let Some(backends) = root
        .get_mut("auth")
        .and_then(|auth| auth.get_mut("backend"))
        .and_then(toml::Value::as_array_mut)
    else {
        return Ok(None);
    };
    let mut warnings = None;
    for (i, backend) in backends.iter_mut().enumerate() {
        let Some(table) = backend.as_table_mut() else {
            continue;
        };
        let Some(name) = table.remove(KEY) else {
            continue;
        };
        let at = format!("[[auth.backend]] #{}", i + 1);
        let name = name
            .as_str()
            .ok_or_else(|| format!("{at}: {KEY} must be a file name"))?;
        // An absolute name replaces `base`.
        let path = base.join(name);
        let rc = RcFile::load(&path).map_err(|e| format!("{at}: {e}"))?;
        let in_file = |e| format!("{at}: {}: {e}", path.display());
        let (settings, notes) = match table.get("type").and_then(toml::Value::as_str) {
            Some("sql") => {
                let imported = sql_config(&rc).map_err(in_file)?;
                (toml::Table::try_from(&imported.config), imported.warnings)
            }
            Some("ldap") => {
                let imported = ldap_config(&rc, &IdFiles::default()).map_err(in_file)?;
                (toml::Table::try_from(&imported.config), imported.warnings)
            }
            other => {
                return Err(format!(
                    "{at}: {KEY} needs type \"sql\" or \"ldap\", not {}",
                    other.map_or("none".into(), |t| format!("{t:?}"))
                ))
            }
        };
        let mut merged = settings.map_err(|e| format!("{at}: {e}"))?;
        merged.extend(std::mem::take(table));
        *table = merged;
        warnings.get_or_insert_with(Vec::new).extend(
            notes
                .into_iter()
                .map(|w| format!("{}: {w}", path.display())),
        );
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_text(text: &str, base: &Path) -> Result<(toml::Table, Option<Vec<String>>), String> {
        let mut table: toml::Table = toml::from_str(text).unwrap();
        let warnings = expand(&mut table, base)?;
        Ok((table, warnings))
    }

    #[test]
    fn without_the_key_nothing_changes() {
        let text = "[auth]\nuserdb = \"u\"\n[[auth.backend]]\ntype = \"sql\"\nurl = \"x\"\n";
        let (table, warnings) = expand_text(text, Path::new("/")).unwrap();
        assert_eq!(warnings, None);
        assert_eq!(table, toml::from_str::<toml::Table>(text).unwrap());
        assert_eq!(expand_text("[limits]\n", Path::new("/")).unwrap().1, None);
    }

    #[test]
    fn file_values_with_table_overrides() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("authsqliterc"),
            "##NAME: LOCATION:0\nSQLITE_DATABASE /var/users.db\nSQLITE_USER_TABLE users\n\
             SQLITE_CLEAR_PWFIELD clear\nSQLITE_CHPASS_CLAUSE UPDATE x\n",
        )
        .unwrap();
        let (table, warnings) = expand_text(
            "[[auth.backend]]\ntype = \"sql\"\ncourier_rc = \"authsqliterc\"\n\
             user_table = \"accounts\"\ntimeout_secs = 9\n",
            dir.path(),
        )
        .unwrap();
        let warnings = warnings.unwrap();
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with(&format!(
                "{}: SQLITE_CHPASS_CLAUSE",
                dir.path().join("authsqliterc").display()
            )),
            "{warnings:?}"
        );
        let b = &table["auth"]["backend"][0];
        assert_eq!(b.get(KEY), None);
        assert_eq!(b["type"].as_str(), Some("sql"));
        assert_eq!(b["url"].as_str(), Some("sqlite:///var/users.db"));
        assert_eq!(b["user_table"].as_str(), Some("accounts"));
        assert_eq!(b["clear_pwfield"].as_str(), Some("clear"));
        // No crypt column, written so that it reads back as none.
        assert_eq!(b["crypt_pwfield"].as_str(), Some(""));
        assert_eq!(b["timeout_secs"].as_integer(), Some(9));
    }

    #[test]
    fn errors_name_the_backend_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let rc = dir.path().join("authldaprc");
        std::fs::write(&rc, "LDAP_URI ldap://h\nLDAP_PROTOCOL_VERSION 2\n").unwrap();
        let ldap = "[[auth.backend]]\ntype = \"userdb\"\npath = \"u\"\n\
                    [[auth.backend]]\ntype = \"ldap\"\ncourier_rc = \"authldaprc\"\n";
        let e = expand_text(ldap, dir.path()).unwrap_err();
        assert_eq!(
            e,
            format!(
                "[[auth.backend]] #2: {}: LDAP_BASEDN: missing (Courier requires it)",
                rc.display()
            )
        );
        let e = expand_text(&ldap.replace("authldaprc", "nope"), dir.path()).unwrap_err();
        assert!(
            e.starts_with("[[auth.backend]] #2: ") && e.contains("nope"),
            "{e}"
        );
        let e = expand_text(&ldap.replace("\"ldap\"", "\"pam\""), dir.path()).unwrap_err();
        assert!(
            e.contains("needs type \"sql\" or \"ldap\", not \"pam\""),
            "{e}"
        );
        let e = expand_text(&ldap.replace("\"authldaprc\"", "3"), dir.path()).unwrap_err();
        assert!(e.contains("must be a file name"), "{e}");
    }
}
