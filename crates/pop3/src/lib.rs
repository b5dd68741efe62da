//! Courser's POP3 server core: RFC 1939 with CAPA (RFC 2449), AUTH
//! (RFC 5034), STLS (RFC 2595) and response codes (RFC 2449 §8, RFC 3206),
//! over a Courier-compatible maildrop.
//!
//! * [`codec`]: sans-IO. The [`codec::Decoder`] cuts client bytes into
//!   lines and parses them into [`codec::Command`]s; [`codec::respond`]
//!   writes responses and dot-stuffed message bodies.
//! * [`session`]: the [`session::Session`] state machine (AUTHORIZATION,
//!   TRANSACTION, UPDATE). The server feeds it bytes with
//!   [`session::Session::receive`] and acts on the returned
//!   [`session::Action`] (check credentials, start TLS, close); the
//!   session talks to its maildrop through the [`maildrop::Mailbox`]
//!   trait.
//! * [`maildrop`]: [`maildrop::MaildirDrop`], INBOX of a maildir exactly as
//!   Courier's pop3d presents it — same message order, same UIDLs, same
//!   `courierpop3dsizelist` ([`maildrop::sizelist`]), deletions only at
//!   QUIT with the quota kept.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod codec;
pub mod maildrop;
pub mod session;
