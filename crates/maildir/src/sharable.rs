//! Courier's filesystem shared folders (spec `maildir.md` §8.1): sharable
//! maildirs that accounts list in `shared-maildirs` (or the system-wide
//! `maildirshared` file lists for everyone), shown as
//! `shared.<nick>.<folder>`.
//!
//! Subscribing makes a local copy, `shared-folders/<nick>/<folder>/`,
//! with `cur/ new/ tmp/` and a symlink `shared` to the sharable folder;
//! its messages are symlinks to the sharable folder's files, kept in step
//! by [`sync`]. Flags are the subscriber's own (the names of the links),
//! UIDs and keywords live in the local copy, as in any folder. Messages
//! added to the folder go into the sharable folder and reach every
//! subscriber at their next sync.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::{symlink, DirBuilderExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::names;

/// The namespace of filesystem shared folders.
pub const PREFIX: &str = "shared";
/// The account's list of sharable maildirs (`nick path` lines).
pub const LIST_FILE: &str = "shared-maildirs";
/// Where local copies of subscribed shared folders live.
pub const LOCAL_DIR: &str = "shared-folders";
/// In a local copy: the symlink to the sharable folder.
pub const LINK: &str = "shared";
/// In a local copy: touched at each sync, to skip the next one when the
/// sharable folder has not changed.
const STAMP: &str = "shared-timestamp";

/// Whether `name` is in the `shared` namespace (`shared`, `shared.…`).
pub fn covers(name: &str) -> bool {
    name.strip_prefix(PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// One line of a list: Courier's parsing (whitespace-separated, `#`
/// starts a comment).
fn parse_line(line: &str) -> Option<(&str, &str)> {
    let line = line.split('#').next()?;
    let mut words = line.split_whitespace();
    Some((words.next()?, words.next()?))
}

/// The sharable maildirs `root` may use: its own list, then the system's
/// (`system`, Courier's `maildirshared`); the first of a nick wins.
pub fn sharables(root: &Path, system: Option<&Path>) -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = Vec::new();
    let files = [system.map(Path::to_path_buf), Some(root.join(LIST_FILE))];
    for file in files.iter().flatten() {
        let Ok(text) = fs::read_to_string(file) else {
            continue;
        };
        for (nick, path) in text.lines().filter_map(parse_line) {
            if nick.contains(['.', '/']) || out.iter().any(|(n, _)| n == nick) {
                continue;
            }
            out.push((nick.to_owned(), PathBuf::from(path)));
        }
    }
    out
}

/// Adds sharable maildir `path` as `nick` to `root`'s list
/// (`maildirmake --add`): `path` must be absolute and readable, `nick`
/// free of `.` and `/` ([`Error::InvalidName`]) and not listed yet
/// ([`Error::AlreadyExists`]).
pub fn add(root: &Path, nick: &str, path: &Path) -> Result<()> {
    if nick.is_empty() || nick.contains(['.', '/']) || nick.contains(char::is_whitespace) {
        return Err(Error::invalid(nick, "a nick has no '.', '/' or space"));
    }
    if !path.is_absolute()
        || path
            .to_str()
            .is_none_or(|p| p.contains(char::is_whitespace))
    {
        return Err(Error::invalid(
            &path.to_string_lossy(),
            "not an absolute path without spaces",
        ));
    }
    rustix::fs::access(path, rustix::fs::Access::READ_OK)
        .map_err(|e| Error::io(path, io::Error::from(e)))?;
    let file = root.join(LIST_FILE);
    let mut text = match fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io(&file, e)),
    };
    if text.lines().filter_map(parse_line).any(|(n, _)| n == nick) {
        return Err(Error::AlreadyExists(nick.to_owned()));
    }
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!("{nick}\t{}\n", path.display()));
    crate::tmpfile::write_atomic(
        root,
        &crate::filename::default_hostname(),
        "shared",
        &file,
        text.as_bytes(),
    )
}

