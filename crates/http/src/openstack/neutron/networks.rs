//! Networks and subnets.
//!
//! A nicplane network is a Neutron network; its subnets are Neutron subnets.
//! A custom (L2) network shows no subnets; adding a subnet makes it a
//! standard (routed) network. An external network (`router:external`) is
//! the core's `ExternalNetwork`, whichever API made it: its subnets are its
//! public IP pools, floating IPs and router gateways take addresses from
//! them, and every project sees it. A data center's default external
//! network has the data center's id.

use super::body::{boolean, decode, present, reason, text, whole};
use super::query::ListQuery;
use super::{
    body_object, check_owner_of, created, for_create, no_content, with_revision, with_revisions,
    IfMatch, NeutronAuth, NeutronError, NeutronJson, NeutronResult,
};
use crate::openstack::{base_url, os_time, Scoped};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Response;
use axum::Json;
use nicplane_domain::ids::*;
use nicplane_domain::ipam::AddressSpace;
use nicplane_domain::model::Revisioned;
use nicplane_domain::model::*;
use nicplane_domain::query::{ChunkWalk, NetworkFilter, PageRequest};
use nicplane_domain::types::NetworkKind;
use nicplane_domain::{ConflictReason, Error, Kind};
use nicplane_service::admin::PoolTarget;
use nicplane_service::external_network::{ExternalNetworkPatch, ExternalNetworkSpec};
use nicplane_service::network::{
    NetworkDetail, NetworkPatch, NetworkSpec, SubnetPatch, SubnetSpec,
};
use nicplane_service::WriteOptions;
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::IpAddr;

/// The MTU every network reports.
const MTU: u32 = 1500;

/// Filterable attributes of a network.
pub const NETWORK_ATTRS: &[&str] = &[
    "id",
    "name",
    "description",
    "tenant_id",
    "project_id",
    "admin_state_up",
    "status",
    "subnets",
    "shared",
    "router:external",
    "mtu",
    "port_security_enabled",
    "availability_zones",
    "availability_zone_hints",
    "tags",
    "created_at",
    "updated_at",
];

/// Filterable attributes of a subnet.
pub const SUBNET_ATTRS: &[&str] = &[
    "id",
    "name",
    "description",
    "network_id",
    "tenant_id",
    "project_id",
    "ip_version",
    "cidr",
    "gateway_ip",
    "enable_dhcp",
    "subnetpool_id",
    "ipv6_ra_mode",
    "ipv6_address_mode",
    "router:external",
    "tags",
    "created_at",
    "updated_at",
];

/// Data centers by id, the external networks and their pools.
pub struct Zones {
    pub names: HashMap<DataCenterId, String>,
    pub data_centers: Vec<DataCenter>,
    pub pools: Vec<PublicIpPool>,
    pub externals: Vec<ExternalNetwork>,
}

impl Zones {
    pub async fn load(s: &AppState, a: &Scoped) -> NeutronResult<Zones> {
        let data_centers = s.service.data_center_list(&a.caller).await?;
        let pools = s.service.pool_list(&a.caller).await?;
        let externals = s.service.external_network_list(&a.caller).await?;
        let names = data_centers
            .iter()
            .map(|d| (d.id, d.name.clone()))
            .collect();
        Ok(Zones {
            names,
            data_centers,
            pools,
            externals,
        })
    }

    /// The external network with this id.
    pub fn external_by_id(&self, id: &str) -> Option<&ExternalNetwork> {
        let id = id.to_ascii_lowercase();
        self.externals.iter().find(|n| n.id.to_string() == id)
    }

    /// The pool (external subnet) with this id.
    pub fn pool_by_id(&self, id: &str) -> Option<&PublicIpPool> {
        let id = id.to_ascii_lowercase();
        self.pools.iter().find(|p| p.id.to_string() == id)
    }

    /// The data center a request names (`availability_zone_hints`), or the first one.
    pub fn pick(&self, hints: &[String]) -> NeutronResult<DataCenterId> {
        match hints {
            [] => self
                .data_centers
                .iter()
                .min_by(|a, b| a.created_at.cmp(&b.created_at).then(a.name.cmp(&b.name)))
                .map(|d| d.id)
                .ok_or_else(|| NeutronError::from(Error::unavailable("No data center exists."))),
            [one] => self
                .data_centers
                .iter()
                .find(|d| &d.name == one)
                .map(|d| d.id)
                .ok_or_else(|| {
                    NeutronError::from(Error::invalid(format!(
                        "AvailabilityZone {one} could not be found."
                    )))
                }),
            _ => Err(NeutronError::from(Error::invalid(
                "A nicplane network lives in exactly one availability zone (data center).",
            ))),
        }
    }
}

fn owner(p: &Option<ProjectId>) -> String {
    p.as_ref().map(|p| p.to_string()).unwrap_or_default()
}

