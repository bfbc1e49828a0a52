-- Quotas per project (issue 9), SQLite; the same logical schema as
-- migrations/postgres/0006_quotas.sql. Append-only.
--
-- Usage is kept by triggers on the counted tables, so no insert or delete,
-- whichever code path or cascade runs it, can miss its charge or release.
-- The insert triggers also enforce the limit: the usage row is updated first,
-- then the transaction is aborted when the new usage exceeds the project's
-- limit (quota_limits), else the deployment default (quota_defaults); a
-- negative limit means unlimited. This is `nicplane_domain::rules::within_quota`
-- repeated in SQL, the final word. The abort message starts with
-- 'nicplane over quota: ' and names the resource; the store decodes it into
-- ConflictReason::OverQuota. Names of resources are Neutron's.
--
-- Objects nicplane creates by itself (a project's Default Networks with their
-- subnets, created with the project or with a new data center, and its
-- `default` security group) are counted but never refused, as Neutron counts
-- but does not check its own default security group: a tenant at its quota
-- must not make the cloud admin's data center or project creation fail.

-- Deployment defaults; `nicplane serve` writes its configured defaults here
-- at start. Seeded with Neutron's defaults.
CREATE TABLE quota_defaults (
    resource TEXT PRIMARY KEY,
    hard_limit INTEGER NOT NULL CHECK (hard_limit >= -1)
);
INSERT INTO quota_defaults (resource, hard_limit) VALUES
    ('network', 100), ('subnet', 100), ('port', 500), ('floatingip', 50),
    ('security_group', 10), ('security_group_rule', 100);

-- Limits the cloud admin set for a project (absent: the default).
CREATE TABLE quota_limits (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    resource TEXT NOT NULL REFERENCES quota_defaults(resource),
    hard_limit INTEGER NOT NULL CHECK (hard_limit >= -1),
    PRIMARY KEY (project_id, resource)
);

-- Objects a project holds, per resource; one row per project and resource,
-- created on the first charge.
CREATE TABLE quota_usage (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    resource TEXT NOT NULL REFERENCES quota_defaults(resource),
    in_use INTEGER NOT NULL CHECK (in_use >= 0),
    PRIMARY KEY (project_id, resource)
);

-- Existing data: usage from the current rows.
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

-- ports: every interface row of the project.
CREATE TRIGGER quota_port_charge AFTER INSERT ON interfaces BEGIN
    INSERT OR IGNORE INTO quota_usage (project_id, resource, in_use) VALUES (NEW.project_id, 'port', 0);
    UPDATE quota_usage SET in_use = in_use + 1 WHERE project_id = NEW.project_id AND resource = 'port';
    SELECT RAISE(ABORT, 'nicplane over quota: port') FROM quota_usage u
    WHERE u.project_id = NEW.project_id AND u.resource = 'port'
      AND u.in_use > COALESCE(
            (SELECT hard_limit FROM quota_limits WHERE project_id = NEW.project_id AND resource = 'port'),
            (SELECT hard_limit FROM quota_defaults WHERE resource = 'port'))
      AND COALESCE(
            (SELECT hard_limit FROM quota_limits WHERE project_id = NEW.project_id AND resource = 'port'),
            (SELECT hard_limit FROM quota_defaults WHERE resource = 'port')) >= 0;
END;
CREATE TRIGGER quota_port_release AFTER DELETE ON interfaces BEGIN
    UPDATE quota_usage SET in_use = in_use - 1 WHERE project_id = OLD.project_id AND resource = 'port';
END;

-- networks: those a project owns (shared networks of the cloud admin have
-- no project).
CREATE TRIGGER quota_network_charge AFTER INSERT ON networks WHEN NEW.project_id IS NOT NULL BEGIN
    INSERT OR IGNORE INTO quota_usage (project_id, resource, in_use) VALUES (NEW.project_id, 'network', 0);
    UPDATE quota_usage SET in_use = in_use + 1 WHERE project_id = NEW.project_id AND resource = 'network';
    SELECT RAISE(ABORT, 'nicplane over quota: network') FROM quota_usage u
    WHERE NEW.is_default = 0 AND u.project_id = NEW.project_id AND u.resource = 'network'
      AND u.in_use > COALESCE(
            (SELECT hard_limit FROM quota_limits WHERE project_id = NEW.project_id AND resource = 'network'),
            (SELECT hard_limit FROM quota_defaults WHERE resource = 'network'))
      AND COALESCE(
            (SELECT hard_limit FROM quota_limits WHERE project_id = NEW.project_id AND resource = 'network'),
            (SELECT hard_limit FROM quota_defaults WHERE resource = 'network')) >= 0;
END;
CREATE TRIGGER quota_network_release AFTER DELETE ON networks WHEN OLD.project_id IS NOT NULL BEGIN
    UPDATE quota_usage SET in_use = in_use - 1 WHERE project_id = OLD.project_id AND resource = 'network';
END;

-- subnets: charged to the project owning the network.
CREATE TRIGGER quota_subnet_charge AFTER INSERT ON subnets
WHEN (SELECT project_id FROM networks WHERE id = NEW.network_id) IS NOT NULL BEGIN
    INSERT OR IGNORE INTO quota_usage (project_id, resource, in_use)
        VALUES ((SELECT project_id FROM networks WHERE id = NEW.network_id), 'subnet', 0);
    UPDATE quota_usage SET in_use = in_use + 1
        WHERE project_id = (SELECT project_id FROM networks WHERE id = NEW.network_id) AND resource = 'subnet';
    SELECT RAISE(ABORT, 'nicplane over quota: subnet') FROM quota_usage u
    WHERE (SELECT is_default FROM networks WHERE id = NEW.network_id) = 0
      AND u.project_id = (SELECT project_id FROM networks WHERE id = NEW.network_id) AND u.resource = 'subnet'
      AND u.in_use > COALESCE(
            (SELECT hard_limit FROM quota_limits WHERE project_id = u.project_id AND resource = 'subnet'),
            (SELECT hard_limit FROM quota_defaults WHERE resource = 'subnet'))
      AND COALESCE(
            (SELECT hard_limit FROM quota_limits WHERE project_id = u.project_id AND resource = 'subnet'),
            (SELECT hard_limit FROM quota_defaults WHERE resource = 'subnet')) >= 0;
