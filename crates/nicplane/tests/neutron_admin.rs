//! The cloud admin across projects through Neutron (issue 12), Keystone's
//! domains, routers' revision numbers, If-Match and tags, and a network in
//! use in each dialect's words. Exact statuses, exception types and
//! messages; every admin power is checked against a tenant that still
//! cannot use it. On PostgreSQL too when `NICPLANE_TEST_POSTGRES_URL` is set.

mod common;

use common::neutron_helpers::*;
use common::*;
use nicplane_client::Client;
use reqwest::Method;
use serde_json::{json, Value};

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

/// The cloud admin with a Keystone token scoped to its own project
/// (`admin`), as OpenStack clients and Tempest hold it.
fn cloud_admin(server: &Server) -> Client {
    let r = server
        .client()
        .raw(
            Method::POST,
            "/identity/v3/auth/tokens",
            Some(&json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": "admin", "domain": {"id": "default"}, "password": ADMIN_PASSWORD}}},
                "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}})),
            &[],
        )
        .expect("transport");
    assert_eq!(r.status, 201, "{:?}", r.body);
    server
        .client()
        .with_token(r.header("x-subject-token").expect("token"))
}

/// A Neutron call with extra headers.
fn neutron_with(
    c: &Client,
    method: Method,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let token = c.token().expect("logged in").to_string();
    let mut all = vec![("X-Auth-Token", token.as_str())];
    all.extend_from_slice(headers);
    let r = c
        .raw(method, &format!("/network/v2.0{path}"), body, &all)
        .expect("transport");
    (r.status, r.body)
}

/// A network with an IPv4 subnet and a port on it: (network, port).
fn network_with_port(c: &Client, name: &str, cidr: &str) -> (String, Value) {
    let n = ok(
        "network",
        neutron(
            c,
            Method::POST,
            "/networks",
            Some(&json!({"network": {"name": name}})),
        ),
        201,
    );
    let nid = id(&n["network"]);
    ok(
        "subnet",
        neutron(
            c,
            Method::POST,
            "/subnets",
            Some(&json!({"subnet": {"network_id": nid, "ip_version": 4, "cidr": cidr}})),
        ),
        201,
    );
    let p = ok(
        "port",
        neutron(
            c,
            Method::POST,
            "/ports",
            Some(&json!({"port": {"network_id": nid}})),
        ),
        201,
    );
    (nid, p["port"].clone())
}

/// The cloud admin reads, updates (gateway set and cleared, SNAT), tags and
/// deletes another project's router by id, as Neutron's admin does; the
/// router stays in its project. Another tenant gets Neutron's 404 for every
/// one of those requests, and the owner sees the admin's changes.
#[test]
fn cloud_admin_acts_on_another_projects_router_and_tenants_stay_confined() {
    let server = Server::start(&[]);
    let a = tenant(&server, "adm-a");
    let b = tenant(&server, "adm-b");
    let admin = cloud_admin(&server);
    let r = ok(
        "create",
        neutron(
            &a.admin,
            Method::POST,
            "/routers",
            Some(&json!({"router": {"name": "edge"}})),
        ),
        201,
    )["router"]
        .clone();
    let rid = id(&r);
    let path = format!("/routers/{rid}");

    let shown = ok("admin show", neutron(&admin, Method::GET, &path, None), 200);
    assert_eq!(shown["router"]["project_id"], json!(a.project));
    let set = ok(
        "admin sets the gateway",
        neutron(
            &admin,
            Method::PUT,
            &path,
            Some(
                &json!({"router": {"external_gateway_info": {"network_id": a.dc, "enable_snat": false}}}),
            ),
        ),
        200,
    );
    assert_eq!(
        set["router"]["external_gateway_info"]["network_id"],
        json!(a.dc)
    );
    assert_eq!(set["router"]["external_gateway_info"]["enable_snat"], false);
    assert_eq!(set["router"]["project_id"], json!(a.project));
    ok(
        "admin tags",
        neutron(&admin, Method::PUT, &format!("{path}/tags/blue"), None),
        201,
    );
    let seen = ok(
        "owner show",
        neutron(&a.admin, Method::GET, &path, None),
        200,
    );
    assert_eq!(
        seen["router"]["external_gateway_info"]["enable_snat"],
        false
    );
    assert_eq!(seen["router"]["tags"], json!(["blue"]));

    let missing = format!("Router {rid} could not be found.");
    let body = json!({"router": {"name": "stolen"}});
    for (case, method, p, body) in [
        ("show", Method::GET, path.clone(), None),
        ("update", Method::PUT, path.clone(), Some(&body)),
        ("delete", Method::DELETE, path.clone(), None),
        ("tags", Method::GET, format!("{path}/tags"), None),
        ("tag add", Method::PUT, format!("{path}/tags/red"), None),
    ] {
        assert_neutron_error(
            &format!("tenant b {case}"),
            &neutron(&b.admin, method, &p, body),
            404,
            "RouterNotFound",
            &missing,
        );
    }
    let cleared = ok(
        "admin clears the gateway",
        neutron(
            &admin,
            Method::PUT,
            &path,
            Some(&json!({"router": {"external_gateway_info": {}}})),
        ),
        200,
    );
    assert_eq!(cleared["router"]["external_gateway_info"], Value::Null);
    ok(
        "admin delete",
        neutron(&admin, Method::DELETE, &path, None),
        204,
    );
    assert_neutron_error(
        "gone for the owner",
        &neutron(&a.admin, Method::GET, &path, None),
        404,
        "RouterNotFound",
        &missing,
    );
}

/// The cloud admin creates a router and a floating IP in another project
/// by naming it (`project_id` / `tenant_id`); a project that does not exist
/// is 404, disagreeing ids 400; a tenant naming another project is 403 and
/// creates nothing.
#[test]
fn cloud_admin_creates_in_a_named_project_and_a_tenant_cannot() {
    let server = Server::start(&[]);
    let a = tenant(&server, "adc-a");
    let b = tenant(&server, "adc-b");
    let admin = cloud_admin(&server);
    let r = ok(
        "admin router in a",
        neutron(
            &admin,
            Method::POST,
            "/routers",
            Some(&json!({"router": {"name": "for-a", "project_id": a.project}})),
        ),
        201,
    );
    assert_eq!(r["router"]["project_id"], json!(a.project));
    assert_eq!(r["router"]["tenant_id"], json!(a.project));
    let listed = ok(
        "a lists",
        neutron(&a.admin, Method::GET, "/routers", None),
        200,
    );
    assert_eq!(listed["routers"][0]["id"], r["router"]["id"]);

    let (_, port) = network_with_port(&a.admin, "adc-net", "10.61.0.0/24");
    let fip = ok(
        "admin floating ip in a",
        neutron(
            &admin,
            Method::POST,
            "/floatingips",
            Some(
                &json!({"floatingip": {"floating_network_id": a.dc, "tenant_id": a.project, "port_id": port["id"]}}),
            ),
        ),
        201,
    );
    assert_eq!(fip["floatingip"]["project_id"], json!(a.project));
    assert_eq!(fip["floatingip"]["port_id"], port["id"]);
    assert_eq!(
        fip["floatingip"]["fixed_ip_address"],
        port["fixed_ips"][0]["ip_address"]
    );

    let nobody = "0123456789abcdef0123456789abcdef";
    assert_neutron_error(
        "a project that does not exist",
        &neutron(
            &admin,
            Method::POST,
            "/routers",
            Some(&json!({"router": {"project_id": nobody}})),
        ),
        404,
        "ProjectNotFound",
        &format!("Project {nobody} could not be found."),
    );
    assert_neutron_error(
        "project_id and tenant_id disagree",
        &neutron(
            &admin,
            Method::POST,
            "/routers",
            Some(&json!({"router": {"project_id": a.project, "tenant_id": b.project}})),
        ),
        400,
        "InvalidInput",
        "'project_id' and 'tenant_id' do not match",
    );
    assert_neutron_error(
        "a tenant names another project",
        &neutron(
            &b.admin,
            Method::POST,
            "/routers",
            Some(&json!({"router": {"name": "sneaky", "project_id": a.project}})),
        ),
        403,
        "PolicyNotAuthorized",
        &format!(
            "project_id {} is not the project of the token; only the cloud admin creates resources in another project.",
            a.project
        ),
    );
    let listed = ok(
        "a lists again",
        neutron(&a.admin, Method::GET, "/routers", None),
        200,
    );
    assert_eq!(listed["routers"].as_array().map(Vec::len), Some(1));
}

/// The cloud admin's floating-IP list spans every project, in id order and
/// in pages with Neutron's links; a tenant's list stays its own.
#[test]
fn cloud_admin_lists_every_projects_floating_ips_in_pages() {
    let server = Server::start(&[]);
    let a = tenant(&server, "adl-a");
    let b = tenant(&server, "adl-b");
    let admin = cloud_admin(&server);
    let mut ids = Vec::new();
    for t in [&a, &b] {
        let f = ok(
            "allocate",
            neutron(
                &t.admin,
                Method::POST,
                "/floatingips",
                Some(&json!({"floatingip": {"floating_network_id": t.dc}})),
            ),
            201,
        );
        ids.push(id(&f["floatingip"]));
    }
    ids.sort();
    let all = ok(
        "admin list",
        neutron(&admin, Method::GET, "/floatingips", None),
        200,
    );
    let got: Vec<String> = all["floatingips"]
        .as_array()
        .expect("list")
        .iter()
        .map(id)
        .collect();
    assert_eq!(got, ids);
    let own = ok(
        "a list",
        neutron(&a.admin, Method::GET, "/floatingips", None),
        200,
    );
    assert_eq!(own["floatingips"].as_array().map(Vec::len), Some(1));
    assert_eq!(own["floatingips"][0]["project_id"], json!(a.project));

    let first = ok(
        "page 1",
        neutron(&admin, Method::GET, "/floatingips?limit=1", None),
        200,
    );
    assert_eq!(id(&first["floatingips"][0]), ids[0]);
    assert_eq!(first["floatingips_links"][0]["rel"], "next");
    let second = ok(
        "page 2",
        neutron(
            &admin,
            Method::GET,
            &format!("/floatingips?limit=1&marker={}", ids[0]),
            None,
        ),
        200,
    );
    assert_eq!(id(&second["floatingips"][0]), ids[1]);
    let filtered = ok(
        "filtered by project",
        neutron(
            &admin,
            Method::GET,
            &format!("/floatingips?project_id={}", b.project),
            None,
        ),
        200,
    );
    assert_eq!(filtered["floatingips"].as_array().map(Vec::len), Some(1));
    assert_eq!(filtered["floatingips"][0]["project_id"], json!(b.project));
    assert_neutron_error(
        "another order",
        &neutron(
            &admin,
            Method::GET,
            "/floatingips?sort_key=floating_ip_address",
            None,
        ),
        400,
        "InvalidInput",
        "Every project's floating IPs are listed by id, ascending: give no sort_key but id and no page_reverse.",
    );
}

/// Routers carry `revision_number` (1, then one more per change, a tag
/// change included) and honour `If-Match: revision_number=N` on update
/// and delete; tags are listed, filtered on and dropped with the router.
#[test]
fn router_revision_if_match_and_tags() {
    let server = Server::start(&[]);
    let t = tenant(&server, "rrev");
    let c = &t.admin;
    let r = ok(
        "create",
        neutron(
            c,
            Method::POST,
            "/routers",
            Some(&json!({"router": {"name": "r1"}})),
        ),
        201,
    )["router"]
        .clone();
    assert_eq!(r["revision_number"], 1);
    let path = format!("/routers/{}", id(&r));
    let renamed = ok(
        "rename",
        neutron(
            c,
            Method::PUT,
            &path,
            Some(&json!({"router": {"name": "r2"}})),
        ),
        200,
    );
    assert_eq!(renamed["router"]["revision_number"], 2);
    assert_neutron_error(
        "stale If-Match",
        &neutron_with(
            c,
            Method::PUT,
            &path,
            Some(&json!({"router": {"name": "r3"}})),
            &[("If-Match", "revision_number=1")],
        ),
        412,
        "RevisionNumberConstraintFailed",
        "Constrained to 1, but current revision is 2",
    );
    let shown = ok("show", neutron(c, Method::GET, &path, None), 200);
    assert_eq!(shown["router"]["name"], "r2");
    ok(
        "current If-Match",
        neutron_with(
            c,
            Method::PUT,
            &path,
            Some(&json!({"router": {"name": "r3"}})),
            &[("If-Match", "revision_number=2")],
        ),
        200,
    );
    let tags = ok(
        "tags",
        neutron(
            c,
            Method::PUT,
            &format!("{path}/tags"),
            Some(&json!({"tags": ["b", "a"]})),
        ),
        200,
    );
    assert_eq!(tags["tags"], json!(["a", "b"]));
    let shown = ok("show tagged", neutron(c, Method::GET, &path, None), 200);
    assert_eq!(shown["router"]["tags"], json!(["a", "b"]));
    assert_eq!(shown["router"]["revision_number"], 4);
    let listed = ok(
        "filter by tag",
        neutron(c, Method::GET, "/routers?tags=a", None),
        200,
    );
    assert_eq!(listed["routers"].as_array().map(Vec::len), Some(1));
    let none = ok(
        "filter by another tag",
        neutron(c, Method::GET, "/routers?tags=z", None),
        200,
    );
    assert_eq!(none["routers"], json!([]));
    assert_neutron_error(
        "stale If-Match on delete",
        &neutron_with(
            c,
            Method::DELETE,
            &path,
            None,
            &[("If-Match", "revision_number=3")],
        ),
        412,
        "RevisionNumberConstraintFailed",
        "Constrained to 3, but current revision is 4",
    );
    ok(
        "delete",
        neutron_with(
            c,
            Method::DELETE,
            &path,
            None,
            &[("If-Match", "revision_number=4")],
        ),
        204,
    );
}

/// Deleting a network with ports: Neutron's `NetworkInUse` words through
/// Neutron, the console guide's words and code `InUse` through the native
/// API; nothing is deleted either way.
#[test]
fn network_in_use_is_worded_by_each_dialect() {
    let server = Server::start(&[]);
    let t = tenant(&server, "niu");
    let (nid, _) = network_with_port(&t.admin, "niu-net", "10.62.0.0/24");
    assert_neutron_error(
        "neutron",
        &neutron(&t.admin, Method::DELETE, &format!("/networks/{nid}"), None),
        409,
        "NetworkInUse",
        &format!("Unable to complete operation on network {nid}. There are one or more ports still in use on the network."),
    );
    let r = t
        .admin
        .raw(
            Method::DELETE,
            &format!("/v1/projects/{}/networks/{nid}", t.project),
            None,
            &[],
        )
        .expect("transport");
    assert_eq!(r.status, 409, "{:?}", r.body);
    assert_eq!(
        error_of(&r.body),
        ("InUse", "Network niu-net still has 1 network interfaces.")
    );
    ok(
        "still there",
        neutron(&t.admin, Method::GET, &format!("/networks/{nid}"), None),
        200,
    );
}

/// Keystone's domains: the cloud admin lists the one domain, `Default`
/// (filtered by name and enabled); a tenant may not list (Keystone's 403)
/// but reads `default`; another id is Keystone's 404.
#[test]
fn keystone_domains() {
    let server = Server::start(&[]);
    let t = tenant(&server, "dom");
    let admin = cloud_admin(&server);
    let get = |c: &Client, path: &str| {
        let token = c.token().expect("token").to_string();
        let r = c
            .raw(Method::GET, path, None, &[("X-Auth-Token", &token)])
            .expect("transport");
        (r.status, r.body)
    };
    let (status, body) = get(&admin, "/identity/v3/domains");
    assert_eq!(status, 200, "{body}");
    let list = body["domains"].as_array().expect("domains");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], "default");
    assert_eq!(list[0]["name"], "Default");
    assert_eq!(list[0]["enabled"], true);
    let (_, named) = get(&admin, "/identity/v3/domains?name=Default");
    assert_eq!(named["domains"].as_array().map(Vec::len), Some(1));
    let (_, other) = get(&admin, "/identity/v3/domains?name=Other");
    assert_eq!(other["domains"], json!([]));
    let (_, disabled) = get(&admin, "/identity/v3/domains?enabled=false");
    assert_eq!(disabled["domains"], json!([]));

    let (status, body) = get(&t.admin, "/identity/v3/domains");
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["error"]["message"],
        "You are not authorized to perform the requested action: identity:list_domains."
    );
    let (status, body) = get(&t.reader, "/identity/v3/domains/default");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["domain"]["name"], "Default");
    let (status, body) = get(&admin, "/identity/v3/domains/nope");
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["message"], "Could not find domain: nope.");
    let anon = server.client();
    let r = anon
        .raw(Method::GET, "/identity/v3/domains/default", None, &[])
        .expect("transport");
    assert_eq!(r.status, 401);
}

