-- One row per linked account. `token`, `expiration` and `refresh_token` keep the names a host
-- app's own table already uses; `expiration` is when the next refresh is due and is never NULL.
-- Times are UTC with microseconds (every session runs at time zone +00:00). The host app's
-- user id and LinkedIn's member id are compared byte for byte (utf8mb4_bin), as on the other
-- databases: "Ada" and "ada" are two users.
CREATE TABLE social_network (
    id                       BIGINT AUTO_INCREMENT PRIMARY KEY,
    user_id                  VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
    network                  VARCHAR(32) NOT NULL DEFAULT 'linkedin',
    member_id                VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
    email                    VARCHAR(320) NOT NULL,
    name                     TEXT,
    token                    TEXT NOT NULL,
    token_expires_at         DATETIME(6) NOT NULL,
    refresh_token            TEXT,
    refresh_token_expires_at DATETIME(6),
    scope                    TEXT NOT NULL,
    expiration               DATETIME(6) NOT NULL,
    status                   VARCHAR(32) NOT NULL DEFAULT 'active'
                             CHECK (status IN ('active', 'refresh_failing', 'needs_reconnect', 'expired')),
    linked_at                DATETIME(6) NOT NULL,
    last_refreshed_at        DATETIME(6),
    refresh_attempts         INT NOT NULL DEFAULT 0,
    last_error               TEXT,
    -- A sweep's claim on the account: until when, and by which process.
    claimed_until            DATETIME(6),
    claimed_by               VARCHAR(255),
    created_at               DATETIME(6) NOT NULL,
    updated_at               DATETIME(6) NOT NULL,
    -- Bumped on every write; a writer holding an older version loses.
    version                  BIGINT NOT NULL DEFAULT 1,
    UNIQUE KEY social_network_user (user_id, network),
    -- Serves "accounts whose expiration <= now, by expiration" for each refreshable status.
    KEY social_network_due (status, expiration)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Open sign-in attempts, keyed by the SHA-256 of their OAuth state.
CREATE TABLE connect_attempts (
    state_hash VARCHAR(64) PRIMARY KEY,
    user_id    VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
    email      VARCHAR(320) NOT NULL,
    return_to  TEXT,
    created_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
