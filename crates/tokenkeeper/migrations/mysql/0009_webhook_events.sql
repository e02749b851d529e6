-- The webhook outbox: one row per event, written in the transaction of the state change it
-- tells of, and a snapshot of the account as that change left it (no token column). It has
-- no foreign key: `account.deleted` outlives its account. Identifiers are ASCII, so their
-- unique keys stay far below InnoDB's key length; the user id compares byte for byte, as in
-- social_network.
CREATE TABLE webhook_events (
    id                       BIGINT AUTO_INCREMENT PRIMARY KEY,
    -- The `webhook-id` header, the same on every attempt.
    message_id               VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    event_type               VARCHAR(64) NOT NULL,
    occurred_at              DATETIME(6) NOT NULL,
    account_id               BIGINT NOT NULL,
    user_id                  VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
    network                  VARCHAR(32) NOT NULL,
    status                   VARCHAR(32) NOT NULL,
    reason                   TEXT,
    version                  BIGINT NOT NULL,
    expiration               DATETIME(6) NOT NULL,
    token_expires_at         DATETIME(6) NOT NULL,
    refresh_token_expires_at DATETIME(6),
    has_refresh_token        BOOLEAN NOT NULL,
    -- account.expiring: which end comes, and when.
    ending                   VARCHAR(32),
    ends_at                  DATETIME(6),
    -- Events planned ahead (account.expiring) are written once per account and end.
    dedupe_key               VARCHAR(191) CHARACTER SET ascii COLLATE ascii_bin,
    delivery_status          VARCHAR(16) NOT NULL DEFAULT 'pending'
                             CHECK (delivery_status IN ('pending', 'delivered', 'failed')),
    attempts                 INT NOT NULL DEFAULT 0,
    next_attempt_at          DATETIME(6) NOT NULL,
    claimed_until            DATETIME(6),
    claimed_by               VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin,
    last_error               TEXT,
    response_status          INT,
    delivered_at             DATETIME(6),
    UNIQUE KEY webhook_events_message (message_id),
    UNIQUE KEY webhook_events_dedupe (dedupe_key),
    KEY webhook_events_due (delivery_status, next_attempt_at),
    KEY webhook_events_account (account_id, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
