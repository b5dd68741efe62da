//! Folder scans: reconcile `cur/`, `new/` and `courierimapuiddb` (spec §4
//! rebuild algorithm), and placing new files with UIDs (UIDPLUS).

use foldhash::{HashMap, HashMapExt};
use std::fs;
use std::io;
use std::path::Path;

use crate::error::{Error, IoContext, Result};
use crate::filename::compare_names;
use crate::flags::base_name;
use crate::lock::FolderLock;
use crate::recent;
use crate::replaced;
use crate::tmpfile::TmpFile;
use crate::uid_append::InPlace;
use crate::uiddb::{self, uidvalidity_for, UidDb, UIDDB_FILE};

/// One message found by a scan.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub uid: u32,
    pub file: String,
    /// \Recent as this scan sees it: numbered by this scan, or listed as
    /// unclaimed (see [`crate::recent`]).
    pub recent: bool,
}

/// What a scan found.
#[derive(Debug)]
pub(crate) struct Scanned {
    pub uidvalidity: u32,
    pub nextuid: u32,
    pub db_present: bool,
    /// Messages with UIDs, sorted by UID.
    pub entries: Vec<Entry>,
    /// Read-only scans: files in cur/ without a UID, in Courier order.
    pub pending: Vec<String>,
    /// Read-only scans: number of files left in new/.
    pub new_count: u32,
}

/// How to scan.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScanMode {
    /// Assign UIDs and write the db (read-write open).
    pub write: bool,
    /// Move new/ to cur/ (read-write SELECT; not for STATUS).
    pub move_new: bool,
    /// Claim \Recent for this scan's session (read-write SELECT): take the
    /// folder's list of unclaimed UIDs ([`crate::recent`]). A writing
    /// scan that does not claim lists the UIDs it hands out instead.
    pub claim_recent: bool,
    /// Take the Courier dot-lock.
    pub use_locks: bool,
}

/// Lists a directory's entries not starting with `.`; a missing directory
/// is empty. Names that are not UTF-8 are left out (no Maildir writer
/// makes them, and IMAP could not name them).
pub(crate) fn list_dir(dir: &Path) -> Result<Vec<String>> {
    let mut v = Vec::new();
    let listed = crate::dirlist::each_name(dir, |name| {
        if let Ok(name) = std::str::from_utf8(name) {
            v.push(name.to_owned());
        }
    });
    match listed {
        Ok(()) => Ok(v),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::io(dir, e)),
    }
}

/// Reads the uiddb: `Ok(None)` when missing or unusable (corrupt header).
pub(crate) fn read_db(dir: &Path) -> Result<Option<UidDb>> {
    let p = dir.join(UIDDB_FILE);
    match replaced::read(&p) {
        Ok(d) => Ok(UidDb::parse(&d)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(&p, e)),
    }
}

/// Reads only the uiddb's first line: `(uidvalidity, nextuid)`, or
/// `None` when the file is missing or its header unusable.
pub(crate) fn read_db_header(dir: &Path) -> Result<Option<(u32, u32)>> {
    let p = dir.join(UIDDB_FILE);
    let mut head = [0u8; 64];
    let n = match replaced::read_with(&p, |f| read_up_to(f, &mut head)) {
        Ok(n) => n,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&p, e)),
    };
    let line = head[..n].split(|&b| b == b'\n').next().unwrap_or_default();
    Ok(UidDb::parse(line).map(|db| (db.uidvalidity, db.nextuid)))
}

