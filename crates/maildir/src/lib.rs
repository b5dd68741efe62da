//! Courier-compatible Maildir++ store.
#![forbid(unsafe_code)]
