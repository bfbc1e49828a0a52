-- The change feed (docs/feed.md): one row per change, written in the
-- transaction of the write it records.
--
-- Writers insert with `seq` NULL; the sequencer (whichever server holds the
-- advisory lock `postgres::FEED_SEQUENCER_LOCK_KEY` in its short
-- transaction) numbers the committed unsequenced rows in `id` order, after
-- the largest number given so far. Readers read numbered rows only, so a
-- row that commits late gets a number above every number already visible
-- and no reader skips it. The pruning job never deletes the newest event.
CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    seq BIGINT,
    at_ms BIGINT NOT NULL,
    actor_user_id TEXT COLLATE "C",
    actor_user_name TEXT NOT NULL,
    actor_project_id TEXT COLLATE "C",
    dialect TEXT NOT NULL,
    request_id TEXT NOT NULL,
    project_id TEXT COLLATE "C",
    kind TEXT NOT NULL,
    resource_id TEXT COLLATE "C" NOT NULL,
    action TEXT NOT NULL,
    resource TEXT,
    host TEXT
);
CREATE UNIQUE INDEX events_seq ON events (seq);
CREATE INDEX events_project_seq ON events (project_id, seq);
CREATE INDEX events_unsequenced ON events (id) WHERE seq IS NULL;
