//! One PostgreSQL connection, driven synchronously, that sends a
//! transaction's `BEGIN` in the same round trip as its first statement.
//!
//! The store's use cases are synchronous (`Fn(&mut dyn Tx)`), so a
//! connection blocks its thread on each statement, as the `postgres` crate's
//! client does: a current-thread tokio runtime of its own drives the
//! `tokio_postgres` connection only while a statement is waited for. Using
//! `tokio_postgres` directly lets two requests share one round trip: the
//! `BEGIN` of a transaction is not sent on its own but queued and written to
//! the socket together with the transaction's first statement (pipelining;
//! PostgreSQL runs them in order and answers both). A transaction whose use
//! case runs no statement sends neither `BEGIN` nor its end.
//!
//! Measured in session 9 (docs/performance.md): a write was ~20 round trips
//! (its token's read transaction, `BEGIN`, ~15 statements, `COMMIT`), each
//! costing both sides a context switch and the loopback TCP stack.

use ::postgres::types::ToSql;
use ::postgres::{Row, Statement};
use std::collections::HashMap;
use tokio::runtime::Runtime;
use tokio_postgres::{Client, Config, NoTls, ToStatement};

/// A pooled connection with its prepared statements.
pub(crate) struct Conn {
    /// Drives `client`'s connection task while a call blocks on it.
    rt: Runtime,
    client: Client,
    /// Statements prepared on this connection, by their SQL.
    pub stmts: HashMap<String, Statement>,
    /// A `BEGIN …` not sent yet: it goes with the next request.
    begin: Option<&'static str>,
    /// Whether a transaction was begun (its `BEGIN` sent) and not ended.
    open: bool,
}

type PgResult<T> = std::result::Result<T, tokio_postgres::Error>;

impl Conn {
    /// Open a connection (blocking).
    pub fn connect(config: &Config) -> PgResult<Conn> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime builds");
        let (client, connection) = rt.block_on(config.connect(NoTls))?;
        // Runs whenever this thread blocks on `rt`; ends with the client.
        rt.spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "a PostgreSQL connection ended");
            }
        });
        Ok(Conn {
            rt,
            client,
            stmts: HashMap::new(),
            begin: None,
            open: false,
        })
    }

    /// Whether the connection is known to be gone.
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Start a transaction with `begin` (`BEGIN ISOLATION LEVEL …`): sent
    /// with the transaction's first request, not now.
    pub fn begin(&mut self, begin: &'static str) {
        self.begin = Some(begin);
        self.open = false;
    }

    /// Whether the transaction begun last has sent its `BEGIN` (ran a
    /// statement) and so must be ended. Ends the lazy `BEGIN` either way.
    pub fn take_open(&mut self) -> bool {
        self.begin = None;
        std::mem::take(&mut self.open)
    }

    /// Prepare `sql` (one round trip).
    pub fn prepare(&mut self, sql: &str) -> PgResult<Statement> {
        let fut = self.client.prepare(sql);
        run(&self.rt, &self.client, &mut self.begin, &mut self.open, fut)
    }

    /// Rows of a prepared statement.
    pub fn query(
        &mut self,
        stmt: &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> PgResult<Vec<Row>> {
        let fut = self.client.query(stmt, params);
        run(&self.rt, &self.client, &mut self.begin, &mut self.open, fut)
    }

    /// Rows changed by a statement (prepared, or SQL prepared for this call).
    pub fn execute<T: ?Sized + ToStatement>(
        &mut self,
        stmt: &T,
        params: &[&(dyn ToSql + Sync)],
    ) -> PgResult<u64> {
        let fut = self.client.execute(stmt, params);
        run(&self.rt, &self.client, &mut self.begin, &mut self.open, fut)
    }

    /// Statements without parameters or results (`COMMIT`, `ROLLBACK`, …).
    pub fn batch_execute(&mut self, sql: &str) -> PgResult<()> {
        let fut = self.client.batch_execute(sql);
        run(&self.rt, &self.client, &mut self.begin, &mut self.open, fut)
    }

    /// One row of a statement prepared for this call only.
    pub fn query_one(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> PgResult<Row> {
        let fut = self.client.query_one(sql, params);
        run(&self.rt, &self.client, &mut self.begin, &mut self.open, fut)
    }
}

/// Run `request` on `rt`, with a pending `BEGIN` queued before it (which
/// marks the transaction open).
fn run<T>(
    rt: &Runtime,
    client: &Client,
    begin: &mut Option<&'static str>,
    open: &mut bool,
    request: impl std::future::Future<Output = PgResult<T>>,
) -> PgResult<T> {
    let Some(sql) = begin.take() else {
        return rt.block_on(request);
    };
    *open = true;
    // `join!` polls `BEGIN` first: both requests are queued for the
    // connection task before it runs, and it writes them in one go.
    let (began, done) = rt.block_on(async { tokio::join!(client.batch_execute(sql), request) });
    began?;
    done
}
