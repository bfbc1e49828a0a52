//! Operator commands that work on the installation rather than through the
//! API: `backup` and `restore` of the SQLite store, `completions`.
//!
//! Backup opens the database file directly (read-only) instead of asking
//! the server: SQLite in WAL mode lets a second process read a consistent
//! snapshot while the server writes, so the backup needs no endpoint, no
//! token and no server-side path, and it works the same whether the server
//! runs or not. See `nicplane_store::sqlite::backup` for how.

use crate::serve;
use anyhow::{bail, Result};
use clap::{Args, CommandFactory};
use nicplane_store::sqlite::backup;
use std::path::PathBuf;

/// Where the store is: the same options (and variables, and config file
/// keys) as `serve`.
#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// The server's TOML config file, to read `data-dir` and `database` from.
    #[arg(long, env = "NICPLANE_CONFIG_FILE", value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// Directory of the embedded SQLite database.
    #[arg(long, env = "NICPLANE_DATA_DIR", default_value = "nicplane-data")]
    pub data_dir: PathBuf,
    /// Store URL (`sqlite://PATH`); overrides --data-dir.
    #[arg(long, env = "NICPLANE_DATABASE_URL")]
    pub database: Option<String>,
}

impl StoreArgs {
    /// The SQLite file, or an error naming pg_dump for PostgreSQL.
    fn sqlite_file(&self) -> Result<PathBuf> {
        let Some(url) = &self.database else {
            return Ok(serve::sqlite_file(&self.data_dir));
        };
        match nicplane_store::sqlite_path(url) {
            Some(p) => Ok(PathBuf::from(p)),
            None => bail!(
                "backup and restore are for the SQLite store; back up PostgreSQL with pg_dump (docs/operations.md)"
            ),
        }
    }
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// The backup file to create (must not exist).
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The backup file to restore.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `nicplane backup`: a consistent copy of the running server's database.
pub fn backup(a: BackupArgs) -> Result<()> {
    let db = a.store.sqlite_file()?;
    let r = backup::backup(&db, &a.to).map_err(|e| anyhow::anyhow!("{}", e.client_message()))?;
    println!(
        "Backed up {} to {} ({} bytes, schema version {}, integrity ok)",
        db.display(),
        a.to.display(),
        r.bytes,
        r.schema_version
    );
    Ok(())
}

/// `nicplane restore`: replace the (stopped) server's database with a backup.
pub fn restore(a: RestoreArgs) -> Result<()> {
    let db = a.store.sqlite_file()?;
    let r = backup::restore(&a.from, &db).map_err(|e| anyhow::anyhow!("{}", e.client_message()))?;
    println!(
        "Restored {} from {} (schema version {}, integrity ok)",
        db.display(),
        a.from.display(),
        r.schema_version
    );
    Ok(())
}

/// `nicplane completions SHELL`: the shell's completion script on stdout.
pub fn completions(shell: clap_complete::Shell) {
    let mut cmd = crate::Args::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "nicplane", &mut script);
    // A closed pipe (`| head`) is the reader's choice, not an error.
    let _ = std::io::Write::write_all(&mut std::io::stdout(), &script);
}
