//! The mapping, as a table of Courier files → TOML fragments. Every case
//! also checks that each assignment of the input is cited in the output
//! and that the output loads as a configuration.

use std::path::Path;

use super::*;
use crate::config::Config;

const IMAPD: &str = "##NAME: ADDRESS:0\nADDRESS=0\nPORT=143\nIMAPDSTART=YES\n";
const AUTHDAEMONRC: &str = "authmodulelist=\"authuserdb\"\ndaemons=5\n";

/// A Courier directory: the base `imapd`, `authdaemonrc` and an empty
/// userdb, then `files` (appended to a base file, or new).
fn courier_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("imapd"), IMAPD).unwrap();
    std::fs::write(dir.path().join("authdaemonrc"), AUTHDAEMONRC).unwrap();
    std::fs::write(dir.path().join("userdb"), "").unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        let mut old = std::fs::read_to_string(&path).unwrap_or_default();
        if *name == "authdaemonrc" {
            // The test's module list replaces the base one.
            old.clear();
        }
        std::fs::write(&path, old + text).unwrap();
    }
    dir
}

/// Imports `dir` and checks what every import must hold.
fn import_checked(dir: &Path) -> Imported {
    let imported = import(dir).unwrap();
    let toml = &imported.toml;
    for file in IMAP.iter().chain(&POP3).chain(&AUTH) {
        let Ok(text) = std::fs::read_to_string(dir.join(file)) else {
            continue;
        };
        let parsed = shell::parse(&text, &mut HashMap::new());
        for a in parsed.assignments {
            assert!(
                toml.contains(&format!("{file}:{} {}=", a.line, a.name)),
                "{file}:{} {} is not in the output:\n{toml}",
                a.line,
                a.name
            );
        }
    }
    let out = dir.join("courser.toml");
    std::fs::write(&out, toml).unwrap();
    if let Err(e) = Config::load_with_warnings(&out) {
        panic!("{e}:\n{toml}");
    }
    imported
}

/// Files to add, and fragments the output must hold.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);

