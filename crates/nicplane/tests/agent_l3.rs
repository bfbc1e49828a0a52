//! The agent's L3 part against the real server, in real network namespaces:
//! routers join their networks, public IPs are 1:1 NAT reachable from the
//! external namespace (ping and TCP) until released, the implicit router of
//! a project gives an unattached network its gateway and public IPs without
//! joining the project's networks, and a restarted agent converges (no
//! change without drift; a deleted router's namespace goes; a flushed NAT
//! table comes back).
//!
//! Needs root, `ping`, `nft` (nftables) and `python3` (the TCP listener and
//! client run inside the namespaces); scripts/dataplane-deps.sh installs the
//! first two. Every test uses its own prefix, removed at the end (the
//! `Prefix` guard), and sends traffic only among the namespaces it made.

mod common;

use common::dataplane::*;
use common::tenant;
use common::Tenant;
use reqwest::Method;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};

/// Root (else the test says it is skipped), with `nft` and `python3`.
fn ready(test: &str) -> bool {
    if !root_or_skip(test) {
        return false;
    }
    for (tool, arg, package) in [
        ("nft", "--version", "nftables (scripts/dataplane-deps.sh)"),
        ("python3", "--version", "python3"),
    ] {
        assert!(
            Command::new(tool).arg(arg).output().is_ok(),
            "{tool} is missing: install {package}"
        );
    }
    true
}

/// A standard network with one IPv4 subnet: (network id, subnet id).
fn network(t: &Tenant, name: &str, cidr: &str) -> (String, String) {
    let n = t
        .admin
        .network_create(
            &t.project,
            &json!({"name": name, "data_center_id": t.dc, "kind": "standard",
                    "subnets": [{"cidr": cidr}]}),
        )
        .expect("network");
    (n.network.id.to_string(), n.subnets[0].id.to_string())
}

/// A running VM whose primary interface is on `net` (created through Nova,
/// which takes the network): (VM id, primary interface id, its IPv4).
fn vm_on(t: &Tenant, name: &str, net: &str) -> (String, String, String) {
    let token = t.admin.token().expect("token").to_string();
    let r = t
        .admin
        .raw(
            Method::POST,
            "/compute/v2.1/servers",
            Some(
                &json!({"server": {"name": name, "imageRef": "cirros", "flavorRef": "1",
                                    "networks": [{"uuid": net}]}}),
            ),
            &[("X-Auth-Token", &token)],
        )
        .expect("nova");
    assert_eq!(r.status, 202, "{}", r.body);
    let vm = r.body["server"]["id"].as_str().expect("id").to_string();
    let primary = &t.admin.vm(&t.project, &vm).expect("vm").interfaces[0];
    let ip = primary
        .fixed_ips
        .iter()
        .find(|f| f.ip_address.is_ipv4())
        .expect("IPv4")
        .ip_address
        .to_string();
    (vm, primary.id.to_string(), ip)
}

/// Open ICMP and the test's TCP ports (8080–8099) from anywhere in the
/// project's default security group: Neutron's default group admits
/// ingress only from its members, so a data plane that enforces security
/// groups (tests/agent_sg.rs) would drop the external namespace's traffic
/// to a public IP without these rules.
fn open_ingress(t: &Tenant) {
    let groups = t.admin.security_groups(&t.project).expect("groups");
    let default = groups
        .iter()
        .find(|g| g.name == "default")
        .expect("the default group");
    for rule in [
        json!({"direction": "ingress", "ethertype": "IPv4", "protocol": "icmp",
               "remote_ip_prefix": "0.0.0.0/0"}),
        json!({"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
               "port_range_min": 8080, "port_range_max": 8099, "remote_ip_prefix": "0.0.0.0/0"}),
    ] {
        let _: Value = t
            .admin
            .post(
                &format!(
                    "/v1/projects/{}/security-groups/{}/rules",
                    t.project, default.id
                ),
                &rule,
            )
            .expect("security group rule");
    }
}

fn router_ns(s: &Setup, router: &str) -> String {
    format!("{}-r-{}", s.prefix.0, short(router))
}

fn ext_ns(s: &Setup) -> String {
    format!("{}-ext", s.prefix.0)
}

fn wait_active(t: &Tenant, iface: &str) {
    wait_until("the interface is active", || {
        native_status(&t.admin, &t.project, iface) == "active"
    });
}

/// A one-connection TCP listener in `ns` on `port`: it writes the peer's
/// address to the client and exits (20 s at most).
fn listener(ns: &str, port: u16) -> Child {
    let code = format!(
        "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
         s.bind(('0.0.0.0',{port}))\ns.listen(1)\ns.settimeout(20)\nc,a=s.accept()\n\
         c.sendall(a[0].encode())\nc.close()\n"
    );
    Command::new("ip")
        .args(["netns", "exec", ns, "python3", "-c", &code])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 listener")
}

