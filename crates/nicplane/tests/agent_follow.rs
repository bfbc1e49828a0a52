//! The agent following the change feed, and the data-plane proofs of issue
//! 13 that tests/agent.rs does not give: a supplementary (VLAN) interface
//! carrying traffic, a custom (L2) network with addresses the VMs set
//! themselves, a Windows VM's NIC plugged while stopped, and an agent killed
//! during churn converging on restart. `nicplane bench dataplane` runs once
//! with tiny counts to check what it prints.
//!
//! The agents here run with `--trigger feed --resync-ms 3600000`: no
//! periodic pass within a test, so whatever the kernel shows after a change
//! came from a pass the change's event started. Needs root, like
//! tests/agent.rs; every test uses its own prefix, removed at the end.

mod common;

use common::dataplane::*;
use common::{assert_api_error, tenant, Server};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::process::Command;

/// Only the change feed starts passes (the resync is an hour away).
const FEED_ONLY: &[&str] = &["--trigger", "feed", "--resync-ms", "3600000"];

/// A live host whose agent follows the feed only.
fn feed_setup() -> Setup {
    feed_setup_logging(None)
}

/// [`feed_setup`], the agent's log in the file `log` if given.
fn feed_setup_logging(log: Option<&std::path::Path>) -> Setup {
    let server = Server::start(&[]);
    let cloud = server.admin();
    let dc = cloud.data_centers().expect("dcs")[0].id.to_string();
    let created = cloud.host_create("hv-1", &dc).expect("host create");
    let credential = created["credential"].as_str().expect("cred").to_string();
    let prefix = Prefix::new();
    let agent = match log {
        Some(log) => agent_logging_to(&server, &credential, "hv-1", &prefix, FEED_ONLY, log),
        None => agent_with(&server, &credential, "hv-1", &prefix, FEED_ONLY),
    };
    wait_until("the host is live", || {
        cloud.hosts().expect("hosts").iter().any(|h| h.live)
    });
    Setup {
        server,
        credential,
        host: "hv-1".into(),
        prefix,
        agent: Some(agent),
    }
}

fn ipv4(c: &nicplane_client::Client, project: &str, iface: &str) -> String {
    fixed_ips(c, project, iface)
        .into_iter()
        .find(|a| !a.contains(':'))
        .expect("an IPv4 address")
}

fn is_up(l: &Value) -> bool {
    l["flags"].as_array().unwrap().iter().any(|f| f == "UP")
}

