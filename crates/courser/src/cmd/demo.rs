//! `courser demo`: a ready-to-try server. Creates (once) a folder with a
//! userdb holding `demo`/`demo`, a maildir with sample mail, a self-signed
//! certificate and a config, then serves it on loopback.
//!
//! The folder is private and never one another user could have prepared:
//! as root always a new one (a fresh `mkdtemp` directory, or a `--dir`
//! that must not exist yet), whose files root writes before handing them
//! to `nobody`; otherwise `--dir` or a per-user folder in the temporary
//! directory, created with mode 0700, or reused only when it is a real
//! directory of ours that nobody else can enter.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use courser_auth::password::{self};
use courser_auth::Scheme;
use courser_maildir::{tools, Flags, Store, StoreOptions};
use courser_server::config::{
    AccessConfig, AuthConfig, Config, ImapConfig, LimitsConfig, ListenerConfig, MaildirConfig,
    Pop3Config, Protocol, ServerConfig, TlsConfig,
};
use nix::unistd::{Uid, User};

/// `courser demo` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where to keep the demo files (reused on the next run; as root it
    /// must not exist yet).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    address: IpAddr,
    /// IMAP port (STARTTLS offered).
    #[arg(long, default_value_t = 1143)]
    imap_port: u16,
    /// IMAPS port (implicit TLS).
    #[arg(long, default_value_t = 1993)]
    imaps_port: u16,
    /// POP3 port (STLS offered).
    #[arg(long, default_value_t = 1110)]
    pop3_port: u16,
    /// POP3S port (implicit TLS).
    #[arg(long, default_value_t = 1995)]
    pop3s_port: u16,
}

/// Sample messages: (folder, seen, message).
const SAMPLES: &[(&str, bool, &str)] = &[
    (
        "INBOX",
        false,
        "From: Courser <courser@example.org>\nTo: Demo User <demo@example.org>\nSubject: Welcome to Courser\nDate: Mon, 23 Nov 2026 09:00:00 +0000\nMessage-ID: <welcome@courser.example>\nContent-Type: text/plain; charset=utf-8\n\nHello!\n\nThis maildir is served by Courser, a Courier-compatible IMAP server.\nTry flagging, moving and deleting messages from your mail client.\n",
    ),
    (
        "INBOX",
        false,
        "From: Alice <alice@example.org>\nTo: demo@example.org\nSubject: =?UTF-8?Q?Caf=C3=A9_on_Friday=3F?=\nDate: Tue, 24 Nov 2026 12:30:00 +0100\nMessage-ID: <cafe@example.org>\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nCaf=C3=A9 at noon?\n--b1\nContent-Type: text/html; charset=utf-8\n\n<p>Caf&eacute; at noon?</p>\n--b1--\n",
    ),
    (
        "INBOX.Archive",
        true,
        "From: Bob <bob@example.org>\nTo: demo@example.org\nSubject: Old news\nDate: Sun, 01 Nov 2026 08:00:00 +0000\nMessage-ID: <old@example.org>\n\nArchived message.\n",
    ),
];

/// The demo folder: see the module documentation.
fn private_dir(dir: Option<PathBuf>, root: bool) -> Result<PathBuf, String> {
    let create = |dir: &Path| {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))
    };
    match dir {
        None if root => tempfile::Builder::new()
            .prefix("courser-demo-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()
            .map(tempfile::TempDir::keep)
            .map_err(|e| format!("cannot create a private folder: {e}")),
        Some(dir) if root => {
            // Root reuses nothing: a folder that exists may hold links
            // planted by whoever could write there.
            create(&dir)?;
            Ok(dir)
        }
        dir => {
            let dir = dir.unwrap_or_else(|| {
                std::env::temp_dir().join(format!("courser-demo-{}", Uid::effective()))
            });
            match std::fs::symlink_metadata(&dir) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(&dir)?,
                Err(e) => return Err(format!("{}: {e}", dir.display())),
                Ok(meta) => check_ours(&dir, &meta)?,
            }
            Ok(dir)
        }
    }
}

/// An existing demo folder is reused only when it is a directory (not a
/// link) of the invoking user that nobody else may enter.
fn check_ours(dir: &Path, meta: &std::fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    if !meta.is_dir() || meta.uid() != Uid::effective().as_raw() || meta.mode() & 0o077 != 0 {
        return Err(format!(
            "{} exists but is not a private directory of yours (mode 0700); \
             remove it or choose another --dir",
            dir.display()
        ));
    }
    Ok(())
}

