//! Shared fixtures of the matrix tests (`matrix_*.rs`): raw native calls,
//! exact error assertions, a project holding one object of every kind, and a
//! snapshot of everything the native API shows about a project (and the
//! cloud-wide lists) so a test can prove a refused or dry-run write changed
//! nothing.

#![allow(dead_code)]

use super::{Server, Tenant};
use nicplane_client::Client;
use reqwest::Method;
use serde_json::{json, Map, Value};

/// One raw native call: status and JSON body (`null` when empty).
pub fn call(c: &Client, method: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
    call_h(c, method, path, body, &[])
}

/// One raw native call with extra headers.
pub fn call_h(
    c: &Client,
    method: Method,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let r = c
        .raw(method.clone(), path, body, headers)
        .unwrap_or_else(|e| panic!("{method} {path}: no answer: {e}"));
    (r.status, r.body)
}

/// Assert a success status and return the body.
pub fn ok(case: &str, r: (u16, Value), status: u16) -> Value {
    assert_eq!(r.0, status, "{case}: expected HTTP {status}, got {}", r.1);
    r.1
}

/// Assert a native error: status, code and the exact message.
pub fn expect_error(case: &str, r: &(u16, Value), status: u16, code: &str, message: &str) {
    let got = (
        r.0,
        r.1["error"]["code"].as_str().unwrap_or("<no code>"),
        r.1["error"]["message"].as_str().unwrap_or("<no message>"),
    );
    assert_eq!(
        got,
        (status, code, message),
        "{case}: wrong answer (body {})",
        r.1
    );
    assert_eq!(
        r.1["error"]["status"], status,
        "{case}: the body repeats the status"
    );
}

/// The native message for a missing (or not-yours) object.
pub fn not_found(label: &str, id: &str) -> String {
    format!("{label} {id} could not be found.")
}

/// The 403 a reader gets on a write a power user may do.
pub const READER_WRITE: &str =
    "The Tenant Reader role is read-only; this needs the Tenant Administrator or Tenant Power User role.";
/// The 403 a reader gets on a Tenant Administrator's action.
pub const READER_ADMINISTER: &str =
    "The Tenant Reader role cannot do this; it needs the Tenant Administrator role.";
/// The 403 a power user gets on a Tenant Administrator's action.
pub const POWER_ADMINISTER: &str =
    "The Tenant Power User role cannot do this; it needs the Tenant Administrator role.";

/// One object of every kind in a project (ids as strings).
#[derive(Debug, Clone)]
pub struct Objects {
    pub project: String,
    pub dc: String,
    /// The project's Default Network in `dc`.
    pub default_network: String,
    /// A standard network with one IPv4 subnet; interfaces live on it.
    pub network: String,
    pub subnet: String,
    /// A standard network whose subnet holds no address (deletable).
    pub spare_network: String,
    pub spare_subnet: String,
    /// A custom (L2) network without subnet or interface (deletable).
    pub custom_network: String,
    /// A running Linux VM.
    pub vm: String,
    pub primary: String,
    /// An interface on `network` attached to `vm`, with a public IP and a
    /// supplementary interface.
    pub attached: String,
    /// An unattached interface on `network`.
    pub spare: String,
    /// A stopped Linux VM nothing else refers to (deletable).
    pub spare_vm: String,
    pub public_ip: String,
    pub public_ip_address: String,
    /// A public IP held by the project on no interface.
    pub free_public_ip: String,
    /// A security group with one rule, used by `attached`.
    pub sg: String,
    pub rule: String,
    /// A security group nothing uses (deletable).
    pub spare_sg: String,
    /// A supplementary interface under `attached`, and its VLAN id.
    pub supplementary: String,
    pub supplementary_vlan: u64,
    /// The users of the tenant, by role.
    pub admin_user: String,
    pub power_user: String,
    pub reader_user: String,
    /// An access key of the admin user.
    pub credential: String,
    /// A router with a gateway and one interface (on `routed_subnet`,
    /// through `router_port`), and a router without either.
    pub router: String,
    pub routed_subnet: String,
    pub router_port: String,
    pub spare_router: String,
    /// A subnet on no router (for `router_add_interface`).
    pub unrouted_subnet: String,
}

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