#[test]
fn an_agent_reads_its_hosts_events_and_only_signals_of_shared_objects() {
    // No kernel objects: runs without root.
    let server = Server::start(&[]);
    let cloud = server.admin();
    let dc = cloud.data_centers().expect("dcs")[0].id.to_string();
    let c1 = cloud.host_create("hv-1", &dc).expect("hv-1")["credential"]
        .as_str()
        .unwrap()
        .to_string();
    let c2 = cloud.host_create("hv-2", &dc).expect("hv-2")["credential"]
        .as_str()
        .unwrap()
        .to_string();
    let agent1 = server.client().with_token(&c1);
    let agent2 = server.client().with_token(&c2);
    // Only hv-1 is live: new VMs go there.
    let _: Value = agent1.get("/v1/agent/desired-state").expect("touch");
    let start = agent1.events(0, Some(1000), None, None).expect("feed").next;
    let t = tenant(&server, "fe-a");
    let net = t.standard_network("app", "10.71.0.0/24");
    let vm = t.vm("vm1", "linux", true);
    let nic = t
        .admin
        .interface_attach(&t.project, &vm, &net, None)
        .expect("attach");
    let nic_id = nic.id.to_string();
    t.admin
        .interface_detach(&t.project, &vm, &nic_id)
        .expect("detach");

    // On PostgreSQL the sequencer numbers events a moment after their
    // commit: wait (bounded) until the detach is readable.
    for _ in 0..POLLS {
        let all = cloud
            .events(start, Some(1000), Some(1), None)
            .expect("feed");
        if all
            .events
            .iter()
            .any(|e| e.resource_id == nic_id && e.action == "detach")
        {
            break;
        }
    }
    let page = agent1
        .events(start, Some(1000), None, None)
        .expect("agent 1's feed");
    let mine: Vec<(String, String, String)> = page
        .events
        .iter()
        .filter(|e| e.host.is_some())
        .map(|e| (e.kind.clone(), e.resource_id.clone(), e.action.clone()))
        .collect();
    let primary = t.admin.vm(&t.project, &vm).expect("vm").interfaces[0]
        .id
        .to_string();
    assert_eq!(
        mine,
        vec![
            ("vm".into(), vm.clone(), "create".into()),
            ("interface".into(), primary, "attach".into()),
            ("interface".into(), nic_id.clone(), "attach".into()),
            // The detach names the host the interface left.
            ("interface".into(), nic_id.clone(), "detach".into()),
        ]
    );
    for e in page.events.iter().filter(|e| e.host.is_some()) {
        assert_eq!(e.host.as_deref(), Some("hv-1"));
        assert_eq!(
            e.project_id.as_ref().map(|p| p.to_string()),
            Some(t.project.clone())
        );
        assert!(e.resource.is_some(), "its host's events have their body");
    }
    // The network and its subnet come as bare signals: no body, no actor,
    // no project.
    let signals: Vec<(String, String)> = page
        .events
        .iter()
        .filter(|e| e.host.is_none())
        .map(|e| (e.kind.clone(), e.action.clone()))
        .collect();
    assert_eq!(
        signals,
        vec![("network".to_string(), "create".to_string())],
        "{:?}",
        page.events
    );
    let signal = page.events.iter().find(|e| e.host.is_none()).unwrap();
    assert_eq!(
        (
            signal.resource.clone(),
            signal.project_id.clone(),
            signal.actor.user_name.as_str()
        ),
        (None, None, "")
    );
    // The project itself, its users and memberships: not for agents.
    assert!(page
        .events
        .iter()
        .all(|e| e.kind != "project" && e.kind != "user"));

    // Another host's agent sees the signal but none of hv-1's events.
    let other = agent2
        .events(start, Some(1000), None, None)
        .expect("agent 2's feed");
    assert_eq!(
        other
            .events
            .iter()
            .map(|e| (e.kind.clone(), e.host.clone()))
            .collect::<Vec<_>>(),
        vec![("network".to_string(), None)]
    );
    // The cloud admin sees the host column too.
    let all = cloud.events(start, Some(1000), None, None).expect("feed");
    let detach = all
        .events
        .iter()
        .find(|e| e.resource_id == nic_id && e.action == "detach")
        .expect("the detach");
    assert_eq!(detach.host.as_deref(), Some("hv-1"));

    // An agent names no project; its credential reads nothing else.
    let r = agent1
        .raw(
            Method::GET,
            &format!("/v1/events?project_id={}", t.project),
            None,
            &[],
        )
        .expect("feed");
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        r.body["error"]["message"],
        "An agent reads the events of its host only; it names no project."
    );
    let forged = format!("{c1}0");
    let r = server
        .client()
        .with_token(&forged)
        .raw(Method::GET, "/v1/events", None, &[])
        .expect("feed");
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body["error"]["message"],
        "The agent credential is not valid."
    );
}

#[test]
fn the_feed_alone_drives_hot_plug_detach_and_power() {
    if !root_or_skip("the_feed_alone_drives…") {
        return;
    }
    let s = feed_setup();
    let t = tenant(&s.server, "fe-h");
    let vm1 = t.vm("vm1", "linux", true);
    let vm2 = t.vm("vm2", "linux", true);
    let ns1 = vm_ns(&s.prefix, &vm1);
    let app = t.standard_network("app", "10.72.0.0/24");
    let n2 = t
        .admin
        .interface_attach(&t.project, &vm2, &app, None)
        .expect("nic 2");
    let n1 = t
        .admin
        .interface_attach(&t.project, &vm1, &app, None)
        .expect("hot-plug");
    let id1 = n1.id.to_string();
    wait_until("the hot-plugged interface is active", || {
        native_status(&t.admin, &t.project, &id1) == "active"
    });
    let eth1 = link(&ns1, "eth1").expect("eth1");
    assert_eq!(
        eth1["address"].as_str().unwrap(),
        n1.mac_address.to_string().to_lowercase()
    );
    let ip2 = ipv4(&t.admin, &t.project, &n2.id.to_string());
    assert!(reaches(&ns1, &ip2), "vm1 reaches vm2 at {ip2}");
    t.power.vm_stop(&t.project, &vm1).expect("stop");
    wait_until("stopped: down", || {
        native_status(&t.admin, &t.project, &id1) == "down"
    });
    assert!(!is_up(&link(&ns1, "eth1").expect("eth1")));
    t.power.vm_start(&t.project, &vm1).expect("start");
    wait_until("started: active", || {
        native_status(&t.admin, &t.project, &id1) == "active"
    });
    t.admin
        .interface_detach(&t.project, &vm1, &id1)
        .expect("detach");
    wait_until("the detached link is gone", || link(&ns1, "eth1").is_none());
    t.power.vm_delete(&t.project, &vm2).expect("delete vm2");
    let ns2 = vm_ns(&s.prefix, &vm2);
    wait_until("the deleted VM's namespace is gone", || {
        !s.prefix.namespaces().contains(&ns2)
    });
}

