use super::*;
use crate::cram::HmacContext;
use crate::scram::{Exchange, ExchangeStep, ScramHash, ScramKeys};

fn cfg() -> SaslConfig {
    SaslConfig {
        hostname: "mail.example".into(),
        tls_identity: None,
    }
}

fn server(name: &str) -> SaslServer {
    SaslServer::new(Mechanism::from_name(name).expect("known"), &cfg())
}

fn password(login: &str, pw: &[u8]) -> Step {
    Step::Done(Credentials::Password {
        authzid: None,
        login: login.into(),
        password: pw.to_vec(),
    })
}

#[test]
fn names() {
    for m in Mechanism::ALL {
        assert_eq!(Mechanism::from_name(&m.name().to_lowercase()), Some(m));
    }
    assert_eq!(
        Mechanism::from_name("scram-sha-1"),
        Some(Mechanism::Scram(ScramHash::Sha1))
    );
    assert_eq!(Mechanism::from_name("SCRAM-SHA-1-PLUS"), None);
    assert!(Mechanism::Plain.sends_password());
    assert!(!Mechanism::Cram(CramHash::Md5).sends_password());
}

/// Runs a SCRAM exchange the way the front end and the authentication
/// process share it: the mechanism relays, an [`Exchange`] (numbered 7)
/// answers with `keys`; the client proves `password`. Returns the
/// mechanism, the exchange and the step after the client's proof.
fn scram_exchange(
    hash: ScramHash,
    initial: bool,
    keys: Option<ScramKeys>,
    password: &[u8],
) -> (SaslServer, Exchange, Step) {
    let mut s = SaslServer::new(Mechanism::Scram(hash), &cfg());
    let first = b"n,,n=tim,r=clientnonce";
    let step = if initial {
        s.start(Some(first))
    } else {
        assert_eq!(s.start(None), Step::Challenge(Vec::new()));
        s.step(first)
    };
    assert_eq!(
        step,
        Step::Relay(Relay {
            login: "tim".into(),
            hash,
            exchange: None,
            data: first.to_vec()
        })
    );
    let parsed = crate::scram::parse_client_first(first).expect("client-first");
    let (mut exchange, server_first) = Exchange::start(hash, keys, parsed, "servernonce");
    let Step::Challenge(server_first) = s.relay_answer(RelayAnswer::Challenge {
        exchange: 7,
        data: server_first,
    }) else {
        panic!("server-first expected");
    };
    let server_first = String::from_utf8(server_first).expect("ascii");
    assert!(server_first.starts_with("r=clientnonce"), "{server_first}");
    let (client_final, _) =
        crate::scram::test_client_final(hash, password, "n=tim,r=clientnonce", &server_first);
    let Step::Relay(relay) = s.step(client_final.as_bytes()) else {
        panic!("relay expected");
    };
    assert_eq!(relay.exchange, Some(7));
    let step = match exchange.step(&relay.data) {
        ExchangeStep::Challenge(data) => {
            s.relay_answer(RelayAnswer::Challenge { exchange: 7, data })
        }
        ExchangeStep::Done { .. } => s.relay_answer(RelayAnswer::Done { exchange: 7 }),
    };
    (s, exchange, step)
}

#[test]
fn scram_flows() {
    let done = Step::Done(Credentials::Scram {
        login: "tim".into(),
        exchange: 7,
    });
    for hash in ScramHash::ALL {
        for initial in [true, false] {
            let keys = ScramKeys::from_password(hash, b"pencil", b"salt", 4096);
            let (mut s, mut exchange, step) =
                scram_exchange(hash, initial, Some(keys.clone()), b"pencil");
            let Step::Challenge(server_final) = step else {
                panic!("{step:?}");
            };
            assert!(server_final.starts_with(b"v="));
            let Step::Relay(ack) = s.step(b"") else {
                panic!("the empty answer is relayed");
            };
            assert_eq!(
                exchange.step(&ack.data),
                ExchangeStep::Done { verified: true }
            );
            assert_eq!(s.relay_answer(RelayAnswer::Done { exchange: 7 }), done);
            // Wrong password, unknown user, keys of the other hash: all
            // end the same way, after the client's proof.
            let other = if hash == ScramHash::Sha1 {
                ScramHash::Sha256
            } else {
                ScramHash::Sha1
            };
            let wrong = ScramKeys::from_password(other, b"pencil", b"salt", 4096);
            for (keys, password) in [
                (Some(keys), &b"pen"[..]),
                (None, b"pencil"),
                (Some(wrong), b"pencil"),
            ] {
                let (_, exchange, step) = scram_exchange(hash, initial, keys, password);
                assert_eq!(step, done);
                assert!(!exchange.awaits_proof());
            }
        }
    }
}

