//! Security groups and their rules. Every project has its `default` group
//! (egress to anywhere, ingress from members of the group).

use super::body::{boolean, decode, present, text, whole};
use super::query::ListQuery;
use super::{
    body_object, created, for_create, no_content, with_revision, with_revisions, IfMatch,
    NeutronAuth, NeutronError, NeutronJson, NeutronResult,
};
use crate::openstack::{base_url, os_time};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Response;
use axum::Json;
use nicplane_domain::ids::*;
use nicplane_domain::model::Revisioned;
use nicplane_domain::model::{SecurityGroup, SecurityGroupRule};
use nicplane_domain::{Error, Kind};
use nicplane_service::network::{RuleSpec, SecurityGroupSpec};
use nicplane_service::WriteOptions;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

/// Filterable attributes of a security group.
pub const GROUP_ATTRS: &[&str] = &[
    "id",
    "name",
    "description",
    "tenant_id",
    "project_id",
    "stateful",
    "shared",
    "tags",
    "created_at",
    "updated_at",
];
/// Filterable attributes of a rule.
pub const RULE_ATTRS: &[&str] = &[
    "id",
    "security_group_id",
    "direction",
    "ethertype",
    "protocol",
    "port_range_min",
    "port_range_max",
    "remote_ip_prefix",
    "remote_group_id",
    "description",
    "tenant_id",
    "project_id",
];

/// A rule as Neutron shows it.
pub fn rule_view(r: &SecurityGroupRule, g: &SecurityGroup) -> Value {
    let project = g.project_id.to_string();
    json!({
        "id": r.id.to_string(), "security_group_id": r.security_group_id.to_string(), "direction": r.direction,
        "ethertype": r.ethertype, "protocol": r.protocol, "port_range_min": r.port_range_min,
        "port_range_max": r.port_range_max, "remote_ip_prefix": r.remote_ip_prefix,
        "remote_group_id": r.remote_group_id.map(|x| x.to_string()), "remote_address_group_id": null,
        "description": r.description, "tenant_id": project, "project_id": project,
        "belongs_to_default_sg": g.is_default,
        "created_at": os_time(g.created_at), "updated_at": os_time(g.created_at),
    })
}

/// A group as Neutron shows it.
pub fn group_view(g: &SecurityGroup) -> Value {
    let project = g.project_id.to_string();
    json!({
        "id": g.id.to_string(), "name": g.name, "description": g.description, "tenant_id": project,
        "project_id": project, "stateful": true, "shared": false, "tags": [],
        "security_group_rules": g.rules.iter().map(|r| rule_view(r, g)).collect::<Vec<_>>(),
        "created_at": os_time(g.created_at), "updated_at": os_time(g.created_at),
    })
}

fn group_id(id: &str) -> NeutronResult<SecurityGroupId> {
    Ok(SecurityGroupId::parse_for_lookup(id)?)
}

/// `GET /security-groups`.
pub async fn group_list(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    uri: Uri,
) -> NeutronResult<Json<Value>> {
    let q = ListQuery::parse(uri.query(), GROUP_ATTRS)?;
    let items = s
        .service
        .security_group_list(&a.caller, &a.project)
        .await?
        .iter()
        .map(group_view)
        .collect();
    let mut items: Vec<Value> = items;
    with_revisions(&s, &a, Revisioned::SecurityGroup, &mut items).await?;
    Ok(Json(q.apply(items, "security_groups", &base_url(&s))?))
}

/// `GET /security-groups/{id}`.
pub async fn group_show(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> NeutronResult<Json<Value>> {
    let a = super::on_object(&s, a, Revisioned::SecurityGroup, &id).await?;
    let g = s
        .service
        .security_group_get(&a.caller, &a.project, group_id(&id)?)
        .await?;
    Ok(Json(
        json!({"security_group": with_revision(&s, &a, Revisioned::SecurityGroup, group_view(&g)).await?}),
    ))
}

/// The body of `POST /security-groups`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupCreate {
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    description: Option<String>,
    #[serde(default, deserialize_with = "boolean")]
    stateful: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    tenant_id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    project_id: Option<Value>,
}

/// The body of `PUT /security-groups/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupUpdate {
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    description: Option<String>,
    #[serde(default, deserialize_with = "boolean")]
    stateful: Option<bool>,
}

/// `POST /security-groups`: 201 with its two egress rules.
pub async fn group_create(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    NeutronJson(body): NeutronJson,
) -> NeutronResult<Response> {
    let g: GroupCreate = decode(body_object(&body, "security_group")?)?;
    let a = for_create(&s, &a, &g.project_id, &g.tenant_id)?;
    if g.stateful == Some(false) {
        return Err(NeutronError::from(Error::invalid(
            "nicplane security groups are stateful.",
        )));
    }
    let spec = SecurityGroupSpec {
        name: g.name.unwrap_or_default(),
        description: g.description.unwrap_or_default(),
    };
    let sg = s
        .service
        .security_group_create(&a.caller, &a.project, spec, &WriteOptions::default())
        .await?;
    Ok(created(
        json!({"security_group": with_revision(&s, &a, Revisioned::SecurityGroup, group_view(&sg)).await?}),
    ))
}

/// `PUT /security-groups/{id}`: name and description.
pub async fn group_update(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    if_match: IfMatch,
    NeutronJson(body): NeutronJson,
) -> NeutronResult<Json<Value>> {
    let a = super::on_object(&s, a, Revisioned::SecurityGroup, &id).await?;
    let g: GroupUpdate = decode(body_object(&body, "security_group")?)?;
    if g.stateful == Some(false) {
        return Err(NeutronError::from(Error::invalid(
            "nicplane security groups are stateful.",
        )));
    }
    let sg = s
        .service
        .security_group_update(
            &a.caller,
            &a.project,
            group_id(&id)?,
            g.name,
            g.description,
            &if_match.on(Revisioned::SecurityGroup, group_id(&id)?),
        )
        .await?;
    Ok(Json(
        json!({"security_group": with_revision(&s, &a, Revisioned::SecurityGroup, group_view(&sg)).await?}),
    ))
}

