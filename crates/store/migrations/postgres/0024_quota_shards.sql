-- Quota charges without one row every charge of a project waits for
-- (issue 14, session 13), PostgreSQL; the same logical schema as
-- migrations/sqlite/0024_quota_shards.sql. Append-only.
--
-- Every create and delete of a counted object changed the project's usage
-- row (`quota_usage`, 0006) and held its lock until COMMIT had reached the
-- disk (0022 moved the charge to COMMIT, but a lock is released only after
-- the commit record is flushed): one project's writes, from every server,
-- went through that row one WAL flush at a time.
--
-- Now a project's usage of a resource is its `quota_usage.in_use` (the
-- "base") plus the `in_use` of its shards, one row per connection shard
-- (`pg_backend_pid() % 128`, as `subnet_use_shards`). Each shard also holds an
-- `allowance`: what its own charges may take its `in_use` up to without
-- asking anyone. A charge within its shard's allowance changes only that
-- row, which no other connection writes; a release only lowers its shard's
-- `in_use` (below zero when the object was charged on another shard: only
-- the sum means anything).
--
-- Room is given out only by a "fold": a charge its shard cannot take (or
-- one that is never refused, for objects nicplane makes by itself) locks the
-- base row, then every shard row of the project and resource (waiting for
-- the transactions that charged them), adds their `in_use` to the base
-- (the exact usage), checks the limit against it, and shares what the limit
-- leaves among the shards it locked (`in_use` 0 each), so that
--
--     base + SUM(allowance of those shards) = limit,
--
-- and until the next fold every charge outside one keeps `in_use <=
-- allowance` on its shard while releases only lower `in_use`: the usage,
-- base + SUM(in_use), cannot pass the limit. A shard row made after the
-- fold's lock (by a release) has `in_use <= 0` and no room (the allowance
-- -2^62, which no `in_use` reaches, not even after releases), nor has any
-- shard when the usage is past the limit, nor any of a resource whose limit
-- or default changed (a trigger below): then every charge folds, and a
-- fold meets the new limit exactly.
-- SQLite has one writer: its triggers keep using `quota_usage` alone and
-- this table stays empty.

CREATE TABLE quota_shards (
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    resource TEXT COLLATE "C" NOT NULL REFERENCES quota_defaults(resource),
    shard INTEGER NOT NULL,
    in_use BIGINT NOT NULL,
    allowance BIGINT NOT NULL,
    PRIMARY KEY (project_id, resource, shard)
);

-- Lock the base row, take every shard's use into it and give out the rest of
-- the limit again, with `delta` charged (refused past the limit when
-- `enforce`). Run by `nicplane_quota_charge` only.
CREATE FUNCTION nicplane_quota_fold(p TEXT, r TEXT, delta BIGINT, enforce BOOLEAN, own INTEGER) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    base BIGINT;
    held BIGINT;
    locked INTEGER[];
    shards BIGINT;
    used BIGINT;
    lim BIGINT;
    rest BIGINT;
    share BIGINT;
BEGIN
    INSERT INTO quota_usage AS u (project_id, resource, in_use) VALUES (p, r, 0)
        ON CONFLICT (project_id, resource) DO UPDATE SET in_use = u.in_use
        RETURNING in_use INTO base;
    -- Only the rows locked here are folded: a release on a connection
    -- without a row may add one meanwhile (allowance 0), which stays as it is.
    SELECT COALESCE(SUM(s.in_use), 0), COALESCE(array_agg(s.shard), '{}') INTO held, locked FROM (
        SELECT shard, in_use FROM quota_shards WHERE project_id = p AND resource = r FOR UPDATE
    ) s;
    used := base + held + delta;
    SELECT hard_limit INTO lim FROM quota_limits WHERE project_id = p AND resource = r;
    IF NOT FOUND THEN
        SELECT hard_limit INTO lim FROM quota_defaults WHERE resource = r;
    END IF;
    IF enforce AND delta > 0 AND lim IS NOT NULL AND lim >= 0 AND used > lim THEN
        RAISE EXCEPTION 'nicplane over quota: %', r
            USING ERRCODE = 'check_violation', CONSTRAINT = 'quota_usage_within_limit', TABLE = 'quota_usage';
    END IF;
    UPDATE quota_usage SET in_use = used WHERE project_id = p AND resource = r;
    IF NOT own = ANY(locked) THEN
        -- Another connection of the same shard may have made it meanwhile.
        INSERT INTO quota_shards (project_id, resource, shard, in_use, allowance)
            VALUES (p, r, own, 0, 0) ON CONFLICT DO NOTHING;
        PERFORM 1 FROM quota_shards WHERE project_id = p AND resource = r AND shard = own FOR UPDATE;
        SELECT in_use + used INTO used FROM quota_shards
            WHERE project_id = p AND resource = r AND shard = own;
        locked := locked || own;
        UPDATE quota_usage SET in_use = used WHERE project_id = p AND resource = r;
    END IF;
    shards := cardinality(locked);
    IF lim IS NULL OR lim < 0 THEN
        -- No limit: every shard charges on its own until there is one.
        UPDATE quota_shards SET in_use = 0, allowance = 4611686018427387903
            WHERE project_id = p AND resource = r AND shard = ANY(locked);
        RETURN;
    END IF;
    IF used > lim THEN
        -- Past the limit (a charge that is never refused, or a limit set
        -- below the usage): no room anywhere, every charge folds.
        UPDATE quota_shards SET in_use = 0, allowance = -4611686018427387904
            WHERE project_id = p AND resource = r AND shard = ANY(locked);
        RETURN;
    END IF;
    rest := lim - used;
    share := rest / shards;
    UPDATE quota_shards
        SET in_use = 0,
            allowance = share + CASE WHEN shard = own THEN rest - share * shards ELSE 0 END
        WHERE project_id = p AND resource = r AND shard = ANY(locked);
