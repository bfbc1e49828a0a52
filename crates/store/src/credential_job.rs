//! Queries for AK/SK credentials and asynchronous jobs (the Huawei ECS job
//! API). A supertrait of [`Tx`](crate::Tx), so every use case reaches these
//! through the same `&mut dyn Tx`; each backend implements it in
//! `sqlite/tx/credential_job.rs` and `postgres/tx/credential_job.rs`, on the
//! tables of `migrations/*/0002_huawei.sql`.

use nicplane_domain::ids::{JobId, ProjectId, UserId};
use nicplane_domain::model::Timestamp;
use nicplane_domain::Result;

/// An access key / secret key pair of a user.
///
/// The secret is stored as issued: verifying an HMAC signature needs the key
/// itself, so unlike a password it cannot be stored as a one-way hash (see
/// `docs/huawei.md`, "Credentials").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRow {
    /// The access key (AK): 20 uppercase letters and digits; the primary key.
    pub access: String,
    pub user_id: UserId,
    /// The secret key (SK).
    pub secret: String,
    pub description: String,
    /// `active` or `inactive` (see the CHECK in the migration).
    pub status: String,
    pub created_at: Timestamp,
}

/// An asynchronous job, as the ECS job API reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub id: JobId,
    pub project_id: ProjectId,
    pub job_type: String,
    /// `INIT`, `RUNNING`, `SUCCESS` or `FAIL` (see the CHECK in the migration).
    pub status: String,
    /// The job's entities (server id, sub-jobs) as JSON text.
    pub entities: String,
    pub error_code: Option<String>,
    pub fail_reason: Option<String>,
    pub begin_time: Timestamp,
    pub end_time: Option<Timestamp>,
}

/// Credential and job queries, run inside the caller's transaction.
pub trait CredentialJobTx {
    fn credential_insert(&mut self, c: &CredentialRow) -> Result<()>;
    fn credential_get(&mut self, access: &str) -> Result<Option<CredentialRow>>;
    /// A user's credentials, oldest first.
    fn credentials_of_user(&mut self, user: UserId) -> Result<Vec<CredentialRow>>;
    /// Delete a credential; false when there was none.
    fn credential_delete(&mut self, access: &str) -> Result<bool>;

    fn job_insert(&mut self, job: &JobRow) -> Result<()>;
    fn job_get(&mut self, id: JobId) -> Result<Option<JobRow>>;
}
