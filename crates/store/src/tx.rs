//! The transaction interface the service layer programs against. Each backend
//! implements it; every method runs inside the caller's transaction.

use nicplane_domain::ids::*;
use nicplane_domain::ipam::Range;
use nicplane_domain::model::*;
use nicplane_domain::types::*;
use nicplane_domain::Result;
use std::net::IpAddr;

pub use nicplane_domain::query::{InterfaceFilter, NetworkFilter, PageRequest, VmFilter};

/// Outcome of claiming a specific address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Claimed; `in_pool` says whether it came from an allocation pool.
    Claimed { in_pool: bool },
    /// Already allocated.
    InUse,
}

/// A read a use case is about to make, named so that it can be sent ahead
/// ([`Tx::read_ahead`]); each is the read of the method of the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadAhead {
    /// [`Tx::vm_get`] (inside a write on PostgreSQL: locks the VM).
    Vm(VmId),
    /// [`Tx::network_get`].
    Network(NetworkId),
    /// [`Tx::security_group_default_id`].
    DefaultGroup(ProjectId),
    /// [`Tx::subnets_of_network`].
    SubnetsOf(NetworkId),
    /// [`Tx::interface_get`] (inside a write on PostgreSQL: locks it).
    Interface(InterfaceId),
    /// [`Tx::interface_auto_delete`].
    InterfaceAutoDelete(InterfaceId),
    /// [`Tx::public_ip_of_interface`] (inside a write on PostgreSQL: locks it).
    PublicIpOf(InterfaceId),
}

/// A user row with its password hash (for login only).
#[derive(Debug, Clone)]
pub struct UserSecret {
    pub user: User,
    pub password_hash: String,
}

/// A public IP pool with what the allocator needs.
#[derive(Debug, Clone)]
pub struct PoolRow {
    pub pool: PublicIpPool,
}

