//! Quotas as a hostile tenant meets them (issue 9, point 4): every resource
//! stops at its limit with Neutron's message, one tenant cannot drain the
//! shared public IP pool, only the cloud admin changes limits, parallel
//! creates never pass a limit, and the usage the server keeps equals the rows
//! it holds after a mixed workload. On PostgreSQL when
//! NICPLANE_TEST_POSTGRES_URL is set.

mod common;

use common::*;
use nicplane_client::{Client, QuotaReport};
use reqwest::Method;
use serde_json::{json, Value};

const OVER_QUOTA: &str = "OverQuota";

fn over_quota(resource: &str) -> String {
    format!("Quota exceeded for resources: ['{resource}'].")
}

fn used(c: &Client, project: &str, resource: &str) -> i64 {
    entry(&c.quota_show(project).expect("quota show"), resource).0
}

/// (used, limit) of a resource.
fn entry(r: &QuotaReport, resource: &str) -> (i64, i64) {
    let q = r
        .quotas
        .iter()
        .find(|q| q.resource.as_str() == resource)
        .unwrap_or_else(|| panic!("no {resource} in {r:?}"));
    (q.used, q.limit)
}

/// Let the project create exactly `room` more objects of a resource.
fn leave_room(s: &Server, project: &str, resource: &str, room: i64) {
    let admin = s.admin();
    let u = used(&admin, project, resource);
    admin
        .quota_set(project, &json!({ resource: u + room }))
        .expect("quota set");
}

/// An error's (status, code, message) from a raw native call.
fn raw(c: &Client, method: Method, path: &str, body: Option<&Value>) -> (u16, String, String) {
    let r = c.raw(method, path, body, &[]).expect("answer");
    let (code, message) = error_of(&r.body);
    (r.status, code.to_string(), message.to_string())
}

fn create_port(t: &Tenant, net: &str) -> (u16, String, String) {
    raw(
        &t.power,
        Method::POST,
        &format!("/v1/projects/{}/interfaces", t.project),
        Some(&json!({"network_id": net})),
    )
}

fn refused(r: (u16, String, String), resource: &str) {
    assert_eq!(
        (r.0, r.1.as_str(), r.2.as_str()),
        (409, OVER_QUOTA, over_quota(resource).as_str()),
        "over quota of {resource}"
    );
}

#[test]
fn a_new_project_shows_neutrons_defaults_and_counts_its_default_objects() {
    let s = Server::start(&[]);
    let t = tenant(&s, "fresh");
    let r = t.reader.quota_show(&t.project).expect("a reader may look");
    let limits: Vec<(String, i64)> = r
        .quotas
        .iter()
        .map(|q| (q.resource.to_string(), q.limit))
        .collect();
    assert_eq!(
        limits,
        [
            ("network", 100),
            ("subnet", 100),
            ("port", 500),
            ("floatingip", 50),
            ("security_group", 10),
            ("security_group_rule", 100),
            ("router", 10)
        ]
        .map(|(n, l)| (n.to_string(), l))
    );
    // The default security group and its four rules count, as in Neutron.
    assert_eq!(entry(&r, "security_group").0, 1);
    assert_eq!(entry(&r, "security_group_rule").0, 4);
    // The Default Network (and its subnets) count too.
    assert_eq!(entry(&r, "network").0, 1);
    assert_eq!(entry(&r, "subnet").0, 2);
    assert_eq!(entry(&r, "port").0, 0);
}

