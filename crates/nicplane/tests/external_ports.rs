//! Ports on external networks (issue 12): the cloud admin's ports there take
//! their addresses from the same allocator as floating IPs and router
//! gateways (the pools' free ranges and release queue), so no address is
//! ever held twice, even under concurrency; deleting the port frees its
//! address; a tenant cannot make one; what a port attached to nothing
//! cannot use is refused. Exact statuses, codes and messages; on PostgreSQL
//! too when `NICPLANE_TEST_POSTGRES_URL` is set.

mod common;

use common::neutron_helpers::*;
use common::*;
use nicplane_client::Client;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::{Arc, Barrier};

fn port_on(c: &Client, network: &str, fixed_ips: Option<Value>) -> (u16, Value) {
    let mut port = json!({"network_id": network, "name": "ext-port"});
    if let Some(f) = fixed_ips {
        port["fixed_ips"] = f;
    }
    neutron(c, Method::POST, "/ports", Some(&json!({ "port": port })))
}

fn free_addresses(c: &Client, pool: &str) -> u64 {
    c.pools()
        .expect("pools")
        .into_iter()
        .find(|p| p.id.to_string() == pool)
        .expect("the pool")
        .free_addresses
}

#[test]
fn a_port_on_an_external_network_takes_a_pool_address_and_deleting_it_frees_it() {
    let server = Server::start(&[]);
    let cloud = server.admin();
    let (nid, sid) = neutron_external(&cloud, "ext-port", "198.51.100.32/28");
    assert_eq!(free_addresses(&cloud, &sid), 13);
    let port = ok("port", port_on(&cloud, &nid, None), 201)["port"].clone();
    let pid = id_of(&port);
    assert_eq!(port["network_id"], json!(nid));
    assert_eq!(
        port["fixed_ips"],
        json!([{"subnet_id": sid, "ip_address": "198.51.100.34"}]),
        "the pool's first free address (its gateway .33 is never handed out)"
    );
    assert_eq!(port["device_id"], "");
    assert_eq!(port["status"], "DOWN");
    assert_eq!(free_addresses(&cloud, &sid), 12);

    // Shown and listed (on its network) like any port.
    let shown = ok(
        "show",
        neutron(&cloud, Method::GET, &format!("/ports/{pid}"), None),
        200,
    )["port"]
        .clone();
    assert_eq!(shown, port);
    let listed = ok(
        "list",
        neutron(
            &cloud,
            Method::GET,
            &format!("/ports?network_id={nid}"),
            None,
        ),
        200,
    );
    assert_eq!(listed["ports"], json!([port]));
    let renamed = ok(
        "rename",
        neutron(
            &cloud,
            Method::PUT,
            &format!("/ports/{pid}"),
            Some(&json!({"port": {"name": "renamed"}})),
        ),
        200,
    )["port"]
        .clone();
    assert_eq!(renamed["name"], "renamed");
    assert_eq!(renamed["fixed_ips"], port["fixed_ips"]);

    // The port keeps its subnet and network.
    assert_neutron_error(
        "subnet in use",
        &neutron(&cloud, Method::DELETE, &format!("/subnets/{sid}"), None),
        409,
        "Conflict",
        &format!("Unable to complete operation on subnet {sid}: One or more ports have an IP allocation from this subnet."),
    );
    assert_neutron_error(
        "network in use",
        &neutron(&cloud, Method::DELETE, &format!("/networks/{nid}"), None),
        409,
        "Conflict",
        &format!("Unable to complete operation on network {nid}. There are one or more ports still in use on the network."),
    );

    // Deleting it frees the address (at the end of the release queue) and
    // then the subnet and network go.
    let (status, _) = neutron(&cloud, Method::DELETE, &format!("/ports/{pid}"), None);
    assert_eq!(status, 204);
    assert_eq!(free_addresses(&cloud, &sid), 13);
    assert_neutron_error(
        "gone",
        &neutron(&cloud, Method::GET, &format!("/ports/{pid}"), None),
        404,
        "PortNotFound",
        &format!("Port {pid} could not be found."),
    );
    let (status, body) = neutron(&cloud, Method::DELETE, &format!("/subnets/{sid}"), None);
    assert_eq!(status, 204, "{body}");
    let (status, body) = neutron(&cloud, Method::DELETE, &format!("/networks/{nid}"), None);
    assert_eq!(status, 204, "{body}");
}

