//! SORT and THREAD (RFC 5256 §3).

use super::search::{charset_name, search_program};
use super::{Error, Parser};
use crate::codec::types::{Command, SortCriterion, SortKey, ThreadAlgorithm};

/// `[UID] SORT SP sort-criteria SP search-criteria` where
/// `sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"` and
/// `search-criteria = charset 1*(SP search-key)`.
pub(super) fn sort(p: &mut Parser<'_>, uid: bool) -> Result<Command, Error> {
    p.sp()?;
    let ret = super::search::return_options(p)?;
    p.expect(b'(')?;
    let mut criteria = Vec::new();
    loop {
        let mut word = p.atom()?.to_ascii_uppercase();
        let reverse = word == "REVERSE";
        if reverse {
            p.sp()?;
            word = p.atom()?.to_ascii_uppercase();
        }
        let key = match word.as_str() {
            "ARRIVAL" => SortKey::Arrival,
            "CC" => SortKey::Cc,
            "DATE" => SortKey::Date,
            "FROM" => SortKey::From,
            "SIZE" => SortKey::Size,
            "SUBJECT" => SortKey::Subject,
            "TO" => SortKey::To,
            "DISPLAYFROM" => SortKey::DisplayFrom,
            "DISPLAYTO" => SortKey::DisplayTo,
            _ => return Err(Error::syntax(format!("unknown sort key {word}"))),
        };
        criteria.push(SortCriterion { reverse, key });
        if criteria.len() > 16 {
            return Err(Error::syntax("too many sort criteria"));
        }
        if p.eat(b')') {
            break;
        }
        p.sp()?;
    }
    p.sp()?;
    let charset = charset_name(p)?;
    p.sp()?;
    let search = search_program(p)?;
    Ok(Command::Sort {
        uid,
        criteria,
        charset,
        search,
        ret,
    })
}

/// `[UID] THREAD SP thread-alg SP search-criteria`.
pub(super) fn thread(p: &mut Parser<'_>, uid: bool) -> Result<Command, Error> {
    p.sp()?;
    let alg = p.atom()?.to_ascii_uppercase();
    let algorithm = match alg.as_str() {
        "ORDEREDSUBJECT" => ThreadAlgorithm::OrderedSubject,
        "REFERENCES" => ThreadAlgorithm::References,
        _ => ThreadAlgorithm::Other(alg),
    };
    p.sp()?;
    let charset = charset_name(p)?;
    p.sp()?;
    let search = search_program(p)?;
    Ok(Command::Thread {
        uid,
        algorithm,
        charset,
        search,
    })
}
