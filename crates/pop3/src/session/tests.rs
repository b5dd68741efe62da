//! Session tests over an in-memory maildrop: pure functions of bytes in.

use courser_auth::sasl::Credentials;
use courser_auth::CramHash;

use super::*;
use crate::maildrop::memory::MemoryStore;

/// A store holding `bodies` (UIDLs `UID1-7`, `UID2-7`…) and a maildrop
/// opened on it.
fn memory(bodies: Vec<&'static [u8]>) -> (Box<dyn Mailbox>, MemoryStore) {
    let store = MemoryStore::new(7);
    for b in bodies {
        store.add(b);
    }
    (Box::new(store.open()), store)
}

fn config() -> SessionConfig {
    SessionConfig {
        tls_active: false,
        stls_available: true,
        login_requires_tls: false,
        hostname: "test.example".into(),
        limits: Limits::default(),
    }
}

/// Feeds `input`, returns the output as text and the action. Like a
/// driver, sends (here: takes) the output after each call.
fn run(s: &mut Session, input: &str) -> (String, Action) {
    let mut inp = input.as_bytes().to_vec();
    let mut out = Vec::new();
    let mut all = Vec::new();
    let mut action = s.receive(&mut inp, &mut out);
    while action == Action::Continue && s.has_pending_output() {
        all.append(&mut out);
        action = s.receive(&mut inp, &mut out);
    }
    all.append(&mut out);
    (String::from_utf8_lossy(&all).into_owned(), action)
}

const M1: &[u8] = b"Subject: one\n\nbody\n.dot\n";
const M2: &[u8] = b"Subject: two\n\nline1\nline2\nline3";

fn logged_in() -> (Session, MemoryStore) {
    let (mb, store) = memory(vec![M1, M2]);
    (Session::preauthenticated(config(), "alice", mb), store)
}

#[test]
fn user_pass_asks_the_server_and_enters_transaction() {
    let mut s = Session::new(config());
    let (out, a) = run(&mut s, "PASS x\r\nUSER alice\r\nPASS sec ret\r\nSTAT\r\n");
    assert_eq!(out, "-ERR USER first\r\n+OK Password required\r\n");
    assert_eq!(
        a,
        Action::Login {
            credentials: Credentials::Password {
                authzid: None,
                login: "alice".into(),
                password: b"sec ret".to_vec()
            }
        }
    );
    // Pipelined STAT waits for the login.
    let mut inp = b"STAT\r\n".to_vec();
    let mut out = Vec::new();
    assert_eq!(s.receive(&mut inp, &mut out), Action::Continue);
    assert!(out.is_empty());
    let (mb, _) = memory(vec![M1]);
    s.login_succeeded("alice", mb, &mut out);
    assert_eq!(s.receive(&mut inp, &mut out), Action::Continue);
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.starts_with("+OK Logged in, 1 messages (28 octets)\r\n"),
        "{out}"
    );
    assert!(out.ends_with("+OK 1 28\r\n"), "{out}");
}

#[test]
fn failed_logins_carry_response_codes() {
    let mut s = Session::new(config());
    run(&mut s, "USER a\r\nPASS b\r\n");
    let mut out = Vec::new();
    s.login_failed(false, &mut out);
    s.login_failed(true, &mut out);
    s.login_refused(
        Code::SysPerm,
        "POP3 access disabled for this account",
        &mut out,
    );
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "-ERR [AUTH] Authentication failed\r\n\
         -ERR [SYS/TEMP] Temporary problem, please try again later\r\n\
         -ERR [SYS/PERM] POP3 access disabled for this account\r\n"
    );
    // USER must be given again.
    assert_eq!(run(&mut s, "PASS b\r\n").0, "-ERR USER first\r\n");
}

