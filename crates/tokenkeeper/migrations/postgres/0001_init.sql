-- One row per linked account. `token`, `expiration` and `refresh_token` keep the names a host
-- app's own table already uses; `expiration` is when the next refresh is due and is never NULL.
CREATE TABLE social_network (
    id                       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id                  TEXT NOT NULL,
    network                  TEXT NOT NULL DEFAULT 'linkedin',
    member_id                TEXT NOT NULL,
    email                    TEXT NOT NULL,
    name                     TEXT,
    token                    TEXT NOT NULL,
    token_expires_at         TIMESTAMPTZ NOT NULL,
    refresh_token            TEXT,
    refresh_token_expires_at TIMESTAMPTZ,
    scope                    TEXT NOT NULL DEFAULT '',
    expiration               TIMESTAMPTZ NOT NULL,
    status                   TEXT NOT NULL DEFAULT 'active'
                             CHECK (status IN ('active', 'refresh_failing', 'needs_reconnect', 'expired')),
    linked_at                TIMESTAMPTZ NOT NULL,
    last_refreshed_at        TIMESTAMPTZ,
    refresh_attempts         INTEGER NOT NULL DEFAULT 0,
    last_error               TEXT,
    -- A sweep's claim on the account: until when, and by which process.
    claimed_until            TIMESTAMPTZ,
    claimed_by               TEXT,
    created_at               TIMESTAMPTZ NOT NULL,
    updated_at               TIMESTAMPTZ NOT NULL,
    -- Bumped on every write; a writer holding an older version loses.
    version                  BIGINT NOT NULL DEFAULT 1,
    UNIQUE (user_id, network)
);
-- Serves "accounts whose expiration <= now, by expiration" for each refreshable status.
CREATE INDEX social_network_due ON social_network (status, expiration);

-- Open sign-in attempts, keyed by the SHA-256 of their OAuth state.
CREATE TABLE connect_attempts (
    state_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    email      TEXT NOT NULL,
    return_to  TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
