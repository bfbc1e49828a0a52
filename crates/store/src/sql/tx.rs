//! [`Tx`] for both engines: the statements of every use case.

use super::rows::*;
use super::{args, to_json, ts, Exec, Lock, Param, Query, SortColumn, SqlTx};
use crate::tx::*;
use nicplane_domain::ids::*;
use nicplane_domain::ipam::{from_key, key, merge_capped, take_first_chunked, Range, CHUNK};
use nicplane_domain::model::*;
use nicplane_domain::query::SortField;
use nicplane_domain::quota::QuotaResource;
use nicplane_domain::types::*;
use nicplane_domain::{Error, Kind, Result};
use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::LazyLock;

/// How many times an allocation reads a free range again after a lock wait
/// ended on a range another allocation moved or deleted; each wait ends
/// with another allocation's commit, so this is never reached in practice.
const RANGE_LOCK_ATTEMPTS: usize = 32;

/// The answer when [`RANGE_LOCK_ATTEMPTS`] ran out.
fn busy() -> Error {
    Error::unavailable("The database is busy with concurrent changes; try again.")
}

/// An id (or any displayed value) as a text parameter.
fn id(v: &impl ToString) -> Param {
    Param::Text(v.to_string())
}

/// The columns an interface list can be sorted by.
fn iface_sort_column(f: SortField) -> Option<SortColumn> {
    let (expr, text) = match f {
        SortField::Id => ("{t}id", true),
        SortField::Name => ("{t}name", true),
        SortField::Description => ("{t}description", true),
        SortField::Status => ("{t}status", true),
        SortField::AdminStateUp => ("{t}admin_state_up", false),
        SortField::MacAddress => ("{t}mac_address", true),
        SortField::NetworkId => ("{t}network_id", true),
        SortField::DeviceId => ("COALESCE({t}vm_id, '')", true),
        SortField::DeviceOwner => ("{t}device_owner", true),
        SortField::ProjectId => ("{t}project_id", true),
        SortField::CreatedAt => ("{t}created_at", false),
        SortField::UpdatedAt => ("{t}updated_at", false),
    };
    Some(SortColumn { expr, text })
}

/// The columns a VM list can be sorted by.
fn vm_sort_column(f: SortField) -> Option<SortColumn> {
    let (expr, text) = match f {
        SortField::Id => ("{t}id", true),
        SortField::Name => ("{t}name", true),
        SortField::ProjectId => ("{t}project_id", true),
        SortField::CreatedAt => ("{t}created_at", false),
        SortField::UpdatedAt => ("{t}updated_at", false),
        _ => return None,
    };
    Some(SortColumn { expr, text })
}

impl<E: Exec> SqlTx<E> {
    /// Insert an interface row; with `if_mac_free`, `ON CONFLICT
    /// (mac_address) DO NOTHING`. The number of rows written.
    fn insert_interface_row(
        &mut self,
        i: &Interface,
        auto_delete: bool,
        if_mac_free: bool,
    ) -> Result<u64> {
        let conflict = if if_mac_free {
            " ON CONFLICT (mac_address) DO NOTHING"
        } else {
            ""
        };
        let inserted = self.exec.execute(
            &format!(
                "INSERT INTO interfaces ({IFACE_INSERT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, \
                 $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24){conflict}"
            ),
            args![
                i.id.to_string(),
                i.project_id.to_string(),
                i.network_id.to_string(),
                i.vm_id.map(|v| v.to_string()),
                &i.name,
                i.mac_address.to_string(),
                i.primary,
                i.status.as_str(),
                i.admin_state_up,
                &i.description,
                i.tag.as_ref(),
                to_json(&i.security_groups),
                i.port_security_enabled,
                to_json(&i.allowed_address_pairs),
                to_json(&i.tags),
                &i.device_owner,
                to_json(&i.fixed_ips),
                auto_delete,
                i.parent_id.map(|p| p.to_string()),
                i.vlan_id.map(|v| i64::from(v.get())),
                i.supplementary,
                ts(i.created_at),
                ts(i.updated_at),
                to_json(&i.extra_dhcp_opts),
            ],
        )?;
        if inserted == 1 && self.exec.interface_insert_charges() {
            self.port_charge(&i.project_id)?;
            if let Some(parent) = i.parent_id {
                self.exec.execute_later(
                    "UPDATE trunks SET revision_number = revision_number + 1 WHERE parent_id = $1",
                    args![parent.to_string()],
                )?;
            }
        }
        Ok(inserted)
    }

    /// Charge one port to `project`'s usage, refused past its limit (the
    /// project's own, else the default; a negative one is no limit) with the
    /// quota error: what SQLite's `quota_port_charge` trigger did before
    /// migration 0026, in the same transaction as the INSERT. The first
    /// statement finds the usage row and the room in one step; only a
    /// project's first port creates the row.
    fn port_charge(&mut self, project: &ProjectId) -> Result<()> {
        const CHARGE: &str = "UPDATE quota_usage SET in_use = in_use + 1 \
             WHERE project_id = $1 AND resource = 'port' \
               AND in_use < COALESCE((SELECT CASE WHEN lim < 0 THEN NULL ELSE lim END FROM \
                   (SELECT COALESCE( \
                       (SELECT hard_limit FROM quota_limits WHERE project_id = $1 AND resource = 'port'), \
                       (SELECT hard_limit FROM quota_defaults WHERE resource = 'port')) AS lim)), \
                   9223372036854775807)";
        let id = project.to_string();
        if self.exec.execute(CHARGE, args![id.clone()])? == 1 {
            return Ok(());
        }
        let created = self.exec.execute(
            "INSERT OR IGNORE INTO quota_usage (project_id, resource, in_use) VALUES ($1, 'port', 0)",
            args![id.clone()],
        )?;
        if created == 1 && self.exec.execute(CHARGE, args![id])? == 1 {
            return Ok(());
        }
        Err(nicplane_domain::rules::over_quota(QuotaResource::Port))
    }

    fn sg_with_rules(&mut self, mut sg: SecurityGroup) -> Result<SecurityGroup> {
        sg.rules = self.exec.query(
            &format!(
                "SELECT {RULE_COLS} FROM security_group_rules WHERE security_group_id = $1 \
                 ORDER BY created_at, id"
            ),
            args![sg.id.to_string()],
            rule_row,
        )?;
        Ok(sg)
    }

    /// The interface's rows in `interface_security_groups` as its
    /// `security_groups` say; `fresh`: the interface was just inserted, so it
    /// has none to delete (one statement less per attach).
    fn sync_interface_groups(&mut self, i: &Interface, fresh: bool) -> Result<()> {
        let iid = i.id.to_string();
        if !fresh {
            self.run(
                "DELETE FROM interface_security_groups WHERE interface_id = $1",
                args![&iid],
            )?;
        }
        for sg in &i.security_groups {
            self.run(
                "INSERT INTO interface_security_groups (interface_id, security_group_id) \
                 VALUES ($1, $2) ON CONFLICT DO NOTHING",
                args![&iid, sg.to_string()],
            )?;
        }
        Ok(())
    }

    /// The statement and parameters of a read a use case names ahead: the
    /// same text its method runs, so the read sent ahead answers that call.
    fn ahead_sql(&self, read: &ReadAhead) -> (Cow<'static, str>, Vec<Param>) {
        let locked = self.exec.row_locks();
        match read {
            ReadAhead::Vm(id) => (
                format!(
                    "SELECT {VM_COLS} FROM vms WHERE id = $1{}",
                    self.exec.for_update(None)
                )
                .into(),
                vec![id.to_string().into()],
            ),
            ReadAhead::Network(id) => (
                format!("SELECT {NETWORK_COLS} FROM networks WHERE id = $1").into(),
                vec![id.to_string().into()],
            ),
            ReadAhead::DefaultGroup(project) => (
                "SELECT id FROM security_groups WHERE project_id = $1 AND is_default".into(),
                vec![project.to_string().into()],
            ),
            ReadAhead::SubnetsOf(network) => (
                format!(
                    "{SUBNET_SQL} WHERE s.network_id = $1 ORDER BY s.ip_version, s.position, s.id"
                )
                .into(),
                vec![network.to_string().into()],
            ),
            ReadAhead::Interface(id) => {
                (interface_by_id(locked).into(), vec![id.to_string().into()])
            }
            ReadAhead::InterfaceAutoDelete(id) => (
                "SELECT auto_delete, \
                 (SELECT COUNT(*) FROM interfaces c WHERE c.parent_id = $1) \
                 FROM interfaces WHERE id = $1"
                    .into(),
                vec![id.to_string().into()],
            ),
            ReadAhead::PublicIpOf(iface) => (
                format!(
                    "{PUBLIC_IP_SQL} WHERE p.interface_id = $1{}",
                    self.exec.for_update(Some("p"))
                )
                .into(),
                vec![iface.to_string().into()],
            ),
        }
    }

