//! [`Tx`] for SQLite. Every statement is prepared once per connection and
//! cached. Constraint violations are decoded back into domain errors by the
//! columns SQLite names in its message.

use crate::tx::*;
use nicplane_domain::ids::*;
use nicplane_domain::ipam::{from_key, key, Range};
use nicplane_domain::model::*;
use nicplane_domain::types::*;
use nicplane_domain::{ConflictReason, Error, Result};
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::net::IpAddr;
use std::str::FromStr;
use time::OffsetDateTime;

mod credential_job;
mod quota;
mod trunk;
mod user_auth;

/// A transaction on one SQLite connection.
pub struct SqliteTx<'c> {
    conn: &'c Connection,
}

impl<'c> SqliteTx<'c> {
    pub fn new(conn: &'c Connection) -> Self {
        SqliteTx { conn }
    }
}

/// Map a SQLite error to the domain error, decoding constraint names.
pub fn decode(e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode;
    if let rusqlite::Error::SqliteFailure(f, msg) = &e {
        let msg = msg.clone().unwrap_or_default();
        match f.code {
            ErrorCode::ConstraintViolation => return decode_constraint(&msg),
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                return Error::unavailable("The database is busy; try again.")
            }
            ErrorCode::DiskFull | ErrorCode::CannotOpen | ErrorCode::SystemIoFailure => {
                // The detail (paths, OS errors) is for the log, not for clients.
                tracing::error!(error = %e, "the SQLite database is unavailable");
                return Error::unavailable("The database is unavailable; try again later.");
            }
            _ => {}
        }
    }
    Error::internal(format!("database error: {e}"))
}

fn decode_constraint(msg: &str) -> Error {
    if let Some(e) = crate::quota::decode_over_quota(msg) {
        return e;
    }
    let c = |reason, m: &str| Error::conflict(reason, m);
    if msg.contains("credentials.user_id, credentials.slot") || msg.contains("slot IN") {
        c(
            ConflictReason::CredentialLimitReached,
            crate::CREDENTIAL_LIMIT_MESSAGE,
        )
    } else if msg.contains("interfaces.mac_address") {
        c(
            ConflictReason::MacInUse,
            "The MAC address is already in use.",
        )
    } else if msg.contains("interfaces.parent_id, interfaces.vlan_id") {
        c(
            ConflictReason::VlanInUse,
            "The VLAN id is already used on that parent interface.",
        )
    } else if msg.contains("interfaces.vm_id") {
        c(
            ConflictReason::PrimaryInterface,
            "The VM already has a primary interface.",
        )
    } else if msg.contains("ip_allocations.subnet_id") || msg.contains("public_ips.pool_id") {
        c(
            ConflictReason::AddressInUse,
            "The IP address is already in use.",
        )
    } else if msg.contains("public_ips.interface_id") {
        c(
            ConflictReason::PublicIpExists,
            "The network interface already has a public IP.",
        )
    } else if msg.contains(".name") {
        c(ConflictReason::NameTaken, "That name is already taken.")
    } else if msg.contains("FOREIGN KEY") {
        c(
            ConflictReason::InUse,
            "The object is still used by another object.",
        )
    } else if msg.contains("nic_count") {
        c(
            ConflictReason::InterfaceLimitReached,
            "The VM has too many network interfaces.",
        )
    } else {
        Error::internal(format!("constraint violated: {msg}"))
    }
}

fn ts(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

fn from_ts(v: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(v).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Parse a column written by this store; a bad value is a corrupt row.
fn parse<T: FromStr>(s: &str, what: &str) -> rusqlite::Result<T> {
    s.parse().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("bad {what}: {s}").into(),
        )
    })
}

