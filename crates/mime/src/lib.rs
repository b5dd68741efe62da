//! Message parsing for IMAP: ENVELOPE, BODYSTRUCTURE, `BODY[section]`,
//! SEARCH text matching and date parsing.
//!
//! Everything here is a pure function over the raw message file (`&[u8]`,
//! LF or CRLF line endings, any bytes). Nothing panics on any input.
//!
//! - [`parse()`] scans the MIME tree once and records byte offsets
//!   ([`ParsedMessage`], [`Part`]); nesting deeper than
//!   [`parse::MAX_DEPTH`] is treated as opaque `application/octet-stream`.
//! - [`envelope`] / [`body_structure`] build the protocol-neutral
//!   [`Envelope`] and [`BodyStructure`] (the IMAP crate serializes them).
//! - [`section_bytes`] cuts out `BODY[section]` CRLF-normalized;
//!   [`partial`] applies `<origin.len>`; [`crlf_len`] gives RFC822.SIZE.
//! - [`header_values`], [`header_contains`], [`address_header_contains`],
//!   [`text_contains`],
//!   [`decode_header_text`] and [`parse_date`] serve SEARCH and SORT.
//! - [`corpus`] generates a varied test corpus for any crate's tests.
//!
//! Choices (and where they differ from Courier):
//! - Sizes count CRLF octets; `lines` is the number of line endings in the
//!   body. Inside a multipart the line ending before a boundary belongs to
//!   the boundary (RFC 2046). A boundary line is recognized by prefix,
//!   case-insensitively, as Courier does; a missing final boundary ends
//!   the last part at the end of the enclosing body.
//! - Content-Type is honoured without `MIME-Version` (Courier ignores it
//!   then; Dovecot and clients do not). A missing or invalid Content-Type
//!   (including multipart without a boundary) is `text/plain;
//!   charset=us-ascii`, or `message/rfc822` inside multipart/digest. A
//!   multipart without any boundary line gets one empty text/plain part.
//! - Type, subtype, parameter names, encoding and disposition type are
//!   uppercased (Courier lowercases; IMAP compares them
//!   case-insensitively). Missing encoding is `7BIT` (RFC 2045; Courier
//!   says 8bit).
//! - RFC 2231 continuations are joined in BODYSTRUCTURE (`NAME*0`,
//!   `NAME*1` → `NAME`; with encoded segments `NAME*` =
//!   `charset'lang'%XX…`), as Dovecot does; Courier sends them raw.
//!   [`param_value`] fully decodes a parameter to UTF-8 (Courier's rules:
//!   the extended form wins over a plain one).
//! - ENVELOPE strings are unfolded and trimmed, first occurrence; address
//!   fields occurring several times are concatenated (as Courier does);
//!   sender/reply-to default to from when absent or empty (RFC 3501).
//!   An address without a domain has host `""` (as Courier), keeping NIL
//!   hosts for group markers. A quoted local part is sent unquoted: RFC
//!   3501 addr-mailbox is the local part "after removing RFC 2822 quoting"
//!   (as Dovecot; Courier keeps the quotes).
//! - `tests/e2e/test_differential.py` compares ENVELOPE and BODYSTRUCTURE
//!   with Courier's and Dovecot's and lists every difference kept.
#![forbid(unsafe_code)]

mod address;
pub mod collation;
pub mod decode;
mod header;
mod lines;
mod params;
pub mod parse;
pub mod structure;

pub use address::parse_address_list;
pub use collation::{search_fold, unicode_casemap};
pub use decode::decode_header_text;
pub use lines::{crlf_len, to_crlf, CrlfLen};
pub use params::param_value;
pub use parse::{parse, ParsedMessage, Part, PartKind};
pub use structure::{Address, BodyKind, BodyStructure, Envelope, Params};
mod fetch;
pub use fetch::{body_structure, body_structure_of, envelope, envelope_of};
mod section;
pub use section::{partial, resolve, section_bytes, try_section_bytes, Section, SectionText};
mod date;
pub mod order;
mod search;
pub use date::{parse_date, parse_date_day};
pub use search::{
    address_header_contains, address_texts, address_texts_of, contains_ci, decoded_text,
    header_contains, header_texts, header_texts_of, header_values, text_contains,
};
pub mod corpus;
