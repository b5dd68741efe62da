//! Sending Courier-format lines to the local syslog socket, the way the
//! C library's `syslog()` does: one datagram per line, `<PRI>TIMESTAMP
//! PROGRAM: TEXT` (RFC 3164 §4.1), facility mail. journald and rsyslog
//! both read `/dev/log`.
//!
//! Not the C library's `syslog()`: its `openlog()` name is one per
//! process, and each line here names its listener's program; nor a
//! syslog crate holding one connected socket per program name: a
//! connected datagram socket stays broken after the syslog daemon
//! restarts, while an unconnected one addresses the socket path anew
//! with every line.
//!
//! When the socket cannot take a line (no syslog daemon, a full queue),
//! the line goes to standard error as `PROGRAM: TEXT`, and the first
//! time this happens Courser says so in its own log.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use super::{Program, Severity};

/// Syslog's mail facility (RFC 5424 §6.2.1), as Courier's logger uses.
const FACILITY_MAIL: u8 = 2;

/// One syslog datagram: `<PRI>Mmm dd hh:mm:ss PROGRAM: TEXT`, `stamp`
/// being the local time in that form.
pub fn datagram(program: Program, severity: Severity, stamp: &str, text: &str) -> Vec<u8> {
    let pri = u16::from(FACILITY_MAIL) * 8 + u16::from(severity.code());
    format!("<{pri}>{stamp} {}: {text}", program.name()).into_bytes()
}

/// The local time as RFC 3164 stamps it (`Dec  4 20:00:00`).
fn stamp() -> String {
    chrono::Local::now().format("%b %e %H:%M:%S").to_string()
}

/// Sends one line to the syslog socket at `path`, or to standard error.
pub(crate) fn send(path: &Path, program: Program, severity: Severity, text: &str) {
    let sent = socket().and_then(|socket| {
        let datagram = datagram(program, severity, &stamp(), text);
        socket.send_to(&datagram, path).ok()
    });
    if sent.is_none() {
        fall_back(path, program, text);
    }
}

/// The process's unbound datagram socket, non-blocking (a syslog daemon
/// that falls behind must not stall sessions); `None` if none could be
/// made.
fn socket() -> Option<&'static UnixDatagram> {
    static SOCKET: OnceLock<Option<UnixDatagram>> = OnceLock::new();
    SOCKET
        .get_or_init(|| {
            let socket = UnixDatagram::unbound().ok()?;
            socket.set_nonblocking(true).ok()?;
            Some(socket)
        })
        .as_ref()
}

/// Writes a line syslog did not take to standard error, saying so the
/// first time.
fn fall_back(path: &Path, program: Program, text: &str) {
    static SAID: AtomicBool = AtomicBool::new(false);
    if !SAID.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "cannot send to the syslog socket {}: Courier-format log lines go to standard error",
            path.display()
        );
    }
    eprintln!("{}: {text}", program.name());
}
