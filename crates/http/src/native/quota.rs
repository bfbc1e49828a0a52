//! Native quota endpoints: `GET /v1/projects/{id}/quotas` (limits and usage,
//! any member), `PUT` and `DELETE /v1/projects/{id}/quotas` (cloud admin
//! only; DELETE puts the defaults back).

use super::error::ApiResult;
use super::extract::{Auth, Path, Write, WriteOpts};
use super::written;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use nicplane_domain::ids::ProjectId;
use nicplane_domain::quota::{QuotaResource, QuotaUsage};
use serde::{Deserialize, Serialize};

/// A project's limits and usage.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuotaReport {
    #[schema(value_type = String)]
    pub project_id: ProjectId,
    /// One entry per resource; `limit` -1 is unlimited.
    pub quotas: Vec<QuotaUsage>,
}

/// New limits; resources left out keep theirs. -1 is unlimited.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaUpdate {
    pub network: Option<i64>,
    pub subnet: Option<i64>,
    pub port: Option<i64>,
    pub floatingip: Option<i64>,
    pub security_group: Option<i64>,
    pub security_group_rule: Option<i64>,
    pub router: Option<i64>,
}

impl QuotaUpdate {
    /// The limits given, by resource.
    pub fn limits(&self) -> Vec<(QuotaResource, i64)> {
        [
            (QuotaResource::Network, self.network),
            (QuotaResource::Subnet, self.subnet),
            (QuotaResource::Port, self.port),
            (QuotaResource::Floatingip, self.floatingip),
            (QuotaResource::SecurityGroup, self.security_group),
            (QuotaResource::SecurityGroupRule, self.security_group_rule),
            (QuotaResource::Router, self.router),
        ]
        .into_iter()
        .filter_map(|(r, v)| v.map(|v| (r, v)))
        .collect()
    }
}

/// The project's quota limits and usage.
#[utoipa::path(get, path = "/v1/projects/{project_id}/quotas", operation_id = "quota_show", tag = "admin",
    params(("project_id" = String, Path)), responses((status = 200, body = QuotaReport)))]
pub async fn quota_show(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<QuotaReport>> {
    let project = ProjectId::parse_for_lookup(&id)?;
    let quotas = s.service.quota_show(&c, &project).await?;
    Ok(Json(QuotaReport {
        project_id: project,
        quotas,
    }))
}

/// Set some of the project's limits (cloud admin). A limit below the usage
/// is accepted; creates are then refused until the usage drops.
#[utoipa::path(put, path = "/v1/projects/{project_id}/quotas", operation_id = "quota_set", tag = "admin",
    params(("project_id" = String, Path)), request_body = QuotaUpdate,
    responses((status = 200, body = QuotaReport), (status = 403, body = super::error::ErrorBody)))]
pub async fn quota_set(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<String>,
    w: Write<QuotaUpdate>,
) -> ApiResult<Response> {
    let project = ProjectId::parse_for_lookup(&id)?;
    let quotas = s
        .service
        .quota_set(&c, &project, w.body.limits(), &w.opts)
        .await?;
    Ok(written(
        w.opts.dry_run,
        StatusCode::OK,
        QuotaReport {
            project_id: project,
            quotas,
        },
    ))
}

/// Put the project's limits back to the deployment defaults (cloud admin).
#[utoipa::path(delete, path = "/v1/projects/{project_id}/quotas", operation_id = "quota_reset", tag = "admin",
    params(("project_id" = String, Path)),
    responses((status = 204), (status = 403, body = super::error::ErrorBody)))]
pub async fn quota_reset(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<String>,
    WriteOpts(o): WriteOpts,
) -> ApiResult<Response> {
    let project = ProjectId::parse_for_lookup(&id)?;
    s.service.quota_reset(&c, &project, &o).await?;
    Ok(super::deleted(o.dry_run))
}
