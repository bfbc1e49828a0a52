//! Keystone v3, the part clients need to log in and manage users: the
//! version documents, `POST /v3/auth/tokens` with password authentication
//! (user and project by name or id, domain `Default`), token validation
//! (`GET`/`HEAD`) and revocation (`DELETE`), users (`GET/POST /v3/users`,
//! `GET/PATCH/DELETE /v3/users/{id}`, `POST /v3/users/{id}/password`), and a
//! catalog whose endpoints are nicplane's own URLs. Errors use Keystone's
//! `{"error": {"code", "title", "message"}}`.

use super::{base_url, os_time_micro, www_authenticate, REGION};
use crate::AppState;
use crate::RequestOrigin;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use nicplane_domain::ids::UserId;
use nicplane_domain::model::User;
use nicplane_domain::types::Role;
use nicplane_domain::Error;
use nicplane_service::openstack_support::{Ref, ScopedLogin};
use nicplane_service::user::{PasswordChange, UserPatch};
use nicplane_service::{Caller, WriteOptions};
use serde_json::{json, Value};
use sha2::Digest;

/// The one domain nicplane has.
pub const DOMAIN_ID: &str = "default";
/// Its name.
pub const DOMAIN_NAME: &str = "Default";
/// The Identity API version nicplane answers as.
const IDENTITY_VERSION: &str = "v3.14";

/// A Keystone error.
pub struct KeystoneError {
    pub(crate) error: Error,
    pub(crate) www: String,
}

/// The one function mapping nicplane's error to Keystone's shape.
pub(crate) fn keystone_error(state: &AppState, error: Error) -> KeystoneError {
    KeystoneError {
        error,
        www: www_authenticate(state),
    }
}

/// The one mapping from the domain error to Keystone's status, title and
/// message (`{"error": {"code", "title", "message"}}`). Every variant is
/// named; an internal error's detail is never sent.
pub fn keystone_fault(e: &Error) -> (u16, &'static str, String) {
    match e {
        Error::NotFound { .. } => (404, "Not Found", e.client_message()),
        Error::InvalidRequest { .. } | Error::InvalidValue { .. } => {
            (400, "Bad Request", e.client_message())
        }
        Error::Conflict { .. } | Error::CapacityExhausted { .. } => {
            (409, "Conflict", e.client_message())
        }
        Error::Forbidden { .. } => (403, "Forbidden", e.client_message()),
        // Keystone says no more than this to an unauthenticated caller.
        Error::Unauthenticated { .. } => (
            401,
            "Unauthorized",
            "The request you have made requires authentication.".to_string(),
        ),
        Error::Unavailable { .. } => (503, "Service Unavailable", e.client_message()),
        Error::TooManyRequests { .. } => (429, "Too Many Requests", e.client_message()),
        Error::PreconditionFailed { .. } => (412, "Precondition Failed", e.client_message()),
        Error::Internal { .. } => (500, "Internal Server Error", e.client_message()),
    }
}

impl IntoResponse for KeystoneError {
    fn into_response(self) -> Response {
        crate::request_id::log_failure(&self.error, "keystone");
        let (status, title, message) = keystone_fault(&self.error);
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (
            code,
            Json(json!({"error": {"code": status, "title": title, "message": message}})),
        )
            .into_response();
        if let Some(secs) = self.error.retry_after() {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        if status == 401 {
            if let Ok(v) = HeaderValue::from_str(&self.www) {
                resp.headers_mut()
                    .insert(axum::http::header::WWW_AUTHENTICATE, v);
            }
        }
        resp
    }
}

/// Routes under `/identity`.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/identity", get(versions))
        .route("/identity/", get(versions))
        .route("/identity/v3", get(version))
        .route("/identity/v3/", get(version))
        .route(
            "/identity/v3/auth/tokens",
            post(token_issue)
                .get(token_validate)
                .head(token_check)
                .delete(token_revoke),
        )
        .route("/identity/v3/users", get(user_list).post(user_create))
        .route(
            "/identity/v3/users/{user_id}",
            get(user_get).patch(user_update).delete(user_delete),
        )
        .route("/identity/v3/users/{user_id}/password", post(user_password))
        .with_state(state)
}

