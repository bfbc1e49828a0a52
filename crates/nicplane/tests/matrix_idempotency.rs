//! `Idempotency-Key` on the native API (issue 10). The key is the caller's
//! (per user); its fingerprint is the method, the path and the body, so:
//!
//! - a replay of a body-less write (DELETE, VM stop and start, public-IP
//!   release) answers the first result and does nothing again, even after
//!   the state moved on;
//! - the key on another path, or with another body, is refused (409
//!   `IdempotencyKeyReused`) and changes nothing; another user's key of the
//!   same text is a different key;
//! - concurrent requests with one key have exactly one effect, and all get
//!   the first answer;
//! - a replay after a restart (same data directory) answers the first result;
//! - keys are 1 to 255 characters (400 otherwise, nothing done);
//! - a dry run neither uses nor consumes a key.

mod common;

use common::fixture::*;
use common::*;
use nicplane_client::Client;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::{Arc, Barrier};

fn keyed(c: &Client, method: Method, path: &str, body: Option<&Value>, key: &str) -> (u16, Value) {
    call_h(c, method, path, body, &[("Idempotency-Key", key)])
}

fn get(c: &Client, path: &str) -> Value {
    ok(
        &format!("GET {path}"),
        call(c, Method::GET, path, None),
        200,
    )
}

