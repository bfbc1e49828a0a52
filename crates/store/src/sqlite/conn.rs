//! A SQLite connection with its prepared statements ([`SqliteConn`]).
//!
//! rusqlite's own statement cache (`prepare_cached`) costs, on every use,
//! a trim of the statement's text, two SipHash passes over it, a string
//! comparison, and a fresh `Arc<str>` copy of the text as the statement's
//! key; nicplane's statements are up to 1.5 KB long, and the placeholder
//! rewriting (`$N` to `?N`) was a third hash of the text. Profiles of the
//! writer thread and of the reads put that at about 5 % of their CPU
//! (docs/performance.md, "Session 11"). Here a statement is found by one
//! hash of the text as the store wrote it (`$N` placeholders) and one
//! comparison, with nothing copied.

use nicplane_domain::{Error, Result};
use rusqlite::{Connection, PrepFlags, Statement};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Most distinct statements kept prepared per connection (the list queries
/// build their text from filters: a finite but large set); past it, every
/// statement is prepared again as it is used.
const STATEMENTS_MAX: usize = 512;

type Prepared = Rc<RefCell<Statement<'static>>>;

/// A connection and the statements prepared on it, by their text.
pub struct SqliteConn {
    // Declared before `conn`: fields are dropped in order, so every
    // statement is finalized before its connection closes.
    statements: RefCell<HashMap<Box<str>, Prepared, ahash::RandomState>>,
    /// Boxed so that its address, which every statement holds, stays put
    /// when the `SqliteConn` moves.
    conn: Box<Connection>,
}

// SAFETY: a `SqliteConn` moves between threads whole (a read connection is
// taken from the pool by whichever thread serves a read), never shared: it
// is not `Sync`, so its statements and connection are used by one thread at
// a time, which SQLite allows (rusqlite's `Connection` is `Send` for the
// same reason). The statements are `!Send` only because they borrow the
// connection, which moves with them.
unsafe impl Send for SqliteConn {}

impl SqliteConn {
    pub fn new(conn: Connection) -> Self {
        SqliteConn {
            statements: RefCell::new(HashMap::default()),
            conn: Box::new(conn),
        }
    }

    /// Run `f` on the statement `sql` (`$N` placeholders), prepared on this
    /// connection on its first use and kept.
    pub fn with_statement<T>(
        &self,
        sql: &str,
        f: impl FnOnce(&mut Statement<'_>) -> Result<T>,
    ) -> Result<T> {
        let found = self.statements.borrow().get(sql).cloned();
        let stmt = match found {
            Some(stmt) => stmt,
            None => {
                let prepared = self
                    .conn
                    .prepare_with_flags(&sqlite_text(sql), PrepFlags::SQLITE_PREPARE_PERSISTENT)
                    .map_err(super::exec::decode)?;
                // SAFETY: the statement borrows `*self.conn`, which is boxed
                // (its address never changes), never replaced, and outlives
                // every statement: `statements` is dropped first, and a
                // statement taken out of it below lives only for this call,
                // which borrows `self`.
                let prepared: Statement<'static> = unsafe { std::mem::transmute(prepared) };
                let stmt = Rc::new(RefCell::new(prepared));
                let mut statements = self.statements.borrow_mut();
                if statements.len() >= STATEMENTS_MAX {
                    statements.clear();
                }
                statements.insert(sql.into(), stmt.clone());
                stmt
            }
        };
        // A statement run again while it runs (a row mapper running a
        // statement) would be a bug: an error, not a panic.
        let mut stmt = stmt
            .try_borrow_mut()
            .map_err(|_| Error::internal("a statement was run while it was running"))?;
        f(&mut stmt)
    }
}

impl std::ops::Deref for SqliteConn {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

/// `sql` with `$N` placeholders as SQLite's `?N`. (SQLite reads `$1` as a
/// named parameter numbered by first appearance, so `SET a = $2 WHERE id =
/// $1` would bind the wrong values.)
pub fn sqlite_text(sql: &str) -> String {
    sql.replace('$', "?")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_rewritten_by_number_not_by_position() {
        assert_eq!(
            sqlite_text("UPDATE t SET a = $2 WHERE id = $1 AND b = $12"),
            "UPDATE t SET a = ?2 WHERE id = ?1 AND b = ?12"
        );
    }

    #[test]
    fn statements_are_prepared_once_and_bounded() {
        let conn = SqliteConn::new(Connection::open_in_memory().unwrap());
        let run = |sql: &str, v: i64| {
            conn.with_statement(sql, |s| {
                s.query_row([v, v + 1], |r| r.get::<_, i64>(0))
                    .map_err(crate::sqlite::exec::decode)
            })
            .unwrap()
        };
        assert_eq!(run("SELECT $2 - $1", 5), 1, "bound by number");
        assert_eq!(run("SELECT $2 - $1", 7), 1);
        assert_eq!(conn.statements.borrow().len(), 1, "prepared once");
        for i in 0..STATEMENTS_MAX + 3 {
            assert_eq!(run(&format!("SELECT $1 + $2 + {i}"), 0), 1 + i as i64);
            assert!(conn.statements.borrow().len() <= STATEMENTS_MAX);
        }
        let nested =
            conn.with_statement("SELECT 1", |_| conn.with_statement("SELECT 1", |_| Ok(())));
        assert!(nested.is_err(), "a statement run inside itself is refused");
    }
}
