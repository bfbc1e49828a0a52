//! Nova's `os-quota-sets`, so that `openstack quota show` (which asks Nova
//! as well as Neutron) works. nicplane keeps no compute quotas: every Nova
//! key is reported unlimited (-1), with no usage tracked. The network
//! quotas are Neutron's (`/v2.0/quotas`); the interface limit per VM is a
//! deployment setting, not a quota.

use super::{NovaAuth, NovaResult};
use crate::AppState;
use axum::extract::{Path, State};
use axum::Json;
use nicplane_domain::ids::ProjectId;
use serde_json::{json, Map, Value};

/// The keys of Nova's quota set at the microversions nicplane speaks.
const NOVA_KEYS: &[&str] = &[
    "cores",
    "instances",
    "ram",
    "key_pairs",
    "metadata_items",
    "server_groups",
    "server_group_members",
];

fn quota_set(id: &str, value: impl Fn() -> Value) -> Value {
    let mut m: Map<String, Value> = NOVA_KEYS.iter().map(|k| (k.to_string(), value())).collect();
    m.insert("id".into(), json!(id));
    json!({ "quota_set": m })
}

/// Only members of the project (and the cloud admin) may look.
async fn check(s: &AppState, a: &super::super::Scoped, id: &str) -> NovaResult<()> {
    s.service
        .quota_show(&a.caller, &ProjectId::parse_for_lookup(id)?)
        .await?;
    Ok(())
}

/// `GET /os-quota-sets/{project_id}`.
pub async fn show(
    State(s): State<AppState>,
    NovaAuth(a): NovaAuth,
    Path(id): Path<String>,
) -> NovaResult<Json<Value>> {
    check(&s, &a, &id).await?;
    Ok(Json(quota_set(&id, || json!(-1))))
}

/// `GET /os-quota-sets/{project_id}/detail`.
pub async fn detail(
    State(s): State<AppState>,
    NovaAuth(a): NovaAuth,
    Path(id): Path<String>,
) -> NovaResult<Json<Value>> {
    check(&s, &a, &id).await?;
    Ok(Json(quota_set(
        &id,
        || json!({"limit": -1, "in_use": 0, "reserved": 0}),
    )))
}

/// `GET /os-quota-sets/{project_id}/defaults`.
pub async fn defaults(NovaAuth(_a): NovaAuth, Path(id): Path<String>) -> Json<Value> {
    Json(quota_set(&id, || json!(-1)))
}
