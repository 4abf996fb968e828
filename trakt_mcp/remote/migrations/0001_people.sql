-- Multi-user mode's state (trakt_mcp/remote/store.py), shared by every replica: people and their sealed Trakt
-- tokens, OAuth clients, authorization requests waiting for the Trakt sign-in, codes and tokens (by digest only).
CREATE TABLE people (
    username text PRIMARY KEY,
    trakt_token bytea,
    created_at double precision NOT NULL,
    updated_at double precision NOT NULL
);

CREATE TABLE oauth_clients (
    client_id text PRIMARY KEY,
    name text NOT NULL,
    redirect_uris text NOT NULL,
    auth_method text NOT NULL,
    registration text NOT NULL,
    created_at double precision NOT NULL,
    secret_digest text,
    refresh_after double precision,
    registered_from text NOT NULL DEFAULT ''
);
CREATE INDEX oauth_clients_registered ON oauth_clients (registration, created_at);

CREATE TABLE oauth_pending (
    state_digest text PRIMARY KEY,
    request text NOT NULL,
    expires_at double precision NOT NULL
);

CREATE TABLE oauth_codes (
    code_digest text PRIMARY KEY,
    client_id text NOT NULL,
    username text NOT NULL,
    redirect_uri text NOT NULL,
    code_challenge text NOT NULL,
    resource text NOT NULL,
    scope text NOT NULL,
    expires_at double precision NOT NULL,
    family text NOT NULL,
    used boolean NOT NULL DEFAULT false
);

CREATE TABLE oauth_tokens (
    token_digest text PRIMARY KEY,
    kind text NOT NULL,
    client_id text NOT NULL,
    username text NOT NULL,
    resource text NOT NULL,
    scope text NOT NULL,
    family text NOT NULL,
    expires_at double precision NOT NULL,
    revoked boolean NOT NULL DEFAULT false,
    used boolean NOT NULL DEFAULT false
);
CREATE INDEX oauth_tokens_by_family ON oauth_tokens (family);
CREATE INDEX oauth_tokens_by_person ON oauth_tokens (username);
