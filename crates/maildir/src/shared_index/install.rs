//! Writing Courier's virtual shared folder index (spec §8.2): what
//! Courier's `sharedindexsplit` and `sharedindexinstall` do, for
//! `courser shared-index`.
//!
//! The index is a set of files in one directory, named after the
//! configured index file (`<dir>/index`, Courier's
//! `IMAP_SHAREDINDEXFILE`):
//!
//! ```text
//! account:  name<TAB>uid<TAB>gid<TAB>home[<TAB>maildir]
//! group:    name<TAB>*<TAB>file            (file: another index file here)
//! ```
//!
//! * **Universes.** An account with option `sharedgroup=G` reads
//!   `index<G>` instead of `index`; each universe's accounts go to its
//!   own file, as `sharedindexsplit` without a letter count does.
//! * **Letters** ([`Builder::new`]'s `letters` = N > 0): accounts go to
//!   leaf files by the first N characters of their name (padded with
//!   `_`), and group files above them list the leaves, one level per
//!   character: `index` lists `a<TAB>*<TAB>indexa`, `indexa` lists
//!   `ab<TAB>*<TAB>indexab`, and `indexab` holds the accounts — the files
//!   and names `sharedindexsplit DIR N` writes. Courier's script splits
//!   by letters *or* by universe; here both at once: universe `G`'s tree
//!   starts at `index<G>` and its lower files are `index<G>,<prefix>` (a
//!   `sharedgroup` value cannot contain a comma). A file name that two
//!   universes would both use is refused.
//!
//! [`Builder`] writes into a fresh directory inside the index's own
//! directory (so the files can be renamed into place), holding at most
//! about a megabyte of lines in memory whatever the number of accounts.
//! [`Built::install`] then swaps the files in the way
//! `sharedindexinstall` does — each file renamed over its old version,
//! so a server reads either the old or the new file, never half of one —
//! lower files first and the top files last, so that a new top file only
//! ever names files already in place. Then it removes index files the new
//! index no longer has. Anything that fails before the swap leaves the
//! old index untouched: dropping a [`Builder`] or [`Built`] removes its
//! directory.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};

/// What pads an account name shorter than the letter count (Courier's).
pub const PAD: char = '_';

/// Lines buffered before they are appended to their files.
const FLUSH_BYTES: usize = 1 << 20;

/// Longest index line Courier's reader takes whole (`fgets` into
/// `BUFSIZ`, 8192 bytes, newline included); longer lines are refused.
pub const MAX_LINE: usize = 8190;

/// One account line of the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexAccount<'a> {
    /// The account's login.
    pub name: &'a str,
    /// Its uid (informational in the index; never 0).
    pub uid: u32,
    /// Its gid (never 0).
    pub gid: u32,
    /// Its home directory.
    pub home: &'a str,
    /// Its maildir, relative to the home or absolute; `None`: the default.
    pub maildir: Option<&'a str>,
    /// Its `sharedgroup` option: the universe it belongs to.
    pub shared_group: Option<&'a str>,
}

