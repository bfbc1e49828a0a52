//! `nicplane external-network …` and `nicplane pool …`: the cloud admin's
//! external networks and their public IP pools (the same objects Neutron
//! shows as `router:external` networks and their subnets).

use super::table::Table;
use super::{resolve_dc, Ctx};
use anyhow::{anyhow, Result};
use clap::Subcommand;
use nicplane_client::Client;
use nicplane_domain::model::{ExternalNetwork, PublicIpPool};
use serde_json::json;

#[derive(Subcommand, Debug)]
pub enum ExternalNetworkCmd {
    /// List external networks (every user sees them).
    List,
    /// Create an external network in a data center (cloud admin).
    Create {
        name: String,
        /// Data center name or id (default: the first).
        #[arg(long = "data-center", visible_alias = "dc")]
        dc: Option<String>,
    },
    /// Delete an external network with its pools and its public IPs on no
    /// interface (cloud admin).
    Delete { network: String },
}

#[derive(Subcommand, Debug)]
pub enum PoolCmd {
    /// List public IP pools.
    List,
    /// Create a public IP pool (cloud admin): in an external network, or in
    /// a data center's default external network.
    Create {
        name: String,
        cidr: String,
        /// External network name or id.
        #[arg(long = "external-network", conflicts_with = "dc")]
        network: Option<String>,
        /// Data center name or id (its default external network; default:
        /// the first data center).
        #[arg(long = "data-center", visible_alias = "dc")]
        dc: Option<String>,
    },
    /// Delete a pool none of whose addresses is held (cloud admin).
    Delete { pool: String },
}

/// An external network by name or id.
pub fn resolve_network(c: &Client, want: &str) -> Result<ExternalNetwork> {
    c.external_networks()?
        .into_iter()
        .find(|n| n.id.to_string() == want || n.name == want)
        .ok_or_else(|| anyhow!("External network {want} could not be found."))
}

fn network_table(ns: &[ExternalNetwork]) -> Table {
    let mut t = Table::new(&["ID", "NAME", "DATA CENTER", "POOLS"]);
    for n in ns {
        t.row(vec![
            n.id.to_string(),
            n.name.clone(),
            n.data_center_id.to_string(),
            n.pool_ids.len().to_string(),
        ]);
    }
    t
}

fn pool_table(ps: &[PublicIpPool]) -> Table {
    let mut t = Table::new(&["ID", "NAME", "CIDR", "EXTERNAL NETWORK", "FREE"]);
    for p in ps {
        t.row(vec![
            p.id.to_string(),
            p.name.clone(),
            p.cidr.to_string(),
            p.external_network_id.to_string(),
            p.free_addresses.to_string(),
        ]);
    }
    t
}

fn deleted(ctx: &Ctx, id: &str) -> Result<()> {
    ctx.out(&json!({"deleted": id}), || {
        let mut t = Table::new(&["DELETED"]);
        t.row(vec![id.to_string()]);
        t
    })
}

pub fn external_network_cmd(ctx: &mut Ctx, c: ExternalNetworkCmd) -> Result<()> {
    match c {
        ExternalNetworkCmd::List => {
            let ns = ctx.client.external_networks()?;
            ctx.out(&ns, || network_table(&ns))
        }
        ExternalNetworkCmd::Create { name, dc } => {
            let dc = resolve_dc(&ctx.client, dc.as_deref())?;
            let n = ctx.client.external_network_create(&name, &dc)?;
            ctx.out(&n, || network_table(std::slice::from_ref(&n)))
        }
        ExternalNetworkCmd::Delete { network } => {
            let n = resolve_network(&ctx.client, &network)?;
            ctx.client.external_network_delete(&n.id.to_string())?;
            deleted(ctx, &n.id.to_string())
        }
    }
}

pub fn pool_cmd(ctx: &mut Ctx, c: PoolCmd) -> Result<()> {
    match c {
        PoolCmd::List => {
            let ps = ctx.client.pools()?;
            ctx.out(&ps, || pool_table(&ps))
        }
        PoolCmd::Create {
            name,
            cidr,
            network,
            dc,
        } => {
            let p = match network {
                Some(n) => {
                    let n = resolve_network(&ctx.client, &n)?;
                    ctx.client.pool_create_in(&name, &n.id.to_string(), &cidr)?
                }
                None => {
                    let dc = resolve_dc(&ctx.client, dc.as_deref())?;
                    ctx.client.pool_create(&name, &dc, &cidr)?
                }
            };
            ctx.out(&p, || pool_table(std::slice::from_ref(&p)))
        }
        PoolCmd::Delete { pool } => {
            let p = ctx
                .client
                .pools()?
                .into_iter()
                .find(|p| p.id.to_string() == pool || p.name == pool)
                .ok_or_else(|| anyhow!("Public IP pool {pool} could not be found."))?;
            ctx.client.pool_delete(&p.id.to_string())?;
            deleted(ctx, &p.id.to_string())
        }
    }
}
