//! The business rules, one named function each. The service layer calls them
//! inside the transaction that writes the change, on data read in that same
//! transaction; the database constraints named in each doc comment back them.

use crate::error::{ConflictReason, Error, Kind, Result};
use crate::ids::{
    DataCenterId, ExternalNetworkId, InterfaceId, PoolId, ProjectId, RouterId, SubnetId, UserId,
};
use crate::ipam::{AddressSpace, Range};
use crate::model::{
    AddressPair, DhcpOption, DhcpOptionChange, ExternalNetwork, Interface, Network, PublicIp,
    PublicIpPool, ResourceTag, Router, SecurityGroupRule, Subnet, Vm,
};
use crate::types::{MacAddr, NetworkKind, OsType, PowerState, Role, VlanId, VLAN_MAX, VLAN_MIN};
use ipnet::IpNet;
use std::collections::BTreeSet;
use std::net::IpAddr;

/// A VM has at most `limit` elastic interfaces (5 by default, a deployment
/// setting). Backed by the VM row lock and `CHECK (nic_count >= 0)`.
pub fn interface_limit(vm: &Vm, current: u32, limit: u32) -> Result<()> {
    if current >= limit {
        return Err(Error::conflict(
            ConflictReason::InterfaceLimitReached,
            format!(
                "VM {} already has {current} network interfaces, the maximum is {limit}.",
                vm.name
            ),
        ));
    }
    Ok(())
}

/// The network must be in the VM's data center.
pub fn network_in_vm_data_center(vm: &Vm, network: &Network) -> Result<()> {
    if vm.data_center_id != network.data_center_id {
        return Err(Error::invalid(format!(
            "Network {} is in another data center than VM {}; a VM can only use networks of its own data center.",
            network.name, vm.name
        )));
    }
    Ok(())
}

/// Hot-plug policy: Linux VMs may add or remove interfaces while running;
/// Windows VMs must be stopped first.
pub fn hot_plug_allowed(vm: &Vm) -> Result<()> {
    if vm.os_type == OsType::Windows && vm.power_state == PowerState::Running {
        return Err(Error::conflict(
            ConflictReason::VmMustBeStopped,
            format!(
                "VM {} runs Windows and is running: stop the VM before adding or removing network interfaces.",
                vm.name
            ),
        ));
    }
    Ok(())
}

/// The primary interface cannot be removed (nor detached from its VM).
/// Backed by the partial unique index `interfaces_one_primary`.
pub fn primary_not_removable(iface: &Interface) -> Result<()> {
    if iface.primary {
        return Err(Error::conflict(
            ConflictReason::PrimaryInterface,
            format!(
                "Network interface {} is the primary interface of its VM and cannot be removed.",
                iface.id
            ),
        ));
    }
    Ok(())
}

/// Most DNS servers a subnet hands out (Neutron's `max_dns_nameservers`).
pub const MAX_DNS_NAMESERVERS: usize = 5;
/// Most host routes a subnet hands out (Neutron's `max_subnet_host_routes`).
pub const MAX_HOST_ROUTES: usize = 20;

/// The subnets of a network do not overlap (Neutron's check, checked while
/// the network row is locked so two creates cannot both pass it).
pub fn subnet_no_overlap(
    existing: &[IpNet],
    cidr: IpNet,
    network: impl std::fmt::Display,
) -> Result<()> {
    let overlaps = |a: &IpNet, b: &IpNet| a.contains(&b.network()) || b.contains(&a.network());
    if existing.iter().any(|e| overlaps(e, &cidr)) {
        return Err(Error::invalid(format!(
            "Invalid input for operation: Requested subnet with cidr: {cidr} for network: {network} overlaps with another subnet."
        )));
    }
    Ok(())
}

/// A subnet's DNS servers: at most [`MAX_DNS_NAMESERVERS`], no duplicates.
pub fn dns_nameservers_valid(subnet: impl std::fmt::Display, list: &[IpAddr]) -> Result<()> {
    if list.len() > MAX_DNS_NAMESERVERS {
        return Err(Error::invalid(format!(
            "Unable to complete operation for {subnet}. The number of DNS nameservers exceeds the limit {MAX_DNS_NAMESERVERS}."
        )));
    }
    let mut seen = BTreeSet::new();
    for ip in list {
        if !seen.insert(ip) {
            return Err(Error::invalid(format!(
                "Invalid input for dns_nameservers. Reason: Duplicate nameserver '{ip}'."
            )));
        }
    }
    Ok(())
}

/// A subnet's host routes: at most [`MAX_HOST_ROUTES`], no duplicates, the
/// destination and next hop of the subnet's IP version.
pub fn host_routes_valid(
    subnet: impl std::fmt::Display,
    ip_version: u8,
    routes: &[crate::model::HostRoute],
) -> Result<()> {
    if routes.len() > MAX_HOST_ROUTES {
        return Err(Error::invalid(format!(
            "Unable to complete operation for {subnet}. The number of host routes exceeds the limit {MAX_HOST_ROUTES}."
        )));
    }
    let version = |ip: &IpAddr| if ip.is_ipv4() { 4 } else { 6 };
    let mut seen = BTreeSet::new();
    for r in routes {
        if version(&r.destination.addr()) != ip_version || version(&r.nexthop) != ip_version {
            return Err(Error::invalid(format!(
                "Invalid input for operation: Host route {} via {} is not of IP version {ip_version}.",
                r.destination, r.nexthop
            )));
        }
        if r.destination.trunc() != r.destination {
            return Err(Error::invalid(format!(
                "Invalid input for host_routes. Reason: '{}' is not a valid IP subnet.",
                r.destination
            )));
        }
        if !seen.insert((r.destination, r.nexthop)) {
            return Err(Error::invalid(format!(
                "Invalid input for host_routes. Reason: Duplicate hostroute '{} via {}'.",
                r.destination, r.nexthop
            )));
        }
    }
    Ok(())
}

/// Neutron's IPv6 mode rules: none on IPv4 subnets, none with DHCP off,
/// both the same when both are given, and an EUI-64 mode only on a /64.
pub fn ipv6_modes_valid(
    cidr: IpNet,
    ra: Option<crate::model::Ipv6Mode>,
    address: Option<crate::model::Ipv6Mode>,
    enable_dhcp: bool,
) -> Result<()> {
    use crate::model::Ipv6Mode;
    if cidr.addr().is_ipv4() {
        for (name, m) in [("ipv6_ra_mode", ra), ("ipv6_address_mode", address)] {
            if m.is_some() {
                return Err(Error::invalid(format!(
                    "Invalid input for operation: {name} is not valid when ip_version is 4."
                )));
            }
        }
        return Ok(());
    }
    if (ra.is_some() || address.is_some()) && !enable_dhcp {
        return Err(Error::invalid(
            "Invalid input for operation: ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False.",
        ));
    }
    if let (Some(r), Some(a)) = (ra, address) {
        if r != a {
            return Err(Error::invalid(format!(
                "Invalid input for operation: ipv6_ra_mode set to '{r}' with ipv6_address_mode set to '{a}' is not valid. If both attributes are set, they must be the same value."
            )));
        }
    }
    if matches!(address, Some(Ipv6Mode::Slaac | Ipv6Mode::Dhcpv6Stateless))
        && cidr.prefix_len() != 64
    {
        return Err(Error::invalid(format!(
            "Invalid input for operation: Invalid CIDR {cidr} for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64."
        )));
    }
    Ok(())
}

/// A port's address on a SLAAC or DHCPv6-stateless subnet: the /64 prefix
/// and the modified EUI-64 interface id of its MAC (RFC 4291, appendix A).
pub fn eui64_address(cidr: IpNet, mac: &MacAddr) -> Result<IpAddr> {
    let IpNet::V6(net) = cidr else {
        return Err(Error::invalid(format!("{cidr} is not an IPv6 subnet.")));
    };
    let m = mac.0;
    let iid: u64 = u64::from_be_bytes([m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]]);
    let prefix = u128::from(net.network()) & !u128::from(u64::MAX);
    Ok(IpAddr::V6((prefix | u128::from(iid)).into()))
}

/// A fixed address cannot be asked for on a subnet whose addresses are
/// computed from the MAC.
pub fn fixed_ip_on_auto_address_subnet(ip: IpAddr, subnet: impl std::fmt::Display) -> Error {
    Error::invalid(format!(
        "Invalid input for operation: IPv6 address {ip} cannot be directly assigned to a port on subnet {subnet} as the subnet is configured for automatic addresses."
    ))
}

/// The gateway may not lie inside an allocation pool (Neutron's
/// `GatewayConflictWithAllocationPools`).
pub fn gateway_out_of_pools(gateway: IpAddr, pools: &[crate::model::AllocationPool]) -> Result<()> {
    let inside = |p: &crate::model::AllocationPool| match (gateway, p.start, p.end) {
        (IpAddr::V4(g), IpAddr::V4(s), IpAddr::V4(e)) => s <= g && g <= e,
        (IpAddr::V6(g), IpAddr::V6(s), IpAddr::V6(e)) => s <= g && g <= e,
        _ => false,
    };
    if let Some(p) = pools.iter().find(|p| inside(p)) {
        return Err(Error::conflict(
            ConflictReason::InUse,
            format!(
                "Gateway ip {gateway} conflicts with allocation pool {}-{}",
                p.start, p.end
            ),
        ));
    }
    Ok(())
}

/// A new gateway address may not be one a port holds (Neutron's `GatewayIpInUse`).
pub fn gateway_in_use(gateway: IpAddr) -> Error {
    Error::conflict(
        ConflictReason::InUse,
        format!("Current gateway ip {gateway} already in use by a port. Unable to update."),
    )
}

/// New allocation pools must keep every address in use inside them.
pub fn pools_exclude_used(ip: IpAddr, subnet: &str) -> Error {
    Error::conflict(
        ConflictReason::InUse,
        format!(
            "The allocation pools of subnet {subnet} must keep the address {ip} in use; release it first."
        ),
    )
}

/// Attributes a subnet keeps for life (Neutron rejects a PUT of them).
pub fn subnet_attribute_read_only(attribute: &str) -> Error {
    Error::invalid(format!("Cannot update read-only attribute {attribute}"))
}

/// Only the cloud admin makes a network external (`router:external`, on
/// create or update, through Neutron or natively), in Neutron's policy
/// words. Decided by the service (`external_network::*`), never a dialect.
pub fn external_network_flag(cloud_admin: bool, action: &str) -> Result<()> {
    if !cloud_admin {
        return Err(Error::forbidden(format!(
            "Only the cloud admin can make a network external (rule:{action}_network:router:external is disallowed by policy)."
        )));
    }
    Ok(())
}

/// A requested fixed IP must lie in the subnet and must not be the network,
/// broadcast (IPv4) or gateway address. Returns its offset. Whether it is free
/// is decided by the allocation itself (unique index on `(subnet_id, offset)`).
pub fn fixed_ip_allowed(
    space: &AddressSpace,
    gateway: Option<IpAddr>,
    subnet_name: &str,
    ip: IpAddr,
) -> Result<u64> {
    let Some(offset) = space.offset_of(ip) else {
        return Err(Error::invalid(format!(
            "The IP address {ip} is not in subnet {subnet_name} ({}).",
            space.cidr()
        )));
    };
    if offset == 0 {
        return Err(Error::invalid(format!(
            "The IP address {ip} is the network address of subnet {subnet_name} and cannot be assigned."
        )));
    }
    if space.is_v4() && offset == space.last_offset() {
        return Err(Error::invalid(format!(
            "The IP address {ip} is the broadcast address of subnet {subnet_name} and cannot be assigned."
        )));
    }
    if gateway == Some(ip) {
        return Err(Error::invalid(format!(
            "The IP address {ip} is the gateway of subnet {subnet_name} and cannot be assigned."
        )));
    }
    Ok(offset)
}

/// The message for a requested address that is already allocated.
pub fn address_in_use(ip: IpAddr, subnet_name: &str) -> Error {
    Error::conflict(
        ConflictReason::AddressInUse,
        format!("The IP address {ip} is already in use on subnet {subnet_name}."),
    )
}

/// A chosen MAC address another interface has (Neutron `MacAddressInUse`).
/// Backed by the unique index `interfaces_mac`.
pub fn mac_in_use(mac: crate::types::MacAddr) -> Error {
    Error::conflict(
        ConflictReason::MacInUse,
        format!("The MAC address {mac} is already in use."),
    )
}

/// The message for a subnet without a free address.
pub fn subnet_exhausted(subnet_name: &str) -> Error {
    Error::exhausted(format!("Subnet {subnet_name} has no free IP address left."))
}

/// Public IPs only on interfaces of standard (L3) networks.
pub fn public_ip_network_allowed(network: &Network) -> Result<()> {
    if network.kind != NetworkKind::Standard {
        return Err(Error::conflict(
            ConflictReason::NetworkNotRoutable,
            format!(
                "Network {} is a custom (L2) network; public IPs can only be allocated on interfaces of standard (L3) networks.",
                network.name
            ),
        ));
    }
    Ok(())
}

/// At most one public IP per interface. Backed by the unique index on
/// `public_ips(interface_id)`.
pub fn one_public_ip_per_interface(iface: &Interface) -> Result<()> {
    if let Some(ip) = iface.public_ip {
        return Err(Error::conflict(
            ConflictReason::PublicIpExists,
            format!(
                "Network interface {} already has the public IP {ip}.",
                iface.id
            ),
        ));
    }
    Ok(())
}

/// A public IP maps to the interface's IPv4 address: it needs one.
pub fn public_ip_needs_ipv4(iface: &Interface) -> Result<IpAddr> {
    iface.ipv4().ok_or_else(|| {
        Error::conflict(
            ConflictReason::WrongState,
            format!(
                "Network interface {} has no IPv4 address to map a public IP to.",
                iface.id
            ),
        )
    })
}

/// Where a pool's next public IP comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicIpSource {
    /// The lowest never-used address (from the pool's free range).
    Fresh(Range),
    /// The address released longest ago (head of the release queue).
    Released { seq: i64, offset: u64 },
}

/// Releasing a public IP is permanent: a released address goes behind every
/// other free address. So the next address is a never-used one while any is
/// left, else the one released longest ago. An empty pool is exhausted.
pub fn public_ip_release_order(
    fresh: Option<Range>,
    oldest_released: Option<(i64, u64)>,
    pool_name: &str,
) -> Result<PublicIpSource> {
    match (fresh, oldest_released) {
        (Some(r), _) => Ok(PublicIpSource::Fresh(r)),
        (None, Some((seq, offset))) => Ok(PublicIpSource::Released { seq, offset }),
        (None, None) => Err(Error::exhausted(format!(
            "The public IP pool {pool_name} is exhausted: no public IP address is free."
        ))),
    }
}

/// Public IP pools must not overlap (whatever their data center): a
/// public address belongs to one pool, or two tenants could hold it at once
/// (an address is unique per pool, `public_ips_address`).
pub fn pool_does_not_overlap(cidr: IpNet, pools: &[(String, IpNet)]) -> Result<()> {
    match pools
        .iter()
        .find(|(_, other)| other.contains(&cidr.network()) || cidr.contains(&other.network()))
    {
        Some((name, other)) => Err(Error::conflict(
            ConflictReason::InUse,
            format!("The CIDR {cidr} overlaps the public IP pool {name} ({other})."),
        )),
        None => Ok(()),
    }
}

/// Readers may look but not change anything.
pub fn role_may_write(role: Role) -> Result<()> {
    if !role.can_write() {
        return Err(Error::forbidden(format!(
            "The {} role is read-only; this needs the Tenant Administrator or Tenant Power User role.",
            role.title()
        )));
    }
    Ok(())
}

/// Only the Tenant Administrator manages a project's networks and members.
pub fn role_may_administer(role: Role) -> Result<()> {
    if role != Role::Admin {
        return Err(Error::forbidden(format!(
            "The {} role cannot do this; it needs the Tenant Administrator role.",
            role.title()
        )));
    }
    Ok(())
}

/// A token scoped to a project (Keystone's project-scoped tokens) acts only
/// in that project; any other project looks missing, as projects the caller
/// cannot see do. The cloud admin's token keeps its cloud-wide reach (the
/// admin role is global in OpenStack's default policy).
pub fn token_scope_allows(
    scope: Option<&ProjectId>,
    project: &ProjectId,
    is_cloud_admin: bool,
) -> Result<()> {
    match scope {
        Some(s) if s != project && !is_cloud_admin => Err(Error::not_found(Kind::Project, project)),
        _ => Ok(()),
    }
}

