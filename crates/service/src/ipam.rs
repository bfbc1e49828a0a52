//! Address allocation for interfaces, on top of the store's free ranges
//! (design in `nicplane_domain::ipam`). Runs inside the caller's transaction.

use nicplane_domain::ids::{InterfaceId, SubnetId};
use nicplane_domain::ipam::AddressSpace;
use nicplane_domain::model::{FixedIp, Network, Subnet};
use nicplane_domain::rules;
use nicplane_domain::types::MacAddr;
use nicplane_domain::{Error, Result};
use nicplane_store::{Claim, Tx};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// One requested fixed IP: a subnet, an address, an IP version, or a mix
/// that must agree. Empty means "any address of the network".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FixedIpRequest {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub subnet_id: Option<SubnetId>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub ip_address: Option<IpAddr>,
    #[serde(default)]
    pub ip_version: Option<u8>,
}

/// An address taken but not yet recorded against its interface.
#[derive(Debug, Clone)]
pub struct Taken {
    pub subnet: Subnet,
    pub offset: u64,
    pub address: IpAddr,
    pub in_pool: bool,
}

fn space(subnet: &Subnet) -> Result<AddressSpace> {
    AddressSpace::new(subnet.cidr)
}

fn take_next(tx: &mut dyn Tx, subnet: &Subnet) -> Result<Taken> {
    let offset = tx
        .ip_take_next(subnet.id)?
        .ok_or_else(|| rules::subnet_exhausted(&subnet.name))?;
    Ok(Taken {
        subnet: subnet.clone(),
        offset,
        address: space(subnet)?.address_at(offset)?,
        in_pool: true,
    })
}

fn take_specific(tx: &mut dyn Tx, subnet: &Subnet, ip: IpAddr) -> Result<Taken> {
    let sp = space(subnet)?;
    let offset = rules::fixed_ip_allowed(&sp, subnet.gateway_ip, &subnet.name, ip)?;
    match tx.ip_take(subnet.id, offset)? {
        Claim::InUse => Err(rules::address_in_use(ip, &subnet.name)),
        Claim::Claimed { in_pool } => Ok(Taken {
            subnet: subnet.clone(),
            offset,
            address: ip,
            in_pool,
        }),
    }
}

/// What an interface on a network gets: addresses taken from the pools now,
/// and the SLAAC / DHCPv6-stateless subnets whose address is computed from
/// the MAC once it is known ([`auto_addresses`]).
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub taken: Vec<Taken>,
    pub auto: Vec<Subnet>,
}

