//! Security groups and anti-spoofing in the data plane: the real server,
//! the real agent, real traffic between VM namespaces (issue 13).
//!
//! The kernel tests need root (namespaces, nftables) and `ping`; without
//! root each says so and returns (CI runs as root). Each uses its own
//! prefix, whose namespaces a guard removes at the end. Rules and ports are
//! changed through Neutron, as an OpenStack client would. A VM's own
//! address change is made with `scope link`: the reference agent manages a
//! VM's global addresses (it stands in for DHCP) and would remove a global
//! one it did not put there; a link-scope address is still a source the VM
//! can send from (`ping -I`). It is a /32: the kernel refuses a second
//! address of a subnet with another scope than the first.

mod common;

use common::dataplane::*;
use common::{neutron, tenant, Server, Tenant};
use reqwest::Method;
use serde_json::{json, Value};

/// Like [`root_or_skip`], and the tables need `nft`.
fn root_and_nft_or_skip(test: &str) -> bool {
    if !root_or_skip(test) {
        return false;
    }
    assert!(
        std::process::Command::new("nft")
            .arg("--version")
            .output()
            .is_ok(),
        "nft is missing: install nftables (scripts/dataplane-deps.sh)"
    );
    true
}

/// A security group made through Neutron (it has Neutron's two egress
/// rules and no ingress rule); its id.
fn group(t: &Tenant, name: &str) -> String {
    let (status, v) = neutron(
        &t.admin,
        Method::POST,
        "/security-groups",
        Some(&json!({"security_group": {"name": name}})),
    );
    assert_eq!(status, 201, "{v}");
    v["security_group"]["id"].as_str().unwrap().to_string()
}

/// A rule made through Neutron; its id.
fn rule(t: &Tenant, group: &str, rule: Value) -> String {
    let mut body = rule;
    body["security_group_id"] = json!(group);
    let (status, v) = neutron(
        &t.admin,
        Method::POST,
        "/security-group-rules",
        Some(&json!({ "security_group_rule": body })),
    );
    assert_eq!(status, 201, "{v}");
    v["security_group_rule"]["id"].as_str().unwrap().to_string()
}

fn rule_delete(t: &Tenant, id: &str) {
    let (status, v) = neutron(
        &t.admin,
        Method::DELETE,
        &format!("/security-group-rules/{id}"),
        None,
    );
    assert_eq!(status, 204, "{v}");
}

/// A VM with a second interface on `network` at `ip`, in `groups` (the
/// project's default group when None); the interface's id.
fn vm_on(
    t: &Tenant,
    name: &str,
    network: &str,
    ip: &str,
    groups: Option<&[&str]>,
) -> (String, String) {
    vm_at(t, name, network, &[ip], groups)
}

/// [`vm_on`] with several fixed IPs.
fn vm_at(
    t: &Tenant,
    name: &str,
    network: &str,
    ips: &[&str],
    groups: Option<&[&str]>,
) -> (String, String) {
    let vm = t.vm(name, "linux", true);
    let fixed: Vec<Value> = ips.iter().map(|ip| json!({"ip_address": ip})).collect();
    let mut body = json!({"network_id": network, "fixed_ips": fixed});
    if let Some(g) = groups {
        body["security_groups"] = json!(g);
    }
    let iface: Value = t
        .admin
        .post(
            &format!("/v1/projects/{}/vms/{vm}/interfaces", t.project),
            &body,
        )
        .expect("attach");
    (vm, iface["id"].as_str().unwrap().to_string())
}

fn wait_active(t: &Tenant, ifaces: &[&str]) {
    for i in ifaces {
        wait_until("the interfaces are active", || {
            native_status(&t.admin, &t.project, i) == "active"
        });
    }
}

