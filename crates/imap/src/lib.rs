//! IMAP4rev1 codec and session state machine (sans-IO).
#![forbid(unsafe_code)]

pub mod codec;
pub mod mailstore;
pub mod outbox;
pub mod session;
