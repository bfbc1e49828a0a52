//! Trunks on nicplane's supplementary interfaces: the trunk's `port_id` is
//! the parent interface, each subport a supplementary interface on VLAN
//! `segmentation_id` (`segmentation_type` is always `vlan`).
//! `add_subports`/`remove_subports` answer the trunk unwrapped, as Neutron.

use super::body::{boolean, decode, objects, present, text, whole};
use super::query::ListQuery;
use super::{
    body_object, check_owner_of, created, no_content, with_revision, with_revisions, IfMatch,
    NeutronAuth, NeutronError, NeutronJson, NeutronResult,
};
use crate::openstack::{base_url, os_time, Scoped};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Response;
use axum::Json;
use nicplane_domain::ids::*;
use nicplane_domain::model::Interface;
use nicplane_domain::model::Revisioned;
use nicplane_domain::types::{InterfaceStatus, VlanId};
use nicplane_domain::Error;
use nicplane_service::trunk::{SubportSpec, Trunk, TrunkPatch, TrunkSpec};
use nicplane_service::WriteOptions;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// Filterable attributes of a trunk.
pub const TRUNK_ATTRS: &[&str] = &[
    "id",
    "name",
    "description",
    "port_id",
    "admin_state_up",
    "status",
    "tenant_id",
    "project_id",
    "tags",
    "created_at",
    "updated_at",
];

/// The only segmentation type nicplane knows.
const VLAN: &str = "vlan";

/// Trunks by parent interface, for port views.
pub struct TrunkIndex {
    by_parent: HashMap<InterfaceId, Trunk>,
}

impl TrunkIndex {
    pub fn empty() -> TrunkIndex {
        TrunkIndex {
            by_parent: HashMap::new(),
        }
    }

    pub async fn load(s: &AppState, a: &Scoped, _ports: &[Interface]) -> NeutronResult<TrunkIndex> {
        let trunks = s.service.trunk_list(&a.caller, &a.project).await?;
        Ok(TrunkIndex {
            by_parent: trunks.into_iter().map(|t| (t.parent.id, t)).collect(),
        })
    }

    /// The trunk id of a subport's parent.
    pub fn trunk_of_parent(&self, parent: Option<InterfaceId>) -> Option<String> {
        parent
            .and_then(|p| self.by_parent.get(&p))
            .map(|t| t.id.clone())
    }
}

fn subport_view(i: &Interface, with_mac: bool) -> Value {
    let mut v = json!({
        "port_id": i.id.to_string(),
        "segmentation_type": VLAN,
        "segmentation_id": i.vlan_id.map(|v| v.get()),
    });
    if with_mac {
        v["mac_address"] = json!(i.mac_address.to_string());
    }
    v
}

/// `trunk_details` of a parent port.
pub fn trunk_details(i: &Interface, idx: &TrunkIndex) -> Option<Value> {
    idx.by_parent.get(&i.id).map(|t| {
        json!({"trunk_id": t.id, "sub_ports": t.subports.iter().map(|s| subport_view(s, true)).collect::<Vec<_>>()})
    })
}

/// A trunk as Neutron shows it.
pub fn trunk_view(t: &Trunk) -> Value {
    let project = t.project_id.to_string();
    let status = if !t.admin_state_up {
        "DOWN"
    } else if t.parent.status == InterfaceStatus::Active {
        "ACTIVE"
    } else {
        "DOWN"
    };
    json!({
        "id": t.id, "name": t.name, "description": t.description, "port_id": t.parent.id.to_string(),
        "sub_ports": t.subports.iter().map(|s| subport_view(s, false)).collect::<Vec<_>>(),
        "admin_state_up": t.admin_state_up, "status": status, "tenant_id": project, "project_id": project,
        "tags": [],
        "created_at": os_time(t.created_at), "updated_at": os_time(t.updated_at),
    })
}

/// One entry of `sub_ports`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubportBody {
    #[serde(default, deserialize_with = "text")]
    port_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    segmentation_type: Option<String>,
    /// A number or a numeric string, checked in [`subports_of`].
    #[serde(default)]
    segmentation_id: Option<Value>,
}

/// `sub_ports`: a list of subport objects.
fn subports<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SubportBody>, D::Error> {
    match Value::deserialize(d)? {
        list @ Value::Array(_) => objects::<SubportBody, _>(list, "sub_ports")
            .map(Option::unwrap_or_default)
            .map_err(serde::de::Error::custom),
        _ => Err(whole(
            "Invalid input for sub_ports: give a list of subports.",
        )),
    }
}

