//! `nicplane agent`: the reference data-plane agent of one host.
//!
//! It reads its host's desired state from the server
//! (`GET /v1/agent/desired-state`, every page), makes the kernel match it
//! with `ip` (iproute2) commands, and reports each interface's observed
//! status (`POST /v1/agent/status`). The kernel objects (docs/dataplane.md):
//!
//! - a per-host "fabric" namespace `<prefix>-fabric` holds one bridge per
//!   network, `<prefix>-br-<network id, 8 hex>`, and the host ends of the
//!   veths, `<prefix>-h-<interface id, 8 hex>`: the root namespace is never
//!   touched;
//! - a VM is a namespace `<prefix>-vm-<VM id, 8 hex>`;
//! - an interface is a veth pair whose VM end is `eth<order>` (the primary is
//!   `eth0`) in the VM's namespace, carrying the interface's MAC, every fixed
//!   IP and (primary only) default routes via the subnets' gateways; its
//!   `ifalias` is the interface id, which is how the agent recognises its own
//!   links. A supplementary (VLAN) interface is a separate veth
//!   `eth<parent order>.<VLAN id>` on its own network's bridge (no 802.1Q on
//!   the development kernels);
//! - a running VM has its links up, a stopped VM down;
//! - routers (real and implicit), the external namespace and public IPs
//!   (1:1 NAT with nftables) are [`l3`]'s.
//! - on a custom (L2) network the VM sets its own addresses: the agent
//!   leaves the addresses of such a link alone.
//!
//! Reconciling is idempotent: it reads what exists, creates what is missing,
//! corrects what drifted, removes the objects with its prefix that are no
//! longer desired, and counts (and logs) every change it makes; a pass over
//! a converged host changes nothing. What triggers a pass is a [`Trigger`]:
//! the change feed ([`follow::Follow`], `--trigger feed`, the default: a pass
//! as soon as an event of the host comes, and a full resync every
//! `--resync-ms`) or a fixed interval ([`Interval`], `--trigger poll`).
//! Security groups and anti-spoofing are nftables in the fabric namespace
//! ([`firewall`]).

pub mod firewall;
pub mod follow;
pub mod l3;

use anyhow::{anyhow, bail, Context, Result};
use nicplane_client::Client;
use nicplane_domain::ids::{InterfaceId, SecurityGroupId, VmId};
use nicplane_domain::types::{InterfaceStatus, NetworkKind, PowerState};
use nicplane_service::host::{DesiredInterface, DesiredSecurityGroup, DesiredState, DesiredVm};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// Options of `nicplane agent` (the server's URL is the global `--url`).
#[derive(clap::Args, Debug)]
pub struct AgentArgs {
    /// A file holding the agent credential that `nicplane host create`
    /// printed; without it, the credential is read from the environment
    /// variable NICPLANE_AGENT_CREDENTIAL.
    #[arg(long, env = "NICPLANE_AGENT_CREDENTIAL_FILE")]
    pub credential: Option<PathBuf>,
    /// The host's name; the agent refuses to run for another host.
    #[arg(long)]
    pub host: String,
    /// Prefix of every kernel object the agent creates (1 to 3 lowercase
    /// letters or digits); it touches nothing else.
    #[arg(long, default_value = "np")]
    pub prefix: String,
    /// What starts a pass: `feed` (follow the change feed: a pass as soon
    /// as an event of this host comes, and every --resync-ms) or `poll`
    /// (every --interval-ms).
    #[arg(long, value_enum, default_value_t = TriggerKind::Feed)]
    pub trigger: TriggerKind,
    /// Milliseconds between passes with `--trigger poll`.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(50..=3_600_000))]
    pub interval_ms: u64,
    /// With `--trigger feed`: the longest time without a full pass, in
    /// milliseconds (a safety net; events start passes sooner).
    #[arg(long, default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1000..=3_600_000))]
    pub resync_ms: u64,
    /// One pass, then exit (prints the number of changes).
    #[arg(long)]
    pub once: bool,
}

/// `--trigger`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TriggerKind {
    Feed,
    Poll,
}

/// What starts a reconcile pass: [`follow::Follow`] (the change feed) or
/// [`Interval`].
pub trait Trigger {
    /// Block until the next pass is due; say which kind.
    fn wait(&mut self) -> Wake;
}

/// The kind of a pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// Read every VM's namespace: finds drift made outside the agent (a
    /// veth deleted by hand). The first pass, every `--trigger poll` pass
    /// and the feed's periodic resync.
    Full,
    /// The desired state changed (an event came): a VM whose desired state
    /// is the one an earlier pass realized without error, and whose
    /// namespace still exists, is not read again, so the pass costs the VMs
    /// that changed, not the host's size.
    Changes,
}

/// A pass every fixed interval.
pub struct Interval(pub Duration);

impl Trigger for Interval {
    fn wait(&mut self) -> Wake {
        std::thread::sleep(self.0);
        Wake::Full
    }
}

/// Pause before the pass after a failed one (or one with an interface in
/// error).
const RETRY_AFTER_ERROR: Duration = Duration::from_secs(1);
/// Largest page of VMs asked for (the server's maximum).
const PAGE: u32 = 500;
/// Most pages read in one pass (500 × 200 = 100,000 VMs on one host).
const MAX_PAGES: usize = 200;
/// Most interfaces per status report (`rules::AGENT_STATUS_MAX`).
const REPORT_CHUNK: usize = 1000;

fn short(id: &impl ToString) -> String {
    id.to_string()
        .chars()
        .filter(|c| *c != '-')
        .take(8)
        .collect()
}

/// [`short`] of an interface id. A time-ordered (version 7) id begins with
/// its creation millisecond, shared by every interface made in it: its last
/// eight hex digits (random) name it instead. A random (version 4) id keeps
/// its first eight, so the devices of interfaces made before interface ids
/// became time-ordered keep their names.
fn short_interface(id: &InterfaceId) -> String {
    if id.0.get_version_num() == 7 {
        let hex = id.0.simple().to_string();
        hex[hex.len() - 8..].to_string()
    } else {
        short(id)
    }
}

/// The kernel names of one agent (one prefix).
#[derive(Debug, Clone)]
pub struct Names {
    prefix: String,
}

