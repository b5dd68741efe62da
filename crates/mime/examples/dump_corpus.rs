//! Writes the generated test corpus ([`courser_mime::corpus::messages`])
//! into a directory, one file per message named after it, for tests in
//! other languages (the differential test in `tests/e2e`).
//!
//! Usage: `dump_corpus DIR`

fn main() -> std::process::ExitCode {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: dump_corpus DIR");
        return std::process::ExitCode::FAILURE;
    };
    let dir = std::path::PathBuf::from(dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("dump_corpus: {}: {e}", dir.display());
        return std::process::ExitCode::FAILURE;
    }
    for m in courser_mime::corpus::messages() {
        if let Err(e) = std::fs::write(dir.join(&m.name), &m.bytes) {
            eprintln!("dump_corpus: {}: {e}", m.name);
            return std::process::ExitCode::FAILURE;
        }
    }
    std::process::ExitCode::SUCCESS
}
