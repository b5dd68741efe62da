//! Courier's userdb: the text source (one file or a directory of files,
//! spec §7.1) read directly and reloaded when it changes, the compiled
//! form for large user lists, and the editing operations behind
//! `courser userdb`.
//!
//! Courier's servers read only the compiled `userdb.dat`/`userdbshadow.dat`
//! that `makeuserdb` builds from the source. Courser reads the source
//! itself, so for ordinary lists there is no compile step to forget; the
//! result is the same as makeuserdb + authuserdb would give (same field
//! lookup, same per-service passwords, same duplicate and directory
//! rules). For lists too large to parse on every change, `courser userdb
//! compile` writes [`compiled`]'s constant database beside the source;
//! when it exists the backend reads only it, as Courier does.
//!
//! * [`UserdbBackend`] — the [`Backend`] over a source.
//! * [`Userdb`], [`Record`] — the parsed form.
//! * [`compiled`] — `courser userdb compile` and its file format.
//! * [`edit`] — `set`/`unset`/`del`/`show` with Courier's lock and temp
//!   files; [`cli`] — the `userdb` command line.

mod cdb;
pub mod cli;
pub mod compiled;
pub mod edit;
mod record;
mod source;

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use record::{Record, SecretKinds};
pub use source::Userdb;

use crate::backend::{Backend, Entry};
use crate::enumerate::Sink;
use crate::error::AuthError;
use crate::password::HashError;
use compiled::CompiledUserdb;
use source::Stamp;

/// Courier's default userdb location on Debian.
pub const DEFAULT_PATH: &str = "/etc/courier/userdb";

/// What lookups read: the parsed source or the compiled file.
#[derive(Debug, Clone)]
enum Db {
    Text(Arc<Userdb>),
    Compiled(Arc<CompiledUserdb>),
}

impl Db {
    fn record(&self, name: &str) -> Result<Option<Record>, String> {
        match self {
            Db::Text(db) => Ok(db.get(name).cloned()),
            Db::Compiled(db) => db.get(name).map_err(|e| e.to_string()),
        }
    }

    fn secret_kinds(&self) -> SecretKinds {
        match self {
            Db::Text(db) => db.secret_kinds(),
            Db::Compiled(db) => db.secret_kinds(),
        }
    }

    /// Hands every record to `each` in source order; `each` may stop.
    fn each_record(
        &self,
        mut each: impl FnMut(String, &Record) -> ControlFlow<()>,
    ) -> Result<(), String> {
        match self {
            Db::Text(db) => {
                for name in db.names() {
                    if let Some(record) = db.get(name) {
                        if each(name.to_owned(), record).is_break() {
                            break;
                        }
                    }
                }
                Ok(())
            }
            Db::Compiled(db) => db
                .each_record(|name, record| each(name, &record))
                .map_err(|e| e.to_string()),
        }
    }
}

/// Which form the cache holds, with the stamp it was read at.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Form {
    Text(Stamp),
    Compiled(Stamp),
}

#[derive(Debug, Default)]
struct Cache {
    /// The form and stamp `db` was read at (or reading failed at).
    form: Option<Form>,
    /// Last successfully read database.
    db: Option<Db>,
    /// Error from the last attempt at `form`, if it failed.
    error: Option<String>,
    /// Source stamp already warned about as newer than the compiled file.
    stale_warned: Option<Stamp>,
}

/// The userdb backend. Cheap to call repeatedly: each call compares the
/// stamp (size, mtime and inode) of the compiled file, or of the source
/// (every file, for a directory) when there is no compiled file, with the
/// last read, and re-reads only on a change.
///
/// **Compiled form.** When `<source>.cdb` exists it alone is read, as
/// Courier reads only its `.dat` files: a lookup reads one record, and a
/// replaced file (compile renames a new one into place) is noticed at the
/// next lookup. A source edited after the last compile is *not* used —
/// the change waits for `courser userdb compile`, as with Courier's
/// makeuserdb — and a warning says so in the log, once per source change.
/// Deleting the compiled file goes back to reading the source.
///
/// If a changed source or compiled file cannot be read (say, a duplicate
/// name was just added), the last good version keeps serving and the error
/// is logged — as Courier keeps serving the old `.dat` when makeuserdb
/// fails. With no good version at all, lookups fail with
/// [`AuthError::Unavailable`].
#[derive(Debug)]
pub struct UserdbBackend {
    path: PathBuf,
    compiled: PathBuf,
    require_private: bool,
    cache: Mutex<Cache>,
}

impl UserdbBackend {
    /// A backend over the file or directory at `path`, which must not be
    /// readable by group or others (as makeuserdb demands), nor may its
    /// compiled form.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        UserdbBackend {
            compiled: compiled::compiled_path(&path),
            path,
            require_private: true,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// Accept a source with group/world permissions (tests, demo setups).
    pub fn allow_public_permissions(mut self) -> Self {
        self.require_private = false;
        self
    }

