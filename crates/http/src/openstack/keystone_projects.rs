//! Keystone's project reads, `GET /identity/v3/projects[?name=]` and
//! `GET /identity/v3/projects/{id}`: `openstack quota show|set PROJECT`
//! resolves the project name through them. A user sees the projects it
//! belongs to; the cloud admin sees all (the service's `project_list`).

use super::base_url;
use super::keystone::{caller, keystone_error, KeystoneError, DOMAIN_ID};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use nicplane_domain::model::Project;
use nicplane_domain::Error;
use serde::Deserialize;
use serde_json::{json, Value};

/// Routes under `/identity/v3/projects`.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/identity/v3/projects", get(list))
        .route("/identity/v3/projects/{id}", get(show))
        .with_state(state)
}

fn view(s: &AppState, p: &Project) -> Value {
    json!({
        "id": p.id.to_string(), "name": p.name, "description": p.description,
        "domain_id": DOMAIN_ID, "parent_id": DOMAIN_ID, "enabled": true, "is_domain": false,
        "tags": [], "options": {},
        "links": {"self": format!("{}/identity/v3/projects/{}", base_url(s), p.id)},
    })
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    name: Option<String>,
}

async fn list(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, KeystoneError> {
    let c = caller(&s, &headers).await?;
    let projects = s
        .service
        .project_list(&c)
        .await
        .map_err(|e| keystone_error(&s, e))?;
    let items: Vec<Value> = projects
        .iter()
        .filter(|p| q.name.as_deref().is_none_or(|n| n == p.name))
        .map(|p| view(&s, p))
        .collect();
    Ok(Json(json!({
        "projects": items,
        "links": {"self": format!("{}/identity/v3/projects", base_url(&s)), "next": null, "previous": null},
    })))
}

async fn show(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, KeystoneError> {
    let c = caller(&s, &headers).await?;
    let projects = s
        .service
        .project_list(&c)
        .await
        .map_err(|e| keystone_error(&s, e))?;
    let p = projects
        .iter()
        .find(|p| p.id.as_str() == id)
        .ok_or_else(|| {
            keystone_error(
                &s,
                Error::NotFound {
                    kind: nicplane_domain::Kind::Project,
                    id: id.clone(),
                },
            )
        })?;
    Ok(Json(json!({ "project": view(&s, p) })))
}