/// A router gateway's port: the cloud admin finds it by the router's id
/// (`device_id`), on the external network, of no project, owned by
/// `network:router_gateway`, with the gateway's address in a public pool;
/// the router's own tenant does not see it (Neutron's gateway port has no
/// project); with the gateway cleared it is gone.
#[test]
fn cloud_admin_lists_a_router_gateway_port() {
    let server = Server::start(&[]);
    let t = tenant(&server, "gwp");
    let admin = cloud_admin(&server);
    let pool = server.admin().pools().expect("pools")[0].id.to_string();
    let r = ok(
        "create",
        neutron(
            &t.admin,
            Method::POST,
            "/routers",
            Some(&json!({"router": {"name": "gw", "external_gateway_info": {"network_id": t.dc}}})),
        ),
        201,
    )["router"]
        .clone();
    let rid = id(&r);
    let gw_ip = r["external_gateway_info"]["external_fixed_ips"][0]["ip_address"].clone();
    let query = format!(
        "/ports?network_id={}&device_id={rid}&device_owner=network:router_gateway",
        t.dc
    );
    let listed = ok("admin", neutron(&admin, Method::GET, &query, None), 200);
    let ports = listed["ports"].as_array().expect("ports");
    assert_eq!(ports.len(), 1, "{listed}");
    assert_eq!(ports[0]["device_id"], json!(rid));
    assert_eq!(ports[0]["device_owner"], "network:router_gateway");
    assert_eq!(ports[0]["network_id"], json!(t.dc));
    assert_eq!(ports[0]["project_id"], "");
    assert_eq!(
        ports[0]["fixed_ips"],
        json!([{"subnet_id": pool, "ip_address": gw_ip}])
    );
    let again = ok("same id", neutron(&admin, Method::GET, &query, None), 200);
    assert_eq!(again["ports"][0]["id"], ports[0]["id"]);
    let own = ok("tenant", neutron(&t.admin, Method::GET, &query, None), 200);
    assert_eq!(own["ports"], json!([]));
    ok(
        "clear",
        neutron(
            &admin,
            Method::PUT,
            &format!("/routers/{rid}"),
            Some(&json!({"router": {"external_gateway_info": null}})),
        ),
        200,
    );
    let gone = ok("cleared", neutron(&admin, Method::GET, &query, None), 200);
    assert_eq!(gone["ports"], json!([]));
}

