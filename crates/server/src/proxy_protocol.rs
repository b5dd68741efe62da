//! The HAProxy PROXY protocol, versions 1 and 2 (haproxy's
//! `doc/proxy-protocol.txt`), read before anything else on a listener
//! that enables it, so the real client address drives limits, access
//! rules and logs; and written ([`encode_v2`]) by proxy mode in front of
//! its connections to backends.
//!
//! Own parser rather than a crate: it is small, and it must consume
//! exactly the header's bytes from the socket and nothing of the TLS or
//! IMAP bytes behind it, which a sans-IO "how many bytes do I need" loop
//! over a peeked buffer gives directly.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The 12-byte signature that starts a version 2 header.
const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// A version 1 line is at most 107 bytes including CRLF.
const V1_MAX: usize = 107;
/// Largest version 2 header we accept (addresses plus TLVs).
const V2_MAX: usize = 16 + 2048;

/// What a complete header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// The original client's address.
    Proxied(SocketAddr),
    /// `LOCAL` (v2) or `UNKNOWN` (v1): a health check from the proxy
    /// itself; the connection's own address applies.
    Local,
}

/// Result of looking at the bytes received so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A complete header of this many bytes.
    Done(Header, usize),
    /// At least this many bytes are needed in total.
    NeedMore(usize),
    /// Not a valid PROXY header.
    Invalid(&'static str),
}

/// Parses the start of a connection.
pub fn parse(buf: &[u8]) -> Parsed {
    if buf.is_empty() {
        // One byte at a time until the version is known: reading more could
        // swallow a TLS ClientHello sent right behind a short v1 line.
        return Parsed::NeedMore(1);
    }
    if buf[0] == b'P' {
        return parse_v1(buf);
    }
    if buf[0] == b'\r' {
        return parse_v2(buf);
    }
    Parsed::Invalid("no PROXY protocol header")
}

fn parse_v1(buf: &[u8]) -> Parsed {
    let prefix = b"PROXY ";
    let n = buf.len().min(prefix.len());
    if buf[..n] != prefix[..n] {
        return Parsed::Invalid("bad PROXY v1 signature");
    }
    let Some(end) = buf.windows(2).position(|w| w == b"\r\n") else {
        return if buf.len() >= V1_MAX {
            Parsed::Invalid("PROXY v1 line too long")
        } else {
            Parsed::NeedMore(buf.len() + 1)
        };
    };
    let total = end + 2;
    if total > V1_MAX {
        return Parsed::Invalid("PROXY v1 line too long");
    }
    let Ok(line) = std::str::from_utf8(&buf[prefix.len()..end]) else {
        return Parsed::Invalid("PROXY v1 line is not text");
    };
    let fields: Vec<&str> = line.split(' ').collect();
    match fields.as_slice() {
        ["UNKNOWN", ..] => Parsed::Done(Header::Local, total),
        [family @ ("TCP4" | "TCP6"), src, _dst, sport, _dport] => {
            let Ok(ip) = src.parse::<IpAddr>() else {
                return Parsed::Invalid("bad PROXY v1 source address");
            };
            if (*family == "TCP4") != ip.is_ipv4() {
                return Parsed::Invalid("PROXY v1 family does not match the address");
            }
            match sport.parse::<u16>() {
                Ok(port) if !sport.starts_with('0') || *sport == "0" => {
                    Parsed::Done(Header::Proxied(SocketAddr::new(ip, port)), total)
                }
                _ => Parsed::Invalid("bad PROXY v1 source port"),
            }
        }
        _ => Parsed::Invalid("bad PROXY v1 line"),
    }
}

fn parse_v2(buf: &[u8]) -> Parsed {
    let n = buf.len().min(12);
    if buf[..n] != V2_SIGNATURE[..n] {
        return Parsed::Invalid("bad PROXY v2 signature");
    }
    if buf.len() < 16 {
        return Parsed::NeedMore(16);
    }
    let version = buf[12] >> 4;
    let command = buf[12] & 0x0f;
    if version != 2 {
        return Parsed::Invalid("unsupported PROXY protocol version");
    }
    let len = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    let total = 16 + len;
    if total > V2_MAX {
        return Parsed::Invalid("PROXY v2 header too long");
    }
    if buf.len() < total {
        return Parsed::NeedMore(total);
    }
    let body = &buf[16..total];
    match command {
        0 => Parsed::Done(Header::Local, total),
        1 => match buf[13] >> 4 {
            // AF_INET: src(4) dst(4) sport(2) dport(2)
            1 if body.len() >= 12 => {
                let ip = Ipv4Addr::new(body[0], body[1], body[2], body[3]);
                let port = u16::from_be_bytes([body[8], body[9]]);
                Parsed::Done(Header::Proxied(SocketAddr::new(ip.into(), port)), total)
            }
            // AF_INET6: src(16) dst(16) sport(2) dport(2)
            2 if body.len() >= 36 => {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(&body[..16]);
                let port = u16::from_be_bytes([body[32], body[33]]);
                let ip = Ipv6Addr::from(octets);
                Parsed::Done(Header::Proxied(SocketAddr::new(ip.into(), port)), total)
            }
            // AF_UNSPEC or AF_UNIX: no usable address.
            0 | 3 => Parsed::Done(Header::Local, total),
            _ => Parsed::Invalid("bad PROXY v2 address block"),
        },
        _ => Parsed::Invalid("unknown PROXY v2 command"),
    }
}

