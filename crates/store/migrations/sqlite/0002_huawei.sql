-- AK/SK credentials and asynchronous jobs (Huawei dialect). Append-only.

-- A user's access keys. The secret is kept as issued: an HMAC can only be
-- verified with the key itself (docs/huawei.md, "Credentials").
CREATE TABLE credentials (
    access_key TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('active', 'inactive')),
    created_at INTEGER NOT NULL
);
CREATE INDEX credentials_user ON credentials(user_id, created_at);

-- ECS jobs: the outcome of a NIC add/delete, as the job API reports it.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    job_type TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('INIT', 'RUNNING', 'SUCCESS', 'FAIL')),
    entities TEXT NOT NULL DEFAULT '{}',
    error_code TEXT,
    fail_reason TEXT,
    begin_time INTEGER NOT NULL,
    end_time INTEGER
);
CREATE INDEX jobs_project ON jobs(project_id, id);
