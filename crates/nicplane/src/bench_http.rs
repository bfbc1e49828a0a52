//! `nicplane bench http`: interface add/remove throughput and latency over
//! HTTP, end to end (client, HTTP, service, store, database), on SQLite or on
//! PostgreSQL with one or several servers. Figures, not assertions.
//!
//! The benchmark starts the servers itself (this executable's `serve`, on
//! loopback ports, with a fresh data directory each), creates a project, a
//! user, one VM per client and the networks, then runs `--clients` threads,
//! client `i` on server `i % --servers`. Each client adds an interface to its
//! own VM (`interface_attach`, POST /v1/projects/{p}/vms/{vm}/interfaces) and
//! removes it again (`interface_detach`), `--count` add/remove pairs in all or
//! until `--seconds` run out. Every VM stays under the interface limit, so
//! every request should succeed; failures are counted and shown.
//!
//! Wiring into the CLI (crates/nicplane/src/bench.rs): `mod bench_http;` in
//! main.rs, then a variant of `BenchWhat`
//!
//! ```ignore
//! /// Interface add/remove throughput and latency over HTTP (SQLite or PostgreSQL).
//! Http(crate::bench_http::HttpBenchArgs),
//! ```
//!
//! and in `bench::run`: `BenchWhat::Http(a) => crate::bench_http::run(a)`.
//! `scripts/bench` runs the three configurations of docs/postgres.md.

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use nicplane_client::Client;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Arguments of `nicplane bench http`.
#[derive(Args, Debug, Clone)]
pub struct HttpBenchArgs {
    /// Store: `sqlite` (a fresh file per run) or the URL of a PostgreSQL
    /// database (`postgres://…`; fresh is best, it is not cleaned up).
    #[arg(long, default_value = "sqlite")]
    pub database: String,
    /// nicplane servers sharing the store (more than one needs PostgreSQL).
    #[arg(long, default_value_t = 1)]
    pub servers: usize,
    /// Concurrent clients (threads), each with a VM of its own.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// Add/remove pairs measured, over all clients.
    #[arg(long, default_value_t = 3200)]
    pub count: usize,
    /// Stop measuring after this many seconds even if `--count` is not reached.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Networks the clients spread over (each add takes a lock on its subnet).
    #[arg(long, default_value_t = 1)]
    pub networks: usize,
    /// Database connections per server (`serve --db-pool-size`).
    #[arg(long, default_value_t = 8)]
    pub pool_size: usize,
    /// SQLite durability of the servers (`serve --sqlite-synchronous`):
    /// `full` (the default) or `normal`.
    #[arg(long, default_value = "full")]
    pub sqlite_synchronous: String,
    /// Name of the configuration in the table (default: from the store and servers).
    #[arg(long)]
    pub label: Option<String>,
    /// Print only the row, not the table's header.
    #[arg(long)]
    pub no_header: bool,
    /// The nicplane executable to start (default: this one).
    #[arg(long, hide = true)]
    pub server_bin: Option<PathBuf>,
}

/// Add/remove pairs each client runs before measuring (connections, caches).
const WARMUP_PAIRS: usize = 2;
/// How long a server may take to report its address.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// The password of the `bench` user created in the benchmark's project.
const BENCH_PASSWORD: &str = "bench-password";

