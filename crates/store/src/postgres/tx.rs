//! [`Tx`] for PostgreSQL, and the decoding of PostgreSQL errors into domain
//! errors (constraint violations by constraint or index name).
//!
//! Writing transactions run at `READ COMMITTED` and take explicit row locks
//! where a use case reads something and then writes on the strength of what
//! it read (see `docs/postgres.md` for the list). Each statement of a
//! `READ COMMITTED` transaction sees everything committed before it started,
//! so a statement that follows a `FOR UPDATE` wait sees the previous lock
//! holder's changes.
//!
//! Statements are prepared once per connection and cached on it.

use super::Conn;
use crate::tx::*;
use ::postgres::error::SqlState;
use ::postgres::types::{FromSql, ToSql};
use ::postgres::Row;
use nicplane_domain::ids::*;
use nicplane_domain::ipam::{from_key, key, Range};
use nicplane_domain::model::*;
use nicplane_domain::types::*;
use nicplane_domain::{ConflictReason, Error, Kind, Result};
use std::collections::HashSet;
use std::net::IpAddr;
use std::str::FromStr;
use time::OffsetDateTime;

mod credential_job;
mod quota;
mod trunk;
mod user_auth;

/// Prepared statements kept per connection before the cache is emptied (the
/// list queries build their SQL from filters, so the set is finite but large).
const STATEMENT_CACHE_MAX: usize = 512;

/// Unique indexes whose violation means "another transaction created the row
/// this use case was about to create": the use case is run again and finds
/// that row (get-or-create of defaults, idempotency keys).
const RETRY_ON_UNIQUE: &[&str] = &[
    "networks_one_default",
    "security_groups_one_default",
    "idempotency_keys_pkey",
];

/// Why a statement failed, beyond the domain error it maps to.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub error: Error,
    /// Running the whole use case again may succeed (serialization failure,
    /// deadlock, lost race for a get-or-create row, connection lost).
    pub retry: bool,
    /// The connection is unusable and must be discarded.
    pub broken: bool,
}

/// Classify a PostgreSQL error.
pub(crate) fn classify(e: &::postgres::Error) -> Failure {
    let fail = |error, retry, broken| Failure {
        error,
        retry,
        broken,
    };
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED
        {
            return fail(
                Error::unavailable("The database is busy with concurrent changes; try again."),
                true,
                false,
            );
        }
        if *code == SqlState::UNIQUE_VIOLATION
            || *code == SqlState::FOREIGN_KEY_VIOLATION
            || *code == SqlState::CHECK_VIOLATION
        {
            let name = db.constraint().unwrap_or("");
            let retry = *code == SqlState::UNIQUE_VIOLATION && RETRY_ON_UNIQUE.contains(&name);
            return fail(decode_constraint(code, name, db.message()), retry, false);
        }
        let class = &code.code()[..2];
        if class == "08"
            || *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW
        {
            // The server's own words are for the log, not for clients.
            tracing::warn!(
                code = code.code(),
                error = db.message(),
                "the database is unavailable"
            );
            return fail(
                Error::unavailable("The database is unavailable; try again."),
                true,
                true,
            );
        }
        if *code == SqlState::TOO_MANY_CONNECTIONS
            || *code == SqlState::QUERY_CANCELED
            || *code == SqlState::LOCK_NOT_AVAILABLE
            || class == "53"
        {
            tracing::warn!(
                code = code.code(),
                error = db.message(),
                "the database is busy"
            );
            return fail(
                Error::unavailable("The database is busy; try again."),
                false,
                false,
            );
        }
        return fail(
            Error::internal(format!("database error {}: {}", code.code(), db.message())),
            false,
            false,
        );
    }
    if is_connection_error(e) {
        // The detail (host, OS error) is for the log, not for clients.
        tracing::warn!(error = %e, "the database connection was lost");
        return fail(
            Error::unavailable("The database connection was lost; try again."),
            true,
            true,
        );
    }
    fail(
        Error::internal(format!("database error: {e}")),
        false,
        false,
    )
}

/// Whether an error without a server answer means the connection is gone.
fn is_connection_error(e: &::postgres::Error) -> bool {
    use std::error::Error as _;
    e.is_closed()
        || e.source().is_some_and(|s| s.is::<std::io::Error>())
        || e.to_string() == "timeout waiting for server"
}

/// Map a violated constraint, by name, to the domain error the SQLite backend
/// gives for the same constraint (see `sqlite::tx::decode_constraint`).
fn decode_constraint(code: &SqlState, name: &str, msg: &str) -> Error {
    let c = |reason, m: &str| Error::conflict(reason, m);
    if *code == SqlState::FOREIGN_KEY_VIOLATION {
        return c(
            ConflictReason::InUse,
            "The object is still used by another object.",
        );
    }
    match name {
        "credentials_user_slot" | "credentials_slot_check" => c(
            ConflictReason::CredentialLimitReached,
            crate::CREDENTIAL_LIMIT_MESSAGE,
        ),
        "quota_usage_within_limit" => crate::quota::decode_over_quota(msg)
            .unwrap_or_else(|| Error::internal(format!("constraint {name} violated: {msg}"))),
        "interfaces_mac" => c(
            ConflictReason::MacInUse,
            "The MAC address is already in use.",
        ),
        "interfaces_parent_vlan" => c(
            ConflictReason::VlanInUse,
            "The VLAN id is already used on that parent interface.",
        ),
        "interfaces_one_primary" => c(
            ConflictReason::PrimaryInterface,
            "The VM already has a primary interface.",
        ),
        "ip_allocations_pkey" | "public_ips_address" => c(
            ConflictReason::AddressInUse,
            "The IP address is already in use.",
        ),
        "public_ips_interface" => c(
            ConflictReason::PublicIpExists,
            "The network interface already has a public IP.",
        ),
        "vms_nic_count_check" => c(
            ConflictReason::InterfaceLimitReached,
            "The VM has too many network interfaces.",
        ),
        "idempotency_keys_pkey" => c(
            ConflictReason::IdempotencyKeyReused,
            "The Idempotency-Key is in use by a concurrent request.",
        ),
        "networks_one_default" | "security_groups_one_default" => c(
            ConflictReason::InUse,
            "The project's default was created by a concurrent request; try again.",
        ),
        n if n.ends_with("_name_key") => {
            c(ConflictReason::NameTaken, "That name is already taken.")
        }
        _ => Error::internal(format!("constraint {name} violated: {msg}")),
    }
}

