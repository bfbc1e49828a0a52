//! [`NeutronTx`] for both engines (columns, triggers and tables of
//! `0007_revisions_flavors.sql`).

use super::{args, Exec, Param, SqlTx};
use crate::neutron::NeutronTx;
use nicplane_domain::ids::ProjectId;
use nicplane_domain::model::{Flavor, Revisioned};
use nicplane_domain::{Error, Result};
use std::collections::HashMap;

/// Ids per `IN (...)` list: far below both engines' parameter limits.
const IN_CHUNK: usize = 500;

/// The table of a revisioned object, and how a row is found within a
/// project (`$1` the id, `$2` the project).
fn table(what: Revisioned) -> (&'static str, &'static str) {
    match what {
        Revisioned::Network => ("networks", "FROM networks t WHERE t.id = $1 AND t.project_id = $2"),
        Revisioned::Subnet => (
            "subnets",
            "FROM subnets t JOIN networks n ON n.id = t.network_id WHERE t.id = $1 AND n.project_id = $2",
        ),
        Revisioned::Port => ("interfaces", "FROM interfaces t WHERE t.id = $1 AND t.project_id = $2"),
        Revisioned::SecurityGroup => (
            "security_groups",
            "FROM security_groups t WHERE t.id = $1 AND t.project_id = $2",
        ),
        Revisioned::SecurityGroupRule => (
            "security_group_rules",
            "FROM security_group_rules t JOIN security_groups g ON g.id = t.security_group_id \
             WHERE t.id = $1 AND g.project_id = $2",
        ),
        Revisioned::FloatingIp => ("public_ips", "FROM public_ips t WHERE t.id = $1 AND t.project_id = $2"),
        Revisioned::Trunk => ("trunks", "FROM trunks t WHERE t.id = $1 AND t.project_id = $2"),
        Revisioned::Router => ("routers", "FROM routers t WHERE t.id = $1 AND t.project_id = $2"),
    }
}

/// How the project that owns an object is read (`$1` the id).
fn owner_sql(what: Revisioned) -> &'static str {
    match what {
        Revisioned::Network => "SELECT project_id FROM networks WHERE id = $1",
        Revisioned::Subnet => {
            "SELECT n.project_id FROM subnets t JOIN networks n ON n.id = t.network_id WHERE t.id = $1"
        }
        Revisioned::Port => {
            "SELECT project_id FROM interfaces WHERE id = $1 \
             UNION ALL SELECT project_id FROM external_ports WHERE id = $1"
        }
        Revisioned::SecurityGroup => "SELECT project_id FROM security_groups WHERE id = $1",
        Revisioned::SecurityGroupRule => {
            "SELECT g.project_id FROM security_group_rules t \
             JOIN security_groups g ON g.id = t.security_group_id WHERE t.id = $1"
        }
        Revisioned::FloatingIp => "SELECT project_id FROM public_ips WHERE id = $1",
        Revisioned::Trunk => "SELECT project_id FROM trunks WHERE id = $1",
        Revisioned::Router => "SELECT project_id FROM routers WHERE id = $1",
    }
}

/// Where a revisioned object's tags are kept: the table, its id column, and
/// the `neutron_tags.resource` that narrows it (routers have `router_tags`
/// of 0013; ports keep their tags in `interfaces.tags`, rules have none).
struct TagTable {
    table: &'static str,
    key: &'static str,
    resource: Option<&'static str>,
}

fn tag_table(what: Revisioned) -> Result<TagTable> {
    let shared = |resource| TagTable {
        table: "neutron_tags",
        key: "resource_id",
        resource: Some(resource),
    };
    match what {
        Revisioned::Network => Ok(shared("network")),
        Revisioned::Subnet => Ok(shared("subnet")),
        Revisioned::SecurityGroup => Ok(shared("security_group")),
        Revisioned::FloatingIp => Ok(shared("floatingip")),
        Revisioned::Trunk => Ok(shared("trunk")),
        Revisioned::Router => Ok(TagTable {
            table: "router_tags",
            key: "router_id",
            resource: None,
        }),
        Revisioned::Port | Revisioned::SecurityGroupRule => {
            Err(Error::internal(format!("{what:?} has no neutron_tags")))
        }
    }
}

impl TagTable {
    /// `resource = $1 AND ` (or nothing) and the number of the first free
    /// placeholder after it.
    fn narrow(&self) -> (String, usize) {
        match self.resource {
            Some(_) => ("resource = $1 AND ".to_string(), 2),
            None => (String::new(), 1),
        }
    }

    fn params(&self) -> Vec<Param> {
        self.resource.map(Param::from).into_iter().collect()
    }
}

fn revision(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| Error::internal("negative revision_number"))
}

const FLAVOR_COLS: &str =
    "id, name, vcpus, ram, disk, ephemeral, swap, is_public, description, deleted_at";

fn flavor_row(r: &dyn super::Row) -> Result<Flavor> {
    let small = |i: usize| -> Result<u32> {
        u32::try_from(r.int(i)?).map_err(|_| Error::internal("flavor size out of range"))
    };
    Ok(Flavor {
        id: r.string(0)?,
        name: r.string(1)?,
        vcpus: small(2)?,
        ram: small(3)?,
        disk: small(4)?,
        ephemeral: small(5)?,
        swap: small(6)?,
        is_public: r.bool(7)?,
        description: r.get_str(8)?.map(str::to_string),
        deleted: r.int(9)? != 0,
    })
}

