//! SEARCH (RFC 3501 §6.4.4, §9 `search`, `search-key`).

use super::{Error, Parser};
use crate::codec::types::{Command, ReturnOption, SearchKey};

/// `[UID] SEARCH [SP "RETURN" SP "(" return-opts ")"] [SP "CHARSET" SP
/// astring] 1*(SP search-key)` (RFC 3501, RFC 4731 §3.1).
pub(super) fn search(p: &mut Parser<'_>, uid: bool) -> Result<Command, Error> {
    p.sp()?;
    let ret = return_options(p)?;
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
        ret,
    })
}

/// `"RETURN" SP "(" [return-opt *(SP return-opt)] ")" SP`, if there
/// (RFC 4731 §3.1, RFC 5267 §3.2); an empty list means ALL. Options we
/// do not know (SAVE, PARTIAL, CONTEXT…) are a syntax error.
pub(super) fn return_options(p: &mut Parser<'_>) -> Result<Option<Vec<ReturnOption>>, Error> {
    if !p.peek_ci("RETURN ") {
        return Ok(None);
    }
    p.pos += "RETURN ".len();
    p.expect(b'(')?;
    let mut opts = Vec::new();
    while !p.eat(b')') {
        if !opts.is_empty() {
            p.sp()?;
        }
        let word = p.atom()?.to_ascii_uppercase();
        let opt = match word.as_str() {
            "MIN" => ReturnOption::Min,
            "MAX" => ReturnOption::Max,
            "ALL" => ReturnOption::All,
            "COUNT" => ReturnOption::Count,
            _ => return Err(Error::syntax(format!("unknown RETURN option {word}"))),
        };
        if !opts.contains(&opt) {
            opts.push(opt);
        }
        if opts.len() > 4 {
            return Err(Error::syntax("too many RETURN options"));
        }
    }
    if opts.is_empty() {
        opts.push(ReturnOption::All);
    }
    p.sp()?;
    Ok(Some(opts))
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
