//! A small IMAP client: tagged commands, synchronizing literals in both
//! directions, IDLE, and just enough response parsing for the workloads
//! (EXISTS/EXPUNGE tracking, FETCH counting, SEARCH/SORT results,
//! CAPABILITY).
//!
//! Every read is bounded by a timeout; a server that misbehaves yields an
//! [`Error`], never a panic.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufStream};

use crate::conn::{Stream, Target};

/// Longest single line or literal accepted from a server (a FETCH of a
/// whole message is one literal; anything bigger is a misbehaving server).
const MAX_CHUNK: usize = 64 << 20;

/// What went wrong talking to a server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The connection failed (reset, refused, ...).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The server closed the connection.
    #[error("connection closed")]
    Closed,
    /// The server did not answer within the timeout.
    #[error("timeout after {0:?}")]
    Timeout(Duration),
    /// The server sent something this client cannot follow.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The server refused (greeting BYE, NO/BAD to a command that had to
    /// succeed).
    #[error("server said: {0}")]
    Refused(String),
}

impl Error {
    /// Whether the connection ended under the client (closed by the
    /// server, reset, cut mid-literal), rather than the server answering
    /// wrongly or too slowly.
    pub fn connection_ended(&self) -> bool {
        use std::io::ErrorKind::*;
        match self {
            Error::Closed => true,
            Error::Io(e) => matches!(
                e.kind(),
                UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe
            ),
            _ => false,
        }
    }
}

/// Result type of this module.
pub type Result<T> = std::result::Result<T, Error>;

/// A tagged completion status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `OK`
    Ok,
    /// `NO`
    No,
    /// `BAD` (or anything unrecognised)
    Bad,
}

/// One command's outcome.
#[derive(Debug, Default)]
pub struct Response {
    /// Tagged status; `None` only inside this module.
    pub status: Option<Status>,
    /// The tagged line's text after the status.
    pub text: String,
    /// Number of untagged `FETCH` responses.
    pub fetches: usize,
    /// Numbers from `* SEARCH` and `* SORT` responses.
    pub numbers: Vec<u32>,
    /// Untagged `* THREAD` lines seen.
    pub thread_lines: usize,
    /// Bytes received for this command (literals included).
    pub bytes: usize,
}

impl Response {
    /// Whether the command completed with OK.
    pub fn ok(&self) -> bool {
        self.status == Some(Status::Ok)
    }

    /// The response as an error when it was not OK.
    pub fn check(self) -> Result<Response> {
        if self.ok() {
            Ok(self)
        } else {
            Err(Error::Refused(self.text))
        }
    }
}

/// An IMAP connection.
pub struct Client {
    io: BufStream<Box<dyn Stream>>,
    tag: u32,
    timeout: Duration,
    /// Messages in the selected mailbox, tracked from EXISTS and EXPUNGE.
    pub exists: u32,
    /// Capabilities from the last CAPABILITY response (upper case).
    pub caps: Vec<String>,
    /// The text of an untagged `* BYE` the server sent, if any.
    pub bye: Option<String>,
}

/// Quotes a string for IMAP (`"` and `\` escaped).
pub fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

impl Client {
    /// Connects and reads the greeting (which must be `* OK`).
    pub async fn connect(target: &Target, timeout: Duration) -> Result<Client> {
        let stream = tokio::time::timeout(timeout, target.connect())
            .await
            .map_err(|_| Error::Timeout(timeout))??;
        let mut c = Client {
            io: BufStream::new(stream),
            tag: 0,
            timeout,
            exists: 0,
            caps: Vec::new(),
            bye: None,
        };
        let greeting = c.read_line().await?;
        if !greeting.starts_with(b"* OK") {
            return Err(Error::Refused(lossy(&greeting)));
        }
        c.note_caps(&greeting);
        Ok(c)
    }

    /// Connects and logs in; the capabilities are those after login.
    pub async fn login(target: &Target, user: &str, pass: &str, t: Duration) -> Result<Client> {
        let mut c = Client::connect(target, t).await?;
        c.command(&format!("LOGIN {} {}", quote(user), quote(pass)))
            .await?
            .check()?;
        c.command("CAPABILITY").await?.check()?;
        Ok(c)
    }

    /// Whether the server advertised a capability (case-insensitive).
    pub fn has_cap(&self, cap: &str) -> bool {
        self.caps.iter().any(|c| c.eq_ignore_ascii_case(cap))
    }

