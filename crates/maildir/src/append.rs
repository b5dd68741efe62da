//! Receiving a message into a folder in pieces (IMAP APPEND, RFC 3501
//! §6.3.11): [`Store::begin_append`] checks what can be checked before the
//! first octet arrives and creates a file in the folder's `tmp/`;
//! [`Incoming::write`] adds what the client sent; [`Incoming::finish`]
//! links the complete message into `cur/` and gives it a UID, unless a
//! [`Gate`] refuses it first. Dropping an
//! unfinished [`Incoming`] unlinks its tmp file, so a client that goes away
//! half-way through leaves nothing in `tmp/` or `cur/`.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use courser_mime::CrlfLen;

use crate::account::Account;
use crate::appended::{Appended, Placed};
use crate::error::{Error, IoContext, Result};
use crate::filename::SizeTags;
use crate::flags::Flags;
use crate::gate::Gate;
use crate::index::{self, MessageFacts};
use crate::keywords;
use crate::quota;
use crate::scan;
use crate::store::Store;
use crate::tmpfile::TmpFile;

/// A message being received into a folder's `tmp/`.
pub struct Incoming {
    inner: Arc<Account>,
    dir: PathBuf,
    tmp: TmpFile,
    file: File,
    flags: Flags,
    keywords: Vec<String>,
    internal_date: Option<SystemTime>,
    /// The size the quota was checked for at the start.
    announced: u64,
    written: u64,
    /// RFC822.SIZE so far, for the `,W=` tag.
    crlf: CrlfLen,
    /// Into a shared folder's local copy: the sharable folder, which gets
    /// the message (the local copy a link to it).
    source: Option<PathBuf>,
    /// [`Incoming::claim_recent`] was called.
    claim: bool,
}

impl std::fmt::Debug for Incoming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incoming")
            .field("tmp", &self.tmp.path)
            .field("written", &self.written)
            .finish()
    }
}

/// Largest message whose facts APPEND records at once.
const FACTS_AT_APPEND_MAX: u64 = 1 << 20;

impl Store {
    /// Starts receiving a message of `size` octets (as announced; the
    /// quota is checked again with the real size at the end) into folder
    /// `name`, stored with `flags`, `keywords` and, if given, the internal
    /// date as its mtime. Fails before any file is created when the folder
    /// does not exist ([`Error::NonExistent`]), a keyword is invalid, or
    /// the message would not fit the quota ([`Error::OverQuota`]).
    pub fn begin_append(
        &self,
        name: &str,
        size: u64,
        flags: Flags,
        keywords: &[String],
        internal_date: Option<SystemTime>,
    ) -> Result<Incoming> {
        let dir = self.inner.existing_dir(name)?;
        for k in keywords {
            keywords::validate_keyword(k)?;
        }
        let incoming_size = i64::try_from(size).unwrap_or(i64::MAX);
        check_quota(&self.inner, &dir, flags, incoming_size)?;
        let source = crate::sharable::covers(name)
            .then(|| crate::sharable::source_of(&dir))
            .flatten();
        let tmp_dir = source.as_deref().unwrap_or(&dir);
        let (tmp, file) = TmpFile::create(tmp_dir, self.inner.host(), None, 0o600)?;
        Ok(Incoming {
            inner: Arc::clone(&self.inner),
            dir,
            tmp,
            file,
            flags,
            keywords: keywords.to_vec(),
            internal_date,
            announced: size,
            written: 0,
            crlf: CrlfLen::default(),
            source,
            claim: false,
        })
    }

    /// Appends a whole message to folder `name` (see
    /// [`begin_append`](Store::begin_append)).
    pub fn append(
        &self,
        name: &str,
        data: &[u8],
        flags: Flags,
        keywords: &[String],
        internal_date: Option<SystemTime>,
    ) -> Result<Appended> {
        let mut incoming =
            self.begin_append(name, data.len() as u64, flags, keywords, internal_date)?;
        incoming.write(data)?;
        incoming.finish(None)
    }
}

