//! The account's main maildir: folders, subscriptions, status, append.

use std::collections::BTreeMap;

use foldhash::{HashSet, HashSetExt};
use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::account::Account;
pub use crate::account::StoreOptions;
use crate::error::{Error, IoContext, Result};
use crate::flags::Flags;
use crate::folder::Folder;
use crate::keywords;
use crate::names;
use crate::quota::{self, QuotaUsage};
use crate::scan::{self, ScanMode};
use crate::tmpfile::{purge_tmp, write_atomic};
use crate::uiddb::{uidvalidity_for, UIDDB_FILE};

/// File listing subscribed folders, one name per line.
pub const SUBSCRIBED_FILE: &str = "courierimapsubscribed";
/// Marker file present in every folder (not in the main maildir).
pub const FOLDER_MARKER: &str = "maildirfolder";

/// A folder as listed by [`Store::list_folders`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderEntry {
    /// Full IMAP name (`INBOX`, `INBOX.a.b`), UTF-8.
    pub name: String,
    /// False for hierarchy-only nodes implied by a child (`\Noselect`).
    pub selectable: bool,
    /// True if some folder exists below this one.
    pub has_children: bool,
}

/// Folder counters as reported by IMAP STATUS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FolderStatus {
    /// Number of messages.
    pub messages: u32,
    /// Messages not yet seen by any session (in new/ or without a UID).
    pub recent: u32,
    /// Next UID.
    pub uidnext: u32,
    /// UIDVALIDITY.
    pub uidvalidity: u32,
    /// Messages without `\Seen`.
    pub unseen: u32,
}

/// One account's main maildir (INBOX) and its Maildir++ folders.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Account>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("root", &self.inner.root)
            .finish()
    }
}

fn mkdir(path: &Path, mode: u32) -> io::Result<()> {
    DirBuilder::new().mode(mode).create(path)
}

/// Creates the `tmp/ new/ cur/` triple inside an existing directory.
/// Creates the `maildirfolder` marker (mode 0600) in a folder directory.
pub(crate) fn write_folder_marker(dir: &Path) -> Result<()> {
    let marker = dir.join(FOLDER_MARKER);
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&marker)
        .at(&marker)?;
    Ok(())
}

pub(crate) fn make_subdirs(dir: &Path, mode: u32) -> Result<()> {
    for sub in ["tmp", "new", "cur"] {
        let p = dir.join(sub);
        match mkdir(&p, mode) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && p.is_dir() => {}
            Err(e) => return Err(Error::io(&p, e)),
        }
    }
    Ok(())
}