#[test]
fn rules_open_tcp_and_icmp_deleting_one_closes_it_and_egress_follows_the_senders_rules() {
    if !root_and_nft_or_skip("rules_open_tcp_and_icmp…") {
        return;
    }
    let mut s = setup(&[]);
    let t = tenant(&s.server, "sg-r");
    let app = t.standard_network("app", "10.71.0.0/24");
    t.admin
        .subnet_create(&t.project, &app, &json!({"cidr": "fd71::/64"}))
        .expect("IPv6 subnet");
    let web = group(&t, "web");
    let (client, ci) = vm_at(&t, "client", &app, &["10.71.0.10", "fd71::10"], None);
    let (server, si) = vm_at(
        &t,
        "server",
        &app,
        &["10.71.0.20", "fd71::20"],
        Some(&[&web]),
    );
    wait_active(&t, &[&ci, &si]);
    let (a, b) = (vm_ns(&s.prefix, &client), vm_ns(&s.prefix, &server));
    let b6 = "fd71::20";
    let _l80 = tcp_listen(&b, "::", 8080);
    let _l81 = tcp_listen(&b, "::", 8081);

    // No ingress rule: nothing gets in.
    assert!(
        !tcp_connects(&a, "10.71.0.20", 8080),
        "no rule: port closed"
    );
    assert!(!ping(&a, "10.71.0.20"), "no rule: no ICMP");

    let tcp = rule(
        &t,
        &web,
        json!({"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
               "port_range_min": 8080, "port_range_max": 8080}),
    );
    wait_until("the rule opens TCP 8080", || {
        tcp_connects(&a, "10.71.0.20", 8080)
    });
    assert!(
        !tcp_connects(&a, "10.71.0.20", 8081),
        "only the rule's port"
    );
    assert!(!tcp_connects(&a, b6, 8080), "only the rule's IP version");
    assert!(!ping(&a, "10.71.0.20"), "only the rule's protocol");

    // ICMP by rule, IPv4 and IPv6 ("icmp" in an IPv6 rule is ICMPv6).
    rule(
        &t,
        &web,
        json!({"direction": "ingress", "ethertype": "IPv4", "protocol": "icmp"}),
    );
    rule(
        &t,
        &web,
        json!({"direction": "ingress", "ethertype": "IPv6", "protocol": "icmp"}),
    );
    wait_until("ICMP over IPv4 by rule", || ping(&a, "10.71.0.20"));
    wait_until("ICMPv6 by rule", || ping(&a, b6));
    // Stateful: the server's replies pass, but it cannot open a connection
    // to the client, whose default group lets in only its own members.
    let _client_listener = tcp_listen(&a, "::", 9090);
    assert!(
        !tcp_connects(&b, "10.71.0.10", 9090),
        "web is not in default"
    );

    rule_delete(&t, &tcp);
    wait_until("deleting the rule closes TCP 8080", || {
        !tcp_connects(&a, "10.71.0.20", 8080)
    });
    assert!(ping(&a, "10.71.0.20"), "the ICMP rule stays");

    // Egress is the sender's group's rules too: without the default
    // group's IPv4 egress rule the client sends no IPv4, still IPv6.
    let egress4 = t
        .admin
        .security_groups(&t.project)
        .expect("groups")
        .into_iter()
        .find(|g| g.name == "default")
        .expect("the default group")
        .rules
        .into_iter()
        .find(|r| r.direction == "egress" && r.ethertype == "IPv4")
        .expect("the IPv4 egress rule")
        .id
        .to_string();
    rule_delete(&t, &egress4);
    wait_until("no IPv4 out of the client", || !ping(&a, "10.71.0.20"));
    assert!(ping(&a, b6), "IPv6 egress stays");

    // A pass over a host that did not drift changes nothing; a table
    // deleted by hand is made again.
    drop(s.agent.take());
    agent_once(&s.server, &s.credential, &s.host, &s.prefix);
    assert_eq!(
        agent_once(&s.server, &s.credential, &s.host, &s.prefix),
        "0 changes"
    );
    let fabric = format!("{}-fabric", s.prefix.0);
    let table = format!("{}-sg", s.prefix.0);
    let out = std::process::Command::new("ip")
        .args([
            "netns", "exec", &fabric, "nft", "delete", "table", "inet", &table,
        ])
        .output()
        .expect("nft");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(tcp_connects(&b, "10.71.0.10", 9090), "no table: no filter");
    assert_eq!(
        agent_once(&s.server, &s.credential, &s.host, &s.prefix),
        "1 changes"
    );
    assert!(!tcp_connects(&b, "10.71.0.10", 9090), "the filter is back");
    assert_eq!(
        agent_once(&s.server, &s.credential, &s.host, &s.prefix),
        "0 changes"
    );
}

