//! Helpers of the data-plane tests (tests/agent*.rs): a host with its agent
//! running, namespaces under a test prefix removed on drop, and probes of
//! the kernel objects (links, addresses, ping).

use super::Server;
use nicplane_client::Client;
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_nicplane");
/// Polls of a condition before a test gives up (× [`POLL`]).
pub const POLLS: u32 = 200;
pub const POLL: Duration = Duration::from_millis(100);

/// Whether this process runs as root; if not, the test prints why it does
/// nothing.
pub fn root_or_skip(test: &str) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        == Some("0");
    if !root {
        eprintln!("SKIPPED {test}: the data-plane tests need root (network namespaces)");
        return false;
    }
    assert!(
        Command::new("ping").arg("-V").output().is_ok(),
        "ping is missing: run scripts/dataplane-deps.sh (installs iputils-ping)"
    );
    true
}

pub fn netns_list() -> BTreeSet<String> {
    let out = Command::new("ip")
        .args(["-json", "netns", "list"])
        .output()
        .expect("ip");
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim().is_empty() {
        return BTreeSet::new();
    }
    let v: Vec<Value> = serde_json::from_str(&text).expect("ip -json netns list");
    v.iter()
        .filter_map(|n| n["name"].as_str().map(String::from))
        .collect()
}

/// A prefix no namespace uses; on drop, every namespace with it is removed.
pub struct Prefix(pub String);

impl Prefix {
    pub fn new() -> Prefix {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let existing = netns_list();
        for _ in 0..1000 {
            let n = NEXT.fetch_add(1, Ordering::SeqCst);
            let p = format!("t{:02x}", (std::process::id() + n * 37) % 256);
            if !existing.iter().any(|e| e.starts_with(&format!("{p}-"))) {
                return Prefix(p);
            }
        }
        panic!("no free test prefix");
    }
    pub fn namespaces(&self) -> BTreeSet<String> {
        netns_list()
            .into_iter()
            .filter(|n| n.starts_with(&format!("{}-", self.0)))
            .collect()
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        for ns in self.namespaces() {
            let _ = Command::new("ip").args(["netns", "del", &ns]).status();
        }
    }
}

/// A running agent; killed (SIGKILL) on drop.
pub struct Agent(pub Child);

impl Agent {
    pub fn start(server: &Server, credential: &str, host: &str, prefix: &Prefix) -> Agent {
        let child = Command::new(BIN)
            .args([
                "agent",
                "--url",
                &server.url,
                "--host",
                host,
                "--prefix",
                &prefix.0,
                "--interval-ms",
                "100",
                // The change feed starts passes; the resync also restores
                // what changed without an event (a veth deleted by hand).
                "--resync-ms",
                "1000",
            ])
            .env("NICPLANE_AGENT_CREDENTIAL", credential)
            .env_remove("NICPLANE_AGENT_CREDENTIAL_FILE")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the agent");
        Agent(child)
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `nicplane agent --once`: its output ("N changes").
pub fn agent_once(server: &Server, credential: &str, host: &str, prefix: &Prefix) -> String {
    let out = Command::new(BIN)
        .args([
            "agent",
            "--url",
            &server.url,
            "--host",
            host,
            "--prefix",
            &prefix.0,
            "--once",
        ])
        .env("NICPLANE_AGENT_CREDENTIAL", credential)
        .output()
        .expect("run the agent once");
    assert!(
        out.status.success(),
        "agent --once failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Poll until `f` holds (at most [`POLLS`] times).
pub fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..POLLS {
        if f() {
            return;
        }
        std::thread::sleep(POLL);
    }
    panic!("gave up waiting: {what}");
}

pub fn ip_in(ns: &str, args: &[&str]) -> Output {
    Command::new("ip")
        .args(["-n", ns])
        .args(args)
        .output()
        .expect("ip")
}

pub fn ping(from_ns: &str, to: &str) -> bool {
    Command::new("ip")
        .args(["netns", "exec", from_ns, "ping", "-c1", "-W1", to])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("ping")
        .success()
}

/// Whether `to` answers a ping from `from_ns` within five tries of a second
/// each: for a reachability that must hold, where one lost first packet on
/// a loaded machine is not a failure (a test that something is *not*
/// reachable uses [`ping`], one try).
pub fn reaches(from_ns: &str, to: &str) -> bool {
    (0..5).any(|_| ping(from_ns, to))
}

/// A link of a namespace as `ip -json addr show` reports it.
pub fn link(ns: &str, name: &str) -> Option<Value> {
    let out = ip_in(ns, &["-json", "addr", "show", "dev", name]);
    if !out.status.success() {
        return None;
    }
    let v: Vec<Value> = serde_json::from_slice(&out.stdout).ok()?;
    v.into_iter().next()
}

pub fn addrs(link: &Value) -> BTreeSet<String> {
    link["addr_info"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|x| x["scope"] == "global")
                .map(|x| format!("{}/{}", x["local"].as_str().unwrap(), x["prefixlen"]))
                .collect()
        })
        .unwrap_or_default()
}

pub fn short(id: &str) -> String {
    id.chars().filter(|c| *c != '-').take(8).collect()
}

/// The 8 hex digits naming an interface's host end: the last 8 of a
/// time-ordered (version 7) id, whose first ones are its creation time;
/// the first 8 of a random one (`agent::short_interface`).
#[allow(dead_code)]
pub fn short_interface(id: &str) -> String {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    if hex.as_bytes().get(12) == Some(&b'7') {
        hex[hex.len() - 8..].to_string()
    } else {
        short(id)
    }
}

pub fn vm_ns(prefix: &Prefix, vm: &str) -> String {
    format!("{}-vm-{}", prefix.0, short(vm))
}

/// A host registered by the cloud admin, with its agent running and live.
pub struct Setup {
    pub server: Server,
    pub credential: String,
    pub host: String,
    pub prefix: Prefix,
    pub agent: Option<Agent>,
}

pub fn setup(extra: &[&str]) -> Setup {
    let server = Server::start(extra);
    let cloud = server.admin();
    let dc = cloud.data_centers().expect("dcs")[0].id.to_string();
    let created = cloud.host_create("hv-1", &dc).expect("host create");
    let credential = created["credential"]
        .as_str()
        .expect("credential")
        .to_string();
    let prefix = Prefix::new();
    let agent = Agent::start(&server, &credential, "hv-1", &prefix);
    wait_until("the host is live", || {
        cloud.hosts().expect("hosts").iter().any(|h| h.live)
    });
    Setup {
        server,
        credential,
        host: "hv-1".into(),
        prefix,
        agent: Some(agent),
    }
}

/// Native status of an interface (lowercase, as the native API spells it).
pub fn native_status(c: &Client, project: &str, iface: &str) -> String {
    let v: Value = c
        .get(&format!("/v1/projects/{project}/interfaces/{iface}"))
        .expect("interface");
    v["status"].as_str().expect("status").to_string()
}

pub fn fixed_ips(c: &Client, project: &str, iface: &str) -> Vec<String> {
    let v: Value = c
        .get(&format!("/v1/projects/{project}/interfaces/{iface}"))
        .expect("interface");
    v["fixed_ips"]
        .as_array()
        .expect("fixed_ips")
        .iter()
        .map(|f| f["ip_address"].as_str().expect("ip").to_string())
        .collect()
}

/// Run `f` on a thread of its own inside the network namespace `ns` (a
/// thread's namespace is its own: `setns` changes only the caller's).
pub fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    use std::os::fd::AsRawFd;
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        // SAFETY: setns on a valid namespace descriptor changes only this
        // thread's network namespace; the file outlives the call.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
        f()
    })
    .join()
    .expect("the thread in the namespace")
}

