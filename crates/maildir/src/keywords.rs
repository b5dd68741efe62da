//! `courierimapkeywords/`: custom IMAP keywords (spec §5): the `:list`
//! master file and per-message update files.

use std::collections::BTreeSet;

use foldhash::{HashMap, HashMapExt, HashSet};
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, IoContext, Result};
use crate::replaced;
use crate::tmpfile::{write_atomic, TmpFile};

/// Directory name of the keyword store inside a folder.
pub const KEYWORD_DIR: &str = "courierimapkeywords";
/// Master list file inside [`KEYWORD_DIR`].
pub const LIST_FILE: &str = ":list";

/// Keyword sets per message base name.
pub type KeywordMap = HashMap<String, Vec<String>>;

/// Checks that a keyword can be stored (non-empty, no control characters
/// such as line breaks, no `/`-free requirement since it is file content).
pub fn validate_keyword(k: &str) -> Result<()> {
    if k.is_empty() || k.chars().any(|c| c.is_control()) {
        return Err(Error::InvalidKeyword(k.to_string()));
    }
    Ok(())
}

/// Normalises a keyword set: sorted, without duplicates.
pub fn normalize(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

/// The parsed `:list` file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KeywordList {
    /// Keyword table (index = position).
    pub table: Vec<String>,
    /// Message entries: base name and keyword indices.
    pub entries: Vec<(String, Vec<usize>)>,
    /// True if lines were malformed (the file should be rewritten).
    pub had_garbage: bool,
}

impl KeywordList {
    /// Parses `:list`: keyword lines up to an empty line, then
    /// `<basename>:<idx> <idx>...` lines. Malformed lines are skipped.
    pub fn parse(data: &[u8]) -> KeywordList {
        let text = String::from_utf8_lossy(data);
        let mut lines = text.split('\n');
        let mut kl = KeywordList::default();
        for l in lines.by_ref() {
            if l.is_empty() {
                break;
            }
            kl.table.push(l.to_string());
        }
        for l in lines {
            if l.is_empty() {
                continue;
            }
            let Some((name, idx)) = l.split_once(':') else {
                kl.had_garbage = true;
                continue;
            };
            let v: Vec<usize> = idx
                .split(' ')
                .filter_map(|x| x.trim().parse::<usize>().ok())
                .filter(|i| *i < kl.table.len())
                .collect();
            kl.entries.push((name.to_string(), v));
        }
        kl
    }

    /// Converts to keyword sets per base name.
    pub fn to_map(&self) -> KeywordMap {
        let mut m = KeywordMap::new();
        for (name, idx) in &self.entries {
            let kws: Vec<String> = idx
                .iter()
                .filter_map(|i| self.table.get(*i).cloned())
                .collect();
            m.insert(name.clone(), normalize(kws));
        }
        m
    }

