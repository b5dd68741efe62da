//! The one [`Limits`] value the framer and parsers enforce (DESIGN.md
//! principle 4: "Every input is hostile").

/// Bounds on everything a client can make the server hold or compute while a
/// command is read and parsed. Each limit, when hit, yields a `BAD` answer
/// for that command only; the connection stays usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest command line, in octets, not counting literal data (the text
    /// between two literals, or between a literal and CRLF, counts as one
    /// line each). Default 64 KiB: RFC 7162 §4 asks servers to accept at
    /// least 8192 octets; long UID sets from resyncing clients exceed that,
    /// and 64 KiB is what Dovecot allows.
    pub max_line: usize,
    /// Largest literal, in octets (RFC 3501 §4.3). APPEND message literals
    /// are the large ones; default 64 MiB, the size of Courier's default
    /// process data limit (`IMAP_ULIMITD=65536` KB).
    pub max_literal: u64,
    /// Largest whole command (all lines plus all literals) except the
    /// message literal of APPEND, which counts against `max_literal` alone.
    /// Default 1 MiB.
    pub max_command: usize,
    /// Deepest nesting of parenthesized lists and of NOT/OR search keys.
    /// Default 64.
    pub max_depth: usize,
    /// Most comma-separated elements in one sequence set (RFC 3501 §9
    /// `sequence-set`). Default 10 000.
    pub max_sequence_ranges: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: 64 * 1024,
            max_literal: 64 * 1024 * 1024,
            max_command: 1024 * 1024,
            max_depth: 64,
            max_sequence_ranges: 10_000,
        }
    }
}
