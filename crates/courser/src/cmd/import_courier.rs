//! `courser import-courier`: write a `courser.toml` from Courier's
//! configuration directory (the mapping is
//! `courser_server::courier_import`).
//!
//! The text is loaded back as a configuration before anything is written,
//! so what this prints or writes is a file `courser serve` accepts.
//! `--out` is written atomically (a temporary file in the same folder,
//! then a rename) and never replaces an existing file without `--force`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use courser_server::config::Config;
use courser_server::courier_import;

/// Arguments of `courser import-courier`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Courier's configuration directory.
    #[arg(long, value_name = "DIR", default_value = "/etc/courier")]
    pub from: PathBuf,
    /// Write the configuration here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace FILE if it exists.
    #[arg(long, requires = "out")]
    pub force: bool,
}

/// Runs the command.
pub fn run(args: Args) -> ExitCode {
    match import(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("import-courier: {e}");
            ExitCode::FAILURE
        }
    }
}

fn import(args: &Args) -> Result<(), String> {
    let imported = courier_import::import(&args.from).map_err(|e| e.to_string())?;
    for w in &imported.warnings {
        eprintln!("import-courier: warning: {w}");
    }
    // Relative paths in a config resolve against its folder: load the
    // text from where it will live.
    let folder = match &args.out {
        Some(out) => {
            let parent = out.parent().filter(|p| !p.as_os_str().is_empty());
            parent.unwrap_or(Path::new(".")).to_owned()
        }
        None => std::env::temp_dir(),
    };
    let mut file = tempfile::Builder::new()
        .prefix(".courser-import")
        .suffix(".toml")
        .tempfile_in(&folder)
        .map_err(|e| format!("{}: {e}", folder.display()))?;
    file.write_all(imported.toml.as_bytes())
        .and_then(|()| file.as_file().sync_all())
        .map_err(|e| format!("{}: {e}", file.path().display()))?;
    if let Err(e) = Config::load_with_warnings(file.path()) {
        return Err(format!(
            "the configuration written from {} does not load, so it was not written \
             (a bug: please report it): {e}",
            args.from.display()
        ));
    }
    let Some(out) = &args.out else {
        print!("{}", imported.toml);
        return Ok(());
    };
    // The config names files, not secrets: readable like /etc/courier/imapd.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o644))
        .map_err(|e| format!("{}: {e}", file.path().display()))?;
    let persisted = if args.force {
        file.persist(out)
    } else {
        file.persist_noclobber(out)
    };
    persisted.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            format!("{} exists; --force replaces it", out.display())
        } else {
            format!("{}: {}", out.display(), e.error)
        }
    })?;
    eprintln!(
        "import-courier: wrote {}; check it with `courser check-config --config {}`",
        out.display(),
        out.display()
    );
    Ok(())
}
