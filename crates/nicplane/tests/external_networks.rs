//! External networks (issue 12): one object whichever API made it (native
//! `/v1/external-networks`, Neutron's `router:external` networks), its
//! public IP pools are its subnets, floating IPs and router gateways that
//! name it take addresses from its pools only; the `router:external`
//! policy, the flag/unflag and delete rules and the data-center check of a
//! gateway are the core's, the same on every path. Exact statuses, codes
//! and messages; on PostgreSQL too when `NICPLANE_TEST_POSTGRES_URL` is set.

mod common;

use common::neutron_helpers::*;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

/// A running VM of the tenant with an interface on a new standard network.
fn interface(t: &Tenant, name: &str, cidr: &str) -> String {
    let net = t.standard_network(name, cidr);
    let vm = t.vm(&format!("{name}-vm"), "linux", true);
    t.power
        .interface_attach(&t.project, &vm, &net, None)
        .expect("attach")
        .id
        .to_string()
}

#[test]
fn an_external_network_made_natively_is_the_neutron_network_with_its_pools() {
    let server = Server::start(&[]);
    let t = tenant(&server, "ext-native");
    let cloud = server.admin();
    let ext = cloud
        .external_network_create("ext-a", &t.dc)
        .expect("external network");
    let pool = cloud
        .pool_create_in("ext-a-pool", &ext.id.to_string(), "198.51.100.0/28")
        .expect("pool");
    assert_eq!(pool.external_network_id, ext.id);
    assert_eq!(
        cloud
            .external_network(&ext.id.to_string())
            .expect("get")
            .pool_ids,
        vec![pool.id]
    );

    // A tenant sees it through Neutron, with the pool as its subnet.
    let shown = ok(
        "show",
        neutron(
            &t.reader,
            Method::GET,
            &format!("/networks/{}", ext.id),
            None,
        ),
        200,
    )["network"]
        .clone();
    assert_eq!(shown["name"], "ext-a");
    assert_eq!(shown["router:external"], true);
    assert_eq!(shown["subnets"], json!([pool.id.to_string()]));
    let listed = ok(
        "list",
        neutron(
            &t.reader,
            Method::GET,
            "/networks?router:external=true",
            None,
        ),
        200,
    );
    let ids: Vec<&str> = listed["networks"]
        .as_array()
        .expect("networks")
        .iter()
        .map(|n| n["id"].as_str().expect("id"))
        .collect();
    assert!(ids.contains(&ext.id.to_string().as_str()), "{listed}");
    assert!(
        ids.contains(&t.dc.as_str()),
        "the default external network: {listed}"
    );
    let subnets = ok(
        "subnets",
        neutron(
            &t.reader,
            Method::GET,
            &format!("/subnets?network_id={}", ext.id),
            None,
        ),
        200,
    );
    assert_eq!(subnets["subnets"].as_array().expect("subnets").len(), 1);
    assert_eq!(subnets["subnets"][0]["id"], json!(pool.id.to_string()));
    assert_eq!(subnets["subnets"][0]["router:external"], true);
    assert_eq!(subnets["subnets"][0]["cidr"], "198.51.100.0/28");

    // A floating IP from it takes an address of its pool, natively the same.
    let fip = ok(
        "fip",
        neutron(
            &t.admin,
            Method::POST,
            "/floatingips",
            Some(&json!({"floatingip": {"floating_network_id": ext.id.to_string()}})),
        ),
        201,
    )["floatingip"]
        .clone();
    assert_eq!(fip["floating_network_id"], json!(ext.id.to_string()));
    assert_eq!(fip["floating_ip_address"], "198.51.100.2");
    let native = t.admin.public_ips(&t.project).expect("public ips");
    assert_eq!(native.len(), 1);
    assert_eq!(native[0].external_network_id, ext.id);
    assert_eq!(native[0].pool_id, pool.id);

    // It holds pools, not VM interfaces: a tenant's port on it is the
    // cloud admin's alone (403), a NIC on it is refused (400), not "not
    // found" (every project sees it). tests/external_ports.rs has the
    // cloud admin's ports there.
    let no_ports = format!(
        "Network {} is an external network: its addresses go to floating IPs, router gateways and the cloud admin's ports, not to VM interfaces.",
        ext.id
    );
    assert_neutron_error(
        "port on it",
        &neutron(
            &t.admin,
            Method::POST,
            "/ports",
            Some(&json!({"port": {"network_id": ext.id.to_string()}})),
        ),
        403,
        "PolicyNotAuthorized",
        &format!("Only the cloud admin can make or change ports on external network {} (rule:create_port on an external network is disallowed by policy).", ext.id),
    );
    let vm = t.vm("ext-vm", "linux", true);
    assert_api_error(
        t.power
            .interface_attach(&t.project, &vm, &ext.id.to_string(), None),
        400,
        "InvalidRequest",
        &no_ports,
    );
}

