//! JSON response bodies, in every dialect.
//!
//! The same as `axum::Json` as a response, but serialized into a buffer
//! sized for a typical nicplane object: axum starts at 128 bytes, so an
//! interface (about 1.5 KB) was copied through four reallocations on every
//! read (docs/performance.md, "Session 12").

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The buffer a response starts with: one interface, network or VM fits.
const FIRST_CAPACITY: usize = 2048;

/// A JSON response body (`Content-Type: application/json`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        let mut buf = Vec::with_capacity(FIRST_CAPACITY);
        match serde_json::to_writer(&mut buf, &self.0) {
            Ok(()) => {
                let mut res = Response::new(Body::from(buf));
                res.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                res
            }
            // Only a bug can get here (every body is nicplane's own type).
            Err(e) => {
                tracing::error!(error = %e, "a response body could not be serialized");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_the_same_bytes_and_type_as_axum() {
        let value = serde_json::json!({"port": {"id": "x".repeat(5000), "n": [1, 2, 3]}});
        let ours = Json(value.clone()).into_response();
        let axums = axum::Json(value).into_response();
        assert_eq!(ours.status(), axums.status());
        assert_eq!(
            ours.headers().get(header::CONTENT_TYPE),
            axums.headers().get(header::CONTENT_TYPE)
        );
        let ours = axum::body::to_bytes(ours.into_body(), usize::MAX)
            .await
            .unwrap();
        let axums = axum::body::to_bytes(axums.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(ours, axums);
    }
}
