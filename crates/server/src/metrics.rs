//! Prometheus metrics: every name, label and bucket is defined here, and
//! [`serve`] exports them over HTTP on the `[metrics]` loopback address.
//!
//! Recording points call the helpers below, which record through the
//! `metrics` facade's global recorder, never through a handle: with
//! metrics off nothing is installed and recording costs next to nothing,
//! and a process that serves sessions for another (a per-user session
//! process) can install a recorder that forwards to the main process.
//!
//! Labels are small fixed sets — protocol, command name, result, reason —
//! never user names or addresses.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::PrometheusBuilder;

use crate::config::{MetricsConfig, Protocol};
use crate::limits::Refusal;
use crate::refused::Refused;
use crate::service::Service;
use crate::Error;

/// Connections accepted, by listener protocol.
pub const CONNECTIONS: &str = "courser_connections_total";
/// Connections open now, by listener protocol.
pub const CONNECTIONS_OPEN: &str = "courser_connections_open";
/// Connections closed before the protocol started, by protocol and reason.
pub const CONNECTIONS_REFUSED: &str = "courser_connections_refused_total";
/// Login attempts, by protocol (`imap`, `pop3`) and result.
pub const LOGINS: &str = "courser_logins_total";
/// Time the account backends took to check credentials (the failure
/// delay not included), by protocol.
pub const LOGIN_DURATION: &str = "courser_login_duration_seconds";
/// Commands, by protocol and command name: the time the session worked on
/// each (waits for the client not included). Its `_count` counts commands.
pub const COMMAND_DURATION: &str = "courser_command_duration_seconds";
/// Sessions relayed to each backend (proxy mode).
pub const PROXIED: &str = "courser_proxy_sessions_total";
/// Whether each pool backend is in the ring (1) or out (0).
pub const BACKEND_UP: &str = "courser_proxy_backend_up";

/// Histogram buckets in seconds: 100 µs to 30 s.
const BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];

/// The label for a command line that did not parse, or whose name is not
/// one the protocol defines.
pub const OTHER_COMMAND: &str = "other";

/// The command names a protocol reports.
fn command_names(service: Service) -> &'static [&'static str] {
    match service {
        Service::Imap => courser_imap::codec::Command::NAMES,
        Service::Pop3 => courser_pop3::codec::Command::NAMES,
    }
}

/// Why a connection was closed before its protocol started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionRefusal {
    /// No valid PROXY protocol header in time.
    ProxyHeader,
    /// `[access]` rules deny the address.
    Access,
    /// A server-wide or per-address limit.
    Limit(Refusal),
}

impl ConnectionRefusal {
    fn label(self) -> &'static str {
        match self {
            ConnectionRefusal::ProxyHeader => "proxy_header",
            ConnectionRefusal::Access => "access_rule",
            ConnectionRefusal::Limit(Refusal::ServerFull) => "max_connections",
            ConnectionRefusal::Limit(Refusal::TooManyFromAddress) => "max_connections_per_ip",
            ConnectionRefusal::Limit(Refusal::TooFast) => "connection_rate",
            // Per-account limits apply at login (a `limited` login).
            ConnectionRefusal::Limit(
                Refusal::TooManyForUser | Refusal::TooManyForUserFromAddress,
            ) => "account_limit",
        }
    }
}

/// Installs the Prometheus recorder and starts its HTTP listener on
/// `config.address`. Call once, inside the tokio runtime, after the
/// configuration was validated.
pub fn serve(config: &MetricsConfig) -> Result<(), Error> {
    let address = config.address;
    let failed = |message: String| Error::Bind {
        address,
        source: std::io::Error::other(message),
    };
    let (recorder, exporter) = PrometheusBuilder::new()
        .with_http_listener(address)
        .set_buckets(BUCKETS)
        .map_err(|e| failed(e.to_string()))?
        .build()
        .map_err(|e| failed(e.to_string()))?;
    metrics::set_global_recorder(recorder).map_err(|e| failed(e.to_string()))?;
    describe();
    tokio::spawn(async move {
        if let Err(e) = exporter.await {
            tracing::error!("metrics on {address} stopped: {e:?}");
        }
    });
    tracing::info!("metrics on http://{address}/metrics");
    Ok(())
}

