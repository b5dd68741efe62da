//! Test-only tool for the end-to-end tests (tests/e2e): checks recorded
//! server-to-client transcripts with the independent imap-codec parser
//! (`codec::validate`) and exits non-zero on the first response that does
//! not parse.
//!
//! ```text
//! validate_responses [--no-greeting] [--allow-truncated] [FILE...]
//! ```
//!
//! Each FILE (or standard input when none is given) holds every byte one
//! connection received from the server, greeting first unless
//! `--no-greeting`. `--allow-truncated` accepts an incomplete last
//! response: the client hung up while the server was still writing.

use std::io::Read;
use std::process::ExitCode;

use courser_imap::codec::validate::{validate_greeting, validate_response};

fn check(mut bytes: &[u8], greeting: bool, allow_truncated: bool) -> Result<usize, String> {
    let mut n = 0;
    if greeting && !bytes.is_empty() {
        let used = validate_greeting(bytes)?;
        bytes = &bytes[used..];
        n += 1;
    }
    let total = bytes.len();
    while !bytes.is_empty() {
        match validate_response(bytes) {
            Ok(0) => return Err("parser made no progress".into()),
            Ok(used) => bytes = &bytes[used..],
            Err(e) if allow_truncated && e.starts_with("incomplete") => break,
            Err(e) => return Err(format!("at offset {}: {e}", total - bytes.len())),
        }
        n += 1;
    }
    Ok(n)
}

fn main() -> ExitCode {
    let mut greeting = true;
    let mut allow_truncated = false;
    let mut files = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--no-greeting" => greeting = false,
            "--allow-truncated" => allow_truncated = true,
            _ => files.push(arg),
        }
    }
    let mut inputs = Vec::new();
    if files.is_empty() {
        let mut bytes = Vec::new();
        if let Err(e) = std::io::stdin().read_to_end(&mut bytes) {
            eprintln!("stdin: {e}");
            return ExitCode::from(2);
        }
        inputs.push(("<stdin>".to_string(), bytes));
    }
    for f in files {
        match std::fs::read(&f) {
            Ok(bytes) => inputs.push((f, bytes)),
            Err(e) => {
                eprintln!("{f}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    for (name, bytes) in &inputs {
        match check(bytes, greeting, allow_truncated) {
            Ok(n) => println!("{name}: {n} responses ok"),
            Err(e) => {
                eprintln!("{name}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
