//! [`UserAuthTx`] for SQLite (columns and indexes of `0004_auth.sql`).

use super::{opt_parse, user_row, SqliteTx};
use crate::user_auth::*;
use nicplane_domain::ids::UserId;
use nicplane_domain::Result;
use rusqlite::params;

impl UserAuthTx for SqliteTx<'_> {
    fn token_owner(&mut self, hash: &str) -> Result<Option<TokenOwner>> {
        self.one(
            "SELECT u.id, u.name, u.is_cloud_admin, u.created_at, u.password_hash, u.enabled, \
             t.project_id, t.expires_at \
             FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?1",
            [hash],
            |r| {
                Ok(TokenOwner {
                    user: user_row(r)?,
                    scope: opt_parse(r.get(6)?, "project")?,
                    expires_at: r.get(7)?,
                })
            },
        )
    }
    fn user_set_enabled(&mut self, id: UserId, enabled: bool) -> Result<()> {
        self.exec(
            "UPDATE users SET enabled = ?2 WHERE id = ?1",
            params![id.to_string(), enabled],
        )
        .map(|_| ())
    }
    fn user_delete(&mut self, id: UserId) -> Result<bool> {
        self.exec("DELETE FROM users WHERE id = ?1", [id.to_string()])
            .map(|n| n > 0)
    }
    fn tokens_delete_of_user(&mut self, user: UserId, keep: Option<&str>) -> Result<()> {
        self.exec(
            "DELETE FROM tokens WHERE user_id = ?1 AND token_hash IS NOT ?2",
            params![user.to_string(), keep],
        )
        .map(|_| ())
    }
    fn cloud_admins_enabled(&mut self) -> Result<Vec<UserId>> {
        // SQLite has one writer: the transaction already excludes others.
        self.many(
            "SELECT id FROM users WHERE is_cloud_admin = 1 AND enabled = 1",
            [],
            |r| super::parse(&r.get::<_, String>(0)?, "id"),
        )
    }
    fn token_purge(&mut self, now: i64, limit: u32) -> Result<u64> {
        self.exec(
            "DELETE FROM tokens WHERE token_hash IN \
             (SELECT token_hash FROM tokens WHERE expires_at <= ?1 LIMIT ?2)",
            params![now, limit],
        )
        .map(|n| n as u64)
    }
    fn idempotency_purge(&mut self, before: i64, limit: u32) -> Result<u64> {
        self.exec(
            "DELETE FROM idempotency_keys WHERE rowid IN \
             (SELECT rowid FROM idempotency_keys WHERE created_at < ?1 LIMIT ?2)",
            params![before, limit],
        )
        .map(|n| n as u64)
    }
    fn job_purge(&mut self, before: i64, limit: u32) -> Result<u64> {
        self.exec(
            "DELETE FROM jobs WHERE id IN \
             (SELECT id FROM jobs WHERE end_time IS NOT NULL AND end_time < ?1 \
              AND status IN ('SUCCESS', 'FAIL') LIMIT ?2)",
            params![before, limit],
        )
        .map(|n| n as u64)
    }
}