/// Whose objects a request that names its object by id alone (Neutron's
/// `/routers/{id}`, `/floatingips/{id}`, …) may reach: the cloud admin's
/// reach every project's (the admin role is global in OpenStack's default
/// policy, and the native API already lets the cloud admin act in every
/// project), anyone else's only those of its token's project.
pub fn acts_across_projects(is_cloud_admin: bool) -> bool {
    is_cloud_admin
}

/// The project a create acts in when the body names one (Neutron's
/// `project_id` / `tenant_id`; both given must agree, else 400 as Neutron):
/// the token's project when none is named; another project only for the
/// cloud admin (whose use case then checks that it exists: 404); anyone
/// else gets Neutron's 403.
pub fn create_project_named(
    scope: &ProjectId,
    project_id: Option<&str>,
    tenant_id: Option<&str>,
    is_cloud_admin: bool,
) -> Result<ProjectId> {
    let named = match (project_id, tenant_id) {
        (Some(p), Some(t)) if p != t => {
            return Err(Error::invalid("'project_id' and 'tenant_id' do not match"))
        }
        (Some(p), _) | (None, Some(p)) => p,
        (None, None) => return Ok(scope.clone()),
    };
    if named == scope.as_str() {
        return Ok(scope.clone());
    }
    if !acts_across_projects(is_cloud_admin) {
        return Err(Error::forbidden(format!(
            "project_id {named} is not the project of the token; only the cloud admin creates resources in another project."
        )));
    }
    ProjectId::parse_for_lookup(named)
}

/// Keystone's `identity:list_domains` policy: only the cloud admin lists
/// the domains (anyone signed in reads the domain of its projects).
pub fn domain_list_allowed(is_cloud_admin: bool) -> Result<()> {
    if !is_cloud_admin {
        return Err(Error::forbidden(
            "You are not authorized to perform the requested action: identity:list_domains.",
        ));
    }
    Ok(())
}

/// A password has at least `min` characters (`--password-min-length`).
pub fn password_long_enough(password: &str, min: usize) -> Result<()> {
    if password.chars().count() < min {
        return Err(Error::invalid_value(
            "password",
            format!("must be at least {min} characters."),
        ));
    }
    Ok(())
}

/// The last enabled cloud admin can be neither disabled nor deleted: nobody
/// could administer the cloud any more. `enabled_admins` are read with their
/// rows locked, so two servers cannot each remove "the other" last admin.
pub fn last_cloud_admin_kept(target: UserId, name: &str, enabled_admins: &[UserId]) -> Result<()> {
    if enabled_admins == [target] {
        return Err(Error::conflict(
            ConflictReason::InUse,
            format!(
                "User {name} is the last enabled cloud admin; it cannot be disabled or deleted."
            ),
        ));
    }
    Ok(())
}

/// A user changing their own password proves they know the current one; the
/// cloud admin resets another user's password without it (Keystone's
/// `PATCH /v3/users/{id}` versus `POST /v3/users/{id}/password`).
pub fn password_change_needs_original(
    is_self: bool,
    is_cloud_admin: bool,
    original: Option<&str>,
) -> Result<()> {
    if original.is_none() && (is_self || !is_cloud_admin) {
        return Err(Error::invalid_value(
            "original_password",
            "is required to change your own password.",
        ));
    }
    Ok(())
}

/// A supplementary interface's VLAN id is unique among its parent's
/// supplementary interfaces. Backed by the unique index
/// `interfaces_parent_vlan` on `(parent_id, vlan_id)`.
pub fn vlan_in_use(vlan: u16, parent: &str) -> Error {
    Error::conflict(
        ConflictReason::VlanInUse,
        format!("VLAN {vlan} is already used on parent interface {parent}."),
    )
}

/// A supplementary interface must hang off an elastic interface.
pub fn parent_must_be_elastic(parent: &Interface) -> Result<()> {
    if parent.supplementary {
        return Err(Error::invalid(format!(
            "Network interface {} is a supplementary interface and cannot be a parent.",
            parent.id
        )));
    }
    Ok(())
}

/// A parent interface that still carries supplementary interfaces cannot be
/// removed: detach or delete them first.
pub fn parent_has_no_children(iface: &Interface, children: u64) -> Result<()> {
    if children > 0 {
        return Err(Error::conflict(
            ConflictReason::InUse,
            format!(
                "Network interface {} still carries {children} supplementary interfaces; detach or delete them first.",
                iface.id
            ),
        ));
    }
    Ok(())
}

/// The lowest VLAN id not in `used` (sorted ascending), if any is left.
pub fn lowest_free_vlan(used: &[u16]) -> Option<VlanId> {
    let mut want = VLAN_MIN;
    for &v in used {
        if v == want {
            want += 1;
        } else if v > want {
            break;
        }
    }
    (want <= VLAN_MAX)
        .then(|| VlanId::new(want as i64).ok())
        .flatten()
}

/// The VLAN a supplementary interface gets on `parent`, given the VLANs its
/// siblings use (ascending): the requested one if free, else (none
/// requested) the lowest free one. Backed by the unique index
/// `interfaces_parent_vlan` on `(parent_id, vlan_id)`.
pub fn supplementary_vlan(
    used: &[u16],
    wanted: Option<VlanId>,
    parent: InterfaceId,
) -> Result<VlanId> {
    match wanted {
        Some(v) if used.contains(&v.get()) => Err(vlan_in_use(v.get(), &parent.to_string())),
        Some(v) => Ok(v),
        None => lowest_free_vlan(used).ok_or_else(|| {
            Error::exhausted(format!(
                "Parent interface {parent} has no free VLAN id left ({VLAN_MIN}-{VLAN_MAX} are all used)."
            ))
        }),
    }
}

/// A supplementary interface (or trunk subport) is in its parent's data
/// center (one VPC).
pub fn supplementary_in_parent_data_center(parent: &Interface, network: &Network) -> Result<()> {
    if parent.data_center_id != network.data_center_id {
        return Err(Error::invalid(format!(
            "Network {} is in another data center than parent interface {}; a supplementary interface must be in its parent's data center.",
            network.name, parent.id
        )));
    }
    Ok(())
}

/// Only an unattached elastic interface can be attached to a VM: a
/// supplementary one rides on its parent, an attached one is in use.
pub fn interface_attachable(iface: &Interface) -> Result<()> {
    if iface.supplementary {
        return Err(Error::invalid(format!(
            "Network interface {} is a supplementary interface and cannot be attached to a VM.",
            iface.id
        )));
    }
    if let Some(other) = iface.vm_id {
        return Err(Error::conflict(
            ConflictReason::InUse,
            format!(
                "Network interface {} is already attached to VM {other}.",
                iface.id
            ),
        ));
    }
    Ok(())
}

/// A public IP allocated from a data center's pools goes on an interface of
/// that data center.
pub fn interface_in_pool_data_center(iface: &Interface, data_center: DataCenterId) -> Result<()> {
    if iface.data_center_id != data_center {
        return Err(Error::invalid(format!(
            "Network interface {} is in another data center than the public IP pool.",
            iface.id
        )));
    }
    Ok(())
}

/// A public IP moves only onto an interface of its own data center.
pub fn public_ip_in_interface_data_center(ip: &PublicIp, iface: &Interface) -> Result<()> {
    if iface.data_center_id != ip.data_center_id {
        return Err(Error::invalid(format!(
            "Public IP {} belongs to another data center than network interface {}.",
            ip.address, iface.id
        )));
    }
    Ok(())
}

/// Only the cloud admin chooses a floating IP's address, as Neutron's policy
/// `create_floatingip:floating_ip_address` (admin only): a tenant picking
/// addresses could take the one another tenant just released. 403.
pub fn public_ip_address_choice_allowed(cloud_admin: bool) -> Result<()> {
    if cloud_admin {
        return Ok(());
    }
    Err(Error::forbidden(
        "Only the cloud admin can choose the address of a floating IP (rule:create_floatingip:floating_ip_address is disallowed by policy).",
    ))
}

/// A chosen public address must be one a pool of the data center hands out:
/// inside a pool's CIDR, a host address, not the pool's gateway (its first
/// host, never free). Returns the pool and the address's offset in it. 400,
/// worded as Neutron's `InvalidIpForNetwork`. Whether the address is free is
/// the store's answer (`public_ip_address_free`).
pub fn public_ip_chosen_in_pool(
    address: IpAddr,
    pools: &[PublicIpPool],
) -> Result<(&PublicIpPool, u64)> {
    for pool in pools {
        let Ok(space) = AddressSpace::new(pool.cidr) else {
            continue;
        };
        if let Some(offset) = space.offset_of(address) {
            if space.host_range().contains(offset) && offset != PUBLIC_POOL_GATEWAY_OFFSET {
                return Ok((pool, offset));
            }
        }
    }
    Err(Error::invalid(format!(
        "IP address {address} is not a valid IP for any of the subnets on the specified network."
    )))
}

/// Offset of a public IP pool's gateway, its first host: never handed out
/// (`admin::pool_create` leaves it out of `public_ip_fresh`).
pub const PUBLIC_POOL_GATEWAY_OFFSET: u64 = 1;

/// A chosen public address must be free: `taken` is the store's answer
/// (the address was in a fresh range or the release queue, and is now
/// taken). One that was in neither is held by a floating IP. 409, Neutron's
/// `IpAddressAlreadyAllocated` wording (the pool is Neutron's external
/// subnet). Backed by `public_ips_address` (pool, offset) being unique.
pub fn public_ip_address_free(taken: bool, address: IpAddr, pool: &PublicIpPool) -> Result<()> {
    if taken {
        return Ok(());
    }
    Err(Error::conflict(
        ConflictReason::AddressInUse,
        format!(
            "IP address {address} already allocated in subnet {}",
            pool.id
        ),
    ))
}

/// `If-Match: revision_number=N`: the object must still be at revision N
/// (Neutron's optimistic concurrency). 412, with Neutron's
/// `RevisionNumberConstraintFailed` message. Checked inside the write's
/// transaction on the locked row, so of two writers holding the same N
/// exactly one goes ahead.
pub fn revision_matches(expected: u64, current: u64) -> Result<()> {
    if expected == current {
        return Ok(());
    }
    Err(Error::precondition_failed(format!(
        "Constrained to {expected}, but current revision is {current}"
    )))
}

/// Longest Neutron tag (neutron-lib's `TAG_MAX_LEN`).
pub const NEUTRON_TAG_MAX: usize = 255;

/// A change of a Neutron object's tags.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TagChange {
    Replace(Vec<String>),
    Add(String),
    Remove(String),
    Clear,
}

/// The tags after a change: each 1 to 255 characters without a comma (a
/// comma separates tags in the list filters), at most [`TAGS_MAX`] (the
/// interface limit, reused) on one object; a tag removed must be there
/// (404, Neutron's `TagNotFound`). Sorted, without duplicates. Checked
/// under the object's row lock, so concurrent changes cannot pass the bound.
pub fn neutron_tags_apply(
    label: &str,
    id: &str,
    current: &[String],
    change: &TagChange,
) -> Result<Vec<String>> {
    let check = |t: &String| -> Result<()> {
        if t.is_empty() || t.chars().count() > NEUTRON_TAG_MAX || t.contains(',') {
            return Err(Error::invalid(format!(
                "Invalid input for operation: '{t}' is not a valid tag (1 to {NEUTRON_TAG_MAX} characters, no comma)."
            )));
        }
        Ok(())
    };
    let mut tags: BTreeSet<String> = current.iter().cloned().collect();
    match change {
        TagChange::Replace(new) => {
            new.iter().try_for_each(check)?;
            tags = new.iter().cloned().collect();
        }
        TagChange::Add(t) => {
            check(t)?;
            tags.insert(t.clone());
        }
        TagChange::Remove(t) => {
            if !tags.remove(t) {
                return Err(Error::NotFound {
                    kind: Kind::Tag,
                    id: format!("{t} for {label} {id}"),
                });
            }
        }
        TagChange::Clear => tags.clear(),
    }
    if tags.len() > TAGS_MAX {
        return Err(Error::invalid(format!(
            "At most {TAGS_MAX} tags are allowed on one {label}."
        )));
    }
    Ok(tags.into_iter().collect())
}

/// Longest Nova flavor name and id (Nova's API schema: 255 characters).
pub const FLAVOR_TEXT_MAX: usize = 255;
/// Largest vcpus, ram, disk, ephemeral or swap Nova accepts (a database
/// INTEGER; the CHECKs of `flavors` in 0007 repeat it).
pub const FLAVOR_SIZE_MAX: u64 = 2_147_483_647;

/// A flavor's name and id: 1 to 255 characters, no leading or trailing
/// whitespace (Nova's `flavor create` schema); the id also no `/`, which
/// could not be addressed in a URL. 400.
pub fn flavor_text_valid(label: &str, value: &str) -> Result<()> {
    let n = value.chars().count();
    if n == 0 || n > FLAVOR_TEXT_MAX {
        return Err(Error::invalid(format!(
            "Invalid input for field/attribute {label}. Value: {value}. The {label} must be 1 to {FLAVOR_TEXT_MAX} characters long."
        )));
    }
    if value.trim() != value
        || value.chars().any(char::is_control)
        || (label == "id" && value.contains('/'))
    {
        return Err(Error::invalid(format!(
            "Invalid input for field/attribute {label}. Value: {value}. '{value}' does not match the allowed characters."
        )));
    }
    Ok(())
}

/// A flavor's sizes: vcpus and ram at least 1, disk, ephemeral and swap at
/// least 0, none above [`FLAVOR_SIZE_MAX`]. 400.
pub fn flavor_size_valid(label: &str, value: i64, min: i64) -> Result<u32> {
    if value < min || value as u64 > FLAVOR_SIZE_MAX {
        return Err(Error::invalid(format!(
            "Invalid input for field/attribute {label}. Value: {value}. {label} must be between {min} and {FLAVOR_SIZE_MAX}."
        )));
    }
    u32::try_from(value).map_err(|_| {
        Error::invalid(format!(
            "Invalid input for field/attribute {label}. Value: {value}."
        ))
    })
}

/// A live flavor's name and id are unique (`flavors_live_name`, and the
/// primary key (id, deleted_at)). 409, Nova's `FlavorExists` /
/// `FlavorIdExists` wording.
pub fn flavor_unique(live: &[crate::model::Flavor], id: &str, name: &str) -> Result<()> {
    if live.iter().any(|f| f.name == name) {
        return Err(Error::conflict(
            ConflictReason::NameTaken,
            format!("Flavor with name {name} already exists."),
        ));
    }
    if live.iter().any(|f| f.id == id) {
        return Err(Error::conflict(
            ConflictReason::NameTaken,
            format!("Flavor with ID {id} already exists."),
        ));
    }
    Ok(())
}

/// Only the cloud admin creates and deletes flavors (Nova's
/// `os_compute_api:os-flavor-manage:create`/`delete` policies are admin
/// only). 403, Nova's policy wording.
pub fn flavor_manage_allowed(cloud_admin: bool, action: &str) -> Result<()> {
    if cloud_admin {
        return Ok(());
    }
    Err(Error::forbidden(format!(
        "Policy doesn't allow os_compute_api:os-flavor-manage:{action} to be performed."
    )))
}

/// A public IP maps to one of its interface's IPv4 addresses: a fixed IP
/// named with the request (Neutron's `fixed_ip_address`) must be one of
/// them. Returns the address the public IP maps to: the one named, else the
/// interface's first IPv4 address.
pub fn public_ip_fixed_ip_matches(
    iface: &Interface,
    wanted: Option<&str>,
) -> Result<Option<IpAddr>> {
    let Some(f) = wanted else {
        return Ok(iface.ipv4());
    };
    iface
        .fixed_ips
        .iter()
        .map(|x| x.ip_address)
        .find(|a| a.is_ipv4() && a.to_string() == f)
        .map(Some)
        .ok_or_else(|| {
            Error::invalid(format!(
                "Port {} does not have fixed ip {f}; a floating IP maps to one of the port's IPv4 addresses.",
                iface.id
            ))
        })
}

/// Name of every project's default security group.
pub const DEFAULT_SECURITY_GROUP: &str = "default";