impl Names {
    pub fn new(prefix: &str) -> Result<Names> {
        let ok = (1..=3).contains(&prefix.len())
            && prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !ok {
            bail!("--prefix must be 1 to 3 lowercase letters or digits (link names are at most 15 characters), not '{prefix}'");
        }
        Ok(Names {
            prefix: prefix.into(),
        })
    }
    fn fabric(&self) -> String {
        format!("{}-fabric", self.prefix)
    }
    fn vm_ns(&self, vm: &VmId) -> String {
        format!("{}-vm-{}", self.prefix, short(vm))
    }
    fn vm_ns_prefix(&self) -> String {
        format!("{}-vm-", self.prefix)
    }
    fn bridge(&self, net: &impl ToString) -> String {
        format!("{}-br-{}", self.prefix, short(net))
    }
    fn bridge_prefix(&self) -> String {
        format!("{}-br-", self.prefix)
    }
    fn host_end(&self, iface: &InterfaceId) -> String {
        format!("{}-h-{}", self.prefix, short_interface(iface))
    }
    fn host_end_prefix(&self) -> String {
        format!("{}-h-", self.prefix)
    }
}

/// The process that runs `ip ARGS`: `ip -n NS REST` and `ip netns exec NS
/// REST` become `nsenter --net=/run/netns/NS [ip] REST`. Same effect on the
/// namespace's links, addresses, routes and sysctls, but without the private
/// mount namespace `ip -n` makes for every command, which copies the mount
/// table (one bind mount per network namespace): with a thousand VMs that
/// copy doubled the cost of every command.
fn command(args: &[&str]) -> Command {
    match args {
        ["-n", ns, rest @ ..] => {
            let mut c = Command::new("nsenter");
            c.arg(format!("--net=/run/netns/{ns}")).arg("ip").args(rest);
            c
        }
        ["netns", "exec", ns, rest @ ..] => {
            let mut c = Command::new("nsenter");
            c.arg(format!("--net=/run/netns/{ns}")).args(rest);
            c
        }
        _ => {
            let mut c = Command::new("ip");
            c.args(args);
            c
        }
    }
}

/// Parse the JSON documents `ip -json` printed, one after the other (an
/// empty answer is none).
fn json_docs(text: &str) -> Result<Vec<Vec<Value>>> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Vec<Value>>()
        .map(|d| d.map_err(|e| anyhow!("cannot parse the output of ip: {e}")))
        .collect()
}

