//! VPC v3 supplementary network interfaces (`/v3/{project_id}/vpc/sub-network-interfaces`)
//! and their tags (`/v3/{project_id}/sub-network-interfaces/{id}/tags`),
//! translated onto the core's `supplementary_*` use cases.
//!
//! Mapping: `virsubnet_id` is a nicplane network id (a Huawei virtual subnet
//! carries an IPv4 and an optional IPv6 CIDR; a nicplane network may carry
//! several of each, and an address comes from the first of its version with
//! room); `parent_id` is the parent interface; the parent's VM
//! is `parent_device_id`; `vpc_id` is [`vpc_id`] of the project and the
//! network's data center.

use super::auth::{body, project, HwCaller};
use super::error::{HwResult, Shape};
use crate::{request_id, AppState};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use nicplane_domain::ids::*;
use nicplane_domain::model::{AddressPair, ResourceTag, Timestamp};
use nicplane_domain::types::VlanId;
use nicplane_domain::Error;
use nicplane_service::supplementary::{
    SupplementaryAttach, SupplementaryFilter, SupplementaryInterface, SupplementaryPatch,
    SupplementarySpec, TagChange,
};
use nicplane_service::WriteOptions;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::net::IpAddr;

/// Default and largest page size of the list (Huawei: 0-2000).
pub const LIST_LIMIT_MAX: usize = 2000;
/// Default and largest page of the tag filter (Huawei: 1000).
pub const TAG_FILTER_LIMIT_MAX: usize = 1000;

