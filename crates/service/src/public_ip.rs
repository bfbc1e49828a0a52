//! Public IPs: allocated from the pools of an external network (by default
//! the data center's pools, its default external network's first), on an
//! interface of a standard network (or unattached), released permanently.

use crate::feed::{emit, emit_deleted};
use crate::interface::owned_interface;
use crate::{Caller, Need, Service, WriteOptions};
use nicplane_domain::feed::Action;
use nicplane_domain::ids::*;
use nicplane_domain::ipam::AddressSpace;
use nicplane_domain::model::*;
use nicplane_domain::rules::{self, PublicIpSource};
use nicplane_domain::types::check_text;
use nicplane_domain::{Error, Kind, Result};
use nicplane_store::{PageRequest, Tx};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// A public IP to allocate: on an interface, or unattached in a data center.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicIpSpec {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub interface_id: Option<InterfaceId>,
    /// Needed when no interface is given.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub data_center_id: Option<DataCenterId>,
    /// Take the address from this external network's pools (of the
    /// interface's data center); none: the data center's pools.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub external_network_id: Option<ExternalNetworkId>,
    #[serde(default)]
    pub description: String,
}

/// Where a public address comes from: the pools of one external network,
/// or every pool of a data center (its default external network's first).
#[derive(Debug, Clone, Copy)]
pub enum PoolScope {
    Network(ExternalNetworkId),
    DataCenter(DataCenterId),
}

/// The pools of a scope, in the order addresses are taken from them (IPv4
/// pools before IPv6 ones).
fn pools_of(tx: &mut dyn Tx, scope: PoolScope) -> Result<Vec<PublicIpPool>> {
    let mut pools = pools_of_any(tx, scope)?;
    pools.sort_by_key(|p| p.cidr.addr().is_ipv6());
    Ok(pools)
}

fn pools_of_any(tx: &mut dyn Tx, scope: PoolScope) -> Result<Vec<PublicIpPool>> {
    Ok(match scope {
        PoolScope::Network(n) => tx
            .pool_list(None)?
            .into_iter()
            .filter(|p| p.external_network_id == n)
            .collect(),
        PoolScope::DataCenter(dc) => {
            let default = ExternalNetworkId::default_of(dc);
            let (mut first, rest): (Vec<_>, Vec<_>) = tx
                .pool_list(Some(dc))?
                .into_iter()
                .partition(|p| p.external_network_id == default);
            first.extend(rest);
            first
        }
    })
}

/// Take the next address of the scope's pools, honouring the release
/// order rule. Returns (pool, offset, address).
pub fn take_public_address(
    tx: &mut dyn Tx,
    scope: PoolScope,
) -> Result<(PublicIpPool, u64, std::net::IpAddr)> {
    let pools = pools_of(tx, scope)?;
    take_first_free(tx, pools)
}

/// Take the next address of the scope's IPv4 pools (a floating IP's:
/// `rules::floating_ip_pools_ipv4` refuses a network with IPv6 pools only).
pub fn take_floating_address(
    tx: &mut dyn Tx,
    scope: PoolScope,
) -> Result<(PublicIpPool, u64, std::net::IpAddr)> {
    let pools = pools_of(tx, scope)?;
    if let PoolScope::Network(n) = scope {
        rules::floating_ip_pools_ipv4(n, &pools)?;
    }
    let v4 = pools
        .into_iter()
        .filter(|p| p.cidr.addr().is_ipv4())
        .collect();
    take_first_free(tx, v4)
}

fn take_first_free(
    tx: &mut dyn Tx,
    pools: Vec<PublicIpPool>,
) -> Result<(PublicIpPool, u64, std::net::IpAddr)> {
    if pools.is_empty() {
        return Err(Error::exhausted(
            "The data center has no public IP pool; ask the cloud admin to create one.",
        ));
    }
    let mut last_err = None;
    for pool in pools {
        match take_next_of(tx, &pool) {
            Ok((offset, addr)) => return Ok((pool, offset, addr)),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| Error::exhausted("No public IP address is free.")))
}

