//! `courser man --out DIR`: writes the man pages, generated from the
//! command line definitions themselves (clap_mangen), so they never
//! drift from `--help`: `courser.8` and one `courser-<subcommand>.8` per
//! visible subcommand. Section 8: the binary is installed in
//! `/usr/sbin`. Run by `scripts/deb.sh` for the Debian package.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `courser man`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The folder to write the pages into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

fn write_page(command: clap::Command, dir: &Path) -> Result<PathBuf, String> {
    let path = dir.join(format!("{}.8", command.get_name()));
    let mut page = Vec::new();
    clap_mangen::Man::new(command)
        .section("8")
        .render(&mut page)
        .map_err(|e| e.to_string())?;
    fs::write(&path, page).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// Writes the pages of `command` (the whole `courser` command line) into
/// `args.out`.
pub fn run(args: Args, command: clap::Command) -> ExitCode {
    let result = (|| -> Result<Vec<PathBuf>, String> {
        fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
        let mut command = command;
        command.build();
        let mut written = vec![write_page(command.clone(), &args.out)?];
        // `help` is clap's own, not a page.
        let visible = |s: &&clap::Command| !s.is_hide_set() && s.get_name() != "help";
        for sub in command.get_subcommands().filter(visible) {
            let name = format!("courser-{}", sub.get_name());
            let page = sub
                .clone()
                .name(name.clone())
                .bin_name(name.replace('-', " "));
            written.push(write_page(page, &args.out)?);
        }
        Ok(written)
    })();
    match result {
        Ok(pages) => {
            for p in pages {
                println!("{}", p.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("courser man: {e}");
            ExitCode::FAILURE
        }
    }
}
