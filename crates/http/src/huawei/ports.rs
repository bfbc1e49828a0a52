//! Elastic network interfaces ("ports"), the parents of supplementary ones:
//! VPC v3 `GET /v3/{project_id}/ports[/{port_id}]` and VPC v1
//! `POST/GET /v1/{project_id}/ports`, `GET/PUT/DELETE /v1/{project_id}/ports/{port_id}`,
//! mapped onto the core's interfaces (supplementary interfaces are not
//! ports here; they have their own API).
//!
//! v1 `network_id` and v3 `virsubnet_id` are a nicplane network id; v1
//! `fixed_ips[].subnet_id` and v3 `private_ips[].subnet_cidr_id` are nicplane
//! subnet ids.

use super::auth::{body, project, HwCaller};
use super::error::{HwResult, Shape};
use super::vpc::{hw_time, limit_of, page_info, query_pairs, values, vpc_id, LIST_LIMIT_MAX};
use crate::{request_id, AppState};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use nicplane_domain::ids::*;
use nicplane_domain::model::{AddressPair, Interface};
use nicplane_domain::query::{cut_page, InterfaceFilter, PageRequest};
use nicplane_domain::types::InterfaceStatus;
use nicplane_domain::{Error, Kind};
use nicplane_service::interface::{InterfacePatch, InterfaceSpec};
use nicplane_service::ipam::FixedIpRequest;
use nicplane_service::{Caller, WriteOptions};
use serde::Deserialize;
use serde_json::{json, Value};

fn status(s: InterfaceStatus) -> &'static str {
    match s {
        InterfaceStatus::Active => "ACTIVE",
        InterfaceStatus::Down => "DOWN",
        InterfaceStatus::Build => "BUILD",
        InterfaceStatus::Error => "ERROR",
    }
}

fn pairs_view(i: &Interface) -> Vec<Value> {
    i.allowed_address_pairs
        .iter()
        .map(|p| json!({"ip_address": p.ip_address, "mac_address": p.mac_address.clone().unwrap_or_default()}))
        .collect()
}

/// The v3 Port object.
pub fn port_v3(i: &Interface) -> Value {
    json!({
        "id": i.id,
        "name": i.name,
        "description": i.description,
        "admin_state_up": i.admin_state_up,
        "mac_address": i.mac_address,
        "device_id": i.vm_id.map(|v| v.to_string()).unwrap_or_default(),
        "device_owner": i.device_owner,
        "virsubnet_id": i.network_id,
        "vpc_id": vpc_id(&i.project_id, i.data_center_id),
        "private_ips": i.fixed_ips.iter().map(|f| json!({"subnet_cidr_id": f.subnet_id, "ip_address": f.ip_address})).collect::<Vec<_>>(),
        "security_groups": i.security_groups,
        "port_security_enabled": i.port_security_enabled,
        "status": status(i.status),
        "project_id": i.project_id,
        "tenant_id": i.project_id,
        "tags": i.tags,
        "allowed_address_pairs": pairs_view(i),
        "instance_id": "",
        "instance_type": "",
        "scope": "center",
        "zone_id": i.data_center_id,
        "enable_efi": false,
        "created_at": hw_time(i.created_at),
        "updated_at": hw_time(i.updated_at),
    })
}

/// The v1 Port object.
pub fn port_v1(i: &Interface) -> Value {
    json!({
        "id": i.id,
        "name": i.name,
        "network_id": i.network_id,
        "admin_state_up": i.admin_state_up,
        "mac_address": i.mac_address,
        "fixed_ips": i.fixed_ips,
        "device_id": i.vm_id.map(|v| v.to_string()).unwrap_or_default(),
        "device_owner": i.device_owner,
        "tenant_id": i.project_id,
        "status": status(i.status),
        "security_groups": i.security_groups,
        "allowed_address_pairs": pairs_view(i),
        "extra_dhcp_opts": [],
        "binding:vnic_type": "normal",
        "dns_assignment": [],
        "dns_name": "",
        "instance_id": "",
        "instance_type": "",
        "port_security_enabled": i.port_security_enabled,
        "zone_id": i.data_center_id,
    })
}

fn with_request_id(mut v: Value) -> Value {
    v["request_id"] = json!(request_id::current());
    v
}

/// Load an elastic interface; a supplementary one is not a port.
async fn elastic(s: &AppState, c: &Caller, p: &ProjectId, id: &str) -> HwResult<Interface> {
    let id = InterfaceId::parse_for_lookup(id)?;
    let i = s.service.interface_get(c, p, id).await?;
    if i.supplementary {
        return Err(Error::not_found(Kind::Interface, id).into());
    }
    Ok(i)
}

