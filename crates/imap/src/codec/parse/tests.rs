//! Table-driven parser tests, including the RFC 3501 §8 sample session.

use crate::codec::types::*;
use crate::codec::{Decoder, Event, Limits};

/// Feed `input` (whole, literals inline) to a logged-in decoder and
/// collect events, skipping continuation requests. A streamed APPEND is
/// accepted and given back as the one command it was.
pub(crate) fn events(input: &[u8]) -> Vec<Event> {
    let mut d = Decoder::new(Limits::default());
    d.set_authenticated(true);
    let mut buf = input.to_vec();
    let mut out = Vec::new();
    let mut append: Option<(AppendStart, Vec<u8>)> = None;
    loop {
        match d.decode(&mut buf) {
            Event::NeedMore => break,
            Event::Continue => {}
            Event::AppendStart(start) => {
                d.accept_message();
                append = Some((start, Vec::new()));
            }
            Event::AppendData(data) => {
                if let Some((_, message)) = &mut append {
                    message.extend_from_slice(&data);
                }
            }
            Event::AppendDone => {
                let (start, message) = append.take().expect("an accepted APPEND");
                out.push(Event::Command {
                    tag: start.tag,
                    command: Command::Append {
                        mailbox: start.mailbox,
                        flags: start.flags,
                        date: start.date,
                        message,
                        kind: start.kind,
                    },
                });
            }
            e => out.push(e),
        }
    }
    assert!(buf.is_empty(), "unconsumed input");
    out
}

fn cmd(line: &str) -> Command {
    let evs = events(line.as_bytes());
    match evs.as_slice() {
        [Event::Command { tag, command }] => {
            assert_eq!(tag, "a1");
            command.clone()
        }
        other => panic!("{line:?} gave {other:?}"),
    }
}

/// A whole frame through the parser alone (the framer streams APPEND
/// messages instead of building this command).
fn parsed(line: &str) -> Result<Command, crate::codec::Error> {
    super::parse_command(line.as_bytes(), false, &Limits::default())
        .map(|(_, c)| c)
        .map_err(|(_, e)| e)
}

fn bad(line: &str) -> String {
    let evs = events(line.as_bytes());
    match evs.as_slice() {
        [Event::Bad { text, .. }] => text.clone(),
        other => panic!("{line:?} should be BAD, gave {other:?}"),
    }
}

fn mb(s: &str) -> Mailbox {
    Mailbox::new(s)
}

fn set(s: &[(u32, u32)]) -> SequenceSet {
    SequenceSet(
        s.iter()
            .map(|&(a, b)| SeqRange {
                start: if a == 0 {
                    SeqNum::Star
                } else {
                    SeqNum::Value(a)
                },
                end: if b == 0 {
                    SeqNum::Star
                } else {
                    SeqNum::Value(b)
                },
            })
            .collect(),
    )
}

fn date(y: u16, m: u8, d: u8) -> Date {
    Date::new(y, m, d).unwrap()
}

