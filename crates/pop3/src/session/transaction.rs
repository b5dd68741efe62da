//! The TRANSACTION state (RFC 1939 §5, §7) and QUIT's UPDATE state (§6).
//!
//! Message numbers stay those given at login for the whole session, also
//! in LIST and UIDL listings after DELE (RFC 1939 §5). Courier's pop3d
//! renumbers the listings after a DELE, which the RFC forbids; Courser
//! does not.

use courser_protocol::Untrusted;

use super::transfer::Transfer;
use super::{Action, Pending, Session, State, Transaction};
use crate::codec::respond;
use crate::codec::{Code, Command};
use crate::maildrop::MaildropError;

impl Transaction {
    /// The index of live message `n` (1-based), or the `-ERR` text.
    fn index(&self, n: u32) -> Result<usize, String> {
        let i = (n as usize).wrapping_sub(1);
        match self.deleted.get(i) {
            None => Err("No such message".into()),
            Some(true) => Err(format!("Message {n} is deleted")),
            Some(false) => Ok(i),
        }
    }

    /// Live messages and their total size.
    fn totals(&self) -> (u64, u64) {
        self.mailbox
            .messages()
            .iter()
            .zip(&self.deleted)
            .filter(|(_, d)| !**d)
            .fold((0, 0), |(n, o), (m, _)| (n + 1, o.saturating_add(m.size)))
    }

    /// `(number, message)` for every live message.
    fn live(&self) -> impl Iterator<Item = (usize, &crate::maildrop::MessageInfo)> {
        self.mailbox
            .messages()
            .iter()
            .zip(&self.deleted)
            .enumerate()
            .filter(|(_, (_, d))| !**d)
            .map(|(i, (m, _))| (i + 1, m))
    }
}

impl Session {
    pub(super) fn transaction(&mut self, command: Command, out: &mut Vec<u8>) -> Action {
        let State::Transaction(t) = &mut self.state else {
            return Action::Continue;
        };
        use Command as C;
        match command {
            C::Stat => {
                let (n, octets) = t.totals();
                respond::ok(out, &format!("{n} {octets}"));
            }
            C::List(None) => {
                let (n, octets) = t.totals();
                respond::ok(out, &format!("{n} messages ({octets} octets)"));
                for (i, m) in t.live() {
                    respond::line(out, &format!("{i} {}", m.size));
                }
                respond::end(out);
            }
            C::List(Some(n)) => match t.index(n) {
                Ok(i) => {
                    let size = t.mailbox.messages().get(i).map_or(0, |m| m.size);
                    respond::ok(out, &format!("{n} {size}"));
                }
                Err(e) => respond::err(out, None, &e),
            },
            C::Uidl(None) => {
                respond::ok(out, "Unique-ID listing follows");
                for (i, m) in t.live() {
                    respond::line(out, &format!("{i} {}", m.uidl));
                }
                respond::end(out);
            }
            C::Uidl(Some(n)) => match t.index(n) {
                Ok(i) => {
                    let uidl = t.mailbox.messages().get(i).map_or("", |m| m.uidl.as_str());
                    respond::ok(out, &format!("{n} {uidl}"));
                }
                Err(e) => respond::err(out, None, &e),
            },
            C::Dele(n) => match t.index(n) {
                Ok(i) => {
                    t.deleted[i] = true;
                    respond::ok(out, &format!("Message {n} deleted"));
                }
                Err(e) => respond::err(out, None, &e),
            },
            C::Rset => {
                t.deleted.iter_mut().for_each(|d| *d = false);
                let (n, octets) = t.totals();
                respond::ok(out, &format!("{n} messages ({octets} octets)"));
            }
            C::Noop => respond::ok(out, ""),
            C::Retr(n) => return self.start_transfer(n, None, out),
            C::Top(n, lines) => return self.start_transfer(n, Some(lines), out),
            C::Quit => return self.update(out),
            C::User(_) | C::Pass(_) | C::Auth { .. } | C::Apop | C::Stls | C::Xclient(_) => {
                respond::err(out, None, "Already logged in");
            }
            C::Capa => self.capa(out),
        }
        Action::Continue
    }

