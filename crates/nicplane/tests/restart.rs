//! Restart: stop the server, start it on the same data, everything is there.

mod common;

use common::*;

#[test]
fn everything_survives_a_restart() {
    let mut s = Server::start(&[]);
    let t = tenant(&s, "persist");
    let net = t.standard_network("app", "10.10.0.0/24");
    let vm = t.vm("web", "linux", true);
    let i = t
        .power
        .interface_attach(&t.project, &vm, &net, Some("10.10.0.42"))
        .unwrap();
    let ip = t
        .power
        .public_ip_allocate(&t.project, &i.id.to_string())
        .unwrap();
    let before = t.power.vm(&t.project, &vm).unwrap();
    let dir = s.dir.clone();
    s.stop();

    let s2 = Server::start_in(dir, &[]);
    let mut c = s2.client();
    c.login("persist-power", PASSWORD).expect("users survive");
    let after = c.vm(&t.project, &vm).expect("the VM survives");
    assert_eq!(after.interfaces.len(), 2);
    assert_eq!(
        serde_json::to_value(&before.interfaces).unwrap(),
        serde_json::to_value(&after.interfaces).unwrap()
    );
    assert_eq!(c.public_ips(&t.project).unwrap()[0].address, ip.address);
    // The allocator state survived too: the address is still taken.
    let e = c
        .interface_attach(&t.project, &vm, &net, Some("10.10.0.42"))
        .unwrap_err();
    assert_eq!(e.code(), Some("AddressInUse"));
    // And the bootstrap did not run twice.
    let admin = s2.admin();
    assert_eq!(admin.data_centers().unwrap().len(), 1);
    assert_eq!(admin.pools().unwrap().len(), 1);
}
