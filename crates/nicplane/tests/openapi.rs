//! The OpenAPI document tells the truth: its enum values are the ones the
//! server sends, every operation documents the errors it can answer in the
//! native error shape, and the bearer security scheme is declared and
//! applied to every operation but login, which is what the server enforces.
//! (tests/schemathesis runs the whole document against the live server.)

mod common;

use common::*;
use nicplane_domain::types::{InterfaceStatus, NetworkKind, OsType, PowerState, Role};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every operation of the document: (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut ops = vec![];
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                ops.push((m.to_string(), path.clone(), op.clone()));
            }
        }
    }
    ops
}

fn document(s: &Server) -> Value {
    let r = s
        .client()
        .raw(Method::GET, "/v1/openapi.json", None, &[])
        .unwrap();
    assert_eq!(r.status, 200);
    r.body
}

/// Follow a `$ref` inside the document.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling reference {r}")),
        None => schema,
    }
}

/// The enum documented for `property` of the component schema `schema`
/// (through a `$ref`, or the non-null branch of a `oneOf`).
fn documented_enum(doc: &Value, schema: &str, property: &str) -> BTreeSet<String> {
    let prop = &doc["components"]["schemas"][schema]["properties"][property];
    assert!(prop.is_object(), "{schema}.{property} is not documented");
    let mut candidates = vec![resolve(doc, prop)];
    if let Some(branches) = prop["oneOf"].as_array() {
        candidates.extend(branches.iter().map(|b| resolve(doc, b)));
    }
    let e = candidates
        .into_iter()
        .find_map(|s| s["enum"].as_array())
        .unwrap_or_else(|| panic!("{schema}.{property} has no enum: {prop}"));
    e.iter().map(|v| v.as_str().unwrap().to_string()).collect()
}

fn spelled<T: Copy>(all: &[T], as_str: fn(T) -> &'static str) -> BTreeSet<String> {
    all.iter().map(|v| as_str(*v).to_string()).collect()
}

#[test]
fn enum_values_are_documented_as_the_server_sends_them() {
    let s = Server::start(&[]);
    let doc = document(&s);
    let t = tenant(&s, "enums");
    let vm = t.vm("web", "windows", false);
    let net = t.custom_network("l2");

    // Each documented enum is exactly the domain's wire spellings.
    for (schema, prop, wire) in [
        ("Vm", "os_type", spelled(OsType::ALL, OsType::as_str)),
        (
            "Vm",
            "power_state",
            spelled(PowerState::ALL, PowerState::as_str),
        ),
        (
            "Network",
            "kind",
            spelled(NetworkKind::ALL, NetworkKind::as_str),
        ),
        ("Membership", "role", spelled(Role::ALL, Role::as_str)),
        (
            "Interface",
            "status",
            spelled(InterfaceStatus::ALL, InterfaceStatus::as_str),
        ),
    ] {
        assert_eq!(documented_enum(&doc, schema, prop), wire, "{schema}.{prop}");
    }

    // And what the server sends for sample objects is among them.
    let v: Value = t
        .power
        .get(&format!("/v1/projects/{}/vms/{vm}", t.project))
        .unwrap();
    let sent = [
        ("Vm", "os_type", v["os_type"].clone()),
        ("Vm", "power_state", v["power_state"].clone()),
        ("Interface", "status", v["interfaces"][0]["status"].clone()),
    ];
    let n: Value = t
        .power
        .get(&format!("/v1/projects/{}/networks/{net}", t.project))
        .unwrap();
    let me = t.power.whoami().unwrap();
    let quota: Value = t
        .power
        .get(&format!("/v1/projects/{}/quotas", t.project))
        .unwrap();
    for (schema, prop, value) in sent.into_iter().chain([
        ("Network", "kind", n["kind"].clone()),
        ("Membership", "role", me["memberships"][0]["role"].clone()),
        (
            "QuotaUsage",
            "resource",
            quota["quotas"][0]["resource"].clone(),
        ),
    ]) {
        let value = value.as_str().unwrap_or_else(|| panic!("{prop}: {value}"));
        assert!(
            documented_enum(&doc, schema, prop).contains(value),
            "{schema}.{prop}: the server sent {value}"
        );
    }
    assert_eq!(
        (
            v["os_type"].as_str(),
            v["power_state"].as_str(),
            v["interfaces"][0]["status"].as_str(),
            n["kind"].as_str(),
            me["memberships"][0]["role"].as_str(),
        ),
        (
            Some("windows"),
            Some("stopped"),
            Some("down"),
            Some("custom"),
            Some("power_user")
        )
    );

    // No enum anywhere in the document keeps a Rust spelling (Neutron's
    // IPv6 modes are kebab-case, as on its wire).
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        for value in schema["enum"].as_array().into_iter().flatten() {
            let value = value.as_str().unwrap_or_default();
            assert!(
                value
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'),
                "{name} documents the enum value {value}"
            );
        }
    }
}

