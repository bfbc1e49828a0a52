//! `nicplane bench http`: what one server (or several on PostgreSQL) does per
//! second over HTTP, end to end (client, HTTP, auth, service, store,
//! database), each figure next to the server's own floor measured in the same
//! run. Figures, not assertions.
//!
//! The benchmark starts the servers itself (this executable's `serve`, on
//! loopback ports, with a fresh data directory each and a metrics listener),
//! creates a project, a user, one running VM per client with one extra
//! interface it keeps, and the networks. Then it runs one phase after the
//! other, each with `--clients` requests in flight at once from one async
//! client on one thread (client `i` on server `i % --servers`), `--count`
//! requests (or pairs) per phase or until `--seconds` run out:
//!
//! | phase | requests |
//! | --- | --- |
//! | floor | `GET /healthz` (no auth, no store): what the server's HTTP stack does |
//! | native | `POST /v1/projects/{p}/vms/{vm}/interfaces`, then `DELETE` it |
//! | nova | `POST /compute/v2.1/servers/{vm}/os-interface`, then `DELETE` it |
//! | neutron | `POST /network/v2.0/ports`, then `DELETE` it |
//! | reads | `GET` one interface, one VM's interfaces, one network (native) |
//!
//! Each row prints the rate, p50/p99 latency as the client saw it, the ratio
//! of the rate to the floor's, the SQL statements the store ran per request
//! (`nicplane_store_statements_total` from the servers' metrics), the
//! servers' CPU per request and, on SQLite, the writer thread's (`writer µs`:
//! one thread runs every write, so a million divided by it is the most writes
//! per second the store can commit). The client's own CPU share and the
//! servers' resident memory (idle, and after the phases) follow the table.
//!
//! The write phases are pairs (attach then detach, create then delete), so
//! every VM stays under the interface limit and every request should succeed;
//! failures are counted and shown. Their rate is requests of that kind per
//! second of the phase, so attach/s and detach/s are equal.
//!
//! With `--apart` each write phase measures its two kinds one after the
//! other instead: first only creates (attaches, port creates; at most
//! [`APART_MAX`] of them, so the /16 keeps room), then only the deletes of
//! what they made, each with its own rate, latency, statements and CPU per
//! request. The servers then allow [`APART_INTERFACE_LIMIT`] interfaces per
//! VM and the project that many ports (a finite quota, still checked on
//! every create), so 32 VMs can hold what one phase makes.
//!
//! `scripts/bench` runs the three configurations of docs/performance.md.

use anyhow::{anyhow, bail, Context, Result};
use axum::body::Body;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use axum::http::{HeaderValue, Method, Request};
use clap::Args;
use hyper::client::conn::http1::SendRequest;
use nicplane_client::Client;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
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
    /// Requests in flight at once (each with a VM of its own).
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// Requests (write phases: pairs) measured per phase, over all clients.
    #[arg(long, default_value_t = 5000)]
    pub count: usize,
    /// Stop a phase after this many seconds even if `--count` is not reached.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Phases to run, comma-separated, in this order: floor, native, nova,
    /// neutron, reads (the floor always runs: every ratio needs it).
    #[arg(long, default_value = "floor,native,nova,neutron,reads")]
    pub phases: String,
    /// Networks the clients spread over.
    #[arg(long, default_value_t = 1)]
    pub networks: usize,
    /// Database connections per server (`serve --db-pool-size`).
    #[arg(long, default_value_t = 8)]
    pub pool_size: usize,
    /// SQLite durability of the servers (`serve --sqlite-synchronous`):
    /// `full` (the default) or `normal`.
    #[arg(long, default_value = "full")]
    pub sqlite_synchronous: String,
    /// Measure each write phase's creates alone, then its deletes alone,
    /// instead of pairs (see the module's documentation).
    #[arg(long)]
    pub apart: bool,
    /// Name of the configuration in the table (default: from the store and servers).
    #[arg(long)]
    pub label: Option<String>,
    /// Print only the rows, not the table's header.
    #[arg(long)]
    pub no_header: bool,
    /// The nicplane executable to start (default: this one). An older build
    /// works too (a before/after comparison with the same client); without
    /// the statements counter its column shows `-`.
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// SQLite: the data directory of the (one) server, kept as it is
    /// (`bench scale` passes a filled one); default a fresh one.
    #[arg(skip)]
    pub data_dir: Option<PathBuf>,
}