    fn next_tag(&mut self) -> String {
        self.tag += 1;
        format!("b{}", self.tag)
    }

    /// Sends one command line and reads up to its tagged completion.
    pub async fn command(&mut self, line: &str) -> Result<Response> {
        let tag = self.next_tag();
        self.send(format!("{tag} {line}\r\n").as_bytes()).await?;
        self.read_until_tagged(&tag).await
    }

    /// Sends `prefix {len}` with a synchronizing literal (RFC 3501 §4.3),
    /// e.g. APPEND, and reads up to the tagged completion.
    pub async fn command_literal(&mut self, prefix: &str, data: &[u8]) -> Result<Response> {
        let tag = self.next_tag();
        self.send(format!("{tag} {prefix} {{{}}}\r\n", data.len()).as_bytes())
            .await?;
        let mut resp = Response::default();
        loop {
            let line = self.read_line().await?;
            resp.bytes += line.len();
            if line.starts_with(b"+") {
                break;
            }
            if self.tagged(&tag, &line, &mut resp) {
                return Ok(resp); // refused before the literal
            }
            self.untagged(&line, &mut resp);
        }
        let mut buf = Vec::with_capacity(data.len() + 2);
        buf.extend_from_slice(data);
        buf.extend_from_slice(b"\r\n");
        self.send(&buf).await?;
        let rest = self.read_until_tagged(&tag).await?;
        resp.bytes += rest.bytes;
        resp.status = rest.status;
        resp.text = rest.text;
        Ok(resp)
    }

    /// Starts IDLE (RFC 2177) and waits for the continuation.
    pub async fn idle_start(&mut self) -> Result<String> {
        let tag = self.next_tag();
        self.send(format!("{tag} IDLE\r\n").as_bytes()).await?;
        let mut resp = Response::default();
        loop {
            let line = self.read_line().await?;
            if line.starts_with(b"+") {
                return Ok(tag);
            }
            if self.tagged(&tag, &line, &mut resp) {
                return Err(Error::Refused(resp.text));
            }
            self.untagged(&line, &mut resp);
        }
    }

