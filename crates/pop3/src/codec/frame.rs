//! The framer: cuts the client byte stream into lines (RFC 1939 §3: "a
//! keyword, possibly followed by arguments, terminated by a CRLF pair";
//! RFC 2449 §4: command lines up to 255 octets, which we relax) and parses
//! each into a [`Command`], or hands it over raw as a SASL response while
//! an `AUTH` exchange waits for one (RFC 5034 §4).
//!
//! The [`Decoder`] is sans-IO: the caller appends what it read to a
//! `Vec<u8>` and calls [`Decoder::decode`] until [`Event::NeedMore`]; each
//! call consumes what it used from the front of the buffer. It never holds
//! more than one line of the current limit: an overlong line is reported
//! once and skipped to its end, keeping the stream in sync.

use super::parse::{self, Command};

/// Line length limits, in octets without the line end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A command line. RFC 2449 §4 says 255 octets with CRLF; passwords
    /// and user names in the wild are longer, so we accept more.
    pub max_command: usize,
    /// A SASL response line (RFC 5034 §4: not limited to 255 octets).
    pub max_sasl: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_command: 1024,
            max_sasl: 16 * 1024,
        }
    }
}

/// One result of [`Decoder::decode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A well-formed command.
    Command(Command),
    /// A line that is not a valid command (answer `-ERR text`).
    Bad(String),
    /// In SASL mode: the client's response line, without its line end.
    SaslResponse(Vec<u8>),
    /// No complete line yet.
    NeedMore,
}

/// The line framer and its state. See the module documentation.
#[derive(Debug)]
pub struct Decoder {
    limits: Limits,
    sasl: bool,
    /// Skipping the rest of an overlong line.
    skipping: bool,
    /// How far `input` was searched for a line end already.
    scanned: usize,
}

impl Decoder {
    /// A decoder expecting commands.
    pub fn new(limits: Limits) -> Decoder {
        Decoder {
            limits,
            sasl: false,
            skipping: false,
            scanned: 0,
        }
    }

    /// The next line is a SASL response (after a `+ ` challenge).
    pub fn expect_sasl_response(&mut self) {
        self.sasl = true;
    }

    /// The next line is a command (after an exchange ended, or STLS).
    pub fn expect_command(&mut self) {
        self.sasl = false;
    }

    fn limit(&self) -> usize {
        if self.sasl {
            self.limits.max_sasl
        } else {
            self.limits.max_command
        }
    }

    /// Consumes at most one line from the front of `input`.
    pub fn decode(&mut self, input: &mut Vec<u8>) -> Event {
        loop {
            let from = self.scanned.min(input.len());
            let Some(pos) = input[from..].iter().position(|&b| b == b'\n') else {
                self.scanned = input.len();
                if self.skipping {
                    input.clear();
                    self.scanned = 0;
                    return Event::NeedMore;
                }
                // Keep one extra octet for a CR that belongs to the line end.
                if input.len() > self.limit() + 1 {
                    input.clear();
                    self.scanned = 0;
                    self.skipping = true;
                    return self.too_long();
                }
                return Event::NeedMore;
            };
            let end = from + pos;
            let mut line: Vec<u8> = input.drain(..=end).collect();
            self.scanned = 0;
            line.pop(); // LF
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if self.skipping {
                self.skipping = false;
                continue;
            }
            if line.len() > self.limit() {
                return self.too_long();
            }
            if self.sasl {
                self.sasl = false;
                return Event::SaslResponse(line);
            }
            return match parse::command(&line) {
                Ok(c) => Event::Command(c),
                Err(e) => Event::Bad(e.to_string()),
            };
        }
    }

    /// An overlong line; in SASL mode it also ends the exchange (the
    /// session answers a `Bad` during AUTH with `-ERR`).
    fn too_long(&mut self) -> Event {
        self.sasl = false;
        Event::Bad("Line too long".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(d: &mut Decoder, input: &mut Vec<u8>) -> Vec<Event> {
        let mut v = Vec::new();
        loop {
            match d.decode(input) {
                Event::NeedMore => return v,
                e => v.push(e),
            }
        }
    }

    #[test]
    fn lines_with_crlf_or_lf_and_partial_input() {
        let mut d = Decoder::new(Limits::default());
        let mut input = b"STAT\r\nnoop\nLI".to_vec();
        assert_eq!(
            all(&mut d, &mut input),
            vec![Event::Command(Command::Stat), Event::Command(Command::Noop)]
        );
        assert_eq!(input, b"LI");
        input.extend_from_slice(b"ST 2\r\n");
        assert_eq!(
            all(&mut d, &mut input),
            vec![Event::Command(Command::List(Some(2)))]
        );
    }

    #[test]
    fn overlong_lines_are_reported_once_and_skipped() {
        let limits = Limits {
            max_command: 10,
            max_sasl: 20,
        };
        let mut d = Decoder::new(limits);
        let mut input = vec![b'x'; 50];
        assert_eq!(d.decode(&mut input), Event::Bad("Line too long".into()));
        assert!(input.is_empty());
        input.extend_from_slice(&[b'y'; 50]);
        assert_eq!(d.decode(&mut input), Event::NeedMore);
        input.extend_from_slice(b"yy\r\nQUIT\r\n");
        assert_eq!(all(&mut d, &mut input), vec![Event::Command(Command::Quit)]);
        // A complete overlong line in one read.
        let mut input = b"NOOP 12345678901\r\nSTAT\r\n".to_vec();
        assert_eq!(
            all(&mut d, &mut input),
            vec![
                Event::Bad("Line too long".into()),
                Event::Command(Command::Stat)
            ]
        );
    }

    #[test]
    fn sasl_mode_takes_one_raw_line() {
        let mut d = Decoder::new(Limits::default());
        d.expect_sasl_response();
        let mut input = b"dGVzdA==\r\nSTAT\r\n".to_vec();
        assert_eq!(
            all(&mut d, &mut input),
            vec![
                Event::SaslResponse(b"dGVzdA==".to_vec()),
                Event::Command(Command::Stat)
            ]
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_never_grows(chunks: Vec<Vec<u8>>) {
            let mut d = Decoder::new(Limits::default());
            let mut input = Vec::new();
            for c in chunks {
                input.extend_from_slice(&c);
                let _ = all(&mut d, &mut input);
                proptest::prop_assert!(input.len() <= Limits::default().max_sasl + 1);
            }
        }
    }
}
