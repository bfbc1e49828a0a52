//! Native endpoints: login, data centers, public IP pools, users, projects, members.

use super::error::ApiResult;
use super::extract::{bearer, Auth, Path, Write, WriteOpts};
use super::{deleted, written};
use crate::{AppState, RequestOrigin};
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use ipnet::IpNet;
use nicplane_domain::ids::*;
use nicplane_domain::model::*;
use nicplane_domain::types::Role;
use nicplane_domain::Error;
use nicplane_service::admin::PoolTarget;
use nicplane_service::auth::Login;
use nicplane_service::external_network::{ExternalNetworkPatch, ExternalNetworkSpec};
use nicplane_service::user::{PasswordChange, UserPatch};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// Log in with a user name and password; returns a bearer token. Repeated
/// failures of a user name or source address are answered 429 with
/// `Retry-After` (see docs/security.md).
#[utoipa::path(post, path = "/v1/auth/login", operation_id = "auth_login", tag = "auth",
    request_body = LoginRequest, responses((status = 200, body = Login), (status = 401, body = super::error::ErrorBody),
    (status = 429, body = super::error::ErrorBody)))]
pub async fn auth_login(
    State(s): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    body: Write<LoginRequest>,
) -> ApiResult<Json<Login>> {
    Ok(Json(
        s.service
            .auth_login(&body.body.username, &body.body.password, &origin)
            .await?,
    ))
}

/// Change your own password (the current one is required). Your other
/// tokens are revoked; this one keeps working.
#[utoipa::path(post, path = "/v1/auth/password", operation_id = "auth_password_change", tag = "auth",
    request_body = PasswordChange, responses((status = 204), (status = 400, body = super::error::ErrorBody),
    (status = 401, body = super::error::ErrorBody)))]
pub async fn auth_password_change(
    State(s): State<AppState>,
    Auth(c): Auth,
    RequestOrigin(origin): RequestOrigin,
    w: Write<PasswordChange>,
) -> ApiResult<Response> {
    let id = c.user.id;
    s.service
        .user_password_change(&c, id, w.body, &origin, w.opts.dry_run)
        .await?;
    Ok(super::deleted(w.opts.dry_run))
}

/// Revoke the token of this request.
#[utoipa::path(post, path = "/v1/auth/logout", operation_id = "auth_logout", tag = "auth",
    responses((status = 204)))]
pub async fn auth_logout(
    State(s): State<AppState>,
    req: axum::extract::Request,
) -> ApiResult<StatusCode> {
    let (mut parts, _) = req.into_parts();
    let Auth(_) = Auth::from_request_parts(&mut parts, &s).await?;
    if let Some(t) = bearer(&parts) {
        s.service.auth_logout(&t).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WhoAmI {
    pub user: User,
    pub memberships: Vec<Membership>,
}

/// The caller and their roles.
#[utoipa::path(get, path = "/v1/auth/whoami", operation_id = "auth_whoami", tag = "auth",
    responses((status = 200, body = WhoAmI)))]
pub async fn auth_whoami(State(s): State<AppState>, Auth(c): Auth) -> ApiResult<Json<WhoAmI>> {
    let (user, memberships) = s.service.auth_whoami(&c).await?;
    Ok(Json(WhoAmI { user, memberships }))
}

/// Data centers.
#[utoipa::path(get, path = "/v1/data-centers", operation_id = "data_center_list", tag = "admin",
    responses((status = 200, body = Vec<DataCenter>)))]
pub async fn data_center_list(
    State(s): State<AppState>,
    Auth(c): Auth,
) -> ApiResult<Json<Vec<DataCenter>>> {
    Ok(Json(s.service.data_center_list(&c).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NameRequest {
    pub name: String,
}

/// Create a data center (cloud admin).
#[utoipa::path(post, path = "/v1/data-centers", operation_id = "data_center_create", tag = "admin",
    request_body = NameRequest, responses((status = 201, body = DataCenter)))]
pub async fn data_center_create(
    State(s): State<AppState>,
    Auth(c): Auth,
    w: Write<NameRequest>,
) -> ApiResult<Response> {
    let dc = s
        .service
        .data_center_create(&c, &w.body.name, &w.opts)
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::CREATED, dc))
}

/// One data center.
#[utoipa::path(get, path = "/v1/data-centers/{data_center_id}", operation_id = "data_center_get", tag = "admin",
    params(("data_center_id" = String, Path)), responses((status = 200, body = DataCenter)))]
