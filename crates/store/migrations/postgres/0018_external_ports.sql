-- Ports on external networks (issue 12), PostgreSQL; the same logical schema
-- as migrations/sqlite/0018_external_ports.sql (read its comments).
-- Append-only.
CREATE TABLE external_ports (
    id TEXT COLLATE "C" PRIMARY KEY,
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects(id),
    external_network_id TEXT COLLATE "C" NOT NULL REFERENCES external_networks(id),
    name TEXT COLLATE "C" NOT NULL DEFAULT '',
    description TEXT COLLATE "C" NOT NULL DEFAULT '',
    mac_address TEXT COLLATE "C" NOT NULL,
    device_owner TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX external_ports_mac ON external_ports(external_network_id, mac_address);
CREATE INDEX external_ports_project ON external_ports(project_id, id);

CREATE TABLE external_port_ips (
    port_id TEXT COLLATE "C" NOT NULL REFERENCES external_ports(id),
    pool_id TEXT COLLATE "C" NOT NULL REFERENCES public_ip_pools(id),
    offset_key BIGINT NOT NULL,
    address TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (pool_id, offset_key)
);
CREATE INDEX external_port_ips_port ON external_port_ips(port_id);
