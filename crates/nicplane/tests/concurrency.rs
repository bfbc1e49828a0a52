//! Rules under concurrency: parallel requests against one server must never
//! exceed a limit or hand out an address twice.

mod common;

use common::*;
use serde_json::json;
use std::collections::HashSet;
use std::sync::{Arc, Barrier};

/// An interface's fixed IPs, in order.
fn addresses(i: &nicplane_domain::model::Interface) -> Vec<std::net::IpAddr> {
    i.fixed_ips.iter().map(|f| f.ip_address).collect()
}

#[test]
fn fifty_parallel_attaches_leave_exactly_five_interfaces() {
    let s = Server::start(&[]);
    let t = tenant(&s, "race");
    let net = t.standard_network("app", "10.10.0.0/24");
    let vm = t.vm("web", "linux", true);
    let n = 50;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let c = t.power.clone();
            let b = barrier.clone();
            let (p, v, net) = (t.project.clone(), vm.clone(), net.clone());
            std::thread::spawn(move || {
                b.wait();
                c.interface_attach(&p, &v, &net, None)
            })
        })
        .collect();
    let results: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let limit = results
        .iter()
        .filter(|r| matches!(r, Err(e) if e.status() == Some(409) && e.code() == Some("InterfaceLimitReached")))
        .count();
    assert_eq!(ok, 4, "the primary plus four more");
    assert_eq!(limit, 46, "every other request is a clean 409");
    let d = t.power.vm(&t.project, &vm).unwrap();
    assert_eq!(d.interfaces.len(), 5);
    assert_eq!(d.vm.interface_count, 5);
    let macs: HashSet<_> = d.interfaces.iter().map(|i| i.mac_address).collect();
    assert_eq!(macs.len(), 5);
    // Every stored interface has its own fixed IP, and the four winners'
    // answers are what was stored.
    let all_ips: Vec<_> = d.interfaces.iter().flat_map(addresses).collect();
    let ips: HashSet<_> = all_ips.iter().collect();
    assert_eq!(
        ips.len(),
        all_ips.len(),
        "no fixed IP is held twice: {all_ips:?}"
    );
    for i in d.interfaces.iter().filter(|i| !i.primary) {
        assert_eq!(i.fixed_ips.len(), 1, "one address on the IPv4-only network");
    }
    let stored: HashSet<_> = d
        .interfaces
        .iter()
        .filter(|i| !i.primary)
        .map(|i| (i.id, i.mac_address, addresses(i)))
        .collect();
    let answered: HashSet<_> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|i| (i.id, i.mac_address, addresses(i)))
        .collect();
    assert_eq!(stored, answered, "the answers are what was stored");
}

#[test]
fn five_hundred_parallel_public_ip_allocations_never_repeat_an_address() {
    // The pool, not the project's floatingip quota (50), is what runs out.
    let s = Server::start(&[
        "--public-cidr",
        "198.51.100.0/24",
        "--quota-default",
        "floatingip=-1",
    ]);
    let t = tenant(&s, "pool");
    let n = 500;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let c = t.power.clone();
            let b = barrier.clone();
            let (p, dc) = (t.project.clone(), t.dc.clone());
            std::thread::spawn(move || {
                b.wait();
                c.post::<nicplane_domain::model::PublicIp>(
                    &format!("/v1/projects/{p}/public-ips"),
                    &json!({"data_center_id": dc}),
                )
            })
        })
        .collect();
    let results: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let addrs: Vec<_> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|p| p.address)
        .collect();
    let unique: HashSet<_> = addrs.iter().collect();
    assert_eq!(unique.len(), addrs.len(), "no address handed out twice");
    assert_eq!(
        addrs.len(),
        253,
        "a /24 minus network, gateway and broadcast"
    );
    for r in &results {
        if let Err(e) = r {
            assert_eq!(e.status(), Some(409), "{e}");
            assert_eq!(e.code(), Some("CapacityExhausted"));
        }
    }
    // What was stored is what was answered, address for address.
    let stored: HashSet<_> = t
        .power
        .public_ips(&t.project)
        .unwrap()
        .into_iter()
        .map(|p| (p.id, p.address))
        .collect();
    let answered: HashSet<_> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|p| (p.id, p.address))
        .collect();
    assert_eq!(stored.len(), 253);
    assert_eq!(
        stored, answered,
        "the stored public IPs are the answered ones"
    );
}

#[test]
fn five_hundred_parallel_private_allocations_in_a_24_never_repeat_an_address() {
    let s = Server::start(&[]);
    let t = tenant(&s, "ipam");
    let net = t.standard_network("small", "10.77.0.0/24");
    let n = 500;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let c = t.power.clone();
            let b = barrier.clone();
            let (p, net) = (t.project.clone(), net.clone());
            std::thread::spawn(move || {
                b.wait();
                c.post::<nicplane_domain::model::Interface>(
                    &format!("/v1/projects/{p}/interfaces"),
                    &json!({"network_id": net}),
                )
            })
        })
        .collect();
    let results: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let addrs: Vec<_> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|i| i.ipv4().expect("v4"))
        .collect();
    let unique: HashSet<_> = addrs.iter().collect();
    assert_eq!(unique.len(), addrs.len());
    assert_eq!(addrs.len(), 253, "hosts of a /24 minus the gateway");
    assert!(results.iter().all(|r| match r {
        Ok(_) => true,
        Err(e) => e.status() == Some(409) && e.code() == Some("CapacityExhausted"),
    }));
    // Re-list what was stored: 253 interfaces with distinct addresses and
    // MACs, each exactly as its creator was told.
    let stored = t
        .power
        .interfaces(&t.project, &format!("network_id={net}"))
        .unwrap();
    assert_eq!(stored.len(), 253, "every winner was stored, nothing else");
    let stored_addrs: HashSet<_> = stored.iter().map(|i| i.ipv4().expect("v4")).collect();
    assert_eq!(stored_addrs.len(), 253, "the stored addresses are distinct");
    let stored_macs: HashSet<_> = stored.iter().map(|i| i.mac_address).collect();
    assert_eq!(stored_macs.len(), 253, "the stored MACs are distinct");
    let stored_view: HashSet<_> = stored
        .iter()
        .map(|i| (i.id, i.mac_address, i.ipv4().expect("v4")))
        .collect();
    let answered: HashSet<_> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|i| (i.id, i.mac_address, i.ipv4().expect("v4")))
        .collect();
    assert_eq!(
        stored_view, answered,
        "the stored interfaces are the answered ones"
    );
}
