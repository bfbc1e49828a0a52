-- The in-pool use of a subnet kept in shards (issue 14): read the header of
-- migrations/postgres/0016_subnet_use.sql. SQLite has one writer, so it keeps
-- counting in `subnets.pool_used` and this table stays empty; it exists so
-- that both engines read a subnet's use with the same statement. Append-only.
CREATE TABLE subnet_use_shards (
    subnet_id TEXT NOT NULL REFERENCES subnets(id) ON DELETE CASCADE,
    shard INTEGER NOT NULL,
    used INTEGER NOT NULL,
    PRIMARY KEY (subnet_id, shard)
);
