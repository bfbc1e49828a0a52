-- External networks (issue 12), PostgreSQL; the same logical schema as
-- migrations/sqlite/0012_external_networks.sql (read its comments). Append-only.
CREATE TABLE external_networks (
    id TEXT COLLATE "C" PRIMARY KEY,
    data_center_id TEXT COLLATE "C" NOT NULL REFERENCES data_centers(id),
    project_id TEXT COLLATE "C",
    name TEXT COLLATE "C" NOT NULL DEFAULT '',
    description TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX external_networks_dc ON external_networks(data_center_id);

INSERT INTO external_networks (id, data_center_id, project_id, name, description, created_at, updated_at)
SELECT d.id, d.id, NULL,
       (SELECT p.name FROM public_ip_pools p WHERE p.data_center_id = d.id ORDER BY p.created_at, p.id LIMIT 1),
       'Public IP pools of data center ' || d.name, d.created_at, d.created_at
FROM data_centers d
WHERE EXISTS (SELECT 1 FROM public_ip_pools p WHERE p.data_center_id = d.id);

ALTER TABLE public_ip_pools ADD COLUMN external_network_id TEXT COLLATE "C" REFERENCES external_networks(id);
UPDATE public_ip_pools SET external_network_id = data_center_id;
CREATE INDEX public_ip_pools_network ON public_ip_pools(external_network_id);

ALTER TABLE routers ADD COLUMN gateway_network_id TEXT COLLATE "C" REFERENCES external_networks(id);
UPDATE routers SET gateway_network_id = data_center_id WHERE gateway_snat IS NOT NULL;
CREATE INDEX routers_gateway_network ON routers(gateway_network_id);