/// Connect from `ns` to `addr:port` (retrying a refused connection while
/// the listener starts, 100 times at most); the peer address the listener
/// saw, or the error.
fn connect(ns: &str, addr: &str, port: u16) -> String {
    let code = format!(
        "import socket,time\nfor i in range(100):\n  try:\n    \
         c=socket.create_connection(('{addr}',{port}),timeout=2)\n    break\n  \
         except ConnectionRefusedError:\n    time.sleep(0.1)\nelse:\n  print('refused'); raise SystemExit\n\
         print(c.recv(100).decode())\n"
    );
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "python3", "-c", &code])
        .output()
        .expect("python3 client");
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if out.status.success() {
        text
    } else {
        format!("error: {}", String::from_utf8_lossy(&out.stderr).trim())
    }
}

/// The peer address a TCP listener in `listen_ns` sees when `connect_ns`
/// connects to `addr`.
fn tcp_peer(listen_ns: &str, connect_ns: &str, addr: &str, port: u16) -> String {
    let mut l = listener(listen_ns, port);
    let seen = connect(connect_ns, addr, port);
    let _ = l.kill();
    let _ = l.wait();
    seen
}

fn global_addrs(ns: &str, dev: &str) -> Vec<String> {
    let mut v: Vec<String> = addrs(&link(ns, dev).unwrap_or(Value::Null))
        .into_iter()
        .collect();
    v.sort();
    v
}

#[test]
fn two_vms_on_two_networks_of_one_router_reach_each_other_through_it() {
    if !ready("two_vms_on_two_networks_of_one_router…") {
        return;
    }
    let s = setup(&[]);
    let t = tenant(&s.server, "l3-r");
    let (net_a, sub_a) = network(&t, "a", "10.71.0.0/24");
    let (net_b, sub_b) = network(&t, "b", "10.72.0.0/24");
    let (net_c, _) = network(&t, "c", "10.73.0.0/24");
    let r = t
        .admin
        .router_create(&t.project, &json!({"name": "r1", "data_center_id": t.dc}))
        .expect("router");
    let rid = r.id.to_string();
    let mut subnets = vec![sub_a, sub_b];
    for (net, cidr) in [(&net_a, "fd71::/64"), (&net_b, "fd72::/64")] {
        let v6 = t
            .admin
            .subnet_create(&t.project, net, &json!({"cidr": cidr}))
            .expect("IPv6 subnet");
        subnets.push(v6.id.to_string());
    }
    // Two router ports on each network (IPv4, IPv6): one link per network.
    for sub in &subnets {
        t.admin
            .router_add_interface(&t.project, &rid, &json!({"subnet_id": sub}))
            .expect("router interface");
    }
    let (vm1, i1, ip1) = vm_on(&t, "vm1", &net_a);
    let (vm2, i2, ip2) = vm_on(&t, "vm2", &net_b);
    let (vm3, i3, ip3) = vm_on(&t, "vm3", &net_c);
    for i in [&i1, &i2, &i3] {
        wait_active(&t, i);
    }
    let (ns1, ns2, ns3) = (
        vm_ns(&s.prefix, &vm1),
        vm_ns(&s.prefix, &vm2),
        vm_ns(&s.prefix, &vm3),
    );
    wait_until("vm1 reaches vm2 through the router", || ping(&ns1, &ip2));
    assert!(ping(&ns2, &ip1), "vm2 reaches vm1 at {ip1}");
    let v6 = |i: &str| {
        fixed_ips(&t.admin, &t.project, i)
            .into_iter()
            .find(|a| a.contains(':'))
            .expect("IPv6")
    };
    let (ip1_v6, ip2_v6) = (v6(&i1), v6(&i2));
    // New links finish IPv6 duplicate address detection of their link-local
    // addresses (which neighbour discovery needs) a moment after IPv4 works.
    wait_until("vm1 reaches vm2 over IPv6", || ping(&ns1, &ip2_v6));
    assert!(ping(&ns2, &ip1_v6), "vm2 reaches vm1 at {ip1_v6}");
    // The router holds the subnets' gateways, forwarding on inside it.
    let rns = router_ns(&s, &rid);
    assert_eq!(
        global_addrs(&rns, &format!("qr-{}", short(&net_a))),
        vec!["10.71.0.1/24", "fd71::1/64"]
    );
    assert_eq!(
        global_addrs(&rns, &format!("qr-{}", short(&net_b))),
        vec!["10.72.0.1/24", "fd72::1/64"]
    );
    let fwd = Command::new("ip")
        .args(["netns", "exec", &rns, "sysctl", "-n", "net.ipv4.ip_forward"])
        .output()
        .expect("sysctl");
    assert_eq!(String::from_utf8_lossy(&fwd.stdout).trim(), "1");
    // A network the router does not connect (it has the implicit router,
    // which joins no networks) is not reached, either way.
    assert!(!ping(&ns1, &ip3), "vm1 does not reach vm3 at {ip3}");
    assert!(!ping(&ns3, &ip1), "vm3 does not reach vm1 at {ip1}");
    drop(s.agent);
}