/// One row of the table, for a caller that compares runs (`bench scale`).
#[derive(Debug, Clone)]
pub struct Figure {
    pub name: &'static str,
    pub rate: f64,
    pub p99_ms: f64,
}

/// Requests each client runs before a phase is measured (connections, caches).
const WARMUP: usize = 2;
/// How long a server may take to report its address.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// The password of the `bench` user created in the benchmark's project.
const BENCH_PASSWORD: &str = "bench-password";
/// The clock ticks of `/proc/*/stat` (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;
/// `--apart`: most creates one write phase makes before its deletes (the
/// benchmark's networks are /16s).
const APART_MAX: usize = 60_000;
/// `--apart`: the servers' `--interface-limit` and the project's port quota.
const APART_INTERFACE_LIMIT: u32 = 1_000_000;
/// The phases, in the order they run.
const PHASES: &[&str] = &["floor", "native", "nova", "neutron", "reads"];

/// Run the benchmark and print its table; answers its rows.
pub fn run(a: HttpBenchArgs) -> Result<Vec<Figure>> {
    let postgres = a.database.starts_with("postgres://") || a.database.starts_with("postgresql://");
    if a.database != "sqlite" && !postgres {
        bail!("--database must be `sqlite` or a postgres:// URL");
    }
    if a.servers == 0 || a.clients == 0 || a.networks == 0 || a.count == 0 {
        bail!("--servers, --clients, --networks and --count must be at least 1");
    }
    if a.servers > 1 && !postgres {
        bail!("several servers need a shared store: pass --database postgres://…");
    }
    let wanted: Vec<&str> = a.phases.split(',').map(str::trim).collect();
    if let Some(bad) = wanted.iter().find(|p| !PHASES.contains(p)) {
        bail!(
            "unknown phase `{bad}`: the phases are {}",
            PHASES.join(", ")
        );
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
        let dir = match (&a.data_dir, postgres) {
            (Some(d), false) => d.clone(),
            _ => scratch.0.join(format!("server-{i}")),
        };
        std::fs::create_dir_all(&dir)?;
        let db = postgres.then_some(a.database.as_str());
        let limit = APART_INTERFACE_LIMIT.to_string();
        let extra: &[&str] = if a.apart {
            &["--interface-limit", &limit]
        } else {
            &[]
        };
        servers.push(BenchServer::start(
            &exe,
            &dir,
            db,
            a.pool_size,
            &a.sqlite_synchronous,
            &admin_password,
            &secret_key,
            extra,
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
    let idle_rss = servers.iter().map(BenchServer::rss_mb).sum::<f64>();
    let setup = Setup::create(&servers[0].url, &admin_password, &a)?;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut rows = Vec::new();
    let mut client_cpu = Duration::ZERO;
    let mut measured = Duration::ZERO;
    let mut scrape = 0.0;
    rt.block_on(async {
        let urls: Vec<String> = servers.iter().map(|s| s.url.clone()).collect();
        let hosts = urls
            .iter()
            .map(|u| HeaderValue::from_str(u.trim_start_matches("http://")))
            .collect::<Result<Vec<_>, _>>()?;
        let bench = Rc::new(Bench {
            urls,
            hosts,
            bearer: HeaderValue::from_str(&format!("Bearer {}", setup.token))?,
            token: HeaderValue::from_str(&setup.os_token)?,
            setup,
            clients: a.clients,
            made: std::cell::RefCell::new(vec![Vec::new(); a.clients]),
        });
        let limit = Duration::from_secs(a.seconds);
        for phase in PHASES {
            if *phase != "floor" && !wanted.contains(phase) {
                continue;
            }
            for &op in ops(phase) {
                bench.run(op, Step::Pairs, a.clients * WARMUP, limit).await;
                let steps: &[Step] = if a.apart && op.writes() {
                    &[Step::Creates, Step::Deletes]
                } else {
                    &[Step::Pairs]
                };
                for &step in steps {
                    let count = match step {
                        Step::Pairs => a.count,
                        Step::Creates => a.count.min(APART_MAX),
                        Step::Deletes => usize::MAX,
                    };
                    let before = Sample::take(&servers);
                    let m = bench.run(op, step, count, limit).await;
                    let after = Sample::take(&servers);
                    client_cpu += after.client_cpu.saturating_sub(before.client_cpu);
                    measured += m.elapsed;
                    if op == Op::Floor {
                        // The floor runs no statement: what its counters grew
                        // by is the scrape's own (the capacity series), taken
                        // off every phase.
                        scrape = after
                            .store
                            .zip(before.store)
                            .map_or(0.0, |(y, x)| y.statements - x.statements);
                    }
                    rows.extend(Row::of(op, step, &m, &before, &after, scrape));
                }
                if a.apart && op.writes() {
                    // What the deletes' deadline left, unmeasured.
                    bench
                        .run(op, Step::Deletes, usize::MAX, Duration::from_secs(600))
                        .await;
                }
            }
        }
        Ok::<(), anyhow::Error>(())
    })?;
    let after_rss = servers.iter().map(BenchServer::rss_mb).sum::<f64>();
    drop(servers);
    print_table(&label, &a, &rows);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let share = client_cpu.as_secs_f64() / measured.as_secs_f64().max(f64::EPSILON);
    println!(
        "{label}: client CPU {:.0} % of one core ({:.0} % of the machine's {cores}) while measuring; \
         server resident memory {idle_rss:.0} MB idle, {after_rss:.0} MB after",
        share * 100.0,
        share * 100.0 / cores as f64,
    );
    Ok(rows
        .iter()
        .map(|r| Figure {
            name: r.name,
            rate: r.rate,
            p99_ms: r.p99,
        })
        .collect())
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
pub(crate) struct BenchServer {
    child: Child,
    pub(crate) url: String,
    /// `http://ADDR/metrics`.
    metrics: String,
}

impl BenchServer {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start(
        exe: &PathBuf,
        dir: &std::path::Path,
        database: Option<&str>,
        pool_size: usize,
        sqlite_synchronous: &str,
        admin_password: &str,
        secret_key: &str,
        extra: &[&str],
    ) -> Result<BenchServer> {
        let mut cmd = Command::new(exe);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .args(["--metrics-listen", "127.0.0.1:0"])
            .args(["--db-pool-size", &pool_size.to_string()])
            .args(["--sqlite-synchronous", sqlite_synchronous])
            .args(extra)
            .env("NICPLANE_SECRET_KEY", secret_key);
        if let Some(db) = database {
            cmd.args(["--database", db]);
        }
        let mut child = cmd
            .env("NICPLANE_ADMIN_PASSWORD", admin_password)
            .env(
                "NICPLANE_LOG",
                std::env::var("NICPLANE_BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", exe.display()))?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        // Read the addresses on a thread of its own, so a silent server times out.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let (mut url, mut metrics) = (None, None);
            for line in lines.by_ref().map_while(|l| l.ok()) {
                if let Some(rest) = line.strip_prefix("nicplane listening on ") {
                    url = rest.split_whitespace().next().map(str::to_string);
                }
                if let Some(rest) = line.strip_prefix("Metrics endpoint on ") {
                    metrics = Some(rest.trim().to_string());
                }
                if let (Some(u), Some(m)) = (&url, &metrics) {
                    let _ = tx.send((u.clone(), m.clone()));
                    break;
                }
            }
            // Keep draining, so the server never blocks on a full pipe.
            for _ in lines.by_ref() {}
        });
        let mut server = BenchServer {
            child,
            url: String::new(),
            metrics: String::new(),
        };
        (server.url, server.metrics) = rx
            .recv_timeout(START_TIMEOUT)
            .map_err(|_| anyhow!("the server did not report its addresses (see its log above)"))?;
        Ok(server)
    }

    /// The server's resident memory in MB (0 where `/proc` is missing).
    pub(crate) fn rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time a process has used (user + system), from `/proc/PID/stat`.
fn cpu_of(pid: &str) -> Duration {
    cpu_in(&format!("/proc/{pid}/stat"))
}

/// CPU time of a server's threads named `name` (SQLite's writer), summed.
fn thread_cpu(pid: u32, name: &str) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Duration::ZERO;
    };
    tasks
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim_end() == name)
        })
        .map(|t| cpu_in(&t.path().join("stat").to_string_lossy()))
        .sum()
}