#[test]
fn floating_ips_gateways_and_ports_never_share_an_address() {
    let server = Server::start(&[]);
    let cloud = server.admin();
    let (nid, sid) = neutron_external(&cloud, "ext-share", "198.51.100.64/28");

    // A floating IP's address is not a port's: Neutron's IpAddressInUse.
    let fip = ok(
        "fip",
        neutron(
            &cloud,
            Method::POST,
            "/floatingips",
            Some(&json!({"floatingip": {"floating_network_id": nid}})),
        ),
        201,
    )["floatingip"]
        .clone();
    let fip_address = fip["floating_ip_address"].as_str().expect("address");
    assert_eq!(fip_address, "198.51.100.66");
    assert_neutron_error(
        "port on a floating IP's address",
        &port_on(
            &cloud,
            &nid,
            Some(json!([{ "ip_address": fip_address }])),
        ),
        409,
        "IpAddressInUse",
        &format!("Unable to complete operation for network {nid}. The IP address {fip_address} is in use."),
    );

    // A port's chosen address is neither a floating IP's nor a gateway's.
    let port = ok(
        "port at a chosen address",
        port_on(
            &cloud,
            &nid,
            Some(json!([{"subnet_id": sid, "ip_address": "198.51.100.70"}])),
        ),
        201,
    )["port"]
        .clone();
    assert_eq!(
        port["fixed_ips"],
        json!([{"subnet_id": sid, "ip_address": "198.51.100.70"}])
    );
    assert_neutron_error(
        "floating IP on a port's address",
        &neutron(
            &cloud,
            Method::POST,
            "/floatingips",
            Some(
                &json!({"floatingip": {"floating_network_id": nid, "floating_ip_address": "198.51.100.70"}}),
            ),
        ),
        409,
        "IpAddressAlreadyAllocated",
        &format!("IP address 198.51.100.70 already allocated in subnet {sid}"),
    );
    let gateway = |name: &str| {
        neutron(
            &cloud,
            Method::POST,
            "/routers",
            Some(&json!({"router": {"name": name, "external_gateway_info": {
                "network_id": nid, "external_fixed_ips": [{"subnet_id": sid, "ip_address": "198.51.100.70"}]}}})),
        )
    };
    assert_neutron_error(
        "gateway on a port's address",
        &gateway("r1"),
        409,
        "IpAddressAlreadyAllocated",
        &format!("IP address 198.51.100.70 already allocated in subnet {sid}"),
    );
    // Another port on it, too.
    assert_neutron_error(
        "port on a port's address",
        &port_on(
            &cloud,
            &nid,
            Some(json!([{ "ip_address": "198.51.100.70" }])),
        ),
        409,
        "IpAddressInUse",
        &format!("Unable to complete operation for network {nid}. The IP address 198.51.100.70 is in use."),
    );
    // A gateway's address is not a port's.
    let r = ok("gateway", gateway_next(&cloud, &nid), 201)["router"].clone();
    let gw_address = r["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]
        .as_str()
        .expect("gateway address")
        .to_string();
    assert_eq!(gw_address, "198.51.100.67");
    assert_neutron_error(
        "port on a gateway's address",
        &port_on(&cloud, &nid, Some(json!([{ "ip_address": gw_address }]))),
        409,
        "IpAddressInUse",
        &format!("Unable to complete operation for network {nid}. The IP address {gw_address} is in use."),
    );

    // Once the port is deleted, a gateway may take its address (the way
    // Tempest learns a free address).
    let (status, _) = neutron(
        &cloud,
        Method::DELETE,
        &format!("/ports/{}", id_of(&port)),
        None,
    );
    assert_eq!(status, 204);
    let r = ok("gateway on the freed address", gateway("r2"), 201)["router"].clone();
    assert_eq!(
        r["external_gateway_info"]["external_fixed_ips"],
        json!([{"subnet_id": sid, "ip_address": "198.51.100.70"}])
    );
}

fn gateway_next(c: &Client, network: &str) -> (u16, Value) {
    neutron(
        c,
        Method::POST,
        "/routers",
        Some(
            &json!({"router": {"name": "next", "external_gateway_info": {"network_id": network}}}),
        ),
    )
}

#[test]
fn parallel_floating_ips_ports_and_gateways_on_a_small_pool_get_distinct_addresses() {
    let server = Server::start(&[]);
    let cloud = server.admin();
    // 13 free addresses (.98 … .110), 24 takers of three kinds.
    let (nid, sid) = neutron_external(&cloud, "ext-race", "198.51.100.96/28");
    let n = 24;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let c = cloud.clone();
            let b = barrier.clone();
            let nid = nid.clone();
            std::thread::spawn(move || {
                b.wait();
                match i % 3 {
                    0 => {
                        let (s, v) = neutron(
                            &c,
                            Method::POST,
                            "/floatingips",
                            Some(&json!({"floatingip": {"floating_network_id": nid}})),
                        );
                        (s, v["floatingip"]["floating_ip_address"].clone(), v)
                    }
                    1 => {
                        let (s, v) = port_on(&c, &nid, None);
                        (s, v["port"]["fixed_ips"][0]["ip_address"].clone(), v)
                    }
                    _ => {
                        let (s, v) = gateway_next(&c, &nid);
                        (
                            s,
                            v["router"]["external_gateway_info"]["external_fixed_ips"][0]
                                ["ip_address"]
                                .clone(),
                            v,
                        )
                    }
                }
            })
        })
        .collect();
    let results: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let won: Vec<&str> = results
        .iter()
        .filter(|r| r.0 == 201)
        .map(|r| r.1.as_str().expect("an address"))
        .collect();
    assert_eq!(won.len(), 13, "every free address, once: {results:?}");
    let distinct: HashSet<&str> = won.iter().copied().collect();
    assert_eq!(distinct.len(), 13, "no address twice: {won:?}");
    for r in results.iter().filter(|r| r.0 != 201) {
        assert_neutron_error(
            "exhausted",
            &(r.0, r.2.clone()),
            409,
            "IpAddressGenerationFailure",
            "The public IP pool 198.51.100.96/28 is exhausted: no public IP address is free.",
        );
    }
    assert_eq!(free_addresses(&cloud, &sid), 0);
}

