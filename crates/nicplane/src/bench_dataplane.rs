//! `nicplane bench dataplane` (issue 13, "Benchmark"): what the reference
//! agent costs on this machine. It starts a server (or targets `--url`),
//! registers a host, and measures
//!
//! (a) with the agent running (`--trigger feed` by default): the time from
//!     an attach request to the interface being `ACTIVE`, and to the first
//!     ping reply through it (from the VM's namespace to another VM on the
//!     network), over `--attaches` attaches, each detached again;
//! (b) a cold start: `--interfaces` interfaces on VMs pinned to the host,
//!     realized by one `nicplane agent --once` from an empty kernel;
//! (c) a restart with nothing drifted: another `--once`, which must change
//!     nothing.
//!
//! It needs root (network namespaces), touches only namespaces with its
//! `--prefix` (removed at the end, even on failure) and is bounded: every
//! wait has a deadline. Figures, not asserts; never part of the test suite
//! (tests/agent_follow.rs runs it once with tiny counts).

use crate::bench_http::BenchServer;
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use nicplane_client::Client;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Arguments of `nicplane bench dataplane`.
#[derive(Args, Debug, Clone)]
pub struct DataplaneArgs {
    /// Attaches measured in phase (a).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub attaches: u64,
    /// Interfaces on the host for the cold start and the restart.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=20_000))]
    pub interfaces: u64,
    /// Interfaces per VM in the cold start (the primary and up to four
    /// more).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=5))]
    pub per_vm: u64,
    /// What starts the running agent's passes in phase (a).
    #[arg(long, value_enum, default_value_t = crate::agent::TriggerKind::Feed)]
    pub trigger: crate::agent::TriggerKind,
    /// Prefix of the kernel objects (1 to 3 lowercase letters or digits).
    #[arg(long, default_value = "bd")]
    pub prefix: String,
    /// Target this server instead of starting one (log in as `admin` with
    /// NICPLANE_ADMIN_PASSWORD).
    #[arg(long)]
    pub url: Option<String>,
    /// Give up a wait after this many seconds.
    #[arg(long, default_value_t = 120)]
    pub seconds: u64,
}

/// Status polls per second while timing an attach.
const STATUS_POLL: Duration = Duration::from_millis(2);
/// Requests in flight while creating the cold start's VMs.
const CREATORS: usize = 4;

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        == Some("0")
}

/// Every namespace with the prefix, removed when dropped.
struct Namespaces(String);

impl Namespaces {
    fn list(&self) -> Vec<String> {
        let out = Command::new("ip").args(["-json", "netns", "list"]).output();
        let Ok(out) = out else { return vec![] };
        let v: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
        v.iter()
            .filter_map(|n| n["name"].as_str())
            .filter(|n| n.starts_with(&format!("{}-", self.0)))
            .map(String::from)
            .collect()
    }
    fn clear(&self) {
        for ns in self.list() {
            let _ = Command::new("ip").args(["netns", "del", &ns]).status();
        }
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        self.clear();
    }
}

/// A running agent, killed when dropped.
struct AgentProcess(Child);

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Bench {
    exe: PathBuf,
    url: String,
    credential: String,
    host: String,
    prefix: String,
    admin: Client,
    project: String,
    dc: String,
    deadline: Duration,
}