#[test]
fn simple_commands() {
    let table: &[(&str, Command)] = &[
        ("a1 CAPABILITY\r\n", Command::Capability),
        ("a1 noop\r\n", Command::Noop),
        ("a1 LOGOUT\r\n", Command::Logout),
        ("a1 STARTTLS\r\n", Command::StartTls),
        ("a1 CHECK\r\n", Command::Check),
        ("a1 CLOSE\r\n", Command::Close),
        ("a1 UNSELECT\r\n", Command::Unselect),
        ("a1 EXPUNGE\r\n", Command::Expunge { uids: None }),
        ("a1 IDLE\r\n", Command::Idle),
        ("a1 NAMESPACE\n", Command::Namespace),
        (
            "a1 UID EXPUNGE 3:5,7\r\n",
            Command::Expunge {
                uids: Some(set(&[(3, 5), (7, 7)])),
            },
        ),
        (
            "a1 LOGIN fred \"pass \\\"word\\\\\"\r\n",
            Command::Login {
                username: b"fred".to_vec(),
                password: b"pass \"word\\".to_vec(),
            },
        ),
        (
            "a1 LOGIN {4+}\r\nfred {3+}\r\nx y\r\n",
            Command::Login {
                username: b"fred".to_vec(),
                password: b"x y".to_vec(),
            },
        ),
        (
            "a1 AUTHENTICATE plain\r\n",
            Command::Authenticate {
                mechanism: "PLAIN".into(),
                initial_response: None,
            },
        ),
        (
            "a1 AUTHENTICATE PLAIN AGZyZWQAc2VjcmV0\r\n",
            Command::Authenticate {
                mechanism: "PLAIN".into(),
                initial_response: Some(b"\0fred\0secret".to_vec()),
            },
        ),
        (
            "a1 AUTHENTICATE EXTERNAL =\r\n",
            Command::Authenticate {
                mechanism: "EXTERNAL".into(),
                initial_response: Some(vec![]),
            },
        ),
        (
            "a1 SELECT inbox\r\n",
            Command::Select {
                mailbox: mb("INBOX"),
            },
        ),
        (
            "a1 EXAMINE \"INBOX.Sent\"\r\n",
            Command::Examine {
                mailbox: mb("INBOX.Sent"),
            },
        ),
        (
            "a1 CREATE INBOX.&Jjo-\r\n",
            Command::Create {
                mailbox: mb("INBOX.☺"),
            },
        ),
        (
            "a1 DELETE {3}\r\nfoo\r\n",
            Command::Delete { mailbox: mb("foo") },
        ),
        (
            "a1 RENAME INBOX INBOX.old\r\n",
            Command::Rename {
                from: mb("INBOX"),
                to: mb("INBOX.old"),
            },
        ),
        (
            "a1 SUBSCRIBE x\r\n",
            Command::Subscribe { mailbox: mb("x") },
        ),
        (
            "a1 UNSUBSCRIBE x\r\n",
            Command::Unsubscribe { mailbox: mb("x") },
        ),
        (
            "a1 LIST \"\" %\r\n",
            Command::List {
                reference: Some("".into()),
                pattern: Some("%".into()),
                data: ListData::default(),
            },
        ),
        (
            "a1 LIST INBOX. *\r\n",
            Command::List {
                reference: Some("INBOX.".into()),
                pattern: Some("*".into()),
                data: ListData::default(),
            },
        ),
        (
            "a1 LIST (ACL MYRIGHTS) \"\" INBOX\r\n",
            Command::List {
                reference: Some("".into()),
                pattern: Some("INBOX".into()),
                data: ListData {
                    acl: true,
                    myrights: true,
                    postaddress: false,
                },
            },
        ),
        (
            "a1 list(postaddress) \"\" %\r\n",
            Command::List {
                reference: Some("".into()),
                pattern: Some("%".into()),
                data: ListData {
                    postaddress: true,
                    ..ListData::default()
                },
            },
        ),
        (
            "a1 ACL STORE INBOX user=bob +lr\r\n",
            Command::CourierAcl {
                target: AclTarget::Mailbox(mb("INBOX")),
                change: CourierAclChange::Store {
                    identifier: "user=bob".into(),
                    rights: "+lr".into(),
                },
            },
        ),
        (
            "a1 ACL SET (INBOX.* \"x\") owner acdilrsw anyone \"\"\r\n",
            Command::CourierAcl {
                target: AclTarget::Patterns(vec![Some("INBOX.*".into()), Some("x".into())]),
                change: CourierAclChange::Set(vec![
                    ("owner".into(), "acdilrsw".into()),
                    ("anyone".into(), "".into()),
                ]),
            },
        ),
        (
            "a1 ACL DELETE INBOX -anyone\r\n",
            Command::CourierAcl {
                target: AclTarget::Mailbox(mb("INBOX")),
                change: CourierAclChange::Delete {
                    identifier: "-anyone".into(),
                },
            },
        ),
        (
            "a1 LSUB \"#news.\" comp.mail.*\r\n",
            Command::Lsub {
                reference: Some("#news.".into()),
                pattern: Some("comp.mail.*".into()),
            },
        ),
        (
            "a1 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n",
            Command::Status {
                mailbox: mb("blurdybloop"),
                items: vec![StatusItem::UidNext, StatusItem::Messages],
            },
        ),
        (
            "a1 COPY 2:4 MEETING\r\n",
            Command::Copy {
                uid: false,
                set: set(&[(2, 4)]),
                mailbox: mb("MEETING"),
            },
        ),
        (
            "a1 UID MOVE 1:* Trash\r\n",
            Command::Move {
                uid: true,
                set: set(&[(1, 0)]),
                mailbox: mb("Trash"),
            },
        ),
        (
            "a1 ENABLE UTF8=ACCEPT condstore\r\n",
            Command::Enable {
                capabilities: vec!["UTF8=ACCEPT".into(), "CONDSTORE".into()],
            },
        ),
        ("a1 ID NIL\r\n", Command::Id { parameters: None }),
        (
            "a1 ID (\"name\" \"mutt\" \"version\" NIL)\r\n",
            Command::Id {
                parameters: Some(vec![
                    ("name".into(), Some("mutt".into())),
                    ("version".into(), None),
                ]),
            },
        ),
        (
            "a1 GETQUOTA \"\"\r\n",
            Command::GetQuota { root: "".into() },
        ),
        (
            "a1 GETQUOTAROOT INBOX\r\n",
            Command::GetQuotaRoot {
                mailbox: mb("INBOX"),
            },
        ),
        (
            "a1 SETQUOTA \"\" (STORAGE 512)\r\n",
            Command::SetQuota {
                root: "".into(),
                limits: vec![("STORAGE".into(), 512)],
            },
        ),
        (
            "a1 GETACL INBOX\r\n",
            Command::GetAcl {
                mailbox: mb("INBOX"),
            },
        ),
        (
            "a1 SETACL INBOX fred +lr\r\n",
            Command::SetAcl {
                mailbox: mb("INBOX"),
                identifier: "fred".into(),
                rights: "+lr".into(),
            },
        ),
        (
            "a1 DELETEACL INBOX fred\r\n",
            Command::DeleteAcl {
                mailbox: mb("INBOX"),
                identifier: "fred".into(),
            },
        ),
        (
            "a1 MYRIGHTS INBOX\r\n",
            Command::MyRights {
                mailbox: mb("INBOX"),
            },
        ),
        (
            "a1 LISTRIGHTS INBOX fred\r\n",
            Command::ListRights {
                mailbox: mb("INBOX"),
                identifier: "fred".into(),
            },
        ),
        (
            "a1 UID SORT (REVERSE DATE subject) UTF-8 ALL\r\n",
            Command::Sort {
                uid: true,
                criteria: vec![
                    SortCriterion {
                        reverse: true,
                        key: SortKey::Date,
                    },
                    SortCriterion {
                        reverse: false,
                        key: SortKey::Subject,
                    },
                ],
                charset: "UTF-8".into(),
                search: SearchKey::All,
                ret: None,
            },
        ),
        (
            "a1 THREAD REFERENCES us-ascii SEEN 1:5\r\n",
            Command::Thread {
                uid: false,
                algorithm: ThreadAlgorithm::References,
                charset: "US-ASCII".into(),
                search: SearchKey::And(vec![
                    SearchKey::Seen,
                    SearchKey::SequenceSet(set(&[(1, 5)])),
                ]),
            },
        ),
    ];
    for (line, want) in table {
        assert_eq!(&cmd(line), want, "{line:?}");
    }
}

