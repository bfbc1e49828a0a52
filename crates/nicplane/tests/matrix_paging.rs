//! Paging matrix of the native API (issue 10): every paged list (VMs,
//! networks, interfaces, public IPs, supplementary interfaces), alone and
//! with its filters, walked with `limit` 2 and 3 over 8 or more objects,
//! returns every object exactly once, in ascending id order (the same
//! order as one big page); every page but the last is full and the last
//! has no `next_marker`.
//!
//! A marker is a position in that order (keyset paging, `id > marker`), not
//! a reference to a live object: an unknown marker or a deleted object's id
//! answers 200 with the objects after that position, the same on SQLite and
//! PostgreSQL (ids compare byte by byte on both). A limit outside 1-1000 is
//! a 400. The other native lists (data centers, pools, users, projects,
//! members, security groups, a VM's interfaces, access keys) are not paged.

mod common;

use common::fixture::*;
use common::*;
use nicplane_client::Client;
use reqwest::Method;
use serde_json::{json, Value};

/// Objects of each kind created per list (more than three pages of 2).
const N: usize = 8;

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|v| v["id"].as_str().expect("id").to_string())
        .collect()
}

/// Walk `path` page by page with `limit`; check every page and return the ids.
fn walk(c: &Client, case: &str, path: &str, limit: usize) -> Vec<String> {
    walk_from(c, case, path, limit, None)
}

/// Walk `path` from `marker` (exclusive).
fn walk_from(
    c: &Client,
    case: &str,
    path: &str,
    limit: usize,
    start: Option<String>,
) -> Vec<String> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut out = Vec::new();
    let mut marker: Option<String> = start;
    for page_no in 0..50 {
        let url = match &marker {
            Some(m) => format!("{path}{sep}limit={limit}&marker={m}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let page = ok(
            &format!("{case}: GET {url}"),
            call(c, Method::GET, &url, None),
            200,
        );
        let items = page["items"].as_array().expect("items");
        assert!(
            items.len() <= limit,
            "{case}: page {page_no} is over the limit"
        );
        out.extend(ids(items));
        match page["next_marker"].as_str() {
            Some(m) => {
                assert_eq!(
                    items.len(),
                    limit,
                    "{case}: page {page_no} has a next marker but is not full ({url})"
                );
                assert_eq!(
                    Some(m),
                    items.last().and_then(|i| i["id"].as_str()),
                    "{case}: the marker is the page's last id"
                );
                marker = Some(m.to_string());
            }
            None => return out,
        }
    }
    panic!("{case}: more than 50 pages");
}

/// The list in one page.
fn one_page(c: &Client, case: &str, path: &str) -> Vec<String> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let page = ok(
        case,
        call(c, Method::GET, &format!("{path}{sep}limit=1000"), None),
        200,
    );
    assert!(
        page.get("next_marker").is_none(),
        "{case}: one page holds all"
    );
    ids(page["items"].as_array().expect("items"))
}

/// A project with at least N objects on every paged list.
struct World {
    t: Tenant,
    p: String,
    /// The network holding the unattached interfaces.
    network: String,
    /// The parent of N supplementary interfaces.
    parent: String,
}

fn world(s: &Server, name: &str) -> World {
    let t = tenant(s, name);
    let p = format!("/v1/projects/{}", t.project);
    let network = t.standard_network("wide", "10.70.0.0/22");
    // The parent and its supplementary interfaces live on a network of their own.
    let vlans = t.standard_network("vlans", "10.71.0.0/22");
    let parent = ok(
        "parent",
        call(
            &t.admin,
            Method::POST,
            &format!("{p}/interfaces"),
            Some(&json!({"network_id": vlans})),
        ),
        201,
    )["id"]
        .as_str()
        .expect("id")
        .to_string();
    for i in 0..N {
        ok(
            "vm",
            call(
                &t.admin,
                Method::POST,
                &format!("{p}/vms"),
                Some(&json!({"name": format!("vm-{i}"), "data_center_id": t.dc})),
            ),
            201,
        );
        ok(
            "interface",
            call(
                &t.admin,
                Method::POST,
                &format!("{p}/interfaces"),
                Some(&json!({"network_id": network})),
            ),
            201,
        );
        ok(
            "network",
            call(
                &t.admin,
                Method::POST,
                &format!("{p}/networks"),
                Some(&json!({"name": format!("l2-{i}"), "data_center_id": t.dc, "kind": "custom"})),
            ),
            201,
        );
        ok(
            "public ip",
            call(
                &t.admin,
                Method::POST,
                &format!("{p}/public-ips"),
                Some(&json!({"data_center_id": t.dc})),
            ),
            201,
        );
        ok(
            "supplementary",
            call(
                &t.admin,
                Method::POST,
                &format!("{p}/interfaces/{parent}/supplementary-interfaces"),
                Some(&json!({"network_id": vlans})),
            ),
            201,
        );
    }
    World {
        t,
        p,
        network,
        parent,
    }
}