/// Why `account` cannot be written into an index, or `None`.
pub fn unwritable_reason(account: &IndexAccount<'_>) -> Option<&'static str> {
    let bad = |s: &str| s.contains(['\t', '\n', '\r', '\0', '#']);
    if account.uid == 0 || account.gid == 0 {
        return Some("uid or gid 0 (Courier's index reader drops such lines)");
    }
    if account.name.is_empty() || account.home.is_empty() {
        return Some("empty name or home directory");
    }
    if [account.name, account.home, account.maildir.unwrap_or("")]
        .into_iter()
        .any(bad)
    {
        return Some("a TAB, line break, NUL or '#' in a field");
    }
    if account
        .shared_group
        .is_some_and(|g| bad(g) || g.contains('/'))
    {
        return Some("a sharedgroup that cannot be part of a file name");
    }
    if line(account).len() > MAX_LINE {
        return Some("a line longer than Courier's index reader takes");
    }
    None
}

fn line(account: &IndexAccount<'_>) -> String {
    let mut out = format!(
        "{}\t{}\t{}\t{}",
        account.name, account.uid, account.gid, account.home
    );
    if let Some(m) = account.maildir.filter(|m| !m.is_empty()) {
        out.push('\t');
        out.push_str(m);
    }
    out.push('\n');
    out
}

/// The first `letters` characters of `name`, padded with [`PAD`]; a `/`
/// (which cannot be part of a file name) reads as [`PAD`] too.
pub fn prefix(name: &str, letters: usize) -> String {
    name.chars()
        .map(|c| if c == '/' { PAD } else { c })
        .chain(std::iter::repeat(PAD))
        .take(letters)
        .collect()
}

/// The file of `universe`'s tree at `prefix` (`""`: the universe's top
/// file). See the module documentation.
fn file_name(base: &str, universe: &str, prefix: &str) -> String {
    match (universe, prefix) {
        ("", p) => format!("{base}{p}"),
        (u, "") => format!("{base}{u}"),
        (u, p) => format!("{base}{u},{p}"),
    }
}

/// A directory removed when dropped, unless kept.
#[derive(Debug)]
struct TempDir(Option<PathBuf>);

impl TempDir {
    fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

/// Builds a new index; see the module documentation.
#[derive(Debug)]
pub struct Builder {
    tmp: TempDir,
    index: PathBuf,
    base: String,
    letters: usize,
    /// Lines not yet appended, by file.
    pending: BTreeMap<String, Vec<u8>>,
    pending_bytes: usize,
    /// Every file written so far, with the universe it belongs to.
    files: BTreeMap<String, String>,
    /// Every universe's leaf prefixes.
    leaves: BTreeMap<String, BTreeSet<String>>,
    accounts: usize,
}

impl Builder {
    /// Starts a new version of the index whose top file is `index`
    /// (`/etc/courier/shared/index`), split by `letters` leading
    /// characters (0: one file per universe). The index's directory must
    /// exist (as for `sharedindexinstall`); the new files are written to
    /// a fresh directory inside it.
    pub fn new(index: &Path, letters: usize) -> Result<Builder> {
        let (dir, base) = split_index_path(index)?;
        if !dir.is_dir() {
            return Err(Error::SharedIndex(format!(
                "{}: the index's directory does not exist (create it first)",
                dir.display()
            )));
        }
        let tmp = dir.join(format!(".{base}.new.{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        DirBuilder::new().mode(0o755).create(&tmp).at(&tmp)?;
        Ok(Builder {
            tmp: TempDir(Some(tmp)),
            index: index.to_path_buf(),
            base,
            letters,
            pending: BTreeMap::new(),
            pending_bytes: 0,
            files: BTreeMap::new(),
            leaves: BTreeMap::new(),
            accounts: 0,
        })
    }

    /// Adds one account. An account [`unwritable_reason`] refuses is an
    /// [`Error::SharedIndex`] the caller may report and go on from; so
    /// is a file name two universes would share, which spoils the build.
    pub fn add(&mut self, account: &IndexAccount<'_>) -> Result<()> {
        if let Some(why) = unwritable_reason(account) {
            return Err(Error::SharedIndex(format!("{}: {why}", account.name)));
        }
        let universe = account.shared_group.unwrap_or("");
        let key = prefix(account.name, self.letters);
        let file = file_name(&self.base, universe, &key);
        self.claim(&file, universe)?;
        self.leaves
            .entry(universe.to_owned())
            .or_default()
            .insert(key);
        let text = line(account);
        self.pending_bytes += text.len();
        self.pending
            .entry(file)
            .or_default()
            .extend_from_slice(text.as_bytes());
        self.accounts += 1;
        if self.pending_bytes >= FLUSH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Records that `universe` writes `file`; refuses a file another
    /// universe writes.
    fn claim(&mut self, file: &str, universe: &str) -> Result<()> {
        match self.files.get(file) {
            Some(owner) if owner != universe => Err(Error::SharedIndex(format!(
                "index file {file} would belong to two universes (sharedgroup {owner:?} and \
                 {universe:?}); use another letter count or other sharedgroup names"
            ))),
            Some(_) => Ok(()),
            None => {
                self.files.insert(file.to_owned(), universe.to_owned());
                Ok(())
            }
        }
    }

    /// Appends the buffered lines to their files.
    fn flush(&mut self) -> Result<()> {
        for (file, bytes) in std::mem::take(&mut self.pending) {
            let path = self.tmp.path().join(&file);
            let mut f = OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o644)
                .open(&path)
                .at(&path)?;
            f.write_all(&bytes).at(&path)?;
        }
        self.pending_bytes = 0;
        Ok(())
    }

    /// Accounts added so far.
    pub fn accounts(&self) -> usize {
        self.accounts
    }

    /// Writes the group files above the leaves (letters) and the default
    /// universe's top file (empty when it has no accounts, so that it
    /// exists), and syncs everything to disk.
    pub fn finish(mut self) -> Result<Built> {
        self.flush()?;
        // (depth, file): depth = prefix length; installed deepest first.
        let mut order: Vec<(usize, String)> = Vec::new();
        let leaves = std::mem::take(&mut self.leaves);
        for (universe, keys) in &leaves {
            let mut level: BTreeSet<String> = keys.clone();
            for (file, _) in self.files.iter().filter(|(_, u)| *u == universe) {
                order.push((self.letters, file.clone()));
            }
            for depth in (0..self.letters).rev() {
                let mut groups: BTreeMap<String, Vec<&String>> = BTreeMap::new();
                for key in &level {
                    let parent: String = key.chars().take(depth).collect();
                    groups.entry(parent).or_default().push(key);
                }
                let mut text: BTreeMap<String, String> = BTreeMap::new();
                for (parent, children) in &groups {
                    let file = file_name(&self.base, universe, parent);
                    let body = text.entry(file).or_default();
                    for child in children {
                        let target = file_name(&self.base, universe, child);
                        body.push_str(&format!("{child}\t*\t{target}\n"));
                    }
                }
                for (file, body) in text {
                    self.claim(&file, universe)?;
                    let path = self.tmp.path().join(&file);
                    write_new(&path, body.as_bytes())?;
                    order.push((depth, file));
                }
                level = groups.into_keys().collect();
            }
        }
        if !self.files.contains_key(&self.base) {
            let path = self.tmp.path().join(&self.base);
            write_new(&path, b"")?;
            self.files.insert(self.base.clone(), String::new());
            order.push((0, self.base.clone()));
        }
        order.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        order.dedup();
        for (_, file) in &order {
            let path = self.tmp.path().join(file);
            // Readable by the servers whatever the umask (they may run
            // as another user than the one building the index).
            File::open(&path)
                .and_then(|f| {
                    f.set_permissions(fs::Permissions::from_mode(0o644))?;
                    f.sync_all()
                })
                .at(&path)?;
        }
        Ok(Built {
            tmp: std::mem::replace(&mut self.tmp, TempDir(None)),
            index: self.index.clone(),
            base: self.base.clone(),
            files: order.into_iter().map(|(_, f)| f).collect(),
            accounts: self.accounts,
        })
    }
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(0o644)
        .open(path)
        .at(path)?;
    f.write_all(bytes).at(path)
}

fn split_index_path(index: &Path) -> Result<(PathBuf, String)> {
    let base = index
        .file_name()
        .and_then(|b| b.to_str())
        .filter(|b| !b.is_empty())
        .ok_or_else(|| Error::SharedIndex(format!("{}: not a file name", index.display())))?;
    let dir = match index.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir, base.to_owned()))
}

/// A complete new index, not yet in place.
#[derive(Debug)]
pub struct Built {
    tmp: TempDir,
    index: PathBuf,
    base: String,
    /// File names in install order: lower files first, tops last.
    files: Vec<String>,
    accounts: usize,
}

/// What [`Built::install`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// Index files now in place, in the order they were put there.
    pub files: Vec<String>,
    /// Old index files removed (the new index no longer has them).
    pub removed: Vec<String>,
    /// Accounts in the index.
    pub accounts: usize,
}

impl Built {
    /// Accounts in the new index.
    pub fn accounts(&self) -> usize {
        self.accounts
    }

    /// The new files, in install order.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// Puts the new index in place (see the module documentation) and
    /// removes the old index files it does not have: regular files whose
    /// name starts with the index's name and whose every line is an index
    /// line — so other files that share the directory stay, whatever
    /// their name.
    pub fn install(mut self) -> Result<Installed> {
        let dir = self
            .index
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        for file in &self.files {
            let from = self.tmp.path().join(file);
            let to = dir.join(file);
            fs::rename(&from, &to).at(&to)?;
        }
        let new: BTreeSet<&str> = self.files.iter().map(String::as_str).collect();
        let mut removed = Vec::new();
        for entry in fs::read_dir(&dir).at(&dir)? {
            let entry = entry.at(&dir)?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let path = entry.path();
            let regular = entry.file_type().is_ok_and(|t| t.is_file());
            if !name.starts_with(&self.base) || new.contains(name.as_str()) || !regular {
                continue;
            }
            if looks_like_index(&path).unwrap_or(false) {
                fs::remove_file(&path).at(&path)?;
                removed.push(name);
            }
        }
        removed.sort();
        File::open(&dir).and_then(|d| d.sync_all()).at(&dir)?;
        Ok(Installed {
            files: std::mem::take(&mut self.files),
            removed,
            accounts: self.accounts,
        })
    }
}

/// Whether every line of the file at `path` is an index line (account,
/// group, comment or blank) — the test for an old index file that may
/// be removed. Lines over [`MAX_LINE`] bytes or not UTF-8 say no.
pub fn looks_like_index(path: &Path) -> io::Result<bool> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(MAX_LINE as u64 + 2)
            .read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Ok(true);
        }
        if n > MAX_LINE + 1 {
            return Ok(false);
        }
        let Ok(text) = std::str::from_utf8(&buf) else {
            return Ok(false);
        };
        let text = text
            .split('#')
            .next()
            .unwrap_or("")
            .trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = text.split('\t').collect();
        let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let group = fields.len() >= 3 && fields[1].starts_with('*');
        let account = fields.len() >= 4 && number(fields[1]) && number(fields[2]);
        if !(group || account) {
            return Ok(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acc<'a>(name: &'a str, group: Option<&'a str>) -> IndexAccount<'a> {
        IndexAccount {
            name,
            uid: 1000,
            gid: 100,
            home: "/home/x",
            maildir: None,
            shared_group: group,
        }
    }

    /// The files of a directory and their contents.
    fn files(dir: &Path) -> BTreeMap<String, String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().unwrap().is_file())
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    fs::read_to_string(e.path()).unwrap(),
                )
            })
            .collect()
    }

    fn build(dir: &Path, letters: usize, accounts: &[IndexAccount<'_>]) -> Installed {
        let mut b = Builder::new(&dir.join("index"), letters).unwrap();
        for a in accounts {
            b.add(a).unwrap();
        }
        b.finish().unwrap().install().unwrap()
    }

    #[test]
    fn lines_and_prefixes() {
        let mut a = acc("ann", None);
        assert_eq!(line(&a), "ann\t1000\t100\t/home/x\n");
        a.maildir = Some("./Maildir");
        assert_eq!(line(&a), "ann\t1000\t100\t/home/x\t./Maildir\n");
        assert_eq!(prefix("ann", 2), "an");
        assert_eq!(prefix("a", 3), "a__");
        assert_eq!(prefix("é/x", 3), "é_x");
        assert_eq!(prefix("ann", 0), "");
        assert_eq!(file_name("index", "", "ab"), "indexab");
        assert_eq!(file_name("index", "g", ""), "indexg");
        assert_eq!(file_name("index", "g", "ab"), "indexg,ab");
        for bad in [
            IndexAccount {
                uid: 0,
                ..acc("root", None)
            },
            IndexAccount {
                gid: 0,
                ..acc("x", None)
            },
            acc("a\tb", None),
            acc("a#b", None),
            acc("", None),
            acc("ok", Some("../etc")),
            acc("ok", Some("a#")),
            IndexAccount {
                home: "",
                ..acc("x", None)
            },
            IndexAccount {
                maildir: Some("m\n"),
                ..acc("x", None)
            },
        ] {
            assert!(unwritable_reason(&bad).is_some(), "{bad:?}");
        }
        let long = "x".repeat(MAX_LINE);
        assert!(unwritable_reason(&acc(&long, None)).is_some());
    }

    #[test]
    fn one_file_per_universe() {
        let dir = tempfile::tempdir().unwrap();
        let done = build(
            dir.path(),
            0,
            &[
                acc("ann", None),
                acc("bob", Some("12")),
                acc("cat", None),
                acc("dan", Some("12")),
            ],
        );
        assert_eq!(done.accounts, 4);
        let got = files(dir.path());
        assert_eq!(got.keys().collect::<Vec<_>>(), ["index", "index12"]);
        assert_eq!(
            got["index"],
            "ann\t1000\t100\t/home/x\ncat\t1000\t100\t/home/x\n"
        );
        assert_eq!(
            got["index12"],
            "bob\t1000\t100\t/home/x\ndan\t1000\t100\t/home/x\n"
        );
        // No build directory left behind; readable by everyone.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
        let mode = fs::metadata(dir.path().join("index12"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    #[test]
    fn letters_make_group_files_like_sharedindexsplit() {
        let dir = tempfile::tempdir().unwrap();
        let done = build(
            dir.path(),
            2,
            &[
                acc("ann", None),
                acc("abe", None),
                acc("al", None),
                acc("b", None),
            ],
        );
        let got = files(dir.path());
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            ["index", "indexa", "indexab", "indexal", "indexan", "indexb", "indexb_"]
        );
        assert_eq!(got["index"], "a\t*\tindexa\nb\t*\tindexb\n");
        assert_eq!(
            got["indexa"],
            "ab\t*\tindexab\nal\t*\tindexal\nan\t*\tindexan\n"
        );
        assert_eq!(got["indexb"], "b_\t*\tindexb_\n");
        assert_eq!(got["indexb_"], "b\t1000\t100\t/home/x\n");
        // Lower files go in first, the top file last.
        assert_eq!(done.files.last().map(String::as_str), Some("index"));
        let pos = |f: &str| done.files.iter().position(|x| x == f).unwrap();
        assert!(pos("indexab") < pos("indexa") && pos("indexb_") < pos("indexb"));
    }

    #[test]
    fn letters_within_universes_and_collisions() {
        let dir = tempfile::tempdir().unwrap();
        build(
            dir.path(),
            1,
            &[
                acc("ann", None),
                acc("bob", Some("g")),
                acc("bea", Some("g")),
            ],
        );
        let got = files(dir.path());
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            ["index", "indexa", "indexg", "indexg,b"]
        );
        assert_eq!(got["indexg"], "b\t*\tindexg,b\n");
        assert_eq!(got["indexg,b"].lines().count(), 2);
        // Universe "a"'s top file is the default universe's leaf "a".
        let mut b = Builder::new(&dir.path().join("index"), 1).unwrap();
        b.add(&acc("ann", None)).unwrap();
        b.add(&acc("zed", Some("a"))).unwrap();
        let e = b.finish().unwrap_err().to_string();
        assert!(e.contains("two universes"), "{e}");
        // The failed build changed nothing and left nothing behind.
        assert_eq!(files(dir.path()), got);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 4);
    }

    #[test]
    fn install_replaces_and_removes_only_old_index_files() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), 1, &[acc("ann", None), acc("bob", None)]);
        fs::write(
            dir.path().join("index.README"),
            "Do not remove: not an index\n",
        )
        .unwrap();
        fs::write(dir.path().join("other"), "x\t1\t1\t/h\n").unwrap();
        fs::write(dir.path().join("indexq"), "# comment\n\nq\t1\t2\t/q\n").unwrap();
        let done = build(dir.path(), 0, &[acc("cat", None)]);
        assert_eq!(done.removed, ["indexa", "indexb", "indexq"]);
        let got = files(dir.path());
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            ["index", "index.README", "other"]
        );
        assert_eq!(got["index"], "cat\t1000\t100\t/home/x\n");
        // No accounts: an empty top file, still installed.
        let done = build(dir.path(), 0, &[]);
        assert_eq!(
            (done.accounts, done.files.as_slice()),
            (0, &["index".to_owned()][..])
        );
        assert_eq!(fs::read_to_string(dir.path().join("index")).unwrap(), "");
    }

    #[test]
    fn an_abandoned_build_leaves_the_old_index() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), 0, &[acc("ann", None)]);
        let before = files(dir.path());
        let mut b = Builder::new(&dir.path().join("index"), 0).unwrap();
        b.add(&acc("bob", None)).unwrap();
        drop(b);
        let b = Builder::new(&dir.path().join("index"), 0).unwrap();
        drop(b.finish().unwrap());
        assert_eq!(files(dir.path()), before);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(Builder::new(&dir.path().join("missing/index"), 0).is_err());
    }

    #[test]
    fn many_accounts_flush_in_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..30_000)
            .map(|i| format!("user{i:05}@example.com"))
            .collect();
        let mut b = Builder::new(&dir.path().join("index"), 0).unwrap();
        for n in &names {
            b.add(&acc(n, None)).unwrap();
        }
        let done = b.finish().unwrap().install().unwrap();
        assert_eq!(done.accounts, 30_000);
        let text = fs::read_to_string(dir.path().join("index")).unwrap();
        let got: Vec<&str> = text
            .lines()
            .map(|l| l.split('\t').next().unwrap())
            .collect();
        assert_eq!(got, names);
    }
}