END;
$$;

CREATE OR REPLACE FUNCTION nicplane_quota_charge(p TEXT, r TEXT, delta BIGINT, enforce BOOLEAN) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    own INTEGER := pg_backend_pid() % 128;
BEGIN
    IF p IS NULL THEN
        RETURN;
    END IF;
    IF delta <= 0 THEN
        UPDATE quota_shards SET in_use = in_use + delta
            WHERE project_id = p AND resource = r AND shard = own;
        IF NOT FOUND THEN
            -- A release may run after the project went in the same
            -- transaction (0022): then nothing is left to count.
            -- A new row gets no room, not even from its own releases: only
            -- a fold gives room (the base alone may be above a limit
            -- lowered since).
            INSERT INTO quota_shards (project_id, resource, shard, in_use, allowance)
                SELECT p, r, own, delta, -4611686018427387904 WHERE EXISTS (SELECT 1 FROM projects WHERE id = p)
                ON CONFLICT (project_id, resource, shard)
                DO UPDATE SET in_use = quota_shards.in_use + delta;
        END IF;
        RETURN;
    END IF;
    IF enforce THEN
        -- In a block of its own (a subtransaction): an UPDATE that waited
        -- for a fold and then found no room still holds the row's lock,
        -- and a transaction must never wait for the base row (below) while
        -- it holds a shard row a fold waits for. Undoing the block frees it.
        BEGIN
            UPDATE quota_shards SET in_use = in_use + delta
                WHERE project_id = p AND resource = r AND shard = own AND in_use + delta <= allowance;
            IF FOUND THEN
                RETURN;
            END IF;
            RAISE SQLSTATE 'NQ001';
        EXCEPTION WHEN SQLSTATE 'NQ001' THEN
            NULL;
        END;
    END IF;
    PERFORM nicplane_quota_fold(p, r, delta, enforce, own);
END;
$$;

-- A limit changed (a project's, or a default): no shard keeps room granted
-- under the old one, nor gains room from releases (a limit below the usage
-- would otherwise let the shards that release take charges again past it):
-- every charge folds until a fold shares out the room the new limit leaves.
CREATE FUNCTION nicplane_quota_limit_changed() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
    rec RECORD;
BEGIN
    IF TG_OP = 'DELETE' THEN
        rec := OLD;
    ELSE
        rec := NEW;
    END IF;
    IF TG_TABLE_NAME = 'quota_limits' THEN
        UPDATE quota_shards SET allowance = -4611686018427387904
            WHERE project_id = rec.project_id AND resource = rec.resource;
    ELSE
        UPDATE quota_shards SET allowance = -4611686018427387904
            WHERE resource = rec.resource;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER quota_limit_changed AFTER INSERT OR UPDATE OR DELETE ON quota_limits
    FOR EACH ROW EXECUTE FUNCTION nicplane_quota_limit_changed();
CREATE TRIGGER quota_default_changed AFTER INSERT OR UPDATE OR DELETE ON quota_defaults
    FOR EACH ROW EXECUTE FUNCTION nicplane_quota_limit_changed();
