//! Floating IPs: nicplane's public IPs. The `floating_network_id` is an
//! external network; the address comes from its public IP pools only, under the core's rules (standard networks only, one per port,
//! released addresses go to the back of the pool: a release followed by an
//! allocation gives another address).

use super::body::{decode, nullable_text, present, text};
use super::networks::Zones;
use super::ports::port_view;
use super::query::ListQuery;
use super::trunks::TrunkIndex;
use super::{
    body_object, created, for_create, no_content, with_revision, with_revisions, IfMatch,
    NeutronAuth, NeutronError, NeutronJson, NeutronResult,
};
use crate::openstack::Scoped;
use crate::openstack::{base_url, os_time};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Response;
use axum::Json;
use nicplane_domain::ids::*;
use nicplane_domain::model::Revisioned;
use nicplane_domain::model::{Interface, PublicIp};
use nicplane_domain::query::{ChunkWalk, InterfaceFilter, PageRequest};
use nicplane_domain::Error;
use nicplane_service::openstack_support::PublicIpInRequest;
use nicplane_service::WriteOptions;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Filterable attributes of a floating IP.
pub const FIP_ATTRS: &[&str] = &[
    "id",
    "floating_ip_address",
    "floating_network_id",
    "router_id",
    "port_id",
    "fixed_ip_address",
    "status",
    "tenant_id",
    "project_id",
    "description",
    "tags",
    "created_at",
    "updated_at",
];

/// The `port_details` of a floating IP (Neutron's `fip-port-details`
/// extension): a few attributes of the port it is on, null when unattached.
pub fn port_details(port: Option<&Interface>) -> Value {
    match port {
        None => Value::Null,
        Some(i) => {
            let p = port_view(i, &TrunkIndex::empty());
            json!({
                "name": p["name"], "network_id": p["network_id"], "mac_address": p["mac_address"],
                "admin_state_up": p["admin_state_up"], "status": p["status"],
                "device_id": p["device_id"], "device_owner": p["device_owner"],
            })
        }
    }
}

/// A floating IP as Neutron shows it, with the port it is on (if any).
pub fn fip_view(ip: &PublicIp, port: Option<&Interface>) -> Value {
    let project = ip.project_id.to_string();
    json!({
        "id": ip.id.to_string(), "floating_ip_address": ip.address.to_string(),
        "floating_network_id": ip.external_network_id.to_string(), "router_id": null,
        "port_id": ip.interface_id.map(|i| i.to_string()),
        "fixed_ip_address": ip.fixed_ip.map(|f| f.to_string()),
        "status": if ip.interface_id.is_some() { "ACTIVE" } else { "DOWN" },
        "tenant_id": project, "project_id": project, "description": ip.description, "tags": [],
        "qos_policy_id": null, "port_details": port_details(port),
        "created_at": os_time(ip.created_at), "updated_at": os_time(ip.created_at),
    })
}

/// One floating IP's view, loading its port and the router it goes
/// through (null: the implicit router, or not on a port).
async fn view_with_port(s: &AppState, a: &Scoped, ip: &PublicIp) -> NeutronResult<Value> {
    let port = match ip.interface_id {
        Some(i) => Some(s.service.interface_get(&a.caller, &a.project, i).await?),
        None => None,
    };
    let mut v = fip_view(ip, port.as_ref());
    if ip.interface_id.is_some() {
        let routers = s.service.public_ip_routers(&a.caller, &a.project).await?;
        v["router_id"] = json!(routers.get(&ip.id).map(|r| r.to_string()));
    }
    Ok(v)
}

fn fip_id(id: &str) -> NeutronResult<PublicIpId> {
    Ok(PublicIpId::parse_for_lookup(id)?)
}

/// `GET /floatingips`.
pub async fn list(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    uri: Uri,
) -> NeutronResult<Json<Value>> {
    let q = ListQuery::parse(uri.query(), FIP_ATTRS)?;
    if s.service.lists_every_project(&a.caller) {
        return every_project(&s, &a, q).await;
    }
    let ips = s
        .service
        .public_ip_list(&a.caller, &a.project, PageRequest::default())
        .await?;
    let bound: Vec<InterfaceId> = ips.iter().filter_map(|i| i.interface_id).collect();
    let ports: HashMap<InterfaceId, Interface> = if bound.is_empty() {
        HashMap::new()
    } else {
        let filter = InterfaceFilter {
            ids: Some(bound),
            ..InterfaceFilter::default()
        };
        s.service
            .interface_list(&a.caller, &a.project, filter, PageRequest::default())
            .await?
            .into_iter()
            .map(|i| (i.id, i))
            .collect()
    };
    let routers = if ips.iter().all(|i| i.interface_id.is_none()) {
        HashMap::new()
    } else {
        s.service.public_ip_routers(&a.caller, &a.project).await?
    };
    let items: Vec<Value> = ips
        .iter()
        .map(|ip| {
            let mut v = fip_view(ip, ip.interface_id.and_then(|i| ports.get(&i)));
            v["router_id"] = json!(routers.get(&ip.id).map(|r| r.to_string()));
            v
        })
        .collect();
    let mut items: Vec<Value> = items;
    with_revisions(&s, &a, Revisioned::FloatingIp, &mut items).await?;
    Ok(Json(q.apply(items, "floatingips", &base_url(&s))?))
}

