//! `courser`: the Courser mail access server and its tools.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

mod cmd;

#[derive(Parser)]
#[command(
    name = "courser",
    version,
    about = "IMAP server over Courier-compatible Maildir++"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon in the foreground.
    Serve {
        /// The TOML configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Quick start: a demo account (demo/demo) with sample mail, served on
    /// 127.0.0.1.
    Demo(cmd::demo::Args),
    /// Validate a configuration and print the effective values.
    CheckConfig {
        /// The TOML configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// One preauthenticated IMAP session on standard input and output for
    /// the invoking user's maildir (what ssh tunnels run).
    Imapd(cmd::preauth::ImapdArgs),
    /// One preauthenticated POP3 session on standard input and output for
    /// the invoking user's maildir.
    Pop3d(cmd::preauth::Args),
    /// Create maildirs and folders, set quotas (Courier's maildirmake).
    Maildirmake(cmd::maildirmake::Args),
    /// List, set and compute folder ACLs (Courier's maildiracl).
    Acl(cmd::acl::Args),
    /// Deliver standard input into a maildir honouring its quota (Courier's
    /// deliverquota).
    Deliver(cmd::deliver::Args),
    /// Hash a password read from standard input (Courier's userdbpw).
    Pw(cmd::pw::Args),
    /// Manage a userdb file (Courier's userdb).
    Userdb(cmd::userdb::Args),
    /// Write a commented configuration from Courier's files (/etc/courier).
    ImportCourier(cmd::import_courier::Args),
    /// Change an account's password in the backend that holds it
    /// (Courier's authpasswd): old and new password on standard input.
    Passwd(cmd::passwd::Args),
    /// Look up or authenticate one account (Courier's authtest).
    Authtest(cmd::authtest::Args),
    /// List every account of every backend (Courier's authenumerate).
    Authenumerate(cmd::authenumerate::Args),
    /// Build the virtual shared folder index from the account sources
    /// and install it atomically (Courier's authenumerate,
    /// sharedindexsplit and sharedindexinstall).
    SharedIndex(cmd::shared_index::Args),
    /// Maintenance: write the man pages (generated from these
    /// definitions) into a folder, for packaging.
    #[command(hide = true)]
    Man(cmd::man::Args),
    /// Internal: the authentication process `courser serve` starts (see
    /// courser_server::authd); its channel to the front end is standard
    /// input, to the spawner standard output.
    #[command(hide = true)]
    AuthServer {
        /// The file a reload re-reads.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Internal: the per-user model's spawner (see
    /// courser_server::peruser); its control socket is standard input.
    #[command(hide = true)]
    SessionSpawner {
        /// Lowest uid a worker takes on.
        #[arg(long)]
        first_valid_uid: u32,
        /// Highest uid (0: no limit).
        #[arg(long)]
        last_valid_uid: u32,
        /// Lowest gid.
        #[arg(long)]
        first_valid_gid: u32,
        /// Highest gid (0: no limit).
        #[arg(long)]
        last_valid_gid: u32,
    },
    /// Internal: one per-user session process; the session socket is
    /// standard input.
    #[command(hide = true)]
    SessionWorker {
        /// Switch to this uid (when started as root).
        #[arg(long, requires = "gid")]
        uid: Option<u32>,
        /// Switch to this gid.
        #[arg(long, requires = "uid")]
        gid: Option<u32>,
        /// The account's login.
        #[arg(long)]
        user: String,
        /// The account's home directory.
        #[arg(long)]
        home: PathBuf,
        /// The account's maildir.
        #[arg(long)]
        maildir: PathBuf,
        /// The account's authlib options.
        #[arg(long, allow_hyphen_values = true)]
        options: String,
    },
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("COURSER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only for a person watching: log files and the journal get
    // plain text.
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn serve(config: PathBuf) -> ExitCode {
    init_logging();
    // Reloads read the file again from `/`.
    let config = std::path::absolute(&config).unwrap_or(config);
    let result = courser_server::config::Config::load(&config)
        .and_then(|c| courser_server::runtime::run(c, Some(config.clone())));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("courser: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check_config(config: PathBuf) -> ExitCode {
    let loaded = courser_server::config::Config::load_with_warnings(&config);
    let checked = loaded.and_then(|(c, warnings)| {
        // No logging here: the warnings go straight to standard error.
        for w in warnings {
            eprintln!("courser: warning: {w}");
        }
        if let Some(tls) = &c.tls {
            courser_server::tls::server_config(tls)?;
        }
        Ok(c)
    });
    match checked {
        Ok(c) => {
            print!("{}", c.to_toml());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("courser: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The exit of an internal process, its error on standard error.
fn internal(name: &str, result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("courser {name}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Serve { config } => serve(config),
        Command::Demo(args) => {
            init_logging();
            cmd::demo::run(args)
        }
        Command::CheckConfig { config } => check_config(config),
        Command::Imapd(args) => cmd::preauth::imapd(args),
        Command::Pop3d(args) => cmd::preauth::pop3d(args),
        Command::Maildirmake(args) => cmd::maildirmake::run(args),
        Command::Acl(args) => cmd::acl::run(args),
        Command::Deliver(args) => cmd::deliver::run(args),
        Command::Pw(args) => cmd::pw::run(args),
        Command::Userdb(args) => cmd::userdb::run(args),
        Command::ImportCourier(args) => cmd::import_courier::run(args),
        Command::Passwd(args) => {
            init_logging();
            cmd::passwd::run(args)
        }
        Command::Authtest(args) => cmd::authtest::run(args),
        Command::Man(args) => cmd::man::run(args, Cli::command()),
        Command::Authenumerate(args) => cmd::authenumerate::run(args),
        Command::SharedIndex(args) => cmd::shared_index::run(args),
        Command::AuthServer { config } => {
            init_logging();
            internal(
                "auth-server",
                courser_server::authd::service::authd_main(config),
            )
        }
        Command::SessionSpawner {
            first_valid_uid,
            last_valid_uid,
            first_valid_gid,
            last_valid_gid,
        } => {
            init_logging();
            let valid = courser_server::peruser::spawner::ValidIds {
                first_uid: first_valid_uid,
                last_uid: last_valid_uid,
                first_gid: first_valid_gid,
                last_gid: last_valid_gid,
            };
            internal(
                "session-spawner",
                courser_server::peruser::spawner::spawner_main(valid),
            )
        }
        Command::SessionWorker {
            uid,
            gid,
            user,
            home,
            maildir,
            options,
        } => {
            init_logging();
            let args = courser_server::peruser::worker::WorkerArgs {
                uid,
                gid,
                user,
                home,
                maildir,
                options,
            };
            internal(
                "session-worker",
                courser_server::peruser::worker::worker_main(args),
            )
        }
    }
}
