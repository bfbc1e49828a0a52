//! [`RouterTx`] for both engines (tables of `0009_routers.sql`).

use super::{args, from_ts, ts, Exec, Row, SqlTx};
use crate::router::*;
use nicplane_domain::ids::*;
use nicplane_domain::ipam::{from_key, key};
use nicplane_domain::model::{GatewayIp, Router, RouterGateway, RouterInterface};
use nicplane_domain::Result;
use std::net::IpAddr;

const ROUTER_COLS: &str = "id, project_id, data_center_id, name, description, admin_state_up, \
     gateway_snat, created_at, updated_at, gateway_network_id";

fn router_row(r: &dyn Row) -> Result<RouterRow> {
    Ok(RouterRow {
        id: r.parse(0, "id")?,
        project_id: r.parse(1, "project")?,
        data_center_id: r.parse(2, "id")?,
        name: r.string(3)?,
        description: r.string(4)?,
        admin_state_up: r.bool(5)?,
        gateway_snat: r.get_bool(6)?,
        created_at: from_ts(r.int(7)?),
        updated_at: from_ts(r.int(8)?),
        gateway_network: r.opt_parse(9, "id")?,
    })
}

impl<E: Exec> SqlTx<E> {
    /// A row with its gateway addresses and interfaces.
    fn router_assemble(&mut self, row: RouterRow) -> Result<Router> {
        let id = row.id.to_string();
        let gateway = match row.gateway_snat {
            None => None,
            Some(enable_snat) => Some(RouterGateway {
                network_id: row
                    .gateway_network
                    .unwrap_or(ExternalNetworkId::default_of(row.data_center_id)),
                enable_snat,
                external_fixed_ips: self.exec.query(
                    "SELECT pool_id, address FROM router_gateway_ips WHERE router_id = $1 \
                     ORDER BY pool_id, offset_key",
                    args![id.clone()],
                    |r| {
                        Ok(GatewayIp {
                            pool_id: r.parse(0, "id")?,
                            ip_address: r.parse(1, "address")?,
                        })
                    },
                )?,
            }),
        };
        let interfaces = self.exec.query(
            "SELECT ri.interface_id, ri.subnet_id, s.network_id, ri.address \
             FROM router_interfaces ri JOIN subnets s ON s.id = ri.subnet_id \
             WHERE ri.router_id = $1 ORDER BY ri.interface_id, ri.subnet_id",
            args![id],
            |r| {
                Ok(RouterInterface {
                    port_id: r.parse(0, "id")?,
                    subnet_id: r.parse(1, "id")?,
                    network_id: r.parse(2, "id")?,
                    ip_address: r.parse(3, "address")?,
                })
            },
        )?;
        Ok(Router {
            id: row.id,
            project_id: row.project_id,
            data_center_id: row.data_center_id,
            name: row.name,
            description: row.description,
            admin_state_up: row.admin_state_up,
            status: "ACTIVE".into(),
            gateway,
            interfaces,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

impl<E: Exec> RouterTx for SqlTx<E> {
    fn router_insert(&mut self, r: &RouterRow) -> Result<()> {
        self.run(
            &format!(
                "INSERT INTO routers ({ROUTER_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ),
            args![
                r.id.to_string(),
                r.project_id.to_string(),
                r.data_center_id.to_string(),
                &r.name,
                &r.description,
                r.admin_state_up,
                r.gateway_snat,
                ts(r.created_at),
                ts(r.updated_at),
                r.gateway_network.map(|n| n.to_string()),
            ],
        )
    }
    fn router_get(&mut self, id: RouterId) -> Result<Option<Router>> {
        let lock = self.exec.for_update(None);
        let row = self.exec.query_opt(
            &format!("SELECT {ROUTER_COLS} FROM routers WHERE id = $1{lock}"),
            args![id.to_string()],
            router_row,
        )?;
        row.map(|r| self.router_assemble(r)).transpose()
    }
    fn router_list(&mut self, project: &ProjectId) -> Result<Vec<Router>> {
        let rows = self.exec.query(
            &format!("SELECT {ROUTER_COLS} FROM routers WHERE project_id = $1 ORDER BY id"),
            args![project.to_string()],
            router_row,
        )?;
        rows.into_iter().map(|r| self.router_assemble(r)).collect()
    }
    fn router_page(&mut self, page: &nicplane_domain::query::PageRequest) -> Result<Vec<Router>> {
        let mut q = super::Query::new(format!("SELECT {ROUTER_COLS} FROM routers WHERE TRUE"));
        q.paginate("id", page);
        let rows = self.exec.query(&q.sql, &q.args, router_row)?;
        rows.into_iter().map(|r| self.router_assemble(r)).collect()
    }
    fn router_update(&mut self, r: &RouterRow) -> Result<()> {
        self.run(
            "UPDATE routers SET name = $2, description = $3, admin_state_up = $4, \
             gateway_snat = $5, updated_at = $6, gateway_network_id = $7 WHERE id = $1",
            args![
                r.id.to_string(),
                &r.name,
                &r.description,
                r.admin_state_up,
                r.gateway_snat,
                ts(r.updated_at),
                r.gateway_network.map(|n| n.to_string()),
            ],
        )
    }
    fn router_delete(&mut self, id: RouterId) -> Result<()> {
        self.delete("routers", id.to_string()).map(drop)
    }
    fn router_gateway_ip_insert(
        &mut self,
        router: RouterId,
        pool: PoolId,
        offset: u64,
        address: IpAddr,
    ) -> Result<()> {
        self.run(
            "INSERT INTO router_gateway_ips (router_id, pool_id, offset_key, address) \
             VALUES ($1, $2, $3, $4)",
            args![
                router.to_string(),
                pool.to_string(),
                key(offset),
                address.to_string()
            ],
        )
    }
    fn router_gateway_ips_delete(&mut self, router: RouterId) -> Result<Vec<(PoolId, u64)>> {
        let ips = self.exec.query(
            "SELECT pool_id, offset_key FROM router_gateway_ips WHERE router_id = $1 \
             ORDER BY pool_id, offset_key",
            args![router.to_string()],
            |r| Ok((r.parse(0, "id")?, from_key(r.int(1)?))),
        )?;
        self.run(
            "DELETE FROM router_gateway_ips WHERE router_id = $1",
            args![router.to_string()],
        )?;
        Ok(ips)
    }
    fn router_interface_insert(
        &mut self,
        router: RouterId,
        subnet: SubnetId,
        port: InterfaceId,
        address: IpAddr,
    ) -> Result<()> {
        self.run(
            "INSERT INTO router_interfaces (router_id, subnet_id, interface_id, address) \
             VALUES ($1, $2, $3, $4)",
            args![
                router.to_string(),
                subnet.to_string(),
                port.to_string(),
                address.to_string()
            ],
        )
    }
    fn router_interface_delete(&mut self, router: RouterId, subnet: SubnetId) -> Result<()> {
        self.run(
            "DELETE FROM router_interfaces WHERE router_id = $1 AND subnet_id = $2",
            args![router.to_string(), subnet.to_string()],
        )
    }
    fn routers_of_subnet(&mut self, subnet: SubnetId) -> Result<Vec<RouterId>> {
        self.exec.query(
            "SELECT router_id FROM router_interfaces WHERE subnet_id = $1 ORDER BY router_id",
            args![subnet.to_string()],
            |r| r.parse(0, "id"),
        )
    }
    fn interface_set_router(&mut self, id: InterfaceId, router: Option<RouterId>) -> Result<()> {
        self.run(
            "UPDATE interfaces SET router_id = $2 WHERE id = $1",
            args![id.to_string(), router.map(|r| r.to_string())],
        )
    }
    fn public_ips_on_subnet(&mut self, subnet: SubnetId) -> Result<u64> {
        self.count(
            "SELECT COUNT(*) FROM public_ips p JOIN ip_allocations a ON a.interface_id = p.interface_id \
             WHERE a.subnet_id = $1",
            args![subnet.to_string()],
        )
    }
    fn public_ips_via_router(&mut self, router: RouterId) -> Result<u64> {
        self.count(
            "SELECT COUNT(*) FROM public_ips p JOIN ip_allocations a ON a.interface_id = p.interface_id \
             JOIN router_interfaces ri ON ri.subnet_id = a.subnet_id WHERE ri.router_id = $1",
            args![router.to_string()],
        )
    }
}
