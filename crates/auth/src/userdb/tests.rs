use super::*;
use crate::backend::Verdict;
use crate::cram::CramHash;
use std::fs;
use std::os::unix::fs::PermissionsExt;

/// The logins the backend enumerates, in order.
fn listed(b: &UserdbBackend) -> Vec<String> {
    let all = crate::enumerate::collect(b).expect("enumerate");
    all.into_iter().map(|a| a.login).collect()
}

fn write(path: &Path, text: &str) {
    fs::write(path, text).expect("write");
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).expect("chmod");
}

// {MD5RAW} of "secret" and of "imap-only".
const SECRET: &str = "{MD5RAW}5ebe2294ecd0e0f08eab7690d2a6ee69";
const IMAP_ONLY: &str = "$1$saltsalt$9xy1btjgzLYfb7hivXtC//"; // "secret" too, $1$

#[test]
fn lookup_and_authenticate() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("userdb");
    write(
        &path,
        &format!(
            "john\tuid=1000|gid=100|home=/home/john|systempw={SECRET}|gecos=John\n\
             broken\tuid=abc|gid=1|home=/x|systempw={SECRET}\n"
        ),
    );
    let b = UserdbBackend::new(&path);
    let e = b.lookup("imap", "john").expect("ok").expect("found");
    assert_eq!(e.account.uid, 1000);
    assert_eq!(e.account.full_name.as_deref(), Some("John"));
    assert_eq!(
        b.authenticate("imap", "john", b"secret"),
        Ok(Verdict::Accepted(e.account.clone()))
    );
    assert_eq!(
        b.authenticate("imap", "john", b"wrong"),
        Ok(Verdict::Rejected)
    );
    assert_eq!(
        b.authenticate("imap", "John", b"secret"),
        Ok(Verdict::Unknown),
        "names are exact"
    );
    assert_eq!(
        b.authenticate("imap", "broken", b"secret"),
        Ok(Verdict::Unknown)
    );
    assert!(!b.supports_cram());
    assert_eq!(listed(&b), ["john"]);
}

#[test]
fn reloads_on_change_and_keeps_last_good() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("userdb");
    let b = UserdbBackend::new(&path);
    // Missing file: nobody is known, no error.
    assert_eq!(b.lookup("imap", "john"), Ok(None));
    write(&path, "john\tuid=1|gid=1|home=/a\n");
    assert_eq!(
        b.lookup("imap", "john")
            .expect("ok")
            .map(|e| e.account.home),
        Some(PathBuf::from("/a"))
    );
    // Same size, new content: the inode changes with an atomic rewrite,
    // and the nanosecond mtime with an in-place one.
    write(&path, "john\tuid=1|gid=1|home=/b\n");
    assert_eq!(
        b.lookup("imap", "john")
            .expect("ok")
            .map(|e| e.account.home),
        Some(PathBuf::from("/b"))
    );
    // A broken edit (duplicate) keeps the last good database.
    write(
        &path,
        "john\tuid=1|gid=1|home=/c\njohn\tuid=2|gid=2|home=/d\n",
    );
    assert_eq!(
        b.lookup("imap", "john")
            .expect("ok")
            .map(|e| e.account.home),
        Some(PathBuf::from("/b"))
    );
    // A broken file with no good version is a temporary failure.
    let fresh = UserdbBackend::new(&path);
    assert!(fresh.lookup("imap", "john").unwrap_err().is_temporary());
    // Wrong permissions: refused (temporary failure, with a clear reason).
    write(&path, "john\tuid=1|gid=1|home=/e\n");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
    let strict = UserdbBackend::new(&path);
    let err = strict.lookup("imap", "john").unwrap_err();
    assert!(err.to_string().contains("group or world"), "{err}");
    let lenient = UserdbBackend::new(&path).allow_public_permissions();
    assert!(lenient.lookup("imap", "john").expect("ok").is_some());
}

