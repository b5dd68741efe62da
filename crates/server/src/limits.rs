//! Connection limits: total, per client address, per account and per
//! account and address (Courier's MAXDAEMONS and MAXPERIP, plus what
//! Courier lacks), and the rate of new connections per address.
//! Addresses in trusted networks are exempt from the per-address checks.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::LimitsConfig;

/// The maxima in force (replaced on reload).
#[derive(Debug, Default)]
struct Maxima {
    total: AtomicUsize,
    per_ip: AtomicUsize,
    per_user: AtomicUsize,
    per_user_ip: AtomicUsize,
    per_ip_per_minute: AtomicUsize,
}

/// Counts live connections and sessions.
#[derive(Debug)]
pub struct ConnectionLimits {
    max: Maxima,
    state: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
    per_user: HashMap<String, usize>,
    per_user_ip: HashMap<(String, IpAddr), usize>,
    /// Start of the current one-minute window and connections in it.
    recent: HashMap<IpAddr, (Instant, usize)>,
}

/// The rate window.
const WINDOW: Duration = Duration::from_secs(60);

/// Why a connection or login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The server is at `max_connections`.
    ServerFull,
    /// This address is at `max_connections_per_ip`.
    TooManyFromAddress,
    /// This address opened too many connections in the last minute.
    TooFast,
    /// The account is at `max_connections_per_user`.
    TooManyForUser,
    /// The account is at `max_connections_per_user_ip` from this address.
    TooManyForUserFromAddress,
}

impl Refusal {
    /// The text sent to the client.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::ServerFull => "Too many connections to this server, try again later",
            Refusal::TooManyFromAddress => "Too many connections from your address",
            Refusal::TooFast => "Too many new connections from your address, slow down",
            Refusal::TooManyForUser => "Too many sessions for this account",
            Refusal::TooManyForUserFromAddress => {
                "Too many sessions for this account from your address"
            }
        }
    }
}

/// A connection's place in the counts, released on drop.
#[derive(Debug)]
pub struct Slot {
    limits: Arc<ConnectionLimits>,
    ip: IpAddr,
    per_ip: bool,
}

/// A logged-in session's place in the per-account counts.
#[derive(Debug)]
pub struct UserSlot {
    limits: Arc<ConnectionLimits>,
    user: String,
    ip: IpAddr,
}

fn decrement<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: &K) {
    if let Some(n) = map.get_mut(key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(key);
        }
    }
}

impl ConnectionLimits {
    /// Counters with the configured maxima.
    pub fn new(config: &LimitsConfig) -> Arc<Self> {
        let limits = Arc::new(ConnectionLimits {
            max: Maxima::default(),
            state: Mutex::new(Counts::default()),
        });
        limits.set_maxima(config);
        limits
    }

