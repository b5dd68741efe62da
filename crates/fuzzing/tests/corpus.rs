//! Replays the committed seed corpus (`fuzz/corpus/<target>/`) through
//! every fuzz target body on stable Rust, so each `cargo test` checks the
//! targets' invariants on every seed (and every crash input committed
//! there as a regression).

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

use courser_fuzzing::TARGETS;

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus")
}

#[test]
fn every_target_has_a_seed_corpus_and_passes_it() {
    let root = corpus_root();
    let mut failures = Vec::new();
    for (name, body) in TARGETS {
        let dir = root.join(name);
        let mut files: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("no corpus directory {}: {e}", dir.display()))
            .map(|entry| entry.expect("readable corpus directory").path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        assert!(
            !files.is_empty(),
            "empty corpus directory {}",
            dir.display()
        );
        for file in files {
            let data = fs::read(&file).expect("readable corpus file");
            if panic::catch_unwind(|| body(&data)).is_err() {
                failures.push(file.display().to_string());
            }
        }
    }
    assert!(failures.is_empty(), "targets panicked on: {failures:#?}");
}

#[test]
fn every_corpus_directory_belongs_to_a_target() {
    for entry in fs::read_dir(corpus_root()).expect("fuzz/corpus exists") {
        let name = entry.expect("readable").file_name();
        let name = name.to_string_lossy();
        assert!(
            TARGETS.iter().any(|(t, _)| *t == name),
            "fuzz/corpus/{name} has no target"
        );
    }
}

#[test]
fn every_target_has_a_cargo_fuzz_entry() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/fuzz_targets");
    for (name, _) in TARGETS {
        let file = dir.join(format!("{name}.rs"));
        let text =
            fs::read_to_string(&file).unwrap_or_else(|e| panic!("missing {}: {e}", file.display()));
        // `imap_framer` calls `courser_fuzzing::imap::framer(data)`.
        let (module, body) = name.split_once('_').expect("target names are module_body");
        let call = format!("courser_fuzzing::{module}::{body}(data)");
        assert!(
            text.contains("fuzz_target!") && text.contains(&call),
            "{} does not call {call}",
            file.display()
        );
    }
}

#[test]
fn empty_input_is_fine_everywhere() {
    for (_, body) in TARGETS {
        body(&[]);
    }
}
