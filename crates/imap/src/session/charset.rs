//! The CHARSET of SEARCH, SORT and THREAD (RFC 3501 §6.4.4, RFC 5256 §3):
//! search strings in any charset `encoding_rs` knows, turned into UTF-8
//! before they are matched; an unknown one gets `NO [BADCHARSET (…)]`.

use std::borrow::Cow;

use encoding_rs::{Encoding, REPLACEMENT, UTF_8};

use super::reply::Reply;
use super::Session;
use crate::codec::respond::Code;
use crate::codec::SearchKey;

/// The charsets listed in `[BADCHARSET (…)]`: the ones mail is written
/// in. Every other label `encoding_rs` knows is accepted too.
const LISTED: &[&str] = &[
    "UTF-8",
    "US-ASCII",
    "ISO-8859-1",
    "ISO-8859-2",
    "ISO-8859-3",
    "ISO-8859-4",
    "ISO-8859-5",
    "ISO-8859-6",
    "ISO-8859-7",
    "ISO-8859-8",
    "ISO-8859-10",
    "ISO-8859-13",
    "ISO-8859-14",
    "ISO-8859-15",
    "ISO-8859-16",
    "WINDOWS-1250",
    "WINDOWS-1251",
    "WINDOWS-1252",
    "WINDOWS-1253",
    "WINDOWS-1254",
    "WINDOWS-1255",
    "WINDOWS-1256",
    "WINDOWS-1257",
    "WINDOWS-1258",
    "KOI8-R",
    "KOI8-U",
    "ISO-2022-JP",
    "SHIFT_JIS",
    "EUC-JP",
    "EUC-KR",
    "GB2312",
    "GBK",
    "GB18030",
    "BIG5",
    "UTF-16",
    "UTF-16BE",
    "UTF-16LE",
];

/// The encoding a CHARSET names, if it is one we can read. US-ASCII is
/// read as UTF-8 (WHATWG would take windows-1252); labels that
/// `encoding_rs` maps to its "replacement" decoder (ISO-2022-KR, …) are
/// refused.
fn encoding(name: &str) -> Option<&'static Encoding> {
    if name.eq_ignore_ascii_case("US-ASCII") {
        return Some(UTF_8);
    }
    Encoding::for_label(name.trim().as_bytes()).filter(|e| *e != REPLACEMENT)
}

/// `key` with every string turned from `encoding` into UTF-8.
fn to_utf8(key: &SearchKey, encoding: &'static Encoding) -> SearchKey {
    use SearchKey as K;
    let text = |bytes: &[u8]| {
        encoding
            .decode_without_bom_handling(bytes)
            .0
            .into_owned()
            .into_bytes()
    };
    match key {
        K::And(keys) => K::And(keys.iter().map(|k| to_utf8(k, encoding)).collect()),
        K::Or(a, b) => K::Or(
            Box::new(to_utf8(a, encoding)),
            Box::new(to_utf8(b, encoding)),
        ),
        K::Not(k) => K::Not(Box::new(to_utf8(k, encoding))),
        K::Bcc(s) => K::Bcc(text(s)),
        K::Body(s) => K::Body(text(s)),
        K::Cc(s) => K::Cc(text(s)),
        K::From(s) => K::From(text(s)),
        K::Header(name, s) => K::Header(name.clone(), text(s)),
        K::Subject(s) => K::Subject(text(s)),
        K::Text(s) => K::Text(text(s)),
        K::To(s) => K::To(text(s)),
        other => other.clone(),
    }
}

impl Session {
    /// The search key with its strings in UTF-8, or `None` after answering
    /// `NO [BADCHARSET]` for a charset we cannot read.
    pub(super) fn key_in_utf8<'k>(
        &self,
        tag: &str,
        charset: Option<&str>,
        key: &'k SearchKey,
        out: &mut Vec<u8>,
    ) -> Option<Cow<'k, SearchKey>> {
        let Some(name) = charset else {
            return Some(Cow::Borrowed(key));
        };
        match encoding(name) {
            Some(e) if e == UTF_8 => Some(Cow::Borrowed(key)),
            Some(e) => Some(Cow::Owned(to_utf8(key, e))),
            None => {
                let code = Code::BadCharset(LISTED.iter().map(|c| c.to_string()).collect());
                Reply::no(out, tag, Some(code), "Unsupported charset");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_charset_is_read() {
        for name in LISTED {
            assert!(encoding(name).is_some(), "{name}");
        }
        assert!(encoding("x-unknown").is_none());
        assert!(encoding("ISO-2022-KR").is_none(), "the replacement decoder");
        assert_eq!(encoding("us-ascii"), Some(UTF_8));
    }

    #[test]
    fn strings_are_turned_into_utf8() {
        let koi8 = encoding("KOI8-R").unwrap();
        let key = SearchKey::Not(Box::new(SearchKey::Subject(vec![0xf0, 0xd2, 0xc9])));
        let SearchKey::Not(inner) = to_utf8(&key, koi8) else {
            panic!("shape kept");
        };
        assert_eq!(*inner, SearchKey::Subject("При".as_bytes().to_vec()));
        let jis = encoding("ISO-2022-JP").unwrap();
        let text = to_utf8(&SearchKey::Text(b"\x1b$B$3$s\x1b(B".to_vec()), jis);
        assert_eq!(text, SearchKey::Text("こん".as_bytes().to_vec()));
    }
}
