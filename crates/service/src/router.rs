//! Routers: they connect subnets (interfaces) and reach the public IP pools
//! of their data center (the gateway). Every use case is one transaction.
//!
//! * An interface by subnet takes the subnet's gateway address on a new port
//!   (`device_owner` `network:router_interface`, the router as its device);
//!   by port, an existing unused port becomes the interface. Removing an
//!   interface deletes its port, as Neutron does.
//! * The gateway takes addresses of the data center's public pools, chosen
//!   (cloud admin) or the next the pool hands out, exactly as public IPs are
//!   taken (`public_ip::take_public_address`), so an address is never handed
//!   out twice; clearing the gateway or deleting the router puts them back at
//!   the end of the pool's release queue.
//! * A floating IP's path: `rules::floating_ip_path` (see there), checked in
//!   `public_ip::check_target` whenever a public IP goes on an interface.

use crate::feed::{emit, emit_deleted};
use crate::interface::{delete_interface_row, insert_with_mac, owned_interface};
use crate::public_ip::{take_chosen_address, take_from_pool, take_public_address, PoolScope};
use crate::{Caller, Need, PortPolicy, Service, WriteOptions};
use nicplane_domain::feed::Action;
use nicplane_domain::ids::*;
use nicplane_domain::model::*;
use nicplane_domain::rules;
use nicplane_domain::types::{check_text, InterfaceStatus};
use nicplane_domain::{Error, Kind, Result};
use nicplane_store::{Claim, RouterRow, Tx};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;

/// One external address asked for: a chosen address, or the next of a pool.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewayIpRequest {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub pool_id: Option<PoolId>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub ip_address: Option<IpAddr>,
}

/// A gateway to set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewaySpec {
    /// The external network (of the router's data center,
    /// `rules::router_gateway_in_data_center`); none: the data center's
    /// default external network.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub network_id: Option<ExternalNetworkId>,
    /// Default true (Neutron's).
    #[serde(default)]
    pub enable_snat: Option<bool>,
    /// Chosen addresses (cloud admin only); none: one address of the pools.
    #[serde(default)]
    pub external_fixed_ips: Option<Vec<GatewayIpRequest>>,
}

/// A router to create.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouterSpec {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub admin_state_up: Option<bool>,
    #[schema(value_type = String)]
    pub data_center_id: DataCenterId,
    #[serde(default)]
    pub gateway: Option<GatewaySpec>,
}

/// Changes to a router: `gateway` sets or replaces the gateway,
/// `clear_gateway` removes it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouterPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub admin_state_up: Option<bool>,
    #[serde(default)]
    pub gateway: Option<GatewaySpec>,
    #[serde(default)]
    pub clear_gateway: bool,
}

/// What to add or remove as an interface: a subnet or a port.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouterInterfaceSpec {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub subnet_id: Option<SubnetId>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub port_id: Option<InterfaceId>,
}

/// Load a router of the project; anything else is "not found".
pub fn owned_router(tx: &mut dyn Tx, project: &ProjectId, id: RouterId) -> Result<Router> {
    match tx.router_get(id)? {
        Some(r) if &r.project_id == project => Ok(r),
        _ => Err(Error::not_found(Kind::Router, id)),
    }
}

