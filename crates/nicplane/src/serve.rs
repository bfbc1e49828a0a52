//! `nicplane serve`: open the store, bootstrap, listen.

use anyhow::{Context, Result};
use clap::Args;
use ipnet::IpNet;
use nicplane_domain::types::MacPrefix;
use nicplane_http::listener::{self, ServerLimits};
use nicplane_http::{AppState, HttpConfig};
use nicplane_service::bootstrap::BootstrapOptions;
use nicplane_service::secret_box::{self, Keyring};
use nicplane_service::{auth, login_guard};
use nicplane_service::{Config, Service};
use nicplane_store::{Store, StoreOptions, Synchronous};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The secret key that seals stored AK/SK secrets: 64 hex digits or base64
/// of 32 bytes. Takes precedence over the key file. Every server sharing one
/// database must have the same key.
pub const SECRET_KEY_VAR: &str = "NICPLANE_SECRET_KEY";
/// The previous secret key during a rotation: it still opens secrets, and
/// they are sealed again with the current key at start.
pub const SECRET_KEY_PREVIOUS_VAR: &str = "NICPLANE_SECRET_KEY_PREVIOUS";
/// Name of the generated key file in the data directory.
pub const SECRET_KEY_FILE: &str = "secret.key";

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// TOML file of serve options (keys: these long options without `--`);
    /// flags and environment variables override it. Not `--config`, which
    /// names the CLI's session file.
    #[arg(long, env = "NICPLANE_CONFIG_FILE", value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// Address of the main listener (native API, OpenStack API, console).
    #[arg(long, env = "NICPLANE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory of the embedded SQLite database.
    #[arg(long, env = "NICPLANE_DATA_DIR", default_value = "nicplane-data")]
    pub data_dir: PathBuf,
    /// Store URL (`sqlite://PATH` or `postgres://...`); overrides --data-dir.
    #[arg(long, env = "NICPLANE_DATABASE_URL")]
    pub database: Option<String>,
    /// Also seed a demo project, users and VMs.
    #[arg(long, env = "NICPLANE_DEMO")]
    pub demo: bool,
    /// Most network interfaces per VM.
    #[arg(long, env = "NICPLANE_INTERFACE_LIMIT", value_parser = parse_positive_u32, default_value_t = 5)]
    pub interface_limit: u32,
    /// Most fixed IPs on one port (Neutron's `max_fixed_ips_per_port`).
    #[arg(long, env = "NICPLANE_MAX_FIXED_IPS_PER_PORT", value_parser = parse_positive_usize, default_value_t = nicplane_domain::rules::DEFAULT_MAX_FIXED_IPS_PER_PORT)]
    pub max_fixed_ips_per_port: usize,
    /// Most allowed address pairs on one port (Neutron's `max_allowed_address_pair`).
    #[arg(long, env = "NICPLANE_MAX_ALLOWED_ADDRESS_PAIRS", default_value_t = nicplane_domain::rules::DEFAULT_MAX_ALLOWED_ADDRESS_PAIRS)]
    pub max_allowed_address_pairs: usize,
    /// First three octets of generated MACs (locally administered).
    #[arg(long, env = "NICPLANE_MAC_PREFIX", default_value = "fa:16:3e", value_parser = parse_mac_prefix)]
    pub mac_prefix: String,
    /// Name of the data center created on first start.
    #[arg(long, env = "NICPLANE_DATA_CENTER", default_value = "dc1")]
    pub data_center: String,
    /// CIDR of the shared public IP pool created on first start.
    #[arg(long, env = "NICPLANE_PUBLIC_CIDR", default_value = "203.0.113.0/24")]
    pub public_cidr: IpNet,
    /// URL clients use to reach the main listener (default: from --listen).
    #[arg(long, env = "NICPLANE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Address of the Huawei Cloud-compatible listener (off when not set).
    #[arg(long, env = "NICPLANE_HUAWEI_LISTEN")]
    pub huawei_listen: Option<SocketAddr>,
    /// Address of the metrics listener, which serves `GET /metrics`
    /// (Prometheus text format) without authentication and nothing else
    /// (off when not set). Bind it where only the monitoring system reaches
    /// it (loopback or a management network): docs/security.md.
    #[arg(long, env = "NICPLANE_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Most subnets, public IP pools and projects each given their own
    /// capacity series on a scrape (the fullest first; the rest are counted
    /// in `nicplane_capacity_omitted`).
    #[arg(long, env = "NICPLANE_METRICS_MAX_OBJECTS", default_value_t = nicplane_http::metrics::DEFAULT_MAX_OBJECTS)]
    pub metrics_max_objects: usize,
    /// Log format: `human` (the default) or `json` (one JSON object per
    /// line, for a log collector).
    #[arg(long, env = "NICPLANE_LOG_FORMAT", default_value = "human", value_parser = ["human", "json"])]
    pub log_format: String,
    /// Read connections (SQLite) or pooled connections (PostgreSQL).
    #[arg(long, env = "NICPLANE_DB_POOL_SIZE", default_value_t = 8)]
    pub db_pool_size: usize,
    /// SQLite durability: `full` (every acknowledged write survives a power
    /// loss; one fsync per group commit) or `normal` (faster; the last
    /// writes can be lost on a power loss, never corrupted).
    #[arg(long, env = "NICPLANE_SQLITE_SYNCHRONOUS", default_value = "full", value_parser = parse_synchronous)]
    pub sqlite_synchronous: Synchronous,
    /// File holding the secret key that seals AK/SK secrets, used when
    /// NICPLANE_SECRET_KEY is not set; generated (mode 0600) when missing.
    /// Default: `secret.key` in the data directory.
    #[arg(long, env = "NICPLANE_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,
    /// Default quota of a resource, `RESOURCE=N` (N = -1 is unlimited);
    /// repeatable, comma-separated in the variable. Neutron's defaults
    /// otherwise: network=100, subnet=100, port=500, floatingip=50,
    /// security_group=10, security_group_rule=100.
    #[arg(long = "quota-default", env = "NICPLANE_QUOTA_DEFAULTS", value_delimiter = ',', value_parser = parse_quota_default)]
    pub quota_defaults: Vec<(nicplane_domain::quota::QuotaResource, i64)>,
    /// Seconds a client may take to send a request's header (at most 15).
    #[arg(long, env = "NICPLANE_HEADER_TIMEOUT", value_parser = parse_header_timeout, default_value_t = listener::DEFAULT_HEADER_TIMEOUT_SECS)]
    pub header_timeout: u64,
    /// Seconds a request may take before it is answered 503.
    #[arg(long, env = "NICPLANE_REQUEST_TIMEOUT", value_parser = parse_positive_seconds, default_value_t = listener::DEFAULT_REQUEST_TIMEOUT_SECS)]
    pub request_timeout: u64,
    /// Seconds a kept-alive connection may sit idle before it is closed.
    #[arg(long, env = "NICPLANE_IDLE_TIMEOUT", value_parser = parse_positive_seconds, default_value_t = listener::DEFAULT_IDLE_TIMEOUT_SECS)]
    pub idle_timeout: u64,
    /// Most connections served at once, per listener; more are answered 503.
    #[arg(long, env = "NICPLANE_MAX_CONNECTIONS", value_parser = parse_positive_usize, default_value_t = listener::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Shortest password accepted for new users and password changes.
    #[arg(long, env = "NICPLANE_PASSWORD_MIN_LENGTH", default_value_t = auth::DEFAULT_PASSWORD_MIN_LEN)]
    pub password_min_length: usize,
    /// Password hashes run at once (default: the number of cores).
    #[arg(long, env = "NICPLANE_LOGIN_CONCURRENCY", value_parser = parse_positive_usize)]
    pub login_concurrency: Option<usize>,
    /// Password checks that may wait for a hash slot; more are answered 429.
    #[arg(long, env = "NICPLANE_LOGIN_QUEUE", default_value_t = login_guard::DEFAULT_HASH_QUEUE)]
    pub login_queue: usize,
    /// Failed logins of one user name before delays start.
    #[arg(long, env = "NICPLANE_LOGIN_FREE_FAILURES", default_value_t = login_guard::DEFAULT_FREE_FAILURES)]
    pub login_free_failures: u32,
    /// Failed logins from one source address before delays start.
    #[arg(long, env = "NICPLANE_LOGIN_FREE_FAILURES_PER_ADDRESS", default_value_t = login_guard::DEFAULT_FREE_FAILURES_PER_ADDRESS)]
    pub login_free_failures_per_address: u32,
    /// Seconds of the first delay after the free failures (doubles each time).
    #[arg(long, env = "NICPLANE_LOGIN_BASE_DELAY", default_value_t = login_guard::DEFAULT_BASE_DELAY_SECS)]
    pub login_base_delay: u64,
    /// Longest delay between failed logins, in seconds.
    #[arg(long, env = "NICPLANE_LOGIN_MAX_DELAY", value_parser = parse_seconds, default_value_t = login_guard::DEFAULT_MAX_DELAY_SECS)]
    pub login_max_delay: u64,
    /// Seconds after its last failure when a user name's or address's record is forgotten.
    #[arg(long, env = "NICPLANE_LOGIN_WINDOW", value_parser = parse_seconds, default_value_t = login_guard::DEFAULT_WINDOW_SECS)]
    pub login_window: u64,
    /// Most user names and addresses whose failures are remembered.
    #[arg(long, env = "NICPLANE_LOGIN_MAX_ENTRIES", value_parser = parse_positive_usize, default_value_t = login_guard::DEFAULT_MAX_ENTRIES)]
    pub login_max_entries: usize,
    /// Lifetime of a login token, in seconds.
    #[arg(long, env = "NICPLANE_TOKEN_TTL", value_parser = parse_positive_seconds, default_value_t = 12 * 3600)]
    pub token_ttl: u64,
    /// SQLite: how long a verified token is answered from memory, in
    /// milliseconds (0: every request reads its token). Revocation stays
    /// immediate; PostgreSQL never caches (docs/performance.md).
    #[arg(long, env = "NICPLANE_TOKEN_CACHE_MS", value_parser = clap::value_parser!(u64).range(0..=60_000), default_value_t = nicplane_service::auth::TOKEN_CACHE_TTL.as_millis() as u64)]
    pub token_cache_ms: u64,
    /// Seconds an Idempotency-Key's answer is kept.
    #[arg(long, env = "NICPLANE_IDEMPOTENCY_TTL", value_parser = parse_seconds, default_value_t = nicplane_service::DEFAULT_IDEMPOTENCY_TTL_SECS)]
    pub idempotency_ttl: u64,
    /// Seconds a finished job is kept.
    #[arg(long, env = "NICPLANE_JOB_TTL", value_parser = parse_seconds, default_value_t = nicplane_service::DEFAULT_JOB_TTL_SECS)]
    pub job_ttl: u64,
    /// Days a change-feed event is kept (docs/feed.md); 0 keeps none but the newest.
    #[arg(long, env = "NICPLANE_EVENT_RETENTION_DAYS", value_parser = parse_retention_days, default_value_t = nicplane_service::feed::DEFAULT_RETENTION_DAYS)]
    pub event_retention_days: u64,
    /// Most change-feed events kept (the oldest go first).
    #[arg(long, env = "NICPLANE_EVENT_RETENTION_COUNT", value_parser = parse_positive_u64, default_value_t = nicplane_service::feed::DEFAULT_RETENTION_COUNT)]
    pub event_retention_count: u64,
    /// Seconds between purges of expired tokens, idempotency keys, jobs and
    /// change-feed events beyond the retention.
    #[arg(long, env = "NICPLANE_PURGE_INTERVAL", value_parser = parse_positive_seconds, default_value_t = DEFAULT_PURGE_INTERVAL_SECS)]
    pub purge_interval: u64,
}

