-- The change feed (docs/feed.md): one row per change, written in the
-- transaction of the write it records.
--
-- `seq` is the order readers follow. SQLite has one writer, so the write
-- itself takes the next number (the largest plus one: the pruning job never
-- deletes the newest event, so a number is never handed out twice). On
-- PostgreSQL writers leave it NULL and a sequencer numbers committed rows;
-- `id` is the row's identity on both.
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seq INTEGER,
    at_ms INTEGER NOT NULL,
    actor_user_id TEXT,
    actor_user_name TEXT NOT NULL,
    actor_project_id TEXT,
    dialect TEXT NOT NULL,
    request_id TEXT NOT NULL,
    project_id TEXT,
    kind TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    action TEXT NOT NULL,
    resource TEXT,
    host TEXT
);
CREATE UNIQUE INDEX events_seq ON events (seq);
CREATE INDEX events_project_seq ON events (project_id, seq);
CREATE INDEX events_unsequenced ON events (id) WHERE seq IS NULL;
