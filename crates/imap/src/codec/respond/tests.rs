//! Writer tests: exact output for fixed cases, and every writer's output
//! parsed by the independent imap-codec parser (strict, no quirks).

use super::*;
use crate::codec::types::*;
use crate::codec::validate::{validate_greeting, validate_response};
use proptest::prelude::*;

fn valid(out: &[u8]) {
    let used = validate_response(out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        used,
        out.len(),
        "trailing data after {:?}",
        String::from_utf8_lossy(out)
    );
}

fn w(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    f(&mut out);
    valid(&out);
    out
}

#[test]
fn status_responses() {
    assert_eq!(
        w(|o| tagged(
            o,
            "a1",
            Status::Ok,
            Some(&Code::ReadWrite),
            "SELECT completed"
        )),
        b"a1 OK [READ-WRITE] SELECT completed\r\n"
    );
    assert_eq!(
        w(|o| tagged(o, "a1", Status::No, None, "")),
        b"a1 NO Done.\r\n"
    );
    assert_eq!(
        w(|o| tagged(o, "a1", Status::Bad, None, "line\r\nbreak")),
        b"a1 BAD line  break\r\n"
    );
    assert_eq!(
        w(|o| untagged(o, Status::Ok, None, "[fake] x")),
        b"* OK (fake] x\r\n"
    );
    let codes = vec![
        Code::Alert,
        Code::BadCharset(vec![]),
        Code::BadCharset(vec!["UTF-8".into(), "US-ASCII".into()]),
        Code::Capability(vec!["IMAP4rev1".into(), "IDLE".into(), "AUTH=PLAIN".into()]),
        Code::Parse,
        Code::PermanentFlags {
            flags: vec![Flag::Seen, Flag::Deleted, Flag::Keyword("$Junk".into())],
            keywords: true,
        },
        Code::PermanentFlags {
            flags: vec![],
            keywords: false,
        },
        Code::ReadOnly,
        Code::ReadWrite,
        Code::TryCreate,
        Code::UidNext(4392),
        Code::UidValidity(3857529045),
        Code::Unseen(12),
        Code::AppendUid {
            uidvalidity: 38505,
            uids: SequenceSet::single(3955),
        },
        Code::CopyUid {
            uidvalidity: 38505,
            source: SequenceSet::from_numbers(&[304, 319, 320, 321]).unwrap(),
            dest: SequenceSet::from_numbers(&[3956, 3957, 3958, 3959]).unwrap(),
        },
        Code::UidNotSticky,
        Code::Closed,
        Code::Unavailable,
        Code::AuthenticationFailed,
        Code::AuthorizationFailed,
        Code::Expired,
        Code::PrivacyRequired,
        Code::ContactAdmin,
        Code::NoPerm,
        Code::InUse,
        Code::ExpungeIssued,
        Code::Corruption,
        Code::ServerBug,
        Code::ClientBug,
        Code::Cannot,
        Code::Limit,
        Code::OverQuota,
        Code::AlreadyExists,
        Code::Nonexistent,
        Code::Other {
            name: "X-FOO".into(),
            text: Some("a]b".into()),
        },
    ];
    for c in &codes {
        w(|o| tagged(o, "t", Status::No, Some(c), "text"));
        w(|o| untagged(o, Status::Ok, Some(c), "text"));
    }
    let mut o = Vec::new();
    untagged(
        &mut o,
        Status::Ok,
        Some(&Code::Capability(vec!["IMAP4rev1".into()])),
        "Courser ready.",
    );
    validate_greeting(&o).unwrap();
    o.clear();
    untagged(&mut o, Status::PreAuth, None, "Logged in as fred");
    validate_greeting(&o).unwrap();
    assert_eq!(w(|o| bye(o, None, "Autologout")), b"* BYE Autologout\r\n");
    assert_eq!(
        w(|o| continuation(o, "Ready for literal")),
        b"+ Ready for literal\r\n"
    );
    assert_eq!(w(|o| continuation_base64(o, b"")), b"+ \r\n");
    w(|o| continuation_base64(o, b"<1896.697170952@postoffice.example.net>"));
    assert_eq!(
        w(|o| bad(o, None, "Syntax error")),
        b"* BAD Syntax error\r\n"
    );
}

