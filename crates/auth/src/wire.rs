//! Courier's authdaemond wire format (spec §3), which the authpipe
//! protocol (spec §4) shares: requests, replies, and the mapping between
//! a reply record and an [`Entry`].
//!
//! ```text
//! request:  [NAME=value\n]*  PRE . <service> <login>\n
//!                            AUTH <len>\n<service>\n<authtype>\n<data>
//!                            PASSWD <service>\t<login>\t<old>\t<new>\n
//! reply:    FAIL\n
//!        |  USERNAME=…\n UID=…\n GID=…\n HOME=…\n ADDRESS=…\n NAME=…\n
//!           MAILDIR=…\n QUOTA=…\n PASSWD=…\n PASSWD2=…\n OPTIONS=…\n .\n
//! reply to PASSWD:  OK\n | FAIL\n
//! ```
//!
//! Both directions live here: the clients ([`crate::authdaemond`],
//! [`crate::authpipe`]) encode requests and parse replies, and the server
//! side (the server's authentication helper, test doubles) parses requests and encodes
//! replies. Everything read is bounded ([`MAX_LINE`], [`MAX_LINES`],
//! [`MAX_AUTH_LEN`]).

use std::io::{self, BufRead, Read};
use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use courser_protocol::Untrusted;

use crate::account::{Account, Options};
use crate::backend::{CramResponse, Entry};
use crate::passwd;

/// Longest line accepted in either direction, in bytes.
pub const MAX_LINE: usize = 8192;
/// Most lines in one reply record, or metadata lines before a request.
pub const MAX_LINES: usize = 64;
/// Largest `AUTH` payload accepted.
pub const MAX_AUTH_LEN: usize = 16384;

/// A request to an authdaemond or an authpipe program.
#[derive(Clone, PartialEq, Eq)]
pub enum Request {
    /// `PRE . service login`: look an account up without a password.
    Pre {
        /// Service name (`imap`, `pop3`, `login`, …).
        service: String,
        /// The login.
        login: String,
    },
    /// `AUTH len` + `service\nlogin\nuser\npassword\n`.
    Login {
        /// Service name.
        service: String,
        /// The login.
        login: String,
        /// The password.
        password: Vec<u8>,
    },
    /// `AUTH len` + `service\ncram-<hash>\nb64(challenge)\nb64(user digest)\n`.
    Cram {
        /// Service name.
        service: String,
        /// The decoded CRAM response.
        cram: CramResponse,
    },
    /// `PASSWD service\tlogin\told\tnew`: change a password (answered
    /// `OK` or `FAIL`, [`read_passwd_reply`]).
    Passwd {
        /// Service name.
        service: String,
        /// The login.
        login: String,
        /// The current password.
        old: Vec<u8>,
        /// The new password.
        new: Vec<u8>,
    },
}

/// Logins are client text: escaped ([`Untrusted`]), as in every log line.
impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Pre { service, login } => write!(f, "PRE {service} {}", Untrusted(login)),
            Request::Login { service, login, .. } => {
                write!(f, "AUTH {service} login {}", Untrusted(login))
            }
            Request::Cram { service, cram } => {
                write!(
                    f,
                    "AUTH {service} {} {}",
                    cram.hash.name(),
                    Untrusted(&cram.login)
                )
            }
            Request::Passwd { service, login, .. } => {
                write!(f, "PASSWD {service} {}", Untrusted(login))
            }
        }
    }
}

/// Why a request cannot be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A field holds a character the protocol cannot carry (newline, or a
    /// space in a `PRE` login).
    #[error("value cannot be sent: {0}")]
    Unencodable(&'static str),
    /// The peer sent something that is not the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The connection ended early or an I/O call failed.
    #[error("I/O: {0}")]
    Io(String),
}

impl From<io::Error> for WireError {
    fn from(e: io::Error) -> Self {
        WireError::Io(e.to_string())
    }
}

fn check_field(value: &[u8], what: &'static str) -> Result<(), WireError> {
    if value.contains(&b'\n') || value.contains(&0) {
        return Err(WireError::Unencodable(what));
    }
    Ok(())
}

