//! What the store measures about itself, for `GET /metrics`
//! (docs/operations.md, "Metrics").
//!
//! Each backend owns one [`StoreMetrics`] and records into it where the
//! work happens: the SQLite writer thread (group sizes, commit latency) and
//! read pool (waits for a read connection); the PostgreSQL pool (waits for a
//! connection, checkouts that timed out), its retry loop (retries by reason,
//! use cases given up) and its commits. [`StoreMetrics::register`] adds the
//! backend's metrics to a scrape's registry; the metrics are shared handles,
//! so registering them costs nothing and copies nothing.
//!
//! No label carries a value a client chooses: every series exists from the
//! start, so nothing a request does can grow the number of series.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use std::sync::LazyLock;
use std::time::Duration;

/// SQL statements the use cases of this process ran, on either engine
/// (process-wide: one server runs one store). Counted where a statement is
/// executed (`sqlite::exec`, `postgres::exec`), not the transaction control
/// around it (`BEGIN`, `SAVEPOINT`, `COMMIT`). `nicplane bench http` divides
/// its growth by the requests of a phase: statements per attach.
pub(crate) static STATEMENTS: LazyLock<Counter> = LazyLock::new(Counter::default);

/// Count one statement run (see [`STATEMENTS`]); its text is logged at
/// `trace` level under the target `nicplane_store::sql`
/// (`NICPLANE_LOG=warn,nicplane_store::sql=trace` lists what a request runs).
pub(crate) fn statement_run(sql: &str) {
    STATEMENTS.inc();
    tracing::trace!(target: "nicplane_store::sql", sql, "statement");
}

/// Round trips to PostgreSQL of this process: each time a connection wrote
/// what it had to send (statements sent together, a pipelined `BEGIN` or
/// queued writes with the next statement, count once) and waited for the
/// answers. Counted in `postgres::conn`; `nicplane bench http` divides its
/// growth by the requests of a phase.
pub(crate) static ROUND_TRIPS: LazyLock<Counter> = LazyLock::new(Counter::default);

/// Buckets of commit latency: 0.25 ms to about 8 s, doubling.
fn commit_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

/// Buckets of waits for a connection: 0.1 ms to about 26 s, times four
/// (the longest waits are `sqlite::READER_WAIT` (10 s) and the PostgreSQL
/// checkout timeout (30 s)).
fn wait_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.000_1, 4.0, 10))
}

/// Buckets of group sizes: 1 to 256 writes (`StoreOptions::max_group`).
fn group_buckets() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 9))
}

/// Why the PostgreSQL store ran a use case again (the `reason` label).
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum RetryReason {
    /// A serialization failure, a deadlock or a lost get-or-create race.
    Conflict,
    /// The connection broke before `COMMIT`.
    Connection,
}

impl RetryReason {
    fn label(self) -> &'static str {
        match self {
            RetryReason::Conflict => "conflict",
            RetryReason::Connection => "connection",
        }
    }
}

/// Labels of `nicplane_postgres_retries_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RetryLabels {
    reason: &'static str,
}

/// The backend, as the `backend` label of `nicplane_store_info`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendLabel {
    backend: &'static str,
}

/// The store's own metrics (see the module documentation).
#[derive(Debug, Clone)]
pub struct StoreMetrics {
    backend: &'static str,
    /// Seconds a `COMMIT` took (SQLite: one per group; with `synchronous =
    /// FULL` the WAL's fsync is not in it but in `wal_sync_seconds`).
    pub(crate) commit_seconds: Histogram,
    /// SQLite, `synchronous = FULL`: seconds one fsync of the WAL took (the
    /// syncer thread's, after one or more groups committed).
    pub(crate) wal_sync_seconds: Histogram,
    /// SQLite: writes committed together in one group.
    pub(crate) group_size: Histogram,
    /// SQLite: groups begun again because a write failed after changing rows.
    pub(crate) group_restarts: Counter,
    /// SQLite: seconds a read waited for a free read connection.
    pub(crate) reader_wait_seconds: Histogram,
    /// PostgreSQL: seconds a use case waited for a pooled connection.
    pub(crate) pool_wait_seconds: Histogram,
    /// PostgreSQL: checkouts that found no free connection in time (503).
    pub(crate) pool_timeouts: Counter,
    /// PostgreSQL: use cases run again, by reason.
    retries: Family<RetryLabels, Counter>,
    /// PostgreSQL: use cases given up after `postgres::MAX_ATTEMPTS`.
    pub(crate) gave_up: Counter,
    /// PostgreSQL: connections open (idle or leased).
    pub(crate) connections_open: Gauge,
}