/// A TCP listener bound inside a namespace (the kernel completes the
/// handshakes; nothing needs to accept them). Closed on drop.
pub fn tcp_listen(ns: &str, addr: &str, port: u16) -> std::net::TcpListener {
    let at = if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    };
    in_netns(ns, move || {
        std::net::TcpListener::bind(&at).unwrap_or_else(|e| panic!("listen on {at}: {e}"))
    })
}

/// Whether a TCP connection from the namespace `ns` to `addr:port` is
/// established within [`CONNECT_TIMEOUT`] (a dropped SYN is a timeout).
pub fn tcp_connects(ns: &str, addr: &str, port: u16) -> bool {
    let to: std::net::SocketAddr = if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    }
    .parse()
    .expect("a socket address");
    in_netns(ns, move || {
        std::net::TcpStream::connect_timeout(&to, CONNECT_TIMEOUT).is_ok()
    })
}

/// How long a TCP connect may take before it counts as blocked.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// `ping` from a namespace with a chosen source address.
pub fn ping_from(from_ns: &str, source: &str, to: &str) -> bool {
    Command::new("ip")
        .args([
            "netns", "exec", from_ns, "ping", "-c1", "-W1", "-I", source, to,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("ping")
        .success()
}

/// An agent with extra options (e.g. `--trigger feed --resync-ms 3600000`:
/// only the change feed starts its passes); killed (SIGKILL) on drop. Its
/// log goes to the file NICPLANE_TEST_AGENT_LOG names (appended), if set.
pub fn agent_with(
    server: &Server,
    credential: &str,
    host: &str,
    prefix: &Prefix,
    extra: &[&str],
) -> Agent {
    let log = match std::env::var_os("NICPLANE_TEST_AGENT_LOG") {
        Some(path) => std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_or_else(|_| Stdio::null(), Stdio::from),
        None => Stdio::null(),
    };
    spawn_agent(server, credential, host, prefix, extra, log)
}

/// [`agent_with`] whose log goes to the file `log` (for a test that reads
/// it).
#[allow(dead_code)]
pub fn agent_logging_to(
    server: &Server,
    credential: &str,
    host: &str,
    prefix: &Prefix,
    extra: &[&str],
    log: &std::path::Path,
) -> Agent {
    let file = std::fs::File::create(log).expect("the agent's log file");
    spawn_agent(server, credential, host, prefix, extra, Stdio::from(file))
}

fn spawn_agent(
    server: &Server,
    credential: &str,
    host: &str,
    prefix: &Prefix,
    extra: &[&str],
    log: Stdio,
) -> Agent {
    let child = Command::new(BIN)
        .args(["agent", "--url", &server.url, "--host", host])
        .args(["--prefix", &prefix.0])
        .args(extra)
        .env("NICPLANE_AGENT_CREDENTIAL", credential)
        .env_remove("NICPLANE_AGENT_CREDENTIAL_FILE")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start the agent");
    Agent(child)
}

/// A Neutron port update by the project's admin (200 expected); the port.
pub fn port_update(t: &super::Tenant, port: &str, body: Value) -> Value {
    let (status, v) = super::neutron(
        &t.admin,
        reqwest::Method::PUT,
        &format!("/ports/{port}"),
        Some(&serde_json::json!({ "port": body })),
    );
    assert_eq!(status, 200, "{v}");
    v["port"].clone()
}
