//! The proxy's side of a backend's login, sans I/O: [`Dialogue`] takes
//! the backend's bytes and says what to send and what to do next —
//! greeting, STARTTLS/STLS, IMAP ID with the client's address (RFC 2971,
//! the fields Dovecot's proxy sends), the login, and for IMAP the
//! capabilities after login (RFC 3501 §7.2.1), which the client must get
//! instead of the front end's pre-login list.
//!
//! With the client's credentials the login is IMAP LOGIN or POP3
//! USER/PASS, as Courier's proxy sends them (Courier's backends offer no
//! SASL by default); a master user needs an authorization identity, so
//! SASL PLAIN (RFC 4616; IMAP AUTHENTICATE, RFC 3501 §6.2.2; POP3 AUTH,
//! RFC 5034), which also carries credentials the plain commands cannot
//! (a line break or NUL).
//!
//! Commands use tags of their own (`P1`…); the client's tag is put back
//! by the front end on the answer it relays. A client logging in to
//! Courier's SMAP1 on the IMAP port gets an SMAP login on the backend:
//! `\SMAP1 LOGIN` or `\SMAP1 AUTHENTICATE` (challenges start `>`),
//! answered `+OK`/`-ERR` (spec/smap.md §2).

use base64::Engine as _;

use crate::service::Service;

/// Longest backend line (with its literals) during the login.
const MAX_LINE: usize = 64 * 1024;

/// What the backend login does, decided by the front end.
pub struct Plan {
    /// STARTTLS (IMAP) or STLS (POP3) after the greeting.
    pub starttls: bool,
    /// IMAP ID fields sent before the login (none: no ID); to a POP3
    /// backend whose greeting offers `[XCLIENT]`, the client's address,
    /// port and the session id go by XCLIENT (Dovecot's POP3 proxy).
    pub id: Vec<(String, String)>,
    /// Whose credentials.
    pub login: LoginAs,
    /// IMAP: log in to SMAP1 (the client did).
    pub smap: bool,
}

/// The credentials a backend login uses.
#[derive(Clone)]
pub enum LoginAs {
    /// The client's own.
    Client {
        /// The account.
        user: String,
        /// The client's password.
        password: Vec<u8>,
    },
    /// A master user's, for the account.
    Master {
        /// The account.
        user: String,
        /// The master user's login.
        master: String,
        /// Its password.
        password: Vec<u8>,
    },
}

impl LoginAs {
    /// The SASL PLAIN message: `authzid NUL authcid NUL password`.
    fn plain(&self) -> Vec<u8> {
        let (authzid, authcid, password) = match self {
            LoginAs::Client { user, password } => ("", user, password),
            LoginAs::Master {
                user,
                master,
                password,
            } => (user.as_str(), master, password),
        };
        [authzid.as_bytes(), authcid.as_bytes(), password].join(&0u8)
    }

    /// The client's user and password, when a plain command line can carry
    /// them.
    fn as_line(&self) -> Option<(&str, &[u8])> {
        let LoginAs::Client { user, password } = self else {
            return None;
        };
        let fits = |b: &[u8]| !b.is_empty() && !b.iter().any(|c| matches!(c, b'\r' | b'\n' | 0));
        (fits(user.as_bytes()) && fits(password)).then_some((user.as_str(), password.as_slice()))
    }
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let login = match &self.login {
            LoginAs::Client { user, .. } => format!("client {user}"),
            LoginAs::Master { user, master, .. } => format!("{master} for {user}"),
        };
        f.debug_struct("Plan")
            .field("starttls", &self.starttls)
            .field("id", &self.id)
            .field("login", &login)
            .finish_non_exhaustive()
    }
}

/// What the caller does after [`Dialogue::receive`].
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// Send what was written (if anything) and feed more input.
    Wait,
    /// Start TLS on the connection now, then call
    /// [`Dialogue::tls_started`]. Anything received after the backend's
    /// go-ahead was dropped (it cannot be trusted, RFC 3207 §4.2).
    StartTls,
    /// Logged in.
    Done(LoggedIn),
    /// The login cannot go on.
    Failed(Failure),
}

