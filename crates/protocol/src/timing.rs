//! Per-command work time of a sans-IO session.
//!
//! A session runs a command over one or more calls from its driver: a
//! FETCH that fills the output buffer resumes on the next call, a login
//! waits for the server's credential check, an AUTHENTICATE or IDLE waits
//! for the client. Only the calls count; the waits between them do not.
//! A command is filed once nothing of it is pending in the session.

use std::time::{Duration, Instant};

/// One command a session finished, for the server's metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    /// The protocol's name of the command; `None` for a line that was not
    /// a valid command.
    pub command: Option<&'static str>,
    /// Time the session itself worked on the command (decoding, running
    /// it, writing the response), summed over the calls that did. Waiting
    /// for the client (IDLE, SASL exchanges, a slow reader of a FETCH or
    /// RETR) and the server's credential check are not in it.
    pub busy: Duration,
}

/// Most [`Finished`] entries kept until drained; more are dropped (a
/// driver that drains after every call never comes near it).
const MAX_FINISHED: usize = 4096;

/// Times the commands of one session.
///
/// Every method takes `over`: whether the session has nothing of the
/// running command pending any more (no login to answer, no output to
/// resume). The session knows that; the clock files the command then.
#[derive(Debug, Default)]
pub struct CommandClock {
    running: Option<Finished>,
    finished: Vec<Finished>,
}

impl CommandClock {
    /// Starts timing a command (`None`: a line that did not parse),
    /// filing the previous one if it is `over`.
    pub fn begin(&mut self, command: Option<&'static str>, over: bool) {
        self.settle(over);
        self.running = Some(Finished {
            command,
            busy: Duration::ZERO,
        });
    }

    /// Adds the time since `started` to the running command, and files it
    /// if it is `over`.
    pub fn add(&mut self, started: Instant, over: bool) {
        if let Some(running) = &mut self.running {
            running.busy += started.elapsed();
        }
        self.settle(over);
    }

    /// Commands finished since the last call, oldest first (the running
    /// one too if it is `over`: the server may have completed a login
    /// since). Drain after every call into the session.
    pub fn drain(&mut self, over: bool) -> std::vec::Drain<'_, Finished> {
        self.settle(over);
        self.finished.drain(..)
    }

    fn settle(&mut self, over: bool) {
        if over {
            if let Some(done) = self.running.take() {
                if self.finished.len() < MAX_FINISHED {
                    self.finished.push(done);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_is_filed_once_it_is_over() {
        let mut clock = CommandClock::default();
        clock.begin(Some("FETCH"), true);
        clock.add(Instant::now(), false);
        assert_eq!(clock.drain(false).count(), 0);
        clock.add(Instant::now(), true);
        let done: Vec<_> = clock.drain(true).collect();
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].command, Some("FETCH"));
        assert_eq!(clock.drain(true).count(), 0);
    }

    #[test]
    fn a_pending_login_is_filed_when_drained_after_the_answer() {
        let mut clock = CommandClock::default();
        clock.begin(Some("LOGIN"), true);
        clock.add(Instant::now(), false);
        assert_eq!(clock.drain(false).count(), 0);
        assert_eq!(clock.drain(true).count(), 1);
    }

    #[test]
    fn an_undrained_backlog_is_bounded() {
        let mut clock = CommandClock::default();
        for _ in 0..MAX_FINISHED + 10 {
            clock.begin(None, true);
            clock.add(Instant::now(), true);
        }
        assert_eq!(clock.drain(true).count(), MAX_FINISHED);
    }
}
