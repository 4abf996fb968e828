-- What each person decides (issue 22): grants (person x client -> capabilities, revocable; every live token of that
-- person and client carries them in its scope) and browser sessions (consent, approvals and account pages), stored
-- by the digest of their cookie.
CREATE TABLE oauth_grants (
    username text NOT NULL,
    client_id text NOT NULL,
    capabilities text NOT NULL,
    created_at double precision NOT NULL,
    updated_at double precision NOT NULL,
    revoked boolean NOT NULL DEFAULT false,
    PRIMARY KEY (username, client_id)
);
CREATE INDEX oauth_tokens_by_grant ON oauth_tokens (username, client_id);

CREATE TABLE browser_sessions (
    session_digest text PRIMARY KEY,
    username text NOT NULL,
    created_at double precision NOT NULL,
    expires_at double precision NOT NULL
);
CREATE INDEX browser_sessions_by_person ON browser_sessions (username);
CREATE INDEX browser_sessions_by_expiry ON browser_sessions (expires_at);
