//! Native endpoints: VMs, their interfaces, interfaces of a project, public IPs.

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
use nicplane_domain::query::{InterfaceFilter, PageRequest, VmFilter};
use nicplane_service::interface::{AttachSpec, InterfacePatch, InterfaceSpec};
use nicplane_service::public_ip::PublicIpSpec;
use nicplane_service::vm::{VmDetail, VmPatch, VmSpec};
use serde::Deserialize;

#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VmQuery {
    pub limit: Option<u32>,
    pub marker: Option<String>,
    pub data_center_id: Option<String>,
    pub name: Option<String>,
}

/// The project's VMs with their interfaces.
#[utoipa::path(get, path = "/v1/projects/{project_id}/vms", operation_id = "vm_list", tag = "vms",
    params(("project_id" = String, Path), VmQuery), responses((status = 200, body = Page<VmDetail>)))]
pub async fn vm_list(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(p): Path<String>,
    Query(q): Query<VmQuery>,
) -> ApiResult<Json<Page<VmDetail>>> {
    let (req, limit) = PageQuery {
        limit: q.limit,
        marker: q.marker.clone(),
    }
    .request()?;
    let filter = VmFilter {
        project_id: None,
        data_center_id: q.data_center_id.as_deref().map(|d| d.parse()).transpose()?,
        name: q.name.clone(),
    };
    let items = s.service.vm_list(&c, &project(&p)?, filter, req).await?;
    Ok(Json(page(items, limit, |v| v.vm.id.to_string())))
}

/// Create a VM; it gets a primary interface on the Default Network.
#[utoipa::path(post, path = "/v1/projects/{project_id}/vms", operation_id = "vm_create", tag = "vms",
    params(("project_id" = String, Path)), request_body = VmSpec, responses((status = 201, body = VmDetail)))]
pub async fn vm_create(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(p): Path<String>,
    w: Write<VmSpec>,
) -> ApiResult<Response> {
    let r = s
        .service
        .vm_create(
            &c,
            &project(&p)?,
            w.body,
            Vec::new(),
            super::VM_DEVICE_OWNER,
            &w.opts,
        )
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::CREATED, r))
}

/// A VM with its interfaces (the detail page's Network section).
#[utoipa::path(get, path = "/v1/projects/{project_id}/vms/{vm_id}", operation_id = "vm_get", tag = "vms",
    params(("project_id" = String, Path), ("vm_id" = String, Path)), responses((status = 200, body = VmDetail)))]
pub async fn vm_get(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, v)): Path<(String, String)>,
) -> ApiResult<Json<VmDetail>> {
    Ok(Json(
        s.service
            .vm_get(&c, &project(&p)?, VmId::parse_for_lookup(&v)?)
            .await?,
    ))
}

/// Rename a VM or change its metadata.
#[utoipa::path(patch, path = "/v1/projects/{project_id}/vms/{vm_id}", operation_id = "vm_update", tag = "vms",
    params(("project_id" = String, Path), ("vm_id" = String, Path)), request_body = VmPatch, responses((status = 200, body = VmDetail)))]
pub async fn vm_update(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, v)): Path<(String, String)>,
    w: Write<VmPatch>,
) -> ApiResult<Response> {
    let r = s
        .service
        .vm_update(
            &c,
            &project(&p)?,
            VmId::parse_for_lookup(&v)?,
            w.body,
            &w.opts,
        )
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::OK, r))
}

/// Delete a VM and the interfaces it created.
#[utoipa::path(delete, path = "/v1/projects/{project_id}/vms/{vm_id}", operation_id = "vm_delete", tag = "vms",
    params(("project_id" = String, Path), ("vm_id" = String, Path)), responses((status = 204)))]
pub async fn vm_delete(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, v)): Path<(String, String)>,
    WriteOpts(o): WriteOpts,
) -> ApiResult<Response> {
    s.service
        .vm_delete(&c, &project(&p)?, VmId::parse_for_lookup(&v)?, &o)
        .await?;
    Ok(deleted(o.dry_run))
}

/// Start a VM.
#[utoipa::path(post, path = "/v1/projects/{project_id}/vms/{vm_id}/start", operation_id = "vm_start", tag = "vms",
    params(("project_id" = String, Path), ("vm_id" = String, Path)), responses((status = 200, body = VmDetail)))]
