//! The SMAP1 session after login (spec §5), on the account's
//! [`MailStore`]: it reads LF-terminated command lines and answers each
//! with zero or more `*` lines and one `+OK`/`-ERR` line.
//!
//! Every command of spec §5 is served, answered as Courier's imapd
//! answers it except where Courier is wrong (spec §10, noted at each
//! place); `public` paths are IMAP's `#shared.` folders. Not yet: words
//! with `.` or `/` in folder names. Commands Courier does not know are answered `-ERR Syntax
//! error.`, as by Courier.

use std::path::PathBuf;
use std::time::SystemTime;

use std::sync::Arc;

use courser_imap::mailstore::{
    settable, AclList, Extent, FlagOp, Flags, Gate, MailFolder, MailStore, Rights, StoreError,
    StoreResult,
};
use courser_imap::outbox::{Envelope, Sendmail};
use courser_imap::session::dialect::{Dialect, DialectStart, DialectStep};
use courser_imap::session::{search_messages, Transferred};
use courser_maildir::acl::courier_minimum;

use crate::add::{self, Batch};
use crate::contents;
use crate::path::{self, Place};
use crate::reason::reason;
use crate::set::{self, MessageSet};
use crate::snapshot;
use crate::upload::{Done, Upload};
use crate::words::{quote_into, Words};

/// The longest command line read (Courier's buffer is 8 KiB); a longer
/// one is discarded up to its LF and answered with an error.
const MAX_LINE: usize = 8192;

/// Starts SMAP sessions: what an IMAP session offering SMAP1 is given.
pub struct Smap {
    sendmail: Option<Arc<dyn Sendmail>>,
    max_message: usize,
    hostname: String,
}

impl Smap {
    /// Sessions whose ADD mails with `sendmail` (none: ADD only saves)
    /// and takes messages of up to `max_message` bytes, on host
    /// `hostname` (in the names of snapshot files).
    pub fn new(sendmail: Option<Arc<dyn Sendmail>>, max_message: usize, hostname: &str) -> Smap {
        Smap {
            sendmail,
            max_message,
            hostname: hostname.to_owned(),
        }
    }
}

impl DialectStart for Smap {
    fn capability(&self) -> &'static str {
        "SMAP1"
    }

    fn start(&self, user: &str, store: Box<dyn MailStore>) -> Box<dyn Dialect> {
        Box::new(SmapSession {
            user: user.to_owned(),
            store,
            open: None,
            over: false,
            discarding: false,
            idling: false,
            batch: None,
            upload: None,
            sendmail: self.sendmail.clone(),
            max_message: self.max_message,
            hostname: self.hostname.clone(),
            sent: Transferred::default(),
        })
    }
}

/// One logged-in SMAP connection.
pub struct SmapSession {
    /// The login: ADD's envelope sender unless it names one.
    user: String,
    store: Box<dyn MailStore>,
    open: Option<Open>,
    over: bool,
    /// The rest of an overlong line is being skipped.
    discarding: bool,
    /// In IDLE: changes are reported as they happen, until RESUME.
    idling: bool,
    /// The ADD lines so far.
    batch: Option<Batch>,
    /// The message an ADD is uploading.
    upload: Option<Upload>,
    sendmail: Option<Arc<dyn Sendmail>>,
    max_message: usize,
    hostname: String,
    /// Message bytes FETCH sent (the LOGOUT line's `headers=`, `body=`).
    sent: Transferred,
}

/// The open folder and the client's numbering of it.
struct Open {
    folder: Box<dyn MailFolder>,
    /// UIDs in the client's message order: message n is `view[n - 1]`.
    view: Vec<u32>,
    /// Opened with SOPEN: snapshots are saved.
    snapshots: Option<Snapshots>,
}

impl Dialect for SmapSession {
    fn greeting(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"+OK SMAP1 LOGIN Ok.\n");
    }

    fn store(&self) -> &dyn MailStore {
        self.store.as_ref()
    }

    fn transferred(&self) -> Transferred {
        self.sent
    }

    fn receive(&mut self, input: &mut Vec<u8>, out: &mut Vec<u8>) -> DialectStep {
        while !self.over {
            if let Some(upload) = &mut self.upload {
                let Some(done) = upload.feed(input) else {
                    break;
                };
                self.upload = None;
                self.added(done, out);
                continue;
            }
            let Some(end) = input.iter().position(|&b| b == b'\n') else {
                if input.len() > MAX_LINE {
                    input.clear();
                    self.discarding = true;
                }
                break;
            };
            let line: Vec<u8> = input.drain(..=end).collect();
            if std::mem::take(&mut self.discarding) || line.len() > MAX_LINE + 1 {
                out.extend_from_slice(b"-ERR Command line too long.\n");
                continue;
            }
            let line = &line[..line.len() - 1];
            if std::mem::take(&mut self.idling) {
                // §5.8: the line after IDLE must be RESUME; anything else
                // ends the IDLE too, and is not run.
                let resume = Words::new(line).next_word().eq_ignore_ascii_case(b"RESUME");
                out.extend_from_slice(if resume {
                    b"+OK Resumed...\n"
                } else {
                    b"-ERR RESUME is required to follow IDLE\n"
                });
                continue;
            }
            self.command(line, out);
            if self.idling && !input.contains(&b'\n') {
                return DialectStep::Idle;
            }
        }
        DialectStep::Continue
    }

    fn is_over(&self) -> bool {
        self.over
    }

    fn watch_paths(&self) -> Vec<PathBuf> {
        self.open
            .as_ref()
            .map(|o| o.folder.watch_paths())
            .unwrap_or_default()
    }

    fn idle_changed(&mut self, out: &mut Vec<u8>) {
        if self.idling {
            self.report_changes(out);
        }
    }
}

