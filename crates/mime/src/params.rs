//! Parsing of `Content-Type`-like headers (`value; name=value; ...`) and
//! RFC 2231 parameter continuations and charsets.

use crate::header::{trim, unfold};
use crate::structure::Params;

/// Removes RFC 822 comments outside quoted strings, and unfolds.
pub(crate) fn strip_comments(raw: &[u8]) -> Vec<u8> {
    let raw = unfold(raw);
    let mut out = Vec::with_capacity(raw.len());
    let mut depth = 0usize;
    let mut in_quote = false;
    let mut i = 0;
    while i < raw.len() {
        let c = raw[i];
        if in_quote {
            out.push(c);
            if c == b'\\' && i + 1 < raw.len() {
                out.push(raw[i + 1]);
                i += 1;
            } else if c == b'"' {
                in_quote = false;
            }
        } else if depth > 0 {
            match c {
                b'\\' => i += 1,
                b'(' => depth += 1,
                b')' => depth -= 1,
                _ => {}
            }
        } else {
            match c {
                b'(' => depth = 1,
                b'"' => {
                    in_quote = true;
                    out.push(c);
                }
                _ => out.push(c),
            }
        }
        i += 1;
    }
    out
}

/// Splits `value; a=b; c="d"` into the main value (trimmed, as written)
/// and the raw parameter list `(name lowercased, unquoted value)`.
///
/// Parameters with the same name keep the position of the first one and
/// the value of the last one (as Courier does).
pub(crate) fn parse_content_header(raw: &[u8]) -> (Vec<u8>, Params) {
    let s = strip_comments(raw);
    let segs = split_semicolons(&s);
    let mut iter = segs.into_iter();
    let main = iter.next().map(|m| trim(m).to_vec()).unwrap_or_default();
    let mut params: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for seg in iter {
        let Some(eq) = seg.iter().position(|&b| b == b'=') else {
            continue;
        };
        let name = trim(&seg[..eq]).to_ascii_lowercase();
        if name.is_empty() || name.iter().any(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let value = unquote(trim(&seg[eq + 1..]));
        if let Some(p) = params.iter_mut().find(|(n, _)| *n == name) {
            p.1 = value;
        } else {
            params.push((name, value));
        }
    }
    (main, params)
}

fn split_semicolons(s: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_quote = false;
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'\\' if in_quote => i += 1,
            b'"' => in_quote = !in_quote,
            b';' if !in_quote => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(&s[start.min(s.len())..]);
    out
}

/// Removes surrounding double quotes and backslash escapes; a value that
/// does not start with a quote is returned as is.
pub(crate) fn unquote(v: &[u8]) -> Vec<u8> {
    if v.first() != Some(&b'"') {
        return v.to_vec();
    }
    let mut out = Vec::with_capacity(v.len());
    let mut i = 1;
    while i < v.len() {
        match v[i] {
            b'\\' if i + 1 < v.len() => {
                out.push(v[i + 1]);
                i += 1;
            }
            b'"' => break,
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// Splits an RFC 2231 parameter name into `(base, section, extended)`:
/// `title*1*` → `("title", Some(1), true)`, `title*` → `("title", None, true)`.
fn split_2231(name: &[u8]) -> Option<(&[u8], Option<u32>, bool)> {
    let star = name.iter().position(|&b| b == b'*')?;
    let base = &name[..star];
    let rest = &name[star + 1..];
    if base.is_empty() {
        return None;
    }
    if rest.is_empty() {
        return Some((base, None, true));
    }
    let (digits, ext) = match rest.strip_suffix(b"*") {
        Some(d) => (d, true),
        None => (rest, false),
    };
    if digits.is_empty() || digits.len() > 6 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u32 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((base, Some(n), ext))
}

/// Joins RFC 2231 continuations (`name*0`, `name*1*`, ...) into one
/// parameter. Without any encoded segment the result is `name = joined`;
/// with one, `name* = charset'lang'pct-encoded` (non-encoded segments are
/// percent-encoded so the value stays one valid extended value). Other
/// parameters pass through unchanged, in first-seen order.
pub(crate) fn merge_2231(params: &[(Vec<u8>, Vec<u8>)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    struct Group {
        base: Vec<u8>,
        segs: Vec<(u32, bool, Vec<u8>)>,
    }
    enum Slot {
        Plain(Vec<u8>, Vec<u8>),
        Cont(usize),
    }
    let mut slots: Vec<Slot> = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    for (name, value) in params {
        match split_2231(name) {
            Some((base, Some(n), ext)) => {
                let gi = match groups.iter().position(|g| g.base == base) {
                    Some(i) => i,
                    None => {
                        groups.push(Group {
                            base: base.to_vec(),
                            segs: Vec::new(),
                        });
                        slots.push(Slot::Cont(groups.len() - 1));
                        groups.len() - 1
                    }
                };
                groups[gi].segs.push((n, ext, value.clone()));
            }
            _ => slots.push(Slot::Plain(name.clone(), value.clone())),
        }
    }
    let mut out = Vec::with_capacity(slots.len());
    for slot in slots {
        match slot {
            Slot::Plain(n, v) => out.push((n, v)),
            Slot::Cont(gi) => {
                let g = &mut groups[gi];
                g.segs.sort_by_key(|s| s.0);
                let any_ext = g.segs.iter().any(|s| s.1);
                let mut value = Vec::new();
                for (i, (_, ext, v)) in g.segs.iter().enumerate() {
                    if !any_ext || *ext {
                        value.extend_from_slice(v);
                    } else {
                        if i == 0 {
                            value.extend_from_slice(b"''");
                        }
                        pct_encode(&mut value, v);
                    }
                }
                let mut name = g.base.clone();
                if any_ext {
                    name.push(b'*');
                }
                out.push((name, value));
            }
        }
    }
    out
}

fn pct_encode(out: &mut Vec<u8>, v: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in v {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b);
        } else {
            out.push(b'%');
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 15)]);
        }
    }
}