/// Take the first free address of the first subnet with room, in the
/// network's stable order (IP version, creation, id).
fn take_first_with_room(tx: &mut dyn Tx, subnets: &[&Subnet]) -> Result<Option<Taken>> {
    let mut last = None;
    for s in subnets {
        match take_next(tx, s) {
            Ok(t) => return Ok(Some(t)),
            Err(e @ Error::CapacityExhausted { .. }) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    match last {
        Some(e) => Err(e),
        None => Ok(None),
    }
}

/// Take the addresses an interface on `network` gets. Nothing requested
/// (Neutron): one address from the first IPv4 subnet with room, one from the
/// first stateful IPv6 subnet with room, and one computed address per SLAAC
/// or DHCPv6-stateless subnet. Else exactly what is requested: a subnet, an
/// address, or both, per entry.
pub fn take_addresses(
    tx: &mut dyn Tx,
    network: &Network,
    requests: &[FixedIpRequest],
) -> Result<Plan> {
    let subnets = tx.subnets_of_network(network.id)?;
    let mut plan = Plan::default();
    if requests.is_empty() {
        let v4: Vec<&Subnet> = subnets.iter().filter(|s| s.ip_version == 4).collect();
        let v6: Vec<&Subnet> = subnets
            .iter()
            .filter(|s| s.ip_version == 6 && !s.auto_address())
            .collect();
        for group in [v4, v6] {
            plan.taken.extend(take_first_with_room(tx, &group)?);
        }
        plan.auto = subnets
            .iter()
            .filter(|s| s.auto_address())
            .cloned()
            .collect();
        return Ok(plan);
    }
    for req in requests {
        if let Some(v) = req.ip_version {
            if v != 4 && v != 6 {
                return Err(Error::invalid_value(
                    "ip_version",
                    format!("{v} is not 4 or 6."),
                ));
            }
            if let Some(ip) = req.ip_address {
                let actual = if ip.is_ipv4() { 4 } else { 6 };
                if actual != v {
                    return Err(Error::invalid(format!(
                        "The IP address {ip} is not an IPv{v} address."
                    )));
                }
            }
        }
        let subnet = if let Some(sid) = req.subnet_id {
            subnets.iter().find(|s| s.id == sid).ok_or_else(|| {
                Error::invalid(format!(
                    "Subnet {sid} is not a subnet of network {}.",
                    network.name
                ))
            })?
        } else if let Some(ip) = req.ip_address {
            subnets
                .iter()
                .find(|s| s.cidr.contains(&ip))
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "The IP address {ip} is not in any subnet of network {}.",
                        network.name
                    ))
                })?
        } else {
            // Only a version: the first subnet of it with room (creation
            // order), a computed address when all of them are SLAAC.
            let v = req.ip_version.unwrap_or(4);
            let of_version: Vec<&Subnet> = subnets.iter().filter(|s| s.ip_version == v).collect();
            let stateful: Vec<&Subnet> = of_version
                .iter()
                .copied()
                .filter(|s| !s.auto_address())
                .collect();
            if !stateful.is_empty() {
                plan.taken.extend(take_first_with_room(tx, &stateful)?);
                continue;
            }
            of_version.first().copied().ok_or_else(|| {
                Error::invalid(format!("Network {} has no IPv{v} subnet.", network.name))
            })?
        };
        if let Some(v) = req.ip_version {
            if subnet.ip_version != v {
                return Err(Error::invalid(format!(
                    "Subnet {} is not an IPv{v} subnet.",
                    subnet.name
                )));
            }
        }
        if subnet.auto_address() {
            if let Some(ip) = req.ip_address {
                return Err(rules::fixed_ip_on_auto_address_subnet(ip, subnet.id));
            }
            if !plan.auto.iter().any(|s| s.id == subnet.id) {
                plan.auto.push(subnet.clone());
            }
            continue;
        }
        let taken = match req.ip_address {
            Some(ip) => take_specific(tx, subnet, ip)?,
            None => take_next(tx, subnet)?,
        };
        plan.taken.push(taken);
    }
    Ok(plan)
}

/// The computed (EUI-64) addresses of an interface with this MAC on the
/// plan's SLAAC / DHCPv6-stateless subnets. Not taken from the free ranges:
/// they are recorded outside the pools, the unique `(subnet_id, offset)`
/// key still guarding them.
pub fn auto_addresses(auto: &[Subnet], mac: &MacAddr) -> Result<Vec<Taken>> {
    auto.iter()
        .map(|s| {
            let address = rules::eui64_address(s.cidr, mac)?;
            let offset = space(s)?
                .offset_of(address)
                .ok_or_else(|| Error::internal("EUI-64 address outside its /64"))?;
            Ok(Taken {
                subnet: s.clone(),
                offset,
                address,
                in_pool: false,
            })
        })
        .collect()
}

/// Record taken addresses against their interface (after it is inserted).
pub fn record(tx: &mut dyn Tx, iface: InterfaceId, taken: &[Taken]) -> Result<()> {
    for t in taken {
        tx.ip_record(t.subnet.id, t.offset, t.address, iface, t.in_pool)?;
    }
    Ok(())
}

/// The fixed IPs as the interface shows them.
pub fn fixed_ips(taken: &[Taken]) -> Vec<FixedIp> {
    taken
        .iter()
        .map(|t| FixedIp {
            subnet_id: t.subnet.id,
            ip_address: t.address,
        })
        .collect()
}

/// Return an interface's addresses to their subnets.
pub fn release(tx: &mut dyn Tx, fixed: &[FixedIp]) -> Result<()> {
    for f in fixed {
        let Some(cidr) = tx.subnet_cidr(f.subnet_id)? else {
            continue;
        };
        if let Some(offset) = AddressSpace::new(cidr)?.offset_of(f.ip_address) {
            tx.ip_release(f.subnet_id, offset)?;
        }
    }
    Ok(())
}