fn parse_synchronous(s: &str) -> Result<Synchronous, String> {
    s.parse().map_err(|e: nicplane_domain::Error| e.to_string())
}

/// The keyring from `NICPLANE_SECRET_KEY` (+ `_PREVIOUS`), or from the key
/// file, which is generated with mode 0600 on first start.
fn load_keyring(a: &ServeArgs) -> Result<Keyring> {
    let parse = |var: &str, text: &str| {
        secret_box::parse_key(text).map_err(|e| anyhow::anyhow!("{var}: {e}"))
    };
    let previous = match std::env::var(SECRET_KEY_PREVIOUS_VAR) {
        Ok(t) if !t.trim().is_empty() => Some(parse(SECRET_KEY_PREVIOUS_VAR, &t)?),
        _ => None,
    };
    let current = match std::env::var(SECRET_KEY_VAR) {
        Ok(t) if !t.trim().is_empty() => parse(SECRET_KEY_VAR, &t)?,
        _ => {
            let path = a
                .secret_key_file
                .clone()
                .unwrap_or_else(|| a.data_dir.join(SECRET_KEY_FILE));
            let text = read_or_create_key_file(&path)?;
            parse(&path.display().to_string(), &text)?
        }
    };
    Ok(Keyring::new(&current, previous.as_ref()))
}

