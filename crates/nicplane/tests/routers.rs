//! Routers (issue 12) through the Neutron dialect: CRUD, the gateway taken
//! from the data center's public pools, interfaces by subnet and by port,
//! router ports in the port list, the floating-IP path rule, the router
//! quota, and a race for a pool's last address. Exact statuses, exception
//! types and messages; on PostgreSQL too when `NICPLANE_TEST_POSTGRES_URL`
//! is set.

mod common;

use common::neutron_helpers::*;
use common::*;
use nicplane_client::Client;
use reqwest::Method;
use serde_json::{json, Value};

/// A Neutron network with one IPv4 subnet: (network id, subnet id).
fn network(c: &Client, name: &str, cidr: &str) -> (String, String) {
    let n = ok(
        "network",
        neutron(
            c,
            Method::POST,
            "/networks",
            Some(&json!({"network": {"name": name}})),
        ),
        201,
    );
    let nid = n["network"]["id"].as_str().expect("id").to_string();
    let s = ok(
        "subnet",
        neutron(
            c,
            Method::POST,
            "/subnets",
            Some(&json!({"subnet": {"network_id": nid, "ip_version": 4, "cidr": cidr}})),
        ),
        201,
    );
    (nid, s["subnet"]["id"].as_str().expect("id").to_string())
}

fn router(c: &Client, body: Value) -> Value {
    ok(
        "router create",
        neutron(c, Method::POST, "/routers", Some(&json!({"router": body}))),
        201,
    )["router"]
        .clone()
}