impl SmapSession {
    fn command(&mut self, line: &[u8], out: &mut Vec<u8>) {
        let mut words = Words::new(line);
        let verb = words.next_word().to_ascii_uppercase();
        if verb != b"ADD" {
            // Any other command drops an ADD batch.
            self.batch = None;
        }
        if verb != b"NOOP" {
            // It may change what the client holds: the next quiet NOOP
            // saves a snapshot.
            if let Some(s) = self.open.as_mut().and_then(|o| o.snapshots.as_mut()) {
                s.dirty = true;
            }
        }
        match verb.as_slice() {
            b"ADD" => self.add(&mut words, out),
            b"LOGOUT" => {
                out.extend_from_slice(
                    b"* BYE Courier-SMAP server shutting down\n+OK LOGOUT completed\n",
                );
                self.over = true;
            }
            b"RSET" => out.extend_from_slice(b"+OK Reset\n"),
            b"NOOP" => {
                let before = out.len();
                self.report_changes(out);
                let changed = out.len() != before;
                self.save_snapshot(changed, out);
                out.extend_from_slice(b"+OK Folder updated\n");
            }
            b"LIST" => self.list(&mut words, out),
            b"STATUS" => self.status(&mut words, out),
            b"OPEN" => self.open(&mut words, None, out),
            b"SOPEN" => {
                let id = String::from_utf8_lossy(&words.next_word()).into_owned();
                self.open(&mut words, Some(id), out);
            }
            b"IDLE" => {
                out.extend_from_slice(b"+OK Entering idle mode\n");
                self.report_changes(out);
                self.idling = true;
            }
            b"CLOSE" => {
                self.open = None;
                out.extend_from_slice(b"+OK Folder closed\n");
            }
            b"CREATE" | b"MKDIR" | b"RMDIR" => self.create(&verb, &mut words, out),
            b"ACL" => self.show_acl(false, &mut words, out),
            b"GETACL" => self.show_acl(true, &mut words, out),
            b"SETACL" => self.set_acl(false, &mut words, out),
            b"DELETEACL" => self.set_acl(true, &mut words, out),
            b"DELETE" => self.delete(&mut words, out),
            b"RENAME" => self.rename(&mut words, out),
            b"FETCH" if self.open.is_some() => self.fetch(&mut words, out),
            b"STORE" if self.open.is_some() => self.store(&mut words, out),
            b"SEARCH" if self.open.is_some() => self.search(&mut words, out),
            b"COPY" if self.open.is_some() => self.copy(false, &mut words, out),
            b"MOVE" if self.open.is_some() => self.copy(true, &mut words, out),
            b"EXPUNGE" if self.open.is_some() => self.expunge(&mut words, out),
            _ => out.extend_from_slice(b"-ERR Syntax error.\n"),
        }
    }

    /// The own folder a path names; else `-ERR <invalid>: <reason>` for a
    /// path that names no folder, `-ERR <missing>: <reason>` for a folder
    /// that does not exist, as Courier words them.
    fn own_folder(
        &self,
        words: &mut Words<'_>,
        invalid: &str,
        missing: &str,
        out: &mut Vec<u8>,
    ) -> Option<String> {
        let (what, reason) = match locate(&*self.store, words) {
            Ok(Place::Named(name)) => match self.store.folder_exists(&name) {
                Ok(true) => return Some(name),
                // A public path that leads nowhere names no folder at
                // all, as Courier's lookup of it fails.
                Ok(false) if name.starts_with(path::SHARED) => {
                    (invalid, "No such file or directory".to_owned())
                }
                Ok(false) => (missing, "No such file or directory".to_owned()),
                Err(e) => (missing, reason(&e)),
            },
            Ok(Place::Public) => (invalid, "Invalid argument".to_owned()),
            Err(e) => (invalid, e.to_string()),
        };
        out.extend_from_slice(format!("-ERR {what}: {reason}\n").as_bytes());
        None
    }

    /// Whether the user holds `right` on `name`; else `-ERR Access
    /// denied` is written.
    fn permitted(&self, name: &str, right: u8, out: &mut Vec<u8>) -> bool {
        let held = self.store.my_rights(name).is_ok_and(|r| r.has(right));
        if !held {
            access_denied(right, out);
        }
        held
    }

    fn list(&mut self, words: &mut Words<'_>, out: &mut Vec<u8>) {
        let path = match path::read(words) {
            Ok(path) => path,
            Err(e) => {
                out.extend_from_slice(format!("-ERR {e}\n").as_bytes());
                return;
            }
        };
        if path.is_empty() {
            list_line(out, "INBOX", "New Mail", true, false);
            list_line(out, "INBOX", "Folders", false, true);
            list_line(out, path::PUBLIC, "Public Folders", false, true);
        } else if path[0] == "INBOX" {
            self.list_own(&path, out);
        } else if path[0] == path::PUBLIC {
            self.list_public(&path[1..], out);
        }
        out.extend_from_slice(b"+OK LIST completed\n");
    }

    /// The children of an own path: `FOLDER` for a folder with that
    /// name, `DIRECTORY` when folders lie below it.
    fn list_own(&self, path: &[String], out: &mut Vec<u8>) {
        let Ok(folders) = self.store.list_folders() else {
            return;
        };
        // (child word, its IMAP name, is a folder, has folders below)
        let mut found: Vec<(String, String, bool, bool)> = Vec::new();
        for entry in folders.iter().filter(|e| e.selectable) {
            let mut words = path::words_of(&entry.name);
            if words.len() <= path.len() || words[..path.len()] != *path {
                continue;
            }
            let deeper = words.len() > path.len() + 1;
            let child = words.swap_remove(path.len());
            match found.iter_mut().find(|f| f.0 == child) {
                Some(f) => {
                    f.2 |= !deeper;
                    f.3 |= deeper;
                }
                None => {
                    let name = entry.name.split('.').take(path.len() + 1);
                    let name = name.collect::<Vec<_>>().join(".");
                    found.push((child, name, !deeper, deeper));
                }
            }
        }
        for (child, name, folder, directory) in found {
            if self.store.my_rights(&name).is_ok_and(|r| r.has(b'l')) {
                list_line(out, &child, &child, folder, directory);
            }
        }
    }

    /// The children of a public path (`public` and the words after):
    /// groups as `DIRECTORY`, an account whose INBOX the user may see as
    /// `FOLDER` (and `DIRECTORY` with folders below), its folders.
    fn list_public(&self, below: &[String], out: &mut Vec<u8>) {
        let mut under = String::from("#shared");
        for word in below {
            under.push('.');
            under.push_str(word);
        }
        for entry in self.store.shared_folders(&under, Some(below.len() + 1)) {
            let Some(child) = entry
                .name
                .strip_prefix(&under)
                .and_then(|rest| rest.strip_prefix('.'))
                .filter(|rest| !rest.contains('.'))
            else {
                continue;
            };
            list_line(out, child, child, entry.selectable, entry.has_children);
        }
    }

    fn status(&mut self, words: &mut Words<'_>, out: &mut Vec<u8>) {
        // FULL or CHEAP: Courier counts either way.
        words.next_word();
        let what = "Cannot read folder status";
        let Some(name) = self.own_folder(words, what, what, out) else {
            return;
        };
        if !self.permitted(&name, b'l', out) {
            return;
        }
        match self.store.status(&name) {
            Ok(s) => out.extend_from_slice(
                format!(
                    "* STATUS EXISTS={} UNSEEN={}\n+OK Folder status retrieved\n",
                    s.messages, s.unseen
                )
                .as_bytes(),
            ),
            Err(e) => out.extend_from_slice(
                format!("-ERR Cannot read folder status: {}\n", reason(&e)).as_bytes(),
            ),
        }
    }