    /// The `WHERE` of the interface list and count, from the filter.
    fn iface_where(&self, f: &InterfaceFilter, q: &mut Query) {
        q.sql.push_str(" WHERE TRUE");
        q.and_opt("i.project_id = {}", f.project_id.as_ref().map(id));
        match &f.vm_id {
            Some(Some(v)) => q.and("i.vm_id = {}", v.to_string()),
            Some(None) => q.sql.push_str(" AND i.vm_id IS NULL"),
            None => {}
        }
        match f.attached {
            Some(true) => q.sql.push_str(" AND i.vm_id IS NOT NULL"),
            Some(false) => q.sql.push_str(" AND i.vm_id IS NULL"),
            None => {}
        }
        let name = format!("{} = {{}}", self.exec.fold_ascii("i.name"));
        q.and_opt(
            &name,
            f.name_ignore_case.as_ref().map(|n| n.to_ascii_lowercase()),
        );
        q.and_opt(
            &format!("{IFACE_STATUS_EXPR} = {{}}"),
            f.status.map(|s| s.as_str().to_string()),
        );
        let owner = format!("{} = {{}}", self.exec.fold_ascii("i.device_owner"));
        q.and_opt(
            &owner,
            f.device_owner_ignore_case
                .as_ref()
                .map(|o| o.to_ascii_lowercase()),
        );
        q.and_opt("i.network_id = {}", f.network_id.as_ref().map(id));
        q.and_opt(
            "EXISTS (SELECT 1 FROM vms v WHERE v.id = i.vm_id AND v.project_id = {})",
            f.vm_in_project.as_ref().map(id),
        );
        q.and_opt("i.parent_id = {}", f.parent_id.as_ref().map(id));
        q.and_opt("i.supplementary = {}", f.supplementary);
        q.and_opt("i.mac_address = {}", f.mac_address.as_ref().map(id));
        q.and_opt(
            "i.id IN (SELECT interface_id FROM ip_allocations WHERE address = {})",
            f.ip_address.as_ref().map(id),
        );
        if let Some(ids) = &f.ids {
            q.and_in("i.id", ids.iter().map(|i| Param::Text(i.to_string())));
        }
    }

    /// The free ranges that end just below `offset` (left) and start just
    /// above it (right), in one read, each locked unless another allocation
    /// holds it (then none: it is not merged into). A missing neighbour
    /// offset (0 or `u64::MAX`) is NULL, which matches no row.
    fn free_neighbours(
        &mut self,
        sid: &str,
        offset: u64,
    ) -> Result<(Option<Range>, Option<Range>)> {
        let below = offset.checked_sub(1).map(key);
        let above = offset.checked_add(1).map(key);
        let lock = self.exec.for_update_skip_locked();
        let ranges = self.exec.query(
            &format!(
                "SELECT start_key, end_key FROM ip_free_ranges \
                 WHERE subnet_id = $1 AND (end_key = $2 OR start_key = $3){lock}"
            ),
            args![sid, below, above],
            range_row,
        )?;
        // Free ranges are disjoint and the offset was allocated, so at most
        // one range ends at `offset - 1` and at most one starts at `offset + 1`.
        let left = ranges.iter().copied().find(|r| r.end < offset);
        let right = ranges.iter().copied().find(|r| r.start > offset);
        Ok((left, right))
    }

    /// Move a free range's end (its row keeps its lock).
    fn extend_free_range(&mut self, sid: &str, start: u64, end: u64) -> Result<()> {
        self.run(
            "UPDATE ip_free_ranges SET end_key = $3 WHERE subnet_id = $1 AND start_key = $2",
            args![sid, key(start), key(end)],
        )
    }

    /// The first free range of a subnet, locked for this transaction (read
    /// `ip_take_next`); none when the subnet has no free address.
    fn lock_free_head(&mut self, subnet: SubnetId) -> Result<Option<Range>> {
        self.lock(Lock::SubnetAllocate(subnet))?;
        let sid = subnet.to_string();
        let head = "SELECT start_key, end_key FROM ip_free_ranges WHERE subnet_id = $1 \
                    ORDER BY start_key LIMIT 1";
        let skip = self.exec.for_update_skip_locked();
        let first = self
            .exec
            .query_opt(&format!("{head}{skip}"), args![&sid], range_row)?;
        if first.is_some() || skip.is_empty() {
            return Ok(first);
        }
        // Every free range is held by another allocation (or there is none):
        // wait for the first one's holder; a wait that ends on a range gone
        // finds none, so look again, a bounded number of times.
        let lock = self.exec.for_update(None);
        for _ in 0..RANGE_LOCK_ATTEMPTS {
            let waited = self
                .exec
                .query_opt(&format!("{head}{lock}"), args![&sid], range_row)?;
            if waited.is_some() {
                return Ok(waited);
            }
            if self.exec.query_opt(head, args![&sid], range_row)?.is_none() {
                return Ok(None);
            }
        }
        Err(busy())
    }

    /// Move a free range's start (its row keeps its lock).
    fn move_free_range(&mut self, sid: &str, from: u64, to: u64) -> Result<()> {
        self.run(
            "UPDATE ip_free_ranges SET start_key = $3 WHERE subnet_id = $1 AND start_key = $2",
            args![sid, key(from), key(to)],
        )
    }

    fn insert_free_range(&mut self, sid: &str, r: Range) -> Result<()> {
        self.run(
            "INSERT INTO ip_free_ranges (subnet_id, start_key, end_key) VALUES ($1, $2, $3)",
            args![sid, key(r.start), key(r.end)],
        )
    }

    fn delete_free_range(&mut self, sid: &str, start: u64) -> Result<()> {
        self.run(
            "DELETE FROM ip_free_ranges WHERE subnet_id = $1 AND start_key = $2",
            args![sid, key(start)],
        )
    }

    /// Count addresses taken from (or given back to) a subnet's pools, in a
    /// shard of `subnet_use_shards` (`migrations/postgres/0016_subnet_use.sql`):
    /// on PostgreSQL the connection's own, so allocations do not queue on the
    /// subnet's row; on SQLite shard 0. A subnet's use is `subnets.pool_used`
    /// (set when its pools change) plus its shards, on both engines.
    ///
    /// SQLite counted in `subnets.pool_used` until session 15: that `UPDATE`
    /// ran the `subnets_revision` trigger's program for every address and,
    /// the trigger being able to abort, a statement journal; the shard's
    /// upsert touches a table without triggers (about 3 µs less on the writer
    /// per allocation and per release, measured on SQLite 3.40).
    fn bump_pool_used(&mut self, sid: &str, delta: i64) -> Result<()> {
        let shard = self.exec.counter_shard();
        self.run(
            &format!(
                "INSERT INTO subnet_use_shards AS u (subnet_id, shard, used) VALUES ($1, {shard}, $2) \
                 ON CONFLICT (subnet_id, shard) DO UPDATE SET used = u.used + $2"
            ),
            args![sid, delta],
        )
    }

    fn pool_count_down(&mut self, pid: &str) -> Result<()> {
        self.run(
            "UPDATE public_ip_pools SET free_count = free_count - 1 WHERE id = $1",
            args![pid],
        )
    }
}

/// `SELECT … FROM interfaces … WHERE i.id = $1`, locking the row when
/// `locked`. Built once: the statement is long and every read of one
/// interface runs it (formatting it per call was ~3 % of a read's CPU).
fn interface_by_id(locked: bool) -> &'static str {
    static BY_ID: LazyLock<String> = LazyLock::new(|| format!("{IFACE_SQL} WHERE i.id = $1"));
    static BY_ID_LOCKED: LazyLock<String> =
        LazyLock::new(|| format!("{IFACE_SQL} WHERE i.id = $1 FOR UPDATE OF i"));
    if locked {
        &BY_ID_LOCKED
    } else {
        &BY_ID
    }
}

impl<E: Exec> Tx for SqlTx<E> {
    fn ping(&mut self) -> Result<()> {
        self.exec.query_one("SELECT 1", args![], |r| r.int(0))?;
        Ok(())
    }