#[test]
fn mailbox_data() {
    assert_eq!(
        w(|o| list(
            o,
            &[ListAttr::HasNoChildren],
            Some('.'),
            "INBOX.日本語",
            false
        )),
        b"* LIST (\\HasNoChildren) \".\" \"INBOX.&ZeVnLIqe-\"\r\n"
    );
    assert_eq!(
        w(|o| list(
            o,
            &[ListAttr::NoSelect, ListAttr::HasChildren],
            Some('/'),
            "a \"b\"",
            false
        )),
        b"* LIST (\\Noselect \\HasChildren) \"/\" \"a \\\"b\\\"\"\r\n"
    );
    w(|o| list(o, &[], None, "", false));
    w(|o| {
        list(
            o,
            &[ListAttr::Other("Sent".into()), ListAttr::Marked],
            Some('\\'),
            "x",
            false,
        )
    });
    w(|o| {
        lsub(
            o,
            &[ListAttr::Unmarked, ListAttr::NoInferiors],
            Some('.'),
            "INBOX",
            false,
        )
    });
    assert_eq!(
        w(|o| list(o, &[], Some('.'), "INBOX.日本語", true)),
        "* LIST () \".\" \"INBOX.日本語\"\r\n".as_bytes()
    );
    assert_eq!(
        w(|o| status(
            o,
            "blurdybloop",
            &[(StatusItem::Messages, 231), (StatusItem::UidNext, 44292)],
            false
        )),
        b"* STATUS \"blurdybloop\" (MESSAGES 231 UIDNEXT 44292)\r\n"
    );
    w(|o| {
        status(
            o,
            "x",
            &[
                (StatusItem::Recent, 1),
                (StatusItem::UidValidity, 2),
                (StatusItem::Unseen, 3),
            ],
            false,
        )
    });
    assert_eq!(
        w(|o| flags(
            o,
            &[
                Flag::Answered,
                Flag::Flagged,
                Flag::Deleted,
                Flag::Seen,
                Flag::Draft
            ]
        )),
        b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
    );
    assert_eq!(w(|o| exists(o, 23)), b"* 23 EXISTS\r\n");
    assert_eq!(w(|o| recent(o, 0)), b"* 0 RECENT\r\n");
    assert_eq!(w(|o| expunge(o, 3)), b"* 3 EXPUNGE\r\n");
    let ns = |p: &str| NamespaceDesc {
        prefix: p.into(),
        delimiter: Some('.'),
    };
    assert_eq!(
        w(|o| namespace(o, &[ns("INBOX.")], &[], &[ns("#shared.")], false)),
        b"* NAMESPACE ((\"INBOX.\" \".\")) NIL ((\"#shared.\" \".\"))\r\n"
    );
    w(|o| namespace(o, &[], &[], &[], false));
}

