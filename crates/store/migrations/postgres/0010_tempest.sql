-- Neutron's extra_dhcp_opt extension: the DHCP options of an interface, a
-- JSON list of {opt_name, opt_value, ip_version} (at most
-- nicplane_domain::rules::DHCP_OPTS_MAX entries, checked in the core).
ALTER TABLE interfaces ADD COLUMN extra_dhcp_opts TEXT COLLATE "C" NOT NULL DEFAULT '[]';

-- A change of the options bumps the port's revision like any other field.
DROP TRIGGER interfaces_revision ON interfaces;
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
        OR OLD.extra_dhcp_opts IS DISTINCT FROM NEW.extra_dhcp_opts
        OR OLD.tags IS DISTINCT FROM NEW.tags
        OR OLD.device_owner IS DISTINCT FROM NEW.device_owner
        OR OLD.fixed_ips IS DISTINCT FROM NEW.fixed_ips
        OR OLD.parent_id IS DISTINCT FROM NEW.parent_id
        OR OLD.vlan_id IS DISTINCT FROM NEW.vlan_id
        OR OLD.supplementary IS DISTINCT FROM NEW.supplementary)
    EXECUTE FUNCTION nicplane_revision_bump();

-- Nova's accessIPv4/accessIPv6 of a VM: addresses its owner reaches it at,
-- stored and shown (checked in the core: each of its own IP version).
ALTER TABLE vms ADD COLUMN access_ipv4 TEXT COLLATE "C";
ALTER TABLE vms ADD COLUMN access_ipv6 TEXT COLLATE "C";
