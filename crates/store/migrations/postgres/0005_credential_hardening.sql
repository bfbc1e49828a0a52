-- AK/SK hardening (issue 9), PostgreSQL; the same logical schema as
-- migrations/sqlite/0005_credential_hardening.sql (read it for the why).
-- Append-only.
ALTER TABLE credentials ADD COLUMN slot SMALLINT CONSTRAINT credentials_slot_check CHECK (slot IN (1, 2));
UPDATE credentials c SET slot = r.n
FROM (
    SELECT access_key,
           ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY created_at, access_key) AS n
    FROM credentials
) r
WHERE r.access_key = c.access_key AND r.n <= 2;
CREATE UNIQUE INDEX credentials_user_slot ON credentials(user_id, slot);

CREATE TABLE secret_keys (
    purpose TEXT COLLATE "C" PRIMARY KEY,
    key_id TEXT COLLATE "C" NOT NULL
);