impl Request {
    /// The request in wire form.
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        match self {
            Request::Pre { service, login } => {
                check_field(service.as_bytes(), "service")?;
                check_field(login.as_bytes(), "login")?;
                if login.contains(' ') || service.contains(' ') {
                    return Err(WireError::Unencodable("space in a PRE request"));
                }
                Ok(format!("PRE . {service} {login}\n").into_bytes())
            }
            Request::Login {
                service,
                login,
                password,
            } => {
                check_field(service.as_bytes(), "service")?;
                check_field(login.as_bytes(), "login")?;
                check_field(password, "password")?;
                let mut body = format!("{service}\nlogin\n{login}\n").into_bytes();
                body.extend_from_slice(password);
                body.push(b'\n');
                Ok(with_auth_header(body))
            }
            Request::Cram { service, cram } => {
                check_field(service.as_bytes(), "service")?;
                let response = format!("{} {}", cram.login, cram.digest_hex);
                let body = format!(
                    "{service}\ncram-{}\n{}\n{}\n",
                    cram.hash.name(),
                    B64.encode(&cram.challenge),
                    B64.encode(response.as_bytes())
                );
                Ok(with_auth_header(body.into_bytes()))
            }
            Request::Passwd {
                service,
                login,
                old,
                new,
            } => {
                let fields = [
                    (service.as_bytes(), "service"),
                    (login.as_bytes(), "login"),
                    (old, "password"),
                    (new, "new password"),
                ];
                let mut line = b"PASSWD ".to_vec();
                for (i, (value, what)) in fields.into_iter().enumerate() {
                    check_field(value, what)?;
                    if value.contains(&b'\t') {
                        return Err(WireError::Unencodable("TAB in a PASSWD request"));
                    }
                    if i > 0 {
                        line.push(b'\t');
                    }
                    line.extend_from_slice(value);
                }
                line.push(b'\n');
                Ok(line)
            }
        }
    }

    /// The service the request is for.
    pub fn service(&self) -> &str {
        match self {
            Request::Pre { service, .. }
            | Request::Login { service, .. }
            | Request::Cram { service, .. }
            | Request::Passwd { service, .. } => service,
        }
    }
}

fn with_auth_header(body: Vec<u8>) -> Vec<u8> {
    let mut out = format!("AUTH {}\n", body.len()).into_bytes();
    out.extend_from_slice(&body);
    out
}

/// Reads one `\n`-terminated line (without the newline), at most
/// [`MAX_LINE`] bytes. `Ok(None)` at end of input before any byte.
pub fn read_line(r: &mut impl BufRead) -> Result<Option<Vec<u8>>, WireError> {
    let mut line = Vec::new();
    let n = r.take(MAX_LINE as u64 + 1).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(if line.len() > MAX_LINE {
            WireError::Protocol("line too long".into())
        } else {
            WireError::Io("connection closed in the middle of a line".into())
        });
    }
    line.pop();
    Ok(Some(line))
}

/// A reply: `FAIL`, or a record of `NAME=value` pairs.
#[derive(Clone, PartialEq, Eq)]
pub enum Reply {
    /// `FAIL`: unknown user or wrong credentials.
    Fail,
    /// The account record, in the order received.
    Record(Vec<(String, String)>),
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Fail => f.write_str("FAIL"),
            Reply::Record(fields) => f
                .debug_list()
                .entries(
                    fields
                        .iter()
                        .filter(|(n, _)| !n.starts_with("PASSWD"))
                        .map(|(n, v)| format!("{n}={v}")),
                )
                .finish(),
        }
    }
}

/// Reads a reply. End of input before a complete reply is an error (the
/// caller reports it as a temporary failure, as Courier's client does).
pub fn read_reply(r: &mut impl BufRead) -> Result<Reply, WireError> {
    let mut fields = Vec::new();
    loop {
        let Some(line) = read_line(r)? else {
            return Err(WireError::Io("connection closed before the reply".into()));
        };
        let line = String::from_utf8(line)
            .map_err(|_| WireError::Protocol("reply is not UTF-8".into()))?;
        if fields.is_empty() && line.starts_with("FAIL") {
            return Ok(Reply::Fail);
        }
        if line == "." {
            return Ok(Reply::Record(fields));
        }
        let Some((name, value)) = line.split_once('=') else {
            return Err(WireError::Protocol(format!(
                "unexpected reply line {:?}",
                truncate(&line)
            )));
        };
        if fields.len() >= MAX_LINES {
            return Err(WireError::Protocol("reply record too long".into()));
        }
        fields.push((name.to_owned(), value.to_owned()));
    }
}