#[test]
fn default_group_members_reach_each_other_and_another_group_only_by_a_remote_group_rule() {
    if !root_and_nft_or_skip("default_group_members_reach_each_other…") {
        return;
    }
    let s = setup(&[]);
    let t = tenant(&s.server, "sg-d");
    let app = t.standard_network("app", "10.72.0.0/24");
    let other = group(&t, "other");
    let (vm_a, ai) = vm_on(&t, "a", &app, "10.72.0.10", None);
    let (vm_b, bi) = vm_on(&t, "b", &app, "10.72.0.11", None);
    let (vm_c, ci) = vm_on(&t, "c", &app, "10.72.0.12", Some(&[&other]));
    wait_active(&t, &[&ai, &bi, &ci]);
    let (a, b, c) = (
        vm_ns(&s.prefix, &vm_a),
        vm_ns(&s.prefix, &vm_b),
        vm_ns(&s.prefix, &vm_c),
    );
    let _listener = tcp_listen(&a, "0.0.0.0", 22);
    assert!(ping(&a, "10.72.0.11"), "a reaches b: both in default");
    assert!(ping(&b, "10.72.0.10"), "b reaches a");
    assert!(
        tcp_connects(&b, "10.72.0.10", 22),
        "any protocol among members"
    );
    assert!(!ping(&c, "10.72.0.10"), "c (other) does not reach a");
    assert!(!tcp_connects(&c, "10.72.0.10", 22), "nor its TCP port");
    assert!(!ping(&a, "10.72.0.12"), "other lets in nobody");

    // The default group lets ICMP in from the members of other.
    let default = t
        .admin
        .security_groups(&t.project)
        .expect("groups")
        .into_iter()
        .find(|g| g.name == "default")
        .expect("the default group")
        .id
        .to_string();
    rule(
        &t,
        &default,
        json!({"direction": "ingress", "ethertype": "IPv4", "protocol": "icmp",
               "remote_group_id": other}),
    );
    wait_until("c reaches a by the remote-group rule", || {
        ping(&c, "10.72.0.10")
    });
    assert!(ping(&c, "10.72.0.11"), "and b, also in default");
    assert!(!tcp_connects(&c, "10.72.0.10", 22), "ICMP only");
    // A new member of other is let in too: membership is addresses.
    let (vm_d, di) = vm_on(&t, "d", &app, "10.72.0.13", Some(&[&other]));
    wait_active(&t, &[&di]);
    let d = vm_ns(&s.prefix, &vm_d);
    wait_until("d, a new member of other, reaches a", || {
        ping(&d, "10.72.0.10")
    });
}

/// Sender in the default group, target in a group open to ICMP from
/// anywhere; the sender's ARP entry for the target is made first, so that
/// what a spoofed ping meets is the IP source check.
fn spoof_setup(s: &Setup, t: &Tenant, net: &str, net6: &str) -> (String, String, String) {
    let app = t.standard_network("app", net);
    t.admin
        .subnet_create(&t.project, &app, &json!({ "cidr": net6 }))
        .expect("IPv6 subnet");
    let open = group(t, "open");
    for (ethertype, anywhere) in [("IPv4", "0.0.0.0/0"), ("IPv6", "::/0")] {
        rule(
            t,
            &open,
            json!({"direction": "ingress", "ethertype": ethertype, "protocol": "icmp",
                   "remote_ip_prefix": anywhere}),
        );
    }
    let base = net.trim_end_matches(".0/24");
    let base6 = net6.trim_end_matches("::/64");
    let (sender, si) = vm_at(
        t,
        "sender",
        &app,
        &[&format!("{base}.10"), &format!("{base6}::10")],
        None,
    );
    let (_, ti) = vm_at(
        t,
        "target",
        &app,
        &[&format!("{base}.20"), &format!("{base6}::20")],
        Some(&[&open]),
    );
    wait_active(t, &[&si, &ti]);
    let ns = vm_ns(&s.prefix, &sender);
    let target = format!("{base}.20");
    wait_until("the sender reaches the target from its own address", || {
        ping(&ns, &target)
    });
    (ns, si, target)
}