#[test]
fn scram_errors() {
    let mut s = server("SCRAM-SHA-256");
    assert_eq!(
        s.start(Some(b"p=tls-unique,,n=tim,r=x")),
        Step::Failed(SaslError::Unsupported(
            "channel binding not supported".into()
        ))
    );
    let mut s = server("SCRAM-SHA-256");
    assert_eq!(
        s.start(Some(b"n,a=root,n=tim,r=x")),
        Step::Failed(SaslError::AuthzidNotPermitted)
    );
    let mut s = server("SCRAM-SHA-1");
    assert!(matches!(
        s.start(Some(b"garbage")),
        Step::Failed(SaslError::Malformed(_))
    ));
    // An answer nobody waited for, a step while an answer is awaited.
    let mut s = server("SCRAM-SHA-1");
    assert_eq!(
        s.relay_answer(RelayAnswer::Done { exchange: 1 }),
        Step::Failed(SaslError::Finished)
    );
    let mut s = server("SCRAM-SHA-1");
    s.start(Some(b"n,,n=tim,r=x"));
    assert_eq!(s.step(b"x"), Step::Failed(SaslError::Finished));
    // A malformed client-final message ends the exchange unverified; so
    // does a non-empty answer to server-final.
    let first = crate::scram::parse_client_first(b"n,,n=tim,r=x").expect("first");
    let (mut e, _) = Exchange::start(ScramHash::Sha1, None, first, "y");
    assert_eq!(
        e.step(b"c=biws,r=x"),
        ExchangeStep::Done { verified: false }
    );
    assert_eq!(e.step(b""), ExchangeStep::Done { verified: false });
    let keys = ScramKeys::from_password(ScramHash::Sha1, b"pw", b"salt", 4096);
    let (_, mut e, _) = scram_exchange(ScramHash::Sha1, true, Some(keys), b"pw");
    assert_eq!(e.step(b"x"), ExchangeStep::Done { verified: false });
}

#[test]
fn external() {
    let with_cert = SaslConfig {
        tls_identity: Some("tim@example.org".into()),
        ..cfg()
    };
    let done = Step::Done(Credentials::External {
        login: "tim@example.org".into(),
    });
    let mut s = SaslServer::new(Mechanism::External, &with_cert);
    assert_eq!(s.start(Some(b"")), done);
    let mut s = SaslServer::new(Mechanism::External, &with_cert);
    assert_eq!(s.start(Some(b"tim@example.org")), done);
    let mut s = SaslServer::new(Mechanism::External, &with_cert);
    assert_eq!(s.start(None), Step::Challenge(Vec::new()));
    assert_eq!(s.step(b""), done);
    let mut s = SaslServer::new(Mechanism::External, &with_cert);
    assert_eq!(
        s.start(Some(b"root")),
        Step::Failed(SaslError::AuthzidNotPermitted)
    );
    let mut s = server("EXTERNAL");
    assert_eq!(
        s.start(Some(b"")),
        Step::Failed(SaslError::NoExternalIdentity)
    );
}

#[test]
fn plain_with_and_without_initial_response() {
    let mut s = server("PLAIN");
    assert_eq!(
        s.start(Some(b"\0tim\0tanstaaftanstaaf")),
        password("tim", b"tanstaaftanstaaf")
    );
    assert_eq!(s.step(b"x"), Step::Failed(SaslError::Finished));

    let mut s = server("plain");
    assert_eq!(s.start(None), Step::Challenge(Vec::new()));
    assert_eq!(s.step(b"\0tim\0pw"), password("tim", b"pw"));

    // authzid equal to authcid is fine; another one is passed on (only a
    // master user's is accepted, when verified).
    let mut s = server("PLAIN");
    assert_eq!(
        s.start(Some(b"tim\0tim\0pw")),
        Step::Done(Credentials::Password {
            authzid: Some("tim".into()),
            login: "tim".into(),
            password: b"pw".to_vec(),
        })
    );
    let mut s = server("PLAIN");
    assert_eq!(
        s.start(Some(b"root\0tim\0pw")),
        Step::Done(Credentials::Password {
            authzid: Some("root".into()),
            login: "tim".into(),
            password: b"pw".to_vec(),
        })
    );
    // Empty password is passed on (the backend refuses it).
    let mut s = server("PLAIN");
    assert_eq!(s.start(Some(b"\0tim\0")), password("tim", b""));
}

#[test]
fn plain_malformed() {
    for bad in [
        &b""[..],
        b"tim",
        b"\0tim",
        b"\0\0pw",
        b"\0tim\0pw\0extra",
        b"\0t\xffm\0pw",
    ] {
        let mut s = server("PLAIN");
        assert!(
            matches!(s.start(Some(bad)), Step::Failed(SaslError::Malformed(_))),
            "{bad:?}"
        );
    }
    let mut s = server("PLAIN");
    let huge = vec![b'a'; MAX_RESPONSE_LEN + 1];
    assert!(matches!(s.start(Some(&huge)), Step::Failed(_)));
}

