//! COPY and MOVE: messages of an open folder into another folder of an
//! account (hard links, or renames for MOVE), with their flags, keywords
//! and index records, UIDs from the destination's uiddb (UIDPLUS).

use foldhash::HashSet;
use std::fs::{self, File};
use std::io;
use std::path::Path;

use crate::appended::{Appended, Placed};
use crate::error::{Error, IoContext, Result};
use crate::filename::{crlf_size_tag, size_tag, SizeTags, UniqueStem};
use crate::flags::{base_name, flags_of, merge_info, Flags};
use crate::folder::Folder;
use crate::gate::Gate;
use crate::index::{self, MessageFacts, ReadAhead};
use crate::keywords;
use crate::message::Message;
use crate::quota;
use crate::scan;
use crate::store::Store;

/// Result of a copy or move.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopyResult {
    /// UIDVALIDITY of the destination.
    pub uidvalidity: u32,
    /// `(source uid, destination uid)` for each message copied/moved.
    pub pairs: Vec<(u32, u32)>,
    /// Source UIDs a MOVE left where they are because this process may
    /// not remove them (another's message in a sticky sharable folder).
    pub stayed: Vec<u32>,
    /// The new messages as an APPEND leaves them, in `pairs` order: a
    /// copy into the folder the session has selected is taken in
    /// without a rescan ([`Folder::took_in`](crate::Folder::took_in)).
    pub placed: Vec<Appended>,
}

/// What of a message's flags a copy or move takes along: those the user
/// may set in the destination (its ACL, as Courier's `acl_flags_adjust`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Carry {
    /// The system flags kept; the others are dropped.
    pub flags: Flags,
    /// Whether keywords are kept.
    pub keywords: bool,
}

impl Carry {
    /// Every flag and keyword.
    pub const ALL: Carry = Carry {
        flags: Flags::ALL,
        keywords: true,
    };
}

impl Folder {
    /// Copies messages into folder `dest` of `store` (hard links where
    /// possible) with the flags and keywords `carry` keeps. Quota is
    /// checked first for the whole batch, then `gate` sees each message:
    /// an error from either places none.
    pub fn copy_to(
        &self,
        uids: &[u32],
        store: &Store,
        dest: &str,
        carry: Carry,
        gate: Option<Gate<'_>>,
    ) -> Result<CopyResult> {
        self.transfer(uids, store, dest, carry, false, gate)
            .map(|(r, _)| r)
    }

    /// Moves messages into folder `dest` (rename, with the flags `carry`
    /// keeps); they leave this snapshot. Returns the UID pairs. `gate` as
    /// for [`Folder::copy_to`].
    pub fn move_to(
        &mut self,
        uids: &[u32],
        store: &Store,
        dest: &str,
        carry: Carry,
        gate: Option<Gate<'_>>,
    ) -> Result<CopyResult> {
        self.require_rw()?;
        let (r, moved) = self.changing_cur(|f| f.transfer(uids, store, dest, carry, true, gate))?;
        self.remove_from_snapshot(&moved);
        Ok(r)
    }