fn row_of(r: &Router) -> RouterRow {
    RouterRow {
        id: r.id,
        project_id: r.project_id.clone(),
        data_center_id: r.data_center_id,
        name: r.name.clone(),
        description: r.description.clone(),
        admin_state_up: r.admin_state_up,
        gateway_snat: r.gateway.as_ref().map(|g| g.enable_snat),
        gateway_network: r.gateway.as_ref().map(|g| g.network_id),
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

fn reload(tx: &mut dyn Tx, id: RouterId) -> Result<Router> {
    tx.router_get(id)?
        .ok_or_else(|| Error::not_found(Kind::Router, id))
}

/// Put a router's gateway addresses back at the end of their pools.
fn release_gateway(tx: &mut dyn Tx, router: RouterId) -> Result<()> {
    for (pool, offset) in tx.router_gateway_ips_delete(router)? {
        tx.pool_release(pool, offset)?;
    }
    Ok(())
}

/// Set (or replace) a router's gateway, inside a transaction.
fn set_gateway(
    tx: &mut dyn Tx,
    router: &mut Router,
    spec: &GatewaySpec,
    policy: PortPolicy,
) -> Result<()> {
    let network_id = spec
        .network_id
        .unwrap_or(ExternalNetworkId::default_of(router.data_center_id));
    let network = match tx.external_network_get(network_id)? {
        Some(n) => n,
        None => {
            // A project network the router's project sees is "not external".
            let n =
                crate::network::visible_network(tx, &router.project_id, NetworkId(network_id.0))?;
            return rules::router_gateway_network_external(&n);
        }
    };
    rules::router_gateway_in_data_center(router.data_center_id, &network)?;
    let scope = PoolScope::Network(network.id);
    let snat = spec.enable_snat.unwrap_or(true);
    let same_network = router
        .gateway
        .as_ref()
        .is_some_and(|g| g.network_id == network.id);
    match (&spec.external_fixed_ips, same_network) {
        // Same gateway, only SNAT changes: the addresses stay.
        (None, true) => {}
        (requests, _) => {
            if requests.is_some() {
                rules::router_gateway_ip_choice_allowed(policy.cloud_admin)?;
            }
            release_gateway(tx, router.id)?;
            let requests = requests.clone().unwrap_or_default();
            let mut taken = Vec::new();
            if requests.is_empty() {
                taken.push(take_public_address(tx, scope)?);
            }
            for r in &requests {
                if let Some(p) = r.pool_id {
                    rules::pool_of_external_network(p, &network)?;
                }
                let got = match (r.ip_address, r.pool_id) {
                    (Some(a), _) => take_chosen_address(tx, scope, a)?,
                    (None, Some(p)) => take_from_pool(tx, scope, p)?,
                    (None, None) => take_public_address(tx, scope)?,
                };
                if let Some(p) = r.pool_id {
                    if p != got.0.id {
                        return Err(Error::invalid(format!(
                            "The IP address {} is not in pool {p}.",
                            got.2
                        )));
                    }
                }
                taken.push(got);
            }
            for (pool, offset, address) in taken {
                tx.router_gateway_ip_insert(router.id, pool.id, offset, address)?;
            }
        }
    }
    router.gateway = Some(RouterGateway {
        network_id: network.id,
        enable_snat: snat,
        external_fixed_ips: vec![],
    });
    Ok(())
}

/// Create a router (inside a transaction).
pub fn create_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    spec: &RouterSpec,
    policy: PortPolicy,
) -> Result<Router> {
    check_text("name", &spec.name)?;
    check_text("description", &spec.description)?;
    let dc = spec.data_center_id;
    tx.data_center_get(dc)?
        .ok_or_else(|| Error::invalid(format!("Data center {dc} does not exist.")))?;
    let t = now();
    let mut router = Router {
        id: RouterId::new(),
        project_id: project.clone(),
        data_center_id: dc,
        name: spec.name.clone(),
        description: spec.description.clone(),
        admin_state_up: spec.admin_state_up.unwrap_or(true),
        status: "ACTIVE".into(),
        gateway: None,
        interfaces: vec![],
        created_at: t,
        updated_at: t,
    };
    tx.router_insert(&row_of(&router))?;
    if let Some(g) = &spec.gateway {
        set_gateway(tx, &mut router, g, policy)?;
        tx.router_update(&row_of(&router))?;
    }
    reload(tx, router.id)
}

/// Change a router (inside a transaction).
pub fn update_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    id: RouterId,
    patch: &RouterPatch,
    policy: PortPolicy,
) -> Result<Router> {
    let mut router = owned_router(tx, project, id)?;
    if let Some(n) = &patch.name {
        check_text("name", n)?;
        router.name = n.clone();
    }
    if let Some(d) = &patch.description {
        check_text("description", d)?;
        router.description = d.clone();
    }
    if let Some(a) = patch.admin_state_up {
        router.admin_state_up = a;
    }
    if patch.clear_gateway && patch.gateway.is_some() {
        return Err(Error::invalid(
            "Give either a gateway to set or clear_gateway, not both.",
        ));
    }
    match (&patch.gateway, patch.clear_gateway) {
        (None, false) => {}
        (None, true) => {
            if router.gateway.is_some() {
                rules::router_gateway_removable(&router, tx.public_ips_via_router(id)?)?;
                release_gateway(tx, id)?;
                router.gateway = None;
            }
        }
        (Some(g), _) => set_gateway(tx, &mut router, g, policy)?,
    }
    router.updated_at = now();
    tx.router_update(&row_of(&router))?;
    reload(tx, id)
}

