//! Modified UTF-7 for mailbox names (RFC 3501 §5.1.3).
//!
//! Printable US-ASCII except `&` stands for itself; `&` is `&-`; any other
//! run of characters is `&`, the modified base64 (RFC 2152 with `,` for `/`
//! and no padding) of its UTF-16BE form, and `-`.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn b64_value(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b',' => 63,
        _ => return None,
    } as u32)
}

fn is_direct(c: char) -> bool {
    (' '..='~').contains(&c) && c != '&'
}

/// Encode a UTF-8 name to modified UTF-7.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    for c in name.chars() {
        if is_direct(c) {
            flush(&mut out, &mut pending);
            out.push(c);
        } else if c == '&' {
            flush(&mut out, &mut pending);
            out.push_str("&-");
        } else {
            let mut units = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush(&mut out, &mut pending);
    out
}

fn flush(out: &mut String, units: &mut Vec<u16>) {
    if units.is_empty() {
        return;
    }
    out.push('&');
    let mut acc: u32 = 0;
    let mut bits = 0;
    for u in units.drain(..) {
        acc = (acc << 16) | u32::from(u);
        bits += 16;
        while bits >= 6 {
            bits -= 6;
            out.push(ALPHABET[((acc >> bits) & 63) as usize] as char);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (6 - bits)) & 63) as usize] as char);
    }
    out.push('-');
}

/// Decode a modified UTF-7 name to UTF-8. `None` if it is not valid: octets
/// outside printable ASCII, an unterminated or malformed shift sequence,
/// non-zero padding bits, broken surrogate pairs, or a shift sequence that
/// encodes printable ASCII (which RFC 3501 §5.1.3 forbids).
pub fn decode(raw: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b == b'&' {
            let end = i + 1 + raw[i + 1..].iter().position(|&c| c == b'-')?;
            let run = &raw[i + 1..end];
            if run.is_empty() {
                out.push('&');
            } else {
                decode_run(run, &mut out)?;
            }
            i = end + 1;
        } else if (0x20..=0x7e).contains(&b) {
            out.push(b as char);
            i += 1;
        } else {
            return None;
        }
    }
    Some(out)
}

fn decode_run(run: &[u8], out: &mut String) -> Option<()> {
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut units: Vec<u16> = Vec::with_capacity(run.len() * 6 / 16);
    for &c in run {
        acc = (acc << 6) | b64_value(c)?;
        bits += 6;
        if bits >= 16 {
            bits -= 16;
            units.push(((acc >> bits) & 0xffff) as u16);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover must be fewer than 6 zero bits.
    if bits >= 6 || acc != 0 || units.is_empty() {
        return None;
    }
    for c in char::decode_utf16(units.iter().copied()) {
        let c = c.ok()?;
        if is_direct(c) || c == '&' {
            return None;
        }
        out.push(c);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_3501_examples() {
        // RFC 3501 §5.1.3.
        assert_eq!(
            decode(b"~peter/mail/&U,BTFw-/&ZeVnLIqe-").as_deref(),
            Some("~peter/mail/台北/日本語")
        );
        assert_eq!(
            encode("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
        assert_eq!(decode(b"&Jjo-!").as_deref(), Some("☺!"));
        assert_eq!(encode("☺!"), "&Jjo-!");
        assert_eq!(encode("Tom & Jerry"), "Tom &- Jerry");
        assert_eq!(decode(b"Tom &- Jerry").as_deref(), Some("Tom & Jerry"));
        // RFC 3501: "&Jjo!" is not valid; nor "&U,BTFw-&ZeVnLIqe-"-style
        // ASCII-in-base64.
        assert_eq!(decode(b"&Jjo!"), None);
        assert_eq!(decode(b"&AGE-"), None); // "a" encoded
        assert_eq!(decode(b"caf\xc3\xa9"), None);
        // Astral plane via surrogates.
        assert_eq!(decode(encode("x😀y").as_bytes()).as_deref(), Some("x😀y"));
    }

    proptest::proptest! {
        #[test]
        fn round_trip(s in "\\PC{0,40}") {
            let e = encode(&s);
            proptest::prop_assert!(e.bytes().all(|b| (0x20..=0x7e).contains(&b)));
            proptest::prop_assert_eq!(decode(e.as_bytes()), Some(s));
        }

        #[test]
        fn decode_never_panics(b in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            if let Some(s) = decode(&b) {
                // Whatever decodes survives a round trip.
                proptest::prop_assert_eq!(decode(encode(&s).as_bytes()), Some(s));
            }
        }
    }
}