    /// In IDLE: waits up to `wait` until the server reports a new EXISTS
    /// count above `above`.
    pub async fn idle_wait_exists(&mut self, above: u32, wait: Duration) -> Result<u32> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut resp = Response::default();
        loop {
            let line = tokio::time::timeout_at(deadline, self.read_line_untimed())
                .await
                .map_err(|_| Error::Timeout(wait))??;
            self.untagged(&line, &mut resp);
            if self.exists > above {
                return Ok(self.exists);
            }
        }
    }

    /// Ends IDLE with DONE and reads the tagged completion.
    pub async fn idle_done(&mut self, tag: &str) -> Result<Response> {
        self.send(b"DONE\r\n").await?;
        self.read_until_tagged(tag).await
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<()> {
        let t = self.timeout;
        tokio::time::timeout(t, async {
            self.io.write_all(bytes).await?;
            self.io.flush().await
        })
        .await
        .map_err(|_| Error::Timeout(t))??;
        Ok(())
    }

    async fn read_until_tagged(&mut self, tag: &str) -> Result<Response> {
        let mut resp = Response::default();
        loop {
            let line = self.read_line().await?;
            resp.bytes += line.len() + 2;
            if self.tagged(tag, &line, &mut resp) {
                return Ok(resp);
            }
            self.untagged(&line, &mut resp);
        }
    }

    /// Recognises the tagged completion of `tag` and fills in the status.
    fn tagged(&mut self, tag: &str, line: &[u8], resp: &mut Response) -> bool {
        let Some(rest) = line
            .strip_prefix(tag.as_bytes())
            .and_then(|r| r.strip_prefix(b" "))
        else {
            return false;
        };
        let text = lossy(rest);
        let (word, after) = text.split_once(' ').unwrap_or((text.as_str(), ""));
        resp.status = Some(match word.to_ascii_uppercase().as_str() {
            "OK" => Status::Ok,
            "NO" => Status::No,
            _ => Status::Bad,
        });
        if word.eq_ignore_ascii_case("OK") {
            self.note_caps(line);
        }
        resp.text = after.to_string();
        true
    }

    /// Interprets the untagged responses the workloads care about.
    fn untagged(&mut self, line: &[u8], resp: &mut Response) {
        let Some(rest) = line.strip_prefix(b"* ") else {
            return;
        };
        if rest.len() >= 3
            && rest[..3].eq_ignore_ascii_case(b"BYE")
            && matches!(rest.get(3), None | Some(b' '))
        {
            // Before LOGOUT's OK it is normal; anywhere else it ends the
            // session, which the next read reports.
            self.bye = Some(lossy(rest));
            return;
        }
        let mut words = rest.splitn(3, |&b| b == b' ');
        let first = words.next().unwrap_or_default();
        let second = words.next().unwrap_or_default();
        if let Some(n) = parse_u32(first) {
            if second.eq_ignore_ascii_case(b"EXISTS") {
                self.exists = n;
            } else if second.eq_ignore_ascii_case(b"EXPUNGE") {
                self.exists = self.exists.saturating_sub(1);
            } else if second.eq_ignore_ascii_case(b"FETCH") {
                resp.fetches += 1;
            }
        } else if first.eq_ignore_ascii_case(b"SEARCH") || first.eq_ignore_ascii_case(b"SORT") {
            let nums = rest.split(|&b| b == b' ').skip(1).filter_map(parse_u32);
            resp.numbers.extend(nums);
        } else if first.eq_ignore_ascii_case(b"THREAD") {
            resp.thread_lines += 1;
        } else if first.eq_ignore_ascii_case(b"CAPABILITY") {
            self.caps = rest
                .split(|&b| b == b' ')
                .skip(1)
                .map(|w| lossy(w).to_ascii_uppercase())
                .collect();
        } else {
            self.note_caps(line);
        }
    }

    /// Picks up a `[CAPABILITY ...]` response code.
    fn note_caps(&mut self, line: &[u8]) {
        let text = lossy(line);
        let upper = text.to_ascii_uppercase();
        if let Some(start) = upper.find("[CAPABILITY ") {
            let inner = &text[start + 12..];
            let end = inner.find(']').unwrap_or(inner.len());
            self.caps = inner[..end]
                .split(' ')
                .map(|w| w.to_ascii_uppercase())
                .collect();
        }
    }

    async fn read_line(&mut self) -> Result<Vec<u8>> {
        let t = self.timeout;
        tokio::time::timeout(t, self.read_line_untimed())
            .await
            .map_err(|_| Error::Timeout(t))?
    }

    /// Reads one response line, with any literals it carries inlined;
    /// the final CRLF is removed.
    async fn read_line_untimed(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let start = out.len();
            let n = (&mut self.io)
                .take(MAX_CHUNK as u64)
                .read_until(b'\n', &mut out)
                .await?;
            if n == 0 {
                return Err(Error::Closed);
            }
            if !out.ends_with(b"\n") {
                return Err(Error::Protocol("line too long".into()));
            }
            out.pop();
            if out.ends_with(b"\r") {
                out.pop();
            }
            match literal_len(&out[start..]) {
                Some(len) if len <= MAX_CHUNK => {
                    let at = out.len();
                    out.resize(at + len, 0);
                    self.io.read_exact(&mut out[at..]).await?;
                }
                Some(_) => return Err(Error::Protocol("literal too large".into())),
                None => return Ok(out),
            }
        }
    }
}

/// The length of a literal announced at the end of a line: `{123}` (or
/// `{123+}` from a client-style peer).
fn literal_len(line: &[u8]) -> Option<usize> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = &body[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fn parse_u32(w: &[u8]) -> Option<u32> {
    if w.is_empty() || !w.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(w).ok()?.parse().ok()
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_lengths() {
        assert_eq!(literal_len(b"* 1 FETCH (BODY[] {12}"), Some(12));
        assert_eq!(literal_len(b"a APPEND x {3+}"), Some(3));
        assert_eq!(literal_len(b"* OK {x}"), None);
        assert_eq!(literal_len(b"* OK }"), None);
    }

    #[test]
    fn bye_is_noted_and_other_lines_are_not() {
        let mut c = Client {
            io: BufStream::new(Box::new(tokio::io::duplex(64).0) as Box<dyn Stream>),
            tag: 0,
            timeout: Duration::from_secs(1),
            exists: 0,
            caps: Vec::new(),
            bye: None,
        };
        let mut resp = Response::default();
        c.untagged(b"* BYEBYE 3", &mut resp);
        c.untagged(b"* 3 EXISTS", &mut resp);
        assert_eq!((c.bye.as_deref(), c.exists), (None, 3));
        c.untagged(b"* bye [UNAVAILABLE] gone", &mut resp);
        assert_eq!(c.bye.as_deref(), Some("bye [UNAVAILABLE] gone"));
    }

    #[test]
    fn quoting() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
