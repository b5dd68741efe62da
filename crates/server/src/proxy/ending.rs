//! Whether a relayed session ended as its protocol ends one: the backend
//! said `* BYE` (IMAP) or the client sent `QUIT` (POP3). The relay sees
//! the bytes only in the chunks it copies, so each direction is read
//! line by line across chunks, keeping no more of a line than its start
//! and, for IMAP, its end: a line announcing a literal (`{n}`) is
//! followed by `n` bytes of message data, skipped, since a message may
//! hold any text, `* BYE` too.

/// Bytes kept of a line's start: enough for `* BYE` and `QUIT` with
/// spaces around.
const HEAD: usize = 16;
/// Bytes kept of a line's end: enough for `{n+}` with any `usize` n.
const TAIL: usize = 24;

/// One direction of the stream, read line by line.
#[derive(Debug, Default)]
struct Lines {
    /// Literal bytes still to skip.
    literal: usize,
    /// The line goes on after a literal: not a new response.
    continued: bool,
    /// The line's first bytes, and how long the line is so far.
    head: Vec<u8>,
    len: usize,
    /// Its last bytes.
    tail: Vec<u8>,
}

impl Lines {
    /// Reads `bytes`, calling `ended` with the whole line (without its
    /// LF) for every line that ends in them and starts a response or
    /// command, when it is at most [`HEAD`] bytes long, else with its
    /// first [`HEAD`] bytes; `literals`: the lines may announce literals.
    fn feed(&mut self, mut bytes: &[u8], literals: bool, ended: &mut dyn FnMut(&[u8])) {
        while !bytes.is_empty() {
            if self.literal > 0 {
                let skip = self.literal.min(bytes.len());
                self.literal -= skip;
                bytes = &bytes[skip..];
                continue;
            }
            let (part, rest, complete) = match memchr::memchr(b'\n', bytes) {
                Some(i) => (&bytes[..i], &bytes[i + 1..], true),
                None => (bytes, &[][..], false),
            };
            self.take(part);
            bytes = rest;
            if complete {
                if !self.continued {
                    ended(&self.head);
                }
                let announced = literals
                    .then(|| super::dialogue::literal_length(&self.tail))
                    .flatten();
                self.literal = announced.unwrap_or(0);
                self.continued = announced.is_some();
                self.head.clear();
                self.tail.clear();
                self.len = 0;
            }
        }
    }

    fn take(&mut self, part: &[u8]) {
        let room = HEAD.saturating_sub(self.len).min(part.len());
        self.head.extend_from_slice(&part[..room]);
        self.len = self.len.saturating_add(part.len());
        let keep = part.len().min(TAIL);
        let drop = (self.tail.len() + keep).saturating_sub(TAIL);
        self.tail.drain(..drop);
        self.tail.extend_from_slice(&part[part.len() - keep..]);
    }
}

/// How a relayed session is ending, from what each side sent. Once seen
/// an ending stays: the tagged answer after a BYE may come in a later
/// read.
#[derive(Debug, Default)]
pub(crate) struct Ending {
    backend: Lines,
    client: Lines,
    backend_bye: bool,
    client_quit: bool,
}

impl Ending {
    /// Bytes an IMAP backend sent.
    pub(crate) fn backend_sent(&mut self, bytes: &[u8]) {
        let bye = &mut self.backend_bye;
        self.backend.feed(bytes, true, &mut |line| {
            *bye |= line.len() >= 5 && line[..5].eq_ignore_ascii_case(b"* BYE");
        });
    }

    /// Bytes a POP3 client sent.
    pub(crate) fn client_sent(&mut self, bytes: &[u8]) {
        let quit = &mut self.client_quit;
        self.client.feed(bytes, false, &mut |line| {
            *quit |= line.trim_ascii().eq_ignore_ascii_case(b"QUIT");
        });
    }

    /// What `backend` saw of the backend's side and `client` of the
    /// client's, together.
    pub(crate) fn joined(backend: Ending, client: Ending) -> Ending {
        Ending {
            backend_bye: backend.backend_bye,
            client_quit: client.client_quit,
            ..Ending::default()
        }
    }

    /// The session ended as the protocol ends it.
    pub(crate) fn orderly(&self, service: crate::service::Service) -> bool {
        match service {
            crate::service::Service::Imap => self.backend_bye,
            crate::service::Service::Pop3 => self.client_quit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::Service;

    /// `chunks` fed to the backend's side one by one.
    fn backend_says(chunks: &[&[u8]]) -> bool {
        let mut e = Ending::default();
        for c in chunks {
            e.backend_sent(c);
        }
        e.orderly(Service::Imap)
    }

    #[test]
    fn a_bye_line_ends_the_session() {
        assert!(!backend_says(&[b"* 1 EXISTS\r\n"]));
        assert!(backend_says(&[b"* BYE logging out\r\nA1 OK done\r\n"]));
        assert!(backend_says(&[b"* 1 EXISTS\r\n* b", b"ye going\r\n"]));
        assert!(!backend_says(&[b"* BYE"]), "a line counts once it ends");
    }

    #[test]
    fn a_bye_inside_a_message_is_data() {
        let body = b"* BYE in the text\r\n* BYE again\r\n";
        let mut stream = format!("* 1 FETCH (BODY[] {{{}}}\r\n", body.len()).into_bytes();
        stream.extend_from_slice(body);
        stream.extend_from_slice(b")\r\nA1 OK done\r\n");
        assert!(!backend_says(&[&stream]));
        // However the chunks fall.
        for cut in 1..stream.len() {
            assert!(!backend_says(&[&stream[..cut], &stream[cut..]]), "{cut}");
        }
        stream.extend_from_slice(b"* BYE bye\r\n");
        assert!(backend_says(&[&stream]));
        // The text after a literal goes on with the same response.
        assert!(!backend_says(&[
            b"* 1 FETCH (BODY[] {0}\r\n",
            b"* BYE)\r\n"
        ]));
    }

    #[test]
    fn a_line_that_only_looks_like_a_literal() {
        assert!(backend_says(&[b"* OK {x}\r\n* BYE\r\n"]));
        assert!(backend_says(&[
            b"* OK {99999999999999999999999}\r\n* BYE\r\n"
        ]));
    }

    #[test]
    fn quit_ends_a_pop3_session() {
        let mut e = Ending::default();
        e.client_sent(b"QUITE\r\nLIST\r\n");
        assert!(!e.orderly(Service::Pop3));
        e.client_sent(b" qu");
        e.client_sent(b"it \r\n");
        assert!(e.orderly(Service::Pop3));
        let long = [b'x'; 100];
        let mut e = Ending::default();
        e.client_sent(&long);
        e.client_sent(b"QUIT\r\n");
        assert!(!e.orderly(Service::Pop3));
    }
}
