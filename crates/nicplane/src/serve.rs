//! `nicplane serve`: open the store, bootstrap, listen.

use anyhow::{Context, Result};
use clap::Args;
use ipnet::IpNet;
use nicplane_domain::types::MacPrefix;
use nicplane_http::listener::{self, ServerLimits};
use nicplane_http::{AppState, HttpConfig};
use nicplane_service::bootstrap::BootstrapOptions;
use nicplane_service::{auth, login_guard};
use nicplane_service::{Config, Service};
use nicplane_store::{Store, StoreOptions};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
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
    #[arg(long)]
    pub demo: bool,
    /// Most network interfaces per VM.
    #[arg(long, env = "NICPLANE_INTERFACE_LIMIT", default_value_t = 5)]
    pub interface_limit: u32,
    /// First three octets of generated MACs (locally administered).
    #[arg(long, env = "NICPLANE_MAC_PREFIX", default_value = "fa:16:3e")]
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
    /// Read connections (SQLite) or pooled connections (PostgreSQL).
    #[arg(long, env = "NICPLANE_DB_POOL_SIZE", default_value_t = 8)]
    pub db_pool_size: usize,
    /// Seconds a client may take to send a request's header (at most 15).
    #[arg(long, env = "NICPLANE_HEADER_TIMEOUT", default_value_t = listener::DEFAULT_HEADER_TIMEOUT_SECS)]
    pub header_timeout: u64,
    /// Seconds a request may take before it is answered 503.
    #[arg(long, env = "NICPLANE_REQUEST_TIMEOUT", default_value_t = listener::DEFAULT_REQUEST_TIMEOUT_SECS)]
    pub request_timeout: u64,
    /// Seconds a kept-alive connection may sit idle before it is closed.
    #[arg(long, env = "NICPLANE_IDLE_TIMEOUT", default_value_t = listener::DEFAULT_IDLE_TIMEOUT_SECS)]
    pub idle_timeout: u64,
    /// Most connections served at once, per listener; more are answered 503.
    #[arg(long, env = "NICPLANE_MAX_CONNECTIONS", default_value_t = listener::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Shortest password accepted for new users and password changes.
    #[arg(long, env = "NICPLANE_PASSWORD_MIN_LENGTH", default_value_t = auth::DEFAULT_PASSWORD_MIN_LEN)]
    pub password_min_length: usize,
    /// Password hashes run at once (default: the number of cores).
    #[arg(long, env = "NICPLANE_LOGIN_CONCURRENCY")]
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
    #[arg(long, env = "NICPLANE_LOGIN_MAX_DELAY", default_value_t = login_guard::DEFAULT_MAX_DELAY_SECS)]
    pub login_max_delay: u64,
    /// Seconds after its last failure when a user name's or address's record is forgotten.
    #[arg(long, env = "NICPLANE_LOGIN_WINDOW", default_value_t = login_guard::DEFAULT_WINDOW_SECS)]
    pub login_window: u64,
    /// Most user names and addresses whose failures are remembered.
    #[arg(long, env = "NICPLANE_LOGIN_MAX_ENTRIES", default_value_t = login_guard::DEFAULT_MAX_ENTRIES)]
    pub login_max_entries: usize,
    /// Lifetime of a login token, in seconds.
    #[arg(long, env = "NICPLANE_TOKEN_TTL", default_value_t = 12 * 3600)]
    pub token_ttl: u64,
    /// Seconds an Idempotency-Key's answer is kept.
    #[arg(long, env = "NICPLANE_IDEMPOTENCY_TTL", default_value_t = nicplane_service::DEFAULT_IDEMPOTENCY_TTL_SECS)]
    pub idempotency_ttl: u64,
    /// Seconds a finished job is kept.
    #[arg(long, env = "NICPLANE_JOB_TTL", default_value_t = nicplane_service::DEFAULT_JOB_TTL_SECS)]
    pub job_ttl: u64,
    /// Seconds between purges of expired tokens, idempotency keys and jobs.
    #[arg(long, env = "NICPLANE_PURGE_INTERVAL", default_value_t = DEFAULT_PURGE_INTERVAL_SECS)]
    pub purge_interval: u64,
}

