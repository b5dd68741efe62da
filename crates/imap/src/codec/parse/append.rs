//! APPEND (RFC 3501 §6.3.11), with the RFC 6855 §4 `UTF8 (literal8)` form.
//!
//! Two entry points: [`append`] parses a complete frame (message included),
//! and [`append_start`] parses what an APPEND says before its message, for
//! the framer, which streams the message instead of holding it.

use super::{Error, Parser};
use crate::codec::limits::Limits;
use crate::codec::types::{AppendStart, Command, DateTime, Flag, LiteralKind, Mailbox, Tag};

/// What comes before the message literal.
struct Head {
    mailbox: Mailbox,
    flags: Vec<Flag>,
    date: Option<DateTime>,
    /// The message is wrapped in `UTF8 (` … `)` (RFC 6855 §4).
    utf8: bool,
}

/// `SP mailbox [SP flag-list] [SP date-time] SP ["UTF8" SP "("]`.
fn head(p: &mut Parser<'_>) -> Result<Head, Error> {
    p.sp()?;
    let mailbox = p.mailbox()?;
    p.sp()?;
    let mut flags = Vec::new();
    if p.peek() == Some(b'(') {
        flags = p.flag_list()?;
        p.sp()?;
    }
    let mut date = None;
    if p.peek() == Some(b'"') {
        date = Some(p.date_time()?);
        p.sp()?;
    }
    let utf8 = p.eat_ci("UTF8");
    if utf8 {
        p.sp()?;
        p.expect(b'(')?;
    }
    Ok(Head {
        mailbox,
        flags,
        date,
        utf8,
    })
}

/// The message literal's kind, from how it starts.
fn kind(p: &Parser<'_>, head: &Head) -> Result<LiteralKind, Error> {
    match (head.utf8, p.peek()) {
        (true, Some(b'~' | b'{')) => Ok(LiteralKind::Utf8),
        (false, Some(b'{')) => Ok(LiteralKind::Plain),
        (false, Some(b'~')) => Ok(LiteralKind::Binary),
        _ => Err(p.err("expected message literal")),
    }
}

/// `APPEND SP mailbox [SP flag-list] [SP date-time] SP (literal / literal8 /
/// "UTF8" SP "(" literal8 ")")`.
pub(super) fn append(p: &mut Parser<'_>) -> Result<Command, Error> {
    let head = head(p)?;
    let kind = kind(p, &head)?;
    let (message, _) = p.literal_any(kind != LiteralKind::Plain)?;
    let message = message.to_vec();
    if head.utf8 {
        p.expect(b')')?;
    }
    Ok(Command::Append {
        mailbox: head.mailbox,
        flags: head.flags,
        date: head.date,
        message,
        kind,
    })
}

/// For a frame that ends in a literal announcement (`{n}`, `{n+}`, `~{n}`,
/// through CRLF) and starts `tag APPEND`: `Ok(None)` when that literal is
/// the mailbox name, the start of the command when it is the message
/// (`size` and `sync` are for the caller, which read the announcement, to
/// fill in), or the tag and the error when what precedes it is not a valid
/// APPEND.
pub(crate) fn append_start(
    frame: &[u8],
    utf8: bool,
    limits: &Limits,
) -> Result<Option<AppendStart>, (Option<Tag>, Error)> {
    let mut p = Parser::new(frame, utf8, limits);
    let tag = p.tag().map_err(|e| (None, e))?;
    let mut start = || -> Result<Option<AppendStart>, Error> {
        p.sp()?;
        p.atom()?; // APPEND, as the framer saw
        let before_mailbox = p.pos;
        p.sp()?;
        if p.literal_announcement(false).is_ok() && p.pos == frame.len() {
            return Ok(None);
        }
        p.pos = before_mailbox;
        let head = head(&mut p)?;
        let kind = kind(&p, &head)?;
        p.literal_announcement(kind != LiteralKind::Plain)?;
        if p.pos != frame.len() {
            return Err(p.err("unexpected characters"));
        }
        Ok(Some(AppendStart {
            tag: tag.clone(),
            mailbox: head.mailbox,
            flags: head.flags,
            date: head.date,
            kind,
            size: 0,
            sync: true,
        }))
    };
    start().map_err(|e| (Some(tag.clone()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(frame: &[u8]) -> Result<Option<AppendStart>, (Option<Tag>, Error)> {
        append_start(frame, false, &Limits::default())
    }

    #[test]
    fn message_literal_is_found() {
        let s = start(b"a APPEND INBOX (\\Seen) {310}\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(s.tag, "a");
        assert_eq!(s.mailbox.as_str(), "INBOX");
        assert_eq!(s.flags, vec![Flag::Seen]);
        assert_eq!(s.kind, LiteralKind::Plain);
        let s = start(b"a APPEND x \"01-Jan-2020 00:00:00 +0000\" ~{3+}\r\n")
            .unwrap()
            .unwrap();
        assert!(s.date.is_some() && s.kind == LiteralKind::Binary);
        let s = start(b"a APPEND x UTF8 (~{3}\r\n").unwrap().unwrap();
        assert_eq!(s.kind, LiteralKind::Utf8);
    }

    #[test]
    fn mailbox_literal_is_not_the_message() {
        assert_eq!(start(b"a APPEND {5}\r\n"), Ok(None));
        assert_eq!(start(b"a APPEND {5+}\r\n"), Ok(None));
        let s = start(b"a APPEND {5}\r\nINBOX {10}\r\n").unwrap().unwrap();
        assert_eq!(s.mailbox.as_str(), "INBOX");
    }

    #[test]
    fn bad_heads_are_refused_with_the_tag() {
        for frame in [
            &b"a APPEND INBOX (\\Seen {3}\r\n"[..],
            b"a APPEND INBOX \"not a date\" {3}\r\n",
            b"a APPEND INBOX junk {3}\r\n",
            b"a APPEND INBOX UTF8 {3}\r\n",
            b"a APPEND INBOX {99999999999999999999999}\r\n",
        ] {
            let r = start(frame);
            assert!(
                matches!(&r, Err((Some(t), _)) if t == "a"),
                "{:?}: {r:?}",
                String::from_utf8_lossy(frame)
            );
        }
    }
}