fn add_own_address(ns: &str, addr: &str) {
    let out = ip_in(ns, &["addr", "add", addr, "dev", "eth1", "scope", "link"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_vm_cannot_send_from_an_address_it_gave_itself_until_port_security_is_off() {
    if !root_and_nft_or_skip("a_vm_cannot_send_from_an_address…") {
        return;
    }
    let mut s = setup(&[]);
    let t = tenant(&s.server, "sg-s");
    let (ns, port, target) = spoof_setup(&s, &t, "10.73.0.0/24", "fd73::/64");
    add_own_address(&ns, "10.73.0.50/32");
    assert!(
        ping_from(&ns, "10.73.0.10", &target),
        "its own address works"
    );
    assert!(
        !ping_from(&ns, "10.73.0.50", &target),
        "an address it gave itself does not, while port security is on"
    );
    // IPv6: a global address has global scope whatever it is given, and
    // the agent would remove it; so the agent stops meanwhile (its tables
    // stay).
    drop(s.agent.take());
    let out = ip_in(
        &ns,
        &["addr", "add", "fd73::50/128", "dev", "eth1", "nodad"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_until("its own IPv6 address works", || {
        ping_from(&ns, "fd73::10", "fd73::20")
    });
    assert!(
        !ping_from(&ns, "fd73::50", "fd73::20"),
        "nor an IPv6 address it gave itself"
    );
    s.agent = Some(Agent::start(&s.server, &s.credential, &s.host, &s.prefix));
    // Neutron: port security off; the port needs no groups then.
    let p = port_update(&t, &port, json!({"port_security_enabled": false}));
    assert_eq!(p["port_security_enabled"], false);
    assert_eq!(p["security_groups"], json!([]));
    wait_until("with port security off it sends from any address", || {
        ping_from(&ns, "10.73.0.50", &target)
    });
}

#[test]
fn an_allowed_address_pair_lets_a_vm_send_from_that_address() {
    if !root_and_nft_or_skip("an_allowed_address_pair…") {
        return;
    }
    let s = setup(&[]);
    let t = tenant(&s.server, "sg-p");
    let (ns, port, target) = spoof_setup(&s, &t, "10.74.0.0/24", "fd74::/64");
    add_own_address(&ns, "10.74.0.60/32");
    add_own_address(&ns, "10.74.0.61/32");
    assert!(!ping_from(&ns, "10.74.0.60", &target), "no pair yet");
    let p = port_update(
        &t,
        &port,
        json!({"allowed_address_pairs": [{"ip_address": "10.74.0.60"}]}),
    );
    assert_eq!(p["allowed_address_pairs"][0]["ip_address"], "10.74.0.60");
    wait_until("the pair's address sends", || {
        ping_from(&ns, "10.74.0.60", &target)
    });
    assert!(
        !ping_from(&ns, "10.74.0.61", &target),
        "an address outside the pairs still does not"
    );
    assert!(
        ping_from(&ns, "10.74.0.10", &target),
        "nor does its own stop"
    );
}

#[test]
fn the_desired_state_carries_port_security_groups_rules_members_and_pairs() {
    // No kernel objects: runs without root.
    let server = Server::start(&[]);
    let cloud = server.admin();
    let dc = cloud.data_centers().expect("dcs")[0].id.to_string();
    let created = cloud.host_create("hv-sg", &dc).expect("host");
    let agent = server
        .client()
        .with_token(created["credential"].as_str().unwrap());
    let desired = || -> Value { agent.get("/v1/agent/desired-state").expect("desired state") };
    desired(); // the host is live from now on: the VMs below go on it
    let t = tenant(&server, "sg-w");
    let app = t.standard_network("app", "10.75.0.0/24");
    let web = group(&t, "web");
    let from_web = rule(
        &t,
        &web,
        json!({"direction": "ingress", "protocol": "tcp", "port_range_min": 22,
               "port_range_max": 22, "remote_group_id": web}),
    );
    let icmp6 = rule(
        &t,
        &web,
        json!({"direction": "ingress", "ethertype": "IPv6", "protocol": "icmp"}),
    );
    let (_, wi) = vm_on(&t, "w", &app, "10.75.0.10", Some(&[&web]));
    port_update(
        &t,
        &wi,
        json!({"allowed_address_pairs": [{"ip_address": "10.75.0.128/25", "mac_address": "fa:16:3e:00:00:99"}]}),
    );
    let (_, oi) = vm_on(&t, "open", &app, "10.75.0.11", None);
    port_update(&t, &oi, json!({"port_security_enabled": false}));

    let state = desired();
    let ifaces: Vec<&Value> = state["vms"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|v| v["interfaces"].as_array().unwrap())
        .collect();
    let w = ifaces
        .iter()
        .find(|i| i["id"] == wi.as_str())
        .expect("w's interface");
    assert_eq!(w["port_security_enabled"], true);
    assert_eq!(w["security_groups"], json!([web]));
    assert_eq!(
        w["allowed_address_pairs"],
        json!([{"ip_address": "10.75.0.128/25", "mac_address": "fa:16:3e:00:00:99"}])
    );
    let o = ifaces
        .iter()
        .find(|i| i["id"] == oi.as_str())
        .expect("open's interface");
    assert_eq!(o["port_security_enabled"], false);
    assert_eq!(o["security_groups"], json!([]));
    let groups = state["security_groups"].as_array().unwrap();
    let g = groups
        .iter()
        .find(|g| g["id"] == web.as_str())
        .expect("web");
    let rules = g["rules"].as_array().unwrap();
    assert_eq!(
        rules.len(),
        4,
        "two egress rules and two ingress: {rules:?}"
    );
    let r = rules.iter().find(|r| r["id"] == from_web.as_str()).unwrap();
    assert_eq!(
        r,
        &json!({"id": from_web, "direction": "ingress", "ethertype": "IPv4", "protocol": 6,
                "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": null,
                "remote_group_id": web})
    );
    let r = rules.iter().find(|r| r["id"] == icmp6.as_str()).unwrap();
    assert_eq!(r["protocol"], 58, "icmp in an IPv6 rule is ICMPv6");
    // Members: the fixed IPs and the pairs of every interface in web.
    assert_eq!(g["members"], json!(["10.75.0.10/32", "10.75.0.128/25"]));
    // The default group is there for the primaries (on the Default Network).
    assert!(
        groups.iter().any(|g| g["id"] != web.as_str()),
        "the default group of the VMs' primaries: {groups:?}"
    );
}

#[test]
fn without_nftables_interfaces_with_port_security_report_error() {
    if !root_or_skip("without_nftables…") {
        return;
    }
    // An agent whose PATH has ip, sysctl and nsenter but no nft.
    let bin = common::temp_dir("sg-no-nft");
    for tool in ["ip", "sysctl", "nsenter"] {
        let real = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .expect("sh");
        let real = String::from_utf8_lossy(&real.stdout).trim().to_string();
        std::os::unix::fs::symlink(&real, bin.join(tool)).expect("symlink");
    }
    let mut s = setup(&[]);
    drop(s.agent.take());
    let t = tenant(&s.server, "sg-n");
    let app = t.standard_network("app", "10.76.0.0/24");
    let (_, secured) = vm_on(&t, "secured", &app, "10.76.0.10", None);
    let (_, open) = vm_on(&t, "open", &app, "10.76.0.11", None);
    port_update(&t, &open, json!({"port_security_enabled": false}));
    let mut agent = Agent(
        std::process::Command::new(BIN)
            .args(["agent", "--url", &s.server.url, "--host", &s.host])
            .args([
                "--prefix",
                &s.prefix.0,
                "--trigger",
                "poll",
                "--interval-ms",
                "100",
            ])
            .env("NICPLANE_AGENT_CREDENTIAL", &s.credential)
            .env("PATH", &bin)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the agent"),
    );
    wait_until("the interface without port security is active", || {
        native_status(&t.admin, &t.project, &open) == "active"
    });
    assert_eq!(native_status(&t.admin, &t.project, &secured), "error");
    let _ = agent.0.kill();
    drop(agent);
    let _ = std::fs::remove_dir_all(&bin);
}