#[test]
fn store_and_flags() {
    assert_eq!(
        cmd("a1 STORE 2:4 +FLAGS (\\Deleted)\r\n"),
        Command::Store {
            uid: false,
            set: set(&[(2, 4)]),
            mode: StoreMode::Add,
            silent: false,
            flags: vec![Flag::Deleted],
        }
    );
    assert_eq!(
        cmd("a1 UID STORE 1,3 -flags.silent \\Seen $Forwarded \\Custom\r\n"),
        Command::Store {
            uid: true,
            set: set(&[(1, 1), (3, 3)]),
            mode: StoreMode::Remove,
            silent: true,
            flags: vec![
                Flag::Seen,
                Flag::Keyword("$Forwarded".into()),
                Flag::Extension("Custom".into())
            ],
        }
    );
    assert_eq!(
        cmd("a1 STORE * FLAGS ()\r\n"),
        Command::Store {
            uid: false,
            set: set(&[(0, 0)]),
            mode: StoreMode::Replace,
            silent: false,
            flags: vec![],
        }
    );
    bad("a1 STORE 1 FLAGS (\\*)\r\n");
    bad("a1 STORE 0 FLAGS (\\Seen)\r\n");
    bad("a1 STORE 1 XFLAGS (\\Seen)\r\n");
}