/// Delete a router without interfaces (inside a transaction).
pub fn delete_tx(tx: &mut dyn Tx, project: &ProjectId, id: RouterId) -> Result<Router> {
    let router = owned_router(tx, project, id)?;
    rules::router_deletable(&router)?;
    release_gateway(tx, id)?;
    tx.router_delete(id)?;
    Ok(router)
}

/// The router's subnets with their CIDRs.
fn attached_cidrs(tx: &mut dyn Tx, router: &Router) -> Result<Vec<(SubnetId, ipnet::IpNet)>> {
    let mut out = Vec::new();
    for i in &router.interfaces {
        if let Some(s) = tx.subnet_get(i.subnet_id)? {
            out.push((s.id, s.cidr));
        }
    }
    Ok(out)
}

/// A subnet of the project's networks (another project's is "not found").
fn owned_subnet(tx: &mut dyn Tx, project: &ProjectId, id: SubnetId) -> Result<(Subnet, Network)> {
    let missing = || Error::not_found(Kind::Subnet, id);
    let subnet = tx.subnet_get(id)?.ok_or_else(missing)?;
    let network = tx.network_get(subnet.network_id)?.ok_or_else(missing)?;
    if network.project_id.as_ref() != Some(project) {
        return Err(missing());
    }
    Ok((subnet, network))
}

/// Add an interface (inside a transaction); answers the router and the
/// interface rows added.
pub fn add_interface_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    id: RouterId,
    spec: &RouterInterfaceSpec,
    policy: PortPolicy,
) -> Result<(Router, Vec<RouterInterface>)> {
    let router = owned_router(tx, project, id)?;
    let added = match (spec.subnet_id, spec.port_id) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid(
                "Bad router request: Cannot specify both subnet-id and port-id.",
            ))
        }
        (None, None) => {
            return Err(Error::invalid(
                "Bad router request: Either subnet_id or port_id must be specified.",
            ))
        }
        (Some(sid), None) => vec![add_subnet(tx, project, &router, sid, policy)?],
        (None, Some(pid)) => add_port(tx, project, &router, pid)?,
    };
    Ok((reload(tx, id)?, added))
}

fn add_subnet(
    tx: &mut dyn Tx,
    project: &ProjectId,
    router: &Router,
    sid: SubnetId,
    policy: PortPolicy,
) -> Result<RouterInterface> {
    let (subnet, network) = owned_subnet(tx, project, sid)?;
    rules::router_same_data_center(router, &network, sid)?;
    let gateway = rules::router_subnet_has_gateway(&subnet)?;
    rules::router_subnet_once(router, sid)?;
    rules::router_cidrs_disjoint(&attached_cidrs(tx, router)?, &subnet)?;
    let space = nicplane_domain::ipam::AddressSpace::new(subnet.cidr)?;
    let offset = space
        .offset_of(gateway)
        .ok_or_else(|| Error::internal("the gateway is outside its subnet"))?;
    let in_pool = match tx.ip_take(sid, offset)? {
        Claim::Claimed { in_pool } => in_pool,
        Claim::InUse => return Err(rules::address_in_use(gateway, &subnet.name)),
    };
    let t = now();
    let mut port = Interface {
        status_reason: None,
        id: InterfaceId::new(),
        project_id: project.clone(),
        network_id: network.id,
        network_name: network.name.clone(),
        data_center_id: network.data_center_id,
        vm_id: None,
        name: String::new(),
        mac_address: policy.mac_prefix.random(&mut rand::thread_rng()),
        fixed_ips: vec![FixedIp {
            subnet_id: sid,
            ip_address: gateway,
        }],
        primary: false,
        status: InterfaceStatus::Active,
        admin_state_up: true,
        description: String::new(),
        tag: None,
        security_groups: vec![],
        port_security_enabled: false,
        allowed_address_pairs: vec![],
        extra_dhcp_opts: vec![],
        tags: vec![],
        device_owner: ROUTER_INTERFACE_OWNER.into(),
        public_ip: None,
        parent_id: None,
        vlan_id: None,
        supplementary: false,
        router_id: Some(router.id),
        created_at: t,
        updated_at: t,
    };
    insert_with_mac(tx, &mut port, None, policy.mac_prefix, true)?;
    tx.ip_record(sid, offset, gateway, port.id, in_pool)?;
    tx.interface_set_router(port.id, Some(router.id))?;
    tx.router_interface_insert(router.id, sid, port.id, gateway)?;
    Ok(RouterInterface {
        port_id: port.id,
        subnet_id: sid,
        network_id: network.id,
        ip_address: gateway,
    })
}

