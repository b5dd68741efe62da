//! RFC 5322 address-list parsing into RFC 3501 address structures.
//!
//! Tolerant: never fails; garbage yields fewer or odd addresses, never a
//! panic. Names stay raw (RFC 2047 words are not decoded); quoted-string
//! display names and local parts are unquoted: RFC 3501 defines
//! addr-mailbox as the local-part "after removing RFC 2822 quoting" (as
//! Dovecot does; Courier keeps the quotes).

use crate::header::unfold;
use crate::structure::Address;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Atom(Vec<u8>),
    Quoted(Vec<u8>),
    Comment(Vec<u8>),
    Literal(Vec<u8>),
    Special(u8),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    space_before: bool,
}

fn is_special(c: u8) -> bool {
    b"()<>@,;:\\\".[]".contains(&c)
}

fn tokenize(s: &[u8]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut space = false;
    while i < s.len() {
        let c = s[i];
        if c.is_ascii_whitespace() {
            space = true;
            i += 1;
            continue;
        }
        let tok = match c {
            b'"' => {
                let mut v = Vec::new();
                i += 1;
                while i < s.len() && s[i] != b'"' {
                    if s[i] == b'\\' && i + 1 < s.len() {
                        i += 1;
                    }
                    v.push(s[i]);
                    i += 1;
                }
                i += 1;
                Tok::Quoted(v)
            }
            b'(' => {
                let mut v = Vec::new();
                let mut depth = 1usize;
                i += 1;
                while i < s.len() {
                    match s[i] {
                        b'\\' if i + 1 < s.len() => {
                            i += 1;
                            v.push(s[i]);
                        }
                        b'(' => {
                            depth += 1;
                            v.push(b'(');
                        }
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                            v.push(b')');
                        }
                        x => v.push(x),
                    }
                    i += 1;
                }
                i += 1;
                Tok::Comment(v)
            }
            b'[' => {
                let start = i;
                while i < s.len() && s[i] != b']' {
                    if s[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i = (i + 1).min(s.len());
                Tok::Literal(s[start..i].to_vec())
            }
            c if is_special(c) => {
                i += 1;
                Tok::Special(c)
            }
            _ => {
                let start = i;
                while i < s.len() && !s[i].is_ascii_whitespace() && !is_special(s[i]) {
                    i += 1;
                }
                Tok::Atom(s[start..i].to_vec())
            }
        };
        out.push(Token {
            tok,
            space_before: space,
        });
        space = false;
    }
    out
}

/// Display-name phrase: words joined as written (one space where the
/// header had whitespace), quoted strings unquoted, comments dropped.
fn phrase(toks: &[Token]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for t in toks {
        let text: &[u8] = match &t.tok {
            Tok::Atom(a) | Tok::Quoted(a) | Tok::Literal(a) => a,
            Tok::Special(c) => std::slice::from_ref(c),
            Tok::Comment(_) => continue,
        };
        if !out.is_empty() && t.space_before {
            out.push(b' ');
        }
        out.extend_from_slice(text);
    }
    let t = crate::header::trim(&out);
    if t.is_empty() {
        None
    } else {
        Some(t.to_vec())
    }
}

/// Domain or route: tokens concatenated without whitespace; quoted
/// strings keep (re-added) quotes.
fn glue(toks: &[Token]) -> Vec<u8> {
    glue_with(toks, true)
}

/// Local part: like [`glue`], but quoted strings lose their quoting
/// (RFC 3501 addr-mailbox).
fn glue_local(toks: &[Token]) -> Vec<u8> {
    glue_with(toks, false)
}

fn glue_with(toks: &[Token], requote: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for t in toks {
        match &t.tok {
            Tok::Atom(a) | Tok::Literal(a) => out.extend_from_slice(a),
            Tok::Quoted(q) if !requote => out.extend_from_slice(q),
            Tok::Quoted(q) => {
                out.push(b'"');
                for &c in q {
                    if c == b'"' || c == b'\\' {
                        out.push(b'\\');
                    }
                    out.push(c);
                }
                out.push(b'"');
            }
            Tok::Special(c) => out.push(*c),
            Tok::Comment(_) => {}
        }
    }
    out
}

fn last_comment(toks: &[Token]) -> Option<Vec<u8>> {
    toks.iter().rev().find_map(|t| match &t.tok {
        Tok::Comment(c) => {
            let c = crate::header::trim(c);
            (!c.is_empty()).then(|| c.to_vec())
        }
        _ => None,
    })
}

fn non_comment(toks: &[Token]) -> Vec<Token> {
    toks.iter()
        .filter(|t| !matches!(t.tok, Tok::Comment(_)))
        .cloned()
        .collect()
}

/// `local@domain` from tokens (no angle brackets).
fn addr_spec(toks: &[Token]) -> (Vec<u8>, Vec<u8>) {
    let toks = non_comment(toks);
    match toks.iter().rposition(|t| t.tok == Tok::Special(b'@')) {
        Some(at) => (glue_local(&toks[..at]), glue(&toks[at + 1..])),
        None => {
            // No domain: keep the words as the mailbox, as written.
            let local = phrase(&toks).unwrap_or_default();
            (local, Vec::new())
        }
    }
}

fn finish_plain(toks: &[Token], out: &mut Vec<Address>) {
    if toks.iter().all(|t| matches!(t.tok, Tok::Comment(_))) {
        return;
    }
    let (local, host) = addr_spec(toks);
    out.push(Address {
        name: last_comment(toks),
        adl: None,
        mailbox: Some(local),
        host: Some(host),
    });
}

/// Parses an angle address starting just after `<`; returns the address
/// and the index after `>`.
fn angle(name_toks: &[Token], toks: &[Token], mut i: usize) -> (Address, usize) {
    let start = i;
    while i < toks.len() && toks[i].tok != Tok::Special(b'>') {
        i += 1;
    }
    let inner = non_comment(&toks[start..i]);
    let mut spec: &[Token] = &inner;
    let mut adl = None;
    if inner.first().map(|t| &t.tok) == Some(&Tok::Special(b'@')) {
        if let Some(colon) = inner.iter().position(|t| t.tok == Tok::Special(b':')) {
            adl = Some(glue(&inner[..colon]));
            spec = &inner[colon + 1..];
        }
    }
    let (local, host) = addr_spec(spec);
    let name = phrase(name_toks).or_else(|| last_comment(&toks[start..i]));
    (
        Address {
            name,
            adl,
            mailbox: Some(local),
            host: Some(host),
        },
        (i + 1).min(toks.len()),
    )
}

/// Parses an address-list header value (raw, possibly folded) into RFC
/// 3501 addresses, with group start/end markers.
pub fn parse_address_list(raw: &[u8]) -> Vec<Address> {
    let toks = tokenize(&unfold(raw));
    let mut out = Vec::new();
    let mut acc_start = 0usize;
    let mut in_group = false;
    let mut i = 0;
    while i < toks.len() {
        match toks[i].tok {
            Tok::Special(b'<') => {
                let (a, next) = angle(&toks[acc_start..i], &toks, i + 1);
                out.push(a);
                // Skip trailing junk up to the next separator.
                i = next;
                while i < toks.len()
                    && !matches!(toks[i].tok, Tok::Special(b',') | Tok::Special(b';'))
                {
                    i += 1;
                }
                acc_start = i;
                continue;
            }
            Tok::Special(b':') if !in_group => {
                let name = phrase(&toks[acc_start..i]).unwrap_or_default();
                out.push(Address {
                    name: None,
                    adl: None,
                    mailbox: Some(name),
                    host: None,
                });
                in_group = true;
                acc_start = i + 1;
            }
            Tok::Special(b',') => {
                finish_plain(&toks[acc_start..i], &mut out);
                acc_start = i + 1;
            }
            Tok::Special(b';') => {
                finish_plain(&toks[acc_start..i], &mut out);
                if in_group {
                    out.push(Address::default());
                    in_group = false;
                }
                acc_start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    finish_plain(&toks[acc_start.min(toks.len())..], &mut out);
    if in_group {
        out.push(Address::default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(name: Option<&str>, mailbox: &str, host: &str) -> Address {
        Address {
            name: name.map(|s| s.as_bytes().to_vec()),
            adl: None,
            mailbox: Some(mailbox.as_bytes().to_vec()),
            host: Some(host.as_bytes().to_vec()),
        }
    }

    #[test]
    fn simple_forms() {
        assert_eq!(
            parse_address_list(b" John Doe <jdoe@example.com>"),
            vec![a(Some("John Doe"), "jdoe", "example.com")]
        );
        assert_eq!(
            parse_address_list(b"\"Doe, John\" <jdoe@example.com>, x@y.z (X Y)"),
            vec![
                a(Some("Doe, John"), "jdoe", "example.com"),
                a(Some("X Y"), "x", "y.z")
            ]
        );
        assert_eq!(
            parse_address_list(b"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>"),
            vec![a(Some("Pete"), "pete", "silly.test")]
        );
        assert_eq!(
            parse_address_list(b"\"john q\"@example.com"),
            vec![a(None, "john q", "example.com")]
        );
        assert_eq!(
            parse_address_list(b"\"a\\\"b\".c@example.com"),
            vec![a(None, "a\"b.c", "example.com")]
        );
        assert_eq!(
            parse_address_list(b"J.R.R. Tolkien <jrr@x.org>"),
            vec![a(Some("J.R.R. Tolkien"), "jrr", "x.org")]
        );
        assert_eq!(parse_address_list(b""), vec![]);
        assert_eq!(parse_address_list(b" , ,"), vec![]);
        assert_eq!(parse_address_list(b"nobody"), vec![a(None, "nobody", "")]);
    }

    #[test]
    fn groups_and_routes() {
        let v = parse_address_list(
            b"A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, Undisclosed recipients:;",
        );
        let start = |n: &str| Address {
            name: None,
            adl: None,
            mailbox: Some(n.as_bytes().to_vec()),
            host: None,
        };
        assert_eq!(
            v,
            vec![
                start("A Group"),
                a(Some("Ed Jones"), "c", "a.test"),
                a(None, "joe", "where.test"),
                a(Some("John"), "jdoe", "one.test"),
                Address::default(),
                start("Undisclosed recipients"),
                Address::default(),
            ]
        );
        let v = parse_address_list(b"<@a.test,@b.test:joe@c.test>");
        assert_eq!(v[0].adl.as_deref(), Some(&b"@a.test,@b.test"[..]));
        assert_eq!(v[0].mailbox.as_deref(), Some(&b"joe"[..]));
        // Unterminated group still gets its end marker.
        let v = parse_address_list(b"g: x@y");
        assert_eq!(v.len(), 3);
        assert_eq!(v[2], Address::default());
    }

    #[test]
    fn garbage_does_not_panic() {
        for s in [
            &b"<<<>>>"[..],
            b"\"unterminated",
            b"(unterminated",
            b"[lit",
            b"@@@",
            b":;:;<",
            b"a@",
            b"\\",
        ] {
            let _ = parse_address_list(s);
        }
    }
}