fn port(c: &Client, network: &str) -> Value {
    ok(
        "port",
        neutron(
            c,
            Method::POST,
            "/ports",
            Some(&json!({"port": {"network_id": network}})),
        ),
        201,
    )["port"]
        .clone()
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

fn put_interface(c: &Client, router: &str, verb: &str, body: Value) -> (u16, Value) {
    neutron(
        c,
        Method::PUT,
        &format!("/routers/{router}/{verb}_router_interface"),
        Some(&body),
    )
}

/// A router with a gateway takes an address of the data center's pool and
/// shows it; a subnet interface takes the subnet's gateway address on a
/// `network:router_interface` port whose device is the router, listed and
/// filterable in `GET /ports` and not deletable there; the rules on
/// interfaces answer as Neutron; a router with interfaces is in use; removal
/// deletes the port; deleting the router frees its gateway address.
#[test]
fn router_lifecycle_with_gateway_and_subnet_interfaces() {
    let server = Server::start(&[]);
    let t = tenant(&server, "rt-life");
    let c = &t.admin;
    let pool = server.admin().pools().expect("pools")[0].id.to_string();

    let r = router(
        c,
        json!({"name": "edge", "external_gateway_info": {"network_id": t.dc}}),
    );
    let rid = id(&r);
    assert_eq!(r["name"], "edge");
    assert_eq!(r["status"], "ACTIVE");
    assert_eq!(r["admin_state_up"], true);
    assert_eq!(r["project_id"], json!(t.project));
    let gw = &r["external_gateway_info"];
    assert_eq!(gw["network_id"], json!(t.dc));
    assert_eq!(gw["enable_snat"], true);
    assert_eq!(gw["external_fixed_ips"][0]["subnet_id"], json!(pool));
    let gw_ip = gw["external_fixed_ips"][0]["ip_address"]
        .as_str()
        .expect("ip")
        .to_string();
    assert!(gw_ip.starts_with("203.0.113."), "{gw_ip}");

    // The gateway's address is not handed out to a floating IP.
    let fip = ok(
        "fip",
        neutron(
            c,
            Method::POST,
            "/floatingips",
            Some(&json!({"floatingip": {"floating_network_id": t.dc}})),
        ),
        201,
    );
    assert_ne!(fip["floatingip"]["floating_ip_address"], json!(gw_ip));

    let (net, sub) = network(c, "rt-a", "10.61.0.0/24");
    let added = ok(
        "add subnet",
        put_interface(c, &rid, "add", json!({"subnet_id": sub})),
        200,
    );
    assert_eq!(added["id"], json!(rid));
    assert_eq!(added["subnet_id"], json!(sub));
    assert_eq!(added["subnet_ids"], json!([sub]));
    assert_eq!(added["network_id"], json!(net));
    let rport = added["port_id"].as_str().expect("port").to_string();

    let ports = ok(
        "ports by owner",
        neutron(
            c,
            Method::GET,
            "/ports?device_owner=network:router_interface",
            None,
        ),
        200,
    );
    let list = ports["ports"].as_array().expect("ports");
    assert_eq!(list.len(), 1, "{ports}");
    assert_eq!(list[0]["id"], json!(rport));
    assert_eq!(list[0]["device_id"], json!(rid));
    assert_eq!(list[0]["fixed_ips"][0]["ip_address"], "10.61.0.1");

    assert_neutron_error(
        "port delete",
        &neutron(c, Method::DELETE, &format!("/ports/{rport}"), None),
        409,
        "Conflict",
        &format!(
            "Port {rport} cannot be deleted directly via the port API: has device owner network:router_interface."
        ),
    );
    assert_neutron_error(
        "subnet twice",
        &put_interface(c, &rid, "add", json!({"subnet_id": sub})),
        400,
        "InvalidInput",
        &format!("Bad router request: Router already has a port on subnet {sub}."),
    );
    let (_, wide) = network(c, "rt-wide", "10.61.0.0/16");
    assert_neutron_error(
        "overlap",
        &put_interface(c, &rid, "add", json!({"subnet_id": wide})),
        400,
        "InvalidInput",
        &format!(
            "Bad router request: Cidr 10.61.0.0/16 of subnet {wide} overlaps with cidr 10.61.0.0/24 of subnet {sub}."
        ),
    );
    let other = tenant(&server, "rt-other");
    let (_, foreign) = network(&other.admin, "rt-foreign", "10.62.0.0/24");
    assert_neutron_error(
        "another project's subnet",
        &put_interface(c, &rid, "add", json!({"subnet_id": foreign})),
        404,
        "SubnetNotFound",
        &format!("Subnet {foreign} could not be found."),
    );
    // `fields=` on a router's show keeps only the named attributes.
    let (status, shown) = neutron(
        c,
        Method::GET,
        &format!("/routers/{rid}?fields=name&fields=id"),
        None,
    );
    assert_eq!(status, 200, "{shown}");
    let keys: Vec<&String> = shown["router"]
        .as_object()
        .expect("router")
        .keys()
        .collect();
    assert_eq!(keys, ["id", "name"], "{shown}");
    assert_neutron_error(
        "delete in use",
        &neutron(c, Method::DELETE, &format!("/routers/{rid}"), None),
        409,
        "RouterInUse",
        &format!("Router {rid} still has ports"),
    );
    assert_neutron_error(
        "network in use",
        &neutron(c, Method::DELETE, &format!("/networks/{net}"), None),
        409,
        "NetworkInUse",
        &format!("Unable to complete operation on network {net}. There are one or more ports still in use on the network."),
    );

    // Remove: the port goes; asking again is Neutron's not-found.
    let removed = ok(
        "remove",
        put_interface(c, &rid, "remove", json!({"subnet_id": sub})),
        200,
    );
    assert_eq!(removed["port_id"], json!(rport));
    let (status, _) = neutron(c, Method::GET, &format!("/ports/{rport}"), None);
    assert_eq!(status, 404);
    assert_neutron_error(
        "remove again",
        &put_interface(c, &rid, "remove", json!({"subnet_id": sub})),
        404,
        "RouterInterfaceNotFoundForSubnet",
        &format!("Router {rid} has no interface on subnet {sub}"),
    );
    assert_neutron_error(
        "remove unknown port",
        &put_interface(c, &rid, "remove", json!({"port_id": rport})),
        404,
        "RouterInterfaceNotFound",
        &format!("Router {rid} does not have an interface with id {rport}"),
    );

    // Update: name and gateway cleared (its address goes back to the pool).
    let before = server.admin().pools().expect("pools")[0].free_addresses;
    let u = ok(
        "update",
        neutron(
            c,
            Method::PUT,
            &format!("/routers/{rid}"),
            Some(&json!({"router": {"name": "edge2", "external_gateway_info": {}}})),
        ),
        200,
    );
    assert_eq!(u["router"]["name"], "edge2");
    assert_eq!(u["router"]["external_gateway_info"], Value::Null);
    assert_eq!(
        server.admin().pools().expect("pools")[0].free_addresses,
        before + 1
    );
    ok(
        "delete",
        neutron(c, Method::DELETE, &format!("/routers/{rid}"), None),
        204,
    );
    assert_neutron_error(
        "gone",
        &neutron(c, Method::GET, &format!("/routers/{rid}"), None),
        404,
        "RouterNotFound",
        &format!("Router {rid} could not be found."),
    );
    // Readers read routers but cannot create them.
    ok(
        "reader list",
        neutron(&t.reader, Method::GET, "/routers", None),
        200,
    );
    let (status, _) = neutron(
        &t.reader,
        Method::POST,
        "/routers",
        Some(&json!({"router": {"name": "x"}})),
    );
    assert_eq!(status, 403);
    // Power users manage VMs and their interfaces, not routers.
    let (status, _) = neutron(
        &t.power,
        Method::POST,
        "/routers",
        Some(&json!({"router": {"name": "x"}})),
    );
    assert_eq!(status, 403);
}

/// An existing unbound port becomes an interface; a port a VM uses is 409.
#[test]
fn router_interface_by_port() {
    let server = Server::start(&[]);
    let t = tenant(&server, "rt-port");
    let c = &t.admin;
    let rid = id(&router(c, json!({"name": "r"})));
    let (net, sub) = network(c, "rt-p", "10.63.0.0/24");
    let p = port(c, &net);
    let pid = id(&p);
    let added = ok(
        "add port",
        put_interface(c, &rid, "add", json!({"port_id": pid})),
        200,
    );
    assert_eq!(added["port_id"], json!(pid));
    assert_eq!(added["subnet_id"], json!(sub));
    let shown = ok(
        "port",
        neutron(c, Method::GET, &format!("/ports/{pid}"), None),
        200,
    );
    assert_eq!(shown["port"]["device_owner"], "network:router_interface");
    assert_eq!(shown["port"]["device_id"], json!(rid));

    let vm = t.vm("rt-vm", "linux", true);
    let iface = t
        .power
        .interface_attach(&t.project, &vm, &net, None)
        .expect("attach");
    let r2 = id(&router(c, json!({"name": "r2"})));
    assert_neutron_error(
        "port in use",
        &put_interface(c, &r2, "add", json!({"port_id": iface.id.to_string()})),
        409,
        "Conflict",
        &format!(
            "Unable to complete operation on port {} for network {net}. Port already has an attached device {vm}.",
            iface.id
        ),
    );
    ok(
        "remove by port",
        put_interface(c, &rid, "remove", json!({"port_id": pid})),
        200,
    );
    let (status, _) = neutron(c, Method::GET, &format!("/ports/{pid}"), None);
    assert_eq!(
        status, 404,
        "Neutron deletes the port of a removed interface"
    );
}

/// The floating-IP path: a subnet on no router reaches the pools through
/// the implicit router (`router_id` null); a subnet on a router without a
/// gateway does not (404 `ExternalGatewayForFloatingIPNotFound`); with the
/// gateway it does (`router_id` the router), and then neither the interface
/// nor the gateway can be removed while the floating IP needs them.
#[test]
fn floating_ip_needs_a_path_to_the_external_network() {
    let server = Server::start(&[]);
    let t = tenant(&server, "rt-fip");
    let c = &t.admin;
    let (plain, _) = network(c, "rt-plain", "10.64.0.0/24");
    let p = port(c, &plain);
    let f = ok(
        "implicit router",
        neutron(
            c,
            Method::POST,
            "/floatingips",
            Some(&json!({"floatingip": {"floating_network_id": t.dc, "port_id": id(&p)}})),
        ),
        201,
    );
    assert_eq!(f["floatingip"]["router_id"], Value::Null);

    let rid = id(&router(c, json!({"name": "r"})));
    let (net, sub) = network(c, "rt-routed", "10.65.0.0/24");
    ok(
        "add",
        put_interface(c, &rid, "add", json!({"subnet_id": sub})),
        200,
    );
    let q = port(c, &net);
    let qid = id(&q);
    let body = json!({"floatingip": {"floating_network_id": t.dc, "port_id": qid}});
    assert_neutron_error(
        "no gateway",
        &neutron(c, Method::POST, "/floatingips", Some(&body)),
        404,
        "ExternalGatewayForFloatingIPNotFound",
        &format!(
            "External network {} is not reachable from subnet {sub}.  Therefore, cannot associate Port {qid} with a Floating IP.",
            t.dc
        ),
    );
    ok(
        "set gateway",
        neutron(
            c,
            Method::PUT,
            &format!("/routers/{rid}"),
            Some(
                &json!({"router": {"external_gateway_info": {"network_id": t.dc, "enable_snat": false}}}),
            ),
        ),
        200,
    );
    let f = ok(
        "through the router",
        neutron(c, Method::POST, "/floatingips", Some(&body)),
        201,
    );
    assert_eq!(f["floatingip"]["router_id"], json!(rid));
    let listed = ok(
        "list",
        neutron(
            c,
            Method::GET,
            &format!("/floatingips?router_id={rid}"),
            None,
        ),
        200,
    );
    assert_eq!(listed["floatingips"].as_array().expect("list").len(), 1);

    assert_neutron_error(
        "interface needed",
        &put_interface(c, &rid, "remove", json!({"subnet_id": sub})),
        409,
        "RouterInterfaceInUseByFloatingIP",
        &format!(
            "Router interface for subnet {sub} on router {rid} cannot be deleted, as it is required by one or more floating IPs."
        ),
    );
    assert_neutron_error(
        "gateway needed",
        &neutron(
            c,
            Method::PUT,
            &format!("/routers/{rid}"),
            Some(&json!({"router": {"external_gateway_info": null}})),
        ),
        409,
        "Conflict",
        &format!(
            "Gateway cannot be updated for router {rid}, since a gateway to external network {} is required by one or more floating IPs.",
            t.dc
        ),
    );
}

/// A tenant choosing the gateway's addresses is refused by policy; the
/// cloud admin chooses one, and the same address twice is 409.
#[test]
fn gateway_addresses_are_chosen_by_the_cloud_admin_only() {
    let server = Server::start(&[]);
    let t = tenant(&server, "rt-choose");
    let chosen =
        json!({"network_id": t.dc, "external_fixed_ips": [{"ip_address": "203.0.113.77"}]});
    assert_neutron_error(
        "tenant chooses",
        &neutron(
            &t.admin,
            Method::POST,
            "/routers",
            Some(&json!({"router": {"external_gateway_info": chosen}})),
        ),
        403,
        "PolicyNotAuthorized",
        "Only the cloud admin can choose the external fixed IPs of a router gateway (rule:create_router:external_gateway_info:external_fixed_ips is disallowed by policy).",
    );
    let cloud = server.admin();
    let r = ok(
        "admin chooses",
        neutron(
            &cloud,
            Method::POST,
            "/routers",
            Some(&json!({"router": {"external_gateway_info": chosen}})),
        ),
        201,
    );
    assert_eq!(
        r["router"]["external_gateway_info"]["external_fixed_ips"][0]["ip_address"],
        "203.0.113.77"
    );
    let pool = cloud.pools().expect("pools")[0].id.to_string();
    assert_neutron_error(
        "taken",
        &neutron(
            &cloud,
            Method::POST,
            "/routers",
            Some(&json!({"router": {"external_gateway_info": chosen}})),
        ),
        409,
        "IpAddressAlreadyAllocated",
        &format!("IP address 203.0.113.77 already allocated in subnet {pool}"),
    );
}

/// The router quota is Neutron's 10, charged in the creating transaction
/// and shown by the quota endpoints.
#[test]
fn router_quota_is_ten() {
    let server = Server::start(&[]);
    let t = tenant(&server, "rt-quota");
    for i in 0..10 {
        router(&t.admin, json!({"name": format!("r{i}")}));
    }
    assert_neutron_error(
        "eleventh",
        &neutron(
            &t.admin,
            Method::POST,
            "/routers",
            Some(&json!({"router": {"name": "r10"}})),
        ),
        409,
        "OverQuota",
        "Quota exceeded for resources: ['router'].",
    );
    let d = ok(
        "details",
        neutron(
            &t.admin,
            Method::GET,
            &format!("/quotas/{}/details", t.project),
            None,
        ),
        200,
    );
    assert_eq!(
        d["quota"]["router"],
        json!({"limit": 10, "used": 10, "reserved": 0})
    );
}

/// Two routers race for the last address of a data center's pool: exactly
/// one gets it, the other is refused and nothing leaks.
#[test]
fn two_routers_race_for_the_last_gateway_address() {
    let server = Server::start(&[]);
    let cloud = server.admin();
    let dc = cloud.data_center_create("rt-race-dc").expect("dc");
    cloud
        .pool_create("rt-race-pool", &dc.id.to_string(), "198.51.100.0/30")
        .expect("pool");
    let t = tenant(&server, "rt-race");
    let body = json!({"router": {"external_gateway_info": {"network_id": dc.id.to_string()}}});
    let results: Vec<(u16, Value)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let c = &t.admin;
                let b = &body;
                s.spawn(move || neutron(c, Method::POST, "/routers", Some(b)))
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    let won: Vec<_> = results.iter().filter(|r| r.0 == 201).collect();
    let lost: Vec<_> = results.iter().filter(|r| r.0 != 201).collect();
    assert_eq!(won.len(), 1, "{results:?}");
    assert_eq!(lost.len(), 1, "{results:?}");
    assert_eq!(lost[0].0, 409, "{results:?}");
    assert_eq!(
        won[0].1["router"]["external_gateway_info"]["external_fixed_ips"][0]["ip_address"],
        "198.51.100.2"
    );
    let (_, list) = neutron(&t.admin, Method::GET, "/routers", None);
    assert_eq!(
        list["routers"].as_array().expect("list").len(),
        1,
        "the loser left nothing"
    );
}

/// The native API manages routers with the same rules (roles: the Tenant
/// Administrator changes them, a Power User cannot, a Reader reads), and
/// the CLI walks through create, gateway, interfaces and delete.
#[test]
fn native_api_and_cli_manage_routers() {
    let server = Server::start(&[]);
    let t = tenant(&server, "rt-native");
    let net = t.standard_network("rt-n", "10.66.0.0/24");
    let r = t
        .admin
        .router_create(&t.project, &json!({"name": "n1", "data_center_id": t.dc}))
        .expect("router");
    let rid = r.id.to_string();
    assert!(r.gateway.is_none());
    assert_api_error(
        t.power
            .router_create(&t.project, &json!({"name": "p", "data_center_id": t.dc})),
        403,
        "Forbidden",
        "The Tenant Power User role cannot do this; it needs the Tenant Administrator role.",
    );
    let subnet = t
        .admin
        .networks(&t.project)
        .expect("networks")
        .into_iter()
        .find(|n| n.network.id.to_string() == net)
        .expect("net")
        .subnets[0]
        .id
        .to_string();
    let r = t
        .admin
        .router_add_interface(&t.project, &rid, &json!({"subnet_id": subnet}))
        .expect("add");
    assert_eq!(r.interfaces.len(), 1);
    assert_eq!(r.interfaces[0].ip_address.to_string(), "10.66.0.1");
    let read = t.reader.router(&t.project, &rid).expect("reader reads");
    assert_eq!(read.interfaces, r.interfaces);
    assert_api_error(
        t.admin.router_delete(&t.project, &rid),
        409,
        "RouterInUse",
        &format!("Router {rid} still has ports"),
    );
    let r = t
        .admin
        .router_set_gateway(&t.project, &rid, &json!({"enable_snat": false}))
        .expect("gateway");
    assert!(!r.gateway.as_ref().expect("gw").enable_snat);
    assert_eq!(r.gateway.as_ref().expect("gw").external_fixed_ips.len(), 1);
    let port = r.interfaces[0].port_id.to_string();
    t.admin
        .router_remove_interface(&t.project, &rid, &port)
        .expect("remove");
    assert!(t
        .admin
        .router(&t.project, &rid)
        .expect("router")
        .interfaces
        .is_empty());
    t.admin
        .router_clear_gateway(&t.project, &rid)
        .expect("clear");
    t.admin.router_delete(&t.project, &rid).expect("delete");

    // The CLI, once through.
    let config = temp_dir("rt-cli").join("cli.json");
    let cli = |args: &[&str]| -> String {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_nicplane"))
            .args(args)
            .env("NICPLANE_URL", &server.url)
            .env("NICPLANE_CONFIG", &config)
            .env_remove("NICPLANE_PROJECT")
            .env_remove("NICPLANE_TOKEN")
            .output()
            .expect("run cli");
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    cli(&["login", "-u", "rt-native-admin", "--password", PASSWORD]);
    cli(&["router", "create", "r-cli", "--gateway"]);
    let out = cli(&["router", "add-interface", "r-cli", "--network", "rt-n"]);
    assert!(out.contains("10.66.0.1"), "{out}");
    let out = cli(&["router", "list"]);
    assert!(out.contains("r-cli") && out.contains("10.66.0.1"), "{out}");
    cli(&["router", "remove-interface", "r-cli", "--subnet", &subnet]);
    let out = cli(&["router", "clear-gateway", "r-cli"]);
    assert!(out.contains("r-cli"), "{out}");
    cli(&["router", "delete", "r-cli"]);
    assert_eq!(cli(&["--json", "router", "list"]).trim(), "[]");
}

/// A gateway on a network the caller sees but that is not external (its
/// own project network) is Neutron's 400 `BadRequest`, on create and on
/// update, and changes nothing; another project's network and a network
/// that does not exist both stay the same 404.
#[test]
fn gateway_on_a_network_that_is_not_external() {
    let server = Server::start(&[]);
    let t = tenant(&server, "rt-notext");
    let other = tenant(&server, "rt-notext-o");
    let (own, _) = network(&t.admin, "inner", "10.61.0.0/24");
    let (theirs, _) = network(&other.admin, "theirs", "10.62.0.0/24");
    let missing = "6f1c1a7e-0000-4000-8000-000000000001";
    let create = |net: &str| {
        neutron(
            &t.admin,
            Method::POST,
            "/routers",
            Some(&json!({"router": {"external_gateway_info": {"network_id": net}}})),
        )
    };
    assert_neutron_error(
        "own network on create",
        &create(&own),
        400,
        "BadRequest",
        &format!("Bad router request: Network {own} is not an external network."),
    );
    assert_neutron_error(
        "another project's network",
        &create(&theirs),
        404,
        "NetworkNotFound",
        &format!("Network {theirs} could not be found."),
    );
    assert_neutron_error(
        "no such network",
        &create(missing),
        404,
        "NetworkNotFound",
        &format!("Network {missing} could not be found."),
    );
    let listed = ok(
        "list",
        neutron(&t.admin, Method::GET, "/routers", None),
        200,
    );
    assert_eq!(listed["routers"], json!([]), "nothing was created");

    let rid = id(&router(&t.admin, json!({"name": "r"})));
    let update = |net: &str| {
        neutron(
            &t.admin,
            Method::PUT,
            &format!("/routers/{rid}"),
            Some(&json!({"router": {"external_gateway_info": {"network_id": net}}})),
        )
    };
    assert_neutron_error(
        "own network on update",
        &update(&own),
        400,
        "BadRequest",
        &format!("Bad router request: Network {own} is not an external network."),
    );
    assert_neutron_error(
        "another project's network on update",
        &update(&theirs),
        404,
        "NetworkNotFound",
        &format!("Network {theirs} could not be found."),
    );
    let shown = ok(
        "show",
        neutron(&t.admin, Method::GET, &format!("/routers/{rid}"), None),
        200,
    );
    assert_eq!(shown["router"]["external_gateway_info"], Value::Null);
}

/// A port with several IPv4 addresses (two subnets): a floating IP's
/// `fixed_ip_address` may name any of them and the floating IP maps to that
/// one, kept when re-associated with the same port without one, changed by
/// naming another; an address the port lacks is 400 and changes nothing;
/// without it the floating IP maps to the port's first IPv4 address.
#[test]
fn floating_ip_maps_to_a_chosen_fixed_ip_of_the_port() {
    let server = Server::start(&[]);
    let t = tenant(&server, "rt-multi");
    let c = &t.admin;
    let (net, first_sub) = network(c, "rt-multi", "10.66.0.0/24");
    let second_sub = ok(
        "second subnet",
        neutron(
            c,
            Method::POST,
            "/subnets",
            Some(&json!({"subnet": {"network_id": net, "ip_version": 4, "cidr": "10.67.0.0/24"}})),
        ),
        201,
    )["subnet"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let p = ok(
        "port",
        neutron(
            c,
            Method::POST,
            "/ports",
            Some(&json!({"port": {"network_id": net, "fixed_ips": [
                {"subnet_id": first_sub, "ip_address": "10.66.0.10"},
                {"subnet_id": second_sub, "ip_address": "10.67.0.20"}]}})),
        ),
        201,
    )["port"]
        .clone();
    let pid = id(&p);
    let f = ok(
        "create on the second address",
        neutron(
            c,
            Method::POST,
            "/floatingips",
            Some(
                &json!({"floatingip": {"floating_network_id": t.dc, "port_id": pid,
                "fixed_ip_address": "10.67.0.20"}}),
            ),
        ),
        201,
    )["floatingip"]
        .clone();
    let fid = id(&f);
    assert_eq!(f["fixed_ip_address"], "10.67.0.20");
    assert_eq!(f["port_id"], json!(pid));
    let show = |case: &str| {
        ok(
            case,
            neutron(c, Method::GET, &format!("/floatingips/{fid}"), None),
            200,
        )["floatingip"]
            .clone()
    };
    assert_eq!(show("shown")["fixed_ip_address"], "10.67.0.20");
    let put = |body: Value| {
        neutron(
            c,
            Method::PUT,
            &format!("/floatingips/{fid}"),
            Some(&json!({ "floatingip": body })),
        )
    };
    let same = ok("same port", put(json!({"port_id": pid})), 200);
    assert_eq!(same["floatingip"]["fixed_ip_address"], "10.67.0.20");
    let moved = ok(
        "the first address",
        put(json!({"port_id": pid, "fixed_ip_address": "10.66.0.10"})),
        200,
    );
    assert_eq!(moved["floatingip"]["fixed_ip_address"], "10.66.0.10");
    assert_neutron_error(
        "an address the port lacks",
        &put(json!({"port_id": pid, "fixed_ip_address": "10.66.0.99"})),
        400,
        "InvalidInput",
        &format!(
            "Port {pid} does not have fixed ip 10.66.0.99; a floating IP maps to one of the port's IPv4 addresses."
        ),
    );
    assert_eq!(show("unchanged")["fixed_ip_address"], "10.66.0.10");
    let off = ok("disassociate", put(json!({"port_id": null})), 200);
    assert_eq!(off["floatingip"]["fixed_ip_address"], Value::Null);
    let back = ok("re-associate", put(json!({"port_id": pid})), 200);
    assert_eq!(back["floatingip"]["fixed_ip_address"], "10.66.0.10");
    let again = ok(
        "the second address again",
        put(json!({"port_id": pid, "fixed_ip_address": "10.67.0.20"})),
        200,
    );
    assert_eq!(again["floatingip"]["fixed_ip_address"], "10.67.0.20");
    ok("disassociate again", put(json!({"port_id": null})), 200);
    let first = ok(
        "re-associate to the first",
        put(json!({"port_id": pid})),
        200,
    );
    assert_eq!(first["floatingip"]["fixed_ip_address"], "10.66.0.10");
}