#[test]
fn a_detach_renames_no_other_link_and_the_next_nic_takes_the_free_name() {
    if !root_or_skip("a_detach_renames_no_other_link…") {
        return;
    }
    let s = feed_setup();
    let t = tenant(&s.server, "fe-n");
    let app = t.standard_network("app", "10.76.0.0/24");
    let vm = t.vm("vm", "linux", true);
    let ns = vm_ns(&s.prefix, &vm);
    let attach = || {
        let n = t
            .admin
            .interface_attach(&t.project, &vm, &app, None)
            .expect("attach");
        let id = n.id.to_string();
        wait_until("active", || {
            native_status(&t.admin, &t.project, &id) == "active"
        });
        (id, n.mac_address.to_string().to_lowercase())
    };
    let (first, _) = attach();
    let (_, second_mac) = attach();
    let eth2 = link(&ns, "eth2").expect("eth2");
    assert_eq!(eth2["address"], second_mac.as_str());
    t.admin
        .interface_detach(&t.project, &vm, &first)
        .expect("detach");
    wait_until("eth1 is gone", || link(&ns, "eth1").is_none());
    // The second NIC keeps its link (same index: not recreated).
    let still = link(&ns, "eth2").expect("eth2 stays");
    assert_eq!(still["ifindex"], eth2["ifindex"]);
    assert_eq!(still["address"], second_mac.as_str());
    let (_, third_mac) = attach();
    let eth1 = link(&ns, "eth1").expect("the free name");
    assert_eq!(eth1["address"], third_mac.as_str());
    assert_eq!(link(&ns, "eth2").expect("eth2")["ifindex"], eth2["ifindex"]);
    // Converged: nothing to change.
    let mut s = s;
    drop(s.agent.take());
    assert_eq!(
        agent_once(&s.server, &s.credential, &s.host, &s.prefix),
        "0 changes"
    );
}

#[test]
fn a_supplementary_interface_carries_traffic_to_another_vm_on_its_network() {
    if !root_or_skip("a_supplementary_interface_carries_traffic…") {
        return;
    }
    let s = feed_setup();
    let t = tenant(&s.server, "fe-s");
    let vlan_net = t.standard_network("vlan-net", "10.73.0.0/24");
    let vm1 = t.vm("vm1", "linux", true);
    let vm2 = t.vm("vm2", "linux", true);
    let primary = t.admin.vm(&t.project, &vm1).expect("vm1").interfaces[0]
        .id
        .to_string();
    let sup: Value = t
        .admin
        .post(
            &format!(
                "/v1/projects/{}/interfaces/{primary}/supplementary-interfaces",
                t.project
            ),
            &json!({"network_id": vlan_net, "vlan_id": 100}),
        )
        .expect("supplementary");
    let sup_id = sup["id"].as_str().expect("id").to_string();
    let n2 = t
        .admin
        .interface_attach(&t.project, &vm2, &vlan_net, None)
        .expect("vm2 on the VLAN's network");
    wait_until("the supplementary interface is active", || {
        native_status(&t.admin, &t.project, &sup_id) == "active"
    });
    let ns1 = vm_ns(&s.prefix, &vm1);
    let l = link(&ns1, "eth0.100").expect("eth0.100 in vm1");
    assert_eq!(
        l["address"].as_str().unwrap(),
        sup["mac_address"].as_str().unwrap().to_lowercase()
    );
    let sup_ip = ipv4(&t.admin, &t.project, &sup_id);
    assert_eq!(addrs(&l), BTreeSet::from([format!("{sup_ip}/24")]));
    let ip2 = ipv4(&t.admin, &t.project, &n2.id.to_string());
    let ns2 = vm_ns(&s.prefix, &vm2);
    wait_until("vm2's eth1", || link(&ns2, "eth1").is_some());
    assert!(
        reaches(&ns1, &ip2),
        "vm1 reaches vm2 at {ip2} over eth0.100"
    );
    assert!(
        reaches(&ns2, &sup_ip),
        "vm2 reaches vm1's VLAN address {sup_ip}"
    );
    // Deleting it removes the link.
    t.admin
        .delete(&format!(
            "/v1/projects/{}/supplementary-interfaces/{sup_id}",
            t.project
        ))
        .expect("delete");
    wait_until("eth0.100 is gone", || link(&ns1, "eth0.100").is_none());
}

