//! The change feed (docs/feed.md): every committed write appends events in
//! its own transaction, and readers follow them with `events_list`, a long
//! poll.
//!
//! * Recording: [`Service::write`](crate::Service) sets the transaction's
//!   [`Actor`] (the caller, and the dialect and request id that the HTTP
//!   layer put in [`with_origin`]), runs the use case, which calls [`emit`]
//!   for what it changed, and refuses a successful write that recorded no
//!   event (an internal error in debug builds, a logged error in release):
//!   no write path can forget its event without a test noticing. Dry runs
//!   roll their events back with everything else; an `Idempotency-Key`
//!   replay writes nothing.
//! * Numbering: SQLite numbers an event in the write (one writer); on
//!   PostgreSQL the background task [`Service::feed_run`] numbers committed
//!   events (`Store::feed_sequence`), every [`FEED_POLL`] and as soon as a
//!   write of this server commits.
//! * Waiting: a reader with nothing to read waits on an in-memory signal
//!   (`head`), holding no database connection, at most
//!   [`FEED_WAITERS_MAX`] readers at once per server.
//! * Retention: [`Service::feed_prune`], run with the other purges
//!   (`--purge-interval`), deletes events beyond the retention in bounded
//!   batches ([`PRUNE_BATCH`]), never the newest one.

use crate::{authorize, Caller, Need, Service};
pub use nicplane_domain::feed::EventPage;
use nicplane_domain::feed::{events_limit, events_wait, Action, Actor, EventScope, NewEvent};
use nicplane_domain::ids::ProjectId;
use nicplane_domain::model::Host;
use nicplane_domain::{Error, Kind, Result};
use nicplane_store::Tx;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::Serialize;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify, Semaphore};

/// How often the background task looks for events other servers numbered
/// (PostgreSQL), when no write of its own woke it.
pub const FEED_POLL: Duration = Duration::from_millis(25);
/// Least time between the starts of two sequencer rounds of one server
/// (PostgreSQL). A write of this server wakes the task at once, and under
/// load rounds ran back to back, a few events each, on every server (only
/// one numbers at a time; the others only read the newest number): each
/// round is four round trips and three statements. Waiting this long lets a
/// round take the events of several writes, for at most this much more lag.
pub const FEED_ROUND_GAP: Duration = Duration::from_millis(5);
/// Most readers waiting for events at once on one server; the next one is
/// answered 429 at once (a waiting reader holds no database connection,
/// only memory).
pub const FEED_WAITERS_MAX: usize = 256;
/// Most events one pruning transaction deletes.
pub const PRUNE_BATCH: u32 = 1000;
/// Most pruning transactions in one pass; the next pass continues.
pub const PRUNE_BATCHES_PER_PASS: u32 = 100;
/// Default of `--event-retention-days`.
pub const DEFAULT_RETENTION_DAYS: u64 = 30;
/// Default of `--event-retention-count`.
pub const DEFAULT_RETENTION_COUNT: u64 = 1_000_000;

/// How long events are kept: at most `days` old and at most `count` of
/// them (whichever deletes more); the newest event is always kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub days: u64,
    pub count: u64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            days: DEFAULT_RETENTION_DAYS,
            count: DEFAULT_RETENTION_COUNT,
        }
    }
}

/// Where the current request comes from, as the HTTP layer knows it.
#[derive(Debug, Clone)]
pub struct Origin {
    pub dialect: &'static str,
    pub request_id: String,
}

tokio::task_local! {
    static ORIGIN: Origin;
}

/// Run a request's future with its origin, so the events of its writes
/// name the dialect and the request id.
pub async fn with_origin<F: std::future::Future>(origin: Origin, f: F) -> F::Output {
    ORIGIN.scope(origin, f).await
}

/// The actor of a caller's writes in the current request.
pub(crate) fn actor(caller: &Caller) -> Actor {
    let (dialect, request_id) = ORIGIN
        .try_with(|o| (o.dialect.to_string(), o.request_id.clone()))
        .unwrap_or_else(|_| ("system".into(), "-".into()));
    Actor {
        user_id: Some(caller.user.id),
        user_name: caller.user.name.clone(),
        project_id: caller.scope.clone(),
        dialect,
        request_id,
    }
}

/// Record that `action` happened to a resource, inside the write's
/// transaction: `resource` is the resource as it now is (None after a
/// delete), `project` the project whose members see the event.
pub fn emit<T: Serialize + ?Sized>(
    tx: &mut dyn Tx,
    kind: Kind,
    id: impl ToString,
    project: Option<&ProjectId>,
    action: Action,
    resource: Option<&T>,
) -> Result<()> {
    emit_kind(tx, kind.as_str(), id, project, action, resource)
}