/// The user + system CPU time in a `stat` file of `/proc`.
fn cpu_in(path: &str) -> Duration {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // The fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_secs_f64((ticks(11) + ticks(12)) as f64 / TICKS_PER_SECOND)
}

/// The store's counters in the servers' metrics, summed over the servers.
#[derive(Default, Clone, Copy)]
struct StoreCounters {
    statements: f64,
    commits: f64,
    commit_seconds: f64,
    /// SQLite: writes committed in groups (sum of the group sizes).
    grouped: f64,
    /// SQLite, `synchronous = full`: fsyncs of the WAL and their seconds.
    syncs: f64,
    sync_seconds: f64,
    /// PostgreSQL: round trips to the database.
    round_trips: f64,
}

/// The store's counters of every server (None: a server does not export the
/// statements, an older build).
fn store_counters(servers: &[BenchServer]) -> Option<StoreCounters> {
    let mut c = StoreCounters::default();
    for s in servers {
        let text = reqwest::blocking::get(&s.metrics).ok()?.text().ok()?;
        let value = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
                .and_then(|v| v.trim().parse::<f64>().ok())
        };
        c.statements += value("nicplane_store_statements_total")?;
        c.commits += value("nicplane_store_commit_duration_seconds_count").unwrap_or(0.0);
        c.commit_seconds += value("nicplane_store_commit_duration_seconds_sum").unwrap_or(0.0);
        c.grouped += value("nicplane_sqlite_group_size_sum").unwrap_or(0.0);
        c.syncs += value("nicplane_sqlite_wal_sync_duration_seconds_count").unwrap_or(0.0);
        c.sync_seconds += value("nicplane_sqlite_wal_sync_duration_seconds_sum").unwrap_or(0.0);
        c.round_trips += value("nicplane_postgres_round_trips_total").unwrap_or(0.0);
    }
    Some(c)
}

