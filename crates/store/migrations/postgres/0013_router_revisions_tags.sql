-- Routers' revision numbers and tags (issue 12), PostgreSQL; the same
-- logical schema as migrations/sqlite/0013_router_revisions_tags.sql.
-- Append-only.
--
-- revision_number as 0007_revisions_flavors.sql gives the other Neutron
-- objects: 1 at creation, one more on every update that changes an
-- attribute Neutron shows (name, description, admin state, the gateway set
-- or cleared or its SNAT changed), and, as Neutron revises a router when
-- its interfaces change, on every interface added or removed.
ALTER TABLE routers ADD COLUMN revision_number BIGINT NOT NULL DEFAULT 1 CHECK (revision_number >= 1);

CREATE TRIGGER routers_revision BEFORE UPDATE ON routers FOR EACH ROW
    WHEN (
        OLD.name IS DISTINCT FROM NEW.name
        OR OLD.description IS DISTINCT FROM NEW.description
        OR OLD.admin_state_up IS DISTINCT FROM NEW.admin_state_up
        OR OLD.gateway_snat IS DISTINCT FROM NEW.gateway_snat)
    EXECUTE FUNCTION nicplane_revision_bump();

CREATE FUNCTION nicplane_revise_router() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE routers SET revision_number = revision_number + 1 WHERE id = NEW.router_id;
    ELSE
        UPDATE routers SET revision_number = revision_number + 1 WHERE id = OLD.router_id;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER router_interfaces_revise AFTER INSERT OR DELETE ON router_interfaces
    FOR EACH ROW EXECUTE FUNCTION nicplane_revise_router();

-- Neutron tags of routers (see the SQLite file).
CREATE TABLE router_tags (
    router_id TEXT COLLATE "C" NOT NULL REFERENCES routers(id) ON DELETE CASCADE,
    tag TEXT COLLATE "C" NOT NULL CHECK (char_length(tag) BETWEEN 1 AND 255),
    PRIMARY KEY (router_id, tag)
);