/// Take the next address of one pool, honouring the release order rule.
fn take_next_of(tx: &mut dyn Tx, pool: &PublicIpPool) -> Result<(u64, IpAddr)> {
    let fresh = tx.pool_fresh_head(pool.id)?;
    let released = tx.pool_released_head(pool.id)?;
    match rules::public_ip_release_order(fresh, released, &pool.name)? {
        PublicIpSource::Fresh(range) => {
            let offset = tx.pool_take_fresh(pool.id, range)?;
            Ok((offset, AddressSpace::new(pool.cidr)?.address_at(offset)?))
        }
        PublicIpSource::Released { seq, offset } => {
            tx.pool_take_released(pool.id, seq)?;
            Ok((offset, AddressSpace::new(pool.cidr)?.address_at(offset)?))
        }
    }
}

/// Take the next address of a given pool of the scope.
pub fn take_from_pool(
    tx: &mut dyn Tx,
    scope: PoolScope,
    pool: PoolId,
) -> Result<(PublicIpPool, u64, IpAddr)> {
    let pool = pools_of(tx, scope)?
        .into_iter()
        .find(|p| p.id == pool)
        .ok_or_else(|| Error::not_found(Kind::PublicIpPool, pool))?;
    let (offset, addr) = take_next_of(tx, &pool)?;
    Ok((pool, offset, addr))
}

/// Check that a public IP may go on this interface: standard network, IPv4
/// address, none there yet, a path to the public pools
/// (`rules::floating_ip_path`).
pub fn check_target(tx: &mut dyn Tx, iface: &Interface) -> Result<()> {
    let network = tx
        .network_get(iface.network_id)?
        .ok_or_else(|| Error::not_found(Kind::Network, iface.network_id))?;
    rules::public_ip_network_allowed(&network)?;
    rules::one_public_ip_per_interface(iface)?;
    rules::public_ip_needs_ipv4(iface)?;
    crate::router::floating_ip_path_tx(tx, iface)?;
    Ok(())
}

/// Allocate (inside a transaction).
pub fn allocate_tx(tx: &mut dyn Tx, project: &ProjectId, spec: &PublicIpSpec) -> Result<PublicIp> {
    allocate_at_tx(tx, project, spec, None, None)
}

/// Take a chosen address of the data center's pools: a host address of one
/// of them (`rules::public_ip_chosen_in_pool`), free
/// (`rules::public_ip_address_free`), taken under the pool's lock whether
/// it was never used or released.
pub fn take_chosen_address(
    tx: &mut dyn Tx,
    scope: PoolScope,
    address: IpAddr,
) -> Result<(PublicIpPool, u64, IpAddr)> {
    let (pool, offset, taken) = try_take_chosen(tx, scope, address)?;
    rules::public_ip_address_free(taken, address, &pool)?;
    Ok((pool, offset, address))
}

/// Take a chosen address of the scope's pools if it is free: (pool,
/// offset, whether it was free and is now taken). The caller words the
/// refusal of a held address (a floating IP's and a gateway's
/// `rules::public_ip_address_free`, a port's
/// `rules::external_port_address_free`).
pub fn try_take_chosen(
    tx: &mut dyn Tx,
    scope: PoolScope,
    address: IpAddr,
) -> Result<(PublicIpPool, u64, bool)> {
    let pools = pools_of(tx, scope)?;
    let (pool, offset) = rules::public_ip_chosen_in_pool(address, &pools)?;
    let taken = tx.pool_take_offset(pool.id, offset)?;
    Ok((pool.clone(), offset, taken))
}

