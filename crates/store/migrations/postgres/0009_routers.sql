-- Routers (issue 12), PostgreSQL; the same logical schema as
-- migrations/sqlite/0009_routers.sql (read its comments). Append-only.
CREATE TABLE routers (
    id TEXT COLLATE "C" PRIMARY KEY,
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    data_center_id TEXT COLLATE "C" NOT NULL REFERENCES data_centers(id),
    name TEXT COLLATE "C" NOT NULL DEFAULT '',
    description TEXT COLLATE "C" NOT NULL DEFAULT '',
    admin_state_up BOOLEAN NOT NULL DEFAULT TRUE,
    gateway_snat BOOLEAN,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX routers_project ON routers(project_id, id);

CREATE TABLE router_gateway_ips (
    router_id TEXT COLLATE "C" NOT NULL REFERENCES routers(id) ON DELETE CASCADE,
    pool_id TEXT COLLATE "C" NOT NULL REFERENCES public_ip_pools(id),
    offset_key BIGINT NOT NULL,
    address TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (pool_id, offset_key)
);
CREATE INDEX router_gateway_ips_router ON router_gateway_ips(router_id);

ALTER TABLE interfaces ADD COLUMN router_id TEXT COLLATE "C" REFERENCES routers(id);
CREATE INDEX interfaces_router ON interfaces(router_id);

CREATE TABLE router_interfaces (
    router_id TEXT COLLATE "C" NOT NULL REFERENCES routers(id),
    subnet_id TEXT COLLATE "C" NOT NULL REFERENCES subnets(id),
    interface_id TEXT COLLATE "C" NOT NULL REFERENCES interfaces(id),
    address TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (router_id, subnet_id)
);
CREATE INDEX router_interfaces_subnet ON router_interfaces(subnet_id);
CREATE INDEX router_interfaces_interface ON router_interfaces(interface_id);

INSERT INTO quota_defaults (resource, hard_limit) VALUES ('router', 10);

CREATE FUNCTION nicplane_quota_router() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM nicplane_quota_charge(NEW.project_id, 'router', 1, TRUE);
        RETURN NEW;
    END IF;
    PERFORM nicplane_quota_charge(OLD.project_id, 'router', -1, TRUE);
    RETURN OLD;
END;
$$;
CREATE TRIGGER quota_router AFTER INSERT OR DELETE ON routers
    FOR EACH ROW EXECUTE FUNCTION nicplane_quota_router();
