//! The framer: cuts the client byte stream into complete commands (RFC 3501
//! §2.2 "commands", §4.3 literals, §7.5 continuation requests; LITERAL+ and
//! non-synchronizing literals RFC 7888; literal8 `~{n}` RFC 3516 §4.2 /
//! RFC 6855 §4).
//!
//! The [`Decoder`] is sans-IO: the caller appends bytes it read to a
//! `Vec<u8>` and calls [`Decoder::decode`] until it returns
//! [`Event::NeedMore`]; each call consumes what it used from the front of
//! the buffer and returns one [`Event`]. It alone holds line/literal state
//! and enforces [`Limits`]: it never holds more than
//! `max_command + max_literal` bytes of a command, and discards the rest of
//! an oversized or malformed command while keeping the stream in sync.

use super::error::Error;
use super::limits::Limits;
use super::parse;
use super::types::{Command, Tag};

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
    SkipLine { tag: Option<Tag>, error: Error },
    /// Discarding `remaining` octets of a LITERAL+ literal, then the line.
    SkipLiteral {
        remaining: u64,
        tag: Option<Tag>,
        error: Error,
    },
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
    /// Octets of APPEND message literals, counted against `max_literal`.
    append_size: u64,
    /// Whether the command being framed is APPEND (decided at its first literal).
    is_append: bool,
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
            append_size: 0,
            is_append: false,
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
        // Give back memory a huge command (an APPEND) used.
        if self.frame.capacity() > 4 * self.limits.max_line.max(4096) {
            self.frame.shrink_to(self.limits.max_line.min(64 * 1024));
        }
        self.line_start = 0;
        self.command_size = 0;
        self.append_size = 0;
        self.is_append = false;
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
        self.state = State::SkipLine { tag, error };
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
                            _ => return self.bad(tag, &error),
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

        let header = literal_header(&self.frame[self.line_start..]);
        let Some(header) = header else {
            // The command is complete.
            let result = if self.is_append {
                // Move the (possibly huge) message out instead of copying.
                let frame = std::mem::take(&mut self.frame);
                parse::parse_command_owned(frame, self.utf8, &self.limits)
            } else {
                parse::parse_command(&self.frame, self.utf8, &self.limits)
            };
            self.reset_frame();
            return Some(match result {
                Ok((tag, command)) => Event::Command { tag, command },
                Err((tag, error)) => Event::Bad {
                    tag,
                    text: error.to_string(),
                },
            });
        };

        if self.line_start == 0 {
            self.is_append = parse::peek_is_append(&self.frame);
        }
        let size = header.size.unwrap_or(u64::MAX);
        let too_big = if size > self.limits.max_literal {
            Some(Error::LiteralTooLarge)
        } else if self.is_append {
            self.append_size = self.append_size.saturating_add(size);
            (self.append_size > self.limits.max_literal).then_some(Error::LiteralTooLarge)
        } else {
            self.command_size = self.command_size.saturating_add(size);
            (self.command_size > self.limits.max_command as u64).then_some(Error::CommandTooLarge)
        };
        if let Some(error) = too_big {
            let tag = self.frame_tag();
            if header.sync {
                // RFC 3501 §7.5: answer BAD instead of the continuation; the
                // client will not send the literal.
                return Some(self.bad(tag, &error));
            }
            self.frame.clear();
            self.line_start = 0;
            self.state = State::SkipLiteral {
                remaining: size,
                tag,
                error,
            };
            return None;
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
            _ => Some(self.bad(tag, &error)),
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
            max_literal: 1000,
            max_command: 2000,
            ..Limits::default()
        }
    }

    /// Feed `chunks` one after another; collect every event but NeedMore.
    fn run(d: &mut Decoder, chunks: &[&[u8]]) -> Vec<Event> {
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for c in chunks {
            buf.extend_from_slice(c);
            loop {
                match d.decode(&mut buf) {
                    Event::NeedMore => break,
                    e => out.push(e),
                }
            }
        }
        out
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
        let mut d = Decoder::new(small());
        let ev = run(&mut d, &[b"a APPEND INBOX {5000}\r\nb NOOP\r\n"]);
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert!(is_bad(&ev[0], Some("a")));
        assert!(is_cmd(&ev[1], "b"));
        // Absurd sizes too.
        let ev = run(
            &mut d,
            &[b"a APPEND INBOX {99999999999999999999999}\r\nb NOOP\r\n"],
        );
        assert!(is_bad(&ev[0], Some("a")) && is_cmd(&ev[1], "b"), "{ev:?}");
    }

    #[test]
    fn too_large_literal_plus_is_swallowed() {
        let mut d = Decoder::new(small());
        let body = vec![b'x'; 5000];
        let ev = run(
            &mut d,
            &[
                b"a APPEND INBOX {5000+}\r\n",
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
    fn append_literal_counts_against_max_literal_only() {
        let mut d = Decoder::new(Limits {
            max_command: 100,
            ..small()
        });
        let msg = vec![b'y'; 900];
        let ev = run(&mut d, &[b"a APPEND INBOX {900+}\r\n", &msg, b"\r\n"]);
        assert!(
            matches!(&ev[0], Event::Command { command: Command::Append { message, .. }, .. } if message.len() == 900)
        );
        // But a non-APPEND literal of the same size exceeds max_command.
        let ev = run(&mut d, &[b"a LOGIN {900}\r\n"]);
        assert!(is_bad(&ev[0], Some("a")), "{ev:?}");
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
            prop_assert_eq!(whole.len(), 9); // 7 results + 2 Continue
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
