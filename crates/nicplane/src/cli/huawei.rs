//! CLI for what the Huawei dialect added to the core: supplementary (VLAN)
//! interfaces under a parent interface, and AK/SK credentials for signing
//! requests to the Huawei listener. Both go through the native API with the
//! typed client, like every other client command.

use super::table::Table;
use super::{resolve_network, Ctx};
use anyhow::{anyhow, Result};
use clap::Subcommand;
use nicplane_client::Items;
use nicplane_domain::model::User;
use nicplane_service::credential::Credential;
use nicplane_service::supplementary::SupplementaryInterface;
use serde_json::json;

#[derive(Subcommand, Debug)]
pub enum SupplementaryCmd {
    /// List the supplementary interfaces of a parent interface.
    List {
        /// The parent (elastic) interface id.
        parent: String,
    },
    /// Create a supplementary interface on a parent interface; VLAN,
    /// addresses and MAC are chosen when not given.
    Create {
        /// The parent (elastic) interface id.
        parent: String,
        /// Network name or id (default: the parent's network).
        #[arg(long)]
        network: Option<String>,
        /// VLAN id 1-4094 (default: the lowest free on the parent).
        #[arg(long)]
        vlan: Option<u16>,
        /// A fixed IPv4 address inside the network's subnet.
        #[arg(long)]
        ip: Option<String>,
        /// Also take an IPv6 address.
        #[arg(long)]
        ipv6: bool,
        #[arg(long)]
        description: Option<String>,
        /// Validate only; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Create several supplementary interfaces on a parent interface at
    /// once (all or none), each with the lowest free VLAN and the next free
    /// addresses.
    BatchCreate {
        /// The parent (elastic) interface id.
        parent: String,
        /// How many, 1-20.
        #[arg(long)]
        count: u32,
        /// Network name or id (default: the parent's network).
        #[arg(long)]
        network: Option<String>,
        /// Also take IPv6 addresses.
        #[arg(long)]
        ipv6: bool,
        #[arg(long)]
        description: Option<String>,
        /// Validate only; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Move supplementary interfaces to another parent interface, all or
    /// none; each keeps its VLAN id.
    Migrate {
        /// Supplementary interface ids.
        #[arg(required = true)]
        ids: Vec<String>,
        /// The new parent (elastic) interface id.
        #[arg(long)]
        parent: String,
    },
    /// Add a tag to a supplementary interface, or change its value.
    Tag {
        id: String,
        key: String,
        #[arg(default_value = "")]
        value: String,
    },
    /// Remove a tag from a supplementary interface.
    Untag { id: String, key: String },
    /// Every tag key on the project's supplementary interfaces with its values.
    Tags,
    /// Show a supplementary interface.
    Show { id: String },
    /// Detach a supplementary interface from its parent (it keeps its addresses).
    Detach { id: String },
    /// Attach an unbound supplementary interface to a parent interface.
    Attach {
        id: String,
        #[arg(long)]
        parent: String,
        #[arg(long)]
        vlan: Option<u16>,
    },
    /// Delete a supplementary interface and release its addresses.
    Delete { id: String },
}

#[derive(Subcommand, Debug)]
pub enum CredentialCmd {
    /// Create an AK/SK pair; the secret is shown only now.
    Create {
        /// User name or id (default: you; others need the cloud admin).
        #[arg(long)]
        user: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List access keys (without secrets).
    List {
        #[arg(long)]
        user: Option<String>,
    },
    /// Delete (revoke) an access key.
    Delete {
        access_key: String,
        #[arg(long)]
        user: Option<String>,
    },
}

fn sni_table(items: &[SupplementaryInterface]) -> Table {
    let mut t = Table::new(&[
        "ID",
        "PARENT",
        "VLAN",
        "STATE",
        "IP ADDRESSES",
        "MAC",
        "NETWORK",
    ]);
    for s in items {
        let i = &s.interface;
        t.row(vec![
            i.id.to_string(),
            i.parent_id
                .map(|p| p.to_string())
                .unwrap_or_else(|| "-".into()),
            i.vlan_id
                .map(|v| v.to_string())
                .unwrap_or_else(|| "-".into()),
            if s.is_bound() { "NORMAL" } else { "UNBOUND" }.into(),
            i.fixed_ips
                .iter()
                .map(|f| f.ip_address.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            i.mac_address.to_string(),
            i.network_name.clone(),
        ]);
    }
    t
}

/// `nicplane supplementary ...`
pub fn supplementary_cmd(ctx: &mut Ctx, c: SupplementaryCmd) -> Result<()> {
    let p = ctx.project()?;
    let one =
        |ctx: &Ctx, s: SupplementaryInterface| ctx.out(&s, || sni_table(std::slice::from_ref(&s)));
    match c {
        SupplementaryCmd::List { parent } => {
            let items: Vec<SupplementaryInterface> = ctx.client.all(&format!(
                "/v1/projects/{p}/interfaces/{parent}/supplementary-interfaces"
            ))?;
            ctx.out(&items, || sni_table(&items))
        }
        SupplementaryCmd::Create {
            parent,
            network,
            vlan,
            ip,
            ipv6,
            description,
            dry_run,
        } => {
            let network_id = parent_network(ctx, &p, &parent, network)?;
            let mut body = json!({"network_id": network_id, "ipv6_enable": ipv6});
            if let Some(v) = vlan {
                body["vlan_id"] = json!(v);
            }
            if let Some(ip) = ip {
                body["ip_address"] = json!(ip);
            }
            if let Some(d) = description {
                body["description"] = json!(d);
            }
            let path = format!(
                "/v1/projects/{p}/interfaces/{parent}/supplementary-interfaces{}",
                if dry_run { "?dry_run=true" } else { "" }
            );
            let s: SupplementaryInterface = ctx.client.post(&path, &body)?;
            one(ctx, s)
        }
        SupplementaryCmd::BatchCreate {
            parent,
            count,
            network,
            ipv6,
            description,
            dry_run,
        } => {
            let network_id = parent_network(ctx, &p, &parent, network)?;
            let mut spec = json!({"network_id": network_id, "ipv6_enable": ipv6});
            if let Some(d) = description {
                spec["description"] = json!(d);
            }
            let path = format!(
                "/v1/projects/{p}/interfaces/{parent}/supplementary-interfaces/batch{}",
                if dry_run { "?dry_run=true" } else { "" }
            );
            let r: Items<SupplementaryInterface> = ctx
                .client
                .post(&path, &json!({"count": count, "interface": spec}))?;
            ctx.out(&r.items, || sni_table(&r.items))
        }
        SupplementaryCmd::Migrate { ids, parent } => {
            let r: Items<SupplementaryInterface> = ctx.client.post(
                &format!("/v1/projects/{p}/interfaces/{parent}/supplementary-interfaces/migrate"),
                &json!({ "ids": ids }),
            )?;
            ctx.out(&r.items, || sni_table(&r.items))
        }
        SupplementaryCmd::Tag { id, key, value } => {
            let s = ctx.client.put(
                &format!("/v1/projects/{p}/supplementary-interfaces/{id}/tags/{key}"),
                &json!({ "value": value }),
            )?;
            one(ctx, s)
        }
        SupplementaryCmd::Untag { id, key } => {
            ctx.client.supplementary_tag_delete(&p, &id, &key)?;
            Ok(())
        }
        SupplementaryCmd::Tags => {
            let summary = ctx.client.supplementary_tag_summary(&p)?;
            ctx.out(&summary, || {
                let mut t = Table::new(&["KEY", "VALUES"]);
                for (k, v) in &summary {
                    t.row(vec![k.clone(), v.join(", ")]);
                }
                t
            })
        }
        SupplementaryCmd::Show { id } => {
            let s = ctx
                .client
                .get(&format!("/v1/projects/{p}/supplementary-interfaces/{id}"))?;
            one(ctx, s)
        }
        SupplementaryCmd::Detach { id } => {
            let s = ctx.client.post(
                &format!("/v1/projects/{p}/supplementary-interfaces/{id}/detach"),
                &json!({}),
            )?;
            one(ctx, s)
        }
        SupplementaryCmd::Attach { id, parent, vlan } => {
            let mut body = json!({"parent_id": parent});
            if let Some(v) = vlan {
                body["vlan_id"] = json!(v);
            }
            let s = ctx.client.post(
                &format!("/v1/projects/{p}/supplementary-interfaces/{id}/attach"),
                &body,
            )?;
            one(ctx, s)
        }
        SupplementaryCmd::Delete { id } => {
            ctx.client
                .delete(&format!("/v1/projects/{p}/supplementary-interfaces/{id}"))?;
            Ok(())
        }
    }
}

/// The network a new supplementary interface takes its addresses from: the
/// one named, else the parent's.
fn parent_network(ctx: &Ctx, p: &str, parent: &str, network: Option<String>) -> Result<String> {
    Ok(match network {
        Some(n) => resolve_network(&ctx.client, p, &n)?.network.id.to_string(),
        None => {
            let parent: nicplane_domain::model::Interface = ctx
                .client
                .get(&format!("/v1/projects/{p}/interfaces/{parent}"))?;
            parent.network_id.to_string()
        }
    })
}

/// The user a credential command acts for: a name or id, else the caller.
fn user_id(ctx: &Ctx, want: Option<&str>) -> Result<String> {
    let Some(want) = want else {
        let w = ctx.client.whoami()?;
        return w["user"]["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("The server did not say who you are."));
    };
    if want.parse::<nicplane_domain::ids::UserId>().is_ok() {
        return Ok(want.to_string());
    }
    let users: Vec<User> = ctx.client.users()?;
    users
        .iter()
        .find(|u| u.name == want)
        .map(|u| u.id.to_string())
        .ok_or_else(|| anyhow!("User {want} could not be found."))
}

fn credential_table(items: &[Credential]) -> Table {
    let mut t = Table::new(&[
        "ACCESS KEY",
        "SECRET KEY",
        "STATUS",
        "CREATED",
        "DESCRIPTION",
    ]);
    for c in items {
        t.row(vec![
            c.access.clone(),
            c.secret.clone().unwrap_or_else(|| "-".into()),
            c.status.clone(),
            c.created_at.to_string(),
            c.description.clone(),
        ]);
    }
    t
}

/// `nicplane credential ...`
pub fn credential_cmd(ctx: &mut Ctx, c: CredentialCmd) -> Result<()> {
    match c {
        CredentialCmd::Create { user, description } => {
            let u = user_id(ctx, user.as_deref())?;
            let cred: Credential = ctx.client.post(
                &format!("/v1/users/{u}/credentials"),
                &json!({"description": description}),
            )?;
            ctx.out(&cred, || credential_table(std::slice::from_ref(&cred)))
        }
        CredentialCmd::List { user } => {
            let u = user_id(ctx, user.as_deref())?;
            let creds: Vec<Credential> = ctx.client.get(&format!("/v1/users/{u}/credentials"))?;
            ctx.out(&creds, || credential_table(&creds))
        }
        CredentialCmd::Delete { access_key, user } => {
            let u = user_id(ctx, user.as_deref())?;
            ctx.client
                .delete(&format!("/v1/users/{u}/credentials/{access_key}"))?;
            Ok(())
        }
    }
}
