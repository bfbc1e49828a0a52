//! What Neutron clients still missed (issue 15): a floating IP at a chosen
//! `floating_ip_address` (cloud admin only), `port_details` on floating IPs,
//! `revision_number` with `If-Match`, and tags. Raw Neutron calls with exact
//! statuses, exception types and messages; on PostgreSQL too when
//! `NICPLANE_TEST_POSTGRES_URL` is set.

mod common;

use common::neutron_helpers::*;
use common::*;
use nicplane_client::Client;
use reqwest::Method;
use serde_json::{json, Value};

/// A Keystone token of `user` scoped to `project`.
fn scoped_token(server: &Server, user: &str, password: &str, project: &str) -> String {
    let r = server
        .client()
        .raw(
            Method::POST,
            "/identity/v3/auth/tokens",
            Some(&json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": user, "domain": {"id": "default"}, "password": password}}},
                "scope": {"project": {"id": project}}}})),
            &[],
        )
        .expect("transport");
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.header("x-subject-token").expect("token").to_string()
}

/// A Neutron call with a raw token and extra headers.
fn call_with(
    server: &Server,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut all = vec![("X-Auth-Token", token)];
    all.extend_from_slice(headers);
    let r = server
        .client()
        .raw(method, &format!("/network/v2.0{path}"), body, &all)
        .expect("transport");
    (r.status, r.body)
}

fn fip_body(t: &Tenant, address: &str) -> Value {
    json!({"floatingip": {"floating_network_id": t.dc, "floating_ip_address": address}})
}

fn fip_addresses(c: &Client) -> Vec<String> {
    let (_, list) = neutron(c, Method::GET, "/floatingips", None);
    let mut v: Vec<String> = list["floatingips"]
        .as_array()
        .expect("list")
        .iter()
        .map(|f| f["floating_ip_address"].as_str().expect("ip").to_string())
        .collect();
    v.sort();
    v
}

/// A tenant cannot choose a floating IP's address (403, Neutron's policy
/// wording); the cloud admin can, inside a pool of the data center (400
/// otherwise, the gateway included), not one in use (409
/// `IpAddressAlreadyAllocated`), and a released address can be chosen again.
/// Refusals take nothing; the chosen address leaves the fresh range, so
/// automatic allocation never hands it out.
#[test]
fn floating_ip_address_is_cloud_admin_only_and_checked() {
    let server = Server::start(&[]);
    let t = tenant(&server, "fip-choose");
    let pool = server.admin().pools().expect("pools")[0].id.to_string();

    let r = neutron(
        &t.admin,
        Method::POST,
        "/floatingips",
        Some(&fip_body(&t, "203.0.113.50")),
    );
    assert_neutron_error(
        "tenant chooses",
        &r,
        403,
        "PolicyNotAuthorized",
        "Only the cloud admin can choose the address of a floating IP (rule:create_floatingip:floating_ip_address is disallowed by policy).",
    );
    assert_eq!(fip_addresses(&t.admin), Vec::<String>::new());

    let admin = scoped_token(&server, "admin", ADMIN_PASSWORD, &t.project);
    let post = |address: &str| {
        call_with(
            &server,
            &admin,
            Method::POST,
            "/floatingips",
            Some(&fip_body(&t, address)),
            &[],
        )
    };
    let r = post("203.0.113.50");
    assert_eq!(r.0, 201, "{}", r.1);
    assert_eq!(r.1["floatingip"]["floating_ip_address"], "203.0.113.50");
    assert_eq!(r.1["floatingip"]["project_id"], json!(t.project));
    let first = r.1["floatingip"]["id"].as_str().expect("id").to_string();

    assert_neutron_error(
        "in use",
        &post("203.0.113.50"),
        409,
        "IpAddressAlreadyAllocated",
        &format!("IP address 203.0.113.50 already allocated in subnet {pool}"),
    );
    for outside in ["10.9.9.9", "203.0.113.1", "203.0.113.0", "203.0.113.255"] {
        assert_neutron_error(
            outside,
            &post(outside),
            400,
            "InvalidInput",
            &format!(
                "IP address {outside} is not a valid IP for any of the subnets on the specified network."
            ),
        );
    }
    assert_neutron_error(
        "not an address",
        &post("203.0.113.x"),
        400,
        "InvalidInput",
        "Invalid input for floating_ip_address. Reason: '203.0.113.x' is not a valid IP address.",
    );
    assert_eq!(fip_addresses(&t.admin), vec!["203.0.113.50".to_string()]);

    // Released, it is in the release queue: choosing it takes it from there.
    let r = call_with(
        &server,
        &admin,
        Method::DELETE,
        &format!("/floatingips/{first}"),
        None,
        &[],
    );
    assert_eq!(r.0, 204, "{}", r.1);
    let r = post("203.0.113.50");
    assert_eq!(r.0, 201, "{}", r.1);
    // Automatic allocation starts at the first fresh host after the gateway
    // and skips the chosen one.
    let r = neutron(
        &t.admin,
        Method::POST,
        "/floatingips",
        Some(&json!({"floatingip": {"floating_network_id": t.dc}})),
    );
    assert_eq!(r.0, 201, "{}", r.1);
    assert_eq!(r.1["floatingip"]["floating_ip_address"], "203.0.113.2");
    assert_eq!(
        fip_addresses(&t.admin),
        vec!["203.0.113.2".to_string(), "203.0.113.50".to_string()]
    );
}