/// Most floating IPs on one page of a list that spans every project (the
/// cloud admin's): a request without `limit`, or with a larger one, gets
/// pages of this size with a `next` link, so no list reads the whole cloud.
pub const EVERY_PROJECT_PAGE_MAX: usize = 500;

/// `GET /floatingips` for the cloud admin: every project's floating IPs, as
/// Neutron shows its admin, walked in id order through the store in
/// bounded chunks and cut into pages of at most [`EVERY_PROJECT_PAGE_MAX`].
/// Sorted by id only (`sort_key=id`); another order would need the whole
/// cloud in memory.
async fn every_project(s: &AppState, a: &Scoped, mut q: ListQuery) -> NeutronResult<Json<Value>> {
    if q.page_reverse || q.sort.iter().any(|(k, asc)| k != "id" || !asc) {
        return Err(NeutronError::from(Error::invalid(
            "Every project's floating IPs are listed by id, ascending: give no sort_key but id and no page_reverse.",
        )));
    }
    let limit = q
        .limit
        .map_or(EVERY_PROJECT_PAGE_MAX, |l| l.min(EVERY_PROJECT_PAGE_MAX));
    q.limit = Some(limit);
    if let Some(m) = q.store_marker() {
        s.service
            .public_ip_get(
                &a.caller,
                &super::on_object(s, a.clone(), Revisioned::FloatingIp, m)
                    .await?
                    .project,
                fip_id(m)?,
            )
            .await
            .map_err(|_| {
                NeutronError::from(Error::not_found(nicplane_domain::Kind::PublicIp, m))
            })?;
    }
    let mut walk = ChunkWalk::new(q.store_marker().map(str::to_string), Vec::new());
    let mut items = Vec::new();
    while let Some(page) = walk.request() {
        let rows = s
            .service
            .public_ip_list_every_project(&a.caller, page)
            .await?;
        walk.advance(rows.len(), rows.last().map(|i| i.id.to_string()));
        for ip in &rows {
            let owner = Scoped {
                caller: a.caller.clone(),
                project: ip.project_id.clone(),
            };
            let v = with_revision(
                s,
                &owner,
                Revisioned::FloatingIp,
                view_with_port(s, &owner, ip).await?,
            )
            .await?;
            if q.matches_view(&v) {
                items.push(v);
            }
            if items.len() > limit {
                break;
            }
        }
        if items.len() > limit {
            break;
        }
    }
    Ok(Json(q.render(items, "floatingips", &base_url(s))))
}

/// `GET /floatingips/{id}`.
pub async fn show(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> NeutronResult<Json<Value>> {
    let a = super::on_object(&s, a, Revisioned::FloatingIp, &id).await?;
    let ip = s
        .service
        .public_ip_get(&a.caller, &a.project, fip_id(&id)?)
        .await?;
    Ok(Json(
        json!({"floatingip": with_revision(&s, &a, Revisioned::FloatingIp, view_with_port(&s, &a, &ip).await?).await?}),
    ))
}

/// The body of `POST /floatingips`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloatingIpCreate {
    #[serde(default, deserialize_with = "text")]
    floating_network_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    port_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    fixed_ip_address: Option<String>,
    #[serde(default, deserialize_with = "text")]
    floating_ip_address: Option<String>,
    #[serde(default, deserialize_with = "text")]
    subnet_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    tenant_id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    project_id: Option<Value>,
    /// Accepted and ignored, as before (no DNS integration, no QoS).
    #[serde(default, rename = "dns_name")]
    _dns_name: Option<IgnoredAny>,
    #[serde(default, rename = "dns_domain")]
    _dns_domain: Option<IgnoredAny>,
    #[serde(default, rename = "qos_policy_id")]
    _qos_policy_id: Option<IgnoredAny>,
}