fn json<T: serde::de::DeserializeOwned>(s: &str) -> rusqlite::Result<T> {
    serde_json::from_str(s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn opt_parse<T: FromStr>(s: Option<String>, what: &str) -> rusqlite::Result<Option<T>> {
    s.map(|s| parse(&s, what)).transpose()
}

fn q<T>(r: rusqlite::Result<T>) -> Result<T> {
    r.map_err(decode)
}

// ----- row mappers -------------------------------------------------------

const DC_COLS: &str = "id, name, created_at";
fn dc_row(r: &Row) -> rusqlite::Result<DataCenter> {
    Ok(DataCenter {
        id: parse(&r.get::<_, String>(0)?, "id")?,
        name: r.get(1)?,
        created_at: from_ts(r.get(2)?),
    })
}

const PROJECT_COLS: &str = "id, name, description, created_at";
fn project_row(r: &Row) -> rusqlite::Result<Project> {
    Ok(Project {
        id: parse(&r.get::<_, String>(0)?, "id")?,
        name: r.get(1)?,
        description: r.get(2)?,
        created_at: from_ts(r.get(3)?),
    })
}

const USER_COLS: &str = "id, name, is_cloud_admin, created_at, password_hash, enabled";
fn user_row(r: &Row) -> rusqlite::Result<User> {
    Ok(User {
        id: parse(&r.get::<_, String>(0)?, "id")?,
        name: r.get(1)?,
        is_cloud_admin: r.get(2)?,
        created_at: from_ts(r.get(3)?),
        enabled: r.get(5)?,
    })
}

const MEMBERSHIP_SQL: &str = "SELECT m.user_id, u.name, m.project_id, p.name, m.role \
     FROM memberships m JOIN users u ON u.id = m.user_id JOIN projects p ON p.id = m.project_id";
fn membership_row(r: &Row) -> rusqlite::Result<Membership> {
    Ok(Membership {
        user_id: parse(&r.get::<_, String>(0)?, "id")?,
        user_name: r.get(1)?,
        project_id: parse(&r.get::<_, String>(2)?, "id")?,
        project_name: r.get(3)?,
        role: parse(&r.get::<_, String>(4)?, "role")?,
    })
}

const NETWORK_COLS: &str =
    "id, project_id, data_center_id, name, description, kind, shared, is_default, created_at, updated_at";
fn network_row(r: &Row) -> rusqlite::Result<Network> {
    Ok(Network {
        id: parse(&r.get::<_, String>(0)?, "id")?,
        project_id: opt_parse(r.get(1)?, "project")?,
        data_center_id: parse(&r.get::<_, String>(2)?, "id")?,
        name: r.get(3)?,
        description: r.get(4)?,
        kind: parse(&r.get::<_, String>(5)?, "kind")?,
        shared: r.get(6)?,
        is_default: r.get(7)?,
        created_at: from_ts(r.get(8)?),
        updated_at: from_ts(r.get(9)?),
    })
}

const SUBNET_SQL: &str = "SELECT s.id, s.network_id, n.project_id, s.name, s.ip_version, s.cidr, \
     s.gateway_ip, s.allocation_pools, s.pool_size, s.pool_used, s.created_at \
     FROM subnets s JOIN networks n ON n.id = s.network_id";
fn subnet_row(r: &Row) -> rusqlite::Result<Subnet> {
    let size: u128 = parse(&r.get::<_, String>(8)?, "pool size")?;
    let used: i64 = r.get(9)?;
    Ok(Subnet {
        id: parse(&r.get::<_, String>(0)?, "id")?,
        network_id: parse(&r.get::<_, String>(1)?, "id")?,
        project_id: opt_parse(r.get(2)?, "project")?,
        name: r.get(3)?,
        ip_version: r.get(4)?,
        cidr: parse(&r.get::<_, String>(5)?, "cidr")?,
        gateway_ip: opt_parse(r.get(6)?, "gateway")?,
        allocation_pools: json(&r.get::<_, String>(7)?)?,
        free_addresses: size.saturating_sub(used.max(0) as u128).to_string(),
        created_at: from_ts(r.get(10)?),
    })
}

const VM_COLS: &str = "id, project_id, data_center_id, name, os_type, power_state, image_ref, \
     flavor_ref, metadata, nic_count, created_at, updated_at";
fn vm_row(r: &Row) -> rusqlite::Result<Vm> {
    Ok(Vm {
        id: parse(&r.get::<_, String>(0)?, "id")?,
        project_id: parse(&r.get::<_, String>(1)?, "project")?,
        data_center_id: parse(&r.get::<_, String>(2)?, "id")?,
        name: r.get(3)?,
        os_type: parse(&r.get::<_, String>(4)?, "os")?,
        power_state: parse(&r.get::<_, String>(5)?, "power")?,
        image_ref: r.get(6)?,
        flavor_ref: r.get(7)?,
        metadata: json(&r.get::<_, String>(8)?)?,
        interface_count: r.get(9)?,
        created_at: from_ts(r.get(10)?),
        updated_at: from_ts(r.get(11)?),
    })
}

const IFACE_SQL: &str = "SELECT i.id, i.project_id, i.network_id, n.name, n.data_center_id, \
     i.vm_id, i.name, i.mac_address, i.fixed_ips, i.is_primary, i.status, i.admin_state_up, \
     i.description, i.tag, i.security_groups, i.port_security_enabled, i.allowed_address_pairs, \
     i.tags, i.device_owner, p.address, i.parent_id, i.vlan_id, i.supplementary, i.created_at, \
     i.updated_at \
     FROM interfaces i JOIN networks n ON n.id = i.network_id \
     LEFT JOIN public_ips p ON p.interface_id = i.id";
fn iface_row(r: &Row) -> rusqlite::Result<Interface> {
    let vlan: Option<i64> = r.get(21)?;
    Ok(Interface {
        id: parse(&r.get::<_, String>(0)?, "id")?,
        project_id: parse(&r.get::<_, String>(1)?, "project")?,
        network_id: parse(&r.get::<_, String>(2)?, "id")?,
        network_name: r.get(3)?,
        data_center_id: parse(&r.get::<_, String>(4)?, "id")?,
        vm_id: opt_parse(r.get(5)?, "vm")?,
        name: r.get(6)?,
        mac_address: parse(&r.get::<_, String>(7)?, "mac")?,
        fixed_ips: json(&r.get::<_, String>(8)?)?,
        primary: r.get(9)?,
        status: parse(&r.get::<_, String>(10)?, "status")?,
        admin_state_up: r.get(11)?,
        description: r.get(12)?,
        tag: r.get(13)?,
        security_groups: json(&r.get::<_, String>(14)?)?,
        port_security_enabled: r.get(15)?,
        allowed_address_pairs: json(&r.get::<_, String>(16)?)?,
        tags: json(&r.get::<_, String>(17)?)?,
        device_owner: r.get(18)?,
        public_ip: opt_parse(r.get(19)?, "address")?,
        parent_id: opt_parse(r.get(20)?, "parent")?,
        vlan_id: vlan.and_then(|v| VlanId::new(v).ok()),
        supplementary: r.get(22)?,
        created_at: from_ts(r.get(23)?),
        updated_at: from_ts(r.get(24)?),
    })
}

const POOL_COLS: &str = "id, data_center_id, name, cidr, free_count, created_at";
fn pool_row(r: &Row) -> rusqlite::Result<PublicIpPool> {
    Ok(PublicIpPool {
        id: parse(&r.get::<_, String>(0)?, "id")?,
        data_center_id: parse(&r.get::<_, String>(1)?, "id")?,
        name: r.get(2)?,
        cidr: parse(&r.get::<_, String>(3)?, "cidr")?,
        free_addresses: r.get::<_, i64>(4)? as u64,
        created_at: from_ts(r.get(5)?),
    })
}

const PUBLIC_IP_SQL: &str = "SELECT p.id, p.project_id, p.pool_id, pl.data_center_id, p.address, \
     p.interface_id, i.vm_id, i.fixed_ips, p.description, p.created_at, p.offset_key \
     FROM public_ips p JOIN public_ip_pools pl ON pl.id = p.pool_id \
     LEFT JOIN interfaces i ON i.id = p.interface_id";
fn public_ip_row(r: &Row) -> rusqlite::Result<(PublicIp, u64)> {
    let fixed: Option<String> = r.get(7)?;
    let fixed_ip = match fixed {
        Some(s) => json::<Vec<FixedIp>>(&s)?
            .into_iter()
            .map(|f| f.ip_address)
            .find(IpAddr::is_ipv4),
        None => None,
    };
    Ok((
        PublicIp {
            id: parse(&r.get::<_, String>(0)?, "id")?,
            project_id: parse(&r.get::<_, String>(1)?, "project")?,
            pool_id: parse(&r.get::<_, String>(2)?, "id")?,
            data_center_id: parse(&r.get::<_, String>(3)?, "id")?,
            address: parse(&r.get::<_, String>(4)?, "address")?,
            interface_id: opt_parse(r.get(5)?, "interface")?,
            vm_id: opt_parse(r.get(6)?, "vm")?,
            fixed_ip,
            description: r.get(8)?,
            created_at: from_ts(r.get(9)?),
        },
        from_key(r.get(10)?),
    ))
}

const SG_COLS: &str = "id, project_id, name, description, is_default, created_at";
fn sg_row(r: &Row) -> rusqlite::Result<SecurityGroup> {
    Ok(SecurityGroup {
        id: parse(&r.get::<_, String>(0)?, "id")?,
        project_id: parse(&r.get::<_, String>(1)?, "project")?,
        name: r.get(2)?,
        description: r.get(3)?,
        is_default: r.get(4)?,
        rules: vec![],
        created_at: from_ts(r.get(5)?),
    })
}

const RULE_COLS: &str = "id, security_group_id, direction, ethertype, protocol, port_range_min, \
     port_range_max, remote_ip_prefix, remote_group_id, description";
fn rule_row(r: &Row) -> rusqlite::Result<SecurityGroupRule> {
    Ok(SecurityGroupRule {
        id: parse(&r.get::<_, String>(0)?, "id")?,
        security_group_id: parse(&r.get::<_, String>(1)?, "id")?,
        direction: r.get(2)?,
        ethertype: r.get(3)?,
        protocol: r.get(4)?,
        port_range_min: r.get(5)?,
        port_range_max: r.get(6)?,
        remote_ip_prefix: r.get(7)?,
        remote_group_id: opt_parse(r.get(8)?, "group")?,
        description: r.get(9)?,
    })
}

/// Appends `AND id > marker ORDER BY id LIMIT n` to a query.
fn paginate(sql: &mut String, args: &mut Vec<Value>, col: &str, page: &PageRequest) {
    if let Some(m) = &page.marker {
        sql.push_str(&format!(" AND {col} > ?"));
        args.push(Value::Text(m.clone()));
    }
    sql.push_str(&format!(" ORDER BY {col}"));
    if page.limit > 0 {
        sql.push_str(" LIMIT ?");
        args.push(Value::Integer(page.limit as i64));
    }
}

impl SqliteTx<'_> {
    fn one<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnOnce(&Row) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        q(self
            .conn
            .prepare_cached(sql)
            .and_then(|mut s| s.query_row(params, f).optional()))
    }

    fn many<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnMut(&Row) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        q(self.conn.prepare_cached(sql).and_then(|mut s| {
            let rows = s.query_map(params, f)?;
            rows.collect()
        }))
    }

    /// Insert an interface row; `conflict` is appended to the statement.
    /// Returns the number of rows written.
    fn insert_interface_row(
        &self,
        i: &Interface,
        auto_delete: bool,
        conflict: &str,
    ) -> Result<usize> {
        let sql = format!(
            "{}{conflict}",
            "INSERT INTO interfaces (id, project_id, network_id, vm_id, name, mac_address, is_primary, status, \
             admin_state_up, description, tag, security_groups, port_security_enabled, allowed_address_pairs, \
             tags, device_owner, fixed_ips, auto_delete, parent_id, vlan_id, supplementary, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)"
        );
        self.exec(
            &sql,
            params![
                i.id.to_string(),
                i.project_id.to_string(),
                i.network_id.to_string(),
                i.vm_id.map(|v| v.to_string()),
                i.name,
                i.mac_address.to_string(),
                i.primary,
                i.status.as_str(),
                i.admin_state_up,
                i.description,
                i.tag,
                to_json(&i.security_groups),
                i.port_security_enabled,
                to_json(&i.allowed_address_pairs),
                to_json(&i.tags),
                i.device_owner,
                to_json(&i.fixed_ips),
                auto_delete,
                i.parent_id.map(|p| p.to_string()),
                i.vlan_id.map(|v| v.get() as i64),
                i.supplementary,
                ts(i.created_at),
                ts(i.updated_at)
            ],
        )
    }

    fn exec(&self, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
        q(self
            .conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(params)))
    }

    fn sg_with_rules(&self, mut sg: SecurityGroup) -> Result<SecurityGroup> {
        sg.rules = self.many(
            &format!("SELECT {RULE_COLS} FROM security_group_rules WHERE security_group_id = ?1 ORDER BY created_at, id"),
            [sg.id.to_string()],
            rule_row,
        )?;
        Ok(sg)
    }

    fn sync_interface_groups(&self, i: &Interface) -> Result<()> {
        self.exec(
            "DELETE FROM interface_security_groups WHERE interface_id = ?1",
            [i.id.to_string()],
        )?;
        for sg in &i.security_groups {
            self.exec(
                "INSERT OR IGNORE INTO interface_security_groups (interface_id, security_group_id) VALUES (?1, ?2)",
                [i.id.to_string(), sg.to_string()],
            )?;
        }
        Ok(())
    }

    fn iface_where(f: &InterfaceFilter, sql: &mut String, args: &mut Vec<Value>) {
        sql.push_str(" WHERE 1=1");
        if let Some(p) = &f.project_id {
            sql.push_str(" AND i.project_id = ?");
            args.push(Value::Text(p.to_string()));
        }
        match &f.vm_id {
            Some(Some(v)) => {
                sql.push_str(" AND i.vm_id = ?");
                args.push(Value::Text(v.to_string()));
            }
            Some(None) => sql.push_str(" AND i.vm_id IS NULL"),
            None => {}
        }
        match f.attached {
            Some(true) => sql.push_str(" AND i.vm_id IS NOT NULL"),
            Some(false) => sql.push_str(" AND i.vm_id IS NULL"),
            None => {}
        }
        // SQLite's built-in lower() folds ASCII letters only, as
        // `eq_ignore_ascii_case` does.
        if let Some(n) = &f.name_ignore_case {
            sql.push_str(" AND lower(i.name) = ?");
            args.push(Value::Text(n.to_ascii_lowercase()));
        }
        if let Some(st) = &f.status {
            sql.push_str(" AND i.status = ?");
            args.push(Value::Text(st.as_str().into()));
        }
        if let Some(o) = &f.device_owner_ignore_case {
            sql.push_str(" AND lower(i.device_owner) = ?");
            args.push(Value::Text(o.to_ascii_lowercase()));
        }
        if let Some(n) = &f.network_id {
            sql.push_str(" AND i.network_id = ?");
            args.push(Value::Text(n.to_string()));
        }
        if let Some(p) = &f.parent_id {
            sql.push_str(" AND i.parent_id = ?");
            args.push(Value::Text(p.to_string()));
        }
        if let Some(s) = f.supplementary {
            sql.push_str(" AND i.supplementary = ?");
            args.push(Value::Integer(s as i64));
        }
        if let Some(m) = &f.mac_address {
            sql.push_str(" AND i.mac_address = ?");
            args.push(Value::Text(m.to_string()));
        }
        if let Some(ip) = &f.ip_address {
            sql.push_str(
                " AND i.id IN (SELECT interface_id FROM ip_allocations WHERE address = ?)",
            );
            args.push(Value::Text(ip.to_string()));
        }
        if let Some(ids) = &f.ids {
            if ids.is_empty() {
                sql.push_str(" AND 0");
            } else {
                sql.push_str(" AND i.id IN (");
                sql.push_str(&vec!["?"; ids.len()].join(","));
                sql.push(')');
                args.extend(ids.iter().map(|i| Value::Text(i.to_string())));
            }
        }
    }
}

