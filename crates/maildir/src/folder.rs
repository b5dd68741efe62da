//! An opened folder: a UID-sorted snapshot of its messages, change
//! detection, flag/keyword updates, expunge, copy and move.

use foldhash::{HashMap, HashSet, HashSetExt};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime};

use crate::account::Account;
use crate::appended::Appended;
use crate::error::{Error, IoContext, Result};
use crate::filename::size_tag;
use crate::flags::{base_name, flags_of, merge_info, FlagOp, Flags};
use crate::index::{self, FolderIndex, MessageFacts, Needle, OrderFacts, ReadAhead};
use crate::keywords::{self, KeywordMap, KEYWORD_DIR};
use crate::lock::FolderLock;
use crate::message::{FileStat, Message};
use crate::quota;
use crate::recent;
use crate::scan::{self, list_dir, Entry, ScanMode, Scanned};
use crate::sharable;
use crate::snapshots::Snapshot;
use crate::stamp::{self, Stamp};
use crate::text_column::{self, TextColumn};
use crate::uiddb::UIDDB_FILE;

/// What [`Folder::refresh`] found changed since the previous snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// UIDs that disappeared (ascending). Sequence numbers must be computed
    /// against the snapshot *before* the refresh.
    pub expunged: Vec<u32>,
    /// The last snapshot's records of the messages in `expunged` (flags
    /// and keywords as last seen; their files are gone), for a session that
    /// must keep answering about them until it may announce the EXPUNGE.
    pub gone: Vec<Gone>,
    /// New UIDs (ascending).
    pub added: Vec<u32>,
    /// UIDs whose flags or keywords changed (ascending).
    pub flags_changed: Vec<u32>,
    /// The folder's UIDVALIDITY changed (uiddb lost or rebuilt): every old
    /// UID is reported expunged and every message added.
    pub uidvalidity_changed: bool,
}

/// A message that left the folder, as the last snapshot had it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gone {
    /// Its record (flags and keywords as last seen).
    pub message: Message,
    /// It was \Recent to this session.
    pub recent: bool,
}

impl Changes {
    /// True if nothing changed.
    pub fn is_empty(&self) -> bool {
        self.expunged.is_empty()
            && self.added.is_empty()
            && self.flags_changed.is_empty()
            && !self.uidvalidity_changed
    }
}

/// How long after the session's own change of `cur/` a full refresh lists
/// `cur/` to verify that nobody else changed it in the same clock tick.
/// Any time past the tick would do; Dovecot waits `MAILDIR_SYNC_SECS` (one
/// second) before it looks at a "dirty" `cur/` again. Shorter costs a
/// listing on most NOOPs of a busy session (a millisecond for 1,000
/// messages here, the kernel's readdir), longer leaves such a change unseen
/// longer.
const OWN_CHANGE_VERIFY: Duration = Duration::from_secs(1);

/// A message the session placed in the folder itself, not taken in yet.
#[derive(Debug)]
struct Own {
    uid: u32,
    /// Its name in `cur/`.
    file: String,
    /// \Recent to this session without a claim from the list
    /// ([`Appended::recent_claimed`]).
    claimed: bool,
}

/// `cur/`'s mtime right after a change the session made, and when (by
/// this host's clock) it was read.
///
/// Whether a listing comes late enough to verify the change is judged by
/// this host's clock alone: the mtime is stamped by the file system's,
/// which on a network file system is another host's and may be far
/// ahead or behind. Compared with our clock, an mtime ahead of it made
/// the change look too fresh to verify for ever, and a change by another
/// node hidden behind it (one this node's cached attributes did not show
/// before its own) was never seen.
#[derive(Debug, Clone, Copy)]
struct OwnChange {
    mtime: SystemTime,
    read_at: SystemTime,
}

impl OwnChange {
    /// Whether a listing of `cur/` at `taken` verifies the change: it
    /// comes at least [`OWN_CHANGE_VERIFY`] after it, and one clock tick
    /// of the file system ([`stamp::tick`]), both on our clock.
    fn verifiable(self, taken: SystemTime) -> bool {
        taken
            .duration_since(self.read_at)
            .is_ok_and(|d| d >= OWN_CHANGE_VERIFY.max(stamp::tick(self.mtime)))
    }

    /// Whether a listing at `taken` comes at least one clock tick after
    /// the change (by our clock), so that it shows anything done in the
    /// same tick.
    fn settled(self, taken: SystemTime) -> bool {
        taken
            .duration_since(self.read_at)
            .is_ok_and(|d| d >= stamp::tick(self.mtime))
    }
}

/// The folder's timestamps at the session's latest look, when that was,
/// and since when (by our clock) the folder has shown these timestamps.
#[derive(Debug)]
struct Looked {
    stamp: Stamp,
    taken: SystemTime,
    since: SystemTime,
}

/// An opened folder.
#[derive(Debug)]
pub struct Folder {
    pub(crate) account: Arc<Account>,
    name: String,
    pub(crate) dir: PathBuf,
    rw: bool,
    uidvalidity: u32,
    uidnext: u32,
    /// Shared with other sessions' folders and the process's
    /// [`SnapshotCache`](crate::SnapshotCache) until this one changes it
    /// (copy on write): connections that only read a big folder hold one
    /// copy of it between them.
    pub(crate) messages: Arc<Vec<Message>>,
    /// UIDs that are \Recent to this session, ascending: those it is the
    /// first to see (see [`crate::recent`]); a read-only session shows
    /// what nobody claimed yet, without claiming it. Kept beside the
    /// messages, not in them, so that sessions share one snapshot however
    /// their \Recent differ.
    recent: Vec<u32>,
    stamp: Option<Looked>,
    /// On a network file system ([`stamp::remote`]): its timestamps are
    /// judged by [`Stamp::moved_remote`].
    remote: bool,
    /// The folder's index, opened on first use (a `Mutex` so that
    /// `&self` readers can record what they computed).
    index: Mutex<FolderIndex>,
    /// Messages this session put here itself since its last look
    /// (ascending by UID): the next refresh takes them in without a
    /// rescan when nobody else changed the folder.
    own: Vec<Own>,
    /// A [`Folder::refresh_fast`] saw `cur/` change (or could not trust
    /// its timestamp) and did not list it, or the session found it changed
    /// by someone else before its own change: the next full refresh must.
    cur_unlisted: bool,
    /// `cur/`'s mtime right after the session's latest change of it
    /// (STORE, EXPUNGE, MOVE, its own APPEND or COPY into the folder), until
    /// a listing taken late enough after it verified nobody else changed
    /// `cur/` in the same clock tick (see [`Folder::changing_cur`]).
    own_cur: Option<OwnChange>,
    /// What SELECT tells of the whole snapshot, worked out on first use
    /// and shared with every folder (and the process's scan cache) that
    /// holds the same snapshot; replaced whenever the messages change.
    summary: Arc<OnceLock<Summary>>,
    /// For a shared folder's local copy: the sharable folder's `cur/`,
    /// the one place its messages (symlinks) may point into.
    pub(crate) linked: Option<PathBuf>,
}

