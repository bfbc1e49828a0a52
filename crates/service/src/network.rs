//! Networks, subnets and security groups.

use crate::feed::{emit, emit_deleted};
use crate::{require_cloud_admin, Caller, Need, Service, WriteOptions};
use ipnet::IpNet;
use nicplane_domain::feed::Action;
use nicplane_domain::ids::*;
use nicplane_domain::ipam::{self, AddressSpace, Range};
use nicplane_domain::model::*;
use nicplane_domain::rules;
use nicplane_domain::types::{check_text, Name, NetworkKind};
use nicplane_domain::{ConflictReason, Error, Kind, Result};
use nicplane_store::{NetworkFilter, PageRequest, Tx};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Name of the network every project gets in each data center.
pub const DEFAULT_NETWORK_NAME: &str = "Default Network";
/// IPv4 range of every Default Network (a /16: room for 65,533 interfaces).
pub const DEFAULT_NETWORK_CIDR: &str = "10.0.0.0/16";
/// Name of every project's default security group.
pub use nicplane_domain::rules::DEFAULT_SECURITY_GROUP;

/// A subnet to create.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubnetSpec {
    #[serde(default)]
    #[schema(max_length = 255, pattern = r"^[^<>\x00-\x1f\x7f-\x9f]*$")]
    pub name: Option<String>,
    #[schema(value_type = String)]
    pub cidr: IpNet,
    /// Defaults to the first host address; `null` with `no_gateway` for none.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub gateway_ip: Option<IpAddr>,
    #[serde(default)]
    pub no_gateway: bool,
    /// Defaults to every host address except the gateway.
    #[serde(default)]
    pub allocation_pools: Option<Vec<AllocationPool>>,
    #[serde(default)]
    #[schema(max_length = 255, pattern = r"^[^<>\x00-\x1f\x7f-\x9f]*$")]
    pub description: Option<String>,
    /// Defaults to true.
    #[serde(default)]
    pub enable_dhcp: Option<bool>,
    /// At most 5, no duplicates, in the order hosts should use them.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub dns_nameservers: Vec<IpAddr>,
    /// At most 20, of the subnet's IP version.
    #[serde(default)]
    pub host_routes: Vec<HostRoute>,
    /// IPv6 only.
    #[serde(default)]
    pub ipv6_ra_mode: Option<Ipv6Mode>,
    /// IPv6 only; `slaac` and `dhcpv6-stateless` give ports an EUI-64
    /// address from their MAC (the subnet must be a /64).
    #[serde(default)]
    pub ipv6_address_mode: Option<Ipv6Mode>,
}

/// Changes to a subnet; its CIDR, IP version, network and IPv6 modes stay.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubnetPatch {
    #[serde(default)]
    #[schema(max_length = 255, pattern = r"^[^<>\x00-\x1f\x7f-\x9f]*$")]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(max_length = 255, pattern = r"^[^<>\x00-\x1f\x7f-\x9f]*$")]
    pub description: Option<String>,
    /// `Some(None)`: no gateway. The address may not be held by a port nor
    /// lie inside an allocation pool.
    #[serde(
        default,
        deserialize_with = "present_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub gateway_ip: Option<Option<IpAddr>>,
    /// New pools; every address in use from the old pools must stay inside.
    #[serde(default)]
    pub allocation_pools: Option<Vec<AllocationPool>>,
    #[serde(default)]
    pub enable_dhcp: Option<bool>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub dns_nameservers: Option<Vec<IpAddr>>,
    #[serde(default)]
    pub host_routes: Option<Vec<HostRoute>>,
}

/// A field that may be given as `null`: `Some(None)`, told apart from absent (`None`).
fn present_or_null<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A network to create.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    #[schema(max_length = 255, pattern = r"^[^<>\x00-\x1f\x7f-\x9f]*$")]
    pub name: String,
    #[schema(value_type = String)]
    pub data_center_id: DataCenterId,
    pub kind: NetworkKind,
    #[serde(default)]
    #[schema(max_length = 255, pattern = r"^[^<>\x00-\x1f\x7f-\x9f]*$")]
    pub description: String,
    #[serde(default)]
    pub subnets: Vec<SubnetSpec>,
}

