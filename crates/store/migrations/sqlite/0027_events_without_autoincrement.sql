-- The change feed's table without AUTOINCREMENT (issue 14, session 15).
--
-- AUTOINCREMENT made every event's INSERT read and write the row of
-- `sqlite_sequence` (a table of its own: a B-tree lookup, an update, and one
-- more page in each commit), on the writer thread every write runs on. It
-- only differs from a plain INTEGER PRIMARY KEY when the largest id is
-- deleted: then a plain key hands the next insert the same number again.
-- The one statement that deletes events (`FeedTx::events_delete_through`) keeps the
-- newest (`seq < (SELECT MAX(seq) FROM events)`), and on SQLite the id and
-- `seq` grow together in the same write, so the largest id is never
-- deleted and no id or `seq` is handed out twice either way.
--
-- SQLite cannot drop AUTOINCREMENT in place: the table is rebuilt (no foreign
-- key names it, no trigger is on it) with the same columns and indexes, and
-- its rows copied with their ids.
CREATE TABLE events_new (
    id INTEGER PRIMARY KEY,
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
INSERT INTO events_new (id, seq, at_ms, actor_user_id, actor_user_name, actor_project_id, dialect,
                        request_id, project_id, kind, resource_id, action, resource, host)
SELECT id, seq, at_ms, actor_user_id, actor_user_name, actor_project_id, dialect,
       request_id, project_id, kind, resource_id, action, resource, host
FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE UNIQUE INDEX events_seq ON events (seq);
CREATE INDEX events_project_seq ON events (project_id, seq);
CREATE INDEX events_unsequenced ON events (id) WHERE seq IS NULL;
DELETE FROM sqlite_sequence WHERE name = 'events';
