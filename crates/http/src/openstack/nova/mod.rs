//! Nova (compute) under `/compute`: version documents, microversion
//! negotiation, the fault envelope, servers, `os-interface` and flavors.
//!
//! Every request under `/compute/v2.1/` goes through [`dispatch`], which
//! reads the requested microversion (`OpenStack-API-Version: compute X.Y`
//! first, then `X-OpenStack-Nova-API-Version`; none means 2.1, `latest` the
//! maximum), strips the optional project id segment, routes the rest, and
//! puts both version headers, `Vary` and the request id headers on every
//! answer, errors included.

pub mod flavors;
pub mod hypervisors;
pub mod interfaces;
pub mod quota_sets;
pub mod schema;
pub mod servers;

use super::{scoped, Scoped};
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use nicplane_domain::{ConflictReason, Error, Kind};
use serde_json::{json, Value};
use tower::ServiceExt;

/// Lowest microversion served.
/// The `device_owner` Nova gives the ports it binds to servers.
pub const DEVICE_OWNER: &str = "compute:nova";

pub const MIN_VERSION: Microversion = Microversion(1);
/// Highest microversion served (python-novaclient's own maximum; every route
/// here shapes its bodies for each version up to it).
pub const MAX_VERSION: Microversion = Microversion(96);

/// A compute microversion `2.N`, stored as N.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Microversion(pub u16);

impl Microversion {
    pub fn at_least(self, minor: u16) -> bool {
        self.0 >= minor
    }
}

impl std::fmt::Display for Microversion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "2.{}", self.0)
    }
}

/// A Nova error: nicplane's error in Nova's fault envelope, optionally
/// with Nova's own wording for it.
#[derive(Debug)]
pub struct NovaError {
    pub error: Error,
    pub message: Option<String>,
}

impl From<Error> for NovaError {
    fn from(error: Error) -> Self {
        NovaError {
            error,
            message: None,
        }
    }
}

impl NovaError {
    /// Keep the status of this error but say it Nova's way.
    pub fn with_message(mut self, message: String) -> NovaError {
        self.message = Some(message);
        self
    }
}

/// Result of a Nova handler.
pub type NovaResult<T> = Result<T, NovaError>;

/// The one function mapping nicplane's error to Nova's status, fault name
/// and message. The interface limit answers 403, as Nova answers Neutron's
/// port quota (`PortLimitExceeded`); a subnet without free addresses answers
/// 400, as Nova's `NoMoreFixedIps`.
pub fn nova_fault(e: &Error) -> (u16, &'static str, String) {
    let status = match e {
        Error::Conflict { reason, .. } => match reason {
            ConflictReason::InterfaceLimitReached => 403,
            // Nova answers Neutron's OverQuota of ports with 403
            // PortLimitExceeded ("Maximum number of ports exceeded").
            ConflictReason::OverQuota => 403,
            ConflictReason::VmMustBeStopped
            | ConflictReason::PrimaryInterface
            | ConflictReason::AddressInUse
            | ConflictReason::MacInUse
            | ConflictReason::VlanInUse
            | ConflictReason::PublicIpExists
            | ConflictReason::NetworkNotRoutable
            | ConflictReason::InUse
            | ConflictReason::WrongState
            | ConflictReason::IdempotencyKeyReused
            | ConflictReason::NameTaken
            | ConflictReason::CredentialLimitReached
            | ConflictReason::RuleExists
            | ConflictReason::RouterInUse
            | ConflictReason::NetworkInUse
            | ConflictReason::RouterInterfaceInUseByFloatingIp
            | ConflictReason::NoExternalGateway => 409,
        },
        Error::CapacityExhausted { .. } => 400,
        Error::NotFound { .. } => 404,
        Error::InvalidRequest { .. } | Error::InvalidValue { .. } => 400,
        Error::Forbidden { .. } => 403,
        Error::Unauthenticated { .. } => 401,
        Error::Unavailable { .. } => 503,
        Error::TooManyRequests { .. } => 429,
        Error::PreconditionFailed { .. } => 412,
        Error::Internal { .. } => 500,
    };
    let fault = match status {
        400 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "itemNotFound",
        405 => "badMethod",
        409 => "conflictingRequest",
        412 => "preconditionFailed",
        413 | 429 => "overLimit",
        415 => "badMediaType",
        501 => "notImplemented",
        503 => "serviceUnavailable",
        _ => "computeFault",
    };
    let message = match e {
        Error::NotFound { kind: Kind::Vm, id } => format!("Instance {id} could not be found."),
        Error::NotFound { kind: Kind::Interface, id } => format!("Port id {id} could not be found."),
        Error::NotFound { kind: Kind::Network, id } => format!("Network {id} could not be found."),
        Error::Unauthenticated { .. } => "The request you have made requires authentication.".into(),
        Error::Conflict { reason: ConflictReason::OverQuota, message } if message.contains("['port']") => {
            "Maximum number of ports exceeded".into()
        }
        Error::Internal { .. } => "Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API log if possible.".into(),
        Error::NotFound { .. }
        | Error::InvalidRequest { .. }
        | Error::InvalidValue { .. }
        | Error::Conflict { .. }
        | Error::Forbidden { .. }
        | Error::CapacityExhausted { .. }
        | Error::Unavailable { .. }
        | Error::TooManyRequests { .. }
        | Error::PreconditionFailed { .. } => e.client_message(),
    };
    (status, fault, message)
}