#[test]
fn an_external_network_made_in_neutron_is_native_and_allocates_from_its_pools_only() {
    let server = Server::start(&[]);
    let t = tenant(&server, "ext-neutron");
    let cloud = server.admin();
    let (nid, sid) = neutron_external(&cloud, "ext-b", "192.0.2.0/29");
    let native = cloud.external_network(&nid).expect("native view");
    assert_eq!(native.name, "ext-b");
    assert_eq!(native.data_center_id.to_string(), t.dc);
    assert_eq!(native.pool_ids.len(), 1);
    assert_eq!(native.pool_ids[0].to_string(), sid);
    let pool = cloud
        .pools()
        .expect("pools")
        .into_iter()
        .find(|p| p.id.to_string() == sid)
        .expect("the subnet is a pool");
    assert_eq!(
        pool.name, "192.0.2.0/29",
        "an unnamed subnet is named after its CIDR"
    );

    // Natively, the tenant allocates from that network by name of its id;
    // without a network the data center's default pools answer, as before.
    let first = interface(&t, "alloc-a", "10.20.1.0/24");
    let ip = t
        .admin
        .public_ip_allocate_from(&t.project, &first, &nid)
        .expect("allocate from the external network");
    assert_eq!(ip.address.to_string(), "192.0.2.2");
    assert_eq!(ip.external_network_id.to_string(), nid);
    let second = interface(&t, "alloc-b", "10.20.2.0/24");
    let ip = t
        .admin
        .public_ip_allocate(&t.project, &second)
        .expect("allocate");
    assert_eq!(ip.external_network_id.to_string(), t.dc);
    assert!(ip.address.to_string().starts_with("203.0.113."), "{ip:?}");

    // Its pools hand out /29's hosts 2..6 and then are exhausted: the
    // default pools are never used for it.
    for want in ["192.0.2.3", "192.0.2.4", "192.0.2.5", "192.0.2.6"] {
        let f = ok(
            "fip",
            neutron(
                &t.admin,
                Method::POST,
                "/floatingips",
                Some(&json!({"floatingip": {"floating_network_id": nid}})),
            ),
            201,
        );
        assert_eq!(f["floatingip"]["floating_ip_address"], want);
    }
    let r = neutron(
        &t.admin,
        Method::POST,
        "/floatingips",
        Some(&json!({"floatingip": {"floating_network_id": nid}})),
    );
    assert_eq!(r.0, 409, "{}", r.1);
    assert_eq!(r.1["NeutronError"]["type"], "IpAddressGenerationFailure");
}

