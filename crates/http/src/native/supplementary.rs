//! Native endpoints: supplementary (VLAN) interfaces under their parent, and
//! a user's AK/SK credentials (used to sign requests to the Huawei listener).

use super::admin::project;
use super::error::ApiResult;
use super::extract::{Auth, Path, Query, Write, WriteOpts};
use super::{deleted, written, Page, PageQuery};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use nicplane_domain::ids::*;
use nicplane_domain::rules::Proof;
use nicplane_service::credential::{Credential, CredentialSpec};
use nicplane_service::supplementary::{
    SupplementaryAttach, SupplementaryFilter, SupplementaryInterface, SupplementaryPatch,
    SupplementarySpec, TagChange,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The supplementary interfaces of a parent interface.
#[utoipa::path(get, path = "/v1/projects/{project_id}/interfaces/{interface_id}/supplementary-interfaces",
    operation_id = "supplementary_list", tag = "supplementary-interfaces",
    params(("project_id" = String, Path), ("interface_id" = String, Path), PageQuery),
    responses((status = 200, body = Page<SupplementaryInterface>)))]
pub async fn supplementary_list(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, i)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Page<SupplementaryInterface>>> {
    let (_, limit) = q.request()?;
    let parent = InterfaceId::parse_for_lookup(&i)?;
    let p = project(&p)?;
    // A parent that does not exist (or is not the project's) is a 404.
    s.service.interface_get(&c, &p, parent).await?;
    let filter = SupplementaryFilter {
        parent_ids: vec![parent],
        ..Default::default()
    };
    let (items, more) = s
        .service
        .supplementary_list(&c, &p, filter, limit as usize, q.marker.clone())
        .await?;
    let next_marker = if more {
        items.last().map(|x| x.interface.id.to_string())
    } else {
        None
    };
    Ok(Json(Page { items, next_marker }))
}

/// Create a supplementary interface on a parent (elastic) interface: VLAN,
/// addresses and MAC are chosen when not given; the default security group
/// applies when none is given.
#[utoipa::path(post, path = "/v1/projects/{project_id}/interfaces/{interface_id}/supplementary-interfaces",
    operation_id = "supplementary_create", tag = "supplementary-interfaces",
    params(("project_id" = String, Path), ("interface_id" = String, Path)), request_body = SupplementarySpec,
    responses((status = 201, body = SupplementaryInterface), (status = 409, body = super::error::ErrorBody)))]
pub async fn supplementary_create(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, i)): Path<(String, String)>,
    w: Write<SupplementarySpec>,
) -> ApiResult<Response> {
    let r = s
        .service
        .supplementary_create(
            &c,
            &project(&p)?,
            InterfaceId::parse_for_lookup(&i)?,
            w.body,
            &w.opts,
        )
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::CREATED, r))
}

/// One supplementary interface.
#[utoipa::path(get, path = "/v1/projects/{project_id}/supplementary-interfaces/{id}",
    operation_id = "supplementary_get", tag = "supplementary-interfaces",
    params(("project_id" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = SupplementaryInterface)))]
pub async fn supplementary_get(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, i)): Path<(String, String)>,
) -> ApiResult<Json<SupplementaryInterface>> {
    Ok(Json(
        s.service
            .supplementary_get(&c, &project(&p)?, InterfaceId::parse_for_lookup(&i)?)
            .await?,
    ))
}

/// Change a supplementary interface's description, security groups or
/// allowed address pairs.
#[utoipa::path(patch, path = "/v1/projects/{project_id}/supplementary-interfaces/{id}",
    operation_id = "supplementary_update", tag = "supplementary-interfaces",
    params(("project_id" = String, Path), ("id" = String, Path)), request_body = SupplementaryPatch,
    responses((status = 200, body = SupplementaryInterface)))]
pub async fn supplementary_update(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, i)): Path<(String, String)>,
    w: Write<SupplementaryPatch>,
) -> ApiResult<Response> {
    let r = s
        .service
        .supplementary_update(
            &c,
            &project(&p)?,
            InterfaceId::parse_for_lookup(&i)?,
            w.body,
            &w.opts,
        )
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::OK, r))
}

/// Delete a supplementary interface; its addresses are released.
#[utoipa::path(delete, path = "/v1/projects/{project_id}/supplementary-interfaces/{id}",
    operation_id = "supplementary_delete", tag = "supplementary-interfaces",
    params(("project_id" = String, Path), ("id" = String, Path)), responses((status = 204)))]