/// A network as Neutron shows it.
pub fn network_view(d: &NetworkDetail, zones: &Zones) -> Value {
    let n = &d.network;
    let subnets: Vec<String> = if n.kind == NetworkKind::Custom && d.subnets.is_empty() {
        vec![]
    } else {
        d.subnets.iter().map(|s| s.id.to_string()).collect()
    };
    json!({
        "id": n.id.to_string(), "name": n.name, "description": n.description,
        "tenant_id": owner(&n.project_id), "project_id": owner(&n.project_id),
        "admin_state_up": true, "status": "ACTIVE", "subnets": subnets, "shared": n.shared,
        "router:external": false, "mtu": MTU, "port_security_enabled": true,
        "availability_zones": [zones.names.get(&n.data_center_id).cloned().unwrap_or_default()],
        "availability_zone_hints": [], "ipv4_address_scope": null, "ipv6_address_scope": null,
        "tags": [], "created_at": os_time(n.created_at), "updated_at": os_time(n.updated_at),
    })
}

/// An external network as Neutron shows it: its pools are its subnets.
pub fn external_view(n: &ExternalNetwork, zones: &Zones) -> Value {
    let owner = owner(&n.project_id);
    json!({
        "id": n.id.to_string(), "name": n.name, "description": n.description,
        "tenant_id": owner, "project_id": owner, "admin_state_up": true, "status": "ACTIVE",
        "subnets": n.pool_ids.iter().map(|p| p.to_string()).collect::<Vec<_>>(), "shared": false,
        "router:external": true, "mtu": MTU, "port_security_enabled": true,
        "availability_zones": [zones.names.get(&n.data_center_id).cloned().unwrap_or_default()],
        "availability_zone_hints": [],
        "ipv4_address_scope": null, "ipv6_address_scope": null, "tags": [],
        "created_at": os_time(n.created_at), "updated_at": os_time(n.updated_at),
    })
}

/// A subnet as Neutron shows it.
pub fn subnet_view(s: &Subnet) -> Value {
    json!({
        "id": s.id.to_string(), "name": s.name, "description": s.description, "network_id": s.network_id.to_string(),
        "tenant_id": owner(&s.project_id), "project_id": owner(&s.project_id),
        "ip_version": s.ip_version, "cidr": s.cidr.to_string(),
        "gateway_ip": s.gateway_ip.map(|g| g.to_string()),
        "allocation_pools": s.allocation_pools.iter().map(|p| json!({"start": p.start.to_string(), "end": p.end.to_string()})).collect::<Vec<_>>(),
        "enable_dhcp": s.enable_dhcp,
        "dns_nameservers": s.dns_nameservers.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        "host_routes": s.host_routes.iter().map(|r| json!({"destination": r.destination.to_string(), "nexthop": r.nexthop.to_string()})).collect::<Vec<_>>(),
        "ipv6_ra_mode": s.ipv6_ra_mode.map(|m| m.as_str()),
        "ipv6_address_mode": s.ipv6_address_mode.map(|m| m.as_str()),
        "subnetpool_id": null, "service_types": [], "tags": [], "router:external": false,
        "created_at": os_time(s.created_at), "updated_at": os_time(s.updated_at),
    })
}

/// A public IP pool as a subnet of its data center's external network.
pub fn pool_subnet_view(p: &PublicIpPool) -> Value {
    let (gateway, pools) = match AddressSpace::new(p.cidr) {
        Ok(space) => {
            let hosts = space.host_range();
            let at = |o: u64| space.address_at(o).ok().map(|a| a.to_string());
            let pools = match (hosts.start.checked_add(1).and_then(at), at(hosts.end)) {
                (Some(start), Some(end)) if hosts.end > hosts.start => {
                    vec![json!({"start": start, "end": end})]
                }
                _ => vec![],
            };
            (at(hosts.start), pools)
        }
        Err(_) => (None, vec![]),
    };
    json!({
        "id": p.id.to_string(), "name": p.name, "description": "", "network_id": p.external_network_id.to_string(),
        "tenant_id": "", "project_id": "", "ip_version": if p.cidr.addr().is_ipv4() { 4 } else { 6 },
        "cidr": p.cidr.to_string(), "gateway_ip": gateway,
        "allocation_pools": pools, "enable_dhcp": false, "dns_nameservers": [], "host_routes": [],
        "ipv6_ra_mode": null, "ipv6_address_mode": null, "subnetpool_id": null, "service_types": [], "tags": [],
        "router:external": true, "created_at": os_time(p.created_at), "updated_at": os_time(p.created_at),
    })
}

async fn visible(s: &AppState, a: &Scoped) -> NeutronResult<Vec<NetworkDetail>> {
    Ok(s.service
        .network_list(
            &a.caller,
            &a.project,
            NetworkFilter::default(),
            PageRequest::default(),
        )
        .await?)
}

/// `GET /networks`.
pub async fn network_list(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    uri: Uri,
) -> NeutronResult<Json<Value>> {
    let q = ListQuery::parse(uri.query(), NETWORK_ATTRS)?;
    let zones = Zones::load(&s, &a).await?;
    if s.service.lists_every_project(&a.caller) {
        if let Some(m) = q
            .store_marker()
            .filter(|m| zones.external_by_id(m).is_none())
        {
            let owner = super::on_object(&s, a.clone(), Revisioned::Network, m).await?;
            let id = NetworkId::parse_for_lookup(m)?;
            s.service
                .network_get(&owner.caller, &owner.project, id)
                .await?;
        }
        let externals = zones
            .externals
            .iter()
            .map(|n| external_view(n, &zones))
            .collect();
        let zones = &zones;
        let (s, a) = (&s, &a);
        return every_project(
            s,
            a,
            q,
            "networks",
            Revisioned::Network,
            externals,
            |page| async move {
                let rows = s
                    .service
                    .network_list_every_project(&a.caller, NetworkFilter::default(), page)
                    .await?;
                Ok(rows.iter().map(|d| network_view(d, zones)).collect())
            },
        )
        .await;
    }
    let mut items: Vec<Value> = visible(&s, &a)
        .await?
        .iter()
        .map(|d| network_view(d, &zones))
        .collect();
    items.extend(zones.externals.iter().map(|n| external_view(n, &zones)));
    let mut items: Vec<Value> = items;
    with_revisions(&s, &a, Revisioned::Network, &mut items).await?;
    Ok(Json(q.apply(items, "networks", &base_url(&s))?))
}

