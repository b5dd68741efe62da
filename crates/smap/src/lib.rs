//! SMAP1, Courier's Simple Mail Access Protocol, sans-IO.
//!
//! SMAP shares the IMAP port: a client tags its pre-login IMAP commands
//! `\SMAP1` (the IMAP session answers those `+OK`/`-ERR`), and after
//! `\SMAP1 LOGIN` the connection speaks SMAP, served by this crate's
//! [`session::SmapSession`] on the account's [`courser_imap::mailstore::MailStore`].
//! The protocol as Courier's server behaves is written up in the team's
//! `spec/smap.md`; the lexical parts are here:
//!
//! - [`words`]: the words of a command line and the quoting of output words;
//! - [`path`]: folder paths (word lists) and the folder names they map to;
//! - [`set`]: message sets, and the number lists of `* EXPUNGE`/`* SEARCH`.

pub mod add;
pub mod contents;
pub mod path;
pub mod reason;
pub mod search;
pub mod session;
pub mod set;
pub mod snapshot;
pub mod upload;
pub mod words;
