//! Accounts and authentication.
#![forbid(unsafe_code)]
