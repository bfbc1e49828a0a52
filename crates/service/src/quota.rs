//! Quota use cases: show a project's limits and usage (any member), set and
//! reset them (the cloud admin only, in every dialect, as Neutron's policy
//! `update_quota`/`delete_quota: admin_only`).
//!
//! Charging and releasing are not here: the triggers of
//! `crates/store/migrations/*/0006_quotas.sql` do both on every insert and
//! delete of a counted row, in the writing transaction, and refuse the insert
//! that would pass the limit (`rules::within_quota`, repeated in SQL). No use
//! case can forget a release, and a cascade (a VM delete removing its
//! interfaces, a group delete removing its rules) is counted like any delete.

use crate::{authorize, Caller, Need, Service, WriteOptions};
use nicplane_domain::feed::Action;
use nicplane_domain::ids::ProjectId;
use nicplane_domain::quota::{QuotaResource, QuotaUsage};
use nicplane_domain::{rules, Error, Result};

/// Neutron's defaults, the deployment defaults unless configured otherwise.
pub fn neutron_defaults() -> Vec<(QuotaResource, i64)> {
    QuotaResource::ALL
        .into_iter()
        .map(|r| (r, r.neutron_default()))
        .collect()
}

impl Service {
    /// Write the configured default limits into the store (at start; servers
    /// sharing one database must be configured alike).
    pub async fn quota_defaults_apply(&self) -> Result<()> {
        let defaults = self.config.quota_defaults.clone();
        for (r, limit) in &defaults {
            rules::quota_limit_valid(*r, *limit)?;
        }
        self.store
            .write(move |tx| {
                for (r, limit) in &defaults {
                    tx.quota_default_set(*r, *limit)?;
                }
                Ok(())
            })
            .await
    }

    /// `quota_show`: the project's limits and usage; any member may look.
    pub async fn quota_show(
        &self,
        caller: &Caller,
        project: &ProjectId,
    ) -> Result<Vec<QuotaUsage>> {
        self.project_read(caller, project, Need::Read, |tx, p| tx.quota_get(p))
            .await
    }

    /// `quota_defaults`: the deployment's default limits.
    pub async fn quota_defaults(&self, _caller: &Caller) -> Result<Vec<(QuotaResource, i64)>> {
        self.store.read(|tx| tx.quota_defaults()).await
    }

    /// `quota_set` (cloud admin): set some limits of a project; the others
    /// keep theirs. A limit below the usage is allowed (as in Neutron).
    pub async fn quota_set(
        &self,
        caller: &Caller,
        project: &ProjectId,
        limits: Vec<(QuotaResource, i64)>,
        opts: &WriteOptions,
    ) -> Result<Vec<QuotaUsage>> {
        require_quota_admin(caller)?;
        for (r, limit) in &limits {
            rules::quota_limit_valid(*r, *limit)?;
        }
        let c = caller.clone();
        let p = project.clone();
        let changes = limits.clone();
        let report = self
            .write(caller, opts, move |tx| {
                authorize(tx, &c, &p, Need::Administer)?;
                for (r, limit) in &limits {
                    tx.quota_set(&p, *r, *limit)?;
                }
                let usage = tx.quota_get(&p)?;
                crate::feed::emit_kind(
                    tx,
                    "quota",
                    &p,
                    Some(&p),
                    Action::Update,
                    // An event's resource is an object: the project's quotas.
                    Some(&serde_json::json!({ "quotas": &usage })),
                )?;
                Ok(usage)
            })
            .await?;
        if !opts.dry_run {
            for (r, limit) in &changes {
                tracing::info!(
                    event = "quota_set",
                    user = %caller.user.name,
                    project = %project,
                    resource = %r,
                    limit,
                    "quota changed"
                );
            }
        }
        Ok(report)
    }

    /// `quota_reset` (cloud admin): the project's limits go back to the
    /// defaults (Neutron `DELETE /v2.0/quotas/{project_id}`).
    pub async fn quota_reset(
        &self,
        caller: &Caller,
        project: &ProjectId,
        opts: &WriteOptions,
    ) -> Result<()> {
        require_quota_admin(caller)?;
        let c = caller.clone();
        let p = project.clone();
        self.write(caller, opts, move |tx| {
            authorize(tx, &c, &p, Need::Administer)?;
            tx.quota_reset(&p)?;
            let usage = tx.quota_get(&p)?;
            crate::feed::emit_kind(
                tx,
                "quota",
                &p,
                Some(&p),
                Action::Update,
                // An event's resource is an object: the project's quotas.
                Some(&serde_json::json!({ "quotas": &usage })),
            )
        })
        .await
    }

    /// `quota_list` (cloud admin): the projects with limits of their own and
    /// those limits (Neutron `GET /v2.0/quotas`).
    pub async fn quota_list(&self, caller: &Caller) -> Result<Vec<(ProjectId, Vec<QuotaUsage>)>> {
        require_quota_admin(caller)?;
        self.store
            .read(|tx| {
                let mut out = Vec::new();
                for p in tx.quota_projects()? {
                    out.push((p.clone(), tx.quota_get(&p)?));
                }
                Ok(out)
            })
            .await
    }
}

/// Only the cloud admin changes quotas (a Tenant Administrator cannot raise
/// its own).
fn require_quota_admin(caller: &Caller) -> Result<()> {
    if !caller.user.is_cloud_admin {
        tracing::warn!(
            event = "policy_denied",
            action = "quota_change",
            user = %caller.user.name,
            "only the cloud admin can change quotas"
        );
        return Err(Error::forbidden("Only the cloud admin can change quotas."));
    }
    Ok(())
}
