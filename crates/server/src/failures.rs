//! Failed logins counted by address and by login, and the delay they
//! earn. The front end sleeps that delay before it answers a failed login
//! ([`crate::login`]); the authentication process refuses to check
//! passwords for an address or a login inside a window of the same
//! length ([`crate::authd::limiter`]). Time is passed in, so the logic
//! is tested without sleeping.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::config::AuthConfig;

/// Failed logins by address and by login. Bounded: at most
/// [`FailureCounts::MAX_ENTRIES`] entries; an entry is forgotten
/// [`FailureCounts::FORGET_AFTER`] after its last failure, and when the
/// table is full the stalest entry goes. A leaking table also forgets
/// one failure for every interval of quiet, so that failures now and
/// then (a client with a stale password behind a busy NAT) never add up.
/// Never holds a password.
#[derive(Debug, Default)]
pub struct FailureCounts {
    entries: HashMap<FailureKey, Count>,
    leak: Option<Duration>,
}

/// One address's or one login's failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    /// Failures since the count last started afresh.
    pub failures: u32,
    /// When the last one happened.
    pub last: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum FailureKey {
    Address(IpAddr),
    Account(String),
}

impl FailureKey {
    /// The keys of `login` from `ip` (`None`: the address is not counted).
    fn of(ip: Option<IpAddr>, login: &str) -> impl Iterator<Item = FailureKey> {
        // Long names are cut: the count is a throttle, not an identity.
        let login: String = login.chars().take(128).collect();
        ip.map(FailureKey::Address)
            .into_iter()
            .chain(std::iter::once(FailureKey::Account(login)))
    }
}

impl FailureCounts {
    /// A table that forgets one failure per `every` of quiet.
    pub fn leaking(every: Duration) -> FailureCounts {
        FailureCounts {
            entries: HashMap::new(),
            leak: Some(every),
        }
    }

    /// Makes the table forget one failure per `every` of quiet.
    pub fn set_leak(&mut self, every: Duration) {
        self.leak = Some(every);
    }

    /// The failures of `c` that still count at `now`.
    fn current(&self, c: &Count, now: Instant) -> u32 {
        let quiet = now.saturating_duration_since(c.last);
        if quiet >= Self::FORGET_AFTER {
            return 0;
        }
        match self.leak.filter(|every| !every.is_zero()) {
            Some(every) => {
                let leaked = quiet.as_nanos() / every.as_nanos();
                c.failures
                    .saturating_sub(u32::try_from(leaked).unwrap_or(u32::MAX))
            }
            None => c.failures,
        }
    }

