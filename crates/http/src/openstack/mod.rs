//! The OpenStack dialect: Keystone v3 under `/identity`, Nova under
//! `/compute/v2.1` (with or without a project id segment), Neutron under
//! `/network/v2.0`, and a read-only Glance image list under `/image` (the
//! OpenStack client looks an image up before it creates a server).
//!
//! Each API has its own module with its own error function (Keystone's
//! `{"error": …}`, Nova's fault envelope, `NeutronError`); handlers parse,
//! call one use case and shape the answer. Tokens are nicplane tokens scoped
//! to a project, so a Keystone token also works on the native API.

pub mod glance;
pub mod keystone;
pub mod keystone_projects;
pub mod neutron;
pub mod nova;

use crate::AppState;
use axum::http::request::Parts;
use axum::Router;
use nicplane_domain::ids::ProjectId;
use nicplane_domain::Error;
use nicplane_service::Caller;

/// Region every catalog endpoint names.
pub const REGION: &str = "RegionOne";

/// Routes of this dialect.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .merge(keystone::routes(state.clone()))
        .merge(keystone_projects::routes(state.clone()))
        .merge(nova::routes(state.clone()))
        .merge(neutron::routes(state.clone()))
        .merge(glance::routes(state))
}

/// The base URL clients reach nicplane at, without a trailing slash.
pub fn base_url(state: &AppState) -> String {
    state.config.public_url.trim_end_matches('/').to_string()
}

/// The value of `WWW-Authenticate` on a 401: where to get a token.
pub fn www_authenticate(state: &AppState) -> String {
    format!("Keystone uri=\"{}/identity\"", base_url(state))
}

/// A caller acting in one project.
#[derive(Debug, Clone)]
pub struct Scoped {
    pub caller: Caller,
    pub project: ProjectId,
}

/// Authenticate `X-Auth-Token` and find the project the request acts in:
/// the token's scope (Keystone tokens are project-scoped); a token without
/// scope works when its user belongs to exactly one project.
pub async fn scoped(state: &AppState, parts: &Parts) -> Result<Scoped, Error> {
    let token = parts
        .headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Error::unauthenticated("The request you have made requires authentication.")
        })?;
    let caller = state.service.authenticate(&token).await?;
    crate::request_id::set_user(&format!("{} ({})", caller.user.name, caller.user.id));
    let project = match &caller.scope {
        Some(p) => p.clone(),
        None => {
            let (_, memberships) = state.service.auth_whoami(&caller).await?;
            match memberships.as_slice() {
                [only] => only.project_id.clone(),
                _ => {
                    return Err(Error::unauthenticated(
                        "The token is not scoped to a project; ask Keystone for a project-scoped token.",
                    ))
                }
            }
        }
    };
    crate::request_id::set_project(&project);
    Ok(Scoped { caller, project })
}

/// Whole seconds and `Z`, as Neutron and Nova print times.
pub fn os_time(t: time::OffsetDateTime) -> String {
    crate::timefmt::format(t, crate::timefmt::SECONDS)
}

/// Keystone's `expires_at` and `issued_at` (whole seconds since the epoch):
/// microseconds and `Z`.
pub fn os_time_micro(unix: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    crate::timefmt::format(t, crate::timefmt::MICROS)
}

/// A stable UUID derived from a seed (catalog ids, role ids, image ids).
pub fn stable_uuid(seed: &str) -> uuid::Uuid {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(format!("nicplane-openstack:{seed}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    uuid::Builder::from_random_bytes(b).into_uuid()
}

/// A query string from pairs, each key and value percent-encoded (RFC 3986
/// unreserved characters kept), for the pagination links of Nova and Neutron.
pub fn query_string(pairs: &[(String, String)]) -> String {
    fn encode(s: &str) -> String {
        let mut out = String::new();
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Parse a query string into ordered pairs (repeated keys kept), form
/// encoded (`+` is a space): [`crate::query::pairs`].
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    crate::query::pairs(query, crate::query::Plus::Space)
}
