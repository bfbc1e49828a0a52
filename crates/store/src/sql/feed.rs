//! [`FeedTx`] for both engines (the table of `0014_events.sql`).

use super::{args, Exec, Param, Row, SqlTx};
use crate::feed::*;
use nicplane_domain::feed::{Actor, Event, EventScope, NewEvent, AGENT_SIGNAL_KINDS};
use nicplane_domain::{Error, Result};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The columns of an event, in the order [`event_row`] reads them.
const EVENT_COLS: &str = "seq, at_ms, actor_user_id, actor_user_name, actor_project_id, dialect, \
     request_id, project_id, kind, resource_id, action, resource, host";

/// Unix milliseconds as RFC 3339 in UTC.
fn rfc3339_ms(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

fn event_row(r: &dyn Row) -> Result<Event> {
    let resource = match r.get_str(11)? {
        Some(s) => Some(super::json(s)?),
        None => None,
    };
    Ok(Event {
        seq: r.small(0, "seq")?,
        at: rfc3339_ms(r.int(1)?),
        actor: Actor {
            user_id: r.opt_parse(2, "user id")?,
            user_name: r.string(3)?,
            project_id: r.opt_parse(4, "project id")?,
            dialect: r.string(5)?,
            request_id: r.string(6)?,
        },
        project_id: r.opt_parse(7, "project id")?,
        kind: r.string(8)?,
        resource_id: r.string(9)?,
        action: r.string(10)?,
        resource,
        host: r.opt_string(12)?,
    })
}

/// The host (name) of the VM whose id is the parameter `$id`.
macro_rules! vm_host_sql {
    ($id:literal) => {
        concat!(
            "SELECT h.name FROM vms v JOIN hosts h ON h.id = v.host_id WHERE v.id = ",
            $id
        )
    };
}
/// The host (name) of the interface whose id is the parameter `$id`: its
/// VM's, or (supplementary) its parent's VM's.
macro_rules! iface_host_sql {
    ($id:literal) => {
        concat!(
            "SELECT h.name FROM interfaces i \
             LEFT JOIN interfaces p ON p.id = i.parent_id \
             JOIN vms v ON v.id = COALESCE(i.vm_id, p.vm_id) \
             JOIN hosts h ON h.id = v.host_id WHERE i.id = ",
            $id
        )
    };
}
pub(crate) use iface_host_sql;
/// Deletes an interface and answers (change feed) the host it was on, so that
/// its event names the host it left without a read of its own. The subquery
/// reads the deleted row's own columns (`interfaces.vm_id`, `parent_id`), not
/// the row by id: SQLite evaluates RETURNING after the row is gone, while
/// PostgreSQL's subqueries still see it; the parent, VM and host rows are
/// not deleted, so both engines answer the same. Where `RETURNING` is not
/// cheap (SQLite, [`Exec::cheap_returning`]) the store reads
/// [`IFACE_HOST_SQL`] first and deletes without it.
pub(crate) const IFACE_DELETE_RETURNING_HOST: &str = "DELETE FROM interfaces WHERE id = $1 \
     RETURNING (SELECT h.name FROM vms v JOIN hosts h ON h.id = v.host_id \
     WHERE v.id = COALESCE(interfaces.vm_id, \
     (SELECT p.vm_id FROM interfaces p WHERE p.id = interfaces.parent_id)))";
const VM_HOST_SQL: &str = vm_host_sql!("$1");
/// The host an interface (`$1`) is on: read before its `DELETE` where
/// `RETURNING` is not cheap ([`Exec::cheap_returning`]).
pub(crate) const IFACE_HOST_SQL: &str = iface_host_sql!("$1");
/// An event's `host` when the write named none (see `feed_host`):
/// the host its VM or interface (`$9`, the event's resource id) is on now,
/// else `$12`, the one it left in this transaction.
const VM_EVENT_HOST: &str = concat!("COALESCE((", vm_host_sql!("$9"), "), $12)");
const IFACE_EVENT_HOST: &str = concat!("COALESCE((", iface_host_sql!("$9"), "), $12)");

impl<E: Exec> SqlTx<E> {
    /// Before a VM is changed or deleted: remember the host it is on, so
    /// that its event names the host it left (an agent must see it go). The
    /// first host seen in the transaction stays. An interface's host is read
    /// with a statement its write runs anyway (`feed_remember`).
    pub(crate) fn feed_remember_vm_host(&mut self, id: &str) -> Result<()> {
        if self.feed_hosts.contains_key(id) {
            return Ok(());
        }
        let host = self
            .exec
            .query_opt(VM_HOST_SQL, args![id], |r| r.string(0))?;
        if let Some(h) = host {
            self.feed_hosts.insert(id.to_string(), h);
        }
        Ok(())
    }

    /// Remember `host`, the host `id` was on when the write first read it,
    /// unless one is remembered already (for a write that reads the host
    /// with the row it reads anyway: see `iface_host_sql!`).
    pub(crate) fn feed_remember(&mut self, id: &str, host: Option<String>) {
        if let Some(h) = host {
            self.feed_hosts.entry(id.to_string()).or_insert(h);
        }
    }

    /// The SQL expression of an event's `host`, and its `$12`: the host the
    /// write named; else (VMs and interfaces) the host the resource is on
    /// now, found by a subquery of the INSERT (no statement of its own: most
    /// writes have no host), else the one it left in this transaction.
    fn feed_host(&self, e: &NewEvent) -> (&'static str, Option<String>) {
        let left = || self.feed_hosts.get(&e.resource_id).cloned();
        match e.kind {
            _ if e.host.is_some() => ("$12", e.host.clone()),
            "vm" => (VM_EVENT_HOST, left()),
            "interface" => (IFACE_EVENT_HOST, left()),
            _ => ("$12", left()),
        }
    }

    /// The events `scope` sees: after `after` in order, or (None) the newest
    /// first.
    fn events_where(
        &mut self,
        after: Option<u64>,
        limit: u32,
        scope: &EventScope,
    ) -> Result<Vec<Event>> {
        let (filter, who) = match scope {
            EventScope::All => ("seq IS NOT NULL".to_string(), Param::Null),
            EventScope::Project(p) => ("project_id = $3".to_string(), Param::Text(p.to_string())),
            EventScope::MemberOf(u) => (
                "project_id IN (SELECT project_id FROM memberships WHERE user_id = $3)".to_string(),
                Param::Text(u.to_string()),
            ),
            EventScope::Host(h) => (agent_filter(), Param::Text(h.clone())),
        };
        let (order, start) = match after {
            Some(a) => (
                "seq > $1 ORDER BY seq",
                i64::try_from(a).unwrap_or(i64::MAX),
            ),
            None => ("seq > $1 ORDER BY seq DESC", 0),
        };
        let params = [Param::Int(start), Param::Int(i64::from(limit)), who];
        let filter = filter.as_str();
        let used = if matches!(scope, EventScope::All) {
            &params[..2]
        } else {
            &params[..]
        };
        self.exec.query(
            &format!("SELECT {EVENT_COLS} FROM events WHERE {filter} AND {order} LIMIT $2"),
            used,
            event_row,
        )
    }
}

/// What an agent reads: its host's events and the host-less events of
/// [`AGENT_SIGNAL_KINDS`] (the kinds are constants, not input).
fn agent_filter() -> String {
    let kinds: Vec<String> = AGENT_SIGNAL_KINDS
        .iter()
        .map(|k| format!("'{k}'"))
        .collect();
    format!(
        "(host = $3 OR (host IS NULL AND kind IN ({})))",
        kinds.join(", ")
    )
}

impl<E: Exec> FeedTx for SqlTx<E> {
    fn feed_actor(&mut self, actor: Actor) {
        self.actor = Some(actor);
    }

    /// ```sql
    /// INSERT INTO events (seq, at_ms, …) VALUES (NULL, $1, …)  -- PostgreSQL
    /// INSERT INTO events (seq, at_ms, …)                       -- SQLite
    ///   VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM events), $1, …)
    /// ```
    fn event_append(&mut self, e: &NewEvent) -> Result<()> {
        let actor = self.actor.clone().unwrap_or_else(|| Actor {
            user_name: "system".into(),
            dialect: "system".into(),
            ..Actor::default()
        });
        let seq = if self.exec.numbers_events_in_write() {
            "(SELECT COALESCE(MAX(seq), 0) + 1 FROM events)"
        } else {
            "NULL"
        };
        let at_ms = i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
            .map_err(|_| Error::internal("clock out of range"))?;
        let resource = e.resource.clone();
        let (host_sql, host) = self.feed_host(e);
        self.exec.execute_later(
            &format!(
                "INSERT INTO events (seq, at_ms, actor_user_id, actor_user_name, actor_project_id, \
                 dialect, request_id, project_id, kind, resource_id, action, resource, host) \
                 VALUES ({seq}, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, {host_sql})"
            ),
            args![
                at_ms,
                actor.user_id.map(|u| u.to_string()),
                actor.user_name,
                actor.project_id.map(|p| p.to_string()),
                actor.dialect,
                actor.request_id,
                e.project_id.as_ref().map(|p| p.to_string()),
                e.kind,
                &e.resource_id,
                e.action.as_str(),
                resource,
                host,
            ],
        )?;
        self.appended += 1;
        Ok(())
    }

    fn events_appended(&self) -> u32 {
        self.appended
    }

    fn events_after(&mut self, after: u64, limit: u32, scope: &EventScope) -> Result<Vec<Event>> {
        self.events_where(Some(after), limit, scope)
    }

    fn events_latest(&mut self, limit: u32, scope: &EventScope) -> Result<Vec<Event>> {
        let mut events = self.events_where(None, limit, scope)?;
        events.reverse();
        Ok(events)
    }

    fn events_bounds(&mut self) -> Result<Option<FeedBounds>> {
        let row = self
            .exec
            .query_one("SELECT MIN(seq), MAX(seq) FROM events", args![], |r| {
                Ok((r.opt_int(0)?, r.opt_int(1)?))
            })?;
        Ok(match row {
            (Some(oldest), Some(newest)) => Some(FeedBounds {
                oldest: u64::try_from(oldest).unwrap_or(0),
                newest: u64::try_from(newest).unwrap_or(0),
            }),
            _ => None,
        })
    }

    fn events_oldest(&mut self, limit: u32) -> Result<Vec<(u64, i64)>> {
        self.exec.query(
            "SELECT seq, at_ms FROM events WHERE seq IS NOT NULL ORDER BY seq LIMIT $1",
            args![i64::from(limit)],
            |r| Ok((r.small(0, "seq")?, r.int(1)?)),
        )
    }

    fn events_delete_through(&mut self, through: u64) -> Result<u64> {
        let through = i64::try_from(through).unwrap_or(i64::MAX);
        self.exec.execute(
            "DELETE FROM events WHERE seq <= $1 AND seq < (SELECT MAX(seq) FROM events)",
            args![through],
        )
    }
}