/// A network with its subnets.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NetworkDetail {
    #[serde(flatten)]
    pub network: Network,
    pub subnets: Vec<Subnet>,
}

/// Changes to a network.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkPatch {
    #[schema(max_length = 255, pattern = r"^[^<>\x00-\x1f\x7f-\x9f]*$")]
    pub name: Option<String>,
    #[schema(max_length = 255, pattern = r"^[^<>\x00-\x1f\x7f-\x9f]*$")]
    pub description: Option<String>,
}

/// A security group to create.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityGroupSpec {
    #[schema(max_length = 255, pattern = r"^[^<>\x00-\x1f\x7f-\x9f]*$")]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 255, pattern = r"^[^<>\x00-\x1f\x7f-\x9f]*$")]
    pub description: String,
}

/// A security group rule to create.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub direction: String,
    #[serde(default)]
    pub ethertype: Option<String>,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub port_range_min: Option<u16>,
    #[serde(default)]
    pub port_range_max: Option<u16>,
    #[serde(default)]
    pub remote_ip_prefix: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub remote_group_id: Option<SecurityGroupId>,
    #[serde(default)]
    #[schema(max_length = 255, pattern = r"^[^<>\x00-\x1f\x7f-\x9f]*$")]
    pub description: String,
}

impl RuleSpec {
    /// A rule allowing all traffic in one direction and IP version,
    /// optionally only from members of a group.
    pub fn allow_all(
        direction: &str,
        ethertype: &str,
        remote_group_id: Option<SecurityGroupId>,
    ) -> Self {
        RuleSpec {
            direction: direction.into(),
            ethertype: Some(ethertype.into()),
            protocol: None,
            port_range_min: None,
            port_range_max: None,
            remote_ip_prefix: None,
            remote_group_id,
            description: String::new(),
        }
    }
}

/// Build a validated rule.
pub fn make_rule(group: SecurityGroupId, spec: &RuleSpec) -> Result<SecurityGroupRule> {
    let direction = spec.direction.to_ascii_lowercase();
    if direction != "ingress" && direction != "egress" {
        return Err(Error::invalid_value(
            "direction",
            format!("'{}' is not ingress or egress.", spec.direction),
        ));
    }
    let ethertype = match spec.ethertype.as_deref().unwrap_or("IPv4") {
        e if e.eq_ignore_ascii_case("ipv4") => "IPv4",
        e if e.eq_ignore_ascii_case("ipv6") => "IPv6",
        e => {
            return Err(Error::invalid_value(
                "ethertype",
                format!("'{e}' is not IPv4 or IPv6."),
            ))
        }
    };
    let protocol = rules::sg_rule_protocol(spec.protocol.as_deref())?;
    rules::sg_rule_ports(
        protocol.as_ref().map(|(name, n)| (name.as_str(), *n)),
        spec.port_range_min,
        spec.port_range_max,
    )?;
    let remote_ip_prefix = spec
        .remote_ip_prefix
        .as_deref()
        .map(|p| rules::sg_rule_remote_prefix(p, ethertype == "IPv6"))
        .transpose()?;
    if remote_ip_prefix.is_some() && spec.remote_group_id.is_some() {
        return Err(Error::invalid_value(
            "remote_group_id",
            "give either remote_ip_prefix or remote_group_id, not both.",
        ));
    }
    check_text("description", &spec.description)?;
    Ok(SecurityGroupRule {
        id: SecurityGroupRuleId::new(),
        security_group_id: group,
        direction,
        ethertype: ethertype.into(),
        protocol: protocol.map(|(name, _)| name),
        port_range_min: spec.port_range_min,
        port_range_max: spec.port_range_max,
        remote_ip_prefix: remote_ip_prefix.map(|n| n.to_string()),
        remote_group_id: spec.remote_group_id,
        description: spec.description.clone(),
    })
}

