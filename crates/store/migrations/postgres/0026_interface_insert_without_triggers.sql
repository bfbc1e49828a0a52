-- Kept in step with migrations/sqlite/0026_interface_insert_without_triggers.sql,
-- which drops SQLite's two INSERT triggers on interfaces (the store charges
-- the port quota and revises the trunk itself there). PostgreSQL keeps its
-- triggers: its port charge is a deferred constraint trigger on quota shards
-- (0022, 0024), which costs no statement journal.
SELECT 1;
