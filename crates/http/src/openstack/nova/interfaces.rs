//! `os-interface`: a server's interface attachments.
//!
//! The request is checked like Nova's strict schema: unknown fields are a
//! 400, `tag` is accepted from microversion 2.49 (and returned from 2.70),
//! `net_id` and `port_id` exclude each other, `fixed_ips` needs `net_id`.
//! nicplane's own contract adds three fields upstream Nova rejects:
//! `fixed_ips: [{"ip_version": 4|6}]` (an address of that family; with
//! `ip_address` both must agree), `port_security_enabled`, and
//! `security_groups` (ids or names of the project's groups).
//!
//! Attach answers 200 once the interface exists; detach answers 202 and has
//! already happened: an interface the attach created is deleted, one the
//! client passed in by `port_id` is only unbound.

use super::servers::server_id;
use super::{empty, only_keys, Microversion, NovaAuth, NovaError, NovaJson, NovaResult};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use nicplane_domain::ids::*;
use nicplane_domain::model::Interface;
use nicplane_domain::types::InterfaceStatus;
use nicplane_domain::Error;
use nicplane_service::interface::AttachSpec;
use nicplane_service::ipam::FixedIpRequest;
use nicplane_service::WriteOptions;
use serde_json::{json, Map, Value};
use std::net::IpAddr;

/// First microversion that accepts `tag` on attach.
const TAG_ACCEPTED_FROM: u16 = 49;
/// First microversion that returns `tag`.
const TAG_RETURNED_FROM: u16 = 70;
/// Longest device tag (Nova's schema).
const TAG_MAX: usize = 60;

/// The port's state as Nova reports it.
pub fn port_state(s: InterfaceStatus) -> &'static str {
    match s {
        InterfaceStatus::Active => "ACTIVE",
        InterfaceStatus::Down => "DOWN",
        InterfaceStatus::Build => "BUILD",
    }
}

/// An interface attachment for a microversion.
pub fn attachment_view(i: &Interface, mv: Microversion) -> Value {
    let mut v = json!({
        "fixed_ips": i.fixed_ips.iter().map(|f| json!({"subnet_id": f.subnet_id.to_string(), "ip_address": f.ip_address.to_string()})).collect::<Vec<_>>(),
        "mac_addr": i.mac_address.to_string(),
        "net_id": i.network_id.to_string(),
        "port_id": i.id.to_string(),
        "port_state": port_state(i.status),
    });
    if mv.at_least(TAG_RETURNED_FROM) {
        v["tag"] = json!(i.tag);
    }
    v
}

fn invalid(field: &str, value: &Value, why: &str) -> NovaError {
    NovaError::from(Error::invalid(format!(
        "Invalid input for field/attribute {field}. Value: {value}. {why}"
    )))
}

fn uuid_field(obj: &Map<String, Value>, field: &str) -> NovaResult<Option<uuid::Uuid>> {
    match obj.get(field) {
        None => Ok(None),
        Some(v) => {
            let s = v
                .as_str()
                .ok_or_else(|| invalid(field, v, &format!("{v} is not of type 'string'")))?;
            uuid::Uuid::parse_str(s)
                .map(Some)
                .map_err(|_| invalid(field, v, &format!("'{s}' is not a 'uuid'")))
        }
    }
}

/// A parsed attach request.
struct AttachRequest {
    net_id: Option<NetworkId>,
    port_id: Option<InterfaceId>,
    fixed_ips: Vec<FixedIpRequest>,
    tag: Option<String>,
    port_security_enabled: Option<bool>,
    security_groups: Option<Vec<String>>,
}

fn parse_fixed_ip(item: &Value) -> NovaResult<FixedIpRequest> {
    let obj = item.as_object().ok_or_else(|| {
        invalid(
            "fixed_ips",
            item,
            &format!("{item} is not of type 'object'"),
        )
    })?;
    only_keys(obj, "fixed_ips", &["ip_address", "ip_version"])?;
    let ip_address = match obj.get("ip_address") {
        None => None,
        Some(v) => {
            let s = v.as_str().unwrap_or_default();
            Some(
                s.parse::<IpAddr>()
                    .map_err(|_| invalid("ip_address", v, &format!("{v} is not a 'ip-address'")))?,
            )
        }
    };
    let ip_version = match obj.get("ip_version") {
        None => None,
        Some(v) => match v.as_u64() {
            Some(4) => Some(4),
            Some(6) => Some(6),
            _ => {
                return Err(invalid(
                    "ip_version",
                    v,
                    &format!("{v} is not one of [4, 6]"),
                ))
            }
        },
    };
    if ip_address.is_none() && ip_version.is_none() {
        return Err(invalid("fixed_ips", item, "Give ip_address or ip_version"));
    }
    Ok(FixedIpRequest {
        subnet_id: None,
        ip_address,
        ip_version,
    })
}