#[test]
fn every_resource_stops_at_its_quota_with_neutrons_message() {
    let s = Server::start(&[]);
    let t = tenant(&s, "greedy");
    let p = t.project.clone();

    // network
    leave_room(&s, &p, "network", 1);
    t.custom_network("one");
    let r = raw(
        &t.admin,
        Method::POST,
        &format!("/v1/projects/{p}/networks"),
        Some(&json!({"name": "two", "data_center_id": t.dc, "kind": "custom"})),
    );
    refused(r, "network");

    // subnet: the refused network+subnet leaves no network behind.
    s.admin().quota_set(&p, &json!({"network": -1})).unwrap();
    leave_room(&s, &p, "subnet", 1);
    let net = t.standard_network("app", "10.1.0.0/24");
    let networks_before = used(&t.admin, &p, "network");
    let r = raw(
        &t.admin,
        Method::POST,
        &format!("/v1/projects/{p}/networks"),
        Some(
            &json!({"name": "app2", "data_center_id": t.dc, "kind": "standard",
                     "subnets": [{"cidr": "10.2.0.0/24"}]}),
        ),
    );
    refused(r, "subnet");
    assert_eq!(used(&t.admin, &p, "network"), networks_before);

    // port
    leave_room(&s, &p, "port", 2);
    for _ in 0..2 {
        assert_eq!(create_port(&t, &net).0, 201);
    }
    refused(create_port(&t, &net), "port");
    // A VM needs a primary interface: refused too, and no VM is left.
    let r = raw(
        &t.power,
        Method::POST,
        &format!("/v1/projects/{p}/vms"),
        Some(&json!({"name": "vm", "data_center_id": t.dc})),
    );
    refused(r, "port");
    assert!(t.power.vms(&p).unwrap().is_empty());

    // floatingip
    leave_room(&s, &p, "floatingip", 1);
    let alloc = || {
        raw(
            &t.power,
            Method::POST,
            &format!("/v1/projects/{p}/public-ips"),
            Some(&json!({"data_center_id": t.dc})),
        )
    };
    assert_eq!(alloc().0, 201);
    refused(alloc(), "floatingip");

    // security_group
    leave_room(&s, &p, "security_group", 1);
    let sg = |name: &str| {
        raw(
            &t.admin,
            Method::POST,
            &format!("/v1/projects/{p}/security-groups"),
            Some(&json!({ "name": name })),
        )
    };
    assert_eq!(sg("web").0, 201);
    refused(sg("db"), "security_group");

    // security_group_rule
    let group = t.admin.security_groups(&p).unwrap()[0].id.to_string();
    leave_room(&s, &p, "security_group_rule", 1);
    let rule = |port: u16| {
        raw(
            &t.admin,
            Method::POST,
            &format!("/v1/projects/{p}/security-groups/{group}/rules"),
            Some(&json!({"direction": "ingress", "protocol": "tcp",
                         "port_range_min": port, "port_range_max": port})),
        )
    };
    assert_eq!(rule(22).0, 201);
    refused(rule(80), "security_group_rule");
}

#[test]
fn one_tenant_draining_public_ips_stops_at_its_quota_and_another_still_gets_addresses() {
    let s = Server::start(&["--quota-default", "floatingip=3"]);
    let a = tenant(&s, "drainer");
    let b = tenant(&s, "victim");
    let alloc = |t: &Tenant| {
        raw(
            &t.power,
            Method::POST,
            &format!("/v1/projects/{}/public-ips", t.project),
            Some(&json!({"data_center_id": t.dc})),
        )
    };
    let mut won = 0;
    for _ in 0..10 {
        let r = alloc(&a);
        if r.0 == 201 {
            won += 1;
        } else {
            refused(r, "floatingip");
        }
    }
    assert_eq!(won, 3, "the configured default quota of 3");
    assert_eq!(alloc(&b).0, 201, "another tenant still gets an address");
    // Releasing one makes room again.
    let ips = a.power.public_ips(&a.project).unwrap();
    a.power
        .delete(&format!(
            "/v1/projects/{}/public-ips/{}",
            a.project, ips[0].id
        ))
        .unwrap();
    assert_eq!(alloc(&a).0, 201);
    refused(alloc(&a), "floatingip");
}

