//! Projects through Keystone (`POST`/`PATCH`/`DELETE /v3/projects`) and the
//! native project delete with its refusals; Nova's `os-hypervisors` built on
//! nicplane's hosts; Neutron's port binding attributes (issue 12). Exact
//! statuses and messages in each dialect's shape. On PostgreSQL too when
//! `NICPLANE_TEST_POSTGRES_URL` is set.

mod common;

use common::*;
use nicplane_client::Client;
use reqwest::Method;
use serde_json::{json, Value};

/// A Keystone token for a user scoped to a project, as OpenStack clients
/// hold it.
fn keystone_login(server: &Server, user: &str, password: &str, project: &str) -> Client {
    let r = server
        .client()
        .raw(
            Method::POST,
            "/identity/v3/auth/tokens",
            Some(&json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": user, "domain": {"id": "default"}, "password": password}}},
                "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}})),
            &[],
        )
        .expect("transport");
    assert_eq!(r.status, 201, "{:?}", r.body);
    server
        .client()
        .with_token(r.header("x-subject-token").expect("token"))
}

fn cloud_admin(server: &Server) -> Client {
    keystone_login(server, "admin", ADMIN_PASSWORD, "admin")
}

/// A call under `prefix` with the client's token: status and body.
fn call(c: &Client, method: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
    let token = c.token().expect("logged in").to_string();
    let r = c
        .raw(method, path, body, &[("X-Auth-Token", &token)])
        .expect("transport");
    (r.status, r.body)
}

fn keystone_error(case: &str, r: &(u16, Value), status: u16, title: &str, message: &str) {
    assert_eq!(r.0, status, "{case}: {}", r.1);
    assert_eq!(r.1["error"]["code"], status, "{case}: {}", r.1);
    assert_eq!(r.1["error"]["title"], title, "{case}: {}", r.1);
    assert_eq!(r.1["error"]["message"], message, "{case}");
}

fn neutron_error(case: &str, r: &(u16, Value), status: u16, ty: &str, message: &str) {
    assert_eq!(r.0, status, "{case}: {}", r.1);
    assert_eq!(r.1["NeutronError"]["type"], ty, "{case}: {}", r.1);
    assert_eq!(r.1["NeutronError"]["message"], message, "{case}");
}

#[test]
fn keystone_creates_updates_and_deletes_projects_the_native_api_sees() {
    let server = Server::start(&[]);
    let admin = cloud_admin(&server);
    let r = call(
        &admin,
        Method::POST,
        "/identity/v3/projects",
        Some(
            &json!({"project": {"name": "kp-web", "domain_id": "default",
            "description": "web tier", "enabled": true}}),
        ),
    );
    assert_eq!(r.0, 201, "{}", r.1);
    let p = &r.1["project"];
    assert_eq!(p["name"], "kp-web");
    assert_eq!(p["description"], "web tier");
    assert_eq!(p["domain_id"], "default");
    assert_eq!(p["enabled"], true);
    let id = p["id"].as_str().expect("id").to_string();
    // The same object natively, with its defaults.
    let native = server.admin();
    assert!(native
        .projects()
        .unwrap()
        .iter()
        .any(|p| p.id.to_string() == id));

    let dup = call(
        &admin,
        Method::POST,
        "/identity/v3/projects",
        Some(&json!({"project": {"name": "kp-web", "domain_id": "default"}})),
    );
    keystone_error(
        "duplicate",
        &dup,
        409,
        "Conflict",
        "A project named kp-web already exists.",
    );
    let disabled = call(
        &admin,
        Method::POST,
        "/identity/v3/projects",
        Some(&json!({"project": {"name": "kp-off", "enabled": false}})),
    );
    keystone_error(
        "disabled",
        &disabled,
        400,
        "Bad Request",
        "A nicplane project cannot be disabled: delete it instead.",
    );
    let other_domain = call(
        &admin,
        Method::POST,
        "/identity/v3/projects",
        Some(&json!({"project": {"name": "kp-x", "domain_id": "elsewhere"}})),
    );
    keystone_error(
        "domain",
        &other_domain,
        400,
        "Bad Request",
        "Could not find domain: elsewhere.",
    );

    let r = call(
        &admin,
        Method::PATCH,
        &format!("/identity/v3/projects/{id}"),
        Some(&json!({"project": {"name": "kp-web2", "description": "renamed"}})),
    );
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(r.1["project"]["name"], "kp-web2");
    assert_eq!(r.1["project"]["description"], "renamed");
    let admin_project = native
        .projects()
        .unwrap()
        .into_iter()
        .find(|p| p.name == "admin")
        .expect("admin project");
    let r = call(
        &admin,
        Method::PATCH,
        &format!("/identity/v3/projects/{}", admin_project.id),
        Some(&json!({"project": {"name": "root"}})),
    );
    keystone_error(
        "rename admin",
        &r,
        409,
        "Conflict",
        "Project admin is the cloud admin's project; it cannot be renamed.",
    );

    // A member of a project is not the cloud admin.
    let t = tenant(&server, "kp-t");
    let member = keystone_login(&server, "kp-t-admin", PASSWORD, "kp-t");
    let r = call(
        &member,
        Method::POST,
        "/identity/v3/projects",
        Some(&json!({"project": {"name": "kp-mine"}})),
    );
    keystone_error(
        "member create",
        &r,
        403,
        "Forbidden",
        "Only the cloud admin can manage data centers, public IP pools, projects, users and shared networks.",
    );
    let r = call(
        &member,
        Method::DELETE,
        &format!("/identity/v3/projects/{}", t.project),
        None,
    );
    assert_eq!(r.0, 403, "{}", r.1);

    let r = call(
        &admin,
        Method::DELETE,
        &format!("/identity/v3/projects/{id}"),
        None,
    );
    assert_eq!(r.0, 204, "{}", r.1);
    let r = call(
        &admin,
        Method::GET,
        &format!("/identity/v3/projects/{id}"),
        None,
    );
    keystone_error(
        "gone",
        &r,
        404,
        "Not Found",
        &format!("Project {id} could not be found."),
    );
    let r = call(
        &admin,
        Method::DELETE,
        &format!("/identity/v3/projects/{id}"),
        None,
    );
    keystone_error(
        "again",
        &r,
        404,
        "Not Found",
        &format!("Project {id} could not be found."),
    );
    assert!(!native
        .projects()
        .unwrap()
        .iter()
        .any(|p| p.id.to_string() == id));
}

#[test]
fn a_project_is_deleted_only_when_it_holds_nothing_but_its_defaults() {
    let server = Server::start(&[]);
    let native = server.admin();
    let admin = cloud_admin(&server);
    let t = tenant(&server, "kp-hold");
    let vm = t.vm("kp-vm", "linux", false);
    let refused = "Project kp-hold still has 1 VM, 1 network interface; delete them first.";
    assert_api_error(native.project_delete(&t.project), 409, "InUse", refused);
    let r = call(
        &admin,
        Method::DELETE,
        &format!("/identity/v3/projects/{}", t.project),
        None,
    );
    keystone_error("keystone", &r, 409, "Conflict", refused);
    // A tenant administrator cannot delete its own project.
    assert_api_error(
        t.admin.project_delete(&t.project),
        403,
        "Forbidden",
        "Only the cloud admin can manage data centers, public IP pools, projects, users and shared networks.",
    );
    // The refusal changed nothing: the VM and the members are still there.
    assert_eq!(native.members(&t.project).unwrap().len(), 3);
    let net = t.standard_network("kp-net", "10.61.0.0/24");
    let scoped = keystone_login(&server, "kp-hold-admin", PASSWORD, "kp-hold");
    assert_eq!(
        call(&scoped, Method::GET, "/network/v2.0/ports", None).0,
        200
    );
    t.power.vm_delete(&t.project, &vm).expect("vm delete");
    assert_api_error(
        native.project_delete(&t.project),
        409,
        "InUse",
        "Project kp-hold still has 1 network; delete them first.",
    );
    t.admin
        .network_delete(&t.project, &net)
        .expect("network delete");

    // Nothing but the defaults: the project goes, with its Default
    // Networks, default security group, memberships and tokens.
    native.project_delete(&t.project).expect("delete");
    // The feed records the project's delete and its defaults' (on
    // PostgreSQL the sequencer numbers them a moment after the commit).
    let mut deleted: Vec<(String, String)> = Vec::new();
    for _ in 0..100 {
        let page = native.events(0, Some(1000), None, None).expect("events");
        deleted = page
            .events
            .iter()
            .filter(|e| {
                e.action == "delete"
                    && e.project_id.as_ref().map(|p| p.to_string()) == Some(t.project.clone())
            })
            .map(|e| (e.kind.clone(), e.resource_id.clone()))
            .collect();
        if deleted.iter().any(|(k, _)| k == "project") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let kinds: Vec<&str> = deleted.iter().map(|(k, _)| k.as_str()).collect();
    assert!(
        kinds.ends_with(&[
            "subnet",
            "subnet",
            "network",
            "security_group",
            "membership",
            "membership",
            "membership",
            "project"
        ]),
        "{deleted:?}"
    );
    assert_eq!(
        deleted.last().map(|(_, id)| id.as_str()),
        Some(t.project.as_str())
    );
    assert!(!native
        .projects()
        .unwrap()
        .iter()
        .any(|p| p.id.to_string() == t.project));
    // A Keystone token scoped to the project stops working; a native
    // session (not scoped) finds the project no more.
    let r = call(&scoped, Method::GET, "/network/v2.0/ports", None);
    assert_eq!(r.0, 401, "{}", r.1);
    assert_api_error(
        t.admin.interfaces(&t.project, ""),
        404,
        "NotFound",
        &format!("Project {} could not be found.", t.project),
    );
    // The users remain, without a project.
    let mut again = server.client();
    again.login("kp-hold-admin", PASSWORD).expect("login");
    assert!(again.projects().unwrap().is_empty());
    assert_api_error(
        native.project_delete(&t.project),
        404,
        "NotFound",
        &format!("Project {} could not be found.", t.project),
    );
    // The name is free again.
    let p = native.project_create("kp-hold").expect("same name again");
    assert_ne!(p.id.to_string(), t.project);

    // The cloud admin's own project is never deleted.
    let admin_project = native
        .projects()
        .unwrap()
        .into_iter()
        .find(|p| p.name == "admin")
        .expect("admin project");
    assert_api_error(
        native.project_delete(admin_project.id.as_str()),
        409,
        "InUse",
        "Project admin is the cloud admin's project; it cannot be deleted.",
    );
}

#[test]
fn hypervisors_are_the_hosts_for_the_cloud_admin_only() {
    let server = Server::start(&[]);
    let admin = cloud_admin(&server);
    let r = call(&admin, Method::GET, "/compute/v2.1/os-hypervisors", None);
    assert_eq!(r, (200, json!({"hypervisors": []})));
    let native = server.admin();
    let dc = native.data_centers().unwrap()[0].id.to_string();
    let created = native.host_create("hv-a1", &dc).expect("host");
    let host_id = created["host"]["id"].as_str().expect("id").to_string();
    let r = call(&admin, Method::GET, "/compute/v2.1/os-hypervisors", None);
    assert_eq!(
        r,
        (
            200,
            json!({"hypervisors": [{"id": host_id, "hypervisor_hostname": "hv-a1",
                "state": "down", "status": "enabled"}]})
        )
    );
    let r = call(
        &admin,
        Method::GET,
        "/compute/v2.1/os-hypervisors/detail",
        None,
    );
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(r.1["hypervisors"][0]["running_vms"], 0);
    assert_eq!(r.1["hypervisors"][0]["service"]["host"], "hv-a1");
    let r = call(
        &admin,
        Method::GET,
        &format!("/compute/v2.1/os-hypervisors/{host_id}"),
        None,
    );
    assert_eq!(r.1["hypervisor"]["hypervisor_hostname"], "hv-a1", "{}", r.1);
    let r = call(
        &admin,
        Method::GET,
        "/compute/v2.1/os-hypervisors/nope",
        None,
    );
    assert_eq!(
        r,
        (
            404,
            json!({"itemNotFound": {"code": 404, "message": "Hypervisor with ID 'nope' could not be found."}})
        )
    );

    tenant(&server, "kp-hv");
    let member = keystone_login(&server, "kp-hv-admin", PASSWORD, "kp-hv");
    let r = call(&member, Method::GET, "/compute/v2.1/os-hypervisors", None);
    assert_eq!(
        r,
        (
            403,
            json!({"forbidden": {"code": 403, "message":
                "Policy doesn't allow os_compute_api:os-hypervisors:list to be performed."}})
        )
    );
}

#[test]
fn the_cloud_admin_binds_unattached_ports_to_hosts() {
    let server = Server::start(&[]);
    let native = server.admin();
    let dc = native.data_centers().unwrap()[0].id.to_string();
    native.host_create("hv-b1", &dc).expect("host");
    let admin = cloud_admin(&server);
    let net = call(
        &admin,
        Method::POST,
        "/network/v2.0/networks",
        Some(&json!({"network": {"name": "kp-bind"}})),
    );
    assert_eq!(net.0, 201, "{}", net.1);
    let net_id = net.1["network"]["id"].as_str().unwrap().to_string();
    let sub = call(
        &admin,
        Method::POST,
        "/network/v2.0/subnets",
        Some(&json!({"subnet": {"network_id": net_id, "cidr": "10.62.0.0/24", "ip_version": 4}})),
    );
    assert_eq!(sub.0, 201, "{}", sub.1);

    let r = call(
        &admin,
        Method::POST,
        "/network/v2.0/ports",
        Some(
            &json!({"port": {"network_id": net_id, "binding:host_id": "hv-b1",
            "binding:profile": {"local_link_information": []}}}),
        ),
    );
    assert_eq!(r.0, 201, "{}", r.1);
    let port = r.1["port"].clone();
    assert_eq!(port["binding:host_id"], "hv-b1");
    assert_eq!(port["binding:vif_type"], "bridge");
    assert_eq!(
        port["binding:vif_details"],
        json!({"connectivity": "l2", "port_filter": true})
    );
    assert_eq!(
        port["binding:profile"],
        json!({"local_link_information": []})
    );
    assert_eq!(port["binding:vnic_type"], "normal");
    let id = port["id"].as_str().unwrap().to_string();
    let shown = call(
        &admin,
        Method::GET,
        &format!("/network/v2.0/ports/{id}"),
        None,
    );
    for k in [
        "binding:host_id",
        "binding:vif_type",
        "binding:vif_details",
        "binding:profile",
    ] {
        assert_eq!(shown.1["port"][k], port[k], "{k}");
    }
    let listed = call(&admin, Method::GET, "/network/v2.0/ports", None);
    let row = listed.1["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id.as_str())
        .cloned()
        .expect("listed");
    assert_eq!(row["binding:host_id"], "hv-b1");

    // Unbind: the profile stays, the port is unbound.
    let r = call(
        &admin,
        Method::PUT,
        &format!("/network/v2.0/ports/{id}"),
        Some(&json!({"port": {"binding:host_id": ""}})),
    );
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(r.1["port"]["binding:host_id"], "");
    assert_eq!(r.1["port"]["binding:vif_type"], "unbound");
    assert_eq!(r.1["port"]["binding:vif_details"], json!({}));
    assert_eq!(
        r.1["port"]["binding:profile"],
        json!({"local_link_information": []})
    );
    let r = call(
        &admin,
        Method::PUT,
        &format!("/network/v2.0/ports/{id}"),
        Some(&json!({"port": {"binding:host_id": "hv-b1"}})),
    );
    assert_eq!(r.1["port"]["binding:host_id"], "hv-b1", "{}", r.1);

    let r = call(
        &admin,
        Method::PUT,
        &format!("/network/v2.0/ports/{id}"),
        Some(&json!({"port": {"binding:host_id": "hv-nope"}})),
    );
    neutron_error(
        "unknown host",
        &r,
        400,
        "InvalidInput",
        "Invalid value for binding:host_id: no host named hv-nope is registered.",
    );
    let r = call(
        &admin,
        Method::PUT,
        &format!("/network/v2.0/ports/{id}"),
        Some(&json!({"port": {"binding:profile": [1]}})),
    );
    neutron_error(
        "profile",
        &r,
        400,
        "InvalidInput",
        "Invalid value for binding:profile: must be a JSON object.",
    );

    // A tenant sees no binding attributes but the vnic type, and cannot
    // bind.
    let t = tenant(&server, "kp-bt");
    let member = keystone_login(&server, "kp-bt-admin", PASSWORD, "kp-bt");
    let tnet = t.standard_network("kp-tn", "10.63.0.0/24");
    let r = call(
        &member,
        Method::POST,
        "/network/v2.0/ports",
        Some(&json!({"port": {"network_id": tnet}})),
    );
    assert_eq!(r.0, 201, "{}", r.1);
    assert_eq!(r.1["port"]["binding:vnic_type"], "normal");
    assert!(r.1["port"].get("binding:host_id").is_none(), "{}", r.1);
    let r = call(
        &member,
        Method::POST,
        "/network/v2.0/ports",
        Some(&json!({"port": {"network_id": tnet, "binding:host_id": "hv-b1"}})),
    );
    neutron_error(
        "member binds",
        &r,
        403,
        "PolicyNotAuthorized",
        "Only the cloud admin binds ports to hosts (binding:host_id, binding:profile).",
    );
    // The refused create made no port.
    let ports = call(&member, Method::GET, "/network/v2.0/ports", None);
    assert_eq!(ports.1["ports"].as_array().unwrap().len(), 1, "{}", ports.1);

    // The cloud admin binds a port it creates on the tenant's network (as
    // Tempest does): the port goes into the network's project.
    let r = call(
        &admin,
        Method::POST,
        "/network/v2.0/ports",
        Some(&json!({"port": {"network_id": tnet, "binding:host_id": "hv-b1"}})),
    );
    assert_eq!(r.0, 201, "{}", r.1);
    assert_eq!(r.1["port"]["project_id"], t.project.as_str());
    assert_eq!(r.1["port"]["binding:host_id"], "hv-b1");

    // A port on a VM is on the VM's host: binding it elsewhere is refused.
    let vm = t.vm("kp-bvm", "linux", false);
    let vm_ports = call(
        &member,
        Method::GET,
        &format!("/network/v2.0/ports?device_id={vm}"),
        None,
    );
    let vm_port = vm_ports.1["ports"][0]["id"]
        .as_str()
        .expect("vm port")
        .to_string();
    // The VM is on no host (none is live): neither is its port.
    let shown = call(
        &admin,
        Method::GET,
        &format!("/network/v2.0/ports/{vm_port}"),
        None,
    );
    assert_eq!(shown.1["port"]["binding:host_id"], "", "{}", shown.1);
    assert_eq!(shown.1["port"]["binding:vif_type"], "unbound");
    let r = call(
        &admin,
        Method::PUT,
        &format!("/network/v2.0/ports/{vm_port}"),
        Some(&json!({"port": {"binding:host_id": "hv-b1"}})),
    );
    neutron_error(
        "vm port",
        &r,
        409,
        "Conflict",
        &format!("Port {vm_port} is attached to VM {vm}: it is bound to the host of its VM."),
    );
}

/// On PostgreSQL a project delete locks the project's row before it counts
/// what the project holds: a concurrent write that adds an object to the
/// project (here a security group, inserted and left uncommitted in a
/// transaction of the test's own) holds the project row's key-share lock
/// from its foreign key, so the delete waits for it, then sees the new
/// object and refuses. Without the lock it would count first, then delete
/// the project and cascade the new group away unseen.
#[test]
#[ignore = "needs PostgreSQL: scripts/test-postgres runs it"]
fn a_project_delete_waits_for_a_concurrent_write_and_then_sees_it() {
    assert!(
        postgres_admin_url().is_some(),
        "{POSTGRES_URL_VAR} is not set: this test needs PostgreSQL (run scripts/test-postgres)"
    );
    let server = Server::start(&[]);
    let native = server.admin();
    let project = native
        .project_create("kp-race")
        .expect("project")
        .id
        .to_string();
    let url = server.database.clone().expect("a PostgreSQL database");
    let mut writer = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    let mut tx = writer.transaction().expect("begin");
    tx.execute(
        "INSERT INTO security_groups (id, project_id, name, description, is_default, created_at) \
         VALUES ('race-group', $1, 'racer', '', FALSE, 0)",
        &[&project],
    )
    .expect("insert a group");
    let deleting = {
        let native = server.admin();
        let project = project.clone();
        std::thread::spawn(move || native.project_delete(&project))
    };
    // The delete waits on the project's row: a lock request not granted.
    let mut watcher = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    let mut waiting = false;
    for _ in 0..200 {
        let n: i64 = watcher
            .query_one("SELECT COUNT(*) FROM pg_locks WHERE NOT granted AND locktype IN ('transactionid', 'tuple')", &[])
            .expect("pg_locks")
            .get(0);
        if n > 0 {
            waiting = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert!(waiting, "the delete never waited for the open transaction");
    tx.commit().expect("commit");
    assert_api_error(
        deleting.join().expect("thread"),
        409,
        "InUse",
        "Project kp-race still has 1 security group; delete them first.",
    );
    assert!(native
        .projects()
        .unwrap()
        .iter()
        .any(|p| p.id.to_string() == project));
}
