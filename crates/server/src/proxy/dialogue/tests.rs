use super::*;

fn plan(starttls: bool, id: bool) -> Plan {
    Plan {
        starttls,
        id: if id {
            vec![
                ("x-originating-ip".into(), "192.0.2.7".into()),
                ("x-session-id".into(), "ab\"c".into()),
            ]
        } else {
            Vec::new()
        },
        login: master(),
        smap: false,
    }
}

fn master() -> LoginAs {
    LoginAs::Master {
        user: "alice".into(),
        master: "proxy".into(),
        password: b"secret".to_vec(),
    }
}

fn client(password: &[u8]) -> LoginAs {
    LoginAs::Client {
        user: "alice".into(),
        password: password.to_vec(),
    }
}

/// Feeds `input`, returns the progress and what was sent.
fn feed(d: &mut Dialogue, input: &str) -> (Progress, String) {
    let mut out = Vec::new();
    let p = d.receive(input.as_bytes(), &mut out);
    (p, String::from_utf8(out).unwrap())
}

const PLAIN_B64: &str = "YWxpY2UAcHJveHkAc2VjcmV0";

#[test]
fn imap_login_with_id_and_capabilities_in_the_tagged_ok() {
    let mut d = Dialogue::new(Service::Imap, plan(false, true));
    let (p, sent) = feed(&mut d, "* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] hi\r\n");
    assert_eq!(p, Progress::Wait);
    assert_eq!(
        sent,
        "P2 ID (\"x-originating-ip\" \"192.0.2.7\" \"x-session-id\" \"ab\\\"c\")\r\n"
    );
    let (p, sent) = feed(
        &mut d,
        "* ID (\"name\" \"Courser\")\r\nP2 OK ID completed\r\n",
    );
    assert_eq!(
        (p, sent.as_str()),
        (Progress::Wait, "P3 AUTHENTICATE PLAIN\r\n")
    );
    let (p, sent) = feed(&mut d, "+ \r\n");
    assert_eq!(p, Progress::Wait);
    assert_eq!(sent, format!("{PLAIN_B64}\r\n"));
    // Split across reads, with bytes behind the answer.
    assert_eq!(
        feed(&mut d, "P3 OK [CAPABILITY IMAP4rev1 ID").0,
        Progress::Wait
    );
    let (p, sent) = feed(&mut d, "LE MOVE] Logged in\r\n* 3 EXISTS\r\n");
    assert!(sent.is_empty());
    assert_eq!(
        p,
        Progress::Done(LoggedIn {
            capabilities: vec!["IMAP4rev1".into(), "IDLE".into(), "MOVE".into()],
            text: "Logged in".into(),
            rest: b"* 3 EXISTS\r\n".to_vec(),
        })
    );
}