pub async fn supplementary_delete(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, i)): Path<(String, String)>,
    WriteOpts(o): WriteOpts,
) -> ApiResult<Response> {
    s.service
        .supplementary_delete(&c, &project(&p)?, InterfaceId::parse_for_lookup(&i)?, &o)
        .await?;
    Ok(deleted(o.dry_run))
}

/// Attach an unbound supplementary interface to a parent interface.
#[utoipa::path(post, path = "/v1/projects/{project_id}/supplementary-interfaces/{id}/attach",
    operation_id = "supplementary_attach", tag = "supplementary-interfaces",
    params(("project_id" = String, Path), ("id" = String, Path)), request_body = SupplementaryAttach,
    responses((status = 200, body = SupplementaryInterface), (status = 409, body = super::error::ErrorBody)))]
pub async fn supplementary_attach(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, i)): Path<(String, String)>,
    w: Write<SupplementaryAttach>,
) -> ApiResult<Response> {
    let r = s
        .service
        .supplementary_attach(
            &c,
            &project(&p)?,
            InterfaceId::parse_for_lookup(&i)?,
            w.body,
            &w.opts,
        )
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::OK, r))
}

/// Detach a supplementary interface from its parent: it keeps its
/// addresses and MAC, and has no parent and no VLAN until attached again.
#[utoipa::path(post, path = "/v1/projects/{project_id}/supplementary-interfaces/{id}/detach",
    operation_id = "supplementary_detach", tag = "supplementary-interfaces",
    params(("project_id" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = SupplementaryInterface)))]
pub async fn supplementary_detach(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, i)): Path<(String, String)>,
    WriteOpts(o): WriteOpts,
) -> ApiResult<Response> {
    let r = s
        .service
        .supplementary_detach(&c, &project(&p)?, InterfaceId::parse_for_lookup(&i)?, &o)
        .await?;
    Ok(written(o.dry_run, StatusCode::OK, r))
}

/// Several supplementary interfaces to create on one parent, all or none.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplementaryBatch {
    /// How many to create, 1-20.
    pub count: u32,
    /// What each one is made of; VLAN ids and addresses are chosen for
    /// each, so a batch of more than one gives none.
    pub interface: SupplementarySpec,
}

/// Supplementary interfaces to move to the parent of the path.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplementaryMigrate {
    /// Supplementary interface ids; each keeps its VLAN id on the new parent
    /// (an unbound one gets the lowest free one).
    #[schema(value_type = Vec<String>)]
    pub ids: Vec<InterfaceId>,
}

/// The value of one tag.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagValue {
    /// Up to 255 letters, digits, '_', '-' or '.'; empty is allowed.
    #[serde(default)]
    pub value: String,
}

/// Supplementary interfaces written together.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SupplementaryItems {
    pub items: Vec<SupplementaryInterface>,
}

/// Create several supplementary interfaces on a parent interface in one
/// transaction (all or none), each with the lowest free VLAN and the next
/// free addresses.
#[utoipa::path(post, path = "/v1/projects/{project_id}/interfaces/{interface_id}/supplementary-interfaces/batch",
    operation_id = "supplementary_batch_create", tag = "supplementary-interfaces",
    params(("project_id" = String, Path), ("interface_id" = String, Path)), request_body = SupplementaryBatch,
    responses((status = 201, body = SupplementaryItems)))]
pub async fn supplementary_batch_create(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, i)): Path<(String, String)>,
    w: Write<SupplementaryBatch>,
) -> ApiResult<Response> {
    let items = s
        .service
        .supplementary_batch_create(
            &c,
            &project(&p)?,
            InterfaceId::parse_for_lookup(&i)?,
            w.body.interface,
            w.body.count,
            &w.opts,
        )
        .await?;
    Ok(written(
        w.opts.dry_run,
        StatusCode::CREATED,
        SupplementaryItems { items },
    ))
}

/// Move supplementary interfaces to the parent interface of the path, all
/// or none; a VLAN id already used there is a conflict.
#[utoipa::path(post, path = "/v1/projects/{project_id}/interfaces/{interface_id}/supplementary-interfaces/migrate",
    operation_id = "supplementary_migrate", tag = "supplementary-interfaces",
    params(("project_id" = String, Path), ("interface_id" = String, Path)), request_body = SupplementaryMigrate,
    responses((status = 200, body = SupplementaryItems)))]
