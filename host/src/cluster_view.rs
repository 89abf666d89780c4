//! This host's view of the cluster it shares a store with: how many hosts are live and which
//! of them this one is. Limits that must hold cluster-wide are divided by it: call caps by
//! share ([`ClusterView::share`]), rates by consuming one cell per live host per request
//! ([`ClusterView::hosts`]). One host, until the membership worker says otherwise (always, on
//! the embedded store).

use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::DefaultKeyedRateLimiter;
use governor::clock::{Clock as _, DefaultClock};

/// How many hosts share the caps, and which of them this one is; one host until told.
#[derive(Debug, Default)]
pub struct ClusterView {
    /// `hosts << 32 | rank`, swapped whole so a reader never sees one without the other.
    packed: AtomicU64,
}

impl ClusterView {
    /// Takes a new view of the cluster: `hosts` live (at least 1), this one `rank`th of them.
    pub fn set(&self, hosts: u32, rank: u32) {
        let hosts = hosts.max(1);
        let packed = (u64::from(hosts) << 32) | u64::from(rank.min(hosts - 1));
        self.packed.store(packed, Ordering::Relaxed);
    }

    /// Takes no share of any cap (this host is no longer counted by the others).
    pub fn withdraw(&self) {
        self.packed.store(WITHDRAWN, Ordering::Relaxed);
    }

    /// How many hosts share the limits (1 when alone or withdrawn).
    pub fn hosts(&self) -> u32 {
        match self.packed.load(Ordering::Relaxed) {
            WITHDRAWN => 1,
            _ => self.view().0,
        }
    }

    /// Live hosts and this one's rank.
    pub fn view(&self) -> (u32, u32) {
        let packed = self.packed.load(Ordering::Relaxed);
        (((packed >> 32) as u32).max(1), packed as u32)
    }

    /// This host's share of `cap` for the tenant or connection named by `key` (its parts,
    /// hashed in order, so a caller need not join them): the shares of every host in one view
    /// add up to `cap`.
    pub fn share(&self, cap: u32, key: &[&str]) -> u32 {
        if self.packed.load(Ordering::Relaxed) == WITHDRAWN {
            return 0;
        }
        let (hosts, rank) = self.view();
        if hosts <= 1 {
            return cap;
        }
        let offset = (u64::from(rank) + stable_hash(key)) % u64::from(hosts);
        cap / hosts + u32::from(offset < u64::from(cap % hosts))
    }
}

/// The packed view of a host that takes no share.
const WITHDRAWN: u64 = u64::MAX;

/// FNV-1a over the parts, each followed by a `/`: the same on every host and every build,
/// unlike the std hasher's random keys.
fn stable_hash(parts: &[&str]) -> u64 {
    parts
        .iter()
        .flat_map(|part| part.bytes().chain(std::iter::once(b'/')))
        .fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// Takes one request from `key`'s allowance in `limiter`, a rate the live hosts of `view`
/// share: the request takes one cell per host, so `n` hosts behind a balancer admit the
/// configured rate between them, with no store round trip. A burst below the number of hosts
/// takes one cell, so a request can still get in. `Err` holds how long to wait.
pub fn check_shared_rate<K: Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
    view: &ClusterView,
) -> Result<(), std::time::Duration> {
    let cells = NonZeroU32::new(view.hosts()).unwrap_or(NonZeroU32::MIN);
    let outcome = match limiter.check_key_n(key, cells) {
        Ok(outcome) => outcome,
        Err(_) => limiter.check_key(key),
    };
    outcome.map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
}

#[cfg(test)]
mod tests {
    use governor::{Quota, RateLimiter};

    use super::*;

    #[test]
    fn a_shared_rate_takes_one_cell_per_live_host() {
        let limiter = RateLimiter::keyed(
            Quota::per_hour(NonZeroU32::MIN).allow_burst(NonZeroU32::new(6).unwrap()),
        );
        let view = ClusterView::default();
        view.set(3, 2);
        let admitted = (0..10)
            .filter(|_| check_shared_rate(&limiter, &"route", &view).is_ok())
            .count();
        assert_eq!(admitted, 2, "a third of the burst on each of three hosts");

        let small = RateLimiter::keyed(
            Quota::per_hour(NonZeroU32::MIN).allow_burst(NonZeroU32::new(2).unwrap()),
        );
        assert!(
            check_shared_rate(&small, &"route", &view).is_ok(),
            "a burst below the number of hosts still lets one request in"
        );
        let wait = check_shared_rate(&limiter, &"route", &view).unwrap_err();
        assert!(wait.as_secs() > 0, "the wait is the rate's: {wait:?}");
    }
}