/// A fault body with a status.
pub fn fault_response(status: u16, fault: &str, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        Json(json!({ fault: {"code": status, "message": message} })),
    )
        .into_response()
}

impl IntoResponse for NovaError {
    fn into_response(self) -> Response {
        let (status, fault, message) = nova_fault(&self.error);
        crate::request_id::log_failure(&self.error, "nova");
        let message = self.message.unwrap_or(message);
        fault_response(status, fault, &message)
    }
}

/// The project id segment of the URL, when the client sent one.
#[derive(Debug, Clone)]
struct UrlProject(Option<String>);

/// The authenticated caller of a compute request; a project id in the URL
/// must be the token's project.
pub struct NovaAuth(pub Scoped);

impl FromRequestParts<AppState> for NovaAuth {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let s = match scoped(state, parts).await {
            Ok(s) => s,
            Err(e) => {
                let mut r = NovaError::from(e).into_response();
                if r.status() == StatusCode::UNAUTHORIZED {
                    if let Ok(v) = HeaderValue::from_str(&super::www_authenticate(state)) {
                        r.headers_mut()
                            .insert(axum::http::header::WWW_AUTHENTICATE, v);
                    }
                }
                return Err(r);
            }
        };
        if let Some(UrlProject(Some(p))) = parts.extensions.get::<UrlProject>() {
            if p.replace('-', "") != s.project.as_str() {
                return Err(NovaError::from(Error::invalid(format!(
                    "Malformed request URL: URL's project_id '{p}' doesn't match Context's project_id '{}'",
                    s.project
                )))
                .into_response());
            }
        }
        Ok(NovaAuth(s))
    }
}

impl FromRequestParts<AppState> for Microversion {
    type Rejection = NovaError;
    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, NovaError> {
        Ok(parts
            .extensions
            .get::<Microversion>()
            .copied()
            .unwrap_or(MIN_VERSION))
    }
}

/// A JSON request body (any JSON value; handlers check its shape).
pub struct NovaJson(pub Value);

impl axum::extract::FromRequest<AppState> for NovaJson {
    type Rejection = NovaError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, NovaError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| NovaError::from(Error::invalid(format!("Cannot read the body: {e}"))))?;
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(NovaJson(Value::Null));
        }
        serde_json::from_slice(&bytes)
            .map(NovaJson)
            .map_err(|_| NovaError::from(Error::invalid("Malformed request body")))
    }
}

/// Which version a request asks for (`Ok(None)` when it names none).
fn requested_version(headers: &HeaderMap) -> Result<Option<String>, (u16, String)> {
    let bad = |v: &str| (400, format!("Invalid API version request: {v}"));
    for h in headers.get_all("openstack-api-version") {
        let s = h.to_str().map_err(|_| bad("?"))?;
        let mut found = None;
        for item in s.split(',') {
            let mut it = item.split_whitespace();
            if let (Some(service), Some(v)) = (it.next(), it.next()) {
                if service.eq_ignore_ascii_case("compute") {
                    found = Some(v.to_string());
                }
            }
        }
        if found.is_some() {
            return Ok(found);
        }
    }
    if let Some(h) = headers.get("x-openstack-nova-api-version") {
        let s = h.to_str().map_err(|_| bad("?"))?.trim().to_string();
        return Ok(Some(s));
    }
    Ok(None)
}

