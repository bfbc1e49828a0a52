//! Test harness: start the real `nicplane` binary on a loopback port with a
//! fresh store and talk HTTP to it through the typed client.
//!
//! The store is a SQLite file in the server's data directory, or, when
//! `NICPLANE_TEST_POSTGRES_URL` names a PostgreSQL server (for example the URL
//! printed by `scripts/pg-start.sh`; its role needs `CREATEDB`), a fresh
//! PostgreSQL database created for the server through that URL. Every test
//! assumes a fresh bootstrap, so every [`Server::start`] gets a database of
//! its own; [`Server::start_in`] on the same directory after a stop reuses it
//! (its URL is remembered in the directory), as a restart would. The database
//! is dropped when the last [`Server`] using it is dropped.

#![allow(dead_code)]

pub mod dataplane;
pub mod fixture;
pub mod neutron_helpers;

use nicplane_client::{Client, ClientError};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Names the PostgreSQL server the tests run on (SQLite when unset).
pub const POSTGRES_URL_VAR: &str = "NICPLANE_TEST_POSTGRES_URL";
/// The file, inside a server's data directory, that remembers its database.
const DATABASE_URL_FILE: &str = "database-url";

pub const ADMIN_PASSWORD: &str = "admin-test-password";
/// The secret key every test server gets (`NICPLANE_SECRET_KEY`), so servers
/// sharing a PostgreSQL database agree on it, as a deployment's must.
pub const SECRET_KEY: &str = "6e6963706c616e652d746573742d7365637265742d6b65792d30303030303031";
pub const PASSWORD: &str = "user-password";

