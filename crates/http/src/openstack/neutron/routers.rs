//! Routers (`router` and `ext-gw-mode` extensions): the core's routers.
//!
//! The external network of a gateway is a data center's external network
//! (its id is the data center's id, its subnets the public IP pools, see
//! `networks.rs`); a router lives in one data center: the gateway's, else
//! the one `availability_zone_hints` names, else the first. Interfaces are
//! added and removed with `PUT /routers/{id}/add_router_interface` and
//! `remove_router_interface` by `subnet_id` or `port_id`. No rule is decided
//! here: the handlers translate bodies and views only.

use super::body::{boolean, decode, present, text};
use super::networks::{zone_hints, Zones};
use super::query::ListQuery;
use super::{
    body_object, created, for_create, no_content, with_revision, with_revisions, IfMatch,
    NeutronAuth, NeutronError, NeutronJson, NeutronResult,
};
use crate::openstack::{base_url, os_time, Scoped};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Response;
use axum::Json;
use nicplane_domain::ids::*;
use nicplane_domain::model::{Revisioned, Router, RouterInterface};
use nicplane_domain::query::ChunkWalk;
use nicplane_domain::{Error, Kind};
use nicplane_service::router::{
    GatewayIpRequest, GatewaySpec, RouterInterfaceSpec, RouterPatch, RouterSpec,
};
use nicplane_service::WriteOptions;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// Filterable attributes of a router.
pub const ROUTER_ATTRS: &[&str] = &[
    "id",
    "name",
    "description",
    "tenant_id",
    "project_id",
    "admin_state_up",
    "status",
    "external_gateway_info",
    "routes",
    "availability_zone_hints",
    "availability_zones",
    "tags",
    "created_at",
    "updated_at",
];

/// A router as Neutron shows it.
pub fn router_view(r: &Router, zones: &Zones) -> Value {
    let project = r.project_id.to_string();
    let zone = zones
        .names
        .get(&r.data_center_id)
        .cloned()
        .unwrap_or_default();
    let gateway = r.gateway.as_ref().map(|g| {
        json!({
            "network_id": g.network_id.to_string(), "enable_snat": g.enable_snat,
            "external_fixed_ips": g.external_fixed_ips.iter().map(|ip| json!({
                "subnet_id": ip.pool_id.to_string(), "ip_address": ip.ip_address.to_string(),
            })).collect::<Vec<_>>(),
        })
    });
    json!({
        "id": r.id.to_string(), "name": r.name, "description": r.description,
        "tenant_id": project, "project_id": project, "admin_state_up": r.admin_state_up,
        "status": r.status, "external_gateway_info": gateway, "routes": [],
        "availability_zone_hints": [zone.clone()], "availability_zones": [zone],
        "tags": [], "revision_number": 1, "created_at": os_time(r.created_at), "updated_at": os_time(r.updated_at),
    })
}

fn router_id(id: &str) -> NeutronResult<RouterId> {
    Ok(RouterId::parse_for_lookup(id)?)
}

/// One entry of `external_fixed_ips`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExternalIpBody {
    #[serde(default, deserialize_with = "text")]
    subnet_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    ip_address: Option<String>,
}

/// `external_gateway_info`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GatewayBody {
    #[serde(default, deserialize_with = "text")]
    network_id: Option<String>,
    #[serde(default, deserialize_with = "boolean")]
    enable_snat: Option<bool>,
    #[serde(default)]
    external_fixed_ips: Option<Vec<Value>>,
}

/// The body of `POST /routers`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouterCreate {
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    description: Option<String>,
    #[serde(default, deserialize_with = "boolean")]
    admin_state_up: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    external_gateway_info: Option<Value>,
    #[serde(default, deserialize_with = "zone_hints")]
    availability_zone_hints: Vec<String>,
    #[serde(default, deserialize_with = "present")]
    tenant_id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    project_id: Option<Value>,
}

/// The body of `PUT /routers/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouterUpdate {
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    description: Option<String>,
    #[serde(default, deserialize_with = "boolean")]
    admin_state_up: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    external_gateway_info: Option<Value>,
}