/// Create the project's default security group: all egress, ingress from
/// members of the group.
pub fn create_default_security_group(
    tx: &mut dyn Tx,
    project: &ProjectId,
) -> Result<SecurityGroup> {
    if let Some(sg) = tx.security_group_default(project)? {
        return Ok(sg);
    }
    let id = SecurityGroupId::new();
    let mut rules = Vec::new();
    for eth in ["IPv4", "IPv6"] {
        rules.push(make_rule(id, &RuleSpec::allow_all("egress", eth, None))?);
        rules.push(make_rule(
            id,
            &RuleSpec::allow_all("ingress", eth, Some(id)),
        )?);
    }
    let sg = SecurityGroup {
        id,
        project_id: project.clone(),
        name: DEFAULT_SECURITY_GROUP.into(),
        description: "Default security group".into(),
        is_default: true,
        rules,
        created_at: now(),
    };
    tx.security_group_insert(&sg)?;
    Ok(sg)
}

/// A random unique-local IPv6 /64 (RFC 4193) for a Default Network.
fn random_ula64() -> IpNet {
    let mut r = rand::thread_rng();
    let global: u64 = r.gen::<u64>() & 0x00ff_ffff_ffff_ffff;
    let hi: u128 = (0xfdu128 << 120) | ((global as u128) << 64);
    IpNet::new(IpAddr::V6(hi.into()), 64)
        .unwrap_or_else(|_| "fd00::/64".parse().unwrap_or_default())
}

/// Create the project's Default Network in a data center (standard; an IPv4
/// /16 and an IPv6 /64), unless it exists.
pub fn create_default_network(
    tx: &mut dyn Tx,
    project: &ProjectId,
    dc: DataCenterId,
) -> Result<Network> {
    if let Some(n) = tx.network_default(project, dc)? {
        return Ok(n);
    }
    let t = now();
    let network = Network {
        id: NetworkId::new(),
        project_id: Some(project.clone()),
        data_center_id: dc,
        name: DEFAULT_NETWORK_NAME.into(),
        description: "Created automatically for the project in this data center".into(),
        kind: NetworkKind::Standard,
        shared: false,
        is_default: true,
        created_at: t,
        updated_at: t,
    };
    tx.network_insert(&network)?;
    let v4: IpNet = DEFAULT_NETWORK_CIDR
        .parse()
        .map_err(|_| Error::internal("bad default CIDR"))?;
    for cidr in [v4, random_ula64()] {
        subnet_insert(
            tx,
            &network,
            &SubnetSpec {
                name: Some(format!(
                    "default-v{}",
                    if cidr.addr().is_ipv4() { 4 } else { 6 }
                )),
                cidr,
                ..Default::default()
            },
        )?;
    }
    Ok(network)
}

/// The allocation pools as free ranges: the given ones (disjoint, inside
/// the CIDR) or every host address, less the gateway.
fn pool_ranges(
    space: &AddressSpace,
    pools: Option<&[AllocationPool]>,
    gateway: Option<IpAddr>,
) -> Result<Vec<Range>> {
    let mut ranges: Vec<Range> = match pools {
        Some(pools) if !pools.is_empty() => {
            let rs = pools
                .iter()
                .map(|p| space.pool_range(p.start, p.end))
                .collect::<Result<Vec<_>>>()?;
            ipam::disjoint(rs)?
        }
        _ => vec![space.host_range()],
    };
    if let Some(g) = gateway.and_then(|g| space.offset_of(g)) {
        ranges = ipam::subtract(&ranges, g);
    }
    Ok(ranges)
}

/// The ranges as the pools a subnet shows.
fn pools_of(space: &AddressSpace, ranges: &[Range]) -> Result<Vec<AllocationPool>> {
    ranges
        .iter()
        .map(|r| {
            Ok(AllocationPool {
                start: space.address_at(r.start)?,
                end: space.address_at(r.end)?,
            })
        })
        .collect()
}

/// A gateway must be a host address of the subnet.
fn gateway_valid(space: &AddressSpace, cidr: IpNet, g: IpAddr) -> Result<()> {
    match space.offset_of(g) {
        Some(o) if !space.is_reserved(o) => Ok(()),
        _ => Err(Error::invalid_value(
            "gateway_ip",
            format!("{g} is not a host address of {cidr}."),
        )),
    }
}

