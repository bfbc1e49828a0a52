//! `nicplane bench scale` (issue 14, "Scale"): what a big store costs. It
//! runs the native attach/detach phase of `bench http` on an empty SQLite
//! store, then fills another store with `--interfaces` interfaces (default
//! 1,000,000) by bulk inserts through the store itself (no HTTP: one
//! transaction per `FILL_BATCH` (500) interfaces, each with its address taken
//! from a /8 and recorded, as an attach would), measures how long a server
//! takes from its start to answering on that store, and runs the same phase
//! on it. Figures, printed next to each other; nothing is asserted.

use crate::bench_http::{self, BenchServer, HttpBenchArgs};
use anyhow::{anyhow, Context, Result};
use clap::Args;
use ipnet::IpNet;
use nicplane_domain::ids::*;
use nicplane_domain::ipam::AddressSpace;
use nicplane_domain::model::*;
use nicplane_domain::quota::QuotaResource;
use nicplane_domain::types::{InterfaceStatus, MacAddr};
use nicplane_store::{Store, StoreOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Arguments of `nicplane bench scale`.
#[derive(Args, Debug, Clone)]
pub struct ScaleArgs {
    /// Interfaces put into the filled store.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=16_000_000))]
    pub interfaces: u64,
    /// Attach/detach pairs measured on each store.
    #[arg(long, default_value_t = 5000)]
    pub count: usize,
    /// Stop a phase after this many seconds even if `--count` is not reached.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// Server starts timed on the filled store (the figure is each of them).
    #[arg(long, default_value_t = 3)]
    pub starts: usize,
    /// The nicplane executable to start as the server (default: this one).
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
}

/// Interfaces inserted per write transaction while filling. Small: every
/// statement of a write transaction opens and releases a statement
/// savepoint whose cost grows with the pages the transaction has dirtied, so
/// 10,000 per transaction spent 90 % of the fill in
/// `sqlite3BtreeSavepoint` (about 500 interfaces/s).
const FILL_BATCH: u64 = 500;

/// Run the benchmark and print its figures.
pub fn run(a: ScaleArgs) -> Result<()> {
    let scratch = std::env::temp_dir().join(format!(
        "nicplane-scale-{}-{:x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&scratch)?;
    let result = run_in(&a, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn run_in(a: &ScaleArgs, scratch: &Path) -> Result<()> {
    let exe = match &a.server_bin {
        Some(p) => p.clone(),
        None => std::env::current_exe().context("cannot find the nicplane executable")?,
    };
    // The same admin password and secret key for every server of the run
    // (the filled store is started several times); `bench http` reads them
    // from the environment too.
    let admin_password = std::env::var("NICPLANE_ADMIN_PASSWORD")
        .unwrap_or_else(|_| format!("bench-{}", rand::random::<u64>()));
    let secret_key = std::env::var("NICPLANE_SECRET_KEY")
        .unwrap_or_else(|_| nicplane_service::secret_box::generate_key_text());
    std::env::set_var("NICPLANE_ADMIN_PASSWORD", &admin_password);
    std::env::set_var("NICPLANE_SECRET_KEY", &secret_key);
    let http = |label: String, data_dir: PathBuf| HttpBenchArgs {
        database: "sqlite".into(),
        servers: 1,
        clients: a.clients,
        count: a.count,
        seconds: a.seconds,
        phases: "floor,native".into(),
        networks: 1,
        pool_size: 8,
        sqlite_synchronous: "full".into(),
        apart: false,
        label: Some(label),
        no_header: false,
        server_bin: Some(exe.clone()),
        data_dir: Some(data_dir),
    };

    let empty = bench_http::run(http("SQLite, empty store".into(), scratch.join("empty")))?;

    let full = scratch.join("full");
    std::fs::create_dir_all(&full)?;
    // A first start creates the schema, the data centers and the admin.
    let (first, _) = start(&exe, &full, &admin_password, &secret_key)?;
    drop(first);
    let db = full.join(crate::serve::SQLITE_FILE);
    let filled_at = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(fill(&db, a.interfaces))?;
    let fill_secs = filled_at.elapsed().as_secs_f64();
    let size_mb = file_mb(&db) + file_mb(&db.with_extension("db-wal"));
    println!(
        "filled: {} interfaces in {fill_secs:.1} s ({:.0}/s), database {size_mb:.0} MB",
        a.interfaces,
        a.interfaces as f64 / fill_secs.max(f64::EPSILON),
    );

    let mut starts = vec![];
    let mut idle_mb = 0.0;
    for _ in 0..a.starts.max(1) {
        let (server, took) = start(&exe, &full, &admin_password, &secret_key)?;
        idle_mb = server.rss_mb();
        starts.push(took.as_secs_f64() * 1000.0);
    }
    let shown: Vec<String> = starts.iter().map(|ms| format!("{ms:.0}")).collect();
    println!(
        "start-up to ready with {} interfaces: {} ms (each start); resident memory idle {idle_mb:.0} MB",
        a.interfaces,
        shown.join(" / "),
    );

    let label = format!("SQLite, {} interfaces", a.interfaces);
    let filled = bench_http::run(http(label, full))?;
    println!();
    println!(
        "{:<28} {:>12} {:>12} {:>12} {:>10} {:>10}",
        "row", "empty req/s", "filled req/s", "empty/filled", "empty p99", "filled p99"
    );
    for e in &empty {
        if let Some(f) = filled.iter().find(|f| f.name == e.name) {
            println!(
                "{:<28} {:>12.0} {:>12.0} {:>12.2} {:>10.1} {:>10.1}",
                e.name,
                e.rate,
                f.rate,
                e.rate / f.rate.max(f64::EPSILON),
                e.p99_ms,
                f.p99_ms
            );
        }
    }
    Ok(())
}

/// Start a server on `dir`; answers it and how long it took to listen.
fn start(
    exe: &PathBuf,
    dir: &Path,
    admin_password: &str,
    secret_key: &str,
) -> Result<(BenchServer, Duration)> {
    let t = Instant::now();
    let server = BenchServer::start(exe, dir, None, 8, "full", admin_password, secret_key, &[])?;
    Ok((server, t.elapsed()))
}

fn file_mb(p: &Path) -> f64 {
    std::fs::metadata(p).map_or(0.0, |m| m.len() as f64 / 1e6)
}

/// Put `n` interfaces into the store at `db`: a project without a port
/// quota, a network with a /8, and `n` unattached interfaces, each with the
/// next address of the /8 (allocation and free range as an attach leaves
/// them) and the project's default security group.
async fn fill(db: &Path, n: u64) -> Result<()> {
    let store = Store::open(
        &format!("sqlite://{}", db.display()),
        StoreOptions::default(),
    )
    .map_err(|e| anyhow!("{e}"))?;
    let err = |e: nicplane_domain::Error| anyhow!("{e}");
    let (project, network, subnet, dc) = store
        .write(|tx| {
            let t = now();
            let dc = tx
                .data_center_list()?
                .into_iter()
                .next()
                .ok_or_else(|| nicplane_domain::Error::internal("no data center"))?;
            let p = Project {
                id: ProjectId::new(),
                name: format!("scale-{}", ProjectId::new()),
                description: String::new(),
                created_at: t,
            };
            tx.project_insert(&p)?;
            tx.quota_set(&p.id, QuotaResource::Port, -1)?;
            let cidr: IpNet = "10.0.0.0/8".parse().expect("a valid CIDR");
            let (net, s) = crate::bench::network_with_subnet(tx, &p.id, dc.id, "scale", cidr)?;
            Ok((p.id, net.id, s, dc.id))
        })
        .await
        .map_err(err)?;
    let space = AddressSpace::new(subnet.cidr).map_err(err)?;
    let mut done = 0u64;
    while done < n {
        let k = (n - done).min(FILL_BATCH);
        let (project, subnet) = (project.clone(), subnet.clone());
        store
            .write(move |tx| {
                for i in done..done + k {
                    let offset = tx
                        .ip_take_next(subnet.id)?
                        .ok_or_else(|| nicplane_domain::Error::exhausted("the /8 is full"))?;
                    let address = space.address_at(offset)?;
                    let t = now();
                    // Locally administered, unique per interface of the run.
                    let b = i.to_be_bytes();
                    let iface = Interface {
                        status_reason: None,
                        id: InterfaceId::new(),
                        project_id: project.clone(),
                        network_id: network,
                        network_name: "scale".into(),
                        data_center_id: dc,
                        vm_id: None,
                        name: String::new(),
                        mac_address: MacAddr([0x0a, 0x5c, b[4], b[5], b[6], b[7]]),
                        fixed_ips: vec![FixedIp {
                            subnet_id: subnet.id,
                            ip_address: address,
                        }],
                        primary: false,
                        status: InterfaceStatus::Down,
                        admin_state_up: true,
                        description: String::new(),
                        tag: None,
                        security_groups: vec![],
                        port_security_enabled: true,
                        allowed_address_pairs: vec![],
                        extra_dhcp_opts: vec![],
                        tags: vec![],
                        device_owner: String::new(),
                        public_ip: None,
                        parent_id: None,
                        vlan_id: None,
                        supplementary: false,
                        router_id: None,
                        created_at: t,
                        updated_at: t,
                    };
                    tx.interface_insert(&iface, false)?;
                    tx.ip_record(subnet.id, offset, address, iface.id, true)?;
                }
                Ok(())
            })
            .await
            .map_err(err)?;
        done += k;
    }
    Ok(())
}