#[test]
fn append() {
    assert_eq!(
        parsed("a1 APPEND saved-messages (\\Seen) \" 7-Feb-1994 21:52:25 -0800\" {5}\r\nHello\r\n")
            .unwrap(),
        Command::Append {
            mailbox: mb("saved-messages"),
            flags: vec![Flag::Seen],
            date: Some(DateTime {
                date: date(1994, 2, 7),
                hour: 21,
                minute: 52,
                second: 25,
                zone_minutes: -480,
            }),
            message: b"Hello".to_vec(),
            kind: LiteralKind::Plain,
        }
    );
    assert_eq!(
        parsed("a1 APPEND INBOX {3+}\r\na\r\n\r\n").unwrap(),
        Command::Append {
            mailbox: mb("INBOX"),
            flags: vec![],
            date: None,
            message: b"a\r\n".to_vec(),
            kind: LiteralKind::Plain,
        }
    );
    assert_eq!(
        parsed("a1 APPEND INBOX UTF8 (~{2}\r\n\0x)\r\n").unwrap(),
        Command::Append {
            mailbox: mb("INBOX"),
            flags: vec![],
            date: None,
            message: b"\0x".to_vec(),
            kind: LiteralKind::Utf8,
        }
    );
    assert!(parsed("a1 APPEND INBOX \"32-Feb-1994 21:52:25 -0800\" {1}\r\nx\r\n").is_err());
    assert!(parsed("a1 APPEND INBOX hello\r\n").is_err());
    // Through the framer: the message is announced, not parsed.
    let evs = events(b"a1 APPEND INBOX \"32-Feb-1994 21:52:25 -0800\" {1}\r\n");
    assert!(matches!(evs.as_slice(), [Event::Bad { .. }]), "{evs:?}");
    bad("a1 APPEND INBOX hello\r\n");
}