    fn transfer(
        &self,
        uids: &[u32],
        store: &Store,
        dest: &str,
        carry: Carry,
        mv: bool,
        gate: Option<Gate<'_>>,
    ) -> Result<(CopyResult, Vec<u32>)> {
        let ddir = store.inner.existing_dir(dest)?;
        let host = store.inner.host().to_string();
        let want: HashSet<u32> = uids.iter().copied().collect();
        let msgs: Vec<&Message> = self
            .messages
            .iter()
            .filter(|m| want.contains(&m.uid))
            .collect();
        let same_dir = ddir == self.dir;
        let src_counted = self.account.counted(&self.dir);
        let dst_counted = store.inner.counted(&ddir);
        let same_root = store.inner.root == self.account.root;
        // quota
        let (mut add, mut sub) = ((0i64, 0i64), (0i64, 0i64));
        let kept = |f: Flags| Flags::from_bits(f.bits() & carry.flags.bits());
        for m in &msgs {
            if kept(m.flags).contains(Flags::DELETED) {
                continue;
            }
            let sz = i64::try_from(self.stored_size(m)).unwrap_or(i64::MAX);
            let counts_now = mv && src_counted && same_root;
            if dst_counted && !counts_now {
                add.0 += sz;
                add.1 += 1;
            }
            if counts_now && !dst_counted {
                sub.0 -= sz;
                sub.1 -= 1;
            }
            if mv && src_counted && !same_root {
                sub.0 -= sz;
                sub.1 -= 1;
            }
        }
        if add.1 > 0 && !quota::check(&store.inner.root, &host, add.0, add.1)? {
            return Err(Error::OverQuota);
        }
        let cur = self.dir.join("cur");
        let dcur = ddir.join("cur");
        let mut relist = None;
        // Names are decided, and keywords carried, before linking.
        let mut plan: Vec<(&Message, String, String)> = Vec::new(); // source file, dest file
                                                                    // The facts the source index has go with the messages (the file
                                                                    // is the same, or a copy with the same mtime); others are
                                                                    // computed in the destination when asked.
        let mut carried: Vec<Option<MessageFacts>> = Vec::new();
        let mut ra = ReadAhead::bulk();
        for m in &msgs {
            let Some(actual) = self.locate(&mut relist, &m.file)? else {
                continue;
            };
            let mut dest_file = if mv && !same_dir {
                actual.clone()
            } else {
                let md = fs::metadata(cur.join(&actual));
                let (dev, ino) = md
                    .as_ref()
                    .map(|md| {
                        use std::os::unix::fs::MetadataExt;
                        (md.dev(), md.ino())
                    })
                    .unwrap_or((0, 0));
                let sizes = SizeTags {
                    stored: size_tag(&actual).unwrap_or_else(|| self.stored_size(m)),
                    crlf: crlf_size_tag(&actual),
                };
                let base = UniqueStem::new(None).final_name(&host, dev, ino, Some(sizes));
                let info = actual.find(':').map(|i| &actual[i..]).unwrap_or(":2,");
                format!("{base}{info}")
            };
            let flags = flags_of(&dest_file);
            if kept(flags) != flags {
                dest_file = merge_info(&dest_file, kept(flags));
            }
            carried.push(self.indexed_facts(m, &mut ra));
            plan.push((m, actual, dest_file));
        }
        if let Some(gate) = gate {
            for (_, src, _) in &plan {
                let path = cur.join(src);
                gate(&mut self.open_file(&path).at(&path)?)?;
            }
        }
        for (m, _, dest_file) in &plan {
            if store.inner.opts.keywords && carry.keywords && !m.keywords.is_empty() {
                keywords::save_update(&ddir, &host, base_name(dest_file), &m.keywords)?;
            }
        }
        // Into a shared folder: the message goes into the sharable folder,
        // the local copy gets a link to it (numbered here at once).
        let dest_source = crate::sharable::covers(dest)
            .then(|| crate::sharable::source_of(&ddir))
            .flatten();
        let mut stayed = Vec::new();
        // Into this very folder: the session takes the copies in itself
        // (and they are \Recent to it).
        let claim = self.read_write() && ddir == self.dir();
        let placing = (plan.len(), !claim);
        let (uidvalidity, dest_uids) =
            scan::place_with_uids(&ddir, &host, store.inner.opts.use_locks, placing, |i| {
                let (_, src, dst) = &plan[i];
                let from = cur.join(src);
                let (to, tmp_dir) = match &dest_source {
                    Some(source) => (source.join("cur").join(dst), source.as_path()),
                    None => (dcur.join(dst), ddir.as_path()),
                };
                match self.put_file(&from, &to, tmp_dir, &host, mv)? {
                    Put::Done => {}
                    Put::Gone => return Ok(None),
                    Put::Stayed => {
                        stayed.push(plan[i].0.uid);
                        return Ok(None);
                    }
                }
                if dest_source.is_some() {
                    let link = dcur.join(dst);
                    std::os::unix::fs::symlink(&to, &link).at(&link)?;
                }
                Ok(Some(base_name(dst).to_string()))
            })?;
        let mut pairs = Vec::new();
        let mut moved = Vec::new();
        let mut recorded = Vec::new();
        let mut placed = Vec::new();
        for ((p, u), facts) in plan.iter().zip(dest_uids).zip(&carried) {
            if let Some(u) = u {
                pairs.push((p.0.uid, u));
                moved.push(p.0.uid);
                if let Some(f) = facts {
                    recorded.push((u, base_name(&p.2), f));
                }
                placed.push(Appended {
                    uidvalidity,
                    uid: u,
                    placed: Some(Placed {
                        dir: ddir.clone(),
                        file: p.2.clone(),
                    }),
                    recent_claimed: claim,
                });
            }
        }
        let dest_index = index::index_path(&store.inner.opts.index, &store.inner.root, &ddir);
        index::record_placed(dest_index.as_deref(), uidvalidity, &recorded);
        if add.1 > 0 {
            quota::record(&store.inner.root, add.0, add.1)?;
        }
        if sub.1 < 0 {
            quota::record(&self.account.root, sub.0, sub.1)?;
        }
        Ok((
            CopyResult {
                uidvalidity,
                pairs,
                stayed,
                placed,
            },
            moved,
        ))
    }
}

