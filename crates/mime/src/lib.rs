//! Message parsing for IMAP: ENVELOPE, BODYSTRUCTURE, sections.
#![forbid(unsafe_code)]
