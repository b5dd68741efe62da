//! `courser imapd` and `courser pop3d`: one preauthenticated session on
//! standard input and output, for the invoking user's maildir (Courier's
//! imapd and pop3d run directly; what mutt, mbsync, offlineimap and
//! fetchmail tunnels run over ssh). As for Courier's imapd, the
//! environment may name the user (`AUTHENTICATED`) and the account's
//! authlib options (`OPTIONS`: ACL groups, `disableshared`,
//! `sharedgroup`), and the virtual shared folders
//! (`IMAP_SHAREDINDEXFILE`, `IMAP_SHAREDMUNGENAMES`); `PROTOCOL=SMAP1`
//! makes it an SMAP session.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use courser_server::config::Config;
use courser_server::shared::Shared;
use nix::unistd::{Uid, User};

/// `courser imapd` / `courser pop3d` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The maildir; default `$MAILDIR`, else `$HOME/Maildir`.
    maildir: Option<PathBuf>,
}

/// `courser imapd` options.
#[derive(clap::Args, Debug)]
pub struct ImapdArgs {
    #[command(flatten)]
    args: Args,
    /// The server's configuration file, whose `[imap]` and `[maildir]`
    /// settings (keywords, trash, outbox, ...) then apply as they do to
    /// `courser serve`'s sessions; without it, the defaults.
    #[arg(long)]
    config: Option<PathBuf>,
}

fn maildir(args: &Args) -> Option<PathBuf> {
    args.maildir
        .clone()
        .or_else(|| std::env::var_os("MAILDIR").map(PathBuf::from))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join("Maildir")))
}

/// The session's user: `AUTHENTICATED` when set (as authlib sets it for
/// Courier's imapd), else the invoking user's name (its uid when it has
/// none).
fn user() -> String {
    if let Some(name) = std::env::var("AUTHENTICATED")
        .ok()
        .filter(|n| !n.is_empty())
    {
        return name;
    }
    User::from_uid(Uid::effective())
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| Uid::effective().to_string())
}

const HOSTNAME: &str = "localhost";

/// A protocol line on standard output, with the CRLF both protocols end
/// lines with.
macro_rules! reply {
    ($($arg:tt)*) => {
        print!("{}\r\n", format_args!($($arg)*))
    };
}