/// Removes `nick` from `root`'s list (`maildirmake --del`);
/// [`Error::NonExistent`] if it is not there.
pub fn remove(root: &Path, nick: &str) -> Result<()> {
    let file = root.join(LIST_FILE);
    let text = fs::read_to_string(&file).at(&file)?;
    let kept: String = text
        .lines()
        .filter(|l| parse_line(l).is_none_or(|(n, _)| n != nick))
        .map(|l| format!("{l}\n"))
        .collect();
    if kept.lines().count() == text.lines().count() {
        return Err(Error::NonExistent(nick.to_owned()));
    }
    crate::tmpfile::write_atomic(
        root,
        &crate::filename::default_hostname(),
        "shared",
        &file,
        kept.as_bytes(),
    )
}

/// A shared folder's name split: the sharable maildir's nick and the
/// folder's directory name there without its leading `.` (`a.b`,
/// encoded as on disk).
fn split(name: &str) -> Option<(&str, String)> {
    let rest = name.strip_prefix(PREFIX)?.strip_prefix('.')?;
    let (nick, folder) = rest.split_once('.')?;
    let inbox = format!("INBOX.{folder}");
    let dir = names::dir_name(&inbox).ok()?;
    Some((nick, dir[1..].to_owned()))
}

/// The IMAP name of folder directory `dir` (`.a.b`) of sharable `nick`.
fn shown(nick: &str, dir: &str) -> Option<String> {
    let inbox = names::name_from_dir(dir)?;
    Some(format!("{PREFIX}.{nick}{}", &inbox[names::INBOX.len()..]))
}

/// Every folder of every sharable maildir that this process can reach
/// (its `cur/` can be looked at), by IMAP name.
pub fn folders(root: &Path, system: Option<&Path>) -> Vec<String> {
    let mut out = Vec::new();
    for (nick, path) in sharables(root, system) {
        let Ok(entries) = fs::read_dir(&path) else {
            continue;
        };
        for e in entries.flatten() {
            let dir = e.file_name();
            let Some(dir) = dir.to_str() else { continue };
            if !dir.starts_with('.') || fs::metadata(path.join(dir).join("cur")).is_err() {
                continue;
            }
            if let Some(name) = shown(&nick, dir) {
                out.push(name);
            }
        }
    }
    out.sort();
    out
}

/// The local copy of shared folder `name` (whether subscribed or not).
pub fn local_dir(root: &Path, name: &str) -> Result<PathBuf> {
    let (nick, dir) = split(name).ok_or_else(|| Error::invalid(name, "not a shared folder"))?;
    Ok(root.join(LOCAL_DIR).join(nick).join(dir))
}

/// The shared folders subscribed to: those with a local copy.
pub fn subscribed(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(nicks) = fs::read_dir(root.join(LOCAL_DIR)) else {
        return out;
    };
    for nick in nicks.flatten() {
        let Ok(folders) = fs::read_dir(nick.path()) else {
            continue;
        };
        let nick = nick.file_name().to_string_lossy().into_owned();
        for f in folders.flatten() {
            let dir = format!(".{}", f.file_name().to_string_lossy());
            if let Some(name) = shown(&nick, &dir) {
                out.push(name);
            }
        }
    }
    out.sort();
    out
}

/// Subscribes to shared folder `name`: makes its local copy, linked to
/// the sharable folder, which must exist.
pub fn subscribe(root: &Path, system: Option<&Path>, name: &str) -> Result<()> {
    let (nick, dir) = split(name).ok_or_else(|| Error::NonExistent(name.to_owned()))?;
    let path = sharables(root, system)
        .into_iter()
        .find(|(n, _)| n == nick)
        .map(|(_, p)| p)
        .ok_or_else(|| Error::NonExistent(name.to_owned()))?;
    let source = path.join(format!(".{dir}"));
    if fs::metadata(source.join("cur")).is_err() {
        return Err(Error::NonExistent(name.to_owned()));
    }
    let local = local_dir(root, name)?;
    if fs::symlink_metadata(local.join(LINK)).is_ok() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.mode(0o700).recursive(true);
    for sub in ["tmp", "new", "cur"] {
        builder.create(local.join(sub)).at(&local)?;
    }
    symlink(&source, local.join(LINK)).at(&local)
}

