//! Passwords (argon2), login tokens (random, stored as SHA-256 hashes) and
//! the authenticated caller.
//!
//! Every request resolves its token with one indexed read of the token
//! joined with its user, so a revoked token, a disabled or a deleted user
//! stops working at once on every server sharing the store. Password checks
//! go through [`crate::login_guard`]: a bounded number of argon2 hashes at
//! once, a throttle per user name and source address, and a dummy hash for
//! unknown user names so they cost the same time as known ones.

use crate::login_guard::{HashGate, LoginLimits, Throttle, ThrottleKey};
use crate::{require_cloud_admin, Service, WriteOptions};
use argon2::password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use nicplane_domain::ids::{ProjectId, UserId};
use nicplane_domain::model::{now, Membership, User};
use nicplane_domain::rules;
use nicplane_domain::types::Name;
use nicplane_domain::{Error, Kind, Result};
use nicplane_store::{TokenOwner, Tx, UserSecret};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// An authenticated user.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    /// The project a scoped token (Keystone) was issued for.
    pub scope: Option<ProjectId>,
    /// The hash of the token this caller authenticated with (None for an
    /// AK/SK signature): kept when the user changes their own password.
    pub token_hash: Option<String>,
}

/// Most tokens the [`TokenCache`] holds; past it, entries older than the
/// cache's lifetime go, and if it is still full, all of them.
pub const TOKEN_CACHE_MAX: usize = 4096;

/// How long a verified token is answered from the [`TokenCache`] before it
/// is read again (its own expiry still applies on every request).
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(5);

/// Verified tokens, so that a request does not read its token from the
/// store (issue 14). Keyed by the token's hash; bounded by
/// [`TOKEN_CACHE_MAX`] entries, each answered for at most the cache's
/// lifetime and never past the token's expiry.
///
/// Revocation stays exact: every use case that revokes tokens or changes a
/// user (logout, disable, delete, password change) calls
/// [`TokenCache::invalidate`] once its write has committed, which empties
/// the cache and moves its epoch on. A lookup that read the store before
/// such a commit stores its entry under the old epoch, and an entry of an
/// old epoch is never answered. That is exact only when every write goes
/// through this process, which holds for SQLite (a store belongs to one
/// server process). With PostgreSQL, servers share the store and a
/// revocation on one must stop the token at once on the others, so
/// [`Service::new`] leaves the cache off there.
pub struct TokenCache {
    ttl: Duration,
    epoch: AtomicU64,
    entries: Mutex<HashMap<String, CachedToken>>,
}

struct CachedToken {
    owner: TokenOwner,
    epoch: u64,
    at: Instant,
}

impl TokenCache {
    /// A cache answering entries for at most `ttl`; `None` when `ttl` is zero.
    pub fn new(ttl: Duration) -> Option<TokenCache> {
        (!ttl.is_zero()).then(|| TokenCache {
            ttl,
            epoch: AtomicU64::new(0),
            entries: Mutex::new(HashMap::new()),
        })
    }

    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedToken>> {
        // A panic while holding the lock leaves nothing half-written.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The owner cached for a token hash, if fresh and of the current epoch.
    fn get(&self, hash: &str, now: Instant) -> Option<TokenOwner> {
        let epoch = self.epoch();
        let entries = self.entries();
        let e = entries.get(hash)?;
        (e.epoch == epoch && now.duration_since(e.at) < self.ttl).then(|| e.owner.clone())
    }

    /// Remember an owner read from the store at `epoch` (read before the
    /// store was).
    fn put(&self, hash: String, owner: TokenOwner, epoch: u64, now: Instant) {
        let mut entries = self.entries();
        if epoch != self.epoch() {
            return;
        }
        if entries.len() >= TOKEN_CACHE_MAX && !entries.contains_key(&hash) {
            let ttl = self.ttl;
            entries.retain(|_, e| e.epoch == epoch && now.duration_since(e.at) < ttl);
            if entries.len() >= TOKEN_CACHE_MAX {
                entries.clear();
            }
        }
        entries.insert(
            hash,
            CachedToken {
                owner,
                epoch,
                at: now,
            },
        );
    }

    /// Forget every token: call after a write that revoked tokens or
    /// changed a user has committed.
    pub fn invalidate(&self) {
        let mut entries = self.entries();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    /// How many tokens are cached.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether no token is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Default of `--password-min-length`.
pub const DEFAULT_PASSWORD_MIN_LEN: usize = 8;

/// Where a login comes from: its source address and request id, for the
/// throttle and the log.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub address: Option<IpAddr>,
    pub request_id: String,
}

/// The password-checking machinery of a service.
pub struct LoginGuard {
    throttle: Throttle,
    gate: HashGate,
}

impl LoginGuard {
    pub fn new(limits: LoginLimits) -> Self {
        LoginGuard {
            gate: HashGate::new(&limits),
            throttle: Throttle::new(limits),
        }
    }
}

/// A login: the token to send as `Authorization: Bearer` (or `X-Auth-Token`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Login {
    pub token: String,
    /// Unix time at which the token expires.
    pub expires_at: i64,
    /// The project the token is scoped to, if any.
    #[schema(value_type = Option<String>)]
    pub scope: Option<ProjectId>,
    pub user: User,
    pub memberships: Vec<Membership>,
}

/// Hash a password with argon2id (default parameters) and a random salt.
pub fn hash_password(password: &str) -> Result<String> {
    hash_password_in(&mut Vec::new(), password)
}

/// [`hash_password`] working in `memory` (grown to the size the parameters
/// need and kept by the caller for the next hash).
pub fn hash_password_in(memory: &mut Vec<Block>, password: &str) -> Result<String> {
    let fail = |e: &dyn std::fmt::Display| Error::internal(format!("cannot hash password: {e}"));
    let salt = SaltString::generate(&mut OsRng);
    let params = Params::default();
    let mut raw_salt = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut raw_salt)
        .map_err(|e| fail(&e))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    Argon2::new(Algorithm::default(), Version::default(), params.clone())
        .hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, &mut memory[..])
        .map_err(|e| fail(&e))?;
    let hash = PasswordHash {
        algorithm: Algorithm::default().ident(),
        version: Some(Version::default().into()),
        params: ParamsString::try_from(&params).map_err(|e| fail(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| fail(&e))?),
    };
    Ok(hash.to_string())
}

