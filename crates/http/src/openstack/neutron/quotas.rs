//! Neutron's quota API (`quotas` and `quota_details` extensions): what
//! `openstack quota show|set|delete` call. Limits and usage come from the
//! service's quota use cases; only the cloud admin changes them (Neutron's
//! `update_quota`/`delete_quota` policy is admin-only).

use super::{body_object, no_content, NeutronAuth, NeutronError, NeutronJson, NeutronResult};
use crate::AppState;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use nicplane_domain::ids::ProjectId;
use nicplane_domain::quota::{QuotaResource, QuotaUsage};
use nicplane_domain::Error;
use nicplane_service::WriteOptions;
use serde_json::{json, Map, Value};

/// `{"network": 100, …}`: the limits of a report.
fn limits_view(report: &[QuotaUsage]) -> Map<String, Value> {
    report
        .iter()
        .map(|q| (q.resource.to_string(), json!(q.limit)))
        .collect()
}

fn project(id: &str) -> NeutronResult<ProjectId> {
    Ok(ProjectId::parse_for_lookup(id)?)
}

/// The project a read names: a non-admin reads its token's project only, as
/// Neutron's quota controller answers ("Non-admin is not authorized to access
/// quotas for another project").
fn readable(a: &super::super::Scoped, id: &str) -> NeutronResult<ProjectId> {
    let p = project(id)?;
    if !a.caller.user.is_cloud_admin && p != a.project {
        return Err(NeutronError::from(Error::forbidden(
            "Non-admin is not authorized to access quotas for another project",
        )));
    }
    Ok(p)
}

/// Neutron's answer when a non-admin changes quotas.
fn policy(e: Error, action: &str) -> NeutronError {
    let forbidden = matches!(e, Error::Forbidden { .. });
    let n = NeutronError::from(e);
    if forbidden {
        n.with(
            "PolicyNotAuthorized",
            format!("rule:{action} is disallowed by policy"),
        )
    } else {
        n
    }
}

/// `GET /v2.0/quotas/{project_id}`.
pub async fn show(
    State(s): State<AppState>,
    NeutronAuth(a): NeutronAuth,
    Path(id): Path<String>,
) -> NeutronResult<Json<Value>> {
    let report = s.service.quota_show(&a.caller, &readable(&a, &id)?).await?;
    Ok(Json(json!({ "quota": limits_view(&report) })))
}

/// `GET /v2.0/quotas/{project_id}/details`: limit, used and reserved.
pub async fn details(
    State(s): State<AppState>,
    NeutronAuth(a): NeutronAuth,
    Path(id): Path<String>,
) -> NeutronResult<Json<Value>> {
    let report = s.service.quota_show(&a.caller, &readable(&a, &id)?).await?;
    let quota: Map<String, Value> = report
        .iter()
        .map(|q| {
            (
                q.resource.to_string(),
                json!({"limit": q.limit, "used": q.used, "reserved": q.reserved}),
            )
        })
        .collect();
    Ok(Json(json!({ "quota": quota })))
}

/// `GET /v2.0/quotas/{project_id}/default`: the deployment defaults.
pub async fn defaults(
    State(s): State<AppState>,
    NeutronAuth(a): NeutronAuth,
    Path(id): Path<String>,
) -> NeutronResult<Json<Value>> {
    // Like the other reads, only members (and the cloud admin) may ask.
    s.service.quota_show(&a.caller, &readable(&a, &id)?).await?;
    let d = s.service.quota_defaults(&a.caller).await?;
    let quota: Map<String, Value> = d
        .into_iter()
        .map(|(r, l)| (r.to_string(), json!(l)))
        .collect();
    Ok(Json(json!({ "quota": quota })))
}

/// `GET /v2.0/quotas/tenant`: the project of the token.
pub async fn tenant(NeutronAuth(a): NeutronAuth) -> Json<Value> {
    Json(json!({"tenant": {"tenant_id": a.project.to_string()}}))
}

/// `GET /v2.0/quotas` (cloud admin): projects with limits of their own.
pub async fn list(
    State(s): State<AppState>,
    NeutronAuth(a): NeutronAuth,
) -> NeutronResult<Json<Value>> {
    let all = s
        .service
        .quota_list(&a.caller)
        .await
        .map_err(|e| policy(e, "get_quota"))?;
    let quotas: Vec<Value> = all
        .into_iter()
        .map(|(p, report)| {
            let mut m = limits_view(&report);
            m.insert("project_id".into(), json!(p.to_string()));
            m.insert("tenant_id".into(), json!(p.to_string()));
            Value::Object(m)
        })
        .collect();
    Ok(Json(json!({ "quotas": quotas })))
}

/// One limit of a request body: an integer, or a string of one (Neutron
/// converts with `convert_to_int`).
fn limit_value(resource: QuotaResource, v: &Value) -> NeutronResult<i64> {
    let n = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.ok_or_else(|| {
        NeutronError::from(Error::invalid(format!(
            "Invalid input for {resource}. Reason: '{v}' is not an integer."
        )))
    })
}

/// `PUT /v2.0/quotas/{project_id}` with `{"quota": {"port": 10, …}}`
/// (cloud admin). A limit below the usage is accepted, as Neutron does
/// without `check_limit`.
pub async fn update(
    State(s): State<AppState>,
    NeutronAuth(a): NeutronAuth,
    Path(id): Path<String>,
    NeutronJson(body): NeutronJson,
) -> NeutronResult<Json<Value>> {
    let obj = body_object(&body, "quota")?;
    let mut limits = Vec::new();
    let mut unknown = Vec::new();
    for (k, v) in obj {
        if k == "check_limit" || k == "force" {
            continue;
        }
        match k.parse::<QuotaResource>() {
            Ok(r) => limits.push((r, limit_value(r, v)?)),
            Err(_) => unknown.push(k.as_str()),
        }
    }
    if !unknown.is_empty() {
        return Err(NeutronError::from(Error::invalid(format!(
            "Unrecognized attribute(s) '{}'",
            unknown.join(", ")
        ))));
    }
    let report = s
        .service
        .quota_set(&a.caller, &project(&id)?, limits, &WriteOptions::default())
        .await
        .map_err(|e| policy(e, "update_quota"))?;
    Ok(Json(json!({ "quota": limits_view(&report) })))
}

/// `DELETE /v2.0/quotas/{project_id}` (cloud admin): back to the defaults.
pub async fn delete(
    State(s): State<AppState>,
    NeutronAuth(a): NeutronAuth,
    Path(id): Path<String>,
) -> NeutronResult<Response> {
    s.service
        .quota_reset(&a.caller, &project(&id)?, &WriteOptions::default())
        .await
        .map_err(|e| policy(e, "delete_quota"))?;
    Ok(no_content())
}
