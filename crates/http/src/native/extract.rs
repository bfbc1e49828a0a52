//! Extractors of the native API: the authenticated caller, path ids, JSON
//! bodies with write options (`?dry_run=true`, `Idempotency-Key`), queries.
//! Every rejection is answered in the native error shape.

use super::error::ApiError;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use nicplane_domain::Error;
use nicplane_service::{Caller, WriteOptions};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// The authenticated caller (`Authorization: Bearer <token>` or `X-Auth-Token`).
pub struct Auth(pub Caller);

/// The token sent with a request, if any.
pub fn bearer(parts: &Parts) -> Option<String> {
    if let Some(v) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let s = v.to_str().ok()?;
        let (scheme, token) = s.split_once(' ')?;
        if scheme.eq_ignore_ascii_case("bearer") {
            return Some(token.trim().to_string());
        }
    }
    parts
        .headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(|| {
            Error::unauthenticated(
                "Log in first: send the token as 'Authorization: Bearer <token>'.",
            )
        })?;
        let caller = state.service.authenticate(&token).await?;
        crate::request_id::set_user(&format!("{} ({})", caller.user.name, caller.user.id));
        Ok(Auth(caller))
    }
}

/// Path parameters as strings; handlers parse ids with `parse_for_lookup`
/// so a malformed id is "not found" for the right kind of object.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for Path<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| ApiError(Error::invalid(format!("Bad path: {}", e.body_text()))))
    }
}

/// Query parameters; a bad one is a 400.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for Query<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded_like(q).map(Query)
    }
}

fn serde_urlencoded_like<T: DeserializeOwned>(q: &str) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{q}")
            .parse()
            .map_err(|_| ApiError(Error::invalid("The query string is malformed.")))?,
    )
    .map(|x| x.0)
    .map_err(|e| {
        ApiError(Error::invalid(format!(
            "Bad query parameter: {}",
            e.body_text()
        )))
    })
}

#[derive(serde::Deserialize, Default)]
struct DryRunQuery {
    #[serde(default)]
    dry_run: Option<String>,
}

/// A write: the parsed JSON body (an empty body reads as `{}`) and the write
/// options. The idempotency fingerprint covers method, path and body.
pub struct Write<T> {
    pub body: T,
    pub opts: WriteOptions,
}

/// Parse `?dry_run=`.
pub fn dry_run_of(query: Option<&str>) -> Result<bool, ApiError> {
    let q: DryRunQuery = serde_urlencoded_like(query.unwrap_or(""))?;
    match q.dry_run.as_deref() {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") | Some("") => Ok(true),
        Some(other) => Err(ApiError(Error::invalid_value(
            "dry_run",
            format!("'{other}' is not true or false."),
        ))),
    }
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Write<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let dry_run = dry_run_of(parts.uri.query())?;
        let key = parts
            .headers
            .get("idempotency-key")
            .map(|v| {
                v.to_str().map(|s| s.to_string()).map_err(|_| {
                    ApiError(Error::invalid_value("Idempotency-Key", "must be ASCII."))
                })
            })
            .transpose()?;
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|e| ApiError(Error::invalid(format!("Cannot read the body: {e}"))))?;
        let text: &[u8] = if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            b"{}"
        } else {
            &bytes
        };
        let parsed: T = serde_json::from_slice(text)
            .map_err(|e| ApiError(Error::invalid(crate::body_error_message(&e))))?;
        let idempotency = key.map(|k| {
            let mut h = Sha256::new();
            h.update(parts.method.as_str().as_bytes());
            h.update(b" ");
            h.update(parts.uri.path().as_bytes());
            h.update(b"\n");
            h.update(text);
            (k, hex::encode(h.finalize()))
        });
        Ok(Write {
            body: parsed,
            opts: WriteOptions {
                dry_run,
                idempotency,
                if_revision: None,
            },
        })
    }
}

/// A body-less write (DELETE, actions): only the write options.
pub struct WriteOpts(pub WriteOptions);

impl FromRequestParts<AppState> for WriteOpts {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, ApiError> {
        let dry_run = dry_run_of(parts.uri.query())?;
        let idempotency = match parts.headers.get("idempotency-key") {
            Some(v) => {
                let k = v.to_str().map_err(|_| {
                    ApiError(Error::invalid_value("Idempotency-Key", "must be ASCII."))
                })?;
                let fp = hex::encode(Sha256::digest(
                    format!("{} {}", parts.method, parts.uri.path()).as_bytes(),
                ));
                Some((k.to_string(), fp))
            }
            None => None,
        };
        Ok(WriteOpts(WriteOptions {
            dry_run,
            idempotency,
            if_revision: None,
        }))
    }
}
