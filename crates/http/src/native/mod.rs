//! The native REST API under `/v1`: resource-oriented JSON, bearer tokens,
//! one error shape, limit/marker pagination, `?dry_run=true` on every write
//! (answered 202) and `Idempotency-Key` on writes. The OpenAPI document at
//! `/v1/openapi.json` is assembled from the handlers' annotations by the
//! same router that serves them, so it cannot drift from the routes.

pub mod admin;
pub mod error;
pub mod events;
pub mod extract;
pub mod host;
pub mod network;
pub mod openapi;
pub mod quota;
pub mod router;
pub mod supplementary;
pub mod vm;

use crate::AppState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use error::{ApiError, ApiResult};
use nicplane_domain::query::{cut_page, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The `device_owner` of an interface the native API binds to a VM (at VM
/// create, or an attach that names none): Nova's label, so that an object
/// looks the same through every dialect.
pub const VM_DEVICE_OWNER: &str = "compute:nova";

/// Default page size of list endpoints.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest page size a client may ask for.
pub const MAX_LIMIT: u32 = 1000;

/// `limit` and `marker` of list endpoints.
#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// At most this many items (default 100, at most 1000).
    pub limit: Option<u32>,
    /// The `next_marker` of the previous page.
    pub marker: Option<String>,
}

impl PageQuery {
    /// The store request: one more item than asked, to know if a next page exists.
    pub fn request(&self) -> ApiResult<(PageRequest, u32)> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(ApiError(nicplane_domain::Error::invalid_value(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}."),
            )));
        }
        Ok((PageRequest::probe(limit, self.marker.clone()), limit))
    }
}

/// One page of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `marker` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

/// Cut a list fetched with [`PageRequest::probe`] into a page
/// (`nicplane_domain::query::cut_page`).
pub fn page<T>(items: Vec<T>, limit: u32, id: impl Fn(&T) -> String) -> Page<T> {
    let cut = cut_page(items, limit as usize, id);
    Page {
        items: cut.items,
        next_marker: cut.next_marker,
    }
}

/// Answer of a write: 202 for a dry run, else the given status.
pub fn written<T: Serialize>(dry_run: bool, status: StatusCode, body: T) -> Response {
    let status = if dry_run {
        StatusCode::ACCEPTED
    } else {
        status
    };
    (status, Json(body)).into_response()
}

