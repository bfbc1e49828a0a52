//! Native endpoints: routers, their gateway and interfaces.

use super::admin::project;
use super::error::ApiResult;
use super::extract::{Auth, Path, Query, Write, WriteOpts};
use super::{deleted, page, written, Page, PageQuery};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use nicplane_domain::ids::*;
use nicplane_domain::model::Router;
use nicplane_service::router::*;

fn router_id(id: &str) -> ApiResult<RouterId> {
    Ok(RouterId::parse_for_lookup(id)?)
}

/// The project's routers with their gateway and interfaces, by id.
#[utoipa::path(get, path = "/v1/projects/{project_id}/routers", operation_id = "router_list", tag = "routers",
    params(("project_id" = String, Path), PageQuery), responses((status = 200, body = Page<Router>)))]
pub async fn router_list(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(p): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Page<Router>>> {
    let (_, limit) = q.request()?;
    let mut items = s.service.router_list(&c, &project(&p)?).await?;
    if let Some(m) = &q.marker {
        items.retain(|r| r.id.to_string().as_str() > m.as_str());
    }
    Ok(Json(page(items, limit, |r| r.id.to_string())))
}

/// Create a router (Tenant Administrator), with a gateway when given.
#[utoipa::path(post, path = "/v1/projects/{project_id}/routers", operation_id = "router_create", tag = "routers",
    params(("project_id" = String, Path)), request_body = RouterSpec, responses((status = 201, body = Router)))]
pub async fn router_create(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(p): Path<String>,
    w: Write<RouterSpec>,
) -> ApiResult<Response> {
    let r = s
        .service
        .router_create(&c, &project(&p)?, w.body, &w.opts)
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::CREATED, r))
}

/// One router.
#[utoipa::path(get, path = "/v1/projects/{project_id}/routers/{router_id}", operation_id = "router_get", tag = "routers",
    params(("project_id" = String, Path), ("router_id" = String, Path)), responses((status = 200, body = Router)))]
pub async fn router_get(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, r)): Path<(String, String)>,
) -> ApiResult<Json<Router>> {
    Ok(Json(
        s.service
            .router_get(&c, &project(&p)?, router_id(&r)?)
            .await?,
    ))
}

/// Rename, describe, enable or disable a router; set or clear its gateway.
#[utoipa::path(patch, path = "/v1/projects/{project_id}/routers/{router_id}", operation_id = "router_update", tag = "routers",
    params(("project_id" = String, Path), ("router_id" = String, Path)), request_body = RouterPatch, responses((status = 200, body = Router)))]
pub async fn router_update(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, r)): Path<(String, String)>,
    w: Write<RouterPatch>,
) -> ApiResult<Response> {
    let r = s
        .service
        .router_update(&c, &project(&p)?, router_id(&r)?, w.body, &w.opts)
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::OK, r))
}

/// Delete a router without interfaces; its gateway addresses go back to the pool.
#[utoipa::path(delete, path = "/v1/projects/{project_id}/routers/{router_id}", operation_id = "router_delete", tag = "routers",
    params(("project_id" = String, Path), ("router_id" = String, Path)), responses((status = 204)))]
pub async fn router_delete(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, r)): Path<(String, String)>,
    WriteOpts(o): WriteOpts,
) -> ApiResult<Response> {
    s.service
        .router_delete(&c, &project(&p)?, router_id(&r)?, &o)
        .await?;
    Ok(deleted(o.dry_run))
}

/// Set (or replace) the router's gateway to its data center's public pools.
#[utoipa::path(put, path = "/v1/projects/{project_id}/routers/{router_id}/gateway", operation_id = "router_set_gateway", tag = "routers",
    params(("project_id" = String, Path), ("router_id" = String, Path)), request_body = GatewaySpec, responses((status = 200, body = Router)))]
pub async fn router_set_gateway(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, r)): Path<(String, String)>,
    w: Write<GatewaySpec>,
) -> ApiResult<Response> {
    let patch = RouterPatch {
        gateway: Some(w.body),
        ..RouterPatch::default()
    };
    let r = s
        .service
        .router_update(&c, &project(&p)?, router_id(&r)?, patch, &w.opts)
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::OK, r))
}

/// Clear the router's gateway.
#[utoipa::path(delete, path = "/v1/projects/{project_id}/routers/{router_id}/gateway", operation_id = "router_clear_gateway", tag = "routers",
    params(("project_id" = String, Path), ("router_id" = String, Path)), responses((status = 204)))]
pub async fn router_clear_gateway(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, r)): Path<(String, String)>,
    WriteOpts(o): WriteOpts,
) -> ApiResult<Response> {
    let patch = RouterPatch {
        clear_gateway: true,
        ..RouterPatch::default()
    };
    s.service
        .router_update(&c, &project(&p)?, router_id(&r)?, patch, &o)
        .await?;
    Ok(deleted(o.dry_run))
}

/// Add an interface: a subnet (its gateway address on a new port) or an
/// existing unused port.
#[utoipa::path(post, path = "/v1/projects/{project_id}/routers/{router_id}/interfaces", operation_id = "router_add_interface", tag = "routers",
    params(("project_id" = String, Path), ("router_id" = String, Path)), request_body = RouterInterfaceSpec, responses((status = 200, body = Router)))]
pub async fn router_add_interface(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, r)): Path<(String, String)>,
    w: Write<RouterInterfaceSpec>,
) -> ApiResult<Response> {
    let (r, _) = s
        .service
        .router_add_interface(&c, &project(&p)?, router_id(&r)?, w.body, &w.opts)
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::OK, r))
}

/// Remove an interface by its port (the port is deleted).
#[utoipa::path(delete, path = "/v1/projects/{project_id}/routers/{router_id}/interfaces/{port_id}", operation_id = "router_remove_interface", tag = "routers",
    params(("project_id" = String, Path), ("router_id" = String, Path), ("port_id" = String, Path)), responses((status = 204)))]
pub async fn router_remove_interface(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, r, port)): Path<(String, String, String)>,
    WriteOpts(o): WriteOpts,
) -> ApiResult<Response> {
    let spec = RouterInterfaceSpec {
        subnet_id: None,
        port_id: Some(InterfaceId::parse_for_lookup(&port)?),
    };
    s.service
        .router_remove_interface(&c, &project(&p)?, router_id(&r)?, spec, &o)
        .await?;
    Ok(deleted(o.dry_run))
}
