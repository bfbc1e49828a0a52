//! Nova servers on nicplane's VMs: list (`?name=` as a search pattern),
//! detail, show shaped for the requested microversion, create (onto the VM
//! create use case, with the first requested network as the primary
//! interface), rename, delete, `os-start`/`os-stop` and `ips`.
//!
//! A data center is an availability zone; a VM's OS type comes from the
//! server metadata key `os_type` (`linux` or `windows`, default `linux`).

use super::flavors::flavor_view;
use super::{empty, link, only_keys, Microversion, NovaAuth, NovaError, NovaJson, NovaResult};
use crate::openstack::{os_time, query_pairs};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use nicplane_domain::ids::*;
use nicplane_domain::model::*;
use nicplane_domain::query::{cut_page, PageRequest, VmFilter};
use nicplane_domain::types::{OsType, PowerState};
use nicplane_domain::{Error, Kind};
use nicplane_service::ipam::FixedIpRequest;
use nicplane_service::vm::NicRequest;
use nicplane_service::vm::{VmDetail, VmPatch, VmSpec};
use nicplane_service::WriteOptions;
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
        "accessIPv4": "",
        "accessIPv6": "",
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

/// The project's servers, newest first, filtered and paged as Nova does.
async fn listed(
    s: &AppState,
    a: &NovaAuth,
    uri: &Uri,
) -> NovaResult<(Vec<VmDetail>, Option<String>)> {
    let q = query_pairs(uri.query());
    let get = |k: &str| q.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.clone());
    let mut vms = s
        .service
        .vm_list(
            &a.0.caller,
            &a.0.project,
            VmFilter::default(),
            PageRequest::default(),
        )
        .await?;
    vms.sort_by(|x, y| {
        y.vm.created_at
            .cmp(&x.vm.created_at)
            .then(y.vm.id.cmp(&x.vm.id))
    });
    if let Some(name) = get("name") {
        vms.retain(|d| name_matches(&name, &d.vm.name));
    }
    if let Some(st) = get("status") {
        vms.retain(|d| status(&d.vm).eq_ignore_ascii_case(&st));
    }
    if let Some(az) = get("availability_zone") {
        let zones = names(s, a).await?.zones;
        vms.retain(|d| zones.get(&d.vm.data_center_id) == Some(&az));
    }
    if let Some(m) = get("marker") {
        let pos = vms
            .iter()
            .position(|d| d.vm.id.to_string() == m)
            .ok_or_else(|| NovaError::from(Error::invalid(format!("marker [{m}] not found"))))?;
        vms.drain(..=pos);
    }
    let mut next = None;
    if let Some(l) = get("limit") {
        let limit: usize = l.parse().map_err(|_| {
            NovaError::from(Error::invalid(format!(
                "Invalid input for query parameters limit. Value: {l}."
            )))
        })?;
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

/// Fields of a create request nicplane reads; the others Nova knows are
/// accepted and ignored (they describe things nicplane does not manage).
const CREATE_FIELDS: &[&str] = &[
    "name",
    "imageRef",
    "flavorRef",
    "networks",
    "metadata",
    "availability_zone",
    "security_groups",
    "key_name",
    "min_count",
    "max_count",
    "return_reservation_id",
    "user_data",
    "config_drive",
    "description",
    "tags",
    "block_device_mapping_v2",
    "block_device_mapping",
    "adminPass",
    "accessIPv4",
    "accessIPv6",
    "OS-DCF:diskConfig",
    "personality",
    "hostname",
    "trusted_image_certificates",
    "host",
    "hypervisor_hostname",
];

fn nic_of(entry: &Value) -> NovaResult<NicRequest> {
    let obj = entry.as_object().ok_or_else(|| {
        NovaError::from(Error::invalid(
            "Invalid input for field/attribute networks: each entry must be an object.",
        ))
    })?;
    only_keys(obj, "networks", &["uuid", "fixed_ip", "port", "tag"])?;
    let tag = obj.get("tag").and_then(Value::as_str).map(str::to_string);
    if let Some(p) = obj.get("port").and_then(Value::as_str) {
        return Ok(NicRequest::Interface {
            interface_id: InterfaceId::parse_for_lookup(p)?,
            tag,
        });
    }
    let uuid = obj.get("uuid").and_then(Value::as_str).ok_or_else(|| {
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
    if let Some(ip) = obj.get("fixed_ip").and_then(Value::as_str) {
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
        tag,
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
    let top = body
        .as_object()
        .ok_or_else(|| NovaError::from(Error::invalid("Malformed request body")))?;
    only_keys(
        top,
        "root",
        &["server", "os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"],
    )?;
    let server = top
        .get("server")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            NovaError::from(Error::invalid(
                "Invalid input for field/attribute server. 'server' is a required property",
            ))
        })?;
    only_keys(server, "server", CREATE_FIELDS)?;
    let name = server.get("name").and_then(Value::as_str).ok_or_else(|| {
        NovaError::from(Error::invalid(
            "Invalid input for field/attribute server. 'name' is a required property",
        ))
    })?;
    if server.get("flavorRef").is_none() {
        return Err(NovaError::from(Error::invalid(
            "Invalid input for field/attribute server. 'flavorRef' is a required property",
        )));
    }
    for count in ["min_count", "max_count"] {
        if let Some(c) = server.get(count) {
            if ref_string(Some(c)) != "1" {
                return Err(NovaError::from(Error::invalid(format!(
                    "Invalid input for field/attribute {count}: nicplane creates one server per request."
                ))));
            }
        }
    }
    let mut metadata = BTreeMap::new();
    if let Some(m) = server.get("metadata") {
        let m = m.as_object().ok_or_else(|| {
            NovaError::from(Error::invalid(
                "Invalid input for field/attribute metadata: it must be an object.",
            ))
        })?;
        for (k, v) in m {
            let v = v.as_str().ok_or_else(|| {
                NovaError::from(Error::invalid(format!("Invalid input for field/attribute metadata: the value of {k} must be a string.")))
            })?;
            metadata.insert(k.clone(), v.to_string());
        }
    }
    let os_type: OsType = match metadata.get(OS_TYPE_KEY) {
        Some(v) => v.parse()?,
        None => OsType::Linux,
    };
    let zones = s.service.data_center_list(&a.0.caller).await?;
    let dc = match server.get("availability_zone").and_then(Value::as_str) {
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
    let nics = match server.get("networks") {
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
        name: name.to_string(),
        data_center_id: dc.id,
        os_type,
        power_state: None,
        image_ref: ref_string(server.get("imageRef")),
        flavor_ref: ref_string(server.get("flavorRef")),
        metadata,
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
    let server = body
        .get("server")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            NovaError::from(Error::invalid(
                "Invalid input for field/attribute server. 'server' is a required property",
            ))
        })?;
    only_keys(server, "server", &["name"])?;
    let patch = VmPatch {
        name: server
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_string),
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
