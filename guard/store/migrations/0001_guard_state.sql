-- The guard's shared state: rate-limit windows (one row per counted call) and small JSON records with an expiry
-- (approvals, questions, pending sign-ins). Times are seconds since the epoch, as the guard counts them.
CREATE TABLE guard_calls (
    key text NOT NULL,
    seq bigint NOT NULL,
    at double precision NOT NULL,
    expires double precision NOT NULL,
    PRIMARY KEY (key, seq)
);
CREATE INDEX guard_calls_expires ON guard_calls (expires);

CREATE TABLE guard_records (
    kind text NOT NULL,
    key text NOT NULL,
    value text NOT NULL,
    expires double precision NOT NULL,
    created double precision NOT NULL,
    -- Insertion order: among records made in the same instant, the first one made is the oldest.
    position bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (kind, key)
);
CREATE INDEX guard_records_expires ON guard_records (kind, expires);

-- Check (p_record = false) or check-and-record (true) every window in one round trip, atomically across replicas:
-- each window key's transaction-scoped advisory lock is taken in key order (two windows never deadlock), so
-- replicas racing for the last slot queue up and exactly one gets it. A window's calls are numbered (seq), so
-- "the max-th most recent call" is one primary-key lookup. Returns the first full window (0-based) and the
-- seconds until it has room, or no row when the call fits (and, with p_record, was counted in every window).
CREATE FUNCTION guard_take(
    p_keys text[], p_maxes bigint[], p_seconds double precision[], p_now double precision, p_record boolean
) RETURNS TABLE (blocked integer, wait double precision) LANGUAGE plpgsql AS $$
DECLARE
    v_lasts bigint[] := '{}';
    v_at double precision;
    v_key text;
    i integer;
BEGIN
    IF p_record THEN
        FOR v_key IN SELECT DISTINCT k FROM unnest(p_keys) AS k ORDER BY k LOOP
            PERFORM pg_advisory_xact_lock(1414679383, hashtext(v_key));  -- "TRKW", as guard.store.postgres_schema
        END LOOP;
    END IF;
    FOR i IN 1 .. cardinality(p_keys) LOOP
        v_lasts[i] := coalesce((SELECT max(c.seq) FROM guard_calls AS c WHERE c.key = p_keys[i]), 0);
    END LOOP;
    FOR i IN 1 .. cardinality(p_keys) LOOP
        SELECT c.at INTO v_at FROM guard_calls AS c WHERE c.key = p_keys[i] AND c.seq = v_lasts[i] - p_maxes[i] + 1;
        IF FOUND AND v_at > p_now - p_seconds[i] THEN
            RETURN QUERY SELECT i - 1, greatest(v_at + p_seconds[i] - p_now, 0.001);
            RETURN;
        END IF;
    END LOOP;
    IF p_record THEN
        FOR i IN 1 .. cardinality(p_keys) LOOP
            INSERT INTO guard_calls (key, seq, at, expires)
                VALUES (p_keys[i], v_lasts[i] + 1, p_now, p_now + p_seconds[i]);
            -- Calls neither in the window nor among the latest `max` are never looked at again.
            DELETE FROM guard_calls AS c
                WHERE c.key = p_keys[i] AND c.seq <= v_lasts[i] + 1 - p_maxes[i] AND c.at <= p_now - p_seconds[i];
        END LOOP;
    END IF;
END
$$;
