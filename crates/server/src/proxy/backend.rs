//! Connections to backends: TCP with a timeout, the PROXY v2 header,
//! TLS with certificate verification, then the login
//! ([`super::dialogue`]) or, for a health probe, only the greeting.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::dialogue::{self, Dialogue, Failure, LoggedIn, Plan, Progress};
use super::{bare_host, Proxy};
use crate::proxy_config::BackendTls;
use crate::service::Service;

/// A backend connection, plain or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A logged-in backend connection.
pub struct Backend {
    /// The node, as configured or as the account's `mailhost`.
    pub node: String,
    /// The connection.
    pub stream: Box<dyn Io>,
    /// What the backend answered the login.
    pub logged_in: LoggedIn,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("node", &self.node)
            .field("logged_in", &self.logged_in)
            .finish_non_exhaustive()
    }
}

/// Why a backend login failed.
#[derive(Debug)]
pub enum Unavailable {
    /// The node could not be reached or did not greet properly: a sign
    /// it is down.
    Unreachable(String),
    /// It answered but the login failed.
    Login(Failure),
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unavailable::Unreachable(why) => write!(f, "unreachable: {why}"),
            Unavailable::Login(failure) if failure.refused => {
                write!(f, "refused the login: {}", failure.why)
            }
            Unavailable::Login(failure) => write!(f, "login failed: {}", failure.why),
        }
    }
}

/// Who the client is, for the PROXY header and the ID fields.
#[derive(Debug, Clone)]
pub struct Client {
    /// The client's address.
    pub peer: SocketAddr,
    /// The front end's address the client connected to.
    pub local: SocketAddr,
    /// This session's id, logged on both sides.
    pub session: String,
}