/// Longest lifetime or delay accepted (ten years), so Unix-time arithmetic
/// cannot overflow.
const MAX_DURATION_SECS: u64 = 10 * 365 * 24 * 3600;

/// Default of `--purge-interval`.
pub const DEFAULT_PURGE_INTERVAL_SECS: u64 = 300;

/// The store URL the arguments name.
pub fn database_url(a: &ServeArgs) -> String {
    match &a.database {
        Some(u) => u.clone(),
        None => format!("sqlite://{}", a.data_dir.join("nicplane.db").display()),
    }
}

pub fn run(a: ServeArgs) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("NICPLANE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mac_prefix: MacPrefix = a.mac_prefix.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    if a.interface_limit == 0 {
        anyhow::bail!("--interface-limit must be at least 1");
    }
    if a.header_timeout == 0 || a.header_timeout > listener::MAX_HEADER_TIMEOUT_SECS {
        anyhow::bail!(
            "--header-timeout must be between 1 and {} seconds",
            listener::MAX_HEADER_TIMEOUT_SECS
        );
    }
    for (name, v) in [
        ("--request-timeout", a.request_timeout),
        ("--idle-timeout", a.idle_timeout),
        ("--token-ttl", a.token_ttl),
        ("--purge-interval", a.purge_interval),
        ("--max-connections", a.max_connections as u64),
        ("--login-max-entries", a.login_max_entries as u64),
    ] {
        if v == 0 {
            anyhow::bail!("{name} must be at least 1");
        }
    }
    for (name, v) in [
        ("--token-ttl", a.token_ttl),
        ("--idempotency-ttl", a.idempotency_ttl),
        ("--job-ttl", a.job_ttl),
        ("--login-window", a.login_window),
        ("--login-max-delay", a.login_max_delay),
    ] {
        if v > MAX_DURATION_SECS {
            anyhow::bail!("{name} must be at most {MAX_DURATION_SECS} seconds (ten years)");
        }
    }
    if a.login_concurrency == Some(0) {
        anyhow::bail!("--login-concurrency must be at least 1");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(serve(a, mac_prefix))
}

async fn serve(a: ServeArgs, mac_prefix: MacPrefix) -> Result<()> {
    let url = database_url(&a);
    let store = Store::open(
        &url,
        StoreOptions {
            readers: a.db_pool_size.max(1),
            pool_size: a.db_pool_size.max(1),
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
        },
    );
    let report = service
        .bootstrap(&BootstrapOptions {
            admin_password: std::env::var("NICPLANE_ADMIN_PASSWORD").ok(),
            data_center: a.data_center.clone(),
            public_cidr: a.public_cidr,
            demo: a.demo,
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
    let huawei_url = match &huawei {
        Some(l) => Some(format!("http://{}", l.local_addr()?)),
        None => None,
    };
    spawn_purge(service.clone(), Duration::from_secs(a.purge_interval));
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
    };
    println!(
        "nicplane listening on {public_url} (store {})",
        redact(&url)
    );
    if let Some(u) = &huawei_url {
        println!("Huawei Cloud-compatible endpoint on {u}");
    }
    if let Some(l) = huawei {
        let app = nicplane_http::huawei_router(state.clone());
        let limits = limits.clone();
        tokio::spawn(async move {
            if let Err(e) = listener::serve(l, app, limits, shutdown()).await {
                tracing::error!(error = %e, "huawei listener failed");
            }
        });
    }
    let app = nicplane_http::router(state);
    listener::serve(listener, app, limits, shutdown())
        .await
        .context("server failed")?;
    Ok(())
}

/// Purge expired tokens, old idempotency keys and finished jobs every
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