    /// OPEN and SOPEN (§5.6, §6): `snapshot` is SOPEN's id (`Some("")`
    /// for none yet). A snapshot of this folder that can be read sends
    /// only what changed since it was taken (`* SNAPSHOTEXISTS`, then the
    /// changes, `+OK Folder updated`); otherwise the folder opens in full.
    fn open(&mut self, words: &mut Words<'_>, snapshot: Option<String>, out: &mut Vec<u8>) {
        // The open folder is closed even when the new one cannot open.
        self.open = None;
        let Some(name) = self.own_folder(words, "Invalid folder", "Cannot open the folder", out)
        else {
            return;
        };
        if !self.permitted(&name, b'r', out) {
            return;
        }
        let folder = match self.store.open_folder(&name, true) {
            Ok(folder) => folder,
            Err(e) => {
                let text = format!("-ERR Cannot open the folder: {}\n", reason(&e));
                out.extend_from_slice(text.as_bytes());
                return;
            }
        };
        let mut snapshots = match (&snapshot, folder.cache_dir()) {
            (Some(_), Some(dir)) => Some(Snapshots {
                dir: dir.to_path_buf(),
                current: None,
                last: None,
                dirty: true,
            }),
            _ => None,
        };
        let restored = match (&snapshot, &mut snapshots) {
            (Some(id), Some(s)) => {
                let saved = snapshot::read(&s.dir, id, |uid| folder.base_name(uid))
                    .filter(|saved| saved.uidvalidity == folder.uidvalidity());
                if saved.is_some() {
                    snapshot::touch(&s.dir, id);
                    s.current = Some(id.clone());
                }
                snapshot::clean(&s.dir);
                saved
            }
            _ => None,
        };
        let Some(saved) = restored else {
            let view = folder.uids();
            out.extend_from_slice(
                format!("* EXISTS {}\n+OK Folder opened\n", view.len()).as_bytes(),
            );
            self.open = Some(Open {
                folder,
                view,
                snapshots,
            });
            return;
        };
        out.extend_from_slice(b"* SNAPSHOTEXISTS ");
        quote_into(out, snapshot.unwrap_or_default().as_bytes());
        out.push(b'\n');
        if let Some(s) = &mut snapshots {
            s.last = saved.previous.clone();
        }
        let keywords = self.store.keywords_enabled();
        // The client holds the snapshot's view: it hears what changed
        // since, as a NOOP tells it.
        let gone: Vec<usize> = saved
            .messages
            .iter()
            .enumerate()
            .filter(|(_, m)| folder.message(m.uid).is_none())
            .map(|(i, _)| i)
            .collect();
        set::write_expunged(out, &gone);
        let kept: Vec<&snapshot::Entry> = saved
            .messages
            .iter()
            .filter(|m| folder.message(m.uid).is_some())
            .collect();
        let mut view: Vec<u32> = kept.iter().map(|m| m.uid).collect();
        let known: std::collections::HashSet<u32> = view.iter().copied().collect();
        let added: Vec<u32> = folder
            .uids()
            .into_iter()
            .filter(|u| !known.contains(u))
            .collect();
        view.extend(&added);
        if !added.is_empty() {
            out.extend_from_slice(format!("* EXISTS {}\n", view.len()).as_bytes());
        }
        for (n, was) in kept.iter().enumerate() {
            let Some(now) = folder.message(was.uid) else {
                continue;
            };
            if now.flags != was.flags || (keywords && now.keywords != was.keywords.as_slice()) {
                let items = Items {
                    flags: true,
                    keywords,
                    ..Items::default()
                };
                write_attributes(out, folder.as_ref(), n, was.uid, items);
            }
        }
        out.extend_from_slice(b"+OK Folder updated\n");
        self.open = Some(Open {
            folder,
            view,
            snapshots,
        });
    }

    /// NOOP with snapshots on: when nothing changed since the last look
    /// but the client's view did since the last snapshot, a new snapshot
    /// is saved (`* SNAPSHOT id`), the one before the last removed.
    fn save_snapshot(&mut self, changed: bool, out: &mut Vec<u8>) {
        let keywords = self.store.keywords_enabled();
        let Some(open) = &mut self.open else {
            return;
        };
        let Some(s) = &mut open.snapshots else {
            return;
        };
        if changed || !s.dirty {
            s.dirty |= changed;
            return;
        }
        let folder = open.folder.as_ref();
        let messages = open
            .view
            .iter()
            .filter_map(|&uid| {
                let m = folder.message(uid)?;
                Some(snapshot::Entry {
                    uid,
                    flags: m.flags,
                    keywords: m.keywords.to_vec(),
                })
            })
            .collect();
        let saved = snapshot::Snapshot {
            uidvalidity: folder.uidvalidity(),
            nextuid: folder.uidnext(),
            previous: s.current.clone(),
            messages,
        };
        let written = snapshot::write(&s.dir, &self.hostname, &saved, keywords, |uid| {
            folder.base_name(uid)
        });
        // A snapshot that cannot be written is no error: the client opens
        // in full next time.
        let Ok(id) = written else {
            return;
        };
        if let Some(last) = s.last.take() {
            snapshot::remove(&s.dir, &last);
        }
        s.last = s.current.replace(id.clone());
        s.dirty = false;
        out.extend_from_slice(b"* SNAPSHOT ");
        quote_into(out, id.as_bytes());
        out.push(b'\n');
    }

    /// §4: what changed in the open folder since the client last looked,
    /// as `* EXPUNGE`, `* EXISTS` and `* FETCH` lines.
    fn report_changes(&mut self, out: &mut Vec<u8>) {
        self.report_changes_after(Vec::new(), out);
    }

    /// [`Self::report_changes`] when the session itself just removed
    /// `removed` (UIDs) from the folder.
    fn report_changes_after(&mut self, mut removed: Vec<u32>, out: &mut Vec<u8>) {
        let keywords = self.store.keywords_enabled();
        let Some(open) = &mut self.open else {
            return;
        };
        let Ok(changes) = open.folder.refresh() else {
            return;
        };
        removed.extend(&changes.expunged);
        removed.sort_unstable();
        let gone: Vec<usize> = open
            .view
            .iter()
            .enumerate()
            .filter(|(_, uid)| removed.binary_search(uid).is_ok())
            .map(|(i, _)| i)
            .collect();
        set::write_expunged(out, &gone);
        open.view.retain(|uid| removed.binary_search(uid).is_err());
        open.view.extend(&changes.added);
        // Only new messages bring an EXISTS: after removals alone the
        // client counts for itself, and Courier sends none.
        if !changes.added.is_empty() {
            out.extend_from_slice(format!("* EXISTS {}\n", open.view.len()).as_bytes());
        }
        // (One pass over the view, not one search of it per change.)
        for (n, uid) in open.view.iter().enumerate() {
            if changes.flags_changed.binary_search(uid).is_ok() {
                let items = Items {
                    flags: true,
                    keywords,
                    ..Items::default()
                };
                write_attributes(out, open.folder.as_ref(), n, *uid, items);
            }
        }
    }