pub async fn data_center_get(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<DataCenter>> {
    Ok(Json(
        s.service
            .data_center_get(&c, DataCenterId::parse_for_lookup(&id)?)
            .await?,
    ))
}

/// Public IP pools.
#[utoipa::path(get, path = "/v1/public-ip-pools", operation_id = "pool_list", tag = "admin",
    responses((status = 200, body = Vec<PublicIpPool>)))]
pub async fn pool_list(
    State(s): State<AppState>,
    Auth(c): Auth,
) -> ApiResult<Json<Vec<PublicIpPool>>> {
    Ok(Json(s.service.pool_list(&c).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolRequest {
    pub name: String,
    /// The data center: the pool goes to its default external network
    /// unless `external_network_id` names one (of that data center).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub data_center_id: Option<DataCenterId>,
    /// The external network the pool belongs to.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub external_network_id: Option<ExternalNetworkId>,
    #[schema(value_type = String)]
    pub cidr: IpNet,
}

/// Create a public IP pool of an external network (cloud admin).
#[utoipa::path(post, path = "/v1/public-ip-pools", operation_id = "pool_create", tag = "admin",
    request_body = PoolRequest, responses((status = 201, body = PublicIpPool)))]
pub async fn pool_create(
    State(s): State<AppState>,
    Auth(c): Auth,
    w: Write<PoolRequest>,
) -> ApiResult<Response> {
    let b = &w.body;
    let target = PoolTarget {
        external_network_id: b.external_network_id,
        data_center_id: b.data_center_id,
    };
    let p = s
        .service
        .pool_create(&c, target, &b.name, b.cidr, &w.opts)
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::CREATED, p))
}

/// Delete a public IP pool none of whose addresses is held (cloud admin).
#[utoipa::path(delete, path = "/v1/public-ip-pools/{pool_id}", operation_id = "pool_delete", tag = "admin",
    params(("pool_id" = String, Path)), responses((status = 204)))]
pub async fn pool_delete(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<String>,
    WriteOpts(o): WriteOpts,
) -> ApiResult<Response> {
    s.service
        .pool_delete(&c, PoolId::parse_for_lookup(&id)?, &o)
        .await?;
    Ok(deleted(o.dry_run))
}

/// External networks: every data center's public IP pools, grouped (every
/// signed-in user sees them).
#[utoipa::path(get, path = "/v1/external-networks", operation_id = "external_network_list", tag = "admin",
    responses((status = 200, body = Vec<ExternalNetwork>)))]
pub async fn external_network_list(
    State(s): State<AppState>,
    Auth(c): Auth,
) -> ApiResult<Json<Vec<ExternalNetwork>>> {
    Ok(Json(s.service.external_network_list(&c).await?))
}

/// Create an external network in a data center (cloud admin).
#[utoipa::path(post, path = "/v1/external-networks", operation_id = "external_network_create", tag = "admin",
    request_body = ExternalNetworkSpec, responses((status = 201, body = ExternalNetwork)))]
pub async fn external_network_create(
    State(s): State<AppState>,
    Auth(c): Auth,
    w: Write<ExternalNetworkSpec>,
) -> ApiResult<Response> {
    let n = s
        .service
        .external_network_create(&c, None, w.body.clone(), &w.opts)
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::CREATED, n))
}

/// One external network.
#[utoipa::path(get, path = "/v1/external-networks/{external_network_id}", operation_id = "external_network_get", tag = "admin",
    params(("external_network_id" = String, Path)), responses((status = 200, body = ExternalNetwork)))]
pub async fn external_network_get(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ExternalNetwork>> {
    Ok(Json(
        s.service
            .external_network_get(&c, ExternalNetworkId::parse_for_lookup(&id)?)
            .await?,
    ))
}

/// Rename or re-describe an external network (cloud admin).
#[utoipa::path(patch, path = "/v1/external-networks/{external_network_id}", operation_id = "external_network_update", tag = "admin",
    params(("external_network_id" = String, Path)), request_body = ExternalNetworkPatch,
    responses((status = 200, body = ExternalNetwork)))]
pub async fn external_network_update(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<String>,
    w: Write<ExternalNetworkPatch>,
) -> ApiResult<Response> {
    let n = s
        .service
        .external_network_update(
            &c,
            ExternalNetworkId::parse_for_lookup(&id)?,
            w.body.clone(),
            &w.opts,
        )
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::OK, n))
}