#[test]
fn mapping_table() {
    let pem = {
        let c = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        c.cert.pem() + &c.signing_key.serialize_pem()
    };
    let sqliterc = "##NAME: MARKER:0\nSQLITE_DATABASE /var/users.db\n\
                    SQLITE_USER_TABLE users\nSQLITE_CLEAR_PWFIELD clear\n";
    let cases: &[Case] = &[
        (
            &[],
            &[
                "protocol = \"imap\"\naddress = \"[::]:143\"",
                "empty_trash = \"\"",
                "process_model = \"per-user\"",
            ],
        ),
        (
            &[(
                "userdb",
                "vmail\tuid=110|gid=110|home=/var/mail/v\nroot\tuid=0|gid=0|home=/root\n",
            )],
            &[
                "first_valid_uid = 1",
                "accounts with uid 0",
                "readable by group or others",
            ],
        ),
        (
            &[("imapd", "PORT=\"143,127.0.0.1.1143\"\n")],
            &["address = \"[::]:143\"", "address = \"127.0.0.1:1143\""],
        ),
        (
            &[("imapd", "LOGGEROPTS=\"-name=imapd\"\n")],
            &["LOGGEROPTS=\"-name=imapd\"\nformat = \"courier\""],
        ),
        (
            &[("imapd", "ADDRESS=192.0.2.1\n")],
            &["address = \"192.0.2.1:143\""],
        ),
        (
            &[("imapd", "ADDRESS=::1\nPORT=1143\n")],
            &["address = \"[::1]:1143\""],
        ),
        (
            &[("imapd", "IMAP_DISABLETHREADSORT=1\n")],
            &["sort_thread = false"],
        ),
        (
            &[("imapd", "IMAP_CAPABILITY=\"IMAP4rev1 IDLE\"\n")],
            &[
                "sort_thread = false",
                "asked for: IMAP4rev1 IDLE; offered anyway, Courser cannot turn them off: \
                 UIDPLUS CHILDREN NAMESPACE QUOTA",
            ],
        ),
        (
            &[(
                "imapd",
                "IMAP_CAPABILITY=\"IMAP4rev1 SORT\"\nIMAP_DISABLETHREADSORT=0\n",
            )],
            &["sort_thread = true"],
        ),
        (
            &[
                ("imapd", "IMAPACCESSFILE=imapaccess\n"),
                ("imapaccess", "# nothing\n\n"),
            ],
            &["imapaccess = "],
        ),
        (
            &[
                ("imapd", "IMAPACCESSFILE=imapaccess\n"),
                ("imapaccess", "192.0.2\tdeny\n*\tallow,DEFDOMAIN=@x\n"),
            ],
            &[
                "imapaccess = ",
                "(ignored, as by Courier or Courser: DEFDOMAIN is set",
            ],
        ),
        (
            &[
                ("imapd", "IMAPACCESSFILE=imapaccess\n"),
                ("imapaccess", "1.2.3\tdeny\n1.2.3\tallow\n"),
            ],
            &[
                "IMAPACCESSFILE=\"imapaccess\": NOT CONVERTED:",
                "line 2: a second entry",
            ],
        ),
        (&[("imapd", "IMAP_KEYWORDS=0\n")], &["keywords = false"]),
        (&[("imapd", "IMAP_KEYWORDS=2\n")], &["keywords = true"]),
        (&[("imapd", "IMAP_ACL=0\n")], &["acl = false"]),
        (
            &[(
                "imapd",
                "IMAP_TRASHFOLDERNAME='Deleted Items'\nIMAP_EMPTYTRASH=\"Deleted Items:30\"\n",
            )],
            &[
                "trash = \"Deleted Items\"",
                "empty_trash = \"Deleted Items:30\"",
            ],
        ),
        (
            &[("imapd", "MAXDAEMONS=10\nMAXPERIP=3\n")],
            &["max_connections = 10", "max_connections_per_ip = 3"],
        ),
        (
            &[("imapd", "DEFDOMAIN=\"@example.com\"\n")],
            &["default_domain = \"example.com\""],
        ),
        (
            &[("imapd", "DEFDOMAIN=%example.com\n")],
            &["Courser appends \"@domain\" only"],
        ),
        (
            &[("imapd", "IMAP_TLS_REQUIRED=1\n")],
            &["[imap]\n", "require_tls_for_login = true"],
        ),
        (
            &[("imapd", "IMAP_TLS_REQUIRED=0\n")],
            &["require_tls_for_login = false"],
        ),
        (
            &[(
                "imapd",
                "OUTBOX=.Outbox\nSENDMAIL=/usr/sbin/sendmail\nOUTBOX_MULTIPLE_SEND=1\n",
            )],
            &[
                "outbox = \".Outbox\"",
                "sendmail = \"/usr/sbin/sendmail -oi -t\"",
                "outbox_multiple_send = true",
            ],
        ),
        (
            &[("imapd", "OUTBOX=.Outbox\nSENDMAIL='sendmail -f $USER'\n")],
            &[
                "the Outbox settings do not work in Courser",
                "#   outbox = \".Outbox\"",
            ],
        ),
        (
            &[("imapd", "IMAP_MOVE_EXPUNGE_TO_TRASH=1\n")],
            &["move_expunge_to_trash = true"],
        ),
        (
            &[("imapd", "IMAP_IDLE_TIMEOUT=30\n")],
            &["idle_poll_secs = 30"],
        ),
        (
            &[("imapd", "MAILDIRPATH=.maildir\n")],
            &["default_path = \".maildir\""],
        ),
        (
            &[("imapd", "SENDMAIL=${sbindir}/sendmail\n")],
            &["sendmail = \"/usr/sbin/sendmail -oi -t\""],
        ),
        (
            &[("imapd", "HOSTNAME=mail.example.org\n")],
            &["[server]\n", "hostname = \"mail.example.org\""],
        ),
        (
            &[(
                "imapd",
                "IMAP_SHAREDINDEXFILE=/etc/courier/shared/index\nIMAP_SHAREDMUNGENAMES=1\n",
            )],
            &[
                "shared_index = \"/etc/courier/shared/index\"",
                "shared_munge_names = true",
            ],
        ),
        (&[("imapd", "SMAP_CAPABILITY=SMAP1\n")], &["smap = true"]),
        (
            &[("imapd", "garbage here\nPIDFILE=/run/x.pid\nFOO=bar\n")],
            &[
                "`garbage here` is not a NAME=value assignment",
                "PIDFILE=\"/run/x.pid\": not needed",
                "FOO=\"bar\": not a setting Courser knows",
            ],
        ),
        (
            &[
                ("imapd", "IMAPDSTART=NO\n"),
                ("pop3d", "PORT=110\nMAXDAEMONS=7\n"),
            ],
            &["not started", "protocol = \"pop3\"", "max_connections = 7"],
        ),
        (
            &[(
                "imapd-ssl",
                "SSLPORT=993\nIMAPDSSLSTART=YES\nTLS_CERTFILE=/nonexistent.pem\n",
            )],
            &[
                "# [tls] is left out",
                "imaps is not served",
                "no STARTTLS: there is no [tls]",
            ],
        ),
        (
            &[(
                "authdaemonrc",
                "authmodulelist=\"authuserdb authpam\" # both\n",
            )],
            &[
                "type = \"userdb\"",
                "type = \"pam\"",
                "courier_fallthrough = true",
            ],
        ),
        (
            &[(
                "authdaemonrc",
                "authmodulelist=\"authcustom authuserdb authnew\"\n",
            )],
            &["authcustom: not supported", "unknown module \"authnew\""],
        ),
        (
            &[
                (
                    "authdaemonrc",
                    "authmodulelist=\"authsqlite authldap authuserdb\"\n",
                ),
                ("authsqliterc", sqliterc),
                ("authldaprc", "LDAP_URI ldap://h\n"),
            ],
            &[
                "type = \"sql\"\n",
                "authsqliterc\"",
                "authmodulelist: authldap: ",
                "LDAP_BASEDN",
            ],
        ),
        (
            &[(
                "authdaemonrc",
                "authmodulelist=\"authshadow authpwd\"\nDEFAULTOPTIONS=\"disablepop3=1\"\n",
            )],
            &[
                "type = \"passwd\"\n",
                "shadow = \"\"",
                "default_options = \"disablepop3=1\"",
            ],
        ),
    ];
    for (files, fragments) in cases {
        let dir = courier_dir(files);
        let imported = import_checked(dir.path());
        for f in *fragments {
            assert!(
                imported.toml.contains(f),
                "{files:?}: no {f:?} in\n{}",
                imported.toml
            );
        }
    }
    // TLS from one PEM with the key and the chain, and an ssl file that
    // wins over imapd.
    let dir = courier_dir(&[
        ("imapd", "MAILDIRPATH=Maildir\n"),
        (
            "imapd-ssl",
            "SSLPORT=993\nSSLADDRESS=127.0.0.1\nIMAPDSTARTTLS=YES\nTLS_CERTFILE=cert.pem\n\
             TLS_PROTOCOL=TLSv1.3\nTLS_STARTTLS_PROTOCOL=\"$TLS_PROTOCOL\"\nMAILDIRPATH=Mail\n",
        ),
        ("cert.pem", &pem),
        ("cert.pem.mail.example.org", &pem),
        ("cert.pem.192.0.2.1", &pem),
        ("cert.pem.bak", "not a certificate"),
        ("cert.pem.broken.example.org", "not a certificate"),
    ]);
    // The start script runs in /etc/courier; a relative path here is
    // relative to where the import runs, so make it absolute.
    let cert = dir.path().join("cert.pem");
    let ssl = std::fs::read_to_string(dir.path().join("imapd-ssl")).unwrap();
    std::fs::write(
        dir.path().join("imapd-ssl"),
        ssl.replace("=cert.pem", &format!("={}", cert.display())),
    )
    .unwrap();
    let imported = import_checked(dir.path());
    let toml = imported.toml;
    let warnings = imported.warnings.join("\n");
    assert!(
        warnings.contains("cert.pem.192.0.2.1: a certificate for clients connecting to 192.0.2.1"),
        "{warnings}"
    );
    assert!(warnings.contains("cert.pem.broken.example.org: Courier's certificate for broken.example.org does not load"), "{warnings}");
    assert!(!toml.contains("bak"), "{toml}");
    for f in [
        "protocol = \"imaps\"\naddress = \"127.0.0.1:993\"",
        &format!("certificate = \"{}\"", cert.display()),
        &format!("private_key = \"{}\"", cert.display()),
        "min_version = \"1.3\"",
        "STARTTLS offered",
        "default_path = \"Mail\"",
        "[[tls.sni]]\nname = \"mail.example.org\"",
        &format!("private_key = \"{}.mail.example.org\"", cert.display()),
    ] {
        assert!(toml.contains(f), "no {f:?} in\n{toml}");
    }
}

