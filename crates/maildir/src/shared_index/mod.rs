//! Courier's virtual shared folders (spec `maildir.md` §8.2): the shared
//! index, which names the accounts whose folders others may open, and
//! the `#shared.<group…>.<account>.<folder…>` names it gives them.
//!
//! An index file holds, one per line (fields separated by one TAB, `#`
//! starting a comment):
//!
//! * accounts: `name uid gid homedir [maildir]`, the maildir relative to
//!   the home directory unless absolute (default `./Maildir`); uid and
//!   gid must be numbers other than 0 (Courier skips the line
//!   otherwise) and are not used beyond that;
//! * groups: `name * file`, `file` another index file in the same
//!   directory listing the group's members (groups nest).
//!
//! Bad lines are skipped, as Courier skips them. Index files are read
//! again when they change (`sharedindexinstall` swaps in new ones) and
//! kept parsed in between ([`SharedIndex`] shares them per process).

pub mod install;

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// The namespace prefix of virtual shared folders.
pub const PREFIX: &str = "#shared";

/// Whether `name` is in the `#shared` namespace.
pub fn covers(name: &str) -> bool {
    name.strip_prefix(PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// Groups nest at most this deep (Courier leaves cycles to the
/// administrator; a cycle must not hang a session).
const MAX_DEPTH: usize = 16;

/// Index files kept parsed per process.
const CACHED_FILES: usize = 256;

/// How names from the index that contain the hierarchy delimiter or `/`
/// are shown (Courier's `IMAP_SHAREDMUNGENAMES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Munging {
    /// `.` and `/` become spaces (the default).
    #[default]
    Spaces,
    /// `.` → `\:`, `/` → `\;`, `\` → `\\`.
    Escapes,
}

impl Munging {
    /// The shown form of an index name.
    pub fn show(self, name: &str) -> String {
        let mut out = String::with_capacity(name.len());
        for c in name.chars() {
            match (self, c) {
                (Munging::Spaces, '.' | '/') => out.push(' '),
                (Munging::Escapes, '.') => out.push_str("\\:"),
                (Munging::Escapes, '/') => out.push_str("\\;"),
                (Munging::Escapes, '\\') => out.push_str("\\\\"),
                _ => out.push(c),
            }
        }
        out
    }
}

/// One record of an index file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Record {
    /// An account and its main maildir.
    Account { shown: String, maildir: PathBuf },
    /// A group and the index file listing its members.
    Group {
        name: String,
        shown: String,
        file: PathBuf,
    },
}

impl Record {
    fn shown(&self) -> &str {
        match self {
            Record::Account { shown, .. } | Record::Group { shown, .. } => shown,
        }
    }
}

/// A parsed index file.
#[derive(Debug, Default)]
struct IndexFile {
    records: Vec<Record>,
}

/// Courier's field parsing of an account's uid or gid: a number other
/// than 0.
fn nonzero_id(field: &str) -> bool {
    let digits = field.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && field[..digits].parse::<u64>().is_ok_and(|n| n != 0)
}

impl IndexFile {
    /// Parses `text`, the file at `path` (group files are named relative
    /// to its directory).
    fn parse(text: &str, path: &Path, munging: Munging) -> IndexFile {
        let dir = path.parent().unwrap_or(Path::new(""));
        let mut records = Vec::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut fields = line.split('\t');
            let (Some(name), Some(second)) = (fields.next(), fields.next()) else {
                if !line.is_empty() {
                    tracing::warn!(file = %path.display(), "shared index: syntax error");
                }
                continue;
            };
            let shown = munging.show(name);
            let record = if second.starts_with('*') {
                fields.next().map(|file| Record::Group {
                    name: name.to_owned(),
                    shown,
                    file: dir.join(file),
                })
            } else {
                let gid = fields.next().filter(|_| nonzero_id(second));
                let home = gid.filter(|g| nonzero_id(g)).and(fields.next());
                home.map(|home| {
                    let maildir = fields.next().filter(|m| !m.is_empty());
                    let maildir = maildir.unwrap_or("./Maildir");
                    Record::Account {
                        shown,
                        maildir: Path::new(home).join(maildir),
                    }
                })
            };
            match record {
                Some(r) => records.push(r),
                None => tracing::warn!(file = %path.display(), "shared index: syntax error"),
            }
        }
        IndexFile { records }
    }

    fn find(&self, shown: &str) -> Option<&Record> {
        self.records.iter().find(|r| r.shown() == shown)
    }
}

