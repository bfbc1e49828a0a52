//! The cloud admin through Neutron across projects (issue 12): networks,
//! subnets and ports created in a project the body names
//! (`project_id`/`tenant_id`, `rules::create_project_named`), a subnet in its
//! network's project, bulk creates in one project; a tenant cannot name
//! another project. Exact statuses, codes and messages; on PostgreSQL too
//! when `NICPLANE_TEST_POSTGRES_URL` is set.

mod common;

use common::neutron_helpers::*;
use common::*;
use reqwest::Method;
use serde_json::json;

#[test]
fn cloud_admin_creates_networks_subnets_and_ports_in_a_named_project() {
    let server = Server::start(&[]);
    let a = tenant(&server, "xp-a");
    let b = tenant(&server, "xp-b");
    let cloud = server.admin();

    let net = ok(
        "network in a",
        neutron(
            &cloud,
            Method::POST,
            "/networks",
            Some(&json!({"network": {"name": "xp-net", "project_id": a.project}})),
        ),
        201,
    )["network"]
        .clone();
    assert_eq!(net["project_id"], json!(a.project));
    let nid = id_of(&net);
    // A subnet goes in its network's project, named or not.
    let sub = ok(
        "subnet of a's network",
        neutron(
            &cloud,
            Method::POST,
            "/subnets",
            Some(&json!({"subnet": {"network_id": nid, "ip_version": 4, "cidr": "10.71.0.0/24"}})),
        ),
        201,
    )["subnet"]
        .clone();
    assert_eq!(sub["project_id"], json!(a.project));
    let port = ok(
        "port in a",
        neutron(
            &cloud,
            Method::POST,
            "/ports",
            Some(&json!({"port": {"network_id": nid, "tenant_id": a.project}})),
        ),
        201,
    )["port"]
        .clone();
    assert_eq!(port["project_id"], json!(a.project));
    assert_eq!(port["fixed_ips"][0]["subnet_id"], sub["id"]);
    let ports = ok(
        "bulk ports in a",
        neutron(
            &cloud,
            Method::POST,
            "/ports",
            Some(&json!({"ports": [
                {"network_id": nid, "project_id": a.project},
                {"network_id": nid, "project_id": a.project}]})),
        ),
        201,
    )["ports"]
        .clone();
    assert_eq!(ports[1]["project_id"], json!(a.project));

    // a's members see them as their own.
    let listed = ok(
        "a's ports",
        neutron(
            &a.reader,
            Method::GET,
            &format!("/ports?network_id={nid}"),
            None,
        ),
        200,
    );
    assert_eq!(listed["ports"].as_array().map(Vec::len), Some(3));
    ok(
        "a's network",
        neutron(&a.reader, Method::GET, &format!("/networks/{nid}"), None),
        200,
    );

    // A bulk create writes in one project.
    assert_neutron_error(
        "bulk in two projects",
        &neutron(
            &cloud,
            Method::POST,
            "/networks",
            Some(&json!({"networks": [
                {"name": "one", "project_id": a.project},
                {"name": "two", "project_id": b.project}]})),
        ),
        400,
        "InvalidInput",
        "A bulk create of networks writes in one project: give every entry the same project_id.",
    );
    assert_neutron_error(
        "bulk ports in two projects",
        &neutron(
            &cloud,
            Method::POST,
            "/ports",
            Some(&json!({"ports": [
                {"network_id": nid, "project_id": a.project},
                {"network_id": nid, "project_id": b.project}]})),
        ),
        400,
        "InvalidInput",
        "A bulk create of ports writes in one project: give every entry the same project_id.",
    );

    // A tenant cannot name another project.
    let sneaky = format!(
        "project_id {} is not the project of the token; only the cloud admin creates resources in another project.",
        a.project
    );
    for (case, path, body) in [
        (
            "network",
            "/networks",
            json!({"network": {"name": "sneaky", "project_id": a.project}}),
        ),
        (
            "subnet",
            "/subnets",
            json!({"subnet": {"network_id": nid, "ip_version": 4, "cidr": "10.72.0.0/24", "project_id": a.project}}),
        ),
        (
            "port",
            "/ports",
            json!({"port": {"network_id": nid, "project_id": a.project}}),
        ),
    ] {
        assert_neutron_error(
            case,
            &neutron(&b.admin, Method::POST, path, Some(&body)),
            403,
            "PolicyNotAuthorized",
            &sneaky,
        );
    }
    let nobody = "0123456789abcdef0123456789abcdef";
    assert_neutron_error(
        "a project that does not exist",
        &neutron(
            &cloud,
            Method::POST,
            "/networks",
            Some(&json!({"network": {"name": "ghost", "project_id": nobody}})),
        ),
        404,
        "ProjectNotFound",
        &format!("Project {nobody} could not be found."),
    );
}

