//! Connection limits: total, per client address, per account and per
//! account and address (Courier's MAXDAEMONS and MAXPERIP, plus what
//! Courier lacks), and the rate of new connections per address.
//! Addresses in trusted networks are exempt from the per-address checks.
//!
//! An "address" here is an [`address_key`]: IPv4-mapped IPv6 addresses
//! count as the IPv4 address they carry, and IPv6 addresses count by
//! their network prefix (`[limits] ipv6_prefix`, default /64: one
//! subscriber's LAN, which an attacker gets whole from any provider).
//!
//! When the server or an address is full, the oldest connection that has
//! not logged in yet gives way to the new one (it is told so and closed):
//! otherwise a few slow clients that never log in keep everyone out.
//! Logged-in sessions never give way.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
    ipv6_prefix: AtomicUsize,
}

/// The key `ip` is counted under: the IPv4 address of an IPv4-mapped
/// IPv6 address, the first `ipv6_prefix` bits of another IPv6 address,
/// an IPv4 address itself.
pub fn address_key(ip: IpAddr, ipv6_prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u32::from(ipv6_prefix.min(128));
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        },
    }
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
    /// Connections not logged in yet, by sequence number: oldest first.
    waiting: BTreeMap<u64, Waiting>,
    next_seq: u64,
}

/// A connection that may give way.
#[derive(Debug)]
struct Waiting {
    ip: IpAddr,
    per_ip: bool,
    eviction: Arc<Eviction>,
}

/// Tells a connection it gave way to a newer one.
#[derive(Debug, Default)]
struct Eviction {
    done: AtomicBool,
    notify: tokio::sync::Notify,
}

impl Counts {
    /// The oldest waiting connection that `pick` accepts.
    fn oldest(&self, pick: impl Fn(u64, &Waiting) -> bool) -> Option<u64> {
        self.waiting
            .iter()
            .find(|(seq, w)| pick(**seq, w))
            .map(|(seq, _)| *seq)
    }

    /// Frees the slot of waiting connection `seq` and tells it to go.
    fn evict(&mut self, seq: u64) {
        if let Some(w) = self.waiting.remove(&seq) {
            self.release(w.ip, w.per_ip);
            w.eviction.done.store(true, Ordering::SeqCst);
            w.eviction.notify.notify_one();
        }
    }

    fn release(&mut self, ip: IpAddr, per_ip: bool) {
        self.total = self.total.saturating_sub(1);
        if per_ip {
            decrement(&mut self.per_ip, &ip);
        }
    }
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

/// A connection's place in the counts, released on drop (or when the
/// connection gives way before logging in: [`Slot::evicted`]).
#[derive(Debug)]
pub struct Slot {
    limits: Arc<ConnectionLimits>,
    ip: IpAddr,
    per_ip: bool,
    seq: u64,
    eviction: Arc<Eviction>,
}

impl Slot {
    /// The connection logged in: from now on it never gives way. False
    /// when it already gave way (the login must not go on).
    pub fn logged_in(&self) -> bool {
        self.limits.counts().waiting.remove(&self.seq);
        !self.eviction.done.load(Ordering::SeqCst)
    }

    /// Resolves once the connection has given way to a newer one; its
    /// place is no longer counted, and it should say goodbye and close.
    pub fn evicted(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let eviction = Arc::clone(&self.eviction);
        async move {
            while !eviction.done.load(Ordering::SeqCst) {
                eviction.notify.notified().await;
            }
        }
    }
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
        m.ipv6_prefix
            .store(usize::from(config.ipv6_prefix), Ordering::Relaxed);
    }

