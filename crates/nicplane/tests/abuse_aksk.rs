//! AK/SK abuse, against the real binary with its Huawei listener: requests
//! signed here with the server's own canonicalization (and our own signing
//! key), then tampered with as an attacker would.
//!
//! * a body other than the one whose hash was signed, `UNSIGNED-PAYLOAD` with
//!   a JSON body, and an unsigned `Host` are refused (401, the gateway's
//!   shape) and create nothing;
//! * a user holds at most two access keys, also when creates race;
//! * keys are created and deleted only with a password-backed token;
//! * the database file holds no secret key in clear; a restart with the same
//!   key file still verifies signatures; a server given another secret key
//!   refuses to start.

mod common;

use common::{tenant, Server, PASSWORD, SECRET_KEY};
use nicplane_http::huawei::signer::{self, Authorization, SignedRequest};
use nicplane_http::timefmt;
use reqwest::blocking::Client as Http;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HUAWEI: &[&str] = &["--huawei-listen", "127.0.0.1:0"];
const UNSIGNED: &str = "UNSIGNED-PAYLOAD";

/// An access key and what a request signed with it needs.
struct Signer {
    base: String,
    ak: String,
    sk: String,
}

/// What to sign and what to send.
struct Req<'a> {
    method: &'a str,
    path: &'a str,
    /// The body whose hash is signed.
    signed_body: &'a [u8],
    /// The body actually sent (an attacker's replacement).
    sent_body: &'a [u8],
    /// Signed header names, lowercase, sorted.
    signed: &'a [&'a str],
    /// `X-Sdk-Content-Sha256`, if sent.
    content_sha256: Option<String>,
}

fn sdk_date() -> String {
    timefmt::format(time::OffsetDateTime::now_utc(), timefmt::SDK_DATE)
}