#[test]
fn a_public_ip_is_reachable_from_the_external_namespace_until_released_and_the_next_one_works() {
    if !ready("a_public_ip_is_reachable…") {
        return;
    }
    let s = setup(&[]);
    let t = tenant(&s.server, "l3-p");
    let (net, sub) = network(&t, "web", "10.74.0.0/24");
    let r = t
        .admin
        .router_create(
            &t.project,
            &json!({"name": "r1", "data_center_id": t.dc, "gateway": {}}),
        )
        .expect("router");
    let rid = r.id.to_string();
    let gateway = r.gateway.expect("gateway").external_fixed_ips[0]
        .ip_address
        .to_string();
    t.admin
        .router_add_interface(&t.project, &rid, &json!({"subnet_id": sub}))
        .expect("router interface");
    let (vm1, i1, _) = vm_on(&t, "vm1", &net);
    let (vm2, i2, _) = vm_on(&t, "vm2", &net);
    open_ingress(&t);
    let first = t
        .admin
        .public_ip_allocate(&t.project, &i1)
        .expect("public IP")
        .address
        .to_string();
    wait_active(&t, &i1);
    wait_active(&t, &i2);
    let ext = ext_ns(&s);
    let (ns1, ns2) = (vm_ns(&s.prefix, &vm1), vm_ns(&s.prefix, &vm2));
    // The external namespace holds the pool's gateway (its first host).
    wait_until("the external namespace pings the public IP", || {
        ping(&ext, &first)
    });
    assert_eq!(
        global_addrs(&ext, &format!("x-{}", short(&t.dc))),
        vec!["203.0.113.1/24"]
    );
    // DNAT: the VM sees the external address; SNAT: the outside sees the
    // public IP, and a VM without one leaves as the router's gateway.
    assert_eq!(tcp_peer(&ns1, &ext, &first, 8081), "203.0.113.1");
    assert_eq!(tcp_peer(&ext, &ns1, "203.0.113.1", 8082), first);
    assert_eq!(tcp_peer(&ext, &ns2, "203.0.113.1", 8083), gateway);

    t.admin.public_ip_release(&t.project, &i1).expect("release");
    wait_until("the released address no longer answers", || {
        !ping(&ext, &first)
    });
    let second = t
        .admin
        .public_ip_allocate(&t.project, &i1)
        .expect("public IP again")
        .address
        .to_string();
    assert_ne!(second, first, "release is permanent");
    wait_until("the next public IP answers", || ping(&ext, &second));
    assert_eq!(tcp_peer(&ns1, &ext, &second, 8085), "203.0.113.1");
    assert!(!ping(&ext, &first), "the first stays unreachable");
    drop(s.agent);
}

