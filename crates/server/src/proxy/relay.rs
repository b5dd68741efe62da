//! The front end's half of a proxied session: logging in on the
//! account's backend (`open`), then copying bytes both ways (`run`)
//! with the protocol's idle timeout, until either side ends. A backend
//! that goes away without saying goodbye leaves the client with one
//! (`* BYE`, `-ERR`), so it reconnects and lands on a live node.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use courser_protocol::Untrusted;

use super::backend::{self, Backend, Client, Unavailable};
use super::dialogue::Plan;
use super::{Proxy, Route};
use crate::proxy_config::BackendTls;
use crate::service::Service;
use crate::shared::Shared;
use crate::stream::{send, Conn, Goodbyes, WRITE_TIMEOUT};

/// Logs `login` (its `mailhost`, and the client's `password` when the
/// proxy logs in with the client's credentials; `smap`: to SMAP1, as the
/// client did) in on its backend: the
/// first of its mailhosts that answers (Courier's order), or the first
/// pool node on its ring that answers (a node that cannot be reached
/// leaves the ring and the next one is tried).
pub(crate) async fn open(
    proxy: &Proxy,
    service: Service,
    login: &str,
    mailhost: Option<&str>,
    password: Option<&[u8]>,
    (client, smap): (&Client, bool),
) -> Result<Backend, String> {
    let Some(login_as) = proxy.login_as(login, password) else {
        return Err("the client proved itself without a password, which the \
                    backend login (login = \"client\") needs"
            .into());
    };
    let route = proxy.route(login, mailhost);
    let nodes = match &route {
        Route::Mailhost(hosts) | Route::Pool(hosts) if hosts.is_empty() => {
            return Err("no backend to try".into())
        }
        Route::Mailhost(hosts) | Route::Pool(hosts) => hosts.clone(),
    };
    let mut why = Vec::new();
    for node in &nodes {
        let plan = Plan {
            starttls: proxy.config.tls == BackendTls::Starttls,
            id: id_fields(proxy, client),
            login: login_as.clone(),
            smap,
        };
        match backend::log_in(proxy, node, service, client, plan).await {
            Ok(backend) => return Ok(backend),
            Err(Unavailable::Unreachable(e)) => {
                if matches!(route, Route::Pool(_)) && proxy.health.unreachable(node) {
                    tracing::warn!(backend = %node, "backend out of the ring: {e}");
                    crate::metrics::backend_up(node, false);
                }
                why.push(format!("{node}: unreachable: {e}"));
            }
            // A backend that answers but refuses is not down; another
            // node would not know the account's mail either.
            Err(e @ Unavailable::Login(_)) => {
                why.push(format!("{node}: {e}"));
                break;
            }
        }
    }
    Err(why.join("; "))
}

