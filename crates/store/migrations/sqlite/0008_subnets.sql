-- Neutron's subnet model: any number of subnets of either IP version per
-- network (their CIDRs may not overlap: checked by the service while the
-- network row is locked), and the attributes a subnet carries and can change.
DROP INDEX subnets_one_per_version;
-- Creation order (the `subnets` sequence): a port without fixed_ips takes
-- its address from the first subnet of a version with room, in this order.
ALTER TABLE subnets ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
CREATE INDEX subnets_network ON subnets(network_id, ip_version, position, id);

ALTER TABLE subnets ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE subnets ADD COLUMN enable_dhcp INTEGER NOT NULL DEFAULT 1;
-- JSON lists, bounded by the service (rules::MAX_DNS_NAMESERVERS, MAX_HOST_ROUTES).
ALTER TABLE subnets ADD COLUMN dns_nameservers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE subnets ADD COLUMN host_routes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE subnets ADD COLUMN ipv6_ra_mode TEXT
    CHECK (ipv6_ra_mode IN ('slaac', 'dhcpv6-stateful', 'dhcpv6-stateless'));
ALTER TABLE subnets ADD COLUMN ipv6_address_mode TEXT
    CHECK (ipv6_address_mode IN ('slaac', 'dhcpv6-stateful', 'dhcpv6-stateless'));
ALTER TABLE subnets ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE subnets SET updated_at = created_at;

-- A change of any attribute a client can set bumps the revision (once per update).
DROP TRIGGER subnets_revision;
CREATE TRIGGER subnets_revision AFTER UPDATE ON subnets
    WHEN NEW.revision_number = OLD.revision_number AND (
        OLD.name IS NOT NEW.name
        OR OLD.description IS NOT NEW.description
        OR OLD.gateway_ip IS NOT NEW.gateway_ip
        OR OLD.allocation_pools IS NOT NEW.allocation_pools
        OR OLD.enable_dhcp IS NOT NEW.enable_dhcp
        OR OLD.dns_nameservers IS NOT NEW.dns_nameservers
        OR OLD.host_routes IS NOT NEW.host_routes)
BEGIN
    UPDATE subnets SET revision_number = revision_number + 1 WHERE id = NEW.id;
END;
