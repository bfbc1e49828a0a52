//! The wire, pinned: the OpenAPI document and each dialect's representative
//! views and error bodies, taken from the live server and compared with the
//! snapshots committed in `tests/snapshots/`. A change to what a client sees
//! shows up as a snapshot diff in review. To accept an intended change, run
//! the test with `INSTA_UPDATE=always` and commit the rewritten snapshots.
//!
//! Volatile values are redacted before the comparison: ids (UUIDs and 32-hex
//! project and request ids), MACs, dates and times (their format is kept),
//! the random ULA prefix of the Default Network's IPv6 subnet, the server's
//! port, tokens and audit ids. Everything else, the status, the field names,
//! the values and the exact messages, is compared as it is (object keys
//! sorted). On CI (`CI=true`) a missing snapshot fails instead of being
//! written.

mod common;

use common::*;
use nicplane_client::{Client, Response};
use reqwest::Method;
use serde_json::{json, Value};

/// Insta filters that redact what changes from run to run.
const FILTERS: &[(&str, &str)] = &[
    (
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[uuid]",
    ),
    (r"\b[0-9a-f]{32}\b", "[hex32]"),
    // The server's own URL (Keystone's catalog): a free port per run.
    (r"http://127\.0\.0\.1:\d+", "http://[server]"),
    (r"\b[0-9a-f]{2}(:[0-9a-f]{2}){5}\b", "[mac]"),
    // The date and time, not their format: `.000000Z` (Keystone) or `Z`
    // (the others) stays in the snapshot. Times are whole seconds, so any
    // fraction is fixed.
    (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", "[datetime]"),
    (
        r"\bfd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}:[0-9a-f]{1,4}:",
        "[ula]:",
    ),
];

/// Keys whose values are secrets or random and carry no shape worth pinning.
const SECRET_KEYS: &[&str] = &["token", "audit_ids", "secret", "access"];

/// Replace the values of [`SECRET_KEYS`] (keeping their JSON type).
fn redact_secrets(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if SECRET_KEYS.contains(&k.as_str()) && !v.is_object() {
                    *v = match v {
                        Value::Array(_) => json!(["[redacted]"]),
                        _ => json!("[redacted]"),
                    };
                } else {
                    redact_secrets(v);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(redact_secrets),
        _ => {}
    }
}

/// Compare `status` and `body` with the snapshot `name`, redacted.
fn pin(name: &str, r: &Response) {
    let mut body = r.body.clone();
    redact_secrets(&mut body);
    let text =
        serde_json::to_string_pretty(&json!({"status": r.status, "body": body})).expect("json");
    let mut settings = insta::Settings::clone_current();
    for (pattern, replacement) in FILTERS {
        settings.add_filter(pattern, *replacement);
    }
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

fn send(c: &Client, method: Method, path: &str, body: Option<Value>, token: &str) -> Response {
    c.raw(method, path, body.as_ref(), &[("X-Auth-Token", token)])
        .expect("request")
}

#[test]
fn the_openapi_document() {
    let s = Server::start(&[]);
    let r = s
        .client()
        .raw(Method::GET, "/v1/openapi.json", None, &[])
        .unwrap();
    pin("openapi_document", &r);
}

/// A tenant with a standard network and a running Linux VM.
struct Scene {
    t: Tenant,
    token: String,
    net: String,
    vm: String,
}

fn scene(s: &Server) -> Scene {
    let t = tenant(s, "wire");
    let net = t.standard_network("app", "10.20.0.0/24");
    let vm = t.vm("web", "linux", true);
    let token = t.admin.token().expect("token").to_string();
    Scene { t, token, net, vm }
}

#[test]
fn native_views_and_errors() {
    let s = Server::start(&[]);
    let Scene { t, token, net, vm } = scene(&s);
    let c = s.client();
    let p = &t.project;
    pin(
        "native_vm",
        &send(
            &c,
            Method::GET,
            &format!("/v1/projects/{p}/vms/{vm}"),
            None,
            &token,
        ),
    );
    pin(
        "native_interface_attach",
        &send(
            &c,
            Method::POST,
            &format!("/v1/projects/{p}/vms/{vm}/interfaces"),
            Some(json!({"network_id": net, "fixed_ips": [{"ip_address": "10.20.0.10"}]})),
            &token,
        ),
    );
    pin(
        "native_network",
        &send(
            &c,
            Method::GET,
            &format!("/v1/projects/{p}/networks/{net}"),
            None,
            &token,
        ),
    );
    pin(
        "native_error_not_found",
        &send(
            &c,
            Method::GET,
            &format!("/v1/projects/{p}/vms/00000000-0000-4000-8000-000000000000"),
            None,
            &token,
        ),
    );
    pin(
        "native_error_conflict",
        &send(
            &c,
            Method::POST,
            &format!("/v1/projects/{p}/vms/{vm}/interfaces"),
            Some(json!({"network_id": net, "fixed_ips": [{"ip_address": "10.20.0.10"}]})),
            &token,
        ),
    );
    pin(
        "native_error_invalid",
        &send(
            &c,
            Method::POST,
            &format!("/v1/projects/{p}/vms"),
            Some(json!({"name": "x", "data_center_id": t.dc, "colour": "blue"})),
            &token,
        ),
    );
}

#[test]
fn openstack_views_and_errors() {
    let s = Server::start(&[]);
    let Scene { t, net, vm, .. } = scene(&s);
    let c = s.client();
    let keystone = c
        .raw(
            Method::POST,
            "/identity/v3/auth/tokens",
            Some(&json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": "wire-admin", "domain": {"name": "Default"}, "password": PASSWORD}}},
                "scope": {"project": {"id": t.project}}}})),
            &[],
        )
        .unwrap();
    let token = keystone
        .header("x-subject-token")
        .expect("X-Subject-Token")
        .to_string();
    pin("keystone_token", &keystone);

    let attach = send(
        &c,
        Method::POST,
        &format!("/compute/v2.1/servers/{vm}/os-interface"),
        Some(json!({"interfaceAttachment": {"net_id": net}})),
        &token,
    );
    pin("nova_interface_attachment", &attach);
    let port = attach.body["interfaceAttachment"]["port_id"]
        .as_str()
        .expect("port_id")
        .to_string();
    pin(
        "nova_fault_not_found",
        &send(
            &c,
            Method::GET,
            "/compute/v2.1/servers/00000000-0000-4000-8000-000000000000",
            None,
            &token,
        ),
    );
    pin(
        "neutron_port",
        &send(
            &c,
            Method::GET,
            &format!("/network/v2.0/ports/{port}"),
            None,
            &token,
        ),
    );
    pin(
        "neutron_network",
        &send(
            &c,
            Method::GET,
            &format!("/network/v2.0/networks/{net}"),
            None,
            &token,
        ),
    );
    pin(
        "neutron_error_not_found",
        &send(
            &c,
            Method::GET,
            "/network/v2.0/ports/00000000-0000-4000-8000-000000000000",
            None,
            &token,
        ),
    );
}