/// The counters read before and after a phase.
struct Sample {
    client_cpu: Duration,
    server_cpu: Duration,
    /// SQLite: the writer thread's CPU (zero on PostgreSQL).
    writer_cpu: Duration,
    store: Option<StoreCounters>,
}

impl Sample {
    fn take(servers: &[BenchServer]) -> Sample {
        // The blocking client must not run on the async runtime's thread.
        let store = std::thread::scope(|s| s.spawn(|| store_counters(servers)).join())
            .ok()
            .flatten();
        Sample {
            client_cpu: cpu_of("self"),
            server_cpu: servers
                .iter()
                .map(|s| cpu_of(&s.child.id().to_string()))
                .sum(),
            writer_cpu: servers
                .iter()
                .map(|s| thread_cpu(s.child.id(), nicplane_store::sqlite::WRITER_THREAD))
                .sum(),
            store,
        }
    }
}

/// The project, VMs and networks the clients work on.
struct Setup {
    project: String,
    /// The native login's token (`Authorization: Bearer`).
    token: String,
    /// A Keystone token scoped to the project, as the OpenStack clients
    /// send (`X-Auth-Token`); an unscoped token would cost every Nova and
    /// Neutron request a read of the user's memberships, which no real
    /// client pays.
    os_token: String,
    /// One VM per client.
    vms: Vec<String>,
    /// One interface per VM, kept for the whole run (the read phases).
    kept: Vec<String>,
    networks: Vec<String>,
}