impl StoreMetrics {
    /// Fresh metrics of a backend (`"sqlite"` or `"postgres"`).
    pub(crate) fn new(backend: &'static str) -> Self {
        StoreMetrics {
            backend,
            commit_seconds: commit_buckets(),
            wal_sync_seconds: commit_buckets(),
            group_size: group_buckets(),
            group_restarts: Counter::default(),
            reader_wait_seconds: wait_buckets(),
            pool_wait_seconds: wait_buckets(),
            pool_timeouts: Counter::default(),
            retries: Family::default(),
            gave_up: Counter::default(),
            connections_open: Gauge::default(),
        }
    }

    /// Add this backend's metrics to `registry` (names under `nicplane_`
    /// when the registry has that prefix; see docs/operations.md).
    pub fn register(&self, registry: &mut Registry) {
        let info = Family::<BackendLabel, Gauge>::default();
        info.get_or_create(&BackendLabel {
            backend: self.backend,
        })
        .set(1);
        registry.register(
            "store_info",
            "The store backend this server runs on (always 1)",
            info,
        );
        registry.register_with_unit(
            "store_commit_duration",
            "Time a store COMMIT took (SQLite: one per group of writes; the WAL's fsync is counted apart)",
            Unit::Seconds,
            self.commit_seconds.clone(),
        );
        registry.register(
            "store_statements",
            "SQL statements the use cases ran (transaction control not counted)",
            STATEMENTS.clone(),
        );
        match self.backend {
            "sqlite" => {
                registry.register(
                    "sqlite_group_size",
                    "Writes committed together in one SQLite group commit",
                    self.group_size.clone(),
                );
                registry.register_with_unit(
                    "sqlite_wal_sync_duration",
                    "Time one fsync of the SQLite WAL took before the writes it covers were answered (synchronous = full)",
                    Unit::Seconds,
                    self.wal_sync_seconds.clone(),
                );
                registry.register(
                    "sqlite_group_restarts",
                    "SQLite groups begun again because a write failed after changing rows",
                    self.group_restarts.clone(),
                );
                registry.register_with_unit(
                    "sqlite_reader_wait",
                    "Time a read waited for a free SQLite read connection",
                    Unit::Seconds,
                    self.reader_wait_seconds.clone(),
                );
            }
            _ => {
                registry.register_with_unit(
                    "postgres_pool_wait",
                    "Time a use case waited for a pooled PostgreSQL connection",
                    Unit::Seconds,
                    self.pool_wait_seconds.clone(),
                );
                registry.register(
                    "postgres_round_trips",
                    "Round trips to PostgreSQL (statements sent together count once)",
                    ROUND_TRIPS.clone(),
                );
                registry.register(
                    "postgres_pool_timeouts",
                    "Use cases that found no free PostgreSQL connection in time (answered 503)",
                    self.pool_timeouts.clone(),
                );
                // Both reasons exist from the start, at 0.
                for reason in [RetryReason::Conflict, RetryReason::Connection] {
                    let _ = self.retries.get_or_create(&RetryLabels {
                        reason: reason.label(),
                    });
                }
                registry.register(
                    "postgres_retries",
                    "Use cases run again, by reason: conflict (serialization failure, deadlock) or connection (lost before COMMIT)",
                    self.retries.clone(),
                );
                registry.register(
                    "postgres_gave_up",
                    "Use cases given up after the last retry",
                    self.gave_up.clone(),
                );
                registry.register(
                    "postgres_connections_open",
                    "PostgreSQL connections this server holds open (idle or in use)",
                    self.connections_open.clone(),
                );
            }
        }
    }

    /// Count a retry.
    pub(crate) fn retried(&self, reason: RetryReason) {
        self.retries
            .get_or_create(&RetryLabels {
                reason: reason.label(),
            })
            .inc();
    }
}

/// Seconds of a duration, for a histogram.
pub(crate) fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}