/// What identifies a version of a file: a new one is read again.
type Version = (u64, u64, i64, i64, u64);

fn version(md: &fs::Metadata) -> Version {
    (md.dev(), md.ino(), md.mtime(), md.mtime_nsec(), md.size())
}

type Cache = HashMap<(PathBuf, Munging), (Version, Arc<IndexFile>)>;

/// The process's parsed index files.
fn cache() -> &'static Mutex<Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Reads (or finds parsed) the index file at `path`; a missing or
/// unreadable file lists nothing.
fn load(path: &Path, munging: Munging) -> Arc<IndexFile> {
    let Ok(md) = fs::metadata(path) else {
        return Arc::default();
    };
    let key = (path.to_path_buf(), munging);
    let v = version(&md);
    if let Some((seen, file)) = cache().lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        if *seen == v {
            return file.clone();
        }
    }
    let text = match fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "shared index unreadable");
            return Arc::default();
        }
    };
    let file = Arc::new(IndexFile::parse(&text, path, munging));
    let mut cache = cache().lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= CACHED_FILES {
        cache.clear();
    }
    cache.insert(key, (v, file.clone()));
    file
}

/// An account of the index, as found under a `#shared` name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedAccount {
    /// Its name in the namespace: `#shared.<group…>.<account>`, which is
    /// its INBOX.
    pub name: String,
    /// Its main maildir.
    pub maildir: PathBuf,
    /// The owner identity of its folders for the ACLs: Courier's, which
    /// is `user=<the group it is listed in>`, or nobody's at the top
    /// level.
    pub owner: String,
}

/// What a name in the `#shared` namespace is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharedName {
    /// `#shared` itself or a group: a hierarchy level only, which anyone
    /// may see.
    Level,
    /// A folder of an account: `folder` is its name in the account
    /// (`INBOX`, `INBOX.a`).
    Folder {
        /// The account.
        account: SharedAccount,
        /// The folder's name in the account.
        folder: String,
    },
    /// Nothing in the index.
    Unknown,
}

/// The owner identity of an account's folders: Courier's, which makes
/// the group the account is listed in the owner (nobody at the top).
fn owner_of(group: Option<&str>) -> String {
    match group {
        Some(g) if !g.is_empty() => format!("user={g}"),
        _ => "vendor=courier.internal".to_owned(),
    }
}

/// A user's view of the virtual shared folders: the index file to read
/// (the account's `sharedgroup=` picks its own universe) and how names
/// are shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedIndex {
    file: PathBuf,
    munging: Munging,
}

impl SharedIndex {
    /// The index `file` (Courier's `IMAP_SHAREDINDEXFILE`), or
    /// `<file><group>` for an account with `sharedgroup=<group>`.
    pub fn new(file: &Path, shared_group: Option<&str>, munging: Munging) -> SharedIndex {
        let mut file = file.as_os_str().to_owned();
        if let Some(g) = shared_group.filter(|g| !g.is_empty() && !g.contains('/')) {
            file.push(g);
        }
        SharedIndex {
            file: PathBuf::from(file),
            munging,
        }
    }

    /// What `name` (beginning with `#shared`) names.
    pub fn find(&self, name: &str) -> SharedName {
        let Some(rest) = name.strip_prefix(PREFIX) else {
            return SharedName::Unknown;
        };
        let Some(mut rest) = rest.strip_prefix('.') else {
            return if rest.is_empty() {
                SharedName::Level
            } else {
                SharedName::Unknown
            };
        };
        let mut file = load(&self.file, self.munging);
        let mut group: Option<String> = None;
        let mut shown_path = String::from(PREFIX);
        for _ in 0..MAX_DEPTH {
            let (head, tail) = match rest.split_once('.') {
                Some((h, t)) => (h, Some(t)),
                None => (rest, None),
            };
            shown_path.push('.');
            shown_path.push_str(head);
            match file.find(head) {
                Some(Record::Group { name, file: f, .. }) => {
                    let Some(tail) = tail else {
                        return SharedName::Level;
                    };
                    group = Some(name.clone());
                    file = load(f, self.munging);
                    rest = tail;
                }
                Some(Record::Account { maildir, .. }) => {
                    let folder = match tail {
                        Some(t) => format!("INBOX.{t}"),
                        None => "INBOX".to_owned(),
                    };
                    return SharedName::Folder {
                        account: SharedAccount {
                            name: shown_path,
                            maildir: maildir.clone(),
                            owner: owner_of(group.as_deref()),
                        },
                        folder,
                    };
                }
                None => return SharedName::Unknown,
            }
        }
        SharedName::Unknown
    }

