//! The authentication process's protocol, sans I/O: frames in, frames
//! out, no sockets here (so it can be fuzzed and tested on its own).
//!
//! Every frame is `u32 length` (big-endian, of what follows), then
//! `u8 version` ([`VERSION`]), `u8 kind`, `u32 id` and the kind's fields.
//! The id pairs an answer with its request (the front end has many
//! logins in flight on one channel). Fields: integers big-endian; byte
//! strings and texts as `u32 length` + bytes (texts must be UTF-8);
//! optional fields as a `0`/`1` byte and the value; addresses as `4` or
//! `6` and the octets. Nothing may follow
//! the last field. A frame longer than [`MAX_FRAME`], of another
//! version, of an unknown kind or with a short or long body is an error,
//! never a panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use courser_auth::backend::CramResponse;
use courser_auth::sasl::{Credentials, Mechanism};
use courser_auth::scram::ScramHash;
use courser_auth::{Account, CramHash, Options};

use crate::service::Service;

/// The protocol version this build speaks.
pub const VERSION: u8 = 4;
/// Largest frame accepted (after the length prefix): a configuration
/// fits, a login's credentials are far smaller.
pub const MAX_FRAME: usize = 1 << 20;

/// What the front end (or the spawner) asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// The configuration (TOML) to serve. Accepted once, as the first
    /// frame, which `courser serve` sends before it reads any client
    /// byte; later copies are refused.
    Configure(String),
    /// Re-read the configuration file the process was started with.
    Reload,
    /// Read the configuration file the process was started with and
    /// answer its effective settings without the account sources' (a
    /// reload: the file may be readable only by root, and the front end
    /// runs as `run_as`). Nothing changes here until `Reload`.
    ReadConfig,
    /// The SASL mechanisms the backends serve now (they change with the
    /// secrets a userdb holds). Answered at once, never queued behind
    /// password checks.
    Mechanisms,
    /// Check credentials; `ticket`: also issue a ticket for the spawner.
    Verify {
        /// The protocol the client logs in to.
        service: Service,
        /// The client's address, for the failure counts.
        peer: IpAddr,
        /// What the client presented.
        credentials: Credentials,
        /// Per-user model: the session moves to a worker.
        ticket: bool,
    },
    /// SCRAM: the client's next message in an exchange this process
    /// runs (the keys never leave it). Answered with a challenge for the
    /// client, the end of the exchange (then `Verify` with
    /// [`Credentials::Scram`] asks the verdict), or a refusal.
    ScramStep {
        /// The protocol.
        service: Service,
        /// The client's address, for the failure counts.
        peer: IpAddr,
        /// The mechanism's hash.
        hash: ScramHash,
        /// `None` with the client-first message; then the number the
        /// first answer gave.
        exchange: Option<u64>,
        /// The client's message.
        data: Vec<u8>,
    },
    /// Spawner only: the account a ticket stands for (once).
    Redeem(String),
}

/// What the authentication process answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// Configured, reloaded, or asked: the SASL mechanisms the backends
    /// serve.
    Ready(Vec<Mechanism>),
    /// The credentials are right.
    Account {
        /// The account (no secrets).
        account: Account,
        /// Per-user model: the ticket the spawner redeems.
        ticket: Option<String>,
    },
    /// Refused. `temporary`: a backend could not answer; `reason` is for
    /// the log.
    Failed {
        /// A backend was unavailable.
        temporary: bool,
        /// Why, for the log.
        reason: String,
        /// How long the front end waits before answering (an unknown
        /// login takes as long as a known one), in milliseconds: the wait
        /// is asleep there, never a thread parked here.
        wait_ms: u32,
    },
    /// SCRAM: send `data` to the client and its answer with `exchange`.
    Challenge {
        /// The exchange's number.
        exchange: u64,
        /// The server's message (salt, iteration count and nonce; or the
        /// server's signature).
        data: Vec<u8>,
        /// As in `Failed`: the wait that hides an unknown login.
        wait_ms: u32,
    },
    /// SCRAM: the exchange is over; `Verify` with [`Credentials::Scram`]
    /// gets the verdict (once).
    ExchangeDone(u64),
    /// A redeemed ticket: what the worker becomes and serves.
    Ids(WorkerAccount),
    /// The effective configuration (TOML), `[[auth.backend]]` left out.
    Config(String),
}

