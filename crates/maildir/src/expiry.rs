//! Courier's `IMAP_EMPTYTRASH`: at login and logout, messages older than
//! some days are removed from the folders named (by default the Trash,
//! after 7 days). Age is the file's ctime, as Courier measures it: a
//! message moved into Trash starts its days then.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{IoContext, Result};
use crate::flags::{flags_of, Flags};
use crate::quota;
use crate::scan::list_dir;
use crate::store::Store;

/// One folder and how many days its messages are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiryRule {
    /// The folder's name below INBOX (`Trash`, `Sent`, `Lists.old`).
    pub folder: String,
    /// Days a message is kept (at least 1).
    pub days: u32,
}

/// Reads an `IMAP_EMPTYTRASH` value as Courier does: `folder:days,…`, or
/// a bare number of days for the trash folder `trash`. Entries without a
/// `:` are skipped; a number that is missing, zero or not a number
/// counts as 1 day. An empty value keeps everything.
pub fn parse_rules(spec: &str, trash: &str) -> Vec<ExpiryRule> {
    let days = |s: &str| match s.trim().parse::<i64>() {
        Ok(n) if n > 0 => u32::try_from(n).unwrap_or(u32::MAX),
        _ => 1,
    };
    let spec = spec.trim();
    if spec.is_empty() {
        return Vec::new();
    }
    if !spec.contains([':', ',']) {
        return vec![ExpiryRule {
            folder: trash.to_owned(),
            days: days(spec),
        }];
    }
    spec.split(',')
        .filter_map(|entry| entry.split_once(':'))
        .filter(|(folder, _)| !folder.trim().is_empty())
        .map(|(folder, n)| ExpiryRule {
            folder: folder.trim().to_owned(),
            days: days(n),
        })
        .collect()
}

/// A file's ctime, in Unix seconds.
fn ctime(md: &fs::Metadata) -> i64 {
    md.ctime()
}

impl Store {
    /// Removes the messages of each rule's folder (in `new/` and `cur/`)
    /// whose ctime is more than its days before `now`; folders that do
    /// not exist are skipped. The quota gives back what counted folders
    /// lose. Returns how many messages went.
    pub fn expire_old(&self, rules: &[ExpiryRule], now: SystemTime) -> Result<usize> {
        let now = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let mut removed = 0;
        for rule in rules {
            let Ok(dir) = self.inner.existing_dir(&format!("INBOX.{}", rule.folder)) else {
                continue;
            };
            let cutoff = now.saturating_sub(i64::from(rule.days) * 86_400);
            let (n, freed) = expire_in(&dir, cutoff)?;
            removed += n;
            if self.inner.counted(&dir) && freed != (0, 0) {
                quota::record(&self.inner.root, -freed.0, -freed.1)?;
            }
        }
        Ok(removed)
    }
}

/// Removes the regular files of `dir/new` and `dir/cur` changed before
/// `cutoff`; returns how many, and the bytes and messages the quota
/// counted of them (not those flagged deleted).
fn expire_in(dir: &Path, cutoff: i64) -> Result<(usize, (i64, i64))> {
    let mut removed = 0;
    let mut freed = (0i64, 0i64);
    for sub in ["new", "cur"] {
        let sub = dir.join(sub);
        for name in list_dir(&sub)? {
            let path = sub.join(&name);
            let Ok(md) = fs::symlink_metadata(&path) else {
                continue;
            };
            if !md.is_file() || ctime(&md) >= cutoff {
                continue;
            }
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).at(&path),
            }
            removed += 1;
            if !flags_of(&name).contains(Flags::DELETED) {
                freed.0 += i64::try_from(md.len()).unwrap_or(i64::MAX);
                freed.1 += 1;
            }
        }
    }
    Ok((removed, freed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{tools, StoreOptions};
    use std::time::Duration;

    #[test]
    fn rules_are_read_as_courier_reads_them() {
        let r = |folder: &str, days| ExpiryRule {
            folder: folder.into(),
            days,
        };
        assert_eq!(parse_rules("Trash:7", "Trash"), [r("Trash", 7)]);
        assert_eq!(parse_rules("3", "Deleted Items"), [r("Deleted Items", 3)]);
        assert_eq!(parse_rules("0", "Trash"), [r("Trash", 1)]);
        assert_eq!(
            parse_rules("Trash:7,,Sent:x,Junk,Lists.old:30", "Trash"),
            [r("Trash", 7), r("Sent", 1), r("Lists.old", 30)]
        );
        assert!(parse_rules("", "Trash").is_empty());
    }

    #[test]
    fn old_messages_go_and_the_quota_gives_them_back() {
        let dir = tempfile::tempdir().unwrap();
        let md = dir.path().join("Maildir");
        tools::make_maildir(&md, 0o700).unwrap();
        let store = Store::open(&md, StoreOptions::default()).unwrap();
        store.create_folder("INBOX.Sent").unwrap();
        store.create_folder("INBOX.Trash").unwrap();
        tools::set_quota(&md, "100000S").unwrap();
        for folder in ["INBOX.Sent", "INBOX.Trash"] {
            store
                .append(folder, b"Subject: x\n\nold\n", Flags::default(), &[], None)
                .unwrap();
        }
        store
            .append(
                "INBOX.Sent",
                b"Subject: y\n\nz\n",
                Flags::DELETED,
                &[],
                None,
            )
            .unwrap();
        let used = || store.quota().unwrap().unwrap();
        let before = used();
        let rules = parse_rules("Trash:7,Sent:30,Nowhere:1", "Trash");
        // Nothing is old yet.
        assert_eq!(store.expire_old(&rules, SystemTime::now()).unwrap(), 0);
        // Eight days on: Trash is emptied; Sent keeps its month.
        let later = SystemTime::now() + Duration::from_secs(8 * 86_400);
        assert_eq!(store.expire_old(&rules, later).unwrap(), 1);
        assert_eq!(store.status("INBOX.Trash").unwrap().messages, 0);
        assert_eq!(used().count, before.count, "Trash is not counted");
        // Forty days on: Sent too; only the message not flagged deleted
        // was counted, so only it is given back.
        let much_later = SystemTime::now() + Duration::from_secs(40 * 86_400);
        assert_eq!(store.expire_old(&rules, much_later).unwrap(), 2);
        assert_eq!(store.status("INBOX.Sent").unwrap().messages, 0);
        assert_eq!(used().count, before.count - 1);
    }
}
