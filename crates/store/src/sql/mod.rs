//! Every SQL statement of the store, written once for both engines.
//!
//! The statements, the column lists and the row mappers live here; the
//! transaction interface ([`Tx`](crate::Tx) and its supertraits) has one
//! implementation, [`SqlTx`], generic over an [`Exec`]utor that each backend
//! provides:
//!
//! * `sqlite::exec::SqliteExec` rewrites the `$N` placeholders to `?N` (once
//!   per statement text, cached), keeps statements prepared per connection
//!   and ignores lock requests: SQLite has one writer, so a writing
//!   transaction already excludes every other.
//! * `postgres::exec::PgExec` appends `FOR UPDATE` where a read asks for a
//!   lock inside a writing transaction, keeps statements prepared per
//!   connection and classifies errors (serialization failures and deadlocks
//!   are retried by `postgres::PgStore::run`).
//!
//! The SQL is the dialect both engines accept: `$N` placeholders, `TRUE`,
//! `ON CONFLICT … DO NOTHING/UPDATE`, `RETURNING`, `IS DISTINCT FROM`; a
//! list of values is expanded into placeholders ([`Query::and_in`]); the
//! current time is bound from Rust (`SqlTx::now`), never read from an
//! engine's clock function. A constraint violation is classified by each
//! backend into a [`Violation`] and turned into the domain error by the one
//! function [`constraint_error`].
//!
//! Where a new query goes: its statement and its use in the `impl` of the
//! trait method in `tx.rs` (or the sub-trait's file: `credential_job.rs`,
//! `quota.rs`, `trunk.rs`, `user_auth.rs`); a new table's column list and
//! row mapper in `rows.rs`; a new list filter in the list query's function
//! (one function per list query builds its `WHERE` from the filter).

mod capacity;
mod credential_job;
mod external_port;
mod feed;
mod host;
mod neutron;
mod project;
mod quota;
mod router;
pub(crate) mod rows;
mod trunk;
mod tx;
mod user_auth;

use crate::tx::PageRequest;
use nicplane_domain::query::SortField;
use nicplane_domain::{ConflictReason, Error, Result};
use std::collections::HashSet;
use std::str::FromStr;
use time::OffsetDateTime;

/// Refuse text a store cannot hold: PostgreSQL refuses the NUL character
/// (U+0000) in text, so neither engine takes it, and a client gets the same
/// 400 from both instead of a database error.
pub(crate) fn storable(params: &[Param]) -> Result<()> {
    if params
        .iter()
        .any(|p| matches!(p, Param::Text(t) if t.contains('\0')))
    {
        return Err(Error::invalid(
            "Text values cannot contain the NUL character (U+0000).",
        ));
    }
    Ok(())
}

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Null,
    Int(i64),
    Text(String),
    Bool(bool),
}

impl From<i64> for Param {
    fn from(v: i64) -> Self {
        Param::Int(v)
    }
}
impl From<bool> for Param {
    fn from(v: bool) -> Self {
        Param::Bool(v)
    }
}
impl From<String> for Param {
    fn from(v: String) -> Self {
        Param::Text(v)
    }
}
impl From<&String> for Param {
    fn from(v: &String) -> Self {
        Param::Text(v.clone())
    }
}
impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Param::Text(v.to_string())
    }
}
impl<T: Into<Param>> From<Option<T>> for Param {
    fn from(v: Option<T>) -> Self {
        v.map_or(Param::Null, Into::into)
    }
}

/// The parameters of a statement: `args![a, b]` is `[Param::from(a), …]`.
macro_rules! args {
    ($($v:expr),* $(,)?) => { &[$($crate::sql::Param::from($v)),*] };
}
pub(crate) use args;

/// One row of a result, as both engines' rows can be read.
pub trait Row {
    /// An integer column (any width), or NULL.
    fn get_i64(&self, i: usize) -> Result<Option<i64>>;
    /// A text column, or NULL.
    fn get_str(&self, i: usize) -> Result<Option<&str>>;
    /// A boolean column (SQLite: an integer), or NULL.
    fn get_bool(&self, i: usize) -> Result<Option<bool>>;
}

fn null(i: usize) -> Error {
    Error::internal(format!("bad column {i} in the database: NULL"))
}

/// Parse a column written by this store; a bad value is a corrupt row.
fn parse<T: FromStr>(s: &str, what: &str) -> Result<T> {
    s.parse()
        .map_err(|_| Error::internal(format!("bad {what} in the database: {s}")))
}

