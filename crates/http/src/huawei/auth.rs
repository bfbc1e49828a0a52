//! Authentication of the Huawei listener, as a middleware on every route:
//! an `SDK-HMAC-SHA256` signature made with an AK/SK credential (verified
//! by [`super::signer`] with the credential's secret), or an `X-Auth-Token`
//! (a nicplane token, as IAM tokens are used with Huawei's APIs). Anything
//! else is a 401 in the gateway's error shape. The authenticated caller is
//! put in the request's extensions for [`HwCaller`].
//!
//! A refused signature is logged as a `nicplane::security` event
//! (`signature_refused`) with the request id, the access key's user when the
//! key exists, and the source address.
//!
//! Also here: the path project id check against `X-Project-Id`, and body
//! parsing with errors in the dialect's shape.

use super::error::{HwError, HwResult, Shape};
use super::signer::{self, SignedRequest};
use crate::request_id;
use crate::AppState;
use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use nicplane_domain::ids::ProjectId;
use nicplane_domain::model::now;
use nicplane_domain::rules::Proof;
use nicplane_domain::Error;
use nicplane_service::Caller;
use serde::de::DeserializeOwned;

/// Largest request body read (the SDK's bodies are a few kilobytes).
pub const MAX_BODY: usize = 1 << 20;

/// The authenticated caller of a Huawei request.
#[derive(Clone)]
pub struct HwCaller(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for HwCaller {
    type Rejection = HwError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, HwError> {
        parts.extensions.get::<HwCaller>().cloned().ok_or_else(|| {
            HwError::from(Error::unauthenticated("The request is not authenticated."))
        })
    }
}

/// How the caller of a Huawei request authenticated: a signature or a token.
#[derive(Clone, Copy)]
pub struct HwProof(pub Proof);

impl<S: Send + Sync> FromRequestParts<S> for HwProof {
    type Rejection = HwError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, HwError> {
        parts.extensions.get::<HwProof>().copied().ok_or_else(|| {
            HwError::from(Error::unauthenticated("The request is not authenticated."))
        })
    }
}

/// A 401 for a request that is neither signed nor carries a token.
fn refused(message: impl Into<String>) -> Response {
    HwError::from(Error::unauthenticated(message)).into_response()
}

/// A 401 for a refused signature, logged as a security event.
fn signature_refused(access: &str, message: String) -> Response {
    request_id::security_event(
        "signature_refused",
        &format!("access key {access}: {message}"),
    );
    refused(message)
}

/// Verify the signature (or token) of a request and remember the caller.
pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes: Bytes = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return HwError::from(Error::invalid(format!(
                "The request body is larger than {MAX_BODY} bytes or could not be read."
            )))
            .into_response()
        }
    };
    if let Err(e) = check_project_header(&parts) {
        return e.into_response();
    }
    let authorization = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let token = parts
        .headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string());
    let caller = match (authorization, token) {
        (Some(a), _) => {
            let auth = match signer::parse_authorization(&a) {
                Ok(x) => x,
                Err(r) => return signature_refused("-", r.0),
            };
            let (caller, secret) = match state.service.credential_authenticate(&auth.access).await {
                Ok(x) => x,
                Err(e @ Error::Unauthenticated { .. }) => {
                    return signature_refused(&auth.access, e.client_message())
                }
                Err(e) => return HwError::from(e).into_response(),
            };
            request_id::set_user(&format!("{} ({})", caller.user.name, caller.user.id));
            let header = |name: &str| {
                parts
                    .headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let signed = SignedRequest {
                method: parts.method.as_str(),
                path: parts.uri.path(),
                query: parts.uri.query().unwrap_or(""),
                header: &header,
                body: &bytes,
            };
            if let Err(r) = signer::verify(&signed, &auth, &secret, now()) {
                return signature_refused(&auth.access, r.0);
            }
            (caller, Proof::AccessKey)
        }
        (None, Some(t)) => match state.service.authenticate(&t).await {
            Ok(c) => {
                request_id::set_user(&format!("{} ({})", c.user.name, c.user.id));
                (c, Proof::Token)
            }
            Err(e) => return HwError::from(e).into_response(),
        },
        (None, None) => {
            return refused(
                "Sign the request with an AK/SK credential (SDK-HMAC-SHA256) or send X-Auth-Token.",
            )
        }
    };
    let (caller, proof) = caller;
    let mut req = Request::from_parts(parts, Body::from(bytes));
    req.extensions_mut().insert(HwCaller(caller));
    req.extensions_mut().insert(HwProof(proof));
    next.run(req).await
}

/// A path `/v1/{project_id}/...` or `/v3/{project_id}/...` names the same
/// project as `X-Project-Id`, when the client sends that header.
fn check_project_header(parts: &Parts) -> HwResult<()> {
    let Some(header) = parts
        .headers
        .get("x-project-id")
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(());
    };
    let mut segments = parts.uri.path().split('/').skip(1);
    let (Some(version), Some(project)) = (segments.next(), segments.next()) else {
        return Ok(());
    };
    if (version == "v1" || version == "v3")
        && project != "projects"
        && !project.eq_ignore_ascii_case(header.trim())
    {
        return Err(HwError::from(Error::NotFound {
            kind: nicplane_domain::Kind::Project,
            id: project.to_string(),
        }));
    }
    Ok(())
}

/// Parse a path project id; the SDK's unsubstituted `{project_id}` (sent
/// when no project was configured) is a 400 that says so.
pub fn project(s: &str, shape: Shape) -> HwResult<ProjectId> {
    if s == "{project_id}" {
        return Err(HwError {
            error: Error::invalid(
                "The URL has no project id: configure the credentials with a project id (BasicCredentials(ak, sk, project_id)) or a region.",
            ),
            shape,
        });
    }
    s.parse().map_err(|e| HwError { error: e, shape })
}

/// Parse a JSON body; an empty body reads as `{}`.
pub fn body<T: DeserializeOwned>(bytes: &[u8], shape: Shape) -> HwResult<T> {
    let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    serde_json::from_slice(text).map_err(|e| HwError {
        error: Error::invalid(crate::body_error_message(&e)),
        shape,
    })
}
