-- The interface address a public IP maps to (Neutron's fixed_ip_address),
-- chosen among the interface's IPv4 addresses; NULL: the first of them.
ALTER TABLE public_ips ADD COLUMN fixed_ip TEXT;

-- Mapping to another of the port's addresses bumps the revision too.
DROP TRIGGER public_ips_revision;
CREATE TRIGGER public_ips_revision AFTER UPDATE ON public_ips
    WHEN NEW.revision_number = OLD.revision_number AND (
        OLD.interface_id IS NOT NEW.interface_id
        OR OLD.description IS NOT NEW.description
        OR OLD.fixed_ip IS NOT NEW.fixed_ip)
BEGIN
    UPDATE public_ips SET revision_number = revision_number + 1 WHERE id = NEW.id;
END;
