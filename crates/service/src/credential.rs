//! AK/SK credentials: an access key (AK) and a secret key (SK) per user,
//! with which clients sign requests (the Huawei dialect's SDK-HMAC-SHA256).
//!
//! The secret is shown once, when the credential is created, and stored as
//! issued: checking an HMAC signature needs the key itself, so unlike a
//! password it cannot be kept as a one-way hash. Protect the database like a
//! key store (see `docs/huawei.md`, "Credentials").
//!
//! A user manages their own credentials; the cloud admin manages anyone's.

use crate::{Caller, Service, WriteOptions};
use nicplane_domain::ids::UserId;
use nicplane_domain::model::{now, Timestamp};
use nicplane_domain::types::check_text;
use nicplane_domain::{Error, Kind, Result};
use nicplane_store::CredentialRow;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Length of an access key (Huawei AKs are 20 characters).
pub const ACCESS_KEY_LEN: usize = 20;
/// Length of a secret key (Huawei SKs are 40 characters).
pub const SECRET_KEY_LEN: usize = 40;
/// Status of a usable credential.
pub const ACTIVE: &str = "active";

/// A credential as its owner sees it; `secret` only in the answer to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Credential {
    /// The access key (AK).
    pub access: String,
    /// The secret key (SK): only in the answer to the create call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[schema(value_type = String)]
    pub user_id: UserId,
    /// `active`.
    pub status: String,
    pub description: String,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
}

impl Credential {
    fn from_row(r: CredentialRow, with_secret: bool) -> Self {
        Credential {
            access: r.access,
            secret: with_secret.then_some(r.secret),
            user_id: r.user_id,
            status: r.status,
            description: r.description,
            created_at: r.created_at,
        }
    }
}

/// A credential to create.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialSpec {
    #[serde(default)]
    pub description: String,
}

fn random_string(len: usize, alphabet: &[u8]) -> String {
    let mut r = rand::thread_rng();
    (0..len)
        .map(|_| alphabet[r.gen_range(0..alphabet.len())] as char)
        .collect()
}

/// A fresh access key: uppercase letters and digits.
fn new_access_key() -> String {
    random_string(ACCESS_KEY_LEN, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
}

/// A fresh secret key: letters and digits (about 238 bits).
fn new_secret_key() -> String {
    random_string(
        SECRET_KEY_LEN,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    )
}

/// The caller may manage `user`'s credentials: their own, or anyone's for
/// the cloud admin. Others' users look missing.
fn may_manage(caller: &Caller, user: UserId) -> Result<()> {
    if caller.user.is_cloud_admin || caller.user.id == user {
        Ok(())
    } else {
        Err(Error::not_found(Kind::User, user))
    }
}

impl Service {
    /// `credential_create`: a new AK/SK pair for a user; the answer is the
    /// only time the secret is shown.
    pub async fn credential_create(
        &self,
        caller: &Caller,
        user: UserId,
        spec: CredentialSpec,
        opts: &WriteOptions,
    ) -> Result<Credential> {
        may_manage(caller, user)?;
        check_text("description", &spec.description)?;
        let row = CredentialRow {
            access: new_access_key(),
            user_id: user,
            secret: new_secret_key(),
            description: spec.description,
            status: ACTIVE.into(),
            created_at: now(),
        };
        self.write(caller, opts, move |tx| {
            tx.user_get(user)?
                .ok_or_else(|| Error::not_found(Kind::User, user))?;
            tx.credential_insert(&row)?;
            Ok(Credential::from_row(row.clone(), true))
        })
        .await
    }

    /// `credential_list`: a user's credentials, without secrets.
    pub async fn credential_list(&self, caller: &Caller, user: UserId) -> Result<Vec<Credential>> {
        may_manage(caller, user)?;
        self.store
            .read(move |tx| {
                tx.user_get(user)?
                    .ok_or_else(|| Error::not_found(Kind::User, user))?;
                Ok(tx
                    .credentials_of_user(user)?
                    .into_iter()
                    .map(|r| Credential::from_row(r, false))
                    .collect())
            })
            .await
    }

    /// `credential_delete`: revoke an access key at once.
    pub async fn credential_delete(
        &self,
        caller: &Caller,
        user: UserId,
        access: &str,
        opts: &WriteOptions,
    ) -> Result<()> {
        may_manage(caller, user)?;
        let access = access.to_string();
        self.write(caller, opts, move |tx| {
            match tx.credential_get(&access)? {
                Some(c) if c.user_id == user => {
                    tx.credential_delete(&access)?;
                    Ok(())
                }
                _ => Err(Error::not_found(Kind::Credential, &access)),
            }
        })
        .await
    }

    /// The user and secret of an active access key, for a signature
    /// verifier; an unknown or inactive key is unauthenticated.
    pub async fn credential_authenticate(&self, access: &str) -> Result<(Caller, String)> {
        let a = access.to_string();
        let found = self
            .store
            .read(move |tx| {
                let Some(c) = tx.credential_get(&a)? else {
                    return Ok(None);
                };
                if c.status != ACTIVE {
                    return Ok(None);
                }
                Ok(tx.user_get(c.user_id)?.map(|u| (u, c.secret)))
            })
            .await?;
        match found {
            // A disabled user's keys stop working at once (read per request).
            Some((user, _)) if !user.enabled => Err(Error::unauthenticated(format!(
                "The user {} is disabled.",
                user.name
            ))),
            Some((user, secret)) => Ok((
                Caller {
                    user,
                    scope: None,
                    token_hash: None,
                },
                secret,
            )),
            None => Err(Error::unauthenticated(format!(
                "The access key {access} does not exist or is not active."
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_documented_shape() {
        let ak = new_access_key();
        assert_eq!(ak.len(), ACCESS_KEY_LEN);
        assert!(ak
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        let sk = new_secret_key();
        assert_eq!(sk.len(), SECRET_KEY_LEN);
        assert!(sk.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(new_secret_key(), sk);
    }
}
