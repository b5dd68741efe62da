//! SMAP snapshots (spec §6): a folder's index as a client last saw it,
//! saved in the folder's `courierimapsnapshots/` in Courier's format, so
//! that a client reopening the folder with `SOPEN id` gets only what
//! changed since — from Courser or from Courier, whichever wrote it.
//!
//! A snapshot file is named by its id. Its first line is `1 <count>
//! <uidvalidity> <nextuid>`, then `:<previous id>` when it follows
//! another; then one `<uid>:<info>` line per message (`info`: what
//! follows the `:` of the message's file name, `2,FS`); then, when
//! keywords are on, the keywords as `courierimapkeywords/:list` keeps
//! them: their names, an empty line, and `<base name>:<numbers>` lines.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use courser_imap::mailstore::Flags;

/// The directory in a folder that holds its snapshots.
pub const DIR: &str = "courierimapsnapshots";

/// The snapshot format.
const VERSION: u32 = 1;

/// One message as a snapshot saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its UID.
    pub uid: u32,
    /// Its flags.
    pub flags: Flags,
    /// Its keywords, sorted.
    pub keywords: Vec<String>,
}

/// A folder's index as a snapshot saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The folder's UIDVALIDITY then.
    pub uidvalidity: u32,
    /// Its next UID then.
    pub nextuid: u32,
    /// The snapshot this one followed.
    pub previous: Option<String>,
    /// The messages, in order.
    pub messages: Vec<Entry>,
}

/// Whether a client's snapshot id may name a file in the directory
/// (Courier refuses the same: empty, `/`, a leading `.`).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && !id.contains('/') && !id.starts_with('.')
}

/// The snapshot `id` of the folder in `folder_dir`; `base_of` gives a
/// UID's base name (for the keywords, which name messages by file).
/// `None` for one that is missing or not readable as a snapshot.
pub fn read(
    folder_dir: &Path,
    id: &str,
    base_of: impl Fn(u32) -> Option<String>,
) -> Option<Snapshot> {
    if !valid_id(id) {
        return None;
    }
    let text = std::fs::read(folder_dir.join(DIR).join(id)).ok()?;
    parse(&text, base_of)
}

/// A snapshot's first line: `(count, uidvalidity, nextuid, previous)`.
fn header(line: &str) -> Option<(u32, u32, u32, Option<String>)> {
    let (numbers, previous) = match line.split_once(':') {
        Some((n, p)) => (n, Some(p.to_owned())),
        None => (line, None),
    };
    let numbers: Vec<u32> = numbers
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let [version, count, uidvalidity, nextuid] = numbers[..] else {
        return None;
    };
    (version == VERSION).then_some((count, uidvalidity, nextuid, previous))
}

fn parse(text: &[u8], base_of: impl Fn(u32) -> Option<String>) -> Option<Snapshot> {
    let text = std::str::from_utf8(text).ok()?;
    let mut lines = text.split('\n');
    let (count, uidvalidity, nextuid, previous) = header(lines.next()?)?;
    let mut messages = Vec::with_capacity(count as usize);
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for _ in 0..count {
        let (uid, info) = lines.next()?.split_once(':')?;
        let uid: u32 = uid.parse().ok()?;
        if let Some(base) = base_of(uid) {
            by_name.insert(base, messages.len());
        }
        messages.push(Entry {
            uid,
            flags: flags_of(info),
            keywords: Vec::new(),
        });
    }
    // The keywords: their names up to an empty line, then each message's
    // base name and the names' numbers (a whole file name, with its own
    // colon, is taken too).
    let mut table = Vec::new();
    for line in lines.by_ref() {
        if line.is_empty() {
            break;
        }
        table.push(line.to_owned());
    }
    for line in lines {
        let Some((name, numbers)) = line.rsplit_once(':') else {
            continue;
        };
        let base = name.split_once(':').map_or(name, |(base, _)| base);
        let Some(&at) = by_name.get(base) else {
            continue;
        };
        let mut keywords: Vec<String> = numbers
            .split(' ')
            .filter_map(|n| table.get(n.parse::<usize>().ok()?).cloned())
            .collect();
        keywords.sort();
        keywords.dedup();
        messages[at].keywords = keywords;
    }
    Some(Snapshot {
        uidvalidity,
        nextuid,
        previous,
        messages,
    })
}

