//! A hostile tenant against the real binary (issue 9, points 1, 2, 3, 7):
//! MAC squatting, network-owner powers on a shared network, oversized and
//! malformed lists, and an IPv6 pool that ends at the last address of its /64.
//!
//! Each test drives the native API through the typed client and the Neutron
//! dialect through raw HTTP with `X-Auth-Token`, and checks status, error
//! code (or Neutron type) and the exact message, then that nothing changed.

mod common;

use common::*;
use nicplane_client::{Client, ClientError};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

use common::neutron;

/// Assert a Neutron error: status, exception type and exact message.
fn assert_neutron_error(r: (u16, Value), status: u16, ty: &str, message: &str) {
    let (s, body) = r;
    assert_eq!(s, status, "status of {body}");
    assert_eq!(body["NeutronError"]["type"], ty, "type of {body}");
    assert_eq!(
        body["NeutronError"]["message"], message,
        "message of {body}"
    );
}

/// Assert a native error: status, code and exact message.
fn assert_native_error<T: std::fmt::Debug>(
    r: Result<T, ClientError>,
    status: u16,
    code: &str,
    message: &str,
) {
    match r {
        Err(ClientError::Api {
            status: s,
            code: c,
            message: m,
            ..
        }) => {
            assert_eq!((s, c.as_str(), m.as_str()), (status, code, message));
        }
        other => panic!("expected HTTP {status} {code}, got {other:?}"),
    }
}

fn port_create(t: &Tenant, body: Value) -> Result<Value, ClientError> {
    t.admin
        .post::<Value>(&format!("/v1/projects/{}/interfaces", t.project), &body)
}

fn port_count(c: &Client, project: &str) -> usize {
    c.interfaces(project, "").expect("list").len()
}

fn mac_string(low: u32) -> String {
    format!(
        "fa:16:3e:{:02x}:{:02x}:{:02x}",
        (low >> 16) & 0xff,
        (low >> 8) & 0xff,
        low & 0xff
    )
}

/// The three low octets of a MAC under fa:16:3e.
fn mac_low(mac: &str) -> u32 {
    assert!(mac.starts_with("fa:16:3e:"), "{mac} is under the prefix");
    let hex: String = mac[9..].split(':').collect();
    u32::from_str_radix(&hex, 16).expect("hex")
}

/// A tenant squats 300 MACs (the old counter's first ones and the ones just
/// above a generated MAC, natively and through Neutron bulk); every create
/// in another project still succeeds, with distinct MACs under the prefix.
#[test]
fn mac_squatting_does_not_make_other_projects_fail() {
    let server = Server::start(&[]);
    let a = tenant(&server, "squatter");
    let b = tenant(&server, "victim");
    let net_a = a.standard_network("squat-net", "10.1.0.0/16");

    let first = port_create(&a, json!({"network_id": net_a})).expect("generated");
    let generated = mac_low(first["mac_address"].as_str().expect("mac"));
    let mut squatted: Vec<String> = (0..150u32).map(mac_string).collect();
    squatted.extend((1..=150u32).map(|i| mac_string((generated + i) & 0x00ff_ffff)));
    squatted.sort();
    squatted.dedup();
    squatted.retain(|m| mac_low(m) != generated);
    let (native, bulk) = squatted.split_at(squatted.len() / 2);
    for mac in native {
        port_create(&a, json!({"network_id": net_a, "mac_address": mac})).expect("squat");
    }
    for chunk in bulk.chunks(75) {
        let ports: Vec<Value> = chunk
            .iter()
            .map(|m| json!({"network_id": net_a, "mac_address": m}))
            .collect();
        let (status, body) = neutron(
            &a.admin,
            Method::POST,
            "/ports",
            Some(&json!({ "ports": ports })),
        );
        assert_eq!(status, 201, "{body}");
    }
    assert_eq!(port_count(&a.admin, &a.project), squatted.len() + 1);
    assert!(squatted.len() >= 290, "about 300 MACs squatted");

    // A MAC in use is 409 MacAddressInUse, in both dialects, and changes nothing.
    assert_native_error(
        port_create(&a, json!({"network_id": net_a, "mac_address": native[0]})),
        409,
        "MacAddressInUse",
        &format!("The MAC address {} is already in use.", native[0]),
    );
    assert_neutron_error(
        neutron(
            &a.admin,
            Method::POST,
            "/ports",
            Some(&json!({"port": {"network_id": net_a, "mac_address": bulk[0]}})),
        ),
        409,
        "MacAddressInUse",
        &format!("The MAC address {} is already in use.", bulk[0]),
    );
    assert_eq!(port_count(&a.admin, &a.project), squatted.len() + 1);

    // Another project: ports, a bulk create, a VM and an attach all succeed.
    let net_b = b.standard_network("victim-net", "10.2.0.0/16");
    let mut macs = BTreeSet::new();
    for _ in 0..30 {
        let p = port_create(&b, json!({"network_id": net_b})).expect("victim port");
        macs.insert(p["mac_address"].as_str().expect("mac").to_string());
    }
    let ports: Vec<Value> = (0..30).map(|_| json!({"network_id": net_b})).collect();
    let (status, body) = neutron(
        &b.admin,
        Method::POST,
        "/ports",
        Some(&json!({ "ports": ports })),
    );
    assert_eq!(status, 201, "{body}");
    for p in body["ports"].as_array().expect("ports") {
        macs.insert(p["mac_address"].as_str().expect("mac").to_string());
    }
    let vm = b.vm("victim-vm", "linux", true);
    let attached = b
        .power
        .interface_attach(&b.project, &vm, &net_b, None)
        .expect("attach in the other project");
    macs.insert(attached.mac_address.to_string());
    for i in b.admin.vm(&b.project, &vm).expect("vm").interfaces {
        macs.insert(i.mac_address.to_string());
    }
    assert_eq!(macs.len(), 62, "every MAC is distinct");
    for m in &macs {
        mac_low(m);
        assert!(!squatted.contains(m), "{m} was squatted");
    }
}

