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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = e.http_status();
        if status >= 500 {
            tracing::error!(error = %e, "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                status,
                code: e.code().to_string(),
                message: e.to_string(),
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
