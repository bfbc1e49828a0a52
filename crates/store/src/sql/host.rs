//! [`HostTx`] for both engines (tables of `0015_hosts.sql`).

use super::rows::{iface_row, vm_row, IFACE_SQL, VM_COLS};
use super::{args, from_ts, ts, Exec, Param, Query, Row, SqlTx};
use crate::host::*;
use nicplane_domain::ids::*;
use nicplane_domain::model::{Host, HostLoad, Interface, Vm};
use nicplane_domain::rules;
use nicplane_domain::types::InterfaceStatus;
use nicplane_domain::Result;

const HOST_COLS: &str = "h.id, h.name, h.data_center_id, h.created_at, h.last_seen";

fn host_row(r: &dyn Row) -> Result<Host> {
    Ok(Host {
        id: r.parse(0, "id")?,
        name: r.string(1)?,
        data_center_id: r.parse(2, "id")?,
        created_at: from_ts(r.int(3)?),
        last_seen: r.opt_int(4)?.map(from_ts),
    })
}

impl<E: Exec> HostTx for SqlTx<E> {
    fn host_insert(&mut self, h: &Host, secret_hash: &str) -> Result<()> {
        self.run(
            "INSERT INTO hosts (id, name, data_center_id, secret_hash, created_at, last_seen) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            args![
                h.id.to_string(),
                &h.name,
                h.data_center_id.to_string(),
                secret_hash,
                ts(h.created_at),
                h.last_seen.map(ts),
            ],
        )
    }
    fn host_get(&mut self, id: HostId) -> Result<Option<(Host, String)>> {
        self.exec.query_opt(
            &format!("SELECT {HOST_COLS}, h.secret_hash FROM hosts h WHERE h.id = $1"),
            args![id.to_string()],
            |r| Ok((host_row(r)?, r.string(5)?)),
        )
    }
    fn host_by_name(&mut self, name: &str) -> Result<Option<Host>> {
        self.exec.query_opt(
            &format!("SELECT {HOST_COLS} FROM hosts h WHERE h.name = $1"),
            args![name],
            host_row,
        )
    }
    fn host_loads(&mut self, dc: Option<DataCenterId>, now: i64) -> Result<Vec<HostLoad>> {
        let mut q = Query::new(format!(
            "SELECT {HOST_COLS}, (SELECT COUNT(*) FROM vms v WHERE v.host_id = h.id) \
             FROM hosts h WHERE TRUE"
        ));
        q.and_opt("h.data_center_id = {}", dc.map(|d| d.to_string()));
        let order = self.exec.bytewise("h.name");
        q.sql.push_str(&format!(" ORDER BY {order}"));
        self.exec.query(&q.sql, &q.args, |r| {
            let host = host_row(r)?;
            let live = rules::host_is_live(host.last_seen.map(ts), now);
            Ok(HostLoad {
                host,
                vm_count: r.int(5)?.max(0) as u64,
                live,
            })
        })
    }
    fn host_touch(&mut self, id: HostId, now: i64) -> Result<()> {
        self.run(
            "UPDATE hosts SET last_seen = $2 WHERE id = $1",
            args![id.to_string(), now],
        )
    }
    fn host_vms(&mut self, host: HostId, after: Option<VmId>, limit: u32) -> Result<Vec<Vm>> {
        let mut q = Query::new(format!("SELECT {VM_COLS} FROM vms v WHERE TRUE"));
        q.and("v.host_id = {}", host.to_string());
        q.and_opt("v.id > {}", after.map(|a| a.to_string()));
        q.sql.push_str(" ORDER BY v.id");
        q.sql.push_str(&format!(" LIMIT {}", limit.max(1)));
        self.exec.query(&q.sql, &q.args, vm_row)
    }
    /// Two reads: the elastic interfaces by `vm_id`, then the supplementary
    /// ones by `parent_id` (they have no `vm_id` of their own: their VM is
    /// their parent's).
    fn interfaces_of_vms(&mut self, vms: &[VmId]) -> Result<Vec<Interface>> {
        let mut q = Query::new(format!("{IFACE_SQL} WHERE TRUE"));
        q.and_in("i.vm_id", vms.iter().map(|v| Param::Text(v.to_string())));
        q.sql.push_str(" ORDER BY i.id");
        let mut all = self.exec.query(&q.sql, &q.args, iface_row)?;
        let mut q = Query::new(format!("{IFACE_SQL} WHERE TRUE"));
        q.and_in(
            "i.parent_id",
            all.iter().map(|i| Param::Text(i.id.to_string())),
        );
        q.sql.push_str(" ORDER BY i.id");
        let supplementary = self.exec.query(&q.sql, &q.args, iface_row)?;
        all.extend(supplementary);
        Ok(all)
    }
    fn interfaces_on_host(
        &mut self,
        host: HostId,
        ids: &[InterfaceId],
    ) -> Result<Vec<(InterfaceId, VmId)>> {
        // A supplementary interface is on its parent's VM.
        let mut q = Query::new(
            "SELECT i.id, v.id FROM interfaces i LEFT JOIN interfaces pi ON pi.id = i.parent_id \
             JOIN vms v ON v.id = COALESCE(i.vm_id, pi.vm_id) WHERE TRUE",
        );
        q.and("v.host_id = {}", host.to_string());
        q.and_in("i.id", ids.iter().map(|i| Param::Text(i.to_string())));
        self.exec.query(&q.sql, &q.args, |r| {
            Ok((r.parse(0, "id")?, r.parse(1, "vm")?))
        })
    }
    fn interface_observed_set(
        &mut self,
        id: InterfaceId,
        vm: VmId,
        status: InterfaceStatus,
        reason: Option<&str>,
        now: i64,
    ) -> Result<()> {
        self.run(
            "INSERT INTO interface_observed (interface_id, vm_id, status, reason, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (interface_id) DO UPDATE SET vm_id = excluded.vm_id, \
             status = excluded.status, reason = excluded.reason, updated_at = excluded.updated_at",
            args![id.to_string(), vm.to_string(), status.as_str(), reason, now],
        )
    }
    fn security_group_members(&mut self, groups: &[SecurityGroupId]) -> Result<Vec<GroupMember>> {
        let mut q = Query::new(
            "SELECT s.security_group_id, i.mac_address, i.fixed_ips, i.allowed_address_pairs \
             FROM interface_security_groups s JOIN interfaces i ON i.id = s.interface_id \
             WHERE TRUE",
        );
        q.and_in(
            "s.security_group_id",
            groups.iter().map(|g| Param::Text(g.to_string())),
        );
        q.sql.push_str(" ORDER BY s.security_group_id, i.id");
        self.exec.query(&q.sql, &q.args, |r| {
            Ok(GroupMember {
                group: r.parse(0, "id")?,
                mac_address: r.parse(1, "mac")?,
                fixed_ips: r.json(2)?,
                allowed_address_pairs: r.json(3)?,
            })
        })
    }
}
