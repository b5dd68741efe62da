use super::*;
use crate::cram::HmacContext;

fn cfg() -> SaslConfig {
    SaslConfig {
        hostname: "mail.example".into(),
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
    assert_eq!(Mechanism::from_name("SCRAM-SHA-1"), None);
    assert!(Mechanism::Plain.sends_password());
    assert!(!Mechanism::Cram(CramHash::Md5).sends_password());
    assert!(Mechanism::Cram(CramHash::Sha1).needs_cram_backend());
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

    // authzid equal to authcid is fine; another one is refused.
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
        Step::Failed(SaslError::AuthzidNotPermitted)
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
