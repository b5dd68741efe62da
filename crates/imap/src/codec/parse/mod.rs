//! Command parsers: pure functions from one complete frame (as assembled by
//! the [`Decoder`](super::Decoder): lines and literal data exactly as sent,
//! ending in CRLF) to a [`Command`] (RFC 3501 §9 grammar).
//!
//! `Parser` holds the lexical primitives (atoms, strings, literals,
//! numbers); one file per command family or extension holds the rest.

mod acl;
mod append;
mod auth;
mod datetime;
mod enable;
mod fetch;
mod id;
mod mailbox;
mod quota;
mod search;
mod sequence;
mod sort;
mod store;

use super::error::Error;
use super::limits::Limits;
use super::types::{Command, Flag, Mailbox, Tag};
use super::utf7;

pub(crate) use append::append_start;
pub(crate) use auth::decode_base64;

/// RFC 3501 §9 `ATOM-CHAR`: any CHAR except atom-specials.
pub fn is_atom_char(b: u8) -> bool {
    matches!(b, 0x21..=0x7e) && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// RFC 3501 §9 `ASTRING-CHAR`: ATOM-CHAR or `]`.
pub fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

/// RFC 3501 §9 `tag` character: ASTRING-CHAR except `+`.
fn is_tag_char(b: u8) -> bool {
    is_astring_char(b) && b != b'+'
}

/// RFC 3501 §9 `list-char`: ATOM-CHAR, list-wildcards or resp-specials.
fn is_list_char(b: u8) -> bool {
    is_astring_char(b) || b == b'%' || b == b'*'
}

/// Longest tag echoed in an error answer; longer ones get an untagged
/// `BAD` (the framer keeps this much of a discarded line, plus one octet
/// for the delimiter).
pub(crate) const MAX_ECHOED_TAG: usize = 255;

/// The "tag" of an SMAP client's pre-login commands (Courier's SMAP1
/// marker): not an IMAP tag (`\` is not a tag character), so it cannot
/// be mistaken for one; the session decides whether it is welcome.
pub const SMAP_TAG: &str = "\\SMAP1";

/// The length of a tag at the start of `buf`: [`SMAP_TAG`] when it is
/// there, followed by a space; else the run of tag characters.
fn tag_len(buf: &[u8]) -> usize {
    if buf.starts_with(SMAP_TAG.as_bytes()) && buf.get(SMAP_TAG.len()) == Some(&b' ') {
        return SMAP_TAG.len();
    }
    buf.iter()
        .position(|&b| !is_tag_char(b))
        .unwrap_or(buf.len())
}

/// The tag at the start of a frame, if it is a valid one.
pub(crate) fn peek_tag(frame: &[u8]) -> Option<Tag> {
    let end = tag_len(frame);
    // A tag is known only with the delimiter after it: a frame cut short
    // (the head of a discarded line) may have cut the tag too, and the
    // answer must not depend on where reads happened to split the input.
    if end == 0 || end > MAX_ECHOED_TAG {
        return None;
    }
    match frame.get(end) {
        Some(b' ' | b'\r' | b'\n') => String::from_utf8(frame[..end].to_vec()).ok(),
        _ => None,
    }
}

/// The command word(s) of a frame's first line: `(tag, name, after-UID name)`.
fn peek_words(frame: &[u8]) -> (Option<Tag>, Vec<u8>, Vec<u8>) {
    let tag = peek_tag(frame);
    let mut words = frame
        .split(|&b| b == b' ' || b == b'\r' || b == b'\n')
        .skip(1)
        .map(|w| w.to_ascii_uppercase());
    let first = words.next().unwrap_or_default();
    let second = words.next().unwrap_or_default();
    (tag, first, second)
}

/// Whether a frame is an APPEND command (one of its literals is a message
/// the framer streams, see [`append_start`]).
pub(crate) fn peek_is_append(frame: &[u8]) -> bool {
    peek_words(frame).1 == b"APPEND"
}

/// Checks on an incomplete frame before a synchronizing literal is accepted:
/// the tag and the command name must be valid (RFC 3501 §7.5 lets the server
/// refuse with BAD instead of sending the continuation).
pub(crate) fn precheck(frame: &[u8]) -> Result<(), (Option<Tag>, Error)> {
    let (tag, name, sub) = peek_words(frame);
    let Some(tag) = tag else {
        return Err((None, Error::InvalidTag));
    };
    // One list of names for parsing and for metrics labels.
    let known = |n: &[u8]| Command::NAMES.iter().any(|c| c.as_bytes() == n);
    let ok = if name == b"UID" {
        known(&[&b"UID "[..], &sub].concat())
    } else {
        known(&name)
    };
    if ok {
        Ok(())
    } else {
        Err((
            Some(tag),
            Error::UnknownCommand(String::from_utf8_lossy(&name).into_owned()),
        ))
    }
}

/// Parse one complete command frame. On error, the tag (if readable) and
/// the reason.
pub fn parse_command(
    frame: &[u8],
    utf8: bool,
    limits: &Limits,
) -> Result<(Tag, Command), (Option<Tag>, Error)> {
    let mut p = Parser::new(frame, utf8, limits);
    let tag = match p.tag() {
        Ok(t) => t,
        Err(e) => return Err((None, e)),
    };
    match command(&mut p) {
        Ok(cmd) => Ok((tag, cmd)),
        Err(e) => Err((Some(tag), e)),
    }
}

fn command(p: &mut Parser<'_>) -> Result<Command, Error> {
    p.sp()?;
    let name = p.atom()?.to_ascii_uppercase();
    let cmd = match name.as_str() {
        "CAPABILITY" => Command::Capability,
        "NOOP" => Command::Noop,
        "LOGOUT" => Command::Logout,
        "STARTTLS" => Command::StartTls,
        "CHECK" => Command::Check,
        "CLOSE" => Command::Close,
        "UNSELECT" => Command::Unselect,
        "EXPUNGE" => Command::Expunge { uids: None },
        "IDLE" => Command::Idle,
        "NAMESPACE" => Command::Namespace,
        "AUTHENTICATE" => auth::authenticate(p)?,
        "LOGIN" => auth::login(p)?,
        "SELECT" | "EXAMINE" | "CREATE" | "DELETE" | "SUBSCRIBE" | "UNSUBSCRIBE" => {
            mailbox::single(p, &name)?
        }
        "RENAME" => mailbox::rename(p)?,
        "LIST" | "LSUB" => mailbox::list(p, name == "LSUB")?,
        "STATUS" => mailbox::status(p)?,
        "APPEND" => append::append(p)?,
        "SEARCH" => search::search(p, false)?,
        "FETCH" => fetch::fetch(p, false)?,
        "STORE" => store::store(p, false)?,
        "COPY" => store::copy_move(p, false, false)?,
        "MOVE" => store::copy_move(p, false, true)?,
        "UID" => uid(p)?,
        "ENABLE" => enable::enable(p)?,
        "ID" => id::id(p)?,
        "GETQUOTA" | "GETQUOTAROOT" | "SETQUOTA" => quota::quota(p, &name)?,
        "GETACL" | "SETACL" | "DELETEACL" | "LISTRIGHTS" | "MYRIGHTS" => acl::acl(p, &name)?,
        "ACL" => acl::courier_acl(p)?,
        "SORT" => sort::sort(p, false)?,
        "THREAD" => sort::thread(p, false)?,
        _ => return Err(Error::UnknownCommand(name)),
    };
    p.crlf()?;
    Ok(cmd)
}

/// `UID` followed by a command (RFC 3501 §6.4.8; UID EXPUNGE RFC 4315 §2.1;
/// UID MOVE RFC 6851; UID SORT/THREAD RFC 5256).
fn uid(p: &mut Parser<'_>) -> Result<Command, Error> {
    p.sp()?;
    let name = p.atom()?.to_ascii_uppercase();
    match name.as_str() {
        "FETCH" => fetch::fetch(p, true),
        "STORE" => store::store(p, true),
        "COPY" => store::copy_move(p, true, false),
        "MOVE" => store::copy_move(p, true, true),
        "SEARCH" => search::search(p, true),
        "SORT" => sort::sort(p, true),
        "THREAD" => sort::thread(p, true),
        "EXPUNGE" => {
            p.sp()?;
            Ok(Command::Expunge {
                uids: Some(p.sequence_set()?),
            })
        }
        _ => Err(Error::UnknownCommand(format!("UID {name}"))),
    }
}

/// A cursor over one frame with the RFC 3501 §9 lexical primitives.
pub(crate) struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
    utf8: bool,
    limits: &'a Limits,
    depth: usize,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(buf: &'a [u8], utf8: bool, limits: &'a Limits) -> Self {
        Parser {
            buf,
            pos: 0,
            utf8,
            limits,
            depth: 0,
        }
    }

    pub(crate) fn limits(&self) -> &Limits {
        self.limits
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn peek_at(&self, off: usize) -> Option<u8> {
        self.buf.get(self.pos + off).copied()
    }

    /// Whether the rest starts with `s`, ASCII case-insensitively.
    pub(crate) fn peek_ci(&self, s: &str) -> bool {
        self.buf
            .get(self.pos..self.pos + s.len())
            .is_some_and(|b| b.eq_ignore_ascii_case(s.as_bytes()))
    }

    /// Consume `s` (case-insensitive) if present.
    pub(crate) fn eat_ci(&mut self, s: &str) -> bool {
        if self.peek_ci(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    /// Consume byte `b` if present.
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn expect(&mut self, b: u8) -> Result<(), Error> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", b as char)))
        }
    }

    pub(crate) fn err(&self, what: &str) -> Error {
        let ctx: String = self.buf[self.pos.min(self.buf.len())..]
            .iter()
            .take(20)
            .take_while(|&&b| b != b'\r' && b != b'\n')
            .map(|&b| {
                if (0x20..0x7f).contains(&b) {
                    b as char
                } else {
                    '?'
                }
            })
            .collect();
        if ctx.is_empty() {
            Error::Syntax(format!("{what} at end of line"))
        } else {
            Error::Syntax(format!("{what} near \"{ctx}\""))
        }
    }

    /// Exactly one SP.
    pub(crate) fn sp(&mut self) -> Result<(), Error> {
        if self.eat(b' ') {
            Ok(())
        } else {
            Err(self.err("expected space"))
        }
    }

    /// The final CRLF (a bare LF is accepted), which must end the frame.
    pub(crate) fn crlf(&mut self) -> Result<(), Error> {
        self.eat(b'\r');
        if self.eat(b'\n') && self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(self.err("unexpected characters"))
        }
    }

    /// Enter one nesting level (parenthesized list, NOT/OR), bounded by
    /// `max_depth`.
    pub(crate) fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            Err(Error::TooDeep)
        } else {
            Ok(())
        }
    }

    pub(crate) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        &self.buf[start..self.pos]
    }

    /// RFC 3501 §9 `tag`.
    fn tag(&mut self) -> Result<Tag, Error> {
        let end = self.pos + tag_len(&self.buf[self.pos..]);
        let t = &self.buf[self.pos..end];
        self.pos = end;
        if t.is_empty() {
            return Err(Error::InvalidTag);
        }
        String::from_utf8(t.to_vec()).map_err(|_| Error::InvalidTag)
    }

    /// RFC 3501 §9 `atom`.
    pub(crate) fn atom(&mut self) -> Result<String, Error> {
        let a = self.take_while(is_atom_char);
        if a.is_empty() {
            return Err(self.err("expected atom"));
        }
        // ATOM-CHARs are ASCII.
        Ok(a.iter().map(|&b| b as char).collect())
    }

    /// An atom made of ASTRING-CHARs (RFC 3501 §9 `1*ASTRING-CHAR`).
    fn astring_atom(&mut self) -> Result<&'a [u8], Error> {
        let a = self.take_while(is_astring_char);
        if a.is_empty() {
            return Err(self.err("expected astring"));
        }
        Ok(a)
    }

    /// RFC 3501 §9 `quoted`. 8-bit octets are accepted (RFC 6855 §3 allows
    /// UTF-8 there; older clients send it anyway).
    fn quoted(&mut self) -> Result<Vec<u8>, Error> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => match self.peek_at(1) {
                    Some(c @ (b'"' | b'\\')) => {
                        out.push(c);
                        self.pos += 2;
                    }
                    _ => return Err(self.err("invalid escape in quoted string")),
                },
                Some(b'\r' | b'\n' | 0) | None => {
                    return Err(self.err("unterminated quoted string"))
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// A literal's announcement through its line end: `{n}`, `{n+}`
    /// (RFC 7888) or, if `allow8`, `~{n}` (RFC 3516). Returns the size and
    /// whether it is a literal8.
    pub(crate) fn literal_announcement(&mut self, allow8: bool) -> Result<(u64, bool), Error> {
        let is8 = allow8 && self.eat(b'~');
        self.expect(b'{')?;
        let digits = self.take_while(|b| b.is_ascii_digit());
        let n = parse_u64(digits).ok_or_else(|| self.err("invalid literal size"))?;
        self.eat(b'+');
        self.expect(b'}')?;
        self.eat(b'\r');
        self.expect(b'\n')?;
        Ok((n, is8))
    }

    /// RFC 3501 §9 `literal`, RFC 7888 non-synchronizing literal, and — if
    /// `allow8` — RFC 3516 `literal8` (`~{n}`). Returns the data and whether
    /// it was a literal8.
    pub(crate) fn literal_any(&mut self, allow8: bool) -> Result<(&'a [u8], bool), Error> {
        let (n, is8) = self.literal_announcement(allow8)?;
        let n = usize::try_from(n).map_err(|_| Error::LiteralTooLarge)?;
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| self.err("truncated literal"))?;
        let data = &self.buf[self.pos..end];
        self.pos = end;
        Ok((data, is8))
    }

    /// RFC 3501 §9 `string`: quoted or literal.
    pub(crate) fn string(&mut self) -> Result<Vec<u8>, Error> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') => Ok(self.literal_any(false)?.0.to_vec()),
            _ => Err(self.err("expected string")),
        }
    }

    /// RFC 3501 §9 `astring`.
    pub(crate) fn astring(&mut self) -> Result<Vec<u8>, Error> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            _ => Ok(self.astring_atom()?.to_vec()),
        }
    }

    /// An astring that must be UTF-8 text (identifiers, header names).
    pub(crate) fn astring_utf8(&mut self) -> Result<String, Error> {
        String::from_utf8(self.astring()?).map_err(|_| self.err("invalid UTF-8"))
    }

    /// RFC 3501 §9 `nstring` as `Option` (NIL → None).
    pub(crate) fn nstring(&mut self) -> Result<Option<Vec<u8>>, Error> {
        if self.peek_ci("NIL") && !self.peek_at(3).is_some_and(is_astring_char) {
            self.pos += 3;
            Ok(None)
        } else {
            self.string().map(Some)
        }
    }

    /// RFC 3501 §9 `number` (32-bit).
    pub(crate) fn number(&mut self) -> Result<u32, Error> {
        let d = self.take_while(|b| b.is_ascii_digit());
        parse_u64(d)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| self.err("expected number"))
    }

    /// RFC 9051 §9 `number64`.
    pub(crate) fn number64(&mut self) -> Result<u64, Error> {
        let d = self.take_while(|b| b.is_ascii_digit());
        parse_u64(d).ok_or_else(|| self.err("expected number"))
    }

    /// RFC 3501 §9 `nz-number`.
    pub(crate) fn nz_number(&mut self) -> Result<u32, Error> {
        match self.number()? {
            0 => Err(self.err("expected non-zero number")),
            n => Ok(n),
        }
    }

    /// RFC 3501 §9 `mailbox`: astring decoded from modified UTF-7 (or
    /// UTF-8 under UTF8=ACCEPT), INBOX normalized.
    pub(crate) fn mailbox(&mut self) -> Result<Mailbox, Error> {
        let raw = self.astring()?;
        Ok(match self.decode_name(&raw) {
            Some(name) => Mailbox::new(name),
            None => Mailbox::undecodable(&raw),
        })
    }

    /// Decode a mailbox name or pattern per the UTF8=ACCEPT setting;
    /// `None` when it is not valid in that encoding.
    fn decode_name(&self, raw: &[u8]) -> Option<String> {
        if self.utf8 {
            // RFC 6855 §3: names are UTF-8; a client may still send modified
            // UTF-7, which is also valid UTF-8 and is taken literally.
            String::from_utf8(raw.to_vec()).ok()
        } else {
            utf7::decode(raw)
        }
    }

    /// RFC 3501 §9 `list-mailbox`: 1*list-char or string, decoded like a
    /// name; `None` when it is not valid modified UTF-7 (no name matches
    /// it).
    pub(crate) fn list_mailbox(&mut self) -> Result<Option<String>, Error> {
        let raw = match self.peek() {
            Some(b'"' | b'{') => self.string()?,
            _ => {
                let a = self.take_while(is_list_char);
                if a.is_empty() {
                    return Err(self.err("expected mailbox pattern"));
                }
                a.to_vec()
            }
        };
        Ok(self.decode_name(&raw))
    }

    /// RFC 3501 §9 `flag-list` contents' single `flag` (also `\*` when
    /// `allow_star`; returned as `None`).
    pub(crate) fn flag(&mut self) -> Result<Flag, Error> {
        let start = self.pos;
        self.eat(b'\\');
        let word = self.take_while(is_atom_char);
        let text = std::str::from_utf8(&self.buf[start..self.pos]).unwrap_or("");
        if word.is_empty() {
            return Err(self.err("expected flag"));
        }
        Flag::from_atom(text).ok_or_else(|| self.err("invalid flag"))
    }

    /// RFC 3501 §9 `flag-list`: `(` [flag *(SP flag)] `)`.
    pub(crate) fn flag_list(&mut self) -> Result<Vec<Flag>, Error> {
        self.expect(b'(')?;
        let mut flags = Vec::new();
        if !self.eat(b')') {
            loop {
                flags.push(self.flag()?);
                if flags.len() > self.limits.max_sequence_ranges {
                    return Err(Error::syntax("too many flags"));
                }
                if self.eat(b')') {
                    break;
                }
                self.sp()?;
            }
        }
        Ok(flags)
    }
}

/// Decimal digits to `u64` (no sign, at least one digit, no overflow).
fn parse_u64(d: &[u8]) -> Option<u64> {
    if d.is_empty() {
        return None;
    }
    d.iter().try_fold(0u64, |acc, &c| {
        acc.checked_mul(10)?.checked_add(u64::from(c - b'0'))
    })
}

#[cfg(test)]
mod tests;
