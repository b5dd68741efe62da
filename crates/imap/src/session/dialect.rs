//! Another protocol an IMAP connection may turn into at login: Courier's
//! SMAP1, whose pre-login commands are IMAP commands tagged `\SMAP1`
//! (answered `+OK`/`-ERR`, see [`crate::codec::parse::SMAP_TAG`]) and
//! whose session after login is a different protocol on the same store.
//! The session after login lives in its own crate (`courser-smap`);
//! this is the seam it plugs into, so this crate does not depend on it.

use std::path::PathBuf;
use std::sync::Arc;

use crate::mailstore::MailStore;

/// A session in another protocol, after login.
pub trait Dialect: Send {
    /// The session's first words: its answer to the login.
    fn greeting(&self, out: &mut Vec<u8>);
    /// The account's mail (what the server's housekeeping at login and
    /// logout, Courier's emptying of old Trash, works on).
    fn store(&self) -> &dyn MailStore;
    /// Feeds client input (consuming what it used), answers into `out`.
    fn receive(&mut self, input: &mut Vec<u8>, out: &mut Vec<u8>) -> DialectStep;
    /// The session has ended (the server closes after the output).
    fn is_over(&self) -> bool;
    /// Paths whose changes the session's idle wait should notice.
    fn watch_paths(&self) -> Vec<PathBuf>;
    /// Something in [`Dialect::watch_paths`] may have changed while the
    /// session idles: report it into `out`.
    fn idle_changed(&mut self, out: &mut Vec<u8>);
    /// The message bytes the session has sent, for the LOGOUT line.
    fn transferred(&self) -> super::Transferred;
    /// Gives back memory held beyond what a waiting session needs.
    fn shrink_buffers(&mut self) {}
}

/// What a [`Dialect`] asks of the connection after a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialectStep {
    /// Send the output and read more.
    Continue,
    /// Send the output, then wait for input or a change in
    /// [`Dialect::watch_paths`], and call [`Dialect::receive`] with no
    /// new input when something changed.
    Idle,
}

/// Starts a [`Dialect`] session for a login.
pub trait DialectStart: Send + Sync {
    /// The capability an IMAP greeting advertises for it (`SMAP1`).
    fn capability(&self) -> &'static str;
    /// The session of `user`, who just logged in, on their `store`.
    fn start(&self, user: &str, store: Box<dyn MailStore>) -> Box<dyn Dialect>;
}

/// A shared [`DialectStart`].
pub type Starter = Arc<dyn DialectStart>;