#[test]
fn a_tenant_cannot_make_see_or_delete_a_port_on_an_external_network() {
    let server = Server::start(&[]);
    let t = tenant(&server, "ext-tenant");
    let cloud = server.admin();
    let (nid, _) = neutron_external(&cloud, "ext-tenant", "198.51.100.128/28");
    assert_neutron_error(
        "tenant port",
        &port_on(&t.admin, &nid, None),
        403,
        "PolicyNotAuthorized",
        &format!("Only the cloud admin can make or change ports on external network {nid} (rule:create_port on an external network is disallowed by policy)."),
    );
    let pid = id_of(&ok("admin port", port_on(&cloud, &nid, None), 201)["port"]);
    for (case, method) in [("show", Method::GET), ("delete", Method::DELETE)] {
        assert_neutron_error(
            case,
            &neutron(&t.admin, method, &format!("/ports/{pid}"), None),
            404,
            "PortNotFound",
            &format!("Port {pid} could not be found."),
        );
    }
    let listed = ok(
        "tenant list",
        neutron(
            &t.admin,
            Method::GET,
            &format!("/ports?network_id={nid}"),
            None,
        ),
        200,
    );
    assert_eq!(listed["ports"], json!([]));
    // The cloud admin may make one in the tenant's project: its members see
    // it, but still cannot delete it.
    let theirs = ok(
        "admin port in the tenant's project",
        neutron(
            &cloud,
            Method::POST,
            "/ports",
            Some(&json!({"port": {"network_id": nid, "project_id": t.project}})),
        ),
        201,
    )["port"]
        .clone();
    assert_eq!(theirs["project_id"], json!(t.project));
    let tid = id_of(&theirs);
    ok(
        "member shows it",
        neutron(&t.reader, Method::GET, &format!("/ports/{tid}"), None),
        200,
    );
    assert_neutron_error(
        "member deletes it",
        &neutron(&t.admin, Method::DELETE, &format!("/ports/{tid}"), None),
        403,
        "PolicyNotAuthorized",
        &format!("Only the cloud admin can make or change ports on external network {nid} (rule:create_port on an external network is disallowed by policy)."),
    );
    // Its project cannot be deleted under it (its address would outlive
    // the project), then can once the port is gone.
    assert_api_error(
        cloud.project_delete(&t.project),
        409,
        "InUse",
        "Project ext-tenant still has 1 port on an external network; delete them first.",
    );
    let (status, _) = neutron(&cloud, Method::DELETE, &format!("/ports/{tid}"), None);
    assert_eq!(status, 204);
    cloud
        .project_delete(&t.project)
        .expect("the project without the port");
}