impl<E: Exec> NeutronTx for SqlTx<E> {
    fn revision_lock(
        &mut self,
        what: Revisioned,
        id: &str,
        project: &ProjectId,
    ) -> Result<Option<u64>> {
        let (_, from) = table(what);
        let lock = self.exec.for_update(Some("t"));
        let v = self.exec.query_opt(
            &format!("SELECT t.revision_number {from}{lock}"),
            args![id, project.to_string()],
            |r| r.int(0),
        )?;
        v.map(revision).transpose()
    }

    fn revisions(&mut self, what: Revisioned, ids: &[String]) -> Result<HashMap<String, u64>> {
        let (t, _) = table(what);
        let mut out = HashMap::new();
        for chunk in ids.chunks(IN_CHUNK) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let params: Vec<Param> = chunk.iter().map(|i| Param::from(i.as_str())).collect();
            let rows = self.exec.query(
                &format!(
                    "SELECT id, revision_number FROM {t} WHERE id IN ({})",
                    marks.join(", ")
                ),
                &params,
                |r| Ok((r.string(0)?, r.int(1)?)),
            )?;
            for (id, n) in rows {
                out.insert(id, revision(n)?);
            }
        }
        Ok(out)
    }

    fn revision_bump(&mut self, what: Revisioned, id: &str) -> Result<()> {
        let (t, _) = table(what);
        self.exec.execute(
            &format!("UPDATE {t} SET revision_number = revision_number + 1 WHERE id = $1"),
            args![id],
        )?;
        Ok(())
    }

    fn neutron_tags(
        &mut self,
        what: Revisioned,
        ids: &[String],
    ) -> Result<HashMap<String, Vec<String>>> {
        let t = tag_table(what)?;
        let (narrow, first) = t.narrow();
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for chunk in ids.chunks(IN_CHUNK) {
            let marks: Vec<String> = (first..first + chunk.len())
                .map(|i| format!("${i}"))
                .collect();
            let mut params = t.params();
            params.extend(chunk.iter().map(|i| Param::from(i.as_str())));
            let rows = self.exec.query(
                &format!(
                    "SELECT {key}, tag FROM {table} WHERE {narrow}{key} IN ({}) ORDER BY {key}, tag",
                    marks.join(", "),
                    key = t.key,
                    table = t.table,
                ),
                &params,
                |r| Ok((r.string(0)?, r.string(1)?)),
            )?;
            for (id, tag) in rows {
                out.entry(id).or_default().push(tag);
            }
        }
        Ok(out)
    }

    fn neutron_tags_set(&mut self, what: Revisioned, id: &str, tags: &[String]) -> Result<()> {
        let t = tag_table(what)?;
        let (narrow, first) = t.narrow();
        let mut params = t.params();
        params.push(Param::from(id));
        self.exec.execute(
            &format!("DELETE FROM {} WHERE {narrow}{} = ${first}", t.table, t.key),
            &params,
        )?;
        let cols = match t.resource {
            Some(_) => "resource, resource_id, tag",
            None => "router_id, tag",
        };
        for tag in tags {
            let mut params = t.params();
            params.push(Param::from(id));
            params.push(Param::from(tag.as_str()));
            let marks: Vec<String> = (1..=params.len()).map(|i| format!("${i}")).collect();
            self.exec.execute(
                &format!(
                    "INSERT INTO {} ({cols}) VALUES ({})",
                    t.table,
                    marks.join(", ")
                ),
                &params,
            )?;
        }
        Ok(())
    }

    fn object_project(&mut self, what: Revisioned, id: &str) -> Result<Option<ProjectId>> {
        let owner = self
            .exec
            .query_opt(owner_sql(what), args![id], |r| {
                r.get_str(0).map(|s| s.map(str::to_string))
            })?
            .flatten();
        owner.map(|p| p.parse()).transpose()
    }

    fn flavor_list(&mut self, deleted: bool) -> Result<Vec<Flavor>> {
        let filter = if deleted { "" } else { " WHERE deleted_at = 0" };
        self.exec.query(
            &format!("SELECT {FLAVOR_COLS} FROM flavors{filter} ORDER BY deleted_at, id"),
            args![],
            flavor_row,
        )
    }

    fn flavor_insert(&mut self, f: &Flavor, created_at: i64) -> Result<()> {
        self.exec.execute(
            "INSERT INTO flavors (id, name, vcpus, ram, disk, ephemeral, swap, is_public, \
             description, deleted_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10)",
            args![
                f.id.as_str(),
                f.name.as_str(),
                i64::from(f.vcpus),
                i64::from(f.ram),
                i64::from(f.disk),
                i64::from(f.ephemeral),
                i64::from(f.swap),
                f.is_public,
                f.description.clone(),
                created_at,
            ],
        )?;
        Ok(())
    }

    fn flavor_delete(&mut self, id: &str, at: i64) -> Result<bool> {
        // A flavor deleted twice within one second would collide on the
        // primary key (id, deleted_at): the later one takes the next free
        // second.
        let taken = self.exec.query_opt(
            "SELECT MAX(deleted_at) FROM flavors WHERE id = $1",
            args![id],
            |r| r.get_i64(0),
        )?;
        let at = match taken.flatten() {
            Some(m) if m >= at => m + 1,
            _ => at,
        };
        let n = self.exec.execute(
            "UPDATE flavors SET deleted_at = $2 WHERE id = $1 AND deleted_at = 0",
            args![id, at],
        )?;
        Ok(n > 0)
    }
}