/// Run the benchmark and print its table.
pub fn run(a: HttpBenchArgs) -> Result<()> {
    let postgres = a.database.starts_with("postgres://") || a.database.starts_with("postgresql://");
    if a.database != "sqlite" && !postgres {
        bail!("--database must be `sqlite` or a postgres:// URL");
    }
    if a.servers == 0 || a.clients == 0 || a.networks == 0 {
        bail!("--servers, --clients and --networks must be at least 1");
    }
    if a.servers > 1 && !postgres {
        bail!("several servers need a shared store: pass --database postgres://…");
    }
    let exe = match &a.server_bin {
        Some(p) => p.clone(),
        None => std::env::current_exe().context("cannot find the nicplane executable")?,
    };
    let admin_password = std::env::var("NICPLANE_ADMIN_PASSWORD")
        .unwrap_or_else(|_| format!("bench-{}", rand::random::<u64>()));
    // Servers sharing a database must share the secret key that seals AK/SK
    // secrets.
    let secret_key = std::env::var("NICPLANE_SECRET_KEY")
        .unwrap_or_else(|_| nicplane_service::secret_box::generate_key_text());
    let scratch = Scratch::new()?;
    let mut servers = Vec::new();
    for i in 0..a.servers {
        let dir = scratch.0.join(format!("server-{i}"));
        std::fs::create_dir_all(&dir)?;
        let db = postgres.then_some(a.database.as_str());
        servers.push(BenchServer::start(
            &exe,
            &dir,
            db,
            a.pool_size,
            &a.sqlite_synchronous,
            &admin_password,
            &secret_key,
        )?);
    }
    let label = a.label.clone().unwrap_or_else(|| {
        let store = if postgres { "PostgreSQL" } else { "SQLite" };
        format!(
            "{store}, {} server{}",
            a.servers,
            if a.servers == 1 { "" } else { "s" }
        )
    });

    let setup = Setup::create(&servers[0].url, &admin_password, &a)?;
    let clients: Vec<Client> = (0..a.clients)
        .map(|i| Client::new(&servers[i % servers.len()].url).with_token(&setup.token))
        .collect();

    // Warm up every client and server, outside the measurement.
    for (i, c) in clients.iter().enumerate() {
        for _ in 0..WARMUP_PAIRS {
            let id = add(c, &setup, i).map_err(|e| anyhow!("warm-up add failed: {e}"))?;
            remove(c, &setup, i, &id).map_err(|e| anyhow!("warm-up remove failed: {e}"))?;
        }
    }

    let m = measure(&clients, &setup, a.count, Duration::from_secs(a.seconds));
    drop(servers);
    print_table(&label, &a, &m);
    Ok(())
}

/// A temporary directory removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch> {
        let dir = std::env::temp_dir().join(format!(
            "nicplane-bench-{}-{:x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `nicplane serve` child process, killed when dropped.
struct BenchServer {
    child: Child,
    url: String,
}

impl BenchServer {
    fn start(
        exe: &PathBuf,
        dir: &std::path::Path,
        database: Option<&str>,
        pool_size: usize,
        sqlite_synchronous: &str,
        admin_password: &str,
        secret_key: &str,
    ) -> Result<BenchServer> {
        let mut cmd = Command::new(exe);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .args(["--db-pool-size", &pool_size.to_string()])
            .args(["--sqlite-synchronous", sqlite_synchronous])
            .env("NICPLANE_SECRET_KEY", secret_key);
        if let Some(db) = database {
            cmd.args(["--database", db]);
        }
        let mut child = cmd
            .env("NICPLANE_ADMIN_PASSWORD", admin_password)
            .env("NICPLANE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", exe.display()))?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        // Read the address on a thread of its own, so a silent server times out.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let mut sent = false;
            for line in lines.by_ref().map_while(|l| l.ok()) {
                if !sent {
                    if let Some(rest) = line.strip_prefix("nicplane listening on ") {
                        let _ = tx.send(
                            rest.split_whitespace()
                                .next()
                                .unwrap_or_default()
                                .to_string(),
                        );
                        sent = true;
                    }
                }
                // Keep draining, so the server never blocks on a full pipe.
            }
        });
        let mut server = BenchServer {
            child,
            url: String::new(),
        };
        server.url = rx
            .recv_timeout(START_TIMEOUT)
            .map_err(|_| anyhow!("the server did not report its address (see its log above)"))?;
        Ok(server)
    }
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The project, VMs and networks the clients work on.
struct Setup {
    project: String,
    token: String,
    /// One VM per client.
    vms: Vec<String>,
    networks: Vec<String>,
}

