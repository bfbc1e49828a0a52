//! Ports on external networks: the cloud admin's address reservations in an
//! external network's pools (Neutron lets its admin make ports there; the
//! Tempest tests use one to learn a free public address, or to hold one).
//!
//! A port's addresses come out of the same allocator as floating IPs and
//! router gateways (`public_ip::take_public_address`, `try_take_chosen`,
//! `take_from_pool`: the pool's free ranges and release queue, under the
//! pool's lock), so a floating IP, a gateway and a port never share one;
//! deleting the port puts them at the end of their pools' release queues.
//! A port on an external network is attached to nothing
//! (`rules::external_port_not_attachable`): a VM's NIC never goes on an
//! external network (the console guide's public IPs go on interfaces of
//! standard networks), so such a port has no data plane. Only the cloud
//! admin makes, renames or deletes one (`rules::external_port_allowed`);
//! members of the project it was made in see it. Every use case is one
//! transaction and records its event (`external_port`).

use crate::feed::emit_kind;
use crate::public_ip::{take_from_pool, take_public_address, try_take_chosen, PoolScope};
use crate::router::GatewayIpRequest;
use crate::{Caller, Need, PortPolicy, Service, WriteOptions};
use nicplane_domain::feed::Action;
use nicplane_domain::ids::*;
use nicplane_domain::model::*;
use nicplane_domain::rules;
use nicplane_domain::types::{check_text, MacAddr};
use nicplane_domain::{Error, Kind, Result};
use nicplane_store::{PageRequest, Tx};
use serde::{Deserialize, Serialize};

/// The change feed's kind of a port on an external network.
const KIND: &str = "external_port";

/// A port to make on an external network.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalPortSpec {
    #[serde(default)]
    #[schema(max_length = 255)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 255)]
    pub description: String,
    /// None: a random MAC under the configured prefix.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub mac_address: Option<MacAddr>,
    #[serde(default)]
    pub device_owner: String,
    /// Must stay empty: the port is attached to nothing.
    #[serde(default)]
    pub device_id: Option<String>,
    /// Chosen addresses (and/or pools); none: one address of the pools.
    #[serde(default)]
    pub fixed_ips: Vec<GatewayIpRequest>,
}

/// Changes to a port on an external network.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalPortPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// Load a port of the project; anything else is "not found".
pub fn owned_port(tx: &mut dyn Tx, project: &ProjectId, id: InterfaceId) -> Result<ExternalPort> {
    match tx.external_port_get(id)? {
        Some(p) if &p.project_id == project => Ok(p),
        _ => Err(Error::not_found(Kind::Interface, id)),
    }
}

/// Take one address for a port: a chosen one (free, in the named pool when
/// one is named), the next of a named pool, or the next of the network.
fn take_address(
    tx: &mut dyn Tx,
    network: &ExternalNetwork,
    r: &GatewayIpRequest,
) -> Result<(PublicIpPool, u64, std::net::IpAddr)> {
    let scope = PoolScope::Network(network.id);
    if let Some(p) = r.pool_id {
        rules::pool_of_external_network(p, network)?;
    }
    match (r.ip_address, r.pool_id) {
        (Some(a), named) => {
            let (pool, offset, taken) = try_take_chosen(tx, scope, a)?;
            if let Some(p) = named {
                rules::address_in_named_pool(a, p, pool.id)?;
            }
            rules::external_port_address_free(taken, a, network.id)?;
            Ok((pool, offset, a))
        }
        (None, Some(p)) => take_from_pool(tx, scope, p),
        (None, None) => take_public_address(tx, scope),
    }
}

/// Make a port on an external network (inside a transaction).
pub fn create_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    network: ExternalNetworkId,
    spec: &ExternalPortSpec,
    policy: PortPolicy,
) -> Result<ExternalPort> {
    let network = crate::external_network::load(tx, network)?;
    rules::external_port_allowed(policy.cloud_admin, network.id)?;
    rules::external_port_not_attachable(spec.device_id.as_deref())?;
    check_text("name", &spec.name)?;
    check_text("description", &spec.description)?;
    check_text("device_owner", &spec.device_owner)?;
    rules::fixed_ips_bound(spec.fixed_ips.len(), policy.max_fixed_ips)?;
    rules::external_network_has_pools(&network)?;
    let mut taken = Vec::new();
    if spec.fixed_ips.is_empty() {
        taken.push(take_address(tx, &network, &GatewayIpRequest::default())?);
    }
    for r in &spec.fixed_ips {
        taken.push(take_address(tx, &network, r)?);
    }
    let t = now();
    let mut port = ExternalPort {
        id: InterfaceId::new(),
        project_id: project.clone(),
        external_network_id: network.id,
        data_center_id: network.data_center_id,
        name: spec.name.clone(),
        description: spec.description.clone(),
        mac_address: spec
            .mac_address
            .unwrap_or_else(|| policy.mac_prefix.random(&mut rand::thread_rng())),
        device_owner: spec.device_owner.clone(),
        fixed_ips: vec![],
        created_at: t,
        updated_at: t,
    };
    insert_with_mac(tx, &mut port, spec.mac_address, policy)?;
    for (pool, offset, address) in taken {
        tx.external_port_ip_insert(port.id, pool.id, offset, address)?;
        port.fixed_ips.push(GatewayIp {
            pool_id: pool.id,
            ip_address: address,
        });
    }
    Ok(port)
}