#[test]
fn fetch() {
    use FetchAttr::*;
    let f = |line: &str| match cmd(line) {
        Command::Fetch { items, .. } => items,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        f("a1 FETCH 1 ALL\r\n"),
        vec![Flags, InternalDate, Rfc822Size, Envelope]
    );
    assert_eq!(
        f("a1 FETCH 1 fast\r\n"),
        vec![Flags, InternalDate, Rfc822Size]
    );
    assert_eq!(
        f("a1 FETCH 1 FULL\r\n"),
        vec![Flags, InternalDate, Rfc822Size, Envelope, Body]
    );
    assert_eq!(
        f("a1 FETCH 1 (UID RFC822.SIZE RFC822 RFC822.HEADER RFC822.TEXT BODY BODYSTRUCTURE ENVELOPE)\r\n"),
        vec![Uid, Rfc822Size, Rfc822, Rfc822Header, Rfc822Text, Body, BodyStructure, Envelope]
    );
    assert_eq!(
        f("a1 FETCH 1 (BODY[] BODY.PEEK[1.2.MIME]<0.100> body[header.fields (From \"To\")] BODY[TEXT] BODY[3.HEADER.FIELDS.NOT (X)])\r\n"),
        vec![
            BodySection { peek: false, section: Section::default(), partial: None },
            BodySection {
                peek: true,
                section: Section { part: vec![1, 2], text: Some(SectionText::Mime) },
                partial: Some(Partial { origin: 0, count: 100 }),
            },
            BodySection {
                peek: false,
                section: Section {
                    part: vec![],
                    text: Some(SectionText::HeaderFields(vec!["From".into(), "To".into()])),
                },
                partial: None,
            },
            BodySection {
                peek: false,
                section: Section { part: vec![], text: Some(SectionText::Text) },
                partial: None,
            },
            BodySection {
                peek: false,
                section: Section {
                    part: vec![3],
                    text: Some(SectionText::HeaderFieldsNot(vec!["X".into()])),
                },
                partial: None,
            },
        ]
    );
    assert_eq!(
        f("a1 FETCH 1 BODY[4.2]\r\n"),
        vec![BodySection {
            peek: false,
            section: Section {
                part: vec![4, 2],
                text: None
            },
            partial: None,
        }]
    );
    match cmd("a1 UID FETCH 4827313:4828442 FLAGS\r\n") {
        Command::Fetch { uid, set: s, items } => {
            assert!(uid);
            assert_eq!(s, set(&[(4827313, 4828442)]));
            assert_eq!(items, vec![Flags]);
        }
        other => panic!("{other:?}"),
    }
    bad("a1 FETCH 1 (ALL)\r\n");
    bad("a1 FETCH 1 BODY[MIME]\r\n");
    bad("a1 FETCH 1 BODY[0]\r\n");
    bad("a1 FETCH 1 BODY[1]<5.0>\r\n");
    bad("a1 FETCH 1 (FLAGS\r\n");
    bad("a1 FETCH 1 FOO\r\n");
}

#[test]
fn search_and_sort_return_options() {
    use crate::codec::types::ReturnOption::*;
    let ret = |line: &str| match cmd(line) {
        Command::Search { ret, .. } | Command::Sort { ret, .. } => ret,
        other => panic!("{other:?}"),
    };
    assert_eq!(ret("a1 SEARCH ALL\r\n"), None);
    assert_eq!(ret("a1 SEARCH RETURN () ALL\r\n"), Some(vec![All]));
    assert_eq!(
        ret("a1 UID SEARCH RETURN (min COUNT min) CHARSET UTF-8 ALL\r\n"),
        Some(vec![Min, Count])
    );
    assert_eq!(
        ret("a1 SORT RETURN (MAX ALL) (DATE) UTF-8 ALL\r\n"),
        Some(vec![Max, All])
    );
    bad("a1 SEARCH RETURN (PARTIAL 1:5) ALL\r\n");
    bad("a1 SEARCH RETURN ALL\r\n");
    bad("a1 SEARCH RETURN (MIN\r\n");
}

#[test]
fn search() {
    use SearchKey::*;
    let s = |line: &str| match cmd(line) {
        Command::Search {
            charset, criteria, ..
        } => (charset, criteria),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        s("a1 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n"),
        (
            None,
            And(vec![
                Flagged,
                Since(date(1994, 2, 1)),
                Not(Box::new(From(b"Smith".to_vec())))
            ])
        )
    );
    assert_eq!(
        s("a1 SEARCH CHARSET UTF-8 TEXT {6}\r\nXXXXXX\r\n"),
        (Some("UTF-8".into()), Text(b"XXXXXX".to_vec()))
    );
    assert_eq!(
        s("a1 SEARCH OR (SEEN 2:*) NOT UID 5 HEADER X-Foo bar\r\n"),
        (
            None,
            And(vec![
                Or(
                    Box::new(And(vec![Seen, SequenceSet(set(&[(2, 0)]))])),
                    Box::new(Not(Box::new(Uid(set(&[(5, 5)])))))
                ),
                Header("X-Foo".into(), b"bar".to_vec()),
            ])
        )
    );
    let all = "a1 SEARCH ALL ANSWERED BCC a BEFORE \"1-Jan-2000\" BODY b CC c DELETED DRAFT \
               FLAGGED FROM d HEADER e f KEYWORD $g LARGER 1 NEW NOT SEEN OLD ON 2-Mar-2001 \
               OR SEEN UNSEEN RECENT SEEN SENTBEFORE 1-Jan-2000 SENTON 1-Jan-2000 SENTSINCE \
               1-Jan-2000 SINCE 1-Jan-2000 SMALLER 9 SUBJECT h TEXT i TO j UID 1:* UNANSWERED \
               UNDELETED UNDRAFT UNFLAGGED UNKEYWORD k UNSEEN 1,2\r\n";
    match s(all).1 {
        And(keys) => assert_eq!(keys.len(), 36),
        other => panic!("{other:?}"),
    }
    bad("a1 SEARCH\r\n");
    bad("a1 SEARCH FOO\r\n");
    bad("a1 SEARCH (SEEN\r\n");
    bad("a1 SEARCH SINCE 1-Foo-2000\r\n");
    bad("a1 SEARCH LARGER x\r\n");
    // Nesting is bounded.
    let deep = format!("a1 SEARCH {}ALL{}\r\n", "(".repeat(100), ")".repeat(100));
    assert!(bad(&deep).contains("deep"));
    let deep = format!("a1 SEARCH {}ALL\r\n", "NOT ".repeat(100));
    assert!(bad(&deep).contains("deep"));
}

