//! Neutron's tag routes (`standard-attr-tag`) on networks, subnets, security
//! groups, floating IPs, routers and trunks: `GET/PUT/DELETE /{resource}/{id}/tags`
//! and `GET/PUT/DELETE /{resource}/{id}/tags/{tag}`. Ports have their own
//! (`ports.rs`: a port's tags are its interface's). The change is the core's
//! (`Service::neutron_tags_change`); views get `tags` through
//! [`super::with_revisions`].

use super::{no_content, NeutronAuth, NeutronError, NeutronJson, NeutronResult};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use nicplane_domain::model::Revisioned;
use nicplane_domain::rules::TagChange;
use nicplane_domain::{Error, Kind};
use nicplane_service::openstack_support::TagTarget;
use nicplane_service::WriteOptions;
use serde_json::{json, Value};

/// The resource of a tag route: its revisioned kind and Neutron's names
/// for it (`TrunkNotFound`, "Trunk <id> could not be found.").
#[derive(Clone, Copy)]
pub struct Tagged {
    pub what: Revisioned,
    /// Neutron's label in messages ("Network", "Floating IP").
    pub label: &'static str,
    /// Neutron's exception stem ("Network", "FloatingIP").
    pub stem: &'static str,
    /// Neutron's resource name in `TagNotFound` ("network", "floatingip").
    pub resource: &'static str,
}

pub const NETWORK: Tagged = Tagged {
    what: Revisioned::Network,
    label: "Network",
    stem: "Network",
    resource: "network",
};
pub const SUBNET: Tagged = Tagged {
    what: Revisioned::Subnet,
    label: "Subnet",
    stem: "Subnet",
    resource: "subnet",
};
pub const SECURITY_GROUP: Tagged = Tagged {
    what: Revisioned::SecurityGroup,
    label: "Security group",
    stem: "SecurityGroup",
    resource: "security_group",
};
pub const FLOATING_IP: Tagged = Tagged {
    what: Revisioned::FloatingIp,
    label: "Floating IP",
    stem: "FloatingIP",
    resource: "floatingip",
};
pub const ROUTER: Tagged = Tagged {
    what: Revisioned::Router,
    label: "Router",
    stem: "Router",
    resource: "router",
};
pub const TRUNK: Tagged = Tagged {
    what: Revisioned::Trunk,
    label: "Trunk",
    stem: "Trunk",
    resource: "trunk",
};

impl Tagged {
    /// A missing object or tag in Neutron's words. The core reports a
    /// missing object as a not-found of [`Kind::Network`] (any kind but
    /// `Tag` would do: the words are chosen here), a missing tag as `Tag`.
    fn missing<'a>(self, id: &'a str, tag: Option<&'a str>) -> impl Fn(Error) -> NeutronError + 'a {
        move |e| match (&e, tag) {
            (
                Error::NotFound {
                    kind: Kind::Tag, ..
                },
                Some(t),
            ) => NeutronError::from(e.clone()).with(
                "TagNotFound",
                format!("Tag {t} could not be found for {} {id}.", self.resource),
            ),
            (Error::NotFound { .. }, _) => NeutronError::from(e.clone()).with(
                &format!("{}NotFound", self.stem),
                format!("{} {id} could not be found.", self.label),
            ),
            _ => NeutronError::from(e),
        }
    }

    async fn change(
        self,
        s: &AppState,
        a: &super::Scoped,
        id: &str,
        tag: Option<&str>,
        change: TagChange,
    ) -> NeutronResult<Vec<String>> {
        let a = &super::on_object(s, a.clone(), self.what, id).await?;
        s.service
            .neutron_tags_change(
                &a.caller,
                &a.project,
                TagTarget {
                    what: self.what,
                    kind: Kind::Network,
                    label: self.resource,
                    id: id.to_ascii_lowercase(),
                },
                change,
                &WriteOptions::default(),
            )
            .await
            .map_err(self.missing(id, tag))
    }

    async fn current(
        self,
        s: &AppState,
        a: &super::Scoped,
        id: &str,
    ) -> NeutronResult<Vec<String>> {
        let a = &super::on_object(s, a.clone(), self.what, id).await?;
        s.service
            .neutron_tags_get(
                &a.caller,
                &a.project,
                self.what,
                Kind::Network,
                id.to_ascii_lowercase(),
            )
            .await
            .map_err(self.missing(id, None))
    }
}

fn tag_list(body: &Value) -> NeutronResult<Vec<String>> {
    match body.get("tags") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|t| {
                t.as_str().map(str::to_string).ok_or_else(|| {
                    NeutronError::from(Error::invalid(format!(
                        "Invalid input for tags. Reason: '{t}' is not a valid string."
                    )))
                })
            })
            .collect(),
        _ => Err(NeutronError::from(Error::invalid(
            "Invalid input for operation: a body {\"tags\": [...]} is required.",
        ))),
    }
}

/// `GET /{resource}/{id}/tags`.
pub async fn list(
    t: Tagged,
    a: NeutronAuth,
    s: State<AppState>,
    Path(id): Path<String>,
) -> NeutronResult<Json<Value>> {
    Ok(Json(json!({"tags": t.current(&s, &a.0, &id).await?})))
}

/// `PUT /{resource}/{id}/tags`: replace all (200 with the tags).
pub async fn replace(
    t: Tagged,
    a: NeutronAuth,
    s: State<AppState>,
    Path(id): Path<String>,
    NeutronJson(body): NeutronJson,
) -> NeutronResult<Json<Value>> {
    let tags = tag_list(&body)?;
    let now = t
        .change(&s, &a.0, &id, None, TagChange::Replace(tags))
        .await?;
    Ok(Json(json!({ "tags": now })))
}

/// `DELETE /{resource}/{id}/tags`: remove all (204).
pub async fn clear(
    t: Tagged,
    a: NeutronAuth,
    s: State<AppState>,
    Path(id): Path<String>,
) -> NeutronResult<Response> {
    t.change(&s, &a.0, &id, None, TagChange::Clear).await?;
    Ok(no_content())
}

/// `GET /{resource}/{id}/tags/{tag}`: 204 when present, else 404
/// `TagNotFound`.
pub async fn check(
    t: Tagged,
    a: NeutronAuth,
    s: State<AppState>,
    Path((id, tag)): Path<(String, String)>,
) -> NeutronResult<Response> {
    if t.current(&s, &a.0, &id).await?.contains(&tag) {
        return Ok(no_content());
    }
    Err(NeutronError::from(Error::not_found(Kind::Tag, &tag)).with(
        "TagNotFound",
        format!("Tag {tag} could not be found for {} {id}.", t.resource),
    ))
}

/// `PUT /{resource}/{id}/tags/{tag}`: add one (201).
pub async fn add(
    t: Tagged,
    a: NeutronAuth,
    s: State<AppState>,
    Path((id, tag)): Path<(String, String)>,
) -> NeutronResult<Response> {
    t.change(&s, &a.0, &id, Some(&tag), TagChange::Add(tag.clone()))
        .await?;
    Ok((StatusCode::CREATED, Json(Value::Null)).into_response())
}

/// `DELETE /{resource}/{id}/tags/{tag}`: 204, or 404 `TagNotFound`.
pub async fn remove(
    t: Tagged,
    a: NeutronAuth,
    s: State<AppState>,
    Path((id, tag)): Path<(String, String)>,
) -> NeutronResult<Response> {
    t.change(&s, &a.0, &id, Some(&tag), TagChange::Remove(tag.clone()))
        .await?;
    Ok(no_content())
}
