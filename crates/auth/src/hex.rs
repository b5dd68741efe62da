//! Lower-case hexadecimal, as Courier writes HMAC contexts and CRAM
//! digests.

/// Lower-case hex of `bytes`.
pub(crate) fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// Decodes hex (either case, as Courier's `nybble` accepts); `None` on an
/// odd length or a non-hex character.
pub(crate) fn decode(s: &[u8]) -> Option<Vec<u8>> {
    fn nybble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.chunks_exact(2)
        .map(|p| Some(nybble(p[0])? << 4 | nybble(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn roundtrip() {
        assert_eq!(super::encode(&[0, 0xab, 0x7f]), "00ab7f");
        assert_eq!(super::decode(b"00AB7f"), Some(vec![0, 0xab, 0x7f]));
        assert_eq!(super::decode(b"0"), None);
        assert_eq!(super::decode(b"0g"), None);
    }
}
