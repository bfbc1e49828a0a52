-- Neutron's revision numbers and Nova's flavors (issue 15), SQLite; the same
-- logical schema as migrations/postgres/0007_revisions_flavors.sql. Append-only.
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

ALTER TABLE networks ADD COLUMN revision_number INTEGER NOT NULL DEFAULT 1 CHECK (revision_number >= 1);
ALTER TABLE subnets ADD COLUMN revision_number INTEGER NOT NULL DEFAULT 1 CHECK (revision_number >= 1);
ALTER TABLE interfaces ADD COLUMN revision_number INTEGER NOT NULL DEFAULT 1 CHECK (revision_number >= 1);
ALTER TABLE security_groups ADD COLUMN revision_number INTEGER NOT NULL DEFAULT 1 CHECK (revision_number >= 1);
ALTER TABLE security_group_rules ADD COLUMN revision_number INTEGER NOT NULL DEFAULT 1 CHECK (revision_number >= 1);
ALTER TABLE public_ips ADD COLUMN revision_number INTEGER NOT NULL DEFAULT 1 CHECK (revision_number >= 1);
ALTER TABLE trunks ADD COLUMN revision_number INTEGER NOT NULL DEFAULT 1 CHECK (revision_number >= 1);

CREATE TRIGGER networks_revision AFTER UPDATE ON networks
    WHEN NEW.revision_number = OLD.revision_number AND (
        OLD.name IS NOT NEW.name
        OR OLD.description IS NOT NEW.description
        OR OLD.shared IS NOT NEW.shared
        OR OLD.kind IS NOT NEW.kind)
BEGIN
    UPDATE networks SET revision_number = revision_number + 1 WHERE id = NEW.id;
END;

CREATE TRIGGER subnets_revision AFTER UPDATE ON subnets
    WHEN NEW.revision_number = OLD.revision_number AND (
        OLD.name IS NOT NEW.name
        OR OLD.gateway_ip IS NOT NEW.gateway_ip
        OR OLD.allocation_pools IS NOT NEW.allocation_pools)
BEGIN
    UPDATE subnets SET revision_number = revision_number + 1 WHERE id = NEW.id;
END;

CREATE TRIGGER interfaces_revision AFTER UPDATE ON interfaces
    WHEN NEW.revision_number = OLD.revision_number AND (
        OLD.network_id IS NOT NEW.network_id
        OR OLD.vm_id IS NOT NEW.vm_id
        OR OLD.name IS NOT NEW.name
        OR OLD.mac_address IS NOT NEW.mac_address
        OR OLD.is_primary IS NOT NEW.is_primary
        OR OLD.status IS NOT NEW.status
        OR OLD.admin_state_up IS NOT NEW.admin_state_up
        OR OLD.description IS NOT NEW.description
        OR OLD.tag IS NOT NEW.tag
        OR OLD.security_groups IS NOT NEW.security_groups
        OR OLD.port_security_enabled IS NOT NEW.port_security_enabled
        OR OLD.allowed_address_pairs IS NOT NEW.allowed_address_pairs
        OR OLD.tags IS NOT NEW.tags
        OR OLD.device_owner IS NOT NEW.device_owner
        OR OLD.fixed_ips IS NOT NEW.fixed_ips
        OR OLD.parent_id IS NOT NEW.parent_id
        OR OLD.vlan_id IS NOT NEW.vlan_id
        OR OLD.supplementary IS NOT NEW.supplementary)
BEGIN
    UPDATE interfaces SET revision_number = revision_number + 1 WHERE id = NEW.id;
END;

CREATE TRIGGER security_groups_revision AFTER UPDATE ON security_groups
    WHEN NEW.revision_number = OLD.revision_number AND (
        OLD.name IS NOT NEW.name
        OR OLD.description IS NOT NEW.description)
BEGIN
    UPDATE security_groups SET revision_number = revision_number + 1 WHERE id = NEW.id;
END;

CREATE TRIGGER security_group_rules_revision AFTER UPDATE ON security_group_rules
    WHEN NEW.revision_number = OLD.revision_number AND (
        OLD.description IS NOT NEW.description)
BEGIN
    UPDATE security_group_rules SET revision_number = revision_number + 1 WHERE id = NEW.id;
END;