/// A rustls client configuration trusting the CAs in `ca_file`.
pub fn client_tls(
    ca_file: &Path,
    verify_hostname: bool,
) -> Result<Arc<rustls::ClientConfig>, crate::Error> {
    let error = |message: String| crate::Error::Tls {
        path: ca_file.to_owned(),
        message,
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_file).map_err(|e| error(e.to_string()))? {
        roots
            .add(cert.map_err(|e| error(e.to_string()))?)
            .map_err(|e| error(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(error("no CA certificate in the file".into()));
    }
    let builder = rustls::ClientConfig::builder();
    let config = if verify_hostname {
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        let inner = rustls::client::WebPkiServerVerifier::builder(Arc::new(roots))
            .build()
            .map_err(|e| error(e.to_string()))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyName(inner)))
            .with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// `verify_hostname = false`: the chain is verified, the name is not.
#[derive(Debug)]
struct AnyName(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Connects to `node`'s `service` port, sends the PROXY header (the
/// client's addresses, or LOCAL for a probe), and starts implicit TLS.
async fn connect(
    proxy: &Proxy,
    node: &str,
    service: Service,
    client: Option<&Client>,
) -> Result<Box<dyn Io>, String> {
    let port = match service {
        Service::Imap => proxy.config.imap_port,
        Service::Pop3 => proxy.config.pop3_port,
    };
    let host = bare_host(node);
    let mut tcp = TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("connecting to {node} port {port}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    if proxy.config.send_proxy_protocol {
        let header = match client {
            Some(c) => crate::proxy_protocol::encode_v2(c.peer, c.local),
            None => crate::proxy_protocol::encode_v2_local(),
        };
        tcp.write_all(&header)
            .await
            .map_err(|e| format!("sending the PROXY header: {e}"))?;
    }
    if proxy.config.tls == BackendTls::Implicit {
        return start_tls(proxy, node, tcp).await;
    }
    Ok(Box::new(tcp))
}

async fn start_tls<S: Io + 'static>(
    proxy: &Proxy,
    node: &str,
    stream: S,
) -> Result<Box<dyn Io>, String> {
    let Some(tls) = proxy.tls.clone() else {
        return Err("no TLS client configuration".into());
    };
    let name = ServerName::try_from(bare_host(node).to_owned())
        .map_err(|e| format!("{node} as a TLS server name: {e}"))?;
    let connector = tokio_rustls::TlsConnector::from(tls);
    let stream = connector
        .connect(name, stream)
        .await
        .map_err(|e| format!("TLS with {node}: {e}"))?;
    Ok(Box::new(stream))
}

/// How long a backend that greeted may take over the rest of the login
/// (its password check may be slow, or slowed down on purpose after
/// failures): a slow login is not a sign that the node is down.
const LOGIN_WAIT: Duration = Duration::from_secs(60);

/// Connects to `node` and logs in following `plan`: connecting and the
/// greeting within `connect_timeout_secs` (else the node counts as
/// unreachable), the rest within `LOGIN_WAIT`.
pub async fn log_in(
    proxy: &Proxy,
    node: &str,
    service: Service,
    client: &Client,
    plan: Plan,
) -> Result<Backend, Unavailable> {
    let greeting_by = Instant::now() + proxy.config.connect_timeout();
    let connected =
        tokio::time::timeout_at(greeting_by, connect(proxy, node, service, Some(client)));
    let stream = match connected.await {
        Ok(stream) => stream.map_err(Unavailable::Unreachable)?,
        Err(_) => return Err(no_answer(proxy)),
    };
    let dialogue = Dialogue::new(service, plan);
    let (stream, logged_in) = converse(proxy, node, stream, dialogue, greeting_by).await?;
    Ok(Backend {
        node: node.to_owned(),
        stream,
        logged_in,
    })
}

fn no_answer(proxy: &Proxy) -> Unavailable {
    Unavailable::Unreachable(format!(
        "no greeting within {} s",
        proxy.config.connect_timeout_secs
    ))
}

/// Runs the login dialogue over `stream`: greeted by `greeting_by`, then
/// logged in within [`LOGIN_WAIT`].
async fn converse(
    proxy: &Proxy,
    node: &str,
    mut stream: Box<dyn Io>,
    mut dialogue: Dialogue,
    greeting_by: Instant,
) -> Result<(Box<dyn Io>, LoggedIn), Unavailable> {
    let mut chunk = vec![0u8; 4096];
    let mut out = Vec::new();
    // Until the backend greets, a failure says it is down.
    let failed = |dialogue: &Dialogue, failure: Failure| {
        if dialogue.greeted() {
            Unavailable::Login(failure)
        } else {
            Unavailable::Unreachable(failure.why)
        }
    };
    let unreachable = |e: std::io::Error| Unavailable::Unreachable(e.to_string());
    let mut login_by = None;
    loop {
        let deadline = match (dialogue.greeted(), login_by) {
            (false, _) => greeting_by,
            (true, Some(by)) => by,
            (true, None) => *login_by.insert(Instant::now() + LOGIN_WAIT),
        };
        let n = match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(read) => read.map_err(unreachable)?,
            Err(_) if dialogue.greeted() => {
                let why = format!("no answer to the login within {} s", LOGIN_WAIT.as_secs());
                return Err(Unavailable::Login(Failure {
                    refused: false,
                    why,
                }));
            }
            Err(_) => return Err(no_answer(proxy)),
        };
        if n == 0 {
            let why = "closed the connection during the login".to_owned();
            return Err(failed(
                &dialogue,
                Failure {
                    refused: false,
                    why,
                },
            ));
        }
        let progress = dialogue.receive(&chunk[..n], &mut out);
        if progress == Progress::StartTls {
            let handshake = start_tls(proxy, node, stream);
            let done = tokio::time::timeout_at(login_by.unwrap_or(greeting_by), handshake).await;
            stream = done
                .unwrap_or_else(|_| Err("no TLS handshake in time".into()))
                .map_err(|why| {
                    Unavailable::Login(Failure {
                        refused: false,
                        why,
                    })
                })?;
            dialogue.tls_started(&mut out);
        }
        if !out.is_empty() {
            stream.write_all(&out).await.map_err(unreachable)?;
            stream.flush().await.map_err(unreachable)?;
            out.clear();
        }
        match progress {
            Progress::Wait | Progress::StartTls => {}
            Progress::Done(logged_in) => return Ok((stream, logged_in)),
            Progress::Failed(failure) => return Err(failed(&dialogue, failure)),
        }
    }
}

/// A health probe: connects (PROXY LOCAL header, TLS as configured),
/// reads the greeting and says goodbye. Ok when the greeting is one.
pub async fn probe(proxy: &Proxy, node: &str, service: Service) -> Result<(), String> {
    let work = async {
        let mut stream = connect(proxy, node, service, None).await?;
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while !line.ends_with(b"\n") && line.len() < 4096 {
            match stream.read(&mut byte).await {
                Ok(1) => line.push(byte[0]),
                Ok(_) => return Err("closed before greeting".to_owned()),
                Err(e) => return Err(format!("reading the greeting: {e}")),
            }
        }
        if !dialogue::greeting_ok(service, &line) {
            return Err(format!(
                "greeted with {:?}",
                String::from_utf8_lossy(&line).trim_end()
            ));
        }
        let bye: &[u8] = match service {
            Service::Imap => b"P0 LOGOUT\r\n",
            Service::Pop3 => b"QUIT\r\n",
        };
        let _ = stream.write_all(bye).await;
        let _ = stream.shutdown().await;
        Ok(())
    };
    tokio::time::timeout(proxy.config.connect_timeout(), work)
        .await
        .unwrap_or_else(|_| Err("no greeting in time".into()))
}
