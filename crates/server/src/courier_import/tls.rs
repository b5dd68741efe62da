//! `[tls]` from Courier's `TLS_*` settings and its per-host certificate
//! files.

use super::*;
use crate::config::{ClientIdentity, SniCertificate, TlsConfig, TlsVersion};

impl Importer {
    /// `[tls]`, if a certificate is configured and loads; `Some(error)`
    /// when it does not.
    pub(super) fn tls(&mut self) -> Result<(), String> {
        let Some(cert) = self.take_global("TLS_CERTFILE") else {
            self.out.tls.push(
                "# TLS_CERTFILE is not set: no [tls], so no STARTTLS and no TLS ports".into(),
            );
            return Err("TLS_CERTFILE is not set".into());
        };
        let key = self.take_global("TLS_PRIVATE_KEYFILE");
        let protocol = self.take_global("TLS_PROTOCOL");
        let starttls_protocol = self.take_global("TLS_STARTTLS_PROTOCOL");
        let verify = self.take_global("TLS_VERIFYPEER");
        let trust = self.take_global("TLS_TRUSTCERTS");
        let external = self.take_global("TLS_EXTERNAL");
        let mut lines = Vec::new();
        let cert_path = PathBuf::from(&cert.value);
        set(
            &mut lines,
            "certificate",
            cert.value.clone(),
            &format!(
                "{}: Courier's file holds the key and the chain in one PEM; Courser\n\
                 reads the certificates from `certificate` and the key from `private_key`,\n\
                 which may name the same file.",
                cert.cite()
            ),
        );
        let key_path = match &key {
            Some(k) if !k.value.is_empty() => {
                set(&mut lines, "private_key", k.value.clone(), &k.cite());
                PathBuf::from(&k.value)
            }
            _ => {
                set(
                    &mut lines,
                    "private_key",
                    cert.value.clone(),
                    "the key is in TLS_CERTFILE (TLS_PRIVATE_KEYFILE is not set)",
                );
                cert_path.clone()
            }
        };
        let mut min_version = TlsVersion::Tls12;
        let versions: Vec<&Setting> = [&protocol, &starttls_protocol]
            .into_iter()
            .flatten()
            .filter(|s| !s.value.is_empty())
            .collect();
        let cites = versions
            .iter()
            .map(|s| s.cite())
            .collect::<Vec<_>>()
            .join(", ");
        if !versions.is_empty() && versions.iter().all(|s| s.value.starts_with("TLSv1.3")) {
            min_version = TlsVersion::Tls13;
            set(&mut lines, "min_version", "1.3", &cites);
        } else {
            set(
                &mut lines,
                "min_version",
                "1.2",
                &format!(
                    "{}: Courser accepts TLS 1.2 and 1.3 only; older versions Courier may\n\
                     allow are not offered",
                    if cites.is_empty() {
                        "TLS_PROTOCOL is not set".to_owned()
                    } else {
                        cites
                    }
                ),
            );
        }
        let mode = verify
            .as_ref()
            .map_or("NONE".to_owned(), |v| v.value.to_ascii_uppercase());
        let mut client_ca = None;
        if mode == "PEER" || mode == "REQUIREPEER" {
            match trust.as_ref().filter(|t| Path::new(&t.value).is_file()) {
                Some(t) => {
                    let mut why = format!(
                        "{}, {}",
                        verify.as_ref().map_or(String::new(), Setting::cite),
                        t.cite()
                    );
                    if mode == "REQUIREPEER" {
                        why.push_str(
                            "\nCourser asks for a client certificate but does not refuse clients\n\
                             without one (they log in with a password as usual)",
                        );
                        self.warn(
                            "TLS_VERIFYPEER=REQUIREPEER: Courser does not refuse TLS clients \
                             without a certificate"
                                .into(),
                        );
                    }
                    set(&mut lines, "client_ca", t.value.clone(), &why);
                    client_ca = Some(PathBuf::from(&t.value));
                }
                None => {
                    let w = format!(
                        "TLS_VERIFYPEER={mode} needs TLS_TRUSTCERTS to name a PEM file of CAs \
                         (a directory is not supported): client certificates are not asked for"
                    );
                    lines.push(format!("# {w}"));
                    self.warn(w);
                }
            }
        } else {
            lines.push(format!(
                "# {}: no client certificates are asked for{}",
                verify
                    .as_ref()
                    .map_or("TLS_VERIFYPEER is not set".into(), Setting::cite),
                trust.as_ref().map_or(String::new(), |t| format!(
                    ", so {} is not needed",
                    t.cite()
                ))
            ));
        }
        let mut client_identity = ClientIdentity::default();
        if let Some(e) = external.as_ref().filter(|e| !e.value.is_empty()) {
            let (name, identity) = match e.value.to_ascii_lowercase().as_str() {
                "emailaddress" => ("email", ClientIdentity::Email),
                "cn" => ("cn", ClientIdentity::Cn),
                _ => ("email-or-cn", ClientIdentity::EmailOrCn),
            };
            client_identity = identity;
            set(
                &mut lines,
                "client_identity",
                name,
                &format!(
                    "{}: the account named by a verified client certificate (SASL EXTERNAL)",
                    e.cite()
                ),
            );
        }
        let mut config = TlsConfig {
            certificate: cert_path.clone(),
            private_key: key_path.clone(),
            min_version,
            sni: Vec::new(),
            client_ca,
            client_identity,
        };
        let sni = self.sni_certificates(&config, &cert_path, key.is_some().then_some(&key_path));
        for (sni, why) in &sni {
            lines.push(String::new());
            lines.push(format!("# {why}"));
            lines.push("[[tls.sni]]".into());
            lines.push(format!("name = {}", toml::Value::from(sni.name.as_str())));
            for (k, p) in [
                ("certificate", &sni.certificate),
                ("private_key", &sni.private_key),
            ] {
                lines.push(format!(
                    "{k} = {}",
                    toml::Value::from(p.display().to_string())
                ));
            }
        }
        config.sni = sni.into_iter().map(|(s, _)| s).collect();
        match crate::tls::server_config(&config) {
            Ok(_) => {
                self.out.tls = lines;
                Ok(())
            }
            Err(e) => {
                let why = format!("the certificate does not load: {e}");
                self.out.tls.push(format!(
                    "# [tls] is left out: {why}. Without it there is no STARTTLS and no TLS port."
                ));
                self.out.tls.push("# [tls]".into());
                self.out.tls.extend(commented(&lines));
                self.warn(why.clone());
                Err(why)
            }
        }
    }