/// The flags of a file name's info (`2,FS`).
fn flags_of(info: &str) -> Flags {
    info.strip_prefix("2,")
        .map_or(Flags::EMPTY, Flags::from_letters)
}

/// The info a file with `flags` has (`2,FS`).
fn info_of(flags: Flags) -> String {
    format!("2,{}", flags.to_letters())
}

/// The snapshot file's text; `base_of` names the messages for the
/// keywords (written when `keywords`).
fn render(snapshot: &Snapshot, keywords: bool, base_of: impl Fn(u32) -> Option<String>) -> Vec<u8> {
    let mut out = format!(
        "{VERSION} {} {} {}",
        snapshot.messages.len(),
        snapshot.uidvalidity,
        snapshot.nextuid
    );
    if let Some(previous) = &snapshot.previous {
        out.push(':');
        out.push_str(previous);
    }
    out.push('\n');
    for m in &snapshot.messages {
        out.push_str(&format!("{}:{}\n", m.uid, info_of(m.flags)));
    }
    if keywords {
        let mut table: Vec<&str> = snapshot
            .messages
            .iter()
            .flat_map(|m| m.keywords.iter().map(String::as_str))
            .collect();
        table.sort_unstable();
        table.dedup();
        for k in &table {
            out.push_str(k);
            out.push('\n');
        }
        out.push('\n');
        for m in snapshot.messages.iter().filter(|m| !m.keywords.is_empty()) {
            let Some(base) = base_of(m.uid) else {
                continue;
            };
            let numbers: Vec<String> = m
                .keywords
                .iter()
                .filter_map(|k| table.binary_search(&k.as_str()).ok())
                .map(|i| i.to_string())
                .collect();
            out.push_str(&format!("{base}:{}\n", numbers.join(" ")));
        }
    }
    out.into_bytes()
}