fn version_entry(state: &AppState) -> Value {
    json!({
        "id": IDENTITY_VERSION,
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{}/identity/v3/", base_url(state))}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    })
}

async fn versions(State(s): State<AppState>) -> Response {
    let mut resp = (
        StatusCode::MULTIPLE_CHOICES,
        Json(json!({"versions": {"values": [version_entry(&s)]}})),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{}/identity/v3/", base_url(&s))) {
        resp.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    resp
}

async fn version(State(s): State<AppState>) -> Json<Value> {
    Json(json!({"version": version_entry(&s)}))
}

/// A user or project reference: id, or name within the Default domain.
fn reference(v: &Value, what: &str) -> Result<Ref, Error> {
    if let Some(id) = v.get("id").and_then(Value::as_str) {
        return Ok(Ref::Id(id.to_string()));
    }
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::invalid(format!("The {what} needs an id or a name.")))?;
    let domain = v.get("domain");
    let in_default = match domain {
        None => what == "project",
        Some(d) => {
            d.get("id").and_then(Value::as_str) == Some(DOMAIN_ID)
                || d.get("name").and_then(Value::as_str) == Some(DOMAIN_NAME)
        }
    };
    if !in_default {
        return Err(Error::unauthenticated(format!(
            "The {what} {name} is not in the Default domain."
        )));
    }
    Ok(Ref::Name(name.to_string()))
}

/// `POST /v3/auth/tokens`: password authentication.
async fn token_issue(
    State(s): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    body: Bytes,
) -> Result<Response, KeystoneError> {
    let err = |e| keystone_error(&s, e);
    let v: Value = serde_json::from_slice(&body).map_err(|e| {
        err(Error::invalid(format!(
            "The request body is not valid JSON: {}.",
            crate::json_error_reason(&e)
        )))
    })?;
    let identity = v
        .pointer("/auth/identity")
        .ok_or_else(|| err(Error::invalid("Expecting to find identity in auth.")))?;
    let methods: Vec<&str> = identity
        .get("methods")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if methods != ["password"] {
        return Err(err(Error::unauthenticated(
            "Only the password method is supported.",
        )));
    }
    let user = identity
        .pointer("/password/user")
        .ok_or_else(|| err(Error::invalid("Expecting to find user in password.")))?;
    let password = user
        .get("password")
        .and_then(Value::as_str)
        .ok_or_else(|| err(Error::invalid("Expecting to find password in user.")))?;
    let user_ref = reference(user, "user").map_err(err)?;
    let scope = v.pointer("/auth/scope");
    let project_ref = match scope {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "unscoped" => None,
        Some(sc) => match sc.get("project") {
            Some(p) => Some(reference(p, "project").map_err(err)?),
            None if sc.get("domain").is_some() || sc.get("system").is_some() => None,
            None => return Err(err(Error::invalid("The scope must name a project."))),
        },
    };
    let login = s
        .service
        .identity_login(user_ref, password, project_ref, &origin)
        .await
        .map_err(err)?;
    let body = token_body(&s, &login, v.pointer("/auth/nocatalog").is_none());
    let mut resp = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(h) = HeaderValue::from_str(&login.login.token) {
        resp.headers_mut().insert("x-subject-token", h);
    }
    Ok(resp)
}

/// The caller of a Keystone request: its `X-Auth-Token`.
pub(crate) async fn caller(s: &AppState, headers: &HeaderMap) -> Result<Caller, KeystoneError> {
    let own = headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            keystone_error(
                s,
                Error::unauthenticated("The request you have made requires authentication."),
            )
        })?;
    s.service
        .authenticate(own)
        .await
        .map_err(|e| keystone_error(s, e))
}