/// Check a password against a stored hash, working in `memory`; the
/// comparison of the outputs is constant-time.
fn verify_password_in(memory: &mut Vec<Block>, password: &str, hash: &str) -> bool {
    let Ok(h) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(h.algorithm),
        Params::try_from(&h),
        h.salt,
        h.hash,
    ) else {
        return false;
    };
    let version = match h.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let mut raw_salt = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut raw_salt) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    let ok = Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, &mut memory[..])
        .is_ok();
    ok && Output::new(&out).is_ok_and(|o| o == expected)
}

/// A hash no password matches, checked for unknown user names so that they
/// cost the same argon2 work as known ones.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut raw = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut raw);
        hash_password(&hex::encode(raw)).unwrap_or_default()
    })
}

pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn bad_login() -> Error {
    Error::unauthenticated("The user name or password is wrong.")
}

impl Service {
    /// Check a password against a user found by `lookup` (None: unknown),
    /// throttled under `key` (the name or id the client sent) and the source
    /// address, through the hash gate. Failed logins are logged.
    pub(crate) async fn check_login<L>(
        &self,
        key: &str,
        password: &str,
        origin: &Origin,
        lookup: L,
    ) -> Result<User>
    where
        L: Fn(&mut dyn Tx) -> Result<Option<UserSecret>> + Send + Sync + 'static,
    {
        let mut keys = vec![ThrottleKey::User(key.to_string())];
        if let Some(a) = origin.address {
            keys.push(ThrottleKey::Address(a));
        }
        let refuse = |reason: &str, e: Error| {
            tracing::warn!(
                request_id = %origin.request_id,
                user = %key,
                source = %origin.address.map(|a| a.to_string()).unwrap_or_default(),
                reason,
                "login failed"
            );
            e
        };
        if let Err(e) = self.login.throttle.check(&keys, Instant::now()) {
            return Err(refuse("throttled", e));
        }
        let found = self.store.read(lookup).await?;
        let pw = password.to_string();
        let hash = found.as_ref().map(|s| s.password_hash.clone());
        let ok = self
            .login
            .gate
            .run(move |memory| {
                let h = hash.as_deref().unwrap_or_else(|| dummy_hash());
                verify_password_in(memory, &pw, h)
            })
            .await
            .map_err(|e| refuse("busy", e))?;
        match found {
            Some(secret) if ok => {
                if !secret.user.enabled {
                    return Err(refuse(
                        "disabled",
                        Error::unauthenticated(format!(
                            "The user {} is disabled.",
                            secret.user.name
                        )),
                    ));
                }
                self.login.throttle.succeed(&keys[0]);
                Ok(secret.user)
            }
            found => {
                self.login.throttle.fail(&keys, Instant::now());
                let reason = if found.is_some() {
                    "wrong password"
                } else {
                    "unknown user"
                };
                Err(refuse(reason, bad_login()))
            }
        }
    }