/// One replay case: the first keyed request, something that moves the
/// state on (without a key), then the replay, and what shows it acted once.
struct Replay {
    name: &'static str,
    method: Method,
    path: String,
    status: u16,
    /// Requests (without key) run between the first request and the replay.
    between: Vec<(Method, String, Option<Value>, u16)>,
    /// A GET and the value a field of it must have after the replay.
    after: (String, &'static str, Value),
}

#[test]
fn a_replayed_body_less_write_answers_the_first_result_and_acts_once() {
    let s = Server::start(&[]);
    let t = tenant(&s, "idem");
    let o = populate(&t, 61);
    let p = format!("/v1/projects/{}", o.project);
    let c = &t.admin;
    // The release-on-interface case allocates again in between: that
    // address, read after the replay, must still be held.
    ok(
        "tag to delete",
        call(
            c,
            Method::PUT,
            &format!("{p}/supplementary-interfaces/{}/tags/env", o.supplementary),
            Some(&json!({"value": "first"})),
        ),
        200,
    );
    let cases = vec![
        Replay {
            name: "vm stop",
            method: Method::POST,
            path: format!("{p}/vms/{}/stop", o.vm),
            status: 200,
            between: vec![(Method::POST, format!("{p}/vms/{}/start", o.vm), None, 200)],
            after: (format!("{p}/vms/{}", o.vm), "power_state", json!("running")),
        },
        Replay {
            name: "vm start",
            method: Method::POST,
            path: format!("{p}/vms/{}/start", o.spare_vm),
            status: 200,
            between: vec![(
                Method::POST,
                format!("{p}/vms/{}/stop", o.spare_vm),
                None,
                200,
            )],
            after: (
                format!("{p}/vms/{}", o.spare_vm),
                "power_state",
                json!("stopped"),
            ),
        },
        Replay {
            name: "public ip release on an interface",
            method: Method::DELETE,
            path: format!("{p}/interfaces/{}/public-ip", o.attached),
            status: 204,
            between: vec![(
                Method::POST,
                format!("{p}/interfaces/{}/public-ip", o.attached),
                Some(json!({"description": "second"})),
                201,
            )],
            after: (
                format!("{p}/public-ips?limit=1000"),
                "items",
                Value::Null, // checked below: the second address is still held
            ),
        },
        Replay {
            name: "public ip release",
            method: Method::DELETE,
            path: format!("{p}/public-ips/{}", o.free_public_ip),
            status: 204,
            between: vec![],
            after: (
                format!("{p}/public-ips/{}", o.free_public_ip),
                "",
                Value::Null,
            ),
        },
        Replay {
            name: "interface delete",
            method: Method::DELETE,
            path: format!("{p}/interfaces/{}", o.spare),
            status: 204,
            between: vec![],
            after: (format!("{p}/interfaces/{}", o.spare), "", Value::Null),
        },
        Replay {
            name: "vm delete",
            method: Method::DELETE,
            path: format!("{p}/vms/{}", o.spare_vm),
            status: 204,
            between: vec![],
            after: (format!("{p}/vms/{}", o.spare_vm), "", Value::Null),
        },
        Replay {
            name: "security group rule delete",
            method: Method::DELETE,
            path: format!("{p}/security-group-rules/{}", o.rule),
            status: 204,
            between: vec![],
            // checked below: the rule is gone, the group's default rules stay
            after: (
                format!("{p}/security-groups/{}", o.sg),
                "rules",
                Value::Null,
            ),
        },
        Replay {
            name: "supplementary tag delete",
            method: Method::DELETE,
            path: format!("{p}/supplementary-interfaces/{}/tags/env", o.supplementary),
            status: 204,
            // The tag is set again in between: the replay must not remove it.
            between: vec![(
                Method::PUT,
                format!("{p}/supplementary-interfaces/{}/tags/env", o.supplementary),
                Some(json!({"value": "again"})),
                200,
            )],
            after: (
                format!("{p}/supplementary-interfaces/{}", o.supplementary),
                "tags",
                json!([{"key": "env", "value": "again"}]),
            ),
        },
    ];
    for (n, case) in cases.into_iter().enumerate() {
        let key = format!("replay-{n}");
        let first = keyed(c, case.method.clone(), &case.path, None, &key);
        assert_eq!(
            first.0, case.status,
            "{}: first answer {}",
            case.name, first.1
        );
        // Without the key, the same request now acts (or fails) anew.
        for (m, path, body, status) in &case.between {
            ok(
                &format!("{}: {m} {path}", case.name),
                call(c, m.clone(), path, body.as_ref()),
                *status,
            );
        }
        let before_replay = snapshot(&s.admin(), &o.project, &[]);
        let replay = keyed(c, case.method.clone(), &case.path, None, &key);
        assert_eq!(
            replay, first,
            "{}: the replay answers the first result",
            case.name
        );
        assert_unchanged(
            &format!("{}: the replay", case.name),
            &before_replay,
            &snapshot(&s.admin(), &o.project, &[]),
        );
        let (path, field, want) = &case.after;
        if field.is_empty() {
            // The object is gone: the replay did not fail on that.
            let r = call(c, Method::GET, path, None);
            assert_eq!(r.0, 404, "{}: gone after the first request", case.name);
        } else if !want.is_null() {
            assert_eq!(&get(c, path)[*field], want, "{}", case.name);
        }
    }
    // The release-on-interface replay left the second public IP in place.
    let held: Vec<Value> = all_items(c, &format!("{p}/public-ips"))
        .into_iter()
        .filter(|i| i["interface_id"] == o.attached.as_str())
        .collect();
    assert_eq!(held.len(), 1, "the interface holds its second public IP");
    assert_eq!(held[0]["description"], "second");
    let rules: Vec<Value> = get(c, &format!("{p}/security-groups/{}", o.sg))["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(rules.len(), 2, "the two default egress rules stay");
    assert!(!rules.contains(&json!(o.rule)), "the deleted rule is gone");
}

#[test]
fn a_key_on_another_path_or_body_is_refused_and_keys_are_per_user() {
    let s = Server::start(&[]);
    let t = tenant(&s, "idem-reuse");
    let o = populate(&t, 62);
    let p = format!("/v1/projects/{}", o.project);
    let users = [o.admin_user.as_str()];
    let reused =
        |k: &str| format!("The Idempotency-Key {k} was already used for a different request.");

    ok(
        "first delete",
        keyed(
            &t.admin,
            Method::DELETE,
            &format!("{p}/interfaces/{}", o.spare),
            None,
            "k-path",
        ),
        204,
    );
    let created = ok(
        "first create",
        keyed(
            &t.admin,
            Method::POST,
            &format!("{p}/vms"),
            Some(&json!({"name": "one", "data_center_id": o.dc})),
            "k-body",
        ),
        201,
    );
    let before = snapshot(&s.admin(), &o.project, &users);
    let cases: Vec<(&str, Method, String, Option<Value>, &str)> = vec![
        (
            "another path, same method",
            Method::DELETE,
            format!("{p}/vms/{}", o.spare_vm),
            None,
            "k-path",
        ),
        (
            "another method and path",
            Method::POST,
            format!("{p}/vms/{}/stop", o.vm),
            None,
            "k-path",
        ),
        (
            "a body-less key on a write with a body",
            Method::POST,
            format!("{p}/interfaces"),
            Some(json!({"network_id": o.network})),
            "k-path",
        ),
        (
            "the same path, another body",
            Method::POST,
            format!("{p}/vms"),
            Some(json!({"name": "two", "data_center_id": o.dc})),
            "k-body",
        ),
        (
            "a body key on another path",
            Method::POST,
            format!("{p}/security-groups"),
            Some(json!({"name": "one"})),
            "k-body",
        ),
    ];
    for (name, m, path, body, key) in cases {
        expect_error(
            name,
            &keyed(&t.admin, m, &path, body.as_ref(), key),
            409,
            "IdempotencyKeyReused",
            &reused(key),
        );
    }
    assert_unchanged(
        "refused reuses",
        &before,
        &snapshot(&s.admin(), &o.project, &users),
    );

    // Another user's "k-body" is another key: the same request acts again.
    let other = ok(
        "another user's key",
        keyed(
            &t.power,
            Method::POST,
            &format!("{p}/vms"),
            Some(&json!({"name": "one", "data_center_id": o.dc})),
            "k-body",
        ),
        201,
    );
    assert_ne!(other["id"], created["id"], "a second VM");
    let names: Vec<Value> = all_items(&t.admin, &format!("{p}/vms?name=one"))
        .into_iter()
        .map(|v| v["id"].clone())
        .collect();
    assert_eq!(names, {
        let mut ids = vec![created["id"].clone(), other["id"].clone()];
        ids.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        ids
    });
}

#[test]
fn concurrent_requests_with_one_key_have_one_effect() {
    let s = Server::start(&[]);
    let t = tenant(&s, "idem-race");
    let p = format!("/v1/projects/{}", t.project);
    let n = 8;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let c = t.power.clone();
            let b = barrier.clone();
            let path = format!("{p}/vms");
            let body = json!({"name": "twin", "data_center_id": t.dc});
            std::thread::spawn(move || {
                b.wait();
                keyed(&c, Method::POST, &path, Some(&body), "race-key")
            })
        })
        .collect();
    let answers: Vec<(u16, Value)> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let vms = all_items(&t.power, &format!("{p}/vms?name=twin"));
    assert_eq!(vms.len(), 1, "exactly one VM: {vms:?}");
    let id = &vms[0]["id"];
    for (status, body) in &answers {
        assert_eq!(*status, 201, "every request gets the first answer: {body}");
        assert_eq!(&body["id"], id, "the same VM in every answer");
    }
    // One more request after the race: still the replay.
    let late = keyed(
        &t.power,
        Method::POST,
        &format!("{p}/vms"),
        Some(&json!({"name": "twin", "data_center_id": t.dc})),
        "race-key",
    );
    assert_eq!((late.0, &late.1["id"]), (201, id));
}

