//! Helpers of the Neutron tests: exact errors, expected statuses, ids, and
//! an external network made through Neutron.

use super::neutron;
use nicplane_client::Client;
use serde_json::{json, Value};

/// Assert a Neutron error: status, `NeutronError.type` and the exact message.
pub fn assert_neutron_error(case: &str, r: &(u16, Value), status: u16, ty: &str, message: &str) {
    assert_eq!(r.0, status, "{case}: {}", r.1);
    assert_eq!(r.1["NeutronError"]["type"], ty, "{case}: {}", r.1);
    assert_eq!(r.1["NeutronError"]["message"], message, "{case}");
}

/// The body of a response with the expected status.
pub fn ok(case: &str, r: (u16, Value), status: u16) -> Value {
    assert_eq!(r.0, status, "{case}: {}", r.1);
    r.1
}

/// The `id` of an object.
pub fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

/// An external network made through Neutron by the cloud admin, with one
/// subnet (pool): (network id, subnet id).
pub fn neutron_external(admin: &Client, name: &str, cidr: &str) -> (String, String) {
    let n = ok(
        "external network",
        neutron(
            admin,
            reqwest::Method::POST,
            "/networks",
            Some(&json!({"network": {"name": name, "router:external": true}})),
        ),
        201,
    )["network"]
        .clone();
    assert_eq!(n["router:external"], true, "{n}");
    let nid = id_of(&n);
    let s = ok(
        "external subnet",
        neutron(
            admin,
            reqwest::Method::POST,
            "/subnets",
            Some(&json!({"subnet": {"network_id": nid, "ip_version": 4, "cidr": cidr, "enable_dhcp": false}})),
        ),
        201,
    )["subnet"]
        .clone();
    (nid, id_of(&s))
}
