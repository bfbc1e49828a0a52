//! The data-plane agent (`nicplane agent`) against the real server, in real
//! network namespaces: traffic between VMs, hot-plug and detach, observed
//! status in every dialect, and convergence after a crash or a hand-made
//! drift.
//!
//! Needs root (network namespaces) and `ping` (iputils-ping; scripts/test
//! installs it through scripts/dataplane-deps.sh). Without root each test
//! says so and returns; it is not a pass in CI, which runs as root. Every
//! test uses its own 3-character prefix, and a guard removes every
//! namespace with that prefix when the test ends, even when it fails.

mod common;

use common::dataplane::*;
use common::{tenant, Server, PASSWORD};
use nicplane_http::huawei::signer::{self, Authorization, SignedRequest};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

#[test]
fn vms_on_one_network_ping_over_ipv4_and_ipv6_and_another_network_does_not_reach_them() {
    if !root_or_skip("vms_on_one_network_ping…") {
        return;
    }
    let s = setup(&[]);
    let t = tenant(&s.server, "dp-a");
    let app = t.standard_network("app", "10.61.0.0/24");
    t.admin
        .subnet_create(&t.project, &app, &json!({"cidr": "fd61::/64"}))
        .expect("IPv6 subnet");
    let vm1 = t.vm("vm1", "linux", true);
    let vm2 = t.vm("vm2", "linux", true);
    let n1 = t
        .admin
        .interface_attach(&t.project, &vm1, &app, None)
        .expect("nic 1");
    let n2 = t
        .admin
        .interface_attach(&t.project, &vm2, &app, None)
        .expect("nic 2");
    // Another project's network with the same CIDR: only the bridges
    // separate it, not the addressing.
    let other = tenant(&s.server, "dp-b");
    let net_b = other.standard_network("app", "10.61.0.0/24");
    let vm3 = other.vm("vm3", "linux", true);
    let n3 = other
        .admin
        .interface_attach(&other.project, &vm3, &net_b, Some("10.61.0.200"))
        .expect("nic 3");
    for (c, p, i) in [
        (&t.admin, &t.project, &n1.id.to_string()),
        (&t.admin, &t.project, &n2.id.to_string()),
        (&other.admin, &other.project, &n3.id.to_string()),
    ] {
        wait_until("the interfaces are active", || {
            native_status(c, p, i) == "active"
        });
    }
    let ips2 = fixed_ips(&t.admin, &t.project, &n2.id.to_string());
    assert_eq!(ips2.len(), 2, "one IPv4 and one IPv6 address: {ips2:?}");
    let (ns1, ns3) = (vm_ns(&s.prefix, &vm1), vm_ns(&s.prefix, &vm3));
    for ip in &ips2 {
        assert!(ping(&ns1, ip), "vm1 reaches vm2 at {ip}");
    }
    let ip1_v4 = fixed_ips(&t.admin, &t.project, &n1.id.to_string())
        .into_iter()
        .find(|a| !a.contains(':'))
        .expect("IPv4");
    assert!(
        !ping(&ns3, &ip1_v4),
        "vm3 on another network does not reach vm1 at {ip1_v4}"
    );
    let ip2_v4 = ips2.iter().find(|a| !a.contains(':')).expect("IPv4");
    assert!(!ping(&ns3, ip2_v4), "vm3 does not reach vm2 at {ip2_v4}");
    // The primary has the default route via its subnet's gateway.
    let route = ip_in(&ns1, &["-json", "route", "show", "default"]);
    let routes: Vec<Value> = serde_json::from_slice(&route.stdout).expect("routes");
    assert_eq!(routes.len(), 1, "{routes:?}");
    assert_eq!(routes[0]["dev"], "eth0");
    drop(s.agent);
}