fn hex_sha256(b: &[u8]) -> String {
    hex(&Sha256::digest(b))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Signer {
    fn send(&self, r: &Req) -> (u16, Value) {
        let host = self.base.trim_start_matches("http://").to_string();
        let date = sdk_date();
        let mut headers: Vec<(String, String)> = vec![
            ("content-type".into(), "application/json".into()),
            ("host".into(), host),
            ("x-sdk-date".into(), date.clone()),
        ];
        if let Some(h) = &r.content_sha256 {
            headers.push(("x-sdk-content-sha256".into(), h.clone()));
        }
        let lookup = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let auth = Authorization {
            access: self.ak.clone(),
            signed_headers: r.signed.iter().map(|s| s.to_string()).collect(),
            signature: String::new(),
        };
        let (path, query) = r.path.split_once('?').unwrap_or((r.path, ""));
        let canonical = signer::canonical_request(
            &SignedRequest {
                method: r.method,
                path,
                query,
                header: &lookup,
                body: r.signed_body,
            },
            &auth,
        )
        .expect("canonical request");
        let signature = signer::sign(&self.sk, &signer::string_to_sign(&canonical, &date));
        let http = Http::new();
        let mut req = http.request(
            r.method.parse().expect("method"),
            format!("{}{}", self.base, r.path),
        );
        for (k, v) in &headers {
            if k != "host" {
                req = req.header(k, v);
            }
        }
        req = req.header(
            "authorization",
            format!(
                "SDK-HMAC-SHA256 Access={}, SignedHeaders={}, Signature={signature}",
                self.ak,
                r.signed.join(";")
            ),
        );
        if !r.sent_body.is_empty() {
            req = req.body(r.sent_body.to_vec());
        }
        let resp = req.send().expect("send");
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn get(&self, path: &str) -> (u16, Value) {
        self.send(&Req {
            method: "GET",
            path,
            signed_body: b"",
            sent_body: b"",
            signed: &["content-type", "host", "x-sdk-date"],
            content_sha256: None,
        })
    }
}

/// A server with a Huawei listener, a tenant, a network, and an access key
/// of the tenant's admin (made with a token through the native API).
struct Setup {
    server: Server,
    project: String,
    network: String,
    user_id: String,
    token: String,
    signer: Signer,
}

fn setup_on(server: Server) -> Setup {
    let t = tenant(&server, "ak");
    let network = t.standard_network("net", "10.8.0.0/24");
    let mut c = server.client();
    let login = c.login("ak-admin", PASSWORD).expect("login");
    let user_id = login.user.id.to_string();
    let cred: Value = c
        .post(&format!("/v1/users/{user_id}/credentials"), &json!({}))
        .expect("credential");
    let signer = Signer {
        base: server.huawei_url.clone().expect("huawei listener"),
        ak: cred["access"].as_str().unwrap().to_string(),
        sk: cred["secret"].as_str().unwrap().to_string(),
    };
    Setup {
        project: t.project,
        network,
        user_id,
        token: login.token,
        signer,
        server,
    }
}

fn setup() -> Setup {
    setup_on(Server::start(HUAWEI))
}

fn ports(s: &Setup) -> usize {
    let (status, v) = s.signer.get(&format!("/v1/{}/ports", s.project));
    assert_eq!(status, 200, "{v}");
    v["ports"].as_array().expect("ports").len()
}

fn assert_refused(status: u16, v: &Value, message: &str) {
    assert_eq!(status, 401, "{v}");
    assert_eq!(v["error_code"], "APIG.0301", "{v}");
    assert_eq!(v["error_msg"], message, "{v}");
    assert!(v["request_id"].as_str().is_some_and(|r| !r.is_empty()));
}

#[test]
fn a_body_other_than_the_signed_one_is_refused_and_creates_nothing() {
    let s = setup();
    let before = ports(&s);
    let a = json!({"port": {"network_id": s.network, "name": "a"}}).to_string();
    let b = json!({"port": {"network_id": s.network, "name": "evil"}}).to_string();
    let path = format!("/v1/{}/ports", s.project);
    let signed = &["content-type", "host", "x-sdk-content-sha256", "x-sdk-date"];
    let (status, v) = s.signer.send(&Req {
        method: "POST",
        path: &path,
        signed_body: a.as_bytes(),
        sent_body: b.as_bytes(),
        signed,
        content_sha256: Some(hex_sha256(a.as_bytes())),
    });
    assert_refused(
        status,
        &v,
        "Incorrect IAM authentication information: X-Sdk-Content-Sha256 does not match the SHA-256 of the request body.",
    );
    // Without the header, the hash of the body sent is what is checked.
    let (status, v) = s.signer.send(&Req {
        method: "POST",
        path: &path,
        signed_body: a.as_bytes(),
        sent_body: b.as_bytes(),
        signed: &["content-type", "host", "x-sdk-date"],
        content_sha256: None,
    });
    assert_refused(
        status,
        &v,
        "Incorrect IAM authentication information: verify aksk signature fail.",
    );
    assert_eq!(ports(&s), before, "nothing was created");
    // The honest request goes through.
    let (status, v) = s.signer.send(&Req {
        method: "POST",
        path: &path,
        signed_body: a.as_bytes(),
        sent_body: a.as_bytes(),
        signed,
        content_sha256: Some(hex_sha256(a.as_bytes())),
    });
    assert!(status == 200 || status == 201, "{status} {v}");
    assert_eq!(ports(&s), before + 1);
}

#[test]
fn unsigned_payload_with_a_json_body_is_refused() {
    let s = setup();
    let before = ports(&s);
    let body = json!({"port": {"network_id": s.network}}).to_string();
    // The signature covers UNSIGNED-PAYLOAD instead of the body's hash.
    let (status, v) = s.signer.send(&Req {
        method: "POST",
        path: &format!("/v1/{}/ports", s.project),
        signed_body: b"",
        sent_body: body.as_bytes(),
        signed: &["content-type", "host", "x-sdk-content-sha256", "x-sdk-date"],
        content_sha256: Some(UNSIGNED.into()),
    });
    assert_refused(
        status,
        &v,
        "Incorrect IAM authentication information: X-Sdk-Content-Sha256 UNSIGNED-PAYLOAD is not accepted for a request with a body; sign the SHA-256 of the body.",
    );
    assert_eq!(ports(&s), before);
}

#[test]
fn a_signature_that_does_not_cover_host_is_refused() {
    let s = setup();
    let (status, v) = s.signer.send(&Req {
        method: "GET",
        path: &format!("/v1/{}/ports", s.project),
        signed_body: b"",
        sent_body: b"",
        signed: &["content-type", "x-sdk-date"],
        content_sha256: None,
    });
    assert_refused(
        status,
        &v,
        "Incorrect IAM authentication information: Host must be a signed header.",
    );
}

/// POST a credential on the Huawei IAM path with a token.
fn iam_create(base: &str, token: &str, user: &str) -> (u16, Value) {
    let resp = Http::new()
        .post(format!("{base}/v3.0/OS-CREDENTIAL/credentials"))
        .header("x-auth-token", token)
        .json(&json!({"credential": {"user_id": user, "description": "k"}}))
        .send()
        .expect("send");
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

#[test]
fn a_user_holds_at_most_two_access_keys() {
    let s = setup();
    let base = s.signer.base.clone();
    // The setup made one; a second is fine, a third is refused.
    let (status, v) = iam_create(&base, &s.token, &s.user_id);
    assert_eq!(status, 201, "{v}");
    let (status, v) = iam_create(&base, &s.token, &s.user_id);
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error_code"], "akSkNumExceed");
    assert_eq!(
        v["error_msg"],
        "The user already has 2 access keys, the most allowed; delete one first."
    );
    // The native API says the same with its own status and code.
    let mut c = s.server.client();
    c.login("ak-admin", PASSWORD).unwrap();
    common::assert_api_error(
        c.post::<Value>(&format!("/v1/users/{}/credentials", s.user_id), &json!({})),
        409,
        "CredentialLimitReached",
        "The user already has 2 access keys, the most allowed; delete one first.",
    );
    let list: Vec<Value> = c
        .get(&format!("/v1/users/{}/credentials", s.user_id))
        .unwrap();
    assert_eq!(list.len(), 2);
    // Deleting one frees a slot.
    let ak = list[0]["access"].as_str().unwrap();
    c.delete(&format!("/v1/users/{}/credentials/{ak}", s.user_id))
        .unwrap();
    let (status, v) = iam_create(&base, &s.token, &s.user_id);
    assert_eq!(status, 201, "{v}");
}

#[test]
fn parallel_creates_cannot_exceed_two_access_keys() {
    let server = Server::start(HUAWEI);
    let admin = server.admin();
    let user = admin.user_create("racer", PASSWORD).expect("user");
    let mut c = server.client();
    let token = c.login("racer", PASSWORD).expect("login").token;
    let base = server.huawei_url.clone().unwrap();
    let uid = user.id.to_string();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (base, token, uid) = (base.clone(), token.clone(), uid.clone());
            std::thread::spawn(move || iam_create(&base, &token, &uid))
        })
        .collect();
    let results: Vec<(u16, Value)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(created, 2, "{results:?}");
    for (status, v) in results.iter().filter(|(s, _)| *s != 201) {
        assert_eq!(*status, 400, "{v}");
        assert_eq!(v["error_code"], "akSkNumExceed", "{v}");
    }
    let list: Vec<Value> = c.get(&format!("/v1/users/{uid}/credentials")).unwrap();
    assert_eq!(list.len(), 2);
}

#[test]
fn access_keys_cannot_be_created_or_deleted_with_a_signature() {
    let s = setup();
    let body = json!({"credential": {"user_id": s.user_id}}).to_string();
    let signed = &["content-type", "host", "x-sdk-content-sha256", "x-sdk-date"];
    let (status, v) = s.signer.send(&Req {
        method: "POST",
        path: "/v3.0/OS-CREDENTIAL/credentials",
        signed_body: body.as_bytes(),
        sent_body: body.as_bytes(),
        signed,
        content_sha256: Some(hex_sha256(body.as_bytes())),
    });
    let message = "Access keys can only be created or deleted with a token from a password login, not with an AK/SK signature.";
    assert_eq!(status, 403, "{v}");
    assert_eq!(v["error_code"], "VPC.2701");
    assert_eq!(v["error_msg"], message);
    let (status, v) = s.signer.send(&Req {
        method: "DELETE",
        path: &format!("/v3.0/OS-CREDENTIAL/credentials/{}", s.signer.ak),
        signed_body: b"",
        sent_body: b"",
        signed: &["content-type", "host", "x-sdk-date"],
        content_sha256: None,
    });
    assert_eq!(status, 403, "{v}");
    assert_eq!(v["error_msg"], message);
    // Listing with a signature is fine, and shows the one key still there.
    let (status, v) = s.signer.get("/v3.0/OS-CREDENTIAL/credentials");
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["credentials"].as_array().unwrap().len(), 1);
}

