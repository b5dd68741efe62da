//! Courier's start-script configuration files as `courser import-courier`
//! reads them ([`courser_server::courier_import::shell::parse`]).

use std::collections::HashMap;

use courser_server::courier_import::shell::parse;

/// `NAME=value` shell text.
///
/// Checks: no panic; every assignment names a shell variable and a line
/// of the text, in order; every problem names a line; the environment
/// afterwards holds each name's last value; and parsing again with that
/// environment gives the same lines (only expansions may differ).
pub fn shell(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let lines = text.split('\n').count();
    let mut env = HashMap::new();
    let parsed = parse(&text, &mut env);
    let mut last_line = 0;
    for a in &parsed.assignments {
        let mut chars = a.name.chars();
        assert!(chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_'));
        assert!(chars.all(|c| c.is_ascii_alphanumeric() || c == '_'));
        assert!(a.line >= last_line && a.line >= 1 && a.line <= lines);
        last_line = a.line;
    }
    for (line, why) in &parsed.problems {
        assert!(*line >= 1 && *line <= lines && !why.is_empty());
    }
    let mut last = HashMap::new();
    for a in &parsed.assignments {
        last.insert(a.name.clone(), a.value.clone());
    }
    for (name, value) in &last {
        assert_eq!(env.get(name), Some(value));
    }
    let again = parse(&text, &mut env);
    let where_ = |f: &courser_server::courier_import::shell::ShellFile| -> Vec<(usize, String)> {
        f.assignments
            .iter()
            .map(|a| (a.line, a.name.clone()))
            .collect()
    };
    assert_eq!(where_(&again), where_(&parsed));
}