/// A backend login that succeeded.
#[derive(Debug, PartialEq, Eq)]
pub struct LoggedIn {
    /// IMAP: the backend's capabilities after login.
    pub capabilities: Vec<String>,
    /// The text of the backend's final OK (IMAP, without the response
    /// code) or `+OK` line (POP3).
    pub text: String,
    /// Bytes the backend sent after its answer: the client's.
    pub rest: Vec<u8>,
}

/// Why a backend login failed.
#[derive(Debug, PartialEq, Eq)]
pub struct Failure {
    /// The backend refused the credentials (rather than breaking the
    /// protocol or hanging up).
    pub refused: bool,
    /// What happened, for the log (never the credentials).
    pub why: String,
}

impl Failure {
    fn protocol(why: impl Into<String>) -> Progress {
        Progress::Failed(Failure {
            refused: false,
            why: why.into(),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Greeting,
    StartTls,
    Id,
    /// AUTHENTICATE/AUTH sent, waiting for the go-ahead.
    Authenticate,
    /// POP3 USER sent.
    User,
    /// The credentials sent (PLAIN message, LOGIN, PASS): waiting for
    /// the verdict.
    Plain,
    Capability,
    Over,
}

/// One backend login.
#[derive(Debug)]
pub struct Dialogue {
    service: Service,
    plan: Plan,
    state: State,
    buf: Vec<u8>,
    /// IMAP: the capabilities the backend listed since the login began.
    capabilities: Option<Vec<String>>,
    /// IMAP: the text of the login's tagged OK, while CAPABILITY runs.
    ok_text: String,
    /// The backend greeted properly.
    greeted: bool,
    /// POP3: the greeting offered XCLIENT.
    xclient: bool,
}

impl Dialogue {
    /// A login on a backend of `service` that has not greeted yet.
    pub fn new(service: Service, plan: Plan) -> Dialogue {
        Dialogue {
            service,
            plan,
            state: State::Greeting,
            buf: Vec::new(),
            capabilities: None,
            ok_text: String::new(),
            greeted: false,
            xclient: false,
        }
    }

    /// The backend greeted properly: a failure from here on is not a
    /// sign that it is down.
    pub fn greeted(&self) -> bool {
        self.greeted
    }

    /// Takes the backend's `input`, writes what to send into `out`.
    pub fn receive(&mut self, input: &[u8], out: &mut Vec<u8>) -> Progress {
        self.buf.extend_from_slice(input);
        loop {
            let line = match self.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => return Progress::Wait,
                Err(why) => return self.fail(Failure::protocol(why)),
            };
            let progress = match self.service {
                Service::Imap => self.imap_line(&line, out),
                Service::Pop3 => self.pop3_line(&line, out),
            };
            match progress {
                Progress::Wait => {}
                Progress::StartTls => {
                    self.buf.clear();
                    return Progress::StartTls;
                }
                Progress::Done(mut done) => {
                    self.state = State::Over;
                    done.rest = std::mem::take(&mut self.buf);
                    return Progress::Done(done);
                }
                failed @ Progress::Failed(_) => return self.fail(failed),
            }
        }
    }

    /// TLS is up after [`Progress::StartTls`]: the login goes on.
    pub fn tls_started(&mut self, out: &mut Vec<u8>) {
        self.after_tls(out);
    }

    fn fail(&mut self, progress: Progress) -> Progress {
        self.state = State::Over;
        progress
    }

    /// The next complete line without its CRLF (IMAP: with the literals
    /// it announces, RFC 3501 §4.3).
    fn next_line(&mut self) -> Result<Option<Vec<u8>>, String> {
        let mut from = 0;
        loop {
            let Some(lf) = memchr::memchr(b'\n', &self.buf[from..]).map(|i| from + i) else {
                if self.buf.len() >= MAX_LINE {
                    return Err("backend line too long".into());
                }
                return Ok(None);
            };
            // However the bytes were split into reads, a line over the
            // limit fails the same way.
            if lf >= MAX_LINE {
                return Err("backend line too long".into());
            }
            let literal = match self.service {
                Service::Imap => literal_length(&self.buf[..lf]),
                Service::Pop3 => None,
            };
            match literal {
                Some(n) if lf + 1 + n > MAX_LINE => return Err("backend line too long".into()),
                Some(n) if self.buf.len() < lf + 1 + n => return Ok(None),
                Some(n) => from = lf + 1 + n,
                None => {
                    let mut line: Vec<u8> = self.buf.drain(..=lf).collect();
                    line.pop();
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    return Ok(Some(line));
                }
            }
        }
    }

    fn imap_line(&mut self, line: &[u8], out: &mut Vec<u8>) -> Progress {
        let text = String::from_utf8_lossy(line);
        if self.plan.smap && matches!(self.state, State::Authenticate | State::Plain) {
            return self.smap_line(&text, out);
        }
        let (tag, rest) = text.split_once(' ').unwrap_or((&text, ""));
        if tag == "*" {
            return self.imap_untagged(rest, out);
        }
        if tag == "+" {
            if self.state != State::Authenticate {
                return Failure::protocol(format!("unexpected continuation: {text}"));
            }
            self.send_plain(out);
            return Progress::Wait;
        }
        let expected = match self.state {
            State::StartTls => "P1",
            State::Id => "P2",
            State::Authenticate | State::Plain => "P3",
            State::Capability => "P4",
            State::Greeting | State::User | State::Over => "",
        };
        if tag != expected {
            return Failure::protocol(format!("unexpected line: {text}"));
        }
        let (status, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        let ok = status.eq_ignore_ascii_case("OK");
        match self.state {
            State::StartTls if ok => Progress::StartTls,
            State::StartTls => Failure::protocol(format!("STARTTLS refused: {rest}")),
            // ID is optional: a backend without it still logs the proxy.
            State::Id => {
                self.authenticate(out);
                Progress::Wait
            }
            State::Authenticate | State::Plain if ok => {
                let (code, text) = response_code(rest);
                if let Some(caps) = code.and_then(capability_code) {
                    self.capabilities = Some(caps);
                }
                match self.capabilities.take() {
                    Some(capabilities) => Progress::Done(LoggedIn {
                        capabilities,
                        text: text.to_owned(),
                        rest: Vec::new(),
                    }),
                    None => {
                        self.ok_text = text.to_owned();
                        self.state = State::Capability;
                        out.extend_from_slice(b"P4 CAPABILITY\r\n");
                        Progress::Wait
                    }
                }
            }
            State::Authenticate | State::Plain => Progress::Failed(Failure {
                refused: status.eq_ignore_ascii_case("NO"),
                why: format!("{status} {rest}"),
            }),
            State::Capability if ok => Progress::Done(LoggedIn {
                capabilities: self.capabilities.take().unwrap_or_default(),
                text: std::mem::take(&mut self.ok_text),
                rest: Vec::new(),
            }),
            _ => Failure::protocol(format!("unexpected answer: {text}")),
        }
    }

    fn imap_untagged(&mut self, rest: &str, out: &mut Vec<u8>) -> Progress {
        let (word, after) = rest.split_once(' ').unwrap_or((rest, ""));
        let word = word.to_ascii_uppercase();
        if word == "BYE" {
            return Failure::protocol(format!("backend said BYE: {after}"));
        }
        match self.state {
            State::Greeting => match word.as_str() {
                "OK" => {
                    self.after_greeting(out);
                    Progress::Wait
                }
                "PREAUTH" => Failure::protocol("backend greeted with PREAUTH"),
                _ => Failure::protocol(format!("bad greeting: * {rest}")),
            },
            State::Authenticate | State::Plain | State::Capability if word == "CAPABILITY" => {
                self.capabilities = Some(words(after));
                Progress::Wait
            }
            // Other untagged data (the ID answer, alerts) is not ours to
            // judge.
            _ => Progress::Wait,
        }
    }

    /// An SMAP login's answer: untagged lines, `>` challenges, then
    /// `+OK` or `-ERR`.
    fn smap_line(&mut self, text: &str, out: &mut Vec<u8>) -> Progress {
        if let Some(rest) = text.strip_prefix("+OK") {
            return Progress::Done(LoggedIn {
                capabilities: Vec::new(),
                text: rest.trim_start().to_owned(),
                rest: Vec::new(),
            });
        }
        if text.starts_with("-ERR") {
            return Progress::Failed(Failure {
                refused: true,
                why: text.to_owned(),
            });
        }
        if self.state == State::Authenticate && (text == ">" || text.starts_with("> ")) {
            self.send_plain(out);
            return Progress::Wait;
        }
        match text.strip_prefix("* ") {
            Some(bye) if bye.starts_with("BYE") => Failure::protocol(format!("backend said {bye}")),
            Some(_) => Progress::Wait,
            None => Failure::protocol(format!("unexpected SMAP line: {text}")),
        }
    }

    fn pop3_line(&mut self, line: &[u8], out: &mut Vec<u8>) -> Progress {
        let text = String::from_utf8_lossy(line);
        let ok = text == "+OK" || text.starts_with("+OK ");
        let rest = text.get(4..).unwrap_or("").to_owned();
        match self.state {
            State::Greeting if ok => {
                self.xclient = rest.starts_with("[XCLIENT]");
                self.after_greeting(out);
                Progress::Wait
            }
            // XCLIENT is optional, like ID.
            State::Id => {
                self.authenticate(out);
                Progress::Wait
            }
            State::Greeting => Failure::protocol(format!("bad greeting: {text}")),
            State::StartTls if ok => Progress::StartTls,
            State::StartTls => Failure::protocol(format!("STLS refused: {text}")),
            State::Authenticate if text == "+" || text.starts_with("+ ") => {
                self.send_plain(out);
                Progress::Wait
            }
            State::User if ok => {
                self.state = State::Plain;
                if let Some((_, password)) = self.plan.login.as_line() {
                    out.extend_from_slice(b"PASS ");
                    out.extend_from_slice(password);
                    out.extend_from_slice(b"\r\n");
                }
                Progress::Wait
            }
            State::Authenticate | State::Plain if ok => Progress::Done(LoggedIn {
                capabilities: Vec::new(),
                text: rest,
                rest: Vec::new(),
            }),
            State::Authenticate | State::User | State::Plain if text.starts_with("-ERR") => {
                Progress::Failed(Failure {
                    refused: true,
                    why: text.into_owned(),
                })
            }
            _ => Failure::protocol(format!("unexpected line: {text}")),
        }
    }

    /// After the greeting: TLS first if planned.
    fn after_greeting(&mut self, out: &mut Vec<u8>) {
        self.greeted = true;
        if self.plan.starttls {
            self.state = State::StartTls;
            out.extend_from_slice(match self.service {
                Service::Imap => b"P1 STARTTLS\r\n",
                Service::Pop3 => b"STLS\r\n",
            });
        } else {
            self.after_tls(out);
        }
    }

    fn after_tls(&mut self, out: &mut Vec<u8>) {
        if self.service == Service::Pop3 && self.xclient {
            let fields: Vec<String> = self
                .plan
                .id
                .iter()
                .filter_map(|(k, v)| {
                    let name = match k.as_str() {
                        "x-originating-ip" => "ADDR",
                        "x-originating-port" => "PORT",
                        "x-session-id" => "SESSION",
                        _ => return None,
                    };
                    // (Our own values; a space would split the attribute.)
                    Some(format!("{name}={}", v.replace([' ', '\r', '\n'], "")))
                })
                .collect();
            if !fields.is_empty() {
                self.state = State::Id;
                out.extend_from_slice(format!("XCLIENT {}\r\n", fields.join(" ")).as_bytes());
                return;
            }
        }
        if self.service == Service::Imap && !self.plan.id.is_empty() {
            self.state = State::Id;
            out.extend_from_slice(b"P2 ID (");
            for (i, (k, v)) in self.plan.id.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                quoted(k.as_bytes(), out);
                out.push(b' ');
                quoted(v.as_bytes(), out);
            }
            out.extend_from_slice(b")\r\n");
        } else {
            self.authenticate(out);
        }
    }

    fn authenticate(&mut self, out: &mut Vec<u8>) {
        // What the backend listed before the login is not the list after.
        self.capabilities = None;
        let tag: &[u8] = if self.plan.smap { b"\\SMAP1" } else { b"P3" };
        match (self.plan.login.as_line(), self.service) {
            (Some((user, password)), Service::Imap) => {
                self.state = State::Plain;
                out.extend_from_slice(tag);
                out.extend_from_slice(b" LOGIN ");
                quoted(user.as_bytes(), out);
                out.push(b' ');
                quoted(password, out);
                out.extend_from_slice(b"\r\n");
            }
            (Some((user, _)), Service::Pop3) => {
                self.state = State::User;
                out.extend_from_slice(b"USER ");
                out.extend_from_slice(user.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            (None, Service::Imap) => {
                self.state = State::Authenticate;
                out.extend_from_slice(tag);
                out.extend_from_slice(b" AUTHENTICATE PLAIN\r\n");
            }
            (None, Service::Pop3) => {
                self.state = State::Authenticate;
                out.extend_from_slice(b"AUTH PLAIN\r\n");
            }
        }
    }

    /// The answer to the go-ahead of AUTHENTICATE/AUTH PLAIN.
    fn send_plain(&mut self, out: &mut Vec<u8>) {
        self.state = State::Plain;
        let encoded = base64::engine::general_purpose::STANDARD.encode(self.plan.login.plain());
        out.extend_from_slice(encoded.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// The length of the literal a line announces at its end (`{n}` or
/// `{n+}` before the CRLF).
pub(super) fn literal_length(line: &[u8]) -> Option<usize> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let digits = &inner[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// `[CODE args] text` → (`CODE args`, `text`).
fn response_code(rest: &str) -> (Option<&str>, &str) {
    if let Some(inner) = rest.strip_prefix('[') {
        if let Some((code, text)) = inner.split_once(']') {
            return (Some(code), text.trim_start());
        }
    }
    (None, rest)
}

/// The capabilities of a `CAPABILITY ...` response code.
fn capability_code(code: &str) -> Option<Vec<String>> {
    let (name, args) = code.split_once(' ').unwrap_or((code, ""));
    name.eq_ignore_ascii_case("CAPABILITY").then(|| words(args))
}

fn words(s: &str) -> Vec<String> {
    s.split_ascii_whitespace().map(str::to_owned).collect()
}

/// An IMAP quoted string (RFC 3501 §4.3), backslash escapes as Courier's
/// proxy writes them; line breaks and NULs (which no quoted string
/// carries) are left out — credentials with them go by SASL instead.
fn quoted(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s.iter().filter(|b| !matches!(b, b'\r' | b'\n' | 0)) {
        if matches!(b, b'"' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Whether a greeting line (without CRLF) is a usable one: `* OK` for
/// IMAP, `+OK` for POP3 (the health probe's test).
pub fn greeting_ok(service: Service, line: &[u8]) -> bool {
    let upper = line.to_ascii_uppercase();
    match service {
        Service::Imap => upper.starts_with(b"* OK"),
        Service::Pop3 => upper.starts_with(b"+OK"),
    }
}

#[cfg(test)]
mod tests;
