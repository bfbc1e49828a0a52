//! Neutron (network) under `/network`: the version documents, then under
//! `/network/v2.0` networks and subnets, ports (with tags), floating IPs,
//! security groups and rules, trunks and the extension list.
//!
//! Every request under `/network/v2.0/` goes through [`dispatch`], which
//! drops a `.json` suffix and routes the rest. Errors use the `NeutronError`
//! envelope, produced by [`neutron_error`] alone. Lists share one pipeline
//! ([`query`]): equality and OR filters, `fields=`, sorting and
//! `limit`/`marker`/`page_reverse` pagination with `*_links`. Request bodies
//! are typed structs decoded by [`body`], which refuses unknown attributes
//! as Neutron does.

pub mod body;
pub mod floatingips;
pub mod networks;
pub mod ports;
pub mod query;
pub mod quotas;
pub mod routers;
pub mod security_groups;
pub mod tags;
pub mod trunks;

use super::{scoped, Scoped};
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use nicplane_domain::model::{RevisionPrecondition, Revisioned};
use nicplane_domain::{ConflictReason, Error, Kind};
use nicplane_service::WriteOptions;
use serde_json::{json, Value};
use tower::ServiceExt;

/// A Neutron error: nicplane's error in the `NeutronError` envelope,
/// optionally with Neutron's own exception type and wording.
#[derive(Debug)]
pub struct NeutronError {
    pub error: Error,
    overrides: Option<(String, String)>,
}

impl From<Error> for NeutronError {
    fn from(error: Error) -> Self {
        NeutronError {
            error,
            overrides: None,
        }
    }
}

impl NeutronError {
    /// Keep the status, use Neutron's exception type and message.
    pub fn with(mut self, ty: &str, message: String) -> NeutronError {
        self.overrides = Some((ty.to_string(), message));
        self
    }
}

/// Result of a Neutron handler.
pub type NeutronResult<T> = Result<T, NeutronError>;

/// Neutron's name for a kind of object.
fn resource_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Interface => "Port",
        Kind::PublicIp => "Floating IP",
        Kind::Network => "Network",
        Kind::Subnet => "Subnet",
        Kind::SecurityGroup => "Security group",
        Kind::SecurityGroupRule => "Security group rule",
        Kind::Vm => "Device",
        Kind::DataCenter
        | Kind::Project
        | Kind::User
        | Kind::PublicIpPool
        | Kind::Credential
        | Kind::Job
        | Kind::Token
        | Kind::Flavor
        | Kind::Tag
        | Kind::Router
        | Kind::Host => kind.label(),
    }
}