/// Run `f` on a thread of its own inside the network namespace `ns`. A
/// thread's network namespace is its own (`setns` changes only the caller's)
/// and a process it starts is born in it, so `ip` runs there without
/// `nsenter`, and `/proc/sys/net` and `/proc/thread-self/net` are the
/// namespace's.
fn in_ns<R: Send>(ns: &str, f: impl FnOnce() -> Result<R> + Send) -> Result<R> {
    use std::os::fd::AsRawFd;
    let path = format!("/run/netns/{ns}");
    let file = std::fs::File::open(&path).with_context(|| format!("namespace {ns}"))?;
    std::thread::scope(|s| {
        let handle = s.spawn(|| {
            // SAFETY: setns on a namespace descriptor that stays open for
            // the call changes only this thread's network namespace; the
            // thread ends with `f`.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            if rc != 0 {
                bail!(
                    "entering namespace {ns}: {}",
                    std::io::Error::last_os_error()
                );
            }
            f()
        });
        handle
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// Write a sysctl (`KEY=VALUE`, dotted) of the namespace `ns`.
fn write_sysctl(ns: &str, setting: &str) -> Result<()> {
    let (key, value) = setting
        .split_once('=')
        .ok_or_else(|| anyhow!("sysctl {setting}: not KEY=VALUE"))?;
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    in_ns(ns, || {
        std::fs::write(&path, value).with_context(|| format!("sysctl {setting} in {ns}"))
    })
}

/// A change queued for one `ip -batch` of its namespace.
struct Queued {
    ns: String,
    /// The `ip` arguments after `-n NS`.
    args: Vec<String>,
    /// The interface whose change it is (its failure is that interface's
    /// error); `None`: the VM's (its failure fails the VM's pass).
    owner: Option<InterfaceId>,
    /// A failure is only logged.
    tolerate: bool,
}

/// Runs `ip` and counts the changes it makes.
struct Ip {
    changes: Vec<String>,
    /// `Some`: changes inside a namespace (`-n NS …`) are queued and made
    /// by [`Ip::flush`], one `ip -batch` per run of changes in the same
    /// namespace, instead of one process each (a VM's cold start is two
    /// processes instead of ten).
    queue: Option<Vec<Queued>>,
    /// The owner of the changes queued from now on.
    owner: Option<InterfaceId>,
}

impl Ip {
    /// Every change made at once.
    fn new() -> Ip {
        Ip {
            changes: Vec::new(),
            queue: None,
            owner: None,
        }
    }

    /// Changes inside namespaces queued until [`Ip::flush`].
    fn queued() -> Ip {
        Ip {
            queue: Some(Vec::new()),
            ..Ip::new()
        }
    }

    /// A read: `ip -json …`, parsed (an empty answer is an empty list).
    fn read(&self, args: &[&str]) -> Result<Vec<Value>> {
        let full: Vec<&str> = match args {
            ["-n", ns, rest @ ..] => ["-n", ns, "-json"]
                .into_iter()
                .chain(rest.iter().copied())
                .collect(),
            _ => ["-json"].into_iter().chain(args.iter().copied()).collect(),
        };
        let out = command(&full)
            .output()
            .context("cannot run ip or nsenter (install iproute2 and util-linux)")?;
        if !out.status.success() {
            bail!(
                "ip {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(json_docs(&String::from_utf8_lossy(&out.stdout))?
            .into_iter()
            .next()
            .unwrap_or_default())
    }

    /// A change: `ip …`, counted and logged (queued when this `Ip` queues
    /// and the change is inside a namespace).
    fn change(&mut self, args: &[&str]) -> Result<()> {
        self.change_or_queue(args, false)
    }

    /// A change whose failure is harmless: logged, never an error.
    fn change_tolerant(&mut self, args: &[&str]) {
        if let Err(e) = self.change_or_queue(args, true) {
            eprintln!("agent: {e:#}");
        }
    }

    fn change_or_queue(&mut self, args: &[&str], tolerate: bool) -> Result<()> {
        match (&mut self.queue, args) {
            // A batch line takes no options (`-4`, `-json`…): such a
            // change runs at once.
            (Some(queue), ["-n", ns, rest @ ..])
                if rest.first().is_some_and(|a| !a.starts_with('-')) =>
            {
                queue.push(Queued {
                    ns: ns.to_string(),
                    args: rest.iter().map(|a| a.to_string()).collect(),
                    owner: self.owner,
                    tolerate,
                });
                Ok(())
            }
            _ => self.run(args),
        }
    }

    /// Set a sysctl (`KEY=VALUE`) of the namespace `ns`, counted.
    fn sysctl(&mut self, ns: &str, setting: &str) -> Result<()> {
        write_sysctl(ns, setting)?;
        let line = format!("ip netns exec {ns} sysctl -qw {setting}");
        eprintln!("agent: {line}");
        self.changes.push(line);
        Ok(())
    }

    fn run(&mut self, args: &[&str]) -> Result<()> {
        let line = format!("ip {}", args.join(" "));
        let out = command(args)
            .output()
            .context("cannot run ip or nsenter (install iproute2 and util-linux)")?;
        if !out.status.success() {
            bail!("{line}: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        eprintln!("agent: {line}");
        self.changes.push(line);
        Ok(())
    }

    /// Make the queued changes, in order: one `ip -force -batch` per run
    /// of consecutive changes in the same namespace. Returns the errors of
    /// single interfaces; a failed change that is the VM's own fails the
    /// whole (after the batch it was in).
    fn flush(&mut self) -> Result<BTreeMap<InterfaceId, String>> {
        let queue = self.queue.replace(Vec::new()).unwrap_or_default();
        let mut errors = BTreeMap::new();
        let mut rest = queue.as_slice();
        while let Some(first) = rest.first() {
            let n = rest.iter().take_while(|q| q.ns == first.ns).count();
            let (group, after) = rest.split_at(n);
            rest = after;
            let lines: Vec<String> = group.iter().map(|q| q.args.join(" ")).collect();
            let outcome = batch(&first.ns, &lines)?;
            let mut fatal = None;
            for ((q, line), failure) in group.iter().zip(&lines).zip(outcome) {
                let line = format!("ip -n {} {line}", q.ns);
                match failure {
                    None => {
                        eprintln!("agent: {line}");
                        self.changes.push(line);
                    }
                    Some(e) if q.tolerate => eprintln!("agent: {line}: {e}"),
                    Some(e) => {
                        let e = format!("{line}: {e}");
                        match q.owner {
                            Some(id) => {
                                errors.entry(id).or_insert(e);
                            }
                            None => {
                                fatal.get_or_insert(e);
                            }
                        }
                    }
                }
            }
            if let Some(e) = fatal {
                bail!(e);
            }
        }
        Ok(errors)
    }
}

/// `ip -force -batch -` inside `ns`, one process for `lines`: each line's
/// failure (`None`: made). With `-force`, ip goes on past a failed line
/// and prints the line's error and then `Command failed -:N`; a malformed
/// line stops it (the whole batch is then an error).
fn batch(ns: &str, lines: &[String]) -> Result<Vec<Option<String>>> {
    use std::io::Write;
    use std::process::Stdio;
    let input = lines.join("\n") + "\n";
    let out = in_ns(ns, || {
        let mut child = Command::new("ip")
            .args(["-force", "-batch", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run ip (install iproute2)")?;
        if let Some(mut stdin) = child.stdin.take() {
            // A write error means ip stopped early: its status says so.
            let _ = stdin.write_all(input.as_bytes());
        }
        child.wait_with_output().context("ip -batch")
    })?;
    batch_outcome(
        &String::from_utf8_lossy(&out.stderr),
        lines.len(),
        out.status.success(),
    )
    .with_context(|| format!("ip -batch in {ns}"))
}

/// Each of `lines` lines' failure from what `ip -force -batch` printed on
/// stderr: a failed line's messages, then `Command failed -:N`. A failed
/// run whose failure names no line (a malformed line stopped ip) is an
/// error of the whole batch.
fn batch_outcome(stderr: &str, lines: usize, success: bool) -> Result<Vec<Option<String>>> {
    let mut result = vec![None; lines];
    let mut message: Vec<&str> = Vec::new();
    for l in stderr.lines() {
        let failed = l
            .strip_prefix("Command failed -:")
            .and_then(|n| n.trim().parse::<usize>().ok())
            .filter(|n| (1..=lines).contains(n));
        match failed {
            Some(n) => {
                let text = message.join("; ");
                result[n - 1] = Some(if text.is_empty() {
                    "failed".into()
                } else {
                    text
                });
                message.clear();
            }
            None if !l.trim().is_empty() => message.push(l.trim()),
            None => {}
        }
    }
    if !success && (!message.is_empty() || result.iter().all(Option::is_none)) {
        bail!("{}", stderr.trim());
    }
    Ok(result)
}

/// What a VM's namespace holds: its links and its default routes.
#[derive(Debug, Clone, Default)]
struct VmRead {
    links: BTreeMap<String, Link>,
    /// The IPv4 and IPv6 default routes, as `ip -json route` shows them.
    routes: [Vec<Value>; 2],
}

/// Read a VM's namespace with one process: its links and addresses
/// (`ip -json -details addr show`) and, from the namespace's `/proc`, both
/// default routes.
fn read_vm(ns: &str) -> Result<VmRead> {
    in_ns(ns, || {
        let out = Command::new("ip")
            .args(["-json", "-details", "addr", "show"])
            .output()
            .context("cannot run ip (install iproute2)")?;
        if !out.status.success() {
            bail!(
                "reading namespace {ns}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let links = json_docs(&String::from_utf8_lossy(&out.stdout))?
            .into_iter()
            .next()
            .unwrap_or_default();
        let proc = |f: &str| {
            std::fs::read_to_string(format!("/proc/thread-self/net/{f}"))
                .with_context(|| format!("reading namespace {ns}: /proc/net/{f}"))
        };
        Ok(VmRead {
            links: links_of(&links),
            routes: [
                default_routes_v4(&proc("route")?),
                default_routes_v6(&proc("ipv6_route")?),
            ],
        })
    })
}

/// `RTF_REJECT`: an unreachable route (IPv6 lists its null route as a
/// default route on `lo`).
const RTF_REJECT: u32 = 0x200;

/// The IPv4 default routes of the main table from `/proc/net/route`, as
/// `ip -json route show default` shows them (`dev`, `gateway` if any).
fn default_routes_v4(text: &str) -> Vec<Value> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let flags = u32::from_str_radix(f.get(3)?, 16).ok()?;
            if f.len() < 8 || f[1] != "00000000" || f[7] != "00000000" || flags & RTF_REJECT != 0 {
                return None;
            }
            // The address as stored (network order), printed as a host
            // integer.
            let gw = u32::from_str_radix(f[2], 16).ok()?;
            let mut r = json!({"dst": "default", "dev": f[0]});
            if gw != 0 {
                r["gateway"] = json!(std::net::Ipv4Addr::from(gw.to_ne_bytes()).to_string());
            }
            Some(r)
        })
        .collect()
}

/// The IPv6 default routes from `/proc/net/ipv6_route` (destination,
/// prefix length, source, its length, next hop, metric, refcount, use,
/// flags, device), as `ip -json -6 route show default` shows them.
fn default_routes_v6(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let flags = u32::from_str_radix(f.get(8)?, 16).ok()?;
            let dev = *f.get(9)?;
            if !f[0].bytes().all(|b| b == b'0')
                || f[1] != "00"
                || flags & RTF_REJECT != 0
                || dev == "lo"
            {
                return None;
            }
            let gw = u128::from_str_radix(f[4], 16).ok()?;
            let mut r = json!({"dst": "default", "dev": dev});
            if gw != 0 {
                r["gateway"] = json!(std::net::Ipv6Addr::from(gw).to_string());
            }
            Some(r)
        })
        .collect()
}

/// Threads reconciling VMs at once (each runs its own `ip` processes).
const WORKERS: usize = 4;

/// `f` over `items`, [`WORKERS`] threads at a time, results in order.
fn in_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let chunk = items.len().div_ceil(WORKERS).max(1);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(r) => r,
                Err(p) => std::panic::resume_unwind(p),
            })
            .collect()
    })
}