/// `port_details` (the `fip-port-details` extension) shows the port a
/// floating IP is on, and null when it is on none; the alias is listed.
#[test]
fn floating_ip_port_details() {
    let server = Server::start(&[]);
    let t = tenant(&server, "fip-details");
    let net = t.standard_network("web", "10.32.0.0/24");
    let r = neutron(
        &t.admin,
        Method::POST,
        "/ports",
        Some(&json!({"port": {"network_id": net, "name": "front", "device_id": ""}})),
    );
    assert_eq!(r.0, 201, "{}", r.1);
    let port = r.1["port"].clone();
    let r = neutron(
        &t.admin,
        Method::POST,
        "/floatingips",
        Some(&json!({"floatingip": {"floating_network_id": t.dc, "port_id": port["id"]}})),
    );
    assert_eq!(r.0, 201, "{}", r.1);
    let expected = json!({
        "name": "front", "network_id": net, "mac_address": port["mac_address"],
        "admin_state_up": true, "status": port["status"], "device_id": "",
        "device_owner": port["device_owner"],
    });
    assert_eq!(r.1["floatingip"]["port_details"], expected);
    let id = r.1["floatingip"]["id"].as_str().expect("id").to_string();
    let (_, shown) = neutron(&t.admin, Method::GET, &format!("/floatingips/{id}"), None);
    assert_eq!(shown["floatingip"]["port_details"], expected);
    let (_, list) = neutron(&t.admin, Method::GET, "/floatingips", None);
    assert_eq!(list["floatingips"][0]["port_details"], expected);

    let r = neutron(
        &t.admin,
        Method::PUT,
        &format!("/floatingips/{id}"),
        Some(&json!({"floatingip": {"port_id": null}})),
    );
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(r.1["floatingip"]["port_details"], Value::Null);

    let (_, exts) = neutron(&t.admin, Method::GET, "/extensions", None);
    let aliases: Vec<&str> = exts["extensions"]
        .as_array()
        .expect("extensions")
        .iter()
        .map(|e| e["alias"].as_str().expect("alias"))
        .collect();
    assert!(aliases.contains(&"fip-port-details"), "{aliases:?}");
}