fn describe() {
    describe_counter!(CONNECTIONS, "Connections accepted");
    describe_gauge!(CONNECTIONS_OPEN, "Connections open");
    describe_counter!(
        CONNECTIONS_REFUSED,
        "Connections refused before the protocol started"
    );
    describe_counter!(LOGINS, "Login attempts by result");
    describe_histogram!(
        LOGIN_DURATION,
        metrics::Unit::Seconds,
        "Credential checks by the account backends"
    );
    describe_counter!(PROXIED, "Sessions relayed to each backend");
    describe_gauge!(BACKEND_UP, "Pool backends in the hash ring (1) or out (0)");
    describe_histogram!(
        COMMAND_DURATION,
        metrics::Unit::Seconds,
        "Commands: time the server worked on each"
    );
}

/// Counts an accepted connection as open until the returned guard drops.
pub fn connection_opened(protocol: Protocol) -> OpenConnection {
    let label = protocol.as_str();
    counter!(CONNECTIONS, "protocol" => label).increment(1);
    gauge!(CONNECTIONS_OPEN, "protocol" => label).increment(1.0);
    OpenConnection(label)
}

/// One open connection in [`CONNECTIONS_OPEN`]; dropping it closes it.
#[derive(Debug)]
pub struct OpenConnection(&'static str);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        gauge!(CONNECTIONS_OPEN, "protocol" => self.0).decrement(1.0);
    }
}

/// Counts a connection refused before its protocol started.
pub fn connection_refused(protocol: Protocol, why: ConnectionRefusal) {
    counter!(CONNECTIONS_REFUSED, "protocol" => protocol.as_str(), "reason" => why.label())
        .increment(1);
}

/// Counts a login attempt for an authentication service (`imap`,
/// `pop3`): `None` when the client got in, else why not.
pub fn login(service: &'static str, refused: Option<Refused>) {
    let result = match refused {
        None => "ok",
        Some(Refused::Failed { temporary: false }) => "failed",
        Some(Refused::Failed { temporary: true } | Refused::Unreachable) => "temporary_failure",
        Some(Refused::ServiceDisabled | Refused::WrongUid) => "refused",
        Some(Refused::Limited(_)) => "limited",
        Some(Refused::Locked) => "locked",
    };
    counter!(LOGINS, "protocol" => service, "result" => result).increment(1);
}

/// Counts a session relayed to `backend` (proxy mode).
pub fn proxied(service: Service, backend: &str) {
    counter!(PROXIED, "protocol" => service.as_str(), "backend" => backend.to_owned()).increment(1);
}

/// Records whether pool backend `backend` is in the ring.
pub fn backend_up(backend: &str, up: bool) {
    gauge!(BACKEND_UP, "backend" => backend.to_owned()).set(if up { 1.0 } else { 0.0 });
}

/// Records how long the account backends took to check credentials for
/// an authentication service (`imap`, `pop3`).
pub fn login_checked(service: &'static str, took: Duration) {
    histogram!(LOGIN_DURATION, "protocol" => service).record(took);
}

/// Records one finished command (`None`: a line that did not parse). In a
/// per-user worker process it goes to the front end instead.
pub fn command(service: Service, name: Option<&str>, busy: Duration) {
    let command = command_label(service, name);
    if let Some(front_end) = FORWARD.get() {
        // Lost when the front end is behind: a metric is not worth a stall.
        let line = format!("{}\t{command}\t{}", service.as_str(), busy.as_nanos());
        let _ = front_end.send(line.as_bytes());
        return;
    }
    histogram!(COMMAND_DURATION, "protocol" => service.as_str(), "command" => command).record(busy);
}

/// Per-user worker processes: where their command records go.
static FORWARD: std::sync::OnceLock<UnixDatagram> = std::sync::OnceLock::new();

