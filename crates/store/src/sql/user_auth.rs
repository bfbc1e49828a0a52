//! [`UserAuthTx`] for both engines (columns and indexes of `0004_auth.sql`).

use super::rows::user_row;
use super::{args, Exec, SqlTx};
use crate::user_auth::*;
use nicplane_domain::ids::UserId;
use nicplane_domain::Result;

impl<E: Exec> UserAuthTx for SqlTx<E> {
    fn token_owner(&mut self, hash: &str) -> Result<Option<TokenOwner>> {
        self.exec.query_opt(
            "SELECT u.id, u.name, u.is_cloud_admin, u.created_at, u.password_hash, u.enabled, \
             t.project_id, t.expires_at \
             FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
            args![hash],
            |r| {
                Ok(TokenOwner {
                    user: user_row(r)?,
                    scope: r.opt_parse(6, "project")?,
                    expires_at: r.int(7)?,
                })
            },
        )
    }
    fn user_set_enabled(&mut self, id: UserId, enabled: bool) -> Result<()> {
        self.run(
            "UPDATE users SET enabled = $2 WHERE id = $1",
            args![id.to_string(), enabled],
        )
    }
    fn user_delete(&mut self, id: UserId) -> Result<bool> {
        Ok(self.delete("users", id.to_string())? > 0)
    }
    fn tokens_delete_of_user(&mut self, user: UserId, keep: Option<&str>) -> Result<()> {
        self.run(
            "DELETE FROM tokens WHERE user_id = $1 AND token_hash IS DISTINCT FROM $2",
            args![user.to_string(), keep],
        )
    }
    /// Inside a write on PostgreSQL the rows are locked (`FOR UPDATE`); on
    /// SQLite the one writer already excludes every other.
    fn cloud_admins_enabled(&mut self) -> Result<Vec<UserId>> {
        let lock = self.exec.for_update(None);
        self.exec.query(
            &format!("SELECT id FROM users WHERE is_cloud_admin AND enabled ORDER BY id{lock}"),
            args![],
            |r| r.parse(0, "id"),
        )
    }
    fn token_purge(&mut self, now: i64, limit: u32) -> Result<u64> {
        self.exec.execute(
            "DELETE FROM tokens WHERE token_hash IN \
             (SELECT token_hash FROM tokens WHERE expires_at <= $1 LIMIT $2)",
            args![now, i64::from(limit)],
        )
    }
    fn idempotency_purge(&mut self, before: i64, limit: u32) -> Result<u64> {
        self.exec.execute(
            "DELETE FROM idempotency_keys WHERE (user_id, key) IN \
             (SELECT user_id, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)",
            args![before, i64::from(limit)],
        )
    }
    fn job_purge(&mut self, before: i64, limit: u32) -> Result<u64> {
        self.exec.execute(
            "DELETE FROM jobs WHERE id IN \
             (SELECT id FROM jobs WHERE end_time IS NOT NULL AND end_time < $1 \
              AND status IN ('SUCCESS', 'FAIL') LIMIT $2)",
            args![before, i64::from(limit)],
        )
    }
}
