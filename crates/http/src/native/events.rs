//! The change feed: `GET /v1/events` (docs/feed.md).

use super::admin::project;
use super::error::{ApiError, ApiResult};
use super::extract::{bearer, Auth, Query};
use super::host::AgentAuth;
use crate::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::Json;
use nicplane_domain::model::Host;
use nicplane_service::feed::{EventPage, EventQuery};
use nicplane_service::Caller;
use serde::Deserialize;

#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Answer the events after this `seq` (the previous page's `next`;
    /// default 0: from the oldest kept).
    pub after: Option<u64>,
    /// At most this many events (default 100, at most 1000).
    pub limit: Option<u32>,
    /// When there is no event after `after`, wait up to this many seconds
    /// (at most 60) for one before answering an empty page.
    pub wait: Option<u64>,
    /// Only this project's events (a member's, or the cloud admin's choice).
    pub project_id: Option<String>,
    /// `true`: the newest `limit` events (oldest first) instead of those
    /// after `after`; never waits (the console's Activity page).
    pub latest: Option<bool>,
}

/// Who reads the feed: a user's token, or an agent credential
/// (`npa.<host id>.<secret>`, docs/dataplane.md), which reads its host's
/// events only.
pub enum Reader {
    User(Caller),
    Agent(Host),
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let agent = bearer(parts).is_some_and(|b| {
            b.starts_with(&format!("{}.", nicplane_service::host::CREDENTIAL_PREFIX))
        });
        if agent {
            let AgentAuth(h) = AgentAuth::from_request_parts(parts, state).await?;
            return Ok(Reader::Agent(h));
        }
        let Auth(c) = Auth::from_request_parts(parts, state).await?;
        Ok(Reader::User(c))
    }
}

/// The change feed: the events the caller may see after `after`, in order.
/// The cloud admin sees every event; a project's members (readers too) see
/// the project's; an agent credential its host's (and, stripped to signals,
/// the changes of shared objects that may concern any host). A long poll:
/// with `wait`, an empty answer comes only after that many seconds without
/// a new event.
#[utoipa::path(get, path = "/v1/events", operation_id = "event_list", tag = "events",
    params(EventsQuery), responses((status = 200, body = EventPage)))]
pub async fn event_list(
    State(s): State<AppState>,
    reader: Reader,
    Query(q): Query<EventsQuery>,
) -> ApiResult<Json<EventPage>> {
    let query = EventQuery {
        after: q.after.unwrap_or(0),
        limit: q.limit,
        wait: q.wait,
        project: q.project_id.as_deref().map(project).transpose()?,
        latest: q.latest.unwrap_or(false),
    };
    Ok(Json(match reader {
        Reader::User(c) => s.service.events_list(&c, query).await?,
        Reader::Agent(h) => s.service.events_list_agent(&h, query).await?,
    }))
}
