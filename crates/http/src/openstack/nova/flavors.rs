//! Flavors: stored objects the cloud admin creates and deletes (`openstack
//! flavor create/delete`); everyone reads them. nicplane does not size VMs:
//! a server stores its `flavorRef` as given and shows the flavor it names,
//! deleted or not (as Nova keeps an instance's flavor). The catalog nicplane
//! had before (devstack's m1.*) is seeded by migration 0007.

use super::schema::{validate, Schema};
use super::{empty, fault_response, link, NovaAuth, NovaError, NovaJson, NovaResult};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use nicplane_domain::model::Flavor;
use nicplane_domain::Error;
use nicplane_service::flavor::FlavorSpec;
use nicplane_service::WriteOptions;
use serde_json::{json, Map, Value};

/// The flavor a server's `flavorRef` names: a live flavor by id, else by
/// name, else a deleted one (the server was created before its deletion).
pub fn resolve<'a>(flavors: &'a [Flavor], reference: &str) -> Option<&'a Flavor> {
    let by = |deleted: bool| {
        flavors
            .iter()
            .filter(move |f| f.deleted == deleted)
            .find(|f| f.id == reference)
            .or_else(|| {
                flavors
                    .iter()
                    .filter(|f| f.deleted == deleted)
                    .find(|f| f.name == reference)
            })
    };
    by(false).or_else(|| by(true))
}

/// A flavor as a server shows it from microversion 2.47 (`embedded`), or
/// as the flavors API shows it. An unknown reference shows as a flavor of
/// that name with no sizes.
pub fn flavor_view(flavors: &[Flavor], reference: &str, embedded: bool) -> Value {
    match resolve(flavors, reference) {
        Some(f) => view(f, embedded),
        None => view(
            &Flavor {
                id: String::new(),
                name: reference.to_string(),
                vcpus: 0,
                ram: 0,
                disk: 0,
                ephemeral: 0,
                swap: 0,
                is_public: true,
                description: None,
                deleted: false,
            },
            embedded,
        ),
    }
}

fn view(f: &Flavor, embedded: bool) -> Value {
    if embedded {
        return json!({"vcpus": f.vcpus, "ram": f.ram, "disk": f.disk, "ephemeral": f.ephemeral,
            "swap": f.swap, "original_name": f.name, "extra_specs": {}});
    }
    let swap = if f.swap == 0 {
        json!("")
    } else {
        json!(f.swap)
    };
    json!({"id": f.id, "name": f.name, "vcpus": f.vcpus, "ram": f.ram, "disk": f.disk,
        "OS-FLV-EXT-DATA:ephemeral": f.ephemeral, "OS-FLV-DISABLED:disabled": false, "swap": swap,
        "rxtx_factor": 1.0, "os-flavor-access:is_public": f.is_public, "description": f.description,
        "extra_specs": {}})
}

fn detail(s: &AppState, project: &str, f: &Flavor) -> Value {
    let mut v = view(f, false);
    v["links"] = link(s, project, &format!("flavors/{}", f.id));
    v
}

/// `GET /flavors`.
pub async fn list(State(s): State<AppState>, a: NovaAuth) -> NovaResult<Json<Value>> {
    let p = a.0.project.to_string();
    let items: Vec<Value> = s
        .service
        .flavor_list(&a.0.caller, false)
        .await?
        .iter()
        .map(|f| json!({"id": f.id, "name": f.name, "description": f.description, "links": link(&s, &p, &format!("flavors/{}", f.id))}))
        .collect();
    Ok(Json(json!({"flavors": items})))
}

/// `GET /flavors/detail`.
pub async fn list_detail(State(s): State<AppState>, a: NovaAuth) -> NovaResult<Json<Value>> {
    let p = a.0.project.to_string();
    let items: Vec<Value> = s
        .service
        .flavor_list(&a.0.caller, false)
        .await?
        .iter()
        .map(|f| detail(&s, &p, f))
        .collect();
    Ok(Json(json!({"flavors": items})))
}

/// `GET /flavors/{id}`: by id only, as Nova (the client then searches by name).
pub async fn show(
    State(s): State<AppState>,
    a: NovaAuth,
    Path(id): Path<String>,
) -> NovaResult<Response> {
    match s.service.flavor_get(&a.0.caller, &id).await {
        Ok(f) => Ok(Json(json!({"flavor": detail(&s, a.0.project.as_str(), &f)})).into_response()),
        Err(Error::NotFound { .. }) => Ok(fault_response(
            404,
            "itemNotFound",
            &format!("Flavor {id} could not be found."),
        )),
        Err(e) => Err(e.into()),
    }
}

