//! End to end through the public API: a userdb written the way
//! `courser userdb` / `courser pw` write it, then logins through the SASL
//! state machines and the Authenticator, as the IMAP and POP3 layers will
//! drive them.

use std::path::Path;

use courser_auth::password::{self, Scheme};
use courser_auth::sasl::{self, ClientResponse};
use courser_auth::scram::ScramHash;
use courser_auth::userdb::cli::{self, Command, SetField};
use courser_auth::userdb::edit::UserdbFile;
use courser_auth::{
    tools, AuthError, Authenticator, CramHash, HmacContext, Mechanism, SaslConfig, SaslServer,
    Step, UserdbBackend,
};

/// Runs a `courser userdb` command line against `db` (values that would
/// come from standard input are given in `stdin`).
fn userdb(db: &Path, line: &[&str], stdin: &[&str]) {
    let args: Vec<String> = line.iter().map(|s| s.to_string()).collect();
    let mut stdin = stdin.iter();
    match cli::parse(db, &args).expect("valid command line") {
        Command::Set { file, name, fields } => {
            let fields: Vec<(String, String)> = fields
                .into_iter()
                .map(|f| match f {
                    SetField::Value(k, v) => (k, v),
                    SetField::FromStdin(k) => (k, stdin.next().expect("stdin").to_string()),
                })
                .collect();
            UserdbFile::new(file).set(&name, &fields).expect("set");
        }
        Command::Unset { file, name, fields } => {
            UserdbFile::new(file).unset(&name, &fields).expect("unset");
        }
        Command::Del { file, name } => {
            UserdbFile::new(file).delete(&name).expect("del");
        }
        Command::Compile { file } => {
            courser_auth::userdb::compiled::compile(&file).expect("compile");
        }
        Command::Show { .. } => panic!("not an edit"),
    }
}

/// Drives one SASL exchange with base64 on the wire, as IMAP would
/// (SCRAM, which runs in the authentication process, is not for this).
fn sasl_login(
    auth: &Authenticator,
    service: &str,
    mech: &str,
    initial: Option<&str>,
    mut answer: impl FnMut(&[u8]) -> Vec<u8>,
) -> Result<courser_auth::Account, String> {
    let cfg = SaslConfig {
        hostname: "mail.example".into(),
        tls_identity: None,
    };
    let mut s = SaslServer::new(Mechanism::from_name(mech).expect("mechanism"), &cfg);
    let initial = initial.map(|i| sasl::decode_initial_response(i.as_bytes()).expect("b64"));
    let mut step = s.start(initial.as_deref());
    loop {
        match step {
            Step::Challenge(c) => {
                let wire = sasl::encode_challenge(&c);
                let challenge = match sasl::decode_response(wire.as_bytes()) {
                    Ok(ClientResponse::Data(d)) => d,
                    other => panic!("{other:?}"),
                };
                let reply = sasl::encode_challenge(&answer(&challenge));
                let Ok(ClientResponse::Data(d)) = sasl::decode_response(reply.as_bytes()) else {
                    panic!("client reply");
                };
                step = s.step(&d);
            }
            Step::Done(creds) => return auth.verify(service, &creds).map_err(|e| e.to_string()),
            Step::Failed(e) => return Err(e.to_string()),
            _ => panic!("unexpected step"),
        }
    }
}

