//! What `GET /metrics` reports beyond the request counters: the capacity
//! gauges (`nicplane_domain::capacity`) read at scrape time, and the store's
//! own metrics.
//!
//! Neither takes a caller: the metrics endpoint is served on its own
//! listener (`--metrics-listen`), which the operator keeps off the tenant
//! path (docs/security.md); no tenant route reaches these methods.

use crate::Service;
use nicplane_domain::capacity::{
    fill, fullest, fullest_projects, public_pool_size, CapacityReport, PoolCapacity,
};
use nicplane_domain::Result;
use prometheus_client::registry::Registry;

impl Service {
    /// The capacity gauges: at most `limit` subnets, pools and projects
    /// each, the fullest first, with how many were left out. One read
    /// transaction of three queries, one row per object.
    pub async fn capacity_report(&self, limit: usize) -> Result<CapacityReport> {
        let (mut subnets, pools, mut quotas) = self
            .store
            .read(|tx| {
                Ok((
                    tx.capacity_subnets()?,
                    tx.capacity_pools()?,
                    tx.capacity_quotas()?,
                ))
            })
            .await?;
        let subnets_omitted = fullest(
            &mut subnets,
            limit,
            |s| (fill(u128::from(s.used), s.size), s.free()),
            |s| s.subnet_id.to_string(),
        );
        let mut pools: Vec<PoolCapacity> = pools
            .into_iter()
            .map(|(p, data_center)| PoolCapacity {
                size: public_pool_size(p.cidr),
                free: p.free_addresses,
                pool_id: p.id,
                name: p.name,
                data_center,
                cidr: p.cidr,
            })
            .collect();
        let pools_omitted = fullest(
            &mut pools,
            limit,
            |p| {
                let used = p.size.saturating_sub(p.free);
                (
                    fill(u128::from(used), u128::from(p.size)),
                    u128::from(p.free),
                )
            },
            |p| p.name.clone(),
        );
        let projects_omitted = fullest_projects(&mut quotas, limit);
        quotas.sort_by(|a, b| {
            (a.project_id.as_str(), a.resource.as_str())
                .cmp(&(b.project_id.as_str(), b.resource.as_str()))
        });
        Ok(CapacityReport {
            subnets,
            subnets_omitted,
            pools,
            pools_omitted,
            quotas,
            projects_omitted,
        })
    }

    /// Add the store's own metrics (commit latency, group sizes, pool waits,
    /// retries) to a scrape's registry.
    pub fn register_store_metrics(&self, registry: &mut Registry) {
        self.store.metrics().register(registry);
        self.feed.register(registry);
    }
}