    /// Walks the index below the level named `under` (`#shared`, a
    /// group's name, or an account's or one of its folders', which gives
    /// just that account),
    /// `levels` levels below `#shared` at most (`None`: all): each
    /// group's name is given to `group`, each account to `account`.
    pub fn walk(
        &self,
        under: &str,
        levels: Option<usize>,
        group: &mut dyn FnMut(&str),
        account: &mut dyn FnMut(SharedAccount),
    ) {
        let Some(rest) = under.strip_prefix(PREFIX) else {
            return;
        };
        let mut file = load(&self.file, self.munging);
        let mut owner = None;
        let mut depth = 0;
        let mut shown_path = String::from(PREFIX);
        if let Some(rest) = rest.strip_prefix('.') {
            for head in rest.split('.') {
                depth += 1;
                shown_path.push('.');
                shown_path.push_str(head);
                let next = match file.find(head) {
                    Some(Record::Group { name, file: f, .. }) if depth < MAX_DEPTH => {
                        owner = Some(name.clone());
                        load(f, self.munging)
                    }
                    // An account, or a folder of it: its folders below.
                    Some(Record::Account { maildir, .. }) => {
                        return account(SharedAccount {
                            name: shown_path,
                            maildir: maildir.clone(),
                            owner: owner_of(owner.as_deref()),
                        });
                    }
                    _ => return,
                };
                file = next;
            }
        } else if !rest.is_empty() {
            return;
        }
        let levels = levels.unwrap_or(MAX_DEPTH).min(MAX_DEPTH);
        let left = levels.saturating_sub(depth);
        self.walk_file(&file, &shown_path, owner.as_deref(), left, group, account);
    }

