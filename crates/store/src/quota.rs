//! Queries for quotas (issue 9), on the tables of
//! `migrations/*/0006_quotas.sql`. A supertrait of [`Tx`](crate::Tx); it is
//! implemented once, for both engines, in `sql/quota.rs`.
//!
//! Usage is not written here: the triggers of that migration charge and
//! release it on every insert and delete of a counted row, and refuse an
//! insert that takes it past the limit (except SQLite's port charge, made by
//! the store's one interface INSERT since migration 0026: `SqlTx::port_charge`).
//! These methods read it and set limits.

use nicplane_domain::ids::ProjectId;
use nicplane_domain::quota::{QuotaResource, QuotaUsage};
use nicplane_domain::Result;

/// Prefix of the message the quota triggers abort with; the resource name
/// follows.
pub const OVER_QUOTA_MESSAGE: &str = "nicplane over quota: ";

/// Decode a quota trigger's abort message into the domain error.
pub fn decode_over_quota(msg: &str) -> Option<nicplane_domain::Error> {
    let at = msg.find(OVER_QUOTA_MESSAGE)?;
    let name = msg[at + OVER_QUOTA_MESSAGE.len()..]
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .next()
        .unwrap_or("");
    let resource: QuotaResource = name.parse().ok()?;
    Some(nicplane_domain::rules::over_quota(resource))
}

/// Quota queries, run inside the caller's transaction.
pub trait QuotaTx {
    /// Every resource's effective limit (the project's, else the default) and
    /// usage, in [`QuotaResource::ALL`] order. One indexed row per resource.
    fn quota_get(&mut self, project: &ProjectId) -> Result<Vec<QuotaUsage>>;
    /// The deployment defaults, in [`QuotaResource::ALL`] order.
    fn quota_defaults(&mut self) -> Result<Vec<(QuotaResource, i64)>>;
    /// Set a deployment default (`nicplane serve` at start).
    fn quota_default_set(&mut self, resource: QuotaResource, limit: i64) -> Result<()>;
    /// Set a project's limit of a resource.
    fn quota_set(&mut self, project: &ProjectId, resource: QuotaResource, limit: i64)
        -> Result<()>;
    /// Drop a project's own limits (back to the defaults).
    fn quota_reset(&mut self, project: &ProjectId) -> Result<()>;
    /// Projects with at least one limit of their own, by id.
    fn quota_projects(&mut self) -> Result<Vec<ProjectId>>;
}