/// Refuses a message that would take the account over its quota (messages
/// in Trash or flagged `\Deleted` are not counted, as in Courier).
fn check_quota(inner: &Account, dir: &std::path::Path, flags: Flags, bytes: i64) -> Result<()> {
    let counted = inner.counted(dir) && !flags.contains(Flags::DELETED);
    if counted && !quota::check(&inner.root, inner.host(), bytes, 1)? {
        return Err(Error::OverQuota);
    }
    Ok(())
}

impl Incoming {
    /// The session appending has this folder open read-write and takes
    /// the message in ([`crate::Folder::took_in`]) when it is stored: it
    /// is \Recent to that session, and listed for no other.
    pub fn claim_recent(&mut self) {
        self.claim = true;
    }

    /// Adds the next octets of the message.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        self.file.write_all(data).at(&self.tmp.path)?;
        self.written += data.len() as u64;
        self.crlf.add(data);
        Ok(())
    }

    /// Flushes the message to disk, checks the quota again if more arrived
    /// than was announced, shows it to `gate` (whose error leaves nothing
    /// behind), and moves it into the folder's `cur/` with its flags,
    /// keywords and a new UID.
    pub fn finish(self, gate: Option<Gate<'_>>) -> Result<Appended> {
        let Incoming {
            inner,
            dir,
            tmp,
            file,
            flags,
            keywords,
            internal_date,
            announced,
            written: size,
            crlf,
            source,
            claim,
        } = self;
        if let Some(t) = internal_date {
            file.set_modified(t).at(&tmp.path)?;
        }
        file.sync_all().at(&tmp.path)?;
        let index_path = index::index_path(&inner.opts.index, &inner.root, &dir);
        // The facts go into the index now, while the message is in the
        // page cache: the client that appended it usually fetches it next.
        // Not for a big one: reading it back would hold it all in memory
        // (its facts are computed when first asked for).
        let facts = match &index_path {
            Some(_) if size <= FACTS_AT_APPEND_MAX => file
                .metadata()
                .and_then(|md| md.modified())
                .and_then(|t| std::fs::read(&tmp.path).map(|b| MessageFacts::compute(&b, t)))
                .ok(),
            _ => None,
        };
        drop(file);
        let isize = i64::try_from(size).unwrap_or(i64::MAX);
        if size > announced {
            check_quota(&inner, &dir, flags, isize)?;
        }
        if let Some(gate) = gate {
            // On error `tmp` is dropped: the file goes.
            let mut file = File::open(&tmp.path).at(&tmp.path)?;
            gate(&mut file)?;
        }
        let counted = inner.counted(&dir) && !flags.contains(Flags::DELETED);
        let host = inner.host();
        let sizes = SizeTags {
            stored: size,
            crlf: Some(crlf.len()),
        };
        let base = tmp.stem.final_name(host, tmp.dev, tmp.ino, Some(sizes));
        let file = format!("{base}:2,{}", flags.to_letters());
        if inner.opts.keywords && !keywords.is_empty() {
            let kws = keywords::normalize(keywords);
            keywords::save_update(&dir, host, &base, &kws)?;
        }
        let dest = dir.join("cur").join(&file);
        let mut tmp = Some(tmp);
        let placing = (1, !claim);
        let (uidvalidity, uids) =
            scan::place_with_uids(&dir, host, inner.opts.use_locks, placing, |_| {
                let t = tmp
                    .take()
                    .ok_or_else(|| Error::io(&dest, io::Error::other("internal: tmp reused")))?;
                match &source {
                    Some(source) => {
                        let shared = source.join("cur").join(&file);
                        crate::tmpfile::link_into_place(t, &shared)?;
                        std::os::unix::fs::symlink(&shared, &dest).at(&dest)?;
                    }
                    None => crate::tmpfile::link_into_place(t, &dest)?,
                }
                Ok(Some(base.clone()))
            })?;
        if counted {
            quota::record(&inner.root, isize, 1)?;
        }
        let uid = uids
            .first()
            .copied()
            .flatten()
            .ok_or_else(|| Error::io(&dest, io::Error::other("message not placed")))?;
        if let Some(f) = &facts {
            index::record_placed(index_path.as_deref(), uidvalidity, &[(uid, &base, f)]);
        }
        Ok(Appended {
            uidvalidity,
            uid,
            placed: Some(Placed { dir, file }),
            recent_claimed: claim,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreOptions;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("Maildir");
        crate::tools::make_maildir(&root, 0o700).unwrap();
        let store = Store::open(&root, StoreOptions::default()).unwrap();
        (dir, store)
    }

    /// `(name, contents)` of the files in `sub` of the main maildir.
    fn contents(store: &Store, sub: &str) -> Vec<(String, Vec<u8>)> {
        std::fs::read_dir(store.inner.root.join(sub))
            .unwrap()
            .flatten()
            .map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                (name, std::fs::read(e.path()).unwrap())
            })
            .collect()
    }

    fn files(store: &Store, sub: &str) -> usize {
        contents(store, sub).len()
    }

    #[test]
    fn pieces_make_one_message() {
        let (_d, s) = store();
        let mut m = s.begin_append("INBOX", 11, Flags::SEEN, &[], None).unwrap();
        m.write(b"hello ").unwrap();
        m.write(b"world").unwrap();
        let tmp = contents(&s, "tmp");
        assert_eq!(tmp.len(), 1);
        assert_eq!(tmp[0].1, b"hello world");
        let done = m.finish(None).unwrap();
        assert_eq!(done.uid, 1);
        assert_eq!(files(&s, "tmp"), 0);
        let cur = contents(&s, "cur");
        assert_eq!(cur.len(), 1);
        assert_eq!(cur[0].1, b"hello world");
        assert!(cur[0].0.contains(",S=11,W=11:2,S"), "{}", cur[0].0);
    }

    #[test]
    fn a_gate_sees_the_message_and_may_refuse_it() {
        let (_d, s) = store();
        let mut seen = Vec::new();
        let mut m = s.begin_append("INBOX", 5, Flags::EMPTY, &[], None).unwrap();
        m.write(b"hello").unwrap();
        let mut look = |r: &mut dyn std::io::Read| {
            r.read_to_end(&mut seen)
                .map(drop)
                .map_err(|e| Error::io("gate", e))
        };
        m.finish(Some(&mut look)).unwrap();
        assert_eq!(seen, b"hello");
        assert_eq!(files(&s, "cur"), 1);
        let mut m = s.begin_append("INBOX", 5, Flags::EMPTY, &[], None).unwrap();
        m.write(b"world").unwrap();
        let mut refuse = |_: &mut dyn std::io::Read| Err(Error::NotSent("no".into()));
        assert!(matches!(
            m.finish(Some(&mut refuse)),
            Err(Error::NotSent(_))
        ));
        assert_eq!(files(&s, "tmp"), 0);
        assert_eq!(files(&s, "cur"), 1);
    }

    #[test]
    fn dropped_half_way_leaves_nothing() {
        let (_d, s) = store();
        let mut m = s
            .begin_append("INBOX", 100, Flags::EMPTY, &[], None)
            .unwrap();
        m.write(b"half a message").unwrap();
        drop(m);
        assert_eq!(files(&s, "tmp"), 0);
        assert_eq!(files(&s, "cur"), 0);
        assert_eq!(files(&s, "new"), 0);
    }

    #[test]
    fn refused_before_any_file() {
        let (_d, s) = store();
        assert!(matches!(
            s.begin_append("INBOX.Nope", 10, Flags::EMPTY, &[], None),
            Err(Error::NonExistent(_))
        ));
        crate::tools::set_quota(&s.inner.root, "100S").unwrap();
        assert!(matches!(
            s.begin_append("INBOX", 1000, Flags::EMPTY, &[], None),
            Err(Error::OverQuota)
        ));
        assert_eq!(files(&s, "tmp"), 0);
    }
}
