//! Persistence of nicplane.
//!
//! The service layer runs each use case as a closure over a [`Tx`], the
//! store's transaction interface, through [`Store::write`] (one writing
//! transaction, committed before the caller gets the answer), [`Store::read`]
//! or [`Store::dry_run`] (run fully, then roll back).
//!
//! The SQLite backend ([`sqlite`]) funnels every write through one writer
//! thread that commits queued use cases in groups (a use case that fails
//! after changing rows is undone alone: `sqlite::run_group`): SQLite has one
//! writer anyway, and one fsync per group instead of per request is what
//! lets it reach thousands of writes per second.
//!
//! The PostgreSQL backend ([`postgres`]) runs each use case in its own
//! transaction on a pooled connection, with row locks and a bounded retry, so
//! that several nicplane servers can share one database. The service layer
//! sees neither: it programs against [`Store`] and [`Tx`] only.
//!
//! Both backends run the same statements: [`sql`] holds every query, column
//! list and row mapper, and the one implementation of [`Tx`]
//! ([`sql::SqlTx`]), over a small executor each backend provides
//! (`sqlite::exec`, `postgres::exec`).

pub mod capacity;
pub mod credential_job;
pub mod external_port;
pub mod feed;
pub mod host;
pub mod metrics;
pub mod neutron;
pub mod postgres;
pub mod project;
pub mod quota;
pub mod roles;
pub mod router;
pub mod sql;
pub mod sqlite;
pub mod trunk;
pub mod tx;
pub mod user_auth;

pub use capacity::*;
pub use credential_job::*;
pub use external_port::*;
pub use feed::*;
pub use host::*;
pub use neutron::*;
pub use project::*;
pub use quota::*;
pub use router::*;
pub use trunk::*;
pub use tx::*;
pub use user_auth::*;

use nicplane_domain::{Error, Result};
use std::sync::Arc;

/// A use case: runs inside one transaction. It is `Fn`, not `FnOnce`, so a
/// backend may run it again after a serialization failure.
pub type Work<R> = Box<dyn Fn(&mut dyn Tx) -> Result<R> + Send + Sync>;

/// A handle on the store, cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Backend>,
}

enum Backend {
    Sqlite(sqlite::SqliteStore),
    Postgres(Box<postgres::PgStore>),
}

/// Settings of the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// SQLite: read connections kept open.
    pub readers: usize,
    /// SQLite: at most this many queued writes are committed together.
    pub max_group: usize,
    /// PostgreSQL: most connections this server opens to the database (the
    /// most use cases running at once; the others wait for a connection).
    pub pool_size: usize,
    /// SQLite: how hard each commit is pushed to disk.
    pub sqlite_synchronous: Synchronous,
}

/// SQLite's `PRAGMA synchronous` for the writer (WAL mode).
///
/// * `Full` (the default): the WAL holding a group's commit is fsynced (by
///   the syncer thread, while the writer runs the next group) before any
///   write in the group is acknowledged; an acknowledged write survives a
///   power loss. Another read can see a write during its fsync.
/// * `Normal`: the WAL is fsynced only at checkpoints; the database stays
///   consistent after a crash, but the last acknowledged writes can be lost
///   on a power loss or kernel crash. Faster; an explicit choice
///   (`--sqlite-synchronous normal`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Synchronous {
    #[default]
    Full,
    Normal,
}

impl Synchronous {
    /// The pragma's value.
    pub fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

impl std::str::FromStr for Synchronous {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "full" => Ok(Synchronous::Full),
            "normal" => Ok(Synchronous::Normal),
            _ => Err(Error::invalid_value(
                "sqlite synchronous",
                format!("'{s}' is not one of full, normal."),
            )),
        }
    }
}

/// Default of [`StoreOptions::pool_size`]: PostgreSQL's default
/// `max_connections` of 100 leaves room for about ten servers.
pub const DEFAULT_POOL_SIZE: usize = 8;

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            readers: 4,
            max_group: 256,
            pool_size: DEFAULT_POOL_SIZE,
            sqlite_synchronous: Synchronous::Full,
        }
    }
}

/// The file a SQLite store URL names (`sqlite://PATH`, `sqlite:PATH` or a
/// plain path); None for a PostgreSQL URL.
pub fn sqlite_path(url: &str) -> Option<&str> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        None
    } else if let Some(rest) = url.strip_prefix("sqlite://") {
        Some(rest)
    } else if let Some(rest) = url.strip_prefix("sqlite:") {
        Some(rest)
    } else {
        Some(url)
    }
}