fn setup(dir: &Path, uid: u32, gid: u32) -> Result<(), String> {
    let err = |what: &str, e: &dyn std::fmt::Display| format!("{what}: {e}");
    let home = dir.join("home").join("demo");
    let maildir = home.join("Maildir");
    if !maildir.join("cur").exists() {
        std::fs::create_dir_all(&home).map_err(|e| err("create the home", &e))?;
        tools::make_maildir(&maildir, 0o700).map_err(|e| err("create the maildir", &e))?;
        for folder in ["Archive", "Sent", "Drafts", "Trash"] {
            tools::make_folder(&maildir, folder, None).map_err(|e| err("create a folder", &e))?;
        }
        let store = Store::open(&maildir, StoreOptions::default()).map_err(|e| err("open", &e))?;
        for (folder, seen, text) in SAMPLES {
            let flags = if *seen { Flags::SEEN } else { Flags::default() };
            store
                .append(folder, text.as_bytes(), flags, &[], None)
                .map_err(|e| err("add sample mail", &e))?;
        }
        store
            .subscribe("INBOX.Archive")
            .map_err(|e| err("subscribe", &e))?;
    }
    let userdb = dir.join("userdb");
    let hash = password::hash(Scheme::DEFAULT, b"demo").map_err(|e| err("hash", &e))?;
    let mut line = String::new();
    let _ = writeln!(
        line,
        "demo\tuid={uid}|gid={gid}|home={}|mail={}|systempw={hash}",
        home.display(),
        maildir.display()
    );
    write_private(&userdb, line.as_bytes()).map_err(|e| err("write the userdb", &e))?;
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    if !cert.exists() || !key.exists() {
        courser_server::tls::write_self_signed(&cert, &key, &["localhost", "127.0.0.1"])
            .map_err(|e| err("certificate", &e))?;
    }
    Ok(())
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)
}

/// Runs `courser demo`.
pub fn run(args: Args) -> ExitCode {
    let root = Uid::effective().is_root();
    let dir = match private_dir(args.dir, root) {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("courser demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Started as root the demo serves as `nobody`, which must own the files.
    let (uid, gid, run_as) = if root {
        match User::from_name("nobody") {
            Ok(Some(u)) => (u.uid.as_raw(), u.gid.as_raw(), Some("nobody".to_string())),
            _ => {
                eprintln!("courser demo: started as root but there is no user nobody to serve as");
                return ExitCode::FAILURE;
            }
        }
    } else {
        (
            Uid::effective().as_raw(),
            nix::unistd::Gid::effective().as_raw(),
            None,
        )
    };
    if let Err(e) = setup(&dir, uid, gid) {
        eprintln!("courser demo: {e}");
        return ExitCode::FAILURE;
    }
    if root {
        if let Err(e) = chown_tree(&dir, uid, gid) {
            eprintln!("courser demo: cannot hand {} to nobody: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    }
    let imap = SocketAddr::new(args.address, args.imap_port);
    let imaps = SocketAddr::new(args.address, args.imaps_port);
    let pop3 = SocketAddr::new(args.address, args.pop3_port);
    let pop3s = SocketAddr::new(args.address, args.pop3s_port);
    let config = Config {
        listeners: vec![
            ListenerConfig::new(Protocol::Imap, imap),
            ListenerConfig::new(Protocol::Imaps, imaps),
            ListenerConfig::new(Protocol::Pop3, pop3),
            ListenerConfig::new(Protocol::Pop3s, pop3s),
        ],
        tls: Some(TlsConfig {
            certificate: dir.join("cert.pem"),
            private_key: dir.join("key.pem"),
            min_version: Default::default(),
            sni: Vec::new(),
            client_ca: None,
            client_identity: Default::default(),
        }),
        auth: AuthConfig {
            userdb: Some(dir.join("userdb")),
            failure_delay_secs: 1,
            failure_delay_max_secs: 10,
            ..AuthConfig::default()
        },
        limits: LimitsConfig::default(),
        server: ServerConfig {
            run_as,
            ..ServerConfig::default()
        },
        imap: ImapConfig::default(),
        pop3: Pop3Config::default(),
        maildir: MaildirConfig::default(),
        access: AccessConfig::default(),
        log: Default::default(),
        metrics: None,
        proxy: Default::default(),
    };
    println!("Courser demo: files in {}", dir.display());
    println!("  IMAP  {imap}  (STARTTLS)   user demo, password demo");
    println!("  IMAPS {imaps}  (self-signed certificate)");
    println!("  POP3  {pop3}  (STLS)");
    println!("  POP3S {pop3s}  (self-signed certificate)");
    println!("  try:  curl -s --url 'imap://{imap}/INBOX' -u demo:demo -X 'FETCH 1:* ENVELOPE'");
    match courser_server::runtime::run(config, None) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("courser demo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn chown_tree(path: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))?;
    if path.is_dir() && !path.is_symlink() {
        for entry in std::fs::read_dir(path)? {
            chown_tree(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}