/// `GET /networks/{id}`.
pub async fn network_show(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> NeutronResult<Json<Value>> {
    let a = super::on_object(&s, a, Revisioned::Network, &id).await?;
    let zones = Zones::load(&s, &a).await?;
    if let Some(n) = zones.external_by_id(&id) {
        return Ok(Json(json!({"network": external_view(n, &zones)})));
    }
    let d = s
        .service
        .network_get(&a.caller, &a.project, NetworkId::parse_for_lookup(&id)?)
        .await?;
    Ok(Json(
        json!({"network": with_revision(&s, &a, Revisioned::Network, network_view(&d, &zones)).await?}),
    ))
}

/// `availability_zone_hints`: a list of zone names.
pub fn zone_hints<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    const KEY: &str = "availability_zone_hints";
    match Value::deserialize(d)? {
        Value::Null => Ok(vec![]),
        Value::Array(a) => a
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    whole(format!("Invalid input for {KEY}: '{v}' is not a string."))
                })
            })
            .collect(),
        other => Err(whole(format!(
            "Invalid input for {KEY}: '{other}' is not a list."
        ))),
    }
}

/// `mtu`: accepted only at nicplane's MTU.
fn mtu<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Value::deserialize(d)?;
    match v.as_u64() {
        Some(m) if m == MTU as u64 => Ok(Some(m)),
        _ => Err(whole(format!(
            "Invalid input for mtu: nicplane networks have an MTU of {MTU}."
        ))),
    }
}

/// The body of `POST /networks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkCreate {
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    description: Option<String>,
    #[serde(default, deserialize_with = "boolean")]
    admin_state_up: Option<bool>,
    #[serde(default, deserialize_with = "boolean")]
    shared: Option<bool>,
    #[serde(default, rename = "router:external", deserialize_with = "boolean")]
    external: Option<bool>,
    #[serde(default, deserialize_with = "boolean")]
    port_security_enabled: Option<bool>,
    #[serde(default, deserialize_with = "zone_hints")]
    availability_zone_hints: Vec<String>,
    #[serde(default, deserialize_with = "present")]
    tenant_id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    project_id: Option<Value>,
    /// Checked while decoding: only nicplane's MTU is accepted.
    #[serde(default, rename = "mtu", deserialize_with = "mtu")]
    _mtu: Option<u64>,
}

/// The body of `PUT /networks/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkUpdate {
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    description: Option<String>,
    #[serde(default, deserialize_with = "boolean")]
    admin_state_up: Option<bool>,
    /// Makes a network external or not (the core decides who may and when).
    #[serde(default, rename = "router:external", deserialize_with = "boolean")]
    external: Option<bool>,
}

/// One network of a create body: its spec, whether it is shared and
/// whether it is external.
fn network_spec(
    s: &AppState,
    obj: &serde_json::Map<String, Value>,
    a: &Scoped,
    zones: &Zones,
) -> NeutronResult<(NetworkSpec, bool, bool, Scoped)> {
    let n: NetworkCreate = decode(obj)?;
    let owner = for_create(s, a, &n.project_id, &n.tenant_id)?;
    if n.admin_state_up == Some(false) || n.port_security_enabled == Some(false) {
        return Err(NeutronError::from(Error::invalid(
            "nicplane networks are always administratively up and have port security on; disable port security per port.",
        )));
    }
    let spec = NetworkSpec {
        name: n.name.unwrap_or_default(),
        data_center_id: zones.pick(&n.availability_zone_hints)?,
        kind: NetworkKind::Custom,
        description: n.description.unwrap_or_default(),
        subnets: vec![],
    };
    Ok((
        spec,
        n.shared == Some(true),
        n.external == Some(true),
        owner,
    ))
}

/// The one project of a bulk create's entries (each the token's or the one
/// it names): a bulk create writes in one project, all or none.
fn one_project(owners: &[&Scoped], plural: &str) -> NeutronResult<Option<Scoped>> {
    let Some(first) = owners.first() else {
        return Ok(None);
    };
    if owners.iter().any(|o| o.project != first.project) {
        return Err(NeutronError::from(Error::invalid(format!(
            "A bulk create of {plural} writes in one project: give every entry the same project_id."
        ))));
    }
    Ok(Some((*first).clone()))
}

/// The objects of a bulk body's list (`{"networks": [...]}`).
fn bulk_objects<'a>(
    list: &'a Value,
    plural: &str,
) -> NeutronResult<Vec<&'a serde_json::Map<String, Value>>> {
    let list = list.as_array().ok_or_else(|| {
        NeutronError::from(Error::invalid(format!(
            "Invalid input for {plural}: give a list of {plural}."
        )))
    })?;
    nicplane_domain::rules::bulk_bound(plural, list.len())?;
    list.iter()
        .map(|v| {
            v.as_object().ok_or_else(|| {
                NeutronError::from(Error::invalid(format!(
                    "Invalid input for {plural}: each entry must be an object."
                )))
            })
        })
        .collect()
}

