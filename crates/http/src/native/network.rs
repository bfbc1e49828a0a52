//! Native endpoints: networks, subnets, security groups.

use super::admin::project;
use super::error::ApiResult;
use super::extract::{Auth, Path, Query, Write, WriteOpts};
use super::{deleted, page, written, Page, PageQuery};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use nicplane_domain::ids::*;
use nicplane_domain::model::*;
use nicplane_domain::query::NetworkFilter;
use nicplane_domain::types::NetworkKind;
use nicplane_service::network::*;
use serde::Deserialize;

/// Create a shared network every project can use (cloud admin).
#[utoipa::path(post, path = "/v1/shared-networks", operation_id = "shared_network_create", tag = "networks",
    request_body = NetworkSpec, responses((status = 201, body = NetworkDetail)))]
pub async fn shared_network_create(
    State(s): State<AppState>,
    Auth(c): Auth,
    w: Write<NetworkSpec>,
) -> ApiResult<Response> {
    let n = s.service.shared_network_create(&c, w.body, &w.opts).await?;
    Ok(written(w.opts.dry_run, StatusCode::CREATED, n))
}

#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NetworkQuery {
    pub limit: Option<u32>,
    pub marker: Option<String>,
    /// Only networks of this data center.
    pub data_center_id: Option<String>,
    /// `standard` or `custom`.
    pub kind: Option<String>,
    pub name: Option<String>,
}

/// The project's networks and the shared ones, with their subnets.
#[utoipa::path(get, path = "/v1/projects/{project_id}/networks", operation_id = "network_list", tag = "networks",
    params(("project_id" = String, Path), NetworkQuery), responses((status = 200, body = Page<NetworkDetail>)))]
pub async fn network_list(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(p): Path<String>,
    Query(q): Query<NetworkQuery>,
) -> ApiResult<Json<Page<NetworkDetail>>> {
    let (req, limit) = PageQuery {
        limit: q.limit,
        marker: q.marker.clone(),
    }
    .request()?;
    let filter = NetworkFilter {
        visible_to: None,
        data_center_id: q.data_center_id.as_deref().map(|d| d.parse()).transpose()?,
        kind: q
            .kind
            .as_deref()
            .map(|k| k.parse::<NetworkKind>())
            .transpose()?,
        name: q.name.clone(),
    };
    let items = s
        .service
        .network_list(&c, &project(&p)?, filter, req)
        .await?;
    Ok(Json(page(items, limit, |n| n.network.id.to_string())))
}

/// Create a network (Tenant Administrator).
#[utoipa::path(post, path = "/v1/projects/{project_id}/networks", operation_id = "network_create", tag = "networks",
    params(("project_id" = String, Path)), request_body = NetworkSpec, responses((status = 201, body = NetworkDetail)))]
pub async fn network_create(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(p): Path<String>,
    w: Write<NetworkSpec>,
) -> ApiResult<Response> {
    let n = s
        .service
        .network_create(&c, &project(&p)?, w.body, &w.opts)
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::CREATED, n))
}

/// One network with its subnets.
#[utoipa::path(get, path = "/v1/projects/{project_id}/networks/{network_id}", operation_id = "network_get", tag = "networks",
    params(("project_id" = String, Path), ("network_id" = String, Path)), responses((status = 200, body = NetworkDetail)))]
pub async fn network_get(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, n)): Path<(String, String)>,
) -> ApiResult<Json<NetworkDetail>> {
    Ok(Json(
        s.service
            .network_get(&c, &project(&p)?, NetworkId::parse_for_lookup(&n)?)
            .await?,
    ))
}

/// Rename or describe a network.
#[utoipa::path(patch, path = "/v1/projects/{project_id}/networks/{network_id}", operation_id = "network_update", tag = "networks",
    params(("project_id" = String, Path), ("network_id" = String, Path)), request_body = NetworkPatch, responses((status = 200, body = NetworkDetail)))]
pub async fn network_update(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, n)): Path<(String, String)>,
    w: Write<NetworkPatch>,
) -> ApiResult<Response> {
    let r = s
        .service
        .network_update(
            &c,
            &project(&p)?,
            NetworkId::parse_for_lookup(&n)?,
            w.body,
            &w.opts,
        )
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::OK, r))
}

/// Delete a network without interfaces.
#[utoipa::path(delete, path = "/v1/projects/{project_id}/networks/{network_id}", operation_id = "network_delete", tag = "networks",
    params(("project_id" = String, Path), ("network_id" = String, Path)), responses((status = 204)))]
pub async fn network_delete(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, n)): Path<(String, String)>,
    WriteOpts(o): WriteOpts,
) -> ApiResult<Response> {
    s.service
        .network_delete(&c, &project(&p)?, NetworkId::parse_for_lookup(&n)?, &o)
        .await?;
    Ok(deleted(o.dry_run))
}

/// Add a subnet to a network.
#[utoipa::path(post, path = "/v1/projects/{project_id}/networks/{network_id}/subnets", operation_id = "subnet_create", tag = "networks",
    params(("project_id" = String, Path), ("network_id" = String, Path)), request_body = SubnetSpec, responses((status = 201, body = Subnet)))]
pub async fn subnet_create(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, n)): Path<(String, String)>,
    w: Write<SubnetSpec>,
) -> ApiResult<Response> {
    let r = s
        .service
        .subnet_create(
            &c,
            &project(&p)?,
            NetworkId::parse_for_lookup(&n)?,
            w.body,
            &w.opts,
        )
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::CREATED, r))
}