/// Saves `snapshot` of the folder in `folder_dir` under a new unique id
/// (Courier's kind: `<time>.M<µs>P<pid>_snapshot.<host>`), written in
/// the folder's `tmp/` and renamed into place; the id.
pub fn write(
    folder_dir: &Path,
    host: &str,
    snapshot: &Snapshot,
    keywords: bool,
    base_of: impl Fn(u32) -> Option<String>,
) -> std::io::Result<String> {
    let dir = folder_dir.join(DIR);
    std::fs::create_dir_all(&dir)?;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let id = format!(
        "{}.M{}P{}_snapshot.{}",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id(),
        host.replace(['/', ':'], "_")
    );
    let tmp = folder_dir.join("tmp").join(&id);
    let mut file = std::fs::File::create(&tmp)?;
    let written = file
        .write_all(&render(snapshot, keywords, base_of))
        .and_then(|()| file.sync_data())
        .and_then(|()| std::fs::rename(&tmp, dir.join(&id)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map(|()| id)
}

/// Marks snapshot `id` as used now (its age keeps it from the cleanup).
pub fn touch(folder_dir: &Path, id: &str) {
    let path = folder_dir.join(DIR).join(id);
    if let Ok(file) = std::fs::File::options().append(true).open(path) {
        let _ = file.set_modified(SystemTime::now());
    }
}

/// Removes snapshot `id`, when there is one by that name.
pub fn remove(folder_dir: &Path, id: &str) {
    if valid_id(id) {
        let _ = std::fs::remove_file(folder_dir.join(DIR).join(id));
    }
}

/// Courier's cleanup when a folder is opened with snapshots: files that
/// are no snapshots go; a snapshot two others follow (A ← B ← C) goes;
/// beyond 10, the oldest go while older than 7 + 2·(count − 10) days;
/// never more than 50 stay.
pub fn clean(folder_dir: &Path) {
    let dir = folder_dir.join(DIR);
    let Ok(listing) = std::fs::read_dir(&dir) else {
        return;
    };
    // (name, the one it follows, mtime), oldest first.
    let mut found: Vec<(String, Option<String>, SystemTime)> = Vec::new();
    for entry in listing.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        // Only the first line: a big folder's snapshots are big.
        let mut first = String::new();
        let previous = std::fs::File::open(entry.path())
            .and_then(|f| std::io::BufRead::read_line(&mut std::io::BufReader::new(f), &mut first))
            .ok()
            .and_then(|_| header(first.trim_end_matches('\n')))
            .map(|(_, _, _, previous)| previous);
        match (previous, entry.metadata().and_then(|m| m.modified())) {
            (Some(previous), Ok(mtime)) => found.push((name, previous, mtime)),
            _ => {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    found.sort_by_key(|f| f.2);
    let follows = |name: &str, all: &[(String, Option<String>, SystemTime)]| {
        all.iter()
            .find(|f| f.1.as_deref() == Some(name))
            .map(|f| f.0.clone())
    };
    let obsolete: Vec<String> = found
        .iter()
        .filter(|f| follows(&f.0, &found).is_some_and(|next| follows(&next, &found).is_some()))
        .map(|f| f.0.clone())
        .collect();
    found.retain(|f| {
        let gone = obsolete.contains(&f.0);
        if gone {
            remove(folder_dir, &f.0);
        }
        !gone
    });
    let now = SystemTime::now();
    if found.len() > 10 {
        while let Some(oldest) = found.first() {
            let limit = Duration::from_secs(86_400 * (7 + 2 * (found.len() as u64 - 10)));
            if now.duration_since(oldest.2).unwrap_or_default() <= limit {
                break;
            }
            remove(folder_dir, &oldest.0);
            found.remove(0);
        }
    }
    while found.len() > 50 {
        remove(folder_dir, &found[0].0);
        found.remove(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(uid: u32) -> Option<String> {
        Some(format!("{uid}.M1P1.host"))
    }

    #[test]
    fn snapshots_read_back_as_written_and_as_courier_writes_them() {
        let s = Snapshot {
            uidvalidity: 796_416_587,
            nextuid: 9,
            previous: Some("1.M1P1_snapshot.h".into()),
            messages: vec![
                Entry {
                    uid: 3,
                    flags: Flags::SEEN | Flags::FLAGGED,
                    keywords: vec!["a".into(), "b".into()],
                },
                Entry {
                    uid: 7,
                    flags: Flags::EMPTY,
                    keywords: vec![],
                },
            ],
        };
        let text = render(&s, true, base);
        assert_eq!(
            String::from_utf8(text.clone()).unwrap(),
            "1 2 796416587 9:1.M1P1_snapshot.h\n3:2,FS\n7:2,\na\nb\n\n3.M1P1.host:0 1\n"
        );
        assert_eq!(parse(&text, base), Some(s));
        for bad in [
            "",
            "2 0 1 1\n",
            "1 2 1 1\n3:2,\n",
            "x y z w\n",
            "1 1 1 1\nnot a line\n",
        ] {
            assert_eq!(parse(bad.as_bytes(), base), None, "{bad:?}");
        }
        assert!(
            valid_id("1.M2P3_snapshot.h") && !valid_id("") && !valid_id("../x") && !valid_id(".x")
        );
    }

    #[test]
    fn cleaning_drops_what_two_others_follow_and_what_is_no_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(DIR)).unwrap();
        let put = |name: &str, previous: Option<&str>| {
            let s = Snapshot {
                uidvalidity: 1,
                nextuid: 1,
                previous: previous.map(str::to_owned),
                messages: vec![],
            };
            std::fs::write(dir.path().join(DIR).join(name), render(&s, false, base)).unwrap();
        };
        put("a", None);
        put("b", Some("a"));
        put("c", Some("b"));
        put("other", None);
        std::fs::write(dir.path().join(DIR).join("junk"), "not a snapshot").unwrap();
        clean(dir.path());
        let mut left: Vec<String> = std::fs::read_dir(dir.path().join(DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["b", "c", "other"]);
    }
}
