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

use super::schema::{decode, Schema, ANY_TEXT, TAG};
use super::servers::server_id;
use super::{empty, Microversion, NovaAuth, NovaError, NovaJson, NovaResult};
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
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::IpAddr;

/// First microversion that accepts `tag` on attach.
const TAG_ACCEPTED_FROM: u16 = 49;
/// First microversion that returns `tag`.
const TAG_RETURNED_FROM: u16 = 70;

/// The port's state as Nova reports it.
pub fn port_state(s: InterfaceStatus) -> &'static str {
    match s {
        InterfaceStatus::Active => "ACTIVE",
        InterfaceStatus::Down => "DOWN",
        InterfaceStatus::Build => "BUILD",
        InterfaceStatus::Error => "ERROR",
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

/// One `fixed_ips` entry (Nova's, plus nicplane's `ip_version`).
const FIXED_IP: Schema = Schema::Object {
    properties: &[
        ("ip_address", Schema::IpAddress),
        ("ip_version", Schema::IntegerIn(&[4, 6])),
    ],
    required: &[],
    closed: true,
};

/// `interfaceAttachment`'s fields before `tag` was accepted.
const ATTACHMENT_FIELDS: [(&str, Schema); 5] = [
    ("net_id", Schema::Uuid),
    ("port_id", Schema::Uuid),
    (
        "fixed_ips",
        Schema::Array {
            items: &FIXED_IP,
            min: 1,
            max: 1,
        },
    ),
    ("port_security_enabled", Schema::Boolean),
    (
        "security_groups",
        Schema::Array {
            items: &ANY_TEXT,
            min: 0,
            max: usize::MAX,
        },
    ),
];

/// The attach body (`attach_interfaces.create`).
const ATTACH: Schema = Schema::Object {
    properties: &[(
        "interfaceAttachment",
        Schema::Object {
            properties: &ATTACHMENT_FIELDS,
            required: &[],
            closed: true,
        },
    )],
    required: &[],
    closed: true,
};

/// The attach body from microversion 2.49 (`create_v249`): with `tag`.
const ATTACH_V249: Schema = Schema::Object {
    properties: &[(
        "interfaceAttachment",
        Schema::Object {
            properties: &[
                ATTACHMENT_FIELDS[0],
                ATTACHMENT_FIELDS[1],
                ATTACHMENT_FIELDS[2],
                ATTACHMENT_FIELDS[3],
                ATTACHMENT_FIELDS[4],
                ("tag", TAG),
            ],
            required: &[],
            closed: true,
        },
    )],
    required: &[],
    closed: true,
};

/// The attach body, checked against its schema.
#[derive(Debug, Default, Deserialize)]
struct AttachBody {
    #[serde(rename = "interfaceAttachment", default)]
    attachment: Attachment,
}

#[derive(Debug, Default, Deserialize)]
struct Attachment {
    net_id: Option<uuid::Uuid>,
    port_id: Option<uuid::Uuid>,
    #[serde(default)]
    fixed_ips: Vec<FixedIpBody>,
    tag: Option<String>,
    port_security_enabled: Option<bool>,
    security_groups: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct FixedIpBody {
    ip_address: Option<IpAddr>,
    ip_version: Option<u8>,
}

/// Decode an attach body for a microversion; a missing body attaches with
/// nothing named (the core picks the default network).
fn parse(body: &Value, mv: Microversion) -> NovaResult<Attachment> {
    if body.is_null() {
        return Ok(Attachment::default());
    }
    let schema = if mv.at_least(TAG_ACCEPTED_FROM) {
        &ATTACH_V249
    } else {
        &ATTACH
    };
    let req = decode::<AttachBody>(schema, body)?.attachment;
    if req
        .fixed_ips
        .iter()
        .any(|f| f.ip_address.is_none() && f.ip_version.is_none())
    {
        let f = &body["interfaceAttachment"]["fixed_ips"][0];
        return Err(NovaError::from(Error::invalid(format!(
            "Invalid input for field/attribute fixed_ips. Value: {f}. Give ip_address or ip_version"
        ))));
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
    // The VM's interfaces alone (one statement), as its detail lists them.
    let interfaces = s
        .service
        .vm_interfaces(&a.0.caller, &a.0.project, server_id(&id)?)
        .await?;
    let items: Vec<Value> = interfaces.iter().map(|i| attachment_view(i, mv)).collect();
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
    let interfaces = s
        .service
        .vm_interfaces(&a.0.caller, &a.0.project, server_id(&id)?)
        .await?;
    let i = interfaces
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
        network_id: req.net_id.map(NetworkId),
        interface_id: req.port_id.map(InterfaceId),
        fixed_ips: req
            .fixed_ips
            .iter()
            .map(|f| FixedIpRequest {
                subnet_id: None,
                ip_address: f.ip_address,
                ip_version: f.ip_version,
            })
            .collect(),
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

    fn msg(r: NovaResult<Attachment>) -> String {
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
        assert_eq!(
            msg(parse(&bad, Microversion(70))),
            "Invalid input for field/attribute tag. Value: \"a/b\". 'a/b' does not match '^[^,/]*$'"
        );
        let long = json!({"interfaceAttachment": {"tag": "t".repeat(61)}});
        assert_eq!(
            msg(parse(&long, Microversion(70))),
            format!(
                "Invalid input for field/attribute tag. Value: \"{0}\". '{0}' must be 1 to 60 characters",
                "t".repeat(61)
            )
        );
        let neither = json!({"interfaceAttachment": {"net_id": "a1d8d6ae-c89d-4307-8a0c-3cc2ee55d7e3", "fixed_ips": [{}]}});
        assert_eq!(
            msg(parse(&neither, Microversion(70))),
            "Invalid input for field/attribute fixed_ips. Value: {}. Give ip_address or ip_version"
        );
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
