//! Authentication as an attacker tries it (issue 9, point 5), against the
//! real binary: a login flood (peak memory bounded, throttling with
//! `Retry-After`, the real user gets back in), unknown user names throttled
//! like known ones, a half-sent header, the connection cap, an idle
//! connection, project-scoped tokens in every dialect, user disable /
//! enable / delete / password change, idempotent replays after the member
//! was removed, and the purge of expired rows.
//!
//! Every loop is bounded; waits only follow the server's own `Retry-After`
//! or poll for a background effect a bounded number of times.

mod common;

use common::*;
use nicplane_client::{Client, Response};
use reqwest::Method;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn login_raw(c: &Client, user: &str, password: &str) -> Response {
    c.raw(
        Method::POST,
        "/v1/auth/login",
        Some(&json!({"username": user, "password": password})),
        &[],
    )
    .expect("login answered")
}

fn message(r: &Response) -> String {
    r.body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Peak resident memory of a process, in kB (`VmHWM`).
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// Wait for the delay a 429 names (bounded by the server's own maximum).
fn wait_retry_after(r: &Response) {
    let secs: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!(
        secs <= 5,
        "Retry-After {secs} beyond the configured maximum"
    );
    std::thread::sleep(Duration::from_secs(secs) + Duration::from_millis(100));
}

#[test]
fn a_login_flood_keeps_memory_bounded_and_answers_429_with_retry_after() {
    // Every attempt names a different unknown user, so every one costs a
    // (dummy) hash: the flood exercises the hash gate, not the throttle.
    let server = Server::start(&["--login-free-failures-per-address", "100000"]);
    let threads = 100;
    let per_thread = 6;
    let results: Vec<(u16, Option<String>, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let c = server.client();
                s.spawn(move || {
                    (0..per_thread)
                        .map(|i| {
                            let r = login_raw(&c, &format!("ghost-{t}-{i}"), "wrong-password");
                            (
                                r.status,
                                r.header("retry-after").map(str::to_string),
                                message(&r),
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("flood thread"))
            .collect()
    });
    assert_eq!(results.len(), threads * per_thread);
    let mut refused = 0;
    for (status, retry_after, msg) in &results {
        match status {
            401 => assert_eq!(msg, "The user name or password is wrong."),
            429 => {
                refused += 1;
                assert_eq!(retry_after.as_deref(), Some("1"));
                assert_eq!(
                    msg,
                    "Too many password checks are waiting; try again in 1 second."
                );
            }
            other => panic!("unexpected status {other}: {msg}"),
        }
    }
    assert!(refused > 0, "100 parallel logins overflow the hash queue");
    let peak_mb = peak_rss_kb(server.child.id()) / 1024;
    assert!(peak_mb < 400, "peak resident memory {peak_mb} MB");
    // The server still answers, and the admin still logs in.
    server
        .admin()
        .whoami()
        .expect("server alive after the flood");
}

#[test]
fn repeated_failures_of_a_user_are_delayed_and_the_real_user_gets_back_in() {
    let server = Server::start(&[
        "--login-free-failures",
        "2",
        "--login-base-delay",
        "1",
        "--login-max-delay",
        "2",
    ]);
    let cloud = server.admin();
    let victim = cloud.user_create("victim", PASSWORD).expect("user");
    let c = server.client();
    for _ in 0..3 {
        let r = login_raw(&c, "victim", "guess-guess");
        assert_eq!(r.status, 401, "{}", message(&r));
        assert_eq!(message(&r), "The user name or password is wrong.");
    }
    // Now even the right password waits (a guess must not be checked).
    let r = login_raw(&c, "victim", PASSWORD);
    assert_eq!(r.status, 429);
    assert_eq!(r.body["error"]["code"], "TooManyRequests");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(
        message(&r),
        "Too many failed logins; try again in 1 second."
    );
    // Naming the user by id on Keystone is the same user: also throttled.
    let by_id = c
        .raw(
            Method::POST,
            "/identity/v3/auth/tokens",
            Some(
                &json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "id": victim.id.to_string(), "password": PASSWORD}}}}}),
            ),
            &[],
        )
        .unwrap();
    assert_eq!(by_id.status, 429, "{:?}", by_id.body);
    assert_eq!(by_id.header("retry-after"), Some("1"));
    // Each further failure doubles the delay up to the cap (2 s here).
    wait_retry_after(&r);
    assert_eq!(login_raw(&c, "victim", "guess-again").status, 401);
    let r = login_raw(&c, "victim", PASSWORD);
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("2"));
    wait_retry_after(&r);
    assert_eq!(login_raw(&c, "victim", "guess-again").status, 401);
    let r = login_raw(&c, "victim", PASSWORD);
    assert_eq!(r.header("retry-after"), Some("2"), "the delay is capped");
    // After the delay the real user logs in, which clears the record.
    wait_retry_after(&r);
    let ok = login_raw(&c, "victim", PASSWORD);
    assert_eq!(ok.status, 200, "{}", message(&ok));
    assert_eq!(login_raw(&c, "victim", "typo-typo").status, 401);
    assert_eq!(login_raw(&c, "victim", "typo-typo").status, 401);

    // An unknown user name is answered and throttled exactly the same.
    for _ in 0..3 {
        let r = login_raw(&c, "nobody-at-all", "guess-guess");
        assert_eq!(r.status, 401);
        assert_eq!(message(&r), "The user name or password is wrong.");
    }
    let r = login_raw(&c, "nobody-at-all", "guess-guess");
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(
        message(&r),
        "Too many failed logins; try again in 1 second."
    );

    // Keystone's login is throttled too, in Keystone's shape.
    let ks = c
        .raw(
            Method::POST,
            "/identity/v3/auth/tokens",
            Some(
                &json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "name": "nobody-at-all", "domain": {"id": "default"}, "password": "guess"}}}}}),
            ),
            &[],
        )
        .unwrap();
    assert_eq!(ks.status, 429);
    assert!(ks.header("retry-after").is_some());
    assert_eq!(ks.body["error"]["code"], 429);
    assert_eq!(ks.body["error"]["title"], "Too Many Requests");
}

