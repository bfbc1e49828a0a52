//! ECS: a server's NICs (`/v1/{project_id}/cloudservers/{server_id}/nics`,
//! `.../nics/delete`, `.../os-interface`) and jobs (`/v1/{project_id}/jobs/{job_id}`),
//! on the core's `vm_nics_add`, `vm_nics_remove`, `job_get` and
//! `vm_interface_quota`. A server is a nicplane VM; a NIC's `subnet_id` is a
//! nicplane network id (Huawei's virtual subnet), `port_id` an interface id.
//! Errors use the ECS shape.

use super::auth::{body, project, HwCaller};
use super::error::{ecs, HwResult, Shape};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use nicplane_domain::ids::*;
use nicplane_domain::model::Timestamp;
use nicplane_domain::Error;
use nicplane_service::interface::AttachSpec;
use nicplane_service::ipam::FixedIpRequest;
use nicplane_service::job::Job;
use serde::Deserialize;
use serde_json::{json, Value};

/// The `device_owner` of a NIC attached to a server (as Nova's, which the
/// port shows through every dialect).
pub const DEVICE_OWNER: &str = "compute:nova";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdIn {
    id: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddNic {
    #[serde(default)]
    subnet_id: Option<String>,
    #[serde(default)]
    port_id: Option<String>,
    #[serde(default)]
    security_groups: Option<Vec<IdIn>>,
    #[serde(default)]
    ip_address: Option<String>,
    #[serde(default)]
    ipv6_enable: Option<bool>,
    /// Accepted; nicplane has no IPv6 bandwidth to bind.
    #[serde(default, rename = "ipv6_bandwidth")]
    _ipv6_bandwidth: Option<Value>,
    #[serde(default)]
    efi_enable: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddBody {
    nics: Vec<AddNic>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteBody {
    nics: Vec<IdIn>,
}

fn server(s: &str) -> Result<VmId, Error> {
    VmId::parse_for_lookup(s)
}

impl AddNic {
    /// `port_id` wins over `subnet_id` (and then groups and address are
    /// ignored, as ECS does).
    fn into_spec(self) -> Result<AttachSpec, Error> {
        if self.efi_enable == Some(true) {
            return Err(Error::invalid_value(
                "efi_enable",
                "EFI (vRoCE) NICs are not supported.",
            ));
        }
        if let Some(port) = self.port_id.filter(|p| !p.is_empty()) {
            return Ok(AttachSpec {
                interface_id: Some(InterfaceId::parse_for_lookup(&port)?),
                device_owner: Some(DEVICE_OWNER.to_string()),
                ..Default::default()
            });
        }
        let subnet = self
            .subnet_id
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::invalid("Each NIC needs a subnet_id or a port_id."))?;
        let network: NetworkId = subnet
            .parse()
            .map_err(|_| Error::invalid_value("subnet_id", format!("'{subnet}' is not a UUID.")))?;
        let ip = self
            .ip_address
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse().map_err(|_| {
                    Error::invalid_value("ip_address", format!("'{s}' is not an IP address."))
                })
            })
            .transpose()?;
        let mut fixed_ips = Vec::new();
        if ip.is_some() || self.ipv6_enable.is_some() {
            fixed_ips.push(FixedIpRequest {
                ip_address: ip,
                ip_version: Some(4),
                ..Default::default()
            });
            if self.ipv6_enable == Some(true) {
                fixed_ips.push(FixedIpRequest {
                    ip_version: Some(6),
                    ..Default::default()
                });
            }
        }
        let security_groups = self
            .security_groups
            .map(|g| {
                g.iter()
                    .map(|i| i.id.parse())
                    .collect::<Result<Vec<SecurityGroupId>, _>>()
            })
            .transpose()?;
        Ok(AttachSpec {
            network_id: Some(network),
            fixed_ips,
            security_groups,
            device_owner: Some(DEVICE_OWNER.to_string()),
            ..Default::default()
        })
    }
}

/// `POST /v1/{project_id}/cloudservers/{server_id}/nics` → `{"job_id"}`.
pub async fn add_nics(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path((p, v)): Path<(String, String)>,
    b: Bytes,
) -> HwResult<Response> {
    let p = project(&p, Shape::Ecs)?;
    let body: AddBody = body(&b, Shape::Ecs)?;
    let specs = body
        .nics
        .into_iter()
        .map(AddNic::into_spec)
        .collect::<Result<Vec<_>, _>>()
        .map_err(ecs)?;
    let job = s
        .service
        .vm_nics_add(&c, &p, server(&v).map_err(ecs)?, specs)
        .await
        .map_err(ecs)?;
    Ok(Json(json!({"job_id": job.id})).into_response())
}

