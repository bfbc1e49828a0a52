//! Keystone's projects, `GET /identity/v3/projects[?name=]` and
//! `GET /identity/v3/projects/{id}`: `openstack quota show|set PROJECT`
//! resolves the project name through them. A user sees the projects it
//! belongs to; the cloud admin sees all (the service's `project_list`).
//! The cloud admin creates (`POST`), renames or describes (`PATCH`) and
//! deletes (`DELETE`) them: the native projects' use cases
//! (`project_create`, `project_update`, `project_delete`), so a delete is
//! refused (409) while the project holds more than its defaults. nicplane
//! keeps no `enabled` flag, tags or options on a project: `enabled: true`,
//! the `default` domain (as `domain_id` or `parent_id`), `is_domain: false`
//! and empty `tags` are accepted, anything else is a 400.
//!
//! And the domains, `GET /identity/v3/domains[?name=&enabled=]` and
//! `GET /identity/v3/domains/{id}`: nicplane has one, `Default` (id
//! `default`), which every project and user is in. Listing is the cloud
//! admin's (Keystone's `identity:list_domains`, decided by
//! `rules::domain_list_allowed`); anyone signed in reads `default`;
//! another id is Keystone's 404 "Could not find domain: X.".

use super::base_url;
use super::keystone::{bool_field, text_field};
use super::keystone::{caller, keystone_error, KeystoneError, DOMAIN_ID, DOMAIN_NAME};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use nicplane_domain::ids::ProjectId;
use nicplane_domain::model::Project;
use nicplane_domain::Error;
use nicplane_service::project::ProjectPatch;
use nicplane_service::WriteOptions;
use serde::Deserialize;
use serde_json::{json, Value};

/// Routes under `/identity/v3/projects`.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/identity/v3/projects", get(list).post(create))
        .route(
            "/identity/v3/projects/{id}",
            get(show).patch(update).delete(delete),
        )
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

/// The `project` object of a body, its fields checked against what nicplane
/// keeps (`allowed`) and the values Keystone's defaults take.
fn project_object(
    s: &AppState,
    body: &Bytes,
    allowed: &[&str],
) -> Result<serde_json::Map<String, Value>, KeystoneError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        keystone_error(
            s,
            Error::invalid(format!(
                "The request body is not valid JSON: {}.",
                crate::json_error_reason(&e)
            )),
        )
    })?;
    let m = match v.get("project") {
        Some(Value::Object(m)) => m.clone(),
        _ => {
            return Err(keystone_error(
                s,
                Error::invalid("Expecting to find project in the request body."),
            ))
        }
    };
    for (k, v) in &m {
        let default_ok = match k.as_str() {
            "domain_id" | "parent_id" => v.is_null() || v.as_str() == Some(DOMAIN_ID),
            "enabled" => v.is_null() || v == &Value::Bool(true),
            "is_domain" => v.is_null() || v == &Value::Bool(false),
            "tags" => v.is_null() || v.as_array().is_some_and(Vec::is_empty),
            _ => false,
        };
        if allowed.contains(&k.as_str()) || default_ok {
            continue;
        }
        let message = match k.as_str() {
            "enabled" => "A nicplane project cannot be disabled: delete it instead.".to_string(),
            "domain_id" | "parent_id" => {
                format!("Could not find domain: {}.", v.as_str().unwrap_or_default())
            }
            _ => format!("The project attribute {k} is not supported."),
        };
        return Err(keystone_error(s, Error::invalid(message)));
    }
    // Checked for their type (Keystone's schema): a string, a boolean.
    for k in ["domain_id", "parent_id"] {
        text_field(s, &m, k)?;
    }
    for k in ["enabled", "is_domain"] {
        bool_field(s, &m, k)?;
    }
    Ok(m)
}

fn project_id(s: &AppState, id: &str) -> Result<ProjectId, KeystoneError> {
    ProjectId::parse_for_lookup(id).map_err(|e| keystone_error(s, e))
}

/// `POST /v3/projects` (cloud admin): 201 with the project.
async fn create(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, KeystoneError> {
    let c = caller(&s, &headers).await?;
    let m = project_object(&s, &body, &["name", "description"])?;
    let name = text_field(&s, &m, "name")?
        .ok_or_else(|| keystone_error(&s, Error::invalid("Expecting to find name in project.")))?;
    let description = text_field(&s, &m, "description")?.unwrap_or_default();
    let p = s
        .service
        .project_create(&c, &name, &description, &WriteOptions::default())
        .await
        .map_err(|e| keystone_error(&s, e))?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "project": view(&s, &p) })),
    )
        .into_response())
}

/// `PATCH /v3/projects/{id}` (cloud admin): name and description.
async fn update(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, KeystoneError> {
    let c = caller(&s, &headers).await?;
    let id = project_id(&s, &id)?;
    let m = project_object(&s, &body, &["name", "description", "id"])?;
    let patch = ProjectPatch {
        name: text_field(&s, &m, "name")?,
        description: text_field(&s, &m, "description")?,
    };
    let p = s
        .service
        .project_update(&c, &id, patch, &WriteOptions::default())
        .await
        .map_err(|e| keystone_error(&s, e))?;
    Ok(Json(json!({ "project": view(&s, &p) })))
}

/// `DELETE /v3/projects/{id}` (cloud admin): 204; 409 while the project
/// holds more than its defaults (`rules::project_deletable`).
async fn delete(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, KeystoneError> {
    let c = caller(&s, &headers).await?;
    let id = project_id(&s, &id)?;
    s.service
        .project_delete(&c, &id, &WriteOptions::default())
        .await
        .map_err(|e| keystone_error(&s, e))?;
    Ok(StatusCode::NO_CONTENT)
}
