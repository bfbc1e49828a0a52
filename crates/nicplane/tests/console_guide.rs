//! Every scenario of the console guide, over HTTP against the real binary.

mod common;

use common::*;
use nicplane_domain::types::{NetworkKind, OsType, PowerState};
use serde_json::json;

#[test]
fn a_new_vm_has_one_primary_interface_on_the_default_network() {
    let s = Server::start(&[]);
    let t = tenant(&s, "view");
    let vm = t.vm("web-1", "linux", true);
    let d = t.reader.vm(&t.project, &vm).expect("reader sees the VM");
    assert_eq!(d.interfaces.len(), 1);
    let i = &d.interfaces[0];
    assert!(i.primary);
    assert_eq!(i.network_name, "Default Network");
    assert!(i.ipv4().is_some(), "an IPv4 address");
    assert!(i.ipv6().is_some(), "the Default Network has IPv6");
    assert!(i.mac_address.is_local());
    assert_eq!(i.public_ip, None);
    assert_eq!(d.vm.os_type, OsType::Linux);
    assert_eq!(d.vm.power_state, PowerState::Running);
    let nets = t.reader.networks(&t.project).expect("networks");
    let default = nets
        .iter()
        .find(|n| n.network.is_default)
        .expect("default network");
    assert_eq!(default.network.kind, NetworkKind::Standard);
}

#[test]
fn attach_fails_when_vm_has_five_interfaces() {
    let s = Server::start(&[]);
    let t = tenant(&s, "limit");
    let net = t.standard_network("app", "10.10.0.0/24");
    let vm = t.vm("web", "linux", true);
    for _ in 0..4 {
        t.power
            .interface_attach(&t.project, &vm, &net, None)
            .expect("attach");
    }
    assert_eq!(t.power.vm(&t.project, &vm).unwrap().interfaces.len(), 5);
    assert_api_error(
        t.power.interface_attach(&t.project, &vm, &net, None),
        409,
        "InterfaceLimitReached",
        "VM web already has 5 network interfaces, the maximum is 5.",
    );
    assert_eq!(t.power.vm(&t.project, &vm).unwrap().interfaces.len(), 5);
}

#[test]
fn the_interface_limit_is_a_deployment_setting() {
    let s = Server::start(&["--interface-limit", "2"]);
    let t = tenant(&s, "limit2");
    let vm = t.vm("web", "linux", true);
    let net = t.standard_network("app", "10.10.0.0/24");
    t.power
        .interface_attach(&t.project, &vm, &net, None)
        .expect("second");
    assert_api_error(
        t.power.interface_attach(&t.project, &vm, &net, None),
        409,
        "InterfaceLimitReached",
        "VM web already has 2 network interfaces, the maximum is 2.",
    );
}

#[test]
fn removing_an_interface_releases_its_addresses_and_public_ip() {
    let s = Server::start(&[]);
    let t = tenant(&s, "remove");
    let net = t.standard_network("app", "10.10.0.0/24");
    let vm = t.vm("web", "linux", true);
    let i = t
        .power
        .interface_attach(&t.project, &vm, &net, Some("10.10.0.77"))
        .expect("attach");
    let ip = t
        .power
        .public_ip_allocate(&t.project, &i.id.to_string())
        .expect("public ip");
    t.power
        .interface_detach(&t.project, &vm, &i.id.to_string())
        .expect("detach");
    let d = t.power.vm(&t.project, &vm).unwrap();
    assert_eq!(d.interfaces.len(), 1);
    assert!(t
        .power
        .public_ips(&t.project)
        .unwrap()
        .iter()
        .all(|p| p.address != ip.address));
    // The private address is free again: it can be requested explicitly.
    let again = t
        .power
        .interface_attach(&t.project, &vm, &net, Some("10.10.0.77"))
        .expect("reuse");
    assert_eq!(again.ipv4().unwrap().to_string(), "10.10.0.77");
}

#[test]
fn the_primary_interface_cannot_be_removed() {
    let s = Server::start(&[]);
    let t = tenant(&s, "primary");
    let vm = t.vm("web", "linux", true);
    let primary = t.power.vm(&t.project, &vm).unwrap().interfaces[0]
        .id
        .to_string();
    assert_api_error(
        t.power.interface_detach(&t.project, &vm, &primary),
        409,
        "PrimaryInterface",
        &format!(
            "Network interface {primary} is the primary interface of its VM and cannot be removed."
        ),
    );
    assert_api_error(
        t.power
            .delete(&format!("/v1/projects/{}/interfaces/{primary}", t.project)),
        409,
        "PrimaryInterface",
        &format!(
            "Network interface {primary} is the primary interface of its VM and cannot be removed."
        ),
    );
    assert_eq!(t.power.vm(&t.project, &vm).unwrap().interfaces.len(), 1);
}