/// The default security group keeps its name, and no other group may take
/// it.
pub fn security_group_name_allowed(is_default: bool, name: &str) -> Result<()> {
    if is_default && name != DEFAULT_SECURITY_GROUP {
        return Err(Error::conflict(
            ConflictReason::InUse,
            "The default security group cannot be renamed.",
        ));
    }
    if !is_default && name == DEFAULT_SECURITY_GROUP {
        return Err(Error::conflict(
            ConflictReason::NameTaken,
            "The name default is reserved for the project's default security group.",
        ));
    }
    Ok(())
}

/// A network is routed exactly when it has subnets: a custom (L2) network
/// that gets a subnet becomes a standard one.
pub fn kind_with_subnet(kind: NetworkKind) -> NetworkKind {
    match kind {
        NetworkKind::Custom => NetworkKind::Standard,
        other => other,
    }
}

// ----- network-owner powers (Neutron's default port policy) ---------------

/// Whether a port is being created or changed (Neutron's policy names say
/// `create_port:...` or `update_port:...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortAction {
    Create,
    Update,
}

impl PortAction {
    fn word(self) -> &'static str {
        match self {
            PortAction::Create => "create_port",
            PortAction::Update => "update_port",
        }
    }
}

/// The port attributes only the network's owner (or the cloud admin) may
/// set: Neutron's `create_port:fixed_ips:ip_address`,
/// `create_port:mac_address`, `create_port:port_security_enabled` and
/// `create_port:allowed_address_pairs` (and the `update_port:` ones) default
/// to `rule:context_is_advsvc or rule:network_owner or rule:admin_only`.
/// Choosing only a subnet stays allowed on a shared network.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OwnerPowers {
    /// A fixed IP with an explicit `ip_address` (one the port does not have yet).
    pub fixed_ip_address: bool,
    /// An explicit MAC address.
    pub mac_address: bool,
    /// Port security switched off.
    pub port_security_disabled: bool,
    /// A non-empty list of allowed address pairs.
    pub allowed_address_pairs: bool,
}

/// On a network its project does not own (a shared network), a tenant cannot
/// choose a fixed IP address or a MAC, disable port security or set allowed
/// address pairs: that would let it spoof other tenants' traffic. On its own
/// networks it can; the cloud admin can everywhere. 403, worded after
/// Neutron's `PolicyNotAuthorized` ("(rule:...) is disallowed by policy").
pub fn network_owner_powers(
    network: &Network,
    project: &ProjectId,
    cloud_admin: bool,
    action: PortAction,
    asked: OwnerPowers,
) -> Result<()> {
    if cloud_admin || network.project_id.as_ref() == Some(project) {
        return Ok(());
    }
    let refused = [
        (
            asked.fixed_ip_address,
            "fixed_ips:ip_address",
            "a fixed IP address",
        ),
        (asked.mac_address, "mac_address", "a MAC address"),
        (
            asked.port_security_disabled,
            "port_security_enabled",
            "port security disabled",
        ),
        (
            asked.allowed_address_pairs,
            "allowed_address_pairs",
            "allowed address pairs",
        ),
    ];
    match refused.iter().find(|(asked, _, _)| *asked) {
        None => Ok(()),
        Some((_, rule, what)) => Err(Error::forbidden(format!(
            "Only the owner of network {} can give its ports {what} (rule:{}:{rule} is disallowed by policy).",
            network.name,
            action.word()
        ))),
    }
}

// ----- bounded inputs -------------------------------------------------------

/// Neutron's default `max_fixed_ips_per_port`.
pub const DEFAULT_MAX_FIXED_IPS_PER_PORT: usize = 5;
/// Neutron's default `max_allowed_address_pair`.
pub const DEFAULT_MAX_ALLOWED_ADDRESS_PAIRS: usize = 10;
/// Most security groups on one interface (Huawei ECS allows 10 per NIC;
/// Neutron sets no bound, which would let one request grow without limit).
pub const SECURITY_GROUPS_PER_PORT_MAX: usize = 10;
/// Most objects one bulk request creates (Neutron bulk `{"ports": [...]}`,
/// trunk sub-ports, Huawei ECS batch NIC add). Neutron has no default cap;
/// 100 is below the default port quota (500), so one request cannot take
/// more than a fifth of it nor hold the writer for long.
pub const BULK_CREATE_MAX: usize = 100;
/// Most tags on one interface.
pub const TAGS_MAX: usize = 20;
/// Longest tag key, in characters.
pub const TAG_KEY_MAX: usize = 128;
/// Longest tag value, in characters.
pub const TAG_VALUE_MAX: usize = 255;

/// At most `max` fixed IPs on one port (Neutron: "Exceeded maximum amount of
/// fixed ips per port").
pub fn fixed_ips_bound(count: usize, max: usize) -> Result<()> {
    if count > max {
        return Err(Error::invalid_value(
            "fixed_ips",
            format!("{count} fixed IPs given, at most {max} are allowed per port."),
        ));
    }
    Ok(())
}

/// At most `max` entries in a list a client sends (`field` names it).
pub fn list_bound(field: &str, count: usize, max: usize) -> Result<()> {
    if count > max {
        return Err(Error::invalid_value(
            field,
            format!("{count} entries given, at most {max} are allowed."),
        ));
    }
    Ok(())
}

/// A bulk create makes at least one and at most [`BULK_CREATE_MAX`] objects.
pub fn bulk_bound(field: &str, count: usize) -> Result<()> {
    if count == 0 {
        return Err(Error::invalid_value(field, "the list is empty."));
    }
    list_bound(field, count, BULK_CREATE_MAX)
}

/// Allowed address pairs: at most `max`; each an IP address or a CIDR
/// without host bits (Neutron's `validate_ip_or_subnet_or_none`), an
/// optional unicast MAC, no pair twice. `refuse_any` also refuses the
/// unspecified address (`0.0.0.0/0`, `::/0`), as Huawei's VPC API does.
pub fn check_address_pairs(pairs: &[AddressPair], max: usize, refuse_any: bool) -> Result<()> {
    if pairs.len() > max {
        return Err(Error::invalid_value(
            "allowed_address_pairs",
            format!(
                "{} pairs given, at most {max} are allowed per port.",
                pairs.len()
            ),
        ));
    }
    let mut seen = BTreeSet::new();
    for pair in pairs {
        let bad = || {
            Error::invalid_value(
                "allowed_address_pairs",
                format!("'{}' is not an IP address or CIDR.", pair.ip_address),
            )
        };
        let net: IpNet = match pair.ip_address.parse::<IpNet>() {
            Ok(n) if n.trunc() != n => {
                return Err(Error::invalid_value(
                    "allowed_address_pairs",
                    format!(
                        "'{}' has host bits set; did you mean {}?",
                        pair.ip_address,
                        n.trunc()
                    ),
                ))
            }
            Ok(n) => n,
            Err(_) => pair
                .ip_address
                .parse::<IpAddr>()
                .map(IpNet::from)
                .map_err(|_| bad())?,
        };
        if refuse_any && net.addr().is_unspecified() {
            return Err(Error::invalid_value(
                "allowed_address_pairs",
                format!("'{}' is not allowed.", pair.ip_address),
            ));
        }
        let mac = match &pair.mac_address {
            Some(m) => Some(m.parse::<MacAddr>().map_err(|_| {
                Error::invalid_value(
                    "allowed_address_pairs",
                    format!("'{m}' is not a unicast MAC address."),
                )
            })?),
            None => None,
        };
        if !seen.insert((net, mac.map(|m| m.to_string()))) {
            return Err(Error::invalid_value(
                "allowed_address_pairs",
                format!("the pair '{}' is given twice.", pair.ip_address),
            ));
        }
    }
    Ok(())
}

/// Most DHCP options on one interface (the `interfaces.extra_dhcp_opts`
/// column holds them as JSON; Neutron sets no limit, nicplane bounds it).
pub const DHCP_OPTS_MAX: usize = 32;
/// Longest DHCP option name (Neutron's `extradhcpopts.opt_name`, 64).
pub const DHCP_OPT_NAME_MAX: usize = 64;
/// Longest DHCP option value (Neutron's `extradhcpopts.opt_value`, 255).
pub const DHCP_OPT_VALUE_MAX: usize = 255;

/// Apply a list of DHCP option changes to an interface's options, as
/// Neutron's `extra_dhcp_opt` extension does: an entry with a value sets
/// the option of that name and IP version (4 unless given), one without a
/// value removes it; options not named are kept. Names are 1-64 printable
/// characters, values 1-255, the IP version 4 or 6, no option named twice
/// in one change, and the result holds at most [`DHCP_OPTS_MAX`] options.
pub fn dhcp_opts_apply(
    current: &[DhcpOption],
    changes: &[DhcpOptionChange],
) -> Result<Vec<DhcpOption>> {
    let field = "extra_dhcp_opts";
    if changes.len() > DHCP_OPTS_MAX {
        return Err(Error::invalid_value(
            field,
            format!(
                "{} options given, at most {DHCP_OPTS_MAX} are allowed per port.",
                changes.len()
            ),
        ));
    }
    let printable = |s: &str| !s.chars().any(char::is_control);
    let mut out = current.to_vec();
    let mut seen = BTreeSet::new();
    for c in changes {
        let name = c.opt_name.trim();
        if name.is_empty() || name.chars().count() > DHCP_OPT_NAME_MAX || !printable(name) {
            return Err(Error::invalid_value(
                field,
                format!(
                    "the option name '{}' must be 1 to {DHCP_OPT_NAME_MAX} printable characters.",
                    c.opt_name
                ),
            ));
        }
        let version = c.ip_version.unwrap_or(4);
        if version != 4 && version != 6 {
            return Err(Error::invalid_value(
                field,
                format!("ip_version {version} of option {name} is not 4 or 6."),
            ));
        }
        if !seen.insert((name.to_string(), version)) {
            return Err(Error::invalid_value(
                field,
                format!("the option {name} (IPv{version}) is given twice."),
            ));
        }
        out.retain(|o| !(o.opt_name == name && o.ip_version == version));
        if let Some(value) = &c.opt_value {
            if value.is_empty() || value.chars().count() > DHCP_OPT_VALUE_MAX || !printable(value) {
                return Err(Error::invalid_value(
                    field,
                    format!(
                        "the value of option {name} must be 1 to {DHCP_OPT_VALUE_MAX} printable characters."
                    ),
                ));
            }
            out.push(DhcpOption {
                opt_name: name.to_string(),
                opt_value: value.clone(),
                ip_version: version,
            });
        }
    }
    if out.len() > DHCP_OPTS_MAX {
        return Err(Error::invalid_value(
            field,
            format!(
                "{} options would be set, at most {DHCP_OPTS_MAX} are allowed per port.",
                out.len()
            ),
        ));
    }
    Ok(out)
}

/// Tags on an interface (elastic or supplementary): at most [`TAGS_MAX`],
/// keys 1-128 letters, digits, `_` or `-`, values up to 255 of those or `.`,
/// no key twice.
pub fn check_tags(tags: &[ResourceTag]) -> Result<()> {
    if tags.len() > TAGS_MAX {
        return Err(Error::invalid_value(
            "tags",
            format!("at most {TAGS_MAX} tags are allowed on one interface."),
        ));
    }
    let mut seen = BTreeSet::new();
    for t in tags {
        check_tag_key(&t.key)?;
        if t.value.chars().count() > TAG_VALUE_MAX
            || !t
                .value
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
        {
            return Err(Error::invalid_value(
                "tags",
                format!(
                    "the value '{}' must be at most {TAG_VALUE_MAX} letters, digits, '_', '-' or '.'.",
                    t.value
                ),
            ));
        }
        if !seen.insert(t.key.as_str()) {
            return Err(Error::invalid_value(
                "tags",
                format!("the key '{}' is given twice.", t.key),
            ));
        }
    }
    Ok(())
}

/// One tag key.
pub fn check_tag_key(key: &str) -> Result<()> {
    let n = key.chars().count();
    if n == 0
        || n > TAG_KEY_MAX
        || !key
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        return Err(Error::invalid_value(
            "tags",
            format!("the key '{key}' must be 1 to {TAG_KEY_MAX} letters, digits, '_' or '-'."),
        ));
    }
    Ok(())
}

/// Most metadata items on one VM (Nova's default `metadata_items` quota).
pub const METADATA_ITEMS_MAX: usize = 128;

/// VM metadata: at most [`METADATA_ITEMS_MAX`] items, keys and values free
/// text of at most 255 characters (keys not empty), as Nova checks them.
pub fn check_metadata(metadata: &std::collections::BTreeMap<String, String>) -> Result<()> {
    list_bound("metadata", metadata.len(), METADATA_ITEMS_MAX)?;
    for (k, v) in metadata {
        if k.is_empty() {
            return Err(Error::invalid_value("metadata key", "must not be empty."));
        }
        crate::types::check_text("metadata key", k)?;
        crate::types::check_text("metadata value", v)?;
    }
    Ok(())
}

// ----- security group rules ---------------------------------------------------

/// Protocol names Neutron accepts for a security group rule, with their IP
/// protocol numbers (neutron-lib `IP_PROTOCOL_MAP`).
pub const SG_PROTOCOLS: &[(&str, u8)] = &[
    ("ah", 51),
    ("dccp", 33),
    ("egp", 8),
    ("esp", 50),
    ("gre", 47),
    ("hopopt", 0),
    ("icmp", 1),
    ("igmp", 2),
    ("ip", 0),
    ("ipip", 4),
    ("ipv6-encap", 41),
    ("ipv6-frag", 44),
    ("ipv6-icmp", 58),
    ("icmpv6", 58),
    ("ipv6-nonxt", 59),
    ("ipv6-opts", 60),
    ("ipv6-route", 43),
    ("ospf", 89),
    ("pgm", 113),
    ("rsvp", 46),
    ("sctp", 132),
    ("tcp", 6),
    ("udp", 17),
    ("udplite", 136),
    ("vrrp", 112),
];

/// Protocols whose rules may carry a port range (Neutron's
/// `SecurityGroupInvalidProtocolForPort`: TCP, UDP, UDP-Lite, SCTP, DCCP).
const PORT_PROTOCOLS: &[u8] = &[6, 17, 136, 132, 33];
/// ICMP and ICMPv6: the port range is the ICMP type and code (0-255).
const ICMP_PROTOCOLS: &[u8] = &[1, 58];
/// Largest ICMP type or code.
const ICMP_TYPE_CODE_MAX: u16 = 255;

/// A rule's protocol: a known name (any case), or a number 0-255; `any` and
/// absent mean every protocol. Returns the normalized form (lower-case name
/// or the number as given) and the protocol number.
pub fn sg_rule_protocol(protocol: Option<&str>) -> Result<Option<(String, u8)>> {
    let Some(p) = protocol.filter(|p| !p.is_empty() && !p.eq_ignore_ascii_case("any")) else {
        return Ok(None);
    };
    let lower = p.to_ascii_lowercase();
    if let Some((_, n)) = SG_PROTOCOLS.iter().find(|(name, _)| *name == lower) {
        return Ok(Some((lower, *n)));
    }
    match p.parse::<u8>() {
        Ok(n) => Ok(Some((n.to_string(), n))),
        Err(_) => Err(Error::invalid_value(
            "protocol",
            format!("'{p}' is not a known protocol name nor a number from 0 to 255."),
        )),
    }
}

/// A rule's port range, as Neutron checks it (and in its words): ports
/// need a protocol; for TCP, UDP, UDP-Lite, SCTP and DCCP both are given,
/// 1-65535, with min <= max; for ICMP and ICMPv6 `port_range_min` is the
/// type and `port_range_max` the code, each 0-255, and a code needs a type;
/// other protocols take no ports.
pub fn sg_rule_ports(
    protocol: Option<(&str, u8)>,
    min: Option<u16>,
    max: Option<u16>,
) -> Result<()> {
    if min.is_none() && max.is_none() {
        return Ok(());
    }
    let Some((name, number)) = protocol else {
        return Err(Error::invalid_value(
            "port_range_min",
            "a port range needs a protocol.",
        ));
    };
    if PORT_PROTOCOLS.contains(&number) {
        if min == Some(0) || max == Some(0) {
            return Err(Error::invalid("Invalid value for port 0."));
        }
        return match (min, max) {
            (Some(a), Some(b)) if a <= b => Ok(()),
            _ => Err(Error::invalid(
                "For TCP/UDP protocols, port_range_min must be <= port_range_max.",
            )),
        };
    }
    if ICMP_PROTOCOLS.contains(&number) {
        for (field, attr, v) in [
            ("type", "port_range_min", min),
            ("code", "port_range_max", max),
        ] {
            if let Some(v) = v.filter(|v| *v > ICMP_TYPE_CODE_MAX) {
                return Err(Error::invalid(format!(
                    "Invalid value for ICMP {field} ({attr}) {v}. It must be 0 to 255."
                )));
            }
        }
        if let (None, Some(code)) = (min, max) {
            return Err(Error::invalid(format!(
                "ICMP code (port-range-max) {code} is provided but ICMP type (port-range-min) is missing."
            )));
        }
        return Ok(());
    }
    Err(Error::invalid_value(
        "port_range_min",
        format!(
            "protocol {name} takes no port range; only TCP, UDP, UDP-Lite, SCTP, DCCP and ICMP do."
        ),
    ))
}