/// Negotiate the microversion: 400 for a malformed one, 406 for one out of range.
pub fn negotiate(headers: &HeaderMap) -> Result<Microversion, (u16, String)> {
    let Some(v) = requested_version(headers)? else {
        return Ok(MIN_VERSION);
    };
    if v.eq_ignore_ascii_case("latest") {
        return Ok(MAX_VERSION);
    }
    let bad = || (400, format!("Invalid API version request: {v}"));
    let (major, minor) = v.split_once('.').ok_or_else(bad)?;
    let major: u16 = major.parse().map_err(|_| bad())?;
    let minor: u16 = minor.parse().map_err(|_| bad())?;
    if major != 2 || !(MIN_VERSION.0..=MAX_VERSION.0).contains(&minor) {
        return Err((
            406,
            format!("Version {v} is not supported by the API. Minimum is {MIN_VERSION} and maximum is {MAX_VERSION}."),
        ));
    }
    Ok(Microversion(minor))
}

/// Put the version headers, `Vary` and the request ids on an answer.
fn decorate(mut resp: Response, v: Microversion) -> Response {
    let h = resp.headers_mut();
    if let Ok(x) = HeaderValue::from_str(&format!("compute {v}")) {
        h.insert("openstack-api-version", x);
    }
    if let Ok(x) = HeaderValue::from_str(&v.to_string()) {
        h.insert("x-openstack-nova-api-version", x);
    }
    h.insert(
        axum::http::header::VARY,
        HeaderValue::from_static("OpenStack-API-Version, X-OpenStack-Nova-API-Version"),
    );
    let id = format!(
        "req-{}",
        uuid::Uuid::parse_str(&crate::request_id::current())
            .unwrap_or_else(|_| uuid::Uuid::new_v4())
            .hyphenated()
    );
    if let Ok(x) = HeaderValue::from_str(&id) {
        h.insert("x-openstack-request-id", x.clone());
        h.insert("x-compute-request-id", x);
    }
    resp
}

/// Routes under `/compute`.
pub fn routes(state: AppState) -> Router {
    let inner = crate::metrics::inner_route(api(state.clone()), "/compute/v2.1");
    let dispatch_inner = move |req: Request| {
        let inner = inner.clone();
        async move { dispatch(inner, req).await }
    };
    Router::new()
        .route("/compute", get(versions))
        .route("/compute/", get(versions))
        .route("/compute/v2.1", get(version))
        .route("/compute/v2.1/", get(version))
        .route("/compute/v2.1/{*rest}", axum::routing::any(dispatch_inner))
        .with_state(state)
}

/// Whether a path segment is a project id (Nova: `[0-9a-f\-]+`).
fn is_project_segment(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-')
}

async fn dispatch(inner: Router, req: Request) -> Response {
    let v = match negotiate(req.headers()) {
        Ok(v) => v,
        Err((status, message)) => {
            let fault = if status == 400 {
                "badRequest"
            } else {
                "computeFault"
            };
            return decorate(fault_response(status, fault, &message), MIN_VERSION);
        }
    };
    let (mut parts, body) = req.into_parts();
    let path = parts
        .uri
        .path()
        .strip_prefix("/compute/v2.1")
        .unwrap_or("/")
        .to_string();
    let mut segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut url_project = None;
    if segs.len() > 1 && is_project_segment(segs[0]) {
        url_project = Some(segs.remove(0).to_string());
    }
    let mut new_path = format!("/{}", segs.join("/"));
    if let Some(q) = parts.uri.query() {
        new_path.push('?');
        new_path.push_str(q);
    }
    match new_path.parse() {
        Ok(uri) => parts.uri = uri,
        Err(_) => {
            return decorate(
                fault_response(404, "itemNotFound", "The resource could not be found."),
                v,
            )
        }
    }
    // A fresh set of extensions: the outer route's path parameters must not
    // reach the inner router.
    let mut ext = axum::http::Extensions::new();
    if let Some(id) = parts.extensions.get::<crate::request_id::RequestId>() {
        ext.insert(id.clone());
    }
    ext.insert(v);
    ext.insert(UrlProject(url_project));
    parts.extensions = ext;
    let req = Request::from_parts(parts, body);
    let resp = match inner.oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    decorate(resp, v)
}

