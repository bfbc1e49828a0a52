//! Persistence of nicplane.
//!
//! The service layer runs each use case as a closure over a [`Tx`], the
//! store's transaction interface, through [`Store::write`] (one writing
//! transaction, committed before the caller gets the answer), [`Store::read`]
//! or [`Store::dry_run`] (run fully, then roll back).
//!
//! The SQLite backend ([`sqlite`]) funnels every write through one writer
//! thread that commits queued use cases in groups, each inside its own
//! savepoint: SQLite has one writer anyway, and one fsync per group instead of
//! per request is what lets it reach thousands of writes per second.

pub mod sqlite;
pub mod tx;

pub use tx::*;

use nicplane_domain::{Error, Result};
use std::sync::Arc;

/// A use case: runs inside one transaction. It is `Fn`, not `FnOnce`, so a
/// backend may run it again after a serialization failure.
pub type Work<R> = Box<dyn Fn(&mut dyn Tx) -> Result<R> + Send + Sync>;

/// A handle on the store, cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<sqlite::SqliteStore>,
}

/// Settings of the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Read connections kept open.
    pub readers: usize,
    /// At most this many queued writes are committed together.
    pub max_group: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            readers: 4,
            max_group: 256,
        }
    }
}

impl Store {
    /// Open (and migrate) the store named by a URL: `sqlite://PATH`,
    /// `sqlite::memory:` or a plain file path.
    pub fn open(url: &str, options: StoreOptions) -> Result<Store> {
        let path = if let Some(rest) = url.strip_prefix("sqlite://") {
            rest.to_string()
        } else if let Some(rest) = url.strip_prefix("sqlite:") {
            rest.to_string()
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Err(Error::invalid(
                "PostgreSQL is not supported by this build yet; use a sqlite:// URL.",
            ));
        } else {
            url.to_string()
        };
        Ok(Store {
            inner: Arc::new(sqlite::SqliteStore::open(&path, options)?),
        })
    }

    /// Run `f` in a writing transaction; the answer comes after the commit.
    pub async fn write<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: Fn(&mut dyn Tx) -> Result<R> + Send + Sync + 'static,
    {
        self.inner.submit(Box::new(f), false).await
    }

    /// Run `f` fully in a writing transaction, then roll it back.
    pub async fn dry_run<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: Fn(&mut dyn Tx) -> Result<R> + Send + Sync + 'static,
    {
        self.inner.submit(Box::new(f), true).await
    }

    /// Run `f` on a read-only connection.
    pub async fn read<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: Fn(&mut dyn Tx) -> Result<R> + Send + Sync + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.read(f))
            .await
            .map_err(|e| Error::internal(format!("read task failed: {e}")))?
    }

    /// Whether the store answers a trivial query.
    pub async fn ping(&self) -> Result<()> {
        self.read(|tx| tx.ping()).await
    }
}
