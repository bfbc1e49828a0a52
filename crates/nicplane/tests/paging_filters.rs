//! Every filter of a list happens in the query, before the page is cut
//! (issue 11): two lists used to filter after the LIMIT, so a page could
//! come back short or empty without a marker and a client walking the
//! pages stopped early.
//!
//! Interface ids are random, so each test creates its interfaces first and
//! then gives the filtered-for property to the ones with the highest ids:
//! the first ids of the unfiltered order never match, which is what made
//! the old code answer an empty last page.

mod common;

use common::*;
use nicplane_client::Client;
use reqwest::Method;
use serde_json::{json, Value};

/// Create `n` unattached interfaces on `network`; their ids, ascending.
fn interfaces_on(t: &Tenant, network: &str, n: usize) -> Vec<String> {
    let mut ids: Vec<String> = (0..n)
        .map(|k| {
            let i: Value = t
                .admin
                .post(
                    &format!("/v1/projects/{}/interfaces", t.project),
                    &json!({"network_id": network, "name": format!("port-{k}")}),
                )
                .expect("interface");
            i["id"].as_str().expect("id").to_string()
        })
        .collect();
    ids.sort();
    ids
}

/// Attach an existing interface to a VM natively.
fn attach(t: &Tenant, vm: &str, iface: &str) {
    let _: Value = t
        .admin
        .post(
            &format!("/v1/projects/{}/vms/{vm}/interfaces", t.project),
            &json!({ "interface_id": iface }),
        )
        .expect("attach");
}

/// Walk a native list page by page (bounded); the ids of every page and
/// each page's length.
fn walk_native(c: &Client, path: &str) -> (Vec<String>, Vec<usize>) {
    let (mut ids, mut sizes) = (Vec::new(), Vec::new());
    let mut marker: Option<String> = None;
    for _ in 0..20 {
        let url = match &marker {
            Some(m) => format!("{path}&marker={m}"),
            None => path.to_string(),
        };
        let page: Value = c.get(&url).expect("page");
        let items = page["items"].as_array().expect("items");
        sizes.push(items.len());
        ids.extend(
            items
                .iter()
                .map(|i| i["id"].as_str().expect("id").to_string()),
        );
        match page["next_marker"].as_str() {
            Some(m) => marker = Some(m.to_string()),
            None => return (ids, sizes),
        }
    }
    panic!("{path}: more than 20 pages");
}

/// `unattached=false` is a condition of the query: walking the attached
/// interfaces one per page finds both, although the two interfaces with
/// the lowest ids (the first the unfiltered query meets) are unattached.
#[test]
fn native_attached_filter_pages_through_every_attached_interface() {
    let server = Server::start(&[]);
    let t = tenant(&server, "paging-native");
    let net = t.standard_network("paged", "10.20.0.0/24");
    let ids = interfaces_on(&t, &net, 4);
    let vm = t.vm("holder", "linux", false);
    attach(&t, &vm, &ids[2]);
    attach(&t, &vm, &ids[3]);

    let base = format!("/v1/projects/{}/interfaces?network_id={net}", t.project);
    let (attached, sizes) = walk_native(&t.reader, &format!("{base}&unattached=false&limit=1"));
    assert_eq!(attached, ids[2..].to_vec());
    assert_eq!(sizes, vec![1, 1]);
    let (unattached, sizes) = walk_native(&t.reader, &format!("{base}&unattached=true&limit=1"));
    assert_eq!(unattached, ids[..2].to_vec());
    assert_eq!(sizes, vec![1, 1]);
}

/// A Huawei VPC call with the client's token; returns status and body.
fn huawei(server: &Server, c: &Client, path: &str) -> (u16, Value) {
    let token = c.token().expect("logged in").to_string();
    let hw = Client::new(server.huawei_url.as_deref().expect("huawei listener"));
    let r = hw
        .raw(Method::GET, path, None, &[("X-Auth-Token", &token)])
        .expect("transport");
    (r.status, r.body)
}

