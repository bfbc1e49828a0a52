//! The permanent public-IP release across restarts and servers (issue 10;
//! console guide: "Releasing a public IP is permanent ... if you allocate a
//! new public IP afterward, you will receive a different address"). The
//! release order is stored, not remembered by a server: after a restart,
//! and on PostgreSQL from another server sharing the database, every
//! never-used address is handed out before any released one, and released
//! ones come back oldest release first.

mod common;

use common::fixture::*;
use common::*;
use nicplane_client::Client;
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeSet;

/// A /28 has 14 hosts; the first is the gateway: 13 public IPs.
const POOL: &str = "198.51.100.0/28";
const POOL_SIZE: usize = 13;

fn allocate(c: &Client, t: &Tenant) -> (String, String) {
    let ip = ok(
        "allocate",
        call(
            c,
            Method::POST,
            &format!("/v1/projects/{}/public-ips", t.project),
            Some(&json!({"data_center_id": t.dc})),
        ),
        201,
    );
    (
        ip["id"].as_str().expect("id").to_string(),
        ip["address"].as_str().expect("address").to_string(),
    )
}

fn release(c: &Client, t: &Tenant, id: &str) {
    ok(
        "release",
        call(
            c,
            Method::DELETE,
            &format!("/v1/projects/{}/public-ips/{id}", t.project),
            None,
        ),
        204,
    );
}

/// Allocate through `clients` in turn until the pool is empty: every fresh
/// address first, then the released ones in release order, then a 409.
fn drain(clients: &[&Client], t: &Tenant, used: &BTreeSet<String>, released: &[String]) {
    let fresh_left = POOL_SIZE - used.len();
    let mut got = Vec::new();
    for n in 0..fresh_left + released.len() {
        got.push(allocate(clients[n % clients.len()], t).1);
    }
    let (fresh, again) = got.split_at(fresh_left);
    for a in fresh {
        assert!(
            !used.contains(a),
            "{a} was used before, yet {} never-used addresses were left",
            fresh_left
        );
    }
    assert_eq!(
        fresh.iter().collect::<BTreeSet<_>>().len(),
        fresh_left,
        "no fresh address twice"
    );
    assert_eq!(
        again, released,
        "the released addresses come back last, oldest release first"
    );
    let pool = ok(
        "pools",
        call(clients[0], Method::GET, "/v1/public-ip-pools", None),
        200,
    )[0]["name"]
        .as_str()
        .expect("pool name")
        .to_string();
    expect_error(
        "the pool is empty",
        &call(
            clients[0],
            Method::POST,
            &format!("/v1/projects/{}/public-ips", t.project),
            Some(&json!({"data_center_id": t.dc})),
        ),
        409,
        "CapacityExhausted",
        &format!("The public IP pool {pool} is exhausted: no public IP address is free."),
    );
}

#[test]
fn released_addresses_come_last_after_a_restart() {
    let dir = temp_dir("pip-order");
    let mut s = Server::start_in(dir.clone(), &["--public-cidr", POOL]);
    let t = tenant(&s, "pip-order");
    let held: Vec<(String, String)> = (0..4).map(|_| allocate(&t.power, &t)).collect();
    let used: BTreeSet<String> = held.iter().map(|(_, a)| a.clone()).collect();
    // Release the third, then the first: that is the order they come back in.
    release(&t.power, &t, &held[2].0);
    release(&t.power, &t, &held[0].0);
    s.stop();

    let s2 = Server::start_in(dir, &["--public-cidr", POOL]);
    let power = s2.client().with_token(t.power.token().expect("token"));
    drain(
        &[&power],
        &t,
        &used,
        &[held[2].1.clone(), held[0].1.clone()],
    );
}

#[test]
fn a_dry_run_release_neither_frees_nor_queues_the_address() {
    let s = Server::start(&["--public-cidr", POOL]);
    let t = tenant(&s, "pip-dry");
    let held: Vec<(String, String)> = (0..3).map(|_| allocate(&t.power, &t)).collect();
    let used: BTreeSet<String> = held.iter().map(|(_, a)| a.clone()).collect();
    let r = call(
        &t.power,
        Method::DELETE,
        &format!(
            "/v1/projects/{}/public-ips/{}?dry_run=true",
            t.project, held[0].0
        ),
        None,
    );
    assert_eq!(r.0, 202, "dry-run release: {}", r.1);
    release(&t.power, &t, &held[1].0);
    // Only the really released address comes back, after the fresh ones;
    // the dry-run one is still held and never handed out.
    drain(&[&t.power], &t, &used, &[held[1].1.clone()]);
    let first = ok(
        "the dry-run address is still held",
        call(
            &t.power,
            Method::GET,
            &format!("/v1/projects/{}/public-ips/{}", t.project, held[0].0),
            None,
        ),
        200,
    );
    assert_eq!(first["address"], held[0].1.as_str());
}

#[test]
#[ignore = "needs PostgreSQL: scripts/test-postgres runs it"]
fn released_addresses_come_last_on_another_server_sharing_the_database() {
    assert!(
        postgres_admin_url().is_some(),
        "set {POSTGRES_URL_VAR} (scripts/test-postgres does)"
    );
    let s1 = Server::start(&["--public-cidr", POOL]);
    let t = tenant(&s1, "pip-shared");
    let held: Vec<(String, String)> = (0..5).map(|_| allocate(&t.power, &t)).collect();
    let used: BTreeSet<String> = held.iter().map(|(_, a)| a.clone()).collect();
    release(&t.power, &t, &held[1].0);
    release(&t.power, &t, &held[4].0);
    release(&t.power, &t, &held[0].0);

    let s2 = Server::start_sharing(&s1, &["--public-cidr", POOL]);
    let on_s2 = s2.client().with_token(t.power.token().expect("token"));
    // Server 2 alone allocates the fresh ones, then both take turns.
    drain(
        &[&on_s2, &t.power],
        &t,
        &used,
        &[held[1].1.clone(), held[4].1.clone(), held[0].1.clone()],
    );
}