#[test]
fn hot_plug_detach_and_power_show_in_the_kernel_and_in_every_dialect() {
    if !root_or_skip("hot_plug_detach_and_power…") {
        return;
    }
    let s = setup(&["--huawei-listen", "127.0.0.1:0"]);
    let t = tenant(&s.server, "dp-h");
    let app = t.standard_network("app", "10.62.0.0/24");
    let vm1 = t.vm("vm1", "linux", true);
    let vm2 = t.vm("vm2", "linux", true);
    let n2 = t
        .admin
        .interface_attach(&t.project, &vm2, &app, None)
        .expect("nic 2");
    // Before the agent realizes it an interface is BUILD; the VM is placed.
    let detail = t.admin.vm(&t.project, &vm1).expect("vm");
    assert!(
        detail.vm.host_id.is_some(),
        "the VM is placed on the live host"
    );
    let n1 = t
        .admin
        .interface_attach(&t.project, &vm1, &app, None)
        .expect("hot-plug");
    let id1 = n1.id.to_string();
    let ns1 = vm_ns(&s.prefix, &vm1);
    wait_until("the hot-plugged link is active", || {
        native_status(&t.admin, &t.project, &id1) == "active"
    });
    let eth1 = link(&ns1, "eth1").expect("eth1 in vm1");
    assert_eq!(
        eth1["address"].as_str().unwrap(),
        n1.mac_address.to_string().to_lowercase()
    );
    let ip1 = fixed_ips(&t.admin, &t.project, &id1);
    assert_eq!(addrs(&eth1), BTreeSet::from([format!("{}/24", ip1[0])]));
    let ip2 = fixed_ips(&t.admin, &t.project, &n2.id.to_string());
    assert!(ping(&ns1, &ip2[0]), "the hot-plugged link carries traffic");

    // The status in every dialect.
    let token = t.admin.token().expect("token").to_string();
    let nova_state = || {
        let r = t
            .admin
            .raw(
                Method::GET,
                &format!("/compute/v2.1/servers/{vm1}/os-interface"),
                None,
                &[("X-Auth-Token", &token)],
            )
            .expect("nova");
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["interfaceAttachments"]
            .as_array()
            .expect("attachments")
            .iter()
            .find(|a| a["port_id"] == id1.as_str())
            .map(|a| a["port_state"].as_str().unwrap().to_string())
            .expect("the attachment")
    };
    let neutron_status = || {
        let (status, v) = common::neutron(&t.admin, Method::GET, &format!("/ports/{id1}"), None);
        assert_eq!(status, 200, "{v}");
        v["port"]["status"].as_str().unwrap().to_string()
    };
    let huawei = huawei_signer(&s, "dp-h-admin");
    let huawei_status = || {
        let (status, v) = huawei.get(&format!("/v1/{}/ports/{id1}", t.project));
        assert_eq!(status, 200, "{v}");
        v["port"]["status"].as_str().unwrap().to_string()
    };
    assert_eq!(
        (nova_state(), neutron_status(), huawei_status()),
        (
            "ACTIVE".to_string(),
            "ACTIVE".to_string(),
            "ACTIVE".to_string()
        )
    );

    t.power.vm_stop(&t.project, &vm1).expect("stop");
    wait_until("the stopped VM's interfaces are down", || {
        native_status(&t.admin, &t.project, &id1) == "down"
    });
    assert_eq!(
        (nova_state(), neutron_status(), huawei_status()),
        ("DOWN".to_string(), "DOWN".to_string(), "DOWN".to_string())
    );
    let eth1 = link(&ns1, "eth1").expect("eth1 stays while stopped");
    assert!(
        !eth1["flags"].as_array().unwrap().iter().any(|f| f == "UP"),
        "a stopped VM's links are down: {eth1}"
    );
    assert!(!ping(&ns1, &ip2[0]), "a stopped VM sends nothing");
    t.power.vm_start(&t.project, &vm1).expect("start");
    wait_until("the started VM's interfaces are active", || {
        native_status(&t.admin, &t.project, &id1) == "active"
    });
    assert!(ping(&ns1, &ip2[0]), "traffic again after start");

    t.admin
        .interface_detach(&t.project, &vm1, &id1)
        .expect("detach");
    wait_until("the detached link is gone", || link(&ns1, "eth1").is_none());
    assert!(link(&ns1, "eth0").is_some(), "the primary stays");
}

