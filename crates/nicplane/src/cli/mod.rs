//! The client subcommands. `nicplane login` stores the URL, token and
//! current project in a small JSON file; every other command reads it.
//! Output is a table by default and JSON with `--json`; a failure prints one
//! line (the API's message) and exits non-zero.

mod external;
mod huawei;
mod router;
mod table;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use nicplane_client::{Client, NetworkDetail, VmDetail};
use nicplane_domain::model::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::PathBuf;
use table::Table;

/// Options every client command takes.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// nicplane's URL (default: the one saved by `login`, else http://127.0.0.1:8080).
    #[arg(long, global = true, env = "NICPLANE_URL")]
    pub url: Option<String>,
    /// Project name or id (default: the one saved by `login` or `project use`).
    #[arg(long, global = true, env = "NICPLANE_PROJECT")]
    pub project: Option<String>,
    /// Where `login` keeps the session.
    #[arg(long, global = true, env = "NICPLANE_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum ClientCommand {
    /// Log in and remember the session.
    Login {
        /// User name.
        #[arg(long, short)]
        user: String,
        /// Password (or set NICPLANE_PASSWORD).
        #[arg(long, env = "NICPLANE_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Forget the session and revoke its token.
    Logout,
    /// Show the user and their roles.
    Whoami,
    /// Change your own password (your other sessions are logged out).
    Password {
        /// Your current password (or set NICPLANE_PASSWORD).
        #[arg(long, env = "NICPLANE_PASSWORD", hide_env_values = true)]
        current: String,
        /// The new password (or set NICPLANE_NEW_PASSWORD).
        #[arg(long = "new", env = "NICPLANE_NEW_PASSWORD", hide_env_values = true)]
        new_password: String,
    },
    /// Projects.
    #[command(subcommand)]
    Project(ProjectCmd),
    /// Data centers.
    #[command(subcommand, name = "dc")]
    DataCenter(DcCmd),
    /// External networks: public IP pools grouped, seen by every project.
    #[command(subcommand, name = "external-network")]
    ExternalNetwork(external::ExternalNetworkCmd),
    /// Public IP pools of the external networks (`create`: cloud admin).
    #[command(subcommand)]
    Pool(external::PoolCmd),
    /// Users (cloud admin).
    #[command(subcommand)]
    User(UserCmd),
    /// Networks of the current project.
    #[command(subcommand)]
    Network(NetworkCmd),
    /// Routers of the current project.
    #[command(subcommand)]
    Router(router::RouterCmd),
    /// Subnets of the current project's networks (several per network, of
    /// either IP version).
    #[command(subcommand)]
    Subnet(SubnetCmd),
    /// VMs of the current project.
    #[command(subcommand)]
    Vm(VmCmd),
    /// Network interfaces of a VM.
    #[command(subcommand)]
    Nic(NicCmd),
    /// Public IPs.
    #[command(subcommand, name = "public-ip")]
    PublicIp(PublicIpCmd),
    /// Security groups of the current project.
    #[command(subcommand, name = "security-group")]
    SecurityGroup(SgCmd),
    /// Supplementary (VLAN) interfaces of the current project.
    #[command(subcommand)]
    Supplementary(huawei::SupplementaryCmd),
    /// AK/SK credentials (sign requests to the Huawei listener).
    #[command(subcommand)]
    Credential(huawei::CredentialCmd),
    /// Quotas of the current project (`set`: cloud admin).
    #[command(subcommand)]
    Quota(QuotaCmd),
    /// Hosts whose agents realize VMs (cloud admin).
    #[command(subcommand)]
    Host(HostCmd),
    /// The change feed: who changed what (the current project's events, or
    /// with --all every project's the user may see; the cloud admin's --all
    /// is the whole cloud).
    Events {
        /// Show the events after this sequence number.
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// At most this many events per page (1 to 1000).
        #[arg(long)]
        limit: Option<u32>,
        /// Keep waiting for new events and print them as they come.
        #[arg(long)]
        follow: bool,
        /// Every project's events, not only the current project's.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum HostCmd {
    /// List hosts with their VM counts and whether their agent is live.
    List,
    /// Register a host; prints its agent credential (shown only once).
    Create {
        name: String,
        /// Data center name or id (default: the first).
        #[arg(long = "data-center", alias = "dc")]
        data_center: Option<String>,
    },
}

/// How long `nicplane events --follow` waits in one request (under the
/// client's request timeout).
const FOLLOW_WAIT_SECS: u64 = 30;

fn events_table(events: &[nicplane_domain::feed::Event]) -> Table {
    let mut t = Table::new(&["SEQ", "TIME", "USER", "VIA", "ACTION", "KIND", "ID"]);
    for e in events {
        t.row(vec![
            e.seq.to_string(),
            e.at.clone(),
            e.actor.user_name.clone(),
            e.actor.dialect.clone(),
            e.action.clone(),
            e.kind.clone(),
            e.resource_id.clone(),
        ]);
    }
    t
}

fn events_cmd(
    ctx: &mut Ctx,
    after: u64,
    limit: Option<u32>,
    follow: bool,
    all: bool,
) -> Result<()> {
    let project = if all { None } else { Some(ctx.project()?) };
    let page = ctx.client.events(after, limit, None, project.as_deref())?;
    if page.truncated {
        eprintln!(
            "note: events after {after} were removed by the retention; the oldest kept is {}",
            page.oldest.unwrap_or_default()
        );
    }
    if !follow {
        return ctx.out(&page, || events_table(&page.events));
    }
    let mut next = page.next;
    let mut events = page.events;
    loop {
        for e in &events {
            if ctx.g.json {
                println!("{}", serde_json::to_string(e)?);
            } else {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    e.seq,
                    e.at,
                    e.actor.user_name,
                    e.actor.dialect,
                    e.action,
                    e.kind,
                    e.resource_id
                );
            }
        }
        let page = ctx
            .client
            .events(next, limit, Some(FOLLOW_WAIT_SECS), project.as_deref())?;
        next = page.next;
        events = page.events;
    }
}

