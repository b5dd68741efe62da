//! Session tests: bytes in, bytes out, no network. Most run on the
//! in-memory store; those about the maildir's own files on a real maildir
//! in a temporary folder.

use courser_maildir::{tools, Store, StoreOptions};

use super::{Action, Session, SessionConfig};
use crate::mailstore::{AclUser, Flags, MailStore, MaildirStore, MemoryStore};

const MSG: &[u8] = b"From: a@example.org\nSubject: test\n\nbody\n";

pub(super) fn store(dir: &std::path::Path) -> Store {
    let md = dir.join("Maildir");
    if !md.exists() {
        tools::make_maildir(&md, 0o700).unwrap();
    }
    Store::open(&md, StoreOptions::default()).unwrap()
}

pub(super) fn config() -> SessionConfig {
    SessionConfig {
        tls_active: false,
        starttls_available: false,
        login_requires_tls: false,
        hostname: "test".into(),
        limits: Default::default(),
    }
}

/// A session logged in to `store`: a [`Store`] (a maildir) or a
/// [`MemoryStore`].
pub(super) fn session(store: impl IntoMailStore) -> Session {
    Session::preauthenticated(config(), "u", store.into_mail_store())
}

/// What a test session can be given as its account.
pub(super) trait IntoMailStore {
    fn into_mail_store(self) -> Box<dyn MailStore>;
}

impl IntoMailStore for Store {
    fn into_mail_store(self) -> Box<dyn MailStore> {
        Box::new(MaildirStore::new(self, AclUser::new("u", "u", "")))
    }
}

impl IntoMailStore for MemoryStore {
    fn into_mail_store(self) -> Box<dyn MailStore> {
        Box::new(self)
    }
}

/// An in-memory account holding `n` copies of [`MSG`] in INBOX.
fn memory(n: usize) -> MemoryStore {
    let st = MemoryStore::new();
    for _ in 0..n {
        st.deliver("INBOX", MSG, Flags::default()).unwrap();
    }
    st
}

/// Sends `input`, returns everything the session answered.
pub(super) fn run(s: &mut Session, input: &str) -> String {
    let mut buf = input.as_bytes().to_vec();
    let mut out = Vec::new();
    let action = s.receive(&mut buf, &mut out);
    assert!(matches!(
        action,
        Action::Continue | Action::Idle | Action::Close
    ));
    String::from_utf8(out).unwrap()
}

#[test]
fn expunge_by_another_session_waits_for_a_command_that_allows_it() {
    let st = memory(3);
    let mut a = session(st.clone());
    let mut b = session(st);
    assert!(run(&mut a, "a1 SELECT INBOX\r\n").contains("* 3 EXISTS"));
    run(&mut b, "b1 SELECT INBOX\r\n");
    let out = run(&mut b, "b2 STORE 2 +FLAGS (\\Deleted)\r\nb3 EXPUNGE\r\n");
    assert!(out.contains("* 2 EXPUNGE"), "{out}");
    // FETCH, STORE and SEARCH by sequence number must not see EXPUNGE.
    let out = run(&mut a, "a2 FETCH 1:3 (FLAGS)\r\n");
    assert!(!out.contains(" EXPUNGE\r\n"), "{out}");
    assert!(
        out.contains("* 1 FETCH") && out.contains("* 3 FETCH"),
        "{out}"
    );
    assert!(!out.contains("* 2 FETCH"), "{out}");
    // SEARCH still numbers it (RFC 2180 §4.1): the client holds three.
    let out = run(&mut a, "a3 SEARCH ALL\r\n");
    assert!(out.contains("* SEARCH 1 2 3\r\n"), "{out}");
    assert!(!out.contains(" EXPUNGE\r\n"), "{out}");
    let out = run(&mut a, "a4 NOOP\r\n");
    assert!(out.contains("* 2 EXPUNGE\r\n"), "{out}");
    let out = run(&mut a, "a5 FETCH 2 (UID)\r\n");
    assert!(out.contains("* 2 FETCH (UID 3)"), "{out}");
}

