//! Listeners, TLS, limits and configuration.
#![forbid(unsafe_code)]