    /// New maxima (after a reload); live connections are not cut.
    pub fn set_maxima(&self, config: &LimitsConfig) {
        let m = &self.max;
        m.total.store(config.max_connections, Ordering::Relaxed);
        m.per_ip
            .store(config.max_connections_per_ip, Ordering::Relaxed);
        m.per_user
            .store(config.max_connections_per_user, Ordering::Relaxed);
        m.per_user_ip
            .store(config.max_connections_per_user_ip, Ordering::Relaxed);
        m.per_ip_per_minute
            .store(config.new_connections_per_ip_per_minute, Ordering::Relaxed);
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a slot for a new connection from `ip`, or says why not.
    /// `trusted` addresses skip the per-address limit and rate.
    pub fn acquire(self: &Arc<Self>, ip: IpAddr, trusted: bool) -> Result<Slot, Refusal> {
        let mut s = self.counts();
        if s.total >= self.max.total.load(Ordering::Relaxed) {
            return Err(Refusal::ServerFull);
        }
        if !trusted {
            if s.per_ip.get(&ip).copied().unwrap_or(0) >= self.max.per_ip.load(Ordering::Relaxed) {
                return Err(Refusal::TooManyFromAddress);
            }
            let rate = self.max.per_ip_per_minute.load(Ordering::Relaxed);
            if rate > 0 {
                let now = Instant::now();
                if s.recent.len() > 10_000 {
                    s.recent
                        .retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
                }
                let entry = s.recent.entry(ip).or_insert((now, 0));
                if now.duration_since(entry.0) >= WINDOW {
                    *entry = (now, 0);
                }
                if entry.1 >= rate {
                    return Err(Refusal::TooFast);
                }
                entry.1 += 1;
            }
            *s.per_ip.entry(ip).or_insert(0) += 1;
        }
        s.total += 1;
        Ok(Slot {
            limits: Arc::clone(self),
            ip,
            per_ip: !trusted,
        })
    }

    /// Counts a logged-in session of `user` from `ip`, or says why not.
    pub fn acquire_user(
        self: &Arc<Self>,
        user: &str,
        ip: IpAddr,
        trusted: bool,
    ) -> Result<UserSlot, Refusal> {
        let mut s = self.counts();
        if s.per_user.get(user).copied().unwrap_or(0) >= self.max.per_user.load(Ordering::Relaxed) {
            return Err(Refusal::TooManyForUser);
        }
        let key = (user.to_owned(), ip);
        if !trusted
            && s.per_user_ip.get(&key).copied().unwrap_or(0)
                >= self.max.per_user_ip.load(Ordering::Relaxed)
        {
            return Err(Refusal::TooManyForUserFromAddress);
        }
        *s.per_user.entry(user.to_owned()).or_insert(0) += 1;
        *s.per_user_ip.entry(key).or_insert(0) += 1;
        Ok(UserSlot {
            limits: Arc::clone(self),
            user: user.to_owned(),
            ip,
        })
    }

    /// Live connections in total.
    pub fn total(&self) -> usize {
        self.counts().total
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut s = self.limits.counts();
        s.total = s.total.saturating_sub(1);
        if self.per_ip {
            decrement(&mut s.per_ip, &self.ip);
        }
    }
}

impl Drop for UserSlot {
    fn drop(&mut self) {
        let mut s = self.limits.counts();
        decrement(&mut s.per_user, &self.user);
        let key = (std::mem::take(&mut self.user), self.ip);
        decrement(&mut s.per_user_ip, &key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(total: usize, per_ip: usize) -> LimitsConfig {
        LimitsConfig {
            max_connections: total,
            max_connections_per_ip: per_ip,
            max_connections_per_user: 2,
            max_connections_per_user_ip: 1,
            new_connections_per_ip_per_minute: 4,
            ..LimitsConfig::default()
        }
    }

    #[test]
    fn per_ip_and_total_limits_refuse_and_release() {
        let limits = ConnectionLimits::new(&config(3, 2));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "::1".parse().unwrap();
        let s1 = limits.acquire(a, false).unwrap();
        let _s2 = limits.acquire(a, false).unwrap();
        assert_eq!(
            limits.acquire(a, false).unwrap_err(),
            Refusal::TooManyFromAddress
        );
        let _s3 = limits.acquire(b, false).unwrap();
        assert_eq!(limits.acquire(b, false).unwrap_err(), Refusal::ServerFull);
        drop(s1);
        let _s4 = limits.acquire(a, false).unwrap();
        assert_eq!(limits.total(), 3);
    }

    #[test]
    fn rate_per_address_and_trusted_exemption() {
        let limits = ConnectionLimits::new(&config(100, 100));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..4 {
            drop(limits.acquire(a, false).unwrap());
        }
        assert_eq!(limits.acquire(a, false).unwrap_err(), Refusal::TooFast);
        assert!(
            limits.acquire(a, true).is_ok(),
            "trusted networks are exempt"
        );
    }

    #[test]
    fn per_user_limits() {
        let limits = ConnectionLimits::new(&config(100, 100));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let u1 = limits.acquire_user("alice", a, false).unwrap();
        assert_eq!(
            limits.acquire_user("alice", a, false).unwrap_err(),
            Refusal::TooManyForUserFromAddress
        );
        let _u2 = limits.acquire_user("alice", b, false).unwrap();
        assert_eq!(
            limits
                .acquire_user("alice", "192.0.2.3".parse().unwrap(), false)
                .unwrap_err(),
            Refusal::TooManyForUser
        );
        assert!(limits.acquire_user("bob", a, false).is_ok());
        drop(u1);
        assert!(limits.acquire_user("alice", a, false).is_ok());
    }
}