#[test]
fn recent_goes_to_one_session_only() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(dir.path());
    let md = st.root().to_path_buf();
    std::fs::write(md.join("new").join("1.M1P1.test"), MSG).unwrap();
    let mut a = session(st.clone());
    let mut b = session(st);
    let out = run(&mut a, "a1 SELECT INBOX\r\n");
    assert!(out.contains("* 1 RECENT"), "{out}");
    let out = run(&mut b, "b1 SELECT INBOX\r\n");
    assert!(out.contains("* 0 RECENT"), "{out}");
    let out = run(&mut a, "a2 FETCH 1 FLAGS\r\n");
    assert!(out.contains("\\Recent"), "{out}");
    let out = run(&mut b, "b2 SEARCH RECENT\r\n");
    assert!(out.contains("* SEARCH\r\n"), "{out}");
}

/// Rights changed in another session reach the selected folder's next
/// command, also after commands that found the ACL unchanged.
#[test]
fn acl_changes_elsewhere_reach_the_selected_folder() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(dir.path());
    st.create_folder("INBOX.a").unwrap();
    let folder = st.root().join(".a");
    let mut a = session(st.clone());
    let mut b = session(st);
    run(&mut a, "a1 SELECT INBOX.a\r\n");
    // Old enough to be trusted: the next commands skip reading the ACL.
    let age = |ago| {
        let t = std::time::SystemTime::now() - std::time::Duration::from_secs(ago);
        let times = std::fs::FileTimes::new().set_modified(t);
        std::fs::File::open(&folder)
            .unwrap()
            .set_times(times)
            .unwrap();
    };
    age(60);
    for tag in ["a2", "a3"] {
        let out = run(&mut a, &format!("{tag} NOOP\r\n"));
        assert!(!out.contains("MYRIGHTS"), "{out}");
    }
    let out = run(&mut b, "b1 SETACL INBOX.a owner -w\r\n");
    assert!(out.contains("b1 OK"), "{out}");
    // Seen settled too (the moved time is what tells).
    age(30);
    let out = run(&mut a, "a4 NOOP\r\n");
    assert!(out.contains("[MYRIGHTS \"acdilrs\"]"), "{out}");
}

#[test]
fn the_memory_store_keeps_the_recent_rule() {
    let st = memory(1);
    let mut a = session(st.clone());
    let mut b = session(st.clone());
    let out = run(&mut b, "b1 EXAMINE INBOX\r\n");
    assert!(
        out.contains("* 1 RECENT"),
        "EXAMINE shows, claims nothing: {out}"
    );
    let out = run(&mut a, "a1 SELECT INBOX\r\n");
    assert!(out.contains("* 1 RECENT"), "{out}");
    let out = run(&mut b, "b2 SELECT INBOX\r\n");
    assert!(out.contains("* 0 RECENT"), "{out}");
    st.deliver("INBOX", MSG, Flags::default()).unwrap();
    let out = run(&mut b, "b3 NOOP\r\n");
    assert!(
        out.contains("* 2 EXISTS") && out.contains("* 1 RECENT"),
        "{out}"
    );
    let out = run(&mut a, "a2 SEARCH RECENT\r\n");
    assert!(out.contains("* SEARCH 1\r\n"), "{out}");
}

#[test]
fn literal_plus_append_and_idle_report() {
    let st = memory(0);
    let mut a = session(st.clone());
    run(&mut a, "a1 SELECT INBOX\r\n");
    let append = format!("a2 APPEND INBOX (\\Seen) {{{}+}}\r\n", MSG.len());
    let mut input = append.into_bytes();
    input.extend_from_slice(MSG);
    input.extend_from_slice(b"\r\n");
    let mut out = Vec::new();
    a.receive(&mut input, &mut out);
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("a2 OK [APPENDUID "), "{out}");
    assert!(out.contains("* 1 EXISTS"), "{out}");
    let out = run(&mut a, "a3 IDLE\r\n");
    assert!(out.starts_with("+ "), "{out}");
    st.deliver("INBOX", MSG, Flags::default()).unwrap();
    let mut out = Vec::new();
    a.idle_changed(&mut out);
    assert!(String::from_utf8_lossy(&out).contains("* 2 EXISTS"));
    let out = run(&mut a, "DONE\r\n");
    assert!(out.contains("a3 OK"), "{out}");
}

