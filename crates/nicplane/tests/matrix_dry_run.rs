//! Dry-run matrix of the native API (issue 10): every write route
//! (`fixture::write_routes`) with `?dry_run=true`
//!
//! - refuses a bad request with the same status, code and exact message as
//!   without dry run (so a dry run validates fully, rules included), and
//!   neither attempt changes anything;
//! - answers a good request 202 and changes nothing: the whole project
//!   state (every list, free-address counts, quota usage, the cloud-wide
//!   lists) is the same before and after, including for the permanent
//!   public-IP release;
//! - and the same request without dry run then succeeds and changes the
//!   state, which shows the snapshot would have seen a change.

mod common;

use common::fixture::*;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

/// A request that breaks a rule of the route, and the exact answer.
struct Bad {
    method: Method,
    path: String,
    body: Option<Value>,
    status: u16,
    code: &'static str,
    message: String,
}

const MISSING: &str = "00000000-0000-4000-8000-000000000000";

/// The bad request tried on each route, just before its dry run.
fn bad(o: &Objects, r: &Route, octet: u8) -> Bad {
    use Method as M;
    let p = format!("/v1/projects/{}", o.project);
    let same = |body: Value, status, code, message: String| Bad {
        method: r.method.clone(),
        path: r.path.clone(),
        body: Some(body),
        status,
        code,
        message,
    };
    let at = |method: M, path: String, status, code, message: String| Bad {
        method,
        path,
        body: None,
        status,
        code,
        message,
    };
    let nf = |label: &str, id: &str| not_found(label, id);
    match r.name {
        "vm_update" => same(
            json!({"name": ""}),
            400,
            "InvalidValue",
            "Invalid value for name: must not be empty.".into(),
        ),
        "vm_stop" => at(
            M::POST,
            format!("{p}/vms/{MISSING}/stop"),
            404,
            "NotFound",
            nf("VM", MISSING),
        ),
        "vm_start" => at(
            M::POST,
            format!("{p}/vms/{MISSING}/start"),
            404,
            "NotFound",
            nf("VM", MISSING),
        ),
        "vm_create" => same(json!({"name": "new", "data_center_id": MISSING}), 400, "InvalidRequest",
            format!("Data center {MISSING} does not exist.")),
        "interface_create" => same(
            json!({"network_id": o.network, "fixed_ips": [{"ip_address": "10.250.0.5"}]}),
            400, "InvalidRequest", "The IP address 10.250.0.5 is not in any subnet of network app.".into(),
        ),
        "interface_update" => same(
            json!({"security_groups": [MISSING]}),
            400,
            "InvalidRequest",
            format!("Security group {MISSING} does not exist in the project."),
        ),
        "interface_attach" => same(json!({"interface_id": o.attached}), 409, "InUse",
            format!("Network interface {} is already attached to VM {}.", o.attached, o.vm)),
        "public_ip_allocate_on_interface" => at(M::POST, format!("{p}/interfaces/{}/public-ip", o.attached), 409, "PublicIpExists", format!("Network interface {} already has the public IP {}.", o.attached, o.public_ip_address)),
        "public_ip_release_on_interface" => at(M::DELETE, format!("{p}/interfaces/{}/public-ip", o.primary), 404, "NotFound",
            format!("Public IP on network interface {} could not be found.", o.primary)),
        "public_ip_allocate" => same(json!({"interface_id": o.attached}), 409, "PublicIpExists", format!("Network interface {} already has the public IP {}.", o.attached, o.public_ip_address)),
        "public_ip_associate" => same(json!({"interface_id": o.attached}), 409, "PublicIpExists", format!("Network interface {} already has the public IP {}.", o.attached, o.public_ip_address)),
        "public_ip_release" => at(
            M::DELETE,
            format!("{p}/public-ips/{MISSING}"),
            404,
            "NotFound",
            nf("Public IP", MISSING),
        ),
        "security_group_create" => same(json!({"name": ""}), 400, "InvalidValue", "Invalid value for name: must not be empty.".into()),
        "security_group_rule_create" => same(json!({"direction": "sideways"}), 400, "InvalidValue",
            "Invalid value for direction: 'sideways' is not ingress or egress.".into()),
        "security_group_rule_delete" => at(
            M::DELETE,
            format!("{p}/security-group-rules/{MISSING}"),
            404,
            "NotFound",
            nf("Security group rule", MISSING),
        ),
        "supplementary_create" => Bad {
            method: M::POST,
            // `supplementary_migrate` moved it to the primary, with its VLAN.
            path: format!("{p}/interfaces/{}/supplementary-interfaces", o.primary),
            body: Some(json!({"network_id": o.network, "vlan_id": o.supplementary_vlan})),
            status: 409,
            code: "VlanInUse",
            message: format!("VLAN {} is already used on parent interface {}.", o.supplementary_vlan, o.primary),
        },
        "supplementary_update" => same(
            json!({"security_groups": [MISSING]}),
            400,
            "InvalidRequest",
            format!("Security group {MISSING} does not exist in the project."),
        ),
        "supplementary_migrate" => same(
            json!({"ids": [o.attached]}),
            404,
            "NotFound",
            nf("Network interface", &o.attached),
        ),
        "supplementary_tag_set" => same(
            json!({"value": "no spaces"}),
            400,
            "InvalidValue",
            "Invalid value for tags: the value 'no spaces' must be at most 255 letters, digits, '_', '-' or '.'.".into(),
        ),
        "supplementary_tag_delete" => at(
            M::DELETE,
            format!("{p}/supplementary-interfaces/{}/tags/missing", o.supplementary),
            404,
            "NotFound",
            format!("Network interface {} tag 'missing' could not be found.", o.supplementary),
        ),
        "supplementary_batch_create" => same(
            json!({"count": 21, "interface": {"network_id": o.network}}),
            400,
            "InvalidValue",
            "Invalid value for count: 21 is outside the range 1-20.".into(),
        ),
        "supplementary_detach" => at(
            M::POST,
            format!("{p}/supplementary-interfaces/{}/detach", o.primary),
            404,
            "NotFound",
            nf("Network interface", &o.primary),
        ),
        "supplementary_attach" => same(
            json!({"parent_id": o.supplementary}),
            400,
            "InvalidRequest",
            format!(
                "Network interface {} is a supplementary interface and cannot be a parent.",
                o.supplementary
            ),
        ),
        "supplementary_delete" => at(
            M::DELETE,
            format!("{p}/supplementary-interfaces/{}", o.primary),
            404,
            "NotFound",
            nf("Network interface", &o.primary),
        ),
        "security_group_delete" => at(M::DELETE, format!("{p}/security-groups/{}", o.sg), 409, "InUse",
            "Security group web is still used by network interfaces.".into()),
        "interface_detach" => at(M::DELETE, format!("{p}/vms/{}/interfaces/{}", o.vm, o.primary), 409, "PrimaryInterface", format!("Network interface {} is the primary interface of its VM and cannot be removed.", o.primary)),
        "interface_delete" => at(M::DELETE, format!("{p}/interfaces/{}", o.primary), 409, "PrimaryInterface", format!("Network interface {} is the primary interface of its VM and cannot be removed.", o.primary)),
        "vm_delete" => at(
            M::DELETE,
            format!("{p}/vms/{MISSING}"),
            404,
            "NotFound",
            nf("VM", MISSING),
        ),
        "member_set" => Bad {
            method: M::PUT,
            path: format!("{p}/members/{MISSING}"),
            body: Some(json!({"role": "reader"})),
            status: 404,
            code: "NotFound",
            message: nf("User", MISSING),
        },
        "network_create" => same(json!({"name": "n3", "data_center_id": o.dc, "kind": "standard", "subnets": [{"cidr": format!("10.{octet}.8.0/24"), "gateway_ip": "10.9.9.9"}]}), 400, "InvalidValue", format!("Invalid value for gateway_ip: 10.9.9.9 is not a host address of 10.{octet}.8.0/24.")),
        "network_update" => same(json!({"name": ""}), 400, "InvalidValue", "Invalid value for name: must not be empty.".into()),
        "subnet_create" => same(
            json!({"cidr": format!("10.{octet}.2.128/25")}),
            400,
            "InvalidRequest",
            format!("Invalid input for operation: Requested subnet with cidr: 10.{octet}.2.128/25 for network: {} overlaps with another subnet.", o.spare_network),
        ),
        "subnet_update" => same(
            json!({"dns_nameservers": ["1.1.1.1", "1.1.1.1"]}),
            400,
            "InvalidRequest",
            "Invalid input for dns_nameservers. Reason: Duplicate nameserver '1.1.1.1'.".into(),
        ),
        // The two supplementary interfaces of `supplementary_batch_create`
        // (on `app`) are among them.
        "subnet_delete" => at(M::DELETE, format!("{p}/subnets/{}", o.subnet), 409, "InUse",
            "Subnet app-v4 still has 5 allocated IP addresses.".into()),
        "network_delete" => at(M::DELETE, format!("{p}/networks/{}", o.network), 409, "InUse",
            "Network app still has 5 network interfaces.".into()),
        "router_create" => same(json!({"name": "r", "data_center_id": MISSING}), 400, "InvalidRequest",
            format!("Data center {MISSING} does not exist.")),
        "router_update" => same(json!({"gateway": {}, "clear_gateway": true}), 400, "InvalidRequest",
            "Give either a gateway to set or clear_gateway, not both.".into()),
        "router_set_gateway" => at(M::PUT, format!("{p}/routers/{MISSING}/gateway"), 404, "NotFound", nf("Router", MISSING)),
        "router_clear_gateway" => at(M::DELETE, format!("{p}/routers/{MISSING}/gateway"), 404, "NotFound", nf("Router", MISSING)),
        "router_add_interface" => same(json!({"subnet_id": o.routed_subnet}), 409, "AddressInUse",
            format!("The IP address 10.{octet}.3.1 is already in use on subnet routed-v4.")),
        "router_remove_interface" => at(M::DELETE, format!("{p}/routers/{}/interfaces/{MISSING}", o.router), 404, "NotFound",
            format!("Router {} port {MISSING} could not be found.", o.router)),
        // `router_add_interface` gave the spare router an interface.
        "router_delete" => at(M::DELETE, format!("{p}/routers/{}", o.spare_router), 409, "RouterInUse",
            format!("Router {} still has ports", o.spare_router)),
        "member_remove" => at(M::DELETE, format!("{p}/members/{MISSING}"), 404, "NotFound", nf("User", MISSING)),
        "quota_set" => same(json!({"port": -5}), 400, "InvalidValue",
            "Invalid value for port: the quota -5 must be -1 (unlimited) or between 0 and 2147483647.".into()),
        "quota_reset" => at(
            M::DELETE,
            "/v1/projects/00000000000040008000000000000000/quotas".into(),
            404,
            "NotFound",
            nf("Project", "00000000000040008000000000000000"),
        ),
        "project_create" => same(json!({"name": ""}), 400, "InvalidValue", "Invalid value for name: must not be empty.".into()),
        "project_update" => same(json!({"name": ""}), 400, "InvalidValue", "Invalid value for name: must not be empty.".into()),
        "user_create" => same(json!({"name": "short-pw", "password": "x"}), 400, "InvalidValue", "Invalid value for password: must be at least 8 characters.".into()),
        "data_center_create" => same(json!({"name": ""}), 400, "InvalidValue", "Invalid value for name: must not be empty.".into()),
        "pool_create" => same(
            json!({"name": "overlap", "data_center_id": o.dc, "cidr": "203.0.113.128/25"}),
            409,
            "InUse",
            "The CIDR 203.0.113.128/25 overlaps the public IP pool public (203.0.113.0/24).".into(),
        ),
        "shared_network_create" => same(json!({"name": "s", "data_center_id": o.dc, "kind": "standard", "subnets": [{"cidr": "10.200.8.0/24", "gateway_ip": "10.9.9.9"}]}), 400, "InvalidValue", "Invalid value for gateway_ip: 10.9.9.9 is not a host address of 10.200.8.0/24.".into()),
        "user_update" => same(json!({"password": "x"}), 400, "InvalidValue", "Invalid value for password: must be at least 8 characters.".into()),
        "user_delete" => at(
            M::DELETE,
            format!("/v1/users/{MISSING}"),
            404,
            "NotFound",
            nf("User", MISSING),
        ),
        other => panic!("no bad request for route {other}"),
    }
}