/// `POST /identity/v3/auth/tokens`: a password login scoped to the project;
/// the token is the `X-Subject-Token` header.
fn keystone_token(c: &Client, user: &str, project: &str) -> Result<String> {
    let body = json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": BENCH_PASSWORD}}},
        "scope": {"project": {"id": project}}}});
    let r = c
        .raw(Method::POST, "/identity/v3/auth/tokens", Some(&body), &[])
        .map_err(|e| anyhow!("{e}"))?;
    if r.status != 201 {
        bail!("Keystone token: {} {}", r.status, r.body);
    }
    r.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-subject-token"))
        .map(|(_, v)| v.clone())
        .ok_or_else(|| anyhow!("Keystone token: no X-Subject-Token"))
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
        if a.apart {
            // Room for what one phase's creates make, still a checked quota.
            admin
                .quota_set(&project, &json!({ "port": APART_INTERFACE_LIMIT }))
                .map_err(api)?;
        }
        let mut c = Client::new(url);
        let token = c
            .login(&format!("bench-{tag}"), BENCH_PASSWORD)
            .map_err(api)?
            .token;
        let os_token = keystone_token(&c, &format!("bench-{tag}"), &project)?;
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
        let kept = vms
            .iter()
            .enumerate()
            .map(|(i, vm)| {
                c.interface_attach(&project, vm, &networks[i % networks.len()], None)
                    .map(|i| i.id.to_string())
                    .map_err(api)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Setup {
            project,
            token,
            os_token,
            vms,
            kept,
            networks,
        })
    }
}

/// One kind of measured work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Floor,
    /// Native attach, then detach.
    Native,
    /// Nova `os-interface` attach, then detach.
    Nova,
    /// Neutron port create, then delete.
    Neutron,
    GetInterface,
    VmInterfaces,
    GetNetwork,
}

/// How a write op runs (reads and the floor: always `Pairs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Create, then delete what it made (one of each per request counted).
    Pairs,
    /// Only creates (`--apart`).
    Creates,
    /// Only deletes, of what the creates made (`--apart`).
    Deletes,
}

fn ops(phase: &str) -> &'static [Op] {
    match phase {
        "floor" => &[Op::Floor],
        "native" => &[Op::Native],
        "nova" => &[Op::Nova],
        "neutron" => &[Op::Neutron],
        _ => &[Op::GetInterface, Op::VmInterfaces, Op::GetNetwork],
    }
}

impl Op {
    /// Whether it creates and deletes (a pair, or apart).
    fn writes(self) -> bool {
        matches!(self, Op::Native | Op::Nova | Op::Neutron)
    }

    /// The names of its one or two rows.
    fn names(self) -> (&'static str, Option<&'static str>) {
        match self {
            Op::Floor => ("floor: GET /healthz", None),
            Op::Native => ("attach (native)", Some("detach (native)")),
            Op::Nova => (
                "attach (Nova os-interface)",
                Some("detach (Nova os-interface)"),
            ),
            Op::Neutron => ("port create (Neutron)", Some("port delete (Neutron)")),
            Op::GetInterface => ("GET one interface", None),
            Op::VmInterfaces => ("GET one VM's interfaces", None),
            Op::GetNetwork => ("GET one network", None),
        }
    }
}

/// What a phase saw.
struct Measured {
    elapsed: Duration,
    first: Vec<Duration>,
    second: Vec<Duration>,
    failures: Vec<String>,
}

/// The async client and what it works on.
struct Bench {
    urls: Vec<String>,
    /// Each server's `Host` header.
    hosts: Vec<HeaderValue>,
    /// `Bearer <token>` (native) and the project-scoped Keystone token
    /// (`X-Auth-Token`: OpenStack).
    bearer: HeaderValue,
    token: HeaderValue,
    setup: Setup,
    clients: usize,
    /// `--apart`: per client, the paths of what its creates made, for the
    /// deletes that follow.
    made: std::cell::RefCell<Vec<Vec<String>>>,
}

/// One client's keep-alive HTTP/1.1 connection: hyper's own client, without
/// reqwest's pool, URL parsing and layers per request. On a machine the
/// client shares with the servers, the client's CPU per request is CPU the
/// servers do not get (docs/performance.md, "Session 12").
struct Conn {
    send: SendRequest<Body>,
}

