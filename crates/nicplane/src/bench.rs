//! `nicplane bench ipam`: allocation throughput of the IPAM on a real SQLite
//! store, for an empty and a 99%-full /16, a /8 and an IPv6 /64, and after
//! the free space has been cut into thousands of pieces. Each figure is the
//! rate of `ip_take_next` inside write transactions of `BATCH` allocations
//! each, so it measures the allocator, not the disk. Figures, not asserts.

use anyhow::{anyhow, Result};
use clap::{Args, Subcommand};
use ipnet::IpNet;
use nicplane_domain::ids::*;
use nicplane_domain::ipam::{self, AddressSpace};
use nicplane_domain::model::*;
use nicplane_domain::types::NetworkKind;
use nicplane_store::{Store, StoreOptions};
use rand::Rng;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub what: BenchWhat,
}

#[derive(Subcommand, Debug)]
pub enum BenchWhat {
    /// IPAM allocation rates on a throwaway SQLite store.
    Ipam {
        /// Allocations measured per scenario.
        #[arg(long, default_value_t = 2000)]
        count: u64,
    },
    /// Interface add/remove throughput and latency over HTTP (SQLite or PostgreSQL).
    Http(crate::bench_http::HttpBenchArgs),
    /// Attach rate and start-up time with a million interfaces in the store
    /// (SQLite), against an empty store.
    Scale(crate::bench_scale::ScaleArgs),
    /// The data plane (root): attach to ACTIVE and to the first ping, a cold
    /// start and a restart of the agent with many interfaces.
    Dataplane(crate::bench_dataplane::DataplaneArgs),
}

/// Allocations per write transaction while measuring.
const BATCH: u64 = 500;

pub fn run(a: BenchArgs) -> Result<()> {
    match a.what {
        BenchWhat::Ipam { count } => ipam_bench(count),
        BenchWhat::Http(a) => crate::bench_http::run(a).map(drop),
        BenchWhat::Scale(a) => crate::bench_scale::run(a),
        BenchWhat::Dataplane(a) => crate::bench_dataplane::run(a),
    }
}

fn rt() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// A network with one subnet of `cidr` in a fresh project; returns the subnet id.
async fn subnet(store: &Store, cidr: &str) -> Result<SubnetId> {
    let cidr: IpNet = cidr.parse()?;
    store
        .write(move |tx| {
            let t = now();
            let dc = DataCenter {
                id: DataCenterId::new(),
                name: format!("dc-{}", DataCenterId::new()),
                created_at: t,
            };
            tx.data_center_insert(&dc)?;
            let p = Project {
                id: ProjectId::new(),
                name: format!("p-{}", ProjectId::new()),
                description: String::new(),
                created_at: t,
            };
            tx.project_insert(&p)?;
            let (_, s) = network_with_subnet(tx, &p.id, dc.id, "bench", cidr)?;
            Ok(s.id)
        })
        .await
        .map_err(|e| anyhow!("{e}"))
}

/// A standard network named `name` with one subnet of `cidr` (gateway first,
/// the rest free), written straight through the store.
pub(crate) fn network_with_subnet(
    tx: &mut dyn nicplane_store::Tx,
    project: &ProjectId,
    data_center: DataCenterId,
    name: &str,
    cidr: IpNet,
) -> nicplane_domain::Result<(Network, Subnet)> {
    let t = now();
    let n = Network {
        id: NetworkId::new(),
        project_id: Some(project.clone()),
        data_center_id: data_center,
        name: name.into(),
        description: String::new(),
        kind: NetworkKind::Standard,
        shared: false,
        is_default: false,
        created_at: t,
        updated_at: t,
    };
    tx.network_insert(&n)?;
    let space = AddressSpace::new(cidr)?;
    let pools = ipam::subtract(&[space.host_range()], 1);
    let s = Subnet {
        id: SubnetId::new(),
        network_id: n.id,
        project_id: Some(project.clone()),
        name: name.into(),
        ip_version: space.version(),
        cidr,
        gateway_ip: Some(space.default_gateway()?),
        allocation_pools: vec![],
        free_addresses: String::new(),
        created_at: t,
        updated_at: t,
        description: String::new(),
        enable_dhcp: true,
        dns_nameservers: vec![],
        host_routes: vec![],
        ipv6_ra_mode: None,
        ipv6_address_mode: None,
    };
    tx.subnet_insert(&s, &pools, ipam::total(&pools))?;
    Ok((n, s))
}

/// Take `n` addresses, `BATCH` per transaction; returns allocations/s.
async fn take(store: &Store, id: SubnetId, n: u64) -> Result<f64> {
    let start = Instant::now();
    let mut left = n;
    while left > 0 {
        let k = left.min(BATCH);
        store
            .write(move |tx| {
                for _ in 0..k {
                    tx.ip_take_next(id)?
                        .ok_or_else(|| nicplane_domain::Error::exhausted("full"))?;
                }
                Ok(())
            })
            .await
            .map_err(|e| anyhow!("{e}"))?;
        left -= k;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// Claim `n` random specific offsets (cutting the free space into pieces).
async fn fragment(store: &Store, id: SubnetId, last: u64, n: u64) -> Result<()> {
    let mut left = n;
    while left > 0 {
        let k = left.min(BATCH);
        store
            .write(move |tx| {
                let mut r = rand::thread_rng();
                for _ in 0..k {
                    let o = r.gen_range(2..last);
                    tx.ip_take(id, o)?;
                }
                Ok(())
            })
            .await
            .map_err(|e| anyhow!("{e}"))?;
        left -= k;
    }
    Ok(())
}

fn ipam_bench(count: u64) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("nicplane-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let rt = rt()?;
    let result = rt.block_on(async {
        let store = Store::open(&url, StoreOptions::default()).map_err(|e| anyhow!("{e}"))?;
        println!("IPAM allocation rate (ip_take_next on SQLite, {BATCH} per transaction, {count} measured)");
        println!("{:<44} {:>14}", "scenario", "allocations/s");
        let row = |name: &str, rate: f64| println!("{name:<44} {rate:>14.0}");

        let s16 = subnet(&store, "10.0.0.0/16").await?;
        row("/16, empty", take(&store, s16, count).await?);
        // Fill to 99% (65,533 usable addresses), then measure the last ones.
        let usable = 65_533u64;
        let filled = usable * 99 / 100;
        take(&store, s16, filled - count).await?;
        let rest = (usable - filled).min(count);
        row("/16, 99% full (the last addresses)", take(&store, s16, rest).await?);

        let s8 = subnet(&store, "10.0.0.0/8").await?;
        row("/8, empty", take(&store, s8, count).await?);
        fragment(&store, s8, (1 << 24) - 2, 20_000).await?;
        row("/8, free space cut into ~20,000 ranges", take(&store, s8, count).await?);

        let s64 = subnet(&store, "fd00:1::/64").await?;
        row("IPv6 /64, empty", take(&store, s64, count).await?);
        fragment(&store, s64, u64::MAX - 1, 20_000).await?;
        row("IPv6 /64, free space cut into ~20,000 ranges", take(&store, s64, count).await?);
        Ok::<(), anyhow::Error>(())
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}
