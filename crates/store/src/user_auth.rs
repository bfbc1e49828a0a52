//! Queries for user administration and the bounded purges of expired rows
//! (issue 9, point 5). A supertrait of [`Tx`](crate::Tx); it is
//! implemented once, for both engines, in `sql/user_auth.rs`,
//! on the columns and indexes of `migrations/*/0004_auth.sql`.

use nicplane_domain::ids::{ProjectId, UserId};
use nicplane_domain::model::User;
use nicplane_domain::Result;

/// What a token resolves to: its user (as stored now, so a disabled user is
/// seen at once), its project scope and its expiry (Unix time).
#[derive(Debug, Clone)]
pub struct TokenOwner {
    pub user: User,
    pub scope: Option<ProjectId>,
    pub expires_at: i64,
}

/// User administration and purges, run inside the caller's transaction.
pub trait UserAuthTx {
    /// The token's user and scope: one read of `tokens` joined with `users`
    /// by primary keys.
    fn token_owner(&mut self, hash: &str) -> Result<Option<TokenOwner>>;
    fn user_set_enabled(&mut self, id: UserId, enabled: bool) -> Result<()>;
    /// Delete a user (memberships, tokens and credentials go with it); false
    /// when there was none.
    fn user_delete(&mut self, id: UserId) -> Result<bool>;
    /// Revoke a user's tokens, except the one with hash `keep`.
    fn tokens_delete_of_user(&mut self, user: UserId, keep: Option<&str>) -> Result<()>;
    /// The enabled cloud admins; inside a write on PostgreSQL their rows are
    /// locked (`FOR UPDATE`) so two servers cannot both remove "the other"
    /// last admin.
    fn cloud_admins_enabled(&mut self) -> Result<Vec<UserId>>;
    /// Delete at most `limit` tokens that expired before `now`; the number
    /// deleted.
    fn token_purge(&mut self, now: i64, limit: u32) -> Result<u64>;
    /// Delete at most `limit` idempotency keys created before `before`.
    fn idempotency_purge(&mut self, before: i64, limit: u32) -> Result<u64>;
    /// Delete at most `limit` finished jobs that ended before `before`.
    fn job_purge(&mut self, before: i64, limit: u32) -> Result<u64>;
}