/// Looks up parameter `name` (case-insensitive) in a merged parameter list
/// and returns its decoded value as UTF-8: an RFC 2231 extended value
/// (`name*`) is percent-decoded and converted from its charset, and is
/// preferred over a plain `name` (as Courier prefers it); a plain value has
/// RFC 2047 encoded words decoded.
pub fn param_value(params: &[(Vec<u8>, Vec<u8>)], name: &str) -> Option<String> {
    let want = name.as_bytes();
    let ext = params.iter().find(|(n, _)| {
        n.len() == want.len() + 1 && n.ends_with(b"*") && n[..want.len()].eq_ignore_ascii_case(want)
    });
    if let Some((_, v)) = ext {
        return Some(decode_2231_value(v));
    }
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(want))
        .map(|(_, v)| crate::decode::decode_header_text(v))
}

/// Decodes an RFC 2231 extended value `charset'lang'%XX...` to UTF-8.
pub(crate) fn decode_2231_value(v: &[u8]) -> String {
    let (charset, text): (&[u8], &[u8]) = {
        let mut it = v.splitn(3, |&b| b == b'\'');
        match (it.next(), it.next(), it.next()) {
            (Some(c), Some(_lang), Some(t)) => (c, t),
            _ => (b"", v),
        }
    };
    let mut bytes = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'%' && i + 2 < text.len() {
            if let (Some(h), Some(l)) = (hexval(text[i + 1]), hexval(text[i + 2])) {
                bytes.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        bytes.push(text[i]);
        i += 1;
    }
    crate::decode::charset_to_utf8(charset, &bytes)
}

pub(crate) fn hexval(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> (Vec<u8>, Params) {
        parse_content_header(s.as_bytes())
    }

    #[test]
    fn content_type_basic() {
        let (m, ps) = p(" text/plain; charset=\"UTF-8\" (comment); format=flowed");
        assert_eq!(m, b"text/plain");
        assert_eq!(
            ps,
            vec![
                (b"charset".to_vec(), b"UTF-8".to_vec()),
                (b"format".to_vec(), b"flowed".to_vec())
            ]
        );
        let (m, ps) = p("multipart/mixed;\r\n boundary=\"a;b\\\"c\"");
        assert_eq!(m, b"multipart/mixed");
        assert_eq!(ps[0].1, b"a;b\"c");
        let (m, ps) = p("");
        assert!(m.is_empty() && ps.is_empty());
        let (_, ps) = p("x/y; =z; noeq; A=1; a=2");
        assert_eq!(ps, vec![(b"a".to_vec(), b"2".to_vec())]);
    }

    #[test]
    fn rfc2231_merge_and_decode() {
        // RFC 2231 section 4 examples.
        let (_, ps) = p(
            "application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; \
             title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"",
        );
        let m = merge_2231(&ps);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].0, b"title*");
        assert_eq!(
            param_value(&m, "TITLE").unwrap(),
            "This is even more ***fun*** isn't it!"
        );
        let (_, ps) = p("message/external-body; access-type=URL; \
             URL*0=\"ftp://\"; URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"");
        let m = merge_2231(&ps);
        assert_eq!(
            m[1],
            (
                b"url".to_vec(),
                b"ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar".to_vec()
            )
        );
        let (_, ps) = p("application/x-stuff; title*=iso-8859-1'en'caf%E9%");
        let m = merge_2231(&ps);
        assert_eq!(param_value(&m, "title").unwrap(), "café%");
        let (_, ps) = p("a/b; name=\"=?utf-8?q?caf=C3=A9?=\"");
        assert_eq!(param_value(&ps, "name").unwrap(), "café");
        assert_eq!(param_value(&ps, "other"), None);
    }
}
