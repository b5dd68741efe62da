//! The IMAP session state machine on an in-memory account: arbitrary
//! client bytes, split into arbitrary reads, driven the way the server
//! drives a session (logins answered, TLS "started", IDLE woken by a
//! delivery, long answers drained in pieces).
//!
//! Checked for every input: no panic; every batch of output is complete,
//! well-formed IMAP responses (the independent `imap-codec` parser, as the
//! end-to-end tests check the real server); no batch much above the
//! output high-water mark; the session ends or waits for input within a
//! bounded number of calls.

use courser_auth::sasl::Credentials;
use courser_imap::codec::validate::{validate_greeting, validate_responses};
use courser_imap::codec::Limits;
use courser_imap::mailstore::{Flags, MailStore, MemoryStore};
use courser_imap::session::{Action, Session, SessionConfig};
use courser_protocol::OUTPUT_HIGH_WATER;

/// Small limits, so fuzz inputs reach every limit quickly.
fn limits() -> Limits {
    Limits {
        max_line: 1024,
        max_prelogin_literal: 512,
        max_message: 4096,
        max_command: 4096,
        max_depth: 16,
        max_sequence_ranges: 64,
    }
}

const MESSAGES: [&[u8]; 3] = [
    b"From: Ann <ann@example.org>\r\nTo: bob@example.org\r\nSubject: =?UTF-8?Q?caf=C3=A9?=\r\nDate: Tue, 1 Jul 2025 10:00:00 +0200\r\nMessage-ID: <1@x>\r\n\r\nHello\r\n",
    b"From: bob@example.org\nSubject: parts\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\none\n--b\nContent-Type: message/rfc822\n\nSubject: inner\n\ntwo\n--b--\n",
    b"Subject: no body",
];

/// An account with a few messages in INBOX and one other folder.
fn account() -> MemoryStore {
    let store = MemoryStore::new();
    for (i, m) in MESSAGES.iter().enumerate() {
        let flags = if i == 0 {
            Flags::SEEN
        } else {
            Flags::default()
        };
        store.deliver("INBOX", m, flags).expect("INBOX exists");
    }
    store.create_folder("INBOX.Sub").expect("a new folder");
    store
        .deliver("INBOX.Sub", MESSAGES[0], Flags::default())
        .expect("INBOX.Sub exists");
    store
}

/// Calls into the session per read: a long answer drains in pieces of at
/// most [`OUTPUT_HIGH_WATER`], so this bounds the whole run.
const MAX_CALLS_PER_READ: usize = 10_000;

/// The target: the first octet chooses the read size and whether the
/// session starts logged in; the rest is what the client sends.
pub fn session(data: &[u8]) {
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(control & 0x3f) + 1;
    let store = account();
    let config = SessionConfig {
        tls_active: false,
        starttls_available: true,
        login_requires_tls: false,
        hostname: "fuzz".into(),
        limits: limits(),
    };
    let mut session = if control & 0x40 != 0 {
        Session::preauthenticated(config, "fuzz", Box::new(store.clone()))
    } else {
        Session::new(config)
    };
    let mut greeting = Vec::new();
    session.greeting(&mut greeting);
    assert_eq!(validate_greeting(&greeting), Ok(greeting.len()));
    let mut buf = Vec::new();
    let mut logins = 0u32;
    for piece in input.chunks(chunk) {
        buf.extend_from_slice(piece);
        let mut calls = 0;
        loop {
            calls += 1;
            assert!(calls <= MAX_CALLS_PER_READ, "the session never waits");
            let mut out = Vec::new();
            let action = session.receive(&mut buf, &mut out);
            // Input may wait behind a login (pipelined after it).
            let again = matches!(action, Action::Login { .. });
            match action {
                Action::Continue => {}
                Action::Close => {
                    check(&out);
                    return;
                }
                Action::StartTls => {
                    // What came after STARTTLS was not protected: dropped.
                    buf.clear();
                    session.tls_started();
                }
                Action::Login { credentials, .. } => {
                    // Every other login succeeds, so both answers are
                    // reached; a PLAIN/LOGIN password "bad" always fails.
                    logins += 1;
                    let refused = matches!(&credentials,
                        Credentials::Password { password, .. } if password == b"bad");
                    if refused || logins.is_multiple_of(2) {
                        session.login_failed(logins.is_multiple_of(4), &mut out);
                    } else {
                        session.login_succeeded("fuzz", Box::new(store.clone()), &mut out);
                    }
                }
                // No authentication process here: as when it is down.
                Action::Relay(_) => session.login_failed(true, &mut out),
                Action::Idle => {
                    store
                        .deliver("INBOX", MESSAGES[2], Flags::default())
                        .expect("INBOX exists");
                    session.idle_changed(&mut out);
                }
            }
            check(&out);
            session.finished_commands().for_each(drop);
            if session.is_logged_out() {
                return;
            }
            if !session.has_pending_output() && !again {
                break;
            }
        }
    }
}

/// One batch of output: complete, well-formed responses, bounded.
fn check(out: &[u8]) {
    assert!(
        out.len() <= OUTPUT_HIGH_WATER + 64 * 1024,
        "{} octets in one batch",
        out.len()
    );
    if let Err(e) = validate_responses(out) {
        panic!("malformed output: {e}\n{}", String::from_utf8_lossy(out));
    }
}