/// The token a validation or revocation is about: `X-Subject-Token`.
fn subject(s: &AppState, headers: &HeaderMap) -> Result<String, KeystoneError> {
    headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            keystone_error(
                s,
                Error::invalid("Expecting to find the X-Subject-Token header."),
            )
        })
}

/// `GET /v3/auth/tokens`: validate `X-Subject-Token` and show it (404 when
/// it is not valid, as Keystone answers).
async fn token_validate(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, KeystoneError> {
    let c = caller(&s, &headers).await?;
    let subject = subject(&s, &headers)?;
    let login = s
        .service
        .identity_token_show(&c, &subject)
        .await
        .map_err(|e| keystone_error(&s, e))?;
    let nocatalog = q
        .as_deref()
        .unwrap_or("")
        .split('&')
        .any(|p| p.starts_with("nocatalog"));
    let mut resp = Json(token_body(&s, &login, !nocatalog)).into_response();
    if let Ok(h) = HeaderValue::from_str(&subject) {
        resp.headers_mut().insert("x-subject-token", h);
    }
    Ok(resp)
}

/// `HEAD /v3/auth/tokens`: 200 when `X-Subject-Token` is valid, else 404.
async fn token_check(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<StatusCode, KeystoneError> {
    let c = caller(&s, &headers).await?;
    let subject = subject(&s, &headers)?;
    s.service
        .identity_token_show(&c, &subject)
        .await
        .map_err(|e| keystone_error(&s, e))?;
    Ok(StatusCode::OK)
}

/// `DELETE /v3/auth/tokens`: revoke the token in `X-Subject-Token`.
async fn token_revoke(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<StatusCode, KeystoneError> {
    let c = caller(&s, &headers).await?;
    let subject = subject(&s, &headers)?;
    s.service
        .identity_token_show(&c, &subject)
        .await
        .map_err(|e| keystone_error(&s, e))?;
    s.service
        .auth_logout(&subject)
        .await
        .map_err(|e| keystone_error(&s, e))?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user as Keystone shows it.
fn user_view(s: &AppState, u: &User) -> Value {
    json!({
        "id": u.id.to_string(),
        "name": u.name,
        "domain_id": DOMAIN_ID,
        "enabled": u.enabled,
        "password_expires_at": null,
        "options": {},
        "links": {"self": format!("{}/identity/v3/users/{}", base_url(s), u.id)},
    })
}

fn user_id(s: &AppState, id: &str) -> Result<UserId, KeystoneError> {
    UserId::parse_for_lookup(id).map_err(|e| keystone_error(s, e))
}

/// The `user` object of a body.
fn user_object(
    s: &AppState,
    body: &Bytes,
) -> Result<serde_json::Map<String, Value>, KeystoneError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        keystone_error(
            s,
            Error::invalid(format!(
                "The request body is not valid JSON: {}.",
                crate::json_error_reason(&e)
            )),
        )
    })?;
    match v.get("user") {
        Some(Value::Object(m)) => Ok(m.clone()),
        _ => Err(keystone_error(
            s,
            Error::invalid("Expecting to find user in the request body."),
        )),
    }
}

/// An optional string field of a user (or project) object.
pub(crate) fn text_field(
    s: &AppState,
    m: &serde_json::Map<String, Value>,
    k: &str,
) -> Result<Option<String>, KeystoneError> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(t)) => Ok(Some(t.clone())),
        Some(_) => Err(keystone_error(
            s,
            Error::invalid_value(k, "must be a string."),
        )),
    }
}

/// An optional boolean field of a user (or project) object.
pub(crate) fn bool_field(
    s: &AppState,
    m: &serde_json::Map<String, Value>,
    k: &str,
) -> Result<Option<bool>, KeystoneError> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(keystone_error(
            s,
            Error::invalid_value(k, "must be true or false."),
        )),
    }
}

