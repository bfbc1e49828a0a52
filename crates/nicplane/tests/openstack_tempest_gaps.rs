//! What OpenStack's Tempest found missing in the areas of issue 12 that are
//! not routers or the subnet model: security-group rule semantics as Neutron
//! words them, `extra_dhcp_opts` on ports, `fields=` on a show, the agents
//! list, a Keystone token that shows the same body on every validation and
//! is refused everywhere once revoked, and Nova's `accessIPv4`/`accessIPv6`.
//! Raw calls with exact statuses, exception types and messages; on
//! PostgreSQL too when `NICPLANE_TEST_POSTGRES_URL` is set.

mod common;

use common::neutron_helpers::*;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

fn rule(t: &Tenant, sg: &str, extra: Value) -> (u16, Value) {
    let mut body = json!({"security_group_id": sg, "direction": "ingress"});
    for (k, v) in extra.as_object().expect("object") {
        body[k] = v.clone();
    }
    neutron(
        &t.admin,
        Method::POST,
        "/security-group-rules",
        Some(&json!({ "security_group_rule": body })),
    )
}

fn rule_count(t: &Tenant, sg: &str) -> usize {
    let (_, list) = neutron(
        &t.admin,
        Method::GET,
        &format!("/security-group-rules?security_group_id={sg}"),
        None,
    );
    list["security_group_rules"]
        .as_array()
        .expect("rules")
        .len()
}

