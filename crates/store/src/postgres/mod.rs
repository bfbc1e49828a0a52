//! The PostgreSQL backend: a bounded pool of connections, the one helper that
//! runs every transaction (and retries it), and the executor (`exec`) that
//! the one [`Tx`](crate::Tx) implementation, `crate::sql::SqlTx`, runs on.
//!
//! Several nicplane servers may share one database. Nothing here relies on
//! being the only writer: every invariant rests on a constraint or on a row
//! lock taken inside the transaction (see `exec`, `crate::sql` and
//! `docs/postgres.md`).
//!
//! [`PgStore::run`] is the one place a transaction begins and ends. Writes run
//! at `READ COMMITTED` with explicit row locks; a serialization failure, a
//! deadlock, a lost race for a get-or-create row or a connection found dead
//! before `COMMIT` runs the whole use case again (it is `Fn` for that), at
//! most [`MAX_ATTEMPTS`] times, with a short jittered backoff. A lost or
//! refused connection answers [`Error::Unavailable`]; broken connections are
//! dropped from the pool and new ones are opened on the next use, so the store
//! recovers by itself when the database is back.
//!
//! A connection ([`conn::Conn`]) is driven synchronously (a private tokio
//! runtime of its own), so it must never run on an async worker thread:
//! [`crate::Store`] calls [`PgStore::run`] through `spawn_blocking`, and
//! opening, migrating and closing connections happen on plain threads. A
//! transaction's `BEGIN` travels with its first statement (`conn`).

mod conn;
pub(crate) mod exec;
mod migrate;

pub use exec::PgTx;
pub use migrate::MIGRATION_LOCK_KEY;

use crate::metrics::{seconds, RetryReason, StoreMetrics};
use crate::{StoreOptions, Tx};
use ::postgres::NoTls;
pub(crate) use conn::Conn;
use exec::{classify, Failure};
use nicplane_domain::{Error, Result};
use rand::Rng;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio_postgres::Config;

/// Most times one use case runs before a retryable failure is reported.
pub const MAX_ATTEMPTS: u32 = 10;
/// First backoff between attempts; doubled each time up to [`BACKOFF_MAX`].
const BACKOFF_BASE: Duration = Duration::from_millis(2);
/// Longest backoff between attempts.
const BACKOFF_MAX: Duration = Duration::from_millis(100);
/// How long opening a connection may take, unless the URL sets `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a use case waits for a free connection when all are busy.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);

/// How a transaction runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Commit when the use case succeeds.
    Write,
    /// Run the use case fully, with its locks, then roll back.
    DryRun,
    /// A read-only snapshot.
    Read,
    /// One read statement on its own, outside any transaction.
    Statement,
}

impl Mode {
    fn begin(self) -> Option<&'static str> {
        match self {
            Mode::Write | Mode::DryRun => Some("BEGIN ISOLATION LEVEL READ COMMITTED"),
            Mode::Read => Some("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
            Mode::Statement => None,
        }
    }
}

struct PoolState {
    idle: Vec<Conn>,
    /// Connections open, idle or leased.
    open: usize,
}

/// At most `size` connections; a use case waits for one when all are busy.
struct Pool {
    config: Config,
    size: usize,
    state: Mutex<PoolState>,
    freed: Condvar,
    metrics: StoreMetrics,
}

/// A connection taken from the pool; goes back to it when dropped, or is
/// closed when it broke.
struct Lease<'p> {
    pool: &'p Pool,
    conn: Option<Conn>,
    broken: bool,
}