    /// CREATE, MKDIR, RMDIR (§5.4): the right (`c`, or `x` for RMDIR) is
    /// needed on the parent; only CREATE makes anything (Maildir++ has
    /// no directories apart from folders).
    fn create(&mut self, verb: &[u8], words: &mut Words<'_>, out: &mut Vec<u8>) {
        let name = match locate(&*self.store, words) {
            Ok(Place::Named(name)) => name,
            _ => {
                out.extend_from_slice(b"-ERR Cannot create folder: Invalid argument\n");
                return;
            }
        };
        let Some((parent, _)) = name.rsplit_once('.') else {
            out.extend_from_slice(b"-ERR Cannot create folder: Invalid argument\n");
            return;
        };
        let right = if verb == b"RMDIR" { b'x' } else { b'c' };
        if !self.permitted(parent, right, out) {
            return;
        }
        let reply: &[u8] = match verb {
            b"MKDIR" => b"+OK Folder created\n",
            b"RMDIR" => b"+OK Folder deleted\n",
            _ if self.store.folder_exists(&name).unwrap_or(false) => {
                b"-ERR Cannot create folder: File exists\n"
            }
            _ => match self.store.create_folder(&name) {
                Ok(()) => b"+OK Folder created\n",
                Err(e) => {
                    out.extend_from_slice(
                        format!("-ERR Cannot create folder: {}\n", reason(&e)).as_bytes(),
                    );
                    return;
                }
            },
        };
        out.extend_from_slice(reply);
    }

    /// DELETE (§5.4): needs `x` on the folder; never INBOX or the open
    /// folder. A folder that does not exist is an error (Courier says
    /// +OK, spec §10).
    fn delete(&mut self, words: &mut Words<'_>, out: &mut Vec<u8>) {
        let name = match locate(&*self.store, words) {
            Ok(Place::Named(name)) => name,
            _ => {
                out.extend_from_slice(b"-ERR Unable to delete folder: Invalid argument\n");
                return;
            }
        };
        if name == "INBOX" {
            out.extend_from_slice(b"-ERR INBOX may not be deleted\n");
            return;
        }
        if !self.permitted(&name, b'x', out) {
            return;
        }
        if self.open.as_ref().is_some_and(|o| o.folder.name() == name) {
            out.extend_from_slice(b"-ERR Cannot DELETE currently open folder.\n");
            return;
        }
        if !self.store.folder_exists(&name).unwrap_or(false) {
            out.extend_from_slice(b"-ERR Cannot delete folder: No such file or directory\n");
            return;
        }
        match self.store.delete_folder(&name) {
            Ok(()) => out.extend_from_slice(b"+OK Folder deleted\n"),
            Err(e) => out.extend_from_slice(
                format!("-ERR Cannot delete folder: {}\n", reason(&e)).as_bytes(),
            ),
        }
    }

    /// RENAME old "" new (§5.4): `x` on the old folder, `c` on the new
    /// one's parent; the folder moves with the folders below it.
    fn rename(&mut self, words: &mut Words<'_>, out: &mut Vec<u8>) {
        let from = locate(&*self.store, words);
        let to = match path::read(words) {
            // Debian's Courier (5.0) words it so; later ones say
            // "Invalid destination folder name".
            Ok(to) if to.is_empty() => {
                out.extend_from_slice(b"-ERR Invalid argument\n");
                return;
            }
            to => to.and_then(|p| place(&*self.store, &p)),
        };
        let Ok(Place::Named(from)) = from else {
            return access_denied(b'x', out);
        };
        if !self.permitted(&from, b'x', out) {
            return;
        }
        let Ok(Place::Named(to)) = to else {
            return access_denied(b'c', out);
        };
        let parent = to.rsplit_once('.').map_or("", |(p, _)| p);
        if !self.permitted(parent, b'c', out) {
            return;
        }
        let open = self.open.as_ref().map(|o| o.folder.name());
        let refusal = if from == "INBOX" || to == "INBOX" {
            Some("INBOX rename not implemented.".to_owned())
        } else if open.is_some_and(|o| o == from || o.starts_with(&format!("{from}."))) {
            Some("Can't RENAME the currently-open folder".to_owned())
        } else if !self.store.folder_exists(&from).unwrap_or(false) {
            Some("RENAME failed: No such file or directory".to_owned())
        } else if self.store.folder_exists(&to).unwrap_or(false) {
            Some("RENAME failed: File exists".to_owned())
        } else {
            self.store
                .rename_folder(&from, &to)
                .err()
                .map(|e| format!("RENAME failed: {}", reason(&e)))
        };
        match refusal {
            None => out.extend_from_slice(b"+OK Folder renamed.\n"),
            Some(why) => out.extend_from_slice(format!("-ERR {why}\n").as_bytes()),
        }
    }

    /// COPY and MOVE msgset "" path (§5.13): `i` on the destination,
    /// whose rights also filter the flags that go along; one `* COPY n
    /// "NEWUID=…"` per message, and for MOVE the source's changes
    /// after.
    fn copy(&mut self, moving: bool, words: &mut Words<'_>, out: &mut Vec<u8>) {
        let Some(open) = &mut self.open else {
            return;
        };
        // The set, then the empty word that separates the folder.
        let set = match MessageSet::read(words) {
            Ok((set, separator)) if separator.is_empty() => set,
            _ => {
                out.extend_from_slice(b"-ERR Syntax error.\n");
                return;
            }
        };
        let dest = match locate(&*self.store, words) {
            Ok(Place::Named(dest)) => dest,
            _ => {
                out.extend_from_slice(b"-ERR Cannot copy messages: Invalid argument\n");
                return;
            }
        };
        if !self.store.folder_exists(&dest).unwrap_or(false) {
            out.extend_from_slice(b"-ERR Cannot copy messages: No such file or directory\n");
            return;
        }
        let rights = self.store.my_rights(&dest).unwrap_or_default();
        if !rights.has(b'i') {
            return access_denied(b'i', out);
        }
        let carry = settable(&rights);
        let positions: Vec<usize> = set.positions(open.view.len()).collect();
        let uids: Vec<u32> = positions.iter().map(|&n| open.view[n]).collect();
        let done = if moving {
            open.folder.move_to(&uids, &dest, carry, None)
        } else {
            open.folder.copy_to(&uids, &dest, carry, None)
        };
        let copied = match done {
            Ok(copied) => copied,
            Err(e) => {
                let text = format!("-ERR Cannot copy messages: {}\n", reason(&e));
                out.extend_from_slice(text.as_bytes());
                return;
            }
        };
        let placed: std::collections::HashMap<u32, &str> = copied
            .pairs
            .iter()
            .zip(&copied.placed)
            .filter_map(|((source, _), a)| Some((*source, a.placed.as_ref()?.file.as_str())))
            .collect();
        for (n, source) in open.view.iter().enumerate() {
            let Some(file) = placed.get(source) else {
                continue;
            };
            let base = courser_maildir::flags::base_name(file);
            out.extend_from_slice(format!("* COPY {} ", n + 1).as_bytes());
            quote_into(out, format!("NEWUID={base}").as_bytes());
            out.push(b'\n');
        }
        if moving {
            let moved = copied.pairs.iter().map(|&(source, _)| source).collect();
            self.report_changes_after(moved, out);
        }
        out.extend_from_slice(b"+OK Messages copied.\n");
    }

