-- Ports on external networks (issue 12), SQLite; the same logical schema as
-- migrations/postgres/0018_external_ports.sql. Append-only.
--
-- A port the cloud admin makes on an external network (Neutron lets its
-- admin do so) holds addresses of the network's pools. They are taken from
-- the same free ranges and release queue as floating IPs and router
-- gateways (public_ip_fresh, public_ip_released), so an address is held by
-- exactly one of a floating IP, a gateway or a port; the primary key (pool,
-- offset) says so again here. The project is the one it was made in (no
-- cascade: a project with such ports is not deleted under them).
CREATE TABLE external_ports (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id),
    external_network_id TEXT NOT NULL REFERENCES external_networks(id),
    name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    mac_address TEXT NOT NULL,
    device_owner TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- A MAC is unique on its network (an L2 domain of its own).
CREATE UNIQUE INDEX external_ports_mac ON external_ports(external_network_id, mac_address);
CREATE INDEX external_ports_project ON external_ports(project_id, id);

CREATE TABLE external_port_ips (
    port_id TEXT NOT NULL REFERENCES external_ports(id),
    pool_id TEXT NOT NULL REFERENCES public_ip_pools(id),
    offset_key INTEGER NOT NULL,
    address TEXT NOT NULL,
    PRIMARY KEY (pool_id, offset_key)
);
CREATE INDEX external_port_ips_port ON external_port_ips(port_id);
