//! [`QuotaTx`] for both engines (tables and triggers of `0006_quotas.sql`).

use super::{args, Exec, SqlTx};
use crate::quota::*;
use nicplane_domain::ids::ProjectId;
use nicplane_domain::quota::{QuotaResource, QuotaUsage};
use nicplane_domain::Result;

/// Limit (the project's, else the default) and usage of every resource: the
/// usage row and its shards (`migrations/postgres/0024_quota_shards.sql`;
/// SQLite has none).
const QUOTA_GET: &str =
    "SELECT d.resource, COALESCE(l.hard_limit, d.hard_limit), COALESCE(u.in_use, 0) \
     + CAST(COALESCE((SELECT SUM(s.in_use) FROM quota_shards s \
     WHERE s.project_id = $1 AND s.resource = d.resource), 0) AS BIGINT) \
     FROM quota_defaults d \
     LEFT JOIN quota_limits l ON l.project_id = $1 AND l.resource = d.resource \
     LEFT JOIN quota_usage u ON u.project_id = $1 AND u.resource = d.resource";

fn in_order<T>(mut rows: Vec<(QuotaResource, T)>) -> Vec<(QuotaResource, T)> {
    rows.sort_by_key(|(r, _)| QuotaResource::ALL.iter().position(|x| x == r));
    rows
}

impl<E: Exec> QuotaTx for SqlTx<E> {
    fn quota_get(&mut self, project: &ProjectId) -> Result<Vec<QuotaUsage>> {
        let rows = self
            .exec
            .query(QUOTA_GET, args![project.to_string()], |r| {
                let resource: QuotaResource = r.parse(0, "quota resource")?;
                Ok((resource, (r.int(1)?, r.int(2)?)))
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
        let rows = self.exec.query(
            "SELECT resource, hard_limit FROM quota_defaults",
            args![],
            |r| Ok((r.parse(0, "quota resource")?, r.int(1)?)),
        )?;
        Ok(in_order(rows))
    }
    fn quota_default_set(&mut self, resource: QuotaResource, limit: i64) -> Result<()> {
        self.run(
            "INSERT INTO quota_defaults (resource, hard_limit) VALUES ($1, $2) \
             ON CONFLICT (resource) DO UPDATE SET hard_limit = excluded.hard_limit",
            args![resource.as_str(), limit],
        )
    }
    fn quota_set(
        &mut self,
        project: &ProjectId,
        resource: QuotaResource,
        limit: i64,
    ) -> Result<()> {
        self.run(
            "INSERT INTO quota_limits (project_id, resource, hard_limit) VALUES ($1, $2, $3) \
             ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit",
            args![project.to_string(), resource.as_str(), limit],
        )
    }
    fn quota_reset(&mut self, project: &ProjectId) -> Result<()> {
        self.run(
            "DELETE FROM quota_limits WHERE project_id = $1",
            args![project.to_string()],
        )
    }
    fn quota_projects(&mut self) -> Result<Vec<ProjectId>> {
        self.exec.query(
            "SELECT DISTINCT project_id FROM quota_limits ORDER BY project_id",
            args![],
            |r| r.parse(0, "project"),
        )
    }
}