#[test]
fn a_killed_agent_converges_on_restart_and_restores_a_deleted_veth() {
    if !root_or_skip("a_killed_agent_converges…") {
        return;
    }
    let mut s = setup(&[]);
    let t = tenant(&s.server, "dp-k");
    let vm1 = t.vm("vm1", "linux", true);
    let vm2 = t.vm("vm2", "linux", true);
    let gone = t.vm("gone", "linux", true);
    let ns1 = vm_ns(&s.prefix, &vm1);
    let ns_gone = vm_ns(&s.prefix, &gone);
    // Three VMs, the fabric, the project's implicit router (agent_l3.rs).
    wait_until("three VM namespaces", || s.prefix.namespaces().len() == 5);
    wait_until("vm1's eth0", || link(&ns1, "eth0").is_some());

    // SIGKILL, then change the desired state while no agent runs.
    drop(s.agent.take());
    t.power.vm_delete(&t.project, &gone).expect("delete");
    let vm3 = t.vm("vm3", "linux", true);
    assert!(s.prefix.namespaces().contains(&ns_gone));
    s.agent = Some(Agent::start(&s.server, &s.credential, &s.host, &s.prefix));
    let fabric = format!("{}-fabric", s.prefix.0);
    let want: BTreeSet<String> = [&vm1, &vm2, &vm3]
        .iter()
        .map(|v| vm_ns(&s.prefix, v))
        .chain([fabric.clone()])
        .collect();
    let router = format!("{}-r-", s.prefix.0);
    wait_until("the namespaces match the desired state", || {
        let (routers, rest): (BTreeSet<String>, BTreeSet<String>) = s
            .prefix
            .namespaces()
            .into_iter()
            .partition(|n| n.starts_with(&router));
        rest == want && routers.len() == 1
    });
    wait_until("vm3's eth0", || {
        link(&vm_ns(&s.prefix, &vm3), "eth0").is_some()
    });

    // A veth deleted by hand comes back, with its MAC and addresses.
    let before = link(&ns1, "eth0").expect("eth0");
    let out = ip_in(&ns1, &["link", "del", "eth0"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(addrs(&before).len(), 2, "IPv4 and IPv6: {before}");
    wait_until("eth0 restored with its addresses", || {
        link(&ns1, "eth0").is_some_and(|l| addrs(&l) == addrs(&before))
    });
    let after = link(&ns1, "eth0").expect("eth0");
    assert_eq!(after["address"], before["address"]);

    // Nothing drifted: a pass changes nothing. The stopped agent may have
    // been killed in the middle of a pass (the stale host ends of the deleted
    // VM are removed last), so one pass finishes that first.
    drop(s.agent.take());
    agent_once(&s.server, &s.credential, &s.host, &s.prefix);
    assert_eq!(
        agent_once(&s.server, &s.credential, &s.host, &s.prefix),
        "0 changes"
    );
    // The stale host ends of the deleted VM are gone too.
    let fab = ip_in(&fabric, &["-json", "link", "show"]);
    let links: Vec<Value> = serde_json::from_slice(&fab.stdout).expect("fabric links");
    let ends = links
        .iter()
        .filter(|l| {
            l["ifname"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{}-h-", s.prefix.0))
        })
        .count();
    assert_eq!(ends, 3, "one host end per interface: {links:?}");
}

#[test]
fn the_agent_credential_reaches_only_the_agent_endpoints_of_its_host() {
    // No kernel objects: runs without root.
    let server = Server::start(&[]);
    let cloud = server.admin();
    let dc = cloud.data_centers().expect("dcs")[0].id.to_string();
    let created = cloud.host_create("hv-9", &dc).expect("host");
    let credential = created["credential"].as_str().unwrap().to_string();
    // Before the agent first connects the host is not live: a VM gets no host.
    let t = tenant(&server, "dp-c");
    let vm = t.vm("vm", "linux", true);
    let detail = t.admin.vm(&t.project, &vm).expect("vm");
    assert_eq!(
        detail.vm.host_id, None,
        "no agent connected yet: no live host"
    );
    assert_eq!(
        detail.interfaces[0].status.as_str(),
        "active",
        "as without agents"
    );
    let agent = server.client().with_token(&credential);
    let r = agent
        .raw(Method::GET, "/v1/agent/desired-state", None, &[])
        .expect("desired");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["host"]["name"], "hv-9");
    assert_eq!(r.body["vms"], json!([]));
    // Not a token: every other endpoint refuses it.
    let r = agent
        .raw(Method::GET, "/v1/data-centers", None, &[])
        .expect("dcs");
    assert_eq!(r.status, 401);
    // A token is no agent credential; a forged secret neither.
    let r = cloud
        .raw(Method::GET, "/v1/agent/desired-state", None, &[])
        .expect("desired");
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body["error"]["message"],
        "The agent credential is not valid."
    );
    let forged = format!("{}0", credential);
    let r = server
        .client()
        .with_token(&forged)
        .raw(Method::GET, "/v1/agent/desired-state", None, &[])
        .expect("desired");
    assert_eq!(r.status, 401);
    // Now it is live: the next VM is placed on it, its interface is BUILD.
    let placed = t
        .admin
        .vm(&t.project, &t.vm("vm2", "linux", true))
        .expect("vm2");
    assert_eq!(
        placed.vm.host_id.map(|h| h.to_string()),
        created["host"]["id"].as_str().map(String::from)
    );
    assert_eq!(placed.interfaces[0].status.as_str(), "build");
    // An error comes with its reason, which the native API shows with the
    // status (and drops once the interface is realized).
    let on_host = placed.interfaces[0].id.to_string();
    let reported = |status: &str, reason: Option<&str>| {
        let r = agent
            .raw(
                Method::POST,
                "/v1/agent/status",
                Some(&json!({"interfaces": [{"id": on_host, "status": status, "reason": reason}]})),
                &[],
            )
            .expect("status");
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["recorded"], 1, "{}", r.body);
        t.admin
            .get::<Value>(&format!("/v1/projects/{}/interfaces/{on_host}", t.project))
            .expect("interface")
    };
    let shown = reported("error", Some("ip link add: File exists"));
    assert_eq!(shown["status"], "error", "{shown}");
    assert_eq!(
        shown["status_reason"], "ip link add: File exists",
        "{shown}"
    );
    let shown = reported("active", None);
    assert_eq!(shown["status"], "active", "{shown}");
    assert!(shown.get("status_reason").is_none(), "{shown}");
    // A status for an interface of no VM of this host is ignored.
    let iface = detail.interfaces[0].id.to_string();
    let r = agent
        .raw(
            Method::POST,
            "/v1/agent/status",
            Some(&json!({"interfaces": [{"id": iface, "status": "active"}]})),
            &[],
        )
        .expect("status");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({"recorded": 0, "ignored": [iface]}));
    let r = agent
        .raw(
            Method::POST,
            "/v1/agent/status",
            Some(&json!({"interfaces": [{"id": iface, "status": "error"}]})),
            &[],
        )
        .expect("status");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body["error"]["message"],
        "Invalid value for reason: is required with the status error."
    );
    // Hosts are the cloud admin's.
    assert_eq!(
        t.admin.hosts().unwrap_err().status(),
        Some(403),
        "a tenant cannot list hosts"
    );
    let pinned = t.admin.post::<Value>(
        &format!("/v1/projects/{}/vms", t.project),
        &json!({"name": "p", "data_center_id": dc, "host": "hv-9"}),
    );
    common::assert_api_error(
        pinned,
        403,
        "Forbidden",
        "Only the cloud admin can place a VM on a chosen host.",
    );
}