/// The error statuses an operation must document.
fn expected_errors(method: &str, op: &Value) -> BTreeSet<u16> {
    let id = op["operationId"].as_str().unwrap();
    let takes_input = op["parameters"].as_array().is_some_and(|p| !p.is_empty())
        || op.get("requestBody").is_some();
    let mut errors = BTreeSet::from([401, 503]);
    if takes_input {
        errors.insert(400);
    }
    if id != "auth_login" && takes_input {
        errors.insert(404);
    }
    if ![
        "auth_login",
        "auth_logout",
        "auth_whoami",
        "auth_password_change",
    ]
    .contains(&id)
    {
        errors.insert(403);
    }
    let session = [
        "auth_login",
        "auth_logout",
        "auth_password_change",
        "user_password_change",
    ];
    if method != "get" && !session.contains(&id) {
        errors.insert(409);
    }
    if [
        "auth_login",
        "auth_password_change",
        "user_create",
        "user_update",
        "user_password_change",
        "event_list",
    ]
    .contains(&id)
    {
        errors.insert(429);
    }
    errors
}

#[test]
fn every_operation_documents_its_errors_in_the_native_shape() {
    let s = Server::start(&[]);
    let doc = document(&s);
    let ops = operations(&doc);
    assert_eq!(ops.len(), 97, "operations in the document");
    for (method, path, op) in &ops {
        let documented: BTreeSet<u16> = op["responses"]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.parse::<u16>().unwrap())
            .filter(|s| *s >= 400)
            .collect();
        assert_eq!(
            documented,
            expected_errors(method, op),
            "{method} {path} documents these errors"
        );
        for status in documented {
            let r = resolve(&doc, &op["responses"][status.to_string()]);
            assert_eq!(
                r["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{method} {path} {status}"
            );
        }
    }
    // The error shape the document names is the one the server sends.
    let body = &doc["components"]["schemas"]["ErrorDetail"];
    let required: BTreeSet<&str> = body["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        required,
        BTreeSet::from(["status", "code", "message", "request_id"])
    );
    let r = s
        .admin()
        .raw(Method::GET, "/v1/users/not-a-user", None, &[])
        .unwrap();
    assert_eq!(r.status, 404);
    let sent: BTreeSet<&str> = r.body["error"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(sent, required);
    assert_eq!(
        error_of(&r.body),
        ("NotFound", "User not-a-user could not be found.")
    );
}

#[test]
fn writes_document_dry_run_and_idempotency_key() {
    let s = Server::start(&[]);
    let doc = document(&s);
    for (method, path, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap().to_string();
        let params: BTreeSet<(String, String)> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    p["in"].as_str().unwrap().to_string(),
                    p["name"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let session = id.starts_with("auth_") || id == "user_password_change";
        let write = method != "get" && !session;
        for p in [("query", "dry_run"), ("header", "Idempotency-Key")] {
            let p = (p.0.to_string(), p.1.to_string());
            assert_eq!(params.contains(&p), write, "{method} {path} {p:?}");
        }
        assert_eq!(
            op["responses"].get("202").is_some(),
            write,
            "{method} {path} 202"
        );
    }
    // What the document says a dry run answers is what the server does.
    let t = tenant(&s, "dry");
    let r = t
        .power
        .raw(
            Method::POST,
            &format!("/v1/projects/{}/vms?dry_run=true", t.project),
            Some(&json!({"name": "ghost", "data_center_id": t.dc})),
            &[("Idempotency-Key", "k1")],
        )
        .unwrap();
    assert_eq!(r.status, 202);
    assert_eq!(r.body["name"], "ghost");
    assert!(t.power.vms(&t.project).unwrap().is_empty());
}

#[test]
fn the_bearer_scheme_is_declared_and_required_everywhere_but_login() {
    let s = Server::start(&[]);
    let doc = document(&s);
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["x_auth_token"]["type"], "apiKey");
    assert_eq!(schemes["x_auth_token"]["in"], "header");
    assert_eq!(schemes["x_auth_token"]["name"], "X-Auth-Token");
    let anonymous = s.client();
    for (method, path, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap();
        if id == "auth_login" {
            assert!(op.get("security").is_none(), "login needs no token");
            continue;
        }
        assert_eq!(
            op["security"],
            json!([{"bearer": []}, {"x_auth_token": []}]),
            "{method} {path}"
        );
        // The server agrees: without a token, every such operation is 401.
        let concrete = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "x" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let body = (method != "get" && method != "delete").then(|| json!({}));
        let r = anonymous.raw(m, &concrete, body.as_ref(), &[]).unwrap();
        assert_eq!(r.status, 401, "{method} {concrete} without a token");
        assert_eq!(
            error_of(&r.body),
            (
                "Unauthenticated",
                "Log in first: send the token as 'Authorization: Bearer <token>'."
            ),
            "{method} {concrete}"
        );
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer realm=\"nicplane\""),
            "{method} {concrete}"
        );
    }
    // And login works without one.
    let r = anonymous
        .raw(
            Method::POST,
            "/v1/auth/login",
            Some(&json!({"username": "admin", "password": ADMIN_PASSWORD})),
            &[],
        )
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(r.body["token"].is_string());
}