    /// RETR (`lines: None`) or TOP: answer and start sending.
    fn start_transfer(&mut self, n: u32, lines: Option<u64>, out: &mut Vec<u8>) -> Action {
        let State::Transaction(t) = &mut self.state else {
            return Action::Continue;
        };
        let i = match t.index(n) {
            Ok(i) => i,
            Err(e) => {
                respond::err(out, None, &e);
                return Action::Continue;
            }
        };
        let reader = match t.mailbox.open(i) {
            Ok(r) => r,
            Err(MaildropError::Gone) => {
                respond::err(
                    out,
                    None,
                    &format!("Message {n} is gone (deleted elsewhere)"),
                );
                return Action::Continue;
            }
            Err(e) => {
                tracing::error!(
                    user = %Untrusted(self.user.as_deref().unwrap_or("")),
                    "cannot read message: {e}"
                );
                respond::err(out, Some(Code::SysTemp), "Cannot read the message");
                return Action::Continue;
            }
        };
        match lines {
            None => {
                let size = t.mailbox.messages().get(i).map_or(0, |m| m.size);
                respond::ok(out, &format!("{size} octets follow"));
                self.stats.retr += 1;
            }
            Some(_) => {
                respond::ok(out, "Top of message follows");
                self.stats.top += 1;
            }
        }
        let transfer = Transfer::new(i, reader, lines);
        self.continue_transfer(transfer, out)
            .unwrap_or(Action::Continue)
    }

    /// Sends the next piece; `Some(action)` when the connection must end.
    pub(super) fn continue_transfer(
        &mut self,
        mut t: Transfer,
        out: &mut Vec<u8>,
    ) -> Option<Action> {
        let pumped = t.pump(out);
        let sent = t.take_sent();
        if t.is_retr() {
            self.stats.retr_bytes += sent;
        } else {
            self.stats.top_bytes += sent;
        }
        match pumped {
            Ok(false) => {
                self.pending = Some(Pending::Transfer(t));
                None
            }
            Ok(true) => {
                if t.is_retr() {
                    if let State::Transaction(tr) = &mut self.state {
                        tr.mailbox.retrieved(t.index());
                    }
                }
                None
            }
            Err(e) => {
                // Half a message was sent: all we can do is drop the
                // connection (as Courier does); nothing is deleted.
                tracing::error!(
                    user = %Untrusted(self.user.as_deref().unwrap_or("")),
                    "message read failed mid-transfer: {e}"
                );
                self.pending = None;
                self.state = State::Closed;
                Some(Action::Close)
            }
        }
    }

    /// QUIT: the UPDATE state (RFC 1939 §6) removes the marked messages.
    fn update(&mut self, out: &mut Vec<u8>) -> Action {
        let State::Transaction(t) = &mut self.state else {
            return Action::Close;
        };
        let marked: Vec<usize> = t
            .deleted
            .iter()
            .enumerate()
            .filter(|(_, d)| **d)
            .map(|(i, _)| i)
            .collect();
        let result = if marked.is_empty() {
            Ok(0)
        } else {
            t.mailbox.delete(&marked)
        };
        match result {
            Ok(0) => {
                self.stats.deleted = marked.len() as u64;
                self.state = State::Closed;
                respond::ok(out, "Courser POP3 server signing off");
                Action::Close
            }
            Ok(failed) => {
                self.stats.deleted = marked.len().saturating_sub(failed) as u64;
                self.fail(Code::SysTemp, "Some deleted messages not removed", out)
            }
            Err(e) => {
                tracing::error!(
                    user = %Untrusted(self.user.as_deref().unwrap_or("")),
                    "POP3 update failed: {e}"
                );
                self.fail(Code::SysTemp, "Some deleted messages not removed", out)
            }
        }
    }
}
