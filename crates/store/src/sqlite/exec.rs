//! The SQLite executor of [`crate::sql`]: statements prepared once per
//! connection and kept ([`SqliteConn`], `$N` placeholders rewritten to `?N`
//! when prepared), no row locks (one writer), and the decoding
//! of SQLite errors into domain errors (constraints by the columns SQLite
//! names in its message).

use super::conn::SqliteConn;
use crate::roles::RoleCache;
use crate::sql::{constraint_error, Exec, Param, Row, RowFn, SqlTx, Violation};
use nicplane_domain::{Error, Result};
use rusqlite::types::{ToSqlOutput, ValueRef};

/// A transaction on one SQLite connection.
pub type SqliteTx<'c> = SqlTx<SqliteExec<'c>>;

/// Runs statements on one connection, inside the transaction (or savepoint)
/// the store began.
pub struct SqliteExec<'c> {
    conn: &'c SqliteConn,
    /// The store's role cache and its epoch when this transaction began.
    roles: Option<(&'c RoleCache, u64)>,
}

impl<'c> SqliteExec<'c> {
    /// An executor on `conn`, answering roles from `roles` when given (the
    /// store's connections: the cache is told of every change by the
    /// writer's triggers). Made before the transaction's first statement:
    /// the cache's epoch is taken now.
    pub fn new(conn: &'c SqliteConn, roles: Option<&'c RoleCache>) -> Self {
        SqliteExec {
            conn,
            roles: roles.map(|r| (r, r.epoch())),
        }
    }
}

/// A transaction on `conn`, with the store's role cache; made before the
/// transaction's first statement.
pub fn tx<'c>(conn: &'c SqliteConn, roles: &'c RoleCache) -> SqliteTx<'c> {
    SqlTx::new(SqliteExec::new(conn, Some(roles)))
}

impl rusqlite::ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Param::Null => ValueRef::Null,
            Param::Int(v) => ValueRef::Integer(*v),
            Param::Text(s) => ValueRef::Text(s.as_bytes()),
            Param::Bool(b) => ValueRef::Integer(i64::from(*b)),
        }))
    }
}

fn bad_column(i: usize, e: impl std::fmt::Display) -> Error {
    Error::internal(format!("bad column {i} in the database: {e}"))
}

impl Row for rusqlite::Row<'_> {
    fn get_i64(&self, i: usize) -> Result<Option<i64>> {
        match self.get_ref(i).map_err(|e| bad_column(i, e))? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(v) => Ok(Some(v)),
            other => Err(bad_column(
                i,
                format!("{:?} is not an integer", other.data_type()),
            )),
        }
    }
    fn get_str(&self, i: usize) -> Result<Option<&str>> {
        match self.get_ref(i).map_err(|e| bad_column(i, e))? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(t) => std::str::from_utf8(t)
                .map(Some)
                .map_err(|e| bad_column(i, e)),
            other => Err(bad_column(
                i,
                format!("{:?} is not text", other.data_type()),
            )),
        }
    }
    fn get_bool(&self, i: usize) -> Result<Option<bool>> {
        Ok(self.get_i64(i)?.map(|v| v != 0))
    }
}

impl Exec for SqliteExec<'_> {
    fn each_row(&mut self, sql: &str, params: &[Param], f: RowFn<'_>) -> Result<()> {
        crate::sql::storable(params)?;
        crate::metrics::statement_run(sql);
        self.conn.with_statement(sql, |stmt| {
            let mut rows = stmt
                .query(rusqlite::params_from_iter(params))
                .map_err(decode)?;
            while let Some(row) = rows.next().map_err(decode)? {
                f(row)?;
            }
            Ok(())
        })
    }

    fn execute(&mut self, sql: &str, params: &[Param]) -> Result<u64> {
        crate::sql::storable(params)?;
        crate::metrics::statement_run(sql);
        self.conn.with_statement(sql, |stmt| {
            stmt.execute(rusqlite::params_from_iter(params))
                .map(|n| n as u64)
                .map_err(decode)
        })
    }

    fn role_cache(&self) -> Option<(&RoleCache, u64)> {
        self.roles
    }

    /// SQLite has one writer: a writing transaction excludes every other.
    fn row_locks(&self) -> bool {
        false
    }

    /// `RETURNING` costs a temporary B-tree per statement here.
    fn cheap_returning(&self) -> bool {
        false
    }

    /// The one writer numbers each event as it writes it.
    fn numbers_events_in_write(&self) -> bool {
        true
    }

    /// Migration 0026 dropped the INSERT triggers of `interfaces`.
    fn interface_insert_charges(&self) -> bool {
        true
    }
}

/// Map a SQLite error to the domain error, decoding constraint violations.
pub fn decode(e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode;
    if let rusqlite::Error::SqliteFailure(f, msg) = &e {
        let msg = msg.clone().unwrap_or_default();
        match f.code {
            ErrorCode::ConstraintViolation => {
                let v = violation(&msg);
                return constraint_error(&v, &msg);
            }
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

/// The constraints SQLite reports by the columns (or the CHECK expression)
/// in its message, with their names in the schema.
const BY_MESSAGE: &[(&str, &str)] = &[
    (
        "credentials.user_id, credentials.slot",
        "credentials_user_slot",
    ),
    ("slot IN", "credentials_slot_check"),
    ("interfaces.mac_address", "interfaces_mac"),
    (
        "interfaces.parent_id, interfaces.vlan_id",
        "interfaces_parent_vlan",
    ),
    ("interfaces.vm_id", "interfaces_one_primary"),
    ("ip_allocations.subnet_id", "ip_allocations_pkey"),
    ("public_ips.pool_id", "public_ips_address"),
    ("external_port_ips.pool_id", "external_port_ips_pkey"),
    ("public_ips.interface_id", "public_ips_interface"),
    ("idempotency_keys.user_id", "idempotency_keys_pkey"),
    ("networks.project_id", "networks_one_default"),
    ("security_groups.project_id", "security_groups_one_default"),
    ("nic_count", "vms_nic_count_check"),
];

/// Name the constraint of a SQLite constraint message (`UNIQUE constraint
/// failed: interfaces.mac_address`, `FOREIGN KEY constraint failed`, …).
fn violation(msg: &str) -> Violation {
    if msg.contains("FOREIGN KEY") {
        return Violation::ForeignKey;
    }
    if let Some((_, name)) = BY_MESSAGE.iter().find(|(needle, _)| msg.contains(needle)) {
        return Violation::Named((*name).to_string());
    }
    // `UNIQUE constraint failed: projects.name` is `projects_name_key`.
    if let Some(cols) = msg.strip_prefix("UNIQUE constraint failed: ") {
        if let Some(table) = cols.strip_suffix(".name") {
            return Violation::Named(format!("{table}_name_key"));
        }
    }
    Violation::Named("unnamed".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_messages_name_the_schema_constraints() {
        let named = |m: &str| match violation(m) {
            Violation::Named(n) => n,
            Violation::ForeignKey => "foreign key".into(),
        };
        assert_eq!(
            named("UNIQUE constraint failed: interfaces.parent_id, interfaces.vlan_id"),
            "interfaces_parent_vlan"
        );
        assert_eq!(
            named("UNIQUE constraint failed: public_ip_pools.name"),
            "public_ip_pools_name_key"
        );
        assert_eq!(
            named("CHECK constraint failed: slot IN (1, 2)"),
            "credentials_slot_check"
        );
        assert_eq!(named("FOREIGN KEY constraint failed"), "foreign key");
        assert_eq!(
            named("UNIQUE constraint failed: trunks.parent_id"),
            "unnamed"
        );
    }
}
