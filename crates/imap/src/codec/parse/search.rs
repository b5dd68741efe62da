//! SEARCH (RFC 3501 §6.4.4, §9 `search`, `search-key`).

use super::{Error, Parser};
use crate::codec::types::{Command, SearchKey};

/// `[UID] SEARCH [SP "CHARSET" SP astring] 1*(SP search-key)`.
pub(super) fn search(p: &mut Parser<'_>, uid: bool) -> Result<Command, Error> {
    p.sp()?;
    let mut charset = None;
    if p.peek_ci("CHARSET ") {
        p.pos += "CHARSET ".len();
        charset = Some(charset_name(p)?);
        p.sp()?;
    }
    let criteria = search_program(p)?;
    Ok(Command::Search {
        uid,
        charset,
        criteria,
    })
}

/// A charset astring, upper-cased.
pub(super) fn charset_name(p: &mut Parser<'_>) -> Result<String, Error> {
    let c = p.astring_utf8()?;
    Ok(c.to_ascii_uppercase())
}

/// `search-key *(SP search-key)` up to the end of the line; one key is
/// returned as is, several as [`SearchKey::And`].
pub(super) fn search_program(p: &mut Parser<'_>) -> Result<SearchKey, Error> {
    let mut keys = vec![search_key(p)?];
    while p.eat(b' ') {
        keys.push(search_key(p)?);
    }
    Ok(if keys.len() == 1 {
        keys.swap_remove(0)
    } else {
        SearchKey::And(keys)
    })
}

fn search_key(p: &mut Parser<'_>) -> Result<SearchKey, Error> {
    if p.eat(b'(') {
        p.enter()?;
        let mut keys = vec![search_key(p)?];
        while p.eat(b' ') {
            keys.push(search_key(p)?);
        }
        p.expect(b')')?;
        p.leave();
        return Ok(SearchKey::And(keys));
    }
    if p.at_sequence_set() {
        return Ok(SearchKey::SequenceSet(p.sequence_set()?));
    }
    let word = p.atom()?.to_ascii_uppercase();
    let key = match word.as_str() {
        "ALL" => SearchKey::All,
        "ANSWERED" => SearchKey::Answered,
        "DELETED" => SearchKey::Deleted,
        "DRAFT" => SearchKey::Draft,
        "FLAGGED" => SearchKey::Flagged,
        "NEW" => SearchKey::New,
        "OLD" => SearchKey::Old,
        "RECENT" => SearchKey::Recent,
        "SEEN" => SearchKey::Seen,
        "UNANSWERED" => SearchKey::Unanswered,
        "UNDELETED" => SearchKey::Undeleted,
        "UNDRAFT" => SearchKey::Undraft,
        "UNFLAGGED" => SearchKey::Unflagged,
        "UNSEEN" => SearchKey::Unseen,
        "BCC" | "BODY" | "CC" | "FROM" | "SUBJECT" | "TEXT" | "TO" => {
            p.sp()?;
            let s = p.astring()?;
            match word.as_str() {
                "BCC" => SearchKey::Bcc(s),
                "BODY" => SearchKey::Body(s),
                "CC" => SearchKey::Cc(s),
                "FROM" => SearchKey::From(s),
                "SUBJECT" => SearchKey::Subject(s),
                "TEXT" => SearchKey::Text(s),
                _ => SearchKey::To(s),
            }
        }
        "BEFORE" | "ON" | "SINCE" | "SENTBEFORE" | "SENTON" | "SENTSINCE" => {
            p.sp()?;
            let d = p.date()?;
            match word.as_str() {
                "BEFORE" => SearchKey::Before(d),
                "ON" => SearchKey::On(d),
                "SINCE" => SearchKey::Since(d),
                "SENTBEFORE" => SearchKey::SentBefore(d),
                "SENTON" => SearchKey::SentOn(d),
                _ => SearchKey::SentSince(d),
            }
        }
        "KEYWORD" | "UNKEYWORD" => {
            p.sp()?;
            let k = p.atom()?;
            if word == "KEYWORD" {
                SearchKey::Keyword(k)
            } else {
                SearchKey::Unkeyword(k)
            }
        }
        "HEADER" => {
            p.sp()?;
            let name = p.astring_utf8()?;
            p.sp()?;
            SearchKey::Header(name, p.astring()?)
        }
        "LARGER" | "SMALLER" => {
            p.sp()?;
            let n = p.number()?;
            if word == "LARGER" {
                SearchKey::Larger(n)
            } else {
                SearchKey::Smaller(n)
            }
        }
        "UID" => {
            p.sp()?;
            SearchKey::Uid(p.sequence_set()?)
        }
        "NOT" => {
            p.sp()?;
            p.enter()?;
            let k = search_key(p)?;
            p.leave();
            SearchKey::Not(Box::new(k))
        }
        "OR" => {
            p.sp()?;
            p.enter()?;
            let a = search_key(p)?;
            p.sp()?;
            let b = search_key(p)?;
            p.leave();
            SearchKey::Or(Box::new(a), Box::new(b))
        }
        _ => return Err(Error::syntax(format!("unknown search key {word}"))),
    };
    Ok(key)
}
