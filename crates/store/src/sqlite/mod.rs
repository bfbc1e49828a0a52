//! The SQLite backend: one writer thread with group commit, a small pool of
//! read-only connections, and the executor (`exec`) that the one
//! [`Tx`](crate::Tx) implementation, `crate::sql::SqlTx`, runs on.
//!
//! Durability ([`crate::Synchronous`]): with `full` (the default) no write
//! is answered before the WAL holding it is fsynced. The writer itself
//! commits without waiting for the disk (its connection runs `synchronous =
//! NORMAL`) and hands the group's answers to a syncer thread
//! ([`syncer_loop`]), which fsyncs the WAL file and only then answers; the
//! writer meanwhile runs the next group. One fsync covers every group that
//! committed while the previous one ran. A read can therefore see a write
//! that is committed but not yet on disk (for about one fsync, a
//! millisecond or so); only a power loss or an OS crash in that window loses
//! it, and then its writer was never answered (docs/security.md,
//! "Durability"). A failed fsync is final: no write is acknowledged after
//! it until the server is restarted. With `normal` the WAL is fsynced only
//! at checkpoints.
//!
//! Readers: at most `StoreOptions::readers` read-only connections exist; a
//! read waits (up to [`READER_WAIT`]) for a free one and never opens more.
//!
//! Group commit: the writer takes every job queued (up to `max_group`),
//! opens one `BEGIN IMMEDIATE` transaction, runs the jobs in it (a job that
//! fails is undone alone: see [`run_group`]), commits once, and only then
//! answers every job. A job that failed answers its own
//! error; if the commit fails, every job that wanted to keep its changes gets
//! the commit's error.

pub mod backup;
pub(crate) mod conn;
pub(crate) mod exec;
mod migrate;

use crate::metrics::{seconds, StoreMetrics};
use crate::roles::RoleCache;
use crate::{StoreOptions, Synchronous, Tx};
use conn::SqliteConn;
use nicplane_domain::{Error, Result};
use rusqlite::Connection;
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

pub use exec::SqliteTx;

type Answer = Result<Box<dyn Any + Send>>;
type ErasedWork = Box<dyn Fn(&mut dyn Tx) -> Answer + Send>;

struct Job {
    work: ErasedWork,
    dry_run: bool,
    reply: oneshot::Sender<Answer>,
}

/// The SQLite store.
pub struct SqliteStore {
    writer: Mutex<mpsc::Sender<Job>>,
    /// The idle read connections; all of them are opened at start.
    readers: Mutex<Vec<SqliteConn>>,
    /// Signalled when a read connection is given back.
    reader_free: Condvar,
    /// Group sizes, commit latency, waits for a reader.
    metrics: StoreMetrics,
    /// The callers' roles in projects, told of every change by the writer
    /// ([`watch_memberships`]).
    roles: Arc<RoleCache>,
    /// Dropped with the store, which ends the checkpoint thread.
    _stop_checkpoints: mpsc::Sender<()>,
}

/// Longest a read waits for a free read connection before answering 503.
pub const READER_WAIT: Duration = Duration::from_secs(10);

/// The names of the store's threads, as `top -H` and `/proc/PID/task/*/comm`
/// show them (Linux keeps 15 bytes of a name, so each is shorter):
/// `nicplane bench http` reads the writer's CPU by its name.
pub const WRITER_THREAD: &str = "sqlite-writer";
/// The thread that fsyncs the WAL before answering (`synchronous = full`).
pub const SYNCER_THREAD: &str = "sqlite-syncer";
/// The thread that runs the WAL checkpoints.
pub const CHECKPOINT_THREAD: &str = "sqlite-checkpt";

/// How long a connection waits for a lock held by another process.
const BUSY_TIMEOUT_MS: u32 = 5_000;

/// SQLite's process-wide settings, made once before its first connection.
///
/// `SQLITE_CONFIG_MEMSTATUS` off: SQLite otherwise counts every allocation
/// under one process-wide mutex (a profile of the writer thread put ~6 % of
/// its time in `pthread_mutex_lock`/`unlock`); nothing here reads those
/// counts. If a connection was opened before this runs (SQLite already
/// initialized), SQLite refuses the setting and keeps counting: slower,
/// never wrong.
fn configure_sqlite() {
    static CONFIGURED: std::sync::Once = std::sync::Once::new();
    CONFIGURED.call_once(|| {
        // SAFETY: `sqlite3_config` is called before SQLite is initialized
        // (or fails harmlessly with SQLITE_MISUSE if it already is), with the
        // one `int` argument `SQLITE_CONFIG_MEMSTATUS` takes.
        let rc = unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS,
                0 as std::os::raw::c_int,
            )
        };
        if rc != rusqlite::ffi::SQLITE_OK {
            tracing::debug!(
                rc,
                "SQLite was initialized already; its memory statistics stay on"
            );
        }
    });
}

fn open_connection(path: &str, read_only: bool, sync: Synchronous) -> Result<Connection> {
    configure_sqlite();
    let conn = Connection::open(path)
        .map_err(|e| Error::unavailable(format!("Cannot open the SQLite database {path}: {e}")))?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = {};
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};
         PRAGMA cache_size = -{};
         PRAGMA temp_store = MEMORY;
         PRAGMA wal_autocheckpoint = {};
         PRAGMA journal_size_limit = {};
         PRAGMA query_only = {};",
        sync.pragma(),
        if read_only {
            READER_CACHE_KIB
        } else {
            WRITER_CACHE_KIB
        },
        WRITER_CHECKPOINT_PAGES,
        WAL_SIZE_LIMIT_BYTES,
        if read_only { 1 } else { 0 }
    ))
    .map_err(exec::decode)?;
    // One attach runs more distinct statements than rusqlite's default cache
    // of 16 holds; re-preparing them on every request would dominate its cost.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// The writer's lookaside: SQLite's own allocator for its small, short-lived
