//! User administration beyond create and list: disable, enable, delete,
//! password change (by the user, with the current password) and reset (by
//! the cloud admin), and the background purge of expired rows.
//!
//! Disabling or deleting a user revokes their tokens and AK/SK credentials
//! at once on every server: each request reads the token (or access key)
//! joined with its user from the store. A password change revokes the
//! user's other tokens, as Keystone does.

use crate::auth::{Caller, Origin};
use crate::feed::{emit, emit_deleted};
use crate::{require_cloud_admin, Service, WriteOptions};
use nicplane_domain::feed::Action;
use nicplane_domain::ids::UserId;
use nicplane_domain::model::{now, User};
use nicplane_domain::{rules, Error, Kind, Result};
use serde::{Deserialize, Serialize};

/// What `user_update` may change.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// Disable (false) or re-enable (true) the user.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// A new password (the cloud admin's reset; needs no current password).
    #[serde(default)]
    pub password: Option<String>,
}

/// A password change.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The new password.
    pub password: String,
    /// The current password: required to change your own password.
    #[serde(default)]
    pub original_password: Option<String>,
}

/// Most rows one purge batch deletes (one short transaction each).
pub const PURGE_BATCH: u32 = 500;
/// Most batches per table in one purge run; the rest waits for the next run.
pub const PURGE_MAX_BATCHES: u32 = 20;

/// Rows one purge run deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub tokens: u64,
    pub idempotency_keys: u64,
    pub jobs: u64,
}

impl Service {
    /// `user_update` (cloud admin): enable/disable a user, reset their
    /// password. Disabling the last enabled cloud admin is refused.
    pub async fn user_update(
        &self,
        caller: &Caller,
        id: UserId,
        patch: UserPatch,
        opts: &WriteOptions,
    ) -> Result<User> {
        require_cloud_admin(caller)?;
        let hash = match &patch.password {
            Some(p) => Some(self.hash_new_password(p).await?),
            None => None,
        };
        let done = self
            .write(caller, opts, move |tx| {
                let mut user = tx
                    .user_get(id)?
                    .ok_or_else(|| Error::not_found(Kind::User, id))?;
                if let Some(enabled) = patch.enabled {
                    if !enabled && user.enabled && user.is_cloud_admin {
                        let admins = tx.cloud_admins_enabled()?;
                        rules::last_cloud_admin_kept(id, &user.name, &admins)?;
                    }
                    tx.user_set_enabled(id, enabled)?;
                    if !enabled {
                        // As Keystone: disabling revokes the user's tokens, so
                        // re-enabling does not bring old tokens back.
                        tx.tokens_delete_of_user(id, None)?;
                    }
                    user.enabled = enabled;
                }
                if let Some(h) = &hash {
                    tx.user_set_password(id, h)?;
                    tx.tokens_delete_of_user(id, None)?;
                }
                emit(tx, Kind::User, id, None, Action::Update, Some(&user))?;
                Ok(user)
            })
            .await;
        self.tokens_changed();
        done
    }

    /// `user_delete` (cloud admin): the user's memberships, tokens and
    /// credentials go with them. Deleting the last enabled cloud admin is
    /// refused.
    pub async fn user_delete(
        &self,
        caller: &Caller,
        id: UserId,
        opts: &WriteOptions,
    ) -> Result<()> {
        require_cloud_admin(caller)?;
        let done = self
            .write(caller, opts, move |tx| {
                let user = tx
                    .user_get(id)?
                    .ok_or_else(|| Error::not_found(Kind::User, id))?;
                if user.is_cloud_admin && user.enabled {
                    let admins = tx.cloud_admins_enabled()?;
                    rules::last_cloud_admin_kept(id, &user.name, &admins)?;
                }
                tx.user_delete(id)?;
                emit_deleted(tx, Kind::User, id, None)
            })
            .await;
        self.tokens_changed();
        done
    }

    /// `user_password_change`: a user changes their own password (proving
    /// the current one, throttled like a login), or the cloud admin resets
    /// another user's. The user's other tokens are revoked; the caller's own
    /// token keeps working. A dry run checks everything (the original
    /// password included) and changes nothing; an `Idempotency-Key` is not
    /// honoured (a replay would fail the original-password check).
    pub async fn user_password_change(
        &self,
        caller: &Caller,
        id: UserId,
        change: PasswordChange,
        origin: &Origin,
        dry_run: bool,
    ) -> Result<()> {
        let is_self = caller.user.id == id;
        if !is_self && !caller.user.is_cloud_admin {
            return Err(Error::not_found(Kind::User, id));
        }
        rules::password_change_needs_original(
            is_self,
            caller.user.is_cloud_admin,
            change.original_password.as_deref(),
        )?;
        rules::password_long_enough(&change.password, self.config.password_min_length)?;
        if let Some(original) = &change.original_password {
            let name = caller.user.name.clone();
            if is_self {
                let n = name.clone();
                self.check_login(&name, original, origin, move |tx| tx.user_by_name(&n))
                    .await
                    .map_err(|e| match e {
                        Error::Unauthenticated { .. } => {
                            Error::unauthenticated("The original password is wrong.")
                        }
                        other => other,
                    })?;
            }
        }
        let hash = self.hash_new_password(&change.password).await?;
        let keep = if is_self {
            caller.token_hash.clone()
        } else {
            None
        };
        let done = self
            .write(caller, &WriteOptions::dry_run(dry_run), move |tx| {
                let user = tx
                    .user_get(id)?
                    .ok_or_else(|| Error::not_found(Kind::User, id))?;
                tx.user_set_password(id, &hash)?;
                tx.tokens_delete_of_user(id, keep.as_deref())?;
                emit(tx, Kind::User, id, None, Action::Update, Some(&user))
            })
            .await;
        self.tokens_changed();
        done
    }

    /// Delete expired tokens, idempotency keys older than the configured
    /// lifetime and jobs finished longer ago than theirs, in batches of
    /// [`PURGE_BATCH`], at most [`PURGE_MAX_BATCHES`] per table and run.
    pub async fn purge_expired(&self) -> Result<Purged> {
        let t = now().unix_timestamp();
        let keys_before = t - self.config.idempotency_ttl.as_secs() as i64;
        let jobs_before = t - self.config.job_ttl.as_secs() as i64;
        let mut out = Purged::default();
        for _ in 0..PURGE_MAX_BATCHES {
            let n = self
                .store
                .write(move |tx| tx.token_purge(t, PURGE_BATCH))
                .await?;
            out.tokens += n;
            if n < u64::from(PURGE_BATCH) {
                break;
            }
        }
        for _ in 0..PURGE_MAX_BATCHES {
            let n = self
                .store
                .write(move |tx| tx.idempotency_purge(keys_before, PURGE_BATCH))
                .await?;
            out.idempotency_keys += n;
            if n < u64::from(PURGE_BATCH) {
                break;
            }
        }
        for _ in 0..PURGE_MAX_BATCHES {
            let n = self
                .store
                .write(move |tx| tx.job_purge(jobs_before, PURGE_BATCH))
                .await?;
            out.jobs += n;
            if n < u64::from(PURGE_BATCH) {
                break;
            }
        }
        Ok(out)
    }
}
