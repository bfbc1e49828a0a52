//! A request id for every request: generated here, stored as a request
//! extension for handlers and error bodies, and sent back in
//! `X-Request-Id` (and `x-openstack-request-id` for OpenStack paths).
//!
//! Also the per-request context of security events: the source address (from
//! `ConnectInfo` when the server provides it, else `-`) and the user, set by
//! the dialects' authentication ([`set_user`]). [`log_failure`] is called by
//! every dialect's error answer: internal errors go to the log with their
//! detail (never to the client), policy denials (403) become structured
//! `nicplane::security` events; [`security_event`] logs the others (bad
//! signatures).

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use nicplane_domain::ids::ProjectId;
use nicplane_domain::Error;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Target of security events (filter with `NICPLANE_LOG=nicplane::security=info`).
pub const SECURITY_TARGET: &str = "nicplane::security";

/// Who and where a request comes from, for the log.
#[derive(Debug, Default)]
struct Context {
    peer: String,
    user: Mutex<Option<String>>,
    project: Mutex<Option<ProjectId>>,
}

/// The id of one request.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl RequestId {
    pub fn new() -> Self {
        RequestId(nicplane_domain::ids::random_uuid().simple().to_string())
    }
}

impl Default for RequestId {
    fn default() -> Self {
        Self::new()
    }
}

tokio::task_local! {
    /// The request id of the request being served on this task.
    static CURRENT: RequestId;
    /// The source and user of the request being served on this task.
    static CONTEXT: Arc<Context>;
}

/// The source address of the current request (`-` when unknown).
pub fn peer() -> String {
    CONTEXT
        .try_with(|c| c.peer.clone())
        .unwrap_or_else(|_| "-".into())
}

/// Remember who the current request is authenticated as (for the log).
pub fn set_user(user: &str) {
    let _ = CONTEXT.try_with(|c| {
        if let Ok(mut u) = c.user.lock() {
            *u = Some(user.to_string());
        }
    });
}

/// Remember the project the current request acts in, when the dialect
/// learns it from the credential rather than the path (a Keystone token's
/// scope), for the request's log line.
pub fn set_project(project: &ProjectId) {
    let _ = CONTEXT.try_with(|c| {
        if let Ok(mut p) = c.project.lock() {
            *p = Some(project.clone());
        }
    });
}

/// The project [`set_project`] recorded, if any.
pub fn project() -> Option<ProjectId> {
    CONTEXT
        .try_with(|c| c.project.lock().ok().and_then(|p| p.clone()))
        .ok()
        .flatten()
}

/// The user of the current request, as [`set_user`] recorded it (`-` when
/// not authenticated yet).
pub fn user() -> String {
    CONTEXT
        .try_with(|c| c.user.lock().ok().and_then(|u| u.clone()))
        .ok()
        .flatten()
        .unwrap_or_else(|| "-".into())
}

/// Log a security event (`event`: what happened, e.g. `signature_refused`)
/// with the request id, user and source address.
pub fn security_event(event: &str, reason: &str) {
    tracing::warn!(
        target: SECURITY_TARGET,
        event,
        request_id = %current(),
        user = %user(),
        peer = %peer(),
        reason,
        "security event"
    );
}

/// Log an error a dialect is about to answer: an internal error with its
/// full detail (the client gets none of it), a policy denial as a security
/// event, an unavailable store as a warning. The others are the client's
/// own mistakes and are not logged.
pub fn log_failure(e: &Error, dialect: &str) {
    match e {
        Error::Internal { .. } => tracing::error!(
            dialect,
            request_id = %current(),
            user = %user(),
            peer = %peer(),
            error = %e,
            "request failed"
        ),
        Error::Forbidden { message } => security_event("policy_denied", message),
        Error::Unavailable { message } => tracing::warn!(
            dialect,
            request_id = %current(),
            error = %message,
            "request answered 503"
        ),
        Error::NotFound { .. }
        | Error::InvalidRequest { .. }
        | Error::InvalidValue { .. }
        | Error::Conflict { .. }
        | Error::Unauthenticated { .. }
        | Error::CapacityExhausted { .. }
        | Error::TooManyRequests { .. }
        | Error::PreconditionFailed { .. } => {}
    }
}

/// The current request's id (a fresh one outside a request).
pub fn current() -> String {
    CURRENT
        .try_with(|r| r.0.clone())
        .unwrap_or_else(|_| RequestId::new().0)
}

/// Header carrying the request id.
pub const HEADER: &str = "x-request-id";

/// Attach a request id to the request and its response. A handler that sets
/// its own `x-request-id` keeps it.
pub async fn middleware(mut req: Request, next: Next) -> Response {
    let id = RequestId::new();
    req.extensions_mut().insert(id.clone());
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string())
        .unwrap_or_else(|| "-".into());
    let context = Arc::new(Context {
        peer,
        user: Mutex::new(None),
        project: Mutex::new(None),
    });
    let mut resp = CURRENT
        .scope(id.clone(), CONTEXT.scope(context, next.run(req)))
        .await;
    if !resp.headers().contains_key(HEADER) {
        if let Ok(v) = HeaderValue::from_str(&id.0) {
            resp.headers_mut().insert(HEADER, v);
        }
    }
    resp
}