/// Typed readers over any [`Row`]; a wrong type or NULL where none may be is
/// a bug or a corrupt row (an internal error).
impl dyn Row + '_ {
    pub fn int(&self, i: usize) -> Result<i64> {
        self.get_i64(i)?.ok_or_else(|| null(i))
    }
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        self.get_i64(i)
    }
    /// An integer that must fit `T` (a port, a VLAN id, a count).
    pub fn small<T: TryFrom<i64>>(&self, i: usize, what: &str) -> Result<T> {
        let v = self.int(i)?;
        T::try_from(v).map_err(|_| Error::internal(format!("bad {what} in the database: {v}")))
    }
    pub fn opt_small<T: TryFrom<i64>>(&self, i: usize, what: &str) -> Result<Option<T>> {
        self.get_i64(i)?
            .map(|v| {
                T::try_from(v)
                    .map_err(|_| Error::internal(format!("bad {what} in the database: {v}")))
            })
            .transpose()
    }
    pub fn str(&self, i: usize) -> Result<&str> {
        self.get_str(i)?.ok_or_else(|| null(i))
    }
    pub fn string(&self, i: usize) -> Result<String> {
        self.str(i).map(str::to_string)
    }
    pub fn opt_string(&self, i: usize) -> Result<Option<String>> {
        Ok(self.get_str(i)?.map(str::to_string))
    }
    pub fn bool(&self, i: usize) -> Result<bool> {
        self.get_bool(i)?.ok_or_else(|| null(i))
    }
    /// A text column parsed into `T` (ids, enums, addresses).
    pub fn parse<T: FromStr>(&self, i: usize, what: &str) -> Result<T> {
        parse(self.str(i)?, what)
    }
    pub fn opt_parse<T: FromStr>(&self, i: usize, what: &str) -> Result<Option<T>> {
        self.get_str(i)?.map(|s| parse(s, what)).transpose()
    }
    /// A JSON text column.
    pub fn json<T: serde::de::DeserializeOwned>(&self, i: usize) -> Result<T> {
        json(self.str(i)?)
    }
    /// A Unix time column.
    pub fn time(&self, i: usize) -> Result<OffsetDateTime> {
        Ok(from_ts(self.int(i)?))
    }
}

pub(crate) fn json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| Error::internal(format!("bad JSON in the database: {e}")))
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