pub async fn vm_start(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, v)): Path<(String, String)>,
    WriteOpts(o): WriteOpts,
) -> ApiResult<Response> {
    let r = s
        .service
        .vm_start(&c, &project(&p)?, VmId::parse_for_lookup(&v)?, &o)
        .await?;
    Ok(written(o.dry_run, StatusCode::OK, r))
}

/// Stop a VM.
#[utoipa::path(post, path = "/v1/projects/{project_id}/vms/{vm_id}/stop", operation_id = "vm_stop", tag = "vms",
    params(("project_id" = String, Path), ("vm_id" = String, Path)), responses((status = 200, body = VmDetail)))]
pub async fn vm_stop(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, v)): Path<(String, String)>,
    WriteOpts(o): WriteOpts,
) -> ApiResult<Response> {
    let r = s
        .service
        .vm_stop(&c, &project(&p)?, VmId::parse_for_lookup(&v)?, &o)
        .await?;
    Ok(written(o.dry_run, StatusCode::OK, r))
}

/// A VM's interfaces, primary first.
#[utoipa::path(get, path = "/v1/projects/{project_id}/vms/{vm_id}/interfaces", operation_id = "vm_interface_list", tag = "interfaces",
    params(("project_id" = String, Path), ("vm_id" = String, Path)), responses((status = 200, body = Vec<Interface>)))]
pub async fn vm_interface_list(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, v)): Path<(String, String)>,
) -> ApiResult<Json<Vec<Interface>>> {
    let interfaces = s
        .service
        .vm_interfaces(&c, &project(&p)?, VmId::parse_for_lookup(&v)?)
        .await?;
    Ok(Json(interfaces))
}

/// Add an interface to a VM: a new one on `network_id` (optionally with
/// `fixed_ips`), or an existing unattached `interface_id`.
#[utoipa::path(post, path = "/v1/projects/{project_id}/vms/{vm_id}/interfaces", operation_id = "interface_attach", tag = "interfaces",
    params(("project_id" = String, Path), ("vm_id" = String, Path)), request_body = AttachSpec,
    responses((status = 201, body = Interface), (status = 409, body = super::error::ErrorBody)))]
pub async fn interface_attach(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, v)): Path<(String, String)>,
    w: Write<AttachSpec>,
) -> ApiResult<Response> {
    let mut spec = w.body;
    spec.device_owner
        .get_or_insert_with(|| super::VM_DEVICE_OWNER.to_string());
    let r = s
        .service
        .interface_attach(
            &c,
            &project(&p)?,
            VmId::parse_for_lookup(&v)?,
            spec,
            &w.opts,
        )
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::CREATED, r))
}

/// Remove an interface from a VM (never the primary); its addresses and
/// public IP are released.
#[utoipa::path(delete, path = "/v1/projects/{project_id}/vms/{vm_id}/interfaces/{interface_id}", operation_id = "interface_detach", tag = "interfaces",
    params(("project_id" = String, Path), ("vm_id" = String, Path), ("interface_id" = String, Path)), responses((status = 204)))]
pub async fn interface_detach(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, v, i)): Path<(String, String, String)>,
    WriteOpts(o): WriteOpts,
) -> ApiResult<Response> {
    s.service
        .interface_detach(
            &c,
            &project(&p)?,
            VmId::parse_for_lookup(&v)?,
            InterfaceId::parse_for_lookup(&i)?,
            &o,
        )
        .await?;
    Ok(deleted(o.dry_run))
}

#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InterfaceQuery {
    pub limit: Option<u32>,
    pub marker: Option<String>,
    pub vm_id: Option<String>,
    pub network_id: Option<String>,
    pub parent_id: Option<String>,
    pub mac_address: Option<String>,
    pub ip_address: Option<String>,
    /// Only unattached interfaces (`true`) or attached ones (`false`).
    pub unattached: Option<bool>,
}

/// The project's interfaces, filtered.
#[utoipa::path(get, path = "/v1/projects/{project_id}/interfaces", operation_id = "interface_list", tag = "interfaces",
    params(("project_id" = String, Path), InterfaceQuery), responses((status = 200, body = Page<Interface>)))]
