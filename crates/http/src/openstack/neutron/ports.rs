//! Ports: nicplane's network interfaces.
//!
//! `device_id` is the VM an interface is attached to (empty when it is not);
//! setting it attaches the port to that server, clearing it detaches, both
//! under the same rules as Nova's `os-interface`. `status` is the interface's
//! observed state. A supplementary interface is a trunk subport
//! (`device_owner: trunk:subport`); a parent shows `trunk_details`.
//! Neutron's string tags map to nicplane's key/value tags as `key=value`
//! (or a key alone when the value is empty).

use super::body::{boolean, decode, nullable_text, objects, only_default, present, text, whole};
use super::query::ListQuery;
use super::trunks::{trunk_details, TrunkIndex};
use super::{
    body_object, created, no_content, with_revision, with_revisions, IfMatch, NeutronAuth,
    NeutronError, NeutronJson, NeutronResult,
};
use crate::openstack::{base_url, os_time, Scoped};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use nicplane_domain::ids::*;
use nicplane_domain::model::Revisioned;
use nicplane_domain::model::*;
use nicplane_domain::query::{ChunkWalk, InterfaceFilter, SortField};
use nicplane_domain::types::{InterfaceStatus, MacAddr};
use nicplane_domain::{ConflictReason, Error, Kind};
use nicplane_service::external_port::{ExternalPortPatch, ExternalPortSpec};
use nicplane_service::interface::{AttachSpec, InterfacePatch, InterfaceSpec};
use nicplane_service::ipam::FixedIpRequest;
use nicplane_service::project::BindingChange;
use nicplane_service::router::GatewayIpRequest;
use nicplane_service::WriteOptions;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Map, Value};

/// Filterable attributes of a port.
pub const PORT_ATTRS: &[&str] = &[
    "id",
    "name",
    "description",
    "network_id",
    "tenant_id",
    "project_id",
    "mac_address",
    "admin_state_up",
    "status",
    "device_id",
    "device_owner",
    "fixed_ips",
    "security_groups",
    "port_security_enabled",
    "binding:vnic_type",
    "tags",
    "created_at",
    "updated_at",
];

/// `device_owner` of a trunk subport.
pub const SUBPORT_OWNER: &str = "trunk:subport";
/// Longest Neutron tag.
const TAG_MAX: usize = 255;

/// Neutron's status word.
pub fn status_word(s: InterfaceStatus) -> &'static str {
    match s {
        InterfaceStatus::Active => "ACTIVE",
        InterfaceStatus::Down => "DOWN",
        InterfaceStatus::Build => "BUILD",
        InterfaceStatus::Error => "ERROR",
    }
}

/// A nicplane tag as a Neutron tag string.
pub fn tag_string(t: &ResourceTag) -> String {
    if t.value.is_empty() {
        t.key.clone()
    } else {
        format!("{}={}", t.key, t.value)
    }
}

/// A Neutron tag string as a nicplane tag.
pub fn tag_of(s: &str) -> NeutronResult<ResourceTag> {
    if s.is_empty() || s.chars().count() > TAG_MAX || s.contains(',') {
        return Err(NeutronError::from(Error::invalid(format!(
            "Invalid input for operation: '{s}' is not a valid tag (1 to {TAG_MAX} characters, no comma)."
        ))));
    }
    let (key, value) = s.split_once('=').unwrap_or((s, ""));
    Ok(ResourceTag {
        key: key.to_string(),
        value: value.to_string(),
    })
}

/// A port as Neutron shows it.
pub fn port_view(i: &Interface, trunks: &TrunkIndex) -> Value {
    let project = i.project_id.to_string();
    let (device_id, device_owner) = if i.supplementary {
        (
            trunks.trunk_of_parent(i.parent_id).unwrap_or_default(),
            SUBPORT_OWNER.to_string(),
        )
    } else {
        (
            i.vm_id
                .map(|v| v.to_string())
                .or_else(|| i.router_id.map(|r| r.to_string()))
                .unwrap_or_default(),
            i.device_owner.clone(),
        )
    };
    let mut v = json!({
        "id": i.id.to_string(), "name": i.name, "description": i.description,
        "network_id": i.network_id.to_string(), "tenant_id": project, "project_id": project,
        "mac_address": i.mac_address.to_string(), "admin_state_up": i.admin_state_up,
        "status": status_word(i.status), "device_id": device_id, "device_owner": device_owner,
        "fixed_ips": i.fixed_ips.iter().map(|f| json!({"subnet_id": f.subnet_id.to_string(), "ip_address": f.ip_address.to_string()})).collect::<Vec<_>>(),
        "security_groups": i.security_groups.iter().map(|g| g.to_string()).collect::<Vec<_>>(),
        "port_security_enabled": i.port_security_enabled,
        "allowed_address_pairs": i.allowed_address_pairs.iter().map(|p| json!({"ip_address": p.ip_address, "mac_address": p.mac_address.clone().unwrap_or_else(|| i.mac_address.to_string())})).collect::<Vec<_>>(),
        "binding:vnic_type": "normal", "qos_policy_id": null,
        "extra_dhcp_opts": i.extra_dhcp_opts.iter().map(|o| json!({"opt_name": o.opt_name, "opt_value": o.opt_value, "ip_version": o.ip_version})).collect::<Vec<_>>(),
        "tags": i.tags.iter().map(tag_string).collect::<Vec<_>>(),
        "created_at": os_time(i.created_at), "updated_at": os_time(i.updated_at),
    });
    if let Some(d) = trunk_details(i, trunks) {
        v["trunk_details"] = d;
    }
    v
}

