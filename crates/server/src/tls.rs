//! TLS setup: rustls from PEM files, checked at start-up; optional client
//! certificates (`[tls] client_ca`) and the account name they carry, for
//! SASL EXTERNAL.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig, ServerConnection};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, DnsName, PrivateKeyDer};

use crate::config::{ClientIdentity, Config, TlsConfig, TlsVersion};
use crate::Error;

/// Builds the rustls server configuration, so that a bad certificate or key
/// is reported when the server starts rather than at the first client.
pub fn server_config(tls: &TlsConfig) -> Result<Arc<ServerConfig>, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let default = certified_key(&tls.certificate, &tls.private_key, &provider)?;
    let mut by_name = HashMap::new();
    for sni in &tls.sni {
        let name = DnsName::try_from(sni.name.as_str())
            .map_err(|_| Error::Tls {
                path: sni.certificate.clone(),
                message: format!("[[tls.sni]] name {:?} is not a DNS name", sni.name),
            })?
            .to_lowercase_owned();
        let key = certified_key(&sni.certificate, &sni.private_key, &provider)?;
        by_name.insert(name.as_ref().to_owned(), key);
    }
    let versions: &[&rustls::SupportedProtocolVersion] = match tls.min_version {
        TlsVersion::Tls12 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        TlsVersion::Tls13 => &[&rustls::version::TLS13],
    };
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(versions)
        .map_err(|e| Error::Tls {
            path: tls.certificate.clone(),
            message: e.to_string(),
        })?;
    let builder = match &tls.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => builder.with_client_cert_verifier(client_verifier(ca, provider)?),
    };
    let config = builder.with_cert_resolver(Arc::new(SniResolver { default, by_name }));
    Ok(Arc::new(config))
}

/// Verifies client certificates against the CAs in `ca`. A certificate is
/// optional (password logins go on as before); one that is offered must
/// verify, or the handshake fails.
fn client_verifier(
    ca: &Path,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, Error> {
    let err = |message: String| Error::Tls {
        path: ca.to_owned(),
        message,
    };
    let mut roots = RootCertStore::empty();
    for cert in load_certs(ca)? {
        roots
            .add(cert)
            .map_err(|e| err(format!("client_ca: not a usable CA certificate: {e}")))?;
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .allow_unauthenticated()
        .build()
        .map_err(|e| err(format!("client_ca: {e}")))
}

/// The account a connection's client certificate names, per `[tls]
/// client_identity`; `None` without a certificate (the verifier admitted
/// only certificates that verify) or without the field. Names with
/// control characters, or empty ones, are no names.
pub fn client_identity(connection: &ServerConnection, config: &Config) -> Option<String> {
    let field = config.tls.as_ref()?.client_identity;
    certificate_identity(connection.peer_certificates()?.first()?, field)
}

/// The account name `field` selects in a DER certificate.
fn certificate_identity(der: &[u8], field: ClientIdentity) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let email = || {
        let san = cert.subject_alternative_name().ok().flatten();
        san.and_then(|san| {
            san.value.general_names.iter().find_map(|name| match name {
                x509_parser::extensions::GeneralName::RFC822Name(e) => Some((*e).to_owned()),
                _ => None,
            })
        })
        .or_else(|| {
            let attr = subject.iter_email().next()?;
            attr.as_str().ok().map(str::to_owned)
        })
    };
    let cn = || {
        let attr = subject.iter_common_name().next()?;
        attr.as_str().ok().map(str::to_owned)
    };
    let name = match field {
        ClientIdentity::EmailOrCn => email().or_else(cn),
        ClientIdentity::Email => email(),
        ClientIdentity::Cn => cn(),
    }?;
    (!name.is_empty() && !name.chars().any(char::is_control)).then_some(name)
}

/// A TLS session on an accepted connection, and the account its client
/// certificate names (see [`client_identity`]).
pub struct Accepted {
    /// The protected stream.
    pub stream: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    /// The certificate's account name, if any.
    pub identity: Option<String>,
}

/// Runs the server side of a TLS handshake on `stream` (implicit TLS,
/// STARTTLS, STLS) within `timeout`; the error says why, for the log.
pub async fn accept(
    stream: tokio::net::TcpStream,
    tls: Arc<ServerConfig>,
    config: &Config,
    timeout: std::time::Duration,
) -> Result<Accepted, String> {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => Ok(Accepted {
            identity: client_identity(stream.get_ref().1, config),
            stream,
        }),
        Ok(Err(e)) => Err(format!("failed: {e}")),
        Err(_) => Err("timed out".into()),
    }
}