#[test]
fn mailbox_names() {
    assert_eq!(
        cmd("a1 SELECT InBoX\r\n"),
        Command::Select {
            mailbox: mb("INBOX")
        }
    );
    assert_eq!(
        cmd("a1 SELECT \"~peter/mail/&U,BTFw-/&ZeVnLIqe-\"\r\n"),
        Command::Select {
            mailbox: mb("~peter/mail/台北/日本語")
        }
    );
    // Invalid modified UTF-7: a name no mailbox has, not a syntax error.
    let Command::Select { mailbox } = cmd("a1 SELECT &Jjo\r\n") else {
        panic!("not a SELECT");
    };
    assert!(!mailbox.is_decodable());
    assert_eq!(
        cmd("a1 LIST \"\" &Jjo%\r\n"),
        Command::List {
            reference: Some("".into()),
            pattern: None,
            data: ListData::default(),
        }
    );
    // With UTF8=ACCEPT, names are UTF-8 as sent.
    let mut d = Decoder::new(Limits::default());
    d.set_utf8_accept(true);
    let mut buf = "a1 SELECT \"INBOX.日本語\"\r\n".as_bytes().to_vec();
    assert_eq!(
        d.decode(&mut buf),
        Event::Command {
            tag: "a1".into(),
            command: Command::Select {
                mailbox: mb("INBOX.日本語")
            }
        }
    );
}

#[test]
fn syntax_errors_keep_tag() {
    for line in [
        "a1 FOO\r\n",
        "a1 SELECT\r\n",
        "a1 SELECT a b\r\n",
        "a1 LOGIN a\r\n",
        "a1  NOOP\r\n",
        "a1 NOOP extra\r\n",
        "a1 UID FOO 1\r\n",
        "a1 STATUS x (FOO)\r\n",
        "a1 LOGIN \"unterminated\r\n",
    ] {
        match events(line.as_bytes()).as_slice() {
            [Event::Bad { tag: Some(t), .. }] => assert_eq!(t, "a1", "{line:?}"),
            other => panic!("{line:?}: {other:?}"),
        }
    }
    match events(b"+bad NOOP\r\n").as_slice() {
        [Event::Bad { tag: None, .. }] => {}
        other => panic!("{other:?}"),
    }
}