/// Validate and insert a subnet of a network: any number per network, of
/// either IP version, whose CIDRs do not overlap (checked with the network's
/// row locked).
pub fn subnet_insert(tx: &mut dyn Tx, network: &Network, spec: &SubnetSpec) -> Result<Subnet> {
    let space = AddressSpace::new(spec.cidr)?;
    let gateway = if spec.no_gateway {
        None
    } else {
        let g = match spec.gateway_ip {
            Some(g) => g,
            None => space.default_gateway()?,
        };
        gateway_valid(&space, spec.cidr, g)?;
        Some(g)
    };
    let ranges = pool_ranges(&space, spec.allocation_pools.as_deref(), gateway)?;
    let name = match &spec.name {
        Some(n) => {
            check_text("name", n)?;
            n.clone()
        }
        None => format!("{}-v{}", network.name, space.version()),
    };
    let description = spec.description.clone().unwrap_or_default();
    check_text("description", &description)?;
    let enable_dhcp = spec.enable_dhcp.unwrap_or(true);
    rules::ipv6_modes_valid(
        spec.cidr,
        spec.ipv6_ra_mode,
        spec.ipv6_address_mode,
        enable_dhcp,
    )?;
    let id = SubnetId::new();
    rules::dns_nameservers_valid(id, &spec.dns_nameservers)?;
    rules::host_routes_valid(id, space.version(), &spec.host_routes)?;
    let t = now();
    let subnet = Subnet {
        id,
        network_id: network.id,
        project_id: network.project_id.clone(),
        name,
        ip_version: space.version(),
        cidr: spec.cidr,
        gateway_ip: gateway,
        allocation_pools: pools_of(&space, &ranges)?,
        free_addresses: ipam::total(&ranges).to_string(),
        description,
        enable_dhcp,
        dns_nameservers: spec.dns_nameservers.clone(),
        host_routes: spec.host_routes.clone(),
        ipv6_ra_mode: spec.ipv6_ra_mode,
        ipv6_address_mode: spec.ipv6_address_mode,
        created_at: t,
        updated_at: t,
    };
    tx.network_lock(network.id)?;
    let existing: Vec<IpNet> = tx
        .subnets_of_network(network.id)?
        .iter()
        .map(|s| s.cidr)
        .collect();
    rules::subnet_no_overlap(&existing, subnet.cidr, network.id)?;
    tx.subnet_insert(&subnet, &ranges, ipam::total(&ranges))?;
    Ok(subnet)
}

/// Apply a patch to a subnet (inside the caller's transaction): the gateway
/// may not be held by a port nor lie in a pool; new pools must keep every
/// address in use from the old pools.
pub fn subnet_update_tx(tx: &mut dyn Tx, mut s: Subnet, patch: &SubnetPatch) -> Result<Subnet> {
    let space = AddressSpace::new(s.cidr)?;
    if let Some(n) = &patch.name {
        check_text("name", n)?;
        s.name = n.clone();
    }
    if let Some(d) = &patch.description {
        check_text("description", d)?;
        s.description = d.clone();
    }
    if let Some(d) = patch.enable_dhcp {
        rules::ipv6_modes_valid(s.cidr, s.ipv6_ra_mode, s.ipv6_address_mode, d)?;
        s.enable_dhcp = d;
    }
    if let Some(list) = &patch.dns_nameservers {
        rules::dns_nameservers_valid(s.id, list)?;
        s.dns_nameservers = list.clone();
    }
    if let Some(routes) = &patch.host_routes {
        rules::host_routes_valid(s.id, s.ip_version, routes)?;
        s.host_routes = routes.clone();
    }
    let gateway_changed = match patch.gateway_ip {
        Some(g) if g != s.gateway_ip => {
            if let Some(g) = g {
                gateway_valid(&space, s.cidr, g)?;
                let offset = space.offset_of(g).unwrap_or_default();
                if tx.ip_allocated(s.id, offset)? {
                    return Err(rules::gateway_in_use(g));
                }
            }
            s.gateway_ip = g;
            true
        }
        _ => false,
    };
    if let Some(pools) = &patch.allocation_pools {
        // The gateway is never part of a pool: explicit pools must leave it out.
        let given: Vec<Range> = pools
            .iter()
            .map(|p| space.pool_range(p.start, p.end))
            .collect::<Result<Vec<_>>>()?;
        let ranges = ipam::disjoint(given)?;
        let shown = pools_of(&space, &ranges)?;
        if let Some(g) = s.gateway_ip {
            rules::gateway_out_of_pools(g, &shown)?;
        }
        let allocated = tx.subnet_allocations(s.id)?;
        let mut free = ranges.clone();
        let mut flags = Vec::with_capacity(allocated.len());
        for (offset, was_in_pool) in allocated {
            let inside = ranges.iter().any(|r| r.contains(offset));
            if was_in_pool && !inside {
                return Err(rules::pools_exclude_used(
                    space.address_at(offset)?,
                    &s.name,
                ));
            }
            if inside {
                free = ipam::subtract(&free, offset);
            }
            flags.push((offset, inside));
        }
        tx.subnet_set_pools(s.id, &free, ipam::total(&ranges), &flags)?;
        s.allocation_pools = shown;
    } else if gateway_changed {
        if let Some(g) = s.gateway_ip {
            rules::gateway_out_of_pools(g, &s.allocation_pools)?;
        }
    }
    s.updated_at = now();
    tx.subnet_update(&s)?;
    tx.subnet_get(s.id)?
        .ok_or_else(|| Error::not_found(Kind::Subnet, s.id))
}