impl Store {
    /// Open (and migrate) the store named by a URL: `postgres://…` or
    /// `postgresql://…` for PostgreSQL; `sqlite://PATH`, `sqlite::memory:` or
    /// a plain file path for SQLite.
    pub fn open(url: &str, options: StoreOptions) -> Result<Store> {
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres(Box::new(postgres::PgStore::open(url, &options)?))
        } else {
            let path = sqlite_path(url).unwrap_or(url);
            Backend::Sqlite(sqlite::SqliteStore::open(path, options)?)
        };
        Ok(Store {
            inner: Arc::new(backend),
        })
    }

    /// Which backend this is: `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match *self.inner {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Run `work` on a blocking thread in a PostgreSQL transaction.
    async fn run_pg<R, F>(&self, mode: postgres::Mode, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: Fn(&mut dyn Tx) -> Result<R> + Send + Sync + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || match &*inner {
            Backend::Postgres(pg) => pg.run(mode, &f),
            Backend::Sqlite(_) => Err(Error::internal("not a PostgreSQL store")),
        })
        .await
        .map_err(|e| Error::internal(format!("store task failed: {e}")))?
    }

    /// Run `f` in a writing transaction; the answer comes after the commit.
    pub async fn write<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: Fn(&mut dyn Tx) -> Result<R> + Send + Sync + 'static,
    {
        match &*self.inner {
            Backend::Sqlite(s) => s.submit(Box::new(f), false).await,
            Backend::Postgres(_) => self.run_pg(postgres::Mode::Write, f).await,
        }
    }

    /// Run `f` fully in a writing transaction, then roll it back.
    pub async fn dry_run<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: Fn(&mut dyn Tx) -> Result<R> + Send + Sync + 'static,
    {
        match &*self.inner {
            Backend::Sqlite(s) => s.submit(Box::new(f), true).await,
            Backend::Postgres(_) => self.run_pg(postgres::Mode::DryRun, f).await,
        }
    }

    /// Run `f` on a read-only connection (PostgreSQL: a read-only snapshot).
    ///
    /// SQLite: when a read connection is free, the read runs right here, on
    /// the caller's thread: a read is a few indexed lookups (lists are paged),
    /// far cheaper than the hand-off to tokio's blocking pool and back that
    /// it would otherwise cost (docs/performance.md). When every connection
    /// is busy, the read waits for one on the blocking pool as before.
    pub async fn read<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: Fn(&mut dyn Tx) -> Result<R> + Send + Sync + 'static,
    {
        if let Backend::Sqlite(s) = &*self.inner {
            if let Some(conn) = s.try_reader() {
                return s.read_on(conn, f);
            }
        }
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || match &*inner {
            Backend::Sqlite(s) => s.read(f),
            Backend::Postgres(pg) => pg.run(postgres::Mode::Read, &f),
        })
        .await
        .map_err(|e| Error::internal(format!("read task failed: {e}")))?
    }

    /// Run `f`, which runs exactly one statement, as a read: on PostgreSQL
    /// that statement runs on its own, without `BEGIN` and `ROLLBACK` (one
    /// round trip instead of two; one statement sees one snapshot anyway),
    /// and a second statement is refused as an internal error. SQLite runs
    /// it as [`Store::read`]. For reads every request makes, such as its
    /// token's (`Service::authenticate`).
    pub async fn read_one<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: Fn(&mut dyn Tx) -> Result<R> + Send + Sync + 'static,
    {
        match &*self.inner {
            Backend::Sqlite(_) => self.read(f).await,
            Backend::Postgres(_) => self.run_pg(postgres::Mode::Statement, f).await,
        }
    }

    /// Whether events get their numbers from a background sequencer
    /// ([`Store::feed_sequence`], PostgreSQL) rather than in the write itself
    /// (SQLite).
    pub fn feed_sequenced_in_background(&self) -> bool {
        matches!(&*self.inner, Backend::Postgres(_))
    }

    /// One round of the change feed's sequencer (PostgreSQL; see
    /// `postgres::PgStore::feed_sequence`). On SQLite, where writes number
    /// their own events, it only reports the newest number.
    pub async fn feed_sequence(&self) -> Result<postgres::FeedRound> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || match &*inner {
            Backend::Sqlite(s) => s.read(|tx| {
                Ok(postgres::FeedRound {
                    newest: tx.events_bounds()?.map(|b| b.newest),
                    ..Default::default()
                })
            }),
            Backend::Postgres(pg) => pg.feed_sequence(),
        })
        .await
        .map_err(|e| Error::internal(format!("feed task failed: {e}")))?
    }

    /// The store's own metrics (see [`metrics`]).
    pub fn metrics(&self) -> &metrics::StoreMetrics {
        match &*self.inner {
            Backend::Sqlite(s) => s.metrics(),
            Backend::Postgres(pg) => pg.metrics(),
        }
    }

    /// Whether the store answers a trivial query.
    pub async fn ping(&self) -> Result<()> {
        self.read(|tx| tx.ping()).await
    }
}
