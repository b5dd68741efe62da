//! `courser imapd`: one preauthenticated IMAP session on standard input
//! and output, for the invoking user's maildir (Courier's imapd run
//! directly; what mutt, mbsync and offlineimap tunnels run over ssh).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use courser_imap::session::{Session, SessionConfig};
use courser_maildir::{Store, StoreOptions};
use courser_server::config::Config;
use courser_server::limits::ConnectionLimits;
use courser_server::runtime::Shared;
use courser_server::watch::Watcher;
use nix::unistd::{Uid, User};

/// `courser imapd` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The maildir; default `$MAILDIR`, else `$HOME/Maildir`.
    maildir: Option<PathBuf>,
}

fn maildir(args: &Args) -> Option<PathBuf> {
    args.maildir
        .clone()
        .or_else(|| std::env::var_os("MAILDIR").map(PathBuf::from))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join("Maildir")))
}

/// Runs the session until the client logs out or the input ends.
pub fn run(args: Args) -> ExitCode {
    let Some(path) = maildir(&args) else {
        println!("* BYE No maildir: set MAILDIR or HOME");
        return ExitCode::FAILURE;
    };
    let store = match Store::open(&path, StoreOptions::default()) {
        Ok(s) => s,
        Err(e) => {
            println!("* BYE Cannot open the maildir: {e}");
            return ExitCode::FAILURE;
        }
    };
    let user = User::from_uid(Uid::effective())
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| Uid::effective().to_string());
    let config: Config = match toml::from_str("") {
        Ok(c) => c,
        Err(e) => {
            eprintln!("courser imapd: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Never signalled: the session ends with its input.
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let shared = Arc::new(Shared {
        shutdown,
        tls: None,
        auth: Arc::new(courser_auth::Authenticator::new()),
        watcher: Watcher::start(),
        hostname: "localhost".into(),
        enforce_uid: None,
        limits: ConnectionLimits::new(&config.limits),
        access: Default::default(),
        trusted: Vec::new(),
        config,
    });
    let session = Session::preauthenticated(
        SessionConfig {
            tls_active: false,
            starttls_available: false,
            login_requires_tls: false,
            hostname: shared.hostname.clone(),
            limits: Default::default(),
        },
        &user,
        store,
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("courser imapd: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let stream = tokio::io::join(tokio::io::stdin(), tokio::io::stdout());
        courser_server::imap::serve_preauthenticated(stream, session, shared).await;
    });
    ExitCode::SUCCESS
}