#[test]
fn vms_on_a_custom_network_reach_each_other_with_addresses_they_set_themselves() {
    if !root_or_skip("vms_on_a_custom_network…") {
        return;
    }
    let s = feed_setup();
    let t = tenant(&s.server, "fe-c");
    let l2 = t.custom_network("l2");
    let vm1 = t.vm("vm1", "linux", true);
    let vm2 = t.vm("vm2", "linux", true);
    let mut ids = vec![];
    for vm in [&vm1, &vm2] {
        let n = t
            .admin
            .interface_attach(&t.project, vm, &l2, None)
            .expect("nic on the custom network");
        assert!(n.fixed_ips.is_empty(), "a custom network gives no address");
        // With port security on, a port with no fixed IP sends no IP at all
        // (anti-spoofing, as in Neutron): addresses a VM sets itself need it
        // off.
        let p = port_update(
            &t,
            &n.id.to_string(),
            json!({"port_security_enabled": false}),
        );
        assert_eq!(p["port_security_enabled"], false);
        ids.push(n.id.to_string());
    }
    for id in &ids {
        wait_until("active", || {
            native_status(&t.admin, &t.project, id) == "active"
        });
    }
    let (ns1, ns2) = (vm_ns(&s.prefix, &vm1), vm_ns(&s.prefix, &vm2));
    for (ns, a) in [(&ns1, "192.168.77.1/24"), (&ns2, "192.168.77.2/24")] {
        let out = ip_in(ns, &["addr", "add", a, "dev", "eth1"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(reaches(&ns1, "192.168.77.2"), "vm1 reaches vm2");
    // A pass (started by another event of the host) leaves the VM's own
    // addresses alone.
    let vm3 = t.vm("vm3", "linux", true);
    wait_until("vm3's eth0", || {
        link(&vm_ns(&s.prefix, &vm3), "eth0").is_some()
    });
    assert_eq!(
        addrs(&link(&ns1, "eth1").expect("eth1")),
        BTreeSet::from(["192.168.77.1/24".to_string()])
    );
    assert!(reaches(&ns2, "192.168.77.1"), "vm2 reaches vm1");
}

#[test]
fn a_windows_vm_gets_its_nic_while_stopped_and_has_it_when_started() {
    if !root_or_skip("a_windows_vm_gets_its_nic…") {
        return;
    }
    let s = feed_setup();
    let t = tenant(&s.server, "fe-w");
    let app = t.standard_network("app", "10.74.0.0/24");
    let win = t.vm("win", "windows", true);
    let peer = t.vm("peer", "linux", true);
    let np = t
        .admin
        .interface_attach(&t.project, &peer, &app, None)
        .expect("peer nic");
    assert_api_error(
        t.power.interface_attach(&t.project, &win, &app, None),
        409,
        "VmMustBeStopped",
        "VM win runs Windows and is running: stop the VM before adding or removing network interfaces.",
    );
    t.power.vm_stop(&t.project, &win).expect("stop");
    let nw = t
        .power
        .interface_attach(&t.project, &win, &app, None)
        .expect("stopped windows attach");
    let id = nw.id.to_string();
    wait_until("the stopped VM's new NIC is down", || {
        native_status(&t.admin, &t.project, &id) == "down"
    });
    let ns = vm_ns(&s.prefix, &win);
    let eth1 = link(&ns, "eth1").expect("the NIC exists while stopped");
    assert!(!is_up(&eth1), "down while stopped: {eth1}");
    assert_eq!(
        eth1["address"].as_str().unwrap(),
        nw.mac_address.to_string().to_lowercase()
    );
    t.power.vm_start(&t.project, &win).expect("start");
    wait_until("started: active", || {
        native_status(&t.admin, &t.project, &id) == "active"
    });
    assert!(is_up(&link(&ns, "eth1").expect("eth1")));
    let peer_ip = ipv4(&t.admin, &t.project, &np.id.to_string());
    assert!(reaches(&ns, &peer_ip), "the Windows VM reaches {peer_ip}");
}

/// The host ends (`<prefix>-h-*`) in the fabric namespace.
fn host_ends(prefix: &Prefix) -> BTreeSet<String> {
    let fabric = format!("{}-fabric", prefix.0);
    let out = ip_in(&fabric, &["-json", "link", "show"]);
    let links: Vec<Value> = serde_json::from_slice(&out.stdout).expect("fabric links");
    links
        .iter()
        .filter_map(|l| l["ifname"].as_str().map(String::from))
        .filter(|n| n.starts_with(&format!("{}-h-", prefix.0)))
        .collect()
}

/// The VM namespaces and the fabric (not the routers' namespaces: the
/// project's implicit router comes and goes with its networks, agent_l3.rs).
fn vm_and_fabric_namespaces(prefix: &Prefix) -> BTreeSet<String> {
    let fabric = format!("{}-fabric", prefix.0);
    let vm = format!("{}-vm-", prefix.0);
    prefix
        .namespaces()
        .into_iter()
        .filter(|n| *n == fabric || n.starts_with(&vm))
        .collect()
}

#[test]
fn an_agent_killed_during_churn_converges_on_restart_with_nothing_left_over() {
    if !root_or_skip("an_agent_killed_during_churn…") {
        return;
    }
    let mut s = feed_setup();
    let t = tenant(&s.server, "fe-k");
    let app = t.standard_network("app", "10.75.0.0/24");
    let vms: Vec<String> = (0..3)
        .map(|i| t.vm(&format!("vm{i}"), "linux", true))
        .collect();
    wait_until("three VM namespaces and the fabric", || {
        vm_and_fabric_namespaces(&s.prefix).len() == 4
    });
    // Churn: attach and detach in a bounded loop; the agent is killed
    // (SIGKILL) in the middle, likely during a pass, and the churn goes on.
    let mut kept = vec![];
    for round in 0..12 {
        let vm = &vms[round % vms.len()];
        let n = t
            .admin
            .interface_attach(&t.project, vm, &app, None)
            .expect("attach");
        if round % 3 == 0 {
            kept.push(n.id.to_string());
        } else {
            t.admin
                .interface_detach(&t.project, vm, &n.id.to_string())
                .expect("detach");
        }
        if round == 6 {
            drop(s.agent.take());
        }
    }
    // A VM deleted and one created while no agent runs.
    t.power.vm_delete(&t.project, &vms[2]).expect("delete");
    let vm4 = t.vm("vm4", "linux", true);
    s.agent = Some(agent_with(
        &s.server,
        &s.credential,
        &s.host,
        &s.prefix,
        FEED_ONLY,
    ));
    let fabric = format!("{}-fabric", s.prefix.0);
    let live = [&vms[0], &vms[1], &vm4];
    let want_ns: BTreeSet<String> = live
        .iter()
        .map(|v| vm_ns(&s.prefix, v))
        .chain([fabric])
        .collect();
    wait_until("the namespaces match the desired state", || {
        vm_and_fabric_namespaces(&s.prefix) == want_ns
    });
    // Every desired interface has its link with its MAC, nothing else.
    let mut want_ends = BTreeSet::new();
    for vm in live {
        let detail = t.admin.vm(&t.project, vm).expect("vm");
        let ns = vm_ns(&s.prefix, vm);
        let want: BTreeSet<(String, String)> = detail
            .interfaces
            .iter()
            .map(|i| {
                want_ends.insert(format!(
                    "{}-h-{}",
                    s.prefix.0,
                    short_interface(&i.id.to_string())
                ));
                (i.id.to_string(), i.mac_address.to_string().to_lowercase())
            })
            .collect();
        wait_until("the VM's links match", || {
            let out = ip_in(&ns, &["-json", "-details", "link", "show"]);
            let links: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
            let have: BTreeSet<(String, String)> = links
                .iter()
                .filter(|l| l["ifname"] != "lo")
                .map(|l| {
                    (
                        l["ifalias"].as_str().unwrap_or_default().to_string(),
                        l["address"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            have == want
        });
    }
    wait_until("one host end per desired interface", || {
        host_ends(&s.prefix) == want_ends
    });
    for id in &kept {
        wait_until("kept interfaces are active", || {
            native_status(&t.admin, &t.project, id) == "active"
        });
    }
    // Converged: a pass changes nothing.
    drop(s.agent.take());
    assert_eq!(
        agent_once(&s.server, &s.credential, &s.host, &s.prefix),
        "0 changes"
    );
}

#[test]
fn bench_dataplane_prints_well_formed_figures_for_a_tiny_run() {
    if !root_or_skip("bench_dataplane_prints…") {
        return;
    }
    let out = Command::new(BIN)
        .args([
            "bench",
            "dataplane",
            "--attaches",
            "3",
            "--interfaces",
            "4",
            "--prefix",
            &Prefix::new().0,
        ])
        .env("NICPLANE_ADMIN_PASSWORD", "bench-smoke-password")
        .output()
        .expect("bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    let find = |label: &str| -> Vec<f64> {
        let line = lines
            .iter()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no line '{label}' in:\n{stdout}"));
        line[label.len()..]
            .split_whitespace()
            .filter_map(|w| {
                w.split_once('=')
                    .map(|(_, v)| v.trim_end_matches("ms").trim_end_matches('s'))
            })
            .map(|v| {
                v.parse::<f64>()
                    .unwrap_or_else(|_| panic!("not a number: {v} in {line}"))
            })
            .collect()
    };
    assert_eq!(find("attach to ACTIVE:").len(), 3, "{stdout}");
    assert_eq!(find("attach to first ping:").len(), 3, "{stdout}");
    let cold = find("cold start:");
    assert_eq!(cold.len(), 3, "{stdout}");
    assert_eq!(cold[0], 4.0, "interfaces=4\n{stdout}");
    assert!(cold[1] > 0.0, "a cold start changes things\n{stdout}");
    let restart = find("restart:");
    assert_eq!(restart.len(), 2, "{stdout}");
    assert_eq!(restart[0], 0.0, "no drift: zero changes\n{stdout}");
}

#[test]
fn an_events_pass_reads_only_the_vms_that_changed_and_a_full_pass_finds_drift() {
    if !root_or_skip("an_events_pass_reads_only…") {
        return;
    }
    let log =
        std::env::temp_dir().join(format!("nicplane-agent-passes-{}.log", std::process::id()));
    let mut s = feed_setup_logging(Some(&log));
    let prefix = &s.prefix;
    let t = tenant(&s.server, "fe-p");
    let vms: Vec<String> = (0..3)
        .map(|i| t.vm(&format!("vm{i}"), "linux", true))
        .collect();
    wait_until("three VMs realized", || {
        vms.iter()
            .all(|v| link(&vm_ns(prefix, v), "eth0").is_some())
    });
    // Drift that no event reports: vm2's link deleted by hand.
    let ns2 = vm_ns(prefix, &vms[2]);
    let out = ip_in(&ns2, &["link", "del", "eth0"]);
    assert!(out.status.success(), "{out:?}");
    let app = t.standard_network("app", "10.74.0.0/24");
    let nic = t
        .admin
        .interface_attach(&t.project, &vms[0], &app, None)
        .expect("hot-plug");
    let id = nic.id.to_string();
    wait_until("the hot-plugged interface is active", || {
        native_status(&t.admin, &t.project, &id) == "active"
    });
    assert!(link(&vm_ns(prefix, &vms[0]), "eth1").is_some());
    // The attach's pass read the VM that changed, not the other two...
    let text = std::fs::read_to_string(&log).expect("the agent's log");
    let _ = std::fs::remove_file(&log);
    let pass = text
        .lines()
        .rfind(|l| l.contains("pass done") && l.contains("Changes pass"))
        .unwrap_or_else(|| panic!("no pass of an event in the log:\n{text}"));
    assert!(pass.contains(", 1 VMs read ("), "{pass}");
    // ...so vm2's drift is still there, until a full pass (the resync; here
    // a one-shot agent, whose first pass is a full one) puts it back.
    assert!(link(&ns2, "eth0").is_none());
    drop(s.agent.take());
    let once = agent_once(&s.server, &s.credential, &s.host, prefix);
    assert_ne!(once, "0 changes");
    assert!(
        link(&ns2, "eth0").is_some(),
        "the full pass restores vm2's link"
    );
    assert_eq!(
        agent_once(&s.server, &s.credential, &s.host, prefix),
        "0 changes"
    );
}