pub fn run(a: DataplaneArgs) -> Result<()> {
    if !is_root() {
        bail!("nicplane bench dataplane needs root: it creates network namespaces");
    }
    crate::agent::Names::new(&a.prefix)?;
    let ns = Namespaces(a.prefix.clone());
    if !ns.list().is_empty() {
        bail!(
            "namespaces with the prefix '{}' exist already: choose another --prefix",
            a.prefix
        );
    }
    let exe = std::env::current_exe().context("cannot find the nicplane executable")?;
    let scratch = std::env::temp_dir().join(format!(
        "nicplane-dataplane-{}-{:x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let result = (|| {
        let (_server, url, password) = match &a.url {
            Some(u) => (
                None,
                u.clone(),
                std::env::var("NICPLANE_ADMIN_PASSWORD")
                    .map_err(|_| anyhow!("set NICPLANE_ADMIN_PASSWORD to target --url"))?,
            ),
            None => {
                std::fs::create_dir_all(&scratch)?;
                let password = std::env::var("NICPLANE_ADMIN_PASSWORD")
                    .unwrap_or_else(|_| format!("bench-{}", rand::random::<u64>()));
                let key = nicplane_service::secret_box::generate_key_text();
                let s =
                    BenchServer::start(&exe, &scratch, None, 8, "normal", &password, &key, &[])?;
                let url = s.url.clone();
                (Some(s), url, password)
            }
        };
        let b = Bench::setup(&a, exe.clone(), &url, &password)?;
        b.run(&a, &ns)
    })();
    ns.clear();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn api(e: nicplane_client::ClientError) -> anyhow::Error {
    anyhow!("{e}")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Where the running agent's log goes: the file named by
/// `NICPLANE_BENCH_AGENT_LOG` (appended to), else nowhere.
fn agent_log() -> Result<Stdio> {
    match std::env::var_os("NICPLANE_BENCH_AGENT_LOG") {
        Some(path) => Ok(std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.to_string_lossy()))?
            .into()),
        None => Ok(Stdio::null()),
    }
}

fn summary(label: &str, mut ms: Vec<f64>) {
    ms.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{label} p50={:.1}ms p99={:.1}ms max={:.1}ms",
        percentile(&ms, 0.5),
        percentile(&ms, 0.99),
        ms.last().copied().unwrap_or(0.0)
    );
}

impl Bench {
    fn setup(a: &DataplaneArgs, exe: PathBuf, url: &str, password: &str) -> Result<Bench> {
        let mut admin = Client::new(url);
        let login = admin
            .login("admin", password)
            .map_err(|e| anyhow!("cannot log in as admin: {e}"))?;
        let tag = format!("{:08x}", rand::random::<u32>());
        let dc = admin
            .data_centers()
            .map_err(api)?
            .first()
            .ok_or_else(|| anyhow!("no data center"))?
            .id
            .to_string();
        let host = format!("bench-{tag}");
        let created = admin.host_create(&host, &dc).map_err(api)?;
        let credential = created["credential"]
            .as_str()
            .ok_or_else(|| anyhow!("no credential in {created}"))?
            .to_string();
        let project = admin
            .project_create(&format!("bench-dp-{tag}"))
            .map_err(api)?
            .id
            .to_string();
        admin
            .member_set(&project, &login.user.id.to_string(), "admin")
            .map_err(api)?;
        admin
            .quota_set(&project, &json!({"port": -1}))
            .map_err(api)?;
        Ok(Bench {
            exe,
            url: url.to_string(),
            credential,
            host,
            prefix: a.prefix.clone(),
            admin,
            project,
            dc,
            deadline: Duration::from_secs(a.seconds),
        })
    }

    fn agent(&self, extra: &[&str]) -> Command {
        let mut c = Command::new(&self.exe);
        c.args(["agent", "--url", &self.url, "--host", &self.host])
            .args(["--prefix", &self.prefix])
            .args(extra)
            .env("NICPLANE_AGENT_CREDENTIAL", &self.credential)
            .env_remove("NICPLANE_AGENT_CREDENTIAL_FILE");
        c
    }