    fn walk_file(
        &self,
        file: &IndexFile,
        under: &str,
        owner: Option<&str>,
        depth: usize,
        group: &mut dyn FnMut(&str),
        account: &mut dyn FnMut(SharedAccount),
    ) {
        if depth == 0 {
            return;
        }
        let mut seen = std::collections::HashSet::new();
        for r in &file.records {
            // The first record of a shown name is the one `find` opens.
            if !seen.insert(r.shown()) {
                continue;
            }
            let name = format!("{under}.{}", r.shown());
            match r {
                Record::Group {
                    name: g, file: f, ..
                } => {
                    group(&name);
                    let inner = load(f, self.munging);
                    self.walk_file(&inner, &name, Some(g), depth - 1, group, account);
                }
                Record::Account { maildir, .. } => account(SharedAccount {
                    name,
                    maildir: maildir.clone(),
                    owner: owner_of(owner),
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn lines_accounts_groups_and_bad_ones() {
        let f = IndexFile::parse(
            "# comment\n\
             alice\t10\t10\t/home/alice\n\
             bob\t11\t11\t/home/bob\tmail/box # trailing comment\n\
             root\t0\t0\t/root\n\
             carol\t12\t0\t/home/carol\n\
             dave\tx\t1\t/home/dave\n\
             \n\
             staff\t*\tindexstaff\n\
             abs\t1\t1\t/home/abs\t/var/mail/abs\n\
             a.b/c\t1\t1\t/h\n\
             lonely\n",
            Path::new("/etc/courier/shared/index"),
            Munging::Spaces,
        );
        let shown: Vec<&str> = f.records.iter().map(Record::shown).collect();
        assert_eq!(shown, ["alice", "bob", "staff", "abs", "a b c"]);
        assert_eq!(
            f.records[0],
            Record::Account {
                shown: "alice".into(),
                maildir: "/home/alice/./Maildir".into()
            }
        );
        assert!(matches!(&f.records[1], Record::Account { maildir, .. }
            if maildir == Path::new("/home/bob/mail/box ")));
        assert!(matches!(&f.records[2], Record::Group { file, .. }
            if file == Path::new("/etc/courier/shared/indexstaff")));
        assert!(matches!(&f.records[3], Record::Account { maildir, .. }
            if maildir == Path::new("/var/mail/abs")));
    }

    #[test]
    fn munged_names() {
        assert_eq!(Munging::Spaces.show("user.2/x"), "user 2 x");
        assert_eq!(Munging::Escapes.show("user.2/x\\y"), "user\\:2\\;x\\\\y");
        assert_eq!(Munging::Escapes.show("usér"), "usér");
    }

    #[test]
    fn names_resolve_through_groups() {
        let d = tempfile::tempdir().unwrap();
        let index = write(
            d.path(),
            "index",
            "user0\t1\t1\t/h\tm0\na\t*\tindexa\nloop\t*\tindex\n",
        );
        write(
            d.path(),
            "indexa",
            "user1\t1\t1\t/h\tm1\nuser.2\t1\t1\t/h\tm2\n",
        );
        let ix = SharedIndex::new(&index, None, Munging::Spaces);
        assert_eq!(ix.find("#shared"), SharedName::Level);
        assert_eq!(ix.find("#shared.a"), SharedName::Level);
        assert_eq!(ix.find("#sharedx"), SharedName::Unknown);
        assert_eq!(ix.find("#shared.zz"), SharedName::Unknown);
        assert_eq!(
            ix.find("#shared.user0"),
            SharedName::Folder {
                account: SharedAccount {
                    name: "#shared.user0".into(),
                    maildir: "/h/m0".into(),
                    owner: "vendor=courier.internal".into(),
                },
                folder: "INBOX".into(),
            }
        );
        let SharedName::Folder { account, folder } = ix.find("#shared.a.user 2.x.y") else {
            panic!("not found");
        };
        assert_eq!(account.name, "#shared.a.user 2");
        assert_eq!(account.maildir, Path::new("/h/m2"));
        assert_eq!(account.owner, "user=a");
        assert_eq!(folder, "INBOX.x.y");
        // A group that lists itself ends, unresolved.
        let deep = format!("#shared{}", ".loop".repeat(40));
        assert_eq!(ix.find(&deep), SharedName::Unknown);

        let mut groups = Vec::new();
        let mut accounts = Vec::new();
        ix.walk(
            "#shared",
            Some(2),
            &mut |g| groups.push(g.to_owned()),
            &mut |a| accounts.push(a.name),
        );
        assert_eq!(
            groups,
            [
                "#shared.a",
                "#shared.loop",
                "#shared.loop.a",
                "#shared.loop.loop"
            ]
        );
        assert_eq!(
            accounts,
            [
                "#shared.user0",
                "#shared.a.user1",
                "#shared.a.user 2",
                "#shared.loop.user0"
            ]
        );
        let mut accounts = Vec::new();
        ix.walk("#shared.a", None, &mut |_| {}, &mut |a| {
            accounts.push(a.name)
        });
        assert_eq!(accounts, ["#shared.a.user1", "#shared.a.user 2"]);
        let mut accounts = Vec::new();
        ix.walk("#shared.a.user1", Some(1), &mut |_| {}, &mut |a| {
            accounts.push((a.name, a.owner))
        });
        assert_eq!(accounts, [("#shared.a.user1".into(), "user=a".into())]);
        let mut accounts = Vec::new();
        ix.walk("#shared.a.nobody", None, &mut |_| {}, &mut |a| {
            accounts.push(a.name)
        });
        ix.walk("#sharedx", None, &mut |_| {}, &mut |a| {
            accounts.push(a.name)
        });
        assert!(accounts.is_empty());
    }

    #[test]
    fn a_changed_file_is_read_again_and_shared_groups_pick_theirs() {
        let d = tempfile::tempdir().unwrap();
        let index = write(d.path(), "index", "one\t1\t1\t/h\n");
        write(d.path(), "indexsales", "two\t1\t1\t/h\n");
        let ix = SharedIndex::new(&index, None, Munging::Spaces);
        assert!(matches!(ix.find("#shared.one"), SharedName::Folder { .. }));
        // A new file swapped in (a new inode, as sharedindexinstall does).
        let tmp = write(d.path(), "index.tmp", "three\t1\t1\t/h\n");
        fs::rename(tmp, &index).unwrap();
        assert_eq!(ix.find("#shared.one"), SharedName::Unknown);
        assert!(matches!(
            ix.find("#shared.three"),
            SharedName::Folder { .. }
        ));
        let sales = SharedIndex::new(&index, Some("sales"), Munging::Spaces);
        assert!(matches!(
            sales.find("#shared.two"),
            SharedName::Folder { .. }
        ));
        assert_eq!(sales.find("#shared.three"), SharedName::Unknown);
    }
}