/// A rule's `remote_ip_prefix`: an address or a CIDR of the rule's
/// ethertype. Returns it as a CIDR (an address becomes a /32 or /128, as
/// Neutron stores it). Host bits are cleared, as Neutron does.
pub fn sg_rule_remote_prefix(prefix: &str, ethertype_v6: bool) -> Result<IpNet> {
    let net = prefix
        .parse::<IpNet>()
        .or_else(|_| prefix.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            Error::invalid_value(
                "remote_ip_prefix",
                format!("'{prefix}' is not an IP address or CIDR."),
            )
        })?;
    if matches!(net, IpNet::V6(_)) != ethertype_v6 {
        return Err(Error::invalid(format!(
            "Conflicting value ethertype {} for CIDR {prefix}.",
            if ethertype_v6 { "IPv6" } else { "IPv4" }
        )));
    }
    Ok(net.trunc())
}

/// A security group holds no two identical rules (Neutron's
/// `SecurityGroupRuleExists`): same direction, ethertype, protocol (a name
/// and its number are the same protocol), ports and remote; the
/// description does not count.
pub fn sg_rule_unique(existing: &[SecurityGroupRule], rule: &SecurityGroupRule) -> Result<()> {
    let number = |p: &Option<String>| {
        sg_rule_protocol(p.as_deref())
            .ok()
            .flatten()
            .map(|(_, n)| n)
    };
    let same = |r: &&SecurityGroupRule| {
        r.direction == rule.direction
            && r.ethertype == rule.ethertype
            && number(&r.protocol) == number(&rule.protocol)
            && r.port_range_min == rule.port_range_min
            && r.port_range_max == rule.port_range_max
            && r.remote_ip_prefix == rule.remote_ip_prefix
            && r.remote_group_id == rule.remote_group_id
    };
    match existing.iter().find(same) {
        Some(r) => Err(Error::conflict(
            ConflictReason::RuleExists,
            format!("Security group rule already exists. Rule id is {}.", r.id),
        )),
        None => Ok(()),
    }
}

/// A VM's access addresses (Nova's `accessIPv4`/`accessIPv6`): each of its
/// own IP version.
pub fn access_ips_valid(v4: Option<IpAddr>, v6: Option<IpAddr>) -> Result<()> {
    if let Some(ip) = v4.filter(|ip| !ip.is_ipv4()) {
        return Err(Error::invalid_value(
            "accessIPv4",
            format!("{ip} is not an IPv4 address."),
        ));
    }
    if let Some(ip) = v6.filter(|ip| !ip.is_ipv6()) {
        return Err(Error::invalid_value(
            "accessIPv6",
            format!("{ip} is not an IPv6 address."),
        ));
    }
    Ok(())
}

/// An object of another project looks like a missing one.
pub fn not_found_in_project(kind: Kind, id: impl std::fmt::Display) -> Error {
    Error::not_found(kind, id)
}

/// A project may hold `in_use + adding` objects of a resource only when that
/// is at most its limit; a negative limit ([`crate::quota::UNLIMITED`]) is no
/// limit. Repeated by the insert triggers of `migrations/*/0006_quotas.sql`
/// (the final word, under the project's usage-row lock).
pub fn within_quota(
    resource: crate::quota::QuotaResource,
    in_use: i64,
    adding: i64,
    limit: i64,
) -> Result<()> {
    if limit >= 0 && in_use.saturating_add(adding) > limit {
        return Err(over_quota(resource));
    }
    Ok(())
}

/// The over-quota error, in Neutron's words ("Quota exceeded for resources:
/// ['port'].").
pub fn over_quota(resource: crate::quota::QuotaResource) -> Error {
    Error::conflict(
        ConflictReason::OverQuota,
        format!("Quota exceeded for resources: ['{resource}']."),
    )
}