/// The compute API proper (paths relative to `/compute/v2.1[/{project_id}]`).
fn api(state: AppState) -> Router {
    Router::new()
        .route("/servers", get(servers::list).post(servers::create))
        .route("/servers/detail", get(servers::list_detail))
        .route(
            "/servers/{id}",
            get(servers::show)
                .put(servers::update)
                .delete(servers::delete),
        )
        .route("/servers/{id}/action", post(servers::action))
        .route("/servers/{id}/ips", get(servers::ips))
        .route("/servers/{id}/ips/{network}", get(servers::ips_of_network))
        .route(
            "/servers/{id}/os-interface",
            get(interfaces::list).post(interfaces::create),
        )
        .route(
            "/servers/{id}/os-interface/{port_id}",
            get(interfaces::show).delete(interfaces::delete),
        )
        .route("/os-quota-sets/{id}", get(quota_sets::show))
        .route("/os-quota-sets/{id}/detail", get(quota_sets::detail))
        .route("/os-quota-sets/{id}/defaults", get(quota_sets::defaults))
        .route("/flavors", get(flavors::list).post(flavors::create))
        .route("/flavors/detail", get(flavors::list_detail))
        .route("/flavors/{id}", get(flavors::show).delete(flavors::delete))
        .route("/flavors/{id}/os-extra_specs", get(flavors::extra_specs))
        .route("/os-availability-zone", get(servers::availability_zones))
        .route("/os-hypervisors", get(hypervisors::list))
        .route("/os-hypervisors/detail", get(hypervisors::list_detail))
        .route("/os-hypervisors/{id}", get(hypervisors::show))
        .fallback(|| async {
            fault_response(404, "itemNotFound", "The resource could not be found.")
        })
        .method_not_allowed_fallback(|| async {
            fault_response(
                405,
                "badMethod",
                "The method is not allowed for this resource.",
            )
        })
        .with_state(state)
}

fn version_doc(state: &AppState) -> Value {
    json!({
        "id": "v2.1",
        "status": "CURRENT",
        "version": MAX_VERSION.to_string(),
        "min_version": MIN_VERSION.to_string(),
        "updated": "2013-07-23T11:33:21Z",
        "links": [
            {"rel": "self", "href": format!("{}/compute/v2.1/", super::base_url(state))},
            {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}
        ],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}],
    })
}

async fn versions(State(s): State<AppState>) -> Json<Value> {
    Json(json!({"versions": [version_doc(&s)]}))
}

async fn version(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let v = negotiate(&headers).unwrap_or(MIN_VERSION);
    decorate(Json(json!({"version": version_doc(&s)})).into_response(), v)
}

/// A link to a compute resource.
pub fn link(state: &AppState, project: &str, path: &str) -> Value {
    json!([
        {"rel": "self", "href": format!("{}/compute/v2.1/{project}/{path}", super::base_url(state))},
        {"rel": "bookmark", "href": format!("{}/compute/{project}/{path}", super::base_url(state))}
    ])
}

/// An empty 202/204 answer.
pub fn empty(status: StatusCode) -> Response {
    (status, Body::empty()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_standard_header_wins_and_no_header_means_2_1() {
        assert_eq!(negotiate(&headers(&[])), Ok(Microversion(1)));
        assert_eq!(
            negotiate(&headers(&[("x-openstack-nova-api-version", "2.49")])),
            Ok(Microversion(49))
        );
        let both = headers(&[
            ("openstack-api-version", "volume 3.5, compute 2.70"),
            ("x-openstack-nova-api-version", "2.3"),
        ]);
        assert_eq!(negotiate(&both), Ok(Microversion(70)));
        assert_eq!(
            negotiate(&headers(&[("x-openstack-nova-api-version", "latest")])),
            Ok(MAX_VERSION)
        );
    }

    #[test]
    fn bad_versions_are_400_and_unsupported_ones_406() {
        assert_eq!(
            negotiate(&headers(&[("x-openstack-nova-api-version", "two")]))
                .unwrap_err()
                .0,
            400
        );
        let (status, msg) =
            negotiate(&headers(&[("x-openstack-nova-api-version", "2.999")])).unwrap_err();
        assert_eq!(status, 406);
        assert!(msg.contains("Minimum is 2.1 and maximum is 2.96"), "{msg}");
        assert_eq!(
            negotiate(&headers(&[("x-openstack-nova-api-version", "3.0")]))
                .unwrap_err()
                .0,
            406
        );
    }

    #[test]
    fn the_interface_limit_is_a_403_in_nova() {
        let e = Error::conflict(
            ConflictReason::InterfaceLimitReached,
            "VM a already has 5 network interfaces, the maximum is 5.",
        );
        assert_eq!(nova_fault(&e).0, 403);
        assert_eq!(nova_fault(&e).1, "forbidden");
        let e = Error::conflict(ConflictReason::VmMustBeStopped, "stop it");
        assert_eq!(nova_fault(&e).1, "conflictingRequest");
        let e = Error::not_found(Kind::Vm, "x");
        assert_eq!(nova_fault(&e).2, "Instance x could not be found.");
    }
}