    /// SEARCH scope [NOT] criterion (§5.14): `* SEARCH` lines of the
    /// matching message numbers.
    fn search(&mut self, words: &mut Words<'_>, out: &mut Vec<u8>) {
        let Some(open) = &self.open else {
            return;
        };
        let Ok(key) = crate::search::read(words) else {
            out.extend_from_slice(b"-ERR SEARCH failed: Invalid argument\n");
            return;
        };
        let hits = search_messages(open.folder.as_ref(), open.view.clone(), &key);
        set::write_search(out, &hits);
        out.extend_from_slice(b"+OK Search completed.\n");
    }

    /// ACL and GETACL path (§5.5): the user's rights on the folder (any
    /// right that shows it suffices), or its whole ACL (needs `a`).
    fn show_acl(&mut self, whole: bool, words: &mut Words<'_>, out: &mut Vec<u8>) {
        let Ok(Place::Named(name)) = locate(&*self.store, words) else {
            out.extend_from_slice(b"-ERR Invalid folder: Invalid argument\n");
            return;
        };
        let mine = self.store.my_rights(&name).unwrap_or_default();
        let allowed = if whole {
            mine.has(b'a')
        } else {
            mine.can_list_rights()
        };
        if !allowed {
            return access_denied(b'a', out);
        }
        if whole {
            match self.store.acl(&name) {
                Ok(acl) => write_getacl(out, &acl),
                Err(e) => {
                    let text = format!("-ERR Unable to read existing ACLS: {}\n", reason(&e));
                    out.extend_from_slice(text.as_bytes());
                    return;
                }
            }
        } else {
            out.extend_from_slice(b"* ACL ");
            quote_into(out, mine.as_bytes());
            out.push(b'\n');
        }
        out.extend_from_slice(b"+OK ACLs retrieved\n");
    }

    /// SETACL path "" identifier rights… and DELETEACL path ""
    /// identifier… (§5.5): needs `a`; `+r` adds, `-r` takes away, `r`
    /// replaces, nothing deletes. The new ACL is listed; one that would
    /// take the owner or the administrators below their minimum is
    /// refused with `* ACLMINIMUM`.
    fn set_acl(&mut self, delete: bool, words: &mut Words<'_>, out: &mut Vec<u8>) {
        let Ok(Place::Named(name)) = locate(&*self.store, words) else {
            out.extend_from_slice(b"-ERR Invalid folder: Invalid argument\n");
            return;
        };
        if !self.permitted(&name, b'a', out) {
            return;
        }
        let mut changes: Vec<(String, Option<String>)> = Vec::new();
        loop {
            let identifier = String::from_utf8_lossy(&words.next_word()).into_owned();
            if identifier.is_empty() {
                break;
            }
            let action =
                (!delete).then(|| String::from_utf8_lossy(&words.next_word()).into_owned());
            changes.push((identifier, action));
        }
        let result = self.store.edit_acl(&name, &mut |acl| {
            for (identifier, action) in &changes {
                apply_acl_change(acl, identifier, action.as_deref())?;
            }
            Ok(())
        });
        match result {
            Ok(acl) => {
                write_getacl(out, &acl);
                out.extend_from_slice(b"+OK Updated ACLs\n");
            }
            Err(StoreError::AclMinimumRights(identifier)) => {
                let minimum = courier_minimum(&identifier);
                let text = format!("* ACLMINIMUM {identifier} {minimum}\n-ERR ACL update failed\n");
                out.extend_from_slice(text.as_bytes());
            }
            Err(_) => out.extend_from_slice(b"-ERR ACL update failed\n"),
        }
    }

    /// One ADD line (§5.12): its parameters join the batch; the upload
    /// word starts the message, which [`Dialect::receive`] then reads.
    fn add(&mut self, words: &mut Words<'_>, out: &mut Vec<u8>) {
        let keywords = self.store.keywords_enabled();
        let batch = self.batch.get_or_insert_with(Batch::default);
        let mut answer = "So far, so good...";
        loop {
            let word = String::from_utf8_lossy(&words.next_word()).into_owned();
            if word.is_empty() {
                break;
            }
            if word.starts_with('{') {
                let Some(upload) = Upload::start(&word, self.max_message) else {
                    self.batch = None;
                    out.extend_from_slice(b"-ERR Syntax error.\n");
                    return;
                };
                out.extend_from_slice(b"> Go ahead\n");
                self.upload = Some(upload);
                return;
            }
            let (name, value) = match word.split_once('=') {
                Some((name, value)) => (name.to_ascii_uppercase(), Some(value)),
                None => (word.to_ascii_uppercase(), None),
            };
            if name == "FOLDER" && value.is_none() {
                let folder = match locate(&*self.store, words) {
                    Ok(Place::Named(folder)) => folder,
                    _ => {
                        out.extend_from_slice(b"-ERR Invalid folder: Invalid argument\n");
                        return;
                    }
                };
                // (A folder that does not exist is taken, as by Courier:
                // saving the message fails.)
                if !self.store.my_rights(&folder).is_ok_and(|r| r.has(b'i')) {
                    batch.folder = None;
                    return access_denied(b'i', out);
                }
                batch.folder = Some(folder);
                answer = "Will add to this folder";
            } else if let Some(value) = value {
                answer = add::set(batch, &name, value, keywords).unwrap_or(answer);
            }
        }
        out.extend_from_slice(format!("+OK {answer}\n").as_bytes());
    }