/// RFC 3501 §8: the client lines of the sample session.
#[test]
fn rfc3501_section8_session() {
    let session = "a001 login mrc secret\r\n\
                   a002 select inbox\r\n\
                   a003 fetch 12 full\r\n\
                   a004 fetch 12 body[header]\r\n\
                   a005 store 12 +flags \\deleted\r\n\
                   a006 logout\r\n";
    let evs = events(session.as_bytes());
    let names: Vec<_> = evs
        .iter()
        .map(|e| match e {
            Event::Command { tag, command } => format!("{tag} {}", command.name()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        names,
        [
            "a001 LOGIN",
            "a002 SELECT",
            "a003 FETCH",
            "a004 FETCH",
            "a005 STORE",
            "a006 LOGOUT"
        ]
    );
}

#[test]
fn sequence_set_limit() {
    let mut d = Decoder::new(Limits {
        max_sequence_ranges: 3,
        ..Limits::default()
    });
    let mut buf = b"a1 FETCH 1,2,3 FLAGS\r\na2 FETCH 1,2,3,4 FLAGS\r\n".to_vec();
    assert!(matches!(d.decode(&mut buf), Event::Command { .. }));
    match d.decode(&mut buf) {
        Event::Bad { tag, text } => {
            assert_eq!(tag.as_deref(), Some("a2"));
            assert!(text.contains("Sequence set"), "{text}");
        }
        other => panic!("{other:?}"),
    }
}

/// Every command name the precheck knows parses (or fails with a syntax
/// error, not "unknown command").
#[test]
fn known_commands_are_dispatched() {
    for name in Command::NAMES.iter().filter(|n| !n.starts_with("UID ")) {
        let line = format!("a1 {name} \r\n");
        for e in events(line.as_bytes()) {
            if let Event::Bad { text, .. } = e {
                assert!(!text.starts_with("Unknown command"), "{name}: {text}");
            }
        }
    }
}

/// `Command::name` is what a client writes (for logs).
#[test]
fn command_names() {
    assert_eq!(cmd("a1 UID SEARCH ALL\r\n").name(), "UID SEARCH");
    assert_eq!(cmd("a1 UID EXPUNGE 1\r\n").name(), "UID EXPUNGE");
}

mod hostile {
    use super::*;
    use proptest::prelude::*;

    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "FETCH",
                "UID",
                "STORE",
                "SEARCH",
                "APPEND",
                "LOGIN",
                "SELECT",
                "LIST",
                "STATUS",
                "COPY",
                "MOVE",
                "SORT",
                "THREAD",
                "ID",
                "ENABLE",
                "AUTHENTICATE",
                "SETQUOTA",
                "SETACL",
                "BODY[",
                "BODY.PEEK[",
                "HEADER.FIELDS",
                "]",
                "(",
                ")",
                "<",
                ">",
                "*",
                ":",
                ",",
                ".",
                "\"",
                "\\",
                "NOT",
                "OR",
                "+FLAGS",
                "\\Seen",
                "NIL",
                "CHARSET",
                "1-Jan-2000",
                "\"01-Jan-2000 00:00:00 +0000\"",
                "&Jjo-",
                "&",
                "~",
                " ",
                "  ",
                "%",
                "]",
                "[",
                "4294967296",
                "0",
                "1",
                "\u{e9}",
            ])
            .prop_map(str::to_string),
            "[ -~]{1,6}".prop_filter("no literal announcement", |s| !s.contains('{')),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Any single line without a literal announcement yields exactly one
        /// answer, and the next command still decodes: the stream stays in
        /// sync whatever the client sends.
        #[test]
        fn token_soup_stays_in_sync(tokens in proptest::collection::vec(token(), 0..20), tagged in any::<bool>()) {
            let mut line = if tagged { "t ".to_string() } else { String::new() };
            line.push_str(&tokens.concat());
            prop_assume!(!line.contains('{') && !line.contains('\r') && !line.contains('\n'));
            prop_assume!(!line.trim().is_empty());
            let input = format!("{line}\r\nz NOOP\r\n");
            let evs = events(input.as_bytes());
            prop_assert_eq!(evs.len(), 2, "{:?}", evs);
            prop_assert_eq!(
                &evs[1],
                &Event::Command { tag: "z".into(), command: Command::Noop }
            );
        }
    }
}

/// Differential test: commands generated at random by imap-codec (an
/// independent implementation) and encoded by it must parse here, except
/// for extensions Courser does not implement.
mod differential {
    use super::*;
    use arbitrary::{Arbitrary, Unstructured};
    use imap_codec::encode::Encoder;
    use imap_codec::imap_types::command::Command as Theirs;
    use imap_codec::CommandCodec;

