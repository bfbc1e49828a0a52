-- Neutron's revision numbers and Nova's flavors (issue 15), PostgreSQL; the same
-- logical schema as migrations/sqlite/0007_revisions_flavors.sql. Append-only.
--
-- revision_number: every object Neutron shows with one (network, subnet,
-- port, security group and rule, floating IP, trunk) starts at 1 and goes up
-- by one on every update that changes one of its attributes (a trigger per
-- table, so no write path can forget it; an UPDATE that changes nothing the
-- client sees, such as a subnet's pool usage or a row lock, does not count).
-- As Neutron's `revises_on_change`, adding or removing a rule bumps its
-- security group, and adding or removing a subport bumps its trunk.
-- `If-Match: revision_number=N` is checked by the service inside the write's
-- transaction (`revision_check` in crates/store/src/sql/tx.rs).

ALTER TABLE networks ADD COLUMN revision_number BIGINT NOT NULL DEFAULT 1 CHECK (revision_number >= 1);
ALTER TABLE subnets ADD COLUMN revision_number BIGINT NOT NULL DEFAULT 1 CHECK (revision_number >= 1);
ALTER TABLE interfaces ADD COLUMN revision_number BIGINT NOT NULL DEFAULT 1 CHECK (revision_number >= 1);
ALTER TABLE security_groups ADD COLUMN revision_number BIGINT NOT NULL DEFAULT 1 CHECK (revision_number >= 1);
ALTER TABLE security_group_rules ADD COLUMN revision_number BIGINT NOT NULL DEFAULT 1 CHECK (revision_number >= 1);
ALTER TABLE public_ips ADD COLUMN revision_number BIGINT NOT NULL DEFAULT 1 CHECK (revision_number >= 1);
ALTER TABLE trunks ADD COLUMN revision_number BIGINT NOT NULL DEFAULT 1 CHECK (revision_number >= 1);

CREATE FUNCTION nicplane_revision_bump() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.revision_number = OLD.revision_number THEN
        NEW.revision_number := OLD.revision_number + 1;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER networks_revision BEFORE UPDATE ON networks FOR EACH ROW
    WHEN (
        OLD.name IS DISTINCT FROM NEW.name
        OR OLD.description IS DISTINCT FROM NEW.description
        OR OLD.shared IS DISTINCT FROM NEW.shared
        OR OLD.kind IS DISTINCT FROM NEW.kind)
    EXECUTE FUNCTION nicplane_revision_bump();

CREATE TRIGGER subnets_revision BEFORE UPDATE ON subnets FOR EACH ROW
    WHEN (
        OLD.name IS DISTINCT FROM NEW.name
        OR OLD.gateway_ip IS DISTINCT FROM NEW.gateway_ip
        OR OLD.allocation_pools IS DISTINCT FROM NEW.allocation_pools)
    EXECUTE FUNCTION nicplane_revision_bump();

CREATE TRIGGER interfaces_revision BEFORE UPDATE ON interfaces FOR EACH ROW
    WHEN (
        OLD.network_id IS DISTINCT FROM NEW.network_id
        OR OLD.vm_id IS DISTINCT FROM NEW.vm_id
        OR OLD.name IS DISTINCT FROM NEW.name
        OR OLD.mac_address IS DISTINCT FROM NEW.mac_address
        OR OLD.is_primary IS DISTINCT FROM NEW.is_primary
        OR OLD.status IS DISTINCT FROM NEW.status
        OR OLD.admin_state_up IS DISTINCT FROM NEW.admin_state_up
        OR OLD.description IS DISTINCT FROM NEW.description
        OR OLD.tag IS DISTINCT FROM NEW.tag
        OR OLD.security_groups IS DISTINCT FROM NEW.security_groups
        OR OLD.port_security_enabled IS DISTINCT FROM NEW.port_security_enabled
        OR OLD.allowed_address_pairs IS DISTINCT FROM NEW.allowed_address_pairs
        OR OLD.tags IS DISTINCT FROM NEW.tags
        OR OLD.device_owner IS DISTINCT FROM NEW.device_owner
        OR OLD.fixed_ips IS DISTINCT FROM NEW.fixed_ips
        OR OLD.parent_id IS DISTINCT FROM NEW.parent_id
        OR OLD.vlan_id IS DISTINCT FROM NEW.vlan_id
        OR OLD.supplementary IS DISTINCT FROM NEW.supplementary)
    EXECUTE FUNCTION nicplane_revision_bump();

CREATE TRIGGER security_groups_revision BEFORE UPDATE ON security_groups FOR EACH ROW
    WHEN (
        OLD.name IS DISTINCT FROM NEW.name
        OR OLD.description IS DISTINCT FROM NEW.description)
    EXECUTE FUNCTION nicplane_revision_bump();

CREATE TRIGGER security_group_rules_revision BEFORE UPDATE ON security_group_rules FOR EACH ROW
    WHEN (
        OLD.description IS DISTINCT FROM NEW.description)
    EXECUTE FUNCTION nicplane_revision_bump();

CREATE TRIGGER public_ips_revision BEFORE UPDATE ON public_ips FOR EACH ROW
    WHEN (
        OLD.interface_id IS DISTINCT FROM NEW.interface_id
        OR OLD.description IS DISTINCT FROM NEW.description)
    EXECUTE FUNCTION nicplane_revision_bump();

CREATE TRIGGER trunks_revision BEFORE UPDATE ON trunks FOR EACH ROW
    WHEN (
        OLD.name IS DISTINCT FROM NEW.name
        OR OLD.description IS DISTINCT FROM NEW.description
        OR OLD.admin_state_up IS DISTINCT FROM NEW.admin_state_up)
    EXECUTE FUNCTION nicplane_revision_bump();

-- A rule deleted by the cascade of its group's deletion (a nested trigger)
-- leaves the group alone: the group row is gone in this very command.
CREATE FUNCTION nicplane_revise_group() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1 THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        UPDATE security_groups SET revision_number = revision_number + 1 WHERE id = NEW.security_group_id;
    ELSE
        UPDATE security_groups SET revision_number = revision_number + 1 WHERE id = OLD.security_group_id;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER security_group_rules_revise_group AFTER INSERT OR DELETE ON security_group_rules
    FOR EACH ROW EXECUTE FUNCTION nicplane_revise_group();

CREATE FUNCTION nicplane_revise_trunk() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.parent_id IS NOT NULL THEN
            UPDATE trunks SET revision_number = revision_number + 1 WHERE parent_id = NEW.parent_id;
        END IF;
    ELSIF OLD.parent_id IS NOT NULL THEN
        UPDATE trunks SET revision_number = revision_number + 1 WHERE parent_id = OLD.parent_id;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER subports_revise_trunk AFTER INSERT OR DELETE ON interfaces
    FOR EACH ROW EXECUTE FUNCTION nicplane_revise_trunk();

-- Nova flavors: the cloud admin creates and deletes them; everyone reads
-- them. Seeded with the catalog nicplane had before (devstack's m1.*), so
-- nothing changes for users. A deleted flavor is kept, marked deleted, so a
-- server created with it still shows its embedded flavor (Nova keeps a
-- server's flavor in the instance); a live flavor's name and id are unique.
CREATE TABLE flavors (
    -- Nova flavor ids are strings (a UUID by default, or chosen).
    id TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    vcpus BIGINT NOT NULL CHECK (vcpus BETWEEN 1 AND 2147483647),
    ram BIGINT NOT NULL CHECK (ram BETWEEN 1 AND 2147483647),
    disk BIGINT NOT NULL CHECK (disk BETWEEN 0 AND 2147483647),
    ephemeral BIGINT NOT NULL DEFAULT 0 CHECK (ephemeral BETWEEN 0 AND 2147483647),
    swap BIGINT NOT NULL DEFAULT 0 CHECK (swap BETWEEN 0 AND 2147483647),
    is_public BOOLEAN NOT NULL DEFAULT TRUE,
    description TEXT COLLATE "C",
    -- 0 while live; the deletion time (seconds) once deleted.
    deleted_at BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (id, deleted_at)
);
CREATE UNIQUE INDEX flavors_live_name ON flavors(name) WHERE deleted_at = 0;
INSERT INTO flavors (id, name, vcpus, ram, disk, created_at) VALUES
    ('1', 'm1.tiny', 1, 512, 1, 0),
    ('2', 'm1.small', 1, 2048, 20, 0),
    ('3', 'm1.medium', 2, 4096, 40, 0),
    ('4', 'm1.large', 4, 8192, 80, 0);

-- Neutron tags of the standard resources other than ports (a port keeps its
-- tags in interfaces.tags): networks, subnets, security groups, floating IPs
-- and trunks. At most 20 per object (`rules::neutron_tags_apply`, checked
-- under the object's row lock), 1 to 255 characters each. A trigger per
-- table drops an object's tags with it.
CREATE TABLE neutron_tags (
    resource TEXT COLLATE "C" NOT NULL CHECK (resource IN ('network', 'subnet', 'security_group', 'floatingip', 'trunk')),
    resource_id TEXT COLLATE "C" NOT NULL,
    tag TEXT COLLATE "C" NOT NULL CHECK (char_length(tag) BETWEEN 1 AND 255),
    PRIMARY KEY (resource, resource_id, tag)
);
CREATE FUNCTION nicplane_drop_tags() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM neutron_tags WHERE resource = TG_ARGV[0] AND resource_id = OLD.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER networks_drop_tags AFTER DELETE ON networks
    FOR EACH ROW EXECUTE FUNCTION nicplane_drop_tags('network');
CREATE TRIGGER subnets_drop_tags AFTER DELETE ON subnets
    FOR EACH ROW EXECUTE FUNCTION nicplane_drop_tags('subnet');
CREATE TRIGGER security_groups_drop_tags AFTER DELETE ON security_groups
    FOR EACH ROW EXECUTE FUNCTION nicplane_drop_tags('security_group');
CREATE TRIGGER public_ips_drop_tags AFTER DELETE ON public_ips
    FOR EACH ROW EXECUTE FUNCTION nicplane_drop_tags('floatingip');
CREATE TRIGGER trunks_drop_tags AFTER DELETE ON trunks
    FOR EACH ROW EXECUTE FUNCTION nicplane_drop_tags('trunk');