fn dry(path: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}dry_run=true")
}

#[test]
fn every_write_route_validates_fully_in_a_dry_run_and_changes_nothing() {
    let s = Server::start(&[]);
    let t = tenant(&s, "dry");
    let octet = 51;
    let o = populate(&t, octet);
    let cloud = s.admin();
    let users = [
        o.admin_user.as_str(),
        o.power_user.as_str(),
        o.reader_user.as_str(),
    ];
    let mut unknown = Vec::new();
    for r in write_routes(&o, octet) {
        let who = match r.need {
            Need::CloudAdmin => &cloud,
            Need::Write | Need::Administer => &t.admin,
        };
        let name = format!("{} ({} {})", r.name, r.method, r.path);
        let before = snapshot(&cloud, &o.project, &users);

        let b = bad(&o, &r, octet);
        let dry_bad = call(who, b.method.clone(), &dry(&b.path), b.body.as_ref());
        let real_bad = call(who, b.method.clone(), &b.path, b.body.as_ref());
        let got = (
            dry_bad.0,
            dry_bad.1["error"]["code"].as_str().unwrap_or_default(),
            dry_bad.1["error"]["message"].as_str().unwrap_or_default(),
        );
        if got != (b.status, b.code, b.message.as_str()) {
            unknown.push(format!("{}: {got:?}", r.name));
        }
        let (code, message) = (
            real_bad.1["error"]["code"].clone(),
            real_bad.1["error"]["message"].clone(),
        );
        assert_eq!(
            (
                dry_bad.0,
                &dry_bad.1["error"]["code"],
                &dry_bad.1["error"]["message"]
            ),
            (real_bad.0, &code, &message),
            "{name}: a bad request gets the same answer with and without dry run"
        );
        assert_unchanged(
            &format!("{name}: bad request"),
            &before,
            &snapshot(&cloud, &o.project, &users),
        );

        let dry_good = call(who, r.method.clone(), &dry(&r.path), r.body.as_ref());
        assert_eq!(
            dry_good.0, 202,
            "{name}: dry run answers 202, got {}",
            dry_good.1
        );
        if r.method == Method::DELETE {
            assert_eq!(
                dry_good.1,
                Value::Null,
                "{name}: a dry-run delete has no body"
            );
        } else {
            assert!(
                dry_good.1.is_object(),
                "{name}: a dry run shows the result: {}",
                dry_good.1
            );
        }
        assert_unchanged(
            &format!("{name}: dry run"),
            &before,
            &snapshot(&cloud, &o.project, &users),
        );

        ok(
            &name,
            call(who, r.method.clone(), &r.path, r.body.as_ref()),
            r.status,
        );
        assert_ne!(
            before,
            snapshot(&cloud, &o.project, &users),
            "{name}: the real request changes what the snapshot shows"
        );
    }
    assert!(
        unknown.is_empty(),
        "bad requests answered otherwise than expected:\n{}",
        unknown.join("\n")
    );
}

