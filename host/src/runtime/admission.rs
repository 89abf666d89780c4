//! Who may start a plugin call now. Sandbox slots are shared by every tenant, so without caps
//! one tenant pointing a connection at a slow server could hold them all. Three caps apply, each
//! taken without waiting: per connection, per tenant (both answer `RATE_LIMITED` to that tenant
//! only), and a global one that leaves [`LOADER_RESERVED_SLOTS`] free for the loader's checks.
//! Background calls (syncs) have slots of their own (`background_calls`, beyond
//! `max_concurrent_calls`), so they never take a place an API caller could have had.
//!
//! On a shared store the tenant and connection caps hold cluster-wide: each of the `n` live
//! hosts (see `membership`) takes its share of a cap, `cap / n`, and the `cap % n` left over
//! go to hosts chosen by a stable hash of the tenant or connection, so the shares of every
//! host add up to the cap exactly. The global slots are the machine's and stay per host.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[cfg(doc)]
use super::limits::LOADER_RESERVED_SLOTS;
use super::limits::RuntimeLimits;
use crate::cluster_view::ClusterView;

/// Which cap refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapScope {
    /// One tenant's calls.
    Tenant,
    /// One connection's calls.
    Connection,
}

impl CapScope {
    /// The scope's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tenant => "tenant",
            Self::Connection => "connection",
        }
    }
}

/// Why a call was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The tenant or the connection runs as many calls as it may.
    OverCap { scope: CapScope, limit: u32 },
    /// Every slot API calls may use is taken.
    Full,
}

/// Counts running calls per tenant and per connection.
pub(crate) struct Admission {
    tenant_cap: u32,
    connection_cap: u32,
    api_slots: u32,
    background_slots: u32,
    running: Arc<Mutex<Running>>,
    /// This host's place in the cluster, which its caps are shared by.
    cluster: Arc<ClusterView>,
}

#[derive(Default)]
struct Running {
    total: u32,
    background: u32,
    per_tenant: HashMap<String, u32>,
    per_connection: HashMap<(String, String), u32>,
}

impl Running {
    /// The gauges of the API slots: all of this host's, and `tenant`'s (tenant ids are the
    /// operator's, so the label set is bounded by the tenants that ran a call).
    fn report(&self, tenant: &str) {
        metrics::gauge!("sandbox_slots_in_use", "kind" => "api").set(f64::from(self.total));
        let of_tenant = self.per_tenant.get(tenant).copied().unwrap_or(0);
        metrics::gauge!("sandbox_slots_in_use_by_tenant", "tenant" => tenant.to_owned())
            .set(f64::from(of_tenant));
    }

    fn report_background(&self) {
        metrics::gauge!("sandbox_slots_in_use", "kind" => "background")
            .set(f64::from(self.background));
    }
}

/// A running call's place; dropping it frees the place.
pub(crate) struct Permit {
    running: Arc<Mutex<Running>>,
    tenant: String,
    connection: String,
    background: bool,
}

impl Admission {
    pub(crate) fn new(limits: &RuntimeLimits) -> Self {
        Self {
            tenant_cap: limits.tenant_cap(),
            connection_cap: limits.connection_cap(),
            api_slots: limits.api_slots(),
            background_slots: limits.background_calls,
            running: Arc::default(),
            cluster: Arc::default(),
        }
    }

    /// This host's view of the cluster, which the membership worker keeps current.
    pub(crate) fn cluster(&self) -> &Arc<ClusterView> {
        &self.cluster
    }

    /// Takes a place for a call of `tenant`'s `connection`, or says which cap is reached.
    #[cfg(test)]
    pub(crate) fn admit(&self, tenant: &str, connection: &str) -> Result<Permit, Refusal> {
        self.admit_as(tenant, connection, false)
    }

    /// [`Admission::admit`], on the background slots when `background`: those are counted
    /// apart and answer `Full` when all are taken.
    pub(crate) fn admit_as(
        &self,
        tenant: &str,
        connection: &str,
        background: bool,
    ) -> Result<Permit, Refusal> {
        let mut running = lock(&self.running);
        if background {
            if running.background >= self.background_slots {
                return Err(Refusal::Full);
            }
            running.background += 1;
            running.report_background();
            return Ok(Permit {
                running: self.running.clone(),
                tenant: tenant.to_owned(),
                connection: connection.to_owned(),
                background: true,
            });
        }
        let key = (tenant.to_owned(), connection.to_owned());
        let connection_count = running.per_connection.get(&key).copied().unwrap_or(0);
        let connection_share = self
            .cluster
            .share(self.connection_cap, &[tenant, connection]);
        if connection_count >= connection_share {
            return Err(Refusal::OverCap {
                scope: CapScope::Connection,
                limit: self.connection_cap,
            });
        }
        let tenant_count = running.per_tenant.get(tenant).copied().unwrap_or(0);
        if tenant_count >= self.cluster.share(self.tenant_cap, &[tenant]) {
            return Err(Refusal::OverCap {
                scope: CapScope::Tenant,
                limit: self.tenant_cap,
            });
        }
        if running.total >= self.api_slots {
            return Err(Refusal::Full);
        }
        running.total += 1;
        *running.per_tenant.entry(key.0.clone()).or_default() += 1;
        *running.per_connection.entry(key).or_default() += 1;
        running.report(tenant);
        Ok(Permit {
            running: self.running.clone(),
            tenant: tenant.to_owned(),
            connection: connection.to_owned(),
            background: false,
        })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut running = lock(&self.running);
        if self.background {
            running.background = running.background.saturating_sub(1);
            running.report_background();
            return;
        }
        running.total = running.total.saturating_sub(1);
        release(&mut running.per_tenant, self.tenant.clone());
        release(
            &mut running.per_connection,
            (self.tenant.clone(), self.connection.clone()),
        );
        running.report(&self.tenant);
    }
}

