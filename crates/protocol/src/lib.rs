//! What Courser's protocol sessions (IMAP, POP3, and SMAP to come) share
//! that belongs neither to the store nor to authentication.
//!
//! * [`timing`]: [`CommandClock`] measures the time a sans-IO session
//!   spends on each command, across the calls the driver makes into it,
//!   and hands the server [`Finished`] records for its metrics. The
//!   protocol crates stay free of any metrics library.
//! * [`log_text`]: [`Untrusted`], the one way client-supplied text enters
//!   a log line (quoted and escaped, so it cannot forge lines).
//! * [`backpressure`]: [`Backpressure`] stops a session from starting new
//!   commands while its output is above [`OUTPUT_HIGH_WATER`], so
//!   pipelined commands cannot make it queue unbounded output.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod backpressure;
pub mod log_text;
pub mod timing;

pub use backpressure::{Backpressure, OUTPUT_HIGH_WATER};
pub use log_text::{untrusted_bytes, Untrusted};
pub use timing::{CommandClock, Finished};
