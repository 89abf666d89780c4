//! Guards of the surfaces anyone can reach without credentials (the vendor webhook receiver,
//! the OAuth callback, the console's sign-in forms): a rate limit per source address checked
//! before any lookup, a refusal counter with a fixed set of labels, and a sampled log line, so
//! a flood costs the host O(1) per request and writes nothing that grows with it.
//!
//! Sources are keyed by IPv4 address or by IPv6 /64 (one subscriber usually holds a whole /64,
//! so keying by the full address would let one attacker mint unlimited keys). The keyed
//! limiter's map is pruned of sources whose allowance is full again ([`SourceLimiter::prune`]),
//! which the host's sweeper calls, so scanning from many addresses does not grow memory.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::cluster_view::{ClusterView, check_shared_rate};

/// Requests per source address on unauthenticated surfaces.
#[derive(Debug, Clone, Copy)]
pub struct SourceRate {
    /// Sustained requests per second from one source. Default: 20.
    pub per_second: u32,
    /// Requests one source may send at once before the rate applies. Default: 60.
    pub burst: u32,
}

impl Default for SourceRate {
    fn default() -> Self {
        Self {
            per_second: 20,
            burst: 60,
        }
    }
}

/// The key a source is counted under: an IPv4 address or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SourceKey(u128);

impl SourceKey {
    /// The source of `ip`: the address, or its /64 for IPv6.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self(u128::from(u32::from(v4))),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(u128::from(u32::from(v4))),
                // The high bit keeps v6 prefixes apart from v4 addresses.
                None => Self((u128::from(v6) & !((1u128 << 64) - 1)) | 1),
            },
        }
    }
}

/// One limiter shared by every unauthenticated surface of the host.
pub struct SourceLimiter {
    limiter: DefaultKeyedRateLimiter<SourceKey>,
    /// The hosts the rate is shared by: each request takes one cell per live host, so `n`
    /// hosts behind a balancer admit the configured rate between them.
    cluster: Arc<ClusterView>,
}

impl SourceLimiter {
    /// A limiter admitting `rate` per source, shared by the hosts `cluster` counts.
    pub fn new(rate: SourceRate, cluster: Arc<ClusterView>) -> Self {
        let per_second = NonZeroU32::new(rate.per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(rate.burst).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
            cluster,
        }
    }

    /// Takes one request from the source's allowance; `false` when it has none left. A request
    /// without a known peer (an in-process test client) is counted under one shared key.
    pub fn admit(&self, source: Option<IpAddr>) -> bool {
        let key = source.map_or(SourceKey(u128::MAX), SourceKey::of);
        check_shared_rate(&self.limiter, &key, &self.cluster).is_ok()
    }

    /// [`admit`](Self::admit), counting a refusal on `surface` (reason `source_throttled`).
    pub fn admit_on(
        &self,
        source: Option<IpAddr>,
        sampler: &LogSampler,
        surface: &'static str,
    ) -> bool {
        let admitted = self.admit(source);
        if !admitted {
            refused(sampler, surface, "source_throttled");
        }
        admitted
    }

    /// Forgets sources whose allowance is full again; returns how many are still tracked.
    pub fn prune(&self) -> usize {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        self.limiter.len()
    }
}

/// Sources whose failed authentications (a wrong or malformed API key) went past their
/// budget: refused before any lookup until the budget refills, so guessing keys costs the host
/// O(1) once a source is over it, and no store round trip (a pool connection on PostgreSQL).
/// Only failures are charged, and a shut source's keys the host already holds still work, so
/// a client sharing an address with a guesser keeps its access.
pub struct FailureGate {
    limiter: DefaultKeyedRateLimiter<SourceKey>,
    /// Sources over their budget, until when. Only sources past a whole burst of failures
    /// get an entry, each for one refill interval; [`FailureGate::prune`] drops lapsed ones.
    shut: std::sync::Mutex<std::collections::HashMap<SourceKey, std::time::Instant>>,
    /// How many entries `shut` holds, read without the lock: every authenticated request asks
    /// [`FailureGate::is_shut`], and almost always nothing is shut.
    shut_count: AtomicU64,
    cluster: Arc<ClusterView>,
}

impl FailureGate {
    /// A gate allowing `rate` failures per source, shared by the hosts `cluster` counts.
    pub fn new(rate: SourceRate, cluster: Arc<ClusterView>) -> Self {
        let per_second = NonZeroU32::new(rate.per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(rate.burst).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
            shut: std::sync::Mutex::default(),
            shut_count: AtomicU64::new(0),
            cluster,
        }
    }

    /// Whether `source` is over its budget of failures now.
    pub fn is_shut(&self, source: Option<IpAddr>) -> bool {
        if self.shut_count.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let key = source.map_or(SourceKey(u128::MAX), SourceKey::of);
        let mut shut = self.lock();
        let answer = match shut.get(&key) {
            Some(until) if *until > std::time::Instant::now() => true,
            Some(_) => {
                shut.remove(&key);
                false
            }
            None => false,
        };
        self.shut_count.store(shut.len() as u64, Ordering::Relaxed);
        answer
    }