#[test]
fn router_external_is_the_cloud_admins_and_flagging_follows_the_cores_rules() {
    let server = Server::start(&[]);
    let t = tenant(&server, "ext-flag");
    let cloud = server.admin();
    // A tenant, natively too: the same policy refusal.
    assert_api_error(
        t.admin.external_network_create("mine", &t.dc),
        403,
        "Forbidden",
        "Only the cloud admin can make a network external (rule:create_network:router:external is disallowed by policy).",
    );

    // The cloud admin flags its own bare network: same id, now external.
    let bare = ok(
        "bare",
        neutron(
            &cloud,
            Method::POST,
            "/networks",
            Some(&json!({"network": {"name": "bare"}})),
        ),
        201,
    )["network"]
        .clone();
    assert_eq!(bare["router:external"], false);
    let bid = id_of(&bare);
    let flagged = ok(
        "flag",
        neutron(
            &cloud,
            Method::PUT,
            &format!("/networks/{bid}"),
            Some(&json!({"network": {"router:external": true}})),
        ),
        200,
    )["network"]
        .clone();
    assert_eq!(flagged["id"], json!(bid));
    assert_eq!(flagged["router:external"], true);
    assert_eq!(cloud.external_network(&bid).expect("native").name, "bare");

    // A network with a subnet cannot become external.
    let with_subnet = ok(
        "net",
        neutron(
            &cloud,
            Method::POST,
            "/networks",
            Some(&json!({"network": {"name": "full"}})),
        ),
        201,
    )["network"]
        .clone();
    let fid = id_of(&with_subnet);
    ok(
        "subnet",
        neutron(
            &cloud,
            Method::POST,
            "/subnets",
            Some(&json!({"subnet": {"network_id": fid, "ip_version": 4, "cidr": "10.30.0.0/24"}})),
        ),
        201,
    );
    assert_neutron_error(
        "flag with subnet",
        &neutron(
            &cloud,
            Method::PUT,
            &format!("/networks/{fid}"),
            Some(&json!({"network": {"router:external": true}})),
        ),
        409,
        "Conflict",
        &format!(
            "Network {fid} has subnets or ports; only a network without them can become external."
        ),
    );

    // Unflagging: refused while it holds pools, then allowed.
    let pool = cloud
        .pool_create_in("bare-pool", &bid, "198.51.100.16/29")
        .expect("pool");
    assert_neutron_error(
        "unflag with pool",
        &neutron(
            &cloud,
            Method::PUT,
            &format!("/networks/{bid}"),
            Some(&json!({"network": {"router:external": false}})),
        ),
        409,
        "Conflict",
        &format!(
            "External network {bid} still has 1 public IP pools (subnets); delete them first."
        ),
    );
    cloud
        .pool_delete(&pool.id.to_string())
        .expect("pool delete");
    let back = ok(
        "unflag",
        neutron(
            &cloud,
            Method::PUT,
            &format!("/networks/{bid}"),
            Some(&json!({"network": {"router:external": false}})),
        ),
        200,
    )["network"]
        .clone();
    assert_eq!(back["id"], json!(bid));
    assert_eq!(back["router:external"], false);
    assert_api_error(
        cloud.external_network(&bid),
        404,
        "NotFound",
        &format!("Network {bid} could not be found."),
    );
    // The data center's default external network holds the bootstrap pool.
    assert_neutron_error(
        "unflag the default",
        &neutron(
            &cloud,
            Method::PUT,
            &format!("/networks/{}", t.dc),
            Some(&json!({"network": {"router:external": false}})),
        ),
        409,
        "Conflict",
        &format!(
            "External network {} still has 1 public IP pools (subnets); delete them first.",
            t.dc
        ),
    );

    // Tenants see external networks but cannot change them.
    assert_neutron_error(
        "tenant rename",
        &neutron(
            &t.admin,
            Method::PUT,
            &format!("/networks/{}", t.dc),
            Some(&json!({"network": {"name": "mine"}})),
        ),
        403,
        "PolicyNotAuthorized",
        "Only the cloud admin can manage data centers, public IP pools, projects, users and shared networks.",
    );
    assert_neutron_error(
        "tenant delete",
        &neutron(&t.admin, Method::DELETE, &format!("/networks/{}", t.dc), None),
        403,
        "PolicyNotAuthorized",
        "Only the cloud admin can manage data centers, public IP pools, projects, users and shared networks.",
    );
    assert_neutron_error(
        "tenant unflag",
        &neutron(
            &t.admin,
            Method::PUT,
            &format!("/networks/{}", t.dc),
            Some(&json!({"network": {"router:external": false}})),
        ),
        403,
        "PolicyNotAuthorized",
        "Only the cloud admin can make a network external (rule:update_network:router:external is disallowed by policy).",
    );
}

