//! Choices that moved from the dialects into the core (issue 11): Nova's
//! attach with neither a network nor a port gets the project's Default
//! Network from the core's attach, and Neutron's floating-IP `fixed_ip_address`
//! is checked inside the write that allocates (a refusal leaves no address
//! taken).

mod common;

use common::*;
use nicplane_client::Client;
use reqwest::Method;
use serde_json::{json, Value};

/// A call with the client's token on the main listener.
fn call(c: &Client, method: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
    let token = c.token().expect("logged in").to_string();
    let r = c
        .raw(method, path, body, &[("X-Auth-Token", &token)])
        .expect("transport");
    (r.status, r.body)
}

/// `POST os-interface` with an empty attachment puts a new port on the
/// project's Default Network in the server's data center, labelled as Nova
/// labels it.
#[test]
fn nova_attach_without_network_or_port_uses_the_default_network() {
    let server = Server::start(&[]);
    let t = tenant(&server, "nova-default");
    t.standard_network("other", "10.30.0.0/24");
    let vm = t.vm("plain", "linux", true);
    let detail = t.admin.vm(&t.project, &vm).expect("vm");
    let default_net = detail.interfaces[0].network_id.to_string();

    let (status, body) = call(
        &t.admin,
        Method::POST,
        &format!("/compute/v2.1/servers/{vm}/os-interface"),
        Some(&json!({"interfaceAttachment": {}})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["interfaceAttachment"]["net_id"], json!(default_net));
    let port = body["interfaceAttachment"]["port_id"]
        .as_str()
        .expect("port id")
        .to_string();
    let iface: Value = t
        .reader
        .get(&format!("/v1/projects/{}/interfaces/{port}", t.project))
        .expect("interface");
    assert_eq!(iface["network_id"], json!(default_net));
    assert_eq!(iface["vm_id"], json!(vm));
    assert_eq!(iface["device_owner"], "compute:nova");
}

/// A floating IP asked for a port with another fixed IP is refused with
/// Neutron's 400 and the exact message, and no address is taken; with the
/// port's own address it is created.
#[test]
fn floating_ip_fixed_address_is_checked_in_the_write() {
    let server = Server::start(&[]);
    let t = tenant(&server, "fip-fixed");
    let net = t.standard_network("web", "10.31.0.0/24");
    let port: Value = t
        .admin
        .post(
            &format!("/v1/projects/{}/interfaces", t.project),
            &json!({"network_id": net, "fixed_ips": [{"ip_address": "10.31.0.10"}]}),
        )
        .expect("port");
    let port_id = port["id"].as_str().expect("id").to_string();

    let create = |fixed: &str| {
        call(
            &t.admin,
            Method::POST,
            "/network/v2.0/floatingips",
            Some(&json!({"floatingip": {
                "floating_network_id": t.dc,
                "port_id": port_id,
                "fixed_ip_address": fixed,
            }})),
        )
    };
    let (status, body) = create("10.31.0.11");
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["NeutronError"]["type"], "InvalidInput", "{body}");
    assert_eq!(
        body["NeutronError"]["message"],
        format!(
            "Port {port_id} does not have fixed ip 10.31.0.11; a floating IP maps to one of the port's IPv4 addresses."
        )
    );
    let (_, list) = call(&t.admin, Method::GET, "/network/v2.0/floatingips", None);
    assert_eq!(list["floatingips"], json!([]));

    let (status, body) = create("10.31.0.10");
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["floatingip"]["port_id"], json!(port_id));
    assert_eq!(body["floatingip"]["fixed_ip_address"], "10.31.0.10");
}
