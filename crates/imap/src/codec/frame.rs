//! The framer: cuts the client byte stream into complete commands (RFC 3501
//! §2.2 "commands", §4.3 literals, §7.5 continuation requests; LITERAL+ and
//! non-synchronizing literals RFC 7888; literal8 `~{n}` RFC 3516 §4.2 /
//! RFC 6855 §4).
//!
//! The [`Decoder`] is sans-IO: the caller appends bytes it read to a
//! `Vec<u8>` and calls [`Decoder::decode`] until it returns
//! [`Event::NeedMore`]; each call consumes what it used from the front of
//! the buffer and returns one [`Event`]. It alone holds line/literal state
//! and enforces [`Limits`]: it never holds more than `max_command` bytes of
//! a command, and discards the rest of an oversized or malformed command
//! while keeping the stream in sync.
//!
//! APPEND messages are not held at all: when an APPEND's message literal is
//! announced the framer reports [`Event::AppendStart`], the caller decides
//! ([`Decoder::accept_message`] or [`Decoder::refuse_message`]) before the
//! client sends it (for a synchronizing literal) or before it is read (for
//! LITERAL+), and an accepted message comes out in pieces as
//! [`Event::AppendData`] followed by [`Event::AppendDone`]. A refused one is
//! never sent (synchronizing) or is skipped by counting (LITERAL+).
//!
//! Before login ([`Decoder::set_authenticated`]) literals are small
//! ([`Limits::max_prelogin_literal`]): a bigger synchronizing literal gets a
//! `BAD` instead of the continuation request, and a bigger LITERAL+ one
//! [`Event::Bye`] — RFC 7888 §4 lets the server close the connection rather
//! than read a non-synchronizing literal it will not accept.

use super::error::Error;
use super::limits::Limits;
use super::parse;
use super::types::{AppendStart, Command, LiteralKind, Tag};

/// One result of [`Decoder::decode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A complete, well-formed command.
    Command {
        /// The client's tag.
        tag: Tag,
        /// The command.
        command: Command,
    },
    /// A synchronizing literal `{n}` was announced and accepted: the server
    /// must now send a continuation request (`+ Ready for literal`, RFC 3501
    /// §7.5) and call `decode` again. Never emitted for LITERAL+ `{n+}`.
    Continue,
    /// The command was malformed or over a limit. Answer `tag BAD text`, or
    /// `* BAD text` when `tag` is `None`. The rest of the command (including
    /// non-synchronizing literals) has been skipped; a refused synchronizing
    /// literal is not expected (RFC 3501 §7.5: the client must not send it
    /// after a BAD).
    Bad {
        /// The command's tag, if one could be read.
        tag: Option<Tag>,
        /// Human-readable reason.
        text: String,
    },
    /// In [`Decoder::expect_authenticate_data`] mode: the client's
    /// base64-decoded SASL response (RFC 3501 §6.2.2).
    AuthData(Vec<u8>),
    /// In authenticate mode: the client sent `*` to cancel (RFC 3501 §6.2.2;
    /// answer `tag BAD`).
    AuthCancel,
    /// In [`Decoder::expect_idle_done`] mode: the client sent `DONE`
    /// (RFC 2177 §3).
    IdleDone,
    /// An APPEND's message literal was announced. Call
    /// [`Decoder::accept_message`] or [`Decoder::refuse_message`] before
    /// decoding again (decoding without a decision refuses it). For a
    /// refused one, answer the command now (`tag NO`/`BAD`); nothing more
    /// comes of it.
    AppendStart(AppendStart),
    /// The next piece of an accepted APPEND message.
    AppendData(Vec<u8>),
    /// The accepted APPEND message and its command are complete. (If the
    /// command turns out malformed after the message, [`Event::Bad`] comes
    /// instead, with no tag or an unrelated one: answer with the APPEND's.)
    AppendDone,
    /// Before login, a LITERAL+ literal over
    /// [`Limits::max_prelogin_literal`] was announced: answer `* BYE text`
    /// and close the connection. The decoder ignores all further input.
    Bye {
        /// Human-readable reason.
        text: String,
    },
    /// The buffer holds no complete event; read more bytes.
    NeedMore,
}

/// What the next line means; set by the session, reset after one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Command,
    AuthData,
    IdleDone,
}

#[derive(Debug)]
enum State {
    /// Accumulating a line part into `frame` from `line_start`.
    Line,
    /// Copying `remaining` literal octets into `frame`.
    Literal { remaining: u64 },
    /// Discarding until end of line; then `Bad` (or a literal to skip).
    /// Without an error the command was answered already: nothing to say.
    SkipLine {
        tag: Option<Tag>,
        error: Option<Error>,
    },
    /// Discarding `remaining` octets of a LITERAL+ literal, then the line.
    SkipLiteral {
        remaining: u64,
        tag: Option<Tag>,
        error: Option<Error>,
    },
    /// An APPEND message literal was announced; the caller decides.
    MessageAnnounced { size: u64, sync: bool, utf8: bool },
    /// Handing out `remaining` octets of an accepted APPEND message;
    /// `announce`: the continuation request is due first.
    Message { remaining: u64, announce: bool },
    /// After [`Event::Bye`]: input is ignored.
    Closed,
}