/// A version 2 `PROXY` header saying the connection from `destination`'s
/// peer was really made by `source` to `destination` (a TCP stream).
/// Mixed families are written as IPv6 with IPv4-mapped addresses, as the
/// specification asks.
pub fn encode_v2(source: SocketAddr, destination: SocketAddr) -> Vec<u8> {
    let mut out = V2_SIGNATURE.to_vec();
    // Version 2, PROXY command.
    out.push(0x21);
    match (source.ip(), destination.ip()) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            // AF_INET, STREAM; 12 bytes of addresses.
            out.extend_from_slice(&[0x11, 0, 12]);
            out.extend_from_slice(&src.octets());
            out.extend_from_slice(&dst.octets());
        }
        (src, dst) => {
            // AF_INET6, STREAM; 36 bytes of addresses.
            let v6 = |ip: IpAddr| match ip {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            };
            out.extend_from_slice(&[0x21, 0, 36]);
            out.extend_from_slice(&v6(src).octets());
            out.extend_from_slice(&v6(dst).octets());
        }
    }
    out.extend_from_slice(&source.port().to_be_bytes());
    out.extend_from_slice(&destination.port().to_be_bytes());
    out
}

/// A version 2 `LOCAL` header: the proxy's own connection (a health
/// check), whose socket address applies.
pub fn encode_v2_local() -> Vec<u8> {
    let mut out = V2_SIGNATURE.to_vec();
    out.extend_from_slice(&[0x20, 0, 0, 0]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_lines() {
        let line = b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 143\r\nA1 NOOP";
        assert_eq!(
            parse(line),
            Parsed::Done(Header::Proxied("192.0.2.1:56324".parse().unwrap()), 45)
        );
        let v6 = b"PROXY TCP6 2001:db8::1 2001:db8::2 4000 993\r\n";
        assert!(matches!(parse(v6), Parsed::Done(Header::Proxied(a), 45) if a.port() == 4000));
        assert_eq!(parse(b"PROXY UNKNOWN\r\n"), Parsed::Done(Header::Local, 15));
        assert!(matches!(parse(b"PROXY TCP4 1.2"), Parsed::NeedMore(_)));
        assert!(matches!(
            parse(b"PROXY TCP4 ::1 ::1 1 2\r\n"),
            Parsed::Invalid(_)
        ));
        assert!(matches!(parse(b"A1 LOGIN x y\r\n"), Parsed::Invalid(_)));
        assert!(matches!(parse(&[b'P'; 200]), Parsed::Invalid(_)));
    }

    #[test]
    fn v2_headers() {
        let mut h = V2_SIGNATURE.to_vec();
        h.extend_from_slice(&[0x21, 0x11, 0, 12]);
        h.extend_from_slice(&[203, 0, 113, 7, 10, 0, 0, 1, 0x1f, 0x90, 0, 143]);
        assert!(matches!(parse(&h[..20]), Parsed::NeedMore(28)));
        assert_eq!(
            parse(&h),
            Parsed::Done(Header::Proxied("203.0.113.7:8080".parse().unwrap()), 28)
        );
        let mut local = V2_SIGNATURE.to_vec();
        local.extend_from_slice(&[0x20, 0x00, 0, 0]);
        assert_eq!(parse(&local), Parsed::Done(Header::Local, 16));
        let mut bad = V2_SIGNATURE.to_vec();
        bad.extend_from_slice(&[0x31, 0x11, 0, 0]);
        assert!(matches!(parse(&bad), Parsed::Invalid(_)));
    }

    #[test]
    fn written_headers_read_back() {
        let cases = [
            ("203.0.113.7:40000", "10.0.0.1:143"),
            ("[2001:db8::7]:40000", "[2001:db8::1]:993"),
            // Mixed: written as IPv6, read back as the mapped address.
            ("192.0.2.9:5", "[2001:db8::1]:110"),
        ];
        for (src, dst) in cases {
            let (src, dst): (SocketAddr, SocketAddr) = (src.parse().unwrap(), dst.parse().unwrap());
            let mut header = encode_v2(src, dst);
            let len = header.len();
            header.extend_from_slice(b"* OK behind it");
            let Parsed::Done(Header::Proxied(read), used) = parse(&header) else {
                panic!("{src}: not read back");
            };
            assert_eq!(used, len);
            assert_eq!(SocketAddr::new(read.ip().to_canonical(), read.port()), src);
        }
        assert_eq!(parse(&encode_v2_local()), Parsed::Done(Header::Local, 16));
    }
}