pub async fn interface_list(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(p): Path<String>,
    Query(q): Query<InterfaceQuery>,
) -> ApiResult<Json<Page<Interface>>> {
    let (req, limit) = PageQuery {
        limit: q.limit,
        marker: q.marker.clone(),
    }
    .request()?;
    let filter = InterfaceFilter {
        vm_id: q
            .vm_id
            .as_deref()
            .map(|v| v.parse().map(Some))
            .transpose()?,
        network_id: q.network_id.as_deref().map(|v| v.parse()).transpose()?,
        parent_id: q.parent_id.as_deref().map(|v| v.parse()).transpose()?,
        mac_address: q.mac_address.as_deref().map(|v| v.parse()).transpose()?,
        ip_address: q
            .ip_address
            .as_deref()
            .map(|v| {
                v.parse().map_err(|_| {
                    nicplane_domain::Error::invalid_value(
                        "ip_address",
                        format!("'{v}' is not an IP address."),
                    )
                })
            })
            .transpose()?,
        attached: q.unattached.map(|u| !u),
        ..Default::default()
    };
    let items = s
        .service
        .interface_list(&c, &project(&p)?, filter, req)
        .await?;
    Ok(Json(page(items, limit, |i| i.id.to_string())))
}

/// Create an unattached interface.
#[utoipa::path(post, path = "/v1/projects/{project_id}/interfaces", operation_id = "interface_create", tag = "interfaces",
    params(("project_id" = String, Path)), request_body = InterfaceSpec, responses((status = 201, body = Interface)))]
pub async fn interface_create(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(p): Path<String>,
    w: Write<InterfaceSpec>,
) -> ApiResult<Response> {
    let r = s
        .service
        .interface_create(&c, &project(&p)?, w.body, &w.opts)
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::CREATED, r))
}

/// One interface.
#[utoipa::path(get, path = "/v1/projects/{project_id}/interfaces/{interface_id}", operation_id = "interface_get", tag = "interfaces",
    params(("project_id" = String, Path), ("interface_id" = String, Path)), responses((status = 200, body = Interface)))]
pub async fn interface_get(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, i)): Path<(String, String)>,
) -> ApiResult<Json<Interface>> {
    Ok(Json(
        s.service
            .interface_get(&c, &project(&p)?, InterfaceId::parse_for_lookup(&i)?)
            .await?,
    ))
}

/// Change an interface's description, tag, security groups, port security.
#[utoipa::path(patch, path = "/v1/projects/{project_id}/interfaces/{interface_id}", operation_id = "interface_update", tag = "interfaces",
    params(("project_id" = String, Path), ("interface_id" = String, Path)), request_body = InterfacePatch, responses((status = 200, body = Interface)))]
pub async fn interface_update(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, i)): Path<(String, String)>,
    w: Write<InterfacePatch>,
) -> ApiResult<Response> {
    let r = s
        .service
        .interface_update(
            &c,
            &project(&p)?,
            InterfaceId::parse_for_lookup(&i)?,
            w.body,
            &w.opts,
        )
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::OK, r))
}

/// Delete an interface (an attached one must pass the removal rules).
#[utoipa::path(delete, path = "/v1/projects/{project_id}/interfaces/{interface_id}", operation_id = "interface_delete", tag = "interfaces",
    params(("project_id" = String, Path), ("interface_id" = String, Path)), responses((status = 204)))]
pub async fn interface_delete(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, i)): Path<(String, String)>,
    WriteOpts(o): WriteOpts,
) -> ApiResult<Response> {
    s.service
        .interface_delete(&c, &project(&p)?, InterfaceId::parse_for_lookup(&i)?, &o)
        .await?;
    Ok(deleted(o.dry_run))
}

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocateOnInterface {
    #[serde(default)]
    pub description: String,
    /// Take the address from this external network's pools; none: the
    /// data center's pools.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub external_network_id: Option<ExternalNetworkId>,
}

/// Allocate a public IP on an interface of a standard network.
#[utoipa::path(post, path = "/v1/projects/{project_id}/interfaces/{interface_id}/public-ip", operation_id = "public_ip_allocate_on_interface", tag = "public-ips",
    params(("project_id" = String, Path), ("interface_id" = String, Path)), request_body = AllocateOnInterface,
    responses((status = 201, body = PublicIp), (status = 409, body = super::error::ErrorBody)))]
pub async fn public_ip_allocate_on_interface(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, i)): Path<(String, String)>,
    w: Write<AllocateOnInterface>,
) -> ApiResult<Response> {
    let spec = PublicIpSpec {
        interface_id: Some(InterfaceId::parse_for_lookup(&i)?),
        data_center_id: None,
        external_network_id: w.body.external_network_id,
        description: w.body.description.clone(),
    };
    let r = s
        .service
        .public_ip_allocate(&c, &project(&p)?, spec, &w.opts)
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::CREATED, r))
}

