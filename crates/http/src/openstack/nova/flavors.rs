//! Flavors: a fixed catalog, because nicplane does not size VMs. A server
//! stores its `flavorRef` as given; these entries let `openstack server
//! create --flavor m1.small` find one by name.

use super::{fault_response, link, NovaAuth, NovaResult};
use crate::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// (id, name, vcpus, ram MiB, disk GiB), as devstack's defaults.
pub const FLAVORS: &[(&str, &str, u32, u32, u32)] = &[
    ("1", "m1.tiny", 1, 512, 1),
    ("2", "m1.small", 1, 2048, 20),
    ("3", "m1.medium", 2, 4096, 40),
    ("4", "m1.large", 4, 8192, 80),
];

fn find(reference: &str) -> Option<&'static (&'static str, &'static str, u32, u32, u32)> {
    FLAVORS
        .iter()
        .find(|f| f.0 == reference || f.1 == reference)
}

/// A flavor as a server shows it from microversion 2.47 (`embedded`), or
/// as the flavors API shows it.
pub fn flavor_view(reference: &str, embedded: bool) -> Value {
    let (id, name, vcpus, ram, disk) = find(reference).copied().unwrap_or(("", reference, 0, 0, 0));
    if embedded {
        return json!({"vcpus": vcpus, "ram": ram, "disk": disk, "ephemeral": 0, "swap": 0,
            "original_name": name, "extra_specs": {}});
    }
    json!({"id": id, "name": name, "vcpus": vcpus, "ram": ram, "disk": disk,
        "OS-FLV-EXT-DATA:ephemeral": 0, "OS-FLV-DISABLED:disabled": false, "swap": "",
        "rxtx_factor": 1.0, "os-flavor-access:is_public": true, "description": null, "extra_specs": {}})
}

/// `GET /flavors`.
pub async fn list(State(s): State<AppState>, a: NovaAuth) -> NovaResult<Json<Value>> {
    let p = a.0.project.to_string();
    let items: Vec<Value> = FLAVORS
        .iter()
        .map(|f| json!({"id": f.0, "name": f.1, "description": null, "links": link(&s, &p, &format!("flavors/{}", f.0))}))
        .collect();
    Ok(Json(json!({"flavors": items})))
}

/// `GET /flavors/detail`.
pub async fn list_detail(State(s): State<AppState>, a: NovaAuth) -> NovaResult<Json<Value>> {
    let p = a.0.project.to_string();
    let items: Vec<Value> = FLAVORS
        .iter()
        .map(|f| {
            let mut v = flavor_view(f.0, false);
            v["links"] = link(&s, &p, &format!("flavors/{}", f.0));
            v
        })
        .collect();
    Ok(Json(json!({"flavors": items})))
}

/// `GET /flavors/{id}`: by id only, as Nova (the client then searches by name).
pub async fn show(
    State(s): State<AppState>,
    a: NovaAuth,
    Path(id): Path<String>,
) -> NovaResult<Response> {
    match FLAVORS.iter().find(|f| f.0 == id) {
        Some(f) => {
            let mut v = flavor_view(f.0, false);
            v["links"] = link(&s, a.0.project.as_str(), &format!("flavors/{}", f.0));
            Ok(Json(json!({"flavor": v})).into_response())
        }
        None => Ok(fault_response(
            404,
            "itemNotFound",
            &format!("Flavor {id} could not be found."),
        )),
    }
}