/// `POST /networks`: a custom (L2) network until a subnet is added; or
/// `networks` in bulk, all or none in one transaction.
pub async fn network_create(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    NeutronJson(body): NeutronJson,
) -> NeutronResult<Response> {
    let zones = Zones::load(&s, &a).await?;
    let o = WriteOptions::default();
    if let Some(list) = body.get("networks") {
        let specs = bulk_objects(list, "networks")?
            .into_iter()
            .map(|obj| network_spec(&s, obj, &a, &zones))
            .collect::<NeutronResult<Vec<_>>>()?;
        if specs.iter().any(|(_, _, external, _)| *external) {
            return Err(NeutronError::from(Error::invalid(
                "Create external networks one at a time: bulk create makes project networks only.",
            )));
        }
        let owners: Vec<&Scoped> = specs.iter().map(|(_, _, _, o)| o).collect();
        let a = one_project(&owners, "networks")?.unwrap_or(a);
        let specs = specs
            .into_iter()
            .map(|(n, shared, _, _)| (n, shared))
            .collect();
        let made = s
            .service
            .network_create_many(&a.caller, &a.project, specs, &o)
            .await?;
        let mut views: Vec<Value> = made.iter().map(|d| network_view(d, &zones)).collect();
        with_revisions(&s, &a, Revisioned::Network, &mut views).await?;
        return Ok(created(json!({ "networks": views })));
    }
    let (spec, shared, external, a) = network_spec(&s, body_object(&body, "network")?, &a, &zones)?;
    if external {
        let n = s
            .service
            .external_network_create(
                &a.caller,
                Some(a.project.clone()),
                ExternalNetworkSpec {
                    name: spec.name,
                    data_center_id: spec.data_center_id,
                    description: spec.description,
                },
                &o,
            )
            .await?;
        return Ok(created(json!({"network": external_view(&n, &zones)})));
    }
    let d = if shared {
        s.service.shared_network_create(&a.caller, spec, &o).await?
    } else {
        s.service
            .network_create(&a.caller, &a.project, spec, &o)
            .await?
    };
    Ok(created(
        json!({"network": with_revision(&s, &a, Revisioned::Network, network_view(&d, &zones)).await?}),
    ))
}

/// `PUT /networks/{id}`: name and description.
pub async fn network_update(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    if_match: IfMatch,
    NeutronJson(body): NeutronJson,
) -> NeutronResult<Json<Value>> {
    let a = super::on_object(&s, a, Revisioned::Network, &id).await?;
    let n: NetworkUpdate = decode(body_object(&body, "network")?)?;
    if n.admin_state_up == Some(false) {
        return Err(NeutronError::from(Error::invalid(
            "nicplane networks are always administratively up.",
        )));
    }
    let o = WriteOptions::default();
    let zones = Zones::load(&s, &a).await?;
    if let Some(ext) = zones.external_by_id(&id) {
        let patch = ExternalNetworkPatch {
            name: n.name,
            description: n.description,
        };
        if n.external == Some(false) {
            let net = s
                .service
                .external_network_unflag(&a.caller, &a.project, ext.id, patch, &o)
                .await?;
            let d = NetworkDetail {
                network: net,
                subnets: vec![],
            };
            return Ok(Json(
                json!({"network": with_revision(&s, &a, Revisioned::Network, network_view(&d, &zones)).await?}),
            ));
        }
        let e = s
            .service
            .external_network_update(&a.caller, ext.id, patch, &o)
            .await?;
        return Ok(Json(json!({"network": external_view(&e, &zones)})));
    }
    if n.external == Some(true) {
        let patch = ExternalNetworkPatch {
            name: n.name,
            description: n.description,
        };
        let e = s
            .service
            .external_network_flag(
                &a.caller,
                &a.project,
                NetworkId::parse_for_lookup(&id)?,
                patch,
                &o,
            )
            .await?;
        return Ok(Json(json!({"network": external_view(&e, &zones)})));
    }
    let patch = NetworkPatch {
        name: n.name,
        description: n.description,
    };
    let d = s
        .service
        .network_update(
            &a.caller,
            &a.project,
            NetworkId::parse_for_lookup(&id)?,
            patch,
            &if_match.on(Revisioned::Network, NetworkId::parse_for_lookup(&id)?),
        )
        .await?;
    Ok(Json(
        json!({"network": with_revision(&s, &a, Revisioned::Network, network_view(&d, &zones)).await?}),
    ))
}

