//! The web console: one page of hand-written HTML, CSS and vanilla
//! JavaScript, embedded in the binary and served under `/console/` by the
//! main listener (`/` redirects there).
//!
//! The console holds no business rule. The page calls the native API
//! (`/v1/...`) with the user's bearer token (kept in `sessionStorage`) and
//! shows the API's error `message` as a notice, so every rule — the interface
//! limit, Windows VMs that must be stopped, the primary interface that cannot
//! be removed, public IPs only on standard networks, read-only roles — is
//! decided by the core and merely reported here. Nothing is fetched from
//! outside nicplane and there is no build step: the assets below are the
//! files in `assets/`, as written.

use crate::AppState;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// Where the console lives; `/` and `/console` redirect here.
pub const BASE: &str = "/console/";

/// What the browser may load: only this origin, no inline script or style.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// One embedded file.
struct Asset {
    content_type: &'static str,
    body: &'static [u8],
    etag: OnceLock<HeaderValue>,
}

impl Asset {
    const fn new(content_type: &'static str, body: &'static [u8]) -> Self {
        Asset {
            content_type,
            body,
            etag: OnceLock::new(),
        }
    }

    /// A strong ETag from the content, so a reload revalidates cheaply.
    fn etag(&self) -> &HeaderValue {
        self.etag.get_or_init(|| {
            let digest = Sha256::digest(self.body);
            let tag = format!("\"{}\"", hex::encode(&digest[..12]));
            HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
        })
    }

    fn respond(&'static self, request: &HeaderMap) -> Response {
        let etag = self.etag().clone();
        let fresh = request
            .get(header::IF_NONE_MATCH)
            .is_some_and(|v| v.as_bytes() == etag.as_bytes());
        let headers = [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.content_type),
            ),
            // Revalidate every time: the assets change with the binary.
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (header::ETAG, etag),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        ];
        if fresh {
            (StatusCode::NOT_MODIFIED, headers).into_response()
        } else {
            (headers, self.body).into_response()
        }
    }
}

static INDEX_HTML: Asset = Asset::new(
    "text/html; charset=utf-8",
    include_bytes!("assets/index.html"),
);
static APP_JS: Asset = Asset::new(
    "text/javascript; charset=utf-8",
    include_bytes!("assets/app.js"),
);
static APP_CSS: Asset = Asset::new("text/css; charset=utf-8", include_bytes!("assets/app.css"));
static FAVICON: Asset = Asset::new("image/svg+xml", include_bytes!("assets/favicon.svg"));

/// The console's routes (no state needed: the page talks to the native API).
pub fn routes(_state: AppState) -> Router {
    router()
}

/// The routes themselves, separate from [`routes`] so tests need no service.
fn router() -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to(BASE) }))
        .route("/console", get(|| async { Redirect::to(BASE) }))
        .route(
            "/console/",
            get(|h: HeaderMap| async move { INDEX_HTML.respond(&h) }),
        )
        .route(
            "/console/app.js",
            get(|h: HeaderMap| async move { APP_JS.respond(&h) }),
        )
        .route(
            "/console/app.css",
            get(|h: HeaderMap| async move { APP_CSS.respond(&h) }),
        )
        .route(
            "/console/favicon.svg",
            get(|h: HeaderMap| async move { FAVICON.respond(&h) }),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::Service;

    async fn get(path: &str, headers: &[(&str, &str)]) -> Response {
        let mut req = Request::get(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut r = router();
        r.call(req.body(Body::empty()).unwrap()).await.unwrap()
    }

    async fn text(resp: Response) -> String {
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 22)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn root_and_bare_console_redirect_to_the_console() {
        for path in ["/", "/console"] {
            let resp = get(path, &[]).await;
            assert!(resp.status().is_redirection(), "{path}: {}", resp.status());
            assert_eq!(resp.headers()[header::LOCATION], BASE);
        }
    }

    #[tokio::test]
    async fn index_references_only_embedded_assets() {
        let resp = get(BASE, &[]).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert!(resp.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("default-src 'self'"));
        let html = text(resp).await;
        for asset in [
            "/console/app.js",
            "/console/app.css",
            "/console/favicon.svg",
        ] {
            assert!(html.contains(asset), "index does not load {asset}");
            assert_eq!(get(asset, &[]).await.status(), StatusCode::OK, "{asset}");
        }
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "index loads something from outside"
        );
    }

    #[tokio::test]
    async fn a_matching_etag_answers_not_modified() {
        let first = get("/console/app.js", &[]).await;
        let etag = first.headers()[header::ETAG].to_str().unwrap().to_string();
        let again = get("/console/app.js", &[("if-none-match", &etag)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        let other = get("/console/app.js", &[("if-none-match", "\"stale\"")]).await;
        assert_eq!(other.status(), StatusCode::OK);
        assert!(text(other).await.contains("/v1/auth/login"));
    }
}
