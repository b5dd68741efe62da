//! `courser userdb`: Courier's `userdb` tool, same arguments:
//!
//! ```text
//! courser userdb [path/.../ | -f file ]name set field=value field ...
//! courser userdb [path/.../ | -f file ]name unset field ...
//! courser userdb [path/.../ | -f file ]name del
//! courser userdb -show [path/... | -f file ] [name]
//! courser userdb [-f file ] compile
//! ```
//!
//! A `set` field given without `=value` reads its value from a line of
//! standard input (`courser pw | courser userdb john set systempw`). The
//! file is rewritten atomically under Courier's `.lock.<file>`, so both
//! tools can be used on one userdb. No `makeuserdb` step is needed:
//! Courser reads the source and notices the change — unless the userdb
//! was compiled (`compile`, for large lists: `<userdb>.cdb`), which the
//! server then reads instead; recompile after edits, as with makeuserdb.

use std::path::Path;
use std::process::ExitCode;

use courser_auth::tools;
use courser_auth::userdb::cli::{self, Command, SetField};
use courser_auth::userdb::compiled::{self, compiled_path};
use courser_auth::userdb::edit::UserdbFile;
use courser_auth::userdb::DEFAULT_PATH;

/// Arguments of `courser userdb` (parsed Courier-style; see the module
/// documentation).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// `[path/ | -f file] name set|unset|del ...` or `-show [-f file] [name]`.
    /// The userdb defaults to /etc/courier/userdb.
    #[arg(
        value_name = "ARGS",
        num_args = 0..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("userdb: {e}");
    ExitCode::FAILURE
}

/// After an edit: a compiled form does not follow the source by itself.
fn remind_to_compile(file: &Path) -> ExitCode {
    // An edit of `<userdb>/sub` is compiled with the whole `<userdb>`.
    let compiled = [file, file.parent().unwrap_or(file)]
        .into_iter()
        .map(compiled_path)
        .find(|p| p.exists());
    if let Some(compiled) = compiled {
        eprintln!(
            "userdb: {} is compiled; run `courser userdb compile` for the change to take effect",
            compiled.display()
        );
    }
    ExitCode::SUCCESS
}

/// Runs the command.
pub fn run(args: Args) -> ExitCode {
    let command = match cli::parse(Path::new(DEFAULT_PATH), &args.args) {
        Ok(c) => c,
        Err(usage) => {
            eprintln!("{usage}");
            return ExitCode::FAILURE;
        }
    };
    match command {
        Command::Show { file, name } => match UserdbFile::new(file).show(name.as_deref()) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Command::Set { file, name, fields } => {
            let mut resolved = Vec::with_capacity(fields.len());
            for f in fields {
                match f {
                    SetField::Value(k, v) => resolved.push((k, v)),
                    SetField::FromStdin(k) => {
                        let prompt = format!("{name}.{k}: ");
                        match tools::read_line(Some(&prompt), k.ends_with("pw")) {
                            Ok(Some(v)) => resolved.push((k, v)),
                            Ok(None) => return fail(format!("no value for {k} on standard input")),
                            Err(e) => return fail(e),
                        }
                    }
                }
            }
            match UserdbFile::new(&file).set(&name, &resolved) {
                Ok(()) => remind_to_compile(&file),
                Err(e) => fail(e),
            }
        }
        Command::Unset { file, name, fields } => {
            match UserdbFile::new(&file).unset(&name, &fields) {
                Ok(_) => remind_to_compile(&file),
                Err(e) => fail(e),
            }
        }
        Command::Del { file, name } => match UserdbFile::new(&file).delete(&name) {
            Ok(_) => remind_to_compile(&file),
            Err(e) => fail(e),
        },
        Command::Compile { file } => match compiled::compile(&file) {
            Ok(done) => {
                println!(
                    "{} accounts compiled into {}",
                    done.accounts,
                    done.path.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
    }
}