/// `DELETE /networks/{id}`: 409 while ports use it.
pub async fn network_delete(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> NeutronResult<Response> {
    if let Some(ext) = Zones::load(&s, &a).await?.external_by_id(&id) {
        s.service
            .external_network_delete(&a.caller, ext.id, &WriteOptions::default())
            .await?;
        return Ok(no_content());
    }
    let a = super::on_object(&s, a, Revisioned::Network, &id).await?;
    let id = NetworkId::parse_for_lookup(&id)?;
    s.service
        .network_delete(
            &a.caller,
            &a.project,
            id,
            &if_match.on(Revisioned::Network, id),
        )
        .await
        .map_err(|e| match e.conflict_reason() {
            // Neutron's words for the core's reason (the native API and the
            // console keep the console guide's).
            Some(ConflictReason::NetworkInUse) => NeutronError::from(e).with(
                "NetworkInUse",
                format!(
                    "Unable to complete operation on network {id}. There are one or more ports still in use on the network."
                ),
            ),
            _ => NeutronError::from(e),
        })?;
    Ok(no_content())
}

/// `GET /subnets`.
pub async fn subnet_list(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    uri: Uri,
) -> NeutronResult<Json<Value>> {
    let q = ListQuery::parse(uri.query(), SUBNET_ATTRS)?;
    let zones = Zones::load(&s, &a).await?;
    if s.service.lists_every_project(&a.caller) {
        if let Some(m) = q.store_marker().filter(|m| zones.pool_by_id(m).is_none()) {
            let owner = super::on_object(&s, a.clone(), Revisioned::Subnet, m).await?;
            let id = SubnetId::parse_for_lookup(m)?;
            s.service
                .subnet_get(&owner.caller, &owner.project, id)
                .await?;
        }
        let pools = zones.pools.iter().map(pool_subnet_view).collect();
        let (s, a) = (&s, &a);
        return every_project(
            s,
            a,
            q,
            "subnets",
            Revisioned::Subnet,
            pools,
            |page| async move {
                let rows = s.service.subnet_list_every_project(&a.caller, page).await?;
                Ok(rows.iter().map(subnet_view).collect())
            },
        )
        .await;
    }
    let mut items: Vec<Value> = visible(&s, &a)
        .await?
        .iter()
        .flat_map(|d| d.subnets.iter().map(subnet_view))
        .collect();
    items.extend(zones.pools.iter().map(pool_subnet_view));
    let mut items: Vec<Value> = items;
    with_revisions(&s, &a, Revisioned::Subnet, &mut items).await?;
    Ok(Json(q.apply(items, "subnets", &base_url(&s))?))
}

/// `GET /subnets/{id}`.
pub async fn subnet_show(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> NeutronResult<Json<Value>> {
    let a = super::on_object(&s, a, Revisioned::Subnet, &id).await?;
    let zones = Zones::load(&s, &a).await?;
    if let Some(p) = zones.pool_by_id(&id) {
        return Ok(Json(json!({"subnet": pool_subnet_view(p)})));
    }
    let sub = s
        .service
        .subnet_get(&a.caller, &a.project, SubnetId::parse_for_lookup(&id)?)
        .await?;
    Ok(Json(
        json!({"subnet": with_revision(&s, &a, Revisioned::Subnet, subnet_view(&sub)).await?}),
    ))
}

/// `ip_version`: 4 or 6 (checked against the CIDR later).
fn ip_version<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Value::deserialize(d)?
        .as_u64()
        .map(Some)
        .ok_or_else(|| whole("Invalid input for ip_version: give 4 or 6."))
}

/// `gateway_ip`: an address, or null for no gateway (`Some(None)`).
fn gateway<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<IpAddr>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(Some(None)),
        Value::String(g) => g
            .parse::<IpAddr>()
            .map(|g| Some(Some(g)))
            .map_err(|_| reason(format!("'{g}' is not a valid IP address."))),
        other => Err(reason(format!("'{other}' is not a valid IP address."))),
    }
}

fn pools<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<AllocationPool>>, D::Error> {
    Option::<Vec<AllocationPool>>::deserialize(d).map_err(|_| {
        whole("Invalid input for allocation_pools: give [{\"start\": ip, \"end\": ip}].")
    })
}

/// `dns_nameservers`: a list of IP addresses (`null` is the empty list).
fn nameservers<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<IpAddr>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(Some(vec![])),
        Value::Array(a) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .and_then(|t| t.parse::<IpAddr>().ok())
                    .ok_or_else(|| reason(format!("'{}' is not a valid nameserver.", show(v))))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        other => Err(reason(format!("'{}' is not a list.", show(&other)))),
    }
}

/// `host_routes`: a list of `{"destination": cidr, "nexthop": ip}`.
fn routes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<HostRoute>>, D::Error> {
    let list = match Value::deserialize(d)? {
        Value::Null => return Ok(Some(vec![])),
        Value::Array(a) => a,
        other => return Err(reason(format!("'{}' is not a list.", show(&other)))),
    };
    list.iter()
        .map(|v| {
            let bad = || reason(format!("'{v}' is not a valid host route: give {{\"destination\": cidr, \"nexthop\": ip}}."));
            let o = v.as_object().filter(|o| o.len() == 2).ok_or_else(bad)?;
            let destination = o
                .get("destination")
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<ipnet::IpNet>().ok())
                .ok_or_else(bad)?;
            let nexthop = o
                .get("nexthop")
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<IpAddr>().ok())
                .ok_or_else(bad)?;
            Ok(HostRoute { destination, nexthop })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `ipv6_ra_mode` / `ipv6_address_mode`: one of Neutron's three, or null.
fn ipv6_mode<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Ipv6Mode>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(m) => m.parse::<Ipv6Mode>().map(Some).map_err(|_| {
            reason(format!(
                "'{m}' is not in ['dhcpv6-stateful', 'dhcpv6-stateless', 'slaac']"
            ))
        }),
        other => Err(reason(format!(
            "'{}' is not in ['dhcpv6-stateful', 'dhcpv6-stateless', 'slaac']",
            show(&other)
        ))),
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(t) => t.clone(),
        other => other.to_string(),
    }
}

