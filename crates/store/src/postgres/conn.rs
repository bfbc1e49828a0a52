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
//! The same way, a statement run for its effect only (`Exec::execute_later`:
//! the writes whose row count a use case does not read, and the row locks
//! taken with `SELECT … FOR UPDATE`) is queued and written together with the
//! transaction's next statement, or with its `COMMIT`. Each request keeps its
//! own `Sync`, so PostgreSQL runs them one after the other in the order they
//! were queued, exactly as if each had been sent alone; the answers are read
//! in that order, and the first failure among them is the request's failure
//! (the transaction is aborted there, and a `COMMIT` after it only rolls
//! back). A transaction that ends in a rollback never sends what it queued.
//!
//! Measured in session 9 (docs/performance.md): a write was ~20 round trips
//! (its token's read transaction, `BEGIN`, ~15 statements, `COMMIT`), each
//! costing both sides a context switch and the loopback TCP stack.

use crate::sql::Param;
use ::postgres::types::ToSql;
use ::postgres::{Row, Statement};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use tokio::runtime::Runtime;
use tokio_postgres::{Client, Config, NoTls, ToStatement};

/// Prepared statements kept per connection before the cache is emptied (the
/// list queries build their SQL from filters, so the set is finite but large).
const STATEMENT_CACHE_MAX: usize = 512;

/// A pooled connection with its prepared statements.
pub(crate) struct Conn {
    /// Drives `client`'s connection task while a call blocks on it.
    rt: Runtime,
    client: Client,
    /// Statements prepared on this connection, by their SQL (at most
    /// [`STATEMENT_CACHE_MAX`]).
    stmts: HashMap<String, Statement>,
    /// What goes before the next request, and the transaction's state.
    queue: Queue,
}

/// The transaction's requests not sent yet, and whether it began.
#[derive(Default)]
struct Queue {
    /// A `BEGIN …` not sent yet: it goes with the next request.
    begin: Option<&'static str>,
    /// Whether a transaction was begun (its `BEGIN` sent) and not ended.
    open: bool,
    /// Statements run for their effect, not sent yet: they go, in order,
    /// before the next request.
    deferred: Vec<(Statement, Vec<Param>)>,
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
            queue: Queue::default(),
        })
    }

    /// Whether the connection is known to be gone.
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Start a transaction with `begin` (`BEGIN ISOLATION LEVEL …`): sent
    /// with the transaction's first request, not now.
    pub fn begin(&mut self, begin: &'static str) {
        self.queue = Queue {
            begin: Some(begin),
            ..Queue::default()
        };
    }

    /// Queue `stmt` to be sent before the next request of the open
    /// transaction; false (nothing queued) when no transaction has sent its
    /// `BEGIN`: the caller runs it now.
    pub fn defer(&mut self, stmt: Statement, params: Vec<Param>) -> bool {
        if !self.queue.open || self.queue.begin.is_some() {
            return false;
        }
        self.queue.deferred.push((stmt, params));
        true
    }

    /// End the open transaction with `ROLLBACK`, dropping what was queued.
    pub fn rollback(&mut self) -> PgResult<()> {
        self.queue.deferred.clear();
        self.batch_execute("ROLLBACK")
    }

    /// Whether the transaction begun last has sent its `BEGIN` (ran a
    /// statement) and so must be ended. Ends the lazy `BEGIN` either way.
    pub fn take_open(&mut self) -> bool {
        self.queue.begin = None;
        std::mem::take(&mut self.queue.open)
    }

    /// `sql` prepared on this connection: from the cache, else prepared
    /// (one round trip) and kept.
    pub fn prepared(&mut self, sql: &str) -> PgResult<Statement> {
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        let s = self.prepare(sql)?;
        if self.stmts.len() >= STATEMENT_CACHE_MAX {
            self.stmts.clear();
        }
        self.stmts.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    /// Prepare `sql` (one round trip).
    fn prepare(&mut self, sql: &str) -> PgResult<Statement> {
        let fut = self.client.prepare(sql);
        send(&self.rt, &self.client, &mut self.queue, fut)
    }

    /// Rows of a prepared statement.
    pub fn query(
        &mut self,
        stmt: &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> PgResult<Vec<Row>> {
        let fut = self.client.query(stmt, params);
        send(&self.rt, &self.client, &mut self.queue, fut)
    }

    /// Rows changed by a statement (prepared, or SQL prepared for this call).
    pub fn execute<T: ?Sized + ToStatement>(
        &mut self,
        stmt: &T,
        params: &[&(dyn ToSql + Sync)],
    ) -> PgResult<u64> {
        let fut = self.client.execute(stmt, params);
        send(&self.rt, &self.client, &mut self.queue, fut)
    }

    /// The rows of several prepared statements, sent together (one round
    /// trip) and run in this order; each answers on its own.
    pub fn query_many(
        &mut self,
        requests: &[(Statement, Vec<&(dyn ToSql + Sync)>)],
    ) -> PgResult<Vec<PgResult<Vec<Row>>>> {
        let queries: Vec<_> = requests
            .iter()
            .map(|(stmt, params)| self.client.query(stmt, params))
            .collect();
        let fut = async { Ok(in_order(queries).await) };
        send(&self.rt, &self.client, &mut self.queue, fut)
    }

    /// Statements without parameters or results (`COMMIT`, `ROLLBACK`, …).
    pub fn batch_execute(&mut self, sql: &str) -> PgResult<()> {
        let fut = self.client.batch_execute(sql);
        send(&self.rt, &self.client, &mut self.queue, fut)
    }
}

/// Run `request` on `rt`, after what is queued before it: a pending
/// `BEGIN` (which marks the transaction open), then the deferred statements.
/// The first failure in that order is the answer.
fn send<T>(
    rt: &Runtime,
    client: &Client,
    queue: &mut Queue,
    request: impl Future<Output = PgResult<T>>,
) -> PgResult<T> {
    crate::metrics::ROUND_TRIPS.inc();
    let begin = queue.begin.take();
    if begin.is_none() && queue.deferred.is_empty() {
        return rt.block_on(request);
    }
    if begin.is_some() {
        queue.open = true;
    }
    let queued = std::mem::take(&mut queue.deferred);
    let params: Vec<Vec<&(dyn ToSql + Sync)>> = queued
        .iter()
        .map(|(_, p)| p.iter().map(|v| v as &(dyn ToSql + Sync)).collect())
        .collect();
    let writes: Vec<_> = queued
        .iter()
        .zip(&params)
        .map(|((stmt, _), p)| client.execute(stmt, p))
        .collect();
    let began = async {
        match begin {
            Some(sql) => client.batch_execute(sql).await,
            None => Ok(()),
        }
    };
    // `join!` polls its branches in order the first time, and `in_order`
    // its futures: every request is queued for the connection task before
    // it runs, and it writes them in one go, in this order.
    let (began, written, done) =
        rt.block_on(async { tokio::join!(began, in_order(writes), request) });
    began?;
    for w in written {
        w?;
    }
    done
}

/// Await `futures`, polling each in the order given (the first poll of each
/// sends its request), and answer their outputs in that order.
async fn in_order<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in futures.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *out = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}
