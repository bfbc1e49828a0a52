//! Queries for the capacity gauges of `GET /metrics`
//! (`nicplane_domain::capacity`). A supertrait of [`Tx`](crate::Tx),
//! implemented once, for both engines, in `sql/capacity.rs`.
//!
//! Each reads one row per object from counters the store keeps anyway
//! (`subnets.pool_used`, `public_ip_pools.free_count`, `quota_usage`): the
//! cost of a scrape grows with the number of subnets, pools and projects,
//! never with the number of addresses handed out.

use nicplane_domain::capacity::{ProjectQuotaUse, SubnetCapacity};
use nicplane_domain::model::PublicIpPool;
use nicplane_domain::Result;

/// Capacity queries, run inside a read transaction.
pub trait CapacityTx {
    /// Every subnet's pool size and use.
    fn capacity_subnets(&mut self) -> Result<Vec<SubnetCapacity>>;
    /// Every public IP pool with the name of its data center.
    fn capacity_pools(&mut self) -> Result<Vec<(PublicIpPool, String)>>;
    /// Every charged quota resource of every project, with the project's
    /// effective limit (its own, else the default).
    fn capacity_quotas(&mut self) -> Result<Vec<ProjectQuotaUse>>;
}