/// What the spawner learns from a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerAccount {
    /// The account's uid.
    pub uid: u32,
    /// Its primary gid.
    pub gid: u32,
    /// The canonical login.
    pub login: String,
    /// The home directory.
    pub home: PathBuf,
    /// The maildir (absolute).
    pub maildir: PathBuf,
    /// The account's authlib options (ACL groups, `disableshared`).
    pub options: String,
}

/// Why a frame does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Longer than [`MAX_FRAME`].
    #[error("frame of {0} octets is too long")]
    TooLong(usize),
    /// Another protocol version.
    #[error("protocol version {0}, this build speaks {VERSION}")]
    Version(u8),
    /// An unknown kind or field value, a short body or trailing octets.
    #[error("malformed frame: {0}")]
    Malformed(&'static str),
}

/// Splits the first complete frame off `buf`: `Ok(Some((frame, used)))`
/// where `frame` is what follows the length prefix and `used` counts the
/// prefix too; `Ok(None)` when more octets are needed.
pub fn split_frame(buf: &[u8]) -> Result<Option<(&[u8], usize)>, WireError> {
    let Some(prefix) = buf.get(..4) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
    if len > MAX_FRAME {
        return Err(WireError::TooLong(len));
    }
    Ok(buf.get(4..4 + len).map(|frame| (frame, 4 + len)))
}

// Kinds. Requests below 64, answers from 64.
const CONFIGURE: u8 = 1;
const RELOAD: u8 = 2;
const VERIFY: u8 = 3;
const SCRAM_STEP: u8 = 4;
const REDEEM: u8 = 5;
const MECHANISMS: u8 = 6;
const READ_CONFIG: u8 = 7;
const READY: u8 = 64;
const ACCOUNT: u8 = 65;
const FAILED: u8 = 66;
const CHALLENGE: u8 = 67;
const IDS: u8 = 68;
const EXCHANGE_DONE: u8 = 69;
const CONFIG: u8 = 70;

// Credential kinds.
const PASSWORD: u8 = 1;
const CRAM: u8 = 2;
const SCRAM: u8 = 3;
const EXTERNAL: u8 = 4;

/// Encodes a request as one frame, length prefix included.
pub fn encode_request(id: u32, request: &Request) -> Vec<u8> {
    let mut w = Writer::new();
    match request {
        Request::Configure(text) => {
            w.kind(CONFIGURE, id).text(text);
        }
        Request::Reload => {
            w.kind(RELOAD, id);
        }
        Request::ReadConfig => {
            w.kind(READ_CONFIG, id);
        }
        Request::Mechanisms => {
            w.kind(MECHANISMS, id);
        }
        Request::Verify {
            service,
            peer,
            credentials,
            ticket,
        } => {
            w.kind(VERIFY, id)
                .service(*service)
                .ip(*peer)
                .flag(*ticket)
                .credentials(credentials);
        }
        Request::ScramStep {
            service,
            peer,
            hash,
            exchange,
            data,
        } => {
            w.kind(SCRAM_STEP, id)
                .service(*service)
                .ip(*peer)
                .scram_hash(*hash)
                .option(exchange.as_ref(), |w, e| w.u64(*e))
                .bytes(data);
        }
        Request::Redeem(ticket) => {
            w.kind(REDEEM, id).text(ticket);
        }
    }
    w.finish()
}

