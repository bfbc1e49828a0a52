//! Queries for routers. A supertrait of [`Tx`](crate::Tx); implemented once,
//! for both engines, in `sql/router.rs`, on the tables of
//! `migrations/*/0009_routers.sql`.

use nicplane_domain::ids::*;
use nicplane_domain::model::{Router, Timestamp};
use nicplane_domain::Result;
use std::net::IpAddr;

/// The columns of a router row (gateway and interfaces are read with it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterRow {
    pub id: RouterId,
    pub project_id: ProjectId,
    pub data_center_id: DataCenterId,
    pub name: String,
    pub description: String,
    pub admin_state_up: bool,
    /// None: no gateway; else its `enable_snat`.
    pub gateway_snat: Option<bool>,
    /// The gateway's external network (None: no gateway).
    pub gateway_network: Option<ExternalNetworkId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Router queries, run inside the caller's transaction.
pub trait RouterTx {
    fn router_insert(&mut self, r: &RouterRow) -> Result<()>;
    /// A router with its gateway addresses and interfaces; inside a write on
    /// PostgreSQL its row is locked (`FOR UPDATE`).
    fn router_get(&mut self, id: RouterId) -> Result<Option<Router>>;
    /// A project's routers, by id (each bounded by the router quota).
    fn router_list(&mut self, project: &ProjectId) -> Result<Vec<Router>>;
    /// A page of every project's routers, by id (the lists that span
    /// projects: `Query::paginate`, never `OFFSET`).
    fn router_page(&mut self, page: &nicplane_domain::query::PageRequest) -> Result<Vec<Router>>;
    /// Name, description, admin state, gateway flag, updated_at.
    fn router_update(&mut self, r: &RouterRow) -> Result<()>;
    fn router_delete(&mut self, id: RouterId) -> Result<()>;
    /// Record an address of a router's gateway (taken from its pool before).
    fn router_gateway_ip_insert(
        &mut self,
        router: RouterId,
        pool: PoolId,
        offset: u64,
        address: IpAddr,
    ) -> Result<()>;
    /// Drop a router's gateway addresses, answering (pool, offset) of each.
    fn router_gateway_ips_delete(&mut self, router: RouterId) -> Result<Vec<(PoolId, u64)>>;
    fn router_interface_insert(
        &mut self,
        router: RouterId,
        subnet: SubnetId,
        port: InterfaceId,
        address: IpAddr,
    ) -> Result<()>;
    fn router_interface_delete(&mut self, router: RouterId, subnet: SubnetId) -> Result<()>;
    /// The routers a subnet is an interface of.
    fn routers_of_subnet(&mut self, subnet: SubnetId) -> Result<Vec<RouterId>>;
    /// Make an interface a router's port, or no router's.
    fn interface_set_router(&mut self, id: InterfaceId, router: Option<RouterId>) -> Result<()>;
    /// Public IPs on ports with an address in the subnet.
    fn public_ips_on_subnet(&mut self, subnet: SubnetId) -> Result<u64>;
    /// Public IPs on ports with an address in a subnet the router connects.
    fn public_ips_via_router(&mut self, router: RouterId) -> Result<u64>;
}
