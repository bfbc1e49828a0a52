//! The native API's one error shape, and the one function that maps the
//! domain error to it:
//! `{"error": {"status": 409, "code": "InterfaceLimitReached", "message": "...", "request_id": "..."}}`.

use crate::request_id;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use nicplane_domain::Error;
use serde::Serialize;

/// An error answered by the native API.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

/// The body of every native error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub status: u16,
    /// Stable machine-readable code, e.g. `InterfaceLimitReached`.
    pub code: String,
    /// Human-readable message naming the offending value.
    pub message: String,
    pub request_id: String,
}

/// The one mapping from the domain error to the native status, code and
/// message. Every variant and conflict reason is named: a new one does not
/// compile until it is mapped here. An internal error's detail never reaches
/// the client (it is logged by [`request_id::log_failure`]).
pub fn native_error(e: &Error) -> (u16, &'static str, String) {
    let message = e.client_message();
    match e {
        Error::NotFound { .. } => (404, "NotFound", message),
        Error::InvalidRequest { .. } => (400, "InvalidRequest", message),
        Error::InvalidValue { .. } => (400, "InvalidValue", message),
        // The domain's stable code, itself an exhaustive match over the reasons.
        Error::Conflict { reason, .. } => (409, reason.code(), message),
        Error::Forbidden { .. } => (403, "Forbidden", message),
        Error::Unauthenticated { .. } => (401, "Unauthenticated", message),
        Error::CapacityExhausted { .. } => (409, "CapacityExhausted", message),
        Error::Unavailable { .. } => (503, "ServiceUnavailable", message),
        Error::TooManyRequests { .. } => (429, "TooManyRequests", message),
        Error::PreconditionFailed { .. } => (412, "PreconditionFailed", message),
        Error::Internal { .. } => (500, "Internal", message),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        request_id::log_failure(&e, "native");
        let (status, code, message) = native_error(&e);
        let body = ErrorBody {
            error: ErrorDetail {
                status,
                code: code.to_string(),
                message,
                request_id: request_id::current(),
            },
        };
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (code, Json(body)).into_response();
        if let Some(secs) = e.retry_after() {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        if status == 401 {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"nicplane\""),
            );
        }
        resp
    }
}

/// Result of a native handler.
pub type ApiResult<T> = Result<T, ApiError>;