/// `POST /v1/{project_id}/cloudservers/{server_id}/nics/delete` → `{"job_id"}`.
/// The primary NIC is refused at once (403).
pub async fn delete_nics(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path((p, v)): Path<(String, String)>,
    b: Bytes,
) -> HwResult<Response> {
    let p = project(&p, Shape::Ecs)?;
    let body: DeleteBody = body(&b, Shape::Ecs)?;
    let ids = body
        .nics
        .iter()
        .map(|n| InterfaceId::parse_for_lookup(&n.id))
        .collect::<Result<Vec<_>, _>>()
        .map_err(ecs)?;
    let job = s
        .service
        .vm_nics_remove(&c, &p, server(&v).map_err(ecs)?, ids)
        .await
        .map_err(ecs)?;
    Ok(Json(json!({"job_id": job.id})).into_response())
}

/// `GET /v1/{project_id}/cloudservers/{server_id}/os-interface`.
pub async fn interfaces(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path((p, v)): Path<(String, String)>,
) -> HwResult<Response> {
    let p = project(&p, Shape::Ecs)?;
    let (detail, free) = s
        .service
        .vm_interface_quota(&c, &p, server(&v).map_err(ecs)?)
        .await
        .map_err(ecs)?;
    let attachments: Vec<Value> = detail
        .interfaces
        .iter()
        .map(|i| {
            json!({
                "fixed_ips": i.fixed_ips,
                "mac_addr": i.mac_address,
                "net_id": i.network_id,
                "port_id": i.id,
                "port_state": match i.status {
                    nicplane_domain::types::InterfaceStatus::Active => "ACTIVE",
                    nicplane_domain::types::InterfaceStatus::Down => "DOWN",
                    nicplane_domain::types::InterfaceStatus::Build => "BUILD",
                    nicplane_domain::types::InterfaceStatus::Error => "ERROR",
                },
                "delete_on_termination": i.device_owner == "compute:nova",
                "driver_mode": null,
                "min_rate": null,
                "multiqueue_num": null,
                "pci_address": null,
            })
        })
        .collect();
    Ok(Json(json!({
        "attachableQuantity": {"free_nic": free},
        "interfaceAttachments": attachments,
    }))
    .into_response())
}

/// ECS job times: `2016-04-25T20:04:34.604Z`.
fn job_time(t: Option<Timestamp>) -> Value {
    match t {
        Some(t) => json!(crate::timefmt::format(t, crate::timefmt::MILLIS)),
        None => Value::Null,
    }
}

fn job_view(j: &Job) -> Value {
    let subs: Vec<Value> = j
        .entities
        .sub_jobs
        .iter()
        .enumerate()
        .map(|(n, sj)| {
            let mut entities = json!({
                "server_id": j.entities.server_id,
                "nic_id": sj.nic_id,
            });
            if let Some(reason) = &sj.fail_reason {
                entities["errorcode_message"] = json!(reason);
            }
            json!({
                "status": sj.status,
                "entities": entities,
                "job_id": format!("{}{:04}", j.id.0.simple(), n + 1),
                "job_type": sj.job_type,
                "begin_time": job_time(Some(j.begin_time)),
                "end_time": job_time(j.end_time),
                "error_code": sj.error_code,
                "fail_reason": sj.fail_reason,
            })
        })
        .collect();
    let nic_id = match j.entities.sub_jobs.as_slice() {
        [one] => one.nic_id.map(|n| n.to_string()),
        _ => None,
    };
    json!({
        "job_id": j.id,
        "job_type": j.job_type,
        "status": j.status,
        "begin_time": job_time(Some(j.begin_time)),
        "end_time": job_time(j.end_time),
        "error_code": j.error_code,
        "fail_reason": j.fail_reason,
        "entities": {
            "server_id": j.entities.server_id,
            "nic_id": nic_id,
            "sub_jobs": subs,
            "sub_jobs_total": j.entities.sub_jobs.len(),
        },
    })
}

/// `GET /v1/{project_id}/jobs/{job_id}`.
pub async fn show_job(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path((p, id)): Path<(String, String)>,
) -> HwResult<Response> {
    let p = project(&p, Shape::Ecs)?;
    let id = JobId::parse_for_lookup(&id).map_err(ecs)?;
    let job = s.service.job_get(&c, &p, id).await.map_err(ecs)?;
    Ok(Json(job_view(&job)).into_response())
}
