-- Neutron trunks (OpenStack dialect), PostgreSQL; the same logical schema as
-- migrations/sqlite/0003_trunks.sql. Append-only.
CREATE TABLE trunks (
    id TEXT COLLATE "C" PRIMARY KEY,
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    -- One trunk per parent; the trunk goes when its parent interface goes.
    parent_id TEXT COLLATE "C" NOT NULL REFERENCES interfaces(id) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL DEFAULT '',
    description TEXT COLLATE "C" NOT NULL DEFAULT '',
    admin_state_up BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX trunks_parent ON trunks(parent_id);
CREATE INDEX trunks_project ON trunks(project_id, id);
