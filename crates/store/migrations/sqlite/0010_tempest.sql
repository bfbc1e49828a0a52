-- Neutron's extra_dhcp_opt extension: the DHCP options of an interface, a
-- JSON list of {opt_name, opt_value, ip_version} (at most
-- nicplane_domain::rules::DHCP_OPTS_MAX entries, checked in the core).
ALTER TABLE interfaces ADD COLUMN extra_dhcp_opts TEXT NOT NULL DEFAULT '[]';

-- A change of the options bumps the port's revision like any other field.
DROP TRIGGER interfaces_revision;
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
        OR OLD.extra_dhcp_opts IS NOT NEW.extra_dhcp_opts
        OR OLD.tags IS NOT NEW.tags
        OR OLD.device_owner IS NOT NEW.device_owner
        OR OLD.fixed_ips IS NOT NEW.fixed_ips
        OR OLD.parent_id IS NOT NEW.parent_id
        OR OLD.vlan_id IS NOT NEW.vlan_id
        OR OLD.supplementary IS NOT NEW.supplementary)
BEGIN
    UPDATE interfaces SET revision_number = revision_number + 1 WHERE id = NEW.id;
END;

-- Nova's accessIPv4/accessIPv6 of a VM: addresses its owner reaches it at,
-- stored and shown (checked in the core: each of its own IP version).
ALTER TABLE vms ADD COLUMN access_ipv4 TEXT;
ALTER TABLE vms ADD COLUMN access_ipv6 TEXT;
