//! The front end's half of a proxied session: logging in on the
//! account's backend (`open`), then copying bytes both ways (`run`)
//! with the protocol's idle timeout, until either side ends. A backend
//! that goes away without saying goodbye leaves the client with one
//! (`* BYE`, `-ERR`), so it reconnects and lands on a live node.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use courser_protocol::Untrusted;

use super::backend::{self, Backend, Client, Unavailable};
use super::dialogue::{Failure, Plan};
use super::ending::Ending;
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
/// leaves the ring and the next one is tried; so is the next after one
/// that hangs up during the login). Refused credentials end the search.
pub(crate) async fn open(
    proxy: &Proxy,
    service: Service,
    login: &str,
    mailhost: Option<&[String]>,
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
            // A backend that refuses the credentials is not down, and
            // another node would refuse them too.
            Err(e @ Unavailable::Login(Failure { refused: true, .. })) => {
                why.push(format!("{node}: {e}"));
                break;
            }
            // One that hung up or said BYE after its greeting (killed or
            // stopped while the login ran) may be going down: the next
            // one is tried, and the probes judge whether it left the
            // ring.
            Err(e @ Unavailable::Login(_)) => why.push(format!("{node}: {e}")),
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

/// How one direction of a relay stopped.
enum Stop {
    /// Its reading side closed the connection (or it failed).
    ReadEnd,
    /// Its writing side took nothing for [`WRITE_TIMEOUT`], or failed.
    WriteFailed,
}

/// Copies `from` to `to`, `first` first, until `from` ends or `to`
/// stops taking bytes: counts what is read in `read` and written in
/// `written`, shows each chunk to `seen`, and notes the time of every
/// read (milliseconds since `start`) in `active`. Each direction has its
/// own pump, so a side that is busy writing never keeps the relay from
/// reading the other (a client uploading while its backend answers).
async fn pump<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    from: &mut R,
    to: &mut W,
    first: &[u8],
    (read, written): (&mut u64, &mut u64),
    seen: &mut Ending,
    sees: fn(&mut Ending, &[u8]),
    (active, start): (&AtomicU64, tokio::time::Instant),
) -> Stop {
    async fn put<W: AsyncWrite + Unpin>(to: &mut W, bytes: &[u8], written: &mut u64) -> bool {
        let write = async {
            to.write_all(bytes).await?;
            to.flush().await
        };
        let ok = matches!(tokio::time::timeout(WRITE_TIMEOUT, write).await, Ok(Ok(())));
        if ok {
            *written += bytes.len() as u64;
        }
        ok
    }
    if !first.is_empty() {
        sees(seen, first);
        if !put(to, first, written).await {
            return Stop::WriteFailed;
        }
    }
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(n) if n > 0 => n,
            _ => return Stop::ReadEnd,
        };
        let since = start.elapsed().as_millis();
        active.store(u64::try_from(since).unwrap_or(u64::MAX), Ordering::Relaxed);
        *read += n as u64;
        sees(seen, &buf[..n]);
        if !put(to, &buf[..n], written).await {
            return Stop::WriteFailed;
        }
    }
}

/// Resolves once neither direction has read anything for `autologout`
/// (reads noted in `active`, milliseconds since `start`).
async fn idle_for(autologout: Duration, active: &AtomicU64, start: tokio::time::Instant) {
    loop {
        let last = Duration::from_millis(active.load(Ordering::Relaxed));
        let due = start + last + autologout;
        if tokio::time::Instant::now() >= due {
            return;
        }
        tokio::time::sleep_until(due).await;
    }
}