#[test]
fn read_only_examine_refuses_changes_and_bad_input_is_answered() {
    let mut a = session(memory(1));
    let out = run(&mut a, "a1 EXAMINE INBOX\r\n");
    assert!(out.contains("a1 OK [READ-ONLY]"), "{out}");
    let out = run(&mut a, "a2 STORE 1 +FLAGS (\\Seen)\r\n");
    assert!(out.contains("a2 NO [READ-ONLY]"), "{out}");
    let out = run(&mut a, "a3 FETCH 1 BODY[]\r\n");
    assert!(
        !out.contains("\\Seen"),
        "EXAMINE must not set \\Seen: {out}"
    );
    let out = run(&mut a, "a4 FETCH 9 FLAGS\r\n");
    assert!(out.contains("a4 BAD"), "{out}");
    let out = run(&mut a, "a5 FROB\r\n)(\r\n");
    assert!(out.contains("a5 BAD"), "{out}");
    let out = run(&mut a, "a6 SELECT INBOX.nope\r\n");
    assert!(out.contains("a6 NO [NONEXISTENT]"), "{out}");
    let out = run(&mut a, "a7 COPY 1 INBOX.nope\r\n");
    assert!(out.contains("a7 BAD") || out.contains("a7 NO"), "{out}");
}

#[test]
fn move_reports_copyuid_then_expunge() {
    let st = memory(2);
    st.create_folder("INBOX.Archive").unwrap();
    let mut a = session(st);
    run(&mut a, "a1 SELECT INBOX\r\n");
    let out = run(&mut a, "a2 UID MOVE 2 INBOX.Archive\r\n");
    let copyuid = out.find("* OK [COPYUID ").expect(&out);
    let expunge = out.find("* 2 EXPUNGE").expect(&out);
    assert!(copyuid < expunge, "{out}");
    assert!(out.contains("a2 OK"), "{out}");
    let out = run(&mut a, "a3 STATUS INBOX.Archive (MESSAGES UIDNEXT)\r\n");
    assert!(out.contains("(MESSAGES 1 UIDNEXT 2)"), "{out}");
}

#[test]
fn a_large_fetch_is_written_in_bounded_pieces() {
    let st = memory(0);
    let big = format!("Subject: big\n\n{}\n", "x".repeat(100_000));
    for _ in 0..10 {
        st.deliver("INBOX", big.as_bytes(), Flags::default())
            .unwrap();
    }
    let mut a = session(st);
    run(&mut a, "a1 SELECT INBOX\r\n");
    let mut input = b"a2 FETCH 1:* BODY.PEEK[]\r\na3 NOOP\r\n".to_vec();
    let mut all = Vec::new();
    let mut rounds = 0;
    loop {
        let mut out = Vec::new();
        a.receive(&mut input, &mut out);
        assert!(out.len() < 600_000, "one piece held {} bytes", out.len());
        all.extend_from_slice(&out);
        rounds += 1;
        if !a.has_pending_output() {
            break;
        }
    }
    let text = String::from_utf8_lossy(&all);
    assert!(rounds > 2, "{rounds}");
    assert_eq!(text.matches(" FETCH (BODY[] {").count(), 10);
    let ok = text.find("a2 OK").expect("FETCH completes");
    assert!(ok < text.find("a3 OK").expect("pipelined NOOP runs after"));
}

/// Regression (e2e test_no_expunge_during_fetch_store_search): a UID FETCH
/// over a message another session expunged said NO [EXPUNGEISSUED]; it
/// must report the EXPUNGE and complete OK (sync clients treat NO as a
/// failed sync).
#[test]
fn uid_fetch_over_an_expunged_message_is_ok() {
    let st = memory(3);
    let mut a = session(st.clone());
    let mut b = session(st);
    run(&mut a, "a1 SELECT INBOX\r\n");
    run(
        &mut b,
        "b1 SELECT INBOX\r\nb2 STORE 2 +FLAGS (\\Deleted)\r\nb3 EXPUNGE\r\n",
    );
    let out = run(&mut a, "a2 FETCH 1:3 (FLAGS)\r\n");
    assert!(out.contains("a2 NO [EXPUNGEISSUED]"), "{out}");
    let out = run(&mut a, "a3 UID FETCH 1:* (FLAGS)\r\n");
    assert!(out.contains("* 2 EXPUNGE\r\n"), "{out}");
    assert!(out.contains("a3 OK"), "{out}");
}

#[test]
fn literal8_announcement_without_a_command_is_answered() {
    let mut a = session(memory(0));
    let out = run(&mut a, "t1 ~{3}\r\n");
    assert!(out.contains("t1 BAD") || out.starts_with("+ "), "{out:?}");
    run(&mut a, "e1 ENABLE UTF8=ACCEPT\r\n");
    let out = run(&mut a, "t2 ~{3}\r\n");
    assert!(out.contains("t2 BAD") || out.starts_with("+ "), "{out:?}");
}

