//! [`CapacityTx`] for both engines: one row per subnet, pool or charged
//! quota resource, read from the counters the writes keep.

use super::rows::{pool_row, POOL_COLS, SUBNET_USED};
use super::{args, Exec, SqlTx};
use crate::capacity::*;
use nicplane_domain::capacity::{ProjectQuotaUse, SubnetCapacity};
use nicplane_domain::model::PublicIpPool;
use nicplane_domain::Result;

impl<E: Exec> CapacityTx for SqlTx<E> {
    fn capacity_subnets(&mut self) -> Result<Vec<SubnetCapacity>> {
        self.exec.query(
            &format!(
                "SELECT s.id, s.network_id, n.project_id, s.cidr, s.pool_size, {SUBNET_USED} \
                 FROM subnets s JOIN networks n ON n.id = s.network_id"
            ),
            args![],
            |r| {
                Ok(SubnetCapacity {
                    subnet_id: r.parse(0, "id")?,
                    network_id: r.parse(1, "id")?,
                    project_id: r.opt_parse(2, "project")?,
                    cidr: r.parse(3, "cidr")?,
                    size: r.parse(4, "pool size")?,
                    used: r.int(5)?.max(0) as u64,
                })
            },
        )
    }
    fn capacity_pools(&mut self) -> Result<Vec<(PublicIpPool, String)>> {
        let cols = POOL_COLS
            .split(", ")
            .map(|c| format!("p.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let n = POOL_COLS.split(", ").count();
        self.exec.query(
            &format!(
                "SELECT {cols}, d.name FROM public_ip_pools p \
                 JOIN data_centers d ON d.id = p.data_center_id"
            ),
            args![],
            |r| Ok((pool_row(r)?, r.string(n)?)),
        )
    }
    fn capacity_quotas(&mut self) -> Result<Vec<ProjectQuotaUse>> {
        self.exec.query(
            "SELECT u.project_id, u.resource, u.in_use + CAST(COALESCE((SELECT SUM(s.in_use) \
             FROM quota_shards s WHERE s.project_id = u.project_id AND s.resource = u.resource), 0) \
             AS BIGINT), COALESCE(l.hard_limit, d.hard_limit) \
             FROM quota_usage u JOIN quota_defaults d ON d.resource = u.resource \
             LEFT JOIN quota_limits l ON l.project_id = u.project_id AND l.resource = u.resource",
            args![],
            |r| {
                Ok(ProjectQuotaUse {
                    project_id: r.parse(0, "project")?,
                    resource: r.parse(1, "quota resource")?,
                    in_use: r.int(2)?,
                    limit: r.int(3)?,
                })
            },
        )
    }
}
