-- Authentication (issue 9, point 5), PostgreSQL; the same logical schema as
-- migrations/sqlite/0004_auth.sql. Append-only.
ALTER TABLE users ADD COLUMN enabled BOOLEAN NOT NULL DEFAULT TRUE;
CREATE INDEX tokens_user ON tokens(user_id);
CREATE INDEX tokens_expires ON tokens(expires_at);
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
CREATE INDEX jobs_finished ON jobs(end_time) WHERE end_time IS NOT NULL;