#[test]
fn the_implicit_router_gives_an_unattached_network_its_gateway_and_public_ip_but_joins_no_networks()
{
    if !ready("the_implicit_router…") {
        return;
    }
    let s = setup(&[]);
    let t = tenant(&s.server, "l3-i");
    // The console guide's way: a VM on the project's Default Network and a
    // public IP on its primary interface, no router anywhere.
    let vm1 = t.vm("vm1", "linux", true);
    open_ingress(&t);
    let primary = &t.admin.vm(&t.project, &vm1).expect("vm").interfaces[0];
    let i1 = primary.id.to_string();
    let default_net = primary.network_id.to_string();
    let gw = t
        .admin
        .networks(&t.project)
        .expect("networks")
        .into_iter()
        .find(|n| n.network.id.to_string() == default_net)
        .expect("default network")
        .subnets[0]
        .gateway_ip
        .expect("gateway")
        .to_string();
    let public = t
        .admin
        .public_ip_allocate(&t.project, &i1)
        .expect("public IP")
        .address
        .to_string();
    let (net2, _) = network(&t, "other", "10.75.0.0/24");
    let (vm2, i2, ip2) = vm_on(&t, "vm2", &net2);
    wait_active(&t, &i1);
    wait_active(&t, &i2);
    let (ns1, ns2, ext) = (vm_ns(&s.prefix, &vm1), vm_ns(&s.prefix, &vm2), ext_ns(&s));
    wait_until("the gateway answers", || ping(&ns1, &gw));
    assert!(ping(&ns2, "10.75.0.1"), "the other network's gateway too");
    wait_until("the public IP answers", || ping(&ext, &public));
    assert_eq!(tcp_peer(&ns1, &ext, &public, 8086), "203.0.113.1");
    // The implicit router of the project holds both gateways but forwards
    // between no two networks.
    let ip1 = fixed_ips(&t.admin, &t.project, &i1)
        .into_iter()
        .find(|a| !a.contains(':'))
        .expect("IPv4");
    assert!(!ping(&ns1, &ip2), "vm1 does not reach vm2 at {ip2}");
    assert!(!ping(&ns2, &ip1), "vm2 does not reach vm1 at {ip1}");
    let routers: Vec<String> = s
        .prefix
        .namespaces()
        .into_iter()
        .filter(|n| n.starts_with(&format!("{}-r-", s.prefix.0)))
        .collect();
    assert_eq!(routers.len(), 1, "one implicit router: {routers:?}");
    drop(s.agent);
}

#[test]
fn a_restarted_agent_changes_nothing_without_drift_restores_nat_and_removes_a_deleted_router() {
    if !ready("a_restarted_agent…") {
        return;
    }
    let mut s = setup(&[]);
    let t = tenant(&s.server, "l3-c");
    let (net, sub) = network(&t, "web", "10.76.0.0/24");
    let r = t
        .admin
        .router_create(
            &t.project,
            &json!({"name": "r1", "data_center_id": t.dc, "gateway": {}}),
        )
        .expect("router");
    let rid = r.id.to_string();
    let with_port = t
        .admin
        .router_add_interface(&t.project, &rid, &json!({"subnet_id": sub}))
        .expect("router interface");
    let port = with_port.interfaces[0].port_id.to_string();
    let (vm1, i1, _) = vm_on(&t, "vm1", &net);
    open_ingress(&t);
    let public = t
        .admin
        .public_ip_allocate(&t.project, &i1)
        .expect("public IP")
        .address
        .to_string();
    wait_active(&t, &i1);
    let ext = ext_ns(&s);
    wait_until("the public IP answers", || ping(&ext, &public));
    // SIGKILL; the next passes converge and then change nothing.
    drop(s.agent.take());
    agent_once(&s.server, &s.credential, &s.host, &s.prefix);
    assert_eq!(
        agent_once(&s.server, &s.credential, &s.host, &s.prefix),
        "0 changes"
    );
    // A flushed NAT table is drift: restored in one change.
    let rns = router_ns(&s, &rid);
    let flush = Command::new("ip")
        .args([
            "netns", "exec", &rns, "nft", "flush", "table", "inet", "nicplane",
        ])
        .status()
        .expect("nft");
    assert!(flush.success());
    let vm_ns1 = vm_ns(&s.prefix, &vm1);
    // Without the DNAT the router itself answers (the public IP is its
    // address on the external link, for ARP): the VM's port is refused.
    assert_eq!(tcp_peer(&vm_ns1, &ext, &public, 8087), "refused");
    assert_eq!(
        agent_once(&s.server, &s.credential, &s.host, &s.prefix),
        "1 changes"
    );
    assert_eq!(
        tcp_peer(&vm_ns1, &ext, &public, 8088),
        "203.0.113.1",
        "the NAT is back"
    );
    // Deleting the router: its namespace goes, the network falls to the
    // implicit router, and without public IPs the external namespace goes.
    t.admin.public_ip_release(&t.project, &i1).expect("release");
    t.admin
        .router_remove_interface(&t.project, &rid, &port)
        .expect("remove interface");
    t.admin.router_delete(&t.project, &rid).expect("delete");
    agent_once(&s.server, &s.credential, &s.host, &s.prefix);
    let left = s.prefix.namespaces();
    assert!(!left.contains(&rns), "{left:?}");
    assert!(!left.contains(&ext), "{left:?}");
    let routers: Vec<&String> = left
        .iter()
        .filter(|n| n.starts_with(&format!("{}-r-", s.prefix.0)))
        .collect();
    assert_eq!(routers.len(), 1, "the implicit router: {left:?}");
    assert_eq!(
        agent_once(&s.server, &s.credential, &s.host, &s.prefix),
        "0 changes"
    );
}