fn parse(body: &Value, mv: Microversion) -> NovaResult<AttachRequest> {
    let mut req = AttachRequest {
        net_id: None,
        port_id: None,
        fixed_ips: vec![],
        tag: None,
        port_security_enabled: None,
        security_groups: None,
    };
    let obj = match body {
        Value::Null => return Ok(req),
        Value::Object(o) => o,
        other => {
            return Err(invalid(
                "root",
                other,
                &format!("{other} is not of type 'object'"),
            ))
        }
    };
    only_keys(obj, "root", &["interfaceAttachment"])?;
    let Some(ia) = obj.get("interfaceAttachment") else {
        return Ok(req);
    };
    let ia = ia.as_object().ok_or_else(|| {
        invalid(
            "interfaceAttachment",
            ia,
            &format!("{ia} is not of type 'object'"),
        )
    })?;
    let mut allowed = vec![
        "net_id",
        "port_id",
        "fixed_ips",
        "port_security_enabled",
        "security_groups",
    ];
    if mv.at_least(TAG_ACCEPTED_FROM) {
        allowed.push("tag");
    }
    only_keys(ia, "interfaceAttachment", &allowed)?;
    req.net_id = uuid_field(ia, "net_id")?.map(NetworkId);
    req.port_id = uuid_field(ia, "port_id")?.map(InterfaceId);
    if let Some(f) = ia.get("fixed_ips") {
        let list = f
            .as_array()
            .ok_or_else(|| invalid("fixed_ips", f, &format!("{f} is not of type 'array'")))?;
        if list.is_empty() {
            return Err(invalid("fixed_ips", f, "[] is too short"));
        }
        if list.len() > 1 {
            return Err(invalid("fixed_ips", f, &format!("{f} is too long")));
        }
        req.fixed_ips = list.iter().map(parse_fixed_ip).collect::<NovaResult<_>>()?;
    }
    if let Some(t) = ia.get("tag") {
        let s = t
            .as_str()
            .ok_or_else(|| invalid("tag", t, &format!("{t} is not of type 'string'")))?;
        if s.is_empty() || s.chars().count() > TAG_MAX {
            return Err(invalid(
                "tag",
                t,
                &format!("'{s}' must be 1 to {TAG_MAX} characters"),
            ));
        }
        if s.contains(',') || s.contains('/') {
            return Err(invalid(
                "tag",
                t,
                &format!("'{s}' does not match '^[^,/]*$'"),
            ));
        }
        req.tag = Some(s.to_string());
    }
    if let Some(p) = ia.get("port_security_enabled") {
        req.port_security_enabled = Some(p.as_bool().ok_or_else(|| {
            invalid(
                "port_security_enabled",
                p,
                &format!("{p} is not of type 'boolean'"),
            )
        })?);
    }
    if let Some(g) = ia.get("security_groups") {
        let list = g
            .as_array()
            .ok_or_else(|| invalid("security_groups", g, &format!("{g} is not of type 'array'")))?;
        req.security_groups = Some(
            list.iter()
                .map(|x| {
                    x.as_str().map(str::to_string).ok_or_else(|| {
                        invalid(
                            "security_groups",
                            g,
                            &format!("{x} is not of type 'string'"),
                        )
                    })
                })
                .collect::<NovaResult<_>>()?,
        );
    }
    if req.net_id.is_some() && req.port_id.is_some() {
        return Err(NovaError::from(Error::invalid(
            "Must not input both network_id and port_id",
        )));
    }
    if !req.fixed_ips.is_empty() && req.net_id.is_none() {
        return Err(NovaError::from(Error::invalid(
            "Must input network_id when request IP address",
        )));
    }
    Ok(req)
}

/// `GET /servers/{id}/os-interface`.
pub async fn list(
    State(s): State<AppState>,
    a: NovaAuth,
    mv: Microversion,
    Path(id): Path<String>,
) -> NovaResult<Json<Value>> {
    let d = s
        .service
        .vm_get(&a.0.caller, &a.0.project, server_id(&id)?)
        .await?;
    let items: Vec<Value> = d
        .interfaces
        .iter()
        .map(|i| attachment_view(i, mv))
        .collect();
    Ok(Json(json!({"interfaceAttachments": items})))
}

fn not_attached(server: &str, port: &str) -> NovaError {
    NovaError::from(Error::not_found(nicplane_domain::Kind::Interface, port)).with_message(format!(
        "Instance {server} does not have a port with id {port}"
    ))
}

/// `GET /servers/{id}/os-interface/{port_id}`.
pub async fn show(
    State(s): State<AppState>,
    a: NovaAuth,
    mv: Microversion,
    Path((id, port)): Path<(String, String)>,
) -> NovaResult<Json<Value>> {
    let d = s
        .service
        .vm_get(&a.0.caller, &a.0.project, server_id(&id)?)
        .await?;
    let i = d
        .interfaces
        .iter()
        .find(|i| i.id.to_string() == port.to_ascii_lowercase())
        .ok_or_else(|| not_attached(&id, &port))?;
    Ok(Json(json!({"interfaceAttachment": attachment_view(i, mv)})))
}

