//! Why a Courier setting has no Courser key.

/// Why a setting has no Courser key.
pub(super) fn unmapped_reason(name: &str, value: &str) -> String {
    if value.is_empty() {
        return "empty: nothing to map".into();
    }
    let reason = match name {
        "PIDFILE" | "SSLPIDFILE" => "not needed: systemd (or the caller) tracks the process",
        "COURIERTLS" | "TLS_CACHEFILE" | "TLS_CACHESIZE" | "TLS_DHPARAMS" | "TLS_DHCERTFILE"
        | "TLS_MIN_DH_BITS" => {
            "not needed: TLS is built in (rustls), with an in-memory session cache and no DH parameters"
        }
        "TLS_CIPHER_LIST" | "TLS_PRIORITY" => {
            "not supported: Courser offers rustls's safe cipher suites only"
        }
        "TLS_TIMEOUT" => "not needed: Courier does not implement it either",
        "TLS_ALPN" => "not needed: Courser does not negotiate ALPN",
        "IMAP_CAPABILITY_ORIG" | "IMAP_CAPABILITY_TLS_ORIG" | "POP3AUTH_ORIG"
        | "POP3AUTH_TLS_ORIG" | "authmodulelistorig" => {
            "not needed: a copy for Courier's web administration tool; the server does not read it"
        }
        "POP3AUTH" | "POP3AUTH_TLS" => {
            "not needed: Courser advertises the SASL mechanisms its backends support"
        }
        "TCPDOPTS" => return tcpd_options(value),
        "IMAP_PROXY" | "POP3_PROXY" | "PROXY_HOSTNAME" | "IMAP_PROXY_FOREIGN" => {
            if value.is_empty() || value == "0" {
                "off in Courier too"
            } else {
                "not imported: set [proxy] enabled = true, and local_names = [PROXY_HOSTNAME] \
                 when this server also serves mail (docs/config.md, \"Proxy mode\")"
            }
        }
        "IMAP_MAILBOX_SANITY_CHECK" => {
            "not needed: Courser serves a maildir only as the account's own uid (or the run_as user)"
        }
        "IMAP_UMASK" => "not needed: Courser creates files with Courier's modes itself",
        "IMAP_ULIMITD" => "different mechanism: [imap] max_message_size bounds a message; set memory limits in the systemd unit",
        "IMAP_USELOCKS" => "not needed: Courser's folder index updates need no lock file",
        "IMAP_ENHANCEDIDLE" => {
            "not needed: Courier no longer reads it; Courser uses inotify where it can, as Courier does"
        }
        "IMAP_CHECK_ALL_FOLDERS" | "IMAP_OBSOLETE_CLIENT" | "IMAP_LOG_DELETIONS"
        | "POP3_LOG_DELETIONS" | "AUTH_MKHOMEDIR_SKEL" | "IMAP_ID_FIELDS" | "IMAPDEBUGFILE"
        | "MIME_UNICODE_MESSAGE_TYPE" | "UTF8" => {
            if value.is_empty() || value == "0" {
                "off in Courier too"
            } else {
                "not supported yet"
            }
        }
        "IMAP_BROKENUIDV" | "POP3DEBUGNOSAVE" => "not needed: a test hook of Courier's",
        "daemons" => {
            "not needed: Courser sizes its authentication threads itself ([auth] login_threads)"
        }
        // The servers' own logger options are mapped to [log]; this is authdaemond's.
        "LOGGEROPTS" => "not needed: Courser's authentication process logs to standard error",
        "authdaemonvar" => "not needed: Courser's authentication process is its own",
        "DEBUG_LOGIN" => "not needed: run with COURSER_LOG=debug to see login details",
        "IMAP_STARTTLS" | "IMAP_TLS" | "POP3_TLS" => "not needed: the start scripts derive it",
        n if n.starts_with("AUTHSERVICE") => {
            "not supported: the PAM service is always the protocol's name (imap, pop3)"
        }
        n if n.starts_with("LDAP") => {
            "an environment setting for libldap: give an ldap backend's CA as its ca_certificate"
        }
        _ => "not a setting Courser knows: ignored",
    };
    reason.to_owned()
}

/// What couriertcpd's options mean for Courser.
fn tcpd_options(value: &str) -> String {
    let mut notes = Vec::new();
    for w in value.split_whitespace() {
        let opt = w.split('=').next().unwrap_or(w);
        notes.push(match opt {
            "-nodnslookup" | "-noidentlookup" => {
                format!("{w}: Courser never looks names or idents up")
            }
            "-haproxy" => format!(
                "{w}: set proxy_protocol = true and proxy_protocol_from on the listeners by hand"
            ),
            _ => format!("{w}: not supported"),
        });
    }
    if notes.is_empty() {
        "no options".into()
    } else {
        notes.join("; ")
    }
}
