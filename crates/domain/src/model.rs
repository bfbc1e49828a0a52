//! Entities as the service layer returns them. They serialize to the native
//! API's JSON; the other dialects translate them into their own shapes.

use crate::ids::*;
use crate::types::*;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Wall-clock time, serialized as RFC 3339 in UTC.
pub type Timestamp = OffsetDateTime;

/// The current time, truncated to whole seconds.
pub fn now() -> Timestamp {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(0).unwrap_or(t)
}

/// Default number of interfaces a VM may have (a deployment setting).
pub const DEFAULT_INTERFACE_LIMIT: u32 = 5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DataCenter {
    #[schema(value_type = String)]
    pub id: DataCenterId,
    pub name: String,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Project {
    #[schema(value_type = String)]
    pub id: ProjectId,
    pub name: String,
    pub description: String,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct User {
    #[schema(value_type = String)]
    pub id: UserId,
    pub name: String,
    /// The cloud admin manages data centers, public IP pools and shared networks.
    pub is_cloud_admin: bool,
    /// A disabled user cannot log in, and their tokens and access keys stop
    /// working at once.
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
}

fn enabled_by_default() -> bool {
    true
}

/// A user's role in a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Membership {
    #[schema(value_type = String)]
    pub user_id: UserId,
    pub user_name: String,
    #[schema(value_type = String)]
    pub project_id: ProjectId,
    pub project_name: String,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Network {
    #[schema(value_type = String)]
    pub id: NetworkId,
    /// Owner; `None` for shared networks of the cloud admin.
    #[schema(value_type = Option<String>)]
    pub project_id: Option<ProjectId>,
    #[schema(value_type = String)]
    pub data_center_id: DataCenterId,
    pub name: String,
    pub description: String,
    pub kind: NetworkKind,
    pub shared: bool,
    /// The project's automatically created "Default Network" in its data center.
    pub is_default: bool,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

/// An allocation pool given by its first and last address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AllocationPool {
    #[schema(value_type = String)]
    pub start: IpAddr,
    #[schema(value_type = String)]
    pub end: IpAddr,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Subnet {
    #[schema(value_type = String)]
    pub id: SubnetId,
    #[schema(value_type = String)]
    pub network_id: NetworkId,
    #[schema(value_type = Option<String>)]
    pub project_id: Option<ProjectId>,
    pub name: String,
    pub ip_version: u8,
    #[schema(value_type = String)]
    pub cidr: IpNet,
    #[schema(value_type = Option<String>)]
    pub gateway_ip: Option<IpAddr>,
    pub allocation_pools: Vec<AllocationPool>,
    /// Free addresses left in the allocation pools (a decimal string: an IPv6
    /// /64 holds more than a JSON number can carry exactly).
    pub free_addresses: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "enabled_by_default")]
    pub enable_dhcp: bool,
    /// DNS servers handed out, in order.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub dns_nameservers: Vec<IpAddr>,
    #[serde(default)]
    pub host_routes: Vec<HostRoute>,
    /// IPv6 only: how router advertisements are sent.
    #[serde(default)]
    pub ipv6_ra_mode: Option<Ipv6Mode>,
    /// IPv6 only: how ports get their address (SLAAC and DHCPv6-stateless:
    /// EUI-64 from the MAC, not allocated from the pools).
    #[serde(default)]
    pub ipv6_address_mode: Option<Ipv6Mode>,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339", default = "now")]
    pub updated_at: Timestamp,
}

impl Subnet {
    /// Whether ports get their address of this subnet computed from their
    /// MAC (EUI-64) rather than allocated.
    pub fn auto_address(&self) -> bool {
        matches!(
            self.ipv6_address_mode,
            Some(Ipv6Mode::Slaac | Ipv6Mode::Dhcpv6Stateless)
        )
    }
}

/// A static route a subnet hands to its hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HostRoute {
    #[schema(value_type = String)]
    pub destination: IpNet,
    #[schema(value_type = String)]
    pub nexthop: IpAddr,
}

/// Neutron's IPv6 address and router-advertisement modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Ipv6Mode {
    Slaac,
    Dhcpv6Stateful,
    Dhcpv6Stateless,
}

impl Ipv6Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Ipv6Mode::Slaac => "slaac",
            Ipv6Mode::Dhcpv6Stateful => "dhcpv6-stateful",
            Ipv6Mode::Dhcpv6Stateless => "dhcpv6-stateless",
        }
    }
}