/// Read the key file, or create it with a fresh key, readable by the owner only.
fn read_or_create_key_file(path: &Path) -> Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => return Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read the key file {}", path.display()))
        }
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let text = secret_box::generate_key_text();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut f) => {
            use std::io::Write;
            f.write_all(format!("{text}\n").as_bytes())
                .and_then(|_| f.sync_all())
                .with_context(|| format!("cannot write the key file {}", path.display()))?;
            tracing::info!(path = %path.display(), "generated the secret key file");
            Ok(text)
        }
        // Another server on this directory created it first.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the key file {}", path.display())),
        Err(e) => Err(e).with_context(|| format!("cannot create the key file {}", path.display())),
    }
}

/// Parse `RESOURCE=N` of `--quota-default`.
fn parse_quota_default(
    s: &str,
) -> std::result::Result<(nicplane_domain::quota::QuotaResource, i64), String> {
    let (r, n) = s
        .split_once('=')
        .ok_or_else(|| format!("expected RESOURCE=N, got {s}"))?;
    let r: nicplane_domain::quota::QuotaResource = r.trim().parse().map_err(|e| format!("{e}"))?;
    let n: i64 = n
        .trim()
        .parse()
        .map_err(|_| format!("the quota of {r} must be an integer, got {n}"))?;
    nicplane_domain::rules::quota_limit_valid(r, n).map_err(|e| e.to_string())?;
    Ok((r, n))
}