#[test]
fn userdb_written_by_the_tools_logs_users_in() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("userdb");

    // courser userdb -f db john set home=... uid=... gid=...
    userdb(
        &db,
        &[
            "-f",
            db.to_str().expect("utf8"),
            "john@example.com",
            "set",
            "home=/home/john",
            "uid=1000",
            "gid=1000",
            "mail=Mail/",
        ],
        &[],
    );
    // courser pw | courser userdb john set systempw   (yescrypt default)
    let sys = password::hash(Scheme::DEFAULT, b"s3cret").expect("hash");
    userdb(&db, &["john@example.com", "set", "systempw"], &[&sys]);
    // courser pw --scheme md5 | courser userdb john set pop3pw
    let pop = password::hash(Scheme::Md5Crypt, b"p0p").expect("hash");
    userdb(&db, &["john@example.com", "set", "pop3pw"], &[&pop]);
    // courser pw --scheme hmac-sha256 | courser userdb john set hmac-sha256pw
    let hmac = password::hash(Scheme::Hmac(CramHash::Sha256), b"s3cret").expect("hash");
    userdb(&db, &["john@example.com", "set", "hmac-sha256pw"], &[&hmac]);
    // A second user whose IMAP is disabled, with a SHA-512-crypt password.
    let mary = password::hash(Scheme::Sha512Crypt, b"m4ry").expect("hash");
    userdb(
        &db,
        &[
            "mary",
            "set",
            "home=/home/mary",
            "uid=1001",
            "gid=1001",
            "options=disableimap=1",
            &format!("systempw={mary}"),
        ],
        &[],
    );

    // courser pw --scheme scram-sha-256 | courser userdb john set scram-sha-256pw
    let scram = password::hash(Scheme::Scram(ScramHash::Sha256), b"s3cret").expect("hash");
    userdb(
        &db,
        &["john@example.com", "set", "scram-sha-256pw"],
        &[&scram],
    );

    let auth = Authenticator::new().with_backend(UserdbBackend::new(&db));
    assert!(auth.supports_cram());
    let offered = auth.mechanisms();
    assert!(offered.contains(&Mechanism::Scram(ScramHash::Sha256)));
    assert!(!offered.contains(&Mechanism::Scram(ScramHash::Sha1)));
    // The stored secret reaches the SCRAM exchange unchanged.
    let keys = auth
        .scram_keys("imap", "john@example.com", ScramHash::Sha256)
        .expect("ok")
        .expect("stored");
    assert_eq!(keys.to_string(), scram);

    // PLAIN with SASL-IR.
    let ir = sasl::encode_challenge(b"\0john@example.com\0s3cret");
    let acct = sasl_login(&auth, "imap", "PLAIN", Some(&ir), |_| unreachable!()).expect("plain");
    assert_eq!(acct.uid, 1000);
    assert_eq!(acct.maildir_path(), Path::new("/home/john/Mail/"));
    // PLAIN without IR, wrong password.
    let err = sasl_login(&auth, "imap", "PLAIN", None, |_| {
        b"\0john@example.com\0nope".to_vec()
    });
    assert_eq!(err, Err(AuthError::Failed.to_string()));
    // LOGIN for POP3 uses pop3pw, not systempw.
    let mut answers = vec![b"p0p".to_vec(), b"john@example.com".to_vec()];
    assert!(sasl_login(&auth, "pop3", "LOGIN", None, |_| answers
        .pop()
        .expect("prompt"))
    .is_ok());
    let mut answers = vec![b"s3cret".to_vec(), b"john@example.com".to_vec()];
    assert!(sasl_login(&auth, "pop3", "LOGIN", None, |_| answers
        .pop()
        .expect("prompt"))
    .is_err());
    // CRAM-SHA256 from the stored HMAC context; CRAM-MD5 has none.
    let key = HmacContext::from_password(CramHash::Sha256, b"s3cret");
    let cram = |ch: &[u8]| {
        let mac = key.mac(ch);
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        format!("john@example.com {hex}").into_bytes()
    };
    assert!(sasl_login(&auth, "imap", "CRAM-SHA256", None, cram).is_ok());
    assert!(sasl_login(&auth, "imap", "CRAM-MD5", None, |_| {
        b"john@example.com 00000000000000000000000000000000".to_vec()
    })
    .is_err());

    // Mary authenticates, but IMAP is disabled for her (the caller's check).
    let m = auth.authenticate("imap", "mary", "m4ry").expect("mary");
    assert!(!m.service_allowed("imap", true));
    assert!(m.service_allowed("pop3", false));

    // authtest-style report.
    let report = tools::authtest_report(&m, Some(&mary), Some("m4ry"));
    assert!(report.contains("     Authenticated: mary  (uid 1001, gid 1001)\n"));
    assert!(report.contains("           Options: disableimap=1\n"));

    // Compiled (courser userdb compile): the same logins, from the file.
    userdb(&db, &["compile"], &[]);
    assert!(auth.authenticate("imap", "mary", "m4ry").is_ok());
    assert!(auth.supports_cram());
    assert!(auth
        .mechanisms()
        .contains(&Mechanism::Scram(ScramHash::Sha256)));
    std::fs::remove_file(dir.path().join("userdb.cdb")).expect("rm");

    // Edits are picked up without a restart: delete mary, unset pop3pw.
    userdb(&db, &["mary", "del"], &[]);
    userdb(&db, &["john@example.com", "unset", "pop3pw"], &[]);
    assert_eq!(
        auth.authenticate("imap", "mary", "m4ry"),
        Err(AuthError::Failed)
    );
    assert!(auth
        .authenticate("pop3", "john@example.com", "s3cret")
        .is_ok());
}