/// Decodes a request frame (without its length prefix) and its id.
pub fn decode_request(frame: &[u8]) -> Result<(u32, Request), WireError> {
    let (mut r, kind, id) = Reader::open(frame)?;
    let request = match kind {
        CONFIGURE => Request::Configure(r.text()?),
        RELOAD => Request::Reload,
        READ_CONFIG => Request::ReadConfig,
        MECHANISMS => Request::Mechanisms,
        VERIFY => Request::Verify {
            service: r.service()?,
            peer: r.ip()?,
            ticket: r.flag()?,
            credentials: r.credentials()?,
        },
        SCRAM_STEP => Request::ScramStep {
            service: r.service()?,
            peer: r.ip()?,
            hash: r.scram_hash()?,
            exchange: r.option(Reader::u64)?,
            data: r.bytes()?.to_vec(),
        },
        REDEEM => Request::Redeem(r.text()?),
        _ => return Err(WireError::Malformed("unknown request kind")),
    };
    r.end()?;
    Ok((id, request))
}

/// Encodes an answer as one frame, length prefix included.
pub fn encode_response(id: u32, response: &Response) -> Vec<u8> {
    let mut w = Writer::new();
    match response {
        Response::Ready(mechanisms) => {
            w.kind(READY, id).u32(mechanisms.len() as u32);
            for m in mechanisms {
                w.mechanism(*m);
            }
        }
        Response::Account { account, ticket } => {
            w.kind(ACCOUNT, id)
                .text(&account.login)
                .u32(account.uid)
                .u32(account.gid)
                .path(&account.home)
                .option(account.maildir.as_ref(), |w, p| w.path(p))
                .option(account.quota.as_ref(), |w, q| w.text(q))
                .option(account.full_name.as_ref(), |w, n| w.text(n))
                .text(account.options.as_str())
                .option(ticket.as_ref(), |w, t| w.text(t));
        }
        Response::Failed {
            temporary,
            reason,
            wait_ms,
        } => {
            w.kind(FAILED, id)
                .flag(*temporary)
                .text(reason)
                .u32(*wait_ms);
        }
        Response::Challenge {
            exchange,
            data,
            wait_ms,
        } => {
            w.kind(CHALLENGE, id)
                .u64(*exchange)
                .bytes(data)
                .u32(*wait_ms);
        }
        Response::ExchangeDone(exchange) => {
            w.kind(EXCHANGE_DONE, id).u64(*exchange);
        }
        Response::Config(text) => {
            w.kind(CONFIG, id).text(text);
        }
        Response::Ids(a) => {
            w.kind(IDS, id)
                .u32(a.uid)
                .u32(a.gid)
                .text(&a.login)
                .path(&a.home)
                .path(&a.maildir)
                .text(&a.options);
        }
    };
    w.finish()
}

/// Decodes an answer frame (without its length prefix) and its id.
pub fn decode_response(frame: &[u8]) -> Result<(u32, Response), WireError> {
    let (mut r, kind, id) = Reader::open(frame)?;
    let response = match kind {
        READY => {
            let n = r.u32()?;
            let mut list = Vec::new();
            for _ in 0..n {
                list.push(r.mechanism()?);
            }
            Response::Ready(list)
        }
        ACCOUNT => Response::Account {
            account: Account {
                login: r.text()?,
                uid: r.u32()?,
                gid: r.u32()?,
                home: r.path()?,
                maildir: r.option(Reader::path)?,
                quota: r.option(Reader::text)?,
                full_name: r.option(Reader::text)?,
                options: Options::new(r.text()?),
            },
            ticket: r.option(Reader::text)?,
        },
        FAILED => Response::Failed {
            temporary: r.flag()?,
            reason: r.text()?,
            wait_ms: r.u32()?,
        },
        CHALLENGE => Response::Challenge {
            exchange: r.u64()?,
            data: r.bytes()?.to_vec(),
            wait_ms: r.u32()?,
        },
        EXCHANGE_DONE => Response::ExchangeDone(r.u64()?),
        CONFIG => Response::Config(r.text()?),
        IDS => Response::Ids(WorkerAccount {
            uid: r.u32()?,
            gid: r.u32()?,
            login: r.text()?,
            home: r.path()?,
            maildir: r.path()?,
            options: r.text()?,
        }),
        _ => return Err(WireError::Malformed("unknown answer kind")),
    };
    r.end()?;
    Ok((id, response))
}