fn ts(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

fn from_ts(v: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(v).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Read a column; a type mismatch is a bug or a corrupt row.
fn get<'a, T: FromSql<'a>>(r: &'a Row, i: usize) -> Result<T> {
    r.try_get(i)
        .map_err(|e| Error::internal(format!("bad column {i} in the database: {e}")))
}

/// Parse a column written by this store; a bad value is a corrupt row.
fn parse<T: FromStr>(s: &str, what: &str) -> Result<T> {
    s.parse()
        .map_err(|_| Error::internal(format!("bad {what} in the database: {s}")))
}

fn col<T: FromStr>(r: &Row, i: usize, what: &str) -> Result<T> {
    parse(get::<&str>(r, i)?, what)
}

fn opt_col<T: FromStr>(r: &Row, i: usize, what: &str) -> Result<Option<T>> {
    get::<Option<&str>>(r, i)?
        .map(|s| parse(s, what))
        .transpose()
}

fn json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| Error::internal(format!("bad JSON in the database: {e}")))
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn small<T: TryFrom<i64>>(v: i64, what: &str) -> Result<T> {
    T::try_from(v).map_err(|_| Error::internal(format!("bad {what} in the database: {v}")))
}

// ----- row mappers -------------------------------------------------------

const DC_COLS: &str = "id, name, created_at";
fn dc_row(r: &Row) -> Result<DataCenter> {
    Ok(DataCenter {
        id: col(r, 0, "id")?,
        name: get(r, 1)?,
        created_at: from_ts(get(r, 2)?),
    })
}

const PROJECT_COLS: &str = "id, name, description, created_at";
fn project_row(r: &Row) -> Result<Project> {
    Ok(Project {
        id: col(r, 0, "id")?,
        name: get(r, 1)?,
        description: get(r, 2)?,
        created_at: from_ts(get(r, 3)?),
    })
}

const USER_COLS: &str = "id, name, is_cloud_admin, created_at, password_hash, enabled";
fn user_row(r: &Row) -> Result<User> {
    Ok(User {
        id: col(r, 0, "id")?,
        name: get(r, 1)?,
        is_cloud_admin: get(r, 2)?,
        created_at: from_ts(get(r, 3)?),
        enabled: get(r, 5)?,
    })
}

const MEMBERSHIP_SQL: &str = "SELECT m.user_id, u.name, m.project_id, p.name, m.role \
     FROM memberships m JOIN users u ON u.id = m.user_id JOIN projects p ON p.id = m.project_id";
fn membership_row(r: &Row) -> Result<Membership> {
    Ok(Membership {
        user_id: col(r, 0, "id")?,
        user_name: get(r, 1)?,
        project_id: col(r, 2, "id")?,
        project_name: get(r, 3)?,
        role: col(r, 4, "role")?,
    })
}

const NETWORK_COLS: &str =
    "id, project_id, data_center_id, name, description, kind, shared, is_default, created_at, updated_at";
fn network_row(r: &Row) -> Result<Network> {
    Ok(Network {
        id: col(r, 0, "id")?,
        project_id: opt_col(r, 1, "project")?,
        data_center_id: col(r, 2, "id")?,
        name: get(r, 3)?,
        description: get(r, 4)?,
        kind: col(r, 5, "kind")?,
        shared: get(r, 6)?,
        is_default: get(r, 7)?,
        created_at: from_ts(get(r, 8)?),
        updated_at: from_ts(get(r, 9)?),
    })
}

const SUBNET_SQL: &str = "SELECT s.id, s.network_id, n.project_id, s.name, s.ip_version, s.cidr, \
     s.gateway_ip, s.allocation_pools, s.pool_size, s.pool_used, s.created_at \
     FROM subnets s JOIN networks n ON n.id = s.network_id";
fn subnet_row(r: &Row) -> Result<Subnet> {
    let size: u128 = col(r, 8, "pool size")?;
    let used: i64 = get(r, 9)?;
    Ok(Subnet {
        id: col(r, 0, "id")?,
        network_id: col(r, 1, "id")?,
        project_id: opt_col(r, 2, "project")?,
        name: get(r, 3)?,
        ip_version: small(get(r, 4)?, "IP version")?,
        cidr: col(r, 5, "cidr")?,
        gateway_ip: opt_col(r, 6, "gateway")?,
        allocation_pools: json(get(r, 7)?)?,
        free_addresses: size.saturating_sub(used.max(0) as u128).to_string(),
        created_at: from_ts(get(r, 10)?),
    })
}

const VM_COLS: &str = "id, project_id, data_center_id, name, os_type, power_state, image_ref, \
     flavor_ref, metadata, nic_count, created_at, updated_at";
fn vm_row(r: &Row) -> Result<Vm> {
    Ok(Vm {
        id: col(r, 0, "id")?,
        project_id: col(r, 1, "project")?,
        data_center_id: col(r, 2, "id")?,
        name: get(r, 3)?,
        os_type: col(r, 4, "os")?,
        power_state: col(r, 5, "power")?,
        image_ref: get(r, 6)?,
        flavor_ref: get(r, 7)?,
        metadata: json(get(r, 8)?)?,
        interface_count: small(get(r, 9)?, "interface count")?,
        created_at: from_ts(get(r, 10)?),
        updated_at: from_ts(get(r, 11)?),
    })
}

/// The arguments of `translate(x, …)` that lower-case ASCII letters only.
const ASCII_FOLD: &str = "'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'";

const IFACE_SQL: &str = "SELECT i.id, i.project_id, i.network_id, n.name, n.data_center_id, \
     i.vm_id, i.name, i.mac_address, i.fixed_ips, i.is_primary, i.status, i.admin_state_up, \
     i.description, i.tag, i.security_groups, i.port_security_enabled, i.allowed_address_pairs, \
     i.tags, i.device_owner, p.address, i.parent_id, i.vlan_id, i.supplementary, i.created_at, \
     i.updated_at \
     FROM interfaces i JOIN networks n ON n.id = i.network_id \
     LEFT JOIN public_ips p ON p.interface_id = i.id";
fn iface_row(r: &Row) -> Result<Interface> {
    let vlan: Option<i64> = get(r, 21)?;
    Ok(Interface {
        id: col(r, 0, "id")?,
        project_id: col(r, 1, "project")?,
        network_id: col(r, 2, "id")?,
        network_name: get(r, 3)?,
        data_center_id: col(r, 4, "id")?,
        vm_id: opt_col(r, 5, "vm")?,
        name: get(r, 6)?,
        mac_address: col(r, 7, "mac")?,
        fixed_ips: json(get(r, 8)?)?,
        primary: get(r, 9)?,
        status: col(r, 10, "status")?,
        admin_state_up: get(r, 11)?,
        description: get(r, 12)?,
        tag: get(r, 13)?,
        security_groups: json(get(r, 14)?)?,
        port_security_enabled: get(r, 15)?,
        allowed_address_pairs: json(get(r, 16)?)?,
        tags: json(get(r, 17)?)?,
        device_owner: get(r, 18)?,
        public_ip: opt_col(r, 19, "address")?,
        parent_id: opt_col(r, 20, "parent")?,
        vlan_id: vlan.and_then(|v| VlanId::new(v).ok()),
        supplementary: get(r, 22)?,
        created_at: from_ts(get(r, 23)?),
        updated_at: from_ts(get(r, 24)?),
    })
}

const POOL_COLS: &str = "id, data_center_id, name, cidr, free_count, created_at";
fn pool_row(r: &Row) -> Result<PublicIpPool> {
    Ok(PublicIpPool {
        id: col(r, 0, "id")?,
        data_center_id: col(r, 1, "id")?,
        name: get(r, 2)?,
        cidr: col(r, 3, "cidr")?,
        free_addresses: get::<i64>(r, 4)?.max(0) as u64,
        created_at: from_ts(get(r, 5)?),
    })
}

const PUBLIC_IP_SQL: &str = "SELECT p.id, p.project_id, p.pool_id, pl.data_center_id, p.address, \
     p.interface_id, i.vm_id, i.fixed_ips, p.description, p.created_at, p.offset_key \
     FROM public_ips p JOIN public_ip_pools pl ON pl.id = p.pool_id \
     LEFT JOIN interfaces i ON i.id = p.interface_id";
fn public_ip_row(r: &Row) -> Result<(PublicIp, u64)> {
    let fixed_ip = match get::<Option<&str>>(r, 7)? {
        Some(s) => json::<Vec<FixedIp>>(s)?
            .into_iter()
            .map(|f| f.ip_address)
            .find(IpAddr::is_ipv4),
        None => None,
    };
    Ok((
        PublicIp {
            id: col(r, 0, "id")?,
            project_id: col(r, 1, "project")?,
            pool_id: col(r, 2, "id")?,
            data_center_id: col(r, 3, "id")?,
            address: col(r, 4, "address")?,
            interface_id: opt_col(r, 5, "interface")?,
            vm_id: opt_col(r, 6, "vm")?,
            fixed_ip,
            description: get(r, 8)?,
            created_at: from_ts(get(r, 9)?),
        },
        from_key(get(r, 10)?),
    ))
}

const SG_COLS: &str = "id, project_id, name, description, is_default, created_at";
fn sg_row(r: &Row) -> Result<SecurityGroup> {
    Ok(SecurityGroup {
        id: col(r, 0, "id")?,
        project_id: col(r, 1, "project")?,
        name: get(r, 2)?,
        description: get(r, 3)?,
        is_default: get(r, 4)?,
        rules: vec![],
        created_at: from_ts(get(r, 5)?),
    })
}

const RULE_COLS: &str = "id, security_group_id, direction, ethertype, protocol, port_range_min, \
     port_range_max, remote_ip_prefix, remote_group_id, description";
fn rule_row(r: &Row) -> Result<SecurityGroupRule> {
    let port = |i| -> Result<Option<u16>> {
        get::<Option<i64>>(r, i)?
            .map(|v| small(v, "port"))
            .transpose()
    };
    Ok(SecurityGroupRule {
        id: col(r, 0, "id")?,
        security_group_id: col(r, 1, "id")?,
        direction: get(r, 2)?,
        ethertype: get(r, 3)?,
        protocol: get(r, 4)?,
        port_range_min: port(5)?,
        port_range_max: port(6)?,
        remote_ip_prefix: get(r, 7)?,
        remote_group_id: opt_col(r, 8, "group")?,
        description: get(r, 9)?,
    })
}

fn range_row(r: &Row) -> Result<(i64, i64)> {
    Ok((get(r, 0)?, get(r, 1)?))
}

fn to_range((s, e): (i64, i64)) -> Range {
    Range {
        start: from_key(s),
        end: from_key(e),
    }
}

type Param = Box<dyn ToSql + Sync>;

/// A statement built from filters, with numbered placeholders.
struct Query {
    sql: String,
    args: Vec<Param>,
}

impl Query {
    fn new(sql: impl Into<String>) -> Self {
        Query {
            sql: sql.into(),
            args: Vec::new(),
        }
    }

    /// Append `cond` with its `{}` replaced by the placeholder of `v`.
    fn and(&mut self, cond: &str, v: impl ToSql + Sync + 'static) {
        self.args.push(Box::new(v));
        let placeholder = format!("${}", self.args.len());
        self.sql.push_str(" AND ");
        self.sql.push_str(&cond.replace("{}", &placeholder));
    }

    /// Append `AND col > marker ORDER BY col LIMIT n`.
    fn paginate(&mut self, col: &str, page: &PageRequest) {
        if let Some(m) = &page.marker {
            self.and(&format!("{col} > {{}}"), m.clone());
        }
        self.sql.push_str(&format!(" ORDER BY {col}"));
        if page.limit > 0 {
            self.args.push(Box::new(page.limit as i64));
            self.sql.push_str(&format!(" LIMIT ${}", self.args.len()));
        }
    }

    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.args
            .iter()
            .map(|b| &**b as &(dyn ToSql + Sync))
            .collect()
    }
}