#[test]
fn only_the_cloud_admin_changes_quotas() {
    let s = Server::start(&[]);
    let t = tenant(&s, "selfish");
    let other = tenant(&s, "other");
    let path = format!("/v1/projects/{}/quotas", t.project);
    // The Tenant Administrator cannot raise its own quota.
    let r = raw(&t.admin, Method::PUT, &path, Some(&json!({"port": 100000})));
    assert_eq!(
        (r.0, r.1.as_str(), r.2.as_str()),
        (403, "Forbidden", "Only the cloud admin can change quotas.")
    );
    // Another project's members do not even see it.
    let r = raw(&other.admin, Method::GET, &path, None);
    assert_eq!((r.0, r.1.as_str()), (404, "NotFound"));
    // Bad values are 400 and change nothing.
    let admin = s.admin();
    let r = raw(&admin, Method::PUT, &path, Some(&json!({"port": -2})));
    assert_eq!(
        (r.0, r.2.as_str()),
        (
            400,
            "Invalid value for port: the quota -2 must be -1 (unlimited) or between 0 and 2147483647."
        )
    );
    let r = raw(&admin, Method::PUT, &path, Some(&json!({"ports": 3})));
    assert_eq!(r.0, 400, "unknown resource: {}", r.2);
    assert_eq!(entry(&admin.quota_show(&t.project).unwrap(), "port").1, 500);
    // The cloud admin sets; -1 is unlimited.
    let r = admin
        .quota_set(&t.project, &json!({"port": 7, "network": -1}))
        .unwrap();
    assert_eq!(entry(&r, "port").1, 7);
    assert_eq!(entry(&r, "network").1, -1);
    let seen = t.reader.quota_show(&t.project).unwrap();
    assert_eq!(entry(&seen, "port").1, 7);
}

#[test]
fn a_limit_below_usage_is_accepted_and_blocks_creates_until_usage_drops() {
    let s = Server::start(&[]);
    let t = tenant(&s, "shrink");
    let net = t.custom_network("l2");
    for _ in 0..3 {
        assert_eq!(create_port(&t, &net).0, 201);
    }
    let r = s
        .admin()
        .quota_set(&t.project, &json!({"port": 1}))
        .expect("below usage is allowed, as in Neutron");
    assert_eq!(entry(&r, "port"), (3, 1));
    refused(create_port(&t, &net), "port");
    let ports = t
        .power
        .interfaces(&t.project, "")
        .expect("interfaces")
        .into_iter()
        .map(|i| i.id.to_string())
        .collect::<Vec<_>>();
    for id in &ports[..2] {
        t.power
            .delete(&format!("/v1/projects/{}/interfaces/{id}", t.project))
            .unwrap();
    }
    refused(create_port(&t, &net), "port");
    t.power
        .delete(&format!(
            "/v1/projects/{}/interfaces/{}",
            t.project, ports[2]
        ))
        .unwrap();
    assert_eq!(create_port(&t, &net).0, 201);
}