/// objects (cursors, registers, parse trees), `(slot bytes, slots)`. SQLite's
/// default (48 KB) is held for good by the writer's cached statements, so
/// every cursor and register of every statement went to `malloc`.
const WRITER_LOOKASIDE: (i32, i32) = (1200, 500);

/// Give the connection a lookaside of `slots` slots of `size` bytes, right
/// after it opened; false when SQLite refused (it does while lookaside
/// memory is in use: the connection keeps its default, slower, never wrong).
fn lookaside(conn: &Connection, (size, slots): (i32, i32)) -> bool {
    // SAFETY: the handle is this open connection's; SQLITE_DBCONFIG_LOOKASIDE
    // takes a buffer pointer (null: SQLite allocates it), the slot size and
    // the slot count, all of the types given.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_db_config(
            conn.handle(),
            rusqlite::ffi::SQLITE_DBCONFIG_LOOKASIDE,
            std::ptr::null_mut::<std::os::raw::c_void>(),
            size as std::os::raw::c_int,
            slots as std::os::raw::c_int,
        )
    };
    rc == rusqlite::ffi::SQLITE_OK
}

/// Page cache of the writer (and the checkpointer), in KiB: the pages of the
/// indexes every write walks stay in it.
const WRITER_CACHE_KIB: u32 = 16 * 1024;
/// Page cache of each read connection, in KiB. A page the cache misses is
/// one the kernel's page cache still holds; with eight readers, a larger
/// cache only made the resident memory grow with the database (138 MB after
/// a `bench http` run with 64 MB per connection), not the reads faster.
const READER_CACHE_KIB: u32 = 4 * 1024;

/// WAL pages after which a commit checkpoints on the writer itself. The
/// checkpointer thread ([`checkpoint_loop`]) normally keeps the WAL far below
/// this; the bound only matters when it falls behind (40 MB of 4 KiB pages).
const WRITER_CHECKPOINT_PAGES: u32 = 10_000;

/// How often the checkpointer thread copies the WAL into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// How often, under continuous writes, the writer itself checkpoints between
/// two groups so that the WAL starts over (see [`writer_loop`]).
const WAL_RESTART_EVERY: Duration = Duration::from_secs(1);

/// Longest the writer waits for readers to leave the WAL when it restarts it.
const RESTART_WAIT: Duration = Duration::from_millis(20);

/// The size a WAL file is cut back to when it starts over
/// (`PRAGMA journal_size_limit`): a burst's WAL does not stay on disk.
const WAL_SIZE_LIMIT_BYTES: u64 = 64 << 20;

/// Prepared statements cached per connection (more than all the store's queries).
const STATEMENT_CACHE: usize = 512;

