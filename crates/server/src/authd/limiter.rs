//! The authentication process's own brake on password guessing, so that a
//! front end taken over by a client guesses no faster than an honest one
//! lets anyone guess (DESIGN.md "Process model").
//!
//! * Per address (as the front end reports it, keyed like every
//!   per-address limit: IPv4-mapped as IPv4, IPv6 by `[limits]
//!   ipv6_prefix`; trusted networks are not counted) and per login: after
//!   `[auth] refuse_after_failures` failures, a password is not even
//!   checked until a window has passed since the last failure. The window
//!   grows like the front end's failure delay (`failure_delay_secs`
//!   doubling up to `failure_delay_max_secs`), counted from the first
//!   failure past the free ones — so one honest connection, which sleeps
//!   the delay for its full count before the client can try again, never
//!   meets it; a front end that does not sleep does. One failure stops
//!   counting for every `failure_delay_max_secs` of quiet, so failures
//!   now and then from a busy shared address never add up to a window.
//! * For the whole front end: at most `[auth] max_failures_per_sec`
//!   failed checks per second (a token bucket holding one second's
//!   worth); while it is in debt every check is refused.
//!
//! A check counts as a failure from the moment it is let through until
//! its outcome is known, so a burst of guesses sent at once gets no
//! further than one sent in turn. When only such checks in progress
//! fill the free failures, the next one is told [`Refusal::Busy`]: the
//! caller waits for them to settle and asks again, so that a user whose
//! client opens many connections at once (correct passwords all) is not
//! refused, while a burst of wrong guesses still meets the window once
//! they have settled. A refusal happens before any lookup, on counts
//! that unknown logins earn like known ones, so it tells nothing about an
//! account.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::config::{AuthConfig, Config};
use crate::failures::{failure_delay, FailureCounts};

/// What the limiter is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `[auth]`: failure delays and the two limits.
    auth: AuthConfig,
    /// `[limits] ipv6_prefix`.
    ipv6_prefix: u8,
    /// `[limits] trusted_networks`: not counted per address.
    trusted: Vec<ipnet::IpNet>,
}

impl Settings {
    /// The settings `config` asks for.
    pub fn new(config: &Config) -> Result<Settings, String> {
        Ok(Settings {
            auth: config.auth.clone(),
            ipv6_prefix: config.limits.ipv6_prefix,
            trusted: config.trusted_networks()?,
        })
    }

    /// Quiet time after which one failure no longer counts: the longest
    /// failure delay, so that failing no more often than that (a stale
    /// password somewhere behind a shared address) never opens a window.
    fn leak(&self) -> Duration {
        let a = &self.auth;
        Duration::from_secs(a.failure_delay_max_secs.max(a.failure_delay_secs))
    }
}