#[test]
fn misc_data() {
    assert_eq!(
        w(|o| capability(o, &["IMAP4rev1", "LITERAL+", "SASL-IR", "AUTH=PLAIN"])),
        b"* CAPABILITY IMAP4rev1 LITERAL+ SASL-IR AUTH=PLAIN\r\n"
    );
    assert_eq!(w(|o| search(o, &[])), b"* SEARCH\r\n");
    assert_eq!(w(|o| search(o, &[2, 3, 6])), b"* SEARCH 2 3 6\r\n");
    assert_eq!(w(|o| sort(o, &[5, 1])), b"* SORT 5 1\r\n");
    assert_eq!(w(|o| sort(o, &[])), b"* SORT\r\n");
    // A forest from `(message, children)` pairs, roots listed apart.
    let forest = |nodes: &[(Option<u32>, &[usize])], roots: &[usize]| ThreadForest {
        nodes: nodes
            .iter()
            .map(|(message, children)| ThreadNode {
                message: *message,
                children: children.to_vec(),
            })
            .collect(),
        roots: roots.to_vec(),
    };
    // RFC 5256 §4 example: (2)(3 6 (4 23)(44 7 96)).
    let example = forest(
        &[
            (Some(2), &[]),
            (Some(3), &[2]),
            (Some(6), &[3, 5]),
            (Some(4), &[4]),
            (Some(23), &[]),
            (Some(44), &[6]),
            (Some(7), &[7]),
            (Some(96), &[]),
        ],
        &[0, 1],
    );
    assert_eq!(
        w(|o| thread(o, &example)),
        b"* THREAD (2)(3 6 (4 23)(44 7 96))\r\n"
    );
    let dummy = forest(
        &[
            (None, &[1, 2]),
            (Some(3), &[]),
            (Some(5), &[]),
            (Some(9), &[]),
        ],
        &[0, 3],
    );
    assert_eq!(w(|o| thread(o, &dummy)), b"* THREAD ((3)(5))(9)\r\n");
    assert_eq!(w(|o| thread(o, &ThreadForest::default())), b"* THREAD\r\n");
    // A 100 000-message reply chain neither recurses nor nests.
    let chain = ThreadForest {
        nodes: (1..=100_000u32)
            .map(|n| ThreadNode {
                message: Some(n),
                children: if n < 100_000 {
                    vec![n as usize]
                } else {
                    vec![]
                },
            })
            .collect(),
        roots: vec![0],
    };
    let mut o = Vec::new();
    thread(&mut o, &chain);
    assert!(o.starts_with(b"* THREAD (1 2 3 "));
    assert!(o.ends_with(b" 99999 100000)\r\n"));
    assert_eq!(
        w(|o| quota(o, "", &[("STORAGE", 10, 512), ("MESSAGE", 1, 100)])),
        b"* QUOTA \"\" (STORAGE 10 512 MESSAGE 1 100)\r\n"
    );
    assert_eq!(
        w(|o| quotaroot(o, "INBOX", &["ROOT"], false)),
        b"* QUOTAROOT \"INBOX\" ROOT\r\n"
    );
    // imap-codec has no ACL support: `validate` checks the grammar itself.
    let mut o = Vec::new();
    acl(
        &mut o,
        "INBOX",
        &[("fred", "lrswipkxtea"), ("a b", "")],
        false,
    );
    myrights(&mut o, "INBOX", "lr", false);
    listrights(&mut o, "INBOX", "fred", "", &["l", "r"], false);
    assert_eq!(
        o,
        b"* ACL \"INBOX\" fred lrswipkxtea \"a b\" \"\"\r\n* MYRIGHTS \"INBOX\" lr\r\n* LISTRIGHTS \"INBOX\" fred \"\" l r\r\n"
    );
    assert_eq!(crate::codec::validate::validate_responses(&o), Ok(3));
    assert_eq!(
        w(|o| enabled(o, &["UTF8=ACCEPT"])),
        b"* ENABLED UTF8=ACCEPT\r\n"
    );
    assert_eq!(w(|o| enabled::<&str>(o, &[])), b"* ENABLED\r\n");
    assert_eq!(w(|o| id(o, None)), b"* ID NIL\r\n");
    assert_eq!(
        w(|o| id(
            o,
            Some(&[("name".into(), Some("Courser".into())), ("x".into(), None)])
        )),
        b"* ID (\"name\" \"Courser\" \"x\" NIL)\r\n"
    );
}

