//! `[auth]` and the `[[auth.backend]]` tables from `authdaemonrc`, its
//! `authmodulelist` and the modules' rc files.

use std::ops::ControlFlow;

use courser_auth::courier_rc::{ldap_config, sql_config, IdFiles, RcFile};
use courser_auth::{Backend, UserdbBackend};

use super::*;

impl Importer {
    pub(super) fn auth(&mut self) -> Result<(), Error> {
        if let Some(d) = self
            .take_global("DEFDOMAIN")
            .filter(|d| !d.value.is_empty())
        {
            match d.value.strip_prefix('@').filter(|rest| !rest.is_empty()) {
                Some(domain) => set(&mut self.out.auth, "default_domain", domain, &d.cite()),
                None => {
                    let w = format!(
                        "{}: Courser appends \"@domain\" only; set [auth] default_domain by hand",
                        d.cite()
                    );
                    self.out.auth.push(format!("# {w}"));
                    self.warn(w);
                }
            }
        }
        if let Some(o) = self
            .take(&AUTH, "DEFAULTOPTIONS")
            .filter(|o| !o.value.is_empty())
        {
            set(
                &mut self.out.auth,
                "default_options",
                o.value.clone(),
                &o.cite(),
            );
        }
        let Some(list) = self.module_list()? else {
            return Err(config_error(
                &self.dir.join("authdaemonrc"),
                "missing, or without authmodulelist: no account source to import".into(),
            ));
        };
        let mut served = 0;
        for module in list.value.split_whitespace() {
            match self.backend(module) {
                Ok(lines) => {
                    served += 1;
                    self.out.backends.push(format!(
                        "# {}: module {module} (tried in this order)",
                        list.cite()
                    ));
                    self.out.backends.push("[[auth.backend]]".into());
                    self.out.backends.extend(lines);
                    self.out.backends.push(String::new());
                }
                Err(why) => {
                    let w = format!("authmodulelist: {module}: {why}");
                    self.out.backends.push(format!("# {w}"));
                    self.out.backends.push(String::new());
                    self.warn(w);
                }
            }
        }
        if served == 0 {
            return Err(config_error(
                &self.dir.join("authdaemonrc"),
                format!(
                    "{}: no module Courser can serve, so no account source",
                    list.cite()
                ),
            ));
        }
        if served > 1 {
            set(
                &mut self.out.auth,
                "courier_fallthrough",
                true,
                "authdaemond tries the next module after a wrong password; so does Courser with this",
            );
        }
        Ok(())
    }

