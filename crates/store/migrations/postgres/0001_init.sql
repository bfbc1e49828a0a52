-- nicplane schema, PostgreSQL. Append-only: never edit a migration that shipped.
-- The same logical schema as migrations/sqlite (same tables, columns, CHECKs and
-- index names; tests/conformance.rs compares them). Flags are BOOLEAN here, and
-- text compares byte by byte (COLLATE "C") as in SQLite, so lists and paging
-- markers order the same on both backends whatever the database's locale.
-- Addresses are integer offsets inside their subnet, stored through
-- nicplane_domain::ipam::key (sign bit flipped so ordering holds for u64).

CREATE TABLE sequences (name TEXT COLLATE "C" PRIMARY KEY, value BIGINT NOT NULL);

CREATE TABLE data_centers (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE projects (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    description TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    password_hash TEXT COLLATE "C" NOT NULL,
    is_cloud_admin BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    role TEXT COLLATE "C" NOT NULL CHECK (role IN ('admin', 'power_user', 'reader')),
    PRIMARY KEY (user_id, project_id)
);
CREATE INDEX memberships_project ON memberships(project_id);

CREATE TABLE tokens (
    token_hash TEXT COLLATE "C" PRIMARY KEY,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id TEXT COLLATE "C" REFERENCES projects(id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE idempotency_keys (
    user_id TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    fingerprint TEXT COLLATE "C" NOT NULL,
    response TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE security_groups (
    id TEXT COLLATE "C" PRIMARY KEY,
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C" NOT NULL DEFAULT '',
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX security_groups_one_default ON security_groups(project_id) WHERE is_default;
CREATE INDEX security_groups_project ON security_groups(project_id, id);

CREATE TABLE security_group_rules (
    id TEXT COLLATE "C" PRIMARY KEY,
    security_group_id TEXT COLLATE "C" NOT NULL REFERENCES security_groups(id) ON DELETE CASCADE,
    direction TEXT COLLATE "C" NOT NULL CHECK (direction IN ('ingress', 'egress')),
    ethertype TEXT COLLATE "C" NOT NULL CHECK (ethertype IN ('IPv4', 'IPv6')),
    protocol TEXT COLLATE "C",
    port_range_min BIGINT CHECK (port_range_min BETWEEN 0 AND 65535),
    port_range_max BIGINT CHECK (port_range_max BETWEEN 0 AND 65535),
    remote_ip_prefix TEXT COLLATE "C",
    remote_group_id TEXT COLLATE "C",
    description TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX security_group_rules_group ON security_group_rules(security_group_id);

CREATE TABLE networks (
    id TEXT COLLATE "C" PRIMARY KEY,
    project_id TEXT COLLATE "C" REFERENCES projects(id) ON DELETE CASCADE,
    data_center_id TEXT COLLATE "C" NOT NULL REFERENCES data_centers(id),
    name TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C" NOT NULL DEFAULT '',
    kind TEXT COLLATE "C" NOT NULL CHECK (kind IN ('standard', 'custom')),
    shared BOOLEAN NOT NULL DEFAULT FALSE,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX networks_one_default ON networks(project_id, data_center_id) WHERE is_default;
CREATE INDEX networks_project ON networks(project_id, id);

CREATE TABLE subnets (
    id TEXT COLLATE "C" PRIMARY KEY,
    network_id TEXT COLLATE "C" NOT NULL REFERENCES networks(id),
    name TEXT COLLATE "C" NOT NULL,
    ip_version BIGINT NOT NULL CHECK (ip_version IN (4, 6)),
    cidr TEXT COLLATE "C" NOT NULL,
    gateway_ip TEXT COLLATE "C",
    allocation_pools TEXT COLLATE "C" NOT NULL,
    -- Size of the allocation pools, a decimal string (a /64 overflows BIGINT).
    pool_size TEXT COLLATE "C" NOT NULL,
    pool_used BIGINT NOT NULL DEFAULT 0 CHECK (pool_used >= 0),
    created_at BIGINT NOT NULL
);
-- One subnet per IP version per network keeps "the network's IPv4 address" unambiguous.
CREATE UNIQUE INDEX subnets_one_per_version ON subnets(network_id, ip_version);

-- Free offsets of a subnet's allocation pools as disjoint ranges (see ipam.rs).
CREATE TABLE ip_free_ranges (
    subnet_id TEXT COLLATE "C" NOT NULL REFERENCES subnets(id) ON DELETE CASCADE,
    start_key BIGINT NOT NULL,
    end_key BIGINT NOT NULL,
    CHECK (start_key <= end_key),
    PRIMARY KEY (subnet_id, start_key)
);
CREATE UNIQUE INDEX ip_free_ranges_end ON ip_free_ranges(subnet_id, end_key);

CREATE TABLE vms (
    id TEXT COLLATE "C" PRIMARY KEY,
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects(id),
    data_center_id TEXT COLLATE "C" NOT NULL REFERENCES data_centers(id),
    name TEXT COLLATE "C" NOT NULL,
    os_type TEXT COLLATE "C" NOT NULL CHECK (os_type IN ('linux', 'windows')),
    power_state TEXT COLLATE "C" NOT NULL CHECK (power_state IN ('running', 'stopped')),
    image_ref TEXT COLLATE "C" NOT NULL DEFAULT '',
    flavor_ref TEXT COLLATE "C" NOT NULL DEFAULT '',
    metadata TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    -- Elastic interfaces attached; the interface limit is checked against it
    -- while the VM row is locked by the writing transaction.
    nic_count BIGINT NOT NULL DEFAULT 0 CHECK (nic_count >= 0),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX vms_project ON vms(project_id, id);

CREATE TABLE interfaces (
    id TEXT COLLATE "C" PRIMARY KEY,
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects(id),
    network_id TEXT COLLATE "C" NOT NULL REFERENCES networks(id),
    vm_id TEXT COLLATE "C" REFERENCES vms(id),
    name TEXT COLLATE "C" NOT NULL DEFAULT '',
    mac_address TEXT COLLATE "C" NOT NULL,
    is_primary BOOLEAN NOT NULL DEFAULT FALSE,
    status TEXT COLLATE "C" NOT NULL CHECK (status IN ('build', 'active', 'down')),
    admin_state_up BOOLEAN NOT NULL DEFAULT TRUE,
    description TEXT COLLATE "C" NOT NULL DEFAULT '',
    tag TEXT COLLATE "C",
    security_groups TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    port_security_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    allowed_address_pairs TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    tags TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    device_owner TEXT COLLATE "C" NOT NULL DEFAULT '',
    -- Denormalized copy of this interface's rows in ip_allocations.
    fixed_ips TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    -- Deleted (not just unbound) when detached from its VM.
    auto_delete BOOLEAN NOT NULL DEFAULT TRUE,
    parent_id TEXT COLLATE "C" REFERENCES interfaces(id),
    vlan_id BIGINT CHECK (vlan_id BETWEEN 1 AND 4094),
    supplementary BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK (NOT is_primary OR vm_id IS NOT NULL),
    CHECK (supplementary OR (parent_id IS NULL AND vlan_id IS NULL)),
    CHECK (NOT supplementary OR vm_id IS NULL)
);
CREATE UNIQUE INDEX interfaces_mac ON interfaces(mac_address);
CREATE UNIQUE INDEX interfaces_one_primary ON interfaces(vm_id) WHERE is_primary;
CREATE UNIQUE INDEX interfaces_parent_vlan ON interfaces(parent_id, vlan_id) WHERE parent_id IS NOT NULL;
CREATE INDEX interfaces_vm ON interfaces(vm_id);
CREATE INDEX interfaces_project ON interfaces(project_id, id);
CREATE INDEX interfaces_network ON interfaces(network_id);

CREATE TABLE interface_security_groups (
    interface_id TEXT COLLATE "C" NOT NULL REFERENCES interfaces(id) ON DELETE CASCADE,
    security_group_id TEXT COLLATE "C" NOT NULL REFERENCES security_groups(id),
    PRIMARY KEY (interface_id, security_group_id)
);
CREATE INDEX interface_security_groups_group ON interface_security_groups(security_group_id);

CREATE TABLE ip_allocations (
    subnet_id TEXT COLLATE "C" NOT NULL REFERENCES subnets(id),
    offset_key BIGINT NOT NULL,
    address TEXT COLLATE "C" NOT NULL,
    interface_id TEXT COLLATE "C" NOT NULL REFERENCES interfaces(id),
    in_pool BOOLEAN NOT NULL,
    PRIMARY KEY (subnet_id, offset_key)
);
CREATE INDEX ip_allocations_interface ON ip_allocations(interface_id);

CREATE TABLE public_ip_pools (
    id TEXT COLLATE "C" PRIMARY KEY,
    data_center_id TEXT COLLATE "C" NOT NULL REFERENCES data_centers(id),
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    cidr TEXT COLLATE "C" NOT NULL,
    -- Next sequence number of the release queue.
    release_seq BIGINT NOT NULL DEFAULT 0,
    free_count BIGINT NOT NULL CHECK (free_count >= 0),
    created_at BIGINT NOT NULL
);
CREATE INDEX public_ip_pools_dc ON public_ip_pools(data_center_id);

-- Never-used addresses of a pool, as ranges (handed out first).
CREATE TABLE public_ip_fresh (
    pool_id TEXT COLLATE "C" NOT NULL REFERENCES public_ip_pools(id),
    start_key BIGINT NOT NULL,
    end_key BIGINT NOT NULL,
    CHECK (start_key <= end_key),
    PRIMARY KEY (pool_id, start_key)
);

-- Released addresses, handed out oldest first after the fresh ones.
CREATE TABLE public_ip_released (
    pool_id TEXT COLLATE "C" NOT NULL REFERENCES public_ip_pools(id),
    seq BIGINT NOT NULL,
    offset_key BIGINT NOT NULL,
    PRIMARY KEY (pool_id, seq)
);
CREATE UNIQUE INDEX public_ip_released_offset ON public_ip_released(pool_id, offset_key);

CREATE TABLE public_ips (
    id TEXT COLLATE "C" PRIMARY KEY,
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects(id),
    pool_id TEXT COLLATE "C" NOT NULL REFERENCES public_ip_pools(id),
    offset_key BIGINT NOT NULL,
    address TEXT COLLATE "C" NOT NULL,
    interface_id TEXT COLLATE "C" REFERENCES interfaces(id),
    description TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX public_ips_address ON public_ips(pool_id, offset_key);
CREATE UNIQUE INDEX public_ips_interface ON public_ips(interface_id) WHERE interface_id IS NOT NULL;
CREATE INDEX public_ips_project ON public_ips(project_id, id);