/// [`emit`] for a kind named by its wire name (`trunk`).
pub fn emit_kind<T: Serialize + ?Sized>(
    tx: &mut dyn Tx,
    kind: &'static str,
    id: impl ToString,
    project: Option<&ProjectId>,
    action: Action,
    resource: Option<&T>,
) -> Result<()> {
    let resource = match resource {
        Some(r) => Some(
            serde_json::to_string(r)
                .map_err(|e| Error::internal(format!("cannot record an event: {e}")))?,
        ),
        None => None,
    };
    tx.event_append(&NewEvent {
        kind,
        resource_id: id.to_string(),
        project_id: project.cloned(),
        action,
        resource,
        host: None,
    })
}

/// Record a delete (the resource is gone: no body).
pub fn emit_deleted(
    tx: &mut dyn Tx,
    kind: Kind,
    id: impl ToString,
    project: Option<&ProjectId>,
) -> Result<()> {
    emit::<()>(tx, kind, id, project, Action::Delete, None)
}

/// What a successful write without any event gets: in debug builds (every
/// test) an internal error, so a write path that forgets its event fails
/// its tests; in release a logged error, the write stands.
pub(crate) fn no_event(tx: &dyn Tx) -> Result<()> {
    if tx.events_appended() > 0 {
        return Ok(());
    }
    if cfg!(debug_assertions) {
        return Err(Error::internal("a write recorded no change-feed event"));
    }
    tracing::error!("a write recorded no change-feed event");
    Ok(())
}

/// A feed request.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub after: u64,
    pub limit: Option<u32>,
    pub wait: Option<u64>,
    /// Only this project's events.
    pub project: Option<ProjectId>,
    /// The newest `limit` events instead of those after `after` (a screen of
    /// recent activity; never waits).
    pub latest: bool,
}

/// The feed's in-memory state on one server.
pub struct Feed {
    /// Bumped whenever events may have become readable.
    head: watch::Sender<u64>,
    /// Wakes the background task at once (a write of this server committed).
    poke: Notify,
    waiters: Arc<Semaphore>,
    retention: Retention,
    events_written: Counter,
    lag_seconds: Gauge<f64, AtomicU64>,
}

impl Feed {
    pub fn new(retention: Retention) -> Self {
        Feed {
            head: watch::channel(0).0,
            poke: Notify::new(),
            waiters: Arc::new(Semaphore::new(FEED_WAITERS_MAX)),
            retention,
            events_written: Counter::default(),
            lag_seconds: Gauge::default(),
        }
    }

    /// A write of this server committed `n` events.
    pub(crate) fn written(&self, n: u32, numbered: bool) {
        if n == 0 {
            return;
        }
        self.events_written.inc_by(u64::from(n));
        if numbered {
            self.head.send_modify(|h| *h = h.wrapping_add(1));
        } else {
            self.poke.notify_one();
        }
    }

    /// Add the feed's metrics to a scrape's registry.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "events_written",
            "Change-feed events written by this server's committed writes",
            self.events_written.clone(),
        );
        registry.register(
            "feed_sequencer_lag_seconds",
            "Age of the oldest event not yet numbered by the sequencer (PostgreSQL; 0 when none)",
            self.lag_seconds.clone(),
        );
    }
}

impl Service {
    /// `events_list`: the events after `after` that the caller may see, at
    /// most `limit`; when there are none, wait up to `wait` seconds for
    /// some. The cloud admin sees every event; any member of a project (a
    /// reader too: the feed is the project's audit trail) sees the
    /// project's; a token scoped to a project sees that project's only.
    pub async fn events_list(&self, caller: &Caller, q: EventQuery) -> Result<EventPage> {
        let scope = match (&q.project, &caller.scope) {
            (Some(p), _) => EventScope::Project(p.clone()),
            (None, Some(p)) if !caller.user.is_cloud_admin => EventScope::Project(p.clone()),
            (None, _) if caller.user.is_cloud_admin => EventScope::All,
            (None, _) => EventScope::MemberOf(caller.user.id),
        };
        self.events_follow(Some(caller), q, scope).await
    }

    /// `events_list` for an agent credential: its host's events (those
    /// whose `host` is the host), and the host-less events of
    /// `AGENT_SIGNAL_KINDS` as bare signals (`Event::signal`): the
    /// agent wakes up on them and re-reads its desired state. An agent
    /// names no project (403).
    pub async fn events_list_agent(&self, host: &Host, q: EventQuery) -> Result<EventPage> {
        if q.project.is_some() {
            return Err(Error::forbidden(
                "An agent reads the events of its host only; it names no project.",
            ));
        }
        let name = host.name.clone();
        let mut page = self
            .events_follow(None, q, EventScope::Host(name.clone()))
            .await?;
        page.events = page
            .events
            .into_iter()
            .map(|e| {
                if e.host.as_deref() == Some(name.as_str()) {
                    e
                } else {
                    e.signal()
                }
            })
            .collect();
        Ok(page)
    }

