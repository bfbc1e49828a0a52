-- The interface address a public IP maps to (Neutron's fixed_ip_address),
-- chosen among the interface's IPv4 addresses; NULL: the first of them.
ALTER TABLE public_ips ADD COLUMN fixed_ip TEXT;

-- Mapping to another of the port's addresses bumps the revision too.
DROP TRIGGER public_ips_revision ON public_ips;
CREATE TRIGGER public_ips_revision BEFORE UPDATE ON public_ips FOR EACH ROW
    WHEN (
        OLD.interface_id IS DISTINCT FROM NEW.interface_id
        OR OLD.description IS DISTINCT FROM NEW.description
        OR OLD.fixed_ip IS DISTINCT FROM NEW.fixed_ip)
    EXECUTE FUNCTION nicplane_revision_bump();