/// A page of the project's ports, with the repeated-key filters of v3
/// (`id`, `virsubnet_id`/`network_id`, `device_id`, `mac_address`, `name`,
/// `status`, `device_owner`) and an exclusive `marker`.
async fn port_page(
    s: &AppState,
    c: &Caller,
    p: &ProjectId,
    q: Option<&str>,
) -> HwResult<(Vec<Interface>, bool)> {
    let pairs = query_pairs(q);
    let limit = limit_of(&pairs, LIST_LIMIT_MAX)?;
    let parse_one = |key: &str| values(&pairs, key).into_iter().next();
    let ids = values(&pairs, "id")
        .iter()
        .map(|v| v.parse::<InterfaceId>())
        .collect::<Result<Vec<_>, _>>()?;
    let network = parse_one("virsubnet_id").or_else(|| parse_one("network_id"));
    let status_filter = parse_one("status").map(|w| status_of(&w));
    let mut filter = InterfaceFilter {
        supplementary: Some(false),
        ids: (!ids.is_empty()).then_some(ids),
        network_id: network.map(|n| n.parse()).transpose()?,
        vm_id: parse_one("device_id")
            .map(|v| v.parse().map(Some))
            .transpose()?,
        mac_address: parse_one("mac_address").map(|v| v.parse()).transpose()?,
        name_ignore_case: parse_one("name"),
        status: status_filter.flatten(),
        device_owner_ignore_case: parse_one("device_owner"),
        ..Default::default()
    };
    if status_filter == Some(None) {
        filter = filter.nothing();
    }
    let by_vm = filter.vm_id.is_some();
    let items = match s
        .service
        .interface_list(
            c,
            p,
            filter,
            PageRequest::probe(limit as u32, parse_one("marker")),
        )
        .await
    {
        // Huawei filters by `device_id`: a VM the project does not have
        // matches no port (the native API answers 404 for it instead).
        Err(Error::NotFound { kind: Kind::Vm, .. }) if by_vm => Vec::new(),
        r => r?,
    };
    let page = cut_page(items, limit, |i| i.id.to_string());
    Ok((page.items, page.next_marker.is_some()))
}

/// The status a `status` filter names (case-insensitively); `None` for a
/// name no port can have.
fn status_of(wanted: &str) -> Option<InterfaceStatus> {
    [
        InterfaceStatus::Active,
        InterfaceStatus::Down,
        InterfaceStatus::Build,
        InterfaceStatus::Error,
    ]
    .into_iter()
    .find(|s| wanted.eq_ignore_ascii_case(status(*s)))
}

/// `GET /v3/{project_id}/ports`.
pub async fn list_v3(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path(p): Path<String>,
    RawQuery(q): RawQuery,
) -> HwResult<Response> {
    let p = project(&p, Shape::Vpc)?;
    let (items, more) = port_page(&s, &c, &p, q.as_deref()).await?;
    let page_info = page_info(&items, more, |i| i.id.to_string());
    let ports: Vec<Value> = items.iter().map(port_v3).collect();
    Ok(Json(with_request_id(
        json!({"ports": ports, "page_info": page_info}),
    ))
    .into_response())
}

/// `GET /v3/{project_id}/ports/{port_id}`.
pub async fn show_v3(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path((p, id)): Path<(String, String)>,
) -> HwResult<Response> {
    let p = project(&p, Shape::Vpc)?;
    let i = elastic(&s, &c, &p, &id).await?;
    Ok(Json(with_request_id(json!({"port": port_v3(&i)}))).into_response())
}

