-- An INSERT into interfaces with a trigger is a "multi-write" statement that
-- may abort half-way, so SQLite gave every one a statement journal: each page
-- the INSERT touched (the table and its indexes, about ten pages) was copied
-- into memory, 1 KB chunk by chunk, before it was changed, and the trigger
-- programs ran as sub-programs (issue 14, session 14: about 10 % of the
-- writer thread's time per attach and per port create). Without triggers the
-- INSERT checks its foreign keys at once and needs no journal.
--
-- What the two INSERT triggers did, the store now does in the same
-- transaction, right after its one INSERT INTO interfaces
-- (`SqlTx::insert_interface_row`, `sql/tx.rs`; the only statement of nicplane
-- that inserts an interface):
--   * quota_port_charge: charge the project's port usage, refused past the
--     limit with the same error (`SqlTx::port_charge`);
--   * subports_revise_trunk_insert: a new subport bumps its trunk's revision.
-- The DELETE triggers stay (a DELETE of an interface cascades anyway).
-- PostgreSQL keeps its triggers (its port charge is a deferred constraint
-- trigger on quota shards, migrations/postgres/0022 and 0024).
DROP TRIGGER quota_port_charge;
DROP TRIGGER subports_revise_trunk_insert;