/// The UIDs, the keywords in use and the first unseen message of a
/// snapshot: each a pass over every message, which on a big folder cost
/// more than the rest of a SELECT of a shared snapshot.
#[derive(Debug)]
pub(crate) struct Summary {
    uids: Vec<u32>,
    keywords: Vec<String>,
    first_unseen: Option<usize>,
    /// Header texts SEARCH asked of a big folder (built on first use).
    columns: Mutex<Vec<Arc<TextColumn>>>,
}

impl Summary {
    fn of(messages: &[Message]) -> Summary {
        let mut keywords: Vec<String> = messages
            .iter()
            .flat_map(|m| m.keywords.iter().cloned())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        keywords.sort();
        Summary {
            uids: messages.iter().map(|m| m.uid).collect(),
            keywords,
            first_unseen: messages.iter().position(|m| !m.flags.contains(Flags::SEEN)),
            columns: Mutex::default(),
        }
    }
}

impl Folder {
    pub(crate) fn open(account: Arc<Account>, name: &str, rw: bool) -> Result<Folder> {
        let dir = account.existing_dir(name)?;
        let name = crate::names::spelling(name)?;
        let linked = sharable::covers(&name)
            .then(|| sharable::source_of(&dir).map(|s| s.join("cur")))
            .flatten();
        if linked.is_some() {
            sharable::sync(&dir)?;
        }
        if rw {
            crate::tmpfile::purge_tmp(&dir);
        }
        let index = FolderIndex::new(index::index_path(&account.opts.index, &account.root, &dir));
        let remote = stamp::remote(&dir);
        let mut f = Folder {
            account,
            name,
            dir,
            rw,
            uidvalidity: 0,
            uidnext: 1,
            messages: Arc::default(),
            recent: Vec::new(),
            stamp: None,
            remote,
            index: Mutex::new(index),
            own: Vec::new(),
            cur_unlisted: false,
            own_cur: None,
            summary: Arc::default(),
            linked,
        };
        if !f.copy_shared_scan() {
            f.rescan()?;
        }
        Ok(f)
    }

    /// Takes the scan another session of this process left, if it still
    /// describes the folder (see [`crate::snapshots`]).
    fn copy_shared_scan(&mut self) -> bool {
        let Some(cache) = &self.account.opts.snapshots else {
            return false;
        };
        let Some(shared) = cache.get(&self.dir) else {
            return false;
        };
        if !shared.stamp.still_describes(shared.taken, &self.dir) {
            return false;
        }
        self.messages = shared.messages;
        self.summary = shared.summary;
        self.uidvalidity = shared.uidvalidity;
        self.uidnext = shared.uidnext;
        self.looked(shared.stamp, shared.taken);
        true
    }

    /// Offers a read-write scan of a big folder to the process's other
    /// sessions.
    fn share_scan(&self) {
        let Some(cache) = &self.account.opts.snapshots else {
            return;
        };
        let Some(Looked { stamp, taken, .. }) = &self.stamp else {
            return;
        };
        if !self.rw || !cache.wants(self.messages.len()) {
            return;
        }
        cache.put(
            &self.dir,
            Snapshot {
                stamp: stamp.clone(),
                taken: *taken,
                uidvalidity: self.uidvalidity,
                uidnext: self.uidnext,
                messages: Arc::clone(&self.messages),
                summary: Arc::clone(&self.summary),
            },
        );
    }

    /// The folder's canonical IMAP name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The folder directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// UIDVALIDITY.
    pub fn uidvalidity(&self) -> u32 {
        self.uidvalidity
    }

    /// Next UID (as of the snapshot).
    pub fn uidnext(&self) -> u32 {
        self.uidnext
    }

    /// True if opened read-write (SELECT).
    pub fn read_write(&self) -> bool {
        self.rw
    }

    /// The snapshot, sorted by UID ascending.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// Whether the message with this UID is \Recent to this session.
    pub fn is_recent(&self, uid: u32) -> bool {
        self.recent.binary_search(&uid).is_ok()
    }

    /// How many messages are \Recent to this session.
    pub fn recent_count(&self) -> usize {
        self.recent.len()
    }

    /// Index of a UID in [`Folder::messages`] (sequence number − 1).
    pub fn index_of(&self, uid: u32) -> Option<usize> {
        self.messages.binary_search_by_key(&uid, |m| m.uid).ok()
    }

    /// The message with this UID.
    pub fn by_uid(&self, uid: u32) -> Option<&Message> {
        self.index_of(uid).map(|i| &self.messages[i])
    }

    /// All keywords in use in the snapshot, sorted.
    pub fn keywords(&self) -> Vec<String> {
        self.summary().keywords.clone()
    }

    /// The UIDs, ascending.
    pub fn uids(&self) -> Vec<u32> {
        self.summary().uids.clone()
    }

    /// The index of the first message without `\Seen`.
    pub fn first_unseen(&self) -> Option<usize> {
        self.summary().first_unseen
    }

    fn summary(&self) -> &Summary {
        self.summary.get_or_init(|| Summary::of(&self.messages))
    }

    /// The messages, to change: the summary no longer holds.
    fn messages_mut(&mut self) -> &mut Vec<Message> {
        self.summary = Arc::default();
        Arc::make_mut(&mut self.messages)
    }

    /// Directories to watch (inotify) for changes: new/, cur/ and the
    /// keyword directory.
    pub fn watch_paths(&self) -> Vec<PathBuf> {
        let mut paths = vec![
            self.dir.join("new"),
            self.dir.join("cur"),
            self.dir.join(KEYWORD_DIR),
        ];
        // A shared folder changes where its sharable folder does.
        if let Some(source_cur) = &self.linked {
            paths.push(source_cur.clone());
            paths.extend(source_cur.parent().map(|s| s.join("new")));
        }
        paths
    }

    fn host(&self) -> &str {
        self.account.host()
    }

    fn do_scan(&self) -> Result<Scanned> {
        let mode = ScanMode {
            write: self.rw,
            // EXAMINE shows what SELECT shows (RFC 3501 §6.3.2), so new
            // mail moves to cur/ here too, as Courier's imapd does; it just
            // gets no saved UID.
            move_new: true,
            claim_recent: self.rw,
            use_locks: self.account.opts.use_locks,
        };
        if !self.rw && !self.dir.join(UIDDB_FILE).exists() {
            // A folder without a UID list gets one now, as STATUS makes
            // it: a UIDVALIDITY shown by EXAMINE and not kept would change
            // under the client as soon as anyone else opened the folder.
            // One we may not write keeps the UIDVALIDITY made up here.
            let saving = ScanMode {
                write: true,
                ..mode
            };
            if let Ok(s) = scan::scan(&self.dir, self.host(), saving) {
                return Ok(s);
            }
        }
        scan::scan(&self.dir, self.host(), mode)
    }

    /// Full rescan; replaces the snapshot and returns the differences.
    fn rescan(&mut self) -> Result<Changes> {
        self.rescan_claiming(&[])
    }

