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
    (
        25,
        include_str!("../../migrations/sqlite/0025_status_checks_without_in.sql"),
    ),
    (
        26,
        include_str!("../../migrations/sqlite/0026_interface_insert_without_triggers.sql"),
    ),
    (
        27,
        include_str!("../../migrations/sqlite/0027_events_without_autoincrement.sql"),
    ),
    (
        28,
        include_str!("../../migrations/sqlite/0028_interfaces_vm_ordered.sql"),
    ),
];

/// Migrations that edit a table's text in the schema (`writable_schema`):
/// the table, and a piece of text its definition must no longer hold.
const SCHEMA_EDITS: &[(i64, &str, &str)] = &[
    (25, "interfaces", "status IN ("),
    (25, "interface_observed", "status IN ("),
];

/// Bring the schema up to date.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, i64::MAX)
}

/// Apply the migrations up to version `last` (tests start from an older
/// schema with rows in it).
fn migrate_to(conn: &mut Connection, last: i64) -> Result<()> {
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
        if *version <= current || *version > last {
            continue;
        }
        let tx = conn.transaction().map_err(decode)?;
        tx.execute_batch(sql).map_err(decode)?;
        schema_edited(&tx, *version)?;
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

/// After a migration that edited the schema's text: check that every edit
/// took (the text it replaced must be gone), then bump the schema version so
/// that every connection parses the schema again (SQLite's procedure for
/// such changes, step 9).
fn schema_edited(tx: &rusqlite::Transaction, version: i64) -> Result<()> {
    let edits: Vec<_> = SCHEMA_EDITS.iter().filter(|e| e.0 == version).collect();
    if edits.is_empty() {
        return Ok(());
    }
    for (_, table, gone) in edits {
        let sql: String = tx
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get(0),
            )
            .map_err(decode)?;
        if sql.contains(gone) {
            return Err(Error::unavailable(format!(
                "Migration {version} could not edit the definition of table {table} (it still holds `{gone}`)."
            )));
        }
    }
    let schema: i64 = tx
        .query_row("PRAGMA schema_version", [], |r| r.get(0))
        .map_err(decode)?;
    tx.execute_batch(&format!("PRAGMA schema_version = {}", schema + 1))
        .map_err(decode)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The opcodes SQLite compiles `sql` (two parameters) into.
    fn opcodes(conn: &Connection, sql: &str) -> Vec<String> {
        let mut st = conn.prepare(&format!("EXPLAIN {sql}")).unwrap();
        let ops = st
            .query_map(["i", "down"], |r| r.get::<_, String>(1))
            .unwrap();
        ops.map(|o| o.unwrap()).collect()
    }

    #[test]
    fn interface_status_checks_hold_without_a_table_per_row() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        for table in ["interfaces", "interface_observed"] {
            let sql: String = conn
                .query_row(
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    [table],
                    |r| r.get(0),
                )
                .unwrap();
            assert!(!sql.contains("status IN ("), "{table}: {sql}");
            assert!(sql.contains("status = 'down'"), "{table}: {sql}");
        }
        let insert = "INSERT INTO interfaces (id, project_id, network_id, mac_address, status, \
                      created_at, updated_at) VALUES (?1, 'p', 'n', ?1, ?2, 0, 0)";
        // Before migration 25 the CHECK's list was an ephemeral table opened
        // for every row.
        let ops = opcodes(&conn, insert);
        assert!(ops.iter().any(|o| o == "Insert"), "{ops:?}");
        assert!(!ops.iter().any(|o| o == "OpenEphemeral"), "{ops:?}");
        // The constraint still means what it meant (the rows need no parents
        // here).
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        for (i, status) in ["build", "active", "down"].iter().enumerate() {
            conn.execute(insert, [format!("i{i}").as_str(), status])
                .unwrap();
        }
        for bad in ["error", "BUILD", ""] {
            let e = conn.execute(insert, ["bad", bad]).unwrap_err();
            assert!(
                e.to_string().contains("CHECK constraint failed"),
                "{bad}: {e}"
            );
        }
        // A database migrated again is left as it is.
        migrate(&mut conn).unwrap();
    }

    #[test]
    fn events_keep_their_ids_and_take_the_next_without_sqlite_sequence() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, 26).unwrap();
        let insert = "INSERT INTO events (seq, at_ms, actor_user_name, dialect, request_id, kind, \
                      resource_id, action) VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM events), \
                      0, 'u', 'native', 'r', 'interface', ?1, 'create')";
        for i in 0..3 {
            conn.execute(insert, [format!("i{i}")]).unwrap();
        }
        // The oldest two pruned, as the feed's pruning does (it keeps the newest).
        conn.execute_batch("DELETE FROM events WHERE seq < 3")
            .unwrap();
        migrate(&mut conn).unwrap();
        let sql: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'events'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(!sql.contains("AUTOINCREMENT"), "{sql}");
        let indexes: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(
            indexes,
            ["events_project_seq", "events_seq", "events_unsequenced"]
        );
        // The kept row keeps its id and seq; the next takes the numbers after
        // them, and nothing is written to sqlite_sequence any more.
        conn.execute(insert, ["i3"]).unwrap();
        let rows: Vec<(i64, i64, String)> = conn
            .prepare("SELECT id, seq, resource_id FROM events ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(rows, [(3, 3, "i2".to_string()), (4, 4, "i3".to_string())]);
        let sequenced: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_sequence WHERE name = 'events'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(sequenced, 0);
    }

    #[test]
    fn a_vms_interfaces_come_in_id_order_from_the_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        // The shape of every list of a VM's interfaces (`SqlTx::interface_list`
        // with a VM filter): no temporary B-tree to sort them, first page or
        // a later one.
        for sql in [
            "SELECT i.id, i.fixed_ips FROM interfaces i WHERE i.vm_id = 'v' ORDER BY i.id",
            "SELECT i.id, i.fixed_ips FROM interfaces i WHERE i.vm_id = 'v' AND i.id > 'i' ORDER BY i.id LIMIT 10",
        ] {
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map([], |r| r.get::<_, String>(3))
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            assert!(plan.iter().any(|p| p.contains("interfaces_vm")), "{plan:?}");
            assert!(!plan.iter().any(|p| p.contains("TEMP B-TREE")), "{plan:?}");
        }
    }
}