/// A signer of Huawei requests with a fresh access key of `user`.
struct Huawei {
    base: String,
    ak: String,
    sk: String,
}

fn huawei_signer(s: &Setup, user: &str) -> Huawei {
    let mut c = s.server.client();
    let login = c.login(user, PASSWORD).expect("login");
    let cred: Value = c
        .post(
            &format!("/v1/users/{}/credentials", login.user.id),
            &json!({}),
        )
        .expect("credential");
    Huawei {
        base: s.server.huawei_url.clone().expect("huawei listener"),
        ak: cred["access"].as_str().unwrap().to_string(),
        sk: cred["secret"].as_str().unwrap().to_string(),
    }
}

impl Huawei {
    fn get(&self, path: &str) -> (u16, Value) {
        let host = self.base.trim_start_matches("http://").to_string();
        let date = nicplane_http::timefmt::format(
            time::OffsetDateTime::now_utc(),
            nicplane_http::timefmt::SDK_DATE,
        );
        let headers = [
            ("content-type", "application/json".to_string()),
            ("host", host),
            ("x-sdk-date", date.clone()),
        ];
        let lookup = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        };
        let signed = ["content-type", "host", "x-sdk-date"];
        let auth = Authorization {
            access: self.ak.clone(),
            signed_headers: signed.iter().map(|s| s.to_string()).collect(),
            signature: String::new(),
        };
        let canonical = signer::canonical_request(
            &SignedRequest {
                method: "GET",
                path,
                query: "",
                header: &lookup,
                body: b"",
            },
            &auth,
        )
        .expect("canonical request");
        let signature = signer::sign(&self.sk, &signer::string_to_sign(&canonical, &date));
        let resp = reqwest::blocking::Client::new()
            .get(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .header("x-sdk-date", date)
            .header(
                "authorization",
                format!(
                    "SDK-HMAC-SHA256 Access={}, SignedHeaders={}, Signature={signature}",
                    self.ak,
                    signed.join(";")
                ),
            )
            .send()
            .expect("send");
        let status = resp.status().as_u16();
        (status, resp.json().unwrap_or(Value::Null))
    }
}
