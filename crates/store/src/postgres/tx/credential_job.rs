//! [`CredentialJobTx`] for PostgreSQL (tables of `0002_huawei.sql`).

use super::{col, from_ts, get, ts, PgTx};
use crate::credential_job::*;
use ::postgres::Row;
use nicplane_domain::ids::{JobId, UserId};
use nicplane_domain::Result;

const CREDENTIAL_COLS: &str = "access_key, user_id, secret, description, status, created_at, slot";
fn credential_row(r: &Row) -> Result<CredentialRow> {
    Ok(CredentialRow {
        access: get(r, 0)?,
        user_id: col(r, 1, "user id")?,
        secret: get(r, 2)?,
        description: get(r, 3)?,
        status: get(r, 4)?,
        created_at: from_ts(get(r, 5)?),
        slot: get(r, 6)?,
    })
}

const JOB_COLS: &str =
    "id, project_id, job_type, status, entities, error_code, fail_reason, begin_time, end_time";
fn job_row(r: &Row) -> Result<JobRow> {
    Ok(JobRow {
        id: col(r, 0, "job id")?,
        project_id: col(r, 1, "project")?,
        job_type: get(r, 2)?,
        status: get(r, 3)?,
        entities: get(r, 4)?,
        error_code: get(r, 5)?,
        fail_reason: get(r, 6)?,
        begin_time: from_ts(get(r, 7)?),
        end_time: get::<Option<i64>>(r, 8)?.map(from_ts),
    })
}

impl CredentialJobTx for PgTx<'_> {
    fn credential_insert(&mut self, c: &CredentialRow) -> Result<()> {
        self.exec(
            &format!(
                "INSERT INTO credentials ({CREDENTIAL_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ),
            &[
                &c.access,
                &c.user_id.to_string(),
                &c.secret,
                &c.description,
                &c.status,
                &ts(c.created_at),
                &c.slot,
            ],
        )
    }
    fn credential_get(&mut self, access: &str) -> Result<Option<CredentialRow>> {
        self.one(
            &format!("SELECT {CREDENTIAL_COLS} FROM credentials WHERE access_key = $1"),
            &[&access],
            credential_row,
        )
    }
    fn credentials_of_user(&mut self, user: UserId) -> Result<Vec<CredentialRow>> {
        self.many(
            &format!(
                "SELECT {CREDENTIAL_COLS} FROM credentials WHERE user_id = $1 ORDER BY created_at, access_key"
            ),
            &[&user.to_string()],
            credential_row,
        )
    }
    fn credential_delete(&mut self, access: &str) -> Result<bool> {
        Ok(!self
            .rows(
                "DELETE FROM credentials WHERE access_key = $1 RETURNING access_key",
                &[&access],
            )?
            .is_empty())
    }
    fn credentials_all(&mut self) -> Result<Vec<CredentialRow>> {
        self.many(
            &format!("SELECT {CREDENTIAL_COLS} FROM credentials ORDER BY access_key"),
            &[],
            credential_row,
        )
    }
    fn credential_set_secret(&mut self, access: &str, secret: &str) -> Result<()> {
        self.exec(
            "UPDATE credentials SET secret = $2 WHERE access_key = $1",
            &[&access, &secret],
        )
    }
    fn secret_key_id_get(&mut self, purpose: &str) -> Result<Option<String>> {
        self.one(
            "SELECT key_id FROM secret_keys WHERE purpose = $1",
            &[&purpose],
            |r| get(r, 0),
        )
    }
    fn secret_key_id_put(&mut self, purpose: &str, key_id: &str) -> Result<()> {
        self.exec(
            "INSERT INTO secret_keys (purpose, key_id) VALUES ($1, $2)
             ON CONFLICT (purpose) DO UPDATE SET key_id = EXCLUDED.key_id",
            &[&purpose, &key_id],
        )
    }
    fn job_insert(&mut self, job: &JobRow) -> Result<()> {
        self.exec(
            &format!("INSERT INTO jobs ({JOB_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"),
            &[
                &job.id.to_string(),
                &job.project_id.to_string(),
                &job.job_type,
                &job.status,
                &job.entities,
                &job.error_code,
                &job.fail_reason,
                &ts(job.begin_time),
                &job.end_time.map(ts),
            ],
        )
    }
    fn job_get(&mut self, id: JobId) -> Result<Option<JobRow>> {
        self.one(
            &format!("SELECT {JOB_COLS} FROM jobs WHERE id = $1"),
            &[&id.to_string()],
            job_row,
        )
    }
}