#[test]
fn over_quota_append_is_refused_with_an_alert() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(dir.path());
    tools::set_quota(st.root(), "100S").unwrap();
    let mut a = session(st);
    let big = "x".repeat(200);
    let input = format!("a1 APPEND INBOX {{{}+}}\r\n{big}\r\n", big.len());
    let out = run(&mut a, &input);
    assert!(out.contains("* NO [ALERT] "), "{out}");
    assert!(out.contains("a1 NO [OVERQUOTA]"), "{out}");
    let out = run(&mut a, "a2 STATUS INBOX (MESSAGES)\r\n");
    assert!(out.contains("(MESSAGES 0)"), "nothing half-written: {out}");
}

#[test]
fn finished_commands_wait_for_pieces_and_idle_and_name_bad_lines_none() {
    let st = memory(0);
    let big = format!("Subject: big\n\n{}\n", "x".repeat(400_000));
    for _ in 0..3 {
        st.deliver("INBOX", big.as_bytes(), Flags::default())
            .unwrap();
    }
    let mut a = session(st);
    let names = |s: &mut Session| -> Vec<Option<&'static str>> {
        s.finished_commands().map(|f| f.command).collect()
    };
    run(&mut a, "a1 SELECT INBOX\r\na2 BOGUS\r\n");
    assert_eq!(names(&mut a), [Some("SELECT"), None]);
    run(&mut a, "a3 UID FETCH 1:* BODY.PEEK[]\r\n");
    assert!(a.has_pending_output());
    assert!(names(&mut a).is_empty(), "FETCH is still being written");
    while a.has_pending_output() {
        run(&mut a, "");
    }
    assert_eq!(names(&mut a), [Some("UID FETCH")]);
    run(&mut a, "a4 IDLE\r\n");
    assert!(names(&mut a).is_empty(), "IDLE counts when it ends");
    run(&mut a, "DONE\r\na5 LOGOUT\r\n");
    assert_eq!(names(&mut a), [Some("IDLE"), Some("LOGOUT")]);
}

#[test]
fn pipelined_commands_wait_while_the_output_is_full() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(dir.path());
    let cur = st.root().join("cur");
    for i in 0..5000 {
        std::fs::write(cur.join(format!("{i}.M1P1.test:2,S")), MSG).unwrap();
    }
    let mut a = session(st);
    run(&mut a, "a0 SELECT INBOX\r\n");
    // Each answer is ~24 KB; 100 of them would be 2.4 MB at once.
    let mut input = "s SEARCH ALL\r\n".repeat(100).into_bytes();
    let (mut answers, mut rounds) = (0, 0);
    loop {
        let mut out = Vec::new();
        a.receive(&mut input, &mut out);
        assert!(
            out.len() < courser_protocol::OUTPUT_HIGH_WATER + 30_000,
            "{} bytes queued",
            out.len()
        );
        let text = String::from_utf8(out).unwrap();
        answers += text.matches(" 4999 5000\r\ns OK").count();
        rounds += 1;
        if !a.has_pending_output() {
            break;
        }
    }
    assert_eq!(answers, 100);
    assert!(rounds >= 9, "{rounds} rounds");
    assert!(input.is_empty());
}

#[test]
fn search_sets_with_many_ranges_name_the_right_messages() {
    let mut a = session(memory(30));
    run(&mut a, "a1 SELECT INBOX\r\n");
    // Every other message, 15 ranges, as a client's kept UID set.
    let odd: Vec<String> = (1..=30).step_by(2).map(|n| n.to_string()).collect();
    let out = run(&mut a, &format!("a2 SEARCH {} NOT 5:9\r\n", odd.join(",")));
    assert!(
        out.contains("* SEARCH 1 3 11 13 15 17 19 21 23 25 27 29\r\n"),
        "{out}"
    );
    let out = run(&mut a, "a3 UID SEARCH UID 28:* OR 2 *\r\n");
    assert!(out.contains("* SEARCH 30\r\n"), "{out}");
    let out = run(&mut a, "a3 UID SEARCH OR UID 28:* 2\r\n");
    assert!(out.contains("* SEARCH 2 28 29 30\r\n"), "{out}");
    let out = run(&mut a, "a4 SEARCH 31,0:2\r\n");
    assert!(
        out.contains("a4 BAD") || out.contains("* SEARCH 1 2\r\n"),
        "{out}"
    );
}

