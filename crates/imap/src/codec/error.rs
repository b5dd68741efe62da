//! The codec's one error type. Every variant is the client's fault and is
//! answered with `BAD` (RFC 3501 §7.1.3); `Display` gives the human-readable
//! text for that response.

/// Why a command could not be framed or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The command violates the RFC 3501 §9 grammar.
    #[error("Syntax error: {0}")]
    Syntax(String),
    /// The command name is not one this server knows.
    #[error("Unknown command: {0}")]
    UnknownCommand(String),
    /// The tag is missing or contains forbidden characters (RFC 3501 §9 `tag`).
    #[error("Invalid or missing tag")]
    InvalidTag,
    /// A line exceeded [`Limits::max_line`](super::Limits::max_line).
    #[error("Command line too long")]
    LineTooLong,
    /// A literal before login exceeded
    /// [`Limits::max_prelogin_literal`](super::Limits::max_prelogin_literal),
    /// or a literal's size does not fit in memory.
    #[error("Literal too large")]
    LiteralTooLarge,
    /// A command exceeded [`Limits::max_command`](super::Limits::max_command).
    #[error("Command too large")]
    CommandTooLarge,
    /// Parentheses or search keys nested deeper than
    /// [`Limits::max_depth`](super::Limits::max_depth).
    #[error("Nesting too deep")]
    TooDeep,
    /// A sequence set had more than
    /// [`Limits::max_sequence_ranges`](super::Limits::max_sequence_ranges) elements.
    #[error("Sequence set too long")]
    TooManyRanges,
    /// A SASL response or initial response is not valid base64 (RFC 4648 §4).
    #[error("Invalid base64 data")]
    InvalidBase64,
    /// While in IDLE (RFC 2177 §3) the client sent something other than DONE.
    #[error("Expected DONE")]
    ExpectedDone,
}

impl Error {
    pub(crate) fn syntax(msg: impl Into<String>) -> Self {
        Error::Syntax(msg.into())
    }
}
