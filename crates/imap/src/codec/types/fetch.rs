//! FETCH data items (RFC 3501 §6.4.5, §9 `fetch-att`, `section`).

/// A body section specifier (RFC 3501 §6.4.5 `BODY[<section>]`): a part
/// path (empty for the whole message) and an optional text part.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Section {
    /// Part numbers, e.g. `[4, 2, 1]` for `4.2.1`; empty for the top level.
    pub part: Vec<u32>,
    /// `HEADER`, `TEXT`, `MIME`, ... after the part numbers.
    pub text: Option<SectionText>,
}

/// The textual tail of a section specifier (RFC 3501 §9 `section-msgtext`,
/// `section-text`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SectionText {
    /// `HEADER`
    Header,
    /// `HEADER.FIELDS (names)`; names as sent (compare case-insensitively).
    HeaderFields(Vec<String>),
    /// `HEADER.FIELDS.NOT (names)`
    HeaderFieldsNot(Vec<String>),
    /// `TEXT`
    Text,
    /// `MIME` — only after part numbers.
    Mime,
}

/// `<origin.count>` of a `BODY[section]` request (RFC 3501 §6.4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Partial {
    /// First octet wanted (0-based).
    pub origin: u32,
    /// Most octets wanted (non-zero).
    pub count: u32,
}

/// A requested FETCH data item (RFC 3501 §6.4.5). The macros ALL, FAST and
/// FULL are expanded by the parser.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FetchAttr {
    /// `ENVELOPE`
    Envelope,
    /// `FLAGS`
    Flags,
    /// `INTERNALDATE`
    InternalDate,
    /// `RFC822` (like `BODY[]`, sets \Seen)
    Rfc822,
    /// `RFC822.HEADER` (like `BODY.PEEK[HEADER]`)
    Rfc822Header,
    /// `RFC822.SIZE`
    Rfc822Size,
    /// `RFC822.TEXT` (like `BODY[TEXT]`, sets \Seen)
    Rfc822Text,
    /// `BODY` (structure without extension data)
    Body,
    /// `BODYSTRUCTURE`
    BodyStructure,
    /// `UID`
    Uid,
    /// `BODY[section]<partial>` or `BODY.PEEK[...]`.
    BodySection {
        /// `BODY.PEEK`: do not set \Seen.
        peek: bool,
        /// The section.
        section: Section,
        /// The partial range.
        partial: Option<Partial>,
    },
}