#[test]
fn fetching_bodies_sets_seen_on_each_message_once() {
    let mut a = session(memory(50));
    run(&mut a, "a1 SELECT INBOX\r\n");
    let out = run(&mut a, "a2 FETCH 1:* BODY[]\r\n");
    assert_eq!(out.matches("\\Seen").count(), 50, "{out}");
    let out = run(&mut a, "a3 SEARCH UNSEEN\r\n");
    assert!(out.contains("* SEARCH\r\n"), "{out}");
    let out = run(&mut a, "a4 FETCH 1:* BODY[]\r\n");
    assert!(!out.contains("FLAGS"), "already seen: {out}");
}

/// A folder for SORT and THREAD: `(subject, date, from, message-id,
/// references)` per message.
fn threads_folder() -> MemoryStore {
    let st = memory(0);
    for (subject, date, from, id, refs) in [
        (
            "Re: [list] plans",
            "Tue, 3 Jun 2025 09:00:00 +0000",
            "Zed <zed@x.org>",
            "<b@x>",
            "<a@x>",
        ),
        (
            "plans",
            "Mon, 2 Jun 2025 10:00:00 +0200",
            "ann@x.org",
            "<a@x>",
            "",
        ),
        ("Fwd: other", "garbage date", "", "<c@x>", ""),
        (
            "Re: plans",
            "Wed, 4 Jun 2025 09:00:00 +0000",
            "bob@x.org",
            "<d@x>",
            "<a@x> <b@x>",
        ),
    ] {
        let mut m = format!("Subject: {subject}\r\nDate: {date}\r\nMessage-ID: {id}\r\n");
        if !from.is_empty() {
            m.push_str(&format!("From: {from}\r\n"));
        }
        if !refs.is_empty() {
            m.push_str(&format!("References: {refs}\r\n"));
        }
        m.push_str("\r\nbody\r\n");
        st.deliver("INBOX", m.as_bytes(), Flags::default()).unwrap();
    }
    st
}

#[test]
fn sort_orders_by_each_key_with_ties_by_sequence() {
    let mut a = session(threads_folder());
    let caps = run(&mut a, "c CAPABILITY\r\n");
    assert!(
        caps.contains(" SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES"),
        "{caps}"
    );
    run(&mut a, "a1 SELECT INBOX\r\n");
    // "garbage date" sorts by its INTERNALDATE (2023, the delivery date).
    let out = run(&mut a, "a2 SORT (DATE) UTF-8 ALL\r\n");
    assert!(out.contains("* SORT 3 2 1 4\r\n"), "{out}");
    let out = run(&mut a, "a3 SORT (SUBJECT REVERSE DATE) UTF-8 ALL\r\n");
    assert!(out.contains("* SORT 3 4 1 2\r\n"), "{out}");
    let out = run(&mut a, "a4 SORT (FROM) US-ASCII NOT FROM zed\r\n");
    assert!(out.contains("* SORT 3 2 4\r\n"), "{out}");
    let out = run(&mut a, "a5 UID SORT (DISPLAYFROM) UTF-8 1:4\r\n");
    assert!(out.contains("* SORT 3 2 4 1\r\n"), "{out}");
    let out = run(&mut a, "a6 SORT (REVERSE SIZE) UTF-8 ALL\r\n");
    assert!(out.contains("* SORT 1 4 2 3\r\n"), "{out}");
    let out = run(&mut a, "a7 SORT (DATE) KOI8-Q ALL\r\n");
    assert!(out.contains("a7 NO [BADCHARSET"), "{out}");
}

#[test]
fn thread_by_references_and_by_subject() {
    let mut a = session(threads_folder());
    run(&mut a, "a1 SELECT INBOX\r\n");
    let out = run(&mut a, "a2 THREAD REFERENCES UTF-8 ALL\r\n");
    assert!(out.contains("* THREAD (3)(2 1 4)\r\n"), "{out}");
    let out = run(&mut a, "a3 UID THREAD ORDEREDSUBJECT UTF-8 ALL\r\n");
    assert!(out.contains("* THREAD (3)(2 (1)(4))\r\n"), "{out}");
    let out = run(&mut a, "a4 THREAD REFS UTF-8 ALL\r\n");
    assert!(out.contains("a4 BAD"), "{out}");
}

