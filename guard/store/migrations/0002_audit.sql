-- The audit trail of every replica, append-only: rows are added, never changed or removed (a trigger refuses
-- UPDATE, DELETE and TRUNCATE; an operator may also REVOKE those rights from trakt-mcp's role).
CREATE TABLE guard_audit (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    entry text NOT NULL
);

CREATE FUNCTION guard_audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'guard_audit is append-only: rows are never updated or deleted';
END
$$;

CREATE TRIGGER guard_audit_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON guard_audit
    FOR EACH STATEMENT EXECUTE FUNCTION guard_audit_refuse_change();