    /// Hash a new password through the hash gate.
    pub(crate) async fn hash_new_password(&self, password: &str) -> Result<String> {
        rules::password_long_enough(password, self.config.password_min_length)?;
        let pw = password.to_string();
        self.login
            .gate
            .run(move |memory| hash_password_in(memory, &pw))
            .await?
    }

    /// `auth_login`: check a user's password and issue a token.
    pub async fn auth_login(&self, name: &str, password: &str, origin: &Origin) -> Result<Login> {
        self.auth_login_scoped(name, password, None, origin).await
    }

    /// Issue a token scoped to a project the user is a member of (or any
    /// project, for the cloud admin); a non-member gets 401.
    pub async fn auth_login_scoped(
        &self,
        name: &str,
        password: &str,
        scope: Option<ProjectId>,
        origin: &Origin,
    ) -> Result<Login> {
        let n = name.to_string();
        let user = self
            .check_login(name, password, origin, move |tx| tx.user_by_name(&n))
            .await?;
        self.issue_token(user, scope).await
    }

    /// Issue a token for a user whose password was checked.
    pub(crate) async fn issue_token(&self, user: User, scope: Option<ProjectId>) -> Result<Login> {
        let mut raw = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut raw);
        let token = hex::encode(raw);
        let expires_at = now().unix_timestamp() + self.config.token_ttl.as_secs() as i64;
        let h = token_hash(&token);
        let scope_out = scope.clone();
        let u = user.clone();
        let memberships = self
            .store
            .write(move |tx| {
                if let Some(p) = &scope {
                    let member = tx.membership_role(u.id, p)?.is_some();
                    let exists = tx.project_get(p)?.is_some();
                    if !exists || !(member || u.is_cloud_admin) {
                        return Err(Error::unauthenticated(format!(
                            "User {} has no role in project {p}.",
                            u.name
                        )));
                    }
                }
                tx.token_insert(&h, u.id, scope.as_ref(), expires_at)?;
                tx.memberships_of_user(u.id)
            })
            .await?;
        Ok(Login {
            token,
            expires_at,
            scope: scope_out,
            user,
            memberships,
        })
    }

    /// `auth_logout`: revoke a token.
    pub async fn auth_logout(&self, token: &str) -> Result<()> {
        let h = token_hash(token);
        let done = self.store.write(move |tx| tx.token_delete(&h)).await;
        self.tokens_changed();
        done
    }

    /// After a write that revoked tokens or changed a user (committed or
    /// not): cached tokens are read again.
    pub(crate) fn tokens_changed(&self) {
        if let Some(c) = &self.tokens {
            c.invalidate();
        }
    }

    /// The token cache, when on.
    pub fn token_cache(&self) -> Option<&TokenCache> {
        self.tokens.as_deref()
    }

    /// Resolve a token to its user: from the [`TokenCache`] when on, else
    /// with one read of the store; 401 when unknown, expired, or its user is
    /// disabled or deleted.
    pub async fn authenticate(&self, token: &str) -> Result<Caller> {
        let h = token_hash(token);
        let found = match &self.tokens {
            Some(cache) => match cache.get(&h, Instant::now()) {
                Some(owner) => Some(owner),
                None => {
                    let epoch = cache.epoch();
                    let hh = h.clone();
                    let found = self.store.read_one(move |tx| tx.token_owner(&hh)).await?;
                    if let Some(o) = found.as_ref().filter(|o| o.user.enabled) {
                        cache.put(h.clone(), o.clone(), epoch, Instant::now());
                    }
                    found
                }
            },
            None => {
                let hh = h.clone();
                self.store.read_one(move |tx| tx.token_owner(&hh)).await?
            }
        };
        match found {
            Some(o) if o.expires_at <= now().unix_timestamp() => Err(Error::unauthenticated(
                "The token has expired; log in again.",
            )),
            Some(o) if !o.user.enabled => Err(Error::unauthenticated(format!(
                "The user {} is disabled.",
                o.user.name
            ))),
            Some(o) => Ok(Caller {
                user: o.user,
                scope: o.scope,
                token_hash: Some(h),
            }),
            None => Err(Error::unauthenticated(
                "The token is not valid; log in again.",
            )),
        }
    }

    /// `auth_whoami`: the caller and their projects.
    pub async fn auth_whoami(&self, caller: &Caller) -> Result<(User, Vec<Membership>)> {
        let user = caller.user.clone();
        let id = user.id;
        let m = self
            .store
            .read(move |tx| tx.memberships_of_user(id))
            .await?;
        Ok((user, m))
    }

    /// `user_create` (cloud admin).
    pub async fn user_create(
        &self,
        caller: &Caller,
        name: &str,
        password: &str,
        is_cloud_admin: bool,
        opts: &WriteOptions,
    ) -> Result<User> {
        require_cloud_admin(caller)?;
        let name = Name::parse("name", name)?;
        let hash = self.hash_new_password(password).await?;
        let user = User {
            id: UserId::new(),
            name: name.to_string(),
            is_cloud_admin,
            enabled: true,
            created_at: now(),
        };
        self.write(caller, opts, move |tx| {
            if tx.user_by_name(&user.name)?.is_some() {
                return Err(Error::conflict(
                    nicplane_domain::ConflictReason::NameTaken,
                    format!("A user named {} already exists.", user.name),
                ));
            }
            tx.user_insert(&user, &hash)?;
            crate::feed::emit(
                tx,
                Kind::User,
                user.id,
                None,
                nicplane_domain::feed::Action::Create,
                Some(&user),
            )?;
            Ok(user.clone())
        })
        .await
    }

    /// `user_list` (cloud admin).
    pub async fn user_list(&self, caller: &Caller) -> Result<Vec<User>> {
        require_cloud_admin(caller)?;
        self.store.read(|tx| tx.user_list()).await
    }

    /// `user_get` (cloud admin or the user).
    pub async fn user_get(&self, caller: &Caller, id: UserId) -> Result<User> {
        if !caller.user.is_cloud_admin && caller.user.id != id {
            return Err(Error::not_found(Kind::User, id));
        }
        self.store
            .read(move |tx| tx.user_get(id))
            .await?
            .ok_or_else(|| Error::not_found(Kind::User, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(name: &str) -> TokenOwner {
        TokenOwner {
            user: User {
                id: UserId::new(),
                name: name.into(),
                is_cloud_admin: false,
                enabled: true,
                created_at: now(),
            },
            scope: None,
            expires_at: i64::MAX,
        }
    }

    #[test]
    fn token_cache_answers_within_its_lifetime_and_forgets_on_invalidate() {
        let cache = TokenCache::new(Duration::from_secs(5)).expect("on");
        let t0 = Instant::now();
        cache.put("a".into(), owner("alice"), cache.epoch(), t0);
        let hit = cache.get("a", t0 + Duration::from_secs(4)).expect("fresh");
        assert_eq!(hit.user.name, "alice");
        assert!(
            cache.get("a", t0 + Duration::from_secs(5)).is_none(),
            "past its lifetime"
        );
        assert!(cache.get("b", t0).is_none());
        cache.invalidate();
        assert!(cache.get("a", t0).is_none(), "invalidated");
        assert!(cache.is_empty());
        assert!(TokenCache::new(Duration::ZERO).is_none(), "zero: off");
    }

    /// A lookup that read the store before a revocation committed must not
    /// put the old answer back.
    #[test]
    fn token_cache_drops_an_answer_read_before_an_invalidation() {
        let cache = TokenCache::new(Duration::from_secs(5)).expect("on");
        let t0 = Instant::now();
        let read_at = cache.epoch();
        cache.invalidate();
        cache.put("a".into(), owner("alice"), read_at, t0);
        assert!(cache.get("a", t0).is_none());
        assert!(cache.is_empty());
    }

    #[test]
    fn token_cache_holds_at_most_its_bound() {
        let cache = TokenCache::new(Duration::from_secs(5)).expect("on");
        let t0 = Instant::now();
        for i in 0..TOKEN_CACHE_MAX {
            cache.put(format!("t{i}"), owner("u"), cache.epoch(), t0);
        }
        assert_eq!(cache.len(), TOKEN_CACHE_MAX);
        // Full of fresh entries: the next one starts over.
        cache.put("late".into(), owner("u"), cache.epoch(), t0);
        assert_eq!(cache.len(), 1);
        assert!(cache.get("late", t0).is_some());
        // Stale entries go first when full.
        for i in 0..TOKEN_CACHE_MAX - 1 {
            cache.put(format!("t{i}"), owner("u"), cache.epoch(), t0);
        }
        let later = t0 + Duration::from_secs(6);
        cache.put("fresh".into(), owner("u"), cache.epoch(), later);
        cache.put("fresh2".into(), owner("u"), cache.epoch(), later);
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn hashes_verify_with_reused_memory_and_match_the_reference() {
        let mut memory = Vec::new();
        let h = hash_password_in(&mut memory, "correct horse").unwrap();
        assert!(verify_password_in(&mut memory, "correct horse", &h));
        assert!(!verify_password_in(&mut memory, "wrong horse", &h));
        // The reference implementation agrees both ways.
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let parsed = PasswordHash::new(&h).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        let salt = SaltString::generate(&mut OsRng);
        let reference = Argon2::default()
            .hash_password(b"battery staple", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password_in(
            &mut memory,
            "battery staple",
            &reference
        ));
        assert!(!verify_password_in(&mut memory, "x", "not a hash"));
    }
}