#[test]
fn huawei_views_and_errors() {
    let s = Server::start(&["--huawei-listen", "127.0.0.1:0"]);
    let Scene { t, token, net, vm } = scene(&s);
    let native = s.client();
    let primary = send(
        &native,
        Method::GET,
        &format!("/v1/projects/{}/vms/{vm}", t.project),
        None,
        &token,
    )
    .body["interfaces"][0]["id"]
        .as_str()
        .expect("primary interface")
        .to_string();
    let c = Client::new(s.huawei_url.as_deref().expect("huawei listener"));
    let sni = format!("/v3/{}/vpc/sub-network-interfaces", t.project);
    pin(
        "huawei_sub_network_interface",
        &send(
            &c,
            Method::POST,
            &sni,
            Some(json!({"sub_network_interface": {
                "virsubnet_id": net, "parent_id": primary, "vlan_id": 100}})),
            &token,
        ),
    );
    pin(
        "huawei_error_not_found",
        &send(
            &c,
            Method::GET,
            &format!("{sni}/00000000-0000-4000-8000-000000000000"),
            None,
            &token,
        ),
    );
    pin(
        "huawei_error_invalid",
        &send(
            &c,
            Method::POST,
            &sni,
            Some(json!({"sub_network_interface": {
                "virsubnet_id": net, "parent_id": primary, "vlan_id": 5000}})),
            &token,
        ),
    );
}
