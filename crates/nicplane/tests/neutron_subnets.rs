//! Neutron's subnet model in the core (issue 12): several subnets of either
//! IP version per network without overlap, port addresses as Neutron hands
//! them out, subnet updates, `dns_nameservers`, `host_routes` and the IPv6
//! modes (SLAAC addresses computed from the MAC). Raw Neutron calls with
//! exact statuses, exception types and messages; on PostgreSQL too when
//! `NICPLANE_TEST_POSTGRES_URL` is set.

mod common;

use common::neutron_helpers::*;
use common::*;
use nicplane_client::Client;
use reqwest::Method;
use serde_json::{json, Value};

fn network(c: &Client, name: &str) -> String {
    let r = neutron(
        c,
        Method::POST,
        "/networks",
        Some(&json!({"network": {"name": name}})),
    );
    assert_eq!(r.0, 201, "{}", r.1);
    r.1["network"]["id"].as_str().expect("id").to_string()
}

fn subnet_post(c: &Client, body: Value) -> (u16, Value) {
    neutron(
        c,
        Method::POST,
        "/subnets",
        Some(&json!({ "subnet": body })),
    )
}

fn subnet(c: &Client, net: &str, cidr: &str, extra: Value) -> Value {
    let version = if cidr.contains(':') { 6 } else { 4 };
    let mut body = json!({"network_id": net, "cidr": cidr, "ip_version": version});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let r = subnet_post(c, body);
    assert_eq!(r.0, 201, "{cidr}: {}", r.1);
    r.1["subnet"].clone()
}

fn port(c: &Client, net: &str, fixed_ips: Option<Value>) -> (u16, Value) {
    let mut body = json!({"network_id": net});
    if let Some(f) = fixed_ips {
        body["fixed_ips"] = f;
    }
    neutron(c, Method::POST, "/ports", Some(&json!({ "port": body })))
}