#[test]
fn concurrent_body_less_requests_with_one_key_act_once() {
    let s = Server::start(&[]);
    let t = tenant(&s, "idem-race2");
    let o = populate(&t, 63);
    let path = format!("/v1/projects/{}/public-ips/{}", o.project, o.free_public_ip);
    let n = 8;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let c = t.power.clone();
            let b = barrier.clone();
            let path = path.clone();
            std::thread::spawn(move || {
                b.wait();
                keyed(&c, Method::DELETE, &path, None, "release-race")
            })
        })
        .collect();
    for h in handles {
        let (status, body) = h.join().expect("thread");
        assert_eq!(status, 204, "every release gets the first answer: {body}");
    }
    expect_error(
        "the address is released",
        &call(&t.power, Method::GET, &path, None),
        404,
        "NotFound",
        &not_found("Public IP", &o.free_public_ip),
    );
}

#[test]
fn a_replay_after_a_restart_answers_the_first_result() {
    let dir = temp_dir("idem-restart");
    let mut s = Server::start_in(dir.clone(), &[]);
    let t = tenant(&s, "idem-restart");
    let p = format!("/v1/projects/{}", t.project);
    let body = json!({"name": "durable", "data_center_id": t.dc});
    let first = ok(
        "first create",
        keyed(
            &t.power,
            Method::POST,
            &format!("{p}/vms"),
            Some(&body),
            "restart-key",
        ),
        201,
    );
    let vm = first["id"].as_str().expect("id").to_string();
    let stop = keyed(
        &t.power,
        Method::POST,
        &format!("{p}/vms/{vm}/stop"),
        None,
        "restart-stop",
    );
    assert_eq!(stop.0, 200);
    s.stop();

    let s2 = Server::start_in(dir, &[]);
    // Tokens live in the store: the same callers, on the new server.
    let power = s2.client().with_token(t.power.token().expect("token"));
    ok(
        "start (no key)",
        call(&power, Method::POST, &format!("{p}/vms/{vm}/start"), None),
        200,
    );
    let replay = keyed(
        &power,
        Method::POST,
        &format!("{p}/vms"),
        Some(&body),
        "restart-key",
    );
    assert_eq!(replay, (201, first), "the create replays after the restart");
    let replay = keyed(
        &power,
        Method::POST,
        &format!("{p}/vms/{vm}/stop"),
        None,
        "restart-stop",
    );
    assert_eq!(replay, stop, "the stop replays after the restart");
    assert_eq!(
        get(&power, &format!("{p}/vms/{vm}"))["power_state"],
        "running"
    );
    assert_eq!(all_items(&power, &format!("{p}/vms?name=durable")).len(), 1);
}