pub(crate) fn ts(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

pub(crate) fn from_ts(v: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(v).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// What [`Exec::each_row`] hands each row to.
pub type RowFn<'a> = &'a mut dyn FnMut(&dyn Row) -> Result<()>;

/// What a backend runs statements on: one connection inside one transaction
/// that the backend began and will end.
pub trait Exec {
    /// Run `sql` (with `$N` placeholders) and hand each row returned to `f`.
    fn each_row(&mut self, sql: &str, params: &[Param], f: RowFn<'_>) -> Result<()>;

    /// Run `sql` and answer the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[Param]) -> Result<u64>;

    /// Run `sql` for its effect only, before the transaction's next
    /// statement or its end. A backend with round trips (PostgreSQL) may
    /// send it together with that next statement (pipelined): the engine
    /// still runs every statement in the order the use case issued them,
    /// and a failure is reported by the next call (or the commit), after
    /// which the transaction can do nothing more anyway. SQLite runs it now.
    fn execute_later(&mut self, sql: &str, params: &[Param]) -> Result<()> {
        self.execute(sql, params).map(drop)
    }

    /// Run these reads now, together, and answer the next [`Exec::each_row`]
    /// of exactly one of them (the same SQL and parameters) from its rows,
    /// until the transaction writes (`Tx::read_ahead`). Backends without
    /// round trips do nothing.
    fn read_ahead(&mut self, reads: &[(String, Vec<Param>)]) -> Result<()> {
        let _ = reads;
        Ok(())
    }

    /// Whether [`Exec::read_ahead`] does anything (else the reads' SQL is
    /// not even built: SQLite runs use cases on its one writer thread).
    fn reads_ahead(&self) -> bool {
        false
    }

    /// Whether a write numbers its own events (SQLite: one writer, so the
    /// write order is the commit order). PostgreSQL leaves the number to the
    /// sequencer (`postgres::feed`).
    fn numbers_events_in_write(&self) -> bool {
        false
    }

    /// Whether `DELETE … RETURNING` answers from the deleted row at no extra
    /// cost (PostgreSQL). SQLite builds and drops a temporary B-tree (its
    /// own pager and first page) for every statement with `RETURNING`,
    /// about 2 % of the writer's time per detach for each of the two such
    /// deletes; there the store reads what it needs first and deletes
    /// without `RETURNING`, which its one writer makes the same answer.
    fn cheap_returning(&self) -> bool {
        true
    }

    /// Whether an INSERT into `interfaces` fires no trigger, so that the
    /// store itself charges the port quota and revises a new subport's trunk
    /// in the same transaction (SQLite since migration 0026: a trigger gave
    /// every such INSERT a statement journal). PostgreSQL keeps its triggers.
    fn interface_insert_charges(&self) -> bool {
        false
    }

    /// The roles `membership_role` may answer from and remember, with the
    /// cache's epoch when this transaction began (SQLite: read
    /// [`crate::roles::RoleCache`]); none on PostgreSQL, whose servers share
    /// the store.
    fn role_cache(&self) -> Option<(&crate::roles::RoleCache, u64)> {
        None
    }

    /// Whether reads that decide a write lock the rows they read (PostgreSQL
    /// inside a writing transaction). When false, [`Exec::for_update`] is
    /// empty and `SqlTx::lock` does nothing.
    fn row_locks(&self) -> bool;

    /// `expr` with its ASCII letters (only) lower-cased, for the
    /// case-insensitive filters (as `eq_ignore_ascii_case`): SQLite's
    /// built-in `lower()` folds ASCII letters only.
    fn fold_ascii(&self, expr: &str) -> String {
        format!("lower({expr})")
    }

    /// `expr` compared and ordered byte by byte, as SQLite's default
    /// collation does: a list's order does not depend on a server's locale.
    fn bytewise(&self, expr: &str) -> String {
        expr.to_string()
    }

    /// The clause that locks the rows a read returns (of table alias `of`),
    /// when [`Exec::row_locks`]; empty otherwise.
    fn for_update(&self, of: Option<&str>) -> String {
        match (self.row_locks(), of) {
            (false, _) => String::new(),
            (true, None) => " FOR UPDATE".into(),
            (true, Some(t)) => format!(" FOR UPDATE OF {t}"),
        }
    }

    /// The clause that locks the rows a read returns and passes over the
    /// rows another transaction holds (PostgreSQL's `SKIP LOCKED`), when
    /// [`Exec::row_locks`]; empty otherwise (SQLite has one writer).
    fn for_update_skip_locked(&self) -> String {
        if self.row_locks() {
            " FOR UPDATE SKIP LOCKED".into()
        } else {
            String::new()
        }
    }

    /// The shard of a sharded counter this transaction writes to (an SQL
    /// expression): with several writers, each writes its own row, so
    /// counting does not make them wait for each other. One writer: `0`.
    fn counter_shard(&self) -> &'static str {
        "0"
    }

    /// Every row, mapped.
    fn query<T>(
        &mut self,
        sql: &str,
        params: &[Param],
        mut f: impl FnMut(&dyn Row) -> Result<T>,
    ) -> Result<Vec<T>>
    where
        Self: Sized,
    {
        let mut out = Vec::new();
        self.each_row(sql, params, &mut |r| {
            out.push(f(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row, mapped, if there is one.
    fn query_opt<T>(
        &mut self,
        sql: &str,
        params: &[Param],
        f: impl FnOnce(&dyn Row) -> Result<T>,
    ) -> Result<Option<T>>
    where
        Self: Sized,
    {
        let mut f = Some(f);
        let mut out = None;
        self.each_row(sql, params, &mut |r| {
            if let Some(f) = f.take() {
                out = Some(f(r)?);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row, mapped; a statement that returns none is a bug.
    fn query_one<T>(
        &mut self,
        sql: &str,
        params: &[Param],
        f: impl FnOnce(&dyn Row) -> Result<T>,
    ) -> Result<T>
    where
        Self: Sized,
    {
        self.query_opt(sql, params, f)?
            .ok_or_else(|| Error::internal(format!("no row from: {sql}")))
    }
}

/// A constraint violation, as a backend reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// A foreign key still points at the row (or at nothing).
    ForeignKey,
    /// A unique index or CHECK, by its PostgreSQL name (`interfaces_mac`,
    /// `credentials_slot_check`, `projects_name_key`, …); the SQLite backend
    /// names it from the columns in SQLite's message.
    Named(String),
}

/// The one mapping of a violated constraint to the domain error, for both
/// engines. `message` is the engine's own text (a quota trigger's abort
/// message names the resource).
pub fn constraint_error(v: &Violation, message: &str) -> Error {
    if let Some(e) = crate::quota::decode_over_quota(message) {
        return e;
    }
    let c = |reason, m: &str| Error::conflict(reason, m);
    let name = match v {
        Violation::ForeignKey => {
            return c(
                ConflictReason::InUse,
                "The object is still used by another object.",
            )
        }
        Violation::Named(n) => n.as_str(),
    };
    match name {
        "credentials_user_slot" | "credentials_slot_check" => c(
            ConflictReason::CredentialLimitReached,
            crate::CREDENTIAL_LIMIT_MESSAGE,
        ),
        "interfaces_mac" => c(
            ConflictReason::MacInUse,
            "The MAC address is already in use.",
        ),
        "interfaces_parent_vlan" => c(
            ConflictReason::VlanInUse,
            "The VLAN id is already used on that parent interface.",
        ),
        "interfaces_one_primary" => c(
            ConflictReason::PrimaryInterface,
            "The VM already has a primary interface.",
        ),
        "ip_allocations_pkey" | "public_ips_address" | "external_port_ips_pkey" => c(
            ConflictReason::AddressInUse,
            "The IP address is already in use.",
        ),
        "public_ips_interface" => c(
            ConflictReason::PublicIpExists,
            "The network interface already has a public IP.",
        ),
        "vms_nic_count_check" => c(
            ConflictReason::InterfaceLimitReached,
            "The VM has too many network interfaces.",
        ),
        "idempotency_keys_pkey" => c(
            ConflictReason::IdempotencyKeyReused,
            "The Idempotency-Key is in use by a concurrent request.",
        ),
        "networks_one_default" | "security_groups_one_default" => c(
            ConflictReason::InUse,
            "The project's default was created by a concurrent request; try again.",
        ),
        // A concurrent create of a flavor with the same id or name (the
        // rule saw none). SQLite names the name's index `flavors_name_key`
        // (see `violation`), handled below.
        "flavors_pkey" => c(
            ConflictReason::NameTaken,
            "A flavor with that ID already exists.",
        ),
        "flavors_live_name" => c(
            ConflictReason::NameTaken,
            "A flavor with that name already exists.",
        ),
        n if n.ends_with("_name_key") => {
            c(ConflictReason::NameTaken, "That name is already taken.")
        }
        _ => Error::internal(format!("constraint {name} violated: {message}")),
    }
}

/// A statement built from filters, with numbered placeholders.
pub struct Query {
    pub sql: String,
    pub args: Vec<Param>,
}

impl Query {
    pub fn new(sql: impl Into<String>) -> Self {
        Query {
            sql: sql.into(),
            args: Vec::new(),
        }
    }

    fn placeholder(&mut self, v: Param) -> String {
        self.args.push(v);
        format!("${}", self.args.len())
    }

    /// Append `AND cond` with its `{}` replaced by the placeholder of `v`.
    pub fn and(&mut self, cond: &str, v: impl Into<Param>) {
        let p = self.placeholder(v.into());
        self.sql.push_str(" AND ");
        self.sql.push_str(&cond.replace("{}", &p));
    }

    /// Append `AND cond` when there is a value (a filter that is set).
    pub fn and_opt<V: Into<Param>>(&mut self, cond: &str, v: Option<V>) {
        if let Some(v) = v {
            self.and(cond, v);
        }
    }

    /// Append `AND col IN ($i, $j, …)`, or `AND FALSE` for no values: the
    /// one spelling of "one of these" for both engines.
    pub fn and_in(&mut self, col: &str, values: impl IntoIterator<Item = Param>) {
        let list: Vec<String> = values.into_iter().map(|v| self.placeholder(v)).collect();
        if list.is_empty() {
            self.sql.push_str(" AND FALSE");
        } else {
            self.sql
                .push_str(&format!(" AND {col} IN ({})", list.join(", ")));
        }
    }

    /// Append `AND col > marker ORDER BY col LIMIT n`.
    pub fn paginate(&mut self, col: &str, page: &PageRequest) {
        if let Some(m) = &page.marker {
            self.and(&format!("{col} > {{}}"), m.as_str());
        }
        self.sql.push_str(&format!(" ORDER BY {col}"));
        if page.limit > 0 {
            let p = self.placeholder(Param::Int(i64::from(page.limit)));
            self.sql.push_str(&format!(" LIMIT {p}"));
        }
    }
}

/// A list's sort key: its expression with `{t}` where the table's alias
/// goes (`{t}` is `"i."` in the list, empty in the marker's subquery), and
/// whether it is text (compared byte by byte on both engines).
pub struct SortColumn {
    pub expr: &'static str,
    pub text: bool,
}

impl Query {
    /// Append the keyset condition and `ORDER BY … LIMIT n` for a page in
    /// `page.order` (`paginate(id)` when the order is empty). The marker's
    /// keys are read by primary-key subqueries on `table`; ties are broken
    /// by id. `column` maps a sort field to the list's column (a field the
    /// list lacks is refused); `bytewise` is [`Exec::bytewise`].
    pub fn paginate_ordered(
        &mut self,
        table: &str,
        alias: &str,
        page: &PageRequest,
        column: impl Fn(SortField) -> Option<SortColumn>,
        bytewise: impl Fn(&str) -> String,
    ) -> Result<()> {
        if page.order.is_empty() {
            self.paginate(&format!("{alias}.id"), page);
            return Ok(());
        }
        let mut keys: Vec<(SortField, bool)> = page.order.clone();
        if !keys.iter().any(|(f, _)| *f == SortField::Id) {
            let last = keys.last().map(|k| k.1).unwrap_or(true);
            keys.push((SortField::Id, last));
        }
        let mut cols = Vec::new();
        for (field, asc) in keys {
            let c = column(field).ok_or_else(|| {
                Error::invalid(format!("This list cannot be sorted by {}.", field.as_str()))
            })?;
            let side = |t: &str| {
                let e = c.expr.replace("{t}", t);
                if c.text {
                    bytewise(&e)
                } else {
                    e
                }
            };
            cols.push((side(&format!("{alias}.")), side(""), asc));
        }
        if let Some(m) = &page.marker {
            let p = self.placeholder(Param::Text(m.clone()));
            let of = |inner: &str| format!("(SELECT {inner} FROM {table} WHERE id = {p})");
            let mut any = Vec::new();
            for k in 0..cols.len() {
                let mut all: Vec<String> = cols[..k]
                    .iter()
                    .map(|(outer, inner, _)| format!("{outer} = {}", of(inner)))
                    .collect();
                let (outer, inner, asc) = &cols[k];
                let cmp = if *asc { ">" } else { "<" };
                all.push(format!("{outer} {cmp} {}", of(inner)));
                any.push(format!("({})", all.join(" AND ")));
            }
            self.sql.push_str(&format!(" AND ({})", any.join(" OR ")));
        }
        let order: Vec<String> = cols
            .iter()
            .map(|(outer, _, asc)| format!("{outer} {}", if *asc { "ASC" } else { "DESC" }))
            .collect();
        self.sql
            .push_str(&format!(" ORDER BY {}", order.join(", ")));
        if page.limit > 0 {
            let p = self.placeholder(Param::Int(i64::from(page.limit)));
            self.sql.push_str(&format!(" LIMIT {p}"));
        }
        Ok(())
    }
}

/// What a row lock protects; locked at most once per transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Lock {
    /// Exclusive: the subnet's pools or the subnet itself change.
    Subnet(nicplane_domain::ids::SubnetId),
    /// Shared (`FOR KEY SHARE`): an address is taken or released. Many
    /// allocations hold it at once; it keeps out only [`Lock::Subnet`].
    SubnetAllocate(nicplane_domain::ids::SubnetId),
    Pool(nicplane_domain::ids::PoolId),
}

/// The one implementation of [`Tx`](crate::Tx): a transaction on a backend's
/// executor. The backend began the transaction and ends it.
pub struct SqlTx<E: Exec> {
    exec: E,
    locked: HashSet<Lock>,
    /// The transaction's time (Unix seconds), read once.
    now: Option<i64>,
    /// Who this transaction's events are by (`FeedTx::feed_actor`).
    actor: Option<nicplane_domain::feed::Actor>,
    /// Events appended in this transaction.
    appended: u32,
    /// The host (name) each VM or interface this transaction detached,
    /// deleted or changed was on before the change, by id: the `host` of its
    /// event when it is on none any more (`sql/feed.rs`).
    feed_hosts: std::collections::HashMap<String, String>,
}

impl<E: Exec> SqlTx<E> {
    pub fn new(exec: E) -> Self {
        SqlTx {
            exec,
            locked: HashSet::new(),
            now: None,
            actor: None,
            appended: 0,
            feed_hosts: std::collections::HashMap::new(),
        }
    }

    /// The backend's executor.
    pub fn exec(&self) -> &E {
        &self.exec
    }

    /// The transaction's time, the same for all its statements.
    fn now(&mut self) -> i64 {
        *self
            .now
            .get_or_insert_with(|| OffsetDateTime::now_utc().unix_timestamp())
    }

    /// Lock a subnet or pool row for the rest of the transaction, once:
    /// allocations from one pool run one after the other; allocations from
    /// one subnet share its row's lock (they lock free ranges instead, see
    /// `ip_take_next`), changes of its pools exclude them.
    /// ```sql
    /// SELECT 1 FROM subnets WHERE id = $1 FOR UPDATE  -- or FOR KEY SHARE, or public_ip_pools
    /// ```
    fn lock(&mut self, what: Lock) -> Result<()> {
        if !self.exec.row_locks() || self.locked.contains(&what) {
            return Ok(());
        }
        let lock = self.exec.for_update(None);
        match &what {
            // The lock is taken before the next statement runs, whether
            // or not it travels with it.
            Lock::Subnet(id) => self.exec.execute_later(
                &format!("SELECT 1 FROM subnets WHERE id = $1{lock}"),
                args![id.to_string()],
            )?,
            Lock::SubnetAllocate(id) => self.exec.execute_later(
                "SELECT 1 FROM subnets WHERE id = $1 FOR KEY SHARE",
                args![id.to_string()],
            )?,
            Lock::Pool(id) => self.exec.execute_later(
                &format!("SELECT 1 FROM public_ip_pools WHERE id = $1{lock}"),
                args![id.to_string()],
            )?,
        }
        self.locked.insert(what);
        Ok(())
    }

    /// Run a statement for its effect (its row count unread), before the
    /// next statement: [`Exec::execute_later`].
    fn run(&mut self, sql: &str, params: &[Param]) -> Result<()> {
        self.exec.execute_later(sql, params)
    }

    /// `DELETE FROM table WHERE id = $1`.
    fn delete(&mut self, table: &str, id: String) -> Result<u64> {
        self.exec
            .execute(&format!("DELETE FROM {table} WHERE id = $1"), args![id])
    }

    /// `SELECT COUNT(*) …` as a count.
    fn count(&mut self, sql: &str, params: &[Param]) -> Result<u64> {
        Ok(self.exec.query_one(sql, params, |r| r.int(0))?.max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_filter_numbers_its_placeholders_in_order() {
        let mut q = Query::new("SELECT id FROM t WHERE TRUE");
        q.and_opt("a = {}", Some("x"));
        q.and_opt::<&str>("b = {}", None);
        q.and_in("id", ["1", "2"].map(Param::from));
        q.paginate(
            "id",
            &PageRequest {
                limit: 5,
                marker: Some("m".into()),
                ..PageRequest::default()
            },
        );
        assert_eq!(
            q.sql,
            "SELECT id FROM t WHERE TRUE AND a = $1 AND id IN ($2, $3) AND id > $4 ORDER BY id LIMIT $5"
        );
        assert_eq!(
            q.args,
            vec![
                Param::from("x"),
                Param::from("1"),
                Param::from("2"),
                Param::from("m"),
                Param::Int(5)
            ]
        );
    }

    #[test]
    fn an_empty_list_matches_nothing() {
        let mut q = Query::new("SELECT id FROM t WHERE TRUE");
        q.and_in("id", []);
        assert_eq!(q.sql, "SELECT id FROM t WHERE TRUE AND FALSE");
        assert!(q.args.is_empty());
    }

    #[test]
    fn a_constraint_without_a_meaning_is_an_internal_error() {
        let e = constraint_error(&Violation::Named("trunks_parent".into()), "duplicate key");
        assert_eq!(e.http_status(), 500);
        let e = constraint_error(&Violation::Named("projects_name_key".into()), "");
        assert_eq!(e.to_string(), "That name is already taken.");
    }
}