/// The cloud admin's router list spans every project, in id order, paged
/// with Neutron's links, filters applied; a tenant's stays its own.
#[test]
fn cloud_admin_lists_every_projects_routers() {
    let server = Server::start(&[]);
    let a = tenant(&server, "arl-a");
    let b = tenant(&server, "arl-b");
    let admin = cloud_admin(&server);
    let mut ids = Vec::new();
    for (t, name) in [(&a, "ra"), (&b, "rb")] {
        let r = ok(
            "create",
            neutron(
                &t.admin,
                Method::POST,
                "/routers",
                Some(&json!({"router": {"name": name}})),
            ),
            201,
        );
        ids.push(id(&r["router"]));
    }
    ids.sort();
    let all = ok("admin", neutron(&admin, Method::GET, "/routers", None), 200);
    let got: Vec<String> = all["routers"]
        .as_array()
        .expect("list")
        .iter()
        .map(id)
        .collect();
    assert_eq!(got, ids);
    assert_eq!(all["routers"][0]["revision_number"], 1);
    let own = ok("b", neutron(&b.admin, Method::GET, "/routers", None), 200);
    assert_eq!(own["routers"].as_array().map(Vec::len), Some(1));
    assert_eq!(own["routers"][0]["name"], "rb");
    let named = ok(
        "filtered",
        neutron(&admin, Method::GET, "/routers?name=ra", None),
        200,
    );
    assert_eq!(named["routers"].as_array().map(Vec::len), Some(1));
    assert_eq!(named["routers"][0]["project_id"], json!(a.project));
    let first = ok(
        "page 1",
        neutron(&admin, Method::GET, "/routers?limit=1", None),
        200,
    );
    assert_eq!(id(&first["routers"][0]), ids[0]);
    assert_eq!(first["routers_links"][0]["rel"], "next");
    let second = ok(
        "page 2",
        neutron(
            &admin,
            Method::GET,
            &format!("/routers?limit=1&marker={}", ids[0]),
            None,
        ),
        200,
    );
    assert_eq!(id(&second["routers"][0]), ids[1]);
    assert_neutron_error(
        "another order",
        &neutron(&admin, Method::GET, "/routers?sort_key=name", None),
        400,
        "InvalidInput",
        "Every project's routers are listed by id, ascending: give no sort_key but id and no page_reverse.",
    );
}