impl std::fmt::Display for Ipv6Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Ipv6Mode {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "slaac" => Ok(Ipv6Mode::Slaac),
            "dhcpv6-stateful" => Ok(Ipv6Mode::Dhcpv6Stateful),
            "dhcpv6-stateless" => Ok(Ipv6Mode::Dhcpv6Stateless),
            _ => Err(crate::Error::invalid(format!(
                "'{s}' is not in ['dhcpv6-stateful', 'dhcpv6-stateless', 'slaac']"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Vm {
    #[schema(value_type = String)]
    pub id: VmId,
    #[schema(value_type = String)]
    pub project_id: ProjectId,
    #[schema(value_type = String)]
    pub data_center_id: DataCenterId,
    pub name: String,
    pub os_type: OsType,
    pub power_state: PowerState,
    pub image_ref: String,
    pub flavor_ref: String,
    pub metadata: BTreeMap<String, String>,
    /// Number of elastic interfaces attached.
    pub interface_count: u32,
    /// The addresses the owner says the VM is reached at (Nova's
    /// `accessIPv4`/`accessIPv6`): stored and shown, not allocated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub access_ipv4: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub access_ipv6: Option<IpAddr>,
    /// The host the VM is placed on (`rules::place_vm`); absent when no
    /// live host was registered in its data center at create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub host_id: Option<HostId>,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FixedIp {
    #[schema(value_type = String)]
    pub subnet_id: SubnetId,
    #[schema(value_type = String)]
    pub ip_address: IpAddr,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AddressPair {
    pub ip_address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
}

/// A DHCP option handed to the interface's guest (Neutron's
/// `extra_dhcp_opts`): a name, a value and the IP version it is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DhcpOption {
    pub opt_name: String,
    pub opt_value: String,
    /// 4 or 6.
    pub ip_version: u8,
}

/// One entry of a change to an interface's DHCP options: a value sets the
/// option, no value removes it (Neutron's update semantics); the IP
/// version defaults to 4.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DhcpOptionChange {
    pub opt_name: String,
    #[serde(default)]
    pub opt_value: Option<String>,
    #[serde(default)]
    pub ip_version: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ResourceTag {
    pub key: String,
    pub value: String,
}

/// A network interface: an elastic NIC of a VM (or unattached), or a
/// supplementary (VLAN) interface hanging off an elastic one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Interface {
    #[schema(value_type = String)]
    pub id: InterfaceId,
    #[schema(value_type = String)]
    pub project_id: ProjectId,
    #[schema(value_type = String)]
    pub network_id: NetworkId,
    pub network_name: String,
    #[schema(value_type = String)]
    pub data_center_id: DataCenterId,
    /// The VM it is attached to, or none.
    #[schema(value_type = Option<String>)]
    pub vm_id: Option<VmId>,
    pub name: String,
    #[schema(value_type = String)]
    pub mac_address: MacAddr,
    pub fixed_ips: Vec<FixedIp>,
    pub primary: bool,
    /// Observed state (BUILD until the data plane reports ACTIVE or DOWN).
    pub status: InterfaceStatus,
    /// Why the data plane could not realize it, when `status` is `error`
    /// (what the host's agent reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub admin_state_up: bool,
    pub description: String,
    pub tag: Option<String>,
    #[schema(value_type = Vec<String>)]
    pub security_groups: Vec<SecurityGroupId>,
    pub port_security_enabled: bool,
    pub allowed_address_pairs: Vec<AddressPair>,
    /// DHCP options for the guest (Neutron's `extra_dhcp_opts`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_dhcp_opts: Vec<DhcpOption>,
    pub tags: Vec<ResourceTag>,
    /// Who created it ("compute:nova", "network:floatingip", ...); free text.
    pub device_owner: String,
    /// The public IP on this interface, if any.
    #[schema(value_type = Option<String>)]
    pub public_ip: Option<IpAddr>,
    /// For a supplementary interface: its parent elastic interface (None when unbound).
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<InterfaceId>,
    #[schema(value_type = Option<u16>)]
    pub vlan_id: Option<VlanId>,
    /// Whether this is a supplementary (VLAN) interface.
    pub supplementary: bool,
    /// The router this interface is a port of (Neutron's `device_id` of a
    /// `network:router_interface` port), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub router_id: Option<RouterId>,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

impl Interface {
    /// The first IPv4 address, if any.
    pub fn ipv4(&self) -> Option<IpAddr> {
        self.fixed_ips
            .iter()
            .map(|f| f.ip_address)
            .find(IpAddr::is_ipv4)
    }
    /// The first IPv6 address, if any.
    pub fn ipv6(&self) -> Option<IpAddr> {
        self.fixed_ips
            .iter()
            .map(|f| f.ip_address)
            .find(IpAddr::is_ipv6)
    }
}

/// An external network: the cloud admin's public IP pools of one data
/// center, visible to every project (Neutron's `router:external` network,
/// its pools are its subnets). A data center's default external network has
/// the data center's id; pools created without naming a network go there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExternalNetwork {
    #[schema(value_type = String)]
    pub id: ExternalNetworkId,
    #[schema(value_type = String)]
    pub data_center_id: DataCenterId,
    /// The owner Neutron shows (the cloud admin's project when created
    /// through Neutron); it changes nothing about who sees or uses it.
    #[schema(value_type = Option<String>)]
    pub project_id: Option<ProjectId>,
    pub name: String,
    pub description: String,
    /// Its pools, oldest first.
    #[schema(value_type = Vec<String>)]
    pub pool_ids: Vec<PoolId>,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

impl ExternalNetwork {
    /// Whether this is its data center's default external network.
    pub fn is_default(&self) -> bool {
        self.id == ExternalNetworkId::default_of(self.data_center_id)
    }
}

/// A port on an external network (Neutron's admin-made port there): an
/// address reservation in the network's pools, taken from the same free
/// ranges and release queue as floating IPs and router gateways, so no
/// address is ever held twice. The cloud admin makes and deletes them; it
/// is attached to nothing (no VM NIC goes on an external network).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExternalPort {
    #[schema(value_type = String)]
    pub id: InterfaceId,
    /// The project it was made in (the cloud admin's, or one it named).
    #[schema(value_type = String)]
    pub project_id: ProjectId,
    #[schema(value_type = String)]
    pub external_network_id: ExternalNetworkId,
    #[schema(value_type = String)]
    pub data_center_id: DataCenterId,
    pub name: String,
    pub description: String,
    #[schema(value_type = String)]
    pub mac_address: MacAddr,
    /// Free text, as Neutron takes it (empty by default).
    pub device_owner: String,
    /// Its addresses, each in one pool of the network.
    pub fixed_ips: Vec<GatewayIp>,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PublicIpPool {
    #[schema(value_type = String)]
    pub id: PoolId,
    #[schema(value_type = String)]
    pub data_center_id: DataCenterId,
    /// The external network the pool belongs to.
    #[schema(value_type = String)]
    pub external_network_id: ExternalNetworkId,
    pub name: String,
    #[schema(value_type = String)]
    pub cidr: IpNet,
    pub free_addresses: u64,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PublicIp {
    #[schema(value_type = String)]
    pub id: PublicIpId,
    #[schema(value_type = String)]
    pub project_id: ProjectId,
    #[schema(value_type = String)]
    pub pool_id: PoolId,
    #[schema(value_type = String)]
    pub data_center_id: DataCenterId,
    /// The external network of its pool (Neutron's `floating_network_id`).
    #[schema(value_type = String)]
    pub external_network_id: ExternalNetworkId,
    #[schema(value_type = String)]
    pub address: IpAddr,
    #[schema(value_type = Option<String>)]
    pub interface_id: Option<InterfaceId>,
    #[schema(value_type = Option<String>)]
    pub vm_id: Option<VmId>,
    /// The interface's IPv4 address the public IP maps to.
    #[schema(value_type = Option<String>)]
    pub fixed_ip: Option<IpAddr>,
    pub description: String,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SecurityGroupRule {
    #[schema(value_type = String)]
    pub id: SecurityGroupRuleId,
    #[schema(value_type = String)]
    pub security_group_id: SecurityGroupId,
    /// "ingress" or "egress".
    pub direction: String,
    /// "IPv4" or "IPv6".
    pub ethertype: String,
    pub protocol: Option<String>,
    pub port_range_min: Option<u16>,
    pub port_range_max: Option<u16>,
    pub remote_ip_prefix: Option<String>,
    #[schema(value_type = Option<String>)]
    pub remote_group_id: Option<SecurityGroupId>,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SecurityGroup {
    #[schema(value_type = String)]
    pub id: SecurityGroupId,
    #[schema(value_type = String)]
    pub project_id: ProjectId,
    pub name: String,
    pub description: String,
    pub is_default: bool,
    pub rules: Vec<SecurityGroupRule>,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
}

/// One page of a list: the items and the marker of the next page, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_marker: Option<String>,
}

/// The objects Neutron shows with a `revision_number` (the columns and
/// triggers of `migrations/*/0007_revisions_flavors.sql`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Revisioned {
    Network,
    Subnet,
    Port,
    SecurityGroup,
    SecurityGroupRule,
    FloatingIp,
    Trunk,
    /// Routers (`migrations/*/0013_router_revisions_tags.sql`).
    Router,
}

/// A client's `If-Match: revision_number=N` on a change of one object: the
/// write goes ahead only while the object is at revision `expected`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionPrecondition {
    pub what: Revisioned,
    pub id: String,
    pub expected: u64,
}

/// A Nova flavor: a named VM size. nicplane does not size VMs; servers keep
/// the flavor they were created with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flavor {
    pub id: String,
    pub name: String,
    pub vcpus: u32,
    /// MiB.
    pub ram: u32,
    /// GiB.
    pub disk: u32,
    /// GiB.
    pub ephemeral: u32,
    /// MiB.
    pub swap: u32,
    pub is_public: bool,
    pub description: Option<String>,
    /// Deleted flavors are kept for the servers created with them.
    pub deleted: bool,
}

/// Device owner of a router's interface port (Neutron's constant).
pub const ROUTER_INTERFACE_OWNER: &str = "network:router_interface";
/// Device owner of a router's gateway port (Neutron's constant).
pub const ROUTER_GATEWAY_OWNER: &str = "network:router_gateway";

/// A router: it connects subnets (its interfaces) and reaches the public
/// pools of its data center (its gateway). Desired state only: a future data
/// plane makes it a namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Router {
    #[schema(value_type = String)]
    pub id: RouterId,
    #[schema(value_type = String)]
    pub project_id: ProjectId,
    #[schema(value_type = String)]
    pub data_center_id: DataCenterId,
    pub name: String,
    pub description: String,
    pub admin_state_up: bool,
    /// Observed state; `active` until a data plane reports otherwise.
    pub status: String,
    /// The gateway to the data center's public pools, if set.
    pub gateway: Option<RouterGateway>,
    /// The subnets the router connects, one row per (port, subnet).
    pub interfaces: Vec<RouterInterface>,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

/// A router's gateway: addresses taken from the public pools of the
/// router's data center (never handed out twice, released with the gateway).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RouterGateway {
    /// The external network whose pools the addresses come from.
    #[schema(value_type = String)]
    pub network_id: ExternalNetworkId,
    pub enable_snat: bool,
    pub external_fixed_ips: Vec<GatewayIp>,
}

/// One address of a router's gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GatewayIp {
    #[schema(value_type = String)]
    pub pool_id: PoolId,
    #[schema(value_type = String)]
    pub ip_address: IpAddr,
}

/// One subnet a router connects, through a port (an interface row whose
/// `device_owner` is [`ROUTER_INTERFACE_OWNER`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RouterInterface {
    #[schema(value_type = String)]
    pub port_id: InterfaceId,
    #[schema(value_type = String)]
    pub subnet_id: SubnetId,
    #[schema(value_type = String)]
    pub network_id: NetworkId,
    #[schema(value_type = String)]
    pub ip_address: IpAddr,
}