/// A link as `ip -json -details addr show` reports it.
#[derive(Debug, Clone, Default)]
struct Link {
    mac: String,
    up: bool,
    alias: String,
    master: String,
    /// Global addresses as `ADDR/PREFIX`.
    addrs: BTreeSet<String>,
}

fn links_of(v: &[Value]) -> BTreeMap<String, Link> {
    v.iter()
        .filter_map(|l| {
            let name = l["ifname"].as_str()?.to_string();
            let up = l["flags"]
                .as_array()
                .is_some_and(|f| f.iter().any(|x| x == "UP"));
            let addrs = l["addr_info"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|x| x["scope"] != "link" && x["scope"] != "host")
                        .filter_map(|x| {
                            Some(format!(
                                "{}/{}",
                                x["local"].as_str()?,
                                x["prefixlen"].as_u64()?
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            Some((
                name,
                Link {
                    mac: l["address"].as_str().unwrap_or_default().to_lowercase(),
                    up,
                    alias: l["ifalias"].as_str().unwrap_or_default().to_string(),
                    master: l["master"].as_str().unwrap_or_default().to_string(),
                    addrs,
                },
            ))
        })
        .collect()
}

/// One link the agent wants in a VM's namespace.
struct WantLink<'a> {
    name: String,
    iface: &'a DesiredInterface,
}

/// The links of a VM: `eth<order>` for elastic interfaces, `eth<parent
/// order>.<VLAN>` for supplementary ones.
fn want_links(vm: &DesiredVm) -> Vec<WantLink<'_>> {
    let order: BTreeMap<InterfaceId, u32> = vm
        .interfaces
        .iter()
        .filter_map(|i| Some((i.id, i.order?)))
        .collect();
    vm.interfaces
        .iter()
        .filter_map(|i| {
            let name = match (i.order, i.parent_id, i.vlan_id) {
                (Some(o), _, _) => format!("eth{o}"),
                (None, Some(p), Some(v)) => format!("eth{}.{v}", order.get(&p)?),
                _ => return None,
            };
            Some(WantLink { name, iface: i })
        })
        .collect()
}

/// The link names of a VM, kept stable in the kernel: the primary is
/// `eth0`; an elastic interface that already has a link `eth<N>` (found by
/// its `ifalias`) keeps it, as a NIC keeps its slot when another is
/// unplugged; the others take `eth<order>` when free, else the lowest free
/// `eth<N>`; a supplementary interface is `<its parent's link>.<VLAN>`. The
/// desired state's `order` renumbers when an interface is detached (it is a
/// rank), which would otherwise rename, i.e. recreate, the links after it.
fn stable_names<'a>(want: &[WantLink<'a>], have: &BTreeMap<String, Link>) -> Vec<WantLink<'a>> {
    let is_slot = |n: &str| {
        n.strip_prefix("eth")
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) && d != "0")
    };
    let mut taken: BTreeSet<String> = BTreeSet::from(["eth0".to_string()]);
    let mut name: BTreeMap<InterfaceId, String> = BTreeMap::new();
    let elastic: Vec<&WantLink<'a>> = want.iter().filter(|w| w.iface.order.is_some()).collect();
    for w in &elastic {
        if w.iface.primary {
            name.insert(w.iface.id, "eth0".into());
            continue;
        }
        let id = w.iface.id.to_string();
        if let Some((n, _)) = have
            .iter()
            .find(|(n, l)| l.alias == id && is_slot(n) && !taken.contains(*n))
        {
            taken.insert(n.clone());
            name.insert(w.iface.id, n.clone());
        }
    }
    for w in &elastic {
        if name.contains_key(&w.iface.id) {
            continue;
        }
        let n = if taken.contains(&w.name) {
            // Bounded: at most as many names are taken as there are links.
            (1..)
                .map(|k| format!("eth{k}"))
                .find(|n| !taken.contains(n))
                .unwrap_or_default()
        } else {
            w.name.clone()
        };
        taken.insert(n.clone());
        name.insert(w.iface.id, n);
    }
    want.iter()
        .filter_map(|w| {
            let n = match (w.iface.order, w.iface.parent_id, w.iface.vlan_id) {
                (Some(_), _, _) => name.get(&w.iface.id)?.clone(),
                (None, Some(p), Some(v)) => format!("{}.{v}", name.get(&p)?),
                _ => return None,
            };
            Some(WantLink {
                name: n,
                iface: w.iface,
            })
        })
        .collect()
}

