-- Kept in step with migrations/sqlite/0025_status_checks_without_in.sql,
-- which rewrites SQLite's `status IN (...)` CHECK constraints on interfaces
-- and interface_observed as comparisons joined by OR (SQLite built a
-- temporary table for the list on every row written). PostgreSQL evaluates
-- an IN list in place: its constraints stay as they are.
SELECT 1;
