//! IDLE (RFC 2177): the server waits; the session reports changes.

use std::path::PathBuf;

use super::reply::Reply;
use super::{Action, Pending, Session, State};
use crate::codec::Tag;

impl Session {
    pub(super) fn idle(&mut self, tag: Tag, out: &mut Vec<u8>) -> Action {
        if let State::Selected(_) = self.state {
            self.in_selected(&tag, out, |s, sel, out| s.sync(sel, true, out));
        }
        Reply::continuation(out, "idling");
        self.decoder.expect_idle_done();
        self.pending = Some(Pending::Idle(tag));
        Action::Idle
    }

    /// What keeps an idle connection's NAT state alive (IMAP's `* OK
    /// Still here`); `None` for a protocol that has no such line (SMAP).
    pub fn idle_keepalive(&self) -> Option<&'static [u8]> {
        match self.dialect {
            Some(_) => None,
            None => Some(b"* OK Still here\r\n"),
        }
    }

    /// Whether the session is in IDLE (the server then waits for changes).
    pub fn is_idling(&self) -> bool {
        matches!(self.pending, Some(Pending::Idle(_)))
    }

    /// Directories whose changes the client should hear about during IDLE.
    pub fn watch_paths(&self) -> Vec<PathBuf> {
        if let Some(dialect) = &self.dialect {
            return dialect.watch_paths();
        }
        match &self.state {
            State::Selected(sel) => sel.folder.watch_paths(),
            _ => Vec::new(),
        }
    }

    /// Something may have changed while idling: tell the client.
    pub fn idle_changed(&mut self, out: &mut Vec<u8>) {
        if let Some(dialect) = &mut self.dialect {
            return dialect.idle_changed(out);
        }
        if let (Some(Pending::Idle(tag)), State::Selected(_)) = (&self.pending, &self.state) {
            let tag = tag.clone();
            // Rights taken away meanwhile stop the news at once.
            self.reread_rights(out);
            self.in_selected(&tag, out, |s, sel, out| s.sync(sel, true, out));
        }
    }

    /// The client ended IDLE with DONE.
    pub(super) fn idle_done(&mut self, out: &mut Vec<u8>) -> Action {
        self.decoder.expect_command();
        match self.pending.take() {
            Some(Pending::Idle(tag)) => self.finish_ok(&tag, "IDLE terminated", out),
            other => {
                self.pending = other;
                Reply::untagged_bad(out, "DONE without IDLE");
            }
        }
        Action::Continue
    }

    /// The client sent something other than DONE during IDLE.
    pub(super) fn idle_broken(&mut self, text: &str, out: &mut Vec<u8>) {
        self.decoder.expect_command();
        if let Some(Pending::Idle(tag)) = self.pending.take() {
            Reply::bad(out, &tag, text);
        }
    }
}
