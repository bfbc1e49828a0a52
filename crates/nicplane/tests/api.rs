//! Native API behaviour: dry runs, idempotency keys, pagination, the error
//! shape, request ids and the OpenAPI document.

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

#[test]
fn dry_runs_validate_fully_answer_202_and_change_nothing() {
    let s = Server::start(&[]);
    let t = tenant(&s, "dry");
    let net = t.standard_network("app", "10.10.0.0/24");
    let vm = t.vm("web", "linux", true);
    let path = format!(
        "/v1/projects/{}/vms/{vm}/interfaces?dry_run=true",
        t.project
    );
    let r = t
        .power
        .raw(Method::POST, &path, Some(&json!({"network_id": net})), &[])
        .unwrap();
    assert_eq!(r.status, 202);
    assert!(
        r.body["mac_address"].is_string(),
        "the would-be interface is shown"
    );
    assert_eq!(t.power.vm(&t.project, &vm).unwrap().interfaces.len(), 1);
    // A dry run that breaks a rule fails like the real thing.
    let r = t
        .power
        .raw(
            Method::POST,
            &path,
            Some(&json!({"network_id": net, "fixed_ips": [{"ip_address": "10.10.0.1"}]})),
            &[],
        )
        .unwrap();
    assert_eq!(r.status, 400);
    let (code, message) = error_of(&r.body);
    assert_eq!(code, "InvalidRequest", "{}", r.body);
    assert_eq!(
        message,
        "The IP address 10.10.0.1 is the gateway of subnet app-v4 and cannot be assigned."
    );
    // Dry-run VM creation, deletion and public IP allocation change nothing.
    let r = t
        .power
        .raw(
            Method::POST,
            &format!("/v1/projects/{}/vms?dry_run=true", t.project),
            Some(&json!({"name": "ghost", "data_center_id": t.dc})),
            &[],
        )
        .unwrap();
    assert_eq!(r.status, 202);
    let r = t
        .power
        .raw(
            Method::DELETE,
            &format!("/v1/projects/{}/vms/{vm}?dry_run=true", t.project),
            None,
            &[],
        )
        .unwrap();
    assert_eq!(r.status, 202);
    let primary = t.power.vm(&t.project, &vm).unwrap().interfaces[0]
        .id
        .to_string();
    let r = t
        .power
        .raw(
            Method::POST,
            &format!(
                "/v1/projects/{}/interfaces/{primary}/public-ip?dry_run=true",
                t.project
            ),
            Some(&json!({})),
            &[],
        )
        .unwrap();
    assert_eq!(r.status, 202);
    let vms = t.power.vms(&t.project).unwrap();
    assert_eq!(vms.len(), 1);
    assert_eq!(vms[0].interfaces[0].public_ip, None);
    assert!(t.power.public_ips(&t.project).unwrap().is_empty());
    let r = t
        .power
        .raw(
            Method::POST,
            &path.replace("dry_run=true", "dry_run=maybe"),
            Some(&json!({"network_id": net})),
            &[],
        )
        .unwrap();
    assert_eq!(r.status, 400);
}

#[test]
fn an_idempotency_key_replays_the_first_answer() {
    let s = Server::start(&[]);
    let t = tenant(&s, "idem");
    let net = t.standard_network("app", "10.10.0.0/24");
    let vm = t.vm("web", "linux", true);
    let path = format!("/v1/projects/{}/vms/{vm}/interfaces", t.project);
    let body = json!({"network_id": net});
    let key = [("Idempotency-Key", "attach-1")];
    let a = t.power.raw(Method::POST, &path, Some(&body), &key).unwrap();
    let b = t.power.raw(Method::POST, &path, Some(&body), &key).unwrap();
    assert_eq!(a.status, 201);
    assert_eq!(b.status, 201);
    assert_eq!(a.body["id"], b.body["id"]);
    assert_eq!(
        t.power.vm(&t.project, &vm).unwrap().interfaces.len(),
        2,
        "one attach, not two"
    );
    let c = t
        .power
        .raw(
            Method::POST,
            &path,
            Some(&json!({"network_id": net, "tag": "x"})),
            &key,
        )
        .unwrap();
    assert_eq!(c.status, 409);
    assert_eq!(error_of(&c.body).0, "IdempotencyKeyReused");
    // Keys are per user: another user may use the same key.
    let d = t.admin.raw(Method::POST, &path, Some(&body), &key).unwrap();
    assert_eq!(d.status, 201);
    assert_ne!(d.body["id"], a.body["id"]);
}

