-- Quotas per project (issue 9), PostgreSQL; the same logical schema as
-- migrations/sqlite/0006_quotas.sql (read its header). Append-only.
--
-- Usage is kept by triggers on the counted tables. The charge is an UPSERT of
-- the project's usage row: that row stays locked until the transaction ends,
-- so concurrent creates of one project (from any server sharing the
-- database) queue on it, and each sees the usage its predecessors committed
-- (READ COMMITTED re-reads the row after the wait). A create that takes the
-- usage past the limit raises check_violation with the constraint name
-- `quota_usage_within_limit`, decoded into ConflictReason::OverQuota. Other
-- projects are not blocked: the lock is per project and resource.

CREATE TABLE quota_defaults (
    resource TEXT COLLATE "C" PRIMARY KEY,
    hard_limit BIGINT NOT NULL CHECK (hard_limit >= -1)
);
INSERT INTO quota_defaults (resource, hard_limit) VALUES
    ('network', 100), ('subnet', 100), ('port', 500), ('floatingip', 50),
    ('security_group', 10), ('security_group_rule', 100);

CREATE TABLE quota_limits (
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    resource TEXT COLLATE "C" NOT NULL REFERENCES quota_defaults(resource),
    hard_limit BIGINT NOT NULL CHECK (hard_limit >= -1),
    PRIMARY KEY (project_id, resource)
);

CREATE TABLE quota_usage (
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    resource TEXT COLLATE "C" NOT NULL REFERENCES quota_defaults(resource),
    in_use BIGINT NOT NULL CHECK (in_use >= 0),
    PRIMARY KEY (project_id, resource)
);

INSERT INTO quota_usage (project_id, resource, in_use)
    SELECT project_id, 'port', COUNT(*) FROM interfaces GROUP BY project_id;
INSERT INTO quota_usage (project_id, resource, in_use)
    SELECT project_id, 'network', COUNT(*) FROM networks WHERE project_id IS NOT NULL GROUP BY project_id;
INSERT INTO quota_usage (project_id, resource, in_use)
    SELECT n.project_id, 'subnet', COUNT(*) FROM subnets s JOIN networks n ON n.id = s.network_id
    WHERE n.project_id IS NOT NULL GROUP BY n.project_id;
INSERT INTO quota_usage (project_id, resource, in_use)
    SELECT project_id, 'floatingip', COUNT(*) FROM public_ips GROUP BY project_id;
INSERT INTO quota_usage (project_id, resource, in_use)
    SELECT project_id, 'security_group', COUNT(*) FROM security_groups GROUP BY project_id;
INSERT INTO quota_usage (project_id, resource, in_use)
    SELECT g.project_id, 'security_group_rule', COUNT(*) FROM security_group_rules r
    JOIN security_groups g ON g.id = r.security_group_id GROUP BY g.project_id;

-- Charge (delta > 0) or release (delta < 0) one object of a project; a
-- charge past the limit (a negative limit is unlimited) raises unless
-- `enforce` is false: objects nicplane creates by itself (Default Networks,
-- their subnets, the `default` security group) are counted, never refused
-- (read the SQLite migration's header).
CREATE FUNCTION nicplane_quota_charge(p TEXT, r TEXT, delta BIGINT, enforce BOOLEAN) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    used BIGINT;
    lim BIGINT;
BEGIN
    IF p IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO quota_usage AS u (project_id, resource, in_use) VALUES (p, r, GREATEST(delta, 0))
        ON CONFLICT (project_id, resource) DO UPDATE SET in_use = u.in_use + delta
        RETURNING in_use INTO used;
    IF delta <= 0 OR NOT enforce THEN
        RETURN;
    END IF;
    SELECT hard_limit INTO lim FROM quota_limits WHERE project_id = p AND resource = r;
    IF NOT FOUND THEN
        SELECT hard_limit INTO lim FROM quota_defaults WHERE resource = r;
    END IF;
    IF lim IS NOT NULL AND lim >= 0 AND used > lim THEN
        RAISE EXCEPTION 'nicplane over quota: %', r
            USING ERRCODE = 'check_violation', CONSTRAINT = 'quota_usage_within_limit', TABLE = 'quota_usage';
    END IF;
END;
$$;

CREATE FUNCTION nicplane_quota_row() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
    rec RECORD;
    delta BIGINT;
    p TEXT;
    own BOOLEAN;
BEGIN
    IF TG_OP = 'INSERT' THEN
        rec := NEW;
        delta := 1;
    ELSE
        rec := OLD;
        delta := -1;
    END IF;
    IF TG_TABLE_NAME = 'interfaces' THEN
        PERFORM nicplane_quota_charge(rec.project_id, 'port', delta, TRUE);
    ELSIF TG_TABLE_NAME = 'networks' THEN
        PERFORM nicplane_quota_charge(rec.project_id, 'network', delta, NOT rec.is_default);
    ELSIF TG_TABLE_NAME = 'subnets' THEN
        SELECT project_id, is_default INTO p, own FROM networks WHERE id = rec.network_id;
        PERFORM nicplane_quota_charge(p, 'subnet', delta, NOT COALESCE(own, FALSE));
    ELSIF TG_TABLE_NAME = 'public_ips' THEN
        PERFORM nicplane_quota_charge(rec.project_id, 'floatingip', delta, TRUE);
    ELSIF TG_TABLE_NAME = 'security_groups' THEN
        IF TG_OP = 'DELETE' THEN
            -- Rules first, while the group's project can still be read.
            DELETE FROM security_group_rules WHERE security_group_id = rec.id;
        END IF;
        PERFORM nicplane_quota_charge(rec.project_id, 'security_group', delta, NOT rec.is_default);
    ELSIF TG_TABLE_NAME = 'security_group_rules' THEN
        SELECT project_id INTO p FROM security_groups WHERE id = rec.security_group_id;
        PERFORM nicplane_quota_charge(p, 'security_group_rule', delta, TRUE);
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER quota_port AFTER INSERT OR DELETE ON interfaces
    FOR EACH ROW EXECUTE FUNCTION nicplane_quota_row();
CREATE TRIGGER quota_network AFTER INSERT OR DELETE ON networks
    FOR EACH ROW EXECUTE FUNCTION nicplane_quota_row();
CREATE TRIGGER quota_subnet AFTER INSERT OR DELETE ON subnets
    FOR EACH ROW EXECUTE FUNCTION nicplane_quota_row();
CREATE TRIGGER quota_floatingip AFTER INSERT OR DELETE ON public_ips
    FOR EACH ROW EXECUTE FUNCTION nicplane_quota_row();
CREATE TRIGGER quota_security_group_charge AFTER INSERT ON security_groups
    FOR EACH ROW EXECUTE FUNCTION nicplane_quota_row();
CREATE TRIGGER quota_security_group_release BEFORE DELETE ON security_groups
    FOR EACH ROW EXECUTE FUNCTION nicplane_quota_row();
CREATE TRIGGER quota_security_group_rule AFTER INSERT OR DELETE ON security_group_rules
    FOR EACH ROW EXECUTE FUNCTION nicplane_quota_row();