#[test]
fn what_cannot_be_imported_is_an_error() {
    let dir = courier_dir(&[("authdaemonrc", "authmodulelist=\"authcustom\"\n")]);
    let e = import(dir.path()).unwrap_err().to_string();
    assert!(e.contains("no module Courser can serve"), "{e}");
    let dir = courier_dir(&[]);
    std::fs::remove_file(dir.path().join("authdaemonrc")).unwrap();
    let e = import(dir.path()).unwrap_err().to_string();
    assert!(
        e.contains("authdaemonrc") && e.contains("without authmodulelist"),
        "{e}"
    );
    let dir = courier_dir(&[("imapd", "PORT=nope\n")]);
    let e = import(dir.path()).unwrap_err().to_string();
    assert!(e.contains("nothing to listen on"), "{e}");
    let empty = tempfile::tempdir().unwrap();
    let e = import(empty.path()).unwrap_err().to_string();
    assert!(e.contains("not a Courier configuration directory"), "{e}");
    let e = import(&empty.path().join("nope")).unwrap_err().to_string();
    assert!(e.contains("not a directory"), "{e}");
}

#[test]
fn courier_log_lines_whatever_the_logger_name() {
    // Without LOGGEROPTS Courier still logs to syslog.
    let toml = import_checked(courier_dir(&[]).path()).toml;
    assert!(
        toml.contains("\n[log]\n# Courier logs logins to syslog"),
        "{toml}"
    );
    assert!(toml.contains("\nformat = \"courier\"\n"), "{toml}");
    let dir = courier_dir(&[("pop3d", "PORT=110\nLOGGEROPTS=\"-name=mypop\"\n")]);
    let imported = import_checked(dir.path());
    assert!(imported.toml.contains("format = \"courier\""));
    assert!(
        imported
            .warnings
            .iter()
            .any(|w| w.contains("-name=mypop") && w.contains("named pop3d")),
        "{:?}",
        imported.warnings
    );
}

#[test]
fn missing_userdb_source_is_a_warning() {
    let dir = courier_dir(&[("userdb.dat", "gdbm")]);
    std::fs::remove_file(dir.path().join("userdb")).unwrap();
    let imported = import_checked(dir.path());
    assert!(
        imported
            .warnings
            .iter()
            .any(|w| w.contains("not Courier's compiled")),
        "{:?}",
        imported.warnings
    );
}

#[test]
fn listen_addresses() {
    let any = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
    assert_eq!(
        listen_address(any, "143"),
        Some("[::]:143".parse().unwrap())
    );
    assert_eq!(
        listen_address(any, "192.0.2.1.993"),
        Some("192.0.2.1:993".parse().unwrap())
    );
    assert_eq!(
        listen_address(any, "::1.143"),
        Some("[::1]:143".parse().unwrap())
    );
    for bad in ["0", "x", "70000", "host.143", ""] {
        assert_eq!(listen_address(any, bad), None, "{bad}");
    }
}