#[test]
fn repeated_failures_from_one_address_are_delayed_whatever_the_user_name() {
    let server = Server::start(&[
        "--login-free-failures-per-address",
        "3",
        "--login-max-delay",
        "1",
    ]);
    let c = server.client();
    for i in 0..4 {
        assert_eq!(
            login_raw(&c, &format!("spray-{i}"), "password1").status,
            401
        );
    }
    let r = login_raw(&c, "spray-new", "password1");
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("1"));
    wait_retry_after(&r);
    // The delay is capped and over: the admin gets in from the same address.
    server
        .admin()
        .whoami()
        .expect("admin logs in after the delay");
}

/// Connect, send `request`, and read until the server closes or `limit`
/// passes; returns what was read and whether the server closed.
fn talk(url: &str, request: &[u8], limit: Duration) -> (String, bool) {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(limit)).unwrap();
    s.write_all(request).expect("send");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into(), true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (String::from_utf8_lossy(&got).into(), true)
            }
            Err(_) => return (String::from_utf8_lossy(&got).into(), false),
        }
    }
}

#[test]
fn a_half_sent_header_is_closed_within_the_header_timeout() {
    let server = Server::start(&["--header-timeout", "1", "--idle-timeout", "60"]);
    // The read limit (20 s) is far beyond the 1 s timeout: it only keeps a
    // broken server from hanging the test.
    let (got, closed) = talk(
        &server.url,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ",
        Duration::from_secs(20),
    );
    assert!(closed, "the server kept a half-sent header open");
    assert!(
        !got.contains("200 OK"),
        "no answer to half a request: {got}"
    );
}