/// Sleeps until the UIDVALIDITY a folder has now can no longer be produced
/// by a freshly created uiddb (Courier sleeps 2 s before DELETE/RENAME).
fn wait_uidvalidity_passes(dir: &Path) {
    let uidv = match fs::read(dir.join(UIDDB_FILE)) {
        Ok(d) => match crate::uiddb::UidDb::parse(&d) {
            Some(db) => db.uidvalidity,
            None => return,
        },
        Err(_) => return,
    };
    for _ in 0..30 {
        if uidvalidity_for(SystemTime::now()) > uidv {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Store {
    /// Opens the main maildir at `root`, which must contain cur/, new/ and
    /// tmp/.
    pub fn open(root: &Path, opts: StoreOptions) -> Result<Store> {
        for sub in ["cur", "new", "tmp"] {
            if !root.join(sub).is_dir() {
                return Err(Error::NotAMaildir(root.to_path_buf()));
            }
        }
        Ok(Store {
            inner: Arc::new(Account {
                root: root.to_path_buf(),
                opts,
            }),
        })
    }

    /// The main maildir.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The options in effect.
    pub fn options(&self) -> &StoreOptions {
        &self.inner.opts
    }

    /// The directory of a folder (validated name; the folder need not
    /// exist): `INBOX` → root, `INBOX.a.b` → `root/.a.b`.
    pub fn folder_dir(&self, name: &str) -> Result<PathBuf> {
        self.inner.folder_dir(name)
    }

    /// True if the folder exists (as a maildir).
    pub fn folder_exists(&self, name: &str) -> Result<bool> {
        match self.inner.existing_dir(name) {
            Ok(_) => Ok(true),
            Err(Error::NonExistent(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// All folders, INBOX first then by name, with hierarchy-only parents
    /// implied by their children.
    pub fn list_folders(&self) -> Result<Vec<FolderEntry>> {
        let root = &self.inner.root;
        let mut real: BTreeMap<String, bool> = BTreeMap::new();
        for e in fs::read_dir(root).at(root)?.flatten() {
            let n = e.file_name();
            let Some(n) = n.to_str() else { continue };
            let Some(name) = names::name_from_dir(n) else {
                continue;
            };
            let Ok(ft) = e.file_type() else { continue };
            if !ft.is_dir() {
                continue;
            }
            real.insert(name, e.path().join("cur").is_dir());
        }
        let mut all: BTreeMap<String, bool> = BTreeMap::new();
        for (name, sel) in &real {
            all.insert(name.clone(), *sel);
            // implied parents
            let mut p = name.as_str();
            while let Some(i) = p.rfind(names::SEP) {
                p = &p[..i];
                if p.eq_ignore_ascii_case(names::INBOX) {
                    break;
                }
                all.entry(p.to_string()).or_insert(false);
            }
        }
        let mut parents: HashSet<String> = HashSet::new();
        for name in all.keys() {
            if let Some(i) = name.rfind(names::SEP) {
                parents.insert(name[..i].to_string());
            }
        }
        let mut out = vec![FolderEntry {
            name: names::INBOX.to_string(),
            selectable: true,
            has_children: parents.contains(names::INBOX),
        }];
        for (name, sel) in all {
            out.push(FolderEntry {
                has_children: parents.contains(&name),
                name,
                selectable: sel,
            });
        }
        Ok(out)
    }

    /// Creates a folder (`.a.b` with tmp/new/cur and `maildirfolder`) and
    /// any missing parent folders.
    pub fn create_folder(&self, name: &str) -> Result<()> {
        if names::is_inbox(name) {
            return Err(Error::AlreadyExists(name.to_string()));
        }
        let dir = self.inner.folder_dir(name)?;
        // RFC 3501 §6.3.3: create the superior names too, as real folders.
        // (Courier leaves them implied, listed as \Noselect; the RFC's
        // SHOULD wins, and Courier reads either layout.)
        let mut end = 0;
        while let Some(dot) = name[end..].find('.') {
            end += dot;
            let parent = &name[..end];
            if !names::is_inbox(parent) {
                match self.make_folder(&self.inner.folder_dir(parent)?) {
                    Ok(()) | Err(Error::AlreadyExists(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            end += 1;
        }
        self.make_folder(&dir).map_err(|e| match e {
            Error::AlreadyExists(_) => Error::AlreadyExists(name.to_string()),
            e => e,
        })
    }

    /// Makes one folder directory with tmp/new/cur and the marker;
    /// completes a half-made one.
    fn make_folder(&self, dir: &Path) -> Result<()> {
        match mkdir(dir, 0o700) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if dir.join("cur").is_dir() {
                    return Err(Error::AlreadyExists(dir.display().to_string()));
                }
                // a half-made folder: complete it
            }
            Err(e) => return Err(Error::io(dir, e)),
        }
        make_subdirs(dir, 0o700)?;
        write_folder_marker(dir)
    }

    /// Deletes a folder and its messages; its children stay. INBOX cannot
    /// be deleted.
    pub fn delete_folder(&self, name: &str) -> Result<()> {
        if names::is_inbox(name) {
            return Err(Error::NotPermitted("INBOX cannot be deleted"));
        }
        let dir = self.inner.folder_dir(name)?;
        match fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(Error::NonExistent(name.to_string())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::NonExistent(name.to_string()))
            }
            Err(e) => return Err(Error::io(&dir, e)),
        }
        wait_uidvalidity_passes(&dir);
        // Make it invisible atomically ("..name" is never a folder), then
        // remove it.
        let stem = crate::filename::UniqueStem::new(Some("del"));
        let gone = self
            .inner
            .root
            .join(format!("..{}.{}", stem.sec, stem.uniq));
        fs::rename(&dir, &gone).at(&dir)?;
        fs::remove_dir_all(&gone).at(&gone)?;
        quota::recalculate_if_present(&self.inner.root, self.inner.host())?;
        Ok(())
    }

    /// Renames a folder with all its children. Renaming INBOX moves its
    /// messages into a new folder `to` and leaves INBOX empty (RFC 3501).
    pub fn rename_folder(&self, from: &str, to: &str) -> Result<()> {
        let to_c = names::canonical(to)?;
        if names::is_inbox(to) {
            return Err(Error::AlreadyExists(to.to_string()));
        }
        if names::is_inbox(from) {
            return self.rename_inbox(&to_c);
        }
        let from_c = names::canonical(from)?;
        let from_dir = names::dir_name(&from_c)?;
        let to_dir = names::dir_name(&to_c)?;
        if to_c.len() > from_c.len()
            && to_c.starts_with(&from_c)
            && to_c[from_c.len()..].starts_with(names::SEP)
        {
            return Err(Error::invalid(to, "cannot rename a folder below itself"));
        }
        let root = &self.inner.root;
        let mut moves = Vec::new();
        for e in fs::read_dir(root).at(root)?.flatten() {
            let n = e.file_name();
            let Some(n) = n.to_str() else { continue };
            if n == from_dir || n.starts_with(&format!("{from_dir}.")) {
                let new = format!("{to_dir}{}", &n[from_dir.len()..]);
                moves.push((n.to_string(), new));
            }
        }
        if !moves.iter().any(|(o, _)| *o == from_dir) {
            return Err(Error::NonExistent(from.to_string()));
        }
        for (_, new) in &moves {
            if fs::symlink_metadata(root.join(new)).is_ok() {
                return Err(Error::AlreadyExists(
                    names::name_from_dir(new).unwrap_or_else(|| to.to_string()),
                ));
            }
        }
        wait_uidvalidity_passes(&root.join(&from_dir));
        // parent first so a crash leaves a consistent prefix
        moves.sort_by_key(|(o, _)| o.len());
        for (old, new) in moves {
            fs::rename(root.join(&old), root.join(&new)).at(root.join(&old))?;
        }
        Ok(())
    }

    fn rename_inbox(&self, to: &str) -> Result<()> {
        if self.folder_exists(to)? {
            return Err(Error::AlreadyExists(to.to_string()));
        }
        self.create_folder(to)?;
        let src = self.inner.root.clone();
        let dst = self.inner.folder_dir(to)?;
        let _lock =
            crate::lock::FolderLock::acquire(&src, self.inner.host(), self.inner.opts.use_locks)?;
        // carry keywords along
        let kw = if self.inner.opts.keywords {
            let files = scan::list_dir(&src.join("cur"))?;
            let present: HashSet<&str> = files.iter().map(|f| crate::flags::base_name(f)).collect();
            keywords::load(&src, self.inner.host(), &present, false)?
        } else {
            Default::default()
        };
        for (base, kws) in &kw {
            keywords::save_update(&dst, self.inner.host(), base, kws)?;
        }
        for sub in ["new", "cur"] {
            for f in scan::list_dir(&src.join(sub))? {
                match fs::rename(src.join(sub).join(&f), dst.join(sub).join(&f)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io(src.join(sub).join(&f), e)),
                }
            }
        }
        Ok(())
    }

    /// Subscribed folder names, in file order.
    pub fn subscriptions(&self) -> Result<Vec<String>> {
        let p = self.inner.root.join(SUBSCRIBED_FILE);
        match fs::read(&p) {
            Ok(d) => Ok(String::from_utf8_lossy(&d)
                .split('\n')
                .map(str::trim_end)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(Error::io(&p, e)),
        }
    }

    fn write_subscriptions(&self, subs: &[String]) -> Result<()> {
        let mut data = Vec::new();
        for s in subs {
            data.extend_from_slice(s.as_bytes());
            data.push(b'\n');
        }
        let p = self.inner.root.join(SUBSCRIBED_FILE);
        write_atomic(&self.inner.root, self.inner.host(), "subscribed", &p, &data)
    }

    /// Adds a name to the subscriptions (the folder need not exist).
    pub fn subscribe(&self, name: &str) -> Result<()> {
        let name = names::spelling(name)?;
        let mut subs = self.subscriptions()?;
        if !subs.contains(&name) {
            subs.push(name);
            self.write_subscriptions(&subs)?;
        }
        Ok(())
    }

    /// Removes a name from the subscriptions (no error if absent).
    pub fn unsubscribe(&self, name: &str) -> Result<()> {
        let canon = names::canonical(name).unwrap_or_else(|_| name.to_string());
        let mut subs = self.subscriptions()?;
        let before = subs.len();
        subs.retain(|s| *s != canon && s != name);
        if subs.len() != before {
            self.write_subscriptions(&subs)?;
        }
        Ok(())
    }

    /// STATUS counters, computed without taking messages out of new/ or
    /// claiming \Recent (it stays for the session that selects the folder,
    /// see [`crate::recent`]). A folder without a uiddb gets one so its
    /// UIDVALIDITY is stable.
    pub fn status(&self, name: &str) -> Result<FolderStatus> {
        let dir = self.inner.existing_dir(name)?;
        if crate::sharable::covers(name) {
            crate::sharable::sync(&dir)?;
        }
        let has_db = dir.join(UIDDB_FILE).exists();
        let s = scan::scan(
            &dir,
            self.inner.host(),
            ScanMode {
                write: !has_db,
                move_new: false,
                claim_recent: false,
                use_locks: self.inner.opts.use_locks,
            },
        )?;
        let pending = u32::try_from(s.pending.len()).unwrap_or(u32::MAX);
        let entries = u32::try_from(s.entries.len()).unwrap_or(u32::MAX);
        let unseen_cur = s
            .entries
            .iter()
            .map(|e| &e.file)
            .chain(s.pending.iter())
            .filter(|f| !crate::flags::flags_of(f).contains(Flags::SEEN))
            .count();
        let recent_cur = s.entries.iter().filter(|e| e.recent).count();
        Ok(FolderStatus {
            messages: entries.saturating_add(pending).saturating_add(s.new_count),
            recent: u32::try_from(recent_cur)
                .unwrap_or(u32::MAX)
                .saturating_add(pending)
                .saturating_add(s.new_count),
            uidnext: s
                .nextuid
                .saturating_add(pending)
                .saturating_add(s.new_count),
            uidvalidity: s.uidvalidity,
            unseen: u32::try_from(unseen_cur)
                .unwrap_or(u32::MAX)
                .saturating_add(s.new_count),
        })
    }

    /// Opens (SELECT: `read_write`, EXAMINE: read-only) a folder.
    pub fn open_folder(&self, name: &str, read_write: bool) -> Result<Folder> {
        Folder::open(Arc::clone(&self.inner), name, read_write)
    }

    /// Whether this process may change the files of folder `name`:
    /// another account's folder, in the per-user process model, may be
    /// readable only (and is then opened read-only).
    pub fn may_write(&self, name: &str) -> bool {
        use rustix::fs::{access, Access};
        let Ok(dir) = self.inner.folder_dir(name) else {
            return false;
        };
        ["", "cur", "new", "tmp"]
            .iter()
            .all(|sub| access(dir.join(sub), Access::WRITE_OK | Access::EXEC_OK).is_ok())
    }

    /// Quota usage from `maildirsize`, or `None` without a quota.
    pub fn quota(&self) -> Result<Option<QuotaUsage>> {
        quota::usage(&self.inner.root, self.inner.host())
    }

    /// Removes stale tmp/ files (36 h) in a folder; done automatically when
    /// a folder is opened read-write.
    pub fn purge_tmp(&self, name: &str) -> Result<usize> {
        Ok(purge_tmp(&self.inner.existing_dir(name)?))
    }
}