/// Why a relayed session ended.
enum Why {
    ClientClosed,
    ClientGone,
    BackendClosed,
    BackendStuck,
    Idle,
    ShuttingDown,
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
        stream: client,
        backend,
        pipelined,
        user,
    } = relayed;
    let user = user.as_str();
    let Backend {
        node,
        stream: upstream,
        logged_in,
    } = *backend;
    let (mut client_in, mut client_out) = tokio::io::split(client);
    let (mut backend_in, mut backend_out) = tokio::io::split(upstream);
    let (mut from_client, mut from_backend) = (Ending::default(), Ending::default());
    let (mut backend_bytes, mut to_backend_bytes) = (0u64, 0u64);
    let start = tokio::time::Instant::now();
    let active = AtomicU64::new(0);
    let why = {
        let up = pump(
            &mut client_in,
            &mut backend_out,
            &pipelined,
            (&mut conn.bytes_in, &mut to_backend_bytes),
            &mut from_client,
            Ending::client_sent,
            (&active, start),
        );
        let down = pump(
            &mut backend_in,
            &mut client_out,
            &logged_in.rest,
            (&mut backend_bytes, &mut conn.bytes_out),
            &mut from_backend,
            Ending::backend_sent,
            (&active, start),
        );
        tokio::select! {
            stop = up => match stop {
                Stop::ReadEnd => Why::ClientClosed,
                Stop::WriteFailed => Why::BackendStuck,
            },
            stop = down => match stop {
                Stop::ReadEnd => Why::BackendClosed,
                Stop::WriteFailed => Why::ClientGone,
            },
            () = idle_for(autologout, &active, start) => Why::Idle,
            () = shared.shutting_down() => Why::ShuttingDown,
        }
    };
    let ending = Ending::joined(from_backend, from_client);
    let mut goodbye = Vec::new();
    let why = match why {
        Why::ClientClosed => "client closed",
        Why::ClientGone => "client gone",
        Why::BackendClosed if ending.orderly(service) => "backend closed",
        Why::BackendClosed => {
            tracing::warn!(user = %Untrusted(user), backend = %node, "the backend dropped the session; telling the client");
            goodbye.extend_from_slice(lost(service));
            "backend lost"
        }
        Why::BackendStuck => {
            tracing::warn!(user = %Untrusted(user), backend = %node, "the backend stopped taking the client's input; telling the client");
            goodbye.extend_from_slice(lost(service));
            "backend stuck"
        }
        Why::Idle => {
            conn.timed_out = true;
            goodbye.extend_from_slice(goodbyes.timed_out);
            "idle timeout"
        }
        Why::ShuttingDown => {
            goodbye.extend_from_slice(goodbyes.shutting_down);
            "shutting down"
        }
    };
    send(&mut client_out, &mut goodbye, &mut conn.bytes_out).await;
    let _ = backend_out.shutdown().await;
    tracing::info!(
        user = %Untrusted(user),
        ip = %conn.peer.ip(),
        port = conn.peer.port(),
        protocol = service.as_str(),
        backend = %node,
        rcvd = conn.bytes_in,
        sent = conn.bytes_out,
        from_backend = backend_bytes,
        to_backend = to_backend_bytes,
        time = conn.started.elapsed().as_secs(),
        reason = why,
        "LOGOUT (proxied)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A scripted backend on `ip`:`port` (bound before it returns): it
    /// greets, then answers each line with `answer(line)`, hanging up
    /// where that is `None`. Counts its connections in `seen`.
    async fn backend(
        ip: &str,
        port: u16,
        answer: fn(&str) -> Option<String>,
    ) -> (u16, Arc<AtomicU64>) {
        use tokio::io::AsyncBufReadExt;
        let listener = tokio::net::TcpListener::bind((ip, port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(AtomicU64::new(0));
        let counted = seen.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    let mut stream = tokio::io::BufReader::new(stream);
                    let greeting = b"* OK [CAPABILITY IMAP4rev1] ready\r\n";
                    stream.get_mut().write_all(greeting).await?;
                    let mut line = String::new();
                    while stream.read_line(&mut line).await? > 0 {
                        let Some(reply) = answer(line.trim_end()) else {
                            return Ok(());
                        };
                        stream.get_mut().write_all(reply.as_bytes()).await?;
                        line.clear();
                    }
                    Ok::<_, std::io::Error>(())
                });
            }
        });
        (port, seen)
    }

    fn tag(line: &str) -> &str {
        line.split(' ').next().unwrap_or_default()
    }

    /// Answers ID and logs in.
    fn serves(line: &str) -> Option<String> {
        Some(format!(
            "{} OK [CAPABILITY IMAP4rev1 IDLE] done\r\n",
            tag(line)
        ))
    }

    /// Answers ID, then goes away during the login, as a killed node.
    fn dies_at_login(line: &str) -> Option<String> {
        (!line.contains(" LOGIN ")).then(|| serves(line).unwrap_or_default())
    }

    /// Answers ID, then refuses the credentials.
    fn refuses(line: &str) -> Option<String> {
        Some(match line.contains(" LOGIN ") {
            true => format!("{} NO [AUTHENTICATIONFAILED] no\r\n", tag(line)),
            false => serves(line).unwrap_or_default(),
        })
    }

    async fn log_in_via(first: fn(&str) -> Option<String>) -> (Result<String, String>, u64) {
        let (port, _) = backend("127.0.0.2", 0, first).await;
        let (_, second) = backend("127.0.0.3", port, serves).await;
        let config = crate::proxy_config::ProxyConfig {
            enabled: true,
            imap_port: port,
            ..Default::default()
        };
        let proxy = Proxy::new(&config, Arc::default()).unwrap().unwrap();
        let client = Client {
            peer: "192.0.2.1:4000".parse().unwrap(),
            local: "192.0.2.2:143".parse().unwrap(),
            session: session_id(),
        };
        let opened = open(
            &proxy,
            Service::Imap,
            "ann",
            Some(&["127.0.0.2".to_owned(), "127.0.0.3".to_owned()]),
            Some(b"pw"),
            (&client, false),
        )
        .await;
        let node = opened.map(|b| b.node);
        (node, second.load(Ordering::Relaxed))
    }

    #[tokio::test]
    async fn a_backend_that_dies_during_the_login_hands_it_to_the_next() {
        let (node, _) = log_in_via(dies_at_login).await;
        assert_eq!(node.unwrap(), "127.0.0.3");
    }

    #[tokio::test]
    async fn refused_credentials_are_not_tried_elsewhere() {
        let (node, tried_second) = log_in_via(refuses).await;
        assert!(node.unwrap_err().contains("AUTHENTICATIONFAILED"));
        assert_eq!(tried_second, 0);
    }

    #[test]
    fn session_ids_differ() {
        let (a, b) = (session_id(), session_id());
        assert_eq!(a.len(), 12);
        assert_ne!(a, b);
    }
}
