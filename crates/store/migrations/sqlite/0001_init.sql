-- nicplane schema, SQLite. Append-only: never edit a migration that shipped.
-- Addresses are integer offsets inside their subnet, stored through
-- nicplane_domain::ipam::key (sign bit flipped so ordering holds for u64).

CREATE TABLE sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL);

CREATE TABLE data_centers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    is_cloud_admin INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE memberships (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'power_user', 'reader')),
    PRIMARY KEY (user_id, project_id)
);
CREATE INDEX memberships_project ON memberships(project_id);

CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- Project the token is scoped to (Keystone project-scoped tokens), if any.
    project_id TEXT REFERENCES projects(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE idempotency_keys (
    user_id TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE security_groups (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    is_default INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX security_groups_one_default ON security_groups(project_id) WHERE is_default = 1;
CREATE INDEX security_groups_project ON security_groups(project_id, id);

CREATE TABLE security_group_rules (
    id TEXT PRIMARY KEY,
    security_group_id TEXT NOT NULL REFERENCES security_groups(id) ON DELETE CASCADE,
    direction TEXT NOT NULL CHECK (direction IN ('ingress', 'egress')),
    ethertype TEXT NOT NULL CHECK (ethertype IN ('IPv4', 'IPv6')),
    protocol TEXT,
    port_range_min INTEGER CHECK (port_range_min BETWEEN 0 AND 65535),
    port_range_max INTEGER CHECK (port_range_max BETWEEN 0 AND 65535),
    remote_ip_prefix TEXT,
    remote_group_id TEXT,
    description TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX security_group_rules_group ON security_group_rules(security_group_id);

CREATE TABLE networks (
    id TEXT PRIMARY KEY,
    project_id TEXT REFERENCES projects(id) ON DELETE CASCADE,
    data_center_id TEXT NOT NULL REFERENCES data_centers(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL CHECK (kind IN ('standard', 'custom')),
    shared INTEGER NOT NULL DEFAULT 0,
    is_default INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX networks_one_default ON networks(project_id, data_center_id) WHERE is_default = 1;
CREATE INDEX networks_project ON networks(project_id, id);

CREATE TABLE subnets (
    id TEXT PRIMARY KEY,
    network_id TEXT NOT NULL REFERENCES networks(id),
    name TEXT NOT NULL,
    ip_version INTEGER NOT NULL CHECK (ip_version IN (4, 6)),
    cidr TEXT NOT NULL,
    gateway_ip TEXT,
    allocation_pools TEXT NOT NULL,
    -- Size of the allocation pools, a decimal string (a /64 overflows INTEGER).
    pool_size TEXT NOT NULL,
    pool_used INTEGER NOT NULL DEFAULT 0 CHECK (pool_used >= 0),
    created_at INTEGER NOT NULL
);
-- One subnet per IP version per network keeps "the network's IPv4 address" unambiguous.
CREATE UNIQUE INDEX subnets_one_per_version ON subnets(network_id, ip_version);

-- Free offsets of a subnet's allocation pools as disjoint ranges (see ipam.rs).
CREATE TABLE ip_free_ranges (
    subnet_id TEXT NOT NULL REFERENCES subnets(id) ON DELETE CASCADE,
    start_key INTEGER NOT NULL,
    end_key INTEGER NOT NULL,
    CHECK (start_key <= end_key),
    PRIMARY KEY (subnet_id, start_key)
);
CREATE UNIQUE INDEX ip_free_ranges_end ON ip_free_ranges(subnet_id, end_key);

CREATE TABLE vms (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id),
    data_center_id TEXT NOT NULL REFERENCES data_centers(id),
    name TEXT NOT NULL,
    os_type TEXT NOT NULL CHECK (os_type IN ('linux', 'windows')),
    power_state TEXT NOT NULL CHECK (power_state IN ('running', 'stopped')),
    image_ref TEXT NOT NULL DEFAULT '',
    flavor_ref TEXT NOT NULL DEFAULT '',
    metadata TEXT NOT NULL DEFAULT '{}',
    -- Elastic interfaces attached; the interface limit is checked against it
    -- while the VM row is locked by the writing transaction.
    nic_count INTEGER NOT NULL DEFAULT 0 CHECK (nic_count >= 0),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX vms_project ON vms(project_id, id);

CREATE TABLE interfaces (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id),
    network_id TEXT NOT NULL REFERENCES networks(id),
    vm_id TEXT REFERENCES vms(id),
    name TEXT NOT NULL DEFAULT '',
    mac_address TEXT NOT NULL,
    is_primary INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('build', 'active', 'down')),
    admin_state_up INTEGER NOT NULL DEFAULT 1,
    description TEXT NOT NULL DEFAULT '',
    tag TEXT,
    security_groups TEXT NOT NULL DEFAULT '[]',
    port_security_enabled INTEGER NOT NULL DEFAULT 1,
    allowed_address_pairs TEXT NOT NULL DEFAULT '[]',
    tags TEXT NOT NULL DEFAULT '[]',
    device_owner TEXT NOT NULL DEFAULT '',
    -- Denormalized copy of this interface's rows in ip_allocations.
    fixed_ips TEXT NOT NULL DEFAULT '[]',
    -- Deleted (not just unbound) when detached from its VM.
    auto_delete INTEGER NOT NULL DEFAULT 1,
    parent_id TEXT REFERENCES interfaces(id),
    vlan_id INTEGER CHECK (vlan_id BETWEEN 1 AND 4094),
    supplementary INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CHECK (is_primary = 0 OR vm_id IS NOT NULL),
    CHECK (supplementary = 1 OR (parent_id IS NULL AND vlan_id IS NULL)),
    CHECK (supplementary = 0 OR vm_id IS NULL)
);
CREATE UNIQUE INDEX interfaces_mac ON interfaces(mac_address);
CREATE UNIQUE INDEX interfaces_one_primary ON interfaces(vm_id) WHERE is_primary = 1;
CREATE UNIQUE INDEX interfaces_parent_vlan ON interfaces(parent_id, vlan_id) WHERE parent_id IS NOT NULL;
CREATE INDEX interfaces_vm ON interfaces(vm_id);
CREATE INDEX interfaces_project ON interfaces(project_id, id);
CREATE INDEX interfaces_network ON interfaces(network_id);

CREATE TABLE interface_security_groups (
    interface_id TEXT NOT NULL REFERENCES interfaces(id) ON DELETE CASCADE,
    security_group_id TEXT NOT NULL REFERENCES security_groups(id),
    PRIMARY KEY (interface_id, security_group_id)
);
CREATE INDEX interface_security_groups_group ON interface_security_groups(security_group_id);

CREATE TABLE ip_allocations (
    subnet_id TEXT NOT NULL REFERENCES subnets(id),
    offset_key INTEGER NOT NULL,
    address TEXT NOT NULL,
    interface_id TEXT NOT NULL REFERENCES interfaces(id),
    in_pool INTEGER NOT NULL,
    PRIMARY KEY (subnet_id, offset_key)
);
CREATE INDEX ip_allocations_interface ON ip_allocations(interface_id);

CREATE TABLE public_ip_pools (
    id TEXT PRIMARY KEY,
    data_center_id TEXT NOT NULL REFERENCES data_centers(id),
    name TEXT NOT NULL UNIQUE,
    cidr TEXT NOT NULL,
    -- Next sequence number of the release queue.
    release_seq INTEGER NOT NULL DEFAULT 0,
    free_count INTEGER NOT NULL CHECK (free_count >= 0),
    created_at INTEGER NOT NULL
);
CREATE INDEX public_ip_pools_dc ON public_ip_pools(data_center_id);

-- Never-used addresses of a pool, as ranges (handed out first).
CREATE TABLE public_ip_fresh (
    pool_id TEXT NOT NULL REFERENCES public_ip_pools(id),
    start_key INTEGER NOT NULL,
    end_key INTEGER NOT NULL,
    CHECK (start_key <= end_key),
    PRIMARY KEY (pool_id, start_key)
);

-- Released addresses, handed out oldest first after the fresh ones.
CREATE TABLE public_ip_released (
    pool_id TEXT NOT NULL REFERENCES public_ip_pools(id),
    seq INTEGER NOT NULL,
    offset_key INTEGER NOT NULL,
    PRIMARY KEY (pool_id, seq)
);
CREATE UNIQUE INDEX public_ip_released_offset ON public_ip_released(pool_id, offset_key);

CREATE TABLE public_ips (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id),
    pool_id TEXT NOT NULL REFERENCES public_ip_pools(id),
    offset_key INTEGER NOT NULL,
    address TEXT NOT NULL,
    interface_id TEXT REFERENCES interfaces(id),
    description TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX public_ips_address ON public_ips(pool_id, offset_key);
CREATE UNIQUE INDEX public_ips_interface ON public_ips(interface_id) WHERE interface_id IS NOT NULL;
CREATE INDEX public_ips_project ON public_ips(project_id, id);