    /// Builds the file for the given sets (messages without keywords are
    /// left out). `None` when no message has a keyword (Courier then
    /// removes `:list`).
    pub fn serialize(map: &KeywordMap) -> Option<Vec<u8>> {
        let table: BTreeSet<&str> = map.values().flatten().map(String::as_str).collect();
        if table.is_empty() {
            return None;
        }
        let index: HashMap<&str, usize> = table.iter().enumerate().map(|(i, k)| (*k, i)).collect();
        let mut out = Vec::new();
        for k in &table {
            out.extend_from_slice(k.as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
        let mut names: Vec<&String> = map.keys().filter(|k| !map[*k].is_empty()).collect();
        names.sort();
        for n in names {
            out.extend_from_slice(n.as_bytes());
            out.push(b':');
            let idx: Vec<String> = map[n]
                .iter()
                .filter_map(|k| index.get(k.as_str()).map(|i| i.to_string()))
                .collect();
            out.extend_from_slice(idx.join(" ").as_bytes());
            out.push(b'\n');
        }
        Some(out)
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn leading_num(s: &str) -> u64 {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s[..end].parse().unwrap_or(0)
}

#[derive(Default, Clone, Copy)]
struct UpdateInfo {
    highest_n: u64,
    highest_t: u64,
    total: u32,
    fresh: bool,
}

/// Creates the keyword directory (mode of the folder) if missing.
pub(crate) fn ensure_dir(folder_dir: &Path) -> Result<()> {
    let d = folder_dir.join(KEYWORD_DIR);
    match fs::create_dir(&d) {
        Ok(()) => {
            if let Ok(md) = fs::metadata(folder_dir) {
                let _ = fs::set_permissions(&d, fs::Permissions::from_mode(md.mode() & 0o777));
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::io(&d, e)),
    }
}

/// Loads every message's keywords, absorbing pending update files (spec
/// §5.3). `present` holds the base names of the messages in the folder.
/// With `write` false nothing on disk is changed (read-only sessions).
pub(crate) fn load(
    folder_dir: &Path,
    host: &str,
    present: &HashSet<&str>,
    write: bool,
) -> Result<KeywordMap> {
    let kwdir = folder_dir.join(KEYWORD_DIR);
    for _ in 0..1000 {
        if let Some(m) = load_once(folder_dir, &kwdir, host, present, write)? {
            return Ok(m);
        }
    }
    Err(Error::Corrupt {
        path: kwdir,
        reason: "keyword updates kept changing while being read".into(),
    })
}

fn load_once(
    folder_dir: &Path,
    kwdir: &Path,
    host: &str,
    present: &HashSet<&str>,
    write: bool,
) -> Result<Option<KeywordMap>> {
    let t = now_secs();
    let tn = t / 300;
    let list_path = kwdir.join(LIST_FILE);
    let mut update_needed = false;
    let mut map = match replaced::read(&list_path) {
        Ok(data) => {
            let kl = KeywordList::parse(&data);
            update_needed |= kl.had_garbage;
            let mut m = kl.to_map();
            let before = m.len();
            m.retain(|k, v| present.contains(k.as_str()) && !v.is_empty());
            update_needed |= m.len() != before;
            m
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if write {
                let _ = ensure_dir(folder_dir);
            }
            KeywordMap::new()
        }
        Err(e) => return Err(Error::io(&list_path, e)),
    };

    let rd = match fs::read_dir(kwdir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Some(map)),
        Err(e) => return Err(Error::io(kwdir, e)),
    };
    let mut updates: HashMap<String, UpdateInfo> = HashMap::new();
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with(':') {
            continue;
        }
        let (base, x, fresh) = if let Some(rest) = name.strip_prefix('.') {
            let n = leading_num(rest);
            if n == 0 {
                if let Some(r) = rest.strip_prefix("tmp.") {
                    let x = leading_num(r);
                    if x != 0 && x + 120 >= t {
                        continue;
                    }
                    if write {
                        let _ = fs::remove_file(e.path());
                    }
                }
                continue;
            }
            match rest.split_once('.') {
                Some((_, b)) if !b.is_empty() => (b, n, false),
                _ => continue,
            }
        } else {
            (name, tn + 1, true)
        };
        if !present.contains(base) {
            if write {
                let old = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
                    .map(|d| d.as_secs() + 15 * 60 < t)
                    .unwrap_or(false);
                if old {
                    let _ = fs::remove_file(e.path());
                }
            }
            continue;
        }
        let u = updates.entry(base.to_string()).or_default();
        u.total += 1;
        if fresh {
            u.fresh = true;
        }
        if x >= tn {
            u.highest_t = u.highest_t.max(x);
        } else if u.highest_n < x {
            if u.highest_n > 0 && write {
                let _ = fs::remove_file(kwdir.join(format!(".{}.{}", u.highest_n, base)));
            }
            u.highest_n = x;
        } else if write && x < u.highest_n {
            let _ = fs::remove_file(e.path());
        }
    }

    for (base, u) in &updates {
        let n = u.highest_n.max(u.highest_t);
        if n == 0 {
            continue;
        }
        let p = if u.fresh {
            kwdir.join(base)
        } else {
            kwdir.join(format!(".{n}.{base}"))
        };
        let data = match fs::read(&p) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(_) => continue,
        };
        let text = String::from_utf8_lossy(&data);
        let kws: Vec<String> = text
            .split('\n')
            .take_while(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        let kws = normalize(kws);
        if kws.is_empty() {
            if map.remove(base).is_some() {
                update_needed = true;
            }
        } else if map.get(base) != Some(&kws) {
            map.insert(base.clone(), kws);
            update_needed = true;
        }
    }

    if write {
        if update_needed {
            match KeywordList::serialize(&map) {
                Some(data) => write_atomic(folder_dir, host, "kw", &list_path, &data)?,
                None => match fs::remove_file(&list_path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io(&list_path, e)),
                },
            }
        }
        for (base, u) in &updates {
            if u.fresh {
                let _ = fs::rename(
                    kwdir.join(base),
                    kwdir.join(format!(".{}.{}", tn + 1, base)),
                );
            } else if u.total == 1 && u.highest_n > 0 {
                let _ = fs::remove_file(kwdir.join(format!(".{}.{}", u.highest_n, base)));
            }
        }
    }
    Ok(Some(map))
}

/// Records the complete keyword set of one message with the per-message
/// update-file protocol (spec §5.2). Last writer wins.
pub(crate) fn save_update(
    folder_dir: &Path,
    host: &str,
    base: &str,
    keywords: &[String],
) -> Result<()> {
    for k in keywords {
        validate_keyword(k)?;
    }
    ensure_dir(folder_dir)?;
    let kwdir = folder_dir.join(KEYWORD_DIR);
    let mut body = Vec::new();
    for k in keywords {
        body.extend_from_slice(k.as_bytes());
        body.push(b'\n');
    }
    let target = kwdir.join(base);
    for _ in 0..20 {
        let tmp = TmpFile::with_contents(folder_dir, host, None, &body)?;
        let tmpbase = tmp
            .path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dot = kwdir.join(format!(".tmp.{}{}", now_secs(), tmpbase));
        fs::rename(&tmp.path, &dot).at(&dot)?;
        tmp.keep();
        match fs::hard_link(&dot, &target) {
            Ok(()) => {
                let _ = fs::metadata(&dot).map(|m| m.nlink());
                let _ = fs::remove_file(&dot);
                return Ok(());
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // A pending update exists: age it (as the loader would) and
                // retry; ours is newer and wins.
                let _ = fs::remove_file(&dot);
                let tn = now_secs() / 300;
                let _ = fs::rename(&target, kwdir.join(format!(".{}.{}", tn + 1, base)));
            }
            Err(_) => {
                fs::rename(&dot, &target).at(&target)?;
                return Ok(());
            }
        }
    }
    Err(Error::Locked(target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_roundtrip() {
        let mut m = KeywordMap::new();
        m.insert("a".into(), vec!["$Junk".into(), "work".into()]);
        m.insert("b".into(), vec!["work".into()]);
        m.insert("c".into(), vec![]);
        let data = KeywordList::serialize(&m).unwrap();
        assert_eq!(data, b"$Junk\nwork\n\na:0 1\nb:1\n");
        let kl = KeywordList::parse(&data);
        let back = kl.to_map();
        assert_eq!(back.get("a"), m.get("a"));
        assert_eq!(back.len(), 2);
    }

    #[test]
    fn garbage() {
        let kl = KeywordList::parse(b"x\n\nnocolon\nm:0 7 zz\n");
        assert!(kl.had_garbage);
        assert_eq!(kl.to_map()["m"], vec!["x".to_string()]);
        assert!(KeywordList::serialize(&KeywordMap::new()).is_none());
    }
}