/// Neutron's `binding:vif_type` of a port bound to a nicplane host: its
/// agent plugs the port into a Linux bridge (docs/dataplane.md).
const VIF_TYPE_BOUND: &str = "bridge";

/// Put the binding attributes on the views of ports (the cloud admin's
/// only: Neutron's policy shows `binding:host_id`, `binding:vif_type`,
/// `binding:vif_details` and `binding:profile` to admins alone).
pub async fn with_bindings(s: &AppState, a: &Scoped, items: &mut [Value]) -> NeutronResult<()> {
    if !a.caller.user.is_cloud_admin || items.is_empty() {
        return Ok(());
    }
    let ids: Vec<InterfaceId> = items
        .iter()
        .filter_map(|v| {
            v["id"]
                .as_str()
                .and_then(|i| InterfaceId::parse_for_lookup(i).ok())
        })
        .collect();
    let bindings = s.service.port_bindings(&a.caller, ids).await?;
    for v in items.iter_mut() {
        let b = v["id"]
            .as_str()
            .and_then(|id| bindings.iter().find(|b| b.interface_id.to_string() == id));
        let host = b.and_then(|b| b.host_name.clone());
        let profile = b.map(|b| b.profile.clone()).unwrap_or_else(|| json!({}));
        v["binding:host_id"] = json!(host.clone().unwrap_or_default());
        v["binding:profile"] = profile;
        if host.is_some() {
            v["binding:vif_type"] = json!(VIF_TYPE_BOUND);
            v["binding:vif_details"] = json!({"connectivity": "l2", "port_filter": true});
        } else {
            v["binding:vif_type"] = json!("unbound");
            v["binding:vif_details"] = json!({});
        }
    }
    Ok(())
}

/// The store key of a sortable port attribute.
fn sort_field(attribute: &str) -> Option<SortField> {
    Some(match attribute {
        "id" => SortField::Id,
        "name" => SortField::Name,
        "description" => SortField::Description,
        "network_id" => SortField::NetworkId,
        "tenant_id" | "project_id" => SortField::ProjectId,
        "mac_address" => SortField::MacAddress,
        "admin_state_up" => SortField::AdminStateUp,
        "status" => SortField::Status,
        "device_owner" => SortField::DeviceOwner,
        "created_at" => SortField::CreatedAt,
        "updated_at" => SortField::UpdatedAt,
        _ => return None,
    })
}

/// What the store can narrow a port list by: a superset of what the
/// request's filters accept (the views are then matched exactly).
fn narrowing(q: &ListQuery) -> InterfaceFilter {
    let mut f = InterfaceFilter::default();
    let one = |k: &str| match q.filter(k) {
        Some([v]) => Some(v.as_str()),
        _ => None,
    };
    if let Some(ids) = q.filter("id") {
        f.ids = Some(ids.iter().filter_map(|v| v.parse().ok()).collect());
    }
    if let Some(v) = one("network_id") {
        match v.parse() {
            Ok(n) => f.network_id = Some(n),
            Err(_) => return f.nothing(),
        }
    }
    if let Some(v) = one("mac_address") {
        match v.parse::<MacAddr>() {
            Ok(m) => f.mac_address = Some(m),
            Err(_) => return f.nothing(),
        }
    }
    if let Some(v) = one("name") {
        f.name_ignore_case = Some(v.to_string());
    }
    if let Some(ip) = one("fixed_ips")
        .and_then(|v| v.strip_prefix("ip_address="))
        .and_then(|v| v.parse().ok())
    {
        f.ip_address = Some(ip);
    }
    f
}

/// `GET /ports`: read in the store's order in bounded chunks, narrowed by
/// the store, matched exactly on the views, until a page and one more are
/// found (see `ChunkWalk`).
pub async fn list(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    uri: Uri,
) -> NeutronResult<Json<Value>> {
    let q = ListQuery::parse(uri.query(), PORT_ATTRS)?;
    if let Some([network]) = q.filter("network_id") {
        if let Some(n) = external_network_named(&s, &a, network).await? {
            return list_external(&s, &a, n.id, q).await;
        }
    }
    let mut q = q;
    // The cloud admin's list spans every project, in pages of at most
    // EVERY_PROJECT_PAGE_MAX (a list without `limit` gets a `next` link).
    let every = s.service.lists_every_project(&a.caller);
    let requested = q.limit;
    if every {
        q.limit = Some(requested.map_or(EVERY_PROJECT_PAGE_MAX, |l| l.min(EVERY_PROJECT_PAGE_MAX)));
    }
    let order = q.store_order(sort_field)?;
    if let Some(m) = q.store_marker() {
        let owner = super::on_object(&s, a.clone(), Revisioned::Port, m).await?;
        port_by_id(&s, &owner, port_id(m)?)
            .await
            .map_err(|_| NeutronError::from(Error::not_found(Kind::Interface, m)))?;
    }
    let filter = narrowing(&q);
    let trunks = TrunkIndex::load(&s, &a, &[]).await?;
    let wanted = q.limit.map(|l| l + 1);
    let mut walk = ChunkWalk::new(q.store_marker().map(str::to_string), order);
    let mut items = Vec::new();
    while let Some(page) = walk.request() {
        let rows = if every {
            s.service
                .interface_list_every_project(&a.caller, filter.clone(), page)
                .await?
        } else {
            s.service
                .interface_list(&a.caller, &a.project, filter.clone(), page)
                .await?
        };
        walk.advance(rows.len(), rows.last().map(|i| i.id.to_string()));
        let mut views: Vec<Value> = rows.iter().map(|i| port_view(i, &trunks)).collect();
        with_revisions(&s, &a, Revisioned::Port, &mut views).await?;
        items.extend(views.into_iter().filter(|v| q.matches_view(v)));
        if wanted.is_some_and(|w| items.len() >= w) {
            break;
        }
    }
    let capped = q.limit;
    if requested.is_none() && capped.is_none_or(|l| items.len() <= l) {
        // One page holds them all: it may add the routers' gateway ports.
        q.limit = None;
        if let Some(body) = with_gateway_ports(&s, &a, &q, &mut items).await? {
            return Ok(Json(body));
        }
        q.limit = capped;
    }
    Ok(Json(q.render(items, "ports", &base_url(&s))))
}