/// Every Neutron object shows `revision_number`, starting at 1 and going up
/// by one per update that changes it (a no-op update leaves it); adding a
/// rule bumps its security group. `If-Match: revision_number=N` with a
/// stale N is refused with 412 `RevisionNumberConstraintFailed` and
/// Neutron's message, and changes nothing; with the current N it goes
/// ahead; malformed or doubled constraints are 400.
#[test]
fn revision_numbers_and_if_match() {
    let server = Server::start(&[]);
    let t = tenant(&server, "revisions");
    let token = t.admin.token().expect("token").to_string();
    let call = |m: Method, path: &str, body: Option<&Value>, h: &[(&str, &str)]| {
        call_with(&server, &token, m, path, body, h)
    };
    let r = call(
        Method::POST,
        "/networks",
        Some(&json!({"network": {"name": "rev"}})),
        &[],
    );
    assert_eq!(r.0, 201, "{}", r.1);
    assert_eq!(r.1["network"]["revision_number"], 1);
    let net = r.1["network"]["id"].as_str().expect("id").to_string();
    let path = format!("/networks/{net}");
    let rename = |name: &str, h: &[(&str, &str)]| {
        call(
            Method::PUT,
            &path,
            Some(&json!({"network": {"name": name}})),
            h,
        )
    };
    let r = rename("rev-2", &[]);
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(r.1["network"]["revision_number"], 2);
    let r = rename("rev-2", &[]);
    assert_eq!(r.1["network"]["revision_number"], 2, "a no-op update");

    assert_neutron_error(
        "stale",
        &rename("rev-3", &[("If-Match", "revision_number=1")]),
        412,
        "RevisionNumberConstraintFailed",
        "Constrained to 1, but current revision is 2",
    );
    let (_, shown) = call(Method::GET, &path, None, &[]);
    assert_eq!(shown["network"]["name"], "rev-2");
    assert_eq!(shown["network"]["revision_number"], 2);
    let r = rename("rev-3", &[("If-Match", "revision_number=2")]);
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(r.1["network"]["revision_number"], 3);
    assert_neutron_error(
        "malformed",
        &rename("x", &[("If-Match", "revision_number=three")]),
        400,
        "BadRequest",
        "Bad if-match request: Revision number etag must be in the format of revision_number=<int>.",
    );
    assert_neutron_error(
        "doubled",
        &rename("x", &[("If-Match", "revision_number=3, revision_number=3")]),
        400,
        "BadRequest",
        "Bad if-match request: Multiple revision_number etags are not supported..",
    );
    let r = rename("rev-4", &[("If-Match", "\"abc\"")]);
    assert_eq!(r.0, 200, "another entity tag is ignored: {}", r.1);
    assert_neutron_error(
        "stale delete",
        &call(
            Method::DELETE,
            &path,
            None,
            &[("If-Match", "revision_number=3")],
        ),
        412,
        "RevisionNumberConstraintFailed",
        "Constrained to 3, but current revision is 4",
    );

    // Ports: created at 1, bumped by an update, guarded on DELETE.
    let r = call(
        Method::POST,
        "/subnets",
        Some(&json!({"subnet": {"network_id": net, "cidr": "10.33.0.0/24", "ip_version": 4}})),
        &[],
    );
    assert_eq!(r.0, 201, "{}", r.1);
    assert_eq!(r.1["subnet"]["revision_number"], 1);
    let r = call(
        Method::POST,
        "/ports",
        Some(&json!({"port": {"network_id": net}})),
        &[],
    );
    assert_eq!(r.0, 201, "{}", r.1);
    assert_eq!(r.1["port"]["revision_number"], 1);
    let port = r.1["port"]["id"].as_str().expect("id").to_string();
    let r = call(
        Method::PUT,
        &format!("/ports/{port}"),
        Some(&json!({"port": {"name": "p"}})),
        &[("If-Match", "revision_number=1")],
    );
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(r.1["port"]["revision_number"], 2);
    let (_, list) = call(Method::GET, "/ports", None, &[]);
    assert_eq!(list["ports"][0]["revision_number"], 2);
    assert_neutron_error(
        "stale port delete",
        &call(
            Method::DELETE,
            &format!("/ports/{port}"),
            None,
            &[("If-Match", "revision_number=1")],
        ),
        412,
        "RevisionNumberConstraintFailed",
        "Constrained to 1, but current revision is 2",
    );
    let r = call(
        Method::DELETE,
        &format!("/ports/{port}"),
        None,
        &[("If-Match", "revision_number=2")],
    );
    assert_eq!(r.0, 204, "{}", r.1);

    // A security group is revised by its rules.
    let r = call(
        Method::POST,
        "/security-groups",
        Some(&json!({"security_group": {"name": "web"}})),
        &[],
    );
    assert_eq!(r.0, 201, "{}", r.1);
    let sg = r.1["security_group"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let before = r.1["security_group"]["revision_number"]
        .as_u64()
        .expect("revision");
    let r = call(
        Method::POST,
        "/security-group-rules",
        Some(
            &json!({"security_group_rule": {"security_group_id": sg, "direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}}),
        ),
        &[],
    );
    assert_eq!(r.0, 201, "{}", r.1);
    assert_eq!(r.1["security_group_rule"]["revision_number"], 1);
    let (_, shown) = call(Method::GET, &format!("/security-groups/{sg}"), None, &[]);
    assert_eq!(shown["security_group"]["revision_number"], before + 1);
    let rules = shown["security_group"]["security_group_rules"]
        .as_array()
        .expect("rules");
    assert!(!rules.is_empty());
    assert!(rules.iter().all(|r| r["revision_number"] == 1), "{rules:?}");
}

/// Two updates of one port with the same `If-Match` at once: exactly one
/// wins, the other gets 412 (the check and the write are one transaction).
#[test]
fn concurrent_updates_with_one_if_match_have_one_winner() {
    let server = Server::start(&[]);
    let t = tenant(&server, "rev-race");
    let net = t.standard_network("race", "10.34.0.0/24");
    let token = t.admin.token().expect("token").to_string();
    let mut ports = Vec::new();
    for _ in 0..5 {
        let r = call_with(
            &server,
            &token,
            Method::POST,
            "/ports",
            Some(&json!({"port": {"network_id": net}})),
            &[],
        );
        assert_eq!(r.0, 201, "{}", r.1);
        ports.push(r.1["port"]["id"].as_str().expect("id").to_string());
    }
    for port in &ports {
        let results: Vec<u16> = std::thread::scope(|sc| {
            let handles: Vec<_> = ["left", "right"]
                .iter()
                .map(|name| {
                    let (server, token) = (&server, &token);
                    sc.spawn(move || {
                        call_with(
                            server,
                            token,
                            Method::PUT,
                            &format!("/ports/{port}"),
                            Some(&json!({"port": {"name": name}})),
                            &[("If-Match", "revision_number=1")],
                        )
                        .0
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        let mut sorted = results.clone();
        sorted.sort();
        assert_eq!(sorted, vec![200, 412], "{port}");
        let (_, shown) = call_with(
            &server,
            &token,
            Method::GET,
            &format!("/ports/{port}"),
            None,
            &[],
        );
        assert_eq!(shown["port"]["revision_number"], 2);
    }
}

/// A Nova call with a raw token and a microversion; status and body.
fn nova(
    server: &Server,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let r = server
        .client()
        .raw(
            method,
            &format!("/compute/v2.1{path}"),
            body,
            &[
                ("X-Auth-Token", token),
                ("OpenStack-API-Version", "compute 2.79"),
            ],
        )
        .expect("transport");
    (r.status, r.body)
}

fn assert_nova_fault(case: &str, r: &(u16, Value), status: u16, fault: &str, message: &str) {
    assert_eq!(r.0, status, "{case}: {}", r.1);
    assert_eq!(r.1[fault]["code"], status, "{case}: {}", r.1);
    assert_eq!(r.1[fault]["message"], message, "{case}");
}

fn flavor_names(server: &Server, token: &str) -> Vec<String> {
    let (status, body) = nova(server, token, Method::GET, "/flavors", None);
    assert_eq!(status, 200, "{body}");
    body["flavors"]
        .as_array()
        .expect("flavors")
        .iter()
        .map(|f| f["name"].as_str().expect("name").to_string())
        .collect()
}

/// Flavors are stored: the former catalog is seeded; the cloud admin creates
/// and deletes flavors (a tenant gets Nova's 403), names and ids of live
/// flavors are unique (409), sizes are checked (400); a server keeps showing
/// the flavor it was created with after that flavor is deleted, as Nova.
#[test]
fn flavors_are_managed_by_the_cloud_admin() {
    let server = Server::start(&[]);
    let t = tenant(&server, "flavors");
    let tenant_token = t.admin.token().expect("token").to_string();
    let admin = scoped_token(&server, "admin", ADMIN_PASSWORD, &t.project);
    let seeded = ["m1.tiny", "m1.small", "m1.medium", "m1.large"]
        .map(String::from)
        .to_vec();
    assert_eq!(flavor_names(&server, &tenant_token), seeded);

    let body =
        json!({"flavor": {"name": "c1.big", "id": "c1", "ram": 1024, "vcpus": 2, "disk": 10}});
    assert_nova_fault(
        "tenant creates",
        &nova(
            &server,
            &tenant_token,
            Method::POST,
            "/flavors",
            Some(&body),
        ),
        403,
        "forbidden",
        "Policy doesn't allow os_compute_api:os-flavor-manage:create to be performed.",
    );
    assert_nova_fault(
        "tenant deletes",
        &nova(&server, &tenant_token, Method::DELETE, "/flavors/1", None),
        403,
        "forbidden",
        "Policy doesn't allow os_compute_api:os-flavor-manage:delete to be performed.",
    );
    let r = nova(&server, &admin, Method::POST, "/flavors", Some(&body));
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(r.1["flavor"]["id"], "c1");
    assert_eq!(r.1["flavor"]["vcpus"], 2);
    assert_eq!(r.1["flavor"]["ram"], 1024);
    assert_eq!(r.1["flavor"]["disk"], 10);
    assert_nova_fault(
        "same name",
        &nova(
            &server,
            &admin,
            Method::POST,
            "/flavors",
            Some(&json!({"flavor": {"name": "c1.big", "ram": 1, "vcpus": 1, "disk": 0}})),
        ),
        409,
        "conflictingRequest",
        "Flavor with name c1.big already exists.",
    );
    assert_nova_fault(
        "same id",
        &nova(
            &server,
            &admin,
            Method::POST,
            "/flavors",
            Some(
                &json!({"flavor": {"name": "other", "id": "c1", "ram": 1, "vcpus": 1, "disk": 0}}),
            ),
        ),
        409,
        "conflictingRequest",
        "Flavor with ID c1 already exists.",
    );
    assert_nova_fault(
        "no vcpus",
        &nova(&server, &admin, Method::POST, "/flavors", Some(&json!({"flavor": {"name": "zero", "ram": 1, "vcpus": 0, "disk": 0}}))),
        400,
        "badRequest",
        "Invalid input for field/attribute vcpus. Value: 0. vcpus must be between 1 and 2147483647.",
    );
    let mut with_new = seeded.clone();
    with_new.push("c1.big".into());
    assert_eq!(flavor_names(&server, &tenant_token), with_new);

    // A server made with it keeps its flavor once the flavor is deleted.
    let r = nova(
        &server,
        &tenant_token,
        Method::POST,
        "/servers",
        Some(
            &json!({"server": {"name": "sized", "flavorRef": "c1", "imageRef": "", "networks": "auto"}}),
        ),
    );
    assert_eq!(r.0, 202, "{}", r.1);
    let vm = r.1["server"]["id"].as_str().expect("id").to_string();
    let embedded = json!({"vcpus": 2, "ram": 1024, "disk": 10, "ephemeral": 0, "swap": 0, "original_name": "c1.big", "extra_specs": {}});
    let (_, shown) = nova(
        &server,
        &tenant_token,
        Method::GET,
        &format!("/servers/{vm}"),
        None,
    );
    assert_eq!(shown["server"]["flavor"], embedded);

    let r = nova(&server, &admin, Method::DELETE, "/flavors/c1", None);
    assert_eq!(r.0, 202, "{}", r.1);
    assert_eq!(flavor_names(&server, &tenant_token), seeded);
    assert_nova_fault(
        "deleted",
        &nova(&server, &tenant_token, Method::GET, "/flavors/c1", None),
        404,
        "itemNotFound",
        "Flavor c1 could not be found.",
    );
    assert_nova_fault(
        "deleted twice",
        &nova(&server, &admin, Method::DELETE, "/flavors/c1", None),
        404,
        "itemNotFound",
        "Flavor c1 could not be found.",
    );
    let (_, shown) = nova(
        &server,
        &tenant_token,
        Method::GET,
        &format!("/servers/{vm}"),
        None,
    );
    assert_eq!(shown["server"]["flavor"], embedded);
    // The name and id are free again.
    let r = nova(&server, &admin, Method::POST, "/flavors", Some(&body));
    assert_eq!(r.0, 200, "{}", r.1);
}

/// Tags on networks, subnets, security groups, floating IPs and trunks:
/// add (201), check (204/404 `TagNotFound`), replace, remove, clear; bounded
/// (20 per object, 255 characters, no comma: 400); shown in views and used
/// by the `tags`/`tags-any`/`not-tags`/`not-tags-any` filters; a tag change
/// bumps the revision; another project's object is its 404.
#[test]
fn tags_on_every_standard_resource() {
    let server = Server::start(&[]);
    let t = tenant(&server, "tags");
    let other = tenant(&server, "tags-other");
    let token = t.admin.token().expect("token").to_string();
    let call = |m: Method, path: &str, body: Option<&Value>| {
        call_with(&server, &token, m, path, body, &[])
    };
    let net = call(
        Method::POST,
        "/networks",
        Some(&json!({"network": {"name": "tagged"}})),
    )
    .1["network"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let plain = call(
        Method::POST,
        "/networks",
        Some(&json!({"network": {"name": "plain"}})),
    )
    .1["network"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let sub = call(
        Method::POST,
        "/subnets",
        Some(&json!({"subnet": {"network_id": net, "cidr": "10.35.0.0/24", "ip_version": 4}})),
    )
    .1["subnet"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let sg = call(
        Method::POST,
        "/security-groups",
        Some(&json!({"security_group": {"name": "tagged"}})),
    )
    .1["security_group"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let fip = call(
        Method::POST,
        "/floatingips",
        Some(&json!({"floatingip": {"floating_network_id": t.dc}})),
    )
    .1["floatingip"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let parent = call(
        Method::POST,
        "/ports",
        Some(&json!({"port": {"network_id": net}})),
    )
    .1["port"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let trunk = call(
        Method::POST,
        "/trunks",
        Some(&json!({"trunk": {"port_id": parent}})),
    )
    .1["trunk"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    for (collection, key, id) in [
        ("networks", "network", &net),
        ("subnets", "subnet", &sub),
        ("security-groups", "security_group", &sg),
        ("floatingips", "floatingip", &fip),
        ("trunks", "trunk", &trunk),
    ] {
        let base = format!("/{collection}/{id}");
        let before = call(Method::GET, &base, None).1[key]["revision_number"]
            .as_u64()
            .expect("revision");
        let r = call(Method::PUT, &format!("{base}/tags/red"), None);
        assert_eq!(r.0, 201, "{collection}: {}", r.1);
        let (_, shown) = call(Method::GET, &base, None);
        assert_eq!(shown[key]["tags"], json!(["red"]), "{collection}");
        assert_eq!(shown[key]["revision_number"], before + 1, "{collection}");
        assert_eq!(call(Method::GET, &format!("{base}/tags/red"), None).0, 204);
        let resource = key;
        assert_neutron_error(
            collection,
            &call(Method::GET, &format!("{base}/tags/blue"), None),
            404,
            "TagNotFound",
            &format!("Tag blue could not be found for {resource} {id}."),
        );
        assert_neutron_error(
            collection,
            &call(Method::DELETE, &format!("{base}/tags/blue"), None),
            404,
            "TagNotFound",
            &format!("Tag blue could not be found for {resource} {id}."),
        );
        let r = call(
            Method::PUT,
            &format!("{base}/tags"),
            Some(&json!({"tags": ["b", "a"]})),
        );
        assert_eq!(r.0, 200, "{}", r.1);
        assert_eq!(r.1, json!({"tags": ["a", "b"]}));
        let (_, list) = call(Method::GET, &format!("/{collection}?tags=a,b"), None);
        let plural = if key == "security_group" {
            "security_groups".to_string()
        } else {
            format!("{key}s")
        };
        let ids: Vec<&str> = list[&plural]
            .as_array()
            .expect("list")
            .iter()
            .map(|o| o["id"].as_str().expect("id"))
            .collect();
        assert_eq!(ids, vec![id.as_str()], "{collection}");
        let (_, list) = call(Method::GET, &format!("/{collection}?not-tags-any=a"), None);
        assert!(
            list[&plural]
                .as_array()
                .expect("list")
                .iter()
                .all(|o| o["id"] != json!(id)),
            "{collection}"
        );
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert_neutron_error(
            collection,
            &call(
                Method::PUT,
                &format!("{base}/tags"),
                Some(&json!({ "tags": many })),
            ),
            400,
            "InvalidInput",
            &format!("At most 20 tags are allowed on one {key}."),
        );
        assert_neutron_error(
            collection,
            &call(Method::PUT, &format!("{base}/tags/{}", "x".repeat(256)), None),
            400,
            "InvalidInput",
            &format!("Invalid input for operation: '{}' is not a valid tag (1 to 255 characters, no comma).", "x".repeat(256)),
        );
        let r = call(Method::DELETE, &format!("{base}/tags/a"), None);
        assert_eq!(r.0, 204, "{}", r.1);
        let r = call(Method::DELETE, &format!("{base}/tags"), None);
        assert_eq!(r.0, 204, "{}", r.1);
        assert_eq!(
            call(Method::GET, &format!("{base}/tags"), None).1,
            json!({"tags": []})
        );
    }
    let (_, list) = call(Method::GET, "/networks?name=plain", None);
    assert_eq!(list["networks"][0]["tags"], json!([]));
    let _ = plain;

    // Another project's object: its 404, in Neutron's words.
    let other_token = other.admin.token().expect("token").to_string();
    let r = call_with(
        &server,
        &other_token,
        Method::PUT,
        &format!("/networks/{net}/tags/x"),
        None,
        &[],
    );
    assert_neutron_error(
        "other project",
        &r,
        404,
        "NetworkNotFound",
        &format!("Network {net} could not be found."),
    );
    let r = call_with(
        &server,
        &other_token,
        Method::GET,
        &format!("/trunks/{trunk}/tags"),
        None,
        &[],
    );
    assert_neutron_error(
        "other project",
        &r,
        404,
        "TrunkNotFound",
        &format!("Trunk {trunk} could not be found."),
    );
}

/// A subport made through another dialect (a native supplementary
/// interface, a new interface row with a parent) bumps its trunk's
/// `revision_number`, each one once: SQLite's `subports_revise_trunk_insert`
/// trigger did it until migration 0026, the store's one interface INSERT
/// does it since (`SqlTx::insert_interface_row`).
#[test]
fn a_new_subport_revises_its_trunk() {
    let server = Server::start(&[]);
    let t = tenant(&server, "trunk-revision");
    let net = t.standard_network("trunk-net", "10.177.0.0/24");
    let vm = t.vm("trunk-vm", "linux", true);
    let parent = t
        .admin
        .interface_attach(&t.project, &vm, &net, None)
        .expect("parent")
        .id
        .to_string();
    let (s, trunk) = neutron(
        &t.admin,
        Method::POST,
        "/trunks",
        Some(&json!({"trunk": {"port_id": parent, "name": "rev"}})),
    );
    assert_eq!(s, 201, "{trunk}");
    let id = trunk["trunk"]["id"].as_str().expect("id").to_string();
    let before = trunk["trunk"]["revision_number"]
        .as_u64()
        .expect("revision");
    let made = t
        .admin
        .supplementary_batch_create(&t.project, &parent, 2, &json!({"network_id": net}))
        .expect("two subports");
    assert_eq!(made.len(), 2);
    let (s, trunk) = neutron(&t.admin, Method::GET, &format!("/trunks/{id}"), None);
    assert_eq!(s, 200, "{trunk}");
    assert_eq!(
        trunk["trunk"]["sub_ports"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        trunk["trunk"]["revision_number"].as_u64(),
        Some(before + 2),
        "{trunk}"
    );
}