CREATE TRIGGER public_ips_revision AFTER UPDATE ON public_ips
    WHEN NEW.revision_number = OLD.revision_number AND (
        OLD.interface_id IS NOT NEW.interface_id
        OR OLD.description IS NOT NEW.description)
BEGIN
    UPDATE public_ips SET revision_number = revision_number + 1 WHERE id = NEW.id;
END;

CREATE TRIGGER trunks_revision AFTER UPDATE ON trunks
    WHEN NEW.revision_number = OLD.revision_number AND (
        OLD.name IS NOT NEW.name
        OR OLD.description IS NOT NEW.description
        OR OLD.admin_state_up IS NOT NEW.admin_state_up)
BEGIN
    UPDATE trunks SET revision_number = revision_number + 1 WHERE id = NEW.id;
END;

CREATE TRIGGER security_group_rules_revise_group_insert AFTER INSERT ON security_group_rules
BEGIN
    UPDATE security_groups SET revision_number = revision_number + 1 WHERE id = NEW.security_group_id;
END;
CREATE TRIGGER security_group_rules_revise_group_delete AFTER DELETE ON security_group_rules
BEGIN
    UPDATE security_groups SET revision_number = revision_number + 1 WHERE id = OLD.security_group_id;
END;
CREATE TRIGGER subports_revise_trunk_insert AFTER INSERT ON interfaces
    WHEN NEW.parent_id IS NOT NULL
BEGIN
    UPDATE trunks SET revision_number = revision_number + 1 WHERE parent_id = NEW.parent_id;
END;
CREATE TRIGGER subports_revise_trunk_delete AFTER DELETE ON interfaces
    WHEN OLD.parent_id IS NOT NULL
BEGIN
    UPDATE trunks SET revision_number = revision_number + 1 WHERE parent_id = OLD.parent_id;
END;

-- Nova flavors: the cloud admin creates and deletes them; everyone reads
-- them. Seeded with the catalog nicplane had before (devstack's m1.*), so
-- nothing changes for users. A deleted flavor is kept, marked deleted, so a
-- server created with it still shows its embedded flavor (Nova keeps a
-- server's flavor in the instance); a live flavor's name and id are unique.
CREATE TABLE flavors (
    -- Nova flavor ids are strings (a UUID by default, or chosen).
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    vcpus INTEGER NOT NULL CHECK (vcpus BETWEEN 1 AND 2147483647),
    ram INTEGER NOT NULL CHECK (ram BETWEEN 1 AND 2147483647),
    disk INTEGER NOT NULL CHECK (disk BETWEEN 0 AND 2147483647),
    ephemeral INTEGER NOT NULL DEFAULT 0 CHECK (ephemeral BETWEEN 0 AND 2147483647),
    swap INTEGER NOT NULL DEFAULT 0 CHECK (swap BETWEEN 0 AND 2147483647),
    is_public INTEGER NOT NULL DEFAULT 1,
    description TEXT,
    -- 0 while live; the deletion time (seconds) once deleted.
    deleted_at INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
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
    resource TEXT NOT NULL CHECK (resource IN ('network', 'subnet', 'security_group', 'floatingip', 'trunk')),
    resource_id TEXT NOT NULL,
    tag TEXT NOT NULL CHECK (length(tag) BETWEEN 1 AND 255),
    PRIMARY KEY (resource, resource_id, tag)
);
CREATE TRIGGER networks_drop_tags AFTER DELETE ON networks
BEGIN
    DELETE FROM neutron_tags WHERE resource = 'network' AND resource_id = OLD.id;
END;
CREATE TRIGGER subnets_drop_tags AFTER DELETE ON subnets
BEGIN
    DELETE FROM neutron_tags WHERE resource = 'subnet' AND resource_id = OLD.id;
END;
CREATE TRIGGER security_groups_drop_tags AFTER DELETE ON security_groups
BEGIN
    DELETE FROM neutron_tags WHERE resource = 'security_group' AND resource_id = OLD.id;
END;
CREATE TRIGGER public_ips_drop_tags AFTER DELETE ON public_ips
BEGIN
    DELETE FROM neutron_tags WHERE resource = 'floatingip' AND resource_id = OLD.id;
END;
CREATE TRIGGER trunks_drop_tags AFTER DELETE ON trunks
BEGIN
    DELETE FROM neutron_tags WHERE resource = 'trunk' AND resource_id = OLD.id;
END;
