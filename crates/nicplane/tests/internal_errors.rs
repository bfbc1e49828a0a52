//! An internal error, provoked for real (a row the server cannot read), is
//! answered 500 with a generic message in every dialect: the detail (the
//! store's error text, the bad value) stays in the server log.

mod common;

use common::{tenant, Server};
use reqwest::Method;

/// A value no data center id parses from.
const CORRUPT: &str = "corrupt-value-4711";

/// Break one network row behind the server's back.
fn corrupt_network(server: &Server, network: &str) {
    let sql = format!("UPDATE networks SET data_center_id = '{CORRUPT}' WHERE id = '{network}'");
    match &server.database {
        Some(url) => {
            let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
            // Foreign keys would refuse the bad value; a superuser may skip them.
            c.batch_execute(&format!(
                "SET session_replication_role = replica; {sql}; SET session_replication_role = origin;"
            ))
            .expect("corrupt");
        }
        None => {
            let c = rusqlite::Connection::open(server.dir.join("nicplane.db")).expect("open");
            c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
            // SQLite checks foreign keys only when asked to.
            c.execute_batch(&format!("PRAGMA foreign_keys = OFF; {sql};"))
                .expect("corrupt");
        }
    }
}

fn assert_no_detail(text: &str) {
    assert!(!text.contains(CORRUPT), "the bad value leaked: {text}");
    assert!(
        !text.to_lowercase().contains("database error"),
        "the store's error leaked: {text}"
    );
}

#[test]
fn an_internal_error_sends_no_internal_text_in_any_dialect() {
    let server = Server::start(&[]);
    let t = tenant(&server, "ie");
    let network = t.standard_network("broken", "10.9.0.0/24");
    corrupt_network(&server, &network);

    // Native API.
    let r = t
        .admin
        .raw(
            Method::GET,
            &format!("/v1/projects/{}/networks", t.project),
            None,
            &[],
        )
        .expect("answer");
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "Internal");
    assert_eq!(
        r.body["error"]["message"],
        "Internal error; see the server log."
    );
    assert_no_detail(&r.body.to_string());

    // Neutron, with the same token.
    let token = t.admin.token().expect("token").to_string();
    let r = server
        .client()
        .raw(
            Method::GET,
            "/network/v2.0/networks",
            None,
            &[("X-Auth-Token", &token)],
        )
        .expect("answer");
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(
        r.body["NeutronError"]["type"], "HTTPInternalServerError",
        "{}",
        r.body
    );
    assert_no_detail(&r.body.to_string());
}

/// PostgreSQL cannot store the NUL character in text; it is refused with the
/// same 400 on both engines instead of a database error (schemathesis found
/// a login with one answered 500 on PostgreSQL).
#[test]
fn text_with_a_nul_character_is_refused_alike_on_both_engines() {
    let server = Server::start(&[]);
    let t = tenant(&server, "nul");
    let message = "Text values cannot contain the NUL character (U+0000).";

    let r = server
        .client()
        .raw(
            Method::POST,
            "/v1/auth/login",
            Some(&serde_json::json!({"username": "a\u{0}b", "password": "whatever-long"})),
            &[],
        )
        .expect("answer");
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "InvalidRequest", "{}", r.body);
    assert_eq!(r.body["error"]["message"], message, "{}", r.body);

    // A filter value is text the store compares: the same 400.
    let r = t
        .admin
        .raw(
            Method::GET,
            &format!("/v1/projects/{}/vms?name=a%00b", t.project),
            None,
            &[],
        )
        .expect("answer");
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "InvalidRequest", "{}", r.body);
    assert_eq!(r.body["error"]["message"], message, "{}", r.body);
}
