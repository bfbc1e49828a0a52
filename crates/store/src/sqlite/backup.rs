//! Backup and restore of a SQLite store, safe while a server runs on it.
//!
//! Backup runs `VACUUM INTO` on a read-only connection of its own. That
//! statement copies the database inside one read transaction, so the copy is
//! a consistent snapshot: every transaction committed before it began, none
//! that commits during it. In WAL mode a reader never blocks the writer, so
//! the server keeps committing while the copy is made. (SQLite's incremental
//! backup API, `sqlite3_backup_step` with a few pages per step, restarts from
//! the first page whenever another connection writes to the source, and may
//! never finish under a steady write load; `VACUUM INTO` cannot restart.)
//! The copy is written next to the target, checked with
//! `PRAGMA integrity_check`, flushed, and only then linked into place, so a
//! failed backup never leaves a file that looks like a good one.
//!
//! Restore is for a stopped server: it takes an exclusive lock on the
//! target database (which fails while any server has it open) and copies the
//! backup into it with SQLite's backup API in one step, a single transaction
//! that replaces every page (and leaves no stale WAL behind).

use nicplane_domain::{Error, Result};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Name of the table the migrations keep, present in every nicplane database.
const MIGRATIONS_TABLE: &str = "schema_migrations";

/// What a backup or restore copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// Size of the copy in bytes.
    pub bytes: u64,
    /// The newest migration applied to the copied database.
    pub schema_version: i64,
}

fn unavailable(what: &str, path: &Path, e: impl std::fmt::Display) -> Error {
    Error::unavailable(format!("{what} {}: {e}", path.display()))
}

/// Copy the database at `db` into a new file `to` (which must not exist).
pub fn backup(db: &Path, to: &Path) -> Result<BackupReport> {
    if to.exists() {
        return Err(exists(to));
    }
    let source = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| unavailable("Cannot open the SQLite database", db, e))?;
    // The writer's checkpoint may hold a lock for a moment; wait like the server does.
    source
        .busy_timeout(Duration::from_secs(5))
        .map_err(|e| unavailable("Cannot open the SQLite database", db, e))?;
    let partial = partial_path(to);
    let _ = std::fs::remove_file(&partial);
    let result = (|| {
        source
            .execute("VACUUM INTO ?1", [partial.to_string_lossy()])
            .map_err(|e| unavailable("Cannot copy the SQLite database", db, e))?;
        let report = check(&partial)?;
        std::fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(|e| unavailable("Cannot flush", &partial, e))?;
        // A hard link, unlike a rename, never replaces a file that appeared
        // meanwhile (another backup to the same name).
        std::fs::hard_link(&partial, to).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => exists(to),
            _ => unavailable("Cannot create", to, e),
        })?;
        let _ = std::fs::remove_file(&partial);
        sync_parent(to);
        Ok(report)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// Replace the database at `db` (created when missing) with the backup
/// `from`. Refused while anything else has `db` open.
pub fn restore(from: &Path, db: &Path) -> Result<BackupReport> {
    let report = check(from)?;
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| unavailable("Cannot create the directory", dir, e))?;
    }
    let mut target =
        Connection::open(db).map_err(|e| unavailable("Cannot open the SQLite database", db, e))?;
    // Exclusive locking mode keeps the lock after the transaction ends, until
    // the connection closes; BEGIN EXCLUSIVE fails at once while a server (or
    // any other connection) has the database open.
    target
        .execute_batch("PRAGMA busy_timeout = 0; PRAGMA locking_mode = EXCLUSIVE;")
        .map_err(|e| unavailable("Cannot lock the SQLite database", db, e))?;
    if target.execute_batch("BEGIN EXCLUSIVE; COMMIT;").is_err() {
        return Err(Error::conflict(
            nicplane_domain::ConflictReason::InUse,
            format!(
                "The database {} is in use; stop the server before restoring.",
                db.display()
            ),
        ));
    }
    let source = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| unavailable("Cannot open the backup", from, e))?;
    {
        let copy = rusqlite::backup::Backup::new(&source, &mut target)
            .map_err(|e| unavailable("Cannot restore into", db, e))?;
        // All pages in one step: one transaction on the target.
        copy.step(-1)
            .map_err(|e| unavailable("Cannot restore into", db, e))?;
    }
    target
        .execute_batch("PRAGMA journal_mode = WAL;")
        .map_err(|e| unavailable("Cannot restore into", db, e))?;
    let ok: String = target
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| unavailable("Cannot check", db, e))?;
    if ok != "ok" {
        return Err(Error::unavailable(format!(
            "The restored database {} failed its integrity check: {ok}",
            db.display()
        )));
    }
    Ok(report)
}

/// Check that `path` is a sound nicplane database: `PRAGMA integrity_check`
/// answers `ok` and the migrations table exists.
pub fn check(path: &Path) -> Result<BackupReport> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| unavailable("Cannot open", path, e))?;
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| unavailable("Cannot check", path, e))?;
    if ok != "ok" {
        return Err(Error::unavailable(format!(
            "{} failed its integrity check: {ok}",
            path.display()
        )));
    }
    let schema_version: i64 = conn
        .query_row(
            &format!("SELECT coalesce(max(version), 0) FROM {MIGRATIONS_TABLE}"),
            [],
            |r| r.get(0),
        )
        .map_err(|_| {
            Error::invalid_value(
                "backup file",
                format!("{} is not a nicplane database.", path.display()),
            )
        })?;
    let bytes = std::fs::metadata(path)
        .map_err(|e| unavailable("Cannot read", path, e))?
        .len();
    Ok(BackupReport {
        bytes,
        schema_version,
    })
}

fn exists(to: &Path) -> Error {
    Error::invalid_value(
        "backup file",
        format!("{} already exists; choose a new file.", to.display()),
    )
}

/// `FILE.partial`, where a backup is written before it is renamed.
fn partial_path(to: &Path) -> PathBuf {
    let mut name = to.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    to.with_file_name(name)
}

/// Flush the directory entry of a rename (best effort; not on every OS).
fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}