/// Runs an IMAP session until the client logs out or the input ends.
pub fn imapd(args: ImapdArgs) -> ExitCode {
    use courser_imap::mailstore::{AclUser, MaildirStore};
    use courser_imap::session::{Session, SessionConfig};
    use courser_maildir::{Store, StoreOptions};
    let config = match &args.config {
        Some(file) => match Config::load_with_warnings(file) {
            Ok((config, warnings)) => {
                for w in warnings {
                    eprintln!("courser imapd: warning: {w}");
                }
                config
            }
            Err(e) => {
                reply!("* BYE Cannot read the configuration: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => Config::default(),
    };
    let Some(path) = maildir(&args.args) else {
        reply!("* BYE No maildir: set MAILDIR or HOME");
        return ExitCode::FAILURE;
    };
    let user = user();
    if !arrive(&path, &user) {
        reply!("* BYE {}", courser_server::arrival::LOCKED);
        return ExitCode::FAILURE;
    }
    let options = StoreOptions {
        keywords: config.maildir.keywords,
        trash_name: config.maildir.trash.clone(),
        sharables: config.maildir.system_shared_maildirs(),
        ..StoreOptions::default()
    };
    let store = match Store::open(&path, options) {
        Ok(s) => s,
        Err(e) => {
            reply!("* BYE Cannot open the maildir: {e}");
            return ExitCode::FAILURE;
        }
    };
    let session_config = SessionConfig {
        tls_active: false,
        starttls_available: false,
        login_requires_tls: false,
        hostname: HOSTNAME.into(),
        limits: config.imap.limits(),
    };
    // The account's authlib options (ACL groups), as authlib passes them
    // to Courier's imapd.
    let options = std::env::var("OPTIONS").unwrap_or_default();
    let mut store = MaildirStore::new(store, AclUser::new(&user, &user, &options));
    // Courier's imapd reads its virtual shared folder settings from the
    // environment: they override the configuration file's.
    let mut maildir_config = config.maildir.clone();
    if let Some(file) = std::env::var_os("IMAP_SHAREDINDEXFILE") {
        maildir_config.shared_index = PathBuf::from(file);
    }
    if let Ok(v) = std::env::var("IMAP_SHAREDMUNGENAMES") {
        maildir_config.shared_munge_names = !v.is_empty() && v != "0";
    }
    if let Some(index) = maildir_config.shared_index(&options) {
        store = store.with_shared(index);
    }
    // As Courier's imapd, `PROTOCOL=SMAP1` makes the session an SMAP one.
    let session = if std::env::var("PROTOCOL").as_deref() == Ok("SMAP1") {
        let smap = courser_server::imap::smap_starter(&config, HOSTNAME);
        Session::preauthenticated_in(session_config, &user, smap.as_ref(), Box::new(store))
    } else {
        Session::preauthenticated(session_config, &user, Box::new(store))
    };
    serve("imapd", config, |shared, stream| async move {
        courser_server::imap::serve_preauthenticated(stream, session, shared).await;
    })
}

/// What Courier's imapd and pop3d do first when run directly: false when
/// the home is locked with the sticky bit; else runs the maildir's
/// `loginexec`. The home is `$HOME` (Courier looks at its working
/// directory, which is the home when authlib or ssh started it, but a
/// sticky `/tmp` as working directory would lock everyone out).
fn arrive(maildir: &Path, user: &str) -> bool {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| ".".into());
    if courser_server::arrival::home_locked(&home) {
        return false;
    }
    courser_server::arrival::run_loginexec(maildir, user);
    true
}

/// Runs a POP3 session (in the TRANSACTION state) until QUIT or the end of
/// the input; only QUIT deletes (RFC 1939 §6).
pub fn pop3d(args: Args) -> ExitCode {
    use courser_pop3::maildrop::MaildirDrop;
    use courser_pop3::session::{Session, SessionConfig};
    let Some(path) = maildir(&args) else {
        reply!("-ERR No maildir: set MAILDIR or HOME");
        return ExitCode::FAILURE;
    };
    let user = user();
    if !arrive(&path, &user) {
        reply!("-ERR {}", courser_server::arrival::LOCKED);
        return ExitCode::FAILURE;
    }
    let drop = match MaildirDrop::open(
        Path::new(&path),
        HOSTNAME,
        std::time::SystemTime::now(),
        None,
    ) {
        Ok(d) => d,
        Err(e) => {
            reply!("-ERR [SYS/TEMP] Cannot open the maildrop: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = SessionConfig {
        tls_active: false,
        stls_available: false,
        login_requires_tls: false,
        hostname: HOSTNAME.into(),
        limits: Default::default(),
    };
    let session = Session::preauthenticated(config, &user, Box::new(drop));
    serve("pop3d", Config::default(), |shared, stream| async move {
        courser_server::pop3::serve_preauthenticated(stream, session, shared).await;
    })
}

/// Standard input and output as one stream.
type Stdio = tokio::io::Join<tokio::io::Stdin, tokio::io::Stdout>;

/// Runs `session` over standard input and output on a small runtime,
/// under `config`.
fn serve<F, Fut>(name: &str, config: Config, session: F) -> ExitCode
where
    F: FnOnce(Arc<Shared>, Stdio) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("courser {name}: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        // Never signalled: the session ends with its input.
        let (_stop, shutdown) = tokio::sync::watch::channel(false);
        let shared = Arc::new(Shared::standalone(config, HOSTNAME.into(), shutdown));
        let stream = tokio::io::join(tokio::io::stdin(), tokio::io::stdout());
        session(shared, stream).await;
    });
    ExitCode::SUCCESS
}