fn add_port(
    tx: &mut dyn Tx,
    project: &ProjectId,
    router: &Router,
    pid: InterfaceId,
) -> Result<Vec<RouterInterface>> {
    let mut port = owned_interface(tx, project, pid)?;
    rules::router_port_free(&port)?;
    let network = tx
        .network_get(port.network_id)?
        .ok_or_else(|| Error::not_found(Kind::Network, port.network_id))?;
    rules::router_same_data_center(router, &network, port.fixed_ips[0].subnet_id)?;
    let mut attached = attached_cidrs(tx, router)?;
    let mut added = Vec::new();
    for f in &port.fixed_ips {
        let subnet = tx
            .subnet_get(f.subnet_id)?
            .ok_or_else(|| Error::not_found(Kind::Subnet, f.subnet_id))?;
        rules::router_subnet_once(router, subnet.id)?;
        rules::router_cidrs_disjoint(&attached, &subnet)?;
        attached.push((subnet.id, subnet.cidr));
        added.push(RouterInterface {
            port_id: port.id,
            subnet_id: subnet.id,
            network_id: network.id,
            ip_address: f.ip_address,
        });
    }
    port.device_owner = ROUTER_INTERFACE_OWNER.into();
    port.status = InterfaceStatus::Active;
    port.updated_at = now();
    tx.interface_update(&port)?;
    tx.interface_set_router(port.id, Some(router.id))?;
    for a in &added {
        tx.router_interface_insert(router.id, a.subnet_id, a.port_id, a.ip_address)?;
    }
    Ok(added)
}

/// Remove an interface by subnet or port (inside a transaction): refused
/// while a floating IP needs it; its port is deleted (Neutron's behaviour).
pub fn remove_interface_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    id: RouterId,
    spec: &RouterInterfaceSpec,
) -> Result<(Router, Vec<RouterInterface>)> {
    let router = owned_router(tx, project, id)?;
    let gone: Vec<RouterInterface> = match (spec.subnet_id, spec.port_id) {
        (None, None) => {
            return Err(Error::invalid(
                "Bad router request: Either subnet_id or port_id must be specified.",
            ))
        }
        (sid, Some(pid)) => {
            let rows: Vec<_> = router
                .interfaces
                .iter()
                .filter(|i| i.port_id == pid)
                .cloned()
                .collect();
            if rows.is_empty() {
                return Err(Error::not_found(Kind::Router, format!("{id} port {pid}")));
            }
            if let Some(s) = sid {
                if !rows.iter().any(|r| r.subnet_id == s) {
                    return Err(Error::not_found(Kind::Router, format!("{id} subnet {s}")));
                }
            }
            rows
        }
        (Some(sid), None) => {
            let rows: Vec<_> = router
                .interfaces
                .iter()
                .filter(|i| i.subnet_id == sid)
                .cloned()
                .collect();
            if rows.is_empty() {
                return Err(Error::not_found(Kind::Router, format!("{id} subnet {sid}")));
            }
            rows
        }
    };
    for g in &gone {
        rules::router_interface_removable(id, g.subnet_id, tx.public_ips_on_subnet(g.subnet_id)?)?;
        tx.router_interface_delete(id, g.subnet_id)?;
    }
    let mut ports: Vec<InterfaceId> = gone.iter().map(|g| g.port_id).collect();
    ports.dedup();
    for p in ports {
        let still = reload(tx, id)?.interfaces.iter().any(|i| i.port_id == p);
        if !still {
            let port = owned_interface(tx, project, p)?;
            tx.interface_set_router(p, None)?;
            delete_interface_row(tx, &port)?;
        }
    }
    Ok((reload(tx, id)?, gone))
}