#[test]
fn keys_are_one_to_255_characters() {
    let s = Server::start(&[]);
    let t = tenant(&s, "idem-len");
    let o = populate(&t, 64);
    let p = format!("/v1/projects/{}", o.project);
    let message = "Invalid value for Idempotency-Key: must be 1 to 255 characters.";
    let before = snapshot(&s.admin(), &o.project, &[]);
    let long = "k".repeat(256);
    for (name, m, path, body) in [
        (
            "create",
            Method::POST,
            format!("{p}/vms"),
            Some(json!({"name": "long", "data_center_id": o.dc})),
        ),
        (
            "delete",
            Method::DELETE,
            format!("{p}/interfaces/{}", o.spare),
            None,
        ),
        ("stop", Method::POST, format!("{p}/vms/{}/stop", o.vm), None),
    ] {
        for key in [long.as_str(), ""] {
            expect_error(
                &format!("{name} with a key of {} characters", key.len()),
                &keyed(&t.admin, m.clone(), &path, body.as_ref(), key),
                400,
                "InvalidValue",
                message,
            );
        }
    }
    assert_unchanged(
        "refused keys",
        &before,
        &snapshot(&s.admin(), &o.project, &[]),
    );
    let longest = "k".repeat(255);
    let first = ok(
        "a key of 255 characters",
        keyed(
            &t.admin,
            Method::POST,
            &format!("{p}/vms"),
            Some(&json!({"name": "long", "data_center_id": o.dc})),
            &longest,
        ),
        201,
    );
    let replay = keyed(
        &t.admin,
        Method::POST,
        &format!("{p}/vms"),
        Some(&json!({"name": "long", "data_center_id": o.dc})),
        &longest,
    );
    assert_eq!(replay, (201, first));
}