/// The body of `POST /subnets`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubnetCreate {
    #[serde(default, deserialize_with = "text")]
    network_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    cidr: Option<String>,
    #[serde(default, deserialize_with = "ip_version")]
    ip_version: Option<u64>,
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    description: Option<String>,
    #[serde(default, deserialize_with = "gateway")]
    gateway_ip: Option<Option<IpAddr>>,
    #[serde(default, deserialize_with = "pools")]
    allocation_pools: Option<Vec<AllocationPool>>,
    #[serde(default, deserialize_with = "boolean")]
    enable_dhcp: Option<bool>,
    #[serde(default, deserialize_with = "nameservers")]
    dns_nameservers: Option<Vec<IpAddr>>,
    #[serde(default, deserialize_with = "routes")]
    host_routes: Option<Vec<HostRoute>>,
    #[serde(default, deserialize_with = "ipv6_mode")]
    ipv6_ra_mode: Option<Ipv6Mode>,
    #[serde(default, deserialize_with = "ipv6_mode")]
    ipv6_address_mode: Option<Ipv6Mode>,
    /// Refused when not empty.
    #[serde(default)]
    service_types: Option<Value>,
    /// Refused when set: nicplane has no subnet pools.
    #[serde(default)]
    subnetpool_id: Option<Value>,
    #[serde(default, deserialize_with = "boolean")]
    use_default_subnetpool: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    tenant_id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    project_id: Option<Value>,
    /// Accepted and ignored: nicplane has no segments.
    #[serde(default, rename = "segment_id")]
    _segment_id: Option<IgnoredAny>,
}

/// The body of `PUT /subnets/{id}`: the attributes Neutron lets change, and
/// the read-only ones, refused as Neutron refuses them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubnetUpdate {
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    description: Option<String>,
    #[serde(default, deserialize_with = "gateway")]
    gateway_ip: Option<Option<IpAddr>>,
    #[serde(default, deserialize_with = "pools")]
    allocation_pools: Option<Vec<AllocationPool>>,
    #[serde(default, deserialize_with = "boolean")]
    enable_dhcp: Option<bool>,
    #[serde(default, deserialize_with = "nameservers")]
    dns_nameservers: Option<Vec<IpAddr>>,
    #[serde(default, deserialize_with = "routes")]
    host_routes: Option<Vec<HostRoute>>,
    #[serde(default, deserialize_with = "present")]
    network_id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    tenant_id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    project_id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    ip_version: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    cidr: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    ipv6_ra_mode: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    ipv6_address_mode: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    subnetpool_id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    service_types: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    segment_id: Option<Value>,
}

/// One subnet of a create body: its network and spec.
fn subnet_spec(
    s: &AppState,
    obj: &serde_json::Map<String, Value>,
    a: &Scoped,
    zones: &Zones,
) -> NeutronResult<(NetworkId, SubnetSpec, Scoped)> {
    let b: SubnetCreate = decode(obj)?;
    let named = b.project_id.is_some() || b.tenant_id.is_some();
    let owner = for_create(s, a, &b.project_id, &b.tenant_id)?;
    let network = b.network_id.ok_or_else(|| {
        NeutronError::from(Error::invalid(
            "Invalid input for operation: network_id is required.",
        ))
    })?;
    if zones.external_by_id(&network).is_some() {
        return Err(NeutronError::from(Error::invalid(
            "Create subnets of external networks (public IP pools) one at a time.",
        )));
    }
    if b.service_types
        .as_ref()
        .is_some_and(|v| v.as_array().is_some_and(|a| !a.is_empty()))
    {
        return Err(NeutronError::from(Error::invalid(
            "nicplane subnets do not support service_types.",
        )));
    }
    if b.subnetpool_id.is_some() || b.use_default_subnetpool == Some(true) {
        return Err(NeutronError::from(Error::invalid(
            "nicplane has no subnet pools: give a cidr.",
        )));
    }
    let cidr_s = b.cidr.ok_or_else(|| NeutronError::from(Error::invalid("Invalid input for operation: a cidr must be specified in the absence of a subnet pool.")))?;
    let cidr: ipnet::IpNet = cidr_s.parse().map_err(|_| {
        NeutronError::from(Error::invalid(format!(
            "Invalid input for cidr. Reason: '{cidr_s}' is not a valid IP subnet."
        )))
    })?;
    let version = b.ip_version;
    let actual = if cidr.addr().is_ipv4() { 4 } else { 6 };
    match version {
        Some(v) if v == actual => {}
        Some(v) if v == 4 || v == 6 => {
            return Err(NeutronError::from(Error::invalid(format!(
                "Invalid input for operation: Cidr {cidr} does not match IP version {v}."
            ))))
        }
        _ => {
            return Err(NeutronError::from(Error::invalid(
                "Invalid input for ip_version: give 4 or 6.",
            )))
        }
    }
    let (gateway_ip, no_gateway) = match b.gateway_ip {
        None => (None, false),
        Some(g) => (g, g.is_none()),
    };
    let spec = SubnetSpec {
        name: b.name.filter(|n| !n.is_empty()),
        cidr,
        gateway_ip,
        no_gateway,
        allocation_pools: b.allocation_pools,
        description: b.description,
        enable_dhcp: b.enable_dhcp,
        dns_nameservers: b.dns_nameservers.unwrap_or_default(),
        host_routes: b.host_routes.unwrap_or_default(),
        ipv6_ra_mode: b.ipv6_ra_mode,
        ipv6_address_mode: b.ipv6_address_mode,
    };
    Ok((
        NetworkId::parse_for_lookup(&network)?,
        spec,
        if named { owner } else { a.clone() },
    ))
}

