//! Courier's own log lines (`[log] format = "courier"`): the login,
//! logout and connection lines Courier-IMAP's programs write, word for
//! word, sent to syslog under Courier's program names, so the tools
//! that parse them (fail2ban's `courier-auth` filter, logwatch-style
//! scripts) work unchanged. They come beside Courser's own log, which
//! stays as it is.
//!
//! [`line()`] words an [`Event`] (sans-IO); `emit` sends it through
//! [`syslog`] when the format is on.

pub mod syslog;

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::config::{LogConfig, LogFormat};
use crate::service::Service;
use crate::stream::Conn;

/// The program name a line is logged under: Courier's logger names
/// each listener's lines after its start-up script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    /// IMAP with STARTTLS.
    Imapd,
    /// IMAP inside TLS from the first byte.
    ImapdSsl,
    /// POP3 with STLS.
    Pop3d,
    /// POP3 inside TLS from the first byte.
    Pop3dSsl,
}

impl Program {
    /// The program serving `service` on a listener with (`implicit_tls`)
    /// or without TLS from the first byte.
    pub fn of(service: Service, implicit_tls: bool) -> Program {
        match (service, implicit_tls) {
            (Service::Imap, false) => Program::Imapd,
            (Service::Imap, true) => Program::ImapdSsl,
            (Service::Pop3, false) => Program::Pop3d,
            (Service::Pop3, true) => Program::Pop3dSsl,
        }
    }

    /// The name in the syslog line.
    pub fn name(self) -> &'static str {
        match self {
            Program::Imapd => "imapd",
            Program::ImapdSsl => "imapd-ssl",
            Program::Pop3d => "pop3d",
            Program::Pop3dSsl => "pop3d-ssl",
        }
    }
}

/// A line's syslog severity, as Courier's logger maps its prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// `ALERT:` lines (the connection limits).
    Alert,
    /// `INFO:` lines (logins and logouts).
    Info,
    /// `DEBUG:` lines (each connection).
    Debug,
}

impl Severity {
    /// The syslog severity number (RFC 5424 §6.2.1).
    pub fn code(self) -> u8 {
        match self {
            Severity::Alert => 1,
            Severity::Info => 6,
            Severity::Debug => 7,
        }
    }
}

/// The client end of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    /// Its address.
    pub ip: IpAddr,
    /// Its port.
    pub port: u16,
}

/// How a logged-in session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The client logged out (IMAP LOGOUT, POP3 QUIT).
    Logout,
    /// The client stayed silent past the autologout time.
    Timeout,
    /// The connection ended otherwise (dropped, failed, shut down).
    Disconnected,
}

/// A logged-in session's counters for its last line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counters {
    /// IMAP: message header and body bytes FETCH sent.
    Imap {
        /// `headers=`.
        headers: u64,
        /// `body=`.
        body: u64,
    },
    /// POP3: message bytes TOP and RETR sent.
    Pop3 {
        /// `top=`.
        top: u64,
        /// `retr=`.
        retr: u64,
    },
}

/// What a line reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A connection was accepted.
    Connection(Client),
    /// A login was refused for wrong credentials; `user` is what the
    /// client sent.
    LoginFailed {
        /// The login name tried.
        user: &'a str,
        /// Who tried.
        client: Client,
    },
    /// A session logged in.
    Login {
        /// The account.
        user: &'a str,
        /// Who.
        client: Client,
        /// The protocol: POP3's line does not name it, IMAP's does
        /// (`protocol=IMAP`, or `SMAP1` for an SMAP login).
        service: Service,
        /// The name an IMAP listener's line gives (`IMAP`, `SMAP1`).
        protocol: &'a str,
        /// The connection is inside TLS (implicit or started in-band).
        tls: bool,
    },
    /// A logged-in session ended.
    Ended {
        /// How.
        how: Ending,
        /// The account.
        user: &'a str,
        /// Who.
        client: Client,
        /// What was sent of messages.
        counters: Counters,
        /// Bytes received since the login.
        rcvd: u64,
        /// Bytes sent since the login.
        sent: u64,
        /// Seconds since the connection began.
        time: u64,
        /// The connection is inside TLS.
        tls: bool,
    },
    /// The client logged out before logging in; IMAP's line has the
    /// bytes received and sent (`rcvd_sent`), POP3's does not.
    LogoutBeforeLogin {
        /// Who.
        client: Client,
        /// IMAP: bytes received and sent.
        rcvd_sent: Option<(u64, u64)>,
    },
    /// IMAP: a connection that had not logged in ended otherwise
    /// (dropped, timed out, shut down).
    DisconnectedBeforeLogin {
        /// Who.
        client: Client,
        /// Seconds since the connection began.
        time: u64,
        /// The connection is inside TLS.
        tls: bool,
    },
    /// A connection was refused: its address has the most it may have.
    AddressLimit(IpAddr),
    /// A connection was refused: the server has the most it may have.
    ServerFull(usize),
}

