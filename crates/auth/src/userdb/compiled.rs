//! The compiled userdb (`courser userdb compile`, Courier's `makeuserdb`):
//! the source's records in a constant database next to it, so that a
//! lookup in a list of 100,000 accounts reads a few hundred bytes instead
//! of parsing the whole list.
//!
//! The file is `<source>.cdb` (for a directory source, beside the
//! directory, not in it). Courier's own `userdb.dat`/`userdbshadow.dat`
//! are GDBM files Courser does not write, so both servers can share one
//! source, each with its compiled form. Keys and values:
//!
//! | key | value |
//! |---|---|
//! | account name | its fields, as in the source (`uid=…\|gid=…\|…`) |
//! | `1000=` (reverse uid entry) | the name |
//! | TAB `format` | `courser-userdb 1` |
//! | TAB `kinds` | `cram`, `scram-sha-1`, `scram-sha-256`: secrets some record holds |
//!
//! A name cannot contain a TAB (the source splits at the first one), so
//! the metadata keys never collide with accounts. One file holds the
//! password fields too (Courier splits them into `userdbshadow.dat`), so
//! it is written with mode 0600, like the source.

use std::fs::{self, File};
use std::io;
use std::ops::ControlFlow;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::cdb;
use super::record::{Record, SecretKinds};
use super::source;

const FORMAT_KEY: &[u8] = b"\tformat";
const FORMAT: &[u8] = b"courser-userdb 1";
const KINDS_KEY: &[u8] = b"\tkinds";

/// Where the compiled form of the userdb at `source` lives.
pub fn compiled_path(source: &Path) -> PathBuf {
    let mut name = source
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "userdb".into());
    name.push(".cdb");
    source.with_file_name(name)
}

/// What [`compile`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    /// The file written.
    pub path: PathBuf,
    /// Account records in it.
    pub accounts: usize,
}

/// Compiles the userdb at `source` (file or directory, read with the same
/// rules as the server, including the permission check) into
/// [`compiled_path`]: written to a temporary file in the same folder
/// (mode 0600, the source's owner), synced, then renamed over the old
/// one, so a server never sees half a file and can keep reading the old
/// one until it notices.
pub fn compile(source: &Path) -> Result<Compiled, String> {
    let owner = fs::metadata(source).map_err(|e| format!("{}: {e}", source.display()))?;
    let db = source::load(source, true)?;
    let path = compiled_path(source);
    let io_err = |what: &str, e: io::Error| format!("{}: {what}: {e}", path.display());
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp.{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| io_err("cannot create the temporary file", e))?;
    // The server reads the compiled file as whoever may read the source
    // (run as root, this tool would otherwise leave a file only root reads);
    // without the right to give it away, the file stays ours, as is the source.
    let _ = std::os::unix::fs::fchown(&file, Some(owner.uid()), Some(owner.gid()));
    let written = (|| {
        let mut w = cdb::Writer::new(file)?;
        w.add(FORMAT_KEY, FORMAT)?;
        w.add(KINDS_KEY, encode_kinds(db.secret_kinds()).as_bytes())?;
        for name in db.names() {
            if let Some(record) = db.get(name) {
                w.add(name.as_bytes(), record.to_text().as_bytes())?;
            }
        }
        for (uid, name) in db.reverse_entries() {
            w.add(uid.as_bytes(), name.as_bytes())?;
        }
        let file = w.finish()?;
        file.sync_all()?;
        fs::rename(&tmp, &path)?;
        File::open(dir)?.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io_err("cannot write", e));
    }
    Ok(Compiled {
        path,
        accounts: db.len(),
    })
}

fn encode_kinds(kinds: SecretKinds) -> String {
    [
        (kinds.cram, "cram"),
        (kinds.scram_sha1, "scram-sha-1"),
        (kinds.scram_sha256, "scram-sha-256"),
    ]
    .iter()
    .filter(|(has, _)| *has)
    .map(|(_, name)| *name)
    .collect::<Vec<_>>()
    .join(",")
}

fn decode_kinds(text: &str) -> SecretKinds {
    let has = |name: &str| text.split(',').any(|k| k == name);
    SecretKinds {
        cram: has("cram"),
        scram_sha1: has("scram-sha-1"),
        scram_sha256: has("scram-sha-256"),
    }
}

/// An open compiled userdb.
#[derive(Debug)]
pub(crate) struct CompiledUserdb {
    cdb: cdb::Reader,
    kinds: SecretKinds,
}

