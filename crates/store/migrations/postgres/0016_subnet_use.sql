-- The in-pool use of a subnet kept in shards (issue 14), PostgreSQL; the
-- same logical schema as migrations/sqlite/0016_subnet_use.sql. Append-only.
--
-- An allocation used to add one to `subnets.pool_used`: the subnet's row was
-- then locked until the allocating transaction ended, so every allocation in
-- a subnet queued on it. Now it adds to the row of its own shard (the
-- connection's: `pg_backend_pid() % 128`, see `PgExec::use_shard`), so two
-- allocations wait for each other only when their connections share a
-- shard. The use of a subnet is `subnets.pool_used` plus the sum of its
-- shards (`rows::SUBNET_USED`); replacing the pools folds the shards back
-- into `pool_used`. SQLite (one writer) keeps updating `pool_used` itself
-- and leaves this table empty.
CREATE TABLE subnet_use_shards (
    subnet_id TEXT COLLATE "C" NOT NULL REFERENCES subnets(id) ON DELETE CASCADE,
    shard INTEGER NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (subnet_id, shard)
);