/// Load a network the project may use (its own or a shared one); anything
/// else is "not found".
pub fn visible_network(tx: &mut dyn Tx, project: &ProjectId, id: NetworkId) -> Result<Network> {
    match tx.network_get(id)? {
        Some(n) if n.shared || n.project_id.as_ref() == Some(project) => Ok(n),
        _ => Err(Error::not_found(Kind::Network, id)),
    }
}

/// A network a new port (interface) goes on: one the project sees; an
/// external network (which every project sees) is refused by
/// `rules::external_network_has_no_ports` rather than "not found".
pub fn network_for_port(tx: &mut dyn Tx, project: &ProjectId, id: NetworkId) -> Result<Network> {
    match visible_network(tx, project, id) {
        Err(e @ Error::NotFound { .. }) => {
            match tx.external_network_get(ExternalNetworkId(id.0))? {
                Some(ext) => Err(nicplane_domain::rules::external_network_has_no_ports(&ext)),
                None => Err(e),
            }
        }
        other => other,
    }
}

/// Load a network the project owns (for changes).
pub fn owned_network(tx: &mut dyn Tx, project: &ProjectId, id: NetworkId) -> Result<Network> {
    match tx.network_get(id)? {
        Some(n) if n.project_id.as_ref() == Some(project) => Ok(n),
        Some(n) if n.shared => Err(Error::forbidden(format!(
            "Network {} is a shared network; only the cloud admin can change it.",
            n.name
        ))),
        _ => Err(Error::not_found(Kind::Network, id)),
    }
}

/// Create a network and its subnets (inside the caller's transaction).
pub fn network_create_tx(
    tx: &mut dyn Tx,
    owner: Option<&ProjectId>,
    spec: &NetworkSpec,
    shared: bool,
) -> Result<NetworkDetail> {
    let name = Name::parse("name", &spec.name)?;
    check_text("description", &spec.description)?;
    tx.data_center_get(spec.data_center_id)?.ok_or_else(|| {
        Error::invalid(format!(
            "Data center {} does not exist.",
            spec.data_center_id
        ))
    })?;
    let t = now();
    let network = Network {
        id: NetworkId::new(),
        project_id: owner.cloned(),
        data_center_id: spec.data_center_id,
        name: name.to_string(),
        description: spec.description.clone(),
        kind: spec.kind,
        shared,
        is_default: false,
        created_at: t,
        updated_at: t,
    };
    tx.network_insert(&network)?;
    let mut subnets = Vec::new();
    for s in &spec.subnets {
        subnets.push(subnet_insert(tx, &network, s)?);
    }
    Ok(NetworkDetail { network, subnets })
}

impl Service {
    /// `network_list`: the project's networks and the shared ones.
    pub async fn network_list(
        &self,
        caller: &Caller,
        project: &ProjectId,
        mut filter: NetworkFilter,
        page: PageRequest,
    ) -> Result<Vec<NetworkDetail>> {
        filter.visible_to = Some(project.clone());
        self.project_read(caller, project, Need::Read, move |tx, _| {
            let nets = tx.network_list(&filter, &page)?;
            nets.into_iter()
                .map(|n| {
                    let subnets = tx.subnets_of_network(n.id)?;
                    Ok(NetworkDetail {
                        network: n,
                        subnets,
                    })
                })
                .collect()
        })
        .await
    }

