//! AK/SK credentials: an access key (AK) and a secret key (SK) per user,
//! with which clients sign requests (the Huawei dialect's SDK-HMAC-SHA256).
//!
//! The secret is shown once, when the credential is created. Checking an
//! HMAC signature needs the key itself, so unlike a password it cannot be
//! kept as a one-way hash: it is stored sealed with the server's secret key
//! ([`crate::secret_box`]), and [`Service::credential_secrets_seal`] seals
//! (or re-seals after a key rotation) every stored secret at start.
//!
//! A user manages their own credentials; the cloud admin manages anyone's.
//! Creating and deleting keys needs a token from a password login
//! ([`rules::access_keys_managed_with_token`]); a user holds at most
//! [`CREDENTIALS_PER_USER`] keys ([`rules::credential_slot`]).

use crate::secret_box::{OpenError, Opened};
use crate::{Caller, Service, WriteOptions};
use nicplane_domain::feed::Action;
use nicplane_domain::ids::UserId;
use nicplane_domain::model::{now, Timestamp};
use nicplane_domain::rules::{self, Proof};
use nicplane_domain::types::check_text;
use nicplane_domain::{Error, Kind, Result};
use nicplane_store::{
    CredentialRow, CREDENTIALS_PER_USER, CREDENTIAL_LIMIT_MESSAGE, CREDENTIAL_SECRET_PURPOSE,
};
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
    fn from_row(r: CredentialRow, secret: Option<String>) -> Self {
        Credential {
            access: r.access,
            secret,
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
    /// only time the secret is shown. `proof` is how the caller
    /// authenticated: only a token may create keys. An `Idempotency-Key` is
    /// not honoured here: the stored answer would hold the secret in clear.
    pub async fn credential_create(
        &self,
        caller: &Caller,
        proof: Proof,
        user: UserId,
        spec: CredentialSpec,
        opts: &WriteOptions,
    ) -> Result<Credential> {
        rules::access_keys_managed_with_token(proof)?;
        may_manage(caller, user)?;
        check_text("description", &spec.description)?;
        let access = new_access_key();
        let secret = new_secret_key();
        let row = CredentialRow {
            secret: self.config.secret_keys.seal(&access, &secret),
            access,
            user_id: user,
            description: spec.description,
            status: ACTIVE.into(),
            created_at: now(),
            slot: None,
        };
        let opts = WriteOptions::dry_run(opts.dry_run);
        self.write(caller, &opts, move |tx| {
            tx.user_get(user)?
                .ok_or_else(|| Error::not_found(Kind::User, user))?;
            let held: Vec<Option<i16>> = tx
                .credentials_of_user(user)?
                .iter()
                .map(|c| c.slot)
                .collect();
            let slot =
                rules::credential_slot(&held, CREDENTIALS_PER_USER, CREDENTIAL_LIMIT_MESSAGE)?;
            let row = CredentialRow {
                slot: Some(slot),
                ..row.clone()
            };
            tx.credential_insert(&row)?;
            let c = Credential::from_row(row, None);
            crate::feed::emit(
                tx,
                Kind::Credential,
                &c.access,
                None,
                Action::Create,
                Some(&c),
            )?;
            Ok(c)
        })
        .await
        .map(|created| Credential {
            // A dry run stores nothing, so it shows no secret.
            secret: (!opts.dry_run).then_some(secret),
            ..created
        })
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
                    .map(|r| Credential::from_row(r, None))
                    .collect())
            })
            .await
    }

    /// `credential_delete`: revoke an access key at once (only with a token,
    /// like create).
    pub async fn credential_delete(
        &self,
        caller: &Caller,
        proof: Proof,
        user: UserId,
        access: &str,
        opts: &WriteOptions,
    ) -> Result<()> {
        rules::access_keys_managed_with_token(proof)?;
        may_manage(caller, user)?;
        let access = access.to_string();
        self.write(caller, opts, move |tx| {
            match tx.credential_get(&access)? {
                Some(c) if c.user_id == user => {
                    tx.credential_delete(&access)?;
                    crate::feed::emit_deleted(tx, Kind::Credential, &access, None)
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
        let Some((user, stored)) = found else {
            return Err(Error::unauthenticated(format!(
                "The access key {access} does not exist or is not active."
            )));
        };
        // A disabled user's keys stop working at once (read per request).
        if !user.enabled {
            return Err(Error::unauthenticated(format!(
                "The user {} is disabled.",
                user.name
            )));
        }
        match self.config.secret_keys.open(access, &stored) {
            Ok(opened) => Ok((
                Caller {
                    user,
                    scope: None,
                    token_hash: None,
                },
                opened.secret().to_string(),
            )),
            Err(e) => {
                tracing::error!(
                    target: "nicplane::security",
                    access,
                    problem = ?e,
                    key_id = self.config.secret_keys.current_id(),
                    "cannot open the stored secret of an access key: this server's secret key is not the one that sealed it"
                );
                Err(Error::unavailable(format!(
                    "The server cannot verify signatures made with access key {access}: its secret key differs from the one that stored the key. See the server log."
                )))
            }
        }
    }

    /// Seal every stored secret with the current key, at start: secrets in
    /// clear (written before sealing existed) and secrets sealed with the
    /// previous key (a rotation) are sealed again; the id of the current key
    /// is recorded. Refuses (503) when the store records another key than
    /// this server's current or previous one, or holds a secret that neither
    /// key opens: the server must not start with the wrong key. Runs once per
    /// start, in one transaction; its cost grows with the number of keys.
    pub async fn credential_secrets_seal(&self) -> Result<SealReport> {
        let ring = self.config.secret_keys.clone();
        self.store
            .write(move |tx| {
                let wrong_key = |id: &str| {
                    Error::unavailable(format!(
                        "The stored access keys were sealed with secret key {id}, but this server has key {}{}: start it with the key the other servers use (NICPLANE_SECRET_KEY or the key file), or give that key as NICPLANE_SECRET_KEY_PREVIOUS to rotate.",
                        ring.current_id(),
                        ring.previous_id().map(|p| format!(" (previous {p})")).unwrap_or_default()
                    ))
                };
                if let Some(id) = tx.secret_key_id_get(CREDENTIAL_SECRET_PURPOSE)? {
                    if id != ring.current_id() && Some(id.as_str()) != ring.previous_id() {
                        return Err(wrong_key(&id));
                    }
                }
                let mut report = SealReport::default();
                for row in tx.credentials_all()? {
                    let opened = ring.open(&row.access, &row.secret).map_err(|e| match e {
                        OpenError::UnknownKey(id) => wrong_key(&id),
                        OpenError::Corrupt => Error::unavailable(format!(
                            "The stored secret of access key {} is damaged or was altered; delete that key.",
                            row.access
                        )),
                    })?;
                    match opened {
                        Opened::Current(_) => continue,
                        Opened::Plain(_) => report.sealed += 1,
                        Opened::Previous(_) => report.resealed += 1,
                    }
                    tx.credential_set_secret(&row.access, &ring.seal(&row.access, opened.secret()))?;
                }
                tx.secret_key_id_put(CREDENTIAL_SECRET_PURPOSE, ring.current_id())?;
                Ok(report)
            })
            .await
    }
}

/// What [`Service::credential_secrets_seal`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SealReport {
    /// Secrets found in clear and sealed.
    pub sealed: usize,
    /// Secrets sealed with the previous key and sealed again with the current.
    pub resealed: usize,
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