/// The body of `PUT /floatingips/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloatingIpUpdate {
    /// `Some(None)` (null) disassociates.
    #[serde(default, deserialize_with = "nullable_text")]
    port_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "text")]
    fixed_ip_address: Option<String>,
    #[serde(default, deserialize_with = "text")]
    description: Option<String>,
}

/// `POST /floatingips`: 201.
pub async fn create(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    NeutronJson(body): NeutronJson,
) -> NeutronResult<Response> {
    let f: FloatingIpCreate = decode(body_object(&body, "floatingip")?)?;
    let a = for_create(&s, &a, &f.project_id, &f.tenant_id)?;
    let network = f.floating_network_id.ok_or_else(|| {
        NeutronError::from(Error::invalid(
            "Invalid input for operation: floating_network_id is required.",
        ))
    })?;
    let zones = Zones::load(&s, &a).await?;
    let ext = zones.external_by_id(&network).ok_or_else(|| {
        NeutronError::from(Error::invalid(format!(
            "Network {network} is not a valid external network"
        )))
    })?;
    let address = f
        .floating_ip_address
        .map(|a| {
            a.parse::<std::net::IpAddr>().map_err(|_| {
                NeutronError::from(Error::invalid(format!(
                    "Invalid input for floating_ip_address. Reason: '{a}' is not a valid IP address."
                )))
            })
        })
        .transpose()?;
    let pool = match f.subnet_id {
        None => None,
        Some(sub) => Some(PoolId::parse_for_lookup(&sub).map_err(|_| {
            NeutronError::from(Error::invalid(format!(
                "Subnet {sub} is not a subnet of external network {network}."
            )))
        })?),
    };
    let port = f
        .port_id
        .map(|p| InterfaceId::parse_for_lookup(&p))
        .transpose()?;
    let ip = s
        .service
        .public_ip_allocate_in(
            &a.caller,
            &a.project,
            PublicIpInRequest {
                network: ext.id,
                pool,
                interface: port,
                fixed_ip: port.and(f.fixed_ip_address),
                description: f.description.unwrap_or_default(),
                address,
            },
            &WriteOptions::default(),
        )
        .await?;
    Ok(created(
        json!({"floatingip": with_revision(&s, &a, Revisioned::FloatingIp, view_with_port(&s, &a, &ip).await?).await?}),
    ))
}

/// `PUT /floatingips/{id}`: associate (`port_id`) or disassociate (`null`).
pub async fn update(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    if_match: IfMatch,
    NeutronJson(body): NeutronJson,
) -> NeutronResult<Json<Value>> {
    let a = super::on_object(&s, a, Revisioned::FloatingIp, &id).await?;
    let f: FloatingIpUpdate = decode(body_object(&body, "floatingip")?)?;
    let id = fip_id(&id)?;
    let current = s.service.public_ip_get(&a.caller, &a.project, id).await?;
    if let Some(d) = f.description {
        if d != current.description {
            return Err(NeutronError::from(Error::invalid(
                "The description of a floating IP is set when it is created.",
            )));
        }
    }
    let ip = if let Some(target) = f.port_id {
        let target = target
            .map(|p| InterfaceId::parse_for_lookup(&p))
            .transpose()?;
        let fixed = target.and(f.fixed_ip_address);
        s.service
            .public_ip_associate(
                &a.caller,
                &a.project,
                id,
                target,
                fixed,
                &if_match.on(Revisioned::FloatingIp, id),
            )
            .await?
    } else {
        // Nothing is written: the constraint is checked on the object read.
        if let Some(expected) = if_match.0 {
            let v = with_revision(
                &s,
                &a,
                Revisioned::FloatingIp,
                json!({"id": id.to_string()}),
            )
            .await?;
            if let Some(current) = v["revision_number"].as_u64() {
                nicplane_domain::rules::revision_matches(expected, current)?;
            }
        }
        current
    };
    Ok(Json(
        json!({"floatingip": with_revision(&s, &a, Revisioned::FloatingIp, view_with_port(&s, &a, &ip).await?).await?}),
    ))
}

/// `DELETE /floatingips/{id}`: the address is released for good (204).
pub async fn delete(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> NeutronResult<Response> {
    let a = super::on_object(&s, a, Revisioned::FloatingIp, &id).await?;
    let id = fip_id(&id)?;
    s.service
        .public_ip_release(
            &a.caller,
            &a.project,
            id,
            &if_match.on(Revisioned::FloatingIp, id),
        )
        .await?;
    Ok(no_content())
}