    /// `network_get`.
    pub async fn network_get(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: NetworkId,
    ) -> Result<NetworkDetail> {
        self.project_read(caller, project, Need::Read, move |tx, p| {
            let n = visible_network(tx, p, id)?;
            let subnets = tx.subnets_of_network(n.id)?;
            Ok(NetworkDetail {
                network: n,
                subnets,
            })
        })
        .await
    }

    /// `network_create` (Tenant Administrator).
    pub async fn network_create(
        &self,
        caller: &Caller,
        project: &ProjectId,
        spec: NetworkSpec,
        opts: &WriteOptions,
    ) -> Result<NetworkDetail> {
        self.project_write(caller, project, Need::Administer, opts, move |tx, p| {
            let n = network_create_tx(tx, Some(p), &spec, false)?;
            emit(
                tx,
                Kind::Network,
                n.network.id,
                Some(p),
                Action::Create,
                Some(&n),
            )?;
            Ok(n)
        })
        .await
    }

    /// `shared_network_create` (cloud admin): a network every project can use.
    pub async fn shared_network_create(
        &self,
        caller: &Caller,
        spec: NetworkSpec,
        opts: &WriteOptions,
    ) -> Result<NetworkDetail> {
        require_cloud_admin(caller)?;
        self.write(caller, opts, move |tx| {
            let n = network_create_tx(tx, None, &spec, true)?;
            emit(
                tx,
                Kind::Network,
                n.network.id,
                None,
                Action::Create,
                Some(&n),
            )?;
            Ok(n)
        })
        .await
    }

    /// `network_update`.
    pub async fn network_update(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: NetworkId,
        patch: NetworkPatch,
        opts: &WriteOptions,
    ) -> Result<NetworkDetail> {
        self.project_write(caller, project, Need::Administer, opts, move |tx, p| {
            let mut n = owned_network(tx, p, id)?;
            if let Some(name) = &patch.name {
                n.name = Name::parse("name", name)?.to_string();
            }
            if let Some(d) = &patch.description {
                check_text("description", d)?;
                n.description = d.clone();
            }
            n.updated_at = now();
            tx.network_update(&n)?;
            let subnets = tx.subnets_of_network(n.id)?;
            let n = NetworkDetail {
                network: n,
                subnets,
            };
            emit(
                tx,
                Kind::Network,
                n.network.id,
                Some(p),
                Action::Update,
                Some(&n),
            )?;
            Ok(n)
        })
        .await
    }

    /// `network_delete`: refused while interfaces use it, and for the Default Network.
    pub async fn network_delete(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: NetworkId,
        opts: &WriteOptions,
    ) -> Result<()> {
        self.project_write(caller, project, Need::Administer, opts, move |tx, p| {
            let n = owned_network(tx, p, id)?;
            if n.is_default {
                return Err(Error::conflict(
                    ConflictReason::InUse,
                    "The Default Network cannot be deleted; new VMs are attached to it.",
                ));
            }
            network_delete_tx(tx, &n)?;
            emit_deleted(tx, Kind::Network, n.id, Some(p))
        })
        .await
    }

    /// `subnet_create`.
    pub async fn subnet_create(
        &self,
        caller: &Caller,
        project: &ProjectId,
        network: NetworkId,
        spec: SubnetSpec,
        opts: &WriteOptions,
    ) -> Result<Subnet> {
        let cloud_admin = caller.user.is_cloud_admin;
        self.project_write(caller, project, Need::Administer, opts, move |tx, p| {
            // The cloud admin owns the shared networks (as Neutron's admin).
            let n = match tx.network_get(network)? {
                Some(n) if cloud_admin && n.shared => n,
                _ => owned_network(tx, p, network)?,
            };
            let s = subnet_insert(tx, &n, &spec)?;
            emit(tx, Kind::Subnet, s.id, Some(p), Action::Create, Some(&s))?;
            Ok(s)
        })
        .await
    }