/// Unsubscribes from shared folder `name`: removes its local copy (the
/// sharable folder is untouched).
pub fn unsubscribe(root: &Path, name: &str) -> Result<()> {
    let local = local_dir(root, name)?;
    match fs::remove_dir_all(&local) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(&local, e)),
    }
    if let Some(nick_dir) = local.parent() {
        let _ = fs::remove_dir(nick_dir);
    }
    Ok(())
}

/// Whether this process may add to and remove from the sharable folder
/// behind shared folder `name` (subscribed to).
pub fn writable(root: &Path, name: &str) -> bool {
    use rustix::fs::{access, Access};
    let source = local_dir(root, name).ok().and_then(|d| source_of(&d));
    source.is_some_and(|s| {
        ["cur", "new", "tmp"]
            .iter()
            .all(|d| access(s.join(d), Access::WRITE_OK).is_ok())
    })
}

/// The sharable folder a local copy is linked to.
pub fn source_of(local: &Path) -> Option<PathBuf> {
    fs::read_link(local.join(LINK)).ok()
}

/// The base of a maildir file name (up to its flags).
fn base(name: &str) -> &str {
    name.rfind(':').map_or(name, |i| &name[..i])
}

fn mtime(path: &Path) -> Option<std::time::SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Brings local copy `local` in step with its sharable folder: new mail
/// there is moved into its `cur/` (where this process may), links whose
/// message is gone are removed, links to renamed messages follow them,
/// and new messages get a link in the local `new/`, unseen, for the
/// folder scan to number. Skipped when the sharable folder has not
/// changed since the last sync.
pub fn sync(local: &Path) -> Result<()> {
    let Some(source) = source_of(local) else {
        return Ok(());
    };
    take_new(&source);
    let stamp = local.join(STAMP);
    if let Some(synced) = mtime(&stamp) {
        let changed = ["new", "cur"]
            .iter()
            .any(|d| mtime(&source.join(d)).is_none_or(|t| t >= synced));
        if !changed {
            return Ok(());
        }
    }
    fs::write(&stamp, b"").at(&stamp)?;
    let mut wanted: HashMap<String, String> = HashMap::new();
    let src_cur = source.join("cur");
    if let Ok(entries) = fs::read_dir(&src_cur) {
        for e in entries.flatten() {
            let Ok(name) = e.file_name().into_string() else {
                continue;
            };
            if !name.starts_with('.') {
                wanted.insert(base(&name).to_owned(), name);
            }
        }
    }
    for sub in ["cur", "new"] {
        let dir = local.join(sub);
        for name in crate::scan::list_dir(&dir)? {
            let path = dir.join(&name);
            match wanted.remove(base(&name)) {
                None => {
                    let _ = fs::remove_file(&path);
                }
                Some(target) => {
                    let want = src_cur.join(&target);
                    if fs::read_link(&path).ok().as_deref() != Some(&want) {
                        relink(local, &want, &path)?;
                    }
                }
            }
        }
    }
    for (b, target) in wanted {
        let link = local.join("new").join(format!("{b}:2,"));
        relink(local, &src_cur.join(target), &link)?;
    }
    Ok(())
}

/// Points symlink `link` at `target`, atomically (made in `tmp/`, then
/// renamed into place).
fn relink(local: &Path, target: &Path, link: &Path) -> Result<()> {
    let tmp = local
        .join("tmp")
        .join(crate::filename::UniqueStem::new(Some("link")).tmp_name("localhost"));
    symlink(target, &tmp).at(&tmp)?;
    fs::rename(&tmp, link).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(link, e)
    })
}