impl Conn {
    async fn open(base: &str) -> Result<Conn> {
        let addr = base
            .strip_prefix("http://")
            .ok_or_else(|| anyhow!("{base} is not an http:// URL"))?;
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_nodelay(true)?;
        let (send, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        // Drives the connection; ends when `send` is dropped or the server
        // closes it.
        tokio::task::spawn_local(async move {
            let _ = conn.await;
        });
        Ok(Conn { send })
    }
}

impl Bench {
    /// Run `count` requests (or pairs) of `op`, `clients` at once, for at
    /// most `limit`.
    /// The client's tasks all run on this thread (a `LocalSet`).
    async fn run(self: &Rc<Self>, op: Op, step: Step, count: usize, limit: Duration) -> Measured {
        let next = Rc::new(std::cell::Cell::new(0usize));
        let start = Instant::now();
        let deadline = start + limit;
        let local = tokio::task::LocalSet::new();
        let tasks: Vec<_> = (0..self.clients)
            .map(|i| {
                let (next, me) = (next.clone(), self.clone());
                local.spawn_local(async move {
                    let mut out = (Vec::new(), Vec::new(), Vec::new());
                    let mut conn = None;
                    while Instant::now() < deadline && next.get() < count {
                        if step == Step::Deletes && me.made.borrow()[i].is_empty() {
                            break;
                        }
                        next.set(next.get() + 1);
                        if let Err(e) = me
                            .once(op, step, i, &mut conn, &mut out.0, &mut out.1)
                            .await
                        {
                            out.2.push(format!("{e:#}"));
                        }
                    }
                    out
                })
            })
            .collect();
        let results = local
            .run_until(async move {
                let mut all = Vec::new();
                for t in tasks {
                    all.push(t.await.unwrap_or_default());
                }
                all
            })
            .await;
        let elapsed = start.elapsed();
        let mut m = Measured {
            elapsed,
            first: Vec::new(),
            second: Vec::new(),
            failures: Vec::new(),
        };
        for (a, b, f) in results {
            m.first.extend(a);
            m.second.extend(b);
            m.failures.extend(f);
        }
        m
    }

    /// One request (or pair) of `op` by client `i` on its connection
    /// (opened, or opened again, when there is none). A write op's `step`
    /// says whether it is a pair, only a create (remembered in `made`) or
    /// only the delete of one made before.
    async fn once(
        &self,
        op: Op,
        step: Step,
        i: usize,
        conn: &mut Option<Conn>,
        first: &mut Vec<Duration>,
        second: &mut Vec<Duration>,
    ) -> Result<()> {
        let s = &self.setup;
        let server = i % self.urls.len();
        if conn.as_ref().is_none_or(|c| c.send.is_closed()) {
            *conn = Some(Conn::open(&self.urls[server]).await?);
        }
        let Some(c) = conn.as_mut() else {
            bail!("no connection");
        };
        let (p, vm, net) = (&s.project, &s.vms[i], &s.networks[i % s.networks.len()]);
        let read = |path: String| (Method::GET, path, None, 200);
        let (method, path, body, want) = match op {
            Op::Floor => (Method::GET, "/healthz".to_string(), None, 200),
            Op::GetInterface => read(format!("/v1/projects/{p}/interfaces/{}", s.kept[i])),
            Op::VmInterfaces => read(format!("/v1/projects/{p}/vms/{vm}/interfaces")),
            Op::GetNetwork => read(format!("/v1/projects/{p}/networks/{net}")),
            Op::Native | Op::Nova | Op::Neutron => {
                return self.write(op, step, i, c, server, first, second).await;
            }
        };
        first.push(self.call(c, server, method, path, body, want).await?.0);
        Ok(())
    }