/// Fill the tenant's project with one object of every kind; `octet` picks
/// the second octet of its private networks (10.<octet>.x.0/24).
pub fn populate(t: &Tenant, octet: u8) -> Objects {
    let p = &t.project;
    let a = &t.admin;
    let post = |path: &str, body: Value| {
        ok(
            &format!("populate POST {path}"),
            call(
                a,
                Method::POST,
                &format!("/v1/projects/{p}{path}"),
                Some(&body),
            ),
            201,
        )
    };
    let networks: Value = ok(
        "populate networks",
        call(a, Method::GET, &format!("/v1/projects/{p}/networks"), None),
        200,
    );
    let default_network = networks["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|n| n["data_center_id"] == t.dc.as_str() && n["project_id"] == p.as_str())
        .map(id)
        .expect("the project's Default Network");
    let net = post(
        "/networks",
        json!({"name": "app", "data_center_id": t.dc, "kind": "standard",
               "subnets": [{"cidr": format!("10.{octet}.1.0/24")}]}),
    );
    let spare_net = post(
        "/networks",
        json!({"name": "spare", "data_center_id": t.dc, "kind": "standard",
               "subnets": [{"cidr": format!("10.{octet}.2.0/24")}]}),
    );
    let custom = post(
        "/networks",
        json!({"name": "l2", "data_center_id": t.dc, "kind": "custom"}),
    );
    let sg = post("/security-groups", json!({"name": "web"}));
    let rule = post(
        &format!("/security-groups/{}/rules", id(&sg)),
        json!({"direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}),
    );
    let spare_sg = post("/security-groups", json!({"name": "unused"}));
    let vm = post(
        "/vms",
        json!({"name": "web", "data_center_id": t.dc, "os_type": "linux", "power_state": "running"}),
    );
    let spare_vm = post(
        "/vms",
        json!({"name": "idle", "data_center_id": t.dc, "os_type": "linux", "power_state": "stopped"}),
    );
    let vm_id = id(&vm);
    let primary = vm["interfaces"][0]["id"]
        .as_str()
        .expect("primary")
        .to_string();
    let attached = post(
        &format!("/vms/{vm_id}/interfaces"),
        json!({"network_id": id(&net), "security_groups": [id(&sg)]}),
    );
    let spare = post("/interfaces", json!({"network_id": id(&net)}));
    let public_ip = post(
        &format!("/interfaces/{}/public-ip", id(&attached)),
        json!({}),
    );
    let free_public_ip = post("/public-ips", json!({"data_center_id": t.dc}));
    let supplementary = post(
        &format!("/interfaces/{}/supplementary-interfaces", id(&attached)),
        json!({"network_id": id(&net)}),
    );
    let routed = post(
        "/networks",
        json!({"name": "routed", "data_center_id": t.dc, "kind": "standard",
               "subnets": [{"cidr": format!("10.{octet}.3.0/24")}]}),
    );
    let unrouted = post(
        "/networks",
        json!({"name": "unrouted", "data_center_id": t.dc, "kind": "standard",
               "subnets": [{"cidr": format!("10.{octet}.4.0/24")}]}),
    );
    let router = post(
        "/routers",
        json!({"name": "edge", "data_center_id": t.dc, "gateway": {}}),
    );
    let spare_router = post("/routers", json!({"name": "idle", "data_center_id": t.dc}));
    let with_interface = ok(
        "populate router interface",
        call(
            a,
            Method::POST,
            &format!("/v1/projects/{p}/routers/{}/interfaces", id(&router)),
            Some(&json!({"subnet_id": id(&routed["subnets"][0])})),
        ),
        200,
    );
    let users: Vec<String> = ["admin", "power", "reader"]
        .iter()
        .map(|r| {
            let who: Value = ok(
                "whoami",
                call(
                    match *r {
                        "admin" => &t.admin,
                        "power" => &t.power,
                        _ => &t.reader,
                    },
                    Method::GET,
                    "/v1/auth/whoami",
                    None,
                ),
                200,
            );
            id(&who["user"])
        })
        .collect();
    let credential = ok(
        "populate credential",
        call(
            a,
            Method::POST,
            &format!("/v1/users/{}/credentials", users[0]),
            Some(&json!({"description": "ci"})),
        ),
        201,
    );
    Objects {
        project: p.clone(),
        dc: t.dc.clone(),
        default_network,
        network: id(&net),
        subnet: id(&net["subnets"][0]),
        spare_network: id(&spare_net),
        spare_subnet: id(&spare_net["subnets"][0]),
        custom_network: id(&custom),
        vm: vm_id,
        primary,
        attached: id(&attached),
        spare: id(&spare),
        spare_vm: id(&spare_vm),
        public_ip: id(&public_ip),
        public_ip_address: public_ip["address"].as_str().expect("address").to_string(),
        free_public_ip: id(&free_public_ip),
        sg: id(&sg),
        rule: id(&rule),
        spare_sg: id(&spare_sg),
        supplementary: id(&supplementary),
        supplementary_vlan: supplementary["vlan_id"].as_u64().expect("vlan_id"),
        admin_user: users[0].clone(),
        power_user: users[1].clone(),
        reader_user: users[2].clone(),
        credential: credential["access"]
            .as_str()
            .unwrap_or_else(|| panic!("no access key in {credential}"))
            .to_string(),
        router: id(&router),
        routed_subnet: id(&routed["subnets"][0]),
        router_port: with_interface["interfaces"][0]["port_id"]
            .as_str()
            .expect("router port")
            .to_string(),
        spare_router: id(&spare_router),
        unrouted_subnet: id(&unrouted["subnets"][0]),
    }
}

/// Every item of a paged native list (limit 1000, following markers).
pub fn all_items(c: &Client, path: &str) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..100 {
        let url = match &marker {
            Some(m) => format!("{path}{sep}limit=1000&marker={m}"),
            None => format!("{path}{sep}limit=1000"),
        };
        let page = ok(&format!("GET {url}"), call(c, Method::GET, &url, None), 200);
        out.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_marker"].as_str() {
            Some(m) => marker = Some(m.to_string()),
            None => return out,
        }
    }
    panic!("{path}: more than 100 pages");
}

/// Everything the native API shows about a project, read by the cloud admin
/// (who may read every project): the project, its members and quotas (with
/// usage), networks with their subnets' free-address counts, each subnet,
/// security groups with rules, VMs with interfaces, interfaces, public IPs,
/// supplementary interfaces under every interface; and the cloud-wide lists
/// (projects, users, data centers, public-IP pools) with the access keys of
/// the given users.
pub fn snapshot(cloud: &Client, project: &str, users: &[&str]) -> Value {
    let p = format!("/v1/projects/{project}");
    let get = |path: &str| {
        ok(
            &format!("snapshot GET {path}"),
            call(cloud, Method::GET, path, None),
            200,
        )
    };
    let mut s = Map::new();
    s.insert("project".into(), get(&p));
    s.insert("members".into(), get(&format!("{p}/members")));
    s.insert("quotas".into(), get(&format!("{p}/quotas")));
    let networks = all_items(cloud, &format!("{p}/networks"));
    let mut subnets = Map::new();
    for n in &networks {
        for sn in n["subnets"].as_array().into_iter().flatten() {
            let sid = id(sn);
            subnets.insert(sid.clone(), get(&format!("{p}/subnets/{sid}")));
        }
    }
    s.insert("networks".into(), Value::Array(networks));
    s.insert("subnets".into(), Value::Object(subnets));
    let groups = get(&format!("{p}/security-groups"));
    let mut group_details = Map::new();
    for g in groups.as_array().into_iter().flatten() {
        let gid = id(g);
        group_details.insert(gid.clone(), get(&format!("{p}/security-groups/{gid}")));
    }
    s.insert("security_groups".into(), groups);
    s.insert(
        "security_group_details".into(),
        Value::Object(group_details),
    );
    s.insert(
        "vms".into(),
        Value::Array(all_items(cloud, &format!("{p}/vms"))),
    );
    let interfaces = all_items(cloud, &format!("{p}/interfaces"));
    let mut supplementary = Map::new();
    for i in &interfaces {
        let iid = id(i);
        let children = all_items(
            cloud,
            &format!("{p}/interfaces/{iid}/supplementary-interfaces"),
        );
        if !children.is_empty() {
            supplementary.insert(iid, Value::Array(children));
        }
    }
    s.insert("interfaces".into(), Value::Array(interfaces));
    s.insert("supplementary".into(), Value::Object(supplementary));
    s.insert(
        "public_ips".into(),
        Value::Array(all_items(cloud, &format!("{p}/public-ips"))),
    );
    s.insert(
        "routers".into(),
        Value::Array(all_items(cloud, &format!("{p}/routers"))),
    );
    s.insert("projects".into(), get("/v1/projects"));
    s.insert("users".into(), get("/v1/users"));
    s.insert("data_centers".into(), get("/v1/data-centers"));
    s.insert("pools".into(), get("/v1/public-ip-pools"));
    let mut credentials = Map::new();
    for u in users {
        // A deleted user's keys answer 404; that answer is part of the state.
        let (status, body) = call(
            cloud,
            Method::GET,
            &format!("/v1/users/{u}/credentials"),
            None,
        );
        credentials.insert(u.to_string(), json!({"status": status, "body": body}));
    }
    s.insert("credentials".into(), Value::Object(credentials));
    Value::Object(s)
}

/// Assert two snapshots are equal, naming the first part that differs.
pub fn assert_unchanged(case: &str, before: &Value, after: &Value) {
    if before == after {
        return;
    }
    for (k, v) in before.as_object().expect("snapshot") {
        if after.get(k) != Some(v) {
            panic!(
                "{case}: the state changed in '{k}':\n before: {v}\n after:  {}",
                after.get(k).unwrap_or(&Value::Null)
            );
        }
    }
    panic!("{case}: the state changed (a part appeared)");
}

/// The cloud admin of `server`.
pub fn cloud(server: &Server) -> Client {
    server.admin()
}

/// Who may call a write route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A Tenant Administrator or Tenant Power User (the console guide's
    /// "Tenant Administrator or Tenant Power User" for VMs, interfaces and
    /// public IPs; security groups and supplementary interfaces alike).
    Write,
    /// A Tenant Administrator only (networks, subnets, members).
    Administer,
    /// The cloud admin only (projects, users, data centers, pools, shared
    /// networks, quotas).
    CloudAdmin,
}