/// A duplicate rule is 409 `SecurityGroupRuleExists` naming the existing
/// rule (a protocol's name and number are the same protocol; the
/// description does not count); ports and ICMP type/code are checked with
/// Neutron's messages; a prefix of the other IP version is 400 with
/// Neutron's `Conflicting value ethertype`; a missing or malformed
/// `remote_group_id` is 404. Refusals add no rule.
#[test]
fn security_group_rules_follow_neutrons_semantics() {
    let server = Server::start(&[]);
    let t = tenant(&server, "sg-rules");
    let (status, sg) = neutron(
        &t.admin,
        Method::POST,
        "/security-groups",
        Some(&json!({"security_group": {"name": "web"}})),
    );
    assert_eq!(status, 201, "{sg}");
    let sg = sg["security_group"]["id"].as_str().expect("id").to_string();
    let first = rule(
        &t,
        &sg,
        json!({"protocol": "tcp", "port_range_min": 66, "port_range_max": 67}),
    );
    assert_eq!(first.0, 201, "{}", first.1);
    let first_id = first.1["security_group_rule"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let before = rule_count(&t, &sg);
    let exists = format!("Security group rule already exists. Rule id is {first_id}.");
    for (case, extra) in [
        (
            "same rule",
            json!({"protocol": "tcp", "port_range_min": 66, "port_range_max": 67}),
        ),
        (
            "protocol by number, another description",
            json!({"protocol": "6", "port_range_min": 66, "port_range_max": 67, "description": "again"}),
        ),
    ] {
        let r = rule(&t, &sg, extra);
        assert_neutron_error(case, &r, 409, "SecurityGroupRuleExists", &exists);
    }
    let invalid = [
        (
            "tcp min above max",
            json!({"protocol": "tcp", "port_range_min": 80, "port_range_max": 79}),
            "For TCP/UDP protocols, port_range_min must be <= port_range_max.",
        ),
        (
            "tcp max without min",
            json!({"protocol": "tcp", "port_range_max": 6}),
            "For TCP/UDP protocols, port_range_min must be <= port_range_max.",
        ),
        (
            "negative port",
            json!({"protocol": "tcp", "port_range_min": -16, "port_range_max": 80}),
            "Invalid value for port -16.",
        ),
        (
            "icmp code too large",
            json!({"protocol": "icmp", "port_range_min": 1, "port_range_max": 256}),
            "Invalid value for ICMP code (port_range_max) 256. It must be 0 to 255.",
        ),
        (
            "icmp type too large",
            json!({"protocol": "icmp", "port_range_min": 300, "port_range_max": 1}),
            "Invalid value for ICMP type (port_range_min) 300. It must be 0 to 255.",
        ),
        (
            "icmp code without type",
            json!({"protocol": "icmp", "port_range_max": 6}),
            "ICMP code (port-range-max) 6 is provided but ICMP type (port-range-min) is missing.",
        ),
        (
            "IPv6 prefix on an IPv4 rule",
            json!({"ethertype": "IPv4", "remote_ip_prefix": "2001:db8::/64"}),
            "Conflicting value ethertype IPv4 for CIDR 2001:db8::/64.",
        ),
        (
            "IPv4 prefix on an IPv6 rule",
            json!({"ethertype": "IPv6", "remote_ip_prefix": "10.100.0.0/16"}),
            "Conflicting value ethertype IPv6 for CIDR 10.100.0.0/16.",
        ),
    ];
    for (case, extra, message) in invalid {
        let r = rule(&t, &sg, extra);
        assert_neutron_error(case, &r, 400, "InvalidInput", message);
    }
    let missing = "9b5a4c3e-0000-4000-8000-000000000001";
    for id in [missing, "bad_group_id"] {
        let r = rule(&t, &sg, json!({"protocol": "tcp", "remote_group_id": id}));
        assert_neutron_error(
            id,
            &r,
            404,
            "SecurityGroupNotFound",
            &format!("Security group {id} could not be found."),
        );
    }
    assert_eq!(rule_count(&t, &sg), before, "refusals add no rule");
    // ICMP type and code within 0-255 are a rule, and a type alone too.
    let r = rule(
        &t,
        &sg,
        json!({"protocol": "icmp", "port_range_min": 8, "port_range_max": 0}),
    );
    assert_eq!(r.0, 201, "{}", r.1);
    let r = rule(&t, &sg, json!({"protocol": "icmp", "port_range_min": 3}));
    assert_eq!(r.0, 201, "{}", r.1);
}

/// `extra_dhcp_opts` are stored and shown on create, show and list; an
/// update sets options by name and IP version, removes those given without
/// a value and keeps the others; bad options are 400 and change nothing;
/// the extension is listed.
#[test]
fn extra_dhcp_opts_are_stored_updated_and_bounded() {
    let server = Server::start(&[]);
    let t = tenant(&server, "dhcp-opts");
    let net = t.standard_network("pxe", "10.40.0.0/24");
    let opts = json!([
        {"opt_name": "bootfile-name", "opt_value": "pxelinux.0"},
        {"opt_name": "tftp-server", "opt_value": "123.123.123.123", "ip_version": 4},
        {"opt_name": "server-ip-address", "opt_value": "2001:db8::9", "ip_version": "6"},
    ]);
    let r = neutron(
        &t.admin,
        Method::POST,
        "/ports",
        Some(&json!({"port": {"network_id": net, "extra_dhcp_opts": opts}})),
    );
    assert_eq!(r.0, 201, "{}", r.1);
    let id = r.1["port"]["id"].as_str().expect("id").to_string();
    let created = json!([
        {"opt_name": "bootfile-name", "opt_value": "pxelinux.0", "ip_version": 4},
        {"opt_name": "tftp-server", "opt_value": "123.123.123.123", "ip_version": 4},
        {"opt_name": "server-ip-address", "opt_value": "2001:db8::9", "ip_version": 6},
    ]);
    assert_eq!(r.1["port"]["extra_dhcp_opts"], created);
    let (_, shown) = neutron(&t.admin, Method::GET, &format!("/ports/{id}"), None);
    assert_eq!(shown["port"]["extra_dhcp_opts"], created);
    let (_, list) = neutron(&t.admin, Method::GET, &format!("/ports?id={id}"), None);
    assert_eq!(list["ports"][0]["extra_dhcp_opts"], created);

    let r = neutron(
        &t.admin,
        Method::PUT,
        &format!("/ports/{id}"),
        Some(&json!({"port": {"extra_dhcp_opts": [
            {"opt_name": "bootfile-name", "opt_value": "ipxe.efi"},
            {"opt_name": "tftp-server", "opt_value": null},
        ]}})),
    );
    assert_eq!(r.0, 200, "{}", r.1);
    let updated = json!([
        {"opt_name": "server-ip-address", "opt_value": "2001:db8::9", "ip_version": 6},
        {"opt_name": "bootfile-name", "opt_value": "ipxe.efi", "ip_version": 4},
    ]);
    assert_eq!(r.1["port"]["extra_dhcp_opts"], updated);

    let too_many: Vec<Value> = (0..33)
        .map(|i| json!({"opt_name": format!("opt-{i}"), "opt_value": "v"}))
        .collect();
    let bad = [
        (
            json!([{"opt_name": "mtu", "opt_value": "1500", "ip_version": 5}]),
            "Invalid value for extra_dhcp_opts: ip_version 5 of option mtu is not 4 or 6.",
        ),
        (
            json!([{"opt_name": "", "opt_value": "x"}]),
            "Invalid value for extra_dhcp_opts: the option name '' must be 1 to 64 printable characters.",
        ),
        (
            Value::Array(too_many),
            "Invalid value for extra_dhcp_opts: 33 options given, at most 32 are allowed per port.",
        ),
        (
            json!([{"opt_name": "mtu", "value": "1500"}]),
            "Invalid input for extra_dhcp_opts: give [{\"opt_name\", \"opt_value\", \"ip_version\"}].",
        ),
    ];
    for (opts, message) in bad {
        let r = neutron(
            &t.admin,
            Method::PUT,
            &format!("/ports/{id}"),
            Some(&json!({"port": {"extra_dhcp_opts": opts}})),
        );
        assert_neutron_error(message, &r, 400, "InvalidInput", message);
    }
    let (_, shown) = neutron(&t.admin, Method::GET, &format!("/ports/{id}"), None);
    assert_eq!(
        shown["port"]["extra_dhcp_opts"], updated,
        "refusals change nothing"
    );

    let (status, ext) = neutron(&t.admin, Method::GET, "/extensions/extra_dhcp_opt", None);
    assert_eq!(status, 200, "{ext}");
    assert_eq!(ext["extension"]["alias"], "extra_dhcp_opt");
}

/// `fields=` on a show keeps only the named attributes (repeated or
/// comma-separated), on every resource; errors are left whole; the agents
/// list is empty (nicplane runs no Neutron agents).
#[test]
fn fields_on_show_and_the_empty_agents_list() {
    let server = Server::start(&[]);
    let t = tenant(&server, "show-fields");
    let net = t.standard_network("app", "10.41.0.0/24");
    let (_, shown) = neutron(
        &t.admin,
        Method::GET,
        &format!("/networks/{net}?fields=id&fields=name"),
        None,
    );
    assert_eq!(shown, json!({"network": {"id": net, "name": "app"}}));
    let (_, subnets) = neutron(
        &t.admin,
        Method::GET,
        &format!("/subnets?network_id={net}"),
        None,
    );
    let subnet = subnets["subnets"][0]["id"].as_str().expect("subnet");
    let (_, shown) = neutron(
        &t.admin,
        Method::GET,
        &format!("/subnets/{subnet}?fields=id,cidr"),
        None,
    );
    assert_eq!(
        shown,
        json!({"subnet": {"id": subnet, "cidr": "10.41.0.0/24"}})
    );
    let (_, groups) = neutron(&t.admin, Method::GET, "/security-groups", None);
    let sg = groups["security_groups"][0]["id"].as_str().expect("sg");
    let (_, shown) = neutron(
        &t.admin,
        Method::GET,
        &format!("/security-groups/{sg}?fields=name"),
        None,
    );
    assert_eq!(shown, json!({"security_group": {"name": "default"}}));
    let missing = "9b5a4c3e-0000-4000-8000-000000000002";
    let r = neutron(
        &t.admin,
        Method::GET,
        &format!("/networks/{missing}?fields=id"),
        None,
    );
    assert_neutron_error(
        "missing network",
        &r,
        404,
        "NetworkNotFound",
        &format!("Network {missing} could not be found."),
    );
    let (status, agents) = neutron(&t.reader, Method::GET, "/agents", None);
    assert_eq!((status, agents), (200, json!({"agents": []})));
}

fn keystone(server: &Server, method: Method, token: &str, subject: &str) -> (u16, Value) {
    let r = server
        .client()
        .raw(
            method,
            "/identity/v3/auth/tokens",
            None,
            &[("X-Auth-Token", token), ("X-Subject-Token", subject)],
        )
        .expect("transport");
    (r.status, r.body)
}

fn issue(server: &Server, user: &str, project: &str) -> (String, Value) {
    let r = server
        .client()
        .raw(
            Method::POST,
            "/identity/v3/auth/tokens",
            Some(
                &json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"id": "default"}, "password": PASSWORD}}},
                "scope": {"project": {"id": project}}}}),
            ),
            &[],
        )
        .expect("transport");
    assert_eq!(r.status, 201, "{:?}", r.body);
    (
        r.header("x-subject-token").expect("token").to_string(),
        r.body,
    )
}

