//! [`CredentialJobTx`] for both engines (tables of `0002_huawei.sql`).

use super::rows::{credential_row, job_row, CREDENTIAL_COLS, JOB_COLS};
use super::{args, ts, Exec, SqlTx};
use crate::credential_job::*;
use nicplane_domain::ids::{JobId, UserId};
use nicplane_domain::Result;

impl<E: Exec> CredentialJobTx for SqlTx<E> {
    fn credential_insert(&mut self, c: &CredentialRow) -> Result<()> {
        self.run(
            &format!(
                "INSERT INTO credentials ({CREDENTIAL_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ),
            args![
                &c.access,
                c.user_id.to_string(),
                &c.secret,
                &c.description,
                &c.status,
                ts(c.created_at),
                c.slot.map(i64::from),
            ],
        )
    }
    fn credential_get(&mut self, access: &str) -> Result<Option<CredentialRow>> {
        self.exec.query_opt(
            &format!("SELECT {CREDENTIAL_COLS} FROM credentials WHERE access_key = $1"),
            args![access],
            credential_row,
        )
    }
    fn credentials_of_user(&mut self, user: UserId) -> Result<Vec<CredentialRow>> {
        self.exec.query(
            &format!(
                "SELECT {CREDENTIAL_COLS} FROM credentials WHERE user_id = $1 \
                 ORDER BY created_at, access_key"
            ),
            args![user.to_string()],
            credential_row,
        )
    }
    fn credential_delete(&mut self, access: &str) -> Result<bool> {
        let n = self.exec.execute(
            "DELETE FROM credentials WHERE access_key = $1",
            args![access],
        )?;
        Ok(n > 0)
    }
    fn credentials_all(&mut self) -> Result<Vec<CredentialRow>> {
        self.exec.query(
            &format!("SELECT {CREDENTIAL_COLS} FROM credentials ORDER BY access_key"),
            args![],
            credential_row,
        )
    }
    fn credential_set_secret(&mut self, access: &str, secret: &str) -> Result<()> {
        self.run(
            "UPDATE credentials SET secret = $2 WHERE access_key = $1",
            args![access, secret],
        )
    }
    fn secret_key_id_get(&mut self, purpose: &str) -> Result<Option<String>> {
        self.exec.query_opt(
            "SELECT key_id FROM secret_keys WHERE purpose = $1",
            args![purpose],
            |r| r.string(0),
        )
    }
    fn secret_key_id_put(&mut self, purpose: &str, key_id: &str) -> Result<()> {
        self.run(
            "INSERT INTO secret_keys (purpose, key_id) VALUES ($1, $2) \
             ON CONFLICT (purpose) DO UPDATE SET key_id = excluded.key_id",
            args![purpose, key_id],
        )
    }
    fn job_insert(&mut self, job: &JobRow) -> Result<()> {
        self.run(
            &format!("INSERT INTO jobs ({JOB_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"),
            args![
                job.id.to_string(),
                job.project_id.to_string(),
                &job.job_type,
                &job.status,
                &job.entities,
                job.error_code.as_ref(),
                job.fail_reason.as_ref(),
                ts(job.begin_time),
                job.end_time.map(ts),
            ],
        )
    }
    fn job_get(&mut self, id: JobId) -> Result<Option<JobRow>> {
        self.exec.query_opt(
            &format!("SELECT {JOB_COLS} FROM jobs WHERE id = $1"),
            args![id.to_string()],
            job_row,
        )
    }
}