/// Fields of a user object nicplane does not keep: refused rather than
/// silently dropped, except the domain (always Default).
fn refuse_other_fields(
    s: &AppState,
    m: &serde_json::Map<String, Value>,
    allowed: &[&str],
) -> Result<(), KeystoneError> {
    for (k, v) in m {
        if allowed.contains(&k.as_str()) {
            continue;
        }
        if k == "domain_id" && (v.as_str() == Some(DOMAIN_ID) || v.is_null()) {
            continue;
        }
        return Err(keystone_error(
            s,
            Error::invalid(format!("The user attribute {k} is not supported.")),
        ));
    }
    Ok(())
}

/// `GET /v3/users` (cloud admin), optionally `?name=`.
async fn user_list(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, KeystoneError> {
    let c = caller(&s, &headers).await?;
    let pairs = super::query_pairs(q.as_deref());
    let name = pairs
        .iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.clone());
    let enabled = pairs
        .iter()
        .find(|(k, _)| k == "enabled")
        .map(|(_, v)| v.clone());
    let users = s
        .service
        .user_list(&c)
        .await
        .map_err(|e| keystone_error(&s, e))?;
    let list: Vec<Value> = users
        .iter()
        .filter(|u| name.as_ref().is_none_or(|n| &u.name == n))
        .filter(|u| {
            enabled
                .as_deref()
                .is_none_or(|e| u.enabled == matches!(e, "true" | "True" | "1"))
        })
        .map(|u| user_view(&s, u))
        .collect();
    Ok(Json(json!({
        "users": list,
        "links": {"self": format!("{}/identity/v3/users", base_url(&s)), "previous": null, "next": null},
    })))
}

/// `POST /v3/users` (cloud admin).
async fn user_create(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, KeystoneError> {
    let c = caller(&s, &headers).await?;
    let m = user_object(&s, &body)?;
    refuse_other_fields(&s, &m, &["name", "password", "enabled"])?;
    let name = text_field(&s, &m, "name")?
        .ok_or_else(|| keystone_error(&s, Error::invalid("Expecting to find name in user.")))?;
    let password = text_field(&s, &m, "password")?
        .ok_or_else(|| keystone_error(&s, Error::invalid("Expecting to find password in user.")))?;
    let enabled = bool_field(&s, &m, "enabled")?;
    let opts = WriteOptions::default();
    let mut u = s
        .service
        .user_create(&c, &name, &password, false, &opts)
        .await
        .map_err(|e| keystone_error(&s, e))?;
    if enabled == Some(false) {
        let patch = UserPatch {
            enabled: Some(false),
            password: None,
        };
        u = s
            .service
            .user_update(&c, u.id, patch, &opts)
            .await
            .map_err(|e| keystone_error(&s, e))?;
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({"user": user_view(&s, &u)})),
    )
        .into_response())
}

