//! Passwords (argon2), login tokens (random, stored as SHA-256 hashes) and
//! the authenticated caller. Validated tokens are cached in memory for a
//! short time so a request costs no extra store read.

use crate::{require_cloud_admin, Service, WriteOptions};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use nicplane_domain::ids::{ProjectId, UserId};
use nicplane_domain::model::{now, Membership, User};
use nicplane_domain::types::Name;
use nicplane_domain::{Error, Kind, Result};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// An authenticated user.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    /// The project a scoped token (Keystone) was issued for.
    pub scope: Option<ProjectId>,
}

/// How long a validated token is trusted without asking the store again.
const TOKEN_CACHE_TTL: Duration = Duration::from_secs(30);
/// Cached tokens kept at most; the cache is cleared when it grows past this.
const TOKEN_CACHE_MAX: usize = 100_000;
/// Shortest password accepted.
pub const PASSWORD_MIN_LEN: usize = 4;

#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<String, (Caller, i64, Instant)>>,
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

/// Hash a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("cannot hash password: {e}")))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < PASSWORD_MIN_LEN {
        return Err(Error::invalid_value(
            "password",
            format!("must be at least {PASSWORD_MIN_LEN} characters."),
        ));
    }
    Ok(())
}

impl Service {
    /// `auth_login`: check a user's password and issue a token.
    pub async fn auth_login(&self, name: &str, password: &str) -> Result<Login> {
        self.auth_login_scoped(name, password, None).await
    }

    /// Issue a token scoped to a project the user is a member of (or any
    /// project, for the cloud admin); a non-member gets 401.
    pub async fn auth_login_scoped(
        &self,
        name: &str,
        password: &str,
        scope: Option<ProjectId>,
    ) -> Result<Login> {
        let bad = || Error::unauthenticated("The user name or password is wrong.");
        let n = name.to_string();
        let secret = self
            .store
            .read(move |tx| tx.user_by_name(&n))
            .await?
            .ok_or_else(bad)?;
        let pw = password.to_string();
        let hash = secret.password_hash.clone();
        let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &hash))
            .await
            .unwrap_or(false);
        if !ok {
            return Err(bad());
        }
        let mut raw = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut raw);
        let token = hex::encode(raw);
        let expires_at = now().unix_timestamp() + self.config.token_ttl.as_secs() as i64;
        let user = secret.user.clone();
        let h = token_hash(&token);
        let scope_out = scope.clone();
        let memberships = self
            .store
            .write(move |tx| {
                if let Some(p) = &scope {
                    let member = tx.membership_role(user.id, p)?.is_some();
                    let exists = tx.project_get(p)?.is_some();
                    if !exists || !(member || user.is_cloud_admin) {
                        return Err(Error::unauthenticated(format!(
                            "User {} has no role in project {p}.",
                            user.name
                        )));
                    }
                }
                tx.token_insert(&h, user.id, scope.as_ref(), expires_at)?;
                tx.memberships_of_user(user.id)
            })
            .await?;
        Ok(Login {
            token,
            expires_at,
            scope: scope_out,
            user: secret.user,
            memberships,
        })
    }

    /// `auth_logout`: revoke a token.
    pub async fn auth_logout(&self, token: &str) -> Result<()> {
        let h = token_hash(token);
        if let Ok(mut m) = self.tokens.entries.lock() {
            m.remove(&h);
        }
        self.store.write(move |tx| tx.token_delete(&h)).await
    }

    /// Resolve a token to its user; 401 when unknown or expired.
    pub async fn authenticate(&self, token: &str) -> Result<Caller> {
        let h = token_hash(token);
        let now_ts = now().unix_timestamp();
        if let Ok(m) = self.tokens.entries.lock() {
            if let Some((caller, expires, at)) = m.get(&h) {
                if *expires > now_ts && at.elapsed() < TOKEN_CACHE_TTL {
                    return Ok(caller.clone());
                }
            }
        }
        let hh = h.clone();
        let found = self
            .store
            .read(move |tx| {
                let Some((uid, scope, expires)) = tx.token_lookup(&hh)? else {
                    return Ok(None);
                };
                Ok(tx
                    .user_get(uid)?
                    .map(|u| (Caller { user: u, scope }, expires)))
            })
            .await?;
        match found {
            Some((caller, expires)) if expires > now_ts => {
                if let Ok(mut m) = self.tokens.entries.lock() {
                    if m.len() > TOKEN_CACHE_MAX {
                        m.clear();
                    }
                    m.insert(h, (caller.clone(), expires, Instant::now()));
                }
                Ok(caller)
            }
            Some(_) => Err(Error::unauthenticated(
                "The token has expired; log in again.",
            )),
            None => Err(Error::unauthenticated(
                "The token is not valid; log in again.",
            )),
        }
    }

    /// Authenticate by name and password without issuing a token (used by
    /// dialects with their own token formats).
    pub async fn verify_credentials(&self, name: &str, password: &str) -> Result<Caller> {
        let login_user = {
            let n = name.to_string();
            self.store.read(move |tx| tx.user_by_name(&n)).await?
        };
        let bad = || Error::unauthenticated("The user name or password is wrong.");
        let secret = login_user.ok_or_else(bad)?;
        let pw = password.to_string();
        let hash = secret.password_hash.clone();
        let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &hash))
            .await
            .unwrap_or(false);
        if ok {
            Ok(Caller {
                user: secret.user,
                scope: None,
            })
        } else {
            Err(bad())
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
        check_password(password)?;
        let pw = password.to_string();
        let hash = tokio::task::spawn_blocking(move || hash_password(&pw))
            .await
            .map_err(|e| Error::internal(e.to_string()))??;
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
