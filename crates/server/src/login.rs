//! After a client proved who it is: check the account may use the
//! service here, open its maildir, and log the login the way Courier does
//! (one line per login, failed login and logout).

use std::net::SocketAddr;
use std::sync::Arc;

use courser_auth::sasl::Credentials;
use courser_imap::session::Session;
use courser_maildir::{Store, StoreOptions};

use crate::runtime::Shared;

/// Verifies IMAP credentials and completes the session's login.
pub async fn imap_login(
    session: &mut Session,
    credentials: Credentials,
    peer: SocketAddr,
    tls: bool,
    shared: &Arc<Shared>,
    out: &mut Vec<u8>,
) {
    let login = credentials.login().to_owned();
    let auth = Arc::clone(&shared.auth);
    let verified = tokio::task::spawn_blocking(move || auth.verify("imap", &credentials)).await;
    let account = match verified {
        Ok(Ok(account)) => account,
        Ok(Err(e)) => {
            let temporary = e.is_temporary();
            if temporary {
                tracing::warn!(user = %login, ip = %peer.ip(), "LOGIN FAILED (temporary): {e}");
            } else {
                tracing::info!(user = %login, ip = %peer.ip(), port = peer.port(), "LOGIN FAILED");
                // Slow down password guessing (Courier waits 5 s).
                let delay = std::time::Duration::from_secs(shared.config.auth.failure_delay_secs);
                tokio::time::sleep(delay).await;
            }
            session.login_failed(temporary, out);
            return;
        }
        Err(e) => {
            tracing::error!(user = %login, "authentication task failed: {e}");
            session.login_failed(true, out);
            return;
        }
    };
    if !account.service_allowed("imap", tls) {
        tracing::info!(user = %account.login, ip = %peer.ip(), "LOGIN REFUSED: IMAP disabled for this account");
        session.login_refused("IMAP access is disabled for this account", out);
        return;
    }
    if let Some(uid) = shared.enforce_uid {
        if account.uid != uid {
            tracing::warn!(
                user = %account.login,
                account_uid = account.uid,
                server_uid = uid,
                "LOGIN REFUSED: the account's uid differs from the uid this shared-mode server runs as"
            );
            session.login_refused(
                "This account cannot be served here, contact the administrator",
                out,
            );
            return;
        }
    }
    let maildir = account.maildir_path_or(&shared.config.maildir.default_path);
    let options = StoreOptions {
        keywords: shared.config.maildir.keywords,
        trash_name: shared.config.maildir.trash.clone(),
        hostname: shared.hostname.clone(),
        ..StoreOptions::default()
    };
    let opened = tokio::task::spawn_blocking(move || Store::open(&maildir, options)).await;
    match opened {
        Ok(Ok(store)) => {
            tracing::info!(
                user = %account.login,
                ip = %peer.ip(),
                port = peer.port(),
                protocol = "IMAP",
                tls,
                "LOGIN"
            );
            session.login_succeeded(&account.login, store, out);
        }
        Ok(Err(e)) => {
            tracing::error!(user = %account.login, "cannot open the maildir: {e}");
            session.login_failed(true, out);
        }
        Err(e) => {
            tracing::error!(user = %account.login, "maildir open task failed: {e}");
            session.login_failed(true, out);
        }
    }
}