impl Tx for SqliteTx<'_> {
    fn ping(&mut self) -> Result<()> {
        self.one("SELECT 1", [], |r| r.get::<_, i64>(0)).map(|_| ())
    }

    fn next_sequence(&mut self, name: &str) -> Result<u64> {
        let v: Option<i64> = self.one(
            "INSERT INTO sequences (name, value) VALUES (?1, 0) \
             ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
            [name],
            |r| r.get(0),
        )?;
        Ok(v.unwrap_or(0) as u64)
    }

    // ----- data centers ---------------------------------------------------

    fn data_center_insert(&mut self, dc: &DataCenter) -> Result<()> {
        self.exec(
            "INSERT INTO data_centers (id, name, created_at) VALUES (?1, ?2, ?3)",
            params![dc.id.to_string(), dc.name, ts(dc.created_at)],
        )
        .map(|_| ())
    }
    fn data_center_get(&mut self, id: DataCenterId) -> Result<Option<DataCenter>> {
        self.one(
            &format!("SELECT {DC_COLS} FROM data_centers WHERE id = ?1"),
            [id.to_string()],
            dc_row,
        )
    }
    fn data_center_by_name(&mut self, name: &str) -> Result<Option<DataCenter>> {
        self.one(
            &format!("SELECT {DC_COLS} FROM data_centers WHERE name = ?1"),
            [name],
            dc_row,
        )
    }
    fn data_center_list(&mut self) -> Result<Vec<DataCenter>> {
        self.many(
            &format!("SELECT {DC_COLS} FROM data_centers ORDER BY name"),
            [],
            dc_row,
        )
    }

    // ----- projects, users ------------------------------------------------

    fn project_insert(&mut self, p: &Project) -> Result<()> {
        self.exec(
            "INSERT INTO projects (id, name, description, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![p.id.to_string(), p.name, p.description, ts(p.created_at)],
        )
        .map(|_| ())
    }
    fn project_get(&mut self, id: &ProjectId) -> Result<Option<Project>> {
        self.one(
            &format!("SELECT {PROJECT_COLS} FROM projects WHERE id = ?1"),
            [id.to_string()],
            project_row,
        )
    }
    fn project_by_name(&mut self, name: &str) -> Result<Option<Project>> {
        self.one(
            &format!("SELECT {PROJECT_COLS} FROM projects WHERE name = ?1"),
            [name],
            project_row,
        )
    }
    fn project_list(&mut self) -> Result<Vec<Project>> {
        self.many(
            &format!("SELECT {PROJECT_COLS} FROM projects ORDER BY name"),
            [],
            project_row,
        )
    }
    fn user_insert(&mut self, u: &User, password_hash: &str) -> Result<()> {
        self.exec(
            "INSERT INTO users (id, name, password_hash, is_cloud_admin, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![u.id.to_string(), u.name, password_hash, u.is_cloud_admin, ts(u.created_at)],
        )
        .map(|_| ())
    }
    fn user_get(&mut self, id: UserId) -> Result<Option<User>> {
        self.one(
            &format!("SELECT {USER_COLS} FROM users WHERE id = ?1"),
            [id.to_string()],
            user_row,
        )
    }
    fn user_by_name(&mut self, name: &str) -> Result<Option<UserSecret>> {
        self.one(
            &format!("SELECT {USER_COLS} FROM users WHERE name = ?1"),
            [name],
            |r| {
                Ok(UserSecret {
                    user: user_row(r)?,
                    password_hash: r.get(4)?,
                })
            },
        )
    }
    fn user_list(&mut self) -> Result<Vec<User>> {
        self.many(
            &format!("SELECT {USER_COLS} FROM users ORDER BY name"),
            [],
            user_row,
        )
    }
    fn user_set_password(&mut self, id: UserId, password_hash: &str) -> Result<()> {
        self.exec(
            "UPDATE users SET password_hash = ?2 WHERE id = ?1",
            params![id.to_string(), password_hash],
        )
        .map(|_| ())
    }
    fn membership_set(&mut self, user: UserId, project: &ProjectId, role: Role) -> Result<()> {
        self.exec(
            "INSERT INTO memberships (user_id, project_id, role) VALUES (?1, ?2, ?3) \
             ON CONFLICT (user_id, project_id) DO UPDATE SET role = excluded.role",
            params![user.to_string(), project.to_string(), role.as_str()],
        )
        .map(|_| ())
    }
    fn membership_delete(&mut self, user: UserId, project: &ProjectId) -> Result<bool> {
        self.exec(
            "DELETE FROM memberships WHERE user_id = ?1 AND project_id = ?2",
            params![user.to_string(), project.to_string()],
        )
        .map(|n| n > 0)
    }
    fn membership_role(&mut self, user: UserId, project: &ProjectId) -> Result<Option<Role>> {
        let r: Option<String> = self.one(
            "SELECT role FROM memberships WHERE user_id = ?1 AND project_id = ?2",
            params![user.to_string(), project.to_string()],
            |r| r.get(0),
        )?;
        r.map(|s| s.parse()).transpose()
    }
    fn memberships_of_user(&mut self, user: UserId) -> Result<Vec<Membership>> {
        self.many(
            &format!("{MEMBERSHIP_SQL} WHERE m.user_id = ?1 ORDER BY p.name"),
            [user.to_string()],
            membership_row,
        )
    }
    fn memberships_of_project(&mut self, project: &ProjectId) -> Result<Vec<Membership>> {
        self.many(
            &format!("{MEMBERSHIP_SQL} WHERE m.project_id = ?1 ORDER BY u.name"),
            [project.to_string()],
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
        self.exec(
            "INSERT INTO tokens (token_hash, user_id, project_id, expires_at, created_at) VALUES (?1, ?2, ?3, ?4, strftime('%s','now'))",
            params![hash, user.to_string(), project.map(|p| p.to_string()), expires_at],
        )
        .map(|_| ())
    }
    fn token_lookup(&mut self, hash: &str) -> Result<Option<(UserId, Option<ProjectId>, i64)>> {
        self.one(
            "SELECT user_id, project_id, expires_at FROM tokens WHERE token_hash = ?1",
            [hash],
            |r| {
                Ok((
                    parse(&r.get::<_, String>(0)?, "id")?,
                    opt_parse(r.get(1)?, "project")?,
                    r.get(2)?,
                ))
            },
        )
    }
    fn token_delete(&mut self, hash: &str) -> Result<()> {
        self.exec("DELETE FROM tokens WHERE token_hash = ?1", [hash])
            .map(|_| ())
    }

    fn idempotency_get(&mut self, user: UserId, key: &str) -> Result<Option<(String, String)>> {
        self.one(
            "SELECT fingerprint, response FROM idempotency_keys WHERE user_id = ?1 AND key = ?2",
            params![user.to_string(), key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }
    fn idempotency_put(
        &mut self,
        user: UserId,
        key: &str,
        fingerprint: &str,
        response: &str,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO idempotency_keys (user_id, key, fingerprint, response, created_at) \
             VALUES (?1, ?2, ?3, ?4, strftime('%s','now'))",
            params![user.to_string(), key, fingerprint, response],
        )
        .map(|_| ())
    }

    // ----- security groups ------------------------------------------------

    fn security_group_insert(&mut self, sg: &SecurityGroup) -> Result<()> {
        self.exec(
            "INSERT INTO security_groups (id, project_id, name, description, is_default, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![sg.id.to_string(), sg.project_id.to_string(), sg.name, sg.description, sg.is_default, ts(sg.created_at)],
        )?;
        for rule in &sg.rules {
            self.security_group_rule_insert(rule)?;
        }
        Ok(())
    }
    fn security_group_get(&mut self, id: SecurityGroupId) -> Result<Option<SecurityGroup>> {
        match self.one(
            &format!("SELECT {SG_COLS} FROM security_groups WHERE id = ?1"),
            [id.to_string()],
            sg_row,
        )? {
            Some(sg) => self.sg_with_rules(sg).map(Some),
            None => Ok(None),
        }
    }
    fn security_group_list(&mut self, project: &ProjectId) -> Result<Vec<SecurityGroup>> {
        let groups = self.many(
            &format!("SELECT {SG_COLS} FROM security_groups WHERE project_id = ?1 ORDER BY is_default DESC, name, id"),
            [project.to_string()],
            sg_row,
        )?;
        groups.into_iter().map(|g| self.sg_with_rules(g)).collect()
    }
    fn security_group_default(&mut self, project: &ProjectId) -> Result<Option<SecurityGroup>> {
        match self.one(
            &format!(
                "SELECT {SG_COLS} FROM security_groups WHERE project_id = ?1 AND is_default = 1"
            ),
            [project.to_string()],
            sg_row,
        )? {
            Some(sg) => self.sg_with_rules(sg).map(Some),
            None => Ok(None),
        }
    }
    fn security_group_update(&mut self, sg: &SecurityGroup) -> Result<()> {
        self.exec(
            "UPDATE security_groups SET name = ?2, description = ?3 WHERE id = ?1",
            params![sg.id.to_string(), sg.name, sg.description],
        )
        .map(|_| ())
    }
    fn security_group_delete(&mut self, id: SecurityGroupId) -> Result<()> {
        self.exec(
            "DELETE FROM security_groups WHERE id = ?1",
            [id.to_string()],
        )
        .map(|_| ())
    }
    fn security_group_in_use(&mut self, id: SecurityGroupId) -> Result<bool> {
        Ok(self
            .one(
                "SELECT 1 FROM interface_security_groups WHERE security_group_id = ?1 LIMIT 1",
                [id.to_string()],
                |r| r.get::<_, i64>(0),
            )?
            .is_some())
    }
    fn security_group_rule_insert(&mut self, rule: &SecurityGroupRule) -> Result<()> {
        self.exec(
            "INSERT INTO security_group_rules (id, security_group_id, direction, ethertype, protocol, \
             port_range_min, port_range_max, remote_ip_prefix, remote_group_id, description, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, strftime('%s','now'))",
            params![
                rule.id.to_string(),
                rule.security_group_id.to_string(),
                rule.direction,
                rule.ethertype,
                rule.protocol,
                rule.port_range_min,
                rule.port_range_max,
                rule.remote_ip_prefix,
                rule.remote_group_id.map(|g| g.to_string()),
                rule.description
            ],
        )
        .map(|_| ())
    }
    fn security_group_rule_get(
        &mut self,
        id: SecurityGroupRuleId,
    ) -> Result<Option<SecurityGroupRule>> {
        self.one(
            &format!("SELECT {RULE_COLS} FROM security_group_rules WHERE id = ?1"),
            [id.to_string()],
            rule_row,
        )
    }
    fn security_group_rule_delete(&mut self, id: SecurityGroupRuleId) -> Result<()> {
        self.exec(
            "DELETE FROM security_group_rules WHERE id = ?1",
            [id.to_string()],
        )
        .map(|_| ())
    }

    // ----- networks and subnets -------------------------------------------

    fn network_insert(&mut self, n: &Network) -> Result<()> {
        self.exec(
            "INSERT INTO networks (id, project_id, data_center_id, name, description, kind, shared, is_default, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                n.id.to_string(),
                n.project_id.as_ref().map(|p| p.to_string()),
                n.data_center_id.to_string(),
                n.name,
                n.description,
                n.kind.as_str(),
                n.shared,
                n.is_default,
                ts(n.created_at),
                ts(n.updated_at)
            ],
        )
        .map(|_| ())
    }
    fn network_get(&mut self, id: NetworkId) -> Result<Option<Network>> {
        self.one(
            &format!("SELECT {NETWORK_COLS} FROM networks WHERE id = ?1"),
            [id.to_string()],
            network_row,
        )
    }
    fn network_update(&mut self, n: &Network) -> Result<()> {
        self.exec(
            "UPDATE networks SET name = ?2, description = ?3, shared = ?4, updated_at = ?5, kind = ?6 WHERE id = ?1",
            params![n.id.to_string(), n.name, n.description, n.shared, ts(n.updated_at), n.kind.as_str()],
        )
        .map(|_| ())
    }
    fn network_delete(&mut self, id: NetworkId) -> Result<()> {
        self.exec("DELETE FROM networks WHERE id = ?1", [id.to_string()])
            .map(|_| ())
    }
    fn network_list(&mut self, f: &NetworkFilter, page: &PageRequest) -> Result<Vec<Network>> {
        let mut sql = format!("SELECT {NETWORK_COLS} FROM networks WHERE 1=1");
        let mut args = Vec::new();
        if let Some(p) = &f.visible_to {
            sql.push_str(" AND (project_id = ? OR shared = 1)");
            args.push(Value::Text(p.to_string()));
        }
        if let Some(dc) = &f.data_center_id {
            sql.push_str(" AND data_center_id = ?");
            args.push(Value::Text(dc.to_string()));
        }
        if let Some(k) = &f.kind {
            sql.push_str(" AND kind = ?");
            args.push(Value::Text(k.as_str().into()));
        }
        if let Some(n) = &f.name {
            sql.push_str(" AND name = ?");
            args.push(Value::Text(n.clone()));
        }
        paginate(&mut sql, &mut args, "id", page);
        self.many(&sql, rusqlite::params_from_iter(args), network_row)
    }
    fn network_default(
        &mut self,
        project: &ProjectId,
        dc: DataCenterId,
    ) -> Result<Option<Network>> {
        self.one(
            &format!("SELECT {NETWORK_COLS} FROM networks WHERE project_id = ?1 AND data_center_id = ?2 AND is_default = 1"),
            params![project.to_string(), dc.to_string()],
            network_row,
        )
    }
    fn network_interface_count(&mut self, id: NetworkId) -> Result<u64> {
        Ok(self
            .one(
                "SELECT COUNT(*) FROM interfaces WHERE network_id = ?1",
                [id.to_string()],
                |r| r.get::<_, i64>(0),
            )?
            .unwrap_or(0) as u64)
    }
    fn subnet_insert(&mut self, s: &Subnet, pools: &[Range], pool_size: u128) -> Result<()> {
        self.exec(
            "INSERT INTO subnets (id, network_id, name, ip_version, cidr, gateway_ip, allocation_pools, pool_size, pool_used, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9)",
            params![
                s.id.to_string(),
                s.network_id.to_string(),
                s.name,
                s.ip_version,
                s.cidr.to_string(),
                s.gateway_ip.map(|g| g.to_string()),
                to_json(&s.allocation_pools),
                pool_size.to_string(),
                ts(s.created_at)
            ],
        )?;
        for r in pools {
            self.exec(
                "INSERT INTO ip_free_ranges (subnet_id, start_key, end_key) VALUES (?1, ?2, ?3)",
                params![s.id.to_string(), key(r.start), key(r.end)],
            )?;
        }
        Ok(())
    }
    fn subnet_get(&mut self, id: SubnetId) -> Result<Option<Subnet>> {
        self.one(
            &format!("{SUBNET_SQL} WHERE s.id = ?1"),
            [id.to_string()],
            subnet_row,
        )
    }
    fn subnets_of_network(&mut self, network: NetworkId) -> Result<Vec<Subnet>> {
        self.many(
            &format!("{SUBNET_SQL} WHERE s.network_id = ?1 ORDER BY s.ip_version"),
            [network.to_string()],
            subnet_row,
        )
    }
    fn subnet_delete(&mut self, id: SubnetId) -> Result<()> {
        self.exec(
            "DELETE FROM ip_free_ranges WHERE subnet_id = ?1",
            [id.to_string()],
        )?;
        self.exec("DELETE FROM subnets WHERE id = ?1", [id.to_string()])
            .map(|_| ())
    }
    fn subnet_allocation_count(&mut self, id: SubnetId) -> Result<u64> {
        Ok(self
            .one(
                "SELECT COUNT(*) FROM ip_allocations WHERE subnet_id = ?1",
                [id.to_string()],
                |r| r.get::<_, i64>(0),
            )?
            .unwrap_or(0) as u64)
    }

    // ----- IPAM -------------------------------------------------------------

    /// ```sql
    /// SELECT start_key, end_key FROM ip_free_ranges WHERE subnet_id = ?1
    ///   ORDER BY start_key LIMIT 1;          -- index (subnet_id, start_key)
    /// UPDATE ip_free_ranges SET start_key = start_key + 1 ... -- or DELETE
    /// ```
    fn ip_take_next(&mut self, subnet: SubnetId) -> Result<Option<u64>> {
        let sid = subnet.to_string();
        let head: Option<(i64, i64)> = self.one(
            "SELECT start_key, end_key FROM ip_free_ranges WHERE subnet_id = ?1 ORDER BY start_key LIMIT 1",
            [&sid],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let Some((s, e)) = head else { return Ok(None) };
        let range = Range {
            start: from_key(s),
            end: from_key(e),
        };
        let (offset, rest) = range.take_first();
        match rest {
            Some(r) => self.exec(
                "UPDATE ip_free_ranges SET start_key = ?3 WHERE subnet_id = ?1 AND start_key = ?2",
                params![sid, s, key(r.start)],
            )?,
            None => self.exec(
                "DELETE FROM ip_free_ranges WHERE subnet_id = ?1 AND start_key = ?2",
                params![sid, s],
            )?,
        };
        self.exec(
            "UPDATE subnets SET pool_used = pool_used + 1 WHERE id = ?1",
            [&sid],
        )?;
        Ok(Some(offset))
    }

    /// ```sql
    /// SELECT start_key, end_key FROM ip_free_ranges
    ///   WHERE subnet_id = ?1 AND start_key <= ?2 ORDER BY start_key DESC LIMIT 1;
    /// ```
    /// then split that range around the offset.
    fn ip_take(&mut self, subnet: SubnetId, offset: u64) -> Result<Claim> {
        let sid = subnet.to_string();
        let k = key(offset);
        let taken = self
            .one(
                "SELECT 1 FROM ip_allocations WHERE subnet_id = ?1 AND offset_key = ?2",
                params![sid, k],
                |r| r.get::<_, i64>(0),
            )?
            .is_some();
        if taken {
            return Ok(Claim::InUse);
        }
        let cover: Option<(i64, i64)> = self.one(
            "SELECT start_key, end_key FROM ip_free_ranges WHERE subnet_id = ?1 AND start_key <= ?2 ORDER BY start_key DESC LIMIT 1",
            params![sid, k],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let Some((s, e)) = cover.filter(|&(_, e)| e >= k) else {
            return Ok(Claim::Claimed { in_pool: false });
        };
        let range = Range {
            start: from_key(s),
            end: from_key(e),
        };
        let (below, above) = range.carve(offset);
        self.exec(
            "DELETE FROM ip_free_ranges WHERE subnet_id = ?1 AND start_key = ?2",
            params![sid, s],
        )?;
        for r in below.into_iter().chain(above) {
            self.exec(
                "INSERT INTO ip_free_ranges (subnet_id, start_key, end_key) VALUES (?1, ?2, ?3)",
                params![sid, key(r.start), key(r.end)],
            )?;
        }
        let _ = e;
        self.exec(
            "UPDATE subnets SET pool_used = pool_used + 1 WHERE id = ?1",
            [&sid],
        )?;
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
        self.exec(
            "INSERT INTO ip_allocations (subnet_id, offset_key, address, interface_id, in_pool) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![subnet.to_string(), key(offset), address.to_string(), interface.to_string(), in_pool],
        )
        .map(|_| ())
    }

    /// Deletes the allocation and merges the offset back into the free ranges:
    /// ```sql
    /// SELECT start_key, end_key FROM ip_free_ranges WHERE subnet_id = ?1 AND end_key = ?2 - 1;
    /// SELECT start_key, end_key FROM ip_free_ranges WHERE subnet_id = ?1 AND start_key = ?2 + 1;
    /// ```
    fn ip_release(&mut self, subnet: SubnetId, offset: u64) -> Result<()> {
        let sid = subnet.to_string();
        let k = key(offset);
        let in_pool: Option<bool> = self.one(
            "DELETE FROM ip_allocations WHERE subnet_id = ?1 AND offset_key = ?2 RETURNING in_pool",
            params![sid, k],
            |r| r.get(0),
        )?;
        if in_pool != Some(true) {
            return Ok(());
        }
        let left: Option<(i64, i64)> = if offset > 0 {
            self.one(
                "SELECT start_key, end_key FROM ip_free_ranges WHERE subnet_id = ?1 AND end_key = ?2",
                params![sid, key(offset - 1)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
        } else {
            None
        };
        let right: Option<(i64, i64)> = if offset < u64::MAX {
            self.one(
                "SELECT start_key, end_key FROM ip_free_ranges WHERE subnet_id = ?1 AND start_key = ?2",
                params![sid, key(offset + 1)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
        } else {
            None
        };
        let to_range = |(s, e): (i64, i64)| Range {
            start: from_key(s),
            end: from_key(e),
        };
        let merged = nicplane_domain::ipam::merge(left.map(to_range), offset, right.map(to_range));
        for (s, _) in left.iter().chain(right.iter()) {
            self.exec(
                "DELETE FROM ip_free_ranges WHERE subnet_id = ?1 AND start_key = ?2",
                params![sid, s],
            )?;
        }
        self.exec(
            "INSERT INTO ip_free_ranges (subnet_id, start_key, end_key) VALUES (?1, ?2, ?3)",
            params![sid, key(merged.start), key(merged.end)],
        )?;
        self.exec(
            "UPDATE subnets SET pool_used = pool_used - 1 WHERE id = ?1",
            [&sid],
        )?;
        Ok(())
    }

    // ----- VMs ----------------------------------------------------------------

    fn vm_insert(&mut self, vm: &Vm) -> Result<()> {
        self.exec(
            "INSERT INTO vms (id, project_id, data_center_id, name, os_type, power_state, image_ref, flavor_ref, metadata, nic_count, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                vm.id.to_string(),
                vm.project_id.to_string(),
                vm.data_center_id.to_string(),
                vm.name,
                vm.os_type.as_str(),
                vm.power_state.as_str(),
                vm.image_ref,
                vm.flavor_ref,
                to_json(&vm.metadata),
                vm.interface_count,
                ts(vm.created_at),
                ts(vm.updated_at)
            ],
        )
        .map(|_| ())
    }
    fn vm_get(&mut self, id: VmId) -> Result<Option<Vm>> {
        self.one(
            &format!("SELECT {VM_COLS} FROM vms WHERE id = ?1"),
            [id.to_string()],
            vm_row,
        )
    }
    fn vm_update(&mut self, vm: &Vm) -> Result<()> {
        self.exec(
            "UPDATE vms SET name = ?2, power_state = ?3, metadata = ?4, nic_count = ?5, updated_at = ?6 WHERE id = ?1",
            params![
                vm.id.to_string(),
                vm.name,
                vm.power_state.as_str(),
                to_json(&vm.metadata),
                vm.interface_count,
                ts(vm.updated_at)
            ],
        )
        .map(|_| ())
    }
    fn vm_delete(&mut self, id: VmId) -> Result<()> {
        self.exec("DELETE FROM vms WHERE id = ?1", [id.to_string()])
            .map(|_| ())
    }
    fn vm_list(&mut self, f: &VmFilter, page: &PageRequest) -> Result<Vec<Vm>> {
        let mut sql = format!("SELECT {VM_COLS} FROM vms WHERE 1=1");
        let mut args = Vec::new();
        if let Some(p) = &f.project_id {
            sql.push_str(" AND project_id = ?");
            args.push(Value::Text(p.to_string()));
        }
        if let Some(dc) = &f.data_center_id {
            sql.push_str(" AND data_center_id = ?");
            args.push(Value::Text(dc.to_string()));
        }
        if let Some(n) = &f.name {
            sql.push_str(" AND name = ?");
            args.push(Value::Text(n.clone()));
        }
        paginate(&mut sql, &mut args, "id", page);
        self.many(&sql, rusqlite::params_from_iter(args), vm_row)
    }

    // ----- interfaces ---------------------------------------------------------

    fn interface_insert(&mut self, i: &Interface, auto_delete: bool) -> Result<()> {
        self.insert_interface_row(i, auto_delete, "")?;
        self.sync_interface_groups(i)
    }
    /// ```sql
    /// INSERT INTO interfaces (...) VALUES (...) ON CONFLICT (mac_address) DO NOTHING
    /// ```
    fn interface_insert_if_mac_free(&mut self, i: &Interface, auto_delete: bool) -> Result<bool> {
        if self.insert_interface_row(i, auto_delete, " ON CONFLICT (mac_address) DO NOTHING")? == 0
        {
            return Ok(false);
        }
        self.sync_interface_groups(i)?;
        Ok(true)
    }
    fn interface_get(&mut self, id: InterfaceId) -> Result<Option<Interface>> {
        self.one(
            &format!("{IFACE_SQL} WHERE i.id = ?1"),
            [id.to_string()],
            iface_row,
        )
    }
    fn interface_auto_delete(&mut self, id: InterfaceId) -> Result<bool> {
        Ok(self
            .one(
                "SELECT auto_delete FROM interfaces WHERE id = ?1",
                [id.to_string()],
                |r| r.get::<_, bool>(0),
            )?
            .unwrap_or(false))
    }
    fn interface_update(&mut self, i: &Interface) -> Result<()> {
        let old_groups: Option<String> = self.one(
            "SELECT security_groups FROM interfaces WHERE id = ?1",
            [i.id.to_string()],
            |r| r.get(0),
        )?;
        self.exec(
            "UPDATE interfaces SET network_id = ?2, vm_id = ?3, name = ?4, mac_address = ?5, is_primary = ?6, status = ?7, \
             admin_state_up = ?8, description = ?9, tag = ?10, security_groups = ?11, port_security_enabled = ?12, \
             allowed_address_pairs = ?13, tags = ?14, device_owner = ?15, fixed_ips = ?16, parent_id = ?17, \
             vlan_id = ?18, updated_at = ?19 WHERE id = ?1",
            params![
                i.id.to_string(),
                i.network_id.to_string(),
                i.vm_id.map(|v| v.to_string()),
                i.name,
                i.mac_address.to_string(),
                i.primary,
                i.status.as_str(),
                i.admin_state_up,
                i.description,
                i.tag,
                to_json(&i.security_groups),
                i.port_security_enabled,
                to_json(&i.allowed_address_pairs),
                to_json(&i.tags),
                i.device_owner,
                to_json(&i.fixed_ips),
                i.parent_id.map(|p| p.to_string()),
                i.vlan_id.map(|v| v.get() as i64),
                ts(i.updated_at)
            ],
        )?;
        if old_groups.as_deref() != Some(to_json(&i.security_groups).as_str()) {
            self.sync_interface_groups(i)?;
        }
        Ok(())
    }
    fn interface_delete(&mut self, id: InterfaceId) -> Result<()> {
        self.exec(
            "DELETE FROM interface_security_groups WHERE interface_id = ?1",
            [id.to_string()],
        )?;
        self.exec("DELETE FROM interfaces WHERE id = ?1", [id.to_string()])
            .map(|_| ())
    }
    fn interface_list(
        &mut self,
        f: &InterfaceFilter,
        page: &PageRequest,
    ) -> Result<Vec<Interface>> {
        let mut sql = IFACE_SQL.to_string();
        let mut args = Vec::new();
        Self::iface_where(f, &mut sql, &mut args);
        paginate(&mut sql, &mut args, "i.id", page);
        self.many(&sql, rusqlite::params_from_iter(args), iface_row)
    }
    fn interface_count(&mut self, f: &InterfaceFilter) -> Result<u64> {
        let mut sql = "SELECT COUNT(*) FROM interfaces i".to_string();
        let mut args = Vec::new();
        Self::iface_where(f, &mut sql, &mut args);
        Ok(self
            .one(&sql, rusqlite::params_from_iter(args), |r| {
                r.get::<_, i64>(0)
            })?
            .unwrap_or(0) as u64)
    }
    fn interface_vlans_of_parent(&mut self, parent: InterfaceId) -> Result<Vec<u16>> {
        self.many(
            "SELECT vlan_id FROM interfaces WHERE parent_id = ?1 AND vlan_id IS NOT NULL ORDER BY vlan_id",
            [parent.to_string()],
            |r| r.get::<_, u16>(0),
        )
    }

    // ----- public IPs -----------------------------------------------------------

    fn pool_insert(&mut self, pool: &PublicIpPool, fresh: &[Range]) -> Result<()> {
        self.exec(
            "INSERT INTO public_ip_pools (id, data_center_id, name, cidr, release_seq, free_count, created_at) VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6)",
            params![
                pool.id.to_string(),
                pool.data_center_id.to_string(),
                pool.name,
                pool.cidr.to_string(),
                pool.free_addresses as i64,
                ts(pool.created_at)
            ],
        )?;
        for r in fresh {
            self.exec(
                "INSERT INTO public_ip_fresh (pool_id, start_key, end_key) VALUES (?1, ?2, ?3)",
                params![pool.id.to_string(), key(r.start), key(r.end)],
            )?;
        }
        Ok(())
    }
    fn pool_get(&mut self, id: PoolId) -> Result<Option<PublicIpPool>> {
        self.one(
            &format!("SELECT {POOL_COLS} FROM public_ip_pools WHERE id = ?1"),
            [id.to_string()],
            pool_row,
        )
    }
    fn pool_list(&mut self, dc: Option<DataCenterId>) -> Result<Vec<PublicIpPool>> {
        match dc {
            Some(dc) => self.many(
                &format!("SELECT {POOL_COLS} FROM public_ip_pools WHERE data_center_id = ?1 ORDER BY created_at, id"),
                [dc.to_string()],
                pool_row,
            ),
            None => self.many(
                &format!("SELECT {POOL_COLS} FROM public_ip_pools ORDER BY created_at, id"),
                [],
                pool_row,
            ),
        }
    }
    fn pool_fresh_head(&mut self, pool: PoolId) -> Result<Option<Range>> {
        self.one(
            "SELECT start_key, end_key FROM public_ip_fresh WHERE pool_id = ?1 ORDER BY start_key LIMIT 1",
            [pool.to_string()],
            |r| {
                Ok(Range {
                    start: from_key(r.get(0)?),
                    end: from_key(r.get(1)?),
                })
            },
        )
    }
    fn pool_released_head(&mut self, pool: PoolId) -> Result<Option<(i64, u64)>> {
        self.one(
            "SELECT seq, offset_key FROM public_ip_released WHERE pool_id = ?1 ORDER BY seq LIMIT 1",
            [pool.to_string()],
            |r| Ok((r.get(0)?, from_key(r.get(1)?))),
        )
    }
    fn pool_take_fresh(&mut self, pool: PoolId, range: Range) -> Result<u64> {
        let pid = pool.to_string();
        let (offset, rest) = range.take_first();
        match rest {
            Some(r) => self.exec(
                "UPDATE public_ip_fresh SET start_key = ?3 WHERE pool_id = ?1 AND start_key = ?2",
                params![pid, key(range.start), key(r.start)],
            )?,
            None => self.exec(
                "DELETE FROM public_ip_fresh WHERE pool_id = ?1 AND start_key = ?2",
                params![pid, key(range.start)],
            )?,
        };
        self.exec(
            "UPDATE public_ip_pools SET free_count = free_count - 1 WHERE id = ?1",
            [&pid],
        )?;
        Ok(offset)
    }
    fn pool_take_released(&mut self, pool: PoolId, seq: i64) -> Result<()> {
        let pid = pool.to_string();
        self.exec(
            "DELETE FROM public_ip_released WHERE pool_id = ?1 AND seq = ?2",
            params![pid, seq],
        )?;
        self.exec(
            "UPDATE public_ip_pools SET free_count = free_count - 1 WHERE id = ?1",
            [&pid],
        )
        .map(|_| ())
    }
    fn pool_release(&mut self, pool: PoolId, offset: u64) -> Result<()> {
        let pid = pool.to_string();
        let seq: Option<i64> = self.one(
            "UPDATE public_ip_pools SET release_seq = release_seq + 1, free_count = free_count + 1 \
             WHERE id = ?1 RETURNING release_seq",
            [&pid],
            |r| r.get(0),
        )?;
        let seq = seq.ok_or_else(|| Error::not_found(nicplane_domain::Kind::PublicIpPool, pool))?;
        self.exec(
            "INSERT INTO public_ip_released (pool_id, seq, offset_key) VALUES (?1, ?2, ?3)",
            params![pid, seq, key(offset)],
        )
        .map(|_| ())
    }
    fn public_ip_insert(&mut self, ip: &PublicIp, offset: u64) -> Result<()> {
        self.exec(
            "INSERT INTO public_ips (id, project_id, pool_id, offset_key, address, interface_id, description, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                ip.id.to_string(),
                ip.project_id.to_string(),
                ip.pool_id.to_string(),
                key(offset),
                ip.address.to_string(),
                ip.interface_id.map(|i| i.to_string()),
                ip.description,
                ts(ip.created_at)
            ],
        )
        .map(|_| ())
    }
    fn public_ip_get(&mut self, id: PublicIpId) -> Result<Option<(PublicIp, u64)>> {
        self.one(
            &format!("{PUBLIC_IP_SQL} WHERE p.id = ?1"),
            [id.to_string()],
            public_ip_row,
        )
    }
    fn public_ip_of_interface(&mut self, iface: InterfaceId) -> Result<Option<(PublicIp, u64)>> {
        self.one(
            &format!("{PUBLIC_IP_SQL} WHERE p.interface_id = ?1"),
            [iface.to_string()],
            public_ip_row,
        )
    }
    fn public_ip_set_interface(
        &mut self,
        id: PublicIpId,
        iface: Option<InterfaceId>,
        description: &str,
    ) -> Result<()> {
        self.exec(
            "UPDATE public_ips SET interface_id = ?2, description = ?3 WHERE id = ?1",
            params![id.to_string(), iface.map(|i| i.to_string()), description],
        )
        .map(|_| ())
    }
    fn public_ip_delete(&mut self, id: PublicIpId) -> Result<()> {
        self.exec("DELETE FROM public_ips WHERE id = ?1", [id.to_string()])
            .map(|_| ())
    }
    fn public_ip_list(
        &mut self,
        project: Option<&ProjectId>,
        page: &PageRequest,
    ) -> Result<Vec<PublicIp>> {
        let mut sql = format!("{PUBLIC_IP_SQL} WHERE 1=1");
        let mut args = Vec::new();
        if let Some(p) = project {
            sql.push_str(" AND p.project_id = ?");
            args.push(Value::Text(p.to_string()));
        }
        paginate(&mut sql, &mut args, "p.id", page);
        Ok(self
            .many(&sql, rusqlite::params_from_iter(args), public_ip_row)?
            .into_iter()
            .map(|(p, _)| p)
            .collect())
    }
}