/// Most ports on one page of the cloud admin's list that spans every
/// project.
pub const EVERY_PROJECT_PAGE_MAX: usize = 500;

/// Router gateway ports: Neutron shows them (they have no project) to its
/// admin. nicplane keeps no port row for a gateway, so they are listed for
/// the cloud admin when the request names the routers (`device_id`) and
/// reads one page (no `limit`/`marker`); they are sorted with the rest by
/// the request's keys: the whole body, or None when there are none.
async fn with_gateway_ports(
    s: &AppState,
    a: &Scoped,
    q: &ListQuery,
    items: &mut Vec<Value>,
) -> NeutronResult<Option<Value>> {
    if q.limit.is_some() || q.marker.is_some() {
        return Ok(None);
    }
    let Some(devices) = q.filter("device_id") else {
        return Ok(None);
    };
    let ids = devices
        .iter()
        .filter_map(|d| RouterId::parse_for_lookup(d).ok())
        .collect();
    let gateways = s.service.router_gateways(&a.caller, ids).await?;
    if gateways.is_empty() {
        return Ok(None);
    }
    items.extend(
        gateways
            .iter()
            .map(gateway_port_view)
            .filter(|v| q.matches_view(v)),
    );
    Ok(Some(q.apply(
        std::mem::take(items),
        "ports",
        &base_url(s),
    )?))
}

/// A router gateway's port as Neutron shows it to its admin: on the
/// external network, of no project, owned by `network:router_gateway`, with
/// the gateway's addresses (their subnets are the public pools). Its id and
/// MAC are derived from the router's id, so they are the same on every read.
pub fn gateway_port_view(r: &Router) -> Value {
    let id = crate::openstack::stable_uuid(&format!("router-gateway-port:{}", r.id));
    let b = id.as_bytes();
    let mac = format!("fa:16:3e:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2]);
    let ips = r
        .gateway
        .as_ref()
        .map(|g| {
            g.external_fixed_ips
                .iter()
                .map(|ip| json!({"subnet_id": ip.pool_id.to_string(), "ip_address": ip.ip_address.to_string()}))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    json!({
        "id": id.to_string(), "name": "", "description": "",
        "network_id": r.gateway.as_ref().map_or(r.data_center_id.to_string(), |g| g.network_id.to_string()),
        "tenant_id": "", "project_id": "",
        "mac_address": mac, "admin_state_up": true, "status": "ACTIVE",
        "device_id": r.id.to_string(), "device_owner": "network:router_gateway",
        "fixed_ips": ips, "security_groups": [], "port_security_enabled": false,
        "allowed_address_pairs": [], "binding:vnic_type": "normal", "qos_policy_id": null,
        "extra_dhcp_opts": [], "tags": [], "revision_number": 1,
        "created_at": os_time(r.created_at), "updated_at": os_time(r.updated_at),
    })
}

fn port_id(id: &str) -> NeutronResult<InterfaceId> {
    Ok(InterfaceId::parse_for_lookup(id)?)
}

async fn port_by_id(s: &AppState, a: &Scoped, id: InterfaceId) -> NeutronResult<Interface> {
    Ok(s.service.interface_get(&a.caller, &a.project, id).await?)
}

async fn one_view(s: &AppState, a: &Scoped, id: InterfaceId) -> NeutronResult<Value> {
    let i = port_by_id(s, a, id).await?;
    let trunks = TrunkIndex::load(s, a, std::slice::from_ref(&i)).await?;
    with_revision(s, a, Revisioned::Port, port_view(&i, &trunks)).await
}

/// `GET /ports/{id}`.
pub async fn show(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
) -> NeutronResult<Json<Value>> {
    let a = super::on_object(&s, a, Revisioned::Port, &id).await?;
    let q = ListQuery::parse(uri.query(), PORT_ATTRS)?;
    let id = port_id(&id)?;
    let v = match one_view(&s, &a, id).await {
        Err(e) if matches!(e.error, Error::NotFound { .. }) => {
            match external_port(&s, &a, id).await? {
                Some(p) => external_port_view(&p),
                None => return Err(e),
            }
        }
        other => other?,
    };
    let v = match (v, q.fields.is_empty()) {
        (Value::Object(m), false) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| q.fields.contains(k))
                .collect(),
        ),
        (v, _) => v,
    };
    Ok(Json(json!({ "port": v })))
}

/// One entry of `fixed_ips`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixedIpBody {
    #[serde(default, deserialize_with = "text")]
    subnet_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    ip_address: Option<String>,
}

fn fixed_ips<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<FixedIpRequest>>, D::Error> {
    let Some(list) = objects::<FixedIpBody, D>(d, "fixed_ips")? else {
        return Ok(None);
    };
    list.into_iter()
        .map(|f| {
            let subnet_id = f
                .subnet_id
                .map(|s| {
                    s.parse::<SubnetId>().map_err(|_| {
                        whole(format!(
                            "Invalid input for fixed_ips: subnet_id '{s}' is not a UUID."
                        ))
                    })
                })
                .transpose()?;
            let ip_address = f
                .ip_address
                .map(|s| {
                    s.parse().map_err(|_| {
                        whole(format!(
                            "Invalid input for fixed_ips: '{s}' is not a valid IP address."
                        ))
                    })
                })
                .transpose()?;
            Ok(FixedIpRequest {
                subnet_id,
                ip_address,
                ip_version: None,
            })
        })
        .collect::<Result<Vec<_>, D::Error>>()
        .map(Some)
}