/// The stem of Neutron's exception name for a label: each word capitalised,
/// spaces dropped ("Security group rule" → `SecurityGroupRule`, as in
/// Neutron's `SecurityGroupRuleNotFound`).
fn exception_stem(label: &str) -> String {
    label
        .split(' ')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

/// The one function mapping nicplane's error to Neutron's status, exception
/// type and message. Limits and exhaustion are 409, as Neutron's
/// `OverQuota` and `IpAddressGenerationFailure`.
pub fn neutron_error(e: &Error) -> (u16, String, String) {
    let status = match e {
        Error::Conflict {
            reason: ConflictReason::NoExternalGateway,
            ..
        } => 404,
        _ => e.http_status(),
    };
    let (ty, message) = match e {
        Error::NotFound { kind, id } => {
            let label = resource_label(*kind);
            (
                format!("{}NotFound", exception_stem(label)),
                format!("{label} {id} could not be found."),
            )
        }
        Error::InvalidRequest { message } => ("InvalidInput".into(), message.clone()),
        Error::InvalidValue { .. } => ("InvalidInput".into(), e.to_string()),
        Error::Conflict { reason, message } => {
            let ty = match reason {
                ConflictReason::InterfaceLimitReached => "OverQuota",
                ConflictReason::AddressInUse => "IpAddressAlreadyAllocated",
                ConflictReason::MacInUse => "MacAddressInUse",
                ConflictReason::PublicIpExists => "FloatingIPPortAlreadyAssociated",
                ConflictReason::NetworkNotRoutable => "ExternalGatewayForFloatingIPNotFound",
                ConflictReason::VlanInUse => "DuplicateSubPort",
                ConflictReason::OverQuota => "OverQuota",
                ConflictReason::RuleExists => "SecurityGroupRuleExists",
                ConflictReason::RouterInUse => "RouterInUse",
                ConflictReason::RouterInterfaceInUseByFloatingIp => {
                    "RouterInterfaceInUseByFloatingIP"
                }
                ConflictReason::NoExternalGateway => "ExternalGatewayForFloatingIPNotFound",
                ConflictReason::NetworkInUse => "NetworkInUse",
                ConflictReason::PrimaryInterface
                | ConflictReason::InUse
                | ConflictReason::VmMustBeStopped
                | ConflictReason::WrongState
                | ConflictReason::IdempotencyKeyReused
                | ConflictReason::NameTaken
                | ConflictReason::CredentialLimitReached => "Conflict",
            };
            (ty.into(), message.clone())
        }
        Error::Forbidden { message } => ("PolicyNotAuthorized".into(), message.clone()),
        Error::Unauthenticated { .. } => (
            "HTTPUnauthorized".into(),
            "The request you have made requires authentication.".into(),
        ),
        Error::CapacityExhausted { message } => {
            ("IpAddressGenerationFailure".into(), message.clone())
        }
        Error::Unavailable { message } => ("ServiceUnavailable".into(), message.clone()),
        Error::TooManyRequests { message, .. } => ("OverLimit".into(), message.clone()),
        Error::PreconditionFailed { message } => {
            ("RevisionNumberConstraintFailed".into(), message.clone())
        }
        Error::Internal { .. } => (
            "HTTPInternalServerError".into(),
            "Request Failed: internal server error while processing your request.".into(),
        ),
    };
    (status, ty, message)
}

impl IntoResponse for NeutronError {
    fn into_response(self) -> Response {
        let (status, ty, message) = neutron_error(&self.error);
        crate::request_id::log_failure(&self.error, "neutron");
        let (ty, message) = self.overrides.unwrap_or((ty, message));
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            code,
            Json(json!({"NeutronError": {"type": ty, "message": message, "detail": ""}})),
        )
            .into_response()
    }
}

/// The authenticated caller of a network request.
pub struct NeutronAuth(pub Scoped);

impl FromRequestParts<AppState> for NeutronAuth {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match scoped(state, parts).await {
            Ok(s) => Ok(NeutronAuth(s)),
            Err(e) => {
                let mut r = NeutronError::from(e).into_response();
                if r.status() == StatusCode::UNAUTHORIZED {
                    if let Ok(v) = HeaderValue::from_str(&super::www_authenticate(state)) {
                        r.headers_mut()
                            .insert(axum::http::header::WWW_AUTHENTICATE, v);
                    }
                }
                Err(r)
            }
        }
    }
}

/// A JSON request body.
pub struct NeutronJson(pub Value);

impl axum::extract::FromRequest<AppState> for NeutronJson {
    type Rejection = NeutronError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, NeutronError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            NeutronError::from(Error::invalid(format!("Cannot read the body: {e}")))
        })?;
        serde_json::from_slice(&bytes)
            .map(NeutronJson)
            .map_err(|_| NeutronError::from(Error::invalid("Malformed request body")))
    }
}

/// The object under `key` of a request body (`{"port": {...}}`), to be
/// decoded into the resource's typed body by [`body::decode`].
pub fn body_object<'a>(
    body: &'a Value,
    key: &str,
) -> NeutronResult<&'a serde_json::Map<String, Value>> {
    body.get(key).and_then(Value::as_object).ok_or_else(|| {
        NeutronError::from(Error::invalid(format!(
            "Resource body required: give a '{key}' object."
        )))
    })
}

/// `project_id`/`tenant_id` of a request body must name the caller's
/// project (null counts as given).
pub fn check_owner_of(
    project_id: &Option<Value>,
    tenant_id: &Option<Value>,
    a: &Scoped,
) -> NeutronResult<()> {
    for (k, v) in [("project_id", project_id), ("tenant_id", tenant_id)] {
        if let Some(v) = v {
            if v.as_str() != Some(a.project.as_str()) {
                return Err(NeutronError::from(Error::forbidden(format!(
                    "{k} {v} is not the project of the token; nicplane creates resources in the token's project only."
                ))));
            }
        }
    }
    Ok(())
}