    fn read_ahead(&mut self, reads: &[ReadAhead]) -> Result<()> {
        if !self.exec.reads_ahead() {
            return Ok(());
        }
        let reads: Vec<(String, Vec<Param>)> = reads
            .iter()
            .map(|r| {
                let (sql, params) = self.ahead_sql(r);
                (sql.into_owned(), params)
            })
            .collect();
        self.exec.read_ahead(&reads)
    }

    /// ```sql
    /// INSERT INTO sequences (name, value) VALUES ($1, 0)
    ///   ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1 RETURNING value;
    /// ```
    /// On PostgreSQL the upsert locks the counter's row until the transaction
    /// ends, so two transactions never see the same value.
    fn next_sequence(&mut self, name: &str) -> Result<u64> {
        let v = self.exec.query_one(
            "INSERT INTO sequences (name, value) VALUES ($1, 0) \
             ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1 RETURNING value",
            args![name],
            |r| r.int(0),
        )?;
        Ok(v.max(0) as u64)
    }

    // ----- data centers ---------------------------------------------------

    fn data_center_insert(&mut self, dc: &DataCenter) -> Result<()> {
        self.run(
            "INSERT INTO data_centers (id, name, created_at) VALUES ($1, $2, $3)",
            args![dc.id.to_string(), &dc.name, ts(dc.created_at)],
        )
    }
    fn data_center_get(&mut self, id: DataCenterId) -> Result<Option<DataCenter>> {
        self.exec.query_opt(
            &format!("SELECT {DC_COLS} FROM data_centers WHERE id = $1"),
            args![id.to_string()],
            dc_row,
        )
    }
    fn data_center_by_name(&mut self, name: &str) -> Result<Option<DataCenter>> {
        self.exec.query_opt(
            &format!("SELECT {DC_COLS} FROM data_centers WHERE name = $1"),
            args![name],
            dc_row,
        )
    }
    fn data_center_list(&mut self) -> Result<Vec<DataCenter>> {
        self.exec.query(
            &format!("SELECT {DC_COLS} FROM data_centers ORDER BY name"),
            args![],
            dc_row,
        )
    }

    // ----- projects, users ------------------------------------------------

    fn project_insert(&mut self, p: &Project) -> Result<()> {
        self.run(
            "INSERT INTO projects (id, name, description, created_at) VALUES ($1, $2, $3, $4)",
            args![p.id.to_string(), &p.name, &p.description, ts(p.created_at)],
        )
    }
    fn project_get(&mut self, id: &ProjectId) -> Result<Option<Project>> {
        self.exec.query_opt(
            &format!("SELECT {PROJECT_COLS} FROM projects WHERE id = $1"),
            args![id.to_string()],
            project_row,
        )
    }
    fn project_by_name(&mut self, name: &str) -> Result<Option<Project>> {
        self.exec.query_opt(
            &format!("SELECT {PROJECT_COLS} FROM projects WHERE name = $1"),
            args![name],
            project_row,
        )
    }
    fn project_list(&mut self) -> Result<Vec<Project>> {
        self.exec.query(
            &format!("SELECT {PROJECT_COLS} FROM projects ORDER BY name"),
            args![],
            project_row,
        )
    }
    fn user_insert(&mut self, u: &User, password_hash: &str) -> Result<()> {
        self.run(
            "INSERT INTO users (id, name, password_hash, is_cloud_admin, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
            args![
                u.id.to_string(),
                &u.name,
                password_hash,
                u.is_cloud_admin,
                ts(u.created_at)
            ],
        )
    }
    fn user_get(&mut self, id: UserId) -> Result<Option<User>> {
        self.exec.query_opt(
            &format!("SELECT {USER_COLS} FROM users WHERE id = $1"),
            args![id.to_string()],
            user_row,
        )
    }
    fn user_by_name(&mut self, name: &str) -> Result<Option<UserSecret>> {
        self.exec.query_opt(
            &format!("SELECT {USER_COLS} FROM users WHERE name = $1"),
            args![name],
            |r| {
                Ok(UserSecret {
                    user: user_row(r)?,
                    password_hash: r.string(4)?,
                })
            },
        )
    }
    fn user_list(&mut self) -> Result<Vec<User>> {
        self.exec.query(
            &format!("SELECT {USER_COLS} FROM users ORDER BY name"),
            args![],
            user_row,
        )
    }
    fn user_set_password(&mut self, id: UserId, password_hash: &str) -> Result<()> {
        self.run(
            "UPDATE users SET password_hash = $2 WHERE id = $1",
            args![id.to_string(), password_hash],
        )
    }
    fn membership_set(&mut self, user: UserId, project: &ProjectId, role: Role) -> Result<()> {
        self.run(
            "INSERT INTO memberships (user_id, project_id, role) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, project_id) DO UPDATE SET role = excluded.role",
            args![user.to_string(), project.to_string(), role.as_str()],
        )
    }
    fn membership_delete(&mut self, user: UserId, project: &ProjectId) -> Result<bool> {
        let n = self.exec.execute(
            "DELETE FROM memberships WHERE user_id = $1 AND project_id = $2",
            args![user.to_string(), project.to_string()],
        )?;
        Ok(n > 0)
    }
    fn membership_role(&mut self, user: UserId, project: &ProjectId) -> Result<Option<Role>> {
        if let Some(role) = self
            .exec
            .role_cache()
            .and_then(|(cache, _)| cache.get(user, project))
        {
            return Ok(Some(role));
        }
        let role = self.exec.query_opt(
            "SELECT role FROM memberships WHERE user_id = $1 AND project_id = $2",
            args![user.to_string(), project.to_string()],
            |r| r.parse(0, "role"),
        )?;
        if let (Some((cache, began)), Some(role)) = (self.exec.role_cache(), role) {
            // Remembered at the epoch the transaction began with: its
            // snapshot may be older than this statement.
            cache.put(user, project, role, began);
        }
        Ok(role)
    }
    fn memberships_of_user(&mut self, user: UserId) -> Result<Vec<Membership>> {
        self.exec.query(
            &format!("{MEMBERSHIP_SQL} WHERE m.user_id = $1 ORDER BY p.name"),
            args![user.to_string()],
            membership_row,
        )
    }
    fn memberships_of_project(&mut self, project: &ProjectId) -> Result<Vec<Membership>> {
        self.exec.query(
            &format!("{MEMBERSHIP_SQL} WHERE m.project_id = $1 ORDER BY u.name"),
            args![project.to_string()],
            membership_row,
        )
    }
    fn token_insert(
        &mut self,
        hash: &str,
        user: UserId,
        project: Option<&ProjectId>,
        expires_at: i64,
    ) -> Result<()> {
        let now = self.now();
        self.run(
            "INSERT INTO tokens (token_hash, user_id, project_id, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
            args![
                hash,
                user.to_string(),
                project.map(|p| p.to_string()),
                expires_at,
                now
            ],
        )
    }
    fn token_lookup(&mut self, hash: &str) -> Result<Option<(UserId, Option<ProjectId>, i64)>> {
        self.exec.query_opt(
            "SELECT user_id, project_id, expires_at FROM tokens WHERE token_hash = $1",
            args![hash],
            |r| Ok((r.parse(0, "id")?, r.opt_parse(1, "project")?, r.int(2)?)),
        )
    }
    fn token_delete(&mut self, hash: &str) -> Result<()> {
        self.run("DELETE FROM tokens WHERE token_hash = $1", args![hash])
    }

    fn idempotency_get(&mut self, user: UserId, key: &str) -> Result<Option<(String, String)>> {
        self.exec.query_opt(
            "SELECT fingerprint, response FROM idempotency_keys WHERE user_id = $1 AND key = $2",
            args![user.to_string(), key],
            |r| Ok((r.string(0)?, r.string(1)?)),
        )
    }
    fn idempotency_put(
        &mut self,
        user: UserId,
        key: &str,
        fingerprint: &str,
        response: &str,
    ) -> Result<()> {
        let now = self.now();
        self.run(
            "INSERT INTO idempotency_keys (user_id, key, fingerprint, response, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
            args![user.to_string(), key, fingerprint, response, now],
        )
    }

    // ----- security groups ------------------------------------------------