/// The bytes of every file of the SQLite database (with its WAL).
fn database_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["nicplane.db", "nicplane.db-wal"] {
        if let Ok(b) = std::fs::read(dir.join(name)) {
            all.extend(b);
        }
    }
    all
}

#[test]
fn the_database_holds_no_secret_key_in_clear() {
    if common::postgres_admin_url().is_some() {
        return; // The file check is about the SQLite file.
    }
    let s = setup();
    let bytes = database_bytes(&s.server.dir);
    assert!(!bytes.is_empty());
    let sk = s.signer.sk.as_bytes();
    assert!(
        !bytes.windows(sk.len()).any(|w| w == sk),
        "the secret key is in the database file"
    );
    // The access key itself is there (the check would notice a secret).
    let ak = s.signer.ak.as_bytes();
    assert!(bytes.windows(ak.len()).any(|w| w == ak));
    // And the key still verifies signatures.
    assert_eq!(ports(&s), 0);
}

#[test]
fn a_restart_with_the_same_key_file_still_verifies_signatures() {
    let dir = common::temp_dir("keyfile");
    let no_env: &[(&str, Option<&str>)] = &[("NICPLANE_SECRET_KEY", None)];
    let mut s = setup_on(Server::start_in_env(dir.clone(), HUAWEI, no_env));
    let key_file = dir.join("secret.key");
    let meta = std::fs::metadata(&key_file).expect("the key file was generated");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    let _ = meta;
    assert_eq!(ports(&s), 0);
    s.server.stop();
    let again = Server::start_in_env(dir.clone(), HUAWEI, no_env);
    s.signer.base = again.huawei_url.clone().unwrap();
    let (status, v) = s.signer.get(&format!("/v1/{}/ports", s.project));
    assert_eq!(status, 200, "{v}");
}

