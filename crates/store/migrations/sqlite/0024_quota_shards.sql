-- A project's usage kept in shards with allowances (issue 14, session 13):
-- read the header of migrations/postgres/0024_quota_shards.sql. SQLite has
-- one writer, so its quota triggers keep counting in `quota_usage` and this
-- table stays empty; it exists so that both engines read a project's usage
-- with the same statement. Append-only.
CREATE TABLE quota_shards (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    resource TEXT NOT NULL REFERENCES quota_defaults(resource),
    shard INTEGER NOT NULL,
    in_use INTEGER NOT NULL,
    allowance INTEGER NOT NULL,
    PRIMARY KEY (project_id, resource, shard)
);
