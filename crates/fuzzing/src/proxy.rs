//! The PROXY protocol header parser ([`courser_server::proxy_protocol::parse`]).

use courser_server::proxy_protocol::{parse, Parsed};

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
