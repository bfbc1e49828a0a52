//! [`UserAuthTx`] for PostgreSQL (columns and indexes of `0004_auth.sql`).

use super::{col, get, user_row, PgTx};
use crate::user_auth::*;
use nicplane_domain::ids::{ProjectId, UserId};
use nicplane_domain::Result;

impl UserAuthTx for PgTx<'_> {
    fn token_owner(&mut self, hash: &str) -> Result<Option<TokenOwner>> {
        self.one(
            "SELECT u.id, u.name, u.is_cloud_admin, u.created_at, u.password_hash, u.enabled, \
             t.project_id, t.expires_at \
             FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
            &[&hash],
            |r| {
                let scope: Option<String> = get(r, 6)?;
                let scope = match scope {
                    Some(s) => Some(s.parse::<ProjectId>()?),
                    None => None,
                };
                Ok(TokenOwner {
                    user: user_row(r)?,
                    scope,
                    expires_at: get(r, 7)?,
                })
            },
        )
    }
    fn user_set_enabled(&mut self, id: UserId, enabled: bool) -> Result<()> {
        self.exec(
            "UPDATE users SET enabled = $2 WHERE id = $1",
            &[&id.to_string(), &enabled],
        )
    }
    fn user_delete(&mut self, id: UserId) -> Result<bool> {
        Ok(self
            .one(
                "DELETE FROM users WHERE id = $1 RETURNING 1",
                &[&id.to_string()],
                |_| Ok(()),
            )?
            .is_some())
    }
    fn tokens_delete_of_user(&mut self, user: UserId, keep: Option<&str>) -> Result<()> {
        self.exec(
            "DELETE FROM tokens WHERE user_id = $1 AND token_hash IS DISTINCT FROM $2",
            &[&user.to_string(), &keep],
        )
    }
    fn cloud_admins_enabled(&mut self) -> Result<Vec<UserId>> {
        let lock = self.for_update(None);
        self.many(
            &format!("SELECT id FROM users WHERE is_cloud_admin AND enabled ORDER BY id{lock}"),
            &[],
            |r| col(r, 0, "id"),
        )
    }
    fn token_purge(&mut self, now: i64, limit: u32) -> Result<u64> {
        self.count(
            "WITH gone AS (DELETE FROM tokens WHERE token_hash IN \
             (SELECT token_hash FROM tokens WHERE expires_at <= $1 LIMIT $2) RETURNING 1) \
             SELECT COUNT(*) FROM gone",
            &[&now, &(limit as i64)],
        )
    }
    fn idempotency_purge(&mut self, before: i64, limit: u32) -> Result<u64> {
        self.count(
            "WITH gone AS (DELETE FROM idempotency_keys WHERE (user_id, key) IN \
             (SELECT user_id, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2) RETURNING 1) \
             SELECT COUNT(*) FROM gone",
            &[&before, &(limit as i64)],
        )
    }
    fn job_purge(&mut self, before: i64, limit: u32) -> Result<u64> {
        self.count(
            "WITH gone AS (DELETE FROM jobs WHERE id IN \
             (SELECT id FROM jobs WHERE end_time IS NOT NULL AND end_time < $1 \
              AND status IN ('SUCCESS', 'FAIL') LIMIT $2) RETURNING 1) \
             SELECT COUNT(*) FROM gone",
            &[&before, &(limit as i64)],
        )
    }
}
