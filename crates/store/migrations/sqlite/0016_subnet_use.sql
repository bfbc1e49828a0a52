-- The in-pool use of a subnet kept in shards (issue 14): read the header of
-- migrations/postgres/0016_subnet_use.sql. SQLite has one writer; it counted
-- in `subnets.pool_used` and left this table empty until session 15, and
-- counts in shard 0 since (`SqlTx::bump_pool_used`: an UPDATE of `subnets`
-- ran that table's revision trigger for every address). Both engines read a
-- subnet's use with the same statement. Append-only.
CREATE TABLE subnet_use_shards (
    subnet_id TEXT NOT NULL REFERENCES subnets(id) ON DELETE CASCADE,
    shard INTEGER NOT NULL,
    used INTEGER NOT NULL,
    PRIMARY KEY (subnet_id, shard)
);