/// What one pass did.
pub struct Pass {
    pub changes: Vec<String>,
    pub status: BTreeMap<InterfaceId, (InterfaceStatus, Option<String>)>,
    /// Where the pass spent its time, in order (logged with the pass).
    pub took: Vec<(&'static str, Duration)>,
    /// VMs read and reconciled (the others were unchanged, see
    /// [`Wake::Changes`]).
    pub vms_read: usize,
}

/// The security groups of every page, by id.
pub type Groups = BTreeMap<SecurityGroupId, DesiredSecurityGroup>;

/// The VMs realized without error, with the desired state they were
/// realized to (see [`Wake::Changes`]).
pub type Realized = BTreeMap<VmId, DesiredVm>;

/// Make the kernel match the desired state (the whole host, every page).
/// `realized` is updated: a VM realized without error in this pass is in
/// it, with its desired state; a VM no longer desired or in error is not.
pub fn reconcile(
    names: &Names,
    vms: &[DesiredVm],
    networks: &BTreeSet<String>,
    routing: &l3::L3,
    groups: &Groups,
    wake: Wake,
    realized: &mut Realized,
) -> Result<Pass> {
    let mut ip = Ip::new();
    let mut clock = std::time::Instant::now();
    let mut took = Vec::new();
    let mut lap = |what: &'static str| {
        took.push((what, clock.elapsed()));
        clock = std::time::Instant::now();
    };
    let fabric = names.fabric();
    let existing: BTreeSet<String> = ip
        .read(&["netns", "list"])?
        .iter()
        .filter_map(|n| n["name"].as_str().map(String::from))
        .collect();
    if !existing.contains(&fabric) {
        ip.change(&["netns", "add", &fabric])?;
        ip.sysctl(&fabric, "net.ipv6.conf.all.disable_ipv6=1")?;
        ip.sysctl(&fabric, "net.ipv6.conf.default.disable_ipv6=1")?;
        ip.change(&["-n", &fabric, "link", "set", "lo", "up"])?;
    }
    lap("namespaces");
    // The filters go first, so that a new port is filtered from the start.
    let firewall_error = match firewall::reconcile(names, vms, groups, networks) {
        Ok(changes) => {
            for c in &changes {
                eprintln!("agent: {c}");
            }
            ip.changes.extend(changes);
            None
        }
        Err(e) => Some(trim_reason(&format!("security groups: {e:#}"))),
    };
    lap("firewall");
    // VM namespaces no longer desired go first (their veths go with them).
    let wanted_ns: BTreeSet<String> = vms.iter().map(|v| names.vm_ns(&v.id)).collect();
    for ns in &existing {
        if ns.starts_with(&names.vm_ns_prefix()) && !wanted_ns.contains(ns) {
            ip.change(&["netns", "del", ns])?;
        }
    }
    let fab = links_of(&ip.read(&["-n", &fabric, "-details", "addr", "show"])?);
    lap("fabric");
    // Bridges.
    let bridges: BTreeSet<String> = networks.iter().map(|n| names.bridge(n)).collect();
    for b in &bridges {
        match fab.get(b) {
            None => {
                // No multicast snooping: without a querier it could stop
                // IPv6 neighbour discovery between the VMs.
                ip.change(&[
                    "-n",
                    &fabric,
                    "link",
                    "add",
                    b,
                    "type",
                    "bridge",
                    "mcast_snooping",
                    "0",
                ])?;
                ip.change(&["-n", &fabric, "link", "set", b, "up"])?;
            }
            Some(l) if !l.up => ip.change(&["-n", &fabric, "link", "set", b, "up"])?,
            Some(_) => {}
        }
    }
    // The VMs are independent of each other: several at a time.
    let mut host_ends = BTreeSet::new();
    for vm in vms {
        for w in want_links(vm) {
            host_ends.insert(names.host_end(&w.iface.id));
        }
    }
    let before: &Realized = realized;
    let done = in_parallel(vms, |vm| {
        // The VM's changes are queued and made by a few `ip -batch`
        // processes (one per run of changes in one namespace).
        let mut ip = Ip::queued();
        let ns = names.vm_ns(&vm.id);
        let running = vm.power_state == PowerState::Running;
        let want = want_links(vm);
        let unchanged =
            wake == Wake::Changes && existing.contains(&ns) && before.get(&vm.id) == Some(vm);
        let result = if unchanged {
            Ok(BTreeMap::new())
        } else {
            let read = existing.contains(&ns).then(|| read_vm(&ns));
            reconcile_vm(&mut ip, names, &fab, read, &ns, running, &want).and_then(|mut errors| {
                for (id, e) in ip.flush()? {
                    errors.entry(id).or_insert(e);
                }
                Ok(errors)
            })
        };
        let clean = result.as_ref().is_ok_and(|e| e.is_empty());
        let status: Vec<_> = want
            .iter()
            .map(|w| {
                let s = match &result {
                    Err(e) => (InterfaceStatus::Error, Some(trim_reason(&format!("{e:#}")))),
                    Ok(errors) => match errors.get(&w.iface.id) {
                        Some(e) => (InterfaceStatus::Error, Some(trim_reason(e))),
                        None if w.iface.port_security_enabled && firewall_error.is_some() => {
                            (InterfaceStatus::Error, firewall_error.clone())
                        }
                        None if running => (InterfaceStatus::Active, None),
                        None => (InterfaceStatus::Down, None),
                    },
                };
                (w.iface.id, s)
            })
            .collect();
        (ip.changes, status, clean, !unchanged)
    });
    let mut status = BTreeMap::new();
    let mut now = Realized::new();
    let mut vms_read = 0;
    for (vm, (changes, s, clean, read)) in vms.iter().zip(done) {
        ip.changes.extend(changes);
        status.extend(s);
        vms_read += usize::from(read);
        if clean {
            now.insert(vm.id, vm.clone());
        }
    }
    *realized = now;
    lap("vms");
    // Host ends and bridges no longer desired (a VM namespace deleted above
    // may still be taking its veths down: such a delete may fail, harmlessly).
    for name in fab.keys() {
        let stale_end = name.starts_with(&names.host_end_prefix()) && !host_ends.contains(name);
        let stale_br = name.starts_with(&names.bridge_prefix()) && !bridges.contains(name);
        if stale_end || stale_br {
            if let Err(e) = ip.change(&["-n", &fabric, "link", "del", name]) {
                eprintln!("agent: {e:#}");
            }
        }
    }
    // Routers, the external namespace, public IPs (agent/l3.rs): a failure
    // there is logged and retried next pass; the interfaces' statuses are
    // still reported.
    if let Err(e) = l3::reconcile(&mut ip, names, &existing, routing) {
        eprintln!("agent: l3: {e:#}");
    }
    lap("routers");
    Ok(Pass {
        changes: ip.changes,
        status,
        took,
        vms_read,
    })
}

