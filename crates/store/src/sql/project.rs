//! [`ProjectTx`] for both engines (projects of `0001_init.sql`, port
//! bindings of `0017_port_bindings.sql`).

use super::rows::{project_row, PROJECT_COLS};
use super::{args, Exec, Param, Query, Row, SqlTx};
use crate::project::*;
use nicplane_domain::ids::*;
use nicplane_domain::model::{PortBinding, Project, ProjectHoldings};
use nicplane_domain::Result;

impl<E: Exec> ProjectTx for SqlTx<E> {
    fn project_lock(&mut self, id: &ProjectId) -> Result<Option<Project>> {
        let lock = self.exec.for_update(None);
        self.exec.query_opt(
            &format!("SELECT {PROJECT_COLS} FROM projects WHERE id = $1{lock}"),
            args![id.to_string()],
            project_row,
        )
    }
    fn project_holdings(&mut self, id: &ProjectId) -> Result<ProjectHoldings> {
        let p = id.to_string();
        let mut n = |sql: &str| self.count(sql, args![p.clone()]);
        Ok(ProjectHoldings {
            vms: n("SELECT COUNT(*) FROM vms WHERE project_id = $1")?,
            interfaces: n(
                "SELECT COUNT(*) FROM interfaces WHERE project_id = $1 AND router_id IS NULL",
            )?,
            public_ips: n("SELECT COUNT(*) FROM public_ips WHERE project_id = $1")?,
            routers: n("SELECT COUNT(*) FROM routers WHERE project_id = $1")?,
            trunks: n("SELECT COUNT(*) FROM trunks WHERE project_id = $1")?,
            networks: n("SELECT COUNT(*) FROM networks WHERE project_id = $1 AND NOT is_default")?,
            security_groups: n(
                "SELECT COUNT(*) FROM security_groups WHERE project_id = $1 AND NOT is_default",
            )?,
            external_networks: n("SELECT COUNT(*) FROM external_networks WHERE project_id = $1")?,
            external_ports: n("SELECT COUNT(*) FROM external_ports WHERE project_id = $1")?,
        })
    }
    fn project_delete(&mut self, id: &ProjectId) -> Result<()> {
        self.delete("projects", id.to_string()).map(drop)
    }
    fn project_update(&mut self, p: &Project) -> Result<()> {
        self.run(
            "UPDATE projects SET name = $2, description = $3 WHERE id = $1",
            args![p.id.to_string(), &p.name, &p.description],
        )
    }
    fn port_bindings(&mut self, ids: &[InterfaceId]) -> Result<Vec<PortBinding>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = Query::new(
            "SELECT i.id, h.id, h.name, b.profile FROM interfaces i \
             LEFT JOIN vms v ON v.id = i.vm_id \
             LEFT JOIN port_bindings b ON b.interface_id = i.id \
             LEFT JOIN hosts h ON h.id = (CASE WHEN i.vm_id IS NULL THEN b.host_id ELSE v.host_id END) \
             WHERE TRUE",
        );
        q.and_in("i.id", ids.iter().map(|i| Param::Text(i.to_string())));
        self.exec.query(&q.sql, &q.args, |r: &dyn Row| {
            Ok(PortBinding {
                interface_id: r.parse(0, "id")?,
                host_id: r.opt_parse(1, "host")?,
                host_name: r.opt_string(2)?,
                profile: match r.opt_string(3)? {
                    Some(t) => super::json(&t)?,
                    None => serde_json::json!({}),
                },
            })
        })
    }
    fn port_binding_set(
        &mut self,
        id: InterfaceId,
        host: Option<Option<HostId>>,
        profile: &str,
        now: i64,
    ) -> Result<()> {
        // Without a new host the stored one stays (a new row has none).
        let keep = if host.is_some() {
            "host_id = excluded.host_id, "
        } else {
            ""
        };
        self.run(
            &format!(
                "INSERT INTO port_bindings (interface_id, host_id, profile, updated_at) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (interface_id) DO UPDATE SET {keep}\
                 profile = excluded.profile, updated_at = excluded.updated_at"
            ),
            args![
                id.to_string(),
                host.flatten().map(|h| h.to_string()),
                profile,
                now
            ],
        )
    }
}