/// Reads the answer to `PASSWD`: `true` for `OK`, `false` for `FAIL`.
pub fn read_passwd_reply(r: &mut impl BufRead) -> Result<bool, WireError> {
    match read_line(r)?.as_deref() {
        None => Err(WireError::Io("connection closed before the reply".into())),
        Some(b"OK") => Ok(true),
        Some(line) if line.starts_with(b"FAIL") => Ok(false),
        Some(line) => Err(WireError::Protocol(format!(
            "unexpected PASSWD reply {:?}",
            truncate(&String::from_utf8_lossy(line))
        ))),
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// Why a record does not make an account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// A mandatory field is missing.
    #[error("reply lacks {0}")]
    Missing(&'static str),
    /// A number does not parse.
    #[error("reply field {0} is not a number")]
    BadNumber(&'static str),
    /// `USERNAME=` names no user in the passwd file.
    #[error("USERNAME={0} is not a system user")]
    UnknownUser(String),
    /// The passwd file could not be read.
    #[error("{0}")]
    Passwd(String),
}

/// Turns a reply record into an [`Entry`]. `login` is the name the
/// client used, the account's login when the record has no `ADDRESS`
/// (Courier rejects that; we are lenient only with authpipe programs,
/// which often omit it). `USERNAME=` is resolved through `passwd_file`.
pub fn record_to_entry(
    fields: &[(String, String)],
    login: &str,
    passwd_file: &std::path::Path,
) -> Result<Entry, RecordError> {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let number = |name: &'static str| -> Result<Option<u32>, RecordError> {
        get(name)
            .map(|v| v.trim().parse().map_err(|_| RecordError::BadNumber(name)))
            .transpose()
    };
    let (mut uid, mut gid) = (number("UID")?, number("GID")?);
    if let Some(user) = get("USERNAME").filter(|u| !u.is_empty()) {
        let pw = passwd::getpwnam(passwd_file, user)
            .map_err(RecordError::Passwd)?
            .ok_or_else(|| RecordError::UnknownUser(user.to_owned()))?;
        uid = Some(pw.uid);
        gid = gid.or(Some(pw.gid));
    }
    let uid = uid.ok_or(RecordError::Missing("UID or USERNAME"))?;
    let gid = gid.ok_or(RecordError::Missing("GID"))?;
    let home = get("HOME")
        .filter(|h| !h.is_empty())
        .ok_or(RecordError::Missing("HOME"))?;
    let nonempty = |name: &str| get(name).filter(|v| !v.is_empty()).map(str::to_owned);
    let account = Account {
        login: nonempty("ADDRESS").unwrap_or_else(|| login.to_owned()),
        uid,
        gid,
        home: PathBuf::from(home),
        maildir: nonempty("MAILDIR").map(PathBuf::from),
        quota: nonempty("QUOTA"),
        full_name: nonempty("NAME"),
        options: Options::new(get("OPTIONS").unwrap_or("")),
    };
    let mut entry = Entry::new(account);
    entry.password = nonempty("PASSWD");
    entry.clear_password = nonempty("PASSWD2");
    Ok(entry)
}

/// Encodes a successful reply for `entry` (server side). Secrets are
/// included only with `with_secrets` (Courier sends them to its trusted
/// local clients; our helper never does).
pub fn encode_entry(entry: &Entry, with_secrets: bool) -> Vec<u8> {
    let a = &entry.account;
    let mut out = String::new();
    let mut put = |name: &str, value: &str| {
        // Values never carry a newline on the wire.
        let value: String = value.chars().filter(|c| *c != '\n').collect();
        out.push_str(name);
        out.push('=');
        out.push_str(&value);
        out.push('\n');
    };
    put("UID", &a.uid.to_string());
    put("GID", &a.gid.to_string());
    put("HOME", &a.home.to_string_lossy());
    put("ADDRESS", &a.login);
    if let Some(n) = &a.full_name {
        put("NAME", n);
    }
    if let Some(m) = &a.maildir {
        put("MAILDIR", &m.to_string_lossy());
    }
    if let Some(q) = &a.quota {
        put("QUOTA", q);
    }
    if with_secrets {
        if let Some(p) = &entry.password {
            put("PASSWD", p);
        }
        if let Some(p) = &entry.clear_password {
            put("PASSWD2", p);
        }
    }
    if !a.options.is_empty() {
        put("OPTIONS", a.options.as_str());
    }
    out.push_str(".\n");
    out.into_bytes()
}

/// Reads one request (server side): optional metadata lines, then `PRE`,
/// `AUTH` or `PASSWD`. `Ok(None)` at a clean end of input. Unknown commands are
/// [`WireError::Protocol`].
pub fn read_request(r: &mut impl BufRead) -> Result<Option<Request>, WireError> {
    for _ in 0..=MAX_LINES {
        let Some(line) = read_line(r)? else {
            return Ok(None);
        };
        let line = String::from_utf8(line)
            .map_err(|_| WireError::Protocol("request is not UTF-8".into()))?;
        let Some((cmd, rest)) = line.split_once(' ') else {
            if line.contains('=') {
                continue; // metadata such as TCPREMOTEIP=…
            }
            return Err(WireError::Protocol("unknown request".into()));
        };
        return match cmd {
            "PRE" => {
                let mut parts = rest.split(' ');
                match (parts.next(), parts.next(), parts.next(), parts.next()) {
                    (Some(_), Some(service), Some(login), None) if !login.is_empty() => {
                        Ok(Some(Request::Pre {
                            service: service.to_owned(),
                            login: login.to_owned(),
                        }))
                    }
                    _ => Err(WireError::Protocol("malformed PRE".into())),
                }
            }
            "AUTH" => {
                let len: usize = rest
                    .trim()
                    .parse()
                    .map_err(|_| WireError::Protocol("malformed AUTH length".into()))?;
                if len > MAX_AUTH_LEN {
                    return Err(WireError::Protocol("AUTH payload too long".into()));
                }
                let mut body = vec![0u8; len];
                r.read_exact(&mut body)?;
                parse_auth_body(&body).map(Some)
            }
            "PASSWD" => match rest.split('\t').collect::<Vec<_>>()[..] {
                [service, login, old, new] if !login.is_empty() => Ok(Some(Request::Passwd {
                    service: service.to_owned(),
                    login: login.to_owned(),
                    old: old.as_bytes().to_vec(),
                    new: new.as_bytes().to_vec(),
                })),
                _ => Err(WireError::Protocol("malformed PASSWD".into())),
            },
            _ => Err(WireError::Protocol("unknown request".into())),
        };
    }
    Err(WireError::Protocol("too many metadata lines".into()))
}

fn parse_auth_body(body: &[u8]) -> Result<Request, WireError> {
    let bad = |m: &str| WireError::Protocol(m.to_owned());
    let mut parts = body.splitn(3, |&b| b == b'\n');
    let service = parts.next().ok_or_else(|| bad("AUTH without service"))?;
    let authtype = parts.next().ok_or_else(|| bad("AUTH without type"))?;
    let data = parts.next().unwrap_or_default();
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| bad("AUTH field not UTF-8"));
    let service = text(service)?;
    let authtype = text(authtype)?.to_ascii_lowercase();
    let mut lines = data.split(|&b| b == b'\n');
    let first = lines.next().unwrap_or_default();
    let second = lines.next().unwrap_or_default();
    match authtype.as_str() {
        "login" => Ok(Request::Login {
            service,
            login: text(first)?,
            password: second.to_vec(),
        }),
        t => {
            let hash = t
                .strip_prefix("cram-")
                .and_then(crate::cram::CramHash::from_name)
                .ok_or_else(|| bad("unsupported AUTH type"))?;
            let challenge = B64.decode(first).map_err(|_| bad("bad challenge base64"))?;
            let response = B64.decode(second).map_err(|_| bad("bad response base64"))?;
            let response = text(&response)?;
            let (login, digest) = response
                .rsplit_once(' ')
                .ok_or_else(|| bad("CRAM response needs user SP digest"))?;
            Ok(Request::Cram {
                service,
                cram: CramResponse {
                    hash,
                    challenge,
                    login: login.to_owned(),
                    digest_hex: digest.to_ascii_lowercase(),
                },
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cram::CramHash;
    use std::io::Cursor;

    #[test]
    fn requests_round_trip() {
        let reqs = [
            Request::Pre {
                service: "imap".into(),
                login: "john".into(),
            },
            Request::Login {
                service: "pop3".into(),
                login: "john@x".into(),
                password: b"p a s s".to_vec(),
            },
            Request::Cram {
                service: "imap".into(),
                cram: CramResponse {
                    hash: CramHash::Sha256,
                    challenge: b"<1@h>".to_vec(),
                    login: "j d".into(),
                    digest_hex: "ab".repeat(32),
                },
            },
            Request::Passwd {
                service: "webmail".into(),
                login: "j d".into(),
                old: b"o l d".to_vec(),
                new: b"n=e|w".to_vec(),
            },
        ];
        for r in reqs {
            let mut bytes = b"TCPREMOTEIP=1.2.3.4\n".to_vec();
            bytes.extend(r.encode().unwrap());
            let got = read_request(&mut Cursor::new(bytes)).unwrap().unwrap();
            assert_eq!(got, r);
        }
        let login = Request::Login {
            service: "imap".into(),
            login: "a".into(),
            password: b"pw".to_vec(),
        };
        assert_eq!(login.encode().unwrap(), b"AUTH 16\nimap\nlogin\na\npw\n");
        let bad = Request::Login {
            service: "imap".into(),
            login: "a".into(),
            password: b"p\nw".to_vec(),
        };
        assert!(bad.encode().is_err());
        let passwd = |old: &[u8]| Request::Passwd {
            service: "imap".into(),
            login: "a".into(),
            old: old.to_vec(),
            new: b"new".to_vec(),
        };
        assert_eq!(passwd(b"o").encode().unwrap(), b"PASSWD imap\ta\to\tnew\n");
        assert!(passwd(b"o\tx").encode().is_err());
        assert!(passwd(b"o\nx").encode().is_err());
        let reply = |b: &[u8]| read_passwd_reply(&mut Cursor::new(b.to_vec()));
        assert_eq!(reply(b"OK\n"), Ok(true));
        assert_eq!(reply(b"FAIL\n"), Ok(false));
        assert!(reply(b"UID=1\n").is_err());
        assert!(reply(b"").is_err());
        assert!(read_request(&mut Cursor::new(b"PASSWD imap\ta\tb\n".to_vec())).is_err());
    }

    #[test]
    fn replies() {
        let text = b"UID=10\nGID=20\nHOME=/h\nADDRESS=j@x\nNAME=J\nMAILDIR=/m\nQUOTA=5S\nPASSWD={MD5RAW}x\nPASSWD2=clear\nOPTIONS=disableimap=1\n.\n";
        let Reply::Record(f) = read_reply(&mut Cursor::new(&text[..])).unwrap() else {
            panic!("record expected")
        };
        let e = record_to_entry(&f, "j", std::path::Path::new("/nonexistent")).unwrap();
        assert_eq!(e.account.login, "j@x");
        assert_eq!((e.account.uid, e.account.gid), (10, 20));
        assert_eq!(e.clear_password.as_deref(), Some("clear"));
        assert!(e.account.options.disable_imap());
        let back = encode_entry(&e, true);
        assert_eq!(back, text.to_vec());
        assert_eq!(
            read_reply(&mut Cursor::new(b"FAIL\n")).unwrap(),
            Reply::Fail
        );
        assert!(read_reply(&mut Cursor::new(b"UID=1\n")).is_err());
        assert!(read_reply(&mut Cursor::new(b"")).is_err());
        assert!(read_reply(&mut Cursor::new(b"garbage\n")).is_err());
        let long = vec![b'a'; MAX_LINE + 10];
        assert!(read_reply(&mut Cursor::new(long)).is_err());
        assert_eq!(
            record_to_entry(&[("UID".into(), "1".into())], "x", "/x".as_ref()),
            Err(RecordError::Missing("GID"))
        );
    }

    #[test]
    fn garbage_requests_do_not_panic() {
        for input in [
            &b"AUTH 99999999\n"[..],
            b"AUTH x\n",
            b"AUTH 5\nimap",
            b"AUTH 12\nimap\ncram-md5\n",
            b"PRE .\n",
            b"HELLO\n",
            b"AUTH 10\nimap\nfoo\nx\n",
        ] {
            assert!(read_request(&mut Cursor::new(input)).is_err(), "{input:?}");
        }
        assert_eq!(read_request(&mut Cursor::new(b"")).unwrap(), None);
    }
}
