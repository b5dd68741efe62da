//! Fuzz target bodies for Courser's parsers and protocol sessions
//! (DESIGN.md, "Testing").
//!
//! Every public function here takes arbitrary bytes, feeds them to one
//! parser through its public API and asserts what must hold for any
//! input: no panic, bounded output, and where cheap a round-trip property.
//! The cargo-fuzz project in `fuzz/` calls them from one-line targets (on
//! nightly); `tests/corpus.rs` replays the committed seed corpus in
//! `fuzz/corpus/<target>/` through them on stable in every `cargo test`.
//!
//! [`TARGETS`] lists every target by the name of its fuzz target and
//! corpus directory.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod authd;
pub mod courier;
pub mod imap;
pub mod maildir;
pub mod mime;
pub mod pop3;
pub mod proxy;
pub mod sasl;
pub mod scram;

/// A fuzz target body.
pub type Target = fn(&[u8]);

/// Every target: `(name, body)`. The name is the file name of the
/// cargo-fuzz target (`fuzz/fuzz_targets/<name>.rs`) and of its seed
/// corpus directory (`fuzz/corpus/<name>/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("imap_framer", imap::framer),
    ("imap_command", imap::command),
    ("imap_utf7", imap::utf7),
    ("imap_session", imap::session),
    ("pop3_framer", pop3::framer),
    ("pop3_sizelist", pop3::sizelist),
    ("pop3_session", pop3::session),
    ("mime_message", mime::message),
    ("mime_section", mime::section),
    ("mime_header", mime::header),
    ("maildir_uiddb", maildir::uiddb),
    ("maildir_keywords", maildir::keywords),
    ("maildir_quota", maildir::quota),
    ("maildir_names", maildir::names),
    ("maildir_acl", maildir::acl),
    ("auth_userdb", auth::userdb),
    ("auth_wire", auth::wire),
    ("proxy_header", proxy::header),
    ("proxy_dialogue", proxy::dialogue),
    ("authd_wire", authd::wire),
    ("sasl_server", sasl::server),
    ("scram_messages", scram::messages),
    ("courier_shell", courier::shell),
];