/// What a row lock protects; locked at most once per transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Lock {
    Subnet(SubnetId),
    Pool(PoolId),
}

/// A transaction on one pooled PostgreSQL connection. The caller (the retry
/// helper in `postgres::mod`) has sent `BEGIN` and ends the transaction.
pub struct PgTx<'c> {
    conn: &'c mut Conn,
    /// Inside a write (or dry run): reads that decide a write lock rows.
    writing: bool,
    locked: HashSet<Lock>,
    /// The first failed statement: PostgreSQL aborts the transaction there,
    /// so the use case cannot go on even if it wanted to.
    failure: Option<Failure>,
}

impl<'c> PgTx<'c> {
    pub(crate) fn new(conn: &'c mut Conn, writing: bool) -> Self {
        PgTx {
            conn,
            writing,
            locked: HashSet::new(),
            failure: None,
        }
    }

    /// The first statement failure, if any.
    pub(crate) fn failure(&self) -> Option<&Failure> {
        self.failure.as_ref()
    }

    fn fail(&mut self, e: ::postgres::Error) -> Error {
        if let Some(f) = &self.failure {
            return f.error.clone();
        }
        let f = classify(&e);
        if f.error.http_status() == 500 {
            tracing::error!(error = %e, "PostgreSQL statement failed");
        }
        let err = f.error.clone();
        self.failure = Some(f);
        err
    }

    fn rows(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        if let Some(f) = &self.failure {
            return Err(f.error.clone());
        }
        let stmt = match self.conn.stmts.get(sql) {
            Some(s) => s.clone(),
            None => {
                let prepared = self.conn.client.prepare(sql);
                let s = prepared.map_err(|e| self.fail(e))?;
                if self.conn.stmts.len() >= STATEMENT_CACHE_MAX {
                    self.conn.stmts.clear();
                }
                self.conn.stmts.insert(sql.to_string(), s.clone());
                s
            }
        };
        let result = self.conn.client.query(&stmt, params);
        result.map_err(|e| self.fail(e))
    }