/// A quota limit is -1 (unlimited) or 0 to [`crate::quota::QUOTA_MAX`].
/// Setting it below the current usage is allowed (as in Neutron): creates are
/// refused until the usage drops.
pub fn quota_limit_valid(resource: crate::quota::QuotaResource, limit: i64) -> Result<()> {
    if !(crate::quota::UNLIMITED..=crate::quota::QUOTA_MAX).contains(&limit) {
        return Err(Error::invalid_value(
            resource.as_str(),
            format!(
                "the quota {limit} must be -1 (unlimited) or between 0 and {}.",
                crate::quota::QUOTA_MAX
            ),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Routers (issue 12). A router connects subnets (its interfaces) and reaches
// the public pools of its data center (its gateway). Messages are Neutron's
// (neutron/db/l3_db.py, neutron_lib/exceptions/l3.py).

/// A subnet joins a router through its gateway address: it must have one.
pub fn router_subnet_has_gateway(subnet: &Subnet) -> Result<IpAddr> {
    subnet.gateway_ip.ok_or_else(|| {
        Error::invalid("Bad router request: Subnet for router interface must have a gateway IP.")
    })
}

/// A subnet is an interface of a router at most once.
pub fn router_subnet_once(router: &Router, subnet: SubnetId) -> Result<()> {
    if router.interfaces.iter().any(|i| i.subnet_id == subnet) {
        return Err(Error::invalid(format!(
            "Bad router request: Router already has a port on subnet {subnet}."
        )));
    }
    Ok(())
}

/// The subnets of one router must not overlap: it could not route between
/// them. `attached` are the router's subnets with their CIDRs.
pub fn router_cidrs_disjoint(attached: &[(SubnetId, IpNet)], new: &Subnet) -> Result<()> {
    for (id, cidr) in attached {
        if *id == new.id {
            continue;
        }
        if cidr.contains(&new.cidr.network()) || new.cidr.contains(&cidr.network()) {
            return Err(Error::invalid(format!(
                "Bad router request: Cidr {} of subnet {} overlaps with cidr {cidr} of subnet {id}.",
                new.cidr, new.id
            )));
        }
    }
    Ok(())
}

/// A subnet joins a router of its own data center only.
pub fn router_same_data_center(router: &Router, network: &Network, subnet: SubnetId) -> Result<()> {
    if router.data_center_id != network.data_center_id {
        return Err(Error::invalid(format!(
            "Bad router request: Subnet {subnet} is in another data center than router {}.",
            router.id
        )));
    }
    Ok(())
}

/// An existing port becomes a router interface only when nothing uses it
/// (no VM, no router, no trunk) and it has an address.
pub fn router_port_free(iface: &Interface) -> Result<()> {
    let device = iface
        .vm_id
        .map(|v| v.to_string())
        .or_else(|| iface.router_id.map(|r| r.to_string()))
        .or_else(|| iface.parent_id.map(|p| p.to_string()));
    if let Some(d) = device {
        return Err(Error::conflict(
            ConflictReason::InUse,
            format!(
                "Unable to complete operation on port {} for network {}. Port already has an attached device {d}.",
                iface.id, iface.network_id
            ),
        ));
    }
    if iface.supplementary {
        return Err(Error::conflict(
            ConflictReason::InUse,
            format!(
                "Unable to complete operation on port {} for network {}. Port already has an attached device {}.",
                iface.id, iface.network_id, iface.id
            ),
        ));
    }
    if iface.fixed_ips.is_empty() {
        return Err(Error::invalid(
            "Bad router request: Router port must have at least one fixed IP.",
        ));
    }
    Ok(())
}

/// A router with interfaces cannot be deleted (Neutron's `RouterInUse`).
pub fn router_deletable(router: &Router) -> Result<()> {
    if !router.interfaces.is_empty() {
        return Err(Error::conflict(
            ConflictReason::RouterInUse,
            format!("Router {} still has ports", router.id),
        ));
    }
    Ok(())
}

/// A network with ports cannot be deleted. The core gives the console
/// guide's words ("Network app-net still has 2 network interfaces."); the
/// reason `NetworkInUse` lets Neutron say it its own way.
pub fn network_deletable(name: &str, ports: u64) -> Result<()> {
    if ports > 0 {
        return Err(Error::conflict(
            ConflictReason::NetworkInUse,
            format!("Network {name} still has {ports} network interfaces."),
        ));
    }
    Ok(())
}

/// A router's ports go with the router's interfaces and gateway, never
/// through the port API (Neutron's `prevent_l3_port_deletion`).
pub fn router_port_not_deletable(iface: &Interface) -> Result<()> {
    if iface.router_id.is_some() {
        return Err(Error::conflict(
            ConflictReason::InUse,
            format!(
                "Port {} cannot be deleted directly via the port API: has device owner {}.",
                iface.id, iface.device_owner
            ),
        ));
    }
    Ok(())
}

/// A router's port cannot also be a VM's interface.
pub fn router_port_not_attachable(iface: &Interface) -> Result<()> {
    if let Some(r) = iface.router_id {
        return Err(Error::conflict(
            ConflictReason::InUse,
            format!(
                "Unable to complete operation on port {} for network {}. Port already has an attached device {r}.",
                iface.id, iface.network_id
            ),
        ));
    }
    Ok(())
}

/// An interface is removed while no floating IP reaches the external
/// network through it (`floating_ips` counts those on ports of the subnet
/// whose path is this router).
pub fn router_interface_removable(
    router: RouterId,
    subnet: SubnetId,
    floating_ips: u64,
) -> Result<()> {
    if floating_ips > 0 {
        return Err(Error::conflict(
            ConflictReason::RouterInterfaceInUseByFloatingIp,
            format!(
                "Router interface for subnet {subnet} on router {router} cannot be deleted, as it is required by one or more floating IPs."
            ),
        ));
    }
    Ok(())
}

/// A gateway is removed while no floating IP needs it (Neutron's
/// `RouterExternalGatewayInUseByFloatingIp`).
pub fn router_gateway_removable(router: &Router, floating_ips: u64) -> Result<()> {
    if floating_ips > 0 {
        return Err(Error::conflict(
            ConflictReason::InUse,
            format!(
                "Gateway cannot be updated for router {}, since a gateway to external network {} is required by one or more floating IPs.",
                router.id, router.data_center_id
            ),
        ));
    }
    Ok(())
}

/// A router's gateway is on an external network, which in nicplane is a
/// data center's (its public IP pools); a project network the caller sees
/// (its own or a shared one) is never one: Neutron's 400 `BadRequest`
/// (l3_db `_validate_gw_info`). A network the caller does not see stays
/// "not found" (decided by the caller of this rule).
pub fn router_gateway_network_external(network: &Network) -> Result<()> {
    Err(Error::invalid(format!(
        "Bad router request: Network {} is not an external network.",
        network.id
    )))
}

/// Only the cloud admin chooses a gateway's external addresses (Neutron's
/// policy `create_router:external_gateway_info:external_fixed_ips`).
pub fn router_gateway_ip_choice_allowed(cloud_admin: bool) -> Result<()> {
    if cloud_admin {
        return Ok(());
    }
    Err(Error::forbidden(
        "Only the cloud admin can choose the external fixed IPs of a router gateway (rule:create_router:external_gateway_info:external_fixed_ips is disallowed by policy).",
    ))
}

/// The path of a floating IP (`floating_ip_path`), decided for the subnet
/// of the address it maps to:
///
/// * a subnet that is an interface of no router reaches the public pools
///   through the implicit router of its project and data center (the console
///   guide's public IPs need no router): `Ok(None)`;
/// * a subnet that is an interface of routers reaches them only through one
///   of those routers that has a gateway: `Ok(Some(router))`;
/// * else 404 as Neutron's `ExternalGatewayForFloatingIPNotFound`.
///
/// `routers` are the routers the subnet is an interface of; `external` is the
/// external network's id (the data center's).
pub fn floating_ip_path(
    routers: &[Router],
    subnet: SubnetId,
    port: InterfaceId,
    external: DataCenterId,
) -> Result<Option<RouterId>> {
    if routers.is_empty() {
        return Ok(None);
    }
    routers
        .iter()
        .filter(|r| r.data_center_id == external)
        .find(|r| r.gateway.is_some())
        .map(|r| Some(r.id))
        .ok_or_else(|| {
            Error::conflict(
                ConflictReason::NoExternalGateway,
                format!(
                    "External network {external} is not reachable from subnet {subnet}.  Therefore, cannot associate Port {port} with a Floating IP."
                ),
            )
        })
}

/// Neutron's default router quota (`quota_router`).
pub const ROUTER_QUOTA_DEFAULT: i64 = 10;

#[cfg(test)]
mod tests {
    use super::*;

    fn dhcp(name: &str, value: Option<&str>, version: Option<u8>) -> DhcpOptionChange {
        DhcpOptionChange {
            opt_name: name.into(),
            opt_value: value.map(str::to_string),
            ip_version: version,
        }
    }

    #[test]
    fn dhcp_opts_set_replace_and_remove_by_name_and_version() {
        let set = dhcp_opts_apply(
            &[],
            &[
                dhcp("bootfile-name", Some("pxelinux.0"), None),
                dhcp("tftp-server", Some("2001:db8::1"), Some(6)),
            ],
        )
        .unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(set[0].ip_version, 4);
        let changed = dhcp_opts_apply(
            &set,
            &[
                dhcp("bootfile-name", Some("ipxe.efi"), None),
                dhcp("tftp-server", None, Some(6)),
            ],
        )
        .unwrap();
        assert_eq!(
            changed,
            vec![DhcpOption {
                opt_name: "bootfile-name".into(),
                opt_value: "ipxe.efi".into(),
                ip_version: 4
            }]
        );
    }

    #[test]
    fn dhcp_opts_are_bounded_and_checked() {
        let msg = |r: Result<Vec<DhcpOption>>| r.unwrap_err().to_string();
        assert_eq!(
            msg(dhcp_opts_apply(&[], &[dhcp("", Some("x"), None)])),
            "Invalid value for extra_dhcp_opts: the option name '' must be 1 to 64 printable characters."
        );
        assert_eq!(
            msg(dhcp_opts_apply(&[], &[dhcp("mtu", Some("1500"), Some(5))])),
            "Invalid value for extra_dhcp_opts: ip_version 5 of option mtu is not 4 or 6."
        );
        assert_eq!(
            msg(dhcp_opts_apply(
                &[],
                &[
                    dhcp("mtu", Some("1"), None),
                    dhcp("mtu", Some("2"), Some(4))
                ]
            )),
            "Invalid value for extra_dhcp_opts: the option mtu (IPv4) is given twice."
        );
        let long = "v".repeat(DHCP_OPT_VALUE_MAX + 1);
        assert_eq!(
            msg(dhcp_opts_apply(&[], &[dhcp("mtu", Some(&long), None)])),
            "Invalid value for extra_dhcp_opts: the value of option mtu must be 1 to 255 printable characters."
        );
        let many: Vec<DhcpOptionChange> = (0..=DHCP_OPTS_MAX)
            .map(|i| dhcp(&format!("o{i}"), Some("v"), None))
            .collect();
        assert_eq!(
            msg(dhcp_opts_apply(&[], &many)),
            "Invalid value for extra_dhcp_opts: 33 options given, at most 32 are allowed per port."
        );
    }

    #[test]
    fn lowest_free_vlan_fills_gaps_first() {
        assert_eq!(lowest_free_vlan(&[]).map(VlanId::get), Some(1));
        assert_eq!(lowest_free_vlan(&[1, 2, 4]).map(VlanId::get), Some(3));
        assert_eq!(lowest_free_vlan(&[2, 3]).map(VlanId::get), Some(1));
        let all: Vec<u16> = (VLAN_MIN..=VLAN_MAX).collect();
        assert_eq!(lowest_free_vlan(&all), None);
        let but_last: Vec<u16> = (VLAN_MIN..VLAN_MAX).collect();
        assert_eq!(lowest_free_vlan(&but_last).map(VlanId::get), Some(VLAN_MAX));
    }

    #[test]
    fn a_supplementary_vlan_is_the_asked_one_or_the_lowest_free() {
        let parent = InterfaceId::new();
        let v = |n: i64| VlanId::new(n).unwrap();
        assert_eq!(
            supplementary_vlan(&[1, 3], Some(v(2)), parent).unwrap(),
            v(2)
        );
        assert_eq!(supplementary_vlan(&[1, 3], None, parent).unwrap(), v(2));
        assert_eq!(
            supplementary_vlan(&[1, 3], Some(v(3)), parent)
                .unwrap_err()
                .to_string(),
            format!("VLAN 3 is already used on parent interface {parent}.")
        );
        let all: Vec<u16> = (VLAN_MIN..=VLAN_MAX).collect();
        assert_eq!(
            supplementary_vlan(&all, None, parent)
                .unwrap_err()
                .to_string(),
            format!("Parent interface {parent} has no free VLAN id left (1-4094 are all used).")
        );
    }

    #[test]
    fn the_default_security_group_name_is_kept_and_reserved() {
        assert!(security_group_name_allowed(true, "default").is_ok());
        assert!(security_group_name_allowed(false, "web").is_ok());
        assert_eq!(
            security_group_name_allowed(true, "web")
                .unwrap_err()
                .to_string(),
            "The default security group cannot be renamed."
        );
        assert_eq!(
            security_group_name_allowed(false, "default")
                .unwrap_err()
                .to_string(),
            "The name default is reserved for the project's default security group."
        );
    }

    #[test]
    fn a_subnet_makes_a_network_routed() {
        assert_eq!(kind_with_subnet(NetworkKind::Custom), NetworkKind::Standard);
        assert_eq!(
            kind_with_subnet(NetworkKind::Standard),
            NetworkKind::Standard
        );
    }
    use crate::ids::*;
    use crate::model::now;
    use crate::types::InterfaceStatus;
    use std::collections::BTreeMap;

    #[test]
    fn pools_must_not_overlap() {
        let net = |s: &str| s.parse::<IpNet>().expect("cidr");
        let pools = vec![("main".to_string(), net("203.0.113.0/24"))];
        for inside_or_around in ["203.0.113.128/25", "203.0.113.0/24", "203.0.0.0/16"] {
            let e = pool_does_not_overlap(net(inside_or_around), &pools).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("The CIDR {inside_or_around} overlaps the public IP pool main (203.0.113.0/24).")
            );
        }
        assert!(pool_does_not_overlap(net("203.0.114.0/24"), &pools).is_ok());
        assert!(pool_does_not_overlap(net("203.0.112.0/24"), &pools).is_ok());
    }

    #[test]
    fn within_quota_refuses_past_the_limit_and_ignores_unlimited() {
        use crate::quota::QuotaResource::Port;
        assert!(within_quota(Port, 4, 1, 5).is_ok());
        let e = within_quota(Port, 5, 1, 5).unwrap_err();
        assert_eq!(e.to_string(), "Quota exceeded for resources: ['port'].");
        assert!(within_quota(Port, 0, 1, 0).is_err());
        assert!(within_quota(Port, i64::MAX, 1, -1).is_ok());
        assert!(quota_limit_valid(Port, -1).is_ok());
        assert!(quota_limit_valid(Port, -2).is_err());
    }

    fn vm(os: OsType, power: PowerState) -> Vm {
        Vm {
            id: VmId::new(),
            project_id: ProjectId::new(),
            data_center_id: DataCenterId::new(),
            name: "web-1".into(),
            os_type: os,
            power_state: power,
            image_ref: String::new(),
            flavor_ref: String::new(),
            metadata: BTreeMap::new(),
            interface_count: 1,
            access_ipv4: None,
            access_ipv6: None,
            host_id: None,
            created_at: now(),
            updated_at: now(),
        }
    }

    fn network(kind: NetworkKind, dc: DataCenterId) -> Network {
        Network {
            id: NetworkId::new(),
            project_id: None,
            data_center_id: dc,
            name: "db-net".into(),
            description: String::new(),
            kind,
            shared: false,
            is_default: false,
            created_at: now(),
            updated_at: now(),
        }
    }

    fn iface(primary: bool) -> Interface {
        Interface {
            status_reason: None,
            id: InterfaceId::new(),
            project_id: ProjectId::new(),
            network_id: NetworkId::new(),
            network_name: "n".into(),
            data_center_id: DataCenterId::new(),
            vm_id: None,
            name: String::new(),
            mac_address: "fa:16:3e:00:00:01".parse().unwrap(),
            fixed_ips: vec![],
            primary,
            status: InterfaceStatus::Build,
            admin_state_up: true,
            description: String::new(),
            tag: None,
            security_groups: vec![],
            port_security_enabled: true,
            allowed_address_pairs: vec![],
            extra_dhcp_opts: vec![],
            tags: vec![],
            device_owner: String::new(),
            public_ip: None,
            parent_id: None,
            vlan_id: None,
            supplementary: false,
            router_id: None,
            created_at: now(),
            updated_at: now(),
        }
    }

    #[test]
    fn interface_limit_refuses_the_sixth() {
        let v = vm(OsType::Linux, PowerState::Running);
        assert!(interface_limit(&v, 4, 5).is_ok());
        let e = interface_limit(&v, 5, 5).unwrap_err();
        assert_eq!(
            e.conflict_reason(),
            Some(ConflictReason::InterfaceLimitReached)
        );
        assert!(e.to_string().contains("maximum is 5"));
        assert!(interface_limit(&v, 7, 8).is_ok());
    }

    #[test]
    fn network_must_be_in_the_vms_data_center() {
        let v = vm(OsType::Linux, PowerState::Running);
        assert!(
            network_in_vm_data_center(&v, &network(NetworkKind::Standard, v.data_center_id))
                .is_ok()
        );
        let e = network_in_vm_data_center(&v, &network(NetworkKind::Standard, DataCenterId::new()))
            .unwrap_err();
        assert_eq!(e.http_status(), 400);
    }

    #[test]
    fn windows_must_be_stopped_linux_may_run() {
        assert!(hot_plug_allowed(&vm(OsType::Linux, PowerState::Running)).is_ok());
        assert!(hot_plug_allowed(&vm(OsType::Windows, PowerState::Stopped)).is_ok());
        let e = hot_plug_allowed(&vm(OsType::Windows, PowerState::Running)).unwrap_err();
        assert_eq!(e.conflict_reason(), Some(ConflictReason::VmMustBeStopped));
        assert!(e.to_string().contains("stop the VM"));
    }

    #[test]
    fn primary_cannot_be_removed() {
        assert!(primary_not_removable(&iface(false)).is_ok());
        assert_eq!(
            primary_not_removable(&iface(true))
                .unwrap_err()
                .conflict_reason(),
            Some(ConflictReason::PrimaryInterface)
        );
    }

    #[test]
    fn fixed_ip_checks_name_the_address() {
        let s = AddressSpace::new("10.0.0.0/24".parse().unwrap()).unwrap();
        let gw = Some("10.0.0.1".parse().unwrap());
        assert_eq!(
            fixed_ip_allowed(&s, gw, "app", "10.0.0.5".parse().unwrap()).unwrap(),
            5
        );
        for (ip, word) in [
            ("10.0.1.5", "not in subnet"),
            ("10.0.0.0", "network address"),
            ("10.0.0.255", "broadcast"),
            ("10.0.0.1", "gateway"),
        ] {
            let e = fixed_ip_allowed(&s, gw, "app", ip.parse().unwrap()).unwrap_err();
            assert!(e.to_string().contains(ip), "{e}");
            assert!(e.to_string().contains(word), "{e}");
            assert_eq!(e.http_status(), 400);
        }
        assert!(address_in_use("10.0.0.5".parse().unwrap(), "app")
            .to_string()
            .contains("10.0.0.5 is already in use"));
    }

    #[test]
    fn public_ips_only_on_standard_networks() {
        let dc = DataCenterId::new();
        assert!(public_ip_network_allowed(&network(NetworkKind::Standard, dc)).is_ok());
        let e = public_ip_network_allowed(&network(NetworkKind::Custom, dc)).unwrap_err();
        assert!(e.to_string().contains("L2"));
    }

    #[test]
    fn one_public_ip_per_interface_refuses_a_second() {
        let mut i = iface(false);
        assert!(one_public_ip_per_interface(&i).is_ok());
        i.public_ip = Some("203.0.113.5".parse().unwrap());
        assert!(one_public_ip_per_interface(&i).is_err());
    }

    #[test]
    fn released_public_ips_go_behind_fresh_ones() {
        let fresh = Range::new(7, 20);
        assert_eq!(
            public_ip_release_order(fresh, Some((1, 3)), "p").unwrap(),
            PublicIpSource::Fresh(fresh.unwrap())
        );
        assert_eq!(
            public_ip_release_order(None, Some((1, 3)), "p").unwrap(),
            PublicIpSource::Released { seq: 1, offset: 3 }
        );
        let e = public_ip_release_order(None, None, "p").unwrap_err();
        assert_eq!(e.http_status(), 409);
    }

    #[test]
    fn a_scoped_token_acts_only_in_its_project() {
        let a = ProjectId::new();
        let b = ProjectId::new();
        assert!(token_scope_allows(Some(&a), &a, false).is_ok());
        assert!(token_scope_allows(None, &b, false).is_ok());
        assert!(token_scope_allows(Some(&a), &b, true).is_ok());
        let e = token_scope_allows(Some(&a), &b, false).unwrap_err();
        assert_eq!(e.http_status(), 404);
        assert_eq!(e.to_string(), format!("Project {b} could not be found."));
    }

    #[test]
    fn passwords_have_a_minimum_length_in_characters() {
        assert!(password_long_enough("12345678", 8).is_ok());
        assert!(password_long_enough("éééééééé", 8).is_ok());
        let e = password_long_enough("1234567", 8).unwrap_err();
        assert_eq!(e.http_status(), 400);
        assert_eq!(
            e.to_string(),
            "Invalid value for password: must be at least 8 characters."
        );
    }

    #[test]
    fn the_last_enabled_cloud_admin_is_kept() {
        let a = UserId::new();
        let b = UserId::new();
        assert!(last_cloud_admin_kept(a, "a", &[a, b]).is_ok());
        assert!(last_cloud_admin_kept(a, "a", &[b]).is_ok());
        let e = last_cloud_admin_kept(a, "admin", &[a]).unwrap_err();
        assert_eq!(e.http_status(), 409);
    }

    #[test]
    fn only_the_cloud_admin_resets_without_the_original_password() {
        assert!(password_change_needs_original(false, true, None).is_ok());
        assert!(password_change_needs_original(true, false, Some("x")).is_ok());
        assert_eq!(
            password_change_needs_original(true, true, None)
                .unwrap_err()
                .http_status(),
            400
        );
    }

    #[test]
    fn readers_cannot_write() {
        assert!(role_may_write(Role::Admin).is_ok());
        assert!(role_may_write(Role::PowerUser).is_ok());
        assert_eq!(role_may_write(Role::Reader).unwrap_err().http_status(), 403);
        assert!(role_may_administer(Role::PowerUser).is_err());
    }

    #[test]
    fn supplementary_rules() {
        let mut p = iface(false);
        assert!(parent_must_be_elastic(&p).is_ok());
        p.supplementary = true;
        assert!(parent_must_be_elastic(&p).is_err());
        assert!(parent_has_no_children(&p, 0).is_ok());
        assert_eq!(
            parent_has_no_children(&p, 2).unwrap_err().http_status(),
            409
        );
        assert_eq!(
            vlan_in_use(7, "x").conflict_reason(),
            Some(ConflictReason::VlanInUse)
        );
    }

    fn project_net(owner: Option<ProjectId>) -> Network {
        let mut n = network(NetworkKind::Standard, DataCenterId::new());
        n.shared = owner.is_none();
        n.project_id = owner;
        n
    }

    #[test]
    fn network_owner_powers_refuse_each_field_on_a_shared_network() {
        let me = ProjectId::new();
        let shared = project_net(None);
        let mine = project_net(Some(me.clone()));
        let cases = [
            (
                OwnerPowers {
                    fixed_ip_address: true,
                    ..Default::default()
                },
                "rule:create_port:fixed_ips:ip_address",
            ),
            (
                OwnerPowers {
                    mac_address: true,
                    ..Default::default()
                },
                "rule:create_port:mac_address",
            ),
            (
                OwnerPowers {
                    port_security_disabled: true,
                    ..Default::default()
                },
                "rule:create_port:port_security_enabled",
            ),
            (
                OwnerPowers {
                    allowed_address_pairs: true,
                    ..Default::default()
                },
                "rule:create_port:allowed_address_pairs",
            ),
        ];
        for (asked, rule) in cases {
            let e =
                network_owner_powers(&shared, &me, false, PortAction::Create, asked).unwrap_err();
            assert_eq!(e.http_status(), 403);
            assert!(e.to_string().contains(rule), "{e}");
            assert!(
                e.to_string()
                    .starts_with("Only the owner of network db-net"),
                "{e}"
            );
            assert!(network_owner_powers(&mine, &me, false, PortAction::Create, asked).is_ok());
            assert!(network_owner_powers(&shared, &me, true, PortAction::Create, asked).is_ok());
        }
        let e = network_owner_powers(
            &project_net(Some(ProjectId::new())),
            &me,
            false,
            PortAction::Update,
            OwnerPowers {
                mac_address: true,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("rule:update_port:mac_address"),
            "{e}"
        );
        assert!(network_owner_powers(
            &shared,
            &me,
            false,
            PortAction::Create,
            OwnerPowers::default()
        )
        .is_ok());
    }

    #[test]
    fn bounds_name_the_field() {
        assert!(fixed_ips_bound(5, 5).is_ok());
        let e = fixed_ips_bound(6, 5).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value for fixed_ips: 6 fixed IPs given, at most 5 are allowed per port."
        );
        assert!(bulk_bound("ports", BULK_CREATE_MAX).is_ok());
        assert!(bulk_bound("ports", BULK_CREATE_MAX + 1)
            .unwrap_err()
            .to_string()
            .starts_with("Invalid value for ports:"));
        assert!(bulk_bound("ports", 0).is_err());
        assert!(list_bound("security_groups", 11, 10).is_err());
        let many: std::collections::BTreeMap<String, String> = (0..=METADATA_ITEMS_MAX)
            .map(|i| (format!("k{i}"), String::new()))
            .collect();
        assert_eq!(
            check_metadata(&many).unwrap_err().to_string(),
            "Invalid value for metadata: 129 entries given, at most 128 are allowed."
        );
    }

    fn pair(ip: &str, mac: Option<&str>) -> AddressPair {
        AddressPair {
            ip_address: ip.into(),
            mac_address: mac.map(String::from),
        }
    }

    #[test]
    fn address_pairs_are_bounded_and_validated() {
        let ok = [
            pair("10.0.0.5", None),
            pair("10.1.0.0/16", Some("fa:16:3e:00:00:01")),
            pair("fd00::/64", None),
            pair("0.0.0.0/0", None),
        ];
        assert!(check_address_pairs(&ok, 10, false).is_ok());
        assert!(check_address_pairs(&ok, 10, true).is_err());
        let eleven: Vec<_> = (0..11)
            .map(|i| pair(&format!("10.0.0.{i}"), None))
            .collect();
        assert_eq!(
            check_address_pairs(&eleven, 10, false).unwrap_err().to_string(),
            "Invalid value for allowed_address_pairs: 11 pairs given, at most 10 are allowed per port."
        );
        for (bad, word) in [
            (pair("10.0.0.300", None), "not an IP address or CIDR"),
            (pair("10.0.0.1/24", None), "host bits"),
            (
                pair("10.0.0.1", Some("zz:16:3e:00:00:01")),
                "not a unicast MAC address",
            ),
            (
                pair("10.0.0.1", Some("01:00:5e:00:00:01")),
                "not a unicast MAC address",
            ),
        ] {
            let e = check_address_pairs(&[bad], 10, false).unwrap_err();
            assert!(e.to_string().contains("allowed_address_pairs"), "{e}");
            assert!(e.to_string().contains(word), "{e}");
        }
        let twice = [pair("10.0.0.5", None), pair("10.0.0.5", None)];
        assert!(check_address_pairs(&twice, 10, false).is_err());
    }

    #[test]
    fn a_revision_constraint_holds_only_at_that_revision() {
        assert!(revision_matches(3, 3).is_ok());
        let e = revision_matches(2, 3).unwrap_err();
        assert_eq!(e.http_status(), 412);
        assert_eq!(e.to_string(), "Constrained to 2, but current revision is 3");
    }

    #[test]
    fn neutron_tags_are_bounded_sorted_and_removed_only_when_there() {
        let cur = vec!["b".to_string()];
        let add = neutron_tags_apply("network", "n1", &cur, &TagChange::Add("a".into())).unwrap();
        assert_eq!(add, vec!["a", "b"]);
        let e =
            neutron_tags_apply("network", "n1", &cur, &TagChange::Remove("z".into())).unwrap_err();
        assert!(matches!(
            e,
            Error::NotFound {
                kind: Kind::Tag,
                ..
            }
        ));
        let many = TagChange::Replace((0..21).map(|i| i.to_string()).collect());
        let e = neutron_tags_apply("trunk", "t1", &[], &many).unwrap_err();
        assert_eq!(e.to_string(), "At most 20 tags are allowed on one trunk.");
        for bad in ["", "a,b", &"x".repeat(256)] {
            assert!(
                neutron_tags_apply("subnet", "s", &[], &TagChange::Add(bad.to_string())).is_err()
            );
        }
        assert_eq!(
            neutron_tags_apply("subnet", "s", &cur, &TagChange::Clear).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_chosen_public_address_is_a_host_of_a_pool_but_its_gateway() {
        let dc = DataCenterId::new();
        let pool = PublicIpPool {
            id: crate::ids::PoolId::new(),
            data_center_id: dc,
            external_network_id: ExternalNetworkId::default_of(dc),
            name: "p".into(),
            cidr: "198.51.100.0/28".parse().unwrap(),
            free_addresses: 13,
            created_at: crate::model::now(),
        };
        let pools = [pool];
        let (_, off) = public_ip_chosen_in_pool("198.51.100.5".parse().unwrap(), &pools).unwrap();
        assert_eq!(off, 5);
        for bad in ["198.51.100.0", "198.51.100.1", "198.51.100.15", "10.0.0.1"] {
            assert!(
                public_ip_chosen_in_pool(bad.parse().unwrap(), &pools).is_err(),
                "{bad}"
            );
        }
        assert!(public_ip_address_free(true, "198.51.100.5".parse().unwrap(), &pools[0]).is_ok());
        let e =
            public_ip_address_free(false, "198.51.100.5".parse().unwrap(), &pools[0]).unwrap_err();
        assert_eq!(e.conflict_reason(), Some(ConflictReason::AddressInUse));
        assert!(public_ip_address_choice_allowed(true).is_ok());
        assert_eq!(
            public_ip_address_choice_allowed(false)
                .unwrap_err()
                .http_status(),
            403
        );
    }

    #[test]
    fn flavor_attributes_are_checked() {
        assert!(flavor_text_valid("name", "m1.tiny").is_ok());
        assert!(flavor_text_valid("name", "").is_err());
        assert!(flavor_text_valid("name", " padded").is_err());
        assert!(flavor_text_valid("id", "a/b").is_err());
        assert_eq!(flavor_size_valid("vcpus", 2, 1).unwrap(), 2);
        assert!(flavor_size_valid("vcpus", 0, 1).is_err());
        assert!(flavor_size_valid("disk", 0, 0).is_ok());
        assert!(flavor_size_valid("ram", 2_147_483_648, 1).is_err());
        assert!(flavor_manage_allowed(false, "create").is_err());
    }

    #[test]
    fn tags_are_checked() {
        let t = |k: &str, v: &str| ResourceTag {
            key: k.into(),
            value: v.into(),
        };
        assert!(check_tags(&[t("env", "prod.1"), t("名字", "值")]).is_ok());
        assert!(check_tags(&[t("", "x")]).is_err());
        assert!(check_tags(&[t("a b", "x")]).is_err());
        assert!(check_tags(&[t("k", "x"), t("k", "y")]).is_err());
        assert!(check_tags(&[t(&"k".repeat(129), "")]).is_err());
        let many: Vec<_> = (0..=TAGS_MAX).map(|i| t(&format!("k{i}"), "")).collect();
        assert!(check_tags(&many).is_err());
    }

    #[test]
    fn security_group_rule_fields_are_validated() {
        assert_eq!(sg_rule_protocol(None).unwrap(), None);
        assert_eq!(sg_rule_protocol(Some("any")).unwrap(), None);
        assert_eq!(
            sg_rule_protocol(Some("TCP")).unwrap(),
            Some(("tcp".into(), 6))
        );
        assert_eq!(
            sg_rule_protocol(Some("132")).unwrap(),
            Some(("132".into(), 132))
        );
        for bad in ["256", "-1", "tcpp"] {
            let e = sg_rule_protocol(Some(bad)).unwrap_err();
            assert!(
                e.to_string().starts_with("Invalid value for protocol:"),
                "{e}"
            );
        }
        assert!(sg_rule_ports(Some(("tcp", 6)), Some(22), Some(22)).is_ok());
        assert!(sg_rule_ports(Some(("tcp", 6)), Some(1), Some(65535)).is_ok());
        assert!(sg_rule_ports(Some(("tcp", 6)), Some(0), Some(22)).is_err());
        assert_eq!(
            sg_rule_ports(Some(("udp", 17)), Some(90), Some(80))
                .unwrap_err()
                .to_string(),
            "For TCP/UDP protocols, port_range_min must be <= port_range_max."
        );
        assert_eq!(
            sg_rule_ports(Some(("tcp", 6)), None, Some(6))
                .unwrap_err()
                .to_string(),
            "For TCP/UDP protocols, port_range_min must be <= port_range_max."
        );
        assert_eq!(
            sg_rule_ports(Some(("icmp", 1)), Some(1), Some(256))
                .unwrap_err()
                .to_string(),
            "Invalid value for ICMP code (port_range_max) 256. It must be 0 to 255."
        );
        assert_eq!(
            sg_rule_ports(Some(("ipv6-icmp", 58)), None, Some(6))
                .unwrap_err()
                .to_string(),
            "ICMP code (port-range-max) 6 is provided but ICMP type (port-range-min) is missing."
        );
        assert_eq!(
            sg_rule_remote_prefix("10.0.0.0/8", true)
                .unwrap_err()
                .to_string(),
            "Conflicting value ethertype IPv6 for CIDR 10.0.0.0/8."
        );
        assert!(sg_rule_ports(None, Some(22), None).is_err());
        assert!(sg_rule_ports(Some(("gre", 47)), Some(1), Some(2)).is_err());
        assert!(sg_rule_ports(Some(("icmp", 1)), Some(8), Some(0)).is_ok());
        assert!(sg_rule_ports(Some(("icmp", 1)), Some(256), None).is_err());
        assert!(sg_rule_ports(Some(("icmp", 1)), None, Some(0)).is_err());
        assert!(sg_rule_ports(Some(("gre", 47)), None, None).is_ok());
        assert_eq!(
            sg_rule_remote_prefix("10.0.0.7", false)
                .unwrap()
                .to_string(),
            "10.0.0.7/32"
        );
        assert_eq!(
            sg_rule_remote_prefix("10.0.0.7/24", false)
                .unwrap()
                .to_string(),
            "10.0.0.0/24"
        );
        assert!(sg_rule_remote_prefix("fd00::/64", false).is_err());
        assert!(sg_rule_remote_prefix("fd00::/64", true).is_ok());
        assert!(sg_rule_remote_prefix("nonsense", false).is_err());
    }
}

/// How the caller of a request proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// A token from a password login (or a session derived from one).
    Token,
    /// An AK/SK request signature.
    AccessKey,
}

/// Access keys are created and deleted only by a caller who logged in with a
/// password (a token), never with an AK/SK signature: a leaked key must not
/// mint new keys or remove the owner's. Huawei IAM likewise takes these calls
/// with a user token (`X-Auth-Token`).
pub fn access_keys_managed_with_token(proof: Proof) -> Result<()> {
    match proof {
        Proof::Token => Ok(()),
        Proof::AccessKey => Err(Error::forbidden(
            "Access keys can only be created or deleted with a token from a password login, not with an AK/SK signature.",
        )),
    }
}

/// The slot a new access key takes among a user's `limit` slots (1-based),
/// given the slots of the keys the user has (`None`: a key beyond the limit
/// made before the limit existed, which still counts). Backed by the unique
/// index `credentials_user_slot` and `CHECK (slot IN (1, 2))` (migration
/// 0005), so two racing creates cannot both take the last slot.
pub fn credential_slot(held: &[Option<i16>], limit: i16, message: &str) -> Result<i16> {
    let full = || Error::conflict(ConflictReason::CredentialLimitReached, message);
    if held.len() >= usize::try_from(limit).unwrap_or(0) {
        return Err(full());
    }
    (1..=limit)
        .find(|s| !held.contains(&Some(*s)))
        .ok_or_else(full)
}

#[cfg(test)]
mod credential_tests {
    use super::*;

    #[test]
    fn a_third_access_key_is_refused() {
        assert_eq!(credential_slot(&[], 2, "m"), Ok(1));
        assert_eq!(credential_slot(&[Some(1)], 2, "m"), Ok(2));
        assert_eq!(credential_slot(&[Some(2)], 2, "m"), Ok(1));
        let e = credential_slot(&[Some(1), Some(2)], 2, "m").unwrap_err();
        assert_eq!(
            e.conflict_reason(),
            Some(ConflictReason::CredentialLimitReached)
        );
        // Keys without a slot (made before the limit) still count.
        assert!(credential_slot(&[None, Some(2)], 2, "m").is_err());
        assert!(credential_slot(&[None, None, None], 2, "m").is_err());
    }

    #[test]
    fn only_a_token_manages_access_keys() {
        assert_eq!(access_keys_managed_with_token(Proof::Token), Ok(()));
        let e = access_keys_managed_with_token(Proof::AccessKey).unwrap_err();
        assert_eq!(e.http_status(), 403);
    }

    fn router(dc: DataCenterId, gateway: bool) -> Router {
        Router {
            id: RouterId::new(),
            project_id: "0123456789abcdef0123456789abcdef".parse().unwrap(),
            data_center_id: dc,
            name: String::new(),
            description: String::new(),
            admin_state_up: true,
            status: "ACTIVE".into(),
            gateway: gateway.then(|| crate::model::RouterGateway {
                network_id: ExternalNetworkId::new(),
                enable_snat: true,
                external_fixed_ips: vec![],
            }),
            interfaces: vec![],
            created_at: crate::model::now(),
            updated_at: crate::model::now(),
        }
    }

    #[test]
    fn a_floating_ip_goes_through_the_implicit_router_or_a_router_with_a_gateway() {
        let dc = DataCenterId::new();
        let (subnet, port) = (SubnetId::new(), InterfaceId::new());
        assert_eq!(floating_ip_path(&[], subnet, port, dc).unwrap(), None);
        let with = router(dc, true);
        assert_eq!(
            floating_ip_path(&[router(dc, false), with.clone()], subnet, port, dc).unwrap(),
            Some(with.id)
        );
        let e = floating_ip_path(&[router(dc, false)], subnet, port, dc).unwrap_err();
        assert_eq!(e.conflict_reason(), Some(ConflictReason::NoExternalGateway));
        assert_eq!(
            e.to_string(),
            format!("External network {dc} is not reachable from subnet {subnet}.  Therefore, cannot associate Port {port} with a Floating IP.")
        );
        // A gateway in another data center is no path.
        assert!(floating_ip_path(&[router(DataCenterId::new(), true)], subnet, port, dc).is_err());
    }

    #[test]
    fn router_subnets_must_not_overlap() {
        let mk = |cidr: &str| Subnet {
            id: SubnetId::new(),
            network_id: crate::ids::NetworkId::new(),
            project_id: None,
            name: String::new(),
            ip_version: 4,
            cidr: cidr.parse().unwrap(),
            gateway_ip: None,
            allocation_pools: vec![],
            free_addresses: "0".into(),
            description: String::new(),
            enable_dhcp: true,
            dns_nameservers: vec![],
            host_routes: vec![],
            ipv6_ra_mode: None,
            ipv6_address_mode: None,
            created_at: crate::model::now(),
            updated_at: crate::model::now(),
        };
        let a = mk("10.0.0.0/24");
        assert!(router_cidrs_disjoint(&[(a.id, a.cidr)], &mk("10.0.1.0/24")).is_ok());
        let e = router_cidrs_disjoint(&[(a.id, a.cidr)], &mk("10.0.0.0/16")).unwrap_err();
        assert_eq!(e.http_status(), 400);
        assert!(router_subnet_has_gateway(&a).is_err());
    }

    #[test]
    fn a_router_with_interfaces_is_in_use() {
        let mut r = router(DataCenterId::new(), false);
        assert!(router_deletable(&r).is_ok());
        r.interfaces.push(crate::model::RouterInterface {
            port_id: InterfaceId::new(),
            subnet_id: SubnetId::new(),
            network_id: crate::ids::NetworkId::new(),
            ip_address: "10.0.0.1".parse().unwrap(),
        });
        let e = router_deletable(&r).unwrap_err();
        assert_eq!(e.conflict_reason(), Some(ConflictReason::RouterInUse));
        assert_eq!(e.to_string(), format!("Router {} still has ports", r.id));
    }
    #[test]
    fn a_create_names_its_project_and_only_the_cloud_admin_another() {
        let scope = ProjectId::new();
        let other = ProjectId::new();
        let o = other.to_string();
        assert_eq!(
            create_project_named(&scope, None, None, false).unwrap(),
            scope
        );
        assert_eq!(
            create_project_named(&scope, Some(scope.as_str()), None, false).unwrap(),
            scope
        );
        assert_eq!(
            create_project_named(&scope, None, Some(&o), true).unwrap(),
            other
        );
        let e = create_project_named(&scope, Some(&o), None, false).unwrap_err();
        assert_eq!(e.http_status(), 403);
        assert_eq!(
            e.to_string(),
            format!("project_id {o} is not the project of the token; only the cloud admin creates resources in another project.")
        );
        let e = create_project_named(&scope, Some(&o), Some(scope.as_str()), true).unwrap_err();
        assert_eq!(e.to_string(), "'project_id' and 'tenant_id' do not match");
        let e = create_project_named(&scope, Some("nope"), None, true).unwrap_err();
        assert_eq!(e.to_string(), "Project nope could not be found.");
    }

    #[test]
    fn a_network_with_ports_is_in_use_and_domains_are_listed_by_the_cloud_admin() {
        assert!(network_deletable("app", 0).is_ok());
        let e = network_deletable("app", 2).unwrap_err();
        assert_eq!(e.conflict_reason(), Some(ConflictReason::NetworkInUse));
        assert_eq!(e.to_string(), "Network app still has 2 network interfaces.");
        assert!(domain_list_allowed(true).is_ok());
        assert_eq!(
            domain_list_allowed(false).unwrap_err().to_string(),
            "You are not authorized to perform the requested action: identity:list_domains."
        );
    }
}

/// A network becomes external (Neutron's `router:external: true` on update)
/// only while it has no subnets and no ports, and never a project's Default
/// Network: nicplane's external networks hold public IP pools, not subnets,
/// so there is nothing to convert. 409.
pub fn network_convertible_to_external(
    network: &Network,
    subnets: usize,
    ports: u64,
) -> Result<()> {
    if network.is_default {
        return Err(Error::conflict(
            ConflictReason::InUse,
            format!("The Default Network {} cannot become external.", network.id),
        ));
    }
    if subnets > 0 || ports > 0 {
        return Err(Error::conflict(
            ConflictReason::InUse,
            format!(
                "Network {} has subnets or ports; only a network without them can become external.",
                network.id
            ),
        ));
    }
    Ok(())
}

/// An external network stops being external (`router:external: false`)
/// only while no router gateway uses it (Neutron's `ExternalNetworkInUse`)
/// and it holds no public IP pools (they cannot become a project's
/// subnets); a data center's default external network stays external. 409.
pub fn external_network_unflaggable(
    network: &ExternalNetwork,
    gateways: u64,
    pools: usize,
) -> Result<()> {
    let id = network.id;
    if gateways > 0 {
        return Err(Error::conflict(
            ConflictReason::InUse,
            format!("External network {id} cannot be updated to be made non-external, since it has existing gateway ports."),
        ));
    }
    if pools > 0 {
        return Err(Error::conflict(
            ConflictReason::InUse,
            format!("External network {id} still has {pools} public IP pools (subnets); delete them first."),
        ));
    }
    if network.is_default() {
        return Err(Error::conflict(
            ConflictReason::InUse,
            format!("External network {id} is the default external network of its data center; it stays external."),
        ));
    }
    Ok(())
}

/// A pool created for an external network and a data center must name the
/// network's own data center. 400.
pub fn pool_in_network_data_center(network: &ExternalNetwork, dc: DataCenterId) -> Result<()> {
    if network.data_center_id != dc {
        return Err(Error::invalid(format!(
            "External network {} is in another data center than {dc}.",
            network.id
        )));
    }
    Ok(())
}

/// An external network is deleted with its pools and its floating IPs that
/// are on no port, as Neutron does (`delete_disassociated_floatingips`);
/// router gateways, floating IPs on ports and ports on the network
/// (`associated` counts both) keep it: Neutron's `NetworkInUse`, 409.
pub fn external_network_deletable(
    id: ExternalNetworkId,
    gateways: u64,
    associated: u64,
) -> Result<()> {
    if gateways > 0 || associated > 0 {
        return Err(Error::conflict(
            ConflictReason::InUse,
            format!("Unable to complete operation on network {id}. There are one or more ports still in use on the network."),
        ));
    }
    Ok(())
}

/// A pool is deleted (Neutron's subnet delete on an external network) only
/// while none of its addresses is held (floating IPs, router gateways,
/// ports on the external network): Neutron's `SubnetInUse`, 409.
pub fn pool_deletable(pool: &PublicIpPool, held: u64) -> Result<()> {
    if held > 0 {
        return Err(Error::conflict(
            ConflictReason::InUse,
            format!("Unable to complete operation on subnet {}: One or more ports have an IP allocation from this subnet.", pool.id),
        ));
    }
    Ok(())
}

/// A router's gateway is on an external network of the router's own data
/// center (a router lives in one). 400, Neutron's `BadRequest` wording.
pub fn router_gateway_in_data_center(
    router_dc: DataCenterId,
    network: &ExternalNetwork,
) -> Result<()> {
    if network.data_center_id != router_dc {
        return Err(Error::invalid(format!(
            "Bad router request: external network {} is in availability zone {}, the router in {router_dc}.",
            network.id, network.data_center_id
        )));
    }
    Ok(())
}

/// An external network holds public IP pools, not VM interfaces: an
/// interface or a VM's NIC on it is refused, 400 (the console guide's
/// public IPs go on interfaces of standard networks). Its addresses go to
/// floating IPs, router gateways and the cloud admin's ports there, which
/// are attached to nothing (`external_port_allowed`).
pub fn external_network_has_no_ports(network: &ExternalNetwork) -> Error {
    Error::invalid(format!(
        "Network {} is an external network: its addresses go to floating IPs, router gateways and the cloud admin's ports, not to VM interfaces.",
        network.id
    ))
}

/// A pool named together with an external network (a floating IP's or a
/// gateway's `subnet_id`) must be one of that network's. 400.
pub fn pool_of_external_network(pool: PoolId, network: &ExternalNetwork) -> Result<()> {
    if !network.pool_ids.contains(&pool) {
        return Err(Error::invalid(format!(
            "Subnet {pool} is not a subnet of external network {}.",
            network.id
        )));
    }
    Ok(())
}

#[cfg(test)]
mod external_network_tests {
    use super::*;
    use crate::model::now;

    fn network(dc: DataCenterId, default: bool) -> ExternalNetwork {
        ExternalNetwork {
            id: if default {
                ExternalNetworkId::default_of(dc)
            } else {
                ExternalNetworkId::new()
            },
            data_center_id: dc,
            project_id: None,
            name: "ext".into(),
            description: String::new(),
            pool_ids: vec![],
            created_at: now(),
            updated_at: now(),
        }
    }

    #[test]
    fn an_external_network_in_use_by_a_gateway_or_a_bound_floating_ip_is_not_deleted() {
        let id = ExternalNetworkId::new();
        assert!(external_network_deletable(id, 0, 0).is_ok());
        for (gateways, bound) in [(1, 0), (0, 1)] {
            let e = external_network_deletable(id, gateways, bound).unwrap_err();
            assert_eq!(e.to_string(), format!("Unable to complete operation on network {id}. There are one or more ports still in use on the network."));
        }
    }

    #[test]
    fn unflagging_needs_no_gateway_no_pool_and_not_the_default() {
        let dc = DataCenterId::new();
        let n = network(dc, false);
        assert!(external_network_unflaggable(&n, 0, 0).is_ok());
        assert_eq!(
            external_network_unflaggable(&n, 1, 1).unwrap_err().to_string(),
            format!("External network {} cannot be updated to be made non-external, since it has existing gateway ports.", n.id)
        );
        assert!(external_network_unflaggable(&n, 0, 2).is_err());
        assert!(external_network_unflaggable(&network(dc, true), 0, 0).is_err());
    }

    #[test]
    fn a_gateway_and_a_pool_stay_in_their_networks_data_center() {
        let dc = DataCenterId::new();
        let n = network(dc, false);
        assert!(router_gateway_in_data_center(dc, &n).is_ok());
        assert!(pool_in_network_data_center(&n, dc).is_ok());
        let other = DataCenterId::new();
        assert_eq!(
            router_gateway_in_data_center(other, &n).unwrap_err().to_string(),
            format!("Bad router request: external network {} is in availability zone {dc}, the router in {other}.", n.id)
        );
        assert!(pool_in_network_data_center(&n, other).is_err());
        assert!(external_network_flag(false, "create").is_err());
        assert!(external_network_flag(true, "create").is_ok());
    }
}

// ---------------------------------------------------------------------------
// Hosts, placement and the agent (issue 13, part 2).

/// A host is live when its agent authenticated within this many seconds
/// (the agent fetches its desired state every few seconds; see
/// docs/dataplane.md).
pub const HOST_LIVE_SECS: i64 = 30;

/// Most interfaces one status report may carry (`POST /v1/agent/status`).
pub const AGENT_STATUS_MAX: usize = 1000;

/// Longest reason an agent may give with an `error` status.
pub const AGENT_REASON_MAX: usize = 255;

/// Whether a host whose agent was last seen at `last_seen` (Unix seconds)
/// counts as live at `now`.
pub fn host_is_live(last_seen: Option<i64>, now: i64) -> bool {
    last_seen.is_some_and(|t| now - t <= HOST_LIVE_SECS)
}

/// Placement: the live host with the fewest VMs, ties broken by name then
/// id (a stable choice); None when no host of the data center is live, and
/// the VM then has no host (today's behaviour without agents).
pub fn place_vm(candidates: &[crate::model::HostLoad]) -> Option<crate::ids::HostId> {
    candidates
        .iter()
        .filter(|h| h.live)
        .min_by(|a, b| {
            a.vm_count
                .cmp(&b.vm_count)
                .then_with(|| a.host.name.cmp(&b.host.name))
                .then_with(|| a.host.id.cmp(&b.host.id))
        })
        .map(|h| h.host.id)
}

/// Only the cloud admin may pin a VM to a host.
pub fn host_pin_allowed(cloud_admin: bool) -> Result<()> {
    if cloud_admin {
        Ok(())
    } else {
        Err(Error::forbidden(
            "Only the cloud admin can place a VM on a chosen host.",
        ))
    }
}

/// A pinned host must be in the VM's data center.
pub fn host_in_vm_data_center(host: &crate::model::Host, dc: DataCenterId) -> Result<()> {
    if host.data_center_id != dc {
        return Err(Error::invalid(format!(
            "Host {} is not in data center {dc}.",
            host.name
        )));
    }
    Ok(())
}

/// A host's name: what `ip` and logs print, so 1 to 63 characters of
/// lowercase letters, digits, `-` and `.`, starting with a letter or digit
/// (a DNS label, as hypervisor names are).
pub fn host_name_valid(name: &str) -> Result<()> {
    let ok = (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !ok {
        return Err(Error::invalid_value(
            "name",
            format!("'{name}' is not a host name: 1 to 63 lowercase letters, digits, '-' or '.', starting with a letter or digit."),
        ));
    }
    Ok(())
}

/// An agent's status report: bounded, and a reason only with `error`
/// (where it is required), at most [`AGENT_REASON_MAX`] characters.
pub fn agent_status_valid(
    status: crate::types::InterfaceStatus,
    reason: Option<&str>,
) -> Result<()> {
    use crate::types::InterfaceStatus;
    match (status, reason) {
        (InterfaceStatus::Error, Some(r)) if !r.trim().is_empty() => {
            crate::types::check_text("reason", r)?;
            if r.chars().count() > AGENT_REASON_MAX {
                return Err(Error::invalid_value(
                    "reason",
                    format!("must be at most {AGENT_REASON_MAX} characters."),
                ));
            }
            Ok(())
        }
        (InterfaceStatus::Error, _) => Err(Error::invalid_value(
            "reason",
            "is required with the status error.",
        )),
        (_, Some(_)) => Err(Error::invalid_value(
            "reason",
            "is given only with the status error.",
        )),
        (_, None) => Ok(()),
    }
}

#[cfg(test)]
mod host_tests {
    use super::*;
    use crate::ids::HostId;
    use crate::model::{now, Host, HostLoad};
    use crate::types::InterfaceStatus;

    fn load(name: &str, vms: u64, live: bool) -> HostLoad {
        HostLoad {
            host: Host {
                id: HostId::new(),
                name: name.into(),
                data_center_id: DataCenterId::new(),
                created_at: now(),
                last_seen: None,
            },
            vm_count: vms,
            live,
        }
    }

    #[test]
    fn placement_picks_the_least_loaded_live_host() {
        let hosts = [load("a", 1, true), load("b", 0, false), load("c", 0, true)];
        assert_eq!(place_vm(&hosts), Some(hosts[2].host.id));
        let tie = [load("z", 2, true), load("y", 2, true)];
        assert_eq!(place_vm(&tie), Some(tie[1].host.id));
        assert_eq!(place_vm(&[load("d", 0, false)]), None);
        assert_eq!(place_vm(&[]), None);
    }

    #[test]
    fn a_host_is_live_within_the_window() {
        assert!(host_is_live(Some(100), 100 + HOST_LIVE_SECS));
        assert!(!host_is_live(Some(100), 101 + HOST_LIVE_SECS));
        assert!(!host_is_live(None, 0));
    }

    #[test]
    fn host_names_are_dns_labels() {
        assert!(host_name_valid("hv-01.dc1").is_ok());
        for bad in ["", "-a", "Hv", "a b", &"a".repeat(64)] {
            assert_eq!(
                host_name_valid(bad).unwrap_err().http_status(),
                400,
                "{bad}"
            );
        }
    }

    #[test]
    fn an_error_status_needs_a_reason_and_only_it_takes_one() {
        assert!(agent_status_valid(InterfaceStatus::Error, Some("veth failed")).is_ok());
        assert!(agent_status_valid(InterfaceStatus::Active, None).is_ok());
        let e = agent_status_valid(InterfaceStatus::Error, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value for reason: is required with the status error."
        );
        let e = agent_status_valid(InterfaceStatus::Down, Some("x")).unwrap_err();
        assert_eq!(e.http_status(), 400);
        assert_eq!(
            host_pin_allowed(false).unwrap_err().to_string(),
            "Only the cloud admin can place a VM on a chosen host."
        );
    }
}

/// The subnets whose gateway goes into the implicit router of one project and
/// data center (`implicit_router_subnets`, issue 13): the console guide's
/// public IPs work without anyone creating a router, so a subnet that is an
/// interface of no router still has a gateway somewhere. `candidates` are
/// every subnet of the project's networks in that data center, each with
/// its network and whether it is an interface of some router. A subnet
/// qualifies when its network is a standard (L3) network the project owns
/// (shared and custom networks have no implicit router), it has a gateway,
/// and no router holds it (the same test as [`floating_ip_path`]'s
/// `Ok(None)`). One namespace cannot route two overlapping CIDRs, so among
/// qualifying subnets that overlap, the oldest (then lowest id) wins and the
/// others get no gateway. Deciding over all the project's networks, not
/// only those on one host, gives every host the same answer.
pub fn implicit_router_subnets(candidates: &[(&Network, &Subnet, bool)]) -> Vec<SubnetId> {
    let mut qualifying: Vec<&Subnet> = candidates
        .iter()
        .filter(|(n, s, attached)| {
            n.kind == NetworkKind::Standard
                && n.project_id.is_some()
                && !attached
                && s.gateway_ip.is_some()
        })
        .map(|(_, s, _)| *s)
        .collect();
    qualifying.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    let mut chosen: Vec<&Subnet> = Vec::new();
    for s in qualifying {
        let overlaps = chosen
            .iter()
            .any(|c| c.cidr.contains(&s.cidr.network()) || s.cidr.contains(&c.cidr.network()));
        if !overlaps {
            chosen.push(s);
        }
    }
    chosen.into_iter().map(|s| s.id).collect()
}

/// Whether a router forwards between the networks it holds
/// (`router_joins_networks`): a router the tenant made joins its subnets
/// (that is what it is for); the implicit router only carries each network
/// to and from the outside (public IPs), so networks of a project stay as
/// isolated from each other as the console guide describes them ("isolating
/// traffic by purpose") until the tenant joins them with a router.
pub fn router_joins_networks(implicit: bool) -> bool {
    !implicit
}

#[cfg(test)]
mod implicit_router_tests {
    use super::*;
    use crate::ids::NetworkId;

    fn net(kind: NetworkKind, owned: bool) -> Network {
        let t = time::OffsetDateTime::UNIX_EPOCH;
        Network {
            id: NetworkId::new(),
            project_id: owned.then(ProjectId::new),
            data_center_id: DataCenterId::new(),
            name: "n".into(),
            description: String::new(),
            kind,
            shared: !owned,
            is_default: false,
            created_at: t,
            updated_at: t,
        }
    }

    fn subnet(n: &Network, cidr: &str, age: i64, gateway: bool) -> Subnet {
        let cidr: IpNet = cidr.parse().unwrap();
        let t = time::OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(age);
        Subnet {
            id: SubnetId::new(),
            network_id: n.id,
            project_id: n.project_id.clone(),
            name: String::new(),
            ip_version: 4,
            cidr,
            gateway_ip: gateway
                .then(|| AddressSpace::new(cidr).unwrap().default_gateway().unwrap()),
            allocation_pools: vec![],
            free_addresses: String::new(),
            description: String::new(),
            enable_dhcp: true,
            dns_nameservers: vec![],
            host_routes: vec![],
            ipv6_ra_mode: None,
            ipv6_address_mode: None,
            created_at: t,
            updated_at: t,
        }
    }

    #[test]
    fn only_unattached_owned_standard_subnets_with_a_gateway_and_the_oldest_of_overlapping_ones() {
        let std = net(NetworkKind::Standard, true);
        let custom = net(NetworkKind::Custom, true);
        let shared = net(NetworkKind::Standard, false);
        let a = subnet(&std, "10.0.0.0/24", 1, true);
        let attached = subnet(&std, "10.1.0.0/24", 2, true);
        let no_gw = subnet(&std, "10.2.0.0/24", 3, false);
        let c = subnet(&custom, "10.3.0.0/24", 4, true);
        let sh = subnet(&shared, "10.4.0.0/24", 5, true);
        let younger_overlap = subnet(&std, "10.0.0.0/16", 6, true);
        let older_overlap = subnet(&std, "10.9.0.0/24", 0, true);
        let later = subnet(&std, "10.9.0.128/25", 7, true);
        let chosen = implicit_router_subnets(&[
            (&std, &younger_overlap, false),
            (&std, &a, false),
            (&std, &attached, true),
            (&std, &no_gw, false),
            (&custom, &c, false),
            (&shared, &sh, false),
            (&std, &later, false),
            (&std, &older_overlap, false),
        ]);
        assert_eq!(chosen, vec![older_overlap.id, a.id]);
        assert!(router_joins_networks(false));
        assert!(!router_joins_networks(true));
    }
}

// ----- security groups and anti-spoofing in the data plane (issue 13) ------

/// The IP protocol a security-group rule filters in the data plane; None
/// is every protocol. Neutron's semantics: an absent protocol, `any` and 0
/// (`ip`, `hopopt`) match every protocol, and `icmp` in an IPv6 rule means
/// ICMPv6 (58), as Neutron's firewall drivers translate it. A stored
/// protocol that does not parse is an error, never "every protocol".
pub fn sg_rule_data_plane_protocol(
    protocol: Option<&str>,
    ethertype_v6: bool,
) -> Result<Option<u8>> {
    Ok(match sg_rule_protocol(protocol)? {
        None | Some((_, 0)) => None,
        Some((_, 1)) if ethertype_v6 => Some(58),
        Some((_, n)) => Some(n),
    })
}

/// What an allowed address pair lets an interface send from while port
/// security is on: its CIDR (an address is a /32 or /128) from its MAC, or
/// from the interface's own MAC when the pair names none (Neutron's
/// default).
pub fn address_pair_source(pair: &AddressPair, own_mac: MacAddr) -> Result<(IpNet, MacAddr)> {
    let net = pair
        .ip_address
        .parse::<IpNet>()
        .map(|n| n.trunc())
        .or_else(|_| pair.ip_address.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            Error::invalid_value(
                "allowed_address_pairs",
                format!("'{}' is not an IP address or CIDR.", pair.ip_address),
            )
        })?;
    let mac = match &pair.mac_address {
        Some(m) => m.parse::<MacAddr>().map_err(|_| {
            Error::invalid_value(
                "allowed_address_pairs",
                format!("'{m}' is not a unicast MAC address."),
            )
        })?,
        None => own_mac,
    };
    Ok((net, mac))
}

/// The IPv6 link-local address a guest derives from its MAC (modified
/// EUI-64, RFC 4291 appendix A): anti-spoofing lets an interface send from
/// it (and from its address pairs' MACs' ones), as Neutron does, so that
/// neighbour discovery works.
pub fn link_local_from_mac(mac: MacAddr) -> std::net::Ipv6Addr {
    let m = mac.0;
    std::net::Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        m[0] ^ 0x02,
        m[1],
        m[2],
        0xff,
        0xfe,
        m[3],
        m[4],
        m[5],
    ])
}

#[cfg(test)]
mod data_plane_security_tests {
    use super::*;

    #[test]
    fn a_rule_protocol_becomes_the_number_the_kernel_filters() {
        assert_eq!(
            sg_rule_data_plane_protocol(Some("tcp"), false).unwrap(),
            Some(6)
        );
        assert_eq!(
            sg_rule_data_plane_protocol(Some("17"), true).unwrap(),
            Some(17)
        );
        assert_eq!(
            sg_rule_data_plane_protocol(Some("icmp"), false).unwrap(),
            Some(1)
        );
        assert_eq!(
            sg_rule_data_plane_protocol(Some("icmp"), true).unwrap(),
            Some(58)
        );
        assert_eq!(
            sg_rule_data_plane_protocol(Some("ipv6-icmp"), true).unwrap(),
            Some(58)
        );
        for any in [None, Some("any"), Some("0"), Some("ip")] {
            assert_eq!(
                sg_rule_data_plane_protocol(any, false).unwrap(),
                None,
                "{any:?}"
            );
        }
        assert!(sg_rule_data_plane_protocol(Some("bogus"), false).is_err());
    }

    #[test]
    fn an_address_pair_sends_from_its_mac_or_the_interfaces() {
        let own: MacAddr = "fa:16:3e:00:00:01".parse().unwrap();
        let pair = |ip: &str, mac: Option<&str>| AddressPair {
            ip_address: ip.into(),
            mac_address: mac.map(String::from),
        };
        assert_eq!(
            address_pair_source(&pair("10.0.0.9", None), own).unwrap(),
            ("10.0.0.9/32".parse().unwrap(), own)
        );
        let other: MacAddr = "fa:16:3e:00:00:02".parse().unwrap();
        assert_eq!(
            address_pair_source(&pair("fd00::/64", Some("fa:16:3e:00:00:02")), own).unwrap(),
            ("fd00::/64".parse().unwrap(), other)
        );
        assert_eq!(
            address_pair_source(&pair("nope", None), own)
                .unwrap_err()
                .to_string(),
            "Invalid value for allowed_address_pairs: 'nope' is not an IP address or CIDR."
        );
    }

    #[test]
    fn the_link_local_address_is_the_macs_modified_eui64() {
        let mac: MacAddr = "fa:16:3e:12:34:56".parse().unwrap();
        assert_eq!(
            link_local_from_mac(mac).to_string(),
            "fe80::f816:3eff:fe12:3456"
        );
    }
}

/// A project is deleted only when it holds nothing but what nicplane made
/// with it: its Default Networks (with their subnets, holding no address)
/// and its default security group. Keystone deletes a project whatever
/// Neutron and Nova still hold, leaving orphans that keep their addresses,
/// MACs and VLANs for ever; nicplane refuses instead (409), naming what is
/// left, so that nothing outlives its project. The cloud admin's own
/// project (`admin`, made at first start: the console and the Keystone
/// logins of the cloud admin are scoped to it) is never deleted.
pub fn project_deletable(
    project: &crate::model::Project,
    is_admin_project: bool,
    h: &crate::model::ProjectHoldings,
) -> Result<()> {
    if is_admin_project {
        return Err(Error::conflict(
            ConflictReason::InUse,
            format!(
                "Project {} is the cloud admin's project; it cannot be deleted.",
                project.name
            ),
        ));
    }
    let counts = [
        (h.vms, "VM", "VMs"),
        (h.interfaces, "network interface", "network interfaces"),
        (h.public_ips, "public IP", "public IPs"),
        (h.routers, "router", "routers"),
        (h.trunks, "trunk", "trunks"),
        (h.networks, "network", "networks"),
        (h.security_groups, "security group", "security groups"),
        (h.external_networks, "external network", "external networks"),
        (
            h.external_ports,
            "port on an external network",
            "ports on external networks",
        ),
    ];
    let left: Vec<String> = counts
        .iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| format!("{n} {}", if *n == 1 { one } else { many }))
        .collect();
    if !left.is_empty() {
        return Err(Error::conflict(
            ConflictReason::InUse,
            format!(
                "Project {} still has {}; delete them first.",
                project.name,
                left.join(", ")
            ),
        ));
    }
    Ok(())
}

/// The cloud admin's own project keeps its name: the first start, the
/// console and the cloud admin's Keystone logins find it by it.
pub fn project_renamable(project: &crate::model::Project, is_admin_project: bool) -> Result<()> {
    if is_admin_project {
        return Err(Error::conflict(
            ConflictReason::InUse,
            format!(
                "Project {} is the cloud admin's project; it cannot be renamed.",
                project.name
            ),
        ));
    }
    Ok(())
}

/// Longest `binding:profile` accepted, in bytes of its JSON text.
pub const PORT_BINDING_PROFILE_MAX: usize = 4096;

/// Binding a port to a host (Neutron's `binding:host_id`, `binding:profile`)
/// is the cloud admin's (Neutron's policy: `create_port:binding:host_id` and
/// `update_port:binding:*` are admin-only). The host must be one of the
/// port's data center. A port on a VM is where its VM is: while attached its
/// binding follows the VM's host (placement decides it), so binding it
/// anywhere else, or unbinding it from its VM's host, is refused (409).
/// `host` is the new host (None: unbind), `vm_host` the host of the port's
/// VM when it is attached.
pub fn port_binding_host(
    is_cloud_admin: bool,
    iface: &Interface,
    host: Option<&crate::model::Host>,
    vm_host: Option<crate::ids::HostId>,
) -> Result<()> {
    if !is_cloud_admin {
        return Err(Error::forbidden(
            "Only the cloud admin binds ports to hosts (binding:host_id, binding:profile).",
        ));
    }
    if let Some(h) = host {
        if h.data_center_id != iface.data_center_id {
            return Err(Error::invalid(format!(
                "Host {} is not in data center {} of port {}.",
                h.name, iface.data_center_id, iface.id
            )));
        }
    }
    if let Some(vm) = iface.vm_id {
        if host.map(|h| h.id) != vm_host {
            return Err(Error::conflict(
                ConflictReason::WrongState,
                format!(
                    "Port {} is attached to VM {vm}: it is bound to the host of its VM.",
                    iface.id
                ),
            ));
        }
    }
    Ok(())
}

/// A `binding:profile` is a JSON object of at most
/// [`PORT_BINDING_PROFILE_MAX`] bytes.
pub fn port_binding_profile(profile: &serde_json::Value) -> Result<()> {
    if !profile.is_object() {
        return Err(Error::invalid_value(
            "binding:profile",
            "must be a JSON object.",
        ));
    }
    if profile.to_string().len() > PORT_BINDING_PROFILE_MAX {
        return Err(Error::invalid_value(
            "binding:profile",
            format!("must be at most {PORT_BINDING_PROFILE_MAX} bytes of JSON."),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod project_and_binding_tests {
    use super::*;
    use crate::model::{Project, ProjectHoldings};

    fn project() -> Project {
        Project {
            id: ProjectId::new(),
            name: "web".into(),
            description: String::new(),
            created_at: crate::model::now(),
        }
    }

    #[test]
    fn a_project_holding_only_its_defaults_is_deletable() {
        assert!(project_deletable(&project(), false, &ProjectHoldings::default()).is_ok());
    }

    #[test]
    fn a_project_with_objects_is_refused_naming_them() {
        let h = ProjectHoldings {
            vms: 1,
            interfaces: 2,
            routers: 1,
            ..Default::default()
        };
        let e = project_deletable(&project(), false, &h).unwrap_err();
        assert_eq!(e.http_status(), 409);
        assert_eq!(
            e.to_string(),
            "Project web still has 1 VM, 2 network interfaces, 1 router; delete them first."
        );
        let e = project_deletable(&project(), true, &ProjectHoldings::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Project web is the cloud admin's project; it cannot be deleted."
        );
    }

    #[test]
    fn a_profile_is_a_bounded_object() {
        assert!(port_binding_profile(&serde_json::json!({"a": 1})).is_ok());
        let e = port_binding_profile(&serde_json::json!([1])).unwrap_err();
        assert_eq!(e.http_status(), 400);
        let big = serde_json::json!({"k": "x".repeat(PORT_BINDING_PROFILE_MAX)});
        assert_eq!(port_binding_profile(&big).unwrap_err().http_status(), 400);
    }
}

/// Only the cloud admin makes, changes or deletes a port on an external
/// network: its addresses are the public IPs of every project (Neutron's
/// policy refuses a tenant's port on an external network it does not own,
/// 403). A VM's NIC never goes there (`external_network_has_no_ports`).
pub fn external_port_allowed(cloud_admin: bool, network: ExternalNetworkId) -> Result<()> {
    if cloud_admin {
        return Ok(());
    }
    Err(Error::forbidden(format!(
        "Only the cloud admin can make or change ports on external network {network} (rule:create_port on an external network is disallowed by policy)."
    )))
}

/// A port on an external network is attached to nothing: its `device_id`
/// stays empty (a server's NICs go on project networks; a router's
/// gateway takes its addresses itself). 400.
pub fn external_port_not_attachable(device_id: Option<&str>) -> Result<()> {
    match device_id {
        Some(d) if !d.is_empty() => Err(Error::invalid(
            "A port on an external network is attached to nothing: create it without device_id.",
        )),
        _ => Ok(()),
    }
}

/// A port on an external network takes its addresses from the network's
/// pools: a network without pools has none to give. 409, Neutron's
/// `IpAddressGenerationFailure` wording.
pub fn external_network_has_pools(network: &ExternalNetwork) -> Result<()> {
    if network.pool_ids.is_empty() {
        return Err(Error::exhausted(format!(
            "No more IP addresses available on network {}.",
            network.id
        )));
    }
    Ok(())
}

/// A chosen address of a port on an external network must be free:
/// `taken` is the store's answer (it was in a fresh range or the release
/// queue of its pool, and is now the port's). One in neither is held by a
/// floating IP, a router gateway or another port. 409, Neutron's
/// `IpAddressInUse` wording. Backed by the primary keys (pool, offset) of
/// `public_ips`, `router_gateway_ips` and `external_port_ips`.
pub fn external_port_address_free(
    taken: bool,
    address: IpAddr,
    network: ExternalNetworkId,
) -> Result<()> {
    if taken {
        return Ok(());
    }
    Err(Error::conflict(
        ConflictReason::AddressInUse,
        format!("Unable to complete operation for network {network}. The IP address {address} is in use."),
    ))
}

/// An address chosen together with a subnet (a pool) must be in that pool.
/// 400, Neutron's `InvalidIpForSubnet` wording.
pub fn address_in_named_pool(address: IpAddr, named: PoolId, found: PoolId) -> Result<()> {
    if named == found {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "IP address {address} is not a valid IP for the specified subnet."
    )))
}

#[cfg(test)]
mod external_port_tests {
    use super::*;

    #[test]
    fn only_the_cloud_admin_makes_external_ports() {
        let n = ExternalNetworkId::new();
        assert!(external_port_allowed(true, n).is_ok());
        let e = external_port_allowed(false, n).unwrap_err();
        assert!(matches!(e, Error::Forbidden { .. }));
        assert_eq!(
            e.to_string(),
            format!("Only the cloud admin can make or change ports on external network {n} (rule:create_port on an external network is disallowed by policy).")
        );
    }

    #[test]
    fn an_external_port_is_attached_to_nothing() {
        assert!(external_port_not_attachable(None).is_ok());
        assert!(external_port_not_attachable(Some("")).is_ok());
        let e = external_port_not_attachable(Some("x")).unwrap_err();
        assert!(matches!(e, Error::InvalidRequest { .. }));
    }

    #[test]
    fn a_held_address_is_in_use_in_neutron_words() {
        let n = ExternalNetworkId::new();
        let a: IpAddr = "203.0.113.7".parse().unwrap();
        assert!(external_port_address_free(true, a, n).is_ok());
        let e = external_port_address_free(false, a, n).unwrap_err();
        assert_eq!(e.conflict_reason(), Some(ConflictReason::AddressInUse));
        assert_eq!(
            e.to_string(),
            format!("Unable to complete operation for network {n}. The IP address 203.0.113.7 is in use.")
        );
    }

    #[test]
    fn an_address_must_be_in_the_named_pool() {
        let (p, q) = (PoolId::new(), PoolId::new());
        let a: IpAddr = "203.0.113.7".parse().unwrap();
        assert!(address_in_named_pool(a, p, p).is_ok());
        assert_eq!(
            address_in_named_pool(a, p, q).unwrap_err().to_string(),
            "IP address 203.0.113.7 is not a valid IP for the specified subnet."
        );
    }
}

/// A floating IP is IPv4 (Neutron's are): a network whose pools are all
/// IPv6 has none to give. 400, Neutron's `BadRequest` wording.
pub fn floating_ip_pools_ipv4(network: ExternalNetworkId, pools: &[PublicIpPool]) -> Result<()> {
    if !pools.is_empty() && pools.iter().all(|p| p.cidr.addr().is_ipv6()) {
        return Err(Error::invalid(format!(
            "Bad floatingip request: Network {network} does not contain any IPv4 subnet."
        )));
    }
    Ok(())
}

/// A chosen floating IP address is IPv4. 400.
pub fn floating_ip_address_ipv4(address: IpAddr) -> Result<()> {
    if address.is_ipv6() {
        return Err(Error::invalid(format!(
            "Bad floatingip request: {address} is an IPv6 address; floating IPs are IPv4."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod floating_ip_v4_tests {
    use super::*;
    use crate::model::now;

    fn pool(cidr: &str) -> PublicIpPool {
        PublicIpPool {
            id: PoolId::new(),
            data_center_id: DataCenterId::new(),
            external_network_id: ExternalNetworkId::new(),
            name: cidr.into(),
            cidr: cidr.parse().unwrap(),
            free_addresses: 1,
            created_at: now(),
        }
    }

    #[test]
    fn floating_ips_come_from_ipv4_pools_only() {
        let n = ExternalNetworkId::new();
        assert!(floating_ip_pools_ipv4(n, &[]).is_ok());
        assert!(
            floating_ip_pools_ipv4(n, &[pool("2001:db8::/64"), pool("203.0.113.0/28")]).is_ok()
        );
        assert_eq!(
            floating_ip_pools_ipv4(n, &[pool("2001:db8::/64")])
                .unwrap_err()
                .to_string(),
            format!("Bad floatingip request: Network {n} does not contain any IPv4 subnet.")
        );
        assert!(floating_ip_address_ipv4("203.0.113.5".parse().unwrap()).is_ok());
        assert!(floating_ip_address_ipv4("2001:db8::5".parse().unwrap()).is_err());
    }
}
