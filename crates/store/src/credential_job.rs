//! Queries for AK/SK credentials and asynchronous jobs (the Huawei ECS job
//! API). A supertrait of [`Tx`](crate::Tx), so every use case reaches these
//! through the same `&mut dyn Tx`; it is implemented once, for both engines,
//! in `sql/credential_job.rs`, on the tables of `migrations/*/0002_huawei.sql`.

use nicplane_domain::ids::{JobId, ProjectId, UserId};
use nicplane_domain::model::Timestamp;
use nicplane_domain::Result;

/// An access key / secret key pair of a user.
///
/// Verifying an HMAC signature needs the secret itself, so unlike a password
/// it cannot be stored as a one-way hash: the service stores it sealed
/// (AEAD-encrypted under the server's secret key, see
/// `nicplane_service::secret_box`); the store only keeps the text it is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRow {
    /// The access key (AK): 20 uppercase letters and digits; the primary key.
    pub access: String,
    pub user_id: UserId,
    /// The secret key (SK) as the service stored it: sealed
    /// (`nicplane_service::secret_box`), or in clear for rows written before
    /// migration 0005 until the start-up pass seals them.
    pub secret: String,
    pub description: String,
    /// `active` or `inactive` (see the CHECK in the migration).
    pub status: String,
    pub created_at: Timestamp,
    /// Which of the user's [`CREDENTIALS_PER_USER`] slots the key takes
    /// (1-based; the unique index `credentials_user_slot` of migration 0005
    /// caps a user's keys); `None` only for keys beyond the limit made before
    /// that migration.
    pub slot: Option<i16>,
}

/// Most access keys a user may hold (Huawei IAM's and AWS IAM's limit); the
/// `CHECK (slot IN (1, 2))` of migration 0005 repeats it.
pub const CREDENTIALS_PER_USER: i16 = 2;

/// The message of the conflict when a user already has
/// [`CREDENTIALS_PER_USER`] access keys (from the service's check or from
/// the unique index, when two creates race).
pub const CREDENTIAL_LIMIT_MESSAGE: &str =
    "The user already has 2 access keys, the most allowed; delete one first.";

/// What [`CredentialJobTx::secret_key_id_get`] is keyed by for the key that
/// seals credential secrets.
pub const CREDENTIAL_SECRET_PURPOSE: &str = "credential-secrets";

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
    /// Every credential (the start-up pass that seals or re-seals secrets;
    /// never per request).
    fn credentials_all(&mut self) -> Result<Vec<CredentialRow>>;
    /// Replace the stored secret of a credential.
    fn credential_set_secret(&mut self, access: &str, secret: &str) -> Result<()>;
    /// The id of the key that sealed the secrets of `purpose`, if recorded.
    fn secret_key_id_get(&mut self, purpose: &str) -> Result<Option<String>>;
    /// Record the id of the key that seals the secrets of `purpose`.
    fn secret_key_id_put(&mut self, purpose: &str, key_id: &str) -> Result<()>;

    fn job_insert(&mut self, job: &JobRow) -> Result<()>;
    fn job_get(&mut self, id: JobId) -> Result<Option<JobRow>>;
}