    /// `subnet_delete`: refused while addresses of it are allocated.
    pub async fn subnet_delete(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: SubnetId,
        opts: &WriteOptions,
    ) -> Result<()> {
        self.project_write(caller, project, Need::Administer, opts, move |tx, p| {
            let s = tx
                .subnet_get(id)?
                .ok_or_else(|| Error::not_found(Kind::Subnet, id))?;
            owned_network(tx, p, s.network_id).map_err(|_| Error::not_found(Kind::Subnet, id))?;
            subnet_delete_tx(tx, &s)?;
            emit_deleted(tx, Kind::Subnet, s.id, Some(p))
        })
        .await
    }

    /// `subnet_get`.
    pub async fn subnet_get(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: SubnetId,
    ) -> Result<Subnet> {
        self.project_read(caller, project, Need::Read, move |tx, p| {
            let s = tx
                .subnet_get(id)?
                .ok_or_else(|| Error::not_found(Kind::Subnet, id))?;
            visible_network(tx, p, s.network_id).map_err(|_| Error::not_found(Kind::Subnet, id))?;
            Ok(s)
        })
        .await
    }

    /// `subnet_update`: name, description, gateway, pools, DHCP, DNS servers
    /// and host routes (see [`subnet_update_tx`]).
    pub async fn subnet_update(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: SubnetId,
        patch: SubnetPatch,
        opts: &WriteOptions,
    ) -> Result<Subnet> {
        let cloud_admin = caller.user.is_cloud_admin;
        self.project_write(caller, project, Need::Administer, opts, move |tx, p| {
            let s = tx
                .subnet_get(id)?
                .ok_or_else(|| Error::not_found(Kind::Subnet, id))?;
            match tx.network_get(s.network_id)? {
                Some(n) if cloud_admin && n.shared => {}
                _ => {
                    owned_network(tx, p, s.network_id).map_err(|e| match e {
                        Error::Forbidden { .. } => e,
                        _ => Error::not_found(Kind::Subnet, id),
                    })?;
                }
            }
            let s = subnet_update_tx(tx, s, &patch)?;
            emit(tx, Kind::Subnet, s.id, Some(p), Action::Update, Some(&s))?;
            Ok(s)
        })
        .await
    }

    /// `security_group_list`.
    pub async fn security_group_list(
        &self,
        caller: &Caller,
        project: &ProjectId,
    ) -> Result<Vec<SecurityGroup>> {
        self.project_read(caller, project, Need::Read, move |tx, p| {
            tx.security_group_list(p)
        })
        .await
    }

    /// `security_group_get`.
    pub async fn security_group_get(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: SecurityGroupId,
    ) -> Result<SecurityGroup> {
        self.project_read(caller, project, Need::Read, move |tx, p| {
            owned_group(tx, p, id)
        })
        .await
    }

