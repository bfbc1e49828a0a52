//! The PostgreSQL executor of [`crate::sql`]: statements prepared once per
//! connection and cached on it, `FOR UPDATE` where a read inside a writing
//! transaction asks for a lock, and the classification of PostgreSQL errors
//! (constraint violations by constraint or index name; what the retry loop
//! of [`super::PgStore::run`] may run again).
//!
//! Writing transactions run at `READ COMMITTED` and take explicit row locks
//! where a use case reads something and then writes on the strength of what
//! it read (see `docs/postgres.md` for the list). Each statement of a
//! `READ COMMITTED` transaction sees everything committed before it started,
//! so a statement that follows a `FOR UPDATE` wait sees the previous lock
//! holder's changes.

use super::Conn;
use crate::sql::{constraint_error, Exec, Param, Row, RowFn, SqlTx, Violation};
use ::postgres::error::SqlState;
use ::postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use ::postgres::Statement;
use bytes::BytesMut;
use nicplane_domain::{Error, Result};

/// A transaction on one pooled PostgreSQL connection.
pub type PgTx<'c> = SqlTx<PgExec<'c>>;

/// Unique indexes whose violation means "another transaction created the row
/// this use case was about to create": the use case is run again and finds
/// that row (get-or-create of defaults, idempotency keys), or, for an access
/// key's slot, picks the other free slot or is refused by the limit rule
/// (without the retry, two concurrent creates of a user's first key would
/// both pick slot 1 and the loser would be refused with a slot still free).
const RETRY_ON_UNIQUE: &[&str] = &[
    "networks_one_default",
    "security_groups_one_default",
    "idempotency_keys_pkey",
    "credentials_user_slot",
];

/// Why a statement failed, beyond the domain error it maps to.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub error: Error,
    /// Running the whole use case again may succeed (serialization failure,
    /// deadlock, lost race for a get-or-create row, connection lost).
    pub retry: bool,
    /// The connection is unusable and must be discarded.
    pub broken: bool,
}

/// Classify a PostgreSQL error.
pub(crate) fn classify(e: &::postgres::Error) -> Failure {
    let fail = |error, retry, broken| Failure {
        error,
        retry,
        broken,
    };
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED
        {
            return fail(
                Error::unavailable("The database is busy with concurrent changes; try again."),
                true,
                false,
            );
        }
        if *code == SqlState::UNIQUE_VIOLATION
            || *code == SqlState::FOREIGN_KEY_VIOLATION
            || *code == SqlState::CHECK_VIOLATION
        {
            let name = db.constraint().unwrap_or("");
            let retry = *code == SqlState::UNIQUE_VIOLATION && RETRY_ON_UNIQUE.contains(&name);
            let v = if *code == SqlState::FOREIGN_KEY_VIOLATION {
                Violation::ForeignKey
            } else {
                Violation::Named(name.to_string())
            };
            return fail(constraint_error(&v, db.message()), retry, false);
        }
        let class = &code.code()[..2];
        if class == "08"
            || *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW
        {
            // The server's own words are for the log, not for clients.
            tracing::warn!(
                code = code.code(),
                error = db.message(),
                "the database is unavailable"
            );
            return fail(
                Error::unavailable("The database is unavailable; try again."),
                true,
                true,
            );
        }
        if *code == SqlState::TOO_MANY_CONNECTIONS
            || *code == SqlState::QUERY_CANCELED
            || *code == SqlState::LOCK_NOT_AVAILABLE
            || class == "53"
        {
            tracing::warn!(
                code = code.code(),
                error = db.message(),
                "the database is busy"
            );
            return fail(
                Error::unavailable("The database is busy; try again."),
                false,
                false,
            );
        }
        return fail(
            Error::internal(format!("database error {}: {}", code.code(), db.message())),
            false,
            false,
        );
    }
    if is_connection_error(e) {
        // The detail (host, OS error) is for the log, not for clients.
        tracing::warn!(error = %e, "the database connection was lost");
        return fail(
            Error::unavailable("The database connection was lost; try again."),
            true,
            true,
        );
    }
    fail(
        Error::internal(format!("database error: {e}")),
        false,
        false,
    )
}

/// Whether an error without a server answer means the connection is gone.
fn is_connection_error(e: &::postgres::Error) -> bool {
    use std::error::Error as _;
    e.is_closed()
        || e.source().is_some_and(|s| s.is::<std::io::Error>())
        || e.to_string() == "timeout waiting for server"
}

/// Runs statements on one pooled connection. The caller (the retry helper in
/// `postgres::mod`) has sent `BEGIN` and ends the transaction.
pub struct PgExec<'c> {
    conn: &'c mut Conn,
    /// Inside a write (or dry run): reads that decide a write lock rows.
    writing: bool,
    /// The first failed statement: PostgreSQL aborts the transaction there,
    /// so the use case cannot go on even if it wanted to.
    failure: Option<Failure>,
    /// Outside a transaction (`Mode::Statement`): one statement at most.
    single: bool,
    /// Statements run so far.
    ran: u32,
    /// Rows of reads sent ahead (`Exec::read_ahead`) not asked for yet, with
    /// their statement and parameters; emptied by any write.
    ahead: Vec<(String, Vec<Param>, Vec<::postgres::Row>)>,
}

/// A transaction on `conn`; `writing` for a write or dry run, `single` for
/// one statement outside any transaction.
pub(crate) fn tx(conn: &mut Conn, writing: bool, single: bool) -> PgTx<'_> {
    SqlTx::new(PgExec {
        conn,
        writing,
        failure: None,
        single,
        ran: 0,
        ahead: Vec::new(),
    })
}