/// The IMAP ID fields Dovecot's proxy sends (POP3 sends the client's
/// part of them by XCLIENT), for the backend's logs, limits and failure
/// delays.
fn id_fields(proxy: &Proxy, client: &Client) -> Vec<(String, String)> {
    if !proxy.config.send_id {
        return Vec::new();
    }
    [
        ("x-originating-ip", client.peer.ip().to_string()),
        ("x-originating-port", client.peer.port().to_string()),
        ("x-connected-ip", client.local.ip().to_string()),
        ("x-connected-port", client.local.port().to_string()),
        ("x-session-id", client.session.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// A fresh session id: 12 characters of base64 (72 random bits).
pub(crate) fn session_id() -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 9];
    // Without randomness the id is only less unique: it is for logs.
    let _ = getrandom::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether the session was ended on purpose: the backend said `* BYE`
/// (IMAP) or the client sent `QUIT` (POP3). Once seen it stays: the
/// tagged answer after a BYE may come in a later read.
#[derive(Debug, Default)]
pub(crate) struct Ending {
    backend_bye: bool,
    client_quit: bool,
}

impl Ending {
    /// Bytes the backend sent.
    pub(crate) fn backend_sent(&mut self, bytes: &[u8]) {
        self.backend_bye |= memchr::memmem::find(bytes, b"* BYE").is_some();
    }

    /// Bytes the client sent.
    pub(crate) fn client_sent(&mut self, bytes: &[u8]) {
        self.client_quit |= bytes
            .split(|&b| b == b'\n')
            .any(|line| line.trim_ascii().eq_ignore_ascii_case(b"QUIT"));
    }

    /// The session ended as the protocol ends it.
    pub(crate) fn orderly(&self, service: Service) -> bool {
        match service {
            Service::Imap => self.backend_bye,
            Service::Pop3 => self.client_quit,
        }
    }
}

/// What the client hears when its backend went away.
fn lost(service: Service) -> &'static [u8] {
    match service {
        Service::Imap => {
            b"* BYE [UNAVAILABLE] Lost the connection to the mail server, please reconnect\r\n"
        }
        Service::Pop3 => {
            b"-ERR [SYS/TEMP] Lost the connection to the mail server, please reconnect\r\n"
        }
    }
}

/// A session logged in on its backend, to be relayed.
pub(crate) struct Relayed<S> {
    /// The client's connection.
    pub stream: S,
    /// The backend's, logged in.
    pub backend: Box<Backend>,
    /// What the client sent after its login command.
    pub pipelined: Vec<u8>,
    /// The account.
    pub user: String,
}

/// Copies between the client and its backend until either side ends.
pub(crate) async fn run<S: AsyncRead + AsyncWrite + Unpin>(
    relayed: Relayed<S>,
    service: Service,
    (autologout, goodbyes): (Duration, &Goodbyes),
    conn: &mut Conn,
    shared: &Shared,
) {
    let Relayed {
        stream: mut client,
        backend,
        pipelined,
        user,
    } = relayed;
    let user = user.as_str();
    let Backend {
        node,
        stream: mut upstream,
        logged_in,
    } = *backend;
    let mut ending = Ending::default();
    let mut to_client = logged_in.rest;
    let mut to_backend = pipelined;
    let mut from_client = vec![0u8; 16 * 1024];
    let mut from_backend = vec![0u8; 16 * 1024];
    let mut backend_bytes = 0u64;
    let why: &str = loop {
        if !send(&mut client, &mut to_client, &mut conn.bytes_out).await {
            break "client gone";
        }
        if !to_backend.is_empty() {
            ending.client_sent(&to_backend);
            let write = async {
                upstream.write_all(&to_backend).await?;
                upstream.flush().await
            };
            // A backend that stops reading must not hold the session.
            if !matches!(tokio::time::timeout(WRITE_TIMEOUT, write).await, Ok(Ok(()))) {
                tracing::warn!(user = %Untrusted(user), backend = %node, "the backend stopped taking the client's input; telling the client");
                to_client.extend_from_slice(lost(service));
                send(&mut client, &mut to_client, &mut conn.bytes_out).await;
                break "backend stuck";
            }
            to_backend.clear();
        }
        let deadline = tokio::time::sleep(autologout);
        tokio::select! {
            read = client.read(&mut from_client) => match read {
                Ok(n) if n > 0 => {
                    conn.bytes_in += n as u64;
                    to_backend.extend_from_slice(&from_client[..n]);
                }
                _ => break "client closed",
            },
            read = upstream.read(&mut from_backend) => match read {
                Ok(n) if n > 0 => {
                    backend_bytes += n as u64;
                    ending.backend_sent(&from_backend[..n]);
                    to_client.extend_from_slice(&from_backend[..n]);
                }
                _ if ending.orderly(service) => break "backend closed",
                _ => {
                    tracing::warn!(user = %Untrusted(user), backend = %node, "the backend dropped the session; telling the client");
                    to_client.extend_from_slice(lost(service));
                    send(&mut client, &mut to_client, &mut conn.bytes_out).await;
                    break "backend lost";
                }
            },
            () = deadline => {
                conn.timed_out = true;
                to_client.extend_from_slice(goodbyes.timed_out);
                send(&mut client, &mut to_client, &mut conn.bytes_out).await;
                break "idle timeout";
            }
            () = shared.shutting_down() => {
                to_client.extend_from_slice(goodbyes.shutting_down);
                send(&mut client, &mut to_client, &mut conn.bytes_out).await;
                break "shutting down";
            }
        }
    };
    let _ = upstream.shutdown().await;
    tracing::info!(
        user = %Untrusted(user),
        ip = %conn.peer.ip(),
        port = conn.peer.port(),
        protocol = service.as_str(),
        backend = %node,
        rcvd = conn.bytes_in,
        sent = conn.bytes_out,
        from_backend = backend_bytes,
        time = conn.started.elapsed().as_secs(),
        reason = why,
        "LOGOUT (proxied)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endings() {
        let mut e = Ending::default();
        e.backend_sent(b"* 1 EXISTS\r\n");
        assert!(!e.orderly(Service::Imap));
        e.backend_sent(b"* BYE logging out\r\n");
        e.backend_sent(b"A1 OK done\r\n");
        assert!(e.orderly(Service::Imap));
        e.client_sent(b"QUITE\r\n");
        assert!(!e.orderly(Service::Pop3));
        e.client_sent(b"LIST\r\nquit\r\n");
        assert!(e.orderly(Service::Pop3));
    }

    #[test]
    fn session_ids_differ() {
        let (a, b) = (session_id(), session_id());
        assert_eq!(a.len(), 12);
        assert_ne!(a, b);
    }
}