impl Lease<'_> {
    fn conn(&mut self) -> &mut Conn {
        self.conn
            .as_mut()
            .expect("a lease holds its connection until dropped")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if self.broken || conn.is_closed() {
                self.pool.close(vec![conn]);
            } else {
                self.pool.lock().idle.push(conn);
                self.pool.freed.notify_one();
            }
        }
    }
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self) -> Result<Lease<'_>> {
        let start = Instant::now();
        let deadline = start + CHECKOUT_TIMEOUT;
        let waited = || {
            self.metrics
                .pool_wait_seconds
                .observe(seconds(start.elapsed()))
        };
        let mut state = self.lock();
        loop {
            if let Some(conn) = state.idle.pop() {
                drop(state);
                waited();
                return Ok(self.lease(conn));
            }
            if state.open < self.size {
                state.open += 1;
                self.metrics.connections_open.set(state.open as i64);
                drop(state);
                waited();
                return match self.connect() {
                    Ok(conn) => Ok(self.lease(conn)),
                    Err(e) => {
                        let mut state = self.lock();
                        state.open -= 1;
                        self.metrics.connections_open.set(state.open as i64);
                        drop(state);
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                drop(state);
                waited();
                self.metrics.pool_timeouts.inc();
                return Err(Error::unavailable(format!(
                    "All {} database connections are busy; try again.",
                    self.size
                )));
            }
            state = self
                .freed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn lease(&self, conn: Conn) -> Lease<'_> {
        Lease {
            pool: self,
            conn: Some(conn),
            broken: false,
        }
    }

    fn connect(&self) -> Result<Conn> {
        Conn::connect(&self.config).map_err(cannot_connect)
    }

    /// Close connections that are leased no more.
    fn close(&self, conns: Vec<Conn>) {
        if conns.is_empty() {
            return;
        }
        let n = conns.len();
        drop(conns);
        let mut state = self.lock();
        state.open -= n;
        self.metrics.connections_open.set(state.open as i64);
        drop(state);
        self.freed.notify_all();
    }

    /// One connection broke: the database probably restarted, so the idle
    /// ones are stale too. Close them rather than fail one use case per
    /// stale connection.
    fn flush_idle(&self) {
        let idle = std::mem::take(&mut self.lock().idle);
        self.close(idle);
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing a connection blocks on the client's own runtime, which
        // panics on an async worker thread: close them on a plain thread.
        let idle = std::mem::take(&mut self.lock().idle);
        if !idle.is_empty() {
            let _ = std::thread::spawn(move || drop(idle)).join();
        }
    }
}

/// The PostgreSQL store.
pub struct PgStore {
    pool: Pool,
}

impl PgStore {
    /// Connect to the database named by a `postgres://` URL and migrate it.
    /// Blocks; safe to call from async code (the work runs on its own thread).
    pub fn open(url: &str, options: &StoreOptions) -> Result<Self> {
        std::thread::scope(|s| {
            s.spawn(|| Self::open_blocking(url, options))
                .join()
                .unwrap_or_else(|_| Err(Error::internal("opening the database panicked")))
        })
    }

    fn open_blocking(url: &str, options: &StoreOptions) -> Result<Self> {
        let mut config: Config = url
            .parse()
            .map_err(|e| Error::invalid(format!("Invalid PostgreSQL URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("nicplane");
        }
        let store = PgStore {
            pool: Pool {
                config,
                size: options.pool_size.max(1),
                state: Mutex::new(PoolState {
                    idle: Vec::new(),
                    open: 0,
                }),
                freed: Condvar::new(),
                metrics: StoreMetrics::new("postgres"),
            },
        };
        // The migration runs once, on a connection of its own.
        let mut client = ::postgres::Config::from(store.pool.config.clone())
            .connect(NoTls)
            .map_err(cannot_connect)?;
        migrate::migrate(&mut client)?;
        Ok(store)
    }

    /// This store's metrics.
    pub fn metrics(&self) -> &StoreMetrics {
        &self.pool.metrics
    }

    /// Run `work` in one transaction (blocking), retrying it on the failures
    /// that a second run may not meet; see the module documentation.
    pub fn run<R>(&self, mode: Mode, work: &dyn Fn(&mut dyn Tx) -> Result<R>) -> Result<R> {
        let mut attempt = 1;
        loop {
            match self.attempt(mode, work) {
                Ok(r) => return Ok(r),
                Err(f) if f.retry && attempt < MAX_ATTEMPTS => {
                    tracing::debug!(attempt, error = %f.error, "running a transaction again");
                    self.pool.metrics.retried(if f.broken {
                        RetryReason::Connection
                    } else {
                        RetryReason::Conflict
                    });
                    if !f.broken {
                        std::thread::sleep(backoff(attempt));
                    }
                    attempt += 1;
                }
                Err(f) => {
                    if f.retry {
                        self.pool.metrics.gave_up.inc();
                        tracing::warn!(attempt, error = %f.error, "giving up on a transaction");
                    }
                    return Err(f.error);
                }
            }
        }
    }

    fn attempt<R>(
        &self,
        mode: Mode,
        work: &dyn Fn(&mut dyn Tx) -> Result<R>,
    ) -> Result<R, Failure> {
        let mut lease = self.pool.get().map_err(|error| Failure {
            error,
            retry: false,
            broken: false,
        })?;
        if let Some(begin) = mode.begin() {
            lease.conn().begin(begin);
        }
        let (result, failure) = {
            let writing = matches!(mode, Mode::Write | Mode::DryRun);
            let mut tx = exec::tx(lease.conn(), writing, mode == Mode::Statement);
            let result = catch_unwind(AssertUnwindSafe(|| work(&mut tx)))
                .unwrap_or_else(|_| Err(Error::internal("a use case panicked")));
            (result, tx.exec().failure().cloned())
        };
        if let Some(f) = failure.as_ref().filter(|f| f.broken) {
            lease.conn().take_open();
            return Err(self.broke(&mut lease, f.clone()));
        }
        // A use case that ran no statement began no transaction.
        if !lease.conn().take_open() {
            return match (result, failure) {
                (Ok(r), None) => Ok(r),
                (Ok(_), Some(f)) => Err(f),
                (Err(error), f) => Err(Failure {
                    error,
                    retry: f.is_some_and(|f| f.retry),
                    broken: false,
                }),
            };
        }
        match (result, failure) {
            (Ok(r), None) if mode == Mode::Write => {
                let start = Instant::now();
                let commit = lease.conn().batch_execute("COMMIT");
                self.pool
                    .metrics
                    .commit_seconds
                    .observe(seconds(start.elapsed()));
                match commit {
                    Ok(()) => Ok(r),
                    Err(e) => {
                        let f = classify(&e);
                        if f.broken {
                            return Err(self.broke(
                                &mut lease,
                                Failure {
                                    error: Error::unavailable(
                                        "The database connection was lost while committing; \
                                     the change may or may not have been saved.",
                                    ),
                                    retry: false,
                                    broken: true,
                                },
                            ));
                        }
                        Err(f)
                    }
                }
            }
            (Ok(r), None) => {
                // A dry run never commits, so deferred checks (the quota
                // charges of 0022_quota_deferred.sql) run here, or a dry run
                // would accept what the real write refuses.
                let checked = if mode == Mode::DryRun {
                    lease
                        .conn()
                        .batch_execute("SET CONSTRAINTS ALL IMMEDIATE")
                        .map_err(|e| classify(&e))
                } else {
                    Ok(())
                };
                self.rollback(&mut lease);
                checked.map(|()| r)
            }
            // The use case went on after a failed statement: PostgreSQL has
            // aborted the transaction, so report that statement's failure.
            (Ok(_), Some(f)) => {
                self.rollback(&mut lease);
                Err(f)
            }
            (Err(error), f) => {
                self.rollback(&mut lease);
                Err(Failure {
                    error,
                    retry: f.is_some_and(|f| f.retry),
                    broken: false,
                })
            }
        }
    }

    fn rollback(&self, lease: &mut Lease<'_>) {
        if let Err(e) = lease.conn().rollback() {
            tracing::warn!(error = %e, "rollback failed; closing the connection");
            lease.broken = true;
            if classify(&e).broken {
                self.pool.flush_idle();
            }
        }
    }

    /// Handle a failure; when the connection broke, drop it and the idle ones.
    fn broke(&self, lease: &mut Lease<'_>, f: Failure) -> Failure {
        if f.broken || lease.conn().is_closed() {
            tracing::warn!(error = %f.error, "lost a database connection");
            lease.broken = true;
            self.pool.flush_idle();
        }
        f
    }
}

/// A connection refused or timed out: the detail (host, port, OS error)
/// goes to the log only.
fn cannot_connect(e: ::postgres::Error) -> Error {
    tracing::warn!(error = %e, "cannot connect to PostgreSQL");
    Error::unavailable("Cannot connect to the database; try again.")
}

/// Equal-jitter exponential backoff before attempt `attempt + 1`.
fn backoff(attempt: u32) -> Duration {
    let full = BACKOFF_BASE
        .saturating_mul(1 << attempt.min(16))
        .min(BACKOFF_MAX);
    let half = full / 2;
    half + half.mul_f64(rand::thread_rng().gen::<f64>())
}

/// Key of the advisory lock the change feed's sequencer takes in each of
/// its short transactions ("nicfeeds" in ASCII): one server numbers events
/// at a time.
pub const FEED_SEQUENCER_LOCK_KEY: i64 = 0x6e69_6366_6565_6473;
/// Most events one sequencing transaction numbers.
pub const FEED_SEQUENCE_BATCH: i64 = 10_000;

/// What one sequencer round did and saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedRound {
    /// Events numbered by this round (0 when another server holds the lock).
    pub sequenced: u64,
    /// The newest number given so far.
    pub newest: Option<u64>,
    /// When the oldest event still without a number was written (Unix ms).
    pub oldest_unsequenced_ms: Option<i64>,
}

impl PgStore {
    /// One round of the change feed's sequencer (blocking), in its own
    /// `READ COMMITTED` transaction:
    ///
    /// ```sql
    /// SELECT pg_try_advisory_xact_lock(FEED_SEQUENCER_LOCK_KEY);
    /// -- only when the lock was granted; each statement sees every commit
    /// -- made before it started, the previous round's included:
    /// WITH base AS (SELECT COALESCE(MAX(seq), 0) AS m FROM events),
    ///      next AS (SELECT id, row_number() OVER (ORDER BY id) AS n
    ///               FROM events WHERE seq IS NULL ORDER BY id LIMIT $1)
    /// UPDATE events e SET seq = base.m + next.n FROM base, next WHERE e.id = next.id;
    /// ```
    ///
    /// Rounds run one at a time (the lock) and each numbers only rows that
    /// committed before it, after every number already given: an event
    /// that commits late gets a number above every visible one, so a
    /// reader following `seq > after` never skips it (docs/feed.md).
    pub fn feed_sequence(&self) -> Result<FeedRound> {
        let mut lease = self.pool.get()?;
        let conn = lease.conn();
        let result = (|| -> std::result::Result<FeedRound, ::postgres::Error> {
            conn.begin("BEGIN ISOLATION LEVEL READ COMMITTED");
            // Prepared once per connection: a round runs after every
            // commit of this server, and planning its statements each time
            // was most of its cost.
            let lock = conn.prepared("SELECT pg_try_advisory_xact_lock($1)")?;
            let granted: bool = conn
                .query(&lock, &[&FEED_SEQUENCER_LOCK_KEY])?
                .first()
                .is_some_and(|r| r.get(0));
            let mut sequenced = 0;
            if granted {
                let number = conn.prepared(
                    "WITH base AS (SELECT COALESCE(MAX(seq), 0) AS m FROM events), \
                     next AS (SELECT id, row_number() OVER (ORDER BY id) AS n \
                              FROM events WHERE seq IS NULL ORDER BY id LIMIT $1) \
                     UPDATE events e SET seq = base.m + next.n FROM base, next WHERE e.id = next.id",
                )?;
                sequenced = conn.execute(&number, &[&FEED_SEQUENCE_BATCH])?;
            }
            // The oldest event without a number by id (the order of the
            // inserts), one entry of the partial index `events_unsequenced`;
            // `MIN(at_ms)` read every entry, dead ones included, of a
            // region that a busy feed refills between vacuums.
            let ends = conn.prepared(
                "SELECT (SELECT MAX(seq) FROM events), \
                 (SELECT at_ms FROM events WHERE seq IS NULL ORDER BY id LIMIT 1)",
            )?;
            let rows = conn.query(&ends, &[])?;
            let (newest, oldest): (Option<i64>, Option<i64>) =
                rows.first().map_or((None, None), |r| (r.get(0), r.get(1)));
            conn.take_open();
            conn.batch_execute("COMMIT")?;
            Ok(FeedRound {
                sequenced,
                newest: newest.and_then(|n| u64::try_from(n).ok()),
                oldest_unsequenced_ms: oldest,
            })
        })();
        if result.is_err() && lease.conn().take_open() {
            self.rollback(&mut lease);
        }
        result.map_err(|e| {
            let f = classify(&e);
            self.broke(&mut lease, f).error
        })
    }
}