    /// Most entries kept.
    pub const MAX_ENTRIES: usize = 50_000;
    /// Quiet time after which an address or login starts afresh.
    pub const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);

    /// Counts one failure at `now` and returns the larger of the
    /// address's and the login's failure counts (at least 1). `ip` is
    /// the address's key in the limits ([`crate::limits::address_key`]:
    /// a /64 counts as one address), `None` when the address is not
    /// counted.
    pub fn record(&mut self, ip: Option<IpAddr>, login: &str, now: Instant) -> u32 {
        let mut worst = 0;
        for key in FailureKey::of(ip, login) {
            if !self.entries.contains_key(&key) {
                let forgotten =
                    |c: &Count| now.saturating_duration_since(c.last) >= Self::FORGET_AFTER;
                crate::bounded::make_room(&mut self.entries, Self::MAX_ENTRIES, forgotten, |c| {
                    c.last
                });
            }
            let held = self.entries.get(&key).map_or(0, |c| self.current(c, now));
            let failures = held.saturating_add(1);
            self.entries.insert(
                key,
                Count {
                    failures,
                    last: now,
                },
            );
            worst = worst.max(failures);
        }
        worst
    }

    /// The address's and the login's counts that still hold at `now`.
    pub fn counts(
        &self,
        ip: Option<IpAddr>,
        login: &str,
        now: Instant,
    ) -> (Option<Count>, Option<Count>) {
        let get = |key: FailureKey| {
            let c = self.entries.get(&key)?;
            let failures = self.current(c, now);
            (failures > 0).then_some(Count {
                failures,
                last: c.last,
            })
        };
        let mut keys = FailureKey::of(None, login);
        let address = ip.and_then(|ip| get(FailureKey::Address(ip)));
        (address, keys.next().and_then(get))
    }

    /// Takes back one failure [`FailureCounts::record`] counted for the
    /// address and the login (a check counted before its outcome was
    /// known, which turned out right or could not be made).
    pub fn take_back(&mut self, ip: Option<IpAddr>, login: &str) {
        for key in FailureKey::of(ip, login) {
            if let Some(c) = self.entries.get_mut(&key) {
                c.failures = c.failures.saturating_sub(1);
            }
        }
    }

    /// A successful login clears the login's count (not the address's:
    /// one good account must not hide guessing at others).
    pub fn forget_account(&mut self, login: &str) {
        for key in FailureKey::of(None, login) {
            self.entries.remove(&key);
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// `failure_delay_secs` doubled for every earlier failure, at most
/// `failure_delay_max_secs`.
pub fn failure_delay(config: &AuthConfig, failures: u32) -> Duration {
    let base = config.failure_delay_secs;
    let max = config.failure_delay_max_secs.max(base);
    let factor = 1u64 << failures.saturating_sub(1).min(16);
    Duration::from_secs(base.saturating_mul(factor).min(max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_grow_expire_and_stay_bounded() {
        let mut c = FailureCounts::default();
        let t = Instant::now();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(c.record(Some(ip), "ann", t), 1);
        assert_eq!(c.record(Some(ip), "bob", t), 2, "same address");
        assert_eq!(c.record(Some(other), "ann", t), 2, "same account");
        c.forget_account("ann");
        assert_eq!(
            c.record(Some(other), "cat", t),
            2,
            "the address still counts"
        );
        assert_eq!(c.record(None, "cat", t), 2, "an uncounted address");
        let (address, login) = c.counts(Some(other), "cat", t);
        assert_eq!((address.unwrap().failures, login.unwrap().failures), (2, 2));
        c.take_back(Some(other), "cat");
        let (address, login) = c.counts(Some(other), "cat", t);
        assert_eq!((address.unwrap().failures, login.unwrap().failures), (1, 1));
        let later = t + FailureCounts::FORGET_AFTER;
        assert_eq!(
            c.counts(Some(other), "cat", later),
            (None, None),
            "forgotten"
        );
        assert_eq!(c.record(Some(other), "cat", later), 1, "afresh");
        let config = AuthConfig {
            failure_delay_secs: 3,
            failure_delay_max_secs: 30,
            ..Default::default()
        };
        let secs: Vec<u64> = (1..=6)
            .map(|n| failure_delay(&config, n).as_secs())
            .collect();
        assert_eq!(secs, [3, 6, 12, 24, 30, 30]);
        assert_eq!(failure_delay(&config, u32::MAX).as_secs(), 30);
        // A leaking table forgets one failure per interval of quiet.
        let mut leaky = FailureCounts::leaking(Duration::from_secs(30));
        for _ in 0..4 {
            leaky.record(Some(ip), "ann", t);
        }
        let at = |secs| t + Duration::from_secs(secs);
        assert_eq!(leaky.counts(None, "ann", at(29)).1.unwrap().failures, 4);
        assert_eq!(leaky.counts(None, "ann", at(61)).1.unwrap().failures, 2);
        assert_eq!(leaky.record(None, "ann", at(61)), 3, "from what is left");
        assert_eq!(leaky.counts(None, "ann", at(61 + 90)).1, None);
        for i in 0..(FailureCounts::MAX_ENTRIES + 10) {
            c.record(Some(ip), &format!("user{i}"), t);
        }
        assert!(c.len() <= FailureCounts::MAX_ENTRIES);
    }
}