#[test]
fn sort_and_thread_can_be_turned_off() {
    let mut a = session(threads_folder());
    a.offer_sort_thread(false);
    assert!(!run(&mut a, "c CAPABILITY\r\n").contains("SORT"));
    run(&mut a, "a1 SELECT INBOX\r\n");
    assert!(run(&mut a, "a2 SORT (DATE) UTF-8 ALL\r\n").contains("a2 BAD"));
    assert!(run(&mut a, "a3 THREAD REFERENCES UTF-8 ALL\r\n").contains("a3 BAD"));
}

#[test]
fn search_reads_other_charsets_and_matches_caselessly() {
    let st = memory(0);
    let body = "Subject: =?UTF-8?Q?Stra=C3=9Fe?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nΣΟΦΊΑ\r\n";
    st.deliver("INBOX", body.as_bytes(), Flags::default())
        .unwrap();
    st.deliver("INBOX", MSG, Flags::default()).unwrap();
    let mut a = session(st);
    run(&mut a, "a1 SELECT INBOX\r\n");
    let out = run(&mut a, "a2 SEARCH SUBJECT STRASSE\r\n");
    assert!(out.contains("* SEARCH 1\r\n"), "{out}");
    let out = run(&mut a, "a3 SEARCH CHARSET UTF-8 BODY {10}\r\nσοφία\r\n");
    assert!(out.contains("* SEARCH 1\r\n"), "{out}");
    // "straße" in ISO-8859-1, and "σοφία" in ISO-8859-7, as literals.
    let mut input = b"a4 SEARCH CHARSET ISO-8859-1 SUBJECT {6}\r\nstra\xdfe\r\n".to_vec();
    input.extend_from_slice(b"a5 SEARCH CHARSET iso-8859-7 TEXT {5}\r\n\xf3\xef\xf6\xdf\xe1\r\n");
    let mut out = Vec::new();
    a.receive(&mut input, &mut out);
    let out = String::from_utf8(out).unwrap();
    assert_eq!(out.matches("* SEARCH 1\r\n").count(), 2, "{out}");
    let out = run(&mut a, "a6 SEARCH CHARSET X-MARTIAN SUBJECT x\r\n");
    assert!(
        out.contains("a6 NO [BADCHARSET (UTF-8 US-ASCII ISO-8859-1 "),
        "{out}"
    );
}

#[test]
fn esearch_and_esort_answer_what_return_asks() {
    let mut a = session(threads_folder());
    run(&mut a, "a1 SELECT INBOX\r\n");
    let out = run(&mut a, "a2 SEARCH RETURN (MIN MAX COUNT ALL) NOT 3\r\n");
    assert!(
        out.contains("* ESEARCH (TAG \"a2\") MIN 1 MAX 4 ALL 1:2,4 COUNT 3\r\n"),
        "{out}"
    );
    let out = run(&mut a, "a3 UID SEARCH RETURN () 9\r\n");
    assert!(out.contains("* ESEARCH (TAG \"a3\") UID\r\n"), "{out}");
    let out = run(&mut a, "a4 SEARCH RETURN (COUNT) 9\r\n");
    assert!(out.contains("* ESEARCH (TAG \"a4\") COUNT 0\r\n"), "{out}");
    // ESORT: ALL in sort order, MIN and MAX the first and last of it.
    let out = run(&mut a, "a5 SORT RETURN (ALL MIN MAX) (DATE) UTF-8 ALL\r\n");
    assert!(
        out.contains("* ESEARCH (TAG \"a5\") MIN 3 MAX 4 ALL 3,2,1,4\r\n"),
        "{out}"
    );
    crate::codec::validate::validate_responses(out.as_bytes()).unwrap();
    let out = run(&mut a, "a6 SEARCH RETURN (SAVE) ALL\r\n");
    assert!(out.contains("a6 BAD"), "{out}");
}