#[test]
fn auth_plain_initial_response_login_challenges_and_cancel() {
    let mut s = Session::new(config());
    // "\0alice\0pw"
    let (_, a) = run(&mut s, "AUTH PLAIN AGFsaWNlAHB3\r\n");
    assert!(matches!(a, Action::Login { credentials } if credentials.login() == "alice"));

    let mut s = Session::new(config());
    let (out, a) = run(&mut s, "AUTH LOGIN\r\n");
    assert_eq!(
        (out.as_str(), &a),
        ("+ VXNlcm5hbWU6\r\n", &Action::Continue)
    );
    let (out, _) = run(&mut s, "Ym9i\r\n");
    assert_eq!(out, "+ UGFzc3dvcmQ6\r\n");
    let (_, a) = run(&mut s, "cHc=\r\n");
    assert!(matches!(a, Action::Login { credentials } if credentials.login() == "bob"));

    let mut s = Session::new(config());
    let (out, _) = run(
        &mut s,
        "AUTH PLAIN\r\n*\r\nAUTH X\r\nAUTH PLAIN !!!\r\nAUTH\r\n",
    );
    assert_eq!(
        out,
        "+ \r\n-ERR Authentication cancelled\r\n\
         -ERR Unsupported authentication mechanism\r\n\
         -ERR Authentication failed: malformed SASL response: invalid base64\r\n\
         +OK Supported mechanisms follow\r\nPLAIN\r\nLOGIN\r\n.\r\n"
    );
}

#[test]
fn capa_depends_on_state_and_tls() {
    let mut s = Session::new(config());
    let (out, _) = run(&mut s, "CAPA\r\n");
    assert_eq!(
        out,
        "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n\
         PIPELINING\r\nUSER\r\nSASL PLAIN LOGIN\r\nSTLS\r\nIMPLEMENTATION Courser\r\n.\r\n"
    );
    let mut c = config();
    c.login_requires_tls = true;
    let mut s = Session::new(c);
    let (out, _) = run(&mut s, "CAPA\r\nUSER a\r\nAUTH PLAIN\r\n");
    assert!(!out.contains("USER\r\n") && !out.contains("SASL"));
    assert!(out.contains("STLS\r\n"));
    assert!(out.ends_with(
        "-ERR Plaintext login is disabled here; use STLS first\r\n\
         -ERR Plaintext login is disabled here; use STLS first\r\n"
    ));
    let (out, a) = run(&mut s, "STLS\r\nUSER a\r\n");
    assert_eq!(
        (out.as_str(), a),
        ("+OK Begin TLS negotiation now\r\n", Action::StartTls)
    );
    s.tls_started();
    let (out, _) = run(&mut s, "CAPA\r\nSTLS\r\n");
    assert!(out.contains("USER\r\n") && !out.contains("STLS\r\n"));
    assert!(out.ends_with("-ERR TLS is already active\r\n"));
    let (out, _) = logged_in().0.receive_str("CAPA\r\n");
    assert!(!out.contains("USER") && !out.contains("SASL") && out.contains("UIDL"));
}

impl Session {
    fn receive_str(&mut self, input: &str) -> (String, Action) {
        run(self, input)
    }
}

#[test]
fn stat_list_uidl_and_numbers_stay_after_dele() {
    let (mut s, _) = logged_in();
    let (out, _) = run(
        &mut s,
        "STAT\r\nLIST\r\nUIDL\r\nDELE 1\r\nDELE 1\r\nSTAT\r\nLIST\r\nUIDL 2\r\nLIST 1\r\nLIST 3\r\nLIST 0\r\nRSET\r\nSTAT\r\n",
    );
    assert_eq!(
        out,
        "+OK 2 65\r\n\
         +OK 2 messages (65 octets)\r\n1 28\r\n2 37\r\n.\r\n\
         +OK Unique-ID listing follows\r\n1 UID1-7\r\n2 UID2-7\r\n.\r\n\
         +OK Message 1 deleted\r\n-ERR Message 1 is deleted\r\n+OK 1 37\r\n\
         +OK 1 messages (37 octets)\r\n2 37\r\n.\r\n\
         +OK 2 UID2-7\r\n-ERR Message 1 is deleted\r\n-ERR No such message\r\n-ERR No such message\r\n\
         +OK 2 messages (65 octets)\r\n+OK 2 65\r\n"
    );
}

