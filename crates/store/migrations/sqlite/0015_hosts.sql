-- Hosts, placement and observed interface state (issue 13, part 2), SQLite;
-- the same logical schema as migrations/postgres/0015_hosts.sql.

-- A hypervisor of a data center. Its agent authenticates with a credential
-- whose secret is kept only as a SHA-256 hash (shown once, at create).
CREATE TABLE hosts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    data_center_id TEXT NOT NULL REFERENCES data_centers(id),
    secret_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    -- When its agent last authenticated; NULL until it first connects.
    last_seen INTEGER
);
CREATE INDEX hosts_data_center ON hosts(data_center_id, id);

-- The host a VM is placed on; NULL: no host (no agent realizes it).
ALTER TABLE vms ADD COLUMN host_id TEXT REFERENCES hosts(id);
CREATE INDEX vms_host ON vms(host_id, id);

-- Observed state, kept apart from the desired state of `interfaces`: what the
-- agent of the VM's host last reported. A row counts only while the
-- interface is still on the VM it was reported for (vm_id).
CREATE TABLE interface_observed (
    interface_id TEXT PRIMARY KEY REFERENCES interfaces(id) ON DELETE CASCADE,
    vm_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('build', 'active', 'down', 'error')),
    reason TEXT,
    updated_at INTEGER NOT NULL
);