/// The longest login name a line carries (Courier cuts its whole line
/// at 1,023 bytes, which could cut off the address after a long name).
const MAX_USER: usize = 512;

/// A client address as Courier shows it: its listeners are IPv6
/// sockets, so an IPv4 client is `::ffff:a.b.c.d`.
pub fn ip_field(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("::ffff:{v4}"),
        IpAddr::V6(v6) => v6.to_string(),
    }
}

/// A login name as a line carries it: as Courier does, every byte that
/// is not printable ASCII becomes `.`; unlike Courier, so does `,`, which
/// would let a client write a field of its own (`x, ip=[…]`) that
/// fail2ban takes for the address to ban.
pub fn user_field(user: &str) -> String {
    user.bytes()
        .take(MAX_USER)
        .map(|b| match b {
            b',' => '.',
            0x20..=0x7e => char::from(b),
            _ => '.',
        })
        .collect()
}

/// The line for `event` (without the program name) and its severity.
pub fn line(event: &Event<'_>) -> (Severity, String) {
    let mut s = String::new();
    // (Writing to a String cannot fail.)
    let severity = match *event {
        Event::Connection(c) => {
            let _ = write!(s, "Connection, ip=[{}], port=[{}]", ip_field(c.ip), c.port);
            Severity::Debug
        }
        Event::LoginFailed { user, client } => {
            let _ = write!(
                s,
                "LOGIN FAILED, user={}, ip=[{}], port=[{}]",
                user_field(user),
                ip_field(client.ip),
                client.port
            );
            Severity::Info
        }
        Event::Login {
            user,
            client,
            service,
            protocol,
            tls,
        } => {
            let _ = write!(
                s,
                "LOGIN, user={}, ip=[{}], port=[{}]",
                user_field(user),
                ip_field(client.ip),
                client.port
            );
            if service == Service::Imap {
                let _ = write!(s, ", protocol={protocol}");
            }
            if tls {
                s.push_str(tls_suffix(service));
            }
            Severity::Info
        }
        Event::Ended {
            how,
            user,
            client,
            counters,
            rcvd,
            sent,
            time,
            tls,
        } => {
            let how = match how {
                Ending::Logout => "LOGOUT",
                Ending::Timeout => "TIMEOUT",
                Ending::Disconnected => "DISCONNECTED",
            };
            let _ = write!(
                s,
                "{how}, user={}, ip=[{}], port=[{}], ",
                user_field(user),
                ip_field(client.ip),
                client.port
            );
            let service = match counters {
                Counters::Imap { headers, body } => {
                    let _ = write!(s, "headers={headers}, body={body}");
                    Service::Imap
                }
                Counters::Pop3 { top, retr } => {
                    let _ = write!(s, "top={top}, retr={retr}");
                    Service::Pop3
                }
            };
            let _ = write!(s, ", rcvd={rcvd}, sent={sent}, time={time}");
            if tls {
                s.push_str(tls_suffix(service));
            }
            Severity::Info
        }
        Event::LogoutBeforeLogin { client, rcvd_sent } => {
            let _ = write!(
                s,
                "LOGOUT, ip=[{}], port=[{}]",
                ip_field(client.ip),
                client.port
            );
            if let Some((rcvd, sent)) = rcvd_sent {
                let _ = write!(s, ", rcvd={rcvd}, sent={sent}");
            }
            Severity::Info
        }
        Event::DisconnectedBeforeLogin { client, time, tls } => {
            let _ = write!(
                s,
                "Disconnected, ip=[{}], port=[{}], time={time}",
                ip_field(client.ip),
                client.port
            );
            if tls {
                s.push_str(tls_suffix(Service::Imap));
            }
            Severity::Debug
        }
        Event::AddressLimit(ip) => {
            let _ = write!(s, "Maximum connection limit reached for {}", ip_field(ip));
            Severity::Alert
        }
        Event::ServerFull(max) => {
            let _ = write!(s, "{max} maximum active connections.");
            Severity::Alert
        }
    };
    (severity, s)
}