/// The core decides what the agent builds: the desired state (no root
/// needed) lists the real router with its link, gateway, default route and
/// public IP, the implicit router with the project's unattached network
/// (not the younger one that overlaps it) and its public IP, and the
/// external network with its pool's gateway.
#[test]
fn the_desired_state_lists_the_routers_public_ips_and_external_networks_the_host_needs() {
    let server = common::Server::start(&[]);
    let cloud = server.admin();
    let dc = cloud.data_centers().expect("dcs")[0].id.to_string();
    let created = cloud.host_create("hv-1", &dc).expect("host");
    let agent = server
        .client()
        .with_token(created["credential"].as_str().expect("credential"));
    let desired = || {
        let r = agent
            .raw(Method::GET, "/v1/agent/desired-state", None, &[])
            .expect("desired state");
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    };
    desired(); // the host is live from now on: VMs are placed on it
    let t = tenant(&server, "l3-d");
    let (net_a, sub_a) = network(&t, "a", "10.81.0.0/24");
    let (net_b, _) = network(&t, "b", "10.82.0.0/24");
    // Creation times have whole seconds: b2 is younger from the next one.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock");
    std::thread::sleep(std::time::Duration::from_nanos(
        1_000_000_000 - u64::from(now.subsec_nanos()) + 10_000_000,
    ));
    let (net_b2, _) = network(&t, "b2", "10.82.0.0/16");
    let r = t
        .admin
        .router_create(
            &t.project,
            &json!({"name": "r1", "data_center_id": t.dc, "gateway": {}}),
        )
        .expect("router");
    let rid = r.id.to_string();
    let gateway = r.gateway.expect("gateway").external_fixed_ips[0]
        .ip_address
        .to_string();
    let with_port = t
        .admin
        .router_add_interface(&t.project, &rid, &json!({"subnet_id": sub_a}))
        .expect("router interface");
    let port = with_port.interfaces[0].port_id.to_string();
    let port_mac = t
        .admin
        .get::<Value>(&format!("/v1/projects/{}/interfaces/{port}", t.project))
        .expect("router port")["mac_address"]
        .clone();
    let (_, i1, ip1) = vm_on(&t, "vm1", &net_a);
    let (_, i2, ip2) = vm_on(&t, "vm2", &net_b);
    let (_, _, _) = vm_on(&t, "vm3", &net_b2);
    let p1 = t.admin.public_ip_allocate(&t.project, &i1).expect("ip 1");
    let p2 = t.admin.public_ip_allocate(&t.project, &i2).expect("ip 2");
    let pool = cloud.pools().expect("pools")[0].id.to_string();

    let state = desired();
    assert_eq!(
        state["external_networks"],
        json!([{"id": dc, "pools": [{"id": pool, "cidr": "203.0.113.0/24", "gateway_ip": "203.0.113.1"}]}])
    );
    let routers = state["routers"].as_array().expect("routers");
    assert_eq!(routers.len(), 2, "{routers:?}");
    let real = routers
        .iter()
        .find(|r| r["id"] == rid.as_str())
        .expect("r1");
    assert_eq!(
        real,
        &json!({"id": rid, "implicit": false, "joins_networks": true,
            "links": [{"network_id": net_a, "mac_address": port_mac,
                       "addresses": [{"ip_address": "10.81.0.1", "prefix_len": 24}]}],
            "gateway": {"external_network_id": dc, "enable_snat": true,
                        "addresses": [{"ip_address": gateway, "prefix_len": 24}]},
            "default_route": {"external_network_id": dc, "next_hop": "203.0.113.1"},
            "public_ips": [{"id": p1.id.to_string(), "address": p1.address.to_string(),
                            "fixed_ip": ip1, "external_network_id": dc}]})
    );
    let mut implicit = routers
        .iter()
        .find(|r| r["id"] != rid.as_str())
        .expect("the implicit router")
        .clone();
    let implicit_id = implicit["id"].take();
    assert_eq!(
        implicit,
        json!({"id": null, "implicit": true, "joins_networks": false,
            "links": [{"network_id": net_b, "mac_address": null,
                       "addresses": [{"ip_address": "10.82.0.1", "prefix_len": 24}]}],
            "gateway": null,
            "default_route": {"external_network_id": dc, "next_hop": "203.0.113.1"},
            "public_ips": [{"id": p2.id.to_string(), "address": p2.address.to_string(),
                            "fixed_ip": ip2, "external_network_id": dc}]})
    );
    // Derived from the project and data center: the same on every read.
    let again = desired();
    assert!(again["routers"]
        .as_array()
        .expect("routers")
        .iter()
        .any(|r| r["id"] == implicit_id));
}