END;
CREATE TRIGGER quota_subnet_release AFTER DELETE ON subnets BEGIN
    UPDATE quota_usage SET in_use = in_use - 1
        WHERE project_id = (SELECT project_id FROM networks WHERE id = OLD.network_id) AND resource = 'subnet';
END;

-- floatingip: public IPs, whichever dialect allocated them (Neutron floating
-- IPs, Huawei EIPs and native public IPs are the same rows).
CREATE TRIGGER quota_floatingip_charge AFTER INSERT ON public_ips BEGIN
    INSERT OR IGNORE INTO quota_usage (project_id, resource, in_use) VALUES (NEW.project_id, 'floatingip', 0);
    UPDATE quota_usage SET in_use = in_use + 1 WHERE project_id = NEW.project_id AND resource = 'floatingip';
    SELECT RAISE(ABORT, 'nicplane over quota: floatingip') FROM quota_usage u
    WHERE u.project_id = NEW.project_id AND u.resource = 'floatingip'
      AND u.in_use > COALESCE(
            (SELECT hard_limit FROM quota_limits WHERE project_id = NEW.project_id AND resource = 'floatingip'),
            (SELECT hard_limit FROM quota_defaults WHERE resource = 'floatingip'))
      AND COALESCE(
            (SELECT hard_limit FROM quota_limits WHERE project_id = NEW.project_id AND resource = 'floatingip'),
            (SELECT hard_limit FROM quota_defaults WHERE resource = 'floatingip')) >= 0;
END;
CREATE TRIGGER quota_floatingip_release AFTER DELETE ON public_ips BEGIN
    UPDATE quota_usage SET in_use = in_use - 1 WHERE project_id = OLD.project_id AND resource = 'floatingip';
END;

-- security_group: including the project's `default` group.
CREATE TRIGGER quota_security_group_charge AFTER INSERT ON security_groups BEGIN
    INSERT OR IGNORE INTO quota_usage (project_id, resource, in_use) VALUES (NEW.project_id, 'security_group', 0);
    UPDATE quota_usage SET in_use = in_use + 1 WHERE project_id = NEW.project_id AND resource = 'security_group';
    SELECT RAISE(ABORT, 'nicplane over quota: security_group') FROM quota_usage u
    WHERE NEW.is_default = 0 AND u.project_id = NEW.project_id AND u.resource = 'security_group'
      AND u.in_use > COALESCE(
            (SELECT hard_limit FROM quota_limits WHERE project_id = NEW.project_id AND resource = 'security_group'),
            (SELECT hard_limit FROM quota_defaults WHERE resource = 'security_group'))
      AND COALESCE(
            (SELECT hard_limit FROM quota_limits WHERE project_id = NEW.project_id AND resource = 'security_group'),
            (SELECT hard_limit FROM quota_defaults WHERE resource = 'security_group')) >= 0;
END;
-- A group's rules go first, while the group (and so its project) can still
-- be read by the rules' release trigger; the cascade then finds none.
CREATE TRIGGER quota_security_group_release BEFORE DELETE ON security_groups BEGIN
    DELETE FROM security_group_rules WHERE security_group_id = OLD.id;
    UPDATE quota_usage SET in_use = in_use - 1 WHERE project_id = OLD.project_id AND resource = 'security_group';
END;

-- security_group_rule: including the default group's rules.
CREATE TRIGGER quota_security_group_rule_charge AFTER INSERT ON security_group_rules BEGIN
    INSERT OR IGNORE INTO quota_usage (project_id, resource, in_use)
        VALUES ((SELECT project_id FROM security_groups WHERE id = NEW.security_group_id), 'security_group_rule', 0);
    UPDATE quota_usage SET in_use = in_use + 1
        WHERE project_id = (SELECT project_id FROM security_groups WHERE id = NEW.security_group_id)
          AND resource = 'security_group_rule';
    SELECT RAISE(ABORT, 'nicplane over quota: security_group_rule') FROM quota_usage u
    WHERE u.project_id = (SELECT project_id FROM security_groups WHERE id = NEW.security_group_id)
      AND u.resource = 'security_group_rule'
      AND u.in_use > COALESCE(
            (SELECT hard_limit FROM quota_limits WHERE project_id = u.project_id AND resource = 'security_group_rule'),
            (SELECT hard_limit FROM quota_defaults WHERE resource = 'security_group_rule'))
      AND COALESCE(
            (SELECT hard_limit FROM quota_limits WHERE project_id = u.project_id AND resource = 'security_group_rule'),
            (SELECT hard_limit FROM quota_defaults WHERE resource = 'security_group_rule')) >= 0;
END;
CREATE TRIGGER quota_security_group_rule_release AFTER DELETE ON security_group_rules BEGIN
    UPDATE quota_usage SET in_use = in_use - 1
        WHERE project_id = (SELECT project_id FROM security_groups WHERE id = OLD.security_group_id)
          AND resource = 'security_group_rule';
END;