/// Everything a backend must do inside one transaction.
pub trait Tx:
    crate::credential_job::CredentialJobTx
    + crate::capacity::CapacityTx
    + crate::trunk::TrunkTx
    + crate::quota::QuotaTx
    + crate::router::RouterTx
    + crate::neutron::NeutronTx
    + crate::user_auth::UserAuthTx
    + crate::host::HostTx
    + crate::feed::FeedTx
    + crate::project::ProjectTx
    + crate::external_port::ExternalPortTx
{
    fn ping(&mut self) -> Result<()>;

    /// Send `reads` now, in this order, where a statement costs a round trip
    /// (PostgreSQL: one round trip for all of them); the use case's own
    /// calls of the same reads later in the transaction answer from them,
    /// unless it wrote something in between (then they run again). Only a
    /// hint for speed: the engine runs the reads in the order given, as the
    /// calls would have, so the use case must make them in that order and
    /// name only reads it makes whatever it finds (or reads whose locks it
    /// may take early). SQLite does nothing: its statements cost no trip.
    fn read_ahead(&mut self, reads: &[ReadAhead]) -> Result<()>;

    /// Next value (starting at 0) of a deployment-wide counter.
    fn next_sequence(&mut self, name: &str) -> Result<u64>;

    // Data centers.
    fn data_center_insert(&mut self, dc: &DataCenter) -> Result<()>;
    fn data_center_get(&mut self, id: DataCenterId) -> Result<Option<DataCenter>>;
    fn data_center_by_name(&mut self, name: &str) -> Result<Option<DataCenter>>;
    fn data_center_list(&mut self) -> Result<Vec<DataCenter>>;

    // Projects, users, memberships, tokens.
    fn project_insert(&mut self, p: &Project) -> Result<()>;
    fn project_get(&mut self, id: &ProjectId) -> Result<Option<Project>>;
    fn project_by_name(&mut self, name: &str) -> Result<Option<Project>>;
    fn project_list(&mut self) -> Result<Vec<Project>>;
    fn user_insert(&mut self, u: &User, password_hash: &str) -> Result<()>;
    fn user_get(&mut self, id: UserId) -> Result<Option<User>>;
    fn user_by_name(&mut self, name: &str) -> Result<Option<UserSecret>>;
    fn user_list(&mut self) -> Result<Vec<User>>;
    fn user_set_password(&mut self, id: UserId, password_hash: &str) -> Result<()>;
    fn membership_set(&mut self, user: UserId, project: &ProjectId, role: Role) -> Result<()>;
    fn membership_delete(&mut self, user: UserId, project: &ProjectId) -> Result<bool>;
    fn membership_role(&mut self, user: UserId, project: &ProjectId) -> Result<Option<Role>>;
    fn memberships_of_user(&mut self, user: UserId) -> Result<Vec<Membership>>;
    fn memberships_of_project(&mut self, project: &ProjectId) -> Result<Vec<Membership>>;
    /// Store a token (by hash), optionally scoped to a project.
    fn token_insert(
        &mut self,
        hash: &str,
        user: UserId,
        project: Option<&ProjectId>,
        expires_at: i64,
    ) -> Result<()>;
    /// The token's user, project scope and expiry.
    fn token_lookup(&mut self, hash: &str) -> Result<Option<(UserId, Option<ProjectId>, i64)>>;
    fn token_delete(&mut self, hash: &str) -> Result<()>;

    // Idempotency keys: the stored answer of an earlier write.
    fn idempotency_get(&mut self, user: UserId, key: &str) -> Result<Option<(String, String)>>;
    fn idempotency_put(
        &mut self,
        user: UserId,
        key: &str,
        fingerprint: &str,
        response: &str,
    ) -> Result<()>;

    // Security groups.
    fn security_group_insert(&mut self, sg: &SecurityGroup) -> Result<()>;
    fn security_group_get(&mut self, id: SecurityGroupId) -> Result<Option<SecurityGroup>>;
    fn security_group_list(&mut self, project: &ProjectId) -> Result<Vec<SecurityGroup>>;
    fn security_group_default(&mut self, project: &ProjectId) -> Result<Option<SecurityGroup>>;
    /// The id of the project's default group, without its rules (an attach
    /// needs only the id).
    fn security_group_default_id(
        &mut self,
        project: &ProjectId,
    ) -> Result<Option<SecurityGroupId>> {
        Ok(self.security_group_default(project)?.map(|g| g.id))
    }
    fn security_group_update(&mut self, sg: &SecurityGroup) -> Result<()>;
    fn security_group_delete(&mut self, id: SecurityGroupId) -> Result<()>;
    fn security_group_in_use(&mut self, id: SecurityGroupId) -> Result<bool>;
    fn security_group_rule_insert(&mut self, rule: &SecurityGroupRule) -> Result<()>;
    fn security_group_rule_get(
        &mut self,
        id: SecurityGroupRuleId,
    ) -> Result<Option<SecurityGroupRule>>;
    fn security_group_rule_delete(&mut self, id: SecurityGroupRuleId) -> Result<()>;

    // Networks and subnets.
    fn network_insert(&mut self, n: &Network) -> Result<()>;
    fn network_get(&mut self, id: NetworkId) -> Result<Option<Network>>;
    fn network_update(&mut self, n: &Network) -> Result<()>;
    fn network_delete(&mut self, id: NetworkId) -> Result<()>;
    fn network_list(&mut self, f: &NetworkFilter, page: &PageRequest) -> Result<Vec<Network>>;
    fn network_default(&mut self, project: &ProjectId, dc: DataCenterId)
        -> Result<Option<Network>>;
    fn network_interface_count(&mut self, id: NetworkId) -> Result<u64>;
    /// Insert a subnet and its allocation pools as free ranges.
    fn subnet_insert(&mut self, s: &Subnet, pools: &[Range], pool_size: u128) -> Result<()>;
    fn subnet_get(&mut self, id: SubnetId) -> Result<Option<Subnet>>;
    /// A subnet's CIDR alone (an address's release needs no more of it).
    fn subnet_cidr(&mut self, id: SubnetId) -> Result<Option<ipnet::IpNet>>;
    fn subnets_of_network(&mut self, network: NetworkId) -> Result<Vec<Subnet>>;
    /// A page of every project's subnets, by id (the cloud admin's lists).
    fn subnet_page(&mut self, page: &PageRequest) -> Result<Vec<Subnet>>;
    fn subnet_delete(&mut self, id: SubnetId) -> Result<()>;
    fn subnet_allocation_count(&mut self, id: SubnetId) -> Result<u64>;
    /// Name, description, gateway, DHCP, DNS servers and host routes.
    fn subnet_update(&mut self, s: &Subnet) -> Result<()>;
    /// Replace a subnet's allocation pools: `free` are the new free ranges,
    /// `in_pool` every allocated offset with whether it lies in the new pools
    /// (the pools it shows are written by `subnet_update`).
    fn subnet_set_pools(
        &mut self,
        id: SubnetId,
        free: &[Range],
        pool_size: u128,
        in_pool: &[(u64, bool)],
    ) -> Result<()>;
    /// Every allocated offset of a subnet, with whether it is in the pools.
    fn subnet_allocations(&mut self, id: SubnetId) -> Result<Vec<(u64, bool)>>;
    /// The interfaces holding an address of a subnet.
    fn subnet_allocation_interfaces(&mut self, id: SubnetId) -> Result<Vec<InterfaceId>>;
    /// Whether an offset of a subnet is allocated.
    fn ip_allocated(&mut self, subnet: SubnetId, offset: u64) -> Result<bool>;
    /// Lock a network's row for the rest of the transaction (PostgreSQL; a
    /// SQLite write transaction already holds the database).
    fn network_lock(&mut self, id: NetworkId) -> Result<()>;

    // IPAM (see nicplane_domain::ipam for the design).
    /// Take the lowest free offset of the subnet's pools; None when exhausted.
    fn ip_take_next(&mut self, subnet: SubnetId) -> Result<Option<u64>>;
    /// Take a specific offset (inside a pool or not).
    fn ip_take(&mut self, subnet: SubnetId, offset: u64) -> Result<Claim>;
    /// Record an allocation (after a take).
    fn ip_record(
        &mut self,
        subnet: SubnetId,
        offset: u64,
        address: IpAddr,
        interface: InterfaceId,
        in_pool: bool,
    ) -> Result<()>;
    /// Free an allocation, returning it to the free ranges when it was in a pool.
    fn ip_release(&mut self, subnet: SubnetId, offset: u64) -> Result<()>;

    // VMs.
    fn vm_insert(&mut self, vm: &Vm) -> Result<()>;
    /// Read a VM; inside a write this also locks its row (PostgreSQL: FOR UPDATE).
    fn vm_get(&mut self, id: VmId) -> Result<Option<Vm>>;
    fn vm_update(&mut self, vm: &Vm) -> Result<()>;
    fn vm_delete(&mut self, id: VmId) -> Result<()>;
    fn vm_list(&mut self, f: &VmFilter, page: &PageRequest) -> Result<Vec<Vm>>;

    // Interfaces.
    fn interface_insert(&mut self, i: &Interface, auto_delete: bool) -> Result<()>;
    /// Insert unless another interface has its MAC address (then nothing is
    /// written and the answer is `false`): `INSERT ... ON CONFLICT
    /// (mac_address) DO NOTHING` on the unique index `interfaces_mac`, so a
    /// taken MAC does not abort the transaction on PostgreSQL and the caller
    /// can draw another one. Any other constraint still fails the insert.
    fn interface_insert_if_mac_free(&mut self, i: &Interface, auto_delete: bool) -> Result<bool>;
    fn interface_get(&mut self, id: InterfaceId) -> Result<Option<Interface>>;
    /// Whether the interface is deleted, not just unbound, when detached, and
    /// how many interfaces have it as their parent, in one read:
    /// `SELECT auto_delete, (SELECT COUNT(*) … WHERE parent_id = $1) FROM
    /// interfaces WHERE id = $1`. A missing interface: `(false, 0)`.
    fn interface_auto_delete(&mut self, id: InterfaceId) -> Result<(bool, u64)>;
    fn interface_update(&mut self, i: &Interface) -> Result<()>;
    fn interface_delete(&mut self, id: InterfaceId) -> Result<()>;
    fn interface_list(&mut self, f: &InterfaceFilter, page: &PageRequest)
        -> Result<Vec<Interface>>;
    fn interface_count(&mut self, f: &InterfaceFilter) -> Result<u64>;
    /// VLAN ids used under a parent, ascending.
    fn interface_vlans_of_parent(&mut self, parent: InterfaceId) -> Result<Vec<u16>>;

    // Public IP pools and public IPs.
    fn pool_insert(&mut self, pool: &PublicIpPool, fresh: &[Range]) -> Result<()>;
    fn pool_get(&mut self, id: PoolId) -> Result<Option<PublicIpPool>>;
    fn pool_list(&mut self, dc: Option<DataCenterId>) -> Result<Vec<PublicIpPool>>;
    /// The pool's lowest never-used range.
    fn pool_fresh_head(&mut self, pool: PoolId) -> Result<Option<Range>>;
    /// The pool's oldest released address: (seq, offset).
    fn pool_released_head(&mut self, pool: PoolId) -> Result<Option<(i64, u64)>>;
    /// Take the first address of a fresh range.
    fn pool_take_fresh(&mut self, pool: PoolId, range: Range) -> Result<u64>;
    /// Take a released address by its queue position.
    fn pool_take_released(&mut self, pool: PoolId, seq: i64) -> Result<()>;
    /// Take one chosen address of the pool, wherever it is free (a fresh
    /// range or the release queue). `false`: it is not free (in use).
    fn pool_take_offset(&mut self, pool: PoolId, offset: u64) -> Result<bool>;
    /// Put an address at the back of the release queue.
    fn pool_release(&mut self, pool: PoolId, offset: u64) -> Result<()>;
    fn public_ip_insert(&mut self, ip: &PublicIp, offset: u64) -> Result<()>;
    fn public_ip_get(&mut self, id: PublicIpId) -> Result<Option<(PublicIp, u64)>>;
    fn public_ip_of_interface(&mut self, iface: InterfaceId) -> Result<Option<(PublicIp, u64)>>;
    fn public_ip_set_interface(
        &mut self,
        id: PublicIpId,
        iface: Option<InterfaceId>,
        description: &str,
        fixed_ip: Option<IpAddr>,
    ) -> Result<()>;
    fn public_ip_delete(&mut self, id: PublicIpId) -> Result<()>;
    fn public_ip_list(
        &mut self,
        project: Option<&ProjectId>,
        page: &PageRequest,
    ) -> Result<Vec<PublicIp>>;

    // External networks (`migrations/*/0012_external_networks.sql`).
    fn external_network_insert(&mut self, n: &ExternalNetwork) -> Result<()>;
    /// With its pools; inside a write on PostgreSQL its row is locked.
    fn external_network_get(&mut self, id: ExternalNetworkId) -> Result<Option<ExternalNetwork>>;
    /// Every external network (of one data center), oldest first, with pools.
    fn external_network_list(&mut self, dc: Option<DataCenterId>) -> Result<Vec<ExternalNetwork>>;
    /// Name, description, updated_at.
    fn external_network_update(&mut self, n: &ExternalNetwork) -> Result<()>;
    fn external_network_delete(&mut self, id: ExternalNetworkId) -> Result<()>;
    /// Router gateways on the network.
    fn external_network_gateways(&mut self, id: ExternalNetworkId) -> Result<u64>;
    /// Public IPs of the network's pools that are on an interface.
    fn external_network_associated_ips(&mut self, id: ExternalNetworkId) -> Result<u64>;
    /// Delete the public IPs of the network's pools that are on no interface.
    fn external_network_delete_unassociated_ips(&mut self, id: ExternalNetworkId) -> Result<u64>;
    /// Addresses of a pool held by public IPs, router gateways and ports
    /// on external networks.
    fn pool_held(&mut self, pool: PoolId) -> Result<u64>;
    /// Delete a pool with its free ranges and release queue (nothing held).
    fn pool_delete(&mut self, pool: PoolId) -> Result<()>;
}
