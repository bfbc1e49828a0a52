//! How full the address space and the quotas are: what `GET /metrics`
//! reports as gauges at scrape time (docs/operations.md, "Metrics").
//!
//! Everything here comes from counters the store already keeps (a subnet's
//! `pool_used`, a pool's `free_count`, the quota triggers' `quota_usage`),
//! never from counting addresses. A scrape reports at most a fixed number of
//! objects of each kind, the fullest first ([`fullest`]), and says how many
//! it left out, so the number of series a scrape returns stays bounded
//! however many subnets and projects tenants create.

use crate::ids::{NetworkId, PoolId, ProjectId, SubnetId};
use crate::quota::QuotaResource;
use ipnet::IpNet;

/// Addresses of one subnet's allocation pools.
#[derive(Debug, Clone, PartialEq)]
pub struct SubnetCapacity {
    pub subnet_id: SubnetId,
    pub network_id: NetworkId,
    /// The owner of the network (None: a shared network of the cloud admin).
    pub project_id: Option<ProjectId>,
    pub cidr: IpNet,
    /// Addresses in the allocation pools (an IPv6 /64 holds about 2^64).
    pub size: u128,
    /// Addresses of the pools in use.
    pub used: u64,
}

impl SubnetCapacity {
    /// Addresses of the pools still free.
    pub fn free(&self) -> u128 {
        self.size.saturating_sub(u128::from(self.used))
    }
}

/// Addresses of one public IP pool.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolCapacity {
    pub pool_id: PoolId,
    pub name: String,
    /// The name of the pool's data center.
    pub data_center: String,
    pub cidr: IpNet,
    /// Addresses the pool hands out (its host range, first address excluded).
    pub size: u64,
    /// Addresses not held by any public IP.
    pub free: u64,
}

/// One project's use of one quota resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectQuotaUse {
    pub project_id: ProjectId,
    pub resource: QuotaResource,
    pub in_use: i64,
    /// The project's limit, else the deployment default; -1 is unlimited.
    pub limit: i64,
}

/// The capacity gauges of one scrape, each list cut to the fullest objects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CapacityReport {
    pub subnets: Vec<SubnetCapacity>,
    /// Subnets that exist but were left out of `subnets`.
    pub subnets_omitted: usize,
    pub pools: Vec<PoolCapacity>,
    /// Pools left out of `pools`.
    pub pools_omitted: usize,
    /// Every resource of each project reported.
    pub quotas: Vec<ProjectQuotaUse>,
    /// Projects with usage that were left out of `quotas`.
    pub projects_omitted: usize,
}

/// Most addresses a public IP pool counts: its `free_count` is a signed
/// 64-bit column (`public_ip_pools.free_count`, 0001_init.sql), so an IPv6
/// pool (a /64 hands out about 2^64) counts this many at most.
pub const PUBLIC_POOL_COUNT_MAX: u64 = i64::MAX as u64;

/// Addresses a public IP pool of `cidr` hands out: its host range without
/// the first address (as `Service::pool_create` seeds it), at most
/// [`PUBLIC_POOL_COUNT_MAX`].
pub fn public_pool_size(cidr: IpNet) -> u64 {
    match crate::ipam::AddressSpace::new(cidr) {
        Ok(space) => {
            let total = crate::ipam::total(&crate::ipam::subtract(&[space.host_range()], 1));
            u64::try_from(total)
                .unwrap_or(u64::MAX)
                .min(PUBLIC_POOL_COUNT_MAX)
        }
        Err(_) => 0,
    }
}

/// Share of `size` in use, 0 for an empty or unlimited size.
pub fn fill(used: u128, size: u128) -> f64 {
    if size == 0 {
        0.0
    } else {
        used as f64 / size as f64
    }
}

/// Keep the `limit` fullest items (by `fill`, fuller first; ties by fewer
/// free addresses, then by `key` so the choice is stable) and return how
/// many were left out.
pub fn fullest<T, K: Ord>(
    items: &mut Vec<T>,
    limit: usize,
    fill_of: impl Fn(&T) -> (f64, u128),
    key: impl Fn(&T) -> K,
) -> usize {
    items.sort_by(|a, b| {
        let (fa, free_a) = fill_of(a);
        let (fb, free_b) = fill_of(b);
        fb.total_cmp(&fa)
            .then(free_a.cmp(&free_b))
            .then_with(|| key(a).cmp(&key(b)))
    });
    let omitted = items.len().saturating_sub(limit);
    items.truncate(limit);
    omitted
}

/// Keep the quota use of the `limit` projects nearest a limit (the highest
/// share of any limited resource; ties by project id) and return how many
/// projects were left out. Every resource of a kept project stays.
pub fn fullest_projects(quotas: &mut Vec<ProjectQuotaUse>, limit: usize) -> usize {
    let mut projects: Vec<(ProjectId, f64)> = Vec::new();
    for q in quotas.iter() {
        let share = if q.limit < 0 {
            0.0
        } else {
            fill(q.in_use.max(0) as u128, q.limit as u128)
        };
        match projects.iter_mut().find(|(p, _)| *p == q.project_id) {
            Some((_, s)) => *s = s.max(share),
            None => projects.push((q.project_id.clone(), share)),
        }
    }
    let omitted = fullest(
        &mut projects,
        limit,
        |(_, s)| (*s, 0),
        |(p, _)| p.to_string(),
    );
    quotas.retain(|q| projects.iter().any(|(p, _)| *p == q.project_id));
    omitted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet(n: u8, size: u128, used: u64) -> SubnetCapacity {
        SubnetCapacity {
            subnet_id: SubnetId::new(),
            network_id: NetworkId::new(),
            project_id: None,
            cidr: format!("10.0.{n}.0/24").parse().unwrap(),
            size,
            used,
        }
    }

    #[test]
    fn the_fullest_subnets_are_kept_and_the_rest_counted() {
        let mut s = vec![
            subnet(1, 100, 10),
            subnet(2, 100, 90),
            subnet(3, 1 << 64, 5),
            subnet(4, 10, 5),
        ];
        let omitted = fullest(
            &mut s,
            2,
            |s| (fill(u128::from(s.used), s.size), s.free()),
            |s| s.cidr,
        );
        assert_eq!(omitted, 2);
        let kept: Vec<String> = s.iter().map(|s| s.cidr.to_string()).collect();
        assert_eq!(kept, ["10.0.2.0/24", "10.0.4.0/24"]);
    }

    #[test]
    fn projects_are_ranked_by_their_fullest_limited_resource() {
        let p = |id: &str, r, in_use, limit| ProjectQuotaUse {
            project_id: id.parse().unwrap(),
            resource: r,
            in_use,
            limit,
        };
        let (a, b, c) = (
            "0000000000000000000000000000000a",
            "0000000000000000000000000000000b",
            "0000000000000000000000000000000c",
        );
        let mut q = vec![
            p(a, QuotaResource::Port, 1, 10),
            p(a, QuotaResource::Network, 1, 2),
            p(b, QuotaResource::Port, 400, -1),
            p(c, QuotaResource::Port, 9, 10),
        ];
        assert_eq!(fullest_projects(&mut q, 2), 1);
        let kept: Vec<String> = q.iter().map(|q| q.project_id.to_string()).collect();
        assert_eq!(kept, [a, a, c]);
    }
}