#[derive(Subcommand, Debug)]
pub enum QuotaCmd {
    /// Show the limits and usage.
    Show,
    /// Set limits (-1 is unlimited); the others stay as they are.
    Set(QuotaLimits),
    /// Put every limit back to the deployment default.
    Reset,
}

/// Limits `nicplane quota set` may change, named as in `openstack quota set`.
#[derive(Args, Debug)]
pub struct QuotaLimits {
    #[arg(long, allow_negative_numbers = true)]
    pub networks: Option<i64>,
    #[arg(long, allow_negative_numbers = true)]
    pub subnets: Option<i64>,
    #[arg(long, allow_negative_numbers = true)]
    pub ports: Option<i64>,
    #[arg(
        long = "floating-ips",
        visible_alias = "public-ips",
        allow_negative_numbers = true
    )]
    pub floating_ips: Option<i64>,
    #[arg(long, allow_negative_numbers = true)]
    pub secgroups: Option<i64>,
    #[arg(long = "secgroup-rules", allow_negative_numbers = true)]
    pub secgroup_rules: Option<i64>,
    #[arg(long, allow_negative_numbers = true)]
    pub routers: Option<i64>,
}

#[derive(Subcommand, Debug)]
pub enum ProjectCmd {
    /// List the projects you belong to.
    List,
    /// Create a project (cloud admin).
    Create { name: String },
    /// Make a project the current one.
    Use { project: String },
    /// Give a user a role (admin, power_user, reader) in the current project.
    AddMember { user: String, role: String },
    /// List the current project's members.
    Members,
    /// Delete a project by name or id (cloud admin). Refused while it holds
    /// anything but its Default Networks and default security group.
    Delete { project: String },
}

