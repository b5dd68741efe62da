//! Content decoding: base64, quoted-printable, charsets, RFC 2047 words.

use crate::params::hexval;

/// Converts `bytes` in `charset` (a MIME charset label) to UTF-8.
///
/// Unknown or empty labels: valid UTF-8 is taken as is, anything else is
/// read as windows-1252 (which never fails). Malformed sequences become
/// U+FFFD.
pub fn charset_to_utf8(charset: &[u8], bytes: &[u8]) -> String {
    let label = crate::header::trim(charset);
    // RFC 2231 allows a language suffix on RFC 2047 charsets: "utf-8*en".
    let label = match label.iter().position(|&b| b == b'*') {
        Some(i) => &label[..i],
        None => label,
    };
    if let Some(enc) = encoding_rs::Encoding::for_label_no_replacement(label) {
        let (s, _, _) = enc.decode(bytes);
        return s.into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => {
            let (s, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            s.into_owned()
        }
    }
}

/// Decodes base64, skipping any character outside the alphabet and
/// stopping at padding; never fails.
pub fn decode_base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                // Padding ends a quantum; drop partial bits.
                acc = 0;
                bits = 0;
                continue;
            }
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Decodes quoted-printable (RFC 2045 §6.7). With `underscore_space`
/// (RFC 2047 "Q" encoding) `_` means a space. Malformed escapes are kept
/// literally; soft line breaks (`=` at end of line) are removed.
pub fn decode_qp(input: &[u8], underscore_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let c = input[i];
        if c == b'=' {
            // Soft line break: '=' followed by optional whitespace and a newline.
            let mut j = i + 1;
            while j < input.len() && (input[j] == b' ' || input[j] == b'\t') {
                j += 1;
            }
            if j < input.len() && input[j] == b'\n' {
                i = j + 1;
                continue;
            }
            if j + 1 < input.len() && input[j] == b'\r' && input[j + 1] == b'\n' {
                i = j + 2;
                continue;
            }
            if i + 2 < input.len() {
                if let (Some(h), Some(l)) = (hexval(input[i + 1]), hexval(input[i + 2])) {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
            }
            out.push(c);
        } else if c == b'_' && underscore_space {
            out.push(b' ');
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

/// Decodes a body according to its Content-Transfer-Encoding (lowercase
/// or any case): base64 and quoted-printable are decoded, anything else is
/// returned unchanged.
pub fn decode_transfer(encoding: &[u8], body: &[u8]) -> Vec<u8> {
    if encoding.eq_ignore_ascii_case(b"base64") {
        decode_base64(body)
    } else if encoding.eq_ignore_ascii_case(b"quoted-printable") {
        decode_qp(body, false)
    } else {
        body.to_vec()
    }
}

/// Parses one encoded word starting at `s[0] == '='`. Returns the decoded
/// text and the number of bytes consumed.
fn encoded_word(s: &[u8]) -> Option<(String, usize)> {
    if s.len() < 8 || &s[..2] != b"=?" {
        return None;
    }
    let q1 = 2 + s[2..].iter().position(|&b| b == b'?')?;
    let charset = &s[2..q1];
    if charset.is_empty() || charset.iter().any(|b| b.is_ascii_whitespace()) {
        return None;
    }
    let enc = *s.get(q1 + 1)?;
    if s.get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let tstart = q1 + 3;
    let tlen = s[tstart..].windows(2).position(|w| w == b"?=")?;
    let text = &s[tstart..tstart + tlen];
    if text.iter().any(|b| b.is_ascii_whitespace()) {
        return None;
    }
    let bytes = match enc {
        b'B' | b'b' => decode_base64(text),
        b'Q' | b'q' => decode_qp(text, true),
        _ => return None,
    };
    Some((charset_to_utf8(charset, &bytes), tstart + tlen + 2))
}

/// Decodes a raw header value to UTF-8: unfolds it, decodes RFC 2047
/// encoded words (whitespace between adjacent encoded words is dropped),
/// and reads other bytes as UTF-8 (falling back to windows-1252).
pub fn decode_header_text(raw: &[u8]) -> String {
    let raw = crate::header::unfold(raw);
    let mut out = String::with_capacity(raw.len());
    let mut plain: Vec<u8> = Vec::new();
    let mut pending_ws: Vec<u8> = Vec::new();
    let mut last_was_word = false;
    let mut i = 0;
    let flush = |plain: &mut Vec<u8>, out: &mut String| {
        if !plain.is_empty() {
            out.push_str(&charset_to_utf8(b"", plain));
            plain.clear();
        }
    };
    while i < raw.len() {
        let c = raw[i];
        if c == b'=' && raw.get(i + 1) == Some(&b'?') {
            if let Some((text, used)) = encoded_word(&raw[i..]) {
                if !(last_was_word && plain.is_empty()) {
                    plain.extend_from_slice(&pending_ws);
                }
                pending_ws.clear();
                flush(&mut plain, &mut out);
                out.push_str(&text);
                last_was_word = true;
                i += used;
                continue;
            }
        }
        if c == b' ' || c == b'\t' {
            pending_ws.push(c);
        } else {
            plain.append(&mut pending_ws);
            plain.push(c);
            last_was_word = false;
        }
        i += 1;
    }
    plain.append(&mut pending_ws);
    flush(&mut plain, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_lenient() {
        assert_eq!(decode_base64(b"aGVsbG8gd29ybGQ="), b"hello world");
        assert_eq!(decode_base64(b"aGVs\r\nbG8=\n"), b"hello");
        assert_eq!(decode_base64(b"aGVsbG8"), b"hello");
        assert_eq!(decode_base64(b"!!!"), b"");
    }

    #[test]
    fn qp() {
        assert_eq!(
            decode_qp(b"caf=C3=A9 =\r\nx=3d=\nend=", false),
            "café x=end=".as_bytes()
        );
        assert_eq!(decode_qp(b"a_b=ZZ", true), b"a b=ZZ");
    }

    #[test]
    fn rfc2047_examples() {
        // RFC 2047 section 8.
        assert_eq!(decode_header_text(b"(=?ISO-8859-1?Q?a?=)"), "(a)");
        assert_eq!(decode_header_text(b"(=?ISO-8859-1?Q?a?= b)"), "(a b)");
        assert_eq!(
            decode_header_text(b"(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)"),
            "(ab)"
        );
        assert_eq!(
            decode_header_text(b"(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)"),
            "(ab)"
        );
        assert_eq!(decode_header_text(b"(=?ISO-8859-1?Q?a_b?=)"), "(a b)");
        assert_eq!(
            decode_header_text(b"=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>"),
            "Keith Moore <moore@cs.utk.edu>"
        );
        assert_eq!(
            decode_header_text(b"=?ISO-8859-1?Q?Andr=E9?= Pirard"),
            "André Pirard"
        );
        assert_eq!(decode_header_text(b"=?utf-8?B?w6lsw6h2ZQ==?="), "élève");
        assert_eq!(decode_header_text(b"=?bogus?Q?x?="), "x");
        assert_eq!(decode_header_text(b"=?utf-8?X?x?= =?"), "=?utf-8?X?x?= =?");
        assert_eq!(decode_header_text(b"caf\xe9"), "café");
        assert_eq!(decode_header_text("café".as_bytes()), "café");
    }
}
