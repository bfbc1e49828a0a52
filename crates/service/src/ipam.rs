//! Address allocation for interfaces, on top of the store's free ranges
//! (design in `nicplane_domain::ipam`). Runs inside the caller's transaction.

use nicplane_domain::ids::{InterfaceId, SubnetId};
use nicplane_domain::ipam::AddressSpace;
use nicplane_domain::model::{FixedIp, Network, Subnet};
use nicplane_domain::rules;
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

/// Take the addresses an interface on `network` gets: one per subnet (IPv4
/// and, when present, IPv6) when nothing is requested, else what is requested.
pub fn take_addresses(
    tx: &mut dyn Tx,
    network: &Network,
    requests: &[FixedIpRequest],
) -> Result<Vec<Taken>> {
    let subnets = tx.subnets_of_network(network.id)?;
    let mut out = Vec::new();
    if requests.is_empty() {
        for s in &subnets {
            out.push(take_next(tx, s)?);
        }
        return Ok(out);
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
            let v = req.ip_version.unwrap_or(4);
            subnets.iter().find(|s| s.ip_version == v).ok_or_else(|| {
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
        let taken = match req.ip_address {
            Some(ip) => take_specific(tx, subnet, ip)?,
            None => take_next(tx, subnet)?,
        };
        out.push(taken);
    }
    Ok(out)
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
        let Some(subnet) = tx.subnet_get(f.subnet_id)? else {
            continue;
        };
        if let Some(offset) = space(&subnet)?.offset_of(f.ip_address) {
            tx.ip_release(subnet.id, offset)?;
        }
    }
    Ok(())
}