/// The body of `add_router_interface` / `remove_router_interface`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InterfaceBody {
    #[serde(default, deserialize_with = "text")]
    subnet_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    port_id: Option<String>,
}

/// A gateway body: `None` for null or `{}` (no gateway), else the data
/// center it names and the gateway to set.
async fn gateway(
    s: &AppState,
    a: &Scoped,
    v: &Value,
    zones: &Zones,
) -> NeutronResult<Option<(DataCenterId, GatewaySpec)>> {
    let obj = match v {
        Value::Null => return Ok(None),
        Value::Object(m) if m.is_empty() => return Ok(None),
        Value::Object(m) => m,
        _ => {
            return Err(NeutronError::from(Error::invalid(
                "Invalid input for external_gateway_info. Reason: Expected a dictionary.",
            )))
        }
    };
    let g: GatewayBody = decode(obj)?;
    let network = g.network_id.ok_or_else(|| {
        NeutronError::from(Error::invalid(
            "Invalid input for external_gateway_info. Reason: network_id is required.",
        ))
    })?;
    let Some(ext) = zones.external_by_id(&network) else {
        // Not an external network: the core says why (404, or 400 which
        // Neutron raises as `BadRequest`).
        s.service
            .router_gateway_network_check(
                &a.caller,
                &a.project,
                NetworkId::parse_for_lookup(&network)?,
            )
            .await
            .map_err(|e| match &e {
                Error::InvalidRequest { message } => {
                    let message = message.clone();
                    NeutronError::from(e).with("BadRequest", message)
                }
                _ => NeutronError::from(e),
            })?;
        return Err(NeutronError::from(Error::not_found(
            Kind::Network,
            &network,
        )));
    };
    let ips = match g.external_fixed_ips {
        None => None,
        Some(list) => {
            let mut out = Vec::new();
            for item in list {
                let obj: &Map<String, Value> = item.as_object().ok_or_else(|| {
                    NeutronError::from(Error::invalid(
                        "Invalid input for external_fixed_ips. Reason: Expected a list of dictionaries.",
                    ))
                })?;
                let b: ExternalIpBody = decode(obj)?;
                let pool_id = b
                    .subnet_id
                    .map(|s| {
                        PoolId::parse_for_lookup(&s).map_err(|_| Error::not_found(Kind::Subnet, s))
                    })
                    .transpose()?;
                let ip_address = b
                    .ip_address
                    .map(|a| {
                        a.parse().map_err(|_| {
                            Error::invalid(format!(
                                "Invalid input for ip_address. Reason: '{a}' is not a valid IP address."
                            ))
                        })
                    })
                    .transpose()?;
                out.push(GatewayIpRequest {
                    pool_id,
                    ip_address,
                });
            }
            Some(out)
        }
    };
    Ok(Some((
        ext.data_center_id,
        GatewaySpec {
            network_id: Some(ext.id),
            enable_snat: g.enable_snat,
            external_fixed_ips: ips,
        },
    )))
}

/// `GET /routers`.
pub async fn list(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    uri: Uri,
) -> NeutronResult<Json<Value>> {
    let q = ListQuery::parse(uri.query(), ROUTER_ATTRS)?;
    let zones = Zones::load(&s, &a).await?;
    if s.service.lists_every_project(&a.caller) {
        return every_project(&s, &a, q, &zones).await;
    }
    let routers = s.service.router_list(&a.caller, &a.project).await?;
    let mut items: Vec<Value> = routers.iter().map(|r| router_view(r, &zones)).collect();
    with_revisions(&s, &a, Revisioned::Router, &mut items).await?;
    Ok(Json(q.apply(items, "routers", &base_url(&s))?))
}