#[test]
fn parallel_creates_for_the_last_ports_of_a_quota_have_exactly_that_many_winners() {
    const ROOM: i64 = 4;
    const RACERS: usize = 16;
    let s = Server::start(&[]);
    let t = tenant(&s, "racer");
    let net = t.custom_network("l2");
    leave_room(&s, &t.project, "port", ROOM);
    let barrier = std::sync::Barrier::new(RACERS);
    let results: Vec<(u16, String, String)> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..RACERS)
            .map(|_| {
                let (t, net, barrier) = (&t, &net, &barrier);
                sc.spawn(move || {
                    barrier.wait();
                    create_port(t, net)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners = results.iter().filter(|r| r.0 == 201).count();
    assert_eq!(winners as i64, ROOM);
    for r in results.into_iter().filter(|r| r.0 != 201) {
        refused(r, "port");
    }
    assert_eq!(
        real_count(
            &s,
            "SELECT COUNT(*) FROM interfaces WHERE project_id = $1",
            &t.project
        ),
        used(&t.admin, &t.project, "port")
    );
}

/// Count rows straight from the server's database (`$1` is the project id).
fn real_count(s: &Server, sql: &str, project: &str) -> i64 {
    match &s.database {
        Some(url) => {
            let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
            c.query_one(sql, &[&project]).expect("count").get(0)
        }
        None => {
            let c = rusqlite::Connection::open(s.dir.join("nicplane.db")).expect("open");
            c.query_row(&sql.replace("$1", "?1"), [project], |r| r.get(0))
                .expect("count")
        }
    }
}

/// Every resource's usage as the server keeps it equals the rows it holds.
fn assert_usage_is_real(s: &Server, project: &str) {
    let report = s.admin().quota_show(project).unwrap();
    let queries = [
        ("port", "SELECT COUNT(*) FROM interfaces WHERE project_id = $1"),
        ("network", "SELECT COUNT(*) FROM networks WHERE project_id = $1"),
        (
            "subnet",
            "SELECT COUNT(*) FROM subnets s JOIN networks n ON n.id = s.network_id WHERE n.project_id = $1",
        ),
        ("floatingip", "SELECT COUNT(*) FROM public_ips WHERE project_id = $1"),
        (
            "security_group",
            "SELECT COUNT(*) FROM security_groups WHERE project_id = $1",
        ),
        (
            "security_group_rule",
            "SELECT COUNT(*) FROM security_group_rules r JOIN security_groups g \
             ON g.id = r.security_group_id WHERE g.project_id = $1",
        ),
    ];
    for (resource, sql) in queries {
        assert_eq!(
            entry(&report, resource).0,
            real_count(s, sql, project),
            "usage of {resource}"
        );
    }
}

#[test]
fn usage_equals_real_counts_after_a_mixed_workload() {
    let s = Server::start(&[]);
    let t = tenant(&s, "busy");
    let p = t.project.clone();
    let net = t.standard_network("app", "10.5.0.0/24");
    let l2 = t.custom_network("l2");
    let vm1 = t.vm("one", "linux", true);
    let vm2 = t.vm("two", "linux", true);
    // Elastic interfaces on both VMs, a public IP on one of them.
    for vm in [&vm1, &vm2] {
        t.power
            .interface_attach(&p, vm, &net, None)
            .expect("attach");
    }
    let ifaces = t.power.vm(&p, &vm1).unwrap().interfaces;
    let primary = ifaces[0].id.to_string();
    t.power.public_ip_allocate(&p, &primary).expect("public ip");
    let vm2_primary = t.power.vm(&p, &vm2).unwrap().interfaces[0].id.to_string();
    t.power
        .public_ip_allocate(&p, &vm2_primary)
        .expect("public ip");
    // Supplementary (VLAN) interfaces under VM 2's primary.
    for vlan in [10, 11] {
        let r = raw(
            &t.power,
            Method::POST,
            &format!("/v1/projects/{p}/interfaces/{vm2_primary}/supplementary-interfaces"),
            Some(&json!({"network_id": net, "vlan_id": vlan})),
        );
        assert_eq!(r.0, 201, "supplementary: {}", r.2);
    }
    // Unattached ports, one deleted.
    assert_eq!(create_port(&t, &net).0, 201);
    assert_eq!(create_port(&t, &l2).0, 201);
    // A security group with rules, then deleted with its rules.
    let sg = t
        .admin
        .post::<Value>(
            &format!("/v1/projects/{p}/security-groups"),
            &json!({"name": "web"}),
        )
        .unwrap();
    let sg_id = sg["id"].as_str().unwrap().to_string();
    for port in [80, 443] {
        t.admin
            .post::<Value>(
                &format!("/v1/projects/{p}/security-groups/{sg_id}/rules"),
                &json!({"direction": "ingress", "protocol": "tcp",
                        "port_range_min": port, "port_range_max": port}),
            )
            .unwrap();
    }
    // A Neutron trunk: a parent port and a subport, then the subport
    // removed (it becomes an ordinary port again) and the trunk deleted.
    let neutron = |method: Method, path: &str, body: Option<&Value>| {
        let token = t.power.token().unwrap().to_string();
        let r = t
            .power
            .raw(
                method,
                &format!("/network/v2.0{path}"),
                body,
                &[("X-Auth-Token", &token)],
            )
            .unwrap();
        assert!(r.status < 300, "{path}: {} {}", r.status, r.body);
        r.body
    };
    let port = |name: &str| {
        neutron(
            Method::POST,
            "/ports",
            Some(&json!({"port": {"network_id": net, "name": name}})),
        )["port"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let parent = port("trunk-parent");
    let child = port("trunk-child");
    let trunk = neutron(
        Method::POST,
        "/trunks",
        Some(&json!({"trunk": {"port_id": parent, "name": "t1"}})),
    )["trunk"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    neutron(
        Method::PUT,
        &format!("/trunks/{trunk}/add_subports"),
        Some(
            &json!({"sub_ports": [{"port_id": child, "segmentation_type": "vlan", "segmentation_id": 100}]}),
        ),
    );
    assert_usage_is_real(&s, &p);
    neutron(
        Method::PUT,
        &format!("/trunks/{trunk}/remove_subports"),
        Some(&json!({"sub_ports": [{"port_id": child}]})),
    );
    neutron(Method::DELETE, &format!("/trunks/{trunk}"), None);
    neutron(Method::DELETE, &format!("/ports/{child}"), None);
    assert_usage_is_real(&s, &p);
    t.admin
        .delete(&format!("/v1/projects/{p}/security-groups/{sg_id}"))
        .unwrap();
    // Release one public IP; delete VM 1 (its interfaces go with it), and
    // VM 2 (with a public IP and supplementary interfaces on its primary).
    t.power.public_ip_release(&p, &primary).unwrap();
    t.power.vm_delete(&p, &vm1).unwrap();
    let vm2_path = format!("/v1/projects/{p}/vms/{vm2}");
    let r = raw(&t.power, Method::DELETE, &vm2_path, None);
    assert_eq!((r.0, r.1.as_str()), (409, "InUse"), "{}", r.2);
    assert_usage_is_real(&s, &p);
    let subs: Vec<Value> = t
        .power
        .all(&format!(
            "/v1/projects/{p}/interfaces/{vm2_primary}/supplementary-interfaces"
        ))
        .unwrap();
    assert_eq!(subs.len(), 2);
    for sub in subs {
        let id = sub["id"].as_str().unwrap();
        t.power
            .delete(&format!("/v1/projects/{p}/supplementary-interfaces/{id}"))
            .unwrap();
    }
    let r = raw(&t.power, Method::DELETE, &vm2_path, None);
    assert_eq!(r.0, 204, "{}", r.2);
    // A network deleted with its subnet.
    let spare = t.standard_network("spare", "10.6.0.0/24");
    t.admin.network_delete(&p, &spare).unwrap();
    assert_usage_is_real(&s, &p);
    assert!(
        used(&t.admin, &p, "port") >= 2,
        "the unattached ports remain"
    );
}

/// Objects nicplane creates by itself are counted but never refused: a
/// tenant at its network quota cannot make the cloud admin's data center
/// creation fail (every project gets a Default Network there).
#[test]
fn a_tenant_at_its_quota_does_not_block_a_new_data_center() {
    let s = Server::start(&[]);
    let t = tenant(&s, "full");
    let admin = s.admin();
    admin
        .quota_set(
            &t.project,
            &json!({"network": 1, "subnet": 2, "security_group": 1}),
        )
        .unwrap();
    refused(
        raw(
            &t.admin,
            Method::POST,
            &format!("/v1/projects/{}/networks", t.project),
            Some(&json!({"name": "more", "data_center_id": t.dc, "kind": "custom"})),
        ),
        "network",
    );
    admin
        .data_center_create("dc-new")
        .expect("the admin is not blocked");
    let r = t.reader.quota_show(&t.project).unwrap();
    assert_eq!(
        entry(&r, "network"),
        (2, 1),
        "the new Default Network counts"
    );
    assert_eq!(entry(&r, "subnet"), (4, 2));
    assert_usage_is_real(&s, &t.project);
    // And the tenant still cannot create one of its own.
    refused(
        raw(
            &t.admin,
            Method::POST,
            &format!("/v1/projects/{}/security-groups", t.project),
            Some(&json!({"name": "web"})),
        ),
        "security_group",
    );
}
