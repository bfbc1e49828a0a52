-- Neutron trunks (OpenStack dialect): a named trunk around a parent
-- interface; its subports are the parent's supplementary interfaces
-- (interfaces.parent_id). Append-only.
CREATE TABLE trunks (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    -- One trunk per parent; the trunk goes when its parent interface goes.
    parent_id TEXT NOT NULL REFERENCES interfaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    admin_state_up INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX trunks_parent ON trunks(parent_id);
CREATE INDEX trunks_project ON trunks(project_id, id);
