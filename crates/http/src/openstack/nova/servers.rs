//! Nova servers on nicplane's VMs: list (`?name=` as a search pattern),
//! detail, show shaped for the requested microversion, create (onto the VM
//! create use case, with the first requested network as the primary
//! interface), rename, delete, `os-start`/`os-stop` and `ips`.
//!
//! A data center is an availability zone; a VM's OS type comes from the
//! server metadata key `os_type` (`linux` or `windows`, default `linux`).

use super::flavors::flavor_view;
use super::schema::{decode, validate, Schema, ANY_TEXT, TAG};
use super::{empty, link, Microversion, NovaAuth, NovaError, NovaJson, NovaResult};
use crate::openstack::{os_time, query_pairs};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use nicplane_domain::ids::*;
use nicplane_domain::model::*;
use nicplane_domain::query::{cut_page, ChunkWalk, SortField, VmFilter};
use nicplane_domain::types::{OsType, PowerState};
use nicplane_domain::{Error, Kind};
use nicplane_service::ipam::FixedIpRequest;
use nicplane_service::vm::NicRequest;
use nicplane_service::vm::{VmDetail, VmPatch, VmSpec};
use nicplane_service::WriteOptions;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};

/// Metadata key naming the guest OS.
pub const OS_TYPE_KEY: &str = "os_type";

/// What a server body needs besides the VM: zone names and group names.
pub struct Names {
    pub zones: HashMap<DataCenterId, String>,
    pub groups: HashMap<SecurityGroupId, String>,
    /// Every flavor, deleted ones too (a server shows the one it was made with).
    pub flavors: Vec<nicplane_domain::model::Flavor>,
}

async fn names(s: &AppState, a: &NovaAuth) -> NovaResult<Names> {
    let zones = s
        .service
        .data_center_list(&a.0.caller)
        .await?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect();
    let groups = s
        .service
        .security_group_list(&a.0.caller, &a.0.project)
        .await?
        .into_iter()
        .map(|g| (g.id, g.name))
        .collect();
    let flavors = s.service.flavor_list(&a.0.caller, true).await?;
    Ok(Names {
        zones,
        groups,
        flavors,
    })
}

/// `addresses`: per network name, the fixed addresses and public IPs.
pub fn addresses(interfaces: &[Interface]) -> Map<String, Value> {
    let mut out: Map<String, Value> = Map::new();
    for i in interfaces {
        let entry = out
            .entry(i.network_name.clone())
            .or_insert_with(|| Value::Array(vec![]));
        if let Value::Array(list) = entry {
            for f in &i.fixed_ips {
                list.push(json!({
                    "version": if f.ip_address.is_ipv4() { 4 } else { 6 },
                    "addr": f.ip_address.to_string(),
                    "OS-EXT-IPS:type": "fixed",
                    "OS-EXT-IPS-MAC:mac_addr": i.mac_address.to_string(),
                }));
            }
            if let Some(p) = i.public_ip {
                list.push(json!({
                    "version": 4,
                    "addr": p.to_string(),
                    "OS-EXT-IPS:type": "floating",
                    "OS-EXT-IPS-MAC:mac_addr": i.mac_address.to_string(),
                }));
            }
        }
    }
    out
}

/// Nova's status of a VM.
pub fn status(vm: &Vm) -> &'static str {
    match vm.power_state {
        PowerState::Running => "ACTIVE",
        PowerState::Stopped => "SHUTOFF",
    }
}

