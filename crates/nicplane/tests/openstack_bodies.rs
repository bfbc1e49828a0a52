//! OpenStack request bodies are typed (issue 11): every converted Neutron
//! create and update refuses an attribute outside its map with Neutron's own
//! answer (400 `HTTPBadRequest` "Unrecognized attribute(s) 'x'") and changes
//! nothing, and a wrongly typed field is a clean 400 `InvalidInput` that
//! names the field, never serde's wording.

mod common;

use common::*;
use nicplane_client::Client;
use reqwest::Method;
use serde_json::{json, Value};

use common::neutron;

/// A Neutron call that must succeed with `status`; returns the body.
fn ok(c: &Client, method: Method, path: &str, body: Option<&Value>, status: u16) -> Value {
    let (s, b) = neutron(c, method, path, body);
    assert_eq!(s, status, "{path}: {b}");
    b
}

/// Every collection a converted body can change, as Neutron lists it.
fn state(c: &Client) -> Value {
    let mut all = serde_json::Map::new();
    for coll in [
        "ports",
        "floatingips",
        "networks",
        "subnets",
        "security-groups",
        "security-group-rules",
        "trunks",
    ] {
        all.insert(
            coll.to_string(),
            ok(c, Method::GET, &format!("/{coll}"), None, 200),
        );
    }
    Value::Object(all)
}

/// The objects the cases refer to.
struct Fixture {
    server: Server,
    t: Tenant,
    network: String,
    subnet: String,
    port: String,
    fip: String,
    external: String,
    group: String,
    trunk: String,
}

fn fixture() -> Fixture {
    let server = Server::start(&[]);
    let t = tenant(&server, "bodies");
    let network = t.standard_network("app", "10.20.0.0/24");
    let c = &t.admin;
    let subnet = ok(
        c,
        Method::GET,
        &format!("/subnets?network_id={network}"),
        None,
        200,
    )["subnets"][0]["id"]
        .as_str()
        .expect("subnet")
        .to_string();
    let port = ok(
        c,
        Method::POST,
        "/ports",
        Some(&json!({"port": {"network_id": network, "name": "p"}})),
        201,
    )["port"]["id"]
        .as_str()
        .expect("port")
        .to_string();
    let external = ok(c, Method::GET, "/networks?router:external=true", None, 200)["networks"][0]
        ["id"]
        .as_str()
        .expect("external network")
        .to_string();
    let fip = ok(
        c,
        Method::POST,
        "/floatingips",
        Some(&json!({"floatingip": {"floating_network_id": external}})),
        201,
    )["floatingip"]["id"]
        .as_str()
        .expect("floating ip")
        .to_string();
    let group = ok(
        c,
        Method::POST,
        "/security-groups",
        Some(&json!({"security_group": {"name": "web"}})),
        201,
    )["security_group"]["id"]
        .as_str()
        .expect("security group")
        .to_string();
    let trunk = ok(
        c,
        Method::POST,
        "/trunks",
        Some(&json!({"trunk": {"port_id": port, "name": "t"}})),
        201,
    )["trunk"]["id"]
        .as_str()
        .expect("trunk")
        .to_string();
    Fixture {
        server,
        group,
        trunk,
        t,
        network,
        subnet,
        port,
        fip,
        external,
    }
}

/// Assert a refused request: status, Neutron type, exact message, and that
/// no collection changed.
fn refused(f: &Fixture, method: Method, path: &str, body: Value, ty: &str, message: &str) {
    let c = &f.t.admin;
    let before = state(c);
    let (s, b) = neutron(c, method.clone(), path, Some(&body));
    assert_eq!(
        (
            s,
            b["NeutronError"]["type"].as_str(),
            b["NeutronError"]["message"].as_str()
        ),
        (400, Some(ty), Some(message)),
        "{method} {path} {body}: {b}"
    );
    assert_eq!(state(c), before, "{method} {path} {body} changed nothing");
}