#[test]
fn retr_and_top_send_exact_sizes_and_mark_seen() {
    let (mut s, store) = logged_in();
    let (out, _) = run(&mut s, "RETR 1\r\n");
    let body = "Subject: one\r\n\r\nbody\r\n..dot\r\n";
    assert_eq!(out, format!("+OK 28 octets follow\r\n{body}.\r\n"));
    // 28 = what was sent before dot-stuffing.
    assert_eq!(body.len() - 1, 28);
    let (out, _) = run(&mut s, "TOP 2 1\r\nRETR 2\r\n");
    assert_eq!(
        out,
        "+OK Top of message follows\r\nSubject: two\r\n\r\nline1\r\n.\r\n\
         +OK 37 octets follow\r\nSubject: two\r\n\r\nline1\r\nline2\r\nline3\r\n.\r\n"
    );
    assert_eq!(store.seen(), ["UID1-7", "UID2-7"]);
    assert_eq!(
        s.stats(),
        Stats {
            retr: 2,
            top: 1,
            deleted: 0,
            // Courier's byte counts: as stored, LF line ends, no stuffing.
            retr_bytes: (M1.len() + M2.len()) as u64,
            top_bytes: "Subject: two\n\nline1\n".len() as u64,
        }
    );
}

#[test]
fn quit_deletes_only_in_update_state() {
    let (mut s, store) = logged_in();
    let (_, a) = run(&mut s, "DELE 2\r\n");
    assert_eq!(a, Action::Continue);
    assert_eq!(store.uidls(), ["UID1-7", "UID2-7"]);
    let (out, a) = run(&mut s, "QUIT\r\nSTAT\r\n");
    assert_eq!(
        (out.as_str(), a),
        ("+OK Courser POP3 server signing off\r\n", Action::Close)
    );
    assert_eq!(store.uidls(), ["UID1-7"]);
    assert!(s.is_closed());
    // A session dropped without QUIT never calls delete (nothing to test
    // beyond: only `update` calls it).
}

#[test]
fn commands_in_the_wrong_state_and_garbage_get_err() {
    let mut s = Session::new(config());
    let (out, _) = run(&mut s, "STAT\r\nRETR 1\r\nNOOP\r\nAPOP a b\r\nfoo\r\n\r\n");
    assert_eq!(out.matches("-ERR").count(), 6, "{out}");
    let (mut s, _) = logged_in();
    let (out, _) = run(&mut s, "USER a\r\nSTLS\r\nRETR x\r\nTOP 1\r\nNOOP\r\n");
    assert_eq!(
        out,
        "-ERR Already logged in\r\n-ERR Already logged in\r\n-ERR Invalid message number\r\n\
         -ERR Missing argument\r\n+OK\r\n"
    );
}

proptest::proptest! {
    #[test]
    fn random_input_never_panics_and_session_survives(lines: Vec<Vec<u8>>) {
        let (mut s, _) = logged_in();
        let mut inp = Vec::new();
        for l in lines {
            inp.extend_from_slice(&l);
            inp.extend_from_slice(b"\r\n");
        }
        let mut out = Vec::new();
        loop {
            let a = s.receive(&mut inp, &mut out);
            if a != Action::Continue || !s.has_pending_output() {
                break;
            }
        }
        if !s.is_closed() {
            let (o, _) = run(&mut s, "NOOP\r\n");
            proptest::prop_assert!(o.ends_with("+OK\r\n") || o.ends_with("-ERR Line too long\r\n"));
        }
    }
}

#[test]
fn cram_is_offered_only_when_a_backend_can_check_it() {
    let mut plain = Session::new(config());
    let (out, _) = run(&mut plain, "CAPA\r\n");
    assert!(out.contains("SASL PLAIN LOGIN\r\n"), "{out}");
    let (out, _) = run(&mut plain, "AUTH CRAM-MD5\r\n");
    assert!(out.starts_with("-ERR"), "{out}");
    let mut cram = Session::new(config());
    cram.offer_mechanisms(vec![
        Mechanism::Cram(CramHash::Sha256),
        Mechanism::Cram(CramHash::Sha1),
        Mechanism::Cram(CramHash::Md5),
        Mechanism::Plain,
        Mechanism::Login,
    ]);
    let (out, _) = run(&mut cram, "CAPA\r\n");
    assert!(
        out.contains("SASL CRAM-SHA256 CRAM-SHA1 CRAM-MD5 PLAIN LOGIN\r\n"),
        "{out}"
    );
    let (out, _) = run(&mut cram, "AUTH CRAM-MD5\r\n");
    assert!(out.starts_with("+ "), "a challenge: {out}");
}