/// The body of `PUT /trunks/{id}/add_subports` and `remove_subports`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubportsChange {
    #[serde(default, deserialize_with = "subports")]
    sub_ports: Vec<SubportBody>,
}

/// Check `sub_ports` entries; `need_vlan` for adds.
fn subports_of(
    list: Vec<SubportBody>,
    need_vlan: bool,
) -> NeutronResult<Vec<(InterfaceId, Option<VlanId>)>> {
    list.into_iter()
        .map(|o| {
            let port = o.port_id
                .ok_or_else(|| NeutronError::from(Error::invalid("Invalid input for operation: every subport needs a port_id.")))?;
            let port = InterfaceId::parse_for_lookup(&port)?;
            if !need_vlan {
                return Ok((port, None));
            }
            match o.segmentation_type.as_deref() {
                Some(VLAN) => {}
                Some("inherit") => {
                    return Err(NeutronError::from(Error::invalid(
                        "Invalid input for operation: segmentation type inherit is not supported; give vlan and a segmentation_id.",
                    )))
                }
                Some(other) => {
                    return Err(NeutronError::from(Error::invalid(format!(
                        "Invalid input for operation: Segmentation type '{other}' is not supported."
                    ))))
                }
                None => return Err(NeutronError::from(Error::invalid("Invalid input for operation: segmentation_type is required."))),
            }
            let id = o
                .segmentation_id
                .and_then(|x| x.as_i64().or_else(|| x.as_str().and_then(|s| s.parse().ok())))
                .ok_or_else(|| NeutronError::from(Error::invalid("Invalid input for operation: segmentation_id is required.")))?;
            let vlan = VlanId::new(id).map_err(|_| {
                NeutronError::from(Error::invalid(format!(
                    "Invalid input for operation: Segmentation ID '{id}' for 'vlan' is not in range 1-4094."
                )))
            })?;
            Ok((port, Some(vlan)))
        })
        .collect()
}

/// The body of `POST /trunks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkCreate {
    #[serde(default, deserialize_with = "text")]
    port_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    description: Option<String>,
    #[serde(default, deserialize_with = "boolean")]
    admin_state_up: Option<bool>,
    #[serde(default, deserialize_with = "subports")]
    sub_ports: Vec<SubportBody>,
    #[serde(default, deserialize_with = "present")]
    tenant_id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    project_id: Option<Value>,
}

/// The body of `PUT /trunks/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkUpdate {
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    description: Option<String>,
    #[serde(default, deserialize_with = "boolean")]
    admin_state_up: Option<bool>,
}

/// The `sub_ports` change of an action body (`{"sub_ports": [...]}`).
fn subports_change(body: &Value) -> NeutronResult<Vec<SubportBody>> {
    let empty = Map::new();
    let o = body.as_object().unwrap_or(&empty);
    Ok(decode::<SubportsChange>(o)?.sub_ports)
}

fn specs(list: Vec<(InterfaceId, Option<VlanId>)>) -> Vec<SubportSpec> {
    list.into_iter()
        .filter_map(|(interface_id, vlan)| {
            vlan.map(|vlan_id| SubportSpec {
                interface_id,
                vlan_id,
            })
        })
        .collect()
}

/// `GET /trunks`.
pub async fn list(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    uri: Uri,
) -> NeutronResult<Json<Value>> {
    let q = ListQuery::parse(uri.query(), TRUNK_ATTRS)?;
    let items = s
        .service
        .trunk_list(&a.caller, &a.project)
        .await?
        .iter()
        .map(trunk_view)
        .collect();
    let mut items: Vec<Value> = items;
    with_revisions(&s, &a, Revisioned::Trunk, &mut items).await?;
    Ok(Json(q.apply(items, "trunks", &base_url(&s))?))
}

/// `GET /trunks/{id}`.
pub async fn show(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> NeutronResult<Json<Value>> {
    let a = super::on_object(&s, a, Revisioned::Trunk, &id).await?;
    let t = s
        .service
        .trunk_get(&a.caller, &a.project, &id)
        .await
        .map_err(not_found(&id))?;
    Ok(Json(
        json!({"trunk": with_revision(&s, &a, Revisioned::Trunk, trunk_view(&t)).await?}),
    ))
}

/// Neutron's `TrunkNotFound` for a trunk the service could not find.
fn not_found(id: &str) -> impl Fn(Error) -> NeutronError + '_ {
    move |e| match &e {
        Error::NotFound { id: missing, .. } if missing.starts_with("trunk ") => {
            NeutronError::from(e).with("TrunkNotFound", format!("Trunk {id} could not be found."))
        }
        _ => NeutronError::from(e),
    }
}