    fn one<T>(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        f: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<Option<T>> {
        self.rows(sql, params)?.first().map(f).transpose()
    }

    fn many<T>(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        f: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.rows(sql, params)?.iter().map(f).collect()
    }

    /// Insert an interface row; `conflict` is appended to the statement
    /// (with a `RETURNING` clause when the caller needs the row count).
    /// Returns the number of rows returned.
    fn insert_interface_row(
        &mut self,
        i: &Interface,
        auto_delete: bool,
        conflict: &str,
    ) -> Result<usize> {
        let sql = format!(
            "{}{conflict}",
            "INSERT INTO interfaces (id, project_id, network_id, vm_id, name, mac_address, is_primary, status, \
             admin_state_up, description, tag, security_groups, port_security_enabled, allowed_address_pairs, \
             tags, device_owner, fixed_ips, auto_delete, parent_id, vlan_id, supplementary, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)"
        );
        self.rows(
            &sql,
            &[
                &i.id.to_string(),
                &i.project_id.to_string(),
                &i.network_id.to_string(),
                &i.vm_id.map(|v| v.to_string()),
                &i.name,
                &i.mac_address.to_string(),
                &i.primary,
                &i.status.as_str(),
                &i.admin_state_up,
                &i.description,
                &i.tag,
                &to_json(&i.security_groups),
                &i.port_security_enabled,
                &to_json(&i.allowed_address_pairs),
                &to_json(&i.tags),
                &i.device_owner,
                &to_json(&i.fixed_ips),
                &auto_delete,
                &i.parent_id.map(|p| p.to_string()),
                &i.vlan_id.map(|v| i64::from(v.get())),
                &i.supplementary,
                &ts(i.created_at),
                &ts(i.updated_at),
            ],
        )
        .map(|r| if conflict.is_empty() { 1 } else { r.len() })
    }

    fn exec(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<()> {
        self.rows(sql, params).map(|_| ())
    }

    fn count(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        Ok(self
            .one(sql, params, |r| get::<i64>(r, 0))?
            .unwrap_or(0)
            .max(0) as u64)
    }

    /// ` FOR UPDATE` (of `table`) inside a write, nothing in a read.
    fn for_update(&self, table: Option<&str>) -> String {
        match (self.writing, table) {
            (false, _) => String::new(),
            (true, None) => " FOR UPDATE".into(),
            (true, Some(t)) => format!(" FOR UPDATE OF {t}"),
        }
    }

    /// Lock a subnet or pool row for the rest of the transaction, once:
    /// allocations from one subnet or pool run one after the other.
    fn lock(&mut self, what: Lock) -> Result<()> {
        if !self.writing || self.locked.contains(&what) {
            return Ok(());
        }
        match &what {
            Lock::Subnet(id) => self.exec(
                "SELECT 1 FROM subnets WHERE id = $1 FOR UPDATE",
                &[&id.to_string()],
            )?,
            Lock::Pool(id) => self.exec(
                "SELECT 1 FROM public_ip_pools WHERE id = $1 FOR UPDATE",
                &[&id.to_string()],
            )?,
        }
        self.locked.insert(what);
        Ok(())
    }

    fn sg_with_rules(&mut self, mut sg: SecurityGroup) -> Result<SecurityGroup> {
        sg.rules = self.many(
            &format!(
                "SELECT {RULE_COLS} FROM security_group_rules WHERE security_group_id = $1 ORDER BY created_at, id"
            ),
            &[&sg.id.to_string()],
            rule_row,
        )?;
        Ok(sg)
    }

    fn sync_interface_groups(&mut self, i: &Interface) -> Result<()> {
        let iid = i.id.to_string();
        self.exec(
            "DELETE FROM interface_security_groups WHERE interface_id = $1",
            &[&iid],
        )?;
        for sg in &i.security_groups {
            self.exec(
                "INSERT INTO interface_security_groups (interface_id, security_group_id) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
                &[&iid, &sg.to_string()],
            )?;
        }
        Ok(())
    }

    fn iface_where(f: &InterfaceFilter, q: &mut Query) {
        q.sql.push_str(" WHERE TRUE");
        if let Some(p) = &f.project_id {
            q.and("i.project_id = {}", p.to_string());
        }
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
        // translate() folds ASCII letters only (lower() would fold every
        // letter), as SQLite's lower() and `eq_ignore_ascii_case` do.
        if let Some(n) = &f.name_ignore_case {
            q.and(
                &format!("translate(i.name, {ASCII_FOLD}) = {{}}"),
                n.to_ascii_lowercase(),
            );
        }
        if let Some(st) = &f.status {
            q.and("i.status = {}", st.as_str().to_string());
        }
        if let Some(o) = &f.device_owner_ignore_case {
            q.and(
                &format!("translate(i.device_owner, {ASCII_FOLD}) = {{}}"),
                o.to_ascii_lowercase(),
            );
        }
        if let Some(n) = &f.network_id {
            q.and("i.network_id = {}", n.to_string());
        }
        if let Some(p) = &f.parent_id {
            q.and("i.parent_id = {}", p.to_string());
        }
        if let Some(s) = f.supplementary {
            q.and("i.supplementary = {}", s);
        }
        if let Some(m) = &f.mac_address {
            q.and("i.mac_address = {}", m.to_string());
        }
        if let Some(ip) = &f.ip_address {
            q.and(
                "i.id IN (SELECT interface_id FROM ip_allocations WHERE address = {})",
                ip.to_string(),
            );
        }
        if let Some(ids) = &f.ids {
            if ids.is_empty() {
                q.sql.push_str(" AND FALSE");
            } else {
                let ids: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
                q.and("i.id = ANY({})", ids);
            }
        }
    }

    fn insert_free_range(&mut self, sid: &str, r: Range) -> Result<()> {
        self.exec(
            "INSERT INTO ip_free_ranges (subnet_id, start_key, end_key) VALUES ($1, $2, $3)",
            &[&sid, &key(r.start), &key(r.end)],
        )
    }

    fn delete_free_range(&mut self, sid: &str, start_key: i64) -> Result<()> {
        self.exec(
            "DELETE FROM ip_free_ranges WHERE subnet_id = $1 AND start_key = $2",
            &[&sid, &start_key],
        )
    }

    fn bump_pool_used(&mut self, sid: &str, delta: i64) -> Result<()> {
        self.exec(
            "UPDATE subnets SET pool_used = pool_used + $2 WHERE id = $1",
            &[&sid, &delta],
        )
    }
}

impl Tx for PgTx<'_> {
    fn ping(&mut self) -> Result<()> {
        self.exec("SELECT 1", &[])
    }

    /// ```sql
    /// INSERT INTO sequences (name, value) VALUES ($1, 0)
    ///   ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1 RETURNING value;
    /// ```
    /// The upsert locks the counter's row until the transaction ends, so two
    /// transactions never see the same value.
    fn next_sequence(&mut self, name: &str) -> Result<u64> {
        let v = self.one(
            "INSERT INTO sequences (name, value) VALUES ($1, 0) \
             ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1 RETURNING value",
            &[&name],
            |r| get::<i64>(r, 0),
        )?;
        Ok(v.unwrap_or(0).max(0) as u64)
    }

    // ----- data centers ---------------------------------------------------

    fn data_center_insert(&mut self, dc: &DataCenter) -> Result<()> {
        self.exec(
            "INSERT INTO data_centers (id, name, created_at) VALUES ($1, $2, $3)",
            &[&dc.id.to_string(), &dc.name, &ts(dc.created_at)],
        )
    }
    fn data_center_get(&mut self, id: DataCenterId) -> Result<Option<DataCenter>> {
        self.one(
            &format!("SELECT {DC_COLS} FROM data_centers WHERE id = $1"),
            &[&id.to_string()],
            dc_row,
        )
    }
    fn data_center_by_name(&mut self, name: &str) -> Result<Option<DataCenter>> {
        self.one(
            &format!("SELECT {DC_COLS} FROM data_centers WHERE name = $1"),
            &[&name],
            dc_row,
        )
    }
    fn data_center_list(&mut self) -> Result<Vec<DataCenter>> {
        self.many(
            &format!("SELECT {DC_COLS} FROM data_centers ORDER BY name"),
            &[],
            dc_row,
        )
    }

    // ----- projects, users ------------------------------------------------

    fn project_insert(&mut self, p: &Project) -> Result<()> {
        self.exec(
            "INSERT INTO projects (id, name, description, created_at) VALUES ($1, $2, $3, $4)",
            &[
                &p.id.to_string(),
                &p.name,
                &p.description,
                &ts(p.created_at),
            ],
        )
    }
    fn project_get(&mut self, id: &ProjectId) -> Result<Option<Project>> {
        self.one(
            &format!("SELECT {PROJECT_COLS} FROM projects WHERE id = $1"),
            &[&id.to_string()],
            project_row,
        )
    }
    fn project_by_name(&mut self, name: &str) -> Result<Option<Project>> {
        self.one(
            &format!("SELECT {PROJECT_COLS} FROM projects WHERE name = $1"),
            &[&name],
            project_row,
        )
    }
    fn project_list(&mut self) -> Result<Vec<Project>> {
        self.many(
            &format!("SELECT {PROJECT_COLS} FROM projects ORDER BY name"),
            &[],
            project_row,
        )
    }
    fn user_insert(&mut self, u: &User, password_hash: &str) -> Result<()> {
        self.exec(
            "INSERT INTO users (id, name, password_hash, is_cloud_admin, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[
                &u.id.to_string(),
                &u.name,
                &password_hash,
                &u.is_cloud_admin,
                &ts(u.created_at),
            ],
        )
    }
    fn user_get(&mut self, id: UserId) -> Result<Option<User>> {
        self.one(
            &format!("SELECT {USER_COLS} FROM users WHERE id = $1"),
            &[&id.to_string()],
            user_row,
        )
    }
    fn user_by_name(&mut self, name: &str) -> Result<Option<UserSecret>> {
        self.one(
            &format!("SELECT {USER_COLS} FROM users WHERE name = $1"),
            &[&name],
            |r| {
                Ok(UserSecret {
                    user: user_row(r)?,
                    password_hash: get(r, 4)?,
                })
            },
        )
    }
    fn user_list(&mut self) -> Result<Vec<User>> {
        self.many(
            &format!("SELECT {USER_COLS} FROM users ORDER BY name"),
            &[],
            user_row,
        )
    }
    fn user_set_password(&mut self, id: UserId, password_hash: &str) -> Result<()> {
        self.exec(
            "UPDATE users SET password_hash = $2 WHERE id = $1",
            &[&id.to_string(), &password_hash],
        )
    }
    fn membership_set(&mut self, user: UserId, project: &ProjectId, role: Role) -> Result<()> {
        self.exec(
            "INSERT INTO memberships (user_id, project_id, role) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, project_id) DO UPDATE SET role = EXCLUDED.role",
            &[&user.to_string(), &project.to_string(), &role.as_str()],
        )
    }
    fn membership_delete(&mut self, user: UserId, project: &ProjectId) -> Result<bool> {
        Ok(self
            .one(
                "DELETE FROM memberships WHERE user_id = $1 AND project_id = $2 RETURNING 1",
                &[&user.to_string(), &project.to_string()],
                |_| Ok(()),
            )?
            .is_some())
    }
    fn membership_role(&mut self, user: UserId, project: &ProjectId) -> Result<Option<Role>> {
        self.one(
            "SELECT role FROM memberships WHERE user_id = $1 AND project_id = $2",
            &[&user.to_string(), &project.to_string()],
            |r| col(r, 0, "role"),
        )
    }
    fn memberships_of_user(&mut self, user: UserId) -> Result<Vec<Membership>> {
        self.many(
            &format!("{MEMBERSHIP_SQL} WHERE m.user_id = $1 ORDER BY p.name"),
            &[&user.to_string()],
            membership_row,
        )
    }
    fn memberships_of_project(&mut self, project: &ProjectId) -> Result<Vec<Membership>> {
        self.many(
            &format!("{MEMBERSHIP_SQL} WHERE m.project_id = $1 ORDER BY u.name"),
            &[&project.to_string()],
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
            "INSERT INTO tokens (token_hash, user_id, project_id, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, EXTRACT(EPOCH FROM now())::BIGINT)",
            &[
                &hash,
                &user.to_string(),
                &project.map(|p| p.to_string()),
                &expires_at,
            ],
        )
    }
    fn token_lookup(&mut self, hash: &str) -> Result<Option<(UserId, Option<ProjectId>, i64)>> {
        self.one(
            "SELECT user_id, project_id, expires_at FROM tokens WHERE token_hash = $1",
            &[&hash],
            |r| {
                let scope: Option<String> = get(r, 1)?;
                let scope = match scope {
                    Some(s) => Some(s.parse::<ProjectId>()?),
                    None => None,
                };
                Ok((col(r, 0, "id")?, scope, get(r, 2)?))
            },
        )
    }
    fn token_delete(&mut self, hash: &str) -> Result<()> {
        self.exec("DELETE FROM tokens WHERE token_hash = $1", &[&hash])
    }

