//! [`ExternalPortTx`] for both engines (tables of `0018_external_ports.sql`).

use super::{args, from_ts, ts, Exec, Query, Row, SqlTx};
use crate::external_port::*;
use nicplane_domain::ids::*;
use nicplane_domain::ipam::{from_key, key};
use nicplane_domain::model::{ExternalPort, GatewayIp};
use nicplane_domain::query::PageRequest;
use nicplane_domain::Result;
use std::net::IpAddr;

const PORT_COLS: &str = "p.id, p.project_id, p.external_network_id, n.data_center_id, p.name, \
     p.description, p.mac_address, p.device_owner, p.created_at, p.updated_at";

const PORT_FROM: &str =
    "FROM external_ports p JOIN external_networks n ON n.id = p.external_network_id";

fn port_row(r: &dyn Row) -> Result<ExternalPort> {
    Ok(ExternalPort {
        id: r.parse(0, "id")?,
        project_id: r.parse(1, "project")?,
        external_network_id: r.parse(2, "id")?,
        data_center_id: r.parse(3, "id")?,
        name: r.string(4)?,
        description: r.string(5)?,
        mac_address: r.parse(6, "MAC address")?,
        device_owner: r.string(7)?,
        fixed_ips: vec![],
        created_at: from_ts(r.int(8)?),
        updated_at: from_ts(r.int(9)?),
    })
}

impl<E: Exec> SqlTx<E> {
    /// A port row with its addresses, in pool and offset order.
    fn external_port_assemble(&mut self, mut p: ExternalPort) -> Result<ExternalPort> {
        p.fixed_ips = self.exec.query(
            "SELECT pool_id, address FROM external_port_ips WHERE port_id = $1 \
             ORDER BY pool_id, offset_key",
            args![p.id.to_string()],
            |r| {
                Ok(GatewayIp {
                    pool_id: r.parse(0, "id")?,
                    ip_address: r.parse(1, "address")?,
                })
            },
        )?;
        Ok(p)
    }
}

impl<E: Exec> ExternalPortTx for SqlTx<E> {
    /// ```sql
    /// INSERT INTO external_ports (…) VALUES (…)
    ///   ON CONFLICT (external_network_id, mac_address) DO NOTHING;
    /// ```
    fn external_port_insert_if_mac_free(&mut self, p: &ExternalPort) -> Result<bool> {
        let n = self.exec.execute(
            "INSERT INTO external_ports (id, project_id, external_network_id, name, description, \
             mac_address, device_owner, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (external_network_id, mac_address) DO NOTHING",
            args![
                p.id.to_string(),
                p.project_id.to_string(),
                p.external_network_id.to_string(),
                &p.name,
                &p.description,
                p.mac_address.to_string(),
                &p.device_owner,
                ts(p.created_at),
                ts(p.updated_at),
            ],
        )?;
        Ok(n == 1)
    }
    fn external_port_ip_insert(
        &mut self,
        port: InterfaceId,
        pool: PoolId,
        offset: u64,
        address: IpAddr,
    ) -> Result<()> {
        self.run(
            "INSERT INTO external_port_ips (port_id, pool_id, offset_key, address) \
             VALUES ($1, $2, $3, $4)",
            args![
                port.to_string(),
                pool.to_string(),
                key(offset),
                address.to_string()
            ],
        )
    }
    fn external_port_get(&mut self, id: InterfaceId) -> Result<Option<ExternalPort>> {
        let lock = self.exec.for_update(Some("p"));
        let row = self.exec.query_opt(
            &format!("SELECT {PORT_COLS} {PORT_FROM} WHERE p.id = $1{lock}"),
            args![id.to_string()],
            port_row,
        )?;
        row.map(|p| self.external_port_assemble(p)).transpose()
    }
    fn external_port_list(
        &mut self,
        project: Option<&ProjectId>,
        network: Option<ExternalNetworkId>,
        page: &PageRequest,
    ) -> Result<Vec<ExternalPort>> {
        let mut q = Query::new(format!("SELECT {PORT_COLS} {PORT_FROM} WHERE TRUE"));
        q.and_opt("p.project_id = {}", project.map(|p| p.to_string()));
        q.and_opt("p.external_network_id = {}", network.map(|n| n.to_string()));
        q.paginate("p.id", page);
        let rows = self.exec.query(&q.sql, &q.args, port_row)?;
        rows.into_iter()
            .map(|p| self.external_port_assemble(p))
            .collect()
    }
    fn external_port_update(&mut self, p: &ExternalPort) -> Result<()> {
        self.run(
            "UPDATE external_ports SET name = $2, description = $3, updated_at = $4 WHERE id = $1",
            args![p.id.to_string(), &p.name, &p.description, ts(p.updated_at)],
        )
    }
    fn external_port_delete(&mut self, id: InterfaceId) -> Result<Vec<(PoolId, u64)>> {
        let ips = self.exec.query(
            "SELECT pool_id, offset_key FROM external_port_ips WHERE port_id = $1 \
             ORDER BY pool_id, offset_key",
            args![id.to_string()],
            |r| Ok((r.parse(0, "id")?, from_key(r.int(1)?))),
        )?;
        self.run(
            "DELETE FROM external_port_ips WHERE port_id = $1",
            args![id.to_string()],
        )?;
        self.delete("external_ports", id.to_string())?;
        Ok(ips)
    }
    fn external_network_ports(&mut self, network: ExternalNetworkId) -> Result<u64> {
        self.count(
            "SELECT COUNT(*) FROM external_ports WHERE external_network_id = $1",
            args![network.to_string()],
        )
    }
}