#[test]
fn quota_comes_from_maildirsize() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(dir.path());
    let mut a = session(st.clone());
    let out = run(&mut a, "a1 GETQUOTAROOT INBOX\r\n");
    assert!(
        out.starts_with("* QUOTAROOT \"INBOX\"\r\na1 OK"),
        "no quota: {out}"
    );
    assert!(run(&mut a, "a2 GETQUOTA ROOT\r\n").contains("a2 NO [NONEXISTENT]"));
    tools::set_quota(st.root(), "10240S,5C").unwrap();
    let msg = "x".repeat(1500);
    run(
        &mut a,
        &format!("a3 APPEND INBOX {{{}+}}\r\n{msg}\r\n", msg.len()),
    );
    let out = run(&mut a, "a4 GETQUOTAROOT INBOX\r\n");
    assert!(
        out.contains("* QUOTAROOT \"INBOX\" ROOT\r\n* QUOTA ROOT (STORAGE 2 10 MESSAGE 1 5)\r\n"),
        "{out}"
    );
    let out = run(&mut a, "a5 GETQUOTA root\r\n");
    assert!(
        out.contains("* QUOTA ROOT (STORAGE 2 10 MESSAGE 1 5)"),
        "{out}"
    );
    let out = run(&mut a, "a6 SETQUOTA ROOT (STORAGE 99999)\r\n");
    assert!(out.contains("a6 NO [NOPERM]"), "{out}");
    let out = run(&mut a, "a7 GETQUOTAROOT INBOX.nope\r\n");
    assert!(out.contains("a7 NO [NONEXISTENT]"), "{out}");
    crate::codec::validate::validate_responses(out.as_bytes()).unwrap();
}

/// Courier's magic trash: EXPUNGE moves the \Deleted messages into the
/// trash (made if missing) without \Deleted and \Draft; in the trash
/// itself EXPUNGE deletes.
#[test]
fn magic_trash_moves_expunged_messages() {
    let st = memory(3);
    let mut s = session(st.clone());
    s.move_expunged_to(Some("INBOX.Trash".into()));
    let out = run(&mut s, "c CAPABILITY\r\n");
    assert!(out.contains(" XMAGICTRASH"), "{out}");
    run(&mut s, "a SELECT INBOX\r\n");
    let out = run(
        &mut s,
        "b STORE 1:2 +FLAGS (\\Deleted \\Draft \\Flagged)\r\nc UID EXPUNGE 2:3\r\n",
    );
    assert!(
        out.contains("* 2 EXPUNGE\r\n") && out.contains("c OK"),
        "{out}"
    );
    let out = run(&mut s, "d STATUS INBOX.Trash (MESSAGES)\r\n");
    assert!(out.contains("(MESSAGES 1)"), "{out}");
    let out = run(
        &mut s,
        "e EXPUNGE\r\nf SELECT INBOX.Trash\r\ng FETCH 1:* (FLAGS)\r\n",
    );
    assert!(
        out.contains("* 1 EXPUNGE\r\n") && out.contains("e OK"),
        "{out}"
    );
    assert!(
        out.contains("* 1 FETCH (FLAGS (\\Flagged \\Recent))"),
        "{out}"
    );
    assert!(
        out.contains("* 2 FETCH (FLAGS (\\Flagged \\Recent))"),
        "{out}"
    );
    let out = run(
        &mut s,
        "h STORE 1 +FLAGS (\\Deleted)\r\ni EXPUNGE\r\nj STATUS INBOX.Trash (MESSAGES)\r\n",
    );
    assert!(out.contains("* 1 EXPUNGE\r\n"), "{out}");
    assert!(out.contains("(MESSAGES 1)"), "{out}");
}

#[test]
fn fetch_counts_message_bytes_as_stored_the_way_courier_splits_them() {
    let mut a = session(memory(1));
    run(&mut a, "a1 SELECT INBOX\r\n");
    assert_eq!(a.transferred(), super::Transferred::default());
    // MSG is 40 bytes stored: a 35-byte header (blank line included) and
    // a 5-byte body; the CRs FETCH adds are not counted.
    run(&mut a, "a2 FETCH 1 BODY[]\r\n");
    run(&mut a, "a3 FETCH 1 RFC822.HEADER\r\n");
    run(&mut a, "a4 FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]\r\n");
    run(&mut a, "a5 FETCH 1 BODY.PEEK[TEXT]<1.2>\r\n");
    // Courier counts BODY[HEADER] as body, unlike RFC822.HEADER.
    let out = run(&mut a, "a6 FETCH 1 (BODY.PEEK[HEADER] FLAGS)\r\n");
    assert!(out.contains("BODY[HEADER] {"), "{out}");
    assert_eq!(
        a.transferred(),
        super::Transferred {
            // The filtered fields count without line ends.
            headers: 35 + "Subject: test".len() as u64,
            body: 40 + 2 + 35,
        }
    );
}
