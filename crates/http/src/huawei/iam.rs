//! The IAM calls the SDK makes: `GET /v3/projects?name=<region>` (project
//! id discovery for region-configured clients) and the AK/SK credential
//! calls `POST/GET /v3.0/OS-CREDENTIAL/credentials` and
//! `DELETE /v3.0/OS-CREDENTIAL/credentials/{access_key}` (listing with an
//! `X-Auth-Token`, i.e. a nicplane token, or a signature; creating and
//! deleting with a token only, as Huawei IAM: a leaked key cannot mint keys).
//!
//! Regions: nicplane is one region. `name` selects the caller's project of
//! that name if there is one; any other name (a region id such as
//! `cn-north-4`) selects all the caller's projects, so a user with one
//! project gets exactly the one the SDK needs.

use super::auth::{body, HwCaller, HwProof};
use super::error::{HwResult, Shape};
use super::vpc::{query_pairs, values};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use nicplane_domain::ids::UserId;
use nicplane_domain::Error;
use nicplane_service::credential::{Credential, CredentialSpec};
use nicplane_service::WriteOptions;
use serde::Deserialize;
use serde_json::{json, Value};

/// `GET /v3/projects?name=`.
pub async fn projects(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    RawQuery(q): RawQuery,
) -> HwResult<Response> {
    let pairs = query_pairs(q.as_deref());
    let name = values(&pairs, "name").into_iter().next();
    let mut all = s.service.project_list(&c).await?;
    if let Some(n) = &name {
        if all.iter().any(|p| &p.name == n) {
            all.retain(|p| &p.name == n);
        }
    }
    let projects: Vec<Value> = all
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "name": p.name,
                "description": p.description,
                "domain_id": "default",
                "parent_id": "default",
                "is_domain": false,
                "enabled": true,
            })
        })
        .collect();
    Ok(Json(json!({"projects": projects, "links": {"self": "/v3/projects", "previous": null, "next": null}})).into_response())
}

fn credential_view(c: &Credential) -> Value {
    let mut v = json!({
        "access": c.access,
        "status": c.status,
        "user_id": c.user_id,
        "create_time": crate::timefmt::format(c.created_at, crate::timefmt::MICROS),
        "description": c.description,
    });
    if let Some(secret) = &c.secret {
        v["secret"] = json!(secret);
    }
    v
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialIn {
    user_id: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialBody {
    credential: CredentialIn,
}

fn user(s: &str) -> Result<UserId, Error> {
    UserId::parse_for_lookup(s)
}

/// `POST /v3.0/OS-CREDENTIAL/credentials` → 201 with the secret.
pub async fn credential_create(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    HwProof(proof): HwProof,
    b: Bytes,
) -> HwResult<Response> {
    let body: CredentialBody = body(&b, Shape::Vpc)?;
    let spec = CredentialSpec {
        description: body.credential.description.unwrap_or_default(),
    };
    let cred = s
        .service
        .credential_create(
            &c,
            proof,
            user(&body.credential.user_id)?,
            spec,
            &WriteOptions::default(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"credential": credential_view(&cred)})),
    )
        .into_response())
}

/// `GET /v3.0/OS-CREDENTIAL/credentials?user_id=` (the caller's by default).
pub async fn credential_list(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    RawQuery(q): RawQuery,
) -> HwResult<Response> {
    let pairs = query_pairs(q.as_deref());
    let uid = match values(&pairs, "user_id").first() {
        Some(u) => user(u)?,
        None => c.user.id,
    };
    let list = s.service.credential_list(&c, uid).await?;
    let creds: Vec<Value> = list.iter().map(credential_view).collect();
    Ok(Json(json!({"credentials": creds})).into_response())
}

/// `DELETE /v3.0/OS-CREDENTIAL/credentials/{access_key}` (the caller's own).
pub async fn credential_delete(
    State(s): State<AppState>,
    HwCaller(c): HwCaller,
    HwProof(proof): HwProof,
    Path(access): Path<String>,
) -> HwResult<Response> {
    let uid = c.user.id;
    s.service
        .credential_delete(&c, proof, uid, &access, &WriteOptions::default())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
