-- Routers' revision numbers and tags (issue 12), SQLite; the same logical
-- schema as migrations/postgres/0013_router_revisions_tags.sql. Append-only.
--
-- revision_number as 0007_revisions_flavors.sql gives the other Neutron
-- objects: 1 at creation, one more on every update that changes an
-- attribute Neutron shows (name, description, admin state, the gateway set
-- or cleared or its SNAT changed), and, as Neutron revises a router when
-- its interfaces change, on every interface added or removed.
-- `If-Match: revision_number=N` is checked by the service (revision_check).
ALTER TABLE routers ADD COLUMN revision_number INTEGER NOT NULL DEFAULT 1 CHECK (revision_number >= 1);

CREATE TRIGGER routers_revision AFTER UPDATE ON routers
    WHEN NEW.revision_number = OLD.revision_number AND (
        OLD.name IS NOT NEW.name
        OR OLD.description IS NOT NEW.description
        OR OLD.admin_state_up IS NOT NEW.admin_state_up
        OR OLD.gateway_snat IS NOT NEW.gateway_snat)
BEGIN
    UPDATE routers SET revision_number = revision_number + 1 WHERE id = NEW.id;
END;

CREATE TRIGGER router_interfaces_revise_insert AFTER INSERT ON router_interfaces
BEGIN
    UPDATE routers SET revision_number = revision_number + 1 WHERE id = NEW.router_id;
END;
CREATE TRIGGER router_interfaces_revise_delete AFTER DELETE ON router_interfaces
BEGIN
    UPDATE routers SET revision_number = revision_number + 1 WHERE id = OLD.router_id;
END;

-- Neutron tags of routers (the tag extension), as neutron_tags keeps those
-- of the other standard resources: at most 20 per router
-- (`rules::neutron_tags_apply`, checked under the router's row lock), 1 to
-- 255 characters each; they go with the router.
CREATE TABLE router_tags (
    router_id TEXT NOT NULL REFERENCES routers(id) ON DELETE CASCADE,
    tag TEXT NOT NULL CHECK (length(tag) BETWEEN 1 AND 255),
    PRIMARY KEY (router_id, tag)
);