#[test]
fn an_idle_kept_alive_connection_is_closed() {
    let server = Server::start(&["--header-timeout", "15", "--idle-timeout", "1"]);
    let (got, closed) = talk(
        &server.url,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(10),
    );
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(
        closed,
        "an idle connection stayed open past the idle timeout"
    );
}

#[test]
fn connections_beyond_the_cap_are_refused_with_503() {
    let server = Server::start(&["--max-connections", "2", "--idle-timeout", "60"]);
    let addr = server.url.trim_start_matches("http://").to_string();
    // Two kept-alive connections hold both slots.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        held.push(s);
    }
    let (got, closed) = talk(&server.url, b"", Duration::from_secs(20));
    assert!(closed);
    assert!(got.starts_with("HTTP/1.1 503"), "{got}");
    assert!(got.contains("\r\nretry-after: 1\r\n"), "{got}");
    let body = got
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    let body: Value = serde_json::from_str(body).expect("a JSON error body");
    assert_eq!(
        body,
        json!({"error": {"status": 503, "code": "Unavailable", "message": "Too many connections; retry later."}})
    );
    // A freed slot serves again (the server notices the close soon).
    drop(held.pop());
    let mut served = false;
    for _ in 0..100 {
        let (got, _) = talk(
            &server.url,
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            Duration::from_secs(20),
        );
        if got.starts_with("HTTP/1.1 200") {
            served = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(served, "a freed connection slot is used again");
}

/// A Keystone token for `user` scoped to `project` (by id).
fn keystone_token(server: &Server, user: &str, password: &str, project: &str) -> String {
    let r = server
        .client()
        .raw(
            Method::POST,
            "/identity/v3/auth/tokens",
            Some(&json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": user, "domain": {"id": "default"}, "password": password}}},
                "scope": {"project": {"id": project}}}})),
            &[],
        )
        .unwrap();
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.header("x-subject-token").expect("token").to_string()
}

/// A free loopback port (for the Huawei listener).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_project_scoped_token_acts_only_in_its_project_in_every_dialect() {
    let port = free_port();
    let hw = format!("127.0.0.1:{port}");
    let server = Server::start(&["--huawei-listen", &hw]);
    let a = tenant(&server, "scope-a");
    let b = tenant(&server, "scope-b");
    let cloud = server.admin();
    let both = cloud.user_create("both", PASSWORD).unwrap();
    for p in [&a.project, &b.project] {
        cloud.member_set(p, &both.id.to_string(), "admin").unwrap();
    }
    let vm_b = b.vm("vm-b", "linux", false);
    let sg_b = b.admin.security_groups(&b.project).unwrap()[0]
        .id
        .to_string();
    let token = keystone_token(&server, "both", PASSWORD, &a.project);
    let c = server.client().with_token(&token);

    // Native API: its own project works, the other one does not exist.
    c.security_groups(&a.project).expect("scope A works");
    let r = c
        .raw(
            Method::POST,
            &format!("/v1/projects/{}/security-groups", b.project),
            Some(&json!({"name": "planted"})),
            &[],
        )
        .unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"]["code"], "NotFound");
    assert_eq!(
        message(&r),
        format!("Project {} could not be found.", b.project)
    );
    assert!(b
        .admin
        .security_groups(&b.project)
        .unwrap()
        .iter()
        .all(|g| g.name != "planted"));

    let x = [("x-auth-token", token.as_str())];
    let anon = server.client();
    // Neutron: B's security group is not visible.
    let r = anon
        .raw(
            Method::GET,
            &format!("/network/v2.0/security-groups/{sg_b}"),
            None,
            &x,
        )
        .unwrap();
    assert_eq!(r.status, 404, "{:?}", r.body);
    // Nova: B's server is not visible; naming B in the URL is refused as
    // Nova refuses a URL project that is not the token's.
    let r = anon
        .raw(
            Method::GET,
            &format!("/compute/v2.1/servers/{vm_b}"),
            None,
            &x,
        )
        .unwrap();
    assert_eq!(r.status, 404, "{:?}", r.body);
    let r = anon
        .raw(
            Method::GET,
            &format!("/compute/v2.1/{}/servers/{vm_b}", b.project),
            None,
            &x,
        )
        .unwrap();
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert_eq!(
        r.body["badRequest"]["message"],
        format!(
            "Malformed request URL: URL's project_id '{}' doesn't match Context's project_id '{}'",
            b.project, a.project
        )
    );
    // Huawei listener with the same token: A's ports, not B's.
    let h = Client::new(&format!("http://{hw}"));
    let r = h
        .raw(Method::GET, &format!("/v1/{}/ports", a.project), None, &x)
        .unwrap();
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = h
        .raw(Method::GET, &format!("/v1/{}/ports", b.project), None, &x)
        .unwrap();
    // (the Huawei dialect answers a foreign project in the URL its own way)
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert_eq!(r.body["error_code"], "VPC.0007");
    assert_eq!(
        r.body["error_msg"].as_str().unwrap_or_default(),
        format!(
            "The project {} in the URL is not a project of the signing user.",
            b.project
        )
    );
}