impl SqliteStore {
    pub fn open(path: &str, options: StoreOptions) -> Result<Self> {
        if let Some(parent) = std::path::Path::new(path).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    Error::unavailable(format!("Cannot create the directory of {path}: {e}"))
                })?;
            }
        }
        let sync = options.sqlite_synchronous;
        // The writer never waits for the disk itself: with `full`, the
        // syncer thread fsyncs the WAL before any write is answered.
        let mut conn = open_connection(path, false, Synchronous::Normal)?;
        if !lookaside(&conn, WRITER_LOOKASIDE) {
            tracing::warn!("SQLite refused the writer's lookaside; it keeps the default (slower)");
        }
        let wal = PathBuf::from(format!("{path}-wal"));
        migrate::migrate(&mut conn)?;
        let roles = Arc::new(RoleCache::new());
        watch_memberships(&conn, roles.clone())?;
        if sync == Synchronous::Full {
            // What the migration wrote is on disk before anything is served.
            sync_wal(&wal).map_err(|e| {
                Error::unavailable(format!("Cannot fsync the SQLite WAL of {path}: {e}"))
            })?;
        }
        let mut readers = Vec::new();
        for _ in 0..options.readers.max(1) {
            readers.push(SqliteConn::new(open_connection(path, true, sync)?));
        }
        let (sender, receiver) = mpsc::channel::<Job>();
        let max_group = options.max_group.max(1);
        let checkpoints = Arc::new(Checkpoints::default());
        let writer_checkpoints = checkpoints.clone();
        let metrics = StoreMetrics::new("sqlite");
        let writer_metrics = metrics.clone();
        let writer_roles = roles.clone();
        let answers = match sync {
            Synchronous::Full => {
                let (to_syncer, committed) = mpsc::channel::<Committed>();
                let syncer_metrics = metrics.clone();
                std::thread::Builder::new()
                    .name(SYNCER_THREAD.into())
                    .spawn(move || syncer_loop(&wal, committed, &syncer_metrics))
                    .map_err(|e| Error::internal(format!("cannot start the syncer thread: {e}")))?;
                Answers::AfterSync(to_syncer)
            }
            Synchronous::Normal => Answers::AtCommit,
        };
        std::thread::Builder::new()
            .name(WRITER_THREAD.into())
            .spawn(move || {
                let writer = Writer {
                    conn: SqliteConn::new(conn),
                    roles: writer_roles,
                    answers,
                    metrics: writer_metrics,
                    checkpoints: writer_checkpoints,
                };
                writer_loop(&writer, receiver, max_group)
            })
            .map_err(|e| Error::internal(format!("cannot start the writer thread: {e}")))?;
        // Checkpoints on a connection of their own, off the writer: SQLite's
        // automatic checkpoint would run inside a group's COMMIT and every
        // write of that group would wait for it.
        let checkpointer = open_connection(path, false, sync)?;
        let (stop_checkpoints, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name(CHECKPOINT_THREAD.into())
            .spawn(move || checkpoint_loop(checkpointer, &checkpoints, stopped))
            .map_err(|e| Error::internal(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(SqliteStore {
            writer: Mutex::new(sender),
            _stop_checkpoints: stop_checkpoints,
            readers: Mutex::new(readers),
            reader_free: Condvar::new(),
            metrics,
            roles,
        })
    }

    /// This store's metrics.
    pub fn metrics(&self) -> &StoreMetrics {
        &self.metrics
    }

    /// Queue a write and wait for its answer (after the group commits).
    pub async fn submit<R: Send + 'static>(
        &self,
        work: crate::Work<R>,
        dry_run: bool,
    ) -> Result<R> {
        let (reply, answer) = oneshot::channel();
        let erased: ErasedWork =
            Box::new(move |tx| work(tx).map(|r| Box::new(r) as Box<dyn Any + Send>));
        let job = Job {
            work: erased,
            dry_run,
            reply,
        };
        self.writer
            .lock()
            .map_err(|_| Error::internal("writer queue poisoned"))?
            .send(job)
            .map_err(|_| Error::unavailable("The store's writer has stopped."))?;
        let any = answer
            .await
            .map_err(|_| Error::unavailable("The store's writer has stopped."))??;
        any.downcast::<R>()
            .map(|b| *b)
            .map_err(|_| Error::internal("writer answered with the wrong type"))
    }

    /// Take a free read connection, waiting up to [`READER_WAIT`] for one.
    fn take_reader(&self) -> Result<SqliteConn> {
        let poisoned = || Error::internal("the SQLite reader pool is poisoned");
        let start = Instant::now();
        let deadline = start + READER_WAIT;
        let mut idle = self.readers.lock().map_err(|_| poisoned())?;
        loop {
            if let Some(conn) = idle.pop() {
                self.metrics
                    .reader_wait_seconds
                    .observe(seconds(start.elapsed()));
                return Ok(conn);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.metrics
                    .reader_wait_seconds
                    .observe(seconds(start.elapsed()));
                return Err(Error::unavailable(
                    "The database is busy: no read connection became free in time; try again.",
                ));
            }
            idle = self
                .reader_free
                .wait_timeout(idle, left)
                .map_err(|_| poisoned())?
                .0;
        }
    }

    /// Run a read on a pooled read-only connection (blocking).
    pub fn read<R>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<R>) -> Result<R> {
        let conn = self.take_reader()?;
        self.read_on(conn, f)
    }

    /// A free read connection if there is one now (never waits).
    pub(crate) fn try_reader(&self) -> Option<SqliteConn> {
        let conn = self.readers.lock().ok()?.pop()?;
        self.metrics.reader_wait_seconds.observe(0.0);
        Some(conn)
    }

    /// Run a read on `conn` (taken from the pool), then give it back.
    pub(crate) fn read_on<R>(
        &self,
        conn: SqliteConn,
        f: impl FnOnce(&mut dyn Tx) -> Result<R>,
    ) -> Result<R> {
        let result = match control(&conn, "BEGIN") {
            Ok(()) => {
                let r = catch_unwind(AssertUnwindSafe(|| {
                    let mut tx = exec::tx(&conn, &self.roles);
                    f(&mut tx)
                }))
                .unwrap_or_else(|_| Err(Error::internal("a read use case panicked")));
                let _ = control(&conn, "COMMIT");
                r
            }
            Err(e) => Err(e),
        };
        // Always give the connection back, or the pool would shrink.
        if let Ok(mut idle) = self.readers.lock() {
            idle.push(conn);
        }
        self.reader_free.notify_one();
        result
    }
}

/// Copy the WAL into the database every [`CHECKPOINT_EVERY`] until the
/// store is dropped (`stop` disconnects). `PASSIVE` never waits for the
/// writer or the readers; what it cannot copy now it copies next time.
///
/// After each pass it fsyncs the database file itself, so that what it
/// copied is on disk before the writer's next restart of the WAL, which then
/// syncs only the little it copies itself ([`writer_loop`]).
fn checkpoint_loop(conn: Connection, checkpoints: &Checkpoints, stop: mpsc::Receiver<()>) {
    // This connection only checkpoints; its own automatic checkpoint is moot.
    let _ = conn.execute_batch("PRAGMA wal_autocheckpoint = 0");
    let file = conn.path().and_then(|p| std::fs::File::open(p).ok());
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
        let Ok(_pass) = checkpoints.pass.lock() else {
            return;
        };
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "SQLite checkpoint failed");
            continue;
        }
        match file.as_ref().map(std::fs::File::sync_data) {
            Some(Ok(())) => {
                checkpoints.passes.fetch_add(1, Ordering::Release);
            }
            Some(Err(e)) => tracing::warn!(error = %e, "fsync of the SQLite database failed"),
            None => {}
        }
    }
}

/// What the checkpointer thread and the writer share.
#[derive(Default)]
struct Checkpoints {
    /// Held during each of the checkpointer's passes: SQLite runs one
    /// checkpoint at a time, and a writer whose restart met a pass would
    /// sleep in its busy handler until the pass ended.
    pass: Mutex<()>,
    /// Passes that copied and synced the database.
    passes: AtomicU64,
}