fn sample_envelope() -> Envelope {
    let addr = |n: Option<&str>, m: &str, h: &str| Address {
        name: n.map(|s| s.as_bytes().to_vec()),
        adl: None,
        mailbox: Some(m.as_bytes().to_vec()),
        host: Some(h.as_bytes().to_vec()),
    };
    Envelope {
        date: Some(b"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)".to_vec()),
        subject: Some(b"IMAP4rev1 WG mtg summary and minutes".to_vec()),
        from: vec![addr(Some("Terry Gray"), "gray", "cac.washington.edu")],
        sender: vec![addr(Some("Terry Gray"), "gray", "cac.washington.edu")],
        reply_to: vec![addr(Some("Terry Gray"), "gray", "cac.washington.edu")],
        to: vec![addr(None, "imap", "cac.washington.edu")],
        cc: vec![
            addr(None, "minutes", "CNRI.Reston.VA.US"),
            addr(Some("John Klensin"), "KLENSIN", "MIT.EDU"),
        ],
        bcc: vec![],
        in_reply_to: None,
        message_id: Some(b"<B27397-0100000@cac.washington.edu>".to_vec()),
    }
}

fn text_part(sub: &str, size: u64, lines: u64) -> BodyStructure {
    BodyStructure {
        content_type: b"TEXT".to_vec(),
        subtype: sub.as_bytes().to_vec(),
        params: vec![(b"CHARSET".to_vec(), b"US-ASCII".to_vec())],
        encoding: b"7BIT".to_vec(),
        size,
        kind: BodyKind::Text { lines },
        ..Default::default()
    }
}

#[test]
fn fetch_data() {
    let env = sample_envelope();
    let mut out = Vec::new();
    let mut f = FetchWriter::new(&mut out, 12);
    f.uid(4827313)
        .flags(&[Flag::Seen, Flag::Recent])
        .internal_date(&DateTime {
            date: Date::new(1996, 7, 7).unwrap(),
            hour: 2,
            minute: 44,
            second: 25,
            zone_minutes: -420,
        })
        .rfc822_size(4286)
        .envelope(&env);
    f.finish();
    valid(&out);
    let s = String::from_utf8(out).unwrap();
    assert!(s.starts_with("* 12 FETCH (UID 4827313 FLAGS (\\Seen \\Recent) INTERNALDATE \" 7-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" "), "{s}");
    assert!(s.contains("((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\"))"));

    let mixed = BodyStructure {
        content_type: b"MULTIPART".to_vec(),
        subtype: b"MIXED".to_vec(),
        params: vec![(b"BOUNDARY".to_vec(), b"xyz".to_vec())],
        kind: BodyKind::Multipart {
            parts: vec![
                text_part("PLAIN", 1152, 23),
                BodyStructure {
                    content_type: b"APPLICATION".to_vec(),
                    subtype: b"PDF".to_vec(),
                    params: vec![(b"NAME".to_vec(), "caf\u{e9}.pdf".as_bytes().to_vec())],
                    id: Some(b"<960723163407.20117h@cac.washington.edu>".to_vec()),
                    description: Some(b"Compiler diff".to_vec()),
                    encoding: b"BASE64".to_vec(),
                    size: 4554,
                    md5: Some(b"Q2hlY2sgSW50ZWdyaXR5IQ==".to_vec()),
                    disposition: Some((
                        b"ATTACHMENT".to_vec(),
                        vec![(b"FILENAME".to_vec(), b"a\"b.pdf".to_vec())],
                    )),
                    language: vec![b"en".to_vec(), b"de".to_vec()],
                    location: Some(b"http://x/".to_vec()),
                    kind: BodyKind::Basic,
                },
                BodyStructure {
                    content_type: b"MESSAGE".to_vec(),
                    subtype: b"RFC822".to_vec(),
                    encoding: vec![],
                    size: 300,
                    language: vec![b"fr".to_vec()],
                    kind: BodyKind::Message {
                        envelope: Box::new(Envelope::default()),
                        body: Box::new(text_part("HTML", 10, 1)),
                        lines: 12,
                    },
                    ..Default::default()
                },
                BodyStructure {
                    content_type: b"MULTIPART".to_vec(),
                    subtype: b"ALTERNATIVE".to_vec(),
                    kind: BodyKind::Multipart { parts: vec![] },
                    ..Default::default()
                },
            ],
        },
        ..Default::default()
    };
    let section = Section {
        part: vec![1, 2],
        text: Some(SectionText::HeaderFields(vec![
            "From".into(),
            "Subject".into(),
        ])),
    };
    let items = [
        FetchItem::Body(&mixed),
        FetchItem::BodyStructure(&mixed),
        FetchItem::BodySection {
            section: &section,
            origin: Some(0),
            data: Some(b"From: x\r\n\r\n"),
        },
        FetchItem::BodySection {
            section: &Section::default(),
            origin: None,
            data: None,
        },
        FetchItem::BodySection {
            section: &Section {
                part: vec![3],
                text: Some(SectionText::Mime),
            },
            origin: None,
            data: Some("caf\u{e9}".as_bytes()),
        },
        FetchItem::Rfc822(Some(b"a")),
        FetchItem::Rfc822Header(Some(b"")),
        FetchItem::Rfc822Text(None),
    ];
    let mut out = Vec::new();
    super::fetch::fetch(&mut out, 1, &items);
    valid(&out);
    let s = String::from_utf8_lossy(&out);
    assert!(
        s.contains("BODY[1.2.HEADER.FIELDS (From Subject)]<0> {11}\r\n"),
        "{s}"
    );
    assert!(
        s.contains("(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23)"),
        "{s}"
    );
    assert!(
        s.contains("\"MIXED\" (\"BOUNDARY\" \"xyz\") NIL NIL NIL)"),
        "{s}"
    );
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>().prop_filter("no NUL", |b| *b != 0), 0..max),
        "[ -~]{0,20}".prop_map(String::into_bytes),
    ]
}