    /// The upload is in: save the message in the batch's folder and mail
    /// it to its recipients — both or neither: a message that cannot be
    /// mailed is not saved — and say so.
    fn added(&mut self, done: Done, out: &mut Vec<u8>) {
        let batch = self.batch.take().unwrap_or_default();
        let message = match done {
            Done::Message(message) => message,
            Done::TooBig => {
                let text = format!("-ERR Message is bigger than {} bytes\n", self.max_message);
                out.extend_from_slice(text.as_bytes());
                return;
            }
            Done::Malformed => {
                out.extend_from_slice(b"-ERR Syntax error.\n");
                return;
            }
        };
        let from = batch.from.clone().unwrap_or_else(|| self.user.clone());
        let envelope = Envelope {
            from: &from,
            notify: batch.notify.as_deref(),
            recipients: &batch.recipients,
        };
        let sendmail = self.sendmail.clone();
        let mut send = |m: &mut dyn std::io::Read| match &sendmail {
            Some(s) => s.send_to(&envelope, m),
            None => Err(StoreError::NotSent("no mailer is configured".into())),
        };
        let saved = match &batch.folder {
            Some(folder) => {
                let gate: Option<Gate<'_>> = if batch.recipients.is_empty() {
                    None
                } else {
                    Some(&mut send)
                };
                self.save(folder, &batch, &message, gate)
            }
            None if batch.recipients.is_empty() => Ok(None),
            None => send(&mut message.as_slice()).map(|()| None),
        };
        match saved {
            Ok(base) => {
                if let Some(base) = base {
                    out.extend_from_slice(b"* ADD ");
                    quote_into(out, format!("UID={base}").as_bytes());
                    out.push(b'\n');
                }
                out.extend_from_slice(b"+OK Message saved\n");
            }
            Err(StoreError::NotSent(why)) => {
                out.extend_from_slice(format!("-ERR {why}\n").as_bytes())
            }
            Err(e) => out.extend_from_slice(format!("-ERR {}\n", reason(&e)).as_bytes()),
        }
    }

    /// Saves an uploaded message into `folder` with the batch's flags and
    /// keywords as far as the rights there allow, `gate` seeing it first;
    /// its base name (SMAP's UID).
    fn save(
        &self,
        folder: &str,
        batch: &Batch,
        message: &[u8],
        gate: Option<Gate<'_>>,
    ) -> StoreResult<Option<String>> {
        let may = settable(&self.store.my_rights(folder).unwrap_or_default());
        let flags = Flags::from_bits(batch.flags.bits() & may.flags.bits());
        let keywords: &[String] = if may.keywords { &batch.keywords } else { &[] };
        let len = message.len() as u64;
        let mut target =
            self.store
                .begin_append(folder, len, flags, keywords, batch.internal_date)?;
        target.write(message)?;
        let appended = target.finish(gate)?;
        Ok(appended
            .placed
            .map(|p| courser_maildir::flags::base_name(&p.file).to_owned()))
    }

    /// STORE (§5.11): each setting applies to the whole set in turn; what
    /// the user's rights do not allow is left out without an error, as
    /// in Courier. Only messages that changed are reported (Courier
    /// reports every message of the set; the protocol asks for changes).
    fn store(&mut self, words: &mut Words<'_>, out: &mut Vec<u8>) {
        let keywords_on = self.store.keywords_enabled();
        let Some(open) = &mut self.open else {
            return;
        };
        let (set, mut word) = match MessageSet::read(words) {
            Ok(read) => read,
            Err(_) => {
                out.extend_from_slice(b"-ERR Cannot update folder status: Invalid argument\n");
                return;
            }
        };
        let may = settable(&self.store.my_rights(open.folder.name()).unwrap_or_default());
        let uids: Vec<u32> = set
            .positions(open.view.len())
            .map(|n| open.view[n])
            .collect();
        while !word.is_empty() {
            let text = String::from_utf8_lossy(&word).into_owned();
            word = words.next_word();
            let (name, value) = text.split_once('=').unwrap_or((&text, ""));
            let name = name.to_ascii_uppercase();
            let (sign, what) = match name.strip_prefix(['+', '-']) {
                Some(rest) => (name.as_bytes()[0], rest),
                None => (b'=', name.as_str()),
            };
            let result = match what {
                "FLAGS" => {
                    let flags = parse_flags(value);
                    store_system_flags(open.folder.as_mut(), &uids, sign, flags, may.flags)
                }
                "KEYWORDS" if keywords_on && may.keywords => {
                    let list: Vec<String> = value
                        .split(',')
                        .filter(|k| !k.is_empty())
                        .map(str::to_owned)
                        .collect();
                    store_keywords(open.folder.as_mut(), &uids, sign, &list)
                }
                // Settings Courser does not take (keywords off, no `w`
                // right, INTERNALDATE) or knows nothing of are skipped,
                // as Courier skips the ones it does not know.
                _ => Ok(Vec::new()),
            };
            match result {
                Ok(changed) => {
                    let items = Items {
                        flags: what == "FLAGS",
                        keywords: what == "KEYWORDS",
                        ..Items::default()
                    };
                    for (n, uid) in open.view.iter().enumerate() {
                        if changed.binary_search(uid).is_ok() {
                            write_attributes(out, open.folder.as_ref(), n, *uid, items);
                        }
                    }
                }
                Err(e) => {
                    let text = format!("-ERR Cannot update folder status: {}\n", reason(&e));
                    out.extend_from_slice(text.as_bytes());
                    return;
                }
            }
        }
        out.extend_from_slice(b"+OK Folder status updated\n");
    }

    /// EXPUNGE (§5.9): needs `e`; without a set the `DELETED` messages
    /// go, with one (which also needs `t`) exactly the set's.
    fn expunge(&mut self, words: &mut Words<'_>, out: &mut Vec<u8>) {
        let Some(open) = &mut self.open else {
            return;
        };
        let rights = self.store.my_rights(open.folder.name()).unwrap_or_default();
        let set = match MessageSet::read(words) {
            Ok((set, _)) => Some(set),
            Err(crate::set::SetError::Empty) => None,
            // Courier's session ends here (spec §10).
            Err(_) => {
                out.extend_from_slice(b"-ERR Cannot expunge: Invalid argument\n");
                return;
            }
        };
        if !rights.has(b'e') {
            return access_denied(b'e', out);
        }
        let removed = match &set {
            None => open.folder.expunge(None),
            Some(set) => {
                if !rights.has(b't') {
                    return access_denied(b't', out);
                }
                let uids: Vec<u32> = set
                    .positions(open.view.len())
                    .map(|n| open.view[n])
                    .collect();
                open.folder
                    .store_flags(&uids, FlagOp::Add, Flags::DELETED, &[])
                    .and_then(|_| open.folder.expunge(Some(&uids)))
            }
        };
        match removed {
            Ok(removed) => {
                self.report_changes_after(removed, out);
                out.extend_from_slice(b"+OK Folder updated\n");
            }
            Err(e) => {
                out.extend_from_slice(format!("-ERR Cannot expunge: {}\n", reason(&e)).as_bytes())
            }
        }
    }

    /// FETCH msgset item… (§5.10): each content item for every message
    /// of the set in turn, then one line of the attributes asked for per
    /// message.
    fn fetch(&mut self, words: &mut Words<'_>, out: &mut Vec<u8>) {
        let keywords = self.store.keywords_enabled();
        let Some(open) = &mut self.open else {
            return;
        };
        // Courier answers +OK, fetching nothing, for a set it cannot
        // read (spec §10); a client is better told.
        let (set, mut word) = match MessageSet::read(words) {
            Ok(read) => read,
            Err(_) => {
                out.extend_from_slice(b"-ERR Cannot retrieve message: Invalid argument\n");
                return;
            }
        };
        let may_see = self
            .store
            .my_rights(open.folder.name())
            .is_ok_and(|r| r.has(b's'));
        let mut items = Items::default();
        while !word.is_empty() {
            if word.contains(&b'=') {
                let text = String::from_utf8_lossy(&word).into_owned();
                word = words.next_word();
                // Items Courier does not know are skipped, as it skips them.
                let Some(Some(request)) = contents::Request::parse(&text) else {
                    continue;
                };
                for n in set.positions(open.view.len()).collect::<Vec<_>>() {
                    let uid = open.view[n];
                    // The message's own header needs no more of the file.
                    let extent = match request.entity {
                        contents::Entity::Headers | contents::Entity::RawHeaders
                            if matches!(request.mime_id.as_str(), "" | "1") =>
                        {
                            Extent::Header
                        }
                        _ => Extent::Whole,
                    };
                    let sent = open
                        .folder
                        .read_message(uid, extent)
                        .map_err(|e| reason(&e))
                        .and_then(|msg| {
                            contents::write(out, n + 1, &msg, &request)
                                .map_err(|_| "Invalid argument".to_owned())
                        });
                    match sent {
                        Ok(sent) => {
                            self.sent.headers += sent.headers;
                            self.sent.body += sent.body;
                        }
                        Err(why) => {
                            let text = format!("-ERR Cannot retrieve message: {why}\n");
                            out.extend_from_slice(text.as_bytes());
                            return;
                        }
                    }
                    if !request.peek && may_see {
                        mark_seen(open.folder.as_mut(), n, uid, out);
                    }
                }
                continue;
            }
            match word.to_ascii_uppercase().as_slice() {
                b"UID" => items.uid = true,
                b"SIZE" => items.size = true,
                b"FLAGS" => items.flags = true,
                b"KEYWORDS" => items.keywords = keywords,
                b"INTERNALDATE" => items.internal_date = true,
                // Courier ignores attributes it does not know.
                _ => {}
            }
            word = words.next_word();
        }
        if items != Items::default() {
            for n in set.positions(open.view.len()) {
                write_attributes(out, open.folder.as_ref(), n, open.view[n], items);
            }
        }
        out.extend_from_slice(b"+OK Message retrieved.\n");
    }
}

