//! Applies the PostgreSQL migrations in `migrations/postgres`, in order, once
//! each. Refuses to run against a database whose schema is newer than this
//! binary.
//!
//! Several servers may start at once against one database: the whole run is
//! one transaction that first takes a transaction-level advisory lock, so the
//! second server waits, then finds the schema up to date. PostgreSQL's DDL is
//! transactional, so a failed migration leaves nothing behind.

use super::exec::classify;
use ::postgres::Client;
use nicplane_domain::{Error, Result};

/// The migrations, in order; append only.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_init.sql")),
    (2, include_str!("../../migrations/postgres/0002_huawei.sql")),
    (3, include_str!("../../migrations/postgres/0003_trunks.sql")),
    (4, include_str!("../../migrations/postgres/0004_auth.sql")),
    (
        5,
        include_str!("../../migrations/postgres/0005_credential_hardening.sql"),
    ),
    (6, include_str!("../../migrations/postgres/0006_quotas.sql")),
    (
        7,
        include_str!("../../migrations/postgres/0007_revisions_flavors.sql"),
    ),
    (
        8,
        include_str!("../../migrations/postgres/0008_subnets.sql"),
    ),
    (
        9,
        include_str!("../../migrations/postgres/0009_routers.sql"),
    ),
    (
        10,
        include_str!("../../migrations/postgres/0010_tempest.sql"),
    ),
    (
        11,
        include_str!("../../migrations/postgres/0011_floating_fixed_ip.sql"),
    ),
    (
        12,
        include_str!("../../migrations/postgres/0012_external_networks.sql"),
    ),
    (
        13,
        include_str!("../../migrations/postgres/0013_router_revisions_tags.sql"),
    ),
    (
        14,
        include_str!("../../migrations/postgres/0014_events.sql"),
    ),
    (15, include_str!("../../migrations/postgres/0015_hosts.sql")),
    (
        16,
        include_str!("../../migrations/postgres/0016_subnet_use.sql"),
    ),
    (
        17,
        include_str!("../../migrations/postgres/0017_port_bindings.sql"),
    ),
    (
        18,
        include_str!("../../migrations/postgres/0018_external_ports.sql"),
    ),
    (
        22,
        include_str!("../../migrations/postgres/0022_quota_deferred.sql"),
    ),
    (
        23,
        include_str!("../../migrations/postgres/0023_router_index_partial.sql"),
    ),
    (
        24,
        include_str!("../../migrations/postgres/0024_quota_shards.sql"),
    ),
    (
        25,
        include_str!("../../migrations/postgres/0025_status_checks_without_in.sql"),
    ),
    (
        26,
        include_str!("../../migrations/postgres/0026_interface_insert_without_triggers.sql"),
    ),
    (
        27,
        include_str!("../../migrations/postgres/0027_events_without_autoincrement.sql"),
    ),
    (
        28,
        include_str!("../../migrations/postgres/0028_interfaces_vm_ordered.sql"),
    ),
];

/// Key of the advisory lock held while migrating ("nicplane" in ASCII).
pub const MIGRATION_LOCK_KEY: i64 = 0x6e69_6370_6c61_6e65;

fn db(e: ::postgres::Error) -> Error {
    classify(&e).error
}

/// Bring the schema up to date.
pub fn migrate(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction().map_err(db)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY])
        .map_err(db)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .map_err(db)?;
    let current: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .and_then(|r| r.try_get(0))
        .map_err(db)?;
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
        tx.batch_execute(sql).map_err(db)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, EXTRACT(EPOCH FROM now())::BIGINT)",
            &[version],
        )
        .map_err(db)?;
        tracing::info!(version, "applied migration");
    }
    tx.commit().map_err(db)
}