/// Allocate (inside a transaction), at a chosen address when one is given
/// (the caller checked that it may choose: `rules::public_ip_address_choice_allowed`).
pub fn allocate_at_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    spec: &PublicIpSpec,
    chosen: Option<IpAddr>,
    fixed_ip: Option<IpAddr>,
) -> Result<PublicIp> {
    check_text("description", &spec.description)?;
    let network = spec
        .external_network_id
        .map(|n| crate::external_network::load(tx, n))
        .transpose()?;
    let (dc, iface) = match (spec.interface_id, spec.data_center_id, &network) {
        (Some(id), _, _) => {
            let iface = owned_interface(tx, project, id)?;
            check_target(tx, &iface)?;
            (iface.data_center_id, Some(iface))
        }
        (None, _, Some(n)) => (n.data_center_id, None),
        (None, Some(dc), None) => {
            tx.data_center_get(dc)?
                .ok_or_else(|| Error::invalid(format!("Data center {dc} does not exist.")))?;
            (dc, None)
        }
        (None, None, None) => {
            return Err(Error::invalid(
                "Give the interface_id to put the public IP on, an external_network_id or a data_center_id.",
            ))
        }
    };
    let scope = match &network {
        Some(n) => {
            if let Some(i) = &iface {
                rules::interface_in_pool_data_center(i, n.data_center_id)?;
            }
            if let Some(d) = spec.data_center_id {
                rules::pool_in_network_data_center(n, d)?;
            }
            PoolScope::Network(n.id)
        }
        None => PoolScope::DataCenter(dc),
    };
    let (pool, offset, address) = match chosen {
        Some(a) => {
            rules::floating_ip_address_ipv4(a)?;
            take_chosen_address(tx, scope, a)?
        }
        None => take_floating_address(tx, scope)?,
    };
    let ip = PublicIp {
        id: PublicIpId::new(),
        project_id: project.clone(),
        pool_id: pool.id,
        data_center_id: dc,
        external_network_id: pool.external_network_id,
        address,
        interface_id: iface.as_ref().map(|i| i.id),
        vm_id: iface.as_ref().and_then(|i| i.vm_id),
        fixed_ip: iface.as_ref().and_then(|i| fixed_ip.or_else(|| i.ipv4())),
        description: spec.description.clone(),
        created_at: now(),
    };
    tx.public_ip_insert(&ip, offset)?;
    Ok(ip)
}

/// Release (inside a transaction): the address goes to the back of its pool.
pub fn release_tx(tx: &mut dyn Tx, project: &ProjectId, id: PublicIpId) -> Result<PublicIp> {
    let (ip, offset) = owned_public_ip(tx, project, id)?;
    tx.pool_release(ip.pool_id, offset)?;
    tx.public_ip_delete(ip.id)?;
    Ok(ip)
}

/// Load a public IP of the project.
pub fn owned_public_ip(
    tx: &mut dyn Tx,
    project: &ProjectId,
    id: PublicIpId,
) -> Result<(PublicIp, u64)> {
    match tx.public_ip_get(id)? {
        Some((ip, o)) if &ip.project_id == project => Ok((ip, o)),
        _ => Err(Error::not_found(Kind::PublicIp, id)),
    }
}

/// Move a public IP onto an interface, or off any (inside a transaction).
///
/// `fixed_ip`, when given, must be the target's IPv4 address
/// (`rules::public_ip_fixed_ip_matches`; Neutron's `fixed_ip_address`).
pub fn associate_tx(
    tx: &mut dyn Tx,
    project: &ProjectId,
    id: PublicIpId,
    target: Option<InterfaceId>,
    fixed_ip: Option<&str>,
) -> Result<PublicIp> {
    let (ip, _) = owned_public_ip(tx, project, id)?;
    let mut maps_to = None;
    if let Some(t) = target {
        let iface = owned_interface(tx, project, t)?;
        maps_to = rules::public_ip_fixed_ip_matches(&iface, fixed_ip)?;
        // Re-associating with the same port keeps the chosen address.
        if fixed_ip.is_none() && ip.interface_id == Some(t) {
            maps_to = ip.fixed_ip.or(maps_to);
        }
        if ip.interface_id != Some(t) {
            check_target(tx, &iface)?;
        }
        rules::public_ip_in_interface_data_center(&ip, &iface)?;
    }
    tx.public_ip_set_interface(id, target, &ip.description, maps_to)?;
    Ok(tx
        .public_ip_get(id)?
        .ok_or_else(|| Error::not_found(Kind::PublicIp, id))?
        .0)
}

