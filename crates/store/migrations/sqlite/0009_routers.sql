-- Routers (issue 12), SQLite; the same logical schema as
-- migrations/postgres/0009_routers.sql. Append-only.
--
-- A router belongs to a project and a data center. Its gateway (gateway_snat
-- not NULL) holds addresses of the data center's public IP pools in
-- router_gateway_ips: taken from the pool as a public IP is (never handed
-- out twice: the primary key is the pool and offset, as public_ips_address),
-- put back at the end of the pool's release queue when the gateway goes.
-- Its interfaces are router_interfaces rows: one per (router, subnet), the
-- primary key is "a subnet is an interface of a router once"; the port is an
-- interface row whose router_id is the router.
CREATE TABLE routers (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    data_center_id TEXT NOT NULL REFERENCES data_centers(id),
    name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    admin_state_up INTEGER NOT NULL DEFAULT 1,
    -- NULL: no gateway; else the gateway's enable_snat.
    gateway_snat INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX routers_project ON routers(project_id, id);

CREATE TABLE router_gateway_ips (
    router_id TEXT NOT NULL REFERENCES routers(id) ON DELETE CASCADE,
    pool_id TEXT NOT NULL REFERENCES public_ip_pools(id),
    offset_key INTEGER NOT NULL,
    address TEXT NOT NULL,
    PRIMARY KEY (pool_id, offset_key)
);
CREATE INDEX router_gateway_ips_router ON router_gateway_ips(router_id);

ALTER TABLE interfaces ADD COLUMN router_id TEXT REFERENCES routers(id);
CREATE INDEX interfaces_router ON interfaces(router_id);

CREATE TABLE router_interfaces (
    router_id TEXT NOT NULL REFERENCES routers(id),
    subnet_id TEXT NOT NULL REFERENCES subnets(id),
    interface_id TEXT NOT NULL REFERENCES interfaces(id),
    address TEXT NOT NULL,
    PRIMARY KEY (router_id, subnet_id)
);
CREATE INDEX router_interfaces_subnet ON router_interfaces(subnet_id);
CREATE INDEX router_interfaces_interface ON router_interfaces(interface_id);

-- The router quota (Neutron's default 10), charged and checked as the
-- other resources of 0006_quotas.sql.
INSERT INTO quota_defaults (resource, hard_limit) VALUES ('router', 10);
CREATE TRIGGER quota_router_charge AFTER INSERT ON routers BEGIN
    INSERT OR IGNORE INTO quota_usage (project_id, resource, in_use) VALUES (NEW.project_id, 'router', 0);
    UPDATE quota_usage SET in_use = in_use + 1 WHERE project_id = NEW.project_id AND resource = 'router';
    SELECT RAISE(ABORT, 'nicplane over quota: router') FROM quota_usage u
    WHERE u.project_id = NEW.project_id AND u.resource = 'router'
      AND u.in_use > COALESCE(
            (SELECT hard_limit FROM quota_limits WHERE project_id = NEW.project_id AND resource = 'router'),
            (SELECT hard_limit FROM quota_defaults WHERE resource = 'router'))
      AND COALESCE(
            (SELECT hard_limit FROM quota_limits WHERE project_id = NEW.project_id AND resource = 'router'),
            (SELECT hard_limit FROM quota_defaults WHERE resource = 'router')) >= 0;
END;
CREATE TRIGGER quota_router_release AFTER DELETE ON routers BEGIN
    UPDATE quota_usage SET in_use = in_use - 1 WHERE project_id = OLD.project_id AND resource = 'router';
END;