/// `POST /trunks`: 201.
pub async fn create(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    NeutronJson(body): NeutronJson,
) -> NeutronResult<Response> {
    let t: TrunkCreate = decode(body_object(&body, "trunk")?)?;
    check_owner_of(&t.project_id, &t.tenant_id, &a)?;
    let parent = t.port_id.ok_or_else(|| {
        NeutronError::from(Error::invalid(
            "Invalid input for operation: port_id is required.",
        ))
    })?;
    let spec = TrunkSpec {
        name: t.name.unwrap_or_default(),
        description: t.description.unwrap_or_default(),
        admin_state_up: t.admin_state_up,
    };
    let subs = specs(subports_of(t.sub_ports, true)?);
    let trunk = s
        .service
        .trunk_create(
            &a.caller,
            &a.project,
            InterfaceId::parse_for_lookup(&parent)?,
            spec,
            subs,
            &WriteOptions::default(),
        )
        .await?;
    Ok(created(
        json!({"trunk": with_revision(&s, &a, Revisioned::Trunk, trunk_view(&trunk)).await?}),
    ))
}

/// `PUT /trunks/{id}`: name, description, admin state.
pub async fn update(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    if_match: IfMatch,
    NeutronJson(body): NeutronJson,
) -> NeutronResult<Json<Value>> {
    let a = super::on_object(&s, a, Revisioned::Trunk, &id).await?;
    let t: TrunkUpdate = decode(body_object(&body, "trunk")?)?;
    let trunk = s
        .service
        .trunk_update(
            &a.caller,
            &a.project,
            &id,
            TrunkPatch {
                name: t.name,
                description: t.description,
                admin_state_up: t.admin_state_up,
            },
            &if_match.on(Revisioned::Trunk, id.to_ascii_lowercase()),
        )
        .await
        .map_err(not_found(&id))?;
    Ok(Json(
        json!({"trunk": with_revision(&s, &a, Revisioned::Trunk, trunk_view(&trunk)).await?}),
    ))
}

/// `DELETE /trunks/{id}`: 204; the subports become ordinary ports.
pub async fn delete(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> NeutronResult<Response> {
    let a = super::on_object(&s, a, Revisioned::Trunk, &id).await?;
    let guard = if_match.on(Revisioned::Trunk, id.to_ascii_lowercase());
    s.service
        .trunk_delete(&a.caller, &a.project, &id, &guard)
        .await
        .map_err(not_found(&id))?;
    Ok(no_content())
}

/// `PUT /trunks/{id}/add_subports`: the trunk, unwrapped.
pub async fn add_subports(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    NeutronJson(body): NeutronJson,
) -> NeutronResult<Json<Value>> {
    let a = super::on_object(&s, a, Revisioned::Trunk, &id).await?;
    let subs = specs(subports_of(subports_change(&body)?, true)?);
    if subs.is_empty() {
        return Err(NeutronError::from(Error::invalid(
            "Invalid input for operation: give sub_ports.",
        )));
    }
    let t = s
        .service
        .trunk_add_subports(&a.caller, &a.project, &id, subs, &WriteOptions::default())
        .await
        .map_err(not_found(&id))?;
    Ok(Json(
        with_revision(&s, &a, Revisioned::Trunk, trunk_view(&t)).await?,
    ))
}

/// `PUT /trunks/{id}/remove_subports`: the trunk, unwrapped.
pub async fn remove_subports(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    NeutronJson(body): NeutronJson,
) -> NeutronResult<Json<Value>> {
    let a = super::on_object(&s, a, Revisioned::Trunk, &id).await?;
    let ids: Vec<InterfaceId> = subports_of(subports_change(&body)?, false)?
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    if ids.is_empty() {
        return Err(NeutronError::from(Error::invalid(
            "Invalid input for operation: give sub_ports.",
        )));
    }
    let t = s
        .service
        .trunk_remove_subports(&a.caller, &a.project, &id, ids, &WriteOptions::default())
        .await
        .map_err(not_found(&id))?;
    Ok(Json(
        with_revision(&s, &a, Revisioned::Trunk, trunk_view(&t)).await?,
    ))
}

/// `GET /trunks/{id}/get_subports`.
pub async fn get_subports(
    NeutronAuth(a): NeutronAuth,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> NeutronResult<Json<Value>> {
    let a = super::on_object(&s, a, Revisioned::Trunk, &id).await?;
    let t = s
        .service
        .trunk_get(&a.caller, &a.project, &id)
        .await
        .map_err(not_found(&id))?;
    Ok(Json(
        json!({"sub_ports": t.subports.iter().map(|i| subport_view(i, false)).collect::<Vec<_>>()}),
    ))
}
