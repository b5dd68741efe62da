//! The message an ADD uploads (spec §5.12, §3.6), sans-IO: dot-stuffed
//! text ending in a `.` line, or binary chunks (`{X/Y}`, then X bytes,
//! then a line with the next chunk's size, an empty line at the end).
//! Carriage returns are dropped, a final LF is added when missing, and
//! an empty message becomes one empty line, as Courier stores them.
//!
//! Courier drops both dots of an uploaded `..` line (it unstuffs twice,
//! spec §10); here a line's first dot alone is the stuffing.

/// An upload in progress.
#[derive(Debug)]
pub struct Upload {
    form: Form,
    message: Vec<u8>,
    /// The most the message may hold; beyond it the rest is read and
    /// dropped, and the upload ends [`Done::TooBig`].
    limit: usize,
    too_big: bool,
}

#[derive(Debug)]
enum Form {
    /// Dot-stuffed: whether the next byte starts a line, and whether a
    /// line's stuffing dot was just taken.
    Dot { line_start: bool, after_dot: bool },
    /// Binary: bytes left of the current chunk; `None` while the line
    /// with the next chunk's size is awaited.
    Chunks { left: Option<usize> },
}

/// How an upload ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Done {
    /// The message, as it is to be stored.
    Message(Vec<u8>),
    /// It was bigger than the limit.
    TooBig,
    /// A chunk size line that is not a number.
    Malformed,
}

impl Upload {
    /// The upload a size word starts (`{.N}`, `{.}`, `{X/Y}`); `None` for
    /// a word that is none of these.
    pub fn start(word: &str, limit: usize) -> Option<Upload> {
        let inner = word.strip_prefix('{')?.strip_suffix('}')?;
        let form = if inner.starts_with('.') {
            Form::Dot {
                line_start: true,
                after_dot: false,
            }
        } else {
            let (first, _) = inner.split_once('/').unwrap_or((inner, ""));
            Form::Chunks {
                left: Some(first.parse().ok()?),
            }
        };
        Some(Upload {
            form,
            message: Vec::new(),
            limit,
            too_big: false,
        })
    }

    /// Takes what it can of `input` (removing it); `Some` once the upload
    /// is complete, the rest of `input` then being the client's next
    /// command.
    pub fn feed(&mut self, input: &mut Vec<u8>) -> Option<Done> {
        let mut used = 0;
        let mut done = None;
        while used < input.len() && done.is_none() {
            match &mut self.form {
                Form::Dot {
                    line_start,
                    after_dot,
                } => {
                    let b = input[used];
                    used += 1;
                    if b == b'\r' {
                        continue;
                    }
                    if *after_dot && b == b'\n' {
                        done = Some(());
                        continue;
                    }
                    if b == b'.' && *line_start && !*after_dot {
                        *after_dot = true;
                        continue;
                    }
                    *after_dot = false;
                    *line_start = b == b'\n';
                    self.push(&[b]);
                }
                Form::Chunks { left: Some(left) } => {
                    let take = (*left).min(input.len() - used);
                    let chunk = input[used..used + take].to_vec();
                    used += take;
                    *left -= take;
                    if *left == 0 {
                        self.form = Form::Chunks { left: None };
                    }
                    let kept: Vec<u8> = chunk.into_iter().filter(|&b| b != b'\r').collect();
                    self.push(&kept);
                }
                Form::Chunks { left: None } => {
                    let Some(end) = input[used..].iter().position(|&b| b == b'\n') else {
                        break;
                    };
                    let line = String::from_utf8_lossy(&input[used..used + end]).into_owned();
                    used += end + 1;
                    let line = line.trim();
                    if line.is_empty() {
                        done = Some(());
                    } else {
                        match line.parse::<usize>() {
                            Ok(n) => self.form = Form::Chunks { left: Some(n) },
                            Err(_) => {
                                input.drain(..used);
                                return Some(Done::Malformed);
                            }
                        }
                    }
                }
            }
        }
        input.drain(..used);
        done.map(|()| self.finish())
    }

    fn push(&mut self, bytes: &[u8]) {
        if self.message.len() + bytes.len() > self.limit {
            self.too_big = true;
        }
        if !self.too_big {
            self.message.extend_from_slice(bytes);
        }
    }

    fn finish(&mut self) -> Done {
        if self.too_big {
            return Done::TooBig;
        }
        let mut message = std::mem::take(&mut self.message);
        if message.last() != Some(&b'\n') {
            message.push(b'\n');
        }
        Done::Message(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` one byte at a time (the hardest split) into the
    /// connection's buffer.
    fn upload(word: &str, input: &[u8], limit: usize) -> (Done, Vec<u8>) {
        let mut up = Upload::start(word, limit).unwrap();
        let mut buffer = Vec::new();
        for (i, &b) in input.iter().enumerate() {
            buffer.push(b);
            if let Some(done) = up.feed(&mut buffer) {
                buffer.extend_from_slice(&input[i + 1..]);
                return (done, buffer);
            }
        }
        panic!("upload did not end");
    }

    #[test]
    fn dot_stuffed_text_is_unstuffed_once() {
        let (done, rest) = upload(
            "{.40}",
            b"To: a\r\n\r\n..leading dot\r\n..\r\nx.y\r\n.\r\nNOOP\n",
            1000,
        );
        assert_eq!(
            done,
            Done::Message(b"To: a\n\n.leading dot\n.\nx.y\n".to_vec())
        );
        assert_eq!(rest, b"NOOP\n");
        let (empty, _) = upload("{.}", b".\n", 1000);
        assert_eq!(empty, Done::Message(b"\n".to_vec()));
    }

    #[test]
    fn binary_chunks_are_joined_and_end_at_an_empty_line() {
        let (done, rest) = upload("{6/9}", b"ab\r\ncd3\nxyz\nRSET\n", 1000);
        assert_eq!(done, Done::Message(b"ab\ncdxyz\n".to_vec()));
        assert_eq!(rest, b"RSET\n");
        let (bad, _) = upload("{1/1}", b"alots\n", 1000);
        assert_eq!(bad, Done::Malformed);
        assert!(Upload::start("{x/1}", 10).is_none());
        assert!(Upload::start("FLAGS=SEEN", 10).is_none());
    }

    #[test]
    fn an_upload_over_the_limit_is_read_to_its_end_and_refused() {
        let (done, rest) = upload("{.}", b"0123456789\nabc\n.\nNOOP\n", 5);
        assert_eq!(done, Done::TooBig);
        assert_eq!(rest, b"NOOP\n");
    }
}
