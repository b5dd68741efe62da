//! Bounded output for pipelined commands.
//!
//! A client may send many commands at once (IMAP pipelining, RFC 3501
//! §5.5; POP3 PIPELINING, RFC 2449 §6.6) and not read the answers. Each
//! answer can be large (a SEARCH ALL on 100,000 messages is ~600 KB, a
//! POP3 UIDL listing several MB), so a session that ran every command it
//! had received before its driver sent anything would queue the sum of
//! them. Instead a session stops starting commands once its output
//! reaches [`OUTPUT_HIGH_WATER`] and says so through
//! [`Backpressure::is_held`]; the driver sends the output (waiting for the
//! client to read it) and calls the session again before reading more
//! input, so the queue drains to empty — the low-water mark — before the
//! next command runs. A session's output is then at most the high-water
//! mark plus one command's answer (commands that answer with message data
//! produce it in pieces of the same size).

/// Output size at which a session stops starting new commands, and at
/// which a command producing a long answer pauses for it to be sent.
pub const OUTPUT_HIGH_WATER: usize = 256 * 1024;

/// Whether a session stopped taking commands because its output is full.
#[derive(Debug, Default)]
pub struct Backpressure {
    held: bool,
}

impl Backpressure {
    /// Call before decoding each command: true when `out` has reached
    /// [`OUTPUT_HIGH_WATER`], in which case the session returns to its
    /// driver without decoding.
    pub fn full(&mut self, out: &[u8]) -> bool {
        self.held = out.len() >= OUTPUT_HIGH_WATER;
        self.held
    }

    /// The last check found the output full: commands wait in the input,
    /// so the driver must send the output and call the session again
    /// before reading more.
    pub fn is_held(&self) -> bool {
        self.held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_at_the_mark_and_releases_below() {
        let mut gate = Backpressure::default();
        assert!(!gate.full(&[]) && !gate.is_held());
        let big = vec![0u8; OUTPUT_HIGH_WATER];
        assert!(gate.full(&big) && gate.is_held());
        assert!(!gate.full(&big[..OUTPUT_HIGH_WATER - 1]) && !gate.is_held());
    }
}