#[test]
fn disabled_deleted_and_password_changed_users_lose_their_tokens_at_once() {
    let server = Server::start(&[]);
    let t = tenant(&server, "users");
    let cloud = server.admin();
    let u = cloud.user_create("mallory", PASSWORD).unwrap();
    let uid = u.id.to_string();
    cloud.member_set(&t.project, &uid, "reader").unwrap();
    let mut m1 = server.client();
    m1.login("mallory", PASSWORD).unwrap();
    m1.security_groups(&t.project).expect("works before");

    // Disable: the token dies at once, login is refused, tokens stay dead
    // after re-enabling (as Keystone revokes them).
    let shown = cloud.user_set_enabled(&uid, false).unwrap();
    assert!(!shown.enabled);
    assert_api_error(
        m1.security_groups(&t.project),
        401,
        "Unauthenticated",
        "The token is not valid; log in again.",
    );
    let r = login_raw(&server.client(), "mallory", PASSWORD);
    assert_eq!(r.status, 401);
    assert_eq!(message(&r), "The user mallory is disabled.");
    cloud.user_set_enabled(&uid, true).unwrap();
    assert_eq!(
        m1.security_groups(&t.project).unwrap_err().status(),
        Some(401)
    );
    m1.login("mallory", PASSWORD).expect("enabled again");

    // Own password change: needs the current password; the other session
    // dies, this one keeps working.
    let mut m2 = server.client();
    m2.login("mallory", PASSWORD).unwrap();
    assert_api_error(
        m1.password_change("not-the-password", "brand-new-password"),
        401,
        "Unauthenticated",
        "The original password is wrong.",
    );
    assert_api_error(
        m1.password_change(PASSWORD, "short"),
        400,
        "InvalidValue",
        "Invalid value for password: must be at least 8 characters.",
    );
    m1.password_change(PASSWORD, "brand-new-password").unwrap();
    m1.security_groups(&t.project)
        .expect("the changing session stays");
    assert_eq!(
        m2.security_groups(&t.project).unwrap_err().status(),
        Some(401)
    );
    assert_eq!(login_raw(&server.client(), "mallory", PASSWORD).status, 401);
    m2.login("mallory", "brand-new-password").unwrap();

    // Another user cannot change mallory's password; the admin resets it
    // without the old one, which ends every session of hers.
    assert_api_error(
        t.admin
            .user_set_password(&uid, "whatever-password", Some(PASSWORD)),
        404,
        "NotFound",
        &format!("User {uid} could not be found."),
    );
    cloud
        .user_set_password(&uid, "reset-by-admin", None)
        .unwrap();
    assert_eq!(
        m1.security_groups(&t.project).unwrap_err().status(),
        Some(401)
    );
    assert_eq!(
        m2.security_groups(&t.project).unwrap_err().status(),
        Some(401)
    );
    m1.login("mallory", "reset-by-admin").unwrap();

    // Delete: the token dies, the name is free, the user is gone.
    cloud.user_delete(&uid).unwrap();
    assert_api_error(
        m1.security_groups(&t.project),
        401,
        "Unauthenticated",
        "The token is not valid; log in again.",
    );
    assert!(cloud.users().unwrap().iter().all(|u| u.name != "mallory"));
    assert_api_error(
        cloud.user_delete(&uid),
        404,
        "NotFound",
        &format!("User {uid} could not be found."),
    );

    // Only the cloud admin manages users; the last enabled one stays.
    assert_api_error(
        t.admin.user_set_enabled(&uid, false),
        403,
        "Forbidden",
        "Only the cloud admin can manage data centers, public IP pools, projects, users and shared networks.",
    );
    let me = cloud.whoami().unwrap()["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_api_error(
        cloud.user_set_enabled(&me, false),
        409,
        "InUse",
        "User admin is the last enabled cloud admin; it cannot be disabled or deleted.",
    );
    assert_api_error(
        cloud.user_delete(&me),
        409,
        "InUse",
        "User admin is the last enabled cloud admin; it cannot be disabled or deleted.",
    );
    // New passwords have the minimum length.
    assert_api_error(
        cloud.user_create("shorty", "1234567"),
        400,
        "InvalidValue",
        "Invalid value for password: must be at least 8 characters.",
    );
}