    /// Courier's per-host certificates, `<TLS_CERTFILE>.<host name>` (and
    /// `<TLS_PRIVATE_KEYFILE>.<host name>`), as `[[tls.sni]]` entries that
    /// load. Per-address ones (`….192.0.2.1`) have no Courser equivalent.
    fn sni_certificates(
        &mut self,
        base: &TlsConfig,
        cert: &Path,
        key: Option<&PathBuf>,
    ) -> Vec<(SniCertificate, String)> {
        let (Some(dir), Some(stem)) = (cert.parent(), cert.file_name()) else {
            return Vec::new();
        };
        let prefix = format!("{}.", stem.to_string_lossy());
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_prefix(&prefix).map(str::to_owned)
            })
            .collect();
        names.sort();
        let mut found = Vec::new();
        for host in names {
            let certificate = dir.join(format!("{prefix}{host}"));
            if host.parse::<IpAddr>().is_ok() {
                let w = format!(
                    "{}: a certificate for clients connecting to {host}: Courser chooses \
                     certificates by the name clients ask for only; not used",
                    certificate.display()
                );
                self.warn(w);
                continue;
            }
            // A host name has a dot; `.bak` or `.dpkg-old` is no host.
            if !host.contains('.') || rustls_pki_types::DnsName::try_from(host.as_str()).is_err() {
                continue;
            }
            let private_key = key.map_or(certificate.clone(), |k| {
                PathBuf::from(format!("{}.{host}", k.display()))
            });
            let alone = TlsConfig {
                certificate: certificate.clone(),
                private_key: private_key.clone(),
                sni: Vec::new(),
                ..base.clone()
            };
            match crate::tls::server_config(&alone) {
                Ok(_) => found.push((
                    SniCertificate {
                        name: host.clone(),
                        certificate,
                        private_key,
                    },
                    format!("Courier's certificate for clients asking for {host} (SNI)"),
                )),
                Err(e) => self.warn(format!(
                    "{}: Courier's certificate for {host} does not load, not used: {e}",
                    certificate.display()
                )),
            }
        }
        found
    }
}