#[test]
fn per_service_password_and_cram() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("userdb");
    // hmac-md5pw = `echo secret | userdbpw -hmac-md5` (Courier 0.71.4).
    write(
        &path,
        &format!(
            "ann\tuid=1|gid=1|home=/a|systempw={SECRET}|pop3pw={IMAP_ONLY}|\
             hmac-md5pw=cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56\n"
        ),
    );
    let b = UserdbBackend::new(&path);
    assert!(b.supports_cram());
    assert_eq!(
        b.lookup("pop3", "ann")
            .expect("ok")
            .and_then(|e| e.password),
        Some(IMAP_ONLY.into())
    );
    assert_eq!(
        b.lookup("imap", "ann")
            .expect("ok")
            .and_then(|e| e.password),
        Some(SECRET.into())
    );
    let auth = crate::Authenticator::new().with_backend(b);
    assert!(auth.authenticate("pop3", "ann", "secret").is_ok());
    // CRAM-MD5 from the stored context: the response a client computes
    // with the password "secret".
    let challenge = b"<0123456789ABCDEF0123456789ABCDEF@mail.example>".to_vec();
    let digest = crate::cram::HmacContext::from_password(CramHash::Md5, b"secret").mac(&challenge);
    let cram = crate::backend::CramResponse {
        hash: CramHash::Md5,
        challenge,
        login: "ann".into(),
        digest_hex: crate::hex::encode(&digest),
    };
    assert!(auth.authenticate_cram("imap", &cram).is_ok());
    let sha1 = crate::backend::CramResponse {
        hash: CramHash::Sha1,
        ..cram
    };
    assert!(
        auth.authenticate_cram("imap", &sha1).is_err(),
        "no sha1 context stored"
    );
}

#[test]
fn directory_source() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("userdb");
    fs::create_dir(&root).expect("mkdir");
    fs::set_permissions(&root, fs::Permissions::from_mode(0o700)).expect("chmod");
    write(
        &root.join("example.com"),
        &format!("a@example.com\tuid=1|gid=1|home=/a|systempw={SECRET}\n"),
    );
    let b = UserdbBackend::new(&root);
    assert!(b.lookup("imap", "a@example.com").expect("ok").is_some());
    assert!(b.lookup("imap", "b@example.org").expect("ok").is_none());
    // A new file in the directory is noticed.
    write(
        &root.join("example.org"),
        "b@example.org\tuid=2|gid=2|home=/b\n",
    );
    assert!(b.lookup("imap", "b@example.org").expect("ok").is_some());
}

#[test]
fn compiled_form_is_used_when_present_and_replacements_are_seen() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("userdb");
    write(
        &path,
        &format!("ann\tuid=1|gid=1|home=/a|systempw={SECRET}\n"),
    );
    let b = UserdbBackend::new(&path);
    assert!(b.lookup("imap", "ann").expect("ok").is_some());
    compiled::compile(&path).expect("compile");
    // A source edit after the compile waits for the next compile.
    fs::write(&path, "bob\tuid=2|gid=2|home=/b\n").expect("write");
    assert!(b.lookup("imap", "ann").expect("ok").is_some());
    assert!(b.lookup("imap", "bob").expect("ok").is_none());
    compiled::compile(&path).expect("compile");
    assert!(b.lookup("imap", "ann").expect("ok").is_none());
    assert!(b.lookup("imap", "bob").expect("ok").is_some());
    // A corrupt replacement keeps the last good file serving.
    let cdb = dir.path().join("userdb.cdb");
    fs::rename(&cdb, dir.path().join("good")).expect("mv");
    write(&cdb, "not a cdb");
    assert!(b.lookup("imap", "bob").expect("ok").is_some());
    assert!(UserdbBackend::new(&path)
        .lookup("imap", "bob")
        .unwrap_err()
        .is_temporary());
    // Without the compiled file the source is read again.
    fs::remove_file(&cdb).expect("rm");
    assert!(b.lookup("imap", "bob").expect("ok").is_some());
    assert_eq!(listed(&b), ["bob"]);
}

/// 100,000 accounts: lookups in the compiled file work, a replaced file
/// is seen, and the time per lookup is printed beside the text form's
/// (`cargo test --release -p courser-auth hundred_thousand -- --nocapture`;
/// figures in docs/status.md, never asserted).
#[test]
fn hundred_thousand_users() {
    use std::time::Instant;
    const N: usize = 100_000;
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("userdb");
    let mut text = String::with_capacity(N * 80);
    for i in 0..N {
        text.push_str(&format!(
            "user{i}@example.com\tuid={i}|gid=100|home=/home/u{i}|systempw={SECRET}\n"
        ));
    }
    write(&path, &text);
    let probes: Vec<String> = (0..1000)
        .map(|i| format!("user{}@example.com", i * 97))
        .collect();
    let time_lookups = |b: &UserdbBackend| {
        let first = Instant::now();
        assert!(b.lookup("imap", &probes[0]).expect("ok").is_some());
        let first = first.elapsed();
        let warm = Instant::now();
        for p in &probes {
            assert!(b.lookup("imap", p).expect("ok").is_some(), "{p}");
        }
        (first, warm.elapsed() / probes.len() as u32)
    };
    let (text_first, text_warm) = time_lookups(&UserdbBackend::new(&path));
    let compile = Instant::now();
    compiled::compile(&path).expect("compile");
    let compile = compile.elapsed();
    let b = UserdbBackend::new(&path);
    let (cdb_first, cdb_warm) = time_lookups(&b);
    assert!(b
        .lookup("imap", "nobody@example.com")
        .expect("ok")
        .is_none());
    println!(
        "{N} users: text form first lookup {text_first:?}, then {text_warm:?} each; \
         compile {compile:?}; compiled first lookup {cdb_first:?}, then {cdb_warm:?} each"
    );
    // A replaced compiled file is seen at the next lookup.
    text.push_str("newcomer\tuid=1|gid=1|home=/n\n");
    write(&path, &text);
    compiled::compile(&path).expect("compile");
    assert!(b.lookup("imap", "newcomer").expect("ok").is_some());
}

