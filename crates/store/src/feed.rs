//! The change feed's queries (docs/feed.md). A supertrait of
//! [`Tx`](crate::Tx), implemented once for both engines in `sql/feed.rs` on
//! the table of `migrations/*/0014_events.sql`.
//!
//! The actor is set once per transaction by the service
//! ([`FeedTx::feed_actor`]); every event the use case appends carries it.

use nicplane_domain::feed::{Actor, Event, EventScope, NewEvent};
use nicplane_domain::Result;

/// The numbered events' bounds: the oldest kept and the newest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedBounds {
    pub oldest: u64,
    pub newest: u64,
}

/// The feed inside a transaction.
pub trait FeedTx {
    /// Who the events of this transaction are by.
    fn feed_actor(&mut self, actor: Actor);
    /// Append an event (one INSERT). SQLite numbers it in the write itself;
    /// PostgreSQL leaves it to the sequencer.
    fn event_append(&mut self, e: &NewEvent) -> Result<()>;
    /// How many events this transaction appended.
    fn events_appended(&self) -> u32;
    /// At most `limit` numbered events after `after`, in order, that `scope`
    /// sees.
    fn events_after(&mut self, after: u64, limit: u32, scope: &EventScope) -> Result<Vec<Event>>;
    /// The newest `limit` numbered events that `scope` sees, oldest first.
    fn events_latest(&mut self, limit: u32, scope: &EventScope) -> Result<Vec<Event>>;
    /// The oldest and newest numbered events (None when there are none).
    fn events_bounds(&mut self) -> Result<Option<FeedBounds>>;
    /// The oldest `limit` numbered events, as (seq, written at in Unix ms),
    /// for the pruning job.
    fn events_oldest(&mut self, limit: u32) -> Result<Vec<(u64, i64)>>;
    /// Delete the numbered events up to `through` (never the newest one);
    /// the number deleted.
    fn events_delete_through(&mut self, through: u64) -> Result<u64>;
}