/// `GET /routers` for the cloud admin: every project's routers, as Neutron
/// shows its admin, walked in id order through the store in bounded chunks
/// and cut into pages of at most
/// [`super::floatingips::EVERY_PROJECT_PAGE_MAX`] (by id only, as the
/// floating IPs).
async fn every_project(
    s: &AppState,
    a: &Scoped,
    mut q: ListQuery,
    zones: &Zones,
) -> NeutronResult<Json<Value>> {
    if q.page_reverse || q.sort.iter().any(|(k, asc)| k != "id" || !asc) {
        return Err(NeutronError::from(Error::invalid(
            "Every project's routers are listed by id, ascending: give no sort_key but id and no page_reverse.",
        )));
    }
    let max = super::floatingips::EVERY_PROJECT_PAGE_MAX;
    let limit = q.limit.map_or(max, |l| l.min(max));
    q.limit = Some(limit);
    if let Some(m) = q.store_marker() {
        let owner = super::on_object(s, a.clone(), Revisioned::Router, m).await?;
        s.service
            .router_get(&owner.caller, &owner.project, router_id(m)?)
            .await?;
    }
    let mut walk = ChunkWalk::new(q.store_marker().map(str::to_string), Vec::new());
    let mut items = Vec::new();
    while let Some(page) = walk.request() {
        let rows = s.service.router_list_every_project(&a.caller, page).await?;
        walk.advance(rows.len(), rows.last().map(|r| r.id.to_string()));
        let mut views: Vec<Value> = rows.iter().map(|r| router_view(r, zones)).collect();
        with_revisions(s, a, Revisioned::Router, &mut views).await?;
        items.extend(views.into_iter().filter(|v| q.matches_view(v)));
        if items.len() > limit {
            break;
        }
    }
    Ok(Json(q.render(items, "routers", &base_url(s))))
}

/// `GET /routers/{id}`.
pub async fn show(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
) -> NeutronResult<Json<Value>> {
    let a = super::on_object(&s, a, Revisioned::Router, &id).await?;
    // Checks the query; `fields=` itself is applied to every show by the
    // Neutron dispatch (`project_show`).
    ListQuery::parse(uri.query(), ROUTER_ATTRS)?;
    let zones = Zones::load(&s, &a).await?;
    let r = s
        .service
        .router_get(&a.caller, &a.project, router_id(&id)?)
        .await?;
    let v = with_revision(&s, &a, Revisioned::Router, router_view(&r, &zones)).await?;
    Ok(Json(json!({ "router": v })))
}

/// `POST /routers`: 201.
pub async fn create(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    NeutronJson(body): NeutronJson,
) -> NeutronResult<Response> {
    let b: RouterCreate = decode(body_object(&body, "router")?)?;
    let a = for_create(&s, &a, &b.project_id, &b.tenant_id)?;
    let zones = Zones::load(&s, &a).await?;
    let gw = match &b.external_gateway_info {
        Some(v) => gateway(&s, &a, v, &zones).await?,
        None => None,
    };
    // The router's data center: the one its hints name, else its gateway's
    // (the core refuses a gateway of another data center).
    let data_center_id = match (&gw, b.availability_zone_hints.is_empty()) {
        (Some((dc, _)), true) => *dc,
        _ => zones.pick(&b.availability_zone_hints)?,
    };
    let r = s
        .service
        .router_create(
            &a.caller,
            &a.project,
            RouterSpec {
                name: b.name.unwrap_or_default(),
                description: b.description.unwrap_or_default(),
                admin_state_up: b.admin_state_up,
                data_center_id,
                gateway: gw.map(|(_, g)| g),
            },
            &WriteOptions::default(),
        )
        .await?;
    let v = with_revision(&s, &a, Revisioned::Router, router_view(&r, &zones)).await?;
    Ok(created(json!({ "router": v })))
}

/// `PUT /routers/{id}`: name, description, admin state, gateway (null or
/// `{}` clears it); `If-Match: revision_number=N` as on other resources.
pub async fn update(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    if_match: IfMatch,
    NeutronJson(body): NeutronJson,
) -> NeutronResult<Json<Value>> {
    let a = super::on_object(&s, a, Revisioned::Router, &id).await?;
    let b: RouterUpdate = decode(body_object(&body, "router")?)?;
    let id = router_id(&id)?;
    let zones = Zones::load(&s, &a).await?;
    let mut patch = RouterPatch {
        name: b.name,
        description: b.description,
        admin_state_up: b.admin_state_up,
        ..RouterPatch::default()
    };
    if let Some(v) = &b.external_gateway_info {
        match gateway(&s, &a, v, &zones).await? {
            None => patch.clear_gateway = true,
            Some((_, g)) => patch.gateway = Some(g),
        }
    }
    let r = s
        .service
        .router_update(
            &a.caller,
            &a.project,
            id,
            patch,
            &if_match.on(Revisioned::Router, id),
        )
        .await?;
    let v = with_revision(&s, &a, Revisioned::Router, router_view(&r, &zones)).await?;
    Ok(Json(json!({ "router": v })))
}