/// Every id a collection lists for the client, walking its `next` links
/// (bounded: at most `max_pages` pages).
fn walk_ids(c: &nicplane_client::Client, first: &str, key: &str, max_pages: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut path = first.to_string();
    for _ in 0..max_pages {
        let page = ok("page", neutron(c, Method::GET, &path, None), 200);
        ids.extend(page[key].as_array().expect("items").iter().map(id_of));
        let next = page[format!("{key}_links")]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["rel"] == "next"))
            .and_then(|l| l["href"].as_str())
            .map(|h| h[h.find("/network/v2.0").expect("neutron path") + 13..].to_string());
        match next {
            Some(n) => path = n,
            None => return ids,
        }
    }
    panic!("more than {max_pages} pages of {first}");
}

#[test]
fn cloud_admin_lists_every_projects_networks_subnets_and_ports_in_pages() {
    let server = Server::start(&[]);
    let a = tenant(&server, "xl-a");
    let b = tenant(&server, "xl-b");
    let cloud = server.admin();
    let mut made = Vec::new();
    for (t, cidr) in [(&a, "10.81.0.0/24"), (&b, "10.82.0.0/24")] {
        let n = ok(
            "network",
            neutron(
                &t.admin,
                Method::POST,
                "/networks",
                Some(&json!({"network": {"name": "xl"}})),
            ),
            201,
        )["network"]
            .clone();
        let sub = ok(
            "subnet",
            neutron(
                &t.admin,
                Method::POST,
                "/subnets",
                Some(&json!({"subnet": {"network_id": n["id"], "ip_version": 4, "cidr": cidr}})),
            ),
            201,
        )["subnet"]
            .clone();
        let port = ok(
            "port",
            neutron(
                &t.admin,
                Method::POST,
                "/ports",
                Some(&json!({"port": {"network_id": n["id"]}})),
            ),
            201,
        )["port"]
            .clone();
        made.push((id_of(&n), id_of(&sub), id_of(&port)));
    }
    for (collection, pick) in [("networks", 0), ("subnets", 1), ("ports", 2)] {
        let all = walk_ids(&cloud, &format!("/{collection}"), collection, 2);
        let paged = walk_ids(&cloud, &format!("/{collection}?limit=1"), collection, 200);
        assert_eq!(paged, all, "{collection}: pages of one walk the same list");
        let mut sorted = all.clone();
        sorted.sort();
        if collection != "ports" {
            assert_eq!(all, sorted, "{collection} by id");
        }
        for m in &made {
            let id = [&m.0, &m.1, &m.2][pick];
            assert!(all.contains(id), "{collection}: the admin sees {id}");
        }
        // Each tenant still sees its own only.
        let own = walk_ids(&a.admin, &format!("/{collection}"), collection, 2);
        assert!(own.contains([&made[0].0, &made[0].1, &made[0].2][pick]));
        assert!(!own.contains([&made[1].0, &made[1].1, &made[1].2][pick]));
    }
    let ghost = "5d1a6b1e-0000-4000-8000-000000000000";
    for (collection, ty, label) in [
        ("networks", "NetworkNotFound", "Network"),
        ("subnets", "SubnetNotFound", "Subnet"),
        ("ports", "PortNotFound", "Port"),
    ] {
        assert_neutron_error(
            "unknown marker",
            &neutron(
                &cloud,
                Method::GET,
                &format!("/{collection}?limit=1&marker={ghost}"),
                None,
            ),
            404,
            ty,
            &format!("{label} {ghost} could not be found."),
        );
    }
    assert_neutron_error(
        "sorted otherwise",
        &neutron(&cloud, Method::GET, "/networks?sort_key=name", None),
        400,
        "InvalidInput",
        "Every project's networks are listed by id, ascending: give no sort_key but id and no page_reverse.",
    );
}
