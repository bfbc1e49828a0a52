//! The use cases of nicplane, shared by every API dialect.
//!
//! Each use case authenticates the caller (by token, before the
//! transaction), then runs as one closure inside one store transaction that
//! checks the caller's role in the project, loads what it needs, applies the
//! rules of `nicplane_domain::rules` and writes the change. Use cases are
//! named `<resource>_<verb>`; the native API reuses the names as OpenAPI
//! operation ids and the CLI as verbs.

pub mod admin;
pub mod auth;
pub mod bootstrap;
pub mod capacity;
pub mod credential;
pub mod every_project;
pub mod external_network;
pub mod external_port;
pub mod feed;
pub mod flavor;
pub mod host;
pub mod interface;
pub mod ipam;
pub mod job;
pub mod login_guard;
pub mod network;
pub mod openstack_support;
pub mod project;
pub mod public_ip;
pub mod quota;
pub mod router;
pub mod secret_box;
pub mod supplementary;
pub mod trunk;
pub mod user;
pub mod vm;

pub use auth::Caller;
pub use nicplane_domain as domain;

use nicplane_domain::ids::{ProjectId, UserId};
use nicplane_domain::types::{MacPrefix, Role, DEFAULT_MAC_PREFIX};
use nicplane_domain::{ConflictReason, Error, Kind, Result};
use nicplane_store::{Store, Tx};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Deployment settings the rules depend on.
#[derive(Debug, Clone)]
pub struct Config {
    /// Most elastic interfaces a VM may have.
    pub interface_limit: u32,
    /// Prefix of generated MAC addresses.
    pub mac_prefix: MacPrefix,
    /// Lifetime of a login token.
    pub token_ttl: Duration,
    /// The keys that seal stored AK/SK secrets ([`secret_box`]); a server
    /// passes its configured key, the default is a random in-memory key.
    pub secret_keys: Arc<secret_box::Keyring>,
    /// Most fixed IPs on one interface (Neutron's `max_fixed_ips_per_port`).
    pub max_fixed_ips_per_port: usize,
    /// Most allowed address pairs on one interface (Neutron's
    /// `max_allowed_address_pair`).
    pub max_allowed_address_pairs: usize,
    /// Default quota limits (Neutron's unless configured; -1 unlimited).
    pub quota_defaults: Vec<(nicplane_domain::quota::QuotaResource, i64)>,
    /// Shortest password accepted (`--password-min-length`).
    pub password_min_length: usize,
    /// Password-check concurrency and login throttling.
    pub login: login_guard::LoginLimits,
    /// How long an `Idempotency-Key`'s answer is kept (`--idempotency-ttl`).
    pub idempotency_ttl: Duration,
    /// How long a verified token is answered from memory (SQLite only;
    /// zero: every request reads its token, read [`auth::TokenCache`]).
    pub token_cache_ttl: Duration,
    /// How long a finished job is kept (`--job-ttl`).
    pub job_ttl: Duration,
    /// How long change-feed events are kept (`--event-retention-days`,
    /// `--event-retention-count`).
    pub event_retention: feed::Retention,
}

/// Default of [`Config::idempotency_ttl`]: a day, as payment APIs keep keys.
pub const DEFAULT_IDEMPOTENCY_TTL_SECS: u64 = 24 * 3600;
/// Default of [`Config::job_ttl`]: seven days.
pub const DEFAULT_JOB_TTL_SECS: u64 = 7 * 24 * 3600;

impl Default for Config {
    fn default() -> Self {
        Config {
            interface_limit: nicplane_domain::model::DEFAULT_INTERFACE_LIMIT,
            mac_prefix: DEFAULT_MAC_PREFIX,
            token_ttl: Duration::from_secs(12 * 3600),
            secret_keys: Arc::new(secret_box::Keyring::ephemeral()),
            max_fixed_ips_per_port: nicplane_domain::rules::DEFAULT_MAX_FIXED_IPS_PER_PORT,
            max_allowed_address_pairs: nicplane_domain::rules::DEFAULT_MAX_ALLOWED_ADDRESS_PAIRS,
            quota_defaults: quota::neutron_defaults(),
            password_min_length: auth::DEFAULT_PASSWORD_MIN_LEN,
            login: login_guard::LoginLimits::default(),
            idempotency_ttl: Duration::from_secs(DEFAULT_IDEMPOTENCY_TTL_SECS),
            job_ttl: Duration::from_secs(DEFAULT_JOB_TTL_SECS),
            token_cache_ttl: auth::TOKEN_CACHE_TTL,
            event_retention: feed::Retention::default(),
        }
    }
}

