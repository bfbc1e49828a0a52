//! `nicplane router …`: routers of the current project through the native
//! API (the Tenant Administrator changes them, readers list and show them).

use super::table::Table;
use super::{resolve_dc, resolve_network, Ctx};
use anyhow::{anyhow, bail, Result};
use clap::Subcommand;
use nicplane_client::Client;
use nicplane_domain::model::Router;
use serde_json::{json, Value};

#[derive(Subcommand, Debug)]
pub enum RouterCmd {
    /// List routers with their gateway and interfaces.
    List,
    /// Show a router.
    Show { router: String },
    /// Create a router (Tenant Administrator).
    Create {
        name: String,
        /// Data center name or id (default: the first).
        #[arg(long)]
        dc: Option<String>,
        /// Set a gateway to the data center's public IP pools at once.
        #[arg(long)]
        gateway: bool,
    },
    /// Delete a router without interfaces.
    Delete { router: String },
    /// Set the gateway to an external network's public IP pools (default:
    /// the data center's default external network).
    SetGateway {
        router: String,
        /// External network name or id.
        #[arg(long = "external-network")]
        network: Option<String>,
        /// Turn source NAT off.
        #[arg(long)]
        disable_snat: bool,
        /// A chosen external address (cloud admin only); repeatable.
        #[arg(long = "fixed-ip")]
        fixed_ips: Vec<String>,
    },
    /// Clear the gateway.
    ClearGateway { router: String },
    /// Connect a subnet (by its network's name or id, or --subnet) or a port.
    AddInterface {
        router: String,
        /// The network whose IPv4 subnet to connect.
        #[arg(long)]
        network: Option<String>,
        /// A subnet id.
        #[arg(long)]
        subnet: Option<String>,
        /// An existing unused port (interface) id.
        #[arg(long)]
        port: Option<String>,
    },
    /// Disconnect a subnet or port (the router's port is deleted).
    RemoveInterface {
        router: String,
        #[arg(long)]
        subnet: Option<String>,
        #[arg(long)]
        port: Option<String>,
    },
}

fn resolve_router(c: &Client, project: &str, want: &str) -> Result<Router> {
    let m: Vec<Router> = c
        .routers(project)?
        .into_iter()
        .filter(|r| r.id.to_string() == want || r.name == want)
        .collect();
    match m.len() {
        1 => Ok(m.into_iter().next().expect("one")),
        0 => bail!("Router {want} could not be found."),
        n => bail!("{n} routers are named {want}; use the id."),
    }
}

fn table(rs: &[Router]) -> Table {
    let mut t = Table::new(&["ID", "NAME", "GATEWAY", "SNAT", "INTERFACES"]);
    for r in rs {
        let (gw, snat) = match &r.gateway {
            Some(g) => (
                g.external_fixed_ips
                    .iter()
                    .map(|i| i.ip_address.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                g.enable_snat.to_string(),
            ),
            None => ("-".into(), "-".into()),
        };
        t.row(vec![
            r.id.to_string(),
            r.name.clone(),
            gw,
            snat,
            r.interfaces
                .iter()
                .map(|i| format!("{} ({})", i.ip_address, i.port_id))
                .collect::<Vec<_>>()
                .join(", "),
        ]);
    }
    t
}

pub fn router_cmd(ctx: &mut Ctx, c: RouterCmd) -> Result<()> {
    let p = ctx.project()?;
    let r = match c {
        RouterCmd::List => {
            let rs = ctx.client.routers(&p)?;
            return ctx.out(&rs, || table(&rs));
        }
        RouterCmd::Show { router } => resolve_router(&ctx.client, &p, &router)?,
        RouterCmd::Create { name, dc, gateway } => {
            let dc = resolve_dc(&ctx.client, dc.as_deref())?;
            let mut body = json!({"name": name, "data_center_id": dc});
            if gateway {
                body["gateway"] = json!({});
            }
            ctx.client.router_create(&p, &body)?
        }
        RouterCmd::Delete { router } => {
            let r = resolve_router(&ctx.client, &p, &router)?;
            ctx.client.router_delete(&p, &r.id.to_string())?;
            return ctx.out(&json!({"deleted": r.id}), || {
                let mut t = Table::new(&["DELETED"]);
                t.row(vec![r.id.to_string()]);
                t
            });
        }
        RouterCmd::SetGateway {
            router,
            network,
            disable_snat,
            fixed_ips,
        } => {
            let r = resolve_router(&ctx.client, &p, &router)?;
            let mut body = json!({"enable_snat": !disable_snat});
            if let Some(n) = network {
                body["network_id"] = json!(super::external::resolve_network(&ctx.client, &n)?.id);
            }
            if !fixed_ips.is_empty() {
                body["external_fixed_ips"] = Value::Array(
                    fixed_ips
                        .iter()
                        .map(|ip| json!({"ip_address": ip}))
                        .collect(),
                );
            }
            ctx.client
                .router_set_gateway(&p, &r.id.to_string(), &body)?
        }
        RouterCmd::ClearGateway { router } => {
            let r = resolve_router(&ctx.client, &p, &router)?;
            ctx.client.router_clear_gateway(&p, &r.id.to_string())?;
            ctx.client.router(&p, &r.id.to_string())?
        }
        RouterCmd::AddInterface {
            router,
            network,
            subnet,
            port,
        } => {
            let r = resolve_router(&ctx.client, &p, &router)?;
            let body = match (network, subnet, port) {
                (Some(n), None, None) => {
                    let n = resolve_network(&ctx.client, &p, &n)?;
                    let s = n
                        .subnets
                        .iter()
                        .find(|s| s.ip_version == 4)
                        .ok_or_else(|| anyhow!("Network {} has no IPv4 subnet.", n.network.name))?;
                    json!({"subnet_id": s.id})
                }
                (None, Some(s), None) => json!({"subnet_id": s}),
                (None, None, Some(port)) => json!({"port_id": port}),
                _ => bail!("Give one of --network, --subnet or --port."),
            };
            ctx.client
                .router_add_interface(&p, &r.id.to_string(), &body)?
        }
        RouterCmd::RemoveInterface {
            router,
            subnet,
            port,
        } => {
            let r = resolve_router(&ctx.client, &p, &router)?;
            let port = match (subnet, port) {
                (None, Some(port)) => port,
                (Some(s), None) => r
                    .interfaces
                    .iter()
                    .find(|i| i.subnet_id.to_string() == s)
                    .map(|i| i.port_id.to_string())
                    .ok_or_else(|| anyhow!("Router {} has no interface on subnet {s}.", r.id))?,
                _ => bail!("Give one of --subnet or --port."),
            };
            ctx.client
                .router_remove_interface(&p, &r.id.to_string(), &port)?;
            ctx.client.router(&p, &r.id.to_string())?
        }
    };
    ctx.out(&r, || table(std::slice::from_ref(&r)))
}
