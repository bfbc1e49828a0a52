//! Native endpoints: hosts (cloud admin) and the agent's own endpoints.
//!
//! `/v1/hosts` is part of the OpenAPI document. `/v1/agent/desired-state`
//! and `/v1/agent/status` take an agent credential (`npa.<host>.<secret>`,
//! as `Authorization: Bearer`), not a token: they are the agent's protocol,
//! outside the document (docs/dataplane.md describes them). A token is
//! refused there and an agent credential everywhere else (401).

use super::error::{ApiError, ApiResult};
use super::extract::{bearer, Auth, Query, Write};
use super::written;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use nicplane_domain::model::{Host, HostLoad};
use nicplane_domain::Error;
use nicplane_service::host::*;
use serde::Deserialize;

/// Hosts with their VM counts and whether their agent is live, by name.
#[utoipa::path(get, path = "/v1/hosts", operation_id = "host_list", tag = "admin",
    responses((status = 200, body = Vec<HostLoad>)))]
pub async fn host_list(State(s): State<AppState>, Auth(c): Auth) -> ApiResult<Json<Vec<HostLoad>>> {
    Ok(Json(s.service.host_list(&c).await?))
}

/// Register a host of a data center (cloud admin); the answer is the only
/// time its agent credential is shown.
#[utoipa::path(post, path = "/v1/hosts", operation_id = "host_create", tag = "admin",
    request_body = HostSpec, responses((status = 201, body = HostCreated)))]
pub async fn host_create(
    State(s): State<AppState>,
    Auth(c): Auth,
    w: Write<HostSpec>,
) -> ApiResult<Response> {
    let h = s.service.host_create(&c, w.body, &w.opts).await?;
    Ok(written(w.opts.dry_run, StatusCode::CREATED, h))
}

/// The host of an agent credential.
pub struct AgentAuth(pub Host);

impl FromRequestParts<AppState> for AgentAuth {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let credential = bearer(parts).ok_or_else(|| {
            Error::unauthenticated(
                "Send the agent credential as 'Authorization: Bearer <credential>'.",
            )
        })?;
        let host = state.service.agent_authenticate(&credential).await?;
        crate::request_id::set_user(&format!("agent of host {} ({})", host.name, host.id));
        Ok(AgentAuth(host))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesiredQuery {
    pub marker: Option<String>,
    pub limit: Option<u32>,
}

/// `GET /v1/agent/desired-state`: one page of the host's VMs with their
/// interfaces and networks.
pub async fn agent_desired_state(
    State(s): State<AppState>,
    AgentAuth(h): AgentAuth,
    Query(q): Query<DesiredQuery>,
) -> ApiResult<Json<DesiredState>> {
    Ok(Json(
        s.service
            .agent_desired_state(&h, q.marker.as_deref(), q.limit)
            .await?,
    ))
}

/// `POST /v1/agent/status`: what the agent observed per interface.
pub async fn agent_status_report(
    State(s): State<AppState>,
    AgentAuth(h): AgentAuth,
    body: Bytes,
) -> ApiResult<Json<StatusAck>> {
    let report: StatusReport = serde_json::from_slice(&body)
        .map_err(|e| ApiError(Error::invalid(crate::body_error_message(&e))))?;
    Ok(Json(s.service.agent_status_report(&h, report).await?))
}
