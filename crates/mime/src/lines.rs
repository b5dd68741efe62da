//! Line scanning and CRLF arithmetic over raw message bytes.
//!
//! Message files may use LF or CRLF line endings; IMAP counts sizes as if
//! every line ended in CRLF. A "bare" LF is an LF not preceded by CR.

/// One line of input: `start..content_end` is the text without its line
/// ending, `content_end..end` the line ending (`\n`, `\r\n` or empty at EOF).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line {
    pub start: usize,
    pub content_end: usize,
    pub end: usize,
}

/// Iterates over the lines of `msg[start..end]`.
pub(crate) fn lines(msg: &[u8], start: usize, end: usize) -> Lines<'_> {
    let end = end.min(msg.len());
    Lines {
        msg,
        pos: start.min(end),
        end,
    }
}

/// Iterator returned by [`lines`].
pub(crate) struct Lines<'a> {
    msg: &'a [u8],
    pos: usize,
    end: usize,
}

impl Iterator for Lines<'_> {
    type Item = Line;
    fn next(&mut self) -> Option<Line> {
        if self.pos >= self.end {
            return None;
        }
        let start = self.pos;
        let slice = &self.msg[start..self.end];
        let (content_end, end) = match slice.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let nl = start + i;
                let ce = if nl > start && self.msg[nl - 1] == b'\r' {
                    nl - 1
                } else {
                    nl
                };
                (ce, nl + 1)
            }
            None => (self.end, self.end),
        };
        self.pos = end;
        Some(Line {
            start,
            content_end,
            end,
        })
    }
}

/// Size of `bytes` once every bare LF is turned into CRLF (RFC822.SIZE).
pub fn crlf_len(bytes: &[u8]) -> u64 {
    let mut n = CrlfLen::default();
    n.add(bytes);
    n.len()
}

/// [`crlf_len`] of a message that arrives in pieces (a delivery or an
/// APPEND written as it comes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CrlfLen {
    len: u64,
    /// The last byte seen: a LF at the start of the next piece is bare
    /// unless this was a CR.
    prev: u8,
}

impl CrlfLen {
    /// Counts the next piece.
    pub fn add(&mut self, bytes: &[u8]) {
        self.len += bytes.len() as u64;
        for &b in bytes {
            if b == b'\n' && self.prev != b'\r' {
                self.len += 1;
            }
            self.prev = b;
        }
    }

    /// The size so far, with CRLF line ends.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was counted yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Returns `bytes` with every bare LF turned into CRLF.
pub fn to_crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32 + 2);
    push_crlf(&mut out, bytes);
    out
}

/// Appends `bytes` to `out` with every bare LF turned into CRLF.
pub(crate) fn push_crlf(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut prev = 0u8;
    for &b in bytes {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
}

/// Number of LF characters (= CRLF-terminated lines) in `bytes`.
pub(crate) fn count_lf(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// If `msg[..end]` ends with a line ending (at or after `floor`), returns the
/// position where that line ending starts; otherwise `end`.
pub(crate) fn strip_one_newline(msg: &[u8], floor: usize, end: usize) -> usize {
    if end > floor && msg.get(end - 1) == Some(&b'\n') {
        if end - 1 > floor && msg.get(end - 2) == Some(&b'\r') {
            end - 2
        } else {
            end - 1
        }
    } else {
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_len_in_pieces_counts_a_split_crlf_once() {
        let text = b"a\r\nb\nc\r\n\n";
        for cut in 0..=text.len() {
            let mut n = CrlfLen::default();
            n.add(&text[..cut]);
            n.add(&text[cut..]);
            assert_eq!(n.len(), crlf_len(text), "cut at {cut}");
        }
        assert_eq!(crlf_len(text), 11);
    }

    #[test]
    fn crlf_len_counts_bare_lf() {
        assert_eq!(crlf_len(b""), 0);
        assert_eq!(crlf_len(b"a\nb\r\nc"), 7);
        assert_eq!(crlf_len(b"\n\n"), 4);
        assert_eq!(to_crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
        assert_eq!(crlf_len(b"\r\r\n"), 3);
    }

    #[test]
    fn line_iteration() {
        let m = b"ab\r\ncd\nef";
        let v: Vec<Line> = lines(m, 0, m.len()).collect();
        assert_eq!(v.len(), 3);
        assert_eq!((v[0].start, v[0].content_end, v[0].end), (0, 2, 4));
        assert_eq!((v[1].start, v[1].content_end, v[1].end), (4, 6, 7));
        assert_eq!((v[2].start, v[2].content_end, v[2].end), (7, 9, 9));
        assert_eq!(lines(m, 5, 2).count(), 0);
    }

    #[test]
    fn strip_newline() {
        assert_eq!(strip_one_newline(b"ab\r\n", 0, 4), 2);
        assert_eq!(strip_one_newline(b"ab\n", 0, 3), 2);
        assert_eq!(strip_one_newline(b"ab", 0, 2), 2);
        assert_eq!(strip_one_newline(b"\r\n", 1, 2), 1);
    }
}