#[test]
fn a_gateway_on_a_chosen_external_network_takes_its_pools_and_a_used_address_is_409() {
    let server = Server::start(&[]);
    let t = tenant(&server, "ext-gw");
    let cloud = server.admin();
    let (nid, sid) = neutron_external(&cloud, "ext-gw", "198.51.100.32/28");
    let r = ok(
        "router with chosen ip",
        neutron(
            &cloud,
            Method::POST,
            "/routers",
            Some(&json!({"router": {"name": "r1", "external_gateway_info": {
                "network_id": nid, "external_fixed_ips": [{"subnet_id": sid, "ip_address": "198.51.100.40"}]}}})),
        ),
        201,
    )["router"]
        .clone();
    assert_eq!(r["external_gateway_info"]["network_id"], json!(nid));
    assert_eq!(
        r["external_gateway_info"]["external_fixed_ips"],
        json!([{"subnet_id": sid, "ip_address": "198.51.100.40"}])
    );
    assert_neutron_error(
        "used address",
        &neutron(
            &cloud,
            Method::POST,
            "/routers",
            Some(&json!({"router": {"name": "r2", "external_gateway_info": {
                "network_id": nid, "external_fixed_ips": [{"ip_address": "198.51.100.40"}]}}})),
        ),
        409,
        "IpAddressAlreadyAllocated",
        &format!("IP address 198.51.100.40 already allocated in subnet {sid}"),
    );
    // An address of another external network's pool is not one of this one.
    assert_neutron_error(
        "address of another network",
        &neutron(
            &cloud,
            Method::POST,
            "/routers",
            Some(&json!({"router": {"name": "r3", "external_gateway_info": {
                "network_id": nid, "external_fixed_ips": [{"ip_address": "203.0.113.77"}]}}})),
        ),
        400,
        "InvalidInput",
        "IP address 203.0.113.77 is not a valid IP for any of the subnets on the specified network.",
    );
    // A tenant's gateway on it gets the next address of its pool.
    let tr = ok(
        "tenant router",
        neutron(
            &t.admin,
            Method::POST,
            "/routers",
            Some(&json!({"router": {"name": "t1", "external_gateway_info": {"network_id": nid}}})),
        ),
        201,
    )["router"]
        .clone();
    assert_eq!(tr["external_gateway_info"]["network_id"], json!(nid));
    assert_eq!(
        tr["external_gateway_info"]["external_fixed_ips"][0]["ip_address"],
        "198.51.100.34"
    );
    // Unflagging while a gateway uses it: Neutron's ExternalNetworkInUse.
    assert_neutron_error(
        "unflag with gateway",
        &neutron(
            &cloud,
            Method::PUT,
            &format!("/networks/{nid}"),
            Some(&json!({"network": {"router:external": false}})),
        ),
        409,
        "Conflict",
        &format!("External network {nid} cannot be updated to be made non-external, since it has existing gateway ports."),
    );
}

#[test]
fn a_gateway_or_floating_ip_of_another_data_center_is_refused_in_the_core() {
    let server = Server::start(&[]);
    let t = tenant(&server, "ext-dc");
    let cloud = server.admin();
    let dc2 = cloud.data_center_create("ext-dc2").expect("dc2");
    let far = cloud
        .external_network_create("far", &dc2.id.to_string())
        .expect("far");
    cloud
        .pool_create_in("far-pool", &far.id.to_string(), "198.51.100.64/28")
        .expect("pool");
    let message = format!(
        "Bad router request: external network {} is in availability zone {}, the router in {}.",
        far.id, dc2.id, t.dc
    );
    // Native: a router of the first data center with a gateway there.
    assert_api_error(
        t.admin.router_create(
            &t.project,
            &json!({"name": "r", "data_center_id": t.dc, "gateway": {"network_id": far.id.to_string()}}),
        ),
        400,
        "InvalidRequest",
        &message,
    );
    // Neutron: the router's zone named, its gateway in another.
    let dc_name = cloud.data_centers().expect("dcs")[0].name.clone();
    assert_neutron_error(
        "neutron create",
        &neutron(
            &t.admin,
            Method::POST,
            "/routers",
            Some(
                &json!({"router": {"name": "r", "availability_zone_hints": [dc_name],
                "external_gateway_info": {"network_id": far.id.to_string()}}}),
            ),
        ),
        400,
        "InvalidInput",
        &message,
    );
    let r = ok(
        "router",
        neutron(
            &t.admin,
            Method::POST,
            "/routers",
            Some(&json!({"router": {"name": "r"}})),
        ),
        201,
    )["router"]
        .clone();
    assert_neutron_error(
        "neutron update",
        &neutron(
            &t.admin,
            Method::PUT,
            &format!("/routers/{}", id_of(&r)),
            Some(&json!({"router": {"external_gateway_info": {"network_id": far.id.to_string()}}})),
        ),
        400,
        "InvalidInput",
        &message,
    );
    assert!(t
        .admin
        .routers(&t.project)
        .expect("routers")
        .iter()
        .all(|r| r.gateway.is_none()));
    // A public IP for an interface of the first data center from there.
    let iface = interface(&t, "dc-a", "10.40.0.0/24");
    assert_api_error(
        t.admin
            .public_ip_allocate_from(&t.project, &iface, &far.id.to_string()),
        400,
        "InvalidRequest",
        &format!("Network interface {iface} is in another data center than the public IP pool."),
    );
    assert!(t.admin.public_ips(&t.project).expect("ips").is_empty());
}