/// `GET /v3/users/{id}` (cloud admin, or the user).
async fn user_get(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, KeystoneError> {
    let c = caller(&s, &headers).await?;
    let u = s
        .service
        .user_get(&c, user_id(&s, &id)?)
        .await
        .map_err(|e| keystone_error(&s, e))?;
    Ok(Json(json!({"user": user_view(&s, &u)})))
}

/// `PATCH /v3/users/{id}` (cloud admin): `enabled` and `password`.
async fn user_update(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, KeystoneError> {
    let c = caller(&s, &headers).await?;
    let id = user_id(&s, &id)?;
    let m = user_object(&s, &body)?;
    refuse_other_fields(&s, &m, &["enabled", "password", "id"])?;
    let patch = UserPatch {
        enabled: bool_field(&s, &m, "enabled")?,
        password: text_field(&s, &m, "password")?,
    };
    let u = s
        .service
        .user_update(&c, id, patch, &WriteOptions::default())
        .await
        .map_err(|e| keystone_error(&s, e))?;
    Ok(Json(json!({"user": user_view(&s, &u)})))
}

/// `DELETE /v3/users/{id}` (cloud admin).
async fn user_delete(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, KeystoneError> {
    let c = caller(&s, &headers).await?;
    s.service
        .user_delete(&c, user_id(&s, &id)?, &WriteOptions::default())
        .await
        .map_err(|e| keystone_error(&s, e))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v3/users/{id}/password`: `{"user": {"password", "original_password"}}`.
async fn user_password(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, KeystoneError> {
    let c = caller(&s, &headers).await?;
    let id = user_id(&s, &id)?;
    let m = user_object(&s, &body)?;
    refuse_other_fields(&s, &m, &["password", "original_password"])?;
    let change = PasswordChange {
        password: text_field(&s, &m, "password")?.ok_or_else(|| {
            keystone_error(&s, Error::invalid("Expecting to find password in user."))
        })?,
        original_password: text_field(&s, &m, "original_password")?,
    };
    s.service
        .user_password_change(&c, id, change, &origin, false)
        .await
        .map_err(|e| keystone_error(&s, e))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Keystone role names for a nicplane role: Tenant Administrator holds
/// `admin`, `member` and `reader`; Power User `member` and `reader`; Reader
/// only `reader`.
pub fn role_names(role: Role) -> &'static [&'static str] {
    match role {
        Role::Admin => &["admin", "member", "reader"],
        Role::PowerUser => &["member", "reader"],
        Role::Reader => &["reader"],
    }
}

/// Stable role ids (Keystone shows ids next to the names).
fn role_id(name: &str) -> String {
    super::stable_uuid(&format!("nicplane-role-{name}"))
        .simple()
        .to_string()
}

fn endpoint(service: &str, url: String) -> Value {
    json!({
        "id": super::stable_uuid(&url).simple().to_string(),
        "interface": "public",
        "region": REGION,
        "region_id": REGION,
        "url": url,
        "service": service,
    })
}

/// The service catalog: nicplane's own URLs under the public base URL.
pub fn catalog(state: &AppState) -> Value {
    let b = base_url(state);
    let entry = |ty: &str, name: &str, url: String| {
        json!({
            "type": ty,
            "name": name,
            "id": super::stable_uuid(ty).simple().to_string(),
            "endpoints": [endpoint(ty, url)],
        })
    };
    json!([
        entry("compute", "nova", format!("{b}/compute/v2.1")),
        entry("network", "neutron", format!("{b}/network")),
        entry("identity", "keystone", format!("{b}/identity")),
        entry("image", "glance", format!("{b}/image")),
    ])
}

fn token_body(state: &AppState, l: &ScopedLogin, with_catalog: bool) -> Value {
    let domain = json!({"id": DOMAIN_ID, "name": DOMAIN_NAME});
    // The same token shows the same body on create and on every validation:
    // issued one lifetime before it expires, and an audit id derived from the
    // token (domain-separated from the stored hash, which it does not reveal).
    let issued = l.login.expires_at - state.service.config().token_ttl.as_secs() as i64;
    let audit = hex::encode(sha2::Sha256::digest(
        format!("nicplane-audit-id:{}", l.login.token).as_bytes(),
    ));
    let mut token = json!({
        "methods": ["password"],
        "expires_at": os_time_micro(l.login.expires_at),
        "issued_at": os_time_micro(issued),
        "audit_ids": [audit[..22].to_string()],
        "user": {
            "id": l.login.user.id.to_string(),
            "name": l.login.user.name,
            "domain": domain,
            "password_expires_at": null,
        },
    });
    if let Some(p) = &l.project {
        token["project"] = json!({"id": p.id.to_string(), "name": p.name, "domain": domain});
        token["is_domain"] = json!(false);
        let roles: Vec<Value> = l
            .role
            .map(role_names)
            .unwrap_or(&[])
            .iter()
            .map(|n| json!({"id": role_id(n), "name": n}))
            .collect();
        token["roles"] = json!(roles);
        if with_catalog {
            token["catalog"] = catalog(state);
        }
    }
    json!({ "token": token })
}
