//! `os-hypervisors`: nicplane's hosts (`nicplane host create`) as Nova's
//! hypervisors, for the cloud admin (Nova's `os-hypervisors` policies are
//! admin-only; anyone else gets Nova's 403). A host is `up` while its agent
//! is live (`rules::host_is_live`) and always `enabled`; `running_vms` is
//! the number of VMs placed on it. Its id is the host's UUID at every
//! microversion (Nova answers integers before 2.53; clients treat the id as
//! opaque). nicplane knows nothing of a host's CPUs, memory, disks or
//! address: the detail's capacity fields are 0 and `host_ip` is null.

use super::{NovaAuth, NovaError, NovaResult};
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use nicplane_domain::model::HostLoad;
use nicplane_domain::{Error, Kind};
use serde_json::{json, Value};

/// What Nova's `hypervisor_type` says for a nicplane host: its agent
/// realizes VMs as network namespaces.
const HYPERVISOR_TYPE: &str = "nicplane";

fn forbidden(e: Error, action: &str) -> NovaError {
    match e {
        Error::Forbidden { .. } => NovaError::from(e).with_message(format!(
            "Policy doesn't allow os_compute_api:os-hypervisors:{action} to be performed."
        )),
        other => NovaError::from(other),
    }
}

fn state(h: &HostLoad) -> &'static str {
    if h.live {
        "up"
    } else {
        "down"
    }
}

fn summary(h: &HostLoad) -> Value {
    json!({
        "id": h.host.id.to_string(),
        "hypervisor_hostname": h.host.name,
        "state": state(h),
        "status": "enabled",
    })
}

fn detail(h: &HostLoad) -> Value {
    json!({
        "id": h.host.id.to_string(),
        "hypervisor_hostname": h.host.name,
        "state": state(h),
        "status": "enabled",
        "hypervisor_type": HYPERVISOR_TYPE,
        "hypervisor_version": 1,
        "host_ip": null,
        "service": {"host": h.host.name, "id": h.host.id.to_string(), "disabled_reason": null},
        "running_vms": h.vm_count,
        "cpu_info": "{}",
        "current_workload": 0,
        "disk_available_least": null,
        "free_disk_gb": 0,
        "free_ram_mb": 0,
        "local_gb": 0,
        "local_gb_used": 0,
        "memory_mb": 0,
        "memory_mb_used": 0,
        "vcpus": 0,
        "vcpus_used": 0,
    })
}

/// The hosts, filtered by `hypervisor_hostname_pattern` (a substring, as
/// Nova matches it).
async fn hosts(
    s: &AppState,
    a: &NovaAuth,
    query: Option<&str>,
    action: &str,
) -> NovaResult<Vec<HostLoad>> {
    let pattern = crate::openstack::query_pairs(query)
        .into_iter()
        .find(|(k, _)| k == "hypervisor_hostname_pattern")
        .map(|(_, v)| v);
    let hosts = s
        .service
        .host_list(&a.0.caller)
        .await
        .map_err(|e| forbidden(e, action))?;
    Ok(hosts
        .into_iter()
        .filter(|h| pattern.as_deref().is_none_or(|p| h.host.name.contains(p)))
        .collect())
}

/// `GET /os-hypervisors` (cloud admin).
pub async fn list(
    State(s): State<AppState>,
    a: NovaAuth,
    RawQuery(q): RawQuery,
) -> NovaResult<Json<Value>> {
    let items: Vec<Value> = hosts(&s, &a, q.as_deref(), "list")
        .await?
        .iter()
        .map(summary)
        .collect();
    Ok(Json(json!({ "hypervisors": items })))
}

/// `GET /os-hypervisors/detail` (cloud admin).
pub async fn list_detail(
    State(s): State<AppState>,
    a: NovaAuth,
    RawQuery(q): RawQuery,
) -> NovaResult<Json<Value>> {
    let items: Vec<Value> = hosts(&s, &a, q.as_deref(), "list-detail")
        .await?
        .iter()
        .map(detail)
        .collect();
    Ok(Json(json!({ "hypervisors": items })))
}

/// `GET /os-hypervisors/{id}` (cloud admin).
pub async fn show(
    State(s): State<AppState>,
    a: NovaAuth,
    Path(id): Path<String>,
) -> NovaResult<Json<Value>> {
    let h = hosts(&s, &a, None, "show")
        .await?
        .into_iter()
        .find(|h| h.host.id.to_string() == id)
        .ok_or_else(|| {
            NovaError::from(Error::not_found(Kind::Host, &id))
                .with_message(format!("Hypervisor with ID '{id}' could not be found."))
        })?;
    Ok(Json(json!({ "hypervisor": detail(&h) })))
}
