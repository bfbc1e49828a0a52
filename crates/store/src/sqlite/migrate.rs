//! Applies the SQLite migrations in `migrations/sqlite`, in order, once each.
//! Refuses to run against a database whose schema is newer than this binary.

use super::exec::decode;
use nicplane_domain::{Error, Result};
use rusqlite::Connection;

/// The migrations, in order; append only.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../../migrations/sqlite/0002_huawei.sql")),
    (3, include_str!("../../migrations/sqlite/0003_trunks.sql")),
    (4, include_str!("../../migrations/sqlite/0004_auth.sql")),
    (
        5,
        include_str!("../../migrations/sqlite/0005_credential_hardening.sql"),
    ),
    (6, include_str!("../../migrations/sqlite/0006_quotas.sql")),
    (
        7,
        include_str!("../../migrations/sqlite/0007_revisions_flavors.sql"),
    ),
    (8, include_str!("../../migrations/sqlite/0008_subnets.sql")),
    (9, include_str!("../../migrations/sqlite/0009_routers.sql")),
    (10, include_str!("../../migrations/sqlite/0010_tempest.sql")),
    (
        11,
        include_str!("../../migrations/sqlite/0011_floating_fixed_ip.sql"),
    ),
    (
        12,
        include_str!("../../migrations/sqlite/0012_external_networks.sql"),
    ),
    (
        13,
        include_str!("../../migrations/sqlite/0013_router_revisions_tags.sql"),
    ),
    (14, include_str!("../../migrations/sqlite/0014_events.sql")),
    (15, include_str!("../../migrations/sqlite/0015_hosts.sql")),
    (
        16,
        include_str!("../../migrations/sqlite/0016_subnet_use.sql"),
    ),
    (
        17,
        include_str!("../../migrations/sqlite/0017_port_bindings.sql"),
    ),
    (
        18,
        include_str!("../../migrations/sqlite/0018_external_ports.sql"),
    ),
    (
        22,
        include_str!("../../migrations/sqlite/0022_quota_deferred.sql"),
    ),
    (
        23,
        include_str!("../../migrations/sqlite/0023_router_index_partial.sql"),
    ),
    (
        24,
        include_str!("../../migrations/sqlite/0024_quota_shards.sql"),
    ),
];

/// Bring the schema up to date.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )
    .map_err(decode)?;
    let current: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(decode)?;
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > latest {
        return Err(Error::unavailable(format!(
            "The database schema is at version {current}, newer than this nicplane ({latest}); upgrade nicplane."
        )));
    }
    for (version, sql) in MIGRATIONS {
        if *version <= current {
            continue;
        }
        let tx = conn.transaction().map_err(decode)?;
        tx.execute_batch(sql).map_err(decode)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, strftime('%s','now'))",
            [version],
        )
        .map_err(decode)?;
        tx.commit().map_err(decode)?;
        tracing::info!(version, "applied migration");
    }
    Ok(())
}