/// The project a subnet is added in: the one its body names, else (for the
/// cloud admin, who acts across projects) its network's owner, else the
/// token's (`Service::object_project`): a subnet belongs to its network's
/// project.
async fn subnet_owner(
    s: &AppState,
    a: Scoped,
    network: NetworkId,
    named: bool,
) -> NeutronResult<Scoped> {
    if named {
        return Ok(a);
    }
    super::on_object(s, a, Revisioned::Network, &network.to_string()).await
}

/// `POST /subnets`: one `subnet`, or `subnets` in bulk, all or none in one
/// transaction.
pub async fn subnet_create(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    NeutronJson(body): NeutronJson,
) -> NeutronResult<Response> {
    let zones = Zones::load(&s, &a).await?;
    let o = WriteOptions::default();
    if let Some(list) = body.get("subnets") {
        let objs = bulk_objects(list, "subnets")?;
        let mut specs = Vec::with_capacity(objs.len());
        let mut owners = Vec::with_capacity(objs.len());
        for obj in objs {
            let named = obj.contains_key("project_id") || obj.contains_key("tenant_id");
            let (network, spec, owner) = subnet_spec(&s, obj, &a, &zones)?;
            owners.push(subnet_owner(&s, owner, network, named).await?);
            specs.push((network, spec));
        }
        let a = one_project(&owners.iter().collect::<Vec<_>>(), "subnets")?.unwrap_or(a);
        let made = s
            .service
            .subnet_add_many(&a.caller, &a.project, specs, &o)
            .await?;
        let mut views: Vec<Value> = made.iter().map(subnet_view).collect();
        with_revisions(&s, &a, Revisioned::Subnet, &mut views).await?;
        return Ok(created(json!({ "subnets": views })));
    }
    let obj = body_object(&body, "subnet")?;
    let external = obj
        .get("network_id")
        .and_then(Value::as_str)
        .and_then(|n| zones.external_by_id(n));
    if let Some(ext) = external {
        // A subnet of an external network is one of its public IP pools,
        // the same object natively (the core decides who may add one).
        let b: SubnetCreate = decode(obj)?;
        check_owner_of(&b.project_id, &b.tenant_id, &a)?;
        let cidr_s = b.cidr.unwrap_or_default();
        let cidr: ipnet::IpNet = cidr_s.parse().map_err(|_| {
            NeutronError::from(Error::invalid(format!(
                "Invalid input for cidr. Reason: '{cidr_s}' is not a valid IP subnet."
            )))
        })?;
        let actual = if cidr.addr().is_ipv4() { 4 } else { 6 };
        if let Some(v) = b.ip_version.filter(|v| *v != actual) {
            return Err(NeutronError::from(Error::invalid(format!(
                "Invalid input for operation: Cidr {cidr} does not match IP version {v}."
            ))));
        }
        let target = PoolTarget {
            external_network_id: Some(ext.id),
            data_center_id: None,
        };
        // Public IP pools never overlap (`rules::pool_does_not_overlap`);
        // Neutron sees them as subnets and words that refusal as it words
        // overlapping subnets (400: Tempest's `create_subnet` then tries the
        // next CIDR).
        let pool = s
            .service
            .pool_create(&a.caller, target, &b.name.unwrap_or_default(), cidr, &o)
            .await
            .map_err(|e| match e {
                Error::Conflict {
                    reason: ConflictReason::InUse,
                    ..
                } => Error::invalid(format!(
                    "Invalid input for operation: Requested subnet with cidr: {cidr} for network: {} overlaps with another subnet.",
                    ext.id
                )),
                e => e,
            })?;
        return Ok(created(json!({"subnet": pool_subnet_view(&pool)})));
    }
    let named = obj.contains_key("project_id") || obj.contains_key("tenant_id");
    let (network, spec, owner) = subnet_spec(&s, obj, &a, &zones)?;
    let a = subnet_owner(&s, owner, network, named).await?;
    let sub = s
        .service
        .subnet_add(&a.caller, &a.project, network, spec, &o)
        .await?;
    Ok(created(
        json!({"subnet": with_revision(&s, &a, Revisioned::Subnet, subnet_view(&sub)).await?}),
    ))
}