/// What Courier adds to a line of a session inside TLS.
fn tls_suffix(service: Service) -> &'static str {
    match service {
        Service::Imap => ", starttls=1",
        Service::Pop3 => ", stls=1",
    }
}

/// The LOGIN line of a session of `service` on `conn`.
/// `protocol`: what an IMAP listener's line names (`IMAP`, `SMAP1`).
pub(crate) fn logged_in(
    config: &LogConfig,
    conn: &Conn,
    service: Service,
    protocol: &str,
    user: &str,
) {
    let event = Event::Login {
        user,
        client: conn.client(),
        service,
        protocol,
        tls: conn.tls,
    };
    emit(config, conn.program(service), &event);
}

/// The last line of a logged-in session on `conn`: LOGOUT when the
/// client `logged_out`, else TIMEOUT or DISCONNECTED; bytes counted
/// since the login, time since the connection began.
pub(crate) fn ended(
    config: &LogConfig,
    conn: &Conn,
    user: &str,
    counters: Counters,
    logged_out: bool,
) {
    let how = if logged_out {
        Ending::Logout
    } else if conn.timed_out {
        Ending::Timeout
    } else {
        Ending::Disconnected
    };
    let service = match counters {
        Counters::Imap { .. } => Service::Imap,
        Counters::Pop3 { .. } => Service::Pop3,
    };
    let event = Event::Ended {
        how,
        user,
        client: conn.client(),
        counters,
        rcvd: conn.bytes_in.saturating_sub(conn.at_login.0),
        sent: conn.bytes_out.saturating_sub(conn.at_login.1),
        time: conn.started.elapsed().as_secs(),
        tls: conn.tls,
    };
    emit(config, conn.program(service), &event);
}

/// The last line of a connection of `service` that never logged in:
/// Courier's login programs log a LOGOUT (the client's), and IMAP's a
/// debug line for any other end.
pub(crate) fn ended_before_login(
    config: &LogConfig,
    conn: &Conn,
    service: Service,
    logged_out: bool,
) {
    let client = conn.client();
    let event = match (service, logged_out) {
        (Service::Imap, true) => Event::LogoutBeforeLogin {
            client,
            rcvd_sent: Some((conn.bytes_in, conn.bytes_out)),
        },
        (Service::Pop3, true) => Event::LogoutBeforeLogin {
            client,
            rcvd_sent: None,
        },
        (Service::Imap, false) => Event::DisconnectedBeforeLogin {
            client,
            time: conn.started.elapsed().as_secs(),
            tls: conn.tls,
        },
        (Service::Pop3, false) => return,
    };
    emit(config, conn.program(service), &event);
}

/// Sends `event`'s line to syslog as `program`, when `config` asks for
/// Courier's format.
pub(crate) fn emit(config: &LogConfig, program: Program, event: &Event<'_>) {
    if config.format != LogFormat::Courier {
        return;
    }
    let (severity, text) = line(event);
    syslog::send(&config.syslog_socket, program, severity, &text);
}

#[cfg(test)]
mod tests;