    fn idempotency_get(&mut self, user: UserId, key: &str) -> Result<Option<(String, String)>> {
        self.one(
            "SELECT fingerprint, response FROM idempotency_keys WHERE user_id = $1 AND key = $2",
            &[&user.to_string(), &key],
            |r| Ok((get(r, 0)?, get(r, 1)?)),
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
             VALUES ($1, $2, $3, $4, EXTRACT(EPOCH FROM now())::BIGINT)",
            &[&user.to_string(), &key, &fingerprint, &response],
        )
    }

    // ----- security groups ------------------------------------------------

    fn security_group_insert(&mut self, sg: &SecurityGroup) -> Result<()> {
        self.exec(
            "INSERT INTO security_groups (id, project_id, name, description, is_default, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &sg.id.to_string(),
                &sg.project_id.to_string(),
                &sg.name,
                &sg.description,
                &sg.is_default,
                &ts(sg.created_at),
            ],
        )?;
        for rule in &sg.rules {
            self.security_group_rule_insert(rule)?;
        }
        Ok(())
    }
    fn security_group_get(&mut self, id: SecurityGroupId) -> Result<Option<SecurityGroup>> {
        match self.one(
            &format!("SELECT {SG_COLS} FROM security_groups WHERE id = $1"),
            &[&id.to_string()],
            sg_row,
        )? {
            Some(sg) => self.sg_with_rules(sg).map(Some),
            None => Ok(None),
        }
    }
    fn security_group_list(&mut self, project: &ProjectId) -> Result<Vec<SecurityGroup>> {
        let groups = self.many(
            &format!(
                "SELECT {SG_COLS} FROM security_groups WHERE project_id = $1 ORDER BY is_default DESC, name, id"
            ),
            &[&project.to_string()],
            sg_row,
        )?;
        groups.into_iter().map(|g| self.sg_with_rules(g)).collect()
    }
    fn security_group_default(&mut self, project: &ProjectId) -> Result<Option<SecurityGroup>> {
        match self.one(
            &format!("SELECT {SG_COLS} FROM security_groups WHERE project_id = $1 AND is_default"),
            &[&project.to_string()],
            sg_row,
        )? {
            Some(sg) => self.sg_with_rules(sg).map(Some),
            None => Ok(None),
        }
    }
    fn security_group_update(&mut self, sg: &SecurityGroup) -> Result<()> {
        self.exec(
            "UPDATE security_groups SET name = $2, description = $3 WHERE id = $1",
            &[&sg.id.to_string(), &sg.name, &sg.description],
        )
    }
    fn security_group_delete(&mut self, id: SecurityGroupId) -> Result<()> {
        self.exec(
            "DELETE FROM security_groups WHERE id = $1",
            &[&id.to_string()],
        )
    }
    fn security_group_in_use(&mut self, id: SecurityGroupId) -> Result<bool> {
        Ok(self
            .one(
                "SELECT 1 FROM interface_security_groups WHERE security_group_id = $1 LIMIT 1",
                &[&id.to_string()],
                |_| Ok(()),
            )?
            .is_some())
    }
    fn security_group_rule_insert(&mut self, rule: &SecurityGroupRule) -> Result<()> {
        self.exec(
            "INSERT INTO security_group_rules (id, security_group_id, direction, ethertype, protocol, \
             port_range_min, port_range_max, remote_ip_prefix, remote_group_id, description, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, EXTRACT(EPOCH FROM now())::BIGINT)",
            &[
                &rule.id.to_string(),
                &rule.security_group_id.to_string(),
                &rule.direction,
                &rule.ethertype,
                &rule.protocol,
                &rule.port_range_min.map(i64::from),
                &rule.port_range_max.map(i64::from),
                &rule.remote_ip_prefix,
                &rule.remote_group_id.map(|g| g.to_string()),
                &rule.description,
            ],
        )
    }
    fn security_group_rule_get(
        &mut self,
        id: SecurityGroupRuleId,
    ) -> Result<Option<SecurityGroupRule>> {
        self.one(
            &format!("SELECT {RULE_COLS} FROM security_group_rules WHERE id = $1"),
            &[&id.to_string()],
            rule_row,
        )
    }
    fn security_group_rule_delete(&mut self, id: SecurityGroupRuleId) -> Result<()> {
        self.exec(
            "DELETE FROM security_group_rules WHERE id = $1",
            &[&id.to_string()],
        )
    }

    // ----- networks and subnets -------------------------------------------

    fn network_insert(&mut self, n: &Network) -> Result<()> {
        self.exec(
            "INSERT INTO networks (id, project_id, data_center_id, name, description, kind, shared, \
             is_default, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &n.id.to_string(),
                &n.project_id.as_ref().map(|p| p.to_string()),
                &n.data_center_id.to_string(),
                &n.name,
                &n.description,
                &n.kind.as_str(),
                &n.shared,
                &n.is_default,
                &ts(n.created_at),
                &ts(n.updated_at),
            ],
        )
    }
    fn network_get(&mut self, id: NetworkId) -> Result<Option<Network>> {
        self.one(
            &format!("SELECT {NETWORK_COLS} FROM networks WHERE id = $1"),
            &[&id.to_string()],
            network_row,
        )
    }
    fn network_update(&mut self, n: &Network) -> Result<()> {
        self.exec(
            "UPDATE networks SET name = $2, description = $3, shared = $4, updated_at = $5, kind = $6 WHERE id = $1",
            &[
                &n.id.to_string(),
                &n.name,
                &n.description,
                &n.shared,
                &ts(n.updated_at),
                &n.kind.as_str(),
            ],
        )
    }
    fn network_delete(&mut self, id: NetworkId) -> Result<()> {
        self.exec("DELETE FROM networks WHERE id = $1", &[&id.to_string()])
    }
    fn network_list(&mut self, f: &NetworkFilter, page: &PageRequest) -> Result<Vec<Network>> {
        let mut q = Query::new(format!("SELECT {NETWORK_COLS} FROM networks WHERE TRUE"));
        if let Some(p) = &f.visible_to {
            q.and("(project_id = {} OR shared)", p.to_string());
        }
        if let Some(dc) = &f.data_center_id {
            q.and("data_center_id = {}", dc.to_string());
        }
        if let Some(k) = &f.kind {
            q.and("kind = {}", k.as_str().to_string());
        }
        if let Some(n) = &f.name {
            q.and("name = {}", n.clone());
        }
        q.paginate("id", page);
        self.many(&q.sql, &q.params(), network_row)
    }
    fn network_default(
        &mut self,
        project: &ProjectId,
        dc: DataCenterId,
    ) -> Result<Option<Network>> {
        self.one(
            &format!(
                "SELECT {NETWORK_COLS} FROM networks WHERE project_id = $1 AND data_center_id = $2 AND is_default"
            ),
            &[&project.to_string(), &dc.to_string()],
            network_row,
        )
    }
    fn network_interface_count(&mut self, id: NetworkId) -> Result<u64> {
        self.count(
            "SELECT COUNT(*) FROM interfaces WHERE network_id = $1",
            &[&id.to_string()],
        )
    }
    fn subnet_insert(&mut self, s: &Subnet, pools: &[Range], pool_size: u128) -> Result<()> {
        let sid = s.id.to_string();
        self.exec(
            "INSERT INTO subnets (id, network_id, name, ip_version, cidr, gateway_ip, allocation_pools, \
             pool_size, pool_used, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9)",
            &[
                &sid,
                &s.network_id.to_string(),
                &s.name,
                &i64::from(s.ip_version),
                &s.cidr.to_string(),
                &s.gateway_ip.map(|g| g.to_string()),
                &to_json(&s.allocation_pools),
                &pool_size.to_string(),
                &ts(s.created_at),
            ],
        )?;
        for r in pools {
            self.insert_free_range(&sid, *r)?;
        }
        Ok(())
    }
    fn subnet_get(&mut self, id: SubnetId) -> Result<Option<Subnet>> {
        self.one(
            &format!("{SUBNET_SQL} WHERE s.id = $1"),
            &[&id.to_string()],
            subnet_row,
        )
    }
    fn subnets_of_network(&mut self, network: NetworkId) -> Result<Vec<Subnet>> {
        self.many(
            &format!("{SUBNET_SQL} WHERE s.network_id = $1 ORDER BY s.ip_version"),
            &[&network.to_string()],
            subnet_row,
        )
    }
    fn subnet_delete(&mut self, id: SubnetId) -> Result<()> {
        self.lock(Lock::Subnet(id))?;
        let sid = id.to_string();
        self.exec("DELETE FROM ip_free_ranges WHERE subnet_id = $1", &[&sid])?;
        self.exec("DELETE FROM subnets WHERE id = $1", &[&sid])
    }
    fn subnet_allocation_count(&mut self, id: SubnetId) -> Result<u64> {
        self.count(
            "SELECT COUNT(*) FROM ip_allocations WHERE subnet_id = $1",
            &[&id.to_string()],
        )
    }

    // ----- IPAM -------------------------------------------------------------

    /// ```sql
    /// SELECT 1 FROM subnets WHERE id = $1 FOR UPDATE;   -- one allocator per subnet
    /// SELECT start_key, end_key FROM ip_free_ranges WHERE subnet_id = $1
    ///   ORDER BY start_key LIMIT 1;                      -- primary key (subnet_id, start_key)
    /// UPDATE ip_free_ranges SET start_key = $3 WHERE subnet_id = $1 AND start_key = $2;  -- or DELETE
    /// ```
    fn ip_take_next(&mut self, subnet: SubnetId) -> Result<Option<u64>> {
        self.lock(Lock::Subnet(subnet))?;
        let sid = subnet.to_string();
        let head = self.one(
            "SELECT start_key, end_key FROM ip_free_ranges WHERE subnet_id = $1 ORDER BY start_key LIMIT 1",
            &[&sid],
            range_row,
        )?;
        let Some((s, e)) = head else { return Ok(None) };
        let (offset, rest) = to_range((s, e)).take_first();
        match rest {
            Some(r) => self.exec(
                "UPDATE ip_free_ranges SET start_key = $3 WHERE subnet_id = $1 AND start_key = $2",
                &[&sid, &s, &key(r.start)],
            )?,
            None => self.delete_free_range(&sid, s)?,
        }
        self.bump_pool_used(&sid, 1)?;
        Ok(Some(offset))
    }

    /// ```sql
    /// SELECT 1 FROM subnets WHERE id = $1 FOR UPDATE;
    /// SELECT start_key, end_key FROM ip_free_ranges
    ///   WHERE subnet_id = $1 AND start_key <= $2 ORDER BY start_key DESC LIMIT 1;
    /// ```
    /// then split that range around the offset.
    fn ip_take(&mut self, subnet: SubnetId, offset: u64) -> Result<Claim> {
        self.lock(Lock::Subnet(subnet))?;
        let sid = subnet.to_string();
        let k = key(offset);
        let taken = self
            .one(
                "SELECT 1 FROM ip_allocations WHERE subnet_id = $1 AND offset_key = $2",
                &[&sid, &k],
                |_| Ok(()),
            )?
            .is_some();
        if taken {
            return Ok(Claim::InUse);
        }
        let cover = self.one(
            "SELECT start_key, end_key FROM ip_free_ranges WHERE subnet_id = $1 AND start_key <= $2 \
             ORDER BY start_key DESC LIMIT 1",
            &[&sid, &k],
            range_row,
        )?;
        let Some((s, e)) = cover.filter(|&(_, e)| e >= k) else {
            return Ok(Claim::Claimed { in_pool: false });
        };
        let (below, above) = to_range((s, e)).carve(offset);
        self.delete_free_range(&sid, s)?;
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
        self.exec(
            "INSERT INTO ip_allocations (subnet_id, offset_key, address, interface_id, in_pool) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &subnet.to_string(),
                &key(offset),
                &address.to_string(),
                &interface.to_string(),
                &in_pool,
            ],
        )
    }

    /// Deletes the allocation and merges the offset back into the free ranges:
    /// ```sql
    /// SELECT 1 FROM subnets WHERE id = $1 FOR UPDATE;
    /// DELETE FROM ip_allocations WHERE subnet_id = $1 AND offset_key = $2 RETURNING in_pool;
    /// SELECT start_key, end_key FROM ip_free_ranges WHERE subnet_id = $1 AND end_key = $2 - 1;
    /// SELECT start_key, end_key FROM ip_free_ranges WHERE subnet_id = $1 AND start_key = $2 + 1;
    /// ```
    fn ip_release(&mut self, subnet: SubnetId, offset: u64) -> Result<()> {
        self.lock(Lock::Subnet(subnet))?;
        let sid = subnet.to_string();
        let in_pool = self.one(
            "DELETE FROM ip_allocations WHERE subnet_id = $1 AND offset_key = $2 RETURNING in_pool",
            &[&sid, &key(offset)],
            |r| get::<bool>(r, 0),
        )?;
        if in_pool != Some(true) {
            return Ok(());
        }
        let left = match offset.checked_sub(1) {
            Some(below) => self.one(
                "SELECT start_key, end_key FROM ip_free_ranges WHERE subnet_id = $1 AND end_key = $2",
                &[&sid, &key(below)],
                range_row,
            )?,
            None => None,
        };
        let right = match offset.checked_add(1) {
            Some(above) => self.one(
                "SELECT start_key, end_key FROM ip_free_ranges WHERE subnet_id = $1 AND start_key = $2",
                &[&sid, &key(above)],
                range_row,
            )?,
            None => None,
        };
        let merged = nicplane_domain::ipam::merge(left.map(to_range), offset, right.map(to_range));
        for (s, _) in left.iter().chain(right.iter()) {
            self.delete_free_range(&sid, *s)?;
        }
        self.insert_free_range(&sid, merged)?;
        self.bump_pool_used(&sid, -1)
    }

    // ----- VMs ----------------------------------------------------------------

    fn vm_insert(&mut self, vm: &Vm) -> Result<()> {
        self.exec(
            "INSERT INTO vms (id, project_id, data_center_id, name, os_type, power_state, image_ref, \
             flavor_ref, metadata, nic_count, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                &vm.id.to_string(),
                &vm.project_id.to_string(),
                &vm.data_center_id.to_string(),
                &vm.name,
                &vm.os_type.as_str(),
                &vm.power_state.as_str(),
                &vm.image_ref,
                &vm.flavor_ref,
                &to_json(&vm.metadata),
                &i64::from(vm.interface_count),
                &ts(vm.created_at),
                &ts(vm.updated_at),
            ],
        )
    }
    /// Inside a write: `SELECT … FROM vms WHERE id = $1 FOR UPDATE`, so the
    /// interface limit and the VM's state are checked against a row no one
    /// else can change until this transaction ends.
    fn vm_get(&mut self, id: VmId) -> Result<Option<Vm>> {
        let lock = self.for_update(None);
        self.one(
            &format!("SELECT {VM_COLS} FROM vms WHERE id = $1{lock}"),
            &[&id.to_string()],
            vm_row,
        )
    }
    fn vm_update(&mut self, vm: &Vm) -> Result<()> {
        self.exec(
            "UPDATE vms SET name = $2, power_state = $3, metadata = $4, nic_count = $5, updated_at = $6 \
             WHERE id = $1",
            &[
                &vm.id.to_string(),
                &vm.name,
                &vm.power_state.as_str(),
                &to_json(&vm.metadata),
                &i64::from(vm.interface_count),
                &ts(vm.updated_at),
            ],
        )
    }
    fn vm_delete(&mut self, id: VmId) -> Result<()> {
        self.exec("DELETE FROM vms WHERE id = $1", &[&id.to_string()])
    }
    fn vm_list(&mut self, f: &VmFilter, page: &PageRequest) -> Result<Vec<Vm>> {
        let mut q = Query::new(format!("SELECT {VM_COLS} FROM vms WHERE TRUE"));
        if let Some(p) = &f.project_id {
            q.and("project_id = {}", p.to_string());
        }
        if let Some(dc) = &f.data_center_id {
            q.and("data_center_id = {}", dc.to_string());
        }
        if let Some(n) = &f.name {
            q.and("name = {}", n.clone());
        }
        q.paginate("id", page);
        self.many(&q.sql, &q.params(), vm_row)
    }

    // ----- interfaces ---------------------------------------------------------

    fn interface_insert(&mut self, i: &Interface, auto_delete: bool) -> Result<()> {
        self.insert_interface_row(i, auto_delete, "")?;
        self.sync_interface_groups(i)
    }
    /// ```sql
    /// INSERT INTO interfaces (...) VALUES (...)
    ///   ON CONFLICT (mac_address) DO NOTHING RETURNING id
    /// ```
    fn interface_insert_if_mac_free(&mut self, i: &Interface, auto_delete: bool) -> Result<bool> {
        let conflict = " ON CONFLICT (mac_address) DO NOTHING RETURNING id";
        if self.insert_interface_row(i, auto_delete, conflict)? == 0 {
            return Ok(false);
        }
        self.sync_interface_groups(i)?;
        Ok(true)
    }
    /// Inside a write this locks the interface row (`FOR UPDATE OF i`): two
    /// use cases never change one interface on the strength of one reading.
    fn interface_get(&mut self, id: InterfaceId) -> Result<Option<Interface>> {
        let lock = self.for_update(Some("i"));
        self.one(
            &format!("{IFACE_SQL} WHERE i.id = $1{lock}"),
            &[&id.to_string()],
            iface_row,
        )
    }
    fn interface_auto_delete(&mut self, id: InterfaceId) -> Result<bool> {
        Ok(self
            .one(
                "SELECT auto_delete FROM interfaces WHERE id = $1",
                &[&id.to_string()],
                |r| get::<bool>(r, 0),
            )?
            .unwrap_or(false))
    }
    fn interface_update(&mut self, i: &Interface) -> Result<()> {
        let old_groups: Option<String> = self.one(
            "SELECT security_groups FROM interfaces WHERE id = $1",
            &[&i.id.to_string()],
            |r| get(r, 0),
        )?;
        let groups = to_json(&i.security_groups);
        self.exec(
            "UPDATE interfaces SET network_id = $2, vm_id = $3, name = $4, mac_address = $5, is_primary = $6, \
             status = $7, admin_state_up = $8, description = $9, tag = $10, security_groups = $11, \
             port_security_enabled = $12, allowed_address_pairs = $13, tags = $14, device_owner = $15, \
             fixed_ips = $16, parent_id = $17, vlan_id = $18, updated_at = $19 WHERE id = $1",
            &[
                &i.id.to_string(),
                &i.network_id.to_string(),
                &i.vm_id.map(|v| v.to_string()),
                &i.name,
                &i.mac_address.to_string(),
                &i.primary,
                &i.status.as_str(),
                &i.admin_state_up,
                &i.description,
                &i.tag,
                &groups,
                &i.port_security_enabled,
                &to_json(&i.allowed_address_pairs),
                &to_json(&i.tags),
                &i.device_owner,
                &to_json(&i.fixed_ips),
                &i.parent_id.map(|p| p.to_string()),
                &i.vlan_id.map(|v| i64::from(v.get())),
                &ts(i.updated_at),
            ],
        )?;
        if old_groups.as_deref() != Some(groups.as_str()) {
            self.sync_interface_groups(i)?;
        }
        Ok(())
    }
    fn interface_delete(&mut self, id: InterfaceId) -> Result<()> {
        let iid = id.to_string();
        self.exec(
            "DELETE FROM interface_security_groups WHERE interface_id = $1",
            &[&iid],
        )?;
        self.exec("DELETE FROM interfaces WHERE id = $1", &[&iid])
    }
    fn interface_list(
        &mut self,
        f: &InterfaceFilter,
        page: &PageRequest,
    ) -> Result<Vec<Interface>> {
        let mut q = Query::new(IFACE_SQL);
        Self::iface_where(f, &mut q);
        q.paginate("i.id", page);
        self.many(&q.sql, &q.params(), iface_row)
    }
    fn interface_count(&mut self, f: &InterfaceFilter) -> Result<u64> {
        let mut q = Query::new("SELECT COUNT(*) FROM interfaces i");
        Self::iface_where(f, &mut q);
        self.count(&q.sql, &q.params())
    }
    fn interface_vlans_of_parent(&mut self, parent: InterfaceId) -> Result<Vec<u16>> {
        self.many(
            "SELECT vlan_id FROM interfaces WHERE parent_id = $1 AND vlan_id IS NOT NULL ORDER BY vlan_id",
            &[&parent.to_string()],
            |r| small(get(r, 0)?, "VLAN id"),
        )
    }

    // ----- public IPs -----------------------------------------------------------

    fn pool_insert(&mut self, pool: &PublicIpPool, fresh: &[Range]) -> Result<()> {
        let pid = pool.id.to_string();
        self.exec(
            "INSERT INTO public_ip_pools (id, data_center_id, name, cidr, release_seq, free_count, created_at) \
             VALUES ($1, $2, $3, $4, 0, $5, $6)",
            &[
                &pid,
                &pool.data_center_id.to_string(),
                &pool.name,
                &pool.cidr.to_string(),
                &i64::try_from(pool.free_addresses)
                    .map_err(|_| Error::invalid("The public IP pool is too large."))?,
                &ts(pool.created_at),
            ],
        )?;
        for r in fresh {
            self.exec(
                "INSERT INTO public_ip_fresh (pool_id, start_key, end_key) VALUES ($1, $2, $3)",
                &[&pid, &key(r.start), &key(r.end)],
            )?;
        }
        Ok(())
    }
    fn pool_get(&mut self, id: PoolId) -> Result<Option<PublicIpPool>> {
        self.one(
            &format!("SELECT {POOL_COLS} FROM public_ip_pools WHERE id = $1"),
            &[&id.to_string()],
            pool_row,
        )
    }
    fn pool_list(&mut self, dc: Option<DataCenterId>) -> Result<Vec<PublicIpPool>> {
        match dc {
            Some(dc) => self.many(
                &format!(
                    "SELECT {POOL_COLS} FROM public_ip_pools WHERE data_center_id = $1 ORDER BY created_at, id"
                ),
                &[&dc.to_string()],
                pool_row,
            ),
            None => self.many(
                &format!("SELECT {POOL_COLS} FROM public_ip_pools ORDER BY created_at, id"),
                &[],
                pool_row,
            ),
        }
    }
    /// Inside a write this first locks the pool row: the head read here is
    /// the one `pool_take_fresh` takes.
    fn pool_fresh_head(&mut self, pool: PoolId) -> Result<Option<Range>> {
        self.lock(Lock::Pool(pool))?;
        Ok(self
            .one(
                "SELECT start_key, end_key FROM public_ip_fresh WHERE pool_id = $1 ORDER BY start_key LIMIT 1",
                &[&pool.to_string()],
                range_row,
            )?
            .map(to_range))
    }
    /// Inside a write this first locks the pool row.
    fn pool_released_head(&mut self, pool: PoolId) -> Result<Option<(i64, u64)>> {
        self.lock(Lock::Pool(pool))?;
        self.one(
            "SELECT seq, offset_key FROM public_ip_released WHERE pool_id = $1 ORDER BY seq LIMIT 1",
            &[&pool.to_string()],
            |r| Ok((get(r, 0)?, from_key(get(r, 1)?))),
        )
    }
    fn pool_take_fresh(&mut self, pool: PoolId, range: Range) -> Result<u64> {
        self.lock(Lock::Pool(pool))?;
        let pid = pool.to_string();
        let (offset, rest) = range.take_first();
        match rest {
            Some(r) => self.exec(
                "UPDATE public_ip_fresh SET start_key = $3 WHERE pool_id = $1 AND start_key = $2",
                &[&pid, &key(range.start), &key(r.start)],
            )?,
            None => self.exec(
                "DELETE FROM public_ip_fresh WHERE pool_id = $1 AND start_key = $2",
                &[&pid, &key(range.start)],
            )?,
        }
        self.exec(
            "UPDATE public_ip_pools SET free_count = free_count - 1 WHERE id = $1",
            &[&pid],
        )?;
        Ok(offset)
    }
    fn pool_take_released(&mut self, pool: PoolId, seq: i64) -> Result<()> {
        self.lock(Lock::Pool(pool))?;
        let pid = pool.to_string();
        self.exec(
            "DELETE FROM public_ip_released WHERE pool_id = $1 AND seq = $2",
            &[&pid, &seq],
        )?;
        self.exec(
            "UPDATE public_ip_pools SET free_count = free_count - 1 WHERE id = $1",
            &[&pid],
        )
    }
    fn pool_release(&mut self, pool: PoolId, offset: u64) -> Result<()> {
        self.lock(Lock::Pool(pool))?;
        let pid = pool.to_string();
        let seq = self.one(
            "UPDATE public_ip_pools SET release_seq = release_seq + 1, free_count = free_count + 1 \
             WHERE id = $1 RETURNING release_seq",
            &[&pid],
            |r| get::<i64>(r, 0),
        )?;
        let seq = seq.ok_or_else(|| Error::not_found(Kind::PublicIpPool, pool))?;
        self.exec(
            "INSERT INTO public_ip_released (pool_id, seq, offset_key) VALUES ($1, $2, $3)",
            &[&pid, &seq, &key(offset)],
        )
    }
    fn public_ip_insert(&mut self, ip: &PublicIp, offset: u64) -> Result<()> {
        self.exec(
            "INSERT INTO public_ips (id, project_id, pool_id, offset_key, address, interface_id, description, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &ip.id.to_string(),
                &ip.project_id.to_string(),
                &ip.pool_id.to_string(),
                &key(offset),
                &ip.address.to_string(),
                &ip.interface_id.map(|i| i.to_string()),
                &ip.description,
                &ts(ip.created_at),
            ],
        )
    }
    /// Inside a write this locks the public IP's row (`FOR UPDATE OF p`).
    fn public_ip_get(&mut self, id: PublicIpId) -> Result<Option<(PublicIp, u64)>> {
        let lock = self.for_update(Some("p"));
        self.one(
            &format!("{PUBLIC_IP_SQL} WHERE p.id = $1{lock}"),
            &[&id.to_string()],
            public_ip_row,
        )
    }
    /// Inside a write this locks the public IP's row (`FOR UPDATE OF p`).
    fn public_ip_of_interface(&mut self, iface: InterfaceId) -> Result<Option<(PublicIp, u64)>> {
        let lock = self.for_update(Some("p"));
        self.one(
            &format!("{PUBLIC_IP_SQL} WHERE p.interface_id = $1{lock}"),
            &[&iface.to_string()],
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
            "UPDATE public_ips SET interface_id = $2, description = $3 WHERE id = $1",
            &[&id.to_string(), &iface.map(|i| i.to_string()), &description],
        )
    }
    fn public_ip_delete(&mut self, id: PublicIpId) -> Result<()> {
        self.exec("DELETE FROM public_ips WHERE id = $1", &[&id.to_string()])
    }
    fn public_ip_list(
        &mut self,
        project: Option<&ProjectId>,
        page: &PageRequest,
    ) -> Result<Vec<PublicIp>> {
        let mut q = Query::new(format!("{PUBLIC_IP_SQL} WHERE TRUE"));
        if let Some(p) = project {
            q.and("p.project_id = {}", p.to_string());
        }
        q.paginate("p.id", page);
        Ok(self
            .many(&q.sql, &q.params(), public_ip_row)?
            .into_iter()
            .map(|(p, _)| p)
            .collect())
    }
}
