//! Hostile input never panics: SASL exchanges, userdb text, options,
//! stored HMAC contexts and the `userdb` command line.

use std::path::Path;

use courser_auth::sasl::{self, SaslConfig, SaslServer};
use courser_auth::userdb::{cli, Record, Userdb};
use courser_auth::{password, CramHash, HmacContext, Mechanism, Options};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sasl_any_bytes(mech in 0usize..Mechanism::ALL.len(), initial in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
                      steps in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..4)) {
        let cfg = SaslConfig { hostname: "h".into(), tls_identity: Some("u".into()) };
        let mut s = SaslServer::new(Mechanism::ALL[mech], &cfg);
        let mut step = s.start(initial.as_deref());
        for d in &steps {
            step = match step {
                sasl::Step::Relay(_) => s.relay_answer(sasl::RelayAnswer::Challenge { exchange: 1, data: d.clone() }),
                _ => s.step(d),
            };
        }
        let _ = sasl::decode_response(&initial.clone().unwrap_or_default());
        let _ = sasl::decode_initial_response(&initial.unwrap_or_default());
    }

    #[test]
    fn userdb_text(text in "[a-z0-9=|\t\n#@.~/ -]{0,200}") {
        let mut db = Userdb::default();
        let _ = db.add_text(&text, "fuzz");
        let _ = Record::parse(&text).get("uid");
        let o = Options::new(text.clone());
        let _ = (o.disable_imap(), o.groups(), o.mailhost(), o.with_defaults(&Options::new("a=1")));
    }

    #[test]
    fn stored_values(s in "\\PC{0,80}") {
        for h in CramHash::ALL {
            if let Some(ctx) = HmacContext::from_hex(h, &s) {
                let _ = ctx.verify_hex(b"<x@y>", &s);
            }
        }
        // Only the cheap, non-crypt(3) schemes: random crypt strings could
        // name an enormous bcrypt cost, which is the administrator's choice.
        for prefix in ["{MD5}", "{MD5RAW}", "{SHA}", "{SHA256}", "{SHA512}", "{SSHA}"] {
            let _ = password::verify(b"pw", &format!("{prefix}{s}"));
        }
    }

    #[test]
    fn userdb_command_line(args in proptest::collection::vec("[-a-z/=]{0,8}", 0..6)) {
        let _ = cli::parse(Path::new("/etc/courier/userdb"), &args);
    }
}