/// Why a check was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The address or the login failed too often lately.
    #[error("too many failed logins from this {0}; the next check in {1:?}")]
    Window(&'static str, Duration),
    /// The front end as a whole fails too many logins per second.
    #[error("more than {0} failed logins per second from the front end")]
    Rate(u32),
    /// Checks in progress for the address or the login fill its free
    /// failures: worth asking again once one of them has settled.
    #[error("the checks in progress for this {0} fill its free failures")]
    Busy(&'static str),
}

/// Checks let through and not settled yet, per address key and login.
#[derive(Debug, Default)]
struct InFlight {
    addresses: HashMap<IpAddr, u32>,
    logins: HashMap<String, u32>,
}

impl InFlight {
    /// A login as [`FailureCounts`] keys it (long ones cut).
    fn login_key(login: &str) -> String {
        login.chars().take(128).collect()
    }

    fn of(&self, what: &str, key: Option<IpAddr>, login: &str) -> u32 {
        match (what, key) {
            ("address", Some(ip)) => self.addresses.get(&ip).copied().unwrap_or(0),
            ("login", _) => self
                .logins
                .get(&Self::login_key(login))
                .copied()
                .unwrap_or(0),
            _ => 0,
        }
    }

    fn add(&mut self, key: Option<IpAddr>, login: &str) {
        if let Some(ip) = key {
            *self.addresses.entry(ip).or_default() += 1;
        }
        *self.logins.entry(Self::login_key(login)).or_default() += 1;
    }

    fn remove(&mut self, key: Option<IpAddr>, login: &str) {
        fn down<K: std::hash::Hash + Eq>(map: &mut HashMap<K, u32>, k: K) {
            if let std::collections::hash_map::Entry::Occupied(mut e) = map.entry(k) {
                *e.get_mut() -= 1;
                if *e.get() == 0 {
                    e.remove();
                }
            }
        }
        if let Some(ip) = key {
            down(&mut self.addresses, ip);
        }
        down(&mut self.logins, Self::login_key(login));
    }
}

/// Failure counts and the front end's failure budget.
#[derive(Debug)]
pub struct Limiter {
    settings: Settings,
    counts: FailureCounts,
    in_flight: InFlight,
    /// Failed checks the front end may still have this second; negative
    /// when parallel checks overdrew it.
    tokens: f64,
    refilled: Instant,
}

impl Limiter {
    /// A limiter with nothing counted yet.
    pub fn new(settings: Settings, now: Instant) -> Limiter {
        let tokens = f64::from(settings.auth.max_failures_per_sec);
        Limiter {
            counts: FailureCounts::leaking(settings.leak()),
            in_flight: InFlight::default(),
            settings,
            tokens,
            refilled: now,
        }
    }

    /// New settings (a reload); the counts stay.
    pub fn configure(&mut self, settings: Settings) {
        self.counts.set_leak(settings.leak());
        self.settings = settings;
    }

    /// The key `ip` is counted under; `None` for trusted networks.
    fn key(&self, ip: IpAddr) -> Option<IpAddr> {
        let s = &self.settings;
        (!crate::access::in_any(&s.trusted, ip))
            .then(|| crate::limits::address_key(ip, s.ipv6_prefix))
    }

    fn refill(&mut self, now: Instant) {
        let rate = f64::from(self.settings.auth.max_failures_per_sec);
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(rate);
        self.refilled = now;
    }

    /// May a password for `login` from `ip` be checked at `now`? If so,
    /// the check counts as a failure until [`Limiter::settle`] says
    /// otherwise: checks running in parallel see each other, so a burst
    /// sent at once gets no more through than one sent in turn.
    pub fn admit(&mut self, ip: IpAddr, login: &str, now: Instant) -> Result<(), Refusal> {
        let rate = self.settings.auth.max_failures_per_sec;
        if rate > 0 {
            self.refill(now);
            if self.tokens < 1.0 {
                return Err(Refusal::Rate(rate));
            }
        }
        let key = self.key(ip);
        let free = self.settings.auth.refuse_after_failures;
        if free > 0 {
            let (address, account) = self.counts.counts(key, login, now);
            for (what, count) in [("address", address), ("login", account)] {
                let Some(count) = count.filter(|c| c.failures >= free) else {
                    continue;
                };
                let window = failure_delay(&self.settings.auth, count.failures - free + 1);
                let open = count.last + window;
                if now < open {
                    let settled = count
                        .failures
                        .saturating_sub(self.in_flight.of(what, key, login));
                    if settled < free {
                        return Err(Refusal::Busy(what));
                    }
                    return Err(Refusal::Window(what, open - now));
                }
            }
        }
        self.counts.record(key, login, now);
        self.in_flight.add(key, login);
        if rate > 0 {
            self.tokens = (self.tokens - 1.0).max(-f64::from(rate));
        }
        Ok(())
    }

    /// The outcome of a check [`Limiter::admit`] let through: a wrong
    /// password (or unknown login) stays counted; a right one clears the
    /// login's count and takes back the address's failure; a check that
    /// could not be made (a backend down) is taken back whole.
    pub fn settle(&mut self, ip: IpAddr, login: &str, outcome: Outcome) {
        let key = self.key(ip);
        self.in_flight.remove(key, login);
        if outcome == Outcome::Wrong {
            return;
        }
        self.counts.take_back(key, login);
        if outcome == Outcome::Right {
            self.counts.forget_account(login);
        }
        let rate = f64::from(self.settings.auth.max_failures_per_sec);
        self.tokens = (self.tokens + 1.0).min(rate);
    }
}

/// How a check ended, for [`Limiter::settle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The password was right.
    Right,
    /// Wrong password or unknown login.
    Wrong,
    /// Not checked: a backend could not answer.
    Unchecked,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(refuse_after: u32, per_sec: u32) -> (Limiter, Instant) {
        let text = format!(
            "[[listener]]\nprotocol = \"imap\"\naddress = \"127.0.0.1:1143\"\n\
             [auth]\nfailure_delay_secs = 3\nfailure_delay_max_secs = 30\n\
             refuse_after_failures = {refuse_after}\nmax_failures_per_sec = {per_sec}\n\
             [limits]\ntrusted_networks = [\"10.0.0.0/8\"]\n"
        );
        let config: Config = toml::from_str(&text).unwrap();
        let now = Instant::now();
        (Limiter::new(Settings::new(&config).unwrap(), now), now)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    impl Limiter {
        /// A check that was let through and wrong.
        fn failed(&mut self, ip: IpAddr, login: &str, now: Instant) {
            if self.admit(ip, login, now).is_ok() {
                self.settle(ip, login, Outcome::Wrong);
            }
        }
    }

    #[test]
    fn windows_open_after_the_free_failures_and_grow() {
        let (mut l, t) = limiter(3, 0);
        let a = ip("192.0.2.1");
        for n in 0..3 {
            l.failed(a, &format!("u{n}"), t);
        }
        // Three failures from the address: 3 s, then 6 s, 12 s… to 30 s.
        let s = Duration::from_secs;
        assert_eq!(
            l.admit(a, "new", t + s(1)),
            Err(Refusal::Window("address", s(2)))
        );
        assert_eq!(l.admit(a, "new", t + s(3)), Ok(()));
        l.settle(a, "new", Outcome::Wrong);
        assert!(l.admit(a, "x", t + s(8)).is_err());
        let mut at = t + s(9);
        assert_eq!(l.admit(a, "x", at), Ok(()));
        for window in [12, 24, 30, 30] {
            at += s(window);
            assert!(l.admit(a, "y", at - s(1)).is_err(), "{window} s");
            assert_eq!(l.admit(a, "y", at), Ok(()), "{window} s");
        }
        // Failures now and then, slower than one per longest delay, never
        // add up to a window (a stale password behind a shared address).
        let (mut l, t) = limiter(3, 0);
        for n in 0..20 {
            assert_eq!(l.admit(a, "stale", t + s(31 * n)), Ok(()));
            l.settle(a, "stale", Outcome::Wrong);
        }
        // The same /64 is the same address; another address is free.
        let v6 = ip("2001:db8::1");
        for _ in 0..3 {
            l.failed(v6, "z", at);
        }
        assert!(l.admit(ip("2001:db8::ffff"), "q", at).is_err());
        assert_eq!(l.admit(ip("2001:db8:1::1"), "q", at), Ok(()));
        // Forgotten after a quiet quarter of an hour.
        let quiet = at + FailureCounts::FORGET_AFTER;
        assert_eq!(l.admit(ip("2001:db8::ffff"), "q", quiet), Ok(()));
    }

    #[test]
    fn checks_in_flight_count_so_a_burst_gets_no_further() {
        let (mut l, t) = limiter(5, 0);
        let a = ip("192.0.2.1");
        let admitted = (0..20).filter(|_| l.admit(a, "ann", t).is_ok()).count();
        assert_eq!(admitted, 5);
        // The rest are told to wait for those: right passwords settle and
        // let them through…
        assert_eq!(l.admit(a, "ann", t), Err(Refusal::Busy("address")));
        l.settle(a, "ann", Outcome::Right);
        assert_eq!(l.admit(a, "ann", t), Ok(()));
        // …wrong ones leave the window, which no longer says wait.
        for _ in 0..5 {
            l.settle(a, "ann", Outcome::Wrong);
        }
        assert!(matches!(l.admit(a, "ann", t), Err(Refusal::Window(..))));
        // Right passwords and unchecked ones are taken back.
        let (mut l, t) = limiter(2, 0);
        for outcome in [Outcome::Right, Outcome::Unchecked, Outcome::Right] {
            assert_eq!(l.admit(a, "ann", t), Ok(()));
            l.settle(a, "ann", outcome);
        }
        l.failed(a, "ann", t);
        assert_eq!(l.admit(a, "ann", t), Ok(()), "one failure so far");
    }

    #[test]
    fn logins_count_from_every_address_even_trusted_ones() {
        let (mut l, t) = limiter(2, 0);
        l.failed(ip("192.0.2.1"), "ann", t);
        l.failed(ip("10.1.1.1"), "ann", t);
        assert_eq!(
            l.admit(ip("198.51.100.7"), "ann", t),
            Err(Refusal::Window("login", Duration::from_secs(3)))
        );
        // A trusted address (webmail) is never refused for its own
        // failures, only for the login's.
        let webmail = ip("10.0.0.5");
        for n in 0..10 {
            l.failed(webmail, &format!("user{n}"), t);
        }
        assert_eq!(l.admit(webmail, "bob", t), Ok(()));
        // A login clears the login's count, not the address's.
        let later = t + Duration::from_secs(3);
        assert_eq!(l.admit(ip("198.51.100.7"), "ann", later), Ok(()));
        l.settle(ip("198.51.100.7"), "ann", Outcome::Right);
        assert_eq!(l.admit(ip("198.51.100.8"), "ann", later), Ok(()));
        l.failed(ip("192.0.2.1"), "cat", later);
        assert!(l.admit(ip("192.0.2.1"), "dan", later).is_err());
    }

    #[test]
    fn the_front_end_fails_at_most_so_many_logins_a_second() {
        let (mut l, t) = limiter(0, 10);
        for n in 0..10 {
            l.failed(ip(&format!("192.0.2.{n}")), &format!("u{n}"), t);
        }
        let fresh = ip("198.51.100.1");
        assert_eq!(l.admit(fresh, "ann", t), Err(Refusal::Rate(10)));
        let ms = Duration::from_millis;
        assert_eq!(l.admit(fresh, "ann", t + ms(50)), Err(Refusal::Rate(10)));
        assert_eq!(l.admit(fresh, "ann", t + ms(150)), Ok(()));
        // The check in flight holds its token…
        assert_eq!(l.admit(fresh, "bob", t + ms(150)), Err(Refusal::Rate(10)));
        // …which a right password gives back: successes cost nothing.
        l.settle(fresh, "ann", Outcome::Right);
        assert_eq!(l.admit(fresh, "bob", t + ms(150)), Ok(()));
        // 0 turns both limits off.
        let (mut off, t) = limiter(0, 0);
        for _ in 0..1000 {
            off.failed(fresh, "ann", t);
        }
        assert_eq!(off.admit(fresh, "ann", t), Ok(()));
    }
}