#[test]
fn finished_commands_are_named_once_each_and_wait_for_logins_and_sasl() {
    let names = |s: &mut Session| -> Vec<Option<&'static str>> {
        s.finished_commands().map(|f| f.command).collect()
    };
    let mut s = Session::new(config());
    run(&mut s, "CAPA\r\nXYZZY\r\nUSER a\r\nPASS b\r\n");
    // PASS waits for the server's credential check.
    assert_eq!(names(&mut s), [Some("CAPA"), None, Some("USER")]);
    let (mb, _) = memory(vec![M1, M2]);
    s.login_succeeded("a", mb, &mut Vec::new());
    assert_eq!(names(&mut s), [Some("PASS")]);
    run(&mut s, "STAT\r\nRETR 2\r\n");
    assert_eq!(names(&mut s), [Some("STAT"), Some("RETR")]);
    assert!(names(&mut s).is_empty(), "drained");

    // An AUTH exchange is one command, finished by the login's answer.
    let mut s = Session::new(config());
    run(&mut s, "AUTH LOGIN\r\nYm9i\r\n");
    assert!(names(&mut s).is_empty());
    run(&mut s, "cHc=\r\n");
    s.login_failed(false, &mut Vec::new());
    assert_eq!(names(&mut s), [Some("AUTH")]);
}

#[test]
fn pipelined_listings_wait_while_the_output_is_full() {
    let bodies = vec![M1; 20_000];
    let (mb, _) = memory(bodies);
    let mut s = Session::preauthenticated(config(), "alice", mb);
    let mut input = "UIDL\r\n".repeat(40).into_bytes();
    let (mut listings, mut rounds) = (0, 0);
    loop {
        let mut out = Vec::new();
        s.receive(&mut input, &mut out);
        // One listing is ~250 KB: never more than the mark plus one.
        assert!(
            out.len() < courser_protocol::OUTPUT_HIGH_WATER + 300_000,
            "{} bytes queued",
            out.len()
        );
        let text = String::from_utf8(out).unwrap();
        listings += text.matches("\r\n20000 UID20000-7\r\n.\r\n").count();
        rounds += 1;
        if !s.has_pending_output() {
            break;
        }
    }
    assert_eq!(listings, 40);
    assert!(rounds >= 20, "{rounds} rounds");
    assert!(input.is_empty());
}

#[test]
fn xclient_only_from_a_trusted_proxy_and_only_before_login() {
    let mut s = Session::new(config());
    let mut greeting = Vec::new();
    s.greeting(&mut greeting);
    assert!(!String::from_utf8_lossy(&greeting).contains("[XCLIENT]"));
    let (out, _) = run(&mut s, "XCLIENT ADDR=192.0.2.7 PORT=4000\r\n");
    assert!(out.starts_with("-ERR"), "{out}");
    assert_eq!(s.forwarded_field("ADDR"), None);

    let mut s = Session::new(config());
    s.offer_xclient(true);
    let mut greeting = Vec::new();
    s.greeting(&mut greeting);
    assert!(greeting.starts_with(b"+OK [XCLIENT] "));
    let (out, _) = run(&mut s, "XCLIENT ADDR=192.0.2.7 PORT=4000 SESSION=abc\r\n");
    assert_eq!(out, "+OK Updated\r\n");
    assert_eq!(s.forwarded_field("ADDR"), Some("192.0.2.7"));
    assert_eq!(s.forwarded_field("SESSION"), Some("abc"));
    let (out, _) = run(&mut s, "XCLIENT ADDR\r\n");
    assert!(out.starts_with("-ERR"), "{out}");

    let (mut s, _) = logged_in();
    let (out, _) = run(&mut s, "XCLIENT ADDR=192.0.2.7\r\n");
    assert!(out.starts_with("-ERR"), "{out}");
}