/// A host (hypervisor) of a data center. Its agent (`nicplane agent`)
/// authenticates with a credential issued at create and realizes the host's
/// VMs; every authentication records `last_seen`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Host {
    #[schema(value_type = String)]
    pub id: HostId,
    pub name: String,
    #[schema(value_type = String)]
    pub data_center_id: DataCenterId,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// When its agent last authenticated; absent until it first connects.
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_seen: Option<Timestamp>,
}

/// A host with the number of VMs placed on it (placement's load).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HostLoad {
    #[serde(flatten)]
    pub host: Host,
    pub vm_count: u64,
    /// Whether its agent was seen within `rules::HOST_LIVE_SECS`.
    pub live: bool,
}

/// What a project holds beyond what nicplane made with it (its Default
/// Networks and default security group): what `rules::project_deletable`
/// looks at. Read in the deleting transaction, under the project's row lock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProjectHoldings {
    pub vms: u64,
    /// Network interfaces (ports) other than routers' ports.
    pub interfaces: u64,
    pub public_ips: u64,
    pub routers: u64,
    pub trunks: u64,
    /// Networks other than its Default Networks.
    pub networks: u64,
    /// Security groups other than its default one.
    pub security_groups: u64,
    /// External networks that show the project as their owner.
    pub external_networks: u64,
    /// The cloud admin's ports on external networks made in the project.
    pub external_ports: u64,
}

/// A port's binding (Neutron's `binding:*` attributes): the host it is on
/// and the profile the cloud admin gave it. A port on a VM is on the VM's
/// host; an unattached port on the host it was bound to, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortBinding {
    pub interface_id: InterfaceId,
    pub host_id: Option<HostId>,
    /// The host's name (Neutron's `binding:host_id`).
    pub host_name: Option<String>,
    /// Neutron's `binding:profile`, a JSON object (`{}` when none was given).
    pub profile: serde_json::Value,
}