/// The body of `POST /flavors` (Nova's `flavor create` schema); the sizes,
/// `id` and the optional fields take several types and are read below.
const CREATE: Schema = Schema::Object {
    properties: &[(
        "flavor",
        Schema::Object {
            properties: &[
                ("name", Schema::Any),
                ("id", Schema::Any),
                ("ram", Schema::Any),
                ("vcpus", Schema::Any),
                ("disk", Schema::Any),
                ("OS-FLV-EXT-DATA:ephemeral", Schema::Any),
                ("swap", Schema::Any),
                ("rxtx_factor", Schema::Any),
                ("os-flavor-access:is_public", Schema::Any),
                ("description", Schema::Any),
            ],
            required: &["name"],
            closed: true,
        },
    )],
    required: &["flavor"],
    closed: true,
};

/// A size attribute: an integer, or a string of digits (Nova accepts both).
fn size(f: &Map<String, Value>, key: &str, label: &str, required: bool) -> NovaResult<i64> {
    let invalid = |v: &Value| {
        NovaError::from(Error::invalid(format!(
            "Invalid input for field/attribute {label}. Value: {v}. {v} is not of type 'integer', 'string'"
        )))
    };
    match f.get(key) {
        None if required => Err(NovaError::from(Error::invalid(format!(
            "Invalid input for field/attribute flavor. Value: {}. '{key}' is a required property",
            Value::Object(f.clone())
        )))),
        None => Ok(0),
        Some(Value::Null) if !required => Ok(0),
        Some(v @ Value::Number(n)) => n.as_i64().ok_or_else(|| invalid(v)),
        Some(v @ Value::String(t)) => t.trim().parse().map_err(|_| invalid(v)),
        Some(v) => Err(invalid(v)),
    }
}

/// `POST /flavors` (cloud admin): 200 with the flavor, as Nova.
pub async fn create(
    State(s): State<AppState>,
    a: NovaAuth,
    NovaJson(body): NovaJson,
) -> NovaResult<Json<Value>> {
    validate(&CREATE, "root", &body)?;
    let Some(f) = body.get("flavor").and_then(Value::as_object) else {
        return Err(NovaError::from(Error::invalid("Malformed request body")));
    };
    let name = match f.get("name") {
        Some(Value::String(n)) => n.clone(),
        _ => {
            return Err(NovaError::from(Error::invalid(format!(
            "Invalid input for field/attribute flavor. Value: {}. 'name' is a required property",
            Value::Object(f.clone())
        ))))
        }
    };
    let id = match f.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(i)) => Some(i.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(v) => {
            return Err(NovaError::from(Error::invalid(format!(
                "Invalid input for field/attribute id. Value: {v}. {v} is not valid under any of the given schemas"
            ))))
        }
    };
    let is_public = match f.get("os-flavor-access:is_public") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            return Err(NovaError::from(Error::invalid(format!(
                "Invalid input for field/attribute os-flavor-access:is_public. Value: {v}. {v} is not of type 'boolean'"
            ))))
        }
    };
    let description = match f.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(d)) => Some(d.clone()),
        Some(v) => {
            return Err(NovaError::from(Error::invalid(format!(
                "Invalid input for field/attribute description. Value: {v}. {v} is not of type 'string', 'null'"
            ))))
        }
    };
    let spec = FlavorSpec {
        id,
        name,
        vcpus: size(f, "vcpus", "vcpus", true)?,
        ram: size(f, "ram", "ram", true)?,
        disk: size(f, "disk", "disk", true)?,
        ephemeral: size(
            f,
            "OS-FLV-EXT-DATA:ephemeral",
            "OS-FLV-EXT-DATA:ephemeral",
            false,
        )?,
        swap: size(f, "swap", "swap", false)?,
        is_public,
        description,
    };
    let flavor = s
        .service
        .flavor_create(&a.0.caller, spec, &WriteOptions::default())
        .await?;
    Ok(Json(
        json!({"flavor": detail(&s, a.0.project.as_str(), &flavor)}),
    ))
}

/// `DELETE /flavors/{id}` (cloud admin): 202. Servers created with it keep
/// showing it.
pub async fn delete(
    State(s): State<AppState>,
    a: NovaAuth,
    Path(id): Path<String>,
) -> NovaResult<Response> {
    s.service
        .flavor_delete(&a.0.caller, id, &WriteOptions::default())
        .await?;
    Ok(empty(StatusCode::ACCEPTED))
}

/// `GET /flavors/{id}/os-extra_specs`: nicplane flavors have none (`openstack
/// flavor show` asks).
pub async fn extra_specs(
    State(s): State<AppState>,
    a: NovaAuth,
    Path(id): Path<String>,
) -> NovaResult<Response> {
    match s.service.flavor_get(&a.0.caller, &id).await {
        Ok(_) => Ok(Json(json!({"extra_specs": {}})).into_response()),
        Err(Error::NotFound { .. }) => Ok(fault_response(
            404,
            "itemNotFound",
            &format!("Flavor {id} could not be found."),
        )),
        Err(e) => Err(e.into()),
    }
}