    /// A write op's step (see [`Bench::once`]).
    #[allow(clippy::too_many_arguments)]
    async fn write(
        &self,
        op: Op,
        step: Step,
        i: usize,
        c: &mut Conn,
        server: usize,
        first: &mut Vec<Duration>,
        second: &mut Vec<Duration>,
    ) -> Result<()> {
        let s = &self.setup;
        let (p, vm, net) = (&s.project, &s.vms[i], &s.networks[i % s.networks.len()]);
        // The create's path, body and status, where its answer holds the
        // new id, and the delete's status (its path is the create's and the id).
        let (path, body, want, id, gone) = match op {
            Op::Native => (
                format!("/v1/projects/{p}/vms/{vm}/interfaces"),
                json!({"network_id": net}),
                201,
                &["id"][..],
                204,
            ),
            Op::Nova => (
                format!("/compute/v2.1/servers/{vm}/os-interface"),
                json!({"interfaceAttachment": {"net_id": net}}),
                200,
                &["interfaceAttachment", "port_id"][..],
                202,
            ),
            _ => (
                "/network/v2.0/ports".to_string(),
                json!({"port": {"network_id": net}}),
                201,
                &["port", "id"][..],
                204,
            ),
        };
        let made = if step == Step::Deletes {
            match self.made.borrow_mut()[i].pop() {
                Some(path) => path,
                None => return Ok(()),
            }
        } else {
            let (t, v) = self
                .call(c, server, Method::POST, path.clone(), Some(body), want)
                .await?;
            first.push(t);
            let made = format!("{path}/{}", id_at(&v, id)?);
            if step == Step::Creates {
                self.made.borrow_mut()[i].push(made);
                return Ok(());
            }
            made
        };
        let (t, _) = self
            .call(c, server, Method::DELETE, made, None, gone)
            .await?;
        second.push(t);
        Ok(())
    }