    /// A small deterministic generator, so the test needs no seed file.
    fn bytes(seed: u64, n: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    /// Refusals that are deliberate: extensions not implemented,
    /// non-UTF-8 where text is required, and the empty FETCH
    /// item list RFC 3501 §9 does not allow (imap-codec encodes it anyway).
    fn expected(wire: &[u8], evs: &[Event]) -> bool {
        let [Event::Bad { text, .. }] = evs else {
            return false;
        };
        let wire = String::from_utf8_lossy(wire);
        // Quota roots, ACL identifiers and header field names are text.
        text.contains("invalid UTF-8")
            // RFC 9051 STATUS DELETED / DELETED-STORAGE.
            || (text.contains("unknown STATUS item") && wire.contains("DELETED"))
            || text.starts_with("Unknown command: COMPRESS")
            || (text.contains("unknown FETCH item") && (wire.contains("BINARY") || wire.contains(" ()")))
    }

    /// `COURSER_DIFF_SEEDS` raises the number of cases for a longer run.
    fn seeds() -> u64 {
        std::env::var("COURSER_DIFF_SEEDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(4000)
    }

    #[test]
    fn imap_codec_commands_parse() {
        let mut failures = Vec::new();
        let mut tried = 0;
        for seed in 0..seeds() {
            let data = bytes(seed, 512);
            let mut u = Unstructured::new(&data);
            let Ok(cmd) = Theirs::arbitrary(&mut u) else {
                continue;
            };
            let wire = CommandCodec::default().encode(&cmd).dump();
            tried += 1;
            let evs = events(&wire);
            if !matches!(evs.as_slice(), [Event::Command { .. }]) && !expected(&wire, &evs) {
                failures.push((String::from_utf8_lossy(&wire).into_owned(), evs));
            }
        }
        for (wire, evs) in failures.iter().take(40) {
            eprintln!("{wire:?}\n    {evs:?}");
        }
        assert!(tried > 100, "generator produced only {tried} commands");
        assert!(failures.is_empty(), "{} of {tried} failed", failures.len());
    }
}

#[test]
fn every_command_name_is_listed_once() {
    let lines = [
        "CAPABILITY",
        "NOOP",
        "LOGOUT",
        "STARTTLS",
        "AUTHENTICATE PLAIN",
        "LOGIN a b",
        "SELECT INBOX",
        "EXAMINE INBOX",
        "CREATE a",
        "DELETE a",
        "RENAME a b",
        "SUBSCRIBE a",
        "UNSUBSCRIBE a",
        "LIST \"\" *",
        "LSUB \"\" *",
        "STATUS INBOX (MESSAGES)",
        "APPEND INBOX {1+}\r\nx",
        "CHECK",
        "CLOSE",
        "UNSELECT",
        "EXPUNGE",
        "UID EXPUNGE 1",
        "SEARCH ALL",
        "UID SEARCH ALL",
        "FETCH 1 FLAGS",
        "UID FETCH 1 FLAGS",
        "STORE 1 +FLAGS (\\Seen)",
        "UID STORE 1 +FLAGS (\\Seen)",
        "COPY 1 a",
        "UID COPY 1 a",
        "MOVE 1 a",
        "UID MOVE 1 a",
        "IDLE",
        "NAMESPACE",
        "ENABLE UTF8=ACCEPT",
        "ID NIL",
        "GETQUOTA \"\"",
        "GETQUOTAROOT INBOX",
        "SETQUOTA \"\" (STORAGE 1)",
        "GETACL INBOX",
        "SETACL INBOX fred lr",
        "DELETEACL INBOX fred",
        "LISTRIGHTS INBOX fred",
        "MYRIGHTS INBOX",
        "SORT (DATE) UTF-8 ALL",
        "UID SORT (DATE) UTF-8 ALL",
        "THREAD REFERENCES UTF-8 ALL",
        "UID THREAD REFERENCES UTF-8 ALL",
    ];
    let names: Vec<&str> = lines
        .iter()
        .map(|l| parsed(&format!("a1 {l}\r\n")).unwrap().name())
        .collect();
    assert_eq!(names, Command::NAMES);
}