#[test]
fn imap_asks_for_capabilities_when_the_ok_has_none() {
    let mut d = Dialogue::new(Service::Imap, plan(false, false));
    let (_, sent) = feed(&mut d, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n");
    assert_eq!(sent, "P3 AUTHENTICATE PLAIN\r\n");
    feed(&mut d, "+\r\n");
    let (p, sent) = feed(&mut d, "P3 OK done\r\n");
    assert_eq!((p, sent.as_str()), (Progress::Wait, "P4 CAPABILITY\r\n"));
    let (p, _) = feed(
        &mut d,
        "* CAPABILITY IMAP4rev1 IDLE\r\nP4 OK CAPABILITY completed\r\n",
    );
    assert_eq!(
        p,
        Progress::Done(LoggedIn {
            // Not the greeting's pre-login list.
            capabilities: vec!["IMAP4rev1".into(), "IDLE".into()],
            text: "done".into(),
            rest: Vec::new(),
        })
    );
}

#[test]
fn imap_untagged_capability_after_login_counts() {
    let mut d = Dialogue::new(Service::Imap, plan(false, false));
    feed(&mut d, "* OK hi\r\n+ \r\n");
    let (p, _) = feed(&mut d, "* CAPABILITY IMAP4rev1 X\r\nP3 OK in\r\n");
    assert!(matches!(p, Progress::Done(ref l) if l.capabilities == ["IMAP4rev1", "X"]));
}

#[test]
fn imap_starttls_drops_what_follows_the_go_ahead() {
    let mut d = Dialogue::new(Service::Imap, plan(true, false));
    let (_, sent) = feed(&mut d, "* OK hi\r\n");
    assert_eq!(sent, "P1 STARTTLS\r\n");
    let (p, _) = feed(&mut d, "P1 OK go\r\n* injected\r\n");
    assert_eq!(p, Progress::StartTls);
    let mut out = Vec::new();
    d.tls_started(&mut out);
    assert_eq!(out, b"P3 AUTHENTICATE PLAIN\r\n");
    let (p, _) = feed(&mut d, "P3 NO [AUTHENTICATIONFAILED] nope\r\n");
    assert_eq!(
        p,
        Progress::Failed(Failure {
            refused: true,
            why: "NO [AUTHENTICATIONFAILED] nope".into()
        })
    );
}

#[test]
fn imap_failures() {
    for (input, refused) in [
        ("* BYE too busy\r\n", false),
        ("* PREAUTH hi\r\n", false),
        ("+OK pop3\r\n", false),
        ("* OK hi\r\nP3 BAD what\r\n", false),
        ("* OK hi\r\nP9 OK what\r\n", false),
        ("* OK hi\r\n+ \r\nP3 NO bad password\r\n", true),
    ] {
        let mut d = Dialogue::new(Service::Imap, plan(false, false));
        match feed(&mut d, input).0 {
            Progress::Failed(f) => assert_eq!(f.refused, refused, "{input:?}"),
            p => panic!("{input:?}: {p:?}"),
        }
    }
    let mut d = Dialogue::new(Service::Imap, plan(false, false));
    let long = "x".repeat(MAX_LINE + 1);
    assert!(matches!(feed(&mut d, &long).0, Progress::Failed(_)));
}

#[test]
fn imap_literals_in_untagged_data_are_skipped_whole() {
    let mut d = Dialogue::new(Service::Imap, plan(false, true));
    feed(&mut d, "* OK hi\r\n");
    // A literal holding a CRLF and a fake tagged line.
    let (p, sent) = feed(&mut d, "* ID (\"name\" {12}\r\nP2 OK fake\r\n)\r\n");
    assert_eq!((p, sent.as_str()), (Progress::Wait, ""));
    let (_, sent) = feed(&mut d, "P2 NO no ID here\r\n");
    assert_eq!(sent, "P3 AUTHENTICATE PLAIN\r\n");
    let mut d = Dialogue::new(Service::Imap, plan(false, false));
    assert!(matches!(
        feed(&mut d, "* OK {999999}\r\n").0,
        Progress::Failed(_)
    ));
}

#[test]
fn pop3_login() {
    let mut d = Dialogue::new(Service::Pop3, plan(true, true));
    let (_, sent) = feed(&mut d, "+OK Hello <1.2@x>\r\n");
    assert_eq!(sent, "STLS\r\n");
    assert_eq!(feed(&mut d, "+OK Begin TLS\r\n").0, Progress::StartTls);
    let mut out = Vec::new();
    d.tls_started(&mut out);
    // No ID in POP3, and no XCLIENT without the greeting's offer.
    assert_eq!(out, b"AUTH PLAIN\r\n");
    let (_, sent) = feed(&mut d, "+ \r\n");
    assert_eq!(sent, format!("{PLAIN_B64}\r\n"));
    assert_eq!(
        feed(&mut d, "+OK Logged in, 2 messages\r\n").0,
        Progress::Done(LoggedIn {
            capabilities: Vec::new(),
            text: "Logged in, 2 messages".into(),
            rest: Vec::new(),
        })
    );
    let mut d = Dialogue::new(Service::Pop3, plan(false, false));
    feed(&mut d, "+OK hi\r\n+ \r\n");
    assert!(matches!(
        feed(&mut d, "-ERR [AUTH] Authentication failed\r\n").0,
        Progress::Failed(Failure { refused: true, .. })
    ));
    let mut d = Dialogue::new(Service::Pop3, plan(false, false));
    assert!(matches!(
        feed(&mut d, "-ERR go away\r\n").0,
        Progress::Failed(Failure { refused: false, .. })
    ));
}

#[test]
fn greetings() {
    assert!(greeting_ok(
        Service::Imap,
        b"* OK [CAPABILITY IMAP4rev1] hi"
    ));
    assert!(greeting_ok(Service::Pop3, b"+OK hi"));
    assert!(!greeting_ok(Service::Imap, b"* BYE full"));
    assert!(!greeting_ok(Service::Pop3, b"-ERR full"));
    assert_eq!(literal_length(b"* ID ({12}"), Some(12));
    assert_eq!(literal_length(b"x {3+}"), Some(3));
    assert_eq!(literal_length(b"x {}"), None);
    assert_eq!(literal_length(b"x {a}"), None);
}

#[test]
fn client_credentials_go_as_login_and_user_pass_as_courier_sends_them() {
    let mut d = Dialogue::new(
        Service::Imap,
        Plan {
            login: client(b"p\"w\\x \xc3\xa9"),
            ..plan(false, false)
        },
    );
    let (_, sent) = feed(&mut d, "* OK hi\r\n");
    assert_eq!(
        sent.as_bytes(),
        b"P3 LOGIN \"alice\" \"p\\\"w\\\\x \xc3\xa9\"\r\n"
    );
    let (p, sent) = feed(&mut d, "P3 OK [CAPABILITY IMAP4rev1] in\r\n");
    assert!(sent.is_empty());
    assert!(matches!(p, Progress::Done(l) if l.capabilities == ["IMAP4rev1"]));

    let mut d = Dialogue::new(
        Service::Pop3,
        Plan {
            login: client(b"pw word"),
            ..plan(false, false)
        },
    );
    let (_, sent) = feed(&mut d, "+OK hi\r\n");
    assert_eq!(sent, "USER alice\r\n");
    let (_, sent) = feed(&mut d, "+OK\r\n");
    assert_eq!(sent, "PASS pw word\r\n");
    assert!(matches!(feed(&mut d, "+OK in\r\n").0, Progress::Done(_)));
    let mut d = Dialogue::new(
        Service::Pop3,
        Plan {
            login: client(b"pw"),
            ..plan(false, false)
        },
    );
    feed(&mut d, "+OK hi\r\n");
    assert!(matches!(
        feed(&mut d, "-ERR no such user\r\n").0,
        Progress::Failed(Failure { refused: true, .. })
    ));
}

#[test]
fn credentials_no_command_line_carries_go_by_sasl() {
    for service in [Service::Imap, Service::Pop3] {
        let mut d = Dialogue::new(
            service,
            Plan {
                login: client(b"line\nbreak"),
                ..plan(false, false)
            },
        );
        let greeting = match service {
            Service::Imap => "* OK hi\r\n",
            Service::Pop3 => "+OK hi\r\n",
        };
        let (_, sent) = feed(&mut d, greeting);
        assert!(sent.contains("PLAIN"), "{sent}");
        let (_, sent) = feed(&mut d, "+ \r\n");
        let expected = base64::engine::general_purpose::STANDARD.encode(b"\0alice\0line\nbreak");
        assert_eq!(sent, format!("{expected}\r\n"));
    }
}

#[test]
fn smap_logins() {
    let smap = |login| Plan {
        login,
        smap: true,
        ..plan(false, true)
    };
    let mut d = Dialogue::new(Service::Imap, smap(client(b"pw")));
    feed(&mut d, "* OK [CAPABILITY IMAP4rev1 SMAP1] hi\r\n");
    // ID goes first, as IMAP; the login is SMAP's.
    let (_, sent) = feed(&mut d, "P2 OK ID completed\r\n");
    assert_eq!(sent, "\\SMAP1 LOGIN \"alice\" \"pw\"\r\n");
    assert_eq!(
        feed(&mut d, "+OK SMAP1 LOGIN Ok.\n").0,
        Progress::Done(LoggedIn {
            capabilities: Vec::new(),
            text: "SMAP1 LOGIN Ok.".into(),
            rest: Vec::new(),
        })
    );
    let mut d = Dialogue::new(Service::Imap, smap(master()));
    feed(&mut d, "* OK hi\r\n");
    let (_, sent) = feed(&mut d, "P2 OK ID completed\r\n");
    assert_eq!(sent, "\\SMAP1 AUTHENTICATE PLAIN\r\n");
    let (_, sent) = feed(&mut d, "> \r\n");
    assert_eq!(sent, format!("{PLAIN_B64}\r\n"));
    assert!(matches!(
        feed(&mut d, "-ERR Login failed.\r\n").0,
        Progress::Failed(Failure { refused: true, .. })
    ));
    let mut d = Dialogue::new(Service::Imap, smap(client(b"pw")));
    feed(&mut d, "* OK hi\r\nP2 OK ID\r\n");
    assert!(matches!(
        feed(&mut d, "P3 OK what\r\n").0,
        Progress::Failed(Failure { refused: false, .. })
    ));
}

#[test]
fn pop3_xclient_when_the_greeting_offers_it() {
    let mut d = Dialogue::new(
        Service::Pop3,
        Plan {
            login: client(b"pw"),
            ..plan(false, true)
        },
    );
    let (_, sent) = feed(&mut d, "+OK [XCLIENT] ready\r\n");
    assert_eq!(sent, "XCLIENT ADDR=192.0.2.7 SESSION=ab\"c\r\n");
    // Refused or not, the login goes on.
    let (_, sent) = feed(&mut d, "-ERR no\r\n");
    assert_eq!(sent, "USER alice\r\n");
}