/// `security_groups`: a list of ids.
pub fn groups<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<SecurityGroupId>>, D::Error> {
    let list = match Value::deserialize(d)? {
        Value::Null => return Ok(None),
        Value::Array(list) => list,
        _ => {
            return Err(whole(
                "Invalid input for security_groups: give a list of ids.",
            ))
        }
    };
    list.iter()
        .map(|g| {
            g.as_str()
                .unwrap_or_default()
                .parse::<SecurityGroupId>()
                .map_err(|_| whole(format!("Security group {g} does not exist in the project.")))
        })
        .collect::<Result<Vec<_>, D::Error>>()
        .map(Some)
}

fn pairs<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<AddressPair>>, D::Error> {
    Option::<Vec<AddressPair>>::deserialize(d).map_err(|_| {
        whole("Invalid input for allowed_address_pairs: give [{\"ip_address\", \"mac_address\"}].")
    })
}

/// `extra_dhcp_opts`: `[{opt_name, opt_value, ip_version}]`, the IP version
/// a number or a string ("4", "6"), absent or null meaning 4; a null value
/// removes the option on update.
fn dhcp_opts<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<DhcpOptionChange>>, D::Error> {
    let bad = || {
        whole("Invalid input for extra_dhcp_opts: give [{\"opt_name\", \"opt_value\", \"ip_version\"}].")
    };
    let list = match Value::deserialize(d)? {
        Value::Null => return Ok(None),
        Value::Array(list) => list,
        _ => return Err(bad()),
    };
    list.into_iter()
        .map(|item| {
            let Value::Object(o) = item else {
                return Err(bad());
            };
            if o.keys()
                .any(|k| !matches!(k.as_str(), "opt_name" | "opt_value" | "ip_version"))
            {
                return Err(bad());
            }
            let opt_name = o.get("opt_name").and_then(Value::as_str).ok_or_else(bad)?;
            let opt_value = match o.get("opt_value") {
                None | Some(Value::Null) => None,
                Some(Value::String(v)) => Some(v.clone()),
                Some(_) => return Err(bad()),
            };
            let ip_version = match o.get("ip_version") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => Some(
                    n.as_u64()
                        .and_then(|n| u8::try_from(n).ok())
                        .ok_or_else(bad)?,
                ),
                Some(Value::String(v)) => Some(v.parse::<u8>().map_err(|_| bad())?),
                Some(_) => return Err(bad()),
            };
            Ok(DhcpOptionChange {
                opt_name: opt_name.to_string(),
                opt_value,
                ip_version,
            })
        })
        .collect::<Result<Vec<_>, D::Error>>()
        .map(Some)
}

fn tag_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<ResourceTag>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        v => tags_of(&v).map(Some).map_err(|e| whole(e.error)),
    }
}

fn tags_of(v: &Value) -> NeutronResult<Vec<ResourceTag>> {
    let list = v.as_array().ok_or_else(|| {
        NeutronError::from(Error::invalid(
            "Invalid input for tags: give a list of strings.",
        ))
    })?;
    list.iter()
        .map(|t| tag_of(t.as_str().unwrap_or_default()))
        .collect()
}

/// The body of `POST /ports` (each entry of a bulk `ports` too).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortCreate {
    #[serde(default, deserialize_with = "text")]
    network_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    description: Option<String>,
    #[serde(default, deserialize_with = "boolean")]
    admin_state_up: Option<bool>,
    #[serde(default, deserialize_with = "text")]
    mac_address: Option<String>,
    #[serde(default, deserialize_with = "fixed_ips")]
    fixed_ips: Option<Vec<FixedIpRequest>>,
    #[serde(default, deserialize_with = "groups")]
    security_groups: Option<Vec<SecurityGroupId>>,
    #[serde(default, deserialize_with = "boolean")]
    port_security_enabled: Option<bool>,
    #[serde(default, deserialize_with = "pairs")]
    allowed_address_pairs: Option<Vec<AddressPair>>,
    #[serde(default, deserialize_with = "text")]
    device_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    device_owner: Option<String>,
    #[serde(default, deserialize_with = "tag_list")]
    tags: Option<Vec<ResourceTag>>,
    #[serde(default, deserialize_with = "present")]
    tenant_id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    project_id: Option<Value>,
    #[serde(default, rename = "binding:vnic_type")]
    vnic_type: Option<Value>,
    #[serde(default, rename = "binding:host_id", deserialize_with = "text")]
    host_id: Option<String>,
    #[serde(default, rename = "binding:profile")]
    profile: Option<Value>,
    #[serde(default)]
    qos_policy_id: Option<Value>,
    #[serde(default)]
    dns_name: Option<Value>,
    #[serde(default, deserialize_with = "dhcp_opts")]
    extra_dhcp_opts: Option<Vec<DhcpOptionChange>>,
}