/// In a per-user worker process: sends command records to the front end
/// over `socket` (the front end replays them with [`replay_forwarded`]).
pub fn forward_to(socket: UnixDatagram) {
    if socket.set_nonblocking(true).is_ok() {
        let _ = FORWARD.set(socket);
    }
}

/// In the front end: records what workers send over `socket`. The worker
/// runs as its account and may send anything; only well-formed records of
/// known protocols and commands count, so the label set stays bounded.
pub fn replay_forwarded(socket: UnixDatagram) -> std::io::Result<()> {
    socket.set_nonblocking(true)?;
    let socket = tokio::net::UnixDatagram::from_std(socket)?;
    tokio::spawn(async move {
        let mut buf = [0u8; 256];
        while let Ok(n) = socket.recv(&mut buf).await {
            if let Some((service, name, busy)) = parse_forwarded(&buf[..n]) {
                command(service, Some(name), busy);
            }
        }
    });
    Ok(())
}

fn parse_forwarded(record: &[u8]) -> Option<(Service, &str, Duration)> {
    let text = std::str::from_utf8(record).ok()?;
    let mut fields = text.split('\t');
    let service = match fields.next()? {
        "imap" => Service::Imap,
        "pop3" => Service::Pop3,
        _ => return None,
    };
    let name = fields.next()?;
    let nanos: u64 = fields.next()?.parse().ok()?;
    fields
        .next()
        .is_none()
        .then_some((service, name, Duration::from_nanos(nanos)))
}

/// The label for a command name: the protocol's own spelling when it is
/// one of its commands, [`OTHER_COMMAND`] for anything else, so the label
/// set stays bounded whatever reports the name.
fn command_label(service: Service, name: Option<&str>) -> &'static str {
    name.and_then(|name| {
        command_names(service)
            .iter()
            .find(|known| known.eq_ignore_ascii_case(name))
    })
    .copied()
    .unwrap_or(OTHER_COMMAND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_labels_are_the_protocols_names_or_other() {
        assert_eq!(command_label(Service::Imap, Some("UID FETCH")), "UID FETCH");
        assert_eq!(command_label(Service::Imap, Some("uid fetch")), "UID FETCH");
        assert_eq!(command_label(Service::Imap, Some("IDLE")), "IDLE");
        assert_eq!(command_label(Service::Pop3, Some("RETR")), "RETR");
        // Another protocol's verb, an invented one, or none at all.
        assert_eq!(command_label(Service::Pop3, Some("FETCH")), OTHER_COMMAND);
        assert_eq!(command_label(Service::Imap, Some("RETR")), OTHER_COMMAND);
        assert_eq!(command_label(Service::Imap, Some("alice")), OTHER_COMMAND);
        assert_eq!(command_label(Service::Imap, None), OTHER_COMMAND);
    }

    #[test]
    fn forwarded_records_parse_strictly() {
        assert_eq!(
            parse_forwarded(b"imap\tUID FETCH\t1500"),
            Some((Service::Imap, "UID FETCH", Duration::from_nanos(1500)))
        );
        for bad in [
            &b"smtp\tHELO\t1"[..],
            b"imap\tNOOP",
            b"imap\tNOOP\t-1",
            b"imap\tNOOP\t1\textra",
            b"\xff\tNOOP\t1",
        ] {
            assert_eq!(parse_forwarded(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn results_and_reasons_are_small_fixed_sets() {
        let reasons = [
            ConnectionRefusal::ProxyHeader,
            ConnectionRefusal::Access,
            ConnectionRefusal::Limit(Refusal::ServerFull),
            ConnectionRefusal::Limit(Refusal::TooManyFromAddress),
            ConnectionRefusal::Limit(Refusal::TooFast),
        ]
        .map(ConnectionRefusal::label);
        assert_eq!(
            reasons,
            [
                "proxy_header",
                "access_rule",
                "max_connections",
                "max_connections_per_ip",
                "connection_rate"
            ]
        );
        assert!(BUCKETS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!((BUCKETS[0], BUCKETS[BUCKETS.len() - 1]), (0.0001, 30.0));
    }
}
