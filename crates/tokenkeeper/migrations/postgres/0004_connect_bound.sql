-- The connect flow is bound to the browser that started it, and a link completes once.
-- Attempts live minutes: the open ones are dropped with the old table, and their members
-- simply start again.
DROP TABLE connect_attempts;

CREATE TABLE connect_attempts (
    -- SHA-256 of the OAuth state LinkedIn echoes back.
    state_hash          TEXT PRIMARY KEY,
    -- SHA-256 of the nonce in the starting browser's cookie; only that browser may finish.
    browser_hash        TEXT NOT NULL,
    -- SHA-256 of the connect link's signature, recorded as used when the attempt succeeds.
    link_hash           TEXT NOT NULL,
    link_expires_at     TIMESTAMPTZ NOT NULL,
    allow_member_change BOOLEAN NOT NULL DEFAULT FALSE,
    user_id             TEXT NOT NULL,
    email               TEXT NOT NULL,
    return_to           TEXT,
    created_at          TIMESTAMPTZ NOT NULL,
    expires_at          TIMESTAMPTZ NOT NULL
);
-- The purge deletes by expiry; it must not scan the table.
CREATE INDEX connect_attempts_expiry ON connect_attempts (expires_at);

-- Connect links that completed a connection. A link is worthless after its own expiry, so
-- its row can go then.
CREATE TABLE used_connect_links (
    link_hash  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    used_at    TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX used_connect_links_expiry ON used_connect_links (expires_at);