/// The full server body for a microversion.
pub fn server_view(s: &AppState, d: &VmDetail, mv: Microversion, n: &Names) -> Value {
    let vm = &d.vm;
    let project = vm.project_id.to_string();
    let id = vm.id.to_string();
    let running = vm.power_state == PowerState::Running;
    let image = if vm.image_ref.is_empty() {
        json!("")
    } else {
        json!({"id": vm.image_ref, "links": [{"rel": "bookmark", "href": format!("{}/compute/{project}/images/{}", crate::openstack::base_url(s), vm.image_ref)}]})
    };
    let flavor = if mv.at_least(47) {
        flavor_view(&n.flavors, &vm.flavor_ref, true)
    } else {
        json!({"id": vm.flavor_ref, "links": [{"rel": "bookmark", "href": format!("{}/compute/{project}/flavors/{}", crate::openstack::base_url(s), vm.flavor_ref)}]})
    };
    let mut groups: Vec<String> = Vec::new();
    for i in &d.interfaces {
        for g in &i.security_groups {
            if let Some(name) = n.groups.get(g) {
                if !groups.contains(name) {
                    groups.push(name.clone());
                }
            }
        }
    }
    let mut v = json!({
        "id": id,
        "name": vm.name,
        "status": status(vm),
        "tenant_id": project,
        "user_id": "",
        "metadata": vm.metadata,
        "hostId": "",
        "image": image,
        "flavor": flavor,
        "created": os_time(vm.created_at),
        "updated": os_time(vm.updated_at),
        "addresses": addresses(&d.interfaces),
        "accessIPv4": vm.access_ipv4.map(|ip| ip.to_string()).unwrap_or_default(),
        "accessIPv6": vm.access_ipv6.map(|ip| ip.to_string()).unwrap_or_default(),
        "links": link(s, &project, &format!("servers/{id}")),
        "OS-DCF:diskConfig": "MANUAL",
        "progress": 0,
        "OS-EXT-AZ:availability_zone": n.zones.get(&vm.data_center_id).cloned().unwrap_or_default(),
        "config_drive": "",
        "key_name": null,
        "OS-SRV-USG:launched_at": os_time(vm.created_at).replace('Z', ".000000"),
        "OS-SRV-USG:terminated_at": null,
        "security_groups": groups.iter().map(|g| json!({"name": g})).collect::<Vec<_>>(),
        "OS-EXT-STS:task_state": null,
        "OS-EXT-STS:vm_state": if running { "active" } else { "stopped" },
        "OS-EXT-STS:power_state": if running { 1 } else { 4 },
        "os-extended-volumes:volumes_attached": [],
    });
    if mv.at_least(9) {
        v["locked"] = json!(false);
    }
    if mv.at_least(19) {
        v["description"] = Value::Null;
    }
    if mv.at_least(26) {
        v["tags"] = json!([]);
    }
    if mv.at_least(63) {
        v["trusted_image_certificates"] = Value::Null;
    }
    if mv.at_least(73) {
        v["locked_reason"] = Value::Null;
    }
    if mv.at_least(90) {
        v["OS-EXT-SRV-ATTR:hostname"] = json!(vm.name);
    }
    if mv.at_least(96) {
        v["pinned_availability_zone"] = Value::Null;
    }
    v
}

/// Nova's `name` filter is a regular expression searched in the name; the
/// plain names and `^…$` anchors clients send are matched exactly that way.
fn name_matches(pattern: &str, name: &str) -> bool {
    let (start, p) = match pattern.strip_prefix('^') {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    let (end, p) = match p.strip_suffix('$') {
        Some(rest) => (true, rest),
        None => (false, p),
    };
    match (start, end) {
        (true, true) => name == p,
        (true, false) => name.starts_with(p),
        (false, true) => name.ends_with(p),
        (false, false) => name.contains(p),
    }
}

/// The project's servers, newest first, filtered and paged as Nova does:
/// read in the store's order (`created_at` then id, both descending) in
/// bounded chunks after the marker, narrowed by the store where it can,
/// matched exactly here (Nova's `name` is a pattern), until a page and one
/// more are found.
async fn listed(
    s: &AppState,
    a: &NovaAuth,
    uri: &Uri,
) -> NovaResult<(Vec<VmDetail>, Option<String>)> {
    let q = query_pairs(uri.query());
    let get = |k: &str| q.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.clone());
    let limit = match get("limit") {
        Some(l) => Some(l.parse::<usize>().map_err(|_| {
            NovaError::from(Error::invalid(format!(
                "Invalid input for query parameters limit. Value: {l}."
            )))
        })?),
        None => None,
    };
    let marker = get("marker");
    if let Some(m) = &marker {
        let visible = match VmId::parse_for_lookup(m) {
            Ok(id) => s
                .service
                .vm_get(&a.0.caller, &a.0.project, id)
                .await
                .is_ok(),
            Err(_) => false,
        };
        if !visible {
            return Err(NovaError::from(Error::invalid(format!(
                "marker [{m}] not found"
            ))));
        }
    }
    let name = get("name");
    let status_word = get("status");
    let az = get("availability_zone");
    let zones = match &az {
        Some(_) => Some(names(s, a).await?.zones),
        None => None,
    };
    let keep = |d: &VmDetail| {
        name.as_ref().is_none_or(|n| name_matches(n, &d.vm.name))
            && status_word
                .as_ref()
                .is_none_or(|st| status(&d.vm).eq_ignore_ascii_case(st))
            && match (&az, &zones) {
                (Some(az), Some(zones)) => zones.get(&d.vm.data_center_id) == Some(az),
                _ => true,
            }
    };
    let order = vec![(SortField::CreatedAt, false), (SortField::Id, false)];
    let mut walk = ChunkWalk::new(marker, order);
    let mut vms = Vec::new();
    while let Some(page) = walk.request() {
        let rows = s
            .service
            .vm_list(&a.0.caller, &a.0.project, VmFilter::default(), page)
            .await?;
        walk.advance(rows.len(), rows.last().map(|d| d.vm.id.to_string()));
        vms.extend(rows.into_iter().filter(|d| keep(d)));
        if limit.is_some_and(|l| vms.len() > l) {
            break;
        }
    }
    let mut next = None;
    if let Some(limit) = limit {
        let page = cut_page(vms, limit, |d| d.vm.id.to_string());
        vms = page.items;
        next = page.next_marker;
    }
    Ok((vms, next))
}