/// The router a floating IP on this interface reaches the public pools
/// through: `rules::floating_ip_path` on the subnet of the interface's IPv4
/// address. `Ok(None)`: the implicit router of the project and data center.
pub fn floating_ip_path_tx(tx: &mut dyn Tx, iface: &Interface) -> Result<Option<RouterId>> {
    let Some(v4) = iface.fixed_ips.iter().find(|f| f.ip_address.is_ipv4()) else {
        return Ok(None);
    };
    let mut routers = Vec::new();
    for r in tx.routers_of_subnet(v4.subnet_id)? {
        if let Some(r) = tx.router_get(r)? {
            routers.push(r);
        }
    }
    rules::floating_ip_path(&routers, v4.subnet_id, iface.id, iface.data_center_id)
}

/// Most routers [`Service::router_gateways`] reads in one request.
pub const GATEWAY_LOOKUP_MAX: usize = 100;

/// Record an interface added to or removed from a router: the router with
/// its interfaces as they now are.
fn emit_router_interfaces(
    tx: &mut dyn Tx,
    project: &ProjectId,
    action: Action,
    (router, interfaces): &(Router, Vec<RouterInterface>),
) -> Result<()> {
    let body = serde_json::json!({ "router": router, "interfaces": interfaces });
    emit(
        tx,
        Kind::Router,
        router.id,
        Some(project),
        action,
        Some(&body),
    )
}

impl Service {
    /// `router_create`.
    pub async fn router_create(
        &self,
        caller: &Caller,
        project: &ProjectId,
        spec: RouterSpec,
        opts: &WriteOptions,
    ) -> Result<Router> {
        let policy = self.port_policy(caller);
        self.project_write(caller, project, Need::Administer, opts, move |tx, p| {
            let r = create_tx(tx, p, &spec, policy)?;
            emit(tx, Kind::Router, r.id, Some(p), Action::Create, Some(&r))?;
            Ok(r)
        })
        .await
    }

    /// `router_update` (also sets or clears the gateway).
    pub async fn router_update(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: RouterId,
        patch: RouterPatch,
        opts: &WriteOptions,
    ) -> Result<Router> {
        let policy = self.port_policy(caller);
        self.project_write(caller, project, Need::Administer, opts, move |tx, p| {
            let r = update_tx(tx, p, id, &patch, policy)?;
            emit(tx, Kind::Router, r.id, Some(p), Action::Update, Some(&r))?;
            Ok(r)
        })
        .await
    }

    /// `router_delete`.
    pub async fn router_delete(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: RouterId,
        opts: &WriteOptions,
    ) -> Result<Router> {
        self.project_write(caller, project, Need::Administer, opts, move |tx, p| {
            let r = delete_tx(tx, p, id)?;
            emit_deleted(tx, Kind::Router, r.id, Some(p))?;
            Ok(r)
        })
        .await
    }

    /// `router_get`.
    pub async fn router_get(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: RouterId,
    ) -> Result<Router> {
        self.project_read(caller, project, Need::Read, move |tx, p| {
            owned_router(tx, p, id)
        })
        .await
    }