/// Run groups as they come. SQLite starts the WAL over only when a write
/// begins after a checkpoint copied *every* frame; the checkpointer thread
/// never gets there under continuous load (a group commits while it copies),
/// so the WAL would grow without bound. Every [`WAL_RESTART_EVERY`] of
/// continuous writes the writer checkpoints itself between two groups, when
/// no frame can be added meanwhile, right after the checkpointer's next
/// pass: it copies only what that pass has not (the last few groups), and
/// the next group's write restarts the WAL from its beginning.
fn writer_loop(writer: &Writer, receiver: mpsc::Receiver<Job>, max_group: usize) {
    let conn = &writer.conn;
    let mut last_restart = Instant::now();
    let mut due_after = None;
    while let Ok(first) = receiver.recv() {
        // Once due, at the first group after the checkpointer's next pass,
        // never during one: the restart then copies and fsyncs only the
        // frames of the groups since that pass. Restarting whenever due
        // cost the writer 10–80 ms every second on a store of a million
        // interfaces (its fsyncs of the random pages the checkpointer had
        // copied, or its sleep until a pass ended): the filled store's p99.
        // If no pass comes for long, it waits for one to end.
        let passes = writer.checkpoints.passes.load(Ordering::Acquire);
        let pass = match restart_now(last_restart.elapsed(), passes, &mut due_after) {
            Restart::No => None,
            Restart::UnlessPassing => writer.checkpoints.pass.try_lock().ok(),
            Restart::Wait => writer.checkpoints.pass.lock().ok(),
        };
        if pass.is_some() {
            due_after = None;
            last_restart = Instant::now();
            // Wait for readers only briefly: a long read (an online backup)
            // must not stall every write; the WAL then starts over later.
            let _ = conn.busy_timeout(RESTART_WAIT);
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(())) {
                tracing::warn!(error = %e, "SQLite checkpoint on the writer failed");
            }
            let _ = conn.busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS.into()));
        }
        drop(pass);
        let mut batch = vec![first];
        while batch.len() < max_group {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        writer.metrics.group_size.observe(batch.len() as f64);
        run_group(writer, batch);
    }
}

/// Whether the writer restarts the WAL before its next group.
#[derive(Debug, PartialEq, Eq)]
enum Restart {
    No,
    /// Now, unless the checkpointer is in a pass.
    UnlessPassing,
    /// Now, after the checkpointer's pass if one is running.
    Wait,
}

/// [`Restart`] for a writer that last restarted the WAL `since` ago, the
/// checkpointer having completed `passes`; `due_after` remembers the passes
/// counted when the restart fell due (cleared by the caller's restart).
fn restart_now(since: Duration, passes: u64, due_after: &mut Option<u64>) -> Restart {
    if since >= WAL_RESTART_EVERY * 4 {
        *due_after = None;
        return Restart::Wait;
    }
    if since < WAL_RESTART_EVERY {
        return Restart::No;
    }
    match *due_after {
        Some(n) if passes > n => Restart::UnlessPassing,
        Some(_) => Restart::No,
        None => {
            *due_after = Some(passes);
            Restart::No
        }
    }
}

/// The writer thread's connection and what it reports to.
struct Writer {
    conn: SqliteConn,
    /// Told by the connection's triggers when a membership changes
    /// ([`watch_memberships`]), and when the group's transaction ends.
    roles: Arc<RoleCache>,
    answers: Answers,
    metrics: StoreMetrics,
    /// Shared with the checkpointer thread.
    checkpoints: Arc<Checkpoints>,
}

/// Make the writer's connection tell `roles` of every membership it
/// inserts, updates or deletes (a deleted user's or project's included: a
/// foreign key's cascade fires the child table's triggers), from inside
/// the statement, before its transaction commits. The triggers are `TEMP`:
/// they live on this connection only and are not part of the schema (no
/// other connection writes to a store a server has open).
fn watch_memberships(conn: &Connection, roles: Arc<RoleCache>) -> Result<()> {
    conn.create_scalar_function(
        "nicplane_roles_changing",
        0,
        rusqlite::functions::FunctionFlags::SQLITE_UTF8,
        move |_| {
            roles.changing();
            Ok(0i64)
        },
    )
    .map_err(exec::decode)?;
    conn.execute_batch(
        "CREATE TEMP TRIGGER memberships_inserted AFTER INSERT ON main.memberships
             BEGIN SELECT nicplane_roles_changing(); END;
         CREATE TEMP TRIGGER memberships_updated AFTER UPDATE ON main.memberships
             BEGIN SELECT nicplane_roles_changing(); END;
         CREATE TEMP TRIGGER memberships_deleted AFTER DELETE ON main.memberships
             BEGIN SELECT nicplane_roles_changing(); END;",
    )
    .map_err(exec::decode)
}

/// Where the writer sends a committed group's answers.
enum Answers {
    /// `synchronous = normal`: answered at once.
    AtCommit,
    /// `synchronous = full`: to the syncer thread, answered after the fsync.
    AfterSync(mpsc::Sender<Committed>),
}

/// A committed group's answers, waiting for the WAL's fsync.
struct Committed {
    /// Each job's reply, its answer, and whether the answer needs the
    /// group's changes on disk (a kept write of a group that committed).
    answers: Vec<(oneshot::Sender<Answer>, Answer, bool)>,
}

impl Answers {
    /// Answer a group: at once, or once its changes are on disk.
    fn send(&self, answers: Vec<(oneshot::Sender<Answer>, Answer, bool)>) {
        let answers = match self {
            Answers::AfterSync(syncer) => match syncer.send(Committed { answers }) {
                Ok(()) => return,
                // The syncer is gone (it only stops when the store does):
                // nothing can be promised on disk.
                Err(mpsc::SendError(Committed { answers })) => answers
                    .into_iter()
                    .map(|(reply, answer, durable)| {
                        let answer = if durable {
                            Err(Error::unavailable("The store's syncer has stopped."))
                        } else {
                            answer
                        };
                        (reply, answer, durable)
                    })
                    .collect(),
            },
            Answers::AtCommit => answers,
        };
        for (reply, answer, _) in answers {
            let _ = reply.send(answer);
        }
    }
}

/// fsync the WAL file at `wal` (opened for each sync: Linux's `fsync`
/// flushes the file, whichever descriptor wrote it, and a fresh descriptor
/// can never name a WAL that was replaced).
fn sync_wal(wal: &std::path::Path) -> std::io::Result<()> {
    std::fs::File::open(wal)?.sync_data()
}