/// Delete an external network with its pools and its public IPs that are
/// on no interface; refused while router gateways or public IPs on
/// interfaces use it (cloud admin).
#[utoipa::path(delete, path = "/v1/external-networks/{external_network_id}", operation_id = "external_network_delete", tag = "admin",
    params(("external_network_id" = String, Path)), responses((status = 204)))]
pub async fn external_network_delete(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<String>,
    WriteOpts(o): WriteOpts,
) -> ApiResult<Response> {
    s.service
        .external_network_delete(&c, ExternalNetworkId::parse_for_lookup(&id)?, &o)
        .await?;
    Ok(deleted(o.dry_run))
}

/// Users (cloud admin).
#[utoipa::path(get, path = "/v1/users", operation_id = "user_list", tag = "admin",
    responses((status = 200, body = Vec<User>)))]
pub async fn user_list(State(s): State<AppState>, Auth(c): Auth) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(s.service.user_list(&c).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserRequest {
    pub name: String,
    pub password: String,
    #[serde(default)]
    pub is_cloud_admin: bool,
}

/// Create a user (cloud admin).
#[utoipa::path(post, path = "/v1/users", operation_id = "user_create", tag = "admin",
    request_body = UserRequest, responses((status = 201, body = User)))]
pub async fn user_create(
    State(s): State<AppState>,
    Auth(c): Auth,
    w: Write<UserRequest>,
) -> ApiResult<Response> {
    let b = &w.body;
    let u = s
        .service
        .user_create(&c, &b.name, &b.password, b.is_cloud_admin, &w.opts)
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::CREATED, u))
}

/// One user (the cloud admin, or the user themselves).
#[utoipa::path(get, path = "/v1/users/{user_id}", operation_id = "user_get", tag = "admin",
    params(("user_id" = String, Path)), responses((status = 200, body = User)))]
pub async fn user_get(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<User>> {
    Ok(Json(
        s.service
            .user_get(&c, UserId::parse_for_lookup(&id)?)
            .await?,
    ))
}

/// Disable or re-enable a user, or reset their password (cloud admin). A
/// disabled user's tokens and access keys stop working at once; a reset
/// revokes their tokens. The last enabled cloud admin cannot be disabled.
#[utoipa::path(patch, path = "/v1/users/{user_id}", operation_id = "user_update", tag = "admin",
    params(("user_id" = String, Path)), request_body = UserPatch,
    responses((status = 200, body = User), (status = 409, body = super::error::ErrorBody)))]
pub async fn user_update(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<String>,
    w: Write<UserPatch>,
) -> ApiResult<Response> {
    let u = s
        .service
        .user_update(&c, UserId::parse_for_lookup(&id)?, w.body, &w.opts)
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::OK, u))
}

/// Delete a user with their memberships, tokens and access keys (cloud
/// admin). The last enabled cloud admin cannot be deleted.
#[utoipa::path(delete, path = "/v1/users/{user_id}", operation_id = "user_delete", tag = "admin",
    params(("user_id" = String, Path)), responses((status = 204), (status = 409, body = super::error::ErrorBody)))]
pub async fn user_delete(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<String>,
    WriteOpts(o): WriteOpts,
) -> ApiResult<Response> {
    s.service
        .user_delete(&c, UserId::parse_for_lookup(&id)?, &o)
        .await?;
    Ok(super::deleted(o.dry_run))
}

/// Set a user's password: your own with `original_password`, anyone's
/// without it for the cloud admin. The user's other tokens are revoked.
#[utoipa::path(post, path = "/v1/users/{user_id}/password", operation_id = "user_password_change", tag = "admin",
    params(("user_id" = String, Path)), request_body = PasswordChange,
    responses((status = 204), (status = 400, body = super::error::ErrorBody)))]
pub async fn user_password_change(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<String>,
    RequestOrigin(origin): RequestOrigin,
    w: Write<PasswordChange>,
) -> ApiResult<Response> {
    s.service
        .user_password_change(
            &c,
            UserId::parse_for_lookup(&id)?,
            w.body,
            &origin,
            w.opts.dry_run,
        )
        .await?;
    Ok(super::deleted(w.opts.dry_run))
}

/// Projects the caller belongs to (all, for the cloud admin).
#[utoipa::path(get, path = "/v1/projects", operation_id = "project_list", tag = "admin",
    responses((status = 200, body = Vec<Project>)))]