#[test]
fn lists_paginate_with_limit_and_marker() {
    let s = Server::start(&[]);
    let t = tenant(&s, "page");
    for n in 0..7 {
        t.vm(&format!("vm-{n}"), "linux", true);
    }
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &marker {
            Some(m) => format!("?limit=3&marker={m}"),
            None => "?limit=3".into(),
        };
        let r = t
            .reader
            .raw(
                Method::GET,
                &format!("/v1/projects/{}/vms{q}", t.project),
                None,
                &[],
            )
            .unwrap();
        assert_eq!(r.status, 200);
        let items = r.body["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|v| v["id"].as_str().unwrap().to_string()));
        pages += 1;
        match r.body["next_marker"].as_str() {
            Some(m) => marker = Some(m.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 7, "no item twice");
    // Filters.
    let r = t
        .reader
        .raw(
            Method::GET,
            &format!("/v1/projects/{}/vms?name=vm-3", t.project),
            None,
            &[],
        )
        .unwrap();
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    let r = t
        .reader
        .raw(
            Method::GET,
            &format!("/v1/projects/{}/vms?limit=0", t.project),
            None,
            &[],
        )
        .unwrap();
    assert_eq!(r.status, 400);
}

#[test]
fn every_response_has_a_request_id_and_errors_have_one_shape() {
    let s = Server::start(&[]);
    let t = tenant(&s, "shape");
    let ok = t
        .reader
        .raw(Method::GET, "/v1/data-centers", None, &[])
        .unwrap();
    assert_eq!(ok.status, 200);
    assert!(ok.header("x-request-id").is_some());
    let r = t
        .reader
        .raw(
            Method::GET,
            &format!("/v1/projects/{}/vms/not-an-id", t.project),
            None,
            &[],
        )
        .unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"]["status"], 404);
    assert_eq!(r.body["error"]["code"], "NotFound");
    assert_eq!(
        r.body["error"]["request_id"].as_str(),
        r.header("x-request-id")
    );
    let bad = t
        .power
        .raw(
            Method::POST,
            &format!("/v1/projects/{}/vms", t.project),
            Some(&json!({"name": "x", "data_center_id": t.dc, "colour": "red"})),
            &[],
        )
        .unwrap();
    assert_eq!(bad.status, 400);
    assert_eq!(
        error_of(&bad.body),
        (
            "InvalidRequest",
            "The request body is not valid: unknown field `colour`, expected one of `name`, `data_center_id`, `os_type`, `power_state`, `image_ref`, `flavor_ref`, `metadata`, `access_ipv4`, `access_ipv6`, `host`."
        )
    );
    let bad = t
        .power
        .raw(
            Method::POST,
            &format!("/v1/projects/{}/vms", t.project),
            Some(&json!({"name": "x", "data_center_id": t.dc, "os_type": "beos"})),
            &[],
        )
        .unwrap();
    assert_eq!(bad.status, 400);
    assert_eq!(
        error_of(&bad.body),
        (
            "InvalidRequest",
            "The request body is not valid: Invalid value for os_type: 'beos' is not one of: linux, windows."
        )
    );
    let r = s
        .client()
        .raw(Method::GET, "/v1/no-such-thing", None, &[])
        .unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(
        error_of(&r.body),
        ("NotFound", "No route for /v1/no-such-thing.")
    );
    // A method the path does not serve: 405 in the native shape.
    let r = s
        .client()
        .raw(Method::PUT, "/v1/projects", None, &[])
        .unwrap();
    assert_eq!(r.status, 405);
    assert_eq!(
        error_of(&r.body),
        (
            "MethodNotAllowed",
            "The method PUT is not allowed on /v1/projects."
        )
    );
    let r = s
        .client()
        .raw(
            Method::POST,
            "/v1/auth/login",
            Some(&json!({"username": "admin", "password": "wrong"})),
            &[],
        )
        .unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(error_of(&r.body).0, "Unauthenticated");
    assert_eq!(
        s.client()
            .raw(Method::GET, "/healthz", None, &[])
            .unwrap()
            .status,
        200
    );
    assert_eq!(
        s.client()
            .raw(Method::GET, "/readyz", None, &[])
            .unwrap()
            .status,
        200
    );
}

#[test]
fn the_openapi_document_lists_the_use_cases() {
    let s = Server::start(&[]);
    let r = s
        .client()
        .raw(Method::GET, "/v1/openapi.json", None, &[])
        .unwrap();
    assert_eq!(r.status, 200);
    let doc = r.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let ops: Vec<&str> = paths
        .values()
        .flat_map(|p| p.as_object().unwrap().values())
        .filter_map(|o| o["operationId"].as_str())
        .collect();
    for op in [
        "interface_attach",
        "interface_detach",
        "public_ip_allocate",
        "public_ip_release",
        "vm_create",
        "vm_stop",
        "auth_login",
        "quota_show",
        "quota_set",
        "quota_reset",
    ] {
        assert!(ops.contains(&op), "{op} missing from {ops:?}");
    }
    let attach = &paths["/v1/projects/{project_id}/vms/{vm_id}/interfaces"]["post"];
    assert_eq!(attach["operationId"], "interface_attach");
}

#[test]
fn interfaces_can_be_created_unattached_filtered_and_attached_later() {
    let s = Server::start(&[]);
    let t = tenant(&s, "ports");
    let net = t.standard_network("app", "10.10.0.0/24");
    let vm = t.vm("web", "linux", true);
    let port: nicplane_domain::model::Interface = t
        .power
        .post(
            &format!("/v1/projects/{}/interfaces", t.project),
            &json!({"network_id": net, "fixed_ips": [{"ip_address": "10.10.0.9"}]}),
        )
        .unwrap();
    assert_eq!(port.vm_id, None);
    let found = t
        .power
        .interfaces(&t.project, "ip_address=10.10.0.9")
        .unwrap();
    assert_eq!(found.len(), 1);
    let attached: nicplane_domain::model::Interface = t
        .power
        .post(
            &format!("/v1/projects/{}/vms/{vm}/interfaces", t.project),
            &json!({"interface_id": port.id}),
        )
        .unwrap();
    assert_eq!(attached.id, port.id);
    assert_eq!(attached.vm_id.map(|v| v.to_string()), Some(vm.clone()));
    // Detaching an interface that existed before only unbinds it.
    t.power
        .interface_detach(&t.project, &vm, &port.id.to_string())
        .unwrap();
    let after = t.power.interfaces(&t.project, "unattached=true").unwrap();
    assert!(after.iter().any(|i| i.id == port.id));
    let both = t
        .power
        .raw(
            Method::POST,
            &format!("/v1/projects/{}/vms/{vm}/interfaces", t.project),
            Some(&json!({"interface_id": port.id, "network_id": net})),
            &[],
        )
        .unwrap();
    assert_eq!(both.status, 400);
    assert_eq!(
        error_of(&both.body),
        (
            "InvalidRequest",
            "Give either network_id or interface_id, not both."
        )
    );
}

/// `GET …/vms/{id}/interfaces` (one statement when the VM has interfaces):
/// the same interfaces, in the same order, as the VM's detail; 404 for
/// another project's VM and for an unknown one.
#[test]
fn a_vms_interface_list_is_its_details_interfaces() {
    let s = Server::start(&[]);
    let t = tenant(&s, "vmifs");
    let other = tenant(&s, "vmifs-other");
    let net = t.standard_network("app", "10.11.0.0/24");
    let vm = t.vm("web", "linux", true);
    t.power
        .interface_attach(&t.project, &vm, &net, None)
        .expect("attach");
    let path = format!("/v1/projects/{}/vms/{vm}/interfaces", t.project);
    let list = t.reader.raw(Method::GET, &path, None, &[]).expect("list");
    assert_eq!(list.status, 200, "{}", list.body);
    let ids: Vec<&str> = list
        .body
        .as_array()
        .expect("an array")
        .iter()
        .map(|i| i["id"].as_str().expect("id"))
        .collect();
    let detail = t.power.vm(&t.project, &vm).expect("vm");
    let want: Vec<String> = detail.interfaces.iter().map(|i| i.id.to_string()).collect();
    assert_eq!(ids.len(), 2, "the primary and the attached one");
    assert_eq!(ids, want, "the detail's interfaces, in its order");
    assert_eq!(list.body[0]["primary"], true, "primary first");

    let theirs = format!("/v1/projects/{}/vms/{vm}/interfaces", other.project);
    let r = other
        .power
        .raw(Method::GET, &theirs, None, &[])
        .expect("answer");
    assert_eq!(r.status, 404, "{}", r.body);
    let unknown = format!(
        "/v1/projects/{}/vms/{}/interfaces",
        t.project, "0b7a3a52-5d0b-4c1e-9b53-6f0e4a8c2d11"
    );
    let r = t
        .power
        .raw(Method::GET, &unknown, None, &[])
        .expect("answer");
    assert_eq!(r.status, 404, "{}", r.body);
}