#[test]
fn keystone_validates_revokes_and_manages_users() {
    let server = Server::start(&[]);
    let t = tenant(&server, "ks");
    let admin_token = keystone_token(&server, "admin", ADMIN_PASSWORD, &t.project);
    let anon = server.client();
    let a = [("x-auth-token", admin_token.as_str())];
    let user_token = keystone_token(&server, "ks-power", PASSWORD, &t.project);

    let with_subject = |subject: &str| {
        [
            ("x-auth-token", admin_token.clone()),
            ("x-subject-token", subject.to_string()),
        ]
    };
    let h = with_subject(&user_token);
    let hv: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = anon
        .raw(Method::GET, "/identity/v3/auth/tokens", None, &hv)
        .unwrap();
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["token"]["user"]["name"], "ks-power");
    assert_eq!(r.body["token"]["project"]["id"], t.project.as_str());
    assert_eq!(
        anon.raw(Method::HEAD, "/identity/v3/auth/tokens", None, &hv)
            .unwrap()
            .status,
        200
    );
    assert_eq!(
        anon.raw(Method::DELETE, "/identity/v3/auth/tokens", None, &hv)
            .unwrap()
            .status,
        204
    );
    let r = anon
        .raw(Method::GET, "/identity/v3/auth/tokens", None, &hv)
        .unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body["error"]["message"],
        "Token in X-Subject-Token could not be found."
    );

    // Users: create, find by name, disable (its token dies), delete.
    let r = anon
        .raw(
            Method::POST,
            "/identity/v3/users",
            Some(&json!({"user": {"name": "kuser", "password": PASSWORD, "domain_id": "default"}})),
            &a,
        )
        .unwrap();
    assert_eq!(r.status, 201, "{:?}", r.body);
    let kid = r.body["user"]["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["user"]["enabled"], true);
    let r = anon
        .raw(Method::GET, "/identity/v3/users?name=kuser", None, &a)
        .unwrap();
    assert_eq!(r.body["users"].as_array().unwrap().len(), 1);
    assert_eq!(
        anon.raw(Method::GET, "/identity/v3/users/kuser", None, &a)
            .unwrap()
            .status,
        404,
        "a name is not an id (the OpenStack client then searches by name)"
    );
    server
        .admin()
        .member_set(&t.project, &kid, "reader")
        .unwrap();
    let ktoken = keystone_token(&server, "kuser", PASSWORD, &t.project);
    let k = [("x-auth-token", ktoken.as_str())];
    let ports = "/network/v2.0/ports";
    assert_eq!(anon.raw(Method::GET, ports, None, &k).unwrap().status, 200);
    let r = anon
        .raw(
            Method::PATCH,
            &format!("/identity/v3/users/{kid}"),
            Some(&json!({"user": {"enabled": false}})),
            &a,
        )
        .unwrap();
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["user"]["enabled"], false);
    assert_eq!(anon.raw(Method::GET, ports, None, &k).unwrap().status, 401);
    let r = anon
        .raw(
            Method::DELETE,
            &format!("/identity/v3/users/{kid}"),
            None,
            &a,
        )
        .unwrap();
    assert_eq!(r.status, 204);
    assert_eq!(
        anon.raw(Method::GET, &format!("/identity/v3/users/{kid}"), None, &a)
            .unwrap()
            .status,
        404
    );
}