/// Start `nicplane serve` on `dir` with `key` and wait (bounded) for it to
/// exit; returns its exit status and standard error. Panics if it serves.
fn serve_expecting_refusal(server: &Server, key: &str) -> (bool, String) {
    let mut args: Vec<String> = server.args.clone();
    // The same store, another port.
    if let Some(i) = args.iter().position(|a| a == "--huawei-listen") {
        args.drain(i..i + 2);
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_nicplane"))
        .args(&args)
        .env("NICPLANE_ADMIN_PASSWORD", common::ADMIN_PASSWORD)
        .env("NICPLANE_LOG", "warn")
        .env("NICPLANE_SECRET_KEY", key)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nicplane");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut err = String::new();
            use std::io::Read;
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            return (status.success(), err);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("a server with the wrong secret key kept running");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_server_with_another_secret_key_refuses_to_start() {
    let mut s = setup();
    s.server.stop();
    let other = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    assert_ne!(other, SECRET_KEY);
    let (ok, err) = serve_expecting_refusal(&s.server, other);
    assert!(!ok, "it must exit with an error");
    // 06f224adbd01167d and 9c6d98b939387d26 are the ids of SECRET_KEY and
    // `other`, not the keys.
    assert_eq!(
        err,
        "error: the secret key does not match the database: The stored access keys were sealed with secret key 06f224adbd01167d, but this server has key 9c6d98b939387d26: start it with the key the other servers use (NICPLANE_SECRET_KEY or the key file), or give that key as NICPLANE_SECRET_KEY_PREVIOUS to rotate.\n"
    );
    assert!(!err.contains(other), "the key is not printed: {err}");
    let (ok, err) = serve_expecting_refusal(&s.server, "not-a-key");
    assert!(!ok);
    assert_eq!(
        err,
        "error: NICPLANE_SECRET_KEY: The secret key must be 64 hex digits or the base64 of 32 bytes.\n"
    );
}

/// Run one statement on the store of a stopped server (SQLite file or its
/// PostgreSQL database); returns the first column of the first row, if any.
fn store_sql(server: &Server, sql: &str) -> Option<String> {
    match &server.database {
        Some(url) => {
            let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
            c.query(sql, &[])
                .expect("sql")
                .first()
                .and_then(|r| r.try_get::<_, String>(0).ok())
        }
        None => {
            let c = rusqlite::Connection::open(server.dir.join("nicplane.db")).expect("open");
            let mut st = c.prepare(sql).expect("prepare");
            let mut rows = st.query([]).expect("sql");
            rows.next()
                .expect("row")
                .and_then(|r| r.get::<_, String>(0).ok())
        }
    }
}

#[test]
fn secrets_stored_in_clear_are_sealed_at_start() {
    let mut s = setup();
    s.server.stop();
    // As a row written before migration 0005 stored it.
    store_sql(
        &s.server,
        &format!(
            "UPDATE credentials SET secret = '{}' WHERE access_key = '{}'",
            s.signer.sk, s.signer.ak
        ),
    );
    let again = Server::start_in(s.server.dir.clone(), HUAWEI);
    s.signer.base = again.huawei_url.clone().unwrap();
    let (status, v) = s.signer.get(&format!("/v1/{}/ports", s.project));
    assert_eq!(status, 200, "{v}");
    let stored = store_sql(
        &again,
        &format!(
            "SELECT secret FROM credentials WHERE access_key = '{}'",
            s.signer.ak
        ),
    )
    .expect("the key is stored");
    assert!(stored.starts_with("nps1:"), "{stored}");
    assert!(!stored.contains(&s.signer.sk));
}

#[test]
#[ignore = "needs PostgreSQL: scripts/test-postgres runs it"]
fn servers_sharing_a_database_share_keys_and_the_key_cap() {
    assert!(
        common::postgres_admin_url().is_some(),
        "NICPLANE_TEST_POSTGRES_URL is not set: the cross-server case needs PostgreSQL"
    );
    let s = setup();
    let other = Server::start_sharing(&s.server, HUAWEI);
    // A key made on one server verifies on the other (same secret key).
    let on_other = Signer {
        base: other.huawei_url.clone().unwrap(),
        ak: s.signer.ak.clone(),
        sk: s.signer.sk.clone(),
    };
    let (status, v) = on_other.get(&format!("/v1/{}/ports", s.project));
    assert_eq!(status, 200, "{v}");
    // The user holds one key; creates racing on both servers make one more.
    let bases = [s.signer.base.clone(), on_other.base.clone()];
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let base = bases[i % 2].clone();
            let (token, uid) = (s.token.clone(), s.user_id.clone());
            std::thread::spawn(move || iam_create(&base, &token, &uid))
        })
        .collect();
    let results: Vec<(u16, Value)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        results.iter().filter(|(st, _)| *st == 201).count(),
        1,
        "{results:?}"
    );
    assert!(results
        .iter()
        .all(|(st, v)| *st == 201 || (*st == 400 && v["error_code"] == "akSkNumExceed")));
}