/// What a caller may put on the interfaces it creates or changes: the
/// deployment's MAC prefix and list bounds, and whether it holds
/// network-owner powers everywhere (the cloud admin does).
#[derive(Debug, Clone, Copy)]
pub struct PortPolicy {
    pub mac_prefix: MacPrefix,
    pub max_fixed_ips: usize,
    pub max_address_pairs: usize,
    pub cloud_admin: bool,
}

impl PortPolicy {
    /// The policy of a caller under a configuration.
    pub fn new(config: &Config, caller: &Caller) -> Self {
        PortPolicy {
            mac_prefix: config.mac_prefix,
            max_fixed_ips: config.max_fixed_ips_per_port,
            max_address_pairs: config.max_allowed_address_pairs,
            cloud_admin: caller.user.is_cloud_admin,
        }
    }

    /// The policy of the system itself (bootstrap, seeding): the defaults,
    /// with owner powers.
    pub fn system(config: &Config) -> Self {
        PortPolicy {
            mac_prefix: config.mac_prefix,
            max_fixed_ips: config.max_fixed_ips_per_port,
            max_address_pairs: config.max_allowed_address_pairs,
            cloud_admin: true,
        }
    }
}

/// How a write runs: for real, as a dry run, or idempotently.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// Validate fully, change nothing.
    pub dry_run: bool,
    /// A client-chosen key and a fingerprint of the request: a retry with the
    /// same key and fingerprint gets the first answer; another request with
    /// the same key is refused.
    pub idempotency: Option<(String, String)>,
    /// Neutron's `If-Match: revision_number=N`: checked on the object's
    /// locked row after the caller's role, before the change, in the same
    /// transaction (`rules::revision_matches`).
    pub if_revision: Option<nicplane_domain::model::RevisionPrecondition>,
}

impl WriteOptions {
    pub fn dry_run(dry_run: bool) -> Self {
        WriteOptions {
            dry_run,
            idempotency: None,
            if_revision: None,
        }
    }

    /// A plain write guarded by `If-Match: revision_number=N` (when given).
    pub fn if_revision(pre: Option<nicplane_domain::model::RevisionPrecondition>) -> Self {
        WriteOptions {
            if_revision: pre,
            ..WriteOptions::default()
        }
    }
}

/// The service: the store plus settings and the login guard. Cheap to
/// clone (one shared [`ServiceParts`]): every request's handler state holds
/// one.
#[derive(Clone)]
pub struct Service(Arc<ServiceParts>);

/// What a [`Service`] is made of.
pub struct ServiceParts {
    pub(crate) store: Store,
    pub(crate) config: Arc<Config>,
    pub(crate) login: Arc<auth::LoginGuard>,
    /// Verified tokens (SQLite only: read [`auth::TokenCache`]).
    pub(crate) tokens: Option<Arc<auth::TokenCache>>,
    pub(crate) feed: Arc<feed::Feed>,
}

impl std::ops::Deref for Service {
    type Target = ServiceParts;
    fn deref(&self) -> &ServiceParts {
        &self.0
    }
}