#[test]
fn a_port_on_an_external_network_refuses_what_it_cannot_use() {
    let server = Server::start(&[]);
    let cloud = server.admin();
    let (nid, sid) = neutron_external(&cloud, "ext-bad", "198.51.100.160/28");
    let (other_nid, other_sid) = neutron_external(&cloud, "ext-other", "198.51.100.176/28");
    let (empty, _) = (
        id_of(
            &ok(
                "no pools",
                neutron(
                    &cloud,
                    Method::POST,
                    "/networks",
                    Some(&json!({"network": {"name": "ext-empty", "router:external": true}})),
                ),
                201,
            )["network"],
        ),
        (),
    );
    let cases: Vec<(&str, Value, u16, &str, String)> = vec![
        (
            "attached",
            json!({"network_id": nid, "device_id": "e2a6b5b2-8c4d-4bb5-9d6f-1c1d7d6e0f00"}),
            400,
            "InvalidInput",
            "A port on an external network is attached to nothing: create it without device_id.".into(),
        ),
        (
            "security groups",
            json!({"network_id": nid, "security_groups": ["e2a6b5b2-8c4d-4bb5-9d6f-1c1d7d6e0f00"]}),
            400,
            "InvalidInput",
            format!("A port on external network {nid} is attached to nothing: it takes no security_groups, port_security_enabled, allowed_address_pairs, extra_dhcp_opts, tags or admin_state_up false."),
        ),
        (
            "subnet of another network",
            json!({"network_id": nid, "fixed_ips": [{"subnet_id": other_sid}]}),
            400,
            "InvalidInput",
            format!("Subnet {other_sid} is not a subnet of external network {nid}."),
        ),
        (
            "address outside the pools",
            json!({"network_id": nid, "fixed_ips": [{"ip_address": "198.51.100.180"}]}),
            400,
            "InvalidInput",
            "IP address 198.51.100.180 is not a valid IP for any of the subnets on the specified network.".into(),
        ),
        (
            "the pool's gateway",
            json!({"network_id": nid, "fixed_ips": [{"ip_address": "198.51.100.161"}]}),
            400,
            "InvalidInput",
            "IP address 198.51.100.161 is not a valid IP for any of the subnets on the specified network.".into(),
        ),
        (
            "a network without pools",
            json!({"network_id": empty}),
            409,
            "IpAddressGenerationFailure",
            format!("No more IP addresses available on network {empty}."),
        ),
    ];
    for (case, port, status, ty, message) in cases {
        assert_neutron_error(
            case,
            &neutron(
                &cloud,
                Method::POST,
                "/ports",
                Some(&json!({ "port": port })),
            ),
            status,
            ty,
            &message,
        );
    }
    assert_neutron_error(
        "bulk",
        &neutron(
            &cloud,
            Method::POST,
            "/ports",
            Some(&json!({"ports": [{"network_id": nid}, {"network_id": other_nid}]})),
        ),
        400,
        "InvalidInput",
        "Create ports on external networks one at a time.",
    );
    assert_neutron_error(
        "changing its addresses",
        &neutron(
            &cloud,
            Method::PUT,
            &format!(
                "/ports/{}",
                id_of(&ok("port", port_on(&cloud, &nid, None), 201)["port"])
            ),
            Some(&json!({"port": {"fixed_ips": [{"ip_address": "198.51.100.170"}]}})),
        ),
        400,
        "InvalidInput",
        "A port on an external network changes its name and description only.",
    );
    // Nothing was taken by the refusals: one port holds one address.
    assert_eq!(free_addresses(&cloud, &sid), 12);
    assert_eq!(free_addresses(&cloud, &other_sid), 13);
}

#[test]
fn a_list_by_external_network_shows_its_ports_and_the_named_routers_gateway_ports() {
    let server = Server::start(&[]);
    let cloud = server.admin();
    let (nid, sid) = neutron_external(&cloud, "ext-list", "198.51.100.192/28");
    let port = ok("port", port_on(&cloud, &nid, None), 201)["port"].clone();
    let router = ok("gateway", gateway_next(&cloud, &nid), 201)["router"].clone();
    let rid = id_of(&router);
    let gateways = ok(
        "gateway port",
        neutron(
            &cloud,
            Method::GET,
            &format!("/ports?network_id={nid}&device_id={rid}&device_owner=network:router_gateway"),
            None,
        ),
        200,
    );
    let listed = gateways["ports"].as_array().expect("ports");
    assert_eq!(listed.len(), 1, "{gateways}");
    assert_eq!(listed[0]["network_id"], json!(nid), "the gateway's network");
    assert_eq!(listed[0]["device_id"], json!(rid));
    assert_eq!(
        listed[0]["fixed_ips"],
        json!([{"subnet_id": sid, "ip_address": "198.51.100.195"}])
    );
    let all = ok(
        "ports of the network",
        neutron(
            &cloud,
            Method::GET,
            &format!("/ports?network_id={nid}"),
            None,
        ),
        200,
    );
    assert_eq!(all["ports"], json!([port]));
    // Paged: one per page, with a next link, by id.
    let page = ok(
        "page",
        neutron(
            &cloud,
            Method::GET,
            &format!("/ports?network_id={nid}&limit=1"),
            None,
        ),
        200,
    );
    assert_eq!(page["ports"], json!([port]));
    assert_neutron_error(
        "sorted otherwise",
        &neutron(
            &cloud,
            Method::GET,
            &format!("/ports?network_id={nid}&sort_key=name&sort_dir=asc"),
            None,
        ),
        400,
        "InvalidInput",
        "The ports of an external network are listed by id, ascending: give no sort_key but id and no page_reverse.",
    );
}