/// Start the log: to stderr, filtered by `NICPLANE_LOG` (default `info`),
/// human-readable (coloured on a terminal), or one JSON object per line with the event's fields at
/// the top level (`NICPLANE_LOG_FORMAT=json`; docs/operations.md, "Logs").
fn init_logs(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("NICPLANE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // Colours only on a terminal: a log file or a collector gets plain text.
    let builder = builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if format == "json" {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init();
    } else {
        builder.init();
    }
}

/// Longest lifetime or delay accepted (ten years), so Unix-time arithmetic
/// cannot overflow.
const MAX_DURATION_SECS: u64 = 10 * 365 * 24 * 3600;

// Range checks live in the options' parsers, so a bad value is refused the
// same way from a flag, a variable or the config file (which names its key).

fn parse_number<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a whole number"))
}

fn parse_positive_u32(s: &str) -> Result<u32, String> {
    match parse_number(s)? {
        0 => Err("must be at least 1".into()),
        n => Ok(n),
    }
}

fn parse_positive_usize(s: &str) -> Result<usize, String> {
    match parse_number(s)? {
        0 => Err("must be at least 1".into()),
        n => Ok(n),
    }
}

fn parse_seconds(s: &str) -> Result<u64, String> {
    match parse_number(s)? {
        n if n > MAX_DURATION_SECS => Err(format!(
            "must be at most {MAX_DURATION_SECS} seconds (ten years)"
        )),
        n => Ok(n),
    }
}

/// Most days of `--event-retention-days` (ten years).
const MAX_RETENTION_DAYS: u64 = 3650;

fn parse_retention_days(s: &str) -> Result<u64, String> {
    match parse_number(s)? {
        n if n > MAX_RETENTION_DAYS => Err(format!(
            "must be at most {MAX_RETENTION_DAYS} days (ten years)"
        )),
        n => Ok(n),
    }
}

fn parse_positive_u64(s: &str) -> Result<u64, String> {
    match parse_number(s)? {
        0 => Err("must be at least 1".into()),
        n => Ok(n),
    }
}