impl Service {
    pub fn new(store: Store, config: Config) -> Self {
        let tokens = match store.backend() {
            "sqlite" => auth::TokenCache::new(config.token_cache_ttl).map(Arc::new),
            _ => None,
        };
        Service(Arc::new(ServiceParts {
            store,
            login: Arc::new(auth::LoginGuard::new(config.login.clone())),
            feed: Arc::new(feed::Feed::new(config.event_retention)),
            config: Arc::new(config),
            tokens,
        }))
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The caller's [`PortPolicy`].
    pub(crate) fn port_policy(&self, caller: &Caller) -> PortPolicy {
        PortPolicy::new(&self.config, caller)
    }

    /// Run a write use case honouring the write options.
    ///
    /// The transaction's change-feed events are by the caller
    /// (`feed::actor`); a use case that succeeds without recording one is
    /// refused ([`feed::no_event`]). After the commit the feed learns how
    /// many were written.
    ///
    /// An `Idempotency-Key` replay is authorized like a new request: the use
    /// case runs again as a dry run (rolled back) and a refusal of the caller
    /// (401, 403, or the project not found) is answered instead of the
    /// stored answer; any other outcome (the object now exists, or is gone)
    /// returns the stored answer.
    pub(crate) async fn write<R, F>(&self, caller: &Caller, opts: &WriteOptions, f: F) -> Result<R>
    where
        R: Serialize + DeserializeOwned + Send + 'static,
        F: Fn(&mut dyn Tx) -> Result<R> + Send + Sync + 'static,
    {
        let actor = feed::actor(caller);
        let appended = Arc::new(AtomicU32::new(0));
        let counted = appended.clone();
        let f = move |tx: &mut dyn Tx| {
            tx.feed_actor(actor.clone());
            let r = f(tx)?;
            feed::no_event(tx)?;
            counted.store(tx.events_appended(), Ordering::Relaxed);
            Ok(r)
        };
        let result = self.write_with_options(caller, opts, f, &appended).await;
        if result.is_ok() && !opts.dry_run {
            self.feed.written(
                appended.load(Ordering::Relaxed),
                !self.store.feed_sequenced_in_background(),
            );
        }
        result
    }

    async fn write_with_options<R, F>(
        &self,
        caller: &Caller,
        opts: &WriteOptions,
        f: F,
        appended: &AtomicU32,
    ) -> Result<R>
    where
        R: Serialize + DeserializeOwned + Send + 'static,
        F: Fn(&mut dyn Tx) -> Result<R> + Send + Sync + 'static,
    {
        if opts.dry_run {
            return self.store.dry_run(f).await;
        }
        let Some((key, fingerprint)) = opts.idempotency.clone() else {
            return self.store.write(f).await;
        };
        let user = caller.user.id;
        let f = Arc::new(f);
        // Two rounds at most: a key stored by a concurrent request between
        // the first round's read and write is replayed in the second.
        for _ in 0..2 {
            let (k, fp) = (key.clone(), fingerprint.clone());
            let stored = self
                .store
                .read(move |tx| idempotency_lookup(tx, user, &k, &fp))
                .await?;
            if let Some(response) = stored {
                let g = f.clone();
                let replay = self.store.dry_run(move |tx| g(tx)).await;
                // A replay writes nothing: its rolled-back events are not counted.
                appended.store(0, Ordering::Relaxed);
                if let Err(e) = replay {
                    if denies_caller(&e) {
                        return Err(e);
                    }
                }
                return serde_json::from_str(&response).map_err(|e| {
                    Error::internal(format!("stored idempotent answer unreadable: {e}"))
                });
            }
            let (k, fp) = (key.clone(), fingerprint.clone());
            let g = f.clone();
            match self
                .store
                .write(move |tx| idempotent(tx, user, &k, &fp, &*g))
                .await
            {
                Err(Error::Conflict {
                    reason: ConflictReason::IdempotencyKeyReused,
                    message,
                }) if message.is_empty() => continue,
                // On PostgreSQL two requests with one key run side by side:
                // the loser fails on the winner's change (the object is gone,
                // or the key's row exists). The winner's stored answer is
                // then the answer, as it would be had the loser come later.
                Err(e) if !denies_caller(&e) => {
                    appended.store(0, Ordering::Relaxed);
                    let (k, fp) = (key.clone(), fingerprint.clone());
                    return match self
                        .store
                        .read(move |tx| idempotency_lookup(tx, user, &k, &fp))
                        .await
                    {
                        Ok(Some(response)) => serde_json::from_str(&response).map_err(|e| {
                            Error::internal(format!("stored idempotent answer unreadable: {e}"))
                        }),
                        _ => Err(e),
                    };
                }
                other => return other,
            }
        }
        Err(Error::unavailable(
            "The Idempotency-Key is being used by a concurrent request; retry.",
        ))
    }

    /// Run a write use case on a project: the caller's role is checked
    /// (`authorize`) inside the same transaction, then `f` runs.
    pub(crate) async fn project_write<R, F>(
        &self,
        caller: &Caller,
        project: &ProjectId,
        need: Need,
        opts: &WriteOptions,
        f: F,
    ) -> Result<R>
    where
        R: Serialize + DeserializeOwned + Send + 'static,
        F: Fn(&mut dyn Tx, &ProjectId) -> Result<R> + Send + Sync + 'static,
    {
        let c = caller.clone();
        let p = project.clone();
        let pre = opts.if_revision.clone();
        self.write(caller, opts, move |tx| {
            authorize(tx, &c, &p, need)?;
            if let Some(pre) = &pre {
                revision_check(tx, &p, pre)?;
            }
            f(tx, &p)
        })
        .await
    }

    /// Run a read use case on a project after checking the caller's role in it.
    pub(crate) async fn project_read<R, F>(
        &self,
        caller: &Caller,
        project: &ProjectId,
        need: Need,
        f: F,
    ) -> Result<R>
    where
        R: Send + 'static,
        F: Fn(&mut dyn Tx, &ProjectId) -> Result<R> + Send + Sync + 'static,
    {
        let c = caller.clone();
        let p = project.clone();
        self.store
            .read(move |tx| {
                authorize(tx, &c, &p, need)?;
                f(tx, &p)
            })
            .await
    }

    /// `object_project`: the project a request that names its object by id
    /// alone (Neutron's `/routers/{id}`) acts in. Anyone acts in its token's
    /// project (`scope`); the cloud admin (`rules::acts_across_projects`) in
    /// the project that owns the object, when another one does. The answer
    /// goes to the use case, whose own transaction authorizes the caller in
    /// that project (`authorize`) and finds the object there, or answers
    /// its own 404; an object never changes project, so reading the owner
    /// first decides nothing the write could see differently.
    pub async fn object_project(
        &self,
        caller: &Caller,
        scope: &ProjectId,
        what: nicplane_domain::model::Revisioned,
        id: &str,
    ) -> Result<ProjectId> {
        if !nicplane_domain::rules::acts_across_projects(caller.user.is_cloud_admin) {
            return Ok(scope.clone());
        }
        let id = id.to_string();
        let owner = self
            .store
            .read(move |tx| tx.object_project(what, &id))
            .await?;
        Ok(owner.unwrap_or_else(|| scope.clone()))
    }

    /// `create_project_named`: the project a create acts in when its body
    /// may name one (Neutron's `project_id` / `tenant_id`), by
    /// `rules::create_project_named`; the use case's `authorize` then finds
    /// it (404 for a project that does not exist).
    pub fn create_project_named(
        &self,
        caller: &Caller,
        scope: &ProjectId,
        project_id: Option<&str>,
        tenant_id: Option<&str>,
    ) -> Result<ProjectId> {
        nicplane_domain::rules::create_project_named(
            scope,
            project_id,
            tenant_id,
            caller.user.is_cloud_admin,
        )
    }

    /// Whether the caller's lists show every project's objects (Neutron's
    /// admin), by `rules::acts_across_projects`.
    pub fn lists_every_project(&self, caller: &Caller) -> bool {
        nicplane_domain::rules::acts_across_projects(caller.user.is_cloud_admin)
    }

    /// Readiness: the store answers.
    pub async fn ready(&self) -> Result<()> {
        self.store.ping().await
    }
}

/// `If-Match: revision_number=N`: the object's row is read locked and its
/// revision compared (`rules::revision_matches`); an object the project does
/// not have is left to the use case (its own 404).
pub fn revision_check(
    tx: &mut dyn Tx,
    project: &ProjectId,
    pre: &nicplane_domain::model::RevisionPrecondition,
) -> Result<()> {
    match tx.revision_lock(pre.what, &pre.id, project)? {
        Some(current) => nicplane_domain::rules::revision_matches(pre.expected, current),
        None => Ok(()),
    }
}

/// Longest Idempotency-Key accepted.
pub const IDEMPOTENCY_KEY_MAX: usize = 255;

/// The stored answer of an earlier write with this key, after checking the
/// key's length and that the request is the same.
fn idempotency_lookup(
    tx: &mut dyn Tx,
    user: UserId,
    key: &str,
    fingerprint: &str,
) -> Result<Option<String>> {
    if key.is_empty() || key.len() > IDEMPOTENCY_KEY_MAX {
        return Err(Error::invalid_value(
            "Idempotency-Key",
            format!("must be 1 to {IDEMPOTENCY_KEY_MAX} characters."),
        ));
    }
    match tx.idempotency_get(user, key)? {
        Some((stored_fp, _)) if stored_fp != fingerprint => Err(Error::conflict(
            ConflictReason::IdempotencyKeyReused,
            format!("The Idempotency-Key {key} was already used for a different request."),
        )),
        Some((_, response)) => Ok(Some(response)),
        None => Ok(None),
    }
}

/// Run a first write under an idempotency key and store its answer. A key
/// that appeared meanwhile is reported as an `IdempotencyKeyReused` conflict
/// with an empty message, which [`Service::write`] turns into a replay.
fn idempotent<R, F>(tx: &mut dyn Tx, user: UserId, key: &str, fingerprint: &str, f: &F) -> Result<R>
where
    R: Serialize + DeserializeOwned,
    F: Fn(&mut dyn Tx) -> Result<R> + ?Sized,
{
    if idempotency_lookup(tx, user, key, fingerprint)?.is_some() {
        return Err(Error::conflict(ConflictReason::IdempotencyKeyReused, ""));
    }
    let r = f(tx)?;
    let body = serde_json::to_string(&r)
        .map_err(|e| Error::internal(format!("cannot store idempotent answer: {e}")))?;
    tx.idempotency_put(user, key, fingerprint, &body)?;
    Ok(r)
}

/// Whether an error refuses the caller (rather than the request): an
/// unauthenticated or forbidden caller, or a project they cannot see.
fn denies_caller(e: &Error) -> bool {
    matches!(
        e,
        Error::Unauthenticated { .. }
            | Error::Forbidden { .. }
            | Error::NotFound {
                kind: Kind::Project,
                ..
            }
    )
}

/// What a caller needs in a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Read,
    Write,
    Administer,
}