/// `PUT /subnets/{id}`: name, description, gateway, pools, DHCP, DNS
/// servers and host routes; the rest is read-only, as in Neutron.
pub async fn subnet_update(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    if_match: IfMatch,
    NeutronJson(body): NeutronJson,
) -> NeutronResult<Json<Value>> {
    let a = super::on_object(&s, a, Revisioned::Subnet, &id).await?;
    let b: SubnetUpdate = decode(body_object(&body, "subnet")?)?;
    for (attribute, given) in [
        ("network_id", &b.network_id),
        ("tenant_id", &b.tenant_id),
        ("project_id", &b.project_id),
        ("ip_version", &b.ip_version),
        ("cidr", &b.cidr),
        ("ipv6_ra_mode", &b.ipv6_ra_mode),
        ("ipv6_address_mode", &b.ipv6_address_mode),
        ("subnetpool_id", &b.subnetpool_id),
        ("service_types", &b.service_types),
        ("segment_id", &b.segment_id),
    ] {
        if given.is_some() {
            let e = nicplane_domain::rules::subnet_attribute_read_only(attribute);
            let message = e.to_string();
            return Err(NeutronError::from(e).with("HTTPBadRequest", message));
        }
    }
    if Zones::load(&s, &a).await?.pool_by_id(&id).is_some() {
        return Err(NeutronError::from(Error::invalid(
            "The subnets of external networks (public IP pools) cannot be changed.",
        )));
    }
    let sid = SubnetId::parse_for_lookup(&id)?;
    let patch = SubnetPatch {
        name: b.name,
        description: b.description,
        gateway_ip: b.gateway_ip,
        allocation_pools: b.allocation_pools,
        enable_dhcp: b.enable_dhcp,
        dns_nameservers: b.dns_nameservers,
        host_routes: b.host_routes,
    };
    let sub = s
        .service
        .subnet_update(
            &a.caller,
            &a.project,
            sid,
            patch,
            &if_match.on(Revisioned::Subnet, sid),
        )
        .await?;
    Ok(Json(
        json!({"subnet": with_revision(&s, &a, Revisioned::Subnet, subnet_view(&sub)).await?}),
    ))
}

/// `DELETE /subnets/{id}`: 409 while addresses of it are in use.
pub async fn subnet_delete(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> NeutronResult<Response> {
    if let Some(pool) = Zones::load(&s, &a).await?.pool_by_id(&id) {
        s.service
            .pool_delete(&a.caller, pool.id, &WriteOptions::default())
            .await?;
        return Ok(no_content());
    }
    let a = super::on_object(&s, a, Revisioned::Subnet, &id).await?;
    let sid = SubnetId::parse_for_lookup(&id).map_err(|_| Error::not_found(Kind::Subnet, &id))?;
    s.service
        .subnet_delete(
            &a.caller,
            &a.project,
            sid,
            &if_match.on(Revisioned::Subnet, sid),
        )
        .await?;
    Ok(no_content())
}

/// `GET /availability_zones`: one zone per data center.
pub async fn availability_zones(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    uri: Uri,
) -> NeutronResult<Json<Value>> {
    let q = ListQuery::parse(uri.query(), &["name", "resource", "state"])?;
    let zones = Zones::load(&s, &a).await?;
    let items: Vec<Value> = zones
        .data_centers
        .iter()
        .map(|d| json!({"name": d.name, "resource": "network", "state": "available"}))
        .collect();
    Ok(Json(q.apply(items, "availability_zones", &base_url(&s))?))
}

/// Most networks or subnets on one page of the cloud admin's list that
/// spans every project: a request without `limit`, or with a larger one,
/// gets pages of this size with a `next` link.
pub const EVERY_PROJECT_PAGE_MAX: usize = 500;

/// `GET /networks` or `GET /subnets` for the cloud admin: every project's,
/// as Neutron shows its admin, read in id order through the store in
/// bounded chunks (`read` turns a page into views), merged by id with
/// `extra` (the external networks or their pools, which every project
/// sees), cut into pages of at most [`EVERY_PROJECT_PAGE_MAX`]. Sorted by
/// id only: another order would need the whole cloud in memory.
async fn every_project<F, Fut>(
    s: &AppState,
    a: &Scoped,
    mut q: ListQuery,
    collection: &str,
    what: Revisioned,
    mut extra: Vec<Value>,
    mut read: F,
) -> NeutronResult<Json<Value>>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = NeutronResult<Vec<Value>>>,
{
    if q.page_reverse || q.sort.iter().any(|(k, asc)| k != "id" || !asc) {
        return Err(NeutronError::from(Error::invalid(format!(
            "Every project's {collection} are listed by id, ascending: give no sort_key but id and no page_reverse."
        ))));
    }
    let limit = q
        .limit
        .map_or(EVERY_PROJECT_PAGE_MAX, |l| l.min(EVERY_PROJECT_PAGE_MAX));
    q.limit = Some(limit);
    let marker = q.store_marker().map(str::to_string);
    let id = |v: &Value| v["id"].as_str().map(str::to_string).unwrap_or_default();
    let mut walk = ChunkWalk::new(marker.clone(), Vec::new());
    let mut items = Vec::new();
    while let Some(page) = walk.request() {
        let mut views = read(page).await?;
        walk.advance(views.len(), views.last().map(id));
        with_revisions(s, a, what, &mut views).await?;
        items.extend(views.into_iter().filter(|v| q.matches_view(v)));
        if items.len() > limit {
            break;
        }
    }
    with_revisions(s, a, what, &mut extra).await?;
    items.extend(
        extra
            .into_iter()
            .filter(|v| marker.as_deref().is_none_or(|m| id(v).as_str() > m) && q.matches_view(v)),
    );
    items.sort_by_key(id);
    items.truncate(limit + 1);
    Ok(Json(q.render(items, collection, &base_url(s))))
}
