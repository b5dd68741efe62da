//! APPEND (RFC 3501 §6.3.11) with APPENDUID (RFC 4315 §3), APPENDLIMIT
//! (RFC 7889) and the UTF8 literal form (RFC 6855 §4).
//!
//! The message is never held in memory: the framer announces it
//! ([`Event::AppendStart`](crate::codec::Event)), the session decides
//! before it is sent — too big (`NO [TOOBIG]`), no such folder
//! (`NO [TRYCREATE]`), over quota, bad flags or date — and an accepted one
//! is written piece by piece to a file in the folder's `tmp/`
//! (an [`AppendTarget`]) and linked into `cur/` when complete. A connection that
//! ends half-way drops the [`AppendJob`], which removes the tmp file.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::acl::Missing;
use super::reply::Reply;
use super::select::Look;
use super::store::split_flags;
use super::{Pending, Session, State};
use crate::codec::respond::Code;
use crate::codec::{AppendStart, DateTime, LiteralKind, SequenceSet, Tag};
use crate::mailstore::settable;
use crate::mailstore::{AppendTarget, Flags, StoreError};

/// An IMAP date-time as a file time (mtime), or `None` before 1970.
fn system_time(date: &DateTime) -> Option<SystemTime> {
    let secs = u64::try_from(date.unix_timestamp()).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// An APPEND whose message is being received.
pub(crate) struct AppendJob {
    tag: Tag,
    /// The destination folder.
    mailbox: String,
    /// Where the message goes, or why it cannot be stored after all (the
    /// rest of it is then read and dropped).
    target: Result<Box<dyn AppendTarget>, StoreError>,
}

impl Session {
    /// An APPEND's message was announced: refuse it now, before the client
    /// sends it, or start receiving it.
    pub(super) fn append_start(&mut self, start: AppendStart, out: &mut Vec<u8>) {
        // A command like the others (which the framer hands over itself).
        self.reread_rights(out);
        match self.begin_append(&start, out) {
            Some(incoming) => {
                self.decoder.accept_message();
                self.pending = Some(Pending::Append(AppendJob {
                    tag: start.tag,
                    mailbox: start.mailbox.as_str().to_owned(),
                    target: Ok(incoming),
                }));
            }
            None => self.decoder.refuse_message(),
        }
    }

    /// Checks an announced APPEND and opens its tmp file, or answers it.
    fn begin_append(
        &mut self,
        start: &AppendStart,
        out: &mut Vec<u8>,
    ) -> Option<Box<dyn AppendTarget>> {
        let tag = start.tag.as_str();
        let store = match (&self.state, &self.store) {
            (State::Authenticated | State::Selected(_), Some(store)) => store,
            _ => {
                Reply::bad(out, tag, "APPEND is not valid before login");
                return None;
            }
        };
        if start.kind == LiteralKind::Utf8 && !self.utf8_enabled {
            Reply::bad(out, tag, "UTF8 literal without ENABLE UTF8=ACCEPT");
            return None;
        }
        if start.size == 0 {
            Reply::no(out, tag, Some(Code::Cannot), "Empty message");
            return None;
        }
        let limit = self.config.limits.max_message;
        if start.size > limit {
            // RFC 7889 §3; for a LITERAL+ message the framer skips it.
            let text = format!("Message larger than {limit} octets");
            Reply::no(out, tag, Some(Code::TooBig), &text);
            return None;
        }
        let parsed = match split_flags(&start.flags) {
            Ok(p) => p,
            Err(e) => {
                Reply::bad(out, tag, &e);
                return None;
            }
        };
        let internal_date = match start.date.as_ref().map(system_time) {
            Some(None) => {
                Reply::bad(out, tag, "Date before 1970 not supported");
                return None;
            }
            Some(t) => t,
            None => None,
        };
        let name = start.mailbox.as_str();
        let rights = match &self.state {
            // Read for this command already (`append_start`); a folder
            // gone meanwhile is found by `begin_append` below.
            State::Selected(sel) if self.is_selected(name) => Ok(sel.rights.clone()),
            _ => match store.folder_exists(name) {
                Ok(true) => store.my_rights(name),
                Ok(false) => Err(StoreError::NonExistent(name.to_owned())),
                Err(e) => Err(e),
            },
        };
        let rights = match rights {
            Ok(r) => r,
            Err(e) => {
                self.append_failed(tag, &e, out);
                return None;
            }
        };
        if !Self::permitted(
            tag,
            "APPEND",
            name,
            &rights,
            "i",
            Some(Missing::Append),
            out,
        ) {
            return None;
        }
        // Flags the user may not set are dropped, as in Courier.
        let may = settable(&rights);
        let flags = Flags::from_bits(parsed.flags.bits() & may.flags.bits());
        let keywords = if store.keywords_enabled() && may.keywords {
            parsed.keywords
        } else {
            Vec::new()
        };
        let began = store.begin_append(name, start.size, flags, &keywords, internal_date);
        self.rights_seen(name, &rights, out);
        match began {
            Ok(mut incoming) => {
                // Into the folder open read-write here: `append_done` takes
                // the message in, so it is this session's \Recent.
                if self.is_selected(name)
                    && matches!(&self.state, State::Selected(sel) if sel.folder.read_write())
                {
                    incoming.claim_recent();
                }
                Some(incoming)
            }
            Err(e) => {
                self.append_failed(tag, &e, out);
                None
            }
        }
    }

    /// The next piece of the message.
    pub(super) fn append_data(&mut self, data: &[u8]) {
        let Some(Pending::Append(job)) = &mut self.pending else {
            return;
        };
        if let Ok(incoming) = &mut job.target {
            if let Err(e) = incoming.write(data) {
                // Dropping the file removes it; the rest is read and dropped.
                job.target = Err(e);
            }
        }
    }

    /// The message is complete: store it and answer.
    pub(super) fn append_done(&mut self, out: &mut Vec<u8>) {
        let Some(Pending::Append(job)) = self.pending.take() else {
            return;
        };
        // Courier mails an Outbox message once it is complete, and
        // stores it only if that worked.
        let target = job.target;
        match self.through_outbox(&job.mailbox, |gate| target.and_then(|t| t.finish(gate))) {
            Ok(done) => {
                if let State::Selected(_) = self.state {
                    self.in_selected(&job.tag, out, |s, sel, out| {
                        sel.folder.took_in(&done);
                        s.sync_with(sel, true, Look::Fast, out);
                    });
                }
                Reply::ok_code(
                    out,
                    &job.tag,
                    Code::AppendUid {
                        uidvalidity: done.uidvalidity,
                        uids: SequenceSet::single(done.uid),
                    },
                    "APPEND completed",
                );
            }
            Err(e) => self.append_failed(&job.tag, &e, out),
        }
    }

    /// The command was malformed after its message: nothing is stored.
    pub(super) fn append_broken(&mut self, text: &str, out: &mut Vec<u8>) {
        if let Some(Pending::Append(job)) = self.pending.take() {
            Reply::bad(out, &job.tag, text);
        }
    }

    /// A whole APPEND parsed from one frame (the framer streams the message
    /// instead; this serves a [`Command::Append`](crate::codec::Command)
    /// built any other way) takes the same path.
    pub(super) fn append(&mut self, start: AppendStart, message: &[u8], out: &mut Vec<u8>) {
        self.append_start(start, out);
        if matches!(self.pending, Some(Pending::Append(_))) {
            self.append_data(message);
            self.append_done(out);
        }
    }

    fn append_failed(&self, tag: &str, e: &StoreError, out: &mut Vec<u8>) {
        match e {
            StoreError::NonExistent(_) => Missing::Append.answer(tag, out),
            e => self.store_error(tag, e, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{config, run, session, store, IntoMailStore};
    use super::super::{Action, Session};

    const MSG: &[u8] = b"From: a@example.org\r\nSubject: streamed\r\n\r\nbody\r\n";

    fn files(s: &courser_maildir::Store, sub: &str) -> Vec<Vec<u8>> {
        std::fs::read_dir(s.root().join(sub))
            .unwrap()
            .flatten()
            .map(|e| std::fs::read(e.path()).unwrap())
            .collect()
    }

    /// Feeds `input` in `piece`-octet reads, as a driver would.
    fn feed(s: &mut Session, input: &[u8], piece: usize) -> (String, Action) {
        let mut out = Vec::new();
        let mut buf = Vec::new();
        let mut action = Action::Continue;
        for chunk in input.chunks(piece) {
            buf.extend_from_slice(chunk);
            action = s.receive(&mut buf, &mut out);
        }
        (String::from_utf8_lossy(&out).into_owned(), action)
    }

    #[test]
    fn message_arrives_in_pieces_through_tmp() {
        let dir = tempfile::tempdir().unwrap();
        let st = store(dir.path());
        let mut a = session(st.clone());
        let head = format!("a1 APPEND INBOX (\\Seen) {{{}}}\r\n", MSG.len());
        let out = run(&mut a, &head);
        assert_eq!(out, "+ Ready for literal\r\n");
        let mut rest = MSG.to_vec();
        rest.extend_from_slice(b"\r\na2 NOOP\r\n");
        let (half, _) = rest.split_at(10);
        let mut buf = half.to_vec();
        let mut out = Vec::new();
        a.receive(&mut buf, &mut out);
        assert!(out.is_empty() && buf.is_empty());
        assert_eq!(files(&st, "tmp"), [b"From: a@ex".to_vec()]);
        let (out, _) = feed(&mut a, &rest[10..], 7);
        assert!(out.starts_with("a1 OK [APPENDUID "), "{out}");
        assert!(out.ends_with("a2 OK NOOP completed\r\n"), "{out}");
        assert!(files(&st, "tmp").is_empty());
        assert_eq!(files(&st, "cur"), [MSG.to_vec()]);
    }

    #[test]
    fn too_big_is_refused_before_the_message() {
        let dir = tempfile::tempdir().unwrap();
        let st = store(dir.path());
        let mut cfg = config();
        cfg.limits.max_message = 100;
        let mut a = Session::preauthenticated(cfg, "u", st.clone().into_mail_store());
        assert!(run(&mut a, "c1 CAPABILITY\r\n").contains(" APPENDLIMIT=100"));
        let out = run(&mut a, "a1 APPEND INBOX {101}\r\na2 NOOP\r\n");
        assert!(out.starts_with("a1 NO [TOOBIG] "), "{out}");
        assert!(!out.contains("+ "), "{out}");
        assert!(out.contains("a2 OK"), "{out}");
        // LITERAL+: answered at once, the message skipped by counting.
        let mut input = b"a3 APPEND INBOX {5000+}\r\n".to_vec();
        input.extend_from_slice(&[b'x'; 5000]);
        input.extend_from_slice(b"\r\na4 NOOP\r\n");
        let (out, _) = feed(&mut a, &input, 1000);
        assert!(out.starts_with("a3 NO [TOOBIG] "), "{out}");
        assert!(out.ends_with("a4 OK NOOP completed\r\n"), "{out}");
        assert!(files(&st, "tmp").is_empty() && files(&st, "cur").is_empty());
    }

    #[test]
    fn missing_folder_and_bad_flags_are_refused_before_the_message() {
        let dir = tempfile::tempdir().unwrap();
        let st = store(dir.path());
        let mut a = session(st.clone());
        let out = run(&mut a, "a1 APPEND INBOX.Nope {10}\r\n");
        assert!(out.starts_with("a1 NO [TRYCREATE] "), "{out}");
        let out = run(&mut a, "a2 APPEND INBOX (\\Bogus) {10}\r\n");
        assert!(out.starts_with("a2 BAD "), "{out}");
        let out = run(&mut a, "a3 APPEND INBOX {0}\r\n");
        assert!(out.starts_with("a3 NO "), "{out}");
        assert!(files(&st, "tmp").is_empty());
    }

    #[test]
    fn a_client_gone_half_way_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let st = store(dir.path());
        let mut a = session(st.clone());
        let (out, _) = feed(&mut a, b"a1 APPEND INBOX {1000+}\r\nhalf a mess", 64);
        assert!(out.is_empty(), "{out}");
        assert_eq!(files(&st, "tmp").len(), 1);
        drop(a);
        assert!(files(&st, "tmp").is_empty() && files(&st, "cur").is_empty());
        // Junk after the message: BAD with the APPEND's tag, nothing kept.
        let mut a = session(st.clone());
        let out = run(&mut a, "a2 APPEND INBOX {3+}\r\nabc junk\r\n");
        assert!(out.starts_with("a2 BAD "), "{out}");
        assert!(files(&st, "tmp").is_empty() && files(&st, "cur").is_empty());
    }

    #[test]
    fn before_login_big_literals_are_refused_unread() {
        let mut a = Session::new(config());
        let out = run(&mut a, "a1 APPEND INBOX {67108864}\r\n");
        assert!(out.starts_with("a1 BAD "), "{out}");
        assert!(!out.contains("+ "), "{out}");
        let out = run(&mut a, "a2 APPEND INBOX {5}\r\nhello\r\n");
        assert!(
            out.starts_with("a2 BAD APPEND is not valid before login"),
            "{out}"
        );
        assert!(!out.contains("+ "), "{out}");
        let (out, action) = feed(&mut a, b"a3 APPEND INBOX {67108864+}\r\nxxxx", 100);
        assert!(out.starts_with("* BYE "), "{out}");
        assert_eq!(action, Action::Close);
        assert!(a.is_logged_out());
    }
}