/// Decrements a count, removing the entry at zero so idle tenants take no memory.
fn release<K: std::hash::Hash + Eq>(counts: &mut HashMap<K, u32>, key: K) {
    if let Some(count) = counts.get_mut(&key) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            counts.remove(&key);
        }
    }
}

fn lock(running: &Mutex<Running>) -> std::sync::MutexGuard<'_, Running> {
    // The counts stay consistent even if a holder panicked: every change is one statement.
    running
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(slots: u32, tenant: u32, connection: u32) -> Admission {
        Admission::new(&RuntimeLimits {
            max_concurrent_calls: slots,
            max_concurrent_calls_per_tenant: Some(tenant),
            max_concurrent_calls_per_connection: Some(connection),
            ..RuntimeLimits::default()
        })
    }

    #[test]
    fn a_tenant_over_its_cap_is_refused_while_others_get_in() {
        let admission = admission(16, 3, 2);
        let a1 = admission.admit("a", "c1").unwrap();
        let _a2 = admission.admit("a", "c1").unwrap();
        assert_eq!(
            admission.admit("a", "c1").err(),
            Some(Refusal::OverCap {
                scope: CapScope::Connection,
                limit: 2
            })
        );
        let _a3 = admission.admit("a", "c2").unwrap();
        assert_eq!(
            admission.admit("a", "c3").err(),
            Some(Refusal::OverCap {
                scope: CapScope::Tenant,
                limit: 3
            })
        );
        assert!(admission.admit("b", "c1").is_ok(), "another tenant gets in");
        drop(a1);
        assert!(
            admission.admit("a", "c3").is_ok(),
            "a freed place is reusable"
        );
    }

    #[test]
    fn background_calls_have_slots_of_their_own() {
        let admission = admission(4, 1, 1);
        let sync1 = admission.admit_as("a", "c1", true).unwrap();
        let _sync2 = admission.admit_as("a", "c1", true).unwrap();
        assert_eq!(
            admission.admit_as("a", "c1", true).err(),
            Some(Refusal::Full),
            "two background slots by default"
        );
        let api = admission.admit("a", "c1");
        assert!(api.is_ok(), "syncs do not count against the API caps");
        drop(sync1);
        assert!(admission.admit_as("a", "c1", true).is_ok());
    }

    #[test]
    fn the_hosts_shares_of_a_cap_add_up_to_the_cap() {
        for hosts in 1..6 {
            for cap in 0..20 {
                for key in [&["acme"][..], &["globex"], &["acme", "c1"], &[""]] {
                    let total: u32 = (0..hosts)
                        .map(|rank| {
                            let share = ClusterView::default();
                            share.set(hosts, rank);
                            share.share(cap, key)
                        })
                        .sum();
                    assert_eq!(total, cap, "{hosts} hosts, cap {cap}, key {key:?}");
                }
            }
        }
    }

    #[test]
    fn a_host_admits_only_its_share_of_the_tenant_cap() {
        let admission = admission(64, 8, 8);
        admission.cluster().set(2, 0);
        let held: Vec<_> = (0..4)
            .map(|i| admission.admit("a", &format!("c{i}")).unwrap())
            .collect();
        assert_eq!(
            admission.admit("a", "c9").err(),
            Some(Refusal::OverCap {
                scope: CapScope::Tenant,
                limit: 8
            }),
            "half of 8 on each of two hosts"
        );
        admission.cluster().set(1, 0);
        assert!(admission.admit("a", "c9").is_ok(), "alone again: all 8");
        drop(held);
    }

    #[test]
    fn the_loader_keeps_its_reserved_slots() {
        let admission = admission(4, 10, 10);
        let held: Vec<_> = (0..2)
            .map(|i| admission.admit(&format!("t{i}"), "c").unwrap())
            .collect();
        assert_eq!(admission.admit("t9", "c").err(), Some(Refusal::Full));
        drop(held);
        assert!(lock(&admission.running).per_tenant.is_empty());
    }
}