impl CompiledUserdb {
    /// Opens and checks the file at `path`. With `require_private`, a file
    /// readable by group or others is refused, like the source.
    pub(crate) fn open(path: &Path, require_private: bool) -> Result<Self, String> {
        let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
        let file = File::open(path).map_err(|e| err(&e))?;
        let meta = file.metadata().map_err(|e| err(&e))?;
        if require_private && meta.mode() & 0o077 != 0 {
            return Err(err(
                &"may not have group or world permissions (chmod 600 it)",
            ));
        }
        let cdb = cdb::Reader::new(file).map_err(|e| err(&e))?;
        if cdb.get(FORMAT_KEY).map_err(|e| err(&e))?.as_deref() != Some(FORMAT) {
            return Err(err(&"not a compiled userdb (run `courser userdb compile`)"));
        }
        let kinds = cdb.get(KINDS_KEY).map_err(|e| err(&e))?.unwrap_or_default();
        Ok(CompiledUserdb {
            cdb,
            kinds: decode_kinds(&String::from_utf8_lossy(&kinds)),
        })
    }

    /// The record of `name`.
    pub(crate) fn get(&self, name: &str) -> io::Result<Option<Record>> {
        if name.contains('\t') || name.ends_with('=') {
            return Ok(None);
        }
        Ok(self
            .cdb
            .get(name.as_bytes())?
            .map(|v| Record::parse(&String::from_utf8_lossy(&v))))
    }

    /// Which secrets some record holds.
    pub(crate) fn secret_kinds(&self) -> SecretKinds {
        self.kinds
    }

    /// Hands every account `(name, record)` to `each` in source order
    /// (reverse `uid=` entries and metadata left out); `each` may stop.
    pub(crate) fn each_record(
        &self,
        mut each: impl FnMut(String, Record) -> ControlFlow<()>,
    ) -> io::Result<()> {
        self.cdb.each_entry(|k, v| {
            let name = String::from_utf8_lossy(&k).into_owned();
            if name.starts_with('\t') || name.ends_with('=') {
                return ControlFlow::Continue(());
            }
            each(name, Record::parse(&String::from_utf8_lossy(&v)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn compile_and_read() {
        let dir = tempfile::tempdir().expect("tmp");
        let src = dir.path().join("userdb");
        fs::write(
            &src,
            "ann\tuid=1|gid=1|home=/a|hmac-md5pw=00\n1=\tann\nbob\tuid=2|gid=2|home=/b\n",
        )
        .expect("write");
        fs::set_permissions(&src, fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(compile(&src).unwrap_err().contains("group or world"));
        fs::set_permissions(&src, fs::Permissions::from_mode(0o600)).expect("chmod");
        let done = compile(&src).expect("compile");
        assert_eq!(done.path, dir.path().join("userdb.cdb"));
        assert_eq!(done.accounts, 2);
        let mode = fs::metadata(&done.path).expect("stat").mode();
        assert_eq!(mode & 0o777, 0o600);
        let db = CompiledUserdb::open(&done.path, true).expect("open");
        assert_eq!(
            db.get("ann")
                .expect("io")
                .and_then(|r| r.get("home").map(str::to_owned)),
            Some("/a".into())
        );
        assert!(db.get("1=").expect("io").is_none());
        assert!(db.get("\tformat").expect("io").is_none());
        assert!(db.get("carl").expect("io").is_none());
        assert!(db.secret_kinds().cram && !db.secret_kinds().scram_sha1);
        let mut names = Vec::new();
        db.each_record(|n, _| {
            names.push(n);
            ControlFlow::Continue(())
        })
        .expect("io");
        assert_eq!(names, ["ann", "bob"]);
        // No temporary files left behind.
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 2);
        // Another file is not taken for a compiled userdb.
        assert!(CompiledUserdb::open(&src, true).is_err());
        assert_eq!(
            compiled_path(Path::new("/etc/courier/userdb/")),
            Path::new("/etc/courier/userdb.cdb")
        );
        assert!(compile(&dir.path().join("missing")).is_err());
        assert_eq!(
            decode_kinds(&encode_kinds(SecretKinds {
                cram: true,
                scram_sha1: true,
                scram_sha256: true
            })),
            SecretKinds {
                cram: true,
                scram_sha1: true,
                scram_sha256: true
            }
        );
    }
}