/// The VPC of a project in a data center: a project's networks in one data
/// center form one VPC. Its id is a UUID derived from both ids (the first 16
/// bytes of SHA-256 over `"nicplane-vpc:" project ":" data_center`, marked
/// as a version 8 UUID), so it is stable and needs no table.
pub fn vpc_id(project: &ProjectId, dc: DataCenterId) -> uuid::Uuid {
    let h = Sha256::digest(format!("nicplane-vpc:{project}:{dc}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    uuid::Builder::from_custom_bytes(b).into_uuid()
}

/// Huawei's timestamp format, `yyyy-MM-ddTHH:mm:ssZ`.
pub fn hw_time(t: Timestamp) -> String {
    crate::timefmt::format(t, crate::timefmt::SECONDS)
}

/// The SubNetworkInterface object.
pub fn sni_view(s: &SupplementaryInterface) -> Value {
    let i = &s.interface;
    json!({
        "id": i.id,
        "project_id": i.project_id,
        "virsubnet_id": i.network_id,
        "private_ip_address": i.ipv4().map(|ip| ip.to_string()).unwrap_or_default(),
        "ipv6_ip_address": i.ipv6().map(|ip| ip.to_string()),
        "mac_address": i.mac_address,
        "parent_device_id": s.parent_vm_id.map(|v| v.to_string()).unwrap_or_default(),
        "parent_id": i.parent_id.map(|p| p.to_string()).unwrap_or_default(),
        "description": i.description,
        "vpc_id": vpc_id(&i.project_id, i.data_center_id),
        "vlan_id": i.vlan_id.map(|v| v.get() as i64).unwrap_or(-1),
        "security_groups": i.security_groups,
        "security_enabled": i.port_security_enabled,
        "tags": i.tags,
        "allowed_address_pairs": i.allowed_address_pairs.iter().map(pair_view).collect::<Vec<_>>(),
        "state": if s.is_bound() { "NORMAL" } else { "UNBOUND" },
        "instance_id": "",
        "instance_type": "",
        "scope": "center",
        "created_at": hw_time(i.created_at),
        "updated_at": hw_time(i.updated_at),
    })
}

fn pair_view(p: &AddressPair) -> Value {
    json!({"ip_address": p.ip_address, "mac_address": p.mac_address.clone().unwrap_or_default()})
}

fn with_request_id(mut v: Value) -> Value {
    v["request_id"] = json!(request_id::current());
    v
}

fn ok(status: StatusCode, v: Value) -> Response {
    (status, Json(with_request_id(v))).into_response()
}

/// 202 `{"request_id"}`: a dry run passed its checks.
fn dry_run_passed() -> Response {
    ok(StatusCode::ACCEPTED, json!({}))
}

// ----- request bodies --------------------------------------------------------

/// A VLAN id sent as a JSON string (what the SDK sends) or a number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum VlanIn {
    Text(String),
    Number(i64),
}

impl VlanIn {
    fn parse(&self) -> Result<VlanId, Error> {
        match self {
            VlanIn::Number(n) => VlanId::new(*n),
            VlanIn::Text(s) => s
                .trim()
                .parse::<i64>()
                .map_err(|_| Error::invalid_value("vlan_id", format!("'{s}' is not a number.")))
                .and_then(VlanId::new),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PairIn {
    #[serde(default)]
    ip_address: Option<String>,
    #[serde(default)]
    mac_address: Option<String>,
}

fn pairs(p: Option<Vec<PairIn>>) -> Result<Option<Vec<AddressPair>>, Error> {
    p.map(|v| {
        v.into_iter()
            .map(|p| {
                let ip = p.ip_address.filter(|s| !s.is_empty()).ok_or_else(|| {
                    Error::invalid_value("allowed_address_pairs", "ip_address is required.")
                })?;
                Ok(AddressPair {
                    ip_address: ip,
                    mac_address: p.mac_address.filter(|m| !m.is_empty()),
                })
            })
            .collect()
    })
    .transpose()
}

fn groups(g: Option<Vec<String>>) -> Result<Option<Vec<SecurityGroupId>>, Error> {
    g.map(|v| v.iter().map(|s| s.parse()).collect()).transpose()
}

fn ip(label: &str, s: Option<String>) -> Result<Option<IpAddr>, Error> {
    s.filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| Error::invalid_value(label, format!("'{s}' is not an IP address.")))
        })
        .transpose()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateOption {
    virsubnet_id: String,
    parent_id: String,
    #[serde(default)]
    vlan_id: Option<VlanIn>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    ipv6_enable: Option<bool>,
    #[serde(default)]
    private_ip_address: Option<String>,
    #[serde(default)]
    ipv6_ip_address: Option<String>,
    #[serde(default)]
    security_groups: Option<Vec<String>>,
    #[serde(default)]
    project_id: Option<String>,
    #[serde(default)]
    allowed_address_pairs: Option<Vec<PairIn>>,
}

impl CreateOption {
    fn into_spec(self, project: &ProjectId) -> Result<(InterfaceId, SupplementarySpec), Error> {
        if let Some(p) = &self.project_id {
            if !p.eq_ignore_ascii_case(project.as_str()) {
                return Err(Error::invalid_value(
                    "project_id",
                    format!("'{p}' must be the project of the URL, {project}."),
                ));
            }
        }
        let network_id: NetworkId = self.virsubnet_id.parse().map_err(|_| {
            Error::invalid_value(
                "virsubnet_id",
                format!("'{}' is not a UUID.", self.virsubnet_id),
            )
        })?;
        let parent: InterfaceId = self.parent_id.parse().map_err(|_| {
            Error::invalid_value("parent_id", format!("'{}' is not a UUID.", self.parent_id))
        })?;
        Ok((
            parent,
            SupplementarySpec {
                network_id,
                vlan_id: self.vlan_id.as_ref().map(VlanIn::parse).transpose()?,
                description: self.description,
                ipv6_enable: self.ipv6_enable.unwrap_or(false),
                ip_address: ip("private_ip_address", self.private_ip_address)?,
                ipv6_address: ip("ipv6_ip_address", self.ipv6_ip_address)?,
                security_groups: groups(self.security_groups)?,
                security_enabled: None,
                allowed_address_pairs: pairs(self.allowed_address_pairs)?.unwrap_or_default(),
                tags: vec![],
            },
        ))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    #[serde(default)]
    dry_run: bool,
    sub_network_interface: CreateOption,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchOption {
    virsubnet_id: String,
    parent_id: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    ipv6_enable: Option<bool>,
    #[serde(default)]
    security_groups: Option<Vec<String>>,
    #[serde(default)]
    project_id: Option<String>,
    #[serde(default)]
    allowed_address_pairs: Option<Vec<PairIn>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchBody {
    #[serde(default)]
    dry_run: bool,
    sub_network_interface: BatchOption,
    count: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateOption {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    security_groups: Option<Vec<String>>,
    #[serde(default)]
    allowed_address_pairs: Option<Vec<PairIn>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    #[serde(default)]
    dry_run: bool,
    sub_network_interface: UpdateOption,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachOption {
    parent_id: String,
    #[serde(default)]
    vlan_id: Option<VlanIn>,
    #[serde(default)]
    security_groups: Option<Vec<String>>,
    #[serde(default)]
    security_enabled: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachBody {
    #[serde(default)]
    dry_run: bool,
    sub_network_interface: AttachOption,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DryRunBody {
    #[serde(default)]
    dry_run: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MigrationInfo {
    parent_id: String,
    sub_network_interfaces: Vec<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MigrateBody {
    #[serde(default)]
    dry_run: bool,
    migration_info: MigrationInfo,
}

fn sni_id(s: &str) -> Result<InterfaceId, Error> {
    InterfaceId::parse_for_lookup(s)
}

// ----- handlers ----------------------------------------------------------------

/// `POST /v3/{project_id}/vpc/sub-network-interfaces`.
pub async fn create(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path(p): Path<String>,
    b: Bytes,
) -> HwResult<Response> {
    let p = project(&p, Shape::Vpc)?;
    let body: CreateBody = body(&b, Shape::Vpc)?;
    let (parent, spec) = body.sub_network_interface.into_spec(&p)?;
    let r = s
        .service
        .supplementary_create(&c, &p, parent, spec, &WriteOptions::dry_run(body.dry_run))
        .await?;
    if body.dry_run {
        return Ok(dry_run_passed());
    }
    Ok(ok(
        StatusCode::CREATED,
        json!({"sub_network_interface": sni_view(&r)}),
    ))
}

/// `POST /v3/{project_id}/vpc/sub-network-interfaces/batch-create`.
pub async fn batch_create(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path(p): Path<String>,
    b: Bytes,
) -> HwResult<Response> {
    let p = project(&p, Shape::Vpc)?;
    let body: BatchBody = body(&b, Shape::Vpc)?;
    let o = body.sub_network_interface;
    let count = u32::try_from(body.count).map_err(|_| {
        Error::invalid_value(
            "count",
            format!("{} is outside the range 1-20.", body.count),
        )
    })?;
    let (parent, spec) = CreateOption {
        virsubnet_id: o.virsubnet_id,
        parent_id: o.parent_id,
        vlan_id: None,
        description: o.description,
        ipv6_enable: o.ipv6_enable,
        private_ip_address: None,
        ipv6_ip_address: None,
        security_groups: o.security_groups,
        project_id: o.project_id,
        allowed_address_pairs: o.allowed_address_pairs,
    }
    .into_spec(&p)?;
    let r = s
        .service
        .supplementary_batch_create(
            &c,
            &p,
            parent,
            spec,
            count,
            &WriteOptions::dry_run(body.dry_run),
        )
        .await?;
    if body.dry_run {
        return Ok(dry_run_passed());
    }
    let items: Vec<Value> = r.iter().map(sni_view).collect();
    Ok(ok(
        StatusCode::CREATED,
        json!({"sub_network_interfaces": items}),
    ))
}

/// Repeated-key query parameters, percent-decoded exactly as the signature
/// verifier decodes them (`+` stays `+`, see [`super::signer`]):
/// [`crate::query::pairs`].
pub fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    crate::query::pairs(q, crate::query::Plus::Literal)
}

/// All values of a key; comma lists are split too.
pub fn values(pairs: &[(String, String)], key: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .flat_map(|(_, v)| v.split(',').map(str::to_string).collect::<Vec<_>>())
        .filter(|v| !v.is_empty())
        .collect()
}

fn parse_all<T>(
    pairs: &[(String, String)],
    key: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, Error> {
    values(pairs, key)
        .iter()
        .map(|v| parse(v).ok_or_else(|| Error::invalid_value(key, format!("'{v}' is not valid."))))
        .collect()
}

/// A list's `page_info`: the count, the first id as `previous_marker` and,
/// when more follow, the last id as `next_marker`.
pub fn page_info<T>(items: &[T], more: bool, id: impl Fn(&T) -> String) -> Value {
    let mut info = json!({"current_count": items.len()});
    if let Some(first) = items.first() {
        info["previous_marker"] = json!(id(first));
    }
    if more {
        if let Some(last) = items.last() {
            info["next_marker"] = json!(id(last));
        }
    }
    info
}

/// The page size of a list: `limit` 0..=max, 0 or none meaning max.
pub fn limit_of(pairs: &[(String, String)], max: usize) -> Result<usize, Error> {
    match values(pairs, "limit").first() {
        None => Ok(max),
        Some(l) => match l.parse::<usize>() {
            Ok(0) => Ok(max),
            Ok(n) if n <= max => Ok(n),
            _ => Err(Error::invalid_value(
                "limit",
                format!("'{l}' is not a number from 0 to {max}."),
            )),
        },
    }
}

/// `GET /v3/{project_id}/vpc/sub-network-interfaces`.
pub async fn list(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path(p): Path<String>,
    RawQuery(q): RawQuery,
) -> HwResult<Response> {
    let p = project(&p, Shape::Vpc)?;
    let pairs = query_pairs(q.as_deref());
    let limit = limit_of(&pairs, LIST_LIMIT_MAX)?;
    let marker = values(&pairs, "marker").into_iter().next();
    let vpcs = values(&pairs, "vpc_id");
    let data_center_ids = if vpcs.is_empty() {
        None
    } else {
        let dcs = s.service.data_center_list(&c).await?;
        Some(
            dcs.into_iter()
                .filter(|d| {
                    vpcs.iter()
                        .any(|v| v.eq_ignore_ascii_case(&vpc_id(&p, d.id).to_string()))
                })
                .map(|d| d.id)
                .collect(),
        )
    };
    let filter = SupplementaryFilter {
        ids: parse_all(&pairs, "id", |v| v.parse().ok())?,
        network_ids: parse_all(&pairs, "virsubnet_id", |v| v.parse().ok())?,
        ip_addresses: parse_all(&pairs, "private_ip_address", |v| v.parse().ok())?,
        mac_addresses: parse_all(&pairs, "mac_address", |v| v.parse().ok())?,
        data_center_ids,
        descriptions: pairs
            .iter()
            .filter(|(k, _)| k == "description")
            .map(|(_, v)| v.clone())
            .collect(),
        parent_ids: parse_all(&pairs, "parent_id", |v| v.parse().ok())?,
        tags: vec![],
    };
    let (items, more) = s
        .service
        .supplementary_list(&c, &p, filter, limit, marker)
        .await?;
    let page_info = page_info(&items, more, |i| i.interface.id.to_string());
    let views: Vec<Value> = items.iter().map(sni_view).collect();
    Ok(ok(
        StatusCode::OK,
        json!({"sub_network_interfaces": views, "page_info": page_info}),
    ))
}

/// `GET /v3/{project_id}/vpc/sub-network-interfaces/count`.
pub async fn count(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path(p): Path<String>,
) -> HwResult<Response> {
    let p = project(&p, Shape::Vpc)?;
    let n = s.service.supplementary_count(&c, &p).await?;
    Ok(ok(StatusCode::OK, json!({"sub_network_interfaces": n})))
}

/// `GET /v3/{project_id}/vpc/sub-network-interfaces/{id}`.
pub async fn show(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path((p, id)): Path<(String, String)>,
) -> HwResult<Response> {
    let p = project(&p, Shape::Vpc)?;
    let r = s.service.supplementary_get(&c, &p, sni_id(&id)?).await?;
    Ok(ok(
        StatusCode::OK,
        json!({"sub_network_interface": sni_view(&r)}),
    ))
}

/// `PUT /v3/{project_id}/vpc/sub-network-interfaces/{id}`.
pub async fn update(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path((p, id)): Path<(String, String)>,
    b: Bytes,
) -> HwResult<Response> {
    let p = project(&p, Shape::Vpc)?;
    let body: UpdateBody = body(&b, Shape::Vpc)?;
    let o = body.sub_network_interface;
    let patch = SupplementaryPatch {
        description: o.description,
        security_groups: groups(o.security_groups)?,
        allowed_address_pairs: pairs(o.allowed_address_pairs)?,
    };
    let r = s
        .service
        .supplementary_update(
            &c,
            &p,
            sni_id(&id)?,
            patch,
            &WriteOptions::dry_run(body.dry_run),
        )
        .await?;
    if body.dry_run {
        return Ok(dry_run_passed());
    }
    Ok(ok(
        StatusCode::OK,
        json!({"sub_network_interface": sni_view(&r)}),
    ))
}

/// `DELETE /v3/{project_id}/vpc/sub-network-interfaces/{id}`: 204.
pub async fn delete(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path((p, id)): Path<(String, String)>,
) -> HwResult<Response> {
    let p = project(&p, Shape::Vpc)?;
    s.service
        .supplementary_delete(&c, &p, sni_id(&id)?, &WriteOptions::default())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v3/{project_id}/vpc/sub-network-interfaces/{id}/attach`.
pub async fn attach(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path((p, id)): Path<(String, String)>,
    b: Bytes,
) -> HwResult<Response> {
    let p = project(&p, Shape::Vpc)?;
    let body: AttachBody = body(&b, Shape::Vpc)?;
    let o = body.sub_network_interface;
    let req = SupplementaryAttach {
        parent_id: o.parent_id.parse().map_err(|_| {
            Error::invalid_value("parent_id", format!("'{}' is not a UUID.", o.parent_id))
        })?,
        vlan_id: o.vlan_id.as_ref().map(VlanIn::parse).transpose()?,
        security_groups: groups(o.security_groups)?,
        security_enabled: o.security_enabled,
    };
    let r = s
        .service
        .supplementary_attach(
            &c,
            &p,
            sni_id(&id)?,
            req,
            &WriteOptions::dry_run(body.dry_run),
        )
        .await?;
    if body.dry_run {
        return Ok(dry_run_passed());
    }
    Ok(ok(
        StatusCode::OK,
        json!({"sub_network_interface": sni_view(&r)}),
    ))
}

/// `POST /v3/{project_id}/vpc/sub-network-interfaces/{id}/detach` (no body).
pub async fn detach(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path((p, id)): Path<(String, String)>,
    b: Bytes,
) -> HwResult<Response> {
    let p = project(&p, Shape::Vpc)?;
    let body: DryRunBody = body(&b, Shape::Vpc)?;
    let r = s
        .service
        .supplementary_detach(&c, &p, sni_id(&id)?, &WriteOptions::dry_run(body.dry_run))
        .await?;
    if body.dry_run {
        return Ok(dry_run_passed());
    }
    Ok(ok(
        StatusCode::OK,
        json!({"sub_network_interface": sni_view(&r)}),
    ))
}

/// `PUT /v3/{project_id}/vpc/sub-network-interfaces/migrate`.
pub async fn migrate(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path(p): Path<String>,
    b: Bytes,
) -> HwResult<Response> {
    let p = project(&p, Shape::Vpc)?;
    let body: MigrateBody = body(&b, Shape::Vpc)?;
    let info = body.migration_info;
    let parent: InterfaceId = info.parent_id.parse().map_err(|_| {
        Error::invalid_value("parent_id", format!("'{}' is not a UUID.", info.parent_id))
    })?;
    let ids = info
        .sub_network_interfaces
        .iter()
        .map(|m| {
            let id = m
                .get("id")
                .or_else(|| m.get("sub_network_interface_id"))
                .ok_or_else(|| {
                    Error::invalid_value("sub_network_interfaces", "each entry needs an 'id'.")
                })?;
            sni_id(id)
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let r = s
        .service
        .supplementary_migrate(&c, &p, parent, ids, &WriteOptions::dry_run(body.dry_run))
        .await?;
    if body.dry_run {
        return Ok(dry_run_passed());
    }
    let items: Vec<Value> = r.iter().map(sni_view).collect();
    Ok(ok(StatusCode::OK, json!({"sub_network_interfaces": items})))
}

// ----- tags ------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TagIn {
    key: String,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OneTagBody {
    tag: TagIn,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TagsBody {
    tags: Vec<TagIn>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TagFilterIn {
    key: String,
    #[serde(default)]
    values: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TagFilterBody {
    #[serde(default)]
    tags: Vec<TagFilterIn>,
}

fn tag(t: TagIn) -> ResourceTag {
    ResourceTag {
        key: t.key,
        value: t.value.unwrap_or_default(),
    }
}

async fn change_tags(
    s: &AppState,
    c: &nicplane_service::Caller,
    p: &str,
    id: &str,
    change: TagChange,
) -> HwResult<Response> {
    let p = project(p, Shape::Vpc)?;
    s.service
        .supplementary_tags_update(c, &p, sni_id(id)?, change, &WriteOptions::default())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v3/{project_id}/sub-network-interfaces/{id}/tags`: add or overwrite one.
pub async fn tag_create(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path((p, id)): Path<(String, String)>,
    b: Bytes,
) -> HwResult<Response> {
    let body: OneTagBody = body(&b, Shape::Vpc)?;
    change_tags(&s, &c, &p, &id, TagChange::Put(tag(body.tag))).await
}

/// `POST /v3/{project_id}/sub-network-interfaces/{id}/tags/create`.
pub async fn tags_create(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path((p, id)): Path<(String, String)>,
    b: Bytes,
) -> HwResult<Response> {
    let body: TagsBody = body(&b, Shape::Vpc)?;
    change_tags(
        &s,
        &c,
        &p,
        &id,
        TagChange::PutAll(body.tags.into_iter().map(tag).collect()),
    )
    .await
}

/// `POST /v3/{project_id}/sub-network-interfaces/{id}/tags/delete`.
pub async fn tags_delete(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path((p, id)): Path<(String, String)>,
    b: Bytes,
) -> HwResult<Response> {
    let body: TagsBody = body(&b, Shape::Vpc)?;
    let keys = body.tags.into_iter().map(|t| (t.key, t.value)).collect();
    change_tags(&s, &c, &p, &id, TagChange::RemoveAll(keys)).await
}

/// `DELETE /v3/{project_id}/sub-network-interfaces/{id}/tags/{key}`.
pub async fn tag_delete(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path((p, id, key)): Path<(String, String, String)>,
) -> HwResult<Response> {
    change_tags(&s, &c, &p, &id, TagChange::Remove(key)).await
}

/// `GET /v3/{project_id}/sub-network-interfaces/{id}/tags`.
pub async fn tags_show(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path((p, id)): Path<(String, String)>,
) -> HwResult<Response> {
    let p = project(&p, Shape::Vpc)?;
    let r = s.service.supplementary_get(&c, &p, sni_id(&id)?).await?;
    Ok(ok(StatusCode::OK, json!({"tags": r.interface.tags})))
}

/// `GET /v3/{project_id}/sub-network-interfaces/tags`: every key with its values.
pub async fn tags_list(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path(p): Path<String>,
) -> HwResult<Response> {
    let p = project(&p, Shape::Vpc)?;
    let summary = s.service.supplementary_tag_summary(&c, &p).await?;
    let tags: Vec<Value> = summary
        .iter()
        .map(|(k, v)| json!({"key": k, "values": v}))
        .collect();
    Ok(ok(
        StatusCode::OK,
        json!({"tags": tags, "total_count": summary.len()}),
    ))
}

async fn by_tags(
    s: &AppState,
    c: &nicplane_service::Caller,
    p: &ProjectId,
    b: &[u8],
) -> HwResult<Vec<SupplementaryInterface>> {
    let body: TagFilterBody = body(b, Shape::Vpc)?;
    let filter = SupplementaryFilter {
        tags: body.tags.into_iter().map(|t| (t.key, t.values)).collect(),
        ..Default::default()
    };
    let (all, _) = s
        .service
        .supplementary_list(c, p, filter, usize::MAX - 1, None)
        .await?;
    Ok(all)
}

/// `POST /v3/{project_id}/sub-network-interfaces/resource-instances/filter?limit=&offset=`.
pub async fn filter_by_tags(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path(p): Path<String>,
    RawQuery(q): RawQuery,
    b: Bytes,
) -> HwResult<Response> {
    let p = project(&p, Shape::Vpc)?;
    let pairs = query_pairs(q.as_deref());
    let limit = limit_of(&pairs, TAG_FILTER_LIMIT_MAX)?;
    let offset = match values(&pairs, "offset").first() {
        None => 0,
        Some(o) => o
            .parse::<usize>()
            .map_err(|_| Error::invalid_value("offset", format!("'{o}' is not a number.")))?,
    };
    let all = by_tags(&s, &c, &p, &b).await?;
    let total = all.len();
    let resources: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(limit)
        .map(|r| {
            json!({
                "resource_id": r.interface.id,
                "resource_detail": sni_view(r),
                "resource_name": r.interface.name,
                "tags": r.interface.tags,
            })
        })
        .collect();
    Ok(ok(
        StatusCode::OK,
        json!({"resources": resources, "total_count": total}),
    ))
}

/// `POST /v3/{project_id}/sub-network-interfaces/resource-instances/count`.
pub async fn count_by_tags(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    Path(p): Path<String>,
    b: Bytes,
) -> HwResult<Response> {
    let p = project(&p, Shape::Vpc)?;
    let all = by_tags(&s, &c, &p, &b).await?;
    Ok(ok(StatusCode::OK, json!({"total_count": all.len()})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vpc_ids_are_stable_and_differ_per_project_and_data_center() {
        let (p, q) = (ProjectId::new(), ProjectId::new());
        let (d, e) = (DataCenterId::new(), DataCenterId::new());
        assert_eq!(vpc_id(&p, d), vpc_id(&p, d));
        assert_ne!(vpc_id(&p, d), vpc_id(&q, d));
        assert_ne!(vpc_id(&p, d), vpc_id(&p, e));
        assert_eq!(vpc_id(&p, d).hyphenated().to_string().len(), 36);
    }

    #[test]
    fn vlan_ids_come_as_strings_or_numbers() {
        assert_eq!(VlanIn::Text("100".into()).parse().unwrap().get(), 100);
        assert_eq!(VlanIn::Number(7).parse().unwrap().get(), 7);
        assert!(VlanIn::Text("x".into()).parse().is_err());
        assert!(VlanIn::Number(4095).parse().is_err());
    }

    #[test]
    fn query_pairs_keep_repeated_keys() {
        let q = query_pairs(Some("id=a&id=b&description=x%20y%26z&limit=10"));
        assert_eq!(values(&q, "id"), vec!["a", "b"]);
        assert_eq!(values(&q, "description"), vec!["x y&z"]);
        assert_eq!(limit_of(&q, 2000).unwrap(), 10);
        assert!(limit_of(&query_pairs(Some("limit=2001")), 2000).is_err());
    }
}
