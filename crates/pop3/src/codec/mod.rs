//! The POP3 codec: a line framer ([`frame`]), a command parser
//! ([`parse`]) and response writers ([`respond`]). Pure, no I/O.

pub mod frame;
pub mod parse;
pub mod respond;

pub use frame::{Decoder, Event, Limits};
pub use parse::{Command, ParseError};
pub use respond::Code;