/// Release the interface's public IP; permanent.
#[utoipa::path(delete, path = "/v1/projects/{project_id}/interfaces/{interface_id}/public-ip", operation_id = "public_ip_release_on_interface", tag = "public-ips",
    params(("project_id" = String, Path), ("interface_id" = String, Path)), responses((status = 204)))]
pub async fn public_ip_release_on_interface(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, i)): Path<(String, String)>,
    WriteOpts(o): WriteOpts,
) -> ApiResult<Response> {
    s.service
        .public_ip_release_on_interface(&c, &project(&p)?, InterfaceId::parse_for_lookup(&i)?, &o)
        .await?;
    Ok(deleted(o.dry_run))
}

/// The project's public IPs.
#[utoipa::path(get, path = "/v1/projects/{project_id}/public-ips", operation_id = "public_ip_list", tag = "public-ips",
    params(("project_id" = String, Path), PageQuery), responses((status = 200, body = Page<PublicIp>)))]
pub async fn public_ip_list(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(p): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Page<PublicIp>>> {
    let (req, limit): (PageRequest, u32) = q.request()?;
    let items = s.service.public_ip_list(&c, &project(&p)?, req).await?;
    Ok(Json(page(items, limit, |i| i.id.to_string())))
}

/// Allocate a public IP on an interface (`interface_id`) or unattached in a data center.
#[utoipa::path(post, path = "/v1/projects/{project_id}/public-ips", operation_id = "public_ip_allocate", tag = "public-ips",
    params(("project_id" = String, Path)), request_body = PublicIpSpec, responses((status = 201, body = PublicIp)))]
pub async fn public_ip_allocate(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(p): Path<String>,
    w: Write<PublicIpSpec>,
) -> ApiResult<Response> {
    let r = s
        .service
        .public_ip_allocate(&c, &project(&p)?, w.body, &w.opts)
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::CREATED, r))
}

/// One public IP.
#[utoipa::path(get, path = "/v1/projects/{project_id}/public-ips/{public_ip_id}", operation_id = "public_ip_get", tag = "public-ips",
    params(("project_id" = String, Path), ("public_ip_id" = String, Path)), responses((status = 200, body = PublicIp)))]
pub async fn public_ip_get(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, i)): Path<(String, String)>,
) -> ApiResult<Json<PublicIp>> {
    Ok(Json(
        s.service
            .public_ip_get(&c, &project(&p)?, PublicIpId::parse_for_lookup(&i)?)
            .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssociateRequest {
    /// The interface to move the public IP to; `null` to detach it.
    #[schema(value_type = Option<String>)]
    pub interface_id: Option<InterfaceId>,
}

/// Move a public IP to another interface, or off any.
#[utoipa::path(patch, path = "/v1/projects/{project_id}/public-ips/{public_ip_id}", operation_id = "public_ip_associate", tag = "public-ips",
    params(("project_id" = String, Path), ("public_ip_id" = String, Path)), request_body = AssociateRequest, responses((status = 200, body = PublicIp)))]
pub async fn public_ip_associate(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, i)): Path<(String, String)>,
    w: Write<AssociateRequest>,
) -> ApiResult<Response> {
    let r = s
        .service
        .public_ip_associate(
            &c,
            &project(&p)?,
            PublicIpId::parse_for_lookup(&i)?,
            w.body.interface_id,
            None,
            &w.opts,
        )
        .await?;
    Ok(written(w.opts.dry_run, StatusCode::OK, r))
}

/// Release a public IP; permanent: the next allocation gets another address.
#[utoipa::path(delete, path = "/v1/projects/{project_id}/public-ips/{public_ip_id}", operation_id = "public_ip_release", tag = "public-ips",
    params(("project_id" = String, Path), ("public_ip_id" = String, Path)), responses((status = 204)))]
pub async fn public_ip_release(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path((p, i)): Path<(String, String)>,
    WriteOpts(o): WriteOpts,
) -> ApiResult<Response> {
    s.service
        .public_ip_release(&c, &project(&p)?, PublicIpId::parse_for_lookup(&i)?, &o)
        .await?;
    Ok(deleted(o.dry_run))
}