/// Moves the sharable folder's new mail into its `cur/`, as any reader
/// of a maildir does; where this process may not, it stays for one that
/// may.
fn take_new(source: &Path) {
    let Ok(entries) = fs::read_dir(source.join("new")) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(name) = e.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let to = if name.contains(':') {
            name.clone()
        } else {
            format!("{name}:2,")
        };
        let _ = fs::rename(e.path(), source.join("cur").join(to));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maildir(path: &Path) {
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(path.join(sub)).unwrap();
        }
    }

    #[test]
    fn names_and_lists() {
        assert!(covers("shared") && covers("shared.a.b") && !covers("sharedx"));
        assert_eq!(split("shared.test.a.b"), Some(("test", "a.b".to_owned())));
        assert_eq!(split("shared.test"), None);
        assert_eq!(split("shared.test.x:y").unwrap().1, "x:y");
        assert_eq!(
            parse_line("  test\t/srv/share  # c"),
            Some(("test", "/srv/share"))
        );
        assert_eq!(parse_line("# only"), None);
        assert_eq!(parse_line("lonely"), None);
    }

    #[test]
    fn subscribe_sync_and_unsubscribe() {
        let d = tempfile::tempdir().unwrap();
        let (root, share) = (d.path().join("user"), d.path().join("share"));
        maildir(&root);
        maildir(&share.join(".a"));
        maildir(&share.join(".b.c"));
        fs::write(
            root.join(LIST_FILE),
            format!("test {}\nbad.nick /x\n", share.display()),
        )
        .unwrap();
        assert_eq!(folders(&root, None), ["shared.test.a", "shared.test.b.c"]);
        assert!(matches!(
            subscribe(&root, None, "shared.test.zz"),
            Err(Error::NonExistent(_))
        ));
        subscribe(&root, None, "shared.test.a").unwrap();
        assert_eq!(subscribed(&root), ["shared.test.a"]);
        let local = local_dir(&root, "shared.test.a").unwrap();
        assert_eq!(source_of(&local).unwrap(), share.join(".a"));

        fs::write(share.join(".a/new/m1"), "Subject: 1\n\n").unwrap();
        fs::write(share.join(".a/cur/m2:2,S"), "Subject: 2\n\n").unwrap();
        sync(&local).unwrap();
        let mut links = crate::scan::list_dir(&local.join("new")).unwrap();
        links.sort();
        assert_eq!(links, ["m1:2,", "m2:2,"]);
        assert_eq!(
            fs::read_link(local.join("new/m2:2,")).unwrap(),
            share.join(".a/cur/m2:2,S")
        );
        // The subscriber's flags are its own; a renamed message is
        // followed, a removed one goes.
        fs::rename(local.join("new/m1:2,"), local.join("cur/m1:2,F")).unwrap();
        fs::remove_file(local.join(STAMP)).unwrap();
        fs::rename(share.join(".a/cur/m1:2,"), share.join(".a/cur/m1:2,S")).unwrap();
        fs::remove_file(share.join(".a/cur/m2:2,S")).unwrap();
        sync(&local).unwrap();
        assert_eq!(
            crate::scan::list_dir(&local.join("new")).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            fs::read_link(local.join("cur/m1:2,F")).unwrap(),
            share.join(".a/cur/m1:2,S")
        );
        unsubscribe(&root, "shared.test.a").unwrap();
        // maildirmake --add / --del
        assert!(matches!(
            add(&root, "test", &share),
            Err(Error::AlreadyExists(_))
        ));
        assert!(matches!(
            add(&root, "a.b", &share),
            Err(Error::InvalidName { .. })
        ));
        assert!(add(&root, "rel", Path::new("share")).is_err());
        add(&root, "more", &share).unwrap();
        assert_eq!(sharables(&root, None).len(), 2);
        remove(&root, "test").unwrap();
        assert!(matches!(remove(&root, "test"), Err(Error::NonExistent(_))));
        let left: Vec<String> = sharables(&root, None).into_iter().map(|(n, _)| n).collect();
        assert_eq!(left, ["more"]);
        assert!(subscribed(&root).is_empty());
        assert!(!root.join(LOCAL_DIR).join("test").exists());
    }
}
