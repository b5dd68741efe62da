//! TLS setup: rustls from PEM files, checked at start-up.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, DnsName, PrivateKeyDer};

use crate::config::{TlsConfig, TlsVersion};
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
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| Error::Tls {
            path: tls.certificate.clone(),
            message: e.to_string(),
        })?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SniResolver { default, by_name }));
    Ok(Arc::new(config))
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
        };
        assert!(server_config(&ok).is_ok());
        std::fs::write(
            &key,
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        assert!(server_config(&ok).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
