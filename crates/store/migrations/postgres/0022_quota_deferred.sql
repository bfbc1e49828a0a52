-- Quota charges of interfaces and public IPs at commit (issue 14),
-- PostgreSQL only; SQLite has one writer and keeps its triggers. Append-only.
--
-- The charge locks the project's usage row until the transaction ends
-- (0006_quotas.sql). Charged by an immediate trigger, the lock was taken at
-- the INSERT and held through every later statement of the use case (group
-- links, the change-feed event, …), each a round trip, so one project's
-- concurrent attaches queued on that row for the whole of each other's
-- transactions, from every server. Deferred to COMMIT, the same charge takes
-- the lock last and holds it only while the transaction commits. The check
-- is as exact as before: the upsert waits for the row, re-reads what the
-- others committed, and a charge past the limit raises check_violation
-- (`quota_usage_within_limit`) from COMMIT, which the store decodes the same
-- way, and the transaction changes nothing.
--
-- A release no longer inserts a row: a deferred release may run after the
-- project itself went in the same transaction (its usage rows with it), and
-- a missing row already means nothing is in use.

CREATE OR REPLACE FUNCTION nicplane_quota_charge(p TEXT, r TEXT, delta BIGINT, enforce BOOLEAN) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    used BIGINT;
    lim BIGINT;
BEGIN
    IF p IS NULL THEN
        RETURN;
    END IF;
    IF delta <= 0 THEN
        UPDATE quota_usage SET in_use = in_use + delta WHERE project_id = p AND resource = r;
        RETURN;
    END IF;
    INSERT INTO quota_usage AS u (project_id, resource, in_use) VALUES (p, r, delta)
        ON CONFLICT (project_id, resource) DO UPDATE SET in_use = u.in_use + delta
        RETURNING in_use INTO used;
    IF NOT enforce THEN
        RETURN;
    END IF;
    SELECT hard_limit INTO lim FROM quota_limits WHERE project_id = p AND resource = r;
    IF NOT FOUND THEN
        SELECT hard_limit INTO lim FROM quota_defaults WHERE resource = r;
    END IF;
    IF lim IS NOT NULL AND lim >= 0 AND used > lim THEN
        RAISE EXCEPTION 'nicplane over quota: %', r
            USING ERRCODE = 'check_violation', CONSTRAINT = 'quota_usage_within_limit', TABLE = 'quota_usage';
    END IF;
END;
$$;

DROP TRIGGER quota_port ON interfaces;
CREATE CONSTRAINT TRIGGER quota_port AFTER INSERT OR DELETE ON interfaces
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION nicplane_quota_row();
DROP TRIGGER quota_floatingip ON public_ips;
CREATE CONSTRAINT TRIGGER quota_floatingip AFTER INSERT OR DELETE ON public_ips
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION nicplane_quota_row();
