-- External networks (issue 12), SQLite; the same logical schema as
-- migrations/postgres/0012_external_networks.sql. Append-only.
--
-- An external network is the cloud admin's object that holds public IP
-- pools (Neutron's `router:external` network; its subnets are the pools).
-- It lives in one data center and is visible to every project. A data
-- center's default external network has the data center's id: pools created
-- without naming a network go there (created on the first such pool), which
-- is what every data center with pools showed through Neutron before this
-- migration. `project_id` is only the owner Neutron shows (the cloud admin's
-- project when it was created through Neutron); no foreign key, it is a label.
CREATE TABLE external_networks (
    id TEXT PRIMARY KEY,
    data_center_id TEXT NOT NULL REFERENCES data_centers(id),
    project_id TEXT,
    name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX external_networks_dc ON external_networks(data_center_id);

INSERT INTO external_networks (id, data_center_id, project_id, name, description, created_at, updated_at)
SELECT d.id, d.id, NULL,
       (SELECT p.name FROM public_ip_pools p WHERE p.data_center_id = d.id ORDER BY p.created_at, p.id LIMIT 1),
       'Public IP pools of data center ' || d.name, d.created_at, d.created_at
FROM data_centers d
WHERE EXISTS (SELECT 1 FROM public_ip_pools p WHERE p.data_center_id = d.id);

-- Every pool belongs to one external network (of its data center).
ALTER TABLE public_ip_pools ADD COLUMN external_network_id TEXT REFERENCES external_networks(id);
UPDATE public_ip_pools SET external_network_id = data_center_id;
CREATE INDEX public_ip_pools_network ON public_ip_pools(external_network_id);

-- The external network of a router's gateway (NULL: no gateway).
ALTER TABLE routers ADD COLUMN gateway_network_id TEXT REFERENCES external_networks(id);
UPDATE routers SET gateway_network_id = data_center_id WHERE gateway_snat IS NOT NULL;
CREATE INDEX routers_gateway_network ON routers(gateway_network_id);