fn opt_bytes() -> impl Strategy<Value = Option<Vec<u8>>> {
    proptest::option::of(bytes(30))
}

fn address() -> impl Strategy<Value = Address> {
    (opt_bytes(), opt_bytes(), opt_bytes(), opt_bytes()).prop_map(|(name, adl, mailbox, host)| {
        Address {
            name,
            adl,
            mailbox,
            host,
        }
    })
}

fn envelope() -> BoxedStrategy<Envelope> {
    let list = || proptest::collection::vec(address(), 0..3);
    (
        (opt_bytes(), opt_bytes(), list(), list(), list()),
        (list(), list(), list(), opt_bytes(), opt_bytes()),
    )
        .prop_map(
            |((date, subject, from, sender, reply_to), (to, cc, bcc, in_reply_to, message_id))| {
                Envelope {
                    date,
                    subject,
                    from,
                    sender,
                    reply_to,
                    to,
                    cc,
                    bcc,
                    in_reply_to,
                    message_id,
                }
            },
        )
        .boxed()
}

fn params() -> impl Strategy<Value = Vec<(Vec<u8>, Vec<u8>)>> {
    proptest::collection::vec((bytes(10), bytes(20)), 0..3)
}

fn leaf() -> BoxedStrategy<BodyStructure> {
    (
        (
            prop_oneof![
                Just(b"APPLICATION".to_vec()),
                Just(b"IMAGE".to_vec()),
                bytes(8)
            ],
            bytes(8),
            params(),
            opt_bytes(),
            opt_bytes(),
        ),
        (
            bytes(8),
            any::<u64>(),
            opt_bytes(),
            proptest::option::of((bytes(8), params())),
        ),
        (
            proptest::collection::vec(bytes(5), 0..3),
            opt_bytes(),
            proptest::option::of(any::<u64>()),
        ),
    )
        .prop_map(
            |(
                (ct, subtype, params, id, description),
                (encoding, size, md5, disposition),
                (language, location, lines),
            )| {
                let text = lines.is_some();
                BodyStructure {
                    content_type: if text { b"TEXT".to_vec() } else { ct },
                    subtype,
                    params,
                    id,
                    description,
                    encoding,
                    size,
                    md5,
                    disposition,
                    language,
                    location,
                    kind: match lines {
                        Some(lines) => BodyKind::Text { lines },
                        None => BodyKind::Basic,
                    },
                }
            },
        )
        .prop_filter("basic parts must not claim TEXT or MESSAGE/RFC822", |b| {
            matches!(b.kind, BodyKind::Text { .. })
                || !(b.content_type.eq_ignore_ascii_case(b"TEXT")
                    || b.content_type.eq_ignore_ascii_case(b"MESSAGE"))
        })
        .boxed()
}

