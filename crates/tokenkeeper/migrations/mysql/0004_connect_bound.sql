-- The connect flow is bound to the browser that started it, and a link completes once.
-- Attempts live minutes: the open ones are dropped with the old table, and their members
-- simply start again.
DROP TABLE connect_attempts;

CREATE TABLE connect_attempts (
    -- SHA-256 of the OAuth state LinkedIn echoes back, in hex.
    state_hash          VARCHAR(64) PRIMARY KEY,
    -- SHA-256 of the nonce in the starting browser's cookie; only that browser may finish.
    browser_hash        VARCHAR(64) NOT NULL,
    -- SHA-256 of the connect link's signature, recorded as used when the attempt succeeds.
    link_hash           VARCHAR(64) NOT NULL,
    link_expires_at     DATETIME(6) NOT NULL,
    allow_member_change BOOLEAN NOT NULL DEFAULT FALSE,
    user_id             VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
    email               VARCHAR(320) NOT NULL,
    return_to           TEXT,
    created_at          DATETIME(6) NOT NULL,
    expires_at          DATETIME(6) NOT NULL,
    -- The purge deletes by expiry; it must not scan the table.
    KEY connect_attempts_expiry (expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Connect links that completed a connection. A link is worthless after its own expiry, so
-- its row can go then.
CREATE TABLE used_connect_links (
    link_hash  VARCHAR(64) PRIMARY KEY,
    user_id    VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
    used_at    DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    KEY used_connect_links_expiry (expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
