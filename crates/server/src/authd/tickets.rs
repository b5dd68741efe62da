//! One-time tickets: after a successful login in the per-user model the
//! authentication process gives the front end a ticket, and the spawner
//! redeems it for the account's ids. A ticket is 32 random octets (in
//! hex), works once, and only for [`Tickets::LIFETIME`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::wire::WorkerAccount;

/// Why a ticket was not redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    /// Never issued, already redeemed, or expired (indistinguishable on
    /// purpose: each is what a forged request looks like).
    #[error("unknown, used or expired ticket")]
    Unknown,
    /// Too many tickets outstanding (the spawner does not redeem them).
    #[error("too many outstanding tickets")]
    Full,
    /// No system randomness.
    #[error("no randomness for a ticket")]
    Random,
}

/// The outstanding tickets.
#[derive(Debug, Default)]
pub struct Tickets {
    issued: HashMap<String, (Instant, WorkerAccount)>,
}

impl Tickets {
    /// How long a ticket may wait for the spawner: a worker is started
    /// right after the login, so a few seconds are plenty even under load.
    pub const LIFETIME: Duration = Duration::from_secs(10);
    /// Most tickets outstanding at once.
    pub const MAX: usize = 4096;

    /// Issues a ticket for `account`.
    pub fn issue(&mut self, account: WorkerAccount, now: Instant) -> Result<String, TicketError> {
        if self.issued.len() >= Self::MAX {
            self.issued
                .retain(|_, (at, _)| now.duration_since(*at) < Self::LIFETIME);
            if self.issued.len() >= Self::MAX {
                return Err(TicketError::Full);
            }
        }
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).map_err(|_| TicketError::Random)?;
        let ticket: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        self.issued.insert(ticket.clone(), (now, account));
        Ok(ticket)
    }

    /// Takes the account a ticket stands for; the ticket is gone after.
    pub fn redeem(&mut self, ticket: &str, now: Instant) -> Result<WorkerAccount, TicketError> {
        match self.issued.remove(ticket) {
            Some((at, account)) if now.duration_since(at) < Self::LIFETIME => Ok(account),
            _ => Err(TicketError::Unknown),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann() -> WorkerAccount {
        WorkerAccount {
            uid: 1000,
            gid: 1000,
            login: "ann".into(),
            home: "/home/ann".into(),
            maildir: "/home/ann/Maildir".into(),
            options: String::new(),
        }
    }

    #[test]
    fn a_ticket_works_once_and_only_while_fresh() {
        let mut t = Tickets::default();
        let now = Instant::now();
        let a = t.issue(ann(), now).unwrap();
        let b = t.issue(ann(), now).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(t.redeem(&a, now), Ok(ann()));
        assert_eq!(t.redeem(&a, now), Err(TicketError::Unknown), "reused");
        assert_eq!(t.redeem("00", now), Err(TicketError::Unknown), "forged");
        assert_eq!(
            t.redeem(&b, now + Tickets::LIFETIME),
            Err(TicketError::Unknown),
            "expired"
        );
    }

    #[test]
    fn outstanding_tickets_are_bounded() {
        let mut t = Tickets::default();
        let now = Instant::now();
        for _ in 0..Tickets::MAX {
            t.issue(ann(), now).unwrap();
        }
        assert_eq!(t.issue(ann(), now), Err(TicketError::Full));
        // Expired ones make room.
        assert!(t.issue(ann(), now + Tickets::LIFETIME).is_ok());
    }
}