    /// `nicplane agent --once`: (changes, seconds).
    fn once(&self) -> Result<(u64, f64)> {
        let t = Instant::now();
        let out = self
            .agent(&["--once"])
            .stderr(Stdio::null())
            .output()
            .context("cannot run the agent")?;
        let took = t.elapsed().as_secs_f64();
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            bail!("agent --once failed: {text}");
        }
        let changes = text
            .trim()
            .strip_suffix(" changes")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| anyhow!("agent --once printed '{}'", text.trim()))?;
        Ok((changes, took))
    }

    fn vm_ns(&self, vm: &str) -> String {
        let short: String = vm.chars().filter(|c| *c != '-').take(8).collect();
        format!("{}-vm-{short}", self.prefix)
    }

    fn vm(&self, name: &str) -> Result<(String, String)> {
        let v: Value = self
            .admin
            .post(
                &format!("/v1/projects/{}/vms", self.project),
                &json!({"name": name, "data_center_id": self.dc, "os_type": "linux",
                        "power_state": "running", "host": self.host}),
            )
            .map_err(api)?;
        let id = v["id"].as_str().ok_or_else(|| anyhow!("no VM id"))?;
        let primary = v["interfaces"][0]["id"]
            .as_str()
            .ok_or_else(|| anyhow!("no primary interface"))?;
        Ok((id.to_string(), primary.to_string()))
    }

    fn status(&self, iface: &str) -> Result<String> {
        let v: Value = self
            .admin
            .get(&format!("/v1/projects/{}/interfaces/{iface}", self.project))
            .map_err(api)?;
        Ok(v["status"].as_str().unwrap_or_default().to_string())
    }

    fn wait_for(&self, what: &str, mut f: impl FnMut() -> Result<bool>) -> Result<()> {
        let end = Instant::now() + self.deadline;
        while Instant::now() < end {
            if f()? {
                return Ok(());
            }
            std::thread::sleep(STATUS_POLL);
        }
        bail!(
            "gave up after {} s waiting for {what}",
            self.deadline.as_secs()
        )
    }

    fn run(&self, a: &DataplaneArgs, ns: &Namespaces) -> Result<()> {
        let build = if cfg!(debug_assertions) {
            "dev"
        } else {
            "release"
        };
        println!(
            "nicplane bench dataplane: {build} build, trigger {:?}, {} attaches, {} interfaces ({} per VM)",
            a.trigger, a.attaches, a.interfaces, a.per_vm
        );
        self.attaches(a, "")?;
        ns.clear();
        self.cold_start_and_restart(a)?;
        // (d) Phase (a) again on the host the cold start filled: what an
        // attach costs where every pass would read every VM.
        let again = DataplaneArgs {
            attaches: a.attaches.min(20),
            ..a.clone()
        };
        self.attaches(
            &again,
            &format!(" ({} interfaces on the host)", a.interfaces),
        )
    }

    /// Phase (a); `label` follows the figures' names.
    fn attaches(&self, a: &DataplaneArgs, label: &str) -> Result<()> {
        let trigger = match a.trigger {
            crate::agent::TriggerKind::Feed => "feed",
            crate::agent::TriggerKind::Poll => "poll",
        };
        let _agent = AgentProcess(
            self.agent(&["--trigger", trigger])
                .stdout(Stdio::null())
                .stderr(agent_log()?)
                .spawn()
                .context("cannot start the agent")?,
        );
        let net: Value = self
            .admin
            .network_create(
                &self.project,
                &json!({"name": "bench-dp", "data_center_id": self.dc, "kind": "standard",
                        "subnets": [{"cidr": "10.99.0.0/16"}]}),
            )
            .map(|d| json!(d.network.id.to_string()))
            .map_err(api)?;
        let net = net.as_str().unwrap_or_default().to_string();
        let (vm_a, primary_a) = self.vm("bench-a")?;
        let (vm_b, _) = self.vm("bench-b")?;
        let peer = self
            .admin
            .interface_attach(&self.project, &vm_b, &net, None)
            .map_err(api)?;
        let peer_ip = peer
            .fixed_ips
            .first()
            .map(|f| f.ip_address.to_string())
            .ok_or_else(|| anyhow!("the peer has no address"))?;
        let peer_id = peer.id.to_string();
        self.wait_for("the first VMs", || {
            Ok(self.status(&primary_a)? == "active" && self.status(&peer_id)? == "active")
        })?;
        let ns_a = self.vm_ns(&vm_a);
        let (mut to_active, mut to_ping) = (vec![], vec![]);
        for _ in 0..a.attaches {
            let t0 = Instant::now();
            let nic = self
                .admin
                .interface_attach(&self.project, &vm_a, &net, None)
                .map_err(api)?;
            // Pings every 2 ms until the first reply, timed on a thread of
            // its own. An error (the link is not there yet) ends a ping
            // early: it is started again, until the deadline.
            let (ns, to, secs) = (ns_a.clone(), peer_ip.clone(), a.seconds);
            let pinged = std::thread::spawn(move || {
                let end = t0 + Duration::from_secs(secs);
                while Instant::now() < end {
                    let ok = Command::new("ip")
                        .args([
                            "netns", "exec", &ns, "ping", "-n", "-q", "-c", "1", "-i", "0.002",
                        ])
                        .args(["-w", "1", &to])
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status()
                        .is_ok_and(|s| s.success());
                    if ok {
                        return (true, t0.elapsed());
                    }
                }
                (false, t0.elapsed())
            });
            let id = nic.id.to_string();
            self.wait_for("an attach to be active", || {
                Ok(self.status(&id)? == "active")
            })?;
            to_active.push(t0.elapsed().as_secs_f64() * 1000.0);
            // Bounded: ping gives up after its deadline (-w).
            let (ok, took) = pinged
                .join()
                .map_err(|_| anyhow!("the ping thread panicked"))?;
            if !ok {
                bail!("no ping reply from {peer_ip} through the new interface");
            }
            to_ping.push(took.as_secs_f64() * 1000.0);
            self.admin
                .interface_detach(&self.project, &vm_a, &id)
                .map_err(api)?;
            self.wait_for("a detached link to go", || {
                Ok(!Command::new("ip")
                    .args(["-n", &ns_a, "link", "show", "dev", "eth1"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()?
                    .success())
            })?;
        }
        summary(&format!("attach to ACTIVE{label}:"), to_active);
        summary(&format!("attach to first ping{label}:"), to_ping);
        for vm in [&vm_a, &vm_b] {
            self.admin.vm_delete(&self.project, vm).map_err(api)?;
        }
        Ok(())
    }

    /// Phases (b) and (c).
    fn cold_start_and_restart(&self, a: &DataplaneArgs) -> Result<()> {
        let net = self
            .admin
            .network_create(
                &self.project,
                &json!({"name": "bench-cold", "data_center_id": self.dc, "kind": "standard",
                        "subnets": [{"cidr": "10.98.0.0/16"}]}),
            )
            .map_err(api)?
            .network
            .id
            .to_string();
        let vms = a.interfaces.div_ceil(a.per_vm);
        let made = Instant::now();
        let next = std::sync::atomic::AtomicU64::new(0);
        let made_ifaces = std::sync::atomic::AtomicU64::new(0);
        std::thread::scope(|s| -> Result<()> {
            let workers: Vec<_> = (0..CREATORS)
                .map(|_| {
                    s.spawn(|| -> Result<()> {
                        // Bounded by the count: each VM is taken once.
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            if i >= vms {
                                return Ok(());
                            }
                            let (vm, _) = self.vm(&format!("cold-{i}"))?;
                            let mut n =
                                made_ifaces.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                            for _ in 1..a.per_vm {
                                if n >= a.interfaces {
                                    break;
                                }
                                self.admin
                                    .interface_attach(&self.project, &vm, &net, None)
                                    .map_err(api)?;
                                n = made_ifaces.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                                    + 1;
                            }
                        }
                    })
                })
                .collect();
            for w in workers {
                w.join().map_err(|_| anyhow!("a creator panicked"))??;
            }
            Ok(())
        })?;
        let total = made_ifaces.load(std::sync::atomic::Ordering::SeqCst);
        eprintln!(
            "created {vms} VMs with {total} interfaces in {:.1} s",
            made.elapsed().as_secs_f64()
        );
        let (changes, cold) = self.once()?;
        println!("cold start: interfaces={total} changes={changes} seconds={cold:.2}");
        let (changes, restart) = self.once()?;
        println!("restart: changes={changes} seconds={restart:.2}");
        Ok(())
    }
}
