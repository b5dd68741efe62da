//! SMAP's SEARCH (spec §5.14): a scope, then one criterion, optionally
//! negated, read into IMAP's search key so that both protocols match
//! messages the same way.
//!
//! Courier does not recognise `SENTSINCE` (its code tests `SINCE`
//! twice); here it works as the protocol describes it.

use courser_imap::codec::{Date, SearchKey, SeqNum, SeqRange, SequenceSet};

use crate::words::Words;

/// The criterion cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadSearch;

/// Reads `scope [NOT] criterion` into one search key.
pub fn read(words: &mut Words<'_>) -> Result<SearchKey, BadSearch> {
    let scope = upper(words.next_word());
    let scope = match scope.as_str() {
        "ALL" => None,
        "MARKED" => Some(SearchKey::Flagged),
        "UNMARKED" => Some(SearchKey::Unflagged),
        set => Some(SearchKey::SequenceSet(ranges(set)?)),
    };
    let criterion = criterion(words)?;
    Ok(match scope {
        None => criterion,
        Some(scope) => SearchKey::And(vec![scope, criterion]),
    })
}

fn upper(word: Vec<u8>) -> String {
    String::from_utf8_lossy(&word).to_ascii_uppercase()
}

/// `1-5,15-20`: message numbers and ranges, comma-separated.
fn ranges(text: &str) -> Result<SequenceSet, BadSearch> {
    let mut set = Vec::new();
    for item in text.split(',') {
        let (a, b) = item.split_once('-').unwrap_or((item, item));
        let number = |n: &str| match n.parse::<u32>() {
            Ok(n) if n > 0 => Ok(SeqNum::Value(n)),
            _ => Err(BadSearch),
        };
        set.push(SeqRange {
            start: number(a)?,
            end: number(b)?,
        });
    }
    Ok(SequenceSet(set))
}

fn criterion(words: &mut Words<'_>) -> Result<SearchKey, BadSearch> {
    let mut name = upper(words.next_word());
    let negated = name == "NOT";
    if negated {
        name = upper(words.next_word());
    }
    let mut arg = || words.next_word();
    let key = match name.as_str() {
        "REPLIED" => SearchKey::Answered,
        "DELETED" => SearchKey::Deleted,
        "DRAFT" => SearchKey::Draft,
        "SEEN" => SearchKey::Seen,
        "KEYWORD" => SearchKey::Keyword(String::from_utf8(arg()).map_err(|_| BadSearch)?),
        "FROM" => SearchKey::From(arg()),
        "TO" => SearchKey::To(arg()),
        "CC" => SearchKey::Cc(arg()),
        "BCC" => SearchKey::Bcc(arg()),
        "SUBJECT" => SearchKey::Subject(arg()),
        "HEADER" => {
            let field = String::from_utf8(arg()).map_err(|_| BadSearch)?;
            SearchKey::Header(field, arg())
        }
        "BODY" => SearchKey::Body(arg()),
        "TEXT" => SearchKey::Text(arg()),
        "BEFORE" => SearchKey::Before(date(&arg())?),
        "ON" => SearchKey::On(date(&arg())?),
        "SINCE" => SearchKey::Since(date(&arg())?),
        "SENTBEFORE" => SearchKey::SentBefore(date(&arg())?),
        "SENTON" => SearchKey::SentOn(date(&arg())?),
        "SENTSINCE" => SearchKey::SentSince(date(&arg())?),
        "SMALLER" => SearchKey::Smaller(size(&arg())?),
        "LARGER" => SearchKey::Larger(size(&arg())?),
        _ => return Err(BadSearch),
    };
    Ok(if negated {
        SearchKey::Not(Box::new(key))
    } else {
        key
    })
}

fn size(word: &[u8]) -> Result<u32, BadSearch> {
    std::str::from_utf8(word)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(BadSearch)
}

/// `dd-Mon-yyyy` (IMAP's date).
fn date(word: &[u8]) -> Result<Date, BadSearch> {
    const MONTHS: [&str; 12] = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    let text = std::str::from_utf8(word).map_err(|_| BadSearch)?;
    let mut parts = text.split('-');
    let (Some(day), Some(month), Some(year), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(BadSearch);
    };
    let month = MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(month))
        .ok_or(BadSearch)?;
    let day: u8 = day.parse().map_err(|_| BadSearch)?;
    let year: u16 = year.parse().map_err(|_| BadSearch)?;
    Date::new(year, month as u8 + 1, day).ok_or(BadSearch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(line: &str) -> Result<SearchKey, BadSearch> {
        read(&mut Words::new(line.as_bytes()))
    }

    #[test]
    fn scopes_and_criteria_read_into_imap_keys() {
        assert_eq!(key("ALL SEEN"), Ok(SearchKey::Seen));
        assert_eq!(
            key("marked not subject \"a b\""),
            Ok(SearchKey::And(vec![
                SearchKey::Flagged,
                SearchKey::Not(Box::new(SearchKey::Subject(b"a b".to_vec())))
            ]))
        );
        let Ok(SearchKey::And(keys)) = key("1-5,9 SENTSINCE 1-Feb-2003") else {
            panic!("a set and a criterion");
        };
        assert_eq!(
            keys[1],
            SearchKey::SentSince(Date::new(2003, 2, 1).unwrap())
        );
        for bad in [
            "ALL",
            "ALL BOGUS",
            "ALL ON 31-Feb-2003",
            "0-3 SEEN",
            "x SEEN",
            "ALL LARGER x",
        ] {
            assert_eq!(key(bad), Err(BadSearch), "{bad}");
        }
    }
}
