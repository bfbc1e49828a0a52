-- Only router ports have a router_id (issue 14, session 12). The full index
-- took a NULL entry for every other interface, one more B-tree write on
-- every attach and detach; the partial one still answers the foreign key's
-- check when a router is deleted (`router_id = ?` implies NOT NULL).
DROP INDEX interfaces_router;
CREATE INDEX interfaces_router ON interfaces(router_id) WHERE router_id IS NOT NULL;
