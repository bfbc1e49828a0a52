//! [`CredentialJobTx`] for SQLite (tables of `0002_huawei.sql`).

use super::{from_ts, parse, ts, SqliteTx};
use crate::credential_job::*;
use nicplane_domain::ids::{JobId, UserId};
use nicplane_domain::Result;
use rusqlite::{params, Row};

const CREDENTIAL_COLS: &str = "access_key, user_id, secret, description, status, created_at, slot";
fn credential_row(r: &Row) -> rusqlite::Result<CredentialRow> {
    Ok(CredentialRow {
        access: r.get(0)?,
        user_id: parse(&r.get::<_, String>(1)?, "user id")?,
        secret: r.get(2)?,
        description: r.get(3)?,
        status: r.get(4)?,
        created_at: from_ts(r.get(5)?),
        slot: r.get(6)?,
    })
}

const JOB_COLS: &str =
    "id, project_id, job_type, status, entities, error_code, fail_reason, begin_time, end_time";
fn job_row(r: &Row) -> rusqlite::Result<JobRow> {
    Ok(JobRow {
        id: parse(&r.get::<_, String>(0)?, "job id")?,
        project_id: parse(&r.get::<_, String>(1)?, "project")?,
        job_type: r.get(2)?,
        status: r.get(3)?,
        entities: r.get(4)?,
        error_code: r.get(5)?,
        fail_reason: r.get(6)?,
        begin_time: from_ts(r.get(7)?),
        end_time: r.get::<_, Option<i64>>(8)?.map(from_ts),
    })
}

impl CredentialJobTx for SqliteTx<'_> {
    fn credential_insert(&mut self, c: &CredentialRow) -> Result<()> {
        self.exec(
            &format!(
                "INSERT INTO credentials ({CREDENTIAL_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            ),
            params![
                c.access,
                c.user_id.to_string(),
                c.secret,
                c.description,
                c.status,
                ts(c.created_at),
                c.slot
            ],
        )
        .map(|_| ())
    }
    fn credential_get(&mut self, access: &str) -> Result<Option<CredentialRow>> {
        self.one(
            &format!("SELECT {CREDENTIAL_COLS} FROM credentials WHERE access_key = ?1"),
            [access],
            credential_row,
        )
    }
    fn credentials_of_user(&mut self, user: UserId) -> Result<Vec<CredentialRow>> {
        self.many(
            &format!(
                "SELECT {CREDENTIAL_COLS} FROM credentials WHERE user_id = ?1 ORDER BY created_at, access_key"
            ),
            [user.to_string()],
            credential_row,
        )
    }
    fn credential_delete(&mut self, access: &str) -> Result<bool> {
        self.exec("DELETE FROM credentials WHERE access_key = ?1", [access])
            .map(|n| n > 0)
    }
    fn credentials_all(&mut self) -> Result<Vec<CredentialRow>> {
        self.many(
            &format!("SELECT {CREDENTIAL_COLS} FROM credentials ORDER BY access_key"),
            [],
            credential_row,
        )
    }
    fn credential_set_secret(&mut self, access: &str, secret: &str) -> Result<()> {
        self.exec(
            "UPDATE credentials SET secret = ?2 WHERE access_key = ?1",
            [access, secret],
        )
        .map(|_| ())
    }
    fn secret_key_id_get(&mut self, purpose: &str) -> Result<Option<String>> {
        self.one(
            "SELECT key_id FROM secret_keys WHERE purpose = ?1",
            [purpose],
            |r| r.get(0),
        )
    }
    fn secret_key_id_put(&mut self, purpose: &str, key_id: &str) -> Result<()> {
        self.exec(
            "INSERT INTO secret_keys (purpose, key_id) VALUES (?1, ?2)
             ON CONFLICT (purpose) DO UPDATE SET key_id = excluded.key_id",
            [purpose, key_id],
        )
        .map(|_| ())
    }
    fn job_insert(&mut self, job: &JobRow) -> Result<()> {
        self.exec(
            &format!("INSERT INTO jobs ({JOB_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
            params![
                job.id.to_string(),
                job.project_id.to_string(),
                job.job_type,
                job.status,
                job.entities,
                job.error_code,
                job.fail_reason,
                ts(job.begin_time),
                job.end_time.map(ts)
            ],
        )
        .map(|_| ())
    }
    fn job_get(&mut self, id: JobId) -> Result<Option<JobRow>> {
        self.one(
            &format!("SELECT {JOB_COLS} FROM jobs WHERE id = ?1"),
            [id.to_string()],
            job_row,
        )
    }
}