impl Service {
    /// `public_ip_allocate`.
    pub async fn public_ip_allocate(
        &self,
        caller: &Caller,
        project: &ProjectId,
        spec: PublicIpSpec,
        opts: &WriteOptions,
    ) -> Result<PublicIp> {
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let ip = allocate_tx(tx, p, &spec)?;
            emit(
                tx,
                Kind::PublicIp,
                ip.id,
                Some(p),
                Action::Create,
                Some(&ip),
            )?;
            Ok(ip)
        })
        .await
    }

    /// `public_ip_release`: permanent; the next allocation gets another address.
    pub async fn public_ip_release(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: PublicIpId,
        opts: &WriteOptions,
    ) -> Result<PublicIp> {
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let ip = release_tx(tx, p, id)?;
            emit_deleted(tx, Kind::PublicIp, ip.id, Some(p))?;
            Ok(ip)
        })
        .await
    }

    /// `public_ip_release` by interface: release the interface's public IP.
    pub async fn public_ip_release_on_interface(
        &self,
        caller: &Caller,
        project: &ProjectId,
        iface: InterfaceId,
        opts: &WriteOptions,
    ) -> Result<PublicIp> {
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let i = owned_interface(tx, p, iface)?;
            let (ip, _) = tx.public_ip_of_interface(i.id)?.ok_or_else(|| {
                Error::not_found(Kind::PublicIp, format!("on network interface {iface}"))
            })?;
            let ip = release_tx(tx, p, ip.id)?;
            emit_deleted(tx, Kind::PublicIp, ip.id, Some(p))?;
            Ok(ip)
        })
        .await
    }

    /// `public_ip_associate`: move a public IP onto an interface or off it.
    pub async fn public_ip_associate(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: PublicIpId,
        target: Option<InterfaceId>,
        fixed_ip: Option<String>,
        opts: &WriteOptions,
    ) -> Result<PublicIp> {
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let ip = associate_tx(tx, p, id, target, fixed_ip.as_deref())?;
            emit(
                tx,
                Kind::PublicIp,
                ip.id,
                Some(p),
                Action::Update,
                Some(&ip),
            )?;
            Ok(ip)
        })
        .await
    }

    /// `public_ip_list`.
    pub async fn public_ip_list(
        &self,
        caller: &Caller,
        project: &ProjectId,
        page: PageRequest,
    ) -> Result<Vec<PublicIp>> {
        self.project_read(caller, project, Need::Read, move |tx, p| {
            tx.public_ip_list(Some(p), &page)
        })
        .await
    }

    /// `public_ip_list_every_project`: a page of every project's public IPs
    /// in id order, for the caller whose lists span projects (the cloud
    /// admin, `rules::acts_across_projects`; Neutron's admin lists all).
    pub async fn public_ip_list_every_project(
        &self,
        caller: &Caller,
        page: PageRequest,
    ) -> Result<Vec<PublicIp>> {
        if !nicplane_domain::rules::acts_across_projects(caller.user.is_cloud_admin) {
            return Err(Error::forbidden(
                "Only the cloud admin lists every project's public IPs.",
            ));
        }
        self.store
            .read(move |tx| tx.public_ip_list(None, &page))
            .await
    }

    /// `public_ip_get`.
    pub async fn public_ip_get(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: PublicIpId,
    ) -> Result<PublicIp> {
        self.project_read(caller, project, Need::Read, move |tx, p| {
            Ok(owned_public_ip(tx, p, id)?.0)
        })
        .await
    }
}