fn body_structure() -> BoxedStrategy<BodyStructure> {
    leaf()
        .prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                (
                    proptest::collection::vec(inner.clone(), 1..4),
                    bytes(8),
                    params(),
                    leaf()
                )
                    .prop_map(|(parts, subtype, params, ext)| BodyStructure {
                        content_type: b"MULTIPART".to_vec(),
                        subtype,
                        params,
                        disposition: ext.disposition,
                        language: ext.language,
                        location: ext.location,
                        kind: BodyKind::Multipart { parts },
                        ..Default::default()
                    }),
                (inner, envelope(), leaf(), any::<u64>()).prop_map(
                    |(body, env, mut outer, lines)| {
                        outer.content_type = b"MESSAGE".to_vec();
                        outer.subtype = b"RFC822".to_vec();
                        outer.kind = BodyKind::Message {
                            envelope: Box::new(env),
                            body: Box::new(body),
                            lines,
                        };
                        outer
                    }
                ),
            ]
        })
        .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn fetch_output_always_parses(
        env in envelope(),
        bs in body_structure(),
        data in proptest::option::of(bytes(100)),
        seq in 1u32..,
        uid in 1u32..,
        kw in "[A-Za-z$][A-Za-z0-9_$-]{0,10}",
        names in proptest::collection::vec("[!-~]{1,10}", 1..3),
        ts in -2_000_000_000i64..4_000_000_000i64,
        zone in -720i16..=840,
    ) {
        let names: Vec<String> = names.into_iter().filter(|n| !n.contains(':')).collect();
        let section = Section {
            part: vec![1],
            text: if names.is_empty() { None } else { Some(SectionText::HeaderFieldsNot(names)) },
        };
        let flags = [Flag::Seen, Flag::Keyword(kw)];
        let mut out = Vec::new();
        let mut f = FetchWriter::new(&mut out, seq);
        f.uid(uid)
            .flags(&flags)
            .internal_date(&DateTime::from_unix(ts, zone).unwrap())
            .envelope(&env)
            .body(&bs)
            .body_structure(&bs)
            .body_section(&section, Some(7), data.as_deref());
        f.finish();
        valid(&out);
    }

    #[test]
    fn text_and_names_always_parse(
        text in "\\PC{0,40}",
        tag in "[A-Za-z0-9.]{1,8}",
        name in "\\PC{0,30}",
        delim in proptest::option::of(proptest::char::range(' ', '~')),
    ) {
        w(|o| tagged(o, &tag, Status::Ok, None, &text));
        w(|o| untagged(o, Status::No, Some(&Code::Other { name: "X".into(), text: Some(text.clone()) }), &text));
        w(|o| list(o, &[ListAttr::HasChildren], delim, &name, false));
        w(|o| list(o, &[], delim, &name, true));
        w(|o| status(o, &name, &[(StatusItem::Messages, 1)], false));
        w(|o| continuation(o, &text));
        w(|o| id(o, Some(&[(text.clone(), Some(name.clone()))])));
    }
}

#[test]
fn text_never_ends_like_a_literal_announcement() {
    let mut out = Vec::new();
    tagged(&mut out, "t1", Status::Bad, None, "Unknown command: ~{3}");
    assert_eq!(out, b"t1 BAD Unknown command: ~{3}.\r\n");
}
