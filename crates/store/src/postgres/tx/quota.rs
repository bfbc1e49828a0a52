//! [`QuotaTx`] for PostgreSQL (tables and triggers of `0006_quotas.sql`).

use super::{col, get, PgTx};
use crate::quota::*;
use nicplane_domain::ids::ProjectId;
use nicplane_domain::quota::{QuotaResource, QuotaUsage};
use nicplane_domain::Result;

/// Limit (the project's, else the default) and usage of every resource.
const QUOTA_GET: &str =
    "SELECT d.resource, COALESCE(l.hard_limit, d.hard_limit), COALESCE(u.in_use, 0) \
     FROM quota_defaults d \
     LEFT JOIN quota_limits l ON l.project_id = $1 AND l.resource = d.resource \
     LEFT JOIN quota_usage u ON u.project_id = $1 AND u.resource = d.resource";

fn in_order<T>(mut rows: Vec<(QuotaResource, T)>) -> Vec<(QuotaResource, T)> {
    rows.sort_by_key(|(r, _)| QuotaResource::ALL.iter().position(|x| x == r));
    rows
}

impl QuotaTx for PgTx<'_> {
    fn quota_get(&mut self, project: &ProjectId) -> Result<Vec<QuotaUsage>> {
        let rows = self.many(QUOTA_GET, &[&project.to_string()], |r| {
            let resource: QuotaResource = col(r, 0, "quota resource")?;
            Ok((resource, (get::<i64>(r, 1)?, get::<i64>(r, 2)?)))
        })?;
        Ok(in_order(rows)
            .into_iter()
            .map(|(resource, (limit, used))| QuotaUsage {
                resource,
                limit,
                used,
                reserved: 0,
            })
            .collect())
    }
    fn quota_defaults(&mut self) -> Result<Vec<(QuotaResource, i64)>> {
        let rows = self.many(
            "SELECT resource, hard_limit FROM quota_defaults",
            &[],
            |r| Ok((col(r, 0, "quota resource")?, get::<i64>(r, 1)?)),
        )?;
        Ok(in_order(rows))
    }
    fn quota_default_set(&mut self, resource: QuotaResource, limit: i64) -> Result<()> {
        self.exec(
            "INSERT INTO quota_defaults (resource, hard_limit) VALUES ($1, $2) \
             ON CONFLICT (resource) DO UPDATE SET hard_limit = excluded.hard_limit",
            &[&resource.as_str(), &limit],
        )
    }
    fn quota_set(
        &mut self,
        project: &ProjectId,
        resource: QuotaResource,
        limit: i64,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO quota_limits (project_id, resource, hard_limit) VALUES ($1, $2, $3) \
             ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit",
            &[&project.to_string(), &resource.as_str(), &limit],
        )
    }
    fn quota_reset(&mut self, project: &ProjectId) -> Result<()> {
        self.exec(
            "DELETE FROM quota_limits WHERE project_id = $1",
            &[&project.to_string()],
        )
    }
    fn quota_projects(&mut self) -> Result<Vec<ProjectId>> {
        self.many(
            "SELECT DISTINCT project_id FROM quota_limits ORDER BY project_id",
            &[],
            |r| col(r, 0, "project"),
        )
    }
}