/// Answer of a delete: 202 for a dry run, else 204.
pub fn deleted(dry_run: bool) -> Response {
    if dry_run {
        StatusCode::ACCEPTED.into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    }
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    match state.service.ready().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

/// The OpenAPI router of the native API (used for the routes and the document).
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(admin::auth_login))
        .routes(routes!(admin::auth_logout))
        .routes(routes!(admin::auth_whoami))
        .routes(routes!(admin::auth_password_change))
        .routes(routes!(admin::data_center_list, admin::data_center_create))
        .routes(routes!(admin::data_center_get))
        .routes(routes!(admin::pool_list, admin::pool_create))
        .routes(routes!(admin::pool_delete))
        .routes(routes!(
            admin::external_network_list,
            admin::external_network_create
        ))
        .routes(routes!(
            admin::external_network_get,
            admin::external_network_update,
            admin::external_network_delete
        ))
        .routes(routes!(admin::user_list, admin::user_create))
        .routes(routes!(
            admin::user_get,
            admin::user_update,
            admin::user_delete
        ))
        .routes(routes!(admin::user_password_change))
        .routes(routes!(admin::project_list, admin::project_create))
        .routes(routes!(
            admin::project_get,
            admin::project_update,
            admin::project_delete
        ))
        .routes(routes!(admin::member_list))
        .routes(routes!(
            quota::quota_show,
            quota::quota_set,
            quota::quota_reset
        ))
        .routes(routes!(admin::member_set, admin::member_remove))
        .routes(routes!(network::shared_network_create))
        .routes(routes!(network::network_list, network::network_create))
        .routes(routes!(
            network::network_get,
            network::network_update,
            network::network_delete
        ))
        .routes(routes!(network::subnet_create))
        .routes(routes!(
            network::subnet_get,
            network::subnet_update,
            network::subnet_delete
        ))
        .routes(routes!(
            network::security_group_list,
            network::security_group_create
        ))
        .routes(routes!(
            network::security_group_get,
            network::security_group_delete
        ))
        .routes(routes!(network::security_group_rule_create))
        .routes(routes!(network::security_group_rule_delete))
        .routes(routes!(router::router_list, router::router_create))
        .routes(routes!(
            router::router_get,
            router::router_update,
            router::router_delete
        ))
        .routes(routes!(
            router::router_set_gateway,
            router::router_clear_gateway
        ))
        .routes(routes!(router::router_add_interface))
        .routes(routes!(router::router_remove_interface))
        .routes(routes!(vm::vm_list, vm::vm_create))
        .routes(routes!(vm::vm_get, vm::vm_update, vm::vm_delete))
        .routes(routes!(vm::vm_start))
        .routes(routes!(vm::vm_stop))
        .routes(routes!(vm::vm_interface_list, vm::interface_attach))
        .routes(routes!(vm::interface_detach))
        .routes(routes!(vm::interface_list, vm::interface_create))
        .routes(routes!(
            vm::interface_get,
            vm::interface_update,
            vm::interface_delete
        ))
        .routes(routes!(
            vm::public_ip_allocate_on_interface,
            vm::public_ip_release_on_interface
        ))
        .routes(routes!(vm::public_ip_list, vm::public_ip_allocate))
        .routes(routes!(
            vm::public_ip_get,
            vm::public_ip_associate,
            vm::public_ip_release
        ))
        .routes(routes!(
            supplementary::supplementary_list,
            supplementary::supplementary_create
        ))
        .routes(routes!(
            supplementary::supplementary_get,
            supplementary::supplementary_update,
            supplementary::supplementary_delete
        ))
        .routes(routes!(supplementary::supplementary_batch_create))
        .routes(routes!(supplementary::supplementary_migrate))
        .routes(routes!(
            supplementary::supplementary_tag_set,
            supplementary::supplementary_tag_delete
        ))
        .routes(routes!(supplementary::supplementary_tag_summary))
        .routes(routes!(supplementary::supplementary_attach))
        .routes(routes!(supplementary::supplementary_detach))
        .routes(routes!(
            supplementary::credential_list,
            supplementary::credential_create
        ))
        .routes(routes!(supplementary::credential_delete))
        .routes(routes!(host::host_list, host::host_create))
        .routes(routes!(events::event_list))
}

/// The native routes, the OpenAPI document and the health checks.
pub fn routes(state: AppState) -> Router {
    let (router, doc) = api().split_for_parts();
    let doc = std::sync::Arc::new(openapi::document(doc));
    router
        .route(
            "/v1/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { Json((*doc).clone()) }
            }),
        )
        .route("/v1/agent/desired-state", get(host::agent_desired_state))
        .route(
            "/v1/agent/status",
            axum::routing::post(host::agent_status_report),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Answer for a method a native path does not serve: 405 in the native
/// error shape (the `Allow` header still lists the methods it serves).
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let body = error::ErrorBody {
        error: error::ErrorDetail {
            status: 405,
            code: "MethodNotAllowed".to_string(),
            message: format!("The method {method} is not allowed on {}.", uri.path()),
            request_id: crate::request_id::current(),
        },
    };
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

/// Answer for a path no dialect serves.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    ApiError(nicplane_domain::Error::NotFound {
        kind: nicplane_domain::Kind::Token,
        id: String::new(),
    })
    .into_response_with_message(format!("No route for {}.", uri.path()))
}

impl ApiError {
    /// Answer with a custom message (used for unknown routes).
    pub fn into_response_with_message(self, message: String) -> Response {
        let status = self.0.http_status();
        let body = error::ErrorBody {
            error: error::ErrorDetail {
                status,
                code: self.0.code().to_string(),
                message,
                request_id: crate::request_id::current(),
            },
        };
        (
            StatusCode::from_u16(status).unwrap_or(StatusCode::NOT_FOUND),
            Json(body),
        )
            .into_response()
    }
}