    /// The source path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current database, re-read if its file changed.
    fn current(&self) -> Result<Db, AuthError> {
        let unavailable = |reason: String| AuthError::unavailable("userdb", reason);
        let compiled = source::stamp(&self.compiled).map_err(unavailable)?;
        let form = match compiled {
            Stamp::Missing => Form::Text(source::stamp(&self.path).map_err(unavailable)?),
            found => Form::Compiled(found),
        };
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.form.as_ref() != Some(&form) {
            let (loaded, file) = match &form {
                Form::Text(_) => (
                    source::load(&self.path, self.require_private).map(|db| Db::Text(Arc::new(db))),
                    &self.path,
                ),
                Form::Compiled(_) => (
                    CompiledUserdb::open(&self.compiled, self.require_private)
                        .map(|db| Db::Compiled(Arc::new(db))),
                    &self.compiled,
                ),
            };
            match loaded {
                Ok(db) => {
                    tracing::debug!(path = %file.display(), "userdb loaded");
                    cache.db = Some(db);
                    cache.error = None;
                }
                Err(e) => {
                    tracing::error!(path = %file.display(), error = %e, "userdb not reloaded");
                    cache.error = Some(e);
                }
            }
            cache.form = Some(form.clone());
        }
        if let Form::Compiled(compiled) = &form {
            self.warn_if_stale(&mut cache, compiled);
        }
        match (&cache.db, &cache.error) {
            (Some(db), _) => Ok(db.clone()),
            (None, Some(e)) => Err(unavailable(e.clone())),
            (None, None) => Err(unavailable("not loaded".into())),
        }
    }

    /// Logs, once per source change, that the source is newer than the
    /// compiled file being served.
    fn warn_if_stale(&self, cache: &mut Cache, compiled: &Stamp) {
        let Ok(source) = source::stamp(&self.path) else {
            return;
        };
        let newer = source.newest_mtime() > compiled.newest_mtime();
        if newer && cache.stale_warned.as_ref() != Some(&source) {
            tracing::warn!(
                source = %self.path.display(),
                compiled = %self.compiled.display(),
                "the userdb source changed after it was compiled; logins use the compiled file until `courser userdb compile` runs"
            );
            cache.stale_warned = Some(source);
        }
    }
}

impl Backend for UserdbBackend {
    fn name(&self) -> &str {
        "userdb"
    }

    fn lookup(&self, service: &str, login: &str) -> Result<Option<Entry>, AuthError> {
        let record = self
            .current()?
            .record(login)
            .map_err(|e| AuthError::unavailable("userdb", e))?;
        let Some(record) = record else {
            return Ok(None);
        };
        match record.entry(login, service) {
            Ok(entry) => Ok(Some(entry)),
            Err(problem) => {
                // Courier's userdb_creates fails and the module declines.
                tracing::warn!(path = %self.path.display(), login = %courser_protocol::Untrusted(login), %problem, "unusable userdb entry");
                Ok(None)
            }
        }
    }

    /// Rewrites the record's secrets in the source file that holds it
    /// (`Record::new_secrets`; under Courier's lock, as `courser userdb
    /// set` does), then compiles again when the userdb is compiled, so
    /// the change takes effect at once.
    fn change_password(
        &self,
        service: &str,
        login: &str,
        _old: &[u8],
        new: &[u8],
    ) -> Result<(), AuthError> {
        let unavailable = |reason: String| AuthError::unavailable("userdb", reason);
        let mut found = None;
        for file in source::files(&self.path).map_err(unavailable)? {
            let file = edit::UserdbFile::new(file);
            if let Some(record) = file.record(login).map_err(|e| unavailable(e.to_string()))? {
                found = Some((file, record));
                break;
            }
        }
        let Some((file, record)) = found else {
            return Err(unavailable(format!(
                "{login} is compiled but not in the source {}",
                self.path.display()
            )));
        };
        let fields = record.new_secrets(service, new).map_err(|e| match e {
            HashError::BadPassword => {
                AuthError::NewPasswordRefused("it holds a NUL or a line break")
            }
            e => unavailable(e.to_string()),
        })?;
        file.set(login, &fields)
            .map_err(|e| unavailable(e.to_string()))?;
        if self.compiled.exists() {
            compiled::compile(&self.path).map_err(unavailable)?;
        }
        Ok(())
    }

    fn supports_cram(&self) -> bool {
        self.current().is_ok_and(|db| db.secret_kinds().cram)
    }

    fn supports_scram(&self, hash: crate::scram::ScramHash) -> bool {
        self.current().is_ok_and(|db| db.secret_kinds().scram(hash))
    }

    /// Every record that makes an account, in source order (Courier
    /// walks its `.dat` file in hash order); records without `home`,
    /// `uid` or `gid`, and the reverse `uid=` entries, are left out, as
    /// Courier's `userdb_enum_next` leaves them out.
    fn enumerate(&self, each: &mut Sink<'_>) -> Result<(), AuthError> {
        self.current()?
            .each_record(|name, record| match record.account(&name) {
                Ok(account) => each(account),
                Err(problem) => {
                    tracing::debug!(path = %self.path.display(), name = %courser_protocol::Untrusted(&name), %problem, "userdb entry not listed");
                    ControlFlow::Continue(())
                }
            })
            .map_err(|e| AuthError::unavailable("userdb", e))
    }
}

#[cfg(test)]
mod tests;
