//! The timestamps that reveal a change of a folder, and how far they can
//! be trusted.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::keywords::KEYWORD_DIR;
use crate::uiddb::UIDDB_FILE;

/// The mtimes (and the UID list's length) that reveal a change of a
/// folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamp {
    cur: Option<SystemTime>,
    new: Option<SystemTime>,
    kw: Option<SystemTime>,
    db: Option<(SystemTime, u64)>,
}

/// Which parts of a folder may have changed since a [`Stamp`]: their
/// timestamp moved, or it was too close to the stamp's time to trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Moved {
    /// `cur/`: files added, removed or renamed.
    pub cur: bool,
    /// `new/`: deliveries (or files taken out).
    pub new: bool,
    /// The keyword directory.
    pub kw: bool,
    /// `courierimapuiddb`.
    pub db: bool,
}

impl Moved {
    /// True if any part may have changed.
    pub fn any(self) -> bool {
        self.cur || self.new || self.kw || self.db
    }
}

/// Within this window of the snapshot time a directory mtime is not
/// trusted to reveal later changes, on filesystems whose timestamps are
/// whole seconds (or coarser).
const MTIME_SLACK: Duration = Duration::from_secs(2);
/// The same window where timestamps carry sub-second parts: Linux stamps
/// files from a clock that ticks every 1-10 ms (jiffies), so a change in
/// the same tick as our scan could share its mtime; 50 ms covers any
/// tick. Without this, a folder changed within the last two seconds is
/// rescanned on every command, which is most commands of a busy session.
const FINE_MTIME_SLACK: Duration = Duration::from_millis(50);

fn slack(fine_grained: bool) -> Duration {
    if fine_grained {
        FINE_MTIME_SLACK
    } else {
        MTIME_SLACK
    }
}

fn has_fraction(t: SystemTime) -> bool {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .is_ok_and(|d| d.subsec_nanos() != 0)
}

fn settled_within(t: SystemTime, taken: SystemTime, slack: Duration) -> bool {
    taken.duration_since(t).is_ok_and(|d| d >= slack)
}

/// Whether a timestamp `t`, seen at `taken`, is old enough that any later
/// change would have moved it: the rule [`Folder::refresh`] trusts, for
/// one timestamp (one without a sub-second part gets the coarse window).
///
/// [`Folder::refresh`]: crate::Folder::refresh
pub fn settled(t: SystemTime, taken: SystemTime) -> bool {
    settled_within(t, taken, tick(t))
}

/// How long after a change that left a timestamp at `t` another change
/// can still leave it there: the file system's clock tick, as judged
/// from `t` itself.
pub(crate) fn tick(t: SystemTime) -> Duration {
    slack(has_fraction(t))
}

/// Whether `dir` is on a network file system (NFS, SMB, FUSE such as
/// GlusterFS or sshfs): its timestamps come from another host's clock,
/// and inotify does not see other hosts' changes. Unknown counts as
/// network.
pub fn remote(dir: &Path) -> bool {
    const NFS_SUPER_MAGIC: i64 = 0x6969;
    const SMB_SUPER_MAGIC: i64 = 0x517B;
    const CIFS_MAGIC: i64 = 0xFF53_4D42;
    const FUSE_SUPER_MAGIC: i64 = 0x6573_5546;
    match rustix::fs::statfs(dir) {
        Ok(st) => matches!(
            st.f_type,
            NFS_SUPER_MAGIC | SMB_SUPER_MAGIC | CIFS_MAGIC | FUSE_SUPER_MAGIC
        ),
        Err(_) => true,
    }
}

fn mtime(p: &Path) -> Option<SystemTime> {
    fs::metadata(p).and_then(|m| m.modified()).ok()
}

impl Stamp {
    /// The folder's timestamps now.
    pub fn take(dir: &Path) -> Stamp {
        Stamp {
            cur: mtime(&dir.join("cur")),
            new: mtime(&dir.join("new")),
            kw: mtime(&dir.join(KEYWORD_DIR)),
            db: fs::metadata(dir.join(UIDDB_FILE))
                .ok()
                .and_then(|m| m.modified().ok().map(|t| (t, m.len()))),
        }
    }

    /// `cur/`'s mtime in this stamp.
    pub fn cur(&self) -> Option<SystemTime> {
        self.cur
    }

    /// Whether the filesystem keeps sub-second timestamps: some stamp has
    /// a non-zero fraction (a whole-second value on a fine filesystem only
    /// makes us fall back to the safe, coarse window).
    fn fine_grained(&self) -> bool {
        [self.cur, self.new, self.kw, self.db.map(|d| d.0)]
            .into_iter()
            .flatten()
            .any(has_fraction)
    }

    /// What may have changed since this stamp was taken at `taken`,
    /// judged by the stamp `now`. A part counts as changed when its
    /// timestamp moved, and also when the stamp was taken so soon after
    /// that timestamp that a later change could have left it as it was.
    pub fn moved(&self, taken: SystemTime, now: &Stamp) -> Moved {
        let slack = slack(self.fine_grained());
        self.moved_unless(now, |t| t.is_none_or(|t| settled_within(t, taken, slack)))
    }

    /// [`Stamp::moved`] on a file system whose timestamps another host's
    /// clock sets ([`remote`]): how old a timestamp is cannot be told by
    /// our clock, which may be far ahead of that host's. So every part
    /// counts as changed until a look at the folder came one clock tick or
    /// more after `since`, when these timestamps were first seen, both by
    /// our clock; `taken` is the latest look.
    pub fn moved_remote(&self, since: SystemTime, taken: SystemTime, now: &Stamp) -> Moved {
        let settled = settled_within(since, taken, slack(self.fine_grained()));
        self.moved_unless(now, |_| settled)
    }

    fn moved_unless(&self, now: &Stamp, settled: impl Fn(Option<SystemTime>) -> bool) -> Moved {
        Moved {
            cur: self.cur != now.cur || !settled(self.cur),
            new: self.new != now.new || !settled(self.new),
            kw: self.kw != now.kw || !settled(self.kw),
            db: self.db != now.db || !settled(self.db.map(|d| d.0)),
        }
    }

    /// Whether a scan that saw this stamp at `taken` still describes
    /// `dir`: nothing changed, and the scan came late enough after each
    /// change that a later one would have moved a timestamp.
    pub fn still_describes(&self, taken: SystemTime, dir: &Path) -> bool {
        !self.moved(taken, &Stamp::take(dir)).any()
    }
}