#[test]
fn enumeration_lists_what_makes_an_account_in_both_forms() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("userdb");
    write(
        &path,
        "ann\tuid=1000|gid=100|home=/a|mail=/a/md|options=sharedgroup=x,disableshared=0|systempw=x\n\
         1000=\tann\n\
         nohome\tuid=1|gid=1\n\
         badid\tuid=x1|gid=1|home=/b\n\
         bob\tuid=1001|gid=100|home=/b\n",
    );
    let b = UserdbBackend::new(&path);
    let text = crate::enumerate::collect(&b).expect("enumerate");
    let logins: Vec<_> = text.iter().map(|a| a.login.as_str()).collect();
    assert_eq!(logins, ["ann", "bob"]);
    assert_eq!(text[0].maildir.as_deref(), Some(Path::new("/a/md")));
    assert_eq!(text[0].options.shared_group(), Some("x"));
    assert_eq!((text[1].uid, text[1].maildir.as_deref()), (1001, None));
    // The compiled form lists the same accounts.
    compiled::compile(&path).expect("compile");
    assert_eq!(crate::enumerate::collect(&b).expect("enumerate"), text);
    // The sink can stop the walk.
    let mut n = 0;
    b.enumerate(&mut |_| {
        n += 1;
        ControlFlow::Break(())
    })
    .expect("enumerate");
    assert_eq!(n, 1);
}

#[test]
fn a_password_change_rewrites_every_secret_the_service_reads() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("userdb");
    fs::create_dir(&path).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o700)).unwrap();
    let hmac =
        crate::password::hash(crate::password::Scheme::Hmac(CramHash::Md5), b"secret").unwrap();
    write(
        &path.join("a"),
        "ann\tuid=1|gid=1|home=/a|systempw={SHA256}x\n",
    );
    write(
        &path.join("b"),
        &format!(
            "# kept\njohn\tuid=1000|gid=100|home=/home/john|systempw={IMAP_ONLY}|\
             pop3pw={SECRET}|hmac-md5pw={hmac}|gecos=John\n"
        ),
    );
    let b = UserdbBackend::new(&path);
    b.change_password("imap", "john", b"secret", b"n3w")
        .unwrap();
    let text = fs::read_to_string(path.join("b")).unwrap();
    assert!(text.starts_with("# kept\njohn\tuid=1000|"), "{text}");
    assert!(
        text.contains("|systempw=$1$"),
        "the old scheme is kept: {text}"
    );
    assert_eq!(
        b.authenticate("imap", "john", b"secret"),
        Ok(Verdict::Rejected)
    );
    assert!(matches!(
        b.authenticate("imap", "john", b"n3w"),
        Ok(Verdict::Accepted(_))
    ));
    // pop3 has its own password, which an imap change leaves alone.
    assert!(matches!(
        b.authenticate("pop3", "john", b"secret"),
        Ok(Verdict::Accepted(_))
    ));
    // The CRAM key follows the new password.
    let key = b
        .lookup("imap", "john")
        .unwrap()
        .unwrap()
        .cram_key(CramHash::Md5)
        .unwrap();
    let expected = crate::cram::HmacContext::from_password(CramHash::Md5, b"n3w");
    assert_eq!(key.to_hex(), expected.to_hex());
    assert!(fs::read_to_string(path.join("a"))
        .unwrap()
        .ends_with("systempw={SHA256}x\n"));
}

#[test]
fn a_password_change_of_a_compiled_userdb_compiles_again() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("userdb");
    write(
        &path,
        &format!("john\tuid=1|gid=1|home=/j|systempw={SECRET}\n"),
    );
    compiled::compile(&path).unwrap();
    let b = UserdbBackend::new(&path);
    b.change_password("login", "john", b"secret", b"n3w")
        .unwrap();
    assert!(matches!(
        b.authenticate("imap", "john", b"n3w"),
        Ok(Verdict::Accepted(_))
    ));
    assert_eq!(
        b.authenticate("imap", "john", b"secret"),
        Ok(Verdict::Rejected)
    );
}