    /// The key `ip` is counted under now ([`address_key`]).
    pub fn key(&self, ip: IpAddr) -> IpAddr {
        let prefix = self.max.ipv6_prefix.load(Ordering::Relaxed);
        address_key(ip, u8::try_from(prefix).unwrap_or(128))
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a slot for a new connection from `ip`, or says why not.
    /// `trusted` addresses skip the per-address limit and rate;
    /// `max_per_ip` replaces the per-address limit for this address (an
    /// access file's `MAXCPERIP`). When the address or the server is full,
    /// the oldest connection of the address (or of all) that has not
    /// logged in gives way.
    pub fn acquire(
        self: &Arc<Self>,
        ip: IpAddr,
        trusted: bool,
        max_per_ip: Option<usize>,
    ) -> Result<Slot, Refusal> {
        let ip = self.key(ip);
        let mut s = self.counts();
        let mut victims = Vec::new();
        let per_ip_max = max_per_ip.unwrap_or_else(|| self.max.per_ip.load(Ordering::Relaxed));
        if !trusted && s.per_ip.get(&ip).copied().unwrap_or(0) >= per_ip_max {
            let same = s.oldest(|_, w| w.per_ip && w.ip == ip);
            victims.push(same.ok_or(Refusal::TooManyFromAddress)?);
        }
        if s.total - victims.len() >= self.max.total.load(Ordering::Relaxed) {
            let any = s.oldest(|seq, _| !victims.contains(&seq));
            victims.push(any.ok_or(Refusal::ServerFull)?);
        }
        if !trusted {
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
        }
        for seq in victims {
            s.evict(seq);
        }
        if !trusted {
            *s.per_ip.entry(ip).or_insert(0) += 1;
        }
        s.total += 1;
        let seq = s.next_seq;
        s.next_seq += 1;
        let eviction = Arc::new(Eviction::default());
        s.waiting.insert(
            seq,
            Waiting {
                ip,
                per_ip: !trusted,
                eviction: Arc::clone(&eviction),
            },
        );
        Ok(Slot {
            limits: Arc::clone(self),
            ip,
            per_ip: !trusted,
            seq,
            eviction,
        })
    }

    /// Counts a logged-in session of `user` from `ip`, or says why not.
    pub fn acquire_user(
        self: &Arc<Self>,
        user: &str,
        ip: IpAddr,
        trusted: bool,
    ) -> Result<UserSlot, Refusal> {
        let ip = self.key(ip);
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
        s.waiting.remove(&self.seq);
        // A connection that gave way was released then.
        if !self.eviction.done.load(Ordering::SeqCst) {
            s.release(self.ip, self.per_ip);
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

    /// Acquires and logs in at once (a slot that never gives way).
    fn logged_in(limits: &Arc<ConnectionLimits>, ip: IpAddr) -> Result<Slot, Refusal> {
        let slot = limits.acquire(ip, false, None)?;
        assert!(slot.logged_in());
        Ok(slot)
    }

    #[test]
    fn per_ip_and_total_limits_refuse_and_release() {
        let limits = ConnectionLimits::new(&config(3, 2));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "::1".parse().unwrap();
        let s1 = logged_in(&limits, a).unwrap();
        let _s2 = logged_in(&limits, a).unwrap();
        assert_eq!(
            limits.acquire(a, false, None).unwrap_err(),
            Refusal::TooManyFromAddress
        );
        let _s3 = logged_in(&limits, b).unwrap();
        assert_eq!(
            limits.acquire(b, false, None).unwrap_err(),
            Refusal::ServerFull
        );
        drop(s1);
        let _s4 = limits.acquire(a, false, None).unwrap();
        assert_eq!(limits.total(), 3);
    }

    #[test]
    fn an_access_file_limit_replaces_the_per_address_limit() {
        let limits = ConnectionLimits::new(&config(10, 1));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let mut held = Vec::new();
        for _ in 0..3 {
            let slot = limits.acquire(a, false, Some(3)).unwrap();
            assert!(slot.logged_in());
            held.push(slot);
        }
        assert_eq!(
            limits.acquire(a, false, Some(3)).unwrap_err(),
            Refusal::TooManyFromAddress
        );
        assert_eq!(
            limits.acquire(a, false, None).unwrap_err(),
            Refusal::TooManyFromAddress
        );
    }

    #[tokio::test]
    async fn the_oldest_waiting_connection_gives_way() {
        let limits = ConnectionLimits::new(&config(3, 2));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let session = logged_in(&limits, a).unwrap();
        let old = limits.acquire(a, false, None).unwrap();
        // The address is full: its oldest waiting connection goes, not
        // the logged-in session.
        let new = limits.acquire(a, false, None).unwrap();
        old.evicted().await;
        assert!(!old.logged_in(), "gone before it logged in");
        drop(old);
        assert_eq!(limits.total(), 2);
        // The server is full: the oldest waiting connection of any
        // address goes.
        let third = limits.acquire(b, false, None).unwrap();
        let fourth = limits.acquire(b, false, None).unwrap();
        new.evicted().await;
        drop(new);
        assert_eq!(limits.total(), 3);
        // Nobody waits any more: refused.
        assert!(third.logged_in() && fourth.logged_in());
        let c: IpAddr = "192.0.2.3".parse().unwrap();
        assert_eq!(
            limits.acquire(c, false, None).unwrap_err(),
            Refusal::ServerFull
        );
        drop(session);
        assert_eq!(
            limits.acquire(b, false, None).unwrap_err(),
            Refusal::TooManyFromAddress
        );
    }

    #[test]
    fn rate_per_address_and_trusted_exemption() {
        let limits = ConnectionLimits::new(&config(100, 100));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..4 {
            drop(limits.acquire(a, false, None).unwrap());
        }
        assert_eq!(
            limits.acquire(a, false, None).unwrap_err(),
            Refusal::TooFast
        );
        assert!(
            limits.acquire(a, true, None).is_ok(),
            "trusted networks are exempt"
        );
    }

    #[test]
    fn addresses_are_keyed_by_ipv4_and_ipv6_prefix() {
        let key = |ip: &str, prefix| address_key(ip.parse().unwrap(), prefix).to_string();
        assert_eq!(key("::ffff:192.0.2.1", 64), "192.0.2.1");
        assert_eq!(key("192.0.2.1", 64), "192.0.2.1");
        assert_eq!(
            key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64),
            "2001:db8:1:2::"
        );
        assert_eq!(key("2001:db8:1:2:aaaa::1", 48), "2001:db8:1::");
        assert_eq!(key("2001:db8::1", 128), "2001:db8::1");
        assert_eq!(key("2001:db8::1", 0), "::");
        // One /64 shares one per-address count, one rate and one
        // per-account count; a mapped address is its IPv4 address.
        let limits = ConnectionLimits::new(&config(100, 2));
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let _a = logged_in(&limits, ip("2001:db8:0:7::1")).unwrap();
        let _b = logged_in(&limits, ip("2001:db8:0:7::2")).unwrap();
        assert_eq!(
            limits
                .acquire(ip("2001:db8:0:7:ffff::3"), false, None)
                .unwrap_err(),
            Refusal::TooManyFromAddress
        );
        assert!(limits.acquire(ip("2001:db8:0:8::1"), false, None).is_ok());
        let _c = logged_in(&limits, ip("192.0.2.5")).unwrap();
        let _d = logged_in(&limits, ip("::ffff:192.0.2.5")).unwrap();
        assert_eq!(
            limits.acquire(ip("192.0.2.5"), false, None).unwrap_err(),
            Refusal::TooManyFromAddress
        );
        let _u = limits
            .acquire_user("ann", ip("2001:db8:0:7::1"), false)
            .unwrap();
        assert_eq!(
            limits
                .acquire_user("ann", ip("2001:db8:0:7::9"), false)
                .unwrap_err(),
            Refusal::TooManyForUserFromAddress
        );
        let _v = limits.acquire_user("bob", ip("192.0.2.5"), false).unwrap();
        assert_eq!(
            limits
                .acquire_user("bob", ip("::ffff:192.0.2.5"), false)
                .unwrap_err(),
            Refusal::TooManyForUserFromAddress
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