/// `POST /servers/{id}/os-interface`: 200 with the new attachment.
pub async fn create(
    State(s): State<AppState>,
    a: NovaAuth,
    mv: Microversion,
    Path(id): Path<String>,
    NovaJson(body): NovaJson,
) -> NovaResult<Json<Value>> {
    let vm = server_id(&id)?;
    let req = parse(&body, mv)?;
    let (caller, project) = (&a.0.caller, &a.0.project);
    let security_groups = match &req.security_groups {
        None => None,
        Some(refs) => {
            let groups = s.service.security_group_list(caller, project).await?;
            let mut ids = Vec::new();
            for r in refs {
                let g = groups
                    .iter()
                    .find(|g| g.id.to_string() == r.to_ascii_lowercase())
                    .or_else(|| {
                        let named: Vec<_> = groups.iter().filter(|g| &g.name == r).collect();
                        (named.len() == 1).then(|| named[0])
                    })
                    .ok_or_else(|| {
                        NovaError::from(Error::invalid(format!(
                            "Security group {r} not found in the project."
                        )))
                    })?;
                ids.push(g.id);
            }
            Some(ids)
        }
    };
    // Neither a network nor a port: Nova picks the one network the server
    // can use; nicplane's answer is the project's Default Network in the
    // VM's data center, chosen by the core's attach.
    let spec = AttachSpec {
        default_network: true,
        device_owner: Some(super::DEVICE_OWNER.to_string()),
        network_id: req.net_id,
        interface_id: req.port_id,
        fixed_ips: req.fixed_ips,
        tag: req.tag,
        security_groups,
        port_security_enabled: req.port_security_enabled,
        ..Default::default()
    };
    let i = s
        .service
        .interface_attach(caller, project, vm, spec, &WriteOptions::default())
        .await?;
    Ok(Json(
        json!({"interfaceAttachment": attachment_view(&i, mv)}),
    ))
}

/// `DELETE /servers/{id}/os-interface/{port_id}`: 202.
pub async fn delete(
    State(s): State<AppState>,
    a: NovaAuth,
    Path((id, port)): Path<(String, String)>,
) -> NovaResult<Response> {
    let vm = server_id(&id)?;
    let iface = InterfaceId::parse_for_lookup(&port).map_err(|_| not_attached(&id, &port))?;
    s.service
        .interface_detach(
            &a.0.caller,
            &a.0.project,
            vm,
            iface,
            &WriteOptions::default(),
        )
        .await
        .map_err(|e| match e {
            Error::NotFound {
                kind: nicplane_domain::Kind::Interface,
                ..
            } => not_attached(&id, &port),
            other => NovaError::from(other),
        })?;
    Ok(empty(StatusCode::ACCEPTED))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(r: NovaResult<AttachRequest>) -> String {
        match r {
            Ok(_) => "ok".into(),
            Err(e) => e.message.unwrap_or_else(|| e.error.to_string()),
        }
    }

    #[test]
    fn tag_is_accepted_from_2_49() {
        let body = json!({"interfaceAttachment": {"net_id": "a1d8d6ae-c89d-4307-8a0c-3cc2ee55d7e3", "tag": "t"}});
        assert!(msg(parse(&body, Microversion(48))).contains("('tag' was unexpected)"));
        assert_eq!(
            parse(&body, Microversion(49)).unwrap().tag.as_deref(),
            Some("t")
        );
        let bad = json!({"interfaceAttachment": {"tag": "a/b"}});
        assert!(msg(parse(&bad, Microversion(70))).contains("does not match"));
    }

    #[test]
    fn the_seed_fields_are_accepted_and_others_refused() {
        let seed = json!({"interfaceAttachment": {"net_id": "a1d8d6ae-c89d-4307-8a0c-3cc2ee55d7e3",
            "fixed_ips": [{"ip_version": 4}], "port_security_enabled": true, "security_groups": ["default"]}});
        let r = parse(&seed, Microversion(67)).unwrap();
        assert_eq!(r.fixed_ips[0].ip_version, Some(4));
        assert_eq!(r.security_groups, Some(vec!["default".to_string()]));
        let extra = json!({"interfaceAttachment": {"net_id": "a1d8d6ae-c89d-4307-8a0c-3cc2ee55d7e3", "x": 1}});
        assert!(msg(parse(&extra, Microversion(67))).contains("('x' was unexpected)"));
        let both = json!({"interfaceAttachment": {"net_id": "a1d8d6ae-c89d-4307-8a0c-3cc2ee55d7e3", "port_id": "a1d8d6ae-c89d-4307-8a0c-3cc2ee55d7e3"}});
        assert_eq!(
            msg(parse(&both, Microversion(1))),
            "Must not input both network_id and port_id"
        );
        let ip_only = json!({"interfaceAttachment": {"fixed_ips": [{"ip_address": "10.0.0.5"}]}});
        assert_eq!(
            msg(parse(&ip_only, Microversion(1))),
            "Must input network_id when request IP address"
        );
        assert!(parse(&Value::Null, Microversion(1))
            .unwrap()
            .net_id
            .is_none());
    }
}