impl Setup {
    fn create(url: &str, admin_password: &str, a: &HttpBenchArgs) -> Result<Setup> {
        let api = |e: nicplane_client::ClientError| anyhow!("{e}");
        let mut admin = Client::new(url);
        admin.login("admin", admin_password).map_err(|e| {
            anyhow!("cannot log in as admin (set NICPLANE_ADMIN_PASSWORD for a used database): {e}")
        })?;
        let tag = format!("{:08x}", rand::random::<u32>());
        let project = admin
            .project_create(&format!("bench-{tag}"))
            .map_err(api)?
            .id
            .to_string();
        let dc = admin
            .data_centers()
            .map_err(api)?
            .first()
            .ok_or_else(|| anyhow!("no data center"))?
            .id
            .to_string();
        let user = admin
            .user_create(&format!("bench-{tag}"), BENCH_PASSWORD)
            .map_err(api)?;
        admin
            .member_set(&project, &user.id.to_string(), "admin")
            .map_err(api)?;
        let mut c = Client::new(url);
        let token = c
            .login(&format!("bench-{tag}"), BENCH_PASSWORD)
            .map_err(api)?
            .token;
        let networks = (0..a.networks)
            .map(|n| {
                // 10.(64+n).0.0/16: room for every client's interface many times over.
                let body = json!({"name": format!("bench-{n}"), "data_center_id": dc, "kind": "standard",
                                  "subnets": [{"cidr": format!("10.{}.0.0/16", 64 + n % 128)}]});
                c.network_create(&project, &body).map(|d| d.network.id.to_string()).map_err(api)
            })
            .collect::<Result<Vec<_>>>()?;
        let vms = (0..a.clients)
            .map(|i| {
                c.vm_create(&project, &format!("bench-{i}"), &dc, "linux", true)
                    .map(|d| d.vm.id.to_string())
                    .map_err(api)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Setup {
            project,
            token,
            vms,
            networks,
        })
    }
}

fn add(c: &Client, s: &Setup, client: usize) -> nicplane_client::Result<String> {
    let net = &s.networks[client % s.networks.len()];
    c.interface_attach(&s.project, &s.vms[client], net, None)
        .map(|i| i.id.to_string())
}

fn remove(c: &Client, s: &Setup, client: usize, id: &str) -> nicplane_client::Result<()> {
    c.interface_detach(&s.project, &s.vms[client], id)
}

/// What the measurement saw.
struct Measured {
    elapsed: Duration,
    adds: Vec<Duration>,
    removes: Vec<Duration>,
    failures: Vec<String>,
}

/// Run the add/remove pairs on every client at once.
fn measure(clients: &[Client], setup: &Setup, count: usize, limit: Duration) -> Measured {
    let next = AtomicUsize::new(0);
    let barrier = Barrier::new(clients.len() + 1);
    let (mut adds, mut removes, mut failures) = (Vec::new(), Vec::new(), Vec::new());
    let mut elapsed = Duration::ZERO;
    std::thread::scope(|s| {
        let handles: Vec<_> = clients
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let (next, barrier) = (&next, &barrier);
                s.spawn(move || {
                    let (mut adds, mut removes, mut failures) =
                        (Vec::new(), Vec::new(), Vec::new());
                    barrier.wait();
                    let deadline = Instant::now() + limit;
                    while Instant::now() < deadline && next.fetch_add(1, Ordering::Relaxed) < count
                    {
                        let t = Instant::now();
                        match add(c, setup, i) {
                            Ok(id) => {
                                adds.push(t.elapsed());
                                let t = Instant::now();
                                match remove(c, setup, i, &id) {
                                    Ok(()) => removes.push(t.elapsed()),
                                    Err(e) => failures.push(format!("remove: {e}")),
                                }
                            }
                            Err(e) => failures.push(format!("add: {e}")),
                        }
                    }
                    (adds, removes, failures)
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for h in handles {
            if let Ok((a, r, f)) = h.join() {
                adds.extend(a);
                removes.extend(r);
                failures.extend(f);
            }
        }
        elapsed = start.elapsed();
    });
    Measured {
        elapsed,
        adds,
        removes,
        failures,
    }
}

/// The `p`-th percentile (0–100) of `v`, in milliseconds.
fn percentile_ms(v: &mut [Duration], p: usize) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_unstable();
    let i = (v.len() * p / 100).min(v.len() - 1);
    v[i].as_secs_f64() * 1000.0
}

fn print_table(label: &str, a: &HttpBenchArgs, m: &Measured) {
    let (mut adds, mut removes) = (m.adds.clone(), m.removes.clone());
    let secs = m.elapsed.as_secs_f64().max(f64::EPSILON);
    if !a.no_header {
        println!(
            "{:<26} {:>7} {:>5} {:>7} {:>7} {:>9} {:>9} {:>9} {:>9} {:>6}",
            "configuration",
            "clients",
            "pairs",
            "adds/s",
            "rems/s",
            "add p50",
            "add p99",
            "rem p50",
            "rem p99",
            "errors"
        );
    }
    println!(
        "{:<26} {:>7} {:>5} {:>7.0} {:>7.0} {:>7.1}ms {:>7.1}ms {:>7.1}ms {:>7.1}ms {:>6}",
        label,
        a.clients,
        m.removes.len(),
        m.adds.len() as f64 / secs,
        m.removes.len() as f64 / secs,
        percentile_ms(&mut adds, 50),
        percentile_ms(&mut adds, 99),
        percentile_ms(&mut removes, 50),
        percentile_ms(&mut removes, 99),
        m.failures.len()
    );
    for f in m.failures.iter().take(5) {
        eprintln!("  failed: {f}");
    }
}
