-- AK/SK credentials and asynchronous jobs (Huawei dialect), PostgreSQL; the same
-- logical schema as migrations/sqlite/0002_huawei.sql. Append-only.

-- A user's access keys. The secret is kept as issued: an HMAC can only be
-- verified with the key itself (docs/huawei.md, "Credentials").
CREATE TABLE credentials (
    access_key TEXT COLLATE "C" PRIMARY KEY,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C" NOT NULL DEFAULT '',
    status TEXT COLLATE "C" NOT NULL CHECK (status IN ('active', 'inactive')),
    created_at BIGINT NOT NULL
);
CREATE INDEX credentials_user ON credentials(user_id, created_at);

-- ECS jobs: the outcome of a NIC add/delete, as the job API reports it.
CREATE TABLE jobs (
    id TEXT COLLATE "C" PRIMARY KEY,
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    job_type TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL CHECK (status IN ('INIT', 'RUNNING', 'SUCCESS', 'FAIL')),
    entities TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    error_code TEXT COLLATE "C",
    fail_reason TEXT COLLATE "C",
    begin_time BIGINT NOT NULL,
    end_time BIGINT
);
CREATE INDEX jobs_project ON jobs(project_id, id);
