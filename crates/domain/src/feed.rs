//! The change feed's vocabulary (docs/feed.md): what one event says and the
//! bounds of a feed request. Every committed write appends events in its own
//! transaction; the feed is also the audit trail that says who changed what.

use crate::ids::{ProjectId, UserId};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most events one feed request answers (`limit`).
pub const EVENTS_LIMIT_MAX: u32 = 1000;
/// Events answered when the request names no `limit`.
pub const EVENTS_LIMIT_DEFAULT: u32 = 100;
/// Longest a feed request waits for an event (`wait`, seconds).
pub const EVENTS_WAIT_MAX_SECS: u64 = 60;

/// What a change did to its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Delete,
    Attach,
    Detach,
    Start,
    Stop,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Attach => "attach",
            Action::Detach => "detach",
            Action::Start => "start",
            Action::Stop => "stop",
        }
    }
}

/// Who made a change, through which API, in which request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Default)]
pub struct Actor {
    /// The user (none for the system itself: bootstrap, jobs).
    #[schema(value_type = Option<String>)]
    pub user_id: Option<UserId>,
    pub user_name: String,
    /// The project the caller's token is scoped to, if any.
    #[schema(value_type = Option<String>)]
    pub project_id: Option<ProjectId>,
    /// `native`, `neutron`, `nova`, `keystone`, `huawei`, `console` or `system`.
    pub dialect: String,
    /// The request's `X-Request-Id`.
    pub request_id: String,
}

/// An event as a write records it (the store gives it its number and time).
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// [`crate::Kind::as_str`], or `trunk` (a trunk has no kind of its own in
    /// the error vocabulary).
    pub kind: &'static str,
    pub resource_id: String,
    /// The project the resource belongs to: its members see the event. None
    /// for the cloud's own objects (data centers, pools, users, shared
    /// networks), which only the cloud admin sees.
    pub project_id: Option<ProjectId>,
    pub action: Action,
    /// The resource as it now is (its native view), as JSON text; None
    /// after a delete. Text, not a `serde_json::Value`: the use case
    /// serializes it once, on the writer thread, straight into the row.
    pub resource: Option<String>,
    /// The name of the host the resource is realized on, for an agent's
    /// view of the feed. None: the store fills it in for VMs and interfaces
    /// (their VM's host, or the host they left in this transaction).
    pub host: Option<String>,
}

/// One event of the feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// The feed's order: readers ask for the events after the last `seq`
    /// they saw.
    pub seq: u64,
    /// When the change was written (RFC 3339, milliseconds).
    pub at: String,
    pub actor: Actor,
    /// `interface`, `vm`, `network`, `subnet`, `public_ip`, `router`, …
    pub kind: String,
    pub resource_id: String,
    #[schema(value_type = Option<String>)]
    pub project_id: Option<ProjectId>,
    /// `create`, `update`, `delete`, `attach`, `detach`, `start`, `stop`.
    pub action: String,
    /// The resource as it was after the change (null after a delete).
    #[schema(value_type = Option<Object>)]
    pub resource: Option<serde_json::Value>,
    pub host: Option<String>,
}

/// One page of the feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<Event>,
    /// The `after` of the next request: the last event's `seq`, or the
    /// request's `after` when there was none.
    pub next: u64,
    /// True when events after the request's `after` were deleted by the
    /// retention before this reader saw them (the oldest kept event is
    /// `oldest`): the reader missed some and should resynchronise.
    pub truncated: bool,
    /// The oldest event kept (None when there are none).
    pub oldest: Option<u64>,
}

/// Which events a reader sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventScope {
    /// Every event (the cloud admin).
    All,
    /// The events of one project.
    Project(ProjectId),
    /// The events of every project the user is a member of (any role: the
    /// feed is also the project's audit trail, which readers may read).
    MemberOf(UserId),
    /// An agent's view: the events whose `host` is this host (by name),
    /// and, as bare signals, the events of [`AGENT_SIGNAL_KINDS`] that name
    /// no host.
    Host(String),
}

/// Kinds whose changes may alter any host's data plane without belonging to
/// one host (a subnet's gateway, a router, a public IP, a security group
/// rule): an agent sees their events without host as signals, stripped of
/// the resource, the actor and the project ([`Event::signal`]), wakes up and
/// re-reads its desired state.
pub const AGENT_SIGNAL_KINDS: &[&str] = &[
    "network",
    "subnet",
    "router",
    "public_ip",
    "public_ip_pool",
    "external_network",
    "security_group",
    "security_group_rule",
    "trunk",
];

impl Event {
    /// This event as a bare signal: when, what kind, which id, what
    /// happened; nothing of the resource, the actor or the project.
    pub fn signal(self) -> Event {
        Event {
            actor: Actor::default(),
            project_id: None,
            resource: None,
            host: None,
            ..self
        }
    }
}

/// A feed request's `limit`, checked: 1 to [`EVENTS_LIMIT_MAX`].
pub fn events_limit(limit: Option<u32>) -> Result<u32> {
    match limit {
        None => Ok(EVENTS_LIMIT_DEFAULT),
        Some(n) if (1..=EVENTS_LIMIT_MAX).contains(&n) => Ok(n),
        Some(n) => Err(Error::invalid_value(
            "limit",
            format!("{n} is not between 1 and {EVENTS_LIMIT_MAX}."),
        )),
    }
}

/// A feed request's `wait`, checked: 0 to [`EVENTS_WAIT_MAX_SECS`] seconds.
pub fn events_wait(wait: Option<u64>) -> Result<u64> {
    match wait {
        None => Ok(0),
        Some(n) if n <= EVENTS_WAIT_MAX_SECS => Ok(n),
        Some(n) => Err(Error::invalid_value(
            "wait",
            format!("{n} is not between 0 and {EVENTS_WAIT_MAX_SECS} seconds."),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_and_wait_are_bounded() {
        assert_eq!(events_limit(None).unwrap(), EVENTS_LIMIT_DEFAULT);
        assert_eq!(events_limit(Some(1000)).unwrap(), 1000);
        assert_eq!(
            events_limit(Some(1001)).unwrap_err().to_string(),
            "Invalid value for limit: 1001 is not between 1 and 1000."
        );
        assert!(events_limit(Some(0)).is_err());
        assert_eq!(events_wait(Some(60)).unwrap(), 60);
        assert!(events_wait(Some(61)).is_err());
    }
}