    /// [`Folder::rescan`], where the messages `claimed` (UIDs, ascending)
    /// are the session's own placements, \Recent to it already
    /// ([`Appended::recent_claimed`]).
    fn rescan_claiming(&mut self, claimed: &[u32]) -> Result<Changes> {
        let taken = SystemTime::now();
        let stamp = Stamp::take(&self.dir);
        let s = self.do_scan()?;
        let mut entries = s.entries;
        if s.uidvalidity == self.uidvalidity {
            scan::mark_recent(&mut entries, claimed);
        }
        let mut uidnext = s.nextuid;
        if !self.rw {
            // provisional UIDs for files without one (not saved); keep the
            // ones we handed out before for the same file
            let prev: HashMap<&str, u32> = self
                .messages
                .iter()
                .filter(|m| m.uid >= s.nextuid)
                .map(|m| (m.base_name(), m.uid))
                .collect();
            let mut next = s.nextuid.max(if self.uidvalidity == s.uidvalidity {
                self.uidnext
            } else {
                1
            });
            let same_v = self.uidvalidity == s.uidvalidity;
            for f in s.pending {
                let uid = match prev.get(base_name(&f)) {
                    Some(u) if same_v => *u,
                    _ => {
                        let u = next;
                        next = next.saturating_add(1);
                        u
                    }
                };
                // Not numbered yet, so nobody claimed it.
                entries.push(Entry {
                    uid,
                    file: f,
                    recent: true,
                });
            }
            entries.sort_by_key(|e| e.uid);
            entries.dedup_by_key(|e| e.uid);
            uidnext = next.saturating_add(s.new_count);
            if !s.db_present && self.uidvalidity != 0 {
                // keep the UIDVALIDITY we announced
                return self.install(entries, self.uidvalidity, uidnext, stamp, taken);
            }
        }
        self.install(entries, s.uidvalidity, uidnext, stamp, taken)
    }

    fn install(
        &mut self,
        entries: Vec<Entry>,
        uidvalidity: u32,
        uidnext: u32,
        stamp: Stamp,
        taken: SystemTime,
    ) -> Result<Changes> {
        let v_changed = self.uidvalidity != 0 && self.uidvalidity != uidvalidity;
        let mut kw: KeywordMap = if self.account.opts.keywords {
            let present: HashSet<&str> = entries.iter().map(|e| base_name(&e.file)).collect();
            keywords::load(&self.dir, self.host(), &present, self.rw)?
        } else {
            KeywordMap::default()
        };
        let mut ch = Changes {
            uidvalidity_changed: v_changed,
            ..Changes::default()
        };
        // Both lists are in UID order: one walk pairs each message with
        // its previous record.
        let old: &[Message] = if v_changed { &[] } else { &self.messages };
        let mut rest = old.iter().peekable();
        let mut msgs = Vec::with_capacity(entries.len());
        let mut recent = Vec::new();
        for e in entries {
            while let Some(p) = rest.next_if(|p| p.uid < e.uid) {
                ch.gone.push(Gone {
                    message: p.clone(),
                    recent: self.is_recent(p.uid),
                });
            }
            let prev = rest.next_if(|p| p.uid == e.uid);
            let stat = match prev {
                Some(p) if p.base_name() == base_name(&e.file) => p.stat.clone(),
                _ => OnceLock::new(),
            };
            // Once recent in a session, recent for the rest of it.
            if e.recent || prev.is_some_and(|p| self.is_recent(p.uid)) {
                recent.push(e.uid);
            }
            let m = Message {
                uid: e.uid,
                flags: flags_of(&e.file),
                keywords: kw.remove(base_name(&e.file)).unwrap_or_default(),
                file: e.file,
                stat,
            };
            match prev {
                None => ch.added.push(m.uid),
                Some(p) if p.flags != m.flags || p.keywords != m.keywords => {
                    ch.flags_changed.push(m.uid);
                }
                Some(_) => {}
            }
            msgs.push(m);
        }
        ch.gone.extend(rest.map(|p| Gone {
            message: p.clone(),
            recent: self.is_recent(p.uid),
        }));
        let index = self.index.get_mut().unwrap_or_else(PoisonError::into_inner);
        if v_changed {
            ch.expunged = self.messages.iter().map(|m| m.uid).collect();
            index.reset();
        } else {
            ch.expunged = ch.gone.iter().map(|g| g.message.uid).collect();
            index.forget(&ch.expunged);
        }
        self.recent = recent;
        self.messages = Arc::new(msgs);
        self.summary = Arc::default();
        self.uidvalidity = uidvalidity;
        self.uidnext = uidnext.max(
            self.messages
                .last()
                .map(|m| m.uid.saturating_add(1))
                .unwrap_or(1),
        );
        self.looked(stamp, taken);
        self.listed_at(taken);
        self.share_scan();
        Ok(ch)
    }

    /// Re-reads the folder, including changes made by other processes.
    /// Cheap (a few stat calls) when nothing changed since the last scan
    /// and that scan is older than the file-system timestamp granularity.
    pub fn refresh(&mut self) -> Result<Changes> {
        if self.linked.is_some() {
            sharable::sync(&self.dir)?;
        }
        let claimed = self.own_claimed();
        if let Some(changes) = self.confirm_unchanged(true)? {
            return Ok(changes);
        }
        self.rescan_claiming(&claimed)
    }

    /// Like [`Folder::refresh`], but without listing `cur/` when only it
    /// changed: new deliveries, another writer's UIDs and keyword changes
    /// are taken in, while flag changes and expunges by others wait for
    /// the next full refresh. This is Dovecot's `MAILBOX_SYNC_FLAG_FAST`,
    /// which its IMAP commands other than NOOP, CHECK, IDLE and SELECT
    /// use: a session that changes its own folder moves `cur/`'s mtime
    /// with every command, and listing `cur/` after each was most of what
    /// a busy session cost. A message another client renamed meanwhile is
    /// still found by its base name, and one it removed answers as
    /// expunged.
    pub fn refresh_fast(&mut self) -> Result<Changes> {
        let claimed = self.own_claimed();
        if let Some(changes) = self.confirm_unchanged(false)? {
            return Ok(changes);
        }
        self.rescan_claiming(&claimed)
    }

    /// The UIDs of the session's own placements not taken in yet that are
    /// \Recent to it without a claim from the list.
    fn own_claimed(&self) -> Vec<u32> {
        self.own
            .iter()
            .filter(|o| o.claimed)
            .map(|o| o.uid)
            .collect()
    }

    /// Notes a message the session itself just stored (APPEND) so that
    /// the next [`Folder::refresh`] can take it in without a rescan. A
    /// message placed in another folder, or under another UIDVALIDITY, is
    /// ignored: the refresh finds it the usual way.
    pub fn took_in(&mut self, appended: &Appended) {
        let Some(placed) = &appended.placed else {
            return;
        };
        let newest = self.messages.last().map_or(0, |m| m.uid);
        let after = self.own.last().map_or(newest, |o| o.uid);
        if self.rw
            && placed.dir == self.dir
            && appended.uidvalidity == self.uidvalidity
            && appended.uid > after
        {
            self.own.push(Own {
                uid: appended.uid,
                file: placed.file.clone(),
                claimed: appended.recent_claimed,
            });
            // Placed already: what came before it is left to the
            // verifying listing (see `changing_cur`).
            self.own_cur = self.own_change();
        }
    }