#[test]
fn an_unknown_attribute_on_each_converted_create_and_update_is_neutrons_400() {
    let f = fixture();
    let (net, port, fip, ext, subnet) = (&f.network, &f.port, &f.fip, &f.external, &f.subnet);
    let (group, trunk) = (&f.group, &f.trunk);
    let cases: Vec<(Method, String, Value)> = vec![
        (
            Method::POST,
            "/ports".into(),
            json!({"port": {"network_id": net, "colour": "red"}}),
        ),
        (
            Method::POST,
            "/ports".into(),
            json!({"ports": [{"network_id": net}, {"network_id": net, "colour": "red"}]}),
        ),
        (
            Method::PUT,
            format!("/ports/{port}"),
            json!({"port": {"name": "q", "colour": "red"}}),
        ),
        // network_id is a create-only attribute of a port.
        (
            Method::PUT,
            format!("/ports/{port}"),
            json!({"port": {"colour": "red"}}),
        ),
        (
            Method::POST,
            "/floatingips".into(),
            json!({"floatingip": {"floating_network_id": ext, "colour": "red"}}),
        ),
        (
            Method::PUT,
            format!("/floatingips/{fip}"),
            json!({"floatingip": {"port_id": port, "colour": "red"}}),
        ),
        (
            Method::POST,
            "/networks".into(),
            json!({"network": {"name": "n", "colour": "red"}}),
        ),
        (
            Method::PUT,
            format!("/networks/{net}"),
            json!({"network": {"name": "n", "colour": "red"}}),
        ),
        (
            Method::POST,
            "/subnets".into(),
            json!({"subnet": {"network_id": net, "cidr": "10.21.0.0/24", "ip_version": 4, "colour": "red"}}),
        ),
        (
            Method::PUT,
            format!("/subnets/{subnet}"),
            json!({"subnet": {"colour": "red"}}),
        ),
        (
            Method::POST,
            "/security-groups".into(),
            json!({"security_group": {"name": "g", "colour": "red"}}),
        ),
        (
            Method::PUT,
            format!("/security-groups/{group}"),
            json!({"security_group": {"name": "g", "colour": "red"}}),
        ),
        (
            Method::POST,
            "/security-group-rules".into(),
            json!({"security_group_rule": {"security_group_id": group, "direction": "ingress", "colour": "red"}}),
        ),
        (
            Method::POST,
            "/trunks".into(),
            json!({"trunk": {"port_id": port, "colour": "red"}}),
        ),
        (
            Method::PUT,
            format!("/trunks/{trunk}"),
            json!({"trunk": {"name": "t2", "colour": "red"}}),
        ),
        (
            Method::PUT,
            format!("/trunks/{trunk}/add_subports"),
            json!({"sub_ports": [], "colour": "red"}),
        ),
    ];
    for (method, path, body) in cases {
        refused(
            &f,
            method,
            &path,
            body,
            "HTTPBadRequest",
            "Unrecognized attribute(s) 'colour'",
        );
    }
    // Every unknown attribute is named, as Neutron joins them.
    refused(
        &f,
        Method::POST,
        "/ports",
        json!({"port": {"alpha": 1, "beta": 2, "network_id": net}}),
        "HTTPBadRequest",
        "Unrecognized attribute(s) 'alpha, beta'",
    );
    drop(f.server);
}