#[test]
fn linux_hot_plugs_while_windows_must_be_stopped() {
    let s = Server::start(&[]);
    let t = tenant(&s, "hotplug");
    let net = t.standard_network("app", "10.10.0.0/24");
    let linux = t.vm("lin", "linux", true);
    let i = t
        .power
        .interface_attach(&t.project, &linux, &net, None)
        .expect("linux running attach");
    t.power
        .interface_detach(&t.project, &linux, &i.id.to_string())
        .expect("linux running detach");

    let win = t.vm("win", "windows", true);
    assert_api_error(
        t.power.interface_attach(&t.project, &win, &net, None),
        409,
        "VmMustBeStopped",
        "VM win runs Windows and is running: stop the VM before adding or removing network interfaces.",
    );
    t.power.vm_stop(&t.project, &win).expect("stop");
    let wi = t
        .power
        .interface_attach(&t.project, &win, &net, None)
        .expect("stopped windows attach");
    t.power.vm_start(&t.project, &win).expect("start");
    assert_api_error(
        t.power
            .interface_detach(&t.project, &win, &wi.id.to_string()),
        409,
        "VmMustBeStopped",
        "VM win runs Windows and is running: stop the VM before adding or removing network interfaces.",
    );
    t.power.vm_stop(&t.project, &win).expect("stop");
    t.power
        .interface_detach(&t.project, &win, &wi.id.to_string())
        .expect("stopped windows detach");
}

#[test]
fn the_network_must_be_in_the_vms_data_center() {
    let s = Server::start(&[]);
    let cloud = s.admin();
    let t = tenant(&s, "dc");
    let other = cloud.data_center_create("dc2").expect("dc2").id.to_string();
    let far = t
        .admin
        .network_create(&t.project, &json!({"name": "far", "data_center_id": other, "kind": "standard", "subnets": [{"cidr": "10.50.0.0/24"}]}))
        .expect("network in dc2")
        .network
        .id
        .to_string();
    let vm = t.vm("web", "linux", true);
    assert_api_error(
        t.power.interface_attach(&t.project, &vm, &far, None),
        400,
        "InvalidRequest",
        "Network far is in another data center than VM web; a VM can only use networks of its own data center.",
    );
    // The project got a Default Network in the new data center too.
    let nets = t.admin.networks(&t.project).unwrap();
    assert_eq!(nets.iter().filter(|n| n.network.is_default).count(), 2);
}

#[test]
fn fixed_ips_must_be_in_the_subnet_usable_and_free() {
    let s = Server::start(&[]);
    let t = tenant(&s, "fixed");
    let net = t.standard_network("app", "10.10.0.0/24");
    let vm = t.vm("web", "linux", true);
    let vm2 = t.vm("web2", "linux", true);
    let i = t
        .power
        .interface_attach(&t.project, &vm, &net, Some("10.10.0.10"))
        .expect("in subnet");
    assert_eq!(i.ipv4().unwrap().to_string(), "10.10.0.10");
    for (ip, message) in [
        (
            "10.11.0.10",
            "The IP address 10.11.0.10 is not in any subnet of network app.",
        ),
        (
            "10.10.0.0",
            "The IP address 10.10.0.0 is the network address of subnet app-v4 and cannot be assigned.",
        ),
        (
            "10.10.0.255",
            "The IP address 10.10.0.255 is the broadcast address of subnet app-v4 and cannot be assigned.",
        ),
        (
            "10.10.0.1",
            "The IP address 10.10.0.1 is the gateway of subnet app-v4 and cannot be assigned.",
        ),
    ] {
        assert_api_error(
            t.power.interface_attach(&t.project, &vm2, &net, Some(ip)),
            400,
            "InvalidRequest",
            message,
        );
    }
    assert_api_error(
        t.power
            .interface_attach(&t.project, &vm2, &net, Some("10.10.0.10")),
        409,
        "AddressInUse",
        "The IP address 10.10.0.10 is already in use on subnet app-v4.",
    );
    assert_eq!(
        t.power.vm(&t.project, &vm2).unwrap().interfaces.len(),
        1,
        "failures changed nothing"
    );
}

#[test]
fn public_ip_allocate_and_release_and_the_next_one_differs() {
    let s = Server::start(&[]);
    let t = tenant(&s, "pub");
    let vm = t.vm("web", "linux", true);
    let primary = t.power.vm(&t.project, &vm).unwrap().interfaces[0]
        .id
        .to_string();
    let first = t
        .power
        .public_ip_allocate(&t.project, &primary)
        .expect("allocate");
    assert_eq!(
        first.interface_id.map(|i| i.to_string()),
        Some(primary.clone())
    );
    let shown = t.reader.vm(&t.project, &vm).unwrap().interfaces[0].public_ip;
    assert_eq!(shown, Some(first.address));
    assert_api_error(
        t.power.public_ip_allocate(&t.project, &primary),
        409,
        "PublicIpExists",
        &format!(
            "Network interface {primary} already has the public IP {}.",
            first.address
        ),
    );
    t.power
        .public_ip_release(&t.project, &primary)
        .expect("release");
    assert_eq!(
        t.reader.vm(&t.project, &vm).unwrap().interfaces[0].public_ip,
        None
    );
    let second = t
        .power
        .public_ip_allocate(&t.project, &primary)
        .expect("allocate again");
    assert_ne!(second.address, first.address, "release is permanent");
    // Another tenant does not get the released address either.
    let t2 = tenant(&s, "pub2");
    let vm2 = t2.vm("other", "linux", true);
    let p2 = t2.power.vm(&t2.project, &vm2).unwrap().interfaces[0]
        .id
        .to_string();
    let third = t2
        .power
        .public_ip_allocate(&t2.project, &p2)
        .expect("other tenant");
    assert_ne!(third.address, first.address);
}