/// Insert the port's row under the chosen MAC, or under a random MAC of the
/// prefix, drawing again while the network's unique index
/// `external_ports_mac` says it is taken (as `interface::insert_with_mac`).
fn insert_with_mac(
    tx: &mut dyn Tx,
    port: &mut ExternalPort,
    chosen: Option<MacAddr>,
    policy: PortPolicy,
) -> Result<()> {
    if let Some(mac) = chosen {
        port.mac_address = mac;
        if !tx.external_port_insert_if_mac_free(port)? {
            return Err(rules::mac_in_use(mac));
        }
        return Ok(());
    }
    for _ in 0..crate::interface::MAC_ATTEMPTS {
        if tx.external_port_insert_if_mac_free(port)? {
            return Ok(());
        }
        port.mac_address = policy.mac_prefix.random(&mut rand::thread_rng());
    }
    Err(Error::exhausted(format!(
        "No free MAC address under the configured prefix {}: {} random draws were all taken.",
        policy.mac_prefix,
        crate::interface::MAC_ATTEMPTS
    )))
}

/// Rename or re-describe (inside a transaction).
pub fn update_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    id: InterfaceId,
    patch: &ExternalPortPatch,
    cloud_admin: bool,
) -> Result<ExternalPort> {
    let mut port = owned_port(tx, project, id)?;
    rules::external_port_allowed(cloud_admin, port.external_network_id)?;
    if let Some(n) = &patch.name {
        check_text("name", n)?;
        port.name = n.clone();
    }
    if let Some(d) = &patch.description {
        check_text("description", d)?;
        port.description = d.clone();
    }
    port.updated_at = now();
    tx.external_port_update(&port)?;
    Ok(port)
}

/// Delete a port (inside a transaction): its addresses go to the end of
/// their pools' release queues.
pub fn delete_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    id: InterfaceId,
    cloud_admin: bool,
) -> Result<ExternalPort> {
    let port = owned_port(tx, project, id)?;
    rules::external_port_allowed(cloud_admin, port.external_network_id)?;
    for (pool, offset) in tx.external_port_delete(id)? {
        tx.pool_release(pool, offset)?;
    }
    Ok(port)
}

impl Service {
    /// `external_port_create` (cloud admin): a port on an external network,
    /// in the project (the caller's, or one the cloud admin named).
    pub async fn external_port_create(
        &self,
        caller: &Caller,
        project: &ProjectId,
        network: ExternalNetworkId,
        spec: ExternalPortSpec,
        opts: &WriteOptions,
    ) -> Result<ExternalPort> {
        let policy = self.port_policy(caller);
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let port = create_tx(tx, p, network, &spec, policy)?;
            emit_kind(tx, KIND, port.id, Some(p), Action::Create, Some(&port))?;
            Ok(port)
        })
        .await
    }

    /// `external_port_get`: a port on an external network of the project.
    pub async fn external_port_get(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: InterfaceId,
    ) -> Result<ExternalPort> {
        self.project_read(caller, project, Need::Read, move |tx, p| {
            owned_port(tx, p, id)
        })
        .await
    }

    /// `external_port_list`: a page (by id) of the project's ports on
    /// external networks, on one network when it is named.
    pub async fn external_port_list(
        &self,
        caller: &Caller,
        project: &ProjectId,
        network: Option<ExternalNetworkId>,
        page: PageRequest,
    ) -> Result<Vec<ExternalPort>> {
        self.project_read(caller, project, Need::Read, move |tx, p| {
            tx.external_port_list(Some(p), network, &page)
        })
        .await
    }

    /// `external_port_list_every_project`: a page (by id) of every
    /// project's ports on external networks, for the caller whose lists
    /// span projects (the cloud admin, `rules::acts_across_projects`).
    pub async fn external_port_list_every_project(
        &self,
        caller: &Caller,
        network: Option<ExternalNetworkId>,
        page: PageRequest,
    ) -> Result<Vec<ExternalPort>> {
        if !rules::acts_across_projects(caller.user.is_cloud_admin) {
            return Err(Error::forbidden(
                "Only the cloud admin lists every project's ports on external networks.",
            ));
        }
        self.store
            .read(move |tx| tx.external_port_list(None, network, &page))
            .await
    }

    /// `external_port_update` (cloud admin): name and description.
    pub async fn external_port_update(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: InterfaceId,
        patch: ExternalPortPatch,
        opts: &WriteOptions,
    ) -> Result<ExternalPort> {
        let cloud_admin = caller.user.is_cloud_admin;
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let port = update_tx(tx, p, id, &patch, cloud_admin)?;
            emit_kind(tx, KIND, port.id, Some(p), Action::Update, Some(&port))?;
            Ok(port)
        })
        .await
    }

    /// `external_port_delete` (cloud admin): its addresses are free again,
    /// at the end of their pools' release queues.
    pub async fn external_port_delete(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: InterfaceId,
        opts: &WriteOptions,
    ) -> Result<ExternalPort> {
        let cloud_admin = caller.user.is_cloud_admin;
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let port = delete_tx(tx, p, id, cloud_admin)?;
            emit_kind::<()>(tx, KIND, port.id, Some(p), Action::Delete, None)?;
            Ok(port)
        })
        .await
    }
}