struct Writer(Vec<u8>);

impl Writer {
    fn new() -> Self {
        Writer(vec![0; 4])
    }

    fn kind(&mut self, kind: u8, id: u32) -> &mut Self {
        self.0.push(VERSION);
        self.0.push(kind);
        self.u32(id)
    }

    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    fn byte(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }

    fn ip(&mut self, v: IpAddr) -> &mut Self {
        match v {
            IpAddr::V4(a) => self.byte(4).raw(&a.octets()),
            IpAddr::V6(a) => self.byte(6).raw(&a.octets()),
        }
    }

    fn raw(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }

    fn flag(&mut self, v: bool) -> &mut Self {
        self.byte(u8::from(v))
    }

    fn bytes(&mut self, v: &[u8]) -> &mut Self {
        // Longer fields cannot occur: frames are far below 4 GiB.
        self.u32(v.len() as u32);
        self.0.extend_from_slice(v);
        self
    }

    fn text(&mut self, v: &str) -> &mut Self {
        self.bytes(v.as_bytes())
    }

    fn path(&mut self, v: &std::path::Path) -> &mut Self {
        use std::os::unix::ffi::OsStrExt;
        self.bytes(v.as_os_str().as_bytes())
    }

    fn option<T>(&mut self, v: Option<T>, f: impl FnOnce(&mut Self, T) -> &mut Self) -> &mut Self {
        match v {
            None => self.byte(0),
            Some(v) => f(self.byte(1), v),
        }
    }

    fn service(&mut self, s: Service) -> &mut Self {
        self.byte(match s {
            Service::Imap => 1,
            Service::Pop3 => 2,
        })
    }

    fn scram_hash(&mut self, h: ScramHash) -> &mut Self {
        self.byte(match h {
            ScramHash::Sha1 => 1,
            ScramHash::Sha256 => 2,
        })
    }

    fn mechanism(&mut self, m: Mechanism) -> &mut Self {
        let index = Mechanism::ALL.iter().position(|x| *x == m).unwrap_or(0);
        self.byte(index as u8 + 1)
    }

    fn credentials(&mut self, c: &Credentials) -> &mut Self {
        match c {
            Credentials::Password {
                authzid,
                login,
                password,
            } => self
                .byte(PASSWORD)
                .option(authzid.as_ref(), |w, a| w.text(a))
                .text(login)
                .bytes(password),
            Credentials::Cram(cram) => {
                let hash = CramHash::ALL.iter().position(|h| *h == cram.hash);
                self.byte(CRAM)
                    .byte(hash.unwrap_or(0) as u8)
                    .bytes(&cram.challenge)
                    .text(&cram.login)
                    .text(&cram.digest_hex)
            }
            Credentials::Scram { login, exchange } => self.byte(SCRAM).text(login).u64(*exchange),
            Credentials::External { login } => self.byte(EXTERNAL).text(login),
        }
    }