/// Network-owner powers: on a shared network a tenant cannot choose a fixed
/// IP address or a MAC, disable port security or set allowed address pairs
/// (403, Neutron `PolicyNotAuthorized`), natively, through Neutron create
/// and update, and through an attach; choosing only a subnet is allowed; on
/// its own network it can do all of these. The cloud admin adds a subnet to
/// the shared network through Neutron.
#[test]
fn shared_network_refuses_owner_powers_to_tenants() {
    let server = Server::start(&[]);
    let cloud = server.admin();
    let t = tenant(&server, "tenant");
    let shared = cloud
        .post::<Value>(
            "/v1/shared-networks",
            &json!({"name": "shared-net", "data_center_id": t.dc, "kind": "standard",
                    "subnets": [{"cidr": "10.50.0.0/24"}]}),
        )
        .expect("shared network");
    let shared_id = shared["id"].as_str().expect("id").to_string();
    let shared_subnet = shared["subnets"][0]["id"]
        .as_str()
        .expect("subnet")
        .to_string();
    let own = t.standard_network("own-net", "10.60.0.0/24");
    let free_before = t
        .admin
        .networks(&t.project)
        .expect("networks")
        .into_iter()
        .find(|n| n.network.id.to_string() == shared_id)
        .expect("shared visible")
        .subnets[0]
        .free_addresses
        .clone();

    let forbidden = [
        (
            json!({"fixed_ips": [{"ip_address": "10.50.0.10"}]}),
            "fixed_ips:ip_address",
            "a fixed IP address",
        ),
        (
            json!({"mac_address": "fa:16:3e:aa:bb:cc"}),
            "mac_address",
            "a MAC address",
        ),
        (
            json!({"port_security_enabled": false}),
            "port_security_enabled",
            "port security disabled",
        ),
        (
            json!({"allowed_address_pairs": [{"ip_address": "0.0.0.0/0"}]}),
            "allowed_address_pairs",
            "allowed address pairs",
        ),
    ];
    for (extra, rule, what) in &forbidden {
        let message = format!(
            "Only the owner of network shared-net can give its ports {what} (rule:create_port:{rule} is disallowed by policy)."
        );
        let mut body = extra.clone();
        body["network_id"] = json!(shared_id);
        assert_native_error(port_create(&t, body.clone()), 403, "Forbidden", &message);
        assert_neutron_error(
            neutron(
                &t.admin,
                Method::POST,
                "/ports",
                Some(&json!({ "port": body })),
            ),
            403,
            "PolicyNotAuthorized",
            &message,
        );
        // The same on the tenant's own network is allowed.
        let mut body = extra.clone();
        body["network_id"] = json!(own);
        if let Some(f) = body.get_mut("fixed_ips") {
            *f = json!([{"ip_address": "10.60.0.10"}]);
        }
        let (status, created) = neutron(
            &t.admin,
            Method::POST,
            "/ports",
            Some(&json!({ "port": body })),
        );
        assert_eq!(status, 201, "{rule} on the own network: {created}");
        let id = created["port"]["id"].as_str().expect("id").to_string();
        assert_eq!(
            neutron(&t.admin, Method::DELETE, &format!("/ports/{id}"), None).0,
            204
        );
    }
    // An attach to a VM with a fixed IP on the shared network.
    let vm = t.vm("web", "linux", true);
    assert_native_error(
        t.power.post::<Value>(
            &format!("/v1/projects/{}/vms/{vm}/interfaces", t.project),
            &json!({"network_id": shared_id, "fixed_ips": [{"ip_address": "10.50.0.11"}]}),
        ),
        403,
        "Forbidden",
        "Only the owner of network shared-net can give its ports a fixed IP address (rule:create_port:fixed_ips:ip_address is disallowed by policy).",
    );
    // Nothing was created: no port, the shared subnet's free count unchanged.
    assert_eq!(port_count(&t.admin, &t.project), 1, "only the VM's primary");
    let free_after = t
        .admin
        .networks(&t.project)
        .expect("networks")
        .into_iter()
        .find(|n| n.network.id.to_string() == shared_id)
        .expect("shared visible")
        .subnets[0]
        .free_addresses
        .clone();
    assert_eq!(free_before, free_after);

    // Choosing only a subnet is allowed on the shared network.
    let (status, port) = neutron(
        &t.admin,
        Method::POST,
        "/ports",
        Some(
            &json!({"port": {"network_id": shared_id, "fixed_ips": [{"subnet_id": shared_subnet}]}}),
        ),
    );
    assert_eq!(status, 201, "{port}");
    let port_id = port["port"]["id"].as_str().expect("id").to_string();
    // Updating it with the owner powers is refused the same way.
    assert_neutron_error(
        neutron(
            &t.admin,
            Method::PUT,
            &format!("/ports/{port_id}"),
            Some(&json!({"port": {"allowed_address_pairs": [{"ip_address": "10.50.0.0/24"}]}})),
        ),
        403,
        "PolicyNotAuthorized",
        "Only the owner of network shared-net can give its ports allowed address pairs (rule:update_port:allowed_address_pairs is disallowed by policy).",
    );
    assert_native_error(
        t.admin.patch::<Value>(
            &format!("/v1/projects/{}/interfaces/{port_id}", t.project),
            &json!({"port_security_enabled": false}),
        ),
        403,
        "Forbidden",
        "Only the owner of network shared-net can give its ports port security disabled (rule:update_port:port_security_enabled is disallowed by policy).",
    );
    // With an attachment in the same PUT, the refusal comes first: the port
    // stays unattached.
    assert_neutron_error(
        neutron(
            &t.admin,
            Method::PUT,
            &format!("/ports/{port_id}"),
            Some(&json!({"port": {"device_id": vm, "fixed_ips": [{"ip_address": "10.50.0.20"}]}})),
        ),
        403,
        "PolicyNotAuthorized",
        "Only the owner of network shared-net can give its ports a fixed IP address (rule:update_port:fixed_ips:ip_address is disallowed by policy).",
    );
    let (_, shown) = neutron(&t.admin, Method::GET, &format!("/ports/{port_id}"), None);
    assert_eq!(shown["port"]["device_id"], json!(""));
    assert_eq!(shown["port"]["allowed_address_pairs"], json!([]));
    assert_eq!(shown["port"]["port_security_enabled"], json!(true));

    // The cloud admin may do all of it, and add a subnet through Neutron.
    let (status, body) = neutron(
        &cloud,
        Method::POST,
        "/subnets",
        Some(&json!({"subnet": {"network_id": shared_id, "cidr": "fd50::/64", "ip_version": 6}})),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = neutron(
        &cloud,
        Method::POST,
        "/ports",
        Some(
            &json!({"port": {"network_id": shared_id, "mac_address": "fa:16:3e:aa:bb:cd",
                               "fixed_ips": [{"ip_address": "10.50.0.12"}]}}),
        ),
    );
    assert_eq!(status, 201, "{body}");
}

/// Oversized and malformed lists are 400 naming the field and create nothing.
#[test]
fn oversized_and_malformed_lists_are_refused() {
    let server = Server::start(&[]);
    let t = tenant(&server, "lists");
    let other = tenant(&server, "other");
    let net = t
        .admin
        .network_create(
            &t.project,
            &json!({"name": "wide", "data_center_id": t.dc, "kind": "standard",
                    "subnets": [{"cidr": "10.70.0.0/24"}, {"cidr": "fd70::/64"}]}),
        )
        .expect("network");
    let net_id = net.network.id.to_string();
    let v4 = net
        .subnets
        .iter()
        .find(|s| s.ip_version == 4)
        .expect("v4")
        .id
        .to_string();
    let six_ips: Vec<Value> = (0..6).map(|_| json!({"subnet_id": v4})).collect();
    assert_native_error(
        port_create(&t, json!({"network_id": net_id, "fixed_ips": six_ips})),
        400,
        "InvalidValue",
        "Invalid value for fixed_ips: 6 fixed IPs given, at most 5 are allowed per port.",
    );
    assert_neutron_error(
        neutron(
            &t.admin,
            Method::POST,
            "/ports",
            Some(&json!({"port": {"network_id": net_id, "fixed_ips": six_ips}})),
        ),
        400,
        "InvalidInput",
        "Invalid value for fixed_ips: 6 fixed IPs given, at most 5 are allowed per port.",
    );
    let eleven: Vec<Value> = (0..11)
        .map(|i| json!({"ip_address": format!("10.9.0.{i}")}))
        .collect();
    assert_native_error(
        port_create(
            &t,
            json!({"network_id": net_id, "allowed_address_pairs": eleven}),
        ),
        400,
        "InvalidValue",
        "Invalid value for allowed_address_pairs: 11 pairs given, at most 10 are allowed per port.",
    );
    for (pair, message) in [
        (
            json!({"ip_address": "10.0.0.300"}),
            "Invalid value for allowed_address_pairs: '10.0.0.300' is not an IP address or CIDR.",
        ),
        (
            json!({"ip_address": "10.0.0.1/24"}),
            "Invalid value for allowed_address_pairs: '10.0.0.1/24' has host bits set; did you mean 10.0.0.0/24?",
        ),
        (
            json!({"ip_address": "10.0.0.1", "mac_address": "01:00:5e:00:00:01"}),
            "Invalid value for allowed_address_pairs: '01:00:5e:00:00:01' is not a unicast MAC address.",
        ),
    ] {
        assert_neutron_error(
            neutron(
                &t.admin,
                Method::POST,
                "/ports",
                Some(&json!({"port": {"network_id": net_id, "allowed_address_pairs": [pair]}})),
            ),
            400,
            "InvalidInput",
            message,
        );
    }
    // A bulk create over the cap: nothing is created.
    let ports: Vec<Value> = (0..101).map(|_| json!({"network_id": net_id})).collect();
    assert_neutron_error(
        neutron(
            &t.admin,
            Method::POST,
            "/ports",
            Some(&json!({ "ports": ports })),
        ),
        400,
        "InvalidInput",
        "Invalid value for ports: 101 entries given, at most 100 are allowed.",
    );
    assert_eq!(port_count(&t.admin, &t.project), 0, "nothing created");

    // Fixed IPs on update are bounded too.
    let p = port_create(&t, json!({"network_id": net_id})).expect("port");
    let pid = p["id"].as_str().expect("id").to_string();
    assert_native_error(
        t.admin.patch::<Value>(
            &format!("/v1/projects/{}/interfaces/{pid}", t.project),
            &json!({"fixed_ips": six_ips}),
        ),
        400,
        "InvalidValue",
        "Invalid value for fixed_ips: 6 fixed IPs given, at most 5 are allowed per port.",
    );
    let again = t
        .admin
        .get::<Value>(&format!("/v1/projects/{}/interfaces/{pid}", t.project))
        .expect("port");
    assert_eq!(again["fixed_ips"], p["fixed_ips"], "unchanged");

    // Security group rules.
    let sg = t
        .admin
        .post::<Value>(
            &format!("/v1/projects/{}/security-groups", t.project),
            &json!({"name": "web"}),
        )
        .expect("group");
    let sg_id = sg["id"].as_str().expect("id").to_string();
    let foreign = other.admin.security_groups(&other.project).expect("groups")[0]
        .id
        .to_string();
    let rules_path = format!("/v1/projects/{}/security-groups/{sg_id}/rules", t.project);
    let missing_group = format!("Security group {foreign} could not be found.");
    for (rule, status, code, message) in [
        (
            json!({"direction": "ingress", "protocol": "300"}),
            400,
            "InvalidValue",
            "Invalid value for protocol: '300' is not a known protocol name nor a number from 0 to 255.",
        ),
        (
            json!({"direction": "ingress", "protocol": "tcp", "port_range_min": 90, "port_range_max": 80}),
            400,
            "InvalidRequest",
            "For TCP/UDP protocols, port_range_min must be <= port_range_max.",
        ),
        (
            json!({"direction": "ingress", "protocol": "gre", "port_range_min": 1, "port_range_max": 2}),
            400,
            "InvalidValue",
            "Invalid value for port_range_min: protocol gre takes no port range; only TCP, UDP, UDP-Lite, SCTP, DCCP and ICMP do.",
        ),
        (
            json!({"direction": "ingress", "ethertype": "IPv4", "remote_ip_prefix": "fd00::/64"}),
            400,
            "InvalidRequest",
            "Conflicting value ethertype IPv4 for CIDR fd00::/64.",
        ),
        // Another project's group is not found, as Neutron answers.
        (
            json!({"direction": "ingress", "remote_group_id": foreign}),
            404,
            "NotFound",
            &*missing_group,
        ),
    ] {
        assert_native_error(t.admin.post::<Value>(&rules_path, &rule), status, code, message);
    }
    let (status, body) = neutron(
        &t.admin,
        Method::POST,
        "/security-group-rules",
        Some(
            &json!({"security_group_rule": {"security_group_id": sg_id, "direction": "ingress",
                     "protocol": "tcp", "port_range_min": 0, "port_range_max": 22}}),
        ),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["NeutronError"]["message"], "Invalid value for port 0.");
    let rules = t
        .admin
        .get::<Value>(&format!(
            "/v1/projects/{}/security-groups/{sg_id}",
            t.project
        ))
        .expect("group");
    let ids = |v: &Value| -> BTreeSet<String> {
        v["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .map(|r| r["id"].as_str().expect("id").to_string())
            .collect()
    };
    assert_eq!(ids(&rules), ids(&sg), "no rule added");
}

/// A subnet whose pool ends at the last address of its /64: every address
/// is handed out once, inside the pool, never `::` nor the gateway, then a
/// clean exhaustion error.
#[test]
fn ipv6_pool_ending_at_the_last_address_of_a_64_is_exhausted_cleanly() {
    let server = Server::start(&[]);
    let t = tenant(&server, "six");
    let net = t
        .admin
        .network_create(
            &t.project,
            &json!({"name": "edge", "data_center_id": t.dc, "kind": "standard",
                    "subnets": [{"cidr": "fd00:9::/64",
                                 "allocation_pools": [{"start": "fd00:9::ffff:ffff:ffff:fff0",
                                                       "end": "fd00:9::ffff:ffff:ffff:ffff"}]}]}),
        )
        .expect("network");
    let net_id = net.network.id.to_string();
    let gateway = net.subnets[0].gateway_ip.expect("gateway");
    assert_eq!(gateway.to_string(), "fd00:9::1");
    let low: u128 = "fd00:9::ffff:ffff:ffff:fff0"
        .parse::<std::net::Ipv6Addr>()
        .expect("ip")
        .into();
    let mut seen = BTreeSet::new();
    for _ in 0..16 {
        let p = port_create(&t, json!({"network_id": net_id})).expect("address left");
        let ip: std::net::Ipv6Addr = p["fixed_ips"][0]["ip_address"]
            .as_str()
            .expect("ip")
            .parse()
            .expect("v6");
        let n = u128::from(ip);
        assert!(n >= low && n <= low + 15, "{ip} is inside the pool");
        assert!(!ip.is_unspecified() && std::net::IpAddr::V6(ip) != gateway);
        assert!(seen.insert(ip), "{ip} handed out twice");
    }
    assert_eq!(seen.len(), 16);
    assert_native_error(
        port_create(&t, json!({"network_id": net_id})),
        409,
        "CapacityExhausted",
        "Subnet edge-v6 has no free IP address left.",
    );
    assert_neutron_error(
        neutron(
            &t.admin,
            Method::POST,
            "/ports",
            Some(&json!({"port": {"network_id": net_id}})),
        ),
        409,
        "IpAddressGenerationFailure",
        "Subnet edge-v6 has no free IP address left.",
    );
    assert_eq!(port_count(&t.admin, &t.project), 16);
    // Released addresses come back, still inside the pool.
    let first = t.admin.interfaces(&t.project, "").expect("list")[0].clone();
    t.admin
        .delete(&format!(
            "/v1/projects/{}/interfaces/{}",
            t.project, first.id
        ))
        .expect("delete");
    let p = port_create(&t, json!({"network_id": net_id})).expect("released address");
    assert_eq!(
        p["fixed_ips"][0]["ip_address"],
        json!(first.fixed_ips[0].ip_address.to_string())
    );
}

/// Supplementary interfaces (the Huawei VPC resource, through the native
/// API) follow the same owner rule on a shared network: no chosen address,
/// no disabled security; the network alone is fine. The bounds are
/// deployment settings: with `--max-allowed-address-pairs 1` two pairs are
/// refused on the tenant's own network.
#[test]
fn supplementary_interfaces_follow_the_owner_rule_and_configured_bounds() {
    let server = Server::start(&["--max-allowed-address-pairs", "1"]);
    let cloud = server.admin();
    let t = tenant(&server, "vpc");
    let shared = cloud
        .post::<Value>(
            "/v1/shared-networks",
            &json!({"name": "shared-vpc", "data_center_id": t.dc, "kind": "standard",
                    "subnets": [{"cidr": "10.80.0.0/24"}]}),
        )
        .expect("shared network");
    let shared_id = shared["id"].as_str().expect("id").to_string();
    let own = t.standard_network("own-vpc", "10.81.0.0/24");
    let parent = port_create(&t, json!({"network_id": own})).expect("parent");
    let parent_id = parent["id"].as_str().expect("id").to_string();
    let path = format!(
        "/v1/projects/{}/interfaces/{parent_id}/supplementary-interfaces",
        t.project
    );
    assert_native_error(
        t.admin.post::<Value>(
            &path,
            &json!({"network_id": shared_id, "ip_address": "10.80.0.9"}),
        ),
        403,
        "Forbidden",
        "Only the owner of network shared-vpc can give its ports a fixed IP address (rule:create_port:fixed_ips:ip_address is disallowed by policy).",
    );
    assert_native_error(
        t.admin.post::<Value>(
            &path,
            &json!({"network_id": shared_id, "security_enabled": false}),
        ),
        403,
        "Forbidden",
        "Only the owner of network shared-vpc can give its ports port security disabled (rule:create_port:port_security_enabled is disallowed by policy).",
    );
    assert_eq!(port_count(&t.admin, &t.project), 1, "only the parent");
    t.admin
        .post::<Value>(&path, &json!({"network_id": shared_id}))
        .expect("the network alone is allowed");
    // The cloud admin adds a subnet to the shared network natively; a
    // tenant cannot.
    let admin_project = cloud
        .projects()
        .expect("projects")
        .into_iter()
        .find(|p| p.name == "admin")
        .expect("admin project")
        .id
        .to_string();
    cloud
        .post::<Value>(
            &format!("/v1/projects/{admin_project}/networks/{shared_id}/subnets"),
            &json!({"cidr": "fd80::/64"}),
        )
        .expect("cloud admin adds a subnet to a shared network");
    assert_native_error(
        t.admin.post::<Value>(
            &format!("/v1/projects/{}/networks/{shared_id}/subnets", t.project),
            &json!({"cidr": "fd81::/64"}),
        ),
        403,
        "Forbidden",
        "Network shared-vpc is a shared network; only the cloud admin can change it.",
    );
    assert_native_error(
        port_create(
            &t,
            json!({"network_id": own, "allowed_address_pairs": [
                {"ip_address": "10.9.0.1"}, {"ip_address": "10.9.0.2"}]}),
        ),
        400,
        "InvalidValue",
        "Invalid value for allowed_address_pairs: 2 pairs given, at most 1 are allowed per port.",
    );
    port_create(
        &t,
        json!({"network_id": own, "allowed_address_pairs": [{"ip_address": "10.9.0.1"}]}),
    )
    .expect("one pair is allowed");
}