/// (case, path, how many objects at least)
fn lists(w: &World) -> Vec<(String, String, usize)> {
    let p = &w.p;
    vec![
        ("vms".into(), format!("{p}/vms"), N),
        (
            "vms by data center".into(),
            format!("{p}/vms?data_center_id={}", w.t.dc),
            N,
        ),
        ("networks".into(), format!("{p}/networks"), N + 3),
        (
            "networks by kind".into(),
            format!("{p}/networks?kind=custom"),
            N,
        ),
        (
            "networks by data center".into(),
            format!("{p}/networks?data_center_id={}", w.t.dc),
            N + 3,
        ),
        ("interfaces".into(), format!("{p}/interfaces"), 3 * N),
        (
            "interfaces on a network".into(),
            format!("{p}/interfaces?network_id={}", w.network),
            N,
        ),
        (
            "interfaces under a parent".into(),
            format!("{p}/interfaces?parent_id={}", w.parent),
            N,
        ),
        (
            "unattached interfaces".into(),
            format!("{p}/interfaces?unattached=true"),
            2 * N,
        ),
        ("public ips".into(), format!("{p}/public-ips"), N),
        (
            "supplementary interfaces".into(),
            format!("{p}/interfaces/{}/supplementary-interfaces", w.parent),
            N,
        ),
    ]
}

fn check_list(c: &Client, case: &str, path: &str, at_least: usize) {
    let all = one_page(c, case, path);
    assert!(
        all.len() >= at_least,
        "{case}: {} objects, expected {at_least} or more",
        all.len()
    );
    let mut sorted = all.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        all, sorted,
        "{case}: one page is in ascending id order, without repeats"
    );
    for limit in [2, 3] {
        let walked = walk(c, &format!("{case} (limit {limit})"), path, limit);
        assert_eq!(
            walked, all,
            "{case}: walking with limit {limit} returns every object once, in order"
        );
    }
}

#[test]
fn every_paged_list_walks_every_object_exactly_once_in_order() {
    let s = Server::start(&[]);
    let w = world(&s, "pages");
    for (case, path, at_least) in lists(&w) {
        check_list(&w.t.reader, &case, &path, at_least);
    }
}

#[test]
fn attached_interfaces_walk_every_object_exactly_once_in_order() {
    // `unattached=false` is a condition of the query, applied before the
    // LIMIT (it used to be applied to the page after it: a page came back
    // short, without a marker, and the walk stopped early).
    let s = Server::start(&[]);
    let w = world(&s, "pages-attached");
    check_list(
        &w.t.reader,
        "attached interfaces",
        &format!("{}/interfaces?unattached=false", w.p),
        N,
    );
}

#[test]
fn unknown_and_deleted_markers_continue_after_their_position() {
    let s = Server::start(&[]);
    let w = world(&s, "markers");
    let c = &w.t.admin;
    let p = &w.p;
    // (case, list path, a delete path prefix for its objects)
    let cases = [
        ("vms", format!("{p}/vms"), format!("{p}/vms")),
        (
            "networks",
            format!("{p}/networks?kind=custom"),
            format!("{p}/networks"),
        ),
        (
            "interfaces",
            format!("{p}/interfaces?network_id={}", w.network),
            format!("{p}/interfaces"),
        ),
        (
            "public ips",
            format!("{p}/public-ips"),
            format!("{p}/public-ips"),
        ),
        (
            "supplementary interfaces",
            format!("{p}/interfaces/{}/supplementary-interfaces", w.parent),
            format!("{p}/supplementary-interfaces"),
        ),
    ];
    for (case, path, delete) in cases {
        let sep = if path.contains('?') { '&' } else { '?' };
        let all = one_page(c, case, &path);
        // A marker before every id: the whole list.
        let from_start = one_page(
            c,
            case,
            &format!("{path}{sep}marker=00000000-0000-4000-8000-000000000000"),
        );
        assert_eq!(from_start, all, "{case}: an unknown marker before every id");
        // A marker after every id: an empty last page.
        let page = ok(
            case,
            call(
                c,
                Method::GET,
                &format!("{path}{sep}marker=zzzz&limit=2"),
                None,
            ),
            200,
        );
        assert_eq!(
            page,
            json!({"items": []}),
            "{case}: an unknown marker after every id"
        );
        // A deleted object's id: the objects after it.
        let gone = all[3].clone();
        ok(
            &format!("{case}: delete"),
            call(c, Method::DELETE, &format!("{delete}/{gone}"), None),
            204,
        );
        let after = walk_from(
            c,
            &format!("{case} after a deleted marker"),
            &path,
            2,
            Some(gone),
        );
        assert_eq!(
            after,
            all[4..].to_vec(),
            "{case}: a deleted object's marker continues after it"
        );
    }
}

#[test]
fn a_limit_outside_one_to_a_thousand_is_refused() {
    let s = Server::start(&[]);
    let t = tenant(&s, "limits");
    let p = format!("/v1/projects/{}", t.project);
    let iface = ok(
        "interface",
        call(
            &t.admin,
            Method::POST,
            &format!("{p}/interfaces"),
            Some(&json!({"network_id": t.standard_network("n", "10.71.0.0/24")})),
        ),
        201,
    );
    let parent = iface["id"].as_str().expect("id");
    for path in [
        format!("{p}/vms"),
        format!("{p}/networks"),
        format!("{p}/interfaces"),
        format!("{p}/public-ips"),
        format!("{p}/interfaces/{parent}/supplementary-interfaces"),
    ] {
        for limit in ["0", "1001"] {
            expect_error(
                &format!("{path} limit={limit}"),
                &call(
                    &t.reader,
                    Method::GET,
                    &format!("{path}?limit={limit}"),
                    None,
                ),
                400,
                "InvalidValue",
                "Invalid value for limit: must be between 1 and 1000.",
            );
        }
        let r = call(&t.reader, Method::GET, &format!("{path}?limit=-1"), None);
        assert_eq!(r.0, 400, "{path} limit=-1: {}", r.1);
        assert_eq!(r.1["error"]["code"], "InvalidRequest", "{path} limit=-1");
    }
}