#[test]
fn a_users_own_writes_validate_in_a_dry_run_and_change_nothing() {
    let s = Server::start(&[]);
    let t = tenant(&s, "dry-user");
    let o = populate(&t, 52);
    let cloud = s.admin();
    let users = [
        o.admin_user.as_str(),
        o.power_user.as_str(),
        o.reader_user.as_str(),
    ];
    let before = snapshot(&cloud, &o.project, &users);
    let me = format!("/v1/users/{}", o.power_user);

    // Access keys: a dry-run create shows no secret; a dry-run delete keeps the key.
    let r = call(
        &t.admin,
        Method::POST,
        &dry(&format!("/v1/users/{}/credentials", o.admin_user)),
        Some(&json!({"description": "dry"})),
    );
    assert_eq!(r.0, 202, "credential_create dry run: {}", r.1);
    assert_eq!(r.1["secret"], Value::Null, "a dry run shows no secret");
    assert_eq!(r.1["description"], "dry");
    let r = call(
        &t.admin,
        Method::DELETE,
        &dry(&format!(
            "/v1/users/{}/credentials/{}",
            o.admin_user, o.credential
        )),
        None,
    );
    assert_eq!(r.0, 202, "credential_delete dry run: {}", r.1);
    let missing = call(
        &t.admin,
        Method::DELETE,
        &dry(&format!(
            "/v1/users/{}/credentials/AKNOSUCHKEY",
            o.admin_user
        )),
        None,
    );
    expect_error(
        "credential_delete dry run of a missing key",
        &missing,
        404,
        "NotFound",
        &not_found("Credential", "AKNOSUCHKEY"),
    );

    // Password changes: the same refusal with and without dry run; a good
    // dry run changes no password and revokes no token.
    let wrong = json!({"original_password": "not-my-password", "password": "brand-new-password"});
    for path in ["/v1/auth/password".to_string(), format!("{me}/password")] {
        for p in [dry(&path), path.clone()] {
            expect_error(
                &format!("POST {p} with a wrong original password"),
                &call(&t.power, Method::POST, &p, Some(&wrong)),
                401,
                "Unauthenticated",
                "The original password is wrong.",
            );
        }
        let short = json!({"original_password": PASSWORD, "password": "x"});
        for p in [dry(&path), path.clone()] {
            expect_error(
                &format!("POST {p} with a short password"),
                &call(&t.power, Method::POST, &p, Some(&short)),
                400,
                "InvalidValue",
                "Invalid value for password: must be at least 8 characters.",
            );
        }
        let good = json!({"original_password": PASSWORD, "password": "brand-new-password"});
        let r = call(&t.power, Method::POST, &dry(&path), Some(&good));
        assert_eq!(r.0, 202, "POST {path} dry run: {}", r.1);
    }
    let reset = call(
        &cloud,
        Method::POST,
        &dry(&format!("{me}/password")),
        Some(&json!({"password": "reset-by-the-admin"})),
    );
    assert_eq!(reset.0, 202, "the cloud admin's dry-run reset: {}", reset.1);
    // The power user's token still works, and so does the old password.
    ok(
        "the power user's token after dry runs",
        call(&t.power, Method::GET, "/v1/auth/whoami", None),
        200,
    );
    let mut again = s.client();
    again
        .login("dry-user-power", PASSWORD)
        .expect("the old password still works");

    assert_unchanged(
        "a user's own dry runs",
        &before,
        &snapshot(&cloud, &o.project, &users),
    );
}
