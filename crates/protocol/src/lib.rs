//! What Courser's protocol sessions (IMAP, POP3, and SMAP to come) share
//! that belongs neither to the store nor to authentication.
//!
//! * [`timing`]: [`CommandClock`] measures the time a sans-IO session
//!   spends on each command, across the calls the driver makes into it,
//!   and hands the server [`Finished`] records for its metrics. The
//!   protocol crates stay free of any metrics library.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod timing;

pub use timing::{CommandClock, Finished};