#[test]
fn deleting_an_external_network_takes_its_free_floating_ips_and_pools_but_not_used_ones() {
    let server = Server::start(&[]);
    let t = tenant(&server, "ext-del");
    let cloud = server.admin();

    // Unassociated floating IPs go with it, as its subnets do (Neutron).
    let (nid, sid) = neutron_external(&cloud, "ext-del", "198.51.100.80/29");
    let fip = ok(
        "fip",
        neutron(
            &t.admin,
            Method::POST,
            "/floatingips",
            Some(&json!({"floatingip": {"floating_network_id": nid}})),
        ),
        201,
    )["floatingip"]
        .clone();
    assert_eq!(fip["port_id"], Value::Null);
    assert_neutron_error(
        "pool delete while held",
        &neutron(&cloud, Method::DELETE, &format!("/subnets/{sid}"), None),
        409,
        "Conflict",
        &format!("Unable to complete operation on subnet {sid}: One or more ports have an IP allocation from this subnet."),
    );
    ok(
        "delete",
        neutron(&cloud, Method::DELETE, &format!("/networks/{nid}"), None),
        204,
    );
    assert!(t.admin.public_ips(&t.project).expect("ips").is_empty());
    assert!(cloud
        .pools()
        .expect("pools")
        .iter()
        .all(|p| p.id.to_string() != sid));
    assert_api_error(
        cloud.external_network(&nid),
        404,
        "NotFound",
        &format!("Network {nid} could not be found."),
    );

    // A floating IP on a port keeps it.
    let (nid, _) = neutron_external(&cloud, "ext-used", "198.51.100.88/29");
    let iface = interface(&t, "del-a", "10.50.0.0/24");
    t.admin
        .public_ip_allocate_from(&t.project, &iface, &nid)
        .expect("allocate");
    let in_use = format!(
        "Unable to complete operation on network {nid}. There are one or more ports still in use on the network."
    );
    assert_neutron_error(
        "delete with associated fip",
        &neutron(&cloud, Method::DELETE, &format!("/networks/{nid}"), None),
        409,
        "Conflict",
        &in_use,
    );
    assert_api_error(cloud.external_network_delete(&nid), 409, "InUse", &in_use);
    t.admin
        .public_ip_release(&t.project, &iface)
        .expect("release");

    // So does a router gateway.
    let r = ok(
        "router",
        neutron(
            &t.admin,
            Method::POST,
            "/routers",
            Some(&json!({"router": {"name": "g", "external_gateway_info": {"network_id": nid}}})),
        ),
        201,
    )["router"]
        .clone();
    assert_neutron_error(
        "delete with gateway",
        &neutron(&cloud, Method::DELETE, &format!("/networks/{nid}"), None),
        409,
        "Conflict",
        &in_use,
    );
    ok(
        "router delete",
        neutron(
            &t.admin,
            Method::DELETE,
            &format!("/routers/{}", id_of(&r)),
            None,
        ),
        204,
    );
    cloud
        .external_network_delete(&nid)
        .expect("delete natively");
    assert!(cloud
        .external_networks()
        .expect("list")
        .iter()
        .all(|n| n.id.to_string() != nid));
}

/// Public IP pools never overlap, across external networks too. Neutron sees
/// a pool as a subnet, so it hears that refusal as an overlapping subnet
/// (400 `InvalidInput`, Neutron's words), whether or not the subnet has a
/// name (an unnamed pool is named after its CIDR: the overlap is checked
/// before the name); the next CIDR is taken, as Tempest's `create_subnet`
/// tries it.
#[test]
fn an_external_subnet_overlapping_another_networks_pool_is_neutrons_overlap() {
    let server = Server::start(&[]);
    let admin = server.admin();
    neutron_external(&admin, "ext-a", "198.18.10.0/28");
    let (s, b) = neutron(
        &admin,
        Method::POST,
        "/networks",
        Some(&json!({"network": {"name": "ext-b", "router:external": true}})),
    );
    assert_eq!(s, 201, "{b}");
    let b = id_of(&b["network"]);
    for name in [None, Some("ext-b-v4")] {
        let mut subnet = json!({"network_id": b, "cidr": "198.18.10.0/28", "ip_version": 4});
        if let Some(n) = name {
            subnet["name"] = json!(n);
        }
        assert_neutron_error(
            &format!("overlap, name {name:?}"),
            &neutron(
                &admin,
                Method::POST,
                "/subnets",
                Some(&json!({ "subnet": subnet })),
            ),
            400,
            "InvalidInput",
            &format!("Invalid input for operation: Requested subnet with cidr: 198.18.10.0/28 for network: {b} overlaps with another subnet."),
        );
    }
    let (s, made) = neutron(
        &admin,
        Method::POST,
        "/subnets",
        Some(&json!({"subnet": {"network_id": b, "cidr": "198.18.10.16/28", "ip_version": 4}})),
    );
    assert_eq!(s, 201, "{made}");
    assert_eq!(made["subnet"]["cidr"], "198.18.10.16/28");
}
