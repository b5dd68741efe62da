//! The PROXY protocol header parser ([`courser_server::proxy_protocol::parse`])
//! and proxy mode's backend login dialogue
//! ([`courser_server::proxy::dialogue::Dialogue`]).

use courser_server::proxy::dialogue::{Dialogue, LoginAs, Plan, Progress};
use courser_server::proxy_protocol::{parse, Parsed};
use courser_server::service::Service;

/// PROXY protocol v1/v2 headers.
///
/// Checks: no panic; `Done(_, n)` claims between 1 and `buf.len()`
/// octets and the same header is found in exactly those `n` octets (the
/// bytes behind the header, e.g. a TLS ClientHello, never matter);
/// `NeedMore(n)` asks for more than it has; and every proper prefix of a
/// complete header asks for more, never for more than the header.
pub fn header(data: &[u8]) {
    match parse(data) {
        Parsed::Done(header, n) => {
            assert!(
                n > 0 && n <= data.len(),
                "Done claims {n} of {} octets",
                data.len()
            );
            assert_eq!(parse(&data[..n]), Parsed::Done(header, n));
            for k in [0, 1, n / 2, n - 1] {
                match parse(&data[..k.min(n - 1)]) {
                    Parsed::NeedMore(m) => assert!(m > k.min(n - 1) && m <= n),
                    other => panic!("a prefix of a header gave {other:?}"),
                }
            }
        }
        Parsed::NeedMore(n) => assert!(n > data.len(), "NeedMore({n}) with {} octets", data.len()),
        Parsed::Invalid(reason) => assert!(!reason.is_empty()),
    }
}

/// What a backend says during a login, as the proxy reads it. The first
/// byte picks the protocol, STARTTLS, ID, the credentials and SMAP; the
/// rest is the backend's.
///
/// Checks: no panic; what the proxy sends stays small (its commands
/// only, never an echo of the input); and the result does not depend on
/// how the input is split into reads: fed whole or a byte at a time, the
/// proxy sends the same bytes and reaches the same end (up to STARTTLS,
/// where bytes behind the go-ahead are dropped on purpose).
pub fn dialogue(data: &[u8]) {
    let Some((&flags, input)) = data.split_first() else {
        return;
    };
    let make = || {
        let service = if flags & 1 == 0 {
            Service::Imap
        } else {
            Service::Pop3
        };
        let id = if flags & 4 == 0 {
            Vec::new()
        } else {
            vec![("x-originating-ip".to_owned(), "192.0.2.1".to_owned())]
        };
        let user = "user".to_owned();
        let password = b"pass word".to_vec();
        let login = if flags & 8 == 0 {
            LoginAs::Client { user, password }
        } else {
            LoginAs::Master {
                user,
                master: "proxy".into(),
                password,
            }
        };
        let plan = Plan {
            starttls: flags & 2 != 0,
            id,
            login,
            smap: flags & 16 != 0,
        };
        Dialogue::new(service, plan)
    };
    let whole = run(make(), [input].into_iter());
    let bytewise = run(make(), input.chunks(1));
    assert_eq!(whole, bytewise, "the split of the input changed the login");
}

/// Feeds `reads` until the dialogue stops waiting; what it sent, how it
/// ended, and after a login the bytes for the client (what came with the
/// answer and all not read yet).
fn run<'a>(
    mut d: Dialogue,
    mut reads: impl Iterator<Item = &'a [u8]>,
) -> (Vec<u8>, String, Vec<u8>) {
    let mut sent = Vec::new();
    while let Some(read) = reads.next() {
        let before = sent.len();
        let progress = d.receive(read, &mut sent);
        assert!(
            sent.len() - before <= 256,
            "sent {} bytes for one read",
            sent.len() - before
        );
        match progress {
            Progress::Wait => {}
            Progress::Done(mut logged_in) => {
                let mut rest = std::mem::take(&mut logged_in.rest);
                rest.extend(reads.flatten());
                return (sent, format!("{logged_in:?}"), rest);
            }
            other => return (sent, format!("{other:?}"), Vec::new()),
        }
    }
    (sent, "Wait".into(), Vec::new())
}