/// Picks the certificate for the name a client asked for, else the
/// default (rustls's own SNI resolver has no default).
#[derive(Debug)]
struct SniResolver {
    default: Arc<CertifiedKey>,
    by_name: HashMap<String, Arc<CertifiedKey>>,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let chosen = hello
            .server_name()
            .and_then(|name| self.by_name.get(&name.to_ascii_lowercase()));
        Some(Arc::clone(chosen.unwrap_or(&self.default)))
    }
}

/// A certificate chain with its key, checked to belong together.
fn certified_key(
    cert: &Path,
    key: &Path,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, Error> {
    let certs = load_certs(cert)?;
    let der = PrivateKeyDer::from_pem_file(key).map_err(|e| Error::Tls {
        path: key.to_owned(),
        message: format!("cannot read private key: {e}"),
    })?;
    CertifiedKey::from_der(certs, der, provider)
        .map(Arc::new)
        .map_err(|e| Error::Tls {
            path: cert.to_owned(),
            message: format!("certificate and key do not fit together: {e}"),
        })
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| Error::Tls {
            path: path.to_owned(),
            message: format!("cannot read certificates: {e}"),
        })?;
    if certs.is_empty() {
        return Err(Error::Tls {
            path: path.to_owned(),
            message: "no certificate in file".into(),
        });
    }
    Ok(certs)
}

/// Writes a self-signed certificate and key for `names` (used by
/// `courser demo` and the tests).
pub fn write_self_signed(cert: &Path, key: &Path, names: &[&str]) -> Result<(), Error> {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let generated = rcgen::generate_simple_self_signed(names).map_err(|e| Error::Tls {
        path: cert.to_owned(),
        message: format!("cannot generate a certificate: {e}"),
    })?;
    let io = |path: &Path, e: std::io::Error| Error::Io {
        path: path.to_owned(),
        source: e,
    };
    std::fs::write(cert, generated.cert.pem()).map_err(|e| io(cert, e))?;
    write_private(key, generated.signing_key.serialize_pem().as_bytes()).map_err(|e| io(key, e))
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_round_trip_and_bad_key_is_an_error() {
        let dir = std::env::temp_dir().join(format!("courser-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        write_self_signed(&cert, &key, &["localhost"]).unwrap();
        let ok = TlsConfig {
            certificate: cert.clone(),
            private_key: key.clone(),
            min_version: TlsVersion::Tls12,
            sni: Vec::new(),
            client_ca: None,
            client_identity: ClientIdentity::default(),
        };
        assert!(server_config(&ok).is_ok());
        // A client CA that is not a certificate fails at start-up.
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, b"not a certificate\n").unwrap();
        let with_ca = TlsConfig {
            client_ca: Some(ca.clone()),
            ..ok.clone()
        };
        assert!(server_config(&with_ca).is_err());
        std::fs::copy(&cert, &ca).unwrap();
        assert!(server_config(&with_ca).is_ok());
        std::fs::write(
            &key,
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        assert!(server_config(&ok).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn identity_from_certificate_fields() {
        use rcgen::{CertificateParams, DnType, KeyPair, SanType};
        let make = |cn: Option<&str>, san_email: Option<&str>, dn_email: Option<&str>| {
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            if let Some(cn) = cn {
                p.distinguished_name.push(DnType::CommonName, cn);
            }
            if let Some(e) = dn_email {
                p.distinguished_name
                    .push(DnType::CustomDnType(vec![1, 2, 840, 113549, 1, 9, 1]), e);
            }
            if let Some(e) = san_email {
                p.subject_alt_names
                    .push(SanType::Rfc822Name(e.try_into().unwrap()));
            }
            let key = KeyPair::generate().unwrap();
            p.self_signed(&key).unwrap().der().to_vec()
        };
        let both = make(Some("Ann"), Some("ann@example.org"), None);
        let id = |der: &[u8], f| certificate_identity(der, f);
        assert_eq!(
            id(&both, ClientIdentity::EmailOrCn).as_deref(),
            Some("ann@example.org")
        );
        assert_eq!(id(&both, ClientIdentity::Cn).as_deref(), Some("Ann"));
        let cn_only = make(Some("bob"), None, None);
        assert_eq!(
            id(&cn_only, ClientIdentity::EmailOrCn).as_deref(),
            Some("bob")
        );
        assert_eq!(id(&cn_only, ClientIdentity::Email), None);
        let dn_email = make(Some("cat"), None, Some("cat@example.org"));
        assert_eq!(
            id(&dn_email, ClientIdentity::Email).as_deref(),
            Some("cat@example.org")
        );
        let control = make(Some("a\nb"), None, None);
        assert_eq!(id(&control, ClientIdentity::Cn), None);
        assert_eq!(id(b"garbage", ClientIdentity::Cn), None);
    }
}