/// A token validates to the body it was issued with (the same audit id and
/// issue time every time, as Tempest compares them); once revoked it is 404
/// to a validation and refused by every dialect, on a second server process
/// sharing the store too (PostgreSQL).
#[test]
fn a_token_shows_its_issued_body_and_a_revoked_one_is_refused_everywhere() {
    let server = Server::start(&[]);
    let t = tenant(&server, "tokens");
    let (token, issued) = issue(&server, "tokens-admin", &t.project);
    let (status, shown) = keystone(&server, Method::GET, &token, &token);
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["token"]["audit_ids"], issued["token"]["audit_ids"]);
    assert_eq!(shown["token"]["issued_at"], issued["token"]["issued_at"]);
    assert_eq!(shown["token"]["expires_at"], issued["token"]["expires_at"]);
    let (_, again) = keystone(&server, Method::GET, &token, &token);
    assert_eq!(again["token"], shown["token"]);

    let (other, _) = issue(&server, "tokens-admin", &t.project);
    // On PostgreSQL a second server process shares the store (SQLite's
    // store belongs to one process).
    let shared = server
        .database
        .is_some()
        .then(|| Server::start_sharing(&server, &[]));
    let second = shared.as_ref().unwrap_or(&server);
    let paths = [
        (&server, "/network/v2.0/networks"),
        (second, "/compute/v2.1/servers"),
        (second, "/v1/auth/whoami"),
    ];
    for (srv, path) in paths {
        let r = srv
            .client()
            .raw(Method::GET, path, None, &[("X-Auth-Token", &token)])
            .expect("transport");
        assert_eq!(r.status, 200, "{path} before the revocation: {:?}", r.body);
    }
    assert_eq!(keystone(&server, Method::DELETE, &other, &token).0, 204);
    let r = keystone(&server, Method::GET, &other, &token);
    assert_eq!(r.0, 404, "{}", r.1);
    assert_eq!(keystone(second, Method::HEAD, &other, &token).0, 404);
    for (srv, path) in paths {
        let r = srv
            .client()
            .raw(Method::GET, path, None, &[("X-Auth-Token", &token)])
            .expect("transport");
        assert_eq!(r.status, 401, "{path}: {:?}", r.body);
    }
}