#[test]
fn a_wrongly_typed_field_is_a_clean_400_naming_the_field() {
    let f = fixture();
    let (net, port, fip, subnet) = (&f.network, &f.port, &f.fip, &f.subnet);
    let (group, trunk) = (&f.group, &f.trunk);
    let cases: Vec<(Method, String, Value, &str)> = vec![
        (
            Method::POST,
            "/ports".into(),
            json!({"port": {"network_id": net, "name": 5}}),
            "Invalid input for name. Reason: '5' is not a valid string.",
        ),
        (
            Method::POST,
            "/ports".into(),
            json!({"port": {"network_id": 17}}),
            "Invalid input for network_id. Reason: '17' is not a valid string.",
        ),
        (
            Method::POST,
            "/ports".into(),
            json!({"port": {"network_id": net, "fixed_ips": 5}}),
            "Invalid input for fixed_ips. Reason: '5' is not a list.",
        ),
        (
            Method::POST,
            "/ports".into(),
            json!({"port": {"network_id": net, "fixed_ips": [{"subnet_id": subnet, "ip_address": 7}]}}),
            "Invalid input for fixed_ips.ip_address. Reason: '7' is not a valid string.",
        ),
        (
            Method::POST,
            "/ports".into(),
            json!({"port": {"network_id": net, "fixed_ips": [{"subnet_id": subnet, "colour": 1}]}}),
            "Unrecognized attribute(s) 'colour'",
        ),
        (
            Method::PUT,
            format!("/ports/{port}"),
            json!({"port": {"admin_state_up": "maybe"}}),
            "Invalid input for admin_state_up. Reason: '\"maybe\"' cannot be converted to boolean.",
        ),
        (
            Method::PUT,
            format!("/ports/{port}"),
            json!({"port": {"device_id": {"id": 1}}}),
            "Invalid input for device_id. Reason: '{\"id\":1}' is not a valid string.",
        ),
        (
            Method::POST,
            "/floatingips".into(),
            json!({"floatingip": {"floating_network_id": [1]}}),
            "Invalid input for floating_network_id. Reason: '[1]' is not a valid string.",
        ),
        (
            Method::PUT,
            format!("/floatingips/{fip}"),
            json!({"floatingip": {"port_id": true}}),
            "Invalid input for port_id. Reason: 'true' is not a valid string.",
        ),
        (
            Method::POST,
            "/networks".into(),
            json!({"network": {"name": 5}}),
            "Invalid input for name. Reason: '5' is not a valid string.",
        ),
        (
            Method::POST,
            "/networks".into(),
            json!({"network": {"name": "n", "shared": 3}}),
            "Invalid input for shared. Reason: '3' cannot be converted to boolean.",
        ),
        (
            Method::PUT,
            format!("/networks/{net}"),
            json!({"network": {"description": false}}),
            "Invalid input for description. Reason: 'false' is not a valid string.",
        ),
        (
            Method::POST,
            "/subnets".into(),
            json!({"subnet": {"network_id": net, "cidr": "10.21.0.0/24", "ip_version": 4, "gateway_ip": 5}}),
            "Invalid input for gateway_ip. Reason: '5' is not a valid IP address.",
        ),
        (
            Method::POST,
            "/subnets".into(),
            json!({"subnet": {"network_id": net, "cidr": ["10.21.0.0/24"], "ip_version": 4}}),
            "Invalid input for cidr. Reason: '[\"10.21.0.0/24\"]' is not a valid string.",
        ),
        (
            Method::POST,
            "/subnets".into(),
            json!({"subnet": {"network_id": net, "cidr": "10.21.0.0/24", "ip_version": "4"}}),
            "Invalid input for ip_version: give 4 or 6.",
        ),
        (
            Method::POST,
            "/security-groups".into(),
            json!({"security_group": {"name": {"a": 1}}}),
            "Invalid input for name. Reason: '{\"a\":1}' is not a valid string.",
        ),
        (
            Method::PUT,
            format!("/security-groups/{group}"),
            json!({"security_group": {"stateful": "sometimes"}}),
            "Invalid input for stateful. Reason: '\"sometimes\"' cannot be converted to boolean.",
        ),
        (
            Method::POST,
            "/security-group-rules".into(),
            json!({"security_group_rule": {"security_group_id": group, "direction": 1}}),
            "Invalid input for direction. Reason: '1' is not a valid string.",
        ),
        (
            Method::POST,
            "/security-group-rules".into(),
            json!({"security_group_rule": {"security_group_id": group, "direction": "ingress", "protocol": "tcp", "port_range_min": "eighty"}}),
            "Invalid value for port \"eighty\".",
        ),
        (
            Method::POST,
            "/trunks".into(),
            json!({"trunk": {"port_id": port, "admin_state_up": 2}}),
            "Invalid input for admin_state_up. Reason: '2' cannot be converted to boolean.",
        ),
        (
            Method::PUT,
            format!("/trunks/{trunk}"),
            json!({"trunk": {"name": 9}}),
            "Invalid input for name. Reason: '9' is not a valid string.",
        ),
        (
            Method::PUT,
            format!("/trunks/{trunk}/add_subports"),
            json!({"sub_ports": [{"port_id": 3, "segmentation_type": "vlan", "segmentation_id": 5}]}),
            "Invalid input for sub_ports.port_id. Reason: '3' is not a valid string.",
        ),
        (
            Method::PUT,
            format!("/trunks/{trunk}/add_subports"),
            json!({"sub_ports": "all"}),
            "Invalid input for sub_ports: give a list of subports.",
        ),
    ];
    for (method, path, body, message) in cases {
        refused(&f, method, &path, body, "InvalidInput", message);
    }
    drop(f.server);
}

/// Keystone's answer to a body that is not JSON names what is wrong, never
/// serde's line and column (they depend on the client's layout).
#[test]
fn keystone_malformed_json_has_no_position() {
    let server = Server::start(&[]);
    let http = reqwest::blocking::Client::new();
    for (body, reason) in [
        ("{", "EOF while parsing an object"),
        ("\n\n   {\"auth\": ", "EOF while parsing a value"),
    ] {
        let r = http
            .post(format!("{}/identity/v3/auth/tokens", server.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 400);
        let v: Value = r.json().unwrap();
        assert_eq!(
            v["error"]["message"],
            format!("The request body is not valid JSON: {reason}."),
            "{body:?}"
        );
    }
}
