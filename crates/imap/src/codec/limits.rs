//! The one [`Limits`] value the framer and parsers enforce (DESIGN.md
//! principle 4: "Every input is hostile").

/// Bounds on everything a client can make the server hold or compute while a
/// command is read and parsed. Each limit, when hit, refuses that command
/// only (`BAD`; `NO [TOOBIG]` for `max_message`) and the connection stays
/// usable — except a LITERAL+ literal over `max_prelogin_literal`, which
/// ends it with `BYE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest command line, in octets, not counting literal data (the text
    /// between two literals, or between a literal and CRLF, counts as one
    /// line each). Default 64 KiB: RFC 7162 §4 asks servers to accept at
    /// least 8192 octets; long UID sets from resyncing clients exceed that,
    /// and 64 KiB is what Dovecot allows.
    pub max_line: usize,
    /// Largest literal before login, in octets. Nothing sent before login
    /// needs more than a few KiB (a user name, a password); a bigger
    /// synchronizing literal is refused with `BAD` instead of a
    /// continuation request, and a bigger LITERAL+ one ends the connection
    /// with `BYE` rather than being read (RFC 7888 §4 lets a server close
    /// the connection over a non-synchronizing literal it will not
    /// accept). Default 8 KiB.
    pub max_prelogin_literal: u64,
    /// Largest APPEND message, in octets. The framer streams messages
    /// (it never holds one), so this is not a framing limit: the session
    /// refuses a bigger APPEND with `NO [TOOBIG]` (RFC 4469 §4.1, RFC 7889
    /// §3) and advertises it as `APPENDLIMIT=n` (RFC 7889 §2). Default
    /// 64 MiB: Courier-IMAP has no message size setting, but its default
    /// data limit (`IMAP_ULIMITD=65536` KB) made 64 MiB its practical
    /// ceiling.
    pub max_message: u64,
    /// Largest whole command (all lines plus all literals) except the
    /// message of APPEND, which the framer does not hold. Default 1 MiB.
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
            max_prelogin_literal: 8 * 1024,
            max_message: 64 * 1024 * 1024,
            max_command: 1024 * 1024,
            max_depth: 64,
            max_sequence_ranges: 10_000,
        }
    }
}