#[test]
fn an_ipv6_subnet_of_an_external_network_serves_ports_and_gateways_but_no_floating_ips() {
    let server = Server::start(&[]);
    let cloud = server.admin();
    let nid = id_of(
        &ok(
            "network",
            neutron(
                &cloud,
                Method::POST,
                "/networks",
                Some(&json!({"network": {"name": "ext-v6", "router:external": true}})),
            ),
            201,
        )["network"],
    );
    let subnet = |cidr: &str, version: u8| {
        neutron(
            &cloud,
            Method::POST,
            "/subnets",
            Some(
                &json!({"subnet": {"network_id": nid, "ip_version": version, "cidr": cidr, "enable_dhcp": false}}),
            ),
        )
    };
    assert_neutron_error(
        "version mismatch",
        &subnet("2001:db8:77::/64", 4),
        400,
        "InvalidInput",
        "Invalid input for operation: Cidr 2001:db8:77::/64 does not match IP version 4.",
    );
    let v6 = ok("v6 subnet", subnet("2001:db8:77::/64", 6), 201)["subnet"].clone();
    let v6_id = id_of(&v6);
    assert_eq!(v6["ip_version"], 6);
    assert_eq!(v6["gateway_ip"], "2001:db8:77::1");

    // Floating IPs are IPv4: none from a network whose pools are all IPv6.
    let fip = |address: Option<&str>| {
        let mut f = json!({"floating_network_id": nid});
        if let Some(a) = address {
            f["floating_ip_address"] = json!(a);
        }
        neutron(
            &cloud,
            Method::POST,
            "/floatingips",
            Some(&json!({ "floatingip": f })),
        )
    };
    assert_neutron_error(
        "v6 only",
        &fip(None),
        400,
        "InvalidInput",
        &format!("Bad floatingip request: Network {nid} does not contain any IPv4 subnet."),
    );
    assert_neutron_error(
        "chosen v6",
        &fip(Some("2001:db8:77::9")),
        400,
        "InvalidInput",
        "Bad floatingip request: 2001:db8:77::9 is an IPv6 address; floating IPs are IPv4.",
    );

    // A port and a gateway take its addresses, never the same one.
    let port = ok("v6 port", port_on(&cloud, &nid, None), 201)["port"].clone();
    assert_eq!(
        port["fixed_ips"],
        json!([{"subnet_id": v6_id, "ip_address": "2001:db8:77::2"}])
    );
    assert_neutron_error(
        "gateway on the port's v6 address",
        &neutron(
            &cloud,
            Method::POST,
            "/routers",
            Some(&json!({"router": {"name": "v6", "external_gateway_info": {
                "network_id": nid, "external_fixed_ips": [{"subnet_id": v6_id, "ip_address": "2001:db8:77::2"}]}}})),
        ),
        409,
        "IpAddressAlreadyAllocated",
        &format!("IP address 2001:db8:77::2 already allocated in subnet {v6_id}"),
    );
    let r = ok("v6 gateway", gateway_next(&cloud, &nid), 201)["router"].clone();
    assert_eq!(
        r["external_gateway_info"]["external_fixed_ips"],
        json!([{"subnet_id": v6_id, "ip_address": "2001:db8:77::3"}])
    );

    // With an IPv4 subnet too, floating IPs and new gateways take IPv4.
    let v4_id = id_of(&ok("v4 subnet", subnet("198.51.100.224/28", 4), 201)["subnet"]);
    let f = ok("v4 fip", fip(None), 201)["floatingip"].clone();
    assert_eq!(f["floating_ip_address"], "198.51.100.226");
    let r = ok("v4 gateway", gateway_next(&cloud, &nid), 201)["router"].clone();
    assert_eq!(
        r["external_gateway_info"]["external_fixed_ips"],
        json!([{"subnet_id": v4_id, "ip_address": "198.51.100.227"}])
    );
    let pool = cloud
        .pools()
        .expect("pools")
        .into_iter()
        .find(|p| p.id.to_string() == v6_id)
        .expect("the v6 pool");
    assert_eq!(
        pool.free_addresses,
        i64::MAX as u64 - 2,
        "an IPv6 pool counts at most 2^63 - 1 addresses"
    );
}