/// The body of `PUT /ports/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortUpdate {
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    description: Option<String>,
    #[serde(default, deserialize_with = "boolean")]
    admin_state_up: Option<bool>,
    #[serde(default, deserialize_with = "fixed_ips")]
    fixed_ips: Option<Vec<FixedIpRequest>>,
    #[serde(default, deserialize_with = "groups")]
    security_groups: Option<Vec<SecurityGroupId>>,
    #[serde(default, deserialize_with = "boolean")]
    port_security_enabled: Option<bool>,
    #[serde(default, deserialize_with = "pairs")]
    allowed_address_pairs: Option<Vec<AddressPair>>,
    /// `Some(None)` (null) detaches, like "".
    #[serde(default, deserialize_with = "nullable_text")]
    device_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "text")]
    device_owner: Option<String>,
    #[serde(default, rename = "binding:vnic_type")]
    vnic_type: Option<Value>,
    #[serde(default, rename = "binding:host_id", deserialize_with = "text")]
    host_id: Option<String>,
    #[serde(default, rename = "binding:profile")]
    profile: Option<Value>,
    #[serde(default, deserialize_with = "tag_list")]
    tags: Option<Vec<ResourceTag>>,
    #[serde(default)]
    qos_policy_id: Option<Value>,
    #[serde(default)]
    dns_name: Option<Value>,
    #[serde(default, deserialize_with = "dhcp_opts")]
    extra_dhcp_opts: Option<Vec<DhcpOptionChange>>,
}

/// Attributes nicplane takes only at Neutron's default.
fn defaults_only(
    vnic: &Option<Value>,
    dns: &Option<Value>,
    qos: &Option<Value>,
) -> NeutronResult<()> {
    only_default("binding:vnic_type", vnic, &json!("normal"))?;
    only_default("dns_name", dns, &json!(""))?;
    only_default("qos_policy_id", qos, &Value::Null)
}

fn create_spec(
    s: &AppState,
    o: &Map<String, Value>,
    a: &Scoped,
) -> NeutronResult<(InterfaceSpec, Scoped, BindingChange)> {
    let p: PortCreate = decode(o)?;
    let owner = super::for_create(s, a, &p.project_id, &p.tenant_id)?;
    defaults_only(&p.vnic_type, &p.dns_name, &p.qos_policy_id)?;
    if p.device_id.is_some_and(|d| !d.is_empty()) {
        return Err(NeutronError::from(Error::invalid(
            "Create the port without device_id, then attach it to the server (openstack server add port).",
        )));
    }
    let network = p.network_id.ok_or_else(|| {
        NeutronError::from(Error::invalid(
            "Invalid input for operation: network_id is required.",
        ))
    })?;
    let binding = BindingChange {
        host: p.host_id,
        profile: p.profile,
    };
    let spec = InterfaceSpec {
        network_id: NetworkId::parse_for_lookup(&network)?,
        fixed_ips: p.fixed_ips.unwrap_or_default(),
        name: p.name,
        description: p.description,
        security_groups: p.security_groups,
        port_security_enabled: p.port_security_enabled,
        mac_address: p.mac_address.map(|m| m.parse::<MacAddr>()).transpose()?,
        allowed_address_pairs: p.allowed_address_pairs.unwrap_or_default(),
        extra_dhcp_opts: p.extra_dhcp_opts.unwrap_or_default(),
        admin_state_up: p.admin_state_up,
        device_owner: p.device_owner,
        tags: p.tags.unwrap_or_default(),
    };
    Ok((spec, owner, binding))
}

/// `POST /ports` (one `port`, or `ports` in bulk: all or none).
pub async fn create(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    NeutronJson(body): NeutronJson,
) -> NeutronResult<Response> {
    let o = WriteOptions::default();
    if let Some(list) = body.get("ports") {
        let list = list.as_array().ok_or_else(|| {
            NeutronError::from(Error::invalid(
                "Invalid input for ports: give a list of ports.",
            ))
        })?;
        nicplane_domain::rules::bulk_bound("ports", list.len())?;
        let specs = list
            .iter()
            .map(|p| {
                let obj = p.as_object().ok_or_else(|| {
                    NeutronError::from(Error::invalid(
                        "Invalid input for ports: each port must be an object.",
                    ))
                })?;
                Ok(obj)
            })
            .collect::<NeutronResult<Vec<_>>>()?;
        let mut specs_checked = Vec::with_capacity(specs.len());
        for obj in specs {
            if external_network_of(&s, &a, obj).await?.is_some() {
                return Err(NeutronError::from(Error::invalid(
                    "Create ports on external networks one at a time.",
                )));
            }
            let (spec, owner, binding) = create_spec(&s, obj, &a)?;
            if !binding.is_empty() {
                return Err(NeutronError::from(Error::invalid(
                    "Bind ports to hosts one at a time: binding:host_id and binding:profile are not taken in a bulk create.",
                )));
            }
            specs_checked.push((spec, owner));
        }
        let project = match specs_checked.first() {
            Some((_, first)) if specs_checked.iter().any(|(_, o)| o.project != first.project) => {
                return Err(NeutronError::from(Error::invalid(
                    "A bulk create of ports writes in one project: give every entry the same project_id.",
                )))
            }
            Some((_, first)) => first.clone(),
            None => a.clone(),
        };
        let specs = specs_checked.into_iter().map(|(spec, _)| spec).collect();
        let a = project;
        let made = s
            .service
            .interface_create_many(&a.caller, &a.project, specs, &o)
            .await?;
        let trunks = TrunkIndex::empty();
        let mut views: Vec<Value> = made.iter().map(|i| port_view(i, &trunks)).collect();
        with_revisions(&s, &a, Revisioned::Port, &mut views).await?;
        return Ok(created(json!({ "ports": views })));
    }
    let obj = body_object(&body, "port")?;
    // A port on a network first; only when that fails is the network looked
    // for among the external ones (their ids never name a network), so the
    // common create reads nothing before its write.
    match create_one(&s, a.clone(), obj, &o).await {
        Err(e) => match external_network_of(&s, &a, obj).await? {
            Some(network) => create_external(&s, &a, network, obj).await,
            None => Err(e),
        },
        made => made,
    }
}

