//! A read-only Glance v2 image list under `/image`.
//!
//! nicplane does not manage images: a VM stores its image reference as given.
//! But `openstack server create --image NAME` looks the image up in Glance
//! before it asks Nova, so nicplane offers a small fixed catalog of image
//! names ([`IMAGES`]). The `os_type` property follows Glance's convention;
//! the server's OS type still comes from its `os_type` metadata key.

use super::scoped;
use crate::AppState;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

/// The fixed image catalog: (name, os_type).
pub const IMAGES: &[(&str, &str)] = &[
    ("cirros", "linux"),
    ("ubuntu-24.04", "linux"),
    ("windows-server-2022", "windows"),
];

/// The stable id of a catalog image.
pub fn image_id(name: &str) -> String {
    super::stable_uuid(&format!("nicplane-image-{name}")).to_string()
}

/// The catalog name of an image reference, if it is one of ours.
pub fn image_name(reference: &str) -> Option<&'static str> {
    IMAGES
        .iter()
        .find(|(n, _)| *n == reference || image_id(n) == reference)
        .map(|(n, _)| *n)
}

fn image(name: &str, os_type: &str) -> Value {
    let id = image_id(name);
    json!({
        "id": id, "name": name, "status": "active", "visibility": "public",
        "os_type": os_type, "disk_format": "qcow2", "container_format": "bare",
        "min_disk": 0, "min_ram": 0, "size": null, "virtual_size": null, "protected": false,
        "os_hidden": false, "tags": [], "owner": null, "checksum": null,
        "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
        "self": format!("/v2/images/{id}"), "file": format!("/v2/images/{id}/file"),
        "schema": "/v2/schemas/image",
    })
}

/// Routes under `/image`.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/image", get(versions))
        .route("/image/", get(versions))
        .route("/image/versions", get(versions))
        .route("/image/v2/images", get(list))
        .route("/image/v2/images/{id}", get(show))
        .with_state(state)
}

async fn versions(State(s): State<AppState>) -> Json<Value> {
    Json(json!({"versions": [{
        "id": "v2.16", "status": "CURRENT",
        "links": [{"rel": "self", "href": format!("{}/image/v2/", super::base_url(&s))}],
    }]}))
}

fn unauthorized(s: &AppState) -> Response {
    let mut r = (
        StatusCode::UNAUTHORIZED,
        "The request you have made requires authentication.",
    )
        .into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&super::www_authenticate(s)) {
        r.headers_mut()
            .insert(axum::http::header::WWW_AUTHENTICATE, v);
    }
    r
}

async fn list(State(s): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    if scoped(&s, &parts).await.is_err() {
        return unauthorized(&s);
    }
    let pairs = super::query_pairs(parts.uri.query());
    let name = pairs
        .iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.clone());
    let images: Vec<Value> = IMAGES
        .iter()
        .filter(|(n, _)| name.as_deref().is_none_or(|x| x == *n))
        .map(|(n, o)| image(n, o))
        .collect();
    Json(json!({"images": images, "first": "/v2/images", "schema": "/v2/schemas/images"}))
        .into_response()
}

async fn show(State(s): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    if scoped(&s, &parts).await.is_err() {
        return unauthorized(&s);
    }
    match IMAGES.iter().find(|(n, _)| image_id(n) == id) {
        Some((n, o)) => Json(image(n, o)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            format!("No image found with ID {id}"),
        )
            .into_response(),
    }
}