/// The list body, with a `next` link when more follow. As Nova's
/// `_get_next_link`, the link repeats the request's parameters (filters and
/// `limit`, sorted by name) with the marker replaced.
fn with_links(
    s: &AppState,
    a: &NovaAuth,
    uri: &Uri,
    key: &str,
    path: &str,
    items: Vec<Value>,
    next: Option<String>,
) -> NovaResult<Json<Value>> {
    let mut body = json!({ key: items });
    if let Some(m) = next {
        let mut params: Vec<(String, String)> = query_pairs(uri.query())
            .into_iter()
            .filter(|(k, _)| k != "marker")
            .collect();
        params.sort();
        params.push(("marker".into(), m));
        body[format!("{key}_links")] = json!([{"rel": "next", "href": format!(
            "{}/compute/v2.1/{}/{path}?{}",
            crate::openstack::base_url(s),
            a.0.project,
            crate::openstack::query_string(&params)
        )}]);
    }
    Ok(Json(body))
}

/// `GET /servers`.
pub async fn list(State(s): State<AppState>, a: NovaAuth, uri: Uri) -> NovaResult<Json<Value>> {
    let (vms, next) = listed(&s, &a, &uri).await?;
    let items = vms
        .iter()
        .map(|d| {
            let id = d.vm.id.to_string();
            json!({"id": id, "name": d.vm.name, "links": link(&s, a.0.project.as_str(), &format!("servers/{id}"))})
        })
        .collect();
    with_links(&s, &a, &uri, "servers", "servers", items, next)
}

/// `GET /servers/detail`.
pub async fn list_detail(
    State(s): State<AppState>,
    a: NovaAuth,
    mv: Microversion,
    uri: Uri,
) -> NovaResult<Json<Value>> {
    let (vms, next) = listed(&s, &a, &uri).await?;
    let n = names(&s, &a).await?;
    let items = vms.iter().map(|d| server_view(&s, d, mv, &n)).collect();
    with_links(&s, &a, &uri, "servers", "servers/detail", items, next)
}

/// Parse a server id from the path: anything else is "not found".
pub fn server_id(id: &str) -> NovaResult<VmId> {
    VmId::parse_for_lookup(id).map_err(NovaError::from)
}

/// `GET /servers/{id}`.
pub async fn show(
    State(s): State<AppState>,
    a: NovaAuth,
    mv: Microversion,
    Path(id): Path<String>,
) -> NovaResult<Json<Value>> {
    let d = s
        .service
        .vm_get(&a.0.caller, &a.0.project, server_id(&id)?)
        .await?;
    let n = names(&s, &a).await?;
    Ok(Json(json!({"server": server_view(&s, &d, mv, &n)})))
}