#[test]
fn login_flows() {
    let mut s = server("LOGIN");
    assert_eq!(s.start(None), Step::Challenge(b"Username:".to_vec()));
    assert_eq!(s.step(b"tim"), Step::Challenge(b"Password:".to_vec()));
    assert_eq!(s.step(b"secret"), password("tim", b"secret"));
    assert_eq!(s.step(b"more"), Step::Failed(SaslError::Finished));

    let mut s = server("LOGIN");
    assert_eq!(
        s.start(Some(b"tim")),
        Step::Challenge(b"Password:".to_vec())
    );
    assert_eq!(s.step(b"secret"), password("tim", b"secret"));

    // `=` (empty initial response) means "ask for the user name".
    let mut s = server("LOGIN");
    assert_eq!(s.start(Some(b"")), Step::Challenge(b"Username:".to_vec()));
    assert!(matches!(s.step(b""), Step::Failed(SaslError::Malformed(_))));
}

#[test]
fn cram_md5_rfc2195() {
    // The exchange of RFC 2195 §2, base64 included.
    let mut s = server("CRAM-MD5");
    let challenge = b"<1896.697170952@postoffice.reston.mci.net>".to_vec();
    let Step::Challenge(sent) = s.start_cram_with(challenge.clone()) else {
        panic!("challenge expected");
    };
    assert_eq!(
        encode_challenge(&sent),
        "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+"
    );
    let Ok(ClientResponse::Data(answer)) =
        decode_response(b"dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw")
    else {
        panic!("valid base64");
    };
    let Step::Done(Credentials::Cram(c)) = s.step(&answer) else {
        panic!("expected CRAM credentials");
    };
    assert_eq!(c.login, "tim");
    assert_eq!(c.challenge, challenge);
    let key = HmacContext::from_password(CramHash::Md5, b"tanstaaftanstaaf");
    assert!(key.verify_hex(&c.challenge, &c.digest_hex));
}

#[test]
fn cram_random_challenge_format() {
    for m in ["CRAM-MD5", "CRAM-SHA1", "CRAM-SHA256"] {
        let mut s = server(m);
        let Step::Challenge(c) = s.start(None) else {
            panic!("challenge expected");
        };
        let c = String::from_utf8(c).expect("ascii");
        assert!(c.starts_with('<') && c.ends_with("@mail.example>"), "{c}");
        let token = &c[1..33];
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)),
            "{c}"
        );
        assert_eq!(c.len(), 1 + 32 + 1 + "mail.example".len() + 1);
        let mut s2 = server(m);
        assert_ne!(
            s2.start(None),
            Step::Challenge(c.into_bytes()),
            "challenges must differ"
        );
    }
}

#[test]
fn cram_errors() {
    let mut s = server("CRAM-MD5");
    assert_eq!(
        s.start(Some(b"x")),
        Step::Failed(SaslError::InitialResponseNotAllowed)
    );
    let mut s = server("CRAM-SHA1");
    assert!(
        matches!(s.start(Some(b"")), Step::Challenge(_)),
        "empty IR is no IR"
    );
    for bad in [
        &b"tim"[..],
        b" b913a602c7eda7a495b4e6e7334d3890b913a602",
        b"tim b913",
        b"tim zz13a602c7eda7a495b4e6e7334d3890b913a602",
        b"tim b913a602c7eda7a495b4e6e7334d3890",
    ] {
        let mut s = server("CRAM-SHA1");
        s.start(None);
        assert!(
            matches!(s.step(bad), Step::Failed(SaslError::Malformed(_))),
            "{bad:?}"
        );
    }
    // User names with spaces: split at the last space.
    let mut s = server("CRAM-MD5");
    s.start(None);
    let Step::Done(c) = s.step(b"john smith b913a602c7eda7a495b4e6e7334d3890") else {
        panic!("done expected");
    };
    assert_eq!(c.login(), "john smith");
    // Wrong mechanism for start_cram_with.
    let mut s = server("PLAIN");
    assert_eq!(
        s.start_cram_with(b"<x>".to_vec()),
        Step::Failed(SaslError::Finished)
    );
}

#[test]
fn base64_helpers() {
    assert_eq!(decode_response(b"*"), Ok(ClientResponse::Cancel));
    assert_eq!(decode_response(b" * "), Ok(ClientResponse::Cancel));
    assert_eq!(decode_response(b""), Ok(ClientResponse::Data(Vec::new())));
    assert_eq!(
        decode_response(b"AHRpbQB0YW5zdGFhZnRhbnN0YWFm"),
        Ok(ClientResponse::Data(b"\0tim\0tanstaaftanstaaf".to_vec()))
    );
    assert!(decode_response(b"!!!").is_err());
    assert!(decode_response(b"AHRpbQ").is_err(), "padding required");
    assert_eq!(decode_initial_response(b"="), Ok(Vec::new()));
    assert_eq!(decode_initial_response(b"dGlt"), Ok(b"tim".to_vec()));
    assert_eq!(encode_challenge(b""), "");
    assert_eq!(encode_challenge(b"Username:"), "VXNlcm5hbWU6");
    let long = vec![b'A'; (MAX_RESPONSE_LEN / 3 + 2) * 4];
    assert!(decode_response(&long).is_err());
}