/// `GET /v1/{project_id}/ports`.
pub async fn list_v1(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path(p): Path<String>,
    RawQuery(q): RawQuery,
) -> HwResult<Response> {
    let p = project(&p, Shape::Vpc)?;
    let (items, _) = port_page(&s, &c, &p, q.as_deref()).await?;
    let ports: Vec<Value> = items.iter().map(port_v1).collect();
    Ok(Json(json!({"ports": ports})).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixedIpIn {
    #[serde(default)]
    ip_address: Option<String>,
    #[serde(default)]
    subnet_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PairIn {
    ip_address: String,
    #[serde(default)]
    mac_address: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreatePort {
    network_id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    fixed_ips: Option<Vec<FixedIpIn>>,
    #[serde(default)]
    device_owner: Option<String>,
    #[serde(default)]
    security_groups: Option<Vec<String>>,
    #[serde(default)]
    admin_state_up: Option<bool>,
    #[serde(default)]
    allowed_address_pairs: Option<Vec<PairIn>>,
    #[serde(default)]
    extra_dhcp_opts: Option<Vec<Value>>,
    #[serde(default)]
    tenant_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreatePortBody {
    port: CreatePort,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdatePort {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    security_groups: Option<Vec<String>>,
    #[serde(default)]
    allowed_address_pairs: Option<Vec<PairIn>>,
    #[serde(default)]
    extra_dhcp_opts: Option<Vec<Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdatePortBody {
    port: UpdatePort,
}

fn pairs(p: Option<Vec<PairIn>>) -> Option<Vec<AddressPair>> {
    p.map(|v| {
        v.into_iter()
            .map(|p| AddressPair {
                ip_address: p.ip_address,
                mac_address: p.mac_address.filter(|m| !m.is_empty()),
            })
            .collect()
    })
}

fn groups(g: Option<Vec<String>>) -> Result<Option<Vec<SecurityGroupId>>, Error> {
    g.map(|v| v.iter().map(|s| s.parse()).collect()).transpose()
}

fn no_dhcp_options(o: &Option<Vec<Value>>) -> Result<(), Error> {
    match o {
        Some(v) if !v.is_empty() => Err(Error::invalid_value(
            "extra_dhcp_opts",
            "are not supported.",
        )),
        _ => Ok(()),
    }
}

/// `POST /v1/{project_id}/ports`: an unattached elastic interface.
pub async fn create_v1(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path(p): Path<String>,
    b: Bytes,
) -> HwResult<Response> {
    let p = project(&p, Shape::Vpc)?;
    let body: CreatePortBody = body(&b, Shape::Vpc)?;
    let o = body.port;
    if let Some(t) = &o.tenant_id {
        if !t.eq_ignore_ascii_case(p.as_str()) {
            return Err(Error::invalid_value(
                "tenant_id",
                format!("'{t}' must be the project of the URL."),
            )
            .into());
        }
    }
    no_dhcp_options(&o.extra_dhcp_opts)?;
    let fixed_ips = o
        .fixed_ips
        .unwrap_or_default()
        .into_iter()
        .map(|f| {
            Ok(FixedIpRequest {
                subnet_id: f
                    .subnet_id
                    .filter(|s| !s.is_empty())
                    .map(|s| s.parse())
                    .transpose()?,
                ip_address: f
                    .ip_address
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        s.parse().map_err(|_| {
                            Error::invalid_value(
                                "ip_address",
                                format!("'{s}' is not an IP address."),
                            )
                        })
                    })
                    .transpose()?,
                ip_version: None,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let spec = InterfaceSpec {
        network_id: o.network_id.parse().map_err(|_| {
            Error::invalid_value("network_id", format!("'{}' is not a UUID.", o.network_id))
        })?,
        fixed_ips,
        name: o.name,
        security_groups: groups(o.security_groups)?,
        allowed_address_pairs: pairs(o.allowed_address_pairs).unwrap_or_default(),
        admin_state_up: o.admin_state_up,
        device_owner: o.device_owner,
        ..Default::default()
    };
    let i = s
        .service
        .interface_create(&c, &p, spec, &WriteOptions::default())
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"port": port_v1(&i)}))).into_response())
}

/// `GET /v1/{project_id}/ports/{port_id}`.
pub async fn show_v1(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path((p, id)): Path<(String, String)>,
) -> HwResult<Response> {
    let p = project(&p, Shape::Vpc)?;
    let i = elastic(&s, &c, &p, &id).await?;
    Ok(Json(json!({"port": port_v1(&i)})).into_response())
}

/// `PUT /v1/{project_id}/ports/{port_id}`.
pub async fn update_v1(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path((p, id)): Path<(String, String)>,
    b: Bytes,
) -> HwResult<Response> {
    let p = project(&p, Shape::Vpc)?;
    let body: UpdatePortBody = body(&b, Shape::Vpc)?;
    let o = body.port;
    no_dhcp_options(&o.extra_dhcp_opts)?;
    let i = elastic(&s, &c, &p, &id).await?;
    let patch = InterfacePatch {
        name: o.name,
        security_groups: groups(o.security_groups)?,
        allowed_address_pairs: pairs(o.allowed_address_pairs),
        ..Default::default()
    };
    let i = s
        .service
        .interface_update(&c, &p, i.id, patch, &WriteOptions::default())
        .await?;
    Ok(Json(json!({"port": port_v1(&i)})).into_response())
}

/// `DELETE /v1/{project_id}/ports/{port_id}`: 204. A port that still
/// carries supplementary interfaces is refused (409).
pub async fn delete_v1(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path((p, id)): Path<(String, String)>,
) -> HwResult<Response> {
    let p = project(&p, Shape::Vpc)?;
    let i = elastic(&s, &c, &p, &id).await?;
    s.service
        .interface_delete(&c, &p, i.id, &WriteOptions::default())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
