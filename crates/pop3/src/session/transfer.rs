//! Sending a message for RETR or TOP in bounded pieces (RFC 1939 §5 RETR,
//! §7 TOP): CR before every LF, dot-stuffing, a final CRLF when the file
//! does not end with one, then the terminating `.`.
//!
//! TOP n sends the header, the blank line that ends it, and n lines of the
//! body. A message whose first line is blank has an empty header. (Courier
//! neither stuffs nor checks the first line of a message; Courser does.)

use std::io::{self, Read};

use crate::codec::respond;

/// Output added per call before the server must send it.
const PIECE: usize = courser_protocol::OUTPUT_HIGH_WATER;
/// Bytes read from the file at a time.
const READ: usize = 64 * 1024;

/// A message being sent.
pub(crate) struct Transfer {
    index: usize,
    reader: Box<dyn Read + Send>,
    /// TOP: body lines still to send (`None` for RETR).
    lines_left: Option<u64>,
    in_header: bool,
    at_line_start: bool,
    last: Option<u8>,
    buf: Vec<u8>,
    /// Message bytes sent since [`Transfer::take_sent`] last asked.
    sent: u64,
}

impl Transfer {
    pub(crate) fn new(index: usize, reader: Box<dyn Read + Send>, top: Option<u64>) -> Transfer {
        Transfer {
            index,
            reader,
            lines_left: top,
            in_header: true,
            at_line_start: true,
            last: None,
            buf: vec![0; READ],
            sent: 0,
        }
    }

    /// The message's index.
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    /// RETR (not TOP).
    pub(crate) fn is_retr(&self) -> bool {
        self.lines_left.is_none()
    }

    /// The message bytes (as stored) sent since the last call.
    pub(crate) fn take_sent(&mut self) -> u64 {
        std::mem::take(&mut self.sent)
    }

    /// Appends the next piece to `out`; true when the message is complete
    /// (terminator included).
    pub(crate) fn pump(&mut self, out: &mut Vec<u8>) -> io::Result<bool> {
        let target = out.len() + PIECE;
        while out.len() < target {
            let n = match self.reader.read(&mut self.buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                if self.last.is_some_and(|c| c != b'\n') {
                    out.extend_from_slice(b"\r\n");
                }
                respond::end(out);
                return Ok(true);
            }
            let (data, stop) = match self.lines_left {
                None => (&self.buf[..n], false),
                Some(_) => {
                    let cut = self.top_cut(n);
                    (&self.buf[..cut.unwrap_or(n)], cut.is_some())
                }
            };
            if let Some(&c) = data.last() {
                self.last = Some(c);
            }
            self.sent += data.len() as u64;
            respond::body(out, data, &mut self.at_line_start);
            if stop {
                respond::end(out);
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// For TOP: where in `buf[..n]` the body line limit is reached, if it
    /// is. Updates the header and line state for the bytes before it.
    fn top_cut(&mut self, n: usize) -> Option<usize> {
        let mut at_start = self.at_line_start;
        for (i, &c) in self.buf[..n].iter().enumerate() {
            if at_start {
                if self.in_header {
                    if c == b'\n' {
                        self.in_header = false;
                    }
                } else {
                    match self.lines_left {
                        Some(0) => return Some(i),
                        Some(k) => self.lines_left = Some(k - 1),
                        None => {}
                    }
                }
            }
            at_start = c == b'\n';
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(data: &'static [u8], top: Option<u64>) -> Vec<u8> {
        let mut t = Transfer::new(0, Box::new(data), top);
        let mut out = Vec::new();
        while !t.pump(&mut out).unwrap() {}
        out
    }

    #[test]
    fn retr_converts_line_ends_and_stuffs() {
        assert_eq!(send(b"A: b\n\n.x\n", None), b"A: b\r\n\r\n..x\r\n.\r\n");
        assert_eq!(
            send(b"A: b\n\nno newline", None),
            b"A: b\r\n\r\nno newline\r\n.\r\n"
        );
        assert_eq!(send(b"", None), b".\r\n");
    }

    #[test]
    fn top_sends_header_blank_line_and_n_body_lines() {
        let m: &[u8] = b"A: 1\nB: 2\n\nl1\nl2\nl3\n";
        assert_eq!(send(m, Some(0)), b"A: 1\r\nB: 2\r\n\r\n.\r\n");
        assert_eq!(send(m, Some(2)), b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n.\r\n");
        assert_eq!(
            send(m, Some(99)),
            b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3\r\n.\r\n"
        );
        assert_eq!(send(b"\nbody\n", Some(0)), b"\r\n.\r\n");
    }

    #[test]
    fn big_messages_come_in_pieces_that_add_up() {
        let big: &'static [u8] = Box::leak(vec![b'a'; 3 * PIECE].into_boxed_slice());
        let mut t = Transfer::new(0, Box::new(big), None);
        let mut out = Vec::new();
        let mut pieces = 0;
        while !t.pump(&mut out).unwrap() {
            pieces += 1;
        }
        assert!(pieces >= 2);
        assert_eq!(out.len(), 3 * PIECE + 2 + 3);
    }
}
