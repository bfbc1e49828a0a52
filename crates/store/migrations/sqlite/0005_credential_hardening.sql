-- AK/SK hardening (issue 9). Append-only.
--
-- 1. At most two access keys per user (Huawei IAM's and AWS IAM's limit): each
--    key takes one of the user's two slots, and the unique index is the final
--    word when two creates race. Keys made before this migration get slots in
--    creation order; a user who already had more than two keeps the extra ones
--    without a slot (they count against the limit, see
--    service/src/credential.rs) until they are deleted.
-- 2. The id of the key that seals the stored secrets (not the key), so a
--    server started with another key refuses to start instead of failing on
--    each request. The secrets themselves are sealed by the server at start
--    (credential_secrets_seal), since SQL cannot encrypt.
ALTER TABLE credentials ADD COLUMN slot INTEGER CHECK (slot IN (1, 2));
UPDATE credentials SET slot = (
    SELECT r.n FROM (
        SELECT access_key,
               ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY created_at, access_key) AS n
        FROM credentials
    ) r
    WHERE r.access_key = credentials.access_key AND r.n <= 2
);
CREATE UNIQUE INDEX credentials_user_slot ON credentials(user_id, slot);

CREATE TABLE secret_keys (
    purpose TEXT PRIMARY KEY,
    key_id TEXT NOT NULL
);
