//! SEARCH keys (RFC 3501 §6.4.4, §9 `search-key`).

use super::{Date, SequenceSet};

/// What an ESEARCH answer returns (RFC 4731 §3.1; for SORT, RFC 5267
/// §3.2). `RETURN ()` means [`ReturnOption::All`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnOption {
    /// `MIN`: the lowest number (for SORT, the first in sort order).
    Min,
    /// `MAX`: the highest number (for SORT, the last in sort order).
    Max,
    /// `ALL`: every number, as a sequence set.
    All,
    /// `COUNT`: how many.
    Count,
}

/// One search key. String arguments are the raw bytes the client sent, to be
/// interpreted in the command's CHARSET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchKey {
    /// Several keys that must all match: the top-level key list and
    /// parenthesized lists (RFC 3501 §6.4.4 "(search-key...)").
    And(Vec<SearchKey>),
    /// A message sequence set.
    SequenceSet(SequenceSet),
    /// `ALL`
    All,
    /// `ANSWERED`
    Answered,
    /// `BCC string`
    Bcc(Vec<u8>),
    /// `BEFORE date`
    Before(Date),
    /// `BODY string`
    Body(Vec<u8>),
    /// `CC string`
    Cc(Vec<u8>),
    /// `DELETED`
    Deleted,
    /// `DRAFT`
    Draft,
    /// `FLAGGED`
    Flagged,
    /// `FROM string`
    From(Vec<u8>),
    /// `HEADER field-name string`
    Header(String, Vec<u8>),
    /// `KEYWORD flag`
    Keyword(String),
    /// `LARGER n`
    Larger(u32),
    /// `NEW` (RECENT UNSEEN)
    New,
    /// `NOT key`
    Not(Box<SearchKey>),
    /// `OLD` (NOT RECENT)
    Old,
    /// `ON date`
    On(Date),
    /// `OR key key`
    Or(Box<SearchKey>, Box<SearchKey>),
    /// `RECENT`
    Recent,
    /// `SEEN`
    Seen,
    /// `SENTBEFORE date`
    SentBefore(Date),
    /// `SENTON date`
    SentOn(Date),
    /// `SENTSINCE date`
    SentSince(Date),
    /// `SINCE date`
    Since(Date),
    /// `SMALLER n`
    Smaller(u32),
    /// `SUBJECT string`
    Subject(Vec<u8>),
    /// `TEXT string`
    Text(Vec<u8>),
    /// `TO string`
    To(Vec<u8>),
    /// `UID set`
    Uid(SequenceSet),
    /// `UNANSWERED`
    Unanswered,
    /// `UNDELETED`
    Undeleted,
    /// `UNDRAFT`
    Undraft,
    /// `UNFLAGGED`
    Unflagged,
    /// `UNKEYWORD flag`
    Unkeyword(String),
    /// `UNSEEN`
    Unseen,
}