    /// `cur/`'s mtime now, as the session's own latest change left it.
    fn own_change(&self) -> Option<OwnChange> {
        let mtime = self.cur_mtime()?;
        Some(OwnChange {
            mtime,
            read_at: SystemTime::now(),
        })
    }

    /// A value that changes whenever an entry of the folder's directory
    /// is added, removed or replaced (its ACL file, `courierimapacl`,
    /// among them); `None` when that cannot be told: the directory changed
    /// within the file system's clock tick, or is on a network file
    /// system, whose times come from another host's clock. An error
    /// ([`Error::NonExistent`]) once the directory is gone.
    pub fn dir_version(&self) -> Result<Option<u128>> {
        use std::os::unix::fs::MetadataExt;
        let md = match fs::symlink_metadata(&self.dir) {
            Ok(md) if md.is_dir() => md,
            Ok(_) => return Err(Error::NonExistent(self.name.clone())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::NonExistent(self.name.clone()))
            }
            Err(e) => return Err(Error::io(&self.dir, e)),
        };
        let Ok(mtime) = md.modified() else {
            return Ok(None);
        };
        if self.remote || !stamp::settled(mtime, SystemTime::now()) {
            return Ok(None);
        }
        let Ok(since) = mtime.duration_since(SystemTime::UNIX_EPOCH) else {
            return Ok(None);
        };
        Ok(Some(since.as_nanos() ^ (u128::from(md.ino()) << 64)))
    }

    /// `cur/`'s mtime now.
    fn cur_mtime(&self) -> Option<SystemTime> {
        fs::metadata(self.dir.join("cur"))
            .and_then(|m| m.modified())
            .ok()
    }

    /// Runs `change`, which changes `cur/` for the session (STORE,
    /// EXPUNGE, MOVE), and notes it.
    ///
    /// The next full refresh then need not list `cur/` because its mtime
    /// moved, as long as the mtime is still the one right after this
    /// change: the session knows what it did. Two things could hide behind
    /// that mtime, and both are found by one listing later: a change by
    /// someone else before this one (seen at once when `cur/`'s mtime just
    /// before is not what the session last knew, and else caught by that
    /// listing), and one in the same clock tick after it. So a full refresh
    /// lists `cur/` once it comes [`OWN_CHANGE_VERIFY`] or more after the
    /// session's last change, as Dovecot lists a "dirty" `cur/` again once
    /// its timestamp is old enough.
    pub(crate) fn changing_cur<R>(&mut self, change: impl FnOnce(&mut Self) -> R) -> R {
        let known = self
            .own_cur
            .map(|o| o.mtime)
            .or_else(|| self.stamp.as_ref().and_then(|l| l.stamp.cur()));
        if self.cur_mtime() != known {
            self.cur_unlisted = true;
        }
        let result = change(self);
        self.own_cur = self.own_change();
        result
    }

    /// Records the folder's timestamps `stamp`, seen at `taken`.
    fn looked(&mut self, stamp: Stamp, taken: SystemTime) {
        let since = match &self.stamp {
            Some(old) if old.stamp == stamp => old.since,
            _ => taken,
        };
        self.stamp = Some(Looked {
            stamp,
            taken,
            since,
        });
    }

    /// `cur/` was listed at `taken`: what the session had to verify, it has.
    fn listed_at(&mut self, taken: SystemTime) {
        self.cur_unlisted = false;
        if self.own_cur.is_some_and(|o| o.settled(taken)) {
            self.own_cur = None;
        }
    }

    /// Whether the snapshot, plus what the session placed itself, still
    /// describes the folder although its timestamps moved or are too
    /// fresh to trust; if so, the changes that are the session's own.
    ///
    /// The session's own STORE, EXPUNGE and MOVE change `cur/` and are
    /// already in the snapshot, and its APPENDs are in `own`; so a listing
    /// of `cur/` that names exactly those files, with `new/` empty, the
    /// keywords untouched and the same UIDVALIDITY, shows that nobody
    /// else changed anything. That costs one directory listing where a
    /// rescan also reads the UID list under the folder lock. Keyword
    /// updates (others' or the session's own) are read again on their
    /// own. Records the new stamp.
    ///
    /// With `list_cur` false, `cur/` is not listed ([`Folder::refresh_fast`]).
    fn confirm_unchanged(&mut self, list_cur: bool) -> Result<Option<Changes>> {
        let own = std::mem::take(&mut self.own);
        let Some(old) = &self.stamp else {
            return Ok(None);
        };
        let taken = SystemTime::now();
        let now = Stamp::take(&self.dir);
        let mut moved = if self.remote {
            old.stamp.moved_remote(old.since, old.taken, &now)
        } else {
            old.stamp.moved(old.taken, &now)
        };
        // What is yet to be listed, and the session's own changes until a
        // listing verified them, count as moves.
        moved.cur |= self.cur_unlisted || self.own_cur.is_some();
        // cur/ moved, but only as the session's own changes moved it: a
        // full refresh lists it once they are old enough to be verified.
        let own_tick = self
            .own_cur
            .filter(|o| !self.cur_unlisted && now.cur() == Some(o.mtime));
        let own_only = own_tick.is_some();
        let lists = list_cur && own_tick.is_none_or(|o| o.verifiable(taken));
        if !moved.any() && own.is_empty() {
            return Ok(Some(Changes::default()));
        }
        if moved.db {
            // Another writer may have numbered files (they show in cur/)
            // or dropped vanished ones; only a new UIDVALIDITY renumbers.
            match scan::read_db_header(&self.dir)? {
                Some((v, next)) if v == self.uidvalidity && self.rw => {
                    // More numbered since than this session placed itself:
                    // another writer put messages in cur/ (Courier's APPEND
                    // and COPY do), which only a listing finds.
                    let numbered =
                        usize::try_from(next.saturating_sub(self.uidnext)).unwrap_or(usize::MAX);
                    if !lists && numbered > own.len() {
                        return Ok(None);
                    }
                    self.uidnext = self.uidnext.max(next);
                }
                _ => return Ok(None),
            }
        }
        if moved.new && !list_dir(&self.dir.join("new"))?.is_empty() {
            return Ok(None);
        }
        if !lists {
            self.cur_unlisted |= moved.cur && !own_only;
        } else if (moved.cur || !own.is_empty())
            && !self.lists_as(&list_dir(&self.dir.join("cur"))?, &own)
        {
            return Ok(None);
        } else {
            self.listed_at(taken);
        }
        let mut changes = if own.is_empty() {
            Changes::default()
        } else {
            self.take_in(own)?
        };
        if moved.kw && self.account.opts.keywords {
            changes.flags_changed = self.reload_keywords(&changes.added)?;
        }
        self.looked(now, taken);
        Ok(Some(changes))
    }

    /// Reads the keywords again (the files stayed the same) and returns
    /// the UIDs, not in `added`, whose keywords changed.
    fn reload_keywords(&mut self, added: &[u32]) -> Result<Vec<u32>> {
        let mut kw = {
            let present: HashSet<&str> = self.messages.iter().map(|m| m.base_name()).collect();
            keywords::load(&self.dir, self.host(), &present, self.rw)?
        };
        let differs = |m: &Message, kw: &KeywordMap| {
            kw.get(m.base_name()).map_or(&[][..], Vec::as_slice) != m.keywords.as_slice()
        };
        if !self.messages.iter().any(|m| differs(m, &kw)) {
            return Ok(Vec::new());
        }
        let mut changed = Vec::new();
        for m in self.messages_mut() {
            if differs(m, &kw) {
                m.keywords = kw.remove(m.base_name()).unwrap_or_default();
                if added.binary_search(&m.uid).is_err() {
                    changed.push(m.uid);
                }
            }
        }
        Ok(changed)
    }

    /// Adds the session's own new messages to the snapshot. They are
    /// \Recent to this session: those placed unlisted are its claim
    /// already; the others it claims from the folder's list of unclaimed
    /// UIDs ([`crate::recent`]) under the folder lock, as a rescan would.
    fn take_in(&mut self, own: Vec<Own>) -> Result<Changes> {
        let listed = if own.iter().all(|o| o.claimed) {
            Vec::new()
        } else {
            let _lock = FolderLock::acquire(&self.dir, self.host(), self.account.opts.use_locks)?;
            recent::take(&self.dir, self.uidvalidity)?
        };
        let added: Vec<u32> = own.iter().map(|o| o.uid).collect();
        self.recent.extend(
            own.iter()
                .filter(|o| o.claimed || listed.binary_search(&o.uid).is_ok())
                .map(|o| o.uid),
        );
        let messages = self.messages_mut();
        for Own { uid, file, .. } in own {
            messages.push(Message {
                uid,
                flags: flags_of(&file),
                keywords: Vec::new(),
                file,
                stat: OnceLock::new(),
            });
        }
        self.uidnext = self
            .uidnext
            .max(added.last().map_or(1, |u| u.saturating_add(1)));
        Ok(Changes {
            added,
            ..Changes::default()
        })
    }

    /// Whether `files` (a listing of cur/) are exactly the snapshot's
    /// and the session's own new ones.
    fn lists_as(&self, files: &[String], own: &[Own]) -> bool {
        if files.len() != self.messages.len() + own.len() {
            return false;
        }
        let known: HashSet<&str> = self
            .messages
            .iter()
            .map(|m| m.file.as_str())
            .chain(own.iter().map(|o| o.file.as_str()))
            .collect();
        files.iter().all(|f| known.contains(f.as_str()))
    }

    pub(crate) fn require_rw(&self) -> Result<()> {
        if self.rw {
            Ok(())
        } else {
            Err(Error::ReadOnly)
        }
    }

    /// Size in bytes of the stored message (LF line endings), as quota
    /// counts it: the Maildir++ `,S=` of its name, else the file's size.
    pub fn stored_size(&self, m: &Message) -> u64 {
        size_tag(&m.file).unwrap_or_else(|| self.stat(m).size)
    }

    /// INTERNALDATE: the message file's mtime.
    pub fn internal_date(&self, m: &Message) -> SystemTime {
        self.stat(m).modified
    }

    fn stat(&self, m: &Message) -> FileStat {
        *m.stat.get_or_init(|| {
            let cur = self.dir.join("cur");
            match fs::metadata(cur.join(&m.file)) {
                Ok(md) => FileStat::of(&md),
                // Renamed by another client since the snapshot: find it
                // by its base name.
                Err(_) => match self.locate(&mut None, &m.file) {
                    Ok(Some(now)) => fs::metadata(cur.join(now))
                        .map(|md| FileStat::of(&md))
                        .unwrap_or(FileStat::GONE),
                    _ => FileStat::GONE,
                },
            }
        })
    }

    /// Finds a message's current file in cur/ by base name (it may have
    /// been renamed by another process).
    pub(crate) fn locate(
        &self,
        relist: &mut Option<HashMap<String, String>>,
        file: &str,
    ) -> Result<Option<String>> {
        let cur = self.dir.join("cur");
        if cur.join(file).exists() {
            return Ok(Some(file.to_string()));
        }
        if relist.is_none() {
            *relist = Some(
                list_dir(&cur)?
                    .into_iter()
                    .map(|f| (base_name(&f).to_string(), f))
                    .collect(),
            );
        }
        Ok(relist
            .as_ref()
            .and_then(|m| m.get(base_name(file)).cloned()))
    }

    /// Gives message `m`'s file the flags `new_flags` makes of those it
    /// has now: its name before, the flags, and its name after; `None`
    /// when it is gone (expunged by someone else). A change is tried on
    /// the name the snapshot knows first: that rename also shows nobody
    /// renamed the file meanwhile. Else (or when someone had) the file is
    /// found ([`Folder::locate`]) and the change made to its flags now.
    fn reflag(
        &self,
        relist: &mut Option<HashMap<String, String>>,
        m: &Message,
        new_flags: impl Fn(Flags) -> Flags,
    ) -> Result<Option<(String, Flags, String)>> {
        let cur = self.dir.join("cur");
        let rename = |from: &str, to: &str| match fs::rename(cur.join(from), cur.join(to)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io(cur.join(from), e)),
        };
        let guess = new_flags(m.flags);
        let to = merge_info(&m.file, guess);
        if guess != m.flags && to != m.file && rename(&m.file, &to)? {
            return Ok(Some((m.file.clone(), guess, to)));
        }
        let Some(actual) = self.locate(relist, &m.file)? else {
            return Ok(None);
        };
        let target = new_flags(flags_of(&actual));
        if target == flags_of(&actual) && actual == m.file && target == m.flags {
            return Ok(Some((actual.clone(), target, actual)));
        }
        let to = merge_info(&actual, target);
        if to != actual && !rename(&actual, &to)? {
            return Ok(None);
        }
        Ok(Some((actual, target, to)))
    }

    /// Changes flags and/or keywords of the given UIDs (STORE). Files are
    /// renamed to `base:2,<sorted letters>`; keywords go through the
    /// per-message update files. Returns the UIDs whose flags or keywords
    /// actually changed. Clearing `\Deleted` counts the message toward the
    /// quota again and may fail with [`Error::OverQuota`].
    pub fn store(
        &mut self,
        uids: &[u32],
        op: FlagOp,
        flags: Flags,
        keywords: &[String],
    ) -> Result<Vec<u32>> {
        self.changing_cur(|f| f.store_files(uids, op, flags, keywords))
    }

    fn store_files(
        &mut self,
        uids: &[u32],
        op: FlagOp,
        flags: Flags,
        keywords: &[String],
    ) -> Result<Vec<u32>> {
        self.require_rw()?;
        for k in keywords {
            keywords::validate_keyword(k)?;
        }
        let use_kw = self.account.opts.keywords;
        let kwset: Vec<String> = keywords::normalize(keywords.to_vec());
        let counted = self.account.counted(&self.dir);
        let root = self.account.root.clone();
        let host = self.host().to_string();
        // Found by UID, not by a pass over the folder: FETCH BODY[] sets
        // \Seen one message at a time, which over a whole folder would
        // otherwise cost its size squared.
        let mut idxs: Vec<usize> = uids.iter().filter_map(|&u| self.index_of(u)).collect();
        idxs.sort_unstable();
        idxs.dedup();

        let new_flags = |old: Flags| match op {
            FlagOp::Add => old.union(flags),
            FlagOp::Remove => old.difference(flags),
            FlagOp::Replace => flags,
        };
        let new_kws = |old: &Vec<String>| -> Vec<String> {
            match op {
                FlagOp::Add => {
                    keywords::normalize(old.iter().chain(kwset.iter()).cloned().collect())
                }
                FlagOp::Remove => old.iter().filter(|k| !kwset.contains(k)).cloned().collect(),
                FlagOp::Replace => kwset.clone(),
            }
        };
        // quota: undeleting is an addition, checked up front
        if counted {
            let mut add = (0i64, 0i64);
            for m in idxs.iter().map(|&i| &self.messages[i]) {
                if m.flags.contains(Flags::DELETED) && !new_flags(m.flags).contains(Flags::DELETED)
                {
                    add.0 += i64::try_from(self.stored_size(m)).unwrap_or(i64::MAX);
                    add.1 += 1;
                }
            }
            if add.1 > 0 && !quota::check(&root, &host, add.0, add.1)? {
                return Err(Error::OverQuota);
            }
        }
        let mut relist = None;
        let mut changed = Vec::new();
        let mut qdelta = (0i64, 0i64);
        let mut result = Ok(());
        for i in idxs {
            let m = &self.messages[i];
            let target_kws = if use_kw {
                new_kws(&m.keywords)
            } else {
                m.keywords.clone()
            };
            let (actual, target_flags, file) = match self.reflag(&mut relist, m, new_flags) {
                Ok(Some(done)) => done,
                Ok(None) => continue, // expunged by someone else
                Err(e) => {
                    result = Err(e);
                    break;
                }
            };
            let mut did = target_flags != m.flags;
            if counted {
                let sign = match (
                    flags_of(&actual).contains(Flags::DELETED),
                    target_flags.contains(Flags::DELETED),
                ) {
                    (false, true) => -1,
                    (true, false) => 1,
                    _ => 0,
                };
                if sign != 0 {
                    let sz = i64::try_from(self.stored_size(m)).unwrap_or(i64::MAX);
                    qdelta.0 += sign * sz;
                    qdelta.1 += sign;
                }
            }
            let mut new_keywords = None;
            if use_kw && target_kws != m.keywords {
                if let Err(e) =
                    keywords::save_update(&self.dir, &host, base_name(&file), &target_kws)
                {
                    result = Err(e);
                }
                new_keywords = Some(target_kws);
                did = true;
            }
            let m = &self.messages[i];
            if did {
                changed.push(m.uid);
            }
            if m.file != file || m.flags != target_flags || new_keywords.is_some() {
                // The first change copies a snapshot shared with others.
                let m = &mut self.messages_mut()[i];
                m.file = file;
                m.flags = target_flags;
                if let Some(k) = new_keywords {
                    m.keywords = k;
                }
            }
            if result.is_err() {
                break;
            }
        }
        quota::record(&root, qdelta.0, qdelta.1)?;
        result.map(|()| changed)
    }

    /// Removes messages flagged `\Deleted` (only those among `uids` if
    /// given). Returns the expunged UIDs, ascending.
    pub fn expunge(&mut self, uids: Option<&[u32]>) -> Result<Vec<u32>> {
        self.changing_cur(|f| f.expunge_files(uids))
    }

    fn expunge_files(&mut self, uids: Option<&[u32]>) -> Result<Vec<u32>> {
        self.require_rw()?;
        let only: Option<HashSet<u32>> = uids.map(|u| u.iter().copied().collect());
        // \Deleted messages are not counted toward the quota, so removing
        // them needs no maildirsize update.
        let cur = self.dir.join("cur");
        let mut relist = None;
        let mut gone: HashSet<u32> = HashSet::new();
        // Messages of a shared folder that stayed (their new file names).
        let mut kept: Vec<(u32, String)> = Vec::new();
        let mut result = Ok(());
        for m in self.messages.iter() {
            if !m.flags.contains(Flags::DELETED) {
                continue;
            }
            if let Some(o) = &only {
                if !o.contains(&m.uid) {
                    continue;
                }
            }
            let actual = match self.locate(&mut relist, &m.file) {
                Ok(a) => a,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            };
            match actual {
                None => {
                    gone.insert(m.uid);
                }
                Some(f) => {
                    let still_deleted = flags_of(&f).contains(Flags::DELETED);
                    if !still_deleted {
                        continue; // undeleted by someone else meanwhile
                    }
                    match self.remove_file(&cur.join(&f)) {
                        Ok(None) => {
                            gone.insert(m.uid);
                        }
                        Ok(Some(now)) => kept.push((m.uid, now)),
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {
                            // renamed meanwhile: look again once
                            let mut fresh = None;
                            match self.locate(&mut fresh, &m.file) {
                                Ok(Some(f2)) if flags_of(&f2).contains(Flags::DELETED) => {
                                    if let Ok(None) = self.remove_file(&cur.join(&f2)) {
                                        gone.insert(m.uid);
                                    }
                                }
                                Ok(Some(_)) => {}
                                Ok(None) => {
                                    gone.insert(m.uid);
                                }
                                Err(e) => {
                                    result = Err(e);
                                    break;
                                }
                            }
                        }
                        Err(e) => {
                            result = Err(Error::io(cur.join(&f), e));
                            break;
                        }
                    }
                }
            }
        }
        let mut v: Vec<u32> = gone.into_iter().collect();
        v.sort_unstable();
        self.remove_from_snapshot(&v);
        if !kept.is_empty() {
            let messages = self.messages_mut();
            for (uid, file) in kept {
                if let Ok(i) = messages.binary_search_by_key(&uid, |m| m.uid) {
                    messages[i].flags = flags_of(&file);
                    messages[i].file = file;
                }
            }
        }
        result.map(|()| v)
    }

    /// Takes the messages this session removed (EXPUNGE, MOVE) out of the
    /// snapshot and the index, without a rescan.
    pub(crate) fn remove_from_snapshot(&mut self, uids: &[u32]) {
        if uids.is_empty() {
            return;
        }
        self.index_mut().forget(uids);
        let gone: HashSet<u32> = uids.iter().copied().collect();
        self.messages_mut().retain(|m| !gone.contains(&m.uid));
        self.recent.retain(|u| !gone.contains(u));
    }

    fn index_mut(&mut self) -> &mut FolderIndex {
        self.index.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    /// The facts of message `uid` (ENVELOPE, BODYSTRUCTURE, sizes,
    /// INTERNALDATE, header texts for SEARCH; see [`MessageFacts`]): from
    /// the folder index when it has a record for this UID and file, else
    /// computed from the whole file and recorded. Fails only as
    /// [`open_message`](Self::open_message) does (unknown UID, file gone,
    /// I/O error); a missing or broken index is never an error.
    pub fn facts(&self, uid: u32) -> Result<Arc<MessageFacts>> {
        self.facts_with(uid, &mut ReadAhead::single())
    }

    /// [`facts`](Self::facts) of many messages, in the order given: for
    /// ascending UIDs (FETCH 1:*, a SEARCH over the folder) the index is
    /// read sequentially in large blocks.
    pub fn facts_for<'a>(
        &'a self,
        uids: &'a [u32],
    ) -> impl Iterator<Item = (u32, Result<Arc<MessageFacts>>)> + 'a {
        let mut ra = ReadAhead::bulk();
        uids.iter().map(move |&u| (u, self.facts_with(u, &mut ra)))
    }

    /// What SORT and THREAD need of many messages, handed to `each` in
    /// the order given: read in place from the index where it has them
    /// (nothing decoded but the keys), else computed from the file and
    /// recorded. `each` runs while the index is held, so it must not ask
    /// this folder for facts.
    pub fn order_facts_for(&self, uids: &[u32], mut each: impl FnMut(u32, Result<OrderFacts<'_>>)) {
        let mut ra = ReadAhead::bulk();
        // UIDs usually come ascending: look next to the last one first.
        let mut at = 0;
        for &uid in uids {
            let m = match self.messages.get(at) {
                Some(m) if m.uid == uid => Some(m),
                _ => self.index_of(uid).map(|i| {
                    at = i;
                    &self.messages[i]
                }),
            };
            let Some(m) = m else {
                each(uid, Err(Error::NotFound(uid)));
                continue;
            };
            at += 1;
            {
                let mut index = self.index.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(of) = index.lookup_order(self.uidvalidity, &self.messages, m, &mut ra) {
                    remember_stat(m, of.stored_size, of.internal_date);
                    each(uid, Ok(of));
                    continue;
                }
            }
            match self.facts_with(uid, &mut ra) {
                Ok(facts) => each(uid, Ok(facts.order_facts())),
                Err(e) => each(uid, Err(e)),
            }
        }
    }

    /// RFC822.SIZE: the `,W=` tag of the file name if it has one, else
    /// from [`facts`](Self::facts).
    pub fn rfc822_size(&self, uid: u32) -> Result<u64> {
        let m = self.by_uid(uid).ok_or(Error::NotFound(uid))?;
        match m.rfc822_size_tag() {
            Some(n) => Ok(n),
            None => Ok(self.facts(uid)?.rfc822_size),
        }
    }

    /// Writes the index records computed so far (they are also written in
    /// batches as they accumulate, and when the folder is dropped), and
    /// compacts the index when it holds more dead records than live ones.
    pub fn flush_index(&mut self) {
        let (v, messages) = (self.uidvalidity, Arc::clone(&self.messages));
        self.index_mut().flush(v, &messages);
    }

    fn facts_with(&self, uid: u32, ra: &mut ReadAhead) -> Result<Arc<MessageFacts>> {
        let m = self.by_uid(uid).ok_or(Error::NotFound(uid))?;
        if let Some(f) = self.indexed_facts(m, ra) {
            return Ok(Arc::new(f));
        }
        let mut file = self.open_message(uid)?;
        let at = || self.dir.join("cur").join(&m.file);
        let modified = file
            .metadata()
            .and_then(|md| md.modified())
            .map_err(|e| Error::io(at(), e))?;
        let mut bytes = Vec::new();
        io::Read::read_to_end(&mut file, &mut bytes).map_err(|e| Error::io(at(), e))?;
        let facts = MessageFacts::compute(&bytes, modified);
        remember_stat(m, facts.stored_size, facts.internal_date);
        self.index
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(self.uidvalidity, &self.messages, m, &facts);
        Ok(Arc::new(facts))
    }

    /// The facts of `m` if the index has them.
    pub(crate) fn indexed_facts(&self, m: &Message, ra: &mut ReadAhead) -> Option<MessageFacts> {
        let facts = self
            .index
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .lookup(self.uidvalidity, &self.messages, m, ra)?;
        remember_stat(m, facts.stored_size, facts.internal_date);
        Some(facts)
    }

    /// SEARCH of header `field` (an address field: `address`, whose
    /// addresses count too) over a big folder: per message, in order,
    /// whether its text holds `needle`, or `None` for one the index has
    /// no record of yet (ask its facts). Answered from a column of the
    /// field's texts kept with the snapshot, so only the first SEARCH of a
    /// field reads the index. `None` for a small folder or a field the
    /// index does not keep.
    pub fn search_header(
        &self,
        field: &str,
        address: bool,
        needle: &Needle,
    ) -> Option<Vec<Option<bool>>> {
        if self.messages.len() < text_column::MIN_MESSAGES {
            return None;
        }
        let lists = index::search_lists(field, address)?;
        let summary = self.summary();
        let found =
            |columns: &Vec<Arc<TextColumn>>| columns.iter().find(|c| c.lists == lists).cloned();
        let kept = found(
            &summary
                .columns
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let column = match kept {
            Some(c) => c,
            None => {
                let mut ra = ReadAhead::bulk();
                let messages = &self.messages;
                let built = TextColumn::build(lists, messages.len(), |i, add| {
                    let m = &messages[i];
                    let mut index = self.index.lock().unwrap_or_else(PoisonError::into_inner);
                    if let Some(view) = index.lookup_texts(self.uidvalidity, messages, m, &mut ra) {
                        remember_stat(m, view.stored_size, view.internal_date);
                        add(&view);
                    }
                })?;
                let built = Arc::new(built);
                let mut columns = summary
                    .columns
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if found(&columns).is_none() {
                    columns.push(Arc::clone(&built));
                }
                built
            }
        };
        Some(
            (0..self.messages.len())
                .map(|i| column.contains(i, needle))
                .collect(),
        )
    }

    /// Opens a message file for reading, even if it was renamed meanwhile.
    pub fn open_message(&self, uid: u32) -> Result<File> {
        let m = self.by_uid(uid).ok_or(Error::NotFound(uid))?;
        let cur = self.dir.join("cur");
        match self.open_file(&cur.join(&m.file)) {
            Ok(f) => Ok(f),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let mut relist = None;
                match self.locate(&mut relist, &m.file)? {
                    Some(f) => self.open_file(&cur.join(&f)).at(cur.join(&f)),
                    None => Err(Error::NotFound(uid)),
                }
            }
            Err(e) => Err(Error::io(cur.join(&m.file), e)),
        }
    }

    /// Opens a message file of this folder: never through a symlink,
    /// except in a shared folder's local copy, where each message is one
    /// into the sharable folder's `cur/` (and only there).
    pub(crate) fn open_file(&self, path: &Path) -> io::Result<File> {
        match &self.linked {
            Some(source) => crate::message_file::open_linked(path, source),
            None => crate::message_file::open(path),
        }
    }

    /// Removes a message file (`Ok(None)`); in a shared folder's local
    /// copy the sharable folder's message goes first, and when this
    /// process may not remove it (another's file in a sticky folder) the
    /// message stays with `\Deleted` taken off, as in Courier:
    /// `Ok(Some(its file name now))`.
    pub(crate) fn remove_file(&self, path: &Path) -> io::Result<Option<String>> {
        if self.linked.is_some() {
            if let Ok(target) = fs::read_link(path) {
                if fs::remove_file(&target).is_err() && fs::symlink_metadata(&target).is_ok() {
                    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    let kept = merge_info(name, flags_of(name).difference(Flags::DELETED));
                    return match fs::rename(path, path.with_file_name(&kept)) {
                        Ok(()) => Ok(Some(kept)),
                        Err(_) => Ok(Some(name.to_owned())),
                    };
                }
            }
        }
        fs::remove_file(path).map(|()| None)
    }
}