fn addresses(port: &Value) -> Vec<(String, String)> {
    port["port"]["fixed_ips"]
        .as_array()
        .expect("fixed_ips")
        .iter()
        .map(|f| {
            (
                f["subnet_id"].as_str().expect("subnet").to_string(),
                f["ip_address"].as_str().expect("ip").to_string(),
            )
        })
        .collect()
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

fn put(c: &Client, sid: &str, body: Value) -> (u16, Value) {
    neutron(
        c,
        Method::PUT,
        &format!("/subnets/{sid}"),
        Some(&json!({ "subnet": body })),
    )
}

/// A network takes several subnets of each version; an overlapping CIDR
/// (either way round, either version) is Neutron's 400 and adds nothing.
#[test]
fn a_network_has_several_subnets_of_either_version_that_do_not_overlap() {
    let server = Server::start(&[]);
    let t = tenant(&server, "multi-subnet");
    let net = network(&t.admin, "multi");
    let mut ids = Vec::new();
    for cidr in ["10.1.0.0/24", "10.2.0.0/24", "fd00:1::/64", "fd00:2::/64"] {
        ids.push(id(&subnet(&t.admin, &net, cidr, json!({}))));
    }
    for overlapping in [
        "10.1.0.128/25",
        "10.0.0.0/8",
        "fd00:1::/80",
        "fd00:2:0:0:8000::/65",
    ] {
        let version = if overlapping.contains(':') { 6 } else { 4 };
        let r = subnet_post(
            &t.admin,
            json!({"network_id": net, "cidr": overlapping, "ip_version": version}),
        );
        assert_neutron_error(
            overlapping,
            &r,
            400,
            "InvalidInput",
            &format!("Invalid input for operation: Requested subnet with cidr: {overlapping} for network: {net} overlaps with another subnet."),
        );
    }
    let (status, shown) = neutron(&t.admin, Method::GET, &format!("/networks/{net}"), None);
    assert_eq!(status, 200);
    let mut listed: Vec<String> = shown["network"]["subnets"]
        .as_array()
        .expect("subnets")
        .iter()
        .map(|s| s.as_str().expect("id").to_string())
        .collect();
    listed.sort();
    ids.sort();
    assert_eq!(listed, ids);
    // The same CIDR on another network is fine (overlap is per network).
    let other = network(&t.admin, "other");
    subnet(&t.admin, &other, "10.1.0.0/24", json!({}));
}

/// Without `fixed_ips` a port gets one IPv4 address from the first IPv4
/// subnet with room (creation order) and one from the first IPv6 subnet;
/// with `fixed_ips` exactly what each entry asks.
#[test]
fn ports_get_one_address_per_version_or_exactly_what_they_ask() {
    let server = Server::start(&[]);
    let t = tenant(&server, "port-alloc");
    let net = network(&t.admin, "alloc");
    // A /30 has two host addresses: the gateway .1 and one for a port.
    let tiny = id(&subnet(&t.admin, &net, "10.3.0.0/30", json!({})));
    let big = id(&subnet(&t.admin, &net, "10.4.0.0/24", json!({})));
    let v6 = id(&subnet(&t.admin, &net, "fd00:4::/64", json!({})));

    let (s, first) = port(&t.admin, &net, None);
    assert_eq!(s, 201, "{first}");
    assert_eq!(
        addresses(&first),
        vec![
            (tiny.clone(), "10.3.0.2".to_string()),
            (v6.clone(), "fd00:4::2".to_string())
        ]
    );
    let (s, second) = port(&t.admin, &net, None);
    assert_eq!(s, 201, "{second}");
    assert_eq!(
        addresses(&second),
        vec![
            (big.clone(), "10.4.0.2".to_string()),
            (v6.clone(), "fd00:4::3".to_string())
        ]
    );
    let (s, two) = port(
        &t.admin,
        &net,
        Some(json!([{"subnet_id": big}, {"subnet_id": big}])),
    );
    assert_eq!(s, 201, "{two}");
    assert_eq!(
        addresses(&two),
        vec![
            (big.clone(), "10.4.0.3".to_string()),
            (big.clone(), "10.4.0.4".to_string())
        ]
    );
    let (s, chosen) = port(&t.admin, &net, Some(json!([{"ip_address": "10.4.0.50"}])));
    assert_eq!(s, 201, "{chosen}");
    assert_eq!(addresses(&chosen), vec![(big, "10.4.0.50".to_string())]);
}

/// A subnet's name, description, DHCP flag, DNS servers and host routes
/// change with one PUT (one revision); its CIDR, version and network are
/// read-only (Neutron's 400); a Reader is refused (403).
#[test]
fn subnet_update_changes_what_neutron_lets_change() {
    let server = Server::start(&[]);
    let t = tenant(&server, "subnet-put");
    let net = network(&t.admin, "put");
    let sub = subnet(
        &t.admin,
        &net,
        "10.5.0.0/24",
        json!({"dns_nameservers": ["8.8.8.8", "2001:4860:4860::8888"],
               "host_routes": [{"destination": "192.168.0.0/16", "nexthop": "10.5.0.254"}],
               "description": "first"}),
    );
    assert_eq!(
        sub["dns_nameservers"],
        json!(["8.8.8.8", "2001:4860:4860::8888"])
    );
    assert_eq!(
        sub["host_routes"],
        json!([{"destination": "192.168.0.0/16", "nexthop": "10.5.0.254"}])
    );
    assert_eq!(sub["description"], "first");
    let sid = id(&sub);
    let rev = sub["revision_number"].as_u64().expect("revision");

    let r = put(
        &t.admin,
        &sid,
        json!({"name": "renamed", "description": "second", "enable_dhcp": false,
               "dns_nameservers": ["1.1.1.1", "9.9.9.9"],
               "host_routes": [{"destination": "172.16.0.0/12", "nexthop": "10.5.0.1"},
                               {"destination": "0.0.0.0/0", "nexthop": "10.5.0.254"}]}),
    );
    assert_eq!(r.0, 200, "{}", r.1);
    let s = &r.1["subnet"];
    assert_eq!(s["name"], "renamed");
    assert_eq!(s["description"], "second");
    assert_eq!(s["enable_dhcp"], false);
    assert_eq!(s["dns_nameservers"], json!(["1.1.1.1", "9.9.9.9"]));
    assert_eq!(
        s["host_routes"],
        json!([{"destination": "172.16.0.0/12", "nexthop": "10.5.0.1"},
               {"destination": "0.0.0.0/0", "nexthop": "10.5.0.254"}])
    );
    assert_eq!(s["revision_number"].as_u64(), Some(rev + 1));
    let (_, shown) = neutron(&t.admin, Method::GET, &format!("/subnets/{sid}"), None);
    assert_eq!(&shown["subnet"], s);

    for (attr, value) in [
        ("cidr", json!("10.6.0.0/24")),
        ("ip_version", json!(6)),
        ("network_id", json!(net)),
    ] {
        let r = put(&t.admin, &sid, json!({ attr: value }));
        assert_neutron_error(
            attr,
            &r,
            400,
            "HTTPBadRequest",
            &format!("Cannot update read-only attribute {attr}"),
        );
    }
    let r = put(&t.reader, &sid, json!({"name": "reader"}));
    assert_eq!(r.0, 403, "{}", r.1);
    assert_eq!(r.1["NeutronError"]["type"], "PolicyNotAuthorized");
    let (_, after) = neutron(&t.admin, Method::GET, &format!("/subnets/{sid}"), None);
    assert_eq!(&after["subnet"], s, "refusals change nothing");
}

/// DNS servers: at most 5, no duplicates, valid addresses; host routes: at
/// most 20, of the subnet's version.
#[test]
fn dns_nameservers_and_host_routes_are_checked() {
    let server = Server::start(&[]);
    let t = tenant(&server, "subnet-dns");
    let net = network(&t.admin, "dns");
    let sid = id(&subnet(&t.admin, &net, "10.7.0.0/24", json!({})));
    let six: Vec<String> = (1..=6).map(|i| format!("10.0.0.{i}")).collect();
    assert_neutron_error(
        "six servers",
        &put(&t.admin, &sid, json!({"dns_nameservers": six})),
        400,
        "InvalidInput",
        &format!("Unable to complete operation for {sid}. The number of DNS nameservers exceeds the limit 5."),
    );
    assert_neutron_error(
        "duplicate",
        &put(
            &t.admin,
            &sid,
            json!({"dns_nameservers": ["1.1.1.1", "1.1.1.1"]}),
        ),
        400,
        "InvalidInput",
        "Invalid input for dns_nameservers. Reason: Duplicate nameserver '1.1.1.1'.",
    );
    assert_neutron_error(
        "not an address",
        &put(&t.admin, &sid, json!({"dns_nameservers": ["dns.example"]})),
        400,
        "InvalidInput",
        "Invalid input for dns_nameservers. Reason: 'dns.example' is not a valid nameserver.",
    );
    assert_neutron_error(
        "route of the other version",
        &put(
            &t.admin,
            &sid,
            json!({"host_routes": [{"destination": "fd00::/64", "nexthop": "fd00::1"}]}),
        ),
        400,
        "InvalidInput",
        "Invalid input for operation: Host route fd00::/64 via fd00::1 is not of IP version 4.",
    );
    let many: Vec<Value> = (0..21)
        .map(|i| json!({"destination": format!("192.168.{i}.0/24"), "nexthop": "10.7.0.1"}))
        .collect();
    assert_neutron_error(
        "21 routes",
        &put(&t.admin, &sid, json!({"host_routes": many})),
        400,
        "InvalidInput",
        &format!("Unable to complete operation for {sid}. The number of host routes exceeds the limit 20."),
    );
    let (_, shown) = neutron(&t.admin, Method::GET, &format!("/subnets/{sid}"), None);
    assert_eq!(shown["subnet"]["dns_nameservers"], json!([]));
    assert_eq!(shown["subnet"]["host_routes"], json!([]));
}

/// The gateway: not an address a port holds (409), not inside a pool
/// (409), `null` for none. Pools: new ones may not leave out an address in
/// use (409); a port then gets its address from the new pools.
#[test]
fn gateway_and_allocation_pool_updates_follow_neutron() {
    let server = Server::start(&[]);
    let t = tenant(&server, "subnet-gw");
    let net = network(&t.admin, "gw");
    let sid = id(&subnet(
        &t.admin,
        &net,
        "10.8.0.0/24",
        json!({"allocation_pools": [{"start": "10.8.0.10", "end": "10.8.0.20"}]}),
    ));
    let (s, p) = port(&t.admin, &net, Some(json!([{"ip_address": "10.8.0.5"}])));
    assert_eq!(s, 201, "{p}");
    let (s, pooled) = port(&t.admin, &net, None);
    assert_eq!(s, 201, "{pooled}");
    assert_eq!(addresses(&pooled)[0].1, "10.8.0.10");

    assert_neutron_error(
        "gateway held by a port",
        &put(&t.admin, &sid, json!({"gateway_ip": "10.8.0.5"})),
        409,
        "Conflict",
        "Current gateway ip 10.8.0.5 already in use by a port. Unable to update.",
    );
    assert_neutron_error(
        "gateway inside a pool",
        &put(&t.admin, &sid, json!({"gateway_ip": "10.8.0.15"})),
        409,
        "Conflict",
        "Gateway ip 10.8.0.15 conflicts with allocation pool 10.8.0.10-10.8.0.20",
    );
    let r = put(&t.admin, &sid, json!({"gateway_ip": "10.8.0.254"}));
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(r.1["subnet"]["gateway_ip"], "10.8.0.254");
    let r = put(&t.admin, &sid, json!({"gateway_ip": null}));
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(r.1["subnet"]["gateway_ip"], Value::Null);

    assert_neutron_error(
        "pools leave out 10.8.0.10",
        &put(
            &t.admin,
            &sid,
            json!({"allocation_pools": [{"start": "10.8.0.100", "end": "10.8.0.110"}]}),
        ),
        409,
        "Conflict",
        "The allocation pools of subnet gw-v4 must keep the address 10.8.0.10 in use; release it first.",
    );
    let r = put(
        &t.admin,
        &sid,
        json!({"allocation_pools": [{"start": "10.8.0.10", "end": "10.8.0.10"},
                                    {"start": "10.8.0.100", "end": "10.8.0.110"}]}),
    );
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(
        r.1["subnet"]["allocation_pools"],
        json!([{"start": "10.8.0.10", "end": "10.8.0.10"},
               {"start": "10.8.0.100", "end": "10.8.0.110"}])
    );
    let (s, next) = port(&t.admin, &net, None);
    assert_eq!(s, 201, "{next}");
    assert_eq!(addresses(&next)[0].1, "10.8.0.100");
    // The address once outside the pools (10.8.0.5) comes back into them.
    let r = put(
        &t.admin,
        &sid,
        json!({"allocation_pools": [{"start": "10.8.0.2", "end": "10.8.0.120"}]}),
    );
    assert_eq!(r.0, 200, "{}", r.1);
    let pid = p["port"]["id"].as_str().expect("id");
    let (s, _) = neutron(&t.admin, Method::DELETE, &format!("/ports/{pid}"), None);
    assert_eq!(s, 204);
    let (s, again) = port(&t.admin, &net, Some(json!([{"ip_address": "10.8.0.5"}])));
    assert_eq!(s, 201, "{again}");
}

/// IPv6 modes: Neutron's combinations and messages; on a SLAAC subnet a
/// port's address is EUI-64 from its MAC, a fixed address is refused, and
/// deleting the subnet removes the computed addresses instead of refusing.
#[test]
fn slaac_subnets_give_eui64_addresses_and_go_away_with_them() {
    let server = Server::start(&[]);
    let t = tenant(&server, "slaac");
    let net = network(&t.admin, "slaac");
    for (body, message) in [
        (
            json!({"cidr": "10.9.0.0/24", "ip_version": 4, "ipv6_ra_mode": "slaac"}),
            "Invalid input for operation: ipv6_ra_mode is not valid when ip_version is 4.",
        ),
        (
            json!({"cidr": "fd00:9::/64", "ip_version": 6, "ipv6_ra_mode": "slaac", "ipv6_address_mode": "dhcpv6-stateful"}),
            "Invalid input for operation: ipv6_ra_mode set to 'slaac' with ipv6_address_mode set to 'dhcpv6-stateful' is not valid. If both attributes are set, they must be the same value.",
        ),
        (
            json!({"cidr": "fd00:9::/64", "ip_version": 6, "ipv6_address_mode": "slaac", "enable_dhcp": false}),
            "Invalid input for operation: ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False.",
        ),
        (
            json!({"cidr": "fd00:9::/80", "ip_version": 6, "ipv6_address_mode": "slaac"}),
            "Invalid input for operation: Invalid CIDR fd00:9::/80 for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64.",
        ),
        (
            json!({"cidr": "fd00:9::/64", "ip_version": 6, "ipv6_address_mode": "eui64"}),
            "Invalid input for ipv6_address_mode. Reason: 'eui64' is not in ['dhcpv6-stateful', 'dhcpv6-stateless', 'slaac']",
        ),
    ] {
        let mut body = body;
        body["network_id"] = json!(net);
        let case = body.to_string();
        assert_neutron_error(&case, &subnet_post(&t.admin, body), 400, "InvalidInput", message);
    }
    let v4 = id(&subnet(&t.admin, &net, "10.9.0.0/24", json!({})));
    let slaac = subnet(
        &t.admin,
        &net,
        "fd00:9::/64",
        json!({"ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"}),
    );
    assert_eq!(slaac["ipv6_ra_mode"], "slaac");
    assert_eq!(slaac["ipv6_address_mode"], "slaac");
    let sl = id(&slaac);
    let r = neutron(
        &t.admin,
        Method::POST,
        "/ports",
        Some(&json!({"port": {"network_id": net, "mac_address": "fa:16:3e:12:34:56"}})),
    );
    // Choosing a MAC takes the cloud admin in a shared network only; on an
    // own network the Tenant Administrator may.
    assert_eq!(r.0, 201, "{}", r.1);
    assert_eq!(
        addresses(&r.1),
        vec![
            (v4.clone(), "10.9.0.2".to_string()),
            (sl.clone(), "fd00:9::f816:3eff:fe12:3456".to_string())
        ]
    );
    let pid = r.1["port"]["id"].as_str().expect("id").to_string();
    assert_neutron_error(
        "fixed address on SLAAC",
        &port(
            &t.admin,
            &net,
            Some(json!([{"subnet_id": sl, "ip_address": "fd00:9::5"}])),
        ),
        400,
        "InvalidInput",
        &format!("Invalid input for operation: IPv6 address fd00:9::5 cannot be directly assigned to a port on subnet {sl} as the subnet is configured for automatic addresses."),
    );
    let (s, _) = neutron(&t.admin, Method::DELETE, &format!("/subnets/{sl}"), None);
    assert_eq!(s, 204);
    let (_, shown) = neutron(&t.admin, Method::GET, &format!("/ports/{pid}"), None);
    assert_eq!(
        addresses(&shown),
        vec![(v4.clone(), "10.9.0.2".to_string())]
    );
    // A stateful subnet with a port is still refused.
    let (s, body) = neutron(&t.admin, Method::DELETE, &format!("/subnets/{v4}"), None);
    assert_eq!(s, 409, "{body}");
}

fn network_names(c: &Client) -> Vec<String> {
    let (_, list) = neutron(c, Method::GET, "/networks?router:external=false", None);
    let mut names: Vec<String> = list["networks"]
        .as_array()
        .expect("networks")
        .iter()
        .map(|n| n["name"].as_str().expect("name").to_string())
        .collect();
    names.sort();
    names
}

/// Bulk create of networks and subnets: all in one transaction or nothing
/// (a bad entry, an overlap inside the batch, the quota), at most 100.
#[test]
fn bulk_create_of_networks_and_subnets_is_all_or_nothing() {
    let server = Server::start(&[]);
    let t = tenant(&server, "bulk-net");
    let r = neutron(
        &t.admin,
        Method::POST,
        "/networks",
        Some(&json!({"networks": [{"name": "bulk-a"}, {"name": "bulk-b"}]})),
    );
    assert_eq!(r.0, 201, "{}", r.1);
    let made: Vec<String> = r.1["networks"]
        .as_array()
        .expect("networks")
        .iter()
        .map(id)
        .collect();
    assert_eq!(made.len(), 2);
    assert_eq!(r.1["networks"][1]["name"], "bulk-b");
    let before = network_names(&t.admin);
    assert_eq!(before, ["Default Network", "bulk-a", "bulk-b"]);

    let r = neutron(
        &t.admin,
        Method::POST,
        "/networks",
        Some(&json!({"networks": [{"name": "bulk-c"}, {"name": "bulk-d", "mtu": 9000}]})),
    );
    assert_neutron_error(
        "bad entry",
        &r,
        400,
        "InvalidInput",
        "Invalid input for mtu: nicplane networks have an MTU of 1500.",
    );
    let many: Vec<Value> = (0..101).map(|i| json!({"name": format!("n{i}")})).collect();
    assert_neutron_error(
        "101 networks",
        &neutron(
            &t.admin,
            Method::POST,
            "/networks",
            Some(&json!({ "networks": many })),
        ),
        400,
        "InvalidInput",
        "Invalid value for networks: 101 entries given, at most 100 are allowed.",
    );
    assert_eq!(network_names(&t.admin), before, "nothing was created");

    let r = neutron(
        &t.admin,
        Method::POST,
        "/subnets",
        Some(&json!({"subnets": [
            {"network_id": made[0], "cidr": "10.20.0.0/24", "ip_version": 4},
            {"network_id": made[0], "cidr": "fd00:20::/64", "ip_version": 6},
            {"network_id": made[1], "cidr": "10.20.0.0/24", "ip_version": 4}]})),
    );
    assert_eq!(r.0, 201, "{}", r.1);
    assert_eq!(r.1["subnets"].as_array().map(Vec::len), Some(3));
    let r = neutron(
        &t.admin,
        Method::POST,
        "/subnets",
        Some(&json!({"subnets": [
            {"network_id": made[1], "cidr": "10.21.0.0/24", "ip_version": 4},
            {"network_id": made[1], "cidr": "10.21.0.0/25", "ip_version": 4}]})),
    );
    assert_neutron_error(
        "overlap inside the batch",
        &r,
        400,
        "InvalidInput",
        &format!("Invalid input for operation: Requested subnet with cidr: 10.21.0.0/25 for network: {} overlaps with another subnet.", made[1]),
    );
    let (_, shown) = neutron(
        &t.admin,
        Method::GET,
        &format!("/networks/{}", made[1]),
        None,
    );
    assert_eq!(
        shown["network"]["subnets"].as_array().map(Vec::len),
        Some(1),
        "the first subnet of the refused batch is not kept"
    );

    // Each network of a batch is charged to the quota.
    let quota = format!("/v1/projects/{}/quotas", t.project);
    let admin = server.admin();
    let r = admin
        .raw(Method::PUT, &quota, Some(&json!({"network": 5})), &[])
        .expect("transport");
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = neutron(
        &t.admin,
        Method::POST,
        "/networks",
        Some(&json!({"networks": [{"name": "q1"}, {"name": "q2"}, {"name": "q3"}]})),
    );
    assert_neutron_error(
        "over quota",
        &r,
        409,
        "OverQuota",
        "Quota exceeded for resources: ['network'].",
    );
    assert_eq!(network_names(&t.admin), before, "nothing was created");
}

/// The native API: a network created with several subnets of a version,
/// `PATCH` of one subnet, and the overlap refused in the native shape.
#[test]
fn the_native_api_takes_several_subnets_and_changes_one() {
    let server = Server::start(&[]);
    let t = tenant(&server, "native-multi");
    let n = t
        .admin
        .network_create(
            &t.project,
            &json!({"name": "multi", "data_center_id": t.dc, "kind": "standard",
                    "subnets": [{"cidr": "10.30.0.0/24"}, {"cidr": "10.31.0.0/24"},
                                {"cidr": "fd00:30::/64", "ipv6_address_mode": "slaac", "ipv6_ra_mode": "slaac"}]}),
        )
        .expect("network");
    let cidrs: Vec<String> = n.subnets.iter().map(|s| s.cidr.to_string()).collect();
    assert_eq!(cidrs, ["10.30.0.0/24", "10.31.0.0/24", "fd00:30::/64"]);
    let sid = n.subnets[1].id.to_string();
    let s = t
        .admin
        .subnet_update(
            &t.project,
            &sid,
            &json!({"name": "second", "dns_nameservers": ["10.31.0.53"], "gateway_ip": "10.31.0.254",
                    "allocation_pools": [{"start": "10.31.0.2", "end": "10.31.0.200"}]}),
        )
        .expect("update");
    assert_eq!(s.name, "second");
    assert_eq!(
        s.dns_nameservers,
        ["10.31.0.53".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(s.gateway_ip, Some("10.31.0.254".parse().unwrap()));
    let net = n.network.id.to_string();
    assert_api_error(
        t.admin
            .subnet_create(&t.project, &net, &json!({"cidr": "10.31.0.0/16"})),
        400,
        "InvalidRequest",
        &format!("Invalid input for operation: Requested subnet with cidr: 10.31.0.0/16 for network: {net} overlaps with another subnet."),
    );
    assert_api_error(
        t.reader
            .subnet_update(&t.project, &sid, &json!({"name": "reader"})),
        403,
        "Forbidden",
        "The Tenant Reader role cannot do this; it needs the Tenant Administrator role.",
    );
}

/// `router:external` on a tenant's create or update is Neutron's policy
/// refusal (403), decided by the core. Nothing is created or changed
/// (the cloud admin's side: tests/external_networks.rs).
#[test]
fn router_external_is_cloud_admin_policy() {
    let server = Server::start(&[]);
    let t = tenant(&server, "ext");
    let before = network_names(&t.admin);
    assert_neutron_error(
        "tenant create",
        &neutron(
            &t.admin,
            Method::POST,
            "/networks",
            Some(&json!({"network": {"name": "ext", "router:external": true}})),
        ),
        403,
        "PolicyNotAuthorized",
        "Only the cloud admin can make a network external (rule:create_network:router:external is disallowed by policy).",
    );
    let net = network(&t.admin, "internal");
    assert_neutron_error(
        "tenant update",
        &neutron(
            &t.admin,
            Method::PUT,
            &format!("/networks/{net}"),
            Some(&json!({"network": {"router:external": true}})),
        ),
        403,
        "PolicyNotAuthorized",
        "Only the cloud admin can make a network external (rule:update_network:router:external is disallowed by policy).",
    );
    let (_, shown) = neutron(&t.admin, Method::GET, &format!("/networks/{net}"), None);
    assert_eq!(shown["network"]["router:external"], false);
    let mut expected = before;
    expected.push("internal".into());
    expected.sort();
    assert_eq!(network_names(&t.admin), expected);
}

/// The cloud admin adds a subnet to a data center's external network
/// through Neutron: it is a public IP pool of that data center (the same
/// object natively) and floating IPs come from it. A tenant is refused.
#[test]
fn a_subnet_of_the_external_network_is_a_public_pool() {
    let server = Server::start(&[]);
    let t = tenant(&server, "ext-pool");
    let body = json!({"subnet": {"network_id": t.dc, "cidr": "198.51.100.0/29", "ip_version": 4, "name": "more"}});
    assert_neutron_error(
        "tenant",
        &neutron(&t.admin, Method::POST, "/subnets", Some(&body)),
        403,
        "PolicyNotAuthorized",
        "Only the cloud admin can manage data centers, public IP pools, projects, users and shared networks.",
    );
    let admin = server.admin();
    let r = neutron(&admin, Method::POST, "/subnets", Some(&body));
    assert_eq!(r.0, 201, "{}", r.1);
    assert_eq!(r.1["subnet"]["network_id"], json!(t.dc));
    assert_eq!(r.1["subnet"]["cidr"], "198.51.100.0/29");
    let pools = admin.pools().expect("pools");
    let pool = pools.iter().find(|p| p.name == "more").expect("the pool");
    assert_eq!(r.1["subnet"]["id"], json!(pool.id.to_string()));
    assert_eq!(pool.cidr.to_string(), "198.51.100.0/29");
    let (_, shown) = neutron(&t.admin, Method::GET, &format!("/networks/{}", t.dc), None);
    assert!(
        shown["network"]["subnets"]
            .as_array()
            .expect("subnets")
            .contains(&json!(pool.id.to_string())),
        "{shown}"
    );
}