#[derive(Subcommand, Debug)]
pub enum DcCmd {
    /// List data centers.
    List,
    /// Create a data center (cloud admin).
    Create { name: String },
}

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// List users (cloud admin).
    List,
    /// Create a user (cloud admin).
    Create {
        name: String,
        #[arg(long, env = "NICPLANE_NEW_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Disable a user: their tokens and access keys stop working at once.
    Disable { user: String },
    /// Re-enable a disabled user.
    Enable { user: String },
    /// Delete a user with their memberships, tokens and access keys.
    Delete { user: String },
    /// Reset a user's password (cloud admin); their tokens are revoked.
    SetPassword {
        user: String,
        #[arg(long, env = "NICPLANE_NEW_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum NetworkCmd {
    /// List networks and subnets with free-address counts.
    List,
    /// Create a network (Tenant Administrator).
    Create {
        name: String,
        /// Data center name or id (default: the first).
        #[arg(long)]
        dc: Option<String>,
        /// standard (L3) or custom (L2).
        #[arg(long, default_value = "standard")]
        kind: String,
        /// A subnet, e.g. 10.30.0.0/24 or fd00:30::/64; repeat for several.
        #[arg(long)]
        cidr: Vec<String>,
        /// IPv6 subnet, e.g. fd00:30::/64; repeat for several.
        #[arg(long)]
        ipv6_cidr: Vec<String>,
    },
    /// Delete a network without interfaces.
    Delete { network: String },
}

#[derive(Subcommand, Debug)]
pub enum SubnetCmd {
    /// Add a subnet to a network (Tenant Administrator); CIDRs of one
    /// network may not overlap.
    Add {
        network: String,
        cidr: String,
        #[arg(long)]
        name: Option<String>,
        /// A DNS server; repeat for several (in order, at most 5).
        #[arg(long = "dns-nameserver")]
        dns_nameservers: Vec<String>,
    },
    /// Change a subnet's name, description or DNS servers.
    Set {
        subnet: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// The DNS servers, replacing the current ones; repeat for several.
        #[arg(long = "dns-nameserver")]
        dns_nameservers: Vec<String>,
        /// Remove every DNS server.
        #[arg(long, conflicts_with = "dns_nameservers")]
        no_dns_nameservers: bool,
    },
    /// Delete a subnet without allocated addresses.
    Delete { subnet: String },
}

#[derive(Subcommand, Debug)]
pub enum VmCmd {
    /// List VMs.
    List,
    /// Show a VM and its network interfaces.
    Show { vm: String },
    /// Create a VM (attached to the Default Network).
    Create {
        name: String,
        #[arg(long)]
        dc: Option<String>,
        /// linux or windows.
        #[arg(long, default_value = "linux")]
        os: String,
        /// Create it stopped.
        #[arg(long)]
        stopped: bool,
    },
    /// Start a VM.
    Start { vm: String },
    /// Stop a VM.
    Stop { vm: String },
    /// Delete a VM.
    Delete { vm: String },
}

#[derive(Subcommand, Debug)]
pub enum NicCmd {
    /// List a VM's interfaces.
    List { vm: String },
    /// Add an interface on a network (same data center; max 5 per VM).
    Add {
        vm: String,
        #[arg(long)]
        network: String,
        /// A fixed IPv4 or IPv6 address inside the network's subnet.
        #[arg(long)]
        ip: Option<String>,
        /// Validate only; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Remove an interface (never the primary).
    Remove { vm: String, interface: String },
}

#[derive(Subcommand, Debug)]
pub enum PublicIpCmd {
    /// List the project's public IPs.
    List,
    /// Allocate a public IP on an interface of a standard network.
    Allocate { vm: String, interface: String },
    /// Release an interface's public IP (permanent).
    Release { vm: String, interface: String },
}

#[derive(Subcommand, Debug)]
pub enum SgCmd {
    /// List security groups.
    List,
}

/// What `login` saves.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Session {
    url: String,
    token: Option<String>,
    project: Option<String>,
}

fn config_path(g: &Global) -> PathBuf {
    if let Some(p) = &g.config {
        return p.clone();
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("nicplane").join("cli.json")
}

fn load(g: &Global) -> Session {
    std::fs::read_to_string(config_path(g))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

fn save(g: &Global, s: &Session) -> Result<()> {
    let p = config_path(g);
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    std::fs::write(&p, serde_json::to_string_pretty(s)?)
        .with_context(|| format!("cannot write {}", p.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
    }
    Ok(())
}

/// Default URL of the server.
const DEFAULT_URL: &str = "http://127.0.0.1:8080";

struct Ctx {
    g: Global,
    session: Session,
    client: Client,
}

impl Ctx {
    fn new(g: Global) -> Self {
        let session = load(&g);
        let url = g
            .url
            .clone()
            .or_else(|| (!session.url.is_empty()).then(|| session.url.clone()))
            .unwrap_or_else(|| DEFAULT_URL.to_string());
        let mut client = Client::new(&url);
        if let Ok(t) = std::env::var("NICPLANE_TOKEN") {
            client = client.with_token(&t);
        } else if let Some(t) = &session.token {
            client = client.with_token(t);
        }
        Ctx { g, session, client }
    }

    /// The current project's id (resolving a name).
    fn project(&self) -> Result<String> {
        let want = self
            .g
            .project
            .clone()
            .or_else(|| self.session.project.clone())
            .ok_or_else(|| {
                anyhow!("No project chosen: pass --project or run 'nicplane project use NAME'.")
            })?;
        resolve_project(&self.client, &want)
    }

    fn out<T: Serialize>(&self, value: &T, table: impl FnOnce() -> Table) -> Result<()> {
        if self.g.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        } else {
            print!("{}", table());
        }
        Ok(())
    }
}

fn resolve_project(c: &Client, want: &str) -> Result<String> {
    let projects = c.projects()?;
    projects
        .iter()
        .find(|p| p.id.as_str() == want || p.name == want)
        .map(|p| p.id.to_string())
        .ok_or_else(|| anyhow!("Project {want} could not be found."))
}

fn resolve_dc(c: &Client, want: Option<&str>) -> Result<String> {
    let dcs = c.data_centers()?;
    match want {
        Some(w) => dcs
            .iter()
            .find(|d| d.id.to_string() == w || d.name == w)
            .map(|d| d.id.to_string())
            .ok_or_else(|| anyhow!("Data center {w} could not be found.")),
        None => dcs
            .first()
            .map(|d| d.id.to_string())
            .ok_or_else(|| anyhow!("There is no data center.")),
    }
}

fn resolve_vm(c: &Client, project: &str, want: &str) -> Result<VmDetail> {
    if let Ok(v) = c.vm(project, want) {
        return Ok(v);
    }
    let matches: Vec<VmDetail> = c.all::<VmDetail>(&format!(
        "/v1/projects/{project}/vms?name={}",
        urlencode(want)
    ))?;
    match matches.len() {
        1 => Ok(matches.into_iter().next().expect("one")),
        0 => bail!("VM {want} could not be found."),
        n => bail!("{n} VMs are named {want}; use the id."),
    }
}

fn resolve_network(c: &Client, project: &str, want: &str) -> Result<NetworkDetail> {
    let nets = c.networks(project)?;
    let m: Vec<NetworkDetail> = nets
        .into_iter()
        .filter(|n| n.network.id.to_string() == want || n.network.name == want)
        .collect();
    match m.len() {
        1 => Ok(m.into_iter().next().expect("one")),
        0 => bail!("Network {want} could not be found."),
        n => bail!("{n} networks are named {want}; use the id."),
    }
}

/// A subnet of the project's networks by id, name or CIDR.
fn resolve_subnet(c: &Client, project: &str, want: &str) -> Result<Subnet> {
    let m: Vec<Subnet> = c
        .networks(project)?
        .into_iter()
        .flat_map(|n| n.subnets)
        .filter(|s| s.id.to_string() == want || s.name == want || s.cidr.to_string() == want)
        .collect();
    match m.len() {
        1 => Ok(m.into_iter().next().expect("one")),
        0 => bail!("Subnet {want} could not be found."),
        n => bail!("{n} subnets are named {want}; use the id."),
    }
}

fn subnet_table(s: &Subnet) -> Table {
    let mut t = Table::new(&["ID", "NAME", "NETWORK", "CIDR", "GATEWAY", "DNS", "FREE"]);
    t.row(vec![
        s.id.to_string(),
        s.name.clone(),
        s.network_id.to_string(),
        s.cidr.to_string(),
        s.gateway_ip.map(|g| g.to_string()).unwrap_or_default(),
        s.dns_nameservers
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        s.free_addresses.clone(),
    ]);
    t
}

fn subnet_cmd(ctx: &mut Ctx, cmd: SubnetCmd) -> Result<()> {
    let p = ctx.project()?;
    match cmd {
        SubnetCmd::Add {
            network,
            cidr,
            name,
            dns_nameservers,
        } => {
            let n = resolve_network(&ctx.client, &p, &network)?;
            let mut body = json!({"cidr": cidr, "dns_nameservers": dns_nameservers});
            if let Some(name) = name {
                body["name"] = json!(name);
            }
            let s = ctx
                .client
                .subnet_create(&p, &n.network.id.to_string(), &body)?;
            ctx.out(&s, || subnet_table(&s))
        }
        SubnetCmd::Set {
            subnet,
            name,
            description,
            dns_nameservers,
            no_dns_nameservers,
        } => {
            let sub = resolve_subnet(&ctx.client, &p, &subnet)?;
            let mut body = json!({});
            if let Some(name) = name {
                body["name"] = json!(name);
            }
            if let Some(d) = description {
                body["description"] = json!(d);
            }
            if no_dns_nameservers || !dns_nameservers.is_empty() {
                body["dns_nameservers"] = json!(dns_nameservers);
            }
            let s = ctx.client.subnet_update(&p, &sub.id.to_string(), &body)?;
            ctx.out(&s, || subnet_table(&s))
        }
        SubnetCmd::Delete { subnet } => {
            let sub = resolve_subnet(&ctx.client, &p, &subnet)?;
            ctx.client.subnet_delete(&p, &sub.id.to_string())?;
            Ok(())
        }
    }
}

fn resolve_nic(vm: &VmDetail, want: &str) -> Result<Interface> {
    vm.interfaces
        .iter()
        .find(|i| {
            i.id.to_string() == want
                || i.mac_address.to_string() == want
                || i.fixed_ips.iter().any(|f| f.ip_address.to_string() == want)
        })
        .cloned()
        .ok_or_else(|| anyhow!("VM {} has no network interface {want}.", vm.vm.name))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn ips(i: &Interface) -> String {
    i.fixed_ips
        .iter()
        .map(|f| f.ip_address.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn nic_table(ifaces: &[Interface]) -> Table {
    let mut t = Table::new(&[
        "ID",
        "NETWORK",
        "PRIVATE IP",
        "PUBLIC IP",
        "PRIMARY",
        "MAC",
        "STATUS",
    ]);
    for i in ifaces {
        t.row(vec![
            i.id.to_string(),
            i.network_name.clone(),
            ips(i),
            i.public_ip
                .map(|p| p.to_string())
                .unwrap_or_else(|| "-".into()),
            if i.primary { "yes".into() } else { "".into() },
            i.mac_address.to_string(),
            i.status.as_str().to_uppercase(),
        ]);
    }
    t
}

fn vm_table(vms: &[VmDetail]) -> Table {
    let mut t = Table::new(&[
        "ID",
        "NAME",
        "OS",
        "POWER",
        "NICS",
        "PRIMARY IP",
        "PUBLIC IP",
    ]);
    for v in vms {
        let primary = v.interfaces.iter().find(|i| i.primary);
        t.row(vec![
            v.vm.id.to_string(),
            v.vm.name.clone(),
            v.vm.os_type.to_string(),
            v.vm.power_state.to_string(),
            v.interfaces.len().to_string(),
            primary
                .and_then(|i| i.ipv4())
                .map(|a| a.to_string())
                .unwrap_or_default(),
            v.interfaces
                .iter()
                .filter_map(|i| i.public_ip)
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ]);
    }
    t
}

/// Run a client command; returns the exit code.
pub fn run(cmd: ClientCommand, g: Global) -> i32 {
    match execute(cmd, g) {
        Ok(()) => 0,
        Err(e) => {
            let msg = match e.downcast_ref::<nicplane_client::ClientError>() {
                Some(ce) => ce.message(),
                None => format!("{e:#}"),
            };
            eprintln!("error: {msg}");
            1
        }
    }
}

/// A user's id from their name or id.
fn user_id(ctx: &Ctx, user: &str) -> Result<String> {
    let users = ctx.client.users()?;
    users
        .iter()
        .find(|u| u.name == user || u.id.to_string() == user)
        .map(|u| u.id.to_string())
        .ok_or_else(|| anyhow!("User {user} could not be found."))
}

fn user_set_enabled(ctx: &mut Ctx, user: &str, enabled: bool) -> Result<()> {
    let id = user_id(ctx, user)?;
    let u = ctx.client.user_set_enabled(&id, enabled)?;
    ctx.out(&u, || {
        let mut t = Table::new(&["ID", "NAME", "ENABLED"]);
        t.row(vec![
            u.id.to_string(),
            u.name.clone(),
            u.enabled.to_string(),
        ]);
        t
    })
}

fn execute(cmd: ClientCommand, g: Global) -> Result<()> {
    let mut ctx = Ctx::new(g);
    match cmd {
        ClientCommand::Login { user, password } => {
            let login = ctx.client.login(&user, &password)?;
            ctx.session.url = ctx.client.base().to_string();
            ctx.session.token = Some(login.token.clone());
            if ctx.session.project.is_none() || ctx.g.project.is_some() {
                ctx.session.project = ctx
                    .g
                    .project
                    .clone()
                    .or_else(|| login.memberships.first().map(|m| m.project_name.clone()));
            }
            save(&ctx.g, &ctx.session)?;
            let shown = json!({"user": login.user.name, "project": ctx.session.project, "expires_at": login.expires_at});
            ctx.out(&shown, || {
                let mut t = Table::new(&["USER", "PROJECT"]);
                t.row(vec![
                    login.user.name.clone(),
                    ctx.session.project.clone().unwrap_or_default(),
                ]);
                t
            })
        }
        ClientCommand::Logout => {
            let _ = ctx.client.logout();
            ctx.session.token = None;
            save(&ctx.g, &ctx.session)
        }
        ClientCommand::Whoami => {
            let w = ctx.client.whoami()?;
            ctx.out(&w, || {
                let mut t = Table::new(&["USER", "PROJECT", "ROLE"]);
                let name = w["user"]["name"].as_str().unwrap_or_default().to_string();
                for m in w["memberships"].as_array().cloned().unwrap_or_default() {
                    t.row(vec![
                        name.clone(),
                        m["project_name"].as_str().unwrap_or_default().into(),
                        m["role"].as_str().unwrap_or_default().into(),
                    ]);
                }
                if w["user"]["is_cloud_admin"].as_bool() == Some(true) {
                    t.row(vec![name.clone(), "*".into(), "cloud admin".into()]);
                }
                t
            })
        }
        ClientCommand::Password {
            current,
            new_password,
        } => {
            ctx.client.password_change(&current, &new_password)?;
            ctx.out(&json!({"password": "changed"}), || {
                let mut t = Table::new(&["PASSWORD"]);
                t.row(vec!["changed".into()]);
                t
            })
        }
        ClientCommand::Project(c) => project_cmd(&mut ctx, c),
        ClientCommand::DataCenter(c) => match c {
            DcCmd::List => {
                let dcs = ctx.client.data_centers()?;
                ctx.out(&dcs, || {
                    let mut t = Table::new(&["ID", "NAME"]);
                    for d in &dcs {
                        t.row(vec![d.id.to_string(), d.name.clone()]);
                    }
                    t
                })
            }
            DcCmd::Create { name } => {
                let d = ctx.client.data_center_create(&name)?;
                ctx.out(&d, || {
                    let mut t = Table::new(&["ID", "NAME"]);
                    t.row(vec![d.id.to_string(), d.name.clone()]);
                    t
                })
            }
        },
        ClientCommand::User(c) => match c {
            UserCmd::List => {
                let us = ctx.client.users()?;
                ctx.out(&us, || {
                    let mut t = Table::new(&["ID", "NAME", "CLOUD ADMIN", "ENABLED"]);
                    for u in &us {
                        t.row(vec![
                            u.id.to_string(),
                            u.name.clone(),
                            u.is_cloud_admin.to_string(),
                            u.enabled.to_string(),
                        ]);
                    }
                    t
                })
            }
            UserCmd::Create { name, password } => {
                let u = ctx.client.user_create(&name, &password)?;
                ctx.out(&u, || {
                    let mut t = Table::new(&["ID", "NAME"]);
                    t.row(vec![u.id.to_string(), u.name.clone()]);
                    t
                })
            }
            UserCmd::Disable { user } => user_set_enabled(&mut ctx, &user, false),
            UserCmd::Enable { user } => user_set_enabled(&mut ctx, &user, true),
            UserCmd::Delete { user } => {
                let id = user_id(&ctx, &user)?;
                ctx.client.user_delete(&id)?;
                ctx.out(&json!({"deleted": id}), || {
                    let mut t = Table::new(&["DELETED"]);
                    t.row(vec![id.clone()]);
                    t
                })
            }
            UserCmd::SetPassword { user, password } => {
                let id = user_id(&ctx, &user)?;
                ctx.client.user_set_password(&id, &password, None)?;
                ctx.out(&json!({"user": id, "password": "reset"}), || {
                    let mut t = Table::new(&["USER", "PASSWORD"]);
                    t.row(vec![user.clone(), "reset".into()]);
                    t
                })
            }
        },
        ClientCommand::Network(c) => network_cmd(&mut ctx, c),
        ClientCommand::Router(c) => router::router_cmd(&mut ctx, c),
        ClientCommand::ExternalNetwork(c) => external::external_network_cmd(&mut ctx, c),
        ClientCommand::Pool(c) => external::pool_cmd(&mut ctx, c),
        ClientCommand::Host(c) => host_cmd(&mut ctx, c),
        ClientCommand::Subnet(c) => subnet_cmd(&mut ctx, c),
        ClientCommand::Vm(c) => vm_cmd(&mut ctx, c),
        ClientCommand::Nic(c) => nic_cmd(&mut ctx, c),
        ClientCommand::PublicIp(c) => public_ip_cmd(&mut ctx, c),
        ClientCommand::Supplementary(c) => huawei::supplementary_cmd(&mut ctx, c),
        ClientCommand::Credential(c) => huawei::credential_cmd(&mut ctx, c),
        ClientCommand::Quota(c) => quota_cmd(&mut ctx, c),
        ClientCommand::Events {
            after,
            limit,
            follow,
            all,
        } => events_cmd(&mut ctx, after, limit, follow, all),
        ClientCommand::SecurityGroup(SgCmd::List) => {
            let p = ctx.project()?;
            let sgs = ctx.client.security_groups(&p)?;
            ctx.out(&sgs, || {
                let mut t = Table::new(&["ID", "NAME", "RULES", "DEFAULT"]);
                for s in &sgs {
                    t.row(vec![
                        s.id.to_string(),
                        s.name.clone(),
                        s.rules.len().to_string(),
                        s.is_default.to_string(),
                    ]);
                }
                t
            })
        }
    }
}

fn project_cmd(ctx: &mut Ctx, c: ProjectCmd) -> Result<()> {
    match c {
        ProjectCmd::List => {
            let ps = ctx.client.projects()?;
            let current = ctx.session.project.clone().unwrap_or_default();
            ctx.out(&ps, || {
                let mut t = Table::new(&["ID", "NAME", "CURRENT"]);
                for p in &ps {
                    let cur = p.name == current || p.id.as_str() == current;
                    t.row(vec![
                        p.id.to_string(),
                        p.name.clone(),
                        if cur { "*".into() } else { "".into() },
                    ]);
                }
                t
            })
        }
        ProjectCmd::Create { name } => {
            let p = ctx.client.project_create(&name)?;
            ctx.out(&p, || {
                let mut t = Table::new(&["ID", "NAME"]);
                t.row(vec![p.id.to_string(), p.name.clone()]);
                t
            })
        }
        ProjectCmd::Use { project } => {
            let id = resolve_project(&ctx.client, &project)?;
            ctx.session.project = Some(id.clone());
            if ctx.session.url.is_empty() {
                ctx.session.url = ctx.client.base().to_string();
            }
            save(&ctx.g, &ctx.session)?;
            ctx.out(&json!({"project": id}), || {
                let mut t = Table::new(&["PROJECT"]);
                t.row(vec![id.clone()]);
                t
            })
        }
        ProjectCmd::AddMember { user, role } => {
            let p = ctx.project()?;
            let users = ctx.client.users()?;
            let u = users
                .iter()
                .find(|u| u.name == user || u.id.to_string() == user)
                .ok_or_else(|| anyhow!("User {user} could not be found."))?;
            let m = ctx.client.member_set(&p, &u.id.to_string(), &role)?;
            ctx.out(&m, || member_table(std::slice::from_ref(&m)))
        }
        ProjectCmd::Members => {
            let p = ctx.project()?;
            let ms = ctx.client.members(&p)?;
            ctx.out(&ms, || member_table(&ms))
        }
        ProjectCmd::Delete { project } => {
            let id = resolve_project(&ctx.client, &project)?;
            ctx.client.project_delete(&id)?;
            if ctx.session.project.as_deref() == Some(id.as_str()) {
                ctx.session.project = None;
                save(&ctx.g, &ctx.session)?;
            }
            ctx.out(&json!({"deleted": id}), || {
                let mut t = Table::new(&["DELETED"]);
                t.row(vec![id.clone()]);
                t
            })
        }
    }
}

fn quota_cmd(ctx: &mut Ctx, c: QuotaCmd) -> Result<()> {
    let p = ctx.project()?;
    let report = match c {
        QuotaCmd::Show => ctx.client.quota_show(&p)?,
        QuotaCmd::Reset => {
            ctx.client.quota_reset(&p)?;
            ctx.client.quota_show(&p)?
        }
        QuotaCmd::Set(l) => {
            let mut body = serde_json::Map::new();
            for (name, v) in [
                ("network", l.networks),
                ("subnet", l.subnets),
                ("port", l.ports),
                ("floatingip", l.floating_ips),
                ("security_group", l.secgroups),
                ("security_group_rule", l.secgroup_rules),
                ("router", l.routers),
            ] {
                if let Some(v) = v {
                    body.insert(name.into(), json!(v));
                }
            }
            if body.is_empty() {
                bail!("Nothing to set: pass --ports, --networks, --subnets, --floating-ips, --secgroups, --secgroup-rules or --routers.");
            }
            ctx.client.quota_set(&p, &Value::Object(body))?
        }
    };
    ctx.out(&report, || {
        let mut t = Table::new(&["RESOURCE", "USED", "LIMIT"]);
        for q in &report.quotas {
            let limit = if q.limit < 0 {
                "unlimited".to_string()
            } else {
                q.limit.to_string()
            };
            t.row(vec![q.resource.to_string(), q.used.to_string(), limit]);
        }
        t
    })
}

fn member_table(ms: &[Membership]) -> Table {
    let mut t = Table::new(&["USER", "ROLE"]);
    for m in ms {
        t.row(vec![m.user_name.clone(), m.role.title().into()]);
    }
    t
}

fn network_cmd(ctx: &mut Ctx, c: NetworkCmd) -> Result<()> {
    let p = ctx.project()?;
    match c {
        NetworkCmd::List => {
            let nets = ctx.client.networks(&p)?;
            let dcs = ctx.client.data_centers()?;
            ctx.out(&nets, || {
                let mut t = Table::new(&["ID", "NAME", "DATA CENTER", "KIND", "SUBNETS", "FREE"]);
                for n in &nets {
                    let dc = dcs
                        .iter()
                        .find(|d| d.id == n.network.data_center_id)
                        .map(|d| d.name.clone())
                        .unwrap_or_default();
                    t.row(vec![
                        n.network.id.to_string(),
                        n.network.name.clone(),
                        dc,
                        match n.network.kind {
                            nicplane_domain::types::NetworkKind::Standard => "standard (L3)".into(),
                            nicplane_domain::types::NetworkKind::Custom => "custom (L2)".into(),
                        },
                        n.subnets
                            .iter()
                            .map(|s| s.cidr.to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                        n.subnets
                            .iter()
                            .map(|s| s.free_addresses.clone())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ]);
                }
                t
            })
        }
        NetworkCmd::Create {
            name,
            dc,
            kind,
            cidr,
            ipv6_cidr,
        } => {
            let dc = resolve_dc(&ctx.client, dc.as_deref())?;
            let subnets: Vec<Value> = cidr
                .iter()
                .chain(ipv6_cidr.iter())
                .map(|c| json!({"cidr": c}))
                .collect();
            let n = ctx.client.network_create(
                &p,
                &json!({"name": name, "data_center_id": dc, "kind": kind, "subnets": subnets}),
            )?;
            ctx.out(&n, || {
                let mut t = Table::new(&["ID", "NAME", "KIND", "SUBNETS"]);
                t.row(vec![
                    n.network.id.to_string(),
                    n.network.name.clone(),
                    n.network.kind.to_string(),
                    n.subnets
                        .iter()
                        .map(|s| s.cidr.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                ]);
                t
            })
        }
        NetworkCmd::Delete { network } => {
            let n = resolve_network(&ctx.client, &p, &network)?;
            ctx.client.network_delete(&p, &n.network.id.to_string())?;
            Ok(())
        }
    }
}

fn vm_cmd(ctx: &mut Ctx, c: VmCmd) -> Result<()> {
    let p = ctx.project()?;
    match c {
        VmCmd::List => {
            let vms = ctx.client.vms(&p)?;
            ctx.out(&vms, || vm_table(&vms))
        }
        VmCmd::Show { vm } => {
            let v = resolve_vm(&ctx.client, &p, &vm)?;
            ctx.out(&v, || {
                let mut t = vm_table(std::slice::from_ref(&v));
                t.append(nic_table(&v.interfaces));
                t
            })
        }
        VmCmd::Create {
            name,
            dc,
            os,
            stopped,
        } => {
            let dc = resolve_dc(&ctx.client, dc.as_deref())?;
            let v = ctx.client.vm_create(&p, &name, &dc, &os, !stopped)?;
            ctx.out(&v, || vm_table(std::slice::from_ref(&v)))
        }
        VmCmd::Start { vm } => {
            let id = resolve_vm(&ctx.client, &p, &vm)?.vm.id.to_string();
            let v = ctx.client.vm_start(&p, &id)?;
            ctx.out(&v, || vm_table(std::slice::from_ref(&v)))
        }
        VmCmd::Stop { vm } => {
            let id = resolve_vm(&ctx.client, &p, &vm)?.vm.id.to_string();
            let v = ctx.client.vm_stop(&p, &id)?;
            ctx.out(&v, || vm_table(std::slice::from_ref(&v)))
        }
        VmCmd::Delete { vm } => {
            let id = resolve_vm(&ctx.client, &p, &vm)?.vm.id.to_string();
            ctx.client.vm_delete(&p, &id)?;
            Ok(())
        }
    }
}

fn nic_cmd(ctx: &mut Ctx, c: NicCmd) -> Result<()> {
    let p = ctx.project()?;
    match c {
        NicCmd::List { vm } => {
            let v = resolve_vm(&ctx.client, &p, &vm)?;
            ctx.out(&v.interfaces, || nic_table(&v.interfaces))
        }
        NicCmd::Add {
            vm,
            network,
            ip,
            dry_run,
        } => {
            let v = resolve_vm(&ctx.client, &p, &vm)?;
            let n = resolve_network(&ctx.client, &p, &network)?;
            let path = format!(
                "/v1/projects/{p}/vms/{}/interfaces{}",
                v.vm.id,
                if dry_run { "?dry_run=true" } else { "" }
            );
            let mut body = json!({"network_id": n.network.id.to_string()});
            if let Some(ip) = ip {
                body["fixed_ips"] = json!([{"ip_address": ip}]);
            }
            let i: Interface = ctx.client.post(&path, &body)?;
            ctx.out(&i, || nic_table(std::slice::from_ref(&i)))
        }
        NicCmd::Remove { vm, interface } => {
            let v = resolve_vm(&ctx.client, &p, &vm)?;
            let i = resolve_nic(&v, &interface)?;
            ctx.client
                .interface_detach(&p, &v.vm.id.to_string(), &i.id.to_string())?;
            Ok(())
        }
    }
}

fn public_ip_cmd(ctx: &mut Ctx, c: PublicIpCmd) -> Result<()> {
    let p = ctx.project()?;
    match c {
        PublicIpCmd::List => {
            let ips = ctx.client.public_ips(&p)?;
            ctx.out(&ips, || {
                let mut t = Table::new(&["ID", "ADDRESS", "INTERFACE", "FIXED IP"]);
                for i in &ips {
                    t.row(vec![
                        i.id.to_string(),
                        i.address.to_string(),
                        i.interface_id.map(|x| x.to_string()).unwrap_or_default(),
                        i.fixed_ip.map(|x| x.to_string()).unwrap_or_default(),
                    ]);
                }
                t
            })
        }
        PublicIpCmd::Allocate { vm, interface } => {
            let v = resolve_vm(&ctx.client, &p, &vm)?;
            let i = resolve_nic(&v, &interface)?;
            let ip = ctx.client.public_ip_allocate(&p, &i.id.to_string())?;
            ctx.out(&ip, || {
                let mut t = Table::new(&["ADDRESS", "INTERFACE", "FIXED IP"]);
                t.row(vec![
                    ip.address.to_string(),
                    i.id.to_string(),
                    ip.fixed_ip.map(|x| x.to_string()).unwrap_or_default(),
                ]);
                t
            })
        }
        PublicIpCmd::Release { vm, interface } => {
            let v = resolve_vm(&ctx.client, &p, &vm)?;
            let i = resolve_nic(&v, &interface)?;
            ctx.client.public_ip_release(&p, &i.id.to_string())?;
            Ok(())
        }
    }
}

/// `nicplane host …`.
fn host_cmd(ctx: &mut Ctx, cmd: HostCmd) -> Result<()> {
    match cmd {
        HostCmd::List => {
            let hosts = ctx.client.hosts()?;
            ctx.out(&hosts, || {
                let mut t = Table::new(&["ID", "NAME", "DATA CENTER", "VMS", "LIVE", "LAST SEEN"]);
                for h in &hosts {
                    t.row(vec![
                        h.host.id.to_string(),
                        h.host.name.clone(),
                        h.host.data_center_id.to_string(),
                        h.vm_count.to_string(),
                        h.live.to_string(),
                        h.host
                            .last_seen
                            .map(|t| t.to_string())
                            .unwrap_or_else(|| "never".into()),
                    ]);
                }
                t
            })
        }
        HostCmd::Create { name, data_center } => {
            let dc = resolve_dc(&ctx.client, data_center.as_deref())?;
            let created = ctx.client.host_create(&name, &dc)?;
            ctx.out(&created, || {
                let mut t = Table::new(&["ID", "NAME", "CREDENTIAL (shown once)"]);
                t.row(vec![
                    created["host"]["id"].as_str().unwrap_or_default().into(),
                    created["host"]["name"].as_str().unwrap_or_default().into(),
                    created["credential"].as_str().unwrap_or_default().into(),
                ]);
                t
            })
        }
    }
}