/// A folder's snapshots as SOPEN left them (§6).
struct Snapshots {
    /// The folder's directory.
    dir: PathBuf,
    /// The snapshot the client holds.
    current: Option<String>,
    /// The one `current` followed, removed when the next is saved.
    last: Option<String>,
    /// The client's view changed since `current`.
    dirty: bool,
}

/// CONTENTS without `.PEEK`: the message at 0-based `n` becomes seen,
/// and when it was not, its new flags are reported as Courier reports
/// them (`* FETCH n FLAGS=…`).
fn mark_seen(folder: &mut dyn MailFolder, n: usize, uid: u32, out: &mut Vec<u8>) {
    if let Ok(changed) = folder.store_flags(&[uid], FlagOp::Add, Flags::SEEN, &[]) {
        if !changed.is_empty() {
            let items = Items {
                flags: true,
                ..Items::default()
            };
            write_attributes(out, folder, n, uid, items);
        }
    }
}

/// One SETACL (`action` given) or DELETEACL change, as Courier makes it.
fn apply_acl_change(acl: &mut AclList, identifier: &str, action: Option<&str>) -> StoreResult<()> {
    match action {
        None | Some("") => {
            acl.remove(identifier);
        }
        Some(action) => {
            if let Some(added) = action.strip_prefix('+') {
                let mut rights = acl.get(identifier).cloned().unwrap_or_default();
                rights.add(&Rights::parse(added)?);
                acl.set(identifier, rights)?;
            } else if let Some(taken) = action.strip_prefix('-') {
                let Some(mut rights) = acl.get(identifier).cloned() else {
                    return Ok(());
                };
                rights.remove(taken.as_bytes());
                if rights.is_empty() {
                    acl.remove(identifier);
                } else {
                    acl.set(identifier, rights)?;
                }
            } else {
                acl.set(identifier, Rights::parse(action)?)?;
            }
        }
    }
    Ok(())
}

/// `* GETACL "identifier" "rights" …`, six pairs a line.
fn write_getacl(out: &mut Vec<u8>, acl: &AclList) {
    for (i, entry) in acl.entries().iter().enumerate() {
        if i % 6 == 0 {
            if i > 0 {
                out.push(b'\n');
            }
            out.extend_from_slice(b"* GETACL");
        }
        out.push(b' ');
        quote_into(out, entry.identifier());
        out.push(b' ');
        quote_into(out, entry.rights().as_bytes());
    }
    if !acl.entries().is_empty() {
        out.push(b'\n');
    }
}

/// Courier's refusal for a missing right.
fn access_denied(right: u8, out: &mut Vec<u8>) {
    let text = format!(
        "-ERR Access denied: ACL \"{}\" is required\n",
        right as char
    );
    out.extend_from_slice(text.as_bytes());
}

/// A `FLAGS=` value: SMAP's flag names, comma-separated (unknown ones
/// ignored).
pub(crate) fn parse_flags(value: &str) -> Flags {
    let mut flags = Flags::EMPTY;
    for name in value.split(',') {
        match name.to_ascii_uppercase().as_str() {
            "SEEN" => flags.insert(Flags::SEEN),
            "REPLIED" => flags.insert(Flags::ANSWERED),
            "DRAFT" => flags.insert(Flags::DRAFT),
            "DELETED" => flags.insert(Flags::DELETED),
            "MARKED" => flags.insert(Flags::FLAGGED),
            _ => {}
        }
    }
    flags
}

/// `FLAGS=`, `+FLAGS=`, `-FLAGS=` (`sign` `=`, `+`, `-`) on `uids`, only
/// for the flags in `may`; keywords stay. Returns the UIDs that changed,
/// ascending.
fn store_system_flags(
    folder: &mut dyn MailFolder,
    uids: &[u32],
    sign: u8,
    flags: Flags,
    may: Flags,
) -> StoreResult<Vec<u32>> {
    let wanted = Flags::from_bits(flags.bits() & may.bits());
    let mut changed = match sign {
        b'-' => folder.store_flags(uids, FlagOp::Remove, wanted, &[])?,
        _ => folder.store_flags(uids, FlagOp::Add, wanted, &[])?,
    };
    if sign == b'=' {
        let unset = may.difference(wanted);
        changed.extend(folder.store_flags(uids, FlagOp::Remove, unset, &[])?);
    }
    changed.sort_unstable();
    changed.dedup();
    Ok(changed)
}

