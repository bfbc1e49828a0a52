//! nicplane's HTTP server: one module per API dialect, plus the console.
//!
//! * [`native`]: the native REST API under `/v1` (and `/v1/openapi.json`);
//! * [`openstack`]: Keystone (`/identity`), Nova (`/compute`), Neutron (`/network`);
//! * [`huawei`]: Huawei Cloud VPC/ECS/IAM paths, served on their own listener
//!   (the Huawei SDK keeps only scheme, host and port of an endpoint);
//! * [`console`]: the web console under `/` and `/console`.
//!
//! Dialect modules only translate: they parse requests, call one use case of
//! `nicplane_service::Service`, and shape the answer or error their way.

pub mod console;
pub mod huawei;
pub mod listener;
pub mod metrics;
pub mod native;
pub mod openstack;
pub mod query;
pub mod request_id;
pub mod timefmt;

#[cfg(test)]
mod error_mapping_tests;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::Router;
use nicplane_service::auth::Origin;
use nicplane_service::Service;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

/// Settings of the HTTP layer.
#[derive(Debug, Clone, Default)]
pub struct HttpConfig {
    /// The URL clients reach this server at (for links and the Keystone
    /// catalog), e.g. `http://127.0.0.1:8080`. Derived from the listen
    /// address when not set.
    pub public_url: String,
    /// The URL of the Huawei listener, if one is configured.
    pub huawei_url: Option<String>,
}

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    pub config: Arc<HttpConfig>,
    /// The request metrics every listener records into.
    pub metrics: Arc<metrics::HttpMetrics>,
}

/// The main listener's routes: native API, OpenStack, console, health.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(native::routes(state.clone()))
        .merge(openstack::routes(state.clone()))
        .merge(console::routes(state.clone()))
        .fallback(native::not_found)
        .layer(axum::middleware::from_fn_with_state(
            metrics::Tracker::main(state.metrics.clone()),
            metrics::track,
        ))
        .layer(axum::middleware::from_fn(request_id::middleware))
}

/// The Huawei listener's routes.
pub fn huawei_router(state: AppState) -> Router {
    huawei::routes(state)
}

/// Where a request comes from (peer address, set by [`listener`]) and its
/// request id: what the login throttle and the failed-login log need.
pub struct RequestOrigin(pub Origin);

/// The origin of a request from its parts.
pub fn origin(parts: &Parts) -> Origin {
    Origin {
        address: parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip()),
        request_id: parts
            .extensions
            .get::<request_id::RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_else(request_id::current),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestOrigin {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(RequestOrigin(origin(parts)))
    }
}

/// The client's message for a JSON body serde refused, in every dialect:
/// serde's reason without its " at line L column C" (the position depends on
/// how the client laid its JSON out, not on what is wrong), ending with one
/// period.
pub fn body_error_message(e: &serde_json::Error) -> String {
    format!("The request body is not valid: {}.", json_error_reason(e))
}

/// What serde found wrong in a JSON body, without its line and column
/// (they depend on the client's layout) or a closing period.
pub fn json_error_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    let reason = text.strip_suffix(&position).unwrap_or(&text);
    reason.trim_end_matches('.').to_string()
}

#[cfg(test)]
mod body_error_tests {
    use super::body_error_message;

    #[test]
    fn the_position_and_a_doubled_period_are_left_out() {
        let e = serde_json::from_str::<u8>("  \"x\"").unwrap_err();
        assert_eq!(
            body_error_message(&e),
            "The request body is not valid: invalid type: string \"x\", expected u8."
        );
        let e = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        assert_eq!(
            body_error_message(&e),
            "The request body is not valid: EOF while parsing an object."
        );
    }
}