fn parse_positive_seconds(s: &str) -> Result<u64, String> {
    match parse_seconds(s)? {
        0 => Err("must be at least 1".into()),
        n => Ok(n),
    }
}

fn parse_mac_prefix(s: &str) -> Result<String, String> {
    s.parse::<MacPrefix>()
        .map(|_| s.to_string())
        .map_err(|e| e.to_string())
}

fn parse_header_timeout(s: &str) -> Result<u64, String> {
    match parse_number(s)? {
        n if n == 0 || n > listener::MAX_HEADER_TIMEOUT_SECS => Err(format!(
            "must be between 1 and {} seconds",
            listener::MAX_HEADER_TIMEOUT_SECS
        )),
        n => Ok(n),
    }
}

/// Default of `--purge-interval`.
pub const DEFAULT_PURGE_INTERVAL_SECS: u64 = 300;

/// The store URL the arguments name.
pub fn database_url(a: &ServeArgs) -> String {
    match &a.database {
        Some(u) => u.clone(),
        None => format!("sqlite://{}", sqlite_file(&a.data_dir).display()),
    }
}

/// The SQLite database file in a data directory.
pub fn sqlite_file(data_dir: &Path) -> PathBuf {
    data_dir.join(SQLITE_FILE)
}

/// Name of the SQLite database in the data directory.
pub const SQLITE_FILE: &str = "nicplane.db";

pub fn run(a: ServeArgs) -> Result<()> {
    init_logs(&a.log_format);
    let mac_prefix: MacPrefix = a.mac_prefix.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(serve(a, mac_prefix))
}

