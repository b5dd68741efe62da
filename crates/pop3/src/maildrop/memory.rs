//! A maildrop kept in memory, for session tests and the `pop3_session`
//! fuzz target: the same contract as [`super::MaildirDrop`] without files.
//!
//! A [`MemoryStore`] holds the messages; every login takes a
//! [`MemoryDrop`], a snapshot of the store as it is then. As with a
//! maildir, RETR marks the message seen in the store at once, QUIT's
//! deletions remove it from the store, and a message another session
//! deleted meanwhile is [`MaildropError::Gone`] for this one.

use std::io::{Cursor, Read};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{crlf_size, Mailbox, MaildropError, MessageInfo};

/// One stored message.
#[derive(Debug)]
struct Stored {
    uidl: String,
    body: Arc<[u8]>,
    seen: bool,
}

#[derive(Debug, Default)]
struct Messages {
    list: Vec<Stored>,
    next_uid: u64,
}

/// Messages shared by the sessions that open them. Cloning shares the
/// store.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    uidvalidity: u32,
    messages: Arc<Mutex<Messages>>,
}

impl MemoryStore {
    /// An empty store; UIDLs look like Courier's, `UID<uid>-<uidvalidity>`.
    pub fn new(uidvalidity: u32) -> MemoryStore {
        MemoryStore {
            uidvalidity,
            messages: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Messages> {
        // A panicking test thread cannot leave the list half-changed.
        self.messages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Delivers a message (as stored on disk: LF line ends); returns its
    /// UIDL.
    pub fn add(&self, body: impl Into<Arc<[u8]>>) -> String {
        let mut m = self.lock();
        m.next_uid += 1;
        let uidl = format!("UID{}-{}", m.next_uid, self.uidvalidity);
        m.list.push(Stored {
            uidl: uidl.clone(),
            body: body.into(),
            seen: false,
        });
        uidl
    }

    /// The UIDLs of the messages in the store now, in delivery order.
    pub fn uidls(&self) -> Vec<String> {
        self.lock().list.iter().map(|s| s.uidl.clone()).collect()
    }

    /// The UIDLs of the messages RETR sent, in delivery order.
    pub fn seen(&self) -> Vec<String> {
        let m = self.lock();
        m.list
            .iter()
            .filter(|s| s.seen)
            .map(|s| s.uidl.clone())
            .collect()
    }

    /// A maildrop for one session: the messages as they are now.
    pub fn open(&self) -> MemoryDrop {
        let snapshot: Vec<(String, Arc<[u8]>)> = self
            .lock()
            .list
            .iter()
            .map(|s| (s.uidl.clone(), Arc::clone(&s.body)))
            .collect();
        let infos = snapshot
            .iter()
            .map(|(uidl, body)| MessageInfo {
                size: crlf_size(&body[..]).map_or(0, |(size, _)| size),
                uidl: uidl.clone(),
            })
            .collect();
        MemoryDrop {
            store: self.clone(),
            infos,
        }
    }
}

/// One session's view of a [`MemoryStore`]. See the module docs.
#[derive(Debug)]
pub struct MemoryDrop {
    store: MemoryStore,
    infos: Vec<MessageInfo>,
}

impl MemoryDrop {
    fn uidl(&self, index: usize) -> Option<&str> {
        self.infos.get(index).map(|i| i.uidl.as_str())
    }
}

impl Mailbox for MemoryDrop {
    fn messages(&self) -> &[MessageInfo] {
        &self.infos
    }

    fn open(&mut self, index: usize) -> Result<Box<dyn Read + Send>, MaildropError> {
        let uidl = self.uidl(index).ok_or(MaildropError::Gone)?;
        let body = self
            .store
            .lock()
            .list
            .iter()
            .find(|s| s.uidl == uidl)
            .map(|s| Arc::clone(&s.body))
            .ok_or(MaildropError::Gone)?;
        Ok(Box::new(Cursor::new(body)))
    }

    fn retrieved(&mut self, index: usize) {
        let Some(uidl) = self.uidl(index) else {
            return;
        };
        let mut m = self.store.lock();
        if let Some(s) = m.list.iter_mut().find(|s| s.uidl == uidl) {
            s.seen = true;
        }
    }

    fn delete(&mut self, indexes: &[usize]) -> Result<usize, MaildropError> {
        let gone: Vec<&str> = indexes.iter().filter_map(|&i| self.uidl(i)).collect();
        self.store
            .lock()
            .list
            .retain(|s| !gone.contains(&s.uidl.as_str()));
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_see_a_snapshot_and_share_seen_and_deletions() {
        let store = MemoryStore::new(7);
        assert_eq!(store.add(&b"a\n"[..]), "UID1-7");
        store.add(&b"b"[..]);
        let mut first = store.open();
        store.add(&b"late\n"[..]);
        let mut second = store.open();
        assert_eq!(first.messages().len(), 2);
        assert_eq!(first.messages()[1].size, 3, "b + the CRLF RETR adds");
        assert_eq!(second.messages().len(), 3);

        let mut body = Vec::new();
        first.open(0).unwrap().read_to_end(&mut body).unwrap();
        assert_eq!(body, b"a\n");
        first.retrieved(0);
        assert_eq!(store.seen(), ["UID1-7"]);

        assert_eq!(second.delete(&[1, 2]).unwrap(), 0);
        assert_eq!(store.uidls(), ["UID1-7"]);
        assert!(matches!(first.open(1), Err(MaildropError::Gone)));
        assert_eq!(
            first.delete(&[1]).unwrap(),
            0,
            "gone already counts as removed"
        );
        assert!(matches!(first.open(5), Err(MaildropError::Gone)));
    }
}
