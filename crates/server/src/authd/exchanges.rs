//! The SCRAM exchanges the authentication process runs for the front
//! end: the front end relays the client's messages and sees only what
//! the client sees (RFC 5802's salt, iteration count, nonce and server
//! signature); the keys stay here. Each exchange is numbered, judged once
//! (`Verify` takes it out of the table, so a front end cannot replay a
//! login it saw), and dropped when it takes longer than
//! [`Exchanges::LIFETIME`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use courser_auth::scram::Exchange;

use crate::service::Service;

/// One exchange in progress.
#[derive(Debug)]
pub struct Open {
    /// The exchange itself.
    pub exchange: Exchange,
    /// The protocol, from its first message.
    pub service: Service,
    /// The client's address, from its first message.
    pub peer: IpAddr,
    /// `Some` once over: whether the client proved the password.
    pub verdict: Option<bool>,
    started: Instant,
}

impl Open {
    /// A new exchange started at `now`.
    pub fn new(exchange: Exchange, service: Service, peer: IpAddr, now: Instant) -> Open {
        Open {
            exchange,
            service,
            peer,
            verdict: None,
            started: now,
        }
    }
}

/// The exchanges in progress.
#[derive(Debug, Default)]
pub struct Exchanges {
    next: u64,
    open: HashMap<u64, Open>,
}

impl Exchanges {
    /// How long an exchange may take, from the client-first message to
    /// the verdict (longer than any login timeout).
    pub const LIFETIME: Duration = Duration::from_secs(10 * 60);
    /// Most exchanges at once; beyond it the oldest goes (only the front
    /// end's own clients suffer).
    pub const MAX: usize = 16 * 1024;

    /// Adds an exchange; returns its number.
    pub fn insert(&mut self, open: Open, now: Instant) -> u64 {
        let expired = |o: &Open| now.saturating_duration_since(o.started) >= Self::LIFETIME;
        crate::bounded::make_room(&mut self.open, Self::MAX, expired, |o| o.started);
        self.next = self.next.wrapping_add(1);
        self.open.insert(self.next, open);
        self.next
    }

    /// Takes exchange `number` out (put it back with [`Exchanges::put`]
    /// to go on); `None` when unknown or expired.
    pub fn take(&mut self, number: u64, now: Instant) -> Option<Open> {
        self.open
            .remove(&number)
            .filter(|o| now.saturating_duration_since(o.started) < Self::LIFETIME)
    }

    /// Puts back an exchange [`Exchanges::take`] took.
    pub fn put(&mut self, number: u64, open: Open) {
        self.open.insert(number, open);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use courser_auth::scram::{parse_client_first, ScramHash};

    fn open(now: Instant) -> Open {
        let first = parse_client_first(b"n,,n=ann,r=x").unwrap();
        let (exchange, _) = Exchange::start(ScramHash::Sha256, None, first, "y");
        Open::new(exchange, Service::Imap, "192.0.2.1".parse().unwrap(), now)
    }

    #[test]
    fn exchanges_are_taken_once_expire_and_stay_bounded() {
        let mut e = Exchanges::default();
        let t = Instant::now();
        let a = e.insert(open(t), t);
        let b = e.insert(open(t), t);
        assert_ne!(a, b);
        let taken = e.take(a, t).expect("open");
        assert!(e.take(a, t).is_none(), "taken once");
        e.put(a, taken);
        assert!(e.take(a, t).is_some());
        assert!(e.take(b, t + Exchanges::LIFETIME).is_none(), "expired");
        for _ in 0..Exchanges::MAX + 5 {
            e.insert(open(t), t);
        }
        assert!(e.open.len() <= Exchanges::MAX);
    }
}