/// Keeps what index facts say of a message file, sparing a stat later.
fn remember_stat(m: &Message, size: u64, modified: SystemTime) {
    let _ = m.stat.set(FileStat { size, modified });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FlagOp, Flags, Store, StoreOptions};
    use std::fs::FileTimes;

    fn set_mtime(path: &Path, t: SystemTime) {
        fs::File::open(path)
            .and_then(|d| d.set_times(FileTimes::new().set_modified(t)))
            .unwrap();
    }

    fn set_cur_mtime(dir: &Path, t: SystemTime) {
        set_mtime(&dir.join("cur"), t);
    }

    /// Another node marks `m` \Seen, and `cur/`'s mtime then shows
    /// `mtime` (the same tick as before, or attributes cached here).
    fn seen_elsewhere(dir: &Path, m: &Message, mtime: SystemTime) {
        let cur = dir.join("cur");
        fs::rename(
            cur.join(&m.file),
            cur.join(format!("{}:2,S", m.base_name())),
        )
        .unwrap();
        set_cur_mtime(dir, mtime);
    }

    fn inbox_with(bodies: &[&str]) -> (tempfile::TempDir, Store) {
        let d = tempfile::tempdir().unwrap();
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir(d.path().join(sub)).unwrap();
        }
        let store = Store::open(d.path(), StoreOptions::default()).unwrap();
        for body in bodies {
            store
                .append("INBOX", body.as_bytes(), Flags::EMPTY, &[], None)
                .unwrap();
        }
        (d, store)
    }

    /// The directory's version moves when its ACL file is replaced (as
    /// SETACL writes it), is not told while the change is too fresh to
    /// trust, and is an error once the folder is gone.
    #[test]
    fn the_directory_version_moves_with_the_acl_file() {
        let (d, store) = inbox_with(&[]);
        store.create_folder("INBOX.a").unwrap();
        let f = store.open_folder("INBOX.a", true).unwrap();
        let dir = d.path().join(".a");
        let past = SystemTime::now() - Duration::from_secs(60);
        set_mtime(&dir, past);
        let v = f.dir_version().unwrap();
        assert!(v.is_some());
        assert_eq!(f.dir_version().unwrap(), v);
        let acl = crate::acl::AclList::parse(b"owner aceilrstwx\nanyone lr\n");
        crate::acl::write(d.path(), ".a", &acl, None).unwrap();
        assert_eq!(f.dir_version().unwrap(), None, "just changed");
        set_mtime(&dir, past + Duration::from_secs(1));
        let after = f.dir_version().unwrap();
        assert!(after.is_some() && after != v);
        store.delete_folder("INBOX.a").unwrap();
        assert!(matches!(f.dir_version(), Err(Error::NonExistent(_))));
    }

    /// A STORE from a snapshot older than another session's change of the
    /// same message applies to the flags the file has now, whether its
    /// own change renames the file (tried on the name it knew) or not.
    #[test]
    fn a_store_applies_to_the_flags_another_session_left() {
        let (d, store) = inbox_with(&["Subject: 1\n\none\n", "Subject: 2\n\ntwo\n"]);
        let mut stale = store.open_folder("INBOX", true).unwrap();
        let first = stale.messages()[0].clone();
        seen_elsewhere(d.path(), &first, SystemTime::now());
        let changed = stale
            .store(&[first.uid], FlagOp::Add, Flags::FLAGGED, &[])
            .unwrap();
        assert_eq!(changed, vec![first.uid]);
        let flags = Flags::SEEN.union(Flags::FLAGGED);
        assert_eq!(stale.messages()[0].flags, flags);
        let files = list_dir(&d.path().join("cur")).unwrap();
        assert!(
            files.contains(&format!("{}:2,FS", first.base_name())),
            "{files:?}"
        );

        // Here the snapshot says \Seen already: nothing to rename on the
        // name it knows, yet another session took \Seen away.
        let second = stale.messages()[1].clone();
        stale
            .store(&[second.uid], FlagOp::Add, Flags::SEEN, &[])
            .unwrap();
        let cur = d.path().join("cur");
        let now = stale.messages()[1].file.clone();
        fs::rename(
            cur.join(&now),
            cur.join(format!("{}:2,", second.base_name())),
        )
        .unwrap();
        let changed = stale
            .store(&[second.uid], FlagOp::Add, Flags::SEEN, &[])
            .unwrap();
        assert!(changed.is_empty(), "the snapshot had \\Seen already");
        assert!(cur.join(&now).exists(), "\\Seen is set on the file again");
    }

    /// On a network file system whose times are whole seconds and whose
    /// clock is 30 s behind ours, another node flags a message in the
    /// same second as the session's last look: `cur/`'s mtime stays as
    /// it was. The next refresh must look again rather than take the
    /// 30 s as proof that the timestamps had settled.
    #[test]
    fn a_same_second_change_is_found_with_the_fs_clock_behind() {
        let (d, store) = inbox_with(&["Subject: 1\n\none\n"]);
        let mut f = store.open_folder("INBOX", true).unwrap();
        f.remote = true;
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap();
        let behind = SystemTime::UNIX_EPOCH + Duration::from_secs(now.as_secs() - 30);
        for p in ["cur", "new", UIDDB_FILE] {
            set_mtime(&d.path().join(p), behind);
        }
        f.refresh().unwrap();

        let first = f.messages()[0].clone();
        seen_elsewhere(d.path(), &first, behind);
        let changes = f.refresh().unwrap();
        assert_eq!(changes.flags_changed, vec![first.uid]);
    }

    /// Another node flags a message; this node's cached attributes of
    /// `cur/` still show the mtime it knew, so its own STORE right after
    /// seems to be the only change. The file system's clock (another
    /// host's) runs 30 s ahead of ours: the verifying listing must still
    /// come, once enough time passed by our clock.
    #[test]
    fn a_change_hidden_behind_an_own_change_is_found_with_the_fs_clock_ahead() {
        let (d, store) = inbox_with(&["Subject: 1\n\none\n", "Subject: 2\n\ntwo\n"]);
        let mut f = store.open_folder("INBOX", true).unwrap();
        let first = f.messages()[0].clone();
        let second = f.messages()[1].uid;
        let known = f.cur_mtime().unwrap();

        seen_elsewhere(d.path(), &first, known);
        f.store(&[second], FlagOp::Add, Flags::FLAGGED, &[])
            .unwrap();

        // The file system stamped that change by its own clock.
        let ahead = SystemTime::now() + Duration::from_secs(30);
        set_cur_mtime(d.path(), ahead);
        let own = f.own_cur.as_mut().unwrap();
        own.mtime = ahead;

        std::thread::sleep(OWN_CHANGE_VERIFY + Duration::from_millis(100));
        let changes = f.refresh().unwrap();
        assert_eq!(changes.flags_changed, vec![first.uid]);
        assert!(f.messages()[0].flags.contains(Flags::SEEN));
    }
}