#[test]
fn custom_l2_networks_get_no_public_ip() {
    let s = Server::start(&[]);
    let t = tenant(&s, "l2");
    let l2 = t.custom_network("storage");
    let vm = t.vm("web", "linux", true);
    let i = t
        .power
        .interface_attach(&t.project, &vm, &l2, None)
        .expect("attach L2");
    assert!(i.fixed_ips.is_empty());
    assert_api_error(
        t.power.public_ip_allocate(&t.project, &i.id.to_string()),
        409,
        "NetworkNotRoutable",
        "Network storage is a custom (L2) network; public IPs can only be allocated on interfaces of standard (L3) networks.",
    );
}

#[test]
fn an_exhausted_pool_is_a_clear_409_and_released_addresses_come_back_last() {
    let s = Server::start(&["--public-cidr", "198.51.100.0/29"]);
    let t = tenant(&s, "exhaust");
    // A /29 has 6 hosts; the first is the gateway: 5 public IPs.
    let mut nics = Vec::new();
    for n in 0..2 {
        let vm = t.vm(&format!("vm{n}"), "linux", true);
        let net = t.power.vm(&t.project, &vm).unwrap().interfaces[0]
            .network_id
            .to_string();
        nics.push((
            vm.clone(),
            t.power.vm(&t.project, &vm).unwrap().interfaces[0]
                .id
                .to_string(),
        ));
        for _ in 0..2 {
            let i = t
                .power
                .interface_attach(&t.project, &vm, &net, None)
                .unwrap();
            nics.push((vm.clone(), i.id.to_string()));
        }
    }
    let allocate = |nic: &str| {
        t.power
            .public_ip_allocate(&t.project, nic)
            .expect("allocate")
            .address
    };
    let got: Vec<_> = nics.iter().take(4).map(|(_, nic)| allocate(nic)).collect();
    // One never-used address is left; a released one goes behind it.
    t.power.public_ip_release(&t.project, &nics[0].1).unwrap();
    let fresh = allocate(&nics[4].1);
    assert!(
        !got.contains(&fresh),
        "a never-used address ({fresh}) is preferred over the released {}",
        got[0]
    );
    let reused = allocate(&nics[5].1);
    assert_eq!(
        reused, got[0],
        "the released address is handed out once no never-used one is left"
    );
    assert_api_error(
        t.power.public_ip_allocate(&t.project, &nics[0].1),
        409,
        "CapacityExhausted",
        "The public IP pool public is exhausted: no public IP address is free.",
    );
    // Release two; they come back in release order.
    t.power.public_ip_release(&t.project, &nics[2].1).unwrap();
    t.power.public_ip_release(&t.project, &nics[1].1).unwrap();
    let a = allocate(&nics[0].1);
    assert_eq!(a, got[2], "the address released longest ago comes first");
    let b = allocate(&nics[2].1);
    assert_eq!(b, got[1], "then the next one released");
}

#[test]
fn readers_cannot_write_and_other_projects_are_invisible() {
    let s = Server::start(&[]);
    let t = tenant(&s, "roles");
    let other = tenant(&s, "others");
    let vm = t.vm("web", "linux", true);
    let net = t.standard_network("app", "10.10.0.0/24");
    assert_api_error(
        t.reader.interface_attach(&t.project, &vm, &net, None),
        403,
        "Forbidden",
        "The Tenant Reader role is read-only; this needs the Tenant Administrator or Tenant Power User role.",
    );
    assert_api_error(
        t.reader.vm_create(&t.project, "x", &t.dc, "linux", true),
        403,
        "Forbidden",
        "The Tenant Reader role is read-only; this needs the Tenant Administrator or Tenant Power User role.",
    );
    assert_api_error(
        t.power.network_create(
            &t.project,
            &json!({"name": "n", "data_center_id": t.dc, "kind": "custom"}),
        ),
        403,
        "Forbidden",
        "The Tenant Power User role cannot do this; it needs the Tenant Administrator role.",
    );
    // Another project's user sees neither the project nor the VM: 404, not 403.
    assert_api_error(
        other.admin.vm(&t.project, &vm),
        404,
        "NotFound",
        &format!("Project {} could not be found.", t.project),
    );
    assert_api_error(
        other.admin.vm(&other.project, &vm),
        404,
        "NotFound",
        &format!("VM {vm} could not be found."),
    );
    let other_net = other.standard_network("theirs", "10.60.0.0/24");
    assert_api_error(
        t.power.interface_attach(&t.project, &vm, &other_net, None),
        404,
        "NotFound",
        &format!("Network {other_net} could not be found."),
    );
    // No token: 401.
    assert_api_error(
        s.client().vms(&t.project),
        401,
        "Unauthenticated",
        "Log in first: send the token as 'Authorization: Bearer <token>'.",
    );
}