/// One native write route, with a request that succeeds when the routes of
/// one [`Need`] run in the order given on a fresh [`populate`]d project.
#[derive(Debug, Clone)]
pub struct Route {
    pub name: &'static str,
    pub method: Method,
    pub path: String,
    pub body: Option<Value>,
    pub need: Need,
    /// The status of the real (not dry-run) success.
    pub status: u16,
}

fn route(
    name: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    need: Need,
    status: u16,
) -> Route {
    Route {
        name,
        method,
        path,
        body,
        need,
        status,
    }
}

/// Every project-scoped and cloud-admin write route of the native API, in
/// an order in which each succeeds on `o` (per [`Need`]). The user-level
/// routes (login, logout, password changes, a user's own access keys) take
/// no project role and are not here.
pub fn write_routes(o: &Objects, octet: u8) -> Vec<Route> {
    use Method as M;
    use Need::*;
    let p = format!("/v1/projects/{}", o.project);
    let b = |v: Value| Some(v);
    vec![
        route(
            "vm_update",
            M::PATCH,
            format!("{p}/vms/{}", o.vm),
            b(json!({"name": "web2"})),
            Write,
            200,
        ),
        route(
            "vm_stop",
            M::POST,
            format!("{p}/vms/{}/stop", o.vm),
            None,
            Write,
            200,
        ),
        route(
            "vm_start",
            M::POST,
            format!("{p}/vms/{}/start", o.vm),
            None,
            Write,
            200,
        ),
        route(
            "vm_create",
            M::POST,
            format!("{p}/vms"),
            b(json!({"name": "new", "data_center_id": o.dc})),
            Write,
            201,
        ),
        route(
            "interface_create",
            M::POST,
            format!("{p}/interfaces"),
            b(json!({"network_id": o.network})),
            Write,
            201,
        ),
        route(
            "interface_update",
            M::PATCH,
            format!("{p}/interfaces/{}", o.spare),
            b(json!({"description": "spare"})),
            Write,
            200,
        ),
        route(
            "interface_attach",
            M::POST,
            format!("{p}/vms/{}/interfaces", o.vm),
            b(json!({"interface_id": o.spare})),
            Write,
            201,
        ),
        route(
            "public_ip_allocate_on_interface",
            M::POST,
            format!("{p}/interfaces/{}/public-ip", o.spare),
            b(json!({})),
            Write,
            201,
        ),
        route(
            "public_ip_release_on_interface",
            M::DELETE,
            format!("{p}/interfaces/{}/public-ip", o.spare),
            None,
            Write,
            204,
        ),
        route(
            "public_ip_allocate",
            M::POST,
            format!("{p}/public-ips"),
            b(json!({"data_center_id": o.dc})),
            Write,
            201,
        ),
        route(
            "public_ip_associate",
            M::PATCH,
            format!("{p}/public-ips/{}", o.free_public_ip),
            b(json!({"interface_id": o.spare})),
            Write,
            200,
        ),
        route(
            "public_ip_release",
            M::DELETE,
            format!("{p}/public-ips/{}", o.free_public_ip),
            None,
            Write,
            204,
        ),
        route(
            "security_group_create",
            M::POST,
            format!("{p}/security-groups"),
            b(json!({"name": "db"})),
            Write,
            201,
        ),
        route(
            "security_group_rule_create",
            M::POST,
            format!("{p}/security-groups/{}/rules", o.sg),
            // A rule of its own per call (`octet` differs): an identical
            // rule is 409, and the group already allows all egress.
            b(json!({"direction": "egress", "protocol": "udp",
                     "port_range_min": octet, "port_range_max": octet})),
            Write,
            201,
        ),
        route(
            "security_group_rule_delete",
            M::DELETE,
            format!("{p}/security-group-rules/{}", o.rule),
            None,
            Write,
            204,
        ),
        route(
            "supplementary_migrate",
            M::POST,
            format!(
                "{p}/interfaces/{}/supplementary-interfaces/migrate",
                o.primary
            ),
            b(json!({"ids": [o.supplementary]})),
            Write,
            200,
        ),
        route(
            "supplementary_create",
            M::POST,
            format!("{p}/interfaces/{}/supplementary-interfaces", o.primary),
            b(json!({"network_id": o.network})),
            Write,
            201,
        ),
        route(
            "supplementary_update",
            M::PATCH,
            format!("{p}/supplementary-interfaces/{}", o.supplementary),
            b(json!({"description": "vlan"})),
            Write,
            200,
        ),
        route(
            "supplementary_tag_set",
            M::PUT,
            format!("{p}/supplementary-interfaces/{}/tags/env", o.supplementary),
            b(json!({"value": "prod"})),
            Write,
            200,
        ),
        route(
            "supplementary_tag_delete",
            M::DELETE,
            format!("{p}/supplementary-interfaces/{}/tags/env", o.supplementary),
            None,
            Write,
            204,
        ),
        route(
            "supplementary_batch_create",
            M::POST,
            format!(
                "{p}/interfaces/{}/supplementary-interfaces/batch",
                o.primary
            ),
            b(json!({"count": 2, "interface": {"network_id": o.network}})),
            Write,
            201,
        ),
        route(
            "supplementary_detach",
            M::POST,
            format!("{p}/supplementary-interfaces/{}/detach", o.supplementary),
            None,
            Write,
            200,
        ),
        route(
            "supplementary_attach",
            M::POST,
            format!("{p}/supplementary-interfaces/{}/attach", o.supplementary),
            b(json!({"parent_id": o.attached})),
            Write,
            200,
        ),
        route(
            "supplementary_delete",
            M::DELETE,
            format!("{p}/supplementary-interfaces/{}", o.supplementary),
            None,
            Write,
            204,
        ),
        route(
            "security_group_delete",
            M::DELETE,
            format!("{p}/security-groups/{}", o.spare_sg),
            None,
            Write,
            204,
        ),
        route(
            "interface_detach",
            M::DELETE,
            format!("{p}/vms/{}/interfaces/{}", o.vm, o.spare),
            None,
            Write,
            204,
        ),
        route(
            "interface_delete",
            M::DELETE,
            format!("{p}/interfaces/{}", o.attached),
            None,
            Write,
            204,
        ),
        route(
            "vm_delete",
            M::DELETE,
            format!("{p}/vms/{}", o.spare_vm),
            None,
            Write,
            204,
        ),
        route(
            "router_create",
            M::POST,
            format!("{p}/routers"),
            b(json!({"name": "r2", "data_center_id": o.dc})),
            Administer,
            201,
        ),
        route(
            "router_update",
            M::PATCH,
            format!("{p}/routers/{}", o.router),
            b(json!({"description": "edge router"})),
            Administer,
            200,
        ),
        route(
            "router_set_gateway",
            M::PUT,
            format!("{p}/routers/{}/gateway", o.spare_router),
            b(json!({"enable_snat": false})),
            Administer,
            200,
        ),
        route(
            "router_clear_gateway",
            M::DELETE,
            format!("{p}/routers/{}/gateway", o.spare_router),
            None,
            Administer,
            204,
        ),
        route(
            "router_add_interface",
            M::POST,
            format!("{p}/routers/{}/interfaces", o.spare_router),
            b(json!({"subnet_id": o.unrouted_subnet})),
            Administer,
            200,
        ),
        route(
            "router_remove_interface",
            M::DELETE,
            format!("{p}/routers/{}/interfaces/{}", o.router, o.router_port),
            None,
            Administer,
            204,
        ),
        route(
            "router_delete",
            M::DELETE,
            format!("{p}/routers/{}", o.router),
            None,
            Administer,
            204,
        ),
        route(
            "member_set",
            M::PUT,
            format!("{p}/members/{}", o.reader_user),
            b(json!({"role": "power_user"})),
            Administer,
            200,
        ),
        route(
            "network_create",
            M::POST,
            format!("{p}/networks"),
            b(json!({"name": "n2", "data_center_id": o.dc, "kind": "custom"})),
            Administer,
            201,
        ),
        route(
            "network_update",
            M::PATCH,
            format!("{p}/networks/{}", o.network),
            b(json!({"description": "app tier"})),
            Administer,
            200,
        ),
        route(
            "subnet_create",
            M::POST,
            format!("{p}/networks/{}/subnets", o.spare_network),
            b(json!({"cidr": format!("fd00:{octet}::/64")})),
            Administer,
            201,
        ),
        route(
            "subnet_update",
            M::PATCH,
            format!("{p}/subnets/{}", o.subnet),
            b(json!({"description": "app subnet", "dns_nameservers": ["10.0.0.53"]})),
            Administer,
            200,
        ),
        route(
            "subnet_delete",
            M::DELETE,
            format!("{p}/subnets/{}", o.spare_subnet),
            None,
            Administer,
            204,
        ),
        route(
            "network_delete",
            M::DELETE,
            format!("{p}/networks/{}", o.custom_network),
            None,
            Administer,
            204,
        ),
        route(
            "member_remove",
            M::DELETE,
            format!("{p}/members/{}", o.reader_user),
            None,
            Administer,
            204,
        ),
        route(
            "quota_set",
            M::PUT,
            format!("{p}/quotas"),
            b(json!({"port": 100})),
            CloudAdmin,
            200,
        ),
        route(
            "quota_reset",
            M::DELETE,
            format!("{p}/quotas"),
            None,
            CloudAdmin,
            204,
        ),
        route(
            "project_create",
            M::POST,
            "/v1/projects".into(),
            b(json!({"name": format!("extra-{octet}")})),
            CloudAdmin,
            201,
        ),
        route(
            "project_update",
            M::PATCH,
            p.clone(),
            b(json!({"description": format!("described-{octet}")})),
            CloudAdmin,
            200,
        ),
        route(
            "user_create",
            M::POST,
            "/v1/users".into(),
            b(json!({"name": format!("extra-{octet}"), "password": "extra-password-1"})),
            CloudAdmin,
            201,
        ),
        route(
            "data_center_create",
            M::POST,
            "/v1/data-centers".into(),
            b(json!({"name": format!("dc-{octet}")})),
            CloudAdmin,
            201,
        ),
        route(
            "pool_create",
            M::POST,
            "/v1/public-ip-pools".into(),
            b(
                json!({"name": format!("pool-{octet}"), "data_center_id": o.dc, "cidr": format!("198.18.{octet}.0/24")}),
            ),
            CloudAdmin,
            201,
        ),
        route(
            "shared_network_create",
            M::POST,
            "/v1/shared-networks".into(),
            b(json!({"name": format!("shared-{octet}"), "data_center_id": o.dc, "kind": "custom"})),
            CloudAdmin,
            201,
        ),
        route(
            "user_update",
            M::PATCH,
            format!("/v1/users/{}", o.power_user),
            b(json!({"enabled": false})),
            CloudAdmin,
            200,
        ),
        route(
            "user_delete",
            M::DELETE,
            format!("/v1/users/{}", o.power_user),
            None,
            CloudAdmin,
            204,
        ),
    ]
}