    /// Why a network that is not a data center's external network cannot
    /// be a router's gateway: "not found" when the project does not see it
    /// (no such network, or another project's), else
    /// `rules::router_gateway_network_external`'s refusal. Writes nothing.
    pub async fn router_gateway_network_check(
        &self,
        caller: &Caller,
        project: &ProjectId,
        network: NetworkId,
    ) -> Result<()> {
        self.project_read(caller, project, Need::Read, move |tx, p| {
            let n = crate::network::visible_network(tx, p, network)?;
            rules::router_gateway_network_external(&n)
        })
        .await
    }

    /// `router_list`: the project's routers, by id.
    pub async fn router_list(&self, caller: &Caller, project: &ProjectId) -> Result<Vec<Router>> {
        self.project_read(caller, project, Need::Read, move |tx, p| tx.router_list(p))
            .await
    }

    /// `router_list_every_project`: a page of every project's routers in id
    /// order, for the caller whose lists span projects (the cloud admin,
    /// `rules::acts_across_projects`; Neutron's admin lists all).
    pub async fn router_list_every_project(
        &self,
        caller: &Caller,
        page: nicplane_store::PageRequest,
    ) -> Result<Vec<Router>> {
        if !rules::acts_across_projects(caller.user.is_cloud_admin) {
            return Err(nicplane_domain::Error::forbidden(
                "Only the cloud admin lists every project's routers.",
            ));
        }
        self.store.read(move |tx| tx.router_page(&page)).await
    }

    /// `router_add_interface`.
    pub async fn router_add_interface(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: RouterId,
        spec: RouterInterfaceSpec,
        opts: &WriteOptions,
    ) -> Result<(Router, Vec<RouterInterface>)> {
        let policy = self.port_policy(caller);
        self.project_write(caller, project, Need::Administer, opts, move |tx, p| {
            let r = add_interface_tx(tx, p, id, &spec, policy)?;
            emit_router_interfaces(tx, p, Action::Attach, &r)?;
            Ok(r)
        })
        .await
    }

    /// `router_remove_interface`.
    pub async fn router_remove_interface(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: RouterId,
        spec: RouterInterfaceSpec,
        opts: &WriteOptions,
    ) -> Result<(Router, Vec<RouterInterface>)> {
        self.project_write(caller, project, Need::Administer, opts, move |tx, p| {
            let r = remove_interface_tx(tx, p, id, &spec)?;
            emit_router_interfaces(tx, p, Action::Detach, &r)?;
            Ok(r)
        })
        .await
    }

    /// `router_gateways`: the routers among `ids` that have a gateway, of
    /// every project, for the caller whose lists span projects (the cloud
    /// admin, `rules::acts_across_projects`): Neutron lists a gateway's port
    /// (`network:router_gateway`, of no project) to its admin only. At most
    /// [`GATEWAY_LOOKUP_MAX`] ids are read.
    pub async fn router_gateways(
        &self,
        caller: &Caller,
        ids: Vec<RouterId>,
    ) -> Result<Vec<Router>> {
        if !rules::acts_across_projects(caller.user.is_cloud_admin) {
            return Ok(Vec::new());
        }
        self.store
            .read(move |tx| {
                let mut out = Vec::new();
                for id in ids.iter().take(GATEWAY_LOOKUP_MAX) {
                    if let Some(r) = tx.router_get(*id)? {
                        if r.gateway.is_some() {
                            out.push(r);
                        }
                    }
                }
                Ok(out)
            })
            .await
    }

    /// The router each of the project's public IPs reaches the pools
    /// through (absent: the implicit router).
    pub async fn public_ip_routers(
        &self,
        caller: &Caller,
        project: &ProjectId,
    ) -> Result<HashMap<PublicIpId, RouterId>> {
        self.project_read(caller, project, Need::Read, move |tx, p| {
            let mut out = HashMap::new();
            let ips = tx.public_ip_list(Some(p), &nicplane_store::PageRequest::default())?;
            for ip in ips {
                if let Some(i) = ip.interface_id {
                    if let Some(iface) = tx.interface_get(i)? {
                        if let Ok(Some(r)) = floating_ip_path_tx(tx, &iface) {
                            out.insert(ip.id, r);
                        }
                    }
                }
            }
            Ok(out)
        })
        .await
    }
}