impl PgExec<'_> {
    /// The first statement failure, if any.
    pub(crate) fn failure(&self) -> Option<&Failure> {
        self.failure.as_ref()
    }

    fn fail(&mut self, e: ::postgres::Error) -> Error {
        if let Some(f) = &self.failure {
            return f.error.clone();
        }
        let f = classify(&e);
        if f.error.http_status() == 500 {
            tracing::error!(error = %e, "PostgreSQL statement failed");
        }
        let err = f.error.clone();
        self.failure = Some(f);
        err
    }

    /// The statement prepared on this connection.
    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(f) = &self.failure {
            return Err(f.error.clone());
        }
        self.ran += 1;
        if self.single && self.ran > 1 {
            // Two statements outside a transaction could see two snapshots.
            return Err(Error::internal(
                "a one-statement read ran a second statement",
            ));
        }
        let prepared = self.conn.prepared(sql);
        prepared.map_err(|e| self.fail(e))
    }
}

fn as_sql(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

impl Exec for PgExec<'_> {
    fn each_row(&mut self, sql: &str, params: &[Param], f: RowFn<'_>) -> Result<()> {
        if let Some(i) = self
            .ahead
            .iter()
            .position(|(s, p, _)| s == sql && p == params)
        {
            if let Some(fail) = &self.failure {
                return Err(fail.error.clone());
            }
            let (_, _, rows) = self.ahead.swap_remove(i);
            for row in &rows {
                f(row)?;
            }
            return Ok(());
        }
        crate::sql::storable(params)?;
        crate::metrics::statement_run(sql);
        let stmt = self.statement(sql)?;
        let rows = self.conn.query(&stmt, &as_sql(params));
        for row in rows.map_err(|e| self.fail(e))? {
            f(&row)?;
        }
        Ok(())
    }

    fn execute(&mut self, sql: &str, params: &[Param]) -> Result<u64> {
        self.ahead.clear();
        crate::sql::storable(params)?;
        crate::metrics::statement_run(sql);
        let stmt = self.statement(sql)?;
        let n = self.conn.execute(&stmt, &as_sql(params));
        n.map_err(|e| self.fail(e))
    }

    /// Inside a write, queued on the connection and sent with the next
    /// statement or the `COMMIT` (`conn`); its failure is recorded when
    /// that answer comes, and reported from there.
    fn execute_later(&mut self, sql: &str, params: &[Param]) -> Result<()> {
        self.ahead.clear();
        crate::sql::storable(params)?;
        crate::metrics::statement_run(sql);
        let stmt = self.statement(sql)?;
        if self.writing && self.conn.defer(stmt.clone(), params.to_vec()) {
            return Ok(());
        }
        let n = self.conn.execute(&stmt, &as_sql(params));
        n.map(drop).map_err(|e| self.fail(e))
    }

    fn row_locks(&self) -> bool {
        self.writing
    }

    fn reads_ahead(&self) -> bool {
        !self.single
    }

    /// One round trip for all of `reads` (after what `execute_later`
    /// queued); outside a transaction (one statement) it does nothing.
    fn read_ahead(&mut self, reads: &[(String, Vec<Param>)]) -> Result<()> {
        self.ahead.clear();
        if self.single || reads.len() < 2 {
            return Ok(());
        }
        let mut requests = Vec::with_capacity(reads.len());
        for (sql, params) in reads {
            crate::sql::storable(params)?;
            crate::metrics::statement_run(sql);
            requests.push((self.statement(sql)?, as_sql(params)));
        }
        let answers = self.conn.query_many(&requests);
        for ((sql, params), rows) in reads.iter().zip(answers.map_err(|e| self.fail(e))?) {
            let rows = rows.map_err(|e| self.fail(e))?;
            self.ahead.push((sql.clone(), params.clone(), rows));
        }
        Ok(())
    }

    /// The connection's own shard: two transactions write the same counter
    /// row only when their connections' process ids agree modulo 128, more
    /// than the connections that write at once (see
    /// `migrations/postgres/0016_subnet_use.sql`).
    fn counter_shard(&self) -> &'static str {
        "(pg_backend_pid() % 128)"
    }

    /// PostgreSQL's `lower()` folds every letter its collation knows;
    /// `translate` folds ASCII letters only, as SQLite's `lower()` does.
    fn fold_ascii(&self, expr: &str) -> String {
        format!("translate({expr}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')")
    }

    fn bytewise(&self, expr: &str) -> String {
        format!("({expr}) COLLATE \"C\"")
    }
}

/// Binds to the column's type: an integer to `SMALLINT`, `INTEGER` or
/// `BIGINT`, a boolean, text, or NULL to anything.
impl ToSql for Param {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Param::Null => Ok(IsNull::Yes),
            Param::Int(v) => match *ty {
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Param::Text(s) => s.as_str().to_sql(ty, out),
            Param::Bool(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn bad_column(i: usize, e: impl std::fmt::Display) -> Error {
    Error::internal(format!("bad column {i} in the database: {e}"))
}

impl Row for ::postgres::Row {
    fn get_i64(&self, i: usize) -> Result<Option<i64>> {
        let ty = self
            .columns()
            .get(i)
            .map(|c| c.type_().clone())
            .ok_or_else(|| bad_column(i, "no such column"))?;
        match ty {
            Type::INT2 => self.try_get::<_, Option<i16>>(i).map(|v| v.map(i64::from)),
            Type::INT4 => self.try_get::<_, Option<i32>>(i).map(|v| v.map(i64::from)),
            _ => self.try_get::<_, Option<i64>>(i),
        }
        .map_err(|e| bad_column(i, e))
    }
    fn get_str(&self, i: usize) -> Result<Option<&str>> {
        self.try_get(i).map_err(|e| bad_column(i, e))
    }
    fn get_bool(&self, i: usize) -> Result<Option<bool>> {
        self.try_get(i).map_err(|e| bad_column(i, e))
    }
}