/// What became of one message file put into another folder.
enum Put {
    /// It is there (and, for MOVE, gone from here).
    Done,
    /// It was gone already.
    Gone,
    /// MOVE of a shared message this process may not remove: it stays,
    /// and its copy was taken back.
    Stayed,
}

impl Folder {
    /// Puts message file `from` of this folder at `to`: renamed for MOVE
    /// or hard-linked where the file system allows, else copied through
    /// `tmp_dir`'s `tmp/` with its mtime (INTERNALDATE). A shared folder's
    /// messages are always copied (they are links into the sharable
    /// folder), and MOVE then removes them as EXPUNGE would.
    fn put_file(
        &self,
        from: &Path,
        to: &Path,
        tmp_dir: &Path,
        host: &str,
        mv: bool,
    ) -> Result<Put> {
        if self.linked.is_none() {
            if mv {
                match fs::rename(from, to) {
                    Ok(()) => return Ok(Put::Done),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Put::Gone),
                    Err(e) if e.raw_os_error() != Some(rustix::io::Errno::XDEV.raw_os_error()) => {
                        return Err(Error::io(from, e))
                    }
                    Err(_) => {}
                }
            }
            match fs::hard_link(from, to) {
                Ok(()) => {
                    if mv {
                        let _ = fs::remove_file(from);
                    }
                    return Ok(Put::Done);
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Put::Gone),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(Error::io(to, e)),
                // another file system, or no links: copied below
                Err(_) => {}
            }
        }
        let mut file = match self.open_file(from) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Put::Gone),
            Err(e) => return Err(Error::io(from, e)),
        };
        let mut data = Vec::new();
        io::Read::read_to_end(&mut file, &mut data).at(from)?;
        let t = crate::tmpfile::TmpFile::with_contents(tmp_dir, host, None, &data)?;
        if let Ok(mt) = file.metadata().and_then(|m| m.modified()) {
            let _ = File::options()
                .write(true)
                .open(&t.path)
                .and_then(|f| f.set_modified(mt));
        }
        crate::tmpfile::link_into_place(t, to)?;
        // A message of a shared folder this process may not remove (in a
        // sticky sharable folder) does not move: its copy goes again.
        if mv && !matches!(self.remove_file(from), Ok(None)) {
            let _ = fs::remove_file(to);
            return Ok(Put::Stayed);
        }
        Ok(Put::Done)
    }
}