/// One `networks` entry of a create (`servers.base_create`): the
/// controller checks `uuid` and `fixed_ip` in its own words.
const NETWORK: Schema = Schema::Object {
    properties: &[
        ("uuid", ANY_TEXT),
        ("fixed_ip", ANY_TEXT),
        ("port", Schema::Uuid),
        ("tag", TAG),
    ],
    required: &[],
    closed: true,
};

/// A server's name (`parameter_types.name`): 1 to 255 characters.
const NAME: Schema = Schema::Text {
    min: 1,
    max: 255,
    forbidden: &[],
    pattern: "",
};

/// The create body. The fields nicplane reads are typed; the others Nova
/// knows are accepted and ignored (they describe things nicplane does not
/// manage); any other is refused, as Nova's closed schema does.
const CREATE: Schema = Schema::Object {
    properties: &[
        (
            "server",
            Schema::Object {
                properties: &[
                    ("name", NAME),
                    ("imageRef", Schema::Any),
                    ("flavorRef", Schema::Any),
                    ("networks", Schema::Any),
                    ("metadata", Schema::MapOf(&ANY_TEXT)),
                    ("availability_zone", ANY_TEXT),
                    ("min_count", Schema::Any),
                    ("max_count", Schema::Any),
                    ("security_groups", Schema::Any),
                    ("key_name", Schema::Any),
                    ("return_reservation_id", Schema::Any),
                    ("user_data", Schema::Any),
                    ("config_drive", Schema::Any),
                    ("description", Schema::Any),
                    ("tags", Schema::Any),
                    ("block_device_mapping_v2", Schema::Any),
                    ("block_device_mapping", Schema::Any),
                    ("adminPass", Schema::Any),
                    ("accessIPv4", Schema::Any),
                    ("accessIPv6", Schema::Any),
                    ("OS-DCF:diskConfig", Schema::Any),
                    ("personality", Schema::Any),
                    ("hostname", Schema::Any),
                    ("trusted_image_certificates", Schema::Any),
                    ("host", Schema::Any),
                    ("hypervisor_hostname", Schema::Any),
                ],
                required: &["name", "flavorRef"],
                closed: true,
            },
        ),
        ("os:scheduler_hints", Schema::Any),
        ("OS-SCH-HNT:scheduler_hints", Schema::Any),
    ],
    required: &["server"],
    closed: true,
};

/// The update body: a rename.
const UPDATE: Schema = Schema::Object {
    properties: &[(
        "server",
        Schema::Object {
            properties: &[("name", NAME)],
            required: &[],
            closed: true,
        },
    )],
    required: &["server"],
    closed: true,
};

#[derive(Debug, Deserialize)]
struct UpdateBody {
    server: ServerUpdate,
}

#[derive(Debug, Deserialize)]
struct ServerUpdate {
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CreateBody {
    server: ServerCreate,
}

/// What a create reads, once [`CREATE`] accepted the body.
#[derive(Debug, Deserialize)]
struct ServerCreate {
    name: String,
    #[serde(rename = "imageRef", default)]
    image_ref: Option<Value>,
    #[serde(rename = "flavorRef")]
    flavor_ref: Value,
    #[serde(default)]
    networks: Option<Value>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    #[serde(default)]
    availability_zone: Option<String>,
    #[serde(default)]
    min_count: Option<Value>,
    #[serde(default)]
    max_count: Option<Value>,
    #[serde(rename = "accessIPv4", default)]
    access_ipv4: Option<Value>,
    #[serde(rename = "accessIPv6", default)]
    access_ipv6: Option<Value>,
}

/// `accessIPv4`/`accessIPv6`: an address (absent, null or "" for none).
fn access_ip(field: &str, v: Option<&Value>) -> NovaResult<Option<std::net::IpAddr>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s.parse().map(Some).map_err(|_| {
            NovaError::from(Error::invalid(format!(
                "Invalid input for field/attribute {field}. Value: {s}. '{s}' is not an IP address."
            )))
        }),
        Some(other) => Err(NovaError::from(Error::invalid(format!(
            "Invalid input for field/attribute {field}. Value: {other}. It is not a string."
        )))),
    }
}

/// One `networks` entry, once [`NETWORK`] accepted it.
#[derive(Debug, Deserialize)]
struct NetworkEntry {
    uuid: Option<String>,
    fixed_ip: Option<String>,
    port: Option<String>,
    tag: Option<String>,
}