/// Nova keeps a server's `accessIPv4`/`accessIPv6` and shows them (IPv6 in
/// its canonical form); an address of the wrong version is 400 and creates
/// nothing.
#[test]
fn servers_keep_their_access_addresses() {
    let server = Server::start(&[]);
    let t = tenant(&server, "access-ips");
    let token = t.admin.token().expect("token").to_string();
    let nova = |method: Method, path: &str, body: Option<&Value>| {
        let r = t
            .admin
            .raw(
                method,
                &format!("/compute/v2.1{path}"),
                body,
                &[("X-Auth-Token", &token)],
            )
            .expect("transport");
        (r.status, r.body)
    };
    let (status, created) = nova(
        Method::POST,
        "/servers",
        Some(
            &json!({"server": {"name": "reach", "imageRef": "cirros", "flavorRef": "1",
            "accessIPv4": "1.1.1.1", "accessIPv6": "0000:0000:0000:0000:0000:babe:220.12.22.2"}}),
        ),
    );
    assert_eq!(status, 202, "{created}");
    let id = created["server"]["id"].as_str().expect("id");
    let (_, shown) = nova(Method::GET, &format!("/servers/{id}"), None);
    assert_eq!(shown["server"]["accessIPv4"], "1.1.1.1");
    assert_eq!(shown["server"]["accessIPv6"], "::babe:dc0c:1602");

    let (_, before) = nova(Method::GET, "/servers", None);
    let (status, fault) = nova(
        Method::POST,
        "/servers",
        Some(
            &json!({"server": {"name": "wrong", "imageRef": "cirros", "flavorRef": "1",
            "accessIPv4": "2001:db8::1"}}),
        ),
    );
    assert_eq!(status, 400, "{fault}");
    assert_eq!(
        fault,
        json!({"badRequest": {"code": 400,
            "message": "Invalid value for accessIPv4: 2001:db8::1 is not an IPv4 address."}})
    );
    let (_, after) = nova(Method::GET, "/servers", None);
    assert_eq!(before, after);
}

/// Identical rules created at the same time: exactly one is created, the
/// others are 409 `SecurityGroupRuleExists` (the group's row is locked
/// before the duplicate check, which matters on PostgreSQL).
#[test]
fn concurrent_identical_rules_have_one_winner() {
    const RACERS: usize = 4;
    let server = Server::start(&[]);
    let t = tenant(&server, "sg-race");
    let (status, sg) = neutron(
        &t.admin,
        Method::POST,
        "/security-groups",
        Some(&json!({"security_group": {"name": "race"}})),
    );
    assert_eq!(status, 201, "{sg}");
    let sg = sg["security_group"]["id"].as_str().expect("id").to_string();
    let before = rule_count(&t, &sg);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(RACERS));
    let handles: Vec<_> = (0..RACERS)
        .map(|_| {
            let client = t.admin.clone();
            let sg = sg.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                neutron(
                    &client,
                    Method::POST,
                    "/security-group-rules",
                    Some(&json!({"security_group_rule": {"security_group_id": sg,
                        "direction": "ingress", "protocol": "udp", "port_range_min": 53,
                        "port_range_max": 53}})),
                )
            })
        })
        .collect();
    let results: Vec<(u16, Value)> = handles
        .into_iter()
        .map(|h| h.join().expect("racer"))
        .collect();
    let winners: Vec<&(u16, Value)> = results.iter().filter(|r| r.0 == 201).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let id = winners[0].1["security_group_rule"]["id"]
        .as_str()
        .expect("id");
    for r in results.iter().filter(|r| r.0 != 201) {
        assert_neutron_error(
            "loser",
            r,
            409,
            "SecurityGroupRuleExists",
            &format!("Security group rule already exists. Rule id is {id}."),
        );
    }
    assert_eq!(rule_count(&t, &sg), before + 1);
}