/// `KEYWORDS=`, `+KEYWORDS=`, `-KEYWORDS=` on `uids`; flags stay.
fn store_keywords(
    folder: &mut dyn MailFolder,
    uids: &[u32],
    sign: u8,
    list: &[String],
) -> StoreResult<Vec<u32>> {
    let mut changed = match sign {
        b'+' => folder.store_flags(uids, FlagOp::Add, Flags::EMPTY, list)?,
        b'-' => folder.store_flags(uids, FlagOp::Remove, Flags::EMPTY, list)?,
        _ => {
            let mut changed = Vec::new();
            for &uid in uids {
                let Some(flags) = folder.message(uid).map(|m| m.flags) else {
                    continue;
                };
                changed.extend(folder.store_flags(&[uid], FlagOp::Replace, flags, list)?);
            }
            changed
        }
    };
    changed.sort_unstable();
    Ok(changed)
}

/// `* LIST "name" "description" [FOLDER] [DIRECTORY]`.
fn list_line(out: &mut Vec<u8>, name: &str, description: &str, folder: bool, directory: bool) {
    out.extend_from_slice(b"* LIST ");
    quote_into(out, name.as_bytes());
    out.push(b' ');
    quote_into(out, description.as_bytes());
    if folder {
        out.extend_from_slice(b" FOLDER");
    }
    if directory {
        out.extend_from_slice(b" DIRECTORY");
    }
    out.push(b'\n');
}

/// The message attributes a FETCH asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Items {
    uid: bool,
    size: bool,
    flags: bool,
    keywords: bool,
    internal_date: bool,
}

/// `* FETCH n [FLAGS=…] ["KEYWORDS=…"] ["UID=…"] [SIZE=n] ["INTERNALDATE=…"]`
/// for the message at 0-based `n`, in Courier's order; nothing for a
/// message that is gone.
fn write_attributes(out: &mut Vec<u8>, folder: &dyn MailFolder, n: usize, uid: u32, items: Items) {
    let Some(message) = folder.message(uid) else {
        return;
    };
    out.extend_from_slice(format!("* FETCH {}", n + 1).as_bytes());
    if items.flags {
        out.extend_from_slice(b" FLAGS=");
        out.extend_from_slice(flag_list(message.flags).as_bytes());
    }
    if items.keywords {
        out.extend_from_slice(b" ");
        let mut word = b"KEYWORDS=".to_vec();
        // Courier's keyword lists are comma-separated: a comma in a
        // keyword (possible over IMAP) shows as `_`.
        let names: Vec<String> = message
            .keywords
            .iter()
            .map(|k| k.replace(',', "_"))
            .collect();
        word.extend_from_slice(names.join(",").as_bytes());
        quote_into(out, &word);
    }
    let base = folder.base_name(uid);
    if items.uid {
        if let Some(base) = &base {
            out.push(b' ');
            quote_into(out, format!("UID={base}").as_bytes());
        }
    }
    if items.size {
        // The name's `,S=` when it has one (as Courier), else the file's.
        let size = base
            .as_deref()
            .and_then(courser_maildir::filename::size_tag)
            .or_else(|| {
                folder
                    .facts(&[uid])
                    .pop()
                    .and_then(Result::ok)
                    .map(|f| f.stored_size)
            })
            .unwrap_or(0);
        out.extend_from_slice(format!(" SIZE={size}").as_bytes());
    }
    if items.internal_date {
        if let Some(date) = folder.internal_date(uid) {
            out.push(b' ');
            quote_into(
                out,
                format!("INTERNALDATE={}", rfc2822_date(date)).as_bytes(),
            );
        }
    }
    out.push(b'\n');
}

/// SMAP's flag list: `DRAFT,MARKED,REPLIED,SEEN,DELETED`, in that order,
/// of those set.
fn flag_list(flags: Flags) -> String {
    [
        (Flags::DRAFT, "DRAFT"),
        (Flags::FLAGGED, "MARKED"),
        (Flags::ANSWERED, "REPLIED"),
        (Flags::SEEN, "SEEN"),
        (Flags::DELETED, "DELETED"),
    ]
    .iter()
    .filter(|(f, _)| flags.contains(*f))
    .map(|(_, name)| *name)
    .collect::<Vec<_>>()
    .join(",")
}

/// `Tue, 21 Jan 2003 20:57:48 +0000`: Courier's date form, in UTC (as
/// Courser's IMAP INTERNALDATE).
fn rfc2822_date(time: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let date = courser_imap::codec::Date::from_days_since_epoch(days)
        .unwrap_or_else(|| courser_imap::codec::Date::from_days_since_epoch(0).expect("the epoch"));
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000",
        DAYS[days.rem_euclid(7) as usize],
        date.day,
        MONTHS[usize::from(date.month) - 1],
        date.year,
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The folder the path read from `words` names ([`place`]).
fn locate(store: &dyn MailStore, words: &mut Words<'_>) -> Result<Place, path::PathError> {
    place(store, &path::read(words)?)
}

/// The folder `path` names: its escaped name ([`path::place`]), or
/// else, as Courier looks, an existing own folder whose name has the
/// same words (one made over IMAP, with `:` or `~` unescaped).
fn place(store: &dyn MailStore, path: &[String]) -> Result<Place, path::PathError> {
    let place = path::place(path)?;
    let Place::Named(name) = &place else {
        return Ok(place);
    };
    if name.starts_with(path::SHARED) || store.folder_exists(name).unwrap_or(true) {
        return Ok(place);
    }
    let found = store.list_folders().ok().and_then(|folders| {
        folders
            .into_iter()
            .find(|f| f.selectable && path::words_of(&f.name) == path)
    });
    Ok(found.map_or(place, |f| Place::Named(f.name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_dates_are_written_as_courier_writes_them() {
        assert_eq!(flag_list(Flags::EMPTY), "");
        assert_eq!(
            flag_list(Flags::SEEN | Flags::DRAFT | Flags::DELETED | Flags::FLAGGED),
            "DRAFT,MARKED,SEEN,DELETED"
        );
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_043_200_668);
        assert_eq!(rfc2822_date(t), "Wed, 22 Jan 2003 01:57:48 +0000");
        assert_eq!(
            rfc2822_date(SystemTime::UNIX_EPOCH),
            "Thu, 01 Jan 1970 00:00:00 +0000"
        );
    }
}
