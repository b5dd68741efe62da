//! `courser`: the Courser mail access server and its tools.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    Imapd(cmd::imapd::Args),
    /// Create maildirs and folders, set quotas (Courier's maildirmake).
    Maildirmake(cmd::maildirmake::Args),
    /// Deliver standard input into a maildir honouring its quota (Courier's
    /// deliverquota).
    Deliver(cmd::deliver::Args),
    /// Hash a password read from standard input (Courier's userdbpw).
    Pw(cmd::pw::Args),
    /// Manage a userdb file (Courier's userdb).
    Userdb(cmd::userdb::Args),
    /// Look up or authenticate one account (Courier's authtest).
    Authtest(cmd::authtest::Args),
    /// Internal: the privileged authentication helper `courser serve`
    /// starts for PAM and shadow (see courser_server::auth).
    #[command(hide = true)]
    AuthHelper {
        /// The Unix socket to serve on.
        #[arg(long)]
        socket: PathBuf,
        /// `uid:gid` that may use the socket.
        #[arg(long)]
        owner: String,
        /// The backend's settings, as one `[[auth.backend]]` table in TOML.
        #[arg(long)]
        backend: String,
    },
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("COURSER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn serve(config: PathBuf) -> ExitCode {
    init_logging();
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
    let loaded = courser_server::config::Config::load(&config);
    let checked = loaded.and_then(|c| {
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

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Serve { config } => serve(config),
        Command::Demo(args) => {
            init_logging();
            cmd::demo::run(args)
        }
        Command::CheckConfig { config } => check_config(config),
        Command::Imapd(args) => cmd::imapd::run(args),
        Command::Maildirmake(args) => cmd::maildirmake::run(args),
        Command::Deliver(args) => cmd::deliver::run(args),
        Command::Pw(args) => cmd::pw::run(args),
        Command::Userdb(args) => cmd::userdb::run(args),
        Command::Authtest(args) => cmd::authtest::run(args),
        Command::AuthHelper {
            socket,
            owner,
            backend,
        } => {
            init_logging();
            let owner = owner
                .split_once(':')
                .and_then(|(u, g)| Some((u.parse().ok()?, g.parse().ok()?)));
            let result = match owner {
                Some(owner) => courser_server::auth::helper_main(&socket, owner, &backend),
                None => Err("--owner wants uid:gid".into()),
            };
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("courser auth-helper: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