/// A literal announcement found at the end of a line.
#[derive(Debug, Clone, Copy)]
struct LiteralHeader {
    size: Option<u64>, // None: more digits than fit
    sync: bool,
}

/// Octets kept from the end of a discarded line to spot a trailing literal
/// announcement (`~{` + 20 digits + `+}` + CRLF fits).
const TAIL: usize = 32;

/// The sans-IO command framer and parser driver. See the module docs.
#[derive(Debug)]
pub struct Decoder {
    limits: Limits,
    utf8: bool,
    mode: Mode,
    state: State,
    /// The command so far: lines and literal data exactly as received.
    frame: Vec<u8>,
    /// Where the current line part starts in `frame`.
    line_start: usize,
    /// Octets counted against `max_command`.
    command_size: u64,
    /// The line being framed ends a streamed APPEND: it must be these
    /// octets (`)` after `UTF8 (~{n}`, else nothing) and the line end.
    message_end: Option<&'static [u8]>,
    /// Logged in: literals may be bigger than `max_prelogin_literal`.
    authenticated: bool,
    /// Last octets of a line being discarded.
    tail: Vec<u8>,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(Limits::default())
    }
}

impl Decoder {
    /// A decoder in command mode with the given limits.
    pub fn new(limits: Limits) -> Decoder {
        Decoder {
            limits,
            utf8: false,
            mode: Mode::Command,
            state: State::Line,
            frame: Vec::new(),
            line_start: 0,
            command_size: 0,
            message_end: None,
            authenticated: false,
            tail: Vec::with_capacity(TAIL),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// After `ENABLE UTF8=ACCEPT` (RFC 6855 §3): mailbox names are then
    /// taken as UTF-8 instead of modified UTF-7.
    pub fn set_utf8_accept(&mut self, on: bool) {
        self.utf8 = on;
    }

    /// Whether UTF8=ACCEPT is on.
    pub fn utf8_accept(&self) -> bool {
        self.utf8
    }

    /// The next line is a SASL response (RFC 3501 §6.2.2): base64, or `*`
    /// to cancel. Yields [`Event::AuthData`], [`Event::AuthCancel`] or
    /// [`Event::Bad`], then returns to command mode. Call again for each
    /// further challenge.
    pub fn expect_authenticate_data(&mut self) {
        self.mode = Mode::AuthData;
    }

    /// The next line must be `DONE` (RFC 2177 §3). Yields
    /// [`Event::IdleDone`] or, for anything else, [`Event::Bad`] (tag
    /// `None`; the session should end IDLE with a tagged `BAD`), then returns
    /// to command mode.
    pub fn expect_idle_done(&mut self) {
        self.mode = Mode::IdleDone;
    }

    /// Leave authenticate/idle mode without a line (e.g. after the session
    /// aborted the exchange itself).
    pub fn expect_command(&mut self) {
        self.mode = Mode::Command;
    }

    /// Whether the client has logged in (literals before login are bounded
    /// by [`Limits::max_prelogin_literal`]).
    pub fn set_authenticated(&mut self, on: bool) {
        self.authenticated = on;
    }

    /// After [`Event::AppendStart`]: take the message. A synchronizing
    /// literal first yields [`Event::Continue`]; then the message comes as
    /// [`Event::AppendData`] pieces and [`Event::AppendDone`].
    pub fn accept_message(&mut self) {
        if let State::MessageAnnounced { size, sync, utf8 } = self.state {
            self.reset_frame();
            self.message_end = Some(if utf8 { b")" } else { b"" });
            self.state = State::Message {
                remaining: size,
                announce: sync,
            };
        }
    }

    /// After [`Event::AppendStart`]: refuse the message (the caller has
    /// answered the command). A synchronizing literal will not be sent
    /// (RFC 3501 §7.5); a LITERAL+ one is skipped by counting, with the
    /// rest of its command, without a further event.
    pub fn refuse_message(&mut self) {
        if let State::MessageAnnounced { size, sync, .. } = self.state {
            self.reset_frame();
            if !sync {
                self.state = State::SkipLiteral {
                    remaining: size,
                    tag: None,
                    error: None,
                };
            }
        }
    }

    /// Gives back memory a big command left in the frame buffer; for a
    /// connection about to wait for its client.
    pub fn shrink(&mut self) {
        self.frame.shrink_to_fit();
    }

    /// Consume bytes from the front of `buf` and return the next event.
    /// Call repeatedly until [`Event::NeedMore`]; then append more input and
    /// call again. Bytes that belong to an unfinished command are moved into
    /// the decoder, so `buf` never grows because of it.
    pub fn decode(&mut self, buf: &mut Vec<u8>) -> Event {
        let mut pos = 0;
        let ev = self.step(buf, &mut pos);
        buf.drain(..pos);
        ev
    }

    /// Like [`decode`](Self::decode) for callers that manage their own
    /// buffer: returns the event and how many octets of `input` were used
    /// (the caller discards them). Unused octets must be passed again.
    pub fn decode_slice(&mut self, input: &[u8]) -> (Event, usize) {
        let mut pos = 0;
        let ev = self.step(input, &mut pos);
        (ev, pos)
    }

    fn reset_frame(&mut self) {
        self.frame.clear();
        // Give back memory a huge command used.
        if self.frame.capacity() > 4 * self.limits.max_line.max(4096) {
            self.frame.shrink_to(self.limits.max_line.min(64 * 1024));
        }
        self.line_start = 0;
        self.command_size = 0;
        self.message_end = None;
        self.state = State::Line;
    }

    fn frame_tag(&self) -> Option<Tag> {
        parse::peek_tag(&self.frame)
    }

    /// Start discarding the current line; `tail` holds its last octets.
    fn start_skip(&mut self, error: Error, tail: Vec<u8>) {
        let tag = self.frame_tag();
        self.tail = tail;
        self.frame.clear();
        self.line_start = 0;
        self.message_end = None;
        self.state = State::SkipLine {
            tag,
            error: Some(error),
        };
    }

    /// The end of a skipped command: `Bad`, or nothing for a command
    /// answered already (`None`: decode on).
    fn skipped(&mut self, tag: Option<Tag>, error: Option<Error>) -> Option<Event> {
        match error {
            Some(error) => Some(self.bad(tag, &error)),
            None => {
                self.reset_frame();
                None
            }
        }
    }

    /// Make sure the frame holds the command's first octets (for the tag).
    fn keep_head(&mut self, input: &[u8]) {
        const HEAD: usize = parse::MAX_ECHOED_TAG + 1;
        if self.frame.len() < HEAD {
            let n = (HEAD - self.frame.len()).min(input.len());
            self.frame.extend_from_slice(&input[..n]);
        }
    }

    fn bad(&mut self, tag: Option<Tag>, error: &Error) -> Event {
        self.reset_frame();
        self.mode = Mode::Command;
        Event::Bad {
            tag,
            text: error.to_string(),
        }
    }

    fn step(&mut self, buf: &[u8], pos: &mut usize) -> Event {
        loop {
            let input = &buf[*pos..];
            match std::mem::replace(&mut self.state, State::Line) {
                State::Literal { remaining } => {
                    let take = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(input.len());
                    self.frame.extend_from_slice(&input[..take]);
                    *pos += take;
                    let remaining = remaining - take as u64;
                    if remaining > 0 {
                        self.state = State::Literal { remaining };
                        return Event::NeedMore;
                    }
                    self.line_start = self.frame.len();
                    self.state = State::Line;
                }
                State::SkipLiteral {
                    remaining,
                    tag,
                    error,
                } => {
                    let take = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(input.len());
                    *pos += take;
                    let remaining = remaining - take as u64;
                    if remaining > 0 {
                        self.state = State::SkipLiteral {
                            remaining,
                            tag,
                            error,
                        };
                        return Event::NeedMore;
                    }
                    self.tail.clear();
                    self.state = State::SkipLine { tag, error };
                }
                announced @ State::MessageAnnounced { .. } => {
                    // Decoding on without a decision refuses the message.
                    self.state = announced;
                    self.refuse_message();
                }
                State::Message {
                    remaining,
                    announce,
                } => {
                    if announce {
                        self.state = State::Message {
                            remaining,
                            announce: false,
                        };
                        return Event::Continue;
                    }
                    if remaining == 0 {
                        self.state = State::Line;
                        continue;
                    }
                    if input.is_empty() {
                        self.state = State::Message {
                            remaining,
                            announce,
                        };
                        return Event::NeedMore;
                    }
                    let take = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(input.len());
                    *pos += take;
                    self.state = State::Message {
                        remaining: remaining - take as u64,
                        announce,
                    };
                    return Event::AppendData(input[..take].to_vec());
                }
                State::Closed => {
                    *pos = buf.len();
                    self.state = State::Closed;
                    return Event::NeedMore;
                }
                State::SkipLine { tag, error } => match input.iter().position(|&b| b == b'\n') {
                    None => {
                        push_tail(&mut self.tail, input);
                        *pos += input.len();
                        self.state = State::SkipLine { tag, error };
                        return Event::NeedMore;
                    }
                    Some(i) => {
                        push_tail(&mut self.tail, &input[..=i]);
                        *pos += i + 1;
                        match literal_header(&self.tail) {
                            Some(LiteralHeader { sync: false, size }) => {
                                self.state = State::SkipLiteral {
                                    remaining: size.unwrap_or(u64::MAX),
                                    tag,
                                    error,
                                };
                            }
                            _ => {
                                if let Some(ev) = self.skipped(tag, error) {
                                    return ev;
                                }
                            }
                        }
                    }
                },
                State::Line => {
                    if let Some(ev) = self.line(input, pos) {
                        return ev;
                    }
                }
            }
        }
    }

    /// Handle input in `State::Line`. `None` means "state changed, loop".
    fn line(&mut self, input: &[u8], pos: &mut usize) -> Option<Event> {
        let max_line = self.limits.max_line;
        let have = self.frame.len() - self.line_start;
        let Some(i) = input.iter().position(|&b| b == b'\n') else {
            if have + input.len() > max_line.saturating_add(2) {
                let mut tail = Vec::with_capacity(TAIL);
                push_tail(&mut tail, &self.frame[self.line_start..]);
                push_tail(&mut tail, input);
                self.keep_head(input);
                *pos += input.len();
                self.start_skip(Error::LineTooLong, tail);
                return None;
            }
            self.frame.extend_from_slice(input);
            *pos += input.len();
            return Some(Event::NeedMore);
        };
        // A complete line part.
        let line_len = have + i + 1;
        if line_len > max_line.saturating_add(2) {
            let mut tail = Vec::with_capacity(TAIL);
            push_tail(&mut tail, &self.frame[self.line_start..]);
            push_tail(&mut tail, &input[..=i]);
            self.keep_head(&input[..=i]);
            *pos += i + 1;
            self.start_skip(Error::LineTooLong, tail);
            return self.finish_skipped_line();
        }
        self.frame.extend_from_slice(&input[..=i]);
        *pos += i + 1;

        match self.mode {
            Mode::AuthData => return Some(self.auth_line()),
            Mode::IdleDone => return Some(self.idle_line()),
            Mode::Command => {}
        }

        if let Some(expected) = self.message_end {
            return self.message_end_line(expected);
        }

        // Ignore empty lines between commands (some clients send a stray
        // CRLF after a literal-ending APPEND).
        if self.line_start == 0 && matches!(&self.frame[..], b"\r\n" | b"\n") {
            self.reset_frame();
            return None;
        }

        self.command_size += line_len as u64;
        if self.command_size > self.limits.max_command as u64 {
            let mut tail = Vec::with_capacity(TAIL);
            push_tail(&mut tail, &self.frame[self.line_start..]);
            self.start_skip(Error::CommandTooLarge, tail);
            return self.finish_skipped_line();
        }

        let Some(header) = literal_header(&self.frame[self.line_start..]) else {
            // The command is complete.
            let result = parse::parse_command(&self.frame, self.utf8, &self.limits);
            self.reset_frame();
            return Some(match result {
                Ok((tag, command)) => Event::Command { tag, command },
                Err((tag, error)) => Event::Bad {
                    tag,
                    text: error.to_string(),
                },
            });
        };
        let size = header.size.unwrap_or(u64::MAX);
        if !self.authenticated && size > self.limits.max_prelogin_literal {
            if header.sync {
                // RFC 3501 §7.5: BAD instead of the continuation request.
                let tag = self.frame_tag();
                return Some(self.bad(tag, &Error::LiteralTooLarge));
            }
            self.reset_frame();
            self.state = State::Closed;
            return Some(Event::Bye {
                text: "Literal too large before login".into(),
            });
        }
        if parse::peek_is_append(&self.frame) {
            match parse::append_start(&self.frame, self.utf8, &self.limits) {
                Ok(Some(start)) => {
                    let utf8 = start.kind == LiteralKind::Utf8;
                    self.state = State::MessageAnnounced {
                        size,
                        sync: header.sync,
                        utf8,
                    };
                    return Some(Event::AppendStart(AppendStart {
                        size,
                        sync: header.sync,
                        ..start
                    }));
                }
                Ok(None) => {} // the mailbox name is the literal
                Err((tag, error)) => return self.refuse_literal(header, tag, error),
            }
        }
        self.command_size = self.command_size.saturating_add(size);
        if self.command_size > self.limits.max_command as u64 {
            let tag = self.frame_tag();
            return self.refuse_literal(header, tag, Error::CommandTooLarge);
        }
        if header.sync {
            // Refuse early what can already be seen to be wrong, so the
            // client does not send the literal for nothing.
            if let Err((tag, error)) = parse::precheck(&self.frame) {
                return Some(self.bad(tag, &error));
            }
        }
        self.state = State::Literal { remaining: size };
        if header.sync {
            Some(Event::Continue)
        } else {
            None
        }
    }

    /// A command ending in the literal `header` is refused: `Bad` now for a
    /// synchronizing literal (RFC 3501 §7.5: the client will not send it),
    /// after skipping it for a LITERAL+ one.
    fn refuse_literal(
        &mut self,
        header: LiteralHeader,
        tag: Option<Tag>,
        error: Error,
    ) -> Option<Event> {
        if header.sync {
            return Some(self.bad(tag, &error));
        }
        self.frame.clear();
        self.line_start = 0;
        self.state = State::SkipLiteral {
            remaining: header.size.unwrap_or(u64::MAX),
            tag,
            error: Some(error),
        };
        None
    }

    /// The line after a streamed APPEND message, which must be `expected`
    /// and the line end (MULTIAPPEND and CATENATE are not offered).
    fn message_end_line(&mut self, expected: &[u8]) -> Option<Event> {
        let line = &self.frame[self.line_start..];
        if let Some(header) = literal_header(line) {
            let error = Error::syntax("one message per APPEND");
            return self.refuse_literal(header, None, error);
        }
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line == expected {
            self.reset_frame();
            return Some(Event::AppendDone);
        }
        let error = if expected.is_empty() {
            Error::syntax("unexpected characters after the message")
        } else {
            Error::syntax("expected ')' after the message")
        };
        Some(self.bad(None, &error))
    }

    /// End of a discarded line whose tail is in `self.tail`.
    /// `None`: a LITERAL+ literal follows and is being skipped; keep going.
    fn finish_skipped_line(&mut self) -> Option<Event> {
        let State::SkipLine { tag, error } = std::mem::replace(&mut self.state, State::Line) else {
            return Some(self.bad(None, &Error::syntax("internal framer state")));
        };
        match literal_header(&self.tail) {
            Some(LiteralHeader { sync: false, size }) => {
                self.state = State::SkipLiteral {
                    remaining: size.unwrap_or(u64::MAX),
                    tag,
                    error,
                };
                // Nothing to report until the literal and line are skipped.
                None
            }
            _ => self.skipped(tag, error),
        }
    }

    fn take_line(&mut self) -> Vec<u8> {
        let mut line = std::mem::take(&mut self.frame);
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        self.reset_frame();
        self.mode = Mode::Command;
        line
    }

    fn auth_line(&mut self) -> Event {
        let line = self.take_line();
        if line == b"*" {
            return Event::AuthCancel;
        }
        match parse::decode_base64(&line) {
            Some(data) => Event::AuthData(data),
            None => Event::Bad {
                tag: None,
                text: Error::InvalidBase64.to_string(),
            },
        }
    }

    fn idle_line(&mut self) -> Event {
        let line = self.take_line();
        if line.eq_ignore_ascii_case(b"DONE") {
            Event::IdleDone
        } else {
            Event::Bad {
                tag: None,
                text: Error::ExpectedDone.to_string(),
            }
        }
    }
}

/// Append to a bounded tail buffer, keeping only the last [`TAIL`] octets.
fn push_tail(tail: &mut Vec<u8>, data: &[u8]) {
    if data.len() >= TAIL {
        tail.clear();
        tail.extend_from_slice(&data[data.len() - TAIL..]);
        return;
    }
    let excess = (tail.len() + data.len()).saturating_sub(TAIL);
    tail.drain(..excess);
    tail.extend_from_slice(data);
}

/// If `line` (ending in LF) ends with `{n}`, `{n+}`, `~{n}` or `~{n+}`
/// before CRLF, the literal's size and kind (RFC 3501 §9 `literal`, RFC 7888
/// §3 `literal`, RFC 3516 §4.2 `literal8`).
fn literal_header(line: &[u8]) -> Option<LiteralHeader> {
    let line = line.strip_suffix(b"\n")?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.strip_suffix(b"}")?;
    let (line, sync) = match line.strip_suffix(b"+") {
        Some(l) => (l, false),
        None => (line, true),
    };
    let open = line.iter().rposition(|&b| b == b'{')?;
    let digits = &line[open + 1..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut size: Option<u64> = Some(0);
    for &d in digits {
        size = size
            .and_then(|s| s.checked_mul(10))
            .and_then(|s| s.checked_add(u64::from(d - b'0')));
    }
    Some(LiteralHeader { size, sync })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn small() -> Limits {
        Limits {
            max_line: 100,
            max_prelogin_literal: 1000,
            max_command: 2000,
            ..Limits::default()
        }
    }

    /// A decoder for a logged-in session.
    fn logged_in() -> Decoder {
        let mut d = Decoder::new(small());
        d.set_authenticated(true);
        d
    }

    /// Feed `chunks` one after another; collect every event but NeedMore,
    /// accepting every APPEND message and joining its pieces (how the
    /// input was cut decides how many there are).
    fn run(d: &mut Decoder, chunks: &[&[u8]]) -> Vec<Event> {
        run_deciding(d, chunks, true)
    }

    fn run_deciding(d: &mut Decoder, chunks: &[&[u8]], accept: bool) -> Vec<Event> {
        let mut buf = Vec::new();
        let mut out: Vec<Event> = Vec::new();
        for c in chunks {
            buf.extend_from_slice(c);
            loop {
                match d.decode(&mut buf) {
                    Event::NeedMore => break,
                    Event::AppendData(more) => match out.last_mut() {
                        Some(Event::AppendData(data)) => data.extend_from_slice(&more),
                        _ => out.push(Event::AppendData(more)),
                    },
                    e @ Event::AppendStart(_) => {
                        if accept {
                            d.accept_message();
                        } else {
                            d.refuse_message();
                        }
                        out.push(e);
                    }
                    e => out.push(e),
                }
            }
        }
        out
    }

    fn is_start(e: &Event, want_tag: &str, size: u64, sync: bool) -> bool {
        matches!(e, Event::AppendStart(s) if s.tag == want_tag && s.size == size && s.sync == sync)
    }

    fn is_cmd(e: &Event, want_tag: &str) -> bool {
        matches!(e, Event::Command { tag, .. } if tag == want_tag)
    }

    fn is_bad(e: &Event, want_tag: Option<&str>) -> bool {
        matches!(e, Event::Bad { tag, .. } if tag.as_deref() == want_tag)
    }

    #[test]
    fn sync_literal_asks_for_continuation() {
        let mut d = Decoder::new(small());
        let ev = run(&mut d, &[b"a LOGIN {4}\r\n"]);
        assert_eq!(ev, vec![Event::Continue]);
        let ev = run(&mut d, &[b"fred pw\r\n"]);
        assert_eq!(
            ev,
            vec![Event::Command {
                tag: "a".into(),
                command: Command::Login {
                    username: b"fred".to_vec(),
                    password: b"pw".to_vec()
                }
            }]
        );
    }

    #[test]
    fn literal_plus_does_not() {
        let mut d = Decoder::new(small());
        let ev = run(&mut d, &[b"a LOGIN {4+}\r\nfred {2+}\r\npw\r\nb NOOP\r\n"]);
        assert_eq!(ev.len(), 2);
        assert!(is_cmd(&ev[0], "a") && is_cmd(&ev[1], "b"));
    }

    #[test]
    fn unknown_command_refused_before_literal() {
        let mut d = Decoder::new(small());
        let ev = run(&mut d, &[b"a FROB {4}\r\nb NOOP\r\n"]);
        assert!(is_bad(&ev[0], Some("a")), "{ev:?}");
        assert!(is_cmd(&ev[1], "b"));
    }

    #[test]
    fn too_large_sync_literal_is_refused_and_not_expected() {
        // Before login, over max_prelogin_literal.
        let mut d = Decoder::new(small());
        let ev = run(&mut d, &[b"a APPEND INBOX {5000}\r\nb NOOP\r\n"]);
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert!(is_bad(&ev[0], Some("a")));
        assert!(is_cmd(&ev[1], "b"));
        // Absurd sizes too.
        let ev = run(
            &mut d,
            &[b"a LOGIN {99999999999999999999999}\r\nb NOOP\r\n"],
        );
        assert!(is_bad(&ev[0], Some("a")) && is_cmd(&ev[1], "b"), "{ev:?}");
        // After login, a literal that takes the command over max_command.
        let mut d = logged_in();
        let ev = run(&mut d, &[b"a LOGIN {5000}\r\nb NOOP\r\n"]);
        assert!(is_bad(&ev[0], Some("a")) && is_cmd(&ev[1], "b"), "{ev:?}");
    }

    #[test]
    fn prelogin_literal_plus_over_the_limit_ends_the_connection() {
        let mut d = Decoder::new(small());
        let mut buf = b"a LOGIN {1000+}\r\n".to_vec();
        buf.extend_from_slice(&[b'x'; 1000]);
        buf.extend_from_slice(b" pw\r\n");
        // At the limit: read.
        assert!(is_cmd(&d.decode(&mut buf), "a"));
        let mut buf = b"a APPEND INBOX {1001+}\r\nxx".to_vec();
        assert!(matches!(d.decode(&mut buf), Event::Bye { .. }));
        // Nothing more is read or held.
        buf.extend_from_slice(&[b'y'; 5000]);
        buf.extend_from_slice(b"\r\nb NOOP\r\n");
        assert_eq!(d.decode(&mut buf), Event::NeedMore);
        assert!(buf.is_empty() && d.frame.capacity() <= 4096);
    }

    #[test]
    fn too_large_literal_plus_is_swallowed() {
        let mut d = logged_in();
        let body = vec![b'x'; 5000];
        let ev = run(
            &mut d,
            &[
                b"a LOGIN {5000+}\r\n",
                &body[..2500],
                &body[2500..],
                b" more {3+}\r\nabc\r\nb NOOP\r\n",
            ],
        );
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert!(is_bad(&ev[0], Some("a")));
        assert!(is_cmd(&ev[1], "b"));
        assert!(d.frame.capacity() <= 4096);
    }

    #[test]
    fn append_message_is_streamed_not_held() {
        let mut d = logged_in();
        let msg = vec![b'y'; 100_000]; // far over max_command and max_line
        let ev = run(
            &mut d,
            &[
                b"a APPEND INBOX (\\Seen) {100000}\r\n",
                &msg[..40_000],
                &msg[40_000..],
                b"\r\nb NOOP\r\n",
            ],
        );
        assert_eq!(ev.len(), 5, "{ev:?}");
        assert!(is_start(&ev[0], "a", 100_000, true));
        assert_eq!(ev[1], Event::Continue);
        assert_eq!(ev[2], Event::AppendData(msg.clone()));
        assert_eq!(ev[3], Event::AppendDone);
        assert!(is_cmd(&ev[4], "b"));
        assert!(d.frame.capacity() <= 4096, "{}", d.frame.capacity());
        // Each piece is what the read brought; nothing is kept.
        let mut buf = b"c APPEND INBOX {10+}\r\n01234".to_vec();
        assert!(is_start(&d.decode(&mut buf), "c", 10, false));
        d.accept_message();
        assert_eq!(d.decode(&mut buf), Event::AppendData(b"01234".to_vec()));
        assert_eq!(d.decode(&mut buf), Event::NeedMore);
        buf.extend_from_slice(b"56789\r\n");
        assert_eq!(d.decode(&mut buf), Event::AppendData(b"56789".to_vec()));
        assert_eq!(d.decode(&mut buf), Event::AppendDone);
        assert!(buf.is_empty());
    }

    #[test]
    fn shrink_gives_back_what_a_long_command_left() {
        let mut d = Decoder::new(Limits::default());
        let mut set = b"a FETCH ".to_vec();
        set.extend((1..8000).flat_map(|n| format!("{n},").into_bytes()));
        set.extend_from_slice(b"9000 FLAGS\r\n");
        assert!(is_cmd(&run(&mut d, &[&set])[0], "a"));
        assert!(d.frame.capacity() >= 30_000);
        d.shrink();
        assert_eq!(d.frame.capacity(), 0);
        // Half a command stays.
        run(&mut d, &[b"b NO"]);
        d.shrink();
        assert_eq!(run(&mut d, &[b"OP\r\n"]).len(), 1);
    }

    #[test]
    fn append_forms() {
        let mut d = logged_in();
        d.set_utf8_accept(true);
        // Mailbox as a literal, then the message; UTF8 form; literal8.
        let ev = run(
            &mut d,
            &[
                b"a APPEND {5}\r\nINBOX {3}\r\nabc\r\n",
                b"b APPEND INBOX UTF8 (~{3+}\r\nd\x00f)\r\n",
                b"c APPEND INBOX ~{2}\r\n\x00\x01\r\n",
            ],
        );
        let kinds: Vec<_> = ev
            .iter()
            .filter_map(|e| match e {
                Event::AppendStart(s) => Some((s.mailbox.as_str().to_string(), s.kind)),
                _ => None,
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("INBOX".to_string(), LiteralKind::Plain),
                ("INBOX".to_string(), LiteralKind::Utf8),
                ("INBOX".to_string(), LiteralKind::Binary)
            ]
        );
        assert_eq!(
            ev.iter().filter(|e| **e == Event::AppendDone).count(),
            3,
            "{ev:?}"
        );
        assert!(ev.contains(&Event::AppendData(b"d\x00f".to_vec())));
    }

    #[test]
    fn append_refused_before_the_message() {
        let mut d = logged_in();
        // Synchronizing: the client does not send it; the next line is a
        // command.
        let ev = run_deciding(&mut d, &[b"a APPEND INBOX {500000}\r\nb NOOP\r\n"], false);
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert!(is_start(&ev[0], "a", 500_000, true) && is_cmd(&ev[1], "b"));
        // LITERAL+: skipped by counting, silently, with the line's end.
        let body = vec![b'z'; 300_000];
        let ev = run_deciding(
            &mut d,
            &[b"c APPEND INBOX {300000+}\r\n", &body, b"\r\nd NOOP\r\n"],
            false,
        );
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert!(is_start(&ev[0], "c", 300_000, false) && is_cmd(&ev[1], "d"));
        assert!(d.frame.capacity() <= 4096);
        // Decoding on without a decision refuses too.
        let mut buf = b"e APPEND INBOX {3+}\r\nabc\r\nf NOOP\r\n".to_vec();
        assert!(is_start(&d.decode(&mut buf), "e", 3, false));
        assert!(is_cmd(&d.decode(&mut buf), "f"));
    }

    #[test]
    fn append_errors() {
        let mut d = logged_in();
        // A bad head: BAD before the literal, which is not sent.
        let ev = run(&mut d, &[b"a APPEND INBOX (\\Bogus junk {3}\r\nb NOOP\r\n"]);
        assert!(is_bad(&ev[0], Some("a")) && is_cmd(&ev[1], "b"), "{ev:?}");
        // ... or skipped with a LITERAL+ one.
        let ev = run(&mut d, &[b"a APPEND INBOX junk {3+}\r\nabc\r\nb NOOP\r\n"]);
        assert!(is_bad(&ev[0], Some("a")) && is_cmd(&ev[1], "b"), "{ev:?}");
        // Junk after the message: BAD (the session answers with the
        // APPEND's tag).
        let ev = run(&mut d, &[b"a APPEND INBOX {3}\r\nabc junk\r\nb NOOP\r\n"]);
        assert!(
            matches!(ev[3], Event::Bad { .. }) && is_cmd(&ev[4], "b"),
            "{ev:?}"
        );
        // A second message (MULTIAPPEND is not offered): BAD, and its
        // LITERAL+ data is skipped.
        let ev = run(
            &mut d,
            &[b"a APPEND INBOX {3+}\r\nabc {2+}\r\nxy\r\nb NOOP\r\n"],
        );
        assert!(
            matches!(ev[2], Event::Bad { .. }) && is_cmd(&ev[3], "b"),
            "{ev:?}"
        );
        // UTF8 form without its closing parenthesis.
        let ev = run(&mut d, &[b"a APPEND INBOX UTF8 (~{3}\r\nabc\r\nb NOOP\r\n"]);
        assert!(ev.iter().any(|e| matches!(e, Event::Bad { .. })), "{ev:?}");
        assert!(is_cmd(ev.last().unwrap(), "b"));
    }

    #[test]
    fn overlong_line_is_bad_and_bounded() {
        let mut d = Decoder::new(small());
        let long = vec![b'a'; 10_000];
        let ev = run(&mut d, &[b"t1 NOOP ", &long, &long, b"\r\nt2 NOOP\r\n"]);
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert!(is_bad(&ev[0], Some("t1")));
        assert!(is_cmd(&ev[1], "t2"));
        assert!(d.frame.capacity() <= 4096);
        // An overlong line ending in a LITERAL+ announcement: the literal is
        // skipped too.
        let ev = run(
            &mut d,
            &[b"t3 LOGIN ", &long, b" {3+}\r\nabc\r\nt4 NOOP\r\n"],
        );
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert!(is_bad(&ev[0], Some("t3")) && is_cmd(&ev[1], "t4"));
        // All in one buffer.
        let mut all = b"t5 NOOP ".to_vec();
        all.extend_from_slice(&long);
        all.extend_from_slice(b"\r\nt6 NOOP\r\n");
        let ev = run(&mut d, &[&all]);
        assert!(is_bad(&ev[0], Some("t5")) && is_cmd(&ev[1], "t6"), "{ev:?}");
    }

    #[test]
    fn too_many_lines_exceed_max_command() {
        let mut d = Decoder::new(small());
        let mut chunks: Vec<Vec<u8>> = vec![b"a LOGIN {60+}\r\n".to_vec()];
        for _ in 0..40 {
            chunks.push(vec![b'z'; 60]);
            chunks.push(b" {60+}\r\n".to_vec());
        }
        chunks.push(vec![b'z'; 60]);
        chunks.push(b"\r\nb NOOP\r\n".to_vec());
        let refs: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
        let ev = run(&mut d, &refs);
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert!(is_bad(&ev[0], Some("a")) && is_cmd(&ev[1], "b"));
    }

    #[test]
    fn authenticate_mode() {
        let mut d = Decoder::new(small());
        d.expect_authenticate_data();
        assert_eq!(
            run(&mut d, &[b"Zm9v\r\n"]),
            vec![Event::AuthData(b"foo".to_vec())]
        );
        d.expect_authenticate_data();
        assert_eq!(run(&mut d, &[b"\r\n"]), vec![Event::AuthData(vec![])]);
        d.expect_authenticate_data();
        assert_eq!(run(&mut d, &[b"*\r\n"]), vec![Event::AuthCancel]);
        d.expect_authenticate_data();
        let ev = run(&mut d, &[b"!!\r\na NOOP\r\n"]);
        assert!(is_bad(&ev[0], None) && is_cmd(&ev[1], "a"), "{ev:?}");
    }

    #[test]
    fn idle_mode() {
        let mut d = Decoder::new(small());
        d.expect_idle_done();
        assert_eq!(run(&mut d, &[b"do", b"ne\r\n"]), vec![Event::IdleDone]);
        d.expect_idle_done();
        let ev = run(&mut d, &[b"a NOOP\r\nb NOOP\r\n"]);
        assert!(is_bad(&ev[0], None) && is_cmd(&ev[1], "b"), "{ev:?}");
    }

    #[test]
    fn decode_slice_reports_consumption() {
        let mut d = Decoder::new(small());
        let input = b"a NOOP\r\nb NO";
        let (ev, used) = d.decode_slice(input);
        assert!(is_cmd(&ev, "a"));
        assert_eq!(used, 8);
        let (ev, used) = d.decode_slice(&input[8..]);
        assert_eq!((ev, used), (Event::NeedMore, 4));
        let (ev, _) = d.decode_slice(b"OP\r\n");
        assert!(is_cmd(&ev, "b"));
    }

    #[test]
    fn empty_lines_are_ignored() {
        let mut d = Decoder::new(small());
        let ev = run(&mut d, &[b"\r\n\r\na NOOP\r\n\nb NOOP\n"]);
        assert!(
            ev.len() == 2 && is_cmd(&ev[0], "a") && is_cmd(&ev[1], "b"),
            "{ev:?}"
        );
    }

    const STREAM: &[u8] = b"a1 LOGIN {4}\r\nfred {6+}\r\nsecret\r\n\
        a2 SELECT \"INBOX\"\r\n\
        a3 APPEND INBOX (\\Seen) {12}\r\nHello\r\nWorld\r\n\
        a4 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n\
        a5 FROB\r\n\
        a6 SEARCH CHARSET UTF-8 SUBJECT {3+}\r\n\xe2\x98\xba\r\n\
        a7 LOGOUT\r\n";

    proptest! {
        #[test]
        fn any_split_gives_same_events(cuts in proptest::collection::vec(0usize..STREAM.len(), 0..12)) {
            let whole = run(&mut Decoder::new(small()), &[STREAM]);
            // 6 results, 2 Continue, APPEND's start, data and end
            prop_assert_eq!(whole.len(), 11);
            let mut cuts = cuts;
            cuts.sort_unstable();
            cuts.dedup();
            let mut chunks = Vec::new();
            let mut last = 0;
            for c in cuts {
                chunks.push(&STREAM[last..c]);
                last = c;
            }
            chunks.push(&STREAM[last..]);
            let split = run(&mut Decoder::new(small()), &chunks);
            prop_assert_eq!(whole, split);
        }

        #[test]
        fn random_bytes_never_panic(chunks in proptest::collection::vec(
            proptest::collection::vec(prop_oneof![
                Just(b'{'), Just(b'}'), Just(b'+'), Just(b'\r'), Just(b'\n'), Just(b' '),
                Just(b'"'), Just(b'('), Just(b')'), Just(b'['), b'0'..=b'9', any::<u8>()
            ], 0..300), 0..8)) {
            let mut d = Decoder::new(small());
            let refs: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
            let _ = run(&mut d, &refs);
            prop_assert!(d.frame.len() <= 2 * 2000 + 1000 + 512);
            // Mode switches never panic either.
            d.expect_authenticate_data();
            let _ = run(&mut d, &refs);
            d.expect_idle_done();
            let _ = run(&mut d, &refs);
        }

        #[test]
        fn mutated_commands_never_panic(pos in 0usize..STREAM.len(), byte in any::<u8>(), del in any::<bool>()) {
            let mut s = STREAM.to_vec();
            if del { s.remove(pos); } else { s[pos] = byte; }
            let ev = run(&mut Decoder::new(small()), &[&s]);
            prop_assert!(!ev.is_empty());
        }
    }
}
