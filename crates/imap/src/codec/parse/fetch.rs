//! FETCH (RFC 3501 §6.4.5, §9 `fetch`, `fetch-att`, `section`).

use super::{Error, Parser};
use crate::codec::types::{Command, FetchAttr, Partial, Section, SectionText};

/// `[UID] FETCH SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att /
/// "(" fetch-att *(SP fetch-att) ")")`.
pub(super) fn fetch(p: &mut Parser<'_>, uid: bool) -> Result<Command, Error> {
    p.sp()?;
    let set = p.sequence_set()?;
    p.sp()?;
    let mut items = Vec::new();
    if p.eat(b'(') {
        loop {
            items.push(fetch_att(p)?);
            if items.len() > 256 {
                return Err(Error::syntax("too many FETCH items"));
            }
            if p.eat(b')') {
                break;
            }
            p.sp()?;
        }
    } else {
        let word = peek_word(p);
        match word.as_str() {
            "ALL" | "FAST" | "FULL" => {
                p.pos += word.len();
                items.extend([
                    FetchAttr::Flags,
                    FetchAttr::InternalDate,
                    FetchAttr::Rfc822Size,
                ]);
                if word != "FAST" {
                    items.push(FetchAttr::Envelope);
                }
                if word == "FULL" {
                    items.push(FetchAttr::Body);
                }
            }
            _ => items.push(fetch_att(p)?),
        }
    }
    Ok(Command::Fetch { uid, set, items })
}

/// The upper-cased word at the cursor made of letters, digits and dots.
fn peek_word(p: &Parser<'_>) -> String {
    p.buf[p.pos..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'.')
        .map(|&b| b.to_ascii_uppercase() as char)
        .collect()
}

fn fetch_att(p: &mut Parser<'_>) -> Result<FetchAttr, Error> {
    let word = peek_word(p);
    p.pos += word.len();
    let attr = match word.as_str() {
        "ENVELOPE" => FetchAttr::Envelope,
        "FLAGS" => FetchAttr::Flags,
        "INTERNALDATE" => FetchAttr::InternalDate,
        "RFC822" => FetchAttr::Rfc822,
        "RFC822.HEADER" => FetchAttr::Rfc822Header,
        "RFC822.SIZE" => FetchAttr::Rfc822Size,
        "RFC822.TEXT" => FetchAttr::Rfc822Text,
        "BODYSTRUCTURE" => FetchAttr::BodyStructure,
        "UID" => FetchAttr::Uid,
        "BODY" if p.peek() != Some(b'[') => FetchAttr::Body,
        "BODY" | "BODY.PEEK" => {
            let section = section(p)?;
            let partial = partial(p)?;
            FetchAttr::BodySection {
                peek: word == "BODY.PEEK",
                section,
                partial,
            }
        }
        _ => {
            p.pos -= word.len();
            return Err(p.err("unknown FETCH item"));
        }
    };
    Ok(attr)
}

/// `section = "[" [section-spec] "]"`.
pub(crate) fn section(p: &mut Parser<'_>) -> Result<Section, Error> {
    p.expect(b'[')?;
    let mut sec = Section::default();
    if p.eat(b']') {
        return Ok(sec);
    }
    // section-part
    while p.peek().is_some_and(|b| b.is_ascii_digit()) {
        sec.part.push(p.nz_number()?);
        if sec.part.len() > p.limits().max_depth {
            return Err(Error::TooDeep);
        }
        if !p.eat(b'.') {
            p.expect(b']')?;
            return Ok(sec);
        }
    }
    let word = peek_word(p);
    p.pos += word.len();
    let text = match word.as_str() {
        "HEADER" => SectionText::Header,
        "TEXT" => SectionText::Text,
        "MIME" if !sec.part.is_empty() => SectionText::Mime,
        "HEADER.FIELDS" | "HEADER.FIELDS.NOT" => {
            p.sp()?;
            let names = header_list(p)?;
            if word == "HEADER.FIELDS" {
                SectionText::HeaderFields(names)
            } else {
                SectionText::HeaderFieldsNot(names)
            }
        }
        _ => return Err(p.err("invalid section")),
    };
    sec.text = Some(text);
    p.expect(b']')?;
    Ok(sec)
}

/// `header-list = "(" header-fld-name *(SP header-fld-name) ")"`.
fn header_list(p: &mut Parser<'_>) -> Result<Vec<String>, Error> {
    p.expect(b'(')?;
    let mut names = Vec::new();
    loop {
        // RFC 3501 §9 `header-fld-name = astring`: any astring is
        // grammatical; one that is no RFC 5322 field name matches nothing.
        names.push(p.astring_utf8()?);
        if names.len() > 1024 {
            return Err(Error::syntax("too many header field names"));
        }
        if p.eat(b')') {
            return Ok(names);
        }
        p.sp()?;
    }
}

/// `"<" number "." nz-number ">"`.
fn partial(p: &mut Parser<'_>) -> Result<Option<Partial>, Error> {
    if !p.eat(b'<') {
        return Ok(None);
    }
    let origin = p.number()?;
    p.expect(b'.')?;
    let count = p.nz_number()?;
    p.expect(b'>')?;
    Ok(Some(Partial { origin, count }))
}
