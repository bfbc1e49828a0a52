-- Authentication (issue 9, point 5): users can be disabled; expired tokens,
-- old idempotency keys and finished jobs are purged in bounded batches, so
-- each purge is an index range scan. Append-only; the same logical schema as
-- migrations/postgres/0004_auth.sql.
ALTER TABLE users ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1;
CREATE INDEX tokens_user ON tokens(user_id);
CREATE INDEX tokens_expires ON tokens(expires_at);
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
CREATE INDEX jobs_finished ON jobs(end_time) WHERE end_time IS NOT NULL;