    fn security_group_insert(&mut self, sg: &SecurityGroup) -> Result<()> {
        self.exec.execute(
            "INSERT INTO security_groups (id, project_id, name, description, is_default, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            args![
                sg.id.to_string(),
                sg.project_id.to_string(),
                &sg.name,
                &sg.description,
                sg.is_default,
                ts(sg.created_at),
            ],
        )?;
        for rule in &sg.rules {
            self.security_group_rule_insert(rule)?;
        }
        Ok(())
    }
    fn security_group_get(&mut self, id: SecurityGroupId) -> Result<Option<SecurityGroup>> {
        match self.exec.query_opt(
            &format!("SELECT {SG_COLS} FROM security_groups WHERE id = $1"),
            args![id.to_string()],
            sg_row,
        )? {
            Some(sg) => self.sg_with_rules(sg).map(Some),
            None => Ok(None),
        }
    }
    fn security_group_list(&mut self, project: &ProjectId) -> Result<Vec<SecurityGroup>> {
        let groups = self.exec.query(
            &format!(
                "SELECT {SG_COLS} FROM security_groups WHERE project_id = $1 \
                 ORDER BY is_default DESC, name, id"
            ),
            args![project.to_string()],
            sg_row,
        )?;
        groups.into_iter().map(|g| self.sg_with_rules(g)).collect()
    }
    fn security_group_default(&mut self, project: &ProjectId) -> Result<Option<SecurityGroup>> {
        match self.exec.query_opt(
            &format!("SELECT {SG_COLS} FROM security_groups WHERE project_id = $1 AND is_default"),
            args![project.to_string()],
            sg_row,
        )? {
            Some(sg) => self.sg_with_rules(sg).map(Some),
            None => Ok(None),
        }
    }
    fn security_group_default_id(
        &mut self,
        project: &ProjectId,
    ) -> Result<Option<SecurityGroupId>> {
        let (sql, params) = self.ahead_sql(&ReadAhead::DefaultGroup(project.clone()));
        self.exec.query_opt(&sql, &params, |r| r.parse(0, "id"))
    }
    fn security_group_update(&mut self, sg: &SecurityGroup) -> Result<()> {
        self.run(
            "UPDATE security_groups SET name = $2, description = $3 WHERE id = $1",
            args![sg.id.to_string(), &sg.name, &sg.description],
        )
    }
    fn security_group_delete(&mut self, id: SecurityGroupId) -> Result<()> {
        self.delete("security_groups", id.to_string()).map(drop)
    }
    fn security_group_in_use(&mut self, id: SecurityGroupId) -> Result<bool> {
        Ok(self
            .exec
            .query_opt(
                "SELECT 1 FROM interface_security_groups WHERE security_group_id = $1 LIMIT 1",
                args![id.to_string()],
                |_| Ok(()),
            )?
            .is_some())
    }
    fn security_group_rule_insert(&mut self, rule: &SecurityGroupRule) -> Result<()> {
        let now = self.now();
        self.run(
            "INSERT INTO security_group_rules (id, security_group_id, direction, ethertype, protocol, \
             port_range_min, port_range_max, remote_ip_prefix, remote_group_id, description, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            args![
                rule.id.to_string(),
                rule.security_group_id.to_string(),
                &rule.direction,
                &rule.ethertype,
                rule.protocol.as_ref(),
                rule.port_range_min.map(i64::from),
                rule.port_range_max.map(i64::from),
                rule.remote_ip_prefix.as_ref(),
                rule.remote_group_id.map(|g| g.to_string()),
                &rule.description,
                now,
            ],
        )
    }
    fn security_group_rule_get(
        &mut self,
        id: SecurityGroupRuleId,
    ) -> Result<Option<SecurityGroupRule>> {
        self.exec.query_opt(
            &format!("SELECT {RULE_COLS} FROM security_group_rules WHERE id = $1"),
            args![id.to_string()],
            rule_row,
        )
    }
    fn security_group_rule_delete(&mut self, id: SecurityGroupRuleId) -> Result<()> {
        self.delete("security_group_rules", id.to_string())
            .map(drop)
    }

    // ----- networks and subnets -------------------------------------------

    fn network_insert(&mut self, n: &Network) -> Result<()> {
        self.run(
            "INSERT INTO networks (id, project_id, data_center_id, name, description, kind, shared, \
             is_default, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            args![
                n.id.to_string(),
                n.project_id.as_ref().map(|p| p.to_string()),
                n.data_center_id.to_string(),
                &n.name,
                &n.description,
                n.kind.as_str(),
                n.shared,
                n.is_default,
                ts(n.created_at),
                ts(n.updated_at),
            ],
        )
    }
    fn network_get(&mut self, id: NetworkId) -> Result<Option<Network>> {
        let (sql, params) = self.ahead_sql(&ReadAhead::Network(id));
        self.exec.query_opt(&sql, &params, network_row)
    }
    fn network_update(&mut self, n: &Network) -> Result<()> {
        self.run(
            "UPDATE networks SET name = $2, description = $3, shared = $4, updated_at = $5, \
             kind = $6 WHERE id = $1",
            args![
                n.id.to_string(),
                &n.name,
                &n.description,
                n.shared,
                ts(n.updated_at),
                n.kind.as_str(),
            ],
        )
    }
    fn network_delete(&mut self, id: NetworkId) -> Result<()> {
        self.delete("networks", id.to_string()).map(drop)
    }
    fn network_list(&mut self, f: &NetworkFilter, page: &PageRequest) -> Result<Vec<Network>> {
        let mut q = Query::new(format!("SELECT {NETWORK_COLS} FROM networks WHERE TRUE"));
        q.and_opt("(project_id = {} OR shared)", f.visible_to.as_ref().map(id));
        q.and_opt("data_center_id = {}", f.data_center_id.as_ref().map(id));
        q.and_opt("kind = {}", f.kind.map(|k| k.as_str()));
        q.and_opt("name = {}", f.name.as_ref());
        q.paginate("id", page);
        self.exec.query(&q.sql, &q.args, network_row)
    }
    fn network_default(
        &mut self,
        project: &ProjectId,
        dc: DataCenterId,
    ) -> Result<Option<Network>> {
        self.exec.query_opt(
            &format!(
                "SELECT {NETWORK_COLS} FROM networks \
                 WHERE project_id = $1 AND data_center_id = $2 AND is_default"
            ),
            args![project.to_string(), dc.to_string()],
            network_row,
        )
    }
    fn network_interface_count(&mut self, id: NetworkId) -> Result<u64> {
        self.count(
            "SELECT COUNT(*) FROM interfaces WHERE network_id = $1",
            args![id.to_string()],
        )
    }
    /// Numbers the subnet in creation order (`sequences` row `subnets`).
    fn subnet_insert(&mut self, s: &Subnet, pools: &[Range], pool_size: u128) -> Result<()> {
        let sid = s.id.to_string();
        let position = self.next_sequence("subnets")? as i64;
        self.exec.execute(
            "INSERT INTO subnets (id, network_id, name, ip_version, cidr, gateway_ip, allocation_pools, \
             pool_size, pool_used, created_at, description, enable_dhcp, dns_nameservers, host_routes, \
             ipv6_ra_mode, ipv6_address_mode, updated_at, position) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
            args![
                &sid,
                s.network_id.to_string(),
                &s.name,
                i64::from(s.ip_version),
                s.cidr.to_string(),
                s.gateway_ip.map(|g| g.to_string()),
                to_json(&s.allocation_pools),
                pool_size.to_string(),
                ts(s.created_at),
                &s.description,
                s.enable_dhcp,
                to_json(&s.dns_nameservers),
                to_json(&s.host_routes),
                s.ipv6_ra_mode.map(|m| m.as_str().to_string()),
                s.ipv6_address_mode.map(|m| m.as_str().to_string()),
                ts(s.updated_at),
                position,
            ],
        )?;
        for r in pools {
            self.insert_free_range(&sid, *r)?;
        }
        Ok(())
    }
    fn subnet_update(&mut self, s: &Subnet) -> Result<()> {
        self.run(
            "UPDATE subnets SET name = $2, description = $3, gateway_ip = $4, enable_dhcp = $5, \
             dns_nameservers = $6, host_routes = $7, updated_at = $8, allocation_pools = $9 WHERE id = $1",
            args![
                s.id.to_string(),
                &s.name,
                &s.description,
                s.gateway_ip.map(|g| g.to_string()),
                s.enable_dhcp,
                to_json(&s.dns_nameservers),
                to_json(&s.host_routes),
                ts(s.updated_at),
                to_json(&s.allocation_pools),
            ],
        )
    }
    /// Replaces the pools: the free ranges, the pool size and use, and which
    /// allocations count as inside the pools (the pools a subnet shows are
    /// written by `subnet_update`, so an update bumps the revision once).
    fn subnet_set_pools(
        &mut self,
        id: SubnetId,
        free: &[Range],
        pool_size: u128,
        in_pool: &[(u64, bool)],
    ) -> Result<()> {
        self.lock(Lock::Subnet(id))?;
        let sid = id.to_string();
        self.run(
            "DELETE FROM ip_free_ranges WHERE subnet_id = $1",
            args![&sid],
        )?;
        for r in free {
            self.insert_free_range(&sid, *r)?;
        }
        for (offset, inside) in in_pool {
            self.run(
                "UPDATE ip_allocations SET in_pool = $3 WHERE subnet_id = $1 AND offset_key = $2",
                args![&sid, key(*offset), *inside],
            )?;
        }
        let used = in_pool.iter().filter(|(_, inside)| *inside).count() as i64;
        self.run(
            "DELETE FROM subnet_use_shards WHERE subnet_id = $1",
            args![&sid],
        )?;
        self.run(
            "UPDATE subnets SET pool_size = $2, pool_used = $3 WHERE id = $1",
            args![&sid, pool_size.to_string(), used],
        )
    }
    /// The offsets allocated in a subnet, with whether each is inside its pools.
    fn subnet_allocations(&mut self, id: SubnetId) -> Result<Vec<(u64, bool)>> {
        self.exec.query(
            "SELECT offset_key, in_pool FROM ip_allocations WHERE subnet_id = $1 ORDER BY offset_key",
            args![id.to_string()],
            |r| Ok((from_key(r.int(0)?), r.bool(1)?)),
        )
    }
    fn subnet_allocation_interfaces(&mut self, id: SubnetId) -> Result<Vec<InterfaceId>> {
        self.exec.query(
            "SELECT DISTINCT interface_id FROM ip_allocations WHERE subnet_id = $1 ORDER BY interface_id",
            args![id.to_string()],
            |r| r.parse(0, "id"),
        )
    }
    /// Whether an offset of a subnet is allocated to an interface.
    fn ip_allocated(&mut self, subnet: SubnetId, offset: u64) -> Result<bool> {
        Ok(self
            .exec
            .query_opt(
                "SELECT 1 FROM ip_allocations WHERE subnet_id = $1 AND offset_key = $2",
                args![subnet.to_string(), key(offset)],
                |_| Ok(()),
            )?
            .is_some())
    }
    /// Locks a network row (PostgreSQL) so its subnets change one at a time.
    fn network_lock(&mut self, id: NetworkId) -> Result<()> {
        if !self.exec.row_locks() {
            return Ok(());
        }
        let lock = self.exec.for_update(None);
        self.run(
            &format!("SELECT 1 FROM networks WHERE id = $1{lock}"),
            args![id.to_string()],
        )
    }
    fn subnet_get(&mut self, id: SubnetId) -> Result<Option<Subnet>> {
        self.exec.query_opt(
            &format!("{SUBNET_SQL} WHERE s.id = $1"),
            args![id.to_string()],
            subnet_row,
        )
    }
    fn subnet_cidr(&mut self, id: SubnetId) -> Result<Option<ipnet::IpNet>> {
        self.exec.query_opt(
            "SELECT cidr FROM subnets WHERE id = $1",
            args![id.to_string()],
            |r| r.parse(0, "cidr"),
        )
    }
    fn subnet_page(&mut self, page: &PageRequest) -> Result<Vec<Subnet>> {
        let mut q = Query::new(format!("{SUBNET_SQL} WHERE TRUE"));
        q.paginate("s.id", page);
        self.exec.query(&q.sql, &q.args, subnet_row)
    }
    fn subnets_of_network(&mut self, network: NetworkId) -> Result<Vec<Subnet>> {
        let (sql, params) = self.ahead_sql(&ReadAhead::SubnetsOf(network));
        self.exec.query(&sql, &params, subnet_row)
    }
    fn subnet_delete(&mut self, id: SubnetId) -> Result<()> {
        self.lock(Lock::Subnet(id))?;
        let sid = id.to_string();
        self.exec.execute(
            "DELETE FROM ip_free_ranges WHERE subnet_id = $1",
            args![&sid],
        )?;
        self.exec.execute(
            "DELETE FROM subnet_use_shards WHERE subnet_id = $1",
            args![&sid],
        )?;
        self.delete("subnets", sid).map(drop)
    }
    fn subnet_allocation_count(&mut self, id: SubnetId) -> Result<u64> {
        self.count(
            "SELECT COUNT(*) FROM ip_allocations WHERE subnet_id = $1",
            args![id.to_string()],
        )
    }

    // ----- IPAM -------------------------------------------------------------

    /// One writer (SQLite), under the writer's exclusive transaction:
    /// ```sql
    /// SELECT start_key, end_key FROM ip_free_ranges WHERE subnet_id = $1
    ///   ORDER BY start_key LIMIT 1;                      -- primary key (subnet_id, start_key)
    /// UPDATE ip_free_ranges SET start_key = $3 WHERE subnet_id = $1 AND start_key = $2;  -- or DELETE
    /// UPDATE subnets SET pool_used = pool_used + 1 WHERE id = $1;
    /// ```
    /// Many writers (PostgreSQL): no row every allocation in the subnet
    /// waits for. The subnet row is only share-locked (it keeps out a change
    /// of the pools), the range is the first one nobody else holds, a long
    /// range gives up its first chunk (`ipam::take_first_chunked`), and the
    /// use is counted in the connection's shard:
    /// ```sql
    /// SELECT 1 FROM subnets WHERE id = $1 FOR KEY SHARE;
    /// SELECT start_key, end_key FROM ip_free_ranges WHERE subnet_id = $1
    ///   ORDER BY start_key LIMIT 1 FOR UPDATE SKIP LOCKED;
    /// -- all held: wait for the first (FOR UPDATE), or none at all: exhausted
    /// UPDATE ip_free_ranges SET start_key = $3 …;  INSERT INTO ip_free_ranges …;  -- the chunk
    /// INSERT INTO subnet_use_shards … ON CONFLICT (subnet_id, shard) DO UPDATE …;
    /// ```
    fn ip_take_next(&mut self, subnet: SubnetId) -> Result<Option<u64>> {
        let Some(range) = self.lock_free_head(subnet)? else {
            return Ok(None);
        };
        let sid = subnet.to_string();
        let chunk = if self.exec.row_locks() {
            CHUNK
        } else {
            u64::MAX
        };
        let (offset, head, tail) = take_first_chunked(range, chunk);
        match (head, tail) {
            (None, _) => self.delete_free_range(&sid, range.start)?,
            (Some(h), None) => self.move_free_range(&sid, range.start, h.start)?,
            (Some(h), Some(t)) => {
                self.move_free_range(&sid, range.start, t.start)?;
                self.insert_free_range(&sid, h)?;
            }
        }
        self.bump_pool_used(&sid, 1)?;
        Ok(Some(offset))
    }

    /// One writer: the first free range and its neighbours are read without
    /// locks. Many writers: the covering range is locked (waiting for its
    /// holder); when the wait ends with the range gone or moved, the read
    /// runs again (a bounded number of times), so an address still in a free
    /// range is never recorded as outside the pools.
    /// ```sql
    /// SELECT 1 FROM subnets WHERE id = $1 FOR KEY SHARE;   -- PostgreSQL
    /// SELECT 1 FROM ip_allocations WHERE subnet_id = $1 AND offset_key = $2;
    /// SELECT start_key, end_key FROM ip_free_ranges
    ///   WHERE subnet_id = $1 AND start_key <= $2 ORDER BY start_key DESC LIMIT 1 FOR UPDATE;
    /// ```
    /// then split that range around the offset.
    fn ip_take(&mut self, subnet: SubnetId, offset: u64) -> Result<Claim> {
        self.lock(Lock::SubnetAllocate(subnet))?;
        let sid = subnet.to_string();
        let k = key(offset);
        let taken = self
            .exec
            .query_opt(
                "SELECT 1 FROM ip_allocations WHERE subnet_id = $1 AND offset_key = $2",
                args![&sid, k],
                |_| Ok(()),
            )?
            .is_some();
        if taken {
            return Ok(Claim::InUse);
        }
        let cover_sql = "SELECT start_key, end_key FROM ip_free_ranges WHERE subnet_id = $1 \
                         AND start_key <= $2 ORDER BY start_key DESC LIMIT 1";
        let lock = self.exec.for_update(None);
        let mut attempts = 0;
        let range = loop {
            let cover = self
                .exec
                .query_opt(&format!("{cover_sql}{lock}"), args![&sid, k], range_row)?
                .filter(|r| r.end >= offset);
            if cover.is_some() || lock.is_empty() {
                break cover;
            }
            // The lock wait may have ended on a range that moved or went:
            // is the offset in a free range now (a fresh read)?
            let now = self
                .exec
                .query_opt(cover_sql, args![&sid, k], range_row)?
                .filter(|r| r.end >= offset);
            attempts += 1;
            if now.is_none() {
                break None;
            }
            if attempts >= RANGE_LOCK_ATTEMPTS {
                return Err(busy());
            }
        };
        let Some(range) = range else {
            return Ok(Claim::Claimed { in_pool: false });
        };
        let (below, above) = range.carve(offset);
        self.delete_free_range(&sid, range.start)?;
        for r in below.into_iter().chain(above) {
            self.insert_free_range(&sid, r)?;
        }
        self.bump_pool_used(&sid, 1)?;
        Ok(Claim::Claimed { in_pool: true })
    }

    fn ip_record(
        &mut self,
        subnet: SubnetId,
        offset: u64,
        address: IpAddr,
        interface: InterfaceId,
        in_pool: bool,
    ) -> Result<()> {
        self.run(
            "INSERT INTO ip_allocations (subnet_id, offset_key, address, interface_id, in_pool) \
             VALUES ($1, $2, $3, $4, $5)",
            args![
                subnet.to_string(),
                key(offset),
                address.to_string(),
                interface.to_string(),
                in_pool,
            ],
        )
    }

    /// Deletes the allocation and merges the offset back into the free ranges:
    /// ```sql
    /// SELECT 1 FROM subnets WHERE id = $1 FOR KEY SHARE;   -- PostgreSQL
    /// DELETE FROM ip_allocations WHERE subnet_id = $1 AND offset_key = $2 RETURNING in_pool;
    /// SELECT start_key, end_key FROM ip_free_ranges
    ///   WHERE subnet_id = $1 AND (end_key = $2 - 1 OR start_key = $2 + 1)
    ///   FOR UPDATE SKIP LOCKED;   -- PostgreSQL: a neighbour another allocation holds stays apart
    /// -- then one of: UPDATE … SET end_key (merged with the left neighbour);
    /// -- UPDATE … SET start_key (the right one); DELETE the right + UPDATE the
    /// -- left's end_key (both); INSERT (neither)
    /// ```
    /// With many writers the merged range stays within `ipam::CHUNK`
    /// (`ipam::merge_capped`); one writer merges whole neighbours.
    fn ip_release(&mut self, subnet: SubnetId, offset: u64) -> Result<()> {
        self.lock(Lock::SubnetAllocate(subnet))?;
        let sid = subnet.to_string();
        let in_pool = if self.exec.cheap_returning() {
            self.exec.query_opt(
                "DELETE FROM ip_allocations WHERE subnet_id = $1 AND offset_key = $2 \
                 RETURNING in_pool",
                args![&sid, key(offset)],
                |r| r.bool(0),
            )?
        } else {
            let found = self.exec.query_opt(
                "SELECT in_pool FROM ip_allocations WHERE subnet_id = $1 AND offset_key = $2",
                args![&sid, key(offset)],
                |r| r.bool(0),
            )?;
            if found.is_some() {
                self.exec.execute(
                    "DELETE FROM ip_allocations WHERE subnet_id = $1 AND offset_key = $2",
                    args![&sid, key(offset)],
                )?;
            }
            found
        };
        if in_pool != Some(true) {
            return Ok(());
        }
        let (left, right) = self.free_neighbours(&sid, offset)?;
        let cap = if self.exec.row_locks() {
            CHUNK
        } else {
            u64::MAX
        };
        let (merged, use_left, use_right) = merge_capped(left, offset, right, cap);
        // The fewest writes that leave `merged` as one free range.
        match (left.filter(|_| use_left), right.filter(|_| use_right)) {
            (Some(l), Some(r)) => {
                self.delete_free_range(&sid, r.start)?;
                self.extend_free_range(&sid, l.start, merged.end)?;
            }
            (Some(l), None) => self.extend_free_range(&sid, l.start, merged.end)?,
            (None, Some(r)) => self.move_free_range(&sid, r.start, merged.start)?,
            (None, None) => self.insert_free_range(&sid, merged)?,
        }
        self.bump_pool_used(&sid, -1)
    }

    // ----- VMs ----------------------------------------------------------------

    fn vm_insert(&mut self, vm: &Vm) -> Result<()> {
        self.run(
            &format!(
                "INSERT INTO vms ({VM_COLS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
            ),
            args![
                vm.id.to_string(),
                vm.project_id.to_string(),
                vm.data_center_id.to_string(),
                &vm.name,
                vm.os_type.as_str(),
                vm.power_state.as_str(),
                &vm.image_ref,
                &vm.flavor_ref,
                to_json(&vm.metadata),
                i64::from(vm.interface_count),
                ts(vm.created_at),
                ts(vm.updated_at),
                vm.access_ipv4.map(|ip| ip.to_string()),
                vm.access_ipv6.map(|ip| ip.to_string()),
                vm.host_id.map(|h| h.to_string()),
            ],
        )
    }
    /// Inside a write on PostgreSQL: `SELECT … FROM vms WHERE id = $1 FOR
    /// UPDATE`, so the interface limit and the VM's state are checked against
    /// a row no one else can change until this transaction ends.
    fn vm_get(&mut self, id: VmId) -> Result<Option<Vm>> {
        let (sql, params) = self.ahead_sql(&ReadAhead::Vm(id));
        self.exec.query_opt(&sql, &params, vm_row)
    }
    fn vm_update(&mut self, vm: &Vm) -> Result<()> {
        self.run(
            "UPDATE vms SET name = $2, power_state = $3, metadata = $4, nic_count = $5, \
             updated_at = $6 WHERE id = $1",
            args![
                vm.id.to_string(),
                &vm.name,
                vm.power_state.as_str(),
                to_json(&vm.metadata),
                i64::from(vm.interface_count),
                ts(vm.updated_at),
            ],
        )
    }
    fn vm_delete(&mut self, id: VmId) -> Result<()> {
        self.feed_remember_vm_host(&id.to_string())?;
        self.delete("vms", id.to_string()).map(drop)
    }
    fn vm_list(&mut self, f: &VmFilter, page: &PageRequest) -> Result<Vec<Vm>> {
        let mut q = Query::new(format!("SELECT {VM_COLS} FROM vms v WHERE TRUE"));
        q.and_opt("v.project_id = {}", f.project_id.as_ref().map(id));
        q.and_opt("v.data_center_id = {}", f.data_center_id.as_ref().map(id));
        q.and_opt("v.name = {}", f.name.as_ref());
        q.paginate_ordered("vms", "v", page, vm_sort_column, |e| self.exec.bytewise(e))?;
        self.exec.query(&q.sql, &q.args, vm_row)
    }

    // ----- interfaces ---------------------------------------------------------

    fn interface_insert(&mut self, i: &Interface, auto_delete: bool) -> Result<()> {
        self.insert_interface_row(i, auto_delete, false)?;
        self.sync_interface_groups(i, true)
    }
    /// ```sql
    /// INSERT INTO interfaces (...) VALUES (...) ON CONFLICT (mac_address) DO NOTHING
    /// ```
    fn interface_insert_if_mac_free(&mut self, i: &Interface, auto_delete: bool) -> Result<bool> {
        if self.insert_interface_row(i, auto_delete, true)? == 0 {
            return Ok(false);
        }
        self.sync_interface_groups(i, true)?;
        Ok(true)
    }
    /// Inside a write on PostgreSQL this locks the interface row (`FOR
    /// UPDATE OF i`): two use cases never change one interface on the
    /// strength of one reading.
    fn interface_get(&mut self, id: InterfaceId) -> Result<Option<Interface>> {
        let sql = interface_by_id(self.exec.row_locks());
        self.exec.query_opt(sql, args![id.to_string()], iface_row)
    }
    fn interface_auto_delete(&mut self, id: InterfaceId) -> Result<(bool, u64)> {
        let (sql, params) = self.ahead_sql(&ReadAhead::InterfaceAutoDelete(id));
        Ok(self
            .exec
            .query_opt(&sql, &params, |r| Ok((r.bool(0)?, r.int(1)?.max(0) as u64)))?
            .unwrap_or((false, 0)))
    }
    fn interface_update(&mut self, i: &Interface) -> Result<()> {
        // The groups it had, and (change feed) the host it is on, in one
        // statement.
        let old = self.exec.query_opt(
            concat!(
                "SELECT security_groups, (",
                super::feed::iface_host_sql!("$1"),
                ") FROM interfaces WHERE id = $1"
            ),
            args![i.id.to_string()],
            |r| Ok((r.string(0)?, r.opt_string(1)?)),
        )?;
        let old_groups = match old {
            Some((groups, host)) => {
                self.feed_remember(&i.id.to_string(), host);
                Some(groups)
            }
            None => None,
        };
        let groups = to_json(&i.security_groups);
        self.exec.execute(
            "UPDATE interfaces SET network_id = $2, vm_id = $3, name = $4, mac_address = $5, \
             is_primary = $6, status = $7, admin_state_up = $8, description = $9, tag = $10, \
             security_groups = $11, port_security_enabled = $12, allowed_address_pairs = $13, \
             tags = $14, device_owner = $15, fixed_ips = $16, parent_id = $17, vlan_id = $18, \
             updated_at = $19, extra_dhcp_opts = $20 WHERE id = $1",
            args![
                i.id.to_string(),
                i.network_id.to_string(),
                i.vm_id.map(|v| v.to_string()),
                &i.name,
                i.mac_address.to_string(),
                i.primary,
                i.status.as_str(),
                i.admin_state_up,
                &i.description,
                i.tag.as_ref(),
                &groups,
                i.port_security_enabled,
                to_json(&i.allowed_address_pairs),
                to_json(&i.tags),
                &i.device_owner,
                to_json(&i.fixed_ips),
                i.parent_id.map(|p| p.to_string()),
                i.vlan_id.map(|v| i64::from(v.get())),
                ts(i.updated_at),
                to_json(&i.extra_dhcp_opts),
            ],
        )?;
        if old_groups.as_deref() != Some(groups.as_str()) {
            self.sync_interface_groups(i, false)?;
        }
        Ok(())
    }
    /// `DELETE FROM interfaces WHERE id = $1 RETURNING (the host it was on)`
    /// (`feed::IFACE_DELETE_RETURNING_HOST`); its security group links go
    /// with it (`interface_security_groups.interface_id … ON DELETE
    /// CASCADE`, migrations/*/0001_init.sql).
    fn interface_delete(&mut self, id: InterfaceId) -> Result<()> {
        let iid = id.to_string();
        let host = if self.exec.cheap_returning() {
            self.exec
                .query_opt(super::feed::IFACE_DELETE_RETURNING_HOST, args![&iid], |r| {
                    r.opt_string(0)
                })?
                .flatten()
        } else {
            let host = self
                .exec
                .query_opt(super::feed::IFACE_HOST_SQL, args![&iid], |r| r.string(0))?;
            self.exec
                .execute("DELETE FROM interfaces WHERE id = $1", args![&iid])?;
            host
        };
        self.feed_remember(&iid, host);
        Ok(())
    }
    fn interface_list(
        &mut self,
        f: &InterfaceFilter,
        page: &PageRequest,
    ) -> Result<Vec<Interface>> {
        let mut q = Query::new(IFACE_SQL);
        self.iface_where(f, &mut q);
        q.paginate_ordered("interfaces", "i", page, iface_sort_column, |e| {
            self.exec.bytewise(e)
        })?;
        self.exec.query(&q.sql, &q.args, iface_row)
    }
    fn interface_count(&mut self, f: &InterfaceFilter) -> Result<u64> {
        let mut q = Query::new("SELECT COUNT(*) FROM interfaces i");
        self.iface_where(f, &mut q);
        self.count(&q.sql, &q.args)
    }
    fn interface_vlans_of_parent(&mut self, parent: InterfaceId) -> Result<Vec<u16>> {
        self.exec.query(
            "SELECT vlan_id FROM interfaces WHERE parent_id = $1 AND vlan_id IS NOT NULL \
             ORDER BY vlan_id",
            args![parent.to_string()],
            |r| r.small(0, "VLAN id"),
        )
    }

    // ----- public IPs -----------------------------------------------------------

    fn pool_insert(&mut self, pool: &PublicIpPool, fresh: &[Range]) -> Result<()> {
        let pid = pool.id.to_string();
        let free = i64::try_from(pool.free_addresses)
            .map_err(|_| Error::invalid("The public IP pool is too large."))?;
        self.exec.execute(
            "INSERT INTO public_ip_pools (id, data_center_id, name, cidr, release_seq, free_count, \
             created_at, external_network_id) VALUES ($1, $2, $3, $4, 0, $5, $6, $7)",
            args![
                &pid,
                pool.data_center_id.to_string(),
                &pool.name,
                pool.cidr.to_string(),
                free,
                ts(pool.created_at),
                pool.external_network_id.to_string(),
            ],
        )?;
        for r in fresh {
            self.exec.execute(
                "INSERT INTO public_ip_fresh (pool_id, start_key, end_key) VALUES ($1, $2, $3)",
                args![&pid, key(r.start), key(r.end)],
            )?;
        }
        Ok(())
    }
    fn pool_get(&mut self, id: PoolId) -> Result<Option<PublicIpPool>> {
        self.exec.query_opt(
            &format!("SELECT {POOL_COLS} FROM public_ip_pools WHERE id = $1"),
            args![id.to_string()],
            pool_row,
        )
    }
    fn pool_list(&mut self, dc: Option<DataCenterId>) -> Result<Vec<PublicIpPool>> {
        let mut q = Query::new(format!(
            "SELECT {POOL_COLS} FROM public_ip_pools WHERE TRUE"
        ));
        q.and_opt("data_center_id = {}", dc.as_ref().map(id));
        q.sql.push_str(" ORDER BY created_at, id");
        self.exec.query(&q.sql, &q.args, pool_row)
    }
    /// Inside a write this first locks the pool row: the head read here is
    /// the one `pool_take_fresh` takes.
    fn pool_fresh_head(&mut self, pool: PoolId) -> Result<Option<Range>> {
        self.lock(Lock::Pool(pool))?;
        self.exec.query_opt(
            "SELECT start_key, end_key FROM public_ip_fresh WHERE pool_id = $1 \
             ORDER BY start_key LIMIT 1",
            args![pool.to_string()],
            range_row,
        )
    }
    /// Inside a write this first locks the pool row.
    fn pool_released_head(&mut self, pool: PoolId) -> Result<Option<(i64, u64)>> {
        self.lock(Lock::Pool(pool))?;
        self.exec.query_opt(
            "SELECT seq, offset_key FROM public_ip_released WHERE pool_id = $1 \
             ORDER BY seq LIMIT 1",
            args![pool.to_string()],
            |r| Ok((r.int(0)?, nicplane_domain::ipam::from_key(r.int(1)?))),
        )
    }
    fn pool_take_fresh(&mut self, pool: PoolId, range: Range) -> Result<u64> {
        self.lock(Lock::Pool(pool))?;
        let pid = pool.to_string();
        let (offset, rest) = range.take_first();
        match rest {
            Some(r) => self.exec.execute(
                "UPDATE public_ip_fresh SET start_key = $3 WHERE pool_id = $1 AND start_key = $2",
                args![&pid, key(range.start), key(r.start)],
            )?,
            None => self.exec.execute(
                "DELETE FROM public_ip_fresh WHERE pool_id = $1 AND start_key = $2",
                args![&pid, key(range.start)],
            )?,
        };
        self.pool_count_down(&pid)?;
        Ok(offset)
    }
    fn pool_take_released(&mut self, pool: PoolId, seq: i64) -> Result<()> {
        self.lock(Lock::Pool(pool))?;
        let pid = pool.to_string();
        self.exec.execute(
            "DELETE FROM public_ip_released WHERE pool_id = $1 AND seq = $2",
            args![&pid, seq],
        )?;
        self.pool_count_down(&pid)
    }
    /// Under the pool's lock:
    /// ```sql
    /// SELECT start_key, end_key FROM public_ip_fresh WHERE pool_id = $1 AND start_key <= $2
    ///   ORDER BY start_key DESC LIMIT 1;     -- carve the offset out of it, or else
    /// DELETE FROM public_ip_released WHERE pool_id = $1 AND offset_key = $2;
    /// ```
    fn pool_take_offset(&mut self, pool: PoolId, offset: u64) -> Result<bool> {
        self.lock(Lock::Pool(pool))?;
        let pid = pool.to_string();
        let k = key(offset);
        let cover = self.exec.query_opt(
            "SELECT start_key, end_key FROM public_ip_fresh WHERE pool_id = $1 AND start_key <= $2 \
             ORDER BY start_key DESC LIMIT 1",
            args![&pid, k],
            range_row,
        )?;
        if let Some(range) = cover.filter(|r| r.end >= offset) {
            let (below, above) = range.carve(offset);
            self.exec.execute(
                "DELETE FROM public_ip_fresh WHERE pool_id = $1 AND start_key = $2",
                args![&pid, key(range.start)],
            )?;
            for r in below.into_iter().chain(above) {
                self.exec.execute(
                    "INSERT INTO public_ip_fresh (pool_id, start_key, end_key) VALUES ($1, $2, $3)",
                    args![&pid, key(r.start), key(r.end)],
                )?;
            }
        } else {
            let gone = self.exec.execute(
                "DELETE FROM public_ip_released WHERE pool_id = $1 AND offset_key = $2",
                args![&pid, k],
            )?;
            if gone == 0 {
                return Ok(false);
            }
        }
        self.pool_count_down(&pid)?;
        Ok(true)
    }
    fn pool_release(&mut self, pool: PoolId, offset: u64) -> Result<()> {
        self.lock(Lock::Pool(pool))?;
        let pid = pool.to_string();
        let seq = self.exec.query_opt(
            "UPDATE public_ip_pools SET release_seq = release_seq + 1, free_count = free_count + 1 \
             WHERE id = $1 RETURNING release_seq",
            args![&pid],
            |r| r.int(0),
        )?;
        let seq = seq.ok_or_else(|| Error::not_found(Kind::PublicIpPool, pool))?;
        self.run(
            "INSERT INTO public_ip_released (pool_id, seq, offset_key) VALUES ($1, $2, $3)",
            args![&pid, seq, key(offset)],
        )
    }
    fn public_ip_insert(&mut self, ip: &PublicIp, offset: u64) -> Result<()> {
        self.run(
            "INSERT INTO public_ips (id, project_id, pool_id, offset_key, address, interface_id, \
             description, created_at, fixed_ip) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            args![
                ip.id.to_string(),
                ip.project_id.to_string(),
                ip.pool_id.to_string(),
                key(offset),
                ip.address.to_string(),
                ip.interface_id.map(|i| i.to_string()),
                &ip.description,
                ts(ip.created_at),
                ip.fixed_ip.map(|f| f.to_string()),
            ],
        )
    }
    /// Inside a write on PostgreSQL this locks the public IP's row (`FOR
    /// UPDATE OF p`).
    fn public_ip_get(&mut self, id: PublicIpId) -> Result<Option<(PublicIp, u64)>> {
        let lock = self.exec.for_update(Some("p"));
        self.exec.query_opt(
            &format!("{PUBLIC_IP_SQL} WHERE p.id = $1{lock}"),
            args![id.to_string()],
            public_ip_row,
        )
    }
    /// Inside a write on PostgreSQL this locks the public IP's row (`FOR
    /// UPDATE OF p`).
    fn public_ip_of_interface(&mut self, iface: InterfaceId) -> Result<Option<(PublicIp, u64)>> {
        let (sql, params) = self.ahead_sql(&ReadAhead::PublicIpOf(iface));
        self.exec.query_opt(&sql, &params, public_ip_row)
    }
    fn public_ip_set_interface(
        &mut self,
        id: PublicIpId,
        iface: Option<InterfaceId>,
        description: &str,
        fixed_ip: Option<IpAddr>,
    ) -> Result<()> {
        self.run(
            "UPDATE public_ips SET interface_id = $2, description = $3, fixed_ip = $4 WHERE id = $1",
            args![
                id.to_string(),
                iface.map(|i| i.to_string()),
                description,
                fixed_ip.map(|f| f.to_string())
            ],
        )
    }
    fn public_ip_delete(&mut self, id: PublicIpId) -> Result<()> {
        self.delete("public_ips", id.to_string()).map(drop)
    }
    fn public_ip_list(
        &mut self,
        project: Option<&ProjectId>,
        page: &PageRequest,
    ) -> Result<Vec<PublicIp>> {
        let mut q = Query::new(format!("{PUBLIC_IP_SQL} WHERE TRUE"));
        q.and_opt("p.project_id = {}", project.map(id));
        q.paginate("p.id", page);
        Ok(self
            .exec
            .query(&q.sql, &q.args, public_ip_row)?
            .into_iter()
            .map(|(p, _)| p)
            .collect())
    }

    fn external_network_insert(&mut self, n: &ExternalNetwork) -> Result<()> {
        self.run(
            "INSERT INTO external_networks (id, data_center_id, project_id, name, description, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                n.id.to_string(),
                n.data_center_id.to_string(),
                n.project_id.as_ref().map(|p| p.to_string()),
                &n.name,
                &n.description,
                ts(n.created_at),
                ts(n.updated_at),
            ],
        )
    }
    fn external_network_get(&mut self, id: ExternalNetworkId) -> Result<Option<ExternalNetwork>> {
        let lock = self.exec.for_update(None);
        let row = self.exec.query_opt(
            &format!("SELECT {EXTERNAL_NETWORK_COLS} FROM external_networks WHERE id = $1{lock}"),
            args![id.to_string()],
            external_network_row,
        )?;
        row.map(|n| self.external_network_pools(n)).transpose()
    }
    fn external_network_list(&mut self, dc: Option<DataCenterId>) -> Result<Vec<ExternalNetwork>> {
        let mut q = Query::new(format!(
            "SELECT {EXTERNAL_NETWORK_COLS} FROM external_networks WHERE TRUE"
        ));
        q.and_opt("data_center_id = {}", dc.as_ref().map(id));
        q.sql.push_str(" ORDER BY created_at, id");
        let rows = self.exec.query(&q.sql, &q.args, external_network_row)?;
        rows.into_iter()
            .map(|n| self.external_network_pools(n))
            .collect()
    }
    fn external_network_update(&mut self, n: &ExternalNetwork) -> Result<()> {
        self.run(
            "UPDATE external_networks SET name = $2, description = $3, updated_at = $4 WHERE id = $1",
            args![
                n.id.to_string(),
                &n.name,
                &n.description,
                ts(n.updated_at)
            ],
        )
    }
    fn external_network_delete(&mut self, id: ExternalNetworkId) -> Result<()> {
        self.delete("external_networks", id.to_string()).map(drop)
    }
    fn external_network_gateways(&mut self, id: ExternalNetworkId) -> Result<u64> {
        self.count(
            "SELECT COUNT(*) FROM routers WHERE gateway_network_id = $1",
            args![id.to_string()],
        )
    }
    fn external_network_associated_ips(&mut self, id: ExternalNetworkId) -> Result<u64> {
        self.count(
            "SELECT COUNT(*) FROM public_ips p JOIN public_ip_pools pl ON pl.id = p.pool_id \
             WHERE pl.external_network_id = $1 AND p.interface_id IS NOT NULL",
            args![id.to_string()],
        )
    }
    fn external_network_delete_unassociated_ips(&mut self, id: ExternalNetworkId) -> Result<u64> {
        self.exec.execute(
            "DELETE FROM public_ips WHERE interface_id IS NULL AND pool_id IN \
             (SELECT id FROM public_ip_pools WHERE external_network_id = $1)",
            args![id.to_string()],
        )
    }
    fn pool_held(&mut self, pool: PoolId) -> Result<u64> {
        let p = pool.to_string();
        let ips = self.count(
            "SELECT COUNT(*) FROM public_ips WHERE pool_id = $1",
            args![&p],
        )?;
        let gateways = self.count(
            "SELECT COUNT(*) FROM router_gateway_ips WHERE pool_id = $1",
            args![&p],
        )?;
        let ports = self.count(
            "SELECT COUNT(*) FROM external_port_ips WHERE pool_id = $1",
            args![&p],
        )?;
        Ok(ips + gateways + ports)
    }
    fn pool_delete(&mut self, pool: PoolId) -> Result<()> {
        self.lock(Lock::Pool(pool))?;
        let p = pool.to_string();
        self.run("DELETE FROM public_ip_fresh WHERE pool_id = $1", args![&p])?;
        self.run(
            "DELETE FROM public_ip_released WHERE pool_id = $1",
            args![&p],
        )?;
        self.delete("public_ip_pools", p).map(drop)
    }
}

impl<E: Exec> SqlTx<E> {
    /// An external network row with its pools' ids, oldest first.
    fn external_network_pools(&mut self, mut n: ExternalNetwork) -> Result<ExternalNetwork> {
        n.pool_ids = self.exec.query(
            "SELECT id FROM public_ip_pools WHERE external_network_id = $1 ORDER BY created_at, id",
            args![n.id.to_string()],
            |r| r.parse(0, "id"),
        )?;
        Ok(n)
    }
}