    fn finish(mut self) -> Vec<u8> {
        let len = (self.0.len() - 4) as u32;
        self.0[..4].copy_from_slice(&len.to_be_bytes());
        self.0
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// Checks the header; returns the reader over the fields, the kind
    /// and the id.
    fn open(frame: &'a [u8]) -> Result<(Reader<'a>, u8, u32), WireError> {
        if frame.len() > MAX_FRAME {
            return Err(WireError::TooLong(frame.len()));
        }
        let mut r = Reader(frame);
        let version = r.byte()?;
        if version != VERSION {
            return Err(WireError::Version(version));
        }
        let kind = r.byte()?;
        let id = r.u32()?;
        Ok((r, kind, id))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.0.len() < n {
            return Err(WireError::Malformed("frame ends early"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, WireError> {
        let b = self.take(8)?;
        let mut octets = [0u8; 8];
        octets.copy_from_slice(b);
        Ok(u64::from_be_bytes(octets))
    }

    fn ip(&mut self) -> Result<IpAddr, WireError> {
        Ok(match self.byte()? {
            4 => {
                let b = self.take(4)?;
                IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
            }
            6 => {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(self.take(16)?);
                IpAddr::V6(Ipv6Addr::from(octets))
            }
            _ => return Err(WireError::Malformed("unknown address family")),
        })
    }

    fn flag(&mut self) -> Result<bool, WireError> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(WireError::Malformed("flag is neither 0 nor 1")),
        }
    }

    fn bytes(&mut self) -> Result<&'a [u8], WireError> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn text(&mut self) -> Result<String, WireError> {
        std::str::from_utf8(self.bytes()?)
            .map(str::to_owned)
            .map_err(|_| WireError::Malformed("text is not UTF-8"))
    }

    fn path(&mut self) -> Result<PathBuf, WireError> {
        use std::os::unix::ffi::OsStrExt;
        Ok(PathBuf::from(std::ffi::OsStr::from_bytes(self.bytes()?)))
    }

    fn option<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, WireError>,
    ) -> Result<Option<T>, WireError> {
        match self.flag()? {
            false => Ok(None),
            true => f(self).map(Some),
        }
    }

    fn service(&mut self) -> Result<Service, WireError> {
        match self.byte()? {
            1 => Ok(Service::Imap),
            2 => Ok(Service::Pop3),
            _ => Err(WireError::Malformed("unknown service")),
        }
    }

    fn scram_hash(&mut self) -> Result<ScramHash, WireError> {
        match self.byte()? {
            1 => Ok(ScramHash::Sha1),
            2 => Ok(ScramHash::Sha256),
            _ => Err(WireError::Malformed("unknown SCRAM hash")),
        }
    }

    fn mechanism(&mut self) -> Result<Mechanism, WireError> {
        let n = self.byte()?;
        n.checked_sub(1)
            .and_then(|i| Mechanism::ALL.get(usize::from(i)).copied())
            .ok_or(WireError::Malformed("unknown mechanism"))
    }

    fn credentials(&mut self) -> Result<Credentials, WireError> {
        Ok(match self.byte()? {
            PASSWORD => Credentials::Password {
                authzid: self.option(Reader::text)?,
                login: self.text()?,
                password: self.bytes()?.to_vec(),
            },
            CRAM => Credentials::Cram(CramResponse {
                hash: *CramHash::ALL
                    .get(usize::from(self.byte()?))
                    .ok_or(WireError::Malformed("unknown CRAM hash"))?,
                challenge: self.bytes()?.to_vec(),
                login: self.text()?,
                digest_hex: self.text()?,
            }),
            SCRAM => Credentials::Scram {
                login: self.text()?,
                exchange: self.u64()?,
            },
            EXTERNAL => Credentials::External {
                login: self.text()?,
            },
            _ => return Err(WireError::Malformed("unknown credentials kind")),
        })
    }

    fn end(&self) -> Result<(), WireError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(WireError::Malformed("octets after the last field"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Account {
        Account {
            login: "ann@example.com".into(),
            uid: 5000,
            gid: 5000,
            home: "/home/ann".into(),
            maildir: Some("Maildir".into()),
            quota: Some("1000S".into()),
            full_name: None,
            options: Options::new("disablepop3=1"),
        }
    }

    fn requests() -> Vec<Request> {
        let verify = |credentials| Request::Verify {
            service: Service::Pop3,
            peer: "2001:db8::7".parse().unwrap(),
            credentials,
            ticket: true,
        };
        vec![
            Request::Configure("[auth]\nuserdb = \"/etc/userdb\"\n".into()),
            Request::Reload,
            Request::ReadConfig,
            Request::Mechanisms,
            verify(Credentials::Password {
                authzid: Some("ann".into()),
                login: "ann".into(),
                password: b"p\xffw".to_vec(),
            }),
            verify(Credentials::Cram(CramResponse {
                hash: CramHash::Sha1,
                challenge: b"<1.2@h>".to_vec(),
                login: "ann".into(),
                digest_hex: "00ff".into(),
            })),
            verify(Credentials::Scram {
                login: "ann".into(),
                exchange: u64::MAX - 1,
            }),
            verify(Credentials::External {
                login: "ann".into(),
            }),
            Request::ScramStep {
                service: Service::Imap,
                peer: "192.0.2.1".parse().unwrap(),
                hash: ScramHash::Sha256,
                exchange: None,
                data: b"n,,n=ann,r=abc".to_vec(),
            },
            Request::ScramStep {
                service: Service::Pop3,
                peer: "::ffff:192.0.2.1".parse().unwrap(),
                hash: ScramHash::Sha1,
                exchange: Some(1),
                data: Vec::new(),
            },
            Request::Redeem("ab".repeat(32)),
        ]
    }

    fn responses() -> Vec<Response> {
        vec![
            Response::Ready(Mechanism::ALL.to_vec()),
            Response::Account {
                account: account(),
                ticket: Some("t".into()),
            },
            Response::Account {
                account: Account {
                    maildir: None,
                    quota: None,
                    ..account()
                },
                ticket: None,
            },
            Response::Failed {
                temporary: true,
                reason: "database down".into(),
                wait_ms: 0,
            },
            Response::Failed {
                temporary: false,
                reason: "no such login".into(),
                wait_ms: 180,
            },
            Response::Challenge {
                exchange: 1,
                data: b"r=abcdef,s=c2FsdA==,i=4096".to_vec(),
                wait_ms: 90,
            },
            Response::ExchangeDone(u64::MAX),
            Response::Config("[limits]\nmax_connections = 5\n".into()),
            Response::Ids(WorkerAccount {
                uid: 1000,
                gid: 100,
                login: "ann".into(),
                home: "/home/ann".into(),
                maildir: "/home/ann/Maildir".into(),
                options: "group=staff".into(),
            }),
        ]
    }

    #[test]
    fn every_message_round_trips_through_the_framer() {
        for (n, r) in requests().into_iter().enumerate() {
            let frame = encode_request(n as u32, &r);
            let (body, used) = split_frame(&frame).unwrap().unwrap();
            assert_eq!(used, frame.len());
            assert_eq!(decode_request(body), Ok((n as u32, r)));
            assert_eq!(split_frame(&frame[..frame.len() - 1]), Ok(None));
        }
        for (n, r) in responses().into_iter().enumerate() {
            let frame = encode_response(n as u32, &r);
            let (body, _) = split_frame(&frame).unwrap().unwrap();
            assert_eq!(decode_response(body), Ok((n as u32, r)));
        }
    }

    #[test]
    fn bad_frames_are_errors() {
        assert_eq!(
            split_frame(&u32::MAX.to_be_bytes()),
            Err(WireError::TooLong(u32::MAX as usize))
        );
        let frame = encode_request(7, &Request::Reload);
        let body = &frame[4..];
        let mut other = body.to_vec();
        other[0] = VERSION + 1;
        assert_eq!(decode_request(&other), Err(WireError::Version(VERSION + 1)));
        let mut long = body.to_vec();
        long.push(0);
        assert!(decode_request(&long).is_err());
        assert!(decode_request(&body[..3]).is_err());
        // A request is not an answer, and the reverse.
        assert!(decode_response(body).is_err());
        let ready = encode_response(1, &Response::Ready(vec![]));
        assert!(decode_request(&ready[4..]).is_err());
        // Every truncation of every message fails cleanly.
        for r in requests() {
            let f = encode_request(1, &r);
            for cut in 0..f.len() - 4 {
                assert!(decode_request(&f[4..4 + cut]).is_err());
            }
        }
        for r in responses() {
            let f = encode_response(1, &r);
            for cut in 0..f.len() - 4 {
                assert!(decode_response(&f[4..4 + cut]).is_err());
            }
        }
    }
}