    /// `security_group_create`.
    pub async fn security_group_create(
        &self,
        caller: &Caller,
        project: &ProjectId,
        spec: SecurityGroupSpec,
        opts: &WriteOptions,
    ) -> Result<SecurityGroup> {
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let name = Name::parse("name", &spec.name)?;
            check_text("description", &spec.description)?;
            if name.as_str() == DEFAULT_SECURITY_GROUP {
                return Err(Error::conflict(
                    ConflictReason::NameTaken,
                    "The name default is reserved for the project's default security group.",
                ));
            }
            let id = SecurityGroupId::new();
            let egress = |eth: &str| RuleSpec::allow_all("egress", eth, None);
            let sg = SecurityGroup {
                id,
                project_id: p.clone(),
                name: name.to_string(),
                description: spec.description.clone(),
                is_default: false,
                rules: vec![
                    make_rule(id, &egress("IPv4"))?,
                    make_rule(id, &egress("IPv6"))?,
                ],
                created_at: now(),
            };
            tx.security_group_insert(&sg)?;
            emit(
                tx,
                Kind::SecurityGroup,
                sg.id,
                Some(p),
                Action::Create,
                Some(&sg),
            )?;
            Ok(sg)
        })
        .await
    }

    /// `security_group_delete`: not the default group, not while in use.
    pub async fn security_group_delete(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: SecurityGroupId,
        opts: &WriteOptions,
    ) -> Result<()> {
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let sg = owned_group(tx, p, id)?;
            if sg.is_default {
                return Err(Error::conflict(
                    ConflictReason::InUse,
                    "The default security group cannot be deleted.",
                ));
            }
            if tx.security_group_in_use(id)? {
                return Err(Error::conflict(
                    ConflictReason::InUse,
                    format!(
                        "Security group {} is still used by network interfaces.",
                        sg.name
                    ),
                ));
            }
            tx.security_group_delete(id)?;
            emit_deleted(tx, Kind::SecurityGroup, id, Some(p))
        })
        .await
    }

    /// `security_group_rule_create`.
    pub async fn security_group_rule_create(
        &self,
        caller: &Caller,
        project: &ProjectId,
        group: SecurityGroupId,
        spec: RuleSpec,
        opts: &WriteOptions,
    ) -> Result<SecurityGroupRule> {
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            // The group's row is locked first, so that two identical rules
            // created at once are seen by the second one's duplicate check
            // (PostgreSQL runs writes at READ COMMITTED; SQLite's are serial).
            tx.revision_lock(Revisioned::SecurityGroup, &group.to_string(), p)?;
            let sg = owned_group(tx, p, group)?;
            let rule = make_rule(group, &spec)?;
            if let Some(remote) = rule.remote_group_id {
                owned_group(tx, p, remote)?;
            }
            rules::sg_rule_unique(&sg.rules, &rule)?;
            tx.security_group_rule_insert(&rule)?;
            emit(
                tx,
                Kind::SecurityGroupRule,
                rule.id,
                Some(p),
                Action::Create,
                Some(&rule),
            )?;
            Ok(rule)
        })
        .await
    }

    /// `security_group_rule_delete`.
    pub async fn security_group_rule_delete(
        &self,
        caller: &Caller,
        project: &ProjectId,
        id: SecurityGroupRuleId,
        opts: &WriteOptions,
    ) -> Result<()> {
        self.project_write(caller, project, Need::Write, opts, move |tx, p| {
            let rule = tx
                .security_group_rule_get(id)?
                .ok_or_else(|| Error::not_found(Kind::SecurityGroupRule, id))?;
            owned_group(tx, p, rule.security_group_id)
                .map_err(|_| Error::not_found(Kind::SecurityGroupRule, id))?;
            tx.security_group_rule_delete(id)?;
            emit_deleted(tx, Kind::SecurityGroupRule, id, Some(p))
        })
        .await
    }
}

/// Load a security group of the project; anything else is "not found".
pub fn owned_group(
    tx: &mut dyn Tx,
    project: &ProjectId,
    id: SecurityGroupId,
) -> Result<SecurityGroup> {
    match tx.security_group_get(id)? {
        Some(sg) if &sg.project_id == project => Ok(sg),
        _ => Err(Error::not_found(Kind::SecurityGroup, id)),
    }
}

/// Delete a network and its subnets, refusing while interfaces use it.
pub fn network_delete_tx(tx: &mut dyn Tx, n: &Network) -> Result<()> {
    let used = tx.network_interface_count(n.id)?;
    nicplane_domain::rules::network_deletable(&n.name, used)?;
    for s in tx.subnets_of_network(n.id)? {
        subnet_delete_tx(tx, &s)?;
    }
    tx.network_delete(n.id)
}

/// Delete a subnet, refusing while addresses are allocated in it; on a
/// SLAAC or DHCPv6-stateless subnet the ports' computed addresses are
/// removed instead (Neutron).
pub fn subnet_delete_tx(tx: &mut dyn Tx, s: &Subnet) -> Result<()> {
    if s.auto_address() {
        for iid in tx.subnet_allocation_interfaces(s.id)? {
            if let Some(mut i) = tx.interface_get(iid)? {
                let (gone, kept): (Vec<FixedIp>, Vec<FixedIp>) =
                    i.fixed_ips.into_iter().partition(|f| f.subnet_id == s.id);
                i.fixed_ips = kept;
                crate::ipam::release(tx, &gone)?;
                i.updated_at = now();
                tx.interface_update(&i)?;
            }
        }
    }
    let used = tx.subnet_allocation_count(s.id)?;
    if used > 0 {
        return Err(Error::conflict(
            ConflictReason::InUse,
            format!("Subnet {} still has {used} allocated IP addresses.", s.name),
        ));
    }
    tx.subnet_delete(s.id)
}