async fn serve(a: ServeArgs, mac_prefix: MacPrefix) -> Result<()> {
    let url = database_url(&a);
    let keyring = load_keyring(&a)?;
    let store = Store::open(
        &url,
        StoreOptions {
            readers: a.db_pool_size.max(1),
            pool_size: a.db_pool_size.max(1),
            sqlite_synchronous: a.sqlite_synchronous,
            ..Default::default()
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}"))
    .with_context(|| format!("cannot open the store {url}"))?;
    let service = Service::new(
        store,
        Config {
            interface_limit: a.interface_limit,
            mac_prefix,
            secret_keys: Arc::new(keyring),
            max_fixed_ips_per_port: a.max_fixed_ips_per_port,
            max_allowed_address_pairs: a.max_allowed_address_pairs,
            quota_defaults: quota_defaults(&a.quota_defaults),
            token_ttl: Duration::from_secs(a.token_ttl),
            password_min_length: a.password_min_length,
            login: login_guard::LoginLimits {
                hash_concurrency: a.login_concurrency.unwrap_or_else(login_guard::cores),
                hash_queue: a.login_queue,
                free_failures: a.login_free_failures,
                free_failures_per_address: a.login_free_failures_per_address,
                base_delay: Duration::from_secs(a.login_base_delay),
                max_delay: Duration::from_secs(a.login_max_delay),
                window: Duration::from_secs(a.login_window),
                max_entries: a.login_max_entries,
            },
            idempotency_ttl: Duration::from_secs(a.idempotency_ttl),
            job_ttl: Duration::from_secs(a.job_ttl),
            token_cache_ttl: Duration::from_millis(a.token_cache_ms),
            event_retention: nicplane_service::feed::Retention {
                days: a.event_retention_days,
                count: a.event_retention_count,
            },
        },
    );
    // Refuse to start with a key that cannot open the stored secrets; seal
    // any secret still in clear, re-seal those of a previous key.
    let sealed = service
        .credential_secrets_seal()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("the secret key does not match the database")?;
    if sealed.sealed + sealed.resealed > 0 {
        tracing::info!(
            sealed = sealed.sealed,
            resealed = sealed.resealed,
            "sealed stored access key secrets with the current secret key"
        );
    }
    service
        .quota_defaults_apply()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("cannot set the default quotas")?;
    let report = service
        .bootstrap(&BootstrapOptions {
            admin_password: std::env::var("NICPLANE_ADMIN_PASSWORD").ok(),
            data_center: a.data_center.clone(),
            public_cidr: a.public_cidr,
            demo: a.demo,
            demo_device_owner: nicplane_http::native::VM_DEVICE_OWNER.into(),
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("bootstrap failed")?;
    if let Some(pw) = &report.generated_password {
        println!("Created the cloud admin 'admin' with the generated password: {pw}");
        println!("(set NICPLANE_ADMIN_PASSWORD before the first start to choose it)");
    }
    for (name, pw, role) in &report.demo_users {
        println!("Demo user {name} / {pw} ({}) in project demo", role.title());
    }
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .with_context(|| format!("cannot listen on {}", a.listen))?;
    let local = listener.local_addr()?;
    let public_url = a
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"))
        .trim_end_matches('/')
        .to_string();
    let huawei = match a.huawei_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?,
        ),
        None => None,
    };
    let metrics_listener = match a.metrics_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?,
        ),
        None => None,
    };
    let huawei_url = match &huawei {
        Some(l) => Some(format!("http://{}", l.local_addr()?)),
        None => None,
    };
    spawn_purge(service.clone(), Duration::from_secs(a.purge_interval));
    tokio::spawn(service.clone().feed_run());
    let limits = ServerLimits {
        header_timeout: Duration::from_secs(a.header_timeout),
        request_timeout: Duration::from_secs(a.request_timeout),
        idle_timeout: Duration::from_secs(a.idle_timeout),
        max_connections: a.max_connections,
    };
    let state = AppState {
        service,
        config: Arc::new(HttpConfig {
            public_url: public_url.clone(),
            huawei_url: huawei_url.clone(),
        }),
        metrics: Default::default(),
    };
    println!(
        "nicplane listening on {public_url} (store {})",
        redact(&url)
    );
    if let Some(u) = &huawei_url {
        println!("Huawei Cloud-compatible endpoint on {u}");
    }
    if let Some(l) = metrics_listener {
        println!("Metrics endpoint on http://{}/metrics", l.local_addr()?);
        let app = nicplane_http::metrics::metrics_router(state.clone(), a.metrics_max_objects);
        let limits = limits.clone();
        tokio::spawn(async move {
            if let Err(e) = listener::serve(l, app, limits, shutdown()).await {
                tracing::error!(error = %e, "metrics listener failed");
            }
        });
    }
    if let Some(l) = huawei {
        let app = nicplane_http::huawei_router(state.clone());
        let limits = limits.clone();
        let measure = listener::Measure {
            metrics: state.metrics.clone(),
            listener: "huawei",
        };
        tokio::spawn(async move {
            if let Err(e) =
                listener::serve_measured(l, app, limits, shutdown(), Some(measure)).await
            {
                tracing::error!(error = %e, "huawei listener failed");
            }
        });
    }
    let measure = listener::Measure {
        metrics: state.metrics.clone(),
        listener: "main",
    };
    let app = nicplane_http::router(state);
    listener::serve_measured(listener, app, limits, shutdown(), Some(measure))
        .await
        .context("server failed")?;
    Ok(())
}

/// Purge expired tokens, old idempotency keys, finished jobs and the
/// change-feed events beyond the retention every
/// `every` (bounded batches; see `Service::purge_expired`). Several servers
/// sharing a store may purge at once: each delete is idempotent.
fn spawn_purge(service: Service, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match service.purge_expired().await {
                Ok(p) if p != Default::default() => tracing::info!(
                    tokens = p.tokens,
                    idempotency_keys = p.idempotency_keys,
                    jobs = p.jobs,
                    "purged expired rows"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "purge failed"),
            }
            match service.feed_prune().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(events = n, "pruned change-feed events"),
                Err(e) => tracing::warn!(error = %e, "change-feed pruning failed"),
            }
        }
    });
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_string(),
    }
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Neutron's defaults with the configured ones applied over them.
fn quota_defaults(
    set: &[(nicplane_domain::quota::QuotaResource, i64)],
) -> Vec<(nicplane_domain::quota::QuotaResource, i64)> {
    let mut out = nicplane_service::quota::neutron_defaults();
    for (r, n) in set {
        for d in out.iter_mut().filter(|d| d.0 == *r) {
            d.1 = *n;
        }
    }
    out
}