#[test]
fn an_idempotent_replay_is_authorized_like_a_new_request() {
    let server = Server::start(&[]);
    let t = tenant(&server, "replay");
    let cloud = server.admin();
    let body = json!({"name": "replayed"});
    let path = format!("/v1/projects/{}/security-groups", t.project);
    let key = [("idempotency-key", "key-1")];
    let first = t.power.raw(Method::POST, &path, Some(&body), &key).unwrap();
    assert_eq!(first.status, 201, "{:?}", first.body);
    let again = t.power.raw(Method::POST, &path, Some(&body), &key).unwrap();
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body, "a replay returns the first answer");
    let who = t.power.whoami().unwrap()["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    cloud
        .raw(
            Method::DELETE,
            &format!("/v1/projects/{}/members/{who}", t.project),
            None,
            &[],
        )
        .unwrap();
    let after = t.power.raw(Method::POST, &path, Some(&body), &key).unwrap();
    assert_eq!(after.status, 404, "{:?}", after.body);
    assert_eq!(
        message(&after),
        format!("Project {} could not be found.", t.project)
    );
    // A reader's replay of someone else's key is their own key: refused 403.
    let r = t
        .reader
        .raw(Method::POST, &path, Some(&body), &key)
        .unwrap();
    assert_eq!(r.status, 403, "{:?}", r.body);
}

#[test]
fn expired_tokens_and_old_idempotency_keys_are_purged_in_the_background() {
    let server = Server::start(&[
        "--token-ttl",
        "5",
        "--idempotency-ttl",
        "1",
        "--purge-interval",
        "1",
    ]);
    let t = tenant(&server, "purge");
    let path = format!("/v1/projects/{}/security-groups", t.project);
    let key = [("idempotency-key", "purge-key")];
    let r = t
        .admin
        .raw(Method::POST, &path, Some(&json!({"name": "first"})), &key)
        .unwrap();
    assert_eq!(r.status, 201);
    // The token expires after 5 s and is then purged: "expired" turns into
    // "not valid" once its row is gone (bounded polling).
    let mut purged_token = false;
    let mut purged_key = false;
    for _ in 0..120 {
        std::thread::sleep(Duration::from_millis(250));
        if !purged_token {
            let r = t.reader.raw(Method::GET, &path, None, &[]).unwrap();
            purged_token =
                r.status == 401 && message(&r) == "The token is not valid; log in again.";
        }
        if !purged_key {
            // Same key, other body: 409 while the key is kept, a fresh
            // write once it is purged.
            let mut c = server.client();
            c.login("purge-admin", PASSWORD).unwrap();
            let r = c
                .raw(Method::POST, &path, Some(&json!({"name": "second"})), &key)
                .unwrap();
            assert!(r.status == 409 || r.status == 201, "{:?}", r.body);
            purged_key = r.status == 201;
        }
        if purged_token && purged_key {
            break;
        }
    }
    assert!(purged_token, "the expired token was purged");
    assert!(purged_key, "the old idempotency key was purged");
}