    /// The long poll behind both: a page of `scope`'s events after
    /// `q.after`, waiting up to `q.wait` for one. `caller` is checked for a
    /// named project.
    async fn events_follow(
        &self,
        caller: Option<&Caller>,
        q: EventQuery,
        scope: EventScope,
    ) -> Result<EventPage> {
        let limit = events_limit(q.limit)?;
        let wait = Duration::from_secs(events_wait(q.wait)?);
        // Subscribed before the first read: a change between the read and
        // the wait still wakes this reader.
        let mut head = self.feed.head.subscribe();
        let page = self.events_page(caller, &q, limit, &scope).await?;
        if !page.events.is_empty() || wait.is_zero() || q.latest {
            return Ok(page);
        }
        let _permit = self.feed.waiters.clone().try_acquire_owned().map_err(|_| {
            Error::too_many_requests(
                "Too many clients are waiting for events on this server; try again.",
                1,
            )
        })?;
        let deadline = tokio::time::Instant::now() + wait;
        let mut page = page;
        // Bounded: every round but the last waits for a change of the head,
        // and the deadline ends the loop.
        loop {
            match tokio::time::timeout_at(deadline, head.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return Ok(page),
            }
            page = self.events_page(caller, &q, limit, &scope).await?;
            if !page.events.is_empty() {
                return Ok(page);
            }
        }
    }

    async fn events_page(
        &self,
        caller: Option<&Caller>,
        q: &EventQuery,
        limit: u32,
        scope: &EventScope,
    ) -> Result<EventPage> {
        let c = caller.cloned();
        let project = q.project.clone();
        let after = q.after;
        let latest = q.latest;
        let scope = scope.clone();
        self.store
            .read(move |tx| {
                if let (Some(p), Some(c)) = (&project, &c) {
                    authorize(tx, c, p, Need::Read)?;
                }
                let bounds = tx.events_bounds()?;
                let events = if latest {
                    tx.events_latest(limit, &scope)?
                } else {
                    tx.events_after(after, limit, &scope)?
                };
                let oldest = bounds.map(|b| b.oldest);
                Ok(EventPage {
                    next: events.last().map_or(after, |e| e.seq),
                    truncated: !latest && oldest.is_some_and(|o| o > after.saturating_add(1)),
                    oldest,
                    events,
                })
            })
            .await
    }

    /// The feed's background task, run by every server until the process
    /// ends (PostgreSQL only; SQLite numbers events in the write): numbers
    /// events, wakes waiting readers when new events are readable and keeps
    /// the lag gauge.
    pub async fn feed_run(self) {
        if !self.store.feed_sequenced_in_background() {
            return;
        }
        let mut newest_seen = None;
        let mut last_round: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                _ = self.feed.poke.notified() => {}
                _ = tokio::time::sleep(FEED_POLL) => {}
            }
            if let Some(last) = last_round {
                tokio::time::sleep_until(last + FEED_ROUND_GAP).await;
            }
            last_round = Some(tokio::time::Instant::now());
            match self.store.feed_sequence().await {
                Ok(round) => {
                    if round.newest != newest_seen {
                        newest_seen = round.newest;
                        self.feed.head.send_modify(|h| *h = h.wrapping_add(1));
                    }
                    let lag = round.oldest_unsequenced_ms.map_or(0.0, |ms| {
                        let now =
                            time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
                        ((now - i128::from(ms)).max(0) as f64) / 1000.0
                    });
                    self.feed.lag_seconds.set(lag);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "change-feed sequencer round failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Apply the retention now: delete, in transactions of at most
    /// [`PRUNE_BATCH`] events, the events older than the retention's days or
    /// beyond its count, never the newest. The number deleted.
    pub async fn feed_prune(&self) -> Result<u64> {
        let retention = self.feed.retention;
        let mut deleted = 0;
        for _ in 0..PRUNE_BATCHES_PER_PASS {
            let now_ms =
                i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
                    .unwrap_or(i64::MAX);
            let n = self
                .store
                .write(move |tx| {
                    let Some(bounds) = tx.events_bounds()? else {
                        return Ok(0);
                    };
                    let by_count = bounds.newest.saturating_sub(retention.count);
                    let max_age_ms = i64::try_from(retention.days.saturating_mul(86_400_000))
                        .unwrap_or(i64::MAX);
                    let oldest = tx.events_oldest(PRUNE_BATCH)?;
                    let by_age = oldest
                        .iter()
                        .take_while(|(_, at)| now_ms.saturating_sub(*at) > max_age_ms)
                        .last()
                        .map_or(0, |(seq, _)| *seq);
                    // At most one batch: never past the events just read.
                    let batch_end = oldest.last().map_or(0, |(seq, _)| *seq);
                    let through = by_count.max(by_age).min(batch_end);
                    if through < bounds.oldest {
                        return Ok(0);
                    }
                    tx.events_delete_through(through)
                })
                .await?;
            deleted += n;
            if n == 0 {
                break;
            }
        }
        Ok(deleted)
    }
}