    /// Charges one failed authentication to `source`; past its budget, the source is shut
    /// until the budget has room again.
    pub fn failed(&self, source: Option<IpAddr>) {
        let key = source.map_or(SourceKey(u128::MAX), SourceKey::of);
        if let Err(wait) = check_shared_rate(&self.limiter, &key, &self.cluster) {
            let until = std::time::Instant::now() + wait.max(Duration::from_millis(1));
            let mut shut = self.lock();
            shut.insert(key, until);
            self.shut_count.store(shut.len() as u64, Ordering::Relaxed);
        }
    }

    /// Forgets sources whose allowance is full again and lapsed shut entries; returns how
    /// many sources are still tracked.
    pub fn prune(&self) -> usize {
        let now = std::time::Instant::now();
        let mut shut = self.lock();
        shut.retain(|_, until| *until > now);
        self.shut_count.store(shut.len() as u64, Ordering::Relaxed);
        drop(shut);
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        self.limiter.len()
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<SourceKey, std::time::Instant>> {
        // Each change is one statement: a panic elsewhere cannot leave the map torn.
        self.shut
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Counts a refusal on an unauthenticated surface: `surface` and `reason` are constants of the
/// host, never request data, so the metric's label set stays fixed. A log line goes out at most
/// once a second per sampler, with how many refusals it stands for.
pub fn refused(sampler: &LogSampler, surface: &'static str, reason: &'static str) {
    metrics::counter!("unauthenticated_refusals_total", "surface" => surface, "reason" => reason)
        .increment(1);
    if let Some(count) = sampler.take() {
        tracing::info!(
            surface,
            reason,
            refusals_since_last_line = count,
            "unauthenticated request refused (sampled: one line a second at most)"
        );
    }
}

/// Lets one log line through per second and counts what it held back.
#[derive(Default)]
pub struct LogSampler {
    next_ms: AtomicU64,
    held: AtomicU64,
}

impl LogSampler {
    /// A sampler that lets the first line through.
    pub const fn new() -> Self {
        Self {
            next_ms: AtomicU64::new(0),
            held: AtomicU64::new(0),
        }
    }

    /// `Some(refusals since the last line, this one included)` when a line may be written now.
    pub fn take(&self) -> Option<u64> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_millis() as u64;
        let held = self.held.fetch_add(1, Ordering::Relaxed) + 1;
        let next = self.next_ms.load(Ordering::Relaxed);
        if now < next
            || self
                .next_ms
                .compare_exchange(next, now + 1000, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return None;
        }
        self.held.fetch_sub(held, Ordering::Relaxed);
        Some(held)
    }
}

/// The peer address of a request, as the HTTP server recorded it (`None` for a request that
/// did not come through it, such as an in-process test client). Behind a reverse proxy this is
/// the proxy's address, so the limit is then per proxy: set the rate for that.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts))
    }
}

impl PeerAddr {
    /// The peer address of the request `parts` belong to.
    pub fn of(parts: &axum::http::request::Parts) -> Self {
        Self(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_ipv6_subscriber_is_one_source() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(SourceKey::of(a), SourceKey::of(b));
        assert_ne!(SourceKey::of(a), SourceKey::of(other));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let v4: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(SourceKey::of(mapped), SourceKey::of(v4));
    }

    #[test]
    fn a_source_past_its_burst_is_refused_and_others_are_not() {
        let limiter = SourceLimiter::new(
            SourceRate {
                per_second: 1,
                burst: 3,
            },
            Arc::default(),
        );
        let flood: IpAddr = "192.0.2.1".parse().unwrap();
        let admitted = (0..10).filter(|_| limiter.admit(Some(flood))).count();
        assert_eq!(admitted, 3);
        assert!(limiter.admit(Some("192.0.2.2".parse().unwrap())));
        assert_eq!(limiter.prune(), 2, "sources still spending are kept");
    }

    #[test]
    fn hosts_sharing_a_store_divide_the_source_rate() {
        let cluster = Arc::new(ClusterView::default());
        let limiter = SourceLimiter::new(
            SourceRate {
                per_second: 1,
                burst: 12,
            },
            cluster.clone(),
        );
        cluster.set(3, 1);
        let flood: IpAddr = "192.0.2.1".parse().unwrap();
        let admitted = (0..20).filter(|_| limiter.admit(Some(flood))).count();
        assert_eq!(admitted, 4, "a third of the burst on each of three hosts");
    }

    #[test]
    fn a_source_past_its_failure_budget_is_shut_and_others_are_not() {
        let gate = FailureGate::new(
            SourceRate {
                per_second: 1,
                burst: 3,
            },
            Arc::default(),
        );
        let guesser: IpAddr = "192.0.2.7".parse().unwrap();
        for _ in 0..3 {
            assert!(!gate.is_shut(Some(guesser)));
            gate.failed(Some(guesser));
        }
        assert!(!gate.is_shut(Some(guesser)), "the burst itself is allowed");
        gate.failed(Some(guesser));
        assert!(
            gate.is_shut(Some(guesser)),
            "one failure past the burst shuts it"
        );
        assert!(!gate.is_shut(Some("192.0.2.8".parse().unwrap())));
        assert_eq!(gate.prune(), 1, "the guesser is still spending");
    }

    #[test]
    fn the_sampler_lets_one_line_a_second_through() {
        let sampler = LogSampler::default();
        assert_eq!(sampler.take(), Some(1));
        let held: Vec<_> = (0..100).filter_map(|_| sampler.take()).collect();
        assert!(held.is_empty(), "{held:?}");
    }
}