fn trim_reason(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| {
            if c.is_control() || c == '<' || c == '>' {
                ' '
            } else {
                c
            }
        })
        .collect();
    clean.chars().take(255).collect()
}

/// One VM's namespace and links; the errors of single interfaces by id.
fn reconcile_vm(
    ip: &mut Ip,
    names: &Names,
    fab: &BTreeMap<String, Link>,
    read: Option<Result<VmRead>>,
    ns: &str,
    running: bool,
    want: &[WantLink<'_>],
) -> Result<BTreeMap<InterfaceId, String>> {
    let fabric = names.fabric();
    // None: the namespace does not exist yet; a new one holds only `lo`.
    let new_ns = read.is_none();
    let read = match read {
        Some(r) => r?,
        None => {
            ip.change(&["netns", "add", ns])?;
            ip.sysctl(ns, "net.ipv6.conf.all.keep_addr_on_down=1")?;
            VmRead::default()
        }
    };
    let have = &read.links;
    let named = stable_names(want, have);
    let want = named.as_slice();
    let by_name: BTreeMap<&str, &WantLink<'_>> =
        want.iter().map(|w| (w.name.as_str(), w)).collect();
    // Links that are not ours or not what they should be: deleted (a veth
    // goes with its peer).
    let mut present = BTreeSet::new();
    for (name, l) in have {
        if name == "lo" {
            continue;
        }
        match by_name.get(name.as_str()) {
            Some(w) if l.alias == w.iface.id.to_string() => {
                present.insert(name.clone());
            }
            _ => ip.change(&["-n", ns, "link", "del", name])?,
        }
    }
    let mut errors = BTreeMap::new();
    let mut fresh = BTreeSet::new();
    for w in want {
        ip.owner = Some(w.iface.id);
        match reconcile_link(ip, names, &fabric, fab, have, &present, ns, running, w) {
            Ok(true) => {
                fresh.insert(w.iface.id);
            }
            Ok(false) => {}
            Err(e) => {
                errors.insert(w.iface.id, format!("{e:#}"));
            }
        }
    }
    if running {
        if let Some(primary) = want.iter().find(|w| w.iface.primary) {
            // A link made in this pass has none of the routes read before.
            let none = [Vec::new(), Vec::new()];
            let current = if fresh.contains(&primary.iface.id) {
                &none
            } else {
                &read.routes
            };
            ip.owner = Some(primary.iface.id);
            if let Err(e) = default_routes(ip, ns, primary, current) {
                errors.insert(primary.iface.id, format!("{e:#}"));
            }
        }
    }
    ip.owner = None;
    if new_ns {
        // Last, so that a new VM's changes in its own namespace are one
        // batch after the one in the fabric.
        ip.change(&["-n", ns, "link", "set", "lo", "up"])?;
    }
    Ok(errors)
}

#[allow(clippy::too_many_arguments)]
fn reconcile_link(
    ip: &mut Ip,
    names: &Names,
    fabric: &str,
    fab: &BTreeMap<String, Link>,
    have: &BTreeMap<String, Link>,
    present: &BTreeSet<String>,
    ns: &str,
    running: bool,
    w: &WantLink<'_>,
) -> Result<bool> {
    let host = names.host_end(&w.iface.id);
    let bridge = names.bridge(&w.iface.network_id);
    let mac = w.iface.mac_address.to_string().to_lowercase();
    let id = w.iface.id.to_string();
    let empty = Link::default();
    let paired = present.contains(&w.name) && fab.contains_key(&host);
    if present.contains(&w.name) && !paired {
        // A VM end whose host end is gone: start over.
        ip.change(&["-n", ns, "link", "del", &w.name])?;
    }
    let (vm_end, host_link) = if paired {
        (&have[&w.name], fab.get(&host))
    } else {
        if fab.contains_key(&host) {
            // A host end without its VM end (a half-made pair): start over.
            // It may be gone already: deleting its VM end above (a link of
            // this VM under another name, e.g. after a renumbering) took it
            // along. If it is still there, the add below fails and the pass
            // is tried again.
            ip.change_tolerant(&["-n", fabric, "link", "del", &host]);
        }
        // One command makes the pair, enslaves the host end and (running
        // VM) sets it up; the VM end's alias and state take one each.
        let mut add = vec!["-n", fabric, "link", "add", &host, "master", &bridge];
        if running {
            add.push("up");
        }
        add.extend([
            "type", "veth", "peer", "name", &w.name, "netns", ns, "address", &mac,
        ]);
        ip.change(&add)?;
        // The VM end's alias and (running VM) state in one command.
        let mut set = vec!["-n", ns, "link", "set", &w.name, "alias", &id];
        if running {
            set.push("up");
        }
        ip.change(&set)?;
        (&empty, None)
    };
    let state = if running { "up" } else { "down" };
    match host_link {
        // Made above, with its state.
        None => {}
        Some(h) => {
            if vm_end.mac != mac {
                ip.change(&["-n", ns, "link", "set", &w.name, "address", &mac])?;
            }
            if h.master != bridge {
                ip.change(&["-n", fabric, "link", "set", &host, "master", &bridge])?;
            }
            if h.up != running {
                ip.change(&["-n", fabric, "link", "set", &host, state])?;
            }
            if vm_end.up != running {
                ip.change(&["-n", ns, "link", "set", &w.name, state])?;
            }
        }
    }
    let want_addrs: BTreeSet<String> = w
        .iface
        .fixed_ips
        .iter()
        .map(|f| format!("{}/{}", f.ip_address, f.prefix_len))
        .collect();
    // On a custom (L2) network the VM sets its own addresses: the agent
    // adds none (it has none to add) and removes none.
    if w.iface.network_kind != NetworkKind::Custom {
        for a in vm_end.addrs.difference(&want_addrs) {
            ip.change(&["-n", ns, "addr", "del", a, "dev", &w.name])?;
        }
    }
    for a in want_addrs.difference(&vm_end.addrs) {
        if a.contains(':') {
            ip.change(&["-n", ns, "addr", "add", a, "dev", &w.name, "nodad"])?;
        } else {
            ip.change(&["-n", ns, "addr", "add", a, "dev", &w.name])?;
        }
    }
    Ok(!paired)
}

/// The primary's default routes (IPv4 and IPv6) via its subnets' gateways.
/// `current`: the namespace's IPv4 and IPv6 default routes.
fn default_routes(
    ip: &mut Ip,
    ns: &str,
    primary: &WantLink<'_>,
    current: &[Vec<Value>; 2],
) -> Result<()> {
    // `0.0.0.0/0` and `::/0` rather than `-4`/`-6 … default`: a line of
    // `ip -batch` takes no options.
    for ((all, v6), current) in [("0.0.0.0/0", false), ("::/0", true)]
        .into_iter()
        .zip(current)
    {
        let gw = primary
            .iface
            .fixed_ips
            .iter()
            .filter(|f| f.ip_address.is_ipv6() == v6)
            .find_map(|f| f.gateway_ip);
        let matches = |r: &Value| {
            gw.is_some_and(|g| r["gateway"].as_str() == Some(g.to_string().as_str()))
                && r["dev"].as_str() == Some(primary.name.as_str())
        };
        match gw {
            Some(g) if !(current.len() == 1 && matches(&current[0])) => {
                let g = g.to_string();
                ip.change(&[
                    "-n",
                    ns,
                    "route",
                    "replace",
                    all,
                    "via",
                    &g,
                    "dev",
                    &primary.name,
                ])?;
            }
            None if !current.is_empty() => {
                ip.change(&["-n", ns, "route", "del", all])?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// The agent credential: the file's content, else the environment's.
fn credential(args: &AgentArgs) -> Result<String> {
    let c = match &args.credential {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the credential file {}", path.display()))?,
        None => std::env::var("NICPLANE_AGENT_CREDENTIAL")
            .map_err(|_| anyhow!("give --credential FILE or set NICPLANE_AGENT_CREDENTIAL"))?,
    };
    Ok(c.trim().to_string())
}

/// The host's whole desired state, every page merged.
struct Desired {
    vms: Vec<DesiredVm>,
    networks: BTreeSet<String>,
    routing: l3::L3,
    groups: Groups,
}

/// Every page of the host's desired state.
fn fetch(client: &Client, host: &str) -> Result<Desired> {
    let mut vms = Vec::new();
    let mut routing = l3::L3::default();
    let mut networks = BTreeSet::new();
    let mut groups = Groups::new();
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let path = match &marker {
            Some(m) => format!("/v1/agent/desired-state?limit={PAGE}&marker={m}"),
            None => format!("/v1/agent/desired-state?limit={PAGE}"),
        };
        let page: DesiredState = client.get(&path)?;
        if page.host.name != host {
            bail!(
                "this credential belongs to host {}, not {host}",
                page.host.name
            );
        }
        // Only networks some interface is on get a bridge.
        networks.extend(page.networks.iter().map(|n| n.id.to_string()));
        routing.merge(&page);
        merge_groups(&mut groups, page.security_groups);
        vms.extend(page.vms);
        match page.next_marker {
            Some(m) => marker = Some(m),
            None => {
                return Ok(Desired {
                    vms,
                    networks,
                    routing,
                    groups,
                })
            }
        }
    }
    bail!("the desired state has more than {MAX_PAGES} pages")
}

/// Add a page's security groups: a group only named as a remote group on
/// one page comes without its rules, which another page may have.
fn merge_groups(groups: &mut Groups, page: Vec<DesiredSecurityGroup>) {
    for g in page {
        match groups.get_mut(&g.id) {
            Some(known) if g.rules.is_empty() => known.members = g.members,
            _ => {
                groups.insert(g.id, g);
            }
        }
    }
}

/// Send the statuses that changed since the last report.
fn report(
    client: &Client,
    pass: &Pass,
    sent: &mut BTreeMap<InterfaceId, (InterfaceStatus, Option<String>)>,
) -> Result<()> {
    let changed: Vec<Value> = pass
        .status
        .iter()
        .filter(|(id, s)| sent.get(id) != Some(s))
        .map(|(id, (s, r))| json!({"id": id, "status": s, "reason": r}))
        .collect();
    for chunk in changed.chunks(REPORT_CHUNK) {
        let _: Value = client.post("/v1/agent/status", &json!({ "interfaces": chunk }))?;
    }
    sent.retain(|id, _| pass.status.contains_key(id));
    for (id, s) in &pass.status {
        sent.insert(*id, s.clone());
    }
    Ok(())
}

/// `nicplane agent`.
pub fn run(args: AgentArgs, url: Option<String>) -> Result<()> {
    let names = Names::new(&args.prefix)?;
    let url = url.ok_or_else(|| anyhow!("give the server's URL with --url or NICPLANE_URL"))?;
    let client = Client::new(&url).with_token(&credential(&args)?);
    // The feed's position is read before the first pass reads the desired
    // state (follow.rs says why).
    let mut trigger: Box<dyn Trigger> = match (args.once, args.trigger) {
        (true, _) | (false, TriggerKind::Poll) => {
            Box::new(Interval(Duration::from_millis(args.interval_ms)))
        }
        (false, TriggerKind::Feed) => Box::new(follow::Follow::start(
            client.clone(),
            Duration::from_millis(args.resync_ms),
        )),
    };
    let mut sent = BTreeMap::new();
    let mut realized = Realized::new();
    let mut wake = Wake::Full;
    loop {
        let started = std::time::Instant::now();
        let outcome = fetch(&client, &args.host).and_then(|d| {
            let fetched = started.elapsed();
            let mut pass = reconcile(
                &names,
                &d.vms,
                &d.networks,
                &d.routing,
                &d.groups,
                wake,
                &mut realized,
            )?;
            pass.took.insert(0, ("fetch", fetched));
            let reported = std::time::Instant::now();
            report(&client, &pass, &mut sent)?;
            pass.took.push(("report", reported.elapsed()));
            Ok(pass)
        });
        // A pass that failed, or left an interface in error, is tried again
        // soon rather than at the next event: a command may have met the
        // leftovers of a killed predecessor (an `ip` it started that was
        // still running) or a moment when the server was unreachable.
        let again = match outcome {
            Ok(pass) => {
                if !pass.changes.is_empty() || args.once {
                    let took: Vec<String> = pass
                        .took
                        .iter()
                        .map(|(what, d)| format!("{what} {} ms", d.as_millis()))
                        .collect();
                    eprintln!(
                        "agent: pass done: {} changes, {} interfaces, {} VMs read ({:?} pass; {})",
                        pass.changes.len(),
                        pass.status.len(),
                        pass.vms_read,
                        wake,
                        took.join(", ")
                    );
                }
                for (id, (_, reason)) in pass
                    .status
                    .iter()
                    .filter(|(_, (s, _))| *s == InterfaceStatus::Error)
                {
                    eprintln!(
                        "agent: interface {id} in error: {}",
                        reason.as_deref().unwrap_or("no reason")
                    );
                }
                if args.once {
                    println!("{} changes", pass.changes.len());
                    return Ok(());
                }
                pass.status
                    .values()
                    .any(|(s, _)| *s == InterfaceStatus::Error)
            }
            Err(e) if args.once => return Err(e),
            Err(e) => {
                eprintln!("agent: pass failed: {e:#}");
                true
            }
        };
        wake = if again {
            // The VMs in error are not in `realized`: they are read again.
            std::thread::sleep(RETRY_AFTER_ERROR);
            Wake::Changes
        } else {
            trigger.wait()
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nicplane_domain::ids::NetworkId;
    use nicplane_domain::types::MacAddr;

    fn iface(order: Option<u32>, parent: Option<InterfaceId>) -> DesiredInterface {
        DesiredInterface {
            id: InterfaceId::new(),
            mac_address: MacAddr([2, 0, 0, 0, 0, order.unwrap_or(9) as u8]),
            primary: order == Some(0),
            order,
            network_id: NetworkId::new(),
            network_kind: NetworkKind::Standard,
            fixed_ips: vec![],
            parent_id: parent,
            vlan_id: parent.map(|_| 100),
            port_security_enabled: true,
            security_groups: vec![],
            allowed_address_pairs: vec![],
        }
    }

    /// Interfaces made in the same millisecond (time-ordered ids share
    /// their first digits) get distinct device names; an interface with a
    /// random id keeps the name it had before ids became time-ordered.
    #[test]
    fn interface_device_names_differ_within_a_millisecond() {
        let names = Names::new("np").unwrap();
        let ids: Vec<InterfaceId> = (0..64).map(|_| InterfaceId::new()).collect();
        let ends: BTreeSet<String> = ids.iter().map(|i| names.host_end(i)).collect();
        assert_eq!(ends.len(), ids.len(), "{ends:?}");
        assert!(ends.iter().all(|e| e.len() <= 15), "{ends:?}");
        let old: InterfaceId = "01a24a58-1111-4222-8333-444455556666".parse().unwrap();
        assert_eq!(names.host_end(&old), "np-h-01a24a58");
    }

    fn have(links: &[(&str, &DesiredInterface)]) -> BTreeMap<String, Link> {
        links
            .iter()
            .map(|(n, i)| {
                (
                    n.to_string(),
                    Link {
                        alias: i.id.to_string(),
                        ..Link::default()
                    },
                )
            })
            .collect()
    }

    fn names(want: &[DesiredInterface], have: &BTreeMap<String, Link>) -> Vec<String> {
        let vm = DesiredVm {
            id: VmId::new(),
            name: "vm".into(),
            power_state: PowerState::Running,
            os_type: nicplane_domain::types::OsType::Linux,
            interfaces: want.to_vec(),
        };
        stable_names(&want_links(&vm), have)
            .into_iter()
            .map(|w| w.name)
            .collect()
    }

    #[test]
    fn a_batch_failure_belongs_to_its_line() {
        let stderr = "RTNETLINK answers: File exists\nCommand failed -:2\n\
                      Cannot find device \"eth1\"\nCommand failed -:4\n";
        let out = batch_outcome(stderr, 4, false).unwrap();
        assert_eq!(
            out,
            vec![
                None,
                Some("RTNETLINK answers: File exists".to_string()),
                None,
                Some("Cannot find device \"eth1\"".to_string()),
            ]
        );
        assert_eq!(batch_outcome("", 3, true).unwrap(), vec![None; 3]);
        // ip stopped at a malformed line: the whole batch failed.
        let stopped =
            "Command failed -:1\nError: any valid prefix is expected rather than \"x\".\n";
        assert!(batch_outcome(stopped, 3, false).is_err());
        assert!(batch_outcome("", 3, false).is_err());
    }

    #[test]
    fn default_routes_are_read_from_proc() {
        let v4 =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                  eth0\t00000000\t0100090A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                  eth0\t0000090A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        let want_gw = std::net::Ipv4Addr::new(10, 9, 0, 1).to_string();
        let got = default_routes_v4(v4);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0]["dev"], "eth0");
        // Stored in network order and printed as a host integer.
        if cfg!(target_endian = "little") {
            assert_eq!(got[0]["gateway"], want_gw.as_str());
        }
        let z = "00000000000000000000000000000000";
        let v6 = format!(
            "fd000000000000000000000000000000 40 {z} 00 {z} 00000100 00000001 00000000 00000001 eth0\n\
             {z} 00 {z} 00 fd000000000000000000000000000001 00000400 00000001 00000000 00000003 eth0\n\
             {z} 00 {z} 00 {z} ffffffff 00000001 00000000 00200200 lo\n"
        );
        let got = default_routes_v6(&v6);
        assert_eq!(
            got.len(),
            1,
            "the null route on lo is not a default route: {got:?}"
        );
        assert_eq!(got[0]["gateway"], "fd00::1");
        assert_eq!(got[0]["dev"], "eth0");
        assert!(default_routes_v6(&format!(
            "{z} 00 {z} 00 {z} ffffffff 00000001 00000000 00200200 lo\n"
        ))
        .is_empty());
    }

    #[test]
    fn a_nic_keeps_its_link_name_when_an_earlier_one_goes() {
        let p = iface(Some(0), None);
        let a = iface(Some(1), None);
        let b = iface(Some(2), None);
        // From nothing: the order's names; a VLAN child follows its parent.
        let v = iface(None, Some(b.id));
        assert_eq!(
            names(
                &[p.clone(), a.clone(), b.clone(), v.clone()],
                &BTreeMap::new()
            ),
            ["eth0", "eth1", "eth2", "eth2.100"]
        );
        // `a` detached: `b` is ranked 1 now but keeps eth2, and so does its child.
        let mut b1 = b.clone();
        b1.order = Some(1);
        let existing = have(&[("eth0", &p), ("eth1", &a), ("eth2", &b)]);
        assert_eq!(
            names(&[p.clone(), b1.clone(), v.clone()], &existing),
            ["eth0", "eth2", "eth2.100"]
        );
        // A new one ranked 2 finds eth2 taken: the lowest free name.
        let c = iface(Some(2), None);
        let existing = have(&[("eth0", &p), ("eth2", &b)]);
        assert_eq!(names(&[p, b1, c], &existing), ["eth0", "eth2", "eth1"]);
    }
}