pub async fn supplementary_migrate(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, i)): Path<(String, String)>,
    w: Write<SupplementaryMigrate>,
) -> ApiResult<Response> {
    let items = s
        .service
        .supplementary_migrate(
            &c,
            &project(&p)?,
            InterfaceId::parse_for_lookup(&i)?,
            w.body.ids,
            &w.opts,
        )
        .await?;
    Ok(written(
        w.opts.dry_run,
        StatusCode::OK,
        SupplementaryItems { items },
    ))
}

/// Add a tag to a supplementary interface, or change its value.
#[utoipa::path(put, path = "/v1/projects/{project_id}/supplementary-interfaces/{id}/tags/{key}",
    operation_id = "supplementary_tag_set", tag = "supplementary-interfaces",
    params(("project_id" = String, Path), ("id" = String, Path), ("key" = String, Path)),
    request_body = TagValue, responses((status = 200, body = SupplementaryInterface)))]
pub async fn supplementary_tag_set(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, i, key)): Path<(String, String, String)>,
    w: Write<TagValue>,
) -> ApiResult<Response> {
    let tag = nicplane_domain::model::ResourceTag {
        key,
        value: w.body.value,
    };
    let r = s
        .service
        .supplementary_tags_update(
            &c,
            &project(&p)?,
            InterfaceId::parse_for_lookup(&i)?,
            TagChange::Put(tag),
            &w.opts,
        )
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::OK, r))
}

/// Remove a tag from a supplementary interface; a key it does not carry is 404.
#[utoipa::path(delete, path = "/v1/projects/{project_id}/supplementary-interfaces/{id}/tags/{key}",
    operation_id = "supplementary_tag_delete", tag = "supplementary-interfaces",
    params(("project_id" = String, Path), ("id" = String, Path), ("key" = String, Path)),
    responses((status = 204)))]
pub async fn supplementary_tag_delete(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, i, key)): Path<(String, String, String)>,
    WriteOpts(o): WriteOpts,
) -> ApiResult<Response> {
    s.service
        .supplementary_tags_update(
            &c,
            &project(&p)?,
            InterfaceId::parse_for_lookup(&i)?,
            TagChange::Remove(key),
            &o,
        )
        .await?;
    Ok(deleted(o.dry_run))
}

/// Every tag key on the project's supplementary interfaces, with the values in use.
#[utoipa::path(get, path = "/v1/projects/{project_id}/supplementary-interface-tags",
    operation_id = "supplementary_tag_summary", tag = "supplementary-interfaces",
    params(("project_id" = String, Path)),
    responses((status = 200, body = BTreeMap<String, Vec<String>>)))]
pub async fn supplementary_tag_summary(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(p): Path<String>,
) -> ApiResult<Json<BTreeMap<String, BTreeSet<String>>>> {
    Ok(Json(
        s.service
            .supplementary_tag_summary(&c, &project(&p)?)
            .await?,
    ))
}

fn user(s: &str) -> nicplane_domain::Result<UserId> {
    UserId::parse_for_lookup(s)
}

/// A user's AK/SK credentials (without secrets).
#[utoipa::path(get, path = "/v1/users/{user_id}/credentials", operation_id = "credential_list", tag = "credentials",
    params(("user_id" = String, Path)), responses((status = 200, body = Vec<Credential>)))]
pub async fn credential_list(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(u): Path<String>,
) -> ApiResult<Json<Vec<Credential>>> {
    Ok(Json(s.service.credential_list(&c, user(&u)?).await?))
}

/// Create an AK/SK credential; the answer is the only time the secret is shown.
/// (The native API takes tokens only, so the caller logged in with a password.)
#[utoipa::path(post, path = "/v1/users/{user_id}/credentials", operation_id = "credential_create", tag = "credentials",
    params(("user_id" = String, Path)), request_body = CredentialSpec, responses((status = 201, body = Credential)))]
pub async fn credential_create(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(u): Path<String>,
    w: Write<CredentialSpec>,
) -> ApiResult<Response> {
    let r = s
        .service
        .credential_create(&c, Proof::Token, user(&u)?, w.body, &w.opts)
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::CREATED, r))
}

/// Delete (revoke) an AK/SK credential.
#[utoipa::path(delete, path = "/v1/users/{user_id}/credentials/{access_key}", operation_id = "credential_delete", tag = "credentials",
    params(("user_id" = String, Path), ("access_key" = String, Path)), responses((status = 204)))]
pub async fn credential_delete(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((u, access)): Path<(String, String)>,
    WriteOpts(o): WriteOpts,
) -> ApiResult<Response> {
    s.service
        .credential_delete(&c, Proof::Token, user(&u)?, &access, &o)
        .await?;
    Ok(deleted(o.dry_run))
}