/// A running server; killed when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub dir: PathBuf,
    pub args: Vec<String>,
    /// The PostgreSQL database this server uses (None on SQLite).
    pub database: Option<String>,
    /// The Huawei listener's URL, when started with `--huawei-listen`.
    pub huawei_url: Option<String>,
    /// The scrape URL (`http://ADDR/metrics`), when started with `--metrics-listen`.
    pub metrics_url: Option<String>,
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
    format!(
        "{}-{t}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

impl Server {
    /// Start a server on a fresh data directory.
    pub fn start(extra: &[&str]) -> Server {
        let dir = harness_dir();
        Server::start_in(dir, extra)
    }

    /// Start a server on an existing data directory (and, on PostgreSQL, the
    /// database that directory remembers, or a fresh one).
    pub fn start_in(dir: PathBuf, extra: &[&str]) -> Server {
        let database = postgres_admin_url().map(|_| database_of_dir(&dir));
        Server::start_on(dir, database, extra)
    }

    /// Start a server on `dir` with the SQLite file there, even when the
    /// tests run on PostgreSQL (for what only SQLite has: backup, restore).
    pub fn start_in_sqlite(dir: PathBuf, extra: &[&str]) -> Server {
        Server::start_on(dir, None, extra)
    }

    /// Start another server on the store of `other` (a fresh data directory,
    /// the same PostgreSQL database). Only meaningful on PostgreSQL.
    pub fn start_sharing(other: &Server, extra: &[&str]) -> Server {
        let database = other
            .database
            .clone()
            .expect("sharing a store needs PostgreSQL");
        Server::start_on(harness_dir(), Some(database), extra)
    }

    /// Start a server on `dir` (as [`Server::start_in`]) with environment
    /// overrides: `(name, Some(value))` sets, `(name, None)` removes (e.g.
    /// `NICPLANE_SECRET_KEY`, to use the key file).
    pub fn start_in_env(dir: PathBuf, extra: &[&str], env: &[(&str, Option<&str>)]) -> Server {
        let database = postgres_admin_url().map(|_| database_of_dir(&dir));
        let args = Server::args_for(&dir, database.as_ref(), extra);
        Server::spawn_env(dir, args, database, env)
    }

    /// Start a server on a fresh data directory (as [`Server::start_in_env`])
    /// whose log (stderr) goes to the file `log`.
    pub fn start_logging(extra: &[&str], env: &[(&str, Option<&str>)], log: &Path) -> Server {
        let dir = harness_dir();
        let database = postgres_admin_url().map(|_| database_of_dir(&dir));
        let args = Server::args_for(&dir, database.as_ref(), extra);
        let file = std::fs::File::create(log).expect("create the log file");
        Server::spawn_full(dir, args, database, env, Stdio::from(file))
    }

    fn args_for(dir: &Path, database: Option<&String>, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--data-dir".into(),
            dir.to_string_lossy().into(),
        ];
        if let Some(url) = database {
            args.push("--database".into());
            args.push(url.clone());
            retain_database(url);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    fn start_on(dir: PathBuf, database: Option<String>, extra: &[&str]) -> Server {
        let args = Server::args_for(&dir, database.as_ref(), extra);
        Server::spawn(dir, args, database)
    }

    fn spawn(dir: PathBuf, args: Vec<String>, database: Option<String>) -> Server {
        Server::spawn_env(dir, args, database, &[])
    }

    fn spawn_env(
        dir: PathBuf,
        args: Vec<String>,
        database: Option<String>,
        env: &[(&str, Option<&str>)],
    ) -> Server {
        Server::spawn_full(dir, args, database, env, Stdio::inherit())
    }

    fn spawn_full(
        dir: PathBuf,
        args: Vec<String>,
        database: Option<String>,
        env: &[(&str, Option<&str>)],
        stderr: Stdio,
    ) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_nicplane"));
        cmd.args(&args)
            .env("NICPLANE_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("NICPLANE_LOG", "warn")
            .env("NICPLANE_SECRET_KEY", SECRET_KEY);
        for (k, v) in env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start nicplane");
        retain_dir(&dir);
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
        // The Huawei listener's line follows the main one.
        let mut huawei_url = None;
        if args.iter().any(|a| a == "--huawei-listen") {
            for line in lines.by_ref().take(50).map_while(|l| l.ok()) {
                if let Some(rest) = line.strip_prefix("Huawei Cloud-compatible endpoint on ") {
                    huawei_url = Some(rest.trim().to_string());
                    break;
                }
            }
        }
        // The metrics listener's line follows the Huawei one.
        let mut metrics_url = None;
        if args.iter().any(|a| a == "--metrics-listen") {
            for line in lines.by_ref().take(50).map_while(|l| l.ok()) {
                if let Some(rest) = line.strip_prefix("Metrics endpoint on ") {
                    metrics_url = Some(rest.trim().to_string());
                    break;
                }
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        Server {
            child,
            url,
            dir,
            args,
            database,
            huawei_url,
            metrics_url,
        }
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
        if let Some(url) = self.database.take() {
            if release_database(&url) {
                let _ = std::fs::remove_file(self.dir.join(DATABASE_URL_FILE));
            }
        }
        release_dir(&self.dir);
    }
}

// ----- Data directories the harness made: removed with their last server ---

/// Live servers per data directory, and the directories the harness created
/// itself (a test's own `temp_dir` is the test's to keep).
static DIR_USERS: Mutex<Option<DirUsers>> = Mutex::new(None);

type DirUsers = (HashMap<PathBuf, usize>, std::collections::HashSet<PathBuf>);

fn dir_users<R>(
    f: impl FnOnce(&mut HashMap<PathBuf, usize>, &mut std::collections::HashSet<PathBuf>) -> R,
) -> R {
    let mut guard = DIR_USERS.lock().unwrap_or_else(|e| e.into_inner());
    let (users, owned) = guard.get_or_insert_with(Default::default);
    f(users, owned)
}

/// A fresh data directory that the last server using it removes.
fn harness_dir() -> PathBuf {
    let dir = temp_dir("srv");
    dir_users(|_, owned| owned.insert(dir.clone()));
    dir
}

fn retain_dir(dir: &Path) {
    dir_users(|users, _| *users.entry(dir.to_path_buf()).or_insert(0) += 1);
}

/// Forget one server of `dir`; the last one removes a directory the harness
/// made (a test run starts about a thousand servers).
fn release_dir(dir: &Path) {
    let remove = dir_users(|users, owned| {
        let Some(n) = users.get_mut(dir) else {
            return false;
        };
        *n -= 1;
        if *n > 0 {
            return false;
        }
        users.remove(dir);
        owned.remove(dir)
    });
    if remove {
        let _ = std::fs::remove_dir_all(dir);
    }
}

// ----- PostgreSQL: one fresh database per server --------------------------

/// The admin URL of the test PostgreSQL, if the tests run on PostgreSQL.
pub fn postgres_admin_url() -> Option<String> {
    std::env::var(POSTGRES_URL_VAR)
        .ok()
        .filter(|s| !s.is_empty())
}

/// `url` with its database name replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{db}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// The database name in a PostgreSQL URL.
fn database_name(url: &str) -> String {
    let base = url.split_once('?').map_or(url, |(b, _)| b);
    base.rsplit('/').next().unwrap_or_default().to_string()
}

/// Run one SQL batch through a fresh connection to `url`.
pub fn pg_execute(url: &str, sql: &str) -> Result<(), postgres::Error> {
    let mut c = postgres::Client::connect(url, postgres::NoTls)?;
    c.batch_execute(sql)
}

/// Create a fresh, empty database on the test PostgreSQL; returns its URL.
pub fn fresh_postgres_database() -> String {
    let admin = postgres_admin_url().expect("NICPLANE_TEST_POSTGRES_URL");
    let name = format!("nicplane_it_{}", uuid_like().replace('-', "_"));
    pg_execute(&admin, &format!("CREATE DATABASE {name}"))
        .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
    with_database(&admin, &name)
}

/// The database a data directory remembers, or a fresh one it now remembers.
fn database_of_dir(dir: &Path) -> String {
    let file = dir.join(DATABASE_URL_FILE);
    if let Ok(url) = std::fs::read_to_string(&file) {
        return url.trim().to_string();
    }
    let url = fresh_postgres_database();
    std::fs::write(&file, &url).expect("remember the test database");
    url
}

/// How many live `Server`s use each test database.
static DATABASE_USERS: Mutex<Option<HashMap<String, usize>>> = Mutex::new(None);

fn retain_database(url: &str) {
    let mut users = DATABASE_USERS.lock().unwrap_or_else(|e| e.into_inner());
    *users
        .get_or_insert_with(HashMap::new)
        .entry(url.to_string())
        .or_insert(0) += 1;
}

/// Forget one user of `url`; the last one drops the database (true then).
fn release_database(url: &str) -> bool {
    let mut users = DATABASE_USERS.lock().unwrap_or_else(|e| e.into_inner());
    let map = users.get_or_insert_with(HashMap::new);
    let Some(n) = map.get_mut(url) else {
        return false;
    };
    *n -= 1;
    if *n > 0 {
        return false;
    }
    map.remove(url);
    drop(users);
    if let Some(admin) = postgres_admin_url() {
        let name = database_name(url);
        let _ = pg_execute(
            &admin,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        );
    }
    true
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
    for (suffix, role) in [
        ("admin", "admin"),
        ("power", "power_user"),
        ("reader", "reader"),
    ] {
        let user = format!("{name}-{suffix}");
        let u = cloud.user_create(&user, PASSWORD).expect("user");
        cloud
            .member_set(&project, &u.id.to_string(), role)
            .expect("member");
        let mut c = server.client();
        c.login(&user, PASSWORD).expect("login");
        clients.push(c);
    }
    let reader = clients.pop().expect("reader");
    let power = clients.pop().expect("power");
    let admin = clients.pop().expect("admin");
    Tenant {
        project,
        dc,
        admin,
        power,
        reader,
    }
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

/// Assert an API error's status, code and its whole message.
pub fn assert_api_error<T: std::fmt::Debug>(
    r: Result<T, ClientError>,
    status: u16,
    code: &str,
    message: &str,
) {
    match r {
        Err(ClientError::Api {
            status: s,
            code: c,
            message: m,
            request_id,
        }) => {
            assert_eq!(s, status, "status of: {m}");
            assert_eq!(c, code, "code of: {m}");
            assert_eq!(m, message, "message");
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

/// A Neutron call with the client's token; returns status and body.
pub fn neutron(
    c: &Client,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let token = c.token().expect("logged in").to_string();
    let r = c
        .raw(
            method,
            &format!("/network/v2.0{path}"),
            body,
            &[("X-Auth-Token", &token)],
        )
        .expect("transport");
    (r.status, r.body)
}