/// Reads until `buf` is full or the file ends.
fn read_up_to(f: &mut fs::File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match io::Read::read(f, &mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// A fresh db: UIDVALIDITY from the mtime of the freshly created file.
fn fresh_db(dir: &Path, host: &str) -> Result<(UidDb, TmpFile)> {
    let (t, f) = TmpFile::create(dir, host, Some("imapuid_"), 0o600)?;
    let mtime = f.metadata().and_then(|m| m.modified()).at(&t.path)?;
    Ok((
        UidDb {
            uidvalidity: uidvalidity_for(mtime),
            nextuid: 1,
            entries: Vec::new(),
        },
        t,
    ))
}

/// Replaces the uiddb with `data` (the new file's text).
fn write_db(dir: &Path, host: &str, data: &[u8], tmp: Option<TmpFile>) -> Result<()> {
    let t = match tmp {
        Some(t) => {
            fs::write(&t.path, data).at(&t.path)?;
            t
        }
        None => {
            // no fsync: like Courier; a lost db only means a new UIDVALIDITY
            let (t, mut f) = TmpFile::create(dir, host, Some("imapuid_"), 0o600)?;
            std::io::Write::write_all(&mut f, data).at(&t.path)?;
            t
        }
    };
    let dest = dir.join(UIDDB_FILE);
    fs::rename(&t.path, &dest).at(&dest)?;
    t.keep();
    Ok(())
}

/// Scans a folder directory.
pub(crate) fn scan(dir: &Path, host: &str, mode: ScanMode) -> Result<Scanned> {
    let _lock = if mode.write {
        Some(FolderLock::acquire(dir, host, mode.use_locks)?)
    } else {
        None
    };
    let db = read_db(dir)?;
    let db_present = db.is_some();
    let (mut db, mut tmp) = match db {
        Some(db) => (db, None),
        None if mode.write => {
            let (db, t) = fresh_db(dir, host)?;
            (db, Some(t))
        }
        None => (
            UidDb {
                uidvalidity: uidvalidity_for(std::time::SystemTime::now()),
                nextuid: 1,
                entries: Vec::new(),
            },
            None,
        ),
    };
    let mut changed = !db_present;

    let cur = dir.join("cur");
    let files = list_dir(&cur)?;
    let mut by_base: HashMap<&str, u32> = HashMap::with_capacity(db.entries.len());
    for (uid, name) in &db.entries {
        by_base.insert(name.as_str(), *uid);
    }
    let mut entries: Vec<Entry> = Vec::with_capacity(files.len());
    let mut unknown: Vec<(String, bool)> = Vec::new();
    for f in files {
        let b = base_name(&f);
        match by_base.remove(b) {
            Some(uid) => entries.push(Entry {
                uid,
                file: f,
                recent: false,
            }),
            None => unknown.push((f, true)),
        }
    }
    if !by_base.is_empty() {
        changed = true; // entries whose file vanished
    }
    drop(by_base);
    // Everything the list said is in `entries` now; on a big folder its
    // names are megabytes better freed before the rest of the scan.
    db.entries = Vec::new();

    let mut new_count = 0u32;
    let newdir = dir.join("new");
    let new_files = list_dir(&newdir)?;
    if mode.move_new {
        for f in new_files {
            let target = if f.contains(':') {
                f.clone()
            } else {
                format!("{f}:2,")
            };
            match fs::rename(newdir.join(&f), cur.join(&target)) {
                Ok(()) => unknown.push((target, true)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                // A folder we may only read: the message stays unseen in
                // new/ rather than failing the whole open.
                Err(_) if !mode.write => new_count = new_count.saturating_add(1),
                Err(e) => return Err(Error::io(newdir.join(&f), e)),
            }
        }
    } else {
        new_count = u32::try_from(new_files.len()).unwrap_or(u32::MAX);
    }

    unknown.sort_by(|a, b| compare_names(&a.0, &b.0));
    entries.sort_by_key(|e| e.uid);
    let mut pending = Vec::new();
    // STATUS of a folder without a uiddb (a writing scan that leaves new/
    // alone) makes the uiddb, for a stable UIDVALIDITY, but numbers
    // nothing: the first scan that takes new/ in numbers new and old
    // files together in name order, as Courier does (its STATUS writes
    // nothing), so both give the same messages the same UIDs.
    if mode.write && !db_present && !mode.move_new {
        pending = std::mem::take(&mut unknown)
            .into_iter()
            .map(|x| x.0)
            .collect();
    }
    if mode.write {
        for (f, recent) in unknown {
            if db.nextuid == u32::MAX {
                return Err(Error::Corrupt {
                    path: dir.join(UIDDB_FILE),
                    reason: "UID space exhausted".into(),
                });
            }
            entries.push(Entry {
                uid: db.nextuid,
                file: f,
                recent,
            });
            db.nextuid += 1;
            changed = true;
        }
        if changed {
            let lines: Vec<(u32, &str)> = entries
                .iter()
                .map(|e| (e.uid, base_name(&e.file)))
                .collect();
            let data = uiddb::serialize(db.uidvalidity, db.nextuid, &lines);
            drop(lines);
            write_db(dir, host, &data, tmp.take())?;
        }
        if mode.claim_recent {
            mark_recent(&mut entries, &recent::take(dir, db.uidvalidity)?);
        } else {
            // Numbered here, but the session that claims them is still to
            // come (STATUS of a folder without a uiddb).
            let numbered: Vec<u32> = entries.iter().filter(|e| e.recent).map(|e| e.uid).collect();
            recent::record(dir, db.uidvalidity, &numbered)?;
            mark_recent(
                &mut entries,
                &recent::read(dir, db.uidvalidity).unwrap_or_default(),
            );
        }
    } else {
        pending = unknown.into_iter().map(|x| x.0).collect();
        mark_recent(
            &mut entries,
            &recent::read(dir, db.uidvalidity).unwrap_or_default(),
        );
    }
    Ok(Scanned {
        uidvalidity: db.uidvalidity,
        nextuid: db.nextuid,
        db_present,
        entries,
        pending,
        new_count,
    })
}

/// Marks the entries (sorted by UID) whose UID is in `uids` (sorted) as
/// recent.
pub(crate) fn mark_recent(entries: &mut [Entry], uids: &[u32]) {
    if uids.is_empty() {
        return;
    }
    for e in entries.iter_mut() {
        if uids.binary_search(&e.uid).is_ok() {
            e.recent = true;
        }
    }
}

/// Places new files into a folder's cur/ and gives each a UID at that
/// moment, under the folder lock (UIDPLUS). With `list_recent` their UIDs
/// are listed as not yet claimed \Recent ([`crate::recent`]); without,
/// the caller claims them. `place(i)` puts item `i` into
/// place and returns its base name, or `None` if it was skipped. Returns
/// the UIDVALIDITY and the UID of each item (None = skipped).
pub(crate) fn place_with_uids(
    dir: &Path,
    host: &str,
    use_locks: bool,
    (count, list_recent): (usize, bool),
    mut place: impl FnMut(usize) -> Result<Option<String>>,
) -> Result<(u32, Vec<Option<u32>>)> {
    let _lock = FolderLock::acquire(dir, host, use_locks)?;
    let db_path = dir.join(UIDDB_FILE);
    // The usual case: the list exists and takes the new lines in place.
    let in_place = InPlace::open(dir).at(&db_path)?;
    let (uidvalidity, first) = match &in_place {
        Some(db) => (db.uidvalidity, db.nextuid),
        None => match read_db(dir)? {
            Some(db) => (db.uidvalidity, db.nextuid),
            None => (0, 1),
        },
    };
    let mut fresh = None;
    let uidvalidity = if uidvalidity == 0 {
        let (db, t) = fresh_db(dir, host)?;
        fresh = Some(t);
        db.uidvalidity
    } else {
        uidvalidity
    };
    let mut added = Vec::new();
    let mut uids = Vec::with_capacity(count);
    let mut next = first;
    let mut failure = None;
    for i in 0..count {
        if next == u32::MAX {
            failure = Some(Error::Corrupt {
                path: db_path.clone(),
                reason: "UID space exhausted".into(),
            });
            break;
        }
        match place(i) {
            Ok(Some(base)) => {
                uids.push(Some(next));
                added.push((next, base));
                next += 1;
            }
            Ok(None) => uids.push(None),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    if !added.is_empty() || fresh.is_some() {
        let written = match in_place {
            Some(db) if fresh.is_none() => db.add(&added, next).at(&db_path)?,
            _ => false,
        };
        if !written {
            let mut db = match fresh {
                Some(_) => None,
                None => read_db(dir)?.filter(|db| db.uidvalidity == uidvalidity),
            }
            .unwrap_or(UidDb {
                uidvalidity,
                nextuid: 1,
                entries: Vec::new(),
            });
            db.entries.extend(added.iter().cloned());
            db.nextuid = db.nextuid.max(next);
            write_db(dir, host, &db.serialize(), fresh)?;
        }
        if list_recent {
            let placed: Vec<u32> = added.iter().map(|a| a.0).collect();
            recent::record(dir, uidvalidity, &placed)?;
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok((uidvalidity, uids)),
    }
}