#[test]
fn the_secret_key_can_be_rotated() {
    let mut s = setup();
    s.server.stop();
    let new = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
    // Restart with the new key and the old one as previous: secrets are
    // sealed again with the new key and still verify.
    let mut rotated = Server::start_in_env(
        s.server.dir.clone(),
        HUAWEI,
        &[
            ("NICPLANE_SECRET_KEY", Some(new)),
            ("NICPLANE_SECRET_KEY_PREVIOUS", Some(SECRET_KEY)),
        ],
    );
    s.signer.base = rotated.huawei_url.clone().unwrap();
    assert_eq!(s.signer.get(&format!("/v1/{}/ports", s.project)).0, 200);
    rotated.stop();
    // The new key alone is enough now; the old one alone no longer is.
    let (ok, err) = serve_expecting_refusal(&rotated, SECRET_KEY);
    assert!(!ok);
    // 9e3adca11f3de7a1 is the id of `new`, 06f224adbd01167d that of SECRET_KEY.
    assert_eq!(
        err,
        "error: the secret key does not match the database: The stored access keys were sealed with secret key 9e3adca11f3de7a1, but this server has key 06f224adbd01167d: start it with the key the other servers use (NICPLANE_SECRET_KEY or the key file), or give that key as NICPLANE_SECRET_KEY_PREVIOUS to rotate.\n"
    );
    let fresh = Server::start_in_env(
        s.server.dir.clone(),
        HUAWEI,
        &[("NICPLANE_SECRET_KEY", Some(new))],
    );
    s.signer.base = fresh.huawei_url.clone().unwrap();
    assert_eq!(s.signer.get(&format!("/v1/{}/ports", s.project)).0, 200);
}
