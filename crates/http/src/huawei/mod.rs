//! The Huawei Cloud dialect, served at the root of its own listener
//! (`nicplane serve --huawei-listen 127.0.0.1:8090`): the Huawei SDKs keep
//! only the scheme, host and port of an endpoint, so these paths cannot live
//! under a prefix of the main listener. Users pass that listener's URL to
//! `with_endpoints(["http://127.0.0.1:8090"])` for both `VpcClient` and
//! `EcsClient` (see `docs/huawei.md`).
//!
//! * [`vpc`]: VPC v3 supplementary network interfaces and their tags;
//! * [`ports`]: the elastic interfaces (v3 read, v1 read/write);
//! * [`ecs`]: a server's NICs as jobs, and the job API;
//! * [`iam`]: project discovery and AK/SK credentials;
//! * [`signer`]: the `SDK-HMAC-SHA256` verifier; [`auth`]: the middleware
//!   that runs it on every route; [`error`]: the one error mapping.
//!
//! Literal routes (`/count`, `/migrate`, `/batch-create`, `/tags`,
//! `/resource-instances/...`) sit beside the `/{id}` routes; the router
//! matches literal segments first, so they are never taken for ids.

pub mod auth;
pub mod ecs;
pub mod error;
pub mod iam;
pub mod ports;
pub mod signer;
pub mod vpc;

use crate::{request_id, AppState};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use error::HwError;
use nicplane_domain::Error;

/// Routes of this dialect: every matched route is authenticated; unknown
/// paths get a 404 in the Huawei shape; every answer has `X-Request-Id`.
pub fn routes(state: AppState) -> Router {
    const SNI: &str = "/v3/{project_id}/vpc/sub-network-interfaces";
    const TAGS: &str = "/v3/{project_id}/sub-network-interfaces";
    Router::new()
        // VPC v3 supplementary network interfaces.
        .route(SNI, post(vpc::create).get(vpc::list))
        .route(&format!("{SNI}/batch-create"), post(vpc::batch_create))
        .route(&format!("{SNI}/count"), get(vpc::count))
        .route(&format!("{SNI}/migrate"), put(vpc::migrate))
        .route(
            &format!("{SNI}/{{id}}"),
            get(vpc::show).put(vpc::update).delete(vpc::delete),
        )
        .route(&format!("{SNI}/{{id}}/attach"), post(vpc::attach))
        .route(&format!("{SNI}/{{id}}/detach"), post(vpc::detach))
        // Their tags.
        .route(&format!("{TAGS}/tags"), get(vpc::tags_list))
        .route(
            &format!("{TAGS}/resource-instances/filter"),
            post(vpc::filter_by_tags),
        )
        .route(
            &format!("{TAGS}/resource-instances/count"),
            post(vpc::count_by_tags),
        )
        .route(
            &format!("{TAGS}/{{id}}/tags"),
            get(vpc::tags_show).post(vpc::tag_create),
        )
        .route(
            &format!("{TAGS}/{{id}}/tags/create"),
            post(vpc::tags_create),
        )
        .route(
            &format!("{TAGS}/{{id}}/tags/delete"),
            post(vpc::tags_delete),
        )
        .route(
            &format!("{TAGS}/{{id}}/tags/{{key}}"),
            axum::routing::delete(vpc::tag_delete),
        )
        // Elastic interfaces.
        .route("/v3/{project_id}/ports", get(ports::list_v3))
        .route("/v3/{project_id}/ports/{port_id}", get(ports::show_v3))
        .route(
            "/v1/{project_id}/ports",
            post(ports::create_v1).get(ports::list_v1),
        )
        .route(
            "/v1/{project_id}/ports/{port_id}",
            get(ports::show_v1)
                .put(ports::update_v1)
                .delete(ports::delete_v1),
        )
        // ECS.
        .route(
            "/v1/{project_id}/cloudservers/{server_id}/nics",
            post(ecs::add_nics),
        )
        .route(
            "/v1/{project_id}/cloudservers/{server_id}/nics/delete",
            post(ecs::delete_nics),
        )
        .route(
            "/v1/{project_id}/cloudservers/{server_id}/os-interface",
            get(ecs::interfaces),
        )
        .route("/v1/{project_id}/jobs/{job_id}", get(ecs::show_job))
        // IAM.
        .route("/v3/projects", get(iam::projects))
        .route(
            "/v3.0/OS-CREDENTIAL/credentials",
            post(iam::credential_create).get(iam::credential_list),
        )
        .route(
            "/v3.0/OS-CREDENTIAL/credentials/{access_key}",
            axum::routing::delete(iam::credential_delete),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::middleware,
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone())
        .layer(axum::middleware::from_fn_with_state(
            crate::metrics::Tracker::dialect(state.metrics, "huawei"),
            crate::metrics::track,
        ))
        .layer(axum::middleware::from_fn(request_id::middleware))
}

async fn not_found(uri: Uri) -> Response {
    HwError::from(Error::NotFound {
        kind: nicplane_domain::Kind::Token,
        id: String::new(),
    })
    .into_response_with_message(404, "VPC.0404", format!("No route for {}.", uri.path()))
}

async fn method_not_allowed(method: axum::http::Method, uri: Uri) -> Response {
    HwError::from(Error::invalid("")).into_response_with_message(
        405,
        "VPC.0405",
        format!("The method {method} is not allowed on {}.", uri.path()),
    )
}

impl HwError {
    /// Answer in the VPC shape with a fixed status, code and message.
    pub fn into_response_with_message(self, status: u16, code: &str, message: String) -> Response {
        let body = serde_json::json!({
            "request_id": request_id::current(),
            "error_code": code,
            "error_msg": message,
        });
        let status =
            axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::NOT_FOUND);
        (status, axum::Json(body)).into_response()
    }
}
