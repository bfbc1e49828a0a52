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
    }
}

/// The `neutron_tags.resource` of a revisioned object (ports keep their
/// tags in `interfaces.tags`, rules have none).
fn tag_resource(what: Revisioned) -> Result<&'static str> {
    match what {
        Revisioned::Network => Ok("network"),
        Revisioned::Subnet => Ok("subnet"),
        Revisioned::SecurityGroup => Ok("security_group"),
        Revisioned::FloatingIp => Ok("floatingip"),
        Revisioned::Trunk => Ok("trunk"),
        Revisioned::Port | Revisioned::SecurityGroupRule => {
            Err(Error::internal(format!("{what:?} has no neutron_tags")))
        }
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
        let resource = tag_resource(what)?;
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for chunk in ids.chunks(IN_CHUNK) {
            let marks: Vec<String> = (2..=chunk.len() + 1).map(|i| format!("${i}")).collect();
            let mut params = vec![Param::from(resource)];
            params.extend(chunk.iter().map(|i| Param::from(i.as_str())));
            let rows = self.exec.query(
                &format!(
                    "SELECT resource_id, tag FROM neutron_tags WHERE resource = $1 \
                     AND resource_id IN ({}) ORDER BY resource_id, tag",
                    marks.join(", ")
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
        let resource = tag_resource(what)?;
        self.exec.execute(
            "DELETE FROM neutron_tags WHERE resource = $1 AND resource_id = $2",
            args![resource, id],
        )?;
        for tag in tags {
            self.exec.execute(
                "INSERT INTO neutron_tags (resource, resource_id, tag) VALUES ($1, $2, $3)",
                args![resource, id, tag.as_str()],
            )?;
        }
        Ok(())
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
