//! The IMAP codec: bytes in, [`Command`]s out; response values in, bytes out.
//!
//! Data flows through three stages (DESIGN.md, "Style"):
//!
//! 1. [`frame::Decoder`] — the framer. It alone owns line, literal and
//!    continuation state (RFC 3501 §2.2, §7.5; LITERAL+ RFC 7888) and enforces
//!    the one [`Limits`] value. It cuts the input stream into complete command
//!    frames and emits [`frame::Event`]s: a parsed command, a request to send a
//!    continuation (`+`), a `BAD` for a malformed or oversized command (with the
//!    stream kept in sync), an APPEND message in pieces (never held whole),
//!    or "need more bytes".
//! 2. [`parse`] — pure functions from one complete frame to a [`Command`]
//!    (the AST in [`types`]), one file per command family.
//! 3. [`respond`] — response writers that append wire bytes to a `Vec<u8>`,
//!    choosing atom / quoted / literal encodings correctly.
//!
//! [`utf7`] implements the modified UTF-7 mailbox-name encoding of
//! RFC 3501 §5.1.3. With the `validate` feature (and always in this crate's
//! tests) [`validate`] checks responses with an independent parser.

//! ```
//! use courser_imap::codec::{respond, Command, Decoder, Event, Limits};
//!
//! let mut decoder = Decoder::new(Limits::default());
//! let mut input = b"a1 LOGIN {4}\r\n".to_vec(); // bytes read from the socket
//! let mut output = Vec::new(); // bytes to write back
//! loop {
//!     match decoder.decode(&mut input) {
//!         Event::NeedMore => break, // read more, append to `input`, loop again
//!         Event::Continue => respond::continuation(&mut output, "Ready for literal"),
//!         Event::Bad { tag, text } => respond::bad(&mut output, tag.as_deref(), &text),
//!         Event::Command { tag, command } => {
//!             if let Command::Idle = command {
//!                 decoder.expect_idle_done();
//!             }
//!             respond::tagged(&mut output, &tag, respond::Status::Ok, None, "done");
//!         }
//!         Event::AppendStart(start) => {
//!             // Check the size, the folder, the quota; then either:
//!             decoder.refuse_message();
//!             let text = "Message too large";
//!             respond::tagged(&mut output, &start.tag, respond::Status::No, None, text);
//!         }
//!         Event::Bye { text } => respond::untagged(&mut output, respond::Status::Bye, None, &text),
//!         Event::AppendData(_) | Event::AppendDone => {} // after accept_message()
//!         Event::AuthData(_) | Event::AuthCancel | Event::IdleDone => {}
//!     }
//! }
//! assert_eq!(output, b"+ Ready for literal\r\n");
//! input.extend_from_slice(b"fred pw\r\n");
//! assert!(matches!(decoder.decode(&mut input), Event::Command { command: Command::Login { .. }, .. }));
//! ```

pub mod error;
pub mod frame;
pub mod limits;
pub mod parse;
pub mod respond;
pub mod types;
pub mod utf7;
#[cfg(any(test, feature = "validate"))]
pub mod validate;

pub use error::Error;
pub use frame::{Decoder, Event};
pub use limits::Limits;
pub use types::{
    Address, AppendStart, BodyKind, BodyStructure, Command, Date, DateTime, Envelope, FetchAttr,
    Flag, LiteralKind, Mailbox, Partial, ReturnOption, SearchKey, Section, SectionText, SeqNum,
    SeqRange, SequenceSet, SortCriterion, SortKey, StatusItem, StoreMode, Tag, ThreadAlgorithm,
};