pub async fn project_list(
    State(s): State<AppState>,
    Auth(c): Auth,
) -> ApiResult<Json<Vec<Project>>> {
    Ok(Json(s.service.project_list(&c).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectRequest {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// Create a project (cloud admin); it gets a default security group and a
/// Default Network in every data center.
#[utoipa::path(post, path = "/v1/projects", operation_id = "project_create", tag = "admin",
    request_body = ProjectRequest, responses((status = 201, body = Project)))]
pub async fn project_create(
    State(s): State<AppState>,
    Auth(c): Auth,
    w: Write<ProjectRequest>,
) -> ApiResult<Response> {
    let p = s
        .service
        .project_create(&c, &w.body.name, &w.body.description, &w.opts)
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::CREATED, p))
}

/// One project.
#[utoipa::path(get, path = "/v1/projects/{project_id}", operation_id = "project_get", tag = "admin",
    params(("project_id" = String, Path)), responses((status = 200, body = Project)))]
pub async fn project_get(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Project>> {
    Ok(Json(
        s.service
            .project_get(&c, &ProjectId::parse_for_lookup(&id)?)
            .await?,
    ))
}

/// Rename or describe a project (cloud admin). The cloud admin's project
/// `admin` keeps its name.
#[utoipa::path(patch, path = "/v1/projects/{project_id}", operation_id = "project_update", tag = "admin",
    params(("project_id" = String, Path)), request_body = nicplane_service::project::ProjectPatch,
    responses((status = 200, body = Project), (status = 409, body = super::error::ErrorBody)))]
pub async fn project_update(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<String>,
    w: Write<nicplane_service::project::ProjectPatch>,
) -> ApiResult<Response> {
    let p = s
        .service
        .project_update(&c, &ProjectId::parse_for_lookup(&id)?, w.body, &w.opts)
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::OK, p))
}

/// Delete a project (cloud admin): refused (409) while it holds anything but
/// its Default Networks and default security group (VMs, interfaces, public
/// IPs, routers, trunks, networks, security groups); those go with it, and
/// so do its memberships and the tokens scoped to it. The cloud admin's
/// project `admin` is never deleted.
#[utoipa::path(delete, path = "/v1/projects/{project_id}", operation_id = "project_delete", tag = "admin",
    params(("project_id" = String, Path)), responses((status = 204), (status = 409, body = super::error::ErrorBody)))]
pub async fn project_delete(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<String>,
    WriteOpts(o): WriteOpts,
) -> ApiResult<Response> {
    s.service
        .project_delete(&c, &ProjectId::parse_for_lookup(&id)?, &o)
        .await?;
    Ok(super::deleted(o.dry_run))
}

/// Members of a project and their roles.
#[utoipa::path(get, path = "/v1/projects/{project_id}/members", operation_id = "member_list", tag = "admin",
    params(("project_id" = String, Path)), responses((status = 200, body = Vec<Membership>)))]
pub async fn member_list(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Membership>>> {
    Ok(Json(
        s.service
            .member_list(&c, &ProjectId::parse_for_lookup(&id)?)
            .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    pub role: Role,
}

/// Give a user a role in the project (Tenant Administrator).
#[utoipa::path(put, path = "/v1/projects/{project_id}/members/{user_id}", operation_id = "member_set", tag = "admin",
    params(("project_id" = String, Path), ("user_id" = String, Path)), request_body = RoleRequest,
    responses((status = 200, body = Membership)))]
pub async fn member_set(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, u)): Path<(String, String)>,
    w: Write<RoleRequest>,
) -> ApiResult<Response> {
    let m = s
        .service
        .member_set(
            &c,
            &ProjectId::parse_for_lookup(&p)?,
            UserId::parse_for_lookup(&u)?,
            w.body.role,
            &w.opts,
        )
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::OK, m))
}

/// Remove a user from the project.
#[utoipa::path(delete, path = "/v1/projects/{project_id}/members/{user_id}", operation_id = "member_remove", tag = "admin",
    params(("project_id" = String, Path), ("user_id" = String, Path)), responses((status = 204)))]
pub async fn member_remove(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, u)): Path<(String, String)>,
    WriteOpts(o): WriteOpts,
) -> ApiResult<Response> {
    s.service
        .member_remove(
            &c,
            &ProjectId::parse_for_lookup(&p)?,
            UserId::parse_for_lookup(&u)?,
            &o,
        )
        .await?;
    Ok(super::deleted(o.dry_run))
}

/// Parse a project id from a path.
pub fn project(id: &str) -> Result<ProjectId, Error> {
    ProjectId::parse_for_lookup(id)
}
