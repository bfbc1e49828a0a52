-- SQLite compiles a CHECK constraint's `IN` list of three or more values
-- into an ephemeral table that it builds for every row it writes: a pager, a
-- page cache and a B-tree opened, filled and closed on every INSERT of an
-- interface (issue 14, session 14: 4-5 % of the writer thread's time per
-- attach). The same constraint written with `=` and `OR` compiles to three
-- comparisons. Only the constraint's text changes, not its meaning, a row or
-- a page, so this is SQLite's "simpler procedure" for schema changes that do
-- not touch the stored content (https://sqlite.org/lang_altertable.html,
-- section 7): edit the table's text in the schema, then bump the schema
-- version so every connection reads it again (the migration runner does that
-- and checks that the text changed, `sqlite/migrate.rs`). PostgreSQL
-- evaluates an `IN` list in place and keeps its constraints as they are.
PRAGMA writable_schema = ON;
UPDATE sqlite_master
   SET sql = replace(sql,
                     'CHECK (status IN (''build'', ''active'', ''down''))',
                     'CHECK (status = ''build'' OR status = ''active'' OR status = ''down'')')
 WHERE type = 'table' AND name = 'interfaces';
UPDATE sqlite_master
   SET sql = replace(sql,
                     'CHECK (status IN (''build'', ''active'', ''down'', ''error''))',
                     'CHECK (status = ''build'' OR status = ''active'' OR status = ''down'' OR status = ''error'')')
 WHERE type = 'table' AND name = 'interface_observed';
PRAGMA writable_schema = OFF;
