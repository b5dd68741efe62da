//! The tmp/ protocol: create a uniquely named file in `tmp/`, write it,
//! then link it into place; and the 36-hour tmp/ cleanup.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{IoContext, Result};
use crate::filename::UniqueStem;

/// Age after which files in `tmp/` are removed (by ctime).
pub const TMP_MAX_AGE: Duration = Duration::from_secs(36 * 3600);

/// A file created in a maildir's `tmp/` that has not been moved into place.
/// Dropping it without calling [`TmpFile::keep`] unlinks it.
#[derive(Debug)]
pub(crate) struct TmpFile {
    pub path: PathBuf,
    pub stem: UniqueStem,
    pub dev: u64,
    pub ino: u64,
    kept: bool,
}

impl TmpFile {
    /// Creates an empty file (mode `mode`) in `<dir>/tmp/` and returns it
    /// open for writing.
    pub fn create(
        dir: &Path,
        host: &str,
        word: Option<&str>,
        mode: u32,
    ) -> Result<(TmpFile, File)> {
        let tmpdir = dir.join("tmp");
        let mut last_err = None;
        for _ in 0..100 {
            let stem = UniqueStem::new(word);
            let path = tmpdir.join(stem.tmp_name(host));
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&path)
            {
                Ok(f) => {
                    let md = f.metadata().at(&path)?;
                    return Ok((
                        TmpFile {
                            path,
                            stem,
                            dev: md.dev(),
                            ino: md.ino(),
                            kept: false,
                        },
                        f,
                    ));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    last_err = Some(e);
                    continue;
                }
                Err(e) => return Err(crate::Error::io(&path, e)),
            }
        }
        Err(crate::Error::io(
            &tmpdir,
            last_err.unwrap_or_else(|| io::Error::other("cannot create a unique tmp file")),
        ))
    }

    /// Creates a tmp file holding `data`, flushed to disk.
    pub fn with_contents(
        dir: &Path,
        host: &str,
        word: Option<&str>,
        data: &[u8],
    ) -> Result<TmpFile> {
        let (t, mut f) = TmpFile::create(dir, host, word, 0o600)?;
        f.write_all(data).at(&t.path)?;
        f.sync_all().at(&t.path)?;
        Ok(t)
    }

    /// Forget the file: it has been renamed or linked elsewhere and the tmp
    /// name must not be unlinked by `Drop` (use after `rename`).
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for TmpFile {
    fn drop(&mut self) {
        if !self.kept {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Moves a finished tmp file to `dest` with `link` + `unlink` (fails if
/// `dest` exists), falling back to `rename` where hard links are not
/// supported.
pub(crate) fn link_into_place(tmp: TmpFile, dest: &Path) -> Result<()> {
    match fs::hard_link(&tmp.path, dest) {
        Ok(()) => {
            drop(tmp); // unlinks the tmp name
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(crate::Error::io(dest, e)),
        Err(_) => {
            if dest.exists() {
                return Err(crate::Error::io(
                    dest,
                    io::Error::from(io::ErrorKind::AlreadyExists),
                ));
            }
            fs::rename(&tmp.path, dest).at(dest)?;
            tmp.keep();
            Ok(())
        }
    }
}

/// Writes `data` to `path` atomically (tmp file in `<maildir>/tmp`, then
/// rename over `path`).
pub fn write_atomic(
    maildir: &Path,
    host: &str,
    word: &str,
    path: &Path,
    data: &[u8],
) -> Result<()> {
    let t = TmpFile::with_contents(maildir, host, Some(word), data)?;
    fs::rename(&t.path, path).at(path)?;
    t.keep();
    Ok(())
}

/// Removes files in `<dir>/tmp` whose ctime is older than 36 hours.
/// Errors are ignored (the cleanup is best effort). Returns how many files
/// were removed.
pub fn purge_tmp(dir: &Path) -> usize {
    let tmp = dir.join("tmp");
    let now = SystemTime::now();
    let mut n = 0;
    let Ok(rd) = fs::read_dir(&tmp) else { return 0 };
    for e in rd.flatten() {
        let Ok(md) = e.metadata() else { continue };
        if !md.is_file() {
            continue;
        }
        let ctime =
            SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(md.ctime()).unwrap_or(0));
        if now
            .duration_since(ctime)
            .map(|d| d > TMP_MAX_AGE)
            .unwrap_or(false)
            && fs::remove_file(e.path()).is_ok()
        {
            n += 1;
        }
    }
    n
}
