//! Keystone's project reads, `GET /identity/v3/projects[?name=]` and
//! `GET /identity/v3/projects/{id}`: `openstack quota show|set PROJECT`
//! resolves the project name through them. A user sees the projects it
//! belongs to; the cloud admin sees all (the service's `project_list`).
//!
//! And the domains, `GET /identity/v3/domains[?name=&enabled=]` and
//! `GET /identity/v3/domains/{id}`: nicplane has one, `Default` (id
//! `default`), which every project and user is in. Listing is the cloud
//! admin's (Keystone's `identity:list_domains`, decided by
//! `rules::domain_list_allowed`); anyone signed in reads `default`;
//! another id is Keystone's 404 "Could not find domain: X.".

use super::base_url;
use super::keystone::{caller, keystone_error, KeystoneError, DOMAIN_ID, DOMAIN_NAME};
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
        .route("/identity/v3/domains", get(domain_list))
        .route("/identity/v3/domains/{id}", get(domain_show))
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

fn domain_view(s: &AppState) -> Value {
    json!({
        "id": DOMAIN_ID, "name": DOMAIN_NAME, "description": "The default domain",
        "enabled": true, "tags": [], "options": {},
        "links": {"self": format!("{}/identity/v3/domains/{DOMAIN_ID}", base_url(s))},
    })
}

#[derive(Debug, Deserialize)]
struct DomainQuery {
    name: Option<String>,
    enabled: Option<String>,
}

/// `GET /v3/domains` (cloud admin): the one domain, filtered by `name` and
/// `enabled` as Keystone filters.
async fn domain_list(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<DomainQuery>,
) -> Result<Json<Value>, KeystoneError> {
    let c = caller(&s, &headers).await?;
    s.service
        .identity_domain_list(&c)
        .map_err(|e| keystone_error(&s, e))?;
    let shown = q.name.as_deref().is_none_or(|n| n == DOMAIN_NAME)
        && q.enabled.as_deref().is_none_or(|e| {
            !matches!(
                e.to_ascii_lowercase().as_str(),
                "false" | "0" | "no" | "off"
            )
        });
    let items: Vec<Value> = if shown {
        vec![domain_view(&s)]
    } else {
        Vec::new()
    };
    Ok(Json(json!({
        "domains": items,
        "links": {"self": format!("{}/identity/v3/domains", base_url(&s)), "next": null, "previous": null},
    })))
}

/// `GET /v3/domains/{id}`: `default` for anyone signed in; any other id is
/// Keystone's 404.
async fn domain_show(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<axum::response::Response, KeystoneError> {
    use axum::response::IntoResponse;
    caller(&s, &headers).await?;
    if id != DOMAIN_ID {
        let body = json!({"error": {"code": 404, "title": "Not Found", "message": format!("Could not find domain: {id}.")}});
        return Ok((axum::http::StatusCode::NOT_FOUND, Json(body)).into_response());
    }
    Ok(Json(json!({ "domain": domain_view(&s) })).into_response())
}