/// `DELETE /routers/{id}`: 204 (`If-Match` honoured).
pub async fn delete(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> NeutronResult<Response> {
    let a = super::on_object(&s, a, Revisioned::Router, &id).await?;
    let id = router_id(&id)?;
    s.service
        .router_delete(
            &a.caller,
            &a.project,
            id,
            &if_match.on(Revisioned::Router, id),
        )
        .await?;
    Ok(no_content())
}

fn interface_spec(body: &Value) -> NeutronResult<RouterInterfaceSpec> {
    let obj = body
        .as_object()
        .ok_or_else(|| NeutronError::from(Error::invalid("Malformed request body")))?;
    let b: InterfaceBody = decode(obj)?;
    Ok(RouterInterfaceSpec {
        subnet_id: b
            .subnet_id
            .map(|s| SubnetId::parse_for_lookup(&s))
            .transpose()?,
        port_id: b
            .port_id
            .map(|p| InterfaceId::parse_for_lookup(&p))
            .transpose()?,
    })
}

/// Neutron's answer to an interface change: the router, the port, the
/// subnets.
fn interface_view(r: &Router, rows: &[RouterInterface]) -> Value {
    let project = r.project_id.to_string();
    let first = rows.first();
    json!({
        "id": r.id.to_string(), "tenant_id": project, "project_id": project,
        "port_id": first.map(|i| i.port_id.to_string()),
        "subnet_id": first.map(|i| i.subnet_id.to_string()),
        "subnet_ids": rows.iter().map(|i| i.subnet_id.to_string()).collect::<Vec<_>>(),
        "network_id": first.map(|i| i.network_id.to_string()),
    })
}

/// `PUT /routers/{id}/add_router_interface`.
pub async fn add_interface(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    NeutronJson(body): NeutronJson,
) -> NeutronResult<Json<Value>> {
    let a = super::on_object(&s, a, Revisioned::Router, &id).await?;
    let spec = interface_spec(&body)?;
    let (r, rows) = s
        .service
        .router_add_interface(
            &a.caller,
            &a.project,
            router_id(&id)?,
            spec,
            &WriteOptions::default(),
        )
        .await?;
    Ok(Json(interface_view(&r, &rows)))
}

/// `PUT /routers/{id}/remove_router_interface`.
pub async fn remove_interface(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    NeutronJson(body): NeutronJson,
) -> NeutronResult<Json<Value>> {
    let a = super::on_object(&s, a, Revisioned::Router, &id).await?;
    let spec = interface_spec(&body)?;
    let rid = router_id(&id)?;
    let (subnet, port) = (spec.subnet_id, spec.port_id);
    let (r, rows) = s
        .service
        .router_remove_interface(&a.caller, &a.project, rid, spec, &WriteOptions::default())
        .await
        .map_err(|e| match e {
            // The core names a missing interface by the router; Neutron has
            // an exception of its own for each way of asking.
            Error::NotFound {
                kind: Kind::Router,
                ref id,
            } if *id != rid.to_string() => {
                let (ty, message) = match (port, subnet) {
                    (Some(p), _) if id.contains(" port ") => (
                        "RouterInterfaceNotFound",
                        format!("Router {rid} does not have an interface with id {p}"),
                    ),
                    (_, Some(sn)) => (
                        "RouterInterfaceNotFoundForSubnet",
                        format!("Router {rid} has no interface on subnet {sn}"),
                    ),
                    _ => ("RouterInterfaceNotFound", e.to_string()),
                };
                NeutronError::from(e).with(ty, message)
            }
            e => NeutronError::from(e),
        })?;
    Ok(Json(interface_view(&r, &rows)))
}