/// One port on a (non-external) network.
async fn create_one(
    s: &AppState,
    a: Scoped,
    obj: &Map<String, Value>,
    o: &WriteOptions,
) -> NeutronResult<Response> {
    // The cloud admin creating a port on another project's network without
    // naming a project: the port goes into the network's project (a port's
    // project must see its network; Neutron would keep the admin's own).
    // `Service::object_project` decides (the token's project for anyone
    // else, and for a shared or unknown network).
    let named = obj.contains_key("project_id") || obj.contains_key("tenant_id");
    let a = match obj.get("network_id").and_then(Value::as_str) {
        Some(network) if !named => super::on_object(s, a, Revisioned::Network, network).await?,
        _ => a,
    };
    let (spec, a, binding) = create_spec(s, obj, &a)?;
    let i = if binding.is_empty() {
        s.service
            .interface_create(&a.caller, &a.project, spec, o)
            .await?
    } else {
        s.service
            .interface_create_bound(&a.caller, &a.project, spec, binding, o)
            .await?
    };
    Ok(created(
        json!({"port": with_revision(s, &a, Revisioned::Port, port_view(&i, &TrunkIndex::empty())).await?}),
    ))
}

/// `PUT /ports/{id}`.
pub async fn update(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    if_match: IfMatch,
    NeutronJson(body): NeutronJson,
) -> NeutronResult<Json<Value>> {
    let a = super::on_object(&s, a, Revisioned::Port, &id).await?;
    let p: PortUpdate = decode(body_object(&body, "port")?)?;
    defaults_only(&p.vnic_type, &p.dns_name, &p.qos_policy_id)?;
    let id = port_id(&id)?;
    let (caller, project) = (&a.caller, &a.project);
    // If-Match guards the first write (the later ones are this request's own).
    let guarded = if_match.on(Revisioned::Port, id);
    let mut first = Some(guarded.clone());
    let mut w = move || first.take().unwrap_or_default();
    let current = match s.service.interface_get(caller, project, id).await {
        Err(e @ Error::NotFound { .. }) => {
            return match external_port(&s, &a, id).await? {
                Some(_) => update_external(&s, &a, id, p, guarded).await,
                None => Err(NeutronError::from(e)),
            }
        }
        other => other?,
    };
    let patch = InterfacePatch {
        name: p.name,
        description: p.description,
        tag: None,
        security_groups: p.security_groups,
        port_security_enabled: p.port_security_enabled,
        admin_state_up: p.admin_state_up,
        allowed_address_pairs: p.allowed_address_pairs,
        extra_dhcp_opts: p.extra_dhcp_opts,
        tags: p.tags,
        fixed_ips: p.fixed_ips,
    };
    let binding = BindingChange {
        host: p.host_id,
        profile: p.profile,
    };
    // Validate the attribute changes (bounds, owner powers, the binding)
    // before the attachment changes, so a refused PUT changes nothing.
    s.service
        .interface_update_bound(
            caller,
            project,
            id,
            patch.clone(),
            binding.clone(),
            &WriteOptions {
                dry_run: true,
                ..guarded
            },
        )
        .await?;
    if let Some(device) = p.device_id.map(Option::unwrap_or_default) {
        let now = current.vm_id.map(|v| v.to_string()).unwrap_or_default();
        if device != now {
            if let Some(vm) = current.vm_id {
                s.service
                    .interface_detach(caller, project, vm, id, &w())
                    .await?;
            }
            if !device.is_empty() {
                let vm = VmId::parse_for_lookup(&device)?;
                s.service
                    .interface_attach(
                        caller,
                        project,
                        vm,
                        AttachSpec {
                            interface_id: Some(id),
                            device_owner: Some(p.device_owner.unwrap_or_else(|| {
                                crate::openstack::nova::DEVICE_OWNER.to_string()
                            })),
                            ..Default::default()
                        },
                        &w(),
                    )
                    .await?;
            }
        }
    } else if let Some(owner) = p.device_owner {
        if owner != current.device_owner {
            return Err(NeutronError::from(Error::invalid(
                "device_owner follows the attachment: set device_id to attach the port to a server.",
            )));
        }
    }
    if binding.is_empty() {
        s.service
            .interface_update(caller, project, id, patch, &w())
            .await?;
    } else {
        s.service
            .interface_update_bound(caller, project, id, patch, binding, &w())
            .await?;
    }
    Ok(Json(json!({"port": one_view(&s, &a, id).await?})))
}

