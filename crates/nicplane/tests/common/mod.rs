//! Test harness: start the real `nicplane` binary on a loopback port with a
//! fresh SQLite file (or, with NICPLANE_TEST_DATABASE_URL, the store that
//! URL names) and talk HTTP to it through the typed client.

#![allow(dead_code)]

use nicplane_client::{Client, ClientError};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ADMIN_PASSWORD: &str = "admin-test-password";
pub const PASSWORD: &str = "user-password";

/// A running server; killed when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub dir: PathBuf,
    pub args: Vec<String>,
}

/// A fresh temporary directory.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nicplane-test-{tag}-{}", uuid_like()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}-{t}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

impl Server {
    /// Start a server on a fresh data directory.
    pub fn start(extra: &[&str]) -> Server {
        let dir = temp_dir("srv");
        Server::start_in(dir, extra)
    }

    /// Start a server on an existing data directory.
    pub fn start_in(dir: PathBuf, extra: &[&str]) -> Server {
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--data-dir".into(),
            dir.to_string_lossy().into(),
        ];
        if let Ok(url) = std::env::var("NICPLANE_TEST_DATABASE_URL") {
            args.push("--database".into());
            args.push(url);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        Server::spawn(dir, args)
    }

    fn spawn(dir: PathBuf, args: Vec<String>) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_nicplane"))
            .args(&args)
            .env("NICPLANE_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("NICPLANE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start nicplane");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut url = None;
        while Instant::now() < deadline {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(rest) = line.strip_prefix("nicplane listening on ") {
                        url = rest.split_whitespace().next().map(str::to_string);
                        break;
                    }
                }
                _ => break,
            }
        }
        let url = url.expect("server did not report its address");
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        Server { child, url, dir, args }
    }

    pub fn client(&self) -> Client {
        Client::new(&self.url)
    }

    /// A client logged in as the cloud admin.
    pub fn admin(&self) -> Client {
        let mut c = self.client();
        c.login("admin", ADMIN_PASSWORD).expect("admin login");
        c
    }

    /// Stop the server (SIGKILL) and wait for it.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A project with one user per role, ready to use.
pub struct Tenant {
    pub project: String,
    pub dc: String,
    pub admin: Client,
    pub power: Client,
    pub reader: Client,
}

/// Create a project and an admin, a power user and a reader in it.
pub fn tenant(server: &Server, name: &str) -> Tenant {
    let cloud = server.admin();
    let project = cloud.project_create(name).expect("project").id.to_string();
    let dc = cloud.data_centers().expect("dcs")[0].id.to_string();
    let mut clients = Vec::new();
    for (suffix, role) in [("admin", "admin"), ("power", "power_user"), ("reader", "reader")] {
        let user = format!("{name}-{suffix}");
        let u = cloud.user_create(&user, PASSWORD).expect("user");
        cloud.member_set(&project, &u.id.to_string(), role).expect("member");
        let mut c = server.client();
        c.login(&user, PASSWORD).expect("login");
        clients.push(c);
    }
    let reader = clients.pop().expect("reader");
    let power = clients.pop().expect("power");
    let admin = clients.pop().expect("admin");
    Tenant { project, dc, admin, power, reader }
}

impl Tenant {
    /// Create a standard network with an IPv4 subnet.
    pub fn standard_network(&self, name: &str, cidr: &str) -> String {
        self.admin
            .network_create(
                &self.project,
                &json!({"name": name, "data_center_id": self.dc, "kind": "standard", "subnets": [{"cidr": cidr}]}),
            )
            .expect("network")
            .network
            .id
            .to_string()
    }

    /// Create a custom (L2) network without a subnet.
    pub fn custom_network(&self, name: &str) -> String {
        self.admin
            .network_create(
                &self.project,
                &json!({"name": name, "data_center_id": self.dc, "kind": "custom"}),
            )
            .expect("network")
            .network
            .id
            .to_string()
    }

    pub fn vm(&self, name: &str, os: &str, running: bool) -> String {
        self.power
            .vm_create(&self.project, name, &self.dc, os, running)
            .expect("vm")
            .vm
            .id
            .to_string()
    }
}

/// Assert an API error's status, code and (part of) its message.
pub fn assert_api_error<T: std::fmt::Debug>(r: Result<T, ClientError>, status: u16, code: &str, contains: &str) {
    match r {
        Err(ClientError::Api { status: s, code: c, message, request_id }) => {
            assert_eq!(s, status, "status of: {message}");
            assert_eq!(c, code, "code of: {message}");
            assert!(message.contains(contains), "message '{message}' lacks '{contains}'");
            assert!(!request_id.is_empty(), "error carries a request id");
        }
        other => panic!("expected HTTP {status} {code}, got {other:?}"),
    }
}

/// The JSON of a raw response's error.
pub fn error_of(v: &Value) -> (&str, &str) {
    (
        v["error"]["code"].as_str().unwrap_or_default(),
        v["error"]["message"].as_str().unwrap_or_default(),
    )
}