/// One subnet, with its free-address count.
#[utoipa::path(get, path = "/v1/projects/{project_id}/subnets/{subnet_id}", operation_id = "subnet_get", tag = "networks",
    params(("project_id" = String, Path), ("subnet_id" = String, Path)), responses((status = 200, body = Subnet)))]
pub async fn subnet_get(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, n)): Path<(String, String)>,
) -> ApiResult<Json<Subnet>> {
    Ok(Json(
        s.service
            .subnet_get(&c, &project(&p)?, SubnetId::parse_for_lookup(&n)?)
            .await?,
    ))
}

/// Change a subnet: name, description, gateway, allocation pools, DHCP,
/// DNS servers, host routes (its CIDR, version and network stay).
#[utoipa::path(patch, path = "/v1/projects/{project_id}/subnets/{subnet_id}", operation_id = "subnet_update", tag = "networks",
    params(("project_id" = String, Path), ("subnet_id" = String, Path)), request_body = SubnetPatch, responses((status = 200, body = Subnet)))]
pub async fn subnet_update(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, n)): Path<(String, String)>,
    w: Write<SubnetPatch>,
) -> ApiResult<Response> {
    let r = s
        .service
        .subnet_update(
            &c,
            &project(&p)?,
            SubnetId::parse_for_lookup(&n)?,
            w.body,
            &w.opts,
        )
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::OK, r))
}

/// Delete a subnet without allocated addresses.
#[utoipa::path(delete, path = "/v1/projects/{project_id}/subnets/{subnet_id}", operation_id = "subnet_delete", tag = "networks",
    params(("project_id" = String, Path), ("subnet_id" = String, Path)), responses((status = 204)))]
pub async fn subnet_delete(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, n)): Path<(String, String)>,
    WriteOpts(o): WriteOpts,
) -> ApiResult<Response> {
    s.service
        .subnet_delete(&c, &project(&p)?, SubnetId::parse_for_lookup(&n)?, &o)
        .await?;
    Ok(deleted(o.dry_run))
}

/// The project's security groups.
#[utoipa::path(get, path = "/v1/projects/{project_id}/security-groups", operation_id = "security_group_list", tag = "security",
    params(("project_id" = String, Path)), responses((status = 200, body = Vec<SecurityGroup>)))]
pub async fn security_group_list(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(p): Path<String>,
) -> ApiResult<Json<Vec<SecurityGroup>>> {
    Ok(Json(
        s.service.security_group_list(&c, &project(&p)?).await?,
    ))
}

/// Create a security group.
#[utoipa::path(post, path = "/v1/projects/{project_id}/security-groups", operation_id = "security_group_create", tag = "security",
    params(("project_id" = String, Path)), request_body = SecurityGroupSpec, responses((status = 201, body = SecurityGroup)))]
pub async fn security_group_create(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(p): Path<String>,
    w: Write<SecurityGroupSpec>,
) -> ApiResult<Response> {
    let r = s
        .service
        .security_group_create(&c, &project(&p)?, w.body, &w.opts)
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::CREATED, r))
}

/// One security group with its rules.
#[utoipa::path(get, path = "/v1/projects/{project_id}/security-groups/{security_group_id}", operation_id = "security_group_get", tag = "security",
    params(("project_id" = String, Path), ("security_group_id" = String, Path)), responses((status = 200, body = SecurityGroup)))]
pub async fn security_group_get(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, g)): Path<(String, String)>,
) -> ApiResult<Json<SecurityGroup>> {
    Ok(Json(
        s.service
            .security_group_get(&c, &project(&p)?, SecurityGroupId::parse_for_lookup(&g)?)
            .await?,
    ))
}

/// Delete a security group no interface uses.
#[utoipa::path(delete, path = "/v1/projects/{project_id}/security-groups/{security_group_id}", operation_id = "security_group_delete", tag = "security",
    params(("project_id" = String, Path), ("security_group_id" = String, Path)), responses((status = 204)))]
pub async fn security_group_delete(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, g)): Path<(String, String)>,
    WriteOpts(o): WriteOpts,
) -> ApiResult<Response> {
    s.service
        .security_group_delete(
            &c,
            &project(&p)?,
            SecurityGroupId::parse_for_lookup(&g)?,
            &o,
        )
        .await?;
    Ok(deleted(o.dry_run))
}

/// Add a rule to a security group.
#[utoipa::path(post, path = "/v1/projects/{project_id}/security-groups/{security_group_id}/rules", operation_id = "security_group_rule_create", tag = "security",
    params(("project_id" = String, Path), ("security_group_id" = String, Path)), request_body = RuleSpec, responses((status = 201, body = SecurityGroupRule)))]
pub async fn security_group_rule_create(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, g)): Path<(String, String)>,
    w: Write<RuleSpec>,
) -> ApiResult<Response> {
    let r = s
        .service
        .security_group_rule_create(
            &c,
            &project(&p)?,
            SecurityGroupId::parse_for_lookup(&g)?,
            w.body,
            &w.opts,
        )
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::CREATED, r))
}

/// Delete a security group rule.
#[utoipa::path(delete, path = "/v1/projects/{project_id}/security-group-rules/{rule_id}", operation_id = "security_group_rule_delete", tag = "security",
    params(("project_id" = String, Path), ("rule_id" = String, Path)), responses((status = 204)))]
pub async fn security_group_rule_delete(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, r)): Path<(String, String)>,
    WriteOpts(o): WriteOpts,
) -> ApiResult<Response> {
    s.service
        .security_group_rule_delete(
            &c,
            &project(&p)?,
            SecurityGroupRuleId::parse_for_lookup(&r)?,
            &o,
        )
        .await?;
    Ok(deleted(o.dry_run))
}