/// The caller acting on the object `id` (Neutron names objects by id
/// alone): in its token's project, or, for the cloud admin, in the project
/// that owns the object. The service decides (`Service::object_project`).
pub async fn on_object(
    s: &AppState,
    a: Scoped,
    what: Revisioned,
    id: &str,
) -> NeutronResult<Scoped> {
    let project = s
        .service
        .object_project(&a.caller, &a.project, what, id)
        .await?;
    Ok(Scoped {
        caller: a.caller,
        project,
    })
}

/// The caller creating in the project a body names (`project_id` /
/// `tenant_id`), or in its token's project: the service decides
/// (`Service::create_project_named`: another project is the cloud admin's
/// alone).
pub fn for_create(
    s: &AppState,
    a: &Scoped,
    project_id: &Option<Value>,
    tenant_id: &Option<Value>,
) -> NeutronResult<Scoped> {
    let text = |v: &Option<Value>| {
        v.as_ref().map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    let (p, t) = (text(project_id), text(tenant_id));
    let project =
        s.service
            .create_project_named(&a.caller, &a.project, p.as_deref(), t.as_deref())?;
    Ok(Scoped {
        caller: a.caller.clone(),
        project,
    })
}

/// Neutron's `If-Match: revision_number=N` (other entity tags are ignored,
/// as Neutron does): the write goes ahead only while the object is at
/// revision N, else 412 `RevisionNumberConstraintFailed`.
pub struct IfMatch(pub Option<u64>);

impl FromRequestParts<AppState> for IfMatch {
    type Rejection = NeutronError;
    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, NeutronError> {
        let bad = |msg: &str| {
            NeutronError::from(Error::invalid(format!("Bad if-match request: {msg}.")))
                .with("BadRequest", format!("Bad if-match request: {msg}."))
        };
        let mut found = None;
        for value in parts.headers.get_all(axum::http::header::IF_MATCH) {
            let value = value
                .to_str()
                .map_err(|_| bad("The If-Match header is not ASCII"))?;
            for tag in value.split(',') {
                let tag = tag.trim();
                let tag = tag.strip_prefix("W/").unwrap_or(tag).trim_matches('"');
                let Some(n) = tag.strip_prefix("revision_number=") else {
                    continue;
                };
                if found.is_some() {
                    return Err(bad("Multiple revision_number etags are not supported."));
                }
                found = Some(n.parse::<u64>().map_err(|_| {
                    bad("Revision number etag must be in the format of revision_number=<int>")
                })?);
            }
        }
        Ok(IfMatch(found))
    }
}

impl IfMatch {
    /// The write options of a change of object `id`.
    pub fn on(&self, what: Revisioned, id: impl std::fmt::Display) -> WriteOptions {
        WriteOptions::if_revision(self.0.map(|expected| RevisionPrecondition {
            what,
            id: id.to_string(),
            expected,
        }))
    }
}

/// Put each object's `revision_number` and (but for ports, which carry
/// their own) `tags` into its view (and each rule's revision into a
/// security group's `security_group_rules`).
pub async fn with_revisions(
    s: &AppState,
    a: &Scoped,
    what: Revisioned,
    items: &mut [Value],
) -> NeutronResult<()> {
    let ids = |items: &[Value]| -> Vec<String> {
        items
            .iter()
            .filter_map(|v| v["id"].as_str().map(str::to_string))
            .collect()
    };
    let revs = s
        .service
        .revisions(&a.caller, &a.project, what, ids(items))
        .await?;
    let tagged = !matches!(what, Revisioned::Port | Revisioned::SecurityGroupRule);
    let tags = if tagged {
        s.service
            .neutron_tags(&a.caller, &a.project, what, ids(items))
            .await?
    } else {
        Default::default()
    };
    for v in items.iter_mut() {
        if let Some(n) = v["id"].as_str().and_then(|id| revs.get(id)) {
            v["revision_number"] = json!(n);
        }
        if tagged && v.get("tags").is_some() {
            let t = v["id"].as_str().and_then(|id| tags.get(id)).cloned();
            v["tags"] = json!(t.unwrap_or_default());
        }
    }
    if what == Revisioned::Port {
        ports::with_bindings(s, a, items).await?;
    }
    if what == Revisioned::SecurityGroup {
        // Every group's rules in one query.
        let rule_ids: Vec<String> = items
            .iter()
            .flat_map(|v| {
                v["security_group_rules"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|r| r["id"].as_str().map(str::to_string))
            .collect();
        let revs = s
            .service
            .revisions(
                &a.caller,
                &a.project,
                Revisioned::SecurityGroupRule,
                rule_ids,
            )
            .await?;
        for rule in items.iter_mut().flat_map(|v| {
            v.get_mut("security_group_rules")
                .and_then(Value::as_array_mut)
                .map(|r| r.iter_mut())
                .into_iter()
                .flatten()
        }) {
            if let Some(n) = rule["id"].as_str().and_then(|id| revs.get(id)) {
                rule["revision_number"] = json!(n);
            }
        }
    }
    Ok(())
}

/// [`with_revisions`] for one object's view.
pub async fn with_revision(
    s: &AppState,
    a: &Scoped,
    what: Revisioned,
    mut item: Value,
) -> NeutronResult<Value> {
    with_revisions(s, a, what, std::slice::from_mut(&mut item)).await?;
    Ok(item)
}

/// An empty 204.
pub fn no_content() -> Response {
    (StatusCode::NO_CONTENT, Body::empty()).into_response()
}

/// A 201 with a body.
pub fn created(body: Value) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

/// Routes under `/network`.
pub fn routes(state: AppState) -> Router {
    let inner = crate::metrics::inner_route(api(state.clone()), "/network/v2.0");
    let dispatch_inner = move |req: Request| {
        let inner = inner.clone();
        async move { dispatch(inner, req).await }
    };
    Router::new()
        .route("/network", get(versions))
        .route("/network/", get(versions))
        .route("/network/v2.0", get(resources))
        .route("/network/v2.0/", get(resources))
        .route("/network/v2.0/{*rest}", axum::routing::any(dispatch_inner))
        .with_state(state)
}

async fn dispatch(inner: Router, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let path = parts
        .uri
        .path()
        .strip_prefix("/network/v2.0")
        .unwrap_or("/");
    let path = path.strip_suffix(".json").unwrap_or(path).to_string();
    let mut new_path = if path.is_empty() {
        "/".to_string()
    } else {
        path
    };
    if let Some(q) = parts.uri.query() {
        new_path.push('?');
        new_path.push_str(q);
    }
    match new_path.parse() {
        Ok(uri) => parts.uri = uri,
        Err(_) => return not_found().await,
    }
    // A fresh set of extensions: the outer route's path parameters must not
    // reach the inner router.
    let mut ext = axum::http::Extensions::new();
    if let Some(id) = parts.extensions.get::<crate::request_id::RequestId>() {
        ext.insert(id.clone());
    }
    parts.extensions = ext;
    let fields = if parts.method == axum::http::Method::GET {
        query::show_fields(parts.uri.query())
    } else {
        Vec::new()
    };
    let resp = match inner.oneshot(Request::from_parts(parts, body)).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    if fields.is_empty() || resp.status() != StatusCode::OK {
        return resp;
    }
    project_show(resp, &fields).await
}

/// Largest show body read for `fields=` (a single resource is a few KiB;
/// the handlers' bodies are in memory, so reading them cannot fail below it).
const SHOW_BODY_MAX: usize = 16 << 20;

/// `fields=` on a show (`{"network": {...}}`): keep only the named
/// attributes of the one resource, as Neutron does. Lists project their
/// items themselves ([`query::ListQuery`]) and are left as they are.
async fn project_show(resp: Response, fields: &[String]) -> Response {
    let (parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, SHOW_BODY_MAX).await else {
        let body = json!({"NeutronError": {"type": "ServiceUnavailable", "message": "The response could not be read; try again.", "detail": ""}});
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    };
    let projected = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(mut outer)) if outer.len() == 1 => {
            let key = outer.keys().next().cloned().unwrap_or_default();
            match outer.remove(&key) {
                Some(Value::Object(inner)) => {
                    let kept: serde_json::Map<String, Value> = inner
                        .into_iter()
                        .filter(|(k, _)| fields.contains(k))
                        .collect();
                    Some(json!({ key: kept }))
                }
                _ => None,
            }
        }
        _ => None,
    };
    match projected {
        Some(v) => {
            let mut r = Json(v).into_response();
            for (name, value) in parts.headers.iter() {
                if name != axum::http::header::CONTENT_LENGTH {
                    r.headers_mut().insert(name.clone(), value.clone());
                }
            }
            r
        }
        None => Response::from_parts(parts, axum::body::Body::from(bytes)),
    }
}

async fn not_found() -> Response {
    let body = json!({"NeutronError": {"type": "HTTPNotFound", "message": "The resource could not be found.", "detail": ""}});
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

async fn not_allowed() -> Response {
    let body = json!({"NeutronError": {"type": "HTTPMethodNotAllowed", "message": "The method is not allowed for this resource.", "detail": ""}});
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

/// The tag routes of one resource (`tags.rs`).
fn tag_routes(base: &str, t: tags::Tagged) -> Router<AppState> {
    type One = axum::extract::Path<String>;
    type Two = axum::extract::Path<(String, String)>;
    Router::new()
        .route(
            &format!("{base}/{{id}}/tags"),
            get(move |a: NeutronAuth, s: State<AppState>, p: One| tags::list(t, a, s, p))
                .put(
                    move |a: NeutronAuth, s: State<AppState>, p: One, b: NeutronJson| {
                        tags::replace(t, a, s, p, b)
                    },
                )
                .delete(move |a: NeutronAuth, s: State<AppState>, p: One| tags::clear(t, a, s, p)),
        )
        .route(
            &format!("{base}/{{id}}/tags/{{tag}}"),
            get(move |a: NeutronAuth, s: State<AppState>, p: Two| tags::check(t, a, s, p))
                .put(move |a: NeutronAuth, s: State<AppState>, p: Two| tags::add(t, a, s, p))
                .delete(move |a: NeutronAuth, s: State<AppState>, p: Two| tags::remove(t, a, s, p)),
        )
}

/// The network API proper (paths relative to `/network/v2.0`).
fn api(state: AppState) -> Router {
    Router::new()
        .route(
            "/networks",
            get(networks::network_list).post(networks::network_create),
        )
        .route(
            "/networks/{id}",
            get(networks::network_show)
                .put(networks::network_update)
                .delete(networks::network_delete),
        )
        .route(
            "/subnets",
            get(networks::subnet_list).post(networks::subnet_create),
        )
        .route(
            "/subnets/{id}",
            get(networks::subnet_show)
                .put(networks::subnet_update)
                .delete(networks::subnet_delete),
        )
        .route("/ports", get(ports::list).post(ports::create))
        .route(
            "/ports/{id}",
            get(ports::show).put(ports::update).delete(ports::delete),
        )
        .route(
            "/ports/{id}/tags",
            get(ports::tags_list)
                .put(ports::tags_replace)
                .delete(ports::tags_clear),
        )
        .route(
            "/ports/{id}/tags/{tag}",
            get(ports::tag_check)
                .put(ports::tag_add)
                .delete(ports::tag_remove),
        )
        .route(
            "/floatingips",
            get(floatingips::list).post(floatingips::create),
        )
        .route(
            "/floatingips/{id}",
            get(floatingips::show)
                .put(floatingips::update)
                .delete(floatingips::delete),
        )
        .route(
            "/security-groups",
            get(security_groups::group_list).post(security_groups::group_create),
        )
        .route(
            "/security-groups/{id}",
            get(security_groups::group_show)
                .put(security_groups::group_update)
                .delete(security_groups::group_delete),
        )
        .route(
            "/security-group-rules",
            get(security_groups::rule_list).post(security_groups::rule_create),
        )
        .route(
            "/security-group-rules/{id}",
            get(security_groups::rule_show).delete(security_groups::rule_delete),
        )
        .route("/routers", get(routers::list).post(routers::create))
        .route(
            "/routers/{id}",
            get(routers::show)
                .put(routers::update)
                .delete(routers::delete),
        )
        .route(
            "/routers/{id}/add_router_interface",
            put(routers::add_interface),
        )
        .route(
            "/routers/{id}/remove_router_interface",
            put(routers::remove_interface),
        )
        .route("/trunks", get(trunks::list).post(trunks::create))
        .route(
            "/trunks/{id}",
            get(trunks::show).put(trunks::update).delete(trunks::delete),
        )
        .route("/trunks/{id}/add_subports", put(trunks::add_subports))
        .route("/trunks/{id}/remove_subports", put(trunks::remove_subports))
        .route("/trunks/{id}/get_subports", get(trunks::get_subports))
        .route("/quotas", get(quotas::list))
        .route("/quotas/tenant", get(quotas::tenant))
        .route(
            "/quotas/{id}",
            get(quotas::show).put(quotas::update).delete(quotas::delete),
        )
        .route("/quotas/{id}/details", get(quotas::details))
        .route("/quotas/{id}/default", get(quotas::defaults))
        .merge(tag_routes("/networks", tags::NETWORK))
        .merge(tag_routes("/subnets", tags::SUBNET))
        .merge(tag_routes("/security-groups", tags::SECURITY_GROUP))
        .merge(tag_routes("/floatingips", tags::FLOATING_IP))
        .merge(tag_routes("/trunks", tags::TRUNK))
        .merge(tag_routes("/routers", tags::ROUTER))
        .route("/extensions", get(extension_list))
        .route("/extensions/{alias}", get(extension_show))
        .route("/availability_zones", get(networks::availability_zones))
        .route("/agents", get(agent_list))
        .fallback(not_found)
        .method_not_allowed_fallback(not_allowed)
        .with_state(state)
}

async fn versions(State(s): State<AppState>) -> Json<Value> {
    Json(json!({"versions": [{
        "id": "v2.0", "status": "CURRENT",
        "links": [{"rel": "self", "href": format!("{}/network/v2.0/", super::base_url(&s))}],
    }]}))
}

async fn resources(State(s): State<AppState>) -> Json<Value> {
    let b = super::base_url(&s);
    let list: Vec<Value> = [
        ("network", "networks"), ("subnet", "subnets"), ("port", "ports"), ("floatingip", "floatingips"),
        ("security_group", "security-groups"), ("security_group_rule", "security-group-rules"), ("trunk", "trunks"),
        ("router", "routers"),
    ]
    .iter()
    .map(|(name, coll)| json!({"name": name, "collection": coll, "links": [{"rel": "self", "href": format!("{b}/network/v2.0/{coll}")}]}))
    .collect();
    Json(json!({ "resources": list }))
}

/// The extensions nicplane implements: (alias, name, description).
pub const EXTENSIONS: &[(&str, &str, &str)] = &[
    (
        "binding",
        "Port Binding",
        "Expose port bindings of a virtual port to external application",
    ),
    (
        "security-group",
        "security-group",
        "The security groups extension.",
    ),
    ("port-security", "Port Security", "Provides port security."),
    (
        "extra_dhcp_opt",
        "Neutron Extra DHCP options",
        "Extra options configuration for DHCP. For example PXE boot options to DHCP clients can be specified (e.g. tftp-server, server-ip-address, bootfile-name)",
    ),
    (
        "allowed-address-pairs",
        "Allowed Address Pairs",
        "Provides allowed address pairs.",
    ),
    (
        "external-net",
        "Neutron external network",
        "Adds external network attribute to network resource.",
    ),
    ("subnet-external-network", "Subnet External Network", "Informs if the subnet is associated to an external network."),
    (
        "availability_zone",
        "Availability Zone",
        "The availability zone extension (a data center is a zone).",
    ),
    (
        "network_availability_zone",
        "Network Availability Zone",
        "Availability zone support for network.",
    ),
    (
        "trunk",
        "Trunk Extension",
        "Provides support for trunk ports (nicplane supplementary interfaces).",
    ),
    (
        "trunk-details",
        "Trunk port details",
        "Expose trunk port details.",
    ),
    (
        "standard-attr-revisions",
        "Resource revision numbers",
        "This extension will display the revision number of neutron resources.",
    ),
    (
        "revision-if-match",
        "If-Match constraints based on revision_number",
        "Extension indicating that If-Match based on revision_number is supported.",
    ),
    (
        "fip-port-details",
        "Floating IP Port Details Extension",
        "Add port_details attribute to Floating IP resource",
    ),
    (
        "tag",
        "Tag support",
        "Enables to set tag on resources.",
    ),
    (
        "ip-substring-filtering",
        "IP address substring filtering",
        "Provides IP address substring filtering when listing ports",
    ),
    (
        "standard-attr-tag",
        "Tag support for resources with standard attribute",
        "Enables to set tag on ports.",
    ),
    (
        "standard-attr-description",
        "standard-attr-description",
        "Extension to add descriptions to standard attributes.",
    ),
    (
        "standard-attr-timestamp",
        "Resource timestamps",
        "Adds created_at and updated_at fields to all Neutron resources.",
    ),
    (
        "project-id",
        "project_id field enabled",
        "Extension that indicates that project_id field is enabled.",
    ),
    (
        "pagination",
        "Pagination support",
        "Extension that indicates that pagination is enabled.",
    ),
    (
        "sorting",
        "Sorting support",
        "Extension that indicates that sorting is enabled.",
    ),
    (
        "quotas",
        "Quota management support",
        "Expose functions for quotas management per project.",
    ),
    (
        "quota_details",
        "Quota details management support",
        "Expose functions for quotas usage statistics per project.",
    ),
    ("router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway."),
    ("ext-gw-mode", "Neutron L3 Configurable external gateway mode", "Extension of the router abstraction for specifying whether SNAT should occur on the external gateway"),
    (
        "filter-validation",
        "Filter parameters validation",
        "Unknown filters are refused with 400.",
    ),
];

/// `GET /agents`: nicplane runs no Neutron agents (and does not claim the
/// `agent` extension), so the list is empty for every caller, as Neutron's
/// is for a caller the policy shows no agent.
async fn agent_list(_a: NeutronAuth) -> Json<Value> {
    Json(json!({"agents": []}))
}

fn extension_view(e: &(&str, &str, &str)) -> Value {
    json!({"alias": e.0, "name": e.1, "description": e.2, "updated": "2024-01-01T00:00:00-00:00", "links": []})
}

async fn extension_list(
    _a: NeutronAuth,
    uri: axum::http::Uri,
    State(s): State<AppState>,
) -> NeutronResult<Json<Value>> {
    let items: Vec<Value> = EXTENSIONS.iter().map(extension_view).collect();
    let q = query::ListQuery::parse(
        uri.query(),
        &["alias", "name", "description", "updated", "links"],
    )?;
    Ok(Json(q.apply(items, "extensions", &super::base_url(&s))?))
}

async fn extension_show(
    _a: NeutronAuth,
    axum::extract::Path(alias): axum::extract::Path<String>,
) -> Response {
    match EXTENSIONS.iter().find(|e| e.0 == alias) {
        Some(e) => Json(json!({"extension": extension_view(e)})).into_response(),
        None => {
            let body = json!({"NeutronError": {"type": "ExtensionNotFound", "message": format!("Extension with alias {alias} does not exist"), "detail": ""}});
            (StatusCode::NOT_FOUND, Json(body)).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_types_are_neutrons_exception_names() {
        let cases = [
            (
                Kind::SecurityGroup,
                "SecurityGroupNotFound",
                "Security group",
            ),
            (
                Kind::SecurityGroupRule,
                "SecurityGroupRuleNotFound",
                "Security group rule",
            ),
            (Kind::PublicIp, "FloatingIPNotFound", "Floating IP"),
            (Kind::Interface, "PortNotFound", "Port"),
        ];
        for (kind, ty, label) in cases {
            let (status, t, message) = neutron_error(&Error::not_found(kind, "x"));
            assert_eq!((status, t.as_str()), (404, ty));
            assert_eq!(message, format!("{label} x could not be found."));
        }
    }
}