/// `DELETE /security-groups/{id}`: 409 while ports use it, and for `default`.
pub async fn group_delete(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> NeutronResult<Response> {
    let a = super::on_object(&s, a, Revisioned::SecurityGroup, &id).await?;
    s.service
        .security_group_delete(
            &a.caller,
            &a.project,
            group_id(&id)?,
            &if_match.on(Revisioned::SecurityGroup, group_id(&id)?),
        )
        .await?;
    Ok(no_content())
}

/// `GET /security-group-rules`.
pub async fn rule_list(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    uri: Uri,
) -> NeutronResult<Json<Value>> {
    let q = ListQuery::parse(uri.query(), RULE_ATTRS)?;
    let groups = s.service.security_group_list(&a.caller, &a.project).await?;
    let items = groups
        .iter()
        .flat_map(|g| g.rules.iter().map(move |r| rule_view(r, g)))
        .collect();
    let mut items: Vec<Value> = items;
    with_revisions(&s, &a, Revisioned::SecurityGroupRule, &mut items).await?;
    Ok(Json(q.apply(
        items,
        "security_group_rules",
        &base_url(&s),
    )?))
}

/// `GET /security-group-rules/{id}`.
pub async fn rule_show(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> NeutronResult<Json<Value>> {
    let a = super::on_object(&s, a, Revisioned::SecurityGroupRule, &id).await?;
    let groups = s.service.security_group_list(&a.caller, &a.project).await?;
    let want = id.to_ascii_lowercase();
    let v = groups
        .iter()
        .find_map(|g| {
            g.rules
                .iter()
                .find(|r| r.id.to_string() == want)
                .map(|r| rule_view(r, g))
        })
        .ok_or_else(|| NeutronError::from(Error::not_found(Kind::SecurityGroupRule, &id)))?;
    let v = with_revision(&s, &a, Revisioned::SecurityGroupRule, v).await?;
    Ok(Json(json!({"security_group_rule": v})))
}

/// `port_range_min`/`port_range_max`: a port number, as a number or a
/// numeric string.
fn port<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Ok(None);
    }
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .and_then(|n| u16::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| whole(format!("Invalid value for port {v}.")))
}

/// `protocol`: a name or a number.
fn protocol<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::String(p) => Ok(Some(p)),
        other => Err(whole(format!(
            "Security group rule protocol {other} not supported."
        ))),
    }
}

/// The body of `POST /security-group-rules` (rules are not updated).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleCreate {
    #[serde(default, deserialize_with = "text")]
    security_group_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    direction: Option<String>,
    #[serde(default, deserialize_with = "text")]
    ethertype: Option<String>,
    #[serde(default, deserialize_with = "protocol")]
    protocol: Option<String>,
    #[serde(default, deserialize_with = "port")]
    port_range_min: Option<u16>,
    #[serde(default, deserialize_with = "port")]
    port_range_max: Option<u16>,
    #[serde(default, deserialize_with = "text")]
    remote_ip_prefix: Option<String>,
    #[serde(default, deserialize_with = "text")]
    remote_group_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    tenant_id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    project_id: Option<Value>,
    /// Refused when set: nicplane has no address groups.
    #[serde(default)]
    remote_address_group_id: Option<Value>,
}

/// `POST /security-group-rules`: 201.
pub async fn rule_create(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    NeutronJson(body): NeutronJson,
) -> NeutronResult<Response> {
    let r: RuleCreate = decode(body_object(&body, "security_group_rule")?)?;
    let a = for_create(&s, &a, &r.project_id, &r.tenant_id)?;
    if r.remote_address_group_id.is_some() {
        return Err(NeutronError::from(Error::invalid(
            "nicplane has no address groups.",
        )));
    }
    let group = r.security_group_id.ok_or_else(|| {
        NeutronError::from(Error::invalid(
            "Invalid input for operation: security_group_id is required.",
        ))
    })?;
    let spec = RuleSpec {
        direction: r.direction.ok_or_else(|| {
            NeutronError::from(Error::invalid(
                "Invalid input for operation: direction is required.",
            ))
        })?,
        ethertype: r.ethertype,
        protocol: r.protocol,
        port_range_min: r.port_range_min,
        port_range_max: r.port_range_max,
        remote_ip_prefix: r.remote_ip_prefix,
        remote_group_id: r
            .remote_group_id
            .map(|g| SecurityGroupId::parse_for_lookup(&g))
            .transpose()?,
        description: r.description.unwrap_or_default(),
    };
    let gid = group_id(&group)?;
    let rule = s
        .service
        .security_group_rule_create(&a.caller, &a.project, gid, spec, &WriteOptions::default())
        .await?;
    let g = s
        .service
        .security_group_get(&a.caller, &a.project, gid)
        .await?;
    Ok(created(
        json!({"security_group_rule": with_revision(&s, &a, Revisioned::SecurityGroupRule, rule_view(&rule, &g)).await?}),
    ))
}

/// `DELETE /security-group-rules/{id}`.
pub async fn rule_delete(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> NeutronResult<Response> {
    let a = super::on_object(&s, a, Revisioned::SecurityGroupRule, &id).await?;
    let id = SecurityGroupRuleId::parse_for_lookup(&id)?;
    s.service
        .security_group_rule_delete(
            &a.caller,
            &a.project,
            id,
            &if_match.on(Revisioned::SecurityGroupRule, id),
        )
        .await?;
    Ok(no_content())
}
