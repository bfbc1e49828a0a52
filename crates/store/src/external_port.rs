//! Queries for ports on external networks. A supertrait of [`Tx`](crate::Tx);
//! implemented once, for both engines, in `sql/external_port.rs`, on the
//! tables of `migrations/*/0018_external_ports.sql`. A port's addresses are
//! taken from its network's pools by the allocator of public IPs
//! (`pool_take_*`), then recorded here.

use nicplane_domain::ids::*;
use nicplane_domain::model::ExternalPort;
use nicplane_domain::query::PageRequest;
use nicplane_domain::Result;
use std::net::IpAddr;

/// Port-on-external-network queries, run inside the caller's transaction.
pub trait ExternalPortTx {
    /// Insert the port's row (its addresses go in with
    /// [`external_port_ip_insert`](Self::external_port_ip_insert)); false
    /// when its MAC is taken on its network (unique index
    /// `external_ports_mac`), without aborting the transaction.
    fn external_port_insert_if_mac_free(&mut self, p: &ExternalPort) -> Result<bool>;
    /// Record an address of a port (taken from its pool before).
    fn external_port_ip_insert(
        &mut self,
        port: InterfaceId,
        pool: PoolId,
        offset: u64,
        address: IpAddr,
    ) -> Result<()>;
    /// A port with its addresses; inside a write on PostgreSQL its row is
    /// locked (`FOR UPDATE`).
    fn external_port_get(&mut self, id: InterfaceId) -> Result<Option<ExternalPort>>;
    /// A page of ports by id: of one project (None: every project's), on
    /// one network (None: every network).
    fn external_port_list(
        &mut self,
        project: Option<&ProjectId>,
        network: Option<ExternalNetworkId>,
        page: &PageRequest,
    ) -> Result<Vec<ExternalPort>>;
    /// Name, description, updated_at.
    fn external_port_update(&mut self, p: &ExternalPort) -> Result<()>;
    /// Delete a port and its addresses, answering (pool, offset) of each.
    fn external_port_delete(&mut self, id: InterfaceId) -> Result<Vec<(PoolId, u64)>>;
    /// How many ports an external network has.
    fn external_network_ports(&mut self, network: ExternalNetworkId) -> Result<u64>;
}