fn nic_of(entry: &Value) -> NovaResult<NicRequest> {
    validate(&NETWORK, "networks", entry)?;
    let e: NetworkEntry = serde_json::from_value(entry.clone())
        .map_err(|e| NovaError::from(Error::invalid(crate::json_error_reason(&e))))?;
    if let Some(p) = &e.port {
        return Ok(NicRequest::Interface {
            interface_id: InterfaceId::parse_for_lookup(p)?,
            tag: e.tag,
        });
    }
    let uuid = e.uuid.ok_or_else(|| {
        NovaError::from(Error::invalid(
            "Bad networks format: network uuid is not in proper format",
        ))
    })?;
    let network_id: NetworkId = uuid.parse().map_err(|_| {
        NovaError::from(Error::invalid(format!(
            "Bad networks format: network uuid is not in proper format ({uuid})"
        )))
    })?;
    let mut fixed_ips = vec![];
    if let Some(ip) = e.fixed_ip {
        let ip = ip.parse().map_err(|_| {
            NovaError::from(Error::invalid(format!("Invalid fixed IP address ({ip})")))
        })?;
        fixed_ips.push(FixedIpRequest {
            ip_address: Some(ip),
            ..Default::default()
        });
    }
    Ok(NicRequest::Network {
        network_id,
        fixed_ips,
        tag: e.tag,
    })
}