#[test]
fn the_openapi_document_lists_the_user_management_calls() {
    let server = Server::start(&[]);
    let doc: Value = server.client().get("/v1/openapi.json").unwrap();
    for (path, method) in [
        ("/v1/users/{user_id}", "patch"),
        ("/v1/users/{user_id}", "delete"),
        ("/v1/users/{user_id}/password", "post"),
        ("/v1/auth/password", "post"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing from the OpenAPI document"
        );
    }
}

/// Run the CLI with its session in `config`.
fn cli(server: &Server, config: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_nicplane"))
        .args(args)
        .env("NICPLANE_URL", &server.url)
        .env("NICPLANE_CONFIG", config)
        .env_remove("NICPLANE_PROJECT")
        .env_remove("NICPLANE_TOKEN")
        .env_remove("NICPLANE_PASSWORD")
        .env_remove("NICPLANE_NEW_PASSWORD")
        .output()
        .expect("run cli")
}

fn cli_ok(server: &Server, config: &std::path::Path, args: &[&str]) -> String {
    let o = cli(server, config, args);
    assert!(
        o.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn cli_err(server: &Server, config: &std::path::Path, args: &[&str]) -> String {
    let o = cli(server, config, args);
    assert!(!o.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&o.stderr).trim().to_string()
}

#[test]
fn the_cli_disables_enables_deletes_users_and_changes_passwords() {
    let server = Server::start(&[]);
    let dir = temp_dir("cli-users");
    let admin = dir.join("admin.json");
    let user = dir.join("user.json");
    cli_ok(
        &server,
        &admin,
        &["login", "-u", "admin", "--password", ADMIN_PASSWORD],
    );
    cli_ok(
        &server,
        &admin,
        &["user", "create", "dora", "--password", PASSWORD],
    );
    cli_ok(
        &server,
        &user,
        &["login", "-u", "dora", "--password", PASSWORD],
    );

    let out = cli_ok(&server, &admin, &["user", "disable", "dora"]);
    assert!(out.contains("false"), "{out}");
    assert_eq!(
        cli_err(&server, &user, &["whoami"]),
        "error: The token is not valid; log in again."
    );
    assert_eq!(
        cli_err(
            &server,
            &user,
            &["login", "-u", "dora", "--password", PASSWORD]
        ),
        "error: The user dora is disabled."
    );
    cli_ok(&server, &admin, &["user", "enable", "dora"]);
    cli_ok(
        &server,
        &user,
        &["login", "-u", "dora", "--password", PASSWORD],
    );

    // Own change, then the admin's reset.
    assert_eq!(
        cli_err(
            &server,
            &user,
            &[
                "password",
                "--current",
                "not-it-at-all",
                "--new",
                "dora-second-pw"
            ]
        ),
        "error: The original password is wrong."
    );
    cli_ok(
        &server,
        &user,
        &["password", "--current", PASSWORD, "--new", "dora-second-pw"],
    );
    cli_ok(&server, &user, &["whoami"]);
    cli_ok(
        &server,
        &admin,
        &[
            "user",
            "set-password",
            "dora",
            "--password",
            "dora-third-pw",
        ],
    );
    assert_eq!(
        cli_err(&server, &user, &["whoami"]),
        "error: The token is not valid; log in again."
    );
    cli_ok(
        &server,
        &user,
        &["login", "-u", "dora", "--password", "dora-third-pw"],
    );

    cli_ok(&server, &admin, &["user", "delete", "dora"]);
    assert_eq!(
        cli_err(&server, &admin, &["user", "delete", "dora"]),
        "error: User dora could not be found."
    );
    assert_eq!(
        cli_err(&server, &admin, &["user", "disable", "admin"]),
        "error: User admin is the last enabled cloud admin; it cannot be disabled or deleted."
    );
}