#[test]
fn a_dry_run_neither_uses_nor_consumes_a_key() {
    let s = Server::start(&[]);
    let t = tenant(&s, "idem-dry");
    let o = populate(&t, 65);
    let p = format!("/v1/projects/{}", o.project);
    let body = json!({"name": "maybe", "data_center_id": o.dc});
    let before = snapshot(&s.admin(), &o.project, &[]);
    let dry = keyed(
        &t.admin,
        Method::POST,
        &format!("{p}/vms?dry_run=true"),
        Some(&body),
        "dry-key",
    );
    assert_eq!(dry.0, 202, "{}", dry.1);
    let dry_delete = keyed(
        &t.admin,
        Method::DELETE,
        &format!("{p}/interfaces/{}?dry_run=true", o.spare),
        None,
        "dry-key",
    );
    assert_eq!(
        dry_delete.0, 202,
        "the key was not taken by the first dry run"
    );
    assert_unchanged(
        "dry runs with a key",
        &before,
        &snapshot(&s.admin(), &o.project, &[]),
    );

    let real = ok(
        "the real create",
        keyed(
            &t.admin,
            Method::POST,
            &format!("{p}/vms"),
            Some(&body),
            "dry-key",
        ),
        201,
    );
    assert_ne!(real["id"], dry.1["id"], "the dry run's id was not kept");
    // After the real request, a dry run with the key still only validates:
    // it answers 202 with a new would-be VM, not the stored answer.
    let dry_again = keyed(
        &t.admin,
        Method::POST,
        &format!("{p}/vms?dry_run=true"),
        Some(&body),
        "dry-key",
    );
    assert_eq!(dry_again.0, 202);
    assert_ne!(dry_again.1["id"], real["id"]);
    let replay = keyed(
        &t.admin,
        Method::POST,
        &format!("{p}/vms"),
        Some(&body),
        "dry-key",
    );
    assert_eq!(replay, (201, real));
    assert_eq!(all_items(&t.admin, &format!("{p}/vms?name=maybe")).len(), 1);
}

#[test]
#[ignore = "needs PostgreSQL: scripts/test-postgres runs it"]
fn concurrent_requests_with_one_key_on_two_servers_have_one_effect() {
    assert!(
        postgres_admin_url().is_some(),
        "set {POSTGRES_URL_VAR} (scripts/test-postgres does)"
    );
    let s1 = Server::start(&[]);
    let s2 = Server::start_sharing(&s1, &[]);
    let t = tenant(&s1, "idem-two");
    let o = populate(&t, 66);
    let p = format!("/v1/projects/{}", o.project);
    let token = t.power.token().expect("token").to_string();
    let n = 8;
    let barrier = Arc::new(Barrier::new(n));
    // Half the requests go through server 1, half through server 2: a VM
    // create, then an interface delete.
    for (method, path, body, status) in [
        (
            Method::POST,
            format!("{p}/vms"),
            Some(json!({"name": "twin", "data_center_id": o.dc})),
            201,
        ),
        (
            Method::DELETE,
            format!("{p}/interfaces/{}", o.spare),
            None,
            204,
        ),
    ] {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let base = if i % 2 == 0 {
                    s1.url.clone()
                } else {
                    s2.url.clone()
                };
                let c = Client::new(&base).with_token(&token);
                let b = barrier.clone();
                let (method, path, body) = (method.clone(), path.clone(), body.clone());
                std::thread::spawn(move || {
                    b.wait();
                    keyed(&c, method, &path, body.as_ref(), &format!("two-{path}"))
                })
            })
            .collect();
        let answers: Vec<(u16, Value)> = handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect();
        for a in &answers {
            assert_eq!(
                a, &answers[0],
                "{method} {path}: every request gets the first answer"
            );
        }
        assert_eq!(answers[0].0, status, "{method} {path}: {}", answers[0].1);
    }
    assert_eq!(
        all_items(&t.power, &format!("{p}/vms?name=twin")).len(),
        1,
        "one VM"
    );
    expect_error(
        "the interface is gone",
        &call(
            &t.power,
            Method::GET,
            &format!("{p}/interfaces/{}", o.spare),
            None,
        ),
        404,
        "NotFound",
        &not_found("Network interface", &o.spare),
    );
}