    /// `authmodulelist` as authdaemond reads it: its own line reader, not
    /// the shell (the last line counts, `#` starts a comment anywhere, a
    /// value in `"` ends at the next `"`).
    fn module_list(&mut self) -> Result<Option<Setting>, Error> {
        const NAME: &str = "authmodulelist";
        self.used.insert(("authdaemonrc", NAME.into()));
        let path = self.dir.join("authdaemonrc");
        let text = match std::fs::read(&path) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(config_error(&path, format!("cannot read: {e}"))),
        };
        let mut found = None;
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("");
            let Some((name, value)) = line.split_once('=') else {
                continue;
            };
            if name != NAME {
                continue;
            }
            let value = value.trim_start();
            let value = match value.strip_prefix('"') {
                Some(v) => v.split('"').next().unwrap_or(""),
                None => value,
            };
            found = Some(Setting {
                file: "authdaemonrc",
                line: i + 1,
                name: NAME.into(),
                value: value.to_owned(),
                same_in: None,
            });
        }
        Ok(found)
    }

    /// One `[[auth.backend]]` table's lines for an authlib module, or why
    /// there is none.
    fn backend(&mut self, module: &str) -> Result<Vec<String>, String> {
        let mut lines = Vec::new();
        match module {
            "authuserdb" => {
                let path = self.dir.join("userdb");
                lines.push("type = \"userdb\"".into());
                let mut why = "Courier's userdb source (file or directory)".to_owned();
                if !path.exists() {
                    let compiled = self.dir.join("userdb.dat");
                    let w = if compiled.exists() {
                        format!(
                            "{} does not exist: Courser reads the userdb source, not Courier's \
                             compiled {}; put the source back (or `courser userdb` it) before \
                             serving",
                            path.display(),
                            compiled.display()
                        )
                    } else {
                        format!(
                            "{} does not exist yet: until it does, this backend knows no account",
                            path.display()
                        )
                    };
                    why = format!("WARNING: {w}");
                    self.warn(w);
                }
                set(&mut lines, "path", path.display().to_string(), &why);
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&path).map_or(0, |m| m.permissions().mode());
                if mode & 0o077 != 0 {
                    let w = format!(
                        "{} is readable by group or others: Courser refuses such a userdb, \
                         as makeuserdb does (chmod 600, or 700 for a directory)",
                        path.display()
                    );
                    lines.push(format!("# WARNING: {w}"));
                    self.warn(w);
                }
                // Listing the accounts is enough to know their uids.
                let mut lowest = self.lowest_uid;
                let backend = UserdbBackend::new(&path).allow_public_permissions();
                let listed = backend.enumerate(&mut |a| {
                    lowest = Some(lowest.map_or(a.uid, |l| l.min(a.uid)));
                    ControlFlow::Continue(())
                });
                if listed.is_ok() {
                    self.lowest_uid = lowest;
                }
            }
            "authpam" => {
                lines.push(
                    "# PAM service: the protocol's name (imap, pop3), as Courier does".into(),
                );
                lines.push("type = \"pam\"".into());
            }
            "authshadow" => {
                lines.push("# /etc/passwd with the passwords in /etc/shadow".into());
                lines.push("type = \"passwd\"".into());
            }
            "authpwd" => {
                lines.push("type = \"passwd\"".into());
                set(
                    &mut lines,
                    "shadow",
                    "",
                    "authpwd: the passwords are in /etc/passwd itself",
                );
            }
            "authpgsql" | "authmysql" | "authsqlite" | "authldap" => {
                let rc_name = format!("{module}rc");
                let path = self.dir.join(&rc_name);
                let rc = RcFile::load(&path).map_err(|e| e.to_string())?;
                let converted = if module == "authldap" {
                    ldap_config(&rc, &IdFiles::default()).map(|i| i.warnings)
                } else {
                    sql_config(&rc).map(|i| i.warnings)
                };
                let notes = converted.map_err(|e| format!("{}: {e}", path.display()))?;
                lines.push(format!(
                    "type = \"{}\"",
                    if module == "authldap" { "ldap" } else { "sql" }
                ));
                let mut why = format!(
                    "the settings are read from {rc_name} whenever the config is loaded\n\
                     (its passwords stay there); keys set here override the file's"
                );
                for n in &notes {
                    why.push_str(&format!("\n{rc_name}: {n}"));
                }
                set(
                    &mut lines,
                    crate::courier_rc::KEY,
                    path.display().to_string(),
                    &why,
                );
            }
            "authpipe" => {
                let program = self.dir.join("authlib/authProg");
                lines.push("type = \"authpipe\"".into());
                set(
                    &mut lines,
                    "program",
                    program.display().to_string(),
                    "authpipe's program at Courier's default place: check it",
                );
                self.warn(format!(
                    "authpipe: the program is assumed at {}; check it",
                    program.display()
                ));
            }
            "authcustom" => {
                return Err("not supported: site-written C code inside authdaemond; \
                            an authpipe program can do the same"
                    .into())
            }
            "authvchkpw" => {
                return Err(
                    "not supported: vpopmail (Courier dropped it too in 0.60.4); \
                            convert with vchkpw2userdb"
                        .into(),
                )
            }
            other => return Err(format!("unknown module {other:?}, ignored")),
        }
        Ok(lines)
    }
}