/// The ids of a Huawei port page and its `page_info`.
fn port_page(server: &Server, c: &Client, path: &str) -> (Vec<String>, Value) {
    let (status, body) = huawei(server, c, path);
    assert_eq!(status, 200, "{path}: {body}");
    let ids = body["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| p["id"].as_str().expect("id").to_string())
        .collect();
    (ids, body["page_info"].clone())
}

/// The v3 port list's `name`, `status` and `device_owner` filters are
/// conditions of the query (matched ignoring ASCII case): a page of one
/// finds the one matching port, with no marker after it, although the ports
/// with lower ids do not match.
#[test]
fn huawei_port_filters_apply_before_the_limit() {
    let server = Server::start(&["--huawei-listen", "127.0.0.1:0"]);
    let t = tenant(&server, "paging-huawei");
    let net = t.standard_network("paged", "10.21.0.0/24");
    let ids = interfaces_on(&t, &net, 3);
    let wanted = &ids[2];
    let _: Value = t
        .admin
        .patch(
            &format!("/v1/projects/{}/interfaces/{wanted}", t.project),
            &json!({"name": "Wanted"}),
        )
        .expect("rename");
    let vm = t.vm("runner", "linux", true);
    attach(&t, &vm, wanted);

    let base = format!("/v3/{}/ports?virsubnet_id={net}&limit=1", t.project);
    for filter in ["name=wanted", "status=active", "device_owner=COMPUTE:NOVA"] {
        let (found, page_info) = port_page(&server, &t.reader, &format!("{base}&{filter}"));
        assert_eq!(found, vec![wanted.clone()], "{filter}");
        assert_eq!(
            page_info,
            json!({"current_count": 1, "previous_marker": wanted}),
            "{filter}"
        );
    }
    // Without a filter the same walk pages through all three, one a page.
    let (first, page_info) = port_page(&server, &t.reader, &base);
    assert_eq!(first, vec![ids[0].clone()]);
    assert_eq!(page_info["next_marker"], json!(ids[0]));
    // A status no port can have matches nothing (and is not an error).
    let (none, page_info) = port_page(&server, &t.reader, &format!("{base}&status=error"));
    assert_eq!(none, Vec::<String>::new());
    assert_eq!(page_info, json!({"current_count": 0}));
}

/// Neutron's port list is sorted by the store: names byte by byte (upper
/// case before lower), ties by id, `page_reverse` walks back from the
/// marker, and a key without a column is Neutron's 400.
#[test]
fn neutron_ports_sort_in_the_store() {
    let server = Server::start(&[]);
    let t = tenant(&server, "sorted");
    let net = t.standard_network("sorted", "10.31.0.0/24");
    for name in ["b", "B", "a", "_", "b"] {
        let _: Value = t
            .admin
            .post(
                &format!("/v1/projects/{}/interfaces", t.project),
                &json!({"network_id": net, "name": name}),
            )
            .expect("interface");
    }
    let names = |path: &str| -> Vec<String> {
        let (s, b) = neutron(&t.admin, Method::GET, path, None);
        assert_eq!(s, 200, "{path}: {b}");
        b["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };
    let q = format!("/ports?network_id={net}&sort_key=name&sort_dir=asc");
    assert_eq!(names(&q), ["B", "_", "a", "b", "b"]);
    let q = format!("/ports?network_id={net}&sort_key=name&sort_dir=desc");
    assert_eq!(names(&q), ["b", "b", "a", "_", "B"]);
    // Two per page, forwards; then back from the last page's marker.
    let (_, first) = neutron(
        &t.admin,
        Method::GET,
        &format!("/ports?network_id={net}&sort_key=name&limit=2"),
        None,
    );
    let marker = first["ports"][1]["id"].as_str().unwrap().to_string();
    let q = format!("/ports?network_id={net}&sort_key=name&limit=2&marker={marker}");
    assert_eq!(names(&q), ["a", "b"]);
    let q =
        format!("/ports?network_id={net}&sort_key=name&limit=2&marker={marker}&page_reverse=True");
    assert_eq!(names(&q), ["B"]);
    let (s, b) = neutron(&t.admin, Method::GET, "/ports?sort_key=fixed_ips", None);
    assert_eq!(s, 400);
    assert_eq!(
        b["NeutronError"]["message"],
        "fixed_ips is an invalid attribute for sort_keys"
    );
}
