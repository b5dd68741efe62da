//! TLS setup: rustls from PEM files, checked at start-up.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::TlsConfig;
use crate::Error;

/// Builds the rustls server configuration, so that a bad certificate or key
/// is reported when the server starts rather than at the first client.
pub fn server_config(tls: &TlsConfig) -> Result<Arc<ServerConfig>, Error> {
    let certs = load_certs(&tls.certificate)?;
    let key = PrivateKeyDer::from_pem_file(&tls.private_key).map_err(|e| Error::Tls {
        path: tls.private_key.clone(),
        message: format!("cannot read private key: {e}"),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| Error::Tls {
            path: tls.certificate.clone(),
            message: e.to_string(),
        })?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| Error::Tls {
            path: tls.certificate.clone(),
            message: format!("certificate and key do not fit together: {e}"),
        })?;
    Ok(Arc::new(config))
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