/// `DELETE /ports/{id}`: 204.
pub async fn delete(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> NeutronResult<Response> {
    let a = super::on_object(&s, a, Revisioned::Port, &id).await?;
    let id = port_id(&id)?;
    match s
        .service
        .interface_delete(
            &a.caller,
            &a.project,
            id,
            &if_match.on(Revisioned::Port, id),
        )
        .await
    {
        Err(e @ Error::NotFound { .. }) if external_port(&s, &a, id).await?.is_some() => {
            drop(e);
            s.service
                .external_port_delete(&a.caller, &a.project, id, &WriteOptions::default())
                .await?;
        }
        other => {
            other?;
        }
    }
    Ok(no_content())
}

async fn set_tags(
    s: &AppState,
    a: &Scoped,
    id: InterfaceId,
    tags: Vec<ResourceTag>,
) -> NeutronResult<Interface> {
    let patch = InterfacePatch {
        tags: Some(tags),
        ..Default::default()
    };
    Ok(s.service
        .interface_update(&a.caller, &a.project, id, patch, &WriteOptions::default())
        .await?)
}

/// `GET /ports/{id}/tags`.
pub async fn tags_list(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> NeutronResult<Json<Value>> {
    let a = super::on_object(&s, a, Revisioned::Port, &id).await?;
    let i = s
        .service
        .interface_get(&a.caller, &a.project, port_id(&id)?)
        .await?;
    Ok(Json(
        json!({"tags": i.tags.iter().map(tag_string).collect::<Vec<_>>()}),
    ))
}

/// `PUT /ports/{id}/tags`: replace all.
pub async fn tags_replace(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    NeutronJson(body): NeutronJson,
) -> NeutronResult<Json<Value>> {
    let a = super::on_object(&s, a, Revisioned::Port, &id).await?;
    let tags = tags_of(body.get("tags").unwrap_or(&Value::Null))?;
    let i = set_tags(&s, &a, port_id(&id)?, tags).await?;
    Ok(Json(
        json!({"tags": i.tags.iter().map(tag_string).collect::<Vec<_>>()}),
    ))
}

/// `DELETE /ports/{id}/tags`: remove all.
pub async fn tags_clear(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> NeutronResult<Response> {
    let a = super::on_object(&s, a, Revisioned::Port, &id).await?;
    set_tags(&s, &a, port_id(&id)?, vec![]).await?;
    Ok(no_content())
}

/// `GET /ports/{id}/tags/{tag}`: 204 when present.
pub async fn tag_check(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path((id, tag)): Path<(String, String)>,
) -> NeutronResult<Response> {
    let a = super::on_object(&s, a, Revisioned::Port, &id).await?;
    let i = s
        .service
        .interface_get(&a.caller, &a.project, port_id(&id)?)
        .await?;
    if i.tags.iter().any(|t| tag_string(t) == tag) {
        Ok(no_content())
    } else {
        Err(NeutronError::from(Error::NotFound {
            kind: Kind::Interface,
            id: format!("{id} tag {tag}"),
        }))
    }
}

/// `PUT /ports/{id}/tags/{tag}`: add one (201).
pub async fn tag_add(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path((id, tag)): Path<(String, String)>,
) -> NeutronResult<Response> {
    let a = super::on_object(&s, a, Revisioned::Port, &id).await?;
    let id = port_id(&id)?;
    let i = s.service.interface_get(&a.caller, &a.project, id).await?;
    let new = tag_of(&tag)?;
    let mut tags = i.tags.clone();
    if !tags.iter().any(|t| tag_string(t) == tag) {
        tags.push(new);
        set_tags(&s, &a, id, tags).await?;
    }
    Ok((StatusCode::CREATED, Json(Value::Null)).into_response())
}

/// `DELETE /ports/{id}/tags/{tag}`: 204, or 404 when absent.
pub async fn tag_remove(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path((id, tag)): Path<(String, String)>,
) -> NeutronResult<Response> {
    let a = super::on_object(&s, a, Revisioned::Port, &id).await?;
    let pid = port_id(&id)?;
    let i = s.service.interface_get(&a.caller, &a.project, pid).await?;
    if !i.tags.iter().any(|t| tag_string(t) == tag) {
        return Err(NeutronError::from(Error::NotFound {
            kind: Kind::Interface,
            id: format!("{id} tag {tag}"),
        }));
    }
    let tags = i
        .tags
        .into_iter()
        .filter(|t| tag_string(t) != tag)
        .collect();
    set_tags(&s, &a, pid, tags).await?;
    Ok(no_content())
}

/// The external network a port body's `network_id` names, if it is one.
async fn external_network_of(
    s: &AppState,
    a: &Scoped,
    obj: &Map<String, Value>,
) -> NeutronResult<Option<ExternalNetwork>> {
    match obj.get("network_id").and_then(Value::as_str) {
        Some(n) => external_network_named(s, a, n).await,
        None => Ok(None),
    }
}

/// The external network with this id, if it is one (every project sees
/// external networks; a malformed or unknown id is none).
async fn external_network_named(
    s: &AppState,
    a: &Scoped,
    id: &str,
) -> NeutronResult<Option<ExternalNetwork>> {
    let Ok(id) = id.parse::<ExternalNetworkId>() else {
        return Ok(None);
    };
    match s.service.external_network_get(&a.caller, id).await {
        Ok(n) => Ok(Some(n)),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The port on an external network with this id, of the project the
/// caller acts in (None: there is none).
async fn external_port(
    s: &AppState,
    a: &Scoped,
    id: InterfaceId,
) -> NeutronResult<Option<ExternalPort>> {
    match s.service.external_port_get(&a.caller, &a.project, id).await {
        Ok(p) => Ok(Some(p)),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A port on an external network as Neutron shows it: its subnets are the
/// network's pools; attached to nothing, so `DOWN` with no `device_id`.
pub fn external_port_view(p: &ExternalPort) -> Value {
    let project = p.project_id.to_string();
    json!({
        "id": p.id.to_string(), "name": p.name, "description": p.description,
        "network_id": p.external_network_id.to_string(), "tenant_id": project, "project_id": project,
        "mac_address": p.mac_address.to_string(), "admin_state_up": true, "status": "DOWN",
        "device_id": "", "device_owner": p.device_owner,
        "fixed_ips": p.fixed_ips.iter().map(|f| json!({"subnet_id": f.pool_id.to_string(), "ip_address": f.ip_address.to_string()})).collect::<Vec<_>>(),
        "security_groups": [], "port_security_enabled": false, "allowed_address_pairs": [],
        "binding:vnic_type": "normal", "qos_policy_id": null, "extra_dhcp_opts": [], "tags": [],
        "revision_number": 1,
        "created_at": os_time(p.created_at), "updated_at": os_time(p.updated_at),
    })
}

/// Neutron's word for an address a port cannot have: `IpAddressInUse`
/// (the core's reason is `AddressInUse`, its message Neutron's).
fn in_use_as_neutron(e: Error) -> NeutronError {
    match e.conflict_reason() {
        Some(ConflictReason::AddressInUse) => {
            let message = e.to_string();
            NeutronError::from(e).with("IpAddressInUse", message)
        }
        _ => NeutronError::from(e),
    }
}

/// `POST /ports` on an external network: the cloud admin's port there
/// (`Service::external_port_create`), in the project the body names or the
/// token's. What a port attached to nothing cannot use is refused.
async fn create_external(
    s: &AppState,
    a: &Scoped,
    network: ExternalNetwork,
    obj: &Map<String, Value>,
) -> NeutronResult<Response> {
    let p: PortCreate = decode(obj)?;
    defaults_only(&p.vnic_type, &p.dns_name, &p.qos_policy_id)?;
    let unusable = p.security_groups.as_ref().is_some_and(|g| !g.is_empty())
        || p.allowed_address_pairs
            .as_ref()
            .is_some_and(|x| !x.is_empty())
        || p.extra_dhcp_opts.as_ref().is_some_and(|x| !x.is_empty())
        || p.tags.as_ref().is_some_and(|x| !x.is_empty())
        || p.port_security_enabled == Some(true)
        || p.admin_state_up == Some(false);
    if unusable {
        return Err(NeutronError::from(Error::invalid(format!(
            "A port on external network {} is attached to nothing: it takes no security_groups, port_security_enabled, allowed_address_pairs, extra_dhcp_opts, tags or admin_state_up false.",
            network.id
        ))));
    }
    let owner = super::for_create(s, a, &p.project_id, &p.tenant_id)?;
    let spec = ExternalPortSpec {
        name: p.name.unwrap_or_default(),
        description: p.description.unwrap_or_default(),
        mac_address: p.mac_address.map(|m| m.parse::<MacAddr>()).transpose()?,
        device_owner: p.device_owner.unwrap_or_default(),
        device_id: p.device_id,
        fixed_ips: p
            .fixed_ips
            .unwrap_or_default()
            .into_iter()
            .map(|f| GatewayIpRequest {
                pool_id: f.subnet_id.map(|s| PoolId(s.0)),
                ip_address: f.ip_address,
            })
            .collect(),
    };
    let port = s
        .service
        .external_port_create(
            &owner.caller,
            &owner.project,
            network.id,
            spec,
            &WriteOptions::default(),
        )
        .await
        .map_err(in_use_as_neutron)?;
    Ok(created(json!({"port": external_port_view(&port)})))
}

/// `PUT /ports/{id}` of a port on an external network: name and
/// description; anything else is refused (it is attached to nothing).
async fn update_external(
    s: &AppState,
    a: &Scoped,
    id: InterfaceId,
    p: PortUpdate,
    opts: WriteOptions,
) -> NeutronResult<Json<Value>> {
    let other = p.admin_state_up.is_some()
        || p.fixed_ips.is_some()
        || p.security_groups.is_some()
        || p.port_security_enabled.is_some()
        || p.allowed_address_pairs.is_some()
        || p.device_id.is_some()
        || p.device_owner.is_some()
        || p.tags.is_some()
        || p.extra_dhcp_opts.is_some();
    if other {
        return Err(NeutronError::from(Error::invalid(
            "A port on an external network changes its name and description only.",
        )));
    }
    let patch = ExternalPortPatch {
        name: p.name,
        description: p.description,
    };
    let port = s
        .service
        .external_port_update(&a.caller, &a.project, id, patch, &opts)
        .await?;
    Ok(Json(json!({"port": external_port_view(&port)})))
}

/// Most ports of an external network on one page of a list: a request
/// without `limit`, or with a larger one, gets pages of this size with a
/// `next` link.
pub const EXTERNAL_PAGE_MAX: usize = 500;

/// `GET /ports?network_id=<external network>`: the ports on it, of the
/// caller's project (the cloud admin: of every project), walked in id
/// order through the store in bounded chunks, matched on the views and cut
/// into pages of at most [`EXTERNAL_PAGE_MAX`]. Sorted by id only.
async fn list_external(
    s: &AppState,
    a: &Scoped,
    network: ExternalNetworkId,
    mut q: ListQuery,
) -> NeutronResult<Json<Value>> {
    if q.page_reverse || q.sort.iter().any(|(k, asc)| k != "id" || !asc) {
        return Err(NeutronError::from(Error::invalid(
            "The ports of an external network are listed by id, ascending: give no sort_key but id and no page_reverse.",
        )));
    }
    let requested = q.limit;
    let limit = q
        .limit
        .map_or(EXTERNAL_PAGE_MAX, |l| l.min(EXTERNAL_PAGE_MAX));
    q.limit = Some(limit);
    let every = s.service.lists_every_project(&a.caller);
    let mut walk = ChunkWalk::new(q.store_marker().map(str::to_string), Vec::new());
    let mut items = Vec::new();
    while let Some(page) = walk.request() {
        let rows = if every {
            s.service
                .external_port_list_every_project(&a.caller, Some(network), page)
                .await?
        } else {
            s.service
                .external_port_list(&a.caller, &a.project, Some(network), page)
                .await?
        };
        walk.advance(rows.len(), rows.last().map(|p| p.id.to_string()));
        items.extend(
            rows.iter()
                .map(external_port_view)
                .filter(|v| q.matches_view(v)),
        );
        if items.len() > limit {
            break;
        }
    }
    if requested.is_none() && items.len() <= limit {
        // One page holds them all: it may add the routers' gateway ports.
        q.limit = None;
        if let Some(body) = with_gateway_ports(s, a, &q, &mut items).await? {
            return Ok(Json(body));
        }
        q.limit = Some(limit);
    }
    Ok(Json(q.render(items, "ports", &base_url(s))))
}
