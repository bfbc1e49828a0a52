-- Kept in step with migrations/sqlite/0027_events_without_autoincrement.sql,
-- which rebuilds SQLite's events table without AUTOINCREMENT (a write of
-- sqlite_sequence per event). PostgreSQL's `id` is an identity column whose
-- sequence costs no row write; nothing changes here.
SELECT 1;