/// Answer committed groups once the WAL holding them is on disk: take every
/// group that has committed, fsync once, answer them all. A write that
/// needs no fsync (a refusal, a dry run) waits with its group all the same,
/// so that answers keep their order.
///
/// A failed fsync is final: the writes it was to cover are answered 503
/// (they are committed, and may or may not survive a power loss), and so is
/// every later write that needs the disk, until the server is restarted.
/// After a failed fsync the kernel may have dropped the unwritten pages and
/// report the next fsync as a success (PostgreSQL's "fsyncgate"); a WAL with
/// a hole is cut at the hole when it is recovered, so later writes could not
/// be promised either. Reads and refusals go on being answered.
fn syncer_loop(
    wal: &std::path::Path,
    committed: mpsc::Receiver<Committed>,
    metrics: &StoreMetrics,
) {
    let mut failed: Option<String> = None;
    while let Ok(first) = committed.recv() {
        let mut groups = vec![first];
        while let Ok(more) = committed.try_recv() {
            groups.push(more);
        }
        let needed = groups
            .iter()
            .any(|g| g.answers.iter().any(|(_, _, durable)| *durable));
        if needed && failed.is_none() {
            let start = Instant::now();
            let synced = sync_wal(wal);
            metrics.wal_sync_seconds.observe(seconds(start.elapsed()));
            if let Err(e) = synced {
                tracing::error!(
                    error = %e,
                    "fsync of the SQLite WAL failed: no write will be acknowledged until the server is restarted"
                );
                failed = Some(e.to_string());
            }
        }
        for (reply, answer, durable) in groups.into_iter().flat_map(|g| g.answers) {
            let answer = match (&failed, durable) {
                (Some(e), true) => Err(Error::unavailable(format!(
                    "The write was committed but the disk did not confirm it ({e}); \
                     the server acknowledges no write until it is restarted."
                ))),
                _ => answer,
            };
            let _ = reply.send(answer);
        }
    }
}

/// Run a transaction-control statement (`BEGIN`, `SAVEPOINT job`, …)
/// prepared once per connection: every read and write runs several, and
/// `execute_batch` would parse each one again (session 9's profile of the
/// reads: 6 % of the server's CPU).
fn control(conn: &SqliteConn, sql: &str) -> Result<()> {
    conn.with_statement(sql, |s| s.execute([]).map(drop).map_err(exec::decode))
}

/// Run one job's use case on the group's transaction; a panic is an error.
fn run_job(writer: &Writer, work: &ErasedWork) -> Answer {
    catch_unwind(AssertUnwindSafe(|| {
        let mut tx = exec::tx(&writer.conn, &writer.roles);
        work(&mut tx)
    }))
    .unwrap_or_else(|_| Err(Error::internal("a use case panicked")))
}

/// Run one job inside its own `SAVEPOINT`, rolled back alone when the job
/// fails or is a dry run: its answer and whether its changes stay. `Err`
/// when a control statement failed (the group cannot go on).
fn run_guarded(writer: &Writer, job: &Job) -> Result<(Answer, bool)> {
    let conn = &writer.conn;
    control(conn, "SAVEPOINT job")?;
    let answer = run_job(writer, &job.work);
    let keep = answer.is_ok() && !job.dry_run;
    let end = if keep {
        control(conn, "RELEASE job")
    } else {
        control(conn, "ROLLBACK TO job").and_then(|()| control(conn, "RELEASE job"))
    };
    end?;
    Ok((answer, keep))
}

/// A job run in the group, waiting for the commit to be answered.
struct Ran {
    job: Job,
    answer: Answer,
    keep: bool,
}

/// Start the group's transaction over after a job failed with changes
/// made: roll everything back, begin again and run the jobs that had
/// succeeded again, each in its own savepoint (their answers are not sent
/// yet, so nobody saw the first run).
fn restart_group(writer: &Writer, ran: &mut [Ran]) -> Result<()> {
    control(&writer.conn, "ROLLBACK")?;
    control(&writer.conn, "BEGIN IMMEDIATE")?;
    for r in ran.iter_mut().filter(|r| r.keep) {
        (r.answer, r.keep) = run_guarded(writer, &r.job)?;
    }
    Ok(())
}

