//! Queries for hosts, placement and observed interface state. A supertrait
//! of [`Tx`](crate::Tx); implemented once, for both engines, in
//! `sql/host.rs`, on the tables of `migrations/*/0015_hosts.sql`.

use nicplane_domain::ids::*;
use nicplane_domain::model::{AddressPair, FixedIp, Host, HostLoad, Interface, Vm};
use nicplane_domain::types::{InterfaceStatus, MacAddr};
use nicplane_domain::Result;

/// Host queries, run inside the caller's transaction.
pub trait HostTx {
    /// Insert a host with the SHA-256 hash (hex) of its agent's secret.
    fn host_insert(&mut self, h: &Host, secret_hash: &str) -> Result<()>;
    /// A host and its secret's hash.
    fn host_get(&mut self, id: HostId) -> Result<Option<(Host, String)>>;
    fn host_by_name(&mut self, name: &str) -> Result<Option<Host>>;
    /// Hosts with their VM counts (of one data center, or all), by name;
    /// `now` (Unix seconds) decides which are live.
    fn host_loads(&mut self, dc: Option<DataCenterId>, now: i64) -> Result<Vec<HostLoad>>;
    /// Record that the host's agent was seen at `now` (Unix seconds).
    fn host_touch(&mut self, id: HostId, now: i64) -> Result<()>;
    /// The VMs on a host, by id, after `after`, at most `limit`.
    fn host_vms(&mut self, host: HostId, after: Option<VmId>, limit: u32) -> Result<Vec<Vm>>;
    /// Every interface bound to one of these VMs (elastic and
    /// supplementary), by id.
    fn interfaces_of_vms(&mut self, vms: &[VmId]) -> Result<Vec<Interface>>;
    /// Of these interfaces, those bound to a VM on the host, with the VM.
    fn interfaces_on_host(
        &mut self,
        host: HostId,
        ids: &[InterfaceId],
    ) -> Result<Vec<(InterfaceId, VmId)>>;
    /// Record the observed state of an interface on a VM (insert or
    /// replace), at `now` (Unix seconds).
    fn interface_observed_set(
        &mut self,
        id: InterfaceId,
        vm: VmId,
        status: InterfaceStatus,
        reason: Option<&str>,
        now: i64,
    ) -> Result<()>;
    /// The members of these security groups (issue 13, security groups in
    /// the data plane): per group, every interface in it (bound or not,
    /// on any host) with its MAC, fixed IPs and allowed address pairs, by
    /// group and interface. Bounded by the groups' project's port quota:
    /// a group has only its own project's interfaces.
    fn security_group_members(&mut self, groups: &[SecurityGroupId]) -> Result<Vec<GroupMember>>;
}

/// An interface in a security group, as a remote group's member.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupMember {
    pub group: SecurityGroupId,
    pub mac_address: MacAddr,
    pub fixed_ips: Vec<FixedIp>,
    pub allowed_address_pairs: Vec<AddressPair>,
}
