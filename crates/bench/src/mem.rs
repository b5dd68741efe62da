//! Memory of the server under test: PSS (proportional set size, so shared
//! pages are split between the processes sharing them) summed over every
//! process in the trees rooted at the given pids, from
//! `/proc/<pid>/smaps_rollup`.

use std::collections::{BTreeSet, HashMap};
use std::fs;

/// Every pid in the process trees rooted at `roots` (roots included, when
/// they exist).
pub fn process_tree(roots: &[u32]) -> BTreeSet<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(dir) = fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            if let Some(ppid) = parent_of(pid) {
                children.entry(ppid).or_default().push(pid);
            }
        }
    }
    let mut out = BTreeSet::new();
    let mut todo: Vec<u32> = roots.to_vec();
    while let Some(pid) = todo.pop() {
        if fs::metadata(format!("/proc/{pid}")).is_ok() && out.insert(pid) {
            todo.extend(children.get(&pid).into_iter().flatten().copied());
        }
    }
    out
}

/// The parent pid from `/proc/<pid>/stat` (the field after the command
/// name, which may itself contain spaces and parentheses).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// PSS of one process in KiB; `None` if it is gone or unreadable.
pub fn pss_kib(pid: u32) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Summed PSS (KiB) and process count of the trees rooted at `roots`.
pub fn tree_pss_kib(roots: &[u32]) -> (u64, usize) {
    let pids = process_tree(roots);
    let total = pids.iter().filter_map(|&p| pss_kib(p)).sum();
    (total, pids.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process() {
        let me = std::process::id();
        let (kib, n) = tree_pss_kib(&[me]);
        assert!(n >= 1);
        assert!(kib > 0);
        assert!(process_tree(&[u32::MAX - 1]).is_empty());
    }
}