/// Run a group of jobs in one transaction and answer them after its commit.
///
/// A savepoint per job made SQLite copy every page a job changed, that an
/// earlier job of the group had changed too, into the savepoint's journal
/// (session 9's profile of the writer thread: 11 % of its CPU). Jobs now run
/// without one: a job that succeeds keeps its changes, and a job that fails
/// having changed no row (most refusals come from the rules, before any
/// write) leaves nothing to undo. Only a job that fails after changing rows
/// (a constraint, a quota trigger, a panic) costs more: the group's
/// transaction is rolled back and begun again, the jobs that had succeeded
/// run again, and that job and the rest of the group run each in a
/// savepoint, as dry runs always do.
fn run_group(writer: &Writer, batch: Vec<Job>) {
    let Writer {
        conn,
        roles,
        answers,
        metrics,
        ..
    } = writer;
    if let Err(err) = control(conn, "BEGIN IMMEDIATE") {
        for job in batch {
            let _ = job.reply.send(Err(err.clone()));
        }
        return;
    }
    let mut ran: Vec<Ran> = Vec::with_capacity(batch.len());
    let mut broken: Option<Error> = None;
    let mut guarded = false;
    for job in batch {
        if let Some(err) = &broken {
            let _ = job.reply.send(Err(err.clone()));
            continue;
        }
        if guarded || job.dry_run {
            match run_guarded(writer, &job) {
                Ok((answer, keep)) => ran.push(Ran { job, answer, keep }),
                Err(e) => {
                    let _ = job.reply.send(Err(e.clone()));
                    broken = Some(e);
                }
            }
            continue;
        }
        let before = conn.total_changes();
        let answer = run_job(writer, &job.work);
        if answer.is_ok() || conn.total_changes() == before {
            let keep = answer.is_ok();
            ran.push(Ran { job, answer, keep });
            continue;
        }
        // This job changed rows and failed: undo it alone by starting over.
        guarded = true;
        metrics.group_restarts.inc();
        if let Err(e) = restart_group(writer, &mut ran) {
            broken = Some(e);
        }
        match &broken {
            Some(e) => {
                let _ = job.reply.send(Err(e.clone()));
            }
            None => match run_guarded(writer, &job) {
                Ok((answer, keep)) => ran.push(Ran { job, answer, keep }),
                Err(e) => {
                    let _ = job.reply.send(Err(e.clone()));
                    broken = Some(e);
                }
            },
        }
    }
    let commit = match broken {
        Some(err) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(err)
        }
        None => {
            let start = Instant::now();
            let commit = control(conn, "COMMIT");
            metrics.commit_seconds.observe(seconds(start.elapsed()));
            commit
        }
    };
    if commit.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    // Committed or rolled back: what readers remember from now on is true.
    roles.settled();
    let committed = ran
        .into_iter()
        .map(|Ran { job, answer, keep }| match (&commit, keep) {
            (Err(e), true) => (job.reply, Err(e.clone()), false),
            _ => (job.reply, answer, keep),
        })
        .collect();
    answers.send(committed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use nicplane_domain::ids::{ProjectId, UserId};
    use nicplane_domain::model::{Project, User};
    use nicplane_domain::types::Role;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn temp_db(tag: &str) -> String {
        let dir = std::env::temp_dir().join(format!(
            "nicplane-sqlite-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("t.db").to_string_lossy().into_owned()
    }

    fn synchronous(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap()
    }

    /// Times the syncer fsynced the WAL (`wal_sync_seconds`' count).
    fn wal_syncs(metrics: &StoreMetrics) -> f64 {
        let mut registry = prometheus_client::registry::Registry::default();
        metrics.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("sqlite_wal_sync_duration_seconds_count "))
            .map(|v| v.trim().parse().unwrap())
            .expect("the WAL sync histogram is registered")
    }

    /// A store holding one user, a Reader in one project.
    fn store_with_a_member(tag: &str) -> (SqliteStore, String, UserId, ProjectId) {
        let path = temp_db(tag);
        let store = SqliteStore::open(&path, StoreOptions::default()).unwrap();
        let user = User {
            id: UserId::new(),
            name: "member".into(),
            is_cloud_admin: false,
            enabled: true,
            created_at: time::OffsetDateTime::now_utc(),
        };
        let project = Project {
            id: ProjectId::new(),
            name: "roles".into(),
            description: String::new(),
            created_at: time::OffsetDateTime::now_utc(),
        };
        let (uid, p) = (user.id, project.id.clone());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(store.submit(
            Box::new(move |tx: &mut dyn Tx| {
                tx.user_insert(&user, "hash")?;
                tx.project_insert(&project)?;
                tx.membership_set(user.id, &project.id, Role::Reader)
            }),
            false,
        ))
        .unwrap();
        (store, path, uid, p)
    }

    /// The write that gives `user` the role `role` in `project`.
    fn set_role(user: UserId, project: &ProjectId, role: Role) -> crate::Work<()> {
        let p = project.clone();
        Box::new(move |tx: &mut dyn Tx| tx.membership_set(user, &p, role))
    }

    /// Roles are answered from memory until the writer changes a membership:
    /// a change made behind the store's back (another connection, which a
    /// served store never has) is not seen, every change through the writer
    /// is, a rolled-back one undone and a deleted project's cascade
    /// included.
    #[test]
    fn roles_are_remembered_until_the_writer_changes_a_membership() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (store, path, uid, p) = store_with_a_member("roles");
        let write =
            |dry_run: bool, f: crate::Work<()>| rt.block_on(store.submit(f, dry_run)).unwrap();
        let set = |role: Role| set_role(uid, &p, role);
        let read = || store.read(|tx| tx.membership_role(uid, &p)).unwrap();
        let on_writer = || {
            let p = p.clone();
            rt.block_on(store.submit(
                Box::new(move |tx: &mut dyn Tx| tx.membership_role(uid, &p)),
                false,
            ))
            .unwrap()
        };
        assert_eq!(read(), Some(Role::Reader));
        assert_eq!(store.roles.len(), 1, "remembered");

        let behind = Connection::open(&path).unwrap();
        behind
            .execute("UPDATE memberships SET role = 'admin'", [])
            .unwrap();
        assert_eq!(read(), Some(Role::Reader), "a read answers from memory");
        assert_eq!(on_writer(), Some(Role::Reader), "so does the writer");

        write(false, set(Role::PowerUser));
        assert_eq!(read(), Some(Role::PowerUser), "a change is seen at once");
        assert_eq!(on_writer(), Some(Role::PowerUser));

        write(true, set(Role::Admin));
        assert_eq!(
            read(),
            Some(Role::PowerUser),
            "a rolled-back change is undone"
        );

        let gone = p.clone();
        write(
            false,
            Box::new(move |tx: &mut dyn Tx| tx.project_delete(&gone)),
        );
        assert_eq!(
            read(),
            None,
            "a deleted project's memberships went by cascade"
        );
        assert_eq!(on_writer(), None);
        assert!(store.roles.is_empty(), "no membership left to remember");
    }

    /// A read whose snapshot is older than a committed change (it ran a
    /// statement before the change) reads the old role, as its snapshot
    /// must, and does not remember it: the next read sees the change.
    #[test]
    fn a_read_older_than_a_change_does_not_remember_its_role() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (store, _path, uid, p) = store_with_a_member("roles-snapshot");
        let seen = store
            .read(|tx| {
                // The snapshot is taken by this transaction's first statement.
                assert!(tx.project_get(&p)?.is_some());
                std::thread::scope(|s| {
                    s.spawn(|| {
                        rt.block_on(store.submit(set_role(uid, &p, Role::Admin), false))
                            .unwrap()
                    })
                    .join()
                    .unwrap()
                });
                tx.membership_role(uid, &p)
            })
            .unwrap();
        assert_eq!(seen, Some(Role::Reader), "the snapshot's role");
        let now = store.read(|tx| tx.membership_role(uid, &p)).unwrap();
        assert_eq!(now, Some(Role::Admin), "the old role was not remembered");
    }

    /// With `full`, a write is answered only after the syncer fsynced the
    /// WAL holding it (one fsync per answered write here: they come one at
    /// a time), a write refused before changing anything needs no fsync,
    /// and the write is there for the next store on the file. With
    /// `normal` nothing is fsynced before answering.
    #[test]
    fn a_full_store_answers_a_write_after_fsyncing_its_wal() {
        use nicplane_domain::ids::DataCenterId;
        use nicplane_domain::model::DataCenter;
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for sync in [Synchronous::Full, Synchronous::Normal] {
            let path = temp_db(&format!("durable-{}", sync.pragma()));
            let options = StoreOptions {
                sqlite_synchronous: sync,
                ..Default::default()
            };
            let store = SqliteStore::open(&path, options.clone()).unwrap();
            let dc = DataCenter {
                id: DataCenterId::new(),
                name: "dc-synced".into(),
                created_at: time::OffsetDateTime::now_utc(),
            };
            let before = wal_syncs(store.metrics());
            let written = dc.clone();
            rt.block_on(store.submit(
                Box::new(move |tx: &mut dyn Tx| tx.data_center_insert(&written)),
                false,
            ))
            .unwrap();
            let after_write = wal_syncs(store.metrics());
            let refused: Result<()> = rt.block_on(
                store.submit(Box::new(|_: &mut dyn Tx| Err(Error::invalid("no"))), false),
            );
            assert!(refused.is_err());
            let after_refusal = wal_syncs(store.metrics());
            match sync {
                Synchronous::Full => {
                    assert_eq!(after_write - before, 1.0, "the write waited for one fsync");
                    assert_eq!(after_refusal, after_write, "a refusal needs no fsync");
                }
                Synchronous::Normal => assert_eq!(after_refusal, 0.0, "never fsynced"),
            }
            drop(store);
            let again = SqliteStore::open(&path, options).unwrap();
            let found = again.read(|tx| tx.data_center_get(dc.id)).unwrap();
            assert_eq!(found.map(|d| d.name).as_deref(), Some("dc-synced"));
        }
    }

    /// A failed fsync answers the writes it covered 503, and every later
    /// write too even when the disk answers again; refusals are answered.
    #[test]
    fn after_a_failed_fsync_no_write_is_acknowledged() {
        let wal = std::path::PathBuf::from(format!("{}-wal", temp_db("fsync-fails")));
        std::fs::write(&wal, b"").unwrap();
        let (to_syncer, committed) = mpsc::channel::<Committed>();
        let metrics = StoreMetrics::new("sqlite");
        let syncer = {
            let (wal, metrics) = (wal.clone(), metrics.clone());
            std::thread::spawn(move || syncer_loop(&wal, committed, &metrics))
        };
        // One group: a write (needs the disk) and a refusal (does not).
        let group = || {
            let (write, wrote) = oneshot::channel::<Answer>();
            let (refuse, refused) = oneshot::channel::<Answer>();
            let answers = vec![
                (write, Ok(Box::new(()) as Box<dyn Any + Send>), true),
                (refuse, Err(Error::invalid("no")), false),
            ];
            to_syncer.send(Committed { answers }).unwrap();
            let kind = |a: Answer| a.map(drop).map_err(|e| e.http_status());
            (
                kind(wrote.blocking_recv().unwrap()),
                kind(refused.blocking_recv().unwrap()),
            )
        };
        assert_eq!(group(), (Ok(()), Err(400)), "the disk answered");
        std::fs::remove_file(&wal).unwrap();
        assert_eq!(group(), (Err(503), Err(400)), "the fsync failed");
        std::fs::write(&wal, b"").unwrap();
        assert_eq!(group(), (Err(503), Err(400)), "a failed fsync is final");
        drop(to_syncer);
        syncer.join().unwrap();
        assert_eq!(wal_syncs(&metrics), 2.0, "no fsync after the failure");
    }

    #[test]
    fn connections_run_with_synchronous_full_unless_normal_is_chosen() {
        let path = temp_db("sync");
        assert_eq!(Synchronous::default(), Synchronous::Full);
        let full = open_connection(&path, false, Synchronous::default()).unwrap();
        assert_eq!(synchronous(&full), 2, "FULL");
        let normal = open_connection(&path, false, Synchronous::Normal).unwrap();
        assert_eq!(synchronous(&normal), 1, "NORMAL");
        assert!("fast".parse::<Synchronous>().is_err());
        assert_eq!("NORMAL".parse::<Synchronous>(), Ok(Synchronous::Normal));
    }

    #[test]
    fn reads_never_use_more_connections_than_the_pool_holds() {
        let path = temp_db("pool");
        let store = Arc::new(
            SqliteStore::open(
                &path,
                StoreOptions {
                    readers: 2,
                    ..Default::default()
                },
            )
            .unwrap(),
        );
        let busy = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (store, busy, most) = (store.clone(), busy.clone(), most.clone());
                std::thread::spawn(move || {
                    store.read(|tx| {
                        let now = busy.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        // Hold the connection so the other reads must wait.
                        std::thread::sleep(Duration::from_millis(20));
                        busy.fetch_sub(1, Ordering::SeqCst);
                        tx.ping()
                    })
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap();
        }
        assert!(
            most.load(Ordering::SeqCst) <= 2,
            "at most 2 readers at once"
        );
        assert_eq!(
            store.readers.lock().unwrap().len(),
            2,
            "the pool is whole again"
        );
    }

    /// A group whose jobs succeed, fail without changes, fail after
    /// changes, run dry and panic: each is answered as if it had run alone,
    /// and only the successful writes stay. The failure after changes starts
    /// the group over (the write before it runs twice).
    /// The writer restarts the WAL once due and only after the
    /// checkpointer's next pass (never during one: `try_lock`), or, when no
    /// pass comes for four times as long, waiting for the running one.
    #[test]
    fn the_wal_restarts_after_the_next_checkpoint_pass() {
        let second = Duration::from_secs(1);
        let mut due = None;
        assert_eq!(restart_now(second / 2, 7, &mut due), Restart::No);
        assert_eq!(due, None, "not due yet");
        assert_eq!(restart_now(second, 7, &mut due), Restart::No);
        assert_eq!(due, Some(7), "due: waits for the pass after the 7th");
        assert_eq!(restart_now(second * 2, 7, &mut due), Restart::No);
        assert_eq!(restart_now(second * 2, 8, &mut due), Restart::UnlessPassing);
        assert_eq!(restart_now(second * 4, 8, &mut due), Restart::Wait);
    }

    #[test]
    fn the_writer_gets_its_lookaside_and_statements_use_it() {
        let path = temp_db("lookaside");
        let conn = open_connection(&path, false, Synchronous::Normal).unwrap();
        // Right after the connection opened, as `SqliteStore::open` asks.
        assert!(lookaside(&conn, WRITER_LOOKASIDE));
        migrate::migrate(&mut { conn }).unwrap();
        let conn = open_connection(&path, false, Synchronous::Normal).unwrap();
        assert!(lookaside(&conn, WRITER_LOOKASIDE));
        let mut st = conn
            .prepare("SELECT id FROM interfaces WHERE vm_id = ?1 ORDER BY id")
            .unwrap();
        let (mut used, mut high) = (0, 0);
        // SAFETY: the handle is this open connection's; the two out
        // pointers are valid `c_int`s.
        let rc = unsafe {
            rusqlite::ffi::sqlite3_db_status(
                conn.handle(),
                rusqlite::ffi::SQLITE_DBSTATUS_LOOKASIDE_USED,
                &mut used,
                &mut high,
                0,
            )
        };
        assert_eq!(rc, rusqlite::ffi::SQLITE_OK);
        // The prepared statement holds slots of it.
        assert!(used > 0, "{used} slots in use");
        assert!(st.query([""]).unwrap().next().unwrap().is_none());
        // Once the connection is busy with it, the lookaside cannot change.
        assert!(!lookaside(&conn, WRITER_LOOKASIDE));
    }

    #[test]
    fn a_group_undoes_each_failed_job_alone() {
        use nicplane_domain::ids::DataCenterId;
        use nicplane_domain::model::DataCenter;
        let path = temp_db("group");
        drop(SqliteStore::open(&path, StoreOptions::default()).unwrap());
        let conn = open_connection(&path, false, Synchronous::default()).unwrap();
        let writer = Writer {
            conn: SqliteConn::new(conn),
            roles: Arc::new(RoleCache::new()),
            answers: Answers::AtCommit,
            metrics: StoreMetrics::new("sqlite"),
            checkpoints: Arc::new(Checkpoints::default()),
        };
        let runs = Arc::new(AtomicUsize::new(0));
        let dc = |name: &str| DataCenter {
            id: DataCenterId::new(),
            name: name.into(),
            created_at: time::OffsetDateTime::now_utc(),
        };
        let insert = |d: DataCenter, fail: bool, counted: Option<Arc<AtomicUsize>>| -> ErasedWork {
            Box::new(move |tx: &mut dyn Tx| {
                if let Some(c) = &counted {
                    c.fetch_add(1, Ordering::SeqCst);
                }
                tx.data_center_insert(&d)?;
                if fail {
                    return Err(Error::invalid("changed my mind"));
                }
                Ok(Box::new(()) as Box<dyn Any + Send>)
            })
        };
        let mut works: Vec<(ErasedWork, bool)> = vec![
            (insert(dc("kept-1"), false, Some(runs.clone())), false),
            (
                Box::new(|_: &mut dyn Tx| Err(Error::invalid("refused before writing"))),
                false,
            ),
            (insert(dc("failed-after-insert"), true, None), false),
            (insert(dc("kept-2"), false, None), false),
            (insert(dc("dry"), false, None), true),
        ];
        works.push((
            Box::new(move |tx: &mut dyn Tx| {
                tx.data_center_insert(&dc("panicked"))?;
                panic!("a use case panics after a write");
            }),
            false,
        ));
        let mut answers = vec![];
        let batch = works
            .into_iter()
            .map(|(work, dry_run)| {
                let (reply, answer) = oneshot::channel();
                answers.push(answer);
                Job {
                    work,
                    dry_run,
                    reply,
                }
            })
            .collect();
        run_group(&writer, batch);
        let conn = &writer.conn;
        let ok: Vec<bool> = answers
            .into_iter()
            .map(|mut a| a.try_recv().expect("answered").is_ok())
            .collect();
        assert_eq!(ok, [true, false, false, true, true, false]);
        let mut names: Vec<String> = conn
            .prepare("SELECT name FROM data_centers ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        names.retain(|n| {
            n.starts_with("kept") || n == "dry" || n.contains("fail") || n == "panicked"
        });
        assert_eq!(names, ["kept-1", "kept-2"]);
        assert_eq!(
            runs.load(Ordering::SeqCst),
            2,
            "the group started over once"
        );
        assert_eq!(writer.metrics.group_restarts.get(), 1);
    }
}
