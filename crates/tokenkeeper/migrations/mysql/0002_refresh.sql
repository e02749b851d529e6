-- The refresh engine: its audit trail, its runs, and the outbox of notifications that its
-- state changes produce (written in the same transaction as the change).

CREATE TABLE sweep_runs (
    id              BIGINT AUTO_INCREMENT PRIMARY KEY,
    -- The scheduled slot; unique, so only one instance runs each slot. NULL for manual runs.
    slot            DATETIME(6) UNIQUE,
    started_at      DATETIME(6) NOT NULL,
    finished_at     DATETIME(6),
    as_of           DATETIME(6) NOT NULL,
    due             BIGINT NOT NULL DEFAULT 0,
    refreshed       BIGINT NOT NULL DEFAULT 0,
    failing         BIGINT NOT NULL DEFAULT 0,
    needs_reconnect BIGINT NOT NULL DEFAULT 0,
    skipped         BIGINT NOT NULL DEFAULT 0,
    outcome         VARCHAR(32) NOT NULL DEFAULT 'running',
    error           TEXT
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Append-only: one row per call to LinkedIn's token endpoint (or decision without a call).
CREATE TABLE refresh_log (
    id           BIGINT AUTO_INCREMENT PRIMARY KEY,
    account_id   BIGINT NOT NULL,
    run_id       BIGINT,
    attempted_at DATETIME(6) NOT NULL,
    duration_ms  BIGINT NOT NULL,
    outcome      VARCHAR(32) NOT NULL,
    http_status  INT,
    error_code   TEXT,
    attempt      INT NOT NULL,
    KEY refresh_log_account (account_id, id),
    KEY refresh_log_time (attempted_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE notifications (
    id              BIGINT AUTO_INCREMENT PRIMARY KEY,
    account_id      BIGINT NOT NULL,
    kind            VARCHAR(64) NOT NULL,
    episode         VARCHAR(64) NOT NULL,
    -- account:episode:kind. One email per event, however many processes write it.
    dedupe_key      VARCHAR(255) NOT NULL,
    status          VARCHAR(16) NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
    send_after      DATETIME(6) NOT NULL,
    deadline        DATETIME(6) NOT NULL,
    attempts        INT NOT NULL DEFAULT 0,
    next_attempt_at DATETIME(6) NOT NULL,
    claimed_until   DATETIME(6),
    last_error      TEXT,
    message_id      TEXT,
    created_at      DATETIME(6) NOT NULL,
    sent_at         DATETIME(6),
    UNIQUE KEY notifications_dedupe (dedupe_key),
    KEY notifications_pending (status, next_attempt_at),
    KEY notifications_account (account_id),
    CONSTRAINT notifications_account_fk FOREIGN KEY (account_id)
        REFERENCES social_network (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
