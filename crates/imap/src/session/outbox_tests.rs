//! The Outbox in the session: which commands mail, what they answer and
//! what they leave in the folders, on a real maildir. The sending itself
//! is the server's (a process); here a recorder stands in for it.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::tests::{config, run, store};
use super::Session;
use crate::mailstore::{AclUser, MaildirStore, StoreError, StoreResult};
use crate::outbox::{Envelope, Outbox, Sendmail};

const MSG: &[u8] = b"To: b@example.org\r\nSubject: out\r\n\r\nbody\r\n";

/// Remembers what it was asked to send; refuses while `fail` is set.
#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<(String, Vec<u8>)>>,
    fail: AtomicBool,
}

impl Sendmail for Recorder {
    /// (Not the Outbox's way of sending; recorded all the same.)
    fn send_to(&self, envelope: &Envelope<'_>, message: &mut dyn Read) -> StoreResult<()> {
        self.send(envelope.from, message)
    }

    fn send(&self, sender: &str, message: &mut dyn Read) -> StoreResult<()> {
        let mut bytes = Vec::new();
        message
            .read_to_end(&mut bytes)
            .map_err(|e| StoreError::io("message", e))?;
        if self.fail.load(Ordering::SeqCst) {
            return Err(StoreError::NotSent("refused by the test".into()));
        }
        self.sent.lock().unwrap().push((sender.to_owned(), bytes));
        Ok(())
    }
}

impl Recorder {
    fn taken(&self) -> Vec<(String, Vec<u8>)> {
        std::mem::take(&mut *self.sent.lock().unwrap())
    }
}

/// A session of `alice` with an Outbox (`INBOX.Outbox`, created), the
/// recorder behind it and the maildir.
fn outbox_session(
    dir: &std::path::Path,
    multiple: bool,
) -> (Session, Arc<Recorder>, courser_maildir::Store) {
    let st = store(dir);
    st.create_folder("INBOX.Outbox").unwrap();
    let recorder = Arc::new(Recorder::default());
    let store = MaildirStore::new(st.clone(), AclUser::new("alice", "alice", ""));
    let mut s = Session::preauthenticated(config(), "alice", Box::new(store));
    s.send_from_outbox(Some(
        Outbox::new("Outbox", multiple, recorder.clone()).unwrap(),
    ));
    (s, recorder, st)
}

fn append(s: &mut Session, folder: &str, message: &[u8]) -> String {
    let mut input = format!("a APPEND {folder} {{{}+}}\r\n", message.len()).into_bytes();
    input.extend_from_slice(message);
    input.extend_from_slice(b"\r\n");
    let mut out = Vec::new();
    s.receive(&mut input, &mut out);
    String::from_utf8(out).unwrap()
}

fn count(st: &courser_maildir::Store, folder: &str) -> u32 {
    st.status(folder).unwrap().messages
}

#[test]
fn the_capability_names_the_folder_after_login_only() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _, _) = outbox_session(dir.path(), false);
    let caps = run(&mut s, "c CAPABILITY\r\n");
    assert!(caps.contains(" XCOURIEROUTBOX=INBOX.Outbox"), "{caps}");
    let mut plain = super::tests::session(store(dir.path()));
    assert!(!run(&mut plain, "c CAPABILITY\r\n").contains("XCOURIEROUTBOX"));
    let mut before = Session::new(config());
    before.send_from_outbox(s.outbox.clone());
    assert!(!run(&mut before, "c CAPABILITY\r\n").contains("XCOURIEROUTBOX"));
}

#[test]
fn append_mails_then_keeps_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, sent, st) = outbox_session(dir.path(), false);
    let out = append(&mut s, "inbox.Outbox", MSG);
    assert!(out.starts_with("a OK [APPENDUID "), "{out}");
    assert_eq!(sent.taken(), [("alice".to_owned(), MSG.to_vec())]);
    assert_eq!(count(&st, "INBOX.Outbox"), 1);
    // Elsewhere nothing is mailed.
    assert!(append(&mut s, "INBOX", MSG).starts_with("a OK "));
    assert!(sent.taken().is_empty());
}

#[test]
fn append_that_cannot_be_sent_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, sent, st) = outbox_session(dir.path(), false);
    sent.fail.store(true, Ordering::SeqCst);
    let out = append(&mut s, "INBOX.Outbox", MSG);
    assert_eq!(out, "a NO [ALERT] Unable to send E-mail message.\r\n");
    assert_eq!(count(&st, "INBOX.Outbox"), 0);
    let tmp = st.root().join(".Outbox/tmp");
    assert_eq!(std::fs::read_dir(tmp).unwrap().count(), 0);
}

#[test]
fn copy_sends_one_message_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, sent, st) = outbox_session(dir.path(), false);
    for _ in 0..2 {
        append(&mut s, "INBOX", MSG);
    }
    run(&mut s, "s SELECT INBOX\r\n");
    let out = run(&mut s, "c COPY 1:2 INBOX.Outbox\r\n");
    assert_eq!(
        out,
        "c NO [ALERT] Only one message may be sent at a time.\r\n"
    );
    assert!(sent.taken().is_empty());
    let out = run(&mut s, "m UID MOVE 1:2 INBOX.Outbox\r\n");
    assert!(out.starts_with("m NO [ALERT] "), "{out}");
    assert_eq!(count(&st, "INBOX.Outbox"), 0);
    let out = run(&mut s, "c COPY 2 INBOX.Outbox\r\n");
    assert!(out.starts_with("c OK [COPYUID "), "{out}");
    assert_eq!(sent.taken(), [("alice".to_owned(), MSG.to_vec())]);
    // One message left of a set is one message.
    run(&mut s, "d STORE 2 +FLAGS (\\Deleted)\r\nx EXPUNGE\r\n");
    assert!(run(&mut s, "c COPY 1:* INBOX.Outbox\r\n").starts_with("c OK "));
    assert_eq!(sent.taken().len(), 1);
    assert_eq!(count(&st, "INBOX.Outbox"), 2);
}

#[test]
fn move_that_cannot_be_sent_leaves_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, sent, st) = outbox_session(dir.path(), true);
    for _ in 0..3 {
        append(&mut s, "INBOX", MSG);
    }
    run(&mut s, "s SELECT INBOX\r\n");
    sent.fail.store(true, Ordering::SeqCst);
    let out = run(&mut s, "m MOVE 1 INBOX.Outbox\r\n");
    assert_eq!(out, "m NO [ALERT] Unable to send E-mail message.\r\n");
    assert_eq!((count(&st, "INBOX"), count(&st, "INBOX.Outbox")), (3, 0));
    // With multiple sends allowed, MOVE sends each and moves them.
    sent.fail.store(false, Ordering::SeqCst);
    let out = run(&mut s, "m MOVE 1:2 INBOX.Outbox\r\n");
    assert!(out.contains("* 1 EXPUNGE\r\n* 1 EXPUNGE\r\n"), "{out}");
    assert!(out.ends_with("m OK MOVE completed\r\n"), "{out}");
    assert_eq!(sent.taken().len(), 2);
    assert_eq!((count(&st, "INBOX"), count(&st, "INBOX.Outbox")), (1, 2));
}