/// Check, inside the transaction, that the caller may act on the project:
/// a non-member gets "not found" (the project's existence is not revealed),
/// a reader gets 403 on writes. The cloud admin acts as Tenant Administrator
/// in every project. A project-scoped token acts only in its project
/// (`rules::token_scope_allows`), whatever the dialect.
pub fn authorize(
    tx: &mut dyn Tx,
    caller: &Caller,
    project: &ProjectId,
    need: Need,
) -> Result<Role> {
    nicplane_domain::rules::token_scope_allows(
        caller.scope.as_ref(),
        project,
        caller.user.is_cloud_admin,
    )?;
    let role = if caller.user.is_cloud_admin {
        tx.project_get(project)?
            .ok_or_else(|| Error::not_found(Kind::Project, project))?;
        Role::Admin
    } else {
        tx.membership_role(caller.user.id, project)?
            .ok_or_else(|| Error::not_found(Kind::Project, project))?
    };
    match need {
        Need::Read => {}
        Need::Write => nicplane_domain::rules::role_may_write(role)?,
        Need::Administer => nicplane_domain::rules::role_may_administer(role)?,
    }
    Ok(role)
}

/// Only the cloud admin may do this.
pub fn require_cloud_admin(caller: &Caller) -> Result<()> {
    if !caller.user.is_cloud_admin {
        return Err(Error::forbidden(
            "Only the cloud admin can manage data centers, public IP pools, projects, users and shared networks.",
        ));
    }
    Ok(())
}