fn ref_string(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// `POST /servers`: 202 with the new server's id and links.
pub async fn create(
    State(s): State<AppState>,
    a: NovaAuth,
    NovaJson(body): NovaJson,
) -> NovaResult<Response> {
    let server = decode::<CreateBody>(&CREATE, &body)?.server;
    for (count, v) in [
        ("min_count", &server.min_count),
        ("max_count", &server.max_count),
    ] {
        if v.is_some() && ref_string(v.as_ref()) != "1" {
            return Err(NovaError::from(Error::invalid(format!(
                "Invalid input for field/attribute {count}: nicplane creates one server per request."
            ))));
        }
    }
    let metadata = server.metadata;
    let os_type: OsType = match metadata.get(OS_TYPE_KEY) {
        Some(v) => v.parse()?,
        None => OsType::Linux,
    };
    let zones = s.service.data_center_list(&a.0.caller).await?;
    let dc = match server.availability_zone.as_deref() {
        Some(az) => zones.iter().find(|d| d.name == az).ok_or_else(|| {
            NovaError::from(Error::invalid(format!(
                "The requested availability zone is not available: {az}"
            )))
        })?,
        None => zones
            .iter()
            .min_by(|x, y| x.created_at.cmp(&y.created_at).then(x.name.cmp(&y.name)))
            .ok_or_else(|| NovaError::from(Error::unavailable("No availability zone exists.")))?,
    };
    let nics = match &server.networks {
        None | Some(Value::Null) => vec![],
        Some(Value::String(s)) if s == "auto" => vec![],
        Some(Value::String(s)) if s == "none" => {
            return Err(NovaError::from(Error::invalid(
                "A nicplane server always has a primary network interface: use networks \"auto\" or name one.",
            )))
        }
        Some(Value::Array(list)) => list.iter().map(nic_of).collect::<NovaResult<Vec<_>>>()?,
        Some(other) => return Err(NovaError::from(Error::invalid(format!("Invalid input for field/attribute networks. Value: {other}.")))),
    };
    let spec = VmSpec {
        name: server.name,
        data_center_id: dc.id,
        os_type,
        power_state: None,
        image_ref: ref_string(server.image_ref.as_ref()),
        flavor_ref: ref_string(Some(&server.flavor_ref)),
        metadata,
        access_ipv4: access_ip("accessIPv4", server.access_ipv4.as_ref())?,
        access_ipv6: access_ip("accessIPv6", server.access_ipv6.as_ref())?,
        host: None,
    };
    let d = s
        .service
        .vm_create(
            &a.0.caller,
            &a.0.project,
            spec,
            nics,
            super::DEVICE_OWNER,
            &WriteOptions::default(),
        )
        .await?;
    let id = d.vm.id.to_string();
    let links = link(&s, a.0.project.as_str(), &format!("servers/{id}"));
    let location = links[0]["href"].as_str().unwrap_or_default().to_string();
    let body = json!({"server": {
        "id": id,
        "links": links,
        "OS-DCF:diskConfig": "MANUAL",
        "security_groups": [{"name": "default"}],
        "adminPass": "",
    }});
    let mut resp = (StatusCode::ACCEPTED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    Ok(resp)
}

/// `PUT /servers/{id}`: rename.
pub async fn update(
    State(s): State<AppState>,
    a: NovaAuth,
    mv: Microversion,
    Path(id): Path<String>,
    NovaJson(body): NovaJson,
) -> NovaResult<Json<Value>> {
    let vm = server_id(&id)?;
    let server = decode::<UpdateBody>(&UPDATE, &body)?.server;
    let patch = VmPatch {
        name: server.name,
        metadata: None,
    };
    let d = s
        .service
        .vm_update(
            &a.0.caller,
            &a.0.project,
            vm,
            patch,
            &WriteOptions::default(),
        )
        .await?;
    let n = names(&s, &a).await?;
    Ok(Json(json!({"server": server_view(&s, &d, mv, &n)})))
}

/// `DELETE /servers/{id}`: 204.
pub async fn delete(
    State(s): State<AppState>,
    a: NovaAuth,
    Path(id): Path<String>,
) -> NovaResult<Response> {
    s.service
        .vm_delete(
            &a.0.caller,
            &a.0.project,
            server_id(&id)?,
            &WriteOptions::default(),
        )
        .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `POST /servers/{id}/action`: `os-start` and `os-stop` (202).
pub async fn action(
    State(s): State<AppState>,
    a: NovaAuth,
    Path(id): Path<String>,
    NovaJson(body): NovaJson,
) -> NovaResult<Response> {
    let vm = server_id(&id)?;
    let obj = body.as_object().filter(|o| o.len() == 1).ok_or_else(|| {
        NovaError::from(Error::invalid(
            "Malformed request body: name exactly one action.",
        ))
    })?;
    let name = obj.keys().next().cloned().unwrap_or_default();
    let o = WriteOptions::default();
    match name.as_str() {
        "os-start" => {
            s.service
                .vm_start(&a.0.caller, &a.0.project, vm, &o)
                .await?
        }
        "os-stop" => s.service.vm_stop(&a.0.caller, &a.0.project, vm, &o).await?,
        other => {
            s.service.vm_get(&a.0.caller, &a.0.project, vm).await?;
            return Err(NovaError::from(Error::invalid(format!(
                "There is no such action: {other}"
            ))));
        }
    };
    Ok(empty(StatusCode::ACCEPTED))
}

/// `GET /servers/{id}/ips`.
pub async fn ips(
    State(s): State<AppState>,
    a: NovaAuth,
    Path(id): Path<String>,
) -> NovaResult<Json<Value>> {
    let d = s
        .service
        .vm_get(&a.0.caller, &a.0.project, server_id(&id)?)
        .await?;
    Ok(Json(json!({"addresses": addresses(&d.interfaces)})))
}

/// `GET /servers/{id}/ips/{network}`.
pub async fn ips_of_network(
    State(s): State<AppState>,
    a: NovaAuth,
    Path((id, network)): Path<(String, String)>,
) -> NovaResult<Json<Value>> {
    let d = s
        .service
        .vm_get(&a.0.caller, &a.0.project, server_id(&id)?)
        .await?;
    let all = addresses(&d.interfaces);
    let list = all
        .get(&network)
        .cloned()
        .ok_or_else(|| NovaError::from(Error::not_found(Kind::Network, &network)))?;
    Ok(Json(json!({ network: list })))
}

/// `GET /os-availability-zone`: one zone per data center.
pub async fn availability_zones(State(s): State<AppState>, a: NovaAuth) -> NovaResult<Json<Value>> {
    let zones: Vec<Value> = s
        .service
        .data_center_list(&a.0.caller)
        .await?
        .into_iter()
        .map(|d| json!({"zoneName": d.name, "zoneState": {"available": true}, "hosts": null}))
        .collect();
    Ok(Json(json!({"availabilityZoneInfo": zones})))
}
