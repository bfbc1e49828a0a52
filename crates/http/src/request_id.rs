//! A request id for every request: generated here, stored as a request
//! extension for handlers and error bodies, and sent back in
//! `X-Request-Id` (and `x-openstack-request-id` for OpenStack paths).

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

/// The id of one request.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl RequestId {
    pub fn new() -> Self {
        RequestId(uuid::Uuid::new_v4().simple().to_string())
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
    let mut resp = CURRENT.scope(id.clone(), next.run(req)).await;
    if !resp.headers().contains_key(HEADER) {
        if let Ok(v) = HeaderValue::from_str(&id.0) {
            resp.headers_mut().insert(HEADER, v);
        }
    }
    resp
}