    /// One request on `conn` to server `server`, its latency and its body
    /// (parsed as JSON only when a write answers: the next request needs
    /// its id; a read's body is read whole and checked only for its status).
    async fn call(
        &self,
        conn: &mut Conn,
        server: usize,
        method: Method,
        path: String,
        body: Option<Value>,
        want: u16,
    ) -> Result<(Duration, Value)> {
        let mut req = Request::builder()
            .method(method.clone())
            .uri(path.as_str())
            .header(HOST, &self.hosts[server]);
        if path != "/healthz" {
            req = req
                .header(AUTHORIZATION, &self.bearer)
                .header("x-auth-token", &self.token);
        }
        let parse = body.is_some();
        let req = match body {
            Some(b) => req
                .header(CONTENT_TYPE, "application/json")
                .body(Body::from(serde_json::to_vec(&b)?))?,
            None => req.body(Body::empty())?,
        };
        let t = Instant::now();
        conn.send.ready().await?;
        let resp = conn.send.send_request(req).await?;
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(Body::new(resp.into_body()), usize::MAX).await?;
        let took = t.elapsed();
        if status != want {
            bail!(
                "{method} {path}: {status} {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            );
        }
        let v = if parse {
            serde_json::from_slice(&bytes)?
        } else {
            Value::Null
        };
        Ok((took, v))
    }
}

/// The string at `path` in `v`.
fn id_at(v: &Value, path: &[&str]) -> Result<String> {
    let mut at = v;
    for k in path {
        at = &at[k];
    }
    at.as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no {} in the answer", path.join(".")))
}

/// One row of the table.
struct Row {
    name: &'static str,
    rate: f64,
    p50: f64,
    p99: f64,
    errors: usize,
    /// Statements per request (None: the servers do not export them).
    statements: Option<f64>,
    /// SQLite: writes per group commit, ms per commit, and ms per fsync of
    /// the WAL (the syncer's, `synchronous = full`; 0 without one).
    commits: Option<(f64, f64, f64)>,
    /// PostgreSQL: round trips per request (in the last column).
    round_trips: Option<f64>,
    /// Server CPU per request, microseconds.
    cpu_us: f64,
    /// SQLite: the writer thread's CPU per request, microseconds (None: no
    /// such thread, PostgreSQL or an older build).
    writer_us: Option<f64>,
    floor: bool,
}

impl Row {
    fn of(
        op: Op,
        step: Step,
        m: &Measured,
        before: &Sample,
        after: &Sample,
        scrape: f64,
    ) -> Vec<Row> {
        let secs = m.elapsed.as_secs_f64().max(f64::EPSILON);
        let (a, b) = op.names();
        let all = (m.first.len() + m.second.len()).max(1) as f64;
        let store = match (before.store, after.store) {
            (Some(x), Some(y)) => Some(StoreCounters {
                statements: (y.statements - x.statements - scrape).max(0.0),
                commits: y.commits - x.commits,
                commit_seconds: y.commit_seconds - x.commit_seconds,
                grouped: y.grouped - x.grouped,
                syncs: y.syncs - x.syncs,
                sync_seconds: y.sync_seconds - x.sync_seconds,
                round_trips: (y.round_trips - x.round_trips - scrape).max(0.0),
            }),
            _ => None,
        };
        let statements = store.map(|c| c.statements / all);
        // PostgreSQL: every round trip of the servers (background work
        // included) per request.
        let round_trips = store
            .filter(|c| c.round_trips > 0.0)
            .map(|c| c.round_trips / all);
        // Writes per commit and the mean commit time (SQLite: one group).
        let commits = store
            .filter(|c| c.commits > 0.0 && c.grouped > 0.0)
            .map(|c| {
                let sync_ms = if c.syncs > 0.0 {
                    c.sync_seconds * 1000.0 / c.syncs
                } else {
                    0.0
                };
                (
                    c.grouped / c.commits,
                    c.commit_seconds * 1000.0 / c.commits,
                    sync_ms,
                )
            });
        let per_request = |a: Duration, b: Duration| a.saturating_sub(b).as_secs_f64() * 1e6 / all;
        let cpu_us = per_request(after.server_cpu, before.server_cpu);
        let writer_us =
            (!after.writer_cpu.is_zero()).then(|| per_request(after.writer_cpu, before.writer_cpu));
        let row = |name, v: &Vec<Duration>| {
            let mut v = v.clone();
            Row {
                name,
                rate: v.len() as f64 / secs,
                p50: percentile_ms(&mut v, 50),
                p99: percentile_ms(&mut v, 99),
                errors: m.failures.len(),
                statements,
                commits,
                round_trips,
                cpu_us,
                writer_us,
                floor: op == Op::Floor,
            }
        };
        for f in m.failures.iter().take(3) {
            eprintln!("  {a}: failed: {f}");
        }
        let mut rows = Vec::new();
        if step != Step::Deletes {
            rows.push(row(a, &m.first));
        }
        if let (Some(b), false) = (b, step == Step::Creates) {
            rows.push(row(b, &m.second));
        }
        rows
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

fn print_table(label: &str, a: &HttpBenchArgs, rows: &[Row]) {
    if !a.no_header {
        println!(
            "{:<22} {:<27} {:>7} {:>8} {:>8} {:>8} {:>7} {:>6} {:>7} {:>9} {:>17} {:>6}",
            "configuration",
            "work",
            "clients",
            "req/s",
            "p50 ms",
            "p99 ms",
            "×floor",
            "stmts",
            "cpu µs",
            "writer µs",
            "group/commit+sync",
            "errors"
        );
    }
    let floor = rows.iter().find(|r| r.floor).map_or(f64::NAN, |r| r.rate);
    for r in rows {
        let stmts = r
            .statements
            .map_or_else(|| "-".to_string(), |s| format!("{s:.1}"));
        let commits = match (r.commits, r.round_trips) {
            (Some((g, ms, sync)), _) => format!("{g:.1}/{ms:.2}+{sync:.2}ms"),
            (None, Some(t)) => format!("{t:.1} trips"),
            (None, None) => "-".to_string(),
        };
        let writer = r
            .writer_us
            .map_or_else(|| "-".to_string(), |w| format!("{w:.0}"));
        println!(
            "{:<22} {:<27} {:>7} {:>8.0} {:>8.2} {:>8.2} {:>7.3} {:>6} {:>7.0} {:>9} {:>17} {:>6}",
            label,
            r.name,
            a.clients,
            r.rate,
            r.p50,
            r.p99,
            r.rate / floor,
            stmts,
            r.cpu_us,
            writer,
            commits,
            r.errors
        );
    }
}
